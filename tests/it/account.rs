//! The customer's account page: name and phone, saved addresses edited in place, the password
//! changed with the current one asked (other sessions ended); a refused form comes back with
//! what was typed and the reason beside it.

use ocpizza_tests::TestEnv;
use ocpizza_tests::browser::{Visitor, location};
use ocpizza_tests::shop::{CUSTOMER, PASSWORD};
use reqwest::StatusCode;

async fn logged_in(app: &ocpizza_tests::TestApp) -> Visitor {
    let v = Visitor::new(app);
    assert_eq!(
        v.log_in(CUSTOMER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    v
}

#[tokio::test]
async fn the_customer_edits_their_details_and_addresses_and_a_refusal_keeps_the_input() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let v = logged_in(&app).await;

    let r = v
        .submit(
            "/compte/profil",
            &[
                ("full_name", "Claire Nouvelle"),
                ("phone", "07 11 22 33 44"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = v.page("/compte").await;
    assert!(page.contains("Claire Nouvelle") && page.contains("07 11 22 33 44"));
    let r = v
        .submit("/compte/profil", &[("full_name", "  "), ("phone", "0711")])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("indiquez un nom") && page.contains("value=\"0711\""),
        "the phone typed stays"
    );

    // The seeded home address, edited in place.
    let id: u64 = sqlx::query_scalar(
        "SELECT a.id FROM addresses a JOIN users u ON u.id = a.user_id WHERE u.email = ?",
    )
    .bind(CUSTOMER)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    let path = format!("/compte/adresses/{id}");
    let fields = [
        ("label", "Maison"),
        ("street", "9 rue Neuve"),
        ("postal_code", "75011"),
        ("city", "Paris"),
        ("instructions", "Digicode 1234"),
    ];
    let r = v.submit(&path, &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(v.page(&location(&r)).await.contains("9 rue Neuve"));
    let bad = v
        .submit(
            &path,
            &[
                ("label", "Maison"),
                ("street", "10 rue Fausse"),
                ("postal_code", "75O11"),
                ("city", "Paris"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = bad.text().await.unwrap();
    assert!(
        page.contains("5 chiffres") && page.contains("value=\"10 rue Fausse\""),
        "input kept"
    );
    let stored: String = sqlx::query_scalar("SELECT street FROM addresses WHERE id = ?")
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(stored, "9 rue Neuve", "the refused change changed nothing");

    // Another customer cannot edit it.
    let other = Visitor::new(&app);
    other
        .sign_up("Sam Autre", "autre@test.example", "une-pizza-bien-cuite")
        .await;
    assert_eq!(
        other
            .log_in("autre@test.example", "une-pizza-bien-cuite")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let r = other.submit(&path, &fields).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn changing_the_password_asks_the_current_one_and_ends_the_other_sessions() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let here = logged_in(&app).await;
    let elsewhere = logged_in(&app).await;

    let r = here
        .submit(
            "/compte/mot-de-passe",
            &[
                ("current", "pas-le-bon-mot"),
                ("new", "une-toute-nouvelle-pizza"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("actuel"));
    let r = here
        .submit(
            "/compte/mot-de-passe",
            &[("current", PASSWORD), ("new", "motdepasse1")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a weak new one is refused"
    );

    let r = here
        .submit(
            "/compte/mot-de-passe",
            &[("current", PASSWORD), ("new", "une-toute-nouvelle-pizza")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        here.get("/compte").await.status(),
        StatusCode::OK,
        "still logged in here"
    );
    assert_eq!(
        elsewhere.get("/compte").await.status(),
        StatusCode::SEE_OTHER,
        "logged out elsewhere"
    );
    let fresh = Visitor::new(&app);
    assert_eq!(
        fresh.log_in(CUSTOMER, PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        fresh
            .log_in(CUSTOMER, "une-toute-nouvelle-pizza")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

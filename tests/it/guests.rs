//! Ordering without an account against a real server and MariaDB: the checkout's contact
//! fields, the order's own link (the key in its e-mails) as the guest's only way in, and guest
//! orders reaching an account only once that account proved its address with a mailed link.

use ocpizza_tests::browser::{Visitor, location};
use ocpizza_tests::shop::{CUSTOMER, PASSWORD, Shop};
use ocpizza_tests::{TestApp, TestEnv};
use reqwest::StatusCode;
use workers::stock::StockWorker;

async fn setup() -> (TestEnv, Shop, TestApp) {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    (env, shop, app)
}

fn key_of(cart: &str) -> String {
    let marker = "name=\"idempotency_key\" value=\"";
    let at = cart.find(marker).expect("the cart carries a key") + marker.len();
    cart[at..].split('"').next().unwrap().to_owned()
}

/// Checks out as a guest (pickup, paid on site) with this key.
async fn guest_checkout(v: &Visitor, key: &str, email: &str) -> reqwest::Response {
    v.submit(
        "/commander",
        &[
            ("idempotency_key", key),
            ("full_name", "Gaëlle Invitée"),
            ("email", email),
            ("phone", "06 11 22 33 44"),
            ("fulfilment", "pickup"),
            ("when", "asap"),
            ("payment", "on_site"),
        ],
    )
    .await
}

/// `/commandes/{id}?cle=…` → (id, the path with its key).
fn order_link(r: &reqwest::Response) -> (u64, String) {
    let to = location(r);
    let id = to
        .trim_start_matches("/commandes/")
        .split(['?', '/'])
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirect to an order, got {to:?}"));
    assert!(
        to.contains("?cle="),
        "a guest is sent to the order's own link: {to}"
    );
    (id, to)
}

#[tokio::test]
async fn a_guest_orders_without_an_account_and_follows_the_order_by_its_link() {
    let (env, shop, app) = setup().await;
    let v = Visitor::new(&app);
    v.add_to_cart(shop.margherita, 1).await;
    let cart = v.page("/panier").await;
    assert!(cart.contains("Vos coordonnées"), "{cart}");
    let key = key_of(&cart);

    // A mistake comes back beside its field, with what was typed.
    let r = guest_checkout(&v, &key, "pas-une-adresse").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"email-error\""), "{page}");
    assert!(page.contains("Gaëlle Invitée"), "{page}");
    assert_eq!(env.count("orders").await, 0);

    // Placed, and a double submit lands on the same order.
    let r = guest_checkout(&v, &key, "gaelle@test.example").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (id, link) = order_link(&r);
    let again = guest_checkout(&v, &key, "gaelle@test.example").await;
    assert_eq!(order_link(&again).0, id);
    assert_eq!(env.count("orders").await, 1);
    let page = v.page(&link).await;
    assert!(page.contains(&format!("Commande n°{id}")), "{page}");
    assert!(page.contains("Créer mon compte"), "{page}");
    assert!(
        page.contains(&format!("/commandes/{id}/flux?cle=")),
        "the live updates carry the key: {page}"
    );

    // Without the key: the login page; with a wrong one, or another order's, not found.
    let stranger = Visitor::new(&app);
    let r = stranger.get(&format!("/commandes/{id}")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/connexion");
    let forged = format!("/commandes/{id}?cle={}", "0".repeat(64));
    assert_eq!(stranger.get(&forged).await.status(), StatusCode::NOT_FOUND);
    let other_key = link.split("?cle=").nth(1).unwrap();
    let elsewhere = format!("/commandes/{}?cle={other_key}", id + 1);
    assert_eq!(
        stranger.get(&elsewhere).await.status(),
        StatusCode::NOT_FOUND
    );
    // A customer logged in sees nothing of it either.
    let customer = Visitor::new(&app);
    assert_eq!(
        customer.log_in(CUSTOMER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        customer.get(&format!("/commandes/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // The confirmation e-mail carries the same link; it opens the order on a new browser.
    let placed = env.outbox_for("order.placed", id).await;
    messages::consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    let confirmed = env.outbox_for("order.status_changed", id).await;
    let base = format!("http://{}", app.address);
    let mut conn = env.pool.acquire().await.unwrap();
    let mails = mail::compose::for_event(&mut conn, &confirmed, &ocpizza_tests::mail_links(&base))
        .await
        .unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["gaelle@test.example"]);
    let mailed = mails[0].body.link.clone().unwrap();
    let path = mailed.trim_start_matches(&base).to_owned();
    assert_eq!(path, link, "the e-mail's link is the order's own");
    let phone = Visitor::new(&app);
    let page = phone.page(&path).await;
    assert!(page.contains("Confirmée"), "{page}");

    // The link is enough to cancel it (the customer's right until the kitchen starts).
    let r = phone
        .submit(&format!("/commandes/{id}/annuler?cle={other_key}"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), link);
    assert!(
        phone
            .page(&link)
            .await
            .contains("Votre commande est annulée")
    );
}

#[tokio::test]
async fn guest_orders_reach_an_account_only_once_it_proves_the_address() {
    let (env, shop, app) = setup().await;
    let maildev = ocpizza_tests::peers::Maildev::start().await;
    // Someone signs up with an address that is not theirs: they are logged in, unproven.
    let squatter = Visitor::new(&app);
    squatter
        .sign_up("Pas Moi", "vraie@test.example", "une-pizza-bien-cuite")
        .await;
    assert_eq!(squatter.get("/compte").await.status(), StatusCode::OK);

    // The address's owner orders as a guest: the order is not filed under that account.
    let owner = Visitor::new(&app);
    owner.add_to_cart(shop.margherita, 1).await;
    let key = key_of(&owner.page("/panier").await);
    let r = guest_checkout(&owner, &key, "vraie@test.example").await;
    let (id, link) = order_link(&r);
    assert!(
        owner
            .page(&link)
            .await
            .contains("Cette adresse a déjà un compte")
    );
    let listed = squatter.page("/commandes").await;
    assert!(!listed.contains(&format!("n°{id}")), "{listed}");
    assert_eq!(
        squatter.get(&format!("/commandes/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );

    // The owner proves the address with « Mot de passe oublié »: the squatter's session ends,
    // and the order joins the account.
    let r = owner
        .submit("/mot-de-passe-oublie", &[("email", "vraie@test.example")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let links =
        crate::security::mailed_links(&env, &maildev, &format!("http://{}/", app.address)).await;
    let reset = links.last().expect("a password link was mailed").clone();
    let r = owner
        .submit(&reset, &[("password", "ma-pizza-a-moi-seule")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let home = owner.page("/compte").await;
    assert!(home.contains("maintenant dans « Mes commandes »"), "{home}");
    assert!(owner.page("/commandes").await.contains(&format!("n°{id}")));
    assert_eq!(
        squatter.get("/compte").await.status(),
        StatusCode::SEE_OTHER,
        "the squatter is logged out"
    );

    // A proven account gets its later guest orders at once.
    let later = Visitor::new(&app);
    later.add_to_cart(shop.margherita, 1).await;
    let key = key_of(&later.page("/panier").await);
    let (second, _) = order_link(&guest_checkout(&later, &key, "vraie@test.example").await);
    assert!(
        owner
            .page("/commandes")
            .await
            .contains(&format!("n°{second}"))
    );
}

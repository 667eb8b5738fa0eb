//! Delivery zones, fees and minimum orders against a real server and MariaDB: refused outside
//! the shop's postal codes and below a zone's minimum (pages, API and modification alike),
//! the fee carried on the order, its page, the ticket and the Z report.

use ocpizza_tests::browser::{Visitor, location};
use ocpizza_tests::shop::{CUSTOMER, PASSWORD, Shop};
use ocpizza_tests::{TestApp, TestEnv};
use reqwest::StatusCode;
use serde_json::{Value, json};
use vocab::{Actor, Cents, OrderStatus, VatRate};

async fn setup() -> (TestEnv, Shop, TestApp, Visitor) {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let v = Visitor::new(&app);
    assert_eq!(
        v.log_in(CUSTOMER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    (env, shop, app, v)
}

async fn fill_cart(v: &Visitor, pizza_id: u64, quantity: u32) {
    let r = v
        .submit("/panier/modifier", &[("line", "0"), ("quantity", "0")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    v.add_to_cart(pizza_id, quantity).await;
}

/// Posts the order page's « Modifier » form and returns the page it lands on.
async fn modify(v: &Visitor, id: u64, fields: &[(&str, &str)]) -> String {
    let r = v.submit(&format!("/commandes/{id}/modifier"), fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    v.page(&location(&r)).await
}

/// Checks out the cart for delivery to `postal_code`, paying on site.
async fn deliver_to(v: &Visitor, postal_code: &str) -> reqwest::Response {
    let cart = v.page("/panier").await;
    let marker = "name=\"idempotency_key\" value=\"";
    let at = cart.find(marker).expect("the cart carries a key") + marker.len();
    let key = cart[at..].split('"').next().unwrap().to_owned();
    v.submit(
        "/commander",
        &[
            ("idempotency_key", &key),
            ("fulfilment", "delivery"),
            ("address_id", "new"),
            ("street", "10 rue des Zones"),
            ("postal_code", postal_code),
            ("city", "Paris"),
            ("when", "asap"),
            ("payment", "on_site"),
        ],
    )
    .await
}

#[tokio::test]
async fn deliveries_outside_the_area_or_below_the_minimum_are_refused_and_the_fee_is_carried() {
    let (env, shop, app, v) = setup().await;

    // The shop page and the cart say where the shop delivers and on what terms.
    let page = v.page("/pizzerias/test").await;
    assert!(page.contains("Zones de livraison"), "{page}");
    assert!(
        page.contains(
            "75020 : livraison 2,50\u{a0}€, offerte dès 30,00\u{a0}€, minimum 15,00\u{a0}€"
        ),
        "{page}"
    );
    fill_cart(&v, shop.margherita, 1).await;
    let cart = v.page("/panier").await;
    assert!(
        cart.contains("OC Pizza Test livre au 75001, 75011, 75012, 75015"),
        "{cart}"
    );
    // The saved address (75011) is in the free zone.
    assert!(cart.contains("(livraison offerte)"), "{cart}");

    // A Marseille address: refused, nothing placed.
    let r = deliver_to(&v, "13001").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("ne livre pas au 13001"), "{html}");
    assert!(
        html.contains("10 rue des Zones"),
        "the form keeps the address: {html}"
    );
    // One Margherita (9,50 €) to the paid zone: below its 15 € minimum.
    let r = deliver_to(&v, "75020").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("minimum de commande pour une livraison au 75020"),
        "{html}"
    );
    assert!(html.contains("il manque 5,50"), "{html}");
    assert_eq!(env.count("orders").await, 0);

    // The JSON API follows the same rule.
    let api = |body: Value| v.client.post(v.url("/api/orders")).json(&body).send();
    let address = |code: &str| json!({"street": "10 rue des Zones", "complement": "", "postal_code": code, "city": "Marseille", "instructions": ""});
    let r = api(json!({
        "pizzeria": "test", "lines": [{"pizza_id": shop.margherita, "quantity": 2}],
        "fulfilment": "delivery", "payment": "on_site", "idempotency_key": "zone-api-1",
        "delivery": address("13001"),
    }))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert!(body.to_string().contains("ne livre pas au 13001"), "{body}");
    assert_eq!(env.count("orders").await, 0);

    // Two Margherita (19 €) to 75020: placed with the 2,50 € fee.
    fill_cart(&v, shop.margherita, 2).await;
    let r = deliver_to(&v, "75020").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "placed");
    let id: u64 = location(&r)
        .trim_start_matches("/commandes/")
        .parse()
        .unwrap();
    let mut conn = env.pool.acquire().await.unwrap();
    let o = order::Order::load(&mut conn, id).await.unwrap();
    assert_eq!((o.delivery_fee, o.total), (Cents(250), Cents(2150)));
    // The zone's 35-minute ride (feed-db) is in the promise, and on the kitchen's line.
    let line = pace::store::line(&mut conn, shop.pizzeria_id, None, false)
        .await
        .unwrap();
    let on_line = line.iter().find(|o| o.order_id == id).expect("on the line");
    assert_eq!(on_line.travel, chrono::Duration::minutes(35));
    assert!(o.promised_at.unwrap() >= o.created_at + chrono::Duration::minutes(35 + 10));
    let page = v.page(&format!("/commandes/{id}")).await;
    assert!(page.contains("Frais de livraison"), "{page}");
    assert!(page.contains("21,50"), "{page}");
    let ticket = ticket::content::Ticket::for_order(
        &o,
        "OC Pizza Test",
        ticket::content::Marks::default(),
        chrono::Utc::now(),
    )
    .to_text();
    assert!(ticket.contains("Frais de livraison : 2,50"), "{ticket}");

    // Modification: under the minimum, or out of the area, refused; four pizzas, free.
    let qty = "qty_line_0".to_owned();
    let version = o.version.to_string();
    let page = modify(
        &v,
        id,
        &[("version", version.as_str()), (qty.as_str(), "1")],
    )
    .await;
    assert!(page.contains("minimum de commande"), "{page}");
    let page = modify(
        &v,
        id,
        &[
            ("version", version.as_str()),
            (qty.as_str(), "2"),
            ("street", "1 La Canebière"),
            ("postal_code", "13001"),
            ("city", "Marseille"),
        ],
    )
    .await;
    assert!(page.contains("ne livre pas au 13001"), "{page}");
    let unchanged = order::Order::load(&mut conn, id).await.unwrap();
    assert_eq!(
        unchanged.version, o.version,
        "refused changes change nothing"
    );
    assert_eq!(unchanged.delivery.unwrap().postal_code, "75020");
    let page = modify(
        &v,
        id,
        &[("version", version.as_str()), (qty.as_str(), "4")],
    )
    .await;
    assert!(page.contains("Commande modifiée"), "{page}");
    let free = order::Order::load(&mut conn, id).await.unwrap();
    assert_eq!((free.delivery_fee, free.total), (Cents(0), Cents(3800)));

    let free_version = free.version.to_string();
    // Back to three (28,50 €, under the free amount): the fee is back, and the Z report of
    // the day counts it in the sales at 10 %.
    let page = modify(
        &v,
        id,
        &[("version", free_version.as_str()), (qty.as_str(), "3")],
    )
    .await;
    assert!(page.contains("Commande modifiée"), "{page}");
    let mut tx = env.pool.begin().await.unwrap();
    for to in [
        OrderStatus::Confirmed,
        OrderStatus::Preparing,
        OrderStatus::Ready,
        OrderStatus::OutForDelivery,
        OrderStatus::Delivered,
    ] {
        order::transition::move_to(&mut tx, id, to, Actor::Staff(shop.manager_id), "", None)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let z = report::z::for_day(&mut conn, shop.pizzeria_id, today)
        .await
        .unwrap();
    assert_eq!(z.delivery_fees, Cents(250));
    assert_eq!(z.sales_gross, Cents(3100));
    assert_eq!(
        z.sales
            .iter()
            .find(|l| l.rate == VatRate::Intermediate)
            .map(|l| l.gross),
        Some(Cents(3100))
    );
    assert!(
        z.to_csv("test")
            .unwrap()
            .contains("dont frais de livraison")
    );
    drop(app);
}

#[tokio::test]
async fn the_admin_sets_a_shops_zones_and_a_mistake_changes_nothing() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let mut conn = env.pool.acquire().await.unwrap();
    let before = catalog::zone::zones(&mut conn, shop.pizzeria_id)
        .await
        .unwrap();
    assert_eq!(before.len(), 2);
    let refused = catalog::admin::set_pizzeria(
        &mut conn,
        shop.pizzeria_id,
        "00:00-12:00 12:00-00:00",
        "",
        true,
        Some("75011 ; 0\n75011 ; 2"),
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("déjà dans une autre zone"),
        "{refused}"
    );
    assert_eq!(
        catalog::zone::zones(&mut conn, shop.pizzeria_id)
            .await
            .unwrap(),
        before
    );
    catalog::admin::set_pizzeria(
        &mut conn,
        shop.pizzeria_id,
        "00:00-12:00 12:00-00:00",
        "",
        true,
        Some("75011 ; 1,50 ; 10 ; ; 30"),
    )
    .await
    .unwrap();
    let terms = catalog::zone::terms_for(&mut conn, shop.pizzeria_id, "75011")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((terms.fee, terms.minimum), (Cents(150), Cents(1000)));
    assert_eq!(terms.ride_minutes, 30, "the ride the admin gave the zone");
    assert_eq!(
        catalog::zone::travel_for(&mut conn, shop.pizzeria_id, "75011")
            .await
            .unwrap(),
        chrono::Duration::minutes(30)
    );
    assert!(
        catalog::zone::terms_for(&mut conn, shop.pizzeria_id, "75020")
            .await
            .unwrap()
            .is_none(),
        "the form replaced the whole area"
    );
}

//! The staff screens over HTTP: every staff route refused to the other roles and to another
//! pizzeria's staff; the kitchen's moves; counter and phone orders through the same pipeline;
//! handing over with the payment collected; the manager's stock and figures; the group admin.

use messages::Event;
use messages::consumer;
use ocpizza_tests::browser::{Visitor, location};
use ocpizza_tests::peers::Emupos;
use ocpizza_tests::shop::{CUSTOMER, MANAGER, PASSWORD, Shop};
use ocpizza_tests::{TestApp, TestEnv};
use reqwest::StatusCode;
use vocab::{Fulfilment, OrderStatus, PaymentMode};
use workers::stock::StockWorker;

const PIZZAIOLO: &str = "pizzaiolo@test.example";
const COUNTER: &str = "comptoir@test.example";
const RIDER: &str = "livreur@test.example";
const ADMIN: &str = "admin@test.example";
const OTHER_MANAGER: &str = "gerant@autre.example";

/// The test shop, the rest of its staff, and a second pizzeria with its own manager.
async fn setup() -> (TestEnv, Shop, TestApp) {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let more = format!(
        "pizzeria,autre,OC Pizza Autre,2 rue Autre,75012,Paris,+33 1 11 11 11 11,autre@ocpizza.example,00:00-12:00 12:00-00:00,,delivery pickup
staff,{PIZZAIOLO},Paul Pizzaïolo,pizzaiolo,test,{PASSWORD}
staff,{COUNTER},Chloé Comptoir,counter,test,{PASSWORD}
staff,{RIDER},Louis Livreur,delivery,test,{PASSWORD}
staff,{ADMIN},Anne Admin,admin,,{PASSWORD}
staff,{OTHER_MANAGER},Odile Autre,manager,autre,{PASSWORD}
"
    );
    catalog::feed::feed(&env.pool, more.as_bytes(), &env.settings.printer_ports)
        .await
        .expect("the extra staff load");
    let app = env.spawn_web().await;
    (env, shop, app)
}

async fn logged_in(app: &TestApp, email: &str) -> Visitor {
    let v = Visitor::new(app);
    let r = v.log_in(email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email} logs in");
    v
}

/// Confirms an order through the stock worker, as the broker would deliver it.
async fn confirm(env: &TestEnv, order_id: u64) {
    let placed = env.outbox_for("order.placed", order_id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    assert_eq!(env.order(order_id).await.status, OrderStatus::Confirmed);
}

async fn rider_id(env: &TestEnv) -> u64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(RIDER)
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

/// An order paid on site, placed for the shop's customer and confirmed by the stock worker.
async fn confirmed(
    env: &TestEnv,
    shop: &Shop,
    lines: &[(u64, u32)],
    fulfilment: Fulfilment,
) -> order::Order {
    let o = env
        .place(shop, lines, PaymentMode::OnSite, fulfilment)
        .await;
    confirm(env, o.id).await;
    o
}

async fn ingredient(env: &TestEnv, code: &str) -> u64 {
    sqlx::query_scalar("SELECT id FROM ingredients WHERE code = ?")
        .bind(code)
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Pizzaiolo,
    Counter,
    Rider,
    Manager,
    Admin,
    OtherManager,
    Customer,
}

impl Who {
    fn email(self) -> &'static str {
        match self {
            Who::Pizzaiolo => PIZZAIOLO,
            Who::Counter => COUNTER,
            Who::Rider => RIDER,
            Who::Manager => MANAGER,
            Who::Admin => ADMIN,
            Who::OtherManager => OTHER_MANAGER,
            Who::Customer => CUSTOMER,
        }
    }
}

/// (method, path, form fields, who may use it)
type Route<'a> = (&'a str, String, Vec<(&'a str, String)>, &'a [Who]);

#[tokio::test]
async fn every_staff_route_is_refused_to_other_roles_and_other_pizzerias() {
    let (env, shop, app) = setup().await;
    let order = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let (o, z, ing) = (order.id, shop.margherita, ingredient(&env, "mozza").await);
    let p = shop.pizzeria_id;
    use Who::*;
    let kitchen: &[Who] = &[Pizzaiolo, Manager, Admin];
    let counter: &[Who] = &[Counter, Manager, Admin];
    let delivery: &[Who] = &[Rider, Manager, Admin];
    let manage: &[Who] = &[Manager, Admin];
    let admin: &[Who] = &[Admin];
    let any_staff: &[Who] = &[Pizzaiolo, Counter, Rider, Manager, Admin];
    // (method, path, form, who may)
    let routes: Vec<Route<'_>> = vec![
        ("GET", "/equipe/test/cuisine".into(), vec![], kitchen),
        (
            "GET",
            "/equipe/test/cuisine/tableau".into(),
            vec![],
            kitchen,
        ),
        ("GET", format!("/equipe/test/recettes/{z}"), vec![], kitchen),
        (
            "POST",
            format!("/equipe/test/commandes/{o}/reimprimer"),
            vec![],
            kitchen,
        ),
        // Moves the order cannot make yet (it is only placed): refused by the lifecycle, after
        // the permission check.
        (
            "POST",
            format!("/equipe/test/commandes/{o}/statut"),
            vec![("to", "ready".into())],
            kitchen,
        ),
        (
            "POST",
            format!("/equipe/test/commandes/{o}/statut"),
            vec![("to", "delivered".into())],
            delivery,
        ),
        (
            "POST",
            format!("/equipe/test/commandes/{o}/statut"),
            vec![("to", "picked_up".into()), ("tender", "cash".into())],
            counter,
        ),
        ("GET", "/equipe/test/comptoir".into(), vec![], counter),
        ("POST", "/equipe/test/comptoir".into(), vec![], counter),
        ("GET", "/equipe/test/livraisons".into(), vec![], delivery),
        (
            "GET",
            "/equipe/test/livraisons/tableau".into(),
            vec![],
            delivery,
        ),
        (
            "GET",
            "/equipe/test/comptoir/tableau".into(),
            vec![],
            counter,
        ),
        // Not a ready delivery: refused by the rule, after the permission check.
        (
            "POST",
            format!("/equipe/test/commandes/{o}/prendre"),
            vec![],
            delivery,
        ),
        ("GET", "/equipe/test/gestion".into(), vec![], manage),
        (
            "POST",
            format!("/equipe/test/stock/{ing}"),
            vec![("kind", "restock".into()), ("quantity", "x".into())],
            manage,
        ),
        ("GET", "/equipe/test/flux".into(), vec![], any_staff),
        ("GET", "/equipe/test/rapport".into(), vec![], manage),
        ("GET", "/equipe/test/rapport.csv".into(), vec![], manage),
        ("GET", format!("/equipe/test/stock/{ing}"), vec![], manage),
        (
            "POST",
            format!("/equipe/test/stock/{ing}/seuil"),
            vec![("threshold", "x".into())],
            manage,
        ),
        // « 86 » with nothing to change (the pizza is on sale): the kitchen's and the manager's.
        (
            "POST",
            format!("/equipe/test/carte/{z}"),
            vec![("sold_out", "0".into())],
            kitchen,
        ),
        (
            "GET",
            format!("/equipe/test/commandes/{o}"),
            vec![],
            any_staff,
        ),
        (
            "GET",
            "/equipe/test/commandes?q=Claire".into(),
            vec![],
            any_staff,
        ),
        // An unknown reason and a refund without its motive: refused after the permission check.
        (
            "POST",
            format!("/equipe/test/commandes/{o}/fin"),
            vec![("reason", "nope".into())],
            counter,
        ),
        (
            "POST",
            format!("/equipe/test/commandes/{o}/remboursement"),
            vec![("motive", "".into())],
            manage,
        ),
        ("GET", "/admin".into(), vec![], admin),
        (
            "POST",
            format!("/admin/pizzerias/{p}"),
            vec![("opening_hours", "n'importe quoi".into())],
            admin,
        ),
        (
            "POST",
            format!("/admin/pizzas/{z}"),
            vec![("price", "zéro".into())],
            admin,
        ),
        (
            "POST",
            format!("/admin/carte/{p}/{z}"),
            vec![("on", "on".into())],
            admin,
        ),
        (
            "POST",
            "/admin/imprimantes/1".into(),
            vec![("host", "".into())],
            admin,
        ),
        (
            "POST",
            "/admin/personnel".into(),
            vec![
                ("email", "x".into()),
                ("full_name", "".into()),
                ("role", "pizzaiolo".into()),
                ("password", "".into()),
            ],
            admin,
        ),
        (
            "POST",
            format!("/admin/personnel/{}", shop.manager_id),
            vec![("active", "on".into())],
            admin,
        ),
        (
            "POST",
            "/admin/import".into(),
            vec![("csv", "nimporte,quoi".into())],
            admin,
        ),
        // Refused by their rules, after the permission check.
        (
            "POST",
            "/admin/pizzerias".into(),
            vec![("code", "!".into())],
            admin,
        ),
        (
            "POST",
            "/admin/pizzas".into(),
            vec![("name", "".into())],
            admin,
        ),
        ("GET", format!("/admin/pizzas/{z}/recette"), vec![], admin),
        (
            "POST",
            format!("/admin/pizzas/{z}/recette"),
            vec![("ingredient", "0".into())],
            admin,
        ),
        (
            "POST",
            "/admin/imprimantes".into(),
            vec![("name", "".into())],
            admin,
        ),
        (
            "POST",
            format!("/admin/personnel/{}/role", shop.manager_id),
            vec![("role", "nope".into())],
            admin,
        ),
    ];
    let everyone = [
        Pizzaiolo,
        Counter,
        Rider,
        Manager,
        Admin,
        OtherManager,
        Customer,
    ];
    let mut visitors = Vec::new();
    for who in everyone {
        visitors.push((who, logged_in(&app, who.email()).await));
    }
    let anonymous = Visitor::new(&app);
    for (method, path, form, allowed) in &routes {
        for (who, v) in &visitors {
            let r = if *method == "GET" {
                if path.ends_with("/flux") {
                    // The stream never ends: only the status matters.
                    v.client.get(v.url(path)).send().await.unwrap()
                } else {
                    v.get(path).await
                }
            } else {
                let fields: Vec<(&str, &str)> =
                    form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                v.submit(path, &fields).await
            };
            let status = r.status();
            if allowed.contains(who) {
                assert!(
                    !matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND)
                        && location(&r) != "/connexion",
                    "{who:?} may {method} {path}: got {status}"
                );
            } else {
                let expected = match who {
                    // Another pizzeria's staff and customers are told it does not exist.
                    OtherManager | Customer => StatusCode::NOT_FOUND,
                    _ => StatusCode::FORBIDDEN,
                };
                let expected = if *who == OtherManager && path.starts_with("/admin") {
                    StatusCode::FORBIDDEN
                } else {
                    expected
                };
                assert_eq!(status, expected, "{who:?} must not {method} {path}");
            }
        }
        if *method == "GET" && !path.ends_with("/flux") {
            let r = anonymous.get(path).await;
            assert_eq!(location(&r), "/connexion", "anonymous {path}");
        }
    }
    // Nothing the refused requests asked for happened.
    let after = env.order(o).await;
    assert_eq!(after.status, OrderStatus::Placed);
    assert_eq!(
        env.outbox("ticket.reprint_requested").await.len(),
        3,
        "one per allowed role"
    );
    assert_eq!(env.count("payments").await, 0);
}

#[tokio::test]
async fn the_kitchen_starts_and_finishes_and_the_counter_hands_over_with_the_payment() {
    let (env, shop, app) = setup().await;
    let order = env
        .place(
            &shop,
            &[(shop.margherita, 2), (shop.regina, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let cook = logged_in(&app, PIZZAIOLO).await;
    assert!(
        !cook
            .page("/equipe/test/cuisine")
            .await
            .contains(&format!("data-order=\"{}\"", order.id)),
        "not before the stock is confirmed"
    );
    confirm(&env, order.id).await;
    let board = cook.page("/equipe/test/cuisine/tableau").await;
    assert!(
        board.contains(&format!("data-order=\"{}\"", order.id)),
        "{board}"
    );
    assert!(board.contains("2 × ") && board.contains("Margherita") && board.contains("Regina"));
    assert!(board.contains(&format!("/equipe/test/recettes/{}", shop.margherita)));
    let recipe = cook
        .page(&format!("/equipe/test/recettes/{}", shop.regina))
        .await;
    assert!(
        recipe.contains("Jambon blanc")
            && recipe.contains("60 g")
            && recipe.contains("après cuisson")
    );

    let step = |to: &'static str| {
        let cook = &cook;
        async move {
            let r = cook
                .submit(
                    &format!("/equipe/test/commandes/{}/statut", order.id),
                    &[("to", to)],
                )
                .await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
        }
    };
    step("preparing").await;
    assert_eq!(env.order(order.id).await.status, OrderStatus::Preparing);
    let started = env
        .outbox("order.status_changed")
        .await
        .into_iter()
        .filter(|m| matches!(&m.event, Event::OrderStatusChanged(c) if c.order_id == order.id && c.to == OrderStatus::Preparing))
        .count();
    assert_eq!(started, 1, "the payments worker hears of it");
    step("ready").await;
    assert_eq!(env.order(order.id).await.status, OrderStatus::Ready);
    assert!(
        !cook
            .page("/equipe/test/cuisine/tableau")
            .await
            .contains(&format!("data-order=\"{}\"", order.id))
    );

    // Reprint: a message for the kitchen worker, marked as asked by this pizzaiolo.
    let r = cook
        .submit(
            &format!("/equipe/test/commandes/{}/reimprimer", order.id),
            &[],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let reprint = env.outbox_for("ticket.reprint_requested", order.id).await;
    assert!(matches!(reprint.event, Event::TicketReprintRequested(ref r) if r.requested_by != 0));

    // The customer's page says it is ready to collect.
    let customer = logged_in(&app, CUSTOMER).await;
    assert!(
        customer
            .page(&format!("/commandes/{}", order.id))
            .await
            .contains("En attente de retrait")
    );

    // The counter hands it over: the means of payment is required, then recorded once.
    let desk = logged_in(&app, COUNTER).await;
    let counter_page = desk.page("/equipe/test/comptoir").await;
    assert!(counter_page.contains(&format!("data-order=\"{}\"", order.id)));
    assert!(counter_page.contains("À encaisser : 31,00\u{a0}€"));
    let path = format!("/equipe/test/commandes/{}/statut", order.id);
    desk.submit(&path, &[("to", "picked_up"), ("back", "comptoir")])
        .await;
    assert_eq!(
        env.order(order.id).await.status,
        OrderStatus::Ready,
        "no tender, no hand-over"
    );
    desk.submit(
        &path,
        &[
            ("to", "picked_up"),
            ("tender", "meal_voucher"),
            ("back", "comptoir"),
        ],
    )
    .await;
    assert_eq!(env.order(order.id).await.status, OrderStatus::PickedUp);
    desk.submit(
        &path,
        &[
            ("to", "picked_up"),
            ("tender", "cash"),
            ("back", "comptoir"),
        ],
    )
    .await;
    let rows: Vec<(String, String, u32)> = sqlx::query_as(
        "SELECT CAST(method AS CHAR), CAST(status AS CHAR), amount_cents FROM payments WHERE order_id = ?",
    )
    .bind(order.id)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [("meal_voucher".to_owned(), "collected".to_owned(), 3100)]
    );

    // The manager sees it in today's takings.
    let manager = logged_in(&app, MANAGER).await;
    let dashboard = manager.page("/equipe/test/gestion").await;
    assert!(
        dashboard.contains("Titre-restaurant") && dashboard.contains("31,00\u{a0}€"),
        "{dashboard}"
    );
}

#[tokio::test]
async fn deliveries_go_out_and_are_delivered_with_the_money_collected() {
    let (env, shop, app) = setup().await;
    let order = confirmed(&env, &shop, &[(shop.margherita, 1)], Fulfilment::Delivery).await;
    let cook = logged_in(&app, PIZZAIOLO).await;
    for to in ["preparing", "ready"] {
        cook.submit(
            &format!("/equipe/test/commandes/{}/statut", order.id),
            &[("to", to)],
        )
        .await;
    }
    let rider = logged_in(&app, RIDER).await;
    let page = rider.page("/equipe/test/livraisons").await;
    assert!(
        page.contains("3 rue des Clients") && page.contains("Code 1234"),
        "{page}"
    );
    assert!(page.contains("À encaisser : 9,50\u{a0}€"));
    assert!(
        page.contains("href=\"geo:0,0?q=3+rue+des+Clients"),
        "a map link: {page}"
    );
    let (_, free) = page.split_once("id=\"free\"").unwrap();
    assert!(free.contains(&format!("data-order=\"{}\"", order.id)));
    // What a customer said at checkout reaches the rider, the means preselected.
    let planned = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Delivery,
        )
        .await;
    sqlx::query("UPDATE orders SET on_site_method = 'cash', change_for_cents = 2000 WHERE id = ?")
        .bind(planned.id)
        .execute(&env.pool)
        .await
        .unwrap();
    confirm(&env, planned.id).await;
    for to in [OrderStatus::Preparing, OrderStatus::Ready] {
        ocpizza_tests::flow::move_as_manager(&env, &shop, planned.id, to).await;
    }
    rider
        .submit(
            &format!("/equipe/test/commandes/{}/statut", planned.id),
            &[("to", "out_for_delivery"), ("back", "livraisons")],
        )
        .await;
    let page = rider.page("/equipe/test/livraisons").await;
    let card = page
        .split(&format!("data-order=\"{}\"", planned.id))
        .nth(1)
        .unwrap();
    assert!(
        card.contains("Espèces, rendu sur 20,00\u{a0}€ (rendre 10,50\u{a0}€)")
            && card.contains("value=\"cash\" selected"),
        "{card}"
    );
    // Taken: the rider's own run.
    rider
        .submit(&format!("/equipe/test/commandes/{}/prendre", order.id), &[])
        .await;
    assert_eq!(
        env.order(order.id).await.driver_id,
        Some(rider_id(&env).await)
    );
    let page = rider.page("/equipe/test/livraisons").await;
    let (mine, _) = page.split_once("id=\"free\"").unwrap();
    assert!(
        mine.contains(&format!("data-order=\"{}\"", order.id)),
        "{page}"
    );
    let path = format!("/equipe/test/commandes/{}/statut", order.id);
    rider
        .submit(&path, &[("to", "out_for_delivery"), ("back", "livraisons")])
        .await;
    assert_eq!(
        env.order(order.id).await.status,
        OrderStatus::OutForDelivery
    );
    // Someone else closing the rider's delivery has to say so.
    let manager = logged_in(&app, MANAGER).await;
    let delivered = [
        ("to", "delivered"),
        ("tender", "cash"),
        ("back", "livraisons"),
    ];
    manager.submit(&path, &delivered).await;
    assert_eq!(
        env.order(order.id).await.status,
        OrderStatus::OutForDelivery
    );
    let told = manager.page("/equipe/test/livraisons").await;
    assert!(
        told.contains("est la livraison de Louis Livreur : cochez « à sa place »"),
        "{told}"
    );
    let r = manager
        .submit(
            &path,
            &[delivered.as_slice(), &[("in_their_place", "1")]].concat(),
        )
        .await;
    assert_eq!(location(&r), "/equipe/test/livraisons");
    assert_eq!(env.order(order.id).await.status, OrderStatus::Delivered);
    let (method, holder): (String, u64) = sqlx::query_as(
        "SELECT CAST(method AS CHAR), collected_by FROM payments WHERE order_id = ? AND status = 'collected'",
    )
    .bind(order.id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        (method.as_str(), holder),
        ("cash", rider_id(&env).await),
        "the rider holds the cash"
    );
    let reason: String = sqlx::query_scalar(
        "SELECT reason FROM order_status_history WHERE order_id = ? AND to_status = 'delivered'",
    )
    .bind(order.id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(reason, "à la place de Louis Livreur");
    let page = rider.page("/equipe/test/livraisons").await;
    let (_, cash) = page.split_once("id=\"cash\"").unwrap();
    assert!(
        cash.contains("Espèces") && cash.contains("9,50\u{a0}€"),
        "{cash}"
    );
    // A rider cannot move kitchen steps.
    let other = confirmed(&env, &shop, &[(shop.margherita, 1)], Fulfilment::Delivery).await;
    let r = rider
        .submit(
            &format!("/equipe/test/commandes/{}/statut", other.id),
            &[("to", "preparing")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(env.order(other.id).await.status, OrderStatus::Confirmed);
}

#[tokio::test]
async fn counter_and_phone_orders_use_the_same_pipeline_and_find_known_customers() {
    let (env, shop, app) = setup().await;
    let desk = logged_in(&app, COUNTER).await;
    let page = desk.page("/equipe/test/comptoir").await;
    let key = page
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let margherita = format!("qty_{}", shop.margherita);
    let note = format!("note_{}", shop.margherita);
    let fields = [
        ("idempotency_key", key.as_str()),
        ("channel", "phone"),
        ("customer_name", "Marc Téléphone"),
        ("customer_phone", "06 98 76 54 32"),
        (margherita.as_str(), "2"),
        (note.as_str(), "sans basilic"),
        ("fulfilment", "pickup"),
        ("when", "asap"),
    ];
    let r = desk.submit("/equipe/test/comptoir", &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // A double submit is the same order.
    desk.submit("/equipe/test/comptoir", &fields).await;
    let orders: Vec<(u64, String, String, u64)> = sqlx::query_as(
        "SELECT id, CAST(channel AS CHAR), CAST(payment_mode AS CHAR), customer_id FROM orders",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(orders.len(), 1);
    let (id, channel, payment, customer) = orders[0].clone();
    assert_eq!((channel.as_str(), payment.as_str()), ("phone", "on_site"));
    let placed = env.order(id).await;
    assert_eq!(placed.total.0, 1900);
    assert_eq!(placed.lines[0].notes, "sans basilic");
    env.outbox_for("order.placed", id).await;
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = ?")
        .bind(customer)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(email.ends_with(".invalid"), "no e-mail given: {email}");

    // The same number another day: the counter suggests the known customer after « Chercher
    // ce numéro », and the order is theirs only if staff picks them (having asked the caller).
    let search = desk
        .page("/equipe/test/comptoir?chercher=1&customer_name=Marc&customer_phone=%2B33%206%2098%2076%2054%2032")
        .await;
    assert!(
        search.contains("Marc Téléphone"),
        "the known customer is suggested"
    );
    assert!(search.contains("value=\"Marc\""), "what was typed stays");
    let chosen = customer.to_string();
    let again = [
        ("idempotency_key", "second"),
        ("customer_name", "Marc T."),
        ("customer_phone", "+33 6 98 76 54 32"),
        ("customer_id", chosen.as_str()),
        (margherita.as_str(), "1"),
        ("fulfilment", "pickup"),
    ];
    desk.submit("/equipe/test/comptoir", &again).await;
    // Not picked: the same number is a new record, never matched by itself.
    let unpicked = [
        ("idempotency_key", "third"),
        ("customer_name", "Marc T."),
        ("customer_phone", "06 98 76 54 32"),
        (margherita.as_str(), "1"),
        ("fulfilment", "pickup"),
    ];
    desk.submit("/equipe/test/comptoir", &unpicked).await;
    // The e-mail of a web account: not attached either; the e-mails go to the address given.
    let by_email = [
        ("idempotency_key", "fourth"),
        ("customer_name", "Claire"),
        ("customer_phone", "0100000000"),
        ("customer_email", CUSTOMER),
        (margherita.as_str(), "1"),
        ("fulfilment", "pickup"),
    ];
    desk.submit("/equipe/test/comptoir", &by_email).await;
    let rows: Vec<(u64, Option<String>)> =
        sqlx::query_as("SELECT customer_id, contact_email FROM orders ORDER BY id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1].0, customer, "picked by staff");
    assert!(
        rows[2].0 != customer && rows[2].0 != shop.customer_id,
        "not matched by phone"
    );
    assert!(
        rows[3].0 != shop.customer_id,
        "not attached to the web account by e-mail"
    );
    assert_eq!(
        rows[3].1.as_deref(),
        Some(CUSTOMER),
        "e-mails go to the address given"
    );

    // Refused with the reason and nothing placed: no pizza, an unknown delivery address.
    let before = env.count("orders").await;
    for bad in [
        vec![
            ("idempotency_key", "b1"),
            ("customer_name", "X"),
            ("customer_phone", "01"),
        ],
        vec![
            ("idempotency_key", "b2"),
            ("customer_name", "X"),
            ("customer_phone", "01"),
            (margherita.as_str(), "1"),
            ("fulfilment", "delivery"),
        ],
    ] {
        let r = desk.submit("/equipe/test/comptoir", &bad).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(env.count("orders").await, before);
}

#[tokio::test]
async fn the_manager_restocks_and_corrects_with_who_and_why_in_the_ledger() {
    let (env, shop, app) = setup().await;
    let manager = logged_in(&app, MANAGER).await;
    let page = manager.page("/equipe/test/gestion").await;
    assert!(page.contains("Stock bas") || !page.contains("low-stock"));
    let jambon = ingredient(&env, "jambon").await;
    let path = format!("/equipe/test/stock/{jambon}");
    manager
        .submit(
            &path,
            &[
                ("kind", "restock"),
                ("quantity", "500"),
                ("note", "livraison du jour"),
            ],
        )
        .await;
    assert_eq!(env.stock_of(&shop, "jambon").await, 560);
    // A correction needs a reason; it may not take the stock below zero.
    manager
        .submit(&path, &[("kind", "correction"), ("quantity", "-10")])
        .await;
    assert_eq!(env.stock_of(&shop, "jambon").await, 560);
    let r = manager
        .submit(
            &path,
            &[
                ("kind", "correction"),
                ("quantity", "-1000"),
                ("note", "inventaire"),
            ],
        )
        .await;
    assert!(
        manager
            .page(&location(&r))
            .await
            .contains("ne peut pas devenir négatif")
    );
    manager
        .submit(
            &path,
            &[
                ("kind", "correction"),
                ("quantity", "-20"),
                ("note", "jambon abîmé"),
            ],
        )
        .await;
    assert_eq!(env.stock_of(&shop, "jambon").await, 540);
    let ledger: Vec<(i64, String, Option<u64>, String)> = sqlx::query_as(
        "SELECT delta, CAST(reason AS CHAR), user_id, note FROM stock_ledger
         WHERE ingredient_id = ? AND reason IN ('restock', 'correction') ORDER BY id",
    )
    .bind(jambon)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        ledger,
        [
            (
                500,
                "restock".into(),
                Some(shop.manager_id),
                "livraison du jour".into()
            ),
            (
                -20,
                "correction".into(),
                Some(shop.manager_id),
                "jambon abîmé".into()
            ),
        ]
    );
    // Going under the threshold by a correction warns once.
    manager
        .submit(
            &path,
            &[
                ("kind", "correction"),
                ("quantity", "-520"),
                ("note", "inventaire"),
            ],
        )
        .await;
    assert_eq!(env.outbox("stock.low").await.len(), 1);
    assert!(
        manager
            .page("/equipe/test/gestion")
            .await
            .contains("Stock bas")
    );
}

#[tokio::test]
async fn the_group_admin_runs_the_menu_printers_and_staff() {
    let (env, shop, app) = setup().await;
    let printers = Emupos::start(1).await;
    sqlx::query("UPDATE printers SET port = ? WHERE name = 'Cuisine'")
        .bind(printers.ports[0])
        .execute(&env.pool)
        .await
        .unwrap();
    let printer_id: u64 = sqlx::query_scalar("SELECT id FROM printers WHERE name = 'Cuisine'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let admin = logged_in(&app, ADMIN).await;
    assert!(admin.page("/admin").await.contains("OC Pizza Autre"));

    // Prices and menus: what customers see changes.
    admin
        .submit(
            &format!("/admin/pizzas/{}", shop.margherita),
            &[("price", "10,20"), ("active", "on")],
        )
        .await;
    let visitor = Visitor::new(&app);
    assert!(
        visitor
            .page("/pizzerias/test")
            .await
            .contains("10,20\u{a0}€")
    );
    admin
        .submit(
            &format!("/admin/carte/{}/{}", shop.pizzeria_id, shop.regina),
            &[],
        )
        .await;
    assert!(!visitor.page("/pizzerias/test").await.contains("Regina"));
    let r = admin
        .submit(
            &format!("/admin/pizzas/{}", shop.margherita),
            &[("price", "gratuit")],
        )
        .await;
    assert!(admin.page(&location(&r)).await.contains("prix invalide"));

    // Printers: the test page reaches the printer.
    admin
        .submit(&format!("/admin/imprimantes/{printer_id}/test"), &[])
        .await;
    let receipts = printers.receipts(0).await;
    assert!(
        receipts.iter().any(|r| r.contains("TEST D'IMPRESSION")),
        "{receipts:?}"
    );

    // Staff: a new pizzaiolo can log in and lands on the kitchen; deactivated, they cannot.
    let r = admin
        .submit(
            "/admin/personnel",
            &[
                ("email", "nouveau@test.example"),
                ("full_name", "Nino Nouveau"),
                ("role", "pizzaiolo"),
                ("pizzeria_id", &shop.pizzeria_id.to_string()),
                ("password", "mot-de-passe-provisoire"),
            ],
        )
        .await;
    assert!(admin.page(&location(&r)).await.contains("Compte créé"));
    let nino = Visitor::new(&app);
    nino.log_in("nouveau@test.example", "mot-de-passe-provisoire")
        .await;
    let home = nino.get("/equipe").await;
    assert_eq!(location(&home), "/equipe/test/cuisine");
    let id: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'nouveau@test.example'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    admin.submit(&format!("/admin/personnel/{id}"), &[]).await;
    assert_eq!(
        location(&nino.get("/equipe/test/cuisine").await),
        "/connexion"
    );

    // The seed CSV: a bad file changes nothing and says where.
    let users = env.count("users").await;
    let r = admin
        .submit(
            "/admin/import",
            &[(
                "csv",
                "ingredient,basilic,Basilic,piece\npizza,pesto,Pesto,,pas-un-prix\n",
            )],
        )
        .await;
    let page = admin.page(&location(&r)).await;
    assert!(
        page.contains("Import refusé")
            && page.contains("ligne 2, colonne 5 (price_eur) : &quot;pas-un-prix&quot; n&#x27;est pas un prix en euros"),
        "{page}"
    );
    assert_eq!(env.count("users").await, users);
    let basilic: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM ingredients WHERE code = 'basilic'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(basilic, 0);
}

#[tokio::test]
async fn the_counter_ends_orders_and_the_manager_refunds_from_the_order_page() {
    let (env, shop, app) = setup().await;
    let order = confirmed(&env, &shop, &[(shop.margherita, 2)], Fulfilment::Pickup).await;
    let at = format!("/equipe/test/commandes/{}", order.id);
    let end = format!("{at}/fin");
    let counter = logged_in(&app, COUNTER).await;
    let page = counter.page(&at).await;
    assert!(page.contains("Annuler ou refuser la commande"), "{page}");
    assert!(
        !page.contains("Rembourser (reste"),
        "only the manager refunds"
    );

    // « Autre » without words is refused in French and changes nothing.
    let r = counter
        .submit(&end, &[("reason", "other"), ("detail", " ")])
        .await;
    assert_eq!(location(&r), at);
    assert!(counter.page(&at).await.contains("Précisez la raison."));
    assert_eq!(env.order(order.id).await.status, OrderStatus::Confirmed);
    // Choosing what to give back is the manager's.
    let r = counter
        .submit(
            &end,
            &[
                ("reason", "customer_request"),
                ("refund", "lines"),
                ("refund_qty_0", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(env.order(order.id).await.status, OrderStatus::Confirmed);

    let r = counter
        .submit(
            &end,
            &[("reason", "customer_request"), ("detail", "a rappelé")],
        )
        .await;
    assert_eq!(location(&r), at);
    let page = counter.page(&at).await;
    assert!(
        page.contains(&format!(
            "Commande n°{} annulée (À la demande du client) : le client est prévenu, le stock est rendu.",
            order.id
        )),
        "{page}"
    );
    assert!(
        page.contains("par Chloé Comptoir : À la demande du client : a rappelé"),
        "{page}"
    );
    assert_eq!(env.order(order.id).await.status, OrderStatus::Cancelled);
    let r = counter.submit(&end, &[("reason", "prank")]).await;
    assert_eq!(location(&r), at);
    assert!(
        counter
            .page(&at)
            .await
            .contains("la commande est « Annulée » : elle ne peut plus passer à « Refusée »")
    );
    let customer = logged_in(&app, CUSTOMER).await;
    let mine = customer.page(&format!("/commandes/{}", order.id)).await;
    assert!(
        mine.contains("À la demande du client : a rappelé"),
        "{mine}"
    );

    // A complaint after hand-over, paid in cash: the manager gives back one pizza from the till.
    let second = confirmed(&env, &shop, &[(shop.margherita, 2)], Fulfilment::Pickup).await;
    for to in [
        OrderStatus::Preparing,
        OrderStatus::Ready,
        OrderStatus::PickedUp,
    ] {
        ocpizza_tests::flow::move_as_manager(&env, &shop, second.id, to).await;
    }
    let mut conn = env.pool.acquire().await.unwrap();
    let handed = env.order(second.id).await;
    payment::counter::record_collected(
        &mut conn,
        &handed,
        vocab::PaymentMethod::Cash,
        shop.manager_id,
    )
    .await
    .unwrap();
    drop(conn);
    let at = format!("/equipe/test/commandes/{}", second.id);
    let give = format!("{at}/remboursement");
    let manager = logged_in(&app, MANAGER).await;
    let page = manager.page(&at).await;
    assert!(page.contains("Rembourser (reste 19,00\u{a0}€)"), "{page}");
    assert!(
        !page.contains("Annuler ou refuser"),
        "a finished order cannot end"
    );
    for (fields, told) in [
        (
            vec![("mode", "lines"), ("refund_qty_0", "1"), ("motive", "")],
            "Indiquez le motif du remboursement",
        ),
        (
            vec![("mode", "amount"), ("amount", "25"), ("motive", "froide")],
            "Le remboursement dépasse ce qui reste encaissé (19,00\u{a0}€ au plus).",
        ),
        (
            vec![
                ("mode", "amount"),
                ("amount", "douze"),
                ("motive", "froide"),
            ],
            "Montant invalide : par exemple 12,50.",
        ),
        (
            vec![
                ("mode", "lines"),
                ("refund_qty_0", "3"),
                ("motive", "froide"),
            ],
            "« Margherita » : 3 demandées, 2 commandées.",
        ),
    ] {
        let r = manager.submit(&give, &fields).await;
        assert_eq!(location(&r), at);
        let page = manager.page(&at).await;
        assert!(page.contains(told), "{told} in {page}");
    }
    assert_eq!(env.count("refunds").await, 0, "refusals change nothing");
    let r = manager
        .submit(
            &give,
            &[
                ("mode", "lines"),
                ("refund_qty_0", "1"),
                ("motive", "brûlée"),
            ],
        )
        .await;
    assert_eq!(location(&r), at);
    let page = manager.page(&at).await;
    assert!(
        page.contains("Remboursement de 9,50\u{a0}€ enregistré : rendez-le au client en caisse."),
        "{page}"
    );
    assert!(
        page.contains("brûlée — 1 × Margherita — Gérard Gérant"),
        "{page}"
    );
    let (method, status, cents): (String, String, u32) = sqlx::query_as(
        "SELECT CAST(method AS CHAR), CAST(status AS CHAR), amount_cents FROM refunds WHERE order_id = ?",
    )
    .bind(second.id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        (method.as_str(), status.as_str(), cents),
        ("cash", "done", 950)
    );
    assert_eq!(env.outbox("payment.refunded").await.len(), 1);
    let r = counter
        .submit(
            &give,
            &[("mode", "amount"), ("amount", "1"), ("motive", "x")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The search finds both by number, name and phone.
    for q in [second.id.to_string(), "claire".into(), "06 00 00".into()] {
        let found = counter
            .page(&format!("/equipe/test/commandes?q={}", urlencode(&q)))
            .await;
        assert!(
            found.contains(&format!("/equipe/test/commandes/{}\"", second.id)),
            "{q}: {found}"
        );
    }
    let none = counter.page("/equipe/test/commandes?q=Zorglub").await;
    assert!(none.contains("Aucune commande ne correspond à « Zorglub »."));
}

fn urlencode(raw: &str) -> String {
    raw.replace(' ', "+")
}

#[tokio::test]
async fn a_scheduled_order_waits_in_the_later_lane_and_starts_early_only_on_purpose() {
    let (env, shop, app) = setup().await;
    let later = env
        .place_pickup(&shop, shop.margherita, PaymentMode::OnSite)
        .await;
    sqlx::query("UPDATE orders SET desired_at = NOW(6) + INTERVAL 3 HOUR, promised_at = desired_at, kitchen_at = desired_at - INTERVAL 15 MINUTE WHERE id = ?")
        .bind(later.id)
        .execute(&env.pool)
        .await
        .unwrap();
    confirm(&env, later.id).await;
    let now = env
        .place_pickup(&shop, shop.regina, PaymentMode::OnSite)
        .await;
    confirm(&env, now.id).await;
    let cook = logged_in(&app, PIZZAIOLO).await;
    let board = cook.page("/equipe/test/cuisine/tableau").await;
    let (current, scheduled) = board.split_once("id=\"later\"").expect("two lanes");
    assert!(
        current.contains(&format!("data-order=\"{}\"", now.id)),
        "{board}"
    );
    assert!(
        !current.contains(&format!("data-order=\"{}\"", later.id)),
        "{board}"
    );
    assert!(
        scheduled.contains(&format!("data-order=\"{}\"", later.id)),
        "{board}"
    );
    assert!(scheduled.contains("À commencer vers"), "{board}");

    let path = format!("/equipe/test/commandes/{}/statut", later.id);
    let r = cook.submit(&path, &[("to", "preparing")]).await;
    assert_eq!(location(&r), "/equipe/test/cuisine");
    let page = cook.page("/equipe/test/cuisine").await;
    assert!(
        page.contains("Confirmez pour la commencer en avance."),
        "{page}"
    );
    assert_eq!(env.order(later.id).await.status, OrderStatus::Confirmed);
    cook.submit(&path, &[("to", "preparing"), ("early", "1")])
        .await;
    assert_eq!(env.order(later.id).await.status, OrderStatus::Preparing);
    // Once started it is made now, in the current lane.
    let board = cook.page("/equipe/test/cuisine/tableau").await;
    let (current, _) = board.split_once("id=\"later\"").unwrap();
    assert!(
        current.contains(&format!("data-order=\"{}\"", later.id)),
        "{board}"
    );
}

#[tokio::test]
async fn the_group_admin_opens_a_pizzeria_adds_a_pizza_with_its_recipe_and_manages_roles() {
    let (env, shop, app) = setup().await;
    let admin = logged_in(&app, ADMIN).await;
    let told = |r: reqwest::Response| {
        let admin = &admin;
        async move {
            admin
                .page(&location(&r))
                .await
                .replace("&#x27;", "'")
                .replace("&quot;", "\"")
        }
    };

    // A pizzeria, with its closed days in French; its stock starts at zero.
    let pizzeria = |code: &'static str, name: &'static str| {
        vec![
            ("code", code),
            ("name", name),
            ("street", "5 rue Neuve"),
            ("postal_code", "75015"),
            ("city", "Paris"),
            ("phone", "01 45 00 00 00"),
            ("email", "paris15@ocpizza.example"),
            ("opening_hours", "11:30-14:30 18:00-23:00"),
            ("closed_days", "Lundi, mardi"),
            ("offers_delivery", "on"),
        ]
    };
    let r = admin
        .submit(
            "/admin/pizzerias",
            &pizzeria("paris-15", "OC Pizza Paris 15"),
        )
        .await;
    assert!(told(r).await.contains("Pizzeria créée"));
    let (id, days): (u64, String) =
        sqlx::query_as("SELECT id, closed_days FROM pizzerias WHERE code = 'paris-15'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(days, "mon tue");
    let stocked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stock WHERE pizzeria_id = ? AND quantity = 0")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(stocked, env.count("ingredients").await);
    let page = admin.page("/admin").await;
    assert!(
        page.contains("value=\"lundi, mardi\""),
        "days shown in French"
    );
    for (fields, refusal) in [
        (
            pizzeria("paris-15", "Autre nom"),
            "le code « paris-15 » est déjà celui de OC Pizza Paris 15",
        ),
        (pizzeria("Paris 15!", "X"), "code invalide"),
        (
            {
                let mut f = pizzeria("paris-16", "OC Pizza Paris 16");
                f[8] = ("closed_days", "lundi, jourférié");
                f
            },
            "« jourférié » n'est pas un jour (lundi … dimanche)",
        ),
    ] {
        let r = admin.submit("/admin/pizzerias", &fields).await;
        let page = told(r).await;
        assert!(page.contains(refusal), "{refusal}: {page}");
    }

    // A pizza: a second « Margherita » is refused; a new one goes to its recipe.
    let r = admin
        .submit(
            "/admin/pizzas",
            &[("name", "margherita"), ("price", "9"), ("vat_rate", "10")],
        )
        .await;
    assert!(
        told(r)
            .await
            .contains("La pizza « margherita » existe déjà : modifiez-la plutôt."),
    );
    let r = admin
        .submit(
            "/admin/pizzas",
            &[
                ("name", "Pesto Genovese"),
                ("description", "Pesto, mozzarella"),
                ("price", "13,90"),
                ("vat_rate", "10"),
            ],
        )
        .await;
    let recipe_at = location(&r);
    let pesto: u64 = sqlx::query_scalar("SELECT id FROM pizzas WHERE code = 'pesto-genovese'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(recipe_at, format!("/admin/pizzas/{pesto}/recette"));
    let (pate, mozza) = (
        ingredient(&env, "pate").await.to_string(),
        ingredient(&env, "mozza").await.to_string(),
    );
    let r = admin
        .submit(
            &recipe_at,
            &[
                ("ingredient", &pate),
                ("quantity", "1"),
                ("note", ""),
                ("ingredient", &mozza),
                ("quantity", "beaucoup"),
                ("note", ""),
            ],
        )
        .await;
    assert!(
        told(r)
            .await
            .contains("Quantité de « Mozzarella » invalide : un nombre entier de 1 à 100000."),
    );
    admin
        .submit(
            &recipe_at,
            &[
                ("ingredient", &pate),
                ("quantity", "1"),
                ("note", ""),
                ("ingredient", &mozza),
                ("quantity", "90"),
                ("note", "en fin de cuisson"),
                ("ingredient", "0"),
                ("quantity", ""),
                ("note", ""),
                ("steps", "Étaler la pâte\n\nCuire 90 s"),
            ],
        )
        .await;
    let cook = logged_in(&app, PIZZAIOLO).await;
    let recipe = cook.page(&format!("/equipe/test/recettes/{pesto}")).await;
    assert!(
        recipe.contains("Mozzarella")
            && recipe.contains("en fin de cuisson")
            && recipe.contains("Cuire 90 s"),
        "{recipe}"
    );
    // An import naming an existing pizza under another code is refused too.
    let r = admin
        .submit(
            "/admin/import",
            &[("csv", "pizza,marg2,Margherita,,9.50\n")],
        )
        .await;
    assert!(told(r).await.contains("Import refusé"));
    let margheritas: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pizzas WHERE name = 'Margherita'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(margheritas, 1);

    // A printer, listed with its pizzeria; a bad address is refused in French.
    let r = admin
        .submit(
            "/admin/imprimantes",
            &[
                ("pizzeria_id", &id.to_string()),
                ("name", "Cuisine"),
                ("role", "main"),
                ("host", "192.168.1.60"),
                ("port", "9100"),
            ],
        )
        .await;
    let page = told(r).await;
    assert!(page.contains("Imprimante ajoutée"), "{page}");
    assert!(
        page.contains("Cuisine</strong> — OC Pizza Paris 15 (cuisine)"),
        "{page}"
    );
    let r = admin
        .submit(
            "/admin/imprimantes",
            &[
                ("name", "Secours"),
                ("role", "main"),
                ("host", "192.168.1.61"),
                ("port", "9100"),
            ],
        )
        .await;
    assert!(
        told(r)
            .await
            .contains("l'imprimante de cuisine appartient à une pizzeria")
    );

    // Staff: created without a password (a link goes out), shown by French role and pizzeria
    // name, then moved to the counter.
    let r = admin
        .submit(
            "/admin/personnel",
            &[
                ("email", "lea@test.example"),
                ("full_name", "Léa Nouvelle"),
                ("role", "pizzaiolo"),
                ("pizzeria_id", &shop.pizzeria_id.to_string()),
                ("password", ""),
            ],
        )
        .await;
    let page = told(r).await;
    assert!(
        page.contains("lea@test.example recevra un lien pour choisir son mot de passe"),
        "{page}"
    );
    let lea: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'lea@test.example'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let invites = env.outbox("account.password_link_requested").await;
    assert!(invites.iter().any(|m| matches!(&m.event,
        Event::PasswordLinkRequested(e) if e.user_id == lea && e.purpose == messages::event::LinkPurpose::Invite)));
    let (_, table) = page.split_once("id=\"staff\"").unwrap();
    let row = table
        .split(&format!("data-staff=\"{lea}\""))
        .nth(1)
        .unwrap();
    assert!(
        row.contains("value=\"pizzaiolo\" selected>Pizzaïolo"),
        "{row}"
    );
    assert!(row.contains("selected>OC Pizza Test"), "{row}");
    let r = admin
        .submit(
            &format!("/admin/personnel/{lea}/role"),
            &[("role", "counter"), ("pizzeria_id", "")],
        )
        .await;
    assert!(
        told(r)
            .await
            .contains("Un responsable est rattaché à une pizzeria : choisissez-la.")
    );
    let r = admin
        .submit(
            &format!("/admin/personnel/{lea}/role"),
            &[
                ("role", "counter"),
                ("pizzeria_id", &shop.pizzeria_id.to_string()),
            ],
        )
        .await;
    assert!(told(r).await.contains("Rôle enregistré : Responsable."));
    let role: String = sqlx::query_scalar("SELECT CAST(role AS CHAR) FROM users WHERE id = ?")
        .bind(lea)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(role, "counter");
    let r = admin
        .submit(&format!("/admin/personnel/{lea}/lien"), &[])
        .await;
    assert!(told(r).await.contains("Lien envoyé à lea@test.example"));
    assert_eq!(
        env.outbox("account.password_link_requested").await.len(),
        invites.len() + 1
    );
    let admin_id: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(ADMIN)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let r = admin
        .submit(
            &format!("/admin/personnel/{admin_id}/role"),
            &[
                ("role", "pizzaiolo"),
                ("pizzeria_id", &shop.pizzeria_id.to_string()),
            ],
        )
        .await;
    assert!(
        told(r)
            .await
            .contains("Vous ne pouvez pas changer votre propre rôle")
    );
}

#[tokio::test]
async fn a_walk_in_pays_first_split_between_means_with_the_change_given() {
    let (env, shop, app) = setup().await;
    let desk = logged_in(&app, COUNTER).await;
    let margherita = format!("qty_{}", shop.margherita);
    let order_form = |key: &'static str, paid: Vec<(&'static str, &'static str)>| {
        let mut f = vec![
            ("idempotency_key", key),
            ("channel", "counter"),
            ("customer_name", "Paul Passant"),
            ("customer_phone", "06 11 11 11 11"),
            ("fulfilment", "pickup"),
            ("when", "asap"),
            ("pay_now", "1"),
        ];
        f.extend(paid);
        f
    };
    // Two Margherita (19,00 €): the amounts must make the total; nothing is placed otherwise
    // and the form comes back as typed.
    let mut short = order_form(
        "short",
        vec![("paid_meal_voucher", "10"), ("paid_cash", "5")],
    );
    short.push((margherita.as_str(), "2"));
    let r = desk.submit("/equipe/test/comptoir", &short).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Les montants font 15,00\u{a0}€ pour une commande de 19,00\u{a0}€."),
        "{page}"
    );
    assert!(page.contains("value=\"10\""), "the amounts typed stay");
    assert_eq!(env.count("orders").await, 0);
    assert_eq!(env.count("payments").await, 0);

    let mut good = order_form(
        "good",
        vec![
            ("paid_meal_voucher", "10"),
            ("paid_cash", "9"),
            ("cash_given", "20"),
        ],
    );
    good.push((margherita.as_str(), "2"));
    let r = desk.submit("/equipe/test/comptoir", &good).await;
    assert_eq!(location(&r), "/equipe/test/comptoir");
    let page = desk.page("/equipe/test/comptoir").await;
    assert!(
        page.contains("Payée (Espèces 9,00\u{a0}€, Titre-restaurant 10,00\u{a0}€) : rendez 11,00\u{a0}€ au client."),
        "{page}"
    );
    let id: u64 = sqlx::query_scalar("SELECT id FROM orders")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let paid: Vec<(String, u32, u64)> = sqlx::query_as(
        "SELECT CAST(method AS CHAR), captured_cents, collected_by FROM payments WHERE order_id = ? AND status = 'collected' ORDER BY id",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let counter_id: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(COUNTER)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(
        paid,
        vec![
            ("cash".to_owned(), 900, counter_id),
            ("meal_voucher".to_owned(), 1000, counter_id)
        ]
    );
    // Ready: « Payée au comptoir », handed over without asking how it was paid.
    confirm(&env, id).await;
    for to in [OrderStatus::Preparing, OrderStatus::Ready] {
        ocpizza_tests::flow::move_as_manager(&env, &shop, id, to).await;
    }
    let board = desk.page("/equipe/test/comptoir/tableau").await;
    let (pickups, _) = board.split_once("id=\"running\"").unwrap_or((&board, ""));
    assert!(
        pickups.contains("Payée au comptoir") && !pickups.contains("À encaisser"),
        "{board}"
    );
    let r = desk
        .submit(
            &format!("/equipe/test/commandes/{id}/statut"),
            &[("to", "picked_up"), ("back", "comptoir")],
        )
        .await;
    assert_eq!(location(&r), "/equipe/test/comptoir");
    assert_eq!(env.order(id).await.status, OrderStatus::PickedUp);
    assert_eq!(env.count("payments").await, 2, "not collected twice");

    // A paid walk-in cancelled before the kitchen: the money comes back from the till.
    let mut again = order_form("again", vec![("paid_card", "9,50")]);
    let one = format!("qty_{}", shop.margherita);
    again.push((one.as_str(), "1"));
    desk.submit("/equipe/test/comptoir", &again).await;
    let second: u64 = sqlx::query_scalar("SELECT MAX(id) FROM orders")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let r = desk
        .submit(
            &format!("/equipe/test/commandes/{second}/fin"),
            &[("reason", "customer_request")],
        )
        .await;
    let page = desk.page(&location(&r)).await;
    assert!(
        page.contains("Rendez 9,50\u{a0}€ au client en caisse."),
        "{page}"
    );
    let (method, status, cents): (String, String, u32) = sqlx::query_as(
        "SELECT CAST(method AS CHAR), CAST(status AS CHAR), amount_cents FROM refunds WHERE order_id = ?",
    )
    .bind(second)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        (method.as_str(), status.as_str(), cents),
        ("card", "done", 950)
    );
}

//! The manager's end-of-day report against real orders: sums matching what was ordered,
//! handed over, taken and given back, VAT by each product's rate, the CSV download, the report
//! e-mailed once at closing time; and « 86 », thresholds and an ingredient's history.

use super::payments::setup;
use chrono::{Duration, Utc};
use mail::Mailer;
use messages::consumer;
use ocpizza_tests::browser::{Visitor, location};
use ocpizza_tests::flow::move_as_manager;
use ocpizza_tests::peers::Maildev;
use ocpizza_tests::shop::{MANAGER, PASSWORD};
use reqwest::StatusCode;
use vocab::{Cents, EndReason, Fulfilment, OrderStatus, PaymentMethod, PaymentMode, VatRate};
use workers::stock::StockWorker;

/// Confirms an on-site order and hands it over, paid in cash.
async fn sold_in_cash(
    env: &ocpizza_tests::TestEnv,
    shop: &ocpizza_tests::shop::Shop,
    quantity: u32,
) -> order::Order {
    let o = env
        .place(
            shop,
            &[(shop.margherita, quantity)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let placed = env.outbox_for("order.placed", o.id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    for to in [
        OrderStatus::Preparing,
        OrderStatus::Ready,
        OrderStatus::PickedUp,
    ] {
        move_as_manager(env, shop, o.id, to).await;
    }
    let o = env.order(o.id).await;
    let mut conn = env.pool.acquire().await.unwrap();
    payment::counter::record_collected(&mut conn, &o, PaymentMethod::Cash, shop.manager_id)
        .await
        .unwrap();
    o
}

#[tokio::test]
async fn the_z_report_adds_up_the_day_and_reaches_the_manager_once_at_closing() {
    let (env, shop) = setup().await;
    // The Regina is sold at 20 % from now on; each line keeps the rate it was sold at.
    sqlx::query("UPDATE pizzas SET vat_rate = '20' WHERE id = ?")
        .bind(shop.regina)
        .execute(&env.pool)
        .await
        .unwrap();
    // Online: Regina 12,00 (20 %) + Margherita 9,50 (10 %), captured, picked up.
    let online = super::payments::captured(&env, &shop).await;
    assert_eq!(online.lines[0].vat_rate, VatRate::Standard);
    for to in [OrderStatus::Ready, OrderStatus::PickedUp] {
        move_as_manager(&env, &shop, online.id, to).await;
    }
    // On site: two Margherita paid in cash, one of them given back.
    let cash = sold_in_cash(&env, &shop, 2).await;
    let mut tx = env.pool.begin().await.unwrap();
    payment::refund::ask(&mut tx, &cash, Cents(950), "froide", shop.manager_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Cancelled: counted as an order, sells nothing.
    let cancelled = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let mut tx = env.pool.begin().await.unwrap();
    order::transition::end_by_staff(&mut tx, cancelled.id, EndReason::Prank, "", shop.manager_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let mut conn = env.pool.acquire().await.unwrap();
    let z = report::z::for_day(&mut conn, shop.pizzeria_id, today)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(z.orders_count, 3);
    assert_eq!(z.handed_over, 2);
    let sales: Vec<(VatRate, u32, u32)> = z
        .sales
        .iter()
        .map(|l| (l.rate, l.gross.0, l.vat.0))
        .collect();
    assert_eq!(
        sales,
        vec![
            (VatRate::Intermediate, 950 + 1900, 259),
            (VatRate::Standard, 1200, 200)
        ]
    );
    assert_eq!(z.sales_gross, Cents(4050));
    let takings: Vec<(PaymentMethod, u32, i64)> = z
        .takings
        .iter()
        .map(|t| (t.method, t.amount.0, t.count))
        .collect();
    assert_eq!(
        takings,
        vec![
            (PaymentMethod::Stripe, 2150, 1),
            (PaymentMethod::Cash, 1900, 1)
        ]
    );
    assert_eq!(z.refunds_total, Cents(950));
    assert_eq!(z.net_takings(), 4050 - 950);
    // The same figures as the orders themselves say.
    let handed: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(l.unit_price_cents * l.quantity) AS SIGNED) FROM order_lines l JOIN orders o ON o.id = l.order_id
         WHERE o.status IN ('delivered', 'picked_up')",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(i64::from(z.sales_gross.0), handed);

    // On screen and as CSV, for the manager only.
    let app = env.spawn_web().await;
    let manager = Visitor::new(&app);
    assert_eq!(
        manager.log_in(MANAGER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let page = manager.page("/equipe/test/rapport").await;
    assert!(
        page.contains("20 %") && page.contains("40,50\u{a0}€"),
        "{page}"
    );
    let csv = manager
        .get(&format!(
            "/equipe/test/rapport.csv?jour={}",
            today.format("%Y-%m-%d")
        ))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"),
        "{:?}",
        csv.headers()
    );
    let body = csv.text().await.unwrap();
    assert!(body.contains("ventes;TVA 20 %;;12,00;2,00;10,00"), "{body}");
    assert!(body.contains("remboursements;Espèces;1;9,50;;"), "{body}");
    let bad = manager.get("/equipe/test/rapport?jour=hier").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("Date invalide"));

    // Closing time: one e-mail to the manager, however many rounds run.
    let maildev = Maildev::start().await;
    let mailer = Mailer::new(&maildev.smtp_url(), "OC Pizza <commandes@ocpizza.example>").unwrap();
    sqlx::query("UPDATE pizzerias SET opening_hours = '11:30-14:30 18:00-23:00' WHERE id = ?")
        .bind(shop.pizzeria_id)
        .execute(&env.pool)
        .await
        .unwrap();
    let mut conn = env.pool.acquire().await.unwrap();
    let closing = catalog::Pizzeria::find(&mut conn, shop.pizzeria_id)
        .await
        .unwrap()
        .unwrap()
        .closing_of(today)
        .unwrap();
    drop(conn);
    let before = workers::closing::send_due(
        &env.pool,
        &mailer,
        "https://x.example",
        closing - Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(before, 0, "not before closing");
    for _ in 0..2 {
        workers::closing::send_due(
            &env.pool,
            &mailer,
            "https://x.example",
            closing + Duration::minutes(1),
        )
        .await
        .unwrap();
    }
    let mails = maildev.emails().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let subject = mails[0]["subject"].as_str().unwrap();
    assert!(
        subject.starts_with("Rapport de fin de journée du"),
        "{subject}"
    );
    assert_eq!(mails[0]["to"][0]["address"], MANAGER);
    let text = mails[0]["text"].as_str().unwrap();
    assert!(text.contains("TVA 20 % : 12,00\u{a0}€ TTC"), "{text}");
    assert!(text.contains("Solde : 31,00\u{a0}€."), "{text}");
}

#[tokio::test]
async fn a_pizza_86_is_off_the_menu_at_once_and_back_without_touching_the_stock() {
    let (env, shop) = setup().await;
    let app = env.spawn_web().await;
    let manager = Visitor::new(&app);
    manager.log_in(MANAGER, PASSWORD).await;
    let mozza = env.stock_of(&shop, "mozza").await;
    let path = format!("/equipe/test/carte/{}", shop.regina);
    let r = manager
        .submit(&path, &[("sold_out", "1"), ("back", "gestion")])
        .await;
    assert_eq!(location(&r), "/equipe/test/gestion");
    let page = manager.page("/equipe/test/gestion").await;
    assert!(
        page.replace("&#x27;", "'")
            .contains("« Regina » n'est plus proposée pour le moment."),
        "{page}"
    );
    let menu = Visitor::new(&app).page("/pizzerias/test").await;
    let regina = menu
        .split(&format!("data-pizza=\"{}\"", shop.regina))
        .nth(1)
        .unwrap();
    assert!(
        regina[..600.min(regina.len())].contains("Indisponible pour le moment"),
        "{regina}"
    );
    // An order for it is refused in French; the stock is untouched.
    let mut tx = env.pool.begin().await.unwrap();
    let new = order::NewOrder {
        pizzeria_id: shop.pizzeria_id,
        customer_id: shop.customer_id,
        channel: vocab::Channel::Web,
        fulfilment: Fulfilment::Pickup,
        payment_mode: PaymentMode::OnSite,
        on_site_plan: None,
        customer_name: "Claire Cliente".into(),
        customer_phone: "+33 6 00 00 00 00".into(),
        contact_email: None,
        delivery: None,
        desired_at: None,
        notes: String::new(),
        lines: vec![order::NewLine::plain(shop.regina, 1)],
        idempotency_key: "eighty-six".into(),
    };
    let refused = order::place::place(
        &mut tx,
        &new,
        vocab::Actor::Customer(shop.customer_id),
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "« Regina » est épuisée pour le moment : retirez-la de la commande"
    );
    drop(tx);
    assert_eq!(env.stock_of(&shop, "mozza").await, mozza);
    manager
        .submit(&path, &[("sold_out", "0"), ("back", "gestion")])
        .await;
    let mut conn = env.pool.acquire().await.unwrap();
    let menu = catalog::product::menu(&mut conn, shop.pizzeria_id)
        .await
        .unwrap();
    assert!(!menu.iter().any(|m| m.sold_out));
}

#[tokio::test]
async fn the_manager_sets_a_threshold_and_reads_an_ingredients_history() {
    let (env, shop) = setup().await;
    let mozza: u64 = sqlx::query_scalar("SELECT id FROM ingredients WHERE code = 'mozza'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let app = env.spawn_web().await;
    let manager = Visitor::new(&app);
    manager.log_in(MANAGER, PASSWORD).await;
    let at = format!("/equipe/test/stock/{mozza}");
    manager
        .submit(
            &at,
            &[
                ("kind", "correction"),
                ("quantity", "-100"),
                ("note", "inventaire"),
            ],
        )
        .await;
    let o = sold_in_cash(&env, &shop, 1).await;
    for (value, told) in [
        ("-5", "Seuil invalide : entre 0 et"),
        (
            "beaucoup",
            "Seuil invalide : un nombre entier positif ou nul.",
        ),
        ("4000", "Seuil d'alerte enregistré : 4000."),
    ] {
        let r = manager
            .submit(&format!("{at}/seuil"), &[("threshold", value)])
            .await;
        assert_eq!(location(&r), at);
        let page = manager.page(&at).await.replace("&#x27;", "'");
        assert!(page.contains(told), "{value}: {page}");
    }
    let threshold: i64 = sqlx::query_scalar(
        "SELECT low_threshold FROM stock WHERE pizzeria_id = ? AND ingredient_id = ?",
    )
    .bind(shop.pizzeria_id)
    .bind(mozza)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(threshold, 4000);
    let page = manager.page(&at).await;
    let (_, ledger) = page.split_once("id=\"ledger\"").unwrap();
    // Newest first: the order's reservation, then the correction by the manager, then the seed.
    let reserved = ledger
        .find("Réservé pour la commande")
        .expect("the reservation");
    let corrected = ledger.find("Correction").expect("the correction");
    assert!(reserved < corrected, "{ledger}");
    assert!(ledger.contains(&format!("n°{}", o.id)));
    assert!(
        ledger.contains("Gérard Gérant") && ledger.contains("inventaire"),
        "{ledger}"
    );
    assert!(
        ledger.contains(&format!("{}", env.stock_of(&shop, "mozza").await)),
        "the balance after the last move"
    );
    let other = manager.get("/equipe/test/stock/999999").await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

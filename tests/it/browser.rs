//! Journeys in headless Chromium (Debian's package, driven by playwright-core from npm, scripts in
//! `tests/browser`), against the real web server, the relay and the workers through RabbitMQ,
//! and localstripe's card form:
//! - a customer signs up, orders two pizzas, pays online and sees « Confirmée » appear;
//! - a pizzaiolo's kitchen screen keeps a scheduled order in « Plus tard » (starting it early
//!   asks), rings once armed and shows a new web order without a reload, starts it (the payment
//!   is captured) and finishes it, and the customer's page shows it ready;
//! - a refused card sends the customer back to the card form, told why, and a second card goes
//!   through; a refused checkout keeps everything typed and chosen;
//! - a forgotten password is reset from the e-mailed link, once;
//! - the menu's refresh keeps the quantity a customer typed, and a rider's screen the means of
//!   payment they chose;
//! - a large pizza « sans oignons, extra mozzarella » and a drink are chosen on a phone, priced
//!   by the server, and reserved as chosen.

use std::process::Stdio;
use std::time::Duration;

use messages::broker::{Shutdown, ShutdownTrigger};
use messages::consumer::{Consumer, ConsumerConfig, Handler};
use messages::relay::{Relay, RelayConfig};
use ocpizza_tests::shop::PASSWORD;
use ocpizza_tests::{SERVICES_HINT, TestEnv, project_root, wait_until};
use tokio::task::JoinHandle;
use vocab::OrderStatus;
use workers::payments::PaymentsWorker;
use workers::stock::StockWorker;

/// The relay and the given workers on this test's vhost.
struct Running {
    trigger: ShutdownTrigger,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    fn start(env: &TestEnv) -> (Running, Shutdown) {
        let (trigger, shutdown) = Shutdown::new();
        let relay = Relay::new(
            env.pool.clone(),
            RelayConfig::new(&env.amqp_url(), workers::consumers()),
        );
        let tasks = vec![tokio::spawn(relay.run(shutdown.clone()))];
        (Running { trigger, tasks }, shutdown)
    }

    fn with<H: Handler>(&mut self, env: &TestEnv, shutdown: &Shutdown, name: &str, handler: H) {
        let spec = workers::consumers()
            .into_iter()
            .find(|w| w.name == name)
            .expect("a declared worker");
        let consumer = Consumer::new(
            spec,
            ConsumerConfig::new(&env.amqp_url()),
            env.pool.clone(),
            handler,
        );
        self.tasks
            .push(tokio::spawn(consumer.run(shutdown.clone())));
    }

    async fn stop(self) {
        self.trigger.trigger();
        for t in self.tasks {
            t.await.unwrap();
        }
    }
}

/// Runs a scenario script; its standard output, or a failure with everything it printed.
async fn scenario(script: &str, args: &[String]) -> String {
    let dir = project_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed in tests/browser; {SERVICES_HINT}"
    );
    let run = tokio::process::Command::new("node")
        .current_dir(&dir)
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("node cannot run ({e}); {SERVICES_HINT}"));
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{script} failed:\n{out}\n{err}");
    out
}

async fn order_of(env: &TestEnv, email: &str) -> (u64, u32, String) {
    sqlx::query_as(
        "SELECT o.id, o.total_cents, CAST(o.status AS CHAR) FROM orders o
         JOIN users u ON u.id = o.customer_id WHERE u.email = ?",
    )
    .bind(email)
    .fetch_one(&env.pool)
    .await
    .expect("exactly one order by the browser's customer")
}

async fn payment_of(env: &TestEnv, order_id: u64) -> (String, u32, u32) {
    sqlx::query_as(
        "SELECT CAST(status AS CHAR), amount_cents, captured_cents FROM payments WHERE order_id = ?",
    )
    .bind(order_id)
    .fetch_one(&env.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_customer_orders_two_pizzas_pays_online_and_sees_the_order_confirmed() {
    const EMAIL: &str = "camille@test.example";
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let (mut running, shutdown) = Running::start(&env);
    running.with(&env, &shutdown, workers::stock::CONSUMER, StockWorker);

    let base = format!("http://{}", app.address);
    let out = scenario("order_online.mjs", &[base, "test".into(), EMAIL.into()]).await;

    // What the browser saw is what the database holds.
    let (id, total, status) = order_of(&env, EMAIL).await;
    assert!(out.contains(&format!("\"order\":{id}")), "{out}");
    assert_eq!(total, 950 + 1200);
    assert_eq!(status, "confirmed");
    assert_eq!(env.order(id).await.pizzeria_id, shop.pizzeria_id);
    assert_eq!(payment_of(&env, id).await, ("authorised".into(), 2150, 0));
    running.stop().await;
}

#[tokio::test]
async fn a_web_order_reaches_the_kitchen_screen_live_and_the_customer_sees_it_ready() {
    const EMAIL: &str = "dominique@test.example";
    const COOK: &str = "pizzaiolo@test.example";
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    catalog::feed::feed(
        &env.pool,
        format!("staff,{COOK},Paul Pizzaïolo,pizzaiolo,test,{PASSWORD}\n").as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    let app = env.spawn_web().await;
    let (mut running, shutdown) = Running::start(&env);
    running.with(&env, &shutdown, workers::stock::CONSUMER, StockWorker);
    let gateway = env.gateway();
    running.with(
        &env,
        &shutdown,
        workers::payments::CONSUMER,
        PaymentsWorker { gateway },
    );

    // An order for tonight, placed earlier: it waits in « Plus tard ».
    let later = env
        .place_pickup(&shop, shop.margherita, vocab::PaymentMode::OnSite)
        .await;
    sqlx::query("UPDATE orders SET desired_at = NOW(6) + INTERVAL 3 HOUR, promised_at = desired_at, kitchen_at = desired_at - INTERVAL 15 MINUTE WHERE id = ?")
        .bind(later.id)
        .execute(&env.pool)
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(30),
        "the scheduled order confirmed",
        || async { env.order(later.id).await.status == OrderStatus::Confirmed },
    )
    .await;

    let base = format!("http://{}", app.address);
    let out = scenario(
        "kitchen_flow.mjs",
        &[
            base,
            "test".into(),
            EMAIL.into(),
            COOK.into(),
            PASSWORD.into(),
            later.id.to_string(),
        ],
    )
    .await;
    assert_eq!(
        env.order(later.id).await.status,
        OrderStatus::Confirmed,
        "declining the question started nothing"
    );
    let (id, _, status) = order_of(&env, EMAIL).await;
    assert!(out.contains(&format!("\"order\":{id}")), "{out}");
    assert_eq!(status, "ready");
    assert_eq!(env.order(id).await.status, OrderStatus::Ready);
    // Starting the order captured the authorised amount, once.
    wait_until(Duration::from_secs(30), "the payment captured", || async {
        payment_of(&env, id).await.0 == "captured"
    })
    .await;
    assert_eq!(payment_of(&env, id).await, ("captured".into(), 2150, 2150));
    running.stop().await;
}

#[tokio::test]
async fn the_menus_refresh_keeps_the_quantity_a_customer_typed() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let out = scenario(
        "menu_keeps_input.mjs",
        &[
            format!("http://{}", app.address),
            "test".into(),
            shop.regina.to_string(),
        ],
    )
    .await;
    assert!(out.contains("kept 3 after the refresh"), "{out}");
}

#[tokio::test]
async fn a_large_pizza_without_onions_with_extra_mozzarella_and_a_drink_are_ordered_on_a_phone() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    env.seed_menu().await;
    sqlx::query("UPDATE stock SET quantity = 5000")
        .execute(&env.pool)
        .await
        .unwrap();
    let app = env.spawn_web().await;
    let (mut running, shutdown) = Running::start(&env);
    running.with(&env, &shutdown, workers::stock::CONSUMER, StockWorker);
    let out = scenario(
        "order_composed.mjs",
        &[
            format!("http://{}", app.address),
            "test".into(),
            ocpizza_tests::shop::CUSTOMER.into(),
            PASSWORD.into(),
        ],
    )
    .await;
    let id: u64 = sqlx::query_scalar("SELECT MAX(id) FROM orders")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(out.contains(&format!("\"order\":{id}")), "{out}");
    let o = env.order(id).await;
    // 16,00 € for the 40 cm, 2,20 € its extra, 2,50 € the can.
    assert_eq!(o.total.0, 1600 + 220 + 250);
    assert_eq!(
        o.lines[0].detail_fr(),
        "40 cm · Tomate · + Mozzarella · sans Oignons"
    );
    assert_eq!(o.status, OrderStatus::Confirmed);
    for (code, used) in [("mozza", 150 + 75), ("oignons", 0), ("coca", 1)] {
        assert_eq!(env.stock_of(&shop, code).await, 5000 - used, "{code}");
    }
    running.stop().await;
}

#[tokio::test]
async fn a_riders_live_screen_keeps_the_means_of_payment_chosen() {
    const RIDER: &str = "livreur@test.example";
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    catalog::feed::feed(
        &env.pool,
        format!("staff,{RIDER},Louis Livreur,delivery,test,{PASSWORD}\n").as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    let rider: u64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(RIDER)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let o = env
            .place(
                &shop,
                &[(shop.margherita, 1)],
                vocab::PaymentMode::OnSite,
                vocab::Fulfilment::Delivery,
            )
            .await;
        let placed = env.outbox_for("order.placed", o.id).await;
        messages::consumer::process(&env.pool, "stock", &StockWorker, &placed)
            .await
            .unwrap();
        for to in [OrderStatus::Preparing, OrderStatus::Ready] {
            ocpizza_tests::flow::move_as_manager(&env, &shop, o.id, to).await;
        }
        ids.push(o.id);
    }
    let mut tx = env.pool.begin().await.unwrap();
    order::delivery::take(&mut tx, ids[0], rider).await.unwrap();
    tx.commit().await.unwrap();
    ocpizza_tests::flow::move_as_manager(&env, &shop, ids[0], OrderStatus::OutForDelivery).await;
    let app = env.spawn_web().await;
    let out = scenario(
        "delivery_keeps_choice.mjs",
        &[
            format!("http://{}", app.address),
            "test".into(),
            RIDER.into(),
            PASSWORD.into(),
            ids[0].to_string(),
            ids[1].to_string(),
        ],
    )
    .await;
    assert!(out.contains("kept cheque after the refresh"), "{out}");
    assert_eq!(env.order(ids[0]).await.status, OrderStatus::Delivered);
    let method: String = sqlx::query_scalar(
        "SELECT CAST(method AS CHAR) FROM payments WHERE order_id = ? AND status = 'collected'",
    )
    .bind(ids[0])
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(method, "cheque");
    assert_eq!(env.order(ids[1]).await.driver_id, Some(rider));
}

#[tokio::test]
async fn a_refused_card_sends_the_customer_back_to_try_another_and_the_order_goes_through() {
    const EMAIL: &str = "refusee@test.example";
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let out = scenario(
        "pay_retry.mjs",
        &[
            format!("http://{}", app.address),
            "test".into(),
            EMAIL.into(),
        ],
    )
    .await;
    let (id, _, status) = order_of(&env, EMAIL).await;
    assert!(out.contains(&format!("\"order\":{id}")), "{out}");
    assert_eq!(status, "placed");
    let payments: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT CAST(status AS CHAR), failure_reason FROM payments WHERE order_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        payments,
        vec![
            (
                "failed".into(),
                Some("votre banque a refusé le paiement".into())
            ),
            ("authorised".into(), None)
        ]
    );
}

#[tokio::test]
async fn a_refused_checkout_keeps_everything_the_customer_typed_and_chose() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let out = scenario(
        "checkout_keeps_input.mjs",
        &[
            format!("http://{}", app.address),
            "test".into(),
            ocpizza_tests::shop::CUSTOMER.into(),
            PASSWORD.into(),
        ],
    )
    .await;
    let order: u64 = sqlx::query_scalar("SELECT id FROM orders WHERE customer_id = ?")
        .bind(shop.customer_id)
        .fetch_one(&env.pool)
        .await
        .expect("one order, placed once corrected");
    assert!(out.contains(&format!("\"order\":{order}")), "{out}");
    let o = env.order(order).await;
    assert_eq!(
        o.on_site_plan.and_then(|p| p.change_for),
        Some(vocab::Cents(5000))
    );
    assert_eq!(o.notes, "Sonner deux fois");
    assert_eq!(o.delivery.unwrap().complement, "Bâtiment C");
    assert!(o.desired_at.is_some(), "the slot chosen");
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_emailed_link_in_a_browser() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let base = format!("http://{}", app.address);
    let maildev = ocpizza_tests::peers::Maildev::start().await;
    let (mut running, shutdown) = Running::start(&env);
    running.with(
        &env,
        &shutdown,
        workers::notifications::CONSUMER,
        workers::notifications::NotificationsWorker {
            mailer: mail::Mailer::new(&maildev.smtp_url(), "OC Pizza <commandes@ocpizza.example>")
                .unwrap(),
            links: ocpizza_tests::mail_links(&base),
        },
    );
    let email = ocpizza_tests::shop::CUSTOMER;
    let out = scenario(
        "password_reset.mjs",
        &["ask".into(), base.clone(), email.into()],
    )
    .await;
    assert!(out.contains("\"asked\":true"), "{out}");
    wait_until(Duration::from_secs(30), "the reset e-mail", || async {
        !maildev.emails().await.is_empty()
    })
    .await;
    let mails = maildev.emails().await;
    let text = mails[0]["text"].as_str().unwrap().to_owned();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{base}/mot-de-passe/")))
        .unwrap_or_else(|| panic!("a link in {text}"))
        .to_owned();
    let new_password = "une-toute-nouvelle-phrase";
    let out = scenario(
        "password_reset.mjs",
        &[
            "use".into(),
            base.clone(),
            link,
            email.into(),
            new_password.into(),
        ],
    )
    .await;
    assert!(out.contains("\"reset\":true"), "{out}");
    // The old password no longer opens the account.
    let v = ocpizza_tests::browser::Visitor::new(&app);
    let r = v.log_in(email, PASSWORD).await;
    assert_ne!(
        r.status(),
        reqwest::StatusCode::SEE_OTHER,
        "the old password is refused"
    );
    assert_eq!(maildev.emails().await.len(), 1, "one e-mail");
    running.stop().await;
}

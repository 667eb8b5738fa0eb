//! One customer journey in headless Chromium (Debian's package, driven by playwright-core from
//! npm): sign up, two pizzas, online payment with a test card in the Stripe card form served by
//! localstripe, and the order page updating itself to « Confirmée » once the stock worker has
//! confirmed the order through the broker.

use std::process::Stdio;

use messages::broker::Shutdown;
use messages::consumer::{Consumer, ConsumerConfig};
use messages::relay::{Relay, RelayConfig};
use messages::{OrderStatus, topology};
use ocpizza_tests::{SERVICES_HINT, TestEnv, project_root};
use workers::stock::{CONSUMER, StockWorker};

const EMAIL: &str = "camille@test.example";

#[tokio::test]
async fn a_customer_orders_two_pizzas_pays_online_and_sees_the_order_confirmed() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let (trigger, shutdown) = Shutdown::new();
    let spec = topology::workers()
        .into_iter()
        .find(|w| w.name == CONSUMER)
        .unwrap();
    let tasks = [
        tokio::spawn(
            Relay::new(env.pool.clone(), RelayConfig::new(&env.amqp_url())).run(shutdown.clone()),
        ),
        tokio::spawn(
            Consumer::new(
                spec,
                ConsumerConfig::new(&env.amqp_url()),
                env.pool.clone(),
                StockWorker,
            )
            .run(shutdown),
        ),
    ];

    let dir = project_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed in tests/browser; {SERVICES_HINT}"
    );
    let run = tokio::process::Command::new("node")
        .current_dir(&dir)
        .arg("order_online.mjs")
        .arg(format!("http://{}", app.address))
        .arg("test")
        .arg(EMAIL)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("node cannot run ({e}); {SERVICES_HINT}"));
    let out = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "browser scenario failed:\n{out}\n{err}"
    );

    // What the browser saw is what the database holds.
    let (id, total, status): (u64, u32, String) = sqlx::query_as(
        "SELECT o.id, o.total_cents, o.status FROM orders o JOIN users u ON u.id = o.customer_id
         WHERE u.email = ?",
    )
    .bind(EMAIL)
    .fetch_one(&env.pool)
    .await
    .expect("exactly one order by the browser's customer");
    assert!(out.contains(&format!("\"order\":{id}")), "{out}");
    assert_eq!(total, 950 + 1200);
    assert_eq!(status, "confirmed");
    assert_eq!(env.order(id).await.status, OrderStatus::Confirmed);
    assert_eq!(env.order(id).await.pizzeria_id, shop.pizzeria_id);
    let (payment, amount): (String, u32) =
        sqlx::query_as("SELECT status, amount_cents FROM payments WHERE order_id = ?")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!((payment.as_str(), amount), ("authorised", 2150));

    trigger.trigger();
    for t in tasks {
        t.await.unwrap();
    }
}

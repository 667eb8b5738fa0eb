//! The stock worker against the real database: reservation, shortage, the race for the last
//! portion, give-back on cancel, low-stock alerts, redelivery, and the worker running for real
//! behind the broker.

use std::time::Duration;

use messages::Event;
use messages::broker::Shutdown;
use messages::consumer::{self, Consumer, ConsumerConfig, Outcome};
use messages::relay::{Relay, RelayConfig};
use ocpizza_tests::shop::Shop;
use ocpizza_tests::{TestEnv, wait_until};
use order::transition;
use vocab::{Actor, Fulfilment, OrderStatus, PaymentMode};
use workers::stock::{CONSUMER, StockWorker};

async fn env_and_shop() -> (TestEnv, Shop) {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    (env, shop)
}

/// The stock worker's consumer on this environment's database and vhost.
fn stock_consumer(env: &TestEnv) -> Consumer<StockWorker> {
    let spec = workers::consumers()
        .into_iter()
        .find(|w| w.name == CONSUMER)
        .unwrap();
    Consumer::new(
        spec,
        ConsumerConfig::new(&env.amqp_url()),
        env.pool.clone(),
        StockWorker,
    )
}

async fn handle_placed(env: &TestEnv, order_id: u64) -> Outcome {
    let placed = env.outbox_for("order.placed", order_id).await;
    consumer::process(&env.pool, CONSUMER, &StockWorker, &placed)
        .await
        .expect("the stock worker handles it")
}

async fn ledger_rows(env: &TestEnv, order_id: u64, reason: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM stock_ledger WHERE order_id = ? AND reason = ?")
        .bind(order_id)
        .bind(reason)
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_placed_order_reserves_its_recipes_once_and_is_confirmed() {
    let (env, shop) = env_and_shop().await;
    let order = env
        .place(
            &shop,
            &[(shop.margherita, 2), (shop.regina, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    assert_eq!(order.status, OrderStatus::Placed);

    assert_eq!(handle_placed(&env, order.id).await, Outcome::Applied);
    assert_eq!(env.order(order.id).await.status, OrderStatus::Confirmed);
    assert_eq!(env.stock_of(&shop, "pate").await, 20 - 3);
    assert_eq!(env.stock_of(&shop, "tomate").await, 5000 - 3 * 80);
    assert_eq!(env.stock_of(&shop, "mozza").await, 1000 - 3 * 100);
    assert_eq!(env.stock_of(&shop, "jambon").await, 0);
    assert_eq!(
        ledger_rows(&env, order.id, "reservation").await,
        4,
        "one row per ingredient"
    );
    let reserved = env.outbox_for("stock.reserved", order.id).await;
    assert_eq!(
        reserved.causation_id,
        Some(env.outbox_for("order.placed", order.id).await.message_id)
    );

    // The same message again (a redelivery): acknowledged, nothing reserved twice.
    assert_eq!(handle_placed(&env, order.id).await, Outcome::Duplicate);
    assert_eq!(env.stock_of(&shop, "pate").await, 17);
    assert_eq!(ledger_rows(&env, order.id, "reservation").await, 4);
    assert_eq!(env.outbox("stock.reserved").await.len(), 1);
}

#[tokio::test]
async fn an_order_that_does_not_fit_is_rejected_with_what_is_missing_and_reserves_nothing() {
    let (env, shop) = env_and_shop().await;
    // Fits at checkout (60 g of ham for one Regina)…
    let first = env
        .place(
            &shop,
            &[(shop.regina, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let second = env
        .place(
            &shop,
            &[(shop.regina, 1), (shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    // …but only one of them can have it.
    handle_placed(&env, first.id).await;
    handle_placed(&env, second.id).await;

    let rejected = env.order(second.id).await;
    assert_eq!(rejected.status, OrderStatus::Rejected);
    assert!(
        rejected
            .rejection_reason
            .as_deref()
            .unwrap()
            .contains("Jambon blanc")
    );
    assert_eq!(ledger_rows(&env, second.id, "reservation").await, 0);
    assert_eq!(
        env.stock_of(&shop, "pate").await,
        19,
        "the margherita's dough was not taken"
    );
    let shortage = env.outbox_for("stock.shortage", second.id).await;
    let Event::StockShortage(s) = shortage.event else {
        panic!("a shortage message")
    };
    assert_eq!(s.missing.len(), 1);
    assert_eq!((s.missing[0].needed, s.missing[0].available), (60, 0));
    assert!(
        env.outbox("stock.reserved")
            .await
            .iter()
            .all(|m| m.correlation_id != Some(second.id))
    );
    // The rejection is announced for the payment and e-mail workers.
    let changed = env.outbox_for("order.status_changed", second.id).await;
    assert!(
        matches!(changed.event, Event::OrderStatusChanged(ref c) if c.to == OrderStatus::Rejected)
    );
}

#[tokio::test]
async fn orders_racing_for_the_last_portion_confirm_exactly_one() {
    let (env, shop) = env_and_shop().await;
    let mut orders = Vec::new();
    for _ in 0..6 {
        orders.push(
            env.place(
                &shop,
                &[(shop.regina, 1)],
                PaymentMode::OnSite,
                Fulfilment::Pickup,
            )
            .await,
        );
    }
    let mut racers = tokio::task::JoinSet::new();
    for order in &orders {
        let message = env.outbox_for("order.placed", order.id).await;
        let pool = env.pool.clone();
        racers
            .spawn(async move { consumer::process(&pool, CONSUMER, &StockWorker, &message).await });
    }
    while let Some(done) = racers.join_next().await {
        done.unwrap()
            .expect("no deadlock or error under contention");
    }
    let mut confirmed = 0;
    for order in &orders {
        match env.order(order.id).await.status {
            OrderStatus::Confirmed => confirmed += 1,
            OrderStatus::Rejected => {}
            other => panic!("order left {other:?}"),
        }
    }
    assert_eq!(confirmed, 1);
    assert_eq!(env.stock_of(&shop, "jambon").await, 0);
    assert_eq!(env.stock_of(&shop, "pate").await, 19);
}

#[tokio::test]
async fn a_cancelled_order_gives_its_stock_back_once() {
    let (env, shop) = env_and_shop().await;
    let order = env
        .place(
            &shop,
            &[(shop.regina, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    handle_placed(&env, order.id).await;
    assert_eq!(env.stock_of(&shop, "jambon").await, 0);

    let mut tx = env.pool.begin().await.unwrap();
    transition::move_to(
        &mut tx,
        order.id,
        OrderStatus::Cancelled,
        Actor::Customer(shop.customer_id),
        "",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let cancelled = env.outbox_for("order.cancelled", order.id).await;
    assert_eq!(
        consumer::process(&env.pool, CONSUMER, &StockWorker, &cancelled)
            .await
            .unwrap(),
        Outcome::Applied
    );
    assert_eq!(env.stock_of(&shop, "jambon").await, 60);
    assert_eq!(env.stock_of(&shop, "pate").await, 20);

    // A second, different message asking the same (a replayed dead letter re-published with a new
    // id, say) finds nothing held any more.
    let mut again = cancelled.clone();
    again.message_id = uuid::Uuid::now_v7();
    consumer::process(&env.pool, CONSUMER, &StockWorker, &again)
        .await
        .unwrap();
    assert_eq!(env.stock_of(&shop, "jambon").await, 60);
    assert_eq!(ledger_rows(&env, order.id, "release").await, 4);
}

#[tokio::test]
async fn crossing_the_low_threshold_alerts_once() {
    let (env, shop) = env_and_shop().await;
    // Mozzarella: 1000 g, threshold 300. Seven pizzas take it to 300: crossed.
    let first = env
        .place(
            &shop,
            &[(shop.margherita, 7)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    handle_placed(&env, first.id).await;
    let lows = env.outbox("stock.low").await;
    assert_eq!(lows.len(), 1);
    let Event::StockLow(low) = &lows[0].event else {
        panic!()
    };
    assert_eq!(
        (low.name.as_str(), low.quantity, low.low_threshold),
        ("Mozzarella", 300, 300)
    );

    // Further down: no second alert for the same crossing.
    let second = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    handle_placed(&env, second.id).await;
    assert_eq!(env.outbox("stock.low").await.len(), 1);
}

#[tokio::test]
async fn an_order_cancelled_before_the_worker_ran_reserves_nothing() {
    let (env, shop) = env_and_shop().await;
    let order = env
        .place(
            &shop,
            &[(shop.regina, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let mut tx = env.pool.begin().await.unwrap();
    transition::move_to(
        &mut tx,
        order.id,
        OrderStatus::Cancelled,
        Actor::Customer(shop.customer_id),
        "",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    handle_placed(&env, order.id).await;
    assert_eq!(env.order(order.id).await.status, OrderStatus::Cancelled);
    assert_eq!(env.stock_of(&shop, "jambon").await, 60);
}

#[tokio::test]
async fn the_stock_worker_confirms_orders_through_the_broker() {
    let (env, shop) = env_and_shop().await;
    let (trigger, shutdown) = Shutdown::new();
    let relay = Relay::new(
        env.pool.clone(),
        RelayConfig::new(&env.amqp_url(), workers::consumers()),
    );
    let worker = stock_consumer(&env);
    let tasks = [
        tokio::spawn(relay.run(shutdown.clone())),
        tokio::spawn(worker.run(shutdown)),
    ];

    let order = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Delivery,
        )
        .await;
    wait_until(
        Duration::from_secs(30),
        "the order is confirmed",
        || async { env.order(order.id).await.status == OrderStatus::Confirmed },
    )
    .await;
    trigger.trigger();
    for t in tasks {
        t.await.unwrap();
    }
}

/// The relay waits to be woken instead of polling: with its own look at the outbox put off for
/// an hour, an order placed through the web server is still published at once (the web server
/// wakes it after the commit), and so is what the stock worker announces (the worker wakes it).
#[tokio::test]
async fn commits_wake_the_relay_which_does_not_poll() {
    let (env, shop) = env_and_shop().await;
    let published = |id: u64, routing_key: &'static str| {
        let env = &env;
        async move {
            let rows: Vec<Option<chrono::DateTime<chrono::Utc>>> = sqlx::query_scalar(
                "SELECT published_at FROM outbox WHERE routing_key = ?
                 AND JSON_VALUE(payload, '$.correlation_id') = ?",
            )
            .bind(routing_key)
            .bind(id)
            .fetch_all(&env.pool)
            .await
            .unwrap();
            rows.len() == 1 && rows[0].is_some()
        }
    };
    // Already waiting when the relay starts: its first round takes it, and by then it listens.
    let early = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let (trigger, shutdown) = Shutdown::new();
    let mut config = RelayConfig::new(&env.amqp_url(), workers::consumers());
    config.sweep_every = Duration::from_secs(3600);
    let relay = Relay::new(env.pool.clone(), config);
    let tasks = vec![tokio::spawn(relay.run(shutdown.clone()))];
    wait_until(Duration::from_secs(30), "the first order published", || {
        published(early.id, "order.placed")
    })
    .await;

    let app = env.spawn_web().await;
    let customer = ocpizza_tests::flow::api_customer(&app.url("")).await;
    let id = ocpizza_tests::flow::place_via_api(&customer, &shop, 1).await;
    wait_until(
        Duration::from_secs(30),
        "the order published on its commit",
        || published(id, "order.placed"),
    )
    .await;

    let worker = stock_consumer(&env);
    let mut tasks = tasks;
    tasks.push(tokio::spawn(worker.run(shutdown)));
    wait_until(
        Duration::from_secs(30),
        "the reservation published on its commit",
        || published(id, "stock.reserved"),
    )
    .await;
    trigger.trigger();
    for t in tasks {
        t.await.unwrap();
    }
}

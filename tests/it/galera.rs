//! The programs on a three-node MariaDB Galera cluster (`ocpizza_tests::galera`), given every
//! node in `DB_HOST`. Under a stream of orders over HTTP the node they all write to is killed
//! with SIGKILL and started again: every order that got a success reply is on every node
//! afterwards, confirmed, printed and mailed once. And stock workers on three different nodes
//! race for the last portion: Galera refuses the conflicting commits, the workers run them again,
//! and exactly one order gets it.

use std::time::Duration;

use messages::broker::Shutdown;
use messages::consumer::{Consumer, ConsumerConfig};
use messages::relay::{Relay, RelayConfig};
use ocpizza_tests::flow::{
    OrderStream, api_customer, confirmed_while_down, every_order_handled_once,
    nothing_dead_lettered, outbox_drained, scalar,
};
use ocpizza_tests::galera::GaleraCluster;
use ocpizza_tests::peers::{Emupos, Maildev, free_port};
use ocpizza_tests::stack::Supervised;
use ocpizza_tests::{TestEnv, project_root, wait_until};
use vocab::{Fulfilment, OrderStatus, PaymentMode};
use workers::stock::{CONSUMER, StockWorker};

async fn on_cluster(cluster: &GaleraCluster) -> TestEnv {
    TestEnv::on_server(&cluster.url(0, ""), &cluster.vars()).await
}

async fn no_negative_stock(env: &TestEnv) {
    assert_eq!(
        scalar(env, "SELECT COUNT(*) FROM stock WHERE quantity < ?", 0).await,
        0,
        "stock never negative"
    );
}

#[tokio::test]
async fn the_database_node_the_programs_write_to_killed_under_a_stream_of_orders_loses_no_answered_order()
 {
    let printers = Emupos::start(2).await;
    let maildev = Maildev::start().await;
    let mut cluster = GaleraCluster::start().await;
    let env = on_cluster(&cluster).await;
    let shop = env.seed_shop(printers.ports[0], printers.ports[1]).await;
    sqlx::query("UPDATE stock SET quantity = 1000000")
        .execute(&env.pool)
        .await
        .unwrap();
    let stack = Supervised::start(&env, &[("SMTP_URL", &maildev.smtp_url())]).await;
    let stream = OrderStream::start(&stack.url(""), &shop, Duration::from_millis(150)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Every program prefers the first node listed: that is where the web server writes.
    assert!(
        cluster.sessions(0, &env.database).await > 0,
        "the programs are on the first node"
    );
    assert_eq!(cluster.sessions(1, &env.database).await, 0);
    cluster.kill(0);
    confirmed_while_down(&env, "the node they wrote to killed").await;
    assert!(
        cluster.sessions(1, &env.database).await > 0,
        "the programs moved to the next node"
    );
    cluster.resume(0).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let told = stream.stop().await;

    assert!(told.accepted.len() >= 30, "a steady stream: {told:?}");
    // The web server runs a placement cut by the dying node again; no customer saw an error.
    assert!(told.refused.is_empty(), "{told:?}");
    // The kitchen worker's commit recording a print may die with the node after the printer
    // confirmed it: that ticket is printed again (at most once, for the one node killed).
    every_order_handled_once(&env, &shop, &told, &env.amqp_url(), &maildev, &printers, 1).await;
    // Each answered order is on each node, the one that was killed included.
    for node in 0..3 {
        let pool = db::connect_url(&cluster.url(node, &env.database), 1)
            .await
            .expect("the node answers");
        let ids: Vec<u64> = sqlx::query_scalar("SELECT id FROM orders")
            .fetch_all(&pool)
            .await
            .expect("orders");
        pool.close().await;
        let missing: Vec<&u64> = told
            .accepted
            .iter()
            .filter(|id| !ids.contains(id))
            .collect();
        assert!(missing.is_empty(), "node {node} lacks orders {missing:?}");
    }
    no_negative_stock(&env).await;
    outbox_drained(&env).await;
    assert!(stack.all_running().await);

    // The nightly backup, given the cluster's nodes with a dead one first, dumps from the next.
    let dir = std::env::temp_dir().join(format!("ocpt-backup-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("empty.env"), "").unwrap();
    let dead_first = format!("127.0.0.1:{},{}", free_port(), cluster.db_host());
    let mut vars = env.vars_with(&[("DB_HOST", &dead_first)]);
    vars.insert("BACKUP_DIR".into(), dir.join("dumps").display().to_string());
    vars.insert(
        "OCPIZZA_ENV_FILE".into(),
        dir.join("empty.env").display().to_string(),
    );
    let made = tokio::process::Command::new("bash")
        .arg(project_root().join("deploy/backup.sh"))
        .arg("backup")
        .envs(&vars)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("backup.sh runs");
    assert!(made.status.success(), "{made:?}");
    let file = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let dump = std::process::Command::new("zcat")
        .arg(&file)
        .output()
        .expect("zcat");
    assert!(
        String::from_utf8_lossy(&dump.stdout).contains("INSERT INTO `orders`"),
        "the dump holds the orders"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Places `n` orders for a Regina while no worker runs, then lets the relay publish them at
/// once to stock workers on three different nodes. The orders' ids.
async fn race_round(
    env: &TestEnv,
    shop: &ocpizza_tests::shop::Shop,
    cluster: &GaleraCluster,
    n: usize,
) -> Vec<u64> {
    let mut orders = Vec::new();
    for _ in 0..n {
        let order = env
            .place(
                shop,
                &[(shop.regina, 1)],
                PaymentMode::OnSite,
                Fulfilment::Pickup,
            )
            .await;
        orders.push(order.id);
    }
    let (trigger, shutdown) = Shutdown::new();
    let relay = Relay::new(
        env.pool.clone(),
        RelayConfig::new(&env.amqp_url(), workers::consumers()),
    );
    let mut tasks = vec![tokio::spawn(relay.run(shutdown.clone()))];
    for first in 0..3 {
        let settings = env.settings_with(&[("DB_HOST", &cluster.db_host_from(first))]);
        let pool = db::connect(&settings.database)
            .await
            .expect("a pool on the node");
        let spec = workers::consumers()
            .into_iter()
            .find(|w| w.name == CONSUMER)
            .expect("the stock consumer");
        let worker = Consumer::new(
            spec,
            ConsumerConfig::new(&env.amqp_url()),
            pool,
            StockWorker,
        );
        tasks.push(tokio::spawn(worker.run(shutdown.clone())));
    }
    wait_until(
        Duration::from_secs(60),
        "every racing order confirmed or rejected",
        || async {
            let mut done = true;
            for &id in &orders {
                done &= env.order(id).await.status != OrderStatus::Placed;
            }
            done
        },
    )
    .await;
    trigger.trigger();
    for t in tasks {
        t.await.expect("a task of the round");
    }
    orders
}

#[tokio::test]
async fn stock_workers_on_three_nodes_racing_for_the_last_portion_confirm_exactly_one() {
    let cluster = GaleraCluster::start().await;
    let env = on_cluster(&cluster).await;
    let shop = env.seed_shop(9, 9).await;
    let before = cluster.conflicts().await;
    // Until Galera has refused at least one commit for a conflict (the race really ran on
    // several nodes at once): each round, the ham for one Regina and eight orders for it.
    let mut rounds = 0;
    loop {
        rounds += 1;
        sqlx::query(
            "UPDATE stock s JOIN ingredients i ON i.id = s.ingredient_id SET s.quantity = 60
             WHERE s.pizzeria_id = ? AND i.code = 'jambon'",
        )
        .bind(shop.pizzeria_id)
        .execute(&env.pool)
        .await
        .unwrap();
        let pate = env.stock_of(&shop, "pate").await;
        let orders = race_round(&env, &shop, &cluster, 8).await;
        let mut confirmed = 0;
        for &id in &orders {
            match env.order(id).await.status {
                OrderStatus::Confirmed => confirmed += 1,
                OrderStatus::Rejected => {}
                other => panic!("order {id} left {other:?}"),
            }
        }
        assert_eq!(confirmed, 1, "round {rounds}: one Regina's worth of ham");
        assert_eq!(env.stock_of(&shop, "jambon").await, 0);
        assert_eq!(
            env.stock_of(&shop, "pate").await,
            pate - 1,
            "one dough taken"
        );
        no_negative_stock(&env).await;
        if cluster.conflicts().await > before {
            break;
        }
        assert!(
            rounds < 6,
            "no certification conflict in {rounds} rounds: the workers never raced across nodes"
        );
    }
    nothing_dead_lettered(&env.amqp_url()).await;
}

#[tokio::test]
async fn orders_placed_at_once_through_web_servers_on_two_nodes_are_all_accepted() {
    let cluster = GaleraCluster::start().await;
    let env = on_cluster(&cluster).await;
    let shop = env.seed_shop(9, 9).await;
    sqlx::query("UPDATE stock SET quantity = 1000000")
        .execute(&env.pool)
        .await
        .unwrap();
    // Two web servers, each preferring another node: every checkout updates its kitchen's
    // line, so checkouts at once on the two nodes conflict at commit.
    let mut apps = Vec::new();
    let mut customers = Vec::new();
    for first in 0..2 {
        let settings = env.settings_with(&[("DB_HOST", &cluster.db_host_from(first))]);
        let pool = db::connect(&settings.database)
            .await
            .expect("a pool on the node");
        let app = env.spawn_web_with(settings, pool).await;
        customers.push(api_customer(&app.url("")).await);
        apps.push(app);
    }
    let before = cluster.conflicts().await;
    let mut placed = 0;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut racers = tokio::task::JoinSet::new();
        for k in 0..16 {
            let customer = &customers[k % 2];
            let request =
                customer
                    .client
                    .post(customer.url("/api/orders"))
                    .json(&serde_json::json!({
                        "pizzeria": "test",
                        "lines": [{"pizza_id": shop.margherita, "quantity": 1}],
                        "fulfilment": "pickup",
                        "payment": "on_site",
                        "idempotency_key": uuid::Uuid::new_v4().simple().to_string(),
                    }));
            racers.spawn(async move {
                let r = request.send().await.expect("the web server answers");
                (r.status(), r.text().await.unwrap_or_default())
            });
        }
        while let Some(answer) = racers.join_next().await {
            let (status, body) = answer.expect("a racing checkout");
            assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
            placed += 1;
        }
        if cluster.conflicts().await > before {
            break;
        }
        assert!(
            rounds < 6,
            "no certification conflict in {rounds} rounds: the checkouts never raced across nodes"
        );
    }
    assert_eq!(
        env.count("orders").await,
        placed,
        "each checkout placed once"
    );
}

#[tokio::test]
async fn a_list_of_servers_that_are_not_galera_nodes_is_refused_with_the_reason() {
    // Two independent servers would each take orders the other never sees.
    let env = TestEnv::new().await;
    let node = &env.settings.database.nodes[0];
    let both = format!("{}:{},localhost:{}", node.host, node.port, node.port);
    let settings = env.settings_with(&[("DB_HOST", &both)]);
    let refused = db::connect(&settings.database)
        .await
        .expect_err("not a cluster");
    let message = refused.to_string();
    assert!(
        message.starts_with("no database node is ready")
            && message.contains("not a ready Galera node"),
        "{message}"
    );
}

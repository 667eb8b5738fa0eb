//! Operations, with the real programs as an operator runs them: the whole stack under
//! supervisord (a worker killed with SIGKILL comes back and no order is lost), nginx in front
//! (orders and live updates through it, TLS and the redirect of the production site), backups
//! (backup → wipe → restore → same data), `/metrics` and Sentry.

use std::process::Stdio;
use std::time::Duration;

use messages::event::{Event, OrderPlaced};
use messages::{Envelope, OrderStatus, PaymentMode, topology};
use ocpizza_tests::browser::Visitor;
use ocpizza_tests::peers::{Emupos, Maildev};
use ocpizza_tests::shop::{CUSTOMER, PASSWORD, Shop};
use ocpizza_tests::stack::Supervised;
use ocpizza_tests::{TestEnv, wait_until, workspace_binary};
use order::Fulfilment;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PATIENCE: Duration = Duration::from_secs(90);

/// A customer logged in through the JSON API at `base`.
async fn api_customer(base: &str) -> Visitor {
    let v = Visitor::at(base);
    let r = v
        .client
        .post(v.url("/api/session"))
        .json(&json!({"email": CUSTOMER, "password": PASSWORD}))
        .send()
        .await
        .expect("login answers");
    assert_eq!(r.status(), StatusCode::OK, "the customer logs in");
    v
}

/// Places a pickup order paid at the counter through the API; its id.
async fn place_via_api(v: &Visitor, shop: &Shop, quantity: u32) -> u64 {
    let r = v
        .client
        .post(v.url("/api/orders"))
        .json(&json!({
            "pizzeria": "test",
            "lines": [{"pizza_id": shop.margherita, "quantity": quantity}],
            "fulfilment": "pickup",
            "payment": "on_site",
            "idempotency_key": uuid::Uuid::new_v4().simple().to_string(),
        }))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(r.status(), StatusCode::CREATED, "order accepted");
    let body: Value = r.json().await.expect("JSON");
    body["order"]["id"].as_u64().expect("an order id")
}

/// The real `ocpizza-worker` programs, as Supervisor runs them, with these settings.
fn start_workers(
    vars: &std::collections::HashMap<String, String>,
    which: &[&str],
) -> Vec<tokio::process::Child> {
    which
        .iter()
        .map(|w| {
            tokio::process::Command::new(workspace_binary("ocpizza-worker"))
                .arg(w)
                .envs(vars)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("worker starts")
        })
        .collect()
}

/// An `order.placed` message about an order that does not exist: the stock worker gives up on
/// it (dead letter, error logged with the order id).
async fn enqueue_orphan(env: &TestEnv, shop: &Shop, order_id: u64) {
    let orphan = Envelope::new(Event::OrderPlaced(OrderPlaced {
        order_id,
        pizzeria_id: shop.pizzeria_id,
        payment_mode: PaymentMode::OnSite,
        total_cents: 900,
    }));
    let mut tx = env.pool.begin().await.unwrap();
    messages::outbox::enqueue(&mut tx, &orphan).await.unwrap();
    tx.commit().await.unwrap();
}

async fn scalar(env: &TestEnv, sql: &str, id: u64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .expect("reconciliation query")
}

/// Every accepted order went all the way: confirmed, stock reserved once, one original ticket
/// printed, one confirmation e-mail sent; and no worker gave up on a message.
async fn reconcile(env: &TestEnv, shop: &Shop, ids: &[u64]) {
    let ingredients = scalar(
        env,
        "SELECT COUNT(*) FROM recipe_lines WHERE pizza_id = ?",
        shop.margherita,
    )
    .await;
    assert!(ingredients > 0);
    for &id in ids {
        wait_until(PATIENCE, &format!("order {id} confirmed, printed and mailed"), || async move {
            let status = env.order(id).await.status;
            let printed = scalar(env, "SELECT COUNT(*) FROM tickets WHERE order_id = ? AND kind = 'original' AND status = 'printed'", id).await;
            let mailed = scalar(env, "SELECT COUNT(*) FROM email_log WHERE order_id = ? AND template = 'confirmed' AND status = 'sent'", id).await;
            status == OrderStatus::Confirmed && printed == 1 && mailed == 1
        })
        .await;
        let reserved = scalar(
            env,
            "SELECT COUNT(*) FROM stock_ledger WHERE order_id = ? AND reason = 'reservation'",
            id,
        )
        .await;
        assert_eq!(
            reserved, ingredients,
            "order {id}: one reservation per ingredient of its one margherita"
        );
        for (template, n) in [("confirmed", 1), ("placed", 1)] {
            let sent = scalar(
                env,
                &format!(
                    "SELECT COUNT(*) FROM email_log WHERE order_id = ? AND template = '{template}'"
                ),
                id,
            )
            .await;
            assert!(sent <= n, "order {id}: {sent} '{template}' e-mails");
        }
        let tickets = scalar(env, "SELECT COUNT(*) FROM tickets WHERE order_id = ?", id).await;
        assert_eq!(tickets, 1, "order {id}: exactly one ticket");
    }
    for spec in topology::workers() {
        let queue = spec.dead_letter_queue();
        wait_until(Duration::from_secs(30), &format!("{queue} empty"), || {
            let queue = queue.clone();
            async move { env.queue_depth(&queue).await == Some(0) }
        })
        .await;
    }
}

#[tokio::test]
async fn under_supervisord_every_worker_killed_with_sigkill_comes_back_and_no_order_is_lost() {
    let env = TestEnv::new().await;
    let printers = Emupos::start(2).await;
    let maildev = Maildev::start().await;
    let shop = env.seed_shop(printers.ports[0], printers.ports[1]).await;
    sqlx::query("UPDATE stock SET quantity = 1000000")
        .execute(&env.pool)
        .await
        .unwrap();
    let stack = Supervised::start(&env, &[("SMTP_URL", &maildev.smtp_url())]).await;
    let customer = api_customer(&stack.url("")).await;

    let victims = [
        "ocpizza:ocpizza-stock-0",
        "ocpizza:ocpizza-kitchen-0",
        "ocpizza:ocpizza-notifications-0",
        "ocpizza:ocpizza-relay-0",
        "ocpizza:ocpizza-payments-0",
        "ocpizza:ocpizza-web",
    ];
    let mut ids = Vec::new();
    for victim in victims {
        for _ in 0..5 {
            ids.push(place_via_api(&customer, &shop, 1).await);
        }
        let before = stack.pid(victim).await;
        let after = stack.kill_9(victim).await;
        assert_ne!(before, after, "{victim} runs as a new process");
    }
    // The web server came back too: sessions live in the database, so the same customer goes on.
    for _ in 0..5 {
        ids.push(place_via_api(&customer, &shop, 1).await);
    }
    reconcile(&env, &shop, &ids).await;
    assert_eq!(
        printers.receipts(0).await.len(),
        ids.len(),
        "one ticket per order on the kitchen printer"
    );
    assert!(
        stack.all_running().await,
        "{}",
        stack.ctl(&["status"]).await
    );
}

#[tokio::test]
async fn metrics_count_orders_handled_and_failed_messages_the_outbox_and_dead_letters() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    sqlx::query("UPDATE stock SET quantity = 1000000")
        .execute(&env.pool)
        .await
        .unwrap();
    for _ in 0..3 {
        env.place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    }
    enqueue_orphan(&env, &shop, 999_999).await;
    let app = env.spawn_web().await;

    let scrape = async || {
        let r = app.client.get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.unwrap()
    };
    let before = scrape().await;
    for line in [
        "ocpizza_orders{status=\"placed\"} 3",
        "ocpizza_orders{status=\"confirmed\"} 0",
        "ocpizza_outbox_backlog 4",
        "ocpizza_messages_handled_total{consumer=\"stock\"} 0",
        "ocpizza_database_up 1",
    ] {
        assert!(before.contains(line), "{line} in:\n{before}");
    }

    // The real relay and stock worker, as Supervisor runs them.
    let vars = env.vars_with(&[]);
    let mut programs = start_workers(&vars, &["relay", "stock"]);
    wait_until(
        PATIENCE,
        "orders confirmed and the orphan dead-lettered",
        || async {
            let now = scrape().await;
            now.contains("ocpizza_orders{status=\"confirmed\"} 3")
                && now.contains("ocpizza_messages_dead_lettered_total{consumer=\"stock\"} 1")
                && now.contains("ocpizza_dead_letters_waiting{consumer=\"stock\"} 1")
        },
    )
    .await;
    let after = scrape().await;
    let handled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM processed_messages WHERE consumer = 'stock'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(handled >= 3, "the three orders at least");
    for line in [
        format!("ocpizza_messages_handled_total{{consumer=\"stock\"}} {handled}").as_str(),
        "ocpizza_messages_dead_lettered_total{consumer=\"kitchen\"} 0",
        "ocpizza_dead_letters_waiting{consumer=\"kitchen\"} 0",
        "ocpizza_broker_up 1",
        "ocpizza_http_responses_total{class=\"2xx\"}",
    ] {
        assert!(after.contains(line), "{line} in:\n{after}");
    }
    for p in &mut programs {
        let _ = p.start_kill();
    }
}

/// A stand-in for Sentry's ingestion endpoint: accepts every request and keeps the bodies.
async fn sentry_sink() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut data = Vec::new();
                let mut buf = [0u8; 8192];
                // Read headers, then the announced body.
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if data.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&data).into_owned());
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
                    .await;
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn a_worker_error_reaches_sentry_with_the_order_id() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let (port, mut received) = sentry_sink().await;
    enqueue_orphan(&env, &shop, 424_242).await;

    let dsn = format!("http://public@127.0.0.1:{port}/1");
    let vars = env.vars_with(&[("SENTRY_DSN", &dsn)]);
    let mut programs = start_workers(&vars, &["relay", "stock"]);
    let event = tokio::time::timeout(PATIENCE, async {
        loop {
            let body = received.recv().await.expect("the sink runs");
            if body.contains("permanent failure") {
                return body;
            }
        }
    })
    .await
    .expect("an event reaches Sentry");
    assert!(
        event.contains("424242"),
        "the order id is in the event: {event}"
    );
    assert!(
        event.contains("worker-stock"),
        "the program is named: {event}"
    );
    assert!(!event.contains(CUSTOMER), "no customer data: {event}");
    for p in &mut programs {
        let _ = p.start_kill();
    }
}

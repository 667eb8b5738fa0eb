//! Operations, with the real programs as an operator runs them: the whole stack under
//! supervisord (a worker killed with SIGKILL comes back and no order is lost), nginx in front
//! (orders and live updates through it, TLS and the redirect of the production site), backups
//! (backup → wipe → restore → same data), `/metrics` and Sentry.

use std::collections::HashMap;
use std::process::Stdio;

use messages::Envelope;
use messages::event::{Event, OrderPlaced};
use ocpizza_tests::browser::EventStream;
use ocpizza_tests::flow::{
    PATIENCE, api_customer, captured_once, confirmations_received_once, move_as_manager,
    place_paid_online_via_api, place_via_api, reconcile, start_workers, stocked,
};
use ocpizza_tests::peers::{Emupos, Maildev};
use ocpizza_tests::shop::{CUSTOMER, Shop};
use ocpizza_tests::stack::{Nginx, Supervised};
use ocpizza_tests::{TestEnv, project_root, wait_until};
use reqwest::StatusCode;
use vocab::{Fulfilment, OrderStatus, PaymentMode};

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

/// `n` orders of `quantity` × `pizza` paid at the counter, straight into the database.
async fn place_n(env: &TestEnv, shop: &Shop, n: usize, pizza: u64, quantity: u32) {
    for _ in 0..n {
        env.place(
            shop,
            &[(pizza, quantity)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    }
}

#[tokio::test]
async fn under_supervisord_every_worker_killed_with_sigkill_comes_back_and_no_order_is_lost() {
    let printers = Emupos::start(2).await;
    let maildev = Maildev::start().await;
    let (env, shop) = stocked((printers.ports[0], printers.ports[1])).await;
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
    // Paid online first: the kitchen starts them at the end, while the payments worker dies.
    let mut online = Vec::new();
    for _ in 0..4 {
        online.push(place_paid_online_via_api(&customer, &shop).await);
    }
    let mut ids = online.clone();
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
    reconcile(&env, &shop, &ids, &env.amqp_url()).await;
    confirmations_received_once(&maildev, &ids).await;
    assert_eq!(
        printers.receipts(0).await.len(),
        ids.len(),
        "one ticket per order on the kitchen printer"
    );
    // The kitchen starts the online orders (→ capture) and the payments worker is killed
    // in the middle of capturing them.
    for id in &online {
        move_as_manager(&env, &shop, *id, OrderStatus::Preparing).await;
    }
    stack.kill_9("ocpizza:ocpizza-payments-0").await;
    for id in &online {
        wait_until(PATIENCE, &format!("order {id} captured once"), || {
            captured_once(&env, *id)
        })
        .await;
    }
    assert!(
        stack.all_running().await,
        "{}",
        stack.ctl(&["status"]).await
    );
}

#[tokio::test]
async fn metrics_count_orders_handled_and_failed_messages_the_outbox_and_dead_letters() {
    let (env, shop) = stocked((9, 9)).await;
    place_n(&env, &shop, 3, shop.margherita, 1).await;
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

/// A worker stalled (its process stopped, as a long pause or a hung handler would): its
/// queue's backlog shows in the metrics and in the readiness probe while it lasts — the web
/// server still takes orders — and drains once it runs again, every order confirmed.
#[tokio::test]
async fn a_stalled_worker_shows_as_a_backlog_that_drains_when_it_runs_again() {
    let (env, shop) = stocked((9, 9)).await;
    let app = env.spawn_web().await;
    let scrape = async || {
        let r = app.client.get(app.url("/metrics")).send().await.unwrap();
        r.text().await.unwrap()
    };
    let gauge = |metrics: &str, name: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}{{consumer=\"stock\"}} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    let ready = async || {
        let r = app.client.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "behind is not down");
        r.json::<serde_json::Value>().await.unwrap()["workers"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let vars = env.vars_with(&[]);
    let mut programs = start_workers(&vars, &["relay", "stock"]);
    wait_until(PATIENCE, "the stock worker consuming", || async {
        gauge(&scrape().await, "ocpizza_queue_workers") == 1
    })
    .await;
    let stock = programs[1]
        .id()
        .expect("the stock worker's pid")
        .to_string();
    let signal = |sig: &str| {
        let status = std::process::Command::new("kill")
            .args([sig, &stock])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {sig} {stock}");
    };
    signal("-STOP");
    place_n(&env, &shop, 70, shop.margherita, 1).await;
    wait_until(PATIENCE, "the backlog in the metrics", || async {
        gauge(&scrape().await, "ocpizza_messages_waiting")
            >= i64::from(messages::dead_letter::BEHIND)
    })
    .await;
    let probe = ready().await;
    assert!(
        probe.contains("stock: ") && probe.contains("waiting, 1 worker"),
        "{probe}"
    );

    signal("-CONT");
    wait_until(
        PATIENCE,
        "the backlog drained, every order confirmed",
        || async {
            let now = scrape().await;
            gauge(&now, "ocpizza_messages_waiting") == 0
                && now.contains("ocpizza_orders{status=\"confirmed\"} 70")
        },
    )
    .await;
    assert!(!ready().await.contains("stock:"), "no longer behind");
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

/// The first event the sink receives that mentions `text`.
async fn sentry_event(
    received: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    text: &str,
) -> String {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let body = received.recv().await.expect("the sink runs");
            if body.contains(text) {
                return body;
            }
        }
    })
    .await
    .expect("an event reaches Sentry")
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
    let event = sentry_event(&mut received, "permanent failure").await;
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

#[tokio::test]
async fn a_web_server_error_reaches_sentry_with_the_request_and_its_order() {
    let (env, shop) = stocked((9, 9)).await;
    let (sink, mut received) = sentry_sink().await;
    let port = ocpizza_tests::peers::free_port().to_string();
    let dsn = format!("http://public@127.0.0.1:{sink}/1");
    let vars = env.vars_with(&[("SENTRY_DSN", &dsn), ("PORT", &port)]);
    let _web = tokio::process::Command::new(ocpizza_tests::workspace_binary("ocpizza"))
        .arg("serve")
        .envs(&vars)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the web server starts");
    let base = format!("http://127.0.0.1:{port}");
    wait_until(PATIENCE, "the web server answers", || async {
        reqwest::get(format!("{base}/healthz")).await.is_ok()
    })
    .await;
    let customer = api_customer(&base).await;
    let id = place_via_api(&customer, &shop, 1).await;
    // The database loses the orders table under the running server.
    sqlx::query("RENAME TABLE orders TO orders_gone")
        .execute(&env.pool)
        .await
        .unwrap();
    let r = customer.get(&format!("/api/orders/{id}")).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let event = sentry_event(&mut received, "request failed").await;
    assert!(
        event.contains(&format!("\"order_id\":{id}"))
            || event.contains(&format!("\"order_id\":\"{id}\"")),
        "the order id is in the event: {event}"
    );
    assert!(event.contains(&format!("/api/orders/{id}")), "{event}");
    assert!(event.contains("\"server_name\":\"web\""), "{event}");
    assert!(event.contains("orders"), "the inside story: {event}");
    assert!(!event.contains(CUSTOMER), "no customer data: {event}");
    sqlx::query("RENAME TABLE orders_gone TO orders")
        .execute(&env.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn behind_nginx_an_order_is_placed_and_its_live_updates_flow() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let nginx = Nginx::start(app.address.port()).await;
    let customer = api_customer(&nginx.url("")).await;
    let id = place_via_api(&customer, &shop, 2).await;
    assert_eq!(env.order(id).await.status, OrderStatus::Placed);
    let page = customer.page(&format!("/commandes/{id}")).await;
    assert!(page.contains(&format!("n°{id}")), "{page}");
    let css = customer.get("/static/site.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers().contains_key("expires"), "nginx adds caching");

    let stream = customer.get(&format!("/commandes/{id}/flux")).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut events = EventStream::new(stream);
    assert!(events.next("order").await.contains("\"status\":\"placed\""));
    move_as_manager(&env, &shop, id, OrderStatus::Confirmed).await;
    assert!(
        events
            .next("order")
            .await
            .contains("\"status\":\"confirmed\"")
    );
    assert!(
        !nginx.error_log().contains("[error]"),
        "{}",
        nginx.error_log()
    );
}

/// `curl` over TLS (the test HTTP client is built without TLS): status line, headers, body.
async fn curl_tls(port: u16, path: &str) -> String {
    let out = tokio::process::Command::new("curl")
        .args(["-sk", "-D", "-", "--max-time", "10"])
        .arg(format!("https://localhost:{port}{path}"))
        .output()
        .await
        .expect("curl runs");
    assert!(out.status.success(), "curl {path}: {out:?}");
    String::from_utf8_lossy(&out.stdout).to_lowercase()
}

#[tokio::test]
async fn the_production_site_redirects_to_https_and_serves_the_app_over_tls() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let nginx = Nginx::production_site(app.address.port()).await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = plain
        .get(nginx.url("/pizzerias/test?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        r.headers()["location"],
        "https://127.0.0.1/pizzerias/test?x=1"
    );
    // certbot's renewals answer over plain HTTP.
    let acme = plain
        .get(nginx.url("/.well-known/acme-challenge/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(acme.status(), StatusCode::NOT_FOUND);

    let health = curl_tls(nginx.tls_port, "/readyz").await;
    assert!(health.starts_with("http/2 200"), "{health}");
    assert!(
        health.contains("strict-transport-security: max-age=31536000"),
        "{health}"
    );
    assert!(health.contains("x-frame-options: deny"), "{health}");
    assert!(health.contains("\"status\":\"ready\""), "{health}");
    let menu = curl_tls(nginx.tls_port, "/pizzerias/test").await;
    assert!(menu.starts_with("http/2 200"), "{menu}");
    assert!(menu.contains("margherita"), "{menu}");
}

/// Every table with its row count and checksum: equal fingerprints, same data.
async fn fingerprint(env: &TestEnv) -> Vec<(String, i64, String)> {
    use sqlx::Row;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables
         WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&env.pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let rows = env.count(&t).await;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("CHECKSUM TABLE `{t}`")))
            .fetch_one(&env.pool)
            .await
            .unwrap();
        let sum = row
            .try_get::<Option<u64>, _>(1)
            .map(|v| format!("{v:?}"))
            .or_else(|_| row.try_get::<Option<i64>, _>(1).map(|v| format!("{v:?}")))
            .unwrap();
        out.push((t, rows, sum));
    }
    out
}

async fn backup_script(vars: &HashMap<String, String>, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new("bash")
        .arg(project_root().join("deploy/backup.sh"))
        .args(args)
        .envs(vars)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("backup.sh runs")
}

#[tokio::test]
async fn backup_then_wipe_then_restore_gives_back_the_same_data() {
    let (env, shop) = stocked((9, 9)).await;
    place_n(&env, &shop, 3, shop.regina, 2).await;
    let before = fingerprint(&env).await;
    assert!(before.iter().any(|(t, n, _)| t == "orders" && *n == 3));

    let dir = std::env::temp_dir().join(format!("ocpt-backup-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty_env_file = dir.join("empty.env");
    std::fs::write(&empty_env_file, "").unwrap();
    let mut vars = env.vars_with(&[]);
    vars.insert("BACKUP_DIR".into(), dir.join("dumps").display().to_string());
    vars.insert(
        "OCPIZZA_ENV_FILE".into(),
        empty_env_file.display().to_string(),
    );

    let made = backup_script(&vars, &["backup"]).await;
    assert!(made.status.success(), "{made:?}");
    let file = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(
        file.ends_with(".sql.gz") && std::path::Path::new(&file).exists(),
        "{file}"
    );
    let latest = backup_script(&vars, &["latest"]).await;
    assert_eq!(String::from_utf8(latest.stdout).unwrap().trim(), file);

    // Wipe: every table gone.
    let mut conn = env.pool.acquire().await.unwrap();
    sqlx::query("SET FOREIGN_KEY_CHECKS = 0")
        .execute(&mut *conn)
        .await
        .unwrap();
    for (t, _, _) in &before {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE `{t}`")))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    drop(conn);
    assert!(fingerprint(&env).await.is_empty());

    // Without --yes and without a terminal to confirm on, nothing is touched.
    let refused = backup_script(&vars, &["restore", &file]).await;
    assert!(!refused.status.success());
    assert!(fingerprint(&env).await.is_empty());

    let restored = backup_script(&vars, &["restore", &file, "--yes"]).await;
    assert!(restored.status.success(), "{restored:?}");
    assert_eq!(fingerprint(&env).await, before);
    // The restored database is the application's again: no migration pending, orders go on.
    db::migrate(&env.pool)
        .await
        .expect("migrations already applied");
    place_n(&env, &shop, 1, shop.margherita, 1).await;
    let _ = std::fs::remove_dir_all(&dir);
}

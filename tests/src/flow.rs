//! Driving the real system as customers and operators do, and checking afterwards that nothing
//! was lost or done twice: shared by the operations and failure tests.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Visitor;
use crate::peers::Maildev;
use crate::shop::{CUSTOMER, PASSWORD, Shop};
use crate::{TestEnv, wait_until, workspace_binary};
use vocab::OrderStatus;

/// How long an accepted order may take to be confirmed, printed and mailed after a failure.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// A customer logged in through the JSON API at `base`.
pub async fn api_customer(base: &str) -> Visitor {
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
pub async fn place_via_api(v: &Visitor, shop: &Shop, quantity: u32) -> u64 {
    post_order(v, shop, quantity, "on_site").await
}

/// Places `quantity` margheritas for pickup through the API with this payment mode; its id.
async fn post_order(v: &Visitor, shop: &Shop, quantity: u32, payment: &str) -> u64 {
    let r = v
        .client
        .post(v.url("/api/orders"))
        .json(&json!({
            "pizzeria": "test",
            "lines": [{"pizza_id": shop.margherita, "quantity": quantity}],
            "fulfilment": "pickup",
            "payment": payment,
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
pub fn start_workers(vars: &HashMap<String, String>, which: &[&str]) -> Vec<tokio::process::Child> {
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

/// A fresh environment with the test shop (printers on `ports`) and more stock than any test
/// here uses.
pub async fn stocked(ports: (u16, u16)) -> (TestEnv, Shop) {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(ports.0, ports.1).await;
    sqlx::query("UPDATE stock SET quantity = 1000000")
        .execute(&env.pool)
        .await
        .unwrap();
    (env, shop)
}

pub async fn scalar(env: &TestEnv, sql: &str, id: u64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id)
        .fetch_one(&env.pool)
        .await
        .expect("reconciliation query")
}

/// Every accepted order went all the way: confirmed, stock reserved once, one original ticket
/// printed, one confirmation e-mail sent; and no worker gave up on a message on the broker at
/// `amqp_url`.
pub async fn reconcile(env: &TestEnv, shop: &Shop, ids: &[u64], amqp_url: &str) {
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
        let tickets = scalar(env, "SELECT COUNT(*) FROM tickets WHERE order_id = ?", id).await;
        assert_eq!(tickets, 1, "order {id}: exactly one ticket");
    }
    nothing_dead_lettered(amqp_url).await;
}

/// No worker gave up on a message on the broker at `amqp_url`.
pub async fn nothing_dead_lettered(amqp_url: &str) {
    let conn = messages::broker::connect(amqp_url)
        .await
        .expect("the broker answers");
    let waiting = messages::dead_letter::waiting(&conn, &workers::consumers())
        .await
        .expect("dead-letter queues counted");
    let _ = conn.close(200, "reconciled".into()).await;
    assert!(
        waiting.iter().all(|(_, n)| *n == 0),
        "no worker gave up on a message: {waiting:?}"
    );
}

/// What the customers were told while orders streamed in.
#[derive(Debug, Default)]
pub struct Told {
    /// Orders that got a success reply.
    pub accepted: Vec<u64>,
    /// Idempotency keys of orders that got an error reply, with the reply.
    pub refused: Vec<(String, String)>,
    /// Keys of requests that got no reply at all (the customer would retry with the same key).
    pub unanswered: Vec<String>,
}

/// A customer placing a pickup order through the API every `every` until stopped.
pub struct OrderStream {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Told>,
}

impl OrderStream {
    pub async fn start(base: &str, shop: &Shop, every: Duration) -> OrderStream {
        let customer = api_customer(base).await;
        let pizza = shop.margherita;
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut told = Told::default();
            while !*stopped.borrow() {
                let key = uuid::Uuid::new_v4().simple().to_string();
                let answer = customer
                    .client
                    .post(customer.url("/api/orders"))
                    .timeout(Duration::from_secs(20))
                    .json(&json!({
                        "pizzeria": "test",
                        "lines": [{"pizza_id": pizza, "quantity": 1}],
                        "fulfilment": "pickup",
                        "payment": "on_site",
                        "idempotency_key": key,
                    }))
                    .send()
                    .await;
                match answer {
                    // 200: the web server ran the placement again after a transient database
                    // error and found the order its first attempt had committed.
                    Ok(r) if r.status() == StatusCode::CREATED || r.status() == StatusCode::OK => {
                        let body: Value = r.json().await.expect("JSON");
                        told.accepted
                            .push(body["order"]["id"].as_u64().expect("an order id"));
                    }
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        told.refused.push((key, format!("{status} {text}")));
                    }
                    Err(_) => told.unanswered.push(key),
                }
                let _ = tokio::time::timeout(every, stopped.changed()).await;
            }
            told
        });
        OrderStream { stop, task }
    }

    pub async fn stop(self) -> Told {
        let _ = self.stop.send(true);
        self.task.await.expect("the stream task")
    }
}

/// Orders placed until a moment after the node went down (a broker's or a database's) are all confirmed while it is still
/// down: the relay and the stock worker found a live node.
pub async fn confirmed_while_down(env: &TestEnv, what: &str) {
    let until = chrono::Utc::now() + chrono::Duration::seconds(2);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The node stays down until this returns, so a loaded machine's slower recovery (consumers
    // reconnecting with backoff, a queue electing its leader) only costs time.
    wait_until(
        Duration::from_secs(60),
        &format!("orders confirmed with {what}"),
        || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM orders WHERE created_at <= ? AND status <> 'confirmed'",
            )
            .bind(until)
            .fetch_one(&env.pool)
            .await
            .expect("orders");
            waiting == 0
        },
    )
    .await;
}

/// After a stream told `told`: nothing refused left an order, and every order placed (answered
/// or not) was confirmed, reserved, recorded printed and mailed exactly once, and came out of
/// the first printer once, or up to `extra_prints` more times in all (a database node that dies
/// between the printer's confirmation and the commit recording it). The orders.
pub async fn every_order_handled_once(
    env: &TestEnv,
    shop: &Shop,
    told: &Told,
    amqp_url: &str,
    maildev: &Maildev,
    printers: &crate::peers::Emupos,
    extra_prints: usize,
) -> Vec<u64> {
    refused_left_nothing(env, told).await;
    let mut all = told.accepted.clone();
    all.extend(placed_without_reply(env, told).await);
    reconcile(env, shop, &all, amqp_url).await;
    confirmations_received_once(maildev, &all).await;
    let printed = printers.receipts(0).await.len();
    assert!(
        (all.len()..=all.len() + extra_prints).contains(&printed),
        "one ticket per order ({} orders, {printed} printed, {extra_prints} extra allowed)",
        all.len()
    );
    all
}

/// Every outbox row published (within 30 s).
pub async fn outbox_drained(env: &TestEnv) {
    wait_until(Duration::from_secs(30), "the outbox drained", || async {
        scalar(
            env,
            "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL AND id > ?",
            0,
        )
        .await
            == 0
    })
    .await;
}

/// No order exists for a key whose request got an error reply.
pub async fn refused_left_nothing(env: &TestEnv, told: &Told) {
    for (key, answer) in &told.refused {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE idempotency_key = ?")
            .bind(key)
            .fetch_one(&env.pool)
            .await
            .expect("look the key up");
        assert_eq!(n, 0, "refused ({answer}) yet placed");
    }
}

/// Places an order paid online through the API and pays it as the customer's browser would:
/// the payment opened, the card confirmed at localstripe, the return finalised. Its id.
pub async fn place_paid_online_via_api(v: &Visitor, shop: &Shop) -> u64 {
    let id = post_order(v, shop, 1, "online").await;
    let start: Value = v
        .client
        .post(v.url(&format!("/api/orders/{id}/payment")))
        .send()
        .await
        .expect("payment opens")
        .json()
        .await
        .expect("JSON");
    let secret = start["client_secret"].as_str().expect("a client secret");
    let intent = secret.split("_secret_").next().expect("an intent id");
    let confirmed = reqwest::Client::new()
        .post(format!("{LOCALSTRIPE}/v1/payment_intents/{intent}/confirm"))
        .form(&[
            ("key", start["publishable_key"].as_str().unwrap_or_default()),
            ("client_secret", secret),
            ("payment_method", "pm_card_visa"),
        ])
        .send()
        .await
        .expect("localstripe answers");
    assert!(confirmed.status().is_success(), "the card is accepted");
    let finalised = v
        .client
        .post(v.url(&format!("/api/orders/{id}/payment/finalise")))
        .send()
        .await
        .expect("finalise answers");
    assert_eq!(finalised.status(), StatusCode::OK, "payment authorised");
    id
}

/// Where the tests' Stripe stand-in listens (deploy/local/services.sh).
pub const LOCALSTRIPE: &str = "http://127.0.0.1:8420";

/// The order's payments: exactly one, captured in full, and the PaymentIntent at localstripe
/// says the same (captured once: a second capture would have been refused or doubled).
pub async fn captured_once(env: &TestEnv, order_id: u64) -> bool {
    let rows: Vec<(String, u32, u32, Option<String>)> = sqlx::query_as(
        "SELECT CAST(status AS CHAR), amount_cents, captured_cents, stripe_payment_intent_id
         FROM payments WHERE order_id = ?",
    )
    .bind(order_id)
    .fetch_all(&env.pool)
    .await
    .expect("payments");
    let [(status, amount, captured, Some(intent))] = rows.as_slice() else {
        return false;
    };
    if status != "captured" || captured != amount {
        return false;
    }
    let at_stripe: Value = reqwest::Client::new()
        .get(format!("{LOCALSTRIPE}/v1/payment_intents/{intent}"))
        .bearer_auth("sk_test_ocpizza")
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("JSON");
    at_stripe["status"] == "succeeded" && at_stripe["amount_received"] == json!(*amount)
}

/// A manager moves the order to `to`, as the staff screens do.
pub async fn move_as_manager(env: &TestEnv, shop: &Shop, order_id: u64, to: OrderStatus) {
    let mut tx = env.pool.begin().await.expect("begin");
    order::transition::move_to(
        &mut tx,
        order_id,
        to,
        vocab::Actor::Staff(shop.manager_id),
        "",
        None,
    )
    .await
    .expect("an allowed move");
    tx.commit().await.expect("commit");
}

/// Each order's confirmation reached the SMTP server as one e-mail: counted in the sink's
/// mailbox, not in our own log. A worker killed (or a database lost) between the server's
/// acceptance and our commit sends it again with the same Message-ID, which mail clients show
/// once (the documented at-least-once gap of `mail::send`); two different Message-IDs, or
/// none, would be a real duplicate or a loss.
pub async fn confirmations_received_once(maildev: &Maildev, ids: &[u64]) {
    confirmations_once_in(&maildev.emails().await, ids);
}

/// [`confirmations_received_once`] over e-mails gathered from a sink restarted meanwhile
/// (each restart starts with an empty mailbox).
pub fn confirmations_once_in(emails: &[Value], ids: &[u64]) {
    for id in ids {
        let subject = format!("Commande n°{id} confirmée");
        let mut message_ids: Vec<&str> = emails
            .iter()
            .filter(|e| e["subject"].as_str() == Some(subject.as_str()))
            .map(|e| e["headers"]["message-id"].as_str().unwrap_or_default())
            .collect();
        assert!(
            !message_ids.is_empty(),
            "order {id}: no confirmation e-mail received"
        );
        message_ids.sort_unstable();
        message_ids.dedup();
        assert_eq!(
            message_ids.len(),
            1,
            "order {id}: confirmations with different Message-IDs: {message_ids:?}"
        );
        assert!(
            message_ids[0].contains(&format!("order-{id}.confirmed")),
            "order {id}: {message_ids:?}"
        );
    }
}

/// Orders the customer got no answer for but that exist (the reply was lost, not the order).
pub async fn placed_without_reply(env: &TestEnv, told: &Told) -> Vec<u64> {
    let mut ids = Vec::new();
    for key in &told.unanswered {
        if let Some(id) =
            sqlx::query_scalar::<_, u64>("SELECT id FROM orders WHERE idempotency_key = ?")
                .bind(key)
                .fetch_optional(&env.pool)
                .await
                .unwrap()
        {
            ids.push(id);
        }
    }
    ids
}

/// The kitchen printer's receipts: each order's first, and any copy after it marked
/// « DOUBLON POSSIBLE » (panics naming the order otherwise). Returns how many orders printed
/// and how many copies.
pub fn copies_marked(receipts: &[String]) -> (usize, usize) {
    let mut seen = std::collections::HashSet::new();
    let mut copies = 0;
    for text in receipts {
        let number: String = text
            .split("Commande n°")
            .nth(1)
            .expect("an order number")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !seen.insert(number.clone()) {
            assert!(
                text.contains("DOUBLON POSSIBLE"),
                "order {number} printed again unmarked:\n{text}"
            );
            copies += 1;
        }
    }
    (seen.len(), copies)
}

//! The notifications worker against a real SMTP sink (a private maildev per test, read back
//! through its API): what customers and managers receive, once, and SMTP going away and back.

use std::time::Duration;

use mail::Mailer;
use messages::Envelope;
use messages::broker::Shutdown;
use messages::consumer::{self, Consumer, ConsumerConfig, HandlerError, Outcome};
use messages::relay::{Relay, RelayConfig};
use ocpizza_tests::peers::Maildev;
use ocpizza_tests::shop::{CUSTOMER, MANAGER, Shop};
use ocpizza_tests::{TestEnv, wait_until};
use vocab::{Fulfilment, OrderStatus, PaymentMode};
use workers::notifications::{CONSUMER, NotificationsWorker};
use workers::stock::StockWorker;

pub(crate) fn worker(maildev: &Maildev) -> NotificationsWorker {
    worker_at(&maildev.smtp_url())
}

/// The worker sending through the SMTP server at `url`.
fn worker_at(url: &str) -> NotificationsWorker {
    NotificationsWorker {
        mailer: Mailer::new(url, "OC Pizza <commandes@ocpizza.example>").unwrap(),
        links: ocpizza_tests::mail_links("http://pizza.example/"),
    }
}

/// A confirmed order and the message announcing it.
async fn confirmed_order(env: &TestEnv, shop: &Shop) -> (u64, Envelope) {
    let order = env
        .place(
            shop,
            &[(shop.regina, 2)],
            PaymentMode::OnSite,
            Fulfilment::Delivery,
        )
        .await;
    let placed = env.outbox_for("order.placed", order.id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    let confirmed = env.outbox_for("order.status_changed", order.id).await;
    (order.id, confirmed)
}

fn to_of(email: &serde_json::Value) -> Vec<String> {
    email["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["address"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_customer_gets_one_confirmation_in_french_text_and_html() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let maildev = Maildev::start().await;
    let notifications = worker(&maildev);
    // Two pizzas of 60 g of ham with 60 g in stock: make it fit.
    sqlx::query("UPDATE stock SET quantity = 500")
        .execute(&env.pool)
        .await
        .unwrap();
    let (order_id, confirmed) = confirmed_order(&env, &shop).await;

    let outcome = consumer::process(&env.pool, CONSUMER, &notifications, &confirmed)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Applied);
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 1);
    let email = &emails[0];
    assert_eq!(to_of(email), [CUSTOMER]);
    assert_eq!(email["subject"], format!("Commande n°{order_id} confirmée"));
    let text = email["text"].as_str().unwrap();
    assert!(text.contains("Bonjour Claire,"), "{text}");
    assert!(text.contains("2 x Regina : 24,00"), "{text}");
    assert!(text.contains("À régler au livreur : 24,00"), "{text}");
    assert!(
        text.contains(&format!("http://pizza.example/commandes/{order_id}")),
        "{text}"
    );
    assert!(
        email["html"]
            .as_str()
            .unwrap()
            .contains("Votre commande est confirmée")
    );
    assert_eq!(
        email["headers"]["message-id"]
            .as_str()
            .unwrap()
            .trim_matches(['<', '>']),
        format!("order-{order_id}.confirmed@ocpizza.example")
    );

    // Redelivered: absorbed by the runtime.
    assert_eq!(
        consumer::process(&env.pool, CONSUMER, &notifications, &confirmed)
            .await
            .unwrap(),
        Outcome::Duplicate
    );
    // Re-published under a new id (a dead letter replayed, a second relay): the e-mail log
    // still knows this (order, template) went out.
    let mut again = confirmed.clone();
    again.message_id = uuid::Uuid::now_v7();
    consumer::process(&env.pool, CONSUMER, &notifications, &again)
        .await
        .unwrap();
    assert_eq!(maildev.emails().await.len(), 1);
    let logged: (String, u32) =
        sqlx::query_as("SELECT status, attempts FROM email_log WHERE order_id = ?")
            .bind(order_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(logged, ("sent".to_owned(), 1));
}

#[tokio::test]
async fn the_manager_hears_about_low_stock_and_the_customer_about_a_rejection() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let maildev = Maildev::start().await;
    let notifications = worker(&maildev);
    // One Regina takes the ham from 60 to 0 (threshold 30); a second one is rejected.
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
            &[(shop.regina, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    for o in [first.id, second.id] {
        let placed = env.outbox_for("order.placed", o).await;
        consumer::process(&env.pool, "stock", &StockWorker, &placed)
            .await
            .unwrap();
    }
    for message in env
        .outbox("stock.low")
        .await
        .into_iter()
        .chain(env.outbox("order.status_changed").await)
    {
        consumer::process(&env.pool, CONSUMER, &notifications, &message)
            .await
            .unwrap();
    }
    let emails = maildev.emails().await;
    let low: Vec<_> = emails.iter().filter(|e| to_of(e) == [MANAGER]).collect();
    assert_eq!(low.len(), 1, "one alert for the crossing");
    assert_eq!(low[0]["subject"], "Stock bas : Jambon blanc");
    assert!(
        low[0]["text"]
            .as_str()
            .unwrap()
            .contains("Il reste 0 de « Jambon blanc » (seuil : 30)")
    );
    let rejected: Vec<_> = emails
        .iter()
        .filter(|e| {
            e["subject"]
                .as_str()
                .unwrap()
                .contains("nous ne pouvons pas la préparer")
        })
        .collect();
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0]["text"]
            .as_str()
            .unwrap()
            .contains("Ingrédients manquants : Jambon blanc")
    );
    assert_eq!(env.order(second.id).await.status, OrderStatus::Rejected);
}

#[tokio::test]
async fn smtp_down_is_retried_and_the_email_goes_out_once_it_is_back() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    sqlx::query("UPDATE stock SET quantity = 500")
        .execute(&env.pool)
        .await
        .unwrap();
    let mut maildev = Maildev::start().await;
    let notifications = worker(&maildev);
    let (order_id, confirmed) = confirmed_order(&env, &shop).await;

    // Down: a transient failure, nothing recorded as sent or processed.
    maildev.stop();
    let err = consumer::process(&env.pool, CONSUMER, &notifications, &confirmed)
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Transient(_)), "{err:?}");
    assert_eq!(env.count("email_log").await, 0);
    assert_eq!(
        env.count("processed_messages").await,
        1,
        "only the stock worker's"
    );

    // Through the real runtime and broker: the worker keeps retrying while SMTP is away, and
    // delivers once it is back.
    let (trigger, shutdown) = Shutdown::new();
    let relay = Relay::new(
        env.pool.clone(),
        RelayConfig::new(&env.amqp_url(), workers::consumers()),
    );
    let spec = workers::consumers()
        .into_iter()
        .find(|w| w.name == CONSUMER)
        .unwrap();
    let mut config = ConsumerConfig::new(&env.amqp_url());
    config.min_retry_delay = Duration::from_millis(100);
    config.max_retry_delay = Duration::from_millis(500);
    config.attempts = 1000;
    let consumer = Consumer::new(spec, config, env.pool.clone(), notifications);
    let tasks = [
        tokio::spawn(relay.run(shutdown.clone())),
        tokio::spawn(consumer.run(shutdown)),
    ];
    tokio::time::sleep(Duration::from_secs(2)).await;
    maildev.resume().await;
    wait_until(
        Duration::from_secs(60),
        "the confirmation arrives",
        || async {
            maildev
                .emails()
                .await
                .iter()
                .any(|e| e["subject"] == format!("Commande n°{order_id} confirmée"))
        },
    )
    .await;
    trigger.trigger();
    for t in tasks {
        t.await.unwrap();
    }
    let confirmations = maildev
        .emails()
        .await
        .iter()
        .filter(|e| e["subject"] == format!("Commande n°{order_id} confirmée"))
        .count();
    assert_eq!(confirmations, 1);
}

/// A refused login (535) is our configuration, not the customer's address: the e-mail is not
/// recorded as failed but kept (the message retried, then parked to replay), and goes out once
/// the setting points at a server that takes it. A refused address (550) is, for contrast,
/// recorded and not retried.
#[tokio::test]
async fn refused_credentials_keep_the_email_until_the_setting_is_fixed() {
    let (env, shop) = TestEnv::with_stocked_shop().await;
    let (order_id, confirmed) = confirmed_order(&env, &shop).await;
    let scripted = |smtp: &ocpizza_tests::peers::ScriptedSmtp| worker_at(&smtp.smtp_url());
    let login_refused =
        ocpizza_tests::peers::ScriptedSmtp::start("535 5.7.8 Authentication credentials invalid")
            .await;
    let refused = consumer::process(&env.pool, CONSUMER, &scripted(&login_refused), &confirmed)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, HandlerError::Transient(ref r) if r.contains("check SMTP_URL")),
        "{refused:?}"
    );
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_log WHERE status = 'failed'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(logged, 0, "not given up");

    let (other_id, other) = confirmed_order(&env, &shop).await;
    let no_such_user = ocpizza_tests::peers::ScriptedSmtp::start("550 5.1.1 No such user").await;
    assert_eq!(
        consumer::process(&env.pool, CONSUMER, &scripted(&no_such_user), &other)
            .await
            .unwrap(),
        Outcome::Applied
    );
    let status: String = sqlx::query_scalar("SELECT status FROM email_log WHERE order_id = ?")
        .bind(other_id)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(
        status, "failed",
        "a refused address is recorded, not retried"
    );
    // … and shown to the shop's manager.
    let app = env.spawn_web().await;
    let manager = ocpizza_tests::browser::Visitor::new(&app);
    manager.log_in(MANAGER, ocpizza_tests::shop::PASSWORD).await;
    let page = manager.page("/equipe/test/gestion").await;
    assert!(
        page.contains("E-mails non remis")
            && page.contains(&format!("n°{other_id}"))
            && page.contains("No such user"),
        "{page}"
    );

    // SMTP_URL fixed: the kept e-mail goes out, once.
    let maildev = Maildev::start().await;
    assert_eq!(
        consumer::process(&env.pool, CONSUMER, &worker(&maildev), &confirmed)
            .await
            .unwrap(),
        Outcome::Applied
    );
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 1);
    assert_eq!(
        emails[0]["subject"],
        format!("Commande n°{order_id} confirmée")
    );
}

/// A server answering 451, then 421 and hanging up, then dropping the connection after the
/// data: every e-mail goes out in the end, and the server accepts each Message-ID exactly once.
#[tokio::test]
async fn a_flaky_smtp_server_gets_every_email_once_in_the_end() {
    let (env, shop) = TestEnv::with_stocked_shop().await;
    let smtp = ocpizza_tests::peers::FlakySmtp::start().await;
    let worker = worker_at(&smtp.smtp_url());
    let mut messages = Vec::new();
    for _ in 0..4 {
        messages.push(confirmed_order(&env, &shop).await.1);
    }
    let mut transient = 0;
    for message in &messages {
        let mut tries = 0;
        loop {
            tries += 1;
            assert!(tries <= 5, "still failing after {tries} tries");
            match consumer::process(&env.pool, CONSUMER, &worker, message).await {
                Ok(outcome) => {
                    assert_eq!(outcome, Outcome::Applied);
                    break;
                }
                Err(HandlerError::Transient(_)) => transient += 1,
                Err(other) => panic!("{other:?}"),
            }
        }
        // Handled: a redelivery sends nothing more.
        assert_eq!(
            consumer::process(&env.pool, CONSUMER, &worker, message)
                .await
                .unwrap(),
            Outcome::Duplicate
        );
    }
    assert_eq!(transient, 3, "451, 421, and the answer lost after the data");
    let accepted = smtp.accepted();
    assert_eq!(accepted.len(), 4, "{accepted:?}");
    let distinct: std::collections::HashSet<&String> = accepted.iter().collect();
    assert_eq!(distinct.len(), 4, "one Message-ID each: {accepted:?}");
    let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_log WHERE status = 'sent'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(sent, 4);
}

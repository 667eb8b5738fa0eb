//! The retention round against the real database: what has served its purpose goes, what may
//! still be needed stays, and the shop's records are never touched.

use chrono::{Duration, Utc};
use ocpizza_tests::TestEnv;
use vocab::{Fulfilment, PaymentMode};

async fn count(env: &TestEnv, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&env.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_retention_round_deletes_only_what_no_longer_serves() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let order = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let now = Utc::now();
    let days = |n: i64| now - Duration::days(n);
    let exec = |sql: &'static str, at: chrono::DateTime<Utc>| {
        let pool = env.pool.clone();
        async move {
            sqlx::query(sql).bind(at).execute(&pool).await.unwrap();
        }
    };
    // The order's own message, published eight days ago, and one never published.
    sqlx::query("UPDATE outbox SET published_at = ?")
        .bind(days(8))
        .execute(&env.pool)
        .await
        .unwrap();
    exec(
        "INSERT INTO outbox (message_id, routing_key, payload, created_at) VALUES ('00000000-0000-0000-0000-00000000000a', 'order.placed', '{}', ?)",
        days(40),
    )
    .await;
    exec(
        "INSERT INTO outbox (message_id, routing_key, payload, published_at) VALUES ('00000000-0000-0000-0000-00000000000b', 'order.placed', '{}', ?)",
        days(1),
    )
    .await;
    exec("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('stock', 'old', ?)", days(31)).await;
    exec("INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('stock', 'new', ?)", days(29)).await;
    exec("INSERT INTO email_log (message_id, template, recipient, subject, status, created_at) VALUES ('old', 't', 'a@b.fr', 's', 'sent', ?)", days(181)).await;
    exec("INSERT INTO email_log (message_id, template, recipient, subject, status, created_at) VALUES ('stuck', 't', 'a@b.fr', 's', 'sending', ?)", days(200)).await;
    exec("INSERT INTO email_log (message_id, template, recipient, subject, status, created_at) VALUES ('new', 't', 'a@b.fr', 's', 'failed', ?)", days(10)).await;
    exec(
        "INSERT INTO stripe_events (id, event_type, received_at) VALUES ('evt_old', 'x', ?)",
        days(91),
    )
    .await;
    exec(
        "INSERT INTO stripe_events (id, event_type, received_at) VALUES ('evt_new', 'x', ?)",
        days(2),
    )
    .await;
    sqlx::query("INSERT INTO password_links (user_id, token_hash, expires_at) VALUES (?, REPEAT('a', 64), ?), (?, REPEAT('b', 64), ?)")
        .bind(shop.customer_id)
        .bind(days(2))
        .bind(shop.customer_id)
        .bind(now + Duration::hours(1))
        .execute(&env.pool)
        .await
        .unwrap();
    exec(
        "INSERT INTO ticket_sends (order_id, state, updated_at) VALUES (1001, 'printed', ?)",
        days(8),
    )
    .await;
    exec(
        "INSERT INTO ticket_sends (order_id, state, updated_at) VALUES (1002, 'sending', ?)",
        days(8),
    )
    .await;
    let before_orders = count(&env, "SELECT COUNT(*) FROM order_status_history").await;

    let deleted = db::retention::prune(&env.pool, now).await.unwrap();
    assert_eq!(
        deleted,
        [
            ("outbox", 1),
            ("processed_messages", 1),
            ("email_log", 1),
            ("stripe_events", 1),
            ("password_links", 1),
            ("ticket_sends", 1),
        ]
    );
    let outbox: Vec<String> = sqlx::query_scalar("SELECT message_id FROM outbox ORDER BY id")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert_eq!(
        outbox,
        [
            "00000000-0000-0000-0000-00000000000a",
            "00000000-0000-0000-0000-00000000000b"
        ],
        "never published, or recently: kept"
    );
    let kept_mail: Vec<String> = sqlx::query_scalar("SELECT message_id FROM email_log ORDER BY id")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert_eq!(kept_mail, ["stuck", "new"], "one still sending stays");
    assert_eq!(
        count(
            &env,
            "SELECT COUNT(*) FROM ticket_sends WHERE state = 'sending'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM order_status_history").await,
        before_orders
    );
    assert_eq!(
        env.order(order.id).await.id,
        order.id,
        "the order itself stays"
    );
    // A second round finds nothing more.
    let again = db::retention::prune(&env.pool, now).await.unwrap();
    assert!(again.iter().all(|(_, n)| *n == 0), "{again:?}");
}

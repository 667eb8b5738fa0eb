//! What the database keeps, and for how long. Every table that only serves the machinery
//! (messages relayed, messages handled, e-mail keys, payment events, password links, ticket
//! sends) would grow without end; a round deletes what no longer serves, in small batches so no
//! statement holds locks for long. Orders, their history, payments, refunds, tickets and the
//! stock ledger are the shop's records and are kept (accounting documents: ten years,
//! Code de commerce L123-22); sessions are purged by the web server itself.

use chrono::{DateTime, Duration, Utc};
use sqlx::MySqlPool;

/// One table's rule: rows matching `condition` (with `?` the cut-off time) older than `keep`.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub table: &'static str,
    /// Why the rows may go, in the docs' words.
    pub what: &'static str,
    condition: &'static str,
    pub keep: Duration,
}

/// The rules, documented in docs/operations.md.
pub const RULES: &[Rule] = &[
    Rule {
        table: "outbox",
        what: "messages published to the broker",
        condition: "published_at IS NOT NULL AND published_at < ?",
        keep: Duration::days(7),
    },
    Rule {
        // Longer than a message may wait in a dead-letter queue before someone replays it:
        // replayed later, it would be handled a second time.
        table: "processed_messages",
        what: "records of messages handled (duplicate detection)",
        condition: "processed_at < ?",
        keep: Duration::days(30),
    },
    Rule {
        // Beyond the processed-message window: a message old enough to have lost its record
        // can no longer come back, so the key that kept its e-mail single is not needed.
        table: "email_log",
        what: "e-mails sent or given up",
        condition: "status <> 'sending' AND created_at < ?",
        keep: Duration::days(180),
    },
    Rule {
        // Stripe retries a webhook for three days.
        table: "stripe_events",
        what: "Stripe webhook events received (duplicate detection)",
        condition: "received_at < ?",
        keep: Duration::days(90),
    },
    Rule {
        table: "password_links",
        what: "password links expired",
        condition: "expires_at < ?",
        keep: Duration::days(1),
    },
    Rule {
        table: "ticket_sends",
        what: "ticket sends recorded printed or refused",
        condition: "state <> 'sending' AND updated_at < ?",
        keep: Duration::days(7),
    },
];

/// Rows deleted per statement.
const BATCH: u32 = 5000;

/// One round of every rule at `now`: how many rows each deleted.
pub async fn prune(
    pool: &MySqlPool,
    now: DateTime<Utc>,
) -> Result<Vec<(&'static str, u64)>, sqlx::Error> {
    let mut out = Vec::with_capacity(RULES.len());
    for rule in RULES {
        let sql = format!(
            "DELETE FROM {} WHERE {} LIMIT {BATCH}",
            rule.table, rule.condition
        );
        let mut deleted = 0;
        loop {
            // Built from the constant rules above only.
            let done = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(now - rule.keep)
                .execute(pool)
                .await?
                .rows_affected();
            deleted += done;
            if done < u64::from(BATCH) {
                break;
            }
        }
        out.push((rule.table, deleted));
    }
    Ok(out)
}

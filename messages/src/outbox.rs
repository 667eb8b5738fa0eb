//! Writing a message: one `outbox` row in the caller's transaction, next to the change it
//! announces. Either both commit or neither does; the relay takes it from there.

use sqlx::MySqlConnection;

use crate::{Envelope, MessagingError};

pub async fn enqueue(
    conn: &mut MySqlConnection,
    envelope: &Envelope,
) -> Result<(), MessagingError> {
    let payload = String::from_utf8(envelope.encode()?).expect("serde_json writes UTF-8");
    sqlx::query(
        "INSERT INTO outbox (message_id, routing_key, payload, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(envelope.message_id.to_string())
    .bind(envelope.event.message_type())
    .bind(payload)
    .bind(envelope.occurred_at)
    .execute(conn)
    .await?;
    crate::wake::note_enqueued();
    Ok(())
}

/// Rows not yet confirmed by the broker (for metrics and readiness).
pub async fn backlog(pool: &sqlx::MySqlPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(pool)
        .await
}

/// Seconds the oldest unpublished row has waited (0 when none): a relay that is down or cannot
/// reach the broker shows here first.
pub async fn oldest_pending_seconds(pool: &sqlx::MySqlPool) -> Result<i64, sqlx::Error> {
    let age: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(TIMESTAMPDIFF(SECOND, MIN(created_at), UTC_TIMESTAMP(6)) AS SIGNED)
         FROM outbox WHERE published_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok(age.unwrap_or(0).max(0))
}

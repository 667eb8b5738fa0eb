//! Single-use links that prove an e-mail address: « mot de passe oublié », and claiming an
//! account created without a password (a guest order, the counter). Using one sets the
//! password and ends every session, so afterwards only the reader of that mailbox holds the
//! account; the proof is recorded (`users.email_proven_at`) and the account then gets the
//! orders placed under the address without one (`order::claim`).
//!
//! The token (256 random bits) travels only in the e-mail; the table keeps its SHA-256. A link
//! expires after [`LINK_TTL`], works once, and using it ends every session of the account, so
//! whoever knew the old password is logged out.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::MySqlConnection;

/// How long a link stays valid.
pub const LINK_TTL: Duration = Duration::hours(1);

/// Why a link cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "ce lien n'est pas valable (déjà utilisé, expiré ou incomplet) : demandez-en un nouveau"
    )]
    Invalid,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A new link's token for `user_id`, valid from `now` for [`LINK_TTL`].
pub async fn issue(
    conn: &mut MySqlConnection,
    user_id: u64,
    now: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let token = random_token();
    sqlx::query("INSERT INTO password_links (user_id, token_hash, expires_at) VALUES (?, ?, ?)")
        .bind(user_id)
        .bind(digest(&token))
        .bind(now + LINK_TTL)
        .execute(conn)
        .await?;
    Ok(token)
}

/// The account a usable link is for (its e-mail, to check the new password against).
pub async fn peek(
    conn: &mut MySqlConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(u64, String), LinkError> {
    let row: Option<(u64, String)> = sqlx::query_as(
        "SELECT u.id, u.email FROM password_links l JOIN users u ON u.id = l.user_id
         WHERE l.token_hash = ? AND l.used_at IS NULL AND l.expires_at > ? AND u.active",
    )
    .bind(digest(token))
    .bind(now)
    .fetch_optional(conn)
    .await?;
    row.ok_or(LinkError::Invalid)
}

/// Uses the link: sets `password_hash` on its account, spends the link (and every other link
/// of the account), ends all the account's sessions, records the address as proven. Returns the account. In the caller's
/// transaction; two uses racing find one of them refused.
pub async fn redeem(
    conn: &mut MySqlConnection,
    token: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<u64, LinkError> {
    let row: Option<(u64, u64)> = sqlx::query_as(
        "SELECT l.id, l.user_id FROM password_links l JOIN users u ON u.id = l.user_id
         WHERE l.token_hash = ? AND l.used_at IS NULL AND l.expires_at > ? AND u.active FOR UPDATE",
    )
    .bind(digest(token))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let (_, user_id) = row.ok_or(LinkError::Invalid)?;
    sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
        .bind(password_hash)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE password_links SET used_at = ? WHERE user_id = ? AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    end_sessions(&mut *conn, user_id).await?;
    crate::user::mark_proven(conn, user_id, now).await?;
    Ok(user_id)
}

/// Ends every session of the account (the web's session records hold the user id).
pub async fn end_sessions(conn: &mut MySqlConnection, user_id: u64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE JSON_EXTRACT(data, '$.user_id') = ?")
            .bind(user_id)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_only_as_a_digest() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert_ne!(digest(&a), a);
        assert_eq!(digest(&a), digest(&a));
    }
}

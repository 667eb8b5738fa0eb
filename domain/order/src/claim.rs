//! Orders placed without an account (a guest on the web, or at the counter with the address
//! of an account they were not attached to) carry the address they were given
//! (`contact_email`) and belong to a record nobody can log into. Once an account proves it
//! reads that address (a link mailed to it was used), those orders become the account's:
//! before that, anyone could sign up with the address and read them.

use sqlx::MySqlConnection;

/// Gives `user_id` the orders placed under `email` without an account; how many. In the
/// caller's transaction, with the proof.
pub async fn guest_orders(
    conn: &mut MySqlConnection,
    user_id: u64,
    email: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE IGNORE orders o JOIN users w ON w.id = o.customer_id
         SET o.customer_id = ?, o.contact_email = NULL
         WHERE o.contact_email = ? AND w.password_hash IS NULL AND w.id <> ?",
    )
    .bind(user_id)
    .bind(email)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

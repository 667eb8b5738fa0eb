//! What happened to an order, step by step (`order_status_history`), and the stamps live pages
//! watch to know that something changed.
//!
//! Live pages poll these stamps rather than listening to the broker, so every web instance can
//! serve any page; each poll is one indexed read.

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::MySqlConnection;
use vocab::OrderStatus;

/// The reason recorded by [`crate::modify`] on a change of content (the status stays the same).
pub const MODIFIED: &str = "commande modifiée";

/// One row of an order's history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Step {
    pub to_status: OrderStatus,
    pub created_at: DateTime<Utc>,
    pub reason: String,
}

impl Step {
    /// A change of content rather than of status.
    pub fn is_modification(&self) -> bool {
        self.reason == MODIFIED
    }
}

/// The order's history, oldest first.
pub async fn steps(conn: &mut MySqlConnection, order_id: u64) -> Result<Vec<Step>, sqlx::Error> {
    sqlx::query_as(
        "SELECT to_status, created_at, reason FROM order_status_history WHERE order_id = ? ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await
}

/// One row of an order's history with who made it, for staff.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Entry {
    pub to_status: OrderStatus,
    pub created_at: DateTime<Utc>,
    pub reason: String,
    /// The staff member's or customer's name; `None` for the system (a worker).
    pub who: Option<String>,
    pub actor_kind: String,
}

/// The order's history with who did each step, oldest first.
pub async fn entries(conn: &mut MySqlConnection, order_id: u64) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(
        "SELECT h.to_status, h.created_at, h.reason, u.full_name AS who, CAST(h.actor_kind AS CHAR) AS actor_kind
         FROM order_status_history h LEFT JOIN users u ON u.id = h.actor_user_id
         WHERE h.order_id = ? ORDER BY h.id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await
}

/// The order's status, version and promised time now (`None` if it does not exist): the
/// customer's live page updates when the version or the promise moves.
pub async fn order_stamp(
    conn: &mut MySqlConnection,
    order_id: u64,
) -> Result<Option<(OrderStatus, u32, Option<DateTime<Utc>>)>, sqlx::Error> {
    sqlx::query_as("SELECT status, version, promised_at FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_optional(conn)
        .await
}

/// When one of the pizzeria's orders last changed (`None` before its first order): the staff
/// boards refresh when it moves.
pub async fn board_stamp(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Option<NaiveDateTime>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(updated_at) FROM orders WHERE pizzeria_id = ?")
        .bind(pizzeria_id)
        .fetch_one(conn)
        .await
}

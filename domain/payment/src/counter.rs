//! Money handed over at the door or the counter for orders paid on site, and the day's takings
//! by method for the manager.

use chrono::{DateTime, Utc};
use order::{Order, OrderError};
use serde::Serialize;
use sqlx::MySqlConnection;

use crate::PaymentError;
use vocab::{PaymentMethod, PaymentMode, PaymentStatus};

/// Records that the order's total was collected; `false` if it already was (a double tap).
/// Online orders are paid already and refuse this.
pub async fn record_collected(
    conn: &mut MySqlConnection,
    order: &Order,
    tender: PaymentMethod,
    staff_id: u64,
) -> Result<bool, PaymentError> {
    if order.payment_mode != PaymentMode::OnSite || tender == PaymentMethod::Stripe {
        return Err(OrderError::Invalid("cette commande a été payée en ligne".into()).into());
    }
    let existing: Option<u64> =
        sqlx::query_scalar("SELECT id FROM payments WHERE order_id = ? AND status = ? FOR UPDATE")
            .bind(order.id)
            .bind(PaymentStatus::Collected)
            .fetch_optional(&mut *conn)
            .await?;
    if existing.is_some() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO payments (order_id, method, status, amount_cents, captured_cents, captured_at, collected_by)
         VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP(6), ?)",
    )
    .bind(order.id)
    .bind(tender)
    .bind(PaymentStatus::Collected)
    .bind(order.total.0)
    .bind(order.total.0)
    .bind(staff_id)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Money taken by one means over a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Takings {
    /// Stripe (online, captured less refunds) or a means collected on site.
    pub method: PaymentMethod,
    pub label: &'static str,
    pub cents: i64,
    pub payments: i64,
}

/// The pizzeria's takings in `[from, to)` by method: captured online payments less refunds, and
/// what was collected on site.
pub async fn takings(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Takings>, sqlx::Error> {
    let rows: Vec<(PaymentMethod, i64, i64)> = sqlx::query_as(
        "SELECT CAST(p.method AS CHAR), CAST(SUM(p.captured_cents - p.refunded_cents) AS SIGNED), COUNT(*)
         FROM payments p JOIN orders o ON o.id = p.order_id
         WHERE o.pizzeria_id = ? AND p.status IN (?, ?, ?)
           AND p.updated_at >= ? AND p.updated_at < ?
         GROUP BY p.method ORDER BY p.method",
    )
    .bind(pizzeria_id)
    .bind(PaymentStatus::Captured)
    .bind(PaymentStatus::Refunded)
    .bind(PaymentStatus::Collected)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(method, cents, payments)| Takings {
            label: method.label_fr(),
            method,
            cents,
            payments,
        })
        .collect())
}

/// What one staff member collected by one means over a period (the rider's cash at the end of
/// a shift).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Collected {
    pub staff_id: u64,
    pub staff_name: String,
    pub method: PaymentMethod,
    pub label: &'static str,
    /// Collected, less what was handed back from the till on those payments.
    pub cents: i64,
    pub payments: i64,
}

/// The pizzeria's on-site takings in `[from, to)` by who collected them and how, by name.
pub async fn collected_by_staff(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Collected>, sqlx::Error> {
    let rows: Vec<(u64, String, PaymentMethod, i64, i64)> = sqlx::query_as(
        "SELECT u.id, u.full_name, CAST(p.method AS CHAR),
                CAST(SUM(p.captured_cents - p.refunded_cents) AS SIGNED), COUNT(*)
         FROM payments p JOIN orders o ON o.id = p.order_id JOIN users u ON u.id = p.collected_by
         WHERE o.pizzeria_id = ? AND p.status = ? AND p.created_at >= ? AND p.created_at < ?
         GROUP BY u.id, u.full_name, p.method ORDER BY u.full_name, u.id, p.method",
    )
    .bind(pizzeria_id)
    .bind(PaymentStatus::Collected)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(staff_id, staff_name, method, cents, payments)| Collected {
                staff_id,
                staff_name,
                label: method.label_fr(),
                method,
                cents,
                payments,
            },
        )
        .collect())
}

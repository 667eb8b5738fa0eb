//! The kitchen as stored: its capacity row (locked by every booking, so checkouts for one shop
//! queue up), the bookings of the orders still to make, and the bookings' writes.

use chrono::{DateTime, Duration, Utc};
use sqlx::MySqlConnection;

use crate::{Bookings, Capacity, Pace, Plan, QUARTER, quarter_of};

/// The shop's capacity, its row locked until the transaction ends (created at the defaults for
/// a shop that has none yet).
pub async fn lock(conn: &mut MySqlConnection, pizzeria_id: u64) -> Result<Capacity, sqlx::Error> {
    // Select first: an INSERT IGNORE on the existing row would take a shared lock, and two
    // checkouts upgrading theirs would deadlock.
    let select = "SELECT per_quarter, max_wait_minutes FROM kitchen_capacity WHERE pizzeria_id = ? FOR UPDATE";
    let row: Option<(u16, u16)> = sqlx::query_as(select)
        .bind(pizzeria_id)
        .fetch_optional(&mut *conn)
        .await?;
    // Shops get their row when created (feed-db, the admin screen); one missing is made here,
    // outside the race that only existing rows can serialise.
    let (per_quarter, max_wait) = match row {
        Some(row) => row,
        None => {
            sqlx::query("INSERT IGNORE INTO kitchen_capacity (pizzeria_id) VALUES (?)")
                .bind(pizzeria_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query_as(select)
                .bind(pizzeria_id)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    Ok(capacity(per_quarter, max_wait))
}

/// The shop's capacity without locking (for showing slots and promises before checkout).
pub async fn capacity_of(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Capacity, sqlx::Error> {
    let row: Option<(u16, u16)> = sqlx::query_as(
        "SELECT per_quarter, max_wait_minutes FROM kitchen_capacity WHERE pizzeria_id = ?",
    )
    .bind(pizzeria_id)
    .fetch_optional(conn)
    .await?;
    let (per_quarter, max_wait) = row.unwrap_or((12, 60));
    Ok(capacity(per_quarter, max_wait))
}

fn capacity(per_quarter: u16, max_wait: u16) -> Capacity {
    Capacity {
        per_quarter: u32::from(per_quarter),
        max_wait: Duration::minutes(i64::from(max_wait)),
    }
}

/// Sets what the kitchen makes per quarter and the wait beyond which « dès que possible » is
/// said as a time. Refused outside 1–200 pizzas and 10–240 minutes.
pub async fn set_capacity(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    per_quarter: u32,
    max_wait_minutes: u32,
    by_user: u64,
) -> Result<(), SetError> {
    if !(1..=200).contains(&per_quarter) {
        return Err(SetError("pizzas par quart d'heure : de 1 à 200".into()));
    }
    if !(10..=240).contains(&max_wait_minutes) {
        return Err(SetError("attente maximale : de 10 à 240 minutes".into()));
    }
    sqlx::query(
        "INSERT INTO kitchen_capacity (pizzeria_id, per_quarter, max_wait_minutes, updated_by) VALUES (?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE per_quarter = VALUES(per_quarter), max_wait_minutes = VALUES(max_wait_minutes),
             updated_by = VALUES(updated_by), updated_at = CURRENT_TIMESTAMP(6)",
    )
    .bind(pizzeria_id)
    .bind(per_quarter)
    .bind(max_wait_minutes)
    .bind(by_user)
    .execute(conn)
    .await?;
    Ok(())
}

/// A refused capacity, in French; or the database's error.
#[derive(Debug)]
pub struct SetError(pub String);

impl From<sqlx::Error> for SetError {
    fn from(e: sqlx::Error) -> Self {
        SetError(format!("database error: {e}"))
    }
}

/// What the kitchen already holds from the quarter before `now` on: the bookings of the shop's
/// orders, except `leaving` (an order being changed, whose old bookings give way to new ones).
pub async fn plan(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    now: DateTime<Utc>,
    leaving: Option<u64>,
) -> Result<Plan, sqlx::Error> {
    // A locking read: it sees what the checkouts that held the kitchen's lock before this one
    // committed, not the transaction's older snapshot.
    let rows: Vec<(DateTime<Utc>, i64)> = sqlx::query_as(
        "SELECT quarter_at, CAST(SUM(pizzas) AS SIGNED) FROM kitchen_bookings
         WHERE pizzeria_id = ? AND quarter_at >= ? AND order_id <> ? GROUP BY quarter_at
         LOCK IN SHARE MODE",
    )
    .bind(pizzeria_id)
    .bind(quarter_of(now) - QUARTER)
    .bind(leaving.unwrap_or(0))
    .fetch_all(conn)
    .await?;
    let mut plan = Plan::default();
    for (q, n) in rows {
        plan.used.insert(q, u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(plan)
}

/// The shop's pace (measured from its history once there is enough; the default until then).
pub async fn pace_of(_conn: &mut MySqlConnection, _pizzeria_id: u64) -> Result<Pace, sqlx::Error> {
    Ok(Pace::default())
}

/// Replaces the order's bookings with `bookings`.
pub async fn write(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
    bookings: &Bookings,
) -> Result<(), sqlx::Error> {
    release(conn, order_id).await?;
    for (q, n) in bookings {
        sqlx::query(
            "INSERT INTO kitchen_bookings (order_id, quarter_at, pizzeria_id, pizzas) VALUES (?, ?, ?, ?)",
        )
        .bind(order_id)
        .bind(q)
        .bind(pizzeria_id)
        .bind(u16::try_from(*n).unwrap_or(u16::MAX))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Frees what the order held in the kitchen (it ended before being made), under the shop's
/// kitchen lock like every booking write: a delete racing a checkout's read of the bookings
/// would otherwise lock the same rows in the other index order and deadlock.
pub async fn release_for(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
) -> Result<(), sqlx::Error> {
    lock(conn, pizzeria_id).await?;
    release(conn, order_id).await
}

/// Frees what the order held in the kitchen; the caller holds the kitchen lock.
pub async fn release(conn: &mut MySqlConnection, order_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM kitchen_bookings WHERE order_id = ?")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

//! Keeping the promise: when the kitchen falls behind (an order not started when it should
//! have been, a crew slower than its pace), the times customers were told move with it. Each
//! round projects every shop's line from where the kitchen really stands (`pace::line`); an
//! order whose promise would be missed by more than `pace::SLIP` gets the new time, an
//! `order.promise_moved` message (one e-mail to the customer) and a fresh stamp (its live page
//! and the kitchen board update).

use chrono::{DateTime, Utc};
use messages::event::OrderPromiseMoved;
use messages::{Envelope, Event, outbox};
use sqlx::MySqlPool;

use crate::OrderError;

/// One round over every shop with orders in the kitchen; how many promises moved.
pub async fn keep(pool: &MySqlPool, now: DateTime<Utc>) -> Result<usize, OrderError> {
    let shops: Vec<u64> = sqlx::query_scalar(
        "SELECT DISTINCT pizzeria_id FROM orders WHERE status IN ('placed', 'confirmed', 'preparing')",
    )
    .fetch_all(pool)
    .await?;
    let mut moved = 0;
    for shop in shops {
        moved += keep_shop(pool, shop, now).await?;
    }
    Ok(moved)
}

/// Under the shop's kitchen lock, as checkouts: a promise is moved once however many workers
/// run the round, and never from a line a checkout is changing.
async fn keep_shop(pool: &MySqlPool, shop: u64, now: DateTime<Utc>) -> Result<usize, OrderError> {
    let mut tx = pool.begin().await?;
    let kitchen = pace::store::kitchen(&mut tx, shop, now, None, true).await?;
    pace::store::prune(&mut tx, shop).await?;
    let mut moved = 0;
    for expected in kitchen.expected(now) {
        let (Some(to), Some(from)) = (expected.moved_to(), expected.promised) else {
            continue;
        };
        let changed = sqlx::query(
            "UPDATE orders SET promised_at = ?, updated_at = CURRENT_TIMESTAMP(6)
             WHERE id = ? AND promised_at = ? AND status IN ('placed', 'confirmed', 'preparing')",
        )
        .bind(to)
        .bind(expected.order_id)
        .bind(from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 1 {
            pace::store::promise_moved(&mut tx, expected.order_id, to).await?;
            let event = Event::OrderPromiseMoved(OrderPromiseMoved {
                order_id: expected.order_id,
                pizzeria_id: shop,
                from,
                to,
            });
            outbox::enqueue(&mut tx, &Envelope::new(event)).await?;
            moved += 1;
        }
    }
    tx.commit().await?;
    Ok(moved)
}

/// The shop's orders at risk of missing their promise by more than `pace::AT_RISK`, by
/// order: when they are now expected (for the kitchen cards).
pub async fn at_risk(
    conn: &mut sqlx::MySqlConnection,
    shop: u64,
    now: DateTime<Utc>,
) -> Result<std::collections::BTreeMap<u64, DateTime<Utc>>, sqlx::Error> {
    let kitchen = pace::store::kitchen(conn, shop, now, None, false).await?;
    Ok(kitchen
        .expected(now)
        .into_iter()
        .filter(pace::Expected::at_risk)
        .map(|e| (e.order_id, e.at_door))
        .collect())
}

/// How one of the day's orders kept its promise: ready (pickup) or delivered, against the
/// time the customer last heard.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Kept {
    pub id: u64,
    pub promised_at: DateTime<Utc>,
    pub actual_at: DateTime<Utc>,
}

impl Kept {
    /// Minutes late (negative: early).
    pub fn error_minutes(&self) -> i64 {
        (self.actual_at - self.promised_at)
            .num_seconds()
            .div_euclid(60)
    }
}

/// The shop's orders made since `from` that had a promise, oldest first.
pub async fn kept_since(
    conn: &mut sqlx::MySqlConnection,
    shop: u64,
    from: DateTime<Utc>,
) -> Result<Vec<Kept>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, promised_at, actual_at FROM (
             SELECT o.id, o.promised_at, o.created_at,
                    (SELECT MIN(h.created_at) FROM order_status_history h WHERE h.order_id = o.id
                       AND h.to_status = IF(o.fulfilment = 'delivery', 'delivered', 'ready')) AS actual_at
             FROM orders o
             WHERE o.pizzeria_id = ? AND o.created_at >= ? AND o.promised_at IS NOT NULL
               AND o.status IN ('ready', 'out_for_delivery', 'delivered', 'picked_up')
         ) made WHERE actual_at IS NOT NULL ORDER BY created_at",
    )
    .bind(shop)
    .bind(from)
    .fetch_all(conn)
    .await
}

/// The day in figures for the manager.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Day {
    pub orders: usize,
    /// Within ±5 minutes of the promise, in whole percent.
    pub within_percent: u32,
    /// More than 5 minutes late.
    pub late: usize,
    /// More than 5 minutes early.
    pub early: usize,
    /// The median lateness of those, in minutes.
    pub late_median: i64,
}

pub fn day(kept: &[Kept]) -> Day {
    let within = kept.iter().filter(|k| k.error_minutes().abs() <= 5).count();
    let mut late: Vec<i64> = kept
        .iter()
        .map(Kept::error_minutes)
        .filter(|m| *m > 5)
        .collect();
    late.sort_unstable();
    Day {
        orders: kept.len(),
        within_percent: u32::try_from(within * 100 / kept.len().max(1)).unwrap_or(100),
        late: late.len(),
        early: kept.iter().filter(|k| k.error_minutes() < -5).count(),
        late_median: late.get(late.len() / 2).copied().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(id: u64, late_by: i64) -> Kept {
        let promised = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Kept {
            id,
            promised_at: promised,
            actual_at: promised + chrono::Duration::minutes(late_by),
        }
    }

    #[test]
    fn the_day_counts_kept_and_late_promises() {
        let d = day(&[
            kept(1, -2),
            kept(2, 4),
            kept(3, 12),
            kept(4, 8),
            kept(5, -9),
        ]);
        assert_eq!(
            d,
            Day {
                orders: 5,
                within_percent: 40,
                late: 2,
                early: 1,
                late_median: 12
            }
        );
        assert_eq!(day(&[]).within_percent, 0);
    }
}

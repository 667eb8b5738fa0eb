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

/// One round over every shop with orders on its kitchen's line; how many promises moved.
pub async fn keep(pool: &MySqlPool, now: DateTime<Utc>) -> Result<usize, OrderError> {
    let shops: Vec<u64> =
        sqlx::query_scalar("SELECT pizzeria_id FROM kitchen_capacity WHERE line <> '[]'")
            .fetch_all(pool)
            .await?;
    let mut moved = 0;
    for shop in shops {
        moved += keep_shop(pool, shop, now).await?;
    }
    Ok(moved)
}

/// Under the shop's kitchen lock, as checkouts: a promise is moved once however many workers
/// run the round, and never from a line a checkout is changing. The orders to move are locked
/// without waiting (`SKIP LOCKED`): a cancellation holds its order's row and then waits for the
/// kitchen, so waiting here for that row would deadlock; a skipped order is looked at again in
/// the next round.
async fn keep_shop(pool: &MySqlPool, shop: u64, now: DateTime<Utc>) -> Result<usize, OrderError> {
    let mut tx = pool.begin().await?;
    let kitchen = pace::store::kitchen(&mut tx, shop, now, None, true).await?;
    pace::store::prune(&mut tx, shop, now).await?;
    let moving: Vec<(u64, DateTime<Utc>, DateTime<Utc>)> = kitchen
        .expected(now)
        .into_iter()
        .filter_map(|e| Some((e.order_id, e.promised?, e.moved_to()?)))
        .collect();
    if moving.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let marks = vec!["?"; moving.len()].join(", ");
    // Only the number of placeholders varies.
    let mut query = sqlx::query_scalar::<_, u64>(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM orders WHERE id IN ({marks}) AND status IN ('placed', 'confirmed', 'preparing')
         FOR UPDATE SKIP LOCKED"
    )));
    for (id, _, _) in &moving {
        query = query.bind(*id);
    }
    let held: std::collections::HashSet<u64> =
        query.fetch_all(&mut *tx).await?.into_iter().collect();
    let mut moved = 0;
    for (order_id, from, to) in moving.into_iter().filter(|(id, _, _)| held.contains(id)) {
        sqlx::query(
            "UPDATE orders SET promised_at = ?, updated_at = CURRENT_TIMESTAMP(6) WHERE id = ?",
        )
        .bind(to)
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
        pace::store::promise_moved(&mut tx, shop, order_id, to).await?;
        let event = Event::OrderPromiseMoved(OrderPromiseMoved {
            order_id,
            pizzeria_id: shop,
            from,
            to,
        });
        outbox::enqueue(&mut tx, &Envelope::new(event)).await?;
        moved += 1;
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

/// Within this either side of its promise, an order kept it.
const KEPT_WITHIN: i64 = 5 * 60;

impl Kept {
    fn error_seconds(&self) -> i64 {
        (self.actual_at - self.promised_at).num_seconds()
    }

    /// Minutes late (negative: early), to the nearest minute.
    pub fn error_minutes(&self) -> i64 {
        let s = self.error_seconds();
        (s + 30 * s.signum()) / 60
    }

    pub fn is_late(&self) -> bool {
        self.error_seconds() > KEPT_WITHIN
    }

    pub fn is_early(&self) -> bool {
        self.error_seconds() < -KEPT_WITHIN
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
    let within = kept
        .iter()
        .filter(|k| !k.is_late() && !k.is_early())
        .count();
    let mut late: Vec<i64> = kept
        .iter()
        .filter(|k| k.is_late())
        .map(Kept::error_minutes)
        .collect();
    late.sort_unstable();
    Day {
        orders: kept.len(),
        within_percent: u32::try_from(within * 100 / kept.len().max(1)).unwrap_or(100),
        late: late.len(),
        early: kept.iter().filter(|k| k.is_early()).count(),
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

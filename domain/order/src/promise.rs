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

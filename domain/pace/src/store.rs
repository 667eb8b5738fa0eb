//! The kitchen as stored: its capacity row (locked by every booking, so checkouts for one shop
//! queue up), the bookings of the orders still to make, and the bookings' writes.

use chrono::{DateTime, Duration, Utc};
use sqlx::MySqlConnection;

use crate::{Capacity, Fit, InKitchen, Kitchen, PERIODS, Pace, Period, Plan, QUARTER, quarter_of};

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
    with_periods(conn, pizzeria_id, capacity(per_quarter, max_wait)).await
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
    .fetch_optional(&mut *conn)
    .await?;
    let (per_quarter, max_wait) = row.unwrap_or((12, 60));
    with_periods(conn, pizzeria_id, capacity(per_quarter, max_wait)).await
}

fn capacity(per_quarter: u16, max_wait: u16) -> Capacity {
    Capacity::flat(
        u32::from(per_quarter),
        Duration::minutes(i64::from(max_wait)),
    )
}

/// Adds the shop's periods with a figure of their own (rows written only under the kitchen
/// lock, by [`set_capacity`]).
async fn with_periods(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    mut capacity: Capacity,
) -> Result<Capacity, sqlx::Error> {
    let rows: Vec<(u16, u16, u16)> = sqlx::query_as(
        "SELECT opens_minute, closes_minute, per_quarter FROM kitchen_periods
         WHERE pizzeria_id = ? ORDER BY opens_minute",
    )
    .bind(pizzeria_id)
    .fetch_all(conn)
    .await?;
    for (slot, (opens, closes, per_quarter)) in capacity.periods.iter_mut().zip(rows) {
        *slot = Some(Period {
            opens,
            closes,
            per_quarter: u32::from(per_quarter),
        });
    }
    Ok(capacity)
}

/// Sets what the kitchen makes per quarter, the periods with a figure of their own (all of
/// them: the others lose theirs) and the wait beyond which « dès que possible » is said as a
/// time. Refused outside 1–200 pizzas and 10–240 minutes, or with more than [`PERIODS`]
/// periods.
pub async fn set_capacity(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    per_quarter: u32,
    periods: &[Period],
    max_wait_minutes: u32,
    by_user: u64,
) -> Result<(), SetError> {
    let all = std::iter::once(per_quarter).chain(periods.iter().map(|p| p.per_quarter));
    if all.into_iter().any(|n| !(1..=200).contains(&n)) {
        return Err(SetError("pizzas par quart d'heure : de 1 à 200".into()));
    }
    if periods.len() > PERIODS {
        return Err(SetError(format!(
            "au plus {PERIODS} services avec leur propre capacité"
        )));
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
    .execute(&mut *conn)
    .await?;
    // The capacity row is locked by the write above until commit, as checkouts lock it.
    sqlx::query("DELETE FROM kitchen_periods WHERE pizzeria_id = ?")
        .bind(pizzeria_id)
        .execute(&mut *conn)
        .await?;
    for p in periods {
        sqlx::query(
            "INSERT INTO kitchen_periods (pizzeria_id, opens_minute, closes_minute, per_quarter) VALUES (?, ?, ?, ?)",
        )
        .bind(pizzeria_id)
        .bind(p.opens)
        .bind(p.closes)
        .bind(p.per_quarter)
        .execute(&mut *conn)
        .await?;
    }
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
/// `locked`: as for [`line`].
pub async fn plan(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    now: DateTime<Utc>,
    leaving: Option<u64>,
    locked: bool,
) -> Result<Plan, sqlx::Error> {
    Ok(plan_of(
        &entries(conn, pizzeria_id, locked).await?,
        now,
        leaving,
    ))
}

fn plan_of(entries: &[Entry], now: DateTime<Utc>, leaving: Option<u64>) -> Plan {
    let from = quarter_of(now) - QUARTER;
    let mut plan = Plan::default();
    for e in entries.iter().filter(|e| Some(e.order_id) != leaving) {
        for (q, n) in e.bookings.iter().filter(|(q, _)| *q >= from) {
            *plan.used.entry(*q).or_default() += u32::from(*n);
        }
    }
    plan
}

/// The shop's pace, learnt from its last [`PACE_SAMPLES`] orders made in the last two weeks
/// (cooked items, and the time from « en préparation » to « prête »); the default until
/// there are [`crate::LEARNT_FROM`].
pub async fn pace_of(conn: &mut MySqlConnection, pizzeria_id: u64) -> Result<Pace, sqlx::Error> {
    Ok(Pace::learn(&made(conn, pizzeria_id).await?).unwrap_or_default())
}

/// How many of the latest orders the pace is learnt from: about an evening's worth, so it
/// follows tonight's crew.
pub const PACE_SAMPLES: u32 = 40;

/// The shop's latest made orders: cooked items and start-to-ready time, oldest first.
pub async fn made(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Vec<(u32, Duration)>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT pizzas, seconds FROM (
             SELECT CAST((SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l
                          WHERE l.order_id = o.id AND l.category IN ('pizza', 'starter')) AS SIGNED) AS pizzas,
                    TIMESTAMPDIFF(SECOND,
                        (SELECT MIN(h.created_at) FROM order_status_history h WHERE h.order_id = o.id AND h.to_status = 'preparing'),
                        (SELECT MIN(h.created_at) FROM order_status_history h WHERE h.order_id = o.id AND h.to_status = 'ready')) AS seconds,
                    o.created_at
             FROM orders o
             WHERE o.pizzeria_id = ? AND o.status IN ('ready', 'out_for_delivery', 'delivered', 'picked_up')
               AND o.created_at >= UTC_TIMESTAMP(6) - INTERVAL 14 DAY
             ORDER BY o.created_at DESC LIMIT ?
         ) recent
         WHERE pizzas > 0 AND seconds > 0 ORDER BY created_at",
    )
    .bind(pizzeria_id)
    .bind(PACE_SAMPLES)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(p, s)| (u32::try_from(p).unwrap_or(0), Duration::seconds(s)))
        .collect())
}

/// One order in the shop's kitchen — its quarters and its place on the line — as stored in the
/// shop's kitchen row (`kitchen_capacity.line`, a JSON list): there, every checkout reads it
/// under the row lock it already takes. As rows of a table, read with a locking range scan,
/// their gap locks were shared with the other shops' checkouts, which then waited on one
/// another and deadlocked.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Entry {
    order_id: u64,
    pizzas: u16,
    /// The quarters its pizzas take, and how many in each.
    bookings: Vec<(DateTime<Utc>, u16)>,
    /// When the kitchen may start it (`orders.kitchen_at`).
    may_start: DateTime<Utc>,
    travel_minutes: u16,
    /// What the customer holds now (`orders.promised_at`), moved with it.
    promised_at: DateTime<Utc>,
}

/// The stored line. `locked`: the caller holds the kitchen's lock; read again with the lock
/// (a locking read sees the latest commit, where the transaction's snapshot may be older).
async fn entries(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    locked: bool,
) -> Result<Vec<Entry>, sqlx::Error> {
    let raw: Option<String> = if locked {
        sqlx::query_scalar("SELECT line FROM kitchen_capacity WHERE pizzeria_id = ? FOR UPDATE")
            .bind(pizzeria_id)
            .fetch_optional(&mut *conn)
            .await?
    } else {
        sqlx::query_scalar("SELECT line FROM kitchen_capacity WHERE pizzeria_id = ?")
            .bind(pizzeria_id)
            .fetch_optional(&mut *conn)
            .await?
    };
    // Written only by `store_entries`: unreadable means a hand edit; the line then starts
    // afresh rather than stopping every checkout.
    Ok(raw
        .and_then(|r| serde_json::from_str(&r).ok())
        .unwrap_or_default())
}

async fn store_entries(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    entries: &[Entry],
) -> Result<(), sqlx::Error> {
    let json = serde_json::to_string(entries).expect("entries serialise");
    sqlx::query("UPDATE kitchen_capacity SET line = ? WHERE pizzeria_id = ?")
        .bind(json)
        .bind(pizzeria_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The orders the kitchen has yet to finish (paid for or to pay, not ready yet), but
/// `leaving`: what they are, when each was started or may start, and what was promised.
/// `locked`: the caller holds the kitchen's lock (it then sees every order the checkouts
/// before it placed).
pub async fn line(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    leaving: Option<u64>,
    locked: bool,
) -> Result<Vec<InKitchen>, sqlx::Error> {
    let stored = entries(conn, pizzeria_id, locked).await?;
    line_of(conn, stored, leaving).await
}

async fn line_of(
    conn: &mut MySqlConnection,
    mut stored: Vec<Entry>,
    leaving: Option<u64>,
) -> Result<Vec<InKitchen>, sqlx::Error> {
    stored.retain(|e| Some(e.order_id) != leaving);
    let progress = progress(conn, stored.iter().map(|e| e.order_id)).await?;
    Ok(stored
        .into_iter()
        .filter_map(|e| {
            // An order this transaction's snapshot does not know yet was just placed.
            let (done, started_at) = progress.get(&e.order_id).copied().unwrap_or((false, None));
            (!done).then(|| InKitchen {
                order_id: e.order_id,
                pizzas: u32::from(e.pizzas),
                started_at,
                may_start: e.may_start,
                travel: Duration::minutes(i64::from(e.travel_minutes)),
                promised: Some(e.promised_at),
            })
        })
        .collect())
}

/// For each order: whether the kitchen is done with it (made or ended), and when it was
/// started if it is being made. A plain read: orders' rows are never locked under the
/// kitchen's lock (a status change locks the order first, then the kitchen).
async fn progress(
    conn: &mut MySqlConnection,
    ids: impl Iterator<Item = u64>,
) -> Result<std::collections::BTreeMap<u64, (bool, Option<DateTime<Utc>>)>, sqlx::Error> {
    let ids: Vec<u64> = ids.collect();
    let mut out = std::collections::BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!(
        "SELECT o.id, o.status NOT IN ('awaiting_payment', 'placed', 'confirmed', 'preparing') AS done,
                CASE WHEN o.status = 'preparing' THEN
                    (SELECT MAX(h.created_at) FROM order_status_history h WHERE h.order_id = o.id AND h.to_status = 'preparing')
                END AS started_at
         FROM orders o WHERE o.id IN ({marks})"
    );
    // Only the number of placeholders varies.
    let mut query =
        sqlx::query_as::<_, (u64, bool, Option<DateTime<Utc>>)>(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(id);
    }
    for (id, done, started) in query.fetch_all(conn).await? {
        out.insert(id, (done, started));
    }
    Ok(out)
}

/// Takes off the orders the kitchen is done with whose quarters are past (a made order's
/// pizzas still count in the current quarter's capacity); the caller holds the kitchen lock.
pub async fn prune(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut stored = entries(conn, pizzeria_id, true).await?;
    let progress = progress(conn, stored.iter().map(|e| e.order_id)).await?;
    let counted_from = quarter_of(now) - QUARTER;
    let before = stored.len();
    stored.retain(|e| {
        let done = progress.get(&e.order_id).is_some_and(|(done, _)| *done);
        let counts = e.bookings.iter().any(|(q, _)| *q >= counted_from);
        !done || counts
    });
    if stored.len() != before {
        store_entries(conn, pizzeria_id, &stored).await?;
    }
    Ok(())
}

/// The order's promise moved; the caller holds the kitchen lock.
pub async fn promise_moved(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
    to: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut stored = entries(conn, pizzeria_id, true).await?;
    for e in stored.iter_mut().filter(|e| e.order_id == order_id) {
        e.promised_at = to;
    }
    store_entries(conn, pizzeria_id, &stored).await
}

/// Everything a promise for the shop is made from. `locked`: checkout, holding the kitchen's
/// row until it commits; else a page showing what checkout will most likely say.
pub async fn kitchen(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    now: DateTime<Utc>,
    leaving: Option<u64>,
    locked: bool,
) -> Result<Kitchen, sqlx::Error> {
    // The pace first: learnt from history, it needs no lock, and checkouts queue on the lock
    // for no longer than the kitchen's own state takes to read.
    let pace = pace_of(conn, pizzeria_id).await?;
    let capacity = if locked {
        lock(conn, pizzeria_id).await?
    } else {
        capacity_of(conn, pizzeria_id).await?
    };
    // One read of the stored state gives both the quarters and the line.
    let stored = entries(conn, pizzeria_id, locked).await?;
    Ok(Kitchen {
        capacity,
        pace,
        plan: plan_of(&stored, now, leaving),
        line: line_of(conn, stored, leaving).await?,
    })
}

/// Replaces the order's bookings and its place on the line with where `fit` puts it, to be
/// ready (or at the door) by `promised`; the caller holds the kitchen lock.
pub async fn write(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
    fit: &Fit,
    promised: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut stored = entries(conn, pizzeria_id, true).await?;
    stored.retain(|e| e.order_id != order_id);
    let pizzas: u32 = fit.bookings.iter().map(|(_, n)| n).sum();
    if pizzas > 0 {
        stored.push(Entry {
            order_id,
            pizzas: u16::try_from(pizzas).unwrap_or(u16::MAX),
            bookings: fit
                .bookings
                .iter()
                .map(|(q, n)| (*q, u16::try_from(*n).unwrap_or(u16::MAX)))
                .collect(),
            may_start: fit.starts_at,
            travel_minutes: u16::try_from((fit.at_door - fit.ready_at).num_minutes()).unwrap_or(0),
            promised_at: promised,
        });
    }
    store_entries(conn, pizzeria_id, &stored).await
}

/// Frees what the order held in the kitchen (it ended before being made), under the shop's
/// kitchen lock like every write of the kitchen's state.
pub async fn release_for(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
) -> Result<(), sqlx::Error> {
    lock(conn, pizzeria_id).await?;
    release(conn, pizzeria_id, order_id).await
}

/// Frees what the order held in the kitchen; the caller holds the kitchen lock.
pub async fn release(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
) -> Result<(), sqlx::Error> {
    let mut stored = entries(conn, pizzeria_id, true).await?;
    let before = stored.len();
    stored.retain(|e| e.order_id != order_id);
    if stored.len() != before {
        store_entries(conn, pizzeria_id, &stored).await?;
    }
    Ok(())
}

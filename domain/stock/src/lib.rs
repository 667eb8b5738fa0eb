//! Ingredient stock per pizzeria: what each order needs, whether a shop can make a pizza now,
//! reservations for orders and their release, restocks and corrections.
//!
//! Every change to a quantity is a row in `stock_ledger` written in the same transaction, so the
//! current quantity is always the sum of the ledger. Rows are locked in ingredient order before
//! any change, which makes concurrent reservations for the same shop queue up instead of
//! deadlocking, and the `CHECK (quantity >= 0)` constraint is the last line of defence.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use sqlx::{MySqlConnection, Row};

#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("la quantité doit être un nombre entier non nul")]
    ZeroDelta,
    #[error("cet ingrédient n'est pas suivi dans ce stock")]
    UnknownStock,
    #[error("le stock ne peut pas devenir négatif (disponible : {available})")]
    WouldGoNegative { available: i64 },
    #[error("quantité trop grande : un stock compte au plus {MAX_QUANTITY} unités")]
    TooLarge,
    #[error("la remarque dépasse {NOTE_MAX} caractères")]
    NoteTooLong,
}

/// The most of one ingredient a shop can hold ([`vocab::input::MAX_STOCK`]).
pub const MAX_QUANTITY: i64 = vocab::input::MAX_STOCK as i64;
/// Characters in a ledger note (the column's size).
pub const NOTE_MAX: usize = 300;

/// An ingredient an order needs more of than the shop has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortage {
    pub ingredient_id: u64,
    pub name: String,
    pub needed: i64,
    pub available: i64,
}

/// An ingredient that just went down to (or under) its low threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowStock {
    pub ingredient_id: u64,
    pub name: String,
    pub quantity: i64,
    pub low_threshold: i64,
}

impl LowStock {
    /// The `stock.low` message that tells the manager.
    pub fn event(self, pizzeria_id: u64) -> messages::Event {
        messages::Event::StockLow(messages::event::StockLow {
            pizzeria_id,
            ingredient_id: self.ingredient_id,
            name: self.name,
            quantity: self.quantity,
            low_threshold: self.low_threshold,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// Everything fits and is now held for the order; `low` lists thresholds just crossed.
    Reserved { low: Vec<LowStock> },
    /// Something does not fit: nothing was changed.
    Short(Vec<Shortage>),
}

/// Total quantity of each ingredient the order's lines need: what each line was sold with
/// (its size, options and removals, fixed when it was priced) × its quantity.
pub async fn needs_of_order(
    conn: &mut MySqlConnection,
    order_id: u64,
) -> Result<BTreeMap<u64, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT li.ingredient_id, CAST(SUM(li.quantity * ol.quantity) AS SIGNED) AS needed
         FROM order_lines ol JOIN order_line_ingredients li ON li.order_line_id = ol.id
         WHERE ol.order_id = ? GROUP BY li.ingredient_id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<u64, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect()
}

/// What the ledger currently holds for the order, per ingredient (reserved minus released).
pub async fn held_for_order(
    conn: &mut MySqlConnection,
    order_id: u64,
) -> Result<BTreeMap<u64, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT ingredient_id, CAST(-SUM(delta) AS SIGNED) FROM stock_ledger
         WHERE order_id = ? AND reason IN ('reservation', 'release') GROUP BY ingredient_id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<u64, _>(0)?, r.try_get::<i64, _>(1)?)))
        .filter(|held: &Result<(u64, i64), sqlx::Error>| !matches!(held, Ok((_, 0))))
        .collect()
}

struct Locked {
    quantity: i64,
    low_threshold: i64,
    low_alerted: bool,
    name: String,
}

/// Locks the stock rows of `ingredients` (in id order, so that concurrent callers queue).
async fn lock(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    ingredients: impl Iterator<Item = u64>,
) -> Result<BTreeMap<u64, Locked>, sqlx::Error> {
    let ids: Vec<u64> = ingredients.collect();
    let mut locked = BTreeMap::new();
    if ids.is_empty() {
        return Ok(locked);
    }
    let placeholders = vec!["?"; ids.len()].join(", ");
    // Only the stock rows are locked: a join would lock the ingredients' rows too, which every
    // checkout reads (foreign keys of its lines) while holding the kitchen's lock — a deadlock.
    let sql = format!(
        "SELECT s.ingredient_id, s.quantity, s.low_threshold, s.low_alerted,
                (SELECT i.name FROM ingredients i WHERE i.id = s.ingredient_id)
         FROM stock s
         WHERE s.pizzeria_id = ? AND s.ingredient_id IN ({placeholders})
         ORDER BY s.ingredient_id FOR UPDATE"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pizzeria_id);
    for id in &ids {
        query = query.bind(id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        locked.insert(
            row.try_get::<u64, _>(0)?,
            Locked {
                quantity: row.try_get(1)?,
                low_threshold: row.try_get(2)?,
                low_alerted: row.try_get(3)?,
                name: row.try_get(4)?,
            },
        );
    }
    Ok(locked)
}

async fn ingredient_name(conn: &mut MySqlConnection, id: u64) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM ingredients WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map(|name| name.unwrap_or_else(|| format!("ingrédient {id}")))
}

/// Applies one change to a locked row and records it; returns the threshold crossing if any.
#[expect(
    clippy::too_many_arguments,
    reason = "one row change with its ledger entry; a struct would only rename the arguments"
)]
async fn apply(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    ingredient_id: u64,
    row: &Locked,
    delta: i64,
    reason: &str,
    order: Option<(u64, u32)>,
    user_id: Option<u64>,
    note: &str,
) -> Result<Option<LowStock>, sqlx::Error> {
    // Bounded by MAX_QUANTITY on the way in; saturating keeps a corrupt row from panicking.
    let quantity = row.quantity.saturating_add(delta);
    let is_low = quantity <= row.low_threshold;
    // Alert once per crossing: set when it goes low, cleared only when it is back above.
    let crossing = is_low && !row.low_alerted && delta < 0;
    let low_alerted = if is_low {
        row.low_alerted || crossing
    } else {
        false
    };
    sqlx::query(
        "UPDATE stock SET quantity = quantity + ?, low_alerted = ?, updated_at = CURRENT_TIMESTAMP(6)
         WHERE pizzeria_id = ? AND ingredient_id = ? AND quantity + ? >= 0",
    )
    .bind(delta)
    .bind(low_alerted)
    .bind(pizzeria_id)
    .bind(ingredient_id)
    .bind(delta)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO stock_ledger (pizzeria_id, ingredient_id, order_id, order_version, delta, reason, note, user_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(pizzeria_id)
    .bind(ingredient_id)
    .bind(order.map(|(id, _)| id))
    .bind(order.map(|(_, version)| version))
    .bind(delta)
    .bind(reason)
    .bind(note)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(crossing.then(|| LowStock {
        ingredient_id,
        name: row.name.clone(),
        quantity,
        low_threshold: row.low_threshold,
    }))
}

/// Makes the stock held for an order match what its lines need now: reserves it all for a new
/// order, only the difference for a modified one (giving back what is no longer needed).
/// All or nothing: on a shortage nothing changes. `order_version` keys the ledger rows, so
/// applying the same version twice fails on the ledger's unique key instead of reserving twice.
pub async fn reserve(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
    order_version: u32,
) -> Result<Reservation, sqlx::Error> {
    let needs = needs_of_order(conn, order_id).await?;
    let held = held_for_order(conn, order_id).await?;
    let mut deltas: BTreeMap<u64, i64> = BTreeMap::new();
    for (&id, &need) in &needs {
        deltas.insert(id, need - held.get(&id).copied().unwrap_or(0));
    }
    for (&id, &h) in &held {
        deltas.entry(id).or_insert(-h);
    }
    deltas.retain(|_, d| *d != 0);
    let locked = lock(conn, pizzeria_id, deltas.keys().copied()).await?;

    let mut short = Vec::new();
    for (&id, &take) in deltas.iter().filter(|(_, d)| **d > 0) {
        match locked.get(&id) {
            Some(row) if row.quantity >= take => {}
            Some(row) => short.push(Shortage {
                ingredient_id: id,
                name: row.name.clone(),
                needed: take,
                available: row.quantity,
            }),
            None => short.push(Shortage {
                ingredient_id: id,
                name: ingredient_name(conn, id).await?,
                needed: take,
                available: 0,
            }),
        }
    }
    if !short.is_empty() {
        return Ok(Reservation::Short(short));
    }
    let mut low = Vec::new();
    for (&id, &take) in &deltas {
        let Some(row) = locked.get(&id) else { continue };
        let reason = if take > 0 { "reservation" } else { "release" };
        let order = Some((order_id, order_version));
        if let Some(crossed) =
            apply(conn, pizzeria_id, id, row, -take, reason, order, None, "").await?
        {
            low.push(crossed);
        }
    }
    Ok(Reservation::Reserved { low })
}

/// Gives back everything the ledger holds for the order (cancelled or rejected after
/// reservation). Returns how many ingredients were given back; zero when nothing was held, so
/// calling it again is harmless.
pub async fn release(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    order_id: u64,
    order_version: u32,
) -> Result<usize, sqlx::Error> {
    let held = held_for_order(conn, order_id).await?;
    let locked = lock(conn, pizzeria_id, held.keys().copied()).await?;
    let mut given_back = 0;
    for (&id, &h) in held.iter().filter(|(_, h)| **h > 0) {
        let Some(row) = locked.get(&id) else { continue };
        let order = Some((order_id, order_version));
        apply(conn, pizzeria_id, id, row, h, "release", order, None, "").await?;
        given_back += 1;
    }
    Ok(given_back)
}

/// What the shop holds of each ingredient it stocks right now, by ingredient id; the menu
/// works out from it what can be sold (`catalog::Product::availability`).
pub async fn quantities(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<BTreeMap<u64, i64>, sqlx::Error> {
    let rows: Vec<(u64, i64)> =
        sqlx::query_as("SELECT ingredient_id, quantity FROM stock WHERE pizzeria_id = ?")
            .bind(pizzeria_id)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// A manager's change to a quantity: a restock (positive) or a correction (either sign), with
/// who and why in the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adjustment {
    Restock,
    Correction,
}

/// Applies a manager's adjustment; returns the new quantity and a low-threshold crossing if
/// the change made one.
pub async fn adjust(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    ingredient_id: u64,
    delta: i64,
    kind: Adjustment,
    user_id: u64,
    note: &str,
) -> Result<(i64, Option<LowStock>), StockError> {
    if delta == 0 || (kind == Adjustment::Restock && delta < 0) {
        return Err(StockError::ZeroDelta);
    }
    if !(-MAX_QUANTITY..=MAX_QUANTITY).contains(&delta) {
        return Err(StockError::TooLarge);
    }
    if note.chars().count() > NOTE_MAX {
        return Err(StockError::NoteTooLong);
    }
    let locked = lock(conn, pizzeria_id, std::iter::once(ingredient_id)).await?;
    let row = locked.get(&ingredient_id).ok_or(StockError::UnknownStock)?;
    match row.quantity.checked_add(delta) {
        Some(q) if q < 0 => {
            return Err(StockError::WouldGoNegative {
                available: row.quantity,
            });
        }
        Some(q) if q > MAX_QUANTITY => return Err(StockError::TooLarge),
        None => return Err(StockError::TooLarge),
        Some(_) => {}
    }
    let reason = match kind {
        Adjustment::Restock => "restock",
        Adjustment::Correction => "correction",
    };
    let low = apply(
        conn,
        pizzeria_id,
        ingredient_id,
        row,
        delta,
        reason,
        None,
        Some(user_id),
        note,
    )
    .await?;
    Ok((row.quantity + delta, low))
}

/// What a prospective order needing `needs` (by ingredient id) would lack in the shop's stock
/// right now; empty when it fits. A check for the customer at checkout: the reservation
/// decides for real.
pub async fn shortfall(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    needs: &BTreeMap<u64, i64>,
) -> Result<Vec<Shortage>, sqlx::Error> {
    if needs.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = vec!["?"; needs.len()].join(", ");
    let sql = format!(
        "SELECT i.id, i.name, CAST(COALESCE(s.quantity, 0) AS SIGNED)
         FROM ingredients i LEFT JOIN stock s ON s.pizzeria_id = ? AND s.ingredient_id = i.id
         WHERE i.id IN ({placeholders})"
    );
    let mut query =
        sqlx::query_as::<_, (u64, String, i64)>(sqlx::AssertSqlSafe(sql)).bind(pizzeria_id);
    for id in needs.keys() {
        query = query.bind(id);
    }
    Ok(query
        .fetch_all(conn)
        .await?
        .into_iter()
        .filter_map(|(id, name, available)| {
            let needed = needs.get(&id).copied().unwrap_or(0);
            (needed > available).then_some(Shortage {
                ingredient_id: id,
                name,
                needed,
                available,
            })
        })
        .collect())
}

/// One ingredient's stock in a pizzeria, for the manager's screen.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Level {
    pub ingredient_id: u64,
    pub code: String,
    pub name: String,
    pub unit: String,
    pub quantity: i64,
    pub low_threshold: i64,
}

impl Level {
    pub fn is_low(&self) -> bool {
        self.quantity <= self.low_threshold
    }
}

/// Every ingredient the pizzeria stocks, low ones first, then by name.
pub async fn levels(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Vec<Level>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id AS ingredient_id, i.code, i.name, CAST(i.unit AS CHAR) AS unit, s.quantity, s.low_threshold
         FROM stock s JOIN ingredients i ON i.id = s.ingredient_id
         WHERE s.pizzeria_id = ?
         ORDER BY s.quantity > s.low_threshold, i.name",
    )
    .bind(pizzeria_id)
    .fetch_all(conn)
    .await
}

/// Sets the quantity below which the manager is alerted. A threshold the stock is already
/// under alerts at the next change (the crossing is re-armed when the stock is above it).
pub async fn set_threshold(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    ingredient_id: u64,
    threshold: i64,
) -> Result<(), StockError> {
    if !(0..=MAX_QUANTITY).contains(&threshold) {
        return Err(StockError::TooLarge);
    }
    let locked = lock(conn, pizzeria_id, std::iter::once(ingredient_id)).await?;
    if !locked.contains_key(&ingredient_id) {
        return Err(StockError::UnknownStock);
    }
    sqlx::query(
        "UPDATE stock SET low_threshold = ?, low_alerted = low_alerted AND quantity <= ?
         WHERE pizzeria_id = ? AND ingredient_id = ?",
    )
    .bind(threshold)
    .bind(threshold)
    .bind(pizzeria_id)
    .bind(ingredient_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// One change in an ingredient's stock, for the manager's history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Movement {
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub delta: i64,
    /// `seed`, `reservation`, `release`, `restock`, `correction`.
    pub reason: String,
    pub order_id: Option<u64>,
    pub note: String,
    pub who: Option<String>,
    /// The quantity right after this change.
    pub balance: i64,
}

/// The ingredient's last `limit` changes in the shop, newest first, each with the quantity it
/// left (counted back from the current quantity).
pub async fn ledger(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    ingredient_id: u64,
    limit: u32,
) -> Result<Vec<Movement>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.created_at, l.delta, CAST(l.reason AS CHAR) AS reason, l.order_id, l.note, u.full_name AS who,
                CAST(s.quantity - COALESCE(SUM(l.delta) OVER (ORDER BY l.id ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0) AS SIGNED) AS balance
         FROM stock_ledger l
         JOIN stock s ON s.pizzeria_id = l.pizzeria_id AND s.ingredient_id = l.ingredient_id
         LEFT JOIN users u ON u.id = l.user_id
         WHERE l.pizzeria_id = ? AND l.ingredient_id = ?
         ORDER BY l.id DESC LIMIT ?",
    )
    .bind(pizzeria_id)
    .bind(ingredient_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

//! What the group admin changes from the admin screen: pizzerias' hours and activity, pizzas'
//! prices and activity, which pizzeria serves which pizza, printers. Bulk changes (new pizzas,
//! recipes, ingredients) go through the seed CSV ([`crate::feed`]), all or nothing.

use serde::Serialize;
use sqlx::MySqlConnection;

use crate::hours::{OpeningHours, parse_days};
use vocab::Cents;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("introuvable")]
    NotFound,
}

/// Characters of a pizzeria's opening hours (the column's size).
pub const HOURS_MAX: usize = 200;

fn found(rows: u64) -> Result<(), AdminError> {
    if rows == 0 {
        Err(AdminError::NotFound)
    } else {
        Ok(())
    }
}

/// A pizzeria's hours, closed days and whether it takes orders.
pub async fn set_pizzeria(
    conn: &mut MySqlConnection,
    id: u64,
    opening_hours: &str,
    closed_days: &str,
    active: bool,
) -> Result<(), AdminError> {
    let hours = opening_hours
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if hours.chars().count() > HOURS_MAX {
        return Err(AdminError::Invalid(format!(
            "horaires trop longs ({HOURS_MAX} caractères au plus)"
        )));
    }
    OpeningHours::parse(&hours).map_err(|e| {
        AdminError::Invalid(format!(
            "horaires invalides ({e}) : ex. 11:00-14:00 18:00-22:30"
        ))
    })?;
    let mut days: Vec<&str> = Vec::new();
    for day in closed_days.split_whitespace() {
        if !days.contains(&day) {
            days.push(day);
        }
    }
    let days = days.join(" ");
    parse_days(&days)
        .map_err(|e| AdminError::Invalid(format!("jours de fermeture invalides ({e})")))?;
    let exists: Option<u64> = sqlx::query_scalar("SELECT id FROM pizzerias WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    exists.ok_or(AdminError::NotFound)?;
    sqlx::query("UPDATE pizzerias SET opening_hours = ?, closed_days = ?, active = ? WHERE id = ?")
        .bind(hours)
        .bind(days)
        .bind(active)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct PizzaRow {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub price_cents: u32,
    pub active: bool,
}

pub async fn pizzas(conn: &mut MySqlConnection) -> Result<Vec<PizzaRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, code, name, price_cents, active FROM pizzas ORDER BY name")
        .fetch_all(conn)
        .await
}

/// A pizza's price (in euros as typed, `12,50`) and whether it is on the menus at all.
pub async fn set_pizza(
    conn: &mut MySqlConnection,
    id: u64,
    price: &str,
    active: bool,
) -> Result<(), AdminError> {
    let price = Cents::parse_eur(price)
        .filter(|c| c.0 > 0)
        .ok_or_else(|| AdminError::Invalid("prix invalide : ex. 12,50".into()))?;
    let exists: Option<u64> = sqlx::query_scalar("SELECT id FROM pizzas WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    exists.ok_or(AdminError::NotFound)?;
    sqlx::query("UPDATE pizzas SET price_cents = ?, active = ? WHERE id = ?")
        .bind(price.0)
        .bind(active)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Which pizzas each pizzeria serves (no row: served).
pub async fn served(conn: &mut MySqlConnection) -> Result<Vec<(u64, u64, bool)>, sqlx::Error> {
    sqlx::query_as("SELECT pizzeria_id, pizza_id, available FROM pizzeria_pizzas")
        .fetch_all(conn)
        .await
}

pub async fn set_served(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    pizza_id: u64,
    available: bool,
) -> Result<(), AdminError> {
    sqlx::query(
        "INSERT INTO pizzeria_pizzas (pizzeria_id, pizza_id, available)
         SELECT p.id, z.id, ? FROM pizzerias p, pizzas z WHERE p.id = ? AND z.id = ?
         ON DUPLICATE KEY UPDATE available = VALUES(available)",
    )
    .bind(available)
    .bind(pizzeria_id)
    .bind(pizza_id)
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
    .map_err(AdminError::from)
    .and_then(|n| found(n.min(1)))
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct PrinterRow {
    pub id: u64,
    pub pizzeria_id: Option<u64>,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub role: String,
    pub active: bool,
    pub last_error: Option<String>,
}

pub async fn printers(conn: &mut MySqlConnection) -> Result<Vec<PrinterRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, pizzeria_id, name, host, port, CAST(role AS CHAR) AS role, active, last_error
         FROM printers ORDER BY pizzeria_id IS NULL, pizzeria_id, role",
    )
    .fetch_all(conn)
    .await
}

pub async fn printer(conn: &mut MySqlConnection, id: u64) -> Result<PrinterRow, AdminError> {
    sqlx::query_as(
        "SELECT id, pizzeria_id, name, host, port, CAST(role AS CHAR) AS role, active, last_error
         FROM printers WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(AdminError::NotFound)
}

/// Where a printer is on the shop's network ([`vocab::input::printer_address`]).
pub async fn set_printer(
    conn: &mut MySqlConnection,
    id: u64,
    host: &str,
    port: &str,
    active: bool,
    allowed_ports: &std::ops::RangeInclusive<u16>,
) -> Result<(), AdminError> {
    let port: u16 = port.trim().parse().map_err(|_| {
        AdminError::Invalid(format!(
            "port invalide : de {} à {}",
            allowed_ports.start(),
            allowed_ports.end()
        ))
    })?;
    let host = vocab::input::printer_address(host, port, allowed_ports)
        .map_err(|e| AdminError::Invalid(e.to_string()))?
        .to_string();
    printer(conn, id).await?;
    sqlx::query("UPDATE printers SET host = ?, port = ?, active = ? WHERE id = ?")
        .bind(host)
        .bind(port)
        .bind(active)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

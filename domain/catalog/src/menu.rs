//! A pizzeria's menu: the pizzas it sells, at the group's prices. Whether each can be made now is
//! the stock crate's answer, joined by the caller.

use sqlx::MySqlConnection;

use vocab::{Cents, VatRate};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MenuItem {
    pub pizza_id: u64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub price: Cents,
    pub vat_rate: VatRate,
    /// « 86 »: the shop stopped selling it for now.
    pub sold_out: bool,
}

/// Active pizzas on the shop's menu (no `pizzeria_pizzas` row means on every menu), by name.
pub async fn menu(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Vec<MenuItem>, sqlx::Error> {
    type Row = (u64, String, String, String, u32, VatRate, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.id, p.code, p.name, p.description, p.price_cents, CAST(p.vat_rate AS CHAR),
                so.pizza_id IS NOT NULL
         FROM pizzas p
         LEFT JOIN pizzeria_pizzas pp ON pp.pizza_id = p.id AND pp.pizzeria_id = ?
         LEFT JOIN sold_out so ON so.pizza_id = p.id AND so.pizzeria_id = ?
         WHERE p.active AND COALESCE(pp.available, TRUE)
         ORDER BY p.name",
    )
    .bind(pizzeria_id)
    .bind(pizzeria_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(pizza_id, code, name, description, price, vat_rate, sold_out)| MenuItem {
                pizza_id,
                code,
                name,
                description,
                price: Cents(price),
                vat_rate,
                sold_out,
            },
        )
        .collect())
}

/// « 86 »: stops (`sold_out`) or resumes selling a pizza in one shop now; the stock is not
/// touched. Returns whether anything changed.
pub async fn set_sold_out(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    pizza_id: u64,
    sold_out: bool,
    by_user: u64,
) -> Result<bool, sqlx::Error> {
    let done = if sold_out {
        sqlx::query("INSERT IGNORE INTO sold_out (pizzeria_id, pizza_id, by_user) VALUES (?, ?, ?)")
            .bind(pizzeria_id)
            .bind(pizza_id)
            .bind(by_user)
            .execute(conn)
            .await?
    } else {
        sqlx::query("DELETE FROM sold_out WHERE pizzeria_id = ? AND pizza_id = ?")
            .bind(pizzeria_id)
            .bind(pizza_id)
            .execute(conn)
            .await?
    };
    Ok(done.rows_affected() > 0)
}

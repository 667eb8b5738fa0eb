//! A pizzeria's menu: the pizzas it sells, at the group's prices. Whether each can be made now is
//! the stock crate's answer, joined by the caller.

use sqlx::MySqlConnection;

use vocab::Cents;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MenuItem {
    pub pizza_id: u64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub price: Cents,
}

/// Active pizzas on the shop's menu (no `pizzeria_pizzas` row means on every menu), by name.
pub async fn menu(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Vec<MenuItem>, sqlx::Error> {
    let rows: Vec<(u64, String, String, String, u32)> = sqlx::query_as(
        "SELECT p.id, p.code, p.name, p.description, p.price_cents FROM pizzas p
         LEFT JOIN pizzeria_pizzas pp ON pp.pizza_id = p.id AND pp.pizzeria_id = ?
         WHERE p.active AND COALESCE(pp.available, TRUE)
         ORDER BY p.name",
    )
    .bind(pizzeria_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pizza_id, code, name, description, price)| MenuItem {
            pizza_id,
            code,
            name,
            description,
            price: Cents(price),
        })
        .collect())
}

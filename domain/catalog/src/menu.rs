//! What a shop does to its menu from day to day: « 86 » a product (the menu itself, with
//! sizes and options, is [`crate::product::menu`]).

use sqlx::MySqlConnection;

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

//! A pizza's recipe as the kitchen reads it: ingredients with quantities, then the steps.

use serde::Serialize;
use sqlx::MySqlConnection;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Ingredient {
    pub name: String,
    pub quantity: u32,
    pub unit: String,
    pub note: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Recipe {
    pub pizza_id: u64,
    pub name: String,
    pub description: String,
    pub ingredients: Vec<Ingredient>,
    pub steps: Vec<String>,
}

pub async fn recipe(
    conn: &mut MySqlConnection,
    pizza_id: u64,
) -> Result<Option<Recipe>, sqlx::Error> {
    let Some((name, description)): Option<(String, String)> =
        sqlx::query_as("SELECT name, description FROM pizzas WHERE id = ?")
            .bind(pizza_id)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    let ingredients = sqlx::query_as(
        "SELECT i.name, r.quantity, CAST(i.unit AS CHAR) AS unit, r.note
         FROM recipe_lines r JOIN ingredients i ON i.id = r.ingredient_id
         WHERE r.pizza_id = ? ORDER BY r.id",
    )
    .bind(pizza_id)
    .fetch_all(&mut *conn)
    .await?;
    let steps =
        sqlx::query_scalar("SELECT text FROM recipe_steps WHERE pizza_id = ? ORDER BY position")
            .bind(pizza_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(Some(Recipe {
        pizza_id,
        name,
        description,
        ingredients,
        steps,
    }))
}

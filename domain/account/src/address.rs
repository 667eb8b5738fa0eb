//! A customer's saved delivery addresses (`addresses`). Every query is scoped to the owner, so
//! one customer can never read or delete another's.

use sqlx::MySqlConnection;

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct Address {
    pub id: u64,
    pub label: String,
    pub street: String,
    pub complement: String,
    pub postal_code: String,
    pub city: String,
    pub instructions: String,
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct NewAddress {
    pub label: String,
    pub street: String,
    #[serde(default)]
    pub complement: String,
    pub postal_code: String,
    pub city: String,
    #[serde(default)]
    pub instructions: String,
}

impl NewAddress {
    /// What is wrong with it, in French, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        let filled = |s: &str, max: usize| !s.trim().is_empty() && s.chars().count() <= max;
        if !filled(&self.label, 60) {
            return Some("donnez un nom à l'adresse (60 caractères au plus)");
        }
        if !filled(&self.street, 200) {
            return Some("indiquez la rue (200 caractères au plus)");
        }
        if self.postal_code.trim().len() != 5
            || !self.postal_code.trim().bytes().all(|b| b.is_ascii_digit())
        {
            return Some("le code postal compte 5 chiffres");
        }
        if !filled(&self.city, 100) {
            return Some("indiquez la ville");
        }
        if self.complement.chars().count() > 200 || self.instructions.chars().count() > 300 {
            return Some("complément ou instructions trop longs");
        }
        None
    }
}

pub async fn list(conn: &mut MySqlConnection, user_id: u64) -> Result<Vec<Address>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, label, street, complement, postal_code, city, instructions FROM addresses WHERE user_id = ? ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

pub async fn find(
    conn: &mut MySqlConnection,
    user_id: u64,
    id: u64,
) -> Result<Option<Address>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, label, street, complement, postal_code, city, instructions FROM addresses WHERE user_id = ? AND id = ?",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Saves a checked address (see [`NewAddress::problem`]); returns its id.
pub async fn add(
    conn: &mut MySqlConnection,
    user_id: u64,
    a: &NewAddress,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO addresses (user_id, label, street, complement, postal_code, city, instructions) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(user_id)
    .bind(a.label.trim())
    .bind(a.street.trim())
    .bind(a.complement.trim())
    .bind(a.postal_code.trim())
    .bind(a.city.trim())
    .bind(a.instructions.trim())
    .execute(conn)
    .await?;
    Ok(done.last_insert_id())
}

/// Deletes the owner's address; false if there was none with that id for them.
pub async fn delete(
    conn: &mut MySqlConnection,
    user_id: u64,
    id: u64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM addresses WHERE user_id = ? AND id = ?")
        .bind(user_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

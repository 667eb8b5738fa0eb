//! A customer's saved delivery addresses (`addresses`). Every query is scoped to the owner, so
//! one customer can never read or delete another's.

use sqlx::MySqlConnection;
use vocab::input::ADDRESS_LABEL_MAX;
use vocab::{DeliveryAddress, InputError};

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

impl Address {
    /// Where to deliver, as an order carries it.
    pub fn delivery(&self) -> DeliveryAddress {
        DeliveryAddress {
            street: self.street.clone(),
            complement: self.complement.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            instructions: self.instructions.clone(),
        }
    }
}

/// An address to save, as typed: a label and the address itself.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct NewAddress {
    #[serde(default)]
    pub label: String,
    #[serde(flatten)]
    pub address: DeliveryAddress,
}

/// A [`NewAddress`] that passed [`NewAddress::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedAddress {
    label: String,
    address: DeliveryAddress,
}

impl NewAddress {
    /// The label and the address checked and trimmed, or what is wrong (in French).
    pub fn parse(&self) -> Result<CheckedAddress, InputError> {
        let label = self.label.trim();
        if label.is_empty() || label.chars().count() > ADDRESS_LABEL_MAX {
            return Err(InputError::AddressLabel);
        }
        Ok(CheckedAddress {
            label: label.to_owned(),
            address: DeliveryAddress::parse(&self.address)?,
        })
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

/// Saves a checked address; returns its id.
pub async fn add(
    conn: &mut MySqlConnection,
    user_id: u64,
    checked: &CheckedAddress,
) -> Result<u64, sqlx::Error> {
    let a = &checked.address;
    let done = sqlx::query(
        "INSERT INTO addresses (user_id, label, street, complement, postal_code, city, instructions) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(user_id)
    .bind(&checked.label)
    .bind(&a.street)
    .bind(&a.complement)
    .bind(&a.postal_code)
    .bind(&a.city)
    .bind(&a.instructions)
    .execute(conn)
    .await?;
    Ok(done.last_insert_id())
}

/// Replaces the owner's address `id` with a checked one; false if they have none with that id.
pub async fn update(
    conn: &mut MySqlConnection,
    user_id: u64,
    id: u64,
    checked: &CheckedAddress,
) -> Result<bool, sqlx::Error> {
    let a = &checked.address;
    let done = sqlx::query(
        "UPDATE addresses SET label = ?, street = ?, complement = ?, postal_code = ?, city = ?, instructions = ?
         WHERE user_id = ? AND id = ?",
    )
    .bind(&checked.label)
    .bind(&a.street)
    .bind(&a.complement)
    .bind(&a.postal_code)
    .bind(&a.city)
    .bind(&a.instructions)
    .bind(user_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    // MariaDB counts changed rows: an unchanged save of an existing address is 0 too.
    if done.rows_affected() == 1 {
        return Ok(true);
    }
    Ok(find(conn, user_id, id).await?.is_some())
}

/// The label of the address the seed file gives each demo customer.
pub const HOME_LABEL: &str = "Domicile";

/// Saves `address` as the customer's [`HOME_LABEL`] address, replacing the one saved under that
/// label if any (loading a seed twice keeps one).
pub async fn set_home(
    conn: &mut MySqlConnection,
    user_id: u64,
    address: &DeliveryAddress,
) -> Result<(), sqlx::Error> {
    let existing: Option<u64> =
        sqlx::query_scalar("SELECT id FROM addresses WHERE user_id = ? AND label = ? FOR UPDATE")
            .bind(user_id)
            .bind(HOME_LABEL)
            .fetch_optional(&mut *conn)
            .await?;
    let home = CheckedAddress {
        label: HOME_LABEL.to_owned(),
        address: address.clone(),
    };
    match existing {
        Some(id) => {
            update(conn, user_id, id, &home).await?;
        }
        None => {
            add(conn, user_id, &home).await?;
        }
    }
    Ok(())
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

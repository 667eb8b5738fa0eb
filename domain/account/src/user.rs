//! The `users` table.

use sqlx::MySqlConnection;

use crate::{Email, Role};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: u64,
    pub email: String,
    pub full_name: String,
    pub phone: Option<String>,
    // Read as text: sqlx's derived enum type does not match MariaDB's ENUM column metadata.
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub pizzeria_id: Option<u64>,
    pub password_hash: Option<String>,
    pub active: bool,
}

macro_rules! select_user {
    ($where:literal) => {
        concat!("SELECT id, email, full_name, phone, CAST(role AS CHAR) AS role, pizzeria_id, password_hash, active FROM users WHERE ", $where)
    };
}

pub async fn find_by_email(
    conn: &mut MySqlConnection,
    email: &Email,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(select_user!("email = ?"))
        .bind(email.as_str())
        .fetch_optional(conn)
        .await
}

pub async fn find(conn: &mut MySqlConnection, id: u64) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as(select_user!("id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Fields of an account created or updated from outside (seed file, admin screen).
#[derive(Debug)]
pub struct UpsertUser<'a> {
    pub email: &'a Email,
    pub full_name: &'a str,
    pub phone: Option<&'a str>,
    pub role: Role,
    pub pizzeria_id: Option<u64>,
    pub password_hash: &'a str,
}

/// Creates the account, or updates the one with that e-mail; returns its id.
pub async fn upsert(conn: &mut MySqlConnection, u: &UpsertUser<'_>) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (email, full_name, phone, role, pizzeria_id, password_hash) VALUES (?, ?, ?, ?, ?, ?)
         ON DUPLICATE KEY UPDATE full_name = VALUES(full_name), phone = VALUES(phone), role = VALUES(role),
             pizzeria_id = VALUES(pizzeria_id), password_hash = VALUES(password_hash)",
    )
    .bind(u.email.as_str())
    .bind(u.full_name)
    .bind(u.phone)
    .bind(u.role)
    .bind(u.pizzeria_id)
    .bind(u.password_hash)
    .execute(&mut *conn)
    .await?;
    let (id,): (u64,) = sqlx::query_as("SELECT id FROM users WHERE email = ?")
        .bind(u.email.as_str())
        .fetch_one(conn)
        .await?;
    Ok(id)
}

/// Creates a customer account; `None` if the e-mail is taken (the caller must not say so).
pub async fn create_customer(
    conn: &mut MySqlConnection,
    email: &Email,
    full_name: &str,
    phone: Option<&str>,
    password_hash: &str,
) -> Result<Option<u64>, sqlx::Error> {
    let done = sqlx::query(
        "INSERT IGNORE INTO users (email, full_name, phone, role, password_hash) VALUES (?, ?, ?, 'customer', ?)",
    )
    .bind(email.as_str())
    .bind(full_name)
    .bind(phone)
    .bind(password_hash)
    .execute(conn)
    .await?;
    Ok((done.rows_affected() == 1).then(|| done.last_insert_id()))
}

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

/// Records that the account's owner proved they read its address (they used a password link
/// mailed to it). The caller then gives the account the orders placed under that address without one
/// (`order::claim`).
pub async fn mark_proven(
    conn: &mut MySqlConnection,
    id: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET email_proven_at = ? WHERE id = ?")
        .bind(now)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The customer's own name and phone, from their account page.
pub async fn set_profile(
    conn: &mut MySqlConnection,
    id: u64,
    full_name: &vocab::PersonName,
    phone: Option<&vocab::Phone>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET full_name = ?, phone = ? WHERE id = ?")
        .bind(full_name.as_str())
        .bind(phone.map(vocab::Phone::as_str))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A new password hash for the account (see [`crate::password`]).
pub async fn set_password_hash(
    conn: &mut MySqlConnection,
    id: u64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
        .bind(hash)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
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

/// Who a counter or phone order belongs to, and where its e-mails go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkIn {
    pub customer_id: u64,
    /// The address the customer gave when it is not their record's own (it belongs to a web
    /// account the order must not be attached to): the order's e-mails go there.
    pub contact_email: Option<String>,
}

/// The record a counter or phone order is filed under when staff did not pick a known
/// customer. It is never a web account found by phone number or e-mail: an unverified phone
/// number or address proves nothing, and attaching would show the order (address, door code)
/// to whoever signed up with them. So:
/// - an e-mail no account has: a new record with that address and no password (the customer
///   can claim it later by proving the address, see `password_tokens`);
/// - an e-mail of such a record (an earlier walk-in, nobody can log into it), or of a customer
///   account whose owner proved the address (`email_proven_at`): that record;
/// - an e-mail of another web or staff account, or none: a new record under a placeholder address
///   in the reserved `.invalid` domain, the given address kept as the order's contact.
pub async fn walk_in(
    conn: &mut MySqlConnection,
    email: Option<&Email>,
    full_name: &str,
    phone: &str,
) -> Result<WalkIn, sqlx::Error> {
    let mut contact_email = None;
    if let Some(email) = email {
        let found: Option<(u64, String, Option<String>, bool)> = sqlx::query_as(
            "SELECT id, CAST(role AS CHAR), password_hash, email_proven_at IS NOT NULL FROM users
             WHERE email = ? FOR UPDATE",
        )
        .bind(email.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        match found {
            None => {
                let id = insert_walk_in(conn, email.as_str(), full_name, phone).await?;
                return Ok(WalkIn {
                    customer_id: id,
                    contact_email: None,
                });
            }
            // A record nobody can log into, or an account whose owner proved the address:
            // the order is theirs to see.
            Some((id, role, None, _)) | Some((id, role, Some(_), true)) if role == "customer" => {
                return Ok(WalkIn {
                    customer_id: id,
                    contact_email: None,
                });
            }
            Some(_) => contact_email = Some(email.as_str().to_owned()),
        }
    }
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let placeholder = format!(
        "tel-{}-{}@sans-email.invalid",
        if digits.is_empty() {
            "inconnu"
        } else {
            &digits
        },
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let id = insert_walk_in(conn, &placeholder, full_name, phone).await?;
    Ok(WalkIn {
        customer_id: id,
        contact_email,
    })
}

async fn insert_walk_in(
    conn: &mut MySqlConnection,
    email: &str,
    full_name: &str,
    phone: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO users (email, full_name, phone, role) VALUES (?, ?, ?, 'customer')",
    )
    .bind(email)
    .bind(full_name)
    .bind(phone)
    .execute(conn)
    .await?;
    Ok(done.last_insert_id())
}

/// A known customer the counter may suggest for a phone number, for the staff member to
/// confirm with the caller before attaching the order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Suggestion {
    pub id: u64,
    pub full_name: String,
    pub phone: String,
    /// `c•••@example.fr`: enough for the caller to recognise, not to harvest.
    pub email_hint: Option<String>,
}

/// Up to five customers with this phone number (French numbers compared as `0…`).
pub async fn suggest_by_phone(
    conn: &mut MySqlConnection,
    phone: &str,
) -> Result<Vec<Suggestion>, sqlx::Error> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return Ok(Vec::new());
    }
    let rows: Vec<(u64, String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, full_name, phone, email FROM users WHERE role = 'customer' AND active
           AND REPLACE(REPLACE(REPLACE(REPLACE(phone, ' ', ''), '.', ''), '-', ''), '+33', '0') = ?
         ORDER BY id DESC LIMIT 5",
    )
    .bind(french_digits(&digits))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, full_name, phone, email)| Suggestion {
            id,
            full_name,
            phone: phone.unwrap_or_default(),
            email_hint: (!email.ends_with(".invalid")).then(|| email_hint(&email)),
        })
        .collect())
}

fn email_hint(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".into(),
    }
}

/// A customer staff picked from the suggestions (`None` if the id is no active customer).
pub async fn chosen_customer(
    conn: &mut MySqlConnection,
    id: u64,
) -> Result<Option<u64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM users WHERE id = ? AND role = 'customer' AND active")
        .bind(id)
        .fetch_optional(conn)
        .await
}

fn french_digits(digits: &str) -> String {
    match digits.strip_prefix("33") {
        Some(rest) if rest.len() == 9 => format!("0{rest}"),
        _ => digits.to_owned(),
    }
}

/// A staff account for the admin screen.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct StaffRow {
    pub id: u64,
    pub email: String,
    pub full_name: String,
    pub role: String,
    pub pizzeria_id: Option<u64>,
    pub active: bool,
}

pub async fn staff(conn: &mut MySqlConnection) -> Result<Vec<StaffRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, full_name, CAST(role AS CHAR) AS role, pizzeria_id, active FROM users
         WHERE role <> 'customer' ORDER BY pizzeria_id IS NULL, pizzeria_id, role, full_name",
    )
    .fetch_all(conn)
    .await
}

/// Creates a staff account; `None` if the e-mail already has an account. Without a password
/// hash, its owner chooses the password from an e-mailed link.
pub async fn create_staff(
    conn: &mut MySqlConnection,
    email: &Email,
    full_name: &str,
    role: Role,
    pizzeria_id: Option<u64>,
    password_hash: Option<&str>,
) -> Result<Option<u64>, sqlx::Error> {
    let done = sqlx::query(
        "INSERT IGNORE INTO users (email, full_name, role, pizzeria_id, password_hash) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(email.as_str())
    .bind(full_name)
    .bind(role.as_str())
    .bind(pizzeria_id)
    .bind(password_hash)
    .execute(conn)
    .await?;
    Ok((done.rows_affected() == 1).then(|| done.last_insert_id()))
}

/// Gives a staff account another role (and pizzeria: `None` for the group admin); `false` if
/// there is no such staff account. Takes effect at the account's next request.
pub async fn set_staff_role(
    conn: &mut MySqlConnection,
    id: u64,
    role: Role,
    pizzeria_id: Option<u64>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET role = ?, pizzeria_id = ? WHERE id = ? AND role <> 'customer'",
    )
    .bind(role.as_str())
    .bind(pizzeria_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(true);
    }
    // Unchanged rows count as not affected: tell "same role" from "no such account".
    let exists: Option<u64> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = ? AND role <> 'customer'")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(exists.is_some())
}

/// Turns a staff account off (it can no longer log in; its history stays) or on again.
pub async fn set_staff_active(
    conn: &mut MySqlConnection,
    id: u64,
    active: bool,
) -> Result<bool, sqlx::Error> {
    let exists: Option<u64> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = ? AND role <> 'customer'")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    if exists.is_none() {
        return Ok(false);
    }
    sqlx::query("UPDATE users SET active = ? WHERE id = ?")
        .bind(active)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(true)
}

/// The full names of these accounts (staff on an order's refunds, riders on deliveries), in one
/// read; unknown ids are left out.
pub async fn names(
    conn: &mut MySqlConnection,
    ids: &[u64],
) -> Result<std::collections::HashMap<u64, String>, sqlx::Error> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let placeholders = vec!["?"; ids.len()].join(", ");
    let mut query = sqlx::query_as::<_, (u64, String)>(sqlx::AssertSqlSafe(format!(
        "SELECT id, full_name FROM users WHERE id IN ({placeholders})"
    )));
    for id in &ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(conn).await?.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::french_digits;

    #[test]
    fn international_french_numbers_match_national_ones() {
        assert_eq!(french_digits("33612345678"), "0612345678");
        assert_eq!(french_digits("0612345678"), "0612345678");
    }
}

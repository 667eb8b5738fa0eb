//! The second pass: a checked [`Seed`] written inside the caller's transaction, codes resolved
//! against the file and what the database already holds. Every write is an upsert on a natural
//! key, so loading the same file twice changes nothing the second time.

use std::collections::HashMap;

use account::{Email, Password, Role};
use sqlx::MySqlConnection;

use super::rows::*;
use super::{FeedError, Problem, Summary};

/// Writes a parsed seed inside the caller's transaction. Returns the problems found while
/// resolving codes; the caller must roll back when there are any.
pub async fn load(conn: &mut MySqlConnection, seed: &Seed) -> Result<Summary, FeedError> {
    let mut problems = Vec::new();
    for p in &seed.pizzas {
        if let Some((_, code)) = crate::admin::pizza_named(conn, &p.name).await?
            && code != p.code
        {
            problems.push(Problem {
                line: p.line,
                column: 3,
                column_name: "name",
                message: format!("une pizza {:?} existe déjà (code {code})", p.name),
            });
        }
    }
    if !problems.is_empty() {
        return Err(FeedError::Invalid(problems));
    }
    write_catalog(conn, seed).await?;
    let refs = resolve(conn, seed).await?;
    write_recipes(conn, &refs).await?;
    write_stock(conn, &refs).await?;
    write_menu(conn, &refs).await?;
    write_printers(conn, &refs).await?;
    write_zones(conn, &refs, seed).await?;
    write_people(conn, &refs, seed).await?;

    Ok(Summary {
        pizzerias: seed.pizzerias.len(),
        ingredients: seed.ingredients.len(),
        pizzas: seed.pizzas.len(),
        recipe_lines: seed.recipe_lines.len(),
        recipe_steps: seed.recipe_steps.len(),
        stock: seed.stock.len(),
        menu: seed.menu.len(),
        printers: seed.printers.len(),
        zones: seed.zones.len(),
        staff: seed.staff.len(),
        customers: seed.customers.len(),
    })
}

/// Pizzerias, ingredients and pizzas: what the other rows refer to.
async fn write_catalog(conn: &mut MySqlConnection, seed: &Seed) -> Result<(), sqlx::Error> {
    for p in &seed.pizzerias {
        sqlx::query(
            "INSERT INTO pizzerias (code, name, street, postal_code, city, phone, email, opening_hours, closed_days, offers_delivery, offers_pickup)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE name = VALUES(name), street = VALUES(street), postal_code = VALUES(postal_code),
                 city = VALUES(city), phone = VALUES(phone), email = VALUES(email), opening_hours = VALUES(opening_hours),
                 closed_days = VALUES(closed_days), offers_delivery = VALUES(offers_delivery), offers_pickup = VALUES(offers_pickup)",
        )
        .bind(&p.code)
        .bind(&p.name)
        .bind(&p.street)
        .bind(&p.postal_code)
        .bind(&p.city)
        .bind(&p.phone)
        .bind(&p.email)
        .bind(&p.opening_hours)
        .bind(&p.closed_days)
        .bind(p.delivery)
        .bind(p.pickup)
        .execute(&mut *conn)
        .await?;
    }
    for i in &seed.ingredients {
        sqlx::query("INSERT INTO ingredients (code, name, unit) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name), unit = VALUES(unit)")
            .bind(&i.code)
            .bind(&i.name)
            .bind(i.unit)
            .execute(&mut *conn)
            .await?;
    }
    for p in &seed.pizzas {
        sqlx::query(
            "INSERT INTO pizzas (code, name, description, price_cents) VALUES (?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE name = VALUES(name), description = VALUES(description), price_cents = VALUES(price_cents)",
        )
        .bind(&p.code)
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.price.0)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The rows that refer to others, with the ids their codes name.
struct Refs<'a> {
    recipe_lines: Vec<(u64, u64, &'a RecipeLineRow)>,
    recipe_steps: Vec<(u64, &'a RecipeStepRow)>,
    stock: Vec<(u64, u64, &'a StockRow)>,
    menu: Vec<(u64, u64, &'a MenuRow)>,
    printers: Vec<(Option<u64>, &'a PrinterRow)>,
    zones: Vec<(u64, &'a ZoneRow)>,
    staff: Vec<(Option<u64>, &'a StaffRow)>,
}

/// Resolves every reference first, so unknown codes are all reported before anything else runs.
async fn resolve<'a>(conn: &mut MySqlConnection, seed: &'a Seed) -> Result<Refs<'a>, FeedError> {
    let pizzerias = ids(conn, Table::Pizzerias).await?;
    let ingredients = ids(conn, Table::Ingredients).await?;
    let pizzas = ids(conn, Table::Pizzas).await?;
    let mut problems = Vec::new();
    let mut resolve = |map: &HashMap<String, u64>, r: &CodeRef, what: &str| -> u64 {
        map.get(&r.code).copied().unwrap_or_else(|| {
            problems.push(Problem {
                line: r.line,
                column: r.column,
                column_name: r.column_name,
                message: format!(
                    "{what} de code {:?} introuvable dans le fichier comme dans la base",
                    r.code
                ),
            });
            0
        })
    };

    let recipe_lines: Vec<_> = seed
        .recipe_lines
        .iter()
        .map(|r| {
            (
                resolve(&pizzas, &r.pizza, "pizza"),
                resolve(&ingredients, &r.ingredient, "ingrédient"),
                r,
            )
        })
        .collect();
    let recipe_steps: Vec<_> = seed
        .recipe_steps
        .iter()
        .map(|r| (resolve(&pizzas, &r.pizza, "pizza"), r))
        .collect();
    let stock: Vec<_> = seed
        .stock
        .iter()
        .map(|r| {
            (
                resolve(&pizzerias, &r.pizzeria, "pizzeria"),
                resolve(&ingredients, &r.ingredient, "ingrédient"),
                r,
            )
        })
        .collect();
    let menu: Vec<_> = seed
        .menu
        .iter()
        .map(|r| {
            (
                resolve(&pizzerias, &r.pizzeria, "pizzeria"),
                resolve(&pizzas, &r.pizza, "pizza"),
                r,
            )
        })
        .collect();
    let printers: Vec<_> = seed
        .printers
        .iter()
        .map(|r| {
            (
                r.pizzeria
                    .as_ref()
                    .map(|p| resolve(&pizzerias, p, "pizzeria")),
                r,
            )
        })
        .collect();
    let zones: Vec<_> = seed
        .zones
        .iter()
        .map(|r| (resolve(&pizzerias, &r.pizzeria, "pizzeria"), r))
        .collect();
    let staff: Vec<_> = seed
        .staff
        .iter()
        .map(|r| {
            (
                r.pizzeria
                    .as_ref()
                    .map(|p| resolve(&pizzerias, p, "pizzeria")),
                r,
            )
        })
        .collect();
    if !problems.is_empty() {
        return Err(FeedError::Invalid(problems));
    }
    Ok(Refs {
        recipe_lines,
        recipe_steps,
        stock,
        menu,
        printers,
        zones,
        staff,
    })
}

/// Recipe lines and steps.
async fn write_recipes(conn: &mut MySqlConnection, refs: &Refs<'_>) -> Result<(), sqlx::Error> {
    for (pizza_id, ingredient_id, r) in &refs.recipe_lines {
        sqlx::query(
            "INSERT INTO recipe_lines (pizza_id, ingredient_id, quantity, note) VALUES (?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), note = VALUES(note)",
        )
        .bind(pizza_id)
        .bind(ingredient_id)
        .bind(r.quantity)
        .bind(&r.note)
        .execute(&mut *conn)
        .await?;
    }
    for (pizza_id, r) in &refs.recipe_steps {
        sqlx::query("INSERT INTO recipe_steps (pizza_id, position, text) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE text = VALUES(text)")
            .bind(pizza_id)
            .bind(r.position)
            .bind(&r.text)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Stock levels and thresholds; each change is written to the ledger as a seed.
async fn write_stock(conn: &mut MySqlConnection, refs: &Refs<'_>) -> Result<(), sqlx::Error> {
    for (pizzeria_id, ingredient_id, r) in &refs.stock {
        let current: Option<(i64,)> = sqlx::query_as(
            "SELECT quantity FROM stock WHERE pizzeria_id = ? AND ingredient_id = ? FOR UPDATE",
        )
        .bind(pizzeria_id)
        .bind(ingredient_id)
        .fetch_optional(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO stock (pizzeria_id, ingredient_id, quantity, low_threshold, low_alerted) VALUES (?, ?, ?, ?, FALSE)
             ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), low_threshold = VALUES(low_threshold),
                 low_alerted = low_alerted AND VALUES(quantity) <= VALUES(low_threshold), updated_at = CURRENT_TIMESTAMP(6)",
        )
        .bind(pizzeria_id)
        .bind(ingredient_id)
        .bind(r.quantity)
        .bind(r.low_threshold)
        .execute(&mut *conn)
        .await?;
        let delta = r.quantity - current.map_or(0, |c| c.0);
        if delta != 0 {
            sqlx::query("INSERT INTO stock_ledger (pizzeria_id, ingredient_id, delta, reason, note) VALUES (?, ?, ?, 'seed', 'feed-db')")
                .bind(pizzeria_id)
                .bind(ingredient_id)
                .bind(delta)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Which pizzeria serves which pizza.
async fn write_menu(conn: &mut MySqlConnection, refs: &Refs<'_>) -> Result<(), sqlx::Error> {
    for (pizzeria_id, pizza_id, r) in &refs.menu {
        sqlx::query("INSERT INTO pizzeria_pizzas (pizzeria_id, pizza_id, available) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE available = VALUES(available)")
            .bind(pizzeria_id)
            .bind(pizza_id)
            .bind(r.available)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Delivery areas: the zone rows of a shop replace its whole area; shops without a row in the
/// file keep theirs, and a delivering shop that has none starts with its own postal code.
async fn write_zones(
    conn: &mut MySqlConnection,
    refs: &Refs<'_>,
    seed: &Seed,
) -> Result<(), sqlx::Error> {
    let mut by_shop: std::collections::BTreeMap<u64, Vec<crate::zone::Zone>> = Default::default();
    for (pizzeria_id, r) in &refs.zones {
        by_shop
            .entry(*pizzeria_id)
            .or_default()
            .push(r.zone.clone());
    }
    for (pizzeria_id, zones) in by_shop {
        crate::zone::replace(conn, pizzeria_id, &zones).await?;
    }
    for p in seed.pizzerias.iter().filter(|p| p.delivery) {
        crate::zone::start_with_own_postal_code(conn, &p.code).await?;
    }
    Ok(())
}

/// Kitchen printers, main and backup.
async fn write_printers(conn: &mut MySqlConnection, refs: &Refs<'_>) -> Result<(), sqlx::Error> {
    for (pizzeria_id, r) in &refs.printers {
        // Not an upsert: a unique key on (pizzeria_id, name) does not catch a NULL pizzeria.
        let existing: Option<(u64,)> =
            sqlx::query_as("SELECT id FROM printers WHERE pizzeria_id <=> ? AND name = ?")
                .bind(pizzeria_id)
                .bind(&r.name)
                .fetch_optional(&mut *conn)
                .await?;
        let role = if r.backup { "backup" } else { "main" };
        match existing {
            Some((id,)) => {
                sqlx::query("UPDATE printers SET host = ?, port = ?, role = ? WHERE id = ?")
                    .bind(&r.host)
                    .bind(r.port)
                    .bind(role)
                    .bind(id)
            }
            None => sqlx::query(
                "INSERT INTO printers (pizzeria_id, name, host, port, role) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(pizzeria_id)
            .bind(&r.name)
            .bind(&r.host)
            .bind(r.port)
            .bind(role),
        }
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Staff accounts and demo customers with their home address.
async fn write_people(
    conn: &mut MySqlConnection,
    refs: &Refs<'_>,
    seed: &Seed,
) -> Result<(), FeedError> {
    for (pizzeria_id, r) in &refs.staff {
        let hash = password_hash(conn, &r.email, &r.password).await?;
        let user = account::user::UpsertUser {
            email: &r.email,
            full_name: &r.full_name,
            phone: None,
            role: r.role,
            pizzeria_id: *pizzeria_id,
            password_hash: &hash,
        };
        account::user::upsert(conn, &user).await?;
    }
    for r in &seed.customers {
        let hash = password_hash(conn, &r.email, &r.password).await?;
        let user = account::user::UpsertUser {
            email: &r.email,
            full_name: &r.full_name,
            phone: Some(&r.phone),
            role: Role::Customer,
            pizzeria_id: None,
            password_hash: &hash,
        };
        let user_id = account::user::upsert(conn, &user).await?;
        let home = vocab::DeliveryAddress {
            street: r.street.clone(),
            postal_code: r.postal_code.clone(),
            city: r.city.clone(),
            ..Default::default()
        };
        account::address::set_home(conn, user_id, &home).await?;
    }
    Ok(())
}

/// Keeps the stored hash when it already matches, so a second load does not rehash every
/// password (Argon2 is slow on purpose) and existing sessions' hashes stay put.
async fn password_hash(
    conn: &mut MySqlConnection,
    email: &Email,
    password: &Password,
) -> Result<String, FeedError> {
    let stored: Option<(Option<String>,)> =
        sqlx::query_as("SELECT password_hash FROM users WHERE email = ?")
            .bind(email.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((Some(hash),)) = stored
        && account::password::verify(password.expose(), &hash)
    {
        return Ok(hash);
    }
    account::password::hash(password).map_err(|e| FeedError::Hash(e.to_string()))
}

#[derive(Clone, Copy)]
enum Table {
    Pizzerias,
    Ingredients,
    Pizzas,
}

async fn ids(
    conn: &mut MySqlConnection,
    table: Table,
) -> Result<HashMap<String, u64>, sqlx::Error> {
    let sql = match table {
        Table::Pizzerias => "SELECT code, id FROM pizzerias",
        Table::Ingredients => "SELECT code, id FROM ingredients",
        Table::Pizzas => "SELECT code, id FROM pizzas",
    };
    let rows: Vec<(String, u64)> = sqlx::query_as(sql).fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

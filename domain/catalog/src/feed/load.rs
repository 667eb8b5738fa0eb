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
    write_menu_options(conn, seed).await?;
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
        sizes: seed.sizes.len() + seed.pizza_sizes.len() + seed.recipe_sizes.len(),
        options: seed.option_groups.len()
            + seed.options.len()
            + seed.option_prices.len()
            + seed.pizza_option_groups.len(),
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
    // A new shop's kitchen starts at the default pace (pace::store), its row there before any
    // checkout locks it.
    sqlx::query("INSERT IGNORE INTO kitchen_capacity (pizzeria_id) SELECT id FROM pizzerias")
        .execute(&mut *conn)
        .await?;
    // Columns a row leaves out keep what the database holds (an older file loads unchanged).
    for i in &seed.ingredients {
        sqlx::query(
            "INSERT INTO ingredients (code, name, unit, allergens, diet, spicy)
             VALUES (?, ?, ?, COALESCE(?, ''), COALESCE(?, 'animal'), COALESCE(?, FALSE))
             ON DUPLICATE KEY UPDATE name = VALUES(name), unit = VALUES(unit),
                 allergens = COALESCE(?, allergens), diet = COALESCE(?, diet), spicy = COALESCE(?, spicy)",
        )
        .bind(&i.code)
        .bind(&i.name)
        .bind(i.unit)
        .bind(i.allergens.map(|a| a.to_string()))
        .bind(i.diet)
        .bind(i.spicy)
        .bind(i.allergens.map(|a| a.to_string()))
        .bind(i.diet)
        .bind(i.spicy)
        .execute(&mut *conn)
        .await?;
    }
    for (position, p) in seed.pizzas.iter().enumerate() {
        sqlx::query(
            "INSERT INTO pizzas (code, name, description, category, position, price_cents, vat_rate)
             VALUES (?, ?, ?, COALESCE(?, 'pizza'), ?, ?, COALESCE(?, '10'))
             ON DUPLICATE KEY UPDATE name = VALUES(name), description = VALUES(description), price_cents = VALUES(price_cents),
                 position = VALUES(position), category = COALESCE(?, category), vat_rate = COALESCE(?, vat_rate)",
        )
        .bind(&p.code)
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.category)
        .bind(u16::try_from(position).unwrap_or(u16::MAX))
        .bind(p.price.0)
        .bind(p.vat_rate)
        .bind(p.category)
        .bind(p.vat_rate)
        .execute(&mut *conn)
        .await?;
    }
    for (position, s) in seed.sizes.iter().enumerate() {
        sqlx::query(
            "INSERT INTO sizes (code, name, factor_pct, position) VALUES (?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE name = VALUES(name), factor_pct = VALUES(factor_pct), position = VALUES(position)",
        )
        .bind(&s.code)
        .bind(&s.name)
        .bind(s.factor_pct)
        .bind(u16::try_from(position).unwrap_or(u16::MAX))
        .execute(&mut *conn)
        .await?;
    }
    for g in &seed.option_groups {
        sqlx::query(
            "INSERT INTO option_groups (code, name, min_choices, max_choices) VALUES (?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE name = VALUES(name), min_choices = VALUES(min_choices), max_choices = VALUES(max_choices)",
        )
        .bind(&g.code)
        .bind(&g.name)
        .bind(g.min)
        .bind(g.max)
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

/// Recipe lines and steps. The recipe lines of a pizza in the file are its whole recipe: an
/// ingredient the file no longer lists leaves it.
async fn write_recipes(conn: &mut MySqlConnection, refs: &Refs<'_>) -> Result<(), sqlx::Error> {
    let mut recipes: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
    for (pizza_id, ingredient_id, _) in &refs.recipe_lines {
        recipes.entry(*pizza_id).or_default().push(*ingredient_id);
    }
    for (pizza_id, ingredients) in &recipes {
        let placeholders = vec!["?"; ingredients.len()].join(", ");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM recipe_lines WHERE pizza_id = ? AND ingredient_id NOT IN ({placeholders})"
        )))
        .bind(pizza_id);
        for i in ingredients {
            query = query.bind(i);
        }
        query.execute(&mut *conn).await?;
    }
    for (pizza_id, ingredient_id, r) in &refs.recipe_lines {
        sqlx::query(
            "INSERT INTO recipe_lines (pizza_id, ingredient_id, quantity, note, removable) VALUES (?, ?, ?, ?, COALESCE(?, TRUE))
             ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), note = VALUES(note), removable = COALESCE(?, removable)",
        )
        .bind(pizza_id)
        .bind(ingredient_id)
        .bind(r.quantity)
        .bind(&r.note)
        .bind(r.removable)
        .bind(r.removable)
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

/// Sizes, option groups, options and their prices: written once the rows they name exist,
/// each code resolved against the file and the database (unknown ones reported together).
async fn write_menu_options(conn: &mut MySqlConnection, seed: &Seed) -> Result<(), FeedError> {
    let pizzas = ids(conn, Table::Pizzas).await?;
    let ingredients = ids(conn, Table::Ingredients).await?;
    let sizes = ids(conn, Table::Sizes).await?;
    let groups = ids(conn, Table::OptionGroups).await?;
    let mut problems = Vec::new();
    let mut find = |map: &HashMap<String, u64>, r: &CodeRef, what: &str| -> Option<u64> {
        let found = map.get(&r.code).copied();
        if found.is_none() {
            problems.push(Problem {
                line: r.line,
                column: r.column,
                column_name: r.column_name,
                message: format!(
                    "{what} de code {:?} introuvable dans le fichier comme dans la base",
                    r.code
                ),
            });
        }
        found
    };
    let mut writes: Vec<(String, Vec<Bound>)> = Vec::new();
    for r in &seed.pizza_sizes {
        if let (Some(p), Some(s)) = (
            find(&pizzas, &r.pizza, "pizza"),
            find(&sizes, &r.size, "taille"),
        ) {
            writes.push((
                "INSERT INTO pizza_sizes (pizza_id, size_id, price_cents) VALUES (?, ?, ?)
                 ON DUPLICATE KEY UPDATE price_cents = VALUES(price_cents)"
                    .into(),
                vec![Bound::Id(p), Bound::Id(s), Bound::Cents(r.price.0)],
            ));
        }
    }
    for r in &seed.recipe_sizes {
        let found = (
            find(&pizzas, &r.pizza, "pizza"),
            find(&ingredients, &r.ingredient, "ingrédient"),
            find(&sizes, &r.size, "taille"),
        );
        if let (Some(p), Some(i), Some(s)) = found {
            writes.push((
                "INSERT INTO recipe_size_quantities (pizza_id, ingredient_id, size_id, quantity) VALUES (?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)".into(),
                vec![Bound::Id(p), Bound::Id(i), Bound::Id(s), Bound::Cents(r.quantity)],
            ));
        }
    }
    for r in &seed.options {
        let group = find(&groups, &r.group, "groupe d'options");
        let ingredient = match &r.ingredient {
            Some(i) => find(&ingredients, i, "ingrédient").map(Some),
            None => Some(None),
        };
        if let (Some(g), Some(i)) = (group, ingredient) {
            writes.push((
                "INSERT INTO options (group_id, code, name, ingredient_id, quantity, price_cents, is_default, position)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE group_id = VALUES(group_id), name = VALUES(name), ingredient_id = VALUES(ingredient_id),
                     quantity = VALUES(quantity), price_cents = VALUES(price_cents), is_default = VALUES(is_default),
                     position = VALUES(position)".into(),
                vec![
                    Bound::Id(g),
                    Bound::Text(r.code.clone()),
                    Bound::Text(r.name.clone()),
                    Bound::MaybeId(i),
                    Bound::Cents(r.quantity),
                    Bound::Cents(r.price.0),
                    Bound::Flag(r.default),
                    Bound::Cents(u32::from(r.position)),
                ],
            ));
        }
    }
    let mut every_pizza: Vec<u64> = Vec::new();
    if seed.pizza_option_groups.iter().any(|r| r.pizza.is_none()) {
        every_pizza = sqlx::query_scalar("SELECT id FROM pizzas WHERE category = 'pizza'")
            .fetch_all(&mut *conn)
            .await?;
    }
    for r in &seed.pizza_option_groups {
        let Some(g) = find(&groups, &r.group, "groupe d'options") else {
            continue;
        };
        let targets = match &r.pizza {
            Some(p) => find(&pizzas, p, "pizza").into_iter().collect(),
            None => every_pizza.clone(),
        };
        for p in targets {
            writes.push((
                "INSERT INTO pizza_option_groups (pizza_id, group_id, position) VALUES (?, ?, ?)
                 ON DUPLICATE KEY UPDATE position = VALUES(position)"
                    .into(),
                vec![
                    Bound::Id(p),
                    Bound::Id(g),
                    Bound::Cents(u32::from(r.position)),
                ],
            ));
        }
    }
    if !problems.is_empty() {
        return Err(FeedError::Invalid(problems));
    }
    run(conn, &writes).await?;
    // Option prices name options, which exist only now.
    let options = ids(conn, Table::Options).await?;
    let mut problems = Vec::new();
    let mut writes = Vec::new();
    for r in &seed.option_prices {
        let (option, size) = (options.get(&r.option.code), sizes.get(&r.size.code));
        for (found, at, what) in [(option, &r.option, "option"), (size, &r.size, "taille")] {
            if found.is_none() {
                problems.push(Problem {
                    line: at.line,
                    column: at.column,
                    column_name: at.column_name,
                    message: format!(
                        "{what} de code {:?} introuvable dans le fichier comme dans la base",
                        at.code
                    ),
                });
            }
        }
        if let (Some(o), Some(s)) = (option, size) {
            writes.push((
                "INSERT INTO option_prices (option_id, size_id, price_cents) VALUES (?, ?, ?)
                 ON DUPLICATE KEY UPDATE price_cents = VALUES(price_cents)"
                    .to_owned(),
                vec![Bound::Id(*o), Bound::Id(*s), Bound::Cents(r.price.0)],
            ));
        }
    }
    if !problems.is_empty() {
        return Err(FeedError::Invalid(problems));
    }
    run(conn, &writes).await?;
    Ok(())
}

/// A value for one of [`write_menu_options`]' statements.
enum Bound {
    Id(u64),
    MaybeId(Option<u64>),
    Cents(u32),
    Text(String),
    Flag(bool),
}

async fn run(
    conn: &mut MySqlConnection,
    writes: &[(String, Vec<Bound>)],
) -> Result<(), sqlx::Error> {
    for (sql, values) in writes {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        for v in values {
            query = match v {
                Bound::Id(id) => query.bind(*id),
                Bound::MaybeId(id) => query.bind(*id),
                Bound::Cents(n) => query.bind(*n),
                Bound::Text(t) => query.bind(t.as_str()),
                Bound::Flag(b) => query.bind(*b),
            };
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Table {
    Pizzerias,
    Ingredients,
    Pizzas,
    Sizes,
    OptionGroups,
    Options,
}

async fn ids(
    conn: &mut MySqlConnection,
    table: Table,
) -> Result<HashMap<String, u64>, sqlx::Error> {
    let sql = match table {
        Table::Pizzerias => "SELECT code, id FROM pizzerias",
        Table::Ingredients => "SELECT code, id FROM ingredients",
        Table::Pizzas => "SELECT code, id FROM pizzas",
        Table::Sizes => "SELECT code, id FROM sizes",
        Table::OptionGroups => "SELECT code, id FROM option_groups",
        Table::Options => "SELECT code, id FROM options",
    };
    let rows: Vec<(String, u64)> = sqlx::query_as(sql).fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

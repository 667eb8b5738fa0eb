//! What the group admin changes of the menu beyond names and prices: the sizes and each
//! product's price in them, option groups and their options, which products offer which
//! groups, products sold by the unit (drinks, desserts), and what each ingredient means for
//! allergies and diets. Each function checks everything before writing and refuses in French.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::MySqlConnection;
use vocab::{Allergens, Category, Cents, Diet};

use crate::admin::{AdminError, checked_price, checked_vat, text};

fn invalid(message: impl Into<String>) -> AdminError {
    AdminError::Invalid(message.into())
}

/// An amount that may be 0 (a free option), in euros as typed.
fn checked_amount(raw: &str, what: &str) -> Result<Cents, AdminError> {
    match raw.trim() {
        "" => Ok(Cents(0)),
        raw => Cents::parse_eur(raw)
            .filter(|c| c.0 <= 100_000)
            .ok_or_else(|| invalid(format!("{what} : un montant en euros comme 1,50 ou 0"))),
    }
}

fn checked_code(raw: &str, what: &str) -> Result<String, AdminError> {
    let v = raw.trim();
    let ok = (1..=32).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(v.to_owned())
    } else {
        Err(invalid(format!(
            "{what} : 1 à 32 caractères parmi a-z, 0-9 et -"
        )))
    }
}

fn checked_number<T: TryFrom<u64>>(
    raw: &str,
    what: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<T, AdminError> {
    let (lo, hi) = (*range.start(), *range.end());
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| range.contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| invalid(format!("{what} : un nombre entier de {lo} à {hi}")))
}

/// Refuses an id that names no row of `table` (one of this module's tables).
async fn must_exist(
    conn: &mut MySqlConnection,
    table: &'static str,
    id: u64,
) -> Result<(), AdminError> {
    let found: Option<u64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    found.map(|_| ()).ok_or(AdminError::NotFound)
}

fn unique(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct SizeRow {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub factor_pct: u16,
}

pub async fn sizes(conn: &mut MySqlConnection) -> Result<Vec<SizeRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, code, name, factor_pct FROM sizes ORDER BY factor_pct, position, id")
        .fetch_all(conn)
        .await
}

/// Creates (`id` none) or renames and rescales a size. The factor applies to every recipe's
/// weights and volumes for that size.
pub async fn set_size(
    conn: &mut MySqlConnection,
    id: Option<u64>,
    code: &str,
    name: &str,
    factor_pct: &str,
) -> Result<(), AdminError> {
    let name = text(name, "le nom de la taille", 60)?;
    let factor: u16 = checked_number(factor_pct, "coefficient (en % de la recette)", 10..=500)?;
    match id {
        Some(id) => {
            must_exist(conn, "sizes", id).await?;
            sqlx::query("UPDATE sizes SET name = ?, factor_pct = ? WHERE id = ?")
                .bind(name)
                .bind(factor)
                .bind(id)
                .execute(conn)
                .await?;
            Ok(())
        }
        None => {
            let code = checked_code(code, "code de la taille")?;
            let position: u16 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(MAX(position) + 1, 0) AS UNSIGNED) FROM sizes",
            )
            .fetch_one(&mut *conn)
            .await
            .map(|n: u64| u16::try_from(n).unwrap_or(u16::MAX))?;
            match sqlx::query(
                "INSERT INTO sizes (code, name, factor_pct, position) VALUES (?, ?, ?, ?)",
            )
            .bind(&code)
            .bind(name)
            .bind(factor)
            .bind(position)
            .execute(conn)
            .await
            {
                Ok(_) => Ok(()),
                Err(e) if unique(&e) => Err(invalid(format!("la taille « {code} » existe déjà"))),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// What a product's edit form changes: its category, the price in each size (`None`: not sold
/// in it) and the option groups it offers.
#[derive(Clone, Debug, Default)]
pub struct ProductChoices<'a> {
    pub category: &'a str,
    /// By size id, the price as typed (empty: not sold in that size).
    pub size_prices: BTreeMap<u64, &'a str>,
    pub groups: Vec<u64>,
}

/// Sets a product's category, sizes and groups, all or nothing.
pub async fn set_product_choices(
    conn: &mut MySqlConnection,
    pizza_id: u64,
    choices: &ProductChoices<'_>,
) -> Result<(), AdminError> {
    let category = Category::parse(choices.category.trim())
        .ok_or_else(|| invalid("catégorie inconnue : pizza, entrée, boisson ou dessert"))?;
    let known_sizes: Vec<u64> = sqlx::query_scalar("SELECT id FROM sizes")
        .fetch_all(&mut *conn)
        .await?;
    let mut prices = Vec::new();
    for (size_id, raw) in &choices.size_prices {
        if !known_sizes.contains(size_id) {
            return Err(invalid("taille inconnue"));
        }
        if !raw.trim().is_empty() {
            prices.push((*size_id, checked_price(raw)?));
        }
    }
    let known_groups: Vec<u64> = sqlx::query_scalar("SELECT id FROM option_groups")
        .fetch_all(&mut *conn)
        .await?;
    if choices.groups.iter().any(|g| !known_groups.contains(g)) {
        return Err(invalid("groupe d'options inconnu"));
    }
    must_exist(conn, "pizzas", pizza_id).await?;
    sqlx::query("UPDATE pizzas SET category = ? WHERE id = ?")
        .bind(category)
        .bind(pizza_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM pizza_sizes WHERE pizza_id = ?")
        .bind(pizza_id)
        .execute(&mut *conn)
        .await?;
    for (size_id, price) in prices {
        sqlx::query("INSERT INTO pizza_sizes (pizza_id, size_id, price_cents) VALUES (?, ?, ?)")
            .bind(pizza_id)
            .bind(size_id)
            .bind(price.0)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM pizza_option_groups WHERE pizza_id = ?")
        .bind(pizza_id)
        .execute(&mut *conn)
        .await?;
    for (position, group_id) in choices.groups.iter().enumerate() {
        sqlx::query(
            "INSERT INTO pizza_option_groups (pizza_id, group_id, position) VALUES (?, ?, ?)",
        )
        .bind(pizza_id)
        .bind(group_id)
        .bind(u16::try_from(position).unwrap_or(u16::MAX))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A product's sizes (size id → price) and groups, for its form.
pub async fn product_choices(
    conn: &mut MySqlConnection,
    pizza_id: u64,
) -> Result<(BTreeMap<u64, Cents>, Vec<u64>), sqlx::Error> {
    let sizes: Vec<(u64, u32)> =
        sqlx::query_as("SELECT size_id, price_cents FROM pizza_sizes WHERE pizza_id = ?")
            .bind(pizza_id)
            .fetch_all(&mut *conn)
            .await?;
    let groups = sqlx::query_scalar(
        "SELECT group_id FROM pizza_option_groups WHERE pizza_id = ? ORDER BY position",
    )
    .bind(pizza_id)
    .fetch_all(conn)
    .await?;
    Ok((
        sizes.into_iter().map(|(s, p)| (s, Cents(p))).collect(),
        groups,
    ))
}

/// A product sold by the unit as the admin types it.
#[derive(Clone, Debug, Default)]
pub struct NewUnitProduct<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub price: &'a str,
    pub category: &'a str,
    pub vat_rate: &'a str,
    pub allergens: Allergens,
    pub diet: &'a str,
}

/// Adds a drink, dessert or starter: the menu entry, the stocked item of the same code
/// (counted in pieces, starting at 0 in no shop's stock) and a recipe of one of it.
pub async fn create_unit_product(
    conn: &mut MySqlConnection,
    new: &NewUnitProduct<'_>,
) -> Result<u64, AdminError> {
    let category = Category::parse(new.category.trim())
        .filter(|c| *c != Category::Pizza)
        .ok_or_else(|| invalid("choisissez entrée, boisson ou dessert"))?;
    let diet = Diet::parse(new.diet.trim()).ok_or_else(|| invalid("régime inconnu"))?;
    checked_vat(new.vat_rate)?;
    let id = crate::admin::create_pizza(conn, new.name, new.description, new.price, new.vat_rate)
        .await?;
    let (code, name): (String, String) =
        sqlx::query_as("SELECT code, name FROM pizzas WHERE id = ?")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query("UPDATE pizzas SET category = ? WHERE id = ?")
        .bind(category)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let existing: Option<u64> = sqlx::query_scalar("SELECT id FROM ingredients WHERE code = ?")
        .bind(&code)
        .fetch_optional(&mut *conn)
        .await?;
    if existing.is_some() {
        return Err(invalid(format!(
            "un ingrédient de code « {code} » existe déjà : choisissez un autre nom"
        )));
    }
    let ingredient = sqlx::query(
        "INSERT INTO ingredients (code, name, unit, allergens, diet) VALUES (?, ?, 'piece', ?, ?)",
    )
    .bind(&code)
    .bind(&name)
    .bind(new.allergens.to_string())
    .bind(diet)
    .execute(&mut *conn)
    .await?
    .last_insert_id();
    sqlx::query(
        "INSERT INTO recipe_lines (pizza_id, ingredient_id, quantity, removable) VALUES (?, ?, 1, FALSE)",
    )
    .bind(id)
    .bind(ingredient)
    .execute(conn)
    .await?;
    Ok(id)
}

#[derive(Clone, Debug, Serialize)]
pub struct GroupRow {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub min: u8,
    pub max: u8,
    pub options: Vec<OptionRow>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OptionRow {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub ingredient_id: Option<u64>,
    pub quantity: u32,
    pub price: Cents,
    pub is_default: bool,
    /// Prices set for a size, by size id.
    pub prices: BTreeMap<u64, Cents>,
}

pub async fn groups(conn: &mut MySqlConnection) -> Result<Vec<GroupRow>, sqlx::Error> {
    let groups: Vec<(u64, String, String, u8, u8)> = sqlx::query_as(
        "SELECT id, code, name, min_choices, max_choices FROM option_groups ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    type Row = (u64, u64, String, String, Option<u64>, u32, u32, bool);
    let options: Vec<Row> = sqlx::query_as(
        "SELECT group_id, id, code, name, ingredient_id, quantity, price_cents, is_default
         FROM options ORDER BY position, id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let prices: Vec<(u64, u64, u32)> =
        sqlx::query_as("SELECT option_id, size_id, price_cents FROM option_prices")
            .fetch_all(conn)
            .await?;
    Ok(groups
        .into_iter()
        .map(|(id, code, name, min, max)| GroupRow {
            id,
            code,
            name,
            min,
            max,
            options: options
                .iter()
                .filter(|o| o.0 == id)
                .map(
                    |(_, oid, code, name, ingredient_id, quantity, price, is_default)| OptionRow {
                        id: *oid,
                        code: code.clone(),
                        name: name.clone(),
                        ingredient_id: *ingredient_id,
                        quantity: *quantity,
                        price: Cents(*price),
                        is_default: *is_default,
                        prices: prices
                            .iter()
                            .filter(|(o, _, _)| o == oid)
                            .map(|(_, s, p)| (*s, Cents(*p)))
                            .collect(),
                    },
                )
                .collect(),
        })
        .collect())
}

/// Creates (`id` none) or changes a group: its name and how many of its options a customer
/// chooses, at least and at most.
pub async fn set_group(
    conn: &mut MySqlConnection,
    id: Option<u64>,
    code: &str,
    name: &str,
    min: &str,
    max: &str,
) -> Result<(), AdminError> {
    let name = text(name, "le nom du groupe", 120)?;
    let min: u8 = checked_number(min, "choix minimum", 0..=20)?;
    let max: u8 = checked_number(max, "choix maximum", 1..=20)?;
    if min > max {
        return Err(invalid(format!(
            "au moins {min} choix mais au plus {max} : le minimum dépasse le maximum"
        )));
    }
    match id {
        Some(id) => {
            must_exist(conn, "option_groups", id).await?;
            sqlx::query(
                "UPDATE option_groups SET name = ?, min_choices = ?, max_choices = ? WHERE id = ?",
            )
            .bind(name)
            .bind(min)
            .bind(max)
            .bind(id)
            .execute(conn)
            .await?;
            Ok(())
        }
        None => {
            let code = checked_code(code, "code du groupe")?;
            match sqlx::query(
                "INSERT INTO option_groups (code, name, min_choices, max_choices) VALUES (?, ?, ?, ?)",
            )
            .bind(&code)
            .bind(name)
            .bind(min)
            .bind(max)
            .execute(conn)
            .await
            {
                Ok(_) => Ok(()),
                Err(e) if unique(&e) => Err(invalid(format!("le groupe « {code} » existe déjà"))),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// An option as the admin types it.
#[derive(Clone, Debug, Default)]
pub struct OptionInput<'a> {
    pub group_id: u64,
    /// Only for a new option.
    pub code: &'a str,
    pub name: &'a str,
    /// `None`: the option adds no ingredient (a free choice, a cooking).
    pub ingredient_id: Option<u64>,
    pub quantity: &'a str,
    pub price: &'a str,
    pub is_default: bool,
    /// By size id, a price for that size as typed (empty: the option's price).
    pub size_prices: BTreeMap<u64, &'a str>,
}

/// Creates (`id` none) or changes an option, with its prices by size.
pub async fn set_option(
    conn: &mut MySqlConnection,
    id: Option<u64>,
    input: &OptionInput<'_>,
) -> Result<(), AdminError> {
    let name = text(input.name, "le nom de l'option", 120)?;
    let quantity: u32 = match (input.ingredient_id, input.quantity.trim()) {
        (None, "" | "0") => 0,
        (None, _) => {
            return Err(invalid(
                "une quantité sans ingrédient : choisissez l'ingrédient ou laissez vide",
            ));
        }
        (Some(_), raw) => checked_number(raw, "quantité de l'ingrédient", 1..=100_000)?,
    };
    if let Some(ingredient) = input.ingredient_id {
        let exists: Option<u64> = sqlx::query_scalar("SELECT id FROM ingredients WHERE id = ?")
            .bind(ingredient)
            .fetch_optional(&mut *conn)
            .await?;
        exists.ok_or_else(|| invalid("ingrédient inconnu"))?;
    }
    let group: Option<u64> = sqlx::query_scalar("SELECT id FROM option_groups WHERE id = ?")
        .bind(input.group_id)
        .fetch_optional(&mut *conn)
        .await?;
    group.ok_or(AdminError::NotFound)?;
    let price = checked_amount(input.price, "prix de l'option")?;
    let mut size_prices = Vec::new();
    for (size_id, raw) in &input.size_prices {
        if !raw.trim().is_empty() {
            size_prices.push((*size_id, checked_amount(raw, "prix pour une taille")?));
        }
    }
    let option_id = match id {
        Some(id) => {
            let exists: Option<u64> = sqlx::query_scalar("SELECT id FROM options WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            exists.ok_or(AdminError::NotFound)?;
            sqlx::query(
                "UPDATE options SET name = ?, ingredient_id = ?, quantity = ?, price_cents = ?, is_default = ? WHERE id = ?",
            )
            .bind(name)
            .bind(input.ingredient_id)
            .bind(quantity)
            .bind(price.0)
            .bind(input.is_default)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            id
        }
        None => {
            let code = checked_code(input.code, "code de l'option")?;
            match sqlx::query(
                "INSERT INTO options (group_id, code, name, ingredient_id, quantity, price_cents, is_default, position)
                 SELECT ?, ?, ?, ?, ?, ?, ?, COALESCE(MAX(position) + 1, 0) FROM options",
            )
            .bind(input.group_id)
            .bind(&code)
            .bind(name)
            .bind(input.ingredient_id)
            .bind(quantity)
            .bind(price.0)
            .bind(input.is_default)
            .execute(&mut *conn)
            .await
            {
                Ok(done) => done.last_insert_id(),
                Err(e) if unique(&e) => return Err(invalid(format!("l'option « {code} » existe déjà"))),
                Err(e) => return Err(e.into()),
            }
        }
    };
    sqlx::query("DELETE FROM option_prices WHERE option_id = ?")
        .bind(option_id)
        .execute(&mut *conn)
        .await?;
    for (size_id, p) in size_prices {
        sqlx::query(
            "INSERT INTO option_prices (option_id, size_id, price_cents) SELECT ?, id, ? FROM sizes WHERE id = ?",
        )
        .bind(option_id)
        .bind(p.0)
        .bind(size_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// What an ingredient means for allergies and diets.
#[derive(Clone, Debug, Serialize)]
pub struct IngredientFacts {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub unit: String,
    /// Allergen codes.
    pub allergens: Vec<&'static str>,
    pub diet: Diet,
    pub spicy: bool,
}

pub async fn ingredient_facts(
    conn: &mut MySqlConnection,
) -> Result<Vec<IngredientFacts>, sqlx::Error> {
    let rows: Vec<(u64, String, String, String, String, Diet, bool)> = sqlx::query_as(
        "SELECT id, code, name, CAST(unit AS CHAR), allergens, CAST(diet AS CHAR), spicy FROM ingredients ORDER BY name",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, code, name, unit, allergens, diet, spicy)| IngredientFacts {
                id,
                code,
                name,
                unit,
                allergens: Allergens::parse(&allergens)
                    .unwrap_or_default()
                    .iter()
                    .map(vocab::Allergen::as_str)
                    .collect(),
                diet,
                spicy,
            },
        )
        .collect())
}

/// Sets an ingredient's allergens, diet and heat; every dish using it follows.
pub async fn set_ingredient_facts(
    conn: &mut MySqlConnection,
    id: u64,
    allergens: Allergens,
    diet: &str,
    spicy: bool,
) -> Result<(), AdminError> {
    let diet = Diet::parse(diet.trim())
        .ok_or_else(|| invalid("régime inconnu : végan, végétarien ou animal"))?;
    must_exist(conn, "ingredients", id).await?;
    sqlx::query("UPDATE ingredients SET allergens = ?, diet = ?, spicy = ? WHERE id = ?")
        .bind(allergens.to_string())
        .bind(diet)
        .bind(spicy)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

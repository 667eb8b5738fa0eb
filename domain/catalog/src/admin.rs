//! What the group admin changes from the admin screen: new pizzerias, pizzas (a name once in
//! the group), recipes and printers; pizzerias' hours and activity, pizzas' prices, VAT rates
//! and activity, which pizzeria serves which pizza, printers' addresses. Bulk changes go
//! through the seed CSV ([`crate::feed`]), all or nothing. Every refusal is French, for the
//! admin's page.

use serde::Serialize;
use sqlx::MySqlConnection;

use crate::hours::{OpeningHours, days_from_french};
use vocab::{Cents, VatRate};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("introuvable")]
    NotFound,
}

/// Characters of a pizzeria's opening hours (the column's size).
pub const HOURS_MAX: usize = 200;

fn found(rows: u64) -> Result<(), AdminError> {
    if rows == 0 {
        Err(AdminError::NotFound)
    } else {
        Ok(())
    }
}

/// Opening hours as typed, spaces tidied, or why not.
fn checked_hours(raw: &str) -> Result<String, AdminError> {
    let hours = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if hours.chars().count() > HOURS_MAX {
        return Err(AdminError::Invalid(format!(
            "horaires trop longs ({HOURS_MAX} caractères au plus)"
        )));
    }
    OpeningHours::parse(&hours).map_err(|_| {
        AdminError::Invalid("horaires invalides : par exemple 11:00-14:00 18:00-22:30".into())
    })?;
    Ok(hours)
}

/// A pizzeria's hours, closed days and whether it takes orders.
pub async fn set_pizzeria(
    conn: &mut MySqlConnection,
    id: u64,
    opening_hours: &str,
    closed_days: &str,
    active: bool,
    zones: Option<&str>,
) -> Result<(), AdminError> {
    let hours = checked_hours(opening_hours)?;
    let zones = zones
        .map(crate::zone::parse_lines)
        .transpose()
        .map_err(|e| AdminError::Invalid(format!("zones de livraison : {e}")))?;
    let days = days_from_french(closed_days)
        .map_err(|e| AdminError::Invalid(format!("jours de fermeture invalides : {e}")))?;
    let exists: Option<u64> = sqlx::query_scalar("SELECT id FROM pizzerias WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    exists.ok_or(AdminError::NotFound)?;
    sqlx::query("UPDATE pizzerias SET opening_hours = ?, closed_days = ?, active = ? WHERE id = ?")
        .bind(hours)
        .bind(days)
        .bind(active)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if let Some(zones) = zones {
        crate::zone::replace(conn, id, &zones).await?;
    }
    Ok(())
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct PizzaRow {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub price_cents: u32,
    pub vat_rate: VatRate,
    pub active: bool,
}

pub async fn pizzas(conn: &mut MySqlConnection) -> Result<Vec<PizzaRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, code, name, price_cents, CAST(vat_rate AS CHAR) AS vat_rate, active FROM pizzas ORDER BY name")
        .fetch_all(conn)
        .await
}

pub(crate) fn checked_price(raw: &str) -> Result<Cents, AdminError> {
    Cents::parse_eur(raw)
        .filter(|c| c.0 > 0 && c.0 <= 100_000)
        .ok_or_else(|| AdminError::Invalid("prix invalide : par exemple 12,50".into()))
}

pub(crate) fn checked_vat(raw: &str) -> Result<VatRate, AdminError> {
    VatRate::parse(raw.trim())
        .ok_or_else(|| AdminError::Invalid("taux de TVA inconnu : 5,5 %, 10 % ou 20 %".into()))
}

/// A pizza's price (in euros as typed, `12,50`), VAT rate and whether it is on the menus at
/// all. Orders already placed keep the price and rate they were sold at.
pub async fn set_pizza(
    conn: &mut MySqlConnection,
    id: u64,
    price: &str,
    vat_rate: &str,
    active: bool,
) -> Result<(), AdminError> {
    let price = checked_price(price)?;
    // Absent: unchanged (a form that only shows the price).
    let vat_rate = match vat_rate.trim() {
        "" => None,
        raw => Some(checked_vat(raw)?),
    };
    let exists: Option<u64> = sqlx::query_scalar("SELECT id FROM pizzas WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    exists.ok_or(AdminError::NotFound)?;
    sqlx::query("UPDATE pizzas SET price_cents = ?, vat_rate = COALESCE(?, vat_rate), active = ? WHERE id = ?")
        .bind(price.0)
        .bind(vat_rate)
        .bind(active)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Which pizzas each pizzeria serves (no row: served).
pub async fn served(conn: &mut MySqlConnection) -> Result<Vec<(u64, u64, bool)>, sqlx::Error> {
    sqlx::query_as("SELECT pizzeria_id, pizza_id, available FROM pizzeria_pizzas")
        .fetch_all(conn)
        .await
}

pub async fn set_served(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
    pizza_id: u64,
    available: bool,
) -> Result<(), AdminError> {
    sqlx::query(
        "INSERT INTO pizzeria_pizzas (pizzeria_id, pizza_id, available)
         SELECT p.id, z.id, ? FROM pizzerias p, pizzas z WHERE p.id = ? AND z.id = ?
         ON DUPLICATE KEY UPDATE available = VALUES(available)",
    )
    .bind(available)
    .bind(pizzeria_id)
    .bind(pizza_id)
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
    .map_err(AdminError::from)
    .and_then(|n| found(n.min(1)))
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct PrinterRow {
    pub id: u64,
    pub pizzeria_id: Option<u64>,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub role: String,
    pub active: bool,
    pub last_error: Option<String>,
}

pub async fn printers(conn: &mut MySqlConnection) -> Result<Vec<PrinterRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, pizzeria_id, name, host, port, CAST(role AS CHAR) AS role, active, last_error
         FROM printers ORDER BY pizzeria_id IS NULL, pizzeria_id, role",
    )
    .fetch_all(conn)
    .await
}

pub async fn printer(conn: &mut MySqlConnection, id: u64) -> Result<PrinterRow, AdminError> {
    sqlx::query_as(
        "SELECT id, pizzeria_id, name, host, port, CAST(role AS CHAR) AS role, active, last_error
         FROM printers WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(AdminError::NotFound)
}

/// A printer's address as typed ([`vocab::input::printer_address`]), or why not.
fn checked_address(
    host: &str,
    port: &str,
    allowed_ports: &std::ops::RangeInclusive<u16>,
) -> Result<(String, u16), AdminError> {
    let port: u16 = port.trim().parse().map_err(|_| {
        AdminError::Invalid(format!(
            "port invalide : de {} à {}",
            allowed_ports.start(),
            allowed_ports.end()
        ))
    })?;
    let host = vocab::input::printer_address(host, port, allowed_ports)
        .map_err(|e| AdminError::Invalid(e.to_string()))?
        .to_string();
    Ok((host, port))
}

/// Where a printer is on the shop's network ([`vocab::input::printer_address`]).
pub async fn set_printer(
    conn: &mut MySqlConnection,
    id: u64,
    host: &str,
    port: &str,
    active: bool,
    allowed_ports: &std::ops::RangeInclusive<u16>,
) -> Result<(), AdminError> {
    let (host, port) = checked_address(host, port, allowed_ports)?;
    printer(conn, id).await?;
    sqlx::query("UPDATE printers SET host = ?, port = ?, active = ? WHERE id = ?")
        .bind(host)
        .bind(port)
        .bind(active)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) fn text<'a>(raw: &'a str, what: &str, max: usize) -> Result<&'a str, AdminError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(AdminError::Invalid(format!("indiquez {what}")));
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{what} : {max} caractères au plus, sans caractère de contrôle"
        )));
    }
    Ok(t)
}

/// A new pizzeria as the admin's form gives it.
#[derive(Clone, Debug, Default)]
pub struct NewPizzeria<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub street: &'a str,
    pub postal_code: &'a str,
    pub city: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub opening_hours: &'a str,
    pub closed_days: &'a str,
    pub offers_delivery: bool,
    pub offers_pickup: bool,
}

/// Opens a pizzeria: it sells the group's menu and stocks every ingredient at 0 until its
/// manager records a delivery. The code (its address on the site) and the name are the group's
/// only once.
pub async fn create_pizzeria(
    conn: &mut MySqlConnection,
    p: &NewPizzeria<'_>,
) -> Result<u64, AdminError> {
    let code = p.code.trim().to_lowercase();
    if code.len() < 2
        || code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(AdminError::Invalid(
            "code invalide : 2 à 32 lettres minuscules, chiffres ou tirets (ex. paris-11)".into(),
        ));
    }
    let name = text(p.name, "le nom", 120)?;
    let street = text(p.street, "la rue", vocab::input::STREET_MAX)?;
    let postal_code = p.postal_code.trim();
    if postal_code.len() != 5 || !postal_code.chars().all(|c| c.is_ascii_digit()) {
        return Err(AdminError::Invalid(
            "code postal invalide : 5 chiffres".into(),
        ));
    }
    let city = text(p.city, "la ville", vocab::input::CITY_MAX)?;
    let phone = vocab::Phone::parse(p.phone)
        .ok()
        .flatten()
        .ok_or_else(|| AdminError::Invalid("téléphone invalide".into()))?;
    let email = account::Email::parse(p.email)
        .map_err(|e| AdminError::Invalid(format!("e-mail de la pizzeria : {e}")))?;
    let hours = checked_hours(p.opening_hours)?;
    let days = days_from_french(p.closed_days)
        .map_err(|e| AdminError::Invalid(format!("jours de fermeture invalides : {e}")))?;
    if !p.offers_delivery && !p.offers_pickup {
        return Err(AdminError::Invalid(
            "une pizzeria livre, fait de la vente à emporter, ou les deux".into(),
        ));
    }
    let taken: Option<(String, String)> =
        sqlx::query_as("SELECT code, name FROM pizzerias WHERE code = ? OR name = ? LIMIT 1")
            .bind(&code)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((c, n)) = taken {
        return Err(AdminError::Invalid(if c == code {
            format!("le code « {code} » est déjà celui de {n}")
        } else {
            format!("une pizzeria s'appelle déjà « {n} »")
        }));
    }
    let id = sqlx::query(
        "INSERT INTO pizzerias (code, name, street, postal_code, city, phone, email, opening_hours,
             closed_days, offers_delivery, offers_pickup)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&code)
    .bind(name)
    .bind(street)
    .bind(postal_code)
    .bind(city)
    .bind(phone.as_str())
    .bind(email.as_str())
    .bind(hours)
    .bind(days)
    .bind(p.offers_delivery)
    .bind(p.offers_pickup)
    .execute(&mut *conn)
    .await?
    .last_insert_id();
    // Its kitchen at the default pace (pace::store), the row checkouts lock.
    sqlx::query("INSERT INTO kitchen_capacity (pizzeria_id) VALUES (?)")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO stock (pizzeria_id, ingredient_id, quantity) SELECT ?, id, 0 FROM ingredients",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    crate::zone::start_with_own_postal_code(conn, &code).await?;
    Ok(id)
}

/// A pizza of that name already in the group (names compare without case or accents, as the
/// column's collation does), to refuse a second « Margherita ».
pub async fn pizza_named(
    conn: &mut MySqlConnection,
    name: &str,
) -> Result<Option<(u64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, code FROM pizzas WHERE name = ? LIMIT 1")
        .bind(name.trim())
        .fetch_optional(conn)
        .await
}

/// Adds a pizza to the group's menu (every pizzeria serves it until the admin says otherwise).
/// Its code is made from its name.
pub async fn create_pizza(
    conn: &mut MySqlConnection,
    name: &str,
    description: &str,
    price: &str,
    vat_rate: &str,
) -> Result<u64, AdminError> {
    let name = text(name, "le nom de la pizza", 120)?;
    let description = description.trim();
    if description.chars().count() > 500 {
        return Err(AdminError::Invalid(
            "description : 500 caractères au plus".into(),
        ));
    }
    let price = checked_price(price)?;
    let vat_rate = checked_vat(vat_rate)?;
    if pizza_named(conn, name).await?.is_some() {
        return Err(AdminError::Invalid(format!(
            "la pizza « {name} » existe déjà : modifiez-la plutôt"
        )));
    }
    let base: String = slug::slugify(name).chars().take(28).collect();
    let base = if base.is_empty() {
        "pizza".to_owned()
    } else {
        base
    };
    let mut code = base.clone();
    let mut n = 2;
    while sqlx::query_scalar::<_, u64>("SELECT id FROM pizzas WHERE code = ?")
        .bind(&code)
        .fetch_optional(&mut *conn)
        .await?
        .is_some()
    {
        code = format!("{base}-{n}");
        n += 1;
    }
    Ok(sqlx::query(
        "INSERT INTO pizzas (code, name, description, price_cents, vat_rate) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&code)
    .bind(name)
    .bind(description)
    .bind(price.0)
    .bind(vat_rate)
    .execute(conn)
    .await?
    .last_insert_id())
}

/// One recipe line as typed: the ingredient, a quantity in its unit, a note.
#[derive(Clone, Debug)]
pub struct RecipeLineInput<'a> {
    pub ingredient_id: u64,
    pub quantity: &'a str,
    pub note: &'a str,
    /// Whether a customer may ask for the pizza without it.
    pub removable: bool,
    /// By size id, a quantity for that size as typed (empty: the size's factor applies).
    pub per_size: Vec<(u64, &'a str)>,
}

/// Replaces the pizza's recipe: its lines (each ingredient once, a whole positive quantity)
/// and its steps (one per line of `steps`, empty lines skipped).
pub async fn set_recipe(
    conn: &mut MySqlConnection,
    pizza_id: u64,
    lines: &[RecipeLineInput<'_>],
    steps: &str,
) -> Result<(), AdminError> {
    let name: String = sqlx::query_scalar("SELECT name FROM pizzas WHERE id = ?")
        .bind(pizza_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AdminError::NotFound)?;
    let known: Vec<(u64, String)> = sqlx::query_as("SELECT id, name FROM ingredients")
        .fetch_all(&mut *conn)
        .await?;
    // (ingredient, quantity, note, removable, quantities by size)
    type Checked<'n> = (u64, u32, &'n str, bool, Vec<(u64, u32)>);
    let mut checked: Vec<Checked<'_>> = Vec::new();
    for l in lines {
        let Some((_, ingredient)) = known.iter().find(|(id, _)| *id == l.ingredient_id) else {
            return Err(AdminError::Invalid("ingrédient inconnu".into()));
        };
        if checked.iter().any(|(id, ..)| *id == l.ingredient_id) {
            return Err(AdminError::Invalid(format!(
                "« {ingredient} » figure deux fois dans la recette"
            )));
        }
        let quantity: u32 = l
            .quantity
            .trim()
            .parse()
            .ok()
            .filter(|q| (1..=100_000).contains(q))
            .ok_or_else(|| {
                AdminError::Invalid(format!(
                    "quantité de « {ingredient} » invalide : un nombre entier de 1 à 100000"
                ))
            })?;
        let note = l.note.trim();
        if note.chars().count() > 200 {
            return Err(AdminError::Invalid(format!(
                "remarque sur « {ingredient} » : 200 caractères au plus"
            )));
        }
        let mut per_size = Vec::new();
        for (size_id, raw) in &l.per_size {
            if raw.trim().is_empty() {
                continue;
            }
            let q: u32 = raw.trim().parse().ok().filter(|q| (1..=100_000).contains(q)).ok_or_else(|| {
                AdminError::Invalid(format!(
                    "quantité de « {ingredient} » pour une taille invalide : un nombre entier de 1 à 100000, ou vide"
                ))
            })?;
            per_size.push((*size_id, q));
        }
        checked.push((l.ingredient_id, quantity, note, l.removable, per_size));
    }
    if checked.is_empty() {
        return Err(AdminError::Invalid(format!(
            "la recette de « {name} » doit avoir au moins un ingrédient"
        )));
    }
    let steps: Vec<&str> = steps
        .lines()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if steps.len() > 30 || steps.iter().any(|s| s.chars().count() > 500) {
        return Err(AdminError::Invalid(
            "30 étapes au plus, de 500 caractères chacune".into(),
        ));
    }
    sqlx::query("DELETE FROM recipe_lines WHERE pizza_id = ?")
        .bind(pizza_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM recipe_steps WHERE pizza_id = ?")
        .bind(pizza_id)
        .execute(&mut *conn)
        .await?;
    for (ingredient_id, quantity, note, removable, per_size) in checked {
        sqlx::query(
            "INSERT INTO recipe_lines (pizza_id, ingredient_id, quantity, note, removable) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(pizza_id)
        .bind(ingredient_id)
        .bind(quantity)
        .bind(note)
        .bind(removable)
        .execute(&mut *conn)
        .await?;
        for (size_id, q) in per_size {
            sqlx::query(
                "INSERT INTO recipe_size_quantities (pizza_id, ingredient_id, size_id, quantity)
                 SELECT ?, ?, id, ? FROM sizes WHERE id = ?",
            )
            .bind(pizza_id)
            .bind(ingredient_id)
            .bind(q)
            .bind(size_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    for (i, step) in steps.iter().enumerate() {
        sqlx::query("INSERT INTO recipe_steps (pizza_id, position, text) VALUES (?, ?, ?)")
            .bind(pizza_id)
            .bind(u16::try_from(i + 1).unwrap_or(u16::MAX))
            .bind(step)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Every ingredient (for the recipe form), by name.
pub async fn ingredients(
    conn: &mut MySqlConnection,
) -> Result<Vec<(u64, String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, CAST(unit AS CHAR) FROM ingredients ORDER BY name")
        .fetch_all(conn)
        .await
}

/// A recipe line as stored, for the editor.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct StoredLine {
    pub ingredient_id: u64,
    pub quantity: u32,
    pub note: String,
    pub removable: bool,
}

/// The pizza's recipe lines as stored, the quantities set by size ((ingredient, size) →
/// quantity) and its steps.
pub async fn recipe_of(
    conn: &mut MySqlConnection,
    pizza_id: u64,
) -> Result<(Vec<StoredLine>, Vec<(u64, u64, u32)>, Vec<String>), sqlx::Error> {
    let per_size = sqlx::query_as(
        "SELECT ingredient_id, size_id, quantity FROM recipe_size_quantities WHERE pizza_id = ?",
    )
    .bind(pizza_id)
    .fetch_all(&mut *conn)
    .await?;
    let lines = sqlx::query_as(
        "SELECT ingredient_id, quantity, note, removable FROM recipe_lines WHERE pizza_id = ? ORDER BY id",
    )
    .bind(pizza_id)
    .fetch_all(&mut *conn)
    .await?;
    let steps =
        sqlx::query_scalar("SELECT text FROM recipe_steps WHERE pizza_id = ? ORDER BY position")
            .bind(pizza_id)
            .fetch_all(conn)
            .await?;
    Ok((lines, per_size, steps))
}

/// Adds a printer: a pizzeria's `main` kitchen printer or a `backup` (a shop's own, or the
/// group's shared one without a pizzeria), at an address on the shop's network.
pub async fn create_printer(
    conn: &mut MySqlConnection,
    pizzeria_id: Option<u64>,
    name: &str,
    host: &str,
    port: &str,
    role: &str,
    allowed_ports: &std::ops::RangeInclusive<u16>,
) -> Result<u64, AdminError> {
    let name = text(name, "le nom de l'imprimante", 120)?;
    let role = match role {
        "main" => "main",
        "backup" => "backup",
        _ => return Err(AdminError::Invalid("rôle d'imprimante inconnu".into())),
    };
    if role == "main" && pizzeria_id.is_none() {
        return Err(AdminError::Invalid(
            "l'imprimante de cuisine appartient à une pizzeria".into(),
        ));
    }
    let (host, port) = checked_address(host, port, allowed_ports)?;
    if let Some(p) = pizzeria_id
        && sqlx::query_scalar::<_, u64>("SELECT id FROM pizzerias WHERE id = ?")
            .bind(p)
            .fetch_optional(&mut *conn)
            .await?
            .is_none()
    {
        return Err(AdminError::Invalid("pizzeria inconnue".into()));
    }
    let taken: Option<u64> =
        sqlx::query_scalar("SELECT id FROM printers WHERE name = ? AND pizzeria_id <=> ?")
            .bind(name)
            .bind(pizzeria_id)
            .fetch_optional(&mut *conn)
            .await?;
    if taken.is_some() {
        return Err(AdminError::Invalid(format!(
            "une imprimante s'appelle déjà « {name} » ici"
        )));
    }
    Ok(sqlx::query(
        "INSERT INTO printers (pizzeria_id, name, host, port, role) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(pizzeria_id)
    .bind(name)
    .bind(host)
    .bind(port)
    .bind(role)
    .execute(conn)
    .await?
    .last_insert_id())
}

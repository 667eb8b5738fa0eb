//! `feed-db`: loads the group's seed CSV (format in `docs/feed-db.md`).
//!
//! Two passes keep a bad file from changing anything: [`parse`] checks every row on its own and
//! across rows (duplicates, roles, formats) without touching the database; [`load`] then writes
//! everything inside the caller's transaction, resolving codes against the file and what the
//! database already holds, and reports unknown references by line and column. The caller commits
//! only when both passes found no problem. Every write is an upsert on a natural key, so loading
//! the same file twice changes nothing the second time.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use account::{Email, Password, Role};
use sqlx::MySqlConnection;

use crate::{Cents, Unit};

/// One thing wrong with the file, located by line and column (1-based; the kind is column 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: usize,
    pub column_name: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} ({}): {}",
            self.line, self.column, self.column_name, self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("cannot read the CSV file: {0}")]
    Read(String),
    #[error("the file has {} problem(s), nothing was loaded:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// What a load wrote, per kind of row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub pizzerias: usize,
    pub ingredients: usize,
    pub pizzas: usize,
    pub recipe_lines: usize,
    pub recipe_steps: usize,
    pub stock: usize,
    pub menu: usize,
    pub printers: usize,
    pub staff: usize,
    pub customers: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pizzerias, {} ingredients, {} pizzas, {} recipe lines, {} recipe steps, {} stock rows, {} menu rows, {} printers, {} staff, {} customers",
            self.pizzerias,
            self.ingredients,
            self.pizzas,
            self.recipe_lines,
            self.recipe_steps,
            self.stock,
            self.menu,
            self.printers,
            self.staff,
            self.customers
        )
    }
}

struct KindSpec {
    kind: &'static str,
    columns: &'static [&'static str],
    /// Columns that must be present; the ones after may be left out at the end of the row.
    required: usize,
}

const KINDS: &[KindSpec] = &[
    KindSpec {
        kind: "pizzeria",
        columns: &[
            "code",
            "name",
            "street",
            "postal_code",
            "city",
            "phone",
            "email",
            "opening_hours",
            "closed_days",
            "services",
        ],
        required: 10,
    },
    KindSpec {
        kind: "ingredient",
        columns: &["code", "name", "unit"],
        required: 3,
    },
    KindSpec {
        kind: "pizza",
        columns: &["code", "name", "description", "price_eur"],
        required: 4,
    },
    KindSpec {
        kind: "recipe_line",
        columns: &["pizza_code", "ingredient_code", "quantity", "note"],
        required: 3,
    },
    KindSpec {
        kind: "recipe_step",
        columns: &["pizza_code", "position", "text"],
        required: 3,
    },
    KindSpec {
        kind: "stock",
        columns: &[
            "pizzeria_code",
            "ingredient_code",
            "quantity",
            "low_threshold",
        ],
        required: 4,
    },
    KindSpec {
        kind: "menu",
        columns: &["pizzeria_code", "pizza_code", "available"],
        required: 3,
    },
    KindSpec {
        kind: "printer",
        columns: &["pizzeria_code", "name", "host", "port", "role"],
        required: 5,
    },
    KindSpec {
        kind: "staff",
        columns: &["email", "full_name", "role", "pizzeria_code", "password"],
        required: 5,
    },
    KindSpec {
        kind: "customer",
        columns: &[
            "email",
            "full_name",
            "phone",
            "password",
            "street",
            "postal_code",
            "city",
        ],
        required: 7,
    },
];

/// A reference to another row by code, remembered with where it was written.
#[derive(Clone, Debug)]
pub struct CodeRef {
    pub code: String,
    line: u64,
    column: usize,
    column_name: &'static str,
}

#[derive(Debug)]
pub struct PizzeriaRow {
    pub code: String,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub opening_hours: String,
    pub closed_days: String,
    pub delivery: bool,
    pub pickup: bool,
}

#[derive(Debug)]
pub struct IngredientRow {
    pub code: String,
    pub name: String,
    pub unit: Unit,
}

#[derive(Debug)]
pub struct PizzaRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub price: Cents,
}

#[derive(Debug)]
pub struct RecipeLineRow {
    pub pizza: CodeRef,
    pub ingredient: CodeRef,
    pub quantity: u32,
    pub note: String,
}

#[derive(Debug)]
pub struct RecipeStepRow {
    pub pizza: CodeRef,
    pub position: u16,
    pub text: String,
}

#[derive(Debug)]
pub struct StockRow {
    pub pizzeria: CodeRef,
    pub ingredient: CodeRef,
    pub quantity: i64,
    pub low_threshold: i64,
}

#[derive(Debug)]
pub struct MenuRow {
    pub pizzeria: CodeRef,
    pub pizza: CodeRef,
    pub available: bool,
}

#[derive(Debug)]
pub struct PrinterRow {
    pub pizzeria: Option<CodeRef>,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub backup: bool,
}

#[derive(Debug)]
pub struct StaffRow {
    pub email: Email,
    pub full_name: String,
    pub role: Role,
    pub pizzeria: Option<CodeRef>,
    pub password: Password,
}

#[derive(Debug)]
pub struct CustomerRow {
    pub email: Email,
    pub full_name: String,
    pub phone: String,
    pub password: Password,
    pub street: String,
    pub postal_code: String,
    pub city: String,
}

/// A seed file that passed every check that needs no database.
#[derive(Debug, Default)]
pub struct Seed {
    pub pizzerias: Vec<PizzeriaRow>,
    pub ingredients: Vec<IngredientRow>,
    pub pizzas: Vec<PizzaRow>,
    pub recipe_lines: Vec<RecipeLineRow>,
    pub recipe_steps: Vec<RecipeStepRow>,
    pub stock: Vec<StockRow>,
    pub menu: Vec<MenuRow>,
    pub printers: Vec<PrinterRow>,
    pub staff: Vec<StaffRow>,
    pub customers: Vec<CustomerRow>,
}

/// Reads and checks a whole seed file; returns every problem found, not just the first.
pub fn parse(mut input: impl Read) -> Result<Seed, FeedError> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| FeedError::Read(e.to_string()))?;
    // The csv reader's own line count skips blank lines; count from byte offsets instead, so a
    // reported line is the one an editor shows.
    // A record's offset may point at the blank lines before it.
    let line_of = |byte: u64| {
        let mut at = (byte as usize).min(bytes.len());
        while at < bytes.len() && matches!(bytes[at], b'\n' | b'\r') {
            at += 1;
        }
        1 + bytes[..at].iter().filter(|b| **b == b'\n').count() as u64
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&bytes[..]);
    let mut seed = Seed::default();
    let mut problems = Vec::new();
    let mut keys = Keys::default();

    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_of(p.byte()));
                return Err(match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => FeedError::Invalid(vec![Problem {
                        line,
                        column: 1,
                        column_name: "kind",
                        message: "not valid UTF-8".into(),
                    }]),
                    _ => FeedError::Read(e.to_string()),
                });
            }
        };
        let line = record.position().map_or(0, |p| line_of(p.byte()));
        // Comments are skipped here rather than by the csv reader, whose line numbers would then
        // no longer match the file's.
        if record.iter().all(|f| f.trim().is_empty())
            || record
                .get(0)
                .is_some_and(|f| f.trim_start().starts_with('#'))
        {
            continue;
        }
        let kind = record.get(0).unwrap_or_default().trim();
        let Some(spec) = KINDS.iter().find(|k| k.kind == kind) else {
            let known: Vec<_> = KINDS.iter().map(|k| k.kind).collect();
            problems.push(Problem {
                line,
                column: 1,
                column_name: "kind",
                message: format!(
                    "unknown kind {kind:?}, expected one of {}",
                    known.join(", ")
                ),
            });
            continue;
        };
        let given = record.len() - 1;
        if given < spec.required || given > spec.columns.len() {
            let expected = if spec.required == spec.columns.len() {
                format!("{}", spec.columns.len())
            } else {
                format!("{} to {}", spec.required, spec.columns.len())
            };
            // Point at the first missing column, or the first one too many.
            let (column, column_name) = if given < spec.required {
                (given + 2, spec.columns[given])
            } else {
                (spec.columns.len() + 2, "extra")
            };
            problems.push(Problem {
                line,
                column,
                column_name,
                message: format!(
                    "a {kind} row has {expected} columns after the kind ({}), this one has {given}",
                    spec.columns.join(", ")
                ),
            });
            continue;
        }
        let mut row = RowReader {
            line,
            record: &record,
            columns: spec.columns,
            problems: &mut problems,
        };
        match kind {
            "pizzeria" => {
                let r = PizzeriaRow {
                    code: row.code(0),
                    name: row.text(1, 120),
                    street: row.text(2, 200),
                    postal_code: row.postal_code(3),
                    city: row.text(4, 100),
                    phone: row.text(5, 30),
                    email: row.email(6).map(|e| e.to_string()).unwrap_or_default(),
                    opening_hours: row.opening_hours(7),
                    closed_days: row.closed_days(8),
                    delivery: false,
                    pickup: false,
                };
                let (delivery, pickup) = row.services(9);
                keys.check(row.problems, "pizzeria", &r.code, line, 2, "code");
                seed.pizzerias.push(PizzeriaRow {
                    delivery,
                    pickup,
                    ..r
                });
            }
            "ingredient" => {
                let code = row.code(0);
                keys.check(row.problems, "ingredient", &code, line, 2, "code");
                let name = row.text(1, 120);
                let unit = row.unit(2);
                seed.ingredients.push(IngredientRow { code, name, unit });
            }
            "pizza" => {
                let code = row.code(0);
                keys.check(row.problems, "pizza", &code, line, 2, "code");
                seed.pizzas.push(PizzaRow {
                    code,
                    name: row.text(1, 120),
                    description: row.optional_text(2, 500),
                    price: row.price(3),
                });
            }
            "recipe_line" => {
                let (pizza, ingredient) = (row.code_ref(0), row.code_ref(1));
                keys.check(
                    row.problems,
                    "recipe_line",
                    &format!("{}/{}", pizza.code, ingredient.code),
                    line,
                    3,
                    "ingredient_code",
                );
                let quantity = row.number(2, 1, u64::from(u32::MAX)) as u32;
                seed.recipe_lines.push(RecipeLineRow {
                    pizza,
                    ingredient,
                    quantity,
                    note: row.optional_text(3, 200),
                });
            }
            "recipe_step" => {
                let pizza = row.code_ref(0);
                let position = row.number(1, 1, 999) as u16;
                keys.check(
                    row.problems,
                    "recipe_step",
                    &format!("{}/{position}", pizza.code),
                    line,
                    3,
                    "position",
                );
                seed.recipe_steps.push(RecipeStepRow {
                    pizza,
                    position,
                    text: row.text(2, 500),
                });
            }
            "stock" => {
                let (pizzeria, ingredient) = (row.code_ref(0), row.code_ref(1));
                keys.check(
                    row.problems,
                    "stock",
                    &format!("{}/{}", pizzeria.code, ingredient.code),
                    line,
                    3,
                    "ingredient_code",
                );
                let quantity = row.number(2, 0, 1_000_000_000) as i64;
                let low_threshold = row.number(3, 0, 1_000_000_000) as i64;
                seed.stock.push(StockRow {
                    pizzeria,
                    ingredient,
                    quantity,
                    low_threshold,
                });
            }
            "menu" => {
                let (pizzeria, pizza) = (row.code_ref(0), row.code_ref(1));
                keys.check(
                    row.problems,
                    "menu",
                    &format!("{}/{}", pizzeria.code, pizza.code),
                    line,
                    3,
                    "pizza_code",
                );
                let available = row.yes_no(2);
                seed.menu.push(MenuRow {
                    pizzeria,
                    pizza,
                    available,
                });
            }
            "printer" => {
                let pizzeria = row.optional_code_ref(0);
                let name = row.text(1, 120);
                let shop = pizzeria.as_ref().map_or("", |p| p.code.as_str());
                keys.check(
                    row.problems,
                    "printer",
                    &format!("{shop}/{name}"),
                    line,
                    3,
                    "name",
                );
                let host = row.host(2);
                let port = row.number(3, 1, 65535) as u16;
                let backup = row.printer_role(4);
                seed.printers.push(PrinterRow {
                    pizzeria,
                    name,
                    host,
                    port,
                    backup,
                });
            }
            "staff" => {
                let email = row.email(0);
                let full_name = row.text(1, 120);
                let role = row.staff_role(2);
                let pizzeria = row.optional_code_ref(3);
                match (role.map(Role::needs_pizzeria), &pizzeria) {
                    (Some(true), None) => {
                        row.problem(3, "this role works in a pizzeria: give its code".into())
                    }
                    (Some(false), Some(_)) => row.problem(
                        3,
                        "a group admin belongs to no pizzeria: leave it empty".into(),
                    ),
                    _ => {}
                }
                let password = row.password(4);
                if let (Some(email), Some(role), Some(password)) = (email, role, password) {
                    keys.check(row.problems, "user", email.as_str(), line, 2, "email");
                    seed.staff.push(StaffRow {
                        email,
                        full_name,
                        role,
                        pizzeria,
                        password,
                    });
                }
            }
            "customer" => {
                let email = row.email(0);
                let full_name = row.text(1, 120);
                let phone = row.text(2, 30);
                let password = row.password(3);
                let (street, postal_code, city) =
                    (row.text(4, 200), row.postal_code(5), row.text(6, 100));
                if let (Some(email), Some(password)) = (email, password) {
                    keys.check(row.problems, "user", email.as_str(), line, 2, "email");
                    seed.customers.push(CustomerRow {
                        email,
                        full_name,
                        phone,
                        password,
                        street,
                        postal_code,
                        city,
                    });
                }
            }
            _ => unreachable!("every kind in KINDS is handled"),
        }
    }
    if problems.is_empty() {
        Ok(seed)
    } else {
        Err(FeedError::Invalid(problems))
    }
}

/// Natural keys seen so far in the file, to report a repeated row at its second occurrence.
#[derive(Default)]
struct Keys(HashMap<(&'static str, String), u64>);

impl Keys {
    fn check(
        &mut self,
        problems: &mut Vec<Problem>,
        kind: &'static str,
        key: &str,
        line: u64,
        column: usize,
        column_name: &'static str,
    ) {
        if let Some(first) = self.0.insert((kind, key.to_owned()), line) {
            self.0.insert((kind, key.to_owned()), first);
            problems.push(Problem {
                line,
                column,
                column_name,
                message: format!("duplicate of line {first}"),
            });
        }
    }
}

/// Reads the typed fields of one row, recording a problem for each bad field.
struct RowReader<'a> {
    line: u64,
    record: &'a csv::StringRecord,
    columns: &'static [&'static str],
    problems: &'a mut Vec<Problem>,
}

impl RowReader<'_> {
    fn raw(&self, i: usize) -> &str {
        self.record.get(i + 1).unwrap_or_default().trim()
    }

    fn problem(&mut self, i: usize, message: String) {
        self.problems.push(Problem {
            line: self.line,
            column: i + 2,
            column_name: self.columns[i],
            message,
        });
    }

    fn optional_text(&mut self, i: usize, max: usize) -> String {
        let v = self.raw(i).to_owned();
        if v.chars().count() > max {
            self.problem(i, format!("longer than {max} characters"));
        } else if v.chars().any(char::is_control) {
            self.problem(i, "contains control characters".into());
        }
        v
    }

    fn text(&mut self, i: usize, max: usize) -> String {
        if self.raw(i).is_empty() {
            self.problem(i, "must not be empty".into());
        }
        self.optional_text(i, max)
    }

    fn code(&mut self, i: usize) -> String {
        let v = self.raw(i).to_owned();
        let ok = (2..=32).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            self.problem(i, format!("{v:?} is not a code: 2 to 32 of a-z, 0-9 and -"));
        }
        v
    }

    fn code_ref(&mut self, i: usize) -> CodeRef {
        let code = self.code(i);
        CodeRef {
            code,
            line: self.line,
            column: i + 2,
            column_name: self.columns[i],
        }
    }

    fn optional_code_ref(&mut self, i: usize) -> Option<CodeRef> {
        if self.raw(i).is_empty() {
            None
        } else {
            Some(self.code_ref(i))
        }
    }

    fn number(&mut self, i: usize, min: u64, max: u64) -> u64 {
        match self.raw(i).parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                self.problem(
                    i,
                    format!(
                        "{:?} is not a whole number from {min} to {max}",
                        self.raw(i)
                    ),
                );
                min
            }
        }
    }

    fn price(&mut self, i: usize) -> Cents {
        match Cents::parse_eur(self.raw(i)) {
            Some(c) if c.0 > 0 => c,
            _ => {
                self.problem(
                    i,
                    format!("{:?} is not a price in euros such as 12.50", self.raw(i)),
                );
                Cents(0)
            }
        }
    }

    fn unit(&mut self, i: usize) -> Unit {
        Unit::parse(self.raw(i)).unwrap_or_else(|| {
            self.problem(
                i,
                format!("{:?} is not a unit: g, ml or piece", self.raw(i)),
            );
            Unit::G
        })
    }

    fn yes_no(&mut self, i: usize) -> bool {
        match self.raw(i) {
            "yes" => true,
            "no" => false,
            other => {
                self.problem(i, format!("{other:?}: expected yes or no"));
                false
            }
        }
    }

    fn email(&mut self, i: usize) -> Option<Email> {
        Email::parse(self.raw(i))
            .map_err(|_| self.problem(i, format!("{:?} is not an e-mail address", self.raw(i))))
            .ok()
    }

    fn password(&mut self, i: usize) -> Option<Password> {
        // The raw value is not trimmed: spaces are part of a password. Never echo it.
        let raw = self.record.get(i + 1).unwrap_or_default();
        Password::parse(raw)
            .map_err(|e| self.problem(i, e.to_string()))
            .ok()
    }

    fn staff_role(&mut self, i: usize) -> Option<Role> {
        match self.raw(i).parse::<Role>() {
            Ok(Role::Customer) => {
                self.problem(i, "customers are loaded with customer rows".into());
                None
            }
            Ok(role) => Some(role),
            Err(_) => {
                self.problem(
                    i,
                    format!(
                        "{:?} is not a role: counter, pizzaiolo, delivery, manager or admin",
                        self.raw(i)
                    ),
                );
                None
            }
        }
    }

    fn printer_role(&mut self, i: usize) -> bool {
        match self.raw(i) {
            "main" => false,
            "backup" => true,
            other => {
                self.problem(i, format!("{other:?}: expected main or backup"));
                false
            }
        }
    }

    fn host(&mut self, i: usize) -> String {
        let v = self.raw(i).to_owned();
        let ok = !v.is_empty()
            && v.len() <= 255
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
        if !ok {
            self.problem(i, format!("{v:?} is not a host name or IP address"));
        }
        v
    }

    fn postal_code(&mut self, i: usize) -> String {
        let v = self.raw(i).to_owned();
        if !(v.len() == 5 && v.bytes().all(|b| b.is_ascii_digit())) {
            self.problem(i, format!("{v:?} is not a French postal code (5 digits)"));
        }
        v
    }

    fn opening_hours(&mut self, i: usize) -> String {
        let v = self.raw(i).to_owned();
        if let Err(e) = crate::hours::OpeningHours::parse(&v) {
            self.problem(i, e);
        }
        v
    }

    fn closed_days(&mut self, i: usize) -> String {
        let v = self.raw(i).to_owned();
        if let Err(e) = crate::hours::parse_days(&v) {
            self.problem(i, e);
        }
        v
    }

    fn services(&mut self, i: usize) -> (bool, bool) {
        let words: Vec<&str> = self.raw(i).split_whitespace().collect();
        let delivery = words.contains(&"delivery");
        let pickup = words.contains(&"pickup");
        if words.is_empty() || words.iter().any(|w| !matches!(*w, "delivery" | "pickup")) {
            self.problem(
                i,
                format!("{:?}: expected delivery, pickup or both", self.raw(i)),
            );
        }
        (delivery, pickup)
    }
}

/// Writes a parsed seed inside the caller's transaction. Returns the problems found while
/// resolving codes; the caller must roll back when there are any.
pub async fn load(conn: &mut MySqlConnection, seed: &Seed) -> Result<Summary, FeedError> {
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
                    "no {what} with code {:?} in the file or the database",
                    r.code
                ),
            });
            0
        })
    };

    // Resolve every reference first, so unknown codes are all reported before anything else runs.
    let recipe_lines: Vec<_> = seed
        .recipe_lines
        .iter()
        .map(|r| {
            (
                resolve(&pizzas, &r.pizza, "pizza"),
                resolve(&ingredients, &r.ingredient, "ingredient"),
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
                resolve(&ingredients, &r.ingredient, "ingredient"),
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

    for (pizza_id, ingredient_id, r) in &recipe_lines {
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
    for (pizza_id, r) in &recipe_steps {
        sqlx::query("INSERT INTO recipe_steps (pizza_id, position, text) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE text = VALUES(text)")
            .bind(pizza_id)
            .bind(r.position)
            .bind(&r.text)
            .execute(&mut *conn)
            .await?;
    }
    for (pizzeria_id, ingredient_id, r) in &stock {
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
    for (pizzeria_id, pizza_id, r) in &menu {
        sqlx::query("INSERT INTO pizzeria_pizzas (pizzeria_id, pizza_id, available) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE available = VALUES(available)")
            .bind(pizzeria_id)
            .bind(pizza_id)
            .bind(r.available)
            .execute(&mut *conn)
            .await?;
    }
    for (pizzeria_id, r) in &printers {
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
    for (pizzeria_id, r) in &staff {
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
        let updated = sqlx::query("UPDATE addresses SET street = ?, postal_code = ?, city = ? WHERE user_id = ? AND label = 'Domicile'")
            .bind(&r.street)
            .bind(&r.postal_code)
            .bind(&r.city)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
        if updated.rows_affected() == 0 {
            let exists: Option<(u64,)> =
                sqlx::query_as("SELECT id FROM addresses WHERE user_id = ? AND label = 'Domicile'")
                    .bind(user_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            if exists.is_none() {
                sqlx::query("INSERT INTO addresses (user_id, label, street, postal_code, city) VALUES (?, 'Domicile', ?, ?, ?)")
                    .bind(user_id)
                    .bind(&r.street)
                    .bind(&r.postal_code)
                    .bind(&r.city)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }

    Ok(Summary {
        pizzerias: seed.pizzerias.len(),
        ingredients: seed.ingredients.len(),
        pizzas: seed.pizzas.len(),
        recipe_lines: seed.recipe_lines.len(),
        recipe_steps: seed.recipe_steps.len(),
        stock: seed.stock.len(),
        menu: seed.menu.len(),
        printers: seed.printers.len(),
        staff: seed.staff.len(),
        customers: seed.customers.len(),
    })
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

/// Parses and loads a seed file in one transaction: all of it, or nothing.
pub async fn feed(pool: &sqlx::MySqlPool, input: impl Read) -> Result<Summary, FeedError> {
    let seed = parse(input)?;
    let mut tx = pool.begin().await?;
    let summary = load(&mut tx, &seed).await?;
    tx.commit().await?;
    tracing::info!(%summary, "seed file loaded");
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
# a comment
pizzeria,paris-11,OC Pizza Paris 11,12 rue Oberkampf,75011,Paris,+33 1 43 00 00 11,paris11@ocpizza.fr,11:30-14:30 18:00-23:00,mon,delivery pickup
ingredient,mozzarella,Mozzarella,g
pizza,margherita,Margherita,\"Tomate, mozzarella, basilic\",\"9,50\"
recipe_line,margherita,mozzarella,120
recipe_step,margherita,1,Étaler la pâte
stock,paris-11,mozzarella,20000,2000
menu,paris-11,margherita,yes
printer,paris-11,Cuisine,127.0.0.1,9101,main
printer,,Secours,127.0.0.1,9109,backup
staff,gerant@ocpizza.fr,Marie Curie,manager,paris-11,ocpizza-demo
staff,admin@ocpizza.fr,Ada Lovelace,admin,,ocpizza-demo
customer,client@example.fr,Jean Dupont,0600000000,ocpizza-demo,1 rue de Rivoli,75001,Paris
";

    #[test]
    fn a_good_file_parses_every_kind() {
        let seed = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(seed.pizzerias.len(), 1);
        assert!(seed.pizzerias[0].delivery && seed.pizzerias[0].pickup);
        assert_eq!(seed.pizzas[0].price, Cents(950));
        assert_eq!(seed.printers.len(), 2);
        assert!(seed.printers[1].pizzeria.is_none() && seed.printers[1].backup);
        assert_eq!(seed.staff[1].role, Role::Admin);
        assert_eq!(seed.customers.len(), 1);
    }

    fn problems(csv: &str) -> Vec<Problem> {
        match parse(csv.as_bytes()) {
            Err(FeedError::Invalid(p)) => p,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    /// Each kind of bad row, with where it must be reported.
    #[test]
    fn each_kind_of_bad_row_is_reported_by_line_and_column() {
        let cases: &[(&str, usize, &str, &str)] = &[
            ("boisson,coca,Coca", 1, "kind", "unknown kind"),
            ("ingredient,mozzarella,Mozzarella", 4, "unit", "3 columns"),
            (
                "ingredient,mozzarella,Mozzarella,g,extra",
                5,
                "extra",
                "3 columns",
            ),
            (
                "ingredient,Mozzarella!,Mozzarella,g",
                2,
                "code",
                "not a code",
            ),
            ("ingredient,mozzarella,,g", 3, "name", "must not be empty"),
            (
                "ingredient,mozzarella,Mozzarella,kg",
                4,
                "unit",
                "not a unit",
            ),
            ("pizza,reine,Reine,,douze", 5, "price_eur", "not a price"),
            ("pizza,reine,Reine,,0", 5, "price_eur", "not a price"),
            ("recipe_line,reine,jambon,-5", 4, "quantity", "whole number"),
            ("recipe_line,reine,jambon,0", 4, "quantity", "whole number"),
            (
                "recipe_step,reine,zero,Cuire",
                3,
                "position",
                "whole number",
            ),
            (
                "stock,paris-11,jambon,12.5,10",
                4,
                "quantity",
                "whole number",
            ),
            (
                "stock,paris-11,jambon,10,-1",
                5,
                "low_threshold",
                "whole number",
            ),
            ("menu,paris-11,reine,peut-être", 4, "available", "yes or no"),
            (
                "printer,paris-11,Cuisine,127.0.0.1,99999,main",
                5,
                "port",
                "whole number",
            ),
            (
                "printer,paris-11,Cuisine,127.0.0.1,9100,spare",
                6,
                "role",
                "main or backup",
            ),
            (
                "printer,paris-11,Cuisine,bad host!,9100,main",
                4,
                "host",
                "host name",
            ),
            (
                "staff,not-an-email,Jean,manager,paris-11,ocpizza-demo",
                2,
                "email",
                "e-mail",
            ),
            (
                "staff,a@ocpizza.fr,Jean,chef,paris-11,ocpizza-demo",
                4,
                "role",
                "not a role",
            ),
            (
                "staff,a@ocpizza.fr,Jean,customer,paris-11,ocpizza-demo",
                4,
                "role",
                "customer rows",
            ),
            (
                "staff,a@ocpizza.fr,Jean,manager,,ocpizza-demo",
                5,
                "pizzeria_code",
                "give its code",
            ),
            (
                "staff,a@ocpizza.fr,Jean,admin,paris-11,ocpizza-demo",
                5,
                "pizzeria_code",
                "leave it empty",
            ),
            (
                "staff,a@ocpizza.fr,Jean,manager,paris-11,short",
                6,
                "password",
                "au moins 10",
            ),
            (
                "customer,c@example.fr,Jean,06,ocpizza-demo,1 rue,750,Paris",
                7,
                "postal_code",
                "postal code",
            ),
            (
                "pizzeria,p1,P,1 rue,75011,Paris,01,p@ocpizza.fr,25:00-26:00,,pickup",
                9,
                "opening_hours",
                "",
            ),
            (
                "pizzeria,p1,P,1 rue,75011,Paris,01,p@ocpizza.fr,11:00-14:00,lundi,pickup",
                10,
                "closed_days",
                "",
            ),
            (
                "pizzeria,p1,P,1 rue,75011,Paris,01,p@ocpizza.fr,11:00-14:00,,takeaway",
                11,
                "services",
                "delivery, pickup",
            ),
        ];
        for (row, column, column_name, message) in cases {
            let csv = format!("# header comment, with a comma\n\n{row}\n");
            let found = problems(&csv);
            assert_eq!(found.len(), 1, "{row}: {found:?}");
            let p = &found[0];
            assert_eq!(
                (p.line, p.column, p.column_name),
                (3, *column, *column_name),
                "{row}: {p}"
            );
            assert!(p.message.contains(message), "{row}: {p}");
        }
    }

    #[test]
    fn duplicates_are_reported_at_the_second_occurrence() {
        let csv = "ingredient,jambon,Jambon,g\ningredient,basilic,Basilic,g\ningredient,jambon,Jambon blanc,g\n";
        let p = problems(csv);
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].to_string(),
            "line 3, column 2 (code): duplicate of line 1"
        );
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let p = problems("ingredient,jambon,Jambon,kg\npizza,reine,,,abc\n");
        let located: Vec<_> = p.iter().map(|p| (p.line, p.column_name)).collect();
        assert_eq!(located, [(1, "unit"), (2, "name"), (2, "price_eur")]);
    }

    #[test]
    fn passwords_are_never_echoed() {
        let p = problems("staff,a@ocpizza.fr,Jean,manager,paris-11,tiny-pw\n");
        assert!(!p[0].to_string().contains("tiny-pw"));
    }

    #[test]
    fn bad_utf8_is_a_problem_not_a_panic() {
        let bytes = b"ingredient,jambon,Jamb\xff\xfeon,g\n";
        assert!(matches!(parse(&bytes[..]), Err(FeedError::Invalid(_))));
    }
}

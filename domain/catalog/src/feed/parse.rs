//! The first pass: the CSV file read into a [`Seed`], every field checked on its own and across
//! rows (duplicates, roles, formats), without touching the database.

use std::collections::HashMap;
use std::io::Read;

use account::{Email, Password, Role};
use vocab::input::{CITY_MAX, MAX_STOCK, NAME_MAX, PHONE_MAX, STREET_MAX};
use vocab::{Allergens, Category, Cents, Diet, Fulfilment, VatRate};

use super::rows::*;
use super::{FeedError, Problem};
use crate::Unit;

/// Reads and checks a whole seed file; returns every problem found, not just the first.
/// `printer_ports`: the ports a printer row may use (`PRINTER_PORTS`).
pub fn parse(
    mut input: impl Read,
    printer_ports: &std::ops::RangeInclusive<u16>,
) -> Result<Seed, FeedError> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| FeedError::Read(e.to_string()))?;
    // The csv reader's own line count skips blank lines; count from byte offsets instead, so a
    // reported line is the one an editor shows.
    // A record's offset may point at the blank lines before it.
    let line_of = |byte: u64| {
        let mut at = usize::try_from(byte).map_or(bytes.len(), |b| b.min(bytes.len()));
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
                        message: "n'est pas de l'UTF-8 valide".into(),
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
                    "type de ligne inconnu {kind:?} : attendu l'un de {}",
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
                format!("de {} à {}", spec.required, spec.columns.len())
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
                    "une ligne {kind} a {expected} colonnes après le type ({}), celle-ci en a {given}",
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
            printer_ports,
        };
        read_row(kind, &mut row, &mut keys, &mut seed);
    }
    if problems.is_empty() {
        Ok(seed)
    } else {
        Err(FeedError::Invalid(problems))
    }
}

/// One row of a known kind, read into the seed (or its problems recorded).
fn read_row(kind: &str, row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    match kind {
        "pizzeria" => pizzeria_row(row, keys, seed),
        "ingredient" => ingredient_row(row, keys, seed),
        "pizza" => pizza_row(row, keys, seed),
        "product" => product_row(row, keys, seed),
        "recipe_line" => recipe_line_row(row, keys, seed),
        "size" => size_row(row, keys, seed),
        "pizza_size" => pizza_size_row(row, keys, seed),
        "recipe_size" => recipe_size_row(row, keys, seed),
        "option_group" => option_group_row(row, keys, seed),
        "option" => option_row(row, keys, seed),
        "option_price" => option_price_row(row, keys, seed),
        "pizza_option_group" => pizza_option_group_row(row, keys, seed),
        "recipe_step" => recipe_step_row(row, keys, seed),
        "stock" => stock_row(row, keys, seed),
        "menu" => menu_row(row, keys, seed),
        "printer" => printer_row(row, keys, seed),
        "delivery_zone" => zone_row(row, keys, seed),
        "staff" => staff_row(row, keys, seed),
        "customer" => customer_row(row, keys, seed),
        _ => unreachable!("every kind in KINDS is handled"),
    }
}

fn pizzeria_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let r = PizzeriaRow {
        code: row.code(0),
        name: row.text(1, NAME_MAX),
        street: row.text(2, STREET_MAX),
        postal_code: row.postal_code(3),
        city: row.text(4, CITY_MAX),
        phone: row.text(5, PHONE_MAX),
        email: row.email(6).map(|e| e.to_string()).unwrap_or_default(),
        opening_hours: row.opening_hours(7),
        closed_days: row.closed_days(8),
        delivery: false,
        pickup: false,
    };
    let (delivery, pickup) = row.services(9);
    keys.check(row.problems, "pizzeria", &r.code, row.line, 2, "code");
    seed.pizzerias.push(PizzeriaRow {
        delivery,
        pickup,
        ..r
    });
}

fn ingredient_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let code = row.code(0);
    keys.check(row.problems, "ingredient", &code, row.line, 2, "code");
    let name = row.text(1, NAME_MAX);
    let unit = row.unit(2);
    let allergens = row.allergens(3);
    let diet = row.diet(4);
    let spicy = row.optional_yes_no(5);
    seed.ingredients.push(IngredientRow {
        code,
        name,
        unit,
        allergens,
        diet,
        spicy,
    });
}

fn pizza_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let code = row.code(0);
    keys.check(row.problems, "pizza", &code, row.line, 2, "code");
    let name = row.text(1, NAME_MAX);
    // One « Margherita » in the group, whatever its code.
    keys.check(
        row.problems,
        "pizza name",
        &name.to_lowercase(),
        row.line,
        3,
        "name",
    );
    seed.pizzas.push(PizzaRow {
        line: row.line,
        code,
        name,
        description: row.optional_text(2, 500),
        price: row.price(3),
        category: row.category(4),
        vat_rate: row.vat_rate(5),
    });
}

/// A product sold by the unit (a can, a tiramisu): a menu entry, the stocked item of the same
/// code (counted in pieces) and a recipe of one of it.
fn product_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let code = row.code(0);
    keys.check(row.problems, "pizza", &code, row.line, 2, "code");
    keys.check(row.problems, "ingredient", &code, row.line, 2, "code");
    let name = row.text(1, NAME_MAX);
    keys.check(
        row.problems,
        "pizza name",
        &name.to_lowercase(),
        row.line,
        3,
        "name",
    );
    let category = row.category(4);
    if row.raw(4).is_empty() {
        row.problem(4, "indiquez starter, drink ou dessert".into());
    }
    if row.raw(5).is_empty() {
        row.problem(5, "indiquez le taux de TVA : 5.5, 10 ou 20".into());
    }
    seed.pizzas.push(PizzaRow {
        line: row.line,
        code: code.clone(),
        name: name.clone(),
        description: row.optional_text(2, 500),
        price: row.price(3),
        category,
        vat_rate: row.vat_rate(5),
    });
    seed.ingredients.push(IngredientRow {
        code: code.clone(),
        name,
        unit: Unit::Piece,
        allergens: row.allergens(6),
        diet: row.diet(7),
        spicy: None,
    });
    let at = |column_name| CodeRef {
        code: code.clone(),
        line: row.line,
        column: 2,
        column_name,
    };
    seed.recipe_lines.push(RecipeLineRow {
        pizza: at("code"),
        ingredient: at("code"),
        quantity: 1,
        note: String::new(),
        removable: Some(false),
    });
}

fn size_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let code = row.code_or_digits(0);
    keys.check(row.problems, "size", &code, row.line, 2, "code");
    let name = row.text(1, 60);
    let factor_pct = row.number(2, 10u16, 500);
    seed.sizes.push(SizeRow {
        code,
        name,
        factor_pct,
    });
}

fn pizza_size_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let (pizza, size) = (row.code_ref(0), row.size_ref(1));
    keys.check(
        row.problems,
        "pizza_size",
        &format!("{}/{}", pizza.code, size.code),
        row.line,
        3,
        "size_code",
    );
    let price = row.price(2);
    seed.pizza_sizes.push(PizzaSizeRow { pizza, size, price });
}

fn recipe_size_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let (pizza, ingredient, size) = (row.code_ref(0), row.code_ref(1), row.size_ref(2));
    keys.check(
        row.problems,
        "recipe_size",
        &format!("{}/{}/{}", pizza.code, ingredient.code, size.code),
        row.line,
        4,
        "size_code",
    );
    let quantity = row.number(3, 1, u32::MAX);
    seed.recipe_sizes.push(RecipeSizeRow {
        pizza,
        ingredient,
        size,
        quantity,
    });
}

fn option_group_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let code = row.code(0);
    keys.check(row.problems, "option_group", &code, row.line, 2, "code");
    let name = row.text(1, NAME_MAX);
    let min = row.number(2, 0u8, 20);
    let max = row.number(3, 1u8, 20);
    if min > max {
        row.problem(
            2,
            format!("au moins {min} choix mais au plus {max} : le minimum dépasse le maximum"),
        );
    }
    seed.option_groups.push(OptionGroupRow {
        code,
        name,
        min,
        max,
    });
}

fn option_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let group = row.code_ref(0);
    let code = row.code(1);
    keys.check(row.problems, "option", &code, row.line, 3, "code");
    let name = row.text(2, NAME_MAX);
    let ingredient = row.optional_code_ref(3);
    let quantity = match (row.raw(4), &ingredient) {
        ("", None) => 0,
        (_, None) => {
            row.problem(
                4,
                "une quantité sans ingrédient : indiquez l'ingrédient ou laissez vide".into(),
            );
            0
        }
        (_, Some(_)) => row.number(4, 1, u32::MAX),
    };
    let price = row.amount(5);
    let default = row.optional_yes_no(6).unwrap_or(false);
    let position = u16::try_from(seed.options.len()).unwrap_or(u16::MAX);
    seed.options.push(OptionRow {
        group,
        code,
        name,
        ingredient,
        quantity,
        price,
        default,
        position,
    });
}

fn option_price_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let (option, size) = (row.code_ref(0), row.size_ref(1));
    keys.check(
        row.problems,
        "option_price",
        &format!("{}/{}", option.code, size.code),
        row.line,
        3,
        "size_code",
    );
    let price = row.amount(2);
    seed.option_prices.push(OptionPriceRow {
        option,
        size,
        price,
    });
}

fn pizza_option_group_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let pizza = match row.raw(0) {
        "*" => None,
        _ => Some(row.code_ref(0)),
    };
    let group = row.code_ref(1);
    let name = pizza.as_ref().map_or("*", |p| p.code.as_str());
    keys.check(
        row.problems,
        "pizza_option_group",
        &format!("{name}/{}", group.code),
        row.line,
        3,
        "group_code",
    );
    let position = u16::try_from(seed.pizza_option_groups.len()).unwrap_or(u16::MAX);
    seed.pizza_option_groups.push(PizzaOptionGroupRow {
        pizza,
        group,
        position,
    });
}

fn recipe_line_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let (pizza, ingredient) = (row.code_ref(0), row.code_ref(1));
    keys.check(
        row.problems,
        "recipe_line",
        &format!("{}/{}", pizza.code, ingredient.code),
        row.line,
        3,
        "ingredient_code",
    );
    let quantity = row.number(2, 1, u32::MAX);
    seed.recipe_lines.push(RecipeLineRow {
        pizza,
        ingredient,
        quantity,
        note: row.optional_text(3, 200),
        removable: row.optional_yes_no(4),
    });
}

fn recipe_step_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let pizza = row.code_ref(0);
    let position = row.number(1, 1u16, 999);
    keys.check(
        row.problems,
        "recipe_step",
        &format!("{}/{position}", pizza.code),
        row.line,
        3,
        "position",
    );
    seed.recipe_steps.push(RecipeStepRow {
        pizza,
        position,
        text: row.text(2, 500),
    });
}

fn stock_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let (pizzeria, ingredient) = (row.code_ref(0), row.code_ref(1));
    keys.check(
        row.problems,
        "stock",
        &format!("{}/{}", pizzeria.code, ingredient.code),
        row.line,
        3,
        "ingredient_code",
    );
    let quantity = i64::from(row.number(2, 0u32, MAX_STOCK));
    let low_threshold = i64::from(row.number(3, 0u32, MAX_STOCK));
    seed.stock.push(StockRow {
        pizzeria,
        ingredient,
        quantity,
        low_threshold,
    });
}

fn menu_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let (pizzeria, pizza) = (row.code_ref(0), row.code_ref(1));
    keys.check(
        row.problems,
        "menu",
        &format!("{}/{}", pizzeria.code, pizza.code),
        row.line,
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

fn printer_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let pizzeria = row.optional_code_ref(0);
    let name = row.text(1, NAME_MAX);
    let shop = pizzeria.as_ref().map_or("", |p| p.code.as_str());
    keys.check(
        row.problems,
        "printer",
        &format!("{shop}/{name}"),
        row.line,
        3,
        "name",
    );
    let before = row.problems.len();
    let host = row.host(2);
    let port = row.number(3, 1u16, u16::MAX);
    if row.problems.len() == before
        && vocab::input::printer_address(&host, port, row.printer_ports).is_err()
    {
        let ports = row.printer_ports.clone();
        row.problem(
            2,
            format!(
                "{host}:{port} n'est pas une imprimante de cuisine : indiquez une adresse IP du réseau de la pizzeria (ou locale) et un port de {} à {} (PRINTER_PORTS)",
                ports.start(),
                ports.end()
            ),
        );
    }
    let backup = row.printer_role(4);
    seed.printers.push(PrinterRow {
        pizzeria,
        name,
        host,
        port,
        backup,
    });
}

fn zone_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let pizzeria = row.code_ref(0);
    let mut postal_codes = Vec::new();
    let codes: Vec<String> = row
        .raw(1)
        .split([' ', ','])
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    for code in codes {
        if !(code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit())) {
            row.problem(
                1,
                format!("{code:?} n'est pas un code postal français (5 chiffres)"),
            );
            continue;
        }
        // One set of terms per postal code: which fee would apply otherwise?
        keys.check(
            row.problems,
            "delivery_zone",
            &format!("{}/{code}", pizzeria.code),
            row.line,
            3,
            "postal_codes",
        );
        postal_codes.push(code);
    }
    if postal_codes.is_empty() && row.raw(1).is_empty() {
        row.problem(1, "indiquez au moins un code postal".into());
    }
    let amount = |i: usize, row: &mut RowReader<'_>| -> Option<Cents> {
        match row.raw(i) {
            "" => None,
            raw => match Cents::parse_eur(raw).filter(|c| c.0 <= 100_000) {
                Some(c) => Some(c),
                None => {
                    let message = format!("{raw:?} n'est pas un montant en euros comme 2.50");
                    row.problem(i, message);
                    None
                }
            },
        }
    };
    let fee = amount(2, row).unwrap_or_default();
    let minimum = amount(3, row).unwrap_or_default();
    let free_from = amount(4, row);
    let ride_minutes = if row.raw(5).is_empty() {
        crate::zone::RIDE_MINUTES
    } else {
        row.number(5, 1, crate::zone::RIDE_MAX)
    };
    seed.zones.push(ZoneRow {
        pizzeria,
        zone: crate::zone::Zone {
            terms: crate::zone::Terms {
                fee,
                minimum,
                free_from,
                ride_minutes,
            },
            postal_codes,
        },
    });
}

fn staff_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let email = row.email(0);
    let full_name = row.text(1, NAME_MAX);
    let role = row.staff_role(2);
    let pizzeria = row.optional_code_ref(3);
    match (role.map(Role::needs_pizzeria), &pizzeria) {
        (Some(true), None) => row.problem(
            3,
            "ce rôle travaille dans une pizzeria : indiquez son code".into(),
        ),
        (Some(false), Some(_)) => row.problem(
            3,
            "un administrateur du groupe n'appartient à aucune pizzeria : laissez vide".into(),
        ),
        _ => {}
    }
    let password = row.password(4, email.as_ref());
    if let (Some(email), Some(role), Some(password)) = (email, role, password) {
        keys.check(row.problems, "user", email.as_str(), row.line, 2, "email");
        seed.staff.push(StaffRow {
            email,
            full_name,
            role,
            pizzeria,
            password,
        });
    }
}

fn customer_row(row: &mut RowReader<'_>, keys: &mut Keys, seed: &mut Seed) {
    let email = row.email(0);
    let full_name = row.text(1, NAME_MAX);
    let phone = row.text(2, PHONE_MAX);
    let password = row.password(3, email.as_ref());
    let (street, postal_code, city) = (
        row.text(4, STREET_MAX),
        row.postal_code(5),
        row.text(6, CITY_MAX),
    );
    if let (Some(email), Some(password)) = (email, password) {
        keys.check(row.problems, "user", email.as_str(), row.line, 2, "email");
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
                message: format!("doublon de la ligne {first}"),
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
    printer_ports: &'a std::ops::RangeInclusive<u16>,
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
            self.problem(i, format!("plus de {max} caractères"));
        } else if v.chars().any(char::is_control) {
            self.problem(i, "contient des caractères de contrôle".into());
        }
        v
    }

    fn text(&mut self, i: usize, max: usize) -> String {
        if self.raw(i).is_empty() {
            self.problem(i, "ne doit pas être vide".into());
        }
        self.optional_text(i, max)
    }

    fn code(&mut self, i: usize) -> String {
        let v = self.raw(i).to_owned();
        let ok = (2..=32).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            self.problem(
                i,
                format!("{v:?} n'est pas un code : 2 à 32 caractères parmi a-z, 0-9 et -"),
            );
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

    /// A whole number in `min..=max`, as the type the column holds (`min` after a problem).
    fn number<T: TryFrom<u64> + Copy>(&mut self, i: usize, min: T, max: T) -> T
    where
        u64: From<T>,
    {
        let (lo, hi) = (u64::from(min), u64::from(max));
        match self.raw(i).parse::<u64>() {
            Ok(n) if (lo..=hi).contains(&n) => T::try_from(n).unwrap_or(min),
            _ => {
                self.problem(
                    i,
                    format!(
                        "{:?} n'est pas un nombre entier de {lo} à {hi}",
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
                    format!("{:?} n'est pas un prix en euros comme 12.50", self.raw(i)),
                );
                Cents(0)
            }
        }
    }

    fn unit(&mut self, i: usize) -> Unit {
        Unit::parse(self.raw(i)).unwrap_or_else(|| {
            self.problem(
                i,
                format!("{:?} n'est pas une unité : g, ml ou piece", self.raw(i)),
            );
            Unit::G
        })
    }

    /// A size code: a code, or digits alone (« 33 » for 33 cm).
    fn code_or_digits(&mut self, i: usize) -> String {
        let v = self.raw(i).to_owned();
        if !v.is_empty() && v.len() <= 32 && v.bytes().all(|b| b.is_ascii_digit()) {
            return v;
        }
        self.code(i)
    }

    fn size_ref(&mut self, i: usize) -> CodeRef {
        let code = self.code_or_digits(i);
        CodeRef {
            code,
            line: self.line,
            column: i + 2,
            column_name: self.columns[i],
        }
    }

    /// An amount in euros that may be 0 (a free option).
    fn amount(&mut self, i: usize) -> Cents {
        match Cents::parse_eur(self.raw(i)).filter(|c| c.0 <= 100_000) {
            Some(c) => c,
            None => {
                self.problem(
                    i,
                    format!(
                        "{:?} n'est pas un montant en euros comme 1.50 ou 0",
                        self.raw(i)
                    ),
                );
                Cents(0)
            }
        }
    }

    /// `yes` or `no`; empty (or a column left out) is `None`.
    fn optional_yes_no(&mut self, i: usize) -> Option<bool> {
        match self.raw(i) {
            "" => None,
            _ => Some(self.yes_no(i)),
        }
    }

    /// Allergen codes (EU regulation 1169/2011) separated by spaces; a column left out is
    /// `None`, an empty one is none at all.
    fn allergens(&mut self, i: usize) -> Option<Allergens> {
        if self.record.len() <= i + 1 {
            return None;
        }
        match Allergens::parse(self.raw(i)) {
            Ok(set) => Some(set),
            Err(unknown) => {
                let known: Vec<&str> = vocab::Allergen::ALL.iter().map(|a| a.as_str()).collect();
                self.problem(
                    i,
                    format!(
                        "allergène inconnu : {unknown} (attendu parmi {})",
                        known.join(" ")
                    ),
                );
                None
            }
        }
    }

    fn diet(&mut self, i: usize) -> Option<Diet> {
        match self.raw(i).to_owned().as_str() {
            "" => None,
            raw => Diet::parse(raw).or_else(|| {
                self.problem(i, format!("{raw:?} : attendu vegan, vegetarian ou animal"));
                None
            }),
        }
    }

    fn category(&mut self, i: usize) -> Option<Category> {
        match self.raw(i).to_owned().as_str() {
            "" => None,
            raw => Category::parse(raw).or_else(|| {
                self.problem(
                    i,
                    format!("{raw:?} : attendu pizza, starter, drink ou dessert"),
                );
                None
            }),
        }
    }

    fn vat_rate(&mut self, i: usize) -> Option<VatRate> {
        match self.raw(i).replace(',', ".").as_str() {
            "" => None,
            raw => VatRate::parse(raw).or_else(|| {
                self.problem(i, format!("{raw:?} : taux de TVA attendu 5.5, 10 ou 20"));
                None
            }),
        }
    }

    fn yes_no(&mut self, i: usize) -> bool {
        match self.raw(i) {
            "yes" => true,
            "no" => false,
            other => {
                self.problem(i, format!("{other:?} : attendu yes ou no"));
                false
            }
        }
    }

    fn email(&mut self, i: usize) -> Option<Email> {
        Email::parse(self.raw(i))
            .map_err(|_| self.problem(i, format!("{:?} n'est pas une adresse e-mail", self.raw(i))))
            .ok()
    }

    /// The password of the account with `email` (checked as at sign-up).
    fn password(&mut self, i: usize, email: Option<&Email>) -> Option<Password> {
        // The raw value is not trimmed: spaces are part of a password. Never echo it.
        let raw = self.record.get(i + 1).unwrap_or_default();
        Password::parse_for(raw, email)
            .map_err(|e| self.problem(i, e.to_string()))
            .ok()
    }

    fn staff_role(&mut self, i: usize) -> Option<Role> {
        match self.raw(i).parse::<Role>() {
            Ok(Role::Customer) => {
                self.problem(i, "les clients se chargent avec des lignes customer".into());
                None
            }
            Ok(role) => Some(role),
            Err(_) => {
                self.problem(
                    i,
                    format!(
                        "{:?} n'est pas un rôle : counter, pizzaiolo, delivery, manager ou admin",
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
                self.problem(i, format!("{other:?} : attendu main ou backup"));
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
            self.problem(
                i,
                format!("{v:?} n'est pas un nom d'hôte ni une adresse IP"),
            );
        }
        v
    }

    fn postal_code(&mut self, i: usize) -> String {
        let v = self.raw(i).to_owned();
        if !(v.len() == 5 && v.bytes().all(|b| b.is_ascii_digit())) {
            self.problem(
                i,
                format!("{v:?} n'est pas un code postal français (5 chiffres)"),
            );
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
        let words: Vec<Option<Fulfilment>> = self
            .raw(i)
            .split_whitespace()
            .map(Fulfilment::parse)
            .collect();
        let delivery = words.contains(&Some(Fulfilment::Delivery));
        let pickup = words.contains(&Some(Fulfilment::Pickup));
        if words.is_empty() || words.contains(&None) {
            self.problem(
                i,
                format!("{:?} : attendu delivery, pickup ou les deux", self.raw(i)),
            );
        }
        (delivery, pickup)
    }
}

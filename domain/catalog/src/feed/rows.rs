//! The kinds of row a seed file holds, with their columns, and the typed rows they become.

use account::{Email, Password, Role};
use vocab::{Allergens, Category, Cents, Diet, VatRate};

use crate::Unit;

pub(super) struct KindSpec {
    pub(super) kind: &'static str,
    pub(super) columns: &'static [&'static str],
    /// Columns that must be present; the ones after may be left out at the end of the row.
    pub(super) required: usize,
}

pub(super) const KINDS: &[KindSpec] = &[
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
        columns: &["code", "name", "unit", "allergens", "diet", "spicy"],
        required: 3,
    },
    KindSpec {
        kind: "pizza",
        columns: &[
            "code",
            "name",
            "description",
            "price_eur",
            "category",
            "vat_rate",
        ],
        required: 4,
    },
    KindSpec {
        kind: "product",
        columns: &[
            "code",
            "name",
            "description",
            "price_eur",
            "category",
            "vat_rate",
            "allergens",
            "diet",
        ],
        required: 6,
    },
    KindSpec {
        kind: "recipe_line",
        columns: &[
            "pizza_code",
            "ingredient_code",
            "quantity",
            "note",
            "removable",
        ],
        required: 3,
    },
    KindSpec {
        kind: "size",
        columns: &["code", "name", "factor_pct"],
        required: 3,
    },
    KindSpec {
        kind: "pizza_size",
        columns: &["pizza_code", "size_code", "price_eur"],
        required: 3,
    },
    KindSpec {
        kind: "recipe_size",
        columns: &["pizza_code", "ingredient_code", "size_code", "quantity"],
        required: 4,
    },
    KindSpec {
        kind: "option_group",
        columns: &["code", "name", "min_choices", "max_choices"],
        required: 4,
    },
    KindSpec {
        kind: "option",
        columns: &[
            "group_code",
            "code",
            "name",
            "ingredient_code",
            "quantity",
            "price_eur",
            "default",
        ],
        required: 6,
    },
    KindSpec {
        kind: "option_price",
        columns: &["option_code", "size_code", "price_eur"],
        required: 3,
    },
    KindSpec {
        kind: "pizza_option_group",
        columns: &["pizza_code", "group_code"],
        required: 2,
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
        kind: "delivery_zone",
        columns: &[
            "pizzeria_code",
            "postal_codes",
            "fee_eur",
            "minimum_eur",
            "free_from_eur",
            "ride_minutes",
        ],
        required: 3,
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
    pub(super) line: u64,
    pub(super) column: usize,
    pub(super) column_name: &'static str,
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

/// An ingredient; what the optional columns leave out keeps its stored value (a new one
/// starts with no allergen, the diet `animal` and not spicy).
#[derive(Debug)]
pub struct IngredientRow {
    pub code: String,
    pub name: String,
    pub unit: Unit,
    pub allergens: Option<Allergens>,
    pub diet: Option<Diet>,
    pub spicy: Option<bool>,
}

/// A pizza, or (from a `product` row) a drink, dessert or starter.
#[derive(Debug)]
pub struct PizzaRow {
    pub line: u64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub price: Cents,
    pub category: Option<Category>,
    pub vat_rate: Option<VatRate>,
}

#[derive(Debug)]
pub struct RecipeLineRow {
    pub pizza: CodeRef,
    pub ingredient: CodeRef,
    pub quantity: u32,
    pub note: String,
    /// `None`: yes for a new line, unchanged for an existing one.
    pub removable: Option<bool>,
}

#[derive(Debug)]
pub struct SizeRow {
    pub code: String,
    pub name: String,
    pub factor_pct: u16,
}

#[derive(Debug)]
pub struct PizzaSizeRow {
    pub pizza: CodeRef,
    pub size: CodeRef,
    pub price: Cents,
}

#[derive(Debug)]
pub struct RecipeSizeRow {
    pub pizza: CodeRef,
    pub ingredient: CodeRef,
    pub size: CodeRef,
    pub quantity: u32,
}

#[derive(Debug)]
pub struct OptionGroupRow {
    pub code: String,
    pub name: String,
    pub min: u8,
    pub max: u8,
}

#[derive(Debug)]
pub struct OptionRow {
    pub group: CodeRef,
    pub code: String,
    pub name: String,
    pub ingredient: Option<CodeRef>,
    pub quantity: u32,
    pub price: Cents,
    pub default: bool,
    /// Its place in the file, the order the menu shows.
    pub position: u16,
}

#[derive(Debug)]
pub struct OptionPriceRow {
    pub option: CodeRef,
    pub size: CodeRef,
    pub price: Cents,
}

/// A group offered on one pizza, or (`*`) on every pizza.
#[derive(Debug)]
pub struct PizzaOptionGroupRow {
    pub pizza: Option<CodeRef>,
    pub group: CodeRef,
    pub position: u16,
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

/// Postal codes a pizzeria delivers on the same terms (every row of a shop together replaces
/// its delivery area).
#[derive(Debug)]
pub struct ZoneRow {
    pub pizzeria: CodeRef,
    pub zone: crate::zone::Zone,
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
    pub sizes: Vec<SizeRow>,
    pub pizza_sizes: Vec<PizzaSizeRow>,
    pub recipe_sizes: Vec<RecipeSizeRow>,
    pub option_groups: Vec<OptionGroupRow>,
    pub options: Vec<OptionRow>,
    pub option_prices: Vec<OptionPriceRow>,
    pub pizza_option_groups: Vec<PizzaOptionGroupRow>,
    pub stock: Vec<StockRow>,
    pub menu: Vec<MenuRow>,
    pub printers: Vec<PrinterRow>,
    pub zones: Vec<ZoneRow>,
    pub staff: Vec<StaffRow>,
    pub customers: Vec<CustomerRow>,
}

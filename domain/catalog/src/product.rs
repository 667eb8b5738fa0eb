//! A product as a customer composes it: a size, options within bounded groups, ingredients
//! left out. [`Product::compose`] is the only place a line's price, its stock needs and its
//! allergens are worked out, for the menu, the cart, checkout, modification and the API alike;
//! nothing the client sends about prices is trusted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sqlx::MySqlConnection;
use vocab::{Allergens, Category, Cents, Diet, VatRate};

use crate::Unit;

/// One size a pizza is sold in, at its price.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Size {
    pub id: u64,
    pub code: String,
    pub name: String,
    /// Recipe quantities × factor / 100.
    pub factor_pct: u16,
    pub price: Cents,
}

/// What an ingredient brings to a dish besides its quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Facts {
    pub allergens: Allergens,
    pub diet: Diet,
    pub spicy: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecipeItem {
    pub ingredient_id: u64,
    pub code: String,
    pub name: String,
    pub unit: Unit,
    /// For the size of factor 100.
    pub quantity: u32,
    pub removable: bool,
    /// Quantities set for a size by hand, by size id.
    pub per_size: BTreeMap<u64, u32>,
    pub facts: Facts,
}

/// The ingredient an option adds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Adds {
    pub ingredient_id: u64,
    pub unit: Unit,
    /// For the size of factor 100.
    pub quantity: u32,
    pub facts: Facts,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Choice {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub adds: Option<Adds>,
    pub price: Cents,
    /// Prices for a size that costs more (or less), by size id.
    pub prices: BTreeMap<u64, Cents>,
    /// What a customer who chooses nothing in the group gets.
    pub is_default: bool,
}

impl Choice {
    pub fn price_for(&self, size: Option<&Size>) -> Cents {
        size.and_then(|s| self.prices.get(&s.id).copied())
            .unwrap_or(self.price)
    }
}

/// Options a customer chooses between, from `min` to `max` of them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Group {
    pub code: String,
    pub name: String,
    pub min: u8,
    pub max: u8,
    pub options: Vec<Choice>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Product {
    pub id: u64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub vat_rate: VatRate,
    /// « 86 »: the shop stopped selling it for now.
    pub sold_out: bool,
    /// The price of a product sold in one size.
    pub price: Cents,
    /// Smallest first; empty for a product sold in one size.
    pub sizes: Vec<Size>,
    pub recipe: Vec<RecipeItem>,
    pub groups: Vec<Group>,
}

/// What the customer asked for, as codes: a size, options, ingredients to leave out.
#[derive(Clone, Copy, Debug, Default)]
pub struct Selection<'a> {
    pub size: Option<&'a str>,
    pub options: &'a [String],
    pub remove: &'a [String],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChosenKind {
    /// One of alternatives that must be chosen between (« Base : crème »).
    Choice,
    /// Something added (« + Mozzarella »).
    Option,
    /// An ingredient left out (« sans Oignons »).
    Removal,
}

impl ChosenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChosenKind::Choice => "choice",
            ChosenKind::Option => "option",
            ChosenKind::Removal => "removal",
        }
    }

    pub fn parse(raw: &str) -> ChosenKind {
        match raw {
            "choice" => ChosenKind::Choice,
            "removal" => ChosenKind::Removal,
            _ => ChosenKind::Option,
        }
    }
}

/// One option or removal of a composed line, with its name and price as sold.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Chosen {
    pub kind: ChosenKind,
    pub code: String,
    pub name: String,
    pub group_name: String,
    pub price: Cents,
}

/// A line's product as composed: its price per unit, what one unit takes from the stock, and
/// what it contains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Composed {
    pub size: Option<Size>,
    pub unit_price: Cents,
    pub choices: Vec<Chosen>,
    /// Per unit, by ingredient id.
    pub needs: BTreeMap<u64, u32>,
    pub facts: Facts,
}

/// Why a selection is refused; each message is for the customer, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    #[error("« {product} » ne se vend qu'en une taille")]
    NoSizes { product: String },
    #[error("la taille « {size} » n'existe pas pour « {product} » (tailles : {sizes})")]
    UnknownSize {
        product: String,
        size: String,
        sizes: String,
    },
    #[error("l'option « {option} » n'est pas proposée pour « {product} »")]
    NotOffered { product: String, option: String },
    #[error("« {group} » : {max} choix au plus pour « {product} » ({given} demandés)")]
    TooMany {
        product: String,
        group: String,
        max: u8,
        given: usize,
    },
    #[error("« {group} » : choisissez-en au moins {min} pour « {product} »")]
    TooFew {
        product: String,
        group: String,
        min: u8,
    },
    #[error("« {ingredient} » n'est pas dans « {product} » : rien à retirer")]
    NotInRecipe { product: String, ingredient: String },
    #[error("« {ingredient} » ne peut pas être retiré de « {product} »")]
    NotRemovable { product: String, ingredient: String },
    #[error("montant trop élevé")]
    TooExpensive,
}

/// A quantity given for the size of factor 100, at `size`: weights and volumes follow the
/// factor (rounded, at least 1); pieces are counted, not weighed, and stay as they are (a
/// larger pizza takes a larger dough ball, still one). `set` is a quantity typed for the size.
pub fn scaled(quantity: u32, unit: Unit, size: Option<&Size>, set: Option<u32>) -> u32 {
    if let Some(q) = set {
        return q;
    }
    match (size, unit) {
        (None, _) | (_, Unit::Piece) => quantity,
        (Some(s), _) => {
            let q = (u64::from(quantity) * u64::from(s.factor_pct) + 50) / 100;
            u32::try_from(q).unwrap_or(u32::MAX).max(1)
        }
    }
}

impl Product {
    /// The size a customer who says nothing gets: the reference one (factor 100), else the
    /// first.
    pub fn default_size(&self) -> Option<&Size> {
        self.sizes
            .iter()
            .find(|s| s.factor_pct == 100)
            .or_else(|| self.sizes.first())
    }

    /// The price a menu shows first: the default size's.
    pub fn base_price(&self) -> Cents {
        self.default_size().map_or(self.price, |s| s.price)
    }

    pub fn quantity_at(&self, item: &RecipeItem, size: Option<&Size>) -> u32 {
        let set = size.and_then(|s| item.per_size.get(&s.id).copied());
        scaled(item.quantity, item.unit, size, set)
    }

    fn option(&self, code: &str) -> Option<(&Group, &Choice)> {
        self.groups
            .iter()
            .find_map(|g| g.options.iter().find(|o| o.code == code).map(|o| (g, o)))
    }

    /// Checks a selection and works out the line it makes.
    pub fn compose(&self, selection: Selection<'_>) -> Result<Composed, ChoiceError> {
        let product = || self.name.clone();
        let size = match (
            selection.size.filter(|s| !s.is_empty()),
            self.sizes.is_empty(),
        ) {
            (None, _) => self.default_size(),
            (Some(_), true) => return Err(ChoiceError::NoSizes { product: product() }),
            (Some(code), false) => {
                Some(self.sizes.iter().find(|s| s.code == code).ok_or_else(|| {
                    ChoiceError::UnknownSize {
                        product: product(),
                        size: code.to_owned(),
                        sizes: self
                            .sizes
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                })?)
            }
        };
        let mut removed: BTreeSet<&str> = BTreeSet::new();
        for code in selection.remove {
            let item = self
                .recipe
                .iter()
                .find(|i| i.code == *code)
                .ok_or_else(|| ChoiceError::NotInRecipe {
                    product: product(),
                    ingredient: code.clone(),
                })?;
            if !item.removable {
                return Err(ChoiceError::NotRemovable {
                    product: product(),
                    ingredient: item.name.clone(),
                });
            }
            removed.insert(&item.code);
        }
        let mut picked: BTreeSet<&str> = BTreeSet::new();
        for code in selection.options {
            self.option(code).ok_or_else(|| ChoiceError::NotOffered {
                product: product(),
                option: code.clone(),
            })?;
            picked.insert(code);
        }

        let mut facts = Facts {
            allergens: Allergens::NONE,
            diet: Diet::Vegan,
            spicy: false,
        };
        let mut any = false;
        let mut add_facts = |f: &Facts| {
            any = true;
            facts.allergens = facts.allergens.union(f.allergens);
            facts.diet = facts.diet.and(f.diet);
            facts.spicy |= f.spicy;
        };
        let mut needs: BTreeMap<u64, u32> = BTreeMap::new();
        let mut choices = Vec::new();
        for item in &self.recipe {
            if removed.contains(item.code.as_str()) {
                choices.push(Chosen {
                    kind: ChosenKind::Removal,
                    code: item.code.clone(),
                    name: item.name.clone(),
                    group_name: String::new(),
                    price: Cents(0),
                });
                continue;
            }
            *needs.entry(item.ingredient_id).or_default() += self.quantity_at(item, size);
            add_facts(&item.facts);
        }
        let mut unit_price = size.map_or(self.price, |s| s.price);
        for group in &self.groups {
            let mut chosen: Vec<&Choice> = group
                .options
                .iter()
                .filter(|o| picked.contains(o.code.as_str()))
                .collect();
            if chosen.is_empty() {
                chosen = group.options.iter().filter(|o| o.is_default).collect();
            }
            if chosen.len() > usize::from(group.max) {
                return Err(ChoiceError::TooMany {
                    product: product(),
                    group: group.name.clone(),
                    max: group.max,
                    given: chosen.len(),
                });
            }
            if chosen.len() < usize::from(group.min) {
                return Err(ChoiceError::TooFew {
                    product: product(),
                    group: group.name.clone(),
                    min: group.min,
                });
            }
            for option in chosen {
                let price = option.price_for(size);
                unit_price = unit_price
                    .checked_add(price)
                    .ok_or(ChoiceError::TooExpensive)?;
                if let Some(adds) = &option.adds {
                    *needs.entry(adds.ingredient_id).or_default() +=
                        scaled(adds.quantity, adds.unit, size, None);
                    add_facts(&adds.facts);
                }
                choices.push(Chosen {
                    kind: if group.min >= 1 && group.max == 1 {
                        ChosenKind::Choice
                    } else {
                        ChosenKind::Option
                    },
                    code: option.code.clone(),
                    name: option.name.clone(),
                    group_name: group.name.clone(),
                    price,
                });
            }
        }
        if !any {
            // Nothing is known of what it is made of: no diet is claimed.
            facts.diet = Diet::Animal;
        }
        Ok(Composed {
            size: size.cloned(),
            unit_price,
            choices,
            needs,
            facts,
        })
    }

    /// The product as a customer who chooses nothing gets it (its default size and options),
    /// or `None` when it cannot be ordered that way (a group without defaults must be chosen).
    pub fn plain(&self) -> Option<Composed> {
        self.compose(Selection::default()).ok()
    }

    /// What the menu says the dish contains: the plain dish's facts; for a dish whose choices
    /// must be made, its recipe's.
    pub fn facts(&self) -> Facts {
        match self.plain() {
            Some(c) => c.facts,
            None => {
                let mut facts = Facts {
                    allergens: Allergens::NONE,
                    diet: if self.recipe.is_empty() {
                        Diet::Animal
                    } else {
                        Diet::Vegan
                    },
                    spicy: false,
                };
                for item in &self.recipe {
                    facts.allergens = facts.allergens.union(item.facts.allergens);
                    facts.diet = facts.diet.and(item.facts.diet);
                    facts.spicy |= item.facts.spicy;
                }
                facts
            }
        }
    }

    /// What can be sold right now from `stock` (quantities by ingredient id; an ingredient not
    /// listed is not stocked).
    pub fn availability(&self, stock: &BTreeMap<u64, i64>) -> Availability {
        let fits = |needs: &BTreeMap<u64, u32>| {
            needs
                .iter()
                .all(|(id, q)| stock.get(id).copied().unwrap_or(0) >= i64::from(*q))
        };
        let at = |size: Option<&Size>| -> BTreeMap<u64, u32> {
            let mut needs = BTreeMap::new();
            for item in &self.recipe {
                *needs.entry(item.ingredient_id).or_default() += self.quantity_at(item, size);
            }
            needs
        };
        let with = |mut needs: BTreeMap<u64, u32>, option: &Choice, size: Option<&Size>| {
            if let Some(adds) = &option.adds {
                *needs.entry(adds.ingredient_id).or_default() +=
                    scaled(adds.quantity, adds.unit, size, None);
            }
            needs
        };
        let default = self.default_size();
        let base = at(default);
        let options: BTreeMap<String, bool> = self
            .groups
            .iter()
            .flat_map(|g| g.options.iter())
            .map(|o| (o.code.clone(), fits(&with(base.clone(), o, default))))
            .collect();
        // Each group that must be chosen in needs enough of its options in stock.
        let groups_ok = |needs: &BTreeMap<u64, u32>, size: Option<&Size>| {
            self.groups.iter().all(|g| {
                let n = g
                    .options
                    .iter()
                    .filter(|o| fits(&with(needs.clone(), o, size)))
                    .count();
                n >= usize::from(g.min)
            })
        };
        let sizes: BTreeMap<String, bool> = self
            .sizes
            .iter()
            .map(|s| {
                let needs = at(Some(s));
                (s.code.clone(), fits(&needs) && groups_ok(&needs, Some(s)))
            })
            .collect();
        let available = !self.sold_out && fits(&base) && groups_ok(&base, default);
        Availability {
            available,
            sizes,
            options,
        }
    }
}

/// What of a product the shop can sell now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    /// One of it, as a customer who chooses nothing gets it.
    pub available: bool,
    /// By size code.
    pub sizes: BTreeMap<String, bool>,
    /// By option code, on the default size.
    pub options: BTreeMap<String, bool>,
}

/// Active products on the shop's menu (no `pizzeria_pizzas` row means on every menu), pizzas
/// first, then by position and name, each with its sizes, recipe and option groups.
pub async fn menu(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Vec<Product>, sqlx::Error> {
    type Row = (u64, String, String, String, Category, VatRate, bool, u32);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.id, p.code, p.name, p.description, CAST(p.category AS CHAR), CAST(p.vat_rate AS CHAR),
                so.pizza_id IS NOT NULL, p.price_cents
         FROM pizzas p
         LEFT JOIN pizzeria_pizzas pp ON pp.pizza_id = p.id AND pp.pizzeria_id = ?
         LEFT JOIN sold_out so ON so.pizza_id = p.id AND so.pizzeria_id = ?
         WHERE p.active AND COALESCE(pp.available, TRUE)
         ORDER BY FIELD(p.category, 'pizza', 'starter', 'drink', 'dessert'), p.position, p.name",
    )
    .bind(pizzeria_id)
    .bind(pizzeria_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut products: Vec<Product> = rows
        .into_iter()
        .map(
            |(id, code, name, description, category, vat_rate, sold_out, price)| Product {
                id,
                code,
                name,
                description,
                category,
                vat_rate,
                sold_out,
                price: Cents(price),
                sizes: Vec::new(),
                recipe: Vec::new(),
                groups: Vec::new(),
            },
        )
        .collect();
    attach_details(conn, &mut products).await?;
    Ok(products)
}

fn facts(allergens: &str, diet: Diet, spicy: bool) -> Facts {
    Facts {
        // Written through the catalog's own checks; an unknown code read back is dropped.
        allergens: Allergens::parse(allergens).unwrap_or_else(|_| {
            let known: Vec<&str> = allergens
                .split(' ')
                .filter(|c| vocab::Allergen::parse(c).is_some())
                .collect();
            Allergens::parse(&known.join(" ")).unwrap_or_default()
        }),
        diet,
        spicy,
    }
}

/// Sizes, recipes and option groups of `products`, a handful of queries for the whole menu.
async fn attach_details(
    conn: &mut MySqlConnection,
    products: &mut [Product],
) -> Result<(), sqlx::Error> {
    let index: HashMap<u64, usize> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id, i))
        .collect();
    let sizes: Vec<(u64, u64, String, String, u16, u32)> = sqlx::query_as(
        "SELECT ps.pizza_id, s.id, s.code, s.name, s.factor_pct, ps.price_cents
         FROM pizza_sizes ps JOIN sizes s ON s.id = ps.size_id
         ORDER BY s.factor_pct, s.position, s.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (pizza_id, id, code, name, factor_pct, price) in sizes {
        if let Some(&i) = index.get(&pizza_id) {
            products[i].sizes.push(Size {
                id,
                code,
                name,
                factor_pct,
                price: Cents(price),
            });
        }
    }
    type RecipeRow = (
        u64,
        u64,
        String,
        String,
        Unit,
        u32,
        bool,
        String,
        Diet,
        bool,
    );
    let recipe: Vec<RecipeRow> = sqlx::query_as(
        "SELECT rl.pizza_id, i.id, i.code, i.name, CAST(i.unit AS CHAR), rl.quantity, rl.removable,
                i.allergens, CAST(i.diet AS CHAR), i.spicy
         FROM recipe_lines rl JOIN ingredients i ON i.id = rl.ingredient_id ORDER BY rl.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (pizza_id, ingredient_id, code, name, unit, quantity, removable, allergens, diet, spicy) in
        recipe
    {
        if let Some(&i) = index.get(&pizza_id) {
            products[i].recipe.push(RecipeItem {
                ingredient_id,
                code,
                name,
                unit,
                quantity,
                removable,
                per_size: BTreeMap::new(),
                facts: facts(&allergens, diet, spicy),
            });
        }
    }
    let overrides: Vec<(u64, u64, u64, u32)> = sqlx::query_as(
        "SELECT pizza_id, ingredient_id, size_id, quantity FROM recipe_size_quantities",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (pizza_id, ingredient_id, size_id, quantity) in overrides {
        if let Some(&i) = index.get(&pizza_id)
            && let Some(item) = products[i]
                .recipe
                .iter_mut()
                .find(|r| r.ingredient_id == ingredient_id)
        {
            item.per_size.insert(size_id, quantity);
        }
    }
    let option_prices: Vec<(u64, u64, u32)> =
        sqlx::query_as("SELECT option_id, size_id, price_cents FROM option_prices")
            .fetch_all(&mut *conn)
            .await?;
    type OptionRow = (
        u64,
        u64,
        String,
        String,
        Option<u64>,
        Option<Unit>,
        u32,
        u32,
        bool,
        Option<String>,
        Option<Diet>,
        Option<bool>,
    );
    let options: Vec<OptionRow> = sqlx::query_as(
        "SELECT o.group_id, o.id, o.code, o.name, o.ingredient_id, CAST(i.unit AS CHAR), o.quantity,
                o.price_cents, o.is_default, i.allergens, CAST(i.diet AS CHAR), i.spicy
         FROM options o LEFT JOIN ingredients i ON i.id = o.ingredient_id
         ORDER BY o.position, o.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_group: HashMap<u64, Vec<Choice>> = HashMap::new();
    for (
        group_id,
        id,
        code,
        name,
        ingredient,
        unit,
        quantity,
        price,
        is_default,
        al,
        diet,
        spicy,
    ) in options
    {
        let adds = match (ingredient, unit) {
            (Some(ingredient_id), Some(unit)) => Some(Adds {
                ingredient_id,
                unit,
                quantity,
                facts: facts(
                    al.as_deref().unwrap_or(""),
                    diet.unwrap_or(Diet::Animal),
                    spicy.unwrap_or(false),
                ),
            }),
            _ => None,
        };
        let prices = option_prices
            .iter()
            .filter(|(o, _, _)| *o == id)
            .map(|(_, size, p)| (*size, Cents(*p)))
            .collect();
        by_group.entry(group_id).or_default().push(Choice {
            id,
            code,
            name,
            adds,
            price: Cents(price),
            prices,
            is_default,
        });
    }
    let groups: Vec<(u64, u64, String, String, u8, u8)> = sqlx::query_as(
        "SELECT pog.pizza_id, g.id, g.code, g.name, g.min_choices, g.max_choices
         FROM pizza_option_groups pog JOIN option_groups g ON g.id = pog.group_id
         ORDER BY pog.position, g.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (pizza_id, group_id, code, name, min, max) in groups {
        if let Some(&i) = index.get(&pizza_id) {
            products[i].groups.push(Group {
                code,
                name,
                min,
                max,
                options: by_group.get(&group_id).cloned().unwrap_or_default(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vocab::Allergen;

    fn facts(allergens: &str, diet: Diet) -> Facts {
        Facts {
            allergens: Allergens::parse(allergens).unwrap(),
            diet,
            spicy: false,
        }
    }

    fn item(id: u64, code: &str, unit: Unit, quantity: u32, f: Facts) -> RecipeItem {
        RecipeItem {
            ingredient_id: id,
            code: code.into(),
            name: code.into(),
            unit,
            quantity,
            removable: code != "pate",
            per_size: BTreeMap::new(),
            facts: f,
        }
    }

    fn size(id: u64, code: &str, factor_pct: u16, euros: u32) -> Size {
        Size {
            id,
            code: code.into(),
            name: format!("{code} cm"),
            factor_pct,
            price: Cents(euros * 100),
        }
    }

    fn option(id: u64, code: &str, adds: Option<(u64, u32, Facts)>, cents: u32) -> Choice {
        Choice {
            id,
            code: code.into(),
            name: code.into(),
            adds: adds.map(|(ingredient_id, quantity, facts)| Adds {
                ingredient_id,
                unit: Unit::G,
                quantity,
                facts,
            }),
            price: Cents(cents),
            prices: BTreeMap::new(),
            is_default: false,
        }
    }

    /// A Reine in 26 / 33 / 40 cm with « Suppléments » (2 at most) and a base to choose.
    fn reine() -> Product {
        let veg = facts("", Diet::Vegan);
        let mut pate = item(1, "pate", Unit::Piece, 1, facts("gluten", Diet::Vegan));
        pate.per_size.insert(30, 2);
        let mut extra_mozza = option(
            100,
            "extra-mozzarella",
            Some((3, 60, facts("milk", Diet::Vegetarian))),
            150,
        );
        extra_mozza.prices.insert(30, Cents(250));
        let mut tomate = option(110, "base-tomate", Some((2, 80, veg)), 0);
        tomate.is_default = true;
        Product {
            id: 7,
            code: "reine".into(),
            name: "Reine".into(),
            description: String::new(),
            category: Category::Pizza,
            vat_rate: VatRate::Intermediate,
            sold_out: false,
            price: Cents(1150),
            sizes: vec![
                size(10, "26", 60, 9),
                size(20, "33", 100, 12),
                size(30, "40", 150, 16),
            ],
            recipe: vec![
                pate,
                item(
                    3,
                    "mozzarella",
                    Unit::G,
                    100,
                    facts("milk", Diet::Vegetarian),
                ),
                item(4, "jambon", Unit::G, 70, facts("", Diet::Animal)),
                item(5, "oignons", Unit::G, 30, veg),
            ],
            groups: vec![
                Group {
                    code: "base".into(),
                    name: "Base".into(),
                    min: 1,
                    max: 1,
                    options: vec![
                        tomate,
                        option(
                            111,
                            "base-creme",
                            Some((6, 80, facts("milk", Diet::Vegetarian))),
                            50,
                        ),
                    ],
                },
                Group {
                    code: "supplements".into(),
                    name: "Suppléments".into(),
                    min: 0,
                    max: 2,
                    options: vec![
                        extra_mozza,
                        option(
                            101,
                            "extra-jambon",
                            Some((4, 50, facts("", Diet::Animal))),
                            200,
                        ),
                        option(
                            102,
                            "extra-piment",
                            Some((8, 5, Facts { spicy: true, ..veg })),
                            50,
                        ),
                    ],
                },
            ],
        }
    }

    fn codes(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_price_follows_the_size_and_the_options() {
        let p = reine();
        let plain = p.compose(Selection::default()).unwrap();
        assert_eq!(plain.size.as_ref().map(|s| s.code.as_str()), Some("33"));
        assert_eq!(plain.unit_price, Cents(1200), "default base tomate is free");
        let options = codes(&["extra-mozzarella", "base-creme"]);
        let large = p
            .compose(Selection {
                size: Some("40"),
                options: &options,
                remove: &[],
            })
            .unwrap();
        assert_eq!(
            large.unit_price,
            Cents(1600 + 250 + 50),
            "the 40 cm extra costs its own price"
        );
        let small = p
            .compose(Selection {
                size: Some("26"),
                options: &options,
                remove: &[],
            })
            .unwrap();
        assert_eq!(small.unit_price, Cents(900 + 150 + 50));
        let names: Vec<&str> = large.choices.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(
            names,
            ["base-creme", "extra-mozzarella"],
            "in the menu's group order"
        );
    }

    #[test]
    fn the_stock_follows_the_size_removals_and_extras() {
        let p = reine();
        let options = codes(&["extra-mozzarella"]);
        let remove = codes(&["oignons"]);
        let large = p
            .compose(Selection {
                size: Some("40"),
                options: &options,
                remove: &remove,
            })
            .unwrap();
        // Pâton set by hand for 40 cm; mozzarella 100 × 1.5 + extra 60 × 1.5; no onions.
        assert_eq!(
            large.needs,
            BTreeMap::from([(1, 2), (2, 120), (3, 150 + 90), (4, 105)])
        );
        assert_eq!(
            large
                .choices
                .iter()
                .filter(|c| c.kind == ChosenKind::Removal)
                .count(),
            1
        );
        let small = p
            .compose(Selection {
                size: Some("26"),
                ..Selection::default()
            })
            .unwrap();
        assert_eq!(small.needs[&1], 1, "pieces do not follow the factor");
        assert_eq!(small.needs[&3], 60);
        assert_eq!(small.needs[&5], 18);
    }

    #[test]
    fn allergens_and_diet_come_from_what_is_in_the_dish() {
        let p = reine();
        let plain = p.plain().unwrap();
        assert_eq!(plain.facts.allergens.label_fr(), "gluten, lait");
        assert_eq!(plain.facts.diet, Diet::Animal, "jambon");
        let remove = codes(&["jambon"]);
        let veggie = p
            .compose(Selection {
                remove: &remove,
                ..Selection::default()
            })
            .unwrap();
        assert_eq!(veggie.facts.diet, Diet::Vegetarian);
        let hot = codes(&["extra-piment"]);
        let spicy = p
            .compose(Selection {
                options: &hot,
                remove: &remove,
                ..Selection::default()
            })
            .unwrap();
        assert!(spicy.facts.spicy);
        let mut pizza = reine();
        pizza.recipe.retain(|i| i.code != "mozzarella");
        let no_milk = pizza.plain().unwrap();
        assert!(!no_milk.facts.allergens.contains(Allergen::Milk));
        let creme = codes(&["base-creme"]);
        assert!(
            pizza
                .compose(Selection {
                    options: &creme,
                    ..Selection::default()
                })
                .unwrap()
                .facts
                .allergens
                .contains(Allergen::Milk),
            "an option brings its allergens"
        );
    }

    #[test]
    fn group_bounds_sizes_options_and_removals_are_checked() {
        let p = reine();
        let three = codes(&["extra-mozzarella", "extra-jambon", "extra-piment"]);
        assert!(matches!(
            p.compose(Selection {
                options: &three,
                ..Selection::default()
            }),
            Err(ChoiceError::TooMany {
                max: 2,
                given: 3,
                ..
            })
        ));
        let both = codes(&["base-tomate", "base-creme"]);
        assert!(matches!(
            p.compose(Selection {
                options: &both,
                ..Selection::default()
            }),
            Err(ChoiceError::TooMany { max: 1, .. })
        ));
        let stranger = codes(&["extra-ananas"]);
        let e = p
            .compose(Selection {
                options: &stranger,
                ..Selection::default()
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "l'option « extra-ananas » n'est pas proposée pour « Reine »"
        );
        let e = p
            .compose(Selection {
                size: Some("50"),
                ..Selection::default()
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "la taille « 50 » n'existe pas pour « Reine » (tailles : 26 cm, 33 cm, 40 cm)"
        );
        let ananas = codes(&["ananas"]);
        let e = p
            .compose(Selection {
                remove: &ananas,
                ..Selection::default()
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "« ananas » n'est pas dans « Reine » : rien à retirer"
        );
        let pate = codes(&["pate"]);
        assert!(matches!(
            p.compose(Selection {
                remove: &pate,
                ..Selection::default()
            }),
            Err(ChoiceError::NotRemovable { .. })
        ));
        let mut no_default = reine();
        no_default.groups[0].options[0].is_default = false;
        assert!(no_default.plain().is_none());
        assert!(matches!(
            no_default.compose(Selection::default()),
            Err(ChoiceError::TooFew { min: 1, .. })
        ));
        let mut drink = reine();
        drink.sizes.clear();
        assert!(matches!(
            drink.compose(Selection {
                size: Some("33"),
                ..Selection::default()
            }),
            Err(ChoiceError::NoSizes { .. })
        ));
        assert_eq!(drink.plain().unwrap().unit_price, Cents(1150));
    }

    #[test]
    fn an_extra_out_of_stock_is_unavailable_but_the_pizza_is_not() {
        let p = reine();
        // Enough mozzarella for the 33 cm (100), not for an extra on it (160) nor for a 40 cm.
        let stock = BTreeMap::from([
            (1, 10),
            (2, 1000),
            (3, 130),
            (4, 1000),
            (5, 1000),
            (6, 0),
            (8, 10),
        ]);
        let a = p.availability(&stock);
        assert!(a.available);
        assert!(!a.options["extra-mozzarella"]);
        assert!(a.options["extra-jambon"]);
        assert!(!a.options["base-creme"], "no cream");
        assert!(a.sizes["26"]);
        assert!(!a.sizes["40"]);
        let no_sauce = BTreeMap::from([(1, 10), (3, 1000), (4, 1000), (5, 1000), (6, 1000)]);
        assert!(
            p.availability(&no_sauce).available,
            "the cream base still makes it"
        );
        let nothing = BTreeMap::from([(1, 10), (3, 1000), (4, 1000), (5, 1000)]);
        assert!(!p.availability(&nothing).available, "no base at all");
    }
}

//! What the group sells and where: pizzerias, ingredients, pizzas with their recipes, menus,
//! printers, and the CSV seed loader (`feed-db`) that fills them.
//!
//! # Layout
//! - [`feed`]: the seed CSV format, parsed and loaded in one transaction;
//! - [`pizzeria`], [`menu`]: what customers browse;
//! - [`recipe`]: what the kitchen reads;
//! - [`admin`]: what the group admin changes from the admin screen;
//! - [`zone`]: where each pizzeria delivers, for what fee and minimum.
#![forbid(unsafe_code)]

pub mod admin;
pub mod feed;
pub mod hours;
pub mod menu;
pub mod pizzeria;
pub mod recipe;
pub mod zone;

pub use menu::MenuItem;
pub use pizzeria::Pizzeria;

/// Unit an ingredient is counted in; recipe and stock quantities use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
pub enum Unit {
    G,
    Ml,
    Piece,
}

impl Unit {
    pub fn parse(raw: &str) -> Option<Unit> {
        match raw {
            "g" => Some(Unit::G),
            "ml" => Some(Unit::Ml),
            "piece" => Some(Unit::Piece),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Unit::G => "g",
            Unit::Ml => "ml",
            Unit::Piece => "piece",
        }
    }
}

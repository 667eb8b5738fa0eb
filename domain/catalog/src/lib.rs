//! What the group sells and where: pizzerias, ingredients, pizzas with their recipes, menus,
//! printers, and the CSV seed loader (`feed-db`) that fills them.
//!
//! # Layout
//! - [`feed`]: the seed CSV format, parsed and loaded in one transaction;
//! - [`pizzeria`], [`menu`]: what customers browse;
//! - [`product`]: a product's sizes, options and removals, composed into a priced line with its
//!   stock needs and allergens;
//! - [`recipe`]: what the kitchen reads;
//! - [`admin`]: what the group admin changes from the admin screen;
//! - [`carte`]: the same for sizes, option groups, products sold by the unit and allergens;
//! - [`zone`]: where each pizzeria delivers, for what fee and minimum.
#![forbid(unsafe_code)]

pub mod admin;
pub mod carte;
pub mod feed;
pub mod hours;
pub mod menu;
pub mod pizzeria;
pub mod product;
pub mod recipe;
pub mod zone;

pub use pizzeria::Pizzeria;
pub use product::{ChoiceError, Product, Selection};

vocab::named_enum! {
    /// Unit an ingredient is counted in; recipe and stock quantities use it.
    pub enum Unit {
        G = "g",
        Ml = "ml",
        Piece = "piece",
    }
}

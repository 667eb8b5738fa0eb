//! Orders: the lifecycle customers and staff rely on, placing an order, and moving it along.
//!
//! # Layout
//! The lifecycle itself (statuses, moves, labels) is `vocab::OrderStatus`; this crate stores
//! orders and moves them along it.
//!
//! - [`record`]: an order as stored, loaded with its lines;
//! - [`place`]: checking and writing a new order (prices and availability recomputed here, never
//!   trusted from the client), idempotent per customer and key;
//! - [`claim`]: orders placed without an account, given to the account that proves their address;
//! - [`delivery`]: which rider carries a delivery;
//! - [`history`]: each order's steps, and the stamps live pages watch;
//! - [`modify`]: changing lines, address or time before the kitchen starts;
//! - [`stocking`]: reserving an order's ingredients (confirm or reject) and giving them back;
//! - [`transition`]: every status change, with its history row and its message in the same
//!   transaction;
//! - [`timing`]: when an order in the kitchen counts as late;
//! - [`promise`]: moving the times customers were told when the kitchen falls behind.
#![forbid(unsafe_code)]

pub mod claim;
pub mod delivery;
pub mod history;
pub mod modify;
pub mod place;
pub mod promise;
pub mod record;
pub mod stocking;
pub mod timing;
pub mod transition;

pub use place::{NewLine, NewOrder, Placed};
pub use record::{Line, Order};
use vocab::TransitionError;

/// Why an order could not be placed, changed or moved. Every message is meant for the person
/// who asked, in French.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Messaging(#[from] messages::MessagingError),
    #[error("commande introuvable")]
    NotFound,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The order's content is not acceptable; the text says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// The order has gone past the point where it may change (the kitchen started it, it is
    /// awaiting payment or finished); the text says so.
    #[error("{0}")]
    Locked(String),
    /// Someone else changed the order meanwhile.
    #[error("la commande a été modifiée entre-temps : rechargez la page")]
    Conflict,
}

impl From<vocab::InputError> for OrderError {
    fn from(e: vocab::InputError) -> Self {
        OrderError::Invalid(e.to_string())
    }
}

impl OrderError {
    pub fn invalid(message: impl Into<String>) -> OrderError {
        OrderError::Invalid(message.into())
    }
}

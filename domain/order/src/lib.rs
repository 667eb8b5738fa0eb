//! Orders: the lifecycle customers and staff rely on.
//!
//! # Layout
//! - [`status`]: the state machine (who may move an order where, what a customer may still
//!   change), with the French labels of the group's own data model.
#![forbid(unsafe_code)]

pub mod status;

pub use messages::OrderStatus;
pub use status::{Fulfilment, TransitionError};

//! The order platform's shared vocabulary: the words every other crate speaks, with their
//! rules, and nothing that touches the network or the database beyond how a word is stored.
//!
//! It sits at the bottom of the domain: `messages` carries these types on the wire, the domain
//! crates store and check them, the web and the workers show them.
//!
//! # Layout
//! - [`named`]: [`named_enum!`], enums whose machine names are written once;
//! - [`status`]: [`OrderStatus`], the order lifecycle as methods (`can_move_to`, `label_fr`);
//! - [`order`]: [`Fulfilment`], [`Channel`], [`Actor`];
//! - [`payment`]: [`PaymentMode`], [`PaymentStatus`], [`PaymentMethod`];
//! - [`dish`]: [`Category`], [`Allergen`]s and [`Diet`], what the menu says of a dish;
//! - [`money`]: [`Cents`], the only money type;
//! - [`input`]: what people type, parsed once ([`PersonName`], [`Phone`], [`Quantity`],
//!   [`DeliveryAddress`]) with every limit as a named constant.
#![forbid(unsafe_code)]

pub mod dish;
pub mod input;
pub mod money;
pub mod named;
pub mod order;
pub mod payment;
pub mod status;

pub use dish::{Allergen, Allergens, Category, Diet};
pub use input::{DeliveryAddress, InputError, PersonName, Phone, Quantity};
pub use money::{Cents, VatRate};
pub use order::{Actor, Channel, Fulfilment};
pub use payment::{OnSitePlan, PaymentMethod, PaymentMode, PaymentStatus, RefundStatus};
pub use status::{EndReason, OrderStatus, TransitionError};

//! Online payments with Stripe: authorised at checkout, captured when the kitchen starts,
//! voided on cancel, refunded when a captured order is rejected.
//!
//! # Layout
//! - [`gateway`]: the Stripe calls (async-stripe), idempotency keys, error classes;
//! - [`rules`]: the `payments` rows and the order moves each Stripe outcome causes;
//! - [`refund`]: money given back (complaints, orders ended after capture), once;
//! - [`counter`]: on-site payments collected by staff, and the takings by method.
//!
//! async-stripe is large to build; this is the only crate that depends on it.
#![forbid(unsafe_code)]

pub mod counter;
pub mod gateway;
pub mod refund;
pub mod rules;

pub use gateway::{Gateway, Intent, IntentStatus, StripeFailure};
pub use rules::{Finalised, Payment};

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Messaging(#[from] messages::MessagingError),
    #[error(transparent)]
    Order(#[from] order::OrderError),
    #[error(transparent)]
    Stripe(#[from] StripeFailure),
    #[error("no payment for this PaymentIntent")]
    UnknownIntent,
    /// The rest of these are shown to staff as they are.
    #[error("rien n'a été encaissé sur cette commande : il n'y a rien à rembourser")]
    NothingToRefund,
    #[error("cette commande est déjà entièrement remboursée")]
    AlreadyRefunded,
    #[error("le remboursement dépasse ce qui reste encaissé ({0} au plus)")]
    AboveRefundable(vocab::Cents),
    #[error("{0}")]
    Refund(String),
    /// How staff said an order was paid does not add up.
    #[error("{0}")]
    Counter(String),
}

//! Kitchen tickets: what they say, their ESC/POS bytes, getting them onto a printer, and their
//! stored state (which the kitchen screen shows too).
//!
//! # Layout
//! - [`content`]: the ticket's text blocks, with REPRINT and BACKUP banners;
//! - [`escpos`]: encoding for the thermal printer (the `escpos` crate, Windows-1252);
//! - [`printer`]: TCP with time limits and status checks, so "printed" means printed;
//! - [`print`]: main printer, retries, backup printer, offline alerts, `tickets` rows.
#![forbid(unsafe_code)]

pub mod content;
pub mod escpos;
pub mod print;
pub mod printer;

pub use print::{Kind, Outcome, Policy};

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Messaging(#[from] messages::MessagingError),
    #[error("order: {0}")]
    Order(String),
}

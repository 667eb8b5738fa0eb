//! E-mail: what the system tells customers and managers, and delivering it exactly once.
//!
//! # Layout
//! - [`compose`]: the rules — which event gets which e-mail, to whom, in French;
//! - [`render`]: text and HTML bodies from the templates in `templates/` (minijinja, HTML
//!   escaped);
//! - [`send`]: SMTP through lettre, and the `email_log` that makes a redelivered message send
//!   nothing: one stable Message-ID per (order, template) or per alert.
#![forbid(unsafe_code)]

pub mod compose;
pub mod render;
pub mod send;

pub use compose::{Body, OrderSummary, Outgoing};
pub use send::{Delivery, Mailer};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("bad mail setting: {0}")]
    Config(String),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("bad address {address:?}: {reason}")]
    Address { address: String, reason: String },
    /// The SMTP server is unreachable or answered 4xx: worth retrying later.
    #[error("SMTP unavailable: {0}")]
    Transient(String),
}

//! The contract between the web front and the workers, and the machinery that carries it.
//!
//! Nothing is lost between a change in the database and its effect in a worker:
//! the change and an [`outbox`] row commit in one transaction; the [`relay`] publishes outbox rows
//! with publisher confirms and the mandatory flag and marks them only once confirmed; each worker's
//! [`consumer`] applies a message and records it in `processed_messages` in one transaction, acks
//! only after the commit, retries transient failures with backoff and sends the rest to its
//! dead-letter queue, which [`dead_letter`] lists and replays.
//!
//! # Layout
//! - [`event`]: the versioned [`Envelope`] and one typed payload per [`Event`];
//! - [`topology`]: exchanges and queues, declared by code, idempotently;
//! - [`outbox`]: writing a message in the caller's transaction;
//! - [`relay`]: outbox → RabbitMQ;
//! - [`consumer`]: the runtime every worker uses;
//! - [`dead_letter`]: inspection and replay of dead-lettered messages;
//! - [`broker`]: connecting, with backoff.
#![forbid(unsafe_code)]

pub mod broker;
pub mod consumer;
pub mod dead_letter;
pub mod event;
pub mod outbox;
pub mod relay;
pub mod topology;
pub mod wake;

pub use event::{DecodeError, Envelope, Event};

/// Errors of the messaging machinery (not of message handlers, see [`consumer::HandlerError`]).
#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the broker refused message {message_id}: {reason}")]
    NotConfirmed { message_id: String, reason: String },
    #[error("message encoding: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("{0}")]
    Decode(#[from] DecodeError),
    #[error("no dead-lettered message {0} in {1}")]
    NotFound(String, String),
}

/// The first `max_chars` characters of `text` (for columns and headers of bounded size).
pub fn truncate(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

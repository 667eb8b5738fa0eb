//! The background workers' handlers: each turns one kind of message into the domain crate's
//! rules. The consumer runtime (`messages::consumer`) gives them exactly-once effects, retries,
//! dead-lettering and graceful stops; `main.rs` wires them to the command line.
#![forbid(unsafe_code)]

use messages::consumer::HandlerError;
use order::OrderError;

pub mod kitchen;
pub mod notifications;
pub mod payments;
pub mod stock;

/// Maps the order crate's errors onto what the runtime should do with the message.
pub(crate) fn order_error(e: OrderError) -> HandlerError {
    match e {
        OrderError::Db(e) => e.into(),
        OrderError::Messaging(e) => e.into(),
        // Someone changed the order between our read and write: reading again will do.
        OrderError::Conflict => HandlerError::Transient(e.to_string()),
        other => HandlerError::Permanent(other.to_string()),
    }
}

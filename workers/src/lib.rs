//! The background workers' handlers: each turns one kind of message into the domain crate's
//! rules. The consumer runtime (`messages::consumer`) gives them exactly-once effects, retries,
//! dead-lettering and graceful stops; `main.rs` wires them to the command line.
#![forbid(unsafe_code)]

use messages::consumer::HandlerError;
use messages::topology::{ConsumerSpec, Route};
use order::OrderError;

pub mod closing;
pub mod kitchen;
pub mod notifications;
pub mod payments;
pub mod retention;
pub mod stock;

/// Every worker's queue, from the routes each declares beside its handler: what the relay
/// declares, the metrics count and the dead-letter command knows.
pub const ROUTES: [Route; 4] = [
    stock::ROUTE,
    payments::ROUTE,
    kitchen::ROUTE,
    notifications::ROUTE,
];

pub fn consumers() -> Vec<ConsumerSpec> {
    ROUTES.iter().map(Route::spec).collect()
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use messages::Event;

    #[test]
    fn every_message_type_reaches_at_least_one_worker() {
        let workers = consumers();
        for (message_type, _) in Event::TYPES {
            assert!(
                workers.iter().any(|w| w.receives(message_type)),
                "{message_type} has no consumer: the relay would never get it routed"
            );
        }
    }

    #[test]
    fn the_kitchen_prints_only_after_stock_is_reserved() {
        let kitchen = kitchen::ROUTE.spec();
        assert!(kitchen.receives("stock.reserved"));
        assert!(
            !kitchen.receives("order.placed"),
            "an order that cannot be made must never reach the kitchen"
        );
    }

    #[test]
    fn consumer_names_are_unique() {
        let mut names: Vec<_> = ROUTES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ROUTES.len());
    }
}

//! Stock worker: an order placed (or modified while confirmed) reserves its ingredients; an
//! order cancelled or rejected gives them back. The rules are `order::stocking`'s.

use messages::consumer::{Handler, HandlerError};
use messages::topology::Route;
use messages::{Envelope, Event};
use order::stocking;
use sqlx::MySqlConnection;

use crate::order_error;
use vocab::OrderStatus;

/// Reserves and gives back ingredients (also when an order is rejected after reservation).
pub const ROUTE: Route = Route {
    name: "stock",
    bindings: &[
        "order.placed",
        "order.modified",
        "order.cancelled",
        "order.status_changed",
    ],
};

/// The consumer's name (queue, `processed_messages`).
pub const CONSUMER: &str = ROUTE.name;

#[derive(Clone, Debug, Default)]
pub struct StockWorker;

impl Handler for StockWorker {
    async fn handle(
        &self,
        conn: &mut MySqlConnection,
        message: &Envelope,
    ) -> Result<(), HandlerError> {
        match &message.event {
            Event::OrderPlaced(e) => reserve(conn, e.order_id, message, false).await,
            Event::OrderModified(e) => reserve(conn, e.order_id, message, true).await,
            Event::OrderCancelled(e) => give_back(conn, e.order_id, e.from).await,
            Event::OrderStatusChanged(e) if e.to == OrderStatus::Rejected => {
                give_back(conn, e.order_id, e.from).await
            }
            _ => Ok(()),
        }
    }
}

async fn reserve(
    conn: &mut MySqlConnection,
    order_id: u64,
    message: &Envelope,
    modified: bool,
) -> Result<(), HandlerError> {
    let outcome = stocking::reserve(conn, order_id, modified, message)
        .await
        .map_err(order_error)?;
    tracing::info!(order_id, ?outcome, "stock reservation");
    Ok(())
}

async fn give_back(
    conn: &mut MySqlConnection,
    order_id: u64,
    from: OrderStatus,
) -> Result<(), HandlerError> {
    let given = stocking::give_back(conn, order_id, from)
        .await
        .map_err(order_error)?;
    tracing::info!(order_id, ingredients = given, "stock given back");
    Ok(())
}

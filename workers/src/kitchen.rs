//! Kitchen worker: prints the ticket of each order whose stock is reserved (a slot order's when
//! the kitchen should start it), and the copies staff ask for. A ticket no printer took is kept and retried by [`retry_loop`], so the message is
//! done with either way.

use std::time::Duration;

use messages::broker::Shutdown;
use messages::consumer::{Handler, HandlerError};
use messages::topology::Route;
use messages::{Envelope, Event};
use order::Order;
use sqlx::{MySqlConnection, MySqlPool};
use ticket::{Kind, Outcome, Policy, TicketError};

use crate::order_error;
use vocab::OrderStatus;

/// Prints tickets for confirmed orders (only once their stock is reserved, so an order that
/// cannot be made never reaches the kitchen) and reprints on request.
pub const ROUTE: Route = Route {
    name: "kitchen",
    bindings: &["stock.reserved", "ticket.reprint_requested"],
};

/// The consumer's name (queue, `processed_messages`).
pub const CONSUMER: &str = ROUTE.name;

#[derive(Clone, Debug)]
pub struct KitchenWorker {
    pub policy: Policy,
    /// Where a ticket's « sending » mark is committed on its own, before the bytes leave: a
    /// pool apart from the one the consumer's transactions use.
    pub pool: MySqlPool,
}

fn ticket_error(e: TicketError) -> HandlerError {
    match e {
        TicketError::Db(e) => e.into(),
        TicketError::Messaging(e) => e.into(),
        other => HandlerError::Permanent(other.to_string()),
    }
}

impl Handler for KitchenWorker {
    async fn handle(
        &self,
        conn: &mut MySqlConnection,
        message: &Envelope,
    ) -> Result<(), HandlerError> {
        let (order_id, kind) = match &message.event {
            Event::StockReserved(e) => (e.order_id, Kind::Original),
            Event::TicketReprintRequested(e) => (
                e.order_id,
                Kind::Reprint {
                    requested_by: e.requested_by,
                },
            ),
            _ => return Ok(()),
        };
        let order = Order::load(conn, order_id).await.map_err(order_error)?;
        if kind == Kind::Original && order.status != OrderStatus::Confirmed {
            // Cancelled (or already further along) before the ticket could print.
            tracing::info!(order_id, status = ?order.status, "no ticket for an order not confirmed");
            return Ok(());
        }
        if kind == Kind::Original && ticket::print::waits_for_its_start(&order, chrono::Utc::now())
        {
            // A slot order prints when the kitchen should start it ([`retry_loop`]).
            tracing::info!(order_id, start = ?order.kitchen_at, "ticket waits for the kitchen start");
            return Ok(());
        }
        match ticket::print::print_order(
            conn,
            &self.pool,
            &order,
            kind,
            &self.policy,
            Some(message),
        )
        .await
        .map_err(ticket_error)?
        {
            Outcome::Printed { via_backup, .. } => {
                tracing::info!(order_id, via_backup, "ticket printed")
            }
            Outcome::AlreadyPrinted => tracing::info!(order_id, "ticket already printed"),
            Outcome::Failed { error, .. } => {
                tracing::error!(order_id, %error, "no printer took the ticket; will retry")
            }
        }
        Ok(())
    }
}

/// Every `every` until shutdown: prints the slot orders whose kitchen start has come, and
/// retries failed tickets.
pub async fn retry_loop(pool: MySqlPool, policy: Policy, every: Duration, mut shutdown: Shutdown) {
    while shutdown.sleep(every).await {
        match ticket::print::print_due(&pool, &policy, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tickets = n, "slot orders' tickets printed at their start"),
            Err(e) => tracing::warn!(error = %e, "due tickets round failed"),
        }
        match order::promise::keep(&pool, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "promises moved: the kitchen is behind"),
            Err(e) => tracing::warn!(error = %e, "promise round failed"),
        }
        match ticket::print::retry_failed(&pool, &policy).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tickets = n, "failed tickets printed on retry"),
            Err(e) => tracing::warn!(error = %e, "ticket retry round failed"),
        }
    }
}

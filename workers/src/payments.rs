//! Payments worker: captures when the kitchen starts an online order, voids or refunds when it
//! is cancelled or rejected, re-authorises when a modification raised its total, and carries
//! out the refunds staff ask for. The rules and
//! their safety against repeats are in the payment crate.

use messages::consumer::{Handler, HandlerError};
use messages::topology::Route;
use messages::{Envelope, Event};
use order::Order;
use payment::{Gateway, PaymentError, StripeFailure};
use sqlx::MySqlConnection;

use crate::order_error;
use vocab::{OrderStatus, PaymentMode};

/// Captures when the kitchen starts, voids or refunds when an order ends, re-authorises a
/// larger total, refunds what staff ask.
pub const ROUTE: Route = Route {
    name: "payments",
    bindings: &[
        "order.status_changed",
        "order.cancelled",
        "order.modified",
        "payment.refund_requested",
    ],
};

/// The consumer's name (queue, `processed_messages`).
pub const CONSUMER: &str = ROUTE.name;

#[derive(Clone, Debug)]
pub struct PaymentsWorker {
    pub gateway: Gateway,
}

fn payment_error(e: PaymentError) -> HandlerError {
    match e {
        PaymentError::Db(e) => e.into(),
        PaymentError::Messaging(e) => e.into(),
        PaymentError::Order(e) => order_error(e),
        PaymentError::Stripe(StripeFailure::Transient(reason)) => HandlerError::Transient(reason),
        other => HandlerError::Permanent(other.to_string()),
    }
}

enum Step {
    Capture,
    Release,
    Reauthorise,
}

impl Handler for PaymentsWorker {
    async fn handle(
        &self,
        conn: &mut MySqlConnection,
        message: &Envelope,
    ) -> Result<(), HandlerError> {
        if let Event::RefundRequested(e) = &message.event {
            let done = payment::refund::carry_out(conn, &self.gateway, e.refund_id, Some(message))
                .await
                .map_err(payment_error)?;
            tracing::info!(refund_id = e.refund_id, ?done, "refund");
            return Ok(());
        }
        let (order_id, step) = match &message.event {
            Event::OrderStatusChanged(e) if e.to == OrderStatus::Preparing => {
                (e.order_id, Step::Capture)
            }
            Event::OrderStatusChanged(e) if e.to == OrderStatus::Rejected => {
                (e.order_id, Step::Release)
            }
            Event::OrderCancelled(e) => (e.order_id, Step::Release),
            Event::OrderModified(e) if e.total_cents > e.previous_total_cents => {
                (e.order_id, Step::Reauthorise)
            }
            _ => return Ok(()),
        };
        let order = Order::load(conn, order_id).await.map_err(order_error)?;
        if order.payment_mode != PaymentMode::Online {
            return Ok(());
        }
        let gateway = &self.gateway;
        let done = match step {
            Step::Capture => payment::rules::capture(conn, gateway, &order, Some(message)).await,
            Step::Release => payment::rules::release(conn, gateway, &order, Some(message)).await,
            Step::Reauthorise => {
                payment::rules::reauthorise(conn, gateway, &order, Some(message)).await
            }
        };
        done.map_err(payment_error)
    }
}

/// Ends, every `every`, the online orders whose payment did not go through in time
/// (`payment::rules::expire_unpaid`).
pub async fn expiry_loop(
    pool: sqlx::MySqlPool,
    gateway: Gateway,
    every: std::time::Duration,
    mut shutdown: messages::broker::Shutdown,
) {
    while shutdown.sleep(every).await {
        match payment::rules::expire_unpaid(&pool, &gateway, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "unpaid orders expired"),
            Err(e) => tracing::warn!(error = %e, "unpaid orders round failed"),
        }
    }
}

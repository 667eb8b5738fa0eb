//! Stock worker: an order placed (or modified while confirmed) reserves its ingredients and is
//! confirmed, or is rejected with what is missing; an order cancelled or rejected after its
//! reservation gives the stock back. The order row is locked first, so a customer's cancel and
//! this reservation cannot interleave.

use messages::consumer::{Handler, HandlerError};
use messages::event::{MissingIngredient, StockReserved, StockShortage};
use messages::{Actor, Envelope, Event, OrderStatus, outbox};
use order::{Order, transition};
use sqlx::MySqlConnection;
use stock::Reservation;

use crate::order_error;

pub const CONSUMER: &str = "stock";

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
            Event::OrderCancelled(e) => give_back(conn, e.order_id).await,
            Event::OrderStatusChanged(e) if e.to == OrderStatus::Rejected => {
                give_back(conn, e.order_id).await
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
    let mut order = Order::lock(conn, order_id).await.map_err(order_error)?;
    // A placed order is reserved in full; a confirmed one that was modified has its difference
    // reserved. Anything else moved on (cancelled meanwhile, or a late duplicate): nothing to do.
    let expected = if modified {
        OrderStatus::Confirmed
    } else {
        OrderStatus::Placed
    };
    if order.status != expected {
        tracing::info!(order_id, status = ?order.status, "order not waiting for stock; skipped");
        return Ok(());
    }
    let reservation = stock::reserve(conn, order.pizzeria_id, order.id, order.version).await?;
    match reservation {
        Reservation::Reserved { low } => {
            if !modified {
                transition::move_locked(
                    conn,
                    &mut order,
                    OrderStatus::Confirmed,
                    Actor::System,
                    "",
                    Some(message),
                )
                .await
                .map_err(order_error)?;
            }
            let reserved = Event::StockReserved(StockReserved {
                order_id,
                pizzeria_id: order.pizzeria_id,
            });
            // A modification does not print a second ticket: the kitchen screen shows the change.
            if !modified {
                outbox::enqueue(conn, &Envelope::caused_by(reserved, message)).await?;
            }
            for l in low {
                let event = l.event(order.pizzeria_id);
                outbox::enqueue(conn, &Envelope::caused_by(event, message)).await?;
            }
        }
        Reservation::Short(missing) => {
            let names: Vec<&str> = missing.iter().map(|m| m.name.as_str()).collect();
            let reason = format!("Ingrédients manquants : {}", names.join(", "));
            // A modified order keeps what it held until the rejection gives it back.
            transition::move_locked(
                conn,
                &mut order,
                OrderStatus::Rejected,
                Actor::System,
                &reason,
                Some(message),
            )
            .await
            .map_err(order_error)?;
            let event = Event::StockShortage(StockShortage {
                order_id,
                pizzeria_id: order.pizzeria_id,
                missing: missing
                    .into_iter()
                    .map(|m| MissingIngredient {
                        ingredient_id: m.ingredient_id,
                        name: m.name,
                        needed: m.needed,
                        available: m.available,
                    })
                    .collect(),
            });
            outbox::enqueue(conn, &Envelope::caused_by(event, message)).await?;
        }
    }
    Ok(())
}

async fn give_back(conn: &mut MySqlConnection, order_id: u64) -> Result<(), HandlerError> {
    let order = Order::lock(conn, order_id).await.map_err(order_error)?;
    let given = stock::release(conn, order.pizzeria_id, order.id, order.version).await?;
    tracing::info!(order_id, ingredients = given, "stock given back");
    Ok(())
}

//! What stock decides for an order: a placed order (or one modified while confirmed) has its
//! ingredients reserved and is confirmed, or is rejected with what is missing; an order that
//! ends before the kitchen starts gives its stock back (after, the ingredients count as used).
//! The order row is locked first, so a customer's cancel and the reservation cannot interleave.
//! The stock worker calls these for each message.

use messages::event::{MissingIngredient, StockReserved, StockShortage};
use messages::{Envelope, Event, outbox};
use sqlx::MySqlConnection;
use stock::Reservation;
use vocab::{Actor, OrderStatus};

use crate::{Order, OrderError, transition};

/// What a reservation did, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Reserved; a placed order is now confirmed.
    Done,
    /// Not enough stock: the order is rejected.
    Short,
    /// The order had moved on (cancelled meanwhile, a late duplicate): nothing done.
    NotWaiting(OrderStatus),
}

/// Reserves the order's ingredients. `modified`: the order was changed while confirmed, and the
/// difference is reserved (no new ticket: the kitchen screen shows the change). Messages are
/// caused by `cause`.
pub async fn reserve(
    conn: &mut MySqlConnection,
    order_id: u64,
    modified: bool,
    cause: &Envelope,
) -> Result<Reserved, OrderError> {
    let mut order = Order::lock(conn, order_id).await?;
    let expected = if modified {
        OrderStatus::Confirmed
    } else {
        OrderStatus::Placed
    };
    if order.status != expected {
        return Ok(Reserved::NotWaiting(order.status));
    }
    match stock::reserve(conn, order.pizzeria_id, order.id, order.version).await? {
        Reservation::Reserved { low } => {
            if !modified {
                transition::move_locked(
                    conn,
                    &mut order,
                    OrderStatus::Confirmed,
                    Actor::System,
                    "",
                    Some(cause),
                )
                .await?;
                let reserved = Event::StockReserved(StockReserved {
                    order_id,
                    pizzeria_id: order.pizzeria_id,
                });
                outbox::enqueue(conn, &Envelope::caused_by(reserved, cause)).await?;
            }
            for l in low {
                let event = l.event(order.pizzeria_id);
                outbox::enqueue(conn, &Envelope::caused_by(event, cause)).await?;
            }
            Ok(Reserved::Done)
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
                Some(cause),
            )
            .await?;
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
            outbox::enqueue(conn, &Envelope::caused_by(event, cause)).await?;
            Ok(Reserved::Short)
        }
    }
}

/// Gives back what the order holds (nothing, if it held nothing or already gave it back);
/// returns how many ingredients came back. `from` is where the order ended from: once the
/// kitchen has started it, its ingredients count as used (they are on the dough or in the bin)
/// and nothing comes back; a manager corrects the stock by hand if some were saved.
pub async fn give_back(
    conn: &mut MySqlConnection,
    order_id: u64,
    from: OrderStatus,
) -> Result<usize, OrderError> {
    if !from.is_modifiable() {
        return Ok(0);
    }
    let order = Order::lock(conn, order_id).await?;
    Ok(stock::release(conn, order.pizzeria_id, order.id, order.version).await?)
}

//! Who carries a delivery. A rider takes a ready delivery (or takes it by leaving with it); from
//! then on it is theirs: their screen lists it first, and anyone else who moves it on has to say
//! they do it in the rider's place, which the history keeps.

use sqlx::MySqlConnection;
use vocab::{Actor, Fulfilment, OrderStatus};

use crate::transition::record_history;
use crate::{Order, OrderError};

/// The reason recorded when a rider takes a delivery (the status stays `ready`).
pub const TAKEN: &str = "livraison prise en charge";

async fn name_of(conn: &mut MySqlConnection, user_id: u64) -> Result<String, OrderError> {
    let name: Option<String> = sqlx::query_scalar("SELECT full_name FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(name.unwrap_or_else(|| "un autre livreur".into()))
}

/// `rider` takes the ready delivery. Taking one's own again does nothing; another rider's is
/// refused with their name.
pub async fn take(
    conn: &mut MySqlConnection,
    order_id: u64,
    rider: u64,
) -> Result<Order, OrderError> {
    let mut order = Order::lock(conn, order_id).await?;
    if order.fulfilment != Fulfilment::Delivery || order.status != OrderStatus::Ready {
        return Err(OrderError::Locked(format!(
            "La commande n°{order_id} n'est pas une livraison prête à partir (« {} »).",
            order.status_label()
        )));
    }
    match order.driver_id {
        Some(d) if d == rider => return Ok(order),
        Some(d) => {
            let name = name_of(conn, d).await?;
            return Err(OrderError::Locked(format!(
                "La commande n°{order_id} est déjà prise par {name}."
            )));
        }
        None => {}
    }
    assign(conn, &mut order, rider).await?;
    record_history(
        conn,
        order_id,
        Some(order.status),
        order.status,
        Actor::Staff(rider),
        TAKEN,
    )
    .await?;
    Ok(order)
}

async fn assign(
    conn: &mut MySqlConnection,
    order: &mut Order,
    rider: u64,
) -> Result<(), OrderError> {
    sqlx::query(
        "UPDATE orders SET driver_id = ?, version = version + 1, updated_at = CURRENT_TIMESTAMP(6) WHERE id = ?",
    )
    .bind(rider)
    .bind(order.id)
    .execute(conn)
    .await?;
    order.driver_id = Some(rider);
    order.version += 1;
    Ok(())
}

/// Before `by` moves a delivery out or to delivered: an untaken delivery leaving becomes
/// theirs; someone else's needs `in_their_place`. Returns the words for the history (« à la
/// place de … ») when it was someone else's.
pub async fn before_moving(
    conn: &mut MySqlConnection,
    order: &mut Order,
    to: OrderStatus,
    by: u64,
    in_their_place: bool,
) -> Result<String, OrderError> {
    if order.fulfilment != Fulfilment::Delivery
        || !matches!(to, OrderStatus::OutForDelivery | OrderStatus::Delivered)
    {
        return Ok(String::new());
    }
    match order.driver_id {
        None if to == OrderStatus::OutForDelivery => {
            assign(conn, order, by).await?;
            Ok(String::new())
        }
        None => Ok(String::new()),
        Some(d) if d == by => Ok(String::new()),
        Some(d) => {
            let name = name_of(conn, d).await?;
            if in_their_place {
                Ok(format!("à la place de {name}"))
            } else {
                Err(OrderError::Locked(format!(
                    "La commande n°{} est la livraison de {name} : cochez « à sa place » pour la faire avancer vous-même.",
                    order.id
                )))
            }
        }
    }
}

//! Moving an order along its lifecycle. One function does it for everyone (customer, staff,
//! workers): it checks the move against the state machine, writes the new status, the history
//! row (who, when, why) and the message announcing it, all in the caller's transaction.

use messages::event::{OrderCancelled, OrderPlaced, OrderStatusChanged};
use messages::{Envelope, Event, outbox, truncate};
use sqlx::MySqlConnection;

use crate::{Order, OrderError};
use vocab::{Actor, EndReason, OrderStatus, TransitionError};

/// Records a status in the order's history.
pub(crate) async fn record_history(
    conn: &mut MySqlConnection,
    order_id: u64,
    from: Option<OrderStatus>,
    to: OrderStatus,
    by: Actor,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let (kind, user) = by.columns();
    sqlx::query(
        "INSERT INTO order_status_history (order_id, from_status, to_status, actor_user_id, actor_kind, reason)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(order_id)
    .bind(from)
    .bind(to)
    .bind(user)
    .bind(kind)
    .bind(truncate(reason, 500))
    .execute(conn)
    .await?;
    Ok(())
}

/// The message announcing that `order` (already in its new status) moved from `from`.
pub fn announcement(order: &Order, from: OrderStatus, by: Actor) -> Event {
    match order.status {
        OrderStatus::Placed => Event::OrderPlaced(OrderPlaced {
            order_id: order.id,
            pizzeria_id: order.pizzeria_id,
            payment_mode: order.payment_mode,
            total_cents: order.total.0,
        }),
        OrderStatus::Cancelled => Event::OrderCancelled(OrderCancelled {
            order_id: order.id,
            pizzeria_id: order.pizzeria_id,
            from,
            by,
        }),
        to => Event::OrderStatusChanged(OrderStatusChanged {
            order_id: order.id,
            pizzeria_id: order.pizzeria_id,
            from,
            to,
            by,
        }),
    }
}

/// Moves an order whose row the caller locked ([`Order::lock`]) to `to`, and updates `order`.
/// `cause` is the message being handled, when a worker makes the move. `reason` is kept in the
/// history (and as the rejection reason shown to the customer).
pub async fn move_locked(
    conn: &mut MySqlConnection,
    order: &mut Order,
    to: OrderStatus,
    by: Actor,
    reason: &str,
    cause: Option<&Envelope>,
) -> Result<OrderStatus, OrderError> {
    let from = order.status;
    from.check_move_to(to, order.fulfilment)?;
    // Why it ended, shown to the customer: a rejection's reason, or the staff's for a cancel.
    let ended_by_staff = to == OrderStatus::Cancelled && matches!(by, Actor::Staff(_));
    let rejection = (to == OrderStatus::Rejected || (ended_by_staff && !reason.is_empty()))
        .then(|| truncate(reason, 500));
    sqlx::query(
        "UPDATE orders SET status = ?, version = version + 1, updated_at = CURRENT_TIMESTAMP(6),
             rejection_reason = COALESCE(?, rejection_reason)
         WHERE id = ? AND version = ?",
    )
    .bind(to)
    .bind(rejection)
    .bind(order.id)
    .bind(order.version)
    .execute(&mut *conn)
    .await
    .and_then(|done| {
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(sqlx::Error::RowNotFound)
        }
    })
    .map_err(|e| match e {
        sqlx::Error::RowNotFound => OrderError::Conflict,
        other => OrderError::Db(other),
    })?;
    // Ended unmade: its place in the kitchen goes to others.
    if matches!(to, OrderStatus::Cancelled | OrderStatus::Rejected) && from.is_modifiable() {
        pace::store::release_for(conn, order.pizzeria_id, order.id).await?;
    }
    order.status = to;
    order.version += 1;
    if let Some(r) = rejection {
        order.rejection_reason = Some(r.to_owned());
    }
    record_history(conn, order.id, Some(from), to, by, reason).await?;
    let event = announcement(order, from, by);
    let envelope = match cause {
        Some(cause) => Envelope::caused_by(event, cause),
        None => Envelope::new(event),
    };
    outbox::enqueue(conn, &envelope).await?;
    Ok(from)
}

/// Locks the order and moves it (see [`move_locked`]); returns the order in its new status.
pub async fn move_to(
    conn: &mut MySqlConnection,
    order_id: u64,
    to: OrderStatus,
    by: Actor,
    reason: &str,
    cause: Option<&Envelope>,
) -> Result<Order, OrderError> {
    let mut order = Order::lock(conn, order_id).await?;
    move_locked(conn, &mut order, to, by, reason, cause).await?;
    Ok(order)
}

/// The customer cancels their order (refused once the kitchen has started it).
pub async fn cancel_by_customer(
    conn: &mut MySqlConnection,
    order_id: u64,
    customer_id: u64,
) -> Result<Order, OrderError> {
    let mut order = Order::lock(conn, order_id).await?;
    if !order.status.is_modifiable() {
        return Err(TransitionError::NotAllowed {
            from: order.status.label_fr(order.fulfilment),
            to: OrderStatus::Cancelled.label_fr(order.fulfilment),
        }
        .into());
    }
    move_locked(
        conn,
        &mut order,
        OrderStatus::Cancelled,
        Actor::Customer(customer_id),
        "annulée par le client",
        None,
    )
    .await?;
    Ok(order)
}

/// Staff (counter, manager) end an order that is not finished: cancelled at the customer's
/// request, otherwise rejected by the pizzeria; the reason is recorded and shown to the
/// customer. The workers then give back the stock (if the kitchen had not started) and the
/// money. Returns the order as it was before.
pub async fn end_by_staff(
    conn: &mut MySqlConnection,
    order_id: u64,
    why: EndReason,
    detail: &str,
    staff_id: u64,
) -> Result<Order, OrderError> {
    let reason = why.describe(detail).map_err(OrderError::invalid)?;
    let mut order = Order::lock(conn, order_id).await?;
    let before = order.clone();
    move_locked(
        conn,
        &mut order,
        why.status(),
        Actor::Staff(staff_id),
        &reason,
        None,
    )
    .await?;
    Ok(before)
}

//! Changing an order before the kitchen starts it: lines, delivery address, desired time. The
//! same checks as placing it (menu prices, stock, opening hours), a new version, a history row
//! and an `order.modified` message, in the caller's transaction. The stock worker then adjusts
//! the reservation; the payments worker re-authorises a larger total.

use catalog::Pizzeria;
use chrono::{DateTime, Utc};
use messages::event::OrderModified;
use messages::{Envelope, Event, outbox};
use sqlx::MySqlConnection;

use crate::place::{check_time, delivery_fee, price_lines, write_lines};
use crate::transition::record_history;
use crate::{NewLine, Order, OrderError};
use vocab::{Actor, Cents, DeliveryAddress, Fulfilment, OrderStatus};

#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// The new lines, replacing the old ones.
    pub lines: Option<Vec<NewLine>>,
    pub delivery: Option<DeliveryAddress>,
    /// `Some(None)`: as soon as possible.
    pub desired_at: Option<Option<DateTime<Utc>>>,
    /// The version the person saw: a change based on an older one is refused.
    pub expected_version: Option<u32>,
}

pub async fn modify(
    conn: &mut MySqlConnection,
    order_id: u64,
    changes: &Changes,
    by: Actor,
    now: DateTime<Utc>,
) -> Result<Order, OrderError> {
    let order = Order::lock(conn, order_id).await?;
    if changes.expected_version.is_some_and(|v| v != order.version) {
        return Err(OrderError::Conflict);
    }
    // Paid online and not yet authorised: the amount being paid must not move under the
    // customer's feet; pay first (or cancel).
    if !order.status.is_modifiable() || order.status == OrderStatus::AwaitingPayment {
        return Err(OrderError::Locked(format!(
            "la commande est « {} » : elle ne peut plus être modifiée",
            order.status_label()
        )));
    }
    let shop = Pizzeria::find(conn, order.pizzeria_id)
        .await?
        .ok_or(OrderError::NotFound)?;
    let mut subtotal = order.subtotal();
    if let Some(lines) = &changes.lines {
        if lines.is_empty() {
            return Err(OrderError::invalid(
                "une commande garde au moins une pizza ; sinon, annulez-la",
            ));
        }
        let probe = crate::NewOrder {
            pizzeria_id: order.pizzeria_id,
            customer_id: order.customer_id,
            channel: order.channel,
            fulfilment: order.fulfilment,
            payment_mode: order.payment_mode,
            on_site_plan: order.on_site_plan,
            customer_name: order.customer_name.clone(),
            customer_phone: order.customer_phone.clone(),
            contact_email: order.contact_email.clone(),
            delivery: order.delivery.clone(),
            desired_at: order.desired_at,
            notes: order.notes.clone(),
            lines: lines.clone(),
            idempotency_key: "modification".into(),
        };
        crate::place::check_shape(&probe)?;
        // What the order already holds counts as available to it.
        let held = stock::held_for_order(conn, order.id).await?;
        let (priced, new_total) = price_lines(conn, order.pizzeria_id, lines, &held).await?;
        sqlx::query("DELETE FROM order_lines WHERE order_id = ?")
            .bind(order.id)
            .execute(&mut *conn)
            .await?;
        write_lines(conn, order.id, &priced).await?;
        subtotal = new_total;
    }
    let mut postal_code = order.delivery.as_ref().map(|a| a.postal_code.clone());
    if let Some(address) = &changes.delivery {
        if order.fulfilment != Fulfilment::Delivery {
            return Err(OrderError::invalid(
                "une commande à emporter n'a pas d'adresse de livraison",
            ));
        }
        let address = DeliveryAddress::parse(address)?;
        postal_code = Some(address.postal_code.clone());
        sqlx::query(
            "UPDATE orders SET delivery_street = ?, delivery_complement = ?, delivery_postal_code = ?, delivery_city = ?, delivery_instructions = ? WHERE id = ?",
        )
        .bind(&address.street)
        .bind(&address.complement)
        .bind(&address.postal_code)
        .bind(&address.city)
        .bind(&address.instructions)
        .bind(order.id)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(desired) = changes.desired_at {
        check_time(&shop, desired, now)?;
        sqlx::query("UPDATE orders SET desired_at = ? WHERE id = ?")
            .bind(desired)
            .bind(order.id)
            .execute(&mut *conn)
            .await?;
    }
    // The kitchen again: the order gives up its old place and takes the one its new content and
    // time need (a full slot refuses the whole change).
    let changed = Order::load(conn, order.id).await?;
    let fit = crate::place::fit_kitchen(
        conn,
        &shop,
        changed.fulfilment,
        postal_code.as_deref(),
        changed.cooked(),
        changed.desired_at,
        now,
        Some(order.id),
    )
    .await?;
    crate::place::book_kitchen(conn, shop.id, order.id, &fit, changed.desired_at).await?;
    // The fee follows the new subtotal and address, under the zone's minimum, as at checkout.
    let delivery_fee = match (order.fulfilment, &postal_code) {
        (Fulfilment::Delivery, Some(code)) => delivery_fee(conn, &shop, code, subtotal).await?,
        _ => Cents(0),
    };
    let total = subtotal
        .checked_add(delivery_fee)
        .ok_or_else(|| OrderError::invalid("montant de la commande trop élevé"))?;
    sqlx::query("UPDATE orders SET total_cents = ?, delivery_fee_cents = ?, version = version + 1, updated_at = CURRENT_TIMESTAMP(6) WHERE id = ?")
        .bind(total.0)
        .bind(delivery_fee.0)
        .bind(order.id)
        .execute(&mut *conn)
        .await?;
    record_history(
        conn,
        order.id,
        Some(order.status),
        order.status,
        by,
        crate::history::MODIFIED,
    )
    .await?;
    let event = Event::OrderModified(OrderModified {
        order_id: order.id,
        pizzeria_id: order.pizzeria_id,
        previous_total_cents: order.total.0,
        total_cents: total.0,
        by,
    });
    outbox::enqueue(conn, &Envelope::new(event)).await?;
    Order::load(conn, order.id).await
}

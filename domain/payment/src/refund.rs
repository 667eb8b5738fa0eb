//! Giving money back: a complaint after the order was handed over, or the end (cancel, reject) of
//! an order whose payment was already captured.
//!
//! Every refund is a `refunds` row. On a Stripe payment staff's request is `requested` and the
//! payments worker carries it out ([`carry_out`]); on a payment collected on site the money comes
//! out of the till at once, so the row is `done` when asked. What may be given back is what the
//! payment took, less what was refunded or is being refunded: asking for more is refused here,
//! before Stripe is involved.
//!
//! Exactly once: the worker locks the row and acts only on `requested`; before calling Stripe it
//! looks for a Stripe refund tagged with the row's id, so a crash after Stripe's answer and
//! before our commit finds the first refund instead of making a second.

use chrono::{DateTime, Utc};
use messages::event::{PaymentEvent, PaymentFailed, RefundRequested};
use messages::{Envelope, Event, outbox};
use order::{Line, Order};
use sqlx::MySqlConnection;

use crate::gateway::{Gateway, StripeFailure};
use crate::{Payment, PaymentError};
use vocab::{Cents, PaymentMethod, PaymentStatus, RefundStatus};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Refund {
    pub id: u64,
    pub order_id: u64,
    pub payment_id: u64,
    pub method: PaymentMethod,
    pub amount_cents: u32,
    pub status: RefundStatus,
    pub reason: String,
    pub requested_by: Option<u64>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, order_id, payment_id, method, amount_cents, status, reason, requested_by, failure_reason, created_at, done_at";

impl Refund {
    /// The order's refunds, oldest first.
    pub async fn for_order(
        conn: &mut MySqlConnection,
        order_id: u64,
    ) -> Result<Vec<Refund>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM refunds WHERE order_id = ? ORDER BY id"
        )))
        .bind(order_id)
        .fetch_all(conn)
        .await
    }

    async fn lock(conn: &mut MySqlConnection, id: u64) -> Result<Option<Refund>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM refunds WHERE id = ? FOR UPDATE"
        )))
        .bind(id)
        .fetch_optional(conn)
        .await
    }
}

/// The payment that took the order's money (captured online, or collected on site), locked.
async fn lock_taking(
    conn: &mut MySqlConnection,
    order_id: u64,
) -> Result<Option<Payment>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, order_id, method, status, amount_cents, captured_cents, refunded_cents, stripe_payment_intent_id, failure_reason
         FROM payments WHERE order_id = ? AND status IN (?, ?, ?) AND captured_cents > 0
         ORDER BY id DESC LIMIT 1 FOR UPDATE",
    )
    .bind(order_id)
    .bind(PaymentStatus::Captured)
    .bind(PaymentStatus::Refunded)
    .bind(PaymentStatus::Collected)
    .fetch_optional(conn)
    .await
}

/// What is being refunded on `payment` and not done yet.
async fn in_flight(conn: &mut MySqlConnection, payment_id: u64) -> Result<u32, sqlx::Error> {
    let cents: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_cents), 0) AS SIGNED) FROM refunds WHERE payment_id = ? AND status = ?",
    )
    .bind(payment_id)
    .bind(RefundStatus::Requested)
    .fetch_one(conn)
    .await?;
    Ok(u32::try_from(cents).unwrap_or(u32::MAX))
}

/// How much of the order's money may still be given back (0 when nothing was taken).
pub async fn refundable(conn: &mut MySqlConnection, order_id: u64) -> Result<Cents, sqlx::Error> {
    let Some(payment) = lock_taking(conn, order_id).await? else {
        return Ok(Cents(0));
    };
    let pending = in_flight(conn, payment.id).await?;
    Ok(Cents(left(&payment).saturating_sub(pending)))
}

fn left(payment: &Payment) -> u32 {
    payment
        .captured_cents
        .saturating_sub(payment.refunded_cents)
}

/// The amount for giving back `quantities[i]` of the order's line `i` (0 for none), and the
/// words for the refund's reason (« 2 × Margherita »). Refuses more than was ordered.
pub fn for_lines(lines: &[Line], quantities: &[u32]) -> Result<(Cents, String), PaymentError> {
    let mut total = Cents(0);
    let mut words = Vec::new();
    for (line, &q) in lines.iter().zip(quantities) {
        if q == 0 {
            continue;
        }
        if q > line.quantity {
            return Err(PaymentError::Refund(format!(
                "« {} » : {q} demandées, {} commandées",
                line.pizza_name, line.quantity
            )));
        }
        total = total.saturating_add(line.unit_price.saturating_mul(q));
        words.push(format!("{q} × {}", line.label_fr()));
    }
    if total.0 == 0 {
        return Err(PaymentError::Refund(
            "choisissez au moins une pizza à rembourser".into(),
        ));
    }
    Ok((total, words.join(", ")))
}

/// What [`ask`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// A Stripe refund the payments worker will carry out.
    Requested(u64),
    /// Handed back from the till: done.
    Done(u64),
}

/// Staff ask to give `amount` back on the order, for `reason`. Refused (with the French reason)
/// when nothing was taken, everything was given back already, or `amount` is more than is left.
pub async fn ask(
    conn: &mut MySqlConnection,
    order: &Order,
    amount: Cents,
    reason: &str,
    staff_id: u64,
) -> Result<Asked, PaymentError> {
    let payment = lock_taking(conn, order.id)
        .await?
        .ok_or(PaymentError::NothingToRefund)?;
    let available = left(&payment).saturating_sub(in_flight(conn, payment.id).await?);
    if amount.0 == 0 {
        return Err(PaymentError::Refund(
            "indiquez un montant à rembourser".into(),
        ));
    }
    if available == 0 {
        return Err(PaymentError::AlreadyRefunded);
    }
    if amount.0 > available {
        return Err(PaymentError::AboveRefundable(Cents(available)));
    }
    let on_site = payment.method != PaymentMethod::Stripe;
    let status = if on_site {
        RefundStatus::Done
    } else {
        RefundStatus::Requested
    };
    let id = insert(conn, &payment, amount.0, status, reason, Some(staff_id)).await?;
    if on_site {
        refunded(conn, &payment, amount.0, None).await?;
        Ok(Asked::Done(id))
    } else {
        let event = Event::RefundRequested(RefundRequested {
            order_id: order.id,
            refund_id: id,
        });
        outbox::enqueue(conn, &Envelope::new(event)).await?;
        Ok(Asked::Requested(id))
    }
}

async fn insert(
    conn: &mut MySqlConnection,
    payment: &Payment,
    amount: u32,
    status: RefundStatus,
    reason: &str,
    by: Option<u64>,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO refunds (order_id, payment_id, method, amount_cents, status, reason, requested_by, done_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, IF(? = 'done', CURRENT_TIMESTAMP(6), NULL))",
    )
    .bind(payment.order_id)
    .bind(payment.id)
    .bind(payment.method)
    .bind(amount)
    .bind(status)
    .bind(messages::truncate(reason, 500))
    .bind(by)
    .bind(status)
    .execute(conn)
    .await?;
    Ok(done.last_insert_id())
}

/// Records `amount` as given back on `payment` and announces it (the customer's e-mail).
async fn refunded(
    conn: &mut MySqlConnection,
    payment: &Payment,
    amount: u32,
    cause: Option<&Envelope>,
) -> Result<(), PaymentError> {
    let total = payment.refunded_cents.saturating_add(amount);
    let status = match payment.status {
        PaymentStatus::Collected => PaymentStatus::Collected,
        _ if total >= payment.captured_cents => PaymentStatus::Refunded,
        _ => PaymentStatus::Captured,
    };
    sqlx::query(
        "UPDATE payments SET refunded_cents = ?, status = ?, updated_at = CURRENT_TIMESTAMP(6) WHERE id = ?",
    )
    .bind(total)
    .bind(status)
    .bind(payment.id)
    .execute(&mut *conn)
    .await?;
    let event = Event::PaymentRefunded(PaymentEvent {
        order_id: payment.order_id,
        payment_id: payment.id,
        amount_cents: amount,
    });
    crate::rules::announce(conn, event, cause).await?;
    Ok(())
}

/// What [`carry_out`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CarriedOut {
    Done,
    /// Refused (by us or by Stripe): the row says why, the managers are alerted.
    Failed(String),
    /// Not waiting any more (done before: a redelivery).
    AlreadyHandled,
}

/// Carries out a requested Stripe refund, once.
pub async fn carry_out(
    conn: &mut MySqlConnection,
    gateway: &Gateway,
    refund_id: u64,
    cause: Option<&Envelope>,
) -> Result<CarriedOut, PaymentError> {
    let Some(refund) = Refund::lock(conn, refund_id).await? else {
        return Err(PaymentError::Refund(format!(
            "remboursement {refund_id} introuvable"
        )));
    };
    if refund.status != RefundStatus::Requested {
        return Ok(CarriedOut::AlreadyHandled);
    }
    let payment: Payment = sqlx::query_as(
        "SELECT id, order_id, method, status, amount_cents, captured_cents, refunded_cents, stripe_payment_intent_id, failure_reason
         FROM payments WHERE id = ? FOR UPDATE",
    )
    .bind(refund.payment_id)
    .fetch_one(&mut *conn)
    .await?;
    if refund.amount_cents > left(&payment) {
        let reason = format!(
            "le remboursement de {} dépasse ce qui reste encaissé ({})",
            Cents(refund.amount_cents),
            Cents(left(&payment))
        );
        return failed(conn, &refund, reason, cause).await;
    }
    let Some(intent_id) = payment.stripe_payment_intent_id.clone() else {
        return failed(
            conn,
            &refund,
            "paiement sans référence Stripe".into(),
            cause,
        )
        .await;
    };
    let found = match gateway.find_refund(&intent_id, refund.id).await {
        Ok(found) => found,
        Err(e @ StripeFailure::Transient(_)) => return Err(e.into()),
        Err(e) => return failed(conn, &refund, format!("remboursement refusé — {e}"), cause).await,
    };
    let stripe_id = match found {
        Some(id) => id,
        None => match gateway
            .refund(&intent_id, refund.amount_cents, refund.id)
            .await
        {
            Ok(id) => id,
            Err(e @ StripeFailure::Transient(_)) => return Err(e.into()),
            Err(e) => {
                return failed(conn, &refund, format!("remboursement refusé — {e}"), cause).await;
            }
        },
    };
    sqlx::query(
        "UPDATE refunds SET status = ?, stripe_refund_id = ?, done_at = CURRENT_TIMESTAMP(6) WHERE id = ?",
    )
    .bind(RefundStatus::Done)
    .bind(&stripe_id)
    .bind(refund.id)
    .execute(&mut *conn)
    .await?;
    refunded(conn, &payment, refund.amount_cents, cause).await?;
    Ok(CarriedOut::Done)
}

async fn failed(
    conn: &mut MySqlConnection,
    refund: &Refund,
    reason: String,
    cause: Option<&Envelope>,
) -> Result<CarriedOut, PaymentError> {
    tracing::error!(refund_id = refund.id, order_id = refund.order_id, %reason, "refund failed");
    sqlx::query("UPDATE refunds SET status = ?, failure_reason = ? WHERE id = ?")
        .bind(RefundStatus::Failed)
        .bind(messages::truncate(&reason, 500))
        .bind(refund.id)
        .execute(&mut *conn)
        .await?;
    let pizzeria_id: u64 = sqlx::query_scalar("SELECT pizzeria_id FROM orders WHERE id = ?")
        .bind(refund.order_id)
        .fetch_one(&mut *conn)
        .await?;
    let event = Event::PaymentFailed(PaymentFailed {
        order_id: refund.order_id,
        payment_id: Some(refund.payment_id),
        pizzeria_id,
        reason: reason.clone(),
    });
    crate::rules::announce(conn, event, cause).await?;
    Ok(CarriedOut::Failed(reason))
}

/// The order ended (cancelled, rejected) after its Stripe payment was captured: gives back
/// everything that is left, unless staff asked for a refund with the end (or before), which is
/// carried out instead. Only asked here: the row commits with the caller's transaction and its
/// own `refund.requested` message carries it out. Calling Stripe from this transaction would tag
/// the refund with a row id that a failed try rolls back, and the next try, with a new id, could
/// not see that Stripe had refunded already (found by the Stripe fault test: three refunds).
pub async fn at_end(
    conn: &mut MySqlConnection,
    order: &Order,
    payment: &Payment,
    cause: Option<&Envelope>,
) -> Result<(), PaymentError> {
    let asked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM refunds WHERE payment_id = ? AND status IN (?, ?)",
    )
    .bind(payment.id)
    .bind(RefundStatus::Requested)
    .bind(RefundStatus::Done)
    .fetch_one(&mut *conn)
    .await?;
    let due = left(payment);
    if asked > 0 || due == 0 {
        return Ok(());
    }
    let reason = order
        .rejection_reason
        .clone()
        .unwrap_or_else(|| "commande annulée".into());
    let id = insert(conn, payment, due, RefundStatus::Requested, &reason, None).await?;
    let event = Event::RefundRequested(RefundRequested {
        order_id: order.id,
        refund_id: id,
    });
    crate::rules::announce(conn, event, cause).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<Line> {
        let line = |pizza_id, name: &str, cents, quantity| Line {
            id: pizza_id,
            pizza_id,
            pizza_name: name.into(),
            category: vocab::Category::Pizza,
            size_code: None,
            size_name: None,
            unit_price: Cents(cents),
            vat_rate: vocab::VatRate::Intermediate,
            quantity,
            notes: String::new(),
            choices: Vec::new(),
        };
        vec![line(1, "Margherita", 900, 2), line(2, "Reine", 1150, 1)]
    }

    #[test]
    fn lines_price_what_was_sold_and_never_more_than_ordered() {
        let o = lines();
        assert_eq!(
            for_lines(&o, &[1, 1]).unwrap(),
            (Cents(2050), "1 × Margherita, 1 × Reine".into())
        );
        assert_eq!(for_lines(&o, &[2]).unwrap().0, Cents(1800));
        assert_eq!(
            for_lines(&o, &[3, 0]).unwrap_err().to_string(),
            "« Margherita » : 3 demandées, 2 commandées"
        );
        assert_eq!(
            for_lines(&o, &[0, 0]).unwrap_err().to_string(),
            "choisissez au moins une pizza à rembourser"
        );
    }
}

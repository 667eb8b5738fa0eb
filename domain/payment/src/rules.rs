//! What happens to the money along an order's life, written to `payments` with the messages
//! announcing it, in the caller's transaction:
//! - checkout opens a PaymentIntent (manual capture) and a `pending` row;
//! - [`finalise`] (the customer's return and the webhook both call it) reads the intent: held
//!   → `authorised` and the order is `placed`; declined → `failed`, and the order waits for
//!   another card until [`expire_unpaid`] ends it, 30 minutes after checkout;
//! - the kitchen starting the order → [`capture`] (at most what was authorised);
//! - cancelled or rejected → [`release`]: void what is only authorised, refund what was captured
//!   ([`crate::refund`]).
//!
//! Each step reads the intent's state at Stripe first, so running it twice (a redelivery, a
//! crash between Stripe's answer and our commit) never charges or refunds twice.

use messages::event::{PaymentEvent, PaymentFailed};
use messages::{Envelope, Event, outbox};
use order::{Order, transition};
use sqlx::MySqlConnection;

use crate::PaymentError;
use crate::gateway::{Gateway, Intent, IntentStatus, StripeFailure};
use vocab::{Actor, OrderStatus, PaymentMethod, PaymentStatus};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Payment {
    pub id: u64,
    pub order_id: u64,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount_cents: u32,
    pub captured_cents: u32,
    pub refunded_cents: u32,
    pub stripe_payment_intent_id: Option<String>,
    pub failure_reason: Option<String>,
}

const COLUMNS: &str = "id, order_id, method, status, amount_cents, captured_cents, refunded_cents, stripe_payment_intent_id, failure_reason";

impl Payment {
    /// The order's Stripe payment (the latest), locked.
    pub async fn lock_online(
        conn: &mut MySqlConnection,
        order_id: u64,
    ) -> Result<Option<Payment>, sqlx::Error> {
        Payment::latest_online(conn, order_id, " FOR UPDATE").await
    }

    /// The order's Stripe payment (the latest), `lock` being a locking clause or empty.
    async fn latest_online(
        conn: &mut MySqlConnection,
        order_id: u64,
        lock: &'static str,
    ) -> Result<Option<Payment>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payments WHERE order_id = ? AND method = ? ORDER BY id DESC LIMIT 1{lock}"
        )))
        .bind(order_id)
        .bind(PaymentMethod::Stripe)
        .fetch_optional(conn)
        .await
    }

    pub async fn lock_by_intent(
        conn: &mut MySqlConnection,
        intent_id: &str,
    ) -> Result<Option<Payment>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payments WHERE stripe_payment_intent_id = ? FOR UPDATE"
        )))
        .bind(intent_id)
        .fetch_optional(conn)
        .await
    }

    pub async fn for_order(
        conn: &mut MySqlConnection,
        order_id: u64,
    ) -> Result<Vec<Payment>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM payments WHERE order_id = ? ORDER BY id"
        )))
        .bind(order_id)
        .fetch_all(conn)
        .await
    }
}

async fn set(
    conn: &mut MySqlConnection,
    payment_id: u64,
    status: PaymentStatus,
    captured: Option<u32>,
    refunded: Option<u32>,
    failure: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payments SET status = ?, captured_cents = COALESCE(?, captured_cents),
             refunded_cents = COALESCE(?, refunded_cents), failure_reason = COALESCE(?, failure_reason),
             captured_at = IF(? IS NOT NULL, COALESCE(captured_at, CURRENT_TIMESTAMP(6)), captured_at),
             updated_at = CURRENT_TIMESTAMP(6)
         WHERE id = ?",
    )
    .bind(status)
    .bind(captured)
    .bind(refunded)
    .bind(failure.map(|f| messages::truncate(f, 500)))
    .bind(captured)
    .bind(payment_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues `event` in the caller's transaction, as caused by `cause` when there is one.
pub(crate) async fn announce(
    conn: &mut MySqlConnection,
    event: Event,
    cause: Option<&Envelope>,
) -> Result<(), PaymentError> {
    let envelope = match cause {
        Some(c) => Envelope::caused_by(event, c),
        None => Envelope::new(event),
    };
    outbox::enqueue(conn, &envelope).await?;
    Ok(())
}

/// Runs a step a person is waiting on (checkout, the return from the card form) again while
/// Stripe's answer is lost or an error page, each time in a new transaction: the steps read the
/// intent's state first and send idempotency keys, so a repeat never acts twice, and a customer
/// is not shown an error that is Stripe's for a moment. Eight tries within about five seconds;
/// after that the error is theirs to see (« Stripe indisponible »).
pub async fn retried<T, F, Fut>(step: F) -> Result<T, PaymentError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PaymentError>>,
{
    use backon::{ExponentialBuilder, Retryable};
    step.retry(
        ExponentialBuilder::default()
            .with_min_delay(std::time::Duration::from_millis(100))
            .with_max_delay(std::time::Duration::from_secs(1))
            .with_max_times(7)
            .with_jitter(),
    )
    .when(|e| matches!(e, PaymentError::Stripe(StripeFailure::Transient(_))))
    .notify(|e, delay| {
        tracing::warn!(error = %e, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "Stripe step failed; trying again");
    })
    .await
}

fn cents(amount: i64) -> u32 {
    u32::try_from(amount.max(0)).unwrap_or(u32::MAX)
}

/// Opens the online payment of an order waiting for it: a PaymentIntent for its total and a
/// `pending` row. Calling it again for the same order returns the same intent. With a
/// `payment_method` it is confirmed at once (counter card terminals and tests); otherwise the
/// customer's browser confirms it with the returned client secret.
pub async fn open(
    conn: &mut MySqlConnection,
    gateway: &Gateway,
    order: &Order,
    payment_method: Option<&str>,
) -> Result<Intent, PaymentError> {
    // Serialise payment openings per order on the order's row. Not with a locking read of
    // `payments`: for an order without a payment yet it takes a gap lock shared with the
    // neighbouring orders, and two customers paying at once then deadlock on their inserts
    // (found by the load benchmark).
    Order::lock(conn, order.id).await?;
    if let Some(existing) = Payment::latest_online(conn, order.id, "").await?
        && existing.status == PaymentStatus::Pending
        && let Some(id) = &existing.stripe_payment_intent_id
    {
        return Ok(gateway.retrieve(id).await?);
    }
    let attempt: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE order_id = ?")
        .bind(order.id)
        .fetch_one(&mut *conn)
        .await?;
    // Our ids repeat when a database is created again against the same Stripe account (test
    // mode, staging), and Stripe would answer a repeated key with another order's intent: the
    // order's creation time makes the key this order's alone. The other keys name the intent.
    let key = format!(
        "order-{}-{}-intent-{}",
        order.id,
        order.created_at.timestamp_micros(),
        attempt + 1
    );
    let intent = match gateway
        .create(
            order.id,
            order.total.0,
            payment_method,
            payment_method.is_some(),
            key,
        )
        .await
    {
        Ok(intent) => intent,
        // Declined on the spot: the intent exists and says so; finalise records it.
        Err(StripeFailure::Declined {
            intent: Some(intent),
            ..
        }) => *intent,
        Err(e) => return Err(e.into()),
    };
    sqlx::query(
        "INSERT INTO payments (order_id, method, status, amount_cents, stripe_payment_intent_id) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(order.id)
    .bind(PaymentMethod::Stripe)
    .bind(PaymentStatus::Pending)
    .bind(order.total.0)
    .bind(&intent.id)
    .execute(&mut *conn)
    .await?;
    Ok(intent)
}

/// What [`finalise`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finalised {
    /// The amount is held; the order is placed.
    Authorised,
    /// The card was refused (the reason, in French); the order still waits for payment.
    Declined(String),
    /// The customer has not finished paying yet.
    Pending,
    /// Done before (a second webhook, a reload of the return page).
    AlreadyDone,
}

/// The one step that turns a PaymentIntent's state into ours; the customer's return from the
/// payment page and Stripe's webhook both call it, in either order, any number of times.
pub async fn finalise(
    conn: &mut MySqlConnection,
    gateway: &Gateway,
    intent_id: &str,
) -> Result<Finalised, PaymentError> {
    let payment = Payment::lock_by_intent(conn, intent_id)
        .await?
        .ok_or(PaymentError::UnknownIntent)?;
    if payment.status != PaymentStatus::Pending {
        return Ok(Finalised::AlreadyDone);
    }
    let mut order = Order::lock(conn, payment.order_id).await?;
    let intent = gateway.retrieve(intent_id).await?;
    match intent.status {
        IntentStatus::RequiresCapture | IntentStatus::Succeeded => {
            let held = cents(intent.amount_capturable.max(intent.amount_received));
            set(
                conn,
                payment.id,
                PaymentStatus::Authorised,
                None,
                None,
                None,
            )
            .await?;
            sqlx::query("UPDATE payments SET amount_cents = ? WHERE id = ?")
                .bind(held)
                .bind(payment.id)
                .execute(&mut *conn)
                .await?;
            if order.status == OrderStatus::AwaitingPayment {
                transition::move_locked(
                    conn,
                    &mut order,
                    OrderStatus::Placed,
                    Actor::System,
                    "paiement autorisé",
                    None,
                )
                .await?;
            }
            announce(
                conn,
                Event::PaymentAuthorised(PaymentEvent {
                    order_id: order.id,
                    payment_id: payment.id,
                    amount_cents: held,
                }),
                None,
            )
            .await?;
            Ok(Finalised::Authorised)
        }
        IntentStatus::AwaitingCustomer if intent.failure.is_some() => {
            // The customer may try another card: the order waits for payment (until it
            // expires, see [`expire_unpaid`]); nobody is e-mailed until the outcome is final.
            let reason = intent.failure.unwrap_or_default();
            set(
                conn,
                payment.id,
                PaymentStatus::Failed,
                None,
                None,
                Some(&reason),
            )
            .await?;
            Ok(Finalised::Declined(reason))
        }
        IntentStatus::Canceled => {
            set(conn, payment.id, PaymentStatus::Voided, None, None, None).await?;
            Ok(Finalised::AlreadyDone)
        }
        _ => Ok(Finalised::Pending),
    }
}

/// Takes the money when the kitchen starts an online order: at most what was authorised.
pub async fn capture(
    conn: &mut MySqlConnection,
    gateway: &Gateway,
    order: &Order,
    cause: Option<&Envelope>,
) -> Result<(), PaymentError> {
    let Some(payment) = Payment::lock_online(conn, order.id).await? else {
        return Ok(());
    };
    if payment.status != PaymentStatus::Authorised {
        return Ok(());
    }
    let intent_id = payment
        .stripe_payment_intent_id
        .clone()
        .ok_or(PaymentError::UnknownIntent)?;
    let amount = order.total.0.min(payment.amount_cents);
    let intent = gateway.retrieve(&intent_id).await?;
    let captured = match intent.status {
        // Captured already: our record of it did not commit last time.
        IntentStatus::Succeeded => cents(intent.amount_received),
        IntentStatus::RequiresCapture => {
            match gateway
                .capture(&intent_id, amount, format!("{intent_id}-capture"))
                .await
            {
                Ok(done) => cents(done.amount_received).max(amount.min(cents(done.amount))),
                Err(e @ (StripeFailure::Declined { .. } | StripeFailure::Refused { .. })) => {
                    return fail(conn, &payment, order, &e.to_string(), cause).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        other => {
            return fail(
                conn,
                &payment,
                order,
                &format!("autorisation introuvable ({other:?})"),
                cause,
            )
            .await;
        }
    };
    set(
        conn,
        payment.id,
        PaymentStatus::Captured,
        Some(captured),
        None,
        None,
    )
    .await?;
    announce(
        conn,
        Event::PaymentCaptured(PaymentEvent {
            order_id: order.id,
            payment_id: payment.id,
            amount_cents: captured,
        }),
        cause,
    )
    .await
}

async fn fail(
    conn: &mut MySqlConnection,
    payment: &Payment,
    order: &Order,
    reason: &str,
    cause: Option<&Envelope>,
) -> Result<(), PaymentError> {
    tracing::error!(order_id = order.id, %reason, "payment step failed");
    set(
        conn,
        payment.id,
        PaymentStatus::Failed,
        None,
        None,
        Some(reason),
    )
    .await?;
    announce(
        conn,
        Event::PaymentFailed(PaymentFailed {
            order_id: order.id,
            payment_id: Some(payment.id),
            pizzeria_id: order.pizzeria_id,
            reason: reason.to_owned(),
        }),
        cause,
    )
    .await
}

/// Gives the customer's money back after a cancellation or rejection: voids what is only
/// authorised, refunds what was captured.
pub async fn release(
    conn: &mut MySqlConnection,
    gateway: &Gateway,
    order: &Order,
    cause: Option<&Envelope>,
) -> Result<(), PaymentError> {
    let Some(payment) = Payment::lock_online(conn, order.id).await? else {
        return Ok(());
    };
    let Some(intent_id) = payment.stripe_payment_intent_id.clone() else {
        return Ok(());
    };
    match payment.status {
        PaymentStatus::Authorised | PaymentStatus::Pending => {
            let intent = gateway.retrieve(&intent_id).await?;
            match intent.status {
                IntentStatus::Canceled => {}
                IntentStatus::Succeeded => {
                    // Captured after all (a capture whose record was lost): refund it.
                    let captured = cents(intent.amount_received);
                    set(
                        conn,
                        payment.id,
                        PaymentStatus::Captured,
                        Some(captured),
                        None,
                        None,
                    )
                    .await?;
                    let payment = Payment {
                        captured_cents: captured,
                        status: PaymentStatus::Captured,
                        ..payment
                    };
                    return crate::refund::at_end(conn, order, &payment, cause).await;
                }
                _ => {
                    gateway
                        .cancel(&intent_id, format!("{intent_id}-cancel"))
                        .await?;
                }
            }
            set(conn, payment.id, PaymentStatus::Voided, None, None, None).await?;
            announce(
                conn,
                Event::PaymentVoided(PaymentEvent {
                    order_id: order.id,
                    payment_id: payment.id,
                    amount_cents: payment.amount_cents,
                }),
                cause,
            )
            .await
        }
        PaymentStatus::Captured => crate::refund::at_end(conn, order, &payment, cause).await,
        _ => Ok(()),
    }
}

/// A modification raised the total above what is held: authorise the new total on the same
/// card and release the old hold. If the card refuses, the old authorisation stays, the kitchen
/// will capture at most that, and the managers are told (`payment.failed`).
pub async fn reauthorise(
    conn: &mut MySqlConnection,
    gateway: &Gateway,
    order: &Order,
    cause: Option<&Envelope>,
) -> Result<(), PaymentError> {
    let Some(payment) = Payment::lock_online(conn, order.id).await? else {
        return Ok(());
    };
    if payment.status != PaymentStatus::Authorised || order.total.0 <= payment.amount_cents {
        return Ok(());
    }
    let old_id = payment
        .stripe_payment_intent_id
        .clone()
        .ok_or(PaymentError::UnknownIntent)?;
    let old = gateway.retrieve(&old_id).await?;
    let Some(method) = old.payment_method.clone() else {
        return fail(
            conn,
            &payment,
            order,
            "pas de carte enregistrée pour le complément",
            cause,
        )
        .await;
    };
    let key = format!("{old_id}-reauthorise-{}", order.version);
    match gateway
        .create(order.id, order.total.0, Some(&method), true, key)
        .await
    {
        Ok(intent) if intent.status == IntentStatus::RequiresCapture => {
            // Cancelled already if an earlier try's commit was lost after Stripe's answer.
            if old.status != IntentStatus::Canceled {
                gateway.cancel(&old_id, format!("{old_id}-cancel")).await?;
            }
            set(conn, payment.id, PaymentStatus::Voided, None, None, None).await?;
            let done = sqlx::query(
                "INSERT INTO payments (order_id, method, status, amount_cents, stripe_payment_intent_id) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(order.id)
            .bind(PaymentMethod::Stripe)
            .bind(PaymentStatus::Authorised)
            .bind(cents(intent.amount_capturable))
            .bind(&intent.id)
            .execute(&mut *conn)
            .await?;
            announce(
                conn,
                Event::PaymentAuthorised(PaymentEvent {
                    order_id: order.id,
                    payment_id: done.last_insert_id(),
                    amount_cents: cents(intent.amount_capturable),
                }),
                cause,
            )
            .await
        }
        Ok(intent) => {
            let reason = intent
                .failure
                .unwrap_or_else(|| "complément non autorisé".into());
            announce(
                conn,
                Event::PaymentFailed(PaymentFailed {
                    order_id: order.id,
                    payment_id: Some(payment.id),
                    pizzeria_id: order.pizzeria_id,
                    reason,
                }),
                cause,
            )
            .await
        }
        Err(e @ (StripeFailure::Declined { .. } | StripeFailure::Refused { .. })) => {
            announce(
                conn,
                Event::PaymentFailed(PaymentFailed {
                    order_id: order.id,
                    payment_id: Some(payment.id),
                    pizzeria_id: order.pizzeria_id,
                    reason: e.to_string(),
                }),
                cause,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// How long an online order waits for its payment (a declined card, an abandoned payment page)
/// before it ends.
pub const PAYMENT_WINDOW: chrono::Duration = chrono::Duration::minutes(30);

/// Ends the online orders still awaiting payment `PAYMENT_WINDOW` after checkout: rejected
/// (« paiement non abouti »), which e-mails the customer once, with the open PaymentIntent
/// cancelled so it can no longer be paid. A payment that went through at the last moment is
/// recorded instead. Nothing was reserved yet, so no stock comes back. Returns how many ended.
pub async fn expire_unpaid(
    pool: &sqlx::MySqlPool,
    gateway: &Gateway,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, PaymentError> {
    let due: Vec<u64> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE status = ? AND created_at < ? ORDER BY id LIMIT 100",
    )
    .bind(OrderStatus::AwaitingPayment)
    .bind(now - PAYMENT_WINDOW)
    .fetch_all(pool)
    .await?;
    let mut ended = 0;
    for id in due {
        let mut tx = pool.begin().await?;
        let mut order = Order::lock(&mut tx, id).await?;
        if order.status != OrderStatus::AwaitingPayment {
            continue;
        }
        if let Some(p) = Payment::lock_online(&mut tx, id).await?
            && p.status == PaymentStatus::Pending
            && let Some(intent_id) = p.stripe_payment_intent_id.clone()
        {
            let intent = gateway.retrieve(&intent_id).await?;
            if matches!(
                intent.status,
                IntentStatus::RequiresCapture | IntentStatus::Succeeded
            ) {
                // Paid just in time: the same step as the customer's return.
                drop(order);
                finalise(&mut tx, gateway, &intent_id).await?;
                tx.commit().await?;
                continue;
            }
            if intent.status != IntentStatus::Canceled {
                gateway
                    .cancel(&intent_id, format!("{intent_id}-expire"))
                    .await?;
            }
            set(&mut tx, p.id, PaymentStatus::Voided, None, None, None).await?;
        }
        transition::move_locked(
            &mut tx,
            &mut order,
            OrderStatus::Rejected,
            Actor::System,
            "Paiement non abouti dans les 30 minutes",
            None,
        )
        .await?;
        tx.commit().await?;
        ended += 1;
    }
    Ok(ended)
}

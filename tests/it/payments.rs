//! Online payments against localstripe through async-stripe: authorisation at checkout, capture
//! when the kitchen starts, void on cancel, refund after capture, a declined card, Stripe down,
//! a modification above the authorised amount, and redelivery of each step.

use messages::consumer::{self, HandlerError, Outcome};
use messages::event::OrderModified;
use messages::{Envelope, Event};
use ocpizza_tests::TestEnv;
use ocpizza_tests::shop::Shop;
use order::{Order, transition};
use payment::{Finalised, Gateway, IntentStatus, Payment};
use settings::ExposeSecret;
use vocab::{Actor, Fulfilment, OrderStatus, PaymentMode};
use workers::payments::{CONSUMER, PaymentsWorker};
use workers::stock::StockWorker;

pub(crate) fn gateway(env: &TestEnv) -> Gateway {
    env.gateway()
}

pub(crate) fn worker(env: &TestEnv) -> PaymentsWorker {
    PaymentsWorker {
        gateway: env.gateway(),
    }
}

pub(crate) async fn setup() -> (TestEnv, Shop) {
    TestEnv::with_stocked_shop().await
}

/// An online order paid with `card` at checkout: the intent opened and finalised.
pub(crate) async fn checkout(env: &TestEnv, shop: &Shop, card: &str) -> (Order, Finalised) {
    let order = env
        .place(
            shop,
            &[(shop.regina, 1), (shop.margherita, 1)],
            PaymentMode::Online,
            Fulfilment::Pickup,
        )
        .await;
    assert_eq!(order.status, OrderStatus::AwaitingPayment);
    let mut tx = env.pool.begin().await.unwrap();
    let intent = payment::rules::open(&mut tx, &gateway(env), &order, Some(card))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = env.pool.begin().await.unwrap();
    let finalised = payment::rules::finalise(&mut tx, &gateway(env), &intent.id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (env.order(order.id).await, finalised)
}

pub(crate) async fn payment_of(env: &TestEnv, order_id: u64) -> Payment {
    let mut conn = env.pool.acquire().await.unwrap();
    Payment::for_order(&mut conn, order_id)
        .await
        .unwrap()
        .pop()
        .expect("a payment row")
}

pub(crate) async fn stripe_state(env: &TestEnv, intent_id: &str) -> payment::Intent {
    gateway(env).retrieve(intent_id).await.unwrap()
}

/// Confirms the order through the stock worker and has the kitchen start it.
pub(crate) async fn start_in_kitchen(env: &TestEnv, shop: &Shop, order_id: u64) -> Envelope {
    let placed = env.outbox_for("order.placed", order_id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    let mut tx = env.pool.begin().await.unwrap();
    transition::move_to(
        &mut tx,
        order_id,
        OrderStatus::Preparing,
        Actor::Staff(shop.manager_id),
        "",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    env.outbox("order.status_changed")
        .await
        .into_iter()
        .find(|m| matches!(&m.event, Event::OrderStatusChanged(c) if c.order_id == order_id && c.to == OrderStatus::Preparing))
        .expect("the preparing message")
}

/// An online order paid by card and captured by the payments worker as the kitchen started it.
pub(crate) async fn captured(env: &TestEnv, shop: &Shop) -> Order {
    let (order, _) = checkout(env, shop, "pm_card_visa").await;
    let preparing = start_in_kitchen(env, shop, order.id).await;
    consumer::process(&env.pool, CONSUMER, &worker(env), &preparing)
        .await
        .unwrap();
    env.order(order.id).await
}

#[tokio::test]
async fn authorised_at_checkout_and_captured_once_when_the_kitchen_starts() {
    let (env, shop) = setup().await;
    let (order, finalised) = checkout(&env, &shop, "pm_card_visa").await;
    assert_eq!(finalised, Finalised::Authorised);
    assert_eq!(order.status, OrderStatus::Placed);
    let payment = payment_of(&env, order.id).await;
    assert_eq!(
        (payment.status.as_str(), payment.amount_cents),
        ("authorised", 2150)
    );
    let intent_id = payment.stripe_payment_intent_id.clone().unwrap();
    assert_eq!(
        stripe_state(&env, &intent_id).await.status,
        IntentStatus::RequiresCapture
    );
    env.outbox_for("payment.authorised", order.id).await;

    // The webhook arriving after the customer's return: nothing more happens.
    let mut tx = env.pool.begin().await.unwrap();
    assert_eq!(
        payment::rules::finalise(&mut tx, &gateway(&env), &intent_id)
            .await
            .unwrap(),
        Finalised::AlreadyDone
    );
    tx.commit().await.unwrap();
    assert_eq!(env.outbox("order.placed").await.len(), 1);

    let preparing = start_in_kitchen(&env, &shop, order.id).await;
    assert_eq!(
        consumer::process(&env.pool, CONSUMER, &worker(&env), &preparing)
            .await
            .unwrap(),
        Outcome::Applied
    );
    let payment = payment_of(&env, order.id).await;
    assert_eq!(
        (payment.status.as_str(), payment.captured_cents),
        ("captured", 2150)
    );
    let at_stripe = stripe_state(&env, &intent_id).await;
    assert_eq!(
        (at_stripe.status, at_stripe.amount_received),
        (IntentStatus::Succeeded, 2150)
    );

    // Redelivered, or re-published under a new id: no second capture.
    let mut again = preparing.clone();
    again.message_id = uuid::Uuid::now_v7();
    assert_eq!(
        consumer::process(&env.pool, CONSUMER, &worker(&env), &preparing)
            .await
            .unwrap(),
        Outcome::Duplicate
    );
    consumer::process(&env.pool, CONSUMER, &worker(&env), &again)
        .await
        .unwrap();
    assert_eq!(env.outbox("payment.captured").await.len(), 1);
    assert_eq!(payment_of(&env, order.id).await.captured_cents, 2150);
}

#[tokio::test]
async fn a_declined_card_leaves_the_order_waiting_for_another_card_until_it_expires() {
    let (env, shop) = setup().await;
    let (order, finalised) = checkout(&env, &shop, "pm_card_chargeCustomerFail").await;
    // Stripe's English text never reaches the customer: its decline code, in French.
    assert_eq!(
        finalised,
        Finalised::Declined("votre banque a refusé le paiement".into())
    );
    assert_eq!(order.status, OrderStatus::AwaitingPayment);
    let failed = payment_of(&env, order.id).await;
    assert_eq!(
        (failed.status.as_str(), failed.failure_reason.as_deref()),
        ("failed", Some("votre banque a refusé le paiement"))
    );
    assert!(
        env.outbox("payment.failed").await.is_empty(),
        "no alert for a customer's card"
    );
    assert!(
        env.outbox("order.placed").await.is_empty(),
        "never reaches stock or kitchen"
    );

    // Another card: a new PaymentIntent, authorised, and the order goes on.
    let mut tx = env.pool.begin().await.unwrap();
    let retry = payment::rules::open(&mut tx, &gateway(&env), &order, Some("pm_card_visa"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_ne!(Some(retry.id.clone()), failed.stripe_payment_intent_id);
    let mut tx = env.pool.begin().await.unwrap();
    assert_eq!(
        payment::rules::finalise(&mut tx, &gateway(&env), &retry.id)
            .await
            .unwrap(),
        Finalised::Authorised
    );
    tx.commit().await.unwrap();
    assert_eq!(env.order(order.id).await.status, OrderStatus::Placed);

    // One declined and left: 30 minutes after checkout it ends, once, with one e-mail.
    let (left, _) = checkout(&env, &shop, "pm_card_chargeCustomerFail").await;
    let soon = chrono::Utc::now() + chrono::Duration::minutes(29);
    assert_eq!(
        payment::rules::expire_unpaid(&env.pool, &gateway(&env), soon)
            .await
            .unwrap(),
        0
    );
    let later = chrono::Utc::now() + chrono::Duration::minutes(31);
    assert_eq!(
        payment::rules::expire_unpaid(&env.pool, &gateway(&env), later)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        payment::rules::expire_unpaid(&env.pool, &gateway(&env), later)
            .await
            .unwrap(),
        0
    );
    let ended = env.order(left.id).await;
    assert_eq!(ended.status, OrderStatus::Rejected);
    assert_eq!(
        ended.rejection_reason.as_deref(),
        Some("Paiement non abouti dans les 30 minutes")
    );
    assert_eq!(
        env.order(order.id).await.status,
        OrderStatus::Placed,
        "the paid one stays"
    );
    let rejected = env
        .outbox("order.status_changed")
        .await
        .into_iter()
        .find(|m| matches!(&m.event, Event::OrderStatusChanged(c) if c.order_id == left.id))
        .unwrap();
    let mut conn = env.pool.acquire().await.unwrap();
    let mails = mail::compose::for_event(
        &mut conn,
        &rejected,
        &ocpizza_tests::mail_links("https://x.example"),
    )
    .await
    .unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(
        mails[0].subject,
        format!("Commande n°{} : paiement non abouti", left.id)
    );
    let summary = mails[0].body.order.as_ref().unwrap();
    assert!(!summary.payment.contains("Payée"), "{}", summary.payment);
}

#[tokio::test]
async fn cancelling_before_the_kitchen_voids_the_authorisation_once() {
    let (env, shop) = setup().await;
    let (order, _) = checkout(&env, &shop, "pm_card_visa").await;
    let mut tx = env.pool.begin().await.unwrap();
    transition::move_to(
        &mut tx,
        order.id,
        OrderStatus::Cancelled,
        Actor::Customer(shop.customer_id),
        "",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let cancelled = env.outbox_for("order.cancelled", order.id).await;
    consumer::process(&env.pool, CONSUMER, &worker(&env), &cancelled)
        .await
        .unwrap();
    let payment = payment_of(&env, order.id).await;
    assert_eq!(payment.status, vocab::PaymentStatus::Voided);
    let intent_id = payment.stripe_payment_intent_id.unwrap();
    assert_eq!(
        stripe_state(&env, &intent_id).await.status,
        IntentStatus::Canceled
    );

    let mut again = cancelled.clone();
    again.message_id = uuid::Uuid::now_v7();
    consumer::process(&env.pool, CONSUMER, &worker(&env), &again)
        .await
        .unwrap();
    assert_eq!(env.outbox("payment.voided").await.len(), 1);
}

#[tokio::test]
async fn a_captured_payment_released_is_refunded_once() {
    let (env, shop) = setup().await;
    // Driven directly, twice (what a redelivered rejection would do): one refund.
    let order = captured(&env, &shop).await;
    for _ in 0..2 {
        let mut tx = env.pool.begin().await.unwrap();
        payment::rules::release(&mut tx, &gateway(&env), &order, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // Asked once; its own message carries it out, here delivered twice with new ids.
    assert_eq!(env.outbox("payment.refund_requested").await.len(), 1);
    let asked = env.outbox_for("payment.refund_requested", order.id).await;
    for _ in 0..2 {
        let mut again = asked.clone();
        again.message_id = uuid::Uuid::now_v7();
        consumer::process(&env.pool, CONSUMER, &worker(&env), &again)
            .await
            .unwrap();
    }
    let payment = payment_of(&env, order.id).await;
    assert_eq!(
        (payment.status.as_str(), payment.refunded_cents),
        ("refunded", 2150)
    );
    assert_eq!(env.outbox("payment.refunded").await.len(), 1);
    let refunded = env.outbox_for("payment.refunded", order.id).await;
    assert!(matches!(refunded.event, Event::PaymentRefunded(ref r) if r.amount_cents == 2150));
}

#[tokio::test]
async fn stripe_unreachable_is_a_transient_error_that_changes_nothing() {
    let (env, shop) = setup().await;
    let (order, _) = checkout(&env, &shop, "pm_card_visa").await;
    let preparing = start_in_kitchen(&env, &shop, order.id).await;
    let down = PaymentsWorker {
        gateway: Gateway::new(
            env.settings.stripe.secret_key.expose_secret(),
            &format!("http://127.0.0.1:{}/", ocpizza_tests::peers::free_port()),
        )
        .unwrap(),
    };
    let err = consumer::process(&env.pool, CONSUMER, &down, &preparing)
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Transient(_)), "{err:?}");
    assert_eq!(
        payment_of(&env, order.id).await.status.as_str(),
        "authorised"
    );
    // Back: the same message captures.
    consumer::process(&env.pool, CONSUMER, &worker(&env), &preparing)
        .await
        .unwrap();
    assert_eq!(payment_of(&env, order.id).await.status.as_str(), "captured");
}

#[tokio::test]
async fn a_modification_above_the_authorised_amount_is_reauthorised() {
    let (env, shop) = setup().await;
    let (order, _) = checkout(&env, &shop, "pm_card_visa").await;
    let old_intent = payment_of(&env, order.id)
        .await
        .stripe_payment_intent_id
        .unwrap();
    // The customer adds a pizza (the web's modification step writes this and the message).
    sqlx::query("UPDATE orders SET total_cents = 3350, version = version + 1 WHERE id = ?")
        .bind(order.id)
        .execute(&env.pool)
        .await
        .unwrap();
    let modified = Envelope::new(Event::OrderModified(OrderModified {
        order_id: order.id,
        pizzeria_id: shop.pizzeria_id,
        previous_total_cents: 2150,
        total_cents: 3350,
        by: Actor::Customer(shop.customer_id),
    }));
    consumer::process(&env.pool, CONSUMER, &worker(&env), &modified)
        .await
        .unwrap();
    let mut conn = env.pool.acquire().await.unwrap();
    let payments = Payment::for_order(&mut conn, order.id).await.unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(payments[0].status.as_str(), "voided");
    assert_eq!(
        (payments[1].status.as_str(), payments[1].amount_cents),
        ("authorised", 3350)
    );
    assert_eq!(
        stripe_state(&env, &old_intent).await.status,
        IntentStatus::Canceled
    );
}

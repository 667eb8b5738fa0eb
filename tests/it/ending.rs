//! Staff ending orders and giving money back, against localstripe: a started order rejected
//! (captured payment refunded once, ingredients counted as used), a confirmed one cancelled at
//! the customer's request (stock back, authorisation voided), a manager's partial refund after
//! hand-over carried out exactly once even when our record of it is lost, the refusals (above
//! what is left, already refunded, Stripe refusing), and the e-mails each sends once.

use super::payments::{captured, checkout, gateway, payment_of, setup, worker};
use messages::Event;
use messages::consumer;
use ocpizza_tests::TestEnv;
use ocpizza_tests::shop::Shop;
use order::transition;
use payment::refund::{self, Asked, CarriedOut, Refund};
use vocab::{Actor, Cents, EndReason, OrderStatus, PaymentStatus, RefundStatus};
use workers::payments::CONSUMER;
use workers::stock::StockWorker;

/// How many refunds Stripe holds for the order's intent.
async fn stripe_refunds(env: &TestEnv, order_id: u64) -> usize {
    let intent = payment_of(env, order_id)
        .await
        .stripe_payment_intent_id
        .expect("a Stripe payment");
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:8420/v1/refunds?payment_intent={intent}"
        ))
        .basic_auth("sk_test_ocpizza", Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"].as_array().expect("a list").len()
}

async fn refunds(env: &TestEnv, order_id: u64) -> Vec<Refund> {
    let mut conn = env.pool.acquire().await.unwrap();
    Refund::for_order(&mut conn, order_id).await.unwrap()
}

async fn end(env: &TestEnv, shop: &Shop, order_id: u64, why: EndReason, detail: &str) {
    let mut tx = env.pool.begin().await.unwrap();
    transition::end_by_staff(&mut tx, order_id, why, detail, shop.manager_id)
        .await
        .expect("staff may end an unfinished order");
    tx.commit().await.unwrap();
}

/// The last message of this type about the order.
async fn last(env: &TestEnv, message_type: &str, order_id: u64) -> messages::Envelope {
    env.outbox(message_type)
        .await
        .into_iter()
        .rev()
        .find(|m| m.event.order_id() == Some(order_id))
        .unwrap_or_else(|| panic!("a {message_type} message for order {order_id}"))
}

/// Delivers `message` twice (as at-least-once delivery may) to the stock and payments workers.
async fn twice_to_stock_and_payments(env: &TestEnv, message: &messages::Envelope) {
    for _ in 0..2 {
        let mut again = message.clone();
        again.message_id = uuid::Uuid::now_v7();
        consumer::process(&env.pool, "stock", &StockWorker, &again)
            .await
            .unwrap();
        consumer::process(&env.pool, CONSUMER, &worker(env), &again)
            .await
            .unwrap();
    }
}

/// Why asking for `amount` back on the order is refused (nothing is written).
async fn refusal(env: &TestEnv, order: &order::Order, amount: Cents) -> String {
    let mut tx = env.pool.begin().await.unwrap();
    refund::ask(&mut tx, order, amount, "encore", 1)
        .await
        .expect_err("refused")
        .to_string()
}

async fn move_to(env: &TestEnv, shop: &Shop, order_id: u64, to: OrderStatus) {
    let mut tx = env.pool.begin().await.unwrap();
    transition::move_to(
        &mut tx,
        order_id,
        to,
        Actor::Staff(shop.manager_id),
        "",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_started_order_rejected_by_staff_is_refunded_once_and_its_ingredients_stay_used() {
    let (env, shop) = setup().await;
    let order = captured(&env, &shop).await;
    assert_eq!(payment_of(&env, order.id).await.captured_cents, 2150);
    let mozza = env.stock_of(&shop, "mozza").await;

    end(&env, &shop, order.id, EndReason::OutOfStock, "plus de pâte").await;
    let ended = env.order(order.id).await;
    assert_eq!(ended.status, OrderStatus::Rejected);
    assert_eq!(
        ended.rejection_reason.as_deref(),
        Some("Ingrédient épuisé : plus de pâte")
    );
    let (kind, who): (String, Option<u64>) = sqlx::query_as(
        "SELECT CAST(actor_kind AS CHAR), actor_user_id FROM order_status_history WHERE order_id = ? ORDER BY id DESC LIMIT 1",
    )
    .bind(order.id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!((kind.as_str(), who), ("staff", Some(shop.manager_id)));

    let rejected = last(&env, "order.status_changed", order.id).await;
    assert!(
        matches!(rejected.event, Event::OrderStatusChanged(ref c) if c.to == OrderStatus::Rejected)
    );
    twice_to_stock_and_payments(&env, &rejected).await;
    let asked = env.outbox_for("payment.refund_requested", order.id).await;
    twice_to_stock_and_payments(&env, &asked).await;
    assert_eq!(
        env.stock_of(&shop, "mozza").await,
        mozza,
        "a started order's ingredients are used: nothing comes back"
    );
    let payment = payment_of(&env, order.id).await;
    assert_eq!(
        (payment.status, payment.refunded_cents),
        (PaymentStatus::Refunded, 2150)
    );
    assert_eq!(stripe_refunds(&env, order.id).await, 1, "refunded once");
    let rows = refunds(&env, order.id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].status, rows[0].amount_cents, rows[0].requested_by),
        (RefundStatus::Done, 2150, None)
    );
    assert_eq!(env.outbox("payment.refunded").await.len(), 1);

    // The customer is told why, and that the money comes back.
    let mut conn = env.pool.acquire().await.unwrap();
    let mails = mail::compose::for_event(
        &mut conn,
        &rejected,
        &ocpizza_tests::mail_links("https://ocpizza.example"),
    )
    .await
    .unwrap();
    assert_eq!(mails.len(), 1);
    let text = mails[0].body.paragraphs.join("\n");
    assert!(text.contains("Ingrédient épuisé : plus de pâte"), "{text}");
}

#[tokio::test]
async fn a_confirmed_order_cancelled_for_the_customer_gives_stock_back_and_voids_once() {
    let (env, shop) = setup().await;
    let (order, _) = checkout(&env, &shop, "pm_card_visa").await;
    let before = env.stock_of(&shop, "mozza").await;
    let placed = env.outbox_for("order.placed", order.id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    assert_eq!(env.stock_of(&shop, "mozza").await, before - 200);

    end(
        &env,
        &shop,
        order.id,
        EndReason::CustomerRequest,
        "a appelé",
    )
    .await;
    assert_eq!(env.order(order.id).await.status, OrderStatus::Cancelled);
    let cancelled = env.outbox_for("order.cancelled", order.id).await;
    twice_to_stock_and_payments(&env, &cancelled).await;
    assert_eq!(
        env.stock_of(&shop, "mozza").await,
        before,
        "given back once"
    );
    assert_eq!(
        payment_of(&env, order.id).await.status,
        PaymentStatus::Voided
    );
    assert_eq!(env.outbox("payment.voided").await.len(), 1);
    assert!(
        refunds(&env, order.id).await.is_empty(),
        "nothing was taken"
    );

    // The customer's e-mail goes out once, however often the message comes.
    let maildev = ocpizza_tests::peers::Maildev::start().await;
    let mailing = super::notifications::worker(&maildev);
    for _ in 0..2 {
        let mut again = cancelled.clone();
        again.message_id = uuid::Uuid::now_v7();
        consumer::process(
            &env.pool,
            workers::notifications::CONSUMER,
            &mailing,
            &again,
        )
        .await
        .unwrap();
    }
    let mails = maildev.emails().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0]["subject"],
        format!("Commande n°{} annulée", order.id)
    );
    let text = mails[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Motif : À la demande du client : a appelé."),
        "{text}"
    );
    assert!(text.contains("vous ne serez pas débité"), "{text}");

    // An ended order cannot end again, nor be refunded.
    let mut tx = env.pool.begin().await.unwrap();
    let again = transition::end_by_staff(&mut tx, order.id, EndReason::Prank, "", shop.manager_id)
        .await
        .unwrap_err();
    assert_eq!(
        again.to_string(),
        "la commande est « Annulée » : elle ne peut plus passer à « Refusée »"
    );
    let o = env.order(order.id).await;
    let refused = refund::ask(&mut tx, &o, Cents(100), "geste", shop.manager_id)
        .await
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "rien n'a été encaissé sur cette commande : il n'y a rien à rembourser"
    );
}

#[tokio::test]
async fn a_complaint_refund_is_carried_out_exactly_once_even_when_our_record_of_it_is_lost() {
    let (env, shop) = setup().await;
    let order = captured(&env, &shop).await;
    move_to(&env, &shop, order.id, OrderStatus::Ready).await;
    move_to(&env, &shop, order.id, OrderStatus::PickedUp).await;
    let order = env.order(order.id).await;

    // One Margherita (the second line) given back.
    let (amount, words) = refund::for_lines(&order.lines, &[0, 1]).unwrap();
    assert_eq!((amount, words.as_str()), (Cents(950), "1 × Margherita"));
    let mut tx = env.pool.begin().await.unwrap();
    let asked = refund::ask(&mut tx, &order, amount, "froide", shop.manager_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let Asked::Requested(id) = asked else {
        panic!("a Stripe refund goes through the worker: {asked:?}")
    };
    assert_eq!(
        refunds(&env, order.id).await[0].status,
        RefundStatus::Requested
    );
    // What is being refunded is not available twice.
    assert_eq!(
        refusal(&env, &order, Cents(1300)).await,
        "le remboursement dépasse ce qui reste encaissé (12,00\u{a0}€ au plus)"
    );

    let requested = last(&env, "payment.refund_requested", order.id).await;
    for _ in 0..2 {
        let mut again = requested.clone();
        again.message_id = uuid::Uuid::now_v7();
        consumer::process(&env.pool, CONSUMER, &worker(&env), &again)
            .await
            .unwrap();
    }
    assert_eq!(stripe_refunds(&env, order.id).await, 1);
    let payment = payment_of(&env, order.id).await;
    assert_eq!(
        (payment.status, payment.refunded_cents),
        (PaymentStatus::Captured, 950),
        "partly refunded: still captured"
    );

    // A crash after Stripe's answer and before our commit: the row is still `requested`, the
    // payment shows nothing refunded, and no message went out. Carrying it out again finds
    // Stripe's refund.
    sqlx::query("DELETE FROM outbox WHERE routing_key = 'payment.refunded'")
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE refunds SET status = 'requested', done_at = NULL WHERE id = ?")
        .bind(id)
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE payments SET refunded_cents = 0 WHERE id = ?")
        .bind(payment.id)
        .execute(&env.pool)
        .await
        .unwrap();
    let mut tx = env.pool.begin().await.unwrap();
    let done = refund::carry_out(&mut tx, &gateway(&env), id, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(done, CarriedOut::Done);
    assert_eq!(
        stripe_refunds(&env, order.id).await,
        1,
        "no second refund at Stripe"
    );
    assert_eq!(payment_of(&env, order.id).await.refunded_cents, 950);

    // The rest, then nothing more.
    let mut tx = env.pool.begin().await.unwrap();
    let Asked::Requested(rest) =
        refund::ask(&mut tx, &order, Cents(1200), "geste", shop.manager_id)
            .await
            .unwrap()
    else {
        panic!("Stripe refund")
    };
    tx.commit().await.unwrap();
    let mut tx = env.pool.begin().await.unwrap();
    refund::carry_out(&mut tx, &gateway(&env), rest, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let payment = payment_of(&env, order.id).await;
    assert_eq!(
        (payment.status, payment.refunded_cents),
        (PaymentStatus::Refunded, 2150)
    );
    assert_eq!(
        refusal(&env, &order, Cents(1)).await,
        "cette commande est déjà entièrement remboursée"
    );

    // One e-mail per refund, each once however often its message comes.
    let mut keys = std::collections::BTreeSet::new();
    for m in env.outbox("payment.refunded").await {
        let mut conn = env.pool.acquire().await.unwrap();
        for _ in 0..2 {
            for mail in mail::compose::for_event(
                &mut conn,
                &m,
                &ocpizza_tests::mail_links("https://x.example"),
            )
            .await
            .unwrap()
            {
                keys.insert(mail.key);
            }
        }
    }
    assert_eq!(keys.len(), 2, "{keys:?}");
}

#[tokio::test]
async fn stripe_refusing_a_refund_fails_it_with_a_french_reason_and_alerts_the_managers() {
    let (env, shop) = setup().await;
    let order = captured(&env, &shop).await;
    let mut tx = env.pool.begin().await.unwrap();
    let Asked::Requested(id) = refund::ask(&mut tx, &order, Cents(500), "geste", shop.manager_id)
        .await
        .unwrap()
    else {
        panic!("Stripe refund")
    };
    tx.commit().await.unwrap();
    // Stripe no longer knows the payment (an account mix-up, a deleted intent).
    sqlx::query(
        "UPDATE payments SET stripe_payment_intent_id = 'pi_unknown_to_stripe' WHERE order_id = ?",
    )
    .bind(order.id)
    .execute(&env.pool)
    .await
    .unwrap();
    let requested = last(&env, "payment.refund_requested", order.id).await;
    consumer::process(&env.pool, CONSUMER, &worker(&env), &requested)
        .await
        .unwrap();
    let row = refunds(&env, order.id)
        .await
        .into_iter()
        .find(|r| r.id == id)
        .unwrap();
    assert_eq!(row.status, RefundStatus::Failed);
    let reason = row.failure_reason.unwrap();
    assert!(
        reason.starts_with("remboursement refusé — Stripe a refusé la demande (404)"),
        "{reason}"
    );
    let failed = last(&env, "payment.failed", order.id).await;
    let mut conn = env.pool.acquire().await.unwrap();
    let mails = mail::compose::for_event(
        &mut conn,
        &failed,
        &ocpizza_tests::mail_links("https://x.example"),
    )
    .await
    .unwrap();
    assert_eq!(mails.len(), 1, "the managers are alerted");
    assert_eq!(payment_of(&env, order.id).await.refunded_cents, 0);
}

//! Stripe losing replies: the whole stack under supervisord talks to localstripe through
//! [`StripeFaults`], which forwards every call and then drops one reply in five and answers 500
//! to one in twenty, on every kind of call the payments code makes (create, create-and-confirm,
//! retrieve, capture, cancel, refund and the refund look-up). Thirty online orders are paid by
//! three customers at once, then enlarged (re-authorised), cancelled (voided), started
//! (captured) or ended after the start (refunded). Each customer step must succeed: a lost
//! Stripe reply is not the customer's error. Each order's money must end as it should, once,
//! in our tables and at localstripe, counting the PaymentIntents whose creation reply was lost.

use std::time::Duration;

use ocpizza_tests::flow::{
    LOCALSTRIPE, api_customer, move_as_manager, nothing_dead_lettered, place_paid_online_via_api,
    reconcile, stocked,
};
use ocpizza_tests::peers::{Emupos, Maildev};
use ocpizza_tests::shop::Shop;
use ocpizza_tests::stack::Supervised;
use ocpizza_tests::stripe_faults::StripeFaults;
use ocpizza_tests::{TestEnv, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};
use vocab::{EndReason, OrderStatus};

const PATIENCE: Duration = Duration::from_secs(90);

/// What happens to an order after it is paid, by its place in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// The customer adds a pizza (a new authorisation, the old one voided), then it is started.
    Enlarged,
    /// Cancelled by the shop before the kitchen starts it: voided.
    Cancelled,
    /// Started, then ended by the shop: captured, then refunded in full.
    Refunded,
    /// Started: captured.
    Captured,
}

fn fate(i: usize) -> Fate {
    match i % 5 {
        0 => Fate::Enlarged,
        1 => Fate::Cancelled,
        2 => Fate::Refunded,
        _ => Fate::Captured,
    }
}

/// The order's payments: (status, amount, captured, refunded, intent), oldest first.
async fn payments(env: &TestEnv, id: u64) -> Vec<(String, u32, u32, u32, String)> {
    sqlx::query_as(
        "SELECT CAST(status AS CHAR), amount_cents, captured_cents, refunded_cents, stripe_payment_intent_id
         FROM payments WHERE order_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .expect("payments")
}

async fn at_stripe(path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{LOCALSTRIPE}{path}"))
        .basic_auth("sk_test_ocpizza", Some(""))
        .send()
        .await
        .expect("localstripe answers")
        .json()
        .await
        .expect("JSON")
}

async fn wait_for_payment(env: &TestEnv, id: u64, what: &str, status: &str) {
    wait_until(PATIENCE, &format!("order {id}: {what}"), || async move {
        let total = env.order(id).await.total.0;
        payments(env, id)
            .await
            .last()
            .is_some_and(|p| p.0 == status && p.1 == total)
    })
    .await;
}

async fn end_by_shop(env: &TestEnv, shop: &Shop, id: u64) {
    let mut tx = env.pool.begin().await.expect("begin");
    order::transition::end_by_staff(&mut tx, id, EndReason::CustomerRequest, "", shop.manager_id)
        .await
        .expect("staff may end an unfinished order");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn stripe_losing_and_failing_replies_charges_voids_and_refunds_each_order_once() {
    let printers = Emupos::start(2).await;
    let maildev = Maildev::start().await;
    let (env, shop) = stocked((printers.ports[0], printers.ports[1])).await;
    let stripe = StripeFaults::start(LOCALSTRIPE).await;
    let stack = Supervised::start(
        &env,
        &[
            ("STRIPE_API_BASE", &stripe.url()),
            ("SMTP_URL", &maildev.smtp_url()),
        ],
    )
    .await;
    let base = stack.url("");

    // Three customers paying at once; each step of each payment must succeed.
    let mut placing = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let (base, shop) = (base.clone(), shop.clone());
        placing.spawn(async move {
            let customer = api_customer(&base).await;
            let mut ids = Vec::new();
            for _ in 0..10 {
                ids.push(place_paid_online_via_api(&customer, &shop).await);
            }
            ids
        });
    }
    let mut ids: Vec<u64> = placing.join_all().await.concat();
    ids.sort_unstable();
    reconcile(&env, &shop, &ids, &env.amqp_url()).await;

    let customer = api_customer(&base).await;
    for (i, &id) in ids.iter().enumerate() {
        match fate(i) {
            Fate::Enlarged => {
                let r = customer
                    .client
                    .patch(customer.url(&format!("/api/orders/{id}")))
                    .json(&json!({"lines": [{"pizza_id": shop.margherita, "quantity": 2}]}))
                    .send()
                    .await
                    .expect("the API answers");
                assert_eq!(r.status(), StatusCode::OK, "order {id} enlarged");
            }
            Fate::Cancelled => end_by_shop(&env, &shop, id).await,
            Fate::Refunded | Fate::Captured => {
                move_as_manager(&env, &shop, id, OrderStatus::Preparing).await;
            }
        }
    }
    for (i, &id) in ids.iter().enumerate() {
        match fate(i) {
            Fate::Enlarged => {
                wait_for_payment(&env, id, "re-authorised", "authorised").await;
                move_as_manager(&env, &shop, id, OrderStatus::Preparing).await;
            }
            Fate::Refunded => {
                wait_for_payment(&env, id, "captured", "captured").await;
                end_by_shop(&env, &shop, id).await;
            }
            Fate::Cancelled | Fate::Captured => {}
        }
    }

    for (i, &id) in ids.iter().enumerate() {
        let fate = fate(i);
        let total = env.order(id).await.total.0;
        let last = match fate {
            Fate::Cancelled => "voided",
            Fate::Refunded => "refunded",
            Fate::Enlarged | Fate::Captured => "captured",
        };
        wait_until(
            PATIENCE,
            &format!("order {id} ({fate:?}): {last}"),
            || async { payments(&env, id).await.last().is_some_and(|p| p.0 == last) },
        )
        .await;
        let ours = payments(&env, id).await;
        let (status, amount, captured, refunded, intent) = ours.last().expect("a payment");
        match fate {
            Fate::Cancelled => assert_eq!((*captured, *refunded), (0, 0), "order {id}"),
            Fate::Refunded => assert_eq!((*captured, *refunded), (total, total), "order {id}"),
            Fate::Enlarged | Fate::Captured => {
                assert_eq!(
                    (*amount, *captured, *refunded),
                    (total, total, 0),
                    "order {id}"
                );
            }
        }
        // Only the enlarged orders have an earlier payment, voided.
        let earlier: Vec<&str> = ours[..ours.len() - 1]
            .iter()
            .map(|p| p.0.as_str())
            .collect();
        let expected: &[&str] = if fate == Fate::Enlarged {
            &["voided"]
        } else {
            &[]
        };
        assert_eq!(earlier, expected, "order {id} ({fate:?}) ends {status}");

        // At localstripe, every PaymentIntent created for the order, answered or not: ours and
        // no other; at most one ever charged, and never held or charged twice.
        let created = stripe.intents_of(id);
        let recorded: Vec<&str> = ours.iter().map(|p| p.4.as_str()).collect();
        assert_eq!(
            created, recorded,
            "order {id}: the intents localstripe made are the ones we recorded"
        );
        for (n, intent_id) in created.iter().enumerate() {
            let pi = at_stripe(&format!("/v1/payment_intents/{intent_id}")).await;
            let charged = n + 1 == created.len() && fate != Fate::Cancelled;
            let want = if charged { "succeeded" } else { "canceled" };
            assert_eq!(
                pi["status"], want,
                "order {id} ({fate:?}) intent {intent_id}"
            );
            if charged {
                assert_eq!(
                    pi["amount_received"],
                    json!(total),
                    "order {id} captured once"
                );
            }
        }
        let refunds = at_stripe(&format!("/v1/refunds?payment_intent={intent}")).await;
        let refunds = refunds["data"].as_array().expect("a list");
        if fate == Fate::Refunded {
            assert_eq!(refunds.len(), 1, "order {id}: refunded once");
            assert_eq!(refunds[0]["amount"], json!(total));
        } else {
            assert!(refunds.is_empty(), "order {id}: no refund");
        }
    }
    nothing_dead_lettered(&env.amqp_url()).await;

    // Every kind of call met both faults, or this test proved less than it says.
    let calls = stripe.calls();
    for kind in [
        "create",
        "confirm",
        "retrieve",
        "capture",
        "cancel",
        "refund",
        "find_refund",
    ] {
        let tally = calls.get(kind).copied().unwrap_or_default();
        assert!(
            tally.dropped >= 1 && tally.failed >= 1,
            "{kind}: {tally:?} (all calls: {calls:?})"
        );
    }
    assert!(stack.all_running().await);
    println!("Stripe calls through the faults: {calls:?}");
}

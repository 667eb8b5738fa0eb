//! What we claim about safety, measured: many customers racing for the last portions over HTTP
//! with two stock workers competing, and generated inputs thrown at every JSON API endpoint
//! (no 5xx, nothing changed by a refusal). Message decoding is fuzzed in the `messages` crate.

use std::collections::HashMap;
use std::time::Duration;

use ocpizza_tests::browser::Visitor;
use ocpizza_tests::flow::{api_customer, start_workers};
use ocpizza_tests::{TestEnv, wait_until};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::StatusCode;
use serde_json::{Value, json};
use vocab::OrderStatus;

#[tokio::test]
async fn customers_racing_for_the_last_portions_get_exactly_what_the_stock_allows() {
    const PORTIONS: i64 = 7;
    const CUSTOMERS: usize = 40;
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    // Everything plentiful but the ham, which covers exactly PORTIONS reginas.
    let per_regina: i64 = sqlx::query_scalar(
        "SELECT CAST(rl.quantity AS SIGNED) FROM recipe_lines rl JOIN ingredients i ON i.id = rl.ingredient_id
         WHERE rl.pizza_id = ? AND i.code = 'jambon'",
    )
    .bind(shop.regina)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE stock s JOIN ingredients i ON i.id = s.ingredient_id
         SET s.quantity = IF(i.code = 'jambon', ?, 1000000)",
    )
    .bind(per_regina * PORTIONS)
    .execute(&env.pool)
    .await
    .unwrap();
    let app = env.spawn_web().await;

    // The real relay and two stock workers, competing for the same queue.
    let vars: HashMap<String, String> = env.vars_with(&[]);
    let _workers = start_workers(&vars, &["relay", "stock", "stock"]);

    let customer = api_customer(&format!("http://{}", app.address)).await;
    let answers = futures_util::future::join_all((0..CUSTOMERS).map(|i| {
        customer
            .client
            .post(customer.url("/api/orders"))
            .json(&json!({
                "pizzeria": "test",
                "lines": [{"pizza_id": shop.regina, "quantity": 1}],
                "fulfilment": "pickup",
                "payment": "on_site",
                "idempotency_key": format!("race-key-{i:04}"),
            }))
            .send()
    }))
    .await;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for r in answers {
        let r = r.unwrap();
        match r.status() {
            StatusCode::CREATED => {
                let body: Value = r.json().await.unwrap();
                accepted.push(body["order"]["id"].as_u64().unwrap());
            }
            // Refused at the counter when the menu already shows it unavailable: fine, as long
            // as nothing was placed (checked below).
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT => {
                refused.push(r.text().await.unwrap());
            }
            other => panic!("an order answered {other}: {}", r.text().await.unwrap()),
        }
    }
    assert_eq!(
        env.count("orders").await,
        i64::try_from(accepted.len()).unwrap(),
        "every order that got a success reply is in the database, and only those"
    );
    assert!(
        i64::try_from(accepted.len()).unwrap() >= PORTIONS,
        "{refused:?}"
    );

    wait_until(Duration::from_secs(60), "every order decided", || async {
        let undecided: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE status NOT IN ('confirmed', 'rejected')",
        )
        .fetch_one(&env.pool)
        .await
        .unwrap();
        undecided == 0
    })
    .await;
    let mut confirmed = 0;
    for id in &accepted {
        match env.order(*id).await.status {
            OrderStatus::Confirmed => confirmed += 1,
            OrderStatus::Rejected => {}
            other => panic!("order {id} left {other:?}"),
        }
    }
    assert_eq!(confirmed, PORTIONS, "exactly the possible number confirmed");
    assert_eq!(env.stock_of(&shop, "jambon").await, 0, "never below zero");
    let reserved: i64 = sqlx::query_scalar(
        "SELECT CAST(-SUM(l.delta) AS SIGNED) FROM stock_ledger l JOIN ingredients i ON i.id = l.ingredient_id
         WHERE i.code = 'jambon' AND l.reason = 'reservation'",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(reserved, per_regina * PORTIONS, "the ledger agrees");
}

/// Any JSON value, a few levels deep, with the API's own field names among the keys.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        Just(Value::from("test")),
        Just(Value::from("pickup")),
        Just(Value::from("delivery")),
        Just(Value::from("online")),
        Just(Value::from("on_site")),
    ];
    let key = prop_oneof![
        Just("pizzeria".to_owned()),
        Just("lines".to_owned()),
        Just("pizza_id".to_owned()),
        Just("quantity".to_owned()),
        Just("fulfilment".to_owned()),
        Just("payment".to_owned()),
        Just("delivery".to_owned()),
        Just("address_id".to_owned()),
        Just("desired_at".to_owned()),
        Just("idempotency_key".to_owned()),
        Just("email".to_owned()),
        Just("password".to_owned()),
        Just("notes".to_owned()),
        ".{0,10}",
    ];
    leaf.prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid order with one field replaced, removed or added.
fn damaged_order(pizza: u64) -> impl Strategy<Value = Value> {
    let fields = [
        "pizzeria",
        "lines",
        "fulfilment",
        "payment",
        "idempotency_key",
        "desired_at",
        "delivery",
        "address_id",
        "notes",
    ];
    (0..fields.len(), arbitrary_json(), 0..3u8).prop_map(move |(i, value, how)| {
        let mut order = json!({
            "pizzeria": "test",
            "lines": [{"pizza_id": pizza, "quantity": 1}],
            "fulfilment": "pickup",
            "payment": "on_site",
            "idempotency_key": "fuzz-key-0001",
        });
        let map = order.as_object_mut().unwrap();
        match how {
            0 => {
                map.remove(fields[i]);
            }
            1 => {
                map.insert(fields[i].to_owned(), value);
            }
            _ => {
                map.insert(format!("{}_extra", fields[i]), value);
            }
        }
        order
    })
}

fn cases<S: Strategy>(strategy: S, n: usize, runner: &mut TestRunner) -> Vec<S::Value> {
    (0..n)
        .map(|_| strategy.new_tree(runner).unwrap().current())
        .collect()
}

#[tokio::test]
async fn generated_api_inputs_never_get_a_5xx_and_refusals_change_nothing() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let customer = api_customer(&format!("http://{}", app.address)).await;
    let anonymous = Visitor::at(&format!("http://{}", app.address));
    let mut runner = TestRunner::deterministic();

    let mut requests: Vec<(reqwest::Method, String, Value)> = Vec::new();
    for body in cases(damaged_order(shop.margherita), 200, &mut runner) {
        requests.push((reqwest::Method::POST, "/api/orders".into(), body));
    }
    for body in cases(arbitrary_json(), 60, &mut runner) {
        requests.push((reqwest::Method::POST, "/api/orders".into(), body.clone()));
        requests.push((reqwest::Method::POST, "/api/session".into(), body.clone()));
        requests.push((reqwest::Method::POST, "/api/accounts".into(), body.clone()));
        requests.push((reqwest::Method::PATCH, "/api/orders/1".into(), body));
    }
    let paths = cases(
        prop_oneof![
            Just("/api/orders/".to_owned()),
            Just("/api/pizzerias/".to_owned()),
            Just("/commandes/".to_owned()),
        ]
        .prop_flat_map(|p| "[ -~]{0,20}".prop_map(move |tail| format!("{p}{tail}"))),
        60,
        &mut runner,
    );
    for path in paths {
        let path: String = path.chars().filter(|c| *c != '#' && *c != '?').collect();
        requests.push((reqwest::Method::GET, path.clone(), Value::Null));
        requests.push((reqwest::Method::POST, format!("{path}/cancel"), json!({})));
    }

    let orders_before = env.count("orders").await;
    let mut created = 0;
    for (i, (method, path, body)) in requests.iter().enumerate() {
        let who = if i % 5 == 0 { &anonymous } else { &customer };
        let mut request = who.client.request(method.clone(), who.url(path));
        if !body.is_null() {
            request = request.json(body);
        }
        let r = request.send().await.expect("the server answers");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        assert!(
            !status.is_server_error(),
            "{method} {path} {body} → {status}: {text}"
        );
        if status.is_success() && path == "/api/orders" && method == reqwest::Method::POST {
            created += 1;
        }
        if path.starts_with("/api/") && status.is_client_error() {
            let err: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{method} {path}: JSON error, got {text}"));
            assert!(err["error"]["code"].is_string(), "{text}");
        }
    }
    // Only accepted orders exist (a damaged-but-valid body may place one; the same idempotency
    // key replays it).
    let placed = env.count("orders").await - orders_before;
    assert!(placed <= created, "{placed} orders for {created} successes");
    assert!(
        placed <= 1,
        "one idempotency key, at most one order: {placed}"
    );
}

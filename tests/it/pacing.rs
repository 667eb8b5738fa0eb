//! Kitchen pacing against the real database: a slot's last capacity raced by many checkouts
//! (exactly what fits is taken, the others are told the next slot), « dès que possible »
//! promised from the queue and said on the order, the ticket and the API, a cancelled order
//! freeing its place, the manager's capacity changed live, and the slots the API offers.

use chrono::{Duration, Utc};
use ocpizza_tests::TestEnv;
use ocpizza_tests::browser::{Visitor, location};
use ocpizza_tests::flow::api_customer;
use ocpizza_tests::shop::{MANAGER, PASSWORD, Shop};
use order::{NewLine, OrderError, Placed};
use reqwest::StatusCode;
use serde_json::Value;
use vocab::{Actor, Fulfilment, PaymentMode};

async fn setup(per_quarter: u32) -> (TestEnv, Shop) {
    let (env, shop) = TestEnv::with_stocked_shop().await;
    let mut conn = env.pool.acquire().await.unwrap();
    pace::store::set_capacity(
        &mut conn,
        shop.pizzeria_id,
        per_quarter,
        &[],
        60,
        shop.manager_id,
    )
    .await
    .unwrap();
    (env, shop)
}

/// A pickup of `pizzas` Margheritas for « dès que possible », confirmed by the stock worker.
async fn confirmed(env: &TestEnv, shop: &Shop, pizzas: u32) -> order::Order {
    let o = env
        .place(
            shop,
            &[(shop.margherita, pizzas)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let placed = env.outbox_for("order.placed", o.id).await;
    messages::consumer::process(&env.pool, "stock", &workers::stock::StockWorker, &placed)
        .await
        .unwrap();
    env.order(o.id).await
}

/// Pizzas booked per quarter for the shop.
async fn booked(env: &TestEnv, shop: &Shop) -> Vec<(chrono::DateTime<Utc>, i64)> {
    let mut conn = env.pool.acquire().await.unwrap();
    let plan = pace::store::plan(&mut conn, shop.pizzeria_id, Utc::now(), None, false)
        .await
        .unwrap();
    plan.used
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(q, n)| (q, i64::from(n)))
        .collect()
}

#[tokio::test]
async fn checkouts_racing_for_a_slots_last_capacity_take_exactly_what_fits() {
    // Two pizzas a quarter; a slot in three hours can be made in its quarter or the two before.
    let (env, shop) = setup(2).await;
    let slot = pace::quarter_of(Utc::now() + Duration::hours(3));
    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let pool = env.pool.clone();
        let mut new = TestEnv::new_order(
            &shop,
            vec![NewLine::plain(shop.margherita, 2)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        );
        new.desired_at = Some(slot);
        let by = Actor::Customer(shop.customer_id);
        racers.spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            match order::place::place(&mut tx, &new, by, Utc::now()).await {
                Ok(Placed::Created(o)) => {
                    tx.commit().await.unwrap();
                    Ok(o.id)
                }
                Ok(Placed::AlreadyPlaced(_)) => panic!("fresh keys"),
                Err(OrderError::Invalid(m)) => Err(m),
                Err(e) => panic!("no deadlock nor error under contention: {e}"),
            }
        });
    }
    let mut placed = Vec::new();
    let mut refused = Vec::new();
    while let Some(done) = racers.join_next().await {
        match done.unwrap() {
            Ok(id) => placed.push(id),
            Err(m) => refused.push(m),
        }
    }
    assert_eq!(placed.len(), 3, "{refused:?}");
    assert_eq!(refused.len(), 5);
    let next = (slot + pace::QUARTER)
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%H:%M")
        .to_string();
    for m in &refused {
        assert!(
            m.contains("est complet en cuisine : le prochain possible est ") && m.ends_with(&next),
            "{m}"
        );
    }
    let quarters = booked(&env, &shop).await;
    assert_eq!(quarters.len(), 3);
    assert!(
        quarters.iter().all(|(_, n)| *n == 2),
        "never more than the capacity: {quarters:?}"
    );
    assert_eq!(
        env.count("orders").await,
        3,
        "the refused ones left nothing"
    );

    // A cancelled one frees its place: the slot can be taken again.
    let mut tx = env.pool.begin().await.unwrap();
    order::transition::cancel_by_customer(&mut tx, placed[0], shop.customer_id)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut again = TestEnv::new_order(
        &shop,
        vec![NewLine::plain(shop.regina, 2)],
        PaymentMode::OnSite,
        Fulfilment::Pickup,
    );
    again.desired_at = Some(slot);
    let mut tx = env.pool.begin().await.unwrap();
    order::place::place(
        &mut tx,
        &again,
        Actor::Customer(shop.customer_id),
        Utc::now(),
    )
    .await
    .expect("the freed place is taken");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn as_soon_as_possible_is_promised_from_the_queue_and_said_everywhere() {
    let (env, shop) = setup(4).await;
    let first = env
        .place(
            &shop,
            &[(shop.margherita, 2)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let promised = first.promised_at.expect("a promise");
    // An empty kitchen: started now, 10 + 1.5 × 2 minutes (one of the two in the next quarter
    // when this one is nearly gone), rounded up to 5.
    let now = Utc::now();
    assert!(
        promised >= now + Duration::minutes(13) && promised <= now + Duration::minutes(31),
        "{promised} vs {now}"
    );
    // Twelve more pizzas: the queue pushes this one three quarters later at least.
    let crowd = env
        .place(
            &shop,
            &[(shop.margherita, 12)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let late = env
        .place(
            &shop,
            &[(shop.regina, 2)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    assert!(crowd.promised_at.unwrap() > promised);
    assert!(
        late.promised_at.unwrap() >= now + Duration::minutes(45),
        "{:?}",
        late.promised_at
    );
    let quarters = booked(&env, &shop).await;
    assert!(quarters.iter().all(|(_, n)| *n <= 4), "{quarters:?}");

    // Said on the order page, in the API and on the ticket.
    let clock = late
        .promised_at
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%H:%M")
        .to_string();
    let app = env.spawn_web().await;
    let v = api_customer(&format!("http://{}", app.address)).await;
    let body: Value = v
        .client
        .get(v.url(&format!("/api/orders/{}", late.id)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["when"],
        format!("dès que possible, prête vers {clock}"),
        "{body}"
    );
    assert!(body["promised_at"].is_string());
    let ticket = ticket::content::Ticket::for_order(
        &env.order(late.id).await,
        "OC Pizza Test",
        ticket::content::Marks::default(),
        Utc::now(),
    )
    .to_text();
    assert!(
        ticket.contains(&format!("À EMPORTER dès que possible, promise {clock}")),
        "{ticket}"
    );

    // The cart says it before checkout.
    let web = Visitor::new(&app);
    web.add_to_cart(shop.margherita, 1).await;
    let cart = web.page("/panier").await;
    assert!(cart.contains("prête vers "), "{cart}");
}

#[tokio::test]
async fn the_manager_changes_the_kitchens_capacity_live_and_the_slots_follow() {
    let (env, shop) = setup(12).await;
    let app = env.spawn_web().await;
    let manager = Visitor::new(&app);
    manager.log_in(MANAGER, PASSWORD).await;
    let r = manager
        .submit(
            "/equipe/test/cuisine/capacite",
            &[("per_quarter", "0"), ("max_wait", "60")],
        )
        .await;
    let page = manager.page(&location(&r)).await;
    assert!(
        page.contains("Pizzas par quart d&#x27;heure : de 1 à 200")
            || page.contains("Pizzas par quart d'heure : de 1 à 200"),
        "{page}"
    );
    let r = manager
        .submit(
            "/equipe/test/cuisine/capacite",
            &[("per_quarter", "2"), ("max_wait", "30")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = manager.page(&location(&r)).await;
    assert!(
        page.contains("Cuisine : 2 pizzas par quart d&#x27;heure")
            || page.contains("Cuisine : 2 pizzas par quart d'heure"),
        "{page}"
    );

    // Two pizzas a quarter, 7 min 30 s each on the line: three orders of two for `slot` take
    // the three quarters it may be made in; the API says what is left elsewhere, and `slot` is
    // not offered any more.
    let slot = pace::quarter_of(Utc::now() + Duration::hours(2));
    for _ in 0..3 {
        let mut new = TestEnv::new_order(
            &shop,
            vec![NewLine::plain(shop.margherita, 2)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        );
        new.desired_at = Some(slot);
        let mut tx = env.pool.begin().await.unwrap();
        order::place::place(&mut tx, &new, Actor::Customer(shop.customer_id), Utc::now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let v = Visitor::new(&app);
    let offer: Value = v
        .client
        .get(v.url("/api/pizzerias/test/slots?pizzas=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slots = offer["slots"].as_array().unwrap();
    assert!(!slots.is_empty());
    let at = |s: &Value| {
        s["at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .unwrap()
    };
    assert!(
        !slots.iter().any(|s| at(s) == slot),
        "the full slot is not offered"
    );
    assert!(slots.iter().all(|s| s["left"].as_u64().unwrap() <= 2));
    assert!(offer["asap"]["ready_at"].is_string(), "{offer}");

    // The test shop opens 00:00–12:00 and 12:00–00:00: the afternoon gets a figure of its own.
    let page = manager.page("/equipe/test/gestion").await;
    assert!(page.contains("service 12:00–00:00"), "{page}");
    let afternoon = |figure: &'static str| {
        let manager = &manager;
        async move {
            let fields = [
                ("per_quarter", "2"),
                ("max_wait", "30"),
                ("period_0", ""),
                ("period_1", figure),
            ];
            let r = manager
                .submit("/equipe/test/cuisine/capacite", &fields)
                .await;
            manager.page(&location(&r)).await
        }
    };
    let page = afternoon("cinq").await;
    assert!(
        page.contains("Capacité invalide pour le service 12:00–00:00 : un nombre entier."),
        "{page}"
    );
    let page = afternoon("5").await;
    assert!(page.contains("(12:00–00:00 : 5)"), "{page}");
    let mut conn = env.pool.acquire().await.unwrap();
    let kitchen = pace::store::capacity_of(&mut conn, shop.pizzeria_id)
        .await
        .unwrap();
    let paris = |h: u32| {
        use chrono::TimeZone;
        chrono_tz::Europe::Paris
            .with_ymd_and_hms(2026, 12, 4, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    assert_eq!(kitchen.at(paris(11)), 2);
    assert_eq!(kitchen.at(paris(19)), 5);
}

/// A kitchen that falls behind: three « dès que possible » orders nobody starts. Twenty-five
/// minutes on, their promises are at risk on the kitchen's board, then moved (once, however
/// often the round runs), each customer gets one e-mail with the new time, and the order's
/// live stamp moves; an order for a slot hours ahead is left alone.
#[tokio::test]
async fn a_kitchen_falling_behind_moves_promises_and_tells_each_customer_once() {
    let (env, shop) = setup(4).await;
    let mut asap = Vec::new();
    for _ in 0..3 {
        let o = confirmed(&env, &shop, 2).await;
        asap.push(o);
    }
    let mut later = TestEnv::new_order(
        &shop,
        vec![NewLine::plain(shop.margherita, 1)],
        PaymentMode::OnSite,
        Fulfilment::Pickup,
    );
    later.desired_at = Some(pace::quarter_of(Utc::now() + Duration::hours(3)));
    let mut tx = env.pool.begin().await.unwrap();
    let placed = order::place::place(
        &mut tx,
        &later,
        Actor::Customer(shop.customer_id),
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let Placed::Created(later) = placed else {
        panic!("the slot order is placed")
    };
    assert!(
        asap.iter()
            .all(|o| o.status == vocab::OrderStatus::Confirmed)
    );

    let now = Utc::now();
    let mut conn = env.pool.acquire().await.unwrap();
    assert!(
        order::promise::at_risk(&mut conn, shop.pizzeria_id, now)
            .await
            .unwrap()
            .is_empty(),
        "on time when just placed"
    );
    let behind = now + Duration::minutes(25);
    let risky = order::promise::at_risk(&mut conn, shop.pizzeria_id, behind)
        .await
        .unwrap();
    assert_eq!(
        risky.keys().copied().collect::<Vec<_>>(),
        asap.iter().map(|o| o.id).collect::<Vec<_>>()
    );
    drop(conn);

    assert_eq!(order::promise::keep(&env.pool, behind).await.unwrap(), 3);
    assert_eq!(
        order::promise::keep(&env.pool, behind).await.unwrap(),
        0,
        "a promise moves once per slip"
    );
    let moved = env.outbox("order.promise_moved").await;
    assert_eq!(moved.len(), 3);
    for before in &asap {
        let after = env.order(before.id).await;
        let (was, now_promised) = (before.promised_at.unwrap(), after.promised_at.unwrap());
        // Nothing started at +25 min: two pizzas take 7.5 min on a line of 4 a quarter, then
        // ten to bake — the first one now expected near +42 min, the others after it.
        assert!(
            now_promised >= behind + Duration::minutes(15),
            "{now_promised}"
        );
        assert!(now_promised > was + Duration::minutes(10));
        let mut conn = env.pool.acquire().await.unwrap();
        let stamp = order::history::order_stamp(&mut conn, before.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stamp.1, before.version,
            "the customer's change still applies"
        );
        assert_eq!(
            stamp.2,
            Some(now_promised),
            "the live page sees the new time"
        );
        assert!(after.promise_fr().unwrap().starts_with("prête vers "));
    }
    assert_eq!(env.order(later.id).await.promised_at, later.promised_at);

    // The e-mails: one per order, a redelivered message sending nothing more.
    let maildev = ocpizza_tests::peers::Maildev::start().await;
    let notifications = crate::notifications::worker(&maildev);
    for message in moved.iter().chain(moved.iter()) {
        messages::consumer::process(
            &env.pool,
            workers::notifications::CONSUMER,
            &notifications,
            message,
        )
        .await
        .unwrap();
    }
    let emails = maildev.emails().await;
    assert_eq!(emails.len(), 3, "one e-mail per order whose time slipped");
    for o in &asap {
        let after = env.order(o.id).await;
        let new_time = order::place::clock(after.promised_at.unwrap());
        let subject = format!("Commande n°{} : prête vers {new_time}", o.id);
        let email = emails
            .iter()
            .find(|e| e["subject"] == subject.as_str())
            .unwrap_or_else(|| panic!("no e-mail « {subject} »"));
        let text = email["text"].as_str().unwrap();
        assert!(text.contains("a pris du retard"), "{text}");
        assert!(
            text.contains(&format!(
                "au lieu de {}",
                order::place::clock(o.promised_at.unwrap())
            )),
            "{text}"
        );
    }
}

/// The pace is learnt from the shop's own starts and finishes, and the manager sees it with
/// the day's promised against actual times.
#[tokio::test]
async fn the_pace_is_learnt_from_the_kitchens_history_and_the_manager_sees_promises_kept() {
    let (env, shop) = setup(12).await;
    let mut conn = env.pool.acquire().await.unwrap();
    assert_eq!(
        pace::store::pace_of(&mut conn, shop.pizzeria_id)
            .await
            .unwrap(),
        pace::Pace::default(),
        "nothing made yet"
    );
    drop(conn);
    // Eight orders of one to four pizzas, each made in 8 minutes plus 2 a pizza; the first
    // ready 12 minutes after its promise, the others on the dot.
    let start = Utc::now() - Duration::hours(1);
    for i in 0..8_i64 {
        let pizzas = 1 + u32::try_from(i % 4).unwrap();
        let o = confirmed(&env, &shop, pizzas).await;
        for to in [vocab::OrderStatus::Preparing, vocab::OrderStatus::Ready] {
            let mut tx = env.pool.begin().await.unwrap();
            order::transition::move_to(&mut tx, o.id, to, Actor::System, "", None)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let began = start + Duration::minutes(5 * i);
        let ready = began + Duration::seconds(480 + 120 * i64::from(pizzas));
        let promised = if i == 0 {
            ready - Duration::minutes(12)
        } else {
            ready
        };
        for (status, at) in [("preparing", began), ("ready", ready)] {
            sqlx::query("UPDATE order_status_history SET created_at = ? WHERE order_id = ? AND to_status = ?")
                .bind(at)
                .bind(o.id)
                .bind(status)
                .execute(&env.pool)
                .await
                .unwrap();
        }
        sqlx::query("UPDATE orders SET promised_at = ? WHERE id = ?")
            .bind(promised)
            .bind(o.id)
            .execute(&env.pool)
            .await
            .unwrap();
    }
    let mut conn = env.pool.acquire().await.unwrap();
    assert_eq!(
        pace::store::pace_of(&mut conn, shop.pizzeria_id)
            .await
            .unwrap(),
        pace::Pace {
            base_seconds: 480,
            per_pizza_seconds: 120
        }
    );
    drop(conn);

    let app = env.spawn_web().await;
    let manager = Visitor::new(&app);
    manager.log_in(MANAGER, PASSWORD).await;
    let page = manager.page("/equipe/test/gestion").await;
    assert!(
        page.contains(
            "Préparation mesurée : 8 min + 2 min par pizza (d&#x27;après les 8 dernières commandes)"
        ) || page.contains(
            "Préparation mesurée : 8 min + 2 min par pizza (d'après les 8 dernières commandes)"
        ),
        "{page}"
    );
    assert!(
        page.contains("8 commandes terminées : <strong>87 %</strong> à ±5 min de l&#x27;heure promise, 1 en retard de plus de 5 min (retard médian 12 min)")
            || page.contains("8 commandes terminées : <strong>87 %</strong> à ±5 min de l'heure promise, 1 en retard de plus de 5 min (retard médian 12 min)"),
        "{page}"
    );
    assert!(page.contains("+12 min"), "{page}");
}

/// Checkouts at two shops, customers cancelling late orders and the promise keeper moving
/// the same orders, all at once: nobody waits on another shop and nothing deadlocks (the
/// keeper never waits for an order's row while holding a kitchen; the line lives in each
/// shop's own kitchen row).
#[tokio::test]
async fn checkouts_at_two_shops_cancellations_and_the_promise_keeper_run_together() {
    let (env, shop) = setup(20).await;
    catalog::feed::feed(
        &env.pool,
        "pizzeria,autre,OC Pizza Autre,2 rue Autre,75012,Paris,+33 1 11 11 11 11,autre@ocpizza.example,00:00-12:00 12:00-00:00,,delivery pickup
stock,autre,pate,5000,2
stock,autre,tomate,500000,500
stock,autre,mozza,500000,300
stock,autre,jambon,500000,30
"
        .as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    let other_id: u64 = sqlx::query_scalar("SELECT id FROM pizzerias WHERE code = 'autre'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let other = Shop {
        pizzeria_id: other_id,
        ..shop.clone()
    };
    // Late orders at the first shop, for the keeper to move while their customers cancel.
    let mut late = Vec::new();
    for _ in 0..6 {
        late.push(confirmed(&env, &shop, 1).await.id);
    }
    let behind = Utc::now() + Duration::minutes(40);
    let mut all = tokio::task::JoinSet::new();
    for round in 0..3 {
        let pool = env.pool.clone();
        all.spawn(async move {
            order::promise::keep(&pool, behind + Duration::minutes(20 * round))
                .await
                .map(|_| ())
                .map_err(|e| format!("keeper: {e}"))
        });
    }
    for id in late.iter().copied().step_by(2) {
        let (pool, customer) = (env.pool.clone(), shop.customer_id);
        all.spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            order::transition::cancel_by_customer(&mut tx, id, customer)
                .await
                .map_err(|e| format!("cancel {id}: {e}"))?;
            tx.commit().await.map_err(|e| format!("cancel {id}: {e}"))
        });
    }
    for i in 0..10 {
        let at = if i % 2 == 0 { &shop } else { &other };
        let new = TestEnv::new_order(
            at,
            vec![NewLine::plain(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        );
        let (pool, by) = (env.pool.clone(), Actor::Customer(shop.customer_id));
        all.spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            order::place::place(&mut tx, &new, by, Utc::now())
                .await
                .map_err(|e| format!("checkout: {e}"))?;
            tx.commit().await.map_err(|e| format!("checkout: {e}"))
        });
    }
    let mut failed = Vec::new();
    while let Some(done) = all.join_next().await {
        if let Err(e) = done.unwrap() {
            failed.push(e);
        }
    }
    assert!(failed.is_empty(), "{failed:?}");
    let lines: Vec<String> =
        sqlx::query_scalar("SELECT line FROM kitchen_capacity ORDER BY pizzeria_id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    let on_line = |json: &str| -> Vec<u64> {
        serde_json::from_str::<Vec<Value>>(json)
            .unwrap()
            .iter()
            .map(|e| e["order_id"].as_u64().unwrap())
            .collect()
    };
    let (first, second) = (on_line(&lines[0]), on_line(&lines[1]));
    assert_eq!(
        second.len(),
        5,
        "the other shop's five checkouts are on its line"
    );
    for id in late.iter().step_by(2) {
        assert!(!first.contains(id), "a cancelled order left the line");
    }
    assert_eq!(first.len(), 3 + 5);
}

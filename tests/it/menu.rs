//! The menu beyond one size, end to end: a large Regina « sans oignons, extra mozzarella » and a
//! drink ordered through the API, priced by the server, reserved by size and options, printed
//! clearly, given back once; every bad choice refused in French with nothing placed; the race
//! for the last portions of an extra's ingredient; the same choices through the pages; the
//! extended `feed-db` format over an old one.

use messages::consumer;
use ocpizza_tests::TestEnv;
use ocpizza_tests::browser::{Visitor, location};
use ocpizza_tests::flow::api_customer;
use ocpizza_tests::peers::Emupos;
use ocpizza_tests::shop::{MENU_CSV, Shop};
use order::NewLine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use vocab::{Fulfilment, OrderStatus, PaymentMode};
use workers::kitchen::KitchenWorker;
use workers::stock::StockWorker;

async fn setup(printers: &Emupos) -> (TestEnv, Shop, u64) {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(printers.ports[0], printers.ports[1]).await;
    let coca = env.seed_menu().await;
    sqlx::query("UPDATE stock SET quantity = 5000")
        .execute(&env.pool)
        .await
        .unwrap();
    (env, shop, coca)
}

fn kitchen(env: &TestEnv) -> KitchenWorker {
    KitchenWorker {
        pool: env.pool.clone(),
        policy: ticket::Policy {
            attempts: 2,
            first_delay: std::time::Duration::from_millis(50),
            timeouts: ticket::printer::Timeouts {
                connect: std::time::Duration::from_secs(2),
                write: std::time::Duration::from_secs(2),
                confirm: std::time::Duration::from_secs(3),
            },
        },
    }
}

/// The shop's menu as the API lists it, and one product of it by code.
async fn menu_of(v: &Visitor) -> Vec<Value> {
    let menu: Value = v
        .client
        .get(v.url("/api/pizzerias/test/menu"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    menu.as_array().unwrap().clone()
}

fn product<'a>(menu: &'a [Value], key: &str, value: impl Into<Value>) -> &'a Value {
    let value = value.into();
    menu.iter().find(|m| m[key] == value).unwrap()
}

/// Posts an order of `lines` for pickup, paid on site.
async fn post_order(v: &Visitor, lines: Value) -> reqwest::Response {
    v.client
        .post(v.url("/api/orders"))
        .json(&order_body(lines))
        .send()
        .await
        .unwrap()
}

fn order_body(lines: Value) -> Value {
    json!({
        "pizzeria": "test",
        "lines": lines,
        "fulfilment": "pickup",
        "payment": "on_site",
        "idempotency_key": uuid::Uuid::new_v4().simple().to_string(),
    })
}

#[tokio::test]
async fn a_large_pizza_without_onions_with_extra_mozzarella_and_a_drink_go_from_the_api_to_the_ticket_and_the_stock()
 {
    let printers = Emupos::start(2).await;
    let (env, shop, coca) = setup(&printers).await;
    let app = env.spawn_web().await;
    let v = api_customer(&format!("http://{}", app.address)).await;

    // The menu says what can be chosen and what the dish contains.
    let menu = menu_of(&v).await;
    let regina = product(&menu, "code", "regina");
    let sizes: Vec<&str> = regina["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(sizes, ["26 cm", "33 cm", "40 cm"]);
    assert_eq!(regina["price"], "12,00\u{a0}€", "the default size's price");
    assert_eq!(regina["allergens"], json!(["gluten", "milk"]));
    assert_eq!(regina["vegetarian"], false, "ham");
    let groups: Vec<&str> = regina["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["Suppléments", "Base"]);
    let margherita = product(&menu, "code", "margherita");
    assert_eq!(margherita["vegetarian"], true);
    let drink = product(&menu, "code", "coca");
    assert_eq!(
        (drink["category"].as_str(), drink["category_label"].as_str()),
        (Some("drink"), Some("Boissons"))
    );
    assert_eq!(drink["vegan"], true);

    let r = post_order(
        &v,
        json!([
            {"pizza_id": shop.regina, "quantity": 2, "size": "40", "options": ["extra-mozza"],
             "remove": ["oignons"], "notes": "Allergique aux noix"},
            {"pizza_id": coca, "quantity": 1},
        ]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let id = body["order"]["id"].as_u64().unwrap();
    // (16,00 € + 2,20 € for the 40 cm extra) × 2 + 2,50 €: the server's price.
    assert_eq!(body["order"]["total"], "38,90\u{a0}€");
    assert_eq!(
        body["order"]["lines"][0]["detail"],
        "40 cm · Tomate · + Mozzarella · sans Oignons"
    );
    assert_eq!(
        body["order"]["lines"][0]["removed"],
        json!(["sans Oignons"])
    );
    let rates: Vec<(String, String)> = sqlx::query_as(
        "SELECT pizza_name, CAST(vat_rate AS CHAR) FROM order_lines WHERE order_id = ? ORDER BY id",
    )
    .bind(id)
    .fetch_all(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        rates,
        [
            ("Regina".into(), "10".into()),
            ("Coca-Cola 33 cl".into(), "5.5".into())
        ]
    );

    // Reserved by size and options: the 40 cm takes ×1.5 of weights, one dough ball each, no
    // onions, the extra's mozzarella; one can.
    let placed = env.outbox_for("order.placed", id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    assert_eq!(env.order(id).await.status, OrderStatus::Confirmed);
    for (code, used) in [
        ("pate", 2),
        ("tomate", 240),
        ("mozza", 2 * (150 + 75)),
        ("jambon", 180),
        ("oignons", 0),
        ("coca", 1),
    ] {
        assert_eq!(env.stock_of(&shop, code).await, 5000 - used, "{code}");
    }

    // The kitchen's ticket: size, extra, the removal white on black, the allergy, the drink
    // apart.
    let reserved = env.outbox_for("stock.reserved", id).await;
    consumer::process(
        &env.pool,
        workers::kitchen::CONSUMER,
        &kitchen(&env),
        &reserved,
    )
    .await
    .unwrap();
    let receipts = printers.receipts(0).await;
    assert_eq!(receipts.len(), 1);
    let text = &receipts[0];
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing from:\n{text}"))
    };
    assert!(at("2 x Regina - 40 cm") < at("   Base : Tomate"));
    assert!(at("   Base : Tomate") < at("+ Mozzarella"));
    assert!(at("+ Mozzarella") < at("SANS OIGNONS"));
    assert!(at("SANS OIGNONS") < at("!! ALLERGIE !!"));
    assert!(at("!! ALLERGIE !!") < at("> Allergique aux noix"));
    assert!(at("> Allergique aux noix") < at("À JOINDRE :"));
    assert!(at("À JOINDRE :") < at("1 x Coca-Cola 33 cl"));

    // Cancelled before the kitchen starts: everything comes back, once.
    let r = v
        .client
        .post(v.url(&format!("/api/orders/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let cancelled = env.outbox_for("order.cancelled", id).await;
    for _ in 0..2 {
        let mut again = cancelled.clone();
        again.message_id = uuid::Uuid::now_v7();
        consumer::process(&env.pool, "stock", &StockWorker, &again)
            .await
            .unwrap();
    }
    for code in ["pate", "tomate", "mozza", "jambon", "oignons", "coca"] {
        assert_eq!(
            env.stock_of(&shop, code).await,
            5000,
            "{code} given back once"
        );
    }
}

#[tokio::test]
async fn every_bad_choice_is_refused_in_french_and_places_nothing() {
    let printers = Emupos::start(2).await;
    let (env, shop, coca) = setup(&printers).await;
    let app = env.spawn_web().await;
    let v = api_customer(&format!("http://{}", app.address)).await;
    let cases = [
        (
            json!({"pizza_id": shop.margherita, "quantity": 1, "options": ["base-creme"]}),
            "l'option « base-creme » n'est pas proposée pour « Margherita »",
        ),
        (
            json!({"pizza_id": shop.regina, "quantity": 1, "options": ["extra-mozza", "extra-jambon", "extra-piment"]}),
            "« Suppléments » : 2 choix au plus pour « Regina » (3 demandés)",
        ),
        (
            json!({"pizza_id": shop.regina, "quantity": 1, "options": ["base-tomate", "base-creme"]}),
            "« Base » : 1 choix au plus pour « Regina » (2 demandés)",
        ),
        (
            json!({"pizza_id": shop.regina, "quantity": 1, "size": "50"}),
            "la taille « 50 » n'existe pas pour « Regina » (tailles : 26 cm, 33 cm, 40 cm)",
        ),
        (
            json!({"pizza_id": shop.margherita, "quantity": 1, "remove": ["jambon"]}),
            "« jambon » n'est pas dans « Margherita » : rien à retirer",
        ),
        (
            json!({"pizza_id": shop.regina, "quantity": 1, "remove": ["pate"]}),
            "« Pâton » ne peut pas être retiré de « Regina »",
        ),
        (
            json!({"pizza_id": coca, "quantity": 1, "size": "40"}),
            "« Coca-Cola 33 cl » ne se vend qu'en une taille",
        ),
    ];
    for (line, message) in cases {
        let r = post_order(&v, json!([line])).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{line}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["message"], message, "{line}");
    }
    assert_eq!(env.count("orders").await, 0);
    assert_eq!(env.count("order_lines").await, 0);
}

#[tokio::test]
async fn orders_racing_for_the_last_portions_of_an_extra_never_oversell_it() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    env.seed_menu().await;
    sqlx::query("UPDATE stock SET quantity = 5000")
        .execute(&env.pool)
        .await
        .unwrap();
    // 450 g of mozzarella: three Margherita with extra mozzarella (100 + 50 g each).
    sqlx::query("UPDATE stock s JOIN ingredients i ON i.id = s.ingredient_id SET s.quantity = 450 WHERE i.code = 'mozza'")
        .execute(&env.pool)
        .await
        .unwrap();
    let with_extra = NewLine {
        options: vec!["extra-mozza".into()],
        ..NewLine::plain(shop.margherita, 1)
    };
    let mut orders = Vec::new();
    for _ in 0..8 {
        // Each fits at checkout on its own; the reservations decide.
        orders.push(
            env.place_lines(
                &shop,
                vec![with_extra.clone()],
                PaymentMode::OnSite,
                Fulfilment::Pickup,
            )
            .await,
        );
    }
    let mut racers = tokio::task::JoinSet::new();
    for order in &orders {
        let message = env.outbox_for("order.placed", order.id).await;
        let pool = env.pool.clone();
        racers
            .spawn(async move { consumer::process(&pool, "stock", &StockWorker, &message).await });
    }
    while let Some(done) = racers.join_next().await {
        done.unwrap()
            .expect("no deadlock or error under contention");
    }
    let mut confirmed = 0;
    for order in &orders {
        match env.order(order.id).await.status {
            OrderStatus::Confirmed => confirmed += 1,
            OrderStatus::Rejected => {}
            other => panic!("order left {other:?}"),
        }
    }
    assert_eq!(confirmed, 3);
    assert_eq!(env.stock_of(&shop, "mozza").await, 0, "never below zero");
    // The menu now says the extra is out, the pizza too (no mozzarella left at all).
    let mut conn = env.pool.acquire().await.unwrap();
    let menu = catalog::product::menu(&mut conn, shop.pizzeria_id)
        .await
        .unwrap();
    let stock = stock::quantities(&mut conn, shop.pizzeria_id)
        .await
        .unwrap();
    let margherita = menu.iter().find(|p| p.id == shop.margherita).unwrap();
    let a = margherita.availability(&stock);
    assert!(!a.available && !a.options["extra-mozza"]);
    // 100 g back: the pizza sells again, not its extra; other extras do.
    let mut stock = stock;
    let mozza: u64 = sqlx::query_scalar("SELECT id FROM ingredients WHERE code = 'mozza'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    stock.insert(mozza, 100);
    let a = margherita.availability(&stock);
    assert!(a.available && !a.options["extra-mozza"]);
    assert!(a.options["extra-jambon"], "other extras still sell");
}

#[tokio::test]
async fn an_extra_out_of_stock_is_shown_unavailable_while_the_pizza_still_sells() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    env.seed_menu().await;
    sqlx::query("UPDATE stock SET quantity = 5000")
        .execute(&env.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE stock s JOIN ingredients i ON i.id = s.ingredient_id SET s.quantity = 0 WHERE i.code IN ('creme', 'piment')")
        .execute(&env.pool)
        .await
        .unwrap();
    let app = env.spawn_web().await;
    let v = Visitor::new(&app);
    let menu = menu_of(&v).await;
    let regina = product(&menu, "code", "regina");
    assert_eq!(regina["available"], true);
    let option = |code: &str| {
        regina["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["options"].as_array().unwrap())
            .find(|o| o["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(option("base-creme")["available"], false);
    assert_eq!(option("extra-piment")["available"], false);
    assert_eq!(option("extra-mozza")["available"], true);
    let page = v.page("/pizzerias/test").await;
    assert!(page.contains("data-sold-out"), "the page disables it");
    // Ordering it anyway is refused with what is missing.
    let v = api_customer(&format!("http://{}", app.address)).await;
    let r = post_order(
        &v,
        json!([{"pizza_id": shop.regina, "quantity": 1, "options": ["base-creme"]}]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("il ne reste plus assez de Crème"),
        "{body}"
    );
}

#[tokio::test]
async fn the_pages_carry_sizes_options_and_removals_from_the_card_to_the_order() {
    let printers = Emupos::start(2).await;
    let (env, shop, coca) = setup(&printers).await;
    let app = env.spawn_web().await;
    let v = Visitor::new(&app);
    v.log_in(ocpizza_tests::shop::CUSTOMER, ocpizza_tests::shop::PASSWORD)
        .await;
    let page = v.page("/pizzerias/test").await;
    assert!(page.contains("Allergènes : gluten, lait"), "{page}");
    assert!(page.contains("Boissons"), "{page}");
    let regina = shop.regina.to_string();

    // Three extras: refused, back on the card with what was chosen, and why.
    let r = v
        .submit(
            "/panier/ajouter",
            &[
                ("pizzeria", "test"),
                ("pizza_id", &regina),
                ("size", "40"),
                ("option", "extra-mozza"),
                ("option", "extra-jambon"),
                ("option", "extra-piment"),
                ("remove", "oignons"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let back = location(&r);
    assert!(back.starts_with("/pizzerias/test?pizza="), "{back}");
    let page = v.page(&back).await;
    assert!(page.contains("2 choix au plus"), "{page}");
    let card = &page[page.find(&format!("data-pizza=\"{regina}\"")).unwrap()..];
    let card = &card[..card.find("</form>").unwrap()];
    for kept in [
        "value=\"40\" checked",
        "value=\"extra-piment\" checked",
        "value=\"oignons\" checked",
    ] {
        assert!(card.contains(kept), "{kept} not kept: {card}");
    }
    assert_eq!(env.count("orders").await, 0);

    let r = v
        .submit(
            "/panier/ajouter",
            &[
                ("pizzeria", "test"),
                ("pizza_id", &regina),
                ("size", "40"),
                ("option", "extra-mozza"),
                ("group_base", "base-creme"),
                ("remove", "oignons"),
                ("notes", "bien cuite"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/pizzerias/test");
    v.add_to_cart(coca, 2).await;
    let cart = v.page("/panier").await;
    assert!(
        cart.contains("40 cm · Crème · + Mozzarella · sans Oignons"),
        "{cart}"
    );
    // 16,00 + 0,50 (crème) + 2,20 (the 40 cm extra); two cans at 2,50.
    assert!(
        cart.contains("18,70\u{a0}€") && cart.contains("23,70\u{a0}€"),
        "{cart}"
    );
    let key = ocpizza_tests::browser::field_value(&cart, "idempotency_key").unwrap();
    let r = v
        .submit(
            "/commander",
            &[
                ("idempotency_key", key.as_str()),
                ("fulfilment", "pickup"),
                ("when", "asap"),
                ("payment", "on_site"),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let id: u64 = location(&r)
        .trim_start_matches("/commandes/")
        .parse()
        .unwrap();
    let o = env.order(id).await;
    assert_eq!(o.total.0, 1870 + 500);
    let line = &o.lines[0];
    assert_eq!(
        (line.size_name.as_deref(), line.notes.as_str()),
        (Some("40 cm"), "bien cuite")
    );
    assert_eq!(
        line.detail_fr(),
        "40 cm · Crème · + Mozzarella · sans Oignons"
    );
    let page = v.page(&format!("/commandes/{id}")).await;
    assert!(
        page.contains("40 cm · Crème · + Mozzarella · sans Oignons"),
        "{page}"
    );

    // Changing the quantity keeps the choices; « commander à nouveau » brings them back.
    let r = v
        .submit(
            &format!("/commandes/{id}/modifier"),
            &[("version", &o.version.to_string()), ("qty_line_0", "2")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let changed = env.order(id).await;
    assert_eq!(changed.lines[0].quantity, 2);
    assert_eq!(changed.lines[0].detail_fr(), line.detail_fr());
    assert_eq!(changed.total.0, 2 * 1870 + 500);
}

#[tokio::test]
async fn the_extended_format_loads_twice_the_same_and_an_old_file_keeps_what_it_does_not_say() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    env.seed_menu().await;
    let counts = |env: &TestEnv| {
        let pool = env.pool.clone();
        async move {
            let mut all = Vec::new();
            for table in [
                "sizes",
                "pizza_sizes",
                "recipe_size_quantities",
                "option_groups",
                "options",
                "option_prices",
                "pizza_option_groups",
                "recipe_lines",
                "pizzas",
                "ingredients",
            ] {
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM {table}"
                )))
                .fetch_one(&pool)
                .await
                .unwrap();
                all.push((table, n));
            }
            all
        }
    };
    let first = counts(&env).await;
    assert!(
        first.contains(&("pizza_option_groups", 3)),
        "two pizzas with extras, one base: {first:?}"
    );
    env.seed_menu().await;
    assert_eq!(counts(&env).await, first);
    // The old-format shop file again: allergens, sizes and options stay.
    env.seed_shop(9, 9).await;
    let mut conn = env.pool.acquire().await.unwrap();
    let menu = catalog::product::menu(&mut conn, shop.pizzeria_id)
        .await
        .unwrap();
    let regina = menu.iter().find(|p| p.id == shop.regina).unwrap();
    assert_eq!(regina.facts().allergens.label_fr(), "gluten, lait");
    assert_eq!(regina.sizes.len(), 3);
    // The old file lists the Regina's recipe without onions: that is its recipe now.
    assert!(!regina.recipe.iter().any(|i| i.code == "oignons"));
    assert!(MENU_CSV.contains("recipe_line,regina,oignons"));
}

/// The admin's menu screen: sizes, a group and its options, a product's sizes and groups, a
/// drink, an ingredient's allergens; each mistake comes back in French and changes nothing.
#[tokio::test]
async fn the_admin_builds_sizes_options_and_products_and_a_mistake_changes_nothing() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    catalog::feed::feed(
        &env.pool,
        format!(
            "staff,admin@test.example,Anne Admin,admin,,{}\n",
            ocpizza_tests::shop::PASSWORD
        )
        .as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    sqlx::query("UPDATE stock SET quantity = 5000")
        .execute(&env.pool)
        .await
        .unwrap();
    let app = env.spawn_web().await;
    let admin = Visitor::new(&app);
    admin
        .log_in("admin@test.example", ocpizza_tests::shop::PASSWORD)
        .await;
    let told = async |r: reqwest::Response| {
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let back = admin.get(&location(&r)).await;
        let status = back.status();
        let page = back.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{page}");
        page
    };
    let page = told(
        admin
            .submit(
                "/admin/menu/tailles",
                &[("code", "40"), ("name", "40 cm"), ("factor_pct", "150")],
            )
            .await,
    )
    .await;
    assert!(page.contains("Taille ajoutée."), "{page}");
    told(
        admin
            .submit(
                "/admin/menu/tailles",
                &[("code", "33"), ("name", "33 cm"), ("factor_pct", "100")],
            )
            .await,
    )
    .await;
    let page = told(
        admin
            .submit(
                "/admin/menu/tailles",
                &[("code", "50"), ("name", "50 cm"), ("factor_pct", "900")],
            )
            .await,
    )
    .await;
    assert!(
        page.contains("Coefficient (en % de la recette) : un nombre entier de 10 à 500"),
        "{page}"
    );
    assert_eq!(env.count("sizes").await, 2);
    let size = |code: &'static str| {
        let pool = env.pool.clone();
        async move {
            sqlx::query_scalar::<_, u64>("SELECT id FROM sizes WHERE code = ?")
                .bind(code)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (s33, s40) = (size("33").await, size("40").await);

    let page = told(
        admin
            .submit(
                "/admin/menu/groupes",
                &[
                    ("code", "supplements"),
                    ("name", "Suppléments"),
                    ("min", "3"),
                    ("max", "2"),
                ],
            )
            .await,
    )
    .await;
    assert!(page.contains("le minimum dépasse le maximum"), "{page}");
    assert_eq!(env.count("option_groups").await, 0);
    told(
        admin
            .submit(
                "/admin/menu/groupes",
                &[
                    ("code", "supplements"),
                    ("name", "Suppléments"),
                    ("min", "0"),
                    ("max", "2"),
                ],
            )
            .await,
    )
    .await;
    let group: u64 = sqlx::query_scalar("SELECT id FROM option_groups")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let mozza: u64 = sqlx::query_scalar("SELECT id FROM ingredients WHERE code = 'mozza'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let (group_s, mozza_s, s40_price) =
        (group.to_string(), mozza.to_string(), format!("price_{s40}"));
    let page = told(
        admin
            .submit(
                "/admin/menu/options",
                &[
                    ("group_id", &group_s),
                    ("code", "extra-mozza"),
                    ("name", "Mozzarella"),
                    ("ingredient_id", ""),
                    ("quantity", "50"),
                    ("price", "1,50"),
                ],
            )
            .await,
    )
    .await;
    assert!(page.contains("Une quantité sans ingrédient"), "{page}");
    assert_eq!(env.count("options").await, 0);
    told(
        admin
            .submit(
                "/admin/menu/options",
                &[
                    ("group_id", &group_s),
                    ("code", "extra-mozza"),
                    ("name", "Mozzarella"),
                    ("ingredient_id", &mozza_s),
                    ("quantity", "50"),
                    ("price", "1,50"),
                    (&s40_price, "2,20"),
                ],
            )
            .await,
    )
    .await;

    // The Regina in 33 and 40 cm with the extras; a bad price changes nothing.
    let product_page = format!("/admin/menu/produits/{}", shop.regina);
    let (f33, f40, group_field) = (
        format!("size_{s33}"),
        format!("size_{s40}"),
        group.to_string(),
    );
    let page = told(
        admin
            .submit(
                &product_page,
                &[
                    ("category", "pizza"),
                    (&f33, "12"),
                    (&f40, "seize"),
                    ("group", &group_field),
                ],
            )
            .await,
    )
    .await;
    assert!(page.contains("Prix invalide"), "{page}");
    assert_eq!(env.count("pizza_sizes").await, 0);
    let page = told(
        admin
            .submit(
                &product_page,
                &[
                    ("category", "pizza"),
                    (&f33, "12"),
                    (&f40, "16"),
                    ("group", &group_field),
                ],
            )
            .await,
    )
    .await;
    assert!(page.contains("Produit enregistré."), "{page}");

    // A drink, and the mozzarella's allergen.
    let page = told(
        admin
            .submit(
                "/admin/menu/produits",
                &[
                    ("name", "Limonade"),
                    ("price", "3,20"),
                    ("category", "drink"),
                    ("vat_rate", "5.5"),
                    ("diet", "vegan"),
                ],
            )
            .await,
    )
    .await;
    assert!(page.contains("Produit ajouté"), "{page}");
    let page = told(
        admin
            .submit(
                &format!("/admin/menu/ingredients/{mozza}"),
                &[("allergen", "milk"), ("diet", "vegetarian")],
            )
            .await,
    )
    .await;
    assert!(page.contains("Ingrédient enregistré."), "{page}");
    let page = told(
        admin
            .submit(
                &format!("/admin/menu/ingredients/{mozza}"),
                &[("allergen", "lactose"), ("diet", "vegetarian")],
            )
            .await,
    )
    .await;
    assert!(page.contains("Allergène inconnu : lactose"), "{page}");

    let v = Visitor::new(&app);
    let menu = menu_of(&v).await;
    let regina = product(&menu, "pizza_id", shop.regina);
    let prices: Vec<u64> = regina["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["price_cents"].as_u64().unwrap())
        .collect();
    assert_eq!(prices, [1200, 1600]);
    let extra = &regina["groups"][0]["options"][0];
    assert_eq!(
        (extra["code"].as_str(), extra["prices"]["40"].as_u64()),
        (Some("extra-mozza"), Some(220))
    );
    assert_eq!(regina["allergens"], json!(["milk"]));
    let drink = product(&menu, "name", "Limonade");
    assert_eq!(
        (drink["category"].as_str(), drink["available"].as_bool()),
        (Some("drink"), Some(false)),
        "no stock of it yet"
    );
    let page = admin.page("/admin/menu").await;
    assert!(
        page.contains("Mozzarella") && page.contains("40 cm"),
        "{page}"
    );
}

/// A phone order taken at the counter carries a size, options and a removal like a web one.
#[tokio::test]
async fn the_counter_takes_a_phone_order_with_a_size_options_and_a_removal() {
    let printers = Emupos::start(2).await;
    let (env, shop, _) = setup(&printers).await;
    catalog::feed::feed(
        &env.pool,
        format!(
            "staff,accueil@test.example,Anne Accueil,counter,test,{}\n",
            ocpizza_tests::shop::PASSWORD
        )
        .as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    let app = env.spawn_web().await;
    let desk = Visitor::new(&app);
    desk.log_in("accueil@test.example", ocpizza_tests::shop::PASSWORD)
        .await;
    let page = desk.page("/equipe/test/comptoir").await;
    assert!(
        page.contains(&format!("name=\"size_{}\"", shop.regina)),
        "{page}"
    );
    let key = ocpizza_tests::browser::field_value(&page, "idempotency_key").unwrap();
    let r = shop.regina;
    let (qty, size, extra, base, sans) = (
        format!("qty_{r}"),
        format!("size_{r}"),
        format!("opt_{r}_extra-jambon"),
        format!("group_{r}_base"),
        format!("sans_{r}_oignons"),
    );
    let fields = [
        ("idempotency_key", key.as_str()),
        ("channel", "phone"),
        ("customer_name", "Marc Téléphone"),
        ("customer_phone", "06 98 76 54 32"),
        (qty.as_str(), "1"),
        (size.as_str(), "26"),
        (extra.as_str(), "1"),
        (base.as_str(), "base-creme"),
        (sans.as_str(), "1"),
        ("fulfilment", "pickup"),
        ("when", "asap"),
    ];
    let r = desk.submit("/equipe/test/comptoir", &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let id: u64 = sqlx::query_scalar("SELECT id FROM orders")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let o = env.order(id).await;
    assert_eq!(
        o.lines[0].detail_fr(),
        "26 cm · Crème · + Jambon · sans Oignons"
    );
    // 9,00 € the 26 cm, 0,50 € the cream, 2,00 € the ham.
    assert_eq!(o.total.0, 900 + 50 + 200);
}

/// « Filtrer la carte »: a diet or an allergen left out hides what does not fit, and says how
/// many are hidden; the refresh keeps the filter.
#[tokio::test]
async fn the_menu_filters_by_diet_and_allergen() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    env.seed_menu().await;
    let app = env.spawn_web().await;
    let v = Visitor::new(&app);
    let shown = |page: &str, name: &str| page.contains(&format!("<strong>{name}</strong>"));
    let all = v.page("/pizzerias/test").await;
    assert!(shown(&all, "Regina") && shown(&all, "Margherita") && shown(&all, "Coca-Cola 33 cl"));
    let veggie = v.page("/pizzerias/test?regime=vegetarien").await;
    assert!(
        shown(&veggie, "Margherita") && !shown(&veggie, "Regina"),
        "{veggie}"
    );
    assert!(
        veggie.contains("1 produit masqué par vos filtres."),
        "{veggie}"
    );
    assert!(
        veggie.contains("data-refresh=\"/pizzerias/test/carte?regime=vegetarien\""),
        "{veggie}"
    );
    let no_milk = v.page("/pizzerias/test/carte?sans=milk").await;
    assert!(
        !shown(&no_milk, "Margherita")
            && !shown(&no_milk, "Regina")
            && shown(&no_milk, "Coca-Cola 33 cl"),
        "{no_milk}"
    );
    let vegan = v.page("/pizzerias/test?regime=vegan&sans=gluten").await;
    assert!(
        shown(&vegan, "Coca-Cola 33 cl") && !shown(&vegan, "Margherita"),
        "{vegan}"
    );
}

/// The Z report counts what was sold by category, at each product's VAT rate.
#[tokio::test]
async fn the_z_report_counts_pizzas_and_drinks_apart_at_their_rates() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let coca = env.seed_menu().await;
    sqlx::query("UPDATE stock SET quantity = 5000")
        .execute(&env.pool)
        .await
        .unwrap();
    let large = NewLine {
        size: Some("40".into()),
        options: vec!["extra-mozza".into()],
        ..NewLine::plain(shop.regina, 1)
    };
    let o = env
        .place_lines(
            &shop,
            vec![large, NewLine::plain(coca, 2)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let placed = env.outbox_for("order.placed", o.id).await;
    consumer::process(&env.pool, "stock", &StockWorker, &placed)
        .await
        .unwrap();
    for to in [
        OrderStatus::Preparing,
        OrderStatus::Ready,
        OrderStatus::PickedUp,
    ] {
        ocpizza_tests::flow::move_as_manager(&env, &shop, o.id, to).await;
    }
    let mut conn = env.pool.acquire().await.unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let z = report::z::for_day(&mut conn, shop.pizzeria_id, today)
        .await
        .unwrap();
    let by: Vec<(vocab::Category, i64, u32)> = z
        .by_category
        .iter()
        .map(|c| (c.category, c.items, c.gross.0))
        .collect();
    assert_eq!(
        by,
        [
            (vocab::Category::Pizza, 1, 1600 + 220),
            (vocab::Category::Drink, 2, 500)
        ]
    );
    let rates: Vec<(vocab::VatRate, u32)> = z.sales.iter().map(|l| (l.rate, l.gross.0)).collect();
    assert_eq!(
        rates,
        [
            (vocab::VatRate::Reduced, 500),
            (vocab::VatRate::Intermediate, 1820)
        ]
    );
    let csv = z.to_csv("OC Pizza Test").unwrap();
    assert!(csv.contains("ventes;dont boissons;2;5,00;;"), "{csv}");
}

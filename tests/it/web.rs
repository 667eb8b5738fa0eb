//! The customer's web pages and JSON API against a real server, MariaDB and localstripe: the
//! menu with availability, accounts and sessions, CSRF, login throttling, checkout with its
//! idempotency key, the authorisation boundary, cancel and modify rules, online payment (return
//! page and webhook), live updates and the API's error format.

use ocpizza_tests::browser::field_value;
use ocpizza_tests::browser::{EventStream, Visitor, location};
use ocpizza_tests::shop::{CUSTOMER, PASSWORD, Shop};
use ocpizza_tests::{TestApp, TestEnv};
use order::transition;
use reqwest::StatusCode;
use serde_json::{Value, json};
use stripe_webhook::Webhook;
use vocab::{Actor, Fulfilment, OrderStatus, PaymentMode};

const LOCALSTRIPE: &str = "http://127.0.0.1:8420";
const WEBHOOK_SECRET: &str = "whsec_ocpizza_test";

async fn setup() -> (TestEnv, Shop, TestApp) {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    (env, shop, app)
}

/// The seeded customer, logged in.
async fn customer(app: &TestApp) -> Visitor {
    let v = Visitor::new(app);
    let r = v.log_in(CUSTOMER, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the customer logs in");
    v
}

/// Another customer, signed up and logged in through the pages.
async fn stranger(app: &TestApp) -> Visitor {
    let v = Visitor::new(app);
    v.sign_up("Sam Autre", "autre@test.example", "une-pizza-bien-cuite")
        .await;
    let r = v.log_in("autre@test.example", "une-pizza-bien-cuite").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    v
}

async fn add(v: &Visitor, pizza_id: u64, quantity: u32) {
    v.add_to_cart(pizza_id, quantity).await;
}

/// Submits the checkout form as the cart page renders it, with these choices.
async fn checkout(v: &Visitor, fields: &[(&str, &str)]) -> reqwest::Response {
    let cart = v.page("/panier").await;
    let key = field_value(&cart, "idempotency_key").expect("the cart carries a key");
    let mut all = vec![("idempotency_key", key.as_str())];
    all.extend_from_slice(fields);
    v.submit("/commander", &all).await
}

/// The order id a redirect to `/commandes/{id}[/…]` names.
fn order_id_of(r: &reqwest::Response) -> u64 {
    location(r)
        .trim_start_matches("/commandes/")
        .split('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirect to an order, got {:?}", location(r)))
}

async fn flash_after(v: &Visitor, r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    v.page(&location(&r)).await
}

async fn move_to(env: &TestEnv, shop: &Shop, id: u64, to: OrderStatus) {
    let mut tx = env.pool.begin().await.unwrap();
    transition::move_to(&mut tx, id, to, Actor::Staff(shop.manager_id), "", None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

fn set_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ocpizza_session="))
        .unwrap_or_default()
        .to_owned()
}

fn session_id(cookie: &str) -> String {
    cookie
        .trim_start_matches("ocpizza_session=")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A client that sends only the cookie given (no jar), for replaying an old session.
async fn get_with_cookie(app: &TestApp, path: &str, id: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(path))
        .header("cookie", format!("ocpizza_session={id}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_menu_shows_unavailable_pizzas_as_such() {
    let (env, shop, app) = setup().await;
    sqlx::query("UPDATE stock s JOIN ingredients i ON i.id = s.ingredient_id SET s.quantity = 59 WHERE i.code = 'jambon'")
        .execute(&env.pool)
        .await
        .unwrap();
    let v = Visitor::new(&app);

    let home = v.page("/").await;
    assert!(
        home.contains("OC Pizza Test"),
        "the list names the pizzeria"
    );
    let page = v.page("/pizzerias/test").await;
    assert!(page.contains("1 rue du Test") && page.contains("00:00–12:00"));
    assert!(
        page.contains("9,50\u{a0}€") && page.contains("12,00\u{a0}€"),
        "{page}"
    );
    let regina = page
        .split("data-pizza=\"")
        .find(|s| s.starts_with(&format!("{}\"", shop.regina)))
        .expect("the regina is listed, not hidden");
    assert!(regina.contains("Indisponible") && regina.contains("disabled"));
    let margherita = page
        .split("data-pizza=\"")
        .find(|s| s.starts_with(&format!("{}\"", shop.margherita)))
        .unwrap();
    assert!(!margherita.contains("Indisponible"));

    // The fragment the page refreshes follows the stock.
    sqlx::query("UPDATE stock s JOIN ingredients i ON i.id = s.ingredient_id SET s.quantity = 600 WHERE i.code = 'jambon'")
        .execute(&env.pool)
        .await
        .unwrap();
    let fragment = v.page("/pizzerias/test/carte").await;
    assert!(!fragment.contains("Indisponible"));

    let menu: Vec<Value> = app
        .client
        .get(app.url("/api/pizzerias/test/menu"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(menu.len(), 2);
    assert!(menu.iter().all(|m| m["available"] == true));
    assert_eq!(
        v.get("/pizzerias/nowhere").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn sign_up_log_in_and_log_out_with_safe_session_cookies() {
    let (env, _shop, app) = setup().await;
    let v = Visitor::new(&app);

    // Password rules: too short is refused and nothing is created.
    let short = v
        .submit(
            "/inscription",
            &[
                ("full_name", "Nina"),
                ("email", "nina@test.example"),
                ("password", "court"),
            ],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().await.unwrap().contains("mot de passe"));
    let users = env.count("users").await;

    // Signing up logs the new customer in and queues the welcome e-mail.
    v.sign_up("Nina Nouvelle", "nina@test.example", "pizza-au-feu-de-bois")
        .await;
    assert_eq!(env.count("users").await, users + 1);
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'nina@test.example'")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(hash.starts_with("$argon2id$"), "Argon2id, got {hash}");
    let home = v.page("/").await;
    assert!(
        home.contains("Votre compte est créé et vous êtes connecté"),
        "{home}"
    );
    assert!(v.page("/compte").await.contains("Nina Nouvelle"));
    let welcome = env.outbox("account.password_link_requested").await;
    assert_eq!(welcome.len(), 1);
    assert!(matches!(
        &welcome[0].event,
        messages::Event::PasswordLinkRequested(e) if e.purpose == messages::event::LinkPurpose::Welcome
    ));
    let out = v.submit("/deconnexion", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);

    // A taken address: nobody is logged in, nothing is created, and the address gets a link
    // (the answer says so: see docs/web.md on why sign-up may tell).
    let again = Visitor::new(&app);
    let r = again
        .submit(
            "/inscription",
            &[
                ("full_name", "Quelqu'un"),
                ("email", "nina@test.example"),
                ("password", "autre-mot-de-passe"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/connexion");
    assert!(
        again
            .page("/connexion")
            .await
            .contains("Cette adresse a déjà un compte")
    );
    assert_eq!(again.get("/compte").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(env.count("users").await, users + 1);
    assert_eq!(env.outbox("account.password_link_requested").await.len(), 2);

    // A visitor who had a session before logging in gets a new id on login.
    let before = v.get("/").await;
    let anonymous = set_cookie(&before);
    let r = v.log_in("nina@test.example", "pizza-au-feu-de-bois").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&r);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "not Secure outside production");
    let logged_in = session_id(&cookie);
    assert!(!logged_in.is_empty());
    if !anonymous.is_empty() {
        assert_ne!(session_id(&anonymous), logged_in, "a new id on login");
    }
    let profile = v.page("/compte").await;
    assert!(profile.contains("Nina Nouvelle"));

    // Saved delivery addresses.
    let r = v
        .submit(
            "/compte/adresses",
            &[
                ("label", "Maison"),
                ("street", "5 rue des Lilas"),
                ("postal_code", "75011"),
                ("city", "Paris"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(v.page("/compte").await.contains("5 rue des Lilas"));
    let saved = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM addresses a JOIN users u ON u.id = a.user_id WHERE u.email = 'nina@test.example'",
        )
        .fetch_one(&env.pool)
    };
    assert_eq!(saved().await.unwrap(), 1);
    let bad = v
        .submit(
            "/compte/adresses",
            &[("street", "x"), ("postal_code", "ABCDE"), ("city", "Paris")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(saved().await.unwrap(), 1);

    // Logout deletes the session: the old id no longer opens the account.
    let out = v.submit("/deconnexion", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let replay = get_with_cookie(&app, "/compte", &logged_in).await;
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/connexion");
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions WHERE id = ?")
            .bind(&logged_in)
            .fetch_one(&env.pool)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn production_cookies_are_secure() {
    let env = TestEnv::new().await;
    let settings = env.settings_with(&[
        ("ENV", "production"),
        (
            "SECRET_KEY",
            "a-production-secret-key-that-is-long-enough-0123456789",
        ),
        ("PUBLIC_URL", "https://commande.ocpizza.test/"),
        ("STRIPE_SECRET_KEY", "sk_live_ocpizza_test"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_live_ocpizza_test"),
        ("STRIPE_API_BASE", "https://api.stripe.com"),
    ]);
    let app = env.spawn_web_with(settings, env.pool.clone()).await;
    env.seed_shop(9, 9).await;
    let v = Visitor::new(&app);
    let r = v.get("/connexion").await;
    let csrf = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ocpizza_csrf="))
        .unwrap_or_default()
        .to_owned();
    assert!(
        csrf.contains("Secure") && csrf.contains("HttpOnly"),
        "{csrf}"
    );
    let r = v
        .client
        .post(app.url("/api/session"))
        .json(&json!({"email": CUSTOMER, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = set_cookie(&r);
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let (env, _shop, app) = setup().await;
    let v = Visitor::new(&app);
    let token = v.csrf().await;
    let users = env.count("users").await;
    let fields = [
        ("full_name", "Eve"),
        ("email", "eve@test.example"),
        ("password", "mot-de-passe-eve"),
    ];
    let missing = v
        .client
        .post(v.url("/inscription"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let mut wrong = fields.to_vec();
    wrong.push((
        "csrf",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ));
    let wrong = v
        .client
        .post(v.url("/inscription"))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    // Another visitor's valid token is worth nothing in this session.
    let other = Visitor::new(&app);
    let mut foreign = fields.to_vec();
    foreign.push(("csrf", token.as_str()));
    let foreign = other
        .client
        .post(other.url("/inscription"))
        .form(&foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(env.count("users").await, users);

    // A cross-site form aimed at the API (form content type, empty body) is refused too.
    let c = customer(&app).await;
    let form_post = c
        .client
        .post(c.url("/api/orders"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(form_post.status(), StatusCode::BAD_REQUEST);
    assert_eq!(env.count("orders").await, 0);
}

#[tokio::test]
async fn login_failures_say_the_same_thing_and_are_rate_limited() {
    let (_env, _shop, app) = setup().await;
    let v = Visitor::new(&app);
    let unknown = v
        .log_in("personne@test.example", "mauvais-mot-de-passe")
        .await;
    let wrong = v.log_in(CUSTOMER, "mauvais-mot-de-passe").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (a, b) = (unknown.text().await.unwrap(), wrong.text().await.unwrap());
    let message = "adresse e-mail ou mot de passe incorrect";
    assert!(a.contains(message) && b.contains(message));

    for _ in 0..9 {
        v.log_in(CUSTOMER, "mauvais-mot-de-passe").await;
    }
    // Ten failures in a minute from a browser that never logged in: even the right password
    // waits (a known device gets past it: see security::login_limits_slow_the_guesser_not_the_owner).
    let limited = v.log_in(CUSTOMER, PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.text().await.unwrap().contains("trop de tentatives"));
    let api = app
        .client
        .post(app.url("/api/session"))
        .json(&json!({"email": CUSTOMER, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
}

#[tokio::test]
async fn a_double_submitted_checkout_places_one_order_priced_by_the_server() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    add(&v, shop.margherita, 2).await;
    add(&v, shop.regina, 1).await;
    let cart = v.page("/panier").await;
    assert!(cart.contains("31,00\u{a0}€"), "2 × 9,50 + 12,00");
    let key = field_value(&cart, "idempotency_key").unwrap();
    let fields = [
        ("idempotency_key", key.as_str()),
        ("fulfilment", "delivery"),
        ("address_id", "new"),
        ("street", "8 rue de la Roquette"),
        ("postal_code", "75011"),
        ("city", "Paris"),
        ("instructions", "Interphone 12"),
        ("when", "asap"),
        ("payment", "on_site"),
        ("notes", "Bien cuite"),
    ];
    let first = v.submit("/commander", &fields).await;
    let id = order_id_of(&first);
    assert_eq!(location(&first), format!("/commandes/{id}"));
    let second = v.submit("/commander", &fields).await;
    assert_eq!(
        location(&second),
        format!("/commandes/{id}"),
        "the same order"
    );
    assert_eq!(env.count("orders").await, 1);

    let order = env.order(id).await;
    assert_eq!(order.total.0, 3100);
    assert_eq!(order.status, OrderStatus::Placed);
    assert_eq!(
        order.delivery.as_ref().unwrap().instructions,
        "Interphone 12"
    );
    assert_eq!(order.notes, "Bien cuite");
    env.outbox_for("order.placed", id).await;

    let page = v.page(&format!("/commandes/{id}")).await;
    assert!(page.contains("31,00\u{a0}€") && page.contains("8 rue de la Roquette"));
    assert!(v.page("/commandes").await.contains(&format!("n°{id}")));
    assert!(
        !v.page("/panier").await.contains("Margherita"),
        "the cart is emptied"
    );
}

#[tokio::test]
async fn checkout_refuses_what_the_shop_cannot_do_and_places_nothing() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    add(&v, shop.regina, 2).await; // 120 g of ham, 60 in stock
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("fulfilment", "pickup"), ("when", "asap")], "Regina"),
        (
            &[
                ("fulfilment", "pickup"),
                ("when", "slot"),
                ("slot", "demain"),
            ],
            "créneau invalide",
        ),
        (
            &[
                ("fulfilment", "delivery"),
                ("address_id", "new"),
                ("when", "asap"),
            ],
            "adresse",
        ),
    ];
    for (choices, message) in cases {
        let mut fields = choices.to_vec();
        fields.push(("payment", "on_site"));
        let r = checkout(&v, &fields).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{choices:?}");
        let page = r.text().await.unwrap();
        assert!(page.contains(message), "{choices:?}: {page}");
    }
    assert_eq!(env.count("orders").await, 0);
    assert_eq!(env.count("outbox").await, 0);
}

#[tokio::test]
async fn a_customer_sees_and_touches_only_their_own_orders() {
    let (env, shop, app) = setup().await;
    let mine = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let other = stranger(&app).await;
    for path in [
        format!("/commandes/{}", mine.id),
        format!("/commandes/{}/flux", mine.id),
        format!("/commandes/{}/paiement", mine.id),
        "/commandes/999999".to_owned(),
    ] {
        assert_eq!(
            other.get(&path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let cancel = other
        .submit(&format!("/commandes/{}/annuler", mine.id), &[])
        .await;
    assert_eq!(cancel.status(), StatusCode::NOT_FOUND);
    let modify = other
        .submit(
            &format!("/commandes/{}/modifier", mine.id),
            &[(&format!("qty_{}", shop.margherita), "5")],
        )
        .await;
    assert_eq!(modify.status(), StatusCode::NOT_FOUND);

    let api = |method: reqwest::Method, path: String| {
        other
            .client
            .request(method, other.url(&path))
            .header("content-type", "application/json")
            .body("{}")
    };
    for (method, path) in [
        (reqwest::Method::GET, format!("/api/orders/{}", mine.id)),
        (reqwest::Method::PATCH, format!("/api/orders/{}", mine.id)),
        (
            reqwest::Method::POST,
            format!("/api/orders/{}/cancel", mine.id),
        ),
        (
            reqwest::Method::POST,
            format!("/api/orders/{}/payment", mine.id),
        ),
    ] {
        let r = api(method.clone(), path.clone()).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} {path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
    let listed: Vec<Value> = other
        .client
        .get(other.url("/api/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());
    assert!(
        !other
            .page("/commandes")
            .await
            .contains(&format!("n°{}", mine.id))
    );
    assert_eq!(env.order(mine.id).await.status, OrderStatus::Placed);
    assert_eq!(env.order(mine.id).await.version, mine.version);

    // Anonymous: the pages ask to log in, the API answers 401.
    let anonymous = Visitor::new(&app);
    let r = anonymous.get(&format!("/commandes/{}", mine.id)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/connexion");
    let r = anonymous.get(&format!("/api/orders/{}", mine.id)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "login_required");
}

#[tokio::test]
async fn cancel_and_modify_until_the_kitchen_starts_then_a_clear_refusal() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    let order = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let path = format!("/commandes/{}", order.id);

    // Modify: two margheritas and the server's price.
    let page = v.page(&path).await;
    let version = field_value(&page, "version").unwrap();
    let qty = "qty_line_0".to_owned();
    let r = v
        .submit(
            &format!("{path}/modifier"),
            &[("version", version.as_str()), (qty.as_str(), "2")],
        )
        .await;
    assert!(flash_after(&v, r).await.contains("Commande modifiée"));
    let modified = env.order(order.id).await;
    assert_eq!(modified.total.0, 1900);
    assert_eq!(modified.version, order.version + 1);
    // A form based on the old version is refused rather than overwriting.
    let stale = v
        .submit(
            &format!("{path}/modifier"),
            &[("version", version.as_str()), (qty.as_str(), "3")],
        )
        .await;
    let page = flash_after(&v, stale).await;
    assert!(
        page.contains("modifiée entre-temps") || page.contains("a changé"),
        "{page}"
    );
    assert_eq!(env.order(order.id).await.total.0, 1900);

    // The API changes the time and the address on an order to deliver.
    let api = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Delivery,
        )
        .await;
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .date_naive()
        .and_hms_opt(18, 30, 0)
        .unwrap()
        .and_utc();
    let r = v
        .client
        .patch(v.url(&format!("/api/orders/{}", api.id)))
        .json(&json!({
            "delivery": {"street": "10 rue Neuve", "complement": "", "postal_code": "75012",
                         "city": "Paris", "instructions": ""},
            "desired_at": tomorrow,
            "version": api.version,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let changed = env.order(api.id).await;
    assert_eq!(changed.delivery.unwrap().street, "10 rue Neuve");
    assert_eq!(changed.desired_at, Some(tomorrow));
    // The order page offers the same: its form shows the address and slot, and changes them.
    let page = v.page(&format!("/commandes/{}", api.id)).await;
    assert!(page.contains("value=\"10 rue Neuve\""), "{page}");
    let version = field_value(&page, "version").unwrap();
    let r = v
        .submit(
            &format!("/commandes/{}/modifier", api.id),
            &[
                ("version", version.as_str()),
                (qty.as_str(), "1"),
                ("street", "12 rue Neuve"),
                ("postal_code", "75012"),
                ("city", "Paris"),
                ("instructions", "2e étage"),
                ("when", "asap"),
            ],
        )
        .await;
    assert!(flash_after(&v, r).await.contains("Commande modifiée"));
    let changed = env.order(api.id).await;
    let address = changed.delivery.unwrap();
    assert_eq!(
        (address.street.as_str(), address.instructions.as_str()),
        ("12 rue Neuve", "2e étage")
    );
    assert_eq!(changed.desired_at, None);

    // Once the kitchen has started, both are refused with a message and nothing changes.
    move_to(&env, &shop, order.id, OrderStatus::Confirmed).await;
    move_to(&env, &shop, order.id, OrderStatus::Preparing).await;
    let r = v.submit(&format!("{path}/annuler"), &[]).await;
    assert!(
        flash_after(&v, r)
            .await
            .contains("la préparation a commencé")
    );
    let r = v
        .submit(&format!("{path}/modifier"), &[(qty.as_str(), "5")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let started = env.order(order.id).await;
    assert_eq!(started.status, OrderStatus::Preparing);
    assert_eq!(started.total.0, 1900);
    let api_cancel = v
        .client
        .post(v.url(&format!("/api/orders/{}/cancel", order.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(api_cancel.status(), StatusCode::CONFLICT);
    let body: Value = api_cancel.json().await.unwrap();
    assert_eq!(body["error"]["code"], "conflict");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());

    // Before that, cancelling works and says so.
    let r = v
        .submit(&format!("/commandes/{}/annuler", api.id), &[])
        .await;
    assert!(
        flash_after(&v, r)
            .await
            .contains("Votre commande est annulée")
    );
    assert_eq!(env.order(api.id).await.status, OrderStatus::Cancelled);
}

/// Confirms a PaymentIntent as Stripe.js does in the customer's browser: publishable key,
/// client secret and a test payment method.
async fn confirm_in_browser(client_secret: &str, payment_method: &str) {
    let intent = client_secret.split("_secret_").next().unwrap();
    let r = reqwest::Client::new()
        .post(format!("{LOCALSTRIPE}/v1/payment_intents/{intent}/confirm"))
        .form(&[
            ("key", "pk_test_ocpizza"),
            ("client_secret", client_secret),
            ("payment_method", payment_method),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert!(
        status.is_success() || status == StatusCode::PAYMENT_REQUIRED,
        "localstripe confirm: {status} {body}"
    );
}

async fn online_checkout(v: &Visitor, shop: &Shop) -> u64 {
    add(v, shop.margherita, 1).await;
    add(v, shop.regina, 1).await;
    let r = checkout(
        v,
        &[
            ("fulfilment", "pickup"),
            ("when", "asap"),
            ("payment", "online"),
        ],
    )
    .await;
    let id = order_id_of(&r);
    assert_eq!(location(&r), format!("/commandes/{id}/paiement"));
    id
}

#[tokio::test]
async fn online_payment_is_authorised_on_return_and_a_declined_card_can_be_retried() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    let id = online_checkout(&v, &shop).await;
    assert_eq!(env.order(id).await.status, OrderStatus::AwaitingPayment);
    assert!(
        env.outbox("order.placed").await.is_empty(),
        "not before payment"
    );

    let pay = v.page(&format!("/commandes/{id}/paiement")).await;
    assert!(pay.contains("pk_test_ocpizza") && pay.contains("21,50\u{a0}€"));
    let secret = field_after(&pay, "data-client-secret=\"").expect("the page carries the secret");
    let intent = secret.split("_secret_").next().unwrap().to_owned();
    // Reloading the payment page reuses the same PaymentIntent.
    let again = v.page(&format!("/commandes/{id}/paiement")).await;
    assert!(again.contains(&intent));

    confirm_in_browser(&secret, "pm_card_visa").await;
    let r = v
        .get(&format!(
            "/commandes/{id}/paiement/retour?payment_intent={intent}"
        ))
        .await;
    let page = flash_after(&v, r).await;
    assert!(page.contains("Paiement accepté"), "{page}");
    let order = env.order(id).await;
    assert_eq!(order.status, OrderStatus::Placed);
    env.outbox_for("order.placed", id).await;
    let (status, amount): (String, u32) =
        sqlx::query_as("SELECT status, amount_cents FROM payments WHERE order_id = ?")
            .bind(id)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), amount), ("authorised", 2150));

    // A second return (reload) changes nothing.
    let r = v
        .get(&format!(
            "/commandes/{id}/paiement/retour?payment_intent={intent}"
        ))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(env.outbox("order.placed").await.len(), 1);

    // Declined: the order is refused with the card's reason and never reaches the kitchen.
    let declined = online_checkout(&v, &shop).await;
    let pay = v.page(&format!("/commandes/{declined}/paiement")).await;
    let secret = field_after(&pay, "data-client-secret=\"").unwrap();
    let intent = secret.split("_secret_").next().unwrap().to_owned();
    confirm_in_browser(&secret, "pm_card_chargeCustomerFail").await;
    let r = v
        .get(&format!(
            "/commandes/{declined}/paiement/retour?payment_intent={intent}"
        ))
        .await;
    // Back to the card form, the refusal said in French, the order still waiting.
    assert_eq!(location(&r), format!("/commandes/{declined}/paiement"));
    let retry = v.page(&location(&r)).await.replace("&#x27;", "'");
    assert!(
        retry.contains(
            "Paiement refusé : votre banque a refusé le paiement. Réessayez avec une autre carte."
        ),
        "{retry}"
    );
    assert_eq!(
        retry.matches("Paiement refusé").count(),
        1,
        "said once: {retry}"
    );
    assert!(retry.contains("Réessayer avec une autre carte"), "{retry}");
    assert_eq!(
        env.order(declined).await.status,
        OrderStatus::AwaitingPayment
    );
    assert!(
        env.outbox("order.placed")
            .await
            .iter()
            .all(|m| m.correlation_id != Some(declined))
    );
    // The second card goes through on a new PaymentIntent.
    let secret = field_after(&retry, "data-client-secret=\"").unwrap();
    let second = secret.split("_secret_").next().unwrap().to_owned();
    assert_ne!(second, intent);
    confirm_in_browser(&secret, "pm_card_visa").await;
    let r = v
        .get(&format!(
            "/commandes/{declined}/paiement/retour?payment_intent={second}"
        ))
        .await;
    let page = flash_after(&v, r).await;
    assert!(page.contains("Paiement accepté"), "{page}");
    assert_eq!(env.order(declined).await.status, OrderStatus::Placed);
    // Someone else's intent id cannot be used on this order.
    let r = v
        .get(&format!(
            "/commandes/{declined}/paiement/retour?payment_intent=pi_unknown"
        ))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

fn field_after(html: &str, marker: &str) -> Option<String> {
    let at = html.find(marker)? + marker.len();
    Some(html[at..].split('"').next()?.to_owned())
}

/// A Stripe event wrapping the PaymentIntent as localstripe holds it.
async fn event_for(intent: &str, event_id: &str, event_type: &str) -> String {
    let pi: Value = reqwest::Client::new()
        .get(format!("{LOCALSTRIPE}/v1/payment_intents/{intent}"))
        .bearer_auth("sk_test_ocpizza")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": chrono::Utc::now().timestamp(),
        "data": {"object": pi},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": event_type,
    })
    .to_string()
}

async fn post_webhook(
    app: &TestApp,
    payload: &str,
    signature: Option<String>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/stripe/webhook"))
        .header("content-type", "application/json")
        .body(payload.to_owned());
    if let Some(s) = signature {
        request = request.header("stripe-signature", s);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_webhook_authorises_without_a_return_and_refuses_replayed_stale_and_forged_events() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    // The API flow: place, open the payment, confirm in the "browser", never come back.
    let r = v
        .client
        .post(v.url("/api/orders"))
        .json(&json!({
            "pizzeria": "test",
            "lines": [{"pizza_id": shop.margherita, "quantity": 2}],
            "fulfilment": "pickup",
            "payment": "online",
            "idempotency_key": "api-key-1",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let placed: Value = r.json().await.unwrap();
    let id = placed["order"]["id"].as_u64().unwrap();
    assert_eq!(placed["order"]["status"], "awaiting_payment");
    let start: Value = v
        .client
        .post(v.url(&format!("/api/orders/{id}/payment")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = start["client_secret"].as_str().unwrap();
    let intent = start["payment_intent"].as_str().unwrap().to_owned();
    assert_eq!(start["publishable_key"], "pk_test_ocpizza");
    confirm_in_browser(secret, "pm_card_visa").await;

    let payload = event_for(
        &intent,
        "evt_ocpizza_1",
        "payment_intent.amount_capturable_updated",
    )
    .await;
    // Forged, stale and unsigned events are refused and change nothing.
    let forged = Webhook::generate_test_header(&payload, "whsec_someone_else", None);
    assert_eq!(
        post_webhook(&app, &payload, Some(forged)).await.status(),
        StatusCode::BAD_REQUEST
    );
    let stale = Webhook::generate_test_header(
        &payload,
        WEBHOOK_SECRET,
        Some(chrono::Utc::now().timestamp() - 3600),
    );
    assert_eq!(
        post_webhook(&app, &payload, Some(stale)).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post_webhook(&app, &payload, None).await.status(),
        StatusCode::BAD_REQUEST
    );
    let tampered = payload.replace("\"pending_webhooks\":1", "\"pending_webhooks\":2");
    let signed_original = Webhook::generate_test_header(&payload, WEBHOOK_SECRET, None);
    assert_eq!(
        post_webhook(&app, &tampered, Some(signed_original))
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(env.order(id).await.status, OrderStatus::AwaitingPayment);
    assert_eq!(env.count("stripe_events").await, 0);

    // The genuine event authorises the order, once, even when Stripe sends it again.
    let signed = Webhook::generate_test_header(&payload, WEBHOOK_SECRET, None);
    let r = post_webhook(&app, &payload, Some(signed.clone())).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(env.order(id).await.status, OrderStatus::Placed);
    let replay = post_webhook(&app, &payload, Some(signed)).await;
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.text().await.unwrap(), "duplicate event ignored");
    assert_eq!(env.count("stripe_events").await, 1);
    env.outbox_for("order.placed", id).await;

    // The customer's late return finds it done.
    let view: Value = v
        .client
        .post(v.url(&format!("/api/orders/{id}/payment/finalise")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "placed");
    assert_eq!(env.outbox("order.placed").await.len(), 1);
}

#[tokio::test]
async fn the_order_page_streams_status_changes() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    let order = env
        .place(
            &shop,
            &[(shop.margherita, 1)],
            PaymentMode::OnSite,
            Fulfilment::Pickup,
        )
        .await;
    let r = v.get(&format!("/commandes/{}/flux", order.id)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut events = EventStream::new(r);
    let first = events.next("order").await;
    assert!(first.contains("\"status\":\"placed\""), "{first}");
    move_to(&env, &shop, order.id, OrderStatus::Confirmed).await;
    let second = events.next("order").await;
    assert!(second.contains("\"status\":\"confirmed\""), "{second}");
    assert!(
        second.contains(&format!("\"version\":{}", order.version + 1)),
        "{second}"
    );
}

#[tokio::test]
async fn api_errors_are_json_with_a_code_and_never_a_500() {
    let (env, shop, app) = setup().await;
    let client = &app.client;
    let login = client
        .post(app.url("/api/session"))
        .json(&json!({"email": CUSTOMER, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let me: Value = login.json().await.unwrap();
    assert_eq!(me["email"], CUSTOMER);

    let send = |body: &'static str| {
        client
            .post(app.url("/api/orders"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: [(&str, StatusCode); 6] = [
        ("{not json", StatusCode::BAD_REQUEST),
        ("", StatusCode::BAD_REQUEST),
        ("{\"pizzeria\": 5}", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "{\"pizzeria\":\"test\",\"lines\":[],\"fulfilment\":\"pickup\",\"payment\":\"on_site\",\"idempotency_key\":\"k\",\"extra\":1}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "{\"pizzeria\":\"test\",\"lines\":[],\"fulfilment\":\"pickup\",\"payment\":\"on_site\",\"idempotency_key\":\"k\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "{\"pizzeria\":\"nowhere\",\"lines\":[{\"pizza_id\":1,\"quantity\":1}],\"fulfilment\":\"pickup\",\"payment\":\"on_site\",\"idempotency_key\":\"k\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (body, expected) in cases {
        let r = send(body).await.unwrap();
        assert_eq!(r.status(), expected, "{body}");
        let error: Value = r.json().await.expect("a JSON error");
        assert!(error["error"]["code"].is_string(), "{error}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
    }
    let huge_quantity = format!(
        "{{\"pizzeria\":\"test\",\"lines\":[{{\"pizza_id\":{},\"quantity\":99999999999}}],\"fulfilment\":\"pickup\",\"payment\":\"on_site\",\"idempotency_key\":\"k\"}}",
        shop.margherita
    );
    let r = client
        .post(app.url("/api/orders"))
        .header("content-type", "application/json")
        .body(huge_quantity)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for path in [
        "/api/orders/abc",
        "/api/orders/99999999",
        "/api/nothing-here",
    ] {
        let r = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let error: Value = r.json().await.expect("a JSON error");
        assert_eq!(error["error"]["code"], "not_found");
    }
    assert_eq!(env.count("orders").await, 0);

    // The same key twice through the API: one order, the second answer says so.
    let body = json!({
        "pizzeria": "test",
        "lines": [{"pizza_id": shop.margherita, "quantity": 1}],
        "fulfilment": "pickup",
        "payment": "on_site",
        "idempotency_key": "same-key",
    });
    let first = client
        .post(app.url("/api/orders"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let second = client
        .post(app.url("/api/orders"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["replayed"], true);
    assert_eq!(env.count("orders").await, 1);

    let out = client.delete(app.url("/api/session")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let r = client.get(app.url("/api/orders")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_api_serves_its_openapi_document_covering_every_route() {
    let (_env, _shop, app) = setup().await;
    let r = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // An order line chooses a size, options and removals; the menu says what can be chosen.
    let schemas = &doc["components"]["schemas"];
    for field in ["size", "options", "remove"] {
        assert!(
            schemas["NewLine"]["properties"].get(field).is_some(),
            "NewLine.{field}"
        );
    }
    for field in [
        "sizes",
        "groups",
        "removable",
        "allergens",
        "vegetarian",
        "category",
    ] {
        assert!(
            schemas["MenuItemView"]["properties"].get(field).is_some(),
            "MenuItemView.{field}"
        );
    }
    let mut operations: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    operations.sort();
    assert_eq!(
        operations,
        [
            "DELETE /api/session",
            "GET /api/orders",
            "GET /api/orders/{id}",
            "GET /api/pizzerias",
            "GET /api/pizzerias/{code}/menu",
            "GET /api/pizzerias/{code}/slots",
            "PATCH /api/orders/{id}",
            "POST /api/accounts",
            "POST /api/orders",
            "POST /api/orders/{id}/cancel",
            "POST /api/orders/{id}/payment",
            "POST /api/orders/{id}/payment/finalise",
            "POST /api/session",
        ]
    );
    // Every documented operation answers (not a 404 or 405 from the router).
    let client = reqwest::Client::new();
    for op in &operations {
        let (method, path) = op.split_once(' ').unwrap();
        let path = path.replace("{id}", "1").replace("{code}", "test");
        let r = client
            .request(method.parse().unwrap(), app.url(&path))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{op}");
        if r.status() == StatusCode::NOT_FOUND {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], "not_found", "{op}: a handler's 404");
        }
    }
    // The request and error shapes are described, not left as free-form objects.
    let schemas = &doc["components"]["schemas"];
    for name in [
        "NewOrderRequest",
        "NewLine",
        "DeliveryAddress",
        "OrderView",
        "ErrorBody",
    ] {
        assert!(schemas[name].is_object(), "schema {name}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["session"]["in"],
        "cookie"
    );
}

#[tokio::test]
async fn expired_sessions_are_swept_and_live_ones_kept() {
    let env = TestEnv::new().await;
    sqlx::query(
        "INSERT INTO sessions (id, data, expires_at) VALUES
         ('old', '{\"user_id\": 1}', UNIX_TIMESTAMP() - 10),
         ('live', '{}', UNIX_TIMESTAMP() + 3600)",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    let store = web::session::MySqlStore::new(env.pool.clone());
    assert_eq!(store.delete_expired().await.unwrap(), 1);
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_all(&env.pool)
        .await
        .unwrap();
    assert_eq!(left, ["live"]);
}

#[tokio::test]
async fn customers_opening_their_payments_at_the_same_time_all_get_one() {
    // Found by the load benchmark: locking reads of `payments` for orders without a payment yet
    // share gap locks, and simultaneous openings deadlocked into 500s.
    let (env, shop, app) = setup().await;
    sqlx::query("UPDATE stock SET quantity = 100000")
        .execute(&env.pool)
        .await
        .unwrap();
    let v = customer(&app).await;
    let mut ids = Vec::new();
    for _ in 0..24 {
        let o = env
            .place_pickup(&shop, shop.margherita, PaymentMode::Online)
            .await;
        assert_eq!(o.status, OrderStatus::AwaitingPayment);
        ids.push(o.id);
    }
    let answers = futures_util::future::join_all(ids.iter().map(|id| {
        v.client
            .post(v.url(&format!("/api/orders/{id}/payment")))
            .send()
    }))
    .await;
    for (id, r) in ids.iter().zip(answers) {
        let r = r.unwrap();
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "order {id}: {}",
            r.text().await.unwrap()
        );
    }
    let payments: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT order_id) FROM payments")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(payments, 24, "one payment per order");
}

#[tokio::test]
async fn stopping_the_server_ends_live_update_streams_instead_of_waiting_for_the_pages() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let order = env
        .place_pickup(&shop, shop.margherita, PaymentMode::OnSite)
        .await;
    let app = web::Application::build(env.settings.clone(), env.pool.clone())
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let v = Visitor::at(&base);
    assert_eq!(
        v.log_in(CUSTOMER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let r = v.get(&format!("/commandes/{}/flux", order.id)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut events = EventStream::new(r);
    events.next("order").await;

    // Supervisor sends SIGTERM and kills after 30 s: an open page must not hold the stop (and
    // every update) up until then. The browser reconnects to the new process by itself.
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("the server stops while the page is still open")
        .unwrap()
        .unwrap();
    drop(events);
}

#[tokio::test]
async fn a_refused_checkout_comes_back_with_everything_typed_and_chosen() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    add(&v, shop.margherita, 1).await;
    let typed = [
        ("fulfilment", "delivery"),
        ("address_id", "new"),
        ("street", "12 rue des Essais"),
        ("complement", "Bâtiment C"),
        ("postal_code", "75O11"),
        ("city", "Paris"),
        ("when", "slot"),
        ("slot", "2030-01-15T19:30"),
        ("payment", "on_site"),
        ("on_site_method", "cash"),
        ("change_for", "50"),
        ("notes", "Sonner deux fois"),
    ];
    let r = checkout(&v, &typed).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    for kept in [
        "value=\"cash\" selected",
        "value=\"50\"",
        "value=\"12 rue des Essais\"",
        "value=\"Bâtiment C\"",
        "value=\"75O11\"",
        "value=\"2030-01-15T19:30\"",
        "Sonner deux fois",
        "value=\"new\" checked",
        "value=\"slot\" checked",
        "value=\"on_site\" checked",
        "value=\"delivery\" checked",
    ] {
        assert!(page.contains(kept), "{kept} is lost");
    }
    assert!(
        !page.contains("value=\"online\" checked"),
        "the card is not chosen behind their back"
    );
    assert!(
        page.contains("id=\"postal_code-error\""),
        "the message sits by the postal code"
    );
    assert_eq!(env.count("orders").await, 0);
}

#[tokio::test]
async fn cancelling_twice_says_the_order_is_already_cancelled() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    let order = env
        .place_pickup(&shop, shop.margherita, PaymentMode::OnSite)
        .await;
    let path = format!("/commandes/{}", order.id);
    let page = v.page(&path).await;
    assert!(
        page.contains("data-confirm=\"Annuler la commande"),
        "the page asks before cancelling"
    );
    let r = v.submit(&format!("{path}/annuler"), &[]).await;
    assert!(
        flash_after(&v, r)
            .await
            .contains("Votre commande est annulée")
    );
    let r = v.submit(&format!("{path}/annuler"), &[]).await;
    let page = flash_after(&v, r).await;
    assert!(page.contains("déjà annulée"), "{page}");
    assert!(!page.contains("préparation a commencé"));
}

#[tokio::test]
async fn paying_on_site_the_customer_says_how_and_the_rider_knows_the_change_to_bring() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    add(&v, shop.margherita, 2).await;
    let base = [
        ("fulfilment", "pickup"),
        ("when", "asap"),
        ("payment", "on_site"),
        ("on_site_method", "cash"),
    ];
    // A note smaller than the total is refused in French, nothing placed.
    let r = checkout(&v, &[base.as_slice(), &[("change_for", "10")]].concat()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("le billet annoncé (10,00\u{a0}€) ne couvre pas le total (19,00\u{a0}€)"),
        "{page}"
    );
    assert_eq!(env.count("orders").await, 0);
    let r = checkout(&v, &[base.as_slice(), &[("change_for", "50")]].concat()).await;
    let id = order_id_of(&r);
    let order = env.order(id).await;
    assert_eq!(
        order.on_site_plan,
        Some(vocab::OnSitePlan {
            method: vocab::PaymentMethod::Cash,
            change_for: Some(vocab::Cents(5000))
        })
    );
    let mine = v.page(&format!("/commandes/{id}")).await;
    assert!(
        mine.contains("À régler sur place : 19,00\u{a0}€ — Espèces, rendu sur 50,00\u{a0}€ (rendre 31,00\u{a0}€)"),
        "{mine}"
    );
    // An online order carries no such plan, whatever the form says.
    let v2 = stranger(&app).await;
    add(&v2, shop.margherita, 1).await;
    let r = checkout(
        &v2,
        &[
            ("fulfilment", "pickup"),
            ("when", "asap"),
            ("payment", "online"),
            ("on_site_method", "cash"),
            ("change_for", "50"),
        ],
    )
    .await;
    assert_eq!(env.order(order_id_of(&r)).await.on_site_plan, None);
}

#[tokio::test]
async fn my_orders_show_the_pizzeria_and_pizzas_and_order_again_refills_the_cart() {
    let (env, shop, app) = setup().await;
    let v = customer(&app).await;
    let past = env
        .place(
            &shop,
            &[(shop.margherita, 2), (shop.regina, 1)],
            PaymentMode::OnSite,
            Fulfilment::Delivery,
        )
        .await;
    let list = v.page("/commandes").await;
    assert!(
        list.contains("OC Pizza Test") && list.contains("2 × Margherita, 1 × Regina"),
        "{list}"
    );
    // The order page shows what the customer typed for the rider.
    let page = v.page(&format!("/commandes/{}", past.id)).await;
    assert!(
        page.contains("Complément : Bâtiment B") && page.contains("Instructions : Code 1234"),
        "{page}"
    );
    // The Regina is off tonight: the cart gets the rest, and says so.
    let mut conn = env.pool.acquire().await.unwrap();
    catalog::menu::set_sold_out(
        &mut conn,
        shop.pizzeria_id,
        shop.regina,
        true,
        shop.manager_id,
    )
    .await
    .unwrap();
    drop(conn);
    let r = v
        .submit(&format!("/commandes/{}/recommander", past.id), &[])
        .await;
    assert_eq!(location(&r), "/panier");
    let cart = v.page("/panier").await;
    assert!(
        cart.contains("sauf ce qui n&#x27;est pas disponible en ce moment : Regina."),
        "{cart}"
    );
    assert!(
        cart.contains("Margherita") && cart.contains("Panier (2)"),
        "{cart}"
    );
}

#[tokio::test]
async fn adding_from_another_pizzeria_asks_before_emptying_the_cart() {
    let (env, shop, app) = setup().await;
    catalog::feed::feed(
        &env.pool,
        "pizzeria,autre,OC Pizza Autre,2 rue Autre,75012,Paris,+33 1 11 11 11 11,autre@ocpizza.example,00:00-12:00 12:00-00:00,,delivery pickup\n".as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    let v = customer(&app).await;
    add(&v, shop.margherita, 1).await;
    let r = v
        .submit(
            "/panier/ajouter",
            &[
                ("pizzeria", "autre"),
                ("pizza_id", &shop.regina.to_string()),
                ("quantity", "2"),
            ],
        )
        .await;
    assert_eq!(
        location(&r),
        format!(
            "/pizzerias/autre?pizza={}&quantite=2&remplacer=1",
            shop.regina
        )
    );
    let page = v.page(&location(&r)).await;
    assert!(
        page.contains("Votre panier contient déjà 1 article de OC Pizza Test."),
        "{page}"
    );
    assert!(page.contains("Vider le panier et ajouter Regina"), "{page}");
    assert!(
        v.page("/panier").await.contains("Margherita"),
        "nothing was emptied yet"
    );
    v.submit(
        "/panier/ajouter",
        &[
            ("pizzeria", "autre"),
            ("pizza_id", &shop.regina.to_string()),
            ("quantity", "2"),
            ("replace", "1"),
        ],
    )
    .await;
    let cart = v.page("/panier").await;
    assert!(
        cart.contains("Regina") && !cart.contains("Margherita") && cart.contains("Panier (2)"),
        "{cart}"
    );
}

#[tokio::test]
async fn pizzas_can_be_added_to_an_order_until_the_kitchen_starts() {
    let (env, shop, app) = setup().await;
    sqlx::query("UPDATE stock SET quantity = 5000")
        .execute(&env.pool)
        .await
        .unwrap();
    let v = customer(&app).await;
    let o = env
        .place_pickup(&shop, shop.margherita, PaymentMode::OnSite)
        .await;
    let path = format!("/commandes/{}", o.id);
    let page = v.page(&path).await;
    assert!(
        page.contains("Ajouter Regina"),
        "the menu is offered: {page}"
    );
    // The order's own line is changed by its number; a product is added by its id.
    let margherita = "qty_line_0".to_owned();
    let regina = format!("qty_{}", shop.regina);
    let version = o.version.to_string();
    let r = v
        .submit(
            &format!("{path}/modifier"),
            &[
                ("version", version.as_str()),
                (margherita.as_str(), "1"),
                (regina.as_str(), "2"),
            ],
        )
        .await;
    let told = flash_after(&v, r).await;
    assert!(told.contains("Commande modifiée."), "{told}");
    let changed = env.order(o.id).await;
    let lines: Vec<(u64, u32)> = changed
        .lines
        .iter()
        .map(|l| (l.pizza_id, l.quantity))
        .collect();
    assert_eq!(lines, vec![(shop.margherita, 1), (shop.regina, 2)]);
    assert_eq!(changed.total.0, 950 + 2 * 1200);
    // A pizza the shop does not sell is refused, and nothing changes.
    let version = changed.version.to_string();
    let r = v
        .submit(
            &format!("{path}/modifier"),
            &[("version", version.as_str()), ("qty_999999", "1")],
        )
        .await;
    assert!(
        flash_after(&v, r)
            .await
            .contains("le produit n°999999 n&#x27;est pas à la carte")
    );
    assert_eq!(env.order(o.id).await.total, changed.total);
}

#[tokio::test]
async fn a_closed_shop_says_when_it_opens_and_the_cart_offers_its_slots() {
    let (env, shop, app) = setup().await;
    // Open for one hour, starting two hours from now (Paris time), or three when that hour
    // would run past midnight (opening hours are within a day).
    let paris = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris);
    let mut opens = paris + chrono::Duration::hours(2);
    if (opens + chrono::Duration::hours(1)).date_naive() != opens.date_naive() {
        opens = paris + chrono::Duration::hours(3);
    }
    let closes = opens + chrono::Duration::hours(1);
    let hours = format!("{}-{}", opens.format("%H:%M"), closes.format("%H:%M"));
    sqlx::query("UPDATE pizzerias SET opening_hours = ? WHERE id = ?")
        .bind(&hours)
        .bind(shop.pizzeria_id)
        .execute(&env.pool)
        .await
        .unwrap();
    let v = customer(&app).await;
    let page = v.page("/pizzerias/test").await.replace("&#x27;", "'");
    let day = if opens.date_naive() == paris.date_naive() {
        "aujourd'hui"
    } else {
        "demain"
    };
    assert!(
        page.contains(&format!(
            "Fermée en ce moment.</strong> Prochaine ouverture {day} à {}",
            opens.format("%H:%M")
        )),
        "{hours}: {page}"
    );
    add(&v, shop.margherita, 1).await;
    let cart = v.page("/panier").await.replace("&#x27;", "'");
    assert!(
        cart.contains(&format!("<optgroup label=\"{day}\">")),
        "{cart}"
    );
    // Only open quarters are offered: none before it opens.
    let first = cart
        .split("<optgroup label=\"")
        .nth(1)
        .and_then(|g| g.split("<option value=\"").nth(1))
        .and_then(|o| o.split('"').next())
        .unwrap()
        .to_owned();
    let first = chrono::NaiveDateTime::parse_from_str(&first, "%Y-%m-%dT%H:%M").unwrap();
    assert!(
        first >= opens.naive_local() - chrono::Duration::minutes(1),
        "{first} before {opens}"
    );
    assert!(
        first < opens.naive_local() + chrono::Duration::minutes(15),
        "{first}"
    );
}

#[tokio::test]
async fn the_api_takes_how_a_customer_will_pay_on_site() {
    let (env, shop, app) = setup().await;
    let v = ocpizza_tests::flow::api_customer(&format!("http://{}", app.address)).await;
    let order = |change: u32| {
        serde_json::json!({
            "pizzeria": "test",
            "lines": [{"pizza_id": shop.margherita, "quantity": 1}],
            "fulfilment": "pickup",
            "payment": "on_site",
            "on_site_method": "cash",
            "change_for_cents": change,
            "idempotency_key": uuid::Uuid::new_v4().simple().to_string(),
        })
    };
    let short = v
        .client
        .post(v.url("/api/orders"))
        .json(&order(500))
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = short.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "le billet annoncé (5,00\u{a0}€) ne couvre pas le total (9,50\u{a0}€)"
    );
    let ok = v
        .client
        .post(v.url("/api/orders"))
        .json(&order(2000))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);
    let body: Value = ok.json().await.unwrap();
    assert!(
        body["order"]["payment_label"]
            .as_str()
            .unwrap()
            .contains("Espèces, rendu sur 20,00\u{a0}€ (rendre 10,50\u{a0}€)"),
        "{body}"
    );
    let id = body["order"]["id"].as_u64().unwrap();
    assert_eq!(
        env.order(id).await.on_site_plan.map(|p| p.method),
        Some(vocab::PaymentMethod::Cash)
    );
}

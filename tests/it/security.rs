//! The holes an outside probe found, each as the attack it was: every test here failed before
//! its fix. Threat model and controls: docs/security.md.

use ocpizza_tests::TestEnv;
use ocpizza_tests::browser::{Visitor, csrf_of};
use ocpizza_tests::shop::{CUSTOMER, PASSWORD};
use reqwest::StatusCode;
use serde_json::{Value, json};
use vocab::PaymentMode;

/// Documentation addresses (RFC 5737): they only ever appear inside a header.
fn client(n: u32) -> String {
    format!("192.0.2.{n}")
}

async fn log_in(v: &Visitor, email: &str, password: &str) -> StatusCode {
    v.log_in(email, password).await.status()
}

#[tokio::test]
async fn a_forged_x_forwarded_for_from_an_untrusted_peer_gains_no_attempts() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    // No TRUSTED_PROXIES (the development default): the header is ignored.
    let app = env.spawn_web().await;
    let mut refused = 0;
    for n in 0..24 {
        let v = Visitor::forwarded_for(&app, &client(n));
        if log_in(
            &v,
            &format!("inconnu{n}@test.example"),
            "mauvais-mot-de-passe",
        )
        .await
            == StatusCode::TOO_MANY_REQUESTS
        {
            refused += 1;
        }
    }
    assert!(
        refused >= 4,
        "20 attempts a minute per client, whatever the header says; refused {refused}"
    );
}

#[tokio::test]
async fn login_limits_slow_the_guesser_not_the_owner() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    let settings = env.settings_with(&[("TRUSTED_PROXIES", "127.0.0.1")]);
    let app = env.spawn_web_with(settings, env.pool.clone()).await;

    // The owner logged in once from their phone: it is a known device of the account.
    let owner = Visitor::forwarded_for(&app, &client(1));
    assert_eq!(
        log_in(&owner, CUSTOMER, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        owner.submit("/deconnexion", &[]).await.status(),
        StatusCode::SEE_OTHER
    );

    // An attacker spreads guesses over many addresses until the account's ten attempts a
    // minute (the owner's one included) are spent.
    for n in 11..20 {
        let attacker = Visitor::forwarded_for(&app, &client(n));
        assert_eq!(
            log_in(&attacker, CUSTOMER, "mauvais-mot-de-passe").await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    // The account now waits for browsers it does not know, the right password included…
    let stranger = Visitor::forwarded_for(&app, &client(50));
    assert_eq!(
        log_in(&stranger, CUSTOMER, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // …and the look-alike spellings of the address are the same account, not a way round.
    let upper = Visitor::forwarded_for(&app, &client(51));
    assert_eq!(
        log_in(&upper, &CUSTOMER.to_uppercase(), PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let accented = CUSTOMER.replacen('e', "ē", 1);
    let look_alike = Visitor::forwarded_for(&app, &client(52));
    assert_eq!(
        log_in(&look_alike, &accented, PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{accented} is no account's address: refused, never logged in"
    );
    // The owner's own phone still gets in.
    assert_eq!(
        log_in(&owner, CUSTOMER, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert!(owner.page("/compte").await.contains("Claire"));
}

#[tokio::test]
async fn look_alike_addresses_are_refused_at_sign_up() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let users = env.count("users").await;
    let v = Visitor::new(&app);
    let csrf = v.csrf().await;
    let r = v
        .submit(
            "/inscription",
            &[
                ("csrf", csrf.as_str()),
                ("full_name", "Ève Usurpatrice"),
                ("email", "clīent1@test.example"),
                ("password", "une-pizza-bien-cuite"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("ni accent"));
    assert_eq!(env.count("users").await, users);
}

#[tokio::test]
async fn weak_passwords_are_refused_at_sign_up_with_a_french_reason() {
    let env = TestEnv::new().await;
    let app = env.spawn_web().await;
    for (password, reason) in [
        ("0123456789", "trop courant"),
        ("password12", "trop courant"),
        ("azertyuiop", "trop courant"),
        ("          ", "que d'espaces"),
        ("faible@test.example", "adresse e-mail"),
        ("faible-mais-long", "adresse e-mail"),
    ] {
        let r = app
            .client
            .post(app.url("/api/accounts"))
            .json(&json!({"full_name": "Fay Ble", "email": "faible@test.example", "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{password:?}");
        let body: Value = r.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{password:?}: {message}");
    }
    assert_eq!(env.count("users").await, 0);
}

#[tokio::test]
async fn reading_pages_without_a_cookie_writes_no_session_and_anonymous_posts_are_bounded() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let plain = reqwest::Client::new();
    for path in [
        "/",
        "/pizzerias/test",
        "/connexion",
        "/inscription",
        "/panier",
    ] {
        for _ in 0..5 {
            let r = plain.get(app.url(path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
        }
    }
    assert_eq!(
        env.count("sessions").await,
        0,
        "no row for a visitor who only reads"
    );

    // Each post without a session creates one (here: a cart); a client gets 30 a minute.
    let page = plain.get(app.url("/connexion")).send().await.unwrap();
    let csrf_cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ocpizza_csrf="))
        .expect("the form's page sets the CSRF cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = csrf_of(&page.text().await.unwrap()).unwrap();
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut limited = 0;
    for _ in 0..40 {
        let r = no_redirect
            .post(app.url("/panier/ajouter"))
            .header("cookie", &csrf_cookie)
            .form(&[
                ("csrf", token.as_str()),
                ("pizzeria", "test"),
                ("pizza_id", &shop.margherita.to_string()),
            ])
            .send()
            .await
            .unwrap();
        match r.status() {
            StatusCode::SEE_OTHER => {}
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("adding to a cart answered {other}"),
        }
    }
    assert!(limited >= 10, "{limited} of 40 refused");
    assert!(env.count("sessions").await <= 30);
}

#[tokio::test]
async fn a_cross_site_post_to_the_api_is_refused_even_with_the_cookie() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let v = Visitor::new(&app);
    assert_eq!(log_in(&v, CUSTOMER, PASSWORD).await, StatusCode::SEE_OTHER);
    let order = env
        .place_pickup(&shop, shop.margherita, PaymentMode::OnSite)
        .await;
    let cancel = format!("/api/orders/{}/cancel", order.id);
    for (header, value) in [
        ("origin", "https://pizza-gratuite.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let r = v
            .client
            .post(v.url(&cancel))
            .header(header, value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{header}: {value}");
        assert_eq!(env.order(order.id).await.status, vocab::OrderStatus::Placed);
    }
    // The site's own origin, or a client that is not a browser, may.
    let own = format!("http://{}", app.address);
    let r = v
        .client
        .post(v.url(&cancel))
        .header("origin", own)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        env.order(order.id).await.status,
        vocab::OrderStatus::Cancelled
    );
}

/// The test shop plus a group admin.
async fn with_admin(
    env: &TestEnv,
    overrides: &[(&'static str, &str)],
) -> (ocpizza_tests::shop::Shop, ocpizza_tests::TestApp, Visitor) {
    let shop = env.seed_shop(9, 9).await;
    catalog::feed::feed(
        &env.pool,
        format!("staff,admin@test.example,Anne Admin,admin,,{PASSWORD}\n").as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    let settings = env.settings_with(overrides);
    let app = env.spawn_web_with(settings, env.pool.clone()).await;
    let admin = Visitor::new(&app);
    assert_eq!(
        log_in(&admin, "admin@test.example", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    (shop, app, admin)
}

#[tokio::test]
async fn a_printer_address_must_be_a_kitchen_printer_and_a_test_print_sends_nothing_elsewhere() {
    let env = TestEnv::new().await;
    let printers = ocpizza_tests::peers::Emupos::start(1).await;
    let (_shop, _app, admin) = with_admin(&env, &[("PRINTER_PORTS", "9100-9109")]).await;
    let printer_id: u64 = sqlx::query_scalar("SELECT id FROM printers WHERE name = 'Cuisine'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let stored = || async {
        sqlx::query_as::<_, (String, u16)>("SELECT host, port FROM printers WHERE id = ?")
            .bind(printer_id)
            .fetch_one(&env.pool)
            .await
            .unwrap()
    };
    let before = stored().await;
    for (host, port, says) in [
        ("169.254.169.254", "80", "imprimante invalide"),
        ("8.8.8.8", "9100", "imprimante invalide"),
        ("imprimante.example", "9100", "imprimante invalide"),
        ("192.168.1.50", "22", "imprimante refusé"),
    ] {
        let r = admin
            .submit(
                &format!("/admin/imprimantes/{printer_id}"),
                &[("host", host), ("port", port), ("active", "on")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let page = admin.page(&ocpizza_tests::browser::location(&r)).await;
        assert!(page.contains(says), "{host}:{port}");
        assert_eq!(stored().await, before, "{host}:{port} changed nothing");
    }
    // A row written before the rule (or behind the admin's back) on a port outside the range:
    // the test print refuses to send it anything.
    sqlx::query("UPDATE printers SET host = '127.0.0.1', port = ? WHERE id = ?")
        .bind(printers.ports[0])
        .bind(printer_id)
        .execute(&env.pool)
        .await
        .unwrap();
    let r = admin
        .submit(&format!("/admin/imprimantes/{printer_id}/test"), &[])
        .await;
    let page = admin.page(&ocpizza_tests::browser::location(&r)).await;
    assert!(page.contains("imprimante refusé"), "the admin is told why");
    assert!(
        printers.receipts(0).await.is_empty(),
        "no bytes reached the address"
    );
}

#[tokio::test]
async fn huge_stock_quantities_and_long_notes_are_refused_in_french_and_change_nothing() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let manager = Visitor::new(&app);
    assert_eq!(
        log_in(&manager, ocpizza_tests::shop::MANAGER, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let ingredient: u64 = sqlx::query_scalar("SELECT id FROM ingredients WHERE code = 'jambon'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let path = format!("/equipe/test/stock/{ingredient}");
    let before = env.stock_of(&shop, "jambon").await;
    let ledger = env.count("stock_ledger").await;
    let long_note = "n".repeat(301);
    for (kind, quantity, note, says) in [
        ("restock", "9223372036854775807", "", "Quantité invalide"),
        (
            "correction",
            "-9223372036854775808",
            "inventaire",
            "Quantité invalide",
        ),
        ("restock", "9000000000000000000", "", "Quantité invalide"),
        ("restock", "1000000000", "", "quantité trop grande"),
        (
            "correction",
            "5",
            long_note.as_str(),
            "la remarque dépasse 300 caractères",
        ),
    ] {
        let r = manager
            .submit(
                &path,
                &[("kind", kind), ("quantity", quantity), ("note", note)],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{quantity}: no 500");
        let page = manager.page(&ocpizza_tests::browser::location(&r)).await;
        assert!(page.contains(says), "{quantity}: {says}");
    }
    assert_eq!(env.stock_of(&shop, "jambon").await, before);
    assert_eq!(env.count("stock_ledger").await, ledger);
}

#[tokio::test]
async fn reloading_the_payment_page_opens_one_payment_intent() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let v = Visitor::new(&app);
    assert_eq!(log_in(&v, CUSTOMER, PASSWORD).await, StatusCode::SEE_OTHER);
    let order = env
        .place_pickup(&shop, shop.margherita, PaymentMode::Online)
        .await;
    for _ in 0..4 {
        let page = v.page(&format!("/commandes/{}/paiement", order.id)).await;
        assert!(page.contains("data-client-secret"));
    }
    let (rows, intents): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT stripe_payment_intent_id) FROM payments WHERE order_id = ?",
    )
    .bind(order.id)
    .fetch_one(&env.pool)
    .await
    .unwrap();
    assert_eq!(
        (rows, intents),
        (1, 1),
        "one payment row and one intent, however many loads"
    );
}

#[tokio::test]
async fn pages_carry_their_own_security_headers_and_metrics_answer_only_trusted_scrapers() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let settings = env.settings_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("METRICS_ALLOW", "192.0.2.7"),
    ]);
    let app = env.spawn_web_with(settings, env.pool.clone()).await;
    let v = Visitor::new(&app);
    assert_eq!(log_in(&v, CUSTOMER, PASSWORD).await, StatusCode::SEE_OTHER);
    let order = env
        .place_pickup(&shop, shop.margherita, PaymentMode::OnSite)
        .await;
    for path in [
        format!("/commandes/{}", order.id),
        "/compte".into(),
        "/".into(),
    ] {
        let r = v.get(&path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let h = r.headers();
        let get = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(get("cache-control"), "no-store", "{path}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        let csp = get("content-security-policy");
        assert!(
            csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
    }
    let css = v.get("/static/site.css").await;
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );

    // /metrics: loopback, and the configured scraper behind the proxy; nobody else.
    let from = |ip: &str| {
        app.client
            .get(app.url("/metrics"))
            .header("x-forwarded-for", ip.to_owned())
            .send()
    };
    assert_eq!(
        app.client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(from("192.0.2.7").await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        from("192.0.2.8").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

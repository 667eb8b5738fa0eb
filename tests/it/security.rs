//! The holes an outside probe found, each as the attack it was: every test here failed before
//! its fix. Threat model and controls: docs/security.md.

use ocpizza_tests::TestEnv;
use ocpizza_tests::browser::{Visitor, csrf_of};
use ocpizza_tests::shop::{CUSTOMER, PASSWORD};
use reqwest::StatusCode;
use serde_json::{Value, json};
use vocab::PaymentMode;

/// `name=value` of the cookie `name` a response sets.
fn cookie_named(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

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
    let csrf_cookie =
        cookie_named(&page, "ocpizza_csrf").expect("the form's page sets the CSRF cookie");
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

/// Reads until the server closes the connection (or `limit` passes): what it answered, if
/// anything, and whether it closed.
async fn until_closed(
    stream: &mut tokio::net::TcpStream,
    limit: std::time::Duration,
) -> (String, bool) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[tokio::test]
async fn idle_and_trickling_connections_are_closed_by_the_server() {
    use tokio::io::AsyncWriteExt;
    let env = TestEnv::new().await;
    let app = env.spawn_web().await;
    let limit = std::time::Duration::from_secs(60);

    // Says nothing at all.
    let idle = async {
        let mut s = tokio::net::TcpStream::connect(app.address).await.unwrap();
        until_closed(&mut s, limit).await
    };
    // Sends its headers one byte every second, never finishing.
    let trickle = async {
        let mut s = tokio::net::TcpStream::connect(app.address).await.unwrap();
        let request = b"GET / HTTP/1.1\r\nHost: ocpizza\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        for byte in request {
            if s.write_all(&[*byte]).await.is_err() {
                return (String::new(), true);
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        until_closed(&mut s, limit).await
    };
    // Sends complete headers, then its body one byte every two seconds.
    let slow_body = async {
        use tokio::io::AsyncReadExt;
        let s = tokio::net::TcpStream::connect(app.address).await.unwrap();
        let (mut rd, mut wr) = s.into_split();
        wr.write_all(b"POST /api/accounts HTTP/1.1\r\nHost: ocpizza\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
            .await
            .unwrap();
        let writer = async move {
            for _ in 0..40 {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                if wr.write_all(b" ").await.is_err() {
                    break;
                }
            }
        };
        let reader = async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while let Ok(Ok(n)) = tokio::time::timeout(limit, rd.read(&mut buf)).await {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            String::from_utf8_lossy(&got).into_owned()
        };
        tokio::select! {
            answer = reader => answer,
            () = writer => String::new(),
        }
    };
    let ((idle_said, idle_closed), (_, trickle_closed), slow_answer) =
        tokio::join!(idle, trickle, slow_body);
    assert!(
        idle_closed && idle_said.is_empty(),
        "an idle connection is closed: {idle_said:?}"
    );
    assert!(trickle_closed, "a request whose headers never end is cut");
    assert!(
        slow_answer.starts_with("HTTP/1.1 408"),
        "a body that trickles is answered 408 while the client is still sending: {slow_answer:?}"
    );
}

#[tokio::test]
async fn signing_up_with_a_victims_phone_number_shows_none_of_their_phone_orders() {
    let env = TestEnv::new().await;
    let _shop = env.seed_shop(9, 9).await;
    catalog::feed::feed(
        &env.pool,
        format!("staff,comptoir@test.example,Chloé Comptoir,counter,test,{PASSWORD}\n").as_bytes(),
        &env.settings.printer_ports,
    )
    .await
    .unwrap();
    let app = env.spawn_web().await;
    // The attacker signs up with the victim's number.
    let attacker = Visitor::new(&app);
    let r = app
        .client
        .post(app.url("/api/accounts"))
        .json(&json!({"full_name": "Mallory", "email": "mallory@test.example", "phone": "06 12 34 56 78", "password": "une-pizza-bien-cuite"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "a new account");
    assert_eq!(
        log_in(&attacker, "mallory@test.example", "une-pizza-bien-cuite").await,
        StatusCode::SEE_OTHER
    );
    // The victim phones the shop for a delivery, door code included.
    let desk = Visitor::new(&app);
    assert_eq!(
        log_in(&desk, "comptoir@test.example", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let page = desk.page("/equipe/test/comptoir").await;
    assert!(
        !page.contains("Mes commandes") && !page.contains("href=\"/panier\""),
        "staff pages carry no customer links"
    );
    let key = page
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let margherita: u64 = sqlx::query_scalar("SELECT id FROM pizzas WHERE code = 'margherita'")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let qty = format!("qty_{margherita}");
    let r = desk
        .submit(
            "/equipe/test/comptoir",
            &[
                ("idempotency_key", key.as_str()),
                ("channel", "phone"),
                ("customer_name", "Victor Victime"),
                ("customer_phone", "+33 6 12 34 56 78"),
                (qty.as_str(), "1"),
                ("fulfilment", "delivery"),
                ("street", "8 rue Secrète"),
                ("postal_code", "75011"),
                ("city", "Paris"),
                ("instructions", "Digicode 4321"),
                ("when", "asap"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let order: u64 = sqlx::query_scalar("SELECT id FROM orders")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    // The attacker sees nothing of it, and cannot touch it.
    let mine = attacker.page("/commandes").await;
    assert!(!mine.contains("Secrète") && !mine.contains(&format!("n°{order}")));
    let api: Value = attacker
        .client
        .get(attacker.url("/api/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api.as_array().map(Vec::len), Some(0), "{api}");
    let page = attacker.get(&format!("/commandes/{order}")).await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let cancel = attacker
        .client
        .post(attacker.url(&format!("/api/orders/{order}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), StatusCode::NOT_FOUND);
    assert_eq!(env.order(order).await.status, vocab::OrderStatus::Placed);
}

/// The notifications worker handles every `account.password_link_requested` waiting in the
/// outbox; returns the links the e-mails carry, in order.
pub(crate) async fn mailed_links(
    env: &TestEnv,
    maildev: &ocpizza_tests::peers::Maildev,
    base: &str,
) -> Vec<String> {
    let worker = workers::notifications::NotificationsWorker {
        mailer: mail::Mailer::new(&maildev.smtp_url(), "OC Pizza <commandes@ocpizza.example>")
            .unwrap(),
        links: ocpizza_tests::mail_links(base),
    };
    for message in env.outbox("account.password_link_requested").await {
        messages::consumer::process(&env.pool, "notifications", &worker, &message)
            .await
            .unwrap();
    }
    maildev
        .emails()
        .await
        .iter()
        .filter_map(|e| e["text"].as_str())
        .filter_map(|text| {
            let at = text.find("/mot-de-passe/")?;
            let token: String = text[at + "/mot-de-passe/".len()..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            Some(format!("/mot-de-passe/{token}"))
        })
        .collect()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_by_the_mailed_link_which_ends_every_session() {
    let env = TestEnv::new().await;
    let _shop = env.seed_shop(9, 9).await;
    let maildev = ocpizza_tests::peers::Maildev::start().await;
    let app = env.spawn_web().await;
    // The customer is logged in on another device.
    let other_device = Visitor::new(&app);
    assert_eq!(
        log_in(&other_device, CUSTOMER, PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(other_device.get("/compte").await.status(), StatusCode::OK);

    // The same answer for an unknown address and a known one; a link only for the known one.
    let v = Visitor::new(&app);
    for email in ["personne@test.example", CUSTOMER] {
        let r = v.submit("/mot-de-passe-oublie", &[("email", email)]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{email}");
        let page = v.page(&ocpizza_tests::browser::location(&r)).await;
        assert!(
            page.contains("Si un compte existe pour cette adresse"),
            "{email}"
        );
    }
    let links = mailed_links(&env, &maildev, &format!("http://{}/", app.address)).await;
    assert_eq!(links.len(), 1, "one e-mail, for the account that exists");
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM password_links")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert!(
        !links[0].contains(&stored),
        "only a digest of the token is kept"
    );

    // A weak new password is refused and spends nothing.
    let r = v.submit(&links[0], &[("password", "azertyuiop")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The link sets the password, logs in here, and ends the other device's session.
    let r = v
        .submit(&links[0], &[("password", "une-nouvelle-pizza-au-four")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(v.page("/compte").await.contains("Claire"));
    let kicked = other_device.get("/compte").await;
    assert_eq!(
        kicked.status(),
        StatusCode::SEE_OTHER,
        "the other session is over"
    );
    // Once only.
    let again = v.get(&links[0]).await;
    assert_eq!(again.status(), StatusCode::GONE);
    let fresh = Visitor::new(&app);
    assert_eq!(
        log_in(&fresh, CUSTOMER, PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        log_in(&fresh, CUSTOMER, "une-nouvelle-pizza-au-four").await,
        StatusCode::SEE_OTHER
    );

    // An expired link is refused.
    let r = v
        .submit("/mot-de-passe-oublie", &[("email", CUSTOMER)])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let links = mailed_links(&env, &maildev, &format!("http://{}/", app.address)).await;
    let newest = links.last().unwrap().clone();
    sqlx::query(
        "UPDATE password_links SET expires_at = NOW(6) - INTERVAL 1 MINUTE WHERE used_at IS NULL",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    assert_eq!(v.get(&newest).await.status(), StatusCode::GONE);
}

#[tokio::test]
async fn a_counter_customer_claims_their_account_only_by_proving_the_address() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let maildev = ocpizza_tests::peers::Maildev::start().await;
    let app = env.spawn_web().await;
    // A counter order with an e-mail created a record without a password.
    let mut tx = env.pool.begin().await.unwrap();
    let email = account::Email::parse("comptoir-client@test.example").unwrap();
    let walk_in = account::user::walk_in(&mut tx, Some(&email), "Paul Comptoir", "0611223344")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let order = env
        .place_pickup(&shop, shop.margherita, PaymentMode::OnSite)
        .await;
    sqlx::query("UPDATE orders SET customer_id = ? WHERE id = ?")
        .bind(walk_in.customer_id)
        .bind(order.id)
        .execute(&env.pool)
        .await
        .unwrap();

    // Signing up with that address says what it always says, creates nothing, logs nobody in…
    let v = Visitor::new(&app);
    let users = env.count("users").await;
    v.sign_up(
        "Paul Comptoir",
        "comptoir-client@test.example",
        "une-pizza-bien-cuite",
    )
    .await;
    assert_eq!(env.count("users").await, users);
    assert_eq!(
        log_in(&v, "comptoir-client@test.example", "une-pizza-bien-cuite").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no access without proving the address"
    );
    // …and mails the address a link to claim it.
    let links = mailed_links(&env, &maildev, &format!("http://{}/", app.address)).await;
    assert_eq!(links.len(), 1);
    let subjects: Vec<String> = maildev
        .emails()
        .await
        .iter()
        .filter_map(|e| e["subject"].as_str().map(str::to_owned))
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("Activer votre compte")),
        "{subjects:?}"
    );
    let r = v
        .submit(&links[0], &[("password", "une-pizza-bien-cuite")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        v.page("/commandes")
            .await
            .contains(&format!("{}", order.id)),
        "the counter order is theirs once the address is proven"
    );
}

/// Where `deploy/local/services.sh up` installs schemathesis.
const SCHEMATHESIS: &str = "/opt/ocpizza/venvs/schemathesis/bin/schemathesis";

/// Schemathesis against the served OpenAPI document: generated requests (a bounded number per
/// operation), failing on any 5xx and on any answer the document does not describe (status,
/// content type, body).
async fn schemathesis(app: &ocpizza_tests::TestApp, cookie: Option<&str>) -> (bool, String) {
    assert!(
        std::path::Path::new(SCHEMATHESIS).exists(),
        "schemathesis is missing: {}",
        ocpizza_tests::SERVICES_HINT
    );
    // Schemathesis keeps a cache in its working directory: a directory of this run's own, removed
    // after, so the test leaves nothing behind.
    let workdir = std::env::temp_dir().join(format!(
        "ocpt-schemathesis-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&workdir).expect("a temporary directory");
    let mut command = tokio::process::Command::new(SCHEMATHESIS);
    command
        .current_dir(&workdir)
        .arg("run")
        .arg(app.url("/api/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            "40",
            "--phases",
            "examples,fuzzing",
            "--generation-deterministic",
            "--workers",
            "2",
        ])
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    if let Some(cookie) = cookie {
        command.args(["--header", &format!("Cookie: {cookie}")]);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(600), command.output())
        .await
        .expect("schemathesis finishes within 10 minutes")
        .expect("schemathesis runs");
    let _ = std::fs::remove_dir_all(&workdir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn the_api_answers_generated_requests_as_its_openapi_document_says() {
    let env = TestEnv::new().await;
    env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let (ok, report) = schemathesis(&app, None).await;
    assert!(ok, "anonymous:\n{report}");
    // Logged in (a session cookie from the API's own log-in).
    let r = app
        .client
        .post(app.url("/api/session"))
        .json(&json!({"email": CUSTOMER, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = cookie_named(&r, "ocpizza_session").expect("a session cookie");
    let (ok, report) = schemathesis(&app, Some(&cookie)).await;
    assert!(ok, "logged in:\n{report}");
}

#[tokio::test]
async fn the_api_and_pages_say_what_the_documents_say_in_french() {
    let env = TestEnv::new().await;
    let shop = env.seed_shop(9, 9).await;
    let app = env.spawn_web().await;
    let v = Visitor::new(&app);
    assert_eq!(log_in(&v, CUSTOMER, PASSWORD).await, StatusCode::SEE_OTHER);
    let order = env
        .place_pickup(&shop, shop.margherita, PaymentMode::OnSite)
        .await;

    // The order list carries the lines.
    let list: Value = v
        .client
        .get(v.url("/api/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["lines"][0]["name"], "Margherita", "{list}");

    // Changing an order the kitchen started is a conflict (409), as docs/web.md says.
    ocpizza_tests::flow::move_as_manager(&env, &shop, order.id, vocab::OrderStatus::Confirmed)
        .await;
    ocpizza_tests::flow::move_as_manager(&env, &shop, order.id, vocab::OrderStatus::Preparing)
        .await;
    let r = v
        .client
        .patch(v.url(&format!("/api/orders/{}", order.id)))
        .json(&json!({"lines": [{"pizza_id": shop.margherita, "quantity": 2}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    // Bad paths and forms on pages: the French error page, not axum's English text.
    let r = v.get("/commandes/pas-un-numero").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("introuvable") && page.contains("<html"),
        "{page}"
    );
    let csrf = v.csrf().await;
    let r = v
        .submit(
            "/panier/ajouter",
            &[
                ("csrf", csrf.as_str()),
                ("pizzeria", "test"),
                ("pizza_id", "douze"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("formulaire invalide"), "{page}");
}

//! A cookie-keeping HTTP client that uses the site like a person with a browser would: it reads
//! the CSRF token from the pages and sends it with every form, and does not follow redirects so
//! tests can see them.

use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};

use crate::TestApp;

pub struct Visitor {
    pub client: Client,
    base: String,
}

/// The `csrf` hidden field of a page.
pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

impl Visitor {
    pub fn new(app: &TestApp) -> Visitor {
        Visitor::at(&format!("http://{}", app.address))
    }

    /// A visitor whose every request says, in `X-Forwarded-For`, that it comes from `client`
    /// (believed only when the server trusts the peer as a proxy).
    pub fn forwarded_for(app: &TestApp, client: &str) -> Visitor {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            client.parse().expect("an address is a header value"),
        );
        Visitor {
            client: Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .default_headers(headers)
                .build()
                .expect("HTTP client"),
            base: format!("http://{}", app.address),
        }
    }

    /// A visitor of any address (e.g. through nginx).
    pub fn at(base: &str) -> Visitor {
        Visitor {
            client: Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .expect("HTTP client"),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET answers")
    }

    /// A page's HTML, asserting 200.
    pub async fn page(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.text().await.expect("HTML body")
    }

    /// The session's CSRF token (from the login page, which always has a form).
    pub async fn csrf(&self) -> String {
        csrf_of(&self.page("/connexion").await).expect("the login form carries the CSRF token")
    }

    /// Submits a form with the session's CSRF token.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .expect("POST answers")
    }

    pub async fn sign_up(&self, name: &str, email: &str, password: &str) {
        let r = self
            .submit(
                "/inscription",
                &[
                    ("full_name", name),
                    ("email", email),
                    ("phone", "0600000000"),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::SEE_OTHER,
            "sign-up redirects (home when created, the login page for a taken address)"
        );
    }

    /// Adds `quantity` of a pizza of the test shop to the cart.
    pub async fn add_to_cart(&self, pizza_id: u64, quantity: u32) {
        let r = self
            .submit(
                "/panier/ajouter",
                &[
                    ("pizzeria", "test"),
                    ("pizza_id", &pizza_id.to_string()),
                    ("quantity", &quantity.to_string()),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "added to the cart");
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Response {
        self.submit("/connexion", &[("email", email), ("password", password)])
            .await
    }
}

/// Where a redirect points.
/// The `value` of the form field called `name` in a page.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html.find(&marker)? + marker.len();
    Some(html[at..].split('"').next()?.to_owned())
}

pub fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A Server-Sent Events response read one event at a time.
pub struct EventStream {
    response: Response,
    seen: String,
}

impl EventStream {
    pub fn new(response: Response) -> EventStream {
        EventStream {
            response,
            seen: String::new(),
        }
    }

    /// The next event named `name` (its whole text), skipping others and keep-alive comments;
    /// panics if none comes within 10 s.
    pub async fn next(&mut self, name: &str) -> String {
        let wanted = format!("event: {name}");
        loop {
            if let Some(end) = self.seen.find("\n\n") {
                let event = self.seen[..end].to_owned();
                self.seen.drain(..end + 2);
                if event.contains(&wanted) {
                    return event;
                }
                continue;
            }
            let chunk =
                tokio::time::timeout(std::time::Duration::from_secs(10), self.response.chunk())
                    .await
                    .expect("an event within 10 s")
                    .expect("the stream reads")
                    .expect("the stream stays open");
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

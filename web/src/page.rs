//! Server-rendered pages: the minijinja templates in `web/templates` (compiled into the binary,
//! HTML auto-escaped), and [`Page`], what every page needs (user, CSRF token, flash message,
//! cart size) taken from the request.

use std::sync::OnceLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Html;
use minijinja::{Environment, Value, context};
use tower_sessions::Session;

use crate::error::WebError;
use crate::session::{CsrfNonce, MaybeUser, csrf_token, session_user};
use crate::state::AppState;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("pizzeria.html", include_str!("../templates/pizzeria.html")),
    ("menu.html", include_str!("../templates/menu.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("signup.html", include_str!("../templates/signup.html")),
    ("forgot.html", include_str!("../templates/forgot.html")),
    ("reset.html", include_str!("../templates/reset.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("cart.html", include_str!("../templates/cart.html")),
    ("pay.html", include_str!("../templates/pay.html")),
    ("order.html", include_str!("../templates/order.html")),
    ("orders.html", include_str!("../templates/orders.html")),
    ("staff.html", include_str!("../templates/staff.html")),
    ("kitchen.html", include_str!("../templates/kitchen.html")),
    (
        "kitchen_board.html",
        include_str!("../templates/kitchen_board.html"),
    ),
    ("recipe.html", include_str!("../templates/recipe.html")),
    ("counter.html", include_str!("../templates/counter.html")),
    (
        "counter_board.html",
        include_str!("../templates/counter_board.html"),
    ),
    ("delivery.html", include_str!("../templates/delivery.html")),
    (
        "delivery_board.html",
        include_str!("../templates/delivery_board.html"),
    ),
    ("manage.html", include_str!("../templates/manage.html")),
    ("admin.html", include_str!("../templates/admin.html")),
    (
        "admin_recipe.html",
        include_str!("../templates/admin_recipe.html"),
    ),
    (
        "admin_menu.html",
        include_str!("../templates/admin_menu.html"),
    ),
    (
        "admin_product.html",
        include_str!("../templates/admin_product.html"),
    ),
    (
        "staff_order.html",
        include_str!("../templates/staff_order.html"),
    ),
    ("search.html", include_str!("../templates/search.html")),
    ("report.html", include_str!("../templates/report.html")),
    (
        "stock_history.html",
        include_str!("../templates/stock_history.html"),
    ),
];

/// An ingredient's unit as staff read it (the stored `piece` is « pièce »).
fn unit_fr(unit: String) -> String {
    match unit.as_str() {
        "piece" => "pièce".into(),
        _ => unit,
    }
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_filter("unit", unit_fr);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).expect("templates parse");
        }
        env
    })
}

const FLASH_KEY: &str = "flash";

/// Leaves a message for the next page shown to this session.
pub async fn flash(session: &Session, message: impl Into<String>) -> Result<(), WebError> {
    session.insert(FLASH_KEY, message.into()).await?;
    Ok(())
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct UserView {
    pub id: u64,
    pub full_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub role: String,
}

/// The parts of every page.
pub struct Page {
    pub session: Session,
    pub user: Option<account::user::User>,
    csrf: String,
    flash: Option<String>,
    cart_count: u32,
}

impl FromRequestParts<AppState> for Page {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| WebError::Internal("session layer missing".into()))?;
        let nonce = parts
            .extensions
            .get::<CsrfNonce>()
            .cloned()
            .ok_or_else(|| WebError::Internal("CSRF layer missing".into()))?;
        let csrf = csrf_token(state, &nonce, session_user(&session).await?);
        let flash = session.remove::<String>(FLASH_KEY).await?;
        let cart_count = crate::cart::Cart::load(&session).await?.count();
        Ok(Page {
            session,
            user,
            csrf,
            flash,
            cart_count,
        })
    }
}

impl Page {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Renders `template` with `ctx` plus the page's common values.
    pub fn render(&self, template: &str, ctx: Value) -> Result<Html<String>, WebError> {
        let user = self.user.as_ref().map(|u| UserView {
            id: u.id,
            full_name: u.full_name.clone(),
            email: u.email.clone(),
            phone: u.phone.clone(),
            role: u.role.as_str().to_owned(),
        });
        let all = context! {
            user => user,
            csrf => self.csrf,
            flash => self.flash,
            cart_count => self.cart_count,
            ..ctx
        };
        Ok(Html(env().get_template(template)?.render(all)?))
    }

    /// A fragment (no layout) with the CSRF token available.
    pub fn fragment(&self, template: &str, ctx: Value) -> Result<Html<String>, WebError> {
        let all = context! { csrf => self.csrf, ..ctx };
        Ok(Html(env().get_template(template)?.render(all)?))
    }
}

#[cfg(test)]
mod csp_tests {
    use super::TEMPLATES;

    /// The Content-Security-Policy allows no inline script, style attribute or event handler:
    /// a template that had one would silently stop working in the browser.
    #[test]
    fn templates_hold_no_inline_script_style_or_handler() {
        for (name, source) in TEMPLATES {
            let lower = source.to_lowercase();
            for (at, _) in lower.match_indices("<script") {
                let tag = &lower[at..at + lower[at..].find('>').unwrap_or(0)];
                assert!(tag.contains(" src="), "{name}: inline <script>");
            }
            for forbidden in [
                " style=",
                " onclick=",
                " onchange=",
                " onsubmit=",
                " onload=",
                "javascript:",
            ] {
                assert!(!lower.contains(forbidden), "{name}: {forbidden}");
            }
        }
    }

    #[test]
    fn units_read_in_french() {
        let html = super::env()
            .render_str("{{ 'piece'|unit }} {{ 'g'|unit }}", ())
            .unwrap();
        assert_eq!(html, "pièce g");
    }
}

//! Security headers sent by the app itself, whatever is in front of it: no framing, no
//! sniffing, no referrer to other sites, nothing personal kept in caches, and a
//! Content-Security-Policy that the pages satisfy (no inline script: see `static/live.js`).
//! The payment page widens the policy for Stripe.js ([`stripe_policy`]).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The policy of every page: the site's own scripts, styles and connections only.
pub const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

/// The payment page's policy: the page's own plus Stripe.js, its frames and its API (or the
/// local Stripe stand-in named by `STRIPE_API_BASE`).
pub fn stripe_policy(api_base: &url::Url) -> String {
    let (js, frames, api) = if api_base.host_str() == Some("api.stripe.com") {
        (
            "https://js.stripe.com".to_owned(),
            "https://js.stripe.com https://hooks.stripe.com".to_owned(),
            "https://api.stripe.com".to_owned(),
        )
    } else {
        let origin = api_base.origin().ascii_serialization();
        (origin.clone(), origin.clone(), origin)
    };
    format!(
        "default-src 'self'; script-src 'self' {js}; style-src 'self' 'unsafe-inline'; img-src 'self' data: {js}; connect-src 'self' {api}; frame-src {frames}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )
}

pub async fn security_headers(
    State(_state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let cacheable = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    if !cacheable {
        // Pages and API answers carry orders, addresses, names: never stored by a cache.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if html {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(PAGE_POLICY));
    }
    response
}

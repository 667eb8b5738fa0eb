//! Sessions, the logged-in user, CSRF and login throttling.
//!
//! - Sessions are tower-sessions records kept in MariaDB (`sessions`), so any web instance
//!   serves any request. The cookie (`ocpizza_session`) is HttpOnly, SameSite=Lax, Secure in
//!   production, and holds only a random id; login issues a new id, logout deletes the record.
//! - CSRF: every visitor has a random nonce in an `ocpizza_csrf` cookie (HttpOnly, SameSite=Lax);
//!   forms carry the nonce signed with `SECRET_KEY` for the logged-in user, required in the
//!   `csrf` field of every form POST (checked once, in [`csrf_guard`], so no form can forget it).
//!   Nothing is stored for it: pages read by a visitor without a session create none. The JSON
//!   API accepts only `application/json` bodies, which a cross-site form cannot send, and refuses
//!   state-changing calls whose `Origin` is not ours or that a browser marks cross-site.
//!   Stripe's webhook is authenticated by its signature instead.
//! - Posting without a session (which creates one) is limited per client address.
//! - Login attempts are limited per e-mail and per client address (governor); the client
//!   address is the peer's, or what a configured proxy forwarded ([`ClientAddr`]).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sqlx::MySqlPool;
use tower_sessions::Session;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use crate::error::WebError;
use crate::state::AppState;

const USER_KEY: &str = "user_id";

#[derive(Clone, Debug)]
pub struct MySqlStore {
    pool: MySqlPool,
}

impl MySqlStore {
    pub fn new(pool: MySqlPool) -> MySqlStore {
        MySqlStore { pool }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for MySqlStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        loop {
            let inserted =
                sqlx::query("INSERT IGNORE INTO sessions (id, data, expires_at) VALUES (?, ?, ?)")
                    .bind(record.id.to_string())
                    .bind(&data)
                    .bind(record.expiry_date.unix_timestamp())
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?)
             ON DUPLICATE KEY UPDATE data = VALUES(data), expires_at = VALUES(expires_at)",
        )
        .bind(record.id.to_string())
        .bind(data)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, expires_at FROM sessions WHERE id = ? AND expires_at > UNIX_TIMESTAMP()",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
            expiry_date: time::OffsetDateTime::from_unix_timestamp(expires_at)
                .map_err(|e| session_store::Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl MySqlStore {
    /// Deletes the sessions that expired (the web server runs this every hour).
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE expires_at <= UNIX_TIMESTAMP()")
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

fn session_of(parts: &Parts) -> Result<Session, WebError> {
    parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| WebError::Internal("session layer missing".into()))
}

const CSRF_COOKIE: &str = "ocpizza_csrf";
const SESSION_COOKIE: &str = "ocpizza_session";

/// The visitor's CSRF nonce: from their `ocpizza_csrf` cookie, or new (then the cookie is set
/// on the response if a page used it). Put in the request by [`csrf_cookie`].
#[derive(Clone, Debug)]
pub struct CsrfNonce {
    nonce: String,
    used: Arc<AtomicBool>,
}

/// The value of cookie `name` in the request, if any.
fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Gives every request its [`CsrfNonce`], and sets the cookie when a page handed out a token
/// for a new one. No session row is written for it: a visitor who only reads pages costs the
/// database nothing.
pub async fn csrf_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let known = cookie(request.headers(), CSRF_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let fresh = known.is_none();
    let nonce = CsrfNonce {
        nonce: known.unwrap_or_else(random_token),
        used: Arc::new(AtomicBool::new(false)),
    };
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    if fresh && nonce.used.load(Ordering::Relaxed) {
        let secure = if state.settings.env.is_production() {
            "; Secure"
        } else {
            ""
        };
        let value = format!(
            "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=1209600{secure}",
            nonce.nonce
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The id of the user logged in on this session, if any.
pub async fn session_user(session: &Session) -> Result<Option<u64>, WebError> {
    Ok(session.get::<u64>(USER_KEY).await?)
}

/// The token forms carry: the visitor's nonce signed with `SECRET_KEY`, for this user, so a
/// token seen before logging in (or as someone else) is worth nothing after.
pub fn csrf_token(state: &AppState, nonce: &CsrfNonce, user: Option<u64>) -> String {
    nonce.used.store(true, Ordering::Relaxed);
    state
        .signer
        .sign("csrf", &format!("{}:{}", nonce.nonce, user.unwrap_or(0)))
}

/// Refuses state-changing requests without a valid CSRF token (forms), with a body that is not
/// JSON or from another site (API). See the module docs.
pub async fn csrf_guard(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    if path == "/stripe/webhook" {
        return next.run(request).await;
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if path.starts_with("/api/") {
        if !same_origin(&state, request.headers()) {
            return crate::error::ApiError(WebError::Forbidden).into_response();
        }
        // A cross-site form always sends a form content type, even with an empty body; an API
        // client sends JSON or nothing at all.
        if !content_type.is_empty() && !content_type.starts_with("application/json") {
            return crate::error::ApiError(WebError::BadRequest(
                "le corps doit être du JSON (Content-Type: application/json)".into(),
            ))
            .into_response();
        }
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    // A visitor without a session creates one by posting (a cart, a log-in): bounded per client.
    if cookie(&parts.headers, SESSION_COOKIE).is_none() {
        let client = ClientAddr::of(&parts, &state.settings.trusted_proxies);
        if state.anonymous_posts.check_key(&client.0).is_err() {
            return WebError::TooManyRequests.into_response();
        }
    }
    let Some(session) = parts.extensions.get::<Session>().cloned() else {
        return WebError::Internal("session layer missing".into()).into_response();
    };
    let Some(nonce) = parts.extensions.get_mut::<CsrfNonce>().cloned() else {
        return WebError::Internal("CSRF layer missing".into()).into_response();
    };
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return WebError::BadRequest("formulaire trop volumineux".into()).into_response(),
    };
    let sent: Option<String> = if content_type.starts_with("application/x-www-form-urlencoded") {
        url_form_field(&bytes, "csrf")
    } else {
        None
    };
    let user = session_user(&session).await.ok().flatten();
    let value = format!("{}:{}", nonce.nonce, user.unwrap_or(0));
    match sent {
        Some(s) if state.signer.verify("csrf", &value, &s) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => WebError::Forbidden.into_response(),
    }
}

/// Whether a state-changing API call comes from our own pages or from a client that is not a
/// browser: a browser names the page's origin (`Origin`) or says the request is cross-site
/// (`Sec-Fetch-Site`); a bodiless cross-site POST carrying the cookie is refused.
fn same_origin(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let ours = state.settings.public_url.origin().ascii_serialization();
            // Behind the TLS proxy the scheme differs from what we see; the host must not.
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let authority = origin.split_once("://").map(|(_, a)| a);
            origin == ours || (host.is_some() && authority == host)
        }
    }
}

fn url_form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The logged-in user, if any.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<account::user::User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let session = session_of(parts)?;
        let Some(id) = session.get::<u64>(USER_KEY).await? else {
            return Ok(MaybeUser(None));
        };
        let mut conn = state.pool.acquire().await?;
        let user = account::user::find(&mut conn, id)
            .await?
            .filter(|u| u.active);
        Ok(MaybeUser(user))
    }
}

/// A logged-in user (pages redirect to the login page, the API answers 401).
#[derive(Clone, Debug)]
pub struct CurrentUser(pub account::user::User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        match MaybeUser::from_request_parts(parts, state).await? {
            MaybeUser(Some(user)) => Ok(CurrentUser(user)),
            MaybeUser(None) => Err(WebError::LoginRequired),
        }
    }
}

/// Starts the user's session: a fresh session id (no fixation), the user recorded.
pub async fn log_in(session: &Session, user_id: u64) -> Result<(), WebError> {
    session.cycle_id().await?;
    session.insert(USER_KEY, user_id).await?;
    Ok(())
}

/// Ends it: the record is deleted and the cookie cleared.
pub async fn log_out(session: &Session) -> Result<(), WebError> {
    session.flush().await?;
    Ok(())
}

/// Login attempts: 20 a minute per client address, and 10 a minute per account from devices
/// that never logged into it. The account limit slows a spread-out guesser without locking the
/// owner out: their browser's known-device cookie ([`KnownDevice`]) or a password-reset link
/// gets past it.
#[derive(Clone)]
pub struct LoginLimiter {
    by_account: Arc<DefaultKeyedRateLimiter<String>>,
    by_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Password links: 3 an hour per address (no mailbox flooding), 10 a minute per client.
    links_by_address: Arc<DefaultKeyedRateLimiter<String>>,
    links_by_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).expect("non-zero"))
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        LoginLimiter {
            by_account: Arc::new(RateLimiter::keyed(per_minute(10))),
            by_client: Arc::new(RateLimiter::keyed(per_minute(20))),
            links_by_address: Arc::new(RateLimiter::keyed(Quota::per_hour(
                NonZeroU32::new(3).expect("non-zero"),
            ))),
            links_by_client: Arc::new(RateLimiter::keyed(per_minute(10))),
        }
    }
}

impl LoginLimiter {
    /// `account` is the key the database matches (the parsed e-mail); `known_device` says the
    /// request carries this account's known-device cookie.
    pub fn check(&self, account: &str, client: IpAddr, known_device: bool) -> Result<(), WebError> {
        let client_ok = self.by_client.check_key(&client).is_ok();
        let account_ok = known_device || self.by_account.check_key(&account.to_owned()).is_ok();
        if client_ok && account_ok {
            Ok(())
        } else {
            Err(WebError::TooManyRequests)
        }
    }
}

impl LoginLimiter {
    /// A password link asked for `address` (the parsed e-mail, or empty) from `client`.
    pub fn check_link(&self, address: &str, client: IpAddr) -> Result<(), WebError> {
        let client_ok = self.links_by_client.check_key(&client).is_ok();
        let address_ok =
            address.is_empty() || self.links_by_address.check_key(&address.to_owned()).is_ok();
        if client_ok && address_ok {
            Ok(())
        } else {
            Err(WebError::TooManyRequests)
        }
    }
}

/// Posts without a session, per client address: 30 a minute.
pub fn anonymous_post_limiter() -> Arc<DefaultKeyedRateLimiter<IpAddr>> {
    Arc::new(RateLimiter::keyed(per_minute(30)))
}

const DEVICE_COOKIE: &str = "ocpizza_device";

/// The account this browser logged into before, if its `ocpizza_device` cookie (the user id
/// signed with `SECRET_KEY`, set at each successful log-in) says so.
#[derive(Clone, Copy, Debug)]
pub struct KnownDevice(pub Option<u64>);

impl FromRequestParts<AppState> for KnownDevice {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let known = cookie(&parts.headers, DEVICE_COOKIE)
            .and_then(|v| v.split_once('.'))
            .filter(|(id, sig)| state.signer.verify("device", id, sig))
            .and_then(|(id, _)| id.parse().ok());
        Ok(KnownDevice(known))
    }
}

/// The `Set-Cookie` header that marks this browser as a known device of `user_id` (a year).
pub fn device_cookie(state: &AppState, user_id: u64) -> (header::HeaderName, String) {
    let id = user_id.to_string();
    let secure = if state.settings.env.is_production() {
        "; Secure"
    } else {
        ""
    };
    (
        header::SET_COOKIE,
        format!(
            "{DEVICE_COOKIE}={id}.{}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{secure}",
            state.signer.sign("device", &id)
        ),
    )
}

/// The client's address: the socket's peer, or, when that peer is one of the configured
/// `TRUSTED_PROXIES` (nginx in production), the last address the proxy appended to
/// `X-Forwarded-For`. Anyone else's header is ignored, so a local process cannot forge its way
/// past the login limits.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub fn of(parts: &Parts, trusted_proxies: &[IpAddr]) -> ClientAddr {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        if !trusted_proxies.contains(&peer) {
            return ClientAddr(peer);
        }
        // The proxy appends the address it saw; earlier hops are the client's own claims.
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|v| v.trim().parse().ok());
        ClientAddr(forwarded.unwrap_or(peer))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        Ok(ClientAddr::of(parts, &state.settings.trusted_proxies))
    }
}

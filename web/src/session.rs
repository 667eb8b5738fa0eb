//! Sessions, the logged-in user, CSRF and login throttling.
//!
//! - Sessions are tower-sessions records kept in MariaDB (`sessions`), so any web instance
//!   serves any request. The cookie (`ocpizza_session`) is HttpOnly, SameSite=Lax, Secure in
//!   production, and holds only a random id; login issues a new id, logout deletes the record.
//! - CSRF: a random token per session, required in the `csrf` field of every form POST (checked
//!   once, in [`csrf_guard`], so no form can forget it). The JSON API accepts only
//!   `application/json` bodies, which a cross-site form cannot send, and SameSite cookies do the
//!   rest. Stripe's webhook is authenticated by its signature instead.
//! - Login attempts are limited per e-mail and per client address (governor).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

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
const CSRF_KEY: &str = "csrf";

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

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, WebError> {
    if let Some(token) = session.get::<String>(CSRF_KEY).await? {
        return Ok(token);
    }
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    session.insert(CSRF_KEY, &token).await?;
    Ok(token)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Refuses state-changing requests without a valid CSRF token (forms) or with a body that is
/// not JSON (API). See the module docs.
pub async fn csrf_guard(request: Request, next: Next) -> Response {
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
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return WebError::Internal("session layer missing".into()).into_response();
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return WebError::BadRequest("formulaire trop volumineux".into()).into_response(),
    };
    let sent: Option<String> = if content_type.starts_with("application/x-www-form-urlencoded") {
        url_form_field(&bytes, "csrf")
    } else {
        None
    };
    let expected = session.get::<String>(CSRF_KEY).await.ok().flatten();
    match (sent, expected) {
        (Some(s), Some(e)) if same(&s, &e) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => WebError::Forbidden.into_response(),
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
    // A new token too: one seen before login is worth nothing after.
    session.remove::<String>(CSRF_KEY).await?;
    Ok(())
}

/// Ends it: the record is deleted and the cookie cleared.
pub async fn log_out(session: &Session) -> Result<(), WebError> {
    session.flush().await?;
    Ok(())
}

/// Login attempts: 5 a minute per e-mail, 20 a minute per client address.
#[derive(Clone)]
pub struct LoginLimiter {
    by_email: Arc<DefaultKeyedRateLimiter<String>>,
    by_client: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        let per_minute = |n| Quota::per_minute(NonZeroU32::new(n).expect("non-zero"));
        LoginLimiter {
            by_email: Arc::new(RateLimiter::keyed(per_minute(5))),
            by_client: Arc::new(RateLimiter::keyed(per_minute(20))),
        }
    }
}

impl LoginLimiter {
    pub fn check(&self, email: &str, client: IpAddr) -> Result<(), WebError> {
        let email_ok = self.by_email.check_key(&email.to_lowercase()).is_ok();
        let client_ok = self.by_client.check_key(&client).is_ok();
        if email_ok && client_ok {
            Ok(())
        } else {
            Err(WebError::TooManyRequests)
        }
    }
}

/// The client's address: the first `X-Forwarded-For` hop when behind our nginx (which sets it),
/// else the socket's peer.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, WebError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok());
        // Only a proxy on this machine may speak for the client.
        Ok(ClientAddr(if peer.is_loopback() {
            forwarded.unwrap_or(peer)
        } else {
            peer
        }))
    }
}

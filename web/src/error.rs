//! The one place errors become HTTP responses. Pages get a short French page (never internal
//! details); the JSON API gets `{"error": {"code", "message"}}`. Bad input is 400 or 422, a
//! missing or foreign object 404, never a 500; unexpected failures are logged and answered with
//! a generic 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not found, or not yours (the same answer, so ids cannot be probed).
    #[error("page introuvable")]
    NotFound,
    /// Needs a logged-in user: pages redirect to the login page.
    #[error("connectez-vous pour continuer")]
    LoginRequired,
    /// Refused (a form without its CSRF token, staff-only pages).
    #[error("action refusée : rechargez la page et recommencez")]
    Forbidden,
    /// Malformed request (unparsable body, missing field).
    #[error("{0}")]
    BadRequest(String),
    /// Understood but refused by a rule; the text says what to change.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("trop de tentatives : réessayez dans une minute")]
    TooManyRequests,
    #[error("le paiement est momentanément indisponible : réessayez dans un instant")]
    PaymentUnavailable,
    #[error("erreur interne")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::LoginRequired => StatusCode::UNAUTHORIZED,
            WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            WebError::PaymentUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            WebError::NotFound => "not_found",
            WebError::LoginRequired => "login_required",
            WebError::Forbidden => "forbidden",
            WebError::BadRequest(_) => "bad_request",
            WebError::Invalid(_) => "invalid",
            WebError::Conflict(_) => "conflict",
            WebError::TooManyRequests => "too_many_requests",
            WebError::PaymentUnavailable => "payment_unavailable",
            WebError::Internal(_) => "internal",
        }
    }

    fn log(&self) {
        if let WebError::Internal(detail) = self {
            tracing::error!(%detail, "request failed");
        }
    }
}

macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for WebError {
            fn from(e: $t) -> Self { WebError::Internal(e.to_string()) }
        }
    )*};
}
internal_from!(
    sqlx::Error,
    minijinja::Error,
    tower_sessions::session::Error,
    messages::MessagingError
);

impl From<order::OrderError> for WebError {
    fn from(e: order::OrderError) -> Self {
        use order::OrderError as E;
        match e {
            E::NotFound => WebError::NotFound,
            E::Invalid(m) => WebError::Invalid(m),
            E::Transition(t) => WebError::Conflict(t.to_string()),
            E::Conflict => WebError::Conflict(E::Conflict.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<payment::PaymentError> for WebError {
    fn from(e: payment::PaymentError) -> Self {
        match e {
            payment::PaymentError::Stripe(payment::StripeFailure::Transient(m)) => {
                tracing::warn!(error = %m, "Stripe unavailable");
                WebError::PaymentUnavailable
            }
            payment::PaymentError::Order(e) => e.into(),
            payment::PaymentError::UnknownIntent => WebError::NotFound,
            other => WebError::Internal(other.to_string()),
        }
    }
}

/// Page responses.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.log();
        if let WebError::LoginRequired = self {
            return Redirect::to("/connexion").into_response();
        }
        let message = match &self {
            WebError::Internal(_) => {
                "Une erreur est survenue. Réessayez dans un instant.".to_owned()
            }
            other => other.to_string(),
        };
        let body = format!(
            "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>OC Pizza</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head><body><main><h1>Oups</h1><p class=\"error\">{}</p><p><a href=\"/\">Retour à l'accueil</a></p></main></body></html>",
            minijinja::HtmlEscape(&message)
        );
        (self.status(), Html(body)).into_response()
    }
}

/// JSON API responses: the same errors, as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

/// Every API error: a stable machine `code` and a French `message` for people.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `bad_request`, `invalid`, `not_found`, `login_required`, `forbidden`, `conflict`,
    /// `too_many_requests`, `payment_unavailable` or `internal`.
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let message = match &e {
            WebError::Internal(_) => "erreur interne".to_owned(),
            other => other.to_string(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: e.code(),
                message,
            },
        };
        (e.status(), Json(body)).into_response()
    }
}

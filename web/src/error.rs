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
    /// The database could not finish (a deadlock, a Galera certification conflict, a node lost
    /// mid-transaction): worth trying again, which [`retried`] does for order placement.
    #[error("le service est momentanément indisponible : réessayez dans un instant")]
    Unavailable(String),
    #[error("erreur interne")]
    Internal(String),
}

impl From<vocab::InputError> for WebError {
    fn from(e: vocab::InputError) -> Self {
        WebError::Invalid(e.to_string())
    }
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
            WebError::PaymentUnavailable | WebError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
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
            WebError::Unavailable(_) => "unavailable",
            WebError::Internal(_) => "internal",
        }
    }

    /// What went wrong inside, for the logs and Sentry (never shown to the visitor): attached to
    /// the response and logged by [`report`] with the request it belongs to.
    fn attach_detail(&self, response: &mut Response) {
        if let WebError::Internal(detail) | WebError::Unavailable(detail) = self {
            response
                .extensions_mut()
                .insert(InternalDetail(detail.clone()));
        }
    }
}

/// The inside story of a 500, carried from the error to [`report`].
#[derive(Clone, Debug)]
struct InternalDetail(String);

/// Logs every internal error once, with the request's method and path and the order it concerns
/// (so Sentry events say which order a customer or pizzaiolo was stuck on).
pub async fn report(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    // A `Uri` clone shares its bytes: nothing is copied for the requests that go well.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    if let Some(InternalDetail(detail)) = response.extensions().get::<InternalDetail>() {
        let path = uri.path();
        match order_id_in(path) {
            Some(order_id) => {
                tracing::error!(%method, %path, order_id, %detail, "request failed")
            }
            None => tracing::error!(%method, %path, %detail, "request failed"),
        }
    }
    response
}

/// The order a path is about: the number after `commandes` or `orders`.
pub fn order_id_in(path: &str) -> Option<u64> {
    let mut segments = path.split('/');
    while let Some(s) = segments.next() {
        if s == "commandes" || s == "orders" {
            return segments.next()?.parse().ok();
        }
    }
    None
}

macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for WebError {
            fn from(e: $t) -> Self { WebError::Internal(e.to_string()) }
        }
    )*};
}
internal_from!(
    report::ReportError,
    minijinja::Error,
    tower_sessions::session::Error
);

impl From<messages::MessagingError> for WebError {
    fn from(e: messages::MessagingError) -> Self {
        match e {
            messages::MessagingError::Db(e) => e.into(),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        if db::is_transient(&e) {
            WebError::Unavailable(e.to_string())
        } else {
            WebError::Internal(e.to_string())
        }
    }
}

/// An error after which a request's transaction may simply run again.
pub trait Transient {
    fn transient(&self) -> bool;
}

impl Transient for WebError {
    fn transient(&self) -> bool {
        matches!(self, WebError::Unavailable(_))
    }
}

/// Runs a transaction again when the database could not finish it: a Galera node refuses a
/// commit that conflicts with one certified on another node, and a node that dies takes its
/// transactions with it. Jittered, so checkouts that collided do not collide again in step;
/// about two seconds at most. Only for bodies that are safe to repeat: placing an order is, by
/// its idempotency key (a commit whose answer was lost finds the order placed).
pub async fn retried<T, E, F, Fut>(body: F) -> Result<T, E>
where
    E: Transient,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    use backon::Retryable as _;
    body.retry(
        backon::ExponentialBuilder::default()
            .with_min_delay(std::time::Duration::from_millis(20))
            .with_max_delay(std::time::Duration::from_millis(500))
            .with_jitter()
            .with_max_times(7),
    )
    .sleep(tokio::time::sleep)
    .when(Transient::transient)
    .notify(|_, wait| {
        tracing::warn!(
            retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "transaction failed on a transient database error; running it again"
        )
    })
    .await
}

impl From<order::OrderError> for WebError {
    fn from(e: order::OrderError) -> Self {
        use order::OrderError as E;
        match e {
            E::NotFound => WebError::NotFound,
            E::Invalid(m) => WebError::Invalid(m),
            E::Transition(t) => WebError::Conflict(t.to_string()),
            E::Conflict => WebError::Conflict(E::Conflict.to_string()),
            E::Locked(m) => WebError::Conflict(m),
            E::Db(e) => e.into(),
            E::Messaging(e) => e.into(),
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
            e @ (payment::PaymentError::NothingToRefund
            | payment::PaymentError::AlreadyRefunded
            | payment::PaymentError::AboveRefundable(_)
            | payment::PaymentError::Refund(_)
            | payment::PaymentError::Counter(_)) => WebError::Invalid(capitalised(&e.to_string())),
            other => WebError::Internal(other.to_string()),
        }
    }
}

/// A message from a domain crate (lower case, to be embedded) as a sentence of its own.
pub fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Page responses.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
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
        let mut response = (self.status(), Html(body)).into_response();
        self.attach_detail(&mut response);
        response
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
    /// `too_many_requests`, `payment_unavailable`, `unavailable` or `internal`.
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
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
        let mut response = (e.status(), Json(body)).into_response();
        e.attach_detail(&mut response);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::order_id_in;

    #[test]
    fn the_order_a_path_is_about() {
        assert_eq!(order_id_in("/commandes/42"), Some(42));
        assert_eq!(order_id_in("/commandes/42/flux"), Some(42));
        assert_eq!(order_id_in("/api/orders/7/payment"), Some(7));
        assert_eq!(order_id_in("/equipe/paris-11/commandes/9/statut"), Some(9));
        assert_eq!(order_id_in("/api/orders"), None);
        assert_eq!(order_id_in("/commandes/abc"), None);
        assert_eq!(order_id_in("/pizzerias/paris-11"), None);
    }
}

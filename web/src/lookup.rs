//! Finding what a request names, within what its user may reach: a customer's own order (any
//! other id is "not found", whether it exists or not) or the order whose key the link holds, a
//! pizzeria that takes orders.

use catalog::Pizzeria;
use order::Order;
use sqlx::MySqlConnection;

use crate::error::WebError;
use crate::state::AppState;

/// The order if it belongs to `user`; 404 otherwise (whether it exists or not).
pub async fn own_order(
    state: &AppState,
    user: &account::user::User,
    id: u64,
) -> Result<Order, WebError> {
    let mut conn = state.pool.acquire().await?;
    match Order::load(&mut conn, id).await {
        Ok(o) if o.customer_id == user.id => Ok(o),
        Ok(_) | Err(order::OrderError::NotFound) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Who asks for an order page: the logged-in customer, and the key of the order's own link
/// (`?cle=…`, in its e-mails and in every link of its pages), a guest's only way in.
pub struct Viewer {
    pub user: Option<account::user::User>,
    pub key: Option<String>,
}

#[derive(serde::Deserialize)]
struct KeyQuery {
    cle: Option<String>,
}

impl axum::extract::FromRequestParts<AppState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, WebError> {
        let crate::session::MaybeUser(user) =
            crate::session::MaybeUser::from_request_parts(parts, state).await?;
        let key = axum::extract::Query::<KeyQuery>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.cle)
            .filter(|k| !k.is_empty());
        Ok(Viewer { user, key })
    }
}

/// An order its viewer may reach, with the key to carry on its links if that is how.
pub struct Viewed {
    pub order: Order,
    key: Option<String>,
}

impl Viewed {
    /// `?cle=…` to append to the order's URLs, or nothing for its logged-in customer.
    pub fn query(&self) -> String {
        self.key
            .as_ref()
            .map(|k| format!("?cle={k}"))
            .unwrap_or_default()
    }

    /// The same, after other parameters (`&cle=…`).
    pub fn and_query(&self) -> String {
        self.key
            .as_ref()
            .map(|k| format!("&cle={k}"))
            .unwrap_or_default()
    }
}

/// The order if the viewer holds its key or is its customer; 404 otherwise, and the login
/// page for a visitor with neither.
pub async fn viewed_order(state: &AppState, viewer: &Viewer, id: u64) -> Result<Viewed, WebError> {
    if let Some(key) = viewer
        .key
        .as_ref()
        .filter(|k| state.signer.is_order_key(id, k))
    {
        let mut conn = state.pool.acquire().await?;
        return match Order::load(&mut conn, id).await {
            Ok(order) => Ok(Viewed {
                order,
                key: Some(key.clone()),
            }),
            Err(order::OrderError::NotFound) => Err(WebError::NotFound),
            Err(e) => Err(e.into()),
        };
    }
    match (&viewer.user, &viewer.key) {
        (Some(user), _) => Ok(Viewed {
            order: own_order(state, user, id).await?,
            key: None,
        }),
        (None, Some(_)) => Err(WebError::NotFound),
        (None, None) => Err(WebError::LoginRequired),
    }
}

pub async fn active_shop(conn: &mut MySqlConnection, code: &str) -> Result<Pizzeria, WebError> {
    Pizzeria::find_by_code(conn, code)
        .await?
        .filter(|p| p.active)
        .ok_or(WebError::NotFound)
}

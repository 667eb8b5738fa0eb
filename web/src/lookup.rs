//! Finding what a request names, within what its user may reach: a customer's own order (any
//! other id is "not found", whether it exists or not), a pizzeria that takes orders.

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

pub async fn active_shop(conn: &mut MySqlConnection, code: &str) -> Result<Pizzeria, WebError> {
    Pizzeria::find_by_code(conn, code)
        .await?
        .filter(|p| p.active)
        .ok_or(WebError::NotFound)
}

//! The delivery screen: ready deliveries with address, instructions and what to collect; mark
//! them out, then delivered with the payment collected at the door.

use crate::extract::Path;
use account::access::Screen;
use axum::extract::State;
use axum::response::Html;
use minijinja::context;

use super::{board, render, shop_for, tenders};
use crate::error::WebError;
use crate::page::Page;
use crate::session::CurrentUser;
use crate::state::AppState;
use vocab::OrderStatus;

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Delivery).await?;
    let deliveries = |s: OrderStatus| {
        let state = state.clone();
        let shop = shop.clone();
        async move {
            board(&state, &shop, &[s]).await.map(|orders| {
                orders
                    .into_iter()
                    .filter(|o| o.is_delivery())
                    .collect::<Vec<_>>()
            })
        }
    };
    let ready = deliveries(OrderStatus::Ready).await?;
    let out = deliveries(OrderStatus::OutForDelivery).await?;
    render(
        &page,
        &user,
        &shop,
        "delivery.html",
        context! { ready => ready, out => out, tenders => tenders() },
    )
}

//! The delivery screen, on a rider's phone: their own run first (taken, then out), the ready
//! deliveries nobody took yet, the other riders' ones (moving those on has to be said); each
//! with the address, a map link and what to collect; and the money they collected today.

use std::collections::HashMap;

use crate::extract::Path;
use account::access::Screen;
use axum::extract::State;
use axum::response::{Html, Redirect};
use catalog::Pizzeria;
use minijinja::{Value, context};
use serde::Serialize;

use super::{StaffOrder, board, render, shop_for, tenders};
use crate::error::WebError;
use crate::page::{Page, flash};
use crate::session::CurrentUser;
use crate::state::AppState;
use vocab::{Cents, OrderStatus};

/// A delivery as the rider's phone shows it.
#[derive(Serialize)]
struct Run {
    #[serde(flatten)]
    order: StaffOrder,
    /// Who took it, when it is someone else.
    driver: Option<String>,
    /// Opens the phone's maps app on the address (`geo:`), and the web map as a fallback.
    geo: Option<String>,
    map: Option<String>,
    out: bool,
}

fn run(order: StaffOrder, names: &HashMap<u64, String>, me: u64) -> Run {
    let query = order
        .address()
        .map(|a| url::form_urlencoded::byte_serialize(a.as_bytes()).collect::<String>());
    Run {
        driver: order.driver_id().filter(|d| *d != me).map(|d| {
            names
                .get(&d)
                .cloned()
                .unwrap_or_else(|| "un autre livreur".into())
        }),
        geo: query.as_ref().map(|q| format!("geo:0,0?q={q}")),
        map: query.map(|q| format!("https://www.google.com/maps/search/?api=1&query={q}")),
        out: order.status() == OrderStatus::OutForDelivery,
        order,
    }
}

/// Mine, untaken, others', each due first.
async fn sections(state: &AppState, shop: &Pizzeria, me: u64) -> Result<Value, WebError> {
    let mut all: Vec<StaffOrder> = board(
        state,
        shop,
        &[OrderStatus::Ready, OrderStatus::OutForDelivery],
    )
    .await?
    .into_iter()
    .filter(|o| o.is_delivery())
    .collect();
    all.sort_by_key(|o| o.due_at());
    let mut conn = state.pool.acquire().await?;
    let drivers: Vec<u64> = all.iter().filter_map(StaffOrder::driver_id).collect();
    let names = account::user::names(&mut conn, &drivers).await?;
    let (mut mine, mut free, mut others) = (Vec::new(), Vec::new(), Vec::new());
    for o in all {
        match o.driver_id() {
            Some(d) if d == me => mine.push(run(o, &names, me)),
            None => free.push(run(o, &names, me)),
            Some(_) => others.push(run(o, &names, me)),
        }
    }
    let from = super::manage::start_of_day();
    let collected: Vec<_> =
        payment::counter::collected_by_staff(&mut conn, shop.id, from, chrono::Utc::now())
            .await?
            .into_iter()
            .filter(|c| c.staff_id == me)
            .collect();
    let total: i64 = collected.iter().map(|c| c.cents).sum();
    let cash: Vec<Value> = collected
        .iter()
        .map(|c| context! { label => c.label, amount => money(c.cents), payments => c.payments })
        .collect();
    Ok(context! {
        mine => mine,
        free => free,
        others => others,
        tenders => tenders(),
        cash => cash,
        cash_total => money(total),
        shop => crate::views::ShopView::from(shop),
    })
}

pub fn money(cents: i64) -> String {
    Cents(u32::try_from(cents.max(0)).unwrap_or(u32::MAX)).to_string()
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Delivery).await?;
    let ctx = sections(&state, &shop, user.id).await?;
    render(&page, &user, &shop, "delivery.html", ctx)
}

/// The deliveries alone, refetched on each server-sent event; what the rider chose in them
/// (the means of payment) is carried over by the page.
pub async fn fragment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Delivery).await?;
    let ctx = sections(&state, &shop, user.id).await?;
    page.fragment("delivery_board.html", ctx)
}

/// « Je la prends »: the ready delivery becomes this rider's.
pub async fn take(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, id)): Path<(String, u64)>,
    page: Page,
) -> Result<Redirect, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Delivery).await?;
    super::order_of(&state, &shop, id).await?;
    let mut tx = state.pool.begin().await?;
    match order::delivery::take(&mut tx, id, user.id).await {
        Ok(_) => {
            tx.commit().await?;
            flash(
                &page.session,
                format!("Commande n°{id} ajoutée à votre tournée."),
            )
            .await?;
        }
        Err(order::OrderError::Locked(m)) => flash(&page.session, m).await?,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/equipe/{code}/livraisons")))
}

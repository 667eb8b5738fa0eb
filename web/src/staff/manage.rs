//! The manager's screen for their pizzeria: the live order board by status, today's orders and
//! takings by payment method, the stock with thresholds (low first) and its restocks and
//! corrections, each written to the ledger with who and why.

use crate::extract::Form;
use crate::extract::Path;
use account::access::Screen;
use axum::extract::State;
use axum::response::{Html, Redirect};
use chrono::{Datelike, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use messages::{Envelope, outbox};
use minijinja::context;
use order::Order;
use serde::Deserialize;

use super::{board, render, shop_for};
use crate::error::WebError;
use crate::page::{Page, flash};
use crate::session::CurrentUser;
use crate::state::AppState;
use vocab::{Cents, OrderStatus};

/// Every status an order waits in.
const ACTIVE: [OrderStatus; 6] = [
    OrderStatus::AwaitingPayment,
    OrderStatus::Placed,
    OrderStatus::Confirmed,
    OrderStatus::Preparing,
    OrderStatus::Ready,
    OrderStatus::OutForDelivery,
];

/// Midnight today in Paris, in UTC.
pub fn start_of_day() -> chrono::DateTime<Utc> {
    let now = Utc::now().with_timezone(&Paris);
    Paris
        .with_ymd_and_hms(now.year(), now.month(), now.day(), 0, 0, 0)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Management).await?;
    let orders = board(&state, &shop, &ACTIVE).await?;
    let from = start_of_day();
    let mut conn = state.pool.acquire().await?;
    let counts: Vec<_> = Order::count_by_status(&mut conn, shop.id, from)
        .await?
        .into_iter()
        .map(|(s, n)| {
            context! {
                status => s.as_str(),
                label => s.label_fr(vocab::Fulfilment::Pickup),
                count => n,
            }
        })
        .collect();
    let day_total: i64 = Order::count_by_status(&mut conn, shop.id, from)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let takings = payment::counter::takings(&mut conn, shop.id, from, Utc::now()).await?;
    let takings_total: i64 = takings.iter().map(|t| t.cents).sum();
    let takings: Vec<_> = takings
        .iter()
        .map(|t| {
            context! {
                label => t.label,
                amount => Cents(u32::try_from(t.cents.max(0)).unwrap_or(u32::MAX)).to_string(),
                payments => t.payments,
            }
        })
        .collect();
    let levels = stock::levels(&mut conn, shop.id).await?;
    let low: Vec<_> = levels.iter().filter(|l| l.is_low()).cloned().collect();
    render(
        &page,
        &user,
        &shop,
        "manage.html",
        context! {
            orders => orders,
            counts => counts,
            day_total => day_total,
            takings => takings,
            takings_total => Cents(u32::try_from(takings_total.max(0)).unwrap_or(u32::MAX)).to_string(),
            levels => levels,
            low => low,
        },
    )
}

#[derive(Deserialize)]
pub struct AdjustForm {
    kind: String,
    quantity: String,
    #[serde(default)]
    note: String,
}

/// A restock (a delivery received: adds) or a correction (a count, waste: adds or removes).
pub async fn adjust(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, ingredient_id)): Path<(String, u64)>,
    page: Page,
    Form(form): Form<AdjustForm>,
) -> Result<Redirect, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Management).await?;
    let back = Redirect::to(&format!("/equipe/{code}/gestion"));
    let kind = match form.kind.as_str() {
        "restock" => stock::Adjustment::Restock,
        "correction" => stock::Adjustment::Correction,
        _ => return Err(WebError::BadRequest("type d'ajustement inconnu".into())),
    };
    let Ok(delta) = form
        .quantity
        .trim()
        .parse::<i64>()
        .map_err(|_| ())
        .and_then(|d| {
            if (-stock::MAX_QUANTITY..=stock::MAX_QUANTITY).contains(&d) {
                Ok(d)
            } else {
                Err(())
            }
        })
    else {
        flash(
            &page.session,
            format!(
                "Quantité invalide : un nombre entier (au plus {} en valeur absolue), négatif pour retirer.",
                stock::MAX_QUANTITY
            ),
        )
        .await?;
        return Ok(back);
    };
    let note = form.note.trim();
    if kind == stock::Adjustment::Correction && note.is_empty() {
        flash(
            &page.session,
            "Une correction doit dire pourquoi (inventaire, perte…).",
        )
        .await?;
        return Ok(back);
    }
    let mut tx = state.pool.begin().await?;
    match stock::adjust(&mut tx, shop.id, ingredient_id, delta, kind, user.id, note).await {
        Ok((quantity, low)) => {
            if let Some(low) = low {
                outbox::enqueue(&mut tx, &Envelope::new(low.event(shop.id))).await?;
            }
            tx.commit().await?;
            flash(&page.session, format!("Stock mis à jour : {quantity}.")).await?;
        }
        Err(stock::StockError::UnknownStock) => return Err(WebError::NotFound),
        Err(
            e @ (stock::StockError::ZeroDelta
            | stock::StockError::WouldGoNegative { .. }
            | stock::StockError::TooLarge
            | stock::StockError::NoteTooLong),
        ) => {
            flash(&page.session, e.to_string()).await?;
        }
        Err(e) => return Err(WebError::Internal(e.to_string())),
    }
    Ok(back)
}

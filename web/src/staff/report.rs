//! The end-of-day report (« Z ») for any day: on screen, and as CSV for the accountant.
//! The figures are the report crate's; this module only reads the day from the query.

use std::collections::HashMap;

use crate::extract::{Path, Query};
use account::access::Screen;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use minijinja::{Value, context};
use report::ZReport;

use super::{render, shop_for};
use crate::error::WebError;
use crate::page::Page;
use crate::session::CurrentUser;
use crate::state::AppState;
use vocab::Fulfilment;

/// `?jour=AAAA-MM-JJ`, today (Paris) when absent.
fn day_of(query: &HashMap<String, String>) -> Result<NaiveDate, WebError> {
    match query
        .get("jour")
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
    {
        None => Ok(Utc::now()
            .with_timezone(&chrono_tz::Europe::Paris)
            .date_naive()),
        Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            WebError::Invalid("Date invalide : choisissez un jour dans le calendrier.".into())
        }),
    }
}

/// What the template shows of a report.
pub fn view(z: &ZReport) -> Value {
    let by = |rows: &[report::z::ByMethod]| -> Vec<Value> {
        rows.iter()
            .map(|r| context! { label => r.method.label_fr(), count => r.count, amount => r.amount.to_string() })
            .collect()
    };
    let net = z.net_takings();
    context! {
        day => z.day.format("%d/%m/%Y").to_string(),
        iso => z.day.format("%Y-%m-%d").to_string(),
        orders => z.orders.iter().map(|(s, n)| context! { label => s.label_fr(Fulfilment::Pickup), count => n }).collect::<Vec<_>>(),
        orders_count => z.orders_count,
        handed_over => z.handed_over,
        sales => z.sales.iter().map(|l| context! { rate => l.rate.label_fr(), gross => l.gross.to_string(), vat => l.vat.to_string(), net => l.net.to_string() }).collect::<Vec<_>>(),
        sales_gross => z.sales_gross.to_string(),
        by_category => z.by_category.iter().map(|c| context! { label => c.category.label_fr(), items => c.items, gross => c.gross.to_string() }).collect::<Vec<_>>(),
        delivery_fees => (z.delivery_fees.0 > 0).then(|| z.delivery_fees.to_string()),
        sales_vat => z.sales_vat.to_string(),
        sales_net => vocab::Cents(z.sales_gross.0 - z.sales_vat.0).to_string(),
        takings => by(&z.takings),
        takings_total => z.takings_total.to_string(),
        refunds => by(&z.refunds),
        refunds_total => z.refunds_total.to_string(),
        net => format!("{}{}", if net < 0 { "−" } else { "" }, super::delivery::money(net.abs())),
    }
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Management).await?;
    let day = day_of(&query)?;
    let mut conn = state.pool.acquire().await?;
    let z = report::z::for_day(&mut conn, shop.id, day).await?;
    render(
        &page,
        &user,
        &shop,
        "report.html",
        context! { z => view(&z) },
    )
}

pub async fn csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Management).await?;
    let day = day_of(&query)?;
    let mut conn = state.pool.acquire().await?;
    let z = report::z::for_day(&mut conn, shop.id, day).await?;
    let body = z.to_csv(&shop.name)?;
    let name = format!("z-{}-{}.csv", shop.code, day.format("%Y-%m-%d"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        // A byte-order mark, so that spreadsheets read the accents as UTF-8.
        format!("\u{feff}{body}"),
    )
        .into_response())
}

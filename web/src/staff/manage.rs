//! The manager's screen for their pizzeria: the live order board by status, today's orders and
//! takings by payment method and by who collected them, the stock with thresholds (low first),
//! its restocks and corrections (each written to the ledger with who and why) and each
//! ingredient's history; and « 86 », which the kitchen may use too.

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
    let menu = crate::views::menu(&mut conn, shop.id).await?;
    let cash: Vec<_> = payment::counter::collected_by_staff(&mut conn, shop.id, from, Utc::now())
        .await?
        .into_iter()
        .map(|c| {
            context! {
                who => c.staff_name,
                label => c.label,
                payments => c.payments,
                amount => super::delivery::money(c.cents),
            }
        })
        .collect();
    let kitchen = pace::store::capacity_of(&mut conn, shop.id).await?;
    let ranges = opening_periods(&shop);
    let periods: Vec<_> = ranges
        .iter()
        .enumerate()
        .filter(|_| ranges.len() > 1)
        .map(|(i, (opens, closes))| {
            let own = kitchen.periods.iter().flatten().find(|p| p.opens == *opens);
            context! {
                name => format!("period_{i}"),
                label => period_label(*opens, *closes),
                value => own.map(|p| p.per_quarter.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let made = pace::store::made(&mut conn, shop.id).await?;
    let learnt = pace::Pace::learn(&made).map(|p| {
        format!(
            "{} min + {} par pizza (d'après les {} dernières commandes)",
            p.base_seconds / 60,
            minutes_seconds(p.per_pizza_seconds),
            made.len()
        )
    });
    let refused: Vec<_> =
        mail::send::refused_for_shop(&mut conn, shop.id, Utc::now() - chrono::Duration::days(7))
            .await?
            .into_iter()
            .map(|r| {
                context! {
                    order_id => r.order_id,
                    at => super::day_clock(r.at, Utc::now()),
                    recipient => r.recipient,
                    subject => r.subject,
                    reason => r.reason,
                }
            })
            .collect();
    let kept = order::promise::kept_since(&mut conn, shop.id, from).await?;
    let day = order::promise::day(&kept);
    let kept: Vec<_> = kept
        .iter()
        .rev()
        .take(15)
        .map(|k| {
            let m = k.error_minutes();
            context! {
                id => k.id,
                promised => super::clock(k.promised_at),
                actual => super::clock(k.actual_at),
                error => if m > 0 { format!("+{m} min") } else { format!("{m} min") },
                late => k.is_late(),
            }
        })
        .collect();
    render(
        &page,
        &user,
        &shop,
        "manage.html",
        context! {
            kitchen => context! {
                per_quarter => kitchen.per_quarter,
                max_wait => kitchen.max_wait.num_minutes(),
                learnt => learnt,
                periods => periods,
            },
            promises => context! { day => day, kept => kept },
            orders => orders,
            counts => counts,
            day_total => day_total,
            takings => takings,
            takings_total => Cents(u32::try_from(takings_total.max(0)).unwrap_or(u32::MAX)).to_string(),
            levels => levels,
            low => low,
            sold_out_count => menu.iter().filter(|m| m.sold_out).count(),
            menu => menu,
            cash => cash,
            refused_mail => refused,
        },
    )
}

/// « 1 min 35 s », « 45 s ».
fn minutes_seconds(seconds: u32) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
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

/// `/equipe/{code}/stock/{ingredient_id}`: the ingredient's movements, newest first, with the
/// quantity each left, and its alert threshold.
pub async fn history(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, ingredient_id)): Path<(String, u64)>,
    page: Page,
) -> Result<Html<String>, WebError> {
    const LIMIT: u32 = 200;
    let shop = shop_for(&state, &user, &code, Screen::Management).await?;
    let mut conn = state.pool.acquire().await?;
    let level = stock::levels(&mut conn, shop.id)
        .await?
        .into_iter()
        .find(|l| l.ingredient_id == ingredient_id)
        .ok_or(WebError::NotFound)?;
    let moves: Vec<_> = stock::ledger(&mut conn, shop.id, ingredient_id, LIMIT)
        .await?
        .into_iter()
        .map(|m| {
            context! {
                at => crate::views::paris(m.created_at),
                label => match m.reason.as_str() {
                    "seed" => "Stock initial",
                    "reservation" => "Réservé pour la commande",
                    "release" => "Rendu par la commande",
                    "restock" => "Réception",
                    _ => "Correction",
                },
                delta => format!("{:+}", m.delta),
                balance => m.balance,
                order_id => m.order_id,
                who => m.who,
                note => m.note,
            }
        })
        .collect();
    render(
        &page,
        &user,
        &shop,
        "stock_history.html",
        context! { level => level, moves => moves, limit => LIMIT },
    )
}

#[derive(Deserialize)]
pub struct ThresholdForm {
    threshold: String,
}

/// The manager sets an ingredient's alert threshold.
pub async fn threshold(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, ingredient_id)): Path<(String, u64)>,
    page: Page,
    Form(form): Form<ThresholdForm>,
) -> Result<Redirect, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Management).await?;
    let back = Redirect::to(&format!("/equipe/{code}/stock/{ingredient_id}"));
    let Ok(value) = form.threshold.trim().parse::<i64>() else {
        flash(
            &page.session,
            "Seuil invalide : un nombre entier positif ou nul.",
        )
        .await?;
        return Ok(back);
    };
    let mut tx = state.pool.begin().await?;
    match stock::set_threshold(&mut tx, shop.id, ingredient_id, value).await {
        Ok(()) => {
            tx.commit().await?;
            flash(
                &page.session,
                format!("Seuil d'alerte enregistré : {value}."),
            )
            .await?;
        }
        Err(stock::StockError::UnknownStock) => return Err(WebError::NotFound),
        Err(stock::StockError::TooLarge) => {
            flash(
                &page.session,
                format!("Seuil invalide : entre 0 et {}.", stock::MAX_QUANTITY),
            )
            .await?;
        }
        Err(e) => return Err(WebError::Internal(e.to_string())),
    }
    Ok(back)
}

#[derive(Deserialize)]
pub struct CapacityForm {
    per_quarter: String,
    max_wait: String,
    /// `period_0`, `period_1`…: a figure for each of the shop's opening periods, empty for the
    /// shop's.
    #[serde(flatten)]
    periods: std::collections::BTreeMap<String, String>,
}

/// The shop's opening periods, as (opens, closes) Paris minutes.
fn opening_periods(shop: &catalog::Pizzeria) -> Vec<(u16, u16)> {
    catalog::hours::OpeningHours::parse(&shop.opening_hours)
        .map(|h| h.ranges)
        .unwrap_or_default()
}

/// « 11:30–14:30 ».
fn period_label(opens: u16, closes: u16) -> String {
    let hm = |m: u16| format!("{:02}:{:02}", (m / 60) % 24, m % 60);
    format!("{}–{}", hm(opens), hm(closes))
}

/// The kitchen's pace, changed live (« on est deux ce soir »): promises and slots follow at
/// once; orders already taken keep their place.
pub async fn capacity(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
    Form(form): Form<CapacityForm>,
) -> Result<Redirect, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Management).await?;
    let back = Redirect::to(&format!("/equipe/{code}/gestion"));
    let (Ok(per_quarter), Ok(max_wait)) = (
        form.per_quarter.trim().parse::<u32>(),
        form.max_wait.trim().parse::<u32>(),
    ) else {
        flash(&page.session, "Capacité invalide : des nombres entiers.").await?;
        return Ok(back);
    };
    let mut periods = Vec::new();
    for (i, (opens, closes)) in opening_periods(&shop).into_iter().enumerate() {
        let raw = form
            .periods
            .get(&format!("period_{i}"))
            .map_or("", |v| v.trim());
        if raw.is_empty() {
            continue;
        }
        let Ok(n) = raw.parse::<u32>() else {
            let message = format!(
                "Capacité invalide pour le service {} : un nombre entier.",
                period_label(opens, closes)
            );
            flash(&page.session, message).await?;
            return Ok(back);
        };
        periods.push(pace::Period {
            opens,
            closes,
            per_quarter: n,
        });
    }
    let mut tx = state.pool.begin().await?;
    let set =
        pace::store::set_capacity(&mut tx, shop.id, per_quarter, &periods, max_wait, user.id).await;
    match set {
        Ok(()) => {
            tx.commit().await?;
            let own: Vec<String> = periods
                .iter()
                .map(|p| format!("{} : {}", period_label(p.opens, p.closes), p.per_quarter))
                .collect();
            let own = if own.is_empty() {
                String::new()
            } else {
                format!(" ({})", own.join(", "))
            };
            let message = format!(
                "Cuisine : {per_quarter} pizzas par quart d'heure{own}, « dès que possible » jusqu'à {max_wait} minutes d'attente."
            );
            flash(&page.session, message).await?;
        }
        Err(pace::store::SetError(m)) if !m.starts_with("database error") => {
            flash(&page.session, crate::error::capitalised(&m)).await?
        }
        Err(pace::store::SetError(m)) => return Err(WebError::Internal(m)),
    }
    Ok(back)
}

#[derive(Deserialize)]
pub struct SoldOutForm {
    #[serde(default)]
    sold_out: String,
    #[serde(default)]
    back: String,
}

/// « 86 » from the manager's or the kitchen's screen: stop selling a pizza now, or sell it
/// again; the stock is not touched.
pub async fn sold_out(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, pizza_id)): Path<(String, u64)>,
    page: Page,
    Form(form): Form<SoldOutForm>,
) -> Result<Redirect, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Kitchen).await?;
    let back = match form.back.as_str() {
        "gestion" => format!("/equipe/{code}/gestion"),
        _ => format!("/equipe/{code}/cuisine"),
    };
    let mut conn = state.pool.acquire().await?;
    let item = catalog::product::menu(&mut conn, shop.id)
        .await?
        .into_iter()
        .find(|m| m.id == pizza_id)
        .ok_or(WebError::NotFound)?;
    let stop = form.sold_out == "1";
    catalog::menu::set_sold_out(&mut conn, shop.id, pizza_id, stop, user.id).await?;
    let message = if stop {
        format!("« {} » n'est plus proposée pour le moment.", item.name)
    } else {
        format!("« {} » est de nouveau proposée.", item.name)
    };
    flash(&page.session, message).await?;
    Ok(Redirect::to(&back))
}

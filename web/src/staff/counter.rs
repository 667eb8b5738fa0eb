//! The counter: orders taken face to face or by phone, through the same pipeline and rules as web
//! orders (prices and stock from the server, idempotency key, outbox), paid at the counter or on
//! delivery; and the ready pickups to hand over, with the payment collected.

use std::collections::HashMap;

use crate::extract::Form;
use crate::extract::{Path, Query};
use account::Email;
use account::access::Screen;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::context;
use order::{NewLine, NewOrder, Placed};

use super::{board, render, shop_for, tenders};
use crate::error::WebError;
use crate::page::{Page, flash};
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::views::parse_local;
use vocab::{
    Actor, Cents, Channel, DeliveryAddress, Fulfilment, OrderStatus, PaymentMethod, PaymentMode,
    PersonName, Phone,
};

async fn show(
    state: &AppState,
    user: &account::user::User,
    code: &str,
    page: &Page,
    form: HashMap<String, String>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let shop = shop_for(state, user, code, Screen::Counter).await?;
    let mut conn = state.pool.acquire().await?;
    let menu = crate::views::menu(&mut conn, shop.id).await?;
    let suggestions = match form.get("customer_phone") {
        Some(phone) if form.contains_key("chercher") || form.contains_key("customer_id") => {
            Some(account::user::suggest_by_phone(&mut conn, phone).await?)
        }
        _ => None,
    };
    let (running, pickups) = counter_board(state, &shop).await?;
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let html = render(
        page,
        user,
        &shop,
        "counter.html",
        context! {
            menu => menu,
            pickups => pickups,
            running => running,
            tenders => tenders(),
            // Products whose options were touched: their « Options » stay open.
            opened => form
                .keys()
                .filter_map(|k| {
                    let rest = k.strip_prefix("opt_").or_else(|| k.strip_prefix("sans_")).or_else(|| k.strip_prefix("group_"))?;
                    rest.split('_').next().map(str::to_owned)
                })
                .collect::<Vec<_>>(),
            form => form,
            suggestions => suggestions,
            error => error,
            idempotency_key => uuid::Uuid::new_v4().simple().to_string(),
        },
    )?;
    Ok((status, html).into_response())
}

/// Every order on its way (placed to out for delivery, due first), and the ready pickups.
async fn counter_board(
    state: &AppState,
    shop: &catalog::Pizzeria,
) -> Result<(Vec<super::StaffOrder>, Vec<super::StaffOrder>), WebError> {
    let mut all = board(state, shop, &RUNNING).await?;
    all.sort_by_key(|o| o.due_at());
    let (pickups, running) = all
        .into_iter()
        .partition(|o| o.status() == OrderStatus::Ready && !o.is_delivery());
    Ok((running, pickups))
}

/// What the counter follows.
const RUNNING: [OrderStatus; 6] = [
    OrderStatus::AwaitingPayment,
    OrderStatus::Placed,
    OrderStatus::Confirmed,
    OrderStatus::Preparing,
    OrderStatus::Ready,
    OrderStatus::OutForDelivery,
];

/// The board alone, refetched on each server-sent event (the order form below it is left as
/// the person is filling it).
pub async fn fragment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
) -> Result<axum::response::Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Counter).await?;
    let (running, pickups) = counter_board(&state, &shop).await?;
    page.fragment(
        "counter_board.html",
        context! {
            running => running,
            pickups => pickups,
            tenders => tenders(),
            shop => crate::views::ShopView::from(&shop),
        },
    )
}

/// The counter page; `?chercher=1&customer_phone=…` (the form's « Chercher ce numéro ») keeps
/// what was typed and lists the known customers with that number, for staff to confirm.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let form: HashMap<String, String> = query.into_iter().filter(|(k, _)| k != "csrf").collect();
    show(&state, &user, &code, &page, form, None).await
}

pub async fn place(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Counter).await?;
    match crate::error::retried(|| place_order(&state, &user, shop.id, &form)).await {
        Ok((id, paid)) => {
            let money = match paid {
                Some(s) if s.change.0 > 0 => {
                    format!(" Payée ({}) : rendez {} au client.", s.describe(), s.change)
                }
                Some(s) => format!(" Payée ({}).", s.describe()),
                None => String::new(),
            };
            flash(
                &page.session,
                format!(
                    "Commande n°{id} enregistrée : elle part en cuisine dès confirmation du stock.{money}"
                ),
            )
            .await?;
            Ok(Redirect::to(&format!("/equipe/{code}/comptoir")).into_response())
        }
        Err(WebError::Invalid(message)) => {
            show(&state, &user, &code, &page, form, Some(message)).await
        }
        Err(e) => Err(e),
    }
}

/// What a walk-in paid when ordering: the amount each means pays, and what was handed in cash.
type PaidNow = (Vec<(PaymentMethod, Cents)>, Option<Cents>);

/// What the counter says was paid when the order is placed (a walk-in pays first). `None` when
/// paid later, at hand-over.
fn paid_now(form: &HashMap<String, String>) -> Result<Option<PaidNow>, WebError> {
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    if field("pay_now") != "1" {
        return Ok(None);
    }
    let amount = |name: &str, label: &str| -> Result<Option<Cents>, WebError> {
        match field(name) {
            "" => Ok(None),
            raw => Cents::parse_eur(raw).map(Some).ok_or_else(|| {
                WebError::Invalid(format!(
                    "Montant invalide pour « {label} » : par exemple 12,50."
                ))
            }),
        }
    };
    let mut parts = Vec::new();
    for method in PaymentMethod::ON_SITE {
        if let Some(c) = amount(&format!("paid_{}", method.as_str()), method.label_fr())? {
            parts.push((method, c));
        }
    }
    let given = amount("cash_given", "somme remise en espèces")?;
    Ok(Some((parts, given)))
}

async fn place_order(
    state: &AppState,
    user: &account::user::User,
    pizzeria_id: u64,
    form: &HashMap<String, String>,
) -> Result<(u64, Option<payment::counter::Split>), WebError> {
    let paying = paid_now(form)?;
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    let (Ok(name), Ok(Some(phone))) = (
        PersonName::parse(field("customer_name")),
        Phone::parse(field("customer_phone")),
    ) else {
        return Err(WebError::Invalid(
            "indiquez le nom et le téléphone du client".into(),
        ));
    };
    let (name, phone) = (name.as_str(), phone.as_str());
    let email = match field("customer_email") {
        "" => None,
        raw => Some(Email::parse(raw).map_err(|e| WebError::Invalid(e.to_string()))?),
    };
    let channel = Channel::parse(field("channel"))
        .filter(|c| *c != Channel::Web)
        .unwrap_or(Channel::Counter);
    let fulfilment = Fulfilment::parse(field("fulfilment")).unwrap_or(Fulfilment::Pickup);
    let desired_at = match field("when") {
        "slot" => Some(parse_local(field("slot"))?),
        _ => None,
    };
    let mut lines: Vec<NewLine> = form
        .iter()
        .filter_map(|(k, v)| {
            let pizza_id = k.strip_prefix("qty_")?.parse::<u64>().ok()?;
            let quantity = v.trim().parse::<u32>().ok().filter(|q| *q > 0)?;
            // Each product's row: its size, options (`opt_{id}_{code}`, or one choice in
            // `group_{id}_{group}`) and removals (`sans_{id}_{code}`).
            let keyed = |prefix: String| -> Vec<String> {
                let mut codes: Vec<String> = form
                    .iter()
                    .filter_map(|(k, v)| {
                        let code = k.strip_prefix(&prefix)?;
                        (!v.trim().is_empty()).then(|| code.to_owned())
                    })
                    .collect();
                codes.sort();
                codes
            };
            let mut options = keyed(format!("opt_{pizza_id}_"));
            options.extend(
                form.iter()
                    .filter(|(k, v)| {
                        k.starts_with(&format!("group_{pizza_id}_")) && !v.trim().is_empty()
                    })
                    .map(|(_, v)| v.trim().to_owned()),
            );
            Some(NewLine {
                pizza_id,
                quantity,
                size: Some(field(&format!("size_{pizza_id}")))
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                options,
                remove: keyed(format!("sans_{pizza_id}_")),
                notes: field(&format!("note_{pizza_id}")).to_owned(),
            })
        })
        .collect();
    lines.sort_by_key(|l| l.pizza_id);
    let idempotency_key = format!("staff-{}-{}", user.id, field("idempotency_key"));
    let mut tx = state.pool.begin().await?;
    // A double submit by this staff member finds the order the first one placed (its customer
    // record is new each time, so the usual per-customer key lookup cannot).
    if let Some(id) = order::place::find_by_staff_key(&mut tx, user.id, &idempotency_key).await? {
        return Ok((id, None));
    }
    let chosen = match field("customer_id").parse::<u64>() {
        Ok(id) => Some(
            account::user::chosen_customer(&mut tx, id)
                .await?
                .ok_or_else(|| WebError::Invalid("ce client n'existe plus".into()))?,
        ),
        Err(_) => None,
    };
    let walk_in = match chosen {
        // Staff checked with the caller that this is them.
        Some(customer_id) => account::user::WalkIn {
            customer_id,
            contact_email: None,
        },
        None => account::user::walk_in(&mut tx, email.as_ref(), name, phone).await?,
    };
    let new = NewOrder {
        pizzeria_id,
        customer_id: walk_in.customer_id,
        channel,
        fulfilment,
        payment_mode: PaymentMode::OnSite,
        on_site_plan: None,
        customer_name: name.to_owned(),
        customer_phone: phone.to_owned(),
        contact_email: walk_in.contact_email,
        delivery: (fulfilment == Fulfilment::Delivery).then(|| DeliveryAddress {
            street: field("street").to_owned(),
            complement: field("complement").to_owned(),
            postal_code: field("postal_code").to_owned(),
            city: field("city").to_owned(),
            instructions: field("instructions").to_owned(),
        }),
        desired_at,
        notes: field("notes").to_owned(),
        lines,
        idempotency_key,
    };
    let placed = order::place::place(&mut tx, &new, Actor::Staff(user.id), Utc::now()).await?;
    let order = match placed {
        Placed::Created(o) | Placed::AlreadyPlaced(o) => o,
    };
    // Paid on the spot: recorded with the order, or nothing is (the form comes back as typed).
    let paid = match paying {
        Some((amounts, given)) => {
            let split = payment::counter::split(order.total, &amounts, given)?;
            payment::counter::record_split(&mut tx, &order, &split, user.id).await?;
            Some(split)
        }
        None => None,
    };
    tx.commit().await?;
    Ok((order.id, paid))
}

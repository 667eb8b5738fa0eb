//! The staff order page: everything about one order (customer, lines, history with who did
//! what, payments, refunds, tickets) and what the staff member may do with it: move it on, end
//! it (cancel or reject, with a reason), give money back. And the search that finds an order by
//! number, name or phone.
//!
//! Who may do what is the screens' rule: anyone working in the pizzeria sees the page; the
//! counter and the manager end orders; only the manager refunds, and only the manager chooses a
//! partial refund when ending an order (the counter's end gives back everything).

use std::collections::HashMap;

use crate::extract::{Form, Path, Query};
use account::access::{Access, Screen, check};
use account::user::User;
use axum::extract::State;
use axum::response::{Html, Redirect};
use catalog::Pizzeria;
use minijinja::{Value, context};
use order::Order;
use payment::refund::{self, Asked, Refund};
use payment::{Payment, PaymentError};
use serde::Serialize;

use super::{render, shop_for, staff_view, tenders};
use crate::error::{WebError, capitalised};
use crate::page::{Page, flash};
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::views::paris;
use vocab::{Cents, EndReason, OrderStatus, PaymentMode};

fn may(user: &User, shop: &Pizzeria, screen: Screen) -> bool {
    check(user.role, user.pizzeria_id, screen, Some(shop.id)) == Access::Granted
}

fn order_page(code: &str, id: u64) -> Redirect {
    Redirect::to(&format!("/equipe/{code}/commandes/{id}"))
}

#[derive(Serialize)]
struct MoveView {
    to: &'static str,
    label: String,
    /// A scheduled order started before its time: asked first, then sent as `early`.
    early: Option<String>,
}

/// The moves along the lifecycle this staff member may make now (ending aside).
fn moves(user: &User, shop: &Pizzeria, o: &Order) -> Vec<MoveView> {
    let next = [
        (
            OrderStatus::Preparing,
            Screen::Kitchen,
            "Commencer la préparation",
        ),
        (OrderStatus::Ready, Screen::Kitchen, "Marquer prête"),
        (
            OrderStatus::OutForDelivery,
            Screen::Delivery,
            "Partir en livraison",
        ),
        (OrderStatus::Delivered, Screen::Delivery, "Livrée"),
        (OrderStatus::PickedUp, Screen::Counter, "Remise au client"),
    ];
    let early = order::timing::is_for_later(o, chrono::Utc::now());
    next.into_iter()
        .filter(|(to, screen, _)| {
            o.status.can_move_to(*to, o.fulfilment) && may(user, shop, *screen)
        })
        .map(|(to, _, label)| MoveView {
            to: to.as_str(),
            label: label.to_owned(),
            early: (to == OrderStatus::Preparing && early).then(|| {
                format!(
                    "Commande prévue pour {} (à commencer vers {}) : la commencer maintenant ? Un paiement en ligne sera encaissé dès maintenant.",
                    o.desired_at.map(super::clock).unwrap_or_default(),
                    super::clock(order::timing::start_at(o))
                )
            }),
        })
        .collect()
}

fn payment_view(p: &Payment) -> Value {
    context! {
        method => p.method.label_fr(),
        status => p.status.as_str(),
        status_label => match p.status {
            vocab::PaymentStatus::Pending => "En attente du client",
            vocab::PaymentStatus::Authorised => "Autorisé (pas encore encaissé)",
            vocab::PaymentStatus::Captured if p.refunded_cents > 0 => "Encaissé, remboursé en partie",
            vocab::PaymentStatus::Captured => "Encaissé",
            vocab::PaymentStatus::Voided => "Autorisation levée",
            vocab::PaymentStatus::Refunded => "Remboursé",
            vocab::PaymentStatus::Failed => "Échec",
            vocab::PaymentStatus::Collected => "Encaissé sur place",
        },
        amount => Cents(p.amount_cents).to_string(),
        captured => Cents(p.captured_cents).to_string(),
        refunded => (p.refunded_cents > 0).then(|| Cents(p.refunded_cents).to_string()),
        failure => p.failure_reason.clone(),
    }
}

fn refund_view(r: &Refund, names: &HashMap<u64, String>) -> Value {
    context! {
        amount => Cents(r.amount_cents).to_string(),
        method => r.method.label_fr(),
        status => r.status.as_str(),
        status_label => r.status.label_fr(),
        reason => r.reason,
        by => r.requested_by.and_then(|id| names.get(&id).cloned()),
        at => paris(r.done_at.unwrap_or(r.created_at)),
        failure => r.failure_reason.clone(),
    }
}

/// `/equipe/{code}/commandes/{id}`: the order, for whoever works in the pizzeria.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, id)): Path<(String, u64)>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Live).await?;
    let o = super::order_of(&state, &shop, id).await?;
    let mut conn = state.pool.acquire().await?;
    let history: Vec<Value> = order::history::entries(&mut conn, id)
        .await?
        .into_iter()
        .map(|e| {
            context! {
                label => e.to_status.label_fr(o.fulfilment),
                modified => e.reason == order::history::MODIFIED,
                at => paris(e.created_at),
                who => match (e.actor_kind.as_str(), e.who) {
                    ("system", _) => "Système".to_owned(),
                    ("customer", Some(name)) => format!("{name} (client)"),
                    (_, Some(name)) => name,
                    (_, None) => "?".to_owned(),
                },
                reason => e.reason,
            }
        })
        .collect();
    let payments = Payment::for_order(&mut conn, id).await?;
    let refunds = Refund::for_order(&mut conn, id).await?;
    let asked_by: Vec<u64> = refunds.iter().filter_map(|r| r.requested_by).collect();
    let who = account::user::names(&mut conn, &asked_by).await?;
    let tickets: Vec<Value> = ticket::print::for_order(&mut conn, id)
        .await?
        .into_iter()
        .map(|t| {
            context! {
                kind => if t.kind == "reprint" { "Réimpression" } else { "Original" },
                status => t.status,
                status_label => match t.status.as_str() {
                    "printed" => "Imprimé",
                    "failed" => "Échec",
                    _ => "En attente",
                },
                printer => t.printer,
                via_backup => t.via_backup,
                attempts => t.attempts,
                error => t.last_error,
                at => paris(t.printed_at.unwrap_or(t.created_at)),
            }
        })
        .collect();
    let refundable = refund::refundable(&mut conn, id).await?;
    let paid = payment::counter::is_paid(&mut conn, id).await?;
    let manager = may(&user, &shop, Screen::Management);
    let lines: Vec<Value> = o
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            context! {
                index => i,
                name => l.pizza_name,
                quantity => l.quantity,
                notes => l.notes,
                unit => l.unit_price.to_string(),
                amount => l.unit_price.saturating_mul(l.quantity).to_string(),
            }
        })
        .collect();
    let reasons: Vec<Value> = EndReason::ALL
        .iter()
        .map(|r| context! { value => r.as_str(), label => r.label_fr(), ends => r.status().label_fr(o.fulfilment) })
        .collect();
    render(
        &page,
        &user,
        &shop,
        "staff_order.html",
        context! {
            o => staff_view(&o),
            lines => lines,
            contact => o.contact_email,
            history => history,
            payments => payments.iter().map(payment_view).collect::<Vec<_>>(),
            refunds => refunds.iter().map(|r| refund_view(r, &who)).collect::<Vec<_>>(),
            tickets => tickets,
            moves => moves(&user, &shop, &o),
            to_collect => o.payment_mode == PaymentMode::OnSite && !paid,
            online => o.payment_mode == PaymentMode::Online,
            tenders => tenders(),
            may_end => !o.status.is_final() && may(&user, &shop, Screen::Counter),
            may_reprint => may(&user, &shop, Screen::Kitchen),
            manager => manager,
            reasons => reasons,
            refundable => (refundable.0 > 0).then(|| refundable.to_string()),
            may_refund => manager && refundable.0 > 0,
            started => !o.status.is_modifiable(),
        },
    )
}

/// The quantities to give back per line (`refund_qty_{index}`), 0 where nothing was typed.
fn quantities(o: &Order, form: &HashMap<String, String>) -> Result<Vec<u32>, WebError> {
    (0..o.lines.len())
        .map(
            |i| match form.get(&format!("refund_qty_{i}")).map(|v| v.trim()) {
                None | Some("") => Ok(0),
                Some(v) => v.parse::<u32>().map_err(|_| {
                    WebError::Invalid(format!(
                        "Quantité à rembourser invalide pour « {} » : un nombre entier.",
                        o.lines[i].pizza_name
                    ))
                }),
            },
        )
        .collect()
}

/// Back to the order page saying what was done, or what went wrong (the forms are short:
/// staff choose again).
async fn answer(
    page: &Page,
    code: &str,
    id: u64,
    done: Result<String, WebError>,
) -> Result<Redirect, WebError> {
    match done {
        Ok(m) | Err(WebError::Invalid(m) | WebError::Conflict(m)) => {
            flash(&page.session, m).await?;
            Ok(order_page(code, id))
        }
        Err(other) => Err(other),
    }
}

/// Ends the order (counter, manager): cancelled at the customer's request, else rejected; the
/// manager may give back only some lines of a captured payment.
pub async fn end(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, id)): Path<(String, u64)>,
    page: Page,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Redirect, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Counter).await?;
    super::order_of(&state, &shop, id).await?;
    let done = end_order(&state, &user, &shop, id, &form).await;
    answer(&page, &code, id, done).await
}

async fn end_order(
    state: &AppState,
    user: &User,
    shop: &Pizzeria,
    id: u64,
    form: &HashMap<String, String>,
) -> Result<String, WebError> {
    let why = form
        .get("reason")
        .and_then(|r| EndReason::parse(r))
        .ok_or_else(|| WebError::Invalid("Choisissez une raison dans la liste.".into()))?;
    let detail = form.get("detail").map(String::as_str).unwrap_or("");
    let partial = form.get("refund").map(String::as_str) == Some("lines");
    if partial && !may(user, shop, Screen::Management) {
        return Err(WebError::Forbidden);
    }
    let mut tx = state.pool.begin().await?;
    let before = match order::transition::end_by_staff(&mut tx, id, why, detail, user.id).await {
        Ok(before) => before,
        Err(order::OrderError::Invalid(m)) => return Err(WebError::Invalid(m)),
        Err(order::OrderError::Transition(e)) => {
            return Err(WebError::Conflict(format!("Commande n°{id} : {e}.")));
        }
        Err(e) => return Err(e.into()),
    };
    // Money taken on site (a walk-in paid first) comes back from the till now; a Stripe
    // payment through the payments worker (all of it, unless the manager chose lines).
    let refundable = refund::refundable(&mut tx, id).await?;
    let on_site = before.payment_mode == PaymentMode::OnSite;
    let give_back = if partial {
        let (amount, words) = refund::for_lines(&before.lines, &quantities(&before, form)?)
            .map_err(|e| WebError::Invalid(capitalised(&e.to_string())))?;
        Some((amount, format!("{} — {words}", why.label_fr())))
    } else if on_site && refundable.0 > 0 {
        Some((refundable, why.label_fr().to_owned()))
    } else {
        None
    };
    let money = match give_back {
        Some(_) if refundable.0 == 0 => {
            " Rien n'était encaissé : l'autorisation est levée en entier.".to_owned()
        }
        Some((amount, reason)) => {
            match refund::ask(&mut tx, &before, amount, &reason, user.id).await? {
                Asked::Done(_) => format!(" Rendez {amount} au client en caisse."),
                Asked::Requested(_) => format!(" Remboursement de {amount} demandé."),
            }
        }
        None => String::new(),
    };
    tx.commit().await?;
    let ended = why.status().label_fr(before.fulfilment).to_lowercase();
    let stock = if before.status.is_modifiable() {
        "le stock est rendu"
    } else {
        "les ingrédients comptent comme utilisés"
    };
    Ok(format!(
        "Commande n°{id} {ended} ({}) : le client est prévenu, {stock}.{money}",
        why.label_fr()
    ))
}

/// A refund the manager gives (a complaint, or lines of an ended order): by lines or by amount.
pub async fn give_back(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, id)): Path<(String, u64)>,
    page: Page,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Redirect, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Management).await?;
    let o = super::order_of(&state, &shop, id).await?;
    let done = refund_order(&state, &user, &o, &form).await;
    answer(&page, &code, id, done).await
}

async fn refund_order(
    state: &AppState,
    user: &User,
    o: &Order,
    form: &HashMap<String, String>,
) -> Result<String, WebError> {
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    let motive = field("motive");
    if motive.is_empty() {
        return Err(WebError::Invalid(
            "Indiquez le motif du remboursement (réclamation, pizza manquante…).".into(),
        ));
    }
    if motive.chars().count() > vocab::status::END_DETAIL_MAX {
        return Err(WebError::Invalid(
            "Le motif est trop long (400 caractères au plus).".into(),
        ));
    }
    let (amount, reason) = match field("mode") {
        "amount" => {
            let amount = Cents::parse_eur(field("amount"))
                .ok_or_else(|| WebError::Invalid("Montant invalide : par exemple 12,50.".into()))?;
            (amount, motive.to_owned())
        }
        _ => {
            let (amount, words) = refund::for_lines(&o.lines, &quantities(o, form)?)
                .map_err(|e| WebError::Invalid(capitalised(&e.to_string())))?;
            (amount, format!("{motive} — {words}"))
        }
    };
    let mut tx = state.pool.begin().await?;
    let asked = refund::ask(&mut tx, o, amount, &reason, user.id).await;
    let message = match asked {
        Ok(Asked::Requested(_)) => format!(
            "Remboursement de {amount} demandé à Stripe : il apparaît ci-dessous dès qu'il est fait, et le client reçoit un e-mail."
        ),
        Ok(Asked::Done(_)) => {
            format!("Remboursement de {amount} enregistré : rendez-le au client en caisse.")
        }
        Err(e @ (PaymentError::Db(_) | PaymentError::Messaging(_))) => return Err(e.into()),
        Err(e) => return Err(WebError::Invalid(capitalised(&e.to_string()))),
    };
    tx.commit().await?;
    Ok(message)
}

/// `/equipe/{code}/commandes?q=…`: the pizzeria's orders by number, name or phone.
pub async fn search(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Live).await?;
    let q = query.get("q").map(|q| q.trim()).unwrap_or("");
    if q.chars().count() > 120 {
        return Err(WebError::Invalid("Recherche trop longue.".into()));
    }
    let mut conn = state.pool.acquire().await?;
    let found: Vec<_> = Order::search(&mut conn, shop.id, q, 50)
        .await?
        .iter()
        .map(staff_view)
        .collect();
    render(
        &page,
        &user,
        &shop,
        "search.html",
        context! { q => q, found => found, searched => !q.is_empty() },
    )
}

//! The staff screens. Staff log in like customers; every request checks the user's role and
//! pizzeria against the screen ([`account::access`]) on the server: a wrong role is refused
//! (403), another pizzeria's screen does not exist for them (404).
//!
//! - [`kitchen`]: orders to prepare, live; start, finish, reprint; recipes;
//! - [`counter`]: orders taken at the counter or by phone; pickups handed over;
//! - [`delivery`]: deliveries to take out and the money collected at the door;
//! - [`manage`]: the manager's board, stock and figures;
//! - [`orders`]: one order with its history, payments and tickets; ending it, refunding it;
//!   finding it;
//! - [`report`]: the end-of-day report (« Z »), on screen and as CSV;
//! - [`admin`]: the group's pizzerias, menu, printers and staff.

pub mod admin;
pub mod carte;
pub mod counter;
pub mod delivery;
pub mod kitchen;
pub mod manage;
pub mod orders;
pub mod report;

use std::convert::Infallible;
use std::time::Duration;

use crate::extract::Form;
use crate::extract::Path;
use account::access::{Access, Screen, check};
use account::user::User;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, Redirect};
use catalog::Pizzeria;
use chrono::Utc;
use futures_util::Stream;
use minijinja::{Value, context};
use order::Order;
use serde::{Deserialize, Serialize};

use crate::error::WebError;
use crate::page::{Page, flash};
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::views::{order_view, paris};
use vocab::{Actor, OrderStatus};

/// The pizzeria named in the path, if `user` may use `screen` there.
pub async fn shop_for(
    state: &AppState,
    user: &User,
    code: &str,
    screen: Screen,
) -> Result<Pizzeria, WebError> {
    let mut conn = state.pool.acquire().await?;
    let shop = Pizzeria::find_by_code(&mut conn, code).await?;
    let pizzeria_id = shop.as_ref().map(|s| s.id);
    match (
        check(user.role, user.pizzeria_id, screen, pizzeria_id),
        shop,
    ) {
        (Access::Granted, Some(shop)) => Ok(shop),
        (Access::WrongRole, _) if user.role.is_staff() => Err(WebError::Forbidden),
        _ => Err(WebError::NotFound),
    }
}

/// Group-wide screens (admin).
pub fn group(user: &User, screen: Screen) -> Result<(), WebError> {
    match check(user.role, user.pizzeria_id, screen, None) {
        Access::Granted => Ok(()),
        _ if user.role.is_staff() => Err(WebError::Forbidden),
        _ => Err(WebError::NotFound),
    }
}

/// One of the pizzeria's orders (another pizzeria's is "not found").
pub async fn order_of(state: &AppState, shop: &Pizzeria, id: u64) -> Result<Order, WebError> {
    let mut conn = state.pool.acquire().await?;
    match Order::load(&mut conn, id).await {
        Ok(o) if o.pizzeria_id == shop.id => Ok(o),
        Ok(_) | Err(order::OrderError::NotFound) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
pub struct ScreenLink {
    label: &'static str,
    href: String,
}

/// The screens this user may open, for the staff navigation bar.
pub fn screens(user: &User, code: &str) -> Vec<ScreenLink> {
    let own = user.pizzeria_id;
    let mut links: Vec<ScreenLink> = [
        (Screen::Kitchen, "Cuisine", "cuisine"),
        (Screen::Counter, "Comptoir", "comptoir"),
        (Screen::Delivery, "Livraisons", "livraisons"),
        (Screen::Management, "Gestion", "gestion"),
    ]
    .into_iter()
    .filter(|(screen, _, _)| check(user.role, own, *screen, own.or(Some(0))) == Access::Granted)
    .map(|(_, label, path)| ScreenLink {
        label,
        href: format!("/equipe/{code}/{path}"),
    })
    .collect();
    if group(user, Screen::Admin).is_ok() {
        links.push(ScreenLink {
            label: "Administration",
            href: "/admin".into(),
        });
    }
    links
}

/// Renders a staff page: the screen's template with the navigation and the shop.
pub fn render(
    page: &Page,
    user: &User,
    shop: &Pizzeria,
    template: &str,
    ctx: Value,
) -> Result<Html<String>, WebError> {
    page.render(
        template,
        context! {
            screens => screens(user, &shop.code),
            shop => crate::views::ShopView::from(shop),
            ..ctx
        },
    )
}

/// `/equipe`: each staff member lands on their own screen.
pub async fn home(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Redirect, WebError> {
    use account::Role;
    let screen = match user.role {
        Role::Admin => return Ok(Redirect::to("/admin")),
        Role::Customer => return Err(WebError::NotFound),
        Role::Pizzaiolo => "cuisine",
        Role::Counter => "comptoir",
        Role::Delivery => "livraisons",
        Role::Manager => "gestion",
    };
    let mut conn = state.pool.acquire().await?;
    let shop = match user.pizzeria_id {
        Some(id) => Pizzeria::find(&mut conn, id).await?,
        None => None,
    }
    .ok_or(WebError::NotFound)?;
    Ok(Redirect::to(&format!("/equipe/{}/{screen}", shop.code)))
}

/// Server-sent events for the staff screens: a `board` event now and whenever one of the
/// pizzeria's orders changes (or every 30 s, so ages stay fresh). The page then refetches its
/// board fragment.
pub async fn stream(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Live).await?;
    let pool = state.pool.clone();
    let pizzeria_id = shop.id;
    type Stamp = Option<chrono::NaiveDateTime>;
    let events = futures_util::stream::unfold(
        (pool, None::<Stamp>, 0u32),
        move |(pool, last, quiet)| async move {
            let mut quiet = quiet;
            loop {
                if last.is_some() {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let mut conn = pool.acquire().await.ok()?;
                let stamp: Stamp = order::history::board_stamp(&mut conn, pizzeria_id)
                    .await
                    .ok()?;
                drop(conn);
                quiet += 1;
                if last != Some(stamp) || quiet >= 30 {
                    let data = stamp
                        .map(|s| s.and_utc().timestamp_micros())
                        .unwrap_or(0)
                        .to_string();
                    return Some((
                        Ok(SseEvent::default().event("board").data(data)),
                        (pool, Some(stamp), 0),
                    ));
                }
            }
        },
    );
    Ok(Sse::new(state.until_stopping(events)).keep_alive(KeepAlive::default()))
}

#[derive(Deserialize)]
pub struct MoveForm {
    to: String,
    #[serde(default)]
    tender: String,
    #[serde(default)]
    back: String,
    /// Set by the « commencer en avance » confirmation of a scheduled order.
    #[serde(default)]
    early: String,
    /// « À sa place »: moving on another rider's delivery, on purpose.
    #[serde(default)]
    in_their_place: String,
}

/// The screen allowed to make each move.
fn screen_for(to: OrderStatus) -> Option<Screen> {
    match to {
        OrderStatus::Preparing | OrderStatus::Ready => Some(Screen::Kitchen),
        OrderStatus::OutForDelivery | OrderStatus::Delivered => Some(Screen::Delivery),
        OrderStatus::PickedUp => Some(Screen::Counter),
        _ => None,
    }
}

/// A status change from a staff screen; handing over an order paid on site records the money.
pub async fn move_order(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, id)): Path<(String, u64)>,
    page: Page,
    Form(form): Form<MoveForm>,
) -> Result<Redirect, WebError> {
    let to = OrderStatus::parse(&form.to)
        .ok_or_else(|| WebError::BadRequest("statut inconnu".into()))?;
    let screen = screen_for(to).ok_or(WebError::Forbidden)?;
    let shop = shop_for(&state, &user, &code, screen).await?;
    let o = order_of(&state, &shop, id).await?;
    let back = match form.back.as_str() {
        "comptoir" | "livraisons" | "gestion" => format!("/equipe/{code}/{}", form.back),
        "commande" => format!("/equipe/{code}/commandes/{id}"),
        _ => format!("/equipe/{code}/cuisine"),
    };
    if to == OrderStatus::Preparing
        && order::timing::is_for_later(&o, Utc::now())
        && form.early != "1"
    {
        // Starting early also captures an online payment early: only on purpose.
        flash(
            &page.session,
            format!(
                "Commande n°{id} prévue pour {} : à commencer vers {}. Confirmez pour la commencer en avance.",
                o.desired_at.map(clock).unwrap_or_default(),
                clock(order::timing::start_at(&o)),
            ),
        )
        .await?;
        return Ok(Redirect::to(&back));
    }
    let handing_over = matches!(to, OrderStatus::Delivered | OrderStatus::PickedUp);
    let paid = {
        let mut conn = state.pool.acquire().await?;
        payment::counter::is_paid(&mut conn, o.id).await?
    };
    let tender = if handing_over && o.payment_mode == vocab::PaymentMode::OnSite && !paid {
        match vocab::PaymentMethod::parse(&form.tender)
            .filter(|t| vocab::PaymentMethod::ON_SITE.contains(t))
        {
            Some(t) => Some(t),
            None => {
                flash(&page.session, "Indiquez comment la commande a été payée.").await?;
                return Ok(Redirect::to(&back));
            }
        }
    } else {
        None
    };
    let mut tx = state.pool.begin().await?;
    let mut locked = Order::lock(&mut tx, id).await?;
    let in_their_place = form.in_their_place == "1";
    let words =
        match order::delivery::before_moving(&mut tx, &mut locked, to, user.id, in_their_place)
            .await
        {
            Ok(words) => words,
            Err(order::OrderError::Locked(m)) => {
                flash(&page.session, m).await?;
                return Ok(Redirect::to(&back));
            }
            Err(e) => return Err(e.into()),
        };
    let moved = order::transition::move_locked(
        &mut tx,
        &mut locked,
        to,
        Actor::Staff(user.id),
        &words,
        None,
    )
    .await;
    match moved {
        Ok(_) => {
            if let Some(t) = tender {
                // The rider holds the cash of their delivery, whoever closed it.
                let holder = match to {
                    OrderStatus::Delivered => locked.driver_id.unwrap_or(user.id),
                    _ => user.id,
                };
                payment::counter::record_collected(&mut tx, &o, t, holder).await?;
            }
            tx.commit().await?;
        }
        Err(order::OrderError::Transition(e)) => {
            flash(&page.session, format!("Commande n°{id} : {e}")).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&back))
}

/// What the staff screens show of an order.
#[derive(Serialize)]
pub struct StaffOrder {
    #[serde(flatten)]
    view: crate::views::OrderView,
    customer: String,
    phone: String,
    notes: String,
    instructions: String,
    age: i64,
    late: bool,
    due: String,
    to_collect: bool,
    /// Paid on site already (a walk-in pays first).
    paid_on_site: bool,
    /// How the customer said they will pay on site (« Espèces, rendu sur 50,00 € … »).
    plan: Option<String>,
    /// That means, to preselect it where the money is recorded.
    plan_method: Option<&'static str>,
    delivery: bool,
    channel: &'static str,
    #[serde(skip)]
    status: OrderStatus,
    #[serde(skip)]
    driver_id: Option<u64>,
    #[serde(skip)]
    due_at: chrono::DateTime<Utc>,
    /// The chosen time, local (« 19:30 »), or « dès que possible ».
    due_time: String,
    /// The time promised to the customer (« 19:40 »): for « dès que possible », or a slot
    /// the kitchen's delay moved.
    promised: Option<String>,
    /// Where the kitchen's line stands, the order would miss its promise by more than
    /// `pace::AT_RISK`: when it is now expected (at the door, for a delivery).
    at_risk: Option<String>,
    /// The card's colour: `on-time`, `soon`, `late`.
    urgency: &'static str,
    /// A scheduled order whose start time has not come (« Plus tard »).
    later: bool,
    /// When to start it, local (« 18:55 »).
    start_time: String,
    /// Its ticket came out marked « DOUBLON POSSIBLE »: make it once.
    possible_duplicate: bool,
}

impl StaffOrder {
    pub fn is_delivery(&self) -> bool {
        self.delivery
    }

    pub fn status(&self) -> OrderStatus {
        self.status
    }

    pub fn is_for_later(&self) -> bool {
        self.later
    }

    pub fn driver_id(&self) -> Option<u64> {
        self.driver_id
    }

    pub fn address(&self) -> Option<&str> {
        self.view.address()
    }

    /// When it is due: the chosen time, or for as soon as possible its ordering time.
    pub fn due_at(&self) -> chrono::DateTime<Utc> {
        self.due_at
    }
}

pub fn staff_view(o: &Order) -> StaffOrder {
    let now = Utc::now();
    StaffOrder {
        view: order_view(o),
        customer: o.customer_name.clone(),
        phone: o.customer_phone.clone(),
        notes: o.notes.clone(),
        instructions: o
            .delivery
            .as_ref()
            .map(|d| {
                let mut s = d.instructions.clone();
                if !d.complement.is_empty() {
                    s = format!("{} {s}", d.complement);
                }
                s.trim().to_owned()
            })
            .unwrap_or_default(),
        age: order::timing::age_minutes(o, now),
        late: order::timing::is_late(o, now),
        due: o
            .desired_at
            .map(|t| format!("pour {}", paris(t)))
            .unwrap_or_else(|| "dès que possible".into()),
        to_collect: o.payment_mode == vocab::PaymentMode::OnSite,
        paid_on_site: false,
        plan: o.on_site_plan.map(|p| p.describe(o.total)),
        plan_method: o.on_site_plan.map(|p| p.method.as_str()),
        delivery: o.fulfilment == vocab::Fulfilment::Delivery,
        channel: match o.channel {
            vocab::Channel::Web => "web",
            vocab::Channel::Counter => "comptoir",
            vocab::Channel::Phone => "téléphone",
        },
        status: o.status,
        driver_id: o.driver_id,
        due_at: o.desired_at.unwrap_or(o.created_at),
        due_time: o
            .desired_at
            .map(|t| day_clock(t, now))
            .unwrap_or_else(|| "dès que possible".into()),
        promised: o
            .promised_at
            .filter(|p| o.desired_at.is_none_or(|due| *p > due))
            .map(|t| day_clock(t, now)),
        at_risk: None,
        urgency: order::timing::urgency(o, now).as_str(),
        later: o.status == OrderStatus::Confirmed && order::timing::is_for_later(o, now),
        start_time: day_clock(order::timing::start_at(o), now),
        possible_duplicate: false,
    }
}

/// A time in Paris as the kitchen reads it: « 19:30 » today, « demain 19:30 », else with the
/// date.
pub fn day_clock(at: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> String {
    let paris = chrono_tz::Europe::Paris;
    let (day, today) = (
        at.with_timezone(&paris).date_naive(),
        now.with_timezone(&paris).date_naive(),
    );
    if day == today {
        clock(at)
    } else if today.succ_opt() == Some(day) {
        format!("demain {}", clock(at))
    } else {
        at.with_timezone(&paris).format("%d/%m %H:%M").to_string()
    }
}

/// A time of day in Paris, « 19:30 ».
pub fn clock(at: chrono::DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::Paris)
        .format("%H:%M")
        .to_string()
}

/// The pizzeria's orders in these statuses, oldest first, as the screens show them.
pub async fn board(
    state: &AppState,
    shop: &Pizzeria,
    statuses: &[OrderStatus],
) -> Result<Vec<StaffOrder>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let orders = Order::list_for_pizzeria(&mut conn, shop.id, statuses).await?;
    let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
    let paid = payment::counter::paid_among(&mut conn, &ids).await?;
    let now = Utc::now();
    let risky = order::promise::at_risk(&mut conn, shop.id, now).await?;
    let doubled = ticket::print::possible_duplicates(&mut conn, &ids).await?;
    Ok(orders
        .iter()
        .map(|o| {
            let mut view = staff_view(o);
            view.at_risk = risky.get(&o.id).map(|at| day_clock(*at, now));
            view.possible_duplicate = doubled.contains(&o.id);
            // At risk of missing its promise: amber at least, as an order nearing its limit.
            if view.at_risk.is_some() && view.urgency == order::timing::Urgency::OnTime.as_str() {
                view.urgency = order::timing::Urgency::Soon.as_str();
            }
            // Paid at the counter when ordering: nothing left to collect.
            view.paid_on_site = paid.contains(&o.id);
            view.to_collect &= !view.paid_on_site;
            view
        })
        .collect())
}

pub fn tenders() -> Vec<Value> {
    vocab::PaymentMethod::ON_SITE
        .iter()
        .map(|t| context! { value => t.as_str(), label => t.label_fr() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::day_clock;
    use chrono::{TimeZone, Utc};

    #[test]
    fn kitchen_times_say_the_day_only_when_it_is_not_today_in_paris() {
        // 22:30 UTC on 2 December is 23:30 in Paris.
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 22, 30, 0).unwrap();
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
        assert_eq!(day_clock(at(2, 22, 45), now), "23:45");
        // 23:15 UTC is already 3 December in Paris.
        assert_eq!(day_clock(at(2, 23, 15), now), "demain 00:15");
        assert_eq!(day_clock(at(3, 18, 0), now), "demain 19:00");
        assert_eq!(day_clock(at(5, 18, 0), now), "05/12 19:00");
    }
}

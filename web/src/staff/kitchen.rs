//! The kitchen screen: confirmed and started orders, oldest first, live; start, finish, reprint;
//! every pizza's recipe one tap away. Made for a tablet on the wall.

use crate::extract::Form;
use crate::extract::Path;
use account::access::Screen;
use axum::extract::State;
use axum::response::{Html, Redirect};
use messages::event::TicketReprintRequested;
use messages::{Envelope, Event, outbox};
use minijinja::context;

use super::{StaffOrder, board, order_of, render, shop_for};
use crate::error::WebError;
use crate::page::{Page, flash};
use crate::session::CurrentUser;
use crate::state::AppState;
use vocab::OrderStatus;

const STATUSES: [OrderStatus; 2] = [OrderStatus::Confirmed, OrderStatus::Preparing];

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Kitchen).await?;
    let (now, later) = lanes(&state, &shop).await?;
    let mut conn = state.pool.acquire().await?;
    let menu = crate::views::menu(&mut conn, shop.id).await?;
    render(
        &page,
        &user,
        &shop,
        "kitchen.html",
        context! { now => now, later => later, menu => menu },
    )
}

/// The orders to make now (started ones and those whose time has come, due first) and the
/// scheduled ones whose time has not come (« Plus tard », due first).
async fn lanes(
    state: &AppState,
    shop: &catalog::Pizzeria,
) -> Result<(Vec<StaffOrder>, Vec<StaffOrder>), WebError> {
    let mut orders = board(state, shop, &STATUSES).await?;
    orders.sort_by_key(|o| o.due_at());
    Ok(orders.into_iter().partition(|o| !o.is_for_later()))
}

/// The board alone, refetched by the page on each server-sent event.
pub async fn fragment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(code): Path<String>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Kitchen).await?;
    let (now, later) = lanes(&state, &shop).await?;
    page.fragment(
        "kitchen_board.html",
        context! { now => now, later => later, shop => crate::views::ShopView::from(&shop) },
    )
}

/// Asks the kitchen worker to print the ticket again, marked REPRINT.
pub async fn reprint(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, id)): Path<(String, u64)>,
    page: Page,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Redirect, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Kitchen).await?;
    let o = order_of(&state, &shop, id).await?;
    let mut tx = state.pool.begin().await?;
    outbox::enqueue(
        &mut tx,
        &Envelope::new(Event::TicketReprintRequested(TicketReprintRequested {
            order_id: o.id,
            pizzeria_id: shop.id,
            requested_by: user.id,
        })),
    )
    .await?;
    tx.commit().await?;
    flash(
        &page.session,
        format!("Ticket n°{id} envoyé à l'imprimante."),
    )
    .await?;
    let back = match form.get("back").map(String::as_str) {
        Some("commande") => format!("/equipe/{code}/commandes/{id}"),
        _ => format!("/equipe/{code}/cuisine"),
    };
    Ok(Redirect::to(&back))
}

pub async fn recipe(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((code, pizza_id)): Path<(String, u64)>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let shop = shop_for(&state, &user, &code, Screen::Kitchen).await?;
    let mut conn = state.pool.acquire().await?;
    let recipe = catalog::recipe::recipe(&mut conn, pizza_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let products = catalog::product::menu(&mut conn, shop.id).await?;
    // The aide-mémoire per size: each ingredient's quantity at every size, extras included.
    let (sizes, rows, extras) = match products.iter().find(|p| p.id == pizza_id) {
        Some(p) => {
            let sizes: Vec<Option<&catalog::product::Size>> = if p.sizes.is_empty() {
                vec![None]
            } else {
                p.sizes.iter().map(Some).collect()
            };
            let rows: Vec<_> = p
                .recipe
                .iter()
                .map(|item| {
                    let note = recipe
                        .ingredients
                        .iter()
                        .find(|i| i.name == item.name)
                        .map(|i| i.note.clone())
                        .unwrap_or_default();
                    context! {
                        name => item.name,
                        unit => item.unit.as_str(),
                        note => note,
                        quantities => sizes.iter().map(|s| p.quantity_at(item, *s)).collect::<Vec<_>>(),
                    }
                })
                .collect();
            let extras: Vec<_> = p
                .groups
                .iter()
                .flat_map(|g| g.options.iter().map(move |o| (g, o)))
                .filter_map(|(g, o)| {
                    let adds = o.adds.as_ref()?;
                    Some(context! {
                        group => g.name,
                        name => o.name,
                        unit => adds.unit.as_str(),
                        quantities => sizes.iter().map(|s| catalog::product::scaled(adds.quantity, adds.unit, *s, None)).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let names: Vec<String> = sizes
                .iter()
                .map(|s| s.map_or_else(|| "Quantité".to_owned(), |s| s.name.clone()))
                .collect();
            (names, rows, extras)
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let pizzas: Vec<_> = products
        .iter()
        .filter(|p| p.category.is_cooked())
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    render(
        &page,
        &user,
        &shop,
        "recipe.html",
        context! { recipe => recipe, pizzas => pizzas, sizes => sizes, rows => rows, extras => extras },
    )
}

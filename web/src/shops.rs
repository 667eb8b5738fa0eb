//! Pizzerias and their menus, with what each shop can make now from its stock.

use axum::extract::{Path, State};
use axum::response::Html;
use catalog::Pizzeria;
use chrono::Utc;
use minijinja::context;
use serde::Serialize;
use sqlx::MySqlConnection;

use crate::page::Page;
use crate::{AppState, WebError};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ShopView {
    pub code: String,
    pub name: String,
    pub address: String,
    pub phone: String,
    pub hours: String,
    pub closed_days: String,
    pub offers_delivery: bool,
    pub offers_pickup: bool,
    pub open_now: bool,
}

const DAYS_FR: [(&str, &str); 7] = [
    ("mon", "lundi"),
    ("tue", "mardi"),
    ("wed", "mercredi"),
    ("thu", "jeudi"),
    ("fri", "vendredi"),
    ("sat", "samedi"),
    ("sun", "dimanche"),
];

impl From<&Pizzeria> for ShopView {
    fn from(p: &Pizzeria) -> ShopView {
        let closed: Vec<&str> = p
            .closed_days
            .split_whitespace()
            .filter_map(|d| DAYS_FR.iter().find(|(en, _)| *en == d).map(|(_, fr)| *fr))
            .collect();
        ShopView {
            code: p.code.clone(),
            name: p.name.clone(),
            address: p.address_line(),
            phone: p.phone.clone(),
            hours: p.opening_hours.replace(' ', ", ").replace('-', "–"),
            closed_days: closed.join(", "),
            offers_delivery: p.offers_delivery,
            offers_pickup: p.offers_pickup,
            open_now: p.is_open_at(Utc::now()),
        }
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MenuItemView {
    pub pizza_id: u64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub price: String,
    pub price_cents: u32,
    /// Whether the shop's stock covers one more right now.
    pub available: bool,
}

/// The shop's menu with availability from its stock (unavailable pizzas are listed as such).
pub async fn menu(
    conn: &mut MySqlConnection,
    pizzeria_id: u64,
) -> Result<Vec<MenuItemView>, WebError> {
    let items = catalog::menu::menu(conn, pizzeria_id).await?;
    let makeable = stock::makeable(conn, pizzeria_id).await?;
    Ok(items
        .into_iter()
        .map(|m| MenuItemView {
            available: makeable.get(&m.pizza_id).copied().unwrap_or(true),
            pizza_id: m.pizza_id,
            code: m.code,
            name: m.name,
            description: m.description,
            price: m.price.to_string(),
            price_cents: m.price.0,
        })
        .collect())
}

pub async fn active_shop(conn: &mut MySqlConnection, code: &str) -> Result<Pizzeria, WebError> {
    Pizzeria::find_by_code(conn, code)
        .await?
        .filter(|p| p.active)
        .ok_or(WebError::NotFound)
}

pub async fn index(State(state): State<AppState>, page: Page) -> Result<Html<String>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let shops: Vec<ShopView> = Pizzeria::list_active(&mut conn)
        .await?
        .iter()
        .map(ShopView::from)
        .collect();
    page.render("index.html", context! { pizzerias => shops })
}

pub async fn show(
    State(state): State<AppState>,
    Path(code): Path<String>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let shop = active_shop(&mut conn, &code).await?;
    let menu = menu(&mut conn, shop.id).await?;
    page.render(
        "pizzeria.html",
        context! { shop => ShopView::from(&shop), menu => menu, pizzeria_code => shop.code },
    )
}

/// The menu alone, for the page's periodic refresh.
pub async fn menu_fragment(
    State(state): State<AppState>,
    Path(code): Path<String>,
    page: Page,
) -> Result<Html<String>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let shop = active_shop(&mut conn, &code).await?;
    let menu = menu(&mut conn, shop.id).await?;
    page.fragment(
        "menu.html",
        context! { menu => menu, pizzeria_code => shop.code },
    )
}

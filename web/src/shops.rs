//! The customer's pages of pizzerias and their menus, with what each shop can make now from
//! its stock.

use crate::extract::Path;
use axum::extract::State;
use axum::response::Html;
use catalog::Pizzeria;
use minijinja::context;

use crate::error::WebError;
use crate::lookup::active_shop;
use crate::page::Page;
use crate::state::AppState;
use crate::views::{ShopView, menu};

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

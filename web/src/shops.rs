//! The customer's pages of pizzerias and their menus, with what each shop can make now from
//! its stock.

use crate::extract::{Path, Query};
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

/// `?remplacer={pizza}&quantite={n}`: adding that pizza would empty a cart of another
/// pizzeria; the page asks first.
#[derive(serde::Deserialize)]
pub struct ShowQuery {
    remplacer: Option<u64>,
    quantite: Option<u32>,
}

pub async fn show(
    State(state): State<AppState>,
    Path(code): Path<String>,
    page: Page,
    Query(query): Query<ShowQuery>,
) -> Result<Html<String>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let shop = active_shop(&mut conn, &code).await?;
    let menu = menu(&mut conn, shop.id).await?;
    let cart = crate::cart::Cart::load(&page.session).await?;
    let swap = match (query.remplacer, cart.pizzeria_id) {
        (Some(pizza_id), Some(other)) if cart.holds_another(shop.id) => {
            let pizza = menu.iter().find(|m| m.pizza_id == pizza_id);
            let other = Pizzeria::find(&mut conn, other).await?;
            match (pizza, other) {
                (Some(p), Some(o)) => Some(context! {
                    pizza_id => pizza_id,
                    pizza => p.name,
                    quantity => query.quantite.unwrap_or(1).clamp(1, vocab::input::MAX_QUANTITY_PER_LINE),
                    other => o.name,
                    other_code => o.code,
                    count => cart.count(),
                }),
                _ => None,
            }
        }
        _ => None,
    };
    let zones: Vec<String> = catalog::zone::zones(&mut conn, shop.id)
        .await?
        .iter()
        .map(catalog::zone::Zone::describe)
        .collect();
    page.render(
        "pizzeria.html",
        context! { shop => ShopView::from(&shop), menu => menu, pizzeria_code => shop.code, swap => swap, zones => zones },
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

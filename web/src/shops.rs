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
use crate::views::{MenuItemView, ShopView, menu};

pub async fn index(State(state): State<AppState>, page: Page) -> Result<Html<String>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let shops: Vec<ShopView> = Pizzeria::list_active(&mut conn)
        .await?
        .iter()
        .map(ShopView::from)
        .collect();
    page.render("index.html", context! { pizzerias => shops })
}

/// What the menu shows: everything, or only the dishes fitting the customer's filters
/// (`regime=vegetarien|vegan`, `sans=<allergen code>` repeated), kept in the address so the
/// page's refresh and a shared link show the same.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct MenuFilter {
    pub diet: Option<vocab::Diet>,
    pub without: Vec<vocab::Allergen>,
}

impl MenuFilter {
    fn read(query: &[(String, String)]) -> MenuFilter {
        let mut filter = MenuFilter::default();
        for (k, v) in query {
            match (k.as_str(), v.as_str()) {
                ("regime", "vegetarien") => filter.diet = Some(vocab::Diet::Vegetarian),
                ("regime", "vegan") => filter.diet = Some(vocab::Diet::Vegan),
                ("sans", code) => filter.without.extend(vocab::Allergen::parse(code)),
                _ => {}
            }
        }
        filter
    }

    fn keeps(&self, item: &MenuItemView) -> bool {
        let diet_ok = match self.diet {
            Some(vocab::Diet::Vegan) => item.vegan,
            Some(vocab::Diet::Vegetarian) => item.vegetarian,
            _ => true,
        };
        diet_ok
            && !self
                .without
                .iter()
                .any(|a| item.allergens.contains(&a.as_str()))
    }

    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        match self.diet {
            Some(vocab::Diet::Vegan) => {
                q.append_pair("regime", "vegan");
            }
            Some(vocab::Diet::Vegetarian) => {
                q.append_pair("regime", "vegetarien");
            }
            _ => {}
        }
        for a in &self.without {
            q.append_pair("sans", a.as_str());
        }
        q.finish()
    }
}

/// A line brought back into its card (see `orders::line_query`).
fn prefill(query: &[(String, String)]) -> Option<minijinja::Value> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let list = |name: &str| -> Vec<String> {
        get(name)
            .unwrap_or("")
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let pizza_id: u64 = get("pizza")?.parse().ok()?;
    Some(context! {
        pizza_id => pizza_id,
        quantity => get("quantite").and_then(|q| q.parse::<u32>().ok()).unwrap_or(1).clamp(1, vocab::input::MAX_QUANTITY_PER_LINE),
        size => get("taille").unwrap_or(""),
        options => list("options"),
        remove => list("sans"),
        notes => get("note").unwrap_or(""),
    })
}

/// Allergens a customer may filter out, in the regulation's order, with French names.
fn allergen_choices() -> Vec<minijinja::Value> {
    vocab::Allergen::ALL
        .iter()
        .map(|a| context! { code => a.as_str(), label => a.label_fr() })
        .collect()
}

pub async fn show(
    State(state): State<AppState>,
    Path(code): Path<String>,
    page: Page,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let shop = active_shop(&mut conn, &code).await?;
    let filter = MenuFilter::read(&query);
    let menu: Vec<MenuItemView> = menu(&mut conn, shop.id).await?;
    let prefill = prefill(&query);
    let cart = crate::cart::Cart::load(&page.session).await?;
    let swapping = query.iter().any(|(k, v)| k == "remplacer" && v == "1");
    let swap = match (&prefill, cart.pizzeria_id) {
        (Some(line), Some(other)) if swapping && cart.holds_another(shop.id) => {
            let pizza_id = line
                .get_attr("pizza_id")
                .ok()
                .and_then(|v| u64::try_from(v).ok());
            let pizza = menu.iter().find(|m| Some(m.pizza_id) == pizza_id);
            let other = Pizzeria::find(&mut conn, other).await?;
            match (pizza, other) {
                (Some(p), Some(o)) => Some(context! {
                    pizza => p.name,
                    line => line,
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
    let shown: Vec<&MenuItemView> = menu.iter().filter(|m| filter.keeps(m)).collect();
    page.render(
        "pizzeria.html",
        context! {
            shop => ShopView::from(&shop),
            menu => shown,
            hidden => menu.len() - shown.len(),
            pizzeria_code => shop.code,
            swap => swap,
            zones => zones,
            prefill => prefill,
            filter => filter,
            filter_query => filter.query(),
            allergens => allergen_choices(),
        },
    )
}

/// The menu alone, for the page's periodic refresh (with the page's filters).
pub async fn menu_fragment(
    State(state): State<AppState>,
    Path(code): Path<String>,
    page: Page,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let mut conn = state.pool.acquire().await?;
    let shop = active_shop(&mut conn, &code).await?;
    let filter = MenuFilter::read(&query);
    let menu = menu(&mut conn, shop.id).await?;
    let shown: Vec<&MenuItemView> = menu.iter().filter(|m| filter.keeps(m)).collect();
    page.fragment(
        "menu.html",
        context! { menu => shown, hidden => menu.len() - shown.len(), pizzeria_code => shop.code },
    )
}

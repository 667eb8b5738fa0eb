//! The group admin's menu screen (`/admin/menu`): sizes, option groups and their options,
//! products sold by the unit, what each ingredient means for allergies and diets, and each
//! product's sizes and groups (`/admin/menu/produits/{id}`). The rules are
//! `catalog::carte`'s; a refusal comes back as the page's message and changes nothing.

use std::collections::BTreeMap;

use crate::extract::{Form, Path};
use account::access::Screen;
use axum::extract::State;
use axum::response::{Html, Redirect};
use catalog::admin::AdminError;
use catalog::carte;
use minijinja::{Value, context};

use super::group;
use crate::error::{WebError, capitalised};
use crate::page::{Page, flash};
use crate::session::CurrentUser;
use crate::state::AppState;
use vocab::{Allergen, Allergens, Category, Cents, Diet};

const BACK: &str = "/admin/menu";

type Fields = Form<Vec<(String, String)>>;

fn one<'a>(f: &'a [(String, String)], name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

fn ticked(f: &[(String, String)], name: &str) -> bool {
    matches!(one(f, name), "on" | "1" | "yes")
}

/// `prefix{id}` fields by id (`price_3` → 3), as typed.
fn by_id<'a>(f: &'a [(String, String)], prefix: &str) -> BTreeMap<u64, &'a str> {
    f.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.parse().ok()?, v.trim())))
        .collect()
}

/// The allergens ticked (`allergen` repeated); a code that is not one is refused.
fn allergens(f: &[(String, String)]) -> Result<Allergens, WebError> {
    let codes: Vec<&str> = f
        .iter()
        .filter(|(k, _)| k == "allergen")
        .map(|(_, v)| v.as_str())
        .collect();
    Allergens::parse(&codes.join(" "))
        .map_err(|unknown| WebError::Invalid(format!("allergène inconnu : {unknown}")))
}

/// Runs one change in a transaction and says how it went on the page it came from.
async fn change(
    state: &AppState,
    user: &account::user::User,
    page: &Page,
    back: &str,
    ok: &str,
    f: impl AsyncFnOnce(&mut sqlx::MySqlConnection) -> Result<(), WebError>,
) -> Result<Redirect, WebError> {
    group(user, Screen::Admin)?;
    let mut tx = state.pool.begin().await?;
    match f(&mut tx).await {
        Ok(()) => {
            tx.commit().await?;
            flash(&page.session, ok).await?;
        }
        Err(WebError::Invalid(m)) => flash(&page.session, capitalised(&m)).await?,
        Err(e) => return Err(e),
    }
    Ok(Redirect::to(back))
}

fn euros(c: Cents) -> String {
    format!("{},{:02}", c.0 / 100, c.0 % 100)
}

fn diets() -> Vec<Value> {
    Diet::ALL
        .iter()
        .map(|d| {
            let label = d.label_fr().unwrap_or("Viande ou poisson");
            context! { value => d.as_str(), label => label }
        })
        .collect()
}

fn allergen_list() -> Vec<Value> {
    Allergen::ALL
        .iter()
        .map(|a| context! { code => a.as_str(), label => a.label_fr() })
        .collect()
}

fn categories() -> Vec<Value> {
    Category::ALL
        .iter()
        .map(|c| context! { value => c.as_str(), label => c.label_fr() })
        .collect()
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
) -> Result<Html<String>, WebError> {
    group(&user, Screen::Admin)?;
    let mut conn = state.pool.acquire().await?;
    let sizes = carte::sizes(&mut conn).await?;
    let groups = carte::groups(&mut conn).await?;
    let ingredients = carte::ingredient_facts(&mut conn).await?;
    let groups_view: Vec<_> = groups
        .iter()
        .map(|g| {
            let options: Vec<_> = g
                .options
                .iter()
                .map(|o| {
                    let prices: Vec<String> = sizes
                        .iter()
                        .map(|s| o.prices.get(&s.id).map(|p| euros(*p)).unwrap_or_default())
                        .collect();
                    context! { price => euros(o.price), size_prices => prices, ..Value::from_serialize(o) }
                })
                .collect();
            context! { options => options, ..Value::from_serialize(g) }
        })
        .collect();
    let products: Vec<_> = sqlx::query_as::<_, (u64, String, String, Category)>(
        "SELECT id, code, name, CAST(category AS CHAR) FROM pizzas
         ORDER BY FIELD(category, 'pizza', 'starter', 'drink', 'dessert'), position, name",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(id, code, name, category)| {
        context! { id => id, code => code, name => name, category => category.label_fr() }
    })
    .collect();
    let vat_rates: Vec<_> = vocab::VatRate::ALL
        .iter()
        .map(|r| context! { value => r.as_str(), label => r.label_fr() })
        .collect();
    page.render(
        "admin_menu.html",
        context! {
            screens => super::screens(&user, ""),
            sizes => sizes,
            groups => groups_view,
            ingredients => ingredients,
            products => products,
            allergens => allergen_list(),
            diets => diets(),
            categories => categories(),
            vat_rates => vat_rates,
        },
    )
}

pub async fn create_size(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    change(&state, &user, &page, BACK, "Taille ajoutée.", async |c| {
        let (code, name, factor) = (one(&f, "code"), one(&f, "name"), one(&f, "factor_pct"));
        Ok(carte::set_size(c, None, code, name, factor).await?)
    })
    .await
}

pub async fn set_size(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        BACK,
        "Taille enregistrée.",
        async |c| {
            Ok(carte::set_size(c, Some(id), "", one(&f, "name"), one(&f, "factor_pct")).await?)
        },
    )
    .await
}

pub async fn create_group(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        BACK,
        "Groupe d'options ajouté.",
        async |c| {
            let (code, name) = (one(&f, "code"), one(&f, "name"));
            Ok(carte::set_group(c, None, code, name, one(&f, "min"), one(&f, "max")).await?)
        },
    )
    .await
}

pub async fn set_group(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        BACK,
        "Groupe d'options enregistré.",
        async |c| {
            let name = one(&f, "name");
            Ok(carte::set_group(c, Some(id), "", name, one(&f, "min"), one(&f, "max")).await?)
        },
    )
    .await
}

fn option_input(f: &[(String, String)]) -> Result<carte::OptionInput<'_>, WebError> {
    let ingredient_id = match one(f, "ingredient_id") {
        "" | "0" => None,
        raw => Some(
            raw.parse()
                .map_err(|_| WebError::Invalid("ingrédient inconnu".into()))?,
        ),
    };
    Ok(carte::OptionInput {
        group_id: one(f, "group_id").parse().unwrap_or(0),
        code: one(f, "code"),
        name: one(f, "name"),
        ingredient_id,
        quantity: one(f, "quantity"),
        price: one(f, "price"),
        is_default: ticked(f, "is_default"),
        size_prices: by_id(f, "price_"),
    })
}

pub async fn create_option(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    change(&state, &user, &page, BACK, "Option ajoutée.", async |c| {
        Ok(carte::set_option(c, None, &option_input(&f)?).await?)
    })
    .await
}

pub async fn set_option(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        BACK,
        "Option enregistrée.",
        async |c| Ok(carte::set_option(c, Some(id), &option_input(&f)?).await?),
    )
    .await
}

pub async fn set_ingredient(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        BACK,
        "Ingrédient enregistré.",
        async |c| {
            let set = allergens(&f)?;
            Ok(
                carte::set_ingredient_facts(c, id, set, one(&f, "diet"), ticked(&f, "spicy"))
                    .await?,
            )
        },
    )
    .await
}

pub async fn create_product(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        BACK,
        "Produit ajouté : renseignez son stock dans chaque pizzeria.",
        async |c| {
            let new = carte::NewUnitProduct {
                name: one(&f, "name"),
                description: one(&f, "description"),
                price: one(&f, "price"),
                category: one(&f, "category"),
                vat_rate: one(&f, "vat_rate"),
                allergens: allergens(&f)?,
                diet: one(&f, "diet"),
            };
            carte::create_unit_product(c, &new).await?;
            Ok(())
        },
    )
    .await
}

/// `/admin/menu/produits/{id}`: a product's category, its price in each size and the option
/// groups it offers.
pub async fn product(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
) -> Result<Html<String>, WebError> {
    group(&user, Screen::Admin)?;
    let mut conn = state.pool.acquire().await?;
    let (name, category, price): (String, Category, u32) =
        sqlx::query_as("SELECT name, CAST(category AS CHAR), price_cents FROM pizzas WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(WebError::NotFound)?;
    let (prices, offered) = carte::product_choices(&mut conn, id).await?;
    let sizes: Vec<_> = carte::sizes(&mut conn)
        .await?
        .into_iter()
        .map(|s| {
            let price = prices.get(&s.id).map(|p| euros(*p)).unwrap_or_default();
            context! { price => price, ..Value::from_serialize(&s) }
        })
        .collect();
    let groups: Vec<_> = carte::groups(&mut conn)
        .await?
        .into_iter()
        .map(|g| {
            let on = offered.contains(&g.id);
            context! { id => g.id, name => g.name, min => g.min, max => g.max, on => on }
        })
        .collect();
    page.render(
        "admin_product.html",
        context! {
            screens => super::screens(&user, ""),
            product => context! { id => id, name => name, category => category.as_str(), price => euros(Cents(price)) },
            sizes => sizes,
            groups => groups,
            categories => categories(),
        },
    )
}

pub async fn set_product(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): Fields,
) -> Result<Redirect, WebError> {
    let back = format!("/admin/menu/produits/{id}");
    change(
        &state,
        &user,
        &page,
        &back,
        "Produit enregistré.",
        async |c| {
            let choices = carte::ProductChoices {
                category: one(&f, "category"),
                size_prices: by_id(&f, "size_"),
                groups: f
                    .iter()
                    .filter(|(k, _)| k == "group")
                    .filter_map(|(_, v)| v.parse().ok())
                    .collect(),
            };
            carte::set_product_choices(c, id, &choices)
                .await
                .map_err(|e| match e {
                    AdminError::NotFound => WebError::NotFound,
                    e => e.into(),
                })
        },
    )
    .await
}

//! The group admin's screen: pizzerias (hours, open or not), pizzas (price, on the menus or not)
//! and which pizzeria serves which, printers (address, test print), staff accounts and roles, and
//! the seed CSV for new pizzas, recipes and ingredients (all or nothing, errors by line).

use std::collections::HashMap;

use crate::extract::Form;
use crate::extract::Path;
use account::access::Screen;
use account::{Email, Password, Role};
use axum::extract::State;
use axum::response::{Html, Redirect};
use catalog::Pizzeria;
use catalog::admin::{self, AdminError};
use chrono::Utc;
use minijinja::{Value, context};
use serde::Deserialize;

use super::group;
use crate::error::{WebError, capitalised};
use crate::page::{Page, flash};
use crate::session::CurrentUser;
use crate::state::AppState;
use vocab::Cents;

impl From<AdminError> for WebError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Db(e) => e.into(),
            AdminError::Invalid(m) => WebError::Invalid(m),
            AdminError::NotFound => WebError::NotFound,
        }
    }
}

const BACK: &str = "/admin";

/// Turns a rule's refusal into a message on the admin page; anything else is an error.
async fn outcome(page: &Page, done: Result<(), WebError>, ok: &str) -> Result<Redirect, WebError> {
    match done {
        Ok(()) => flash(&page.session, ok).await?,
        Err(WebError::Invalid(m)) => flash(&page.session, m).await?,
        Err(e) => return Err(e),
    }
    Ok(Redirect::to(BACK))
}

fn checked(form: &HashMap<String, String>, name: &str) -> bool {
    form.get(name).is_some_and(|v| v == "on" || v == "1")
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(|v| v.trim()).unwrap_or("")
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
) -> Result<Html<String>, WebError> {
    group(&user, Screen::Admin)?;
    let mut conn = state.pool.acquire().await?;
    let mut shops = Vec::new();
    for id in sqlx::query_scalar::<_, u64>("SELECT id FROM pizzerias ORDER BY name")
        .fetch_all(&mut *conn)
        .await?
    {
        if let Some(p) = Pizzeria::find(&mut conn, id).await? {
            shops.push(p);
        }
    }
    let pizzas = admin::pizzas(&mut conn).await?;
    let served = admin::served(&mut conn).await?;
    let grid: Vec<_> = shops
        .iter()
        .map(|s| {
            let cells: Vec<_> = pizzas
                .iter()
                .map(|p| {
                    let on = served
                        .iter()
                        .find(|(shop, pizza, _)| *shop == s.id && *pizza == p.id)
                        .is_none_or(|(_, _, available)| *available);
                    context! { pizza_id => p.id, on => on }
                })
                .collect();
            context! { id => s.id, name => s.name, cells => cells }
        })
        .collect();
    let pizzas_view: Vec<_> = pizzas
        .iter()
        .map(|p| {
            context! {
                id => p.id, code => p.code, name => p.name, active => p.active,
                price => Cents(p.price_cents).to_string().replace('\u{a0}', " ").trim_end_matches(" €").to_owned(),
                vat => p.vat_rate.as_str(),
            }
        })
        .collect();
    let mut shops_view = Vec::new();
    for s in &shops {
        let zones = catalog::zone::zones(&mut conn, s.id).await?;
        shops_view.push(context! {
            id => s.id, code => s.code, name => s.name, active => s.active,
            hours => s.opening_hours,
            closed_days => catalog::hours::days_in_french(&s.closed_days),
            delivers => s.offers_delivery,
            zones => catalog::zone::to_lines(&zones),
        });
    }
    let shop_name = |id: Option<u64>| {
        id.and_then(|id| shops.iter().find(|s| s.id == id))
            .map(|s| s.name.clone())
    };
    let printers: Vec<_> = admin::printers(&mut conn)
        .await?
        .into_iter()
        .map(|p| {
            context! {
                shop => shop_name(p.pizzeria_id).unwrap_or_else(|| "Groupe (secours partagé)".into()),
                role_label => if p.role == "main" { "cuisine" } else { "secours" },
                ..Value::from_serialize(&p)
            }
        })
        .collect();
    let staff: Vec<_> = account::user::staff(&mut conn)
        .await?
        .into_iter()
        .map(|u| {
            let role = u.role.parse::<Role>().ok();
            context! {
                role_label => role.map(Role::label_fr).unwrap_or("?"),
                shop => shop_name(u.pizzeria_id).unwrap_or_else(|| "Groupe".into()),
                ..Value::from_serialize(&u)
            }
        })
        .collect();
    let vat_rates: Vec<_> = vocab::VatRate::ALL
        .iter()
        .map(|r| context! { value => r.as_str(), label => r.label_fr() })
        .collect();
    let roles: Vec<_> = Role::ALL
        .iter()
        .filter(|r| r.is_staff())
        .map(|r| context! { value => r.as_str(), label => r.label_fr() })
        .collect();
    page.render(
        "admin.html",
        context! {
            screens => super::screens(&user, ""),
            shops => shops_view,
            pizzas => pizzas_view,
            grid => grid,
            printers => printers,
            staff => staff,
            roles => roles,
            vat_rates => vat_rates,
        },
    )
}

/// One admin change: checks the role, runs `f` on a connection, and reports on the admin page.
async fn change(
    state: &AppState,
    user: &account::user::User,
    page: &Page,
    ok: &str,
    f: impl AsyncFnOnce(&mut sqlx::MySqlConnection) -> Result<(), AdminError>,
) -> Result<Redirect, WebError> {
    group(user, Screen::Admin)?;
    let mut conn = state.pool.acquire().await?;
    let done = f(&mut conn).await.map_err(WebError::from);
    outcome(page, done, ok).await
}

type AdminForm = Form<HashMap<String, String>>;

pub async fn set_pizzeria(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): AdminForm,
) -> Result<Redirect, WebError> {
    change(&state, &user, &page, "Pizzeria enregistrée.", async |c| {
        let (hours, days) = (field(&f, "opening_hours"), field(&f, "closed_days"));
        let zones = f.get("zones").map(String::as_str);
        admin::set_pizzeria(c, id, hours, days, checked(&f, "active"), zones).await
    })
    .await
}

pub async fn set_pizza(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): AdminForm,
) -> Result<Redirect, WebError> {
    change(&state, &user, &page, "Pizza enregistrée.", async |c| {
        let (price, vat) = (field(&f, "price"), field(&f, "vat_rate"));
        admin::set_pizza(c, id, price, vat, checked(&f, "active")).await
    })
    .await
}

pub async fn set_served(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((pizzeria_id, pizza_id)): Path<(u64, u64)>,
    page: Page,
    Form(f): AdminForm,
) -> Result<Redirect, WebError> {
    change(&state, &user, &page, "Carte mise à jour.", async |c| {
        admin::set_served(c, pizzeria_id, pizza_id, checked(&f, "on")).await
    })
    .await
}

pub async fn set_printer(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): AdminForm,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        "Imprimante enregistrée.",
        async |c| {
            let (host, port) = (field(&f, "host"), field(&f, "port"));
            let ports = &state.settings.printer_ports;
            admin::set_printer(c, id, host, port, checked(&f, "active"), ports).await
        },
    )
    .await
}

/// Prints a test page now and says whether the printer took it.
pub async fn test_printer(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    let mut conn = state.pool.acquire().await?;
    let printer = admin::printer(&mut conn, id).await?;
    let shop_name = match printer.pizzeria_id {
        Some(p) => Pizzeria::find(&mut conn, p)
            .await?
            .map(|s| s.name)
            .unwrap_or_default(),
        None => "OC Pizza".into(),
    };
    drop(conn);
    // A stored address from before the rule, or edited behind our back: no bytes leave for it.
    if let Err(e) =
        vocab::input::printer_address(&printer.host, printer.port, &state.settings.printer_ports)
    {
        flash(&page.session, format!("« {} » : {e}", printer.name)).await?;
        return Ok(Redirect::to(BACK));
    }
    let bytes = ticket::escpos::encode(&ticket::content::Ticket::test_page(
        &printer.name,
        &shop_name,
        Utc::now(),
    ));
    let message = match ticket::printer::print(
        &printer.host,
        printer.port,
        &bytes,
        ticket::printer::Timeouts::default(),
    )
    .await
    {
        Ok(()) => format!("Page de test imprimée sur « {} ».", printer.name),
        Err(e) => format!("« {} » n'a pas imprimé : {e}", printer.name),
    };
    flash(&page.session, message).await?;
    Ok(Redirect::to(BACK))
}

#[derive(Deserialize)]
pub struct StaffForm {
    email: String,
    full_name: String,
    role: String,
    #[serde(default)]
    pizzeria_id: String,
    /// Empty: the new member chooses it from an e-mailed link.
    #[serde(default)]
    password: String,
}

/// A staff role and pizzeria from a form, checked together.
async fn role_and_shop(
    conn: &mut sqlx::MySqlConnection,
    role: &str,
    pizzeria_id: &str,
) -> Result<(Role, Option<u64>), WebError> {
    let role = role
        .parse::<Role>()
        .ok()
        .filter(|r| r.is_staff())
        .ok_or_else(|| WebError::Invalid("Rôle inconnu.".into()))?;
    let pizzeria_id = pizzeria_id.trim().parse::<u64>().ok();
    if !role.needs_pizzeria() {
        return Ok((role, None));
    }
    let Some(id) = pizzeria_id else {
        return Err(WebError::Invalid(format!(
            "Un {} est rattaché à une pizzeria : choisissez-la.",
            role.label_fr().to_lowercase()
        )));
    };
    if Pizzeria::find(conn, id).await?.is_none() {
        return Err(WebError::Invalid("Pizzeria inconnue.".into()));
    }
    Ok((role, Some(id)))
}

/// Mails the account a link to choose its password (the notifications worker makes the token).
async fn invite(conn: &mut sqlx::MySqlConnection, user_id: u64) -> Result<(), WebError> {
    use messages::event::{LinkPurpose, PasswordLinkRequested};
    let event = messages::Event::PasswordLinkRequested(PasswordLinkRequested {
        user_id,
        purpose: LinkPurpose::Invite,
    });
    messages::outbox::enqueue(conn, &messages::Envelope::new(event)).await?;
    Ok(())
}

pub async fn create_staff(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(form): Form<StaffForm>,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    let done = async {
        let email = Email::parse(&form.email)
            .map_err(|e| WebError::Invalid(capitalised(&e.to_string())))?;
        let name = vocab::PersonName::parse(&form.full_name)?;
        let name = name.as_str();
        let mut tx = state.pool.begin().await?;
        let (role, pizzeria_id) = role_and_shop(&mut tx, &form.role, &form.pizzeria_id).await?;
        let hash = if form.password.is_empty() {
            None
        } else {
            let password = Password::parse_for(&form.password, Some(&email))
                .map_err(|e| WebError::Invalid(capitalised(&e.to_string())))?;
            let hash = tokio::task::spawn_blocking(move || account::password::hash(&password))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?
                .map_err(|e| WebError::Internal(e.to_string()))?;
            Some(hash)
        };
        let id =
            account::user::create_staff(&mut tx, &email, name, role, pizzeria_id, hash.as_deref())
                .await?
                .ok_or_else(|| WebError::Invalid("Cette adresse a déjà un compte.".into()))?;
        let message = if hash.is_none() {
            invite(&mut tx, id).await?;
            format!(
                "Compte créé : {} recevra un lien pour choisir son mot de passe.",
                email.as_str()
            )
        } else {
            "Compte créé avec son mot de passe provisoire.".to_owned()
        };
        tx.commit().await?;
        Ok(message)
    }
    .await;
    told(&page, done).await
}

/// The admin gives a staff member another role or pizzeria.
pub async fn set_staff_role(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    let done = async {
        if id == user.id {
            return Err(WebError::Invalid(
                "Vous ne pouvez pas changer votre propre rôle : demandez-le à un autre administrateur.".into(),
            ));
        }
        let mut conn = state.pool.acquire().await?;
        let (role, pizzeria_id) =
            role_and_shop(&mut conn, field(&form, "role"), field(&form, "pizzeria_id")).await?;
        if !account::user::set_staff_role(&mut conn, id, role, pizzeria_id).await? {
            return Err(WebError::NotFound);
        }
        Ok(format!("Rôle enregistré : {}.", role.label_fr()))
    }
    .await;
    told(&page, done).await
}

/// The admin sends a staff member a link to choose a new password.
pub async fn send_staff_link(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    let mut tx = state.pool.begin().await?;
    let staff = account::user::find(&mut tx, id)
        .await?
        .filter(|u| u.role.is_staff())
        .ok_or(WebError::NotFound)?;
    invite(&mut tx, id).await?;
    tx.commit().await?;
    told(
        &page,
        Ok(format!(
            "Lien envoyé à {} pour choisir un mot de passe (valable une heure).",
            staff.email
        )),
    )
    .await
}

/// Reports a result on the admin page: what was done, or the rule's refusal.
async fn told(page: &Page, done: Result<String, WebError>) -> Result<Redirect, WebError> {
    match done {
        Ok(m) | Err(WebError::Invalid(m)) => flash(&page.session, m).await?,
        Err(e) => return Err(e),
    }
    Ok(Redirect::to(BACK))
}

pub async fn create_pizzeria(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(f): AdminForm,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        "Pizzeria créée : son stock est à zéro, à remplir par son gérant.",
        async |c| {
            let new = admin::NewPizzeria {
                code: field(&f, "code"),
                name: field(&f, "name"),
                street: field(&f, "street"),
                postal_code: field(&f, "postal_code"),
                city: field(&f, "city"),
                phone: field(&f, "phone"),
                email: field(&f, "email"),
                opening_hours: field(&f, "opening_hours"),
                closed_days: field(&f, "closed_days"),
                offers_delivery: checked(&f, "offers_delivery"),
                offers_pickup: checked(&f, "offers_pickup"),
            };
            admin::create_pizzeria(c, &new).await.map(|_| ())
        },
    )
    .await
}

pub async fn create_pizza(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(f): AdminForm,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    let mut conn = state.pool.acquire().await?;
    let made = admin::create_pizza(
        &mut conn,
        field(&f, "name"),
        field(&f, "description"),
        field(&f, "price"),
        field(&f, "vat_rate"),
    )
    .await;
    match made {
        // Straight to its recipe: a pizza without one cannot be made.
        Ok(id) => {
            flash(&page.session, "Pizza créée : saisissez sa recette.").await?;
            Ok(Redirect::to(&format!("/admin/pizzas/{id}/recette")))
        }
        Err(AdminError::Invalid(m)) => told(&page, Err(WebError::Invalid(capitalised(&m)))).await,
        Err(e) => Err(e.into()),
    }
}

pub async fn create_printer(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(f): AdminForm,
) -> Result<Redirect, WebError> {
    change(
        &state,
        &user,
        &page,
        "Imprimante ajoutée : essayez-la avec « Page de test ».",
        async |c| {
            let pizzeria_id = field(&f, "pizzeria_id").parse::<u64>().ok();
            let (name, host, port, role) = (
                field(&f, "name"),
                field(&f, "host"),
                field(&f, "port"),
                field(&f, "role"),
            );
            admin::create_printer(
                c,
                pizzeria_id,
                name,
                host,
                port,
                role,
                &state.settings.printer_ports,
            )
            .await
            .map(|_| ())
        },
    )
    .await
}

/// `/admin/pizzas/{id}/recette`: the recipe editor (ingredients with quantities and notes, the
/// steps one per line).
pub async fn recipe(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
) -> Result<Html<String>, WebError> {
    group(&user, Screen::Admin)?;
    let mut conn = state.pool.acquire().await?;
    let pizza = admin::pizzas(&mut conn)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(WebError::NotFound)?;
    let (lines, per_size, steps) = admin::recipe_of(&mut conn, id).await?;
    let sizes = catalog::carte::sizes(&mut conn).await?;
    let ingredients: Vec<_> = admin::ingredients(&mut conn)
        .await?
        .into_iter()
        .map(|(id, name, unit)| context! { id => id, name => name, unit => unit })
        .collect();
    let quantities_for = |ingredient: u64| -> Vec<String> {
        sizes
            .iter()
            .map(|s| {
                per_size
                    .iter()
                    .find(|(i, size, _)| *i == ingredient && *size == s.id)
                    .map(|(_, _, q)| q.to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    // The lines, then a few empty rows to add ingredients.
    let mut rows: Vec<_> = lines
        .iter()
        .map(|l| context! { ingredient_id => l.ingredient_id, quantity => l.quantity, note => l.note, removable => l.removable, per_size => quantities_for(l.ingredient_id) })
        .collect();
    let blank = vec![String::new(); sizes.len()];
    rows.extend((0..4).map(|_| context! { ingredient_id => 0, quantity => "", note => "", removable => true, per_size => blank.clone() }));
    page.render(
        "admin_recipe.html",
        context! {
            screens => super::screens(&user, ""),
            pizza => pizza,
            rows => rows,
            steps => steps.join("\n"),
            ingredients => ingredients,
            sizes => sizes,
        },
    )
}

pub async fn set_recipe(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    let back = Redirect::to(&format!("/admin/pizzas/{id}/recette"));
    // Rows come as ingredient/quantity/note triplets in form order.
    let values = |name: &str| -> Vec<&str> {
        f.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (ingredients, quantities, notes, removable) = (
        values("ingredient"),
        values("quantity"),
        values("note"),
        values("removable"),
    );
    let sizes: Vec<u64> = f
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("size_")?.parse().ok())
        .fold(Vec::new(), |mut seen, id| {
            if !seen.contains(&id) {
                seen.push(id);
            }
            seen
        });
    let per_size: Vec<(u64, Vec<&str>)> = sizes
        .iter()
        .map(|id| (*id, values(&format!("size_{id}"))))
        .collect();
    let lines: Vec<admin::RecipeLineInput<'_>> = ingredients
        .iter()
        .enumerate()
        .filter_map(|(row, ingredient)| {
            let ingredient_id = ingredient.parse::<u64>().ok().filter(|i| *i > 0)?;
            Some(admin::RecipeLineInput {
                ingredient_id,
                quantity: quantities.get(row).copied().unwrap_or(""),
                note: notes.get(row).copied().unwrap_or(""),
                removable: removable.get(row).is_none_or(|v| *v != "no"),
                per_size: per_size
                    .iter()
                    .map(|(size, values)| (*size, values.get(row).copied().unwrap_or("")))
                    .collect(),
            })
        })
        .collect();
    let steps = f
        .iter()
        .find(|(k, _)| k == "steps")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let mut tx = state.pool.begin().await?;
    match admin::set_recipe(&mut tx, id, &lines, steps).await {
        Ok(()) => {
            tx.commit().await?;
            flash(&page.session, "Recette enregistrée.").await?;
        }
        Err(AdminError::Invalid(m)) => flash(&page.session, capitalised(&m)).await?,
        Err(e) => return Err(e.into()),
    }
    Ok(back)
}

pub async fn set_staff_active(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    if id == user.id {
        flash(
            &page.session,
            "Vous ne pouvez pas désactiver votre propre compte.",
        )
        .await?;
        return Ok(Redirect::to(BACK));
    }
    let mut conn = state.pool.acquire().await?;
    if !account::user::set_staff_active(&mut conn, id, checked(&form, "active")).await? {
        return Err(WebError::NotFound);
    }
    flash(&page.session, "Compte mis à jour.").await?;
    Ok(Redirect::to(BACK))
}

#[derive(Deserialize)]
pub struct ImportForm {
    csv: String,
}

/// The seed CSV pasted in: loaded in one transaction, or nothing and the first error by line.
pub async fn import(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(form): Form<ImportForm>,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    use catalog::feed::FeedError;
    let message = match catalog::feed::feed(
        &state.pool,
        form.csv.as_bytes(),
        &state.settings.printer_ports,
    )
    .await
    {
        Ok(summary) => format!("Import réussi : {summary}"),
        Err(FeedError::Invalid(problems)) => format!(
            "Import refusé, rien n'a changé : {}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ; ")
        ),
        Err(FeedError::Read(e)) => {
            format!("Import refusé, rien n'a changé : fichier illisible ({e})")
        }
        Err(e) => return Err(WebError::Internal(e.to_string())),
    };
    flash(&page.session, message).await?;
    Ok(Redirect::to(BACK))
}

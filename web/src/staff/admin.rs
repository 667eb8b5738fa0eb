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
use minijinja::context;
use serde::Deserialize;

use super::group;
use crate::error::WebError;
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
            }
        })
        .collect();
    let shops_view: Vec<_> = shops
        .iter()
        .map(|s| {
            context! {
                id => s.id, code => s.code, name => s.name, active => s.active,
                hours => s.opening_hours, closed_days => s.closed_days,
            }
        })
        .collect();
    let printers = admin::printers(&mut conn).await?;
    let staff = account::user::staff(&mut conn).await?;
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
        admin::set_pizzeria(c, id, hours, days, checked(&f, "active")).await
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
        admin::set_pizza(c, id, field(&f, "price"), checked(&f, "active")).await
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
    password: String,
}

pub async fn create_staff(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(form): Form<StaffForm>,
) -> Result<Redirect, WebError> {
    group(&user, Screen::Admin)?;
    let done = async {
        let email = Email::parse(&form.email).map_err(|e| WebError::Invalid(e.to_string()))?;
        let name = vocab::PersonName::parse(&form.full_name)?;
        let name = name.as_str();
        let role: Role = form
            .role
            .parse()
            .ok()
            .filter(|r: &Role| r.is_staff())
            .ok_or_else(|| WebError::Invalid("rôle inconnu".into()))?;
        let pizzeria_id = form.pizzeria_id.parse::<u64>().ok();
        if role.needs_pizzeria() && pizzeria_id.is_none() {
            return Err(WebError::Invalid(format!(
                "un {} est rattaché à une pizzeria",
                role.label_fr().to_lowercase()
            )));
        }
        let password = Password::parse_for(&form.password, Some(&email))
            .map_err(|e| WebError::Invalid(e.to_string()))?;
        let hash = tokio::task::spawn_blocking(move || account::password::hash(&password))
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?
            .map_err(|e| WebError::Internal(e.to_string()))?;
        let mut conn = state.pool.acquire().await?;
        let pizzeria_id = pizzeria_id.filter(|_| role.needs_pizzeria());
        if let Some(p) = pizzeria_id
            && Pizzeria::find(&mut conn, p).await?.is_none()
        {
            return Err(WebError::Invalid("pizzeria inconnue".into()));
        }
        account::user::create_staff(&mut conn, &email, name, role, pizzeria_id, &hash)
            .await?
            .map(|_| ())
            .ok_or_else(|| WebError::Invalid("cette adresse a déjà un compte".into()))
    }
    .await;
    outcome(&page, done, "Compte créé.").await
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
                .map(|p| format!(
                    "ligne {}, colonne {} ({}) : {}",
                    p.line, p.column, p.column_name, p.message
                ))
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

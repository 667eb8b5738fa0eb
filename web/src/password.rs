//! « Mot de passe oublié » and claiming an account created without a password (a guest order,
//! the counter): the customer asks
//! for a link by e-mail (the same answer whether the address has an account or not, limited per
//! address and per client), the notifications worker mails a single-use link
//! (`account::password_link`), and following it sets the password, ends every other session
//! and logs the customer in. The link is also the way past the login limits.

use crate::extract::Form;
use crate::extract::Path;
use account::{Email, Password};
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use messages::event::{LinkPurpose, PasswordLinkRequested};
use messages::{Envelope, Event, outbox};
use minijinja::context;
use serde::Deserialize;

use crate::error::WebError;
use crate::page::{Page, flash};
use crate::session::{ClientAddr, device_cookie, log_in};
use crate::state::AppState;

pub const LINK_SENT: &str = "Si un compte existe pour cette adresse, nous venons d'y envoyer un lien pour choisir un mot de passe (valable une heure).";

pub async fn forgot_page(page: Page) -> Result<Html<String>, WebError> {
    page.render("forgot.html", context! { email => "" })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// Queues the link e-mail for the account with this address, if there is one (a counter
/// customer without a password gets a link to claim it). Says nothing about which.
pub async fn request_link(state: &AppState, client: ClientAddr, raw: &str) -> Result<(), WebError> {
    let Ok(email) = Email::parse(raw) else {
        state.login_limiter.check_link("", client.0)?;
        return Ok(());
    };
    state.login_limiter.check_link(email.as_str(), client.0)?;
    queue_link(state, &email).await
}

/// Queues the link e-mail for the account with this address, if there is one (the caller
/// applied the link limits).
pub async fn queue_link(state: &AppState, email: &Email) -> Result<(), WebError> {
    let mut tx = state.pool.begin().await?;
    if let Some(user) = account::user::find_by_email(&mut tx, email).await?
        && user.active
        && !user.email.ends_with(".invalid")
    {
        let purpose = if user.password_hash.is_some() {
            LinkPurpose::Reset
        } else {
            LinkPurpose::Claim
        };
        let event = Event::PasswordLinkRequested(PasswordLinkRequested {
            user_id: user.id,
            purpose,
        });
        outbox::enqueue(&mut tx, &Envelope::new(event)).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn forgot(
    State(state): State<AppState>,
    client: ClientAddr,
    page: Page,
    Form(form): Form<ForgotForm>,
) -> Result<Response, WebError> {
    match request_link(&state, client, &form.email).await {
        Ok(()) => {
            flash(&page.session, LINK_SENT).await?;
            Ok(Redirect::to("/connexion").into_response())
        }
        Err(e @ WebError::TooManyRequests) => {
            let html = page.render(
                "forgot.html",
                context! { email => form.email, error => e.to_string() },
            )?;
            Ok((e.status(), html).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn reset_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    page: Page,
) -> Result<Response, WebError> {
    let mut conn = state.pool.acquire().await?;
    match account::password_link::peek(&mut conn, &token, Utc::now()).await {
        Ok((_, email)) => Ok(page
            .render("reset.html", context! { token => token, email => email })?
            .into_response()),
        Err(account::password_link::LinkError::Invalid) => {
            let message = account::password_link::LinkError::Invalid.to_string();
            let html = page.render("reset.html", context! { invalid => message })?;
            Ok((axum::http::StatusCode::GONE, html).into_response())
        }
        Err(account::password_link::LinkError::Db(e)) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    page: Page,
    Form(form): Form<ResetForm>,
) -> Result<Response, WebError> {
    use account::password_link::{LinkError, peek, redeem};
    let invalid = |page: &Page| -> Result<Response, WebError> {
        let html = page.render(
            "reset.html",
            context! { invalid => LinkError::Invalid.to_string() },
        )?;
        Ok((axum::http::StatusCode::GONE, html).into_response())
    };
    let mut conn = state.pool.acquire().await?;
    let email = match peek(&mut conn, &token, Utc::now()).await {
        Ok((_, email)) => email,
        Err(LinkError::Invalid) => return invalid(&page),
        Err(LinkError::Db(e)) => return Err(e.into()),
    };
    drop(conn);
    let owner = Email::parse(&email).ok();
    let password = match Password::parse_for(&form.password, owner.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            let html = page.render(
                "reset.html",
                context! { token => token, email => email, error => e.to_string() },
            )?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
    };
    let hash = tokio::task::spawn_blocking(move || account::password::hash(&password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let mut tx = state.pool.begin().await?;
    let user_id = match redeem(&mut tx, &token, &hash, Utc::now()).await {
        Ok(id) => id,
        Err(LinkError::Invalid) => return invalid(&page),
        Err(LinkError::Db(e)) => return Err(e.into()),
    };
    let claimed = order::claim::guest_orders(&mut tx, user_id, &email).await?;
    tx.commit().await?;
    log_in(&page.session, user_id).await?;
    flash(
        &page.session,
        format!(
            "Mot de passe enregistré : vous êtes connecté.{}",
            claimed_fr(claimed)
        ),
    )
    .await?;
    Ok(([device_cookie(&state, user_id)], Redirect::to("/compte")).into_response())
}

/// « 2 commandes passées sans compte … » after a proof, or nothing.
fn claimed_fr(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => " Votre commande passée sans compte avec cette adresse est maintenant dans « Mes commandes ».".into(),
        n => format!(" Vos {n} commandes passées sans compte avec cette adresse sont maintenant dans « Mes commandes »."),
    }
}

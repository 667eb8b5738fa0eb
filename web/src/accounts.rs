//! Sign-up, log-in, log-out and the customer's profile with saved addresses.
//!
//! Sign-up logs the new customer in and sends the welcome e-mail; an address that already has
//! an account gets a link mailed to it instead (the visitor is not logged in). That answer
//! differs, so sign-up tells whether an address has an account: we accept it (a customer who
//! just signed up expects to order at once, not to open their mailbox first) and bound it with
//! the link limits (3 an hour per address, 10 a minute per client). Log-in gives one message for
//! an unknown address or a wrong password (and spends the same Argon2 time on both), and the
//! forgotten-password form the same answer in both cases.

use std::sync::OnceLock;

use crate::extract::Form;
use crate::extract::Path;
use account::{Email, Password};
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use tower_sessions::Session;
use vocab::{PersonName, Phone};

use messages::event::{LinkPurpose, PasswordLinkRequested};
use messages::{Envelope, Event, outbox};

use crate::error::WebError;
use crate::page::{Page, flash};
use crate::session::{ClientAddr, CurrentUser, KnownDevice, device_cookie, log_in, log_out};
use crate::state::AppState;

pub const LOGIN_FAILED: &str = "adresse e-mail ou mot de passe incorrect";
/// Said to a visitor who signed up with an address that already has an account.
pub const SIGNUP_EXISTING: &str = "Cette adresse a déjà un compte (par exemple après une commande sans compte ou au comptoir) : nous venons d'y envoyer un lien pour choisir votre mot de passe, valable une heure. Vous pouvez aussi vous connecter.";

/// Said to a new customer, logged in.
pub const SIGNUP_WELCOME: &str = "Bienvenue ! Votre compte est créé et vous êtes connecté. L'e-mail de bienvenue contient un lien pour confirmer votre adresse.";

/// What a sign-up did.
pub enum SignedUp {
    /// A new account, to log in.
    Created(u64),
    /// The address had an account: a link was mailed to it.
    Existing,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebError::Internal(e.to_string()))
}

/// A hash to verify against when the address is unknown, so both paths cost the same.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let password = Password::parse("decoy-password-never-used").expect("long enough");
        account::password::hash(&password).expect("hashing works")
    })
}

#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct SignupForm {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 120)]
    pub full_name: String,
    #[serde(default)]
    #[schema(max_length = 254)]
    pub email: String,
    #[serde(default)]
    #[schema(max_length = 30)]
    pub phone: String,
    /// 10 to 128 characters, not a common password, not containing the e-mail.
    #[serde(default, skip_serializing)]
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
}

/// Checks and creates the account, and queues its welcome e-mail. An address that already has
/// an account gets an e-mailed link instead: to claim it if it has no password (made by a guest
/// order or at the counter), to choose a new password otherwise. Only proving the address gives
/// access to what is filed under it.
pub async fn sign_up(
    state: &AppState,
    client: ClientAddr,
    form: &SignupForm,
) -> Result<SignedUp, WebError> {
    let name = PersonName::parse(&form.full_name)?;
    let email = Email::parse(&form.email).map_err(|e| WebError::Invalid(e.to_string()))?;
    let phone = Phone::parse(&form.phone)?;
    let password = Password::parse_for(&form.password, Some(&email))
        .map_err(|e| WebError::Invalid(e.to_string()))?;
    // Every sign-up mails a link (welcome or claim): the link limits apply.
    state.login_limiter.check_link(email.as_str(), client.0)?;
    let hash = blocking(move || account::password::hash(&password))
        .await?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let mut tx = state.pool.begin().await?;
    let created = account::user::create_customer(
        &mut tx,
        &email,
        name.as_str(),
        phone.as_ref().map(Phone::as_str),
        &hash,
    )
    .await?;
    tracing::info!(created = created.is_some(), "sign-up");
    let Some(id) = created else {
        tx.rollback().await?;
        crate::password::queue_link(state, &email).await?;
        return Ok(SignedUp::Existing);
    };
    let event = Event::PasswordLinkRequested(PasswordLinkRequested {
        user_id: id,
        purpose: LinkPurpose::Welcome,
    });
    outbox::enqueue(&mut tx, &Envelope::new(event)).await?;
    tx.commit().await?;
    Ok(SignedUp::Created(id))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

/// The user whose credentials these are, within the rate limits ([`crate::session::LoginLimiter`]).
pub async fn authenticate(
    state: &AppState,
    client: ClientAddr,
    device: KnownDevice,
    form: &LoginForm,
) -> Result<account::user::User, WebError> {
    let (key, user) = match Email::parse(&form.email) {
        Ok(email) => {
            let mut conn = state.pool.acquire().await?;
            let user = account::user::find_by_email(&mut conn, &email).await?;
            (email.as_str().to_owned(), user)
        }
        // Not an address any account can have: nothing to guess, only the client is counted.
        Err(_) => (String::new(), None),
    };
    let known = device.0.is_some() && device.0 == user.as_ref().map(|u| u.id);
    state.login_limiter.check(&key, client.0, known)?;
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_owned());
    let candidate = form.password.clone();
    let ok = blocking(move || account::password::verify(&candidate, &stored)).await?;
    match user {
        Some(u) if ok && u.active && u.password_hash.is_some() => Ok(u),
        _ => Err(WebError::Invalid(LOGIN_FAILED.into())),
    }
}

#[derive(Deserialize)]
pub struct SignupQuery {
    /// Prefilled from a guest order's page.
    email: Option<String>,
}

pub async fn signup_page(
    page: Page,
    crate::extract::Query(q): crate::extract::Query<SignupQuery>,
) -> Result<Html<String>, WebError> {
    let form = SignupForm {
        email: q.email.unwrap_or_default(),
        ..SignupForm::default()
    };
    page.render("signup.html", context! { form => form })
}

pub async fn signup(
    State(state): State<AppState>,
    client: ClientAddr,
    page: Page,
    Form(form): Form<SignupForm>,
) -> Result<Response, WebError> {
    match sign_up(&state, client, &form).await {
        Ok(SignedUp::Created(id)) => {
            log_in(&page.session, id).await?;
            flash(&page.session, SIGNUP_WELCOME).await?;
            // Back to the cart if they were ordering.
            let cart = crate::cart::Cart::load(&page.session).await?;
            let next = if cart.count() > 0 { "/panier" } else { "/" };
            Ok(([device_cookie(&state, id)], Redirect::to(next)).into_response())
        }
        Ok(SignedUp::Existing) => {
            flash(&page.session, SIGNUP_EXISTING).await?;
            Ok(Redirect::to("/connexion").into_response())
        }
        Err(e @ (WebError::Invalid(_) | WebError::TooManyRequests)) => {
            let status = e.status();
            let html = page.render(
                "signup.html",
                context! { form => form, error => e.to_string() },
            )?;
            Ok((status, html).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn login_page(page: Page) -> Result<Html<String>, WebError> {
    page.render("login.html", context! { email => "" })
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    device: KnownDevice,
    page: Page,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    match authenticate(&state, client, device, &form).await {
        Ok(user) => {
            log_in(&page.session, user.id).await?;
            let cart = crate::cart::Cart::load(&page.session).await?;
            // Staff land on their own screen.
            let next = if user.role.is_staff() {
                "/equipe"
            } else if cart.count() > 0 {
                "/panier"
            } else {
                "/"
            };
            Ok(([device_cookie(&state, user.id)], Redirect::to(next)).into_response())
        }
        Err(e @ (WebError::Invalid(_) | WebError::TooManyRequests)) => {
            let status = e.status();
            let html = page.render(
                "login.html",
                context! { email => form.email, error => e.to_string() },
            )?;
            Ok((status, html).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn logout(session: Session) -> Result<Redirect, WebError> {
    log_out(&session).await?;
    Ok(Redirect::to("/"))
}

/// Which form of the account page a refusal belongs to, with what was typed in it, so the page
/// comes back with the input kept and the message beside that form.
#[derive(Default, serde::Serialize)]
struct AccountForms {
    /// `profile`, `password`, `address-new` or `address-<id>`.
    failed: Option<String>,
    error: Option<String>,
    address: Option<account::address::NewAddress>,
    profile: Option<ProfileForm>,
}

async fn account_page(
    state: &AppState,
    user: &account::user::User,
    page: &Page,
    forms: AccountForms,
) -> Result<Response, WebError> {
    let mut conn = state.pool.acquire().await?;
    let addresses = account::address::list(&mut conn, user.id).await?;
    let status = if forms.error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let html = page.render(
        "account.html",
        context! { addresses => addresses, forms => forms },
    )?;
    Ok((status, html).into_response())
}

pub async fn profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
) -> Result<Response, WebError> {
    account_page(&state, &user, &page, AccountForms::default()).await
}

#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
pub struct ProfileForm {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    phone: String,
}

/// The customer's name and phone.
pub async fn update_profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(form): Form<ProfileForm>,
) -> Result<Response, WebError> {
    let parsed = PersonName::parse(&form.full_name)
        .and_then(|name| Phone::parse(&form.phone).map(|phone| (name, phone)));
    let (name, phone) = match parsed {
        Ok(ok) => ok,
        Err(e) => {
            let forms = AccountForms {
                failed: Some("profile".into()),
                error: Some(e.to_string()),
                profile: Some(form),
                ..Default::default()
            };
            return account_page(&state, &user, &page, forms).await;
        }
    };
    let mut conn = state.pool.acquire().await?;
    account::user::set_profile(&mut conn, user.id, &name, phone.as_ref()).await?;
    flash(&page.session, "Coordonnées enregistrées.").await?;
    Ok(Redirect::to("/compte").into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
}

/// A new password, the current one asked first; every other session of the account ends.
pub async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let refuse = |message: String| AccountForms {
        failed: Some("password".into()),
        error: Some(message),
        ..Default::default()
    };
    let stored = user
        .password_hash
        .clone()
        .unwrap_or_else(|| decoy_hash().to_owned());
    let candidate = form.current.clone();
    if !blocking(move || account::password::verify(&candidate, &stored)).await? {
        let forms = refuse("le mot de passe actuel n'est pas le bon".into());
        return account_page(&state, &user, &page, forms).await;
    }
    let owner = Email::parse(&user.email).ok();
    let password = match Password::parse_for(&form.new, owner.as_ref()) {
        Ok(p) => p,
        Err(e) => return account_page(&state, &user, &page, refuse(e.to_string())).await,
    };
    let hash = blocking(move || account::password::hash(&password))
        .await?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let mut tx = state.pool.begin().await?;
    account::user::set_password_hash(&mut tx, user.id, &hash).await?;
    account::password_link::end_sessions(&mut tx, user.id).await?;
    tx.commit().await?;
    // This session was ended with the others: the person who changed it stays logged in.
    log_in(&page.session, user.id).await?;
    flash(
        &page.session,
        "Mot de passe changé : vos autres sessions sont fermées.",
    )
    .await?;
    Ok(Redirect::to("/compte").into_response())
}

pub async fn add_address(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Page,
    Form(form): Form<account::address::NewAddress>,
) -> Result<Response, WebError> {
    let checked = match form.parse() {
        Ok(checked) => checked,
        Err(problem) => {
            let forms = AccountForms {
                failed: Some("address-new".into()),
                error: Some(problem.to_string()),
                address: Some(form),
                ..Default::default()
            };
            return account_page(&state, &user, &page, forms).await;
        }
    };
    let mut conn = state.pool.acquire().await?;
    account::address::add(&mut conn, user.id, &checked).await?;
    flash(&page.session, "Adresse enregistrée.").await?;
    Ok(Redirect::to("/compte").into_response())
}

/// Changes one of the customer's saved addresses (another customer's id answers 404).
pub async fn update_address(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    page: Page,
    Form(form): Form<account::address::NewAddress>,
) -> Result<Response, WebError> {
    let checked = match form.parse() {
        Ok(checked) => checked,
        Err(problem) => {
            let forms = AccountForms {
                failed: Some(format!("address-{id}")),
                error: Some(problem.to_string()),
                address: Some(form),
                ..Default::default()
            };
            return account_page(&state, &user, &page, forms).await;
        }
    };
    let mut conn = state.pool.acquire().await?;
    if !account::address::update(&mut conn, user.id, id, &checked).await? {
        return Err(WebError::NotFound);
    }
    flash(&page.session, "Adresse modifiée.").await?;
    Ok(Redirect::to("/compte").into_response())
}

pub async fn delete_address(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<u64>,
    session: Session,
) -> Result<Redirect, WebError> {
    let mut conn = state.pool.acquire().await?;
    if !account::address::delete(&mut conn, user.id, id).await? {
        return Err(WebError::NotFound);
    }
    flash(&session, "Adresse supprimée.").await?;
    Ok(Redirect::to("/compte"))
}

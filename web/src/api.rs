//! The JSON API: the customer's flows (pizzerias and menus, account, orders, payment) for apps
//! and integrations, with the same rules as the pages. Errors are `{"error": {"code",
//! "message"}}`; bad input is 400 or 422, never 500. Described by `GET /api/openapi.json`.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use catalog::Pizzeria;
use chrono::{DateTime, Utc};
use messages::{Actor, OrderStatus, PaymentMode};
use order::{Channel, DeliveryAddress, Fulfilment, NewLine, NewOrder, Order, Placed};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::accounts::{LoginForm, SignupForm};
use crate::error::ApiError;
use crate::orders::{OrderView, order_view, own_order};
use crate::session::{ClientAddr, CurrentUser, log_in, log_out};
use crate::shops::{MenuItemView, ShopView};
use crate::{AppState, WebError};

/// `Json<T>` whose rejections are API errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Path<T>` whose rejections are API errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<JsonRejection> for WebError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => WebError::Invalid(e.body_text()),
            other => WebError::BadRequest(other.body_text()),
        }
    }
}

impl From<PathRejection> for WebError {
    fn from(_: PathRejection) -> Self {
        WebError::NotFound
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/pizzerias", get(pizzerias))
        .route("/api/pizzerias/{code}/menu", get(menu))
        .route("/api/accounts", post(sign_up))
        .route("/api/session", post(log_in_api).delete(log_out_api))
        .route("/api/orders", get(list_orders).post(place_order))
        .route("/api/orders/{id}", get(get_order).patch(modify_order))
        .route("/api/orders/{id}/cancel", post(cancel_order))
        .route("/api/orders/{id}/payment", post(pay_order))
        .route("/api/orders/{id}/payment/finalise", post(finalise_payment))
}

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("../openapi.json"),
    )
}

async fn pizzerias(State(state): State<AppState>) -> Result<Json<Vec<ShopView>>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(
        Pizzeria::list_active(&mut conn)
            .await?
            .iter()
            .map(ShopView::from)
            .collect(),
    ))
}

async fn menu(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<MenuItemView>>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let shop = crate::shops::active_shop(&mut conn, &code).await?;
    Ok(Json(crate::shops::menu(&mut conn, shop.id).await?))
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn sign_up(
    State(state): State<AppState>,
    ApiJson(form): ApiJson<SignupForm>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    crate::accounts::sign_up(&state, &form).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Message {
            message: crate::accounts::SIGNUP_DONE,
        }),
    ))
}

#[derive(Serialize)]
struct Me {
    id: u64,
    email: String,
    full_name: String,
    role: String,
}

async fn log_in_api(
    State(state): State<AppState>,
    client: ClientAddr,
    session: Session,
    ApiJson(form): ApiJson<LoginForm>,
) -> Result<Json<Me>, ApiError> {
    let user = crate::accounts::authenticate(&state, client, &form).await?;
    log_in(&session, user.id).await?;
    Ok(Json(Me {
        id: user.id,
        email: user.email,
        full_name: user.full_name,
        role: user.role.as_str().to_owned(),
    }))
}

async fn log_out_api(session: Session) -> Result<StatusCode, ApiError> {
    log_out(&session).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The API requires a logged-in user with 401, not a redirect.
struct ApiUser(account::user::User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        CurrentUser::from_request_parts(parts, state)
            .await
            .map(|CurrentUser(u)| ApiUser(u))
            .map_err(ApiError)
    }
}

async fn list_orders(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Vec<OrderView>>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(
        Order::list_for_customer(&mut conn, user.id, 100)
            .await?
            .iter()
            .map(order_view)
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrderRequest {
    /// The pizzeria's code.
    pizzeria: String,
    lines: Vec<NewLine>,
    fulfilment: Fulfilment,
    /// A delivery address, or `address_id` for a saved one.
    #[serde(default)]
    delivery: Option<DeliveryAddress>,
    #[serde(default)]
    address_id: Option<u64>,
    /// UTC; absent for as soon as possible.
    #[serde(default)]
    desired_at: Option<DateTime<Utc>>,
    payment: PaymentMode,
    #[serde(default)]
    notes: String,
    idempotency_key: String,
}

#[derive(Serialize)]
struct Placement {
    order: OrderView,
    /// True when the same key had already placed this order.
    replayed: bool,
}

async fn place_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<NewOrderRequest>,
) -> Result<(StatusCode, Json<Placement>), ApiError> {
    let mut tx = state.pool.begin().await?;
    let shop = crate::shops::active_shop(&mut tx, &req.pizzeria)
        .await
        .map_err(|_| WebError::Invalid("pizzeria inconnue".into()))?;
    let delivery = match (req.fulfilment, req.address_id, req.delivery) {
        (Fulfilment::Pickup, _, _) => None,
        (Fulfilment::Delivery, Some(id), _) => {
            let a = account::address::find(&mut tx, user.id, id)
                .await?
                .ok_or_else(|| WebError::Invalid("adresse inconnue".into()))?;
            Some(DeliveryAddress {
                street: a.street,
                complement: a.complement,
                postal_code: a.postal_code,
                city: a.city,
                instructions: a.instructions,
            })
        }
        (Fulfilment::Delivery, None, address) => address,
    };
    let new = NewOrder {
        pizzeria_id: shop.id,
        customer_id: user.id,
        channel: Channel::Web,
        fulfilment: req.fulfilment,
        payment_mode: req.payment,
        customer_name: user.full_name.clone(),
        customer_phone: user.phone.clone().unwrap_or_default(),
        delivery,
        desired_at: req.desired_at,
        notes: req.notes,
        lines: req.lines,
        idempotency_key: req.idempotency_key,
    };
    let placed = order::place::place(&mut tx, &new, Actor::Customer(user.id), Utc::now()).await?;
    tx.commit().await?;
    Ok(match placed {
        Placed::Created(o) => (
            StatusCode::CREATED,
            Json(Placement {
                order: order_view(&o),
                replayed: false,
            }),
        ),
        Placed::AlreadyPlaced(o) => (
            StatusCode::OK,
            Json(Placement {
                order: order_view(&o),
                replayed: true,
            }),
        ),
    })
}

async fn get_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(order_view(&own_order(&state, &user, id).await?)))
}

async fn cancel_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<OrderView>, ApiError> {
    own_order(&state, &user, id).await?;
    let mut tx = state.pool.begin().await?;
    let o = order::transition::move_to(
        &mut tx,
        id,
        OrderStatus::Cancelled,
        Actor::Customer(user.id),
        "annulée par le client",
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(order_view(&o)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModifyRequest {
    #[serde(default)]
    lines: Option<Vec<NewLine>>,
    #[serde(default)]
    delivery: Option<DeliveryAddress>,
    /// `null` for as soon as possible; absent to keep.
    #[serde(default, with = "double_option")]
    desired_at: Option<Option<DateTime<Utc>>>,
    /// The order's version the change is based on.
    #[serde(default)]
    version: Option<u32>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

async fn modify_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
    ApiJson(req): ApiJson<ModifyRequest>,
) -> Result<Json<OrderView>, ApiError> {
    own_order(&state, &user, id).await?;
    let changes = order::modify::Changes {
        lines: req.lines,
        delivery: req.delivery,
        desired_at: req.desired_at,
        expected_version: req.version,
    };
    let mut tx = state.pool.begin().await?;
    let o =
        order::modify::modify(&mut tx, id, &changes, Actor::Customer(user.id), Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(order_view(&o)))
}

#[derive(Serialize)]
struct PaymentStart {
    payment_intent: String,
    client_secret: Option<String>,
    publishable_key: String,
}

/// Opens the order's PaymentIntent; the client confirms it with Stripe.js and the secret.
async fn pay_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<PaymentStart>, ApiError> {
    let o = own_order(&state, &user, id).await?;
    if o.status != OrderStatus::AwaitingPayment {
        return Err(WebError::Conflict("cette commande n'attend pas de paiement".into()).into());
    }
    let mut tx = state.pool.begin().await?;
    let intent = payment::rules::open(&mut tx, &state.gateway, &o, None).await?;
    tx.commit().await?;
    Ok(Json(PaymentStart {
        payment_intent: intent.id,
        client_secret: intent.client_secret,
        publishable_key: state.settings.stripe.publishable_key.clone(),
    }))
}

/// After the client confirmed: reads the PaymentIntent and records the outcome.
async fn finalise_payment(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<OrderView>, ApiError> {
    own_order(&state, &user, id).await?;
    let mut tx = state.pool.begin().await?;
    let Some(p) = payment::Payment::lock_online(&mut tx, id).await? else {
        return Err(
            WebError::Conflict("aucun paiement en cours pour cette commande".into()).into(),
        );
    };
    let intent = p.stripe_payment_intent_id.ok_or(WebError::NotFound)?;
    payment::rules::finalise(&mut tx, &state.gateway, &intent).await?;
    tx.commit().await?;
    Ok(Json(order_view(&own_order(&state, &user, id).await?)))
}

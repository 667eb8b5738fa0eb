//! The JSON API: the customer's flows (pizzerias and menus, account, orders, payment) for apps
//! and integrations, with the same rules as the pages. Errors are `{"error": {"code",
//! "message"}}`; bad input is 400 or 422, never 500.
//!
//! Described by `GET /api/openapi.json`, which utoipa builds from the handlers' annotations and
//! the types they exchange: routes are registered through the same `routes!` calls that document
//! them, so the document cannot leave a route out.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use catalog::Pizzeria;
use chrono::{DateTime, Utc};
use order::{NewLine, NewOrder, Order, Placed};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::{LoginForm, SignupForm};
use crate::error::WebError;
use crate::error::{ApiError, ErrorBody};
use crate::lookup::own_order;
use crate::session::{ClientAddr, CurrentUser, KnownDevice, device_cookie, log_in, log_out};
use crate::state::AppState;
use crate::views::{MenuItemView, ShopView};
use crate::views::{OrderView, order_view};
use vocab::{Actor, Channel, DeliveryAddress, Fulfilment, OrderStatus, PaymentMode};

/// `Json<T>` whose rejections are API errors.
#[derive(FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
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

#[derive(OpenApi)]
#[openapi(
    info(
        title = "OC Pizza API",
        description = "Commander chez OC Pizza : pizzerias, cartes, compte, commandes et paiement. Authentification par le cookie de session `ocpizza_session` (POST /api/session). Erreurs : `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&SessionCookie),
    tags(
        (name = "pizzerias", description = "Pizzerias and their menus"),
        (name = "account", description = "Sign-up and session"),
        (name = "orders", description = "The customer's orders and their payment"),
    )
)]
struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("ocpizza_session"))),
        );
    }
}

/// The API routes and `GET /api/openapi.json`, the document they produce.
pub fn router() -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(pizzerias))
        .routes(routes!(menu))
        .routes(routes!(slots))
        .routes(routes!(sign_up))
        .routes(routes!(log_in_api, log_out_api))
        .routes(routes!(list_orders, place_order))
        .routes(routes!(get_order, modify_order))
        .routes(routes!(cancel_order))
        .routes(routes!(pay_order))
        .routes(routes!(finalise_payment))
        .split_for_parts();
    let json: Arc<str> = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises")
        .into();
    router.route(
        "/api/openapi.json",
        get(move || {
            let json = Arc::clone(&json);
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    json.to_string(),
                )
            }
        }),
    )
}

/// The pizzerias taking orders.
#[utoipa::path(get, path = "/api/pizzerias", tag = "pizzerias",
    responses((status = 200, body = Vec<ShopView>)))]
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

/// A pizzeria's menu, each pizza with whether its stock can make one now.
#[utoipa::path(get, path = "/api/pizzerias/{code}/menu", tag = "pizzerias",
    params(("code" = String, Path, description = "The pizzeria's code")),
    responses((status = 200, body = Vec<MenuItemView>), (status = 404, body = ErrorBody)))]
async fn menu(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<MenuItemView>>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let shop = crate::lookup::active_shop(&mut conn, &code).await?;
    Ok(Json(crate::views::menu(&mut conn, shop.id).await?))
}

/// Which order the kitchen's times are asked for.
#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct SlotsQuery {
    /// Pizzas and starters in the order (drinks and desserts take no oven time).
    #[serde(default)]
    pizzas: u32,
    /// `delivery` adds the ride to the postal code's zone.
    #[serde(default)]
    fulfilment: Option<Fulfilment>,
    #[serde(default)]
    postal_code: String,
}

#[derive(Serialize, ToSchema)]
pub struct AsapView {
    /// Ready at the counter (pickup) or leaving the kitchen.
    ready_at: DateTime<Utc>,
    /// At the customer's door (delivery) or the same as `ready_at`.
    at_door: DateTime<Utc>,
    /// The wait is beyond the shop's limit: « dès que possible » means this time.
    beyond: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SlotView {
    at: DateTime<Utc>,
    /// « 19:30 », Paris time.
    label: String,
    /// Pizzas the kitchen's quarter for it can still take.
    left: u32,
}

#[derive(Serialize, ToSchema)]
pub struct SlotsView {
    /// `null` when the shop is closed or its kitchen full for the next hours.
    asap: Option<AsapView>,
    /// The times (every quarter of an hour, three days) the kitchen can still make this
    /// order for; a full one is left out.
    slots: Vec<SlotView>,
}

/// When the kitchen can make an order of `pizzas`: its promise for « dès que possible » and
/// the slots it can still take.
#[utoipa::path(get, path = "/api/pizzerias/{code}/slots", tag = "pizzerias",
    params(("code" = String, Path, description = "The pizzeria's code"), SlotsQuery),
    responses((status = 200, body = SlotsView), (status = 404, body = ErrorBody)))]
async fn slots(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    axum::extract::Query(q): axum::extract::Query<SlotsQuery>,
) -> Result<Json<SlotsView>, ApiError> {
    let mut conn = state.pool.acquire().await?;
    let shop = crate::lookup::active_shop(&mut conn, &code).await?;
    let travel = match q.fulfilment {
        Some(Fulfilment::Delivery) => {
            catalog::zone::travel_for(&mut conn, shop.id, &q.postal_code).await?
        }
        _ => chrono::Duration::zero(),
    };
    let offer =
        crate::views::kitchen_offer(&mut conn, &shop, q.pizzas.min(200), travel, Utc::now())
            .await?;
    Ok(Json(SlotsView {
        asap: offer.asap.map(|p| AsapView {
            ready_at: pace::rounded(p.fit.ready_at),
            at_door: pace::rounded(p.fit.at_door),
            beyond: p.beyond,
        }),
        slots: offer
            .days
            .iter()
            .flat_map(|d| d["slots"].as_array().cloned().unwrap_or_default())
            .filter_map(|s| {
                Some(SlotView {
                    at: serde_json::from_value(s["at"].clone()).ok()?,
                    label: s["label"].as_str()?.to_owned(),
                    left: u32::try_from(s["left"].as_u64()?).ok()?,
                })
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct Message {
    message: &'static str,
}

/// Creates a customer account and logs it in (201; the welcome e-mail follows). An address that
/// already has an account gets a link mailed to it instead (202, nobody logged in).
#[utoipa::path(post, path = "/api/accounts", tag = "account", request_body = SignupForm,
    responses((status = 201, body = Message), (status = 202, body = Message),
              (status = 422, body = ErrorBody), (status = 400, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn sign_up(
    State(state): State<AppState>,
    client: ClientAddr,
    session: Session,
    ApiJson(form): ApiJson<SignupForm>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match crate::accounts::sign_up(&state, client, &form).await? {
        crate::accounts::SignedUp::Created(id) => {
            log_in(&session, id).await?;
            let message = crate::accounts::SIGNUP_WELCOME;
            Ok((
                StatusCode::CREATED,
                [device_cookie(&state, id)],
                Json(Message { message }),
            )
                .into_response())
        }
        crate::accounts::SignedUp::Existing => Ok((
            StatusCode::ACCEPTED,
            Json(Message {
                message: crate::accounts::SIGNUP_EXISTING,
            }),
        )
            .into_response()),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    id: u64,
    email: String,
    full_name: String,
    role: String,
}

/// Logs in: sets the session cookie. Five attempts a minute per address.
#[utoipa::path(post, path = "/api/session", tag = "account", request_body = LoginForm,
    responses((status = 200, body = Me), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn log_in_api(
    State(state): State<AppState>,
    client: ClientAddr,
    device: KnownDevice,
    session: Session,
    ApiJson(form): ApiJson<LoginForm>,
) -> Result<([(axum::http::HeaderName, String); 1], Json<Me>), ApiError> {
    let user = crate::accounts::authenticate(&state, client, device, &form).await?;
    log_in(&session, user.id).await?;
    Ok((
        [device_cookie(&state, user.id)],
        Json(Me {
            id: user.id,
            email: user.email,
            full_name: user.full_name,
            role: user.role.as_str().to_owned(),
        }),
    ))
}

/// Logs out: the session is deleted.
#[utoipa::path(delete, path = "/api/session", tag = "account",
    responses((status = 204), (status = 403, body = ErrorBody)))]
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

/// The customer's last 100 orders, newest first.
#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("session" = [])),
    responses((status = 200, body = Vec<OrderView>), (status = 401, body = ErrorBody)))]
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderRequest {
    /// The pizzeria's code.
    #[schema(max_length = 40)]
    pizzeria: String,
    #[schema(min_items = 1, max_items = 20)]
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
    /// Paying on site: how (`cash`, `card`, `meal_voucher`, `cheque`); absent: not said.
    #[serde(default)]
    on_site_method: Option<vocab::PaymentMethod>,
    /// For cash: the amount the customer will hand over, in cents (the rider brings the change).
    #[serde(default)]
    change_for_cents: Option<u32>,
    #[serde(default)]
    #[schema(max_length = 500)]
    notes: String,
    /// Chosen once per checkout: the same key finds the order already placed.
    #[schema(pattern = "^[A-Za-z0-9_-]{8,64}$")]
    idempotency_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct Placement {
    order: OrderView,
    /// True when the same key had already placed this order.
    replayed: bool,
}

/// Places an order. Prices and availability come from the server; the same
/// `idempotency_key` returns the order already placed (200, `replayed`).
#[utoipa::path(post, path = "/api/orders", tag = "orders", security(("session" = [])),
    request_body = NewOrderRequest,
    responses((status = 201, body = Placement), (status = 200, body = Placement),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn place_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(req): ApiJson<NewOrderRequest>,
) -> Result<(StatusCode, Json<Placement>), ApiError> {
    let placed = crate::error::retried(|| place_once(&state, &user, &req)).await?;
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

async fn place_once(
    state: &AppState,
    user: &account::user::User,
    req: &NewOrderRequest,
) -> Result<Placed, WebError> {
    let mut tx = state.pool.begin().await?;
    let shop = crate::lookup::active_shop(&mut tx, &req.pizzeria)
        .await
        .map_err(|_| WebError::Invalid("pizzeria inconnue".into()))?;
    let delivery = match (req.fulfilment, req.address_id, req.delivery.clone()) {
        (Fulfilment::Pickup, _, _) => None,
        (Fulfilment::Delivery, Some(id), _) => Some(
            account::address::find(&mut tx, user.id, id)
                .await?
                .ok_or_else(|| WebError::Invalid("adresse inconnue".into()))?
                .delivery(),
        ),
        (Fulfilment::Delivery, None, address) => address,
    };
    let new = NewOrder {
        pizzeria_id: shop.id,
        customer_id: user.id,
        channel: Channel::Web,
        fulfilment: req.fulfilment,
        payment_mode: req.payment,
        on_site_plan: req.on_site_method.map(|method| vocab::OnSitePlan {
            method,
            change_for: req.change_for_cents.map(vocab::Cents),
        }),
        customer_name: user.full_name.clone(),
        customer_phone: user.phone.clone().unwrap_or_default(),
        contact_email: None,
        delivery,
        desired_at: req.desired_at,
        notes: req.notes.clone(),
        lines: req.lines.clone(),
        idempotency_key: req.idempotency_key.clone(),
    };
    let placed = order::place::place(&mut tx, &new, Actor::Customer(user.id), Utc::now()).await?;
    tx.commit().await?;
    Ok(placed)
}

/// One of the customer's orders.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", security(("session" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(order_view(&own_order(&state, &user, id).await?)))
}

/// Cancels the order; refused (409) once the kitchen has started it.
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders", security(("session" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn cancel_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<OrderView>, ApiError> {
    own_order(&state, &user, id).await?;
    let mut tx = state.pool.begin().await?;
    let o = order::transition::cancel_by_customer(&mut tx, id, user.id).await?;
    tx.commit().await?;
    Ok(Json(order_view(&o)))
}

#[derive(Debug, Deserialize, ToSchema)]
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

/// Changes lines, address or time until the kitchen starts the order; `version` guards
/// against overwriting a change made meanwhile (409).
#[utoipa::path(patch, path = "/api/orders/{id}", tag = "orders", security(("session" = [])),
    params(("id" = u64, Path)), request_body = ModifyRequest,
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
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

#[derive(Serialize, ToSchema)]
pub struct PaymentStart {
    payment_intent: String,
    client_secret: Option<String>,
    publishable_key: String,
}

/// Opens the order's PaymentIntent; confirm it with Stripe.js, then call `finalise`.
#[utoipa::path(post, path = "/api/orders/{id}/payment", tag = "orders", security(("session" = [])),
    params(("id" = u64, Path)),
    responses((status = 200, body = PaymentStart), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 503, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn pay_order(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<PaymentStart>, ApiError> {
    let o = own_order(&state, &user, id).await?;
    if o.status != OrderStatus::AwaitingPayment {
        return Err(WebError::Conflict("cette commande n'attend pas de paiement".into()).into());
    }
    let intent = payment::rules::retried(|| async {
        let mut tx = state.pool.begin().await?;
        let intent = payment::rules::open(&mut tx, &state.gateway, &o, None).await?;
        tx.commit().await?;
        Ok(intent)
    })
    .await?;
    Ok(Json(PaymentStart {
        payment_intent: intent.id,
        client_secret: intent.client_secret,
        publishable_key: state.settings.stripe.publishable_key.clone(),
    }))
}

/// Reads the PaymentIntent from Stripe and records the outcome (the webhook does the same).
#[utoipa::path(post, path = "/api/orders/{id}/payment/finalise", tag = "orders",
    security(("session" = [])), params(("id" = u64, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn finalise_payment(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<OrderView>, ApiError> {
    own_order(&state, &user, id).await?;
    let found = payment::rules::retried(|| async {
        let mut tx = state.pool.begin().await?;
        let Some(p) = payment::Payment::lock_online(&mut tx, id).await? else {
            return Ok(None);
        };
        let Some(intent) = p.stripe_payment_intent_id else {
            return Ok(Some(false));
        };
        payment::rules::finalise(&mut tx, &state.gateway, &intent).await?;
        tx.commit().await?;
        Ok(Some(true))
    })
    .await?;
    match found {
        None => {
            return Err(
                WebError::Conflict("aucun paiement en cours pour cette commande".into()).into(),
            );
        }
        Some(false) => return Err(WebError::NotFound.into()),
        Some(true) => {}
    }
    Ok(Json(order_view(&own_order(&state, &user, id).await?)))
}

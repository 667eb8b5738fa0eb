//! Stripe's webhook: signature and timestamp checked (async-stripe, 5 minutes of tolerance),
//! each event handled once (`stripe_events`), and the PaymentIntent's state turned into ours by
//! the same `finalise` step as the customer's return page. A failure answers 500 so Stripe
//! sends the event again; nothing was recorded then.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use settings::ExposeSecret;
use stripe_webhook::{EventObject, Webhook};

use crate::state::AppState;

pub async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(signature) = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return (StatusCode::BAD_REQUEST, "missing Stripe-Signature").into_response();
    };
    let Ok(payload) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not UTF-8").into_response();
    };
    let secret = state.settings.stripe.webhook_secret.expose_secret();
    let event = match Webhook::construct_event(payload, signature, secret) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "webhook refused");
            return (StatusCode::BAD_REQUEST, format!("webhook refused: {e}")).into_response();
        }
    };
    match handle(&state, &event).await {
        Ok(message) => (StatusCode::OK, message).into_response(),
        Err(e) => {
            tracing::error!(event = %event.id.as_str(), error = %e, "webhook handling failed; Stripe will retry");
            (StatusCode::INTERNAL_SERVER_ERROR, "retry later").into_response()
        }
    }
}

async fn handle(state: &AppState, event: &stripe_webhook::Event) -> Result<&'static str, String> {
    let mut tx = state.pool.begin().await.map_err(|e| e.to_string())?;
    let fresh = sqlx::query("INSERT IGNORE INTO stripe_events (id, event_type) VALUES (?, ?)")
        .bind(event.id.as_str())
        .bind(format!("{:?}", event.type_))
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?
        .rows_affected()
        == 1;
    if !fresh {
        return Ok("duplicate event ignored");
    }
    let intent_id = match &event.data.object {
        EventObject::PaymentIntentSucceeded(pi)
        | EventObject::PaymentIntentPaymentFailed(pi)
        | EventObject::PaymentIntentAmountCapturableUpdated(pi)
        | EventObject::PaymentIntentCanceled(pi) => Some(pi.id.as_str().to_owned()),
        _ => None,
    };
    if let Some(id) = intent_id {
        match payment::rules::finalise(&mut tx, &state.gateway, &id).await {
            Ok(_) | Err(payment::PaymentError::UnknownIntent) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok("ok")
}

//! Probes for Supervisor, nginx and monitoring. `/healthz` says the process answers;
//! `/readyz` says it can do useful work: the database answers and the broker accepts a
//! connection. Reasons are given so an operator sees which one is down.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use settings::ExposeSecret;

use crate::state::AppState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::handler))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize)]
pub struct Readiness {
    pub status: &'static str,
    pub database: String,
    pub broker: String,
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let (database, broker) = tokio::join!(check_database(&state), check_broker(&state));
    let ready = database.is_ok() && broker.is_ok();
    let body = Readiness {
        status: if ready { "ready" } else { "not ready" },
        database: database.err().unwrap_or_else(|| "ok".into()),
        broker: broker.err().unwrap_or_else(|| "ok".into()),
    };
    if !ready {
        tracing::warn!(database = %body.database, broker = %body.broker, "not ready");
    }
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}

async fn check_database(state: &AppState) -> Result<(), String> {
    let query = sqlx::query("SELECT 1").execute(&state.pool);
    match tokio::time::timeout(PROBE_TIMEOUT, query).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("unreachable: {e}")),
        Err(_) => Err("no answer within 3 s".into()),
    }
}

async fn check_broker(state: &AppState) -> Result<(), String> {
    let url = state.settings.rabbitmq_url.expose_secret();
    let connect = lapin::Connection::connect(url, lapin::ConnectionProperties::default());
    match tokio::time::timeout(PROBE_TIMEOUT, connect).await {
        Ok(Ok(conn)) => {
            let _ = conn.close(200, "readiness probe".into()).await;
            Ok(())
        }
        // lapin errors name the host, never the password.
        Ok(Err(e)) => Err(format!("unreachable: {e}")),
        Err(_) => Err("no answer within 3 s".into()),
    }
}

//! Probes for Supervisor, nginx and monitoring. `/healthz` says the process answers;
//! `/readyz` says it can do useful work: the database answers and the broker accepts a
//! connection. Reasons are given so an operator sees which one is down. It also says which
//! workers are behind (a queue without workers, or a backlog growing): the web server still
//! takes orders then — nothing is lost, they wait in the queue — so that does not make it
//! unready, but the operator reading the probe sees it.

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
    /// « ok », or the queues behind: `stock: 52 waiting, 1 worker`.
    pub workers: String,
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let (database, broker) = tokio::join!(check_database(&state), check_broker(&state));
    let ready = database.is_ok() && broker.is_ok();
    let workers = if broker.is_ok() {
        match crate::metrics::queue_depths(&state).await {
            Some(depths) => behind(&depths),
            None => "unknown: RabbitMQ gave no figures".into(),
        }
    } else {
        "unknown: RabbitMQ unreachable".into()
    };
    let body = Readiness {
        status: if ready { "ready" } else { "not ready" },
        database: database.err().unwrap_or_else(|| "ok".into()),
        broker: broker.err().unwrap_or_else(|| "ok".into()),
        workers,
    };
    if !ready {
        tracing::warn!(database = %body.database, broker = %body.broker, "not ready");
    } else if body.workers != "ok" {
        tracing::warn!(workers = %body.workers, "workers behind");
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

/// « ok », or each queue behind with what it holds.
fn behind(depths: &[messages::dead_letter::Depth]) -> String {
    let late: Vec<String> = depths
        .iter()
        .filter(|d| d.is_behind())
        .map(|d| {
            let workers = match d.workers {
                0 => "no worker".to_owned(),
                1 => "1 worker".to_owned(),
                n => format!("{n} workers"),
            };
            format!("{}: {} waiting, {workers}", d.consumer, d.waiting)
        })
        .collect();
    if late.is_empty() {
        "ok".into()
    } else {
        late.join("; ")
    }
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
    let connect = messages::broker::connect(url);
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

//! `/metrics` for Prometheus: one scrape shows the whole platform, not just this process.
//!
//! Workers run as separate processes (several per type, restarted by Supervisor), so their
//! in-memory counters would be scattered and reset on every restart. What an operator alerts on
//! is read where it is durable instead, at scrape time:
//! - orders by status (the `orders` table);
//! - messages handled per worker (`processed_messages`, one claim per message and consumer);
//! - messages given up on per worker (the `message.dead_lettered` alerts in the outbox) and the
//!   ones still waiting in each dead-letter queue (RabbitMQ);
//! - the outbox backlog and the age of its oldest row (the relay's health);
//! - whether the database and the broker answer.
//!
//! This process adds its own HTTP counters (responses by status class, latency histogram).
//! The exposition format is written by `prometheus-client`. Only loopback and the addresses in
//! `METRICS_ALLOW` may read it (nginx refuses it from outside too); scrape it on the loopback
//! address.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use settings::ExposeSecret;

use crate::session::ClientAddr;
use crate::state::AppState;

const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

type Labels = Vec<(&'static str, String)>;

/// This process's HTTP figures, shared by every request (part of [`AppState`]).
pub struct Http {
    responses: Family<[(&'static str, &'static str); 1], Counter>,
    latency: Histogram,
}

impl Default for Http {
    fn default() -> Http {
        Http {
            responses: Family::default(),
            latency: Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        }
    }
}

/// Label values by the status code's first digit, so counting allocates nothing per request.
const CLASSES: [&str; 6] = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];

/// Counts every response by status class and times it. Live update streams are counted when
/// they open, and timed until their headers only.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let class = CLASSES[usize::from(response.status().as_u16() / 100).min(5)];
    state
        .http
        .responses
        .get_or_create(&[("class", class)])
        .inc();
    state.http.latency.observe(started.elapsed().as_secs_f64());
    response
}

pub async fn handler(State(state): State<AppState>, ClientAddr(client): ClientAddr) -> Response {
    // Figures about the whole business: loopback and the configured scrapers only (nginx
    // refuses it from outside too).
    if !client.is_loopback() && !state.settings.metrics_allow.contains(&client) {
        return crate::error::WebError::NotFound.into_response();
    }
    let mut registry = Registry::with_prefix("ocpizza");

    let database_up = Gauge::<i64>::default();
    registry.register(
        "database_up",
        "1 when the database answered this scrape",
        database_up.clone(),
    );
    match platform(&state, &mut registry).await {
        Ok(()) => {
            database_up.set(1);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: database figures unavailable"),
    }

    let broker_up = Gauge::<i64>::default();
    registry.register(
        "broker_up",
        "1 when RabbitMQ answered this scrape",
        broker_up.clone(),
    );
    let dead = Family::<Labels, Gauge>::default();
    registry.register(
        "dead_letters_waiting",
        "Messages waiting in each worker's dead-letter queue",
        dead.clone(),
    );
    let waiting = Family::<Labels, Gauge>::default();
    registry.register(
        "messages_waiting",
        "Messages ready in each worker's queue, not yet taken (a backlog when it grows)",
        waiting.clone(),
    );
    let workers = Family::<Labels, Gauge>::default();
    registry.register(
        "queue_workers",
        "Workers consuming each queue",
        workers.clone(),
    );
    if let Some(depths) = queue_depths(&state).await {
        broker_up.set(1);
        for d in depths {
            let labels = vec![("consumer", d.consumer.clone())];
            dead.get_or_create(&labels).set(i64::from(d.dead));
            waiting.get_or_create(&labels).set(i64::from(d.waiting));
            workers.get_or_create(&labels).set(i64::from(d.workers));
        }
    }

    registry.register(
        "http_responses",
        "HTTP responses of this web process by status class",
        state.http.responses.clone(),
    );
    registry.register(
        "http_request_duration_seconds",
        "Time to the response headers, this web process",
        state.http.latency.clone(),
    );

    let mut body = String::new();
    if let Err(e) = encode(&mut body, &registry) {
        tracing::error!(error = %e, "metrics: encoding failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The database figures; any query failing leaves them all out (and `database_up` at 0).
async fn platform(state: &AppState, registry: &mut Registry) -> Result<(), String> {
    let pool = &state.pool;
    let figures = async {
        let orders = order::Order::count_all_by_status(pool)
            .await
            .map_err(|e| e.to_string())?;
        let handled = messages::consumer::handled_counts(pool)
            .await
            .map_err(|e| e.to_string())?;
        let failed = messages::dead_letter::dead_lettered_counts(pool)
            .await
            .map_err(|e| e.to_string())?;
        let backlog = messages::outbox::backlog(pool)
            .await
            .map_err(|e| e.to_string())?;
        let oldest = messages::outbox::oldest_pending_seconds(pool)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((orders, handled, failed, backlog, oldest))
    };
    let (orders, handled, failed, backlog, oldest) = tokio::time::timeout(PROBE_TIMEOUT, figures)
        .await
        .map_err(|_| "no answer within 3 s".to_owned())??;

    let by_status = Family::<Labels, Gauge>::default();
    for (status, n) in orders {
        by_status
            .get_or_create(&vec![("status", status.as_str().to_owned())])
            .set(n);
    }
    registry.register("orders", "Orders by status, all pizzerias", by_status);

    // Every worker appears, at 0 before its first message, so alerts can rely on the series.
    let handled_family = Family::<Labels, Counter>::default();
    let failed_family = Family::<Labels, Counter>::default();
    for spec in workers::consumers() {
        let of = |rows: &[(String, i64)]| {
            rows.iter()
                .find(|(c, _)| *c == spec.name)
                .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
        };
        let labels = vec![("consumer", spec.name.clone())];
        handled_family.get_or_create(&labels).inc_by(of(&handled));
        failed_family.get_or_create(&labels).inc_by(of(&failed));
    }
    registry.register(
        "messages_handled",
        "Messages each worker has handled",
        handled_family,
    );
    registry.register(
        "messages_dead_lettered",
        "Messages each worker gave up on (sent to its dead-letter queue)",
        failed_family,
    );

    let backlog_gauge = Gauge::<i64>::default();
    backlog_gauge.set(backlog);
    registry.register(
        "outbox_backlog",
        "Messages written but not yet published to RabbitMQ",
        backlog_gauge,
    );
    let oldest_gauge = Gauge::<i64>::default();
    oldest_gauge.set(oldest);
    registry.register(
        "outbox_oldest_pending_seconds",
        "Age of the oldest message not yet published (0 when none)",
        oldest_gauge,
    );
    Ok(())
}

/// Every worker's queue as RabbitMQ counts it now (`None` when it does not answer in time).
pub(crate) async fn queue_depths(state: &AppState) -> Option<Vec<messages::dead_letter::Depth>> {
    let url = state.settings.rabbitmq_url.expose_secret();
    let counted = async {
        let conn = messages::broker::connect(url).await.ok()?;
        let depths = messages::dead_letter::depths(&conn, &workers::consumers())
            .await
            .ok();
        let _ = conn.close(200, "metrics".into()).await;
        depths
    };
    match tokio::time::timeout(PROBE_TIMEOUT, counted).await {
        Ok(Some(depths)) => Some(depths),
        _ => {
            tracing::warn!("metrics: RabbitMQ figures unavailable");
            None
        }
    }
}

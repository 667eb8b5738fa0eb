//! What every program (web server, workers, admin commands) does the same way: logging from
//! `LOG_LEVEL` (human-readable in development, one JSON object per line in production), errors
//! and panics to Sentry when `SENTRY_DSN` is set, and the stop signal Supervisor sends.

use secrecy::ExposeSecret;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::Settings;

/// Keeps Sentry's client alive: dropping it flushes the events not yet sent (up to 2 s). Hold it
/// in `main` until the program ends.
#[must_use = "dropping the guard turns Sentry off"]
pub struct Telemetry {
    _sentry: Option<sentry::ClientInitGuard>,
}

/// Installs logging and, when a DSN is set, Sentry. `program` names the process in Sentry
/// (`web`, `worker-stock`…) so an operator sees which one failed; `release` is the version it
/// runs (`ocpizza@x.y.z`).
pub fn init(settings: &Settings, program: &str, release: &'static str) -> Telemetry {
    let sentry = settings.sentry_dsn.as_ref().map(|dsn| {
        let guard = sentry::init(
            sentry::ClientOptions::new()
                .dsn(dsn.expose_secret())
                .release(release)
                .environment(settings.env.as_str())
                .server_name(program.to_owned())
                // Order ids, never customers' names or addresses, go into events.
                .send_default_pii(false),
        );
        sentry::configure_scope(|scope| scope.set_tag("program", program));
        guard
    });
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    // `error!` events become Sentry events (with their fields, e.g. `order_id`, as context);
    // `warn!` and `info!` become breadcrumbs leading up to them.
    let sentry_layers = sentry.as_ref().map(|_| {
        use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
        use tracing_subscriber::Layer;
        use tracing_subscriber::filter::LevelFilter;
        ErrorLayer::new()
            .with_filter(LevelFilter::ERROR)
            .and_then(BreadcrumbLayer::new().with_filter(LevelFilter::INFO))
    });
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(sentry_layers);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if settings.env.is_production() {
        registry.with(fmt.json()).try_init()
    } else {
        registry.with(fmt).try_init()
    };
    Telemetry { _sentry: sentry }
}

/// Resolves on SIGTERM (Supervisor's stop signal) or Ctrl-C.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("stop requested");
}

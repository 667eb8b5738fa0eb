//! Bootstrap as a function of settings: build → bound address → run until stopped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use settings::ExposeSecret;
use settings::Settings;
use sqlx::MySqlPool;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::error::{ApiError, WebError};
use crate::session::MySqlStore;
use crate::state::AppState;

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    pool: MySqlPool,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Application {
    /// Binds `HOST:PORT` from the settings (port 0 picks a free port, for tests).
    pub async fn build(settings: Settings, pool: MySqlPool) -> std::io::Result<Self> {
        let listener = TcpListener::bind((settings.host, settings.port)).await?;
        let gateway = payment::Gateway::new(
            settings.stripe.secret_key.expose_secret(),
            settings.stripe.api_base.as_str(),
        )
        .map_err(|e| std::io::Error::other(format!("STRIPE settings: {e}")))?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let signer = account::signing::Signer::new(settings.secret_key.expose_secret());
        let relays = messages::wake::Waker::start(settings.rabbitmq_url.expose_secret());
        let state = AppState {
            pool: pool.clone(),
            settings: Arc::new(settings),
            gateway,
            login_limiter: crate::session::LoginLimiter::default(),
            anonymous_posts: crate::session::anonymous_post_limiter(),
            signer,
            http: Arc::new(crate::metrics::Http::default()),
            stopping,
            relays,
        };
        Ok(Application {
            listener,
            router: router(state),
            pool,
            stop,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = MySqlStore::new(self.pool.clone());
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                if let Err(e) = store.delete_expired().await {
                    tracing::warn!(error = %e, "deleting expired sessions failed");
                }
            }
        });
        let stop = self.stop;
        let served = crate::serve::serve(
            self.listener,
            self.router,
            crate::serve::Timeouts::default(),
            async move {
                shutdown.await;
                let _ = stop.send(true);
            },
        )
        .await;
        sweeper.abort();
        served
    }
}

pub fn router(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(MySqlStore::new(state.pool.clone()))
        .with_name("ocpizza_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.settings.env.is_production())
        .with_expiry(Expiry::OnInactivity(time::Duration::days(14)));
    Router::new()
        .merge(crate::health::router())
        .merge(crate::routes::pages())
        .merge(crate::api::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            wake_relays,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::session::csrf_guard,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::session::csrf_cookie,
        ))
        .layer(axum::middleware::from_fn(|request, next| {
            crate::serve::request_timeout(crate::serve::Timeouts::default().request, request, next)
        }))
        .layer(RequestBodyLimitLayer::new(256 * 1024))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::headers::security_headers,
        ))
        .layer(axum::middleware::from_fn(crate::error::report))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .with_state(state)
}

/// A handler that wrote to the outbox has committed by the time it answers: the relays are woken
/// then, and the order (or whatever it announced) leaves at once.
async fn wake_relays(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mark = messages::wake::mark();
    let response = next.run(request).await;
    state.relays.after(mark);
    response
}

/// Unknown paths: a JSON error under `/api/`, the French page elsewhere.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        ApiError(WebError::NotFound).into_response()
    } else {
        WebError::NotFound.into_response()
    }
}

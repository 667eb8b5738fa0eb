//! Bootstrap as a function of settings: build → bound address → run until stopped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use settings::Settings;
use sqlx::MySqlPool;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// What every handler can reach, passed through axum's `State`. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: MySqlPool,
    pub settings: Arc<Settings>,
}

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `HOST:PORT` from the settings (port 0 picks a free port, for tests).
    pub async fn build(settings: Settings, pool: MySqlPool) -> std::io::Result<Self> {
        let listener = TcpListener::bind((settings.host, settings.port)).await?;
        let state = AppState {
            pool,
            settings: Arc::new(settings),
        };
        Ok(Application {
            listener,
            router: router(state),
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
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::health::router())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

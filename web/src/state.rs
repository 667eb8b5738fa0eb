//! [`AppState`]: what every handler reaches through axum's `State`, built once by
//! [`crate::startup`]. No globals: tests build as many as they like side by side.

use std::sync::Arc;

use settings::Settings;
use sqlx::MySqlPool;

use crate::metrics::Http;

/// What every handler can reach, passed through axum's `State`. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: MySqlPool,
    pub settings: Arc<Settings>,
    pub gateway: payment::Gateway,
    pub login_limiter: crate::session::LoginLimiter,
    /// Posts without a session (each creates one), per client address.
    pub anonymous_posts: Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
    /// Signs with `SECRET_KEY` (CSRF tokens, known-device cookies).
    pub signer: account::signing::Signer,
    /// This process's HTTP figures for `/metrics`.
    pub http: Arc<Http>,
    /// Turns true when the server starts stopping: live update streams end then, so a graceful
    /// stop is not held up by pages that stay open for hours (their browsers reconnect).
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Wakes the outbox relays after a request whose transaction wrote to the outbox.
    pub relays: messages::wake::Waker,
}

impl AppState {
    /// `events` until the server starts stopping.
    pub fn until_stopping<S: futures_util::Stream>(
        &self,
        events: S,
    ) -> impl futures_util::Stream<Item = S::Item> + use<S> {
        let mut stopping = self.stopping.clone();
        futures_util::StreamExt::take_until(events, async move {
            let _ = stopping.wait_for(|s| *s).await;
        })
    }
}

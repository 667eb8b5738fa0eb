//! The accept loop: each connection served by hyper with timeouts of its own, so a client
//! that trickles its request (one byte every few seconds) or opens connections and says
//! nothing cannot hold the server's sockets. `axum::serve` configures no timer, hence no
//! header-read timeout; this loop does, and keeps its graceful stop.
//!
//! - headers must arrive within [`Timeouts::header_read`] (also the idle limit between
//!   requests on a kept-alive connection);
//! - a whole request, body included, must be answered within [`Timeouts::request`], except the
//!   live update streams (`…/flux`), which are meant to stay open ([`request_timeout`]).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::error::WebError;

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// To receive a request's headers, and the most a kept-alive connection may sit idle.
    pub header_read: Duration,
    /// To receive the body and answer, for everything but the live streams.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// Cuts a request that takes longer than `limit` (a slow body, a stuck handler) with 408,
/// except the server-sent event streams.
pub async fn request_timeout(limit: Duration, request: Request, next: Next) -> Response {
    if request.uri().path().ends_with("/flux") {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            axum::http::StatusCode::REQUEST_TIMEOUT,
            WebError::BadRequest("la requête a mis trop de temps : réessayez".into()),
        )
            .into_response(),
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits for open connections
/// to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // HTTP/1.1 only: nginx speaks it to the app (and terminates HTTP/2 for browsers). hyper's
    // own HTTP/1 connection starts the header-read timer as soon as it waits for a request,
    // which an auto-detecting (HTTP/1 or 2) connection would not do before the first byte.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, a reset before accept: wait a little, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(
                    router
                        .oneshot(request.map(Body::new))
                        .await
                        .unwrap_or_else(|e| match e {}),
                )
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

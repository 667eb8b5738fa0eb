//! Connecting to RabbitMQ, and a shutdown signal shared by the relay and the consumers.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use lapin::{Connection, ConnectionProperties};
use tokio::sync::watch;

/// Tells long-running loops to stop. Cloned into every task; [`Shutdown::trigger`] stops them all.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending side of [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is triggered (or the trigger is dropped).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Sleeps, waking early on shutdown; returns false when shutdown came first.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            () = self.wait() => false,
        }
    }
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

/// Backoff for reconnecting: 200 ms doubling to 10 s, with jitter so that every worker does not
/// hit a restarted broker at the same instant; never gives up.
pub fn reconnect_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
        .build()
}

/// The addresses of `RABBITMQ_URL`: one URL, or the nodes of a cluster separated by commas
/// (the same account and vhost on each).
pub fn addresses(urls: &str) -> impl Iterator<Item = &str> {
    urls.split(',').map(str::trim).filter(|u| !u.is_empty())
}

/// Which address a process tries first: spread over the nodes by process id, so that a
/// cluster's clients do not all land on its first node.
fn first_tried(count: usize) -> usize {
    usize::try_from(std::process::id()).unwrap_or(0) % count.max(1)
}

/// One connection attempt per address (each bounded in time), until one node answers; the
/// error of the last one otherwise.
pub async fn connect(urls: &str) -> Result<Connection, lapin::Error> {
    let all: Vec<&str> = addresses(urls).collect();
    let mut last = None;
    let start = first_tried(all.len());
    for i in 0..all.len() {
        let url = all[(start + i) % all.len()];
        match connect_one(url, all.len()).await {
            Ok(conn) => return Ok(conn),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        lapin::Error::from(lapin::ErrorKind::IOError(std::sync::Arc::new(
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "RABBITMQ_URL names no node",
            ),
        )))
    }))
}

async fn connect_one(url: &str, nodes: usize) -> Result<Connection, lapin::Error> {
    // A node that does not answer must not hold the others up for long.
    let limit = if nodes > 1 { 2 } else { 10 };
    match tokio::time::timeout(
        Duration::from_secs(limit),
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(lapin::Error::from(lapin::ErrorKind::IOError(
            std::sync::Arc::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("connecting to RabbitMQ took more than {limit} s"),
            )),
        ))),
    }
}

/// Connects, retrying with backoff until it works or shutdown is triggered (then `None`).
pub async fn connect_with_backoff(
    url: &str,
    who: &str,
    shutdown: &mut Shutdown,
) -> Option<Connection> {
    let mut delays = reconnect_backoff();
    loop {
        if shutdown.is_triggered() {
            return None;
        }
        match connect(url).await {
            Ok(conn) => return Some(conn),
            Err(e) => {
                let delay = delays.next().unwrap_or(Duration::from_secs(10));
                tracing::warn!(%who, error = %e, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "RabbitMQ unreachable");
                if !shutdown.sleep(delay).await {
                    return None;
                }
            }
        }
    }
}

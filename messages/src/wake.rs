//! Waking the relays when a transaction has written to the outbox, so a message leaves as soon as
//! its transaction commits instead of at the relay's next look.
//!
//! A program counts what it enqueues (a process-wide counter, read before a transaction and
//! again after its commit); when the count moved, it publishes an empty message to the
//! `ocpizza.wake` fanout exchange, and every relay, subscribed with a queue of its own, runs a
//! round at once. The wake-up carries nothing and may be lost (broker down, a relay
//! reconnecting): the relay also looks at the outbox every second, which is what catches rows
//! committed by a program that died before waking anyone. Concurrent transactions in one
//! process may wake the relay for each other: an extra round, never a missed one, since each
//! transaction compares the counter only after its own commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, ExchangeKind};

use crate::broker;

/// The fanout exchange relays listen on for wake-ups.
pub const EXCHANGE: &str = "ocpizza.wake";

static ENQUEUED: AtomicU64 = AtomicU64::new(0);

pub(crate) fn note_enqueued() {
    ENQUEUED.fetch_add(1, Ordering::Release);
}

/// How many messages this process had enqueued when a transaction began.
#[derive(Clone, Copy, Debug)]
pub struct Mark(u64);

/// Taken before a transaction; [`Mark::moved`] after its commit.
pub fn mark() -> Mark {
    Mark(ENQUEUED.load(Ordering::Acquire))
}

impl Mark {
    /// True when something was enqueued in this process since the mark.
    pub fn moved(self) -> bool {
        ENQUEUED.load(Ordering::Acquire) != self.0
    }
}

/// Declares the wake-up exchange (durable like the others, so a publisher never meets a broker
/// without it; the wake-ups themselves are transient).
pub async fn declare(channel: &Channel) -> Result<(), lapin::Error> {
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}

/// How long a wake-up may take to leave; a channel that does not take it in that time is in
/// trouble its owner will see, and the relays look every second anyway.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);

/// Publishes one wake-up on `channel` (no confirm awaited: a lost one costs a second at most).
/// False when it could not leave.
pub async fn publish(channel: &Channel) -> bool {
    let sent = tokio::time::timeout(
        PUBLISH_TIMEOUT,
        channel.basic_publish(
            EXCHANGE.into(),
            "".into(),
            BasicPublishOptions::default(),
            &[],
            BasicProperties::default(),
        ),
    )
    .await;
    match sent {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "relays not woken; they look every second");
            false
        }
        Err(_) => {
            tracing::debug!("relays not woken in time; they look every second");
            false
        }
    }
}

/// The web server's way to wake the relays: a task of its own with a broker connection, fed by
/// [`Waker::after`]. Wake-ups asked for while one is being published are merged into the next.
#[derive(Clone)]
pub struct Waker {
    wanted: tokio::sync::mpsc::Sender<()>,
}

/// After a broker failure, how long the waker leaves it alone (the relays' own look at the
/// outbox every second covers the gap).
const COOL_DOWN: Duration = Duration::from_secs(5);

impl Waker {
    /// Starts the task; it ends when the last `Waker` clone is dropped.
    pub fn start(amqp_urls: &str) -> Waker {
        let (wanted, mut asked) = tokio::sync::mpsc::channel::<()>(1);
        let urls = amqp_urls.to_owned();
        tokio::spawn(async move {
            let mut open: Option<(lapin::Connection, Channel)> = None;
            let mut resting_until: Option<Instant> = None;
            while asked.recv().await.is_some() {
                if resting_until.is_some_and(|t| Instant::now() < t) {
                    continue;
                }
                if open.is_none() {
                    match connect(&urls).await {
                        Ok(c) => open = Some(c),
                        Err(e) => {
                            tracing::debug!(error = %e, "cannot wake the relays; they will look in a second");
                            resting_until = Some(Instant::now() + COOL_DOWN);
                            continue;
                        }
                    }
                }
                if let Some((_, channel)) = &open
                    && !publish(channel).await
                {
                    open = None;
                }
            }
            if let Some((conn, _)) = open {
                let _ = conn.close(200, "web server stopping".into()).await;
            }
        });
        Waker { wanted }
    }

    /// After a transaction taken at `mark` committed: wakes the relays if anything was enqueued.
    pub fn after(&self, mark: Mark) {
        if mark.moved() {
            // Full: a wake-up is already on its way and covers this commit too.
            let _ = self.wanted.try_send(());
        }
    }
}

async fn connect(urls: &str) -> Result<(lapin::Connection, Channel), lapin::Error> {
    let conn = broker::connect(urls).await?;
    let channel = conn.create_channel().await?;
    declare(&channel).await?;
    Ok((conn, channel))
}

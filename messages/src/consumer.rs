//! The consumer runtime every worker runs: a worker supplies a [`Handler`] (its rules) and gets
//! manual acks, prefetch, exactly-once effects, retries, dead-lettering, reconnection and a
//! graceful stop.
//!
//! Per message:
//! 1. decode; a message that cannot be decoded goes to the dead-letter queue with the reason;
//! 2. [`process`]: in one database transaction, claim `(consumer, message_id)` in
//!    `processed_messages` and apply the handler; a message already processed is acknowledged
//!    without running the handler again;
//! 3. transient errors (database or peer unavailable) are retried with exponential backoff and
//!    jitter; if they persist the message is returned to the queue (`nack` + requeue) and comes
//!    back later; on its last delivery before the queue's limit it is dead-lettered here, with
//!    the reason and an alert (the queue's own limit remains the backstop after a crash);
//! 4. permanent errors go to the dead-letter queue at once, with the reason in a header;
//! 5. the message is acknowledged only after the transaction committed (or the dead-letter
//!    publish was confirmed): a crash at any point means redelivery, never loss.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel};
use sqlx::{MySqlConnection, MySqlPool};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::broker::{self, Shutdown};
use crate::event::MessageDeadLettered;
use crate::topology::{self, ConsumerSpec};
use crate::{Envelope, Event};

/// Header holding why a message was dead-lettered.
pub const ERROR_HEADER: &str = "x-ocpizza-error";
/// Header naming the consumer that gave up on it.
pub const CONSUMER_HEADER: &str = "x-ocpizza-consumer";

/// What a handler can report.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HandlerError {
    /// Worth retrying: a peer or the database is unavailable for now.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying cannot help (bad data, a rule says no): dead-letter it.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Messages each consumer has handled since the database was created (the claims in
/// `processed_messages`, which are kept), whichever process handled them.
pub async fn handled_counts(pool: &MySqlPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT consumer, COUNT(*) FROM processed_messages GROUP BY consumer")
        .fetch_all(pool)
        .await
}

impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        if db::is_transient(&e) {
            HandlerError::Transient(e.to_string())
        } else {
            HandlerError::Permanent(e.to_string())
        }
    }
}

impl From<crate::MessagingError> for HandlerError {
    fn from(e: crate::MessagingError) -> Self {
        match e {
            crate::MessagingError::Db(e) => e.into(),
            other => HandlerError::Permanent(other.to_string()),
        }
    }
}

/// A worker's rules for one message. The connection is inside the transaction that also
/// records the message as processed: write the effect (and any follow-up message, through the
/// outbox) with it, and both commit together.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        conn: &'a mut MySqlConnection,
        message: &'a Envelope,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a;
}

/// What [`process`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Seen before: acknowledged, handler not run.
    Duplicate,
}

/// Handles one message exactly once for `consumer`. Tests call this directly.
pub async fn process<H: Handler>(
    pool: &MySqlPool,
    consumer: &str,
    handler: &H,
    message: &Envelope,
) -> Result<Outcome, HandlerError> {
    let mut tx = pool.begin().await?;
    // Two deliveries of one message racing: the second waits on this row's lock and then finds
    // it taken.
    let claimed =
        sqlx::query("INSERT IGNORE INTO processed_messages (consumer, message_id) VALUES (?, ?)")
            .bind(consumer)
            .bind(message.message_id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    if claimed == 0 {
        tx.rollback().await?;
        return Ok(Outcome::Duplicate);
    }
    handler.handle(&mut tx, message).await?;
    tx.commit().await?;
    Ok(Outcome::Applied)
}

#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    pub amqp_url: String,
    /// Unacknowledged messages in flight, handled concurrently.
    pub prefetch: u16,
    /// In-process attempts for a transient error before returning the message to the queue.
    pub attempts: usize,
    pub min_retry_delay: Duration,
    pub max_retry_delay: Duration,
    /// How long a stop waits for in-flight messages before returning them to the queue.
    pub shutdown_grace: Duration,
}

impl ConsumerConfig {
    pub fn new(amqp_url: &str) -> ConsumerConfig {
        ConsumerConfig {
            amqp_url: amqp_url.to_owned(),
            prefetch: 8,
            attempts: 6,
            min_retry_delay: Duration::from_millis(200),
            max_retry_delay: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// Runs one consumer until shutdown.
pub struct Consumer<H> {
    pub spec: ConsumerSpec,
    pub config: ConsumerConfig,
    pub pool: MySqlPool,
    pub handler: Arc<H>,
}

impl<H: Handler> Consumer<H> {
    pub fn new(spec: ConsumerSpec, config: ConsumerConfig, pool: MySqlPool, handler: H) -> Self {
        Consumer {
            spec,
            config,
            pool,
            handler: Arc::new(handler),
        }
    }

    /// Consumes until `shutdown`, reconnecting whenever the broker goes away.
    pub async fn run(self, mut shutdown: Shutdown) {
        let name = self.spec.name.clone();
        let mut delays = broker::reconnect_backoff();
        while let Some(conn) =
            broker::connect_with_backoff(&self.config.amqp_url, &name, &mut shutdown).await
        {
            let mut consuming = false;
            let result = self.consume(&conn, &mut shutdown, &mut consuming).await;
            if consuming {
                delays = broker::reconnect_backoff();
            }
            let _ = conn.close(200, "consumer stopping".into()).await;
            match result {
                Ok(()) => break,
                Err(e) => {
                    let delay = delays.next().unwrap_or(Duration::from_secs(10));
                    tracing::warn!(consumer = %name, error = %e, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "consumer lost its channel; reconnecting");
                    if !shutdown.sleep(delay).await {
                        break;
                    }
                }
            }
        }
        tracing::info!(consumer = %name, "consumer stopped");
    }

    async fn consume(
        &self,
        conn: &lapin::Connection,
        shutdown: &mut Shutdown,
        consuming: &mut bool,
    ) -> Result<(), lapin::Error> {
        let channel = conn.create_channel().await?;
        // Confirms, because dead-lettering publishes and must be sure before it acks.
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        topology::declare_exchanges(&channel).await?;
        topology::declare_consumer(&channel, &self.spec).await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        let tag = format!("{}-{}", self.spec.name, std::process::id());
        let mut deliveries = channel
            .basic_consume(
                self.spec.queue().into(),
                tag.clone().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(consumer = %self.spec.name, queue = %self.spec.queue(), "consuming");
        *consuming = true;

        let slots = Arc::new(Semaphore::new(usize::from(self.config.prefetch.max(1))));
        let mut tasks = JoinSet::new();
        let outcome = loop {
            tokio::select! {
                () = shutdown.wait() => break Ok(()),
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = joined {
                        tracing::error!(consumer = %self.spec.name, error = %e, "message task panicked; the message will be redelivered");
                    }
                }
                next = deliveries.next() => match next {
                    Some(Ok(delivery)) => {
                        let permit = slots.clone().acquire_owned().await.expect("semaphore never closed");
                        let job = Job { spec: self.spec.clone(), config: self.config.clone(), pool: self.pool.clone(), handler: self.handler.clone(), channel: channel.clone(), shutdown: shutdown.clone() };
                        tasks.spawn(async move {
                            job.run(delivery).await;
                            drop(permit);
                        });
                    }
                    Some(Err(e)) => break Err(e),
                    None => break Err(lapin::Error::from(lapin::ErrorKind::InvalidChannelState(lapin::ChannelState::Closed, "consumer cancelled by the broker"))),
                },
            }
        };

        // Stop taking new messages, give in-flight ones time to finish; whatever is still
        // unacknowledged when the channel closes goes back to the queue.
        let _ = channel
            .basic_cancel(tag.into(), BasicCancelOptions::default())
            .await;
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(consumer = %self.spec.name, "in-flight messages did not finish in time; they go back to the queue");
            tasks.abort_all();
        }
        let _ = channel.close(200, "consumer stopping".into()).await;
        outcome
    }
}

/// How many times the broker delivered this message before (quorum queues count them in
/// `x-delivery-count`; absent on the first delivery).
fn delivery_count(delivery: &Delivery) -> i64 {
    let Some(headers) = delivery.properties.headers() else {
        return 0;
    };
    match headers.inner().get("x-delivery-count") {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        Some(AMQPValue::LongUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortShortUInt(n)) => i64::from(*n),
        _ => 0,
    }
}

/// One delivery's handling, owned by its task.
struct Job<H> {
    spec: ConsumerSpec,
    config: ConsumerConfig,
    pool: MySqlPool,
    handler: Arc<H>,
    channel: Channel,
    shutdown: Shutdown,
}

impl<H: Handler> Job<H> {
    async fn run(mut self, delivery: Delivery) {
        let message_id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let envelope = match Envelope::decode(&delivery.data) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(consumer = %self.spec.name, %message_id, error = %e, "undecodable message");
                self.dead_letter(&delivery, None, &e.to_string()).await;
                return;
            }
        };
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(self.config.min_retry_delay)
            .with_max_delay(self.config.max_retry_delay)
            .with_jitter()
            .with_max_times(self.config.attempts.saturating_sub(1))
            .build();
        let mark = crate::wake::mark();
        let result = loop {
            match process(&self.pool, &self.spec.name, &*self.handler, &envelope).await {
                Err(HandlerError::Transient(reason)) => match delays.next() {
                    Some(delay) => {
                        tracing::warn!(consumer = %self.spec.name, %message_id, %reason, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "transient failure; retrying");
                        if !self.shutdown.sleep(delay).await {
                            break Err(HandlerError::Transient(reason));
                        }
                    }
                    None => break Err(HandlerError::Transient(reason)),
                },
                other => break other,
            }
        };
        match result {
            Ok(outcome) => {
                tracing::debug!(consumer = %self.spec.name, %message_id, ?outcome, "handled");
                // If the channel died meanwhile the ack fails; the message comes back and is
                // recognised as processed.
                if let Err(e) = delivery.ack(BasicAckOptions::default()).await {
                    tracing::warn!(consumer = %self.spec.name, %message_id, error = %e, "ack failed; redelivery will be absorbed");
                }
                // What the handler enqueued is committed: the relays publish it now.
                if mark.moved() {
                    crate::wake::publish(&self.channel).await;
                }
            }
            Err(HandlerError::Transient(reason))
                if delivery_count(&delivery) >= topology::DELIVERY_LIMIT =>
            {
                // The broker would dead-letter it on this return, silently: do it here, with the
                // reason and the operators' alert, like any other message given up on.
                let reason = format!(
                    "still failing after {} deliveries: {reason}",
                    topology::DELIVERY_LIMIT + 1
                );
                tracing::error!(consumer = %self.spec.name, %message_id, order_id = ?envelope.correlation_id, %reason, "giving up; dead-lettering");
                self.dead_letter(&delivery, Some(&envelope), &reason).await;
            }
            Err(HandlerError::Transient(reason)) => {
                tracing::warn!(consumer = %self.spec.name, %message_id, order_id = ?envelope.correlation_id, %reason, "still failing; returning the message to the queue");
                let _ = delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await;
            }
            Err(HandlerError::Permanent(reason)) => {
                tracing::error!(consumer = %self.spec.name, %message_id, order_id = ?envelope.correlation_id, message_type = envelope.event.message_type(), %reason, "permanent failure; dead-lettering");
                self.dead_letter(&delivery, Some(&envelope), &reason).await;
            }
        }
    }

    /// Publishes the message to this consumer's dead-letter queue with the reason, then acks it.
    /// If the broker does not confirm, the message is returned to its queue instead: never lost.
    /// Once parked, a `message.dead_lettered` alert goes out through the outbox (not for such an
    /// alert itself, so that a failing alert cannot feed itself).
    async fn dead_letter(&self, delivery: &Delivery, envelope: Option<&Envelope>, reason: &str) {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert(
            ShortString::from(ERROR_HEADER),
            AMQPValue::LongString(reason.into()),
        );
        headers.insert(
            ShortString::from(CONSUMER_HEADER),
            AMQPValue::LongString(self.spec.name.clone().into()),
        );
        let properties: BasicProperties = delivery
            .properties
            .clone()
            .with_headers(headers)
            .with_delivery_mode(2);
        let published = async {
            self.channel
                .basic_publish(
                    topology::DEAD_LETTER_EXCHANGE.into(),
                    self.spec.name.clone().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &delivery.data,
                    properties,
                )
                .await?
                .await
        }
        .await;
        match published {
            Ok(Confirmation::Ack(None)) => {
                let _ = delivery.ack(BasicAckOptions::default()).await;
                if delivery.routing_key.as_str() != "message.dead_lettered" {
                    self.alert(delivery, envelope, reason).await;
                }
            }
            other => {
                tracing::error!(consumer = %self.spec.name, result = ?other.map(|c| c.is_ack()), "dead-letter publish not confirmed; requeueing");
                let _ = delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await;
            }
        }
    }
}

use lapin::Confirmation;

impl<H: Handler> Job<H> {
    /// Best effort: the message itself is safe in the dead-letter queue whatever happens here.
    async fn alert(&self, delivery: &Delivery, envelope: Option<&Envelope>, reason: &str) {
        let event = Event::MessageDeadLettered(MessageDeadLettered {
            consumer: self.spec.name.clone(),
            message_id: delivery
                .properties
                .message_id()
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            message_type: delivery.routing_key.to_string(),
            reason: crate::truncate(reason, 400).to_owned(),
            order_id: envelope.and_then(|e| e.correlation_id),
        });
        let alert = match envelope {
            Some(cause) => Envelope::caused_by(event, cause),
            None => Envelope::new(event),
        };
        let written = async {
            let mut tx = self.pool.begin().await?;
            crate::outbox::enqueue(&mut tx, &alert).await?;
            tx.commit().await?;
            Ok::<(), crate::MessagingError>(())
        }
        .await;
        if let Err(e) = written {
            tracing::error!(consumer = %self.spec.name, error = %e, "could not queue the dead-letter alert");
        }
    }
}

//! The outbox relay: publishes outbox rows to RabbitMQ and marks them published only after the
//! broker confirmed them.
//!
//! Several relays may run at once: each leases a batch (`claimed_by`, `claimed_until`) with one
//! `UPDATE … ORDER BY id LIMIT n`, so in the normal case a row is published once. If a relay dies
//! after publishing and before marking, its lease runs out and another relay publishes the row
//! again: consumers deduplicate on the message id, so the duplicate is harmless. While the broker
//! is down nothing is marked and the backlog waits in the database; the relay reconnects with
//! backoff and drains it.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::Confirmation;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use sqlx::MySqlPool;

use crate::MessagingError;
use crate::broker::{self, Shutdown};
use crate::topology::{self, ConsumerSpec};

#[derive(Clone, Debug)]
pub struct RelayConfig {
    pub amqp_url: String,
    /// Rows leased and published per round.
    pub batch_size: u32,
    /// How long a lease protects a batch from other relays.
    pub lease: Duration,
    /// How often the relay looks at the outbox without being woken (`wake`): rows committed by
    /// a program that died before waking it, leases run out, wake-ups lost.
    pub sweep_every: Duration,
    /// Every worker's queue, declared before publishing so nothing is published unrouted.
    pub consumers: Vec<ConsumerSpec>,
}

impl RelayConfig {
    pub fn new(amqp_url: &str, consumers: Vec<ConsumerSpec>) -> RelayConfig {
        RelayConfig {
            amqp_url: amqp_url.to_owned(),
            consumers,
            batch_size: 200,
            lease: Duration::from_secs(30),
            sweep_every: Duration::from_secs(1),
        }
    }
}

pub struct Relay {
    pool: MySqlPool,
    config: RelayConfig,
    /// Unique per relay instance, so a relay finds the rows it leased.
    id: String,
}

/// A queue of this relay's own on the wake-up exchange, consumed without acknowledgements.
async fn listen_for_wakes(
    conn: &lapin::Connection,
    relay: &str,
) -> Result<lapin::Consumer, MessagingError> {
    let channel = conn.create_channel().await?;
    crate::wake::declare(&channel).await?;
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().clone(),
            crate::wake::EXCHANGE.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(channel
        .basic_consume(
            queue.name().clone(),
            format!("relay-{relay}").into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?)
}

/// A leased row.
#[derive(sqlx::FromRow)]
struct Row {
    id: u64,
    message_id: String,
    routing_key: String,
    payload: String,
}

impl Relay {
    pub fn new(pool: MySqlPool, config: RelayConfig) -> Relay {
        let id = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Relay { pool, config, id }
    }

    /// Publishes until shutdown, reconnecting to the broker and the database as needed.
    pub async fn run(self, mut shutdown: Shutdown) {
        let mut delays = broker::reconnect_backoff();
        while let Some(conn) =
            broker::connect_with_backoff(&self.config.amqp_url, "relay", &mut shutdown).await
        {
            let result = async {
                let channel = self.open_channel(&conn).await?;
                let mut wakes = listen_for_wakes(&conn, &self.id).await?;
                self.let_go().await?;
                tracing::info!(relay = %self.id, "relay connected");
                delays = broker::reconnect_backoff();
                loop {
                    if shutdown.is_triggered() {
                        return Ok::<(), MessagingError>(());
                    }
                    if self.publish_round(&channel).await? > 0 {
                        continue;
                    }
                    tokio::select! {
                        woken = wakes.next() => match woken {
                            // Wake-ups that arrived meanwhile are covered by the round to come.
                            Some(Ok(_)) => while let Some(Some(Ok(_))) = wakes.next().now_or_never() {},
                            Some(Err(e)) => return Err(e.into()),
                            None => return Err(MessagingError::Broker(lapin::Error::from(lapin::ErrorKind::InvalidChannelState(lapin::ChannelState::Closed, "wake-up consumer cancelled by the broker")))),
                        },
                        alive = shutdown.sleep(self.config.sweep_every) => if !alive {
                            return Ok(());
                        },
                    }
                }
            }
            .await;
            let _ = conn.close(200, "relay stopping".into()).await;
            match result {
                Ok(()) => break,
                Err(e) => {
                    let delay = delays.next().unwrap_or(Duration::from_secs(10));
                    tracing::warn!(relay = %self.id, error = %e, "relay round failed; starting over");
                    if !shutdown.sleep(delay).await {
                        break;
                    }
                }
            }
        }
        tracing::info!(relay = %self.id, "relay stopped");
    }

    /// A channel in confirm mode with the whole topology declared.
    pub async fn open_channel(&self, conn: &lapin::Connection) -> Result<Channel, MessagingError> {
        let channel = conn.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        topology::declare_all(&channel, &self.config.consumers).await?;
        Ok(channel)
    }

    /// One round: lease a batch, publish it, mark what the broker confirmed. Returns how many
    /// rows were published.
    pub async fn publish_round(&self, channel: &Channel) -> Result<usize, MessagingError> {
        let rows = self.lease().await?;
        let published = self.publish(channel, &rows).await?;
        self.mark_published(&published).await?;
        Ok(published.len())
    }

    /// What a relay that dies between the broker's confirm and the database update leaves
    /// behind: messages published, rows still pending (their lease expired at once).
    #[doc(hidden)]
    pub async fn publish_round_then_crash(
        &self,
        channel: &Channel,
    ) -> Result<usize, MessagingError> {
        let rows = self.lease().await?;
        let published = self.publish(channel, &rows).await?;
        sqlx::query(
            "UPDATE outbox SET claimed_until = NOW(6) - INTERVAL 1 SECOND WHERE claimed_by = ?",
        )
        .bind(&self.id)
        .execute(&self.pool)
        .await?;
        Ok(published.len())
    }

    async fn lease(&self) -> Result<Vec<Row>, sqlx::Error> {
        let leased = sqlx::query(
            "UPDATE outbox SET claimed_by = ?, claimed_until = NOW(6) + INTERVAL ? MICROSECOND
             WHERE published_at IS NULL AND (claimed_until IS NULL OR claimed_until < NOW(6))
             ORDER BY id LIMIT ?",
        )
        .bind(&self.id)
        .bind(u64::try_from(self.config.lease.as_micros()).unwrap_or(u64::MAX))
        .bind(self.config.batch_size)
        .execute(&self.pool)
        .await?
        .rows_affected();
        // Nothing new: the rounds a wake-up starts after another round took its rows cost one
        // statement, not two (rows this relay held before a reconnection were let go then).
        if leased == 0 {
            return Ok(Vec::new());
        }
        sqlx::query_as("SELECT id, message_id, routing_key, payload FROM outbox WHERE claimed_by = ? AND published_at IS NULL ORDER BY id")
            .bind(&self.id)
            .fetch_all(&self.pool)
            .await
    }

    /// Publishes rows (persistent, mandatory) and waits for every confirm. Returns the ids the
    /// broker confirmed and routed; the others get their error recorded and are retried later.
    async fn publish(&self, channel: &Channel, rows: &[Row]) -> Result<Vec<u64>, MessagingError> {
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            let properties = BasicProperties::default()
                .with_message_id(row.message_id.clone().into())
                .with_type(row.routing_key.clone().into())
                .with_content_type("application/json".into())
                .with_delivery_mode(2); // persistent: survives a broker restart
            let confirm = channel
                .basic_publish(
                    topology::EXCHANGE.into(),
                    row.routing_key.clone().into(),
                    // mandatory: a message no queue would receive comes back instead of vanishing.
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    row.payload.as_bytes(),
                    properties,
                )
                .await?;
            pending.push((row, confirm));
        }
        let mut confirmed = Vec::with_capacity(rows.len());
        for (row, confirm) in pending {
            match confirm.await? {
                Confirmation::Ack(None) => confirmed.push(row.id),
                Confirmation::Ack(Some(returned)) => {
                    self.record_failure(row, &format!("unroutable: {}", returned.reply_text))
                        .await?;
                }
                Confirmation::Nack(_) => self.record_failure(row, "refused by the broker").await?,
                Confirmation::NotRequested => unreachable!("the channel is in confirm mode"),
            }
        }
        Ok(confirmed)
    }

    /// Ends this relay's leases on rows it has not published (a round cut by the broker), so
    /// the next round takes them again at once.
    async fn let_go(&self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE outbox SET claimed_until = NULL WHERE claimed_by = ? AND published_at IS NULL",
        )
        .bind(&self.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_failure(&self, row: &Row, error: &str) -> Result<(), sqlx::Error> {
        tracing::error!(message_id = %row.message_id, routing_key = %row.routing_key, error, "message not published; will retry");
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = ?, claimed_until = NOW(6) + INTERVAL 5 SECOND WHERE id = ?")
            .bind(error)
            .bind(row.id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_published(&self, ids: &[u64]) -> Result<(), sqlx::Error> {
        for chunk in ids.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "UPDATE outbox SET published_at = NOW(6), claimed_by = NULL, claimed_until = NULL WHERE id IN ({placeholders})"
            );
            // Only placeholders are spliced in.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&self.pool).await?;
        }
        Ok(())
    }
}

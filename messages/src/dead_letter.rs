//! Dead-lettered messages: list, show and replay them (`ocpizza dead-letters …`).
//!
//! Reading uses `basic.get` without acknowledging, then closes the channel, which returns every
//! message untouched to the dead-letter queue. Replaying republishes one message (or all) to the
//! consumer's own queue through the default exchange, so only the consumer that gave up sees it
//! again, and acknowledges it in the dead-letter queue only after the broker confirmed.

use lapin::Confirmation;
use lapin::Connection;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};

use crate::MessagingError;
use crate::consumer::{CONSUMER_HEADER, ERROR_HEADER};
use crate::topology::{self, ConsumerSpec, dead_letter_queue_name, queue_name};

/// A message waiting in a dead-letter queue.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    pub consumer: String,
    pub message_id: String,
    pub message_type: String,
    /// Our reason header, or the broker's (e.g. delivery limit reached).
    pub reason: String,
    pub body: String,
}

fn header_text(value: Option<&AMQPValue>) -> Option<String> {
    match value? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

fn describe(consumer: &str, delivery: &lapin::message::Delivery) -> DeadLetter {
    let headers = delivery.properties.headers().clone().unwrap_or_default();
    let map = headers.inner();
    let reason = header_text(map.get(ERROR_HEADER)).unwrap_or_else(|| {
        // Dead-lettered by the broker itself: its x-death header says why.
        match map.get("x-death") {
            Some(AMQPValue::FieldArray(deaths)) => deaths
                .as_slice()
                .first()
                .and_then(|d| match d {
                    AMQPValue::FieldTable(t) => header_text(t.inner().get("reason")),
                    _ => None,
                })
                .map(|r| {
                    format!(
                        "broker: {r} (delivery limit {} reached or rejected)",
                        topology::DELIVERY_LIMIT
                    )
                })
                .unwrap_or_else(|| "unknown".into()),
            _ => "unknown".into(),
        }
    });
    DeadLetter {
        consumer: header_text(map.get(CONSUMER_HEADER)).unwrap_or_else(|| consumer.to_owned()),
        message_id: delivery
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        message_type: delivery
            .properties
            .kind()
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| delivery.routing_key.to_string()),
        reason,
        body: String::from_utf8_lossy(&delivery.data).into_owned(),
    }
}

/// Messages each consumer has given up on since the database was created, counted from the
/// `message.dead_lettered` alerts the runtime writes to the outbox (which is kept).
pub async fn dead_lettered_counts(
    pool: &sqlx::MySqlPool,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(JSON_VALUE(payload, '$.payload.consumer') AS CHAR), COUNT(*) FROM outbox
         WHERE routing_key = 'message.dead_lettered' GROUP BY 1",
    )
    .fetch_all(pool)
    .await
}

/// How many messages wait in each worker's dead-letter queue now (0 for a queue not declared
/// yet). A passive declare reads the count without touching the messages.
pub async fn waiting(
    conn: &Connection,
    consumers: &[ConsumerSpec],
) -> Result<Vec<(String, u32)>, MessagingError> {
    Ok(depths(conn, consumers)
        .await?
        .into_iter()
        .map(|d| (d.consumer, d.dead))
        .collect())
}

/// A worker's queues as the broker sees them now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Depth {
    pub consumer: String,
    /// Messages ready in its queue, not yet taken by a worker (those it holds are not counted).
    pub waiting: u32,
    /// Workers consuming it.
    pub workers: u32,
    /// Messages parked in its dead-letter queue.
    pub dead: u32,
}

impl Depth {
    /// Its workers are not keeping up: none is consuming, or [`BEHIND`] messages wait.
    pub fn is_behind(&self) -> bool {
        self.workers == 0 || self.waiting >= BEHIND
    }
}

/// Ready messages from which a queue counts as behind (each worker holds up to its prefetch
/// besides, so a busy but healthy queue stays well under).
pub const BEHIND: u32 = 50;

/// Every worker's queue and dead-letter queue, by passive declares (a missing queue counts as
/// empty and without workers).
pub async fn depths(
    conn: &Connection,
    consumers: &[ConsumerSpec],
) -> Result<Vec<Depth>, MessagingError> {
    let mut out = Vec::new();
    for spec in consumers {
        let (waiting, workers) = counts(conn, &queue_name(&spec.name)).await?;
        let (dead, _) = counts(conn, &spec.dead_letter_queue()).await?;
        out.push(Depth {
            consumer: spec.name.clone(),
            waiting,
            workers,
            dead,
        });
    }
    Ok(out)
}

async fn counts(conn: &Connection, queue: &str) -> Result<(u32, u32), MessagingError> {
    // A passive declare of a missing queue closes the channel: one channel per queue.
    let channel = conn.create_channel().await?;
    let declared = channel
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    Ok(match declared {
        Ok(q) => {
            let _ = channel.close(200, "counted".into()).await;
            (q.message_count(), q.consumer_count())
        }
        Err(_) => (0, 0),
    })
}

/// Every message in a consumer's dead-letter queue; the queue is left as it was.
pub async fn list(conn: &Connection, consumer: &str) -> Result<Vec<DeadLetter>, MessagingError> {
    let channel = conn.create_channel().await?;
    let mut found = Vec::new();
    while let Some(message) = channel
        .basic_get(
            dead_letter_queue_name(consumer).into(),
            BasicGetOptions { no_ack: false },
        )
        .await?
    {
        found.push(describe(consumer, &message.delivery));
    }
    channel.close(200, "listed".into()).await?;
    Ok(found)
}

/// Republishes dead-lettered messages to the consumer's queue: the one with `message_id`, or
/// all of them when `None`. Returns how many were replayed.
pub async fn replay(
    conn: &Connection,
    consumer: &str,
    message_id: Option<&str>,
) -> Result<usize, MessagingError> {
    let channel = conn.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut replayed = 0;
    while let Some(message) = channel
        .basic_get(
            dead_letter_queue_name(consumer).into(),
            BasicGetOptions { no_ack: false },
        )
        .await?
    {
        let delivery = message.delivery;
        let id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        if message_id.is_some_and(|wanted| wanted != id) {
            continue; // left unacknowledged: back in the queue when the channel closes
        }
        let mut headers = FieldTable::default();
        for (key, value) in delivery
            .properties
            .headers()
            .clone()
            .unwrap_or_default()
            .inner()
        {
            if key.as_str() != ERROR_HEADER && key.as_str() != "x-death" {
                headers.insert(key.clone(), value.clone());
            }
        }
        let confirm = channel
            .basic_publish(
                "".into(),
                queue_name(consumer).into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &delivery.data,
                delivery.properties.clone().with_headers(headers),
            )
            .await?
            .await?;
        match confirm {
            Confirmation::Ack(None) => {
                delivery.ack(BasicAckOptions::default()).await?;
                replayed += 1;
            }
            _ => {
                return Err(MessagingError::NotConfirmed {
                    message_id: id,
                    reason: "replay not routed to the consumer's queue".into(),
                });
            }
        }
    }
    channel.close(200, "replayed".into()).await?;
    if replayed == 0
        && let Some(wanted) = message_id
    {
        return Err(MessagingError::NotFound(
            wanted.to_owned(),
            dead_letter_queue_name(consumer),
        ));
    }
    Ok(replayed)
}

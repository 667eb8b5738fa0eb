//! Exchanges and queues, declared by code at start-up. Declaring is idempotent, so every
//! process (relay and workers) declares what it uses and none depends on start order.
//!
//! - `ocpizza.events`: durable topic exchange; the routing key is the message type.
//! - one durable **quorum** queue per consumer, `ocpizza.<consumer>` (replicated, and the only
//!   queue type that counts deliveries), bound to the message types it handles;
//! - `ocpizza.dead-letter`: durable direct exchange; each consumer's queue dead-letters to it with
//!   its own name as routing key, into `ocpizza.<consumer>.dead`.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

pub const EXCHANGE: &str = "ocpizza.events";
pub const DEAD_LETTER_EXCHANGE: &str = "ocpizza.dead-letter";

/// Deliveries of one message to a consumer before the broker dead-letters it. Covers what the
/// consumer's own retries cannot: a message that crashes the worker every time.
pub const DELIVERY_LIMIT: i64 = 5;

/// A consumer: its name (queue and `processed_messages` key) and the message types it handles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerSpec {
    pub name: String,
    /// Topic patterns (`order.*`, `#`).
    pub bindings: Vec<String>,
}

impl ConsumerSpec {
    pub fn new(name: &str, bindings: &[&str]) -> ConsumerSpec {
        ConsumerSpec {
            name: name.to_owned(),
            bindings: bindings.iter().map(|b| (*b).to_owned()).collect(),
        }
    }

    pub fn queue(&self) -> String {
        queue_name(&self.name)
    }

    pub fn dead_letter_queue(&self) -> String {
        dead_letter_queue_name(&self.name)
    }

    /// Whether a routing key reaches this consumer (AMQP topic matching).
    pub fn receives(&self, routing_key: &str) -> bool {
        self.bindings
            .iter()
            .any(|pattern| topic_matches(pattern, routing_key))
    }
}

pub fn queue_name(consumer: &str) -> String {
    format!("ocpizza.{consumer}")
}

pub fn dead_letter_queue_name(consumer: &str) -> String {
    format!("ocpizza.{consumer}.dead")
}

/// A worker's queue as its handler declares it: the consumer's name and the message types it
/// takes. Each worker writes its own next to its handler (`workers::stock::ROUTE`, …), so adding
/// an event to a worker is one change in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub name: &'static str,
    /// Topic patterns (`order.*`, `#`).
    pub bindings: &'static [&'static str],
}

impl Route {
    pub fn spec(&self) -> ConsumerSpec {
        ConsumerSpec::new(self.name, self.bindings)
    }
}

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

pub async fn declare_exchanges(channel: &Channel) -> Result<(), lapin::Error> {
    let options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Topic,
            options,
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            DEAD_LETTER_EXCHANGE.into(),
            ExchangeKind::Direct,
            options,
            FieldTable::default(),
        )
        .await?;
    crate::wake::declare(channel).await
}

/// Declares a consumer's queue, its bindings and its dead-letter queue. Arguments must not change
/// between releases: RabbitMQ refuses to redeclare a queue with other arguments.
pub async fn declare_consumer(channel: &Channel, spec: &ConsumerSpec) -> Result<(), lapin::Error> {
    let mut dead_args = FieldTable::default();
    dead_args.insert(
        ShortString::from("x-queue-type"),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(spec.dead_letter_queue().into(), durable(), dead_args)
        .await?;
    channel
        .queue_bind(
            spec.dead_letter_queue().into(),
            DEAD_LETTER_EXCHANGE.into(),
            spec.name.clone().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;

    let mut args = FieldTable::default();
    args.insert(
        ShortString::from("x-queue-type"),
        AMQPValue::LongString("quorum".into()),
    );
    args.insert(
        ShortString::from("x-dead-letter-exchange"),
        AMQPValue::LongString(DEAD_LETTER_EXCHANGE.into()),
    );
    args.insert(
        ShortString::from("x-dead-letter-routing-key"),
        AMQPValue::LongString(spec.name.clone().into()),
    );
    args.insert(
        ShortString::from("x-delivery-limit"),
        AMQPValue::LongLongInt(DELIVERY_LIMIT),
    );
    // At-least-once dead-lettering: the broker keeps a message until the dead-letter queue has
    // confirmed it (requires reject-publish overflow), instead of the default at-most-once.
    args.insert(
        ShortString::from("x-dead-letter-strategy"),
        AMQPValue::LongString("at-least-once".into()),
    );
    args.insert(
        ShortString::from("x-overflow"),
        AMQPValue::LongString("reject-publish".into()),
    );
    channel
        .queue_declare(spec.queue().into(), durable(), args)
        .await?;
    for pattern in &spec.bindings {
        channel
            .queue_bind(
                spec.queue().into(),
                EXCHANGE.into(),
                pattern.clone().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// Exchanges plus every worker's queues: what the relay declares before publishing, so
/// messages published before a worker first starts wait in its queue.
pub async fn declare_all(
    channel: &Channel,
    consumers: &[ConsumerSpec],
) -> Result<(), lapin::Error> {
    declare_exchanges(channel).await?;
    for spec in consumers {
        declare_consumer(channel, spec).await?;
    }
    Ok(())
}

/// AMQP topic matching: words separated by `.`, `*` matches one word, `#` zero or more.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    fn go(p: &[&str], k: &[&str]) -> bool {
        match (p.first(), k.first()) {
            (None, None) => true,
            (Some(&"#"), _) => go(&p[1..], k) || (!k.is_empty() && go(p, &k[1..])),
            (Some(&"*"), Some(_)) => go(&p[1..], &k[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &k[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = key.split('.').collect();
    go(&p, &k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_patterns_match_like_rabbitmq() {
        assert!(topic_matches("#", "order.placed"));
        assert!(topic_matches("order.*", "order.placed"));
        assert!(!topic_matches("order.*", "order.placed.v2"));
        assert!(topic_matches("order.#", "order"));
        assert!(!topic_matches("order.placed", "order.cancelled"));
    }
}

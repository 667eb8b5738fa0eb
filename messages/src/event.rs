//! Message contracts: one envelope for every message, one payload type per event.
//!
//! On the wire a message is JSON:
//! `{"message_id", "type", "version", "occurred_at", "correlation_id", "causation_id", "payload"}`.
//! `type` is also the routing key. A payload change that old consumers cannot read gets a new
//! `version`, decoded side by side with the old one until no producer writes it any more.
//! Decoding never panics: an unknown type, an unsupported version or a malformed payload is a
//! [`DecodeError`] naming what is wrong, and the consumer dead-letters the message with it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vocab::{Actor, OrderStatus, PaymentMode};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPlaced {
    pub order_id: u64,
    pub pizzeria_id: u64,
    pub payment_mode: PaymentMode,
    pub total_cents: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderModified {
    pub order_id: u64,
    pub pizzeria_id: u64,
    pub previous_total_cents: u32,
    pub total_cents: u32,
    pub by: Actor,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderCancelled {
    pub order_id: u64,
    pub pizzeria_id: u64,
    /// The state it was cancelled from: stock is given back only if it had been reserved.
    pub from: OrderStatus,
    pub by: Actor,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderStatusChanged {
    pub order_id: u64,
    pub pizzeria_id: u64,
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub by: Actor,
}

/// The kitchen fell behind: the time the customer was told moved by more than
/// `pace::SLIP`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderPromiseMoved {
    pub order_id: u64,
    pub pizzeria_id: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentEvent {
    pub order_id: u64,
    pub payment_id: u64,
    pub amount_cents: u32,
}

/// Staff asked to give money back on a Stripe payment (the `refunds` row says how much).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequested {
    pub order_id: u64,
    pub refund_id: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentFailed {
    pub order_id: u64,
    pub payment_id: Option<u64>,
    pub pizzeria_id: u64,
    /// What went wrong, for the manager's alert (never card details).
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockReserved {
    pub order_id: u64,
    pub pizzeria_id: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingIngredient {
    pub ingredient_id: u64,
    pub name: String,
    pub needed: i64,
    pub available: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockShortage {
    pub order_id: u64,
    pub pizzeria_id: u64,
    pub missing: Vec<MissingIngredient>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockLow {
    pub pizzeria_id: u64,
    pub ingredient_id: u64,
    pub name: String,
    pub quantity: i64,
    pub low_threshold: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketPrinted {
    pub order_id: u64,
    pub ticket_id: u64,
    pub printer_id: u64,
    pub via_backup: bool,
    pub reprint: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketReprintRequested {
    pub order_id: u64,
    pub pizzeria_id: u64,
    pub requested_by: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterOffline {
    pub pizzeria_id: u64,
    pub printer_id: u64,
    pub printer_name: String,
    pub error: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDeadLettered {
    /// The consumer that gave up.
    pub consumer: String,
    /// The dead-lettered message's id (as received, possibly not a UUID).
    pub message_id: String,
    pub message_type: String,
    pub reason: String,
    pub order_id: Option<u64>,
}

/// What an e-mailed password link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// A forgotten password.
    Reset,
    /// An account created at the counter (no password yet) that its owner wants to use.
    Claim,
    /// A staff account the group admin opened or reset: its owner chooses the password.
    Invite,
    /// A customer just signed up: the welcome e-mail (no link to use: their password is set).
    Welcome,
}

/// Someone asked for a password link for this account; the notifications worker issues it
/// (the token never travels through the broker) and mails it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordLinkRequested {
    pub user_id: u64,
    pub purpose: LinkPurpose,
}

/// Declares the events: variant, payload type, message type (= routing key) and version.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($payload:ty) = $name:literal v $version:literal ),+ $(,)?) => {
        /// Every event the system publishes.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum Event {
            $( $(#[$doc])* $variant($payload), )+
        }

        impl Event {
            /// Every message type with its current version, for topology checks and docs.
            pub const TYPES: &'static [(&'static str, u16)] = &[ $( ($name, $version), )+ ];

            /// The message type, also the routing key.
            pub fn message_type(&self) -> &'static str {
                match self { $( Event::$variant(_) => $name, )+ }
            }

            pub fn version(&self) -> u16 {
                match self { $( Event::$variant(_) => $version, )+ }
            }

            fn payload_json(&self) -> Result<serde_json::Value, serde_json::Error> {
                match self { $( Event::$variant(p) => serde_json::to_value(p), )+ }
            }

            fn from_parts(message_type: &str, version: u16, payload: serde_json::Value) -> Result<Event, DecodeError> {
                match (message_type, version) {
                    $( ($name, $version) => serde_json::from_value::<$payload>(payload)
                        .map(Event::$variant)
                        .map_err(|e| DecodeError::Payload { message_type: $name.to_owned(), version, reason: e.to_string() }), )+
                    (t, v) if Event::TYPES.iter().any(|(name, _)| *name == t) => {
                        Err(DecodeError::UnsupportedVersion { message_type: t.to_owned(), version: v })
                    }
                    (t, _) => Err(DecodeError::UnknownType(t.to_owned())),
                }
            }
        }
    };
}

events! {
    /// An order entered `placed`: paid online and authorised, or to be paid on site.
    OrderPlaced(OrderPlaced) = "order.placed" v 1,
    /// Lines, address or time changed before the kitchen started.
    OrderModified(OrderModified) = "order.modified" v 1,
    OrderCancelled(OrderCancelled) = "order.cancelled" v 1,
    /// Any other move along the lifecycle (confirmed, preparing, ready, …, rejected).
    OrderStatusChanged(OrderStatusChanged) = "order.status_changed" v 1,
    /// The kitchen fell behind and the promised time moved.
    OrderPromiseMoved(OrderPromiseMoved) = "order.promise_moved" v 1,
    PaymentAuthorised(PaymentEvent) = "payment.authorised" v 1,
    PaymentCaptured(PaymentEvent) = "payment.captured" v 1,
    PaymentVoided(PaymentEvent) = "payment.voided" v 1,
    PaymentRefunded(PaymentEvent) = "payment.refunded" v 1,
    PaymentFailed(PaymentFailed) = "payment.failed" v 1,
    RefundRequested(RefundRequested) = "payment.refund_requested" v 1,
    StockReserved(StockReserved) = "stock.reserved" v 1,
    StockShortage(StockShortage) = "stock.shortage" v 1,
    /// An ingredient crossed its low threshold (once per crossing).
    StockLow(StockLow) = "stock.low" v 1,
    TicketPrinted(TicketPrinted) = "ticket.printed" v 1,
    TicketReprintRequested(TicketReprintRequested) = "ticket.reprint_requested" v 1,
    PrinterOffline(PrinterOffline) = "printer.offline" v 1,
    /// A consumer gave up on a message and parked it in its dead-letter queue.
    MessageDeadLettered(MessageDeadLettered) = "message.dead_lettered" v 1,
    /// A password link was asked for (forgotten password, or claiming a counter account).
    PasswordLinkRequested(PasswordLinkRequested) = "account.password_link_requested" v 1,
}

/// Why bytes could not be read as a message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("not a message envelope: {0}")]
    Envelope(String),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("{message_type} version {version} is not supported")]
    UnsupportedVersion { message_type: String, version: u16 },
    #[error("malformed {message_type} v{version} payload: {reason}")]
    Payload {
        message_type: String,
        version: u16,
        reason: String,
    },
}

/// A message: identity, causality and one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// Unique per message; consumers deduplicate on it.
    pub message_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The order this message is about, when there is one.
    pub correlation_id: Option<u64>,
    /// The message whose handling produced this one.
    pub causation_id: Option<Uuid>,
    pub event: Event,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    message_id: Uuid,
    #[serde(rename = "type")]
    message_type: String,
    version: u16,
    occurred_at: DateTime<Utc>,
    correlation_id: Option<u64>,
    causation_id: Option<Uuid>,
    payload: serde_json::Value,
}

impl Envelope {
    /// A new message about `event`; the correlation id is taken from the event's order.
    pub fn new(event: Event) -> Envelope {
        Envelope {
            message_id: Uuid::now_v7(),
            occurred_at: Utc::now(),
            correlation_id: event.order_id(),
            causation_id: None,
            event,
        }
    }

    /// A message caused by handling `cause`.
    pub fn caused_by(event: Event, cause: &Envelope) -> Envelope {
        Envelope {
            causation_id: Some(cause.message_id),
            ..Envelope::new(event)
        }
    }

    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&Wire {
            message_id: self.message_id,
            message_type: self.event.message_type().to_owned(),
            version: self.event.version(),
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            payload: self.event.payload_json()?,
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        let wire: Wire =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Envelope(e.to_string()))?;
        let event = Event::from_parts(&wire.message_type, wire.version, wire.payload)?;
        Ok(Envelope {
            message_id: wire.message_id,
            occurred_at: wire.occurred_at,
            correlation_id: wire.correlation_id,
            causation_id: wire.causation_id,
            event,
        })
    }
}

impl Event {
    /// The order an event is about, if any.
    pub fn order_id(&self) -> Option<u64> {
        match self {
            Event::OrderPlaced(e) => Some(e.order_id),
            Event::OrderModified(e) => Some(e.order_id),
            Event::OrderCancelled(e) => Some(e.order_id),
            Event::OrderStatusChanged(e) => Some(e.order_id),
            Event::OrderPromiseMoved(e) => Some(e.order_id),
            Event::PaymentAuthorised(e)
            | Event::PaymentCaptured(e)
            | Event::PaymentVoided(e)
            | Event::PaymentRefunded(e) => Some(e.order_id),
            Event::PaymentFailed(e) => Some(e.order_id),
            Event::RefundRequested(e) => Some(e.order_id),
            Event::StockReserved(e) => Some(e.order_id),
            Event::StockShortage(e) => Some(e.order_id),
            Event::TicketPrinted(e) => Some(e.order_id),
            Event::TicketReprintRequested(e) => Some(e.order_id),
            Event::MessageDeadLettered(e) => e.order_id,
            Event::StockLow(_) | Event::PrinterOffline(_) | Event::PasswordLinkRequested(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One sample of every event type.
    pub(crate) fn samples() -> Vec<Event> {
        let payment = PaymentEvent {
            order_id: 7,
            payment_id: 3,
            amount_cents: 2350,
        };
        vec![
            Event::OrderPlaced(OrderPlaced {
                order_id: 7,
                pizzeria_id: 1,
                payment_mode: PaymentMode::Online,
                total_cents: 2350,
            }),
            Event::OrderModified(OrderModified {
                order_id: 7,
                pizzeria_id: 1,
                previous_total_cents: 2350,
                total_cents: 1200,
                by: Actor::Customer(9),
            }),
            Event::OrderCancelled(OrderCancelled {
                order_id: 7,
                pizzeria_id: 1,
                from: OrderStatus::Confirmed,
                by: Actor::Staff(2),
            }),
            Event::OrderStatusChanged(OrderStatusChanged {
                order_id: 7,
                pizzeria_id: 1,
                from: OrderStatus::Confirmed,
                to: OrderStatus::Preparing,
                by: Actor::System,
            }),
            Event::OrderPromiseMoved(OrderPromiseMoved {
                order_id: 7,
                pizzeria_id: 1,
                from: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
                to: DateTime::from_timestamp(1_800_000_900, 0).unwrap(),
            }),
            Event::PaymentAuthorised(payment.clone()),
            Event::PaymentCaptured(payment.clone()),
            Event::PaymentVoided(payment.clone()),
            Event::PaymentRefunded(payment),
            Event::PaymentFailed(PaymentFailed {
                order_id: 7,
                payment_id: None,
                pizzeria_id: 1,
                reason: "card_declined".into(),
            }),
            Event::RefundRequested(RefundRequested {
                order_id: 7,
                refund_id: 3,
            }),
            Event::StockReserved(StockReserved {
                order_id: 7,
                pizzeria_id: 1,
            }),
            Event::StockShortage(StockShortage {
                order_id: 7,
                pizzeria_id: 1,
                missing: vec![MissingIngredient {
                    ingredient_id: 4,
                    name: "Mozzarella".into(),
                    needed: 240,
                    available: 100,
                }],
            }),
            Event::StockLow(StockLow {
                pizzeria_id: 1,
                ingredient_id: 4,
                name: "Mozzarella".into(),
                quantity: 900,
                low_threshold: 1000,
            }),
            Event::TicketPrinted(TicketPrinted {
                order_id: 7,
                ticket_id: 1,
                printer_id: 2,
                via_backup: true,
                reprint: false,
            }),
            Event::MessageDeadLettered(MessageDeadLettered {
                consumer: "kitchen".into(),
                message_id: "0192-x".into(),
                message_type: "stock.reserved".into(),
                reason: "permanent: printer unknown".into(),
                order_id: Some(7),
            }),
            Event::TicketReprintRequested(TicketReprintRequested {
                order_id: 7,
                pizzeria_id: 1,
                requested_by: 5,
            }),
            Event::PrinterOffline(PrinterOffline {
                pizzeria_id: 1,
                printer_id: 2,
                printer_name: "Cuisine".into(),
                error: "timeout".into(),
            }),
            Event::PasswordLinkRequested(PasswordLinkRequested {
                user_id: 9,
                purpose: LinkPurpose::Claim,
            }),
        ]
    }

    #[test]
    fn every_event_type_round_trips() {
        let samples = samples();
        assert_eq!(samples.len(), Event::TYPES.len(), "one sample per type");
        for event in samples {
            let envelope = Envelope::new(event);
            let decoded = Envelope::decode(&envelope.encode().unwrap()).unwrap();
            assert_eq!(decoded, envelope);
        }
    }

    #[test]
    fn the_wire_format_is_the_documented_one() {
        let envelope = Envelope::new(Event::StockReserved(StockReserved {
            order_id: 7,
            pizzeria_id: 1,
        }));
        let json: serde_json::Value = serde_json::from_slice(&envelope.encode().unwrap()).unwrap();
        assert_eq!(json["type"], "stock.reserved");
        assert_eq!(json["version"], 1);
        assert_eq!(json["correlation_id"], 7);
        assert_eq!(
            json["payload"],
            serde_json::json!({"order_id": 7, "pizzeria_id": 1})
        );
    }

    #[test]
    fn bad_messages_are_rejected_with_a_clear_error() {
        let id = Uuid::nil();
        let wire = |t: &str, v: u16, payload: &str| {
            format!(
                r#"{{"message_id":"{id}","type":"{t}","version":{v},"occurred_at":"2026-11-25T10:00:00Z","correlation_id":null,"causation_id":null,"payload":{payload}}}"#
            )
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "not a message envelope"),
            (b"\xff\xfe".to_vec(), "not a message envelope"),
            (b"[1,2]".to_vec(), "not a message envelope"),
            (br#"{"message_id":"x"}"#.to_vec(), "not a message envelope"),
            (
                wire("pizza.eaten", 1, "{}").into_bytes(),
                "unknown message type \"pizza.eaten\"",
            ),
            (
                wire("order.placed", 9, "{}").into_bytes(),
                "order.placed version 9 is not supported",
            ),
            (
                wire("order.placed", 1, r#"{"order_id":"seven"}"#).into_bytes(),
                "malformed order.placed v1 payload",
            ),
            (
                wire(
                    "stock.reserved",
                    1,
                    r#"{"order_id":1,"pizzeria_id":1,"extra":true}"#,
                )
                .into_bytes(),
                "malformed stock.reserved v1 payload",
            ),
            (
                wire(
                    "order.placed",
                    1,
                    r#"{"order_id":1,"pizzeria_id":1,"payment_mode":"bitcoin","total_cents":1}"#,
                )
                .into_bytes(),
                "malformed",
            ),
        ];
        for (bytes, expected) in cases {
            let err = Envelope::decode(&bytes).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{:?}: {err}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    /// Any JSON value, a few levels deep.
    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            ".{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Every JSON pointer inside `v` (its own `""` included).
    fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, child) in m {
                    pointers(child, format!("{at}/{k}"), out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    pointers(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = Envelope::decode(&bytes);
        }

        /// A real message with one part replaced by anything (or removed): decoding says yes
        /// or no without panicking, and whatever it accepts encodes back to itself.
        #[test]
        fn decoding_damaged_messages_never_panics_and_what_it_accepts_round_trips(
            which in 0usize..100,
            at in 0usize..1000,
            replacement in arbitrary_json(),
            remove in proptest::prelude::any::<bool>(),
        ) {
            let samples = samples();
            let envelope = Envelope::new(samples[which % samples.len()].clone());
            let mut json: serde_json::Value = serde_json::from_slice(&envelope.encode().unwrap()).unwrap();
            let mut all = Vec::new();
            pointers(&json, String::new(), &mut all);
            let target = &all[at % all.len()];
            if remove && !target.is_empty() {
                let (parent, key) = target.rsplit_once('/').unwrap();
                match json.pointer_mut(parent) {
                    Some(serde_json::Value::Object(m)) => { m.remove(key); }
                    Some(serde_json::Value::Array(a)) => { a.remove(key.parse::<usize>().unwrap()); }
                    _ => {}
                }
            } else if let Some(slot) = json.pointer_mut(target) {
                *slot = replacement;
            }
            let bytes = serde_json::to_vec(&json).unwrap();
            if let Ok(decoded) = Envelope::decode(&bytes) {
                let again = Envelope::decode(&decoded.encode().unwrap()).unwrap();
                proptest::prop_assert_eq!(again, decoded);
            }
        }
    }
}

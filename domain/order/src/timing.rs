//! When an order should be started and when it is late, for the kitchen screen's lanes and
//! colours.
//!
//! An order for "as soon as possible" is late once it has waited longer than the kitchen's target
//! since it was placed; an order for a slot is late once its slot is closer than the time a pizza
//! takes. The operations manual sets no targets; these are our defaults (docs/staff.md).

use chrono::{DateTime, Duration, Utc};

use crate::Order;

/// An ASAP order should leave the kitchen within this time of being placed.
pub const ASAP_TARGET: Duration = Duration::minutes(20);
/// Preparing and baking take about this long: a slot order not ready by then is late.
pub const PREPARATION: Duration = Duration::minutes(15);

/// From the oven to the customer's door, about.
pub const TRAVEL: Duration = Duration::minutes(20);
/// How long before being late a card turns amber.
pub const WARNING: Duration = Duration::minutes(10);

/// When the kitchen should start the order: when the kitchen's plan put it (`kitchen_at`:
/// for « dès que possible », at once unless the line had earlier promises to keep), or for an
/// order placed before pacing at once, or its slot less the preparation (and the ride).
pub fn start_at(order: &Order) -> DateTime<Utc> {
    match (order.desired_at, order.kitchen_at) {
        (_, Some(planned)) => planned,
        (None, None) => order.created_at,
        (Some(due), None) => due - lead(order.fulfilment),
    }
}

fn lead(fulfilment: vocab::Fulfilment) -> Duration {
    match fulfilment {
        vocab::Fulfilment::Delivery => PREPARATION + TRAVEL,
        vocab::Fulfilment::Pickup => PREPARATION,
    }
}

/// A scheduled order whose start time has not come: the kitchen's « Plus tard » lane, and
/// starting it asks to confirm.
pub fn is_for_later(order: &Order, now: DateTime<Utc>) -> bool {
    start_at(order) > now
}

/// How the kitchen card is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    OnTime,
    /// Late within [`WARNING`].
    Soon,
    Late,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::OnTime => "on-time",
            Urgency::Soon => "soon",
            Urgency::Late => "late",
        }
    }
}

pub fn urgency(order: &Order, now: DateTime<Utc>) -> Urgency {
    if is_late(order, now) {
        Urgency::Late
    } else if is_late(order, now + WARNING) {
        Urgency::Soon
    } else {
        Urgency::OnTime
    }
}

/// Minutes since the order was placed.
pub fn age_minutes(order: &Order, now: DateTime<Utc>) -> i64 {
    (now - order.created_at).num_minutes().max(0)
}

pub fn is_late(order: &Order, now: DateTime<Utc>) -> bool {
    late_at(order.created_at, order.desired_at, now)
}

fn late_at(created: DateTime<Utc>, desired: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match desired {
        None => now - created > ASAP_TARGET,
        Some(due) => due - now < PREPARATION,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap()
    }

    #[test]
    fn asap_orders_are_late_after_the_target() {
        assert!(!late_at(at(0), None, at(20)));
        assert!(late_at(at(0), None, at(21)));
    }

    #[test]
    fn a_slot_starts_its_preparation_earlier_for_a_delivery() {
        let due = at(120);
        assert_eq!(due - lead(vocab::Fulfilment::Pickup), at(105));
        assert_eq!(due - lead(vocab::Fulfilment::Delivery), at(85));
    }

    #[test]
    fn slot_orders_are_late_when_the_slot_is_too_close() {
        assert!(!late_at(at(0), Some(at(120)), at(60)));
        assert!(!late_at(at(0), Some(at(120)), at(105)));
        assert!(late_at(at(0), Some(at(120)), at(106)));
    }
}

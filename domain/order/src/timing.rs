//! When an order in the kitchen is late, for the kitchen screen's colours.
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
    fn slot_orders_are_late_when_the_slot_is_too_close() {
        assert!(!late_at(at(0), Some(at(120)), at(60)));
        assert!(!late_at(at(0), Some(at(120)), at(105)));
        assert!(late_at(at(0), Some(at(120)), at(106)));
    }
}

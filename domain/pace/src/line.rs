//! The kitchen's line as it really goes: the orders being made since they were started, then
//! the ones waiting in the order they may start, each taking its pizzas' turns. Checkout's
//! quarters say what the kitchen can take; the line says when, from where the kitchen stands
//! now. An order not started when it should have been pushes everything behind it, and the
//! promises that slip by more than [`SLIP`] move (the customer is told once per move).

use chrono::{DateTime, Duration, Utc};

use crate::{Capacity, Pace, rounded};

/// Beyond this, an order is shown at risk on the kitchen card.
pub const AT_RISK: Duration = Duration::minutes(5);
/// A promise that would be missed by more than this is moved, and the customer told.
pub const SLIP: Duration = Duration::minutes(10);

/// An order the kitchen has yet to finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InKitchen {
    pub order_id: u64,
    /// Cooked items (pizzas, starters): the line's turns it takes.
    pub pizzas: u32,
    /// When the kitchen started it, if it has.
    pub started_at: Option<DateTime<Utc>>,
    /// When it may start: placed, for « dès que possible »; the plan's start, for a slot.
    pub may_start: DateTime<Utc>,
    /// The ride to the customer (zero for a pickup).
    pub travel: Duration,
    /// The time the customer holds (ready, or at the door).
    pub promised: Option<DateTime<Utc>>,
}

/// When an order will be ready at the pace the line goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub order_id: u64,
    pub ready_at: DateTime<Utc>,
    pub at_door: DateTime<Utc>,
    pub promised: Option<DateTime<Utc>>,
}

impl Expected {
    /// How far past its promise it will be (zero when on time or early).
    pub fn late_by(&self) -> Duration {
        self.promised.map_or(Duration::zero(), |p| {
            (self.at_door - p).max(Duration::zero())
        })
    }

    pub fn at_risk(&self) -> bool {
        self.late_by() > AT_RISK
    }

    /// The new time to tell the customer, when the promise slips by more than [`SLIP`].
    pub fn moved_to(&self) -> Option<DateTime<Utc>> {
        (self.late_by() > SLIP).then(|| rounded(self.at_door))
    }
}

/// Even an order that should be done by now takes a moment more.
const AT_LEAST: Duration = Duration::minutes(1);

/// Where every order of `orders` stands at `now`, in the order the line takes them.
pub fn project(
    orders: &[InKitchen],
    capacity: &Capacity,
    pace: &Pace,
    now: DateTime<Utc>,
) -> Vec<Expected> {
    let rest = Duration::seconds(i64::from(pace.base_seconds));
    let mut queue: Vec<&InKitchen> = orders.iter().collect();
    // Started ones first, as they were started; then by when each may start.
    queue.sort_by_key(|o| {
        (
            o.started_at.is_none(),
            o.started_at.unwrap_or(o.may_start),
            o.order_id,
        )
    });
    let mut free: Option<DateTime<Utc>> = None;
    let mut out = Vec::with_capacity(queue.len());
    for o in queue {
        let begin = match o.started_at {
            Some(started) => free.map_or(started, |f| f.max(started)),
            None => free.unwrap_or(now).max(o.may_start).max(now),
        };
        let ready_at = if o.pizzas == 0 {
            // Drinks wait for no turn on the line.
            begin + rest
        } else {
            let turn = pace.line(capacity, begin);
            let line_end = begin + turn * i32::try_from(o.pizzas).unwrap_or(i32::MAX);
            free = Some(line_end);
            line_end + rest
        };
        let ready_at = ready_at.max(now + AT_LEAST);
        out.push(Expected {
            order_id: o.order_id,
            ready_at,
            at_door: ready_at + o.travel,
            promised: o.promised,
        });
    }
    out
}

/// When `new` would be ready if it joined the line now.
pub fn joining(
    orders: &[InKitchen],
    new: InKitchen,
    capacity: &Capacity,
    pace: &Pace,
    now: DateTime<Utc>,
) -> Expected {
    let id = new.order_id;
    let mut all = orders.to_vec();
    all.retain(|o| o.order_id != id);
    all.push(new);
    project(&all, capacity, pace, now)
        .into_iter()
        .find(|e| e.order_id == id)
        .expect("the order joined")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0).unwrap()
    }

    /// Ten pizzas a quarter: a turn of 90 s; ten minutes to bake and box.
    const KITCHEN: Capacity = Capacity::flat(10, Duration::minutes(60));
    const PACE: Pace = Pace {
        base_seconds: 600,
        per_pizza_seconds: 0,
    };

    fn waiting(id: u64, pizzas: u32, may_start: DateTime<Utc>, promised: u32) -> InKitchen {
        let promised = at(19, 0) + Duration::minutes(i64::from(promised));
        InKitchen {
            order_id: id,
            pizzas,
            started_at: None,
            may_start,
            travel: Duration::zero(),
            promised: Some(promised),
        }
    }

    #[test]
    fn orders_take_their_turns_after_what_was_started() {
        let mut first = waiting(1, 2, at(19, 0), 15);
        first.started_at = Some(at(19, 0));
        let second = waiting(2, 2, at(19, 1), 18);
        let e = project(&[second, first], &KITCHEN, &PACE, at(19, 2));
        assert_eq!(e[0].order_id, 1);
        assert_eq!(e[0].ready_at, at(19, 13), "two turns of 90 s, ten to bake");
        assert_eq!(e[1].ready_at, at(19, 16), "after the first one's turns");
        assert!(!e[1].at_risk());
    }

    #[test]
    fn an_order_not_started_in_time_pushes_the_ones_behind_and_moves_their_promises() {
        // Due to start at 19:00, still waiting at 19:20: everything behind it slips.
        let late = waiting(1, 4, at(19, 0), 16);
        let behind = waiting(2, 2, at(19, 5), 22);
        let e = project(&[late, behind], &KITCHEN, &PACE, at(19, 20));
        assert_eq!(e[0].ready_at, at(19, 36));
        assert_eq!(e[0].moved_to(), Some(at(19, 35)), "20 minutes late: moved");
        assert_eq!(e[1].ready_at, at(19, 39));
        assert_eq!(e[1].late_by(), Duration::minutes(17));
        // At 19:05 the first is only 7 minutes behind: at risk, not moved.
        let e = project(&[waiting(1, 4, at(19, 0), 14)], &KITCHEN, &PACE, at(19, 5));
        assert!(e[0].at_risk());
        assert_eq!(e[0].moved_to(), None);
    }

    #[test]
    fn a_slot_waits_for_its_start_and_a_new_order_goes_before_it() {
        let slot = waiting(1, 3, at(20, 0), 20 + 60);
        let asap = InKitchen {
            order_id: 2,
            pizzas: 2,
            started_at: None,
            may_start: at(19, 0),
            travel: Duration::minutes(20),
            promised: None,
        };
        let e = joining(&[slot], asap, &KITCHEN, &PACE, at(19, 0));
        assert_eq!(e.ready_at, at(19, 13));
        assert_eq!(e.at_door, at(19, 33));
    }

    #[test]
    fn an_overdue_order_is_never_expected_in_the_past() {
        let mut o = waiting(1, 1, at(19, 0), 12);
        o.started_at = Some(at(19, 0));
        let e = project(&[o], &KITCHEN, &PACE, at(19, 30));
        assert_eq!(e[0].ready_at, at(19, 31));
        assert_eq!(e[0].moved_to(), Some(at(19, 30)));
    }
}

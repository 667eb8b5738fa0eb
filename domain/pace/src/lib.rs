//! Kitchen pacing: how many pizzas the oven and the crew make per quarter of an hour, which
//! quarters an order's pizzas take, and so when it will honestly be ready.
//!
//! Pure rules over a [`Plan`] (what each quarter already holds); the caller loads the plan
//! under a lock of the shop's kitchen row and writes the bookings back, so two checkouts for
//! the last capacity of a quarter queue up and exactly one gets it. The bench's Friday-evening
//! simulation drives the same functions on a simulated clock.
#![forbid(unsafe_code)]

pub mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

/// A quarter of an hour: the unit of kitchen capacity.
pub const QUARTER: Duration = Duration::minutes(15);

/// The start of the quarter `at` falls in.
pub fn quarter_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let secs = at.timestamp();
    let start = secs - secs.rem_euclid(QUARTER.num_seconds());
    DateTime::from_timestamp(start, 0).unwrap_or(at)
}

/// How long the kitchen takes: each pizza's turn on the line (stretching, topping, into the
/// oven) one after the other, then a fixed part for the last one (baking, boxing). Measured per
/// shop from its own history; these defaults until there is some.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Pace {
    pub base_seconds: u32,
    pub per_pizza_seconds: u32,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            base_seconds: 10 * 60,
            per_pizza_seconds: 90,
        }
    }
}

impl Pace {
    /// One pizza's turn on the line: the measured one, never faster than the capacity the
    /// manager set allows.
    pub fn line(&self, capacity: &Capacity) -> Duration {
        let by_capacity = QUARTER.num_seconds() / i64::from(capacity.per_quarter.max(1));
        Duration::seconds(by_capacity.max(i64::from(self.per_pizza_seconds)))
    }

    /// From starting an order of `pizzas` on a free line to its being ready.
    pub fn preparation(&self, pizzas: u32) -> Duration {
        let seconds =
            i64::from(self.base_seconds) + i64::from(self.per_pizza_seconds) * i64::from(pizzas);
        Duration::seconds(seconds.max(60))
    }
}

/// What the manager set for the kitchen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Capacity {
    /// Pizzas the kitchen makes per quarter of an hour.
    pub per_quarter: u32,
    /// Beyond this wait, « dès que possible » is said as the first feasible time.
    pub max_wait: Duration,
}

/// How many pizzas each quarter already holds, by quarter start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub used: BTreeMap<DateTime<Utc>, u32>,
}

/// Quarters an order takes and how many of its pizzas in each.
pub type Bookings = Vec<(DateTime<Utc>, u32)>;

/// Where an order fits: its quarters, when the kitchen starts it and when it is ready (for a
/// delivery, `at_door` adds the ride).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fit {
    pub bookings: Bookings,
    pub starts_at: DateTime<Utc>,
    pub ready_at: DateTime<Utc>,
    pub at_door: DateTime<Utc>,
}

/// Why an order does not fit where it was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The kitchen cannot make it by then; the first time it can, if any within the horizon.
    Full { next: Option<DateTime<Utc>> },
}

/// How far ahead an ASAP order looks for room.
const HORIZON: Duration = Duration::hours(6);
/// A scheduled order is not made more than this long before it is due.
const EARLIEST: Duration = Duration::minutes(30);

impl Plan {
    /// What is left in the quarter starting at `q` at time `now`: the current quarter has only
    /// the part of its capacity for the minutes not yet gone.
    pub fn left(&self, capacity: &Capacity, q: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
        let full = capacity.per_quarter;
        let room = if q + QUARTER <= now {
            0
        } else if q < now {
            let left = (q + QUARTER - now).num_seconds();
            let room = i64::from(full) * left / QUARTER.num_seconds();
            u32::try_from(room).unwrap_or(0)
        } else {
            full
        };
        room.saturating_sub(self.used.get(&q).copied().unwrap_or(0))
    }

    pub fn book(&mut self, bookings: &Bookings) {
        for (q, n) in bookings {
            *self.used.entry(*q).or_default() += n;
        }
    }

    pub fn release(&mut self, bookings: &Bookings) {
        for (q, n) in bookings {
            if let Some(used) = self.used.get_mut(q) {
                *used = used.saturating_sub(*n);
            }
        }
    }

    /// « Dès que possible »: the first quarters from now with room for `pizzas`, filled in
    /// order; ready once the last of them is made. `pizzas` 0 (drinks only) takes no capacity
    /// and is ready after the fixed part of the preparation.
    pub fn asap(
        &self,
        capacity: &Capacity,
        pace: &Pace,
        pizzas: u32,
        travel: Duration,
        now: DateTime<Utc>,
    ) -> Option<Fit> {
        let mut bookings = Vec::new();
        let mut q = quarter_of(now);
        let mut missing = pizzas;
        while missing > 0 {
            if q > now + HORIZON || capacity.per_quarter == 0 {
                return None;
            }
            let take = self.left(capacity, q, now).min(missing);
            if take > 0 {
                bookings.push((q, take));
                missing -= take;
            }
            q += QUARTER;
        }
        let starts_at = bookings.first().map_or(now, |(q, _)| (*q).max(now));
        // The line makes a quarter's pizzas in turn: this order's last one comes after what
        // that quarter already held, and never sooner than its own pizzas take from now.
        let line = pace.line(capacity);
        let done = match bookings.last() {
            Some((q, take)) => {
                let before = self.used.get(q).copied().unwrap_or(0);
                let in_turn = *q + line * i32::try_from(before + take).unwrap_or(i32::MAX);
                in_turn.max(now + line * i32::try_from(pizzas).unwrap_or(i32::MAX))
            }
            None => now,
        };
        let ready_at = done + Duration::seconds(i64::from(pace.base_seconds));
        Some(Fit {
            bookings,
            starts_at,
            ready_at,
            at_door: ready_at + travel,
        })
    }

    /// For a time `due` (ready then for a pickup, at the door for a delivery): the quarters
    /// just before it with room, latest first, no earlier than [`EARLIEST`] before the start
    /// it needs and never in the past.
    pub fn scheduled(
        &self,
        capacity: &Capacity,
        pace: &Pace,
        pizzas: u32,
        travel: Duration,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Fit, Refusal> {
        let ready_at = due - travel;
        let starts_at = ready_at - preparation(pace, capacity, pizzas);
        if starts_at < now {
            return Err(Refusal::Full {
                next: self
                    .asap(capacity, pace, pizzas, travel, now)
                    .map(|f| f.at_door),
            });
        }
        let Some(mut bookings) = self.fill_back(capacity, pizzas, starts_at, now) else {
            return Err(Refusal::Full {
                next: self.next_slot(capacity, pace, pizzas, travel, due, now),
            });
        };
        bookings.reverse();
        Ok(Fit {
            // Spread over earlier quarters, it starts with the first of them.
            starts_at: match bookings.as_slice() {
                [(first, _), _, ..] => (*first).max(now).min(starts_at),
                _ => starts_at,
            },
            bookings,
            ready_at,
            at_door: due,
        })
    }

    /// The quarters from the one `starts_at` falls in backwards (no earlier than [`EARLIEST`]
    /// before it, never in the past) that hold `pizzas`, latest first; `None` if they do not.
    fn fill_back(
        &self,
        capacity: &Capacity,
        pizzas: u32,
        starts_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Bookings> {
        let mut bookings = Vec::new();
        let mut missing = pizzas;
        let mut q = quarter_of(starts_at);
        let floor = quarter_of((starts_at - EARLIEST).max(now));
        while missing > 0 && q >= floor {
            let take = self.left(capacity, q, now).min(missing);
            if take > 0 {
                bookings.push((q, take));
                missing -= take;
            }
            q -= QUARTER;
        }
        (missing == 0).then_some(bookings)
    }

    /// The first quarter-hour time after `due` an order of `pizzas` fits at.
    fn next_slot(
        &self,
        capacity: &Capacity,
        pace: &Pace,
        pizzas: u32,
        travel: Duration,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut at = due + QUARTER;
        while at <= due + HORIZON {
            let starts_at = at - travel - preparation(pace, capacity, pizzas);
            let fits =
                starts_at >= now && self.fill_back(capacity, pizzas, starts_at, now).is_some();
            if fits {
                return Some(at);
            }
            at += QUARTER;
        }
        None
    }

    /// What an ASAP order of `pizzas` is promised now, and whether the wait is beyond the
    /// manager's limit (then the promise is said as a time to choose, not « dès que possible »).
    pub fn promise(
        &self,
        capacity: &Capacity,
        pace: &Pace,
        pizzas: u32,
        travel: Duration,
        now: DateTime<Utc>,
    ) -> Option<Promise> {
        let fit = self.asap(capacity, pace, pizzas, travel, now)?;
        let beyond = fit.at_door - now > capacity.max_wait + travel;
        Some(Promise { fit, beyond })
    }
}

/// An order of `pizzas` from the start of its turn: its pizzas on the line, then the rest.
fn preparation(pace: &Pace, capacity: &Capacity, pizzas: u32) -> Duration {
    pace.line(capacity) * i32::try_from(pizzas).unwrap_or(i32::MAX)
        + Duration::seconds(i64::from(pace.base_seconds))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promise {
    pub fit: Fit,
    /// The wait is beyond the manager's limit.
    pub beyond: bool,
}

/// Promised times are said to the customer rounded up to 5 minutes (« prête vers 19:40 »).
pub fn rounded_up(at: DateTime<Utc>) -> DateTime<Utc> {
    let five = 300;
    let secs = at.timestamp();
    let up = secs + (five - secs.rem_euclid(five)) % five;
    DateTime::from_timestamp(up, 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0).unwrap()
    }

    fn kitchen(per_quarter: u32) -> Capacity {
        Capacity {
            per_quarter,
            max_wait: Duration::minutes(45),
        }
    }

    /// Two minutes a pizza on the line (slower than the 8 a quarter set allows), ten to bake.
    const PACE: Pace = Pace {
        base_seconds: 600,
        per_pizza_seconds: 120,
    };

    #[test]
    fn quarters_start_on_the_quarter() {
        assert_eq!(quarter_of(at(19, 7)), at(19, 0));
        assert_eq!(quarter_of(at(19, 15)), at(19, 15));
        assert_eq!(rounded_up(at(19, 36)), at(19, 40));
        assert_eq!(rounded_up(at(19, 40)), at(19, 40));
    }

    #[test]
    fn an_empty_kitchen_starts_now_and_the_current_quarter_counts_what_is_left() {
        let plan = Plan::default();
        let fit = plan
            .asap(&kitchen(8), &PACE, 2, Duration::zero(), at(19, 0))
            .unwrap();
        assert_eq!(fit.bookings, [(at(19, 0), 2)]);
        assert_eq!(
            fit.ready_at,
            at(19, 14),
            "two turns of two minutes, ten to bake"
        );
        // Ten minutes into the quarter, a third of it is left: 2 pizzas of 8.
        assert_eq!(plan.left(&kitchen(8), at(19, 0), at(19, 10)), 2);
        let fit = plan
            .asap(&kitchen(8), &PACE, 4, Duration::minutes(20), at(19, 10))
            .unwrap();
        assert_eq!(fit.bookings, [(at(19, 0), 2), (at(19, 15), 2)]);
        assert_eq!(fit.ready_at, at(19, 29));
        assert_eq!(fit.at_door, at(19, 49));
    }

    #[test]
    fn a_busy_kitchen_pushes_the_promise_back_and_says_when_it_is_beyond_the_limit() {
        let mut plan = Plan::default();
        for q in 0..4 {
            plan.used.insert(at(19, 0) + QUARTER * q, 8);
        }
        let p = plan
            .promise(&kitchen(8), &PACE, 3, Duration::zero(), at(19, 0))
            .unwrap();
        assert_eq!(p.fit.bookings, [(at(20, 0), 3)]);
        assert_eq!(p.fit.ready_at, at(20, 16));
        assert!(p.beyond, "76 minutes is beyond 45");
        let p = plan
            .promise(&kitchen(8), &PACE, 3, Duration::zero(), at(19, 50))
            .unwrap();
        assert!(!p.beyond);
        // Behind three pizzas already in its quarter, an order waits for their turns.
        plan.used.insert(at(20, 0), 3);
        let p = plan
            .promise(&kitchen(8), &PACE, 1, Duration::zero(), at(19, 50))
            .unwrap();
        assert_eq!(p.fit.ready_at, at(20, 18));
    }

    #[test]
    fn drinks_alone_take_no_oven_time() {
        let mut plan = Plan::default();
        plan.used.insert(at(19, 0), 8);
        let fit = plan
            .asap(&kitchen(8), &PACE, 0, Duration::zero(), at(19, 0))
            .unwrap();
        assert!(fit.bookings.is_empty());
        assert_eq!(fit.ready_at, at(19, 10));
    }

    #[test]
    fn a_slot_takes_the_quarter_before_it_and_a_full_slot_offers_the_next() {
        let mut plan = Plan::default();
        let k = kitchen(8);
        // Ready at 20:00 with 4 pizzas (8 minutes on the line, 10 to bake): from 19:42.
        let fit = plan
            .scheduled(&k, &PACE, 4, Duration::zero(), at(20, 0), at(18, 0))
            .unwrap();
        assert_eq!(fit.bookings, [(at(19, 30), 4)]);
        assert_eq!(fit.starts_at, at(19, 42));
        plan.book(&fit.bookings);
        // 6 more for 20:00, from 19:38: 4 left at 19:30, 2 in the quarter before.
        let fit = plan
            .scheduled(&k, &PACE, 6, Duration::zero(), at(20, 0), at(18, 0))
            .unwrap();
        assert_eq!(fit.bookings, [(at(19, 15), 2), (at(19, 30), 4)]);
        plan.book(&fit.bookings);
        // 9 for 20:00, from 19:32: no earlier than 30 minutes before, so 19:00 at the most.
        let fit = plan
            .scheduled(&k, &PACE, 9, Duration::zero(), at(20, 0), at(18, 0))
            .unwrap();
        assert_eq!(fit.bookings, [(at(19, 0), 3), (at(19, 15), 6)]);
        plan.book(&fit.bookings);
        plan.used.insert(at(19, 45), 8);
        // Nothing left within 30 minutes before 20:00: the next time that fits is offered.
        let refused = plan.scheduled(&k, &PACE, 2, Duration::zero(), at(20, 0), at(18, 0));
        assert_eq!(
            refused,
            Err(Refusal::Full {
                next: Some(at(20, 15))
            })
        );
        // A delivery at 20:45 with a 20-minute ride is ready at 20:25, made from 20:11.
        let fit = plan
            .scheduled(&k, &PACE, 2, Duration::minutes(20), at(20, 45), at(18, 0))
            .unwrap();
        assert_eq!(fit.ready_at, at(20, 25));
        assert_eq!(fit.bookings, [(at(20, 0), 2)]);
    }

    #[test]
    fn a_slot_too_close_to_be_made_is_refused() {
        let plan = Plan::default();
        let refused = plan.scheduled(
            &kitchen(8),
            &PACE,
            2,
            Duration::zero(),
            at(19, 5),
            at(19, 0),
        );
        assert!(matches!(refused, Err(Refusal::Full { next: Some(_) })));
    }

    #[test]
    fn booking_and_releasing_add_up() {
        let mut plan = Plan::default();
        let b = vec![(at(19, 0), 3), (at(19, 15), 2)];
        plan.book(&b);
        plan.book(&b);
        plan.release(&b);
        assert_eq!(plan.used[&at(19, 0)], 3);
        assert_eq!(plan.left(&kitchen(8), at(19, 15), at(18, 0)), 6);
    }
}

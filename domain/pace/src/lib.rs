//! Kitchen pacing: how many pizzas the oven and the crew make per quarter of an hour, which
//! quarters an order's pizzas take, and so when it will honestly be ready.
//!
//! Pure rules over a [`Plan`] (what each quarter already holds); the caller loads the plan
//! under a lock of the shop's kitchen row and writes the bookings back, so two checkouts for
//! the last capacity of a quarter queue up and exactly one gets it. The bench's Friday-evening
//! simulation drives the same functions on a simulated clock.
#![forbid(unsafe_code)]

pub mod line;
pub mod store;

pub use line::{AT_RISK, Expected, InKitchen, SLIP};

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
/// oven) one after the other, then a fixed part for the last one (baking, boxing). Learnt per
/// shop from its own history ([`Pace::learn`]); until there is enough, the turn is what the
/// manager's capacity says and the fixed part ten minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Pace {
    pub base_seconds: u32,
    /// 0 until measured: the capacity alone sets the turn.
    pub per_pizza_seconds: u32,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            base_seconds: 10 * 60,
            per_pizza_seconds: 0,
        }
    }
}

/// Fewer finished orders than this and the pace is not learnt.
pub const LEARNT_FROM: usize = 8;

impl Pace {
    /// One pizza's turn on the line at `at`: the measured one, never faster than the capacity
    /// the manager set for then allows.
    pub fn line(&self, capacity: &Capacity, at: DateTime<Utc>) -> Duration {
        let by_capacity = QUARTER.num_seconds() / i64::from(capacity.at(at).max(1));
        Duration::seconds(by_capacity.max(i64::from(self.per_pizza_seconds)))
    }

    /// The pace from finished orders (cooked items, started → ready), most recent last: a
    /// least-squares line through them (the fixed part and the time per pizza), held inside
    /// what a kitchen can do (3 to 45 minutes fixed, 20 s to 10 min per pizza). `None` with
    /// fewer than [`LEARNT_FROM`].
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "both clamped to a few thousand seconds, positive"
    )]
    pub fn learn(samples: &[(u32, Duration)]) -> Option<Pace> {
        if samples.len() < LEARNT_FROM {
            return None;
        }
        let n = samples.len() as f64;
        let xs = samples.iter().map(|(p, _)| f64::from(*p));
        let ys = samples.iter().map(|(_, d)| d.num_seconds() as f64);
        let mean_x = xs.clone().sum::<f64>() / n;
        let mean_y = ys.clone().sum::<f64>() / n;
        let (mut cov, mut var) = (0.0, 0.0);
        for (x, y) in xs.zip(ys) {
            cov += (x - mean_x) * (y - mean_y);
            var += (x - mean_x) * (x - mean_x);
        }
        // All orders the same size say nothing of the time per pizza: a minute and a half.
        let slope = if var > 0.0 { cov / var } else { 90.0 };
        let slope = slope.clamp(20.0, 600.0);
        let base = (mean_y - slope * mean_x).clamp(180.0, 45.0 * 60.0);
        Some(Pace {
            base_seconds: base.round() as u32,
            per_pizza_seconds: slope.round() as u32,
        })
    }
}

/// What the manager set for the kitchen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Capacity {
    /// Pizzas the kitchen makes per quarter of an hour (outside the periods below).
    pub per_quarter: u32,
    /// Beyond this wait, « dès que possible » is said as the first feasible time.
    pub max_wait: Duration,
    /// A figure of its own for some opening periods (a lunch with one pizzaiolo).
    pub periods: [Option<Period>; PERIODS],
}

/// At most this many opening periods have a figure of their own.
pub const PERIODS: usize = 4;

/// The capacity for one opening period, in Paris local minutes since midnight (`closes` at
/// or before `opens`: the period runs past midnight).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Period {
    pub opens: u16,
    pub closes: u16,
    pub per_quarter: u32,
}

impl Period {
    fn covers(&self, minute: u16) -> bool {
        if self.opens < self.closes {
            (self.opens..self.closes).contains(&minute)
        } else {
            minute >= self.opens || minute < self.closes
        }
    }
}

impl Capacity {
    /// The same figure all day.
    pub const fn flat(per_quarter: u32, max_wait: Duration) -> Capacity {
        Capacity {
            per_quarter,
            max_wait,
            periods: [None; PERIODS],
        }
    }

    /// Pizzas per quarter for the quarter `at` falls in.
    pub fn at(&self, at: DateTime<Utc>) -> u32 {
        use chrono::Timelike;
        let local = at.with_timezone(&chrono_tz::Europe::Paris);
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        self.periods
            .iter()
            .flatten()
            .find(|p| p.covers(minute))
            .map_or(self.per_quarter, |p| p.per_quarter)
    }
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
    /// Too close: the preparation would have had to start already.
    TooSoon { next: Option<DateTime<Utc>> },
}

impl Refusal {
    /// The first time that fits, if any.
    pub fn next(&self) -> Option<DateTime<Utc>> {
        match self {
            Refusal::Full { next } | Refusal::TooSoon { next } => *next,
        }
    }
}

/// A slot is taken only if the line makes it within this of the time asked.
const ON_TIME: Duration = Duration::minutes(2);
/// How much earlier a slot's start is tried when the line is busy at its ideal one.
const STEP: Duration = Duration::minutes(3);

/// How far ahead an ASAP order looks for room.
const HORIZON: Duration = Duration::hours(6);
/// A scheduled order is not made more than this long before it is due.
const EARLIEST: Duration = Duration::minutes(30);

impl Plan {
    /// What is left in the quarter starting at `q` at time `now`: the current quarter has only
    /// the part of its capacity for the minutes not yet gone.
    pub fn left(&self, capacity: &Capacity, q: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
        let full = capacity.at(q);
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
            if q > now + HORIZON {
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
        let line = pace.line(capacity, bookings.last().map_or(now, |(q, _)| *q));
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
        if let Some(fit) = self.slot(capacity, pace, pizzas, travel, due, now) {
            return Ok(fit);
        }
        let ready_at = due - travel;
        let next = if ready_at - preparation(pace, capacity, pizzas, ready_at) < now {
            self.asap(capacity, pace, pizzas, travel, now)
                .map(|f| f.at_door)
        } else {
            self.next_slot(capacity, pace, pizzas, travel, due, now)
        };
        Err(Refusal::Full { next })
    }

    /// [`Plan::scheduled`] without looking for the next slot when it does not fit.
    fn slot(
        &self,
        capacity: &Capacity,
        pace: &Pace,
        pizzas: u32,
        travel: Duration,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Fit> {
        let ready_at = due - travel;
        let starts_at = ready_at - preparation(pace, capacity, pizzas, ready_at);
        if starts_at < now {
            return None;
        }
        let mut bookings = self.fill_back(capacity, pizzas, starts_at, now)?;
        bookings.reverse();
        Some(Fit {
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
            let starts_at = at - travel - preparation(pace, capacity, pizzas, at - travel);
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
/// `ready_at` says which period's capacity sets the turn.
fn preparation(pace: &Pace, capacity: &Capacity, pizzas: u32, ready_at: DateTime<Utc>) -> Duration {
    pace.line(capacity, ready_at) * i32::try_from(pizzas).unwrap_or(i32::MAX)
        + Duration::seconds(i64::from(pace.base_seconds))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promise {
    pub fit: Fit,
    /// The wait is beyond the manager's limit.
    pub beyond: bool,
}

/// Everything a promise is made from: what the manager set, the pace learnt, the quarters
/// booked and the orders on the line. Checkout loads it under the kitchen's lock; the pages
/// load it without, to show what checkout will most likely say.
#[derive(Clone, Debug)]
pub struct Kitchen {
    pub capacity: Capacity,
    pub pace: Pace,
    pub plan: Plan,
    pub line: Vec<InKitchen>,
}

impl Kitchen {
    /// « Dès que possible »: the quarters with room, and the first start from the first of
    /// them at which the line makes it without making any order already promised late.
    pub fn asap(&self, pizzas: u32, travel: Duration, now: DateTime<Utc>) -> Option<Fit> {
        let mut fit = self
            .plan
            .asap(&self.capacity, &self.pace, pizzas, travel, now)?;
        let before = self.baseline(now);
        let mut start = now;
        while start <= now + HORIZON {
            if let Some(on_line) = self.trial(&before, pizzas, travel, start, now) {
                fit.starts_at = start;
                fit.ready_at = on_line.ready_at;
                fit.at_door = on_line.at_door;
                return Some(fit);
            }
            start += STEP;
        }
        None
    }

    /// What an ASAP order is promised, and whether that is beyond the manager's limit.
    pub fn promise(&self, pizzas: u32, travel: Duration, now: DateTime<Utc>) -> Option<Promise> {
        let fit = self.asap(pizzas, travel, now)?;
        let beyond = fit.at_door - now > self.capacity.max_wait + travel;
        Some(Promise { fit, beyond })
    }

    /// A slot: room in its quarters, and the line able to make it by then (within
    /// [`AT_RISK`]) from where it stands; else the next slot that has both.
    pub fn scheduled(
        &self,
        pizzas: u32,
        travel: Duration,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Fit, Refusal> {
        if let Ok(fit) = self.fits(pizzas, travel, due, now) {
            return Ok(fit);
        }
        let mut next = None;
        let mut at = due + QUARTER;
        while at <= due + HORIZON {
            if self.fits(pizzas, travel, at, now).is_ok() {
                next = Some(at);
                break;
            }
            at += QUARTER;
        }
        if due - travel - preparation(&self.pace, &self.capacity, pizzas, due - travel) < now {
            Err(Refusal::TooSoon { next })
        } else {
            Err(Refusal::Full { next })
        }
    }

    /// The slot's quarters, and the latest start from which the line makes it on time: its
    /// ideal start (the time its pizzas and baking take before it), or earlier, back to its
    /// first quarter, when the line is busy then.
    /// The slot's quarters and start if it can be made on time, without looking further
    /// (the pages list every slot this way).
    pub fn takes(
        &self,
        pizzas: u32,
        travel: Duration,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Fit> {
        self.fits(pizzas, travel, due, now).ok()
    }

    fn fits(
        &self,
        pizzas: u32,
        travel: Duration,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Fit, ()> {
        // Only whether it fits: the next slot, if not, is looked for by the caller.
        let mut fit = self
            .plan
            .slot(&self.capacity, &self.pace, pizzas, travel, due, now)
            .ok_or(())?;
        let ideal = fit.ready_at - preparation(&self.pace, &self.capacity, pizzas, fit.ready_at);
        let earliest = fit.bookings.first().map_or(ideal, |(q, _)| (*q).max(now));
        let before = self.baseline(now);
        let mut start = ideal.max(earliest);
        loop {
            let on_time = self
                .trial(&before, pizzas, travel, start, now)
                .is_some_and(|e| e.at_door <= due + ON_TIME);
            if on_time {
                fit.starts_at = start;
                return Ok(fit);
            }
            if start <= earliest {
                return Err(());
            }
            start = (start - STEP).max(earliest);
        }
    }

    /// Where each order on the line is expected at the door now.
    fn baseline(&self, now: DateTime<Utc>) -> BTreeMap<u64, Expected> {
        self.expected(now)
            .into_iter()
            .map(|e| (e.order_id, e))
            .collect()
    }

    /// The new order started no sooner than `start`: when it would be ready, unless that
    /// pushes an order already on the line past its promise (or further past it).
    fn trial(
        &self,
        before: &BTreeMap<u64, Expected>,
        pizzas: u32,
        travel: Duration,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Expected> {
        let mut all = self.line.clone();
        all.push(InKitchen {
            // No stored order has id 0: the one being placed.
            order_id: 0,
            pizzas,
            started_at: None,
            may_start: start,
            travel,
            promised: None,
        });
        let mut new = None;
        for e in line::project(&all, &self.capacity, &self.pace, now) {
            if e.order_id == 0 {
                new = Some(e);
                continue;
            }
            let was = before.get(&e.order_id).map_or(e.at_door, |b| b.at_door);
            let allowed = e.promised.map_or(was, |p| (p + ON_TIME).max(was));
            if e.at_door > allowed {
                return None;
            }
        }
        new
    }

    /// The pizzas the quarter starting at `q` can still take.
    pub fn left(&self, q: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
        self.plan.left(&self.capacity, q, now)
    }

    /// Where the orders on the line stand now.
    pub fn expected(&self, now: DateTime<Utc>) -> Vec<Expected> {
        line::project(&self.line, &self.capacity, &self.pace, now)
    }
}

/// Promised times are said to the customer to the nearest 5 minutes (« prête vers 19:40 »):
/// « vers » is either side, and the Friday simulation keeps more orders within ±5 minutes so
/// than rounding up (bench/src/bin/pace_sim.rs, docs/performance.md).
pub fn rounded(at: DateTime<Utc>) -> DateTime<Utc> {
    let five = 300;
    let secs = at.timestamp();
    let nearest = (secs + five / 2).div_euclid(five) * five;
    DateTime::from_timestamp(nearest, 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0).unwrap()
    }

    fn kitchen(per_quarter: u32) -> Capacity {
        Capacity::flat(per_quarter, Duration::minutes(45))
    }

    /// Two minutes a pizza on the line (slower than the 8 a quarter set allows), ten to bake.
    const PACE: Pace = Pace {
        base_seconds: 600,
        per_pizza_seconds: 120,
    };

    #[test]
    fn an_opening_period_may_have_its_own_capacity() {
        let mut k = kitchen(12);
        // Lunch with one pizzaiolo; a late evening running past midnight.
        k.periods[0] = Some(Period {
            opens: 11 * 60 + 30,
            closes: 14 * 60 + 30,
            per_quarter: 4,
        });
        k.periods[1] = Some(Period {
            opens: 22 * 60,
            closes: 60,
            per_quarter: 6,
        });
        // December: Paris is UTC+1.
        assert_eq!(k.at(at(11, 0)), 4, "12:00 in Paris");
        assert_eq!(k.at(at(13, 30)), 12, "14:30 in Paris: the period is over");
        assert_eq!(k.at(at(18, 0)), 12);
        assert_eq!(k.at(at(23, 45)), 6, "00:45 in Paris");
        let plan = Plan::default();
        assert_eq!(plan.left(&k, at(11, 0), at(9, 0)), 4);
        assert_eq!(PACE.line(&k, at(11, 0)), Duration::seconds(225));
    }

    #[test]
    fn quarters_start_on_the_quarter() {
        assert_eq!(quarter_of(at(19, 7)), at(19, 0));
        assert_eq!(quarter_of(at(19, 15)), at(19, 15));
        assert_eq!(rounded(at(19, 36)), at(19, 35));
        assert_eq!(rounded(at(19, 38)), at(19, 40));
        assert_eq!(rounded(at(19, 40)), at(19, 40));
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
        // The kitchen says why: fourteen minutes of work cannot be ready in five.
        let kitchen = Kitchen {
            capacity: kitchen(8),
            pace: PACE,
            plan,
            line: Vec::new(),
        };
        assert_eq!(
            kitchen.scheduled(2, Duration::zero(), at(19, 5), at(19, 0)),
            Err(Refusal::TooSoon {
                next: Some(at(19, 20))
            })
        );
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

    #[test]
    fn the_pace_is_learnt_from_finished_orders() {
        // Eight minutes plus two a pizza, give or take half a minute.
        let samples: Vec<(u32, Duration)> = (0..20)
            .map(|i| {
                let pizzas = 1 + i % 4;
                let noise = if (i / 4) % 2 == 0 { 30 } else { -30 };
                (
                    pizzas,
                    Duration::seconds(480 + 120 * i64::from(pizzas) + noise),
                )
            })
            .collect();
        let pace = Pace::learn(&samples).unwrap();
        assert!((470..=490).contains(&pace.base_seconds), "{pace:?}");
        assert!((115..=125).contains(&pace.per_pizza_seconds), "{pace:?}");
        assert_eq!(Pace::learn(&samples[..5]), None, "too few to say");
        // All of one size: the fixed part from them, a minute and a half a pizza.
        let same = vec![(2, Duration::minutes(15)); 10];
        assert_eq!(
            Pace::learn(&same),
            Some(Pace {
                base_seconds: 720,
                per_pizza_seconds: 90
            })
        );
    }

    #[test]
    fn a_kitchen_behind_promises_later_and_refuses_a_slot_its_line_cannot_make() {
        let now = at(19, 0);
        let mut kitchen = Kitchen {
            capacity: kitchen(8),
            pace: PACE,
            plan: Plan::default(),
            line: Vec::new(),
        };
        let empty = kitchen.promise(2, Duration::zero(), now).unwrap();
        assert_eq!(empty.fit.ready_at, at(19, 14));
        // Twelve pizzas due to start at 18:50 and not started: the line is busy till 19:24.
        kitchen.line.push(InKitchen {
            order_id: 1,
            pizzas: 12,
            started_at: None,
            may_start: at(18, 50),
            travel: Duration::zero(),
            promised: Some(at(19, 10)),
        });
        let behind = kitchen.promise(2, Duration::zero(), now).unwrap();
        assert_eq!(behind.fit.ready_at, at(19, 38));
        assert!(
            kitchen
                .scheduled(2, Duration::zero(), at(19, 30), now)
                .is_err()
        );
        assert_eq!(
            kitchen.scheduled(2, Duration::zero(), at(19, 15), now),
            Err(Refusal::Full {
                next: Some(at(19, 45))
            })
        );
        assert!(
            kitchen
                .scheduled(2, Duration::zero(), at(19, 45), now)
                .is_ok()
        );
    }

    #[test]
    fn a_new_order_does_not_make_one_already_promised_late() {
        // A slot order to start at 19:10 (8 minutes of turns, 10 to bake: ready 19:28).
        let kitchen = Kitchen {
            capacity: kitchen(8),
            pace: PACE,
            plan: Plan::default(),
            line: vec![InKitchen {
                order_id: 1,
                pizzas: 4,
                started_at: None,
                may_start: at(19, 10),
                travel: Duration::zero(),
                promised: Some(at(19, 28)),
            }],
        };
        // Four pizzas now would hold the line till 19:13 and the slot till 19:31: this one
        // goes after the slot instead.
        let fit = kitchen.asap(4, Duration::zero(), at(19, 5)).unwrap();
        assert_eq!(fit.starts_at, at(19, 11));
        assert_eq!(fit.ready_at, at(19, 36));
        // Two pizzas fit before it: the line is free again at 19:09.
        let fit = kitchen.asap(2, Duration::zero(), at(19, 5)).unwrap();
        assert_eq!(fit.ready_at, at(19, 19));
    }
}

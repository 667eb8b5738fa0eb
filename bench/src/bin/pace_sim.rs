//! A Friday evening in one pizzeria, replayed on a simulated clock through the real pacing code
//! (`pace::Plan`: the same promise and slot rules checkout uses), with a kitchen whose real pace
//! varies around what the manager set. Reports how close orders came to their promise, how
//! many were late and how many quarters were sold beyond the kitchen's capacity — with pacing
//! on, and with the fixed promises of before (« prête en 20 minutes », any slot accepted).
//!
//! `cargo run --release -p bench --bin pace-sim [-- --seed N --markdown FILE]`: no network,
//! no database, a few seconds.

#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "statistics over minutes and counts far inside the integer ranges"
)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use pace::{Capacity, InKitchen, Pace, Plan, QUARTER, quarter_of, rounded};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What the manager set: 10 pizzas a quarter, « dès que possible » up to an hour.
const CAPACITY: Capacity = Capacity::flat(10, Duration::minutes(60));

#[derive(Clone, Debug)]
struct Arrival {
    at: DateTime<Utc>,
    pizzas: u32,
    /// `None`: as soon as possible; else the time asked for (ready, or at the door).
    slot: Option<DateTime<Utc>>,
    /// The ride the zone says, and the one it will really take.
    travel: Option<(Duration, Duration)>,
    /// What this order really takes on the line (before the evening's crew), and to bake.
    line: f64,
    bake: f64,
}

fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

fn minutes(m: f64) -> Duration {
    Duration::milliseconds((m * 60_000.0).round() as i64)
}

/// Customers from 18:00 to 22:30, arriving faster towards a peak at 20:15 (about 90 orders),
/// one to four pizzas, a third for a slot 30 to 90 minutes ahead, half delivered.
fn evening(rng: &mut StdRng, start: DateTime<Utc>) -> Vec<Arrival> {
    let per_pizza = 15.0 / f64::from(CAPACITY.per_quarter);
    let mut out = Vec::new();
    let mut t = 0.0_f64;
    while t < 270.0 {
        // Orders per minute: 0.1 at 18:00, 0.6 at 20:15 (20 pizzas a quarter asked of a
        // kitchen that makes 10), 0.1 at 22:30.
        let rate = 0.1 + 0.5 * (1.0 - ((t - 135.0).abs() / 135.0));
        t += -rng.random::<f64>().max(1e-9).ln() / rate;
        if t >= 270.0 {
            break;
        }
        let at = start + minutes(t);
        let pizzas = match rng.random_range(0..10) {
            0..=3 => 1,
            4..=6 => 2,
            7..=8 => 3,
            _ => 4,
        };
        let delivery = rng.random_bool(0.5);
        let travel = delivery.then(|| {
            let said = Duration::minutes(20);
            (said, said + minutes(uniform(rng, -3.0, 3.0)))
        });
        let slot = rng
            .random_bool(0.33)
            .then(|| quarter_of(at + minutes(uniform(rng, 30.0, 90.0))) + QUARTER);
        let line = (0..pizzas)
            .map(|_| per_pizza * uniform(rng, 0.9, 1.1))
            .sum();
        let bake = uniform(rng, 9.0, 11.0);
        out.push(Arrival {
            at,
            pizzas,
            slot,
            travel,
            line,
            bake,
        });
    }
    out
}

/// One accepted order, as the kitchen makes it.
#[derive(Clone, Debug)]
struct Ticket {
    arrival: Arrival,
    /// When the kitchen may start it.
    may_start: DateTime<Utc>,
    first_promise: DateTime<Utc>,
    promised: DateTime<Utc>,
    moves: u32,
    started: Option<DateTime<Utc>>,
    ready: Option<DateTime<Utc>>,
}

impl Ticket {
    fn at_door(&self) -> DateTime<Utc> {
        let ride = self
            .arrival
            .travel
            .map_or(Duration::zero(), |(_, real)| real);
        self.ready.expect("made") + ride
    }
}

#[derive(Default)]
struct Outcome {
    /// Minutes from the promise the customer last heard to the pizzas in hand (or at the door).
    errors: Vec<f64>,
    peak_errors: Vec<f64>,
    /// The same against the promise made at checkout.
    first_errors: Vec<f64>,
    late: usize,
    moved: usize,
    oversold_quarters: usize,
    refused_slots: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Promises {
    /// `pace::Kitchen`, as checkout does, re-planned every minute as the kitchen keeps
    /// promises, its pace learnt from the evening's finished orders.
    Paced,
    /// Before pacing: « dès que possible » promised 20 minutes (plus the ride), every slot
    /// accepted and started 15 minutes (plus the ride) before it.
    Fixed,
}

/// The evening's kitchen: one line taking orders in the order they may start, at the evening
/// crew's speed (`crew`), each order then baking; `now` moves it on.
struct Line {
    crew: f64,
    free: DateTime<Utc>,
}

impl Line {
    fn advance(&mut self, tickets: &mut [Ticket], now: DateTime<Utc>) {
        loop {
            let next = tickets
                .iter_mut()
                .filter(|t| t.started.is_none() && t.may_start <= now)
                .min_by_key(|t| (t.may_start, t.arrival.at));
            let Some(t) = next else { return };
            let begin = self.free.max(t.may_start);
            if begin > now {
                return;
            }
            t.started = Some(begin);
            self.free = begin + minutes(t.arrival.line / self.crew);
            t.ready = Some(self.free + minutes(t.arrival.bake));
        }
    }
}

/// The kitchen as the system sees it at `now`: what has been started, not whether it is done
/// before it is.
fn kitchen(tickets: &[Ticket], plan: &Plan, pace: Pace, now: DateTime<Utc>) -> pace::Kitchen {
    let line = tickets
        .iter()
        .enumerate()
        .filter(|(_, t)| t.ready.is_none_or(|r| r > now))
        .map(|(i, t)| InKitchen {
            order_id: i as u64 + 1,
            pizzas: t.arrival.pizzas,
            started_at: t.started.filter(|s| *s <= now),
            may_start: t.may_start,
            travel: t.arrival.travel.map_or(Duration::zero(), |(said, _)| said),
            promised: Some(t.promised),
        })
        .collect();
    pace::Kitchen {
        capacity: CAPACITY,
        pace,
        plan: plan.clone(),
        line,
    }
}

/// The pace from the evening's last 40 finished orders, as `pace::store::pace_of` does.
fn learnt(tickets: &[Ticket], now: DateTime<Utc>) -> Pace {
    let mut done: Vec<&Ticket> = tickets
        .iter()
        .filter(|t| t.ready.is_some_and(|r| r <= now))
        .collect();
    done.sort_by_key(|t| t.ready);
    let samples: Vec<(u32, Duration)> = done
        .iter()
        .rev()
        .take(40)
        .rev()
        .map(|t| (t.arrival.pizzas, t.ready.unwrap() - t.started.unwrap()))
        .collect();
    Pace::learn(&samples).unwrap_or_default()
}

/// Replays the evening minute by minute: arrivals placed as they come, the kitchen making
/// what it may, and (paced) promises kept.
fn replay(
    arrivals: &[Arrival],
    promises: Promises,
    crew: f64,
    peak: (DateTime<Utc>, DateTime<Utc>),
) -> Outcome {
    let mut out = Outcome::default();
    let mut plan = Plan::default();
    let mut tickets: Vec<Ticket> = Vec::new();
    let Some(first) = arrivals.first() else {
        return out;
    };
    let mut line = Line {
        crew,
        free: first.at,
    };
    let mut pending = arrivals.iter().peekable();
    let mut now = first.at;
    let end = arrivals.last().unwrap().at + Duration::hours(4);
    let mut pace = Pace::default();
    while now <= end {
        while let Some(a) = pending.next_if(|a| a.at <= now) {
            line.advance(&mut tickets, a.at);
            let (said, _) = a.travel.unwrap_or((Duration::zero(), Duration::zero()));
            let (may_start, promised) = match promises {
                Promises::Fixed => match a.slot {
                    None => (a.at, a.at + Duration::minutes(20) + said),
                    Some(slot) => (slot - Duration::minutes(15) - said, slot),
                },
                Promises::Paced => {
                    let k = kitchen(&tickets, &plan, pace, a.at);
                    let (fit, promised) = match a.slot {
                        None => {
                            let fit = k.asap(a.pizzas, said, a.at).expect("room tonight");
                            let promised = rounded(fit.at_door);
                            (fit, promised)
                        }
                        Some(slot) => match k.scheduled(a.pizzas, said, slot, a.at) {
                            Ok(fit) => (fit, slot),
                            Err(refusal) => {
                                // The customer takes the next slot offered.
                                out.refused_slots += 1;
                                let next = refusal.next().expect("a later slot tonight");
                                let fit = k.scheduled(a.pizzas, said, next, a.at).expect("offered");
                                (fit, next)
                            }
                        },
                    };
                    plan.book(&fit.bookings);
                    let may_start = fit.starts_at;
                    (may_start, promised)
                }
            };
            if promises == Promises::Fixed {
                *plan.used.entry(quarter_of(may_start)).or_default() += a.pizzas;
            }
            tickets.push(Ticket {
                arrival: a.clone(),
                may_start,
                first_promise: promised,
                promised,
                moves: 0,
                started: None,
                ready: None,
            });
        }
        line.advance(&mut tickets, now);
        if promises == Promises::Paced {
            pace = learnt(&tickets, now);
            let k = kitchen(&tickets, &plan, pace, now);
            for e in k.expected(now) {
                if let Some(to) = e.moved_to() {
                    let t = &mut tickets[e.order_id as usize - 1];
                    t.promised = to;
                    t.moves += 1;
                }
            }
        }
        now += Duration::minutes(1);
    }
    line.advance(&mut tickets, end + Duration::hours(4));
    for t in &tickets {
        let at_door = t.at_door();
        let error = (at_door - t.promised).num_seconds() as f64 / 60.0;
        if error > 5.0 {
            out.late += 1;
        }
        if (peak.0..peak.1).contains(&t.arrival.at) {
            out.peak_errors.push(error);
        }
        out.errors.push(error);
        out.first_errors
            .push((at_door - t.first_promise).num_seconds() as f64 / 60.0);
        out.moved += usize::from(t.moves > 0);
    }
    out.oversold_quarters = oversold(&plan);
    out
}

fn oversold(plan: &Plan) -> usize {
    plan.used
        .values()
        .filter(|n| **n > CAPACITY.per_quarter)
        .count()
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().map(|e| e.abs()).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

fn within(values: &[f64]) -> f64 {
    let n = values.iter().filter(|e| e.abs() <= 5.0).count();
    100.0 * n as f64 / values.len().max(1) as f64
}

fn main() {
    let mut seed = 20_261_204_u64;
    let mut markdown: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).expect("--seed N"),
            "--markdown" => markdown = args.next(),
            other => panic!("unknown argument {other:?}: --seed N, --markdown FILE"),
        }
    }
    // Friday 4 December 2026, 18:00 in Paris.
    let start = Utc.with_ymd_and_hms(2026, 12, 4, 17, 0, 0).unwrap();
    let peak = (
        start + Duration::minutes(90),
        start + Duration::minutes(180),
    );
    let (mut with, mut without, mut slow) = (Vec::new(), Vec::new(), Vec::new());
    let evenings = 20;
    let mut orders = 0;
    for evening_no in 0..evenings {
        let mut rng = StdRng::seed_from_u64(seed + evening_no);
        let arrivals = evening(&mut rng, start);
        orders += arrivals.len();
        let crew = uniform(&mut rng, 0.95, 1.05);
        with.push(replay(&arrivals, Promises::Paced, crew, peak));
        without.push(replay(&arrivals, Promises::Fixed, crew, peak));
        // « On est deux ce soir » and nobody told the system: 20 % slower than set.
        slow.push(replay(&arrivals, Promises::Paced, crew * 0.8, peak));
    }
    let row = |name: &str, runs: &[Outcome]| {
        let all: Vec<f64> = runs.iter().flat_map(|o| o.errors.clone()).collect();
        let peak: Vec<f64> = runs.iter().flat_map(|o| o.peak_errors.clone()).collect();
        let first: Vec<f64> = runs.iter().flat_map(|o| o.first_errors.clone()).collect();
        let late: usize = runs.iter().map(|o| o.late).sum();
        let moved: usize = runs.iter().map(|o| o.moved).sum();
        let oversold: usize = runs.iter().map(|o| o.oversold_quarters).sum();
        let refused: usize = runs.iter().map(|o| o.refused_slots).sum();
        format!(
            "| {name} | {:.1} % | {:.1} % | {:.1} / {:.1} min | {} ({:.1} %) | {:.1} % | {} ({:.1} %) | {} | {} |",
            within(&peak),
            within(&all),
            percentile(&all, 0.5),
            percentile(&all, 0.9),
            late,
            100.0 * late as f64 / all.len().max(1) as f64,
            within(&first),
            moved,
            100.0 * moved as f64 / all.len().max(1) as f64,
            oversold,
            refused,
        )
    };
    let report = format!(
        "{evenings} simulated Friday evenings (seed {seed}), {orders} orders, 18:00–22:30 with a peak at 20:15; capacity {} pizzas a quarter, kitchen 5 % faster or slower each evening, each pizza ±10 %, baking 9–11 min, rides 20 ± 3 min.\n\n\
| Promises | Within ±5 min at peak (19:30–21:00) | Within ±5 min, whole evening | Error p50 / p90 | Late by more than 5 min | Within ±5 min of the checkout promise | Promises moved (customer told) | Quarters sold beyond capacity | Slots full, next one taken |\n|---|---|---|---|---|---|---|---|---|\n{}\n{}\n{}\n",
        CAPACITY.per_quarter,
        row("Paced (`pace::Kitchen`, re-planned)", &with),
        row("Fixed (20 min, any slot)", &without),
        row("Paced, crew 20 % slower than the capacity set", &slow),
    );
    print!("{report}");
    if let Some(path) = markdown {
        let doc = std::fs::read_to_string(&path).expect("the markdown file");
        let (begin, end) = ("<!-- pace-sim:begin -->", "<!-- pace-sim:end -->");
        let (Some(a), Some(b)) = (doc.find(begin), doc.find(end)) else {
            panic!("{path} has no {begin} … {end} block");
        };
        let doc = format!("{}{begin}\n{report}{}", &doc[..a], &doc[b..]);
        std::fs::write(&path, doc).expect("written");
        println!("written to {path}");
    }
}

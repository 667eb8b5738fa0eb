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
use pace::{Capacity, Pace, Plan, QUARTER, quarter_of, rounded_up};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What the manager set: 10 pizzas a quarter, « dès que possible » up to an hour.
const CAPACITY: Capacity = Capacity {
    per_quarter: 10,
    max_wait: Duration::minutes(60),
};

#[derive(Clone, Debug)]
struct Arrival {
    at: DateTime<Utc>,
    pizzas: u32,
    /// `None`: as soon as possible; else the time asked for (ready, or at the door).
    slot: Option<DateTime<Utc>>,
    /// The ride the zone says, and the one it will really take.
    travel: Option<(Duration, Duration)>,
}

/// One accepted order as the kitchen sees it.
#[derive(Clone, Debug)]
struct Ticket {
    placed: DateTime<Utc>,
    pizzas: u32,
    /// When the kitchen may start it.
    start: DateTime<Utc>,
    promised: DateTime<Utc>,
    ride: Duration,
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
        out.push(Arrival {
            at,
            pizzas,
            slot,
            travel,
        });
    }
    out
}

#[derive(Default)]
struct Outcome {
    errors: Vec<f64>,
    peak_errors: Vec<f64>,
    late: usize,
    oversold_quarters: usize,
    refused_slots: usize,
}

/// The kitchen of the evening: it starts orders in the order they may start, one line that
/// makes about `CAPACITY` pizzas a quarter (each evening's crew a little faster or slower,
/// each pizza varying), each order then baking and being packed in 9 to 11 minutes.
fn cook(
    rng: &mut StdRng,
    mut tickets: Vec<Ticket>,
    peak: (DateTime<Utc>, DateTime<Utc>),
) -> Outcome {
    tickets.sort_by_key(|t| (t.start, t.placed));
    let crew = uniform(rng, 0.95, 1.05);
    let per_pizza = 15.0 / f64::from(CAPACITY.per_quarter) / crew;
    let mut line_free = tickets.first().map_or_else(Utc::now, |t| t.start);
    let mut out = Outcome::default();
    for t in &tickets {
        let begin = line_free.max(t.start);
        let line: f64 = (0..t.pizzas)
            .map(|_| per_pizza * uniform(rng, 0.9, 1.1))
            .sum();
        line_free = begin + minutes(line);
        let ready = line_free + minutes(uniform(rng, 9.0, 11.0));
        let at_door = ready + t.ride;
        let error = (at_door - t.promised).num_seconds() as f64 / 60.0;
        if error > 5.0 {
            out.late += 1;
        }
        if (peak.0..peak.1).contains(&t.placed) {
            out.peak_errors.push(error);
        }
        out.errors.push(error);
    }
    out
}

/// With pacing: each order placed through `Plan` as checkout does.
fn paced(arrivals: &[Arrival], pace: &Pace) -> (Vec<Ticket>, usize, Plan) {
    let mut plan = Plan::default();
    let mut tickets = Vec::new();
    let mut refused = 0;
    for a in arrivals {
        let (said, real) = a.travel.unwrap_or((Duration::zero(), Duration::zero()));
        let fit = match a.slot {
            None => plan
                .asap(&CAPACITY, pace, a.pizzas, said, a.at)
                .expect("room tonight"),
            Some(slot) => match plan.scheduled(&CAPACITY, pace, a.pizzas, said, slot, a.at) {
                Ok(fit) => fit,
                Err(pace::Refusal::Full { next }) => {
                    // The customer takes the next slot offered.
                    refused += 1;
                    let next = next.expect("a later slot tonight");
                    plan.scheduled(&CAPACITY, pace, a.pizzas, said, next, a.at)
                        .expect("offered")
                }
            },
        };
        plan.book(&fit.bookings);
        let promised = match a.slot {
            None => rounded_up(fit.at_door),
            Some(_) => fit.at_door,
        };
        tickets.push(Ticket {
            placed: a.at,
            pizzas: a.pizzas,
            start: fit.starts_at,
            promised,
            ride: real,
        });
    }
    (tickets, refused, plan)
}

/// Before pacing: « dès que possible » promised 20 minutes (plus the ride), every slot
/// accepted and started 15 minutes (plus the ride) before it.
fn unpaced(arrivals: &[Arrival]) -> (Vec<Ticket>, Plan) {
    let mut plan = Plan::default();
    let tickets = arrivals
        .iter()
        .map(|a| {
            let (said, real) = a.travel.unwrap_or((Duration::zero(), Duration::zero()));
            let (start, promised) = match a.slot {
                None => (a.at, a.at + Duration::minutes(20) + said),
                Some(slot) => (slot - Duration::minutes(15) - said, slot),
            };
            *plan.used.entry(quarter_of(start)).or_default() += a.pizzas;
            Ticket {
                placed: a.at,
                pizzas: a.pizzas,
                start,
                promised,
                ride: real,
            }
        })
        .collect();
    (tickets, plan)
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
    let pace = Pace::default();
    let (mut with, mut without) = (Vec::new(), Vec::new());
    let evenings = 20;
    let mut orders = 0;
    for evening_no in 0..evenings {
        let mut rng = StdRng::seed_from_u64(seed + evening_no);
        let arrivals = evening(&mut rng, start);
        orders += arrivals.len();
        let (tickets, refused, plan) = paced(&arrivals, &pace);
        let mut kitchen = StdRng::seed_from_u64(seed + 1000 + evening_no);
        let mut outcome = cook(&mut kitchen, tickets, peak);
        outcome.refused_slots = refused;
        outcome.oversold_quarters = oversold(&plan);
        with.push(outcome);
        let (tickets, plan) = unpaced(&arrivals);
        let mut kitchen = StdRng::seed_from_u64(seed + 1000 + evening_no);
        let mut outcome = cook(&mut kitchen, tickets, peak);
        outcome.oversold_quarters = oversold(&plan);
        without.push(outcome);
    }
    let row = |name: &str, runs: &[Outcome]| {
        let all: Vec<f64> = runs.iter().flat_map(|o| o.errors.clone()).collect();
        let peak: Vec<f64> = runs.iter().flat_map(|o| o.peak_errors.clone()).collect();
        let late: usize = runs.iter().map(|o| o.late).sum();
        let oversold: usize = runs.iter().map(|o| o.oversold_quarters).sum();
        let moved: usize = runs.iter().map(|o| o.refused_slots).sum();
        format!(
            "| {name} | {:.1} % | {:.1} % | {:.1} / {:.1} min | {} ({:.1} %) | {} | {} |",
            within(&peak),
            within(&all),
            percentile(&all, 0.5),
            percentile(&all, 0.9),
            late,
            100.0 * late as f64 / all.len().max(1) as f64,
            oversold,
            moved,
        )
    };
    let report = format!(
        "{evenings} simulated Friday evenings (seed {seed}), {orders} orders, 18:00–22:30 with a peak at 20:15; capacity {} pizzas a quarter, kitchen 5 % faster or slower each evening, each pizza ±10 %, baking 9–11 min, rides 20 ± 3 min.\n\n\
| Promises | Within ±5 min at peak (19:30–21:00) | Within ±5 min, whole evening | Error p50 / p90 | Late by more than 5 min | Quarters sold beyond capacity | Slots full, next one taken |\n|---|---|---|---|---|---|---|\n{}\n{}\n",
        CAPACITY.per_quarter,
        row("Paced (`pace::Plan`)", &with),
        row("Fixed (20 min, any slot)", &without),
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

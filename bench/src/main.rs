//! `ocpizza-bench`: places orders over HTTP against a running OC Pizza, at a fixed rate or as
//! fast as a number of concurrent customers can, across every pizzeria and both payment modes,
//! and measures what the people using it feel:
//! - the HTTP latency of placing an order (and of the online payment calls), p50/p95/p99;
//! - the orders per second the system accepted;
//! - the time from an order being placed to its ticket printed and its confirmation e-mail
//!   accepted by the SMTP server (the database records both moments), p50/p99;
//! - the peak memory (VmHWM) of each process it is given;
//! - the CPU time each watched process used over the measured window (from the first order to
//!   the last one printed and mailed), per accepted order, from /proc/<pid>/stat.
//!
//! Online payments are confirmed against localstripe (as the customer's browser would through
//! Stripe.js), so run it against a local or staging system, never production.
//! `bench/run.sh` starts a dedicated stack and writes the results into docs/performance.md.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};

#[derive(Parser, Debug, Clone)]
#[command(name = "ocpizza-bench", about = "Load generator for OC Pizza")]
struct Args {
    /// The site's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// The site's database, read after the run for end-to-end times.
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database_url: String,
    /// localstripe, where online payments are confirmed.
    #[arg(long, default_value = "http://127.0.0.1:8420")]
    stripe: String,
    /// Orders per second (open loop); 0 means as fast as `--concurrency` customers can.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Customers placing orders at once (as fast as possible), or the cap on orders in flight
    /// (fixed rate).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Share of orders paid online (the rest at the counter).
    #[arg(long, default_value_t = 0.3)]
    online_share: f64,
    /// Seconds to wait after the load for every accepted order to be printed and mailed.
    #[arg(long, default_value_t = 180)]
    settle: u64,
    /// Demo customers (password `--password`), one session each.
    #[arg(long, default_values_t = ["client1@example.fr".to_owned(), "client2@example.fr".to_owned(), "client3@example.fr".to_owned()])]
    customer: Vec<String>,
    #[arg(long, default_value = "ocpizza-demo")]
    password: String,
    /// A process to report peak memory for, as `name=pid` (repeat).
    #[arg(long)]
    pid: Vec<String>,
    /// A process to report CPU time per order for, as `name=pid` (repeat): ours (web, relay,
    /// stock, payments, kitchen, notifications), the backbone (mariadb, rabbitmq) or the local
    /// stand-ins (any other name).
    #[arg(long)]
    cpu: Vec<String>,
    /// Markdown file whose results block (between `<!-- bench:begin -->` and
    /// `<!-- bench:end -->`) is replaced with this run's results.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Words on how the system ran (build profile, worker counts…), for the report.
    #[arg(long, default_value = "")]
    setup: String,
    /// Which results block of `--report` to replace: `<!-- bench:NAME:begin -->` (empty: the
    /// main one), so each layout keeps its own.
    #[arg(long, default_value = "")]
    block: String,
}

#[derive(Deserialize)]
struct Shop {
    code: String,
    offers_pickup: bool,
}

#[derive(Deserialize)]
struct MenuItem {
    pizza_id: u64,
    available: bool,
    #[serde(default)]
    sizes: Vec<MenuSize>,
    #[serde(default)]
    groups: Vec<MenuGroup>,
}

#[derive(Deserialize)]
struct MenuSize {
    code: String,
    available: bool,
}

#[derive(Deserialize)]
struct MenuGroup {
    min: u8,
    options: Vec<MenuOption>,
}

#[derive(Deserialize)]
struct MenuOption {
    code: String,
    available: bool,
}

/// What an order may take of one product: its sizes in stock, and extras (options of groups
/// that may be left empty) in stock.
#[derive(Clone)]
struct Pick {
    pizza_id: u64,
    sizes: Vec<String>,
    extras: Vec<String>,
}

/// One HTTP call's outcome.
#[derive(Clone, Copy)]
struct Call {
    millis: f64,
    ok: bool,
}

#[derive(Default)]
struct Tally {
    place: Vec<Call>,
    payment: Vec<Call>,
    accepted: Vec<(u64, bool)>,
    errors: Vec<String>,
}

struct Plan {
    args: Args,
    sessions: Vec<reqwest::Client>,
    shops: Vec<(String, Vec<Pick>)>,
    stripe: reqwest::Client,
    next: AtomicU64,
    tally: Mutex<Tally>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.online_share) {
        bail!("--online-share is a share between 0 and 1");
    }
    let plan = Arc::new(prepare(args.clone()).await?);
    println!(
        "load: {} s, {}, {} pizzerias, {:.0} % online",
        args.duration,
        if args.rate > 0.0 {
            format!("{} orders/s", args.rate)
        } else {
            format!("{} concurrent customers", args.concurrency)
        },
        plan.shops.len(),
        args.online_share * 100.0
    );
    let cpu_before = cpu_times(&args.cpu);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    if args.rate > 0.0 {
        open_loop(&plan, deadline).await;
    } else {
        closed_loop(&plan, deadline).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let tally = std::mem::take(&mut *plan.tally.lock().await);
    println!(
        "placed {} orders in {elapsed:.1} s, {} errors; waiting for tickets and e-mails",
        tally.accepted.len(),
        tally.errors.len()
    );
    for e in tally.errors.iter().take(5) {
        println!("  error: {e}");
    }
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(2)
        .connect(&args.database_url)
        .await
        .context("the site's database")?;
    let ids: Vec<u64> = tally.accepted.iter().map(|(id, _)| *id).collect();
    let times = settle(&pool, &ids, Duration::from_secs(args.settle)).await?;
    let cpu_after = cpu_times(&args.cpu);
    let mut report = Report::new(&args, &tally, elapsed, &times);
    report.cpu(&cpu_before, &cpu_after, ids.len());
    let text = report.markdown();
    println!("\n{text}");
    if let Some(path) = &args.report {
        write_report(path, &args.block, &text)?;
        println!("written to {}", path.display());
    }
    if times
        .iter()
        .any(|t| t.printed.is_none() || t.mailed.is_none())
    {
        bail!(
            "some accepted orders were not printed or mailed within {} s",
            args.settle
        );
    }
    Ok(())
}

async fn prepare(args: Args) -> Result<Plan> {
    let mut sessions = Vec::new();
    for email in &args.customer {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .pool_max_idle_per_host(args.concurrency.max(4))
            .build()?;
        let r = client
            .post(format!("{}/api/session", args.url))
            .json(&json!({"email": email, "password": args.password}))
            .send()
            .await
            .with_context(|| format!("{} does not answer", args.url))?;
        if !r.status().is_success() {
            bail!("{email} cannot log in: {}", r.status());
        }
        sessions.push(client);
    }
    let probe = &sessions[0];
    let shops: Vec<Shop> = probe
        .get(format!("{}/api/pizzerias", args.url))
        .send()
        .await?
        .json()
        .await?;
    let mut menus = Vec::new();
    for shop in shops.into_iter().filter(|s| s.offers_pickup) {
        let menu: Vec<MenuItem> = probe
            .get(format!("{}/api/pizzerias/{}/menu", args.url, shop.code))
            .send()
            .await?
            .json()
            .await?;
        let pizzas: Vec<Pick> = menu
            .iter()
            .filter(|m| m.available)
            .map(|m| Pick {
                pizza_id: m.pizza_id,
                sizes: m
                    .sizes
                    .iter()
                    .filter(|s| s.available)
                    .map(|s| s.code.clone())
                    .collect(),
                extras: m
                    .groups
                    .iter()
                    .filter(|g| g.min == 0)
                    .flat_map(|g| g.options.iter().filter(|o| o.available))
                    .map(|o| o.code.clone())
                    .collect(),
            })
            .collect();
        if !pizzas.is_empty() {
            menus.push((shop.code, pizzas));
        }
    }
    if menus.is_empty() {
        bail!("no pizzeria has anything available to order");
    }
    Ok(Plan {
        args,
        sessions,
        shops: menus,
        stripe: reqwest::Client::new(),
        next: AtomicU64::new(0),
        tally: Mutex::new(Tally::default()),
    })
}

/// A new order every 1/rate seconds whatever the answers (how customers arrive); at most
/// `concurrency` in flight, beyond which the generator waits (and says so in the results).
async fn open_loop(plan: &Arc<Plan>, deadline: Instant) {
    let slots = Arc::new(Semaphore::new(plan.args.concurrency.max(1)));
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / plan.args.rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    while Instant::now() < deadline {
        ticks.tick().await;
        let permit = slots.clone().acquire_owned().await.expect("never closed");
        let plan = plan.clone();
        tasks.spawn(async move {
            plan.one_order().await;
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// `concurrency` customers each placing an order as soon as the previous one was answered.
async fn closed_loop(plan: &Arc<Plan>, deadline: Instant) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..plan.args.concurrency.max(1) {
        let plan = plan.clone();
        tasks.spawn(async move {
            while Instant::now() < deadline {
                plan.one_order().await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

impl Plan {
    async fn one_order(&self) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let i = usize::try_from(n).unwrap_or_default();
        let session = &self.sessions[i % self.sessions.len()];
        let (shop, pizzas) = &self.shops[i % self.shops.len()];
        // Spread evenly and reproducibly: one or two kinds of product, one or two of each, in
        // every size, every other first line with an extra.
        let first = &pizzas[(i / self.shops.len()) % pizzas.len()];
        let mut line = json!({"pizza_id": first.pizza_id, "quantity": 1 + n % 2});
        if !first.sizes.is_empty() {
            line["size"] = json!(first.sizes[i % first.sizes.len()]);
        }
        if n.is_multiple_of(2) && !first.extras.is_empty() {
            line["options"] = json!([first.extras[i % first.extras.len()]]);
        }
        let mut lines = vec![line];
        let second = &pizzas[(i * 7 + 3) % pizzas.len()];
        if n.is_multiple_of(3) && second.pizza_id != first.pizza_id {
            lines.push(json!({"pizza_id": second.pizza_id, "quantity": 1}));
        }
        let online = ((n % 100) as f64) < self.args.online_share * 100.0;
        let body = json!({
            "pizzeria": shop,
            "lines": lines,
            "fulfilment": "pickup",
            "payment": if online { "online" } else { "on_site" },
            "idempotency_key": uuid::Uuid::new_v4().simple().to_string(),
        });
        let (call, placed) = self
            .timed(
                session
                    .post(format!("{}/api/orders", self.args.url))
                    .json(&body),
            )
            .await;
        let mut tally = self.tally.lock().await;
        tally.place.push(call);
        let id = match placed {
            Ok(v) if call.ok => v["order"]["id"].as_u64(),
            Ok(v) => {
                tally.errors.push(format!("place: {v}"));
                None
            }
            Err(e) => {
                tally.errors.push(format!("place: {e}"));
                None
            }
        };
        drop(tally);
        let Some(id) = id else { return };
        if online {
            match self.pay(session, id).await {
                Ok(()) => self.tally.lock().await.accepted.push((id, true)),
                Err(e) => self
                    .tally
                    .lock()
                    .await
                    .errors
                    .push(format!("pay {id}: {e}")),
            }
        } else {
            self.tally.lock().await.accepted.push((id, false));
        }
    }

    /// What the customer's browser does: open the payment, confirm the card with Stripe, come
    /// back to the site, which authorises and places the order.
    async fn pay(&self, session: &reqwest::Client, id: u64) -> Result<()> {
        let (call, started) = self
            .timed(session.post(format!("{}/api/orders/{id}/payment", self.args.url)))
            .await;
        self.tally.lock().await.payment.push(call);
        let started = started?;
        if !call.ok {
            bail!("payment: {started}");
        }
        let secret = started["client_secret"]
            .as_str()
            .context("no client secret")?
            .to_owned();
        let key = started["publishable_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let intent = secret.split("_secret_").next().unwrap_or_default();
        let confirmed = self
            .stripe
            .post(format!(
                "{}/v1/payment_intents/{intent}/confirm",
                self.args.stripe
            ))
            .form(&[
                ("key", key.as_str()),
                ("client_secret", secret.as_str()),
                ("payment_method", "pm_card_visa"),
            ])
            .send()
            .await?;
        if !confirmed.status().is_success() {
            bail!("localstripe refused the card: {}", confirmed.status());
        }
        let (call, finalised) = self
            .timed(session.post(format!(
                "{}/api/orders/{id}/payment/finalise",
                self.args.url
            )))
            .await;
        self.tally.lock().await.payment.push(call);
        let finalised = finalised?;
        if !call.ok {
            bail!("finalise: {finalised}");
        }
        Ok(())
    }

    async fn timed(&self, request: reqwest::RequestBuilder) -> (Call, Result<Value>) {
        let t = Instant::now();
        let answer = request.send().await;
        let (ok, body) = match answer {
            Ok(r) => {
                let ok = r.status().is_success();
                (ok, r.json::<Value>().await.map_err(anyhow::Error::from))
            }
            Err(e) => (false, Err(e.into())),
        };
        (
            Call {
                millis: t.elapsed().as_secs_f64() * 1000.0,
                ok,
            },
            body,
        )
    }
}

/// When an accepted order was placed, printed and mailed (database clock).
struct Times {
    placed: Option<chrono::NaiveDateTime>,
    printed: Option<chrono::NaiveDateTime>,
    mailed: Option<chrono::NaiveDateTime>,
}

async fn settle(pool: &sqlx::MySqlPool, ids: &[u64], patience: Duration) -> Result<Vec<Times>> {
    let until = Instant::now() + patience;
    loop {
        let times = read_times(pool, ids).await?;
        let done = times
            .iter()
            .filter(|t| t.printed.is_some() && t.mailed.is_some())
            .count();
        if done == ids.len() || Instant::now() >= until {
            return Ok(times);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn read_times(pool: &sqlx::MySqlPool, ids: &[u64]) -> Result<Vec<Times>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let list = chunk
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // Ids are numbers we parsed ourselves: safe to inline.
        let sql = format!(
            "SELECT o.id,
                (SELECT MIN(h.created_at) FROM order_status_history h
                  WHERE h.order_id = o.id AND h.to_status = 'placed'),
                (SELECT MIN(t.printed_at) FROM tickets t
                  WHERE t.order_id = o.id AND t.kind = 'original'),
                (SELECT MIN(e.sent_at) FROM email_log e
                  WHERE e.order_id = o.id AND e.template = 'confirmed' AND e.status = 'sent')
             FROM orders o WHERE o.id IN ({list})"
        );
        type Row = (
            u64,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
        );
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await?;
        out.extend(rows.into_iter().map(|(_, placed, printed, mailed)| Times {
            placed,
            printed,
            mailed,
        }));
    }
    Ok(out)
}

/// The value below which `q` of the sorted samples fall (nearest rank).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "q is in 0..=1, so the rank is a small non-negative index"
    )]
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

struct Report {
    rows: Vec<(String, String)>,
    setup: String,
}

impl Report {
    fn new(args: &Args, tally: &Tally, elapsed: f64, times: &[Times]) -> Report {
        let ok_place = sorted(
            tally
                .place
                .iter()
                .filter(|c| c.ok)
                .map(|c| c.millis)
                .collect(),
        );
        let payment = sorted(tally.payment.iter().map(|c| c.millis).collect());
        let span = |end: fn(&Times) -> Option<chrono::NaiveDateTime>| {
            sorted(
                times
                    .iter()
                    .filter_map(|t| Some((end(t)? - t.placed?).as_seconds_f64() * 1000.0))
                    .collect(),
            )
        };
        let printed = span(|t| t.printed);
        let mailed = span(|t| t.mailed);
        let ms = |v: f64| format!("{v:.0} ms");
        let trio = |v: &[f64]| {
            format!(
                "{} / {} / {}",
                ms(percentile(v, 0.5)),
                ms(percentile(v, 0.95)),
                ms(percentile(v, 0.99))
            )
        };
        let online = tally.accepted.iter().filter(|(_, o)| *o).count();
        let mut rows = vec![
            (
                "Load".to_owned(),
                if args.rate > 0.0 {
                    format!("{} orders/s offered for {} s", args.rate, args.duration)
                } else {
                    format!(
                        "{} customers as fast as possible for {} s",
                        args.concurrency, args.duration
                    )
                },
            ),
            (
                "Orders accepted".to_owned(),
                format!(
                    "{} ({} online, {} at the counter), {} errors",
                    tally.accepted.len(),
                    online,
                    tally.accepted.len() - online,
                    tally.errors.len()
                ),
            ),
            (
                "Orders/s sustained".to_owned(),
                format!("{:.1}", tally.accepted.len() as f64 / elapsed),
            ),
            (
                "Place order, HTTP p50 / p95 / p99".to_owned(),
                trio(&ok_place),
            ),
            (
                "Online payment calls, HTTP p50 / p95 / p99".to_owned(),
                trio(&payment),
            ),
            (
                "Placed → ticket printed, p50 / p99".to_owned(),
                format!(
                    "{} / {} ({} of {} printed)",
                    ms(percentile(&printed, 0.5)),
                    ms(percentile(&printed, 0.99)),
                    printed.len(),
                    times.len()
                ),
            ),
            (
                "Placed → confirmation e-mail sent, p50 / p99".to_owned(),
                format!(
                    "{} / {} ({} of {} sent)",
                    ms(percentile(&mailed, 0.5)),
                    ms(percentile(&mailed, 0.99)),
                    mailed.len(),
                    times.len()
                ),
            ),
        ];
        for entry in &args.pid {
            let (name, pid) = entry.split_once('=').unwrap_or((entry, entry));
            rows.push((
                format!("Peak memory (VmHWM), {name}"),
                peak_memory(pid).unwrap_or_else(|| "unknown (process gone?)".to_owned()),
            ));
        }
        Report {
            rows,
            setup: args.setup.clone(),
        }
    }

    /// Rows of CPU milliseconds per order: each process, then by group.
    fn cpu(&mut self, before: &[(String, f64)], after: &[(String, f64)], orders: usize) {
        if orders == 0 || after.is_empty() {
            return;
        }
        let per_order = |secs: f64| secs * 1000.0 / orders as f64;
        let mut groups = [
            ("our programs", 0.0),
            ("MariaDB + RabbitMQ", 0.0),
            ("stand-ins", 0.0),
        ];
        for (name, end) in after {
            let Some((_, start)) = before.iter().find(|(n, _)| n == name) else {
                continue;
            };
            let used = (end - start).max(0.0);
            self.rows.push((
                format!("CPU per order, {name}"),
                format!("{:.2} ms ({used:.1} s)", per_order(used)),
            ));
            // Worker processes are named with their number: `stock-0`.
            let program = name.rsplit_once('-').map_or(name.as_str(), |(p, n)| {
                if n.chars().all(|c| c.is_ascii_digit()) {
                    p
                } else {
                    name.as_str()
                }
            });
            let group = match program {
                "web" | "relay" | "stock" | "payments" | "kitchen" | "notifications" => 0,
                "mariadb" | "rabbitmq" => 1,
                _ => 2,
            };
            groups[group].1 += used;
        }
        for (group, used) in groups {
            self.rows.push((
                format!("CPU per order, {group}"),
                format!("{:.2} ms", per_order(used)),
            ));
        }
    }

    fn markdown(&self) -> String {
        let mut s = format!(
            "Run of {} on {}.\n{}\n\n| Measure | Result |\n|---|---|\n",
            chrono::Local::now().format("%Y-%m-%d %H:%M %Z"),
            machine(),
            self.setup
        );
        for (k, v) in &self.rows {
            s.push_str(&format!("| {k} | {v} |\n"));
        }
        s
    }
}

/// A `Name:   123 kB` field of a /proc file.
fn kb_field(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn peak_memory(pid: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = kb_field(&status, "VmHWM:")?;
    Some(format!("{:.1} MiB", kb / 1024.0))
}

/// CPU seconds (user + system) each `name=pid` process has used so far; a process gone is left
/// out.
fn cpu_times(entries: &[String]) -> Vec<(String, f64)> {
    let ticks_per_second = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    entries
        .iter()
        .filter_map(|entry| {
            let (name, pid) = entry.split_once('=')?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // After the command name in parentheses: state is field 3, utime 14, stime 15.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((name.to_owned(), (utime + stime) / ticks_per_second))
        })
        .collect()
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let ram = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| kb_field(&m, "MemTotal:"))
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown RAM".to_owned());
    format!("{cpus} cores ({model}), {ram} RAM")
}

fn write_report(path: &PathBuf, block: &str, results: &str) -> Result<()> {
    let name = if block.is_empty() {
        String::new()
    } else {
        format!("{block}:")
    };
    let (begin, end) = (
        format!("<!-- bench:{name}begin -->"),
        format!("<!-- bench:{name}end -->"),
    );
    let doc = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let (Some(b), Some(e)) = (doc.find(&begin), doc.find(&end)) else {
        bail!("{} has no {begin} … {end} block", path.display());
    };
    let updated = format!(
        "{}{begin}\n{results}{end}{}",
        &doc[..b],
        &doc[e + end.len()..]
    );
    std::fs::write(path, updated)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
        assert!(percentile(&[], 0.5).is_nan());
    }
}

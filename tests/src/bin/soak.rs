//! The soak (`bench/soak.sh`): the whole stack under its own Supervisor takes a steady stream of
//! orders over HTTP for `--minutes` (10 by default; the manual asks for 120 before a release)
//! while, in turn every few seconds, a worker is killed with SIGKILL, RabbitMQ is restarted and
//! the SMTP server is stopped and started again. At the end every order is reconciled
//! (confirmed, one reservation, one ticket on paper — any copy marked « DOUBLON POSSIBLE » —
//! one confirmation e-mail, no dead letter) and the memory of the processes never killed (web,
//! relay) is compared with theirs at the start. Prints a Markdown report; exits non-zero (a
//! panic naming what failed) if anything is lost or memory grew beyond the bound.

use std::time::{Duration, Instant};

use ocpizza_tests::flow::{
    OrderStream, confirmations_once_in, placed_without_reply, reconcile, refused_left_nothing,
    stocked,
};
use ocpizza_tests::peers::{Emupos, Maildev, PrivateRabbit};
use ocpizza_tests::stack::Supervised;

/// How much the web server's or the relay's resident memory may grow over the run.
const MEMORY_BOUND_KIB: u64 = 64 * 1024;
/// One fault every this long.
const PACE: Duration = Duration::from_secs(8);

const KILLED: [&str; 4] = [
    "ocpizza:ocpizza-stock-0",
    "ocpizza:ocpizza-kitchen-0",
    "ocpizza:ocpizza-notifications-0",
    "ocpizza:ocpizza-payments-0",
];
const WATCHED: [&str; 2] = ["ocpizza:ocpizza-web", "ocpizza:ocpizza-relay-0"];

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let mut minutes = 10_u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--minutes" => {
                minutes = args
                    .next()
                    .and_then(|m| m.parse().ok())
                    .expect("--minutes N")
            }
            other => panic!("unknown argument {other:?}: --minutes N"),
        }
    }
    let printers = Emupos::start(2).await;
    let mut maildev = Maildev::start().await;
    let (env, shop) = stocked((printers.ports[0], printers.ports[1])).await;
    let mut rabbit = PrivateRabbit::start_as_on_a_server().await;
    let url = rabbit.url();
    let stack = Supervised::start(
        &env,
        &[("RABBITMQ_URL", &url), ("SMTP_URL", &maildev.smtp_url())],
    )
    .await;
    let mut memory_start = Vec::new();
    for program in WATCHED {
        let pid = stack.pid(program).await;
        memory_start.push(rss_kib(pid));
    }

    let started = Instant::now();
    // A kitchen of 200 pizzas a quarter, sold an order a second: the six hours it takes orders
    // for hold 4 800 pizzas, so a stream of up to 80 minutes is never refused for a full kitchen.
    let mut conn = env.pool.acquire().await.expect("a connection");
    pace::store::set_capacity(&mut conn, shop.pizzeria_id, 200, &[], 240, shop.manager_id)
        .await
        .expect("the kitchen's capacity");
    drop(conn);
    let stream = OrderStream::start(&stack.url(""), &shop, Duration::from_secs(1)).await;
    let (mut kills, mut broker_restarts, mut smtp_outages) = (0, 0, 0);
    // The sink forgets its mailbox when it stops: what it received is kept here first.
    let mut emails = Vec::new();
    let mut round = 0_usize;
    while started.elapsed() < Duration::from_secs(minutes * 60) {
        tokio::time::sleep(PACE).await;
        match round % 3 {
            0 => {
                stack.kill_9(KILLED[(round / 3) % KILLED.len()]).await;
                kills += 1;
            }
            1 => {
                rabbit.restart_cleanly().await;
                broker_restarts += 1;
            }
            _ => {
                emails.extend(maildev.emails().await);
                maildev.stop();
                tokio::time::sleep(Duration::from_secs(5)).await;
                maildev.resume().await;
                smtp_outages += 1;
            }
        }
        round += 1;
    }
    let told = stream.stop().await;
    let ran = started.elapsed();
    refused_left_nothing(&env, &told).await;
    let mut all = told.accepted.clone();
    all.extend(placed_without_reply(&env, &told).await);
    reconcile(&env, &shop, &all, &url).await;
    emails.extend(maildev.emails().await);
    confirmations_once_in(&emails, &all);
    let receipts = printers.receipts(0).await;
    let (printed, marked) = ocpizza_tests::flow::copies_marked(&receipts);
    assert_eq!(printed, all.len(), "a ticket for every order");
    let mut rows = Vec::new();
    for (program, start) in WATCHED.iter().zip(&memory_start) {
        let end = rss_kib(stack.pid(program).await);
        assert!(
            end <= start + MEMORY_BOUND_KIB,
            "{program}: {start} KiB at the start, {end} KiB at the end"
        );
        rows.push(format!(
            "| `{program}` | {:.1} MiB | {:.1} MiB |",
            *start as f64 / 1024.0,
            end as f64 / 1024.0
        ));
    }
    let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, reply) in &told.refused {
        *reasons.entry(reply.as_str()).or_default() += 1;
    }
    let reasons: Vec<String> = reasons
        .iter()
        .map(|(reply, n)| format!("{n} × {reply}"))
        .collect();
    println!(
        "Soak of {:.1} minutes: {} orders accepted, {} refused (none left anything{}), {} with a lost reply (placed); {kills} workers killed, {broker_restarts} RabbitMQ restarts, {smtp_outages} SMTP outages of 5 s. Every order reconciled: confirmed once, one confirmation e-mail, a ticket each ({marked} second copies, all marked « DOUBLON POSSIBLE »).\n\n| Process (never killed) | Memory at the start | At the end |\n|---|---|---|\n{}",
        ran.as_secs_f64() / 60.0,
        told.accepted.len(),
        told.refused.len(),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", reasons.join("; "))
        },
        all.len() - told.accepted.len(),
        rows.join("\n")
    );
}

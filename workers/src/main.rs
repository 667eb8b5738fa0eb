//! `ocpizza-worker`: the background programs Supervisor runs, one subcommand each.
//!
//! Every subcommand is a thin loop over the `messages` runtime and a domain crate's rules; they
//! all stop gracefully on SIGTERM.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use messages::broker::Shutdown;
use settings::{ExposeSecret, Settings};

#[derive(Parser)]
#[command(
    name = "ocpizza-worker",
    about = "OC Pizza background workers",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Publish outbox rows to RabbitMQ (several may run at once).
    Relay,
    /// Reserve ingredients for placed orders, give them back on cancellation.
    Stock,
    /// E-mail customers at each step of their order and managers on alerts.
    Notifications,
    /// Print kitchen tickets (and reprints) on the pizzerias' printers.
    Kitchen,
    /// Capture, void and refund online payments with Stripe.
    Payments,
}

impl Command {
    /// The name this process goes by in logs and Sentry.
    fn program(&self) -> &'static str {
        match self {
            Command::Relay => "worker-relay",
            Command::Stock => "worker-stock",
            Command::Notifications => "worker-notifications",
            Command::Kitchen => "worker-kitchen",
            Command::Payments => "worker-payments",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ocpizza-worker: configuration error: {e}");
            return ExitCode::from(78);
        }
    };
    let _telemetry = settings::process::init(
        &settings,
        cli.command.program(),
        concat!("ocpizza@", env!("CARGO_PKG_VERSION")),
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ocpizza-worker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ocpizza-worker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database).await.context("database")?;
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        settings::process::stop_signal().await;
        trigger.trigger();
    });
    match command {
        Command::Relay => {
            let config = messages::relay::RelayConfig::new(
                settings.rabbitmq_url.expose_secret(),
                workers::consumers(),
            );
            let retention = tokio::spawn(workers::retention::run_loop(
                pool.clone(),
                std::time::Duration::from_secs(3600),
                shutdown.clone(),
            ));
            messages::relay::Relay::new(pool, config)
                .run(shutdown)
                .await;
            let _ = retention.await;
        }
        Command::Notifications => {
            let mailer = mail::Mailer::new(settings.smtp.url.expose_secret(), &settings.smtp.from)
                .context("SMTP settings")?;
            let reports = tokio::spawn(workers::closing::closing_loop(
                pool.clone(),
                mailer.clone(),
                settings.public_url.to_string(),
                std::time::Duration::from_secs(60),
                shutdown.clone(),
            ));
            let worker = workers::notifications::NotificationsWorker {
                mailer,
                links: mail::compose::Links::new(
                    settings.public_url.as_str(),
                    account::signing::Signer::new(settings.secret_key.expose_secret()),
                ),
            };
            consume(
                &settings,
                pool,
                workers::notifications::CONSUMER,
                worker,
                shutdown,
            )
            .await;
            let _ = reports.await;
        }
        Command::Kitchen => {
            // Its own two connections for the tickets' « sending » marks: a handler holds its
            // transaction's connection while it asks for one, so from the same pool eight
            // handlers at once could take every connection and wait on one another.
            let sends = db::connect_url(settings.database.url().expose_secret(), 2)
                .await
                .context("database (ticket sends)")?;
            let worker = workers::kitchen::KitchenWorker {
                policy: ticket::Policy::default(),
                pool: sends,
            };
            let retries = tokio::spawn(workers::kitchen::retry_loop(
                pool.clone(),
                worker.policy.clone(),
                std::time::Duration::from_secs(15),
                shutdown.clone(),
            ));
            consume(
                &settings,
                pool,
                workers::kitchen::CONSUMER,
                worker,
                shutdown,
            )
            .await;
            let _ = retries.await;
        }
        Command::Payments => {
            let gateway = payment::Gateway::new(
                settings.stripe.secret_key.expose_secret(),
                settings.stripe.api_base.as_str(),
            )
            .map_err(|e| anyhow::anyhow!("STRIPE settings: {e}"))?;
            let expiry = tokio::spawn(workers::payments::expiry_loop(
                pool.clone(),
                gateway.clone(),
                std::time::Duration::from_secs(60),
                shutdown.clone(),
            ));
            let worker = workers::payments::PaymentsWorker { gateway };
            consume(
                &settings,
                pool,
                workers::payments::CONSUMER,
                worker,
                shutdown,
            )
            .await;
            let _ = expiry.await;
        }
        Command::Stock => {
            consume(
                &settings,
                pool,
                workers::stock::CONSUMER,
                workers::stock::StockWorker,
                shutdown,
            )
            .await
        }
    }
    Ok(())
}

/// Runs one consumer until SIGTERM.
async fn consume<H: messages::consumer::Handler>(
    settings: &Settings,
    pool: sqlx::MySqlPool,
    name: &str,
    handler: H,
    shutdown: Shutdown,
) {
    let spec = workers::ROUTES
        .iter()
        .find(|w| w.name == name)
        .expect("every worker has a route")
        .spec();
    let config = messages::consumer::ConsumerConfig::new(settings.rabbitmq_url.expose_secret());
    messages::consumer::Consumer::new(spec, config, pool, handler)
        .run(shutdown)
        .await;
}

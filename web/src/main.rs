//! `ocpizza`: the web server and the operations manual's admin commands
//! (`migrate`, `feed-db -d FILE.csv`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use settings::Settings;

#[derive(Parser)]
#[command(name = "ocpizza", about = "OC Pizza order platform", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server on HOST:PORT until SIGTERM.
    Serve,
    /// Apply pending database migrations (the manual's `manage.py migrate`).
    Migrate,
    /// Load pizzerias, menu, recipes, stock and staff from a CSV file, all or nothing
    /// (the manual's `manage.py feed_db -d FILE`). Format: docs/feed-db.md.
    FeedDb {
        /// The seed CSV file.
        #[arg(short = 'd', long = "data")]
        data: PathBuf,
    },
    /// Check the settings and exit: names any missing or malformed variable.
    CheckConfig,
    /// Inspect and replay messages a worker gave up on.
    DeadLetters {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
}

#[derive(Subcommand)]
enum DeadLetterAction {
    /// Count the dead-lettered messages of every worker (or one with --consumer).
    List {
        #[arg(long)]
        consumer: Option<String>,
    },
    /// Print one dead-lettered message: reason and body.
    Show {
        consumer: String,
        message_id: String,
    },
    /// Send one message (or --all) back to the worker that gave up on it.
    Replay {
        consumer: String,
        message_id: Option<String>,
        #[arg(long, conflicts_with = "message_id")]
        all: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ocpizza: configuration error: {e}");
            return ExitCode::from(78); // EX_CONFIG: named in Supervisor's log; FATAL after startretries.
        }
    };
    let _telemetry = settings::process::init(
        &settings,
        "web",
        concat!("ocpizza@", env!("CARGO_PKG_VERSION")),
    );
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ocpizza: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ocpizza: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::CheckConfig => {
            println!(
                "configuration OK ({:?}, listening on {}:{})",
                settings.env, settings.host, settings.port
            );
        }
        Command::Migrate => {
            let pool = db::connect(&settings.database).await?;
            db::migrate(&pool).await?;
            println!("database {} is up to date", settings.database.name);
        }
        Command::FeedDb { data } => {
            let pool = db::connect(&settings.database).await?;
            let file = std::fs::File::open(&data)
                .with_context(|| format!("cannot open {}", data.display()))?;
            match catalog::feed::feed(
                &pool,
                std::io::BufReader::new(file),
                &settings.printer_ports,
            )
            .await
            {
                Ok(summary) => println!("{}: chargé : {summary}", data.display()),
                Err(e @ catalog::feed::FeedError::Invalid(_)) => {
                    eprintln!("{}: {e}", data.display());
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::DeadLetters { action } => return dead_letters(&settings, action).await,
        Command::Serve => {
            let pool = db::connect(&settings.database).await?;
            let app = web::Application::build(settings, pool)
                .await
                .context("cannot bind HOST:PORT")?;
            tracing::info!(address = %app.local_addr(), "web server listening");
            app.run_until(settings::process::stop_signal()).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn dead_letters(settings: &Settings, action: DeadLetterAction) -> anyhow::Result<ExitCode> {
    use messages::dead_letter;
    use settings::ExposeSecret;

    let conn = messages::broker::connect(settings.rabbitmq_url.expose_secret())
        .await
        .context("RabbitMQ")?;
    let known: Vec<String> = workers::ROUTES.iter().map(|w| w.name.to_owned()).collect();
    let check = |consumer: &str| {
        anyhow::ensure!(
            known.iter().any(|k| k == consumer),
            "unknown consumer {consumer:?}; one of {}",
            known.join(", ")
        );
        Ok(())
    };
    match action {
        DeadLetterAction::List { consumer } => {
            let consumers = match consumer {
                Some(c) => {
                    check(&c)?;
                    vec![c]
                }
                None => known.clone(),
            };
            for consumer in consumers {
                let letters = dead_letter::list(&conn, &consumer).await?;
                println!("{consumer}: {} dead-lettered", letters.len());
                for l in letters {
                    println!("  {}  {}  {}", l.message_id, l.message_type, l.reason);
                }
            }
        }
        DeadLetterAction::Show {
            consumer,
            message_id,
        } => {
            check(&consumer)?;
            let letters = dead_letter::list(&conn, &consumer).await?;
            let Some(l) = letters.into_iter().find(|l| l.message_id == message_id) else {
                eprintln!("no dead-lettered message {message_id} for {consumer}");
                return Ok(ExitCode::from(1));
            };
            println!(
                "consumer: {}\nmessage:  {}\ntype:     {}\nreason:   {}\n\n{}",
                l.consumer, l.message_id, l.message_type, l.reason, l.body
            );
        }
        DeadLetterAction::Replay {
            consumer,
            message_id,
            all,
        } => {
            check(&consumer)?;
            anyhow::ensure!(all || message_id.is_some(), "give a message id, or --all");
            let n = dead_letter::replay(&conn, &consumer, message_id.as_deref()).await?;
            println!("replayed {n} message(s) to {consumer}");
        }
    }
    let _ = conn.close(200, "done".into()).await;
    Ok(ExitCode::SUCCESS)
}

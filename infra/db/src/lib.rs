//! The database connection shared by the web server, the workers and the admin commands:
//! pool settings, the embedded migrations, and the few error checks every crate needs.
//!
//! Queries are written with `sqlx::query`/`query_as` (checked at run time), not the `query!`
//! macros: the integration tests run every query against a real MariaDB, and the build needs no
//! database or committed offline data. Each query lives next to the type it loads, in the crate
//! that owns that type.
#![forbid(unsafe_code)]

pub mod retention;

use std::time::Duration;

use settings::{DatabaseSettings, ExposeSecret};
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions};
use sqlx::{Executor, MySqlPool};

pub use sqlx::migrate::Migrator;

/// The schema, embedded at build time from `migrations/`.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Opens a pool on the configured database.
pub async fn connect(settings: &DatabaseSettings) -> Result<MySqlPool, DbError> {
    connect_url(settings.url().expose_secret(), settings.max_connections).await
}

/// Opens a pool on a `mysql://` URL. Every connection works in UTC, so `DATETIME` values and
/// `CURRENT_TIMESTAMP` defaults are UTC whatever the server's time zone.
pub async fn connect_url(url: &str, max_connections: u32) -> Result<MySqlPool, DbError> {
    let options: MySqlConnectOptions = url.parse().map_err(DbError::Connect)?;
    MySqlPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("SET time_zone = '+00:00'").await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

/// Applies pending migrations; a no-op when the schema is current.
#[cfg(not(feature = "next-migration"))]
pub async fn migrate(pool: &MySqlPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// The install test's later versions: the real migrations, then theirs; each set leaves alone
/// what the others applied.
#[cfg(feature = "next-migration")]
pub async fn migrate(pool: &MySqlPool) -> Result<(), DbError> {
    let mut sets = vec![
        sqlx::migrate!("../../migrations"),
        sqlx::migrate!("../../tests/container/migrations/next"),
    ];
    if cfg!(feature = "failing-migration") {
        sets.push(sqlx::migrate!("../../tests/container/migrations/failing"));
    }
    for mut set in sets {
        set.set_ignore_missing(true);
        set.run(pool).await?;
    }
    Ok(())
}

/// True when a statement failed on a unique key: the caller turns it into "already exists".
/// MySQL errors carry no constraint name in sqlx, so callers that need to know which key
/// inspect the message or check beforehand.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// True when a statement failed on a `CHECK` constraint (MySQL 3819, MariaDB 4025).
pub fn is_check_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db)
        if db.kind() == sqlx::error::ErrorKind::CheckViolation
            || matches!(db.code().as_deref(), Some("HY000" | "23000")) && db.message().contains("CONSTRAINT"))
}

/// True for errors worth retrying: lost connections, lock wait time-outs and deadlocks.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            // 1205 lock wait timeout, 1213 deadlock, 2006/2013 server gone, 1927 connection killed.
            let message = db.message();
            db.code().is_some_and(|c| c == "40001")
                || message.contains("Deadlock")
                || message.contains("Lock wait timeout")
                || message.contains("server has gone away")
                || message.contains("Connection was killed")
        }
        _ => false,
    }
}

//! The database connection shared by the web server, the workers and the admin commands:
//! pool settings, the embedded migrations, and the few error checks every crate needs.
//!
//! Queries are written with `sqlx::query`/`query_as` (checked at run time), not the `query!`
//! macros: the integration tests run every query against a real MariaDB, and the build needs no
//! database or committed offline data. Each query lives next to the type it loads, in the crate
//! that owns that type.
#![forbid(unsafe_code)]

mod failover;
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
    #[error("no database node is ready: {0}")]
    NoReadyNode(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Opens a pool on the configured database: the one server, or the first ready node of a
/// Galera cluster (see `failover`).
pub async fn connect(settings: &DatabaseSettings) -> Result<MySqlPool, DbError> {
    let urls = settings.node_urls();
    if let [url] = urls.as_slice() {
        return connect_url(url.expose_secret(), settings.max_connections).await;
    }
    let nodes = urls
        .iter()
        .map(|u| u.expose_secret().parse())
        .collect::<Result<Vec<MySqlConnectOptions>, _>>()
        .map_err(DbError::Connect)?;
    failover::connect(nodes, settings.max_connections).await
}

/// Opens a pool on a `mysql://` URL.
pub async fn connect_url(url: &str, max_connections: u32) -> Result<MySqlPool, DbError> {
    let options: MySqlConnectOptions = url.parse().map_err(DbError::Connect)?;
    pool_options(max_connections, None)
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

/// Every connection works in UTC, so `DATETIME` values and `CURRENT_TIMESTAMP` defaults are UTC
/// whatever the server's time zone. On a cluster (`moves`), reads are causal and connections
/// opened on a node the pool has left are not used again.
fn pool_options(max_connections: u32, moves: Option<failover::Moves>) -> MySqlPoolOptions {
    let clustered = moves.is_some();
    let options = MySqlPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(if clustered {
                    "SET time_zone = '+00:00', wsrep_sync_wait = 1"
                } else {
                    "SET time_zone = '+00:00'"
                })
                .await?;
                Ok(())
            })
        });
    match moves {
        Some(moves) => options.before_acquire(move |_conn, meta| {
            let current = moves.opened_since_last_move(meta.age);
            Box::pin(async move { Ok(current) })
        }),
        None => options,
    }
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

/// True for errors worth retrying: lost connections, lock wait time-outs, deadlocks (which is
/// also how Galera refuses a commit that conflicts with one certified on another node), and a
/// Galera node briefly out of the primary component while the cluster changes members.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            let number = db
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(sqlx::mysql::MySqlDatabaseError::number);
            // 1047 WSREP not ready, 1053 shutdown in progress, 1205 lock wait timeout,
            // 1213 deadlock, 1927 connection killed, 2006/2013 server gone, 4031 idle kill.
            matches!(
                number,
                Some(1047 | 1053 | 1205 | 1213 | 1927 | 2006 | 2013 | 4031)
            ) || db.code().is_some_and(|c| c == "40001")
        }
        _ => false,
    }
}

//! The retention rounds (`db::retention`): once at start, then every `every`, next to the
//! relay (one such process per deployment; a second one deleting the same rows is harmless).

use messages::broker::Shutdown;
use sqlx::MySqlPool;

pub async fn run_loop(pool: MySqlPool, every: std::time::Duration, mut shutdown: Shutdown) {
    loop {
        match db::retention::prune(&pool, chrono::Utc::now()).await {
            Ok(deleted) => {
                for (table, rows) in deleted.into_iter().filter(|(_, n)| *n > 0) {
                    tracing::info!(table, rows, "retention: old rows deleted");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention round failed; next one later"),
        }
        if !shutdown.sleep(every).await {
            return;
        }
    }
}

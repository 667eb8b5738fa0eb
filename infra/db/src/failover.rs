//! A Galera cluster's nodes behind one pool. `DB_HOST` lists the nodes in order of preference;
//! every program opens its pool on the first ready one, so they all write to the same node in
//! normal times (no certification conflicts between them), and a watchdog moves the pool to the
//! next ready node when its node dies or leaves the cluster's primary component.
//!
//! Why in the pool and not a proxy: a TCP proxy in front of the cluster is one more program to
//! run, watch and make redundant on each machine, and it cannot tell a node that answers from a
//! node that is ready (`wsrep_ready`). sqlx reads the pool's connect options afresh for each new
//! connection, so switching them is enough; connections made before a switch are dropped when
//! next acquired. The pool stays on the node it moved to (no move back when the preferred node
//! returns): a move costs the in-flight transactions, and one per failure is enough.
//!
//! Every session asks for causal reads (`wsrep_sync_wait = 1`): after a move, a read on the new
//! node waits until that node has applied every transaction committed before it, so a program
//! never misses its own last write.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::mysql::MySqlConnectOptions;
use sqlx::{ConnectOptions, Connection, MySqlConnection, MySqlPool};

use crate::DbError;

/// How long a node has to answer the watchdog before it counts as gone.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the watchdog looks at the pool's node.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// When the pool last moved to another node; connections older than that belong to the old one.
#[derive(Clone, Default)]
pub(crate) struct Moves(Arc<Mutex<Option<Instant>>>);

impl Moves {
    /// True when a connection of this age was opened on the current node.
    pub(crate) fn opened_since_last_move(&self, age: Duration) -> bool {
        match *self.0.lock().expect("the lock holder never panics") {
            Some(moved) => age < moved.elapsed(),
            None => true,
        }
    }

    fn record(&self) {
        *self.0.lock().expect("the lock holder never panics") = Some(Instant::now());
    }
}

/// The first ready node, in order of preference, with a connection to watch it by.
async fn first_ready(
    nodes: &[MySqlConnectOptions],
) -> Result<(usize, MySqlConnection), Vec<String>> {
    let mut refusals = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        match probe(node).await {
            Ok(conn) => return Ok((i, conn)),
            Err(why) => refusals.push(format!("{}: {why}", address(node))),
        }
    }
    Err(refusals)
}

fn address(node: &MySqlConnectOptions) -> String {
    format!("{}:{}", node.get_host(), node.get_port())
}

async fn probe(node: &MySqlConnectOptions) -> Result<MySqlConnection, String> {
    let mut conn = tokio::time::timeout(PROBE_TIMEOUT, node.connect())
        .await
        .map_err(|_| format!("no answer within {PROBE_TIMEOUT:?}"))?
        .map_err(|e| e.to_string())?;
    ready(&mut conn).await?;
    Ok(conn)
}

/// A node takes reads and writes only while it is part of the primary component and synced.
async fn ready(conn: &mut MySqlConnection) -> Result<(), String> {
    let status: Option<(String, String)> = tokio::time::timeout(
        PROBE_TIMEOUT,
        sqlx::query_as("SHOW GLOBAL STATUS LIKE 'wsrep_ready'").fetch_optional(&mut *conn),
    )
    .await
    .map_err(|_| format!("no answer within {PROBE_TIMEOUT:?}"))?
    .map_err(|e| e.to_string())?;
    match status {
        Some((_, on)) if on == "ON" => Ok(()),
        _ => Err("not a ready Galera node (wsrep_ready is not ON)".to_owned()),
    }
}

/// Opens the pool on the first ready node and starts the watchdog.
pub(crate) async fn connect(
    nodes: Vec<MySqlConnectOptions>,
    max_connections: u32,
) -> Result<MySqlPool, DbError> {
    let (current, watch) = first_ready(&nodes)
        .await
        .map_err(|refusals| DbError::NoReadyNode(refusals.join("; ")))?;
    let moves = Moves::default();
    let pool = crate::pool_options(max_connections, Some(moves.clone()))
        .connect_with(nodes[current].clone())
        .await
        .map_err(DbError::Connect)?;
    tokio::spawn(watchdog(pool.clone(), nodes, current, watch, moves));
    Ok(pool)
}

async fn watchdog(
    pool: MySqlPool,
    nodes: Vec<MySqlConnectOptions>,
    mut current: usize,
    watch: MySqlConnection,
    moves: Moves,
) {
    let mut watch = Some(watch);
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        if pool.is_closed() {
            if let Some(conn) = watch.take() {
                let _ = conn.close().await;
            }
            return;
        }
        let why = match watch.as_mut() {
            Some(conn) => match ready(conn).await {
                Ok(()) => continue,
                Err(why) => why,
            },
            None => "no node was ready".to_owned(),
        };
        watch = None;
        match first_ready(&nodes).await {
            Ok((next, conn)) => {
                watch = Some(conn);
                if next != current {
                    tracing::warn!(
                        from = %address(&nodes[current]),
                        to = %address(&nodes[next]),
                        reason = %why,
                        "database node lost; the pool moves to the next ready node"
                    );
                    pool.set_connect_options(nodes[next].clone());
                    moves.record();
                    current = next;
                }
            }
            Err(refusals) => tracing::error!(
                nodes = %refusals.join("; "),
                "no database node is ready; retrying every second"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_from_before_a_move_are_not_handed_out_again() {
        let moves = Moves::default();
        assert!(moves.opened_since_last_move(Duration::from_secs(3600)));
        moves.record();
        std::thread::sleep(Duration::from_millis(20));
        assert!(!moves.opened_since_last_move(Duration::from_secs(1)));
        assert!(moves.opened_since_last_move(Duration::from_millis(1)));
    }
}

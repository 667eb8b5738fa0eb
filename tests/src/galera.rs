//! A three-node MariaDB Galera cluster of this test's own: three `mariadbd` processes with the
//! Debian `galera-4` provider, each with its own data directory and client, group, IST and SST
//! ports on loopback. The first node bootstraps the cluster; the others join it by a real state
//! transfer (rsync), as a new machine would. Nodes can be killed with SIGKILL and started again
//! on their data, when they rejoin by incremental state transfer.
//!
//! The cluster refuses tables without a primary key and non-InnoDB writes
//! (`wsrep_mode = REQUIRED_PRIMARY_KEY,STRICT_REPLICATION`), so running the migrations on it
//! also proves the schema fits Galera.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::SERVICES_HINT;
use crate::peers::{PRIVATE_DB_PASSWORD, PRIVATE_DB_USER, create_private_account, free_port};

const MARIADBD: &str = "/usr/sbin/mariadbd";
const PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";

/// One node: its ports, and the process while it runs.
pub struct GaleraNode {
    pub port: u16,
    group_port: u16,
    ist_port: u16,
    sst_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

pub struct GaleraCluster {
    pub nodes: Vec<GaleraNode>,
    name: String,
    dir: PathBuf,
}

impl GaleraCluster {
    /// Three nodes, synced, with the programs' account (`PRIVATE_DB_USER`) on all of them.
    pub async fn start() -> GaleraCluster {
        for (path, package) in [(MARIADBD, "mariadb-server"), (PROVIDER, "galera-4")] {
            assert!(
                std::path::Path::new(path).exists(),
                "{path} is missing (Debian package {package}); {SERVICES_HINT}"
            );
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("ocpt-galera-{}", &id[..12]));
        let nodes = (0..3)
            .map(|i| GaleraNode {
                port: free_port(),
                group_port: free_port(),
                ist_port: free_port(),
                sst_port: free_port(),
                dir: dir.join(format!("node{i}")),
                child: None,
            })
            .collect();
        let mut cluster = GaleraCluster {
            nodes,
            name: format!("ocpt-{}", &id[..12]),
            dir,
        };
        for node in &cluster.nodes {
            std::fs::create_dir_all(node.dir.join("data")).expect("node directory");
        }
        let installed = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=mysql",
            ])
            .arg(format!(
                "--datadir={}",
                cluster.nodes[0].dir.join("data").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("mariadb-install-db runs");
        assert!(installed.success(), "a fresh data directory");
        // The server, and the rsync daemon a joiner receives its state with, run as `mysql`.
        let owned = Command::new("chown")
            .args(["-R", "mysql:mysql"])
            .arg(&cluster.dir)
            .status()
            .expect("chown runs");
        assert!(owned.success(), "the cluster's directory given to mysql");

        cluster.launch(0, true);
        cluster.wait_synced(0, 1).await;
        // Replicated to the joiners with the rest.
        create_private_account(cluster.nodes[0].port).await;
        cluster.launch(1, false);
        cluster.launch(2, false);
        for i in 0..3 {
            cluster.wait_synced(i, 3).await;
        }
        cluster
    }

    /// `DB_HOST` for the programs: every node, in order of preference.
    pub fn db_host(&self) -> String {
        self.db_host_from(0)
    }

    /// The same list starting at node `first` (a program that prefers another node).
    pub fn db_host_from(&self, first: usize) -> String {
        (0..self.nodes.len())
            .map(|k| {
                format!(
                    "127.0.0.1:{}",
                    self.nodes[(first + k) % self.nodes.len()].port
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The programs' account on node `i`, for `database`.
    pub fn url(&self, i: usize, database: &str) -> String {
        format!(
            "mysql://{PRIVATE_DB_USER}:{PRIVATE_DB_PASSWORD}@127.0.0.1:{}/{database}",
            self.nodes[i].port
        )
    }

    /// Settings that put a test's programs on this cluster.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DB_HOST", self.db_host()),
            ("DB_USER", PRIVATE_DB_USER.to_owned()),
            ("DB_PASSWORD", PRIVATE_DB_PASSWORD.to_owned()),
        ]
    }

    fn launch(&mut self, i: usize, bootstrap: bool) {
        let members: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.group_port))
            .collect();
        let node = &self.nodes[i];
        let mut command = Command::new(MARIADBD);
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", node.dir.join("data").display()))
            .arg(format!("--port={}", node.port))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", node.dir.join("sock").display()))
            .arg(format!("--pid-file={}", node.dir.join("pid").display()))
            .arg(format!("--log-error={}", node.dir.join("error.log").display()))
            .args([
                "--user=mysql",
                "--innodb-buffer-pool-size=32M",
                "--skip-name-resolve",
                "--binlog-format=ROW",
                "--innodb-autoinc-lock-mode=2",
                "--wsrep-on=ON",
                "--wsrep-mode=REQUIRED_PRIMARY_KEY,STRICT_REPLICATION",
                "--wsrep-sst-method=rsync",
            ])
            .arg(format!("--wsrep-provider={PROVIDER}"))
            .arg(format!("--wsrep-cluster-name={}", self.name))
            .arg(format!("--wsrep-cluster-address=gcomm://{}", members.join(",")))
            .arg(format!("--wsrep-node-name=node{i}"))
            .arg(format!("--wsrep-node-address=127.0.0.1:{}", node.group_port))
            .arg(format!(
                "--wsrep-sst-receive-address=127.0.0.1:{}",
                node.sst_port
            ))
            .arg(format!(
                "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:{};ist.recv_addr=127.0.0.1:{};gcache.size=32M",
                node.group_port, node.ist_port
            ));
        if bootstrap {
            command.arg("--wsrep-new-cluster");
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        self.nodes[i].child = Some(child);
    }

    /// Waits until node `i` takes queries, is synced and sees a cluster of `size` nodes.
    async fn wait_synced(&mut self, i: usize, size: usize) {
        let url = format!("mysql://root@127.0.0.1:{}/", self.nodes[i].port);
        for _ in 0..1200 {
            if let Some(child) = self.nodes[i].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "Galera node {i} exited ({status}); its log:\n{}",
                    self.nodes[i].log_tail()
                );
            }
            if let Ok(pool) = db::connect_url(&url, 1).await {
                let state = status_of(&pool).await;
                pool.close().await;
                if state.0 == "Synced" && state.1 == size.to_string() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "Galera node {i} not synced in a cluster of {size} within 120 s; its log:\n{}",
            self.nodes[i].log_tail()
        );
    }

    /// Node `i` vanishes at once (power cut): SIGKILL, nothing flushed.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Starts node `i` again on its data; it rejoins and waits until synced with all three.
    pub async fn resume(&mut self, i: usize) {
        self.launch(i, false);
        for k in 0..3 {
            self.wait_synced(k, 3).await;
        }
    }

    /// How many sessions of `database` node `i` serves now.
    pub async fn sessions(&self, i: usize, database: &str) -> i64 {
        let pool = db::connect_url(&self.url(i, ""), 1)
            .await
            .expect("the node answers");
        let n = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
        )
        .bind(database)
        .fetch_one(&pool)
        .await
        .expect("the process list");
        pool.close().await;
        n
    }

    /// Transactions refused at commit for a conflict with one certified elsewhere, plus local
    /// ones aborted by a replicated one, summed over the running nodes.
    pub async fn conflicts(&self) -> u64 {
        let mut total = 0;
        for (i, node) in self.nodes.iter().enumerate() {
            if node.child.is_none() {
                continue;
            }
            let pool = db::connect_url(&self.url(i, ""), 1)
                .await
                .expect("the node answers");
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')",
            )
            .fetch_all(&pool)
            .await
            .expect("wsrep status");
            pool.close().await;
            total += rows
                .iter()
                .map(|(_, v)| v.parse::<u64>().unwrap_or(0))
                .sum::<u64>();
        }
        total
    }
}

/// A node's `wsrep_local_state_comment` and `wsrep_cluster_size`.
async fn status_of(pool: &sqlx::MySqlPool) -> (String, String) {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_size')",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_default();
    let get = |name: &str| {
        rows.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    (get("wsrep_local_state_comment"), get("wsrep_cluster_size"))
}

impl GaleraNode {
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for GaleraCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

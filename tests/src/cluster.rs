//! A RabbitMQ cluster of this test's own: three nodes of the installed server (each its own
//! port, data directory and Erlang node name, one shared cookie) joined with `rabbitmqctl
//! join_cluster`, the topology declared on it (quorum queues, one member per node) and each node
//! restarted cleanly once, as a cluster that has run for a while (docs/messaging.md, the
//! quorum-queue registration pitfall).

use crate::peers::{PrivateRabbit, declare_topology};

pub struct RabbitCluster {
    pub nodes: Vec<PrivateRabbit>,
}

impl RabbitCluster {
    pub async fn start() -> RabbitCluster {
        let cookie = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(PrivateRabbit::start_with_cookie(Some(&cookie)).await);
        }
        let first = nodes[0].node_name();
        for node in &mut nodes[1..] {
            node.ctl(&["stop_app"]);
            node.ctl(&["join_cluster", &first]);
            node.ctl(&["start_app"]);
            node.resume_listening().await;
        }
        let mut cluster = RabbitCluster { nodes };
        declare_topology(&cluster.urls()).await;
        for i in 0..cluster.nodes.len() {
            cluster.nodes[i].restart_cleanly().await;
        }
        for queue in ["ocpizza.stock", "ocpizza.kitchen"] {
            let members = cluster.members(queue);
            assert_eq!(members.len(), 3, "{queue} on every node: {members:?}");
        }
        cluster
    }

    /// `RABBITMQ_URL` for the programs: every node.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(PrivateRabbit::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The node leading `queue` now (its index in `nodes`).
    pub fn leader_of(&self, queue: &str) -> usize {
        let listed =
            self.live()
                .ctl(&["list_queues", "-q", "--no-table-headers", "name", "leader"]);
        let leader = listed
            .lines()
            .find_map(|l| {
                let mut parts = l.split_whitespace();
                (parts.next() == Some(queue)).then(|| parts.next().map(str::to_owned))?
            })
            .unwrap_or_else(|| panic!("{queue} has no leader:\n{listed}"));
        self.nodes
            .iter()
            .position(|n| n.node_name() == leader)
            .unwrap_or_else(|| panic!("{queue} led by {leader}, not one of ours"))
    }

    /// The members of a quorum queue, as node names.
    pub fn members(&self, queue: &str) -> Vec<String> {
        let status =
            self.live()
                .ctl(&["list_queues", "-q", "--no-table-headers", "name", "members"]);
        status
            .lines()
            .find(|l| l.split_whitespace().next() == Some(queue))
            .map(|l| {
                l.split(|c: char| c == '[' || c == ']' || c == ',' || c.is_whitespace())
                    .filter(|p| p.starts_with("ocpt"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many client connections node `i` holds.
    pub fn connections(&self, i: usize) -> usize {
        self.nodes[i]
            .ctl(&["list_connections", "-q", "--no-table-headers", "name"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    }

    /// The node holding the most client connections.
    pub fn busiest(&self) -> usize {
        (0..self.nodes.len())
            .max_by_key(|&i| self.connections(i))
            .unwrap_or(0)
    }

    fn live(&self) -> &PrivateRabbit {
        self.nodes
            .iter()
            .find(|n| n.is_running())
            .expect("a node of the cluster running")
    }
}

//! Multi-process clusters on 127.0.0.1: nodes with their own dirs, joined by CLUSTER MEET, slots
//! split over the primaries, replicas attached with CLUSTER REPLICATE.
use super::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The hash slot of `key` (the same CRC16 the server uses).
pub fn slot_of(key: &str) -> u16 {
    shoal_cluster::key_slot(key.as_bytes()).0
}

/// A fresh temp dir unique to this process and test thread.
pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "shoal-cluster-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The bus port a node announces (`ip:port@cport` of its CLUSTER NODES myself line).
pub fn bus_port(c: &mut redis::Connection) -> u16 {
    let nodes: String = q(c, &["CLUSTER", "NODES"]);
    let me = nodes
        .lines()
        .find(|l| l.contains("myself"))
        .unwrap()
        .to_string();
    let addr = me.split_whitespace().nth(1).unwrap();
    addr.split('@')
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

pub struct Node {
    pub dir: PathBuf,
    pub proc: ServerProcess,
    pub id: String,
}

impl Node {
    pub fn conn(&self) -> redis::Connection {
        conn(&self.proc)
    }

    /// Restarts the node from its dir (new ephemeral ports, same identity).
    pub fn restart(&mut self, timeout_ms: u64) {
        self.proc = start_node(&self.dir, timeout_ms);
    }

    /// `master` or `slave`, from ROLE; None while the node does not answer.
    pub fn role(&self) -> Option<String> {
        let c = redis::Client::open(self.proc.url()).ok()?;
        let mut c = c
            .get_connection_with_timeout(Duration::from_millis(500))
            .ok()?;
        let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
        let v: redis::Value = redis::cmd("ROLE").query(&mut c).ok()?;
        match v {
            redis::Value::Array(items) => match items.first() {
                Some(redis::Value::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                _ => None,
            },
            _ => None,
        }
    }

    /// The id of the primary this node replicates, from its own CLUSTER NODES line.
    pub fn primary_of(&self) -> Option<String> {
        let text: String = q(&mut self.conn(), &["CLUSTER", "NODES"]);
        let me = text.lines().find(|l| l.contains("myself"))?;
        let p = me.split_whitespace().nth(3)?;
        (p != "-").then(|| p.to_string())
    }
}

pub fn start_node(dir: &Path, timeout_ms: u64) -> ServerProcess {
    server(&[
        "--cluster-enabled",
        "yes",
        "--dir",
        dir.to_str().unwrap(),
        "--cluster-node-timeout",
        &timeout_ms.to_string(),
    ])
}

/// N primaries on ephemeral ports, joined with CLUSTER MEET and the slots split evenly.
pub fn form_cluster(n: usize, timeout_ms: u64, tag: &str) -> Vec<Node> {
    form_cluster_with_replicas(n, 0, timeout_ms, tag)
}

/// `primaries` primaries with the slots split evenly, then `replicas` replicas each
/// (node `primaries + i * primaries + p` replicates primary `p`); waits for cluster_state:ok on
/// all and for every replica's link to be up.
pub fn form_cluster_with_replicas(
    primaries: usize,
    replicas: usize,
    timeout_ms: u64,
    tag: &str,
) -> Vec<Node> {
    let total = primaries * (1 + replicas);
    let nodes: Vec<Node> = (0..total)
        .map(|i| {
            let dir = tmpdir(&format!("{tag}{i}"));
            let proc = start_node(&dir, timeout_ms);
            let id = q(&mut conn(&proc), &["CLUSTER", "MYID"]);
            Node { dir, proc, id }
        })
        .collect();
    let mut first = nodes[0].conn();
    for (i, node) in nodes.iter().enumerate() {
        let mut c = node.conn();
        if i < primaries {
            let per = 16384 / primaries;
            let (lo, hi) = (
                i * per,
                if i == primaries - 1 {
                    16383
                } else {
                    (i + 1) * per - 1
                },
            );
            ok(
                &mut c,
                &["CLUSTER", "ADDSLOTSRANGE", &lo.to_string(), &hi.to_string()],
            );
        }
        if i > 0 {
            let cport = bus_port(&mut c);
            ok(
                &mut first,
                &[
                    "CLUSTER",
                    "MEET",
                    "127.0.0.1",
                    &node.proc.port().to_string(),
                    &cport.to_string(),
                ],
            );
        }
    }
    let know_all = |node: &Node| {
        let info: String = q(&mut node.conn(), &["CLUSTER", "INFO"]);
        info.contains("cluster_state:ok") && info.contains(&format!("cluster_known_nodes:{total}"))
    };
    assert!(
        wait_until(Duration::from_secs(30), || nodes.iter().all(know_all)),
        "cluster did not form"
    );
    for (i, node) in nodes.iter().enumerate().skip(primaries) {
        let p = &nodes[(i - primaries) % primaries];
        ok(&mut node.conn(), &["CLUSTER", "REPLICATE", &p.id]);
    }
    let linked = |node: &Node| {
        let info: String = q(&mut node.conn(), &["INFO", "replication"]);
        info.contains("master_link_status:up")
    };
    assert!(
        wait_until(Duration::from_secs(30), || nodes[primaries..]
            .iter()
            .all(linked)),
        "replicas did not link"
    );
    // Every node has seen every replica's new role.
    let roles_known = |node: &Node| {
        let text: String = q(&mut node.conn(), &["CLUSTER", "NODES"]);
        text.lines().filter(|l| l.contains("slave")).count() == total - primaries
    };
    assert!(
        wait_until(Duration::from_secs(30), || nodes.iter().all(roles_known)),
        "replica roles did not spread"
    );
    nodes
}

/// Removes the nodes' dirs.
pub fn cleanup(nodes: &[Node]) {
    for n in nodes {
        std::fs::remove_dir_all(&n.dir).ok();
    }
}

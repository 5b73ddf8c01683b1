//! Cluster mode on one node: slots, routing errors, CLUSTER replies, nodes.conf persistence, and
//! a cluster-aware client. (Multi-node behaviour arrives with the cluster bus.)
mod common;
use common::cluster::*;
use common::*;
use redis::Value;
use std::time::Duration;

fn cluster_node(dir: &std::path::Path) -> ServerProcess {
    server(&["--cluster-enabled", "yes", "--dir", dir.to_str().unwrap()])
}

#[test]
fn lone_node_serves_after_claiming_all_slots() {
    let dir = tmpdir("lone");
    let s = cluster_node(&dir);
    let mut c = conn(&s);
    let info: String = q(&mut c, &["CLUSTER", "INFO"]);
    assert!(
        info.starts_with("cluster_state:fail\r\ncluster_slots_assigned:0\r\n"),
        "{info}"
    );
    assert_eq!(
        e(&mut c, &["GET", "foo"]),
        "CLUSTERDOWN The cluster is down"
    );
    assert_eq!(
        q::<String>(&mut c, &["PING"]),
        "PONG",
        "keyless commands still run"
    );
    ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]);
    // Not full coverage: still down; without the coverage requirement, unserved slots say so.
    assert_eq!(
        e(&mut c, &["GET", "foo"]),
        "CLUSTERDOWN The cluster is down"
    );
    ok(
        &mut c,
        &["CONFIG", "SET", "cluster-require-full-coverage", "no"],
    );
    assert_eq!(
        e(&mut c, &["GET", "foo"]),
        "CLUSTERDOWN Hash slot not served",
        "foo is slot 12182"
    );
    assert_eq!(
        v(&mut c, &["GET", "bar"]),
        Value::Nil,
        "bar is slot 5061, ours"
    );
    ok(
        &mut c,
        &["CONFIG", "SET", "cluster-require-full-coverage", "yes"],
    );
    let mut args: Vec<String> = vec!["CLUSTER".into(), "ADDSLOTS".into()];
    args.extend((8192..16384).map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&mut c, &argv);
    let info: String = q(&mut c, &["CLUSTER", "INFO"]);
    for f in [
        "cluster_state:ok",
        "cluster_slots_assigned:16384",
        "cluster_slots_ok:16384",
        "cluster_known_nodes:1",
        "cluster_size:1",
    ] {
        assert!(info.contains(f), "{f} missing in {info}");
    }
    ok(&mut c, &["SET", "foo", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "foo"]), "1");
    // Multi-key commands must stay in one slot; transactions too.
    assert_eq!(
        e(&mut c, &["MSET", "a", "1", "b", "2"]),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    ok(&mut c, &["MSET", "a{t}", "1", "b{t}", "2"]);
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["SET", "a", "1"]);
    let _: String = q(&mut c, &["SET", "b", "1"]);
    assert_eq!(
        e(&mut c, &["EXEC"]),
        "CROSSSLOT Keys in request don't hash to the same slot"
    );
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["INCR", "x{t}"]);
    let _: String = q(&mut c, &["INCR", "y{t}"]);
    assert_eq!(
        v(&mut c, &["EXEC"]),
        Value::Array(vec![Value::Int(1), Value::Int(1)])
    );
    assert_eq!(
        e(&mut c, &["SELECT", "1"]),
        "ERR SELECT is not allowed in cluster mode"
    );
    ok(&mut c, &["SELECT", "0"]);
    let info: String = q(&mut c, &["INFO", "cluster"]);
    assert!(info.contains("cluster_enabled:1"), "{info}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cluster_subcommands_and_errors() {
    let dir = tmpdir("sub");
    let s = cluster_node(&dir);
    let mut c = conn(&s);
    let id: String = q(&mut c, &["CLUSTER", "MYID"]);
    assert_eq!(id.len(), 40);
    assert!(id.chars().all(|ch| ch.is_ascii_hexdigit()));
    let nodes: String = q(&mut c, &["CLUSTER", "NODES"]);
    // A fresh node does not know its own IP yet: `:port@cport`.
    let cport = bus_port(&mut c);
    assert_ne!(cport, 0);
    let want = format!(
        "{id} :{}@{cport} myself,master - 0 0 0 connected\n",
        s.port()
    );
    assert_eq!(nodes, want);
    assert_eq!(q::<i64>(&mut c, &["CLUSTER", "KEYSLOT", "foo"]), 12182);
    assert_eq!(
        q::<i64>(&mut c, &["CLUSTER", "KEYSLOT", "{user1000}.following"]),
        3443
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "ADDSLOTS", "16384"]),
        "ERR Invalid or out of range slot"
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "ADDSLOTS", "1", "1"]),
        "ERR Slot 1 specified multiple times"
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "5", "1"]),
        "ERR start slot number 5 is greater than end slot number 1"
    );
    ok(&mut c, &["CLUSTER", "ADDSLOTS", "1", "2", "3", "7"]);
    assert_eq!(
        e(&mut c, &["CLUSTER", "ADDSLOTS", "7"]),
        "ERR Slot 7 is already busy"
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "DELSLOTS", "100"]),
        "ERR Slot 100 is already unassigned"
    );
    ok(&mut c, &["CLUSTER", "DELSLOTSRANGE", "2", "2"]);
    let nodes: String = q(&mut c, &["CLUSTER", "NODES"]);
    assert!(nodes.ends_with(" connected 1 3 7\n"), "{nodes}");
    ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "100", "200"]);
    let slots = v(&mut c, &["CLUSTER", "SLOTS"]);
    let Value::Array(rows) = slots else { panic!() };
    assert_eq!(rows.len(), 4, "1, 3, 7, 100-200");
    let Value::Array(row) = &rows[3] else {
        panic!()
    };
    assert_eq!((&row[0], &row[1]), (&Value::Int(100), &Value::Int(200)));
    let Value::Array(node) = &row[2] else {
        panic!()
    };
    assert_eq!(node.len(), 4);
    assert_eq!(node[1], Value::Int(s.port() as i64));
    assert_eq!(node[2], Value::BulkString(id.clone().into_bytes()));
    let shards = v(&mut c, &["CLUSTER", "SHARDS"]);
    let Value::Array(sh) = shards else { panic!() };
    assert_eq!(sh.len(), 1);
    // Epochs
    ok(&mut c, &["CLUSTER", "SET-CONFIG-EPOCH", "5"]);
    assert_eq!(
        e(&mut c, &["CLUSTER", "SET-CONFIG-EPOCH", "6"]),
        "ERR Node config epoch is already non-zero"
    );
    assert_eq!(q::<String>(&mut c, &["CLUSTER", "BUMPEPOCH"]), "STILL 5");
    // Unknown nodes
    let other = "0123456789012345678901234567890123456789";
    assert_eq!(
        e(&mut c, &["CLUSTER", "REPLICATE", other]),
        format!("ERR Unknown node {other}")
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "COUNT-FAILURE-REPORTS", other]),
        format!("ERR Unknown node {other}")
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "FORGET", &id]),
        "ERR I tried hard but I can't forget myself..."
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "NOPE"]),
        "ERR unknown subcommand 'NOPE'. Try CLUSTER HELP."
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "KEYSLOT"]),
        "ERR wrong number of arguments for 'cluster|keyslot' command"
    );
    // Keys by slot, without scanning the keyspace
    ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "0"]);
    ok(&mut c, &["CLUSTER", "FLUSHSLOTS"]);
    ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    for i in 0..50 {
        ok(&mut c, &["SET", &format!("{{tag}}:{i}"), "v"]);
        ok(&mut c, &["SET", &format!("other:{i}"), "v"]);
    }
    let slot: i64 = q(&mut c, &["CLUSTER", "KEYSLOT", "{tag}"]);
    assert_eq!(
        q::<i64>(&mut c, &["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]),
        50
    );
    let keys: Vec<String> = q(
        &mut c,
        &["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "10"],
    );
    assert_eq!(keys.len(), 10);
    assert!(keys.iter().all(|k| k.starts_with("{tag}:")));
    assert_eq!(
        e(&mut c, &["CLUSTER", "COUNTKEYSINSLOT", "20000"]),
        "ERR Invalid slot"
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "GETKEYSINSLOT", "1", "-1"]),
        "ERR Invalid number of keys"
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "FLUSHSLOTS"]),
        "ERR DB must be empty to perform CLUSTER FLUSHSLOTS."
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "RESET"]),
        "ERR CLUSTER RESET can't be called with master nodes containing keys"
    );
    ok(&mut c, &["FLUSHALL"]);
    ok(&mut c, &["CLUSTER", "RESET", "HARD"]);
    let new_id: String = q(&mut c, &["CLUSTER", "MYID"]);
    assert_ne!(new_id, id, "RESET HARD takes a new identity");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn identity_and_slots_survive_restart_and_corruption_stops_the_node() {
    let dir = tmpdir("restart");
    let (id, nodes) = {
        let s = cluster_node(&dir);
        let mut c = conn(&s);
        ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "999"]);
        ok(&mut c, &["CLUSTER", "SET-CONFIG-EPOCH", "3"]);
        let id: String = q(&mut c, &["CLUSTER", "MYID"]);
        let nodes: String = q(&mut c, &["CLUSTER", "NODES"]);
        (id, nodes)
    };
    let conf = std::fs::read_to_string(dir.join("nodes.conf")).unwrap();
    assert!(
        conf.contains(&id) && conf.contains("vars currentEpoch 3 lastVoteEpoch 0"),
        "{conf}"
    );
    let s = cluster_node(&dir);
    let mut c = conn(&s);
    assert_eq!(q::<String>(&mut c, &["CLUSTER", "MYID"]), id);
    let again: String = q(&mut c, &["CLUSTER", "NODES"]);
    let tail = |t: &str| t.split_whitespace().skip(6).collect::<Vec<_>>().join(" ");
    assert_eq!(
        tail(&again),
        tail(&nodes),
        "epoch, link and slots come back"
    );
    drop(c);
    drop(s);
    std::fs::write(dir.join("nodes.conf"), "this is not a nodes file\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args([
            "--ephemeral-ports",
            "port",
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--dir",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nodes.conf"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cluster_commands_refused_when_disabled() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        e(&mut c, &["CLUSTER", "INFO"]),
        "ERR This instance has cluster support disabled"
    );
    assert_eq!(
        e(&mut c, &["READONLY"]),
        "ERR This instance has cluster support disabled"
    );
    let info: String = q(&mut c, &["INFO", "cluster"]);
    assert!(info.contains("cluster_enabled:0"));
}

#[test]
fn cluster_client_works_against_a_lone_node() {
    let dir = tmpdir("client");
    let s = cluster_node(&dir);
    let mut c = conn(&s);
    ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    assert!(wait_until(Duration::from_secs(5), || q::<String>(
        &mut c,
        &["CLUSTER", "INFO"]
    )
    .contains("cluster_state:ok")));
    let client = redis::cluster::ClusterClient::new(vec![s.url()]).unwrap();
    let mut cc = client.get_connection().unwrap();
    for i in 0..100 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(i)
            .query(&mut cc)
            .unwrap();
    }
    let v: i64 = redis::cmd("GET").arg("k42").query(&mut cc).unwrap();
    assert_eq!(v, 42);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 100);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn three_nodes_form_redirect_and_detect_failure() {
    let timeout = 1000;
    let started = std::time::Instant::now();
    let mut nodes = form_cluster(3, timeout, "three");
    eprintln!("3-node cluster formed in {:?}", started.elapsed());
    let mut c0 = conn(&nodes[0].proc);
    // Every node prints the same slot map.
    let maps: Vec<String> = nodes
        .iter()
        .map(|n| {
            let mut c = conn(&n.proc);
            let text: String = q(&mut c, &["CLUSTER", "NODES"]);
            let mut lines: Vec<String> = text
                .lines()
                .map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    format!("{} {}", f[0], f[8..].join(" "))
                })
                .collect();
            lines.sort();
            lines.join("\n")
        })
        .collect();
    assert!(maps.windows(2).all(|w| w[0] == w[1]), "{maps:?}");
    // A key of another node's slot is redirected there.
    let owner_port = nodes[2].proc.port();
    let slot: i64 = q(&mut c0, &["CLUSTER", "KEYSLOT", "foo"]);
    assert_eq!(slot, 12182);
    assert_eq!(
        e(&mut c0, &["GET", "foo"]),
        format!("MOVED 12182 127.0.0.1:{owner_port}")
    );
    // A cluster client follows redirects.
    let client = redis::cluster::ClusterClient::new(vec![nodes[0].proc.url()]).unwrap();
    let mut cc = client.get_connection().unwrap();
    for i in 0..300 {
        let _: () = redis::cmd("SET")
            .arg(format!("key:{i}"))
            .arg(i)
            .query(&mut cc)
            .unwrap();
    }
    let total: i64 = nodes
        .iter()
        .map(|n| q::<i64>(&mut conn(&n.proc), &["DBSIZE"]))
        .sum();
    assert_eq!(total, 300);
    assert!(
        nodes
            .iter()
            .all(|n| q::<i64>(&mut conn(&n.proc), &["DBSIZE"]) > 50),
        "keys spread over all nodes"
    );
    // kill -9 one: the others mark it failed within 2 x node-timeout (plus a tick of slack).
    let dead_id: String = q(&mut conn(&nodes[2].proc), &["CLUSTER", "MYID"]);
    nodes[2].proc.signal(9);
    let t = std::time::Instant::now();
    let failed = wait_until(Duration::from_millis(4 * timeout + 2000), || {
        (0..2).all(|i| {
            let text: String = q(&mut conn(&nodes[i].proc), &["CLUSTER", "NODES"]);
            text.lines().any(|l| {
                l.starts_with(&dead_id)
                    && l.split_whitespace()
                        .nth(2)
                        .unwrap()
                        .split(',')
                        .any(|f| f == "fail")
            })
        })
    });
    assert!(failed, "FAIL not reached");
    eprintln!("failure detected in {:?}", t.elapsed());
    assert!(
        t.elapsed() <= Duration::from_millis(2 * timeout + 1500),
        "detection took {:?}",
        t.elapsed()
    );
    assert_eq!(
        e(&mut c0, &["GET", "key:1"]),
        "CLUSTERDOWN The cluster is down"
    );
    // Restart it from its nodes.conf (new ephemeral ports): same identity, rejoins, cluster ok.
    let dir = nodes[2].dir.clone();
    nodes[2].proc = start_node(&dir, timeout);
    let mut c2 = conn(&nodes[2].proc);
    assert_eq!(q::<String>(&mut c2, &["CLUSTER", "MYID"]), dead_id);
    let back = wait_until(Duration::from_millis(6 * timeout + 5000), || {
        nodes.iter().all(|n| {
            q::<String>(&mut conn(&n.proc), &["CLUSTER", "INFO"]).contains("cluster_state:ok")
        })
    });
    assert!(back, "cluster did not recover");
    let port2 = nodes[2].proc.port();
    assert_eq!(
        e(&mut c0, &["GET", "foo"]),
        format!("MOVED 12182 127.0.0.1:{port2}"),
        "others learned the new address"
    );
    for n in &nodes {
        std::fs::remove_dir_all(&n.dir).ok();
    }
}

#[test]
fn bus_drops_garbage_and_keeps_working() {
    let nodes = form_cluster(2, 1000, "garbage");
    let mut c = conn(&nodes[0].proc);
    let cport = bus_port(&mut c);
    for payload in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[0u8; 5000][..],
        b"SHB\x09\x00\x00\x00\x01x",
        b"SHB\x01\xff\xff\xff\xff",
    ] {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", cport)) {
            let _ = std::io::Write::write_all(&mut s, payload);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let info: String = q(&mut c, &["CLUSTER", "INFO"]);
    assert!(info.contains("cluster_state:ok"), "{info}");
    let malformed: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("cluster_stats_messages_malformed:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(malformed >= 3, "malformed frames are counted: {info}");
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    // The real peer link is still there.
    let links = v(&mut c, &["CLUSTER", "LINKS"]);
    assert!(
        matches!(links, Value::Array(ref l) if !l.is_empty()),
        "{links:?}"
    );
    for n in &nodes {
        std::fs::remove_dir_all(&n.dir).ok();
    }
}

#[test]
fn forget_removes_a_node_and_keeps_it_out() {
    let nodes = form_cluster(3, 1000, "forget");
    let mut c0 = conn(&nodes[0].proc);
    let id2: String = q(&mut conn(&nodes[2].proc), &["CLUSTER", "MYID"]);
    let id0: String = q(&mut c0, &["CLUSTER", "MYID"]);
    assert_eq!(
        e(&mut c0, &["CLUSTER", "FORGET", &id0]),
        "ERR I tried hard but I can't forget myself..."
    );
    ok(&mut c0, &["CLUSTER", "FORGET", &id2]);
    let text: String = q(&mut c0, &["CLUSTER", "NODES"]);
    assert!(!text.contains(&id2), "{text}");
    // Node 2 and node 1 still know it and gossip about it: it stays out for a while.
    std::thread::sleep(Duration::from_millis(1500));
    let text: String = q(&mut c0, &["CLUSTER", "NODES"]);
    assert!(!text.contains(&id2), "re-added through gossip: {text}");
    assert!(q::<String>(&mut c0, &["CLUSTER", "INFO"]).contains("cluster_known_nodes:2"));
    for n in &nodes {
        std::fs::remove_dir_all(&n.dir).ok();
    }
}

/// A node forming a cluster by itself: `primaries` and `replicas` for the bootstrap settings,
/// meeting `seed` when given.
fn zero_touch_node(
    dir: &std::path::Path,
    primaries: usize,
    replicas: usize,
    seed: Option<&str>,
) -> ServerProcess {
    let (p, r) = (primaries.to_string(), replicas.to_string());
    let mut args = vec![
        "--cluster-enabled",
        "yes",
        "--dir",
        dir.to_str().unwrap(),
        "--cluster-node-timeout",
        "1000",
        "--cluster-bootstrap-primaries",
        &p,
        "--cluster-bootstrap-replicas",
        &r,
    ];
    if let Some(seed) = seed {
        args.extend(["--cluster-seeds", seed]);
    }
    server(&args)
}

#[test]
fn zero_touch_formation_with_seeds_and_bootstrap() {
    let dirs: Vec<_> = (0..3).map(|i| tmpdir(&format!("zt{i}"))).collect();
    let first = zero_touch_node(&dirs[0], 3, 0, None);
    let mut c0 = conn(&first);
    let seed = format!("127.0.0.1:{}@{}", first.port(), bus_port(&mut c0));
    let others: Vec<ServerProcess> = dirs[1..]
        .iter()
        .map(|d| zero_touch_node(d, 3, 0, Some(&seed)))
        .collect();
    let all: Vec<&ServerProcess> = std::iter::once(&first).chain(others.iter()).collect();
    let formed = wait_until(Duration::from_secs(15), || {
        all.iter().all(|s| {
            let info: String = q(&mut conn(s), &["CLUSTER", "INFO"]);
            info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
        })
    });
    assert!(formed, "no zero-touch formation");
    let owners = all.iter().filter(|s| {
        let nodes: String = q(&mut conn(s), &["CLUSTER", "NODES"]);
        nodes
            .lines()
            .any(|l| l.contains("myself") && l.split_whitespace().count() > 8)
    });
    assert_eq!(owners.count(), 3, "every primary got a share of the slots");
    for d in &dirs {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn preferred_endpoint_hostname() {
    let dir = tmpdir("host");
    let s = server(&[
        "--cluster-enabled",
        "yes",
        "--dir",
        dir.to_str().unwrap(),
        "--cluster-announce-hostname",
        "node-a.example",
        "--cluster-preferred-endpoint-type",
        "hostname",
    ]);
    let mut c = conn(&s);
    ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    let Value::Array(rows) = v(&mut c, &["CLUSTER", "SLOTS"]) else {
        panic!()
    };
    let Value::Array(row) = &rows[0] else {
        panic!()
    };
    let Value::Array(node) = &row[2] else {
        panic!()
    };
    assert_eq!(node[0], Value::BulkString(b"node-a.example".to_vec()));
    let nodes: String = q(&mut c, &["CLUSTER", "NODES"]);
    assert!(nodes.contains(",node-a.example "), "{nodes}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn slot_stats_count_keys_reads_and_writes_per_slot() {
    let dir = tmpdir("slotstats");
    let s = server(&[
        "--cluster-enabled",
        "yes",
        "--dir",
        dir.to_str().unwrap(),
        "--metrics-port",
        "0",
    ]);
    let mut c = conn(&s);
    ok(&mut c, &["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]);
    assert!(wait_until(Duration::from_secs(5), || {
        q::<String>(&mut c, &["CLUSTER", "INFO"]).starts_with("cluster_state:ok")
    }));
    // foo is slot 12182, bar 5061; keys with the tag {foo} share foo's slot.
    for k in ["foo", "a{foo}", "b{foo}", "bar"] {
        ok(&mut c, &["SET", k, "v"]);
    }
    for _ in 0..5 {
        let _: String = q(&mut c, &["GET", "foo"]);
    }
    assert_eq!(
        q::<i64>(&mut c, &["CLUSTER", "COUNTKEYSINSLOT", "12182"]),
        3
    );
    let stats = v(
        &mut c,
        &["CLUSTER", "SLOT-STATS", "SLOTSRANGE", "12182", "12182"],
    );
    let text = format!("{stats:?}");
    let Value::Array(rows) = stats else {
        panic!("{text}")
    };
    assert_eq!(rows.len(), 1, "{text}");
    let fields = |row: &Value| -> Vec<(String, i64)> {
        let Value::Array(pair) = row else {
            panic!("{row:?}")
        };
        let Value::Array(kv) = &pair[1] else {
            panic!("{row:?}")
        };
        kv.chunks(2)
            .map(|p| match (&p[0], &p[1]) {
                (Value::BulkString(k), Value::Int(n)) => {
                    (String::from_utf8_lossy(k).into_owned(), *n)
                }
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let f = fields(&rows[0]);
    let get = |name: &str| f.iter().find(|(k, _)| k == name).map(|(_, n)| *n);
    assert_eq!(get("key-count"), Some(3));
    assert_eq!(get("reads"), Some(5));
    assert_eq!(get("writes"), Some(3));
    assert!(get("network-bytes-in").unwrap_or(0) > 0);
    assert!(get("network-bytes-out").unwrap_or(0) > 0);
    // ORDERBY key-count puts slot 12182 first; ties go by slot number.
    let Value::Array(top) = v(
        &mut c,
        &[
            "CLUSTER",
            "SLOT-STATS",
            "ORDERBY",
            "key-count",
            "LIMIT",
            "2",
        ],
    ) else {
        panic!("not an array")
    };
    assert_eq!(top.len(), 2);
    let slot_of = |row: &Value| match row {
        Value::Array(p) => p[0].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(slot_of(&top[0]), Value::Int(12182));
    assert_eq!(slot_of(&top[1]), Value::Int(5061));
    for (args, err) in [
        (
            vec!["SLOTSRANGE", "5", "1"],
            "ERR Start slot number 5 is greater than end slot number 1",
        ),
        (
            vec!["SLOTSRANGE", "0", "16384"],
            "ERR Invalid or out of range slot",
        ),
        (
            vec!["ORDERBY", "bogus"],
            "ERR Unrecognized sort metric for ORDERBY.",
        ),
        (
            vec!["ORDERBY", "key-count", "LIMIT", "0"],
            "ERR Limit has to lie in between 1 and 16384 (maximum number of slots).",
        ),
        (
            vec!["ORDERBY", "key-count", "ASC", "DESC"],
            "ERR Multiple filters of the same type are disallowed.",
        ),
    ] {
        let mut full = vec!["CLUSTER", "SLOT-STATS"];
        full.extend(args);
        assert_eq!(e(&mut c, &full), err);
    }
    // The busiest slots on the metrics page, and the cluster series.
    let page = scrape(&metrics_addr(&s));
    for line in [
        "shoal_slot_reads_total{slot=\"12182\"} 5",
        "shoal_slot_writes_total{slot=\"12182\"} 3",
        "shoal_slot_keys{slot=\"12182\"} 3",
        "shoal_cluster_slots_ok 16384",
    ] {
        assert!(page.contains(line), "metrics page lacks {line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zero_touch_formation_with_replicas() {
    // Two primaries with one replica each, from four nodes meeting one seed.
    let dirs: Vec<_> = (0..4).map(|i| tmpdir(&format!("ztr{i}"))).collect();
    let first = zero_touch_node(&dirs[0], 2, 1, None);
    let mut c0 = conn(&first);
    let seed = format!("127.0.0.1:{}@{}", first.port(), bus_port(&mut c0));
    let others: Vec<ServerProcess> = dirs[1..]
        .iter()
        .map(|d| zero_touch_node(d, 2, 1, Some(&seed)))
        .collect();
    let all: Vec<&ServerProcess> = std::iter::once(&first).chain(others.iter()).collect();
    let shaped = wait_until(Duration::from_secs(30), || {
        let nodes: String = q(&mut conn(&first), &["CLUSTER", "NODES"]);
        let primaries: Vec<&str> = nodes
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .nth(2)
                    .is_some_and(|f| f.contains("master"))
            })
            .map(|l| l.split_whitespace().next().unwrap_or(""))
            .collect();
        primaries.len() == 2
            && primaries.iter().all(|p| {
                nodes
                    .lines()
                    .filter(|l| l.split_whitespace().nth(3) == Some(*p))
                    .count()
                    == 1
            })
            && all.iter().all(|s| {
                q::<String>(&mut conn(s), &["CLUSTER", "INFO"]).contains("cluster_state:ok")
            })
    });
    assert!(
        shaped,
        "not 2 primaries with a replica each: {}",
        q::<String>(&mut conn(&first), &["CLUSTER", "NODES"])
    );
    assert_eq!(
        q::<Vec<String>>(&mut c0, &["CONFIG", "GET", "cluster-bootstrap-replicas"]),
        vec!["cluster-bootstrap-replicas", "1"]
    );
    assert!(
        e(
            &mut c0,
            &["CONFIG", "SET", "cluster-bootstrap-replicas", "2"]
        )
        .contains("cluster-bootstrap-replicas")
    );
    for d in &dirs {
        std::fs::remove_dir_all(d).ok();
    }
}

//! Replicas and failover in multi-process clusters on 127.0.0.1: replicas follow and serve
//! READONLY reads, kill -9 and SIGSTOP of a primary promote its replica and the old primary
//! rejoins as a replica, CLUSTER FAILOVER (default, FORCE, TAKEOVER) loses no acknowledged write,
//! and votes stay in nodes.conf across a restart.
mod common;
use common::cluster::*;
use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const NT: u64 = 2000;

/// `n` keys `{prefix}:i` whose slots lie in the primary `p` of 3's range.
fn keys_of_primary(p: usize, prefix: &str, n: usize) -> Vec<String> {
    let per = 16384 / 3;
    let (lo, hi) = (p * per, if p == 2 { 16383 } else { (p + 1) * per - 1 });
    (0..)
        .map(|i| format!("{prefix}:{i}"))
        .filter(|k| (lo..=hi).contains(&(slot_of(k) as usize)))
        .take(n)
        .collect()
}

/// Waits until replica `r` has applied everything primary `p` has.
fn caught_up(p: &Node, r: &Node) {
    let ok = wait_until(Duration::from_secs(20), || {
        info_field(&mut p.conn(), "replication", "master_repl_offset")
            == info_field(&mut r.conn(), "replication", "slave_repl_offset")
    });
    assert!(ok, "replica did not catch up");
}

/// Waits for `node` to be a primary that accepts a write of `key`; returns how long it took.
fn wait_promoted(node: &Node, key: &str, within: Duration) -> Duration {
    let t = Instant::now();
    let promoted = wait_until(within, || {
        if node.role().as_deref() != Some("master") {
            return false;
        }
        let mut c = node.conn();
        redis::cmd("SET")
            .arg(key)
            .arg("after")
            .query::<String>(&mut c)
            .is_ok()
    });
    assert!(
        promoted,
        "{} not promoted within {within:?} (role {:?})",
        node.id,
        node.role()
    );
    t.elapsed()
}

/// Waits until `node` is a replica of `primary` with its link up.
fn wait_replica_of(node: &Node, primary: &Node) {
    let ok = wait_until(Duration::from_secs(30), || {
        node.role().as_deref() == Some("slave")
            && node.primary_of().as_deref() == Some(primary.id.as_str())
            && q::<String>(&mut node.conn(), &["INFO", "replication"])
                .contains("master_link_status:up")
    });
    assert!(ok, "{} did not become a replica of {}", node.id, primary.id);
}

/// GET that retries CLUSTERDOWN (a cluster client retries it too) for a few seconds.
fn get_retrying(c: &mut redis::Connection, key: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match redis::cmd("GET").arg(key).query::<String>(c) {
            Ok(v) => return v,
            Err(e) if e.code() == Some("CLUSTERDOWN") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => panic!("GET {key}: {e}"),
        }
    }
}

/// Waits until every node's CLUSTER NODES has `node` as a replica of `primary` (gossip spreads
/// a role change; voters judge a failover request by what they know).
fn all_see_replica(nodes: &[Node], node: &Node, primary: &Node) {
    let ok = wait_until(Duration::from_secs(20), || {
        nodes.iter().all(|n| {
            let text: String = q(&mut n.conn(), &["CLUSTER", "NODES"]);
            text.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f[0] == node.id && f[2].contains("slave") && f[3] == primary.id
            })
        })
    });
    assert!(
        ok,
        "not every node sees {} replicating {}",
        node.id, primary.id
    );
}

fn all_ok(nodes: &[&Node]) -> bool {
    nodes
        .iter()
        .all(|n| q::<String>(&mut n.conn(), &["CLUSTER", "INFO"]).contains("cluster_state:ok"))
}

#[test]
fn replicas_follow_serve_readonly_reads_and_show_in_cluster_replies() {
    let nodes = form_cluster_with_replicas(3, 1, NT, "rro");
    let (p0, r0) = (&nodes[0], &nodes[3]);
    let keys = keys_of_primary(0, "ro", 200);
    let mut c = p0.conn();
    for k in &keys {
        ok(&mut c, &["SET", k, k]);
    }
    caught_up(p0, r0);
    let mut rc = r0.conn();
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 200);
    // Without READONLY a replica redirects to its primary.
    let moved = e(&mut rc, &["GET", &keys[0]]);
    assert_eq!(
        moved,
        format!("MOVED {} 127.0.0.1:{}", slot_of(&keys[0]), p0.proc.port())
    );
    ok(&mut rc, &["READONLY"]);
    for k in &keys {
        assert_eq!(q::<String>(&mut rc, &["GET", k]), *k);
    }
    // Writes still go to the primary; other primaries' keys are still MOVED.
    assert!(e(&mut rc, &["SET", &keys[0], "x"]).starts_with("MOVED "));
    // So do scripts that declare they may write (a shebang without no-writes, as Redis routes
    // them); a no-writes script and one without a shebang run on the replica.
    let writer = "#!lua\nreturn redis.call('set', KEYS[1], 'x')";
    assert!(e(&mut rc, &["EVAL", writer, "1", &keys[0]]).starts_with("MOVED "));
    let reader = "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])";
    assert_eq!(
        q::<String>(&mut rc, &["EVAL", reader, "1", &keys[0]]),
        keys[0]
    );
    let legacy = "return redis.call('get', KEYS[1])";
    assert_eq!(
        q::<String>(&mut rc, &["EVAL", legacy, "1", &keys[0]]),
        keys[0]
    );
    let other = &keys_of_primary(1, "ro", 1)[0];
    assert!(e(&mut rc, &["GET", other]).starts_with("MOVED "));
    ok(&mut rc, &["READWRITE"]);
    assert!(e(&mut rc, &["GET", &keys[0]]).starts_with("MOVED "));

    // CLUSTER NODES / REPLICAS / SLOTS / SHARDS as Redis prints them.
    let text: String = q(&mut c, &["CLUSTER", "NODES"]);
    let line = text.lines().find(|l| l.starts_with(&r0.id)).unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f[2], "slave");
    assert_eq!(f[3], p0.id);
    assert_eq!(f.len(), 8, "a replica lists no slots: {line}");
    let reps: Vec<String> = q(&mut c, &["CLUSTER", "REPLICAS", &p0.id]);
    assert_eq!(reps.len(), 1);
    assert!(reps[0].starts_with(&format!("{} 127.0.0.1:{}@", r0.id, r0.proc.port())));
    let slaves: Vec<String> = q(&mut c, &["CLUSTER", "SLAVES", &p0.id]);
    assert_eq!(slaves, reps);
    let slots: Vec<redis::Value> = q(&mut c, &["CLUSTER", "SLOTS"]);
    assert_eq!(slots.len(), 3);
    for entry in &slots {
        let redis::Value::Array(parts) = entry else {
            panic!("{entry:?}")
        };
        assert_eq!(parts.len(), 4, "range, primary, one replica: {parts:?}");
    }
    let shards: Vec<redis::Value> = q(&mut c, &["CLUSTER", "SHARDS"]);
    assert_eq!(shards.len(), 3);
    let shards_text = format!("{shards:?}");
    assert!(shards_text.contains("replica"), "{shards_text}");
    let info: String = q(&mut rc, &["INFO", "replication"]);
    assert!(info.contains("role:slave"), "{info}");
    assert!(
        info.contains(&format!("master_port:{}", p0.proc.port())),
        "{info}"
    );
    let info: String = q(&mut c, &["INFO", "replication"]);
    assert!(info.contains("connected_slaves:1"), "{info}");
    assert!(info.contains("slave0:ip=127.0.0.1,"), "{info}");

    // CLUSTER REPLICATE refusals, as Redis words them.
    assert_eq!(
        e(&mut c, &["CLUSTER", "REPLICATE", &"f".repeat(40)]),
        format!("ERR Unknown node {}", "f".repeat(40))
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "REPLICATE", &p0.id]),
        "ERR Can't replicate myself"
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "REPLICATE", &nodes[1].id]),
        "ERR To set a master the node must be empty and without assigned slots."
    );
    assert_eq!(
        e(&mut nodes[4].conn(), &["CLUSTER", "REPLICATE", &r0.id]),
        "ERR I can only replicate a master, not a replica."
    );
    assert_eq!(
        e(&mut c, &["CLUSTER", "FAILOVER"]),
        "ERR You should send CLUSTER FAILOVER to a replica"
    );
    assert_eq!(
        e(&mut rc, &["CLUSTER", "FAILOVER", "SOON"]),
        "ERR syntax error"
    );

    // The failover settings: Redis's names (and the old slave- aliases), their range checks, and
    // cluster-replica-no-failover reaching the others as the nofailover flag.
    for (name, value) in [
        ("cluster-replica-validity-factor", "0"),
        ("cluster-slave-validity-factor", "5"),
        ("cluster-migration-barrier", "2"),
        ("cluster-allow-replica-migration", "no"),
    ] {
        ok(&mut rc, &["CONFIG", "SET", name, value]);
        let got: Vec<String> = q(&mut rc, &["CONFIG", "GET", name]);
        assert_eq!(got, vec![name.to_string(), value.to_string()]);
    }
    let got: Vec<String> = q(
        &mut rc,
        &["CONFIG", "GET", "cluster-replica-validity-factor"],
    );
    assert_eq!(got[1], "5", "the alias sets the same setting");
    assert_eq!(
        e(
            &mut rc,
            &["CONFIG", "SET", "cluster-migration-barrier", "-1"]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'cluster-migration-barrier') - argument must be between 0 and 2147483647 inclusive"
    );
    assert_eq!(
        e(
            &mut rc,
            &["CONFIG", "SET", "cluster-replica-validity-factor", "x"]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'cluster-replica-validity-factor') - argument couldn't be parsed into an integer"
    );
    assert!(
        e(
            &mut rc,
            &["CONFIG", "SET", "cluster-replica-no-failover", "maybe"]
        )
        .contains("argument must be 'yes' or 'no'")
    );
    ok(
        &mut rc,
        &["CONFIG", "SET", "cluster-replica-no-failover", "yes"],
    );
    let flagged = wait_until(Duration::from_secs(10), || {
        let text: String = q(&mut c, &["CLUSTER", "NODES"]);
        text.lines()
            .any(|l| l.starts_with(&r0.id) && l.contains("slave,nofailover"))
    });
    assert!(flagged, "the primary never saw the nofailover flag");
    cleanup(&nodes);
}

#[test]
fn kill_9_promotes_the_replica_and_the_old_primary_rejoins_as_its_replica() {
    let mut nodes = form_cluster_with_replicas(3, 1, NT, "k9");
    let keys = keys_of_primary(0, "k9", 500);
    let mut c = nodes[0].conn();
    for k in &keys {
        ok(&mut c, &["SET", k, &format!("v-{k}")]);
    }
    caught_up(&nodes[0], &nodes[3]);
    nodes[0].proc.signal(9);
    let took = wait_promoted(&nodes[3], &keys[0], Duration::from_millis(8 * NT + 10_000));
    eprintln!("kill -9 -> replica serves writes in {took:?} (node-timeout {NT} ms)");
    // Every acknowledged and replicated key is readable on the new primary.
    let mut nc = nodes[3].conn();
    for k in &keys[1..] {
        assert_eq!(get_retrying(&mut nc, k), format!("v-{k}"));
    }
    let alive: Vec<&Node> = nodes[1..].iter().collect();
    assert!(
        wait_until(Duration::from_secs(10), || all_ok(&alive)),
        "cluster not ok after the failover"
    );
    // The others route the slots to the new primary.
    let moved = e(&mut nodes[1].conn(), &["GET", &keys[0]]);
    assert_eq!(
        moved,
        format!(
            "MOVED {} 127.0.0.1:{}",
            slot_of(&keys[0]),
            nodes[3].proc.port()
        )
    );
    // The voters persisted their vote.
    let conf = std::fs::read_to_string(nodes[1].dir.join("nodes.conf")).unwrap();
    let vars = conf.lines().find(|l| l.starts_with("vars ")).unwrap();
    let last_vote: u64 = vars
        .split_whitespace()
        .skip_while(|w| *w != "lastVoteEpoch")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(last_vote > 0, "{vars}");
    // The old primary comes back, learns it lost its slots and follows the winner.
    nodes[0].restart(NT);
    let (old, new) = (&nodes[0], &nodes[3]);
    wait_replica_of(old, new);
    caught_up(new, old);
    let mut oc = old.conn();
    ok(&mut oc, &["READONLY"]);
    assert_eq!(get_retrying(&mut oc, &keys[0]), "after");
    assert_eq!(q::<i64>(&mut oc, &["DBSIZE"]), keys.len() as i64);
    // A voter restarted from its nodes.conf keeps the vote it gave.
    nodes[1].restart(NT);
    let conf = std::fs::read_to_string(nodes[1].dir.join("nodes.conf")).unwrap();
    assert!(
        conf.contains(&format!("lastVoteEpoch {last_vote}")),
        "{conf}"
    );
    let all: Vec<&Node> = nodes.iter().collect();
    assert!(
        wait_until(Duration::from_secs(20), || all_ok(&all)),
        "cluster not ok after the restarts"
    );
    cleanup(&nodes);
}

#[test]
fn a_frozen_primary_is_replaced_and_rejoins_as_a_replica_without_losing_new_writes() {
    let nodes = form_cluster_with_replicas(3, 1, NT, "stop");
    let keys = keys_of_primary(1, "st", 100);
    let mut c = nodes[1].conn();
    for k in &keys {
        ok(&mut c, &["SET", k, "before"]);
    }
    caught_up(&nodes[1], &nodes[4]);
    nodes[1].proc.signal(19); // SIGSTOP
    let took = wait_promoted(&nodes[4], &keys[0], Duration::from_millis(8 * NT + 10_000));
    eprintln!("SIGSTOP -> replica serves writes in {took:?}");
    let mut nc = nodes[4].conn();
    for k in &keys[..50] {
        ok(&mut nc, &["SET", k, "new"]);
    }
    nodes[1].proc.signal(18); // SIGCONT
    wait_replica_of(&nodes[1], &nodes[4]);
    caught_up(&nodes[4], &nodes[1]);
    // (A node that was frozen sees everyone as unreachable for a moment after it resumes.)
    let all: Vec<&Node> = nodes.iter().collect();
    assert!(
        wait_until(Duration::from_secs(20), || all_ok(&all)),
        "cluster not ok"
    );
    let mut oc = nodes[1].conn();
    ok(&mut oc, &["READONLY"]);
    for (i, k) in keys.iter().enumerate() {
        let want = if i < 50 { "new" } else { "before" };
        assert_eq!(get_retrying(&mut oc, k), want, "{k}");
        assert_eq!(get_retrying(&mut nc, k), want, "{k}");
    }
    cleanup(&nodes);
}

#[test]
fn manual_failover_loses_no_acknowledged_write_and_force_and_takeover_switch_roles() {
    let nodes = form_cluster_with_replicas(3, 1, NT, "mf");
    let (p, r) = (&nodes[2], &nodes[5]);
    // A writer keeps writing to the primary while the replica takes over; what it got OK for
    // must all be on the new primary.
    let keys = keys_of_primary(2, "mf", 100_000);
    let probe = keys_of_primary(2, "probe", 1).remove(0);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let url = p.proc.url();
        let keys = keys.clone();
        std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut acked = Vec::new();
            for k in keys {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                // Paused writes wait; after the switch the old primary answers MOVED.
                match redis::cmd("SET").arg(&k).arg("v").query::<String>(&mut c) {
                    Ok(_) => acked.push(k),
                    Err(_) => break,
                }
            }
            acked
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    ok(&mut r.conn(), &["CLUSTER", "FAILOVER"]);
    let took = wait_promoted(r, &probe, Duration::from_secs(15));
    eprintln!("CLUSTER FAILOVER -> replica serves writes in {took:?}");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().unwrap();
    assert!(!acked.is_empty());
    let mut nc = r.conn();
    for k in &acked {
        assert_eq!(
            q::<i64>(&mut nc, &["EXISTS", k]),
            1,
            "{k} acknowledged, then lost"
        );
    }
    wait_replica_of(p, r);
    all_see_replica(&nodes, p, r);
    // FORCE: the old primary takes back over without its primary's agreement.
    ok(&mut p.conn(), &["CLUSTER", "FAILOVER", "FORCE"]);
    eprintln!("FORCE sent");
    wait_promoted(p, &probe, Duration::from_secs(15));
    wait_replica_of(r, p);
    all_see_replica(&nodes, r, p);
    // TAKEOVER: no election at all.
    ok(&mut r.conn(), &["CLUSTER", "FAILOVER", "TAKEOVER"]);
    eprintln!("TAKEOVER sent");
    wait_promoted(r, &probe, Duration::from_secs(15));
    wait_replica_of(p, r);
    let all: Vec<&Node> = nodes.iter().collect();
    assert!(
        wait_until(Duration::from_secs(20), || all_ok(&all)),
        "cluster not ok"
    );
    cleanup(&nodes);
}

#[test]
fn the_sibling_replica_continues_from_the_promoted_one_without_a_full_sync() {
    // Three primaries with two replicas each: nodes 3 and 6 replicate primary 0.
    let nodes = form_cluster_with_replicas(3, 2, NT, "sib");
    let keys = keys_of_primary(0, "sib", 300);
    let mut c = nodes[0].conn();
    for k in &keys {
        ok(&mut c, &["SET", k, &format!("v-{k}")]);
    }
    caught_up(&nodes[0], &nodes[3]);
    caught_up(&nodes[0], &nodes[6]);
    nodes[0].proc.signal(9);
    // Either replica may win; the other follows it.
    let promoted = wait_until(Duration::from_millis(8 * NT + 10_000), || {
        [3, 6]
            .iter()
            .any(|&i| nodes[i].role().as_deref() == Some("master"))
    });
    assert!(promoted, "no replica was promoted");
    let (winner, sibling) = if nodes[3].role().as_deref() == Some("master") {
        (&nodes[3], &nodes[6])
    } else {
        (&nodes[6], &nodes[3])
    };
    wait_replica_of(sibling, winner);
    let mut w = winner.conn();
    let stat =
        |c: &mut redis::Connection, f: &str| -> i64 { info_field(c, "stats", f).parse().unwrap() };
    assert_eq!(stat(&mut w, "sync_partial_ok"), 1, "the sibling continued");
    assert_eq!(stat(&mut w, "sync_full"), 0, "no full copy was needed");
    ok(&mut w, &["SET", &keys[0], "after"]);
    caught_up(winner, sibling);
    let mut sc = sibling.conn();
    ok(&mut sc, &["READONLY"]);
    assert_eq!(get_retrying(&mut sc, &keys[0]), "after");
    assert_eq!(q::<i64>(&mut sc, &["DBSIZE"]), keys.len() as i64);
    cleanup(&nodes);
}

//! Moving a slot between two primaries by hand, as `redis-cli --cluster reshard` does:
//! CLUSTER SETSLOT, MIGRATE, ASKING, and the -ASK / -TRYAGAIN replies while the slot moves.
mod common;
use common::cluster::*;
use common::*;
use std::time::Duration;

#[test]
fn a_slot_moves_key_by_key_with_ask_and_tryagain() {
    let nodes = form_cluster(2, 2000, "mv");
    let (src, dst) = (&nodes[0], &nodes[1]);
    let mut s = src.conn();
    let mut d = dst.conn();
    // Three keys of one slot owned by the source (node 0 serves 0-8191).
    let (a, b, c) = ("{u1}a", "{u1}b", "{u1}c");
    let slot = slot_of(a);
    assert!(slot < 8192, "{slot}");
    let slot_s = slot.to_string();
    for k in [a, b, c] {
        ok(&mut s, &["SET", k, k]);
    }
    assert_eq!(q::<i64>(&mut s, &["EXPIRE", c, "1000"]), 1);

    // SETSLOT refusals, worded as Redis words them.
    assert_eq!(
        e(
            &mut d,
            &["CLUSTER", "SETSLOT", &slot_s, "MIGRATING", &src.id]
        ),
        format!("ERR I'm not the owner of hash slot {slot}")
    );
    assert_eq!(
        e(
            &mut s,
            &["CLUSTER", "SETSLOT", &slot_s, "IMPORTING", &dst.id]
        ),
        format!("ERR I'm already the owner of hash slot {slot}")
    );
    let nobody = "0".repeat(40);
    assert_eq!(
        e(
            &mut d,
            &["CLUSTER", "SETSLOT", &slot_s, "IMPORTING", &nobody]
        ),
        format!("ERR I don't know about node {nobody}")
    );
    assert_eq!(
        e(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &nobody]),
        format!("ERR Unknown node {nobody}")
    );
    assert_eq!(
        e(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id]),
        format!(
            "ERR Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot."
        )
    );
    let usage = "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP";
    assert_eq!(
        e(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "SIDEWAYS"]),
        usage
    );
    assert_eq!(
        e(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "MIGRATING"]),
        usage
    );
    assert_eq!(
        e(&mut s, &["CLUSTER", "SETSLOT", "16384", "STABLE"]),
        "ERR Invalid or out of range slot"
    );

    // Open the move.
    open_move(&mut s, &mut d, &slot_s, src, dst);
    let nodes_text: String = q(&mut s, &["CLUSTER", "NODES"]);
    assert!(
        nodes_text.contains(&format!("[{slot}->-{}]", dst.id)),
        "{nodes_text}"
    );
    // MIGRATE argument checks.
    let dport = dst.proc.port().to_string();
    assert_eq!(
        e(
            &mut s,
            &["MIGRATE", "127.0.0.1", &dport, a, "0", "1000", "KEYS", b]
        ),
        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
    );
    assert_eq!(
        e(
            &mut s,
            &["MIGRATE", "127.0.0.1", &dport, a, "0", "1000", "SIDEWAYS"]
        ),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut s, &["MIGRATE", "127.0.0.1", "x", a, "0", "1000"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q::<String>(
            &mut s,
            &["MIGRATE", "127.0.0.1", &dport, "{u1}none", "0", "1000"]
        ),
        "NOKEY"
    );
    // Move `a`: the source now answers ASK for it, TRYAGAIN for a and b together, and still
    // serves b alone.
    ok(&mut s, &["MIGRATE", "127.0.0.1", &dport, a, "0", "1000"]);
    let ask = format!("ASK {slot} 127.0.0.1:{dport}");
    assert_eq!(e(&mut s, &["GET", a]), ask);
    assert_eq!(
        e(&mut s, &["SET", a, "new"]),
        ask,
        "a new key goes to the target"
    );
    assert_eq!(
        e(&mut s, &["MGET", a, b]),
        "TRYAGAIN Multiple keys request during rehashing of slot"
    );
    assert_eq!(q::<String>(&mut s, &["GET", b]), b);
    // The target serves the moved key only after ASKING, and a multi-key request only when it
    // holds every key.
    assert_eq!(
        e(&mut d, &["GET", a]),
        format!("MOVED {slot} 127.0.0.1:{}", src.proc.port())
    );
    ok(&mut d, &["ASKING"]);
    assert_eq!(q::<String>(&mut d, &["GET", a]), a);
    assert!(
        e(&mut d, &["GET", a]).starts_with("MOVED "),
        "ASKING holds once"
    );
    ok(&mut d, &["ASKING"]);
    assert_eq!(
        e(&mut d, &["MGET", a, b]),
        "TRYAGAIN Multiple keys request during rehashing of slot"
    );
    // A key already on the target: BUSYKEY comes back unless REPLACE; COPY keeps the source's.
    ok(
        &mut s,
        &["MIGRATE", "127.0.0.1", &dport, b, "0", "1000", "COPY"],
    );
    assert_eq!(q::<String>(&mut s, &["GET", b]), b, "COPY leaves the key");
    assert_eq!(
        e(&mut s, &["MIGRATE", "127.0.0.1", &dport, b, "0", "1000"]),
        "ERR Target instance replied with error: BUSYKEY Target key name already exists."
    );
    ok(
        &mut s,
        &[
            "MIGRATE",
            "127.0.0.1",
            &dport,
            "",
            "0",
            "1000",
            "REPLACE",
            "KEYS",
            b,
            c,
        ],
    );
    assert_eq!(
        q::<i64>(&mut s, &["CLUSTER", "COUNTKEYSINSLOT", &slot_s]),
        0
    );
    // The TTL travelled with the key.
    ok(&mut d, &["ASKING"]);
    let ttl: i64 = q(&mut d, &["TTL", c]);
    assert!((990..=1000).contains(&ttl), "{ttl}");
    // Close the move: target first, then source; both and then everyone route to the target.
    ok(&mut d, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id]);
    ok(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id]);
    assert_eq!(
        e(&mut s, &["GET", a]),
        format!("MOVED {slot} 127.0.0.1:{dport}")
    );
    assert_eq!(q::<Vec<String>>(&mut d, &["MGET", a, b, c]), vec![a, b, c]);
    let text: String = q(&mut s, &["CLUSTER", "NODES"]);
    assert!(!text.contains("->-"), "no longer migrating: {text}");
    // The importer took a config epoch of its own, so the change spreads and sticks.
    let agreed = wait_until(Duration::from_secs(10), || {
        nodes.iter().all(|n| {
            let slots: Vec<redis::Value> = q(&mut n.conn(), &["CLUSTER", "SLOTS"]);
            slots.len() == 4 // 0..s-1, s, s+1..8191, 8192..16383
        })
    });
    assert!(agreed, "the slot map did not converge");
    ok(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "STABLE"]);
    cleanup(&nodes);
}

#[test]
fn migrate_between_plain_servers_with_auth_db_and_failures_keeps_keys() {
    let src = server(&[]);
    let dst = server(&["--requirepass", "sesame"]);
    let mut s = conn(&src);
    let dport = dst.port().to_string();
    for k in ["a", "b", "c", "d"] {
        ok(&mut s, &["SET", k, k]);
    }
    // Wrong or missing credentials: the target's error comes back and the key stays.
    let err = e(&mut s, &["MIGRATE", "127.0.0.1", &dport, "a", "0", "1000"]);
    assert!(
        err.starts_with("ERR Target instance replied with error: NOAUTH"),
        "{err}"
    );
    let err = e(
        &mut s,
        &[
            "MIGRATE",
            "127.0.0.1",
            &dport,
            "a",
            "0",
            "1000",
            "AUTH",
            "wrong",
        ],
    );
    assert!(
        err.starts_with("ERR Target instance replied with error: WRONGPASS"),
        "{err}"
    );
    assert_eq!(q::<String>(&mut s, &["GET", "a"]), "a");
    // AUTH, into database 3.
    ok(
        &mut s,
        &[
            "MIGRATE",
            "127.0.0.1",
            &dport,
            "a",
            "3",
            "1000",
            "AUTH",
            "sesame",
        ],
    );
    assert_eq!(q::<i64>(&mut s, &["EXISTS", "a"]), 0);
    // AUTH2 with the default user, several keys, one of them absent.
    ok(
        &mut s,
        &[
            "MIGRATE",
            "127.0.0.1",
            &dport,
            "",
            "3",
            "1000",
            "AUTH2",
            "default",
            "sesame",
            "KEYS",
            "b",
            "nope",
            "c",
        ],
    );
    let mut d = conn(&dst);
    ok(&mut d, &["AUTH", "sesame"]);
    ok(&mut d, &["SELECT", "3"]);
    assert_eq!(
        q::<Vec<String>>(&mut d, &["MGET", "a", "b", "c"]),
        vec!["a", "b", "c"]
    );
    assert_eq!(q::<i64>(&mut s, &["DBSIZE"]), 1, "only d is left");
    // Nobody listening: IOERR, and the key stays.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    assert_eq!(
        e(&mut s, &["MIGRATE", "127.0.0.1", &closed, "d", "0", "500"]),
        "IOERR error or timeout connecting to the client"
    );
    assert_eq!(q::<String>(&mut s, &["GET", "d"]), "d");
    // The target restarted after we pooled a connection to it: the pooled one is dead, the
    // retry on a fresh one goes through.
    let port = dst.port();
    drop(d);
    drop(dst);
    let port = port.to_string();
    let _dst2 = ServerProcess::start_raw(
        BIN,
        &[
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--requirepass",
            "sesame",
        ],
    );
    ok(
        &mut s,
        &[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "d",
            "0",
            "1000",
            "AUTH",
            "sesame",
        ],
    );
    assert_eq!(q::<i64>(&mut s, &["DBSIZE"]), 0);
}

/// Opens the move of `slot` from `src` to `dst` as operators do: IMPORTING on the target, then
/// MIGRATING on the source.
fn open_move(
    s: &mut redis::Connection,
    d: &mut redis::Connection,
    slot: &str,
    src: &Node,
    dst: &Node,
) {
    ok(d, &["CLUSTER", "SETSLOT", slot, "IMPORTING", &src.id]);
    ok(s, &["CLUSTER", "SETSLOT", slot, "MIGRATING", &dst.id]);
}

/// The node id that `CLUSTER NODES` (as one node sees it) gives `slot` to.
fn owner_seen(nodes_text: &str, slot: u16) -> Option<String> {
    nodes_text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(' ').collect();
        let owns = f.iter().skip(8).any(|r| {
            if r.starts_with('[') {
                return false;
            }
            let (lo, hi) = r.split_once('-').unwrap_or((r, r));
            matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if lo <= slot && slot <= hi)
        });
        owns.then(|| f[0].to_string())
    })
}

/// Issue 17: after `CLUSTER SETSLOT <slot> NODE <target>` closes an import (sent to the
/// target and the source only, as operators and `redis-cli --cluster` do), every node, replicas
/// included, names the new owner at once, because the target tells them all (Redis broadcasts
/// a PONG there). Before, the others learnt it only at their next gossip round (up to about a
/// second with a 2 s node timeout), so a `redis-cli --cluster check` right after a move failed
/// with "Nodes don't agree about configuration!".
#[test]
fn every_node_learns_a_hand_moved_slot_at_once() {
    let nodes = form_cluster_with_replicas(3, 1, 2000, "agree");
    let (src, dst) = (&nodes[0], &nodes[1]);
    let mut s = src.conn();
    let mut d = dst.conn();
    for slot in [10u16, 11, 12, 13, 14] {
        let slot_s = slot.to_string();
        open_move(&mut s, &mut d, &slot_s, src, dst);
        ok(&mut d, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id]);
        ok(&mut s, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id]);
        let agree = || {
            nodes.iter().all(|n| {
                let text: String = q(&mut n.conn(), &["CLUSTER", "NODES"]);
                owner_seen(&text, slot).as_deref() == Some(dst.id.as_str())
            })
        };
        assert!(
            wait_until(Duration::from_millis(300), agree),
            "slot {slot}: not every node names the new owner 300 ms after the move"
        );
    }
    cleanup(&nodes);
}

//! Replication between two real servers: full sync of existing data, the write stream (with its
//! deterministic rewrites), read-only replicas, WAIT, partial resync after a dropped link,
//! expiry driven by the primary, ROLE / INFO replication, promotion.

mod common;
use common::*;
use std::time::Duration;

fn linked(r: &mut redis::Connection) -> bool {
    info_field(r, "replication", "master_link_status") == "up"
}

/// A replica of `p` (with `extra` arguments), once its link to `p` is up.
fn replica_of(p: &ServerProcess, extra: &[&str]) -> (ServerProcess, redis::Connection) {
    let port = p.port().to_string();
    let mut args = vec!["--replicaof", "127.0.0.1", &port];
    args.extend_from_slice(extra);
    let r = server(&args);
    let mut rc = conn(&r);
    assert!(
        wait_until(Duration::from_secs(10), || linked(&mut rc)),
        "link never came up"
    );
    (r, rc)
}

/// Waits until `r` holds `want` for `key` (a GET), or panics after 10 s.
fn eventually_get(r: &mut redis::Connection, key: &str, want: Option<&str>) {
    let ok = wait_until(Duration::from_secs(10), || {
        q::<Option<String>>(r, &["GET", key]).as_deref() == want
    });
    assert!(ok, "replica: GET {key} never became {want:?}");
}

#[test]
fn replica_syncs_streams_and_stays_read_only() {
    let p = server(&[]);
    let mut pc = conn(&p);
    // Data before the replica exists reaches it through the full sync.
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET").arg(format!("old:{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut pc).unwrap();
    let _: i64 = q(&mut pc, &["RPUSH", "list", "a", "b", "c"]);
    let _: i64 = q(&mut pc, &["EXPIRE", "old:1", "1000"]);

    let (_r, mut rc) = replica_of(&p, &[]);
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 2001);
    assert_eq!(q::<String>(&mut rc, &["GET", "old:1999"]), "1999");
    let ttl: i64 = q(&mut rc, &["TTL", "old:1"]);
    assert!((990..=1000).contains(&ttl), "TTL on the replica: {ttl}");

    // The stream: every family, and the commands that must be rewritten to replay alike.
    ok(&mut pc, &["SET", "s", "v", "EX", "100"]);
    let _: i64 = q(&mut pc, &["INCR", "n"]);
    let _: String = q(&mut pc, &["INCRBYFLOAT", "f", "1.5"]);
    let _: i64 = q(&mut pc, &["HSET", "h", "a", "1", "b", "2"]);
    let _: String = q(&mut pc, &["HINCRBYFLOAT", "h", "a", "0.25"]);
    let _: i64 = q(&mut pc, &["SADD", "set", "x", "y", "z", "w"]);
    let popped: Vec<String> = q(&mut pc, &["SPOP", "set", "2"]);
    let _: i64 = q(&mut pc, &["ZADD", "z", "1", "one", "2", "two"]);
    let _: Option<String> = q(&mut pc, &["LPOP", "list"]);
    let _: i64 = q(&mut pc, &["PEXPIRE", "n", "500000"]);
    let _: () = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("t1")
        .arg("1")
        .cmd("SET")
        .arg("t2")
        .arg("2")
        .query(&mut pc)
        .unwrap();
    let _: i64 = q(&mut pc, &["DEL", "old:0"]);
    ok(&mut pc, &["SELECT", "3"]);
    ok(&mut pc, &["SET", "in3", "yes"]);
    ok(&mut pc, &["SELECT", "0"]);
    // WAIT: the replica acknowledges everything written so far.
    let acked: i64 = q(&mut pc, &["WAIT", "1", "5000"]);
    assert_eq!(acked, 1);

    assert_eq!(q::<String>(&mut rc, &["GET", "s"]), "v");
    let ttl: i64 = q(&mut rc, &["TTL", "s"]);
    assert!(
        (95..=100).contains(&ttl),
        "SET EX replicated as an absolute time: {ttl}"
    );
    assert_eq!(q::<String>(&mut rc, &["GET", "n"]), "1");
    assert!(q::<i64>(&mut rc, &["PTTL", "n"]) > 490_000);
    assert_eq!(q::<String>(&mut rc, &["GET", "f"]), "1.5");
    assert_eq!(q::<String>(&mut rc, &["HGET", "h", "a"]), "1.25");
    let mut members: Vec<String> = q(&mut rc, &["SMEMBERS", "set"]);
    members.sort();
    let mut want: Vec<String> = ["x", "y", "z", "w"]
        .iter()
        .map(|s| s.to_string())
        .filter(|m| !popped.contains(m))
        .collect();
    want.sort();
    assert_eq!(members, want, "SPOP replays as SREM of what it popped");
    assert_eq!(
        q::<Vec<String>>(&mut rc, &["ZRANGE", "z", "0", "-1"]),
        vec!["one", "two"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut rc, &["LRANGE", "list", "0", "-1"]),
        vec!["b", "c"]
    );
    assert_eq!(q::<String>(&mut rc, &["GET", "t2"]), "2");
    assert_eq!(q::<Option<String>>(&mut rc, &["GET", "old:0"]), None);
    ok(&mut rc, &["SELECT", "3"]);
    assert_eq!(q::<String>(&mut rc, &["GET", "in3"]), "yes");
    ok(&mut rc, &["SELECT", "0"]);

    // A replica serves reads only.
    assert_eq!(
        e(&mut rc, &["SET", "x", "1"]),
        "READONLY You can't write against a read only replica."
    );
    let role: redis::Value = v(&mut rc, &["ROLE"]);
    let text = format!("{role:?}");
    assert!(
        text.contains("slave") && text.contains("connected"),
        "{text}"
    );
    let role: redis::Value = v(&mut pc, &["ROLE"]);
    assert!(format!("{role:?}").contains("master"));
    assert_eq!(info_field(&mut pc, "replication", "connected_slaves"), "1");
    assert_eq!(info_field(&mut pc, "stats", "sync_full"), "1");

    // Expiry is the primary's: an expired key reads as missing on the replica at once, and
    // its DEL follows.
    ok(&mut pc, &["SET", "short", "x", "PX", "100"]);
    eventually_get(&mut rc, "short", Some("x"));
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(q::<Option<String>>(&mut rc, &["GET", "short"]), None);
    assert!(wait_until(Duration::from_secs(10), || {
        q::<i64>(&mut rc, &["EXISTS", "short"]) == 0
            && q::<i64>(&mut rc, &["DBSIZE"]) == q::<i64>(&mut pc, &["DBSIZE"])
    }));

    // A dropped link resumes from the backlog (partial resync), losing nothing.
    let list: String = q(&mut pc, &["CLIENT", "LIST"]);
    let replica_conn = list
        .lines()
        .find(|l| l.contains("cmd=psync"))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .expect("the replica's connection in CLIENT LIST")
        .to_string();
    let _: i64 = q(&mut pc, &["CLIENT", "KILL", "ID", &replica_conn]);
    ok(&mut pc, &["SET", "after-drop", "1"]);
    assert!(wait_until(Duration::from_secs(10), || linked(&mut rc)));
    eventually_get(&mut rc, "after-drop", Some("1"));
    assert_eq!(info_field(&mut pc, "stats", "sync_partial_ok"), "1");
    assert_eq!(info_field(&mut pc, "stats", "sync_full"), "1");

    // Promotion: the replica takes writes of its own.
    ok(&mut rc, &["REPLICAOF", "NO", "ONE"]);
    ok(&mut rc, &["SET", "mine", "1"]);
    assert_eq!(info_field(&mut rc, "replication", "role"), "master");
}

#[test]
fn replication_commands_check_their_arguments() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        e(&mut c, &["REPLICAOF", "127.0.0.1", "notaport"]),
        "ERR Invalid master port"
    );
    assert_eq!(e(&mut c, &["WAIT", "1", "-1"]), "ERR timeout is negative");
    // No replicas: WAIT answers at once with 0.
    assert_eq!(q::<i64>(&mut c, &["WAIT", "1", "100"]), 0);
    ok(&mut c, &["REPLICAOF", "NO", "ONE"]);
    assert!(e(&mut c, &["REPLCONF", "bogus", "1"]).starts_with("ERR Unrecognized REPLCONF option"));
    let role: redis::Value = v(&mut c, &["ROLE"]);
    assert!(format!("{role:?}").contains("master"));
}

/// A replica attached while writers hammer the primary ends up with exactly the primary's data:
/// the snapshot and the stream after it neither lose nor repeat a write.
#[test]
fn a_replica_attached_under_load_matches_the_primary() {
    let p = server(&[]);
    let mut pc = conn(&p);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let url = p.url();
            std::thread::spawn(move || {
                let client = redis::Client::open(url).expect("client");
                let mut w = client.get_connection().expect("connect");
                for round in 0..150 {
                    let mut pipe = redis::pipe();
                    for k in 0..100 {
                        pipe.cmd("INCR")
                            .arg(format!("c:{}", (k * 7 + t) % 300))
                            .ignore();
                        pipe.cmd("RPUSH")
                            .arg(format!("l:{t}"))
                            .arg(round * 100 + k)
                            .ignore();
                    }
                    pipe.cmd("SET").arg(format!("last:{t}")).arg(round).ignore();
                    let _: () = pipe.query(&mut w).expect("writes");
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    let port = p.port().to_string();
    let r = server(&["--replicaof", "127.0.0.1", &port]);
    let mut rc = conn(&r);
    assert!(wait_until(Duration::from_secs(10), || linked(&mut rc)));
    assert!(
        writers.iter().any(|w| !w.is_finished()),
        "the writers finished before the replica synced: the test proves nothing"
    );
    for w in writers {
        w.join().expect("writer");
    }
    // WAIT waits for this connection's own last write: write once after the writers, so it
    // covers everything they wrote (a connection that wrote nothing would not wait at all).
    ok(&mut pc, &["SET", "fence", "1"]);
    assert_eq!(q::<i64>(&mut pc, &["WAIT", "1", "10000"]), 1);
    let keys: Vec<String> = q(&mut pc, &["KEYS", "*"]);
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), keys.len() as i64);
    for k in &keys {
        let want: redis::Value = v(&mut pc, &["DUMP", k]);
        let got: redis::Value = v(&mut rc, &["DUMP", k]);
        assert_eq!(got, want, "{k} differs");
    }
    let total: i64 = (0..300)
        .map(|k| q::<Option<i64>>(&mut rc, &["GET", &format!("c:{k}")]).unwrap_or(0))
        .sum();
    assert_eq!(total, 4 * 150 * 100, "every INCR counted once");
}

fn stat(c: &mut redis::Connection, field: &str) -> i64 {
    info_field(c, "stats", field).parse().unwrap()
}

#[test]
fn after_a_promotion_siblings_and_the_old_primary_continue_without_a_full_sync() {
    // P with replicas A and B; A is promoted; B and then P follow A.
    let p = server(&["--repl-backlog-size", "1mb"]);
    let mut pc = conn(&p);
    for i in 0..500 {
        ok(&mut pc, &["SET", &format!("k{i}"), &i.to_string()]);
    }
    let pport = p.port().to_string();
    let a = server(&["--replicaof", "127.0.0.1", &pport]);
    let b = server(&["--replicaof", "127.0.0.1", &pport]);
    let (mut ac, mut bc) = (conn(&a), conn(&b));
    for c in [&mut ac, &mut bc] {
        assert!(wait_until(Duration::from_secs(10), || linked(c)));
    }
    for i in 500..800 {
        ok(&mut pc, &["SET", &format!("k{i}"), &i.to_string()]);
    }
    let p_offset = || info_field(&mut conn(&p), "replication", "master_repl_offset");
    let caught_up = |c: &mut redis::Connection, want: &str| {
        wait_until(Duration::from_secs(10), || {
            info_field(c, "replication", "slave_repl_offset") == want
        })
    };
    let off = p_offset();
    assert!(caught_up(&mut ac, &off) && caught_up(&mut bc, &off));
    let old_id = info_field(&mut pc, "replication", "master_replid");
    assert_eq!(info_field(&mut ac, "replication", "master_replid"), old_id);

    ok(&mut ac, &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(info_field(&mut ac, "replication", "master_replid2"), old_id);
    let second: i64 = info_field(&mut ac, "replication", "second_repl_offset")
        .parse()
        .unwrap();
    assert_eq!(second, off.parse::<i64>().unwrap() + 1);
    // The old primary stops taking writes (as a failover would make it).
    ok(&mut pc, &["CONFIG", "SET", "replica-read-only", "yes"]);

    let aport = a.port().to_string();
    ok(&mut bc, &["REPLICAOF", "127.0.0.1", &aport]);
    assert!(wait_until(Duration::from_secs(10), || linked(&mut bc)));
    ok(&mut pc, &["REPLICAOF", "127.0.0.1", &aport]);
    assert!(wait_until(Duration::from_secs(10), || linked(&mut pc)));
    assert_eq!(stat(&mut ac, "sync_partial_ok"), 2, "B and P continued");
    assert_eq!(stat(&mut ac, "sync_full"), 0);
    // The replicas took the new primary's ID and keep streaming.
    ok(&mut ac, &["SET", "after", "promotion"]);
    eventually_get(&mut bc, "after", Some("promotion"));
    eventually_get(&mut pc, "after", Some("promotion"));
    assert_eq!(q::<i64>(&mut bc, &["DBSIZE"]), 801);
    assert_eq!(
        info_field(&mut bc, "replication", "master_replid"),
        info_field(&mut ac, "replication", "master_replid")
    );
}

#[test]
fn a_primary_with_writes_its_successor_never_saw_takes_a_full_copy() {
    let p = server(&[]);
    let mut pc = conn(&p);
    ok(&mut pc, &["SET", "base", "1"]);
    let pport = p.port().to_string();
    let a = server(&["--replicaof", "127.0.0.1", &pport]);
    let mut ac = conn(&a);
    assert!(wait_until(Duration::from_secs(10), || linked(&mut ac)));
    eventually_get(&mut ac, "base", Some("1"));
    ok(&mut ac, &["REPLICAOF", "NO", "ONE"]);
    // P goes on taking a write A never got: its history diverged.
    ok(&mut pc, &["SET", "diverged", "yes"]);
    ok(&mut pc, &["REPLICAOF", "127.0.0.1", &a.port().to_string()]);
    assert!(wait_until(Duration::from_secs(10), || linked(&mut pc)));
    assert_eq!(stat(&mut ac, "sync_full"), 1);
    assert_eq!(stat(&mut ac, "sync_partial_err"), 1);
    eventually_get(&mut pc, "diverged", None);
    assert_eq!(q::<String>(&mut pc, &["GET", "base"]), "1");
}

/// A TCP relay to `target` that cuts its first connection once `cut_after` bytes went from
/// the target to the client; later connections pass whole. Returns its port.
fn cutting_relay(target: u16, cut_after: usize) -> u16 {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (n, client) in l.incoming().enumerate() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                return;
            };
            let limit = if n == 0 { cut_after } else { usize::MAX };
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
            });
            let (mut s_in, mut c_out) = (server, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                let mut sent = 0;
                while let Ok(k) = s_in.read(&mut buf) {
                    if k == 0 || c_out.write_all(&buf[..k]).is_err() {
                        break;
                    }
                    sent += k;
                    if sent >= limit {
                        break;
                    }
                }
                let _ = c_out.shutdown(Shutdown::Both);
                let _ = s_in.shutdown(Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_replica_cut_off_during_its_full_sync_starts_over_and_ends_equal() {
    let p = server(&[]);
    let mut pc = conn(&p);
    for chunk in 0..20 {
        let mut pipe = redis::pipe();
        for i in 0..5000 {
            let k = chunk * 5000 + i;
            pipe.cmd("SET").arg(format!("big:{k}")).arg(k).ignore();
        }
        let _: () = pipe.query(&mut pc).unwrap();
    }
    // The first link breaks after 256 KB of the copy (of several MB).
    let relay = cutting_relay(p.port(), 256 * 1024);
    let r = server(&["--replicaof", "127.0.0.1", &relay.to_string()]);
    let mut rc = conn(&r);
    assert!(
        wait_until(Duration::from_secs(30), || linked(&mut rc)),
        "the replica never finished a sync"
    );
    let full: i64 = info_field(&mut pc, "stats", "sync_full").parse().unwrap();
    assert_eq!(full, 2, "the cut copy was started over");
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 100_000);
    assert_eq!(q::<String>(&mut rc, &["GET", "big:99999"]), "99999");
    ok(&mut pc, &["SET", "after", "cut"]);
    eventually_get(&mut rc, "after", Some("cut"));
}

#[test]
fn client_kill_type_replica_drops_the_link_and_it_continues() {
    let p = server(&[]);
    let mut pc = conn(&p);
    ok(&mut pc, &["SET", "a", "1"]);
    let (_r, mut rc) = replica_of(&p, &[]);
    assert_eq!(
        q::<i64>(
            &mut pc,
            &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]
        ),
        0
    );
    assert_eq!(q::<i64>(&mut pc, &["CLIENT", "KILL", "TYPE", "replica"]), 1);
    ok(&mut pc, &["SET", "b", "2"]);
    eventually_get(&mut rc, "b", Some("2"));
    let stat = |f: &str| -> i64 { info_field(&mut conn(&p), "stats", f).parse().unwrap() };
    assert_eq!((stat("sync_full"), stat("sync_partial_ok")), (1, 1));
    assert_eq!(q::<i64>(&mut pc, &["CLIENT", "KILL", "TYPE", "master"]), 0);
    assert!(e(&mut pc, &["CLIENT", "KILL", "TYPE", "sideways"]).contains("Unknown client type"));
}

#[test]
fn a_full_sync_carries_the_primarys_functions_and_drops_the_replicas_own() {
    const LIB: &str = "#!lua name=lib\nredis.register_function{function_name='get', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";
    const STALE: &str = "#!lua name=stale\nredis.register_function('old', function() return 1 end)";
    let p = server(&[]);
    let mut pc = conn(&p);
    assert_eq!(q::<String>(&mut pc, &["FUNCTION", "LOAD", LIB]), "lib");
    ok(&mut pc, &["SET", "k", "v"]);
    // A replica with a library of its own: the full sync replaces it with the primary's.
    let r = server(&[]);
    let mut rc = conn(&r);
    assert_eq!(q::<String>(&mut rc, &["FUNCTION", "LOAD", STALE]), "stale");
    ok(&mut rc, &["REPLICAOF", "127.0.0.1", &p.port().to_string()]);
    assert!(wait_until(Duration::from_secs(10), || linked(&mut rc)));
    assert_eq!(q::<String>(&mut rc, &["FCALL_RO", "get", "1", "k"]), "v");
    assert!(e(&mut rc, &["FCALL_RO", "old", "0"]).contains("Function not found"));
    // Functions loaded later reach it through the stream, as before.
    assert_eq!(q::<String>(&mut pc, &["FUNCTION", "DELETE", "lib"]), "OK");
    let gone = wait_until(Duration::from_secs(10), || {
        redis::cmd("FCALL_RO")
            .arg(&["get", "1", "k"])
            .query::<String>(&mut rc)
            .is_err_and(|e| e.to_string().contains("Function not found"))
    });
    assert!(gone, "FUNCTION DELETE never reached the replica");
}

#[test]
fn min_replicas_to_write_refuses_writes_without_enough_good_replicas() {
    const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
    let p = server(&[]);
    let mut pc = conn(&p);
    ok(&mut pc, &["SET", "x", "v"]);
    let info = |c: &mut redis::Connection| -> String { q(c, &["INFO", "replication"]) };
    assert!(!info(&mut pc).contains("min_slaves_good_slaves"));
    ok(&mut pc, &["CONFIG", "SET", "min-slaves-to-write", "1"]);
    assert_eq!(
        q::<Vec<String>>(&mut pc, &["CONFIG", "GET", "min-replicas-to-write"])[1],
        "1"
    );
    assert!(info(&mut pc).contains("min_slaves_good_slaves:0\r\n"));
    // Writes are refused, reads are not.
    assert_eq!(e(&mut pc, &["SET", "x", "w"]), NOREPLICAS);
    assert_eq!(e(&mut pc, &["DEL", "x"]), NOREPLICAS);
    assert_eq!(q::<String>(&mut pc, &["GET", "x"]), "v");
    // In MULTI the write is refused when queued and EXEC discards the transaction.
    ok(&mut pc, &["MULTI"]);
    assert_eq!(e(&mut pc, &["SET", "x", "w"]), NOREPLICAS);
    assert!(e(&mut pc, &["EXEC"]).starts_with("EXECABORT"));
    // Scripts: one with flags that may write is refused before it starts; a script without
    // flags at its first write; reads and no-writes scripts run.
    let get = "return redis.call('get', KEYS[1])";
    assert_eq!(
        e(&mut pc, &["EVAL", &format!("#!lua\n{get}"), "1", "x"]),
        NOREPLICAS
    );
    assert_eq!(
        q::<String>(
            &mut pc,
            &["EVAL", &format!("#!lua flags=no-writes\n{get}"), "1", "x"]
        ),
        "v"
    );
    assert_eq!(q::<String>(&mut pc, &["EVAL", get, "1", "x"]), "v");
    let set = "return redis.call('set', KEYS[1], 'w')";
    assert!(e(&mut pc, &["EVAL", set, "1", "x"]).starts_with(NOREPLICAS));
    // A lag of 0 turns the check off.
    ok(&mut pc, &["CONFIG", "SET", "min-replicas-max-lag", "0"]);
    ok(&mut pc, &["SET", "x", "v2"]);
    ok(&mut pc, &["CONFIG", "SET", "min-replicas-max-lag", "10"]);
    assert_eq!(e(&mut pc, &["SET", "x", "w"]), NOREPLICAS);

    // An online replica that acknowledges counts as good; the replica itself applies the
    // stream although it has the setting too.
    let (_r, mut rc) = replica_of(&p, &["--min-replicas-to-write", "1"]);
    assert!(
        wait_until(Duration::from_secs(10), || info(&mut pc)
            .contains("min_slaves_good_slaves:1\r\n")),
        "{}",
        info(&mut pc)
    );
    ok(&mut pc, &["SET", "x", "w"]);
    eventually_get(&mut rc, "x", Some("w"));
    assert_eq!(
        q::<String>(&mut pc, &["EVAL", set, "1", "x"]),
        "OK",
        "a script writes with a good replica attached"
    );
    ok(&mut pc, &["CONFIG", "SET", "min-replicas-to-write", "2"]);
    assert_eq!(e(&mut pc, &["SET", "x", "w"]), NOREPLICAS);
    ok(&mut pc, &["CONFIG", "SET", "min-replicas-to-write", "0"]);
    ok(&mut pc, &["SET", "x", "z"]);
    eventually_get(&mut rc, "x", Some("z"));
}

#[test]
fn a_replica_logs_errors_its_primarys_commands_get_and_can_stop_on_them() {
    let p = server(&["--enable-debug-command", "yes"]);
    let mut pc = conn(&p);
    let (mut r, mut rc) = replica_of(&p, &[]);
    let critical = |r: &ServerProcess, what: &str| {
        r.log()
            .iter()
            .filter(|l| l.contains("== CRITICAL ==") && l.contains(what))
            .count()
    };
    // DEBUG REPLICATE sends a command to the replicas without running it here.
    ok(&mut pc, &["DEBUG", "REPLICATE", "fake-command-1", "x"]);
    ok(&mut pc, &["SET", "foo", "bar"]);
    eventually_get(&mut rc, "foo", Some("bar"));
    assert!(
        wait_until(Duration::from_secs(5), || critical(&r, "fake-command-1")
            == 1),
        "{:?}",
        r.log()
    );
    assert_eq!(
        info_field(&mut rc, "stats", "unexpected_error_replies"),
        "1"
    );
    // A writable replica's own data diverges: the primary's INCRBY fails there, logged.
    ok(&mut rc, &["CONFIG", "SET", "replica-read-only", "no"]);
    ok(&mut rc, &["SET", "n", "foo"]);
    let _: i64 = q(&mut pc, &["INCRBY", "n", "1"]);
    ok(&mut pc, &["SET", "foo", "bar2"]);
    eventually_get(&mut rc, "foo", Some("bar2"));
    assert_eq!(q::<String>(&mut rc, &["GET", "n"]), "foo");
    assert!(wait_until(Duration::from_secs(5), || critical(
        &r, "'incrby'"
    ) == 1));
    // propagation-error-behavior panic: a read-only replica stops rather than diverge.
    ok(&mut rc, &["CONFIG", "SET", "replica-read-only", "yes"]);
    ok(
        &mut rc,
        &["CONFIG", "SET", "propagation-error-behavior", "panic"],
    );
    assert_eq!(
        e(
            &mut rc,
            &["CONFIG", "SET", "propagation-error-behavior", "sometimes"]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'propagation-error-behavior') - argument(s) must be one of the following: ignore, panic, panic-on-replicas"
    );
    ok(&mut pc, &["DEBUG", "REPLICATE", "fake-command-2"]);
    assert!(
        r.wait_exit(Duration::from_secs(10)).is_some(),
        "the replica kept running"
    );
    assert_eq!(critical(&r, "fake-command-2"), 1);
}

/// A writable replica expires the keys its own clients gave a TTL (Redis's
/// slaveKeysWithExpire): the primary knows nothing of them and sends no DEL. The primary's
/// keys stay until its DEL, hidden from reads once their TTL passed; a client's write deletes
/// the expired key it meets and starts afresh.
#[test]
fn a_writable_replica_expires_its_own_keys_and_hides_the_primarys() {
    let p = server(&["--enable-debug-command", "yes"]);
    let mut pc = conn(&p);
    let (_r, mut rc) = replica_of(&p, &[]);
    ok(&mut rc, &["CONFIG", "SET", "replica-read-only", "no"]);
    ok(&mut rc, &["SELECT", "5"]);
    ok(&mut rc, &["SET", "own1", "1", "PX", "300"]);
    ok(&mut rc, &["SET", "own2", "2"]);
    let _: i64 = q(&mut rc, &["PEXPIRE", "own2", "300"]);
    ok(&mut rc, &["SET", "kept", "3", "EX", "100"]);
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 3);
    // Not read by anyone: the replica's active expiry deletes them.
    assert!(
        wait_until(Duration::from_secs(5), || q::<i64>(&mut rc, &["DBSIZE"])
            == 1),
        "own keys never expired: DBSIZE {}",
        q::<i64>(&mut rc, &["DBSIZE"])
    );
    assert!(q::<i64>(&mut rc, &["TTL", "kept"]) > 90);

    // The primary's keys: expired but kept until its DEL (active expiry off there).
    ok(&mut pc, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    ok(&mut pc, &["SELECT", "6"]);
    ok(&mut pc, &["SET", "key1", "5", "PX", "10"]);
    ok(&mut pc, &["SET", "key2", "5", "PX", "10"]);
    ok(&mut rc, &["SELECT", "6"]);
    assert!(wait_until(Duration::from_secs(5), || q::<i64>(
        &mut rc,
        &["DBSIZE"]
    ) == 2
        && q::<i64>(&mut rc, &["EXISTS", "key1", "key2"]) == 0));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        q::<i64>(&mut rc, &["DBSIZE"]),
        2,
        "not the replica's to expire"
    );
    assert_eq!(q::<i64>(&mut rc, &["INCR", "key1"]), 1);
    assert_eq!(q::<i64>(&mut rc, &["TTL", "key1"]), -1);
    assert_eq!(q::<Option<String>>(&mut rc, &["GET", "key2"]), None);
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 2);

    // PFCOUNT (it may update the cached estimate) looks keys up as a read: an expired HLL
    // counts 0 on a replica and stays until the primary's DEL.
    ok(&mut rc, &["CONFIG", "SET", "replica-read-only", "yes"]);
    ok(&mut pc, &["SELECT", "7"]);
    ok(&mut rc, &["SELECT", "7"]);
    let _: i64 = q(&mut pc, &["PFADD", "hll", "a", "b", "c"]);
    let _: i64 = q(&mut pc, &["PEXPIRE", "hll", "10"]);
    assert!(wait_until(Duration::from_secs(5), || q::<i64>(
        &mut rc,
        &["DBSIZE"]
    ) == 1
        && q::<i64>(&mut rc, &["EXISTS", "hll"]) == 0));
    assert_eq!(q::<i64>(&mut rc, &["PFCOUNT", "hll"]), 0);
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 1);
}

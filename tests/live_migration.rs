//! Live migration with a real redis-server 7.0.15 (skipped with a message when none is
//! installed): shoal as a replica of Redis under a write load (full sync from Redis's RDB,
//! the command stream, a partial resync after a dropped link, REPLICAOF NO ONE), and
//! redis-server as a replica of shoal.

mod common;
use common::redis_server::*;
use common::*;
use std::time::Duration;

/// Data of every type (but streams) and encoding, in several databases, with TTLs and a
/// function library.
fn fill(c: &mut redis::Connection) {
    fill_every_type(c, |_| {});
}

/// Round `i` of the write load: every kind of write, a transaction, another database, a script.
fn write_round(c: &mut redis::Connection, i: usize) {
    let mut p = redis::pipe();
    p.cmd("SET").arg(format!("w{i}")).arg(i).ignore();
    p.cmd("INCR").arg("counter").ignore();
    p.cmd("RPUSH").arg("biglist").arg(i).ignore();
    p.cmd("HSET")
        .arg("bighash")
        .arg(format!("f{i}"))
        .arg("new")
        .ignore();
    p.cmd("SREM").arg("bigset").arg(format!("m{i}")).ignore();
    p.cmd("ZINCRBY").arg("bigz").arg(1.5).arg("z1").ignore();
    p.cmd("SET")
        .arg(format!("ex{i}"))
        .arg("v")
        .arg("EX")
        .arg(1000)
        .ignore();
    p.cmd("DEL").arg(format!("k{i}")).ignore();
    p.cmd("EVAL")
        .arg("redis.call('SET', KEYS[1], ARGV[1]) return 1")
        .arg(1)
        .arg(format!("lua{i}"))
        .arg(i)
        .ignore();
    let _: () = p.query(c).unwrap();
    let mut p = redis::pipe();
    p.atomic()
        .cmd("LPUSH")
        .arg("txlist")
        .arg(i)
        .ignore()
        .cmd("SELECT")
        .arg(2)
        .ignore()
        .cmd("SET")
        .arg(format!("in2-{i}"))
        .arg(i)
        .ignore()
        .cmd("SELECT")
        .arg(0)
        .ignore();
    let _: () = p.query(c).unwrap();
}

fn offset(c: &mut redis::Connection) -> String {
    info_field(c, "replication", "master_repl_offset")
}

/// Waits until the replica has applied everything the primary produced.
fn caught_up(primary: &mut redis::Connection, replica: &mut redis::Connection) {
    let mut last = (String::new(), String::new());
    let same = wait_until(Duration::from_secs(30), || {
        last = (offset(primary), offset(replica));
        info_field(replica, "replication", "master_link_status") == "up" && last.0 == last.1
    });
    assert!(same, "offsets never matched (primary, replica): {last:?}");
}

#[test]
fn shoal_replicates_a_live_redis_server_then_takes_over() {
    // A slow BGSAVE (20 ms a key) leaves the writes below time to land during the sync.
    let Some(redis) = start_redis("primary", &["--rdb-key-save-delay", "20000"]) else {
        return;
    };
    let mut rc = redis.conn();
    fill(&mut rc);
    let port = redis.port.to_string();
    let shoal = server(&["--replicaof", "127.0.0.1", &port]);
    let mut sc = conn(&shoal);

    // Writes while the link syncs, and a few rounds after it is up.
    let mut i = 0;
    let mut up_at = None;
    while i < 3000 && up_at.is_none_or(|u| i < u + 20) {
        write_round(&mut rc, i);
        if up_at.is_none() && info_field(&mut sc, "replication", "master_link_status") == "up" {
            up_at = Some(i);
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let up_at = up_at.expect("the link never came up");
    assert!(up_at > 0, "no write landed during the sync");
    caught_up(&mut rc, &mut sc);
    let want = dataset(&mut rc);
    assert!(
        want.len() > 200,
        "the load wrote too little: {}",
        want.len()
    );
    assert_same(&want, &dataset(&mut sc));
    assert_eq!(
        info_field(&mut sc, "replication", "master_replid"),
        info_field(&mut rc, "replication", "master_replid")
    );
    // The functions came with the RDB.
    let libs: redis::Value = v(&mut sc, &["FUNCTION", "LIST"]);
    assert!(format!("{libs:?}").contains("mylib"), "{libs:?}");
    assert_eq!(info_field(&mut rc, "stats", "sync_full"), "1");
    // Its acknowledgements (REPLCONF GETACK -> ACK) reach Redis's WAIT.
    ok(&mut rc, &["SET", "waited", "1"]);
    let acked: i64 = q(&mut rc, &["WAIT", "1", "5000"]);
    assert_eq!(acked, 1);

    // A dropped link continues from the offset: PSYNC with Redis's ID -> +CONTINUE.
    let killed: i64 = q(&mut rc, &["CLIENT", "KILL", "TYPE", "replica"]);
    assert_eq!(killed, 1);
    for j in i..i + 50 {
        write_round(&mut rc, j);
    }
    assert!(wait_until(Duration::from_secs(20), || info_field(
        &mut rc,
        "stats",
        "sync_partial_ok"
    ) == "1"));
    caught_up(&mut rc, &mut sc);
    assert_eq!(info_field(&mut rc, "stats", "sync_full"), "1");
    assert_same(&dataset(&mut rc), &dataset(&mut sc));

    // The cut-over: shoal becomes the primary with the data, and takes writes.
    ok(&mut sc, &["REPLICAOF", "NO", "ONE"]);
    assert_eq!(info_field(&mut sc, "replication", "role"), "master");
    ok(&mut sc, &["SET", "after", "cutover"]);
    let n: i64 = q(&mut sc, &["INCR", "counter"]);
    let before: i64 = q(&mut rc, &["GET", "counter"]);
    assert_eq!(n, before + 1);
    let r: i64 = q(&mut sc, &["FCALL", "myfunc", "0"]);
    assert_eq!(r, 42);
}

#[test]
fn a_redis_server_primary_with_nothing_in_it_syncs_too() {
    let Some(redis) = start_redis("empty", &[]) else {
        return;
    };
    let mut rc = redis.conn();
    let shoal = server(&["--replicaof", "127.0.0.1", &redis.port.to_string()]);
    let mut sc = conn(&shoal);
    caught_up(&mut rc, &mut sc);
    let n: i64 = q(&mut sc, &["DBSIZE"]);
    assert_eq!(n, 0);
    ok(&mut rc, &["SET", "k", "v"]);
    caught_up(&mut rc, &mut sc);
    let got: String = q(&mut sc, &["GET", "k"]);
    assert_eq!(got, "v");
}

#[test]
fn a_redis_server_replicates_shoal_under_writes() {
    if !have("redis-server") {
        eprintln!("skipped: redis-server is not installed (CI installs it)");
        return;
    }
    // A slow snapshot (20 ms a key) leaves the writes below time to land during the sync.
    let shoal = server(&["--rdb-key-save-delay", "20000"]);
    let mut sc = conn(&shoal);
    fill(&mut sc);
    let port = shoal.port().to_string();
    let Some(redis) = start_redis("replica", &["--replicaof", "127.0.0.1", &port]) else {
        return;
    };
    let mut rc = redis.conn();
    let mut i = 0;
    let mut up_at = None;
    while i < 3000 && up_at.is_none_or(|u| i < u + 20) {
        write_round(&mut sc, i);
        if up_at.is_none() && info_field(&mut rc, "replication", "master_link_status") == "up" {
            up_at = Some(i);
        }
        i += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let up_at = up_at.expect("the link never came up");
    assert!(up_at > 0, "no write landed during the sync");
    caught_up(&mut sc, &mut rc);
    let want = dataset(&mut sc);
    assert!(
        want.len() > 200,
        "the load wrote too little: {}",
        want.len()
    );
    assert_same(&want, &dataset(&mut rc));
    let libs: redis::Value = v(&mut rc, &["FUNCTION", "LIST"]);
    assert!(format!("{libs:?}").contains("mylib"), "{libs:?}");
    // Its acknowledgements reach WAIT.
    let acked: i64 = q(&mut sc, &["WAIT", "1", "5000"]);
    assert_eq!(acked, 1);

    // A dropped link continues from the offset (Redis asks for offset + 1).
    let killed: i64 = q(&mut rc, &["CLIENT", "KILL", "TYPE", "master"]);
    assert_eq!(killed, 1);
    for j in i..i + 50 {
        write_round(&mut sc, j);
    }
    assert!(wait_until(Duration::from_secs(20), || info_field(
        &mut sc,
        "stats",
        "sync_partial_ok"
    ) == "1"));
    caught_up(&mut sc, &mut rc);
    assert_eq!(info_field(&mut sc, "stats", "sync_full"), "1");
    assert_same(&dataset(&mut sc), &dataset(&mut rc));

    // And back: the redis-server takes over with the data.
    ok(&mut rc, &["REPLICAOF", "NO", "ONE"]);
    let n: i64 = q(&mut rc, &["INCR", "counter"]);
    let before: i64 = q(&mut sc, &["GET", "counter"]);
    assert_eq!(n, before + 1);
}

#[test]
fn pings_keep_a_redis_server_replicas_idle_link() {
    if !have("redis-server") {
        eprintln!("skipped: redis-server is not installed (CI installs it)");
        return;
    }
    let shoal = server(&["--repl-ping-replica-period", "1"]);
    let mut sc = conn(&shoal);
    ok(&mut sc, &["SET", "k", "v"]);
    let port = shoal.port().to_string();
    // It drops a link it hears nothing on for 3 s.
    let Some(redis) = start_redis(
        "idle",
        &["--replicaof", "127.0.0.1", &port, "--repl-timeout", "3"],
    ) else {
        return;
    };
    let mut rc = redis.conn();
    caught_up(&mut sc, &mut rc);
    let at: u64 = offset(&mut sc).parse().unwrap();
    std::thread::sleep(Duration::from_secs(5));
    caught_up(&mut sc, &mut rc);
    let now: u64 = offset(&mut sc).parse().unwrap();
    assert!(now >= at + 3 * 14, "no PINGs in the stream: {at} -> {now}");
    assert_eq!(info_field(&mut sc, "stats", "sync_partial_ok"), "0");
    assert_eq!(info_field(&mut sc, "stats", "sync_full"), "1");
    let got: String = q(&mut rc, &["GET", "k"]);
    assert_eq!(got, "v");
}

/// A primary that speaks just enough of Redis's side of the handshake to send `payload` as its
/// full sync, to every replica that connects (the replica retries after each failure).
fn fake_primary(payload: Vec<u8>) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let payload = payload.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                // Answer PING/AUTH/REPLCONF with +OK (+PONG) until PSYNC, then the payload.
                loop {
                    let Ok(n) = s.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_ascii_uppercase();
                    let cmds = text.matches("\r\n*").count() + 1;
                    if text.contains("$5\r\nPSYNC\r\n") {
                        let head =
                            format!("+FULLRESYNC {} 0\r\n${}\r\n", "a".repeat(40), payload.len());
                        let _ = s.write_all(head.as_bytes());
                        let _ = s.write_all(&payload);
                        // Hold the link open: the replica drops it when the load fails.
                        let _ = s.read(&mut buf);
                        return;
                    }
                    for _ in 0..cmds {
                        let _ = s.write_all(if text.contains("PING") {
                            b"+PONG\r\n"
                        } else {
                            b"+OK\r\n"
                        });
                    }
                    seen.clear();
                }
            });
        }
    });
    port
}

#[test]
fn a_payload_it_cannot_load_leaves_nothing_half_loaded() {
    let Some(redis) = start_redis("corrupt", &[]) else {
        return;
    };
    let mut rc = redis.conn();
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut rc).unwrap();
    let _: String = q(&mut rc, &["SAVE"]);
    // A real redis-server RDB with a byte near its end flipped: the keys before it load, then
    // the checksum (or the value) fails.
    let mut rdb = std::fs::read(redis.dir.join("dump.rdb")).unwrap();
    let at = rdb.len() - 30;
    rdb[at] ^= 0x5a;
    let port = fake_primary(rdb);
    let shoal = server(&["--replicaof", "127.0.0.1", &port.to_string()]);
    let mut sc = conn(&shoal);
    assert!(
        wait_until(Duration::from_secs(20), || shoal
            .log()
            .iter()
            .any(|l| l.contains("the primary's RDB:"))),
        "the failure was never logged: {:?}",
        shoal.log().iter().rev().take(8).collect::<Vec<_>>()
    );
    // Through the retries (each flushes, loads part of the payload under -LOADING and fails)
    // no client ever sees a key.
    let until = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < until {
        if let Ok(n) = redis::cmd("DBSIZE").query::<i64>(&mut sc) {
            assert_eq!(n, 0, "a half-loaded keyspace was served");
        }
        assert_ne!(
            info_field(&mut sc, "replication", "master_link_status"),
            "up"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The stream bytes a replica gets after `PSYNC <id> <offset>`, having announced `capas`.
fn continued(srv: &ServerProcess, capas: &[&str], id: &str, offset: u64, n: usize) -> Vec<u8> {
    let mut c = RawConn::connect(srv.addr);
    for capa in capas {
        let r = c.roundtrip(
            &RawConn::encode(&[b"REPLCONF", b"capa", capa.as_bytes()]),
            5,
        );
        assert_eq!(r, "+OK\r\n");
    }
    c.send(&RawConn::encode(&[
        b"PSYNC",
        id.as_bytes(),
        offset.to_string().as_bytes(),
    ]));
    let line = String::from_utf8(c.read_exact_n(52)).unwrap();
    assert_eq!(line, format!("+CONTINUE {id}\r\n"));
    c.read_exact_n(n)
}

#[test]
fn psync_offsets_count_as_redis_and_older_shoal_replicas_still_continue() {
    let p = server(&[]);
    let mut pc = conn(&p);
    // A replica makes the backlog.
    let r = server(&["--replicaof", "127.0.0.1", &p.port().to_string()]);
    let mut rc = conn(&r);
    caught_up(&mut pc, &mut rc);
    ok(&mut pc, &["SET", "a", "1"]);
    caught_up(&mut pc, &mut rc);
    let id = info_field(&mut pc, "replication", "master_replid");
    let end: u64 = offset(&mut pc).parse().unwrap();
    let last = RawConn::encode(&[b"SET", b"a", b"1"]);
    let held = end - last.len() as u64;
    // Redis's count (a redis-server, or a shoal replica saying so): the first byte it lacks.
    assert_eq!(continued(&p, &[], &id, held + 1, last.len()), last);
    assert_eq!(
        continued(
            &p,
            &["shoal-functions", "shoal-psync-next"],
            &id,
            held + 1,
            last.len()
        ),
        last
    );
    // An older shoal replica: the bytes it holds.
    assert_eq!(
        continued(&p, &["shoal-functions"], &id, held, last.len()),
        last
    );
}

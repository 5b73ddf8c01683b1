//! Connection and server commands: HELLO/RESP3, AUTH, CLIENT, COMMAND, INFO, CONFIG, FLUSH*.
mod common;
use common::*;
use redis::Value;
use std::time::Duration;

fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| *k == Value::BulkString(key.as_bytes().to_vec()))
            .map(|(_, v)| v),
        _ => None,
    }
}

#[test]
fn ping_echo_hello_resp3_shapes() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["PING", "hi"]), "hi");
    assert_eq!(
        e(&mut c, &["PING", "a", "b"]),
        "ERR wrong number of arguments for 'ping' command"
    );
    assert_eq!(q::<String>(&mut c, &["ECHO", "x y"]), "x y");
    assert_eq!(
        e(&mut c, &["HELLO", "4"]),
        "NOPROTO unsupported protocol version"
    );
    assert_eq!(
        e(&mut c, &["HELLO", "x"]),
        "ERR Protocol version is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &["HELLO", "3", "FOO"]),
        "ERR Syntax error in HELLO option 'FOO'"
    );
    let mut c3 = resp3(&s);
    let hello = v(&mut c3, &["HELLO", "3"]);
    assert_eq!(map_get(&hello, "proto"), Some(&Value::Int(3)));
    assert_eq!(
        map_get(&hello, "server"),
        Some(&Value::BulkString(b"redis".to_vec()))
    );
    assert!(
        matches!(map_get(&hello, "version"), Some(Value::BulkString(v)) if v.starts_with(b"7."))
    );
    // RESP3 null and double shapes
    assert_eq!(v(&mut c3, &["GET", "nokey"]), Value::Nil);
    let cfg = v(&mut c3, &["CONFIG", "GET", "appendonly"]);
    assert!(matches!(cfg, Value::Map(_)), "{cfg:?}");
    let info = v(&mut c3, &["INFO", "server"]);
    assert!(matches!(info, Value::VerbatimString { .. }), "{info:?}");
    // HELLO SETNAME, AUTH without a password configured succeeds for the default user
    let r = v(
        &mut c3,
        &["HELLO", "3", "AUTH", "default", "anything", "SETNAME", "me"],
    );
    assert_eq!(map_get(&r, "proto"), Some(&Value::Int(3)));
    assert_eq!(q::<String>(&mut c3, &["CLIENT", "GETNAME"]), "me");
    let r2 = v(&mut c3, &["HELLO", "2"]);
    assert!(
        matches!(r2, Value::Array(_)),
        "HELLO 2 replies with a flat array: {r2:?}"
    );
}

#[test]
fn auth_and_requirepass() {
    let s = server(&["--requirepass", "s3cret"]);
    let mut raw = RawConn::connect(s.addr);
    let noauth = "-NOAUTH Authentication required.\r\n";
    assert_eq!(raw.roundtrip(b"GET a\r\n", noauth.len()), noauth);
    let wrong = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(raw.roundtrip(b"AUTH nope\r\n", wrong.len()), wrong);
    assert_eq!(raw.roundtrip(b"AUTH s3cret\r\n", 5), "+OK\r\n");
    assert_eq!(raw.roundtrip(b"PING\r\n", 7), "+PONG\r\n");
    let c = redis::Client::open(format!("redis://:s3cret@{}/", s.addr)).unwrap();
    let mut c = c.get_connection().unwrap();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    let s2 = server(&[]);
    let mut c2 = conn(&s2);
    assert_eq!(
        e(&mut c2, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
}

#[test]
fn client_subcommands() {
    let s = server(&[]);
    let mut c = conn(&s);
    let mut other = conn(&s);
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    let other_id: i64 = q(&mut other, &["CLIENT", "ID"]);
    assert!(id > 0 && other_id != id);
    assert_eq!(v(&mut c, &["CLIENT", "GETNAME"]), Value::Nil);
    ok(&mut c, &["CLIENT", "SETNAME", "worker-1"]);
    assert_eq!(q::<String>(&mut c, &["CLIENT", "GETNAME"]), "worker-1");
    assert_eq!(
        e(&mut c, &["CLIENT", "SETNAME", "has space"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    ok(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "redis-rs"]);
    ok(&mut c, &["CLIENT", "SETINFO", "LIB-VER", "1.8"]);
    assert_eq!(
        e(&mut c, &["CLIENT", "SETINFO", "FOO", "x"]),
        "ERR Unrecognized option 'FOO'"
    );
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(info.starts_with(&format!("id={id} addr=")), "{info}");
    assert!(
        info.contains("name=worker-1")
            && info.contains("lib-name=redis-rs")
            && info.contains("lib-ver=1.8"),
        "{info}"
    );
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    let only: String = q(&mut c, &["CLIENT", "LIST", "ID", &other_id.to_string()]);
    assert_eq!(only.lines().count(), 1);
    assert_eq!(
        e(&mut c, &["CLIENT", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try CLIENT HELP."
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "ID", "x"]),
        "ERR wrong number of arguments for 'client|id' command"
    );
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &other_id.to_string()]),
        1
    );
    assert!(
        redis::cmd("PING").query::<String>(&mut other).is_err(),
        "killed client is disconnected"
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "KILL", "1.2.3.4:5"]),
        "ERR No such client"
    );
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ID", "99999"]), 0);
}

#[test]
fn client_reply_off_skip() {
    let s = server(&[]);
    let mut raw = RawConn::connect(s.addr);
    raw.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\n");
    assert_eq!(raw.read_exact_n(5), b"+OK\r\n");
    raw.send(b"CLIENT REPLY SKIP\r\nGET a\r\nGET a\r\n");
    assert_eq!(raw.read_exact_n(7), b"$1\r\n1\r\n");
}

#[test]
fn command_table_shape() {
    let s = server(&[]);
    let mut c = conn(&s);
    let n: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    assert!(n > 60);
    let all = v(&mut c, &["COMMAND"]);
    let Value::Array(cmds) = all else { panic!() };
    assert_eq!(cmds.len() as i64, n);
    for cmd in &cmds {
        let Value::Array(f) = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(f.len(), 10, "{f:?}");
    }
    let info = v(&mut c, &["COMMAND", "INFO", "get", "nosuch"]);
    let Value::Array(items) = info else { panic!() };
    assert_eq!(items[1], Value::Nil);
    let Value::Array(get) = &items[0] else {
        panic!()
    };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(
        (&get[3], &get[4], &get[5]),
        (&Value::Int(1), &Value::Int(1), &Value::Int(1))
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        vec!["a", "b"]
    );
    // As Redis 7.0.15: COMMAND GETKEYS takes at least the command and one argument.
    for cmd in ["PING", "NOPE", "GET"] {
        assert_eq!(
            e(&mut c, &["COMMAND", "GETKEYS", cmd]),
            "ERR wrong number of arguments for 'command|getkeys' command"
        );
    }
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "PING", "x"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "NOPE", "x"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "GET", "a", "b"]),
        "ERR Invalid number of arguments specified for command"
    );
    assert!(q::<Vec<String>>(&mut c, &["COMMAND", "LIST"]).contains(&"set".to_string()));
    assert_eq!(
        q::<Vec<String>>(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "getr*"]),
        vec!["getrange"]
    );
    let docs = v(&mut c, &["COMMAND", "DOCS", "get"]);
    assert!(
        matches!(docs, Value::Array(ref a) if a.len() == 2) || matches!(docs, Value::Map(_)),
        "{docs:?}"
    );
    let mut c3 = resp3(&s);
    let Value::Array(cmds3) = v(&mut c3, &["COMMAND"]) else {
        panic!()
    };
    assert_eq!(cmds3.len() as i64, n);
}

#[test]
fn info_config_dbsize_flush_time() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["SET", "b", "1", "EX", "100"]);
    let _: Value = v(&mut c, &["GET", "a"]);
    let _: Value = v(&mut c, &["GET", "zz"]);
    let _ = e(&mut c, &["INCR", "x", "y"]);
    let info: String = q(&mut c, &["INFO"]);
    for field in [
        "# Server",
        "redis_version:7.",
        "shoal_version:",
        "tcp_port:",
        "# Clients",
        "connected_clients:1",
        "# Memory",
        "used_memory:",
        "maxmemory_policy:noeviction",
        "# Stats",
        "keyspace_hits:1",
        "keyspace_misses:1",
        "# Keyspace",
        "db0:keys=2,expires=1",
        "errorstat_ERR:count=1",
    ] {
        assert!(info.contains(field), "missing {field} in\n{info}");
    }
    assert!(!info.contains("# Commandstats"));
    let cs: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(cs.contains("cmdstat_set:calls=2,"), "{cs}");
    assert!(
        cs.contains("cmdstat_incr:calls=0,") && cs.contains("rejected_calls=1"),
        "{cs}"
    );
    let multi: String = q(&mut c, &["INFO", "server", "keyspace"]);
    assert!(
        multi.contains("# Server") && multi.contains("# Keyspace") && !multi.contains("# Stats")
    );
    let every: String = q(&mut c, &["INFO", "everything"]);
    assert!(every.contains("# Commandstats"));
    // CONFIG
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "save"]),
        vec!["save", ""]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "appendonly"]),
        vec!["appendonly", "no"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxclients"]),
        vec!["maxclients", "10000"]
    );
    ok(
        &mut c,
        &["CONFIG", "SET", "maxclients", "500", "timeout", "30"],
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxc*"]),
        vec!["maxclients", "500"]
    );
    ok(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "2mb"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "proto-max-bulk-len"]),
        vec!["proto-max-bulk-len", "2097152"]
    );
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "nosuch", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "databases", "1"]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert!(
        e(&mut c, &["CONFIG", "SET", "maxclients", "abc"])
            .starts_with("ERR CONFIG SET failed (possibly related to argument 'maxclients')")
    );
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "timeout"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
    ok(&mut c, &["CONFIG", "RESETSTAT"]);
    let stats: String = q(&mut c, &["INFO", "stats"]);
    assert!(stats.contains("keyspace_hits:0"), "{stats}");
    // DBSIZE / FLUSH
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    ok(&mut c, &["SELECT", "1"]);
    ok(&mut c, &["SET", "c", "1"]);
    ok(&mut c, &["FLUSHDB", "ASYNC"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    ok(&mut c, &["FLUSHALL", "SYNC"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(e(&mut c, &["FLUSHALL", "LATER"]), "ERR syntax error");
    let (secs, micros): (String, String) = q(&mut c, &["TIME"]);
    assert!(
        secs.parse::<u64>().unwrap() > 1_700_000_000 && micros.parse::<u64>().unwrap() < 1_000_000
    );
    assert!(q::<i64>(&mut c, &["LASTSAVE"]) > 1_700_000_000);
}

#[test]
fn unknown_command_text() {
    let s = server(&[]);
    let mut raw = RawConn::connect(s.addr);
    let want = "-ERR unknown command 'FOO', with args beginning with: 'a' 'b c' \r\n";
    assert_eq!(raw.roundtrip(b"FOO a \"b c\"\r\n", want.len()), want);
    let want = "-ERR unknown command 'nope', with args beginning with: \r\n";
    assert_eq!(raw.roundtrip(b"*1\r\n$4\r\nnope\r\n", want.len()), want);
    assert_eq!(
        raw.roundtrip(b"PING\r\n", 7),
        "+PONG\r\n",
        "the connection carries on"
    );
}

#[test]
fn maxclients_and_idle_timeout() {
    let s = server(&["--maxclients", "2", "--timeout", "1"]);
    let mut a = RawConn::connect(s.addr);
    let mut b = RawConn::connect(s.addr);
    assert_eq!(a.roundtrip(b"PING\r\n", 7), "+PONG\r\n");
    assert_eq!(b.roundtrip(b"PING\r\n", 7), "+PONG\r\n");
    let mut c = RawConn::connect(s.addr);
    let want = "-ERR max number of clients reached\r\n";
    assert_eq!(String::from_utf8_lossy(&c.read_exact_n(want.len())), want);
    assert!(c.is_closed());
    // idle clients are closed after `timeout` seconds
    std::thread::sleep(Duration::from_millis(1600));
    assert!(a.is_closed());
    assert!(b.is_closed());
    let mut d = RawConn::connect(s.addr);
    assert_eq!(
        d.roundtrip(b"PING\r\n", 7),
        "+PONG\r\n",
        "slots are free again"
    );
}

#[test]
fn reset_and_quit() {
    let s = server(&[]);
    let mut raw = RawConn::connect(s.addr);
    raw.send(b"SELECT 3\r\nMULTI\r\nRESET\r\nSET k v\r\n");
    assert_eq!(
        raw.read_exact_n(5 + 5 + 8 + 5),
        b"+OK\r\n+OK\r\n+RESET\r\n+OK\r\n"
    );
    let mut c = conn(&s);
    assert_eq!(
        q::<String>(&mut c, &["GET", "k"]),
        "v",
        "RESET went back to db 0"
    );
    assert_eq!(raw.roundtrip(b"QUIT\r\n", 5), "+OK\r\n");
    assert!(raw.is_closed());
}

#[test]
fn slowlog_records_slow_commands() {
    let s = server(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "3"]);
    let mut c = conn(&s);
    ok(&mut c, &["CLIENT", "SETNAME", "slowpoke"]);
    ok(&mut c, &["SLOWLOG", "RESET"]);
    let big = "x".repeat(200);
    ok(&mut c, &["SET", "k", &big]);
    let _: String = q(&mut c, &["GET", "k"]);
    let entries = v(&mut c, &["SLOWLOG", "GET", "1"]);
    let Value::Array(list) = entries else {
        panic!()
    };
    assert_eq!(list.len(), 1);
    let Value::Array(e0) = &list[0] else { panic!() };
    assert_eq!(e0.len(), 6);
    assert_eq!(
        e0[3],
        Value::Array(vec![
            Value::BulkString(b"GET".to_vec()),
            Value::BulkString(b"k".to_vec())
        ])
    );
    assert_eq!(e0[5], Value::BulkString(b"slowpoke".to_vec()));
    let Value::Array(all) = v(&mut c, &["SLOWLOG", "GET", "-1"]) else {
        panic!()
    };
    assert_eq!(all.len(), 3, "bounded by slowlog-max-len");
    let Value::Array(set) = &all[2] else { panic!() };
    let Value::Array(args) = &set[3] else {
        panic!()
    };
    assert_eq!(
        args[2],
        Value::BulkString(format!("{}... (72 more bytes)", "x".repeat(128)).into_bytes())
    );
    assert_eq!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]), 3);
    ok(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    ok(&mut c, &["SLOWLOG", "RESET"]);
    let _: String = q(&mut c, &["PING"]);
    assert_eq!(
        q::<i64>(&mut c, &["SLOWLOG", "LEN"]),
        0,
        "a negative threshold turns it off"
    );
    let cs: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(cs.contains("cmdstat_get:calls=1,"), "{cs}");
}

#[test]
fn latency_histogram_latencystats_and_auth_failures() {
    let s = server(&["--requirepass", "pw"]);
    let mut raw = RawConn::connect(s.addr);
    let wrong = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(raw.roundtrip(b"AUTH bad\r\n", wrong.len()), wrong);
    let c = redis::Client::open(format!("redis://:pw@{}/", s.addr)).unwrap();
    let mut c = c.get_connection().unwrap();
    for _ in 0..10 {
        ok(&mut c, &["SET", "k", "v"]);
    }
    let h = v(&mut c, &["LATENCY", "HISTOGRAM", "set", "nosuch"]);
    let Value::Array(items) = h else {
        panic!("{h:?}")
    };
    assert_eq!(items.len(), 2, "one command: name and its map");
    assert_eq!(items[0], Value::BulkString(b"set".to_vec()));
    let Value::Array(inner) = &items[1] else {
        panic!()
    };
    assert_eq!(inner[0], Value::BulkString(b"calls".to_vec()));
    assert_eq!(inner[1], Value::Int(10));
    let info: String = q(&mut c, &["INFO", "latencystats"]);
    assert!(info.contains("latency_percentiles_usec_set:p50="), "{info}");
    let stats: String = q(&mut c, &["INFO", "stats"]);
    assert!(stats.contains("acl_access_denied_auth:1"), "{stats}");
    assert_eq!(v(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]));
}

/// Reads from `raw` until `pat` has been seen; returns everything read.
fn read_until(raw: &mut RawConn, pat: &str) -> String {
    let mut got = String::new();
    while !got.contains(pat) {
        let b = raw.read_exact_n(1);
        assert!(
            !b.is_empty(),
            "connection ended before {pat:?}; got {got:?}"
        );
        got.push_str(&String::from_utf8_lossy(&b));
    }
    got
}

#[test]
fn monitor_streams_commands_and_drops_slow_monitors() {
    let s = server(&[]);
    let mut m = RawConn::connect(s.addr);
    assert_eq!(m.roundtrip(b"MONITOR\r\n", 5), "+OK\r\n");
    let mut c = conn(&s);
    ok(&mut c, &["SET", "a b", "x\"y\n\u{1}"]);
    let _: Option<String> = q(&mut c, &["GET", "a b"]);
    // admin commands and credentials are not shown
    let _: Value = v(&mut c, &["CONFIG", "GET", "maxmemory"]);
    ok(&mut c, &["SELECT", "2"]);
    let _: i64 = q(&mut c, &["DEL", "gone"]);
    let seen = read_until(&mut m, "\"gone\"\r\n");
    // (the client library's own CLIENT SETINFO calls are shown too, as by Redis)
    let lines: Vec<&str> = seen.lines().filter(|l| !l.contains("\"CLIENT\"")).collect();
    assert_eq!(lines.len(), 4, "{seen}");
    let stamps: Vec<f64> = lines
        .iter()
        .map(|l| l[1..l.find(' ').unwrap_or(1)].parse().unwrap_or(0.0))
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{seen}");
    assert!(lines[0].starts_with('+'), "{seen}");
    assert!(
        lines[0].ends_with(r#" "SET" "a b" "x\"y\n\x01""#) && lines[0].contains(" [0 127.0.0.1:"),
        "{seen}"
    );
    assert!(lines[1].ends_with(r#""GET" "a b""#), "{seen}");
    assert!(lines[2].ends_with(r#""SELECT" "2""#), "{seen}");
    assert!(lines[3].contains("[2 127.0.0.1:") && lines[3].ends_with(r#""DEL" "gone""#));
    // The monitor can still run commands; it sees its own too.
    m.send(b"PING\r\n");
    let mut seen = read_until(&mut m, "\"PING\"\r\n");
    if !seen.contains("+PONG\r\n") {
        seen += &read_until(&mut m, "+PONG\r\n");
    }
    drop(m);
    let clients = || {
        let info: String = q(&mut conn(&s), &["INFO", "clients"]);
        info.contains("connected_clients:2\r\n") // `c` and the one asking
    };
    assert!(wait_until(Duration::from_secs(5), clients));

    // A monitor that never reads is dropped once its queue is full, instead of the server
    // holding every line for it.
    let mut slow = RawConn::connect(s.addr);
    assert_eq!(slow.roundtrip(b"MONITOR\r\n", 5), "+OK\r\n");
    let value = "v".repeat(1024);
    let mut w = RawConn::connect(s.addr);
    let mut batch = Vec::new();
    for i in 0..2_000 {
        batch.extend(RawConn::encode(&[
            b"SET",
            format!("k{i}").as_bytes(),
            value.as_bytes(),
        ]));
    }
    for _ in 0..25 {
        w.send(&batch);
        assert_eq!(w.read_exact_n(5 * 2_000), b"+OK\r\n".repeat(2_000));
    }
    drop(w);
    assert!(slow.is_closed(), "slow monitor was dropped");
    assert!(wait_until(Duration::from_secs(5), clients));
}

#[test]
fn client_pause_holds_writes_or_everything_until_unpause_or_deadline() {
    let s = server(&[]);
    let mut admin = conn(&s);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "k", "before"]);
    // WRITE: reads go on, a write waits (its reply too) until CLIENT UNPAUSE.
    ok(&mut admin, &["CLIENT", "PAUSE", "20000", "WRITE"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "before");
    let writer = {
        let url = s.url();
        std::thread::spawn(move || {
            let mut w = redis::Client::open(url).unwrap().get_connection().unwrap();
            let t = std::time::Instant::now();
            let r: String = redis::cmd("SET")
                .arg("k")
                .arg("after")
                .query(&mut w)
                .unwrap();
            (r, t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        q::<String>(&mut c, &["GET", "k"]),
        "before",
        "the paused write has not run"
    );
    ok(&mut admin, &["CLIENT", "UNPAUSE"]);
    let (reply, waited) = writer.join().unwrap();
    assert_eq!(reply, "OK");
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "after", "nothing lost");
    // ALL (the default): reads wait too, until the deadline.
    ok(&mut admin, &["CLIENT", "PAUSE", "400"]);
    let t = std::time::Instant::now();
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "after");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    // Refusals, worded as Redis words them.
    assert_eq!(
        e(&mut admin, &["CLIENT", "PAUSE", "soon"]),
        "ERR timeout is not an integer or out of range"
    );
    assert_eq!(
        e(&mut admin, &["CLIENT", "PAUSE", "-1"]),
        "ERR timeout is negative"
    );
    assert_eq!(
        e(&mut admin, &["CLIENT", "PAUSE", "10", "READS"]),
        "ERR CLIENT PAUSE mode must be WRITE or ALL"
    );
    assert_eq!(
        e(&mut admin, &["CLIENT", "UNPAUSE", "now"]),
        "ERR wrong number of arguments for 'client|unpause' command"
    );
}

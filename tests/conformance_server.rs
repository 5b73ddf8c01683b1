//! Server-side behaviour Redis 7.0.15's own test suite checks (units introspection,
//! introspection-2, multi, pause, querybuf, lazyfree, dump, violations): the configuration table
//! behind CONFIG, CLIENT LIST fields, CLIENT REPLY, MONITOR order, WATCH and FLUSHALL, pauses.
mod common;
use common::*;
use std::time::{Duration, Instant};

fn config_get(c: &mut redis::Connection, pat: &str) -> Vec<(String, String)> {
    let flat: Vec<String> = q(c, &["CONFIG", "GET", pat]);
    flat.chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

#[test]
fn config_get_knows_every_redis_7_parameter_and_hides_test_hooks() {
    let s = server(&[]);
    let mut c = conn(&s);
    let all = config_get(&mut c, "*");
    let names: std::collections::HashSet<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    for name in include_str!("../crates/shoal-commands/src/config/redis-7.0-params.txt").lines() {
        assert!(names.contains(name), "CONFIG GET * lacks {name}");
    }
    // Hidden parameters answer by exact name only.
    assert!(!names.contains("key-load-delay"));
    assert_eq!(
        config_get(&mut c, "key-load-delay"),
        vec![("key-load-delay".to_string(), "0".to_string())]
    );
    // Both names of an aliased parameter, one value.
    let mut z = config_get(&mut c, "zset-max-*-entries");
    z.sort();
    assert_eq!(
        z,
        vec![
            ("zset-max-listpack-entries".into(), "128".into()),
            ("zset-max-ziplist-entries".into(), "128".into())
        ]
    );
    ok(&mut c, &["CONFIG", "SET", "zset-max-ziplist-entries", "16"]);
    assert_eq!(
        config_get(&mut c, "zset-max-listpack-entries")[0].1,
        "16".to_string()
    );
    // Every parameter CONFIG GET shows can be set back to the value it shows (Redis's
    // "CONFIG sanity"), except the ones fixed at startup in Redis too.
    let fixed = [
        "daemonize",
        "databases",
        "tcp-backlog",
        "cluster-enabled",
        "cluster-config-file",
        "cluster-port",
        "logfile",
        "pidfile",
        "unixsocket",
        "unixsocketperm",
        "dir",
        "dbfilename",
        "replicaof",
        "slaveof",
        "rdbchecksum",
        "io-threads-do-reads",
        "always-show-logo",
        "syslog-enabled",
        "syslog-ident",
        "syslog-facility",
        "supervised",
        "disable-thp",
        "aclfile",
        "appendfilename",
        "appenddirname",
        "server_cpulist",
        "bio_cpulist",
        "aof_rewrite_cpulist",
        "bgsave_cpulist",
        "set-proc-title",
        "enable-protected-configs",
        "enable-debug-command",
        "enable-module-command",
        "socket-mark-id",
        "oom-score-adj",
        "oom-score-adj-values",
    ];
    for (k, val) in &all {
        if fixed.contains(&k.as_str()) || k == "requirepass" {
            continue;
        }
        let r: redis::RedisResult<()> = redis::cmd("CONFIG")
            .arg("SET")
            .arg(k)
            .arg(val)
            .query(&mut c);
        assert!(r.is_ok(), "CONFIG SET {k} {val:?}: {r:?}");
    }
    assert_eq!(config_get(&mut c, "*"), all);
}

#[test]
fn config_set_errors_are_redis_texts_and_change_nothing() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        e(
            &mut c,
            &["CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"
    );
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "daemonize", "yes"]),
        "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
    );
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "nosuch", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(
        e(
            &mut c,
            &[
                "CONFIG",
                "SET",
                "maxmemory",
                "5mb",
                "maxmemory-clients",
                "200%"
            ]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"
    );
    assert_eq!(config_get(&mut c, "maxmemory")[0].1, "0");
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "maxclients", "0"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"
    );
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "activerehashing", "maybe"]),
        "ERR CONFIG SET failed (possibly related to argument 'activerehashing') - argument must be 'yes' or 'no'"
    );
    // What shoal cannot honour is refused, never an OK that does nothing.
    for (k, v) in [("appendonly", "yes"), ("maxmemory-clients", "1")] {
        let err = e(&mut c, &["CONFIG", "SET", k, v]);
        assert!(err.contains("not supported"), "{k}: {err}");
    }
    ok(&mut c, &["CONFIG", "SET", "appendonly", "no", "save", ""]);
    // Keyspace events are honoured now: a bad class letter is Redis's error.
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    assert!(
        e(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KQ"])
            .contains("Invalid event class character")
    );
    // Parameters shoal fixes at startup take only their present value.
    let threads = config_get(&mut c, "threads")[0].1.clone();
    ok(&mut c, &["CONFIG", "SET", "threads", &threads]);
    assert!(e(&mut c, &["CONFIG", "SET", "threads", "7"]).contains("can't set immutable config"));
    // Protected parameters need enable-protected-configs.
    assert!(
        e(&mut c, &["CONFIG", "SET", "dbfilename", "x.rdb"]).contains("can't set protected config")
    );
}

#[test]
fn config_set_port_listens_elsewhere_or_rolls_back() {
    let s = server(&[]);
    let mut c = conn(&s);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let err = e(&mut c, &["CONFIG", "SET", "port", &busy_port]);
    assert!(
        err.starts_with("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port"),
        "{err}"
    );
    assert_eq!(config_get(&mut c, "port")[0].1, s.port().to_string());
    drop(busy);
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let new_port = free.local_addr().unwrap().port();
    drop(free);
    // Other addresses on the same port would need the old listeners closed first: refused,
    // nothing changes.
    let err = e(&mut c, &["CONFIG", "SET", "bind", "127.0.0.1 -::1"]);
    assert!(
        err.starts_with("ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses"),
        "{err}"
    );
    assert_eq!(config_get(&mut c, "bind")[0].1, "127.0.0.1");
    let err = e(&mut c, &["CONFIG", "SET", "bind", "999.1.1.1"]);
    assert!(err.contains("Invalid bind address '999.1.1.1'"), "{err}");
    ok(&mut c, &["CONFIG", "SET", "port", &new_port.to_string()]);
    assert_eq!(config_get(&mut c, "port")[0].1, new_port.to_string());
    // The connected client stays; new ones reach the new port, not the old.
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    let mut raw = RawConn::connect(format!("127.0.0.1:{new_port}").parse().unwrap());
    assert_eq!(raw.roundtrip(b"PING\r\n", 7), "+PONG\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(s.addr).is_ok() {
        assert!(Instant::now() < deadline, "old port still accepts");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn config_rewrite_keeps_the_file_and_saves_changes() {
    let dir = std::env::temp_dir().join(format!("shoal-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shoal.conf");
    std::fs::write(&path, "# my settings\nmaxclients 50\n\n# the end\n").unwrap();
    let s = ServerProcess::start_raw(
        BIN,
        &[
            path.to_str().unwrap(),
            "--ephemeral-ports",
            "port",
            "--bind",
            "127.0.0.1",
        ],
    );
    let mut c = conn(&s);
    ok(
        &mut c,
        &["CONFIG", "SET", "maxclients", "60", "timeout", "30"],
    );
    ok(&mut c, &["CONFIG", "REWRITE"]);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# my settings\nmaxclients 60\n\n# the end\n"),
        "{text}"
    );
    assert!(text.contains("# Generated by CONFIG REWRITE\n"), "{text}");
    assert!(text.contains("\ntimeout 30\n"), "{text}");
    // port/bind from the command line are part of the running config: written too.
    assert!(text.contains("\nbind 127.0.0.1\n"), "{text}");
    std::fs::remove_dir_all(&dir).ok();

    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        e(&mut c, &["CONFIG", "REWRITE"]),
        "ERR The server is running without a config file"
    );
}

#[test]
fn debug_is_refused_unless_enabled_and_sleep_takes_its_time() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert!(e(&mut c, &["DEBUG", "SLEEP", "0"]).starts_with("ERR DEBUG command not allowed."));
    let s = server(&["--enable-debug-command", "local"]);
    let mut c = conn(&s);
    ok(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "100000"],
    );
    let t = Instant::now();
    ok(&mut c, &["DEBUG", "SLEEP", "0.3"]);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "replied before sleeping"
    );
    let log: Vec<redis::Value> = q(&mut c, &["SLOWLOG", "GET"]);
    assert_eq!(log.len(), 1, "DEBUG SLEEP 0.3 is in the slow log");
}

#[test]
fn client_reply_skip_then_on_answers_the_on() {
    let s = server(&[]);
    let mut raw = RawConn::connect(s.addr);
    let mut batch = Vec::new();
    for cmd in [
        &["CLIENT", "REPLY", "SKIP"][..],
        &["CLIENT", "REPLY", "ON"],
        &["PING"],
    ] {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        batch.extend(RawConn::encode(&args));
    }
    assert_eq!(raw.roundtrip(&batch, 12), "+OK\r\n+PONG\r\n");
}

#[test]
fn client_list_fields_as_redis_7_0() {
    let s = server(&[]);
    let mut c = conn(&s);
    let line: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(!line.contains(" watch="), "{line}");
    assert!(line.contains(" multi=-1 qbuf=26 qbuf-free="), "{line}");
    assert!(line.contains(" argv-mem=10 "), "{line}");
    assert!(
        line.contains(" cmd=client|info user=default redir=-1 resp="),
        "{line}"
    );
    let fd: i64 = line
        .split(' ')
        .find_map(|f| f.strip_prefix("fd="))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(fd > 2, "{line}");
    let cmds: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"],
    );
    for want in [
        "config",
        "config|get",
        "config|set",
        "config|rewrite",
        "config|resetstat",
    ] {
        assert!(cmds.iter().any(|n| n == want), "{want} not in {cmds:?}");
    }
    let all: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    assert!(all.iter().any(|n| n == "client|list"));
}

/// Numeric fields of the CLIENT LIST line of the client named `name`, from one CLIENT LIST.
fn client_fields<const N: usize>(
    c: &mut redis::Connection,
    name: &str,
    fields: [&str; N],
) -> [usize; N] {
    let list: String = q(c, &["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" name={name} ")))
        .unwrap_or_else(|| panic!("no client {name} in {list}"));
    fields.map(|field| {
        let key = format!("{field}=");
        line.split(' ')
            .find_map(|f| f.strip_prefix(key.as_str()))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {line}"))
    })
}

fn client_field(c: &mut redis::Connection, name: &str, field: &str) -> usize {
    client_fields(c, name, [field])[0]
}

/// The query buffer's allocation as CLIENT LIST shows it: qbuf + qbuf-free.
fn query_buffer(c: &mut redis::Connection, name: &str) -> usize {
    let [qbuf, free] = client_fields(c, name, ["qbuf", "qbuf-free"]);
    qbuf + free
}

/// CLIENT LIST's idle seconds and qbuf + qbuf-free of the client named `name`, seen together.
fn idle_and_query_buffer(c: &mut redis::Connection, name: &str) -> (usize, usize) {
    let [idle, qbuf, free] = client_fields(c, name, ["idle", "qbuf", "qbuf-free"]);
    (idle, qbuf + free)
}

#[test]
fn query_buffer_shrinks_to_its_recent_peak_while_the_client_is_busy() {
    let s = server(&[]);
    let mut big = conn(&s);
    let mut other = conn(&s);
    ok(&mut big, &["CLIENT", "SETNAME", "big"]);
    let fresh = query_buffer(&mut other, "big");
    assert!((16384..32768).contains(&fresh), "{fresh}");
    let value = "A".repeat(400_000);
    ok(&mut big, &["SET", "x", &value]);
    let grown = query_buffer(&mut other, "big");
    assert!(grown > 400_000, "{grown}");
    // As Redis's clients cron: resized once the buffer is over twice what the client has used
    // since the cron last looked, while the client keeps sending small commands (never idle).
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        ok(&mut big, &["SET", "x", &"A".repeat(100)]);
        let now = query_buffer(&mut other, "big");
        if now < grown {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "still {now} bytes after a small command"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(after > 0 && after < 32768, "{after}");
    assert_eq!(client_field(&mut other, "big", "idle"), 0);
    let got: String = q(&mut big, &["GET", "x"]);
    assert_eq!(got.len(), 100);
}

#[test]
fn idle_client_query_buffer_is_freed_and_made_again_when_it_sends() {
    let s = server(&[]);
    let mut idle = conn(&s);
    let mut other = conn(&s);
    ok(&mut idle, &["CLIENT", "SETNAME", "idle"]);
    let fresh = query_buffer(&mut other, "idle");
    assert!((16384..32768).contains(&fresh), "{fresh}");
    let mem_before = client_field(&mut other, "idle", "tot-mem");
    // Idle over 2 seconds: the buffer is given back whole, as Redis's clients cron does, and
    // not before.
    let mut last = (0, 0);
    let freed = wait_until(Duration::from_secs(8), || {
        last = idle_and_query_buffer(&mut other, "idle");
        assert!(
            last.0 >= 3 || last.1 == fresh,
            "idle, qbuf + qbuf-free: {last:?}"
        );
        last.1 == 0
    });
    assert!(freed, "idle, qbuf + qbuf-free: {last:?}");
    let mem_after = client_field(&mut other, "idle", "tot-mem");
    assert_eq!(mem_after + fresh, mem_before);
    // The next command finds room again.
    ok(&mut idle, &["SET", "y", "after"]);
    assert!(query_buffer(&mut other, "idle") >= 16384);
    let y: String = q(&mut idle, &["GET", "y"]);
    assert_eq!(y, "after");
}

#[test]
fn big_query_buffer_left_unused_is_freed_before_the_idle_rule() {
    let s = server(&[]);
    let mut big = conn(&s);
    let mut other = conn(&s);
    ok(&mut big, &["CLIENT", "SETNAME", "big"]);
    ok(&mut big, &["SET", "x", &"A".repeat(400_000)]);
    assert!(query_buffer(&mut other, "big") > 400_000);
    // Over twice what the client used since the cron's last look (nothing): resized to that,
    // as Redis does, well before the client counts as idle.
    let mut last = (0, 0);
    let freed = wait_until(Duration::from_secs(2), || {
        last = idle_and_query_buffer(&mut other, "big");
        last.1 == 0
    });
    assert!(freed && last.0 <= 2, "idle, qbuf + qbuf-free: {last:?}");
    let got: String = q(&mut big, &["GET", "x"]);
    assert_eq!(got.len(), 400_000);
}

#[test]
fn idle_client_keeps_the_half_command_it_sent_when_its_buffer_is_resized() {
    let s = server(&[]);
    let mut half = RawConn::connect(s.addr);
    let mut other = conn(&s);
    assert_eq!(half.roundtrip(b"CLIENT SETNAME half\r\n", 5), "+OK\r\n");
    // Half a SET, then silence: the buffer keeps exactly those bytes and no room.
    let cmd = RawConn::encode(&[b"SET", b"k", b"0123456789"]);
    let (first, rest) = cmd.split_at(cmd.len() - 6);
    half.send(first);
    let mut last = (0, 0);
    let resized = wait_until(Duration::from_secs(8), || {
        let [qbuf, free] = client_fields(&mut other, "half", ["qbuf", "qbuf-free"]);
        last = (qbuf, free);
        free == 0
    });
    assert!(resized, "qbuf, qbuf-free: {last:?}");
    assert_eq!(last.0, first.len());
    half.send(rest);
    assert_eq!(half.read_exact_n(5), b"+OK\r\n");
    let k: String = q(&mut other, &["GET", "k"]);
    assert_eq!(k, "0123456789");
}

#[test]
fn monitor_shows_exec_after_the_commands_it_ran() {
    let s = server(&[]);
    let mut m = RawConn::connect(s.addr);
    assert_eq!(m.roundtrip(b"MONITOR\r\n", 5), "+OK\r\n");
    let mut c = conn(&s);
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["SET", "foo", "bar"]);
    let _: redis::Value = q(&mut c, &["EXEC"]);
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !seen.contains("\"exec\"") {
        assert!(Instant::now() < deadline, "monitor saw {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&m.read_exact_n(1)).to_lowercase());
    }
    let order: Vec<&str> = ["\"multi\"", "\"set\"", "\"exec\""]
        .into_iter()
        .filter(|w| seen.contains(w))
        .collect();
    assert_eq!(order.len(), 3, "{seen}");
    let pos = |w: &str| seen.find(w).unwrap();
    assert!(
        pos("\"multi\"") < pos("\"set\"") && pos("\"set\"") < pos("\"exec\""),
        "{seen}"
    );
}

#[test]
fn monitor_shows_a_script_before_its_commands_which_come_from_lua() {
    let s = server(&[]);
    let mut m = RawConn::connect(s.addr);
    assert_eq!(m.roundtrip(b"MONITOR\r\n", 5), "+OK\r\n");
    let mut c = conn(&s);
    let _: redis::Value = q(
        &mut c,
        &[
            "EVAL",
            "return redis.call('set', KEYS[1], ARGV[1])",
            "1",
            "foo",
            "bar",
        ],
    );
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !seen.contains("lua] \"set\" \"foo\" \"bar\"\r\n") {
        assert!(Instant::now() < deadline, "monitor saw {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&m.read_exact_n(1)));
    }
    // The client library's own CLIENT SETINFO lines come first.
    let lines: Vec<&str> = seen
        .lines()
        .skip_while(|l| !l.contains("\"EVAL\""))
        .collect();
    assert_eq!(lines.len(), 2, "{seen}");
    assert!(lines[0].contains("\"EVAL\""), "{seen}");
    assert!(!lines[0].contains(" lua]"), "{seen}");
    assert!(lines[1].contains(" lua] \"set\" \"foo\" \"bar\""), "{seen}");
}

#[test]
fn flush_leaves_watches_of_missing_keys_alone() {
    let s = server(&[]);
    let mut c = conn(&s);
    for flush in ["FLUSHALL", "FLUSHDB"] {
        let _: i64 = q(&mut c, &["DEL", "x"]);
        ok(&mut c, &["WATCH", "x"]);
        ok(&mut c, &[flush]);
        ok(&mut c, &["MULTI"]);
        let _: String = q(&mut c, &["PING"]);
        let r: Option<Vec<String>> = q(&mut c, &["EXEC"]);
        assert_eq!(r, Some(vec!["PONG".to_string()]), "{flush}");
        // A watched key that existed is touched.
        ok(&mut c, &["SET", "x", "1"]);
        ok(&mut c, &["WATCH", "x"]);
        ok(&mut c, &[flush]);
        ok(&mut c, &["MULTI"]);
        let _: String = q(&mut c, &["PING"]);
        let r: Option<Vec<String>> = q(&mut c, &["EXEC"]);
        assert_eq!(r, None, "{flush}");
    }
}

#[test]
fn exists_is_not_an_access_but_touch_is() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "k", "v"]);
    std::thread::sleep(Duration::from_millis(2100));
    let _: i64 = q(&mut c, &["EXISTS", "k"]);
    let _: i64 = q(&mut c, &["TTL", "k"]);
    let _: String = q(&mut c, &["TYPE", "k"]);
    assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "k"]) >= 2);
    let _: i64 = q(&mut c, &["TOUCH", "k"]);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "k"]), 0);
}

#[test]
fn paused_clients_count_as_blocked_and_keys_do_not_expire() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "soon", "v", "PX", "100"]);
    ok(&mut c, &["CLIENT", "PAUSE", "20000", "WRITE"]);
    let mut w = RawConn::connect(s.addr);
    w.send(b"SET held 1\r\n");
    assert!(wait_until(Duration::from_secs(5), || {
        info_field(&mut c, "clients", "blocked_clients") == "1"
    }));
    std::thread::sleep(Duration::from_millis(300));
    // Expired during the pause: hidden from reads, but neither deleted nor counted.
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "soon"]), None);
    assert_eq!(info_field(&mut c, "stats", "expired_keys"), "0");
    ok(&mut c, &["CLIENT", "UNPAUSE"]);
    assert_eq!(w.read_exact_n(5), b"+OK\r\n");
    assert_eq!(info_field(&mut c, "clients", "blocked_clients"), "0");
}

#[test]
fn info_fields_the_suite_reads_and_save_in_multi_refused() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        info_field(&mut c, "memory", "lazyfree_pending_objects"),
        "0"
    );
    assert_eq!(info_field(&mut c, "stats", "migrate_cached_sockets"), "0");
    ok(&mut c, &["MULTI"]);
    assert_eq!(
        e(&mut c, &["SAVE"]),
        "ERR Command not allowed inside a transaction"
    );
    ok(&mut c, &["DISCARD"]);
    let info: Vec<redis::Value> = q(&mut c, &["COMMAND", "INFO", "migrate"]);
    assert!(format!("{info:?}").contains("movablekeys"), "{info:?}");
}

#[test]
fn http_requests_are_dropped_unanswered() {
    let s = server(&[]);
    for req in [
        &b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ] {
        let mut raw = RawConn::connect(s.addr);
        raw.send(req);
        let got = raw.read_exact_n(4096);
        // `GET / HTTP/1.1` is a (wrong) GET; the `Host:` line after it closes the connection.
        assert!(
            !String::from_utf8_lossy(&got).contains("unknown command 'Host:'"),
            "{}",
            String::from_utf8_lossy(&got)
        );
        assert!(raw.is_closed());
    }
    let mut raw = RawConn::connect(s.addr);
    raw.send(b"POST / HTTP/1.1\r\n");
    assert!(raw.read_exact_n(1).is_empty(), "POST gets no reply");
}

#[test]
fn unix_socket_serves_clients_as_local() {
    let dir = std::env::temp_dir().join(format!("shoal-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shoal.sock");
    // A stale socket file from an earlier run is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let s = server(&[
        "--unixsocket",
        path.to_str().unwrap(),
        "--unixsocketperm",
        "700",
    ]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let c = redis::Client::open(format!("redis+unix://{}", path.display())).unwrap();
    let mut c = c.get_connection().unwrap();
    ok(&mut c, &["SET", "via", "unix"]);
    let mut tcp = conn(&s);
    assert_eq!(q::<String>(&mut tcp, &["GET", "via"]), "unix");
    let line: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(
        line.contains(&format!(
            "addr={}:0 laddr={}:0",
            path.display(),
            path.display()
        )),
        "{line}"
    );
    assert_eq!(
        q::<Vec<String>>(&mut tcp, &["CONFIG", "GET", "unixsocket"]),
        vec!["unixsocket".to_string(), path.display().to_string()]
    );
    drop(s);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn restore_refuses_an_existing_key_before_checking_ttl_and_payload() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "foo", "bar"]);
    let busy = "BUSYKEY Target key name already exists.";
    assert_eq!(e(&mut c, &["RESTORE", "foo", "0", "not-a-payload"]), busy);
    assert_eq!(e(&mut c, &["RESTORE", "foo", "-1", "not-a-payload"]), busy);
    assert_eq!(
        e(&mut c, &["RESTORE", "foo", "0", "not-a-payload", "REPLACE"]),
        "ERR DUMP payload version or checksum are wrong"
    );
    assert_eq!(
        e(&mut c, &["RESTORE", "nope", "-1", "not-a-payload"]),
        "ERR Invalid TTL value, must be >= 0"
    );
}

/// DEBUG ERROR answers its text as the error (client libraries test LOADING, OOM, READONLY
/// handling with it); MODULE LIST is empty and nothing loads, as a module that fails in Redis.
#[test]
fn debug_error_and_module_commands() {
    let s = server(&["--enable-debug-command", "yes"]);
    let mut c = conn(&s);
    assert_eq!(
        e(&mut c, &["DEBUG", "ERROR", "LOADING fake loading"]),
        "LOADING fake loading"
    );
    assert_eq!(e(&mut c, &["DEBUG", "ERROR", "two\nlines"]), "two lines");
    assert_eq!(
        q::<Vec<String>>(&mut c, &["MODULE", "LIST"]),
        Vec::<String>::new()
    );
    assert!(
        e(&mut c, &["MODULE", "LOAD", "/tmp/x.so"]).starts_with("ERR MODULE command not allowed."),
        "enable-module-command no"
    );
    assert_eq!(
        e(&mut c, &["MODULE", "LIST", "x"]),
        "ERR wrong number of arguments for 'module|list' command"
    );
    assert_eq!(
        e(&mut c, &["MODULE", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try MODULE HELP."
    );
    let s2 = server(&["--enable-module-command", "yes"]);
    let mut c2 = conn(&s2);
    assert_eq!(
        e(&mut c2, &["MODULE", "LOAD", "/tmp/x.so"]),
        "ERR Error loading the extension. Please check the server logs."
    );
    assert_eq!(
        e(&mut c2, &["MODULE", "UNLOAD", "x"]),
        "ERR Error unloading module: no such module with that name"
    );
}

#[test]
fn debug_populate_makes_keys_as_redis() {
    let s = server(&["--enable-debug-command", "yes"]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "key:1", "mine"]);
    ok(&mut c, &["DEBUG", "POPULATE", "3"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 3);
    assert_eq!(q::<String>(&mut c, &["GET", "key:0"]), "value:0");
    // An existing key is left alone.
    assert_eq!(q::<String>(&mut c, &["GET", "key:1"]), "mine");
    ok(&mut c, &["DEBUG", "POPULATE", "2", "p", "10"]);
    assert_eq!(
        q::<Vec<u8>>(&mut c, &["GET", "p:1"]),
        b"value:1\0\0\0".to_vec()
    );
    ok(&mut c, &["DEBUG", "POPULATE", "1", "short", "3"]);
    assert_eq!(q::<String>(&mut c, &["GET", "short:0"]), "val");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 6);
    assert_eq!(
        e(&mut c, &["DEBUG", "POPULATE", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        e(&mut c, &["DEBUG", "POPULATE", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &["DEBUG", "POPULATE", "1", "k", "-5"]),
        "ERR value is out of range, must be positive"
    );
    // A value size past proto-max-bulk-len is refused and makes nothing.
    ok(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1mb"]);
    assert_eq!(
        e(&mut c, &["DEBUG", "POPULATE", "5", "huge", "2000000"]),
        "ERR value size is larger than proto-max-bulk-len"
    );
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 6);
    // shoal never evicts clients (maxmemory-clients is refused): INFO says so as Redis's does.
    assert_eq!(info_field(&mut c, "stats", "evicted_clients"), "0");
}

//! Introspection against the real binary: COMMAND INFO/DOCS/GETKEYS(ANDFLAGS)/COUNT/LIST,
//! MEMORY STATS/DOCTOR/MALLOC-STATS/PURGE, the LATENCY monitor, LOLWUT and DEBUG OBJECT.
//! Expected replies and error texts are redis-server 7.0.15's for the same commands.
mod common;
use common::*;
use redis::Value;

fn bs(x: &str) -> Value {
    Value::BulkString(x.as_bytes().to_vec())
}

/// GETKEYSANDFLAGS as (key, flags) pairs.
fn keys_and_flags(c: &mut redis::Connection, args: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut all = vec!["COMMAND", "GETKEYSANDFLAGS"];
    all.extend_from_slice(args);
    q(c, &all)
}

fn kf(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    pairs
        .iter()
        .map(|(k, f)| (k.to_string(), f.iter().map(|x| x.to_string()).collect()))
        .collect()
}

#[test]
fn getkeysandflags_gives_redis_key_spec_flags() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        keys_and_flags(&mut c, &["set", "k1", "v1"]),
        kf(&[("k1", &["OW", "update"])])
    );
    assert_eq!(
        keys_and_flags(&mut c, &["set", "k1", "v1", "get"]),
        kf(&[("k1", &["RW", "access", "update"])])
    );
    assert_eq!(
        keys_and_flags(&mut c, &["mset", "k1", "v1", "k2", "v2"]),
        kf(&[("k1", &["OW", "update"]), ("k2", &["OW", "update"])])
    );
    assert_eq!(
        keys_and_flags(&mut c, &["LMOVE", "k1", "k2", "left", "right"]),
        kf(&[
            ("k1", &["RW", "access", "delete"]),
            ("k2", &["RW", "insert"])
        ])
    );
    assert_eq!(
        keys_and_flags(&mut c, &["sort", "k1", "store", "k2"]),
        kf(&[("k1", &["RO", "access"]), ("k2", &["OW", "update"])])
    );
    assert_eq!(
        keys_and_flags(&mut c, &["bitfield", "k", "get", "u8", "0"]),
        kf(&[("k", &["RO", "access"])])
    );
    assert_eq!(
        keys_and_flags(&mut c, &["bitfield", "k", "incrby", "u8", "0", "1"]),
        kf(&[("k", &["RW", "access", "update"])])
    );
    assert_eq!(
        keys_and_flags(
            &mut c,
            &[
                "georadius",
                "g",
                "1",
                "2",
                "3",
                "m",
                "store",
                "d",
                "storedist",
                "e"
            ]
        ),
        kf(&[
            ("g", &["RO", "access"]),
            ("d", &["OW", "update"]),
            ("e", &["OW", "update"])
        ])
    );
    assert_eq!(
        keys_and_flags(
            &mut c,
            &["migrate", "h", "1", "", "0", "5", "keys", "a", "b"]
        ),
        kf(&[
            ("a", &["RW", "access", "delete"]),
            ("b", &["RW", "access", "delete"])
        ])
    );
    assert_eq!(
        keys_and_flags(&mut c, &["del", "a"]),
        kf(&[("a", &["RM", "delete"])])
    );
}

#[test]
fn getkeys_finds_keys_and_refuses_as_redis() {
    let s = server(&[]);
    let mut c = conn(&s);
    let keys = |c: &mut redis::Connection, args: &[&str]| -> Vec<String> {
        let mut all = vec!["COMMAND", "GETKEYS"];
        all.extend_from_slice(args);
        q(c, &all)
    };
    assert_eq!(keys(&mut c, &["get", "key"]), vec!["key"]);
    assert_eq!(keys(&mut c, &["memory", "usage", "key"]), vec!["key"]);
    assert_eq!(keys(&mut c, &["eval", "return 1", "1", "key"]), vec!["key"]);
    assert!(keys(&mut c, &["eval", "return 1", "0"]).is_empty());
    assert_eq!(keys(&mut c, &["lcs", "key1", "key2"]), vec!["key1", "key2"]);
    assert_eq!(
        keys(
            &mut c,
            &["georadiusbymember", "g", "m", "3", "km", "storedist", "d"]
        ),
        vec!["g", "d"]
    );
    let mut z = vec!["zunionstore", "target", "260"];
    let names: Vec<String> = (1..=260).map(|i| format!("key{i}")).collect();
    z.extend(names.iter().map(String::as_str));
    let got = keys(&mut c, &z);
    assert_eq!(got.len(), 261);
    assert_eq!(got[0], "target");
    assert_eq!(got[260], "key260");
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "ping"]),
        "ERR wrong number of arguments for 'command|getkeys' command"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYSANDFLAGS", "get"]),
        "ERR wrong number of arguments for 'command|getkeysandflags' command"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "ping", "x"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "client", "list"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "debug", "object", "k"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "nosuch", "a"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "memory", "foo", "k"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "GETKEYS", "set", "k"]),
        "ERR Invalid number of arguments specified for command"
    );
    for n in ["-1", "3", "x", "99999999999999999"] {
        assert_eq!(
            e(
                &mut c,
                &["COMMAND", "GETKEYS", "zunionstore", "d", n, "a", "b"]
            ),
            "ERR Invalid arguments specified for command",
            "numkeys {n}"
        );
    }
}

/// GEORADIUS's STORE/STOREDIST destination is a key for ACL and cluster routing too.
#[test]
fn georadius_store_key_is_checked_by_acl() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(
        &mut c,
        &["ACL", "SETUSER", "geo", "on", "nopass", "~g*", "+@all"],
    );
    ok(&mut c, &["AUTH", "geo", "x"]);
    assert_eq!(
        q::<i64>(&mut c, &["GEOADD", "g", "13.361389", "38.115556", "a"]),
        1
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["GEORADIUS", "g", "13", "38", "200", "km", "STORE", "g2"]
        ),
        1
    );
    assert_eq!(
        e(
            &mut c,
            &["GEORADIUS", "g", "13", "38", "200", "km", "STORE", "other"]
        ),
        "NOPERM this user has no permissions to access one of the keys used as arguments"
    );
    assert_eq!(
        e(
            &mut c,
            &[
                "GEORADIUSBYMEMBER",
                "g",
                "a",
                "200",
                "km",
                "STOREDIST",
                "other"
            ]
        ),
        "NOPERM this user has no permissions to access one of the keys used as arguments"
    );
}

fn info_row(c: &mut redis::Connection, name: &str) -> Vec<Value> {
    match v(c, &["COMMAND", "INFO", name]) {
        Value::Array(mut rows) => match rows.remove(0) {
            Value::Array(row) => row,
            other => panic!("{name}: {other:?}"),
        },
        other => panic!("{name}: {other:?}"),
    }
}

fn names(v: &Value) -> Vec<String> {
    match v {
        Value::Array(x) | Value::Set(x) => x
            .iter()
            .map(|i| match i {
                Value::SimpleString(s) => s.clone(),
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                o => panic!("{o:?}"),
            })
            .collect(),
        o => panic!("{o:?}"),
    }
}

#[test]
fn command_info_is_redis_s_with_key_specs() {
    let s = server(&[]);
    let mut c = conn(&s);
    let get = info_row(&mut c, "get");
    assert_eq!(get.len(), 10);
    assert_eq!(get[0], bs("get"));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(names(&get[2]), vec!["readonly", "fast"]);
    assert_eq!(&get[3..6], &[Value::Int(1), Value::Int(1), Value::Int(1)]);
    assert_eq!(names(&get[6]), vec!["@read", "@string", "@fast"]);
    // One key spec: RO access, index 1, range 0/1/0.
    let Value::Array(specs) = &get[8] else {
        panic!("{:?}", get[8])
    };
    assert_eq!(specs.len(), 1);
    let Value::Array(spec) = &specs[0] else {
        panic!()
    };
    assert_eq!(spec[0], bs("flags"));
    assert_eq!(names(&spec[1]), vec!["RO", "access"]);
    assert_eq!(spec[2], bs("begin_search"));
    // SET's key spec carries Redis's note.
    let set = info_row(&mut c, "set");
    let Value::Array(specs) = &set[8] else {
        panic!()
    };
    let Value::Array(spec) = &specs[0] else {
        panic!()
    };
    assert_eq!(spec[0], bs("notes"));
    assert_eq!(
        names(&spec[3]),
        vec!["RW", "access", "update", "variable_flags"]
    );
    for cmd in [
        "SET",
        "GET",
        "MSET",
        "BITFIELD",
        "LMOVE",
        "MEMORY",
        "MEMORY|USAGE",
        "RENAME",
        "GEORADIUS_RO",
    ] {
        assert!(
            !names(&info_row(&mut c, cmd)[2]).contains(&"movablekeys".to_string()),
            "{cmd}"
        );
    }
    for cmd in [
        "ZUNIONSTORE",
        "EVAL",
        "SORT",
        "SORT_RO",
        "MIGRATE",
        "GEORADIUS",
    ] {
        assert!(
            names(&info_row(&mut c, cmd)[2]).contains(&"movablekeys".to_string()),
            "{cmd}"
        );
    }
    // Subcommands: by full name, and under their container.
    let cg = info_row(&mut c, "config|get");
    assert_eq!(cg[0], bs("config|get"));
    assert_eq!(cg[1], Value::Int(-3));
    let client = info_row(&mut c, "client");
    let Value::Array(subs) = &client[9] else {
        panic!()
    };
    assert!(
        subs.iter()
            .any(|x| matches!(x, Value::Array(r) if r[0] == bs("client|list")))
    );
    assert_eq!(
        v(
            &mut c,
            &["COMMAND", "INFO", "get|key", "config|get|key", "nosuch"]
        ),
        Value::Array(vec![Value::Nil, Value::Nil, Value::Nil])
    );
    // PFDEBUG is an admin command.
    assert!(names(&info_row(&mut c, "pfdebug")[6]).contains(&"@admin".to_string()));
    let admin: Vec<String> = q(&mut c, &["ACL", "CAT", "admin"]);
    assert!(admin.contains(&"pfdebug".to_string()));
}

#[test]
fn command_docs_are_redis_s() {
    let s = server(&[]);
    let mut c = resp3(&s);
    let Value::Map(docs) = v(
        &mut c,
        &["COMMAND", "DOCS", "get", "nosuch", "georadius", "client"],
    ) else {
        panic!()
    };
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0].0, bs("get"));
    let Value::Map(get) = &docs[0].1 else {
        panic!()
    };
    let field = |m: &[(Value, Value)], k: &str| {
        m.iter()
            .find(|(x, _)| *x == bs(k))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k}"))
    };
    assert_eq!(field(get, "summary"), bs("Get the value of a key"));
    assert_eq!(field(get, "since"), bs("1.0.0"));
    assert_eq!(field(get, "group"), bs("string"));
    assert_eq!(field(get, "complexity"), bs("O(1)"));
    let Value::Map(geo) = &docs[1].1 else {
        panic!()
    };
    assert_eq!(names(&field(geo, "doc_flags")), vec!["deprecated"]);
    assert_eq!(field(geo, "deprecated_since"), bs("6.2.0"));
    let Value::Map(client) = &docs[2].1 else {
        panic!()
    };
    let Value::Map(subs) = field(client, "subcommands") else {
        panic!()
    };
    assert!(subs.iter().any(|(k, _)| *k == bs("client|list")));
    // A subcommand by its full name.
    let Value::Map(cg) = v(&mut c, &["COMMAND", "DOCS", "config|get"]) else {
        panic!()
    };
    assert_eq!(cg[0].0, bs("config|get"));
    // In RESP2 the same maps are flat arrays.
    let mut c2 = conn(&s);
    let Value::Array(flat) = v(&mut c2, &["COMMAND", "DOCS", "get"]) else {
        panic!()
    };
    assert_eq!(flat[0], bs("get"));
    assert!(matches!(&flat[1], Value::Array(f) if f[0] == bs("summary")));
}

#[test]
fn command_count_and_list_agree() {
    let s = server(&[]);
    let mut c = conn(&s);
    let count: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    let all: Vec<Value> = q(&mut c, &["COMMAND"]);
    assert_eq!(all.len() as i64, count);
    let Value::Array(docs) = v(&mut c, &["COMMAND", "DOCS"]) else {
        panic!()
    };
    assert_eq!(docs.len() as i64, 2 * count);
    let list: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    let tops = list.iter().filter(|n| !n.contains('|')).count() as i64;
    assert_eq!(tops, count);
    assert!(list.contains(&"client|list".to_string()));
    assert!(list.contains(&"latency|doctor".to_string()));
    assert!(list.contains(&"memory|stats".to_string()));
    // DEBUG is no container (as in Redis and for ACL rules); shoal's own subcommands are.
    assert!(!list.iter().any(|n| n.starts_with("debug|")));
    assert!(list.contains(&"client|setinfo".to_string()));
    let setinfo = info_row(&mut c, "client|setinfo");
    assert_eq!(setinfo[0], bs("client|setinfo"));
    assert_eq!(setinfo[9], Value::Array(vec![]));
    let scripting: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "scripting"],
    );
    assert!(scripting.contains(&"eval".to_string()));
    assert!(scripting.contains(&"script|kill".to_string()));
    assert!(!scripting.contains(&"set".to_string()));
    let pat: Vec<String> = q(
        &mut c,
        &["COMMAND", "LIST", "FILTERBY", "PATTERN", "cl*help"],
    );
    assert!(pat.contains(&"client|help".to_string()));
    assert_eq!(
        e(&mut c, &["COMMAND", "LIST", "FILTERBY", "bad_arg"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "COUNT", "x"]),
        "ERR wrong number of arguments for 'command|count' command"
    );
    assert_eq!(
        e(&mut c, &["COMMAND", "foo"]),
        "ERR unknown subcommand 'foo'. Try COMMAND HELP."
    );
}

fn verbatim(v: Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        Value::VerbatimString { text, .. } => text,
        o => panic!("{o:?}"),
    }
}

#[test]
fn memory_stats_doctor_malloc_stats_purge() {
    let s = server(&[]);
    let mut c = conn(&s);
    for i in 0..100 {
        ok(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let stats: Vec<Value> = q(&mut c, &["MEMORY", "STATS"]);
    let field = |k: &str| -> Value {
        let i = stats
            .iter()
            .position(|x| *x == bs(k))
            .unwrap_or_else(|| panic!("no {k}"));
        stats[i + 1].clone()
    };
    let int = |k: &str| match field(k) {
        Value::Int(n) => n,
        o => panic!("{k}: {o:?}"),
    };
    assert_eq!(int("keys.count"), 100);
    assert!(int("total.allocated") > 0);
    assert!(int("peak.allocated") >= int("total.allocated"));
    assert!(int("startup.allocated") > 0);
    assert_eq!(
        int("dataset.bytes"),
        int("total.allocated") - int("overhead.total")
    );
    let Value::Array(db0) = field("db.0") else {
        panic!()
    };
    assert_eq!(db0[0], bs("overhead.hashtable.main"));
    assert!(matches!(db0[1], Value::Int(n) if n > 0));
    for k in ["dataset.percentage", "peak.percentage", "fragmentation"] {
        assert!(matches!(field(k), Value::BulkString(_)), "{k}");
    }
    // The order is Redis's.
    assert_eq!(stats[0], bs("peak.allocated"));
    assert_eq!(stats[stats.len() - 2], bs("fragmentation.bytes"));
    let doctor = verbatim(v(&mut c, &["MEMORY", "DOCTOR"]));
    assert!(doctor.starts_with("Hi Sam, "), "{doctor}");
    let malloc = verbatim(v(&mut c, &["MEMORY", "MALLOC-STATS"]));
    assert!(malloc.contains("jemalloc"), "{malloc}");
    ok(&mut c, &["MEMORY", "PURGE"]);
    for sub in ["stats", "doctor", "malloc-stats", "purge"] {
        assert_eq!(
            e(&mut c, &["MEMORY", sub, "x"]),
            format!("ERR wrong number of arguments for 'memory|{sub}' command")
        );
    }
    assert_eq!(
        e(&mut c, &["MEMORY", "usage"]),
        "ERR wrong number of arguments for 'memory|usage' command"
    );
    assert_eq!(
        e(&mut c, &["MEMORY", "foo"]),
        "ERR unknown subcommand 'foo'. Try MEMORY HELP."
    );
    // RESP3: a map with doubles.
    let mut c3 = resp3(&s);
    let Value::Map(m) = v(&mut c3, &["MEMORY", "STATS"]) else {
        panic!()
    };
    assert!(
        m.iter()
            .any(|(k, v)| *k == bs("peak.percentage") && matches!(v, Value::Double(_)))
    );
}

#[test]
fn latency_monitor_records_events_over_the_threshold() {
    let s = server(&["--enable-debug-command", "yes"]);
    let mut c = conn(&s);
    assert_eq!(v(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]));
    let doctor = verbatim(v(&mut c, &["LATENCY", "DOCTOR"]));
    assert!(doctor.starts_with("I'm sorry, Dave, I can't do that. Latency monitoring is disabled"));
    // Off by default: nothing recorded however slow.
    ok(&mut c, &["DEBUG", "SLEEP", "0.02"]);
    assert_eq!(v(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]));
    ok(
        &mut c,
        &["CONFIG", "SET", "latency-monitor-threshold", "10"],
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "latency-monitor-threshold"]),
        vec!["latency-monitor-threshold", "10"]
    );
    let doctor = verbatim(v(&mut c, &["LATENCY", "DOCTOR"]));
    assert!(
        doctor.starts_with("Dave, no latency spike was observed"),
        "{doctor}"
    );
    ok(&mut c, &["DEBUG", "SLEEP", "0.05"]);
    let latest: Vec<(String, i64, i64, i64)> = q(&mut c, &["LATENCY", "LATEST"]);
    assert_eq!(latest.len(), 1);
    let (ev, _, last, max) = &latest[0];
    assert_eq!(ev, "command");
    assert!(*last >= 50 && *max >= 50, "{latest:?}");
    let hist: Vec<(i64, i64)> = q(&mut c, &["LATENCY", "HISTORY", "command"]);
    assert_eq!(hist.len(), 1);
    assert!(hist[0].1 >= 50);
    assert_eq!(
        v(&mut c, &["LATENCY", "HISTORY", "nosuch"]),
        Value::Array(vec![])
    );
    let graph = verbatim(v(&mut c, &["LATENCY", "GRAPH", "command"]));
    assert!(graph.starts_with("command - high "), "{graph}");
    assert!(graph.contains(&"-".repeat(80)));
    let doctor = verbatim(v(&mut c, &["LATENCY", "DOCTOR"]));
    assert!(
        doctor.contains("1. command: 1 latency spikes (average "),
        "{doctor}"
    );
    assert_eq!(
        e(&mut c, &["LATENCY", "GRAPH", "nosuch"]),
        "ERR No samples available for event 'nosuch'"
    );
    assert_eq!(q::<i64>(&mut c, &["LATENCY", "RESET", "nosuch"]), 0);
    assert_eq!(q::<i64>(&mut c, &["LATENCY", "RESET", "COMMAND"]), 1);
    assert_eq!(v(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]));
    assert_eq!(q::<i64>(&mut c, &["LATENCY", "RESET"]), 0);
    assert_eq!(
        e(&mut c, &["LATENCY", "LATEST", "x"]),
        "ERR wrong number of arguments for 'latency|latest' command"
    );
    assert_eq!(
        e(&mut c, &["LATENCY", "HISTORY"]),
        "ERR wrong number of arguments for 'latency|history' command"
    );
    assert_eq!(
        e(&mut c, &["LATENCY", "foo"]),
        "ERR unknown subcommand 'foo'. Try LATENCY HELP."
    );
    assert_eq!(
        e(
            &mut c,
            &["CONFIG", "SET", "latency-monitor-threshold", "-1"]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - argument must be between 0 and 9223372036854775807 inclusive"
    );
}

#[test]
fn lolwut_draws_and_prints_the_version() {
    let s = server(&[]);
    let mut c = conn(&s);
    let version = info_field(&mut c, "server", "redis_version");
    assert_eq!(
        verbatim(v(&mut c, &["LOLWUT"])),
        format!("Redis ver. {version}\n")
    );
    assert_eq!(
        verbatim(v(&mut c, &["LOLWUT", "VERSION", "7"])),
        format!("Redis ver. {version}\n")
    );
    let five = verbatim(v(&mut c, &["LOLWUT", "VERSION", "5", "20", "4", "4"]));
    assert!(five.ends_with(&format!(
        "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {version}\n"
    )));
    assert!(five.lines().next().unwrap().chars().count() == 20);
    let six = verbatim(v(&mut c, &["LOLWUT", "VERSION", "6", "30", "5"]));
    assert!(six.ends_with(&format!("Redis ver. {version}\n")));
    assert_eq!(six.lines().next().unwrap().chars().count(), 30);
    // Huge sizes are clamped.
    let big = verbatim(v(
        &mut c,
        &["LOLWUT", "VERSION", "5", "99999999", "999", "999"],
    ));
    assert!(big.lines().next().unwrap().chars().count() == 1000);
    for bad in [
        &["LOLWUT", "VERSION", "x"][..],
        &["LOLWUT", "VERSION", "5", "abc"][..],
        &["LOLWUT", "VERSION", "6", "10", "1.5"][..],
    ] {
        assert_eq!(
            e(&mut c, bad),
            "ERR value is not an integer or out of range"
        );
    }
}

#[test]
fn debug_object_reports_redis_s_line() {
    let s = server(&["--enable-debug-command", "yes"]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "s", "hello"]);
    let line: String = q(&mut c, &["DEBUG", "OBJECT", "s"]);
    let re = |line: &str, enc: &str, len: usize| {
        let rest = line.strip_prefix("Value at:0x").expect(line);
        let want = format!(" refcount:1 encoding:{enc} serializedlength:{len} lru:");
        assert!(rest.contains(&want), "{line}");
        assert!(rest.contains(" lru_seconds_idle:"), "{line}");
    };
    re(&line, "embstr", 6);
    ok(&mut c, &["SET", "n", "12345"]);
    re(&q::<String>(&mut c, &["DEBUG", "OBJECT", "n"]), "int", 3);
    let mut args = vec!["RPUSH", "l"];
    let items: Vec<String> = (0..200).map(|i| format!("item{i}")).collect();
    args.extend(items.iter().map(String::as_str));
    let _: i64 = q(&mut c, &args);
    let line: String = q(&mut c, &["DEBUG", "OBJECT", "l"]);
    assert!(line.contains("encoding:quicklist"), "{line}");
    assert!(line.ends_with(" ql_nodes:1 ql_avg_node:200.00 ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:1697"), "{line}");
    // Small collections: Redis's encodings and serialized lengths.
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v", "a", "123"]);
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "a", "2.5", "b"]);
    let _: i64 = q(&mut c, &["SADD", "ints", "1", "2", "300000"]);
    let _: i64 = q(&mut c, &["RPUSH", "short", "a", "b", "c"]);
    re(
        &q::<String>(&mut c, &["DEBUG", "OBJECT", "h"]),
        "listpack",
        19,
    );
    re(
        &q::<String>(&mut c, &["DEBUG", "OBJECT", "z"]),
        "listpack",
        21,
    );
    re(
        &q::<String>(&mut c, &["DEBUG", "OBJECT", "ints"]),
        "intset",
        21,
    );
    let short: String = q(&mut c, &["DEBUG", "OBJECT", "short"]);
    let enc: String = q(&mut c, &["OBJECT", "ENCODING", "short"]);
    re(&short, &enc, 19);
    // Streams: the bytes of their RDB encoding (redis-server 7.0.15 with rdbcompression no
    // says 57, then 142 with a group, a pending entry and a deleted entry).
    let _: String = q(&mut c, &["XADD", "x", "1-1", "a", "b"]);
    re(
        &q::<String>(&mut c, &["DEBUG", "OBJECT", "x"]),
        "stream",
        57,
    );
    let _: String = q(&mut c, &["XADD", "x", "1-2", "a", "c", "d", "e"]);
    ok(&mut c, &["XGROUP", "CREATE", "x", "g", "0"]);
    let _: Value = q(
        &mut c,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "1",
            "STREAMS",
            "x",
            ">",
        ],
    );
    let _: i64 = q(&mut c, &["XDEL", "x", "1-2"]);
    re(
        &q::<String>(&mut c, &["DEBUG", "OBJECT", "x"]),
        "stream",
        142,
    );
    assert_eq!(e(&mut c, &["DEBUG", "OBJECT", "nokey"]), "ERR no such key");
    assert_eq!(
        e(&mut c, &["DEBUG", "OBJECT"]),
        "ERR unknown subcommand or wrong number of arguments for 'OBJECT'. Try DEBUG HELP."
    );
    // Behind enable-debug-command.
    let s2 = server(&[]);
    let mut c2 = conn(&s2);
    assert!(e(&mut c2, &["DEBUG", "OBJECT", "s"]).starts_with("ERR DEBUG command not allowed."));
}

#[test]
fn latency_histogram_has_subcommands_and_follows_resetstat() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "a", "b"]);
    ok(&mut c, &["CONFIG", "RESETSTAT"]);
    let hist: Vec<Value> = q(&mut c, &["LATENCY", "HISTOGRAM"]);
    assert_eq!(hist.len(), 2, "{hist:?}");
    assert_eq!(hist[0], bs("config|resetstat"));
    ok(&mut c, &["SET", "a", "b"]);
    ok(&mut c, &["SET", "c", "d"]);
    let _: i64 = q(&mut c, &["CLIENT", "ID"]);
    let _: String = q(&mut c, &["CLIENT", "LIST"]);
    let calls = |v: &Value| -> i64 {
        let Value::Array(m) = v else { panic!("{v:?}") };
        assert_eq!(m[0], bs("calls"));
        let Value::Int(n) = m[1] else { panic!() };
        n
    };
    let Value::Array(set) = v(&mut c, &["LATENCY", "HISTOGRAM", "set"]) else {
        panic!()
    };
    assert_eq!(set[0], bs("set"));
    assert_eq!(calls(&set[1]), 2);
    let Value::Array(client) = v(&mut c, &["LATENCY", "HISTOGRAM", "client"]) else {
        panic!()
    };
    let names: Vec<&Value> = client.iter().step_by(2).collect();
    assert_eq!(names, vec![&bs("client|id"), &bs("client|list")]);
    let Value::Array(one) = v(&mut c, &["LATENCY", "HISTOGRAM", "client|id", "blabla"]) else {
        panic!()
    };
    assert_eq!(one.len(), 2);
    assert_eq!(calls(&one[1]), 1);
    ok(&mut c, &["CONFIG", "RESETSTAT"]);
    assert_eq!(
        v(&mut c, &["LATENCY", "HISTOGRAM", "blabla", "set", "get"]),
        Value::Array(vec![])
    );
}

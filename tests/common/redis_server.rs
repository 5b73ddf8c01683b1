//! A real redis-server (7.0.15 in CI) beside shoal, for the tests that move data between the
//! two (RDB files both ways, live migration): started in a directory, killed on drop; and a
//! type-aware picture of a dataset to compare what each serves.
use super::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A function library both servers load.
pub const LIB: &str =
    "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 42 end)";

/// Data of every type and encoding (streams through `streams`, which fills them), in several
/// databases, with TTLs, a HyperLogLog and a function library: what the tests moving data
/// between shoal and redis-server compare.
pub fn fill_every_type(c: &mut redis::Connection, streams: impl FnOnce(&mut redis::Connection)) {
    ok(c, &["SET", "str", "hello"]);
    ok(c, &["SET", "int", "12345"]);
    ok(c, &["SET", "bigint", "-99999999999999"]);
    ok(c, &["SET", "zeros", "007"]);
    ok(c, &["SET", "empty", ""]);
    ok(c, &["SET", "long", &"abcdefgh".repeat(2000)]);
    ok(c, &["SET", "ttl", "v", "PX", "100000000"]);
    let _: i64 = q(c, &["RPUSH", "list", "a", "b", "1", "-2", ""]);
    let mut pipe = redis::pipe();
    for i in 0..3000 {
        pipe.cmd("RPUSH")
            .arg("biglist")
            .arg(format!("{i}-{}", "x".repeat(i % 70)))
            .ignore();
        pipe.cmd("HSET")
            .arg("bighash")
            .arg(format!("f{i}"))
            .arg(i * 3)
            .ignore();
    }
    for i in 0..700 {
        pipe.cmd("SADD").arg("bigints").arg(i * 1000).ignore();
        pipe.cmd("SADD").arg("bigset").arg(format!("m{i}")).ignore();
        pipe.cmd("ZADD")
            .arg("bigz")
            .arg(i as f64 / 7.0)
            .arg(format!("z{i}"))
            .ignore();
    }
    for i in 0..200 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(c).unwrap();
    let _: i64 = q(c, &["PFADD", "hll", "a", "b", "c"]);
    let _: i64 = q(c, &["HSET", "hash", "f1", "v1", "f2", "2", "f3", ""]);
    let _: i64 = q(
        c,
        &["SADD", "ints", "1", "2", "3", "-5", "100000", "9999999999"],
    );
    let _: i64 = q(c, &["SADD", "strs", "a", "b", "c", "17"]);
    let _: i64 = q(
        c,
        &[
            "ZADD", "z", "1", "a", "2.5", "b", "-inf", "c", "+inf", "d", "0.1", "e", "1e100", "f",
        ],
    );
    let _: bool = q(c, &["PEXPIRE", "hash", "50000000"]);
    streams(c);
    ok(c, &["SELECT", "3"]);
    ok(c, &["SET", "in3", "x"]);
    let _: i64 = q(c, &["LPUSH", "list3", "y"]);
    ok(c, &["SELECT", "0"]);
    let _: String = q(c, &["FUNCTION", "LOAD", LIB]);
}

pub fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A redis-server child, killed on drop (its directory removed too when `start_redis` made it).
pub struct Redis {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    owns_dir: bool,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Redis {
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(10))
            .unwrap()
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts redis-server on `dir` (loading its dump.rdb if any) and waits until it serves; None
/// (after saying so) when redis-server is not installed.
pub fn redis_in(dir: &Path, extra: &[&str]) -> Option<Redis> {
    spawn(dir.to_path_buf(), false, extra)
}

/// Starts redis-server in a fresh directory of its own, removed when it stops.
pub fn start_redis(tag: &str, extra: &[&str]) -> Option<Redis> {
    let dir = std::env::temp_dir().join(format!("shoal-redis-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    spawn(dir, true, extra)
}

fn spawn(dir: PathBuf, owns_dir: bool, extra: &[&str]) -> Option<Redis> {
    if !have("redis-server") {
        eprintln!("skipped: redis-server is not installed (CI installs it)");
        return None;
    }
    let port = free_port();
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir.to_str().unwrap(),
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    args.extend(extra.iter().map(|x| x.to_string()));
    let child = Command::new("redis-server")
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let r = Redis {
        child,
        port,
        dir,
        owns_dir,
    };
    let up = wait_until(Duration::from_secs(20), || {
        redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .ok()
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)).ok())
            .is_some_and(|mut c| redis::cmd("PING").query::<String>(&mut c).is_ok())
    });
    assert!(up, "redis-server never served on {port}");
    Some(r)
}

/// XINFO STREAM FULL (every entry, every pending entry) without the radix tree's shape (each
/// server lays out its own nodes) nor the consumers' `active-time`: Redis 7.0 has none, and an
/// RDB file keeps none (shoal writes 7.0's stream type), so a load sets it to the seen time.
pub fn stream_full(c: &mut redis::Connection, k: &str) -> String {
    let redis::Value::Array(items) = v(c, &["XINFO", "STREAM", k, "FULL", "COUNT", "0"]) else {
        panic!("XINFO STREAM {k} FULL is not an array");
    };
    let mut out = Vec::new();
    for p in items.chunks(2) {
        let name = format!("{:?}", p[0]);
        if !name.contains("radix-tree") {
            out.push(format!("{name}={:?}", without_active_time(&p[1])));
        }
    }
    out.join(" ")
}

/// `v` with every `active-time` label and the value after it left out, at any depth.
fn without_active_time(v: &redis::Value) -> redis::Value {
    let redis::Value::Array(items) = v else {
        return v.clone();
    };
    let mut out = Vec::with_capacity(items.len());
    let mut skip = false;
    for x in items {
        if std::mem::take(&mut skip) {
            continue;
        }
        if matches!(x, redis::Value::BulkString(b) if b == b"active-time") {
            skip = true;
            continue;
        }
        out.push(without_active_time(x));
    }
    redis::Value::Array(out)
}

/// Every key of databases 0-3 as (db, key) -> "type value ttl-set", values in a canonical
/// order; a HyperLogLog (key `hll`) by its count, as its bytes are the encoder's choice.
pub fn dataset(c: &mut redis::Connection) -> BTreeMap<(u8, String), String> {
    let mut out = BTreeMap::new();
    for db in 0..4u8 {
        ok(c, &["SELECT", &db.to_string()]);
        let keys: Vec<String> = q(c, &["KEYS", "*"]);
        for k in keys {
            let t: String = q(c, &["TYPE", &k]);
            let v = match t.as_str() {
                "string" if k == "hll" => format!("{:?}", q::<i64>(c, &["PFCOUNT", &k])),
                "string" => format!("{:?}", q::<Vec<u8>>(c, &["GET", &k])),
                "list" => format!("{:?}", q::<Vec<String>>(c, &["LRANGE", &k, "0", "-1"])),
                "set" => {
                    let mut m: Vec<String> = q(c, &["SMEMBERS", &k]);
                    m.sort();
                    format!("{m:?}")
                }
                "zset" => format!(
                    "{:?}",
                    q::<Vec<String>>(c, &["ZRANGE", &k, "0", "-1", "WITHSCORES"])
                ),
                "hash" => {
                    let m: BTreeMap<String, String> = q(c, &["HGETALL", &k]);
                    format!("{m:?}")
                }
                "stream" => stream_full(c, &k),
                other => panic!("unexpected type {other}"),
            };
            let pttl: i64 = q(c, &["PTTL", &k]);
            out.insert((db, k), format!("{t} {v} {}", pttl > 0));
        }
    }
    ok(c, &["SELECT", "0"]);
    out
}

pub fn assert_same(a: &BTreeMap<(u8, String), String>, b: &BTreeMap<(u8, String), String>) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "key sets differ"
    );
    for (k, v) in a {
        assert_eq!(Some(v), b.get(k), "{k:?} differs");
    }
}

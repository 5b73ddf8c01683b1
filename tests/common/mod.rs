//! Shared helpers: start the real binary, connect with the `redis` crate, read error texts.
#![allow(dead_code)]

pub mod cluster;
pub mod redis_server;

#[allow(unused_imports)]
pub use shoal_testkit::{RawConn, ServerProcess, wait_until};

pub const BIN: &str = env!("CARGO_BIN_EXE_shoal-server");

/// A server on an ephemeral loopback port, with small defaults that keep tests light.
pub fn server(args: &[&str]) -> ServerProcess {
    let mut all = vec!["--threads", "2", "--shards", "64"];
    all.extend_from_slice(args);
    ServerProcess::start(BIN, &all)
}

pub fn conn(s: &ServerProcess) -> redis::Connection {
    let c = redis::Client::open(s.url()).expect("client");
    c.get_connection_with_timeout(std::time::Duration::from_secs(10))
        .expect("connect")
}

pub fn resp3(s: &ServerProcess) -> redis::Connection {
    let c = redis::Client::open(format!("{}?protocol=resp3", s.url())).expect("client");
    c.get_connection_with_timeout(std::time::Duration::from_secs(10))
        .expect("connect")
}

fn build(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Runs a command and converts its reply; panics on an error reply.
pub fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    build(args)
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// The raw reply value of a command.
pub fn v(c: &mut redis::Connection, args: &[&str]) -> redis::Value {
    q(c, args)
}

/// Runs a command that must fail; returns the whole error text as the server sent it
/// (`ERR syntax error`, `WRONGTYPE Operation ...`).
pub fn e(c: &mut redis::Connection, args: &[&str]) -> String {
    match build(args).query::<redis::Value>(c) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(err) => match (err.code(), err.detail()) {
            (Some(code), Some(d)) => format!("{code} {d}"),
            (Some(code), None) => code.to_string(),
            _ => err.to_string(),
        },
    }
}

pub fn ok(c: &mut redis::Connection, args: &[&str]) {
    let r: String = q(c, args);
    assert_eq!(r, "OK", "{args:?}");
}

/// One field of an INFO section; panics if the section lacks it.
pub fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = q(c, &["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
        .trim()
        .to_string()
}

/// The body of GET /metrics at `addr` (host:port).
pub fn scrape(addr: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK\r\n"), "{body}");
    body.split_once("\r\n\r\n").unwrap().1.to_string()
}

/// Where a server started with `--metrics-port 0` serves its metrics (from its log).
pub fn metrics_addr(s: &ServerProcess) -> String {
    let mut addr = None;
    assert!(wait_until(std::time::Duration::from_secs(5), || {
        addr = s.log().iter().find_map(|l| {
            l.split("Metrics on http://")
                .nth(1)
                .map(|a| a.trim_end_matches("/metrics").to_string())
        });
        addr.is_some()
    }));
    addr.unwrap()
}

/// INFO's `blocked_clients`.
pub fn blocked_count(c: &mut redis::Connection) -> usize {
    info_field(c, "clients", "blocked_clients")
        .parse()
        .unwrap_or(0)
}

/// Waits (5 s at most) until `n` clients are blocked.
pub fn wait_blocked(c: &mut redis::Connection, n: usize) {
    assert!(
        wait_until(std::time::Duration::from_secs(5), || blocked_count(c) == n),
        "expected {n} blocked clients"
    );
}

/// Runs a command on its own connection (to `url`, which may name a db) in a thread; returns
/// its reply or its error text.
pub fn spawn_cmd(
    url: String,
    args: Vec<&'static str>,
) -> std::thread::JoinHandle<Result<redis::Value, String>> {
    std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<redis::Value>(&mut c)
            .map_err(|e| format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or("")))
    })
}

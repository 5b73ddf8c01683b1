//! Cache hit ratio of eviction policies, shoal against redis-server, at the same `maxmemory`.
//!
//! ```text
//! cargo bench --bench hitratio                        # everything below, defaults
//! cargo bench --bench hitratio -- --requests 4000000 --workloads zipf0.99
//! cargo bench --bench hitratio -- --port 6379         # only replay against a running server
//! ```
//!
//! A fixed-seed workload is replayed over one connection: GET a key, and SET it (a ~100-byte
//! value that is the same for every server) when the GET missed, in pipelined batches. Keys are
//! drawn from 1M keys by Zipf popularity (α 0.99 or 0.7, popular keys scattered over the key
//! space), or from Zipf 0.99 polluted by one-off sequential scans (every 100k requests, 20k keys
//! never seen before). The hit ratio is counted after a warm-up (the first fifth of the requests).
//!
//! `maxmemory` is what redis-server uses to hold 10 % of the keys (measured first, by loading
//! them), so every server gets the same byte budget: shoal holds more keys in it where its
//! entries are smaller, which is part of what a cache is judged by.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VALUE_LEN: usize = 100;
const BATCH: usize = 200;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key ids of a workload, in request order.
fn workload(kind: &str, keys: usize, requests: usize, seed: u64) -> Vec<u64> {
    let alpha = if kind == "zipf0.7" { 0.7 } else { 0.99 };
    let mut cdf = Vec::with_capacity(keys);
    let mut sum = 0.0;
    for i in 1..=keys {
        sum += 1.0 / (i as f64).powf(alpha);
        cdf.push(sum);
    }
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(requests);
    let mut next_scan = keys as u64;
    while out.len() < requests {
        if kind == "scan" && out.len() % 100_000 == 99_999 {
            for _ in 0..20_000 {
                out.push(next_scan);
                next_scan += 1;
            }
            continue;
        }
        let u = rng.unit() * sum;
        let rank = cdf.partition_point(|&c| c < u).min(keys - 1) as u64;
        // Scatter popularity over the key space: rank -> id is a fixed permutation.
        out.push(permute(rank, keys as u64));
    }
    out.truncate(requests);
    out
}

/// A bijection of 0..n (n ≤ 2^32): a few rounds of a keyed Feistel-like walk with cycle walking.
fn permute(x: u64, n: u64) -> u64 {
    let bits = 64 - (n - 1).leading_zeros();
    let half = bits.div_ceil(2);
    let mask = (1u64 << half) - 1;
    let mut v = x;
    loop {
        let (mut l, mut r) = (v >> half, v & mask);
        for round in 0..4u64 {
            let f = mix(r ^ (round.wrapping_mul(0x5851_F42D_4C95_7F2D))) & mask;
            (l, r) = (r, l ^ f);
        }
        v = (l << half) | r;
        if v < n {
            return v;
        }
    }
}

fn key(id: u64) -> Vec<u8> {
    format!("key:{id:08}").into_bytes()
}

fn value(id: u64) -> Vec<u8> {
    let mut r = Rng(id ^ 0xA5A5_A5A5);
    (0..VALUE_LEN).map(|_| (r.next() & 0xff) as u8).collect()
}

/// A RESP connection that reads just what this tool needs.
struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

enum Reply {
    Ok,
    Nil,
    Int(i64),
    Text(String),
    Err(String),
}

impl Conn {
    fn open(port: u16) -> std::io::Result<Conn> {
        let w = TcpStream::connect(("127.0.0.1", port))?;
        w.set_nodelay(true)?;
        let r = BufReader::with_capacity(1 << 20, w.try_clone()?);
        Ok(Conn { w, r })
    }

    fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }

    fn read(&mut self) -> std::io::Result<Reply> {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line)?;
        let text = String::from_utf8_lossy(&line[1..line.len().saturating_sub(2)]).into_owned();
        Ok(match line.first() {
            Some(b'+') => Reply::Ok,
            Some(b'-') => Reply::Err(text),
            Some(b':') => Reply::Int(text.parse().unwrap_or(0)),
            Some(b'$') => {
                let n: i64 = text.parse().unwrap_or(-1);
                if n < 0 {
                    Reply::Nil
                } else {
                    let mut buf = vec![0; n as usize + 2];
                    self.r.read_exact(&mut buf)?;
                    buf.truncate(n as usize);
                    Reply::Text(String::from_utf8_lossy(&buf).into_owned())
                }
            }
            _ => Reply::Err(format!("unexpected reply {text}")),
        })
    }

    fn call(&mut self, args: &[&[u8]]) -> std::io::Result<Reply> {
        let mut out = Vec::new();
        Self::encode(&mut out, args);
        self.w.write_all(&out)?;
        self.read()
    }

    fn info_field(&mut self, section: &str, field: &str) -> u64 {
        match self.call(&[b"INFO", section.as_bytes()]) {
            Ok(Reply::Text(t)) => t
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{field}:")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            _ => 0,
        }
    }
}

/// What one replay measured.
struct Outcome {
    hit_ratio: f64,
    keys_held: i64,
    used_memory: u64,
    secs: f64,
}

/// Replays `ids` against the server on `port`: GET each key, SET the ones that missed.
fn replay(port: u16, ids: &[u64]) -> std::io::Result<Outcome> {
    let mut c = Conn::open(port)?;
    let warm = ids.len() / 5;
    let (mut hits, mut gets) = (0u64, 0u64);
    let start = Instant::now();
    let mut out = Vec::with_capacity(BATCH * 160);
    let mut missed = Vec::with_capacity(BATCH);
    for (b, batch) in ids.chunks(BATCH).enumerate() {
        out.clear();
        for &id in batch {
            Conn::encode(&mut out, &[b"GET", &key(id)]);
        }
        c.w.write_all(&out)?;
        missed.clear();
        for (j, &id) in batch.iter().enumerate() {
            let counted = b * BATCH + j >= warm;
            match c.read()? {
                Reply::Nil => missed.push(id),
                Reply::Err(e) => return Err(std::io::Error::other(e)),
                _ if counted => hits += 1,
                _ => {}
            }
            gets += counted as u64;
        }
        if missed.is_empty() {
            continue;
        }
        out.clear();
        for &id in &missed {
            Conn::encode(&mut out, &[b"SET", &key(id), &value(id)]);
        }
        c.w.write_all(&out)?;
        for _ in &missed {
            if let Reply::Err(e) = c.read()? {
                return Err(std::io::Error::other(e));
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let keys_held = match c.call(&[b"DBSIZE"])? {
        Reply::Int(n) => n,
        _ => -1,
    };
    Ok(Outcome {
        hit_ratio: hits as f64 / gets.max(1) as f64,
        keys_held,
        used_memory: c.info_field("memory", "used_memory"),
        secs,
    })
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn start(which: &str, maxmemory: u64, policy: &str) -> Option<Server> {
    let port = free_port();
    let (p, m) = (port.to_string(), maxmemory.to_string());
    let mut cmd = match which {
        "redis" => {
            let mut c = Command::new("redis-server");
            c.args([
                "--port",
                &p,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]);
            c.args(["--maxmemory", &m, "--maxmemory-policy", policy]);
            c
        }
        _ => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_shoal-server"));
            c.args(["--port", &p, "--bind", "127.0.0.1"]);
            c.args(["--maxmemory", &m, "--maxmemory-policy", policy]);
            c
        }
    };
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| eprintln!("cannot start {which}: {e}"))
        .ok()?;
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut c) = Conn::open(port)
            && matches!(c.call(&[b"PING"]), Ok(Reply::Ok))
        {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("{which} did not answer on port {port}");
    None
}

/// Bytes redis-server needs to hold `n` of the workload's keys (used_memory after loading them).
fn redis_bytes_for(n: usize) -> Option<u64> {
    let s = start("redis", 0, "noeviction")?;
    let mut c = Conn::open(s.port).ok()?;
    let mut out = Vec::new();
    for chunk in (0..n as u64).collect::<Vec<_>>().chunks(1000) {
        out.clear();
        for &id in chunk {
            Conn::encode(&mut out, &[b"SET", &key(id), &value(id)]);
        }
        c.w.write_all(&out).ok()?;
        for _ in chunk {
            c.read().ok()?;
        }
    }
    Some(c.info_field("memory", "used_memory"))
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| {
        arg(&args, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let keys = num("--keys", 1_000_000);
    let requests = num("--requests", 10_000_000);
    let seed = num("--seed", 42) as u64;
    let workloads = arg(&args, "--workloads").unwrap_or_else(|| "zipf0.99,zipf0.7,scan".into());
    if let Some(port) = arg(&args, "--port").and_then(|p| p.parse::<u16>().ok()) {
        for w in workloads.split(',') {
            let ids = workload(w, keys, requests, seed);
            match replay(port, &ids) {
                Ok(o) => println!(
                    "{w}: hit ratio {:.4} ({} keys held)",
                    o.hit_ratio, o.keys_held
                ),
                Err(e) => eprintln!("{w}: {e}"),
            }
        }
        return;
    }
    let Some(maxmemory) = arg(&args, "--maxmemory")
        .and_then(|m| m.parse().ok())
        .or_else(|| redis_bytes_for(keys / 10))
    else {
        eprintln!("redis-server is needed to size maxmemory (or pass --maxmemory BYTES)");
        std::process::exit(1);
    };
    println!(
        "# {keys} keys, {requests} requests per run (hit ratio after the first {}), {VALUE_LEN}-byte values, maxmemory {maxmemory} bytes (what redis-server uses for {} keys), seed {seed}",
        requests / 5,
        keys / 10
    );
    let runs: &[(&str, &str)] = &[
        ("redis", "allkeys-lru"),
        ("redis", "allkeys-lfu"),
        ("shoal", "allkeys-lru"),
        ("shoal", "allkeys-lfu"),
        ("shoal", "allkeys-random"),
        ("shoal", "allkeys-s3fifo"),
    ];
    println!("| workload | server | policy | hit ratio | keys held | used_memory | requests/s |");
    println!("|---|---|---|---|---|---|---|");
    for w in workloads.split(',') {
        let ids = workload(w, keys, requests, seed);
        for &(server, policy) in runs {
            let Some(s) = start(server, maxmemory, policy) else {
                continue;
            };
            match replay(s.port, &ids) {
                Ok(o) => println!(
                    "| {w} | {server} | {policy} | {:.4} | {} | {} | {:.0} |",
                    o.hit_ratio,
                    o.keys_held,
                    o.used_memory,
                    ids.len() as f64 / o.secs
                ),
                Err(e) => println!("| {w} | {server} | {policy} | error: {e} | | | |"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn permutation_is_a_bijection() {
        let n = 1000;
        let mut seen = vec![false; n as usize];
        for x in 0..n {
            let y = super::permute(x, n);
            assert!(!seen[y as usize]);
            seen[y as usize] = true;
        }
    }
}

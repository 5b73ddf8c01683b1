//! Hostile clients against the real binary: slowloris, thousands of idle connections, huge
//! declared lengths with no data, a client that pipelines big GETs and never reads. The server
//! stays up, its memory stays bounded, and a well-behaved client keeps working.
mod common;
use common::*;
use std::io::Write;
use std::time::{Duration, Instant};

/// Field `i` of /proc/PID/statm in MB (0: virtual size, 1: resident).
fn statm_mb(pid: u32, i: usize) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    s.split_whitespace().nth(i).unwrap().parse::<f64>().unwrap() * 4096.0 / 1e6
}

fn rss_mb(pid: u32) -> f64 {
    statm_mb(pid, 1)
}

/// The slowest of `n` PINGs on a fresh well-behaved connection.
fn worst_ping(s: &ServerProcess, n: usize) -> Duration {
    let mut c = conn(s);
    (0..n)
        .map(|_| {
            let t = Instant::now();
            let _: String = q(&mut c, &["PING"]);
            t.elapsed()
        })
        .max()
        .unwrap()
}

#[test]
fn slowloris_and_idle_connections_do_not_hurt_others() {
    let s = server(&[]);
    // One byte every 20 ms from a few clients.
    let slow: Vec<_> = (0..5)
        .map(|_| {
            let addr = s.addr;
            std::thread::spawn(move || {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                for b in b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel" {
                    if c.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    // A thousand idle connections.
    let idle: Vec<_> = (0..1000)
        .map(|_| std::net::TcpStream::connect(s.addr).unwrap())
        .collect();
    let worst = worst_ping(&s, 200);
    assert!(worst < Duration::from_millis(200), "a ping took {worst:?}");
    let mut c = conn(&s);
    let info: String = q(&mut c, &["INFO", "clients"]);
    assert!(info.contains("connected_clients:100"), "{info}");
    for t in slow {
        t.join().unwrap();
    }
    drop(idle);
    assert!(wait_until(Duration::from_secs(5), || q::<String>(
        &mut c,
        &["INFO", "clients"]
    )
    .contains("connected_clients:1\r")));
}

#[test]
fn declared_lengths_without_data_reserve_little() {
    let s = server(&[]);
    let before = rss_mb(s.pid());
    let virt_before = statm_mb(s.pid(), 0);
    // 200 clients each announce a 500 MB argument and send nothing more.
    let conns: Vec<_> = (0..200)
        .map(|_| {
            let mut c = std::net::TcpStream::connect(s.addr).unwrap();
            c.write_all(b"*2\r\n$3\r\nGET\r\n$500000000\r\n").unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let grown = rss_mb(s.pid()) - before;
    assert!(grown < 100.0, "RSS grew by {grown:.0} MB");
    // Not even reserved: 200 x 500 MB of address space would be 100 GB.
    let virt = statm_mb(s.pid(), 0) - virt_before;
    assert!(virt < 2000.0, "virtual size grew by {virt:.0} MB");
    assert!(worst_ping(&s, 50) < Duration::from_millis(200));
    drop(conns);
}

#[test]
fn a_client_that_never_reads_is_bounded() {
    let s = server(&[]);
    let mut c = conn(&s);
    let big = vec![b'x'; 1 << 20];
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut c)
        .unwrap();
    let before = rss_mb(s.pid());
    // 500 GETs of 1 MB pipelined, never read: 500 MB of replies if the server buffered them all.
    let mut hog = std::net::TcpStream::connect(s.addr).unwrap();
    hog.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut req = Vec::new();
    for _ in 0..500 {
        req.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    }
    let _ = hog.write_all(&req);
    std::thread::sleep(Duration::from_millis(500));
    let grown = rss_mb(s.pid()) - before;
    assert!(
        grown < 64.0,
        "RSS grew by {grown:.0} MB for a client that does not read"
    );
    assert!(worst_ping(&s, 50) < Duration::from_millis(200));
    let got: Vec<u8> = redis::cmd("GET").arg("big").query(&mut c).unwrap();
    assert_eq!(got.len(), 1 << 20);
}

fn obuf_disconnections(c: &mut redis::Connection) -> u64 {
    let info: String = q(c, &["INFO", "stats"]);
    info.lines()
        .find_map(|l| l.strip_prefix("client_output_buffer_limit_disconnections:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO stats has client_output_buffer_limit_disconnections")
}

/// Reads from `s` until the server closes it (or 10 s pass); true if it was closed.
fn closed_by_server(s: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
    false
}

#[test]
fn output_buffer_hard_limit_closes_the_client() {
    let s = server(&["--client-output-buffer-limit", "normal", "1mb", "0", "0"]);
    let mut c = conn(&s);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "client-output-buffer-limit"]);
    assert_eq!(
        got[1],
        "normal 1048576 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(vec![b'x'; 2 << 20])
        .query(&mut c)
        .unwrap();
    let mut raw = std::net::TcpStream::connect(s.addr).unwrap();
    raw.write_all(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n").unwrap();
    assert!(
        closed_by_server(&mut raw),
        "a 2 MB reply passed a 1 MB hard limit"
    );
    assert_eq!(obuf_disconnections(&mut c), 1);
    // Replies under the limit are fine.
    let _: () = redis::cmd("SET")
        .arg("small")
        .arg(vec![b'x'; 512 << 10])
        .query(&mut c)
        .unwrap();
    let v: Vec<u8> = q(&mut c, &["GET", "small"]);
    assert_eq!(v.len(), 512 << 10);
}

#[test]
fn output_buffer_soft_limit_closes_a_client_that_does_not_read() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 256kb 1",
        ],
    );
    let _: () = redis::cmd("SET")
        .arg("v")
        .arg(vec![b'x'; 100 << 10])
        .query(&mut c)
        .unwrap();
    // 200 GETs of 100 kB, never read: far more than the socket buffers take.
    let mut hog = std::net::TcpStream::connect(s.addr).unwrap();
    let mut req = Vec::new();
    for _ in 0..200 {
        req.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1\r\nv\r\n");
    }
    hog.write_all(&req).unwrap();
    let closed = wait_until(Duration::from_secs(10), || obuf_disconnections(&mut c) == 1);
    assert!(closed, "the soft limit never closed the client");
    assert!(worst_ping(&s, 20) < Duration::from_millis(200));
    assert_eq!(
        e(
            &mut c,
            &["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"]
        ),
        "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."
    );
}

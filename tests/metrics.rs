//! Prometheus metrics: the page a live server serves on --metrics-port.
mod common;
use common::*;
use std::io::{Read, Write};

#[test]
fn metrics_page_counts_commands_keys_and_latency() {
    let s = server(&["--metrics-port", "0"]);
    let addr = metrics_addr(&s);
    let mut c = conn(&s);
    for i in 0..5 {
        ok(&mut c, &["SET", &format!("k{i}"), "v", "EX", "100"]);
    }
    let _: Option<String> = q(&mut c, &["GET", "k1"]);
    let _: Option<String> = q(&mut c, &["GET", "nope"]);
    let _ = e(&mut c, &["INCR", "k1"]);
    // Pub/sub: a subscriber, two publishes (one delivered), a tracking client.
    let mut sub =
        shoal_testkit::RawConn::connect(format!("127.0.0.1:{}", s.port()).parse().expect("addr"));
    sub.send(b"SUBSCRIBE news\r\n");
    let want = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n";
    assert_eq!(sub.read_exact_n(want.len()), want);
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "news", "hi"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "void", "hi"]), 0);
    let mut tr = conn(&s);
    ok(&mut tr, &["CLIENT", "TRACKING", "ON", "BCAST"]);
    let page = scrape(&addr);
    for want in [
        "shoal_commands_total{cmd=\"set\"} 5",
        "shoal_commands_total{cmd=\"get\"} 2",
        "shoal_command_failures_total{cmd=\"incr\"} 1",
        "shoal_error_replies_total{prefix=\"ERR\"} 1",
        "shoal_keyspace_hits_total 1",
        "shoal_keyspace_misses_total 1",
        "shoal_connected_clients 3",
        "shoal_pubsub_channels{kind=\"channel\"} 1",
        "shoal_pubsub_channels{kind=\"pattern\"} 0",
        "shoal_pubsub_messages_published_total 2",
        "shoal_pubsub_messages_delivered_total 1",
        "shoal_pubsub_slow_subscribers_closed_total 0",
        "shoal_tracking_clients 1",
        "shoal_keys{db=\"0\"} 5",
        "shoal_keys_with_ttl{db=\"0\"} 5",
        "shoal_command_duration_seconds_bucket{cmd=\"set\",le=\"+Inf\"} 5",
        "shoal_command_duration_seconds_count{cmd=\"get\"} 2",
        "# TYPE shoal_command_duration_seconds histogram",
    ] {
        assert!(page.contains(want), "missing {want:?} in\n{page}");
    }
    // Every sample line is `name{labels} number`.
    for line in page
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
        assert!(line.starts_with("shoal_"), "unprefixed series {line:?}");
    }
    // Anything but /metrics is a 404.
    let mut raw = std::net::TcpStream::connect(&addr).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut r = String::new();
    raw.read_to_string(&mut r).unwrap();
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
}

//! Pub/Sub and client-side caching against the real binary, byte for byte as Redis 7 answers:
//! confirmations, messages in RESP2 and RESP3, pub/sub mode's rules, PUBSUB introspection, the
//! pubsub output limit, and CLIENT TRACKING's invalidations.
mod common;
use common::*;
use shoal_testkit::RawConn;
use std::time::Duration;

fn raw(s: &shoal_testkit::ServerProcess) -> RawConn {
    RawConn::connect(format!("127.0.0.1:{}", s.port()).parse().expect("addr"))
}

fn cmd(c: &mut RawConn, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&RawConn::encode(&a));
}

/// Sends a command and expects exactly `want` back.
fn expect(c: &mut RawConn, args: &[&str], want: &str) {
    cmd(c, args);
    read(c, want);
}

/// Switches to RESP3 and drains HELLO's reply (up to a PING's answer).
fn hello3(c: &mut RawConn) {
    cmd(c, &["HELLO", "3"]);
    cmd(c, &["PING"]);
    let mut seen = Vec::new();
    while !seen.ends_with(b"+PONG\r\n") {
        let b = c.read_exact_n(1);
        assert!(!b.is_empty(), "connection closed");
        seen.extend_from_slice(&b);
    }
}

fn read(c: &mut RawConn, want: &str) {
    let got = String::from_utf8_lossy(&c.read_exact_n(want.len())).into_owned();
    assert_eq!(got, want, "after {want:?}");
}

#[test]
fn subscribe_publish_unsubscribe_in_resp2() {
    let s = server(&[]);
    let mut sub = raw(&s);
    let mut c = conn(&s);
    expect(
        &mut sub,
        &["SUBSCRIBE", "a", "b", "a"],
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n",
    );
    expect(
        &mut sub,
        &["PSUBSCRIBE", "h?llo"],
        "*3\r\n$10\r\npsubscribe\r\n$5\r\nh?llo\r\n:3\r\n",
    );
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "a", "hi"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "hello", "x"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "nobody", "x"]), 0);
    read(&mut sub, "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n");
    read(
        &mut sub,
        "*4\r\n$8\r\npmessage\r\n$5\r\nh?llo\r\n$5\r\nhello\r\n$1\r\nx\r\n",
    );
    // Pub/sub mode: only the subscription commands, PING, QUIT and RESET.
    expect(
        &mut sub,
        &["GET", "k"],
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    expect(
        &mut sub,
        &["CLIENT", "LIST"],
        "-ERR Can't execute 'client|list': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    expect(&mut sub, &["PING"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    expect(&mut sub, &["PING", "m"], "*2\r\n$4\r\npong\r\n$1\r\nm\r\n");
    // CLIENT LIST shows the counts and the P flag.
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.contains("flags=P db=0 sub=2 psub=1 ssub=0"), "{list}");
    assert_eq!(info_field(&mut c, "stats", "pubsub_channels"), "2");
    assert_eq!(info_field(&mut c, "stats", "pubsub_patterns"), "1");
    expect(
        &mut sub,
        &["PUNSUBSCRIBE"],
        "*3\r\n$12\r\npunsubscribe\r\n$5\r\nh?llo\r\n:2\r\n",
    );
    expect(
        &mut sub,
        &["UNSUBSCRIBE", "b", "zz"],
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:1\r\n*3\r\n$11\r\nunsubscribe\r\n$2\r\nzz\r\n:1\r\n",
    );
    expect(
        &mut sub,
        &["UNSUBSCRIBE"],
        "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n",
    );
    // Out of pub/sub mode: ordinary commands and replies again.
    expect(&mut sub, &["PING"], "+PONG\r\n");
    expect(
        &mut sub,
        &["UNSUBSCRIBE"],
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
    );
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "a", "hi"]), 0);
    assert_eq!(info_field(&mut c, "stats", "pubsub_channels"), "0");
}

#[test]
fn resp3_subscribers_get_pushes_and_keep_running_commands() {
    let s = server(&[]);
    let mut sub = raw(&s);
    let mut c = conn(&s);
    hello3(&mut sub);
    expect(
        &mut sub,
        &["SUBSCRIBE", "ch"],
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    // RESP3: any command runs while subscribed.
    expect(&mut sub, &["SET", "k", "v"], "+OK\r\n");
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "ch", "m"]), 1);
    read(&mut sub, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n");
    // Publishing to itself: the message comes ahead of the reply, as in Redis.
    expect(
        &mut sub,
        &["PUBLISH", "ch", "self"],
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$4\r\nself\r\n:1\r\n",
    );
    expect(&mut sub, &["PING"], "+PONG\r\n");
    // NUMSUB is a flat array in RESP3 too (Redis 7.0; redis-py zips it into pairs).
    expect(
        &mut sub,
        &["PUBSUB", "NUMSUB", "ch", "x"],
        "*4\r\n$2\r\nch\r\n:1\r\n$1\r\nx\r\n:0\r\n",
    );
    // RESET drops every subscription.
    expect(&mut sub, &["RESET"], "+RESET\r\n");
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "ch", "m"]), 0);
}

#[test]
fn confirmations_and_messages_survive_client_reply_off() {
    let s = server(&[]);
    let mut sub = raw(&s);
    let mut c = conn(&s);
    cmd(&mut sub, &["CLIENT", "REPLY", "OFF"]);
    expect(
        &mut sub,
        &["SUBSCRIBE", "ch"],
        "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
    );
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "ch", "m"]), 1);
    read(&mut sub, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n");
}

#[test]
fn pubsub_introspection_and_errors() {
    let s = server(&[]);
    let mut a = raw(&s);
    let mut b = raw(&s);
    let mut c = conn(&s);
    expect(
        &mut a,
        &["SUBSCRIBE", "news.1"],
        "*3\r\n$9\r\nsubscribe\r\n$6\r\nnews.1\r\n:1\r\n",
    );
    expect(
        &mut b,
        &["SUBSCRIBE", "news.1", "other"],
        "*3\r\n$9\r\nsubscribe\r\n$6\r\nnews.1\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:2\r\n",
    );
    expect(
        &mut a,
        &["PSUBSCRIBE", "n*"],
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n",
    );
    expect(
        &mut b,
        &["PSUBSCRIBE", "n*"],
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:3\r\n",
    );
    let mut chans: Vec<String> = q(&mut c, &["PUBSUB", "CHANNELS"]);
    chans.sort();
    assert_eq!(chans, vec!["news.1", "other"]);
    let chans: Vec<String> = q(&mut c, &["PUBSUB", "CHANNELS", "n*"]);
    assert_eq!(chans, vec!["news.1"]);
    let n: Vec<redis::Value> = q(&mut c, &["PUBSUB", "NUMSUB", "news.1", "none"]);
    assert_eq!(
        n,
        vec![
            redis::Value::BulkString(b"news.1".to_vec()),
            redis::Value::Int(2),
            redis::Value::BulkString(b"none".to_vec()),
            redis::Value::Int(0)
        ]
    );
    assert_eq!(q::<i64>(&mut c, &["PUBSUB", "NUMPAT"]), 1);
    // Two channel subscribers plus two pattern subscriptions.
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "news.1", "x"]), 4);
    assert_eq!(
        e(&mut c, &["PUBSUB", "NUMPAT", "x"]),
        "ERR wrong number of arguments for 'pubsub|numpat' command"
    );
    assert_eq!(
        e(&mut c, &["PUBSUB", "CHANNELS", "a", "b"]),
        "ERR wrong number of arguments for 'pubsub|channels' command"
    );
    assert_eq!(
        e(&mut c, &["PUBSUB", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try PUBSUB HELP."
    );
    assert_eq!(
        e(&mut c, &["PUBLISH", "a"]),
        "ERR wrong number of arguments for 'publish' command"
    );
    assert_eq!(
        e(&mut c, &["SUBSCRIBE"]),
        "ERR wrong number of arguments for 'subscribe' command"
    );
    read(&mut a, "*3\r\n$7\r\nmessage\r\n$6\r\nnews.1\r\n$1\r\nx\r\n");
    read(
        &mut a,
        "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$6\r\nnews.1\r\n$1\r\nx\r\n",
    );
    // Shard channels are counted apart.
    expect(
        &mut a,
        &["SSUBSCRIBE", "s1"],
        "*3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n",
    );
    assert_eq!(q::<i64>(&mut c, &["SPUBLISH", "s1", "x"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PUBLISH", "s1", "x"]), 0);
    read(&mut a, "*3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$1\r\nx\r\n");
    let chans: Vec<String> = q(&mut c, &["PUBSUB", "SHARDCHANNELS"]);
    assert_eq!(chans, vec!["s1"]);
    assert_eq!(info_field(&mut c, "stats", "pubsubshard_channels"), "1");
    // Disconnecting drops everything.
    drop(a);
    drop(b);
    assert!(wait_until(Duration::from_secs(5), || {
        q::<i64>(&mut c, &["PUBSUB", "NUMPAT"]) == 0
            && q::<Vec<String>>(&mut c, &["PUBSUB", "CHANNELS"]).is_empty()
    }));
}

#[test]
fn messages_from_one_publisher_arrive_in_order() {
    let s = server(&["--threads", "2"]);
    let mut sub = raw(&s);
    expect(
        &mut sub,
        &["SUBSCRIBE", "o"],
        "*3\r\n$9\r\nsubscribe\r\n$1\r\no\r\n:1\r\n",
    );
    let mut c = conn(&s);
    let mut p = redis::pipe();
    for i in 0..2000 {
        p.cmd("PUBLISH").arg("o").arg(format!("{i:05}"));
    }
    let _: Vec<i64> = p.query(&mut c).expect("publish");
    for i in 0..2000 {
        read(
            &mut sub,
            &format!("*3\r\n$7\r\nmessage\r\n$1\r\no\r\n$5\r\n{i:05}\r\n"),
        );
    }
}

#[test]
fn a_subscriber_that_does_not_read_is_closed_at_the_pubsub_limit() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 256kb 0 0",
        ],
    );
    let mut sub = raw(&s);
    expect(
        &mut sub,
        &["SUBSCRIBE", "big"],
        "*3\r\n$9\r\nsubscribe\r\n$3\r\nbig\r\n:1\r\n",
    );
    let payload = "x".repeat(64 * 1024);
    // The subscriber never reads: the socket buffers fill, then its mailbox passes the limit.
    let mut closed = false;
    for _ in 0..2000 {
        let n: i64 = q(&mut c, &["PUBLISH", "big", &payload]);
        if n == 0 {
            closed = true;
            break;
        }
    }
    assert!(closed, "the subscriber was never dropped");
    assert_ne!(
        info_field(&mut c, "stats", "client_output_buffer_limit_disconnections"),
        "0"
    );
    // The publisher and others carry on.
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn keyspace_notification_setting_round_trips_in_redis_order() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(v[1], "AKE");
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "Elg$"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(v[1], "g$lE");
    assert!(
        e(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEw"])
            .contains("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    );
}

// ---- client-side caching ----

#[test]
fn resp3_tracking_invalidates_once_after_a_change() {
    let s = server(&[]);
    let mut t = raw(&s);
    let mut c = conn(&s);
    hello3(&mut t);
    expect(&mut t, &["CLIENT", "TRACKING", "on"], "+OK\r\n");
    ok(&mut c, &["SET", "k", "1"]);
    expect(&mut t, &["GET", "k"], "$1\r\n1\r\n");
    ok(&mut c, &["SET", "k", "2"]);
    read(&mut t, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
    // Forgotten after one invalidation: a second change sends nothing.
    ok(&mut c, &["SET", "k", "3"]);
    expect(&mut t, &["PING"], "+PONG\r\n");
    // Its own change comes after its reply.
    expect(&mut t, &["GET", "k"], "$1\r\n3\r\n");
    expect(
        &mut t,
        &["DEL", "k"],
        ":1\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n",
    );
    // A flush invalidates everything with a null.
    expect(&mut t, &["GET", "k2"], "_\r\n");
    ok(&mut c, &["FLUSHALL"]);
    read(&mut t, ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    let info: String = q(&mut c, &["INFO", "clients"]);
    assert!(info.contains("tracking_clients:1"), "{info}");
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.contains("flags=t "), "{list}");
}

#[test]
fn tracking_redirects_to_a_resp2_subscriber() {
    let s = server(&[]);
    let mut r = raw(&s);
    let mut t = conn(&s);
    let mut c = conn(&s);
    cmd(&mut r, &["CLIENT", "ID"]);
    let mut line = Vec::new();
    while !line.ends_with(b"\r\n") {
        let b = r.read_exact_n(1);
        assert!(!b.is_empty(), "closed");
        line.extend_from_slice(&b);
    }
    let rid: i64 = String::from_utf8_lossy(&line[1..line.len() - 2])
        .parse()
        .expect("id");
    expect(
        &mut r,
        &["SUBSCRIBE", "__redis__:invalidate"],
        "*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n",
    );
    let rid = rid.to_string();
    ok(&mut t, &["CLIENT", "TRACKING", "on", "REDIRECT", &rid]);
    let _: Option<String> = q(&mut t, &["GET", "a"]);
    let _: Vec<Option<String>> = q(&mut t, &["MGET", "b", "c"]);
    ok(&mut c, &["MSET", "a", "1", "c", "1"]);
    read(
        &mut r,
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\na\r\n",
    );
    read(
        &mut r,
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nc\r\n",
    );
    assert_eq!(
        q::<i64>(&mut t, &["CLIENT", "GETREDIR"]),
        rid.parse::<i64>().expect("id")
    );
    // BCAST with prefixes: one message per prefix per command.
    ok(&mut t, &["CLIENT", "TRACKING", "off"]);
    ok(
        &mut t,
        &[
            "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", &rid, "PREFIX", "x:", "PREFIX", "y:",
        ],
    );
    ok(&mut c, &["MSET", "x:1", "1", "x:2", "2", "z:1", "3"]);
    read(
        &mut r,
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*2\r\n$3\r\nx:1\r\n$3\r\nx:2\r\n",
    );
    let info: Vec<redis::Value> = q(&mut t, &["CLIENT", "TRACKINGINFO"]);
    assert_eq!(info.len(), 6);
    assert_eq!(
        info[1],
        redis::Value::Array(vec![
            redis::Value::BulkString(b"on".to_vec()),
            redis::Value::BulkString(b"bcast".to_vec())
        ])
    );
    // The redirect client goes: the tracker is marked broken.
    drop(r);
    std::thread::sleep(Duration::from_millis(100));
    ok(&mut c, &["SET", "x:9", "1"]);
    let list: String = q(&mut t, &["CLIENT", "INFO"]);
    assert!(list.contains("flags=tRB "), "{list}");
}

/// Keys read while tracking stay in the table after CLIENT TRACKING off (Redis drops them
/// lazily) until a flush, which empties it whether or not anyone still tracks: otherwise a
/// client that turns tracking back on hears of keys it read before the flush.
#[test]
fn a_flush_empties_the_tracking_table_even_with_no_tracker_left() {
    let s = server(&[]);
    let mut t = conn(&s);
    ok(&mut t, &["CLIENT", "TRACKING", "on"]);
    let _: Vec<Option<String>> = q(&mut t, &["MGET", "a", "b"]);
    let items = |c: &mut redis::Connection| info_field(c, "stats", "tracking_total_items");
    assert_eq!(items(&mut t), "2");
    ok(&mut t, &["CLIENT", "TRACKING", "off"]);
    assert_eq!(items(&mut t), "2", "kept until invalidated, as in Redis");
    ok(&mut t, &["FLUSHALL"]);
    assert_eq!(items(&mut t), "0");
    assert_eq!(info_field(&mut t, "stats", "tracking_total_keys"), "0");
}

#[test]
fn tracking_option_errors_are_redis_texts() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        e(&mut c, &["CLIENT", "TRACKING", "on", "PREFIX", "a"]),
        "ERR PREFIX option requires BCAST mode to be enabled"
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "TRACKING", "on", "REDIRECT", "999999"]),
        "ERR The client ID you want redirect to does not exist"
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"]),
        "ERR You can't specify both OPTIN mode and OPTOUT mode"
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"]),
        "ERR OPTIN and OPTOUT are not compatible with BCAST"
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "TRACKING", "maybe"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "CACHING", "yes"]),
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"
    );
    assert!(
        e(
            &mut c,
            &[
                "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a"
            ]
        )
        .starts_with("ERR Prefix 'ab' overlaps with another provided prefix 'a'")
    );
    ok(&mut c, &["CLIENT", "TRACKING", "on", "OPTIN"]);
    assert_eq!(
        e(&mut c, &["CLIENT", "CACHING", "no"]),
        "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "TRACKING", "on", "OPTOUT"]),
        "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."
    );
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "GETREDIR"]), 0);
    ok(&mut c, &["CLIENT", "TRACKING", "off"]);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "GETREDIR"]), -1);
}

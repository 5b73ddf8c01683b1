//! Blocking pops against the real binary: wake-ups, timeouts, first-come-first-served order,
//! MULTI/EXEC, LMOVE into the watched key, disconnects, CLIENT UNBLOCK.
mod common;
use common::*;
use redis::Value;
use std::time::{Duration, Instant};

fn pair(k: &str, v: &str) -> Value {
    Value::Array(vec![
        Value::BulkString(k.as_bytes().to_vec()),
        Value::BulkString(v.as_bytes().to_vec()),
    ])
}

#[test]
fn push_wakes_a_blocked_pop_and_timeouts_answer_nil() {
    let s = server(&[]);
    let mut c = conn(&s);
    let h = spawn_cmd(s.url(), vec!["BLPOP", "q1", "q2", "0"]);
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["RPUSH", "q2", "hello"]);
    assert_eq!(h.join().unwrap(), Ok(pair("q2", "hello")));
    assert_eq!(blocked_count(&mut c), 0);
    let t = Instant::now();
    assert_eq!(v(&mut c, &["BRPOP", "nothing", "0.2"]), Value::Nil);
    assert!(
        t.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t.elapsed()
    );
    // Data already there: no blocking at all.
    let _: i64 = q(&mut c, &["RPUSH", "q3", "a", "b"]);
    assert_eq!(v(&mut c, &["BRPOP", "q3", "0"]), pair("q3", "b"));
    assert_eq!(e(&mut c, &["BLPOP", "q", "-1"]), "ERR timeout is negative");
    assert_eq!(
        e(&mut c, &["BLPOP", "q", "abc"]),
        "ERR timeout is not a float or out of range"
    );
    // Found by the command fuzzer: a deadline past the 64-bit clock overflowed.
    for huge in ["9223372036854775807", "1e300", "9223372036854775"] {
        assert_eq!(
            e(&mut c, &["BZPOPMIN", "z", huge]),
            "ERR timeout is out of range",
            "{huge}"
        );
    }
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let s = server(&[]);
    let mut c = conn(&s);
    let mut hs = Vec::new();
    for i in 0..3 {
        hs.push(spawn_cmd(s.url(), vec!["BLPOP", "fifo", "5"]));
        wait_blocked(&mut c, i + 1);
    }
    let _: i64 = q(&mut c, &["RPUSH", "fifo", "first", "second", "third"]);
    let got: Vec<Value> = hs.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
    assert_eq!(
        got,
        vec![
            pair("fifo", "first"),
            pair("fifo", "second"),
            pair("fifo", "third")
        ]
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "fifo"]), 0);
}

#[test]
fn exec_and_lmove_wake_waiters() {
    let s = server(&[]);
    let mut c = conn(&s);
    let h = spawn_cmd(s.url(), vec!["BLPOP", "tx{t}", "5"]);
    wait_blocked(&mut c, 1);
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["RPUSH", "tx{t}", "one"]);
    let _: String = q(&mut c, &["RPUSH", "tx{t}", "two"]);
    let r = v(&mut c, &["EXEC"]);
    assert_eq!(
        r,
        Value::Array(vec![Value::Int(1), Value::Int(2)]),
        "the transaction ran whole before the waiter"
    );
    assert_eq!(h.join().unwrap(), Ok(pair("tx{t}", "one")));
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "tx{t}", "0", "-1"]),
        vec!["two"]
    );
    // LMOVE into the key a client waits on.
    let h = spawn_cmd(s.url(), vec!["BRPOP", "dst{t}", "5"]);
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["RPUSH", "src{t}", "moved"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src{t}", "dst{t}", "LEFT", "RIGHT"]),
        "moved"
    );
    assert_eq!(h.join().unwrap(), Ok(pair("dst{t}", "moved")));
    // BLMOVE waits for its source, then moves.
    let h = spawn_cmd(
        s.url(),
        vec!["BLMOVE", "bsrc{t}", "bdst{t}", "RIGHT", "LEFT", "5"],
    );
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["LPUSH", "bsrc{t}", "x"]);
    assert_eq!(h.join().unwrap(), Ok(Value::BulkString(b"x".to_vec())));
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "bdst{t}", "0", "-1"]),
        vec!["x"]
    );
    // Inside MULTI a blocking pop answers at once.
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["BLPOP", "empty{t}", "0"]);
    assert_eq!(v(&mut c, &["EXEC"]), Value::Array(vec![Value::Nil]));
}

#[test]
fn sorted_set_blocking_pops() {
    let s = server(&[]);
    let mut c = conn(&s);
    let h = spawn_cmd(s.url(), vec!["BZPOPMIN", "zq", "5"]);
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["ZADD", "zq", "2", "b", "1", "a"]);
    assert_eq!(
        h.join().unwrap(),
        Ok(Value::Array(vec![
            Value::BulkString(b"zq".to_vec()),
            Value::BulkString(b"a".to_vec()),
            Value::BulkString(b"1".to_vec())
        ]))
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["BZPOPMAX", "zq", "0"]),
        vec!["zq", "b", "2"]
    );
}

#[test]
fn disconnect_while_blocked_leaves_no_trace_and_unblock_works() {
    let s = server(&[]);
    let mut c = conn(&s);
    {
        let mut raw = RawConn::connect(s.addr);
        raw.send(b"BLPOP gone 0\r\n");
        wait_blocked(&mut c, 1);
    }
    wait_blocked(&mut c, 0);
    let _: i64 = q(&mut c, &["RPUSH", "gone", "kept"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        q::<Vec<String>>(&mut c, &["LRANGE", "gone", "0", "-1"]),
        vec!["kept"],
        "no ghost consumer"
    );
    // CLIENT UNBLOCK, both ways.
    let mut waiter = RawConn::connect(s.addr);
    waiter.send(b"CLIENT ID\r\n");
    let id_line = String::from_utf8(waiter.read_exact_n(4)).unwrap();
    let id = id_line.trim().trim_start_matches(':').to_string();
    waiter.send(b"BLPOP never 0\r\n");
    wait_blocked(&mut c, 1);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id]), 1);
    assert_eq!(waiter.read_exact_n(5), b"*-1\r\n");
    waiter.send(b"BLPOP never 0\r\n");
    wait_blocked(&mut c, 1);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id, "ERROR"]), 1);
    let want = "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n";
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_exact_n(want.len())),
        want
    );
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id]),
        0,
        "not blocked now"
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "UNBLOCK", &id, "LATER"]),
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    );
    // Commands pipelined behind a blocking one run after it.
    waiter.send(b"BLPOP p 0\r\nPING\r\n");
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["RPUSH", "p", "v"]);
    let want = "*2\r\n$1\r\np\r\n$1\r\nv\r\n+PONG\r\n";
    assert_eq!(
        String::from_utf8_lossy(&waiter.read_exact_n(want.len())),
        want
    );
}

#[test]
fn multi_key_blocking_pops() {
    let s = server(&[]);
    let mut c = conn(&s);
    let h = spawn_cmd(
        s.url(),
        vec!["BLMPOP", "5", "2", "a{t}", "b{t}", "LEFT", "COUNT", "5"],
    );
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["RPUSH", "b{t}", "x", "y"]);
    assert_eq!(
        h.join().unwrap(),
        Ok(Value::Array(vec![
            Value::BulkString(b"b{t}".to_vec()),
            Value::Array(vec![
                Value::BulkString(b"x".to_vec()),
                Value::BulkString(b"y".to_vec())
            ])
        ]))
    );
    let h = spawn_cmd(s.url(), vec!["BZMPOP", "5", "1", "z{t}", "MIN"]);
    wait_blocked(&mut c, 1);
    let _: i64 = q(&mut c, &["ZADD", "z{t}", "7", "m"]);
    assert_eq!(
        h.join().unwrap(),
        Ok(Value::Array(vec![
            Value::BulkString(b"z{t}".to_vec()),
            Value::Array(vec![Value::Array(vec![
                Value::BulkString(b"m".to_vec()),
                Value::BulkString(b"7".to_vec())
            ])])
        ]))
    );
}

/// A command that blocks counts as one call, when it ends (served, timed out, unblocked), as
/// Redis counts it; a failure while blocked (NOGROUP, CLIENT UNBLOCK ... ERROR) is a failed call.
#[test]
fn a_blocked_command_counts_once_in_commandstats() {
    let s = server(&[]);
    let mut c = conn(&s);
    let stat = |c: &mut redis::Connection, cmd: &str| -> String {
        let info: String = q(c, &["INFO", "commandstats"]);
        let line = info
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{cmd}:")))
            .unwrap_or_default()
            .to_string();
        let calls = line
            .split("calls=")
            .nth(1)
            .unwrap_or("")
            .split(',')
            .next()
            .unwrap_or("");
        let failed = line.split("failed_calls=").nth(1).unwrap_or("");
        format!("calls={calls} failed={failed}")
    };
    // Timed out.
    let mut w = conn(&s);
    let none: Option<Vec<String>> = q(&mut w, &["BLPOP", "nothing", "0.05"]);
    assert_eq!(none, None);
    assert_eq!(stat(&mut c, "blpop"), "calls=1 failed=0");
    // Served after blocking (one wake-up, one call).
    let t = std::thread::spawn({
        let url = s.url();
        move || {
            let mut w = redis::Client::open(url).unwrap().get_connection().unwrap();
            let got: Vec<String> = redis::cmd("BRPOP")
                .arg("list")
                .arg(5)
                .query(&mut w)
                .unwrap();
            got
        }
    });
    assert!(wait_until(Duration::from_secs(5), || info_field(
        &mut c,
        "clients",
        "blocked_clients"
    ) == "1"));
    let _: i64 = q(&mut c, &["LPUSH", "list", "x"]);
    assert_eq!(t.join().unwrap(), ["list", "x"]);
    assert_eq!(stat(&mut c, "brpop"), "calls=1 failed=0");
    // Failed while blocked: the group goes away.
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let t = std::thread::spawn({
        let url = s.url();
        move || {
            let mut w = redis::Client::open(url).unwrap().get_connection().unwrap();
            redis::cmd("XREADGROUP")
                .arg(&["GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">"])
                .query::<Value>(&mut w)
                .is_err()
        }
    });
    assert!(wait_until(Duration::from_secs(5), || info_field(
        &mut c,
        "clients",
        "blocked_clients"
    ) == "1"));
    let _: i64 = q(&mut c, &["XGROUP", "DESTROY", "s", "g"]);
    assert!(t.join().unwrap(), "NOGROUP for the blocked reader");
    assert_eq!(stat(&mut c, "xreadgroup"), "calls=1 failed=1");
}

//! Keyspace notifications (`notify-keyspace-events`) against the real binary: which events each
//! command sends, in which order, and the no-op cases that send nothing (Redis 7.0 semantics).
mod common;
use common::*;
use std::time::Duration;

/// A client subscribed to every keyspace and keyevent channel, plus a marker channel that ends
/// each batch of events.
struct Events {
    sub: redis::Connection,
}

impl Events {
    fn new(s: &ServerProcess) -> Events {
        let mut sub = conn(s);
        sub.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut sc = redis::cmd("PSUBSCRIBE");
        sc.arg("__key*__:*");
        sub.send_packed_command(&sc.get_packed_command())
            .expect("psubscribe");
        let mut sc = redis::cmd("SUBSCRIBE");
        sc.arg("marker");
        sub.send_packed_command(&sc.get_packed_command())
            .expect("subscribe");
        for _ in 0..2 {
            sub.recv_response().expect("confirmation");
        }
        Events { sub }
    }

    /// The events published since the last call, in order: a keyevent message reads
    /// `"<event> <key>"` (with `@<db>` after the key outside database 0), a keyspace message
    /// `"K <key> <event>"`.
    fn take(&mut self, c: &mut redis::Connection) -> Vec<String> {
        let _: i64 = q(c, &["PUBLISH", "marker", "end"]);
        let mut out = Vec::new();
        loop {
            let m = self
                .sub
                .recv_response()
                .expect("a message before the marker");
            let parts: Vec<String> = redis::from_redis_value(m).expect("a message");
            let (ch, payload) = match parts.as_slice() {
                [kind, ch, payload] if kind == "message" => (ch.clone(), payload.clone()),
                [kind, _, ch, payload] if kind == "pmessage" => (ch.clone(), payload.clone()),
                other => panic!("unexpected push {other:?}"),
            };
            if ch == "marker" {
                return out;
            }
            let (kind, rest) = ch.split_at(11);
            let (db, name) = rest.split_once("__:").expect("channel form");
            let at = if db == "0" {
                String::new()
            } else {
                format!(" @{db}")
            };
            out.push(match kind {
                "__keyevent@" => format!("{name} {payload}{at}"),
                "__keyspace@" => format!("K {name} {payload}{at}"),
                _ => panic!("unexpected channel {ch}"),
            });
        }
    }
}

fn flags(c: &mut redis::Connection, f: &str) {
    ok(c, &["CONFIG", "SET", "notify-keyspace-events", f]);
}

/// Runs `cmds` (results ignored, errors allowed) and returns the events they sent.
fn run(ev: &mut Events, c: &mut redis::Connection, cmds: &[&[&str]]) -> Vec<String> {
    for cmd in cmds {
        let mut r = redis::cmd(cmd[0]);
        for a in &cmd[1..] {
            r.arg(*a);
        }
        let _: redis::RedisResult<redis::Value> = r.query(c);
    }
    ev.take(c)
}

fn setup() -> (ServerProcess, redis::Connection, Events) {
    let s = server(&["--databases", "4", "--enable-debug-command", "yes"]);
    let c = conn(&s);
    let ev = Events::new(&s);
    (s, c, ev)
}

#[test]
fn config_round_trip_and_errors() {
    let s = server(&[]);
    let mut c = conn(&s);
    let get = |c: &mut redis::Connection| -> String {
        let v: Vec<String> = q(c, &["CONFIG", "GET", "notify-keyspace-events"]);
        v[1].clone()
    };
    assert_eq!(get(&mut c), "");
    for (set, want) in [
        ("gKE", "gKE"),
        ("$lshzxeKE", "$lshzxeKE"),
        ("KA", "AK"),
        ("EA", "AE"),
        ("Elg", "glE"),
        ("nxK", "xnK"),
        ("KEAn", "AKE"),
        ("KEAm", "AKEm"),
        ("g", "g"),
        ("", ""),
    ] {
        flags(&mut c, set);
        assert_eq!(get(&mut c), want, "{set}");
    }
    flags(&mut c, "KEA");
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEw"]),
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
    );
    assert_eq!(get(&mut c), "AKE", "the old value is kept");
}

#[test]
fn keyspace_before_keyevent_and_class_masks() {
    let (_s, mut c, mut ev) = setup();
    // Off by default, and nothing without K or E.
    assert!(run(&mut ev, &mut c, &[&["SET", "foo", "bar"]]).is_empty());
    flags(&mut c, "A");
    assert!(run(&mut ev, &mut c, &[&["SET", "foo", "bar"]]).is_empty());
    flags(&mut c, "KEA");
    assert_eq!(
        run(&mut ev, &mut c, &[&["SET", "foo", "bar"]]),
        ["K foo set", "set foo"]
    );
    flags(&mut c, "KEl");
    assert_eq!(
        run(
            &mut ev,
            &mut c,
            &[&["SET", "foo", "bar"], &["LPUSH", "mylist", "a"]]
        ),
        ["K mylist lpush", "lpush mylist"]
    );
    flags(&mut c, "Kg");
    assert_eq!(
        run(
            &mut ev,
            &mut c,
            &[&["SELECT", "2"], &["SET", "x", "1"], &["DEL", "x"]]
        ),
        ["K x del @2"]
    );
    // A transaction's commands send their events as they run.
    flags(&mut c, "E$l");
    assert_eq!(
        run(
            &mut ev,
            &mut c,
            &[
                &["SELECT", "0"],
                &["MULTI"],
                &["SET", "a", "1"],
                &["RPUSH", "l", "x"],
                &["EXEC"]
            ]
        ),
        ["set a", "rpush l"]
    );
}

#[test]
fn string_events() {
    let (_s, mut c, mut ev) = setup();
    flags(&mut c, "E$gn");
    let cases: &[(&[&str], &[&str])] = &[
        (&["SET", "foo", "bar"], &["new foo", "set foo"]),
        (&["SET", "foo", "baz"], &["set foo"]),
        (&["SET", "foo", "x", "NX"], &[]),
        (&["SET", "nope", "x", "XX"], &[]),
        (
            &["SET", "foo", "x", "EX", "100"],
            &["set foo", "expire foo"],
        ),
        (&["SET", "foo", "y", "KEEPTTL"], &["set foo"]),
        (&["SETNX", "foo", "y"], &[]),
        (&["SETNX", "n1", "y"], &["new n1", "set n1"]),
        (&["SETEX", "s", "10", "v"], &["new s", "set s", "expire s"]),
        (&["PSETEX", "s", "0", "v"], &[]),
        (
            &["MSET", "a", "1", "foo", "2", "a", "3"],
            &["new a", "set a", "set foo", "set a"],
        ),
        (&["MSETNX", "a", "1", "b", "2"], &[]),
        (
            &["MSETNX", "b", "2", "c", "3"],
            &["new b", "set b", "new c", "set c"],
        ),
        (&["GETSET", "foo", "z"], &["set foo"]),
        (&["GETSET", "g", "z"], &["new g", "set g"]),
        (&["INCR", "i"], &["new i", "incrby i"]),
        (&["DECR", "i"], &["incrby i"]),
        (&["INCRBY", "i", "5"], &["incrby i"]),
        (&["DECRBY", "i", "2"], &["incrby i"]),
        (&["INCR", "foo"], &[]),
        (&["INCRBYFLOAT", "i", "1.5"], &["incrbyfloat i"]),
        (&["INCRBYFLOAT", "f", "1"], &["new f", "incrbyfloat f"]),
        (&["APPEND", "foo", ""], &["append foo"]),
        (&["APPEND", "ap", "x"], &["new ap", "append ap"]),
        (&["SETRANGE", "foo", "0", ""], &[]),
        (&["SETRANGE", "sr", "0", ""], &[]),
        (&["SETRANGE", "sr", "2", "x"], &["new sr", "setrange sr"]),
        (&["SETRANGE", "sr", "0", "y"], &["setrange sr"]),
        (&["GETDEL", "foo"], &["del foo"]),
        (&["GETDEL", "foo"], &[]),
        (&["GETEX", "a", "EX", "100"], &["expire a"]),
        (&["GETEX", "a", "PERSIST"], &["persist a"]),
        (&["GETEX", "a", "PERSIST"], &[]),
        (&["GETEX", "a"], &[]),
        (&["GETEX", "a", "PXAT", "1"], &["del a"]),
        (&["GET", "b"], &[]),
    ];
    for (cmd, want) in cases {
        assert_eq!(run(&mut ev, &mut c, &[cmd]), *want, "{cmd:?}");
    }
}

#[test]
fn generic_events() {
    let (_s, mut c, mut ev) = setup();
    ok(
        &mut c,
        &["MSET", "a", "1", "b", "2", "k", "3", "r1", "4", "x", "5"],
    );
    flags(&mut c, "Egn");
    let cases: &[(&[&str], &[&str])] = &[
        (&["DEL", "nope", "a", "b", "a"], &["del a", "del b"]),
        (&["UNLINK", "x", "nope"], &["del x"]),
        (&["EXPIRE", "nope", "100"], &[]),
        (&["EXPIRE", "k", "100"], &["expire k"]),
        (&["EXPIRE", "k", "50", "NX"], &[]),
        (&["EXPIRE", "k", "50", "GT"], &[]),
        (&["PEXPIRE", "k", "50000", "LT"], &["expire k"]),
        (&["PERSIST", "k"], &["persist k"]),
        (&["PERSIST", "k"], &[]),
        (&["PERSIST", "nope"], &[]),
        (&["EXPIREAT", "k", "1"], &["del k"]),
        (
            &["RENAME", "r1", "r2"],
            &["new r2", "rename_from r1", "rename_to r2"],
        ),
        (&["RENAME", "r2", "r2"], &[]),
        (&["RENAME", "nope", "r9"], &[]),
        (&["SET", "r3", "x"], &["new r3"]),
        (
            &["RENAME", "r2", "r3"],
            &["new r3", "rename_from r2", "rename_to r3"],
        ),
        (&["SET", "r4", "x"], &["new r4"]),
        (&["RENAMENX", "r3", "r4"], &[]),
        (
            &["RENAMENX", "r4", "r5"],
            &["new r5", "rename_from r4", "rename_to r5"],
        ),
        (&["COPY", "r3", "c1"], &["new c1", "copy_to c1"]),
        (&["COPY", "r3", "c1"], &[]),
        (&["COPY", "r3", "c1", "REPLACE"], &["new c1", "copy_to c1"]),
        (
            &["COPY", "r3", "c1", "DB", "1"],
            &["new c1 @1", "copy_to c1 @1"],
        ),
        (&["COPY", "nope", "c2"], &[]),
        (&["MOVE", "c1", "1"], &[]),
        (
            &["MOVE", "r3", "1"],
            &["new r3 @1", "move_from r3", "move_to r3 @1"],
        ),
        (&["MOVE", "nope", "1"], &[]),
        (&["FLUSHDB"], &[]),
        (&["SWAPDB", "0", "1"], &[]),
    ];
    for (cmd, want) in cases {
        assert_eq!(run(&mut ev, &mut c, &[cmd]), *want, "{cmd:?}");
    }
    // RESTORE: `new` then `restore`; REPLACE too. An expired TTL deletes (REPLACE) or does
    // nothing.
    let dump: Vec<u8> = q(&mut c, &["DUMP", "c1"]);
    for (args, want) in [
        (vec![&b"rs"[..], b"0"], vec!["new rs", "restore rs"]),
        (
            vec![&b"rs"[..], b"0", b"REPLACE"],
            vec!["new rs", "restore rs"],
        ),
        (
            vec![&b"rs"[..], b"1", b"ABSTTL", b"REPLACE"],
            vec!["del rs"],
        ),
        (vec![&b"rs"[..], b"1", b"ABSTTL"], vec![]),
    ] {
        let mut r = redis::cmd("RESTORE");
        r.arg(args[0]).arg(args[1]).arg(&dump[..]);
        for a in &args[2..] {
            r.arg(*a);
        }
        let _: redis::Value = r.query(&mut c).expect("restore");
        assert_eq!(ev.take(&mut c), want, "RESTORE {args:?}");
    }
}

#[test]
fn list_events() {
    let (_s, mut c, mut ev) = setup();
    flags(&mut c, "Elgn");
    let cases: &[(&[&str], &[&str])] = &[
        (&["RPUSH", "l", "a", "b", "c"], &["new l", "rpush l"]),
        (&["LPUSH", "l", "z", "y"], &["lpush l"]),
        (&["LPUSHX", "nope", "x"], &[]),
        (&["RPUSHX", "l", "d"], &["rpush l"]),
        (&["LPUSHX", "l", "e"], &["lpush l"]),
        (&["LINSERT", "l", "BEFORE", "nope", "x"], &[]),
        (&["LINSERT", "nope", "BEFORE", "a", "x"], &[]),
        (&["LINSERT", "l", "AFTER", "a", "w"], &["linsert l"]),
        (&["LSET", "l", "0", "q"], &["lset l"]),
        (&["LSET", "l", "100", "q"], &[]),
        (&["LREM", "l", "0", "nope"], &[]),
        (&["LREM", "l", "1", "w"], &["lrem l"]),
        (&["LTRIM", "l", "0", "-1"], &["ltrim l"]),
        (&["LTRIM", "nope", "0", "-1"], &[]),
        (&["LPOP", "l", "0"], &[]),
        (&["LPOP", "nope"], &[]),
        (&["RPOP", "l"], &["rpop l"]),
        (&["LPOP", "l", "2"], &["lpop l"]),
        (&["LTRIM", "l", "1", "0"], &["ltrim l", "del l"]),
        (&["RPUSH", "s1", "a"], &["new s1", "rpush s1"]),
        (
            &["LMOVE", "s1", "d1", "LEFT", "RIGHT"],
            &["new d1", "rpush d1", "lpop s1", "del s1"],
        ),
        (&["LMOVE", "nope", "d1", "LEFT", "RIGHT"], &[]),
        (
            &["LMOVE", "d1", "d1", "LEFT", "LEFT"],
            &["lpush d1", "lpop d1"],
        ),
        (
            &["RPOPLPUSH", "d1", "d2"],
            &["new d2", "lpush d2", "rpop d1", "del d1"],
        ),
        (&["RPUSH", "d2", "b"], &["rpush d2"]),
        (
            &["BLMOVE", "d2", "d3", "RIGHT", "LEFT", "0"],
            &["new d3", "lpush d3", "rpop d2"],
        ),
        (
            &["LMPOP", "2", "nope", "d3", "LEFT"],
            &["lpop d3", "del d3"],
        ),
        (&["RPUSH", "d4", "a", "b"], &["new d4", "rpush d4"]),
        (&["BLPOP", "nope", "d4", "0"], &["lpop d4"]),
        (&["BRPOP", "d4", "0"], &["rpop d4", "del d4"]),
        (&["RPUSH", "d4", "a"], &["new d4", "rpush d4"]),
        (
            &["BLMPOP", "0", "1", "d4", "RIGHT", "COUNT", "5"],
            &["rpop d4", "del d4"],
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(run(&mut ev, &mut c, &[cmd]), *want, "{cmd:?}");
    }
}

#[test]
fn blocked_pop_is_notified_after_the_push() {
    let (s, mut c, mut ev) = setup();
    flags(&mut c, "Elgn");
    let addr = s.url();
    let waiter = std::thread::spawn(move || {
        let cl = redis::Client::open(addr).expect("client");
        let mut w = cl.get_connection().expect("connect");
        let r: Vec<String> = redis::cmd("BLPOP")
            .arg("bl")
            .arg("10")
            .query(&mut w)
            .expect("blpop");
        r
    });
    assert!(
        wait_until(Duration::from_secs(10), || info_field(
            &mut c,
            "clients",
            "blocked_clients"
        ) == "1"),
        "the client blocks"
    );
    let _: i64 = q(&mut c, &["RPUSH", "bl", "x"]);
    assert_eq!(waiter.join().expect("waiter"), ["bl", "x"]);
    // The served pop comes after the push that served it; the marker follows both.
    assert!(wait_until(Duration::from_secs(5), || q::<i64>(
        &mut c,
        &["EXISTS", "bl"]
    ) == 0));
    assert_eq!(ev.take(&mut c), ["new bl", "rpush bl", "lpop bl", "del bl"]);
}

#[test]
fn hash_events() {
    let (_s, mut c, mut ev) = setup();
    flags(&mut c, "Ehgn");
    let cases: &[(&[&str], &[&str])] = &[
        (&["HSET", "h", "a", "1"], &["new h", "hset h"]),
        (&["HSET", "h", "a", "1"], &["hset h"]),
        (&["HMSET", "h", "b", "2", "c", "3"], &["hset h"]),
        (&["HSETNX", "h", "a", "9"], &[]),
        (&["HSETNX", "h", "d", "4"], &["hset h"]),
        (&["HSETNX", "h2", "d", "4"], &["new h2", "hset h2"]),
        (&["HINCRBY", "h", "n", "1"], &["hincrby h"]),
        (&["HINCRBY", "h", "a", "x"], &[]),
        (&["HINCRBY", "h3", "n", "1"], &["new h3", "hincrby h3"]),
        (&["HINCRBYFLOAT", "h", "f", "1.5"], &["hincrbyfloat h"]),
        (&["HDEL", "h", "nope"], &[]),
        (&["HDEL", "nope", "a"], &[]),
        (&["HDEL", "h", "a", "b", "c", "d", "n"], &["hdel h"]),
        (&["HDEL", "h", "f"], &["hdel h", "del h"]),
    ];
    for (cmd, want) in cases {
        assert_eq!(run(&mut ev, &mut c, &[cmd]), *want, "{cmd:?}");
    }
}

#[test]
fn set_events() {
    let (_s, mut c, mut ev) = setup();
    flags(&mut c, "Esgn");
    let cases: &[(&[&str], &[&str])] = &[
        (&["SADD", "s", "a", "b"], &["new s", "sadd s"]),
        (&["SADD", "s", "a"], &[]),
        (&["SADD", "s", "a", "c"], &["sadd s"]),
        (&["SREM", "s", "x"], &[]),
        (&["SREM", "nope", "x"], &[]),
        (&["SREM", "s", "a"], &["srem s"]),
        (&["SMOVE", "s", "s", "b"], &[]),
        (&["SMOVE", "s", "t", "x"], &[]),
        (&["SMOVE", "s", "t", "b"], &["srem s", "new t", "sadd t"]),
        (&["SADD", "s", "b"], &["sadd s"]),
        (&["SMOVE", "s", "t", "b"], &["srem s"]),
        (&["SMOVE", "s", "t", "c"], &["srem s", "del s", "sadd t"]),
        (&["SADD", "p", "1", "2", "3"], &["new p", "sadd p"]),
        (&["SPOP", "p", "0"], &[]),
        (&["SPOP", "nope"], &[]),
        (&["SPOP", "p"], &["spop p"]),
        (&["SPOP", "p", "5"], &["spop p", "del p"]),
        (&["SINTERSTORE", "d", "t", "nope"], &[]),
        (
            &["SUNIONSTORE", "d", "t", "nope"],
            &["new d", "sunionstore d"],
        ),
        (&["SINTERSTORE", "d", "t", "d"], &["sinterstore d"]),
        (&["SINTERSTORE", "d", "t", "nope"], &["del d"]),
        (&["SDIFFSTORE", "d", "t"], &["new d", "sdiffstore d"]),
        (&["SDIFFSTORE", "d", "t", "t"], &["del d"]),
    ];
    for (cmd, want) in cases {
        assert_eq!(run(&mut ev, &mut c, &[cmd]), *want, "{cmd:?}");
    }
}

#[test]
fn zset_events() {
    let (_s, mut c, mut ev) = setup();
    flags(&mut c, "Ezgn");
    let cases: &[(&[&str], &[&str])] = &[
        (&["ZADD", "z", "1", "a", "2", "b"], &["new z", "zadd z"]),
        (&["ZADD", "z", "1", "a"], &[]),
        (&["ZADD", "z", "NX", "5", "a"], &[]),
        (&["ZADD", "nope", "XX", "5", "a"], &[]),
        (&["ZADD", "z", "XX", "3", "a"], &["zadd z"]),
        (&["ZADD", "z", "GT", "1", "a"], &[]),
        (&["ZADD", "z", "INCR", "1", "a"], &["zincr z"]),
        (&["ZADD", "z", "INCR", "0", "a"], &[]),
        (&["ZINCRBY", "z", "1", "a"], &["zincr z"]),
        (&["ZINCRBY", "z2", "1", "a"], &["new z2", "zincr z2"]),
        (&["ZREM", "z", "x"], &[]),
        (&["ZREM", "z", "b"], &["zrem z"]),
        (&["ZADD", "z", "1", "c", "2", "d", "3", "e"], &["zadd z"]),
        (&["ZREMRANGEBYSCORE", "z", "100", "200"], &[]),
        (
            &["ZREMRANGEBYSCORE", "z", "1", "1"],
            &["zremrangebyscore z"],
        ),
        (&["ZREMRANGEBYRANK", "z", "0", "0"], &["zremrangebyrank z"]),
        (&["ZREMRANGEBYLEX", "z", "[x", "[y"], &[]),
        (&["ZPOPMIN", "z", "0"], &[]),
        (&["ZPOPMIN", "nope"], &[]),
        (&["ZPOPMIN", "z"], &["zpopmin z"]),
        (&["ZPOPMAX", "z", "10"], &["zpopmax z", "del z"]),
        (
            &["ZUNIONSTORE", "d", "2", "z2", "nope"],
            &["new d", "zunionstore d"],
        ),
        (&["ZINTERSTORE", "d", "2", "z2", "d"], &["zinterstore d"]),
        (&["ZINTERSTORE", "d", "2", "z2", "nope"], &["del d"]),
        (&["ZDIFFSTORE", "d", "1", "z2"], &["new d", "zdiffstore d"]),
        (
            &["ZRANGESTORE", "d2", "z2", "0", "-1"],
            &["new d2", "zrangestore d2"],
        ),
        (&["ZRANGESTORE", "d2", "nope", "0", "-1"], &["del d2"]),
        (&["ZRANGESTORE", "d2", "nope", "0", "-1"], &[]),
        (&["ZMPOP", "2", "nope", "d", "MAX"], &["zpopmax d", "del d"]),
        (&["BZPOPMIN", "z2", "0"], &["zpopmin z2", "del z2"]),
        (&["ZADD", "z3", "1", "a"], &["new z3", "zadd z3"]),
        (
            &["BZMPOP", "0", "1", "z3", "MIN"],
            &["zpopmin z3", "del z3"],
        ),
    ];
    for (cmd, want) in cases {
        assert_eq!(run(&mut ev, &mut c, &[cmd]), *want, "{cmd:?}");
    }
}

#[test]
fn expired_lazy_and_active() {
    let (_s, mut c, mut ev) = setup();
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    flags(&mut c, "Ex");
    // Lazy: the lookup that meets the key.
    ok(&mut c, &["PSETEX", "foo", "50", "1"]);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(run(&mut ev, &mut c, &[&["EXISTS", "foo"]]), ["expired foo"]);
    // Before what the command itself sends, and before a keymiss.
    ok(&mut c, &["PSETEX", "foo", "50", "1"]);
    ok(&mut c, &["PSETEX", "bar", "50", "1"]);
    std::thread::sleep(Duration::from_millis(120));
    flags(&mut c, "E$xnm");
    assert_eq!(
        run(&mut ev, &mut c, &[&["SET", "foo", "2"]]),
        ["expired foo", "new foo", "set foo"]
    );
    assert_eq!(
        run(&mut ev, &mut c, &[&["GET", "bar"]]),
        ["expired bar", "keymiss bar"]
    );
    // DEL of an expired key: `expired`, no `del`.
    flags(&mut c, "Ex");
    ok(&mut c, &["PSETEX", "baz", "50", "1"]);
    std::thread::sleep(Duration::from_millis(120));
    flags(&mut c, "Egx");
    assert_eq!(run(&mut ev, &mut c, &[&["DEL", "baz"]]), ["expired baz"]);
    // Active: the background cycle, in the key's database.
    flags(&mut c, "Ex");
    ok(&mut c, &["SELECT", "3"]);
    ok(&mut c, &["PSETEX", "act", "50", "1"]);
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while got.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        got = ev.take(&mut c);
    }
    assert_eq!(got, ["expired act @3"]);
}

#[test]
fn evicted_events() {
    let (_s, mut c, mut ev) = setup();
    flags(&mut c, "Ee");
    ok(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
    );
    ok(&mut c, &["SET", "foo", "bar"]);
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "1"]);
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    assert_eq!(ev.take(&mut c), ["evicted foo"]);
}

#[test]
fn keymiss_on_reads_only() {
    let (_s, mut c, mut ev) = setup();
    ok(&mut c, &["SET", "a", "1"]);
    flags(&mut c, "Em");
    let reads: &[&[&str]] = &[
        &["GET", "n"],
        &["EXISTS", "n"],
        &["TYPE", "n"],
        &["TTL", "n"],
        &["PTTL", "n"],
        &["STRLEN", "n"],
        &["GETRANGE", "n", "0", "1"],
        &["LRANGE", "n", "0", "-1"],
        &["LLEN", "n"],
        &["HGET", "n", "f"],
        &["HGETALL", "n"],
        &["SMEMBERS", "n"],
        &["SISMEMBER", "n", "x"],
        &["ZSCORE", "n", "x"],
        &["ZRANGE", "n", "0", "-1"],
        &["DUMP", "n"],
        &["GETDEL", "n"],
        &["GETEX", "n"],
        &["GETSET", "n", "1"],
    ];
    for cmd in reads {
        assert_eq!(run(&mut ev, &mut c, &[cmd]), ["keymiss n"], "{cmd:?}");
        let _: i64 = q(&mut c, &["DEL", "n"]);
    }
    assert_eq!(
        run(&mut ev, &mut c, &[&["MGET", "a", "n1", "n2"]]),
        ["keymiss n1", "keymiss n2"]
    );
    assert_eq!(
        run(&mut ev, &mut c, &[&["SET", "n", "1", "GET"]]),
        ["keymiss n"]
    );
    let _: i64 = q(&mut c, &["DEL", "n"]);
    let writes: &[&[&str]] = &[
        &["DEL", "n"],
        &["EXPIRE", "n", "10"],
        &["PERSIST", "n"],
        &["LPOP", "n"],
        &["HDEL", "n", "f"],
        &["SREM", "n", "x"],
        &["ZREM", "n", "x"],
        &["LMOVE", "n", "n2", "LEFT", "LEFT"],
        &["RENAME", "n", "n2"],
        &["OBJECT", "ENCODING", "n"],
    ];
    for cmd in writes {
        assert!(run(&mut ev, &mut c, &[cmd]).is_empty(), "{cmd:?}");
    }
    // Sources of *STORE are read lookups.
    flags(&mut c, "Egm");
    ok(&mut c, &["SET", "d", "x"]);
    let _: i64 = q(&mut c, &["SADD", "s", "x"]);
    assert_eq!(
        run(&mut ev, &mut c, &[&["SINTERSTORE", "d", "s", "n", "n2"]]),
        ["keymiss n", "keymiss n2", "del d"]
    );
}

#[test]
fn new_key_events() {
    let (_s, mut c, mut ev) = setup();
    flags(&mut c, "En");
    assert_eq!(
        run(
            &mut ev,
            &mut c,
            &[
                &["SET", "foo", "bar"],
                &["SET", "foo", "baz"],
                &["SET", "bar", "bar"],
                &["LPUSH", "l", "a"],
                &["LPUSH", "l", "b"],
                &["SADD", "s", "a"],
                &["HSET", "h", "a", "1"],
                &["ZADD", "z", "1", "a"],
                &["INCR", "i"],
                &["APPEND", "foo", "x"],
            ]
        ),
        [
            "new foo", "new bar", "new l", "new s", "new h", "new z", "new i"
        ]
    );
}

//! MULTI / EXEC / DISCARD / WATCH against the real binary, including races between clients.
mod common;
use common::*;
use redis::Value;
use std::time::Duration;

#[test]
fn multi_exec_discard() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["MULTI"]);
    assert_eq!(q::<String>(&mut c, &["SET", "a", "1"]), "QUEUED");
    assert_eq!(q::<String>(&mut c, &["INCR", "a"]), "QUEUED");
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "QUEUED");
    assert_eq!(
        v(&mut c, &["EXEC"]),
        Value::Array(vec![
            Value::Okay,
            Value::Int(2),
            Value::BulkString(b"2".to_vec())
        ])
    );
    ok(&mut c, &["MULTI"]);
    assert_eq!(e(&mut c, &["MULTI"]), "ERR MULTI calls can not be nested");
    assert_eq!(q::<String>(&mut c, &["INCR", "a"]), "QUEUED");
    ok(&mut c, &["DISCARD"]);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "2");
    assert_eq!(e(&mut c, &["EXEC"]), "ERR EXEC without MULTI");
    assert_eq!(e(&mut c, &["DISCARD"]), "ERR DISCARD without MULTI");
}

#[test]
fn queue_errors_abort_runtime_errors_do_not() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["MULTI"]);
    assert_eq!(q::<String>(&mut c, &["SET", "x", "1"]), "QUEUED");
    assert_eq!(
        e(&mut c, &["NOSUCHCMD"]),
        "ERR unknown command 'NOSUCHCMD', with args beginning with: "
    );
    assert_eq!(
        e(&mut c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        e(&mut c, &["SHUTDOWN"]),
        "ERR Command not allowed inside a transaction"
    );
    assert_eq!(
        e(&mut c, &["EXEC"]),
        "EXECABORT Transaction discarded because of previous errors."
    );
    assert_eq!(v(&mut c, &["GET", "x"]), Value::Nil);
    // A runtime error inside EXEC is one reply of the array; the rest still runs.
    ok(&mut c, &["SET", "s", "abc"]);
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["INCR", "s"]);
    let _: String = q(&mut c, &["SET", "y", "2"]);
    let raw = redis::cmd("EXEC").query::<Value>(&mut c);
    match raw {
        Ok(Value::Array(items)) => {
            assert_eq!(items.len(), 2);
            assert!(matches!(items[0], Value::ServerError(_)), "{items:?}");
            assert_eq!(items[1], Value::Okay);
        }
        Err(err) => assert!(err.to_string().contains("not an integer"), "{err}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(q::<String>(&mut c, &["GET", "y"]), "2");
}

#[test]
fn watch_detects_changes_by_other_clients() {
    let s = server(&[]);
    let mut a = conn(&s);
    let mut b = conn(&s);
    ok(&mut a, &["SET", "w", "1"]);
    ok(&mut a, &["WATCH", "w"]);
    ok(&mut b, &["SET", "w", "2"]);
    ok(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "w", "3"]);
    assert_eq!(
        v(&mut a, &["EXEC"]),
        Value::Nil,
        "EXEC must fail after a watched key changed"
    );
    assert_eq!(q::<String>(&mut a, &["GET", "w"]), "2");
    // Without interference it goes through; UNWATCH forgets.
    ok(&mut a, &["WATCH", "w"]);
    ok(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "w", "4"]);
    assert_eq!(v(&mut a, &["EXEC"]), Value::Array(vec![Value::Okay]));
    ok(&mut a, &["WATCH", "w"]);
    assert_eq!(q::<i64>(&mut b, &["DEL", "w"]), 1);
    ok(&mut a, &["UNWATCH"]);
    ok(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "w", "5"]);
    assert_eq!(v(&mut a, &["EXEC"]), Value::Array(vec![Value::Okay]));
    // A failed write (wrong type) is not a change; a missing key that gets created is.
    ok(&mut a, &["WATCH", "absent"]);
    ok(&mut b, &["SET", "absent", "now"]);
    ok(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["GET", "absent"]);
    assert_eq!(v(&mut a, &["EXEC"]), Value::Nil);
    ok(&mut a, &["MULTI"]);
    assert_eq!(
        e(&mut a, &["WATCH", "x"]),
        "ERR WATCH inside MULTI is not allowed"
    );
    ok(&mut a, &["DISCARD"]);
}

#[test]
fn watch_sees_expiry() {
    let s = server(&["--enable-debug-command", "yes"]);
    let mut a = conn(&s);
    ok(&mut a, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    ok(&mut a, &["SET", "e", "1", "PX", "100"]);
    ok(&mut a, &["WATCH", "e"]);
    std::thread::sleep(Duration::from_millis(200));
    ok(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "other", "1"]);
    assert_eq!(
        v(&mut a, &["EXEC"]),
        Value::Nil,
        "a watched key that expired counts as changed"
    );
    ok(&mut a, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    ok(&mut a, &["SET", "e2", "1", "PX", "100"]);
    ok(&mut a, &["WATCH", "e2"]);
    std::thread::sleep(Duration::from_millis(500));
    ok(&mut a, &["MULTI"]);
    let _: String = q(&mut a, &["SET", "other", "1"]);
    assert_eq!(
        v(&mut a, &["EXEC"]),
        Value::Nil,
        "active expiry of a watched key counts too"
    );
}

/// Two clients race WATCH/MULTI/INCR-by-hand on one counter: optimistic locking must make every
/// successful EXEC count exactly once.
#[test]
fn watch_race_keeps_counter_exact() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "ctr", "0"]);
    let per_client = 200;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut done = 0;
                let mut attempts = 0;
                while done < per_client {
                    attempts += 1;
                    assert!(attempts < 100_000);
                    let _: () = redis::cmd("WATCH").arg("ctr").query(&mut c).unwrap();
                    let n: i64 = redis::cmd("GET")
                        .arg("ctr")
                        .query::<String>(&mut c)
                        .unwrap()
                        .parse()
                        .unwrap();
                    let r: Value = redis::pipe()
                        .atomic()
                        .cmd("SET")
                        .arg("ctr")
                        .arg(n + 1)
                        .query(&mut c)
                        .unwrap();
                    if r != Value::Nil {
                        done += 1;
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(q::<i64>(&mut c, &["GET", "ctr"]), 4 * per_client);
}

/// EXEC is atomic: a reader never sees half of a transaction.
#[test]
fn exec_is_atomic_for_other_clients() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["MSET", "a", "0", "b", "0"]);
    let url = s.url();
    let writer = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        for _ in 0..2000 {
            let _: Value = redis::pipe()
                .atomic()
                .cmd("INCR")
                .arg("a")
                .cmd("INCR")
                .arg("b")
                .query(&mut c)
                .unwrap();
        }
    });
    let mut checks = 0;
    while !writer.is_finished() && checks < 20_000 {
        let (x, y): (i64, i64) = q(&mut c, &["MGET", "a", "b"]);
        assert_eq!(x, y, "saw half a transaction");
        checks += 1;
    }
    writer.join().unwrap();
}

#[test]
fn flushall_and_select_inside_exec() {
    let s = server(&["--databases", "4"]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["SELECT", "2"]);
    let _: String = q(&mut c, &["SET", "in2", "x"]);
    let _: String = q(&mut c, &["DBSIZE"]);
    let _: String = q(&mut c, &["KEYS", "*"]);
    let r = v(&mut c, &["EXEC"]);
    assert_eq!(
        r,
        Value::Array(vec![
            Value::Okay,
            Value::Okay,
            Value::Int(1),
            Value::Array(vec![Value::BulkString(b"in2".to_vec())])
        ])
    );
    assert_eq!(
        q::<String>(&mut c, &["GET", "in2"]),
        "x",
        "SELECT inside EXEC sticks"
    );
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["FLUSHALL"]);
    let _: String = q(&mut c, &["SWAPDB", "0", "1"]);
    let _: String = q(&mut c, &["UNWATCH"]);
    assert_eq!(
        v(&mut c, &["EXEC"]),
        Value::Array(vec![Value::Okay, Value::Okay, Value::Okay])
    );
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}

//! Lua scripting against the real binary: EVAL and its family, SCRIPT, FUNCTION/FCALL, the
//! conversions, the sandbox, Redis's error texts, atomicity with undeclared keys, -BUSY and
//! SCRIPT KILL, and effects replication.
mod common;
use common::*;
use std::time::Duration;

#[test]
fn eval_replies_and_conversions() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        q::<String>(&mut c, &["EVAL", "return 'hello'", "0"]),
        "hello"
    );
    // Numbers are truncated, true is 1, false is nil, tables stop at the first nil.
    assert_eq!(q::<i64>(&mut c, &["EVAL", "return 100.5", "0"]), 100);
    assert_eq!(q::<i64>(&mut c, &["EVAL", "return true", "0"]), 1);
    assert_eq!(
        q::<Option<String>>(&mut c, &["EVAL", "return false", "0"]),
        None
    );
    assert_eq!(
        v(&mut c, &["EVAL", "return {1,2,3,'ciao',{1,2}}", "0"]),
        redis::Value::Array(vec![
            redis::Value::Int(1),
            redis::Value::Int(2),
            redis::Value::Int(3),
            redis::Value::BulkString(b"ciao".to_vec()),
            redis::Value::Array(vec![redis::Value::Int(1), redis::Value::Int(2)]),
        ])
    );
    assert_eq!(
        v(&mut c, &["EVAL", "return {1,2,nil,4}", "0"]),
        redis::Value::Array(vec![redis::Value::Int(1), redis::Value::Int(2)])
    );
    assert_eq!(
        q::<String>(&mut c, &["EVAL", "return {ok='fine'}", "0"]),
        "fine"
    );
    assert_eq!(
        e(
            &mut c,
            &["EVAL", "return {err='ERR this is an error'}", "0"]
        ),
        "ERR this is an error"
    );
    assert_eq!(
        e(
            &mut c,
            &["EVAL", "return redis.error_reply('MY_CODE msg')", "0"]
        ),
        "MY_CODE msg"
    );
    // KEYS and ARGV.
    let got: Vec<String> = q(
        &mut c,
        &[
            "EVAL",
            "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}",
            "2",
            "a{t}",
            "b{t}",
            "c",
            "d",
        ],
    );
    assert_eq!(got, ["a{t}", "b{t}", "c", "d"]);
    // Replies of commands as Lua sees them.
    ok(&mut c, &["SET", "x", "0"]);
    let got: Vec<redis::Value> = q(
        &mut c,
        &[
            "EVAL",
            "local n = redis.call('incr', KEYS[1]); local g = redis.call('get', 'nosuch'); local st = redis.pcall('set', 'y', 'v'); local er = redis.pcall('incr', 'y'); return {type(n), n, tostring(g), st['ok'], er['err']}",
            "1",
            "x",
        ],
    );
    assert_eq!(
        got,
        vec![
            redis::Value::BulkString(b"number".to_vec()),
            redis::Value::Int(1),
            redis::Value::BulkString(b"false".to_vec()),
            redis::Value::BulkString(b"OK".to_vec()),
            redis::Value::BulkString(b"ERR value is not an integer or out of range".to_vec()),
        ]
    );
    // A table that contains itself ends in an error (after many one-element arrays), not a
    // hang or a crash; the connection stays usable.
    let mut raw = RawConn::connect(format!("127.0.0.1:{}", s.port()).parse().expect("addr"));
    raw.send(&RawConn::encode(&[
        b"EVAL",
        b"local a = {}; local b = {a}; a[1] = b; return a",
        b"0",
    ]));
    let mut seen = Vec::new();
    while !seen.ends_with(b"-ERR reached lua stack limit\r\n") {
        let b = raw.read_exact_n(1);
        assert!(!b.is_empty() && seen.len() < 1 << 20, "no end to the reply");
        seen.extend_from_slice(&b);
    }
    assert!(seen.starts_with(b"*1\r\n*1\r\n"));
    raw.send(b"PING\r\n");
    assert_eq!(raw.read_exact_n(7), b"+PONG\r\n");
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn evalsha_and_the_script_cache() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "mykey", "myval"]);
    let body = "return redis.call('get',KEYS[1])";
    let sha: String = q(&mut c, &["SCRIPT", "LOAD", body]);
    assert_eq!(sha, "fd758d1589d044dd850a6f05d52f2eefd27f033f");
    assert_eq!(
        q::<String>(&mut c, &["EVALSHA", &sha, "1", "mykey"]),
        "myval"
    );
    let upper = sha.to_uppercase();
    assert_eq!(
        q::<String>(&mut c, &["EVALSHA", &upper, "1", "mykey"]),
        "myval"
    );
    assert_eq!(
        q::<Vec<i64>>(
            &mut c,
            &[
                "SCRIPT",
                "EXISTS",
                &sha,
                "ffd632c7d33e571e9f24556ebed26c3479a87130"
            ]
        ),
        vec![1, 0]
    );
    assert!(e(&mut c, &["EVALSHA", "NotValidShaSUM", "0"]).starts_with("NOSCRIPT"));
    ok(&mut c, &["SCRIPT", "FLUSH"]);
    assert_eq!(
        e(&mut c, &["EVALSHA", &sha, "1", "mykey"]),
        "NOSCRIPT No matching script. Please use EVAL."
    );
    // EVAL caches what it runs.
    let _: String = q(&mut c, &["EVAL", body, "1", "mykey"]);
    assert_eq!(
        q::<String>(&mut c, &["EVALSHA", &sha, "1", "mykey"]),
        "myval"
    );
    assert_eq!(
        q::<String>(&mut c, &["EVAL", "return redis.sha1hex('')", "0"]),
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
    assert_eq!(
        info_field(&mut c, "memory", "number_of_cached_scripts"),
        "2"
    );
}

#[test]
fn argument_and_script_errors_are_redis_texts() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(
        e(&mut c, &["EVAL", "return 1", "2", "a"]),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        e(&mut c, &["EVAL", "return 1", "-1"]),
        "ERR Number of keys can't be negative"
    );
    assert_eq!(
        e(&mut c, &["EVAL", "return 1", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert!(
        e(&mut c, &["EVAL", "return x +", "0"])
            .starts_with("ERR Error compiling script (new function): user_script:1:")
    );
    let err = e(&mut c, &["EVAL", "return a", "0"]);
    assert!(
        err.starts_with(
            "ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: "
        ) && err.ends_with(", on @user_script:1."),
        "{err}"
    );
    for body in [
        "a = 10",
        "setmetatable(_G, {})",
        "redis.call = function() return 1 end",
        "local g = getmetatable(_G); g.__index = {}",
    ] {
        let err = e(&mut c, &["EVAL", body, "0"]);
        assert!(
            err.contains("Attempt to modify a readonly table"),
            "{body}: {err}"
        );
    }
    for name in ["print", "loadfile", "dofile"] {
        let err = e(&mut c, &["EVAL", &format!("{name}('x')"), "0"]);
        assert!(
            err.contains(&format!("nonexistent global variable '{name}'")),
            "{err}"
        );
    }
    assert!(
        e(&mut c, &["EVAL", "redis.call('nosuchcommand')", "0"]).contains("Unknown Redis command")
    );
    assert!(e(&mut c, &["EVAL", "redis.call('get','a','b','c')", "0"]).contains("number of args"));
    assert!(e(&mut c, &["EVAL", "return redis.call()", "0"]).contains("one argument"));
    ok(&mut c, &["SET", "foo", "bar"]);
    assert!(
        e(
            &mut c,
            &["EVAL", "redis.call('lpush',KEYS[1],'val')", "1", "foo"]
        )
        .starts_with("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert!(
        e(
            &mut c,
            &["EVAL", "return redis.call('blpop','x',0)", "1", "x"]
        )
        .contains("not allowed")
    );
    assert!(
        e(
            &mut c,
            &["EVAL_RO", "return redis.call('set','x','y')", "1", "x"]
        )
        .starts_with("ERR Write commands are not allowed from read-only scripts")
    );
    // An inner command's error is counted once in errorstats.
    ok(&mut c, &["CONFIG", "RESETSTAT"]);
    let _ = e(&mut c, &["EVAL", "return redis.call('select',99)", "0"]);
    assert_eq!(info_field(&mut c, "errorstats", "errorstat_ERR"), "count=1");
    assert_eq!(info_field(&mut c, "stats", "total_error_replies"), "1");
}

#[test]
fn select_inside_a_script_stays_inside() {
    let s = server(&["--databases", "16"]);
    let mut c = conn(&s);
    ok(&mut c, &["SELECT", "10"]);
    ok(&mut c, &["SET", "mykey", "db10"]);
    let got: String = q(
        &mut c,
        &[
            "EVAL",
            "redis.call('select','9'); redis.call('set','mykey','db9'); return 'ok'",
            "0",
        ],
    );
    assert_eq!(got, "ok");
    assert_eq!(q::<String>(&mut c, &["GET", "mykey"]), "db10");
    ok(&mut c, &["SELECT", "9"]);
    assert_eq!(q::<String>(&mut c, &["GET", "mykey"]), "db9");
}

#[test]
fn scripts_are_atomic_with_declared_and_undeclared_keys() {
    let s = server(&[]);
    // Each script moves one unit from a counter it declares to one it does not (so it locks
    // a shard mid-run); no other client may ever see the sum differ from 0.
    let body = "local a = redis.call('decr', KEYS[1]); local b = redis.call('incr', 'other:' .. ARGV[1]); return a + b";
    let n = 300;
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                for i in 0..n {
                    let key = format!("k{}", (w * 7 + i) % 5);
                    let other = format!("{}", (w + i) % 3);
                    let sum: i64 = redis::cmd("EVAL")
                        .arg(body)
                        .arg(1)
                        .arg(&key)
                        .arg(&other)
                        .query(&mut c)
                        .unwrap();
                    let _ = sum;
                }
            })
        })
        .collect();
    let mut c = conn(&s);
    // A reader sums everything with one script while the writers run.
    let sum_body = "local s = 0; for i = 0, 4 do s = s + (tonumber(redis.call('get', 'k' .. i)) or 0) end; for i = 0, 2 do s = s + (tonumber(redis.call('get', 'other:' .. i)) or 0) end; return s";
    for _ in 0..100 {
        assert_eq!(q::<i64>(&mut c, &["EVAL", sum_body, "0"]), 0);
    }
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(q::<i64>(&mut c, &["EVAL", sum_body, "0"]), 0);
    let total: i64 = (0..3)
        .map(|i| q::<Option<i64>>(&mut c, &["GET", &format!("other:{i}")]).unwrap_or(0))
        .sum();
    assert_eq!(total, 4 * n);
}

#[test]
fn a_busy_script_gets_busy_replies_and_script_kill() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["CONFIG", "SET", "busy-reply-threshold", "50"]);
    // A transaction queued before the script and EXEC'd while it is busy is discarded.
    let mut m = conn(&s);
    ok(&mut m, &["SET", "xx", "1"]);
    ok(&mut m, &["MULTI"]);
    assert_eq!(q::<String>(&mut m, &["INCR", "xx"]), "QUEUED");
    let h = spawn_cmd(
        s.url(),
        vec!["EVAL", "local a = 1 while true do a = a + 1 end", "0"],
    );
    assert!(wait_until(Duration::from_secs(10), || {
        matches!(
            redis::cmd("PING").query::<String>(&mut c),
            Err(e) if e.code() == Some("BUSY")
        )
    }));
    let err = e(&mut c, &["GET", "x"]);
    assert_eq!(
        err,
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    assert!(e(&mut c, &["FUNCTION", "KILL"]).starts_with("BUSY"));
    assert_eq!(
        e(&mut m, &["EXEC"]),
        "EXECABORT Transaction discarded because of: BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    );
    ok(&mut c, &["SCRIPT", "KILL"]);
    let reply = h.join().unwrap();
    let msg = reply.expect_err("killed script");
    assert!(
        msg.contains("Script killed by user with SCRIPT KILL"),
        "{msg}"
    );
    assert!(wait_until(Duration::from_secs(5), || {
        redis::cmd("PING").query::<String>(&mut c).is_ok()
    }));
    assert_eq!(
        e(&mut c, &["SCRIPT", "KILL"]),
        "NOTBUSY No scripts in execution right now."
    );
    // The transaction left MULTI and none of it ran.
    assert_eq!(q::<String>(&mut m, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut m, &["GET", "xx"]), "1");
    // A script that wrote cannot be killed.
    let h = spawn_cmd(
        s.url(),
        vec![
            "EVAL",
            "redis.call('set','w','1'); local t = redis.call('time')[1] + 4; while tonumber(redis.call('time')[1]) < t do end; return 1",
            "0",
        ],
    );
    assert!(wait_until(Duration::from_secs(10), || {
        matches!(
            redis::cmd("PING").query::<String>(&mut c),
            Err(e) if e.code() == Some("BUSY")
        )
    }));
    assert!(e(&mut c, &["SCRIPT", "KILL"]).starts_with("UNKILLABLE"));
    assert!(h.join().unwrap().is_ok());
    assert_eq!(q::<String>(&mut c, &["GET", "w"]), "1");
}

#[test]
fn functions_load_call_list_and_restore() {
    let s = server(&[]);
    let mut c = conn(&s);
    let lib = "#!lua name=mylib\nlocal function helper(k) return redis.call('get', k) end\nredis.register_function('getit', function(keys, args) return helper(keys[1]) end)\nredis.register_function{function_name='ro', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='echo'}";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "mylib");
    assert_eq!(
        e(&mut c, &["FUNCTION", "LOAD", lib]),
        "ERR Library 'mylib' already exists"
    );
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<String>(&mut c, &["FCALL", "getit", "1", "k"]), "v");
    assert_eq!(q::<String>(&mut c, &["FCALL", "GETIT", "1", "k"]), "v");
    assert_eq!(q::<String>(&mut c, &["FCALL_RO", "ro", "0", "hi"]), "hi");
    assert_eq!(
        e(&mut c, &["FCALL_RO", "getit", "1", "k"]),
        "ERR Can not execute a script with write flag using *_ro command."
    );
    assert_eq!(e(&mut c, &["FCALL", "nope", "0"]), "ERR Function not found");
    assert_eq!(
        e(&mut c, &["FCALL", "getit", "x"]),
        "ERR Bad number of keys provided"
    );
    let list = v(&mut c, &["FUNCTION", "LIST"]);
    let text = format!("{list:?}");
    assert!(
        text.contains("mylib")
            && text.contains("getit")
            && text.contains("echo")
            && text.contains("no-writes"),
        "{text}"
    );
    // Load-time errors.
    for (code, want) in [
        ("#!lua name=b\nreturn 1", "No functions registered"),
        (
            "#!lua name=b\nreturn math.random()",
            "nonexistent global variable 'math'",
        ),
        (
            "#!lua name=b\nredis.call('ping')",
            "nonexistent global variable 'call'",
        ),
        (
            "#!lua name=b\nlocal a = 1 while 1 do a = a + 1 end",
            "FUNCTION LOAD timeout",
        ),
        ("#!lua\nreturn 1", "Library name was not given"),
        ("#!nolua name=b\nreturn 1", "Engine 'nolua' not found"),
        (
            "#!lua name=b\nredis.register_function('getit', function() return 1 end)",
            "Function getit already exists",
        ),
    ] {
        let err = e(&mut c, &["FUNCTION", "LOAD", code]);
        assert!(err.contains(want), "{code}: {err}");
    }
    // DUMP / RESTORE round trip.
    let payload: Vec<u8> = q(&mut c, &["FUNCTION", "DUMP"]);
    ok(&mut c, &["FUNCTION", "FLUSH"]);
    assert_eq!(
        e(&mut c, &["FCALL", "getit", "1", "k"]),
        "ERR Function not found"
    );
    let _: String = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&payload)
        .query(&mut c)
        .unwrap();
    assert_eq!(q::<String>(&mut c, &["FCALL", "getit", "1", "k"]), "v");
    assert!(
        e(&mut c, &["FUNCTION", "RESTORE", "bad_payload"])
            .contains("payload version or checksum are wrong")
    );
    ok(&mut c, &["FUNCTION", "DELETE", "mylib"]);
    assert_eq!(
        e(&mut c, &["FUNCTION", "DELETE", "mylib"]),
        "ERR Library not found"
    );
}

#[test]
fn script_writes_reach_a_replica_as_one_transaction() {
    let p = server(&[]);
    let mut pc = conn(&p);
    let port = p.port().to_string();
    let r = server(&["--replicaof", "127.0.0.1", &port]);
    let mut rc = conn(&r);
    assert!(wait_until(Duration::from_secs(10), || {
        info_field(&mut rc, "replication", "master_link_status") == "up"
    }));
    let _: i64 = q(
        &mut pc,
        &[
            "EVAL",
            "redis.call('set', KEYS[1], 'a'); redis.call('rpush', 'undeclared', 'x', 'y'); return redis.call('spop', 'nosuchset') and 1 or 0",
            "1",
            "s1",
        ],
    );
    let lib = "#!lua name=rl\nredis.register_function('w', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)";
    let _: String = q(&mut pc, &["FUNCTION", "LOAD", lib]);
    let _: i64 = q(&mut pc, &["FCALL", "w", "1", "n", "5"]);
    assert!(wait_until(Duration::from_secs(10), || {
        q::<Option<String>>(&mut rc, &["GET", "n"]).as_deref() == Some("5")
    }));
    assert_eq!(q::<String>(&mut rc, &["GET", "s1"]), "a");
    assert_eq!(
        q::<Vec<String>>(&mut rc, &["LRANGE", "undeclared", "0", "-1"]),
        ["x", "y"]
    );
    // The function library itself reached the replica.
    let list = format!("{:?}", v(&mut rc, &["FUNCTION", "LIST"]));
    assert!(list.contains("rl"), "{list}");
}

#[test]
fn client_pause_write_holds_scripts_that_may_write_only() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "x", "y"]);
    let lib = "#!lua name=f1\nredis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "f1");
    ok(&mut c, &["CLIENT", "PAUSE", "60000", "WRITE"]);
    // Declared read-only: they run during the pause, as Redis.
    let mut r = conn(&s);
    assert_eq!(
        q::<String>(&mut r, &["EVAL", "#!lua flags=no-writes\nreturn 'ro'", "0"]),
        "ro"
    );
    assert_eq!(
        q::<String>(
            &mut r,
            &["EVAL_RO", "return redis.call('get', KEYS[1])", "1", "x"]
        ),
        "y"
    );
    assert_eq!(q::<String>(&mut r, &["FCALL", "f1", "0"]), "hello");
    // A script without flags may write: it waits for the unpause.
    let h = spawn_cmd(s.url(), vec!["EVAL", "return 1", "0"]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !h.is_finished(),
        "a flagless script ran during CLIENT PAUSE WRITE"
    );
    ok(&mut c, &["CLIENT", "UNPAUSE"]);
    assert_eq!(h.join().unwrap(), Ok(redis::Value::Int(1)));
}

/// redis.call and a script's result go through the Lua stack directly (script::raw): every
/// conversion, the argument forms, many arguments, errors raised and caught in loops (the
/// stack must stay balanced), and results in both protocols.
#[test]
fn redis_call_conversions_on_the_lua_stack() {
    let s = server(&[]);
    let mut c = conn(&s);
    // 7999 arguments (an unpack near Lua's limit of 8000 stack slots per C call).
    let big =
        "local a = {} for i=1,7999 do a[i] = 1 end return redis.call('lpush', KEYS[1], unpack(a))";
    assert_eq!(q::<i64>(&mut c, &["EVAL", big, "1", "big"]), 7999);
    let big_p = big.replace("redis.call", "redis.pcall");
    assert_eq!(q::<i64>(&mut c, &["EVAL", &big_p, "1", "big2"]), 7999);
    // Numbers as arguments are %.17g, strings are bytes (a NUL included).
    let set_get = "redis.call('set', KEYS[1], ARGV[1] == 's' and 'a\\0b' or tonumber(ARGV[1])) return redis.call('get', KEYS[1])";
    for (arg, want) in [
        ("42", "42"),
        ("-7", "-7"),
        ("0.5", "0.5"),
        ("123456789012345678", "1.2345678901234568e+17"),
        ("0.1", "0.10000000000000001"),
        ("1e20", "1e+20"),
        ("s", "a\0b"),
    ] {
        assert_eq!(
            q::<Vec<u8>>(&mut c, &["EVAL", set_get, "1", "n", arg]),
            want.as_bytes(),
            "{arg}"
        );
    }
    // RESP2 replies: status, error, integer, bulk, null bulk, arrays with a null inside.
    q::<i64>(&mut c, &["RPUSH", "l", "a", "b"]);
    let got: Vec<redis::Value> = q(
        &mut c,
        &[
            "EVAL",
            "local r = {} \
             r[1] = redis.call('set', 'k', 'v').ok \
             r[2] = redis.pcall('lpush', 'k', 'x').err \
             r[3] = redis.call('strlen', 'k') \
             r[4] = redis.call('get', 'k') \
             r[5] = tostring(redis.call('get', 'nosuch')) \
             local m = redis.call('mget', 'k', 'nosuch', 'k') \
             r[6] = #m .. ':' .. tostring(m[2]) .. ':' .. m[3] \
             r[7] = table.concat(redis.call('lrange', 'l', 0, -1), ',') \
             return r",
            "0",
        ],
    );
    assert_eq!(
        got,
        [
            redis::Value::BulkString(b"OK".to_vec()),
            redis::Value::BulkString(
                b"WRONGTYPE Operation against a key holding the wrong kind of value".to_vec()
            ),
            redis::Value::Int(1),
            redis::Value::BulkString(b"v".to_vec()),
            redis::Value::BulkString(b"false".to_vec()),
            redis::Value::BulkString(b"3:false:v".to_vec()),
            redis::Value::BulkString(b"a,b".to_vec()),
        ]
    );
    // RESP3 replies (redis.setresp(3)): maps, sets, doubles, nulls.
    q::<i64>(&mut c, &["HSET", "h", "f", "1"]);
    q::<i64>(&mut c, &["SADD", "st", "m1"]);
    q::<i64>(&mut c, &["ZADD", "z", "2.5", "m"]);
    let got: Vec<redis::Value> = q(
        &mut c,
        &[
            "EVAL",
            "redis.setresp(3) \
             local h = redis.call('hgetall', 'h') \
             local st = redis.call('smembers', 'st') \
             local d = redis.call('zscore', 'z', 'm') \
             local n = redis.call('get', 'nosuch') \
             return {h.map.f, tostring(st.set.m1), tostring(d.double), tostring(n)}",
            "0",
        ],
    );
    assert_eq!(
        got,
        [
            redis::Value::BulkString(b"1".to_vec()),
            redis::Value::BulkString(b"true".to_vec()),
            redis::Value::BulkString(b"2.5".to_vec()),
            redis::Value::BulkString(b"nil".to_vec()),
        ]
    );
    // Argument errors: raised by redis.call, returned by redis.pcall.
    assert_eq!(
        q::<String>(
            &mut c,
            &["EVAL", "return redis.pcall('set', 'k', {}).err", "0"]
        ),
        "ERR Lua redis lib command arguments must be strings or integers"
    );
    assert_eq!(
        q::<String>(&mut c, &["EVAL", "return redis.pcall().err", "0"]),
        "ERR Please specify at least one argument for this redis lib call"
    );
    assert!(
        e(
            &mut c,
            &["EVAL", "return redis.call('set', 'k', true)", "0"]
        )
        .starts_with("ERR Lua redis lib command arguments must be strings or integers script:")
    );
    assert!(
        e(&mut c, &["EVAL", "redis.call('lpush', 'k', 'x')", "0"]).starts_with(
            "WRONGTYPE Operation against a key holding the wrong kind of value script: "
        )
    );
    // Errors raised and caught, and replies made, in loops: the stack stays balanced.
    let loops = "local n = 0 \
         for i = 1, 20000 do \
           local ok, e = pcall(redis.call, 'nosuch') \
           if not ok and e == 'ERR Unknown Redis command called from script' then n = n + 1 end \
           if redis.pcall('lpush', 'k', 'x').err then n = n + 1 end \
           if redis.call('get', 'k') == 'v' then n = n + 1 end \
         end \
         return n";
    assert_eq!(q::<i64>(&mut c, &["EVAL", loops, "0"]), 60000);
    // Results: scalars from the stack, tables and error tables.
    assert_eq!(q::<i64>(&mut c, &["EVAL", "return -3.99", "0"]), -3);
    assert_eq!(v(&mut c, &["EVAL", "return nil", "0"]), redis::Value::Nil);
    assert_eq!(e(&mut c, &["EVAL", "return {err='MY err'}", "0"]), "MY err");
    assert_eq!(
        e(
            &mut c,
            &["EVAL", "return redis.pcall('lpush', 'k', 'x')", "0"]
        ),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
    assert_eq!(
        v(&mut c, &["EVAL", "return {'a', {1, {true}}}", "0"]),
        redis::Value::Array(vec![
            redis::Value::BulkString(b"a".to_vec()),
            redis::Value::Array(vec![
                redis::Value::Int(1),
                redis::Value::Array(vec![redis::Value::Int(1)]),
            ]),
        ])
    );
    let mut c3 = resp3(&s);
    assert_eq!(
        v(&mut c3, &["EVAL", "redis.setresp(3) return false", "0"]),
        redis::Value::Boolean(false)
    );
    assert_eq!(
        v(&mut c3, &["EVAL", "return false", "0"]),
        redis::Value::Nil
    );
    assert_eq!(
        v(&mut c, &["EVAL", "redis.setresp(3) return true", "0"]),
        redis::Value::Int(1)
    );
    // The server is still fine.
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

/// EVAL scripts skip the runner when the `redis` table is set up for them; functions and EVAL
/// scripts alternating each see their own globals. Garbage is collected between runs: the Lua
/// heap stays bounded over many runs.
#[test]
fn eval_and_fcall_alternate_and_the_heap_stays_bounded() {
    let s = server(&["--threads", "1"]);
    let mut c = conn(&s);
    let lib = "#!lua name=alt\nredis.register_function('probe', function(keys, args) \
               return {type(redis.breakpoint), keys[1], pcall(function() return KEYS end) and 'keys' or 'nokeys'} end)";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "alt");
    let eval = "return {type(redis.breakpoint), KEYS[1], ARGV[1]}";
    for round in 0..3 {
        let got: Vec<String> = q(&mut c, &["EVAL", eval, "1", "k", "a"]);
        assert_eq!(got, ["function", "k", "a"], "round {round}");
        let got: Vec<String> = q(&mut c, &["EVAL", eval, "1", "k2", "b"]);
        assert_eq!(got, ["function", "k2", "b"], "round {round}");
        let got: Vec<String> = q(&mut c, &["FCALL", "probe", "1", "fk"]);
        assert_eq!(got, ["nil", "fk", "nokeys"], "round {round}");
    }
    // 20 000 runs that each leave garbage (KEYS, ARGV, strings, a table).
    let sha: String = q(
        &mut c,
        &[
            "SCRIPT",
            "LOAD",
            "local t = {KEYS[1], ARGV[1]} return redis.call('incr', KEYS[1])",
        ],
    );
    let mut p = redis::pipe();
    for i in 0..20_000 {
        p.cmd("EVALSHA").arg(&sha).arg(1).arg("n").arg(i);
    }
    let _: Vec<i64> = p.query(&mut c).expect("pipeline");
    assert_eq!(q::<i64>(&mut c, &["GET", "n"]), 20_000);
    let lua_mem: usize = info_field(&mut c, "memory", "used_memory_lua")
        .parse()
        .expect("used_memory_lua");
    assert!(lua_mem < 256 * 1024, "used_memory_lua {lua_mem}");
}

/// One reply read raw, with its framing: a line (`-`, `+`, `:`, `_`), a bulk or verbatim
/// string, or an array, set or map of them.
fn raw_reply(c: &mut RawConn, args: &[&[u8]]) -> Vec<u8> {
    c.send(&RawConn::encode(args));
    read_raw(c)
}

fn read_raw(c: &mut RawConn) -> Vec<u8> {
    let mut line = Vec::new();
    while !line.ends_with(b"\r\n") {
        let b = c.read_exact_n(1);
        assert_eq!(b.len(), 1, "{line:?}: connection ended");
        line.extend_from_slice(&b);
    }
    let n = || -> usize {
        std::str::from_utf8(&line[1..line.len() - 2])
            .expect("length")
            .parse()
            .expect("length")
    };
    match line[0] {
        b'$' | b'=' => {
            let n = n();
            line.extend_from_slice(&c.read_exact_n(n + 2));
        }
        b'*' | b'~' | b'%' => {
            let n = if line[0] == b'%' { 2 * n() } else { n() };
            for _ in 0..n {
                let item = read_raw(c);
                line.extend_from_slice(&item);
            }
        }
        _ => {}
    }
    line
}

/// Error replies carry the bytes they were given, as Redis's do: a script's error text that
/// is not UTF-8, a key echoed in NOGROUP, an unknown command's name; and INFO errorstats
/// counts them under their code, bytes as given (what redis-py's
/// test_info_with_non_utf8_errorstat checks). Every expected reply here is what
/// redis-server 7.0 sends.
#[test]
fn error_replies_and_errorstats_keep_their_bytes() {
    let s = server(&[]);
    let mut c = RawConn::connect(s.addr);
    let mut r = |args: &[&[u8]]| raw_reply(&mut c, args);
    assert_eq!(r(&[b"CONFIG", b"RESETSTAT"]), b"+OK\r\n");
    // A script's error: its bytes as given (a code without a space gets ERR, from
    // redis.error_reply only).
    let eval = |body: &[u8]| vec![b"EVAL".to_vec(), body.to_vec(), b"0".to_vec()];
    let cases: &[(&[u8], &[u8])] = &[
        (
            b"return redis.error_reply('\xff\xfeBAD oops')",
            b"-\xff\xfeBAD oops\r\n",
        ),
        (b"return {err='\xff\xfeBAD again'}", b"-\xff\xfeBAD again\r\n"),
        (b"return {err='\xff\xfe'}", b"-\xff\xfe\r\n"),
        (b"return {1, {err='\xff\xfeNESTED x'}}", b"*2\r\n:1\r\n-\xff\xfeNESTED x\r\n"),
        (b"return redis.error_reply('\xffnospace')", b"-ERR \xffnospace\r\n"),
        // Line breaks become spaces, those it ends with go; a NUL byte ends the text.
        (b"return {err='A\\r\\nB C\\n'}", b"-A  B C\r\n"),
        (b"return {err='X\\0Y z'}", b"-X\r\n"),
        (b"return redis.error_reply('Y9\\0Z y')", b"-ERR Y9\r\n"),
        // A command's error with the script's bytes in it, returned by pcall.
        (
            b"return redis.pcall('xreadgroup','group','g\\255','c','streams','k\\254','>')",
            b"-NOGROUP No such key 'k\xfe' or consumer group 'g\xff' in XREADGROUP with GROUP option\r\n",
        ),
        (
            b"local t = redis.pcall('xreadgroup','group','g\\255','c','streams','k\\254','>') return t.err",
            b"$79\r\nNOGROUP No such key 'k\xfe' or consumer group 'g\xff' in XREADGROUP with GROUP option\r\n",
        ),
        // A container's unknown subcommand is an unknown command in a script (its text,
        // which would echo the bytes, is not what the script gets).
        (
            b"return redis.pcall('object', '\xffsub')",
            b"-ERR Unknown Redis command called from script\r\n",
        ),
        (
            b"return redis.pcall('object', 'help', 'x')",
            b"-ERR Wrong number of args calling Redis command from script\r\n",
        ),
    ];
    for (body, want) in cases {
        let args = eval(body);
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let got = r(&args);
        assert_eq!(
            got.escape_ascii().to_string(),
            want.escape_ascii().to_string(),
            "{}",
            body.escape_ascii()
        );
    }
    // Raised errors: the bytes, then where.
    for (body, head) in [
        (&b"error({err='\xff\xfeRAISED x'})"[..], &b"-\xff\xfeRAISED x"[..]),
        (
            b"return redis.call('xreadgroup','group','g\\255','c','streams','k\\254','>')",
            b"-NOGROUP No such key 'k\xfe' or consumer group 'g\xff' in XREADGROUP with GROUP option",
        ),
        (b"error('\xff\xfeplain x')", b"-ERR user_script:1: \xff\xfeplain x"),
    ] {
        // The script's SHA1, as SCRIPT LOAD gives it: `$40\r\n<sha>\r\n`.
        let loaded = r(&[b"SCRIPT", b"LOAD", body]);
        let sha = loaded.get(5..45).expect("a SHA1");
        let want = [head, b" script: ", sha, b", on @user_script:1.\r\n"].concat();
        let got = r(&[b"EVAL", body, b"0"]);
        assert_eq!(
            got.escape_ascii().to_string(),
            want.escape_ascii().to_string()
        );
    }
    // Outside scripts: the unknown command's name and arguments as given (each up to a NUL).
    assert_eq!(
        r(&[b"\xffcmd", b"a\xfe", b"b\0c"]),
        b"-ERR unknown command '\xffcmd', with args beginning with: 'a\xfe' 'b' \r\n"
    );
    assert_eq!(
        r(&[b"XREADGROUP", b"GROUP", b"g\xff", b"c", b"STREAMS", b"k\xfe", b">"]),
        b"-NOGROUP No such key 'k\xfe' or consumer group 'g\xff' in XREADGROUP with GROUP option\r\n"
    );
    // RESP3 changes none of it.
    assert!(r(&[b"HELLO", b"3"]).starts_with(b"%"));
    assert_eq!(
        r(&[b"EVAL", b"return {err='\xff\xfeBAD r3'}", b"0"]),
        b"-\xff\xfeBAD r3\r\n"
    );
    assert_eq!(
        r(&[
            b"EVAL",
            b"redis.setresp(3) return redis.pcall('xreadgroup','group','g\\255','c','streams','k\\254','>')",
            b"0"
        ]),
        b"-NOGROUP No such key 'k\xfe' or consumer group 'g\xff' in XREADGROUP with GROUP option\r\n"
    );
    // INFO errorstats: each code as the reply had it, bytes included (one inside a script's
    // result too); a code is looked for in the first 31 bytes only (`ERR` otherwise), CR and
    // LF count as spaces. The same commands against redis-server 7.0.15 give this exactly.
    for body in [
        &b"return {err='\\nLF y'}"[..],
        b"return {err='012345678901234567890123456789 y'}",
        b"return {err='0123456789012345678901234567890 y'}",
    ] {
        assert!(r(&[b"EVAL", body, b"0"]).starts_with(b"-"));
    }
    let info = r(&[b"INFO", b"errorstats"]);
    let body = info
        .strip_prefix(b"=")
        .and_then(|b| b.iter().position(|&c| c == b'\n').map(|i| &b[i + 1..]))
        .expect("a verbatim string");
    let want: &[u8] = b"txt:# Errorstats\r\n\
        errorstat_:count=1\r\n\
        errorstat_012345678901234567890123456789:count=1\r\n\
        errorstat_A:count=1\r\n\
        errorstat_ERR:count=9\r\n\
        errorstat_NOGROUP:count=5\r\n\
        errorstat_\xff\xfeBAD:count=3\r\n\
        errorstat_\xff\xfeNESTED:count=1\r\n\
        errorstat_\xff\xfeRAISED:count=1\r\n\r\n";
    assert_eq!(
        body.escape_ascii().to_string(),
        want.escape_ascii().to_string()
    );
    // Every EVAL but one replied an error, or a result holding one (the pcall'd error's
    // t.err is a string): all failed, as Redis counts them.
    let stats = r(&[b"INFO", b"commandstats"]);
    let line = stats
        .split(|&c| c == b'\n')
        .find(|l| l.starts_with(b"cmdstat_eval:"))
        .expect("cmdstat_eval");
    let line = String::from_utf8_lossy(line);
    assert!(line.starts_with("cmdstat_eval:calls=20,"), "{line}");
    assert!(line.contains(",failed_calls=19"), "{line}");
}

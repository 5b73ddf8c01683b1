//! Raw-socket tests: every framing error gets Redis's reply and a closed connection, limits hold,
//! big pipelines work, and a well-behaved client beside it all keeps working.
mod common;
use common::*;

fn expect_protocol_error(s: &ServerProcess, input: &[u8], msg: &str) {
    let mut raw = RawConn::connect(s.addr);
    raw.send(input);
    let want = format!("-ERR Protocol error: {msg}\r\n");
    let got = String::from_utf8_lossy(&raw.read_exact_n(want.len())).into_owned();
    assert_eq!(
        got,
        want,
        "input {:?}",
        String::from_utf8_lossy(&input[..input.len().min(40)])
    );
    assert!(
        raw.is_closed(),
        "connection must close after a protocol error"
    );
}

#[test]
fn framing_errors_match_redis_and_close() {
    let s = server(&["--proto-max-bulk-len", "1mb"]);
    let mut bystander = conn(&s);
    expect_protocol_error(&s, b"*x\r\n", "invalid multibulk length");
    expect_protocol_error(&s, b"*3000000000\r\n", "invalid multibulk length");
    expect_protocol_error(&s, b"*1\r\n+PING\r\n", "expected '$', got '+'");
    expect_protocol_error(&s, b"*1\r\n$-5\r\n", "invalid bulk length");
    expect_protocol_error(&s, b"*1\r\n$abc\r\n", "invalid bulk length");
    expect_protocol_error(&s, b"*1\r\n$2000000\r\n", "invalid bulk length");
    expect_protocol_error(
        &s,
        b"SET a \"unterminated\r\n",
        "unbalanced quotes in request",
    );
    expect_protocol_error(&s, b"SET a 'x'y\r\n", "unbalanced quotes in request");
    expect_protocol_error(&s, &vec![b'a'; 70 * 1024], "too big inline request");
    let mut big = b"*".to_vec();
    big.extend(vec![b'1'; 70 * 1024]);
    expect_protocol_error(&s, &big, "too big mbulk count string");
    let mut big = b"*1\r\n$".to_vec();
    big.extend(vec![b'1'; 70 * 1024]);
    expect_protocol_error(&s, &big, "too big bulk count string");
    assert_eq!(
        q::<String>(&mut bystander, &["PING"]),
        "PONG",
        "other clients are unharmed"
    );
}

/// As Redis: before AUTH, while the server asks for a password, a command may have at most 10
/// arguments of at most 16 KiB each; after AUTH the usual limits apply again.
#[test]
fn unauthenticated_clients_get_small_limits() {
    let s = server(&["--requirepass", "pw"]);
    expect_protocol_error(&s, b"*100\r\n", "unauthenticated multibulk length");
    expect_protocol_error(&s, b"*1\r\n$100000000\r\n", "unauthenticated bulk length");
    let mut raw = RawConn::connect(s.addr);
    assert_eq!(raw.roundtrip(b"AUTH pw\r\n", 5), "+OK\r\n");
    let mut cmd = b"*12\r\n$4\r\nECHO\r\n$20000\r\n".to_vec();
    cmd.extend(vec![b'x'; 20000]);
    cmd.extend_from_slice(b"\r\n");
    for _ in 0..10 {
        cmd.extend_from_slice(b"$1\r\ny\r\n");
    }
    raw.send(&cmd);
    let want = "-ERR wrong number of arguments for 'echo' command\r\n";
    assert_eq!(
        String::from_utf8_lossy(&raw.read_exact_n(want.len())),
        want,
        "after AUTH a 12-argument command with a 20 KB bulk is read whole"
    );
    // A server without a password never applies them.
    let open = server(&[]);
    let mut raw = RawConn::connect(open.addr);
    let mut cmd = b"*2\r\n$4\r\nECHO\r\n$20000\r\n".to_vec();
    cmd.extend(vec![b'x'; 20000]);
    cmd.extend_from_slice(b"\r\n");
    raw.send(&cmd);
    assert_eq!(raw.read_exact_n(9), b"$20000\r\nx");
}

#[test]
fn empty_commands_are_skipped() {
    let s = server(&[]);
    let mut raw = RawConn::connect(s.addr);
    assert_eq!(
        raw.roundtrip(b"\r\n\n*0\r\n*-1\r\n   \r\nPING\r\n", 7),
        "+PONG\r\n"
    );
}

#[test]
fn byte_at_a_time_and_inline_quoting() {
    let s = server(&[]);
    let mut raw = RawConn::connect(s.addr);
    let cmd = RawConn::encode(&[b"SET", b"k", b"hello world"]);
    for b in &cmd {
        raw.send(std::slice::from_ref(b));
    }
    assert_eq!(raw.read_exact_n(5), b"+OK\r\n");
    assert_eq!(
        raw.roundtrip(b"GET \"k\"\r\n", 18),
        "$11\r\nhello world\r\n"
    );
    assert_eq!(raw.roundtrip(b"ECHO \"a\\x41\\n\"\n", 9), "$3\r\naA\n\r\n");
    assert_eq!(raw.roundtrip(b"ECHO 'it\\'s'\r\n", 10), "$4\r\nit's\r\n");
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let s = server(&[
        "--proto-max-bulk-len",
        "8mb",
        "--client-query-buffer-limit",
        "1mb",
    ]);
    let mut bystander = conn(&s);
    let mut raw = RawConn::connect(s.addr);
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < 2_000_000 {
        if std::io::Write::write_all(&mut raw.stream, &chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert!(
        raw.is_closed(),
        "a query buffer over the limit closes the connection"
    );
    assert_eq!(q::<String>(&mut bystander, &["PING"]), "PONG");
}

#[test]
fn hundred_thousand_pipelined_commands_in_one_write() {
    let s = server(&[]);
    let mut raw = RawConn::connect(s.addr);
    let n = 100_000;
    let mut req = Vec::with_capacity(n * 30);
    for _ in 0..n {
        req.extend_from_slice(&RawConn::encode(&[b"INCR", b"ctr"]));
    }
    // Write from another thread: the server answers while we are still sending.
    let mut w = raw.stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut w, &req).unwrap());
    let mut expected = Vec::new();
    for i in 1..=n {
        expected.extend_from_slice(format!(":{i}\r\n").as_bytes());
    }
    let got = raw.read_exact_n(expected.len());
    writer.join().unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "replies out of order or missing");
}

#[test]
fn big_values_round_trip() {
    let s = server(&[]);
    let mut c = conn(&s);
    let v: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let _: () = redis::cmd("SET").arg("big").arg(&v).query(&mut c).unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg("big").query(&mut c).unwrap();
    assert!(got == v);
}

#[test]
fn garbage_never_kills_the_server() {
    let s = server(&[]);
    let mut bystander = conn(&s);
    let mut seed = 0x2545F4914F6CDD1Du64;
    for round in 0..200 {
        let mut raw = RawConn::connect(s.addr);
        raw.stream
            .set_read_timeout(Some(std::time::Duration::from_millis(50)))
            .unwrap();
        let len = 1 + (round * 37) % 3000;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Bias towards RESP punctuation so the parser goes deep.
                match seed % 8 {
                    0 => b'*',
                    1 => b'$',
                    2 => b'\r',
                    3 => b'\n',
                    4 => b'0' + (seed >> 8) as u8 % 10,
                    _ => (seed >> 16) as u8,
                }
            })
            .collect();
        let _ = std::io::Write::write_all(&mut raw.stream, &bytes);
        let _ = raw.read_exact_n(1);
    }
    assert_eq!(q::<String>(&mut bystander, &["PING"]), "PONG");
}

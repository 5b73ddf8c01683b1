//! TLS: a TLS-only server (`port 0` + `tls-port`) with real clients (redis-cli `--tls`,
//! redis-benchmark `--tls`, redis-py `ssl=True`), client certificates, certificate reload by
//! CONFIG SET, plain RESP on the TLS port and TLS on the plain port, replication and a cluster
//! over TLS. Certificates are made by the test (rcgen).
mod common;
#[path = "common/tls.rs"]
mod tlsutil;

use common::*;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;
use tlsutil::{Certs, TlsConn, cert_der};

/// A TLS-only server on a free port (`--port 0`: no plain listener).
fn tls_server(certs: &Certs, extra: &[&str]) -> ServerProcess {
    let mut args: Vec<String> = [
        "--port",
        "0",
        "--ephemeral-ports",
        "tls-port",
        "--bind",
        "127.0.0.1",
        "--threads",
        "2",
        "--shards",
        "64",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(certs.server_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ServerProcess::start_raw(BIN, &refs)
}

fn handshake_log_lines(s: &ServerProcess, what: &str) -> usize {
    s.log().iter().filter(|l| l.contains(what)).count()
}

#[test]
fn tls_only_server_serves_redis_cli_with_client_certificates() {
    let certs = Certs::new("cli");
    let s = tls_server(&certs, &[]);
    let a = s.addr;
    assert_eq!(s.tls_addr(), a, "the only listener is the TLS one");
    assert_eq!(
        certs.cli(a, Some("client"), &["PING"]),
        (true, "PONG".into())
    );
    assert_eq!(
        certs.cli(a, Some("client"), &["SET", "k", "v"]),
        (true, "OK".into())
    );
    assert_eq!(
        certs.cli(a, Some("client"), &["GET", "k"]),
        (true, "v".into())
    );
    // port 0 means no plain listener, as in Redis; CONFIG GET tells the TLS port.
    assert_eq!(
        certs.cli(a, Some("client"), &["CONFIG", "GET", "port"]).1,
        "port\n0"
    );
    assert_eq!(
        certs
            .cli(a, Some("client"), &["CONFIG", "GET", "tls-port"])
            .1,
        format!("tls-port\n{}", a.port())
    );
    // tls-auth-clients yes (the default): no certificate, no service.
    let (_, out) = certs.cli(a, None, &["PING"]);
    assert_ne!(out, "PONG", "a client without a certificate was served");
    // An expired certificate, or one from a CA the server does not trust: refused too.
    assert_ne!(certs.cli(a, Some("expired"), &["PING"]).1, "PONG");
    assert_ne!(certs.cli(a, Some("stranger"), &["PING"]).1, "PONG");
    // optional: with or without a certificate, but a bad one is still refused.
    assert_eq!(
        certs.cli(
            a,
            Some("client"),
            &["CONFIG", "SET", "tls-auth-clients", "optional"]
        ),
        (true, "OK".into())
    );
    assert_eq!(certs.cli(a, None, &["PING"]), (true, "PONG".into()));
    assert_eq!(
        certs.cli(a, Some("client"), &["PING"]),
        (true, "PONG".into())
    );
    assert_ne!(certs.cli(a, Some("stranger"), &["PING"]).1, "PONG");
    assert_eq!(
        certs.cli(a, None, &["CONFIG", "SET", "tls-auth-clients", "no"]),
        (true, "OK".into())
    );
    assert_eq!(certs.cli(a, None, &["PING"]), (true, "PONG".into()));
    // The client side checks the server too: a CA that did not sign it refuses it.
    let mut c = Command::new("redis-cli");
    c.args(["-p", &a.port().to_string(), "--tls", "--cacert"]);
    c.arg(certs.path("other-ca.crt"));
    c.arg("PING");
    let out = c.output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("PONG"),
        "redis-cli trusted a server its CA did not sign"
    );
}

#[test]
fn a_big_pipeline_and_big_values_cross_tls_intact() {
    let certs = Certs::new("big");
    let s = tls_server(&certs, &["--tls-auth-clients", "no"]);
    let mut c = TlsConn::connect(s.addr, certs.client_config("ca.crt", None)).unwrap();
    // 3 MB value: many TLS records each way, the query buffer grows past one read.
    let big = "x".repeat(3 << 20);
    let mut req = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", big.len()).into_bytes();
    req.extend_from_slice(big.as_bytes());
    req.extend_from_slice(b"\r\n");
    assert_eq!(c.roundtrip(&req, 5).unwrap(), "+OK\r\n");
    let want = format!("${}\r\n{big}\r\n", big.len());
    let got = c.roundtrip(b"GET big\r\n", want.len()).unwrap();
    assert_eq!(got.len(), want.len());
    assert!(got == want, "GET big came back different");
    // 5000 pipelined commands in one write: every reply, in order.
    let req = b"INCR n\r\n".repeat(5000);
    let mut want = String::new();
    for i in 1..=5000 {
        want.push_str(&format!(":{i}\r\n"));
    }
    assert_eq!(c.roundtrip(&req, want.len()).unwrap(), want);
}

#[test]
fn plain_resp_on_the_tls_port_is_closed_and_logged_once() {
    let certs = Certs::new("plain");
    let s = tls_server(&certs, &["--tls-auth-clients", "no"]);
    let mut good = TlsConn::connect(s.addr, certs.client_config("ca.crt", None)).unwrap();
    assert_eq!(good.roundtrip(b"SET k v\r\n", 5).unwrap(), "+OK\r\n");
    for _ in 0..5 {
        let mut raw = RawConn::connect(s.addr);
        use std::io::{Read, Write};
        raw.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        raw.stream.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
        let mut buf = Vec::new();
        // Closed by the server with nothing sent: no RESP reply, no TLS alert either (the
        // client could not read one), as Redis does.
        let _ = raw.stream.read_to_end(&mut buf);
        assert!(
            buf.is_empty(),
            "the TLS port sent {buf:?} to a plain client"
        );
    }
    // Nothing lost for the TLS client, and one log line for the five (rate-limited).
    assert_eq!(good.roundtrip(b"GET k\r\n", 7).unwrap(), "$1\r\nv\r\n");
    assert!(wait_until(Duration::from_secs(5), || handshake_log_lines(
        &s,
        "Error accepting a client connection"
    ) >= 1));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        handshake_log_lines(&s, "Error accepting a client connection"),
        1,
        "{:?}",
        s.log()
    );
}

#[test]
fn tls_on_the_plain_port_is_closed_and_logged_once() {
    let certs = Certs::new("onplain");
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "k", "v"]);
    for _ in 0..3 {
        let r = TlsConn::connect(s.addr, certs.client_config("ca.crt", None))
            .and_then(|mut t| t.roundtrip(b"PING\r\n", 7));
        assert!(r.is_err(), "a TLS client got {r:?} from the plain port");
    }
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    let what = "TLS handshake to the plain port";
    assert!(wait_until(Duration::from_secs(5), || handshake_log_lines(
        &s, what
    ) >= 1));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(handshake_log_lines(&s, what), 1, "{:?}", s.log());
}

#[test]
fn config_set_reloads_certificates_and_keeps_the_old_on_a_bad_file() {
    let certs = Certs::new("reload");
    let s = tls_server(&certs, &["--tls-auth-clients", "no"]);
    let cfg = certs.client_config("ca.crt", None);
    let mut c = TlsConn::connect(s.addr, cfg.clone()).unwrap();
    assert_eq!(c.peer_cert(), cert_der(&certs.path("server.crt")));
    let set = |c: &mut TlsConn, args: &[&str]| -> String {
        let mut req = format!("*{}\r\n", args.len() + 2);
        for a in ["CONFIG", "SET"].iter().chain(args) {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        let mut s = c.roundtrip(req.as_bytes(), 5).unwrap();
        while !s.ends_with("\r\n") {
            s.push_str(&c.roundtrip(b"", 1).unwrap());
        }
        s
    };
    // A file that does not exist, a certificate that is not the key's, a key that is not
    // PEM: errors, and new clients still get the old certificate.
    let missing = certs.path("nope.crt");
    let r = set(&mut c, &["tls-cert-file", &missing]);
    assert!(
        r.starts_with("-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration"),
        "{r}"
    );
    let r = set(&mut c, &["tls-cert-file", &certs.path("server2.crt")]);
    assert!(r.contains("Unable to update TLS configuration"), "{r}");
    let r = set(&mut c, &["tls-key-file", &certs.path("ca.crt")]);
    assert!(r.contains("Unable to update TLS configuration"), "{r}");
    let fresh = TlsConn::connect(s.addr, cfg.clone()).unwrap();
    assert_eq!(fresh.peer_cert(), cert_der(&certs.path("server.crt")));
    // Both files at once: the new pair serves new clients; the connected one goes on.
    let r = set(
        &mut c,
        &[
            "tls-cert-file",
            &certs.path("server2.crt"),
            "tls-key-file",
            &certs.path("server2.key"),
        ],
    );
    assert_eq!(r, "+OK\r\n");
    let fresh = TlsConn::connect(s.addr, cfg.clone()).unwrap();
    assert_eq!(fresh.peer_cert(), cert_der(&certs.path("server2.crt")));
    assert_eq!(c.roundtrip(b"PING\r\n", 7).unwrap(), "+PONG\r\n");
    // A password for a key that is not encrypted: harmless, as in Redis.
    assert_eq!(set(&mut c, &["tls-key-file-pass", "secret"]), "+OK\r\n");
    // A CA that is no certificate: refused, the old CA stays.
    let r = set(&mut c, &["tls-ca-cert-file", &certs.path("server.key")]);
    assert!(r.contains("Unable to update TLS configuration"), "{r}");
    // tls-protocols and the cipher lists: checked, applied to new handshakes.
    let r = set(&mut c, &["tls-protocols", "TLSv1.1"]);
    assert!(r.contains("not supported"), "{r}");
    let r = set(&mut c, &["tls-ciphers", "AES128-SHA256"]);
    assert!(r.contains("no TLS 1.2 cipher suite"), "{r}");
    let r = set(&mut c, &["tls-ciphersuites", "TLS_NOPE"]);
    assert!(r.contains("unsupported TLS 1.3 cipher suite"), "{r}");
    assert_eq!(set(&mut c, &["tls-protocols", "TLSv1.2"]), "+OK\r\n");
    let t = TlsConn::connect(s.addr, cfg.clone()).unwrap();
    assert_eq!(
        t.s.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(
        set(&mut c, &["tls-ciphers", "ECDHE-ECDSA-CHACHA20-POLY1305"]),
        "+OK\r\n"
    );
    let t = TlsConn::connect(s.addr, cfg.clone()).unwrap();
    assert_eq!(
        t.s.conn.negotiated_cipher_suite().map(|s| s.suite()),
        Some(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
    );
    assert_eq!(set(&mut c, &["tls-protocols", "TLSv1.3"]), "+OK\r\n");
    assert_eq!(
        set(
            &mut c,
            &["tls-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"]
        ),
        "+OK\r\n"
    );
    let t = TlsConn::connect(s.addr, cfg).unwrap();
    assert_eq!(
        t.s.conn.negotiated_cipher_suite().map(|s| s.suite()),
        Some(rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256)
    );
}

/// `openssl pkcs8 -topk8 -v2 aes-256-cbc`: the encrypted PKCS#8 (PBES2) form of `name`.key.
fn encrypt_key(certs: &Certs, name: &str, pass: &str) -> String {
    let out = certs.path(&format!("{name}-enc.key"));
    let st = Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in"])
        .arg(certs.path(&format!("{name}.key")))
        .args(["-out", &out, "-passout", &format!("pass:{pass}")])
        .status()
        .expect("openssl runs");
    assert!(st.success(), "openssl pkcs8 -topk8 failed");
    let pem = std::fs::read_to_string(&out).unwrap();
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );
    out
}

#[test]
fn encrypted_keys_are_read_with_their_password() {
    let certs = Certs::new("enckey");
    let key = encrypt_key(&certs, "server", "s3cret");
    let key2 = encrypt_key(&certs, "server2", "other pass");
    let ckey = encrypt_key(&certs, "client", "cpass");
    let crt = certs.path("server.crt");
    let ca = certs.path("ca.crt");
    // No password, or a wrong one: the server does not start, and says why.
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["--port", "0", "--ephemeral-ports", "tls-port"])
            .args(["--tls-cert-file", &crt, "--tls-ca-cert-file", &ca])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?} must exit 1");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&["--tls-key-file", &key]);
    assert!(err.contains("the private key is encrypted"), "{err}");
    let err = run(&["--tls-key-file", &key, "--tls-key-file-pass", "wrong"]);
    assert!(err.contains("cannot decrypt the private key"), "{err}");
    // A legacy encrypted PEM key (Proc-Type): refused with the way to convert it.
    let legacy = certs.path("server-legacy.key");
    let st = Command::new("openssl")
        .args([
            "pkey",
            "-traditional",
            "-aes256",
            "-passout",
            "pass:s3cret",
            "-in",
        ])
        .arg(certs.path("server.key"))
        .args(["-out", &legacy])
        .status()
        .expect("openssl runs");
    assert!(st.success());
    let err = run(&["--tls-key-file", &legacy, "--tls-key-file-pass", "s3cret"]);
    assert!(
        err.contains("legacy encrypted PEM key") && err.contains("openssl pkcs8 -topk8"),
        "{err}"
    );
    let err = run(&[
        "--tls-key-file",
        &key,
        "--tls-key-file-pass",
        "s3cret",
        "--tls-client-cert-file",
        &certs.path("client.crt"),
        "--tls-client-key-file",
        &ckey,
        "--tls-client-key-file-pass",
        "s3cret",
    ]);
    assert!(err.contains("client-enc.key: cannot decrypt"), "{err}");
    // The right passwords: it serves its certificate.
    let s = tls_server(
        &certs,
        &[
            "--tls-auth-clients",
            "no",
            "--tls-key-file",
            &key,
            "--tls-key-file-pass",
            "s3cret",
            "--tls-client-cert-file",
            &certs.path("client.crt"),
            "--tls-client-key-file",
            &ckey,
            "--tls-client-key-file-pass",
            "cpass",
        ],
    );
    let cfg = certs.client_config("ca.crt", None);
    let mut c = TlsConn::connect(s.addr, cfg.clone()).unwrap();
    assert_eq!(c.peer_cert(), cert_der(&crt));
    assert_eq!(
        certs.cli(s.addr, None, &["CONFIG", "GET", "tls-key-file-pass"]),
        (true, "tls-key-file-pass\ns3cret".into())
    );
    // CONFIG SET: a wrong password is an error that keeps the old certificate.
    let crt2 = certs.path("server2.crt");
    let (_, r) = certs.cli(
        s.addr,
        None,
        &[
            "CONFIG",
            "SET",
            "tls-cert-file",
            &crt2,
            "tls-key-file",
            &key2,
            "tls-key-file-pass",
            "s3cret",
        ],
    );
    assert!(
        r.contains("Unable to update TLS configuration") && r.contains("cannot decrypt"),
        "{r}"
    );
    let fresh = TlsConn::connect(s.addr, cfg.clone()).unwrap();
    assert_eq!(fresh.peer_cert(), cert_der(&crt));
    assert_eq!(
        certs
            .cli(s.addr, None, &["CONFIG", "GET", "tls-key-file-pass"])
            .1,
        "tls-key-file-pass\ns3cret"
    );
    // The right one: new clients get the new certificate, the connected one goes on.
    assert_eq!(
        certs.cli(
            s.addr,
            None,
            &[
                "CONFIG",
                "SET",
                "tls-cert-file",
                &crt2,
                "tls-key-file",
                &key2,
                "tls-key-file-pass",
                "other pass",
            ],
        ),
        (true, "OK".into())
    );
    let fresh = TlsConn::connect(s.addr, cfg).unwrap();
    assert_eq!(fresh.peer_cert(), cert_der(&crt2));
    assert_eq!(c.roundtrip(b"PING\r\n", 7).unwrap(), "+PONG\r\n");
}

#[test]
fn switching_between_the_plain_and_the_tls_port() {
    let certs = Certs::new("switch");
    let s = tls_server(&certs, &["--tls-auth-clients", "no"]);
    let tls_port = s.addr.port();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let plain_port = free.local_addr().unwrap().port();
    drop(free);
    assert_eq!(
        certs.cli(
            s.addr,
            None,
            &["CONFIG", "SET", "port", &plain_port.to_string()]
        ),
        (true, "OK".into())
    );
    let plain: SocketAddr = format!("127.0.0.1:{plain_port}").parse().unwrap();
    let mut raw = RawConn::connect(plain);
    assert_eq!(raw.roundtrip(b"PING\r\n", 7), "+PONG\r\n");
    // tls-port 0: the TLS listener goes; the plain one stays.
    assert_eq!(raw.roundtrip(b"CONFIG SET tls-port 0\r\n", 5), "+OK\r\n");
    assert!(wait_until(Duration::from_secs(5), || {
        std::net::TcpStream::connect(s.addr).is_err()
    }));
    // And back on its port.
    let cmd = format!("CONFIG SET tls-port {tls_port}\r\n");
    assert_eq!(raw.roundtrip(cmd.as_bytes(), 5), "+OK\r\n");
    assert_eq!(certs.cli(s.addr, None, &["PING"]), (true, "PONG".into()));
    // port 0: no plain listener any more.
    assert_eq!(raw.roundtrip(b"CONFIG SET port 0\r\n", 5), "+OK\r\n");
    assert!(wait_until(Duration::from_secs(5), || {
        std::net::TcpStream::connect(plain).is_err()
    }));
    assert_eq!(
        raw.roundtrip(b"PING\r\n", 7),
        "+PONG\r\n",
        "connected clients stay"
    );
}

#[test]
fn startup_errors_name_the_problem() {
    let certs = Certs::new("startup");
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?} must exit 1");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&["--port", "0", "--bind", "127.0.0.1"]);
    assert!(err.contains("Configured to not listen anywhere"), "{err}");
    let err = run(&["--port", "0", "--ephemeral-ports", "tls-port"]);
    assert!(err.contains("tls-cert-file and tls-key-file"), "{err}");
    let key = certs.path("server.key");
    let crt = certs.path("client.crt");
    let err = run(&[
        "--port",
        "0",
        "--ephemeral-ports",
        "tls-port",
        "--tls-cert-file",
        &crt,
        "--tls-key-file",
        &key,
        "--tls-auth-clients",
        "no",
    ]);
    assert!(err.contains("not the certificate's"), "{err}");
    let err = run(&[
        "--port",
        "0",
        "--ephemeral-ports",
        "tls-port",
        "--tls-cert-file",
        &certs.path("server.crt"),
        "--tls-key-file",
        &key,
    ]);
    assert!(err.contains("tls-ca-cert-file or tls-ca-cert-dir"), "{err}");
}

#[test]
fn redis_benchmark_over_tls() {
    let certs = Certs::new("bench");
    let s = tls_server(&certs, &[]);
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &s.addr.port().to_string()])
        .args(["--tls", "--cacert", &certs.path("ca.crt")])
        .args(["--cert", &certs.path("client.crt")])
        .args(["--key", &certs.path("client.key")])
        .args(["-q", "-t", "set,get,lpush,incr", "-n", "5000", "-P", "4"])
        .output()
        .expect("redis-benchmark runs");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    for t in ["SET", "GET", "LPUSH", "INCR"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{t}: ")) && l.contains("requests per second")),
            "no {t} result: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!text.to_lowercase().contains("error"), "{text}");
}

#[test]
fn redis_py_with_ssl() {
    let certs = Certs::new("py");
    let s = tls_server(&certs, &[]);
    let script = r#"
import sys, redis
port, ca, crt, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
r = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=ca, ssl_certfile=crt,
                ssl_keyfile=key, decode_responses=True, socket_timeout=10)
assert r.ping()
assert r.set("k", "v")
assert r.get("k") == "v"
p = r.pipeline(transaction=True)
for i in range(1000):
    p.incr("n")
assert p.execute()[-1] == 1000
assert r.get("n") == "1000"
big = "y" * 200000
r.set("big", big)
assert r.get("big") == big
try:
    redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=ca, socket_timeout=5).ping()
    print("served without a client certificate")
    sys.exit(1)
except (redis.exceptions.ConnectionError, OSError):
    pass
print("ok")
"#;
    let out = Command::new("python3")
        .args(["-c", script, &s.addr.port().to_string()])
        .args([
            certs.path("ca.crt"),
            certs.path("client.crt"),
            certs.path("client.key"),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn replication_and_failover_over_tls() {
    let certs = Certs::new("repl");
    let extra = ["--tls-replication", "yes"];
    let p = tls_server(&certs, &extra);
    let r = tls_server(&certs, &extra);
    let cli = |s: &ServerProcess, args: &[&str]| certs.cli(s.addr, Some("client"), args).1;
    assert_eq!(cli(&p, &["SET", "before", "1"]), "OK");
    let pport = p.addr.port().to_string();
    assert_eq!(cli(&r, &["REPLICAOF", "127.0.0.1", &pport]), "OK");
    assert!(
        wait_until(Duration::from_secs(15), || cli(
            &r,
            &["INFO", "replication"]
        )
        .contains("master_link_status:up")),
        "{:?}",
        r.log()
    );
    assert_eq!(cli(&p, &["SET", "after", "2"]), "OK");
    assert!(wait_until(Duration::from_secs(5), || cli(
        &r,
        &["GET", "after"]
    ) == "2"));
    assert_eq!(cli(&r, &["GET", "before"]), "1");
    // The replica announced its TLS port.
    let info = cli(&p, &["INFO", "replication"]);
    assert!(info.contains(&format!("port={}", r.addr.port())), "{info}");
    assert_eq!(cli(&p, &["WAIT", "1", "5000"]), "1");
    // Failover: the replica takes over, the old primary follows it, over TLS both ways.
    assert_eq!(cli(&r, &["REPLICAOF", "NO", "ONE"]), "OK");
    let rport = r.addr.port().to_string();
    assert_eq!(cli(&p, &["REPLICAOF", "127.0.0.1", &rport]), "OK");
    assert!(wait_until(Duration::from_secs(15), || cli(
        &p,
        &["INFO", "replication"]
    )
    .contains("master_link_status:up")));
    assert_eq!(cli(&r, &["SET", "later", "3"]), "OK");
    assert!(wait_until(Duration::from_secs(5), || cli(
        &p,
        &["GET", "later"]
    ) == "3"));
    // A primary whose certificate the replica's CA did not sign is refused.
    let mut stranger_args: Vec<String> = vec![
        "--tls-cert-file".into(),
        certs.path("stranger-server.crt"),
        "--tls-key-file".into(),
        certs.path("stranger-server.key"),
    ];
    stranger_args.extend(["--tls-auth-clients".into(), "no".into()]);
    let refs: Vec<&str> = stranger_args.iter().map(String::as_str).collect();
    let mut args = vec![
        "--port",
        "0",
        "--ephemeral-ports",
        "tls-port",
        "--bind",
        "127.0.0.1",
    ];
    args.extend(refs);
    let x = ServerProcess::start_raw(BIN, &args);
    let xport = x.addr.port().to_string();
    assert_eq!(cli(&p, &["REPLICAOF", "127.0.0.1", &xport]), "OK");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !cli(&p, &["INFO", "replication"]).contains("master_link_status:up"),
        "replicated from an untrusted primary"
    );
}

#[test]
fn a_tls_only_cluster_announces_tls_ports_and_serves_redis_py() {
    let certs = Certs::new("cluster");
    let mut nodes = Vec::new();
    // Three primaries and a replica of the first.
    let dirs: Vec<_> = (0..4)
        .map(|i| {
            let d =
                std::env::temp_dir().join(format!("shoal-tls-cluster-{}-{i}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            d
        })
        .collect();
    for d in &dirs {
        nodes.push(tls_server(
            &certs,
            &[
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "2000",
                "--tls-cluster",
                "yes",
                "--tls-replication",
                "yes",
                "--dir",
                d.to_str().unwrap(),
            ],
        ));
    }
    let cli = |s: &ServerProcess, args: &[&str]| certs.cli(s.addr, Some("client"), args).1;
    let bus = |s: &ServerProcess| -> String {
        let nodes = cli(s, &["CLUSTER", "NODES"]);
        let me = nodes
            .lines()
            .find(|l| l.contains("myself"))
            .unwrap()
            .to_string();
        let addr = me.split_whitespace().nth(1).unwrap().to_string();
        // ip:port@cport: the port is the TLS one.
        let port: u16 = addr.split(['@', ':']).nth(1).unwrap().parse().unwrap();
        assert_eq!(
            port,
            s.addr.port(),
            "CLUSTER NODES announces the TLS port: {me}"
        );
        addr.split('@')
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_string()
    };
    let ranges = [("0", "5460"), ("5461", "10922"), ("10923", "16383")];
    for (n, (a, b)) in nodes.iter().zip(ranges) {
        assert_eq!(cli(n, &["CLUSTER", "ADDSLOTSRANGE", a, b]), "OK");
    }
    for n in &nodes[1..] {
        let port = n.addr.port().to_string();
        let cport = bus(n);
        assert_eq!(
            cli(&nodes[0], &["CLUSTER", "MEET", "127.0.0.1", &port, &cport]),
            "OK"
        );
    }
    assert!(
        wait_until(Duration::from_secs(30), || nodes.iter().all(|n| cli(
            n,
            &["CLUSTER", "INFO"]
        )
        .contains("cluster_state:ok"))),
        "the cluster did not form over TLS: {:?}",
        nodes[0].log()
    );
    let id0 = cli(&nodes[0], &["CLUSTER", "MYID"]);
    assert!(wait_until(Duration::from_secs(10), || cli(
        &nodes[3],
        &["CLUSTER", "REPLICATE", &id0]
    ) == "OK"));
    assert!(
        wait_until(Duration::from_secs(20), || cli(
            &nodes[3],
            &["INFO", "replication"]
        )
        .contains("master_link_status:up")),
        "the replica's TLS link did not come up: {:?}",
        nodes[3].log()
    );
    // CLUSTER SLOTS names every node, the replica too (once gossip told node 0), by TLS port.
    assert!(
        wait_until(Duration::from_secs(10), || {
            let slots = cli(&nodes[0], &["CLUSTER", "SLOTS"]);
            nodes
                .iter()
                .all(|n| slots.contains(&n.addr.port().to_string()))
        }),
        "{}",
        cli(&nodes[0], &["CLUSTER", "SLOTS"])
    );
    // CLUSTER SHARDS names the port tls-port, as Redis does with tls-cluster.
    let shards = cli(&nodes[0], &["CLUSTER", "SHARDS"]);
    assert!(
        shards.contains(&nodes[1].addr.port().to_string()),
        "{shards}"
    );
    assert!(shards.lines().any(|l| l == "tls-port"), "{shards}");
    assert!(!shards.lines().any(|l| l == "port"), "{shards}");
    let script = r#"
import sys, redis
from redis.cluster import RedisCluster
port, ca, crt, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rc = RedisCluster(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=ca, ssl_certfile=crt,
                  ssl_keyfile=key, decode_responses=True, socket_timeout=10)
for i in range(300):
    rc.set(f"key:{i}", i)
for i in range(300):
    assert rc.get(f"key:{i}") == str(i), i
assert len(rc.get_nodes()) == 4, rc.get_nodes()
print("ok")
"#;
    let out = Command::new("python3")
        .args(["-c", script, &nodes[0].addr.port().to_string()])
        .args([
            certs.path("ca.crt"),
            certs.path("client.crt"),
            certs.path("client.key"),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A manual failover over TLS: the replica takes over with the keys it replicated.
    // A manual failover that cannot finish within Redis's 5 s (a loaded machine) is abandoned
    // and the primary resumes: as an operator would, ask again (at most three times).
    let failed_over = || {
        wait_until(Duration::from_secs(10), || {
            cli(&nodes[3], &["ROLE"]).starts_with("master")
                && cli(&nodes[0], &["ROLE"]).starts_with("slave")
        })
    };
    let mut done = false;
    for _ in 0..3 {
        if cli(&nodes[3], &["ROLE"]).starts_with("slave") {
            assert_eq!(cli(&nodes[3], &["CLUSTER", "FAILOVER"]), "OK");
        }
        done = failed_over();
        if done {
            break;
        }
    }
    assert!(
        done,
        "{}\nreplica log: {:#?}\nprimary log: {:#?}",
        cli(&nodes[3], &["CLUSTER", "NODES"]),
        nodes[3].log(),
        nodes[0].log()
    );
    let mine = (0..300)
        .map(|i| format!("key:{i}"))
        .find(|k| {
            cli(&nodes[3], &["CLUSTER", "KEYSLOT", k])
                .parse::<u16>()
                .unwrap()
                <= 5460
        })
        .unwrap();
    let n: String = mine.trim_start_matches("key:").to_string();
    assert_eq!(cli(&nodes[3], &["GET", &mine]), n);
    // redis-cli --cluster reshard over TLS: MIGRATE between TLS-only nodes (tls-cluster yes).
    let tool = |args: &[&str]| {
        let mut c = Command::new("redis-cli");
        c.args(["--tls", "--cacert", &certs.path("ca.crt")]);
        c.args(["--cert", &certs.path("client.crt")]);
        c.args(["--key", &certs.path("client.key")]);
        c.args(args);
        c.output().expect("redis-cli runs")
    };
    let entry = format!("127.0.0.1:{}", nodes[1].addr.port());
    assert!(
        wait_until(Duration::from_secs(20), || tool(&[
            "--cluster",
            "check",
            &entry
        ])
        .status
        .success()),
        "the cluster's nodes do not agree"
    );
    let from = cli(&nodes[1], &["CLUSTER", "MYID"]);
    let to = cli(&nodes[2], &["CLUSTER", "MYID"]);
    let size = |s: &ServerProcess| cli(s, &["DBSIZE"]).parse::<usize>().unwrap();
    let (from_keys, to_keys) = (size(&nodes[1]), size(&nodes[2]));
    let out = tool(&[
        "--cluster",
        "reshard",
        &entry,
        "--cluster-from",
        &from,
        "--cluster-to",
        &to,
        "--cluster-slots",
        "2000",
        "--cluster-yes",
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let moved = from_keys - size(&nodes[1]);
    assert!(moved > 0, "no key moved");
    assert_eq!(size(&nodes[2]), to_keys + moved);
    // No key lost or doubled: the primaries (node 3 took node 0's place) hold the 300.
    assert_eq!(size(&nodes[3]) + size(&nodes[1]) + size(&nodes[2]), 300);
    // The cluster's clients follow the new owner.
    let out = Command::new("python3")
        .args(["-c", script, &nodes[2].addr.port().to_string()])
        .args([
            certs.path("ca.crt"),
            certs.path("client.crt"),
            certs.path("client.key"),
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("ok"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    drop(nodes);
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn migrate_speaks_tls_to_a_tls_only_target_with_tls_cluster() {
    let certs = Certs::new("migrate");
    let extra = ["--tls-auth-clients", "no", "--tls-cluster", "yes"];
    let a = tls_server(&certs, &extra);
    let b = tls_server(&certs, &extra);
    let cli = |s: &ServerProcess, args: &[&str]| certs.cli(s.addr, None, args).1;
    assert_eq!(cli(&a, &["SET", "k1", "v1"]), "OK");
    assert_eq!(cli(&a, &["RPUSH", "k2", "x", "y"]), "2");
    let port = b.addr.port().to_string();
    assert_eq!(
        cli(&a, &["MIGRATE", "127.0.0.1", &port, "k1", "0", "5000"]),
        "OK"
    );
    assert_eq!(
        cli(
            &a,
            &[
                "MIGRATE",
                "127.0.0.1",
                &port,
                "",
                "0",
                "5000",
                "COPY",
                "KEYS",
                "k2"
            ]
        ),
        "OK"
    );
    assert_eq!(cli(&b, &["GET", "k1"]), "v1");
    assert_eq!(cli(&b, &["LRANGE", "k2", "0", "-1"]), "x\ny");
    assert_eq!(cli(&a, &["EXISTS", "k1", "k2"]), "1");
    // Once more on the cached TLS connection.
    assert_eq!(
        cli(
            &a,
            &["MIGRATE", "127.0.0.1", &port, "k2", "0", "5000", "REPLACE"]
        ),
        "OK"
    );
    assert_eq!(cli(&a, &["EXISTS", "k2"]), "0");
    // A server without tls-cluster speaks plain RESP to that port: an I/O error, the key stays.
    let c = tls_server(&certs, &["--tls-auth-clients", "no"]);
    assert_eq!(cli(&c, &["SET", "k3", "v"]), "OK");
    let r = cli(&c, &["MIGRATE", "127.0.0.1", &port, "k3", "0", "1000"]);
    assert!(r.starts_with("IOERR"), "{r}");
    assert_eq!(cli(&c, &["GET", "k3"]), "v");
}

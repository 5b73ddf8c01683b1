//! The binary's command line, config file and shutdown paths.
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn run_fail(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run");
    assert_eq!(out.status.code(), Some(1), "{args:?} must exit 1");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_options_name_the_option_and_the_reason_with_exit_1() {
    let err = run_fail(&["--port", "70000"]);
    assert!(err.contains(">>> '--port 70000'"), "{err}");
    assert!(
        err.contains("argument must be between 0 and 65535 inclusive"),
        "{err}"
    );
    assert!(run_fail(&["--appendonly", "maybe"]).contains("argument must be 'yes' or 'no'"));
    assert!(run_fail(&["--appendonly", "yes"]).contains("not supported yet"));
    let err = run_fail(&["--no-such-option", "1"]);
    assert!(err.contains("no-such-option"), "{err}");
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );
    assert!(run_fail(&["--shards", "100"]).contains("power of two"));
    assert!(run_fail(&["--proto-max-bulk-len", "1.5gb"]).contains("1.5gb"));
    assert!(run_fail(&["/nonexistent/shoal.conf"]).contains("/nonexistent/shoal.conf"));
    assert!(run_fail(&["--bind", "not-an-ip", "--ephemeral-ports", "port"]).contains("not-an-ip"));
}

#[test]
fn config_file_errors_name_file_line_and_text() {
    let dir = std::env::temp_dir().join(format!("shoal-cli-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.conf");
    std::fs::write(&path, "# fine\nport 7000\n\nmaxclients lots\n").unwrap();
    let err = run_fail(&[path.to_str().unwrap()]);
    assert!(err.contains("FATAL CONFIG FILE ERROR"), "{err}");
    assert!(
        err.contains(&format!("{}, at line 4", path.display())),
        "{err}"
    );
    assert!(err.contains(">>> 'maxclients lots'"), "{err}");
    assert!(
        err.contains("argument couldn't be parsed into an integer"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn version_and_help() {
    for flag in ["-v", "--version"] {
        let out = Command::new(BIN).arg(flag).output().expect("run");
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    }
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--maxmemory-policy"), "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "help line too wide: {line}");
    }
}

/// Debian's stock /etc/redis/redis.conf (tests/assets), with only what a test must change
/// overridden on the command line, as an operator switching from Redis would run it.
#[test]
fn debian_stock_redis_conf_starts_shoal() {
    let dir = std::env::temp_dir().join(format!("shoal-cli-debian-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/assets/debian-redis.conf"
    );
    let pidfile = dir.join("shoal.pid");
    let logfile = dir.join("shoal.log");
    let s = ServerProcess::start_raw(
        BIN,
        &[
            conf,
            "--ephemeral-ports",
            "port",
            "--daemonize",
            "no",
            "--dir",
            dir.to_str().unwrap(),
            "--pidfile",
            pidfile.to_str().unwrap(),
            "--logfile",
            "",
        ],
    );
    let mut c = conn(&s);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hash-max-listpack-entries"]),
        vec!["hash-max-listpack-entries", "512"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "bind"]),
        vec!["bind", "127.0.0.1 -::1"]
    );
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .expect("pidfile written")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, s.pid());
    let _ = logfile;
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn logfile_pidfile_and_daemonize() {
    let dir = std::env::temp_dir().join(format!("shoal-cli-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("d.pid");
    let logfile = dir.join("d.log");
    let port = free_port();
    let out = Command::new(BIN)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--daemonize",
            "yes",
            "--pidfile",
            pidfile.to_str().unwrap(),
            "--logfile",
            logfile.to_str().unwrap(),
        ])
        .output()
        .expect("run");
    // The foreground process returns at once; the daemon keeps serving.
    assert!(out.status.success(), "{out:?}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let log_ready = || {
        std::fs::read_to_string(&logfile)
            .unwrap_or_default()
            .contains("Ready to accept connections")
    };
    while !log_ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "daemon never got ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .expect("pidfile written")
        .trim()
        .parse()
        .unwrap();
    let mut raw = RawConn::connect(format!("127.0.0.1:{port}").parse().unwrap());
    assert_eq!(raw.roundtrip(b"PING\r\n", 7), "+PONG\r\n");
    raw.send(b"SHUTDOWN NOSAVE\r\n");
    assert!(raw.is_closed());
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(std::time::Instant::now() < deadline, "daemon did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!pidfile.exists(), "pidfile removed at exit");
    std::fs::remove_dir_all(&dir).ok();
}

/// A port nothing listens on now (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn config_file_and_flag_override() {
    let dir = std::env::temp_dir().join(format!("shoal-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shoal.conf");
    std::fs::write(
        &path,
        "# test config\nport 1\nbind 127.0.0.1\ndatabases 3\nmaxclients 77\nsave \"\"\n",
    )
    .unwrap();
    let s = ServerProcess::start_raw(
        BIN,
        &[
            path.to_str().unwrap(),
            "--ephemeral-ports",
            "port",
            "--shards",
            "16",
        ],
    );
    let mut c = conn(&s);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "databases"]),
        vec!["databases", "3"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxclients"]),
        vec!["maxclients", "77"]
    );
    assert_eq!(e(&mut c, &["SELECT", "3"]), "ERR DB index is out of range");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sigterm_and_shutdown_exit_cleanly() {
    let mut s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    s.signal(15);
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");

    let mut s = server(&[]);
    let mut raw = RawConn::connect(s.addr);
    raw.send(b"SHUTDOWN NOSAVE\r\n");
    assert!(raw.is_closed());
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("exits after SHUTDOWN");
    assert!(status.success(), "{status:?}");
    assert!(s.log().iter().any(|l| l.contains("ready to exit")));
}

#[test]
fn threads_one_serves_many_clients() {
    let s = ServerProcess::start(BIN, &["--threads", "1"]);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let url = s.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                for j in 0..200 {
                    let _: () = redis::cmd("SET")
                        .arg(format!("k{i}:{j}"))
                        .arg(j)
                        .query(&mut c)
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut c = conn(&s);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1600);
}

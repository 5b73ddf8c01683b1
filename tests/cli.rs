//! The binary's command line, config file and shutdown paths.
mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn run_fail(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("run");
    assert_eq!(out.status.code(), Some(1), "{args:?} must exit 1");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error, got {err:?}"
    );
    err
}

#[test]
fn bad_options_are_one_line_errors_with_exit_1() {
    assert!(run_fail(&["--port", "70000"]).contains("70000"));
    assert!(run_fail(&["--appendonly", "maybe"]).contains("maybe"));
    assert!(run_fail(&["--no-such-option", "1"]).contains("no-such-option"));
    assert!(run_fail(&["--shards", "100"]).contains("power of two"));
    assert!(run_fail(&["--proto-max-bulk-len", "1.5gb"]).contains("1.5gb"));
    assert!(run_fail(&["/nonexistent/shoal.conf"]).contains("/nonexistent/shoal.conf"));
    assert!(run_fail(&["--bind", "not-an-ip", "--port", "0"]).contains("not-an-ip"));
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
        &[path.to_str().unwrap(), "--port", "0", "--shards", "16"],
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

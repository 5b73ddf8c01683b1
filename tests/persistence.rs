//! RDB persistence against the real binary: SAVE / BGSAVE / save points / SHUTDOWN, a restart
//! with every type and TTLs, files exchanged with a real redis-server 7.0.15 both ways (skipped
//! with a message when none is installed), a crash mid-save, corrupt files, -LOADING, and
//! `redis-cli --rdb`.

mod common;
use common::redis_server::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A fresh directory of this test's own.
fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("shoal-persist-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A shoal server keeping its RDB file in `dir`.
fn shoal_in(dir: &Path, extra: &[&str]) -> ServerProcess {
    let d = s(dir);
    let mut args = vec!["--dir", &d];
    args.extend_from_slice(extra);
    server(&args)
}

/// A connection once the server has loaded its file.
fn loaded(srv: &ServerProcess) -> redis::Connection {
    let mut c = conn(srv);
    assert!(
        wait_until(Duration::from_secs(20), || info_field(
            &mut c,
            "persistence",
            "loading"
        ) == "0"),
        "the file never finished loading"
    );
    c
}

/// Data of every type and encoding, in several databases, with TTLs and a function library.
fn fill(c: &mut redis::Connection) {
    fill_every_type(c, fill_streams);
}

/// Streams over several nodes with deleted entries and trimmed history, consumer groups with
/// pending entries (one of them deleted since), consumers with and without any, an empty stream
/// with a group, and one whose history was all deleted.
fn fill_streams(c: &mut redis::Connection) {
    let mut pipe = redis::pipe();
    for i in 1..=260u64 {
        let (ms, seq) = (1_000 + i / 3, i % 3);
        let id = format!("{ms}-{seq}");
        let mut cmd = redis::cmd("XADD");
        cmd.arg("stream").arg(&id);
        match i % 5 {
            0 => cmd
                .arg("other")
                .arg(i)
                .arg("x")
                .arg("y".repeat(i as usize % 90)),
            _ => cmd.arg("f").arg(format!("v{i}")).arg("n").arg(i * 1000),
        };
        pipe.add_command(cmd).ignore();
    }
    let _: () = pipe.query(c).unwrap();
    // Trimmed history (exactly: part of a node goes too), then deletions.
    let _: i64 = q(c, &["XTRIM", "stream", "MAXLEN", "230"]);
    let _: i64 = q(c, &["XDEL", "stream", "1040-1", "1050-0", "1070-2"]);
    ok(c, &["XGROUP", "CREATE", "stream", "g1", "0"]);
    ok(c, &["XGROUP", "CREATE", "stream", "g2", "1060-0"]);
    ok(c, &["XGROUP", "CREATE", "stream", "later", "$"]);
    let _: redis::Value = q(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "5",
            "STREAMS",
            "stream",
            ">",
        ],
    );
    let _: redis::Value = q(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "3",
            "STREAMS",
            "stream",
            ">",
        ],
    );
    let _: redis::Value = q(
        c,
        &[
            "XREADGROUP",
            "GROUP",
            "g2",
            "carol",
            "COUNT",
            "2",
            "STREAMS",
            "stream",
            ">",
        ],
    );
    let first: Vec<Vec<String>> = q(c, &["XPENDING", "stream", "g1", "-", "+", "10"]);
    let _: i64 = q(c, &["XACK", "stream", "g1", &first[0][0]]);
    let _: redis::Value = q(c, &["XCLAIM", "stream", "g1", "bob", "0", &first[1][0]]);
    // A pending entry deleted afterwards.
    let _: i64 = q(c, &["XDEL", "stream", &first[2][0]]);
    let _: i64 = q(c, &["XGROUP", "CREATECONSUMER", "stream", "g1", "idle"]);
    ok(
        c,
        &["XGROUP", "CREATE", "emptystream", "g", "$", "MKSTREAM"],
    );
    let _: String = q(c, &["XADD", "gone", "5-5", "a", "b"]);
    let _: i64 = q(c, &["XDEL", "gone", "5-5"]);
}

fn function_names(c: &mut redis::Connection) -> String {
    format!("{:?}", v(c, &["FUNCTION", "LIST"]))
}

#[test]
fn restart_keeps_every_type_ttls_and_functions() {
    let dir = tmpdir("restart");
    let want;
    {
        let srv = shoal_in(&dir, &[]);
        let mut c = conn(&srv);
        fill(&mut c);
        want = dataset(&mut c);
        assert!(info_field(&mut c, "persistence", "rdb_changes_since_last_save") != "0");
        let before: i64 = q(&mut c, &["LASTSAVE"]);
        ok(&mut c, &["SAVE"]);
        assert!(q::<i64>(&mut c, &["LASTSAVE"]) >= before);
        assert_eq!(
            info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
            "0"
        );
        assert_eq!(
            info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
            "ok"
        );
        // Only the final file is left (the temp file was renamed).
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["dump.rdb"]);
    }
    let srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    assert_same(&want, &dataset(&mut c));
    let pttl: i64 = q(&mut c, &["PTTL", "ttl"]);
    assert!(pttl > 99_000_000 && pttl <= 100_000_000, "{pttl}");
    assert_eq!(q::<i64>(&mut c, &["FCALL", "myfunc", "0"]), 42);
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_load_keys_loaded"),
        want.len().to_string()
    );
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "int"]), "int");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dbfilename_rdbcompression_and_rdbchecksum_are_honoured() {
    let dir = tmpdir("names");
    let srv = shoal_in(
        &dir,
        &["--rdbchecksum", "no", "--enable-protected-configs", "yes"],
    );
    let mut c = conn(&srv);
    ok(&mut c, &["SET", "k", &"z".repeat(1000)]);
    ok(&mut c, &["CONFIG", "SET", "dbfilename", "other.rdb"]);
    ok(&mut c, &["CONFIG", "SET", "rdbcompression", "no"]);
    ok(&mut c, &["SAVE"]);
    let plain = std::fs::read(dir.join("other.rdb")).unwrap();
    assert_eq!(&plain[..9], b"REDIS0010");
    assert_eq!(
        &plain[plain.len() - 8..],
        &[0; 8],
        "rdbchecksum no writes 0"
    );
    assert!(plain.len() > 1000);
    ok(&mut c, &["CONFIG", "SET", "rdbcompression", "yes"]);
    ok(&mut c, &["SAVE"]);
    let packed = std::fs::read(dir.join("other.rdb")).unwrap();
    assert!(packed.len() < 200, "LZF left {} bytes", packed.len());
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "dbfilename", "a/b.rdb"]),
        "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename"
    );
    assert!(e(&mut c, &["CONFIG", "SET", "appendonly", "yes"]).contains("not supported"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_info_and_errors() {
    let dir = tmpdir("bgsave");
    let srv = shoal_in(&dir, &[]);
    let mut c = conn(&srv);
    for i in 0..1000 {
        ok(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
        "1000"
    );
    assert_eq!(
        q::<String>(&mut c, &["BGSAVE"]),
        "Background saving started"
    );
    assert!(wait_until(Duration::from_secs(10), || {
        info_field(&mut c, "persistence", "rdb_bgsave_in_progress") == "0"
            && info_field(&mut c, "persistence", "rdb_saves") == "1"
    }));
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
        "ok"
    );
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
        "0"
    );
    assert!(dir.join("dump.rdb").exists());
    assert_eq!(e(&mut c, &["BGSAVE", "NOW"]), "ERR syntax error");
    assert_eq!(
        e(&mut c, &["SAVE", "x"]),
        "ERR wrong number of arguments for 'save' command"
    );
    // Inside MULTI, BGSAVE is scheduled and runs after.
    ok(&mut c, &["MULTI"]);
    let _: String = q(&mut c, &["BGSAVE"]);
    let r: Vec<String> = q(&mut c, &["EXEC"]);
    assert_eq!(r, vec!["Background saving scheduled"]);
    assert!(wait_until(Duration::from_secs(10), || info_field(
        &mut c,
        "persistence",
        "rdb_saves"
    ) == "2"));
    // A slow save: a second BGSAVE or a SAVE meanwhile is refused.
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "2000"]);
    assert_eq!(
        q::<String>(&mut c, &["BGSAVE", "SCHEDULE"]),
        "Background saving started"
    );
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_bgsave_in_progress"),
        "1"
    );
    assert_eq!(
        e(&mut c, &["BGSAVE"]),
        "ERR Background save already in progress"
    );
    assert_eq!(
        e(&mut c, &["SAVE"]),
        "ERR Background save already in progress"
    );
    // The server keeps serving meanwhile.
    ok(&mut c, &["SET", "during", "1"]);
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert!(wait_until(Duration::from_secs(20), || info_field(
        &mut c,
        "persistence",
        "rdb_bgsave_in_progress"
    ) == "0"));
    // A directory that cannot be written: the save fails and says so.
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(e(&mut c, &["SAVE"]), "ERR");
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
        "err"
    );
    // No save points: writes go on. With them, stop-writes-on-bgsave-error refuses writes
    // (and PING) until a save succeeds.
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["CONFIG", "SET", "save", "3600 1"]);
    let misconf = e(&mut c, &["SET", "a", "2"]);
    assert!(
        misconf.starts_with("MISCONF Redis is configured to save RDB snapshots"),
        "{misconf}"
    );
    assert!(e(&mut c, &["PING"]).starts_with("MISCONF"));
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    ok(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
    );
    ok(&mut c, &["SET", "a", "3"]);
    ok(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"],
    );
    assert!(e(&mut c, &["SET", "a", "4"]).starts_with("MISCONF"));
    std::fs::create_dir_all(&dir).unwrap();
    ok(&mut c, &["SAVE"]);
    ok(&mut c, &["SET", "a", "5"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_points_start_a_background_save() {
    let dir = tmpdir("points");
    let srv = shoal_in(&dir, &["--save", "1 3"]);
    let mut c = conn(&srv);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "save"]),
        vec!["save", "1 3"]
    );
    ok(&mut c, &["SET", "a", "1"]);
    std::thread::sleep(Duration::from_millis(2500));
    assert!(!dir.join("dump.rdb").exists(), "saved before 3 changes");
    ok(&mut c, &["SET", "b", "1"]);
    ok(&mut c, &["SET", "c", "1"]);
    assert!(
        wait_until(Duration::from_secs(5), || dir.join("dump.rdb").exists()),
        "the save point never fired"
    );
    ok(&mut c, &["CONFIG", "SET", "save", ""]);
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "save", "100"]),
        "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_saves_unless_nosave_and_sigterm_saves_with_save_points() {
    let dir = tmpdir("shutdown");
    // Save points configured: a plain SHUTDOWN saves.
    let mut srv = shoal_in(&dir, &["--save", "3600 1"]);
    let mut c = loaded(&srv);
    ok(&mut c, &["SET", "first", "1"]);
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut c);
    assert!(srv.wait_exit(Duration::from_secs(10)).is_some());
    // SHUTDOWN NOSAVE does not.
    let mut srv = shoal_in(&dir, &["--save", "3600 1"]);
    let mut c = loaded(&srv);
    assert_eq!(q::<String>(&mut c, &["GET", "first"]), "1");
    ok(&mut c, &["SET", "second", "1"]);
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
    assert!(srv.wait_exit(Duration::from_secs(10)).is_some());
    // No save points: SHUTDOWN SAVE still saves.
    let mut srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "second"]), None);
    ok(&mut c, &["SET", "third", "1"]);
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut c);
    assert!(srv.wait_exit(Duration::from_secs(10)).is_some());
    // SIGTERM with save points saves too.
    let mut srv = shoal_in(&dir, &["--save", "3600 1"]);
    let mut c = loaded(&srv);
    assert_eq!(q::<String>(&mut c, &["GET", "third"]), "1");
    ok(&mut c, &["SET", "fourth", "1"]);
    srv.signal(15);
    assert!(srv.wait_exit(Duration::from_secs(10)).is_some());
    let srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    assert_eq!(q::<String>(&mut c, &["GET", "fourth"]), "1");
    assert_eq!(
        e(&mut c, &["SHUTDOWN", "SAVE", "NOSAVE"]),
        "ERR syntax error"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_refuses_to_exit_when_its_save_fails_unless_forced() {
    let dir = tmpdir("shutdown-fail");
    let mut srv = shoal_in(&dir, &["--save", "3600 1"]);
    let mut c = conn(&srv);
    ok(&mut c, &["SET", "k", "1"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        e(&mut c, &["SHUTDOWN"]),
        "ERR Errors trying to SHUTDOWN. Check logs."
    );
    assert!(srv.alive());
    // Still serving (writes and PING refused: the save failed and save points exist).
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "1");
    assert!(e(&mut c, &["PING"]).starts_with("MISCONF"));
    let _ = redis::cmd("SHUTDOWN").arg("FORCE").query::<()>(&mut c);
    assert!(srv.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn kill_9_during_bgsave_leaves_the_previous_dump() {
    let dir = tmpdir("kill9");
    let srv = shoal_in(&dir, &[]);
    let mut c = conn(&srv);
    ok(&mut c, &["SET", "old", "1"]);
    ok(&mut c, &["SAVE"]);
    let before = std::fs::read(dir.join("dump.rdb")).unwrap();
    for i in 0..200 {
        ok(&mut c, &["SET", &format!("new{i}"), "v"]);
    }
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "50000"]);
    assert_eq!(
        q::<String>(&mut c, &["BGSAVE"]),
        "Background saving started"
    );
    let temp_seen = wait_until(Duration::from_secs(10), || {
        std::fs::read_dir(&dir).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("temp-")
        })
    });
    assert!(temp_seen, "no temp file appeared");
    srv.signal(9);
    drop(srv);
    assert_eq!(std::fs::read(dir.join("dump.rdb")).unwrap(), before);
    let srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A BGSAVE and a replica's full sync share the snapshot: they take turns, and both end
/// complete.
#[test]
fn bgsave_and_a_full_sync_take_turns() {
    let dir = tmpdir("turns");
    let p = shoal_in(&dir, &[]);
    let mut pc = conn(&p);
    for i in 0..100 {
        ok(&mut pc, &["SET", &format!("k{i}"), "v"]);
    }
    // 20 ms a key: two seconds of saving.
    ok(&mut pc, &["CONFIG", "SET", "rdb-key-save-delay", "20000"]);
    assert_eq!(
        q::<String>(&mut pc, &["BGSAVE"]),
        "Background saving started"
    );
    let port = p.port().to_string();
    let r = server(&["--replicaof", "127.0.0.1", &port]);
    let mut rc = conn(&r);
    ok(&mut pc, &["SET", "during", "1"]);
    assert!(
        wait_until(Duration::from_secs(20), || info_field(
            &mut rc,
            "replication",
            "master_link_status"
        ) == "up"),
        "the replica never synced"
    );
    assert!(wait_until(Duration::from_secs(10), || q::<i64>(
        &mut rc,
        &["DBSIZE"]
    ) == 101));
    assert!(wait_until(Duration::from_secs(20), || info_field(
        &mut pc,
        "persistence",
        "rdb_bgsave_in_progress"
    ) == "0"));
    assert_eq!(
        info_field(&mut pc, "persistence", "rdb_last_bgsave_status"),
        "ok"
    );
    // The file holds the keyspace as the save began: without the later write.
    drop(p);
    let p = shoal_in(&dir, &[]);
    let mut pc = loaded(&p);
    assert_eq!(q::<i64>(&mut pc, &["DBSIZE"]), 100);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts shoal on a directory holding `file` as dump.rdb: it must exit non-zero, logging
/// an error that contains `want`. Returns its log.
fn refused(dir: &Path, file: &[u8], want: &str) -> String {
    std::fs::write(dir.join("dump.rdb"), file).unwrap();
    let mut srv = shoal_in(dir, &[]);
    let status = srv.wait_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| !s.success()),
        "the server started on a bad file ({want})"
    );
    // The log readers may trail the exit a little.
    wait_until(Duration::from_secs(5), || {
        srv.log().join("\n").contains(want)
    });
    let log = srv.log().join("\n");
    assert!(log.contains(want), "log lacks {want:?}: {log}");
    log
}

#[test]
fn corrupt_or_truncated_files_are_refused_with_their_offset() {
    let dir = tmpdir("corrupt");
    let good = {
        let srv = shoal_in(&dir, &[]);
        let mut c = conn(&srv);
        fill(&mut c);
        ok(&mut c, &["SAVE"]);
        std::fs::read(dir.join("dump.rdb")).unwrap()
    };
    let cut = good.len() / 2;
    refused(&dir, &good[..cut], "unexpected end of file");
    let log = refused(&dir, &good[..cut], "Bad RDB file at offset ");
    let offset: usize = log
        .split("Bad RDB file at offset ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(offset > 9 && offset <= cut, "offset {offset}, cut at {cut}");
    let mut flipped = good.clone();
    flipped[good.len() - 3] ^= 0xff;
    refused(
        &dir,
        &flipped,
        &format!(
            "Bad RDB file at offset {}: Wrong RDB checksum",
            good.len() - 8
        ),
    );
    refused(&dir, b"NOTREDIS", "Wrong signature");
    // The good file still loads.
    std::fs::write(dir.join("dump.rdb"), &good).unwrap();
    let srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    assert_eq!(q::<String>(&mut c, &["GET", "str"]), "hello");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn commands_get_loading_while_the_file_loads() {
    let dir = tmpdir("loading");
    {
        let srv = shoal_in(&dir, &[]);
        let mut c = conn(&srv);
        for i in 0..30 {
            ok(&mut c, &["SET", &format!("k{i}"), "v"]);
        }
        ok(&mut c, &["SAVE"]);
    }
    // 100 ms a key: three seconds of loading.
    let srv = shoal_in(&dir, &["--key-load-delay", "100000"]);
    let mut c = conn(&srv);
    assert_eq!(
        e(&mut c, &["GET", "k1"]),
        "LOADING Redis is loading the dataset in memory"
    );
    assert_eq!(info_field(&mut c, "persistence", "loading"), "1");
    assert!(wait_until(Duration::from_secs(20), || info_field(
        &mut c,
        "persistence",
        "loading"
    ) == "0"));
    assert_eq!(q::<String>(&mut c, &["GET", "k1"]), "v");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 30);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_server_loads_shoals_file() {
    let dir = tmpdir("to-redis");
    let (want, funcs) = {
        let srv = shoal_in(&dir, &[]);
        let mut c = conn(&srv);
        fill(&mut c);
        ok(&mut c, &["SAVE"]);
        (dataset(&mut c), function_names(&mut c))
    };
    let Some(r) = redis_in(&dir, &[]) else { return };
    let mut rc = r.conn();
    assert!(wait_until(Duration::from_secs(10), || info_field(
        &mut rc,
        "persistence",
        "loading"
    ) == "0"));
    assert_same(&want, &dataset(&mut rc));
    assert_eq!(funcs, function_names(&mut rc));
    assert_eq!(q::<i64>(&mut rc, &["FCALL", "myfunc", "0"]), 42);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shoal_loads_redis_servers_file() {
    let dir = tmpdir("from-redis");
    // Compressed quicklist nodes too (list-compress-depth), as LZF blobs in the file.
    let Some(r) = redis_in(&dir, &["--list-compress-depth", "1"]) else {
        return;
    };
    let mut rc = r.conn();
    fill(&mut rc);
    ok(&mut rc, &["SAVE"]);
    let (want, funcs) = (dataset(&mut rc), function_names(&mut rc));
    drop(r);
    let srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    assert_same(&want, &dataset(&mut c));
    assert_eq!(funcs, function_names(&mut c));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_cli_rdb_gets_a_file_redis_loads() {
    if !have("redis-cli") {
        eprintln!("skipped: redis-cli is not installed (CI installs it)");
        return;
    }
    let dir = tmpdir("cli-rdb");
    let srv = shoal_in(&dir, &[]);
    let mut c = conn(&srv);
    fill(&mut c);
    let want = dataset(&mut c);
    let out_dir = dir.join("cli");
    std::fs::create_dir_all(&out_dir).unwrap();
    let file = out_dir.join("dump.rdb");
    let out = Command::new("redis-cli")
        .args(["-p", &srv.port().to_string(), "--rdb", &s(&file)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The file parses whole (checksum included) ...
    let bytes = std::fs::read(&file).unwrap();
    let mut rd = shoal_store::rdb::reader::Reader::new(&bytes).unwrap();
    let mut keys = 0;
    while let Some(item) = rd.next_item().unwrap() {
        if matches!(item, shoal_store::rdb::reader::Item::Key { .. }) {
            keys += 1;
        }
    }
    assert_eq!(keys, want.len());
    // ... and redis-server loads it.
    let Some(r) = redis_in(&out_dir, &[]) else {
        return;
    };
    let mut rc = r.conn();
    assert_same(&want, &dataset(&mut rc));
    drop(r);
    // --functions-rdb: the libraries only.
    let fdir = dir.join("functions");
    std::fs::create_dir_all(&fdir).unwrap();
    let out = Command::new("redis-cli")
        .args(["-p", &srv.port().to_string(), "--functions-rdb"])
        .arg(fdir.join("dump.rdb"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let Some(r) = redis_in(&fdir, &[]) else {
        return;
    };
    let mut rc = r.conn();
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 0);
    assert_eq!(q::<i64>(&mut rc, &["FCALL", "myfunc", "0"]), 42);
    let mut c = conn(&srv);
    assert_eq!(
        e(&mut c, &["REPLCONF", "rdb-filter-only", "keys"]),
        "ERR Unsupported rdb-filter-only option: keys"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The record of stream `key` in an uncompressed RDB file: its type byte, key and value.
fn stream_record<'a>(file: &'a [u8], key: &str) -> &'a [u8] {
    let mut head = vec![shoal_store::rdb::T_STREAM_LISTPACKS_2, key.len() as u8];
    head.extend_from_slice(key.as_bytes());
    let at = file
        .windows(head.len())
        .position(|w| w == head)
        .unwrap_or_else(|| panic!("no stream record for {key}"));
    let mut rd = shoal_store::rdb::reader::Reader::new(file).unwrap();
    while let Some(item) = rd.next_item().unwrap() {
        if let shoal_store::rdb::reader::Item::Key {
            key: k,
            value: shoal_store::Value::Stream(s),
            ..
        } = item
            && k == key.as_bytes()
        {
            let n = shoal_store::rdb::stream::saved_len(&s);
            return &file[at..at + head.len() + n];
        }
    }
    panic!("{key} is not a stream in the file");
}

#[test]
fn streams_move_both_ways_with_redis_server_byte_for_byte() {
    let dir = tmpdir("streams");
    let want = {
        let srv = shoal_in(&dir, &["--rdbcompression", "no"]);
        let mut c = conn(&srv);
        fill_streams(&mut c);
        ok(&mut c, &["SAVE"]);
        dataset(&mut c)
    };
    assert_eq!(want.len(), 3);
    let g1 = &want[&(0, "stream".to_string())];
    for part in ["alice", "bob", "idle", "g2", "carol", "later"] {
        assert!(g1.contains(part), "{part} missing: {g1}");
    }
    let ours = std::fs::read(dir.join("dump.rdb")).unwrap();
    let Some(r) = redis_in(
        &dir,
        &["--rdbcompression", "no", "--enable-debug-command", "yes"],
    ) else {
        return;
    };
    let mut rc = r.conn();
    assert_same(&want, &dataset(&mut rc));
    let key_count = |c: &mut redis::Connection| {
        let redis::Value::Array(items) = v(c, &["XINFO", "STREAM", "stream"]) else {
            panic!("XINFO STREAM is not an array");
        };
        format!("{:?}", items[3])
    };
    let redis_keys = key_count(&mut rc);
    // Redis saves the same records again (nodes as shoal laid them out) ...
    ok(&mut rc, &["SAVE"]);
    let theirs = std::fs::read(dir.join("dump.rdb")).unwrap();
    for k in ["stream", "emptystream", "gone"] {
        assert!(
            stream_record(&ours, k) == stream_record(&theirs, k),
            "{k}: the records differ"
        );
    }
    // ... and its DEBUG RELOAD keeps them.
    ok(&mut rc, &["DEBUG", "RELOAD"]);
    assert_same(&want, &dataset(&mut rc));
    drop(r);
    // Back in shoal: the same streams, in as many nodes.
    let srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    assert_same(&want, &dataset(&mut c));
    assert_eq!(key_count(&mut c), redis_keys);
    let _ = std::fs::remove_dir_all(&dir);
}

/// RESTORE of redis-server's DUMP payloads (the RDB reader reads them): streams with groups,
/// and the other types.
#[test]
fn restore_takes_redis_servers_payloads() {
    let dir = tmpdir("payloads");
    let Some(r) = redis_in(&dir, &[]) else { return };
    let mut rc = r.conn();
    fill_streams(&mut rc);
    ok(&mut rc, &["SET", "str", "hello"]);
    let _: i64 = q(&mut rc, &["HSET", "hash", "f", "v", "n", "12"]);
    let srv = shoal_in(&dir, &[]);
    let mut c = conn(&srv);
    for k in ["stream", "emptystream", "gone", "str", "hash"] {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut rc).unwrap();
        let reply: String = redis::cmd("RESTORE")
            .arg(k)
            .arg(0)
            .arg(&payload)
            .query(&mut c)
            .unwrap();
        assert_eq!(reply, "OK", "{k}");
    }
    assert_same(&dataset(&mut rc), &dataset(&mut c));
    // A payload of an RDB version shoal does not know is refused as Redis refuses it.
    let mut payload: Vec<u8> = redis::cmd("DUMP").arg("str").query(&mut rc).unwrap();
    let n = payload.len();
    payload[n - 10] = 13;
    let err = redis::cmd("RESTORE")
        .arg("other")
        .arg(0)
        .arg(&payload)
        .query::<String>(&mut c)
        .unwrap_err();
    assert_eq!(
        err.detail(),
        Some("DUMP payload version or checksum are wrong")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sets `key` to a string whose LRU idle time (`IdleSecs`) or LFU counter the server is told
/// by RESTORE ... IDLETIME n / FREQ n.
fn restore_with(c: &mut redis::Connection, key: &str, opt: &str, n: u64) {
    ok(c, &["SET", "__tmp", "payload"]);
    let payload: Vec<u8> = redis::cmd("DUMP").arg("__tmp").query(c).unwrap();
    assert_eq!(q::<i64>(c, &["DEL", "__tmp"]), 1);
    let r: String = redis::cmd("RESTORE")
        .arg(key)
        .arg(0)
        .arg(payload)
        .arg(opt)
        .arg(n)
        .query(c)
        .unwrap();
    assert_eq!(r, "OK");
}

/// The IDLE / FREQ the file gives each key.
fn usages(file: &Path) -> std::collections::BTreeMap<Vec<u8>, shoal_store::rdb::writer::Usage> {
    let bytes = std::fs::read(file).unwrap();
    let mut rd = shoal_store::rdb::reader::Reader::new(&bytes).unwrap();
    let mut out = std::collections::BTreeMap::new();
    while let Some(item) = rd.next_item().unwrap() {
        if let shoal_store::rdb::reader::Item::Key { key, usage, .. } = item {
            out.insert(key, usage);
        }
    }
    out
}

fn near(got: i64, want: i64) -> bool {
    (want..=want + 5).contains(&got)
}

#[test]
fn lru_idle_times_survive_a_restart_and_move_both_ways_with_redis_server() {
    use shoal_store::rdb::writer::Usage;
    let dir = tmpdir("lru");
    let lru = ["--maxmemory-policy", "allkeys-lru"];
    {
        let srv = shoal_in(&dir, &lru);
        let mut c = conn(&srv);
        restore_with(&mut c, "old", "IDLETIME", 5000);
        ok(&mut c, &["SET", "new", "v"]);
        assert!(near(q(&mut c, &["OBJECT", "IDLETIME", "old"]), 5000));
        // Both options at once: a syntax error, as Redis.
        ok(&mut c, &["SET", "__tmp", "x"]);
        let payload: Vec<u8> = redis::cmd("DUMP").arg("__tmp").query(&mut c).unwrap();
        let err = redis::cmd("RESTORE")
            .arg("both")
            .arg(0)
            .arg(payload)
            .arg("IDLETIME")
            .arg(1)
            .arg("FREQ")
            .arg(1)
            .query::<String>(&mut c)
            .unwrap_err();
        assert_eq!(err.detail(), Some("syntax error"), "{err:?}");
        assert_eq!(q::<i64>(&mut c, &["DEL", "__tmp"]), 1);
        ok(&mut c, &["SAVE"]);
    }
    // The file has Redis's IDLE opcode before each key.
    let u = usages(&dir.join("dump.rdb"));
    assert!(matches!(u[&b"old"[..]], Usage::IdleSecs(n) if (5000..5005).contains(&n)));
    assert!(matches!(u[&b"new"[..]], Usage::IdleSecs(n) if n < 5));
    // A warm restart keeps the eviction order.
    {
        let srv = shoal_in(&dir, &lru);
        let mut c = loaded(&srv);
        assert!(near(q(&mut c, &["OBJECT", "IDLETIME", "old"]), 5000));
        assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "new"]) < 5);
    }
    // redis-server reads the same idle times from shoal's file.
    let Some(r) = redis_in(&dir, &lru) else {
        return;
    };
    let mut rc = r.conn();
    assert!(wait_until(Duration::from_secs(10), || info_field(
        &mut rc,
        "persistence",
        "loading"
    ) == "0"));
    assert!(near(q(&mut rc, &["OBJECT", "IDLETIME", "old"]), 5000));
    assert!(q::<i64>(&mut rc, &["OBJECT", "IDLETIME", "new"]) < 5);
    // And shoal reads redis-server's.
    restore_with(&mut rc, "older", "IDLETIME", 90_000);
    ok(&mut rc, &["SAVE"]);
    drop(r);
    let srv = shoal_in(&dir, &lru);
    let mut c = loaded(&srv);
    assert!(near(q(&mut c, &["OBJECT", "IDLETIME", "older"]), 90_000));
    assert!(near(q(&mut c, &["OBJECT", "IDLETIME", "old"]), 5000));
    // Without an LRU policy nothing is written (as Redis), but an idle time read still counts.
    ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    ok(&mut c, &["SAVE"]);
    assert!(
        usages(&dir.join("dump.rdb"))
            .values()
            .all(|u| *u == Usage::None)
    );
    drop(c);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lfu_counters_survive_a_restart_and_move_both_ways_with_redis_server() {
    use shoal_store::rdb::writer::Usage;
    let dir = tmpdir("lfu");
    let lfu = ["--maxmemory-policy", "allkeys-lfu"];
    {
        let srv = shoal_in(&dir, &lfu);
        let mut c = conn(&srv);
        restore_with(&mut c, "hot", "FREQ", 200);
        ok(&mut c, &["SET", "cold", "v"]);
        assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "hot"]), 200);
        // Out of range: Redis's error.
        assert_eq!(
            e(&mut c, &["RESTORE", "x", "0", "p", "FREQ", "256"]),
            "ERR Invalid FREQ value, must be >= 0 and <= 255"
        );
        ok(&mut c, &["SAVE"]);
    }
    let u = usages(&dir.join("dump.rdb"));
    assert_eq!(u[&b"hot"[..]], Usage::Freq(200));
    // A new key starts at LFU_INIT_VAL (5), as Redis's.
    assert_eq!(u[&b"cold"[..]], Usage::Freq(5));
    {
        let srv = shoal_in(&dir, &lfu);
        let mut c = loaded(&srv);
        assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "hot"]), 200);
        assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "cold"]), 5);
    }
    let Some(r) = redis_in(&dir, &lfu) else {
        return;
    };
    let mut rc = r.conn();
    assert!(wait_until(Duration::from_secs(10), || info_field(
        &mut rc,
        "persistence",
        "loading"
    ) == "0"));
    assert_eq!(q::<i64>(&mut rc, &["OBJECT", "FREQ", "hot"]), 200);
    restore_with(&mut rc, "warm", "FREQ", 77);
    ok(&mut rc, &["SAVE"]);
    drop(r);
    let srv = shoal_in(&dir, &lfu);
    let mut c = loaded(&srv);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "warm"]), 77);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "FREQ", "hot"]), 200);
    drop(c);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

fn config_get(c: &mut redis::Connection, name: &str) -> String {
    let v: Vec<String> = q(c, &["CONFIG", "GET", name]);
    v.get(1).cloned().unwrap_or_default()
}

#[test]
fn config_set_dir_moves_where_saves_go() {
    let root = tmpdir("dir");
    let (a, b) = (root.join("a"), root.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(b.join("sub")).unwrap();
    std::fs::write(root.join("plain"), b"x").unwrap();
    let a_abs = std::fs::canonicalize(&a).unwrap();
    let b_abs = std::fs::canonicalize(&b).unwrap();
    {
        // Protected by default, as Redis 7.0's.
        let srv = shoal_in(&a, &[]);
        let mut c = conn(&srv);
        assert_eq!(
            e(&mut c, &["CONFIG", "SET", "dir", &s(&b)]),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
        // CONFIG GET shows the absolute path (Redis shows getcwd()).
        assert_eq!(config_get(&mut c, "dir"), s(&a_abs));
    }
    let srv = shoal_in(&a, &["--enable-protected-configs", "yes"]);
    let mut c = conn(&srv);
    ok(&mut c, &["SET", "k", "v"]);
    ok(&mut c, &["SAVE"]);
    assert!(a.join("dump.rdb").exists());
    // A directory that does not exist, or a file: chdir's reasons, and nothing changes.
    let missing = root.join("missing");
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "dir", &s(&missing)]),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
    );
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "dir", &s(&root.join("plain"))]),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - Not a directory"
    );
    assert_eq!(config_get(&mut c, "dir"), s(&a_abs));
    // SAVE and BGSAVE write into the new one.
    ok(&mut c, &["CONFIG", "SET", "dir", &s(&b)]);
    assert_eq!(config_get(&mut c, "dir"), s(&b_abs));
    ok(&mut c, &["SET", "k2", "v2"]);
    ok(&mut c, &["SAVE"]);
    assert!(b.join("dump.rdb").exists());
    // A relative dir is taken from the present one (as chdir).
    ok(&mut c, &["CONFIG", "SET", "dir", "sub"]);
    assert_eq!(config_get(&mut c, "dir"), s(&b_abs.join("sub")));
    assert_eq!(
        q::<String>(&mut c, &["BGSAVE"]),
        "Background saving started"
    );
    assert!(wait_until(Duration::from_secs(10), || b
        .join("sub/dump.rdb")
        .exists()
        && info_field(&mut c, "persistence", "rdb_bgsave_in_progress")
            == "0"));
    ok(&mut c, &["CONFIG", "SET", "dir", ".."]);
    assert_eq!(config_get(&mut c, "dir"), s(&b_abs));
    drop(c);
    drop(srv);
    // A restart in the new directory loads what was saved there.
    let srv = shoal_in(&b, &[]);
    let mut c = loaded(&srv);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    drop(c);
    drop(srv);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn flushall_with_save_points_saves_the_emptied_dataset() {
    let dir = tmpdir("flushall");
    let file = dir.join("dump.rdb");
    {
        let srv = shoal_in(&dir, &["--save", ""]);
        let mut c = conn(&srv);
        ok(&mut c, &["SET", "key", "value"]);
        ok(&mut c, &["FLUSHALL"]);
        // No save points: nothing saved, the dirty counter goes on (Redis's "FLUSHALL should
        // not reset the dirty counter if we disable save").
        assert!(!file.exists());
        assert_eq!(
            info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
            "2"
        );
        ok(
            &mut c,
            &["CONFIG", "SET", "save", "3600 1 300 100 60 10000"],
        );
        let _: String = redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg(LIB)
            .query(&mut c)
            .unwrap();
        ok(&mut c, &["SET", "key", "value"]);
        ok(&mut c, &["SAVE"]);
        ok(&mut c, &["SET", "key2", "value"]);
        ok(&mut c, &["FLUSHALL"]);
        assert_eq!(
            info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
            "0"
        );
        assert_eq!(
            info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
            "ok"
        );
        // A background save running when FLUSHALL comes is dropped, not renamed over the
        // emptied dataset's file (Redis kills its child).
        for i in 0..50 {
            ok(&mut c, &["SET", &format!("k{i}"), "v"]);
        }
        ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "20000"]);
        assert_eq!(
            q::<String>(&mut c, &["BGSAVE"]),
            "Background saving started"
        );
        // Let its snapshot start (with the 50 keys: a second of saving).
        std::thread::sleep(Duration::from_millis(200));
        ok(&mut c, &["FLUSHALL"]);
        assert!(wait_until(Duration::from_secs(20), || info_field(
            &mut c,
            "persistence",
            "rdb_bgsave_in_progress"
        ) == "0"));
        assert_eq!(
            info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
            "ok"
        );
        assert_eq!(
            info_field(&mut c, "persistence", "rdb_changes_since_last_save"),
            "0"
        );
        assert!(usages(&file).is_empty(), "the dropped save landed");
        ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    }
    // The file holds the emptied dataset and the functions (FLUSHALL keeps them).
    let srv = shoal_in(&dir, &["--save", ""]);
    let mut c = loaded(&srv);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(q::<i64>(&mut c, &["FCALL", "myfunc", "0"]), 42);
    drop(c);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_log_says_ready_after_the_dataset_is_loaded_as_redis() {
    let dir = tmpdir("logorder");
    {
        let srv = shoal_in(&dir, &[]);
        let mut c = conn(&srv);
        ok(&mut c, &["SET", "k", "v"]);
        ok(&mut c, &["SAVE"]);
    }
    let log = dir.join("shoal.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_shoal-server"))
        .args(["--ephemeral-ports", "port", "--bind", "127.0.0.1", "--dir"])
        .arg(&dir)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    let ready = wait_until(Duration::from_secs(20), || {
        text()
            .lines()
            .any(|l| l.ends_with("Ready to accept connections"))
    });
    let _ = child.kill();
    let _ = child.wait();
    let t = text();
    assert!(ready, "{t}");
    let at = |what: &str| {
        t.lines()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} in {t}"))
    };
    let last = t
        .lines()
        .position(|l| l.ends_with("Ready to accept connections"))
        .unwrap();
    // The port is still given at bind time (scripts and the testkit read it there) ...
    assert!(at("Ready to accept connections tcp addr=127.0.0.1:") < at("Server initialized"));
    // ... and Redis's order follows: loaded, then ready.
    assert!(at("Server initialized") < at("Done loading RDB, keys loaded: 1, keys expired: 0."));
    assert!(at("Done loading RDB") < at("DB loaded from disk: "));
    assert!(at("DB loaded from disk: ") < last);
    let _ = std::fs::remove_dir_all(&dir);
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load back, as Redis 7.0; a load that
/// fails says so and leaves what was there.
#[test]
fn debug_reload_saves_flushes_and_loads_back() {
    let dir = tmpdir("debug-reload");
    let srv = shoal_in(&dir, &["--enable-debug-command", "yes"]);
    let mut c = loaded(&srv);
    ok(&mut c, &["SET", "a", "1"]);
    let _: i64 = q(&mut c, &["HSET", "h", "f", "v"]);
    let _: String = q(&mut c, &["FUNCTION", "LOAD", LIB]);
    ok(&mut c, &["DEBUG", "RELOAD"]);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "f"]), "v");
    assert_eq!(q::<i64>(&mut c, &["FCALL", "myfunc", "0"]), 42);
    // NOSAVE: what was written since the last save is gone.
    ok(&mut c, &["SET", "b", "2"]);
    ok(&mut c, &["DEBUG", "RELOAD", "NOSAVE"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "b"]), 1);
    // NOFLUSH MERGE: the file's keys join what is there.
    ok(&mut c, &["SET", "c", "3"]);
    ok(&mut c, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "c", "h"]), 3);
    // NOFLUSH without MERGE meets keys it already has: an error, the keys stay.
    assert_eq!(
        e(&mut c, &["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"]),
        "ERR Error trying to load the RDB dump, check server logs."
    );
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "1");
    assert_eq!(q::<String>(&mut c, &["GET", "c"]), "3");
    assert_eq!(
        e(&mut c, &["DEBUG", "RELOAD", "LATER"]),
        "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// DEBUG DIGEST and DIGEST-VALUE are Redis's (debug.c) value for value: the same data in shoal
/// and in redis-server digests alike (Redis's suite compares primaries and replicas with it).
#[test]
fn debug_digest_is_redis_servers() {
    let Some(r) = start_redis("digest", &["--enable-debug-command", "yes"]) else {
        return;
    };
    let srv = server(&["--enable-debug-command", "yes"]);
    let mut sc = conn(&srv);
    let mut rc = r.conn();
    let digest = |c: &mut redis::Connection| -> String { q(c, &["DEBUG", "DIGEST"]) };
    assert_eq!(digest(&mut sc), "0".repeat(40));
    assert_eq!(digest(&mut sc), digest(&mut rc));
    fill(&mut sc);
    fill(&mut rc);
    assert_ne!(digest(&mut sc), "0".repeat(40));
    assert_eq!(digest(&mut sc), digest(&mut rc));
    for db in 0..16 {
        let sel = db.to_string();
        ok(&mut sc, &["SELECT", &sel]);
        ok(&mut rc, &["SELECT", &sel]);
        let mut keys: Vec<String> = q(&mut sc, &["KEYS", "*"]);
        keys.sort();
        keys.push("no-such-key".into());
        let mut args = vec!["DEBUG", "DIGEST-VALUE"];
        args.extend(keys.iter().map(String::as_str));
        let mine: Vec<String> = q(&mut sc, &args);
        let theirs: Vec<String> = q(&mut rc, &args);
        assert_eq!(mine, theirs, "db {db}: {keys:?}");
        assert_eq!(mine.last().unwrap(), &"0".repeat(40));
    }
    // A change anywhere changes the digest; the same data in another database differs.
    let before = digest(&mut sc);
    let _: i64 = q(&mut sc, &["HSET", "hash", "f1", "changed"]);
    assert_ne!(digest(&mut sc), before);
    assert!(q::<Vec<String>>(&mut sc, &["DEBUG", "DIGEST-VALUE"]).is_empty());
    assert_eq!(
        e(&mut sc, &["DEBUG", "DIGEST", "extra"]),
        "ERR unknown subcommand or wrong number of arguments for 'DIGEST'. Try DEBUG HELP."
    );
}

/// The seen and active times of every consumer of `s`'s group `g`, from XINFO STREAM FULL.
fn consumer_times(c: &mut redis::Connection) -> Vec<(i64, i64)> {
    let full: Vec<redis::Value> = q(c, &["XINFO", "STREAM", "s", "FULL"]);
    let at = |kv: &[redis::Value], label: &str| -> redis::Value {
        kv.chunks(2)
            .find(|p| p[0] == redis::Value::BulkString(label.as_bytes().to_vec()))
            .map(|p| p[1].clone())
            .unwrap_or_else(|| panic!("no {label}"))
    };
    let redis::Value::Array(groups) = at(&full, "groups") else {
        panic!("no groups")
    };
    let redis::Value::Array(g) = &groups[0] else {
        panic!("not a group")
    };
    let redis::Value::Array(cs) = at(g, "consumers") else {
        panic!("no consumers")
    };
    cs.iter()
        .map(|one| {
            let redis::Value::Array(kv) = one else {
                panic!("not a consumer")
            };
            match (at(kv, "seen-time"), at(kv, "active-time")) {
                (redis::Value::Int(s), redis::Value::Int(a)) => (s, a),
                o => panic!("{o:?}"),
            }
        })
        .collect()
}

/// An RDB file keeps the consumers' seen times but, being of Redis 7.0's stream type (so that
/// redis-server 7.0 loads it), not their active times: loaded, a consumer's active time is its
/// seen time, as Redis 7.2 loads a 7.0 file.
#[test]
fn rdb_reload_takes_the_seen_time_as_the_active_time() {
    let dir = tmpdir("active-time");
    let srv = shoal_in(&dir, &["--enable-debug-command", "yes"]);
    let mut c = loaded(&srv);
    let _: String = q(&mut c, &["XADD", "s", "1-0", "f", "v"]);
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: redis::Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"],
    );
    std::thread::sleep(Duration::from_millis(20));
    let _: redis::Value = q(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"],
    );
    let _: i64 = q(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "b"]);
    let before = consumer_times(&mut c);
    assert!(before[0].1 > 0 && before[0].0 > before[0].1, "{before:?}");
    assert_eq!(before[1].1, -1);
    ok(&mut c, &["DEBUG", "RELOAD"]);
    let after = consumer_times(&mut c);
    let want: Vec<(i64, i64)> = before.iter().map(|(s, _)| (*s, *s)).collect();
    assert_eq!(after, want);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- RDB version 12 (Redis 7.4 / 8.x), built byte by byte as redis's src/rdb.c writes it ----

/// A listpack entry: a string of under 64 bytes (`10xxxxxx` length, the bytes, backlen).
fn lp_str(s: &[u8]) -> Vec<u8> {
    let mut e = vec![0x80 | s.len() as u8];
    e.extend_from_slice(s);
    e.push(1 + s.len() as u8);
    e
}

/// A listpack entry: a 64-bit integer (0xF4, 8 bytes LE, backlen 9); 0 is `0x00, 1`.
fn lp_int(n: u64) -> Vec<u8> {
    if n == 0 {
        return vec![0, 1];
    }
    let mut e = vec![0xF4];
    e.extend_from_slice(&n.to_le_bytes());
    e.push(9);
    e
}

/// A listpack of (field, value, absolute TTL or 0) triplets: total bytes (u32 LE), count
/// (u16 LE), entries, 0xFF; returned as an RDB string (6- or 14-bit length, the bytes).
fn lp_ex(triplets: &[(&str, &str, u64)]) -> Vec<u8> {
    let body: Vec<u8> = triplets
        .iter()
        .flat_map(|(f, v, t)| [lp_str(f.as_bytes()), lp_str(v.as_bytes()), lp_int(*t)].concat())
        .collect();
    let mut l = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
    l.extend_from_slice(&((triplets.len() * 3) as u16).to_le_bytes());
    l.extend_from_slice(&body);
    l.push(0xFF);
    let mut s = if l.len() < 64 {
        vec![l.len() as u8]
    } else {
        vec![0x40 | (l.len() >> 8) as u8, l.len() as u8]
    };
    s.extend_from_slice(&l);
    s
}

/// An RDB string of under 64 bytes.
fn rstr(s: &str) -> Vec<u8> {
    [vec![s.len() as u8], s.as_bytes().to_vec()].concat()
}

/// Type 25 (RDB_TYPE_HASH_LISTPACK_EX) value: minExpire (u64 LE), the listpack.
fn listpack_ex_value(triplets: &[(&str, &str, u64)]) -> Vec<u8> {
    let min = triplets
        .iter()
        .map(|t| t.2)
        .filter(|t| *t != 0)
        .min()
        .unwrap_or(0);
    [min.to_le_bytes().to_vec(), lp_ex(triplets)].concat()
}

/// Type 24 (RDB_TYPE_HASH_METADATA) value: minExpire (u64 LE), count, then per field its TTL
/// as a length (0 none, else expiry - minExpire + 1; 0x81 + 8 bytes BE), field, value.
fn metadata_value(fields: &[(&str, &str, u64)]) -> Vec<u8> {
    let min = fields
        .iter()
        .map(|t| t.2)
        .filter(|t| *t != 0)
        .min()
        .unwrap_or(0);
    let mut b = min.to_le_bytes().to_vec();
    b.push(fields.len() as u8);
    for (f, v, t) in fields {
        if *t == 0 {
            b.push(0);
        } else {
            b.push(0x81);
            b.extend_from_slice(&(t - min + 1).to_be_bytes());
        }
        b.extend(rstr(f));
        b.extend(rstr(v));
    }
    b
}

/// "REDIS0012", SELECTDB 0, `body`, EOF, a zero checksum (not computed).
fn v12_file(body: &[u8]) -> Vec<u8> {
    [
        b"REDIS0012\xfe\x00".to_vec(),
        body.to_vec(),
        vec![0xFF],
        vec![0; 8],
    ]
    .concat()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A Redis 7.4 / 8 dump.rdb (version 12) with hashes with field TTLs in both forms loads at
/// startup: the TTLs kept, the fields whose time passed dropped (a hash left empty too).
#[test]
fn loads_redis_7_4_and_8_files_with_field_ttls() {
    let dir = tmpdir("v12");
    let later = now_ms() + 3_600_000;
    let past = now_ms() - 60_000;
    let mut b = Vec::new();
    // Redis 8 cluster mode's slot hint: slot 7, 4 keys, none with an expiry.
    b.extend_from_slice(&[244, 7, 4, 0]);
    b.push(25);
    b.extend(rstr("lpx"));
    b.extend(listpack_ex_value(&[
        ("live", "1", later),
        ("keep", "2", 0),
        ("dead", "3", past),
    ]));
    b.push(24);
    b.extend(rstr("meta"));
    b.extend(metadata_value(&[
        ("dead", "x", past),
        ("live", "y", later + 5),
        ("keep", "z", 0),
    ]));
    b.push(25);
    b.extend(rstr("allgone"));
    b.extend(listpack_ex_value(&[("a", "1", past), ("b", "2", past + 1)]));
    b.push(0);
    b.extend(rstr("str"));
    b.extend(rstr("plain"));
    std::fs::write(dir.join("dump.rdb"), v12_file(&b)).unwrap();
    let srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    assert_eq!(q::<String>(&mut c, &["GET", "str"]), "plain");
    assert_eq!(q::<i64>(&mut c, &["HLEN", "lpx"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "meta"]), 2);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "allgone"]), 0);
    let t: Vec<i64> = q(
        &mut c,
        &["HPEXPIRETIME", "lpx", "FIELDS", "3", "live", "keep", "dead"],
    );
    assert_eq!(t, vec![later as i64, -1, -2]);
    let t: Vec<i64> = q(
        &mut c,
        &[
            "HPEXPIRETIME",
            "meta",
            "FIELDS",
            "3",
            "live",
            "keep",
            "dead",
        ],
    );
    assert_eq!(t, vec![(later + 5) as i64, -1, -2]);
    assert_eq!(q::<String>(&mut c, &["HGET", "meta", "keep"]), "z");
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 3);
    // Saved again (as version 10, type 24) and reloaded: the same.
    ok(&mut c, &["SAVE"]);
    drop(c);
    drop(srv);
    let srv = shoal_in(&dir, &[]);
    let mut c = loaded(&srv);
    let t: Vec<i64> = q(
        &mut c,
        &["HPEXPIRETIME", "lpx", "FIELDS", "2", "live", "keep"],
    );
    assert_eq!(t, vec![later as i64, -1]);
    drop(c);
    drop(srv);
    // A type shoal cannot read (26, Redis 8.2's stream with IDMP) is refused with its
    // offset: 9 of header, 2 of SELECTDB; the server does not start.
    refused(
        &dir,
        &v12_file(&[26, 1, b'k', 0]),
        "Bad RDB file at offset 11: Unknown RDB encoding type 26",
    );
    // A version shoal does not know is refused by name.
    let mut f = v12_file(&[]);
    f[8] = b'3';
    refused(&dir, &f, "Can't handle RDB format version 0013");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A DUMP payload of Redis 7.4 / 8 (RDB version 12 in its footer) of a hash with field TTLs
/// restores with them, in both forms.
#[test]
fn restore_takes_redis_7_4_and_8_payloads() {
    let dir = tmpdir("v12-restore");
    let srv = shoal_in(&dir, &[]);
    let mut c = conn(&srv);
    let later = now_ms() + 3_600_000;
    // type byte, value, RDB version (u16 LE), CRC64 of everything before it (LE).
    let payload = |t: u8, value: Vec<u8>, version: u16| {
        let mut p = vec![t];
        p.extend(value);
        p.extend_from_slice(&version.to_le_bytes());
        let crc = shoal_store::dump::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    let restore = |c: &mut redis::Connection, key: &str, p: &[u8]| {
        redis::cmd("RESTORE")
            .arg(key)
            .arg(0)
            .arg(p)
            .query::<String>(c)
    };
    let p = payload(
        25,
        listpack_ex_value(&[("f", "v", later), ("g", "w", 0)]),
        12,
    );
    assert_eq!(restore(&mut c, "lpx", &p).unwrap(), "OK");
    let p = payload(24, metadata_value(&[("f", "v", 0), ("g", "w", later)]), 12);
    assert_eq!(restore(&mut c, "meta", &p).unwrap(), "OK");
    let t: Vec<i64> = q(&mut c, &["HPEXPIRETIME", "lpx", "FIELDS", "2", "f", "g"]);
    assert_eq!(t, vec![later as i64, -1]);
    let t: Vec<i64> = q(&mut c, &["HPEXPIRETIME", "meta", "FIELDS", "2", "f", "g"]);
    assert_eq!(t, vec![-1, later as i64]);
    assert_eq!(q::<String>(&mut c, &["HGET", "meta", "g"]), "w");
    // Version 13 (Redis 8.2 and later) is refused as Redis refuses a version it does not know.
    let p = payload(25, listpack_ex_value(&[("f", "v", later)]), 13);
    let e = restore(&mut c, "x", &p).unwrap_err();
    assert_eq!(
        e.detail(),
        Some("DUMP payload version or checksum are wrong")
    );
    // A type shoal cannot read in a version-12 payload: Bad data format, nothing created.
    let p = payload(26, vec![0], 12);
    let e = restore(&mut c, "x", &p).unwrap_err();
    assert_eq!(e.detail(), Some("Bad data format"));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "x"]), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// FLUSHALL stops a running background save, as Redis kills its child: the save ends at once,
/// counts as neither success nor failure, writes no file, and the next BGSAVE starts.
#[test]
fn flushall_aborts_a_running_bgsave() {
    let dir = tmpdir("flushall-aborts");
    let srv = shoal_in(&dir, &["--save", ""]);
    let mut c = conn(&srv);
    let mut pipe = redis::pipe();
    for i in 0..3000 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    // 1 ms per key: the save would take 3 s.
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "1000"]);
    let _: String = q(&mut c, &["BGSAVE"]);
    let stat = |c: &mut redis::Connection, f: &str| info_field(c, "persistence", f);
    assert_eq!(stat(&mut c, "rdb_bgsave_in_progress"), "1");
    ok(&mut c, &["FLUSHALL"]);
    let t = std::time::Instant::now();
    assert!(
        wait_until(Duration::from_secs(1), || stat(
            &mut c,
            "rdb_bgsave_in_progress"
        ) == "0"),
        "the background save was not aborted"
    );
    assert!(t.elapsed() < Duration::from_secs(1));
    let changes: u64 = stat(&mut c, "rdb_changes_since_last_save").parse().unwrap();
    assert!(changes >= 3000, "{changes}");
    assert_eq!(stat(&mut c, "rdb_last_bgsave_status"), "ok");
    assert!(
        !dir.join("dump.rdb").exists(),
        "the aborted save wrote the file"
    );
    ok(&mut c, &["SET", "x", "xx"]);
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    let _: String = q(&mut c, &["BGSAVE"]);
    assert!(wait_until(Duration::from_secs(10), || stat(
        &mut c,
        "rdb_bgsave_in_progress"
    ) == "0"));
    assert!(dir.join("dump.rdb").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

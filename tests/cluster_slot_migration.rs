//! Atomic slot migration (CLUSTER MIGRATESLOTS, as Valkey 9 names it): whole slots copied in
//! the background and handed over in one step; the target's replicas get the keys and the
//! source's drop them; writes during the move are not lost; a move that does not finish leaves
//! nothing behind on the target; the error replies.
mod common;
use common::cluster::*;
use common::*;
use std::collections::HashMap;
use std::time::Duration;

/// CLUSTER GETSLOTMIGRATIONS as maps of field -> text.
fn jobs(c: &mut redis::Connection) -> Vec<HashMap<String, String>> {
    let v: redis::Value = redis::cmd("CLUSTER")
        .arg("GETSLOTMIGRATIONS")
        .query(c)
        .unwrap();
    let text = |v: &redis::Value| match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        redis::Value::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    };
    let redis::Value::Array(items) = v else {
        panic!("not an array: {v:?}")
    };
    items
        .iter()
        .map(|j| match j {
            redis::Value::Array(kv) => kv.chunks(2).map(|p| (text(&p[0]), text(&p[1]))).collect(),
            redis::Value::Map(kv) => kv.iter().map(|(k, v)| (text(k), text(v))).collect(),
            other => panic!("job not a map: {other:?}"),
        })
        .collect()
}

/// CLUSTER MIGRATESLOTS SLOTSRANGE lo hi NODE target, which must be accepted.
fn start_move(c: &mut redis::Connection, lo: &str, hi: &str, target: &str) {
    ok(
        c,
        &[
            "CLUSTER",
            "MIGRATESLOTS",
            "SLOTSRANGE",
            lo,
            hi,
            "NODE",
            target,
        ],
    );
}

/// Waits until the newest job of `c` leaves the running states; returns it.
fn finished_job(c: &mut redis::Connection) -> HashMap<String, String> {
    let mut last = HashMap::new();
    let done = wait_until(Duration::from_secs(60), || {
        last = jobs(c).pop().unwrap_or_default();
        matches!(
            last.get("state").map(|s| s.as_str()),
            Some("success" | "failed" | "cancelled")
        )
    });
    assert!(done, "migration did not finish: {last:?}");
    last
}

/// A key named `{tag}` that hashes to a slot in `lo..=hi`, one per slot from `lo`.
fn keys_in(lo: u16, hi: u16, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("key:{i}"))
        .filter(|k| (lo..=hi).contains(&slot_of(k)))
        .take(n)
        .collect()
}

fn owner_line_has(node: &Node, owner: &str, range: &str) -> bool {
    let text: String = q(&mut node.conn(), &["CLUSTER", "NODES"]);
    text.lines()
        .any(|l| l.starts_with(owner) && l.split_whitespace().any(|w| w == range))
}

#[test]
fn slots_move_with_values_ttls_and_replicas() {
    // Primaries 0 (0-8191) and 1 (8192-16383); node 2 replicates 0, node 3 replicates 1.
    let nodes = form_cluster_with_replicas(2, 1, 2000, "asm");
    let (src, dst) = (&nodes[0], &nodes[1]);
    let mut s = src.conn();
    let moved = keys_in(0, 4095, 3000);
    let kept = keys_in(4096, 8191, 500);
    let mut pipe = redis::pipe();
    for k in moved.iter().chain(&kept) {
        pipe.cmd("SET").arg(k).arg(format!("v-{k}")).ignore();
    }
    pipe.query::<()>(&mut s).unwrap();
    // Other types and a TTL, in moving slots.
    let (h, l, z, t) = ("{b}hash", "{b}list", "{b}zset", "{b}ttl");
    assert!(slot_of(h) < 4096);
    let _: () = redis::cmd("HSET")
        .arg(h)
        .arg("f")
        .arg("1")
        .arg("g")
        .arg("2")
        .query(&mut s)
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(l)
        .arg("x")
        .arg("y")
        .query(&mut s)
        .unwrap();
    let _: () = redis::cmd("ZADD")
        .arg(z)
        .arg(1.5)
        .arg("m")
        .query(&mut s)
        .unwrap();
    ok(&mut s, &["SET", t, "soon", "EX", "1000"]);
    // A value far larger than one DATA chunk (256 KB).
    let big = "x".repeat(3 << 20);
    ok(&mut s, &["SET", "{b}big", &big]);
    // A client blocked on a key of a moving slot.
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let url = src.proc.url();
        std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let r = redis::cmd("BLPOP")
                .arg("{b}queue")
                .arg(0)
                .query::<Vec<String>>(&mut c);
            let _ = tx.send(r.map_err(|e| e.to_string()));
        });
    }
    let mut s2 = src.conn();
    assert!(wait_until(Duration::from_secs(5), || {
        info_field(&mut s2, "clients", "blocked_clients") == "1"
    }));

    start_move(&mut s, "0", "4095", &dst.id);
    let job = finished_job(&mut s);
    assert_eq!(job["state"], "success", "{job:?}");
    // The blocked client is redirected instead of waiting forever.
    let blocked = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("BLPOP still blocked");
    let err = blocked.unwrap_err();
    assert!(err.to_lowercase().contains("moved"), "{err}");
    assert_eq!(job["operation"], "EXPORT");
    assert_eq!(job["slot_ranges"], "0-4095");
    assert_eq!(
        (job["source_node"].as_str(), job["target_node"].as_str()),
        (src.id.as_str(), dst.id.as_str())
    );
    let sent: usize = job["keys"].parse().unwrap();
    assert!(sent >= moved.len() + 5, "{sent} keys sent");

    // The target serves every moved key, with its value, type and TTL.
    let mut d = dst.conn();
    for k in &moved {
        assert_eq!(q::<String>(&mut d, &["GET", k]), format!("v-{k}"));
    }
    assert_eq!(
        q::<Vec<String>>(&mut d, &["HMGET", h, "f", "g"]),
        vec!["1", "2"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut d, &["LRANGE", l, "0", "-1"]),
        vec!["x", "y"]
    );
    assert_eq!(q::<String>(&mut d, &["ZSCORE", z, "m"]), "1.5");
    assert_eq!(q::<String>(&mut d, &["GET", "{b}big"]), big);
    let ttl: i64 = q(&mut d, &["TTL", t]);
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    let imp = jobs(&mut d).pop().unwrap();
    assert_eq!(
        (imp["operation"].as_str(), imp["state"].as_str()),
        ("IMPORT", "success")
    );
    assert_eq!(imp["name"], job["name"]);

    // The source kept only its other slots and redirects the moved ones.
    assert_eq!(q::<usize>(&mut s, &["DBSIZE"]), kept.len());
    let k0 = &moved[0];
    assert_eq!(
        e(&mut s, &["GET", k0]),
        format!("MOVED {} 127.0.0.1:{}", slot_of(k0), dst.proc.port())
    );
    assert_eq!(
        q::<String>(&mut s, &["GET", &kept[0]]),
        format!("v-{}", kept[0])
    );

    // Replicas follow: the target's has the keys, the source's dropped them.
    let mut r_dst = nodes[3].conn();
    ok(&mut r_dst, &["READONLY"]);
    assert!(
        wait_until(Duration::from_secs(10), || {
            redis::cmd("GET")
                .arg(&moved[moved.len() - 1])
                .query::<Option<String>>(&mut r_dst)
                .ok()
                .flatten()
                .is_some()
        }),
        "the target's replica lacks the moved keys"
    );
    let mut r_src = nodes[2].conn();
    assert!(
        wait_until(Duration::from_secs(10), || q::<usize>(
            &mut r_src,
            &["DBSIZE"]
        ) == kept.len()),
        "the source's replica still holds moved keys"
    );
    // Every node learns the new owner.
    for n in &nodes {
        assert!(
            wait_until(Duration::from_secs(10), || owner_line_has(
                n, &dst.id, "0-4095"
            )),
            "a node did not learn the move"
        );
    }
    cleanup(&nodes);
}

#[test]
fn writes_during_a_move_are_not_lost() {
    let nodes = form_cluster(2, 2000, "asmw");
    let (src, dst) = (&nodes[0], &nodes[1]);
    let mut s = src.conn();
    // Enough keys that the copy takes a while.
    let bulk = keys_in(0, 1999, 40_000);
    for chunk in bulk.chunks(5000) {
        let mut pipe = redis::pipe();
        for k in chunk {
            pipe.cmd("SET").arg(k).arg("old").ignore();
        }
        pipe.query::<()>(&mut s).unwrap();
    }
    let hot: Vec<String> = bulk.iter().step_by(97).cloned().collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, hot) = (stop.clone(), hot.clone());
        let (src_url, dst_url) = (src.proc.url(), dst.proc.url());
        std::thread::spawn(move || {
            let mut c = redis::Client::open(src_url)
                .unwrap()
                .get_connection()
                .unwrap();
            let mut on_target = false;
            let mut last: HashMap<String, u64> = HashMap::new();
            let mut redirects = 0;
            let mut n = 0u64;
            // Writes until the move redirects it, then retries that one write on the target
            // and stops (later writes would overwrite what the move must have carried).
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let k = &hot[(n as usize * 7) % hot.len()];
                n += 1;
                match redis::cmd("SET").arg(k).arg(n).query::<()>(&mut c) {
                    Ok(()) => {
                        last.insert(k.clone(), n);
                        if on_target {
                            break;
                        }
                    }
                    Err(e) if e.to_string().to_lowercase().contains("moved") && !on_target => {
                        redirects += 1;
                        on_target = true;
                        c = redis::Client::open(dst_url.clone())
                            .unwrap()
                            .get_connection()
                            .unwrap();
                        n -= 1;
                    }
                    Err(e) => panic!("write failed: {e}"),
                }
            }
            assert!(on_target, "the writer was never redirected");
            (last, redirects)
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    start_move(&mut s, "0", "1999", &dst.id);
    let job = finished_job(&mut s);
    assert_eq!(job["state"], "success", "{job:?}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (last, redirects) = writer.join().unwrap();
    assert_eq!(
        redirects, 1,
        "the writer was redirected once, and saw no other error"
    );
    let mut d = dst.conn();
    for (k, v) in &last {
        let got: Option<u64> = redis::cmd("GET").arg(k).query(&mut d).unwrap();
        assert_eq!(got, Some(*v), "{k}: last acknowledged write lost");
    }
    let untouched = &bulk[1];
    assert_eq!(q::<String>(&mut d, &["GET", untouched]), "old");
    assert_eq!(q::<usize>(&mut d, &["DBSIZE"]), bulk.len());
    assert_eq!(q::<usize>(&mut s, &["DBSIZE"]), 0);
    cleanup(&nodes);
}

#[test]
fn a_cancelled_move_leaves_the_source_as_it_was() {
    let nodes = form_cluster(2, 5000, "asmc");
    let (src, dst) = (&nodes[0], &nodes[1]);
    let mut s = src.conn();
    let keys = keys_in(0, 99, 300);
    for k in &keys {
        ok(&mut s, &["SET", k, "v"]);
    }
    // The target stalls, so the job is still connecting when it is cancelled.
    freeze(&dst.proc);
    start_move(&mut s, "0", "99", &dst.id);
    std::thread::sleep(Duration::from_millis(200));
    // While the job runs its slots are its own.
    assert_eq!(
        e(&mut s, &["CLUSTER", "SETSLOT", "5", "STABLE"]),
        "ERR Slot 5 is being moved by CLUSTER MIGRATESLOTS"
    );
    assert_eq!(
        e(
            &mut s,
            &[
                "CLUSTER",
                "MIGRATESLOTS",
                "SLOTSRANGE",
                "50",
                "60",
                "NODE",
                &dst.id
            ]
        ),
        "ERR Slot 50 is already being migrated"
    );
    let state = jobs(&mut s).pop().unwrap()["state"].clone();
    assert!(
        state == "pending" || state == "connecting",
        "the job waits for the stalled target: {state}"
    );
    ok(&mut s, &["CLUSTER", "CANCELSLOTMIGRATIONS"]);
    dst.proc.signal(18); // SIGCONT
    let job = finished_job(&mut s);
    assert_eq!(job["state"], "cancelled", "{job:?}");
    let mut d = dst.conn();
    let import_done = wait_until(Duration::from_secs(10), || {
        jobs(&mut d)
            .pop()
            .is_some_and(|j| j["state"] == "cancelled" || j["state"] == "failed")
    });
    assert!(import_done, "the target still imports: {:?}", jobs(&mut d));
    assert_eq!(q::<usize>(&mut d, &["DBSIZE"]), 0, "the target kept keys");
    assert_eq!(q::<usize>(&mut s, &["DBSIZE"]), keys.len());
    assert_eq!(q::<String>(&mut s, &["GET", &keys[0]]), "v");
    assert!(owner_line_has(src, &src.id, "0-8191"));
    cleanup(&nodes);
}

/// SIGSTOP, and waits until the kernel shows the process stopped (state T).
fn freeze(p: &ServerProcess) {
    let state = || {
        std::fs::read_to_string(format!("/proc/{}/stat", p.pid()))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()?
                    .split_whitespace()
                    .next()
                    .map(str::to_string)
            })
    };
    let stopped = wait_until(Duration::from_secs(10), || {
        p.signal(19);
        wait_until(Duration::from_millis(200), || {
            state().as_deref() == Some("T")
        })
    });
    assert!(stopped, "the process did not stop: {:?}", state());
}

/// A snapshot record: db | key length | key | expiry | payload length | payload.
fn record(key: &str, payload: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(&0u32.to_le_bytes());
    r.extend_from_slice(&(key.len() as u32).to_le_bytes());
    r.extend_from_slice(key.as_bytes());
    r.extend_from_slice(&0u64.to_le_bytes());
    r.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    r.extend_from_slice(payload);
    r
}

#[test]
fn an_import_that_does_not_finish_is_dropped_and_errors() {
    let nodes = form_cluster(2, 2000, "asme");
    let (src, dst) = (&nodes[0], &nodes[1]);
    let mut s = src.conn();
    let key = &keys_in(10, 10, 1)[0];
    ok(&mut s, &["SET", key, "hello"]);
    let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut s).unwrap();
    let count = |c: &mut redis::Connection| q::<usize>(c, &["CLUSTER", "COUNTKEYSINSLOT", "10"]);
    let syncslots = |c: &mut redis::Connection, args: &[&[u8]]| -> Result<(), String> {
        let mut cmd = redis::cmd("SYNCSLOTS");
        for a in args {
            cmd.arg(*a);
        }
        cmd.query::<()>(c).map_err(|e| e.to_string())
    };
    let name = "a".repeat(40);

    // Established, given a key, then aborted: the key goes.
    let mut link = dst.conn();
    syncslots(
        &mut link,
        &[b"ESTABLISH", name.as_bytes(), src.id.as_bytes(), b"0-99"],
    )
    .unwrap();
    syncslots(&mut link, &[b"DATA", &record(key, &payload)]).unwrap();
    let mut d = dst.conn();
    assert_eq!(count(&mut d), 1);
    // The key is not served by the target before the hand-over.
    assert!(e(&mut d, &["GET", key]).starts_with("MOVED"));
    let outside = &keys_in(500, 600, 1)[0];
    let err = syncslots(&mut link, &[b"DATA", &record(outside, &payload)]).unwrap_err();
    assert!(err.contains("outside the slots being imported"), "{err}");
    let err = syncslots(&mut link, &[b"DATA", b"\x00\x00\x00"]).unwrap_err();
    assert!(err.contains("Malformed slot migration records"), "{err}");
    let err = syncslots(&mut link, &[b"DATA", &record(key, b"not a dump payload")]).unwrap_err();
    assert!(err.contains("Bad data format"), "{err}");
    syncslots(&mut link, &[b"ABORT", name.as_bytes(), b"testing"]).unwrap();
    assert_eq!(count(&mut d), 0);
    assert_eq!(jobs(&mut d).pop().unwrap()["state"], "failed");

    // Established, given a key, then the connection drops: the key goes too.
    let name2 = "b".repeat(40);
    {
        let mut link = dst.conn();
        syncslots(
            &mut link,
            &[b"ESTABLISH", name2.as_bytes(), src.id.as_bytes(), b"0-99"],
        )
        .unwrap();
        syncslots(&mut link, &[b"DATA", &record(key, &payload)]).unwrap();
        assert_eq!(count(&mut d), 1);
    }
    assert!(
        wait_until(Duration::from_secs(5), || count(&mut d) == 0),
        "keys of a dropped import stayed"
    );
    let j = jobs(&mut d).pop().unwrap();
    assert_eq!(
        (j["state"].as_str(), j["message"].as_str()),
        ("failed", "connection to the source lost")
    );

    // The internal command's refusals.
    let mut plain = dst.conn();
    assert!(
        syncslots(&mut plain, &[b"DATA", &record(key, &payload)])
            .unwrap_err()
            .contains("No slot import on this connection")
    );
    assert!(
        syncslots(&mut plain, &[b"FINISH", name.as_bytes()])
            .unwrap_err()
            .contains("No such slot import")
    );
    assert!(
        syncslots(
            &mut plain,
            &[
                b"ESTABLISH",
                name.as_bytes(),
                src.id.as_bytes(),
                b"9000-9001"
            ]
        )
        .unwrap_err()
        .contains("I'm already the owner of hash slot 9000")
    );
    assert!(
        syncslots(
            &mut plain,
            &[b"ESTABLISH", name.as_bytes(), src.id.as_bytes(), b"5-1"]
        )
        .unwrap_err()
        .contains("Invalid slot ranges")
    );
    let long = "x".repeat(65);
    assert!(
        syncslots(
            &mut plain,
            &[b"ESTABLISH", long.as_bytes(), src.id.as_bytes(), b"0-1"]
        )
        .unwrap_err()
        .contains("Invalid slot migration name")
    );
    assert!(
        syncslots(&mut plain, &[b"SIDEWAYS"])
            .unwrap_err()
            .contains("unknown subcommand")
    );

    // MIGRATESLOTS refusals.
    let nobody = "0".repeat(40);
    let m = |c: &mut redis::Connection, tail: &[&str]| {
        let mut args = vec!["CLUSTER", "MIGRATESLOTS"];
        args.extend_from_slice(tail);
        e(c, &args)
    };
    assert_eq!(
        m(&mut s, &["SLOTSRANGE", "0", "10", "NODE", &nobody]),
        format!("ERR Unknown node {nobody}")
    );
    assert_eq!(
        m(&mut s, &["SLOTSRANGE", "9000", "9000", "NODE", &dst.id]),
        "ERR I'm not the owner of hash slot 9000"
    );
    assert_eq!(
        m(&mut s, &["SLOTSRANGE", "0", "10", "NODE", &src.id]),
        "ERR Can't migrate slots to myself"
    );
    assert_eq!(
        m(
            &mut s,
            &["SLOTSRANGE", "0", "10", "5", "20", "NODE", &dst.id]
        ),
        "ERR Slot range 5-20 overlaps with previous range 0-10."
    );
    assert_eq!(
        m(&mut s, &["SLOTSRANGE", "10", "5", "NODE", &dst.id]),
        "ERR Start slot number 10 is greater than end slot number 5."
    );
    assert_eq!(
        m(&mut s, &["SLOTSRANGE", "0", "16384", "NODE", &dst.id]),
        "ERR Invalid or out of range slot"
    );
    assert_eq!(m(&mut s, &["SLOTSRANGE", "0", "10"]), "ERR syntax error");
    assert_eq!(
        m(&mut s, &["SLOTSRANGE", "0"]),
        "ERR No end slot for final slot range"
    );
    assert_eq!(m(&mut s, &["NODE", &dst.id]), "ERR syntax error");
    assert!(
        e(&mut s, &["CLUSTER", "GETSLOTMIGRATIONS", "x"]).contains("wrong number of arguments")
    );
    // Nothing was queued by the refused commands.
    assert!(jobs(&mut s).is_empty());
    cleanup(&nodes);

    let plain_server = server(&[]);
    assert_eq!(
        e(
            &mut conn(&plain_server),
            &[
                "CLUSTER",
                "MIGRATESLOTS",
                "SLOTSRANGE",
                "0",
                "1",
                "NODE",
                &nobody
            ]
        ),
        "ERR This instance has cluster support disabled"
    );
}

/// GET through `c`, following one MOVED over a connection kept in `others` by port.
fn routed_get(
    c: &mut redis::Connection,
    others: &mut HashMap<u16, redis::Connection>,
    key: &str,
) -> Option<String> {
    match redis::cmd("GET").arg(key).query::<Option<String>>(c) {
        Ok(v) => v,
        Err(e) => {
            let port = e
                .redirect_node()
                .and_then(|(addr, _)| addr.rsplit(':').next()?.parse::<u16>().ok())
                .unwrap_or_else(|| panic!("GET {key}: {e}"));
            let other = others.entry(port).or_insert_with(|| {
                redis::Client::open(format!("redis://127.0.0.1:{port}"))
                    .unwrap()
                    .get_connection()
                    .unwrap()
            });
            redis::cmd("GET").arg(key).query(other).unwrap()
        }
    }
}

#[test]
fn auto_rebalance_fills_a_new_empty_primary() {
    let mut nodes = form_cluster(3, 1000, "asmr");
    let mut first = nodes[0].conn();
    let keys: Vec<String> = (0..3000).map(|i| format!("r:{i}")).collect();
    let mut conns: Vec<redis::Connection> = nodes.iter().map(|n| n.conn()).collect();
    for k in &keys {
        // Written where the slot lives (through a redirect when needed).
        if let Err(err) = redis::cmd("SET").arg(k).arg(k).query::<()>(&mut conns[0]) {
            let port: u16 = err
                .redirect_node()
                .and_then(|(a, _)| a.rsplit(':').next()?.parse().ok())
                .unwrap();
            let owner = nodes.iter().position(|n| n.proc.port() == port).unwrap();
            ok(&mut conns[owner], &["SET", k, k]);
        }
    }
    for n in &nodes {
        ok(
            &mut n.conn(),
            &["CONFIG", "SET", "cluster-auto-rebalance", "yes"],
        );
    }
    assert_eq!(
        q::<Vec<String>>(&mut first, &["CONFIG", "GET", "cluster-auto-rebalance"]),
        vec!["cluster-auto-rebalance", "yes"]
    );
    assert!(
        e(
            &mut first,
            &["CONFIG", "SET", "cluster-auto-rebalance", "maybe"]
        )
        .contains("argument must be 'yes' or 'no'")
    );
    // A new, empty primary joins.
    let dir = tmpdir("asmr3");
    let proc = start_node(&dir, 1000);
    let id: String = q(&mut conn(&proc), &["CLUSTER", "MYID"]);
    let cport = bus_port(&mut conn(&proc));
    ok(
        &mut first,
        &[
            "CLUSTER",
            "MEET",
            "127.0.0.1",
            &proc.port().to_string(),
            &cport.to_string(),
        ],
    );
    nodes.push(Node { dir, proc, id });
    let slots_of_each = |c: &mut redis::Connection| -> Vec<usize> {
        let text: String = q(c, &["CLUSTER", "NODES"]);
        text.lines()
            .map(|l| {
                l.split_whitespace()
                    .skip(8)
                    .map(|r| match r.split_once('-') {
                        Some((a, b)) => {
                            b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1
                        }
                        None => 1,
                    })
                    .sum()
            })
            .collect()
    };
    let balanced = wait_until(Duration::from_secs(60), || {
        let counts = slots_of_each(&mut nodes[3].conn());
        counts.len() == 4 && counts.iter().all(|&n| (4096..=4097).contains(&n))
    });
    if !balanced {
        for n in &nodes {
            for l in n.proc.log() {
                if l.contains("Slot") || l.contains("rebalance") || l.contains("FAIL") {
                    eprintln!("{}: {l}", n.proc.port());
                }
            }
        }
    }
    assert!(
        balanced,
        "not rebalanced: {:?}",
        slots_of_each(&mut nodes[3].conn())
    );
    let mut c = nodes[3].conn();
    let mut others = HashMap::new();
    assert!(
        q::<usize>(&mut c, &["DBSIZE"]) > 500,
        "the new primary got keys"
    );
    for k in &keys {
        assert_eq!(
            routed_get(&mut c, &mut others, k).as_deref(),
            Some(k.as_str()),
            "{k} lost"
        );
    }
    // A balanced cluster stays put.
    std::thread::sleep(Duration::from_secs(3));
    for n in &nodes {
        assert!(
            jobs(&mut n.conn()).iter().all(|j| j["state"] == "success"),
            "unexpected job"
        );
    }
    let total: usize = nodes
        .iter()
        .map(|n| q::<usize>(&mut n.conn(), &["DBSIZE"]))
        .sum();
    assert_eq!(total, keys.len());
    cleanup(&nodes);
}

#[test]
fn a_promoted_replica_drops_what_an_unfinished_import_left_on_it() {
    // Node 1 imports a key of node 0's slot 10, which replicates to node 4; then node 1 dies.
    // (Three primaries: a failover needs a majority of them.)
    let nodes = form_cluster_with_replicas(3, 1, 2000, "asmp");
    let (src, dst, heir) = (&nodes[0], &nodes[1], &nodes[4]);
    let key = &keys_in(10, 10, 1)[0];
    ok(&mut src.conn(), &["SET", key, "v"]);
    let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut src.conn()).unwrap();
    let mut link = dst.conn();
    let name = "c".repeat(40);
    let _: () = redis::cmd("SYNCSLOTS")
        .arg("ESTABLISH")
        .arg(&name)
        .arg(&src.id)
        .arg("0-99")
        .query(&mut link)
        .unwrap();
    let _: () = redis::cmd("SYNCSLOTS")
        .arg("DATA")
        .arg(record(key, &payload))
        .query(&mut link)
        .unwrap();
    let mut h = heir.conn();
    let count = |c: &mut redis::Connection| q::<usize>(c, &["CLUSTER", "COUNTKEYSINSLOT", "10"]);
    assert!(
        wait_until(Duration::from_secs(10), || count(&mut h) == 1),
        "the import did not reach the replica"
    );
    dst.proc.signal(9);
    assert!(
        wait_until(Duration::from_secs(30), || heir.role().as_deref()
            == Some("master")),
        "the replica was not promoted"
    );
    assert!(
        wait_until(Duration::from_secs(5), || count(&mut h) == 0),
        "the promoted replica kept a key of a slot it does not serve"
    );
    // Its own slots' keys stay.
    assert!(owner_line_has(heir, &heir.id, "5461-10921"));
    assert_eq!(q::<String>(&mut src.conn(), &["GET", key]), "v");
    cleanup(&nodes);
}

#[test]
fn migrations_show_on_the_metrics_page() {
    // Two primaries with metrics, formed by hand.
    let dirs = [tmpdir("asmm0"), tmpdir("asmm1")];
    let procs: Vec<ServerProcess> = dirs
        .iter()
        .map(|d| {
            server(&[
                "--cluster-enabled",
                "yes",
                "--dir",
                d.to_str().unwrap(),
                "--metrics-port",
                "0",
            ])
        })
        .collect();
    let (mut a, mut b) = (conn(&procs[0]), conn(&procs[1]));
    ok(&mut a, &["CLUSTER", "ADDSLOTSRANGE", "0", "8191"]);
    ok(&mut b, &["CLUSTER", "ADDSLOTSRANGE", "8192", "16383"]);
    let cport = bus_port(&mut b);
    ok(
        &mut a,
        &[
            "CLUSTER",
            "MEET",
            "127.0.0.1",
            &procs[1].port().to_string(),
            &cport.to_string(),
        ],
    );
    assert!(wait_until(Duration::from_secs(20), || {
        [&mut a, &mut b]
            .into_iter()
            .all(|c| q::<String>(c, &["CLUSTER", "INFO"]).contains("cluster_known_nodes:2"))
    }));
    ok(&mut a, &["SET", "{b}k", "v"]);
    let target: String = q(&mut b, &["CLUSTER", "MYID"]);
    start_move(&mut a, "0", "4095", &target);
    assert_eq!(finished_job(&mut a)["state"], "success");
    let export = r#"shoal_cluster_slot_migrations_total{operation="export",result="success"} 1"#;
    let import = r#"shoal_cluster_slot_migrations_total{operation="import",result="success"} 1"#;
    let idle = r#"shoal_cluster_slot_migrations_active{operation="export"} 0"#;
    let page_a = scrape(&metrics_addr(&procs[0]));
    assert!(page_a.contains(export) && page_a.contains(idle), "{page_a}");
    let page_b = scrape(&metrics_addr(&procs[1]));
    assert!(page_b.contains(import), "{page_b}");
    for d in &dirs {
        std::fs::remove_dir_all(d).ok();
    }
}

//! maxmemory and eviction against the real binary: accounting in INFO, every policy staying
//! under the limit, volatile policies sparing persistent keys, noeviction's OOM refusals (MULTI
//! included) while reads and deletes go on, what LRU/LFU/S3-FIFO keep, OBJECT IDLETIME/FREQ per
//! policy, CONFIG SET at run time, and concurrent writers.

mod common;
use common::*;

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = q(c, &["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{field} is not a number"))
}

fn used(c: &mut redis::Connection) -> u64 {
    info_field(c, "memory", "used_memory")
}

/// Writes `n` keys `prefix:i` of `size` bytes in pipelines of 100; returns the errors seen.
fn fill(c: &mut redis::Connection, prefix: &str, n: usize, size: usize, ttl: bool) -> Vec<String> {
    let val = vec![b'v'; size];
    let mut errors = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut p = redis::pipe();
        for i in chunk {
            let mut cmd = redis::cmd("SET");
            cmd.arg(format!("{prefix}:{i}")).arg(&val[..]);
            if ttl {
                cmd.arg("EX").arg(3600);
            }
            p.add_command(cmd);
        }
        match p.query::<Vec<redis::Value>>(c) {
            Ok(replies) => errors.extend(replies.into_iter().filter_map(|r| match r {
                redis::Value::ServerError(e) => Some(format!("{e:?}")),
                _ => None,
            })),
            Err(e) => errors.push(e.to_string()),
        }
    }
    errors
}

/// A limit `extra` bytes above what the server uses now.
fn limit_above_now(c: &mut redis::Connection, extra: u64) -> u64 {
    let max = used(c) + extra;
    ok(c, &["CONFIG", "SET", "maxmemory", &max.to_string()]);
    max
}

#[test]
fn info_reports_allocator_bytes_and_flushall_returns_them() {
    let s = server(&[]);
    let mut c = conn(&s);
    let startup = info_field(&mut c, "memory", "used_memory_startup");
    let before = used(&mut c);
    let alloc = info_field(&mut c, "memory", "allocator_allocated");
    assert!(before >= startup);
    // Our count and jemalloc's agree (jemalloc also holds its own metadata).
    assert!(
        alloc >= before && alloc < before + (4 << 20),
        "used {before} allocator {alloc}"
    );
    let info: String = q(&mut c, &["INFO", "memory"]);
    for f in [
        "used_memory_human:",
        "used_memory_rss:",
        "used_memory_peak:",
        "maxmemory_human:",
        "maxmemory_policy:noeviction",
        "mem_fragmentation_ratio:",
        "mem_allocator:jemalloc",
    ] {
        assert!(info.contains(f), "INFO memory lacks {f}");
    }
    assert!(fill(&mut c, "k", 10_000, 1000, false).is_empty());
    let full = used(&mut c);
    // 10k values of 1000 bytes: about 10 MB more, and not much more than that.
    assert!(
        full > before + 10_000_000,
        "used {full} after 10 MB of writes"
    );
    assert!(full < before + 13_000_000, "used {full}: too much per key");
    ok(&mut c, &["FLUSHALL"]);
    let after = used(&mut c);
    assert!(
        after < before + 1_000_000,
        "used {after} after FLUSHALL (was {before})"
    );
    assert!(info_field(&mut c, "memory", "used_memory_peak") >= full);
}

#[test]
fn noeviction_refuses_writes_but_serves_reads_and_deletes() {
    let s = server(&[]);
    let mut c = conn(&s);
    limit_above_now(&mut c, 2 << 20);
    let errors = fill(&mut c, "k", 5000, 1000, false);
    assert!(!errors.is_empty(), "5 MB went into a 2 MB budget");
    assert!(errors[0].contains("command not allowed when used memory > 'maxmemory'"));
    // The fill left memory right at the limit, and the connection's query buffer (about 100 kB
    // of pipelined SETs) shrinks once small commands follow: put the limit clearly below what
    // the keys hold, so what follows is over it whatever the buffers do.
    let held = used(&mut c);
    ok(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory",
            &(held - (1 << 20)).to_string(),
        ],
    );
    assert_eq!(
        e(&mut c, &["SET", "x", "y"]),
        "OOM command not allowed when used memory > 'maxmemory'."
    );
    // denyoom covers commands that may grow memory even on an existing key.
    assert!(e(&mut c, &["APPEND", "k:0", "more"]).starts_with("OOM"));
    assert!(e(&mut c, &["LPUSH", "l", "a"]).starts_with("OOM"));
    // Reads and deletes go on.
    let v: Vec<u8> = q(&mut c, &["GET", "k:0"]);
    assert_eq!(v.len(), 1000);
    let _: i64 = q(&mut c, &["EXPIRE", "k:1", "100"]);
    // Inside MULTI every command but EXEC/DISCARD is refused, and EXEC aborts.
    ok(&mut c, &["MULTI"]);
    assert!(e(&mut c, &["GET", "k:0"]).starts_with("OOM"));
    assert!(e(&mut c, &["EXEC"]).starts_with("EXECABORT"));
    assert_eq!(info_field(&mut c, "stats", "evicted_keys"), 0);
    // Deleting makes room again.
    let mut p = redis::pipe();
    for i in 0..5000 {
        p.cmd("DEL").arg(format!("k:{i}")).ignore();
    }
    let _: () = p.query(&mut c).expect("deletes");
    ok(&mut c, &["SET", "x", "y"]);
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
}

#[test]
fn every_allkeys_policy_stays_under_the_limit() {
    let s = server(&[]);
    let mut c = conn(&s);
    for policy in [
        "allkeys-lru",
        "allkeys-lfu",
        "allkeys-random",
        "allkeys-s3fifo",
    ] {
        ok(&mut c, &["FLUSHALL"]);
        ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
        ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", policy]);
        let max = limit_above_now(&mut c, 3 << 20);
        let errors = fill(&mut c, policy, 12_000, 1000, false);
        assert!(
            errors.is_empty(),
            "{policy}: {} errors, first {:?}",
            errors.len(),
            errors.first()
        );
        let u = used(&mut c);
        assert!(u <= max + max / 20, "{policy}: used {u} over {max} + 5%");
        let keys: i64 = q(&mut c, &["DBSIZE"]);
        assert!((1000..12_000).contains(&keys), "{policy}: {keys} keys left");
        let evicted = info_field(&mut c, "stats", "evicted_keys");
        assert!(
            evicted >= 12_000 - keys as u64,
            "{policy}: evicted_keys {evicted}"
        );
    }
}

#[test]
fn volatile_policies_evict_only_keys_with_a_ttl() {
    let s = server(&[]);
    let mut c = conn(&s);
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
        "volatile-s3fifo",
    ] {
        ok(&mut c, &["FLUSHALL"]);
        ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
        ok(&mut c, &["CONFIG", "SET", "maxmemory-policy", policy]);
        limit_above_now(&mut c, 3 << 20);
        assert!(fill(&mut c, "keep", 1000, 1000, false).is_empty());
        let errors = fill(&mut c, "ttl", 6000, 1000, true);
        assert!(
            errors.is_empty(),
            "{policy}: {} errors, first {:?}",
            errors.len(),
            errors.first()
        );
        let keep: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg((0..1000).map(|i| format!("keep:{i}")).collect::<Vec<_>>())
            .query(&mut c)
            .expect("mget");
        assert!(
            keep.iter().all(Option::is_some),
            "{policy} evicted a key without a TTL"
        );
        // With only persistent keys left to take, writes are refused.
        let errors = fill(&mut c, "more", 6000, 1000, false);
        assert!(
            errors.iter().any(|e| e.contains("OOM")),
            "{policy}: persistent keys overflowed the limit"
        );
    }
}

/// Hot keys read between writes of cold ones: how many survive a policy.
fn hot_survivors(policy: &str) -> usize {
    let s = server(&["--maxmemory-policy", policy]);
    let mut c = conn(&s);
    limit_above_now(&mut c, 2 << 20);
    assert!(fill(&mut c, "hot", 300, 1000, false).is_empty());
    for round in 0..20 {
        let _: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg((0..300).map(|i| format!("hot:{i}")).collect::<Vec<_>>())
            .query(&mut c)
            .expect("mget");
        assert!(fill(&mut c, &format!("cold{round}"), 300, 1000, false).is_empty());
        // The LRU clock ticks every 16 ms: let the rounds be told apart.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let hot: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg((0..300).map(|i| format!("hot:{i}")).collect::<Vec<_>>())
        .query(&mut c)
        .expect("mget");
    hot.iter().filter(|v| v.is_some()).count()
}

#[test]
fn recency_and_frequency_policies_keep_the_hot_keys() {
    // 300 hot keys of 1 kB in a 2 MB budget, under 6 MB of one-off writes: a random policy keeps
    // few of them; the others keep most.
    for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-s3fifo"] {
        let kept = hot_survivors(policy);
        eprintln!("{policy} kept {kept}");
        assert!(kept >= 240, "{policy} kept {kept} of 300 hot keys");
    }
    let random = hot_survivors("allkeys-random");
    eprintln!("allkeys-random kept {random}");
    assert!(random < 200, "allkeys-random kept {random} of 300 hot keys");
}

#[test]
fn object_idletime_and_freq_follow_the_policy() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "k", "v"]);
    let idle: i64 = q(&mut c, &["OBJECT", "IDLETIME", "k"]);
    assert!((0..=1).contains(&idle));
    assert!(
        e(&mut c, &["OBJECT", "FREQ", "k"])
            .starts_with("ERR An LFU maxmemory policy is not selected")
    );
    ok(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    ok(&mut c, &["SET", "f", "v"]);
    let f0: i64 = q(&mut c, &["OBJECT", "FREQ", "f"]);
    assert_eq!(f0, 5, "new keys start at LFU_INIT_VAL");
    for _ in 0..50 {
        let _: String = q(&mut c, &["GET", "f"]);
    }
    let f1: i64 = q(&mut c, &["OBJECT", "FREQ", "f"]);
    assert!(f1 > f0, "freq {f1} after 50 reads");
    assert!(
        e(&mut c, &["OBJECT", "IDLETIME", "f"])
            .starts_with("ERR An LFU maxmemory policy is selected")
    );
}

#[test]
fn eviction_settings_change_at_run_time_and_are_validated() {
    let s = server(&[
        "--maxmemory",
        "100mb",
        "--maxmemory-policy",
        "allkeys-s3fifo",
    ]);
    let mut c = conn(&s);
    let got: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory*"]);
    for pair in [
        ["maxmemory", "104857600"],
        ["maxmemory-policy", "allkeys-s3fifo"],
        ["maxmemory-samples", "5"],
        ["maxmemory-eviction-tenacity", "10"],
    ] {
        assert!(got.windows(2).any(|w| w == pair), "{pair:?} not in {got:?}");
    }
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "maxmemory-policy", "lru"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: noeviction, allkeys-lru, volatile-lru, allkeys-lfu, volatile-lfu, allkeys-random, volatile-random, volatile-ttl, allkeys-s3fifo, volatile-s3fifo"
    );
    assert_eq!(
        e(&mut c, &["CONFIG", "SET", "maxmemory-samples", "0"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 64 inclusive"
    );
    assert!(
        e(&mut c, &["CONFIG", "SET", "maxmemory", "lots"]).starts_with("ERR CONFIG SET failed")
    );
    ok(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory-policy",
            "VOLATILE-TTL",
            "lfu-log-factor",
            "5",
        ],
    );
    let p: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory-policy"]);
    assert_eq!(p, ["maxmemory-policy", "volatile-ttl"]);
    let info: String = q(&mut c, &["INFO", "memory"]);
    assert!(info.contains("maxmemory_policy:volatile-ttl"));
    assert!(info.contains("maxmemory_human:100.00M"));
}

#[test]
fn concurrent_writers_stay_under_the_limit() {
    let s = server(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = conn(&s);
    let max = limit_above_now(&mut c, 4 << 20);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let url = s.url();
            std::thread::spawn(move || {
                let client = redis::Client::open(url).expect("client");
                let mut w = client.get_connection().expect("connect");
                fill(&mut w, &format!("w{t}"), 6000, 1000, false)
            })
        })
        .collect();
    let mut worst = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        worst = worst.max(used(&mut c));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for w in writers {
        let errors = w.join().expect("writer");
        assert!(
            errors.is_empty(),
            "{} errors, first {:?}",
            errors.len(),
            errors.first()
        );
    }
    worst = worst.max(used(&mut c));
    assert!(
        worst <= max + max / 20,
        "used reached {worst} over {max} + 5%"
    );
    assert!(info_field(&mut c, "stats", "evicted_keys") > 10_000);
}

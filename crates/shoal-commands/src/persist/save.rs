//! Writing the RDB file: a point-in-time snapshot (the one replication's full sync makes, taking
//! turns with it) turned into Redis's format on a thread of its own, into a temp file that is
//! fsynced and renamed over the old one, so a crash mid-save never leaves a torn file.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::time::Duration;

use shoal_store::rdb::writer::Writer;

use crate::ctx::{Shared, unix_ms};

/// How a save that a FLUSHALL's file replaced ends.
const DROPPED: &str = "dropped:";

/// Bytes gathered before a write to the file.
const FLUSH_AT: usize = 1 << 20;

/// Bytes of snapshot records the walk makes ahead of the encoder at most.
const WALK_AHEAD: usize = 64 << 20;

/// How the file is written.
#[derive(Clone, Copy)]
struct Opts {
    compress: bool,
    checksum: bool,
    /// `rdb-key-save-delay` (a test hook: makes a save slow enough to watch).
    key_delay_us: u64,
    /// False: the function libraries only (no snapshot is made).
    keys: bool,
    /// A FLUSHALL stops it (`Persist::dropped`): background and foreground saves, not the
    /// images of full syncs.
    abortable: bool,
}

impl Opts {
    /// The options `rdbcompression` and `rdbchecksum` set; `delay`: whether
    /// `rdb-key-save-delay` applies.
    fn from_config(shared: &Shared, delay: bool, keys: bool, abortable: bool) -> Opts {
        let c = shared.config.read();
        Opts {
            compress: c.rdbcompression,
            checksum: c.rdbchecksum,
            key_delay_us: if delay {
                c.rdb_key_save_delay.max(0) as u64
            } else {
                0
            },
            keys,
            abortable,
        }
    }
}

/// Starts a background save; false if a save is running already (or the server is not
/// set up for background work: see `Persist::install`).
pub fn bgsave(shared: &Shared) -> bool {
    let Some(me) = shared.persist.me.get().and_then(|w| w.upgrade()) else {
        return false;
    };
    if !claim(shared, true) {
        return false;
    }
    let spawned = std::thread::Builder::new()
        .name("shoal-bgsave".into())
        .spawn(move || {
            let r = run(&me);
            finish(&me, r, true);
        });
    if let Err(e) = spawned {
        tracing::warn!("Can't save in background: {e}");
        shared.persist.saving.store(false, SeqCst);
        shared.persist.last_bgsave_ok.store(false, Relaxed);
        return false;
    }
    true
}

/// Saves now and waits for it (SAVE, SHUTDOWN). `Err` says why it did not save: a save already
/// running, or the failure.
pub fn save_sync(shared: &Shared) -> Result<(), String> {
    // A full sync streaming to a replica holds the snapshot: SAVE does not wait for it (the
    // request thread it blocks may be one the full sync needs).
    let Ok(turn) = shared.repl.full_sync.try_lock() else {
        return Err("ERR Background save already in progress".into());
    };
    if !claim(shared, false) {
        return Err("ERR Background save already in progress".into());
    }
    drop(turn);
    // On a thread of its own: the request thread is a runtime worker, which may not block on
    // the turn's async mutex.
    let r = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("shoal-save".into())
            .spawn_scoped(s, || run(shared))
            .map_err(|e| e.to_string())
            .and_then(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the save thread panicked".into()))
            })
    });
    let ok = r
        .as_ref()
        .map_or_else(|e| e.starts_with(DROPPED), |()| true);
    finish(shared, r, false);
    if ok { Ok(()) } else { Err("ERR".into()) }
}

fn claim(shared: &Shared, bg: bool) -> bool {
    let p = &shared.persist;
    if p.saving
        .compare_exchange(false, true, SeqCst, SeqCst)
        .is_err()
    {
        return false;
    }
    p.bg.store(bg, Relaxed);
    p.dropped.store(false, Relaxed);
    p.save_started_ms.store(unix_ms(), Relaxed);
    p.last_try.store(unix_ms() / 1000, Relaxed);
    true
}

fn finish(shared: &Shared, r: Result<(), String>, bg: bool) {
    let p = &shared.persist;
    let secs = (unix_ms().saturating_sub(p.save_started_ms.load(Relaxed)) / 1000) as i64;
    match r {
        // A FLUSHALL's file replaced it: neither a success nor a failure (Redis's killed child).
        Err(e) if e.starts_with(DROPPED) => {
            tracing::info!("Background saving terminated: {e}");
        }
        Ok(()) => {
            p.lastsave.store(unix_ms() / 1000, Relaxed);
            p.dirty_base.store(p.dirty_at_start.load(Relaxed), Relaxed);
            p.saves.fetch_add(1, Relaxed);
            p.last_bgsave_ok.store(true, Relaxed);
            if bg {
                p.last_bgsave_secs.store(secs, Relaxed);
                tracing::info!("Background saving terminated with success");
            } else {
                tracing::info!("DB saved on disk");
            }
        }
        Err(e) => {
            p.last_bgsave_ok.store(false, Relaxed);
            if bg {
                p.last_bgsave_secs.store(secs, Relaxed);
                tracing::warn!("Background saving error: {e}");
            } else {
                tracing::warn!("Error saving DB on disk: {e}");
            }
        }
    }
    p.saving.store(false, SeqCst);
    super::update_misconf(shared);
}

/// Makes the snapshot and writes it out (on a thread that may block).
fn run(shared: &Shared) -> Result<(), String> {
    let _turn = shared.repl.full_sync.blocking_lock();
    let opts = Opts::from_config(shared, true, true, true);
    write_and_rename(shared, opts, true)
}

/// After FLUSHALL with save points (as Redis 7.0's flushallCommand, which calls rdbSave): the
/// file of the dataset just emptied, i.e. the function libraries alone, written from the
/// request thread inside the FLUSHALL (no snapshot: that would wait for this very write). A
/// background save that is running is dropped (Redis kills its child): its older data must
/// not land over this file. The dirty counter restarts after the FLUSHALL itself.
pub fn save_after_flushall(shared: &Shared) -> Result<(), String> {
    let p = &shared.persist;
    let opts = Opts::from_config(shared, false, false, false);
    let r = write_and_rename(shared, opts, false);
    match &r {
        Ok(()) => {
            // The FLUSHALL counts as a write once it returns: it is saved already.
            p.dirty_base.store(super::write_count(shared) + 1, Relaxed);
            p.lastsave.store(unix_ms() / 1000, Relaxed);
            p.last_bgsave_ok.store(true, Relaxed);
            super::update_misconf(shared);
            tracing::info!("DB saved on disk");
        }
        Err(e) => tracing::warn!("Error saving DB on disk: {e}"),
    }
    r
}

/// Writes the RDB file to a temp file in `dir`, fsyncs it and renames it over
/// `dir/dbfilename`. `snapshot`: a background or foreground save's snapshot, which gives way to
/// a later FLUSHALL's file (see [`save_after_flushall`]); otherwise this is that file.
fn write_and_rename(shared: &Shared, opts: Opts, snapshot: bool) -> Result<(), String> {
    let path = super::rdb_path(shared);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let n = shared.persist.seq.fetch_add(1, Relaxed);
    let tmp = dir.join(format!("temp-{}-{n}.rdb", std::process::id()));
    let p = &shared.persist;
    let r = write_file(shared, &tmp, opts).and_then(|()| {
        {
            let _order = p.rename_order.lock();
            if snapshot {
                if p.dropped.swap(false, Relaxed) {
                    return Err(format!(
                        "{DROPPED} a FLUSHALL saved the emptied dataset meanwhile"
                    ));
                }
            } else if p.saving.load(SeqCst) {
                p.dropped.store(true, Relaxed);
            }
            std::fs::rename(&tmp, &path).map_err(|e| {
                format!(
                    "Error moving temp DB file {} on the final destination {}: {e}",
                    tmp.display(),
                    path.display()
                )
            })?;
        }
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

fn write_file(shared: &Shared, tmp: &std::path::Path, opts: Opts) -> Result<(), String> {
    let file = std::fs::File::create(tmp).map_err(|e| {
        format!(
            "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
            tmp.file_name().unwrap_or_default().to_string_lossy(),
            tmp.parent().unwrap_or(std::path::Path::new(".")).display(),
        )
    })?;
    let mut file = std::io::BufWriter::with_capacity(FLUSH_AT, file);
    snapshot_into(shared, &mut file, opts, true)?;
    let file = file
        .into_inner()
        .map_err(|e| format!("Write error saving DB on disk: {}", e.into_error()))?;
    file.sync_all()
        .map_err(|e| format!("Write error saving DB on disk: {e}"))?;
    Ok(())
}

/// The whole keyspace as an RDB image in memory (what SYNC sends `redis-cli --rdb`). Blocks
/// until the snapshot is free: call from a blocking thread.
/// `keys` false: the function libraries only.
pub fn rdb_image(shared: &Shared, keys: bool) -> Result<Vec<u8>, String> {
    let _turn = shared.repl.full_sync.blocking_lock();
    let opts = Opts::from_config(shared, false, keys, false);
    let mut out = Vec::new();
    snapshot_into(shared, &mut out, opts, false)?;
    Ok(out)
}

/// Makes a point-in-time snapshot and writes it to `out` in RDB form (the caller holds the
/// snapshot's turn). `for_save`: its start is what the dirty counter is reset to.
fn snapshot_into(
    shared: &Shared,
    out: &mut impl Write,
    opts: Opts,
    for_save: bool,
) -> Result<(), String> {
    if !opts.keys {
        let mut w = Writer::new(
            opts.compress,
            opts.checksum,
            unix_ms() / 1000,
            shoal_store::mem::used() as u64,
        );
        for code in function_codes(shared) {
            w.function(&code);
        }
        return out
            .write_all(&w.finish())
            .map_err(|e| format!("Write error: {e}"));
    }
    let (sink, sizes, libs) = shared.repl.pause_writes(|| {
        if for_save {
            shared
                .persist
                .dirty_at_start
                .store(super::write_count(shared), Relaxed);
        }
        begin(shared)
    });
    walk_into(shared, sink, &sizes, &libs, out, opts, &[])
}

/// A full sync's image for a replica that is not shoal (a redis-server), the stream offset it
/// is the keyspace of and the replication ID: the snapshot starts at a moment no write is in flight, with
/// propagation on (the writes after it are in the stream from that offset), and its aux fields
/// `repl-stream-db`, `repl-id`, `repl-offset` say so, as Redis's. Blocks: call from a blocking
/// thread holding the snapshot's turn (`repl.full_sync`) once the backlog exists.
pub fn replica_image(shared: &Shared) -> Result<(Vec<u8>, u64, String), String> {
    let repl = &shared.repl;
    let opts = Opts::from_config(shared, true, true, false);
    let (sink, sizes, libs, start, replid) = {
        let _writes = repl.quiesce();
        shared.apply_repl_mode();
        // The stream after the snapshot says its database before its first command.
        *repl.stream_db.lock() = None;
        let (sink, sizes, libs) = begin(shared);
        let replid = repl.replid.lock().clone();
        (sink, sizes, libs, repl.offset.load(Relaxed), replid)
    };
    let aux = [
        (&b"repl-stream-db"[..], b"0".to_vec()),
        (b"repl-id", replid.clone().into_bytes()),
        (b"repl-offset", start.to_string().into_bytes()),
    ];
    let mut out = Vec::new();
    walk_into(shared, sink, &sizes, &libs, &mut out, opts, &aux)?;
    Ok((out, start, replid))
}

/// Under paused writes: starts the snapshot, with each database's sizes and the libraries.
#[allow(clippy::type_complexity)]
fn begin(
    shared: &Shared,
) -> (
    Arc<shoal_store::snapshot::SnapSink>,
    Vec<(u64, u64)>,
    Vec<Arc<[u8]>>,
) {
    let store = &shared.store;
    let sink = store.begin_snapshot_words(Box::new(|| {}));
    let sizes: Vec<(u64, u64)> = (0..store.databases())
        .map(|db| {
            store.live_db_shards(db).fold((0, 0), |(k, e), id| {
                let s = store.lock(id);
                (k + s.len() as u64, e + s.volatile() as u64)
            })
        })
        .collect();
    (sink, sizes, function_codes(shared))
}

/// Walks a started snapshot on a thread of its own while its records are encoded into `out`.
fn walk_into(
    shared: &Shared,
    sink: Arc<shoal_store::snapshot::SnapSink>,
    sizes: &[(u64, u64)],
    libs: &[Arc<[u8]>],
    out: &mut impl Write,
    opts: Opts,
    aux: &[(&[u8], Vec<u8>)],
) -> Result<(), String> {
    let store = &shared.store;
    std::thread::scope(|s| {
        let walker = std::thread::Builder::new()
            .name("shoal-snapshot".into())
            .spawn_scoped(s, || store.snapshot_walk_bounded(&sink, WALK_AHEAD));
        if let Err(e) = walker {
            // Finish the snapshot here, or writers would copy shards for it forever.
            store.snapshot_walk(&sink);
            return Err(e.to_string());
        }
        encode(shared, &sink, sizes, libs, out, opts, aux)
    })
}

/// The code of every function library.
fn function_codes(shared: &Shared) -> Vec<Arc<[u8]>> {
    shared
        .scripts
        .functions
        .libs
        .read()
        .values()
        .map(|l| l.code.clone())
        .collect()
}

/// Turns the snapshot's records into the file, as the walk makes them.
fn encode(
    shared: &Shared,
    sink: &shoal_store::snapshot::SnapSink,
    sizes: &[(u64, u64)],
    libs: &[Arc<[u8]>],
    file: &mut impl Write,
    opts: Opts,
    aux: &[(&[u8], Vec<u8>)],
) -> Result<(), String> {
    let tuning = shared.store.tuning();
    let stop = opts.abortable.then_some(&shared.persist.dropped);
    let mut w = Writer::new(
        opts.compress,
        opts.checksum,
        unix_ms() / 1000,
        shoal_store::mem::used() as u64,
    );
    for (name, value) in aux {
        w.aux(name, value);
    }
    for code in libs {
        w.function(code);
    }
    let io = |e: std::io::Error| format!("Write error saving DB on disk: {e}");
    let stopped = || stop.is_some_and(|s| s.load(Relaxed));
    let mut db_now: Option<u32> = None;
    let mut seen = vec![false; sizes.len()];
    let mut failed = None;
    loop {
        let done = sink.is_done();
        let chunks = sink.take();
        // After a failure the rest is only drained (the walk must finish either way).
        if failed.is_none() {
            'chunks: for c in &chunks {
                let (records, _) = shoal_store::snapshot::read_records_words(c);
                let now = unix_ms();
                for (db, key, expire, word, payload) in records {
                    // Deletion records come only from slot migrations' copies, not snapshots.
                    if payload.is_empty() {
                        continue;
                    }
                    let value = match shoal_store::dump::restore(payload) {
                        Ok(v) => v,
                        Err(_) => {
                            failed = Some("a snapshot record did not decode".to_string());
                            break 'chunks;
                        }
                    };
                    if db_now != Some(db) {
                        let first = seen
                            .get_mut(db as usize)
                            .is_some_and(|s| !std::mem::replace(s, true));
                        let hint = first.then(|| sizes[db as usize]);
                        w.select_db(db as u64, hint);
                        db_now = Some(db);
                    }
                    // A FLUSHALL ends the save (Redis kills its child); the rest is drained.
                    if stopped() {
                        failed = Some(format!("{DROPPED} a FLUSHALL emptied the dataset"));
                        break 'chunks;
                    }
                    w.key_with(key, value.as_ref(), expire, tuning.rdb_usage(word, now));
                    if opts.key_delay_us > 0 {
                        std::thread::sleep(Duration::from_micros(opts.key_delay_us));
                    }
                    if w.pending() >= FLUSH_AT
                        && let Err(e) = file.write_all(&w.take())
                    {
                        failed = Some(io(e));
                        break 'chunks;
                    }
                }
            }
        }
        if done && chunks.is_empty() {
            break;
        }
        if chunks.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    file.write_all(&w.finish()).map_err(io)
}

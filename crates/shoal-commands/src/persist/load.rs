//! Loading an RDB file into the store (at startup, before the dataset is served).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use shoal_store::rdb::reader::{Item, Reader};

use crate::ctx::{Client, ClientInfo, Shared, unix_ms};

/// What a load found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadStats {
    pub keys: u64,
    /// Keys whose time had passed (not loaded, as Redis's primary does).
    pub expired: u64,
    /// Hash fields whose time had passed (not loaded).
    pub fields_expired: u64,
    pub functions: usize,
}

/// Loads the file at `path` into an empty store: `Ok(None)` when there is no file. On error
/// the store may hold part of the file: the caller must not serve it.
pub fn load_file(
    shared: &Arc<Shared>,
    path: &std::path::Path,
) -> Result<Option<LoadStats>, String> {
    let buf = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("Can't read {}: {e}", path.display())),
    };
    let stats = load_bytes(shared, &buf).map_err(|e| format!("{}: {e}", path.display()))?;
    let p = &shared.persist;
    p.keys_loaded.store(stats.keys, Relaxed);
    p.keys_expired_on_load.store(stats.expired, Relaxed);
    p.dirty_base.store(super::write_count(shared), Relaxed);
    Ok(Some(stats))
}

/// Loads an RDB image (a file's bytes, or a primary's payload).
pub fn load_bytes(shared: &Arc<Shared>, buf: &[u8]) -> Result<LoadStats, String> {
    load_into(shared, buf, Merge::Functions)
}

/// What a load does with what is already there.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// A key already there is an error; a function library replaces its namesake (a load
    /// into an emptied server).
    Functions,
    /// Keys and libraries already there are errors (DEBUG RELOAD NOFLUSH).
    Nothing,
    /// Keys and libraries of the file replace their namesakes (DEBUG RELOAD ... MERGE,
    /// Redis's RDBFLAGS_ALLOW_DUP).
    Everything,
}

/// DEBUG RELOAD's load: the file at `dir/dbfilename` (an error when there is none, as Redis's
/// rdbLoad), with commands answering -LOADING meanwhile. On error the store may hold part of
/// the file.
pub fn reload(shared: &Arc<Shared>, merge: Merge) -> Result<LoadStats, String> {
    let path = super::rdb_path(shared);
    let buf = std::fs::read(&path).map_err(|e| format!("Can't read {}: {e}", path.display()))?;
    shared.persist.set_loading(true);
    let r = load_into(shared, &buf, merge);
    shared.persist.set_loading(false);
    let stats = r.map_err(|e| format!("{}: {e}", path.display()))?;
    let p = &shared.persist;
    p.keys_loaded.store(stats.keys, Relaxed);
    p.keys_expired_on_load.store(stats.expired, Relaxed);
    Ok(stats)
}

fn load_into(shared: &Arc<Shared>, buf: &[u8], merge: Merge) -> Result<LoadStats, String> {
    let mut r = Reader::new(buf).map_err(|e| e.to_string())?;
    let store = &shared.store;
    let now = unix_ms();
    let replica = shared.repl.replica.load(Relaxed);
    let delay = shared.config.read().key_load_delay.max(0) as u64;
    let mut stats = LoadStats::default();
    let mut libs: Vec<Vec<u8>> = Vec::new();
    loop {
        let at = r.offset();
        let item = r.next_item().map_err(|e| e.to_string())?;
        match item {
            None => break,
            Some(Item::Aux(k, v)) => {
                if k == b"redis-ver" {
                    tracing::info!(
                        "Loading RDB produced by version {}",
                        String::from_utf8_lossy(&v)
                    );
                }
            }
            Some(Item::Function(code)) => libs.push(code),
            Some(Item::Key {
                db,
                key,
                mut value,
                expire_ms,
                usage,
            }) => {
                let db = usize::try_from(db)
                    .ok()
                    .filter(|d| *d < store.databases())
                    .ok_or_else(|| {
                        format!(
                            "the file holds database {db}, this server has {} (databases)",
                            store.databases()
                        )
                    })?;
                if !replica && expire_ms.is_some_and(|t| t <= now) {
                    stats.expired += 1;
                    continue;
                }
                // Hash fields whose time passed are not loaded either (as Redis 7.4 / 8's
                // primary; a replica keeps them for its primary to delete); a hash left empty
                // is skipped as an empty key.
                if !replica
                    && let shoal_store::value::Value::Hash(h) = &mut value
                    && h.has_ttls()
                {
                    let gone = h.reap(now, usize::MAX).len() as u64;
                    stats.fields_expired += gone;
                    if h.is_empty() {
                        continue;
                    }
                }
                let h = store.hash(&key);
                let mut shard = store.lock(store.shard_id(db, &key, h));
                if shard.upsert(h, &key, value, expire_ms, now) && merge != Merge::Everything {
                    return Err(format!(
                        "Bad RDB file at offset {at}: duplicated key '{}' in DB {db}",
                        String::from_utf8_lossy(&key)
                    ));
                }
                if let Some(w) = store.tuning().word_for(usage, now)
                    && let Some(i) = shard.find_raw(h, &key)
                {
                    shard.set_word(i, w);
                }
                stats.keys += 1;
                drop(shard);
                if delay > 0 {
                    std::thread::sleep(std::time::Duration::from_micros(delay));
                }
            }
        }
    }
    if !libs.is_empty() {
        restore_functions(shared, &libs, merge != Merge::Nothing)?;
        stats.functions = libs.len();
    }
    Ok(stats)
}

/// Loads function libraries (FUNCTION RESTORE of their code, as the master client).
fn restore_functions(shared: &Shared, libs: &[Vec<u8>], replace: bool) -> Result<(), String> {
    let payload = crate::families::functions::payload_of(libs.iter().map(|c| &c[..]));
    let info = Arc::new(ClientInfo::new(
        shared.next_client_id(),
        String::new(),
        String::new(),
    ));
    let mut client = Client::new(info, true);
    client.is_master = true;
    let mut out = shoal_resp::Reply::new();
    let policy: &[u8] = if replace { b"REPLACE" } else { b"APPEND" };
    let cmd = shoal_resp::OwnedArgs::from_parts([&b"FUNCTION"[..], b"RESTORE", &payload, policy]);
    crate::dispatch(shared, &mut client, &mut out, cmd.args(), 0);
    if out.buf.first() == Some(&b'-') {
        return Err(format!(
            "the file's function libraries: {}",
            String::from_utf8_lossy(&out.buf).trim_end()
        ));
    }
    Ok(())
}

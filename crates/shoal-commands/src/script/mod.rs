//! Lua scripting: EVAL and its family, on Lua 5.1 with Redis's dialect (mlua, vendored).
//!
//! Each worker thread has its own Lua state ([`engine`]), so scripts run in parallel on
//! different threads; what is shared is here: the script cache (SHA1 -> body), the scripts
//! running now (for -BUSY, SCRIPT KILL) and a generation number that tells every thread's
//! state to drop what it compiled (SCRIPT FLUSH).
//!
//! A script's commands run in-process through the same `run` as a socket's ([`call`]), under
//! the shard locks of the keys it declared; a key it did not declare is locked when it is
//! first reached ([`shoal_store::LockSet::extend`]), and a script that cannot get one without
//! risking a deadlock, having written nothing yet, starts again holding every shard.

pub mod call;
pub mod convert;
pub mod engine;
pub mod functions;
pub mod learn;
pub mod libs;
pub mod raw;
pub mod run;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

thread_local! {
    static RAN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a script ran on this thread since the last call (and clears it): the connection
/// loop then lets the other ready connections run before it writes (see `connection.rs`).
pub fn take_ran() -> bool {
    RAN.with(|r| r.replace(false))
}

/// Notes that a script ran on this thread.
pub fn note_ran() {
    RAN.with(|r| r.set(true));
}

/// Scripts running now on any thread (a plain counter the lock paths can read cheaply).
pub static RUNNING_NOW: AtomicUsize = AtomicUsize::new(0);

/// Hands this worker thread's share of the runtime (its queued tasks and the I/O driver) to
/// another thread, as `tokio::task::block_in_place` does, so a long script (or a wait on a
/// shard a script holds) does not stop the server from accepting and answering clients.
/// A no-op outside a multi-threaded runtime.
pub fn release_worker() {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread) {
        // The pause lets the thread that takes over start and claim the worker's core.
        tokio::task::block_in_place(|| std::thread::sleep(std::time::Duration::from_millis(1)));
    }
}

/// Locks shard `id` for a command; when it is taken and a script is running (which may hold
/// it for long), the wait happens with this worker handed off (see [`release_worker`]).
pub fn lock_shard(
    store: &shoal_store::Store,
    id: shoal_store::ShardId,
) -> parking_lot::MutexGuard<'_, shoal_store::Shard> {
    if RUNNING_NOW.load(Relaxed) == 0 {
        return store.lock(id);
    }
    if let Some(g) = store.try_lock_for(id, std::time::Duration::ZERO) {
        return g;
    }
    use tokio::runtime::{Handle, RuntimeFlavor};
    if Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread) {
        tokio::task::block_in_place(|| store.lock(id))
    } else {
        store.lock(id)
    }
}

/// The `#!` line of a script or library, split into words as Redis splits it (`sdssplitargs`:
/// blanks separate words, quotes group them). `Err(true)`: there is no line end (Redis looks
/// for it with `strchr`, so a NUL before the first `\n` counts as none); `Err(false)`: the
/// quotes do not balance or the line is blank.
pub fn split_shebang(body: &[u8]) -> Result<Vec<Vec<u8>>, bool> {
    let end = body
        .iter()
        .position(|&c| c == b'\n' || c == 0)
        .filter(|&i| body[i] == b'\n')
        .ok_or(true)?;
    match shoal_resp::split_args(&body[..end]) {
        Ok(parts) if !parts.is_empty() => Ok(parts),
        _ => Err(false),
    }
}

/// A script's SHA1 in lower-case hex.
pub type Sha = [u8; 40];

/// A map keyed by scripts' SHA1s, hashed with foldhash (seeded per process): SipHash over the
/// 40 bytes cost more than the rest of a short script's lookups.
pub type ShaMap<V> = HashMap<Sha, V, foldhash::fast::RandomState>;

/// SHA1 of `body` in lower-case hex (EVAL's script id, `redis.sha1hex`).
pub fn sha1hex(body: &[u8]) -> Sha {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(body);
    let mut out = [0u8; 40];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// `sha` as given by a client, lower-cased, if it has the shape of one.
pub fn parse_sha(s: &[u8]) -> Option<Sha> {
    if s.len() != 40 {
        return None;
    }
    let mut out = [0u8; 40];
    for (o, c) in out.iter_mut().zip(s) {
        *o = c.to_ascii_lowercase();
    }
    Some(out)
}

/// A script running now, as SCRIPT KILL and -BUSY see it.
pub struct Running {
    pub client_id: u64,
    /// A function's name and its FCALL (FUNCTION STATS).
    pub name: String,
    pub command: Vec<Vec<u8>>,
    pub start: Instant,
    /// A FUNCTION (FCALL) rather than an EVAL script: names the KILL command in -BUSY.
    pub function: bool,
    /// It has written: it can no longer be killed.
    pub wrote: AtomicBool,
    /// SCRIPT KILL / FUNCTION KILL asked it to stop.
    pub kill: AtomicBool,
    /// SHUTDOWN NOSAVE: stop even if it wrote.
    pub abort: AtomicBool,
}

/// Scripting state shared by every thread.
#[derive(Default)]
pub struct Scripts {
    cache: RwLock<ShaMap<Arc<[u8]>>>,
    /// Tells this cache from another one in the same process (see `LAST_GET`).
    instance: Instance,
    /// Bumped by SCRIPT FLUSH: every Lua state starts over before its next script.
    pub generation: AtomicU64,
    /// Lua states not running a script now (see `engine::with_engine`).
    pub engines: Mutex<Vec<engine::Pooled>>,
    running: Mutex<Vec<Arc<Running>>>,
    /// Some running script has run past `busy-reply-threshold`: other clients get -BUSY.
    pub busy: AtomicBool,
    pub busy_threshold_ms: AtomicU64,
    /// Bytes of script bodies in the cache (INFO used_memory_scripts_eval).
    pub cache_bytes: AtomicUsize,
    /// Lua heap of every state, summed (INFO used_memory_lua).
    pub lua_bytes: AtomicUsize,
    /// FUNCTION libraries.
    pub functions: functions::Registry,
    /// Which scripts keep to their declared keys (how their runs lock).
    pub learned: learn::Learned,
}

/// A process-unique number per [`Scripts`].
struct Instance(u64);

impl Default for Instance {
    fn default() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Instance(NEXT.fetch_add(1, Relaxed))
    }
}

/// (cache instance, its generation, sha, body): see `LAST_GET`.
type LastGet = (u64, u64, Sha, Arc<[u8]>);

thread_local! {
    /// The last script this thread found in a cache: (cache, its generation then, sha, body).
    /// EVALSHA looks its script up twice (the write check, then the run) and a client
    /// usually sends the same one again: this spares the lock and the hash of 40 bytes.
    /// A SHA1 names one body, so a hit can only be stale about the script still being
    /// there, and SCRIPT FLUSH (the only removal) bumps the generation.
    static LAST_GET: std::cell::RefCell<Option<LastGet>> =
        const { std::cell::RefCell::new(None) };
}

impl Scripts {
    pub fn get(&self, sha: &Sha) -> Option<Arc<[u8]>> {
        // Acquire, paired with flush's Release: a generation read here that is past a flush
        // comes with that flush's emptied cache.
        let generation = self.generation.load(std::sync::atomic::Ordering::Acquire);
        let hit = LAST_GET.with(|m| match &*m.borrow() {
            Some((id, g, s, body)) if *id == self.instance.0 && *g == generation && s == sha => {
                Some(body.clone())
            }
            _ => None,
        });
        if hit.is_some() {
            return hit;
        }
        let body = self.cache.read().get(sha).cloned()?;
        LAST_GET.with(|m| {
            *m.borrow_mut() = Some((self.instance.0, generation, *sha, body.clone()));
        });
        Some(body)
    }

    /// Adds `body` to the cache; its SHA1.
    pub fn add(&self, body: &[u8]) -> Sha {
        let sha = sha1hex(body);
        if !self.cache.read().contains_key(&sha) {
            let mut c = self.cache.write();
            c.entry(sha).or_insert_with(|| {
                self.cache_bytes.fetch_add(body.len() + 40, Relaxed);
                Arc::from(body)
            });
        }
        sha
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        parse_sha(sha).is_some_and(|s| self.cache.read().contains_key(&s))
    }

    pub fn count(&self) -> usize {
        self.cache.read().len()
    }

    /// SCRIPT FLUSH: empties the cache; every Lua state is rebuilt before its next script.
    pub fn flush(&self) {
        self.cache.write().clear();
        self.learned.clear();
        self.cache_bytes.store(0, Relaxed);
        // New states are made for the next scripts (and counted then); a state running a
        // script now is dropped when it ends.
        self.lua_bytes.store(0, Relaxed);
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        let stale = std::mem::take(&mut *self.engines.lock());
        drop(stale);
    }

    /// Registers a script that starts now.
    pub fn start(
        &self,
        client_id: u64,
        function: bool,
        name: String,
        command: Vec<Vec<u8>>,
    ) -> Arc<Running> {
        let r = Arc::new(Running {
            client_id,
            name,
            command,
            start: Instant::now(),
            function,
            wrote: AtomicBool::new(false),
            kill: AtomicBool::new(false),
            abort: AtomicBool::new(false),
        });
        self.running.lock().push(r.clone());
        RUNNING_NOW.fetch_add(1, Relaxed);
        r
    }

    /// The script `r` ended.
    pub fn end(&self, r: &Arc<Running>) {
        let mut running = self.running.lock();
        running.retain(|x| !Arc::ptr_eq(x, r));
        RUNNING_NOW.fetch_sub(1, Relaxed);
        let threshold = self.busy_threshold_ms.load(Relaxed) as u128;
        let still = running
            .iter()
            .any(|x| x.start.elapsed().as_millis() >= threshold);
        self.busy.store(still, Relaxed);
    }

    /// Called from a running script's hook: marks the server busy once it is past the
    /// threshold.
    pub fn check_busy(&self, r: &Running) {
        if !self.busy.load(Relaxed)
            && r.start.elapsed().as_millis() >= self.busy_threshold_ms.load(Relaxed) as u128
        {
            self.busy.store(true, Relaxed);
        }
    }

    /// The error for a client's command while a script is busy.
    pub fn busy_error(&self) -> &'static str {
        let function = self
            .running
            .lock()
            .iter()
            .any(|r| r.function && !r.kill.load(Relaxed));
        if function {
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        } else {
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        }
    }

    /// SCRIPT KILL / FUNCTION KILL: stops the busy scripts of that kind that have not written.
    pub fn kill(&self, function: bool) -> Result<(), &'static str> {
        let busy_text = self.busy_error();
        let running = self.running.lock();
        let threshold = self.busy_threshold_ms.load(Relaxed) as u128;
        let busy: Vec<&Arc<Running>> = running
            .iter()
            .filter(|r| r.start.elapsed().as_millis() >= threshold)
            .collect();
        if busy.is_empty() {
            return Err("NOTBUSY No scripts in execution right now.");
        }
        let of_kind: Vec<&&Arc<Running>> = busy.iter().filter(|r| r.function == function).collect();
        if of_kind.is_empty() {
            // SCRIPT KILL of a function (or FUNCTION KILL of a script): the BUSY error that
            // names the right command.
            return Err(busy_text);
        }
        if of_kind.iter().any(|r| r.wrote.load(Relaxed)) {
            return Err(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
            );
        }
        for r in of_kind {
            r.kill.store(true, Relaxed);
        }
        Ok(())
    }

    /// SHUTDOWN NOSAVE: every running script stops at its next check.
    pub fn abort_all(&self) {
        for r in self.running.lock().iter() {
            r.abort.store(true, Relaxed);
            r.kill.store(true, Relaxed);
        }
    }

    /// FUNCTION STATS: the function running now (name, command, milliseconds).
    pub fn running_function(&self) -> Option<(String, Vec<Vec<u8>>, u128)> {
        self.running.lock().iter().find(|r| r.function).map(|r| {
            (
                r.name.clone(),
                r.command.clone(),
                r.start.elapsed().as_millis(),
            )
        })
    }

    /// Whether a script is running right now.
    pub fn any_running(&self) -> bool {
        !self.running.lock().is_empty()
    }
}

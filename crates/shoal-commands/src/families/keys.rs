//! Generic key commands: DEL, EXISTS, TYPE, RENAME, COPY, MOVE, SWAPDB, KEYS, SCAN, RANDOMKEY,
//! OBJECT, DUMP, RESTORE.

use rand::RngExt;
use shoal_resp::Args;
use shoal_store::dump::{self, RestoreError};
use shoal_store::glob::glob_match;
use shoal_store::{ShardId, Store};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::{self, GENERIC};
use crate::spec::{Group, Locking, Spec, cmd, flags::*};
use crate::util::{self, eq_ic, int, uint};

/// DEL key [key ...] and UNLINK (freeing is immediate either way for values this small).
/// UNLINK key [key ...] too (and DEL with lazyfree-lazy-user-del): big values are freed by
/// the lazyfree thread.
fn del(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let lazy = a.get(0).eq_ignore_ascii_case(b"unlink")
        || shoal_store::lazyfree::enabled(shoal_store::lazyfree::USER_DEL);
    let mut n = 0;
    for key in a.iter().skip(1) {
        let Some(e) = ctx.ks.shard(key).remove() else {
            continue;
        };
        if lazy {
            shoal_store::lazyfree::free_entry(e);
        } else {
            drop(e);
        }
        ctx.notify(GENERIC, "del", key);
        n += 1;
    }
    ctx.out.int(n);
    Ok(())
}

/// EXISTS key [key ...] — a key named twice counts twice.
fn exists(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    // As Redis, EXISTS does not count as an access (OBJECT IDLETIME, LRU/LFU); TOUCH does.
    count_live(ctx, a, false)
}

/// TOUCH key [key ...]
fn touch(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    count_live(ctx, a, true)
}

/// How many of the keys exist, refreshing their access time or not.
fn count_live(ctx: &mut Ctx<'_>, a: Args<'_>, access: bool) -> CmdResult {
    let mut n = 0;
    for key in a.iter().skip(1) {
        let mut k = ctx.ks.shard(key);
        let found = if access { k.find() } else { k.peek() }.is_some();
        drop(k);
        if !found {
            ctx.notify_keymiss(key);
        }
        n += found as i64;
    }
    ctx.out.int(n);
    Ok(())
}

/// TYPE key
fn type_(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut s = ctx.ks.shard(a.get(1));
    let t = match s.peek() {
        Some(i) => s.entry(i).value().type_name(),
        None => {
            drop(s);
            ctx.notify_keymiss(a.get(1));
            "none"
        }
    };
    ctx.out.simple(t.as_bytes());
    Ok(())
}

/// The body of RENAME and RENAMENX. Returns false when `nx` and the target exists.
fn rename_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, nx: bool) -> Result<bool, CmdError> {
    let (src, dst) = (a.get(1), a.get(2));
    let mut s = ctx.ks.shard(src);
    let Some(i) = s.find() else {
        return Err(errors::NO_SUCH_KEY.into());
    };
    if src == dst {
        return Ok(!nx);
    }
    drop(s);
    if nx && ctx.ks.shard(dst).find().is_some() {
        return Ok(false);
    }
    let e = ctx.ks.shard(src).remove_at(i);
    let mut d = ctx.ks.shard(dst);
    let ttl = e.expire_at();
    let v = e.into_value();
    let wake = util::blockable(&v);
    d.upsert(v, ttl);
    drop(d);
    // The destination is added anew even over an old value (Redis deletes that silently).
    let db = ctx.ks.db;
    ctx.notify_new_in(db, dst);
    ctx.notify(GENERIC, "rename_from", src);
    ctx.notify(GENERIC, "rename_to", dst);
    util::key_ready(ctx, ctx.ks.db, dst, wake);
    Ok(true)
}

/// RENAME key newkey
fn rename(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    rename_generic(ctx, &a, false)?;
    ctx.out.ok();
    Ok(())
}

/// RENAMENX key newkey
fn renamenx(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let done = rename_generic(ctx, &a, true)?;
    ctx.out.int(done as i64);
    Ok(())
}

fn db_index(ctx: &Ctx<'_>, a: &[u8]) -> Result<usize, CmdError> {
    let n = int(a)?;
    if n < 0 || n as usize >= ctx.ks.store.databases() {
        return Err(errors::DB_RANGE.into());
    }
    Ok(n as usize)
}

/// COPY source destination [DB destination-db] [REPLACE]
fn copy(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (src, dst) = (a.get(1), a.get(2));
    let mut dst_db = ctx.ks.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if eq_ic(a.get(i), "replace") {
            replace = true;
        } else if eq_ic(a.get(i), "db") && i + 1 < a.len() {
            dst_db = db_index(ctx, a.get(i + 1))?;
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if src == dst && dst_db == ctx.ks.db {
        return Err(errors::SAME_OBJECT.into());
    }
    let mut s = ctx.ks.shard(src);
    let Some(i) = s.find() else {
        drop(s);
        ctx.out.int(0);
        return Ok(());
    };
    let (value, ttl) = (s.entry(i).value().to_owned(), s.entry(i).expire_at());
    drop(s);
    let wake = util::blockable(&value);
    let mut d = ctx.ks.shard_in(dst_db, dst);
    let done = match d.find() {
        Some(_) if !replace => false,
        _ => {
            d.upsert(value, ttl);
            true
        }
    };
    drop(d);
    if done {
        ctx.notify_new_in(dst_db, dst);
        ctx.notify_in(dst_db, GENERIC, "copy_to", dst);
    }
    util::key_ready(ctx, dst_db, dst, wake && done);
    ctx.out.int(done as i64);
    Ok(())
}

fn copy_locks(store: &Store, db: usize, a: &Args<'_>, ids: &mut Vec<ShardId>) {
    let mut dst_db = db;
    for i in 3..a.len() {
        if eq_ic(a.get(i), "db")
            && let Some(n) = shoal_resp::parse_i64(a.get(i + 1))
            && n >= 0
            && (n as usize) < store.databases()
        {
            dst_db = n as usize;
        }
    }
    ids.push(store.shard_id(db, a.get(1), store.hash(a.get(1))));
    ids.push(store.shard_id(dst_db, a.get(2), store.hash(a.get(2))));
}

/// MOVE key db — 1 if moved; 0 if missing here or present there.
fn move_(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let key = a.get(1);
    let target = db_index(ctx, a.get(2))?;
    if target == ctx.ks.db {
        return Err(errors::SAME_OBJECT.into());
    }
    let mut s = ctx.ks.shard(key);
    let Some(i) = s.find() else {
        drop(s);
        ctx.out.int(0);
        return Ok(());
    };
    drop(s);
    if ctx.ks.shard_in(target, key).find().is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    let e = ctx.ks.shard(key).remove_at(i);
    let ttl = e.expire_at();
    let v = e.into_value();
    let wake = util::blockable(&v);
    ctx.ks.shard_in(target, key).insert_new(v, ttl);
    let src_db = ctx.ks.db;
    ctx.notify_new_in(target, key);
    ctx.notify_in(src_db, GENERIC, "move_from", key);
    ctx.notify_in(target, GENERIC, "move_to", key);
    util::key_ready(ctx, target, key, wake);
    ctx.out.int(1);
    Ok(())
}

fn move_locks(store: &Store, db: usize, a: &Args<'_>, ids: &mut Vec<ShardId>) {
    let h = store.hash(a.get(1));
    ids.push(store.shard_id(db, a.get(1), h));
    if let Some(n) = shoal_resp::parse_i64(a.get(2))
        && n >= 0
        && (n as usize) < store.databases()
    {
        ids.push(store.shard_id(n as usize, a.get(1), h));
    }
}

fn swapdb_index(store: &Store, a: &[u8], which: &str) -> Result<usize, CmdError> {
    let n = shoal_resp::parse_i64(a)
        .ok_or_else(|| CmdError::from(format!("ERR invalid {which} DB index")))?;
    if n < 0 || n as usize >= store.databases() {
        return Err(errors::DB_RANGE.into());
    }
    Ok(n as usize)
}

/// SWAPDB index1 index2 — atomic: both databases are locked whole.
fn swapdb(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let store = ctx.ks.store;
    let x = swapdb_index(store, a.get(1), "first")?;
    let y = swapdb_index(store, a.get(2), "second")?;
    if x != y {
        for idx in 0..store.shards_per_db() as u32 {
            let (ia, ib) = (ShardId { db: x as u32, idx }, ShardId { db: y as u32, idx });
            if let Some((p, q)) = ctx.ks.locks.get_pair(ia, ib) {
                shoal_store::Shard::swap_data(p, q);
            }
        }
        // A list or sorted set may have come into place under a blocked client's key.
        let shared = ctx.shared;
        shared.blocking.signal_db(shared, x);
        shared.blocking.signal_db(shared, y);
    }
    ctx.out.ok();
    Ok(())
}

fn swapdb_locks(store: &Store, _db: usize, a: &Args<'_>, ids: &mut Vec<ShardId>) {
    for arg in [a.get(1), a.get(2)] {
        if let Some(n) = shoal_resp::parse_i64(arg)
            && n >= 0
            && (n as usize) < store.databases()
        {
            ids.extend(store.db_shards(n as usize));
        }
    }
}

/// KEYS pattern
fn keys(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let pat = a.get(1);
    let all = pat == b"*";
    let now = ctx.now();
    let mut found: Vec<Box<[u8]>> = Vec::new();
    for id in ctx.ks.store.live_db_shards(ctx.ks.db) {
        let s = ctx.ks.shard_at(id);
        for i in 0..s.len() {
            if let Some(e) = s.at(i)
                && !e.is_expired(now)
                && (all || glob_match(pat, e.key(), false))
            {
                found.push(e.key().into());
            }
        }
    }
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

const MAXP: u64 = (1 << 40) - 1;

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
///
/// The cursor is `shard << 40 | (MAXP - position)`, so 0 starts at the top of shard 0. Each shard's
/// dense entry vector is walked downward; see `shoal_store::shard` for why that returns every key
/// present for the whole scan.
fn scan(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let cursor: u64 = std::str::from_utf8(a.get(1))
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(CmdError::from(errors::INVALID_CURSOR))?;
    let mut pat: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut typ: Option<&[u8]> = None;
    let mut i = 2;
    while i < a.len() {
        let opt = a.get(i);
        if i + 1 >= a.len() {
            return Err(errors::SYNTAX.into());
        }
        if eq_ic(opt, "match") {
            pat = Some(a.get(i + 1)).filter(|p| *p != b"*");
        } else if eq_ic(opt, "count") {
            count = uint(a.get(i + 1))?;
            if count < 1 {
                return Err(errors::SYNTAX.into());
            }
        } else if eq_ic(opt, "type") {
            typ = Some(a.get(i + 1));
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    let now = ctx.now();
    let nshards = ctx.ks.store.shards_per_db() as u64;
    let mut shard = cursor >> 40;
    // Absolute position in the shard's entry vector: everything at or above it was returned.
    let mut top = MAXP - (cursor & MAXP);
    let mut seen = 0usize;
    let mut out: Vec<Box<[u8]>> = Vec::new();
    let db = ctx.ks.db as u32;
    while shard < nshards && seen < count {
        let s = ctx.ks.shard_at(ShardId {
            db,
            idx: shard as u32,
        });
        let mut pos = top.min(s.len() as u64);
        while pos > 0 && seen < count {
            pos -= 1;
            seen += 1;
            if let Some(e) = s.at(pos as usize)
                && !e.is_expired(now)
                && pat.is_none_or(|p| glob_match(p, e.key(), false))
                && typ.is_none_or(|t| t.eq_ignore_ascii_case(e.value().type_name().as_bytes()))
            {
                out.push(e.key().into());
            }
        }
        if pos == 0 {
            shard += 1;
            top = MAXP;
        } else {
            top = pos;
        }
    }
    let next = if shard >= nshards {
        0
    } else {
        (shard << 40) | (MAXP - top)
    };
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(out.len());
    for k in &out {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY
fn randomkey(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let _ = a;
    let now = ctx.now();
    let store = ctx.ks.store;
    let n = store.shards_per_db();
    let db = ctx.ks.db as u32;
    let shared = ctx.shared;
    let mut rng = rand::rng();
    // Random shards first; a sparse keyspace falls back to a walk from a random start.
    for attempt in 0..(n + 64) {
        let idx = if attempt < 64 {
            rng.random_range(0..n)
        } else {
            (attempt - 64) % n
        } as u32;
        let mut s = ctx.ks.shard_at(ShardId { db, idx });
        for _ in 0..16 {
            if s.is_empty() {
                break;
            }
            let i = rng.random_range(0..s.len());
            if s.entry(i).is_expired(now) {
                s.expired_total += 1;
                let e = s.remove_at(i);
                notify::notify_in(shared, db as usize, notify::EXPIRED, "expired", e.key());
                continue;
            }
            let k = s.entry(i).key().to_vec();
            drop(s);
            ctx.out.bulk(&k);
            return Ok(());
        }
    }
    ctx.out.null();
    Ok(())
}

/// OBJECT ENCODING|IDLETIME|FREQ|REFCOUNT key, OBJECT HELP
fn object(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1);
    if eq_ic(sub, "help") {
        let lines = [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Print this help.",
        ];
        crate::util::help(ctx.out, &lines);
        return Ok(());
    }
    let which = ["encoding", "idletime", "freq", "refcount"]
        .into_iter()
        .find(|n| eq_ic(sub, n));
    let Some(which) = which else {
        return Err(errors::unknown_subcommand(sub, "object"));
    };
    if a.len() != 3 {
        return Err(errors::arity(&format!("object|{which}")));
    }
    let now = ctx.now();
    let mut s = ctx.ks.shard(a.get(2));
    let Some(i) = s.peek() else {
        drop(s);
        ctx.out.null();
        return Ok(());
    };
    let e = s.entry(i);
    match which {
        "encoding" => {
            ctx.out.bulk(e.value().encoding().as_bytes());
        }
        "idletime" if s.tuning().policy().is_lfu() => {
            return Err(errors::LFU_SELECTED.into());
        }
        "idletime" => {
            let idle = shoal_store::policy::lru_idle_ms(e.word(), now) / 1000;
            ctx.out.int(idle as i64)
        }
        "freq" if s.tuning().policy().is_lfu() => {
            ctx.out.int(s.tuning().lfu_freq(e.word(), now) as i64)
        }
        "freq" => return Err(errors::LFU_NOT_SELECTED.into()),
        _ => ctx.out.int(1),
    }
    Ok(())
}

/// DUMP key
fn dump_(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let mut s = ctx.ks.shard(a.get(1));
    match s.find() {
        Some(i) => {
            let p = dump::dump(s.entry(i).value());
            drop(s);
            ctx.out.bulk(&p);
        }
        None => {
            drop(s);
            ctx.notify_keymiss(a.get(1));
            ctx.out.null();
        }
    }
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let ttl = int(a.get(2))?;
    use shoal_store::rdb::writer::Usage;
    let (mut replace, mut absttl) = (false, false);
    let mut usage = Usage::None;
    let mut i = 4;
    while i < a.len() {
        let opt = a.get(i);
        if eq_ic(opt, "replace") {
            replace = true;
        } else if eq_ic(opt, "absttl") {
            absttl = true;
        // As Redis, IDLETIME and FREQ exclude each other (the second is a syntax error).
        } else if eq_ic(opt, "idletime") && i + 1 < a.len() && !matches!(usage, Usage::Freq(_)) {
            let idle = int(a.get(i + 1))?;
            if idle < 0 {
                return Err("ERR Invalid IDLETIME value, must be >= 0".into());
            }
            usage = Usage::IdleSecs(idle as u64);
            i += 1;
        } else if eq_ic(opt, "freq") && i + 1 < a.len() && !matches!(usage, Usage::IdleSecs(_)) {
            let f = int(a.get(i + 1))?;
            if !(0..=255).contains(&f) {
                return Err("ERR Invalid FREQ value, must be >= 0 and <= 255".into());
            }
            usage = Usage::Freq(f as u8);
            i += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    // As Redis: an existing key is refused before the TTL and the payload are looked at.
    if !replace && ctx.ks.shard(a.get(1)).peek().is_some() {
        return Err(errors::BUSYKEY.into());
    }
    if ttl < 0 {
        return Err(errors::INVALID_TTL.into());
    }
    let value = dump::restore(a.get(3)).map_err(|e| match e {
        RestoreError::VersionOrChecksum => CmdError::from(errors::BAD_PAYLOAD),
        RestoreError::BadData => CmdError::from(errors::BAD_DATA),
    })?;
    let now = ctx.now() as i64;
    let at = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t),
        (t, false) => Some(
            t.checked_add(now)
                .ok_or_else(|| errors::invalid_expire("restore"))?,
        ),
    };
    let mut s = ctx.ks.shard(a.get(1));
    let existing = s.find();
    if existing.is_some() && !replace {
        return Err(errors::BUSYKEY.into());
    }
    let key = a.get(1);
    match at {
        Some(t) if t <= now => {
            let existed = existing.is_some();
            if let Some(i) = existing {
                s.remove_at(i);
            }
            drop(s);
            if existed {
                ctx.notify(GENERIC, "del", key);
                ctx.propagate_as(&[b"DEL", key]);
            } else {
                ctx.propagate_nothing();
            }
        }
        _ => {
            let wake = util::blockable(&value);
            s.upsert(value, at.map(|t| t as u64));
            // IDLETIME / FREQ set the key's LRU clock or LFU counter (Redis's objectSetLRUOrLFU).
            let h = s.hash;
            if let Some(w) = s.tuning().word_for(usage, s.now)
                && let Some(i) = s.find_raw(h, key)
            {
                s.set_word(i, w);
            }
            drop(s);
            // REPLACE deletes the old key silently and adds the new one.
            let db = ctx.ks.db;
            ctx.notify_new_in(db, key);
            ctx.notify(GENERIC, "restore", key);
            util::key_ready(ctx, ctx.ks.db, key, wake);
            // Replicas get the absolute expiry.
            let t = itoa::Buffer::new().format(at.unwrap_or(0)).to_owned();
            ctx.propagate_as(&[
                b"RESTORE",
                key,
                t.as_bytes(),
                a.get(3),
                b"ABSTTL",
                b"REPLACE",
            ]);
        }
    }
    ctx.out.ok();
    Ok(())
}

const K1: (i32, i32, i32) = (1, 1, 1);
const NOKEY: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "del",
        -2,
        WRITE,
        (1, -1, 1),
        Group::Generic,
        "1.0.0",
        "Deletes one or more keys.",
        del,
    ),
    cmd(
        "unlink",
        -2,
        WRITE | FAST,
        (1, -1, 1),
        Group::Generic,
        "4.0.0",
        "Asynchronously deletes one or more keys.",
        del,
    ),
    cmd(
        "exists",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        Group::Generic,
        "1.0.0",
        "Determines whether one or more keys exist.",
        exists,
    ),
    cmd(
        "touch",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        Group::Generic,
        "3.2.1",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        touch,
    ),
    cmd(
        "type",
        2,
        READONLY | FAST,
        K1,
        Group::Generic,
        "1.0.0",
        "Determines the type of value stored at a key.",
        type_,
    ),
    cmd(
        "rename",
        3,
        WRITE,
        (1, 2, 1),
        Group::Generic,
        "1.0.0",
        "Renames a key and overwrites the destination.",
        rename,
    ),
    cmd(
        "renamenx",
        3,
        WRITE | FAST,
        (1, 2, 1),
        Group::Generic,
        "1.0.0",
        "Renames a key only when the target key name doesn't exist.",
        renamenx,
    ),
    cmd(
        "copy",
        -3,
        WRITE | DENYOOM,
        (1, 2, 1),
        Group::Generic,
        "6.2.0",
        "Copies the value of a key to a new key.",
        copy,
    )
    .locking(Locking::Custom(copy_locks)),
    cmd(
        "move",
        3,
        WRITE | FAST,
        K1,
        Group::Generic,
        "1.0.0",
        "Moves a key to another database.",
        move_,
    )
    .locking(Locking::Custom(move_locks)),
    cmd(
        "swapdb",
        3,
        WRITE | FAST,
        NOKEY,
        Group::Server,
        "4.0.0",
        "Swaps two Redis databases.",
        swapdb,
    )
    .locking(Locking::Custom(swapdb_locks)),
    cmd(
        "keys",
        2,
        READONLY,
        NOKEY,
        Group::Generic,
        "1.0.0",
        "Returns all key names that match a pattern.",
        keys,
    )
    .locking(Locking::Global),
    cmd(
        "scan",
        -2,
        READONLY,
        NOKEY,
        Group::Generic,
        "2.8.0",
        "Iterates over the key names in the database.",
        scan,
    )
    .locking(Locking::Global),
    cmd(
        "randomkey",
        1,
        READONLY,
        NOKEY,
        Group::Generic,
        "1.0.0",
        "Returns a random key name from the database.",
        randomkey,
    )
    .locking(Locking::Global),
    cmd(
        "object",
        -2,
        READONLY,
        (2, 2, 1),
        Group::Generic,
        "2.2.3",
        "A container for object introspection commands.",
        object,
    )
    .subcommands(&["encoding", "idletime", "freq", "refcount", "help"]),
    cmd(
        "dump",
        2,
        READONLY,
        K1,
        Group::Generic,
        "2.6.0",
        "Returns a serialized representation of the value stored at a key.",
        dump_,
    ),
    cmd(
        "restore",
        -4,
        WRITE | DENYOOM,
        K1,
        Group::Generic,
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
        restore,
    ),
    // What MIGRATE sends in cluster mode: RESTORE, routed as if ASKING came first.
    cmd(
        "restore-asking",
        -4,
        WRITE | DENYOOM,
        K1,
        Group::Generic,
        "3.0.0",
        "An internal command for migrating keys in a cluster.",
        restore,
    ),
];

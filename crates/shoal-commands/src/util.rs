//! Argument parsing shared by the families: integers, floats, string values, TTL options.

use std::borrow::Cow;

use shoal_resp::parse_i64;
use shoal_store::{CollMut, NewValue, Value, ValueRef};

use crate::errors::{self, CmdError};

/// An integer argument (`ERR value is not an integer or out of range` otherwise).
pub fn int(a: &[u8]) -> Result<i64, CmdError> {
    parse_i64(a).ok_or_else(|| errors::NOT_INTEGER.into())
}

/// A non-negative integer argument that fits `usize`.
pub fn uint(a: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(a) {
        Some(n) if n >= 0 => Ok(n as usize),
        _ => Err(errors::NOT_INTEGER.into()),
    }
}

/// A float as Redis's `string2ld` accepts it: no surrounding spaces, no NaN.
pub fn float(a: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(a).ok()?;
    if s.is_empty()
        || s.starts_with(|c: char| c.is_ascii_whitespace())
        || s.ends_with(|c: char| c.is_ascii_whitespace())
    {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    (!v.is_nan()).then_some(v)
}

/// Builds a string value, in integer form when the bytes are a canonical integer (OBJECT
/// ENCODING `int`, as Redis does for strings of at most 20 bytes).
pub fn string_value(b: &[u8]) -> NewValue<'_> {
    if b.len() <= 20
        && let Some(n) = parse_i64(b)
    {
        return NewValue::Int(n);
    }
    NewValue::Str(b)
}

/// The bytes of a string value; WRONGTYPE for other types.
pub fn str_bytes(v: ValueRef<'_>) -> Result<Cow<'_, [u8]>, CmdError> {
    match v {
        ValueRef::Str(s) => Ok(Cow::Borrowed(s)),
        ValueRef::Int(n) => Ok(Cow::Owned(
            itoa::Buffer::new().format(n).as_bytes().to_vec(),
        )),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

/// The integer held by a string value (INCR and friends).
pub fn value_int(v: ValueRef<'_>) -> Result<i64, CmdError> {
    match v {
        ValueRef::Int(n) => Ok(n),
        ValueRef::Str(s) => int(s),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

pub fn eq_ic(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// A relative or absolute TTL argument turned into an absolute unix-ms time.
/// `unit_ms` is 1000 for seconds, 1 for milliseconds; `absolute` for EXAT/PXAT/EXPIREAT.
/// `None` when the result overflows (the caller picks the error text).
pub fn deadline(n: i64, unit_ms: i64, absolute: bool, now: u64) -> Option<i64> {
    let ms = n.checked_mul(unit_ms)?;
    if absolute {
        Some(ms)
    } else {
        ms.checked_add(now as i64)
    }
}

/// A HELP reply: one simple string per line.
pub fn help(out: &mut shoal_resp::Reply, lines: &[&str]) {
    out.array(lines.len());
    for l in lines {
        out.simple(l.as_bytes());
    }
}

/// Reads the value at `key` of the current database: `Ok(None)` when absent.
pub fn read_value<R>(
    ctx: &mut crate::ctx::Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(ValueRef<'_>) -> Result<R, CmdError>,
) -> Result<Option<R>, CmdError> {
    let mut s = ctx.ks.shard(key);
    let r = match s.find() {
        Some(i) => f(s.entry(i).value()).map(Some),
        None => Ok(None),
    };
    drop(s);
    // Keyspace hits and misses, as Redis counts its read lookups (and sends `keymiss`).
    ctx.hit(matches!(r, Ok(Some(_))));
    if matches!(r, Ok(None)) {
        ctx.notify_keymiss(key);
    }
    r
}

/// Like [`read_value`] for a lookup Redis makes as a write (no hit/miss, no `keymiss`).
pub fn peek_value<R>(
    ctx: &mut crate::ctx::Ctx<'_>,
    key: &[u8],
    f: impl FnOnce(ValueRef<'_>) -> Result<R, CmdError>,
) -> Result<Option<R>, CmdError> {
    let mut s = ctx.ks.shard(key);
    match s.find() {
        Some(i) => f(s.entry(i).value()).map(Some),
        None => Ok(None),
    }
}

/// Changes the collection at `key`: `create` makes an empty one when the key is absent (`None`:
/// absent stays absent and `f` is not called). A collection left empty is deleted, as Redis does.
pub fn write_value<R>(
    ctx: &mut crate::ctx::Ctx<'_>,
    key: &[u8],
    want: &str,
    create: Option<fn() -> Value>,
    f: impl FnOnce(CollMut<'_>) -> Result<R, CmdError>,
) -> Result<Option<R>, CmdError> {
    let r = write_value_ev(ctx, key, want, create, f)?;
    Ok(r.map(|(r, ch)| {
        wake_if_ready(ctx, key, ch);
        r
    }))
}

/// After [`write_value_ev`]: a list or sorted set left with data may be what a blocked client
/// waits for (woken after the write's keyspace events, so they come before the pop's).
pub fn wake_if_ready(ctx: &crate::ctx::Ctx<'_>, key: &[u8], ch: crate::notify::Change) {
    if ch.ready {
        let (shared, db) = (ctx.shared, ctx.ks.db);
        shared.blocking.signal(shared, db, key);
    }
}

/// [`write_value`] with its keyspace events: `new` if it created the key, then `ev` (class,
/// name) if `fire` says the result changed something, then `del` if it emptied the key.
pub fn write_notify<R>(
    ctx: &mut crate::ctx::Ctx<'_>,
    key: &[u8],
    want: &str,
    create: Option<fn() -> Value>,
    ev: (u32, &str),
    fire: impl FnOnce(&R) -> bool,
    f: impl FnOnce(CollMut<'_>) -> Result<R, CmdError>,
) -> Result<Option<R>, CmdError> {
    let r = write_value_ev(ctx, key, want, create, f)?;
    Ok(r.map(|(r, ch)| {
        let event = fire(&r).then_some(ev.1);
        ctx.notify_write(ev.0, event, key, ch);
        wake_if_ready(ctx, key, ch);
        r
    }))
}

/// [`write_value`], also saying whether the key was created or deleted (for the keyspace
/// events around the command's own: see `Ctx::notify_write`). Wakes no blocked client: call
/// [`wake_if_ready`] after the events.
pub fn write_value_ev<R>(
    ctx: &mut crate::ctx::Ctx<'_>,
    key: &[u8],
    want: &str,
    create: Option<fn() -> Value>,
    f: impl FnOnce(CollMut<'_>) -> Result<R, CmdError>,
) -> Result<Option<(R, crate::notify::Change)>, CmdError> {
    let mut s = ctx.ks.shard(key);
    let mut created = false;
    let i = match (s.find(), create) {
        // A key of another type is refused before anything (WATCH included) sees a change.
        (Some(i), _) if s.entry(i).value().type_name() != want => {
            return Err(errors::WRONGTYPE.into());
        }
        (Some(i), _) => i,
        (None, Some(make)) => {
            created = true;
            s.insert_new(make(), None)
        }
        (None, None) => return Ok(None),
    };
    let r = f(s.coll_mut(i));
    let (empty, blockable) = match s.entry(i).value() {
        ValueRef::Hash(h) if h.has_ttls() && !h.is_empty() => {
            // A field got a TTL (or the hash had some): watched by the active expiry.
            s.note_field_ttls(key);
            (false, false)
        }
        ValueRef::Hash(h) => (h.is_empty(), false),
        ValueRef::List(l) => (l.is_empty(), true),
        ValueRef::Set(st) => (st.is_empty(), false),
        ValueRef::ZSet(z) => (z.is_empty(), true),
        _ => (false, false),
    };
    if empty {
        s.remove_at(i);
    }
    drop(s);
    // Created and left empty at once (nothing was added): nothing happened to the key.
    let ch = crate::notify::Change {
        created: created && !empty,
        emptied: empty && !created,
        ready: blockable && !empty,
    };
    r.map(|r| Some((r, ch)))
}

/// Whether a blocked client may wait for a value of this type (a list or a sorted set).
pub fn blockable(v: &Value) -> bool {
    matches!(v, Value::List(_) | Value::ZSet(_))
}

/// `key` of `db` was just given a whole value (RENAME, COPY, MOVE, RESTORE): when `blockable`,
/// wake a client blocked on it, as Redis signals every list or sorted set it adds to a database.
/// Call with no shard lock held.
pub fn key_ready(ctx: &crate::ctx::Ctx<'_>, db: usize, key: &[u8], blockable: bool) {
    if blockable {
        ctx.shared.blocking.signal(ctx.shared, db, key);
    }
}

/// What HSCAN, SSCAN and ZSCAN were asked for.
pub struct ScanOptions<'a> {
    pub cursor: u64,
    /// `None` for `*`.
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub novalues: bool,
}

/// `cursor [MATCH pattern] [COUNT count] [NOVALUES]` of HSCAN/SSCAN/ZSCAN, the cursor at
/// `args[from - 1]` (NOVALUES only where `novalues_ok`).
pub fn scan_options<'a>(
    a: &shoal_resp::Args<'a>,
    from: usize,
    novalues_ok: bool,
) -> Result<ScanOptions<'a>, CmdError> {
    let cursor = std::str::from_utf8(a.get(from - 1))
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(CmdError::from(errors::INVALID_CURSOR))?;
    let (mut pat, mut novalues, mut count) = (None, false, 10);
    let mut i = from;
    while i < a.len() {
        let opt = a.get(i);
        if novalues_ok && eq_ic(opt, "novalues") {
            novalues = true;
            i += 1;
            continue;
        }
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
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 2;
    }
    Ok(ScanOptions {
        cursor,
        pattern: pat,
        count,
        novalues,
    })
}

/// The positions one call of a collection SCAN visits, for a collection whose elements sit at
/// positions `0..len` and only ever move down (removals move the last one into the hole): the
/// walk goes down from the top, so an element present for the whole scan is returned at least
/// once. Cursor 0 starts at the top; the next cursor is 0 when the walk is done.
pub fn scan_positions(len: usize, cursor: u64, count: usize) -> (std::ops::Range<usize>, u64) {
    let top = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let bottom = top.saturating_sub(count);
    (bottom..top, bottom as u64)
}

/// The positions one HSCAN/SSCAN/ZSCAN call returns, in reply order, and the next cursor: a
/// compact collection whole in its own order (as Redis returns a listpack or intset), a large one
/// COUNT at a time from the top down (see `scan_positions`).
pub fn scan_order(compact: bool, len: usize, o: &ScanOptions<'_>) -> (Vec<usize>, u64) {
    if compact {
        return ((0..len).collect(), 0);
    }
    let (r, next) = scan_positions(len, o.cursor, o.count);
    (r.rev().collect(), next)
}

/// The count of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER: Redis takes `-LONG_MAX..=LONG_MAX`.
pub fn rand_count(a: &[u8]) -> Result<i64, CmdError> {
    match int(a)? {
        i64::MIN => Err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
                .into(),
        ),
        c => Ok(c),
    }
}

/// A count of HRANDFIELD WITHVALUES / ZRANDMEMBER WITHSCORES: Redis takes half the range (the
/// reply has two entries per pick).
pub fn rand_pairs_count(c: i64) -> Result<(), CmdError> {
    if (-(i64::MAX / 2)..=i64::MAX / 2).contains(&c) {
        Ok(())
    } else {
        Err("ERR value is out of range".into())
    }
}

/// Which elements SRANDMEMBER, HRANDFIELD and ZRANDMEMBER return, as positions in `0..len`:
/// one for no count; `count` distinct ones (all, at most) for a positive count; `-count` with
/// repeats for a negative one (capped, as an answer of billions of elements helps nobody).
pub fn random_picks(len: usize, count: Option<i64>) -> Vec<usize> {
    use rand::RngExt;
    let mut rng = rand::rng();
    if len == 0 {
        return Vec::new();
    }
    match count {
        None => vec![rng.random_range(0..len)],
        Some(c) if c < 0 => (0..c.unsigned_abs().min(1 << 24))
            .map(|_| rng.random_range(0..len))
            .collect(),
        Some(c) if c as usize >= len => (0..len).collect(),
        Some(c) if (c as usize) * 3 > len => {
            // Many of them: shuffle the front of every position.
            let mut idx: Vec<usize> = (0..len).collect();
            for i in 0..c as usize {
                let j = rng.random_range(i..len);
                idx.swap(i, j);
            }
            idx.truncate(c as usize);
            idx
        }
        Some(c) => {
            // Few of them: draw until enough distinct ones.
            let mut seen = hashbrown::HashSet::with_capacity_and_hasher(
                c as usize,
                foldhash::fast::RandomState::default(),
            );
            let mut out = Vec::with_capacity(c as usize);
            while out.len() < c as usize {
                let i = rng.random_range(0..len);
                if seen.insert(i) {
                    out.push(i);
                }
            }
            out
        }
    }
}

/// The `[LIMIT limit]` options of SINTERCARD and ZINTERCARD from `args[from]` on (given more
/// than once, the last one counts, as in Redis); 0 for none.
pub fn intercard_limit(a: &shoal_resp::Args<'_>, from: usize) -> Result<usize, CmdError> {
    let (mut limit, mut j) = (0, from);
    while j < a.len() {
        if !(eq_ic(a.get(j), "limit") && j + 1 < a.len()) {
            return Err(errors::SYNTAX.into());
        }
        limit = match parse_i64(a.get(j + 1)) {
            Some(l) if l >= 0 => l as usize,
            _ => return Err("ERR LIMIT can't be negative".into()),
        };
        j += 2;
    }
    Ok(limit)
}

/// (keys, where, count) of an MPOP command.
pub type MpopArgs<'a> = (Vec<&'a [u8]>, &'a [u8], usize);

/// `numkeys key [key ...] <where> [COUNT count]` of LMPOP/ZMPOP and their blocking forms, with
/// `numkeys` at `args[at]`: (keys, where, count).
pub fn mpop_args<'a>(a: &shoal_resp::Args<'a>, at: usize) -> Result<MpopArgs<'a>, CmdError> {
    let n = int(a.get(at)).map_err(|_| CmdError::from("ERR numkeys should be greater than 0"))?;
    if n <= 0 {
        return Err("ERR numkeys should be greater than 0".into());
    }
    let n = n as usize;
    if at + 1 + n >= a.len() {
        return Err(errors::SYNTAX.into());
    }
    let keys: Vec<&[u8]> = (at + 1..at + 1 + n).map(|i| a.get(i)).collect();
    let wh = a.get(at + 1 + n);
    let mut count = 1usize;
    let rest = at + 2 + n;
    match a.len() - rest {
        0 => {}
        2 if eq_ic(a.get(rest), "count") => {
            count = match shoal_resp::parse_i64(a.get(rest + 1)) {
                Some(c) if c > 0 => c as usize,
                _ => return Err("ERR count should be greater than 0".into()),
            };
        }
        _ => return Err(errors::SYNTAX.into()),
    }
    Ok((keys, wh, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_counts_have_redis_ranges() {
        // Texts from redis-server 7.0.15.
        assert_eq!(
            rand_count(b"-9223372036854775808").unwrap_err().text(),
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        );
        assert_eq!(
            rand_count(b"x").unwrap_err().text(),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(rand_count(b"-9223372036854775807"), Ok(-i64::MAX));
        assert_eq!(rand_pairs_count(i64::MAX / 2), Ok(()));
        assert_eq!(rand_pairs_count(-(i64::MAX / 2)), Ok(()));
        for c in [i64::MAX / 2 + 1, -9223372036854770000, -i64::MAX] {
            assert_eq!(
                rand_pairs_count(c).unwrap_err().text(),
                "ERR value is out of range"
            );
        }
    }
}

//! SORT and SORT_RO: the elements of a list, set or sorted set, ordered numerically or
//! lexicographically, by themselves or by the values of other keys (`BY pattern`, `*` standing
//! for the element, `->field` reading a hash field), with `LIMIT`, `GET pattern` (`#` the
//! element itself) and `STORE destination` (a list).
//!
//! Patterns reach keys the command does not name: SORT with a pattern holds every shard of
//! the database while it runs (see [`sort_locks`]), so what it reads is one consistent state,
//! as in Redis. In cluster mode patterns are refused, as Redis refuses them.

use std::cmp::Ordering;

use shoal_resp::Args;
use shoal_store::{NewValue, ShardId, Store, Value, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::{Change, GENERIC, LIST};
use crate::spec::{Group, Locking, Spec, cmd, flags::*};
use crate::util::eq_ic;

const BY_IN_CLUSTER: &str = "ERR BY option of SORT denied in Cluster mode.";
const GET_IN_CLUSTER: &str = "ERR GET option of SORT denied in Cluster mode.";
const BAD_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// What the arguments ask for.
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    /// BY a pattern without `*`: the elements are not sorted (sticky, as in Redis).
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

const BY_DENIED: &str = "ERR BY option of SORT denied due to insufficient ACL permissions.";
const GET_DENIED: &str = "ERR GET option of SORT denied due to insufficient ACL permissions.";

/// `all_keys`: the user may read every key (BY with a pattern and GET need it, as in Redis).
fn parse<'a>(
    a: &Args<'a>,
    readonly: bool,
    cluster: bool,
    all_keys: bool,
) -> Result<Opts<'a>, CmdError> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        limit: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < a.len() {
        let opt = a.get(j);
        let left = a.len() - j - 1;
        if eq_ic(opt, "asc") {
            o.desc = false;
        } else if eq_ic(opt, "desc") {
            o.desc = true;
        } else if eq_ic(opt, "alpha") {
            o.alpha = true;
        } else if eq_ic(opt, "limit") && left >= 2 {
            let start = crate::util::int(a.get(j + 1))?;
            let count = crate::util::int(a.get(j + 2))?;
            o.limit = Some((start, count));
            j += 2;
        } else if !readonly && eq_ic(opt, "store") && left >= 1 {
            o.store = Some(a.get(j + 1));
            j += 1;
        } else if eq_ic(opt, "by") && left >= 1 {
            let p = a.get(j + 1);
            o.by = Some(p);
            if !p.contains(&b'*') {
                o.dontsort = true;
            } else if cluster {
                return Err(BY_IN_CLUSTER.into());
            } else if !all_keys {
                return Err(BY_DENIED.into());
            }
            j += 1;
        } else if eq_ic(opt, "get") && left >= 1 {
            if cluster {
                return Err(GET_IN_CLUSTER.into());
            }
            if !all_keys {
                return Err(GET_DENIED.into());
            }
            o.gets.push(a.get(j + 1));
            j += 1;
        } else {
            return Err(errors::SYNTAX.into());
        }
        j += 1;
    }
    Ok(o)
}

/// Whether these SORT arguments name a pattern that reads other keys (BY or GET with a `*`;
/// `GET #` is the element itself).
fn uses_patterns(a: &Args<'_>) -> bool {
    let mut j = 2;
    while j < a.len() {
        let opt = a.get(j);
        if eq_ic(opt, "limit") {
            j += 3;
            continue;
        }
        if j + 1 < a.len() && (eq_ic(opt, "get") || eq_ic(opt, "by") || eq_ic(opt, "store")) {
            if !eq_ic(opt, "store") && a.get(j + 1).contains(&b'*') {
                return true;
            }
            j += 2;
            continue;
        }
        j += 1;
    }
    false
}

/// SORT's STORE destination, as Redis's sortGetKeys finds it (the last STORE wins; LIMIT,
/// GET and BY skip their arguments).
fn store_key(a: &Args<'_>) -> [Option<usize>; 2] {
    let mut found = None;
    let mut i = 2;
    while i < a.len() {
        let opt = a.get(i);
        if eq_ic(opt, "limit") {
            i += 2;
        } else if eq_ic(opt, "get") || eq_ic(opt, "by") {
            i += 1;
        } else if eq_ic(opt, "store") && i + 1 < a.len() {
            found = Some(i + 1);
        }
        i += 1;
    }
    [found, None]
}

/// The shards SORT holds: its key's and its destination's; with a pattern, every shard of the
/// database (in cluster mode the command is then refused before reading anything).
fn sort_locks(store: &Store, db: usize, a: &Args<'_>, ids: &mut Vec<ShardId>) {
    if uses_patterns(a) {
        ids.extend(store.db_shards(db));
        return;
    }
    for p in std::iter::once(1).chain(store_key(a)[0]) {
        let k = a.get(p);
        ids.push(store.shard_id(db, k, store.hash(k)));
    }
}

/// A string as C's `strtod` reads it, for Redis's numeric SORT: `None` unless the whole string
/// (up to a NUL byte) is one number that converts without NaN or a range error.
pub fn strtod(s: &[u8]) -> Option<f64> {
    let s = match s.iter().position(|&c| c == 0) {
        Some(n) => &s[..n],
        None => s,
    };
    if s.is_empty() {
        // No conversion, and the end pointer is at the string's end: Redis takes it as 0.
        return Some(0.0);
    }
    let mut i = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .unwrap_or(s.len());
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let rest = &s[i..];
    let sign = |v: f64| if neg { -v } else { v };
    let lower: Vec<u8> = rest
        .iter()
        .take(8)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if lower.starts_with(b"inf") {
        let ok = rest.len() == 3 || (rest.len() == 8 && lower == b"infinity");
        return ok.then_some(sign(f64::INFINITY));
    }
    if lower.starts_with(b"nan") {
        return None;
    }
    if lower.starts_with(b"0x")
        && rest
            .get(2)
            .is_some_and(|c| c.is_ascii_hexdigit() || *c == b'.')
    {
        return hex_float(&rest[2..]).map(sign);
    }
    // Decimal: digits [. digits] [e [sign] digits], at least one mantissa digit.
    let digits = |from: usize| {
        rest[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut k = digits(0);
    let mut mantissa = k;
    if rest.get(k) == Some(&b'.') {
        let d = digits(k + 1);
        mantissa += d;
        k += 1 + d;
    }
    if mantissa == 0 {
        return None;
    }
    // A non-zero mantissa that reads as zero (or subnormal) underflowed.
    let nonzero = rest[..k].iter().any(|c| (b'1'..=b'9').contains(c));
    if matches!(rest.get(k), Some(b'e' | b'E')) {
        let mut e = k + 1;
        if matches!(rest.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let d = digits(e);
        if d > 0 {
            k = e + d;
        }
    }
    if k != rest.len() {
        return None;
    }
    let text = std::str::from_utf8(rest).ok()?;
    let v: f64 = text.parse().ok()?;
    // strtod's ERANGE: overflow to infinity, or a non-zero number that underflows.
    if v.is_infinite() || (nonzero && (v == 0.0 || v.is_subnormal())) {
        return None;
    }
    Some(sign(v))
}

/// The hex digits of a `0x` float after the prefix: hex [. hex] [p [sign] digits].
fn hex_float(s: &[u8]) -> Option<f64> {
    let mut v = 0f64;
    let mut scale = 0i64;
    let mut k = 0;
    let mut any = false;
    while let Some(d) = s.get(k).and_then(|c| (*c as char).to_digit(16)) {
        v = v * 16.0 + d as f64;
        any = true;
        k += 1;
    }
    if s.get(k) == Some(&b'.') {
        k += 1;
        while let Some(d) = s.get(k).and_then(|c| (*c as char).to_digit(16)) {
            v = v * 16.0 + d as f64;
            scale -= 4;
            any = true;
            k += 1;
        }
    }
    if !any {
        return None;
    }
    if matches!(s.get(k), Some(b'p' | b'P')) {
        let mut e = k + 1;
        let neg = match s.get(e) {
            Some(b'-') => {
                e += 1;
                true
            }
            Some(b'+') => {
                e += 1;
                false
            }
            _ => false,
        };
        let n = s[e..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            let exp: i64 = std::str::from_utf8(&s[e..e + n])
                .ok()?
                .parse()
                .unwrap_or(i64::MAX / 2);
            scale = scale.saturating_add(if neg { -exp } else { exp });
            k = e + n;
        }
    }
    if k != s.len() {
        return None;
    }
    let r = v * 2f64.powi(scale.clamp(-2000, 2000) as i32);
    if r.is_infinite() || (v != 0.0 && (r == 0.0 || r.is_subnormal())) {
        return None;
    }
    Some(r)
}

/// A value a pattern names: `#` is the element; otherwise the first `*` becomes the element
/// and the key must hold a string, or, with `->field` after the `*`, a hash with that field.
/// Every lookup counts as a read (keyspace hits and misses).
fn lookup_pattern(ctx: &mut Ctx<'_>, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(elem.to_vec());
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&p| p + 2 < after.len());
    let (postfix, field) = match arrow {
        Some(p) => (&after[..p], Some(&after[p + 2..])),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    let r = crate::util::read_value(ctx, &key, |v| {
        Ok(match (v, field) {
            (ValueRef::Str(b), None) => Some(b.to_vec()),
            (ValueRef::Int(n), None) => Some(itoa::Buffer::new().format(n).as_bytes().to_vec()),
            (ValueRef::Hash(h), Some(f)) => h.get(f).map(|v| v.to_vec()),
            _ => None,
        })
    });
    r.ok().flatten().flatten()
}

/// One element to sort, with what it is sorted by.
struct Item {
    elem: Vec<u8>,
    score: f64,
    /// ALPHA BY: the pattern's value (`None` when missing, sorting first).
    by: Option<Vec<u8>>,
}

/// True while a Lua script runs on this thread (Redis orders a set's unsorted SORT for it).
fn in_script() -> bool {
    crate::script::engine::in_script()
}

fn sort(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    sort_common(ctx, a, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    sort_common(ctx, a, true)
}

fn sort_common(ctx: &mut Ctx<'_>, a: Args<'_>, readonly: bool) -> CmdResult {
    let all_keys = match &ctx.client.user {
        Some(u) => u.reads_every_key(),
        None => ctx.shared.acl.default.reads_every_key(),
    };
    let mut o = parse(&a, readonly, ctx.shared.cluster.is_some(), all_keys)?;
    let key = a.get(1);
    // The elements, in the collection's own order (a sorted set's by score).
    let mut s = ctx.ks.shard(key);
    let (elems, is_set, native): (Vec<Vec<u8>>, bool, bool) = match s.find() {
        None => {
            drop(s);
            ctx.hit(false);
            ctx.notify_keymiss(key);
            (Vec::new(), false, true)
        }
        Some(i) => {
            let r = match s.entry(i).value() {
                ValueRef::List(l) => (l.iter().map(|e| e.to_vec()).collect(), false, true),
                ValueRef::Set(st) => (
                    st.members().into_iter().map(|m| m.into_vec()).collect(),
                    true,
                    false,
                ),
                ValueRef::ZSet(z) => (z.iter().map(|(m, _)| m.to_vec()).collect(), false, true),
                _ => return Err(errors::WRONGTYPE.into()),
            };
            drop(s);
            ctx.hit(true);
            r
        }
    };
    // An unsorted set has no order of its own: stored or handed to a script, it is sorted
    // (ALPHA), so replicas and scripts see one answer.
    if o.dontsort && is_set && (o.store.is_some() || in_script()) {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = elems.len() as i64;
    let (lstart, lcount) = o.limit.unwrap_or((0, -1));
    let mut start = lstart.max(0);
    let mut end = if lcount < 0 {
        len - 1
    } else {
        start.saturating_add(lcount).saturating_sub(1)
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            by: None,
        })
        .collect();
    if o.dontsort {
        // Native order (reversed by DESC for lists and sorted sets); LIMIT picks from it.
        if native && o.desc {
            items.reverse();
        }
    } else {
        let mut bad = false;
        for it in items.iter_mut() {
            let by = match o.by {
                Some(p) => match lookup_pattern(ctx, p, &it.elem) {
                    Some(v) => Some(v),
                    None => continue,
                },
                None => None,
            };
            if o.alpha {
                it.by = by;
            } else {
                match strtod(by.as_deref().unwrap_or(&it.elem)) {
                    Some(v) => it.score = v,
                    None => bad = true,
                }
            }
        }
        let (desc, alpha, by) = (o.desc, o.alpha, o.by.is_some());
        let cmp = |x: &Item, y: &Item| -> Ordering {
            if !alpha {
                x.score
                    .partial_cmp(&y.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.elem.cmp(&y.elem))
            } else if by {
                match (&x.by, &y.by) {
                    (Some(p), Some(q)) => p.cmp(q),
                    (None, None) => Ordering::Equal,
                    (None, _) => Ordering::Less,
                    (_, None) => Ordering::Greater,
                }
            } else {
                x.elem.cmp(&y.elem)
            }
        };
        items.sort_by(|x, y| if desc { cmp(y, x) } else { cmp(x, y) });
        if bad {
            return Err(BAD_DOUBLE.into());
        }
    }
    let picked: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let per = o.gets.len().max(1);
    let outlen = picked.len() * per;
    let Some(dest) = o.store else {
        ctx.out.array(outlen);
        for it in picked {
            if o.gets.is_empty() {
                ctx.out.bulk(&it.elem);
            }
            for g in &o.gets {
                match lookup_pattern(ctx, g, &it.elem) {
                    Some(v) => ctx.out.bulk(&v),
                    None => ctx.out.null(),
                }
            }
        }
        ctx.propagate_nothing();
        return Ok(());
    };
    let mut list = shoal_store::types::List::with_capacity(outlen);
    for it in picked {
        if o.gets.is_empty() {
            list.push_back(it.elem.clone().into_boxed_slice());
        }
        for g in &o.gets {
            let v = lookup_pattern(ctx, g, &it.elem).unwrap_or_default();
            list.push_back(v.into_boxed_slice());
        }
    }
    let mut s = ctx.ks.shard(dest);
    if outlen > 0 {
        let replaced = s.upsert(NewValue::Value(Value::List(Box::new(list))), None);
        drop(s);
        ctx.notify_write(LIST, Some("sortstore"), dest, Change::created(!replaced));
        // A client blocked on the destination may take from the new list.
        crate::util::key_ready(ctx, ctx.ks.db, dest, true);
    } else if s.remove().is_some() {
        drop(s);
        ctx.notify(GENERIC, "del", dest);
    } else {
        drop(s);
        ctx.propagate_nothing();
    }
    ctx.out.int(outlen as i64);
    Ok(())
}

pub static COMMANDS: &[Spec] = &[
    cmd(
        "sort",
        -2,
        WRITE | DENYOOM,
        (1, 1, 1),
        Group::Generic,
        "1.0.0",
        "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
        sort,
    )
    .extra_key(store_key)
    .locking(Locking::Custom(sort_locks)),
    cmd(
        "sort_ro",
        -2,
        READONLY | MOVABLEKEYS,
        (1, 1, 1),
        Group::Generic,
        "7.0.0",
        "Returns the sorted elements of a list, a set, or a sorted set.",
        sort_ro,
    )
    .locking(Locking::Custom(sort_locks)),
];

#[cfg(test)]
mod tests {
    use super::{store_key, strtod, uses_patterns};

    fn with_args<R>(words: &[&str], f: impl FnOnce(&shoal_resp::Args<'_>) -> R) -> R {
        let base: Vec<u8> = words.concat().into_bytes();
        let mut ranges = Vec::new();
        let mut at = 0;
        for w in words {
            ranges.push((at, at + w.len()));
            at += w.len();
        }
        f(&shoal_resp::Args::new(&base, &ranges))
    }

    #[test]
    fn store_key_and_patterns_are_found_as_redis_finds_them() {
        let store = |w: &[&str]| with_args(w, |a| store_key(a)[0]);
        assert_eq!(store(&["sort", "k"]), None);
        assert_eq!(store(&["sort", "k", "store", "d"]), Some(3));
        assert_eq!(store(&["sort", "k", "store", "a", "store", "b"]), Some(5));
        assert_eq!(store(&["sort", "k", "get", "store", "by", "store"]), None);
        assert_eq!(
            store(&["sort", "k", "limit", "store", "store", "STORE", "d"]),
            Some(6)
        );
        assert_eq!(store(&["sort", "k", "store"]), None);
        let pat = |w: &[&str]| with_args(w, uses_patterns);
        assert!(!pat(&["sort", "k"]));
        assert!(!pat(&[
            "sort", "k", "by", "nosort", "get", "#", "get", "const"
        ]));
        assert!(pat(&["sort", "k", "by", "w_*"]));
        assert!(pat(&["sort", "k", "get", "#", "get", "h_*->f"]));
        assert!(!pat(&[
            "sort", "k", "store", "a*", "limit", "by", "x*", "get"
        ]));
        assert!(!pat(&["sort", "k", "by"]));
    }

    #[test]
    fn strtod_accepts_what_c_accepts() {
        for (s, v) in [
            ("", Some(0.0)),
            ("3", Some(3.0)),
            (" 5", Some(5.0)),
            ("+2", Some(2.0)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("1e5", Some(1e5)),
            ("0x10", Some(16.0)),
            ("-0x1p3", Some(-8.0)),
            ("0x1.8", Some(1.5)),
            ("INF", Some(f64::INFINITY)),
            ("-infinity", Some(f64::NEG_INFINITY)),
            ("0e-500", Some(0.0)),
            ("00012", Some(12.0)),
            ("2.5e-308", Some(2.5e-308)),
            ("5\0junk", Some(5.0)),
        ] {
            assert_eq!(strtod(s.as_bytes()), v, "{s:?}");
        }
        for s in [
            "1 ", "1e-310", "1e-400", "1e400", "1.8e308", "nan", "-nan", "0x", "1_0", "1e", "1e+",
            " ", "-", "abc", "inf1",
        ] {
            assert_eq!(strtod(s.as_bytes()), None, "{s:?}");
        }
    }
}

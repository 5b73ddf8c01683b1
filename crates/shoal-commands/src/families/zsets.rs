//! Sorted set commands (the first part: the store, ranges by index, score and lex, pops).

use shoal_resp::Args;
use shoal_store::types::ZSet;
use shoal_store::{CollMut, Value, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::notify::{Change, GENERIC, ZSET};
use crate::spec::{Group, Spec, cmd, flags::*};
use crate::util::{self, eq_ic, int, read_value, write_notify};

/// Members with their scores, in order.
type Scored = Vec<(Vec<u8>, f64)>;

fn new_zset() -> Value {
    Value::ZSet(Box::default())
}

fn as_z(v: ValueRef<'_>) -> Result<&ZSet, CmdError> {
    match v {
        ValueRef::ZSet(z) => Ok(z),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

fn as_z_mut(v: CollMut<'_>) -> Result<&mut ZSet, CmdError> {
    match v {
        CollMut::ZSet(z) => Ok(z),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

fn score_arg(a: &[u8]) -> Result<f64, CmdError> {
    util::float(a).ok_or(CmdError::from(errors::NOT_FLOAT))
}

/// Writes (member, score) pairs: flat in RESP2, pairs in RESP3 when `scores`.
fn reply_pairs(ctx: &mut Ctx<'_>, items: &[(Vec<u8>, f64)], scores: bool) {
    if scores && ctx.out.resp3() {
        ctx.out.array(items.len());
        for (m, s) in items {
            ctx.out.array(2);
            ctx.out.bulk(m);
            ctx.out.double(*s);
        }
    } else {
        ctx.out.array(items.len() * if scores { 2 } else { 1 });
        for (m, s) in items {
            ctx.out.bulk(m);
            if scores {
                ctx.out.double(*s);
            }
        }
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
fn zadd(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = a.get(i);
        let flag = if eq_ic(o, "nx") {
            &mut nx
        } else if eq_ic(o, "xx") {
            &mut xx
        } else if eq_ic(o, "gt") {
            &mut gt
        } else if eq_ic(o, "lt") {
            &mut lt
        } else if eq_ic(o, "ch") {
            &mut ch
        } else if eq_ic(o, "incr") {
            &mut incr
        } else {
            break;
        };
        *flag = true;
        i += 1;
    }
    let pairs = a.len() - i;
    if pairs == 0 || !pairs.is_multiple_of(2) {
        return Err(errors::SYNTAX.into());
    }
    if nx && xx {
        return Err("ERR XX and NX options at the same time are not compatible".into());
    }
    if (gt && lt) || (nx && (gt || lt)) {
        return Err("ERR GT, LT, and/or NX options at the same time are not compatible".into());
    }
    if incr && pairs != 2 {
        return Err("ERR INCR option supports a single increment-element pair".into());
    }
    let mut items = Vec::with_capacity(pairs / 2);
    for j in (i..a.len()).step_by(2) {
        items.push((score_arg(a.get(j))?, a.get(j + 1)));
    }
    let create: Option<fn() -> Value> = if xx { None } else { Some(new_zset) };
    // An event only if a member was added or its score changed.
    let ev = (ZSET, if incr { "zincr" } else { "zadd" });
    let fire = |r: &(i64, i64, Option<f64>)| r.0 + r.1 > 0;
    let r = write_notify(ctx, a.get(1), "zset", create, ev, fire, |v| {
        let z = as_z_mut(v)?;
        let (mut added, mut changed) = (0i64, 0i64);
        let mut last: Option<f64> = None;
        for (score, m) in &items {
            let cur = z.score(m);
            if (nx && cur.is_some()) || (xx && cur.is_none()) {
                last = None;
                continue;
            }
            let new = if incr {
                cur.unwrap_or(0.0) + score
            } else {
                *score
            };
            if new.is_nan() {
                return Err("ERR resulting score is not a number (NaN)".into());
            }
            if let Some(c) = cur
                && ((gt && new <= c) || (lt && new >= c))
            {
                last = None;
                continue;
            }
            match cur {
                None => added += 1,
                Some(c) if c != new => changed += 1,
                _ => {}
            }
            z.insert(m, new);
            last = Some(new);
        }
        Ok((added, changed, last))
    })?;
    let (added, changed, last) = r.unwrap_or((0, 0, None));
    if incr {
        match last {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(if ch { added + changed } else { added });
    }
    Ok(())
}

/// ZINCRBY key increment member
fn zincrby(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let by = score_arg(a.get(2))?;
    let s = write_notify(
        ctx,
        a.get(1),
        "zset",
        Some(new_zset),
        (ZSET, "zincr"),
        |_| true,
        |v| {
            let z = as_z_mut(v)?;
            let n = z.score(a.get(3)).unwrap_or(0.0) + by;
            if n.is_nan() {
                return Err("ERR resulting score is not a number (NaN)".into());
            }
            z.insert(a.get(3), n);
            Ok(n)
        },
    )?;
    ctx.out.double(s.unwrap_or(0.0));
    Ok(())
}

/// ZREM key member [member ...]
fn zrem(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = write_notify(
        ctx,
        a.get(1),
        "zset",
        None,
        (ZSET, "zrem"),
        |n| *n > 0,
        |v| {
            let z = as_z_mut(v)?;
            Ok(a.iter().skip(2).filter(|m| z.remove(m).is_some()).count() as i64)
        },
    )?;
    ctx.out.int(n.unwrap_or(0));
    Ok(())
}

/// ZCARD key
fn zcard(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = read_value(ctx, a.get(1), |v| Ok(as_z(v)?.len()))?;
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

/// ZSCORE key member
fn zscore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    match read_value(ctx, a.get(1), |v| Ok(as_z(v)?.score(a.get(2))))?.flatten() {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
fn zmscore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let s = read_value(ctx, a.get(1), |v| {
        let z = as_z(v)?;
        Ok(a.iter().skip(2).map(|m| z.score(m)).collect::<Vec<_>>())
    })?
    .unwrap_or_else(|| vec![None; a.len() - 2]);
    ctx.out.array(s.len());
    for x in s {
        match x {
            Some(v) => ctx.out.double(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ZRANK / ZREVRANK key member [WITHSCORE]
fn rank_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, rev: bool) -> CmdResult {
    let withscore = match a.len() {
        3 => false,
        4 if eq_ic(a.get(3), "withscore") => true,
        _ => return Err(errors::SYNTAX.into()),
    };
    let r = read_value(ctx, a.get(1), |v| {
        let z = as_z(v)?;
        Ok(z.rank(a.get(2)).map(|r| {
            (
                if rev { z.len() - 1 - r } else { r },
                z.score(a.get(2)).unwrap_or(0.0),
            )
        }))
    })?
    .flatten();
    match (r, withscore) {
        (None, false) => ctx.out.null(),
        (None, true) => ctx.out.null_array(),
        (Some((r, _)), false) => ctx.out.int(r as i64),
        (Some((r, s)), true) => {
            ctx.out.array(2);
            ctx.out.int(r as i64);
            ctx.out.double(s);
        }
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    rank_generic(ctx, &a, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    rank_generic(ctx, &a, true)
}

/// A score bound: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
#[derive(Clone, Copy)]
struct ScoreBound {
    v: f64,
    excl: bool,
}

fn score_bound(a: &[u8]) -> Result<ScoreBound, CmdError> {
    let bad = || CmdError::from("ERR min or max is not a float");
    match a {
        [b'(', rest @ ..] => Ok(ScoreBound {
            v: util::float(rest).ok_or_else(bad)?,
            excl: true,
        }),
        _ => Ok(ScoreBound {
            v: util::float(a).ok_or_else(bad)?,
            excl: false,
        }),
    }
}

impl ScoreBound {
    fn above_min(&self, s: f64) -> bool {
        if self.excl { s > self.v } else { s >= self.v }
    }
    fn below_max(&self, s: f64) -> bool {
        if self.excl { s < self.v } else { s <= self.v }
    }
}

/// A lex bound: `[a`, `(a`, `-`, `+`.
#[derive(Clone)]
enum LexBound {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn lex_bound(a: &[u8]) -> Result<LexBound, CmdError> {
    match a {
        b"-" => Ok(LexBound::Min),
        b"+" => Ok(LexBound::Max),
        [b'[', rest @ ..] => Ok(LexBound::Incl(rest.to_vec())),
        [b'(', rest @ ..] => Ok(LexBound::Excl(rest.to_vec())),
        _ => Err("ERR min or max not valid string range item".into()),
    }
}

fn lex_above_min(b: &LexBound, m: &[u8]) -> bool {
    match b {
        LexBound::Min => true,
        LexBound::Max => false,
        LexBound::Incl(x) => m >= &x[..],
        LexBound::Excl(x) => m > &x[..],
    }
}

fn lex_below_max(b: &LexBound, m: &[u8]) -> bool {
    match b {
        LexBound::Min => false,
        LexBound::Max => true,
        LexBound::Incl(x) => m <= &x[..],
        LexBound::Excl(x) => m < &x[..],
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Index,
    Score,
    Lex,
}

/// (min, max) of a range request: with REV the first bound is the max.
fn min_max<T>(
    rev: bool,
    start: &[u8],
    stop: &[u8],
    parse: fn(&[u8]) -> Result<T, CmdError>,
) -> Result<(T, T), CmdError> {
    let (a, b) = (parse(start)?, parse(stop)?);
    Ok(if rev { (b, a) } else { (a, b) })
}

/// A ZRANGE-style request: what the bounds are, the bounds as given, REV and LIMIT.
#[derive(Clone, Copy)]
struct Query<'a> {
    by: By,
    start: &'a [u8],
    stop: &'a [u8],
    rev: bool,
    limit: Option<(i64, i64)>,
}

impl<'a> Query<'a> {
    /// Ascending bounds with no REV or LIMIT (ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*).
    fn plain(by: By, start: &'a [u8], stop: &'a [u8]) -> Self {
        Query {
            by,
            start,
            stop,
            rev: false,
            limit: None,
        }
    }
}

/// The ranks (ascending order, `lo..hi`) a request selects. Index, score and lex bounds become
/// ranks by binary search, and LIMIT is applied to the ranks, so a large set is never walked
/// beyond what the reply holds.
fn window(z: &ZSet, q: Query<'_>) -> Result<(usize, usize), CmdError> {
    let Query {
        by,
        start,
        stop,
        rev,
        limit,
    } = q;
    let len = z.len();
    let (lo, hi) = match by {
        By::Index => {
            let (s, e) = (int(start)?, int(stop)?);
            let n = len as i64;
            let s = if s < 0 { n + s } else { s }.max(0);
            let e = (if e < 0 { n + e } else { e }).min(n - 1);
            if s > e || s >= n {
                return Ok((0, 0));
            }
            // REV counts from the top.
            if rev {
                ((n - 1 - e) as usize, (n - s) as usize)
            } else {
                (s as usize, e as usize + 1)
            }
        }
        By::Score => {
            let (min, max) = min_max(rev, start, stop, score_bound)?;
            (
                z.partition_point(|s, _| !min.above_min(s)),
                z.partition_point(|s, _| max.below_max(s)),
            )
        }
        By::Lex => {
            let (min, max) = min_max(rev, start, stop, lex_bound)?;
            (
                z.partition_point(|_, m| !lex_above_min(&min, m)),
                z.partition_point(|_, m| lex_below_max(&max, m)),
            )
        }
    };
    if lo >= hi {
        return Ok((0, 0));
    }
    Ok(match limit {
        None => (lo, hi),
        Some((off, _)) if off < 0 => (0, 0),
        Some((off, cnt)) => {
            let off = (off as usize).min(hi - lo);
            let take = if cnt < 0 { hi - lo } else { cnt as usize };
            if rev {
                let top = hi - off;
                (top.saturating_sub(take).max(lo), top)
            } else {
                let first = lo + off;
                (first, first.saturating_add(take).min(hi))
            }
        }
    })
}

/// The members selected by a request, in reply order.
fn select(z: &ZSet, q: Query<'_>) -> Result<Vec<(Vec<u8>, f64)>, CmdError> {
    let (lo, hi) = window(z, q)?;
    let rev = q.rev;
    let mut items: Vec<(Vec<u8>, f64)> = z
        .range(lo, hi)
        .into_iter()
        .map(|(m, s)| (m.to_vec(), s))
        .collect();
    if rev {
        items.reverse();
    }
    Ok(items)
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
fn zrange(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (mut by, mut rev, mut limit, mut scores) = (By::Index, false, None, false);
    let mut i = 4;
    while i < a.len() {
        let o = a.get(i);
        if eq_ic(o, "byscore") {
            by = By::Score;
        } else if eq_ic(o, "bylex") {
            by = By::Lex;
        } else if eq_ic(o, "rev") {
            rev = true;
        } else if eq_ic(o, "withscores") {
            scores = true;
        } else if eq_ic(o, "limit") && i + 2 < a.len() {
            limit = Some((int(a.get(i + 1))?, int(a.get(i + 2))?));
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if limit.is_some() && by == By::Index {
        return Err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
                .into(),
        );
    }
    if scores && by == By::Lex {
        return Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX".into());
    }
    range_reply(ctx, &a, by, a.get(2), a.get(3), rev, limit, scores)
}

#[allow(clippy::too_many_arguments)]
fn range_reply(
    ctx: &mut Ctx<'_>,
    a: &Args<'_>,
    by: By,
    start: &[u8],
    stop: &[u8],
    rev: bool,
    limit: Option<(i64, i64)>,
    scores: bool,
) -> CmdResult {
    let items = read_value(ctx, a.get(1), |v| {
        select(
            as_z(v)?,
            Query {
                by,
                start,
                stop,
                rev,
                limit,
            },
        )
    })?;
    let items = match items {
        Some(i) => i,
        // Bounds are still checked for a missing key.
        None => select(
            &ZSet::default(),
            Query {
                by,
                start,
                stop,
                rev,
                limit,
            },
        )?,
    };
    reply_pairs(ctx, &items, scores);
    Ok(())
}

/// `[WITHSCORES] [LIMIT offset count]` of the old range commands, from `args[from..]`.
fn old_range_options(
    a: &Args<'_>,
    from: usize,
    allow_limit: bool,
) -> Result<(bool, Option<(i64, i64)>), CmdError> {
    let (mut scores, mut limit) = (false, None);
    let mut i = from;
    while i < a.len() {
        if eq_ic(a.get(i), "withscores") {
            scores = true;
        } else if allow_limit && eq_ic(a.get(i), "limit") && i + 2 < a.len() {
            limit = Some((int(a.get(i + 1))?, int(a.get(i + 2))?));
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    Ok((scores, limit))
}

/// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (scores, _) = old_range_options(&a, 4, false)?;
    range_reply(ctx, &a, By::Index, a.get(2), a.get(3), true, None, scores)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (scores, limit) = old_range_options(&a, 4, true)?;
    range_reply(ctx, &a, By::Score, a.get(2), a.get(3), false, limit, scores)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (scores, limit) = old_range_options(&a, 4, true)?;
    range_reply(ctx, &a, By::Score, a.get(2), a.get(3), true, limit, scores)
}

/// ZCOUNT key min max
fn zcount(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = read_value(ctx, a.get(1), |v| {
        let (lo, hi) = window(as_z(v)?, Query::plain(By::Score, a.get(2), a.get(3)))?;
        Ok(hi - lo)
    })?;
    if n.is_none() {
        score_bound(a.get(2))?;
        score_bound(a.get(3))?;
    }
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

/// ZPOPMIN / ZPOPMAX key [count]
fn pop_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, highest: bool) -> CmdResult {
    let count = match a.len() {
        2 => None,
        3 => match shoal_resp::parse_i64(a.get(2)) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err("ERR value is out of range, must be positive".into()),
        },
        _ => return Err(errors::SYNTAX.into()),
    };
    let ev = (ZSET, if highest { "zpopmax" } else { "zpopmin" });
    let fire = |p: &Vec<(Vec<u8>, f64)>| !p.is_empty();
    let items = write_notify(ctx, a.get(1), "zset", None, ev, fire, |v| {
        let z = as_z_mut(v)?;
        Ok((0..count.unwrap_or(1))
            .map_while(|_| z.pop(highest))
            .map(|(m, s)| (m.to_vec(), s))
            .collect::<Vec<_>>())
    })?
    .unwrap_or_default();
    if count.is_none() && ctx.out.resp3() {
        // One pop in RESP3: a flat [member, score].
        ctx.out.array(items.len() * 2);
        for (m, s) in &items {
            ctx.out.bulk(m);
            ctx.out.double(*s);
        }
    } else {
        reply_pairs(ctx, &items, true);
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    pop_generic(ctx, &a, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    pop_generic(ctx, &a, true)
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout — [key, member, score].
fn bzpop_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, highest: bool) -> CmdResult {
    let timeout = crate::blocking::timeout_arg(a.get(a.len() - 1))?;
    let keys: Vec<&[u8]> = (1..a.len() - 1).map(|i| a.get(i)).collect();
    for k in &keys {
        let ev = (ZSET, if highest { "zpopmax" } else { "zpopmin" });
        let got = write_notify(ctx, k, "zset", None, ev, Option::is_some, |v| {
            Ok(as_z_mut(v)?.pop(highest))
        });
        let got = crate::blocking::skip_wrongtype(ctx.client, got)?.flatten();
        if let Some((m, s)) = got {
            let pop: &[u8] = if highest { b"ZPOPMAX" } else { b"ZPOPMIN" };
            ctx.propagate_as(&[pop, k]);
            ctx.out.array(3);
            ctx.out.bulk(k);
            ctx.out.bulk(&m);
            ctx.out.double(s);
            return Ok(());
        }
    }
    ctx.propagate_nothing();
    crate::blocking::block(
        ctx,
        a,
        keys.iter().map(|k| Box::from(*k)).collect(),
        timeout,
    );
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bzpop_generic(ctx, &a, false)
}

fn bzpopmax(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bzpop_generic(ctx, &a, true)
}

/// The body of ZMPOP and BZMPOP (`numkeys` at `args[at]`).
fn zmpop_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, at: usize, timeout: Option<&[u8]>) -> CmdResult {
    let timeout = timeout
        .map(crate::blocking::timeout_arg)
        .transpose()?
        .flatten();
    let (keys, wh, count) = util::mpop_args(a, at)?;
    let highest = if eq_ic(wh, "max") {
        true
    } else if eq_ic(wh, "min") {
        false
    } else {
        return Err(errors::SYNTAX.into());
    };
    for k in &keys {
        let ev = (ZSET, if highest { "zpopmax" } else { "zpopmin" });
        let fire = |p: &Vec<(Vec<u8>, f64)>| !p.is_empty();
        let items = write_notify(ctx, k, "zset", None, ev, fire, |v| {
            let z = as_z_mut(v)?;
            Ok((0..count)
                .map_while(|_| z.pop(highest))
                .map(|(m, s)| (m.to_vec(), s))
                .collect::<Vec<_>>())
        });
        let items = crate::blocking::skip_wrongtype(ctx.client, items)?;
        if let Some(items) = items.filter(|i| !i.is_empty()) {
            let n = itoa::Buffer::new().format(items.len()).to_owned();
            ctx.propagate_as(&[b"ZMPOP", b"1", k, wh, b"COUNT", n.as_bytes()]);
            ctx.out.array(2);
            ctx.out.bulk(k);
            ctx.out.array(items.len());
            for (m, s) in &items {
                ctx.out.array(2);
                ctx.out.bulk(m);
                ctx.out.double(*s);
            }
            return Ok(());
        }
    }
    ctx.propagate_nothing();
    if a.get(0).eq_ignore_ascii_case(b"bzmpop") {
        crate::blocking::block(
            ctx,
            a,
            keys.iter().map(|k| Box::from(*k)).collect(),
            timeout,
        );
    } else {
        ctx.out.null_array();
    }
    Ok(())
}

fn zmpop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    zmpop_generic(ctx, &a, 1, None)
}

fn bzmpop(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    zmpop_generic(ctx, &a, 2, Some(a.get(1)))
}

/// ZRANGEBYLEX key min max [LIMIT offset count] / ZREVRANGEBYLEX key max min [LIMIT ...]
fn bylex_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, rev: bool) -> CmdResult {
    let limit = match a.len() {
        4 => None,
        7 if eq_ic(a.get(4), "limit") => Some((int(a.get(5))?, int(a.get(6))?)),
        _ => return Err(errors::SYNTAX.into()),
    };
    range_reply(ctx, a, By::Lex, a.get(2), a.get(3), rev, limit, false)
}

fn zrangebylex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bylex_generic(ctx, &a, false)
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    bylex_generic(ctx, &a, true)
}

/// ZLEXCOUNT key min max
fn zlexcount(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    lex_bound(a.get(2))?;
    lex_bound(a.get(3))?;
    let n = read_value(ctx, a.get(1), |v| {
        let (lo, hi) = window(as_z(v)?, Query::plain(By::Lex, a.get(2), a.get(3)))?;
        Ok(hi - lo)
    })?;
    ctx.out.int(n.unwrap_or(0) as i64);
    Ok(())
}

/// ZREMRANGEBYRANK / BYSCORE / BYLEX key start stop
fn remrange_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, by: By) -> CmdResult {
    match by {
        By::Score => {
            score_bound(a.get(2))?;
            score_bound(a.get(3))?;
        }
        By::Lex => {
            lex_bound(a.get(2))?;
            lex_bound(a.get(3))?;
        }
        By::Index => {
            int(a.get(2))?;
            int(a.get(3))?;
        }
    }
    let ev = match by {
        By::Index => "zremrangebyrank",
        By::Score => "zremrangebyscore",
        By::Lex => "zremrangebylex",
    };
    let n = write_notify(
        ctx,
        a.get(1),
        "zset",
        None,
        (ZSET, ev),
        |n| *n > 0,
        |v| {
            let z = as_z_mut(v)?;
            let gone = select(z, Query::plain(by, a.get(2), a.get(3)))?;
            for (m, _) in &gone {
                z.remove(m);
            }
            Ok(gone.len() as i64)
        },
    )?;
    ctx.out.int(n.unwrap_or(0));
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    remrange_generic(ctx, &a, By::Index)
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    remrange_generic(ctx, &a, By::Score)
}

fn zremrangebylex(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    remrange_generic(ctx, &a, By::Lex)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
fn zrangestore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (mut by, mut rev, mut limit) = (By::Index, false, None);
    let mut i = 5;
    while i < a.len() {
        let o = a.get(i);
        if eq_ic(o, "byscore") {
            by = By::Score;
        } else if eq_ic(o, "bylex") {
            by = By::Lex;
        } else if eq_ic(o, "rev") {
            rev = true;
        } else if eq_ic(o, "limit") && i + 2 < a.len() {
            limit = Some((int(a.get(i + 1))?, int(a.get(i + 2))?));
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if limit.is_some() && by == By::Index {
        return Err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
                .into(),
        );
    }
    let q = Query {
        by,
        start: a.get(3),
        stop: a.get(4),
        rev,
        limit,
    };
    let items = match read_value(ctx, a.get(2), |v| select(as_z(v)?, q))? {
        Some(items) => items,
        // Bounds are still checked for a missing key.
        None => select(&ZSet::default(), q)?,
    };
    store(ctx, a.get(1), &items, "zrangestore");
    ctx.out.int(items.len() as i64);
    Ok(())
}

/// Replaces `dst` with a sorted set of `items` (deleted when empty), with the keyspace events:
/// `event` (or `del` when emptied).
fn store(ctx: &mut Ctx<'_>, dst: &[u8], items: &[(Vec<u8>, f64)], event: &str) {
    let mut s = ctx.ks.shard(dst);
    if items.is_empty() {
        let existed = s.remove().is_some();
        drop(s);
        if existed {
            ctx.notify(GENERIC, "del", dst);
        }
        return;
    }
    let mut z = ZSet::default();
    for (m, sc) in items {
        z.insert(m, *sc);
    }
    let replaced = s.upsert(Value::ZSet(Box::new(z)), None);
    drop(s);
    let ch = Change::created(!replaced);
    ctx.notify_write(ZSET, Some(event), dst, ch);
    let (shared, db) = (ctx.shared, ctx.ks.db);
    shared.blocking.signal(shared, db, dst);
}

/// A sorted set or a set (members scored 1) as (member, score) pairs; `None` when absent.
fn input(ctx: &mut Ctx<'_>, key: &[u8]) -> Result<Option<Scored>, CmdError> {
    read_value(ctx, key, |v| match v {
        ValueRef::ZSet(z) => Ok(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        ValueRef::Set(s) => Ok(s.members().into_iter().map(|m| (m.to_vec(), 1.0)).collect()),
        _ => Err(errors::WRONGTYPE.into()),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// ZUNION/ZINTER/ZDIFF over `numkeys` at `args[at]`, with WEIGHTS and AGGREGATE (not for DIFF)
/// and, when `withscores_ok`, WITHSCORES. Returns (result, withscores).
fn combine(
    ctx: &mut Ctx<'_>,
    a: &Args<'_>,
    at: usize,
    op: SetOp,
    withscores_ok: bool,
    name: &str,
) -> Result<(Scored, bool), CmdError> {
    let n = int(a.get(at))?;
    if n <= 0 {
        return Err(format!("ERR at least 1 input key is needed for '{name}' command").into());
    }
    let n = n as usize;
    if at + 1 + n > a.len() {
        return Err(errors::SYNTAX.into());
    }
    let mut weights = vec![1.0; n];
    let mut agg = 0u8; // 0 sum, 1 min, 2 max
    let mut withscores = false;
    let mut i = at + 1 + n;
    while i < a.len() {
        let o = a.get(i);
        if eq_ic(o, "weights") && op != SetOp::Diff && i + n < a.len() {
            for (j, w) in weights.iter_mut().enumerate() {
                *w = util::float(a.get(i + 1 + j))
                    .ok_or(CmdError::from("ERR weight value is not a float"))?;
            }
            i += n;
        } else if eq_ic(o, "aggregate") && op != SetOp::Diff && i + 1 < a.len() {
            let v = a.get(i + 1);
            agg = if eq_ic(v, "sum") {
                0
            } else if eq_ic(v, "min") {
                1
            } else if eq_ic(v, "max") {
                2
            } else {
                return Err(errors::SYNTAX.into());
            };
            i += 1;
        } else if eq_ic(o, "withscores") && withscores_ok {
            withscores = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    let mut inputs = Vec::with_capacity(n);
    for j in 0..n {
        inputs.push(input(ctx, a.get(at + 1 + j))?);
    }
    let combine_scores = |x: f64, y: f64| {
        let r = match agg {
            1 => x.min(y),
            2 => x.max(y),
            _ => x + y,
        };
        if r.is_nan() { 0.0 } else { r }
    };
    let mut acc: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut index: std::collections::HashMap<Vec<u8>, usize> = std::collections::HashMap::new();
    match op {
        SetOp::Union => {
            for (j, inp) in inputs.iter().enumerate() {
                for (m, s) in inp.iter().flatten() {
                    let w = s * weights[j];
                    let w = if w.is_nan() { 0.0 } else { w };
                    match index.get(m) {
                        Some(&p) => acc[p].1 = combine_scores(acc[p].1, w),
                        None => {
                            index.insert(m.clone(), acc.len());
                            acc.push((m.clone(), w));
                        }
                    }
                }
            }
        }
        SetOp::Inter => {
            if inputs.iter().all(Option::is_some) {
                let maps: Vec<std::collections::HashMap<&[u8], f64>> = inputs
                    .iter()
                    .flatten()
                    .map(|v| v.iter().map(|(m, s)| (&m[..], *s)).collect())
                    .collect();
                for (m, s) in inputs[0].iter().flatten() {
                    let mut score = s * weights[0];
                    let mut all = true;
                    for (j, map) in maps.iter().enumerate().skip(1) {
                        match map.get(&m[..]) {
                            Some(x) => score = combine_scores(score, x * weights[j]),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        acc.push((m.clone(), if score.is_nan() { 0.0 } else { score }));
                    }
                }
            }
        }
        SetOp::Diff => {
            let others: std::collections::HashSet<&[u8]> = inputs[1..]
                .iter()
                .flatten()
                .flat_map(|v| v.iter().map(|(m, _)| &m[..]))
                .collect();
            acc = inputs[0]
                .iter()
                .flatten()
                .filter(|(m, _)| !others.contains(&m[..]))
                .cloned()
                .collect();
        }
    }
    acc.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
    Ok((acc, withscores))
}

fn zunion(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (r, ws) = combine(ctx, &a, 1, SetOp::Union, true, "zunion")?;
    reply_pairs(ctx, &r, ws);
    Ok(())
}

fn zinter(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (r, ws) = combine(ctx, &a, 1, SetOp::Inter, true, "zinter")?;
    reply_pairs(ctx, &r, ws);
    Ok(())
}

fn zdiff(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (r, ws) = combine(ctx, &a, 1, SetOp::Diff, true, "zdiff")?;
    reply_pairs(ctx, &r, ws);
    Ok(())
}

fn store_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, op: SetOp, name: &str) -> CmdResult {
    let (r, _) = combine(ctx, a, 2, op, false, name)?;
    store(ctx, a.get(1), &r, name);
    ctx.out.int(r.len() as i64);
    Ok(())
}

fn zunionstore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    store_generic(ctx, &a, SetOp::Union, "zunionstore")
}

fn zinterstore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    store_generic(ctx, &a, SetOp::Inter, "zinterstore")
}

fn zdiffstore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    store_generic(ctx, &a, SetOp::Diff, "zdiffstore")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
fn zintercard(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let n = int(a.get(1))?;
    if n <= 0 {
        return Err("ERR at least 1 input key is needed for 'zintercard' command".into());
    }
    let n = n as usize;
    if n > a.len() - 2 {
        return Err(errors::SYNTAX.into());
    }
    let limit = util::intercard_limit(&a, 2 + n)?;
    let mut inputs = Vec::new();
    for j in 0..n {
        inputs.push(input(ctx, a.get(2 + j))?);
    }
    let count = if inputs.iter().any(Option::is_none) {
        0
    } else {
        let sets: Vec<std::collections::HashSet<Vec<u8>>> = inputs
            .into_iter()
            .flatten()
            .map(|v| v.into_iter().map(|(m, _)| m).collect())
            .collect();
        let c = sets[0]
            .iter()
            .filter(|m| sets[1..].iter().all(|s| s.contains(*m)))
            .count();
        if limit > 0 { c.min(limit) } else { c }
    };
    ctx.out.int(count as i64);
    Ok(())
}

/// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let count = if a.len() >= 3 {
        Some(util::rand_count(a.get(2))?)
    } else {
        None
    };
    let ws = match a.len() {
        4 if eq_ic(a.get(3), "withscores") => true,
        2 | 3 => false,
        _ => return Err(errors::SYNTAX.into()),
    };
    if ws && let Some(c) = count {
        util::rand_pairs_count(c)?;
    }
    let picks = read_value(ctx, a.get(1), |v| {
        let z = as_z(v)?;
        Ok(util::random_picks(z.len(), count)
            .into_iter()
            .filter_map(|i| z.member_at(i))
            .map(|(m, s)| (m.to_vec(), s))
            .collect::<Vec<_>>())
    })?
    .unwrap_or_default();
    let Some(_) = count else {
        match picks.first() {
            Some((m, _)) => ctx.out.bulk(m),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    reply_pairs(ctx, &picks, ws);
    Ok(())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count] — a small sorted set whole (cursor 0), a large
/// one COUNT members at a time.
fn zscan(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let o = util::scan_options(&a, 3, false)?;
    let (next, compact, items) = read_value(ctx, a.get(1), |v| {
        let z = as_z(v)?;
        let (range, next) = util::scan_order(z.is_compact(), z.len(), &o);
        let items: Vec<(Vec<u8>, f64)> = range
            .into_iter()
            .filter_map(|i| z.member_at(i))
            .filter(|(m, _)| {
                o.pattern
                    .is_none_or(|p| shoal_store::glob::glob_match(p, m, false))
            })
            .map(|(m, s)| (m.to_vec(), s))
            .collect();
        Ok((next, z.is_compact(), items))
    })?
    .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.out.array(items.len() * 2);
    for (m, s) in &items {
        ctx.out.bulk(m);
        // As Redis 7.0 stores scores: a listpack holds integers up to 2^62 as integers, the
        // rest (and every skiplist score) is `%.17g`.
        let text = if compact && *s == s.trunc() && s.abs() <= (i64::MAX / 2) as f64 {
            itoa::Buffer::new().format(*s as i64).to_owned()
        } else {
            shoal_resp::format_double_g17(*s)
        };
        ctx.out.bulk(text.as_bytes());
    }
    Ok(())
}

const K1: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        K1,
        Group::SortedSet,
        "1.2.0",
        "Adds one or more members to a sorted set, or updates their scores.",
        zadd,
    ),
    cmd(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        K1,
        Group::SortedSet,
        "1.2.0",
        "Increments the score of a member in a sorted set.",
        zincrby,
    ),
    cmd(
        "zrem",
        -3,
        WRITE | FAST,
        K1,
        Group::SortedSet,
        "1.2.0",
        "Removes one or more members from a sorted set.",
        zrem,
    ),
    cmd(
        "zcard",
        2,
        READONLY | FAST,
        K1,
        Group::SortedSet,
        "1.2.0",
        "Returns the number of members in a sorted set.",
        zcard,
    ),
    cmd(
        "zscore",
        3,
        READONLY | FAST,
        K1,
        Group::SortedSet,
        "1.2.0",
        "Returns the score of a member in a sorted set.",
        zscore,
    ),
    cmd(
        "zmscore",
        -3,
        READONLY | FAST,
        K1,
        Group::SortedSet,
        "6.2.0",
        "Returns the score of one or more members in a sorted set.",
        zmscore,
    ),
    cmd(
        "zrank",
        -3,
        READONLY | FAST,
        K1,
        Group::SortedSet,
        "2.0.0",
        "Returns the index of a member in a sorted set ordered by ascending scores.",
        zrank,
    ),
    cmd(
        "zrevrank",
        -3,
        READONLY | FAST,
        K1,
        Group::SortedSet,
        "2.0.0",
        "Returns the index of a member in a sorted set ordered by descending scores.",
        zrevrank,
    ),
    cmd(
        "zrange",
        -4,
        READONLY,
        K1,
        Group::SortedSet,
        "1.2.0",
        "Returns members in a sorted set within a range of indexes.",
        zrange,
    ),
    cmd(
        "zrevrange",
        -4,
        READONLY,
        K1,
        Group::SortedSet,
        "1.2.0",
        "Returns members in a sorted set within a range of indexes in reverse order.",
        zrevrange,
    ),
    cmd(
        "zrangebyscore",
        -4,
        READONLY,
        K1,
        Group::SortedSet,
        "1.0.5",
        "Returns members in a sorted set within a range of scores.",
        zrangebyscore,
    ),
    cmd(
        "zrevrangebyscore",
        -4,
        READONLY,
        K1,
        Group::SortedSet,
        "2.2.0",
        "Returns members in a sorted set within a range of scores in reverse order.",
        zrevrangebyscore,
    ),
    cmd(
        "zcount",
        4,
        READONLY | FAST,
        K1,
        Group::SortedSet,
        "2.0.0",
        "Returns the count of members in a sorted set that have scores within a range.",
        zcount,
    ),
    cmd(
        "zpopmin",
        -2,
        WRITE | FAST,
        K1,
        Group::SortedSet,
        "5.0.0",
        "Returns the lowest-scoring members from a sorted set after removing them.",
        zpopmin,
    ),
    cmd(
        "zpopmax",
        -2,
        WRITE | FAST,
        K1,
        Group::SortedSet,
        "5.0.0",
        "Returns the highest-scoring members from a sorted set after removing them.",
        zpopmax,
    ),
    cmd(
        "bzpopmin",
        -3,
        WRITE | FAST | BLOCKING,
        (1, -2, 1),
        Group::SortedSet,
        "5.0.0",
        "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise.",
        bzpopmin,
    ),
    cmd(
        "bzpopmax",
        -3,
        WRITE | FAST | BLOCKING,
        (1, -2, 1),
        Group::SortedSet,
        "5.0.0",
        "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.",
        bzpopmax,
    ),
    cmd("zmpop", -4, WRITE, (0, 0, 0), Group::SortedSet, "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them.", zmpop).numkeys(1),
    cmd("bzmpop", -5, WRITE | BLOCKING, (0, 0, 0), Group::SortedSet, "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise.", bzmpop).numkeys(2),
    cmd("zrangebylex", -4, READONLY, K1, Group::SortedSet, "2.8.9", "Returns members in a sorted set within a lexicographical range.", zrangebylex),
    cmd("zrevrangebylex", -4, READONLY, K1, Group::SortedSet, "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", zrevrangebylex),
    cmd("zlexcount", 4, READONLY | FAST, K1, Group::SortedSet, "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", zlexcount),
    cmd("zremrangebyrank", 4, WRITE, K1, Group::SortedSet, "2.0.0", "Removes members in a sorted set within a range of indexes.", zremrangebyrank),
    cmd("zremrangebyscore", 4, WRITE, K1, Group::SortedSet, "1.2.0", "Removes members in a sorted set within a range of scores.", zremrangebyscore),
    cmd("zremrangebylex", 4, WRITE, K1, Group::SortedSet, "2.8.9", "Removes members in a sorted set within a lexicographical range.", zremrangebylex),
    cmd("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), Group::SortedSet, "6.2.0", "Stores a range of members from sorted set in a key.", zrangestore),
    cmd("zunion", -3, READONLY, (0, 0, 0), Group::SortedSet, "6.2.0", "Returns the union of multiple sorted sets.", zunion).numkeys(1),
    cmd("zinter", -3, READONLY, (0, 0, 0), Group::SortedSet, "6.2.0", "Returns the intersect of multiple sorted sets.", zinter).numkeys(1),
    cmd("zdiff", -3, READONLY, (0, 0, 0), Group::SortedSet, "6.2.0", "Returns the difference between multiple sorted sets.", zdiff).numkeys(1),
    cmd("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), Group::SortedSet, "2.0.0", "Stores the union of multiple sorted sets in a key.", zunionstore).numkeys(2),
    cmd("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), Group::SortedSet, "2.0.0", "Stores the intersect of multiple sorted sets in a key.", zinterstore).numkeys(2),
    cmd("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), Group::SortedSet, "6.2.0", "Stores the difference of multiple sorted sets in a key.", zdiffstore).numkeys(2),
    cmd("zintercard", -3, READONLY, (0, 0, 0), Group::SortedSet, "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", zintercard).numkeys(1),
    cmd("zrandmember", -2, READONLY, K1, Group::SortedSet, "6.2.0", "Returns one or more random members from a sorted set.", zrandmember),
    cmd("zscan", -3, READONLY, K1, Group::SortedSet, "2.8.0", "Iterates over members and scores of a sorted set.", zscan),
];

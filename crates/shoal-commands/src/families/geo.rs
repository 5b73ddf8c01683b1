//! Geo commands: positions kept as sorted-set members scored with Redis's 52-bit geohash (see
//! `crate::geohash`). Searches query the sorted set by score range for each of the nine boxes
//! around the centre, never scanning the whole set.

use shoal_resp::Args;
use shoal_store::types::ZSet;
use shoal_store::{CollMut, ShardId, Store, Value, ValueRef};

use crate::ctx::Ctx;
use crate::errors::{self, CmdError, CmdResult};
use crate::geohash::{self, Search, Shape};
use crate::notify::{self, Change, GENERIC, KEY_MISS, ZSET};
use crate::spec::{Group, Locking, Spec, cmd, flags::*};
use crate::util::{eq_ic, write_notify};

/// A float as Redis's `getDoubleFromObject` reads it (`strtod`, whole string, no leading space,
/// no NaN, no overflow to infinity or underflow to zero).
fn geo_float(a: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(a).ok()?;
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    let body = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if v.is_infinite() && !(body == "inf" || body == "infinity") {
        return None;
    }
    if v == 0.0 {
        let mantissa = body.split('e').next().unwrap_or("");
        if mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
            return None;
        }
    }
    Some(v)
}

fn float_or(a: &[u8], msg: &'static str) -> Result<f64, CmdError> {
    geo_float(a).ok_or_else(|| CmdError::from(msg))
}

/// (longitude, latitude) from two arguments, in the range Redis accepts.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let x = float_or(lon, errors::NOT_FLOAT)?;
    let y = float_or(lat, errors::NOT_FLOAT)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y)
    {
        return Err(format!("ERR invalid longitude,latitude pair {x:.6},{y:.6}").into());
    }
    Ok((x, y))
}

/// Meters per unit.
fn unit(u: &[u8]) -> Result<f64, CmdError> {
    if eq_ic(u, "m") {
        Ok(1.0)
    } else if eq_ic(u, "km") {
        Ok(1000.0)
    } else if eq_ic(u, "ft") {
        Ok(0.3048)
    } else if eq_ic(u, "mi") {
        Ok(1609.34)
    } else {
        Err("ERR unsupported unit provided. please use M, KM, FT, MI".into())
    }
}

/// `radius unit`: (radius, meters per unit).
fn radius_unit(r: &[u8], u: &[u8]) -> Result<(f64, f64), CmdError> {
    let d = float_or(r, "ERR need numeric radius")?;
    if d < 0.0 {
        return Err("ERR radius cannot be negative".into());
    }
    Ok((d, unit(u)?))
}

/// `width height unit`: (width, height, meters per unit).
fn box_unit(w: &[u8], h: &[u8], u: &[u8]) -> Result<(f64, f64, f64), CmdError> {
    let w = float_or(w, "ERR need numeric width")?;
    let h = float_or(h, "ERR need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err("ERR height or width cannot be negative".into());
    }
    Ok((w, h, unit(u)?))
}

fn new_zset() -> Value {
    Value::ZSet(Box::default())
}

fn as_z(v: ValueRef<'_>) -> Result<&ZSet, CmdError> {
    match v {
        ValueRef::ZSet(z) => Ok(z),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

/// A distance as Redis replies it: `%.4f`, a bulk string in both protocols.
fn reply_distance(ctx: &mut Ctx<'_>, d: f64) {
    ctx.out.bulk(format!("{d:.4}").as_bytes());
}

/// A coordinate as Redis's `addReplyHumanLongDouble`.
fn reply_coord(ctx: &mut Ctx<'_>, v: f64) {
    let t = geohash::human(v);
    if ctx.out.resp3() {
        ctx.out.raw(b",");
        ctx.out.raw(t.as_bytes());
        ctx.out.raw(b"\r\n");
    } else {
        ctx.out.bulk(t.as_bytes());
    }
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [...] — a ZADD of geohash scores (and
/// replicated as that ZADD, as Redis does).
fn geoadd(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (mut xx, mut nx, mut ch) = (false, false, false);
    let mut i = 2;
    while i < a.len() {
        let o = a.get(i);
        if eq_ic(o, "nx") {
            nx = true;
        } else if eq_ic(o, "xx") {
            xx = true;
        } else if eq_ic(o, "ch") {
            ch = true;
        } else {
            break;
        }
        i += 1;
    }
    if !(a.len() - i).is_multiple_of(3) || (xx && nx) {
        return Err(errors::SYNTAX.into());
    }
    let mut items: Vec<(f64, &[u8])> = Vec::with_capacity((a.len() - i) / 3);
    for j in (i..a.len()).step_by(3) {
        let (x, y) = lon_lat(a.get(j), a.get(j + 1))?;
        let score = geohash::score_of(x, y).ok_or(CmdError::from(errors::NOT_FLOAT))?;
        items.push((score, a.get(j + 2)));
    }
    let key = a.get(1);
    let create: Option<fn() -> Value> = if xx { None } else { Some(new_zset) };
    let r = write_notify(
        ctx,
        key,
        "zset",
        create,
        (ZSET, "zadd"),
        |r: &(i64, i64)| r.0 + r.1 > 0,
        |v| {
            let CollMut::ZSet(z) = v else {
                return Err(errors::WRONGTYPE.into());
            };
            let (mut added, mut changed) = (0i64, 0i64);
            for (score, m) in &items {
                let cur = z.score(m);
                if (nx && cur.is_some()) || (xx && cur.is_none()) {
                    continue;
                }
                match cur {
                    None => added += 1,
                    Some(c) if c != *score => changed += 1,
                    _ => {}
                }
                z.insert(m, *score);
            }
            Ok((added, changed))
        },
    )?;
    let (added, changed) = r.unwrap_or((0, 0));
    if added + changed > 0 {
        if ctx.replicating() {
            let scores: Vec<String> = items.iter().map(|(s, _)| (*s as i64).to_string()).collect();
            let mut argv: Vec<&[u8]> = vec![b"zadd"];
            argv.extend(a.iter().skip(1).take(i - 1));
            for ((_, m), s) in items.iter().zip(&scores) {
                argv.push(s.as_bytes());
                argv.push(m);
            }
            ctx.propagate_as(&argv);
        }
    } else {
        ctx.propagate_nothing();
    }
    ctx.out.int(if ch { added + changed } else { added });
    Ok(())
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let to_meter = match a.len() {
        5 => unit(a.get(4))?,
        n if n > 5 => return Err(errors::SYNTAX.into()),
        _ => 1.0,
    };
    let r = crate::util::read_value(ctx, a.get(1), |v| {
        let z = as_z(v)?;
        Ok(z.score(a.get(2)).zip(z.score(a.get(3))))
    })?
    .flatten();
    let d = r.and_then(|(s1, s2)| {
        let (x1, y1) = geohash::decode_score(s1)?;
        let (x2, y2) = geohash::decode_score(s2)?;
        Some(geohash::distance(x1, y1, x2, y2) / to_meter)
    });
    match d {
        Some(d) => reply_distance(ctx, d),
        None => ctx.out.null(),
    }
    Ok(())
}

/// The scores of `args[2..]` in the sorted set at `args[1]` (all `None` when it is absent).
fn member_scores(ctx: &mut Ctx<'_>, a: &Args<'_>) -> Result<Vec<Option<f64>>, CmdError> {
    Ok(crate::util::read_value(ctx, a.get(1), |v| {
        let z = as_z(v)?;
        Ok(a.iter().skip(2).map(|m| z.score(m)).collect())
    })?
    .unwrap_or_else(|| vec![None; a.len() - 2]))
}

/// GEOHASH key [member ...]
fn geohash_cmd(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let scores = member_scores(ctx, &a)?;
    ctx.out.array(scores.len());
    for s in scores {
        match s.and_then(geohash::geohash_string) {
            Some(h) => ctx.out.bulk(&h),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let scores = member_scores(ctx, &a)?;
    ctx.out.array(scores.len());
    for s in scores {
        match s.and_then(geohash::decode_score) {
            Some((x, y)) => {
                ctx.out.array(2);
                reply_coord(ctx, x);
                reply_coord(ctx, y);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

// The variants of the search (Redis's flags of `georadiusGeneric`).
const COORDS: u32 = 1;
const MEMBER: u32 = 2;
const NOSTORE: u32 = 4;
const SEARCH: u32 = 8;
const SEARCHSTORE: u32 = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// One member found by a search.
struct Point {
    lon: f64,
    lat: f64,
    dist: f64,
    member: Vec<u8>,
    score: f64,
}

/// What a search asked for.
struct Request<'a> {
    search: Option<Search>,
    store: Option<&'a [u8]>,
    storedist: bool,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    sort: Sort,
    any: bool,
    count: i64,
}

/// The score of `m` decoded, or Redis's error.
fn member_pos(z: &ZSet, m: &[u8]) -> Result<(f64, f64), CmdError> {
    z.score(m)
        .and_then(geohash::decode_score)
        .ok_or_else(|| "ERR could not decode requested zset member".into())
}

/// Parses a search's arguments (with the source set at hand for FROMMEMBER / BYMEMBER, as Redis
/// decodes the member while parsing), in Redis's order of checks.
fn parse_request<'a>(a: &Args<'a>, z: Option<&ZSet>, fl: u32) -> Result<Request<'a>, CmdError> {
    let (mut lon, mut lat) = (0.0, 0.0);
    let mut shape: Option<Shape> = None;
    let mut conversion = 1.0;
    let mut store: Option<&'a [u8]> = None;
    let base;
    if fl & COORDS != 0 {
        base = 6;
        (lon, lat) = lon_lat(a.get(2), a.get(3))?;
        let (r, c) = radius_unit(a.get(4), a.get(5))?;
        shape = Some(Shape::Circle { radius: r });
        conversion = c;
    } else if fl & MEMBER != 0 {
        base = 5;
        if let Some(z) = z {
            (lon, lat) = member_pos(z, a.get(2))?;
            let (r, c) = radius_unit(a.get(3), a.get(4))?;
            shape = Some(Shape::Circle { radius: r });
            conversion = c;
        }
    } else if fl & SEARCHSTORE != 0 {
        base = 3;
        store = Some(a.get(1));
    } else {
        base = 2;
    }
    let mut r = Request {
        search: None,
        store,
        storedist: false,
        withdist: false,
        withhash: false,
        withcoord: false,
        sort: Sort::None,
        any: false,
        count: 0,
    };
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let search = fl & SEARCH != 0;
    let remaining = a.len().saturating_sub(base);
    let mut i = 0;
    while i < remaining {
        let arg = a.get(base + i);
        let more = |n: usize| i + n < remaining;
        let nth = |n: usize| a.get(base + i + n);
        if eq_ic(arg, "withdist") {
            r.withdist = true;
        } else if eq_ic(arg, "withhash") {
            r.withhash = true;
        } else if eq_ic(arg, "withcoord") {
            r.withcoord = true;
        } else if eq_ic(arg, "any") {
            r.any = true;
        } else if eq_ic(arg, "asc") {
            r.sort = Sort::Asc;
        } else if eq_ic(arg, "desc") {
            r.sort = Sort::Desc;
        } else if eq_ic(arg, "count") && more(1) {
            r.count = crate::util::int(nth(1))?;
            if r.count <= 0 {
                return Err("ERR COUNT must be > 0".into());
            }
            i += 1;
        } else if (eq_ic(arg, "store") || eq_ic(arg, "storedist"))
            && more(1)
            && fl & NOSTORE == 0
            && !search
        {
            r.store = Some(nth(1));
            r.storedist = eq_ic(arg, "storedist");
            i += 1;
        } else if eq_ic(arg, "storedist") && search && fl & SEARCHSTORE != 0 {
            r.storedist = true;
        } else if eq_ic(arg, "frommember") && more(1) && search && !fromloc {
            if let Some(z) = z {
                (lon, lat) = member_pos(z, nth(1))?;
            }
            frommember = true;
            i += 1;
        } else if eq_ic(arg, "fromlonlat") && more(2) && search && !frommember {
            (lon, lat) = lon_lat(nth(1), nth(2))?;
            fromloc = true;
            i += 2;
        } else if eq_ic(arg, "byradius") && more(2) && search && !bybox {
            let (rad, c) = radius_unit(nth(1), nth(2))?;
            shape = Some(Shape::Circle { radius: rad });
            conversion = c;
            byradius = true;
            i += 2;
        } else if eq_ic(arg, "bybox") && more(3) && search && !byradius {
            let (w, h, c) = box_unit(nth(1), nth(2), nth(3))?;
            shape = Some(Shape::Box {
                width: w,
                height: h,
            });
            conversion = c;
            bybox = true;
            i += 3;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if r.store.is_some() && (r.withdist || r.withhash || r.withcoord) {
        return Err(format!(
            "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if fl & SEARCHSTORE != 0 {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )
        .into());
    }
    let name = || String::from_utf8_lossy(a.get(0)).into_owned();
    if search && !(frommember || fromloc) {
        return Err(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
            name()
        )
        .into());
    }
    if search && !(byradius || bybox) {
        return Err(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
            name()
        )
        .into());
    }
    if r.any && r.count == 0 {
        return Err("ERR the ANY argument requires COUNT argument".into());
    }
    r.search = shape.map(|shape| Search {
        lon,
        lat,
        shape,
        conversion,
    });
    Ok(r)
}

/// The members inside the search, box by box (Redis's `membersOfAllNeighbors`), stopping at
/// `limit` points when it is not 0.
fn find_points(z: &ZSet, s: &Search, limit: usize) -> Vec<Point> {
    let boxes = geohash::areas(s);
    let mut out: Vec<Point> = Vec::new();
    let mut last: usize = 0;
    for (i, b) in boxes.iter().enumerate() {
        if b.bits == 0 && b.step == 0 {
            continue;
        }
        // Huge radii make neighbours repeat: skip a box equal to the one just processed (not
        // the centre's, as in Redis).
        if last != 0 && *b == boxes[last] {
            continue;
        }
        if limit != 0 && out.len() >= limit {
            break;
        }
        let (min, max) = geohash::box_scores(*b);
        let lo = z.partition_point(|sc, _| sc < min);
        let hi = z.partition_point(|sc, _| sc < max);
        let mut at = lo;
        'chunks: while at < hi {
            let end = hi.min(at + 256);
            for (m, score) in z.range(at, end) {
                if let Some((lon, lat)) = geohash::decode_score(score)
                    && let Some(dist) = geohash::within(s, lon, lat)
                {
                    out.push(Point {
                        lon,
                        lat,
                        dist,
                        member: m.to_vec(),
                        score,
                    });
                }
                if limit != 0 && out.len() >= limit {
                    break 'chunks;
                }
            }
            at = end;
        }
        last = i;
    }
    out
}

/// Redis's `sort_gp_asc`.
fn dist_cmp(x: &Point, y: &Point) -> i32 {
    if x.dist > y.dist {
        1
    } else if x.dist == y.dist {
        0
    } else {
        -1
    }
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> i32) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

/// Redis's `pqsort` (NetBSD's qsort sorting only what overlaps positions `lrange..=rrange`),
/// ported on element indices so equal distances end up in Redis's order.
fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32, lrange: usize, rrange: usize) {
    let outside = |l: usize, r: usize| (lrange < l && rrange < l) || (lrange > r && rrange > r);
    let mut stack = vec![(0usize, v.len())];
    while let Some((mut a, mut n)) = stack.pop() {
        loop {
            if n < 7 {
                for pm in a + 1..a + n {
                    let mut pl = pm;
                    while pl > a && cmp(&v[pl - 1], &v[pl]) > 0 {
                        v.swap(pl, pl - 1);
                        pl -= 1;
                    }
                }
                break;
            }
            let mut pm = a + n / 2;
            if n > 7 {
                let mut pl = a;
                let mut pn = a + n - 1;
                if n > 40 {
                    let d = n / 8;
                    pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                    pm = med3(v, pm - d, pm, pm + d, cmp);
                    pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
                }
                pm = med3(v, pl, pm, pn, cmp);
            }
            v.swap(a, pm);
            let (mut pa, mut pb) = (a + 1, a + 1);
            let (mut pc, mut pd) = (a + n - 1, a + n - 1);
            loop {
                while pb <= pc {
                    let r = cmp(&v[pb], &v[a]);
                    if r > 0 {
                        break;
                    }
                    if r == 0 {
                        v.swap(pa, pb);
                        pa += 1;
                    }
                    pb += 1;
                }
                while pb <= pc {
                    let r = cmp(&v[pc], &v[a]);
                    if r < 0 {
                        break;
                    }
                    if r == 0 {
                        v.swap(pc, pd);
                        pd -= 1;
                    }
                    pc -= 1;
                }
                if pb > pc {
                    break;
                }
                v.swap(pb, pc);
                pb += 1;
                pc -= 1;
            }
            let pn = a + n;
            let r = (pa - a).min(pb - pa);
            for i in 0..r {
                v.swap(a + i, pb - r + i);
            }
            let r = (pd - pc).min(pn - pd - 1);
            for i in 0..r {
                v.swap(pb + i, pn - r + i);
            }
            let r = pb - pa;
            if r > 1 && !outside(a, a + r - 1) {
                stack.push((a, r));
            }
            let r = pd - pc;
            if r > 1 {
                a = pn - r;
                n = r;
                if !outside(a, a + r - 1) {
                    continue;
                }
            }
            break;
        }
    }
}

/// GEORADIUS, GEORADIUSBYMEMBER, their _RO forms, GEOSEARCH and GEOSEARCHSTORE (Redis's
/// `georadiusGeneric`): the source set is at `args[src]`.
fn search_generic(ctx: &mut Ctx<'_>, a: &Args<'_>, src: usize, fl: u32) -> CmdResult {
    let key = a.get(src);
    let db = ctx.ks.db;
    let shared = ctx.shared;
    let mut s = ctx.ks.shard(key);
    let found = s.find();
    if found.is_some() {
        ctx.client.batch.hits += 1;
    } else {
        ctx.client.batch.misses += 1;
    }
    let parsed = match found {
        Some(i) => as_z(s.entry(i).value()).and_then(|z| {
            let r = parse_request(a, Some(z), fl)?;
            let limit = if r.any { r.count as usize } else { 0 };
            let points = r
                .search
                .map_or_else(Vec::new, |search| find_points(z, &search, limit));
            Ok((r, points))
        }),
        None => parse_request(a, None, fl).map(|r| (r, Vec::new())),
    };
    drop(s);
    if found.is_none() {
        notify::notify_in(shared, db, KEY_MISS, "keymiss", key);
    }
    let (r, mut points) = parsed?;
    let Some(search) = r.search.filter(|_| found.is_some()) else {
        // No source set.
        match r.store {
            Some(dst) => {
                delete_store(ctx, dst);
                ctx.out.int(0);
            }
            None => {
                ctx.propagate_nothing();
                ctx.out.array(0);
            }
        }
        return Ok(());
    };
    let mut sort = r.sort;
    if r.count != 0 && sort == Sort::None && !r.any {
        sort = Sort::Asc;
    }
    let returned = if r.count == 0 || (points.len() as i64) < r.count {
        points.len()
    } else {
        r.count as usize
    };
    if sort != Sort::None {
        let sign = if sort == Sort::Asc { 1 } else { -1 };
        let cmp = |x: &Point, y: &Point| sign * dist_cmp(x, y);
        if returned == points.len() {
            // glibc's qsort is a merge sort: stable, as this one.
            points.sort_by(|x, y| cmp(x, y).cmp(&0));
        } else if returned > 0 {
            // Redis's partial sort: the same order of ties among the first `returned`.
            pqsort(&mut points, &cmp, 0, returned - 1);
        }
    }
    points.truncate(returned);
    for p in &mut points {
        p.dist /= search.conversion;
    }
    let Some(dst) = r.store else {
        ctx.propagate_nothing();
        let options = r.withdist as usize + r.withhash as usize + r.withcoord as usize;
        ctx.out.array(points.len());
        for p in &points {
            if options > 0 {
                ctx.out.array(options + 1);
            }
            ctx.out.bulk(&p.member);
            if r.withdist {
                reply_distance(ctx, p.dist);
            }
            if r.withhash {
                ctx.out.int(p.score as i64);
            }
            if r.withcoord {
                ctx.out.array(2);
                reply_coord(ctx, p.lon);
                reply_coord(ctx, p.lat);
            }
        }
        return Ok(());
    };
    if points.is_empty() {
        delete_store(ctx, dst);
        ctx.out.int(0);
        return Ok(());
    }
    let mut zs = ZSet::default();
    for p in &points {
        zs.insert(&p.member, if r.storedist { p.dist } else { p.score });
    }
    let replaced = ctx.ks.shard(dst).upsert(Value::ZSet(Box::new(zs)), None);
    let event = if fl & SEARCH != 0 {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    ctx.notify_write(ZSET, Some(event), dst, Change::created(!replaced));
    shared.blocking.signal(shared, db, dst);
    ctx.out.int(points.len() as i64);
    Ok(())
}

/// A search with STORE that found nothing deletes the destination (replicated only if it
/// existed).
fn delete_store(ctx: &mut Ctx<'_>, dst: &[u8]) {
    if ctx.ks.shard(dst).remove().is_some() {
        ctx.notify(GENERIC, "del", dst);
    } else {
        ctx.propagate_nothing();
    }
}

fn georadius(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    search_generic(ctx, &a, 1, COORDS)
}
fn georadius_ro(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    search_generic(ctx, &a, 1, COORDS | NOSTORE)
}
fn georadiusbymember(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    search_generic(ctx, &a, 1, MEMBER)
}
fn georadiusbymember_ro(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    search_generic(ctx, &a, 1, MEMBER | NOSTORE)
}
fn geosearch(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    search_generic(ctx, &a, 1, SEARCH)
}
fn geosearchstore(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    search_generic(ctx, &a, 2, SEARCH | SEARCHSTORE)
}

/// GEORADIUS[BYMEMBER] locks the source and, with STORE/STOREDIST, the destination (the last
/// one named wins, as in Redis); options start at `args[from]`.
fn radius_locks(from: usize, store: &Store, db: usize, a: &Args<'_>, ids: &mut Vec<ShardId>) {
    ids.push(store.shard_id(db, a.get(1), store.hash(a.get(1))));
    let mut i = from;
    while i + 1 < a.len() {
        if eq_ic(a.get(i), "store") || eq_ic(a.get(i), "storedist") {
            let k = a.get(i + 1);
            ids.push(store.shard_id(db, k, store.hash(k)));
            i += 1;
        }
        i += 1;
    }
}

fn georadius_locks(store: &Store, db: usize, a: &Args<'_>, ids: &mut Vec<ShardId>) {
    radius_locks(6, store, db, a, ids)
}

fn georadiusbymember_locks(store: &Store, db: usize, a: &Args<'_>, ids: &mut Vec<ShardId>) {
    radius_locks(5, store, db, a, ids)
}

/// GEORADIUS[BYMEMBER]'s STORE and STOREDIST keys as Redis's key specs find them: the first
/// of each keyword from `args[from]` on, not as the last argument.
fn radius_store_keys(from: usize, a: &Args<'_>) -> [Option<usize>; 2] {
    let find = |kw: &str| {
        (from..a.len().saturating_sub(1))
            .find(|&i| eq_ic(a.get(i), kw))
            .map(|i| i + 1)
    };
    [find("store"), find("storedist")]
}

fn georadius_keys(a: &Args<'_>) -> [Option<usize>; 2] {
    radius_store_keys(6, a)
}

fn georadiusbymember_keys(a: &Args<'_>) -> [Option<usize>; 2] {
    radius_store_keys(5, a)
}

const K1: (i32, i32, i32) = (1, 1, 1);

pub static COMMANDS: &[Spec] = &[
    cmd(
        "geoadd",
        -5,
        WRITE | DENYOOM,
        K1,
        Group::Geo,
        "3.2.0",
        "Adds one or more members to a geospatial index. The key is created if it doesn't exist.",
        geoadd,
    ),
    cmd(
        "geodist",
        -4,
        READONLY,
        K1,
        Group::Geo,
        "3.2.0",
        "Returns the distance between two members of a geospatial index.",
        geodist,
    ),
    cmd(
        "geohash",
        -2,
        READONLY,
        K1,
        Group::Geo,
        "3.2.0",
        "Returns members from a geospatial index as geohash strings.",
        geohash_cmd,
    ),
    cmd(
        "geopos",
        -2,
        READONLY,
        K1,
        Group::Geo,
        "3.2.0",
        "Returns the longitude and latitude of members from a geospatial index.",
        geopos,
    ),
    cmd(
        "geosearch",
        -7,
        READONLY,
        K1,
        Group::Geo,
        "6.2.0",
        "Queries a geospatial index for members inside an area of a box or a circle.",
        geosearch,
    ),
    cmd(
        "geosearchstore",
        -8,
        WRITE | DENYOOM,
        (1, 2, 1),
        Group::Geo,
        "6.2.0",
        "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.",
        geosearchstore,
    ),
    cmd(
        "georadius",
        -6,
        WRITE | DENYOOM | MOVABLEKEYS,
        K1,
        Group::Geo,
        "3.2.0",
        "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.",
        georadius,
    )
    .locking(Locking::Custom(georadius_locks))
    .extra_key(georadius_keys),
    cmd(
        "georadius_ro",
        -6,
        READONLY,
        K1,
        Group::Geo,
        "3.2.10",
        "Returns members from a geospatial index that are within a distance from a coordinate.",
        georadius_ro,
    ),
    cmd(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM | MOVABLEKEYS,
        K1,
        Group::Geo,
        "3.2.0",
        "Queries a geospatial index for members within a distance from a member, optionally stores the result.",
        georadiusbymember,
    )
    .locking(Locking::Custom(georadiusbymember_locks))
    .extra_key(georadiusbymember_keys),
    cmd(
        "georadiusbymember_ro",
        -5,
        READONLY,
        K1,
        Group::Geo,
        "3.2.10",
        "Returns members from a geospatial index that are within a distance from a member.",
        georadiusbymember_ro,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pqsort_sorts_the_requested_prefix() {
        let mut seed = 7u64;
        for n in [0usize, 1, 5, 6, 7, 8, 40, 41, 200, 1000] {
            for k in [1usize, 3, 10, 500] {
                let mut v: Vec<i32> = (0..n)
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        ((seed >> 33) % 50) as i32
                    })
                    .collect();
                let mut want = v.clone();
                want.sort();
                let k = k.min(n);
                if k == 0 {
                    continue;
                }
                pqsort(&mut v, &|a: &i32, b: &i32| (*a - *b).signum(), 0, k - 1);
                assert_eq!(v[..k], want[..k], "n {n} k {k}");
            }
        }
    }
}

//! Stream commands (Redis 7.0): entries (`entries`), reads and blocking reads (`read`),
//! consumer groups (`groups`) and XINFO (`info`). The value type is `shoal_store::stream`.

mod entries;
mod groups;
mod info;
mod read;

use shoal_resp::{Args, Reply};
use shoal_store::stream::{EntryRef, Stream, StreamId};
use shoal_store::{CollMut, Value, ValueRef};

use crate::errors::{self, CmdError};
use crate::spec::{Group, Spec, cmd, flags::*};

pub const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

fn new_stream() -> Value {
    Value::Stream(Box::default())
}

fn as_stream(v: ValueRef<'_>) -> Result<&Stream, CmdError> {
    match v {
        ValueRef::Stream(s) => Ok(s),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

fn as_stream_mut(v: CollMut<'_>) -> Result<&mut Stream, CmdError> {
    match v {
        CollMut::Stream(s) => Ok(s),
        _ => Err(errors::WRONGTYPE.into()),
    }
}

/// Redis's `string2ull`: digits with an optional leading `+` (what `strtoull` takes), in range.
fn parse_u64(b: &[u8]) -> Option<u64> {
    let d = b.strip_prefix(b"+").unwrap_or(b);
    if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    d.iter().try_fold(0u64, |n, &c| {
        n.checked_mul(10)?.checked_add((c - b'0') as u64)
    })
}

/// An id as a stream command argument: `ms-seq`, `ms` (seq `missing_seq`), and unless
/// `strict` the `-` and `+` shorthands. `Some(None)` for `ms-*` when `star_seq` allows it.
fn parse_id_ext(
    a: &[u8],
    missing_seq: u64,
    strict: bool,
    star_seq: bool,
) -> Result<(StreamId, bool), CmdError> {
    if a.len() > 127 {
        return Err(INVALID_ID.into());
    }
    match a {
        b"-" if !strict => return Ok((StreamId::MIN, true)),
        b"+" if !strict => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    let (ms, seq) = match a.iter().position(|&c| c == b'-') {
        Some(i) => (&a[..i], Some(&a[i + 1..])),
        None => (a, None),
    };
    let ms = parse_u64(ms).ok_or(CmdError::from(INVALID_ID))?;
    match seq {
        Some(b"*") if star_seq => Ok((StreamId::new(ms, 0), false)),
        Some(s) => Ok((
            StreamId::new(ms, parse_u64(s).ok_or(CmdError::from(INVALID_ID))?),
            true,
        )),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

/// A plain id argument (`-`/`+` allowed), seq 0 when missing.
pub fn parse_id(a: &[u8]) -> Result<StreamId, CmdError> {
    Ok(parse_id_ext(a, 0, false, false)?.0)
}

/// A strict id (no `-`/`+`), seq 0 when missing.
pub fn parse_strict_id(a: &[u8]) -> Result<StreamId, CmdError> {
    Ok(parse_id_ext(a, 0, true, false)?.0)
}

/// One end of an XRANGE/XPENDING interval: `(` makes it exclusive.
fn parse_interval(a: &[u8], start: bool) -> Result<StreamId, CmdError> {
    let missing = if start { 0 } else { u64::MAX };
    if a.len() > 1 && a[0] == b'(' {
        let id = parse_id_ext(&a[1..], missing, true, false)?.0;
        let moved = if start { id.next() } else { id.prev() };
        return moved.ok_or_else(|| {
            CmdError::from(if start {
                "ERR invalid start ID for the interval"
            } else {
                "ERR invalid end ID for the interval"
            })
        });
    }
    Ok(parse_id_ext(a, missing, false, false)?.0)
}

/// An id as a bulk string.
#[inline]
pub fn bulk_id(out: &mut Reply, id: StreamId) {
    let mut buf = [0u8; 41];
    out.bulk(id.fmt_into(&mut buf));
}

/// `[id, [field, value, …]]`.
#[inline]
pub fn reply_entry(out: &mut Reply, e: EntryRef<'_>) {
    out.array(2);
    bulk_id(out, e.id);
    out.array(2 * e.fields.len());
    for (f, v) in e.fields.iter() {
        out.bulk(f);
        out.bulk(v);
    }
}

/// Writes the entries of `start..=end` (reverse order when `rev`), at most `count` (0: all),
/// as an array: returns how many.
fn reply_range(
    out: &mut Reply,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    rev: bool,
    count: usize,
) -> usize {
    // The array header goes first: count the entries, then write them.
    let mut n = 0;
    s.range(start, end, rev, |_| {
        n += 1;
        count == 0 || n < count
    });
    out.array(n);
    let mut left = n;
    s.range(start, end, rev, |e| {
        reply_entry(out, e);
        left -= 1;
        left > 0
    });
    n
}

/// XREAD / XREADGROUP: the keys follow STREAMS, as many as the ids after them.
fn xread_keys(a: &Args<'_>) -> std::ops::Range<usize> {
    let mut i = 1;
    while i < a.len() {
        let arg = a.get(i);
        if crate::util::eq_ic(arg, "streams") {
            let n = a.len() - i - 1;
            return if n.is_multiple_of(2) {
                i + 1..i + 1 + n / 2
            } else {
                0..0
            };
        }
        if crate::util::eq_ic(arg, "group") {
            i += 2;
        } else if crate::util::eq_ic(arg, "count") || crate::util::eq_ic(arg, "block") {
            i += 1;
        }
        i += 1;
    }
    0..0
}

pub static COMMANDS: &[Spec] = &[
    cmd(
        "xadd",
        -5,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Appends a new entry to a stream",
        entries::xadd,
    ),
    cmd(
        "xlen",
        2,
        READONLY | FAST,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Return the number of entries in a stream",
        entries::xlen,
    ),
    cmd(
        "xrange",
        -4,
        READONLY,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval",
        entries::xrange,
    ),
    cmd(
        "xrevrange",
        -4,
        READONLY,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
        entries::xrevrange,
    ),
    cmd(
        "xdel",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.",
        entries::xdel,
    ),
    cmd(
        "xtrim",
        -4,
        WRITE,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Trims the stream to (approximately if '~' is passed) a certain size",
        entries::xtrim,
    ),
    cmd(
        "xsetid",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "An internal command for replicating stream values",
        entries::xsetid,
    ),
    cmd(
        "xread",
        -4,
        READONLY | BLOCKING,
        (0, 0, 0),
        Group::Stream,
        "5.0.0",
        "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
        read::xread,
    )
    .key_range(xread_keys),
    cmd(
        "xreadgroup",
        -7,
        WRITE | BLOCKING,
        (0, 0, 0),
        Group::Stream,
        "5.0.0",
        "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
        read::xreadgroup,
    )
    .key_range(xread_keys),
    cmd(
        "xgroup",
        -2,
        WRITE,
        (2, 2, 1),
        Group::Stream,
        "5.0.0",
        "A container for consumer groups commands",
        groups::xgroup,
    )
    .subcommands(&[
        "create",
        "createconsumer",
        "delconsumer",
        "destroy",
        "setid",
        "help",
    ]),
    cmd(
        "xack",
        -4,
        WRITE | FAST,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
        groups::xack,
    ),
    cmd(
        "xpending",
        -3,
        READONLY,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.",
        groups::xpending,
    ),
    cmd(
        "xclaim",
        -6,
        WRITE | FAST,
        (1, 1, 1),
        Group::Stream,
        "5.0.0",
        "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.",
        groups::xclaim,
    ),
    cmd(
        "xautoclaim",
        -6,
        WRITE | FAST,
        (1, 1, 1),
        Group::Stream,
        "6.2.0",
        "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.",
        groups::xautoclaim,
    ),
    cmd(
        "xinfo",
        -2,
        READONLY,
        (2, 2, 1),
        Group::Stream,
        "5.0.0",
        "A container for stream introspection commands",
        info::xinfo,
    )
    .subcommands(&["consumers", "groups", "stream", "help"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis() {
        assert_eq!(parse_id(b"5").unwrap(), StreamId::new(5, 0));
        assert_eq!(parse_id(b"+5").unwrap(), StreamId::new(5, 0));
        assert_eq!(parse_id(b"1-+1").unwrap(), StreamId::new(1, 1));
        assert_eq!(parse_id(b"-").unwrap(), StreamId::MIN);
        assert_eq!(parse_id(b"+").unwrap(), StreamId::MAX);
        assert_eq!(
            parse_id(b"18446744073709551615-18446744073709551615").unwrap(),
            StreamId::MAX
        );
        for bad in [
            &b"18446744073709551616"[..],
            b"1-",
            b"-1",
            b"",
            b"1-x",
            b"1-2-3",
            b" 1",
        ] {
            assert!(parse_id(bad).is_err(), "{bad:?}");
        }
        assert!(parse_strict_id(b"-").is_err());
        assert_eq!(
            parse_interval(b"5", false).unwrap(),
            StreamId::new(5, u64::MAX)
        );
        assert_eq!(parse_interval(b"(5", true).unwrap(), StreamId::new(5, 1));
        assert!(parse_interval(b"(0-0", false).is_err());
        assert!(parse_interval(b"(-", true).is_err());
        assert_eq!(
            parse_id_ext(b"7-*", 0, true, true).unwrap(),
            (StreamId::new(7, 0), false)
        );
    }

    #[test]
    fn xread_keys_follow_streams() {
        let parts: Vec<&[u8]> = vec![b"xread", b"count", b"2", b"streams", b"a", b"b", b"0", b"0"];
        let o = shoal_resp::OwnedArgs::from_parts(parts);
        assert_eq!(xread_keys(&o.args()), 4..6);
        let parts: Vec<&[u8]> = vec![
            b"xreadgroup",
            b"group",
            b"streams",
            b"c",
            b"streams",
            b"k",
            b">",
        ];
        let o = shoal_resp::OwnedArgs::from_parts(parts);
        assert_eq!(xread_keys(&o.args()), 5..6);
        let parts: Vec<&[u8]> = vec![b"xread", b"streams", b"a", b"b", b"0"];
        let o = shoal_resp::OwnedArgs::from_parts(parts);
        assert_eq!(xread_keys(&o.args()), 0..0);
    }
}

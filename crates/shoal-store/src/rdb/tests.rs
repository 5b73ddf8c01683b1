use super::reader::{Item, Reader};
use super::writer::{Writer, score_text, write_len};
use super::*;
use crate::stream::{
    Group, INVALID_ENTRIES_READ, NEVER_ACTIVE, NodeLimits, Stream, StreamId, Trim,
};
use crate::types::{Hash, List, Set, ZSet};
use crate::value::Value;

fn file(values: &[(&[u8], Value, Option<u64>)], compress: bool, checksum: bool) -> Vec<u8> {
    let mut w = Writer::new(compress, checksum, 1_700_000_000, 12345);
    w.function(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)");
    w.select_db(0, Some((values.len() as u64, 0)));
    let mut out = Vec::new();
    for (k, v, e) in values {
        w.key(k, v.as_ref(), *e);
        if w.pending() > 100 {
            out.extend(w.take());
        }
    }
    w.select_db(3, None);
    w.key(b"in3", Value::Int(7).as_ref(), None);
    out.extend(w.finish());
    out
}

fn read_all(buf: &[u8]) -> Result<Vec<Item>, RdbError> {
    let mut r = Reader::new(buf)?;
    let mut out = Vec::new();
    while let Some(i) = r.next_item()? {
        out.push(i);
    }
    Ok(out)
}

fn sample() -> Vec<(&'static [u8], Value, Option<u64>)> {
    let mut small_hash = Hash::default();
    small_hash.insert(b"f", b"v");
    small_hash.insert(b"n", b"12");
    let mut big_hash = Hash::default();
    for i in 0..300 {
        big_hash.insert(format!("field{i}").as_bytes(), &vec![b'v'; i % 90]);
    }
    let mut ints = Set::default();
    for i in [-70000i64, -3, 0, 5, 1 << 40] {
        ints.insert(i.to_string().as_bytes());
    }
    let mut strs = Set::default();
    strs.insert(b"a");
    strs.insert(b"17");
    let mut big_set = Set::default();
    for i in 0..1000 {
        big_set.insert(format!("m{i}").as_bytes());
    }
    let mut small_z = ZSet::default();
    for (m, s) in [
        (&b"a"[..], 1.5),
        (b"b", -2.0),
        (b"c", f64::INFINITY),
        (b"d", f64::NEG_INFINITY),
        (b"e", 1e300),
        (b"f", 0.1),
        (b"g", -0.0),
        (b"h", 4503599627370497.0),
    ] {
        small_z.insert(m, s);
    }
    let mut big_z = ZSet::default();
    for i in 0..500 {
        big_z.insert(format!("member{i}").as_bytes(), i as f64 / 3.0);
    }
    let small_list: List = [&b"x"[..], b"-5", b"", b"99999999999"]
        .iter()
        .map(|s| s.to_vec().into_boxed_slice())
        .collect();
    let big_list: List = (0..20000)
        .map(|i| {
            format!("item-{i}-{}", "z".repeat(i % 40))
                .into_bytes()
                .into_boxed_slice()
        })
        .collect();
    vec![
        (b"int", Value::Int(-123), None),
        (b"bigint", Value::Int(i64::MIN), Some(1_900_000_000_000)),
        (b"str", Value::Str(b"hello"[..].into()), None),
        (b"long", Value::Str(vec![b'q'; 5000].into()), None),
        (b"zeros", Value::Str(b"007"[..].into()), None),
        (b"hash", Value::Hash(Box::new(small_hash)), None),
        (b"bighash", Value::Hash(Box::new(big_hash)), Some(1)),
        (b"ints", Value::Set(Box::new(ints)), None),
        (b"strs", Value::Set(Box::new(strs)), None),
        (b"bigset", Value::Set(Box::new(big_set)), None),
        (b"z", Value::ZSet(Box::new(small_z)), None),
        (b"bigz", Value::ZSet(Box::new(big_z)), None),
        (b"list", Value::List(Box::new(small_list)), None),
        (b"biglist", Value::List(Box::new(big_list)), None),
    ]
}

fn keys(items: &[Item]) -> Vec<(u64, Vec<u8>, Value, Option<u64>)> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Key {
                db,
                key,
                value,
                expire_ms,
                ..
            } => Some((*db, key.clone(), value.clone(), *expire_ms)),
            _ => None,
        })
        .collect()
}

/// Sets and hashes compare by content (their encodings may differ after a reload).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Set(x), Value::Set(y)) => {
            let mut p = x.members();
            let mut q = y.members();
            p.sort();
            q.sort();
            p == q
        }
        (Value::Hash(x), Value::Hash(y)) => {
            let mut p: Vec<_> = x.iter().collect();
            let mut q: Vec<_> = y.iter().collect();
            p.sort();
            q.sort();
            p == q
        }
        (Value::ZSet(x), Value::ZSet(y)) => {
            x.iter()
                .map(|(m, s)| (m.to_vec(), s.to_bits()))
                .collect::<Vec<_>>()
                == y.iter()
                    .map(|(m, s)| (m.to_vec(), s.to_bits()))
                    .collect::<Vec<_>>()
        }
        _ => a == b,
    }
}

#[test]
fn every_type_round_trips_with_and_without_compression() {
    let values = sample();
    for (compress, checksum) in [(true, true), (false, false), (true, false)] {
        let f = file(&values, compress, checksum);
        assert_eq!(&f[..9], b"REDIS0010");
        let items = read_all(&f).unwrap();
        assert!(items.contains(&Item::Aux(b"redis-ver".to_vec(), b"7.0.15".to_vec())));
        assert!(items.contains(&Item::Aux(b"ctime".to_vec(), b"1700000000".to_vec())));
        assert!(matches!(&items[5], Item::Function(c) if c.starts_with(b"#!lua")));
        let got = keys(&items);
        assert_eq!(got.len(), values.len() + 1);
        for ((k, v, e), (db, gk, gv, ge)) in values.iter().zip(&got) {
            assert_eq!((*db, &gk[..], ge), (0, *k, e));
            assert!(same(v, gv), "{} differs", String::from_utf8_lossy(k));
        }
        assert_eq!(got[values.len()].0, 3);
        if !checksum {
            assert_eq!(&f[f.len() - 8..], &[0; 8]);
        }
    }
    let plain = file(&values, false, true).len();
    let packed = file(&values, true, true).len();
    assert!(
        packed < plain,
        "compression saved nothing: {packed} vs {plain}"
    );
}

#[test]
fn encodings_chosen_as_redis_does() {
    let f = file(&sample(), false, true);
    let find = |key: &[u8]| {
        let pos = f
            .windows(key.len() + 1)
            .position(|w| w[0] as usize == key.len() && &w[1..] == key)
            .unwrap();
        f[pos - 1]
    };
    assert_eq!(find(b"hash"), T_HASH_LISTPACK);
    assert_eq!(find(b"bighash"), T_HASH);
    assert_eq!(find(b"ints"), T_SET_INTSET);
    assert_eq!(find(b"strs"), T_SET);
    assert_eq!(find(b"z"), T_ZSET_LISTPACK);
    assert_eq!(find(b"bigz"), T_ZSET_2);
    assert_eq!(find(b"list"), T_LIST_QUICKLIST_2);
    assert_eq!(find(b"str"), T_STRING);
}

#[test]
fn lengths_at_encoding_boundaries() {
    for (n, want) in [
        (0u64, vec![0u8]),
        (63, vec![63]),
        (64, vec![0x40, 64]),
        (16383, vec![0x7f, 0xff]),
        (16384, vec![0x80, 0, 0, 0x40, 0]),
        (u32::MAX as u64, vec![0x80, 0xff, 0xff, 0xff, 0xff]),
        (1 << 32, vec![0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
    ] {
        let mut out = Vec::new();
        write_len(&mut out, n);
        assert_eq!(out, want, "length {n}");
    }
    // Strings of those lengths read back.
    let values: Vec<(&[u8], Value, Option<u64>)> = [0usize, 63, 64, 16383, 16384, 70000]
        .iter()
        .map(|&n| {
            (
                &b"k"[..],
                Value::Str(vec![b'a' + (n % 7) as u8; n].into()),
                None,
            )
        })
        .collect();
    for compress in [false, true] {
        let got = keys(&read_all(&file(&values, compress, true)).unwrap());
        for ((_, v, _), (_, _, g, _)) in values.iter().zip(&got) {
            assert_eq!(v, g);
        }
    }
}

#[test]
fn integer_strings_at_width_boundaries() {
    let ns = [
        0i64,
        -128,
        127,
        128,
        -129,
        32767,
        -32768,
        32768,
        i32::MAX as i64,
        i32::MIN as i64,
        i32::MAX as i64 + 1,
        i64::MAX,
    ];
    let values: Vec<(&[u8], Value, Option<u64>)> = ns
        .iter()
        .map(|&n| (&b"k"[..], Value::Int(n), None))
        .collect();
    let got = keys(&read_all(&file(&values, true, true)).unwrap());
    for (n, (_, _, v, _)) in ns.iter().zip(&got) {
        assert_eq!(v, &Value::Int(*n));
    }
}

#[test]
fn scores_as_text() {
    assert_eq!(score_text(3.0), b"3");
    assert_eq!(score_text(-0.0), b"-0");
    assert_eq!(score_text(f64::INFINITY), b"inf");
    for s in [0.1, 1e300, -2.5e-300, 4503599627370497.0, f64::MAX] {
        let t = String::from_utf8(score_text(s)).unwrap();
        assert_eq!(t.parse::<f64>().unwrap(), s, "{t}");
    }
}

#[test]
fn every_truncation_is_an_error_with_its_offset() {
    let f = file(&sample()[..8], true, true);
    for cut in 0..f.len() {
        match read_all(&f[..cut]) {
            Err(e) => assert!(e.offset <= cut, "offset {} past cut {cut}", e.offset),
            Ok(_) => panic!("a file cut at {cut} of {} loaded", f.len()),
        }
    }
}

#[test]
fn flipped_bytes_never_panic_and_the_checksum_catches_them() {
    let f = file(&sample()[..8], true, true);
    for i in 9..f.len() {
        let mut bad = f.clone();
        bad[i] ^= 0x21;
        assert!(read_all(&bad).is_err(), "flipped byte {i} accepted");
    }
    let mut bad = f.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let e = read_all(&bad).unwrap_err();
    assert_eq!(e.what, "Wrong RDB checksum");
    assert_eq!(e.offset, n - 8);
    assert!(e.to_string().contains(&format!("offset {}", n - 8)));
}

#[test]
fn bad_headers() {
    assert!(Reader::new(b"REDIS").is_err());
    assert!(Reader::new(b"RADIS0010").is_err());
    let e = Reader::new(b"REDIS0013\xff").err().unwrap();
    assert_eq!(e.what, "Can't handle RDB format version 0013");
    assert!(Reader::new(b"REDIS0012\xff").is_ok());
    assert!(Reader::new(b"REDIS0009\xff").is_ok());
}

/// Old encodings, as Redis 6 and earlier wrote them.
#[test]
fn older_files() {
    let mut f = b"REDIS0006".to_vec();
    f.push(OP_SELECTDB);
    f.push(0);
    // A ziplist list of "a", 5.
    let zl = [13u8, 0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 1, b'a', 3, 0xF6, 0xFF];
    let mut zl = zl.to_vec();
    zl[0] = zl.len() as u8;
    zl[4] = 13;
    f.push(T_LIST_ZIPLIST);
    f.extend_from_slice(&[1, b'l', zl.len() as u8]);
    f.extend_from_slice(&zl);
    // An old-style sorted set with text scores, one infinite.
    f.push(T_ZSET);
    f.extend_from_slice(&[1, b'z', 2, 1, b'm', 3, b'1', b'.', b'5', 1, b'n', 254]);
    // Expiry in seconds, then a zipmap hash.
    f.push(OP_EXPIRETIME);
    f.extend_from_slice(&100i32.to_le_bytes());
    f.push(T_HASH_ZIPMAP);
    let zm = [1u8, 1, b'f', 1, 0, b'v', 0xFF];
    f.extend_from_slice(&[1, b'h', zm.len() as u8]);
    f.extend_from_slice(&zm);
    // A quicklist (v1) of one ziplist.
    f.push(T_LIST_QUICKLIST);
    f.extend_from_slice(&[1, b'q', 1, zl.len() as u8]);
    f.extend_from_slice(&zl);
    // An empty set: skipped.
    f.push(T_SET);
    f.extend_from_slice(&[1, b'e', 0]);
    f.push(OP_EOF);
    f.extend_from_slice(&[0; 8]);
    let got = keys(&read_all(&f).unwrap());
    let list: List = [&b"a"[..], b"5"]
        .iter()
        .map(|s| s.to_vec().into())
        .collect();
    assert_eq!(got[0].2, Value::List(Box::new(list.clone())));
    let Value::ZSet(z) = &got[1].2 else { panic!() };
    assert_eq!(z.score(b"m"), Some(1.5));
    assert_eq!(z.score(b"n"), Some(f64::INFINITY));
    assert_eq!(got[2].3, Some(100_000));
    let Value::Hash(h) = &got[2].2 else { panic!() };
    assert_eq!(h.get(b"f"), Some(&b"v"[..]));
    assert_eq!(got[3].2, Value::List(Box::new(list)));
    assert_eq!(got.len(), 4);
}

#[test]
fn refusals_name_what_and_where() {
    let head = b"REDIS0010".to_vec();
    let with = |body: &[u8]| {
        let mut f = head.clone();
        f.extend_from_slice(body);
        read_all(&f).unwrap_err()
    };
    let e = with(&[OP_MODULE_AUX, 1]);
    assert_eq!(e.offset, 9);
    assert!(e.what.contains("module"));
    // A stream node keyed by 3 bytes instead of an id's 16.
    let e = with(&[T_STREAM_LISTPACKS_2, 1, b's', 1, 3, b'a', b'b', b'c']);
    assert_eq!(
        (e.offset, e.what.as_str()),
        (13, "Stream node key entry is not the size of a stream ID")
    );
    let e = with(&[99, 1, b'k']);
    assert_eq!(e.what, "Unknown RDB encoding type 99");
    // A duplicate set member.
    let e = with(&[T_SET, 1, b's', 2, 1, b'a', 1, b'a']);
    assert_eq!(
        (e.offset, e.what.as_str()),
        (15, "Duplicate set members detected")
    );
    // A count far larger than the file: refused before allocating.
    let e = with(&[T_LIST, 1, b'l', 0x80, 0xff, 0xff, 0xff, 0xff]);
    assert!(e.what.contains("a count of 4294967295"), "{}", e.what);
    // An LZF string claiming a huge length.
    let e = with(&[T_STRING, 1, b'k', 0xC3, 2, 0x80, 0x10, 0, 0, 0, 0, b'a']);
    assert!(e.what.contains("LZF"), "{}", e.what);
}

/// Random bytes after a valid header, and random splices of a real file: errors, never a panic
/// or a huge allocation.
#[test]
fn random_garbage_is_refused_without_panicking() {
    let good = file(&sample()[..6], true, false);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..3000 {
        let mut f = if round % 2 == 0 {
            b"REDIS0010".to_vec()
        } else {
            good.clone()
        };
        let n = (next() % 64) as usize;
        let at = if round % 2 == 0 {
            f.len()
        } else {
            9 + (next() as usize % (f.len() - 9))
        };
        let junk: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        f.splice(at..(at + n).min(f.len()), junk);
        // The checksum is off (0) in `good`, so a splice may parse: only no panic is asked.
        let _ = read_all(&f);
    }
}

fn sid(ms: u64, seq: u64) -> StreamId {
    StreamId::new(ms, seq)
}

/// Entries over several nodes (same fields as the master and not), deletions inside a node,
/// trimmed history, a group with pending entries (one of a deleted entry), a consumer with
/// none, a group whose read counter is unknown, ids whose seq falls below the master's.
fn sample_stream() -> Stream {
    let mut s = Stream::default();
    let lim = NodeLimits {
        max_bytes: 0,
        max_entries: 3,
    };
    for i in 1..=12u64 {
        let v = format!("v{i}");
        let items: Vec<&[u8]> = if i % 4 == 0 {
            vec![b"other", v.as_bytes(), b"n", b"-7"]
        } else {
            vec![b"f", v.as_bytes(), b"n", b"123456789012"]
        };
        // seq goes down within a node: 5-9 then 6-0.
        let id = if i == 5 { sid(5, 9) } else { sid(i, 0) };
        s.append(id, 2, items.iter().copied(), lim);
    }
    s.trim(Trim::MaxLen(10), false, 0);
    s.delete([sid(8, 0), sid(5, 9)]);
    let mut g = Group::new(sid(9, 0), 7);
    g.create_consumer(b"alice", 1_700_000_000_123);
    g.create_consumer(b"bob", 5);
    g.deliver(sid(6, 0), b"alice", 1_700_000_000_500, 3);
    g.deliver(sid(8, 0), b"alice", 1_700_000_000_600, 1);
    g.deliver(sid(9, 0), b"bob", 77, 2);
    g.create_consumer(b"idle", 9);
    s.groups.insert(b"g1"[..].into(), g);
    s.groups.insert(
        b"g0"[..].into(),
        Group::new(sid(3, 0), INVALID_ENTRIES_READ),
    );
    s
}

#[test]
fn streams_round_trip() {
    let s = sample_stream();
    assert_eq!(s.len(), 8);
    assert_eq!(s.first_id, sid(3, 0));
    let mut empty = Stream::default();
    let items: [&[u8]; 2] = [b"a", b"b"];
    empty.append(sid(1, 1), 1, items.iter().copied(), NodeLimits::current());
    empty.delete([sid(1, 1)]);
    empty
        .groups
        .insert(b"g"[..].into(), Group::new(sid(1, 1), 1));
    let values: Vec<(&[u8], Value, Option<u64>)> = vec![
        (
            b"s",
            Value::Stream(Box::new(s.clone())),
            Some(1_900_000_000_000),
        ),
        (b"empty", Value::Stream(Box::new(empty.clone())), None),
    ];
    // Type 19 has no active times: a loaded consumer's is its seen time.
    let mut loaded = s.clone();
    for g in loaded.groups.values_mut() {
        for c in g.consumers.values_mut() {
            c.active_time = c.seen_time as i64;
        }
    }
    for compress in [false, true] {
        let f = file(&values, compress, true);
        let got = keys(&read_all(&f).unwrap());
        assert_eq!(got[0].2, Value::Stream(Box::new(loaded.clone())));
        assert_eq!(got[0].3, Some(1_900_000_000_000));
        let Value::Stream(e) = &got[1].2 else {
            panic!("not a stream")
        };
        assert_eq!(**e, empty);
        assert_eq!(
            (e.len(), e.max_deleted_id, e.entries_added),
            (0, sid(1, 1), 1)
        );
    }
    // The saved length is what the writer puts after the key.
    let f = file(&values[..1], false, true);
    let key_at = f.windows(2).position(|w| w == [1, b's']).unwrap();
    assert_eq!(f[key_at - 1], T_STREAM_LISTPACKS_2);
    let n = super::stream::saved_len(&s);
    assert_eq!(f[key_at + 2 + n], OP_SELECTDB);
}

/// The node layout is Redis's: master entry, then flags, id deltas, fields, lp-count.
#[test]
fn stream_nodes_as_redis_lays_them_out() {
    let mut s = Stream::default();
    let lim = NodeLimits::current();
    s.append(sid(10, 5), 1, [&b"f"[..], b"a"].into_iter(), lim);
    s.append(sid(10, 6), 1, [&b"f"[..], b"b"].into_iter(), lim);
    s.append(sid(12, 0), 1, [&b"g"[..], b"c"].into_iter(), lim);
    s.delete([sid(10, 6)]);
    let (master, node) = s.nodes().iter().next().unwrap();
    let lp = super::stream::node_listpack(*master, node);
    let items = listpack::decode(&lp).unwrap();
    let want: Vec<&[u8]> = vec![
        b"2", b"1", b"1", b"f", b"0", // master: live, deleted, fields, terminator
        b"2", b"0", b"0", b"a", b"4", // same fields
        b"3", b"0", b"1", b"b", b"4", // deleted, same fields
        b"0", b"2", b"-5", b"1", b"g", b"c", b"6", // own fields, seq below the master's
    ];
    assert_eq!(items, want.iter().map(|x| x.to_vec()).collect::<Vec<_>>());
    assert_eq!(
        super::stream::raw_id(sid(10, 5)),
        [0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 5]
    );
}

/// A type-15 (Redis 5/6) or type-21 (Redis 7.2) stream, written by hand: `s` must have one
/// group with one consumer owning the whole PEL.
fn older_stream_file(t: u8, s: &Stream) -> Vec<u8> {
    let mut f = b"REDIS0011".to_vec();
    f.push(OP_SELECTDB);
    f.push(0);
    f.push(t);
    f.extend_from_slice(&[1, b's']);
    let str_ = |f: &mut Vec<u8>, b: &[u8]| {
        write_len(f, b.len() as u64);
        f.extend_from_slice(b);
    };
    write_len(&mut f, s.nodes().len() as u64);
    for (m, n) in s.nodes() {
        str_(&mut f, &super::stream::raw_id(*m));
        str_(&mut f, &super::stream::node_listpack(*m, n));
    }
    write_len(&mut f, s.len());
    write_len(&mut f, s.last_id.ms);
    write_len(&mut f, s.last_id.seq);
    if t == T_STREAM_LISTPACKS_3 {
        for id in [s.first_id, s.max_deleted_id] {
            write_len(&mut f, id.ms);
            write_len(&mut f, id.seq);
        }
        write_len(&mut f, s.entries_added);
    }
    write_len(&mut f, 1);
    let (name, g) = s.groups.iter().next().unwrap();
    str_(&mut f, name);
    write_len(&mut f, g.last_id.ms);
    write_len(&mut f, g.last_id.seq);
    if t == T_STREAM_LISTPACKS_3 {
        write_len(&mut f, g.entries_read as u64);
    }
    write_len(&mut f, g.pel.len() as u64);
    for (id, n) in &g.pel {
        f.extend_from_slice(&super::stream::raw_id(*id));
        f.extend_from_slice(&n.delivery_time.to_le_bytes());
        write_len(&mut f, n.delivery_count);
    }
    write_len(&mut f, 1);
    let (cname, c) = g.consumers.iter().next().unwrap();
    str_(&mut f, cname);
    f.extend_from_slice(&c.seen_time.to_le_bytes());
    if t == T_STREAM_LISTPACKS_3 {
        f.extend_from_slice(&c.active_time.to_le_bytes());
    }
    write_len(&mut f, c.pel.len() as u64);
    for id in &c.pel {
        f.extend_from_slice(&super::stream::raw_id(*id));
    }
    f.push(OP_EOF);
    f.extend_from_slice(&[0; 8]);
    f
}

#[test]
fn older_and_newer_stream_types() {
    let mut s = Stream::default();
    let lim = NodeLimits::current();
    for i in 1..=5u64 {
        s.append(sid(i, 0), 1, [&b"f"[..], b"x"].into_iter(), lim);
    }
    s.delete([sid(5, 0)]);
    let mut g = Group::new(sid(5, 0), 5);
    g.create_consumer(b"c", 42);
    g.deliver(sid(1, 0), b"c", 1000, 1);
    g.deliver(sid(2, 0), b"c", 1001, 4);
    g.mark_active(b"c", 99);
    s.groups.insert(b"g"[..].into(), g);
    // 7.2: everything as saved, the active time too (and "never active" as -1).
    let got = keys(&read_all(&older_stream_file(T_STREAM_LISTPACKS_3, &s)).unwrap());
    assert_eq!(got[0].2, Value::Stream(Box::new(s.clone())));
    assert_eq!(consumer_times(&got[0].2, b"c"), (42, 99));
    let mut never = s.clone();
    let g = never.groups.get_mut(&b"g"[..]).unwrap();
    g.consumers.get_mut(&b"c"[..]).unwrap().active_time = NEVER_ACTIVE;
    let got = keys(&read_all(&older_stream_file(T_STREAM_LISTPACKS_3, &never)).unwrap());
    assert_eq!(consumer_times(&got[0].2, b"c"), (42, NEVER_ACTIVE));
    // 5/6: no tombstone id, entries added = length, entries read estimated (the group read up
    // to the last id: all four).
    let got = keys(&read_all(&older_stream_file(T_STREAM_LISTPACKS, &s)).unwrap());
    let Value::Stream(old) = &got[0].2 else {
        panic!("not a stream")
    };
    assert_eq!((old.len(), old.entries_added), (4, 4));
    assert_eq!(old.max_deleted_id, StreamId::MIN);
    assert_eq!(old.last_id, sid(5, 0));
    let og = &old.groups[&b"g"[..]];
    assert_eq!(og.entries_read, 4);
    assert_eq!(og.pel, s.groups[&b"g"[..]].pel);
    // No active time before 7.2: the seen time stands for it, as Redis 7.2 loads such files.
    assert_eq!(consumer_times(&got[0].2, b"c"), (42, 42));
}

/// The seen and active times of consumer `name` of group `g`.
fn consumer_times(v: &Value, name: &[u8]) -> (u64, i64) {
    let Value::Stream(s) = v else {
        panic!("not a stream")
    };
    let c = &s.groups[&b"g"[..]].consumers[name];
    (c.seen_time, c.active_time)
}

#[test]
fn corrupt_streams_are_refused_with_offsets() {
    let s = sample_stream();
    let values: Vec<(&[u8], Value, Option<u64>)> =
        vec![(b"s", Value::Stream(Box::new(s.clone())), None)];
    let f = file(&values, false, false);
    // Every truncation and flipped byte: an error (or, the checksum being off, a stream that
    // still parses), never a panic.
    for cut in 0..f.len() {
        assert!(read_all(&f[..cut]).is_err(), "cut at {cut} loaded");
    }
    for i in 9..f.len() {
        let mut bad = f.clone();
        bad[i] ^= 0x5a;
        let _ = read_all(&bad);
    }
    // A consumer PEL id missing from the group's PEL, and a PEL entry with no consumer.
    let mut one = Stream::default();
    one.append(
        sid(1, 0),
        1,
        [&b"f"[..], b"x"].into_iter(),
        NodeLimits::current(),
    );
    let mut g = Group::new(sid(1, 0), 1);
    g.create_consumer(b"c", 1);
    g.deliver(sid(1, 0), b"c", 1, 1);
    one.groups.insert(b"g"[..].into(), g);
    let mut f = older_stream_file(T_STREAM_LISTPACKS_3, &one);
    let raw = super::stream::raw_id(sid(1, 0));
    let last = f.len() - 9 - 16;
    assert_eq!(&f[last..last + 16], &raw);
    f[last + 15] = 2;
    let e = read_all(&f).unwrap_err();
    assert_eq!(
        (e.offset, e.what.as_str()),
        (last, "Consumer entry not found in group global PEL")
    );
    let mut f = older_stream_file(T_STREAM_LISTPACKS_3, &one);
    let n = f.len();
    f.drain(n - 9 - 17..n - 9);
    f.insert(n - 9 - 17, 0);
    let e = read_all(&f).unwrap_err();
    assert_eq!(e.what, "Stream CG PEL entry without consumer");
    // A length that does not match the entries.
    let mut f = older_stream_file(T_STREAM_LISTPACKS, &one);
    let lp = super::stream::node_listpack(sid(1, 0), &one.nodes()[&sid(1, 0)]);
    let len_at = f.windows(lp.len()).position(|w| w == lp).unwrap() + lp.len();
    assert_eq!(f[len_at], 1);
    f[len_at] = 2;
    let e = read_all(&f).unwrap_err();
    assert_eq!(
        (e.offset, e.what.as_str()),
        (len_at, "Stream length inconsistent with rax entries")
    );
}

#[test]
fn idle_and_freq_round_trip_in_redis_order() {
    use super::writer::Usage;
    let mut w = Writer::new(false, true, 1_700_000_000, 1);
    w.select_db(0, None);
    w.key_with(b"a", Value::Int(1).as_ref(), Some(5), Usage::IdleSecs(3600));
    w.key_with(b"b", Value::Int(2).as_ref(), None, Usage::Freq(200));
    w.key_with(b"c", Value::Int(3).as_ref(), None, Usage::None);
    let buf = w.finish();
    // Expiry, then IDLE, then the type (as Redis's rdbSaveKeyValuePair).
    let at = buf
        .windows(2)
        .position(|x| x == [OP_EXPIRETIME_MS, 5])
        .expect("the expiry");
    assert_eq!(buf[at + 9], OP_IDLE);
    let usages: Vec<Usage> = read_all(&buf)
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Key { usage, .. } => Some(usage),
            _ => None,
        })
        .collect();
    assert_eq!(
        usages,
        [Usage::IdleSecs(3600), Usage::Freq(200), Usage::None]
    );
    // A FREQ cut off at the end of the file is an error naming its offset, not a panic.
    let cut = buf
        .windows(2)
        .position(|x| x == [OP_FREQ, 200])
        .expect("the freq");
    assert!(read_all(&buf[..cut + 1]).is_err());
}

// ---- RDB version 12 (Redis 7.4 / 8.x), laid out byte by byte as src/rdb.c writes it ----

/// A listpack entry: a string of under 64 bytes (`10xxxxxx` length, the bytes, backlen).
fn lp_str(s: &[u8]) -> Vec<u8> {
    assert!(s.len() < 64);
    let mut e = vec![0x80 | s.len() as u8];
    e.extend_from_slice(s);
    e.push(1 + s.len() as u8); // backlen: the entry's size so far
    e
}

/// A listpack entry: an integer 0..=127 (`0xxxxxxx`, backlen 1).
fn lp_u7(n: u8) -> Vec<u8> {
    assert!(n < 128);
    vec![n, 1]
}

/// A listpack entry: a 64-bit integer (0xF4, 8 bytes LE, backlen 9), as a unix-ms time is.
fn lp_i64(n: i64) -> Vec<u8> {
    let mut e = vec![0xF4];
    e.extend_from_slice(&n.to_le_bytes());
    e.push(9);
    e
}

/// A listpack: total bytes (u32 LE), entry count (u16 LE), the entries, 0xFF.
fn lp(entries: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = entries.concat();
    let total = 6 + body.len() + 1;
    let mut out = (total as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xFF);
    out
}

/// A string of under 64 bytes: 6-bit length, then the bytes.
fn rstr(s: &[u8]) -> Vec<u8> {
    assert!(s.len() < 64);
    let mut e = vec![s.len() as u8];
    e.extend_from_slice(s);
    e
}

/// A plain (uncompressed) string of any length under 16384: 14-bit length when needed.
fn rblob(b: &[u8]) -> Vec<u8> {
    let mut e = if b.len() < 64 {
        vec![b.len() as u8]
    } else {
        vec![0x40 | (b.len() >> 8) as u8, b.len() as u8]
    };
    e.extend_from_slice(b);
    e
}

/// A version-12 file: header, SELECTDB 0, `body`, EOF, a zero checksum (not computed).
fn v12(body: &[u8]) -> Vec<u8> {
    let mut f = b"REDIS0012".to_vec();
    f.extend_from_slice(&[OP_SELECTDB, 0]);
    f.extend_from_slice(body);
    f.push(OP_EOF);
    f.extend_from_slice(&[0; 8]);
    f
}

const T1: u64 = 1_900_000_000_000; // 2030, a unix-ms time
const T2: u64 = 1_900_000_005_000;

fn hash_of(items: &[Item], key: &[u8]) -> Hash {
    for i in items {
        if let Item::Key {
            key: k,
            value: Value::Hash(h),
            ..
        } = i
            && k == key
        {
            return (**h).clone();
        }
    }
    panic!("no hash {}", String::from_utf8_lossy(key));
}

#[test]
fn version_12_hashes_with_field_ttls() {
    let mut b = Vec::new();
    // SLOT_INFO (Redis 8 cluster mode): slot 5, 3 keys, 2 with expiries: read and ignored.
    b.extend_from_slice(&[OP_SLOT_INFO, 5, 3, 2]);
    // Type 25, RDB_TYPE_HASH_LISTPACK_EX: key "lpx", minExpire T1 (8 bytes LE), then the
    // listpack as a string of (field, value, absolute TTL) triplets; f2 has none (0).
    b.push(T_HASH_LISTPACK_EX);
    b.extend(rstr(b"lpx"));
    b.extend_from_slice(&T1.to_le_bytes());
    b.extend(rblob(&lp(&[
        lp_str(b"f1"),
        lp_str(b"v1"),
        lp_i64(T1 as i64),
        lp_str(b"f2"),
        lp_str(b"v2"),
        lp_u7(0),
        lp_str(b"f3"),
        lp_str(b"v3"),
        lp_i64(T2 as i64),
    ])));
    // Type 24, RDB_TYPE_HASH_METADATA: key "meta", minExpire T1 (8 bytes LE), 3 fields, each
    // TTL (a length: 0 none, else expiry - minExpire + 1), field, value.
    b.push(T_HASH_METADATA);
    b.extend(rstr(b"meta"));
    b.extend_from_slice(&T1.to_le_bytes());
    b.push(3); // field count
    b.push(0); // no TTL
    b.extend(rstr(b"a"));
    b.extend(rstr(b"1"));
    b.push(1); // T1 + 1 - 1 = T1
    b.extend(rstr(b"b"));
    b.extend(rstr(b"2"));
    b.extend_from_slice(&[0x53, 0x89]); // 14-bit length 5001: T1 + 5000 = T2
    b.extend(rstr(b"c"));
    b.extend(rstr(b"3"));
    // Type 22, RDB_TYPE_HASH_METADATA_PRE_GA (7.4 RCs): no minExpire, absolute TTLs as
    // lengths (0x81: a 64-bit big-endian length).
    b.push(T_HASH_METADATA_PRE_GA);
    b.extend(rstr(b"rc"));
    b.push(2); // field count
    b.push(0x81);
    b.extend_from_slice(&T2.to_be_bytes());
    b.extend(rstr(b"x"));
    b.extend(rstr(b"y"));
    b.push(0); // no TTL
    b.extend(rstr(b"z"));
    b.extend(rstr(b"w"));
    // Type 23, RDB_TYPE_HASH_LISTPACK_EX_PRE_GA: the listpack with no minExpire before it.
    b.push(T_HASH_LISTPACK_EX_PRE_GA);
    b.extend(rstr(b"rclp"));
    b.extend(rblob(&lp(&[lp_str(b"k"), lp_str(b"v"), lp_i64(T1 as i64)])));
    let items = read_all(&v12(&b)).unwrap();
    assert_eq!(items.len(), 4);

    let h = hash_of(&items, b"lpx");
    assert_eq!(h.len(), 3);
    assert_eq!(h.get(b"f2"), Some(&b"v2"[..]));
    assert_eq!(
        (h.ttl_of(b"f1"), h.ttl_of(b"f2"), h.ttl_of(b"f3")),
        (Some(T1), None, Some(T2))
    );
    let h = hash_of(&items, b"meta");
    assert_eq!(h.get(b"c"), Some(&b"3"[..]));
    assert_eq!(
        (h.ttl_of(b"a"), h.ttl_of(b"b"), h.ttl_of(b"c")),
        (None, Some(T1), Some(T2))
    );
    let h = hash_of(&items, b"rc");
    assert_eq!((h.ttl_of(b"x"), h.ttl_of(b"z")), (Some(T2), None));
    assert_eq!(h.get(b"z"), Some(&b"w"[..]));
    let h = hash_of(&items, b"rclp");
    assert_eq!(h.ttl_of(b"k"), Some(T1));

    // What shoal writes of such a hash (type 24) reads back the same.
    let mut w = Writer::new(false, true, 0, 0);
    w.select_db(0, None);
    let lpx = hash_of(&items, b"lpx");
    w.key(b"lpx", Value::Hash(Box::new(lpx.clone())).as_ref(), None);
    let back = read_all(&w.finish()).unwrap();
    let h = hash_of(&back, b"lpx");
    assert_eq!(h.ttls().count(), 2);
    assert_eq!((h.ttl_of(b"f1"), h.ttl_of(b"f3")), (Some(T1), Some(T2)));
}

#[test]
fn version_12_refusals_name_type_and_offset() {
    // Type 26 (Redis 8.2+'s stream with IDMP, RDB 13) in a version-12 file: refused at the
    // type byte, offset 11 (9 of header, 2 of SELECTDB).
    let e = read_all(&v12(&[26, 1, b'k', 0])).unwrap_err();
    assert_eq!(
        (e.offset, e.what.as_str()),
        (11, "Unknown RDB encoding type 26")
    );
    // A listpack-ex whose items are not triplets.
    let mut b = vec![T_HASH_LISTPACK_EX, 1, b'h'];
    b.extend_from_slice(&T1.to_le_bytes());
    b.extend(rblob(&lp(&[lp_str(b"f"), lp_str(b"v")])));
    let e = read_all(&v12(&b)).unwrap_err();
    assert_eq!(e.offset, 11 + 3 + 8);
    assert!(e.what.contains("triplets"), "{}", e.what);
    // A listpack-ex TTL that is not an integer.
    let mut b = vec![T_HASH_LISTPACK_EX_PRE_GA, 1, b'h'];
    b.extend(rblob(&lp(&[lp_str(b"f"), lp_str(b"v"), lp_str(b"soon")])));
    let e = read_all(&v12(&b)).unwrap_err();
    assert!(e.what.contains("field TTL 'soon'"), "{}", e.what);
    // A metadata TTL past EB_EXPIRE_TIME_MAX (2^48 - 1).
    let mut b = vec![T_HASH_METADATA_PRE_GA, 1, b'h', 1, 0x81];
    b.extend_from_slice(&(1u64 << 48).to_be_bytes());
    b.extend_from_slice(&[1, b'f', 1, b'v']);
    let e = read_all(&v12(&b)).unwrap_err();
    assert_eq!(
        (e.offset, e.what.as_str()),
        (15, "invalid expireAt time: 281474976710656")
    );
    // A relative TTL that overflows.
    let mut b = vec![T_HASH_METADATA, 1, b'h'];
    b.extend_from_slice(&T1.to_le_bytes());
    b.extend_from_slice(&[1, 0x81]);
    b.extend_from_slice(&u64::MAX.to_be_bytes());
    b.extend_from_slice(&[1, b'f', 1, b'v']);
    let e = read_all(&v12(&b)).unwrap_err();
    assert!(e.what.starts_with("invalid expireAt time"), "{}", e.what);
    // Module data and the 7.0 release candidates' functions stay refused.
    let e = read_all(&v12(&[OP_MODULE_AUX, 1])).unwrap_err();
    assert!(e.what.contains("module"), "{}", e.what);
    // Every truncation of a good version-12 file is an error, never a panic.
    let mut b = vec![T_HASH_LISTPACK_EX, 3, b'l', b'p', b'x'];
    b.extend_from_slice(&T1.to_le_bytes());
    b.extend(rblob(&lp(&[lp_str(b"f"), lp_str(b"v"), lp_i64(T1 as i64)])));
    let good = v12(&b);
    assert!(read_all(&good).is_ok());
    for cut in 0..good.len() - 8 {
        assert!(read_all(&good[..cut]).is_err(), "cut at {cut}");
    }
}

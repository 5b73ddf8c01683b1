use super::*;

const LIM: NodeLimits = NodeLimits {
    max_bytes: 4096,
    max_entries: 100,
};

fn add(s: &mut Stream, id: StreamId, items: &[&[u8]], lim: NodeLimits) {
    s.append(id, items.len() / 2, items.iter().copied(), lim);
}

fn ids(s: &Stream, start: StreamId, end: StreamId, rev: bool) -> Vec<StreamId> {
    let mut v = Vec::new();
    s.range(start, end, rev, |e| {
        v.push(e.id);
        true
    });
    v
}

fn fields(e: EntryRef<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    e.fields
        .iter()
        .map(|(f, v)| (f.to_vec(), v.to_vec()))
        .collect()
}

#[test]
fn ids_order_and_step() {
    let a = StreamId::new(1, u64::MAX);
    assert_eq!(a.next(), Some(StreamId::new(2, 0)));
    assert_eq!(StreamId::new(2, 0).prev(), Some(a));
    assert_eq!(StreamId::MAX.next(), None);
    assert_eq!(StreamId::MIN.prev(), None);
    let mut buf = [0u8; 41];
    assert_eq!(
        StreamId::MAX.fmt_into(&mut buf),
        b"18446744073709551615-18446744073709551615"
    );
}

#[test]
fn entries_round_trip_across_nodes_with_shared_and_own_fields() {
    for lim in [
        LIM,
        NodeLimits {
            max_bytes: 0,
            max_entries: 3,
        },
        NodeLimits {
            max_bytes: 40,
            max_entries: 0,
        },
    ] {
        let mut s = Stream::default();
        let mut model = Vec::new();
        for i in 0..50u64 {
            let id = StreamId::new(i / 3 * 1000, i % 3 + 1);
            let v = i.to_string();
            let items: Vec<&[u8]> = if i % 4 == 0 {
                vec![b"other", v.as_bytes()]
            } else {
                vec![b"a", v.as_bytes(), b"b", b""]
            };
            add(&mut s, id, &items, lim);
            model.push((id, items.iter().map(|b| b.to_vec()).collect::<Vec<_>>()));
        }
        assert_eq!(s.len(), 50);
        let mut seen = Vec::new();
        s.for_each(|e| {
            let flat: Vec<Vec<u8>> = fields(e).into_iter().flat_map(|(f, v)| [f, v]).collect();
            seen.push((e.id, flat));
            true
        });
        assert_eq!(seen, model);
        let all: Vec<StreamId> = model.iter().map(|m| m.0).collect();
        let mut rev = all.clone();
        rev.reverse();
        assert_eq!(ids(&s, StreamId::MIN, StreamId::MAX, true), rev);
        // Sub-ranges in both directions.
        for (i, j) in [(0usize, 0usize), (3, 17), (10, 49), (48, 49)] {
            assert_eq!(ids(&s, all[i], all[j], false), all[i..=j].to_vec());
            let mut r = all[i..=j].to_vec();
            r.reverse();
            assert_eq!(ids(&s, all[i], all[j], true), r);
        }
        if lim.max_entries == 3 {
            assert_eq!(s.node_count(), 17);
        }
    }
}

#[test]
fn node_size_limits_are_honoured() {
    let mut s = Stream::default();
    let lim = NodeLimits {
        max_bytes: 0,
        max_entries: 10,
    };
    for i in 1..=100 {
        add(&mut s, StreamId::new(i, 0), &[b"f", b"v"], lim);
    }
    assert_eq!(s.node_count(), 10);
    let mut s = Stream::default();
    let lim = NodeLimits {
        max_bytes: 100,
        max_entries: 0,
    };
    for i in 1..=100 {
        add(&mut s, StreamId::new(i, 0), &[b"f", &[b'x'; 30]], lim);
    }
    assert!(s.nodes.values().all(|n| n.bytes() <= 100));
    assert!(s.node_count() >= 30);
}

#[test]
fn delete_trim_and_edges() {
    let mut s = Stream::default();
    let lim = NodeLimits {
        max_bytes: 0,
        max_entries: 10,
    };
    for i in 1..=100 {
        add(&mut s, StreamId::new(i, 0), &[b"f", b"v"], lim);
    }
    assert_eq!(s.delete([StreamId::new(1, 0), StreamId::new(1, 0)]), 1);
    assert_eq!(s.first_id, StreamId::new(2, 0));
    assert_eq!(s.max_deleted_id, StreamId::new(1, 0));
    assert!(s.get(StreamId::new(1, 0)).is_none());
    assert!(s.get(StreamId::new(2, 0)).is_some());
    // Approximate trimming removes whole nodes only.
    assert_eq!(s.trim(Trim::MaxLen(85), true, 0), 9);
    assert_eq!(s.len(), 90);
    assert_eq!(s.first_id, StreamId::new(11, 0));
    assert_eq!(s.trim(Trim::MaxLen(85), false, 0), 5);
    assert_eq!(s.first_id, StreamId::new(16, 0));
    assert_eq!(s.trim(Trim::MinId(StreamId::new(50, 0)), false, 0), 34);
    assert_eq!(s.first_id, StreamId::new(50, 0));
    // LIMIT stops before a node that would pass it (the node of 50 has one live entry).
    assert_eq!(s.trim(Trim::MaxLen(0), true, 5), 1);
    assert_eq!(s.trim(Trim::MaxLen(0), true, 5), 0);
    assert_eq!(s.trim(Trim::MaxLen(0), false, 0), 50);
    assert!(s.is_empty());
    assert_eq!(s.first_id, StreamId::MIN);
    assert_eq!(s.node_count(), 0);
    assert_eq!(s.last_id, StreamId::new(100, 0));
    assert_eq!(s.entries_added, 100);
}

#[test]
fn ids_at_the_limits() {
    let mut s = Stream::default();
    add(&mut s, StreamId::new(0, 1), &[b"a", b"1"], LIM);
    add(&mut s, StreamId::new(u64::MAX, 0), &[b"a", b"2"], LIM);
    add(&mut s, StreamId::MAX, &[b"a", b"3"], LIM);
    assert_eq!(
        ids(&s, StreamId::MIN, StreamId::MAX, false),
        vec![
            StreamId::new(0, 1),
            StreamId::new(u64::MAX, 0),
            StreamId::MAX
        ]
    );
    assert_eq!(
        ids(&s, StreamId::MAX, StreamId::MAX, true),
        vec![StreamId::MAX]
    );
}

#[test]
fn lag_follows_redis() {
    let mut s = Stream::default();
    let mut g = Group::new(StreamId::MIN, 0);
    assert_eq!(s.lag(&g), Some(0));
    for i in 1..=5 {
        add(&mut s, StreamId::new(i, 0), &[b"f", b"v"], LIM);
    }
    assert_eq!(s.lag(&g), Some(5));
    s.meta().advance_group(&mut g, StreamId::new(2, 0));
    assert_eq!((g.entries_read, s.lag(&g)), (1, Some(4)));
    s.delete([StreamId::new(4, 0)]);
    assert_eq!(s.lag(&g), None);
    s.meta().advance_group(&mut g, StreamId::new(3, 0));
    assert_eq!((g.entries_read, s.lag(&g)), (INVALID_ENTRIES_READ, None));
    s.meta().advance_group(&mut g, StreamId::new(5, 0));
    assert_eq!((g.entries_read, s.lag(&g)), (5, Some(0)));
}

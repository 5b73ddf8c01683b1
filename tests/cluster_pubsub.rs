//! Pub/Sub in cluster mode, on real processes: PUBLISH reaches every node over the bus (in
//! order), SPUBLISH the nodes of the channel's shard only; shard channel commands are routed
//! like keys (MOVED, CROSSSLOT) but served by replicas; moving a slot away unsubscribes its
//! shard channels' subscribers (`sunsubscribe`), on the primary and on its replica.
mod common;
use common::cluster::*;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A RESP2 connection for subscribers: commands out, replies and pushes in, flattened to text
/// (`["message", "ch", "hi"]`; an error reply is one `-ERR ...` item).
struct Sub {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Sub {
    fn new(node: &Node) -> Sub {
        let s = TcpStream::connect(("127.0.0.1", node.proc.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Sub {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    fn send(&mut self, args: &[&str]) {
        let parts: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.w.write_all(&RawConn::encode(&parts)).unwrap();
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).expect("reply");
        assert!(l.ends_with("\r\n"), "cut reply {l:?}");
        l.truncate(l.len() - 2);
        l
    }

    fn item(&mut self) -> String {
        let l = self.line();
        let (t, rest) = l.split_at(1);
        match t {
            "$" => {
                let n: usize = rest.parse().unwrap();
                let mut b = vec![0u8; n + 2];
                self.r.read_exact(&mut b).unwrap();
                b.truncate(n);
                String::from_utf8(b).unwrap()
            }
            ":" | "+" => rest.to_string(),
            "-" => l,
            _ => panic!("unexpected {l:?}"),
        }
    }

    /// The next reply or push.
    fn read(&mut self) -> Vec<String> {
        let l = self.line();
        match l.strip_prefix('*') {
            Some(n) => (0..n.parse::<usize>().unwrap())
                .map(|_| self.item())
                .collect(),
            None if l.starts_with('-') => vec![l],
            None => vec![l[1..].to_string()],
        }
    }

    /// The next reply or push if one comes within `ms`.
    fn read_within(&mut self, ms: u64) -> Option<Vec<String>> {
        self.w
            .set_read_timeout(Some(Duration::from_millis(ms)))
            .unwrap();
        let got = self.r.fill_buf().map(|b| !b.is_empty()).unwrap_or(false);
        self.w
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        got.then(|| self.read())
    }

    fn cmd(&mut self, args: &[&str]) -> Vec<String> {
        self.send(args);
        self.read()
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A channel name whose slot `owner` serves (of `nodes` primaries splitting slots evenly).
fn channel_of(prefix: &str, primary: usize, primaries: usize) -> String {
    let per = 16384 / primaries as u16;
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|c| slot_of(c) / per == primary as u16)
        .unwrap()
}

fn stat(node: &Node, name: &str) -> u64 {
    let info: String = q(&mut node.conn(), &["CLUSTER", "INFO"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cluster_stats_messages_{name}:")))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[test]
fn publish_and_spublish_across_the_cluster() {
    // Primaries 0 and 1; node 2 replicates 0, node 3 replicates 1.
    let nodes = form_cluster_with_replicas(2, 1, 2000, "ps");

    // PUBLISH on node 1 reaches a channel subscriber on node 0 and a pattern subscriber on
    // node 2 (a replica), 200 messages in order; a 1 MiB message too (larger than any other
    // bus frame).
    let mut chan = Sub::new(&nodes[0]);
    assert_eq!(
        chan.cmd(&["SUBSCRIBE", "news"]),
        strs(&["subscribe", "news", "1"])
    );
    let mut pat = Sub::new(&nodes[2]);
    assert_eq!(
        pat.cmd(&["PSUBSCRIBE", "ne*"]),
        strs(&["psubscribe", "ne*", "1"])
    );
    let mut p = nodes[1].conn();
    for i in 0..200 {
        let n: i64 = q(&mut p, &["PUBLISH", "news", &i.to_string()]);
        assert_eq!(n, 0, "no subscriber on the publishing node itself");
    }
    let big = "x".repeat(1 << 20);
    let _: i64 = q(&mut p, &["PUBLISH", "news", &big]);
    for i in 0..200 {
        assert_eq!(chan.read(), strs(&["message", "news", &i.to_string()]));
        assert_eq!(
            pat.read(),
            strs(&["pmessage", "ne*", "news", &i.to_string()])
        );
    }
    assert_eq!(chan.read()[2].len(), 1 << 20);
    assert_eq!(pat.read()[3], big);
    assert!(stat(&nodes[1], "publish_sent") >= 3 * 201);
    assert!(stat(&nodes[0], "publish_received") >= 201);
    assert!(stat(&nodes[3], "publish_received") >= 201);

    // Shard channels: routed by their slot like keys.
    let ch = channel_of("sh", 0, 2);
    let slot = slot_of(&ch);
    let other = channel_of("sh", 1, 2);
    let mut wrong = Sub::new(&nodes[1]);
    assert_eq!(
        wrong.cmd(&["SSUBSCRIBE", &ch]),
        vec![format!("-MOVED {slot} 127.0.0.1:{}", nodes[0].proc.port())]
    );
    let same_slot = format!("{{{ch}}}x");
    let mut s0 = Sub::new(&nodes[0]);
    assert_eq!(
        s0.cmd(&["SSUBSCRIBE", &ch, &other]),
        strs(&["-CROSSSLOT Keys in request don't hash to the same slot"])
    );
    s0.send(&["SSUBSCRIBE", &ch, &same_slot]);
    assert_eq!(s0.read(), strs(&["ssubscribe", &ch, "1"]));
    assert_eq!(s0.read(), strs(&["ssubscribe", &same_slot, "2"]));
    // A replica serves its primary's shard channels without READONLY.
    let mut s2 = Sub::new(&nodes[2]);
    assert_eq!(
        s2.cmd(&["SSUBSCRIBE", &ch]),
        strs(&["ssubscribe", &ch, "1"])
    );
    assert_eq!(
        e(&mut nodes[3].conn(), &["SPUBLISH", &ch, "m"]),
        format!("MOVED {slot} 127.0.0.1:{}", nodes[0].proc.port())
    );

    // SPUBLISH on the primary and on its replica reaches both, and not the other shard.
    // (One at a time: the two paths to the replica's subscriber are not ordered.)
    let n: i64 = q(&mut nodes[0].conn(), &["SPUBLISH", &ch, "from-primary"]);
    assert_eq!(n, 1, "local subscribers only");
    for s in [&mut s0, &mut s2] {
        assert_eq!(s.read(), strs(&["smessage", &ch, "from-primary"]));
    }
    let n: i64 = q(&mut nodes[2].conn(), &["SPUBLISH", &ch, "from-replica"]);
    assert_eq!(n, 1);
    for s in [&mut s0, &mut s2] {
        assert_eq!(s.read(), strs(&["smessage", &ch, "from-replica"]));
    }
    assert!(stat(&nodes[0], "publishshard_sent") >= 1);
    assert!(stat(&nodes[2], "publishshard_received") >= 1);
    for other_shard in [&nodes[1], &nodes[3]] {
        assert_eq!(stat(other_shard, "publishshard_received"), 0);
    }
    // Plain PUBLISH does not reach shard subscribers.
    let _: i64 = q(&mut p, &["PUBLISH", &ch, "plain"]);
    assert!(s0.read_within(300).is_none());

    // While the slot moves, its channels stay on the source (a channel is not a key: no ASK),
    // and the target serves them to ASKING clients.
    let slot_s = slot.to_string();
    let (src, dst) = (&nodes[0], &nodes[1]);
    ok(
        &mut dst.conn(),
        &["CLUSTER", "SETSLOT", &slot_s, "IMPORTING", &src.id],
    );
    ok(
        &mut src.conn(),
        &["CLUSTER", "SETSLOT", &slot_s, "MIGRATING", &dst.id],
    );
    let mut during = Sub::new(src);
    let late = format!("{{{ch}}}late");
    assert_eq!(
        during.cmd(&["SSUBSCRIBE", &late]),
        strs(&["ssubscribe", &late, "1"])
    );
    let mut asking = Sub::new(dst);
    assert_eq!(asking.cmd(&["ASKING"]), strs(&["OK"]));
    assert_eq!(
        asking.cmd(&["SSUBSCRIBE", &ch]),
        strs(&["ssubscribe", &ch, "1"])
    );
    let n: i64 = q(&mut src.conn(), &["SPUBLISH", &late, "moving"]);
    assert_eq!(n, 1);
    assert_eq!(during.read(), strs(&["smessage", &late, "moving"]));

    // Closing the move as redis-cli does (target first, then source): the source's and its
    // replica's subscribers of the slot's channels are unsubscribed; the importing side's
    // subscriber stays.
    ok(
        &mut dst.conn(),
        &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id],
    );
    ok(
        &mut src.conn(),
        &["CLUSTER", "SETSLOT", &slot_s, "NODE", &dst.id],
    );
    let (a, b) = (s0.read(), s0.read());
    assert_eq!(
        [&a[0], &a[2], &b[0], &b[2]],
        ["sunsubscribe", "1", "sunsubscribe", "0"]
    );
    let mut names = vec![a[1].clone(), b[1].clone()];
    names.sort();
    let mut want = vec![ch.clone(), same_slot.clone()];
    want.sort();
    assert_eq!(names, want);
    assert_eq!(during.read(), strs(&["sunsubscribe", &late, "0"]));
    assert_eq!(s2.read(), strs(&["sunsubscribe", &ch, "0"]));
    assert!(asking.read_within(300).is_none());
    // The new owner's shard serves the channel now.
    assert_eq!(
        s2.cmd(&["SSUBSCRIBE", &ch]),
        vec![format!("-MOVED {slot} 127.0.0.1:{}", dst.proc.port())]
    );
    let mut s3 = Sub::new(&nodes[3]);
    assert_eq!(
        s3.cmd(&["SSUBSCRIBE", &ch]),
        strs(&["ssubscribe", &ch, "1"])
    );
    let n: i64 = q(&mut dst.conn(), &["SPUBLISH", &ch, "moved"]);
    assert_eq!(n, 1);
    assert_eq!(asking.read(), strs(&["smessage", &ch, "moved"]));
    assert_eq!(s3.read(), strs(&["smessage", &ch, "moved"]));
    cleanup(&nodes);
}

/// Slots that leave by CLUSTER MIGRATESLOTS (atomic slot migration) or CLUSTER DELSLOTS take
/// their shard channels' subscribers along: they get `sunsubscribe`; other slots' stay.
#[test]
fn migrateslots_and_delslots_unsubscribe_shard_channels() {
    let nodes = form_cluster(2, 2000, "psm");
    let moved = channel_of("m", 0, 2);
    let deleted = channel_of("d", 0, 2);
    let kept = (0..)
        .map(|i| format!("k{i}"))
        .find(|c| {
            let s = slot_of(c);
            s < 8192 && s != slot_of(&moved) && s != slot_of(&deleted)
        })
        .unwrap();
    let mut subs: Vec<Sub> = [&moved, &deleted, &kept]
        .iter()
        .map(|ch| {
            let mut s = Sub::new(&nodes[0]);
            assert_eq!(s.cmd(&["SSUBSCRIBE", ch]), strs(&["ssubscribe", ch, "1"]));
            s
        })
        .collect();
    let slot = slot_of(&moved).to_string();
    ok(
        &mut nodes[0].conn(),
        &[
            "CLUSTER",
            "MIGRATESLOTS",
            "SLOTSRANGE",
            &slot,
            &slot,
            "NODE",
            &nodes[1].id,
        ],
    );
    assert_eq!(subs[0].read(), strs(&["sunsubscribe", &moved, "0"]));
    let slot = slot_of(&deleted).to_string();
    ok(&mut nodes[0].conn(), &["CLUSTER", "DELSLOTS", &slot]);
    assert_eq!(subs[1].read(), strs(&["sunsubscribe", &deleted, "0"]));
    assert!(subs[2].read_within(300).is_none());
    let n: i64 = q(&mut nodes[0].conn(), &["SPUBLISH", &kept, "still"]);
    assert_eq!(n, 1);
    assert_eq!(subs[2].read(), strs(&["smessage", &kept, "still"]));
    cleanup(&nodes);
}

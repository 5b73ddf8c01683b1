//! Replicas, elections and failover over the in-memory network: a dead primary replaced by its
//! replica, the best replica winning, votes once per epoch, manual failovers, a returning primary
//! turned replica, replica migration.

mod sim;

use shoal_cluster::bus::{Body, Bus, Header, Kind, Manual, Message};
use shoal_cluster::{ClusterState, Node, NodeId, SlotSet};
use sim::{Sim, slot_owners};

const TIMEOUT: u64 = 2000;

/// `primaries` primaries with the slots spread over them, and replicas: `replica_of[k]` is the
/// primary index of node `primaries + k`.
fn cluster(primaries: usize, replica_of: &[usize], seed: u64) -> Sim {
    let n = primaries + replica_of.len();
    let mut sim = Sim::new(n, TIMEOUT, seed);
    for i in 1..n {
        sim.meet(0, i);
    }
    for i in 0..primaries {
        let lo = i * 16384 / primaries;
        let hi = (i + 1) * 16384 / primaries;
        let slots: Vec<u16> = (lo..hi).map(|s| s as u16).collect();
        sim.nodes[i].0.add_slots(&slots).unwrap();
        sim.nodes[i].0.set_config_epoch(i as i64 + 1).unwrap();
    }
    sim.deliver_all();
    sim.run(4000);
    assert!(sim.all_know_all());
    for (k, &p) in replica_of.iter().enumerate() {
        let pid = sim.nodes[p].0.myself;
        sim.nodes[primaries + k].0.set_my_primary(pid);
    }
    sim.run(3000);
    for (s, _) in &sim.nodes {
        assert!(s.is_ok(), "{}", s.nodes_text());
    }
    sim
}

fn id(sim: &Sim, i: usize) -> NodeId {
    sim.nodes[i].0.myself
}

/// Runs until `done` holds (checked every 100 ms), at most `max_ms`; returns the time it took.
fn run_until(sim: &mut Sim, max_ms: u64, done: impl Fn(&Sim) -> bool) -> Option<u64> {
    let start = sim.now;
    while sim.now - start < max_ms {
        sim.run(100);
        if done(sim) {
            return Some(sim.now - start);
        }
    }
    None
}

fn is_primary(sim: &Sim, i: usize) -> bool {
    sim.nodes[i].0.me().flags.primary
}

#[test]
fn replicas_are_known_to_every_node() {
    let sim = cluster(3, &[0, 1, 2], 21);
    for (s, _) in &sim.nodes {
        for k in 0..3 {
            let r = &s.nodes[&id(&sim, 3 + k)];
            assert!(r.flags.replica && !r.flags.primary);
            assert_eq!(r.primary_of, Some(id(&sim, k)));
            let reps: Vec<NodeId> = s.replicas_of(id(&sim, k)).map(|n| n.id).collect();
            assert_eq!(reps, vec![id(&sim, 3 + k)]);
        }
        // A replica prints its primary's configEpoch in CLUSTER NODES.
        let line = s.node_text(&s.nodes[&id(&sim, 4)]);
        assert!(
            line.contains(" slave ") || line.contains(",slave "),
            "{line}"
        );
        assert!(
            line.contains(&format!(" {} 2 connected", 0)) || line.ends_with(" 2 connected"),
            "{line}"
        );
    }
}

#[test]
fn killed_primary_is_replaced_by_its_replica() {
    let mut sim = cluster(3, &[0, 1, 2], 22);
    for (_, bus) in sim.nodes.iter_mut() {
        bus.fo.offset = 1000;
    }
    sim.down[0] = true;
    let took = run_until(&mut sim, 10 * TIMEOUT, |sim| is_primary(sim, 3))
        .expect("the replica was never promoted");
    // FAIL comes after node-timeout (plus the time for reports to gather); the election starts
    // 0.5-1 s later and completes in a round trip.
    assert!(took <= TIMEOUT + 2500, "promotion took {took} ms");
    sim.run(2000);
    let winner = id(&sim, 3);
    for i in 1..6 {
        let s = &sim.nodes[i].0;
        assert_eq!(s.owner_id(0), Some(winner), "node {i}");
        assert!(s.is_ok(), "node {i}: {}", s.nodes_text());
    }
    assert!(sim.nodes[3].0.me().config_epoch > 3, "a new configEpoch");
    // The old primary comes back with its old view, is told, and follows the winner.
    sim.down[0] = false;
    run_until(&mut sim, 4 * TIMEOUT, |sim| {
        sim.nodes[0].0.me().primary_of == Some(winner)
    })
    .expect("the old primary never became a replica of the winner");
    let s = &sim.nodes[0].0;
    assert!(s.me().flags.replica && s.me().slots.is_empty());
    sim.run(3 * TIMEOUT);
    let owners: Vec<String> = sim.nodes.iter().map(|(s, _)| slot_owners(s)).collect();
    assert!(owners.windows(2).all(|w| w[0] == w[1]), "owners differ");
    for (i, (s, _)) in sim.nodes.iter().enumerate() {
        assert!(s.is_ok(), "node {i}");
        assert_eq!(
            s.nodes[&id(&sim, 0)].primary_of,
            Some(winner),
            "node {i} sees the old primary as the winner's replica"
        );
    }
}

#[test]
fn the_replica_with_the_most_data_wins() {
    // Node 3 and 4 replicate node 0; 4 has replicated more.
    let mut sim = cluster(3, &[0, 0, 1, 2], 23);
    for (i, (_, bus)) in sim.nodes.iter_mut().enumerate() {
        bus.fo.offset = if i == 3 { 500 } else { 1000 };
    }
    sim.run(1000);
    sim.down[0] = true;
    run_until(&mut sim, 10 * TIMEOUT, |sim| {
        is_primary(sim, 3) || is_primary(sim, 4)
    })
    .expect("nobody was promoted");
    assert!(is_primary(&sim, 4), "rank 0 (most data) wins");
    assert!(!is_primary(&sim, 3));
    // The other replica follows the new primary.
    let winner = id(&sim, 4);
    run_until(&mut sim, 2 * TIMEOUT, |sim| {
        sim.nodes[3].0.me().primary_of == Some(winner)
    })
    .expect("the losing replica kept following the dead primary");
}

#[test]
fn equal_replicas_elect_exactly_one() {
    for seed in 30..34 {
        let mut sim = cluster(3, &[0, 0, 1, 2], seed);
        for (_, bus) in sim.nodes.iter_mut() {
            bus.fo.offset = 1000;
        }
        sim.down[0] = true;
        run_until(&mut sim, 20 * TIMEOUT, |sim| {
            is_primary(sim, 3) || is_primary(sim, 4)
        })
        .expect("nobody was promoted");
        sim.run(3 * TIMEOUT);
        let winners: Vec<usize> = [3, 4]
            .into_iter()
            .filter(|i| is_primary(&sim, *i))
            .collect();
        assert_eq!(winners.len(), 1, "seed {seed}");
        let owners: Vec<String> = sim.nodes[1..].iter().map(|(s, _)| slot_owners(s)).collect();
        assert!(owners.windows(2).all(|w| w[0] == w[1]), "seed {seed}");
    }
}

/// A voter that knows a failed primary P with two replicas.
fn voter() -> (ClusterState, Bus, NodeId, NodeId, NodeId) {
    let me = NodeId::random();
    let mut st = ClusterState::new(me, "10.0.0.1".into(), 7000, 17000);
    st.add_slots(&[1, 2, 3]).unwrap();
    st.set_config_epoch(1).unwrap();
    let p = NodeId::random();
    let mut pn = Node::new(p, "10.0.0.2".into(), 7000, 17000);
    pn.flags.fail = true;
    pn.config_epoch = 2;
    st.nodes.insert(p, pn);
    for s in 100..200 {
        st.assign(s, p);
    }
    let (r1, r2) = (NodeId::random(), NodeId::random());
    for r in [r1, r2] {
        let mut n = Node::new(r, "10.0.0.3".into(), 7000, 17000);
        n.flags.primary = false;
        n.flags.replica = true;
        n.primary_of = Some(p);
        st.nodes.insert(r, n);
    }
    st.current_epoch = 4;
    (st, Bus::new(TIMEOUT), p, r1, r2)
}

fn request(from: NodeId, primary: NodeId, epoch: u64, slots_epoch: u64) -> Message {
    let mut slots = SlotSet::new();
    for s in 100..200 {
        slots.insert(s);
    }
    Message {
        kind: Kind::AuthRequest,
        header: Header {
            sender: from,
            current_epoch: epoch,
            config_epoch: slots_epoch,
            flags: 2,
            mflags: 0,
            offset: 10,
            primary: Some(primary),
            ip: "10.0.0.3".into(),
            port: 7000,
            cport: 17000,
            hostname: String::new(),
            slots,
            state_ok: true,
        },
        body: Body::Empty,
    }
}

fn acks(fx: &shoal_cluster::bus::Effects) -> usize {
    fx.out
        .iter()
        .filter(|(_, m)| m.kind == Kind::AuthAck)
        .count()
}

#[test]
fn a_primary_votes_once_per_epoch_and_saves_before_voting() {
    let (mut st, mut bus, p, r1, r2) = voter();
    let now = 5_000_000;
    let fx = bus.on_message(&mut st, request(r1, p, 5, 2), 1, "", "", now);
    assert_eq!(acks(&fx), 1, "first request of epoch 5 is granted");
    assert!(fx.save, "the vote is saved before it is sent");
    assert_eq!(st.last_vote_epoch, 5);
    assert!(st.to_conf().contains("lastVoteEpoch 5"));
    let fx = bus.on_message(&mut st, request(r2, p, 5, 2), 2, "", "", now + 10);
    assert_eq!(acks(&fx), 0, "no second vote in epoch 5");
    // A later epoch, but a replica of the same primary within 2 x node-timeout: refused.
    let fx = bus.on_message(&mut st, request(r2, p, 6, 2), 2, "", "", now + 100);
    assert_eq!(acks(&fx), 0);
    let fx = bus.on_message(
        &mut st,
        request(r2, p, 7, 2),
        2,
        "",
        "",
        now + 2 * TIMEOUT + 1,
    );
    assert_eq!(
        acks(&fx),
        1,
        "granted once the 2 x node-timeout window passed"
    );
    // A stale epoch is refused.
    let fx = bus.on_message(&mut st, request(r1, p, 3, 2), 1, "", "", now + 10 * TIMEOUT);
    assert_eq!(acks(&fx), 0);
}

#[test]
fn votes_are_refused_for_a_live_primary_or_a_stale_slot_view() {
    let (mut st, mut bus, p, r1, _) = voter();
    let now = 5_000_000;
    // Its view of the slots (configEpoch 1) is older than ours (2): refused.
    let fx = bus.on_message(&mut st, request(r1, p, 5, 1), 1, "", "", now);
    assert_eq!(acks(&fx), 0);
    // The primary is not failed: refused, unless the request is a manual failover's.
    st.nodes.get_mut(&p).unwrap().flags.fail = false;
    let fx = bus.on_message(&mut st, request(r1, p, 6, 2), 1, "", "", now);
    assert_eq!(acks(&fx), 0);
    let mut forced = request(r1, p, 7, 2);
    forced.header.mflags = shoal_cluster::bus::msg::mflags::FORCEACK;
    let fx = bus.on_message(&mut st, forced, 1, "", "", now);
    assert_eq!(acks(&fx), 1);
}

/// Three primaries with replica 3 of primary 0 behind it (offset 900 of 1000), and a default
/// CLUSTER FAILOVER started on that replica. Returns the start time.
fn manual_failover_behind(seed: u64) -> (Sim, u64) {
    let mut sim = cluster(3, &[0, 1, 2], seed);
    for (i, (_, bus)) in sim.nodes.iter_mut().enumerate() {
        bus.fo.offset = if i == 3 { 900 } else { 1000 };
    }
    let now = sim.now;
    let (st, bus) = &mut sim.nodes[3];
    let fx = bus.manual_failover(st, Manual::Default, now);
    sim.effects(3, fx);
    (sim, now)
}

#[test]
fn manual_failover_pauses_the_primary_until_the_replica_caught_up() {
    let (mut sim, now) = manual_failover_behind(24);
    sim.deliver_all();
    sim.run(1000);
    assert!(
        sim.pauses[0].first().is_some_and(|&p| p > now),
        "the primary paused writes: {:?}",
        sim.pauses[0]
    );
    assert!(
        !is_primary(&sim, 3),
        "not before the replica has the primary's offset"
    );
    sim.nodes[3].1.fo.offset = 1000;
    run_until(&mut sim, 2000, |sim| is_primary(sim, 3)).expect("manual failover never completed");
    let winner = id(&sim, 3);
    run_until(&mut sim, 2000, |sim| {
        sim.nodes[0].0.me().primary_of == Some(winner)
    })
    .expect("the old primary did not become a replica");
    assert_eq!(
        sim.pauses[0].last(),
        Some(&0),
        "writes resume on the old primary"
    );
    sim.run(2000);
    for (s, _) in &sim.nodes {
        assert_eq!(s.owner_id(0), Some(winner));
        assert!(s.is_ok());
    }
}

#[test]
fn manual_failover_times_out_and_resumes_writes() {
    let (mut sim, _) = manual_failover_behind(25);
    sim.run(7000);
    assert!(!is_primary(&sim, 3), "the replica never caught up");
    assert!(is_primary(&sim, 0));
    assert_eq!(sim.pauses[0].last(), Some(&0), "the primary resumed writes");
}

#[test]
fn force_and_takeover() {
    let mut sim = cluster(3, &[0, 1, 2], 26);
    // FORCE: an election now, without the primary's consent (it is alive but cut off).
    sim.cut = Some(vec![1, 0, 0, 0, 0, 0]);
    let now = sim.now;
    let (st, bus) = &mut sim.nodes[3];
    let fx = bus.manual_failover(st, Manual::Force, now);
    sim.effects(3, fx);
    run_until(&mut sim, 3000, |sim| is_primary(sim, 3)).expect("FORCE did not promote");
    // TAKEOVER: no vote at all, even with the other primaries unreachable.
    sim.cut = Some(vec![0, 1, 1, 0, 1, 0]);
    let now = sim.now;
    let (st, bus) = &mut sim.nodes[4];
    let fx = bus.manual_failover(st, Manual::Takeover, now);
    sim.effects(4, fx);
    assert!(is_primary(&sim, 4), "TAKEOVER is immediate");
    sim.cut = None;
    sim.run(4 * TIMEOUT);
    let owners: Vec<String> = sim.nodes.iter().map(|(s, _)| slot_owners(s)).collect();
    assert!(owners.windows(2).all(|w| w[0] == w[1]), "owners differ");
    for (s, _) in &sim.nodes {
        assert_eq!(s.owner_id(0), Some(id(&sim, 3)));
        assert_eq!(s.owner_id(8000), Some(id(&sim, 4)));
        assert!(s.is_ok());
    }
    assert_eq!(sim.nodes[0].0.me().primary_of, Some(id(&sim, 3)));
    assert_eq!(sim.nodes[1].0.me().primary_of, Some(id(&sim, 4)));
}

#[test]
fn a_replica_migrates_to_an_orphaned_primary() {
    // Node 0 has replicas 3 and 4; node 1 has 5; node 2 has 6, which dies.
    let mut sim = cluster(3, &[0, 0, 1, 2], 27);
    sim.down[6] = true;
    let orphan = id(&sim, 2);
    run_until(&mut sim, 10 * TIMEOUT + 6000, |sim| {
        (3..5).any(|i| sim.nodes[i].0.me().primary_of == Some(orphan))
    })
    .expect("no replica migrated");
    let moved: Vec<usize> = (3..5)
        .filter(|&i| sim.nodes[i].0.me().primary_of == Some(orphan))
        .collect();
    assert_eq!(moved.len(), 1, "exactly one migrates");
    let expected = if id(&sim, 3) < id(&sim, 4) { 3 } else { 4 };
    assert_eq!(moved, vec![expected], "the smallest node ID moves");
    sim.run(2000);
    let live: Vec<NodeId> = sim.nodes[0]
        .0
        .replicas_of(orphan)
        .filter(|r| !r.flags.fail)
        .map(|r| r.id)
        .collect();
    assert_eq!(live, vec![id(&sim, expected)], "every node learns the move");
}

/// PUBLISH goes to every other node, SPUBLISH to the other nodes of the publisher's shard
/// (from a primary or from one of its replicas); a receiver hands the message to its
/// subscribers only if it knows the sender.
#[test]
fn publish_reaches_every_node_and_spublish_the_shard() {
    // Primaries 0, 1; replicas 2, 3 of 0 and 4 of 1.
    let mut sim = cluster(2, &[0, 0, 1], 21);
    let sorted = |mut v: Vec<NodeId>| {
        v.sort();
        v
    };
    let ids = |sim: &Sim, ix: &[usize]| sorted(ix.iter().map(|&i| id(sim, i)).collect());
    let publish = |sim: &mut Sim, from: usize, shard: bool| {
        let (st, bus) = &mut sim.nodes[from];
        bus.publish(st, shard, b"ch".to_vec(), b"hi".to_vec())
    };
    let (to, m) = publish(&mut sim, 0, false).unwrap();
    assert_eq!(sorted(to), ids(&sim, &[1, 2, 3, 4]));
    assert_eq!(m.kind, Kind::Publish);
    let (to, _) = publish(&mut sim, 0, true).unwrap();
    assert_eq!(sorted(to), ids(&sim, &[2, 3]));
    let (to, _) = publish(&mut sim, 3, true).unwrap();
    assert_eq!(sorted(to), ids(&sim, &[0, 2]));
    let (to, m) = publish(&mut sim, 4, true).unwrap();
    assert_eq!(sorted(to), ids(&sim, &[1]));
    assert_eq!(m.kind, Kind::PublishShard);
    assert_eq!(sim.nodes[4].1.stats.sent[Kind::PublishShard as usize], 1);
    assert_eq!(sim.nodes[0].1.stats.sent[Kind::Publish as usize], 4);

    // Received: delivered, counted, and the state is left alone.
    let before = sim.nodes[1].0.nodes_text();
    let (st, bus) = &mut sim.nodes[1];
    let fx = bus.on_message(st, m.clone(), 4, "10.0.0.5", "10.0.0.2", 0);
    assert!(fx.out.is_empty() && !fx.save);
    assert_eq!(fx.deliver.len(), 1);
    assert!(fx.deliver[0].shard);
    assert_eq!(fx.deliver[0].channel, b"ch");
    assert_eq!(fx.deliver[0].message, b"hi");
    assert_eq!(bus.stats.received[Kind::PublishShard as usize], 1);
    assert_eq!(st.nodes_text(), before);
    // From a node nobody knows: dropped.
    let mut stranger = m;
    stranger.header.sender = NodeId::random();
    let fx = bus.on_message(st, stranger, 4, "10.0.0.9", "10.0.0.2", 0);
    assert!(fx.deliver.is_empty());
}

/// Learning another node's slots (a reshard's SETSLOT NODE announcement) is saved without
/// fsync: the cluster tells a restarted node again. An epoch this node adopts is saved durably.
#[test]
fn slots_learned_from_a_peer_are_saved_lazily_epochs_durably() {
    let mut sim = cluster(3, &[], 31);
    let to_node2 = |sim: &mut Sim| {
        let now = sim.now;
        let target = id(sim, 2);
        let (st, bus) = &mut sim.nodes[0];
        let fx = bus.announce(st, now);
        let msg = fx
            .out
            .into_iter()
            .find(|(d, _)| matches!(d, shoal_cluster::bus::Dest::Node(n) if *n == target))
            .map(|(_, m)| m)
            .expect("an announcement to node 2");
        let (st, bus) = &mut sim.nodes[2];
        bus.on_message(st, msg, 0, "10.0.0.1", "10.0.0.3", now)
    };
    // Node 0 takes a new epoch: node 2 adopts it and saves durably.
    {
        let st = &mut sim.nodes[0].0;
        st.current_epoch = 10;
        st.me_mut().config_epoch = 10;
    }
    let fx = to_node2(&mut sim);
    assert!(fx.save, "an adopted epoch is fsynced");
    // Then it takes one of node 1's slots at that epoch: node 2 follows, lazily.
    let slot = 16383;
    let me = id(&sim, 0);
    sim.nodes[0].0.assign(slot, me);
    let fx = to_node2(&mut sim);
    assert!(!fx.save, "a slot learned from a peer is not fsynced");
    assert!(fx.save_lazy, "but it is saved");
    assert_eq!(sim.nodes[2].0.owner_id(slot), Some(me));
}

//! Automatic rebalancing (`cluster-auto-rebalance`): when empty primaries have joined, every
//! node computes the same plan from the same view, and each slot owner moves its share of slots
//! to them with an atomic slot migration (no manual `redis-cli --cluster rebalance`).
//!
//! The plan: every primary (owners and receivers) should end with an even share of the 16384
//! slots (the first `16384 % n` by ID one more). Receivers are primaries more than 2% below
//! their share (a new empty primary, or one that got only part of its share so far); in ID order they take
//! what they lack from the primaries with the largest surplus (ID order on a tie), which give
//! their highest-numbered slots, so a move is a few contiguous ranges.

use crate::slot::SLOTS;
use crate::state::{ClusterState, NodeId};

/// One move of the plan: `slots` from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub from: NodeId,
    pub to: NodeId,
    pub slots: Vec<u16>,
}

/// The share of the slots each of the primaries holding slots or named in `receivers` should
/// hold: `16384 / n`, one more for the first `16384 % n` by ID.
fn quotas(st: &ClusterState, receivers: &[NodeId]) -> Vec<(NodeId, usize)> {
    let mut all: Vec<NodeId> = st
        .nodes
        .values()
        .filter(|n| n.flags.primary && (!n.slots.is_empty() || receivers.contains(&n.id)))
        .map(|n| n.id)
        .collect();
    all.sort();
    let n = all.len().max(1);
    all.iter()
        .enumerate()
        .map(|(rank, id)| (*id, SLOTS / n + usize::from(rank < SLOTS % n)))
        .collect()
}

/// Primaries more than 2% below their share (redis-cli rebalance's default threshold): the
/// receivers a rebalance is for. One stays a receiver until it got its whole share, whichever
/// owners gave theirs first.
pub fn underfull(st: &ClusterState, candidates: &[NodeId]) -> Vec<NodeId> {
    let q = quotas(st, candidates);
    q.iter()
        .filter(|(id, quota)| {
            candidates.contains(id)
                && st
                    .nodes
                    .get(id)
                    .is_some_and(|n| n.slots.len() * 100 < quota * 98)
        })
        .map(|(id, _)| *id)
        .collect()
}

/// The moves that bring each of `receivers` (primaries, usually empty ones) up to its share,
/// taking from the primaries above theirs.
pub fn plan(st: &ClusterState, receivers: &[NodeId]) -> Vec<Move> {
    let quota = quotas(st, receivers);
    let quota_of = |id: NodeId| quota.iter().find(|q| q.0 == id).map_or(0, |q| q.1);
    let mut donors: Vec<(NodeId, Vec<u16>)> = st
        .nodes
        .values()
        .filter(|n| n.flags.primary && !receivers.contains(&n.id) && n.slots.len() > quota_of(n.id))
        .map(|n| (n.id, n.slots.iter().collect()))
        .collect();
    let mut recv: Vec<NodeId> = receivers
        .iter()
        .copied()
        .filter(|id| st.nodes.get(id).is_some_and(|n| n.flags.primary))
        .collect();
    recv.sort();
    recv.dedup();
    let mut moves = Vec::new();
    for to in recv {
        let have = st.nodes.get(&to).map_or(0, |n| n.slots.len());
        let mut need = quota_of(to).saturating_sub(have);
        while need > 0 {
            // The donor with the largest surplus gives (the smaller ID on a tie).
            let surplus = |d: &(NodeId, Vec<u16>)| d.1.len().saturating_sub(quota_of(d.0));
            let Some(from) = donors
                .iter_mut()
                .filter(|d| surplus(d) > 0)
                .max_by(|a, b| surplus(a).cmp(&surplus(b)).then(b.0.cmp(&a.0)))
            else {
                break;
            };
            let give = need.min(surplus(from));
            let taken = from.1.split_off(from.1.len() - give);
            need -= give;
            match moves
                .iter_mut()
                .find(|m: &&mut Move| m.from == from.0 && m.to == to)
            {
                Some(m) => m.slots.extend(taken),
                None => moves.push(Move {
                    from: from.0,
                    to,
                    slots: taken,
                }),
            }
        }
    }
    for m in &mut moves {
        m.slots.sort_unstable();
    }
    moves
}

/// `slots` (sorted) as inclusive ranges.
pub fn ranges(slots: &[u16]) -> Vec<(u16, u16)> {
    let mut out: Vec<(u16, u16)> = Vec::new();
    for &s in slots {
        match out.last_mut() {
            Some((_, hi)) if *hi + 1 == s => *hi = s,
            _ => out.push((s, s)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(owners: usize, empty: usize) -> (ClusterState, Vec<NodeId>, Vec<NodeId>) {
        let ids: Vec<NodeId> = (0..owners + empty).map(|_| NodeId::random()).collect();
        let mut st = ClusterState::new(ids[0], "127.0.0.1".into(), 7000, 17000);
        for (i, id) in ids.iter().enumerate().skip(1) {
            let mut n = crate::state::Node::new(*id, "127.0.0.1".into(), 7000 + i as u16, 0);
            n.flags.primary = true;
            st.nodes.insert(*id, n);
        }
        for (i, id) in ids.iter().take(owners).enumerate() {
            for s in i * SLOTS / owners..(i + 1) * SLOTS / owners {
                st.assign(s as u16, *id);
            }
        }
        let (o, e) = ids.split_at(owners);
        (st, o.to_vec(), e.to_vec())
    }

    #[test]
    fn one_empty_primary_gets_a_fair_share_from_each_owner() {
        let (st, owners, empty) = cluster(3, 1);
        let moves = plan(&st, &empty);
        let total: usize = moves.iter().map(|m| m.slots.len()).sum();
        assert_eq!(total, 4096, "{moves:?}");
        assert!(
            moves
                .iter()
                .all(|m| m.to == empty[0] && owners.contains(&m.from))
        );
        assert_eq!(moves.len(), 3, "each owner gives");
        // Each owner gives a contiguous tail of its range and keeps an even share.
        for m in &moves {
            assert_eq!(ranges(&m.slots).len(), 1);
            let kept = st.nodes[&m.from].slots.len() - m.slots.len();
            assert!((4096..=4097).contains(&kept), "kept {kept}");
        }
    }

    #[test]
    fn several_receivers_and_no_receiver() {
        let (st, _, empty) = cluster(2, 2);
        let moves = plan(&st, &empty);
        for r in &empty {
            let got: usize = moves
                .iter()
                .filter(|m| m.to == *r)
                .map(|m| m.slots.len())
                .sum();
            assert_eq!(got, 4096);
        }
        let mut all: Vec<u16> = moves.iter().flat_map(|m| m.slots.clone()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 8192, "no slot moved twice");
        assert!(plan(&st, &[]).is_empty());
        // Owners holding their share are not underfull.
        let (st, owners, _) = cluster(3, 0);
        assert!(underfull(&st, &owners).is_empty());
    }

    #[test]
    fn a_partly_filled_receiver_gets_the_rest() {
        // Three owners and one empty node; one owner already gave its part.
        let (mut st, owners, empty) = cluster(3, 1);
        let first = plan(&st, &empty);
        let from_0 = first.iter().find(|m| m.from == owners[0]).unwrap();
        for &s in &from_0.slots {
            st.assign(s, empty[0]);
        }
        assert_eq!(underfull(&st, &empty), empty, "still short of its share");
        let rest = plan(&st, &empty);
        let got: usize = rest.iter().map(|m| m.slots.len()).sum::<usize>() + from_0.slots.len();
        assert_eq!(got, 4096);
        assert!(rest.iter().all(|m| m.from != owners[0]));
        // Once it holds its share it is no longer underfull.
        for m in &rest {
            for &s in &m.slots {
                st.assign(s, empty[0]);
            }
        }
        assert!(underfull(&st, &empty).is_empty());
        assert!(plan(&st, &empty).is_empty());
    }

    #[test]
    fn ranges_of_slots() {
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
        assert!(ranges(&[]).is_empty());
    }
}

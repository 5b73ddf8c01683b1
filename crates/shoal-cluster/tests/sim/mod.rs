//! An in-memory network for whole clusters of bus state machines (shared by the simulation
//! tests).

#![allow(dead_code)]

use std::collections::VecDeque;

use rand::{RngExt, SeedableRng, rngs::SmallRng};
use shoal_cluster::bus::{Bus, Dest, Effects, Message};
use shoal_cluster::{ClusterState, NodeId};

pub struct Sim {
    pub nodes: Vec<(ClusterState, Bus)>,
    /// (from index, to index, reply link = from index, message)
    pub queue: VecDeque<(usize, usize, Message)>,
    pub down: Vec<bool>,
    /// Probability (0..100) to drop / duplicate a message.
    pub drop_pct: u32,
    pub dup_pct: u32,
    /// Partition: messages pass only between nodes of the same group.
    pub cut: Option<Vec<u8>>,
    /// Messages wait up to this many ticks before delivery.
    pub max_delay_ticks: u32,
    pub delayed: Vec<(u32, usize, usize, Message)>,
    pub rng: SmallRng,
    pub now: u64,
    /// Write pauses each node asked for (manual failover), in order.
    pub pauses: Vec<Vec<u64>>,
}

impl Sim {
    pub fn new(n: usize, timeout: u64, seed: u64) -> Sim {
        let nodes = (0..n)
            .map(|i| {
                (
                    ClusterState::new(NodeId::random(), format!("10.0.0.{}", i + 1), 7000, 17000),
                    Bus::new(timeout),
                )
            })
            .collect();
        Sim {
            nodes,
            queue: VecDeque::new(),
            down: vec![false; n],
            drop_pct: 0,
            dup_pct: 0,
            cut: None,
            max_delay_ticks: 0,
            delayed: Vec::new(),
            rng: SmallRng::seed_from_u64(seed),
            now: 1_000_000,
            pauses: vec![Vec::new(); n],
        }
    }

    fn index_of(&self, d: &Dest, from: usize) -> Option<usize> {
        match d {
            Dest::Node(id) => self.nodes.iter().position(|(s, _)| s.myself == *id),
            Dest::Addr { ip, cport } => self
                .nodes
                .iter()
                .position(|(s, _)| s.me().ip == *ip && s.me().cport == *cport),
            Dest::Link(l) => {
                let _ = from;
                Some(*l as usize)
            }
        }
    }

    /// Takes a step's effects: messages go out, pauses are recorded.
    pub fn effects(&mut self, from: usize, fx: Effects) {
        if let Some(p) = fx.pause_writes {
            self.pauses[from].push(p);
        }
        self.push(from, fx.out);
    }

    fn push(&mut self, from: usize, out: Vec<(Dest, Message)>) {
        for (d, m) in out {
            if let Some(to) = self.index_of(&d, from) {
                if self.max_delay_ticks > 0 {
                    let wait = self.rng.random_range(0..=self.max_delay_ticks);
                    self.delayed.push((wait, from, to, m));
                } else {
                    self.queue.push_back((from, to, m));
                }
            }
        }
    }

    pub fn meet(&mut self, a: usize, b: usize) {
        let (ip, cport) = (self.nodes[b].0.me().ip.clone(), self.nodes[b].0.me().cport);
        let (st, bus) = &mut self.nodes[a];
        let fx = bus.meet(st, &ip, cport, self.now);
        self.effects(a, fx);
    }

    pub fn deliver_all(&mut self) {
        let mut budget = 100_000;
        while let Some((from, to, m)) = self.queue.pop_front() {
            budget -= 1;
            assert!(budget > 0, "message storm");
            let cut = self.cut.as_ref().is_some_and(|g| g[from] != g[to]);
            if cut
                || self.down[to]
                || self.down[from]
                || self.rng.random_range(0..100) < self.drop_pct
            {
                continue;
            }
            let copies = if self.rng.random_range(0..100) < self.dup_pct {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let peer = self.nodes[from].0.me().ip.clone();
                let local = self.nodes[to].0.me().ip.clone();
                let (st, bus) = &mut self.nodes[to];
                let fx = bus.on_message(st, m.clone(), from as u64, &peer, &local, self.now);
                self.effects(to, fx);
            }
        }
    }

    pub fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 100;
            // Delayed messages whose time has come join the queue.
            let mut later = Vec::new();
            for (wait, from, to, m) in std::mem::take(&mut self.delayed) {
                if wait == 0 {
                    self.queue.push_back((from, to, m));
                } else {
                    later.push((wait - 1, from, to, m));
                }
            }
            self.delayed = later;
            for i in 0..self.nodes.len() {
                if self.down[i] {
                    continue;
                }
                let now = self.now;
                let (st, bus) = &mut self.nodes[i];
                let fx = bus.on_tick(st, now);
                self.effects(i, fx);
            }
            self.deliver_all();
        }
    }

    pub fn all_know_all(&self) -> bool {
        let n = self.nodes.len();
        self.nodes
            .iter()
            .enumerate()
            .all(|(i, (s, _))| self.down[i] || s.nodes.len() == n)
    }
}

pub fn slot_owners(s: &ClusterState) -> String {
    (0..16384u16)
        .step_by(97)
        .map(|x| s.owner_id(x).map(|i| i.to_string()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(",")
}

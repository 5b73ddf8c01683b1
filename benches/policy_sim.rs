//! The study behind shoal's S3-FIFO policy: hit ratios of eviction policies simulated at a fixed
//! capacity in keys, on the workloads of `benches/hitratio.rs` (Zipf 0.99 and 0.7 over 1M keys,
//! and Zipf 0.99 polluted by one-off scans). Exact textbook versions (LRU, SIEVE, S3-FIFO,
//! W-TinyLFU, LFU with the full history), models of Redis's sampled LRU and LFU, and the sharded
//! forms that fit shoal's lock stripes.
//!
//! ```text
//! cargo bench --bench policy_sim -- [--keys 1000000] [--requests 10000000] [--capacity 100000]
//! ```

type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;
use std::collections::VecDeque;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
    fn f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}

fn zipf_cdf(n: usize, alpha: f64) -> Vec<f64> {
    let mut c = Vec::with_capacity(n);
    let mut s = 0.0;
    for i in 1..=n {
        s += 1.0 / (i as f64).powf(alpha);
        c.push(s);
    }
    for x in c.iter_mut() {
        *x /= s;
    }
    c
}

fn workload(kind: &str, n: usize, reqs: usize, seed: u64) -> Vec<u64> {
    let mut rng = Rng(seed);
    let alpha = if kind == "zipf0.7" { 0.7 } else { 0.99 };
    let cdf = zipf_cdf(n, alpha);
    let mut out = Vec::with_capacity(reqs);
    let mut scan_next = 1u64 << 62;
    while out.len() < reqs {
        if kind == "scan" && out.len() % 100_000 == 99_999 {
            for _ in 0..20_000 {
                out.push(scan_next);
                scan_next += 1;
            }
            continue;
        }
        let u = rng.f64();
        let r = cdf.partition_point(|&x| x < u);
        // Below 2^62: scan keys are above.
        out.push(mix(r as u64) >> 2);
    }
    out.truncate(reqs);
    out
}

trait Policy {
    fn access(&mut self, key: u64, now_ms: u64) -> bool;
}

// ---------- linked lists in an arena ----------
const NIL: u32 = u32::MAX;
#[derive(Clone)]
struct Node {
    key: u64,
    prev: u32,
    next: u32,
    list: u8,
}
struct Arena {
    nodes: Vec<Node>,
    free: Vec<u32>,
    heads: Vec<(u32, u32, usize)>, // head (MRU), tail (LRU), len
}
impl Arena {
    fn new(lists: usize) -> Self {
        Arena {
            nodes: vec![],
            free: vec![],
            heads: vec![(NIL, NIL, 0); lists],
        }
    }
    fn alloc(&mut self, key: u64) -> u32 {
        let n = Node {
            key,
            prev: NIL,
            next: NIL,
            list: 255,
        };
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = n;
            i
        } else {
            self.nodes.push(n);
            (self.nodes.len() - 1) as u32
        }
    }
    fn push_front(&mut self, l: usize, i: u32) {
        let (h, t, len) = self.heads[l];
        self.nodes[i as usize].prev = NIL;
        self.nodes[i as usize].next = h;
        self.nodes[i as usize].list = l as u8;
        if h != NIL {
            self.nodes[h as usize].prev = i;
        }
        self.heads[l] = (i, if t == NIL { i } else { t }, len + 1);
    }
    fn unlink(&mut self, i: u32) {
        let l = self.nodes[i as usize].list as usize;
        let (p, n) = (self.nodes[i as usize].prev, self.nodes[i as usize].next);
        let (mut h, mut t, len) = self.heads[l];
        if p != NIL {
            self.nodes[p as usize].next = n
        } else {
            h = n
        }
        if n != NIL {
            self.nodes[n as usize].prev = p
        } else {
            t = p
        }
        self.heads[l] = (h, t, len - 1);
        self.nodes[i as usize].list = 255;
    }
    fn tail(&self, l: usize) -> u32 {
        self.heads[l].1
    }
    fn len(&self, l: usize) -> usize {
        self.heads[l].2
    }
}

struct Lru {
    cap: usize,
    a: Arena,
    map: HashMap<u64, u32>,
}
impl Policy for Lru {
    fn access(&mut self, key: u64, _: u64) -> bool {
        if let Some(&i) = self.map.get(&key) {
            self.a.unlink(i);
            self.a.push_front(0, i);
            return true;
        }
        if self.map.len() >= self.cap {
            let t = self.a.tail(0);
            self.a.unlink(t);
            self.map.remove(&self.a.nodes[t as usize].key);
            self.a.free.push(t);
        }
        let i = self.a.alloc(key);
        self.a.push_front(0, i);
        self.map.insert(key, i);
        false
    }
}

// ---------- Redis sampled LRU / LFU with an eviction pool ----------
struct RedisLike {
    cap: usize,
    lfu: bool,
    samples: usize,
    clock_res_ms: u64,
    log_factor: f64,
    decay_min: u64,
    keys: Vec<(u64, u32, u32)>, // key, lru-or-ldt, counter
    map: HashMap<u64, usize>,
    pool: Vec<(u64, u64)>, // (score, key) ascending
    rng: Rng,
}
impl RedisLike {
    fn decr(&self, e: &(u64, u32, u32), now_min: u32) -> u32 {
        let elapsed = now_min.wrapping_sub(e.1) as u64;
        let periods = elapsed.checked_div(self.decay_min).unwrap_or(0);
        e.2.saturating_sub(periods as u32)
    }
    fn score(&self, idx: usize, now_ms: u64) -> u64 {
        let e = &self.keys[idx];
        if self.lfu {
            255 - self.decr(e, (now_ms / 60000) as u32) as u64
        } else {
            (now_ms / self.clock_res_ms).saturating_sub(e.1 as u64)
        }
    }
    fn touch(&mut self, idx: usize, now_ms: u64) {
        if self.lfu {
            let now_min = (now_ms / 60000) as u32;
            let mut c = self.decr(&self.keys[idx], now_min);
            if c < 255 {
                let base = c.saturating_sub(5) as f64;
                let p = 1.0 / (base * self.log_factor + 1.0);
                if self.rng.f64() < p {
                    c += 1;
                }
            }
            self.keys[idx].1 = now_min;
            self.keys[idx].2 = c;
        } else {
            self.keys[idx].1 = (now_ms / self.clock_res_ms) as u32;
        }
    }
    fn evict(&mut self, now_ms: u64) {
        loop {
            for _ in 0..self.samples {
                let i = self.rng.below(self.keys.len());
                let s = self.score(i, now_ms);
                let k = self.keys[i].0;
                if self.pool.iter().any(|&(_, pk)| pk == k) {
                    continue;
                }
                if self.pool.len() < 16 || s > self.pool[0].0 {
                    let pos = self.pool.partition_point(|&(ps, _)| ps < s);
                    self.pool.insert(pos, (s, k));
                    if self.pool.len() > 16 {
                        self.pool.remove(0);
                    }
                }
            }
            while let Some((_, k)) = self.pool.pop() {
                if let Some(i) = self.map.remove(&k) {
                    self.keys.swap_remove(i);
                    if i < self.keys.len() {
                        let moved = self.keys[i].0;
                        self.map.insert(moved, i);
                    }
                    return;
                }
            }
        }
    }
}
impl Policy for RedisLike {
    fn access(&mut self, key: u64, now_ms: u64) -> bool {
        if let Some(&i) = self.map.get(&key) {
            self.touch(i, now_ms);
            return true;
        }
        if self.keys.len() >= self.cap {
            self.evict(now_ms);
        }
        let t = if self.lfu {
            (now_ms / 60000) as u32
        } else {
            (now_ms / self.clock_res_ms) as u32
        };
        self.keys.push((key, t, 5));
        self.map.insert(key, self.keys.len() - 1);
        false
    }
}

// ---------- SIEVE (exact) ----------
struct Sieve {
    cap: usize,
    a: Arena,
    visited: Vec<bool>,
    map: HashMap<u64, u32>,
    hand: u32,
}
impl Policy for Sieve {
    fn access(&mut self, key: u64, _: u64) -> bool {
        if let Some(&i) = self.map.get(&key) {
            self.visited[i as usize] = true;
            return true;
        }
        if self.map.len() >= self.cap {
            let mut h = if self.hand == NIL {
                self.a.tail(0)
            } else {
                self.hand
            };
            loop {
                if self.visited[h as usize] {
                    self.visited[h as usize] = false;
                    let p = self.a.nodes[h as usize].prev;
                    h = if p == NIL { self.a.tail(0) } else { p };
                } else {
                    break;
                }
            }
            let p = self.a.nodes[h as usize].prev;
            self.hand = p;
            self.a.unlink(h);
            self.map.remove(&self.a.nodes[h as usize].key);
            self.a.free.push(h);
        }
        let i = self.a.alloc(key);
        if self.visited.len() <= i as usize {
            self.visited.resize(i as usize + 1, false);
        }
        self.visited[i as usize] = false;
        self.a.push_front(0, i);
        self.map.insert(key, i);
        false
    }
}

// ---------- S3-FIFO (exact) ----------
struct S3Fifo {
    gmul: f64,
    cap: usize,
    small_cap: usize,
    thresh: u8,
    s: VecDeque<u64>,
    m: VecDeque<u64>,
    g: VecDeque<u64>,
    gset: HashMap<u64, u32>,
    freq: HashMap<u64, (u8, bool)>, // freq, in main
}
impl S3Fifo {
    fn new(cap: usize, thresh: u8) -> Self {
        S3Fifo {
            gmul: 1.0,
            cap,
            small_cap: (cap / 10).max(1),
            thresh,
            s: VecDeque::new(),
            m: VecDeque::new(),
            g: VecDeque::new(),
            gset: HashMap::default(),
            freq: HashMap::default(),
        }
    }
    fn ghost_add(&mut self, k: u64) {
        self.g.push_back(k);
        *self.gset.entry(k).or_insert(0) += 1;
        while self.g.len() as f64 > (self.cap - self.small_cap) as f64 * self.gmul {
            // Invariant: the loop runs only while the ghost queue is non-empty (len > bound >= 0),
            // and every queued ghost has a count in `gset` (added together in `ghost_add`).
            let o = self.g.pop_front().expect("ghost queue non-empty");
            let c = self.gset.get_mut(&o).expect("queued ghost is counted");
            *c -= 1;
            if *c == 0 {
                self.gset.remove(&o);
            }
        }
    }
    fn evict_m(&mut self) {
        while let Some(t) = self.m.pop_front() {
            // Invariant: every key in a queue has a `freq` entry (inserted and removed with it).
            let f = self.freq.get_mut(&t).expect("queued key has a frequency");
            if f.0 > 0 {
                f.0 -= 1;
                self.m.push_back(t);
            } else {
                self.freq.remove(&t);
                return;
            }
        }
    }
    fn evict(&mut self) {
        if self.s.len() >= self.small_cap || self.m.is_empty() {
            while let Some(t) = self.s.pop_front() {
                // Invariant: every key in a queue has a `freq` entry (inserted and removed with it).
                let f = self.freq.get_mut(&t).expect("queued key has a frequency");
                if f.0 >= self.thresh {
                    f.0 = 0;
                    f.1 = true;
                    self.m.push_back(t);
                    if self.m.len() > self.cap - self.small_cap {
                        self.evict_m();
                    }
                } else {
                    self.freq.remove(&t);
                    self.ghost_add(t);
                    return;
                }
            }
            // everything moved to main
            if self.s.len() + self.m.len() >= self.cap {
                self.evict_m();
            }
        } else {
            self.evict_m();
        }
    }
}
impl Policy for S3Fifo {
    fn access(&mut self, key: u64, _: u64) -> bool {
        if let Some(f) = self.freq.get_mut(&key) {
            f.0 = (f.0 + 1).min(3);
            return true;
        }
        while self.s.len() + self.m.len() >= self.cap {
            self.evict();
        }
        if self.gset.contains_key(&key) {
            self.m.push_back(key);
            self.freq.insert(key, (0, true));
        } else {
            self.s.push_back(key);
            self.freq.insert(key, (0, false));
        }
        false
    }
}

struct PerfectLfu {
    cap: usize,
    counts: HashMap<u64, u32>,
    cached: std::collections::BTreeSet<(u32, u64, u64)>,
    seqs: HashMap<u64, u64>,
    seq: u64,
}
impl Policy for PerfectLfu {
    fn access(&mut self, key: u64, _: u64) -> bool {
        let c = self.counts.entry(key).or_insert(0);
        *c += 1;
        let c = *c;
        self.seq += 1;
        if let Some(sq) = self.seqs.get_mut(&key) {
            self.cached.remove(&(c - 1, *sq, key));
            *sq = self.seq;
            self.cached.insert((c, self.seq, key));
            return true;
        }
        if self.seqs.len() >= self.cap {
            // Invariant: `cached` mirrors `seqs`, which holds cap >= 1 entries here.
            let &(mc, ms, mk) = self.cached.iter().next().expect("full cache is non-empty");
            if mc >= c {
                return false;
            }
            self.cached.remove(&(mc, ms, mk));
            self.seqs.remove(&mk);
        }
        self.seqs.insert(key, self.seq);
        self.cached.insert((c, self.seq, key));
        false
    }
}

// ---------- W-TinyLFU ----------
struct Cms {
    maxc: u8,
    rows: Vec<Vec<u8>>,
    mask: usize,
    adds: usize,
    reset_at: usize,
}
impl Cms {
    fn new(cap: usize) -> Self {
        Self::with(cap, 1, 10, 15)
    }
    fn with(cap: usize, wmul: usize, reset: usize, maxc: u8) -> Self {
        let w = (cap * wmul).next_power_of_two().max(16);
        Cms {
            maxc,
            rows: vec![vec![0; w]; 4],
            mask: w - 1,
            adds: 0,
            reset_at: cap * reset,
        }
    }
    fn idx(&self, k: u64, r: usize) -> usize {
        (mix(k ^ (r as u64).wrapping_mul(0x1234_5678_9abc_def1)) as usize) & self.mask
    }
    fn inc(&mut self, k: u64) {
        for r in 0..4 {
            let i = self.idx(k, r);
            if self.rows[r][i] < self.maxc {
                self.rows[r][i] += 1;
            }
        }
        self.adds += 1;
        if self.adds >= self.reset_at {
            self.adds /= 2;
            for row in self.rows.iter_mut() {
                for c in row.iter_mut() {
                    *c /= 2;
                }
            }
        }
    }
    fn est(&self, k: u64) -> u8 {
        // Invariant: four rows, so `min` of a non-empty range.
        (0..4)
            .map(|r| self.rows[r][self.idx(k, r)])
            .min()
            .expect("four rows")
    }
}
struct WTinyLfu {
    wcap: usize,
    pcap: usize, // protected
    mcap: usize,
    a: Arena, // 0 window, 1 probation, 2 protected
    map: HashMap<u64, u32>,
    cms: Cms,
}
impl WTinyLfu {
    fn new(cap: usize) -> Self {
        let wcap = (cap / 100).max(1);
        let mcap = cap - wcap;
        WTinyLfu {
            wcap,
            pcap: mcap * 8 / 10,
            mcap,
            a: Arena::new(3),
            map: HashMap::default(),
            cms: Cms::new(cap),
        }
    }
    fn with(cap: usize, wmul: usize, reset: usize, maxc: u8) -> Self {
        let mut t = Self::new(cap);
        t.cms = Cms::with(cap, wmul, reset, maxc);
        t
    }
    fn remove(&mut self, i: u32) {
        self.a.unlink(i);
        self.map.remove(&self.a.nodes[i as usize].key);
        self.a.free.push(i);
    }
}
impl Policy for WTinyLfu {
    fn access(&mut self, key: u64, _: u64) -> bool {
        self.cms.inc(key);
        if let Some(&i) = self.map.get(&key) {
            let l = self.a.nodes[i as usize].list;
            self.a.unlink(i);
            if l == 1 {
                self.a.push_front(2, i);
                if self.a.len(2) > self.pcap {
                    let t = self.a.tail(2);
                    self.a.unlink(t);
                    self.a.push_front(1, t);
                }
            } else {
                self.a.push_front(l as usize, i);
            }
            return true;
        }
        let i = self.a.alloc(key);
        self.a.push_front(0, i);
        self.map.insert(key, i);
        if self.a.len(0) > self.wcap {
            let cand = self.a.tail(0);
            self.a.unlink(cand);
            if self.a.len(1) + self.a.len(2) < self.mcap {
                self.a.push_front(1, cand);
            } else {
                let victim = if self.a.len(1) > 0 {
                    self.a.tail(1)
                } else {
                    self.a.tail(2)
                };
                let ck = self.a.nodes[cand as usize].key;
                let vk = self.a.nodes[victim as usize].key;
                if self.cms.est(ck) > self.cms.est(vk) {
                    self.remove(victim);
                    self.a.push_front(1, cand);
                } else {
                    self.map.remove(&ck);
                    self.a.free.push(cand);
                }
            }
        }
        false
    }
}

// ---------- server-fit: dense vec per shard, swap_remove, hands walking down ----------
// bits: freq (2), main (1), visited (for clock)
struct Bloom2 {
    bits: [Vec<u64>; 2],
    cur: usize,
    n: usize,
    per: usize,
    k: u32,
}
impl Bloom2 {
    fn new(elems: usize, bits_per: usize) -> Self {
        let per = elems.max(8);
        let words = (per * bits_per).div_ceil(64).next_power_of_two();
        Bloom2 {
            bits: [vec![0; words], vec![0; words]],
            cur: 0,
            n: 0,
            per,
            k: 3,
        }
    }
    fn pos(&self, k: u64, j: u32) -> (usize, u64) {
        let h = mix(k.wrapping_add(j as u64 * 0x51_7cc1_b727_220a));
        let nb = self.bits[0].len() * 64;
        let b = (h as usize) & (nb - 1);
        (b / 64, 1u64 << (b % 64))
    }
    fn add(&mut self, k: u64) {
        if self.n >= self.per / 2 {
            self.cur ^= 1;
            self.bits[self.cur].iter_mut().for_each(|w| *w = 0);
            self.n = 0;
        }
        for j in 0..self.k {
            let (w, m) = self.pos(k, j);
            self.bits[self.cur][w] |= m;
        }
        self.n += 1;
    }
    fn has(&self, k: u64) -> bool {
        (0..2).any(|f| {
            (0..self.k).all(|j| {
                let (w, m) = self.pos(k, j);
                self.bits[f][w] & m != 0
            })
        })
    }
}

struct VecShard {
    keys: Vec<u64>,
    bits: Vec<u8>,
    map: HashMap<u64, usize>,
    hand_s: usize,
    hand_m: usize,
    small: usize,
    ghost: Option<Bloom2>,
}
const MAIN: u8 = 4;
impl VecShard {
    fn remove_at(&mut self, i: usize) {
        let k = self.keys.swap_remove(i);
        let b = self.bits.swap_remove(i);
        if b & MAIN == 0 {
            self.small -= 1;
        }
        self.map.remove(&k);
        if i < self.keys.len() {
            self.map.insert(self.keys[i], i);
        }
    }
}
struct VecPolicy {
    shards: Vec<VecShard>,
    cap: usize,
    len: usize,
    s3: bool,
    thresh: u8,
    small_frac: f64,
    rng: Rng,
    two: bool,
}
impl VecPolicy {
    fn new(cap: usize, nshards: usize, s3: bool, thresh: u8, ghost_bits: usize) -> Self {
        let per = cap / nshards;
        VecPolicy {
            shards: (0..nshards)
                .map(|_| VecShard {
                    keys: vec![],
                    bits: vec![],
                    map: HashMap::default(),
                    hand_s: 0,
                    hand_m: 0,
                    small: 0,
                    ghost: if ghost_bits > 0 {
                        Some(Bloom2::new(per, ghost_bits))
                    } else {
                        None
                    },
                })
                .collect(),
            cap,
            len: 0,
            s3,
            thresh,
            small_frac: 0.1,
            rng: Rng(99),
            two: false,
        }
    }
    fn evict_one(&mut self) {
        let n = self.shards.len();
        let pick = |rng: &mut Rng, shards: &Vec<VecShard>| loop {
            let s = rng.below(n);
            if !shards[s].keys.is_empty() {
                break s;
            }
        };
        let a = pick(&mut self.rng, &self.shards);
        let b = pick(&mut self.rng, &self.shards);
        let si = if self.two && self.shards[b].small > self.shards[a].small {
            b
        } else {
            a
        };
        let small_frac = self.small_frac;
        let thresh = self.thresh;
        let s3 = self.s3;
        let sh = &mut self.shards[si];
        if !s3 {
            // CLOCK: hand walks down; visited bit = freq>0
            loop {
                if sh.hand_m == 0 || sh.hand_m > sh.keys.len() {
                    sh.hand_m = sh.keys.len();
                }
                sh.hand_m -= 1;
                let h = sh.hand_m;
                if sh.bits[h] & 3 > 0 {
                    sh.bits[h] &= !3;
                } else {
                    sh.remove_at(h);
                    break;
                }
            }
        } else {
            let len = sh.keys.len();
            let from_small =
                sh.small as f64 >= small_frac * len as f64 && sh.small > 0 || sh.small == len;
            if from_small {
                loop {
                    if sh.hand_s == 0 || sh.hand_s > sh.keys.len() {
                        sh.hand_s = sh.keys.len();
                    }
                    sh.hand_s -= 1;
                    let h = sh.hand_s;
                    if sh.bits[h] & MAIN != 0 {
                        continue;
                    }
                    if sh.bits[h] & 3 >= thresh {
                        sh.bits[h] = MAIN;
                        sh.small -= 1;
                        if sh.small == 0 {
                            // fall to main eviction
                            return self.evict_main(si);
                        }
                    } else {
                        let k = sh.keys[h];
                        if let Some(g) = sh.ghost.as_mut() {
                            g.add(k);
                        }
                        sh.remove_at(h);
                        break;
                    }
                }
            } else {
                return self.evict_main(si);
            }
        }
        self.len -= 1;
    }
    fn evict_main(&mut self, si: usize) {
        let sh = &mut self.shards[si];
        loop {
            if sh.hand_m == 0 || sh.hand_m > sh.keys.len() {
                sh.hand_m = sh.keys.len();
            }
            sh.hand_m -= 1;
            let h = sh.hand_m;
            if sh.bits[h] & MAIN == 0 {
                continue;
            }
            if sh.bits[h] & 3 > 0 {
                sh.bits[h] -= 1;
            } else {
                sh.remove_at(h);
                break;
            }
        }
        self.len -= 1;
    }
}
impl Policy for VecPolicy {
    fn access(&mut self, key: u64, _: u64) -> bool {
        let si = (mix(key ^ 77) >> 40) as usize % self.shards.len();
        if let Some(&i) = self.shards[si].map.get(&key) {
            let b = &mut self.shards[si].bits[i];
            if *b & 3 < 3 {
                *b += 1;
            }
            return true;
        }
        while self.len >= self.cap {
            self.evict_one();
        }
        let sh = &mut self.shards[si];
        let main = sh.ghost.as_ref().is_some_and(|g| g.has(key));
        sh.keys.push(key);
        sh.bits.push(if main { MAIN } else { 0 });
        if !main {
            sh.small += 1;
        }
        sh.map.insert(key, sh.keys.len() - 1);
        self.len += 1;
        false
    }
}

fn run(p: &mut dyn Policy, w: &[u64], rate_per_ms: u64) -> f64 {
    let warm = w.len() / 5;
    let mut hits = 0usize;
    for (i, &k) in w.iter().enumerate() {
        let h = p.access(k, i as u64 / rate_per_ms);
        if i >= warm && h {
            hits += 1;
        }
    }
    hits as f64 / (w.len() - warm) as f64
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Maker = Box<dyn Fn() -> Box<dyn Policy>>;

fn redis_like(cap: usize, lfu: bool, clock_res_ms: u64) -> Box<dyn Policy> {
    Box::new(RedisLike {
        cap,
        lfu,
        samples: 5,
        clock_res_ms,
        log_factor: 10.0,
        decay_min: 1,
        keys: vec![],
        map: HashMap::default(),
        pool: vec![],
        rng: Rng(1),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = arg(&args, "--keys", 1_000_000);
    let reqs = arg(&args, "--requests", 10_000_000);
    let cap = arg(&args, "--capacity", 100_000);
    let rate = 100; // requests per ms of simulated time (for clocks and LFU decay)
    println!("# {n} keys, {reqs} requests, capacity {cap} keys; hit ratio after the first fifth");
    println!("| workload | policy | hit ratio |");
    println!("|---|---|---|");
    for kind in ["zipf0.99", "zipf0.7", "scan"] {
        let w = workload(kind, n, reqs, 42);
        let alpha = if kind == "zipf0.7" { 0.7 } else { 0.99 };
        let cdf = zipf_cdf(n, alpha);
        let scans = w.iter().filter(|&&k| k >= 1u64 << 62).count() as f64 / w.len() as f64;
        println!(
            "| {kind} | static oracle (the {cap} most popular keys, always) | {:.4} |",
            cdf[cap.min(n) - 1] * (1.0 - scans)
        );
        let make: Vec<(&str, Maker)> = vec![
            (
                "LRU, exact",
                Box::new(move || {
                    Box::new(Lru {
                        cap,
                        a: Arena::new(1),
                        map: HashMap::default(),
                    })
                }),
            ),
            (
                "Redis allkeys-lru (5 samples, pool of 16, 1 s clock)",
                Box::new(move || redis_like(cap, false, 1000)),
            ),
            (
                "shoal allkeys-lru (5 samples, pool of 16, 16 ms clock)",
                Box::new(move || redis_like(cap, false, 16)),
            ),
            (
                "Redis allkeys-lfu (5 samples, pool of 16, log factor 10, decay 1 min)",
                Box::new(move || redis_like(cap, true, 1000)),
            ),
            (
                "LFU with the full history (upper bound of frequency policies)",
                Box::new(move || {
                    Box::new(PerfectLfu {
                        cap,
                        counts: HashMap::default(),
                        cached: Default::default(),
                        seqs: HashMap::default(),
                        seq: 0,
                    })
                }),
            ),
            (
                "SIEVE, exact",
                Box::new(move || {
                    Box::new(Sieve {
                        cap,
                        a: Arena::new(1),
                        visited: vec![],
                        map: HashMap::default(),
                        hand: NIL,
                    })
                }),
            ),
            (
                "S3-FIFO, exact (promote after 1 hit)",
                Box::new(move || Box::new(S3Fifo::new(cap, 1))),
            ),
            (
                "S3-FIFO, exact (promote after 2 hits)",
                Box::new(move || Box::new(S3Fifo::new(cap, 2))),
            ),
            (
                "W-TinyLFU (1 % window, 4x4-bit sketch of capacity width)",
                Box::new(move || Box::new(WTinyLfu::new(cap))),
            ),
            (
                "W-TinyLFU (sketch 8x wider, 8-bit counters: ~32 bytes per key)",
                Box::new(move || Box::new(WTinyLfu::with(cap, 8, 100, 255))),
            ),
            (
                "CLOCK over 1024 dense shard vectors",
                Box::new(move || Box::new(VecPolicy::new(cap, 1024, false, 1, 0))),
            ),
            (
                "S3-FIFO in 1024 shards, random shard evicts",
                Box::new(move || Box::new(VecPolicy::new(cap, 1024, true, 1, 8))),
            ),
            (
                "shoal allkeys-s3fifo: 1024 shards, larger small queue of 2 random shards evicts",
                Box::new(move || {
                    let mut p = VecPolicy::new(cap, 1024, true, 1, 8);
                    p.two = true;
                    Box::new(p)
                }),
            ),
        ];
        for (name, f) in make.iter() {
            let mut p = f();
            let hr = run(p.as_mut(), &w, rate);
            println!("| {kind} | {name} | {hr:.4} |");
        }
    }
}

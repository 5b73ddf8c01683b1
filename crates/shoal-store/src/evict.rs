//! Eviction across the lock stripes: [`Store::evict_one`] frees one entry chosen by the
//! configured policy.
//!
//! - LRU, LFU and volatile-ttl work as Redis's approximation does: sample `maxmemory-samples`
//!   entries of a random shard of every database holding candidates, keep the best candidates
//!   seen in a pool of 16 across calls, evict the best one still present.
//! - random policies evict a random entry of a random shard.
//! - S3-FIFO runs in the shards themselves (see `Shard::evict_s3fifo`); a random shard is asked.
//!
//! Locking: the evictor's own mutex, then one shard lock at a time. It is called with no shard
//! lock held (before a command takes its locks, or from the server's timer).

use crate::entry::Entry;
use crate::policy::Policy;
use crate::store::{ShardId, Store};

const POOL: usize = 16;
/// A database found without candidates is skipped this long, unless a shard of it gains keys.
const EMPTY_FOR_MS: u64 = 10_000;

struct Candidate {
    score: u64,
    db: u32,
    key: Box<[u8]>,
}

pub struct Evictor {
    /// Ascending by score: the best candidate is last.
    pool: Vec<Candidate>,
    /// Per database: until when it is presumed to hold no candidate (a walk of its shards
    /// found none, and no shard gained keys since). Cheaper than counting keys, which would
    /// lock every shard.
    empty_until: Vec<u64>,
    /// Whether `empty_until` was judged for volatile policies.
    judged_volatile: bool,
    now: u64,
    next_db: usize,
    rng: u64,
    picks: Vec<usize>,
}

/// An evicted entry and its database. Dropping it frees its memory.
pub struct Evicted {
    pub db: usize,
    pub entry: Entry,
}

impl Evictor {
    pub fn new(databases: usize) -> Self {
        Evictor {
            pool: Vec::with_capacity(POOL + 1),
            empty_until: vec![0; databases],
            judged_volatile: false,
            now: 0,
            next_db: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            picks: Vec::new(),
        }
    }

    fn random_below(&mut self, n: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (((x >> 32) * n as u64) >> 32) as usize
    }

    fn may_hold(&self, db: usize) -> bool {
        self.empty_until[db] <= self.now
    }

    /// Databases never used hold nothing: presume them empty (until a shard gains keys).
    fn skip_unused(&mut self, store: &Store) {
        for db in 0..self.empty_until.len() {
            if !store.db_exists(db) {
                self.empty_until[db] = self.now + EMPTY_FOR_MS;
            }
        }
    }

    fn offer(&mut self, c: Candidate) {
        if self.pool.len() >= POOL && c.score <= self.pool[0].score {
            return;
        }
        if self.pool.iter().any(|p| p.db == c.db && p.key == c.key) {
            return;
        }
        let at = self.pool.partition_point(|p| p.score < c.score);
        self.pool.insert(at, c);
        if self.pool.len() > POOL {
            self.pool.remove(0);
        }
    }
}

impl Store {
    /// Frees one entry by the current policy. `None` when the policy is `noeviction` or
    /// nothing qualifies (no keys, or no keys with a TTL for a volatile policy).
    pub fn evict_one(&self, now_ms: u64) -> Option<Evicted> {
        let policy = self.tuning().policy();
        if policy == Policy::NoEviction {
            return None;
        }
        let volatile = policy.volatile_only();
        let mut ev = self.evictor.lock();
        ev.now = now_ms;
        if ev.judged_volatile != volatile {
            ev.judged_volatile = volatile;
            ev.empty_until.iter_mut().for_each(|t| *t = 0);
        }
        ev.skip_unused(self);
        // A database that gained keys since it was found empty is worth a look again.
        for db in 0..ev.empty_until.len() {
            if !ev.may_hold(db) && self.take_gained(db) {
                ev.empty_until[db] = 0;
            }
        }
        let found = match policy {
            Policy::AllkeysRandom | Policy::VolatileRandom => self.evict_random(&mut ev, volatile),
            Policy::AllkeysS3fifo | Policy::VolatileS3fifo => self.evict_s3fifo(&mut ev, volatile),
            _ => self.evict_pooled(&mut ev, policy, now_ms),
        };
        if found.is_some() {
            self.evicted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        found
    }

    /// The next database that may hold candidates, round robin.
    fn next_db(&self, ev: &mut Evictor) -> Option<usize> {
        let n = ev.empty_until.len();
        (0..n)
            .map(|k| (ev.next_db + k) % n)
            .find(|&db| ev.may_hold(db))
            .inspect(|&db| ev.next_db = (db + 1) % n)
    }

    /// A random shard of `db` with candidates: a few random draws, then a walk.
    fn pick_shard(&self, ev: &mut Evictor, db: usize, volatile: bool) -> Option<ShardId> {
        let shards = self.shards_per_db();
        let has = |id: ShardId| {
            let s = self.lock(id);
            if volatile {
                s.volatile() > 0
            } else {
                !s.is_empty()
            }
        };
        for _ in 0..8 {
            let id = ShardId {
                db: db as u32,
                idx: ev.random_below(shards) as u32,
            };
            if has(id) {
                return Some(id);
            }
        }
        let start = ev.random_below(shards);
        let found = (0..shards)
            .map(|k| ShardId {
                db: db as u32,
                idx: ((start + k) % shards) as u32,
            })
            .find(|&id| has(id));
        if found.is_none() {
            ev.empty_until[db] = ev.now + EMPTY_FOR_MS;
        }
        found
    }

    fn evict_random(&self, ev: &mut Evictor, volatile: bool) -> Option<Evicted> {
        while let Some(db) = self.next_db(ev) {
            let Some(id) = self.pick_shard(ev, db, volatile) else {
                continue;
            };
            let mut s = self.lock(id);
            ev.picks.clear();
            let mut picks = std::mem::take(&mut ev.picks);
            s.sample(1, volatile, &mut picks);
            let got = picks.first().map(|&i| s.remove_at(i));
            ev.picks = picks;
            if let Some(entry) = got {
                return Some(Evicted { db, entry });
            }
        }
        None
    }

    /// S3-FIFO runs per shard; of two random shards, the one with more entries in its small
    /// queue gives one up (the power of two choices keeps the shards' small queues even, so a
    /// shard holding only proven keys is rarely asked while others hold one-off writes).
    fn evict_s3fifo(&self, ev: &mut Evictor, volatile: bool) -> Option<Evicted> {
        while let Some(db) = self.next_db(ev) {
            let Some(a) = self.pick_shard(ev, db, volatile) else {
                continue;
            };
            let id = match self.pick_shard(ev, db, volatile) {
                Some(b) if b != a && self.lock(b).small_len() > self.lock(a).small_len() => b,
                _ => a,
            };
            if let Some(entry) = self.lock(id).evict_s3fifo(volatile) {
                return Some(Evicted { db, entry });
            }
        }
        None
    }

    fn evict_pooled(&self, ev: &mut Evictor, policy: Policy, now_ms: u64) -> Option<Evicted> {
        let volatile = policy.volatile_only();
        let samples = (self
            .tuning()
            .samples
            .load(std::sync::atomic::Ordering::Relaxed) as usize)
            .clamp(1, 64);
        for _round in 0..8 {
            for db in 0..ev.empty_until.len() {
                if !ev.may_hold(db) {
                    continue;
                }
                let Some(id) = self.pick_shard(ev, db, volatile) else {
                    continue;
                };
                let s = &mut *self.lock(id);
                let mut picks = std::mem::take(&mut ev.picks);
                picks.clear();
                s.sample(samples, volatile, &mut picks);
                for &i in &picks {
                    let e = s.entry(i);
                    let score = s.tuning().score(policy, e.word(), e.expire_at(), now_ms);
                    ev.offer(Candidate {
                        score,
                        db: db as u32,
                        key: e.key().into(),
                    });
                }
                ev.picks = picks;
            }
            // The best candidate still present (a pooled key may be gone or changed since).
            while let Some(c) = ev.pool.pop() {
                let db = c.db as usize;
                let hash = self.hash(&c.key);
                let mut s = self.lock(self.shard_id(db, &c.key, hash));
                if let Some(i) = s.find_raw(hash, &c.key)
                    && (!volatile || s.has_ttl_at(i))
                {
                    let entry = s.remove_at(i);
                    return Some(Evicted { db, entry });
                }
            }
            if (0..ev.empty_until.len()).all(|db| !ev.may_hold(db)) {
                break;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::NewValue;

    fn fill(st: &Store, db: usize, n: u32, ttl_every: u32) {
        for i in 0..n {
            let k = format!("k{i}").into_bytes();
            let h = st.hash(&k);
            let ttl = (ttl_every > 0 && i % ttl_every == 0).then_some(1_000_000_000);
            st.lock(st.shard_id(db, &k, h))
                .insert_new(h, &k, NewValue::Int(i as i64), ttl, 1000);
        }
    }

    fn total(st: &Store) -> usize {
        (0..st.databases()).map(|db| st.db_counts(db).0).sum()
    }

    #[test]
    fn noeviction_evicts_nothing() {
        let st = Store::new(2, 8);
        fill(&st, 0, 10, 0);
        assert!(st.evict_one(2000).is_none());
        assert_eq!(total(&st), 10);
    }

    #[test]
    fn every_policy_evicts_until_empty_and_volatile_ones_spare_persistent_keys() {
        for name in Policy::names().filter(|&n| n != "noeviction") {
            let policy = Policy::parse(name).expect("known");
            let st = Store::new(3, 16);
            st.tuning().set_policy(policy);
            fill(&st, 0, 300, 3);
            fill(&st, 2, 30, 3);
            let mut n = 0;
            while let Some(ev) = st.evict_one(2000) {
                if policy.volatile_only() {
                    assert!(
                        ev.entry.expire_at().is_some(),
                        "{name} evicted a persistent key"
                    );
                }
                n += 1;
                assert!(n <= 330, "{name} evicts forever");
            }
            let want = if policy.volatile_only() { 110 } else { 330 };
            assert_eq!(n, want, "{name}");
            assert_eq!(st.evicted_total(), want as u64);
            assert_eq!(total(&st), 330 - want, "{name}");
        }
    }

    #[test]
    fn lru_evicts_the_idle_keys_first() {
        let st = Store::new(1, 4);
        st.tuning().set_policy(Policy::AllkeysLru);
        fill(&st, 0, 200, 0);
        // Touch the first half a minute later: the second half is idler.
        for i in 0..100 {
            let k = format!("k{i}").into_bytes();
            let h = st.hash(&k);
            assert!(
                st.lock(st.shard_id(0, &k, h))
                    .find_live(h, &k, 61_000)
                    .is_some()
            );
        }
        let mut idle = 0;
        for _ in 0..50 {
            let ev = st.evict_one(62_000).expect("evicts");
            let n: u32 = std::str::from_utf8(&ev.entry.key()[1..])
                .expect("ascii")
                .parse()
                .expect("number");
            idle += (n >= 100) as u32;
        }
        assert!(idle >= 45, "only {idle} of 50 evictions took idle keys");
    }

    #[test]
    fn volatile_ttl_evicts_the_soonest_expiry_first() {
        let st = Store::new(1, 4);
        st.tuning().set_policy(Policy::VolatileTtl);
        for i in 0..100u64 {
            let k = format!("k{i}").into_bytes();
            let h = st.hash(&k);
            st.lock(st.shard_id(0, &k, h)).insert_new(
                h,
                &k,
                NewValue::Int(0),
                Some(10_000 + i * 1000),
                0,
            );
        }
        let mut early = 0;
        for _ in 0..20 {
            let ev = st.evict_one(1).expect("evicts");
            early += (ev.entry.expire_at().unwrap_or(0) < 10_000 + 40 * 1000) as u32;
        }
        assert!(
            early >= 17,
            "only {early} of 20 evictions took early expiries"
        );
    }

    #[test]
    fn lfu_evicts_the_rarely_used_first() {
        let st = Store::new(1, 4);
        st.tuning().set_policy(Policy::AllkeysLfu);
        fill(&st, 0, 200, 0);
        for _ in 0..20 {
            for i in 0..100 {
                let k = format!("k{i}").into_bytes();
                let h = st.hash(&k);
                st.lock(st.shard_id(0, &k, h)).find_live(h, &k, 1000);
            }
        }
        let mut rare = 0;
        for _ in 0..50 {
            let ev = st.evict_one(1000).expect("evicts");
            let n: u32 = std::str::from_utf8(&ev.entry.key()[1..])
                .expect("ascii")
                .parse()
                .expect("number");
            rare += (n >= 100) as u32;
        }
        assert!(
            rare >= 45,
            "only {rare} of 50 evictions took rarely used keys"
        );
    }
}

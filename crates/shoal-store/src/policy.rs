//! Eviction policies and the per-entry state they keep.
//!
//! Every entry has a 32-bit word in its block and a byte in its shard's `meta` vector:
//! - the word is an LRU clock (16 ms units, so it wraps after about two years) or, under an LFU
//!   policy, Redis's LFU pair: 16 bits of minutes since the last decrement and an 8-bit
//!   logarithmic counter (`lfu-log-factor`, `lfu-decay-time`), exactly as Redis keeps them;
//! - the byte carries S3-FIFO's two frequency bits and its queue bit, and a copy of the entry's
//!   has-TTL flag so that volatile policies and the expiry sweep can skip entries without
//!   touching their blocks.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering::Relaxed};

/// `maxmemory-policy`, with Redis's names plus shoal's S3-FIFO pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    NoEviction = 0,
    AllkeysLru,
    VolatileLru,
    AllkeysLfu,
    VolatileLfu,
    AllkeysRandom,
    VolatileRandom,
    VolatileTtl,
    AllkeysS3fifo,
    VolatileS3fifo,
}

const ALL: [Policy; 10] = [
    Policy::NoEviction,
    Policy::AllkeysLru,
    Policy::VolatileLru,
    Policy::AllkeysLfu,
    Policy::VolatileLfu,
    Policy::AllkeysRandom,
    Policy::VolatileRandom,
    Policy::VolatileTtl,
    Policy::AllkeysS3fifo,
    Policy::VolatileS3fifo,
];

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllkeysLru => "allkeys-lru",
            Policy::VolatileLru => "volatile-lru",
            Policy::AllkeysLfu => "allkeys-lfu",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::AllkeysRandom => "allkeys-random",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllkeysS3fifo => "allkeys-s3fifo",
            Policy::VolatileS3fifo => "volatile-s3fifo",
        }
    }

    /// Case-insensitive, as Redis reads enum configs.
    pub fn parse(s: &str) -> Option<Policy> {
        ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s))
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        ALL.into_iter().map(Policy::name)
    }

    fn from_u8(v: u8) -> Policy {
        ALL.get(v as usize).copied().unwrap_or(Policy::NoEviction)
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllkeysLfu | Policy::VolatileLfu)
    }

    /// Only keys with a TTL may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
                | Policy::VolatileS3fifo
        )
    }
}

/// The eviction settings every shard reads (changed at run time by CONFIG SET), and how it
/// treats keys whose TTL has passed.
pub struct Tuning {
    policy: AtomicU8,
    pub lfu_log_factor: AtomicU32,
    pub lfu_decay_time: AtomicU32,
    pub samples: AtomicU32,
    /// `EXPIRY_*`: what a lookup does with an expired key.
    pub expiry: AtomicU8,
    /// Keyspace notifications of class `x` are on: keys deleted for being expired are logged
    /// for the command layer (`shard::take_notify_expired`).
    pub notify_expired: AtomicBool,
}

/// A lookup deletes an expired key (no replication).
pub const EXPIRY_DELETE: u8 = 0;
/// A primary with replicas: writes delete expired keys and log them (the replication stream
/// carries a DEL, in order); reads only hide them.
pub const EXPIRY_LOG_WRITES: u8 = 1;
/// A replica: expired keys are hidden from reads and wait for the primary's DEL.
pub const EXPIRY_HIDE: u8 = 2;

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            policy: AtomicU8::new(Policy::NoEviction as u8),
            lfu_log_factor: AtomicU32::new(10),
            lfu_decay_time: AtomicU32::new(1),
            samples: AtomicU32::new(5),
            expiry: AtomicU8::new(EXPIRY_DELETE),
            notify_expired: AtomicBool::new(false),
        }
    }
}

impl Tuning {
    #[inline]
    pub fn policy(&self) -> Policy {
        Policy::from_u8(self.policy.load(Relaxed))
    }

    pub fn set_policy(&self, p: Policy) {
        self.policy.store(p as u8, Relaxed);
    }

    /// The word of a new entry.
    #[inline]
    pub fn initial_word(&self, now_ms: u64) -> u32 {
        if self.policy().is_lfu() {
            lfu_word(lfu_minutes(now_ms), LFU_INIT_VAL)
        } else {
            lru_clock(now_ms)
        }
    }

    /// The word after an access at `now_ms`; `rand` is a uniform 32-bit random number.
    #[inline]
    pub fn touched_word(&self, word: u32, now_ms: u64, rand: u32) -> u32 {
        if self.policy().is_lfu() {
            let now_min = lfu_minutes(now_ms);
            let c = lfu_decayed(word, now_min, self.lfu_decay_time.load(Relaxed));
            let c = lfu_log_incr(c, self.lfu_log_factor.load(Relaxed), rand);
            lfu_word(now_min, c)
        } else {
            lru_clock(now_ms)
        }
    }

    /// OBJECT FREQ: the counter after decay, without changing it.
    pub fn lfu_freq(&self, word: u32, now_ms: u64) -> u8 {
        lfu_decayed(word, lfu_minutes(now_ms), self.lfu_decay_time.load(Relaxed))
    }

    /// What an RDB file keeps of an entry's use, as Redis 7.0 writes it: the idle seconds
    /// under an LRU policy, the decayed LFU counter under an LFU one, nothing otherwise.
    pub fn rdb_usage(&self, word: u32, now_ms: u64) -> crate::rdb::writer::Usage {
        use crate::rdb::writer::Usage;
        match self.policy() {
            Policy::AllkeysLru | Policy::VolatileLru => {
                Usage::IdleSecs(lru_idle_ms(word, now_ms) / 1000)
            }
            p if p.is_lfu() => Usage::Freq(self.lfu_freq(word, now_ms)),
            _ => Usage::None,
        }
    }

    /// The word of an entry loaded (RDB file, RESTORE) with `usage`, as Redis's
    /// `objectSetLRUOrLFU`: under an LFU policy a counter sets it, under any other an idle
    /// time does; `None`: keep the word of a new entry.
    pub fn word_for(&self, usage: crate::rdb::writer::Usage, now_ms: u64) -> Option<u32> {
        use crate::rdb::writer::Usage;
        match (self.policy().is_lfu(), usage) {
            (true, Usage::Freq(f)) => Some(lfu_word(lfu_minutes(now_ms), f)),
            (false, Usage::IdleSecs(secs)) => {
                let ticks = secs.saturating_mul(1000) >> LRU_SHIFT;
                Some(lru_clock(now_ms).wrapping_sub(ticks.min(u32::MAX as u64) as u32))
            }
            _ => None,
        }
    }

    /// Eviction score of an entry: higher goes first. LRU: idle milliseconds; LFU: 255 minus
    /// the decayed counter; TTL: sooner expiry first.
    pub fn score(&self, policy: Policy, word: u32, expire_at: Option<u64>, now_ms: u64) -> u64 {
        match policy {
            Policy::VolatileTtl => u64::MAX - expire_at.unwrap_or(u64::MAX),
            p if p.is_lfu() => 255 - self.lfu_freq(word, now_ms) as u64,
            _ => lru_idle_ms(word, now_ms),
        }
    }
}

/// LRU clock units: 16 ms.
const LRU_SHIFT: u32 = 4;

#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    (now_ms >> LRU_SHIFT) as u32
}

/// Milliseconds since the access recorded in `word` (OBJECT IDLETIME divides by 1000).
#[inline]
pub fn lru_idle_ms(word: u32, now_ms: u64) -> u64 {
    (lru_clock(now_ms).wrapping_sub(word) as u64) << LRU_SHIFT
}

/// Redis's LFU_INIT_VAL: new keys start here so they are not evicted before they can be used.
pub const LFU_INIT_VAL: u8 = 5;

#[inline]
fn lfu_minutes(now_ms: u64) -> u16 {
    ((now_ms / 60_000) & 0xffff) as u16
}

#[inline]
fn lfu_word(minutes: u16, counter: u8) -> u32 {
    ((minutes as u32) << 8) | counter as u32
}

/// Redis's LFUDecrAndReturn: one decrement per `decay` minutes since the last one.
#[inline]
fn lfu_decayed(word: u32, now_min: u16, decay: u32) -> u8 {
    let ldt = ((word >> 8) & 0xffff) as u16;
    let counter = (word & 0xff) as u8;
    let elapsed = if now_min >= ldt {
        (now_min - ldt) as u32
    } else {
        65535 - ldt as u32 + now_min as u32
    };
    let periods = elapsed.checked_div(decay).unwrap_or(0);
    counter.saturating_sub(periods.min(255) as u8)
}

/// Redis's LFULogIncr: the more hits a key has, the less likely the next one counts.
#[inline]
fn lfu_log_incr(counter: u8, factor: u32, rand: u32) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * factor as f64 + 1.0);
    let r = rand as f64 / 4_294_967_296.0;
    if r < p { counter + 1 } else { counter }
}

// ---- the per-entry meta byte ----

/// S3-FIFO access count (0..=3).
pub const FREQ: u8 = 0b0011;
/// In S3-FIFO's main queue (else the small one).
pub const MAIN: u8 = 0b0100;
/// The entry has a TTL.
pub const TTL: u8 = 0b1000;

/// An access: one more S3-FIFO hit, saturating at 3.
#[inline]
pub fn meta_hit(m: u8) -> u8 {
    if m & FREQ < 3 { m + 1 } else { m }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in Policy::names() {
            assert_eq!(Policy::parse(n).map(Policy::name), Some(n));
        }
        assert_eq!(Policy::parse("ALLKEYS-LRU"), Some(Policy::AllkeysLru));
        assert_eq!(Policy::parse("lru"), None);
    }

    #[test]
    fn lfu_counts_logarithmically_and_decays() {
        let t = Tuning::default();
        t.set_policy(Policy::AllkeysLfu);
        let now = 10 * 60_000;
        let mut w = t.initial_word(now);
        assert_eq!(t.lfu_freq(w, now), LFU_INIT_VAL);
        // The first hits over LFU_INIT_VAL always count; later ones less and less.
        w = t.touched_word(w, now, u32::MAX);
        assert_eq!(t.lfu_freq(w, now), 6);
        let mut x = 12345u32;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            w = t.touched_word(w, now, x);
        }
        let c = t.lfu_freq(w, now);
        assert!((15..60).contains(&c), "counter {c} after 10k hits");
        // One decrement per minute idle (lfu-decay-time 1).
        assert_eq!(t.lfu_freq(w, now + 3 * 60_000), c - 3);
        t.lfu_decay_time.store(0, Relaxed);
        assert_eq!(t.lfu_freq(w, now + 3 * 60_000), c);
    }

    #[test]
    fn rdb_usage_round_trips_as_redis_keeps_it() {
        use crate::rdb::writer::Usage;
        let t = Tuning::default();
        let now = 1_000_000_000;
        // noeviction (and random, ttl, s3fifo): nothing is written, nothing applied from FREQ.
        assert_eq!(t.rdb_usage(lru_clock(now), now), Usage::None);
        assert_eq!(t.word_for(Usage::Freq(9), now), None);
        // Still, an idle time sets the LRU clock under any non-LFU policy (as Redis).
        let w = t.word_for(Usage::IdleSecs(100), now).unwrap();
        assert_eq!(lru_idle_ms(w, now) / 1000, 100);
        t.set_policy(Policy::AllkeysLru);
        assert_eq!(t.rdb_usage(w, now), Usage::IdleSecs(100));
        // A huge idle time from a file saturates instead of overflowing.
        assert!(t.word_for(Usage::IdleSecs(u64::MAX), now).is_some());
        t.set_policy(Policy::VolatileLfu);
        assert_eq!(t.word_for(Usage::IdleSecs(5), now), None);
        let w = t.word_for(Usage::Freq(77), now).unwrap();
        assert_eq!(t.rdb_usage(w, now), Usage::Freq(77));
        assert_eq!(t.lfu_freq(w, now), 77);
    }

    #[test]
    fn lru_idle_time_and_scores() {
        let t = Tuning::default();
        let w = t.initial_word(1_000_000);
        assert_eq!(lru_idle_ms(w, 1_000_000), 0);
        assert!((4_984..=5_000).contains(&lru_idle_ms(w, 1_005_000)));
        assert!(
            t.score(Policy::AllkeysLru, w, None, 1_010_000)
                > t.score(Policy::AllkeysLru, w, None, 1_005_000)
        );
        assert!(
            t.score(Policy::VolatileTtl, 0, Some(10), 0)
                > t.score(Policy::VolatileTtl, 0, Some(20), 0)
        );
    }
}

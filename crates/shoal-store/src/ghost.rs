//! S3-FIFO's ghost queue as two rotating Bloom filters: it remembers (about) the hashes of the
//! last `2 × per` keys evicted from the small queue, at 8 bits per remembered key, with no
//! per-key allocation. A key found here when it is written again skips the small queue.
//!
//! When the current filter has taken `per` hashes, the older one is cleared (resized to the
//! shard's current need) and becomes current. A false positive (about 3 % at 8 bits and 3 probes)
//! only sends a new key straight to the main queue.

const BITS_PER_KEY: usize = 8;
const PROBES: u64 = 3;

pub struct Ghost {
    filters: [Vec<u64>; 2],
    cur: usize,
    added: usize,
    per: usize,
}

impl Ghost {
    /// A ghost remembering about `per` to `2 × per` keys.
    pub fn new(per: usize) -> Ghost {
        let per = per.max(16);
        Ghost {
            filters: [filter(per), filter(per)],
            cur: 0,
            added: 0,
            per,
        }
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        (self.filters[0].len() + self.filters[1].len()) * 8
    }

    /// Remembers `hash`; `per` is the generation size the shard wants now.
    pub fn add(&mut self, hash: u64, per: usize) {
        if self.added >= self.per {
            self.per = per.max(16);
            self.cur ^= 1;
            self.filters[self.cur] = filter(self.per);
            self.added = 0;
        }
        let f = &mut self.filters[self.cur];
        for (w, bit) in probes(hash, f.len()) {
            f[w] |= bit;
        }
        self.added += 1;
    }

    pub fn contains(&self, hash: u64) -> bool {
        self.filters
            .iter()
            .any(|f| probes(hash, f.len()).all(|(w, bit)| f[w] & bit != 0))
    }
}

fn filter(per: usize) -> Vec<u64> {
    vec![0; (per * BITS_PER_KEY).div_ceil(64).next_power_of_two()]
}

/// Double hashing over the filter's bits (a power of two).
fn probes(hash: u64, words: usize) -> impl Iterator<Item = (usize, u64)> {
    let bits = (words * 64) as u64;
    let h2 = hash.rotate_left(32) | 1;
    (0..PROBES).map(move |j| {
        let b = hash.wrapping_add(j.wrapping_mul(h2)) & (bits - 1);
        ((b / 64) as usize, 1u64 << (b % 64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i >> 7)
    }

    #[test]
    fn remembers_recent_and_forgets_old() {
        let mut g = Ghost::new(1000);
        for i in 0..1000 {
            g.add(h(i), 1000);
        }
        assert!((0..1000).all(|i| g.contains(h(i))));
        let fp = (10_000..20_000).filter(|&i| g.contains(h(i))).count();
        assert!(fp < 600, "false positives {fp} / 10000");
        // Two more generations later, the first keys are forgotten.
        for i in 1000..3001 {
            g.add(h(i), 1000);
        }
        let remembered = (0..1000).filter(|&i| g.contains(h(i))).count();
        assert!(remembered < 100, "{remembered} old keys still remembered");
    }
}

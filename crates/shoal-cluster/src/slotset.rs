//! A set of slots as a 16384-bit bitmap, with Redis's range printing (`0-5460 5461 ...`).

use crate::slot::SLOTS;

#[derive(Clone, PartialEq, Eq)]
pub struct SlotSet {
    bits: Box<[u64; SLOTS / 64]>,
}

impl Default for SlotSet {
    fn default() -> Self {
        SlotSet {
            bits: Box::new([0; SLOTS / 64]),
        }
    }
}

impl std::fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SlotSet[{}]",
            self.ranges()
                .map(|(a, b)| if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                })
                .collect::<Vec<_>>()
                .join(" ")
        )
    }
}

impl SlotSet {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub fn contains(&self, slot: u16) -> bool {
        let s = slot as usize;
        s < SLOTS && self.bits[s / 64] & (1 << (s % 64)) != 0
    }

    pub fn insert(&mut self, slot: u16) {
        let s = slot as usize % SLOTS;
        self.bits[s / 64] |= 1 << (s % 64);
    }

    pub fn remove(&mut self, slot: u16) {
        let s = slot as usize % SLOTS;
        self.bits[s / 64] &= !(1 << (s % 64));
    }

    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..SLOTS as u16).filter(move |&s| self.contains(s))
    }

    /// Maximal runs of consecutive slots, ascending: what CLUSTER NODES and SLOTS print.
    pub fn ranges(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        let mut s = 0usize;
        std::iter::from_fn(move || {
            while s < SLOTS && !self.contains(s as u16) {
                s += 1;
            }
            if s >= SLOTS {
                return None;
            }
            let start = s;
            while s < SLOTS && self.contains(s as u16) {
                s += 1;
            }
            Some((start as u16, (s - 1) as u16))
        })
    }

    /// The raw bitmap (for the cluster bus).
    pub fn words(&self) -> &[u64; SLOTS / 64] {
        &self.bits
    }

    pub fn from_words(words: [u64; SLOTS / 64]) -> Self {
        SlotSet {
            bits: Box::new(words),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_maximal() {
        let mut s = SlotSet::new();
        for x in [0u16, 1, 2, 5, 7, 8, 16383] {
            s.insert(x);
        }
        assert_eq!(
            s.ranges().collect::<Vec<_>>(),
            vec![(0, 2), (5, 5), (7, 8), (16383, 16383)]
        );
        assert_eq!(s.len(), 7);
        s.remove(1);
        assert_eq!(
            s.ranges().collect::<Vec<_>>(),
            vec![(0, 0), (2, 2), (5, 5), (7, 8), (16383, 16383)]
        );
        assert!(!s.contains(1) && s.contains(16383));
    }
}

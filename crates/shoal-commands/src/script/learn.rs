//! Which scripts keep to the keys they declare.
//!
//! A script's first run (per script body or function, until SCRIPT FLUSH / FUNCTION changes)
//! holds every shard: it is atomic whatever it touches, as in Redis, and it tells whether it
//! stayed inside the shards of its declared keys. Later runs of a script that did lock only
//! those shards, so scripts on different shards run in parallel. A later run that reaches
//! further anyway (its keys depend on data) locks more as it goes (`LockSet::extend`); if
//! that cannot be done safely before it wrote, it starts again holding everything, and the
//! script is marked to always run that way.

use std::collections::HashMap;

use parking_lot::RwLock;

use super::Sha;

/// How a run locks its shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The declared keys' shards (more as reached).
    Declared,
    /// Every shard of every database, taken before the script starts.
    All,
}

/// What runs of each script showed.
#[derive(Default)]
pub struct Learned {
    stays: RwLock<HashMap<Sha, bool>>,
}

/// Bound on remembered scripts (EVAL of ever-changing bodies must not grow it forever); past
/// it, new scripts are simply run holding everything.
const MAX: usize = 100_000;

impl Learned {
    pub fn plan(&self, id: &Sha) -> Plan {
        match self.stays.read().get(id) {
            Some(true) => Plan::Declared,
            _ => Plan::All,
        }
    }

    /// A run of `id` stayed (or not) inside its declared shards.
    pub fn record(&self, id: &Sha, stayed: bool) {
        let known = self.stays.read().get(id).copied();
        match known {
            Some(false) => {}
            Some(true) if stayed => {}
            _ => {
                let mut m = self.stays.write();
                if m.len() < MAX || m.contains_key(id) {
                    m.insert(*id, stayed);
                }
            }
        }
    }

    pub fn clear(&self) {
        self.stays.write().clear();
    }
}

thread_local! {
    /// The shards of the running script's declared keys, and whether it reached others.
    static DECLARED: std::cell::RefCell<Vec<shoal_store::ShardId>> = const { std::cell::RefCell::new(Vec::new()) };
    static STRAYED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A run starts holding `declared` (its declared keys' shards).
pub fn begin(declared: impl Iterator<Item = shoal_store::ShardId>) {
    DECLARED.with(|d| {
        let mut d = d.borrow_mut();
        d.clear();
        d.extend(declared);
    });
    STRAYED.with(|s| s.set(false));
}

/// A command of the running script needs `ids`.
pub fn note(ids: &[shoal_store::ShardId]) {
    let out = DECLARED.with(|d| {
        let d = d.borrow();
        ids.iter().any(|id| !d.contains(id))
    });
    if out {
        STRAYED.with(|s| s.set(true));
    }
}

/// The run ended: whether it reached a shard it had not declared.
pub fn end() -> bool {
    STRAYED.with(|s| s.replace(false))
}

/// The id a function's runs are remembered by.
pub fn function_id(name: &str) -> Sha {
    let mut b = Vec::with_capacity(name.len() + 6);
    b.extend_from_slice(b"fcall:");
    b.extend_from_slice(name.to_ascii_lowercase().as_bytes());
    super::sha1hex(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_runs_wide_until_it_kept_to_its_keys_and_for_good_once_it_did_not() {
        let l = Learned::default();
        let a = super::super::sha1hex(b"a");
        assert_eq!(l.plan(&a), Plan::All);
        l.record(&a, true);
        assert_eq!(l.plan(&a), Plan::Declared);
        l.record(&a, false);
        assert_eq!(l.plan(&a), Plan::All);
        l.record(&a, true);
        assert_eq!(l.plan(&a), Plan::All);
        l.clear();
        assert_eq!(l.plan(&a), Plan::All);
        assert_ne!(function_id("f"), function_id("g"));
        assert_eq!(function_id("F"), function_id("f"));
    }
}

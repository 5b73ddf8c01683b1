//! Which shards each script reaches beyond its declared keys.
//!
//! A script's first run (per script body or function, until SCRIPT FLUSH / FUNCTION changes)
//! holds every shard: it is atomic whatever it touches, as in Redis, and it tells which shards
//! outside its declared keys' it reached. Later runs hold their declared keys' shards plus
//! those (a script that reads a fixed undeclared key, as job-queue scripts do, holds two
//! shards, not every one), so scripts on different shards run in parallel. A later run that
//! reaches further anyway (its keys depend on data) locks more as it goes
//! (`LockSet::extend`); if that cannot be done safely before it wrote, it starts again holding
//! everything. A script whose undeclared shards add up to more than [`MAX_EXTRA`] is marked
//! to always run holding everything.

use parking_lot::RwLock;
use shoal_store::ShardId;

use super::Sha;

/// How a run locks its shards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The declared keys' shards and these (more as reached).
    Declared(Box<[ShardId]>),
    /// Every shard of every database, taken before the script starts.
    All,
}

/// Undeclared shards remembered per script; past this, it runs holding everything.
pub const MAX_EXTRA: usize = 16;

/// What runs of each script showed: the undeclared shards it reaches, or None when they are
/// too many (or unknowable: a command without a key plan).
#[derive(Default)]
pub struct Learned {
    reach: RwLock<super::ShaMap<Option<Box<[ShardId]>>>>,
}

/// Bound on remembered scripts (EVAL of ever-changing bodies must not grow it forever); past
/// it, new scripts are simply run holding everything.
const MAX: usize = 100_000;

impl Learned {
    pub fn plan(&self, id: &Sha) -> Plan {
        match self.reach.read().get(id) {
            Some(Some(extra)) => Plan::Declared(extra.clone()),
            _ => Plan::All,
        }
    }

    /// A run of `id` reached `strayed` (shards outside its declared keys', None: too many).
    pub fn record(&self, id: &Sha, strayed: Option<&[ShardId]>) {
        let next = {
            let known = self.reach.read();
            match (known.get(id), strayed) {
                (Some(None), _) => return,
                (Some(Some(had)), Some(now)) if now.iter().all(|s| had.contains(s)) => return,
                (Some(Some(had)), Some(now)) => {
                    let mut all = had.to_vec();
                    all.extend(now.iter().filter(|s| !had.contains(s)));
                    (all.len() <= MAX_EXTRA).then(|| all.into_boxed_slice())
                }
                (Some(Some(_)), None) | (None, None) => None,
                (None, Some(now)) => Some(now.into()),
            }
        };
        let mut m = self.reach.write();
        if m.len() < MAX || m.contains_key(id) {
            m.insert(*id, next);
        }
    }

    pub fn clear(&self) {
        self.reach.write().clear();
    }
}

thread_local! {
    /// The shards of the running script's declared keys, and the others it reached (None:
    /// more than MAX_EXTRA).
    static DECLARED: std::cell::RefCell<Vec<ShardId>> = const { std::cell::RefCell::new(Vec::new()) };
    static STRAYED: std::cell::RefCell<Option<Vec<ShardId>>> = const { std::cell::RefCell::new(Some(Vec::new())) };
}

/// A run starts holding `declared` (its declared keys' shards).
pub fn begin(declared: impl Iterator<Item = ShardId>) {
    DECLARED.with(|d| {
        let mut d = d.borrow_mut();
        d.clear();
        d.extend(declared);
    });
    STRAYED.with(|s| *s.borrow_mut() = Some(Vec::new()));
}

/// A command of the running script needs `ids`.
pub fn note(ids: &[ShardId]) {
    DECLARED.with(|d| {
        let d = d.borrow();
        STRAYED.with(|s| {
            let mut s = s.borrow_mut();
            for id in ids.iter().filter(|id| !d.contains(id)) {
                let Some(v) = s.as_mut() else { return };
                if !v.contains(id) {
                    if v.len() == MAX_EXTRA {
                        *s = None;
                        return;
                    }
                    v.push(*id);
                }
            }
        })
    });
}

/// The run ended: the shards outside its declared keys' it reached (None: too many).
pub fn end() -> Option<Vec<ShardId>> {
    STRAYED.with(|s| s.replace(Some(Vec::new())))
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

    fn shard(idx: u32) -> ShardId {
        ShardId { db: 0, idx }
    }

    #[test]
    fn a_script_runs_wide_until_its_reach_is_known_and_for_good_once_it_is_too_wide() {
        let l = Learned::default();
        let a = super::super::sha1hex(b"a");
        assert_eq!(l.plan(&a), Plan::All);
        l.record(&a, Some(&[]));
        assert_eq!(l.plan(&a), Plan::Declared(Box::new([])));
        // A fixed undeclared key: its shard is held from then on.
        l.record(&a, Some(&[shard(7)]));
        assert_eq!(l.plan(&a), Plan::Declared(Box::new([shard(7)])));
        l.record(&a, Some(&[shard(7), shard(3)]));
        assert_eq!(l.plan(&a), Plan::Declared(Box::new([shard(7), shard(3)])));
        // Reaching more than MAX_EXTRA shards in all: wide for good.
        let many: Vec<_> = (100..100 + MAX_EXTRA as u32).map(shard).collect();
        l.record(&a, Some(&many));
        assert_eq!(l.plan(&a), Plan::All);
        l.record(&a, Some(&[]));
        assert_eq!(l.plan(&a), Plan::All);
        l.clear();
        assert_eq!(l.plan(&a), Plan::All);
        l.record(&a, None);
        assert_eq!(l.plan(&a), Plan::All);
        assert_ne!(function_id("f"), function_id("g"));
        assert_eq!(function_id("F"), function_id("f"));
    }

    #[test]
    fn a_run_notes_the_undeclared_shards_it_reached_up_to_the_bound() {
        begin([shard(1), shard(2)].into_iter());
        note(&[shard(1), shard(5)]);
        note(&[shard(5), shard(9)]);
        assert_eq!(end(), Some(vec![shard(5), shard(9)]));
        begin([shard(1)].into_iter());
        let all: Vec<_> = (0..1024).map(shard).collect();
        note(&all);
        assert_eq!(end(), None);
        begin(std::iter::empty());
        assert_eq!(end(), Some(vec![]));
    }
}

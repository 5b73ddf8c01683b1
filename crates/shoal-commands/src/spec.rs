//! The command table: one entry per command drives dispatch, arity errors, COMMAND replies, key
//! extraction and transaction locking. Each family module ends with its slice of the table;
//! [`table`] assembles them once.

use std::sync::OnceLock;

use shoal_resp::Args;
use shoal_store::{ShardId, Store};

use crate::ctx::Ctx;
use crate::errors::CmdResult;

pub type Handler = fn(&mut Ctx<'_>, Args<'_>) -> CmdResult;

/// Command flags, as COMMAND reports them.
pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const NOSCRIPT: u32 = 1 << 4;
    pub const LOADING: u32 = 1 << 5;
    pub const STALE: u32 = 1 << 6;
    pub const FAST: u32 = 1 << 7;
    pub const NO_AUTH: u32 = 1 << 8;
    pub const ALLOW_BUSY: u32 = 1 << 9;
    pub const NO_MULTI: u32 = 1 << 10;
    pub const SKIP_SLOWLOG: u32 = 1 << 11;
    pub const BLOCKING: u32 = 1 << 12;
    pub const MOVABLEKEYS: u32 = 1 << 13;
    pub const PUBSUB: u32 = 1 << 14;
    pub const MAY_REPLICATE: u32 = 1 << 15;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (NOSCRIPT, "noscript"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (ALLOW_BUSY, "allow_busy"),
        (NO_MULTI, "no_multi"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (BLOCKING, "blocking"),
        (MOVABLEKEYS, "movablekeys"),
        (PUBSUB, "pubsub"),
        (MAY_REPLICATE, "may_replicate"),
    ];
}

/// Command groups, as COMMAND DOCS and the ACL categories name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Connection,
    Server,
    String,
    Generic,
    Transactions,
    Cluster,
    Hash,
    List,
    Set,
    SortedSet,
    PubSub,
    Scripting,
    Bitmap,
    HyperLogLog,
    Geo,
    Stream,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Connection => "connection",
            Group::Server => "server",
            Group::String => "string",
            Group::Generic => "generic",
            Group::Transactions => "transactions",
            Group::Cluster => "cluster",
            Group::Hash => "hash",
            Group::List => "list",
            Group::Set => "set",
            Group::SortedSet => "sorted-set",
            Group::PubSub => "pubsub",
            Group::Scripting => "scripting",
            Group::Bitmap => "bitmap",
            Group::HyperLogLog => "hyperloglog",
            Group::Geo => "geo",
            Group::Stream => "stream",
        }
    }

    fn acl(self) -> &'static str {
        match self {
            Group::Connection => "@connection",
            Group::Server => "@admin",
            Group::String => "@string",
            Group::Generic => "@keyspace",
            Group::Transactions => "@transaction",
            Group::Cluster => "@connection",
            Group::Hash => "@hash",
            Group::List => "@list",
            Group::Set => "@set",
            Group::SortedSet => "@sortedset",
            Group::PubSub => "@pubsub",
            Group::Scripting => "@scripting",
            Group::Bitmap => "@bitmap",
            Group::HyperLogLog => "@hyperloglog",
            Group::Geo => "@geo",
            Group::Stream => "@stream",
        }
    }
}

/// How a command's shards are locked.
#[derive(Clone, Copy)]
pub enum Locking {
    /// By its key positions in the current database (taken together when there are several).
    Keys,
    /// Touches no key.
    Nothing,
    /// Walks the whole keyspace one shard at a time (KEYS, SCAN, FLUSHDB…); inside EXEC every
    /// shard is locked up front instead.
    Global,
    /// Names its own shards (MOVE, COPY with DB, SWAPDB).
    Custom(fn(&Store, usize, &Args<'_>, &mut Vec<ShardId>)),
}

/// Finds keys in the arguments that first/last/step do not describe.
pub type ExtraKeys = fn(&Args<'_>) -> [Option<usize>; 2];

pub struct Spec {
    /// Lower-case name.
    pub name: &'static str,
    /// Argument count including the name; negative = at least that many.
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: Group,
    pub since: &'static str,
    pub summary: &'static str,
    pub handler: Handler,
    pub locking: Locking,
    /// Movable keys: `args[i]` says how many keys follow it (LMPOP, ZUNIONSTORE…).
    pub numkeys: Option<usize>,
    /// A container's subcommands (`client` → `list`, `kill`…), as `COMMAND LIST` and
    /// `CLIENT LIST cmd=` name them (`client|list`).
    pub subs: &'static [&'static str],
    /// Up to two more keys found by looking at the arguments (SORT's `STORE destination`,
    /// GEORADIUS's `STORE` and `STOREDIST`).
    pub extra_key: Option<ExtraKeys>,
    /// Key positions found by looking at the arguments (XREAD's keys after STREAMS).
    pub key_range: Option<fn(&Args<'_>) -> std::ops::Range<usize>>,
}

impl Spec {
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        if a >= 0 {
            argc == a as usize
        } else {
            argc >= (-a) as usize
        }
    }

    /// Positions of the keys in `args` (command name at 0), from first/last/step.
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> + use<> {
        let (first, step) = (self.first_key, self.step.max(1) as usize);
        let last = if self.last_key < 0 {
            argc as i32 + self.last_key
        } else {
            self.last_key
        };
        let range = if first <= 0 || last < first {
            0..0
        } else {
            first as usize..(last as usize + 1).min(argc)
        };
        range.step_by(step)
    }

    /// Every key position of these arguments: the fixed ones and those counted by `numkeys`.
    pub fn all_keys(&self, args: &shoal_resp::Args<'_>) -> impl Iterator<Item = usize> + use<> {
        let argc = args.len();
        let extra = match self.numkeys {
            Some(i) => {
                let n = shoal_resp::parse_i64(args.get(i))
                    .filter(|n| *n > 0)
                    .unwrap_or(0) as usize;
                (i + 1)..(i + 1).saturating_add(n).min(argc)
            }
            None => 0..0,
        };
        let more = self.extra_key.map_or([None, None], |f| f(args));
        let found = self.key_range.map_or(0..0, |f| f(args));
        self.key_positions(argc)
            .chain(extra)
            .chain(more.into_iter().flatten())
            .chain(found)
    }

    /// True when these arguments name more than one key.
    #[inline]
    pub fn several_keys(&self, argc: usize) -> bool {
        if self.first_key <= 0 {
            return false;
        }
        let last = if self.last_key < 0 {
            argc as i32 + self.last_key
        } else {
            self.last_key.min(argc as i32 - 1)
        };
        last >= self.first_key + self.step.max(1)
    }

    /// ACL categories, as COMMAND shows them: Redis 7.0.15's for its commands, the same
    /// ACL CAT and the permission checks use (see `crate::acl::cmds`).
    pub fn acl_categories(&self) -> Vec<String> {
        match crate::acl::categories_of(self.name) {
            Some(v) => v.into_iter().map(|c| format!("@{c}")).collect(),
            None => self
                .derived_acl_categories()
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }

    /// Categories implied by the flags and group (for commands Redis does not have).
    pub fn derived_acl_categories(&self) -> Vec<&'static str> {
        let mut v = Vec::with_capacity(4);
        if self.has(flags::WRITE) {
            v.push("@write");
        }
        if self.has(flags::READONLY) {
            v.push("@read");
        }
        v.push(self.group.acl());
        v.push(if self.has(flags::FAST) {
            "@fast"
        } else {
            "@slow"
        });
        if self.has(flags::ADMIN) {
            v.push("@dangerous");
        }
        v
    }
}

/// Shorthand used by the family tables.
#[allow(clippy::too_many_arguments)]
pub const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    group: Group,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> Spec {
    Spec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        group,
        since,
        summary,
        handler,
        locking: if keys.0 > 0 {
            Locking::Keys
        } else {
            Locking::Nothing
        },
        numkeys: None,
        subs: &[],
        extra_key: None,
        key_range: None,
    }
}

impl Spec {
    pub const fn locking(mut self, l: Locking) -> Spec {
        self.locking = l;
        self
    }

    /// A container command's subcommands.
    pub const fn subcommands(mut self, subs: &'static [&'static str]) -> Spec {
        self.subs = subs;
        self
    }

    /// More key positions, found by `f` in the arguments (and the command's keys move).
    pub const fn extra_key(mut self, f: ExtraKeys) -> Spec {
        self.extra_key = Some(f);
        self.flags |= flags::MOVABLEKEYS;
        self
    }

    /// The index of `args[1]` among the subcommands, if this is a container and it names one.
    #[inline]
    pub fn sub_index(&self, args: &Args<'_>) -> Option<usize> {
        if self.subs.is_empty() || args.len() < 2 {
            return None;
        }
        let sub = args.get(1);
        self.subs
            .iter()
            .position(|s| s.as_bytes().eq_ignore_ascii_case(sub))
    }

    /// The keys are where `f` finds them in the arguments (and the command locks by them).
    pub const fn key_range(mut self, f: fn(&Args<'_>) -> std::ops::Range<usize>) -> Spec {
        self.key_range = Some(f);
        self.flags |= flags::MOVABLEKEYS;
        self.locking = Locking::Keys;
        self
    }

    /// Keys counted by `args[i]` follow it (and the command locks by its keys).
    pub const fn numkeys(mut self, i: usize) -> Spec {
        self.numkeys = Some(i);
        self.flags |= flags::MOVABLEKEYS;
        self.locking = Locking::Keys;
        self
    }
}

/// The assembled table: every command once, looked up by lower-case name.
pub struct Table {
    pub specs: Vec<&'static Spec>,
    by_name: hashbrown::HashMap<&'static [u8], usize, foldhash::fast::FixedState>,
    /// Where each command's subcommands start in a list of every subcommand (per-subcommand
    /// counters: LATENCY HISTOGRAM).
    sub_base: Vec<usize>,
}

impl Table {
    /// Looks a command up by name, ignoring ASCII case.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<(usize, &'static Spec)> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let i = *self.by_name.get(&*lower)?;
        Some((i, self.specs[i]))
    }

    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// How many subcommands all commands have together.
    pub fn sub_count(&self) -> usize {
        self.sub_base.last().copied().unwrap_or(0)
    }

    /// The position of subcommand `sub` of command `idx` among all subcommands.
    #[inline]
    pub fn sub_cell(&self, idx: usize, sub: usize) -> usize {
        self.sub_base[idx] + sub
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }
}

pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let specs: Vec<&'static Spec> =
            crate::families::ALL.iter().flat_map(|f| f.iter()).collect();
        let mut by_name = hashbrown::HashMap::with_hasher(foldhash::fast::FixedState::with_seed(0));
        let mut sub_base = Vec::with_capacity(specs.len() + 1);
        let mut n = 0;
        for (i, s) in specs.iter().enumerate() {
            by_name.insert(s.name.as_bytes(), i);
            sub_base.push(n);
            n += s.subs.len();
        }
        sub_base.push(n);
        Table {
            specs,
            by_name,
            sub_base,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let t = table();
        let mut names = std::collections::HashSet::new();
        for s in &t.specs {
            assert!(names.insert(s.name), "duplicate command {}", s.name);
            assert_eq!(s.name, s.name.to_ascii_lowercase());
            assert!(s.name.len() <= 32);
            assert!(s.arity != 0, "{}", s.name);
            if s.first_key > 0 {
                assert!(
                    s.arity < 0 || s.first_key < s.arity,
                    "{} key out of range",
                    s.name
                );
                assert!(s.step >= 1, "{}", s.name);
                assert!(s.last_key < 0 || s.last_key >= s.first_key, "{}", s.name);
            }
            assert!(
                !(s.has(flags::WRITE) && s.has(flags::READONLY)),
                "{}",
                s.name
            );
        }
        assert!(t.lookup(b"GeT").is_some());
        assert!(t.lookup(b"nosuchcommand").is_none());
    }

    #[test]
    fn key_positions_follow_first_last_step() {
        let t = table();
        let (_, mset) = t.lookup(b"mset").unwrap();
        assert_eq!(mset.key_positions(5).collect::<Vec<_>>(), vec![1, 3]);
        let (_, del) = t.lookup(b"del").unwrap();
        assert_eq!(del.key_positions(4).collect::<Vec<_>>(), vec![1, 2, 3]);
        let (_, ping) = t.lookup(b"ping").unwrap();
        assert_eq!(ping.key_positions(2).count(), 0);
        for s in &t.specs {
            for argc in 1..8 {
                assert_eq!(
                    s.several_keys(argc),
                    s.key_positions(argc).count() > 1,
                    "{} argc {argc}",
                    s.name
                );
            }
        }
    }
}

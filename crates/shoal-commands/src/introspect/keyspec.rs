//! Redis 7's key specs and how COMMAND GETKEYS(ANDFLAGS) walks them (Redis's
//! getKeysFromCommandWithSpecs): the specs first, then, for the commands whose specs are
//! incomplete or whose flags depend on the arguments (SET, BITFIELD, SORT, SORT_RO, MIGRATE),
//! Redis's own key-finding procedures.

use shoal_resp::Args;

use crate::util::eq_ic;

/// Key-spec flags, bit i named `FLAG_NAMES[i]` (Redis's CMD_KEY_* order).
pub const RO: u16 = 1;
pub const RW: u16 = 1 << 1;
pub const OW: u16 = 1 << 2;
pub const ACCESS: u16 = 1 << 4;
pub const UPDATE: u16 = 1 << 5;
pub const INSERT: u16 = 1 << 6;
pub const DELETE: u16 = 1 << 7;
pub const NOT_KEY: u16 = 1 << 8;
pub const INCOMPLETE: u16 = 1 << 9;
pub const VARIABLE_FLAGS: u16 = 1 << 10;

pub const FLAG_NAMES: &[&str] = &[
    "RO",
    "RW",
    "OW",
    "RM",
    "access",
    "update",
    "insert",
    "delete",
    "not_key",
    "incomplete",
    "variable_flags",
];

/// Where a spec's keys start.
#[derive(Clone, Copy, Debug)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from `startfrom` (backwards when negative).
    Keyword(&'static str, i32),
    Unknown,
}

/// Which arguments from the start are keys.
#[derive(Clone, Copy, Debug)]
pub enum Find {
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub flags: u16,
    pub begin: Begin,
    pub find: Find,
}

/// The names of `flags`, in Redis's order.
pub fn flag_names(flags: u16) -> impl Iterator<Item = &'static str> {
    FLAG_NAMES
        .iter()
        .enumerate()
        .filter(move |(i, _)| flags & (1 << i) != 0)
        .map(|(_, n)| *n)
}

/// Whether some spec names a real key (Redis's doesCommandHaveKeys).
pub fn has_keys(specs: &[KeySpec]) -> bool {
    specs.iter().any(|s| s.flags & NOT_KEY == 0)
}

/// (argument index, key-spec flags) of every key of `a` (the command name at 0), as Redis's
/// getKeysFromCommandWithSpecs finds them. `name` is the command's full name.
pub fn keys_with_flags(
    name: &str,
    specs: &[KeySpec],
    arity: i32,
    a: &Args<'_>,
) -> Vec<(usize, u16)> {
    let all = specs.iter().fold(0, |f, s| f | s.flags);
    if has_keys(specs)
        && all & VARIABLE_FLAGS == 0
        && let Some(keys) = by_specs(specs, arity, a)
    {
        return keys;
    }
    match name {
        "set" => set_keys(a),
        "bitfield" => bitfield_keys(a),
        "sort" => sort_keys(a),
        "sort_ro" => vec![(1, RO | ACCESS)],
        "migrate" => migrate_keys(a),
        _ => Vec::new(),
    }
}

/// Redis's getKeysUsingKeySpecs: `None` when a spec does not fit these arguments or is
/// incomplete (the caller falls back to the command's own procedure).
fn by_specs(specs: &[KeySpec], arity: i32, a: &Args<'_>) -> Option<Vec<(usize, u16)>> {
    let argc = a.len() as i64;
    let mut keys = Vec::new();
    for spec in specs {
        if spec.flags & NOT_KEY != 0 {
            continue;
        }
        let mut first: i64 = match spec.begin {
            Begin::Index(i) => i as i64,
            Begin::Keyword(kw, from) => {
                let Some(i) = keyword(a, kw, from as i64) else {
                    continue;
                };
                i + 1
            }
            Begin::Unknown => return None,
        };
        let (last, step) = match spec.find {
            Find::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (last, keystep as i64)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                if keynumidx as i64 >= argc {
                    return None;
                }
                let idx = usize::try_from(first + keynumidx as i64).ok()?;
                let numkeys = (idx < a.len())
                    .then(|| crate::util::int(a.get(idx)).ok())
                    .flatten()
                    .filter(|n| *n >= 0)?;
                first += firstkey as i64;
                (first.saturating_add(numkeys) - 1, keystep as i64)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            if i < argc {
                keys.push((i as usize, spec.flags));
            } else if arity >= 0 {
                return None;
            }
            i += step.max(1);
        }
        if spec.flags & INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

/// The index of `kw` searched from `from` as Redis does (forwards to the one-before-last
/// argument, or backwards from `argc + from` to 2).
fn keyword(a: &Args<'_>, kw: &str, from: i64) -> Option<i64> {
    let argc = a.len() as i64;
    let (start, end) = if from > 0 {
        (from, argc - 1)
    } else {
        (argc + from, 1)
    };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if eq_ic(a.get(i as usize), kw) {
            return Some(i);
        }
        i += if start <= end { 1 } else { -1 };
    }
    None
}

/// Redis's setGetKeys: GET makes the key read too.
fn set_keys(a: &Args<'_>) -> Vec<(usize, u16)> {
    let get = a.iter().skip(3).any(|x| x.eq_ignore_ascii_case(b"get"));
    vec![(
        1,
        if get {
            RW | ACCESS | UPDATE
        } else {
            OW | UPDATE
        },
    )]
}

/// Redis's bitfieldGetKeys: read-only when every operation is a GET (or OVERFLOW).
fn bitfield_keys(a: &Args<'_>) -> Vec<(usize, u16)> {
    let argc = a.len();
    let mut readonly = true;
    let mut i = 2;
    while i < argc {
        let rem = argc - i - 1;
        let arg = a.get(i);
        if eq_ic(arg, "get") && rem >= 2 {
            i += 2;
        } else if eq_ic(arg, "overflow") && rem >= 1 {
            i += 1;
        } else {
            // SET/INCRBY, or a syntax error: not read-only either way.
            readonly = false;
            break;
        }
        i += 1;
    }
    let f = if readonly {
        RO | ACCESS
    } else {
        RW | ACCESS | UPDATE
    };
    vec![(1, f)]
}

/// Redis's sortGetKeys: the source, and the last STORE's destination.
fn sort_keys(a: &Args<'_>) -> Vec<(usize, u16)> {
    let mut keys = vec![(1, RO | ACCESS)];
    let mut store = None;
    let mut i = 2;
    while i < a.len() {
        let opt = a.get(i);
        if eq_ic(opt, "limit") {
            i += 2;
        } else if eq_ic(opt, "get") || eq_ic(opt, "by") {
            i += 1;
        } else if eq_ic(opt, "store") && i + 1 < a.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store.map(|p| (p, OW | UPDATE)));
    keys
}

/// Redis's migrateGetKeys: the key at 3, or those after KEYS (with an empty key at 3).
fn migrate_keys(a: &Args<'_>) -> Vec<(usize, u16)> {
    let argc = a.len();
    let (mut first, mut num) = (3, 1);
    if argc > 6 {
        let mut i = 6;
        while i < argc {
            let arg = a.get(i);
            if eq_ic(arg, "keys") {
                if !a.get(3).is_empty() {
                    return Vec::new();
                }
                first = i + 1;
                num = argc - first;
                break;
            }
            if eq_ic(arg, "auth") {
                i += 1;
            } else if eq_ic(arg, "auth2") {
                i += 2;
            }
            i += 1;
        }
    }
    (first..first + num)
        .filter(|&p| p < argc)
        .map(|p| (p, RW | ACCESS | DELETE))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(line: &str) -> Vec<(usize, u16)> {
        let owned = shoal_resp::OwnedArgs::from_parts(line.split(' '));
        let a = owned.args();
        let rc = super::super::redis_command(line.split(' ').next().unwrap()).unwrap();
        keys_with_flags(rc.name, rc.key_specs, rc.arity, &a)
    }

    #[test]
    fn specs_give_redis_flags() {
        assert_eq!(keys("set k v"), vec![(1, OW | UPDATE)]);
        assert_eq!(keys("set k v GET"), vec![(1, RW | ACCESS | UPDATE)]);
        assert_eq!(
            keys("lmove a b left right"),
            vec![(1, RW | ACCESS | DELETE), (2, RW | INSERT)]
        );
        assert_eq!(
            keys("sort a by x store d"),
            vec![(1, RO | ACCESS), (5, OW | UPDATE)]
        );
        assert_eq!(keys("bitfield k get u8 0"), vec![(1, RO | ACCESS)]);
        assert_eq!(
            keys("bitfield k get u8 0 set u8 0 1"),
            vec![(1, RW | ACCESS | UPDATE)]
        );
        assert_eq!(
            keys("zunionstore d 2 a b"),
            vec![(1, OW | UPDATE), (3, RO | ACCESS), (4, RO | ACCESS)]
        );
        assert!(keys("zunionstore d 3 a b").is_empty());
        assert!(keys("zunionstore d -1 a").is_empty());
        assert!(keys("zunionstore d 99999999999999 a").is_empty());
        assert!(keys("eval s 0").is_empty());
        assert_eq!(
            keys("georadius k 1 1 1 m store a storedist b"),
            vec![(1, RO | ACCESS), (7, OW | UPDATE), (9, OW | UPDATE)]
        );
        assert_eq!(keys("xread count 2 streams a b 0 0").len(), 2);
    }

    #[test]
    fn migrate_follows_redis() {
        assert_eq!(keys("migrate h 1 k 0 5"), vec![(3, RW | ACCESS | DELETE)]);
        assert_eq!(
            keys("migrate h 1  0 5 keys a b"),
            vec![(7, RW | ACCESS | DELETE), (8, RW | ACCESS | DELETE)]
        );
        assert_eq!(
            keys("migrate h 1  0 5 keys"),
            vec![(3, RW | ACCESS | DELETE)]
        );
    }
}

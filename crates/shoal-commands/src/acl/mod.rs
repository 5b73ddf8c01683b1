//! ACL users, as Redis 7.0: each user has flags, passwords and selectors (the root one and
//! those added with `(...)`), each selector a command bitmap, key patterns and channel
//! patterns. [`check`] is what dispatch, EXEC, scripts and ACL DRYRUN ask; it is only reached
//! for users that are not all-permissive ([`User::open`] is one flag, read per command).
//!
//! Command ids and categories come from [`cmds`]: shoal's command table (and its containers'
//! subcommands), with Redis 7.0.15's categories and key access for each name
//! (`redis_table.rs`, generated from a real redis-server); shoal's own commands fall back to
//! categories derived from their flags and group.

pub mod log;
pub mod redis_table;
pub mod rules;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use parking_lot::{Mutex, RwLock};
use shoal_resp::Args;

use crate::spec::{Spec, table};

/// Redis's categories, in its order (bit i of a category mask).
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

pub fn category_bit(name: &str) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// Key access bits (Redis's key spec flags reduced to what ACLs look at).
pub const KEY_READ: u8 = 1;
pub const KEY_WRITE: u8 = 2;
pub const NOT_KEY: u8 = 4;

/// One command or subcommand as ACLs see it.
pub struct CmdInfo {
    /// `get`, `client|list`.
    pub fullname: String,
    pub cats: u32,
    pub keyspecs: &'static [(i16, u8)],
    /// Subcommand ids of a container.
    pub subs: std::ops::Range<u32>,
    pub is_sub: bool,
    pub no_auth: bool,
    /// Table index of the command (the container for a subcommand).
    pub spec: usize,
}

/// Every command and subcommand with an id (its bit in a selector's bitmap).
pub struct Cmds {
    pub list: Vec<CmdInfo>,
    /// Id of each table entry (by spec index).
    pub base: Vec<u32>,
    /// Subcommands of each table entry as ACLs know them (lower-case name, id): Redis's own
    /// for its containers (so `+memory|doctor` is understood as Redis does), shoal's for its
    /// own; none for a command Redis does not treat as a container (DEBUG takes
    /// `+debug|object` as a first argument, as in Redis).
    pub subs: Vec<Vec<(String, u32)>>,
    /// Top-level command ids, in table order.
    pub top: Vec<u32>,
    by_name: std::collections::HashMap<String, u32>,
}

impl Cmds {
    /// The bit that says "commands added later" (set only by `+@all`).
    pub fn future_bit(&self) -> u32 {
        self.list.len() as u32
    }
    pub fn words(&self) -> usize {
        (self.list.len() + 1).div_ceil(64)
    }
    /// `get` or `client|list` (any case).
    pub fn lookup(&self, name: &str) -> Option<u32> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }
    /// The subcommand `args[1]` names, if the command is a container that has it.
    pub fn sub_id(&self, spec_idx: usize, args: &Args<'_>) -> Option<u32> {
        let subs = self.subs.get(spec_idx)?;
        if subs.is_empty() || args.len() < 2 {
            return None;
        }
        let a = args.get(1);
        subs.iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(a))
            .map(|(_, id)| *id)
    }
    /// Whether the command is a container (for ACLs).
    pub fn is_container(&self, spec_idx: usize) -> bool {
        self.subs.get(spec_idx).is_some_and(|s| !s.is_empty())
    }
    /// The id a command runs under: its subcommand's when it is a container naming one.
    #[inline]
    pub fn id_of(&self, spec_idx: usize, _spec: &Spec, args: &Args<'_>) -> u32 {
        self.sub_id(spec_idx, args)
            .unwrap_or_else(|| self.base[spec_idx])
    }
}

/// Categories of a command shoal has and Redis does not: from its flags and group, as Redis
/// derives the implicit ones.
fn derived_cats(spec: &Spec) -> u32 {
    use crate::spec::flags as f;
    let mut m = 0;
    for c in spec.derived_acl_categories() {
        if let Some(b) = category_bit(c.trim_start_matches('@')) {
            m |= b;
        }
    }
    if spec.has(f::BLOCKING) {
        m |= category_bit("blocking").unwrap_or(0);
    }
    m
}

pub fn cmds() -> &'static Cmds {
    static CMDS: OnceLock<Cmds> = OnceLock::new();
    CMDS.get_or_init(|| {
        let redis: std::collections::HashMap<&str, redis_table::Entry> =
            redis_table::REDIS_COMMANDS
                .iter()
                .map(|(n, c, k)| (*n, (*c, *k)))
                .collect();
        let mut list = Vec::new();
        let mut base = Vec::new();
        let mut all_subs = Vec::new();
        let mut top = Vec::new();
        for (i, spec) in table().specs.iter().enumerate() {
            let id = list.len() as u32;
            base.push(id);
            top.push(id);
            let none: &'static [(i16, u8)] = &[];
            let known = redis.get(spec.name).copied();
            let (cats, keyspecs) = known.unwrap_or((derived_cats(spec), none));
            let prefix = format!("{}|", spec.name);
            let mut names: Vec<String> = redis_table::REDIS_COMMANDS
                .iter()
                .filter_map(|(n, _, _)| n.strip_prefix(prefix.as_str()))
                .map(String::from)
                .collect();
            if known.is_none() || !names.is_empty() {
                for s in spec.subs {
                    if !names.iter().any(|n| n == s) {
                        names.push(s.to_string());
                    }
                }
            }
            let n = names.len() as u32;
            list.push(CmdInfo {
                fullname: spec.name.to_string(),
                cats,
                keyspecs,
                subs: id + 1..id + 1 + n,
                is_sub: false,
                no_auth: spec.has(crate::spec::flags::NO_AUTH),
                spec: i,
            });
            let mut subs = Vec::new();
            for sub in names {
                let full = format!("{}|{}", spec.name, sub);
                let (cats, keyspecs) = redis
                    .get(full.as_str())
                    .copied()
                    .unwrap_or((cats, keyspecs));
                subs.push((sub, list.len() as u32));
                list.push(CmdInfo {
                    fullname: full,
                    cats,
                    keyspecs,
                    subs: 0..0,
                    is_sub: true,
                    no_auth: false,
                    spec: i,
                });
            }
            all_subs.push(subs);
        }
        let by_name = list
            .iter()
            .enumerate()
            .map(|(i, c)| (c.fullname.clone(), i as u32))
            .collect();
        Cmds {
            list,
            base,
            subs: all_subs,
            top,
            by_name,
        }
    })
}

/// The categories of a command by name (`get`, `client|list`), as COMMAND INFO shows them.
pub fn categories_of(name: &str) -> Option<Vec<&'static str>> {
    let c = cmds();
    let id = c.lookup(name)?;
    Some(mask_names(c.list[id as usize].cats))
}

pub fn mask_names(mask: u32) -> Vec<&'static str> {
    CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Selector flags.
pub const SEL_ROOT: u8 = 1;
pub const SEL_ALLKEYS: u8 = 2;
pub const SEL_ALLCHANNELS: u8 = 4;
pub const SEL_ALLCOMMANDS: u8 = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub flags: u8,
    pub bits: Vec<u64>,
    /// `+select|0`: first arguments allowed for a command whose bit is clear, by id.
    pub firstargs: Vec<(u32, Vec<String>)>,
    /// (access bits, pattern).
    pub patterns: Vec<(u8, Vec<u8>)>,
    pub channels: Vec<Vec<u8>>,
}

impl Selector {
    pub fn new(flags: u8, pubsub_all: bool) -> Selector {
        Selector {
            flags: flags | if pubsub_all { SEL_ALLCHANNELS } else { 0 },
            bits: vec![0; cmds().words()],
            firstargs: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }
    #[inline]
    pub fn bit(&self, id: u32) -> bool {
        self.bits
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
    pub fn set_bit(&mut self, id: u32, on: bool) {
        if let Some(w) = self.bits.get_mut(id as usize / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.flags &= !SEL_ALLCOMMANDS;
            }
        }
    }
    /// Allows or blocks a command, and a container's subcommands with it.
    pub fn change_perm(&mut self, id: u32, on: bool) {
        self.set_bit(id, on);
        self.firstargs.retain(|(i, _)| *i != id);
        let subs = cmds().list[id as usize].subs.clone();
        for s in subs {
            self.set_bit(s, on);
        }
    }
    pub fn set_category(&mut self, mask: u32, on: bool) {
        let c = cmds();
        for &t in &c.top {
            let info = &c.list[t as usize];
            if info.cats & mask != 0 {
                self.change_perm(t, on);
            }
            for s in info.subs.clone() {
                if c.list[s as usize].cats & mask != 0 {
                    self.change_perm(s, on);
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserState {
    pub enabled: bool,
    pub nopass: bool,
    /// 0: neither, 1: sanitize-payload, 2: skip-sanitize-payload.
    pub sanitize: u8,
    /// SHA-256 hex digests.
    pub passwords: Vec<String>,
    /// The root selector first.
    pub selectors: Vec<Selector>,
}

impl UserState {
    pub fn new(pubsub_all: bool) -> UserState {
        UserState {
            enabled: false,
            nopass: false,
            sanitize: 0,
            passwords: Vec::new(),
            selectors: vec![Selector::new(SEL_ROOT, pubsub_all)],
        }
    }
    /// Everything allowed through the root selector: no check needed.
    fn open(&self) -> bool {
        let all = SEL_ALLCOMMANDS | SEL_ALLKEYS | SEL_ALLCHANNELS;
        self.selectors[0].flags & all == all
    }
}

pub struct User {
    pub name: String,
    pub st: RwLock<UserState>,
    /// The root selector allows every command, key and channel (the hot path reads this).
    open: AtomicBool,
}

impl User {
    pub fn new(name: &str, st: UserState) -> User {
        let open = st.open();
        User {
            name: name.to_string(),
            st: RwLock::new(st),
            open: AtomicBool::new(open),
        }
    }
    #[inline]
    pub fn open(&self) -> bool {
        self.open.load(Relaxed)
    }

    /// May read every key (Redis's `ACLUserCheckKeyPerm(user, "*", 1, CMD_KEY_ACCESS)`): a
    /// selector with allkeys, or a read pattern that matches the literal `*`. SORT's BY and GET
    /// read keys no ACL check sees, so they need this.
    pub fn reads_every_key(&self) -> bool {
        self.open()
            || self.st.read().selectors.iter().any(|sel| {
                sel.flags & SEL_ALLKEYS != 0
                    || sel.patterns.iter().any(|(acc, pat)| {
                        acc & KEY_READ != 0 && shoal_store::glob::glob_match(pat, b"*", false)
                    })
            })
    }
    pub fn set_state(&self, st: UserState) {
        let open = st.open();
        *self.st.write() = st;
        self.open.store(open, Relaxed);
    }
    pub fn enabled(&self) -> bool {
        self.st.read().enabled
    }
    /// Whether a connection starts authenticated as this user (on, nopass).
    pub fn no_auth_needed(&self) -> bool {
        let st = self.st.read();
        st.enabled && st.nopass
    }
    /// Checks a password (against the stored SHA-256 digests, in constant time).
    pub fn check_password(&self, pass: &[u8]) -> bool {
        let st = self.st.read();
        if !st.enabled {
            return false;
        }
        if st.nopass {
            return true;
        }
        let h = hash_password(pass);
        st.passwords
            .iter()
            .fold(false, |ok, p| ok | ct_eq(p.as_bytes(), h.as_bytes()))
    }
}

/// Constant-time comparison.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hash_password(pass: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(pass);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push(char::from(b"0123456789abcdef"[(b >> 4) as usize]));
        s.push(char::from(b"0123456789abcdef"[(b & 15) as usize]));
    }
    s
}

/// The server's users and ACL log.
pub struct Acl {
    pub users: RwLock<BTreeMap<String, Arc<User>>>,
    /// The `default` user (the same object for the server's life: ACL LOAD copies into it).
    pub default: Arc<User>,
    pub log: log::AclLog,
    /// `acl-pubsub-default allchannels`.
    pub pubsub_all: AtomicBool,
    /// The requirepass value last given to the default user.
    requirepass_applied: Mutex<Option<Option<String>>>,
}

impl Default for Acl {
    fn default() -> Self {
        let mut st = UserState::new(true);
        rules::apply_default(&mut st);
        let default = Arc::new(User::new("default", st));
        let mut users = BTreeMap::new();
        users.insert("default".to_string(), default.clone());
        Acl {
            users: RwLock::new(users),
            default,
            log: Default::default(),
            pubsub_all: AtomicBool::new(false),
            requirepass_applied: Mutex::new(None),
        }
    }
}

impl Acl {
    pub fn get(&self, name: &[u8]) -> Option<Arc<User>> {
        let name = std::str::from_utf8(name).ok()?;
        self.users.read().get(name).cloned()
    }

    /// `requirepass` is the default user's password, as Redis: a new value (at start or
    /// CONFIG SET) replaces its passwords; an empty one makes it `nopass`.
    pub fn apply_requirepass(&self, pass: &Option<String>) {
        let mut last = self.requirepass_applied.lock();
        if last.as_ref() == Some(pass) {
            return;
        }
        *last = Some(pass.clone());
        let mut st = self.default.st.read().clone();
        st.passwords.clear();
        match pass {
            Some(p) if !p.is_empty() => {
                st.nopass = false;
                st.passwords.push(hash_password(p.as_bytes()));
            }
            _ => st.nopass = true,
        }
        self.default.set_state(st);
    }
}

/// Why a command was refused (Redis's ACL_DENIED_*; the order picks the error to report).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Denied {
    Cmd = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

impl Denied {
    pub fn reason(self) -> &'static str {
        match self {
            Denied::Cmd => "command",
            Denied::Key => "key",
            Denied::Auth => "auth",
            Denied::Channel => "channel",
        }
    }
}

/// The keys of a command with the access each needs: (argument position, access bits).
pub fn keys_of(id: u32, spec: &Spec, args: &Args<'_>, out: &mut Vec<(usize, u8)>) {
    let info = &cmds().list[id as usize];
    let argc = args.len();
    match spec.name {
        // Redis's setGetKeys: GET makes it a read too.
        "set" => {
            let get = (3..argc).any(|i| args.get(i).eq_ignore_ascii_case(b"get"));
            out.push((1, if get { KEY_READ | KEY_WRITE } else { KEY_WRITE }));
            return;
        }
        // bitfieldGetKeys: only GETs is a read; any SET/INCRBY needs both.
        "bitfield" => {
            let mut ro = true;
            let mut i = 2;
            while i < argc {
                let a = args.get(i);
                let rem = argc - i - 1;
                if a.eq_ignore_ascii_case(b"get") && rem >= 2 {
                    i += 3;
                } else if (a.eq_ignore_ascii_case(b"set") || a.eq_ignore_ascii_case(b"incrby"))
                    && rem >= 3
                {
                    ro = false;
                    i += 4;
                } else if a.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
                    i += 2;
                } else {
                    break;
                }
            }
            if argc > 1 {
                out.push((1, if ro { KEY_READ } else { KEY_READ | KEY_WRITE }));
            }
            return;
        }
        "migrate" => {
            let rw = KEY_READ | KEY_WRITE;
            let mut i = 6;
            let mut keys_at = None;
            while i < argc {
                let a = args.get(i);
                if a.eq_ignore_ascii_case(b"auth") {
                    i += 2;
                } else if a.eq_ignore_ascii_case(b"auth2") {
                    i += 3;
                } else if a.eq_ignore_ascii_case(b"keys") {
                    keys_at = Some(i + 1);
                    break;
                } else {
                    i += 1;
                }
            }
            match keys_at {
                Some(k) if argc > 3 && args.get(3).is_empty() => {
                    out.extend((k..argc).map(|p| (p, rw)));
                }
                _ if argc > 3 => out.push((3, rw)),
                _ => {}
            }
            return;
        }
        _ => {}
    }
    // Keys found in the arguments (SORT's STORE, GEORADIUS's STORE/STOREDIST): Redis's key
    // specs say where they are and how each is used.
    if spec.extra_key.is_some()
        && let Some(rc) = crate::introspect::redis_command(spec.name)
    {
        use crate::introspect::keyspec as ks;
        for (p, f) in ks::keys_with_flags(rc.name, rc.key_specs, rc.arity, args) {
            let mut access = 0;
            if f & ks::ACCESS != 0 {
                access |= KEY_READ;
            }
            if f & (ks::INSERT | ks::DELETE | ks::UPDATE) != 0 {
                access |= KEY_WRITE;
            }
            out.push((p, access));
        }
        return;
    }
    // A key count past the arguments names no key (Redis's keynum key spec).
    let counted = spec.numkeys.and_then(|i| {
        let n = shoal_resp::parse_i64(args.get(i)).filter(|n| *n > 0)? as usize;
        n.checked_add(i + 1)
            .filter(|end| *end <= argc)
            .map(|end| i + 1..end)
    });
    for p in spec.key_positions(argc).chain(counted.unwrap_or(0..0)) {
        let access = access_at(info.keyspecs, p, spec);
        if access & NOT_KEY == 0 {
            out.push((p, access));
        }
    }
}

/// The access of the key at argument `p`, from the command's key specs.
fn access_at(specs: &[(i16, u8)], p: usize, spec: &Spec) -> u8 {
    if specs.is_empty() {
        return if spec.has(crate::spec::flags::READONLY) {
            KEY_READ
        } else {
            KEY_READ | KEY_WRITE
        };
    }
    if let Some((_, a)) = specs.iter().find(|(b, _)| *b as i64 == p as i64) {
        return *a;
    }
    if specs.iter().all(|(b, _)| *b >= 0)
        && let Some((_, a)) = specs
            .iter()
            .filter(|(b, _)| (*b as i64) <= p as i64)
            .max_by_key(|(b, _)| *b)
    {
        return *a;
    }
    if specs.iter().all(|(_, a)| a & NOT_KEY != 0) {
        return NOT_KEY;
    }
    specs
        .iter()
        .filter(|(_, a)| a & NOT_KEY == 0)
        .fold(0, |acc, (_, a)| acc | a)
}

/// The channels a command names: (argument position, is a pattern). Unsubscribes are not
/// checked, as in Redis.
fn channels_of(spec: &Spec, argc: usize) -> (std::ops::Range<usize>, bool) {
    match spec.name {
        "publish" | "spublish" => (1..2.min(argc), false),
        "subscribe" | "ssubscribe" => (1..argc, false),
        "psubscribe" => (1..argc, true),
        _ => (0..0, false),
    }
}

/// A key pattern against a key. `prefix*` with a literal prefix, the usual shape of ACL key
/// patterns (`~app:*`), is a prefix compare instead of a glob walk over the whole key.
#[inline]
fn key_pattern_match(pat: &[u8], key: &[u8]) -> bool {
    if let Some((b'*', lit)) = pat.split_last()
        && !lit.iter().any(|c| matches!(c, b'*' | b'?' | b'[' | b'\\'))
    {
        return key.starts_with(lit);
    }
    shoal_store::glob::glob_match(pat, key, false)
}

fn check_selector(
    sel: &Selector,
    id: u32,
    args: &Args<'_>,
    keys: &mut Option<Vec<(usize, u8)>>,
    spec: &Spec,
) -> Result<(), (Denied, usize)> {
    let c = cmds();
    let info = &c.list[id as usize];
    if sel.flags & SEL_ALLCOMMANDS == 0 && !info.no_auth && !sel.bit(id) {
        let argi = if info.is_sub { 2 } else { 1 };
        let ok = args.len() > argi
            && sel.firstargs.iter().any(|(i, v)| {
                *i == id
                    && v.iter()
                        .any(|a| a.as_bytes().eq_ignore_ascii_case(args.get(argi)))
            });
        if !ok {
            return Err((Denied::Cmd, 0));
        }
    }
    if sel.flags & SEL_ALLKEYS == 0 {
        let keys = keys.get_or_insert_with(|| {
            let mut v = Vec::new();
            keys_of(id, spec, args, &mut v);
            v
        });
        for &(p, need) in keys.iter() {
            let key = args.get(p);
            let ok = sel
                .patterns
                .iter()
                .any(|(acc, pat)| acc & need == need && key_pattern_match(pat, key));
            if !ok {
                return Err((Denied::Key, p));
            }
        }
    }
    if sel.flags & SEL_ALLCHANNELS == 0 {
        let (range, pattern) = channels_of(spec, args.len());
        for p in range {
            let ch = args.get(p);
            let ok = sel.channels.iter().any(|pat| {
                if pattern {
                    pat.as_slice() == ch
                } else {
                    shoal_store::glob::glob_match(pat, ch, false)
                }
            });
            if !ok {
                return Err((Denied::Channel, p));
            }
        }
    }
    Ok(())
}

/// Whether `user` may run this command with these arguments; else why, and the argument at
/// fault (Redis's ACLCheckAllUserCommandPerm: the worst error over all selectors).
pub fn check(
    user: &User,
    spec_idx: usize,
    spec: &Spec,
    args: &Args<'_>,
) -> Result<(), (Denied, usize)> {
    let id = cmds().id_of(spec_idx, spec, args);
    let st = user.st.read();
    let mut worst = (Denied::Cmd, 0usize);
    let mut keys = None;
    for sel in &st.selectors {
        match check_selector(sel, id, args, &mut keys, spec) {
            Ok(()) => return Ok(()),
            Err(e) => {
                if e.0 > worst.0 || (e.0 == worst.0 && e.1 > worst.1) {
                    worst = e;
                }
            }
        }
    }
    Err(worst)
}

/// The full name (`client|list`) a command runs under, for errors and the log.
pub fn fullname(spec_idx: usize, spec: &Spec, args: &Args<'_>) -> &'static str {
    let c = cmds();
    &c.list[c.id_of(spec_idx, spec, args) as usize].fullname
}

/// Context of a refused command, for ACL LOG.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

/// The error a refused command gets at top level (Redis 7.0's processCommand).
pub fn denied_error(d: Denied, name: &str) -> String {
    match d {
        Denied::Cmd => {
            format!("NOPERM this user has no permissions to run the '{name}' command")
        }
        Denied::Key => {
            "NOPERM this user has no permissions to access one of the keys used as arguments".into()
        }
        Denied::Channel => {
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .into()
        }
        Denied::Auth => "NOPERM".into(),
    }
}

/// Why EXEC refuses a queued command after the rules changed.
pub fn exec_denied_reason(d: Denied) -> &'static str {
    match d {
        Denied::Cmd => "no permission to execute the command or subcommand",
        Denied::Key => "no permission to touch the specified keys",
        Denied::Channel => "no permission to access one of the channels used as arguments",
        Denied::Auth => "no permission",
    }
}

/// The error a script's refused command raises (Redis 7.0's scriptCall).
pub fn script_denied_error(d: Denied) -> &'static str {
    match d {
        Denied::Cmd => "ERR The user executing the script can't run this command or subcommand",
        Denied::Key => {
            "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"
        }
        Denied::Channel => {
            "ERR The user executing the script can't publish to the channel mentioned in the command"
        }
        Denied::Auth => {
            "ERR The user executing the script is lacking the permissions for the command"
        }
    }
}

/// Checks a command for a client, logging a refusal; `Ok` for an all-permissive user without
/// looking further.
#[inline]
pub fn check_client(
    shared: &crate::ctx::Shared,
    client: &crate::ctx::Client,
    spec_idx: usize,
    spec: &Spec,
    args: &Args<'_>,
    ctx: Option<Context>,
) -> Result<(), (Denied, String)> {
    let user = client.user.as_deref().unwrap_or(&shared.acl.default);
    if user.open() || client.is_master {
        return Ok(());
    }
    let ctx = ctx.unwrap_or(if client.multi.is_some() {
        Context::Multi
    } else {
        Context::Toplevel
    });
    check_slow(shared, client, user, spec_idx, spec, args, ctx)
}

/// Out of line so that the all-permissive path above stays small; not `#[cold]`: it is every
/// command's path for a restricted user.
#[inline(never)]
fn check_slow(
    shared: &crate::ctx::Shared,
    client: &crate::ctx::Client,
    user: &User,
    spec_idx: usize,
    spec: &Spec,
    args: &Args<'_>,
    ctx: Context,
) -> Result<(), (Denied, String)> {
    match check(user, spec_idx, spec, args) {
        Ok(()) => Ok(()),
        Err((d, pos)) => {
            let name = fullname(spec_idx, spec, args);
            if unknown_subcommand(spec, args) {
                // Not a denial in Redis (the lookup fails first): the caller says so, unlogged.
                return Err((d, name.to_string()));
            }
            let object = if d == Denied::Cmd {
                name.to_string()
            } else {
                String::from_utf8_lossy(args.get(pos)).into_owned()
            };
            shared.acl.log.add(
                d,
                ctx,
                &object,
                &user.name,
                crate::families::connection::client_info_line(&client.info),
                shared.config.read().acllog_max_len,
            );
            Err((d, name.to_string()))
        }
    }
}

/// A container command whose subcommand does not exist (Redis's command lookup fails on it
/// before any ACL check). Only containers Redis has as such: DEBUG's first argument is a plain
/// argument there (`+debug|object` and a NOPERM for DEBUG SEGFAULT).
pub fn unknown_subcommand(spec: &Spec, args: &Args<'_>) -> bool {
    args.len() >= 2 && spec.sub_index(args).is_none() && crate::introspect::is_container(spec)
}

pub fn user_name(shared: &crate::ctx::Shared, client: &crate::ctx::Client) -> String {
    client
        .user
        .as_deref()
        .unwrap_or(&shared.acl.default)
        .name
        .clone()
}

/// Sets a connection's user (AUTH, HELLO AUTH).
pub fn login(client: &mut crate::ctx::Client, user: Arc<User>) {
    let u = (user.name != "default").then_some(user);
    *client.info.user.lock() = u.clone();
    client.user = u;
    client.authenticated = true;
}

thread_local! {
    /// The user of the script running on this thread (redis.acl_check_cmd).
    static SCRIPT_USER: std::cell::RefCell<Option<Arc<User>>> = const { std::cell::RefCell::new(None) };
}

pub fn set_script_user(u: Arc<User>) {
    SCRIPT_USER.with(|s| *s.borrow_mut() = Some(u));
}

/// redis.acl_check_cmd: whether the script's user may run this command.
pub fn script_user_allows(idx: usize, spec: &Spec, args: &Args<'_>) -> bool {
    SCRIPT_USER.with(|s| match s.borrow().as_ref() {
        Some(u) => u.open() || check(u, idx, spec, args).is_ok(),
        None => true,
    })
}

/// The metrics port's check (`metrics-auth yes`): an `Authorization: Basic` header naming an
/// ACL user and one of its passwords; without one, only if the default user needs none.
pub fn http_authorized(acl: &Acl, request_head: &str) -> bool {
    let basic = request_head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        if !name.trim().eq_ignore_ascii_case("authorization") {
            return None;
        }
        let value = value.trim();
        let (scheme, cred) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("basic")
            .then(|| base64_decode(cred.trim()))
            .flatten()
    });
    match basic {
        Some(cred) => {
            let Some(colon) = cred.iter().position(|&c| c == b':') else {
                return false;
            };
            acl.get(&cred[..colon])
                .is_some_and(|u| u.check_password(&cred[colon + 1..]))
        }
        None => acl.default.no_auth_needed(),
    }
}

/// Standard base64 (with or without padding); `None` on anything else.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().take_while(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::rules::*;
    use super::*;

    #[test]
    fn key_patterns_match_as_globs_with_a_prefix_fast_path() {
        for (pat, key, want) in [
            ("key:*", "key:1", true),
            ("key:*", "key:", true),
            ("key:*", "ke", false),
            ("key:*", "akey:1", false),
            ("*", "", true),
            ("a?:*", "ab:1", true),
            ("a?:*", "a:1", false),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
            ("[ab]:*", "b:x", true),
            ("[ab]:*", "c:x", false),
            ("k*y", "kxxy", true),
            ("k*y", "kxx", false),
        ] {
            assert_eq!(
                key_pattern_match(pat.as_bytes(), key.as_bytes()),
                want,
                "{pat} against {key}"
            );
            assert_eq!(
                shoal_store::glob::glob_match(pat.as_bytes(), key.as_bytes(), false),
                want,
                "glob {pat} against {key}"
            );
        }
    }

    fn user(ops: &[&str]) -> UserState {
        let mut st = UserState::new(false);
        for op in ops {
            set_user(&mut st, op.as_bytes(), false).unwrap();
        }
        st
    }

    fn allowed(st: &UserState, argv: &[&str]) -> Result<(), (Denied, usize)> {
        let owned = shoal_resp::OwnedArgs::from_parts(argv.iter());
        let args = owned.args();
        let (idx, spec) = table().lookup(args.get(0)).unwrap();
        check(&User::new("t", st.clone()), idx, spec, &args)
    }

    #[test]
    fn describes_users_as_redis() {
        let st = user(&["on", "nopass", "~*", "&*", "+@all"]);
        assert_eq!(describe_user(&st), "on nopass ~* &* +@all");
        assert!(st.open());
        let st = user(&["reset"]);
        assert_eq!(
            describe_user(&st),
            "off sanitize-payload resetchannels -@all"
        );
        let st = user(&["+@all", "-client", "+client|id"]);
        assert_eq!(
            describe_commands(&st.selectors[0]),
            "+@all -client +client|id"
        );
        let st = user(&["+select|0", "+select|1"]);
        assert_eq!(
            describe_commands(&st.selectors[0]),
            "-@all +select|0 +select|1"
        );
        let st = user(&["%R~foo", "%W~foo", "%RW~bar", "%R~r"]);
        assert_eq!(describe_keys(&st.selectors[0]), "~foo ~bar %R~r");
        let st = user(&["(~x* +get)"]);
        assert_eq!(
            describe_user(&st),
            "off resetchannels -@all (~x* resetchannels -@all +get)"
        );
    }

    #[test]
    fn rule_errors() {
        let mut st = UserState::new(false);
        for (op, e) in [
            ("+nosuch", RuleError::Unknown),
            ("+@nosuch", RuleError::Unknown),
            ("%X~x", RuleError::Syntax),
            ("%~x", RuleError::Syntax),
            ("~a b", RuleError::Syntax),
            ("#abc", RuleError::BadHash),
            ("<nope", RuleError::NoSuchPassword),
            ("+client|id|x", RuleError::SubFirstArg),
            ("+get|x|y", RuleError::Unknown),
            ("bogus", RuleError::Syntax),
        ] {
            assert_eq!(set_user(&mut st, op.as_bytes(), false), Err(e), "{op}");
        }
        set_user(&mut st, b"~*", false).unwrap();
        assert_eq!(
            set_user(&mut st, b"~x", false),
            Err(RuleError::KeysAfterAll)
        );
        set_user(&mut st, b"&*", false).unwrap();
        assert_eq!(
            set_user(&mut st, b"&x", false),
            Err(RuleError::ChannelsAfterAll)
        );
        assert_eq!(
            merge_selectors(&[b"(~x", b"+get"]).unwrap_err(),
            "ERR Unmatched parenthesis in acl selector starting at '(~x +get'."
        );
        assert_eq!(
            merge_selectors(&[b"(~x", b"+get)", b"on"]).unwrap(),
            vec![b"(~x +get)".to_vec(), b"on".to_vec()]
        );
    }

    #[test]
    fn checks_commands_keys_and_channels() {
        let st = user(&["on", "~foo*", "%R~r*", "%W~w*", "&ch*", "+@all"]);
        assert!(!st.open());
        assert_eq!(allowed(&st, &["get", "foo1"]), Ok(()));
        assert_eq!(allowed(&st, &["get", "bar"]), Err((Denied::Key, 1)));
        assert_eq!(allowed(&st, &["set", "r1", "v"]), Err((Denied::Key, 1)));
        assert_eq!(allowed(&st, &["set", "w1", "v"]), Ok(()));
        assert_eq!(
            allowed(&st, &["set", "w1", "v", "GET"]),
            Err((Denied::Key, 1))
        );
        assert_eq!(
            allowed(&st, &["mget", "foo", "r1", "x"]),
            Err((Denied::Key, 3))
        );
        assert_eq!(allowed(&st, &["copy", "r1", "w1"]), Ok(()));
        assert_eq!(allowed(&st, &["copy", "w1", "r1"]), Err((Denied::Key, 1)));
        assert_eq!(allowed(&st, &["publish", "ch1", "m"]), Ok(()));
        assert_eq!(
            allowed(&st, &["publish", "x", "m"]),
            Err((Denied::Channel, 1))
        );
        assert_eq!(allowed(&st, &["psubscribe", "ch*"]), Ok(()));
        assert_eq!(
            allowed(&st, &["psubscribe", "ch1"]),
            Err((Denied::Channel, 1))
        );
        assert_eq!(allowed(&st, &["unsubscribe", "x"]), Ok(()));
        assert_eq!(allowed(&st, &["eval", "", "3", "foo", "x"]), Ok(()));
        assert_eq!(
            allowed(&st, &["eval", "", "1", "r1"]),
            Err((Denied::Key, 3))
        );
        let st = user(&["-@all", "+get", "+client|id", "+select|0"]);
        assert_eq!(allowed(&st, &["set", "a", "b"]), Err((Denied::Cmd, 0)));
        assert_eq!(allowed(&st, &["client", "id"]), Ok(()));
        assert_eq!(allowed(&st, &["client", "list"]), Err((Denied::Cmd, 0)));
        assert_eq!(allowed(&st, &["select", "0"]), Ok(()));
        assert_eq!(allowed(&st, &["select", "1"]), Err((Denied::Cmd, 0)));
        // AUTH and HELLO need no permission.
        assert_eq!(allowed(&st, &["auth", "a", "b"]), Ok(()));
        // Selectors: the worst error over all of them.
        let st = user(&["+mget", "~key", "(+mget ~key ~otherkey)"]);
        assert_eq!(
            allowed(&st, &["mget", "otherkey", "x"]),
            Err((Denied::Key, 2))
        );
        assert_eq!(allowed(&st, &["mget", "key", "otherkey"]), Ok(()));
    }

    #[test]
    fn passwords_and_http_credentials() {
        let acl = Acl::default();
        assert!(acl.default.no_auth_needed());
        acl.apply_requirepass(&Some("pw".into()));
        assert!(!acl.default.no_auth_needed());
        assert!(acl.default.check_password(b"pw"));
        assert!(!acl.default.check_password(b"pw2"));
        assert_eq!(base64_decode("ZGVmYXVsdDpwdw==").unwrap(), b"default:pw");
        assert_eq!(base64_decode("ZGVmYXVsdDpwdw").unwrap(), b"default:pw");
        assert!(base64_decode("!!").is_none());
        assert!(http_authorized(
            &acl,
            "GET / HTTP/1.1\r\nAuthorization: Basic ZGVmYXVsdDpwdw==\r\n"
        ));
        assert!(!http_authorized(&acl, "GET / HTTP/1.1\r\n"));
        assert_eq!(
            hash_password(b"passwd4"),
            "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"
        );
    }
}

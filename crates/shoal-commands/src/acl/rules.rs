//! ACL rules: parsing `ACL SETUSER` / `user` directive rules into a user, and describing a
//! user back as rules (ACL LIST, GETUSER, SAVE), as Redis 7.0's ACLSetUser / ACLDescribeUser.

use super::{
    CATEGORIES, KEY_READ, KEY_WRITE, SEL_ALLCHANNELS, SEL_ALLCOMMANDS, SEL_ALLKEYS, SEL_ROOT,
    Selector, UserState, category_bit, cmds, hash_password,
};

/// Why a rule was refused (Redis's errno cases in ACLSetUserStringError).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleError {
    Unknown,
    Syntax,
    KeysAfterAll,
    ChannelsAfterAll,
    NoSuchPassword,
    BadHash,
    SubFirstArg,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeysAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleError::ChannelsAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
            }
            RuleError::NoSuchPassword => {
                "The password you are trying to remove from the user does not exist"
            }
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
            }
            RuleError::SubFirstArg => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&c| c.is_ascii_whitespace() || c == 0 || c == 0x0b)
}

/// The default user's rules at start.
pub fn apply_default(st: &mut UserState) {
    for op in ["+@all", "~*", "&*", "on", "nopass"] {
        let _ = set_user(st, op.as_bytes(), true);
    }
}

/// Applies one rule to a selector.
pub fn set_selector(sel: &mut Selector, op: &[u8]) -> Result<(), RuleError> {
    let lower = op.to_ascii_lowercase();
    let c = cmds();
    match lower.as_slice() {
        b"allkeys" | b"~*" => {
            sel.flags |= SEL_ALLKEYS;
            sel.patterns.clear();
            return Ok(());
        }
        b"resetkeys" => {
            sel.flags &= !SEL_ALLKEYS;
            sel.patterns.clear();
            return Ok(());
        }
        b"allchannels" | b"&*" => {
            sel.flags |= SEL_ALLCHANNELS;
            sel.channels.clear();
            return Ok(());
        }
        b"resetchannels" => {
            sel.flags &= !SEL_ALLCHANNELS;
            sel.channels.clear();
            return Ok(());
        }
        b"allcommands" | b"+@all" => {
            sel.flags |= SEL_ALLCOMMANDS;
            sel.bits.iter_mut().for_each(|w| *w = u64::MAX);
            sel.firstargs.clear();
            return Ok(());
        }
        b"nocommands" | b"-@all" => {
            sel.flags &= !SEL_ALLCOMMANDS;
            sel.bits.iter_mut().for_each(|w| *w = 0);
            sel.firstargs.clear();
            return Ok(());
        }
        _ => {}
    }
    match op.first() {
        Some(b'~') | Some(b'%') => {
            if sel.flags & SEL_ALLKEYS != 0 {
                return Err(RuleError::KeysAfterAll);
            }
            let mut access = 0u8;
            let mut off = 1;
            if op[0] == b'%' {
                loop {
                    match op.get(off).map(|c| c.to_ascii_uppercase()) {
                        Some(b'R') if access & KEY_READ == 0 => access |= KEY_READ,
                        Some(b'W') if access & KEY_WRITE == 0 => access |= KEY_WRITE,
                        Some(b'~') => {
                            off += 1;
                            break;
                        }
                        None => break,
                        _ => return Err(RuleError::Syntax),
                    }
                    off += 1;
                }
                if access == 0 {
                    return Err(RuleError::Syntax);
                }
            } else {
                access = KEY_READ | KEY_WRITE;
            }
            let pat = &op[off.min(op.len())..];
            if pat == b"*" && access == KEY_READ | KEY_WRITE {
                sel.flags |= SEL_ALLKEYS;
                sel.patterns.clear();
            } else if has_spaces(pat) {
                return Err(RuleError::Syntax);
            } else if let Some(p) = sel.patterns.iter_mut().find(|(_, p)| p == pat) {
                p.0 |= access;
            } else {
                sel.patterns.push((access, pat.to_vec()));
            }
            Ok(())
        }
        Some(b'&') => {
            if sel.flags & SEL_ALLCHANNELS != 0 {
                return Err(RuleError::ChannelsAfterAll);
            }
            let pat = &op[1..];
            if pat == b"*" {
                sel.flags |= SEL_ALLCHANNELS;
                sel.channels.clear();
            } else if has_spaces(pat) {
                return Err(RuleError::Syntax);
            } else if !sel.channels.iter().any(|p| p == pat) {
                sel.channels.push(pat.to_vec());
            }
            Ok(())
        }
        Some(b'+') | Some(b'-') if op.get(1) == Some(&b'@') => {
            let name = std::str::from_utf8(&op[2..]).map_err(|_| RuleError::Unknown)?;
            let bit = category_bit(name).ok_or(RuleError::Unknown)?;
            sel.set_category(bit, op[0] == b'+');
            Ok(())
        }
        Some(b'+') => {
            let name = std::str::from_utf8(&op[1..]).map_err(|_| RuleError::Unknown)?;
            match name.rfind('|') {
                None => {
                    let id = c.lookup(name).ok_or(RuleError::Unknown)?;
                    sel.change_perm(id, true);
                }
                Some(bar) => {
                    let (cmd, sub) = (&name[..bar], &name[bar + 1..]);
                    let id = c.lookup(cmd).ok_or(RuleError::Unknown)?;
                    let info = &c.list[id as usize];
                    if info.is_sub {
                        return Err(RuleError::SubFirstArg);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !info.subs.is_empty() {
                        let sid = c.lookup(name).ok_or(RuleError::Unknown)?;
                        sel.change_perm(sid, true);
                    } else {
                        let sub = sub.to_string();
                        match sel.firstargs.iter_mut().find(|(i, _)| *i == id) {
                            Some((_, v)) => {
                                if !v.iter().any(|a| a.eq_ignore_ascii_case(&sub)) {
                                    v.push(sub);
                                }
                            }
                            None => sel.firstargs.push((id, vec![sub])),
                        }
                    }
                }
            }
            Ok(())
        }
        Some(b'-') => {
            let name = std::str::from_utf8(&op[1..]).map_err(|_| RuleError::Unknown)?;
            let id = c.lookup(name).ok_or(RuleError::Unknown)?;
            sel.change_perm(id, false);
            Ok(())
        }
        _ => Err(RuleError::Syntax),
    }
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64 && h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Applies one rule to a user. `pubsub_all`: `acl-pubsub-default allchannels`.
pub fn set_user(st: &mut UserState, op: &[u8], pubsub_all: bool) -> Result<(), RuleError> {
    let lower = op.to_ascii_lowercase();
    match lower.as_slice() {
        b"on" => st.enabled = true,
        b"off" => st.enabled = false,
        b"skip-sanitize-payload" => st.sanitize = 2,
        b"sanitize-payload" => st.sanitize = 1,
        b"nopass" => {
            st.nopass = true;
            st.passwords.clear();
        }
        b"resetpass" => {
            st.nopass = false;
            st.passwords.clear();
        }
        b"clearselectors" => st.selectors.truncate(1),
        b"reset" => {
            for r in ["resetpass", "resetkeys", "resetchannels"] {
                set_user(st, r.as_bytes(), pubsub_all)?;
            }
            if pubsub_all {
                set_user(st, b"allchannels", pubsub_all)?;
            }
            for r in ["off", "sanitize-payload", "clearselectors", "-@all"] {
                set_user(st, r.as_bytes(), pubsub_all)?;
            }
        }
        _ => match op.first() {
            Some(b'>') => {
                let h = hash_password(&op[1..]);
                if !st.passwords.contains(&h) {
                    st.passwords.push(h);
                }
                st.nopass = false;
            }
            Some(b'#') => {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                let h = String::from_utf8_lossy(&op[1..]).into_owned();
                if !st.passwords.contains(&h) {
                    st.passwords.push(h);
                }
                st.nopass = false;
            }
            Some(b'<') => {
                let h = hash_password(&op[1..]);
                let before = st.passwords.len();
                st.passwords.retain(|p| *p != h);
                if st.passwords.len() == before {
                    return Err(RuleError::NoSuchPassword);
                }
            }
            Some(b'!') => {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                let before = st.passwords.len();
                st.passwords.retain(|p| p.as_bytes() != &op[1..]);
                if st.passwords.len() == before {
                    return Err(RuleError::NoSuchPassword);
                }
            }
            Some(b'(') if op.last() == Some(&b')') && op.len() >= 2 => {
                let mut sel = Selector::new(0, pubsub_all);
                for part in op[1..op.len() - 1].split(|&c| c == b' ') {
                    if !part.is_empty() {
                        set_selector(&mut sel, part)?;
                    }
                }
                st.selectors.push(sel);
            }
            _ => set_selector(&mut st.selectors[0], op)?,
        },
    }
    Ok(())
}

/// Joins arguments of a selector written over several words (`(~key1`, `+get)`) into one,
/// as Redis's ACLMergeSelectorArguments; the error names where an unclosed one starts.
pub fn merge_selectors(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut open: Option<Vec<u8>> = None;
    for a in args {
        if let Some(cur) = open.as_mut() {
            cur.push(b' ');
            cur.extend_from_slice(a);
            if a.last() == Some(&b')') {
                out.push(open.take().unwrap_or_default());
            }
        } else if a.first() == Some(&b'(') && a.last() != Some(&b')') {
            open = Some(a.to_vec());
        } else {
            out.push(a.to_vec());
        }
    }
    if let Some(cur) = open {
        return Err(format!(
            "ERR Unmatched parenthesis in acl selector starting at '{}'.",
            String::from_utf8_lossy(&cur)
        ));
    }
    Ok(out)
}

/// The command rules of a selector, as Redis's ACLDescribeSelectorCommandRules: `+@all` or
/// `-@all`, the best-fitting categories, then single commands to make the bitmap exact.
pub fn describe_commands(sel: &Selector) -> String {
    let c = cmds();
    let mut rules = String::new();
    let additive = !sel.bit(c.future_bit());
    let mut fake = Selector::new(0, false);
    if additive {
        rules.push_str("-@all ");
        let _ = set_selector(&mut fake, b"-@all");
    } else {
        rules.push_str("+@all ");
        let _ = set_selector(&mut fake, b"+@all");
    }
    let mut temp = Selector::new(0, false);
    temp.bits.clone_from(&sel.bits);
    let mut applied = [false; CATEGORIES.len()];
    loop {
        let mut best = None;
        let (mut mindiff, mut maxsame) = (u64::MAX, 0u64);
        for (j, _) in CATEGORIES.iter().enumerate() {
            if applied[j] {
                continue;
            }
            let (mut on, mut off) = (0u64, 0u64);
            for (id, info) in c.list.iter().enumerate() {
                if info.cats & (1 << j) != 0 {
                    if temp.bit(id as u32) {
                        on += 1;
                    } else {
                        off += 1;
                    }
                }
            }
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                best = Some(j);
                mindiff = diff;
                maxsame = same;
            }
        }
        let Some(j) = best else { break };
        fake.set_category(1 << j, additive);
        temp.set_category(1 << j, !additive);
        rules.push_str(if additive { "+@" } else { "-@" });
        rules.push_str(CATEGORIES[j]);
        rules.push(' ');
        applied[j] = true;
    }
    for &t in &c.top {
        let one = |id: u32, rules: &mut String, fake: &mut Selector| {
            let (u, f) = (sel.bit(id), fake.bit(id));
            if u != f {
                rules.push(if u { '+' } else { '-' });
                rules.push_str(&c.list[id as usize].fullname);
                rules.push(' ');
                fake.change_perm(id, u);
            }
        };
        one(t, &mut rules, &mut fake);
        for s in c.list[t as usize].subs.clone() {
            one(s, &mut rules, &mut fake);
        }
        if !sel.bit(t)
            && let Some((_, args)) = sel.firstargs.iter().find(|(i, _)| *i == t)
        {
            for a in args {
                rules.push('+');
                rules.push_str(&c.list[t as usize].fullname);
                rules.push('|');
                rules.push_str(a);
                rules.push(' ');
            }
        }
    }
    rules.pop();
    rules
}

fn pattern_text(access: u8, pat: &[u8]) -> String {
    let prefix = match access {
        a if a == KEY_READ | KEY_WRITE => "~",
        KEY_READ => "%R~",
        _ => "%W~",
    };
    format!("{prefix}{}", String::from_utf8_lossy(pat))
}

/// Key patterns as GETUSER shows them.
pub fn describe_keys(sel: &Selector) -> String {
    let mut v: Vec<String> = sel
        .patterns
        .iter()
        .map(|(a, p)| pattern_text(*a, p))
        .collect();
    if sel.flags & SEL_ALLKEYS != 0 {
        v.push("~*".into());
    }
    v.join(" ")
}

/// Channel patterns as GETUSER shows them.
pub fn describe_channels(sel: &Selector) -> String {
    if sel.flags & SEL_ALLCHANNELS != 0 {
        return "&*".into();
    }
    sel.channels
        .iter()
        .map(|c| format!("&{}", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A selector as rules (ACLDescribeSelector).
pub fn describe_selector(sel: &Selector) -> String {
    let mut s = String::new();
    if sel.flags & SEL_ALLKEYS != 0 {
        s.push_str("~* ");
    } else {
        for (a, p) in &sel.patterns {
            s.push_str(&pattern_text(*a, p));
            s.push(' ');
        }
    }
    if sel.flags & SEL_ALLCHANNELS != 0 {
        s.push_str("&* ");
    } else {
        s.push_str("resetchannels ");
        for c in &sel.channels {
            s.push('&');
            s.push_str(&String::from_utf8_lossy(c));
            s.push(' ');
        }
    }
    s.push_str(&describe_commands(sel));
    s
}

/// The user's flags, in Redis's order.
pub fn flag_names(st: &UserState) -> Vec<&'static str> {
    let mut v = vec![if st.enabled { "on" } else { "off" }];
    if st.nopass {
        v.push("nopass");
    }
    match st.sanitize {
        2 => v.push("skip-sanitize-payload"),
        1 => v.push("sanitize-payload"),
        _ => {}
    }
    v
}

/// A user as rules, without `user <name> ` (ACLDescribeUser).
pub fn describe_user(st: &UserState) -> String {
    let mut s = String::new();
    for f in flag_names(st) {
        s.push_str(f);
        s.push(' ');
    }
    for p in &st.passwords {
        s.push('#');
        s.push_str(p);
        s.push(' ');
    }
    for sel in &st.selectors {
        let d = describe_selector(sel);
        if sel.flags & SEL_ROOT != 0 {
            s.push_str(&d);
        } else {
            s.push_str(" (");
            s.push_str(&d);
            s.push(')');
        }
    }
    s
}

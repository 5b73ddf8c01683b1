//! `redis.call` and `redis.pcall`: a script's command, checked as Redis checks a script's
//! commands, then run in-process through the same `run` as a socket's command, its reply
//! parsed back into a Lua value.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use shoal_resp::OwnedArgs;
use shoal_store::ShardId;

use super::Running;
use crate::ctx::Ctx;
use crate::dispatch::{lock_plan, run};
use crate::spec::{Spec, flags, table};

/// What a script declared (`#!lua flags=...`), or nothing (a script without a shebang runs
/// in compatibility mode).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct ScriptFlags {
    pub declared: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot: bool,
}

/// One script run's state, shared by its redis.call/pcall.
pub struct RunState<'c, 'a> {
    pub ctx: &'c mut Ctx<'a>,
    /// The thread's Lua state (redis.call lifts its memory limit while it converts).
    pub lua: mlua::Lua,
    /// EVAL_RO / FCALL_RO, or `no-writes`.
    pub read_only: bool,
    pub flags: ScriptFlags,
    pub running: Arc<Running>,
    /// A shard could not be locked without risking a deadlock and nothing was written yet:
    /// the run is abandoned and starts over holding every shard.
    pub restart: bool,
    /// A write command succeeded.
    pub wrote: bool,
    /// `redis.setresp`: the protocol of the replies the script reads.
    pub resp: u8,
}

/// Key under which an error table carries "already counted in INFO errorstats".
pub const COUNTED: &str = "ignore_error_stats_update";
/// The error a script gets when it must start over (never reaches a client).
pub const RESTART: &str = "ERR shoal: script restarts holding every shard";

/// How long a script that has written waits for a shard it did not declare, below one it
/// holds, before giving up (waiting longer could be a deadlock with a holder of it).
const WRITTEN_WAIT: Duration = Duration::from_millis(500);

/// Lua's `tostring` of a number (`%.14g`).
pub fn format_number(n: f64) -> String {
    fmt_g(n, 14)
}

/// Lua's `tostring` of a number mlua read as an integer (Lua 5.1 numbers are doubles).
pub fn format_integer(n: i64) -> String {
    fmt_g(n as f64, 14)
}

/// C's `printf("%.<prec>g", n)` as glibc prints it (`-nan`, `inf`, `-0`, `1e+20`): how Redis
/// turns a Lua number into a command argument (`%.17g`) or a string (`%.14g`).
pub fn fmt_g(n: f64, prec: usize) -> String {
    let prec = prec.clamp(1, 40);
    if n.is_nan() {
        return if n.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if n.is_infinite() {
        return if n > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if n == 0.0 {
        return if n.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Whole numbers below 1e14 print as integers at any precision from 14 up (the common
    // case: `redis.call('incrby', k, 5)`), without the formatting machinery.
    if prec >= 14 && n.fract() == 0.0 && n.abs() < 1e14 {
        return (n as i64).to_string();
    }
    let sci = format!("{:.*e}", prec - 1, n);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, n)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Checks and runs one command of a script; what `convert` makes of its reply (an error reply
/// included), or an error the script's checks refused it with (and whether INFO already
/// counted it).
pub(super) fn checked_run<R>(
    st: &mut RunState<'_, '_>,
    owned: &OwnedArgs,
    convert: impl FnOnce(&[u8]) -> R,
) -> Result<R, (String, bool)> {
    let args = owned.args();
    let shared = st.ctx.shared;
    // Refusals before the command runs count in INFO once, here (Redis's scriptCall).
    let refuse = |idx: Option<usize>, e: &str| {
        shared.stats.rejected(idx);
        crate::dispatch::count_error(shared, e.as_bytes());
        Err((e.to_string(), true))
    };
    let Some((idx, spec)) = table().lookup(args.get(0)) else {
        return refuse(None, "ERR Unknown Redis command called from script");
    };
    if !spec.subs.is_empty()
        && let Some((idx, e)) = container_refusal(spec, idx, &args)
    {
        return refuse(idx, e);
    }
    if !spec.arity_ok(args.len()) {
        return refuse(
            Some(idx),
            "ERR Wrong number of args calling Redis command from script",
        );
    }
    // XREAD/XREADGROUP run in scripts without BLOCK (they refuse BLOCK themselves, as Redis).
    let blocking = spec.has(flags::BLOCKING) && !matches!(spec.name, "xread" | "xreadgroup");
    if spec.has(flags::NOSCRIPT) || blocking || noscript_sub(spec, &args) {
        return refuse(
            Some(idx),
            "ERR This Redis command is not allowed from script",
        );
    }
    if let Err((d, _)) = crate::acl::check_client(
        shared,
        st.ctx.client,
        idx,
        spec,
        &args,
        Some(crate::acl::Context::Lua),
    ) {
        return refuse(Some(idx), crate::acl::script_denied_error(d));
    }
    let write = spec.has(flags::WRITE);
    if spec.has(flags::WRITE | flags::MAY_REPLICATE) && st.read_only {
        return refuse(
            Some(idx),
            "ERR Write commands are not allowed from read-only scripts.",
        );
    }
    // min-replicas-to-write: a script without flags is refused its first write (a declared
    // one was checked before it started).
    if write && !st.wrote && shared.repl.lacks_good_replicas() {
        return refuse(Some(idx), crate::errors::NOREPLICAS);
    }
    // maxmemory: a script without flags is refused its first write that may allocate.
    if spec.has(flags::DENYOOM)
        && !st.flags.declared
        && !st.wrote
        && !st.ctx.client.is_master
        && crate::memory::over_limit(shared)
        && !crate::memory::make_room(shared, st.ctx.ks.now)
    {
        return refuse(Some(idx), crate::errors::OOM);
    }
    if let Some(cl) = &shared.cluster
        && !st.ctx.client.is_master
    {
        let state = cl.state.read();
        let mine = state.my_primary().map(|n| n.id);
        for p in spec.all_keys(&args) {
            let slot = shoal_cluster::key_slot(args.get(p)).0;
            let here = mine.is_some() && state.owner_id(slot) == mine
                || state.importing.contains_key(&slot);
            if !here {
                return Err((
                    "ERR Script attempted to access a non local key in a cluster node".into(),
                    false,
                ));
            }
        }
    }
    if spec.has(flags::READONLY) && shared.tracking.active() {
        // CLIENT TRACKING: a script that reads tracks the keys it declared (Redis 7.0).
        crate::tracking::script_read();
    }
    lock_for(st, spec, &args)?;
    let resp3 = st.ctx.out.resp3();
    st.ctx.out.set_resp3(st.resp == 3);
    let mark = st.ctx.out.len();
    run(st.ctx, idx, spec, args);
    let converted = convert(&st.ctx.out.buf[mark..]);
    let failed = st.ctx.out.buf.get(mark) == Some(&b'-');
    st.ctx.out.truncate(mark);
    st.ctx.out.set_resp3(resp3);
    if write && !failed {
        st.wrote = true;
        st.running.wrote.store(true, Relaxed);
    }
    Ok(converted)
}

/// Why a script may not run a container command's subcommand, as Redis's lookupCommand and
/// arity check see it: an unknown subcommand is an unknown command (its own error, which
/// would echo the script's bytes, is never sent), and a subcommand has the arity of Redis's
/// `container|sub`.
#[cold]
#[inline(never)]
fn container_refusal(
    spec: &Spec,
    idx: usize,
    args: &shoal_resp::Args<'_>,
) -> Option<(Option<usize>, &'static str)> {
    if crate::acl::unknown_subcommand(spec, args) {
        return Some((None, "ERR Unknown Redis command called from script"));
    }
    let i = spec.sub_index(args)?;
    let full = format!("{}|{}", spec.name, spec.subs[i]);
    let rc = crate::introspect::redis_command(&full)?;
    (!crate::introspect::arity_ok(rc.arity, args.len())).then_some((
        Some(idx),
        "ERR Wrong number of args calling Redis command from script",
    ))
}

/// Subcommands Redis flags `noscript` whose container command is allowed in scripts
/// (the command table here has flags per command only).
fn noscript_sub(spec: &Spec, args: &shoal_resp::Args<'_>) -> bool {
    let sub = (args.len() > 1).then(|| args.get(1).to_ascii_lowercase());
    matches!(
        (spec.name, sub.as_deref()),
        ("cluster", Some(b"reset")) | ("latency", Some(_))
    )
}

/// Holds every shard the command touches before it runs (a script's undeclared keys).
fn lock_for(
    st: &mut RunState<'_, '_>,
    spec: &Spec,
    args: &shoal_resp::Args<'_>,
) -> Result<(), (String, bool)> {
    let shared = st.ctx.shared;
    let store = &shared.store;
    let mut ids: Vec<ShardId> = Vec::new();
    if !lock_plan(shared, st.ctx.client.db, spec, args, &mut ids) {
        ids = store.all_shards().collect();
    }
    if ids.is_empty() {
        return Ok(());
    }
    ids.sort_unstable();
    ids.dedup();
    super::learn::note(&ids);
    let wait = if st.wrote {
        WRITTEN_WAIT
    } else {
        Duration::ZERO
    };
    for id in ids {
        if !st.ctx.ks.locks.extend(store, id, wait) {
            if !st.wrote {
                st.restart = true;
                return Err((RESTART.into(), true));
            }
            return Err((
                "ERR shoal: a script that already wrote reached a key it did not declare while another client held its shard; declare every key the script uses".into(),
                false,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fmt_g;

    #[test]
    fn numbers_print_as_c_printf_g() {
        let g17 = |n: f64| fmt_g(n, 17);
        assert_eq!(g17(100.5), "100.5");
        assert_eq!(g17(0.1), "0.10000000000000001");
        assert_eq!(g17(9007199254740991.0), "9007199254740991");
        assert_eq!(g17(1e20), "1e+20");
        assert_eq!(g17(1e-5), "1.0000000000000001e-05");
        assert_eq!(g17(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(g17(3.0), "3");
        assert_eq!(g17(2.5e-3), "0.0025000000000000001");
        assert_eq!(g17(-0.0), "-0");
        assert_eq!(g17(f64::INFINITY), "inf");
        assert_eq!(g17(f64::NEG_INFINITY), "-inf");
        assert_eq!(g17(-f64::NAN), "-nan");
        let g14 = |n: f64| fmt_g(n, 14);
        assert_eq!(g14(1.0 / 3.0), "0.33333333333333");
        assert_eq!(g14(1e15), "1e+15");
        assert_eq!(g14(1e14), "1e+14");
        assert_eq!(g14(12345678901234.0), "12345678901234");
        assert_eq!(g14(0.0001), "0.0001");
        assert_eq!(g14(0.00001), "1e-05");
        assert_eq!(g14(-2.5), "-2.5");
    }
}

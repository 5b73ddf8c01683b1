//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.
//!
//! Confirmations are push messages (`>3` in RESP3): sent even under CLIENT REPLY OFF, as Redis.
//! In cluster mode PUBLISH also goes to every other node over the bus, and SPUBLISH to the
//! nodes serving the channel's slot.

use std::sync::atomic::Ordering::Relaxed;

use shoal_resp::Args;

use crate::ctx::Ctx;
use crate::errors::{self, CmdResult};
use crate::pubsub::Kind;
use crate::spec::{Group, Locking, Spec, cmd, flags::*};
use crate::util::eq_ic;

/// Writes one confirmation: `[kind, name, count]` (`name` nil when there was nothing).
fn confirm(ctx: &mut Ctx<'_>, what: &[u8], name: Option<&[u8]>, count: usize) {
    let out = &mut *ctx.out;
    out.push(3);
    out.bulk(what);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

/// Publishes the client's counts for CLIENT LIST.
fn publish_counts(ctx: &mut Ctx<'_>) {
    let info = &ctx.client.info;
    let s = info.mailbox.sets.lock();
    info.sub.store(s.channels.len(), Relaxed);
    info.psub.store(s.patterns.len(), Relaxed);
    info.ssub.store(s.shard.len(), Relaxed);
}

fn subscribe_kind(ctx: &mut Ctx<'_>, a: Args<'_>, kind: Kind) -> CmdResult {
    ctx.client.push = true;
    let mb = ctx.client.info.clone();
    // Messages already waiting go out ahead of the confirmation.
    mb.mailbox.drain_into(&mut ctx.out.buf);
    let what = kind.names().0;
    for name in a.iter().skip(1) {
        let count = ctx.shared.pubsub.subscribe(kind, name, &mb);
        confirm(ctx, what, Some(name), count);
    }
    ctx.client.keep_reply = true;
    publish_counts(ctx);
    Ok(())
}

fn unsubscribe_kind(ctx: &mut Ctx<'_>, a: Args<'_>, kind: Kind) -> CmdResult {
    let what = kind.names().1;
    ctx.client.keep_reply = true;
    let Some(mb) = ctx.client.in_pubsub().then(|| ctx.client.info.clone()) else {
        // Not subscribed to anything: one confirmation per name, or one with nil.
        if a.len() == 1 {
            confirm(ctx, what, None, 0);
        }
        for name in a.iter().skip(1) {
            confirm(ctx, what, Some(name), 0);
        }
        return Ok(());
    };
    mb.mailbox.drain_into(&mut ctx.out.buf);
    let names: Vec<Box<[u8]>> = if a.len() == 1 {
        ctx.shared.pubsub.subscribed(kind, &mb)
    } else {
        a.iter().skip(1).map(Box::from).collect()
    };
    if names.is_empty() {
        let count = mb.mailbox.sets.lock().count(kind);
        confirm(ctx, what, None, count);
    }
    for name in &names {
        let count = ctx.shared.pubsub.unsubscribe(kind, name, &mb);
        confirm(ctx, what, Some(name), count);
    }
    publish_counts(ctx);
    if !ctx.client.in_pubsub() {
        // Out of pub/sub mode; messages that raced in are still delivered first.
        mb.mailbox.drain_into(&mut ctx.out.buf);
    }
    Ok(())
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    subscribe_kind(ctx, a, Kind::Channel)
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    subscribe_kind(ctx, a, Kind::Pattern)
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    subscribe_kind(ctx, a, Kind::Shard)
}

/// UNSUBSCRIBE [channel ...]
fn unsubscribe(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    unsubscribe_kind(ctx, a, Kind::Channel)
}

/// PUNSUBSCRIBE [pattern ...]
fn punsubscribe(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    unsubscribe_kind(ctx, a, Kind::Pattern)
}

/// SUNSUBSCRIBE [shardchannel ...]
fn sunsubscribe(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    unsubscribe_kind(ctx, a, Kind::Shard)
}

/// PUBLISH channel message
fn publish(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (channel, msg) = (a.get(1), a.get(2));
    let me = ctx.client.push.then_some(ctx.client.id);
    let n = ctx
        .shared
        .pubsub
        .publish(channel, msg, me.map(|id| (id, &mut *ctx.out)));
    if let Some(cl) = &ctx.shared.cluster {
        cl.publish(false, channel, msg);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// SPUBLISH shardchannel message
fn spublish(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let (channel, msg) = (a.get(1), a.get(2));
    let me = ctx.client.push.then_some(ctx.client.id);
    let n = ctx
        .shared
        .pubsub
        .spublish(channel, msg, me.map(|id| (id, &mut *ctx.out)));
    if let Some(cl) = &ctx.shared.cluster {
        cl.publish(true, channel, msg);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB|HELP
fn pubsub(ctx: &mut Ctx<'_>, a: Args<'_>) -> CmdResult {
    let sub = a.get(1);
    let ps = &ctx.shared.pubsub;
    let arity = |name: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(errors::arity(&format!("pubsub|{name}")))
        }
    };
    if eq_ic(sub, "channels") || eq_ic(sub, "shardchannels") {
        let shard = eq_ic(sub, "shardchannels");
        arity(
            if shard { "shardchannels" } else { "channels" },
            a.len() <= 3,
        )?;
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        let pat = (a.len() == 3).then(|| a.get(2));
        let list = ps.active(kind, pat);
        ctx.out.array(list.len());
        for c in &list {
            ctx.out.bulk(c);
        }
    } else if eq_ic(sub, "numsub") || eq_ic(sub, "shardnumsub") {
        let kind = if eq_ic(sub, "shardnumsub") {
            Kind::Shard
        } else {
            Kind::Channel
        };
        // A flat array in RESP3 too, as Redis 7.0 answers (clients zip it into pairs).
        ctx.out.array((a.len() - 2) * 2);
        for c in a.iter().skip(2) {
            ctx.out.bulk(c);
            ctx.out.int(ps.numsub(kind, c) as i64);
        }
    } else if eq_ic(sub, "numpat") {
        arity("numpat", a.len() == 2)?;
        ctx.out.int(ps.counts().1 as i64);
    } else if eq_ic(sub, "help") {
        let lines = [
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
            "HELP",
            "    Prints this help.",
        ];
        crate::util::help(ctx.out, &lines);
    } else {
        return Err(errors::unknown_subcommand(sub, "pubsub"));
    }
    Ok(())
}

const NOKEY: (i32, i32, i32) = (0, 0, 0);
const PS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Spec] = &[
    cmd(
        "subscribe",
        -2,
        PS,
        NOKEY,
        Group::PubSub,
        "2.0.0",
        "Listens for messages published to channels.",
        subscribe,
    ),
    cmd(
        "unsubscribe",
        -1,
        PS,
        NOKEY,
        Group::PubSub,
        "2.0.0",
        "Stops listening to messages posted to channels.",
        unsubscribe,
    ),
    cmd(
        "psubscribe",
        -2,
        PS,
        NOKEY,
        Group::PubSub,
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        psubscribe,
    ),
    cmd(
        "punsubscribe",
        -1,
        PS,
        NOKEY,
        Group::PubSub,
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        punsubscribe,
    ),
    cmd(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        NOKEY,
        Group::PubSub,
        "2.0.0",
        "Posts a message to a channel.",
        publish,
    ),
    // Shard channels take the place of keys for cluster routing (Redis's key specs flag them
    // NOT_KEY); they lock nothing.
    cmd(
        "ssubscribe",
        -2,
        PS,
        (1, -1, 1),
        Group::PubSub,
        "7.0.0",
        "Listens for messages published to shard channels.",
        ssubscribe,
    )
    .locking(Locking::Nothing),
    cmd(
        "sunsubscribe",
        -1,
        PS,
        (1, -1, 1),
        Group::PubSub,
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
        sunsubscribe,
    )
    .locking(Locking::Nothing),
    cmd(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (1, 1, 1),
        Group::PubSub,
        "7.0.0",
        "Post a message to a shard channel",
        spublish,
    )
    .locking(Locking::Nothing),
    cmd(
        "pubsub",
        -2,
        PUBSUB | LOADING | STALE,
        NOKEY,
        Group::PubSub,
        "2.8.0",
        "A container for Pub/Sub commands.",
        pubsub,
    )
    .subcommands(&[
        "channels",
        "numsub",
        "numpat",
        "shardchannels",
        "shardnumsub",
        "help",
    ]),
];

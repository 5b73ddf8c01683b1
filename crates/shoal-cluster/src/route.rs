//! Where a keyed command must run: here, elsewhere (MOVED / ASK), or nowhere (CROSSSLOT,
//! CLUSTERDOWN). Pure: the caller passes the slots of the command's keys.

use crate::state::ClusterState;

/// The routing decision for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Serve,
    /// `-MOVED <slot> <host>:<port>`
    Moved {
        slot: u16,
        addr: String,
    },
    /// `-ASK <slot> <host>:<port>`
    Ask {
        slot: u16,
        addr: String,
    },
    /// Served here, but the slot is migrating to `addr`: the caller checks the keys under their
    /// locks (all present: serve; none: `-ASK`; some: `-TRYAGAIN`).
    Migrating {
        slot: u16,
        addr: String,
    },
    /// Served here to an ASKING client while the slot is imported: several keys must all be
    /// present (else `-TRYAGAIN`).
    Importing,
    CrossSlot,
    /// `-CLUSTERDOWN ...` with the given text.
    Down(&'static str),
}

pub const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";
pub const DOWN: &str = "CLUSTERDOWN The cluster is down";
pub const DOWN_READONLY: &str = "CLUSTERDOWN The cluster is down and only accepts read commands";
pub const UNBOUND: &str = "CLUSTERDOWN Hash slot not served";
pub const TRYAGAIN: &str = "TRYAGAIN Multiple keys request during rehashing of slot";

impl Route {
    /// The error reply text, or `None` for `Serve`.
    pub fn error(&self) -> Option<String> {
        match self {
            Route::Serve | Route::Migrating { .. } | Route::Importing => None,
            Route::Moved { slot, addr } => Some(format!("MOVED {slot} {addr}")),
            Route::Ask { slot, addr } => Some(format!("ASK {slot} {addr}")),
            Route::CrossSlot => Some(CROSSSLOT.to_string()),
            Route::Down(t) => Some(t.to_string()),
        }
    }
}

/// Decides where a command whose keys hash to `slots` runs. `write` for commands that modify
/// data; `readonly` when the client sent READONLY; `asking` when it sent ASKING just before.
pub fn route(
    st: &ClusterState,
    slots: impl IntoIterator<Item = u16>,
    write: bool,
    readonly: bool,
    asking: bool,
) -> Route {
    let mut it = slots.into_iter();
    let Some(slot) = it.next() else {
        return Route::Serve;
    };
    if it.any(|s| s != slot) {
        return Route::CrossSlot;
    }
    if !st.is_ok() {
        if !st.allow_reads_when_down {
            return Route::Down(DOWN);
        }
        if write {
            return Route::Down(DOWN_READONLY);
        }
    }
    // An importing slot is served to clients that asked first.
    if asking && st.importing.contains_key(&slot) {
        return Route::Importing;
    }
    let Some(owner) = st.owner(slot) else {
        return Route::Down(UNBOUND);
    };
    if owner.id == st.myself {
        if let Some(to) = st.migrating.get(&slot).and_then(|id| st.nodes.get(id)) {
            return Route::Migrating {
                slot,
                addr: format!("{}:{}", st.endpoint_of(to), to.port),
            };
        }
        return Route::Serve;
    }
    // A replica serves reads of its primary's slots to READONLY clients.
    if readonly && !write && st.me().primary_of == Some(owner.id) {
        return Route::Serve;
    }
    Route::Moved {
        slot,
        addr: format!("{}:{}", st.endpoint_of(owner), owner.port),
    }
}

/// Where SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH run, whose keys are shard channels (Redis's
/// getNodeByQuery for pubsubshard commands). As [`route`], except:
/// - a channel is no key: a migrating slot's channels stay on its owner and an importing
///   slot's are served to ASKING clients, without looking anything up;
/// - a replica serves its primary's slots without READONLY;
/// - a down cluster still serves them when `allow_pubsubshard_when_down`.
pub fn route_shard_channels(
    st: &ClusterState,
    slots: impl IntoIterator<Item = u16>,
    asking: bool,
) -> Route {
    let mut it = slots.into_iter();
    let Some(slot) = it.next() else {
        return Route::Serve;
    };
    if it.any(|s| s != slot) {
        return Route::CrossSlot;
    }
    if !st.is_ok() && !st.allow_pubsubshard_when_down {
        return Route::Down(DOWN);
    }
    if asking && st.importing.contains_key(&slot) {
        return Route::Serve;
    }
    let Some(owner) = st.owner(slot) else {
        return Route::Down(UNBOUND);
    };
    let me = st.me();
    if owner.id == me.id || (!me.flags.primary && me.primary_of == Some(owner.id)) {
        return Route::Serve;
    }
    Route::Moved {
        slot,
        addr: format!("{}:{}", st.endpoint_of(owner), owner.port),
    }
}

/// The slots whose shard channels this node serves: its primary's (its own, as a primary),
/// and those it is importing. `None` while a replica does not know its primary yet.
pub fn shard_channel_slots(st: &ClusterState) -> Option<crate::slotset::SlotSet> {
    let mut slots = st.my_primary()?.slots.clone();
    if st.me().flags.primary {
        for &s in st.importing.keys() {
            slots.insert(s);
        }
    }
    Some(slots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Node, NodeId};

    fn two_nodes() -> ClusterState {
        let me = NodeId::parse(b"1111111111111111111111111111111111111111").unwrap();
        let other = NodeId::parse(b"2222222222222222222222222222222222222222").unwrap();
        let mut st = ClusterState::new(me, "127.0.0.1".into(), 7000, 17000);
        st.nodes
            .insert(other, Node::new(other, "127.0.0.1".into(), 7001, 17001));
        for s in 0..8192 {
            st.assign(s, me);
        }
        for s in 8192..16384 {
            st.assign(s, other);
        }
        st.update_state();
        st
    }

    #[test]
    fn decisions() {
        let mut st = two_nodes();
        assert_eq!(route(&st, [], true, false, false), Route::Serve);
        assert_eq!(route(&st, [5, 5], true, false, false), Route::Serve);
        assert_eq!(route(&st, [5, 6], false, false, false), Route::CrossSlot);
        assert_eq!(
            route(&st, [9000], false, false, false).error().unwrap(),
            "MOVED 9000 127.0.0.1:7001"
        );
        st.importing.insert(9000, st.myself);
        assert_eq!(route(&st, [9000], false, false, true), Route::Importing);
        assert!(
            route(&st, [9000], false, false, false)
                .error()
                .unwrap()
                .starts_with("MOVED")
        );
        let other = st.owner_id(9000).unwrap();
        st.migrating.insert(5, other);
        assert_eq!(
            route(&st, [5], true, false, false),
            Route::Migrating {
                slot: 5,
                addr: "127.0.0.1:7001".into()
            }
        );
        st.migrating.clear();
        st.unassign(9001);
        st.update_state();
        assert_eq!(route(&st, [5], false, false, false), Route::Down(DOWN));
        st.require_full_coverage = false;
        st.update_state();
        assert_eq!(
            route(&st, [9001], false, false, false),
            Route::Down(UNBOUND)
        );
        assert_eq!(route(&st, [5], false, false, false), Route::Serve);
    }

    #[test]
    fn shard_channels() {
        let mut st = two_nodes();
        let other = st.owner_id(9000).unwrap();
        assert_eq!(route_shard_channels(&st, [5, 5], false), Route::Serve);
        assert_eq!(
            route_shard_channels(&st, [5, 9000], false),
            Route::CrossSlot
        );
        assert_eq!(
            route_shard_channels(&st, [9000], false).error().unwrap(),
            "MOVED 9000 127.0.0.1:7001"
        );
        // Moving slots: no key checks (Serve, not Migrating / Importing).
        st.migrating.insert(5, other);
        assert_eq!(route_shard_channels(&st, [5], false), Route::Serve);
        st.importing.insert(9000, other);
        assert_eq!(route_shard_channels(&st, [9000], true), Route::Serve);
        assert!(matches!(
            route_shard_channels(&st, [9000], false),
            Route::Moved { .. }
        ));
        let mut served = shard_channel_slots(&st).unwrap();
        assert!(served.contains(5) && served.contains(9000) && !served.contains(9001));
        // A replica of `other` serves its slots without READONLY, and no longer ours.
        st.migrating.clear();
        st.importing.clear();
        for s in 0..8192 {
            st.assign(s, other);
        }
        st.set_my_primary(other);
        st.update_state();
        assert_eq!(route_shard_channels(&st, [9000], false), Route::Serve);
        assert_eq!(route_shard_channels(&st, [5], false), Route::Serve);
        served = shard_channel_slots(&st).unwrap();
        assert_eq!(served.len(), 16384);
        // A down cluster: served unless allow_pubsubshard_when_down is off.
        st.unassign(1);
        st.update_state();
        assert!(!st.is_ok());
        assert_eq!(route_shard_channels(&st, [5], false), Route::Serve);
        assert_eq!(route_shard_channels(&st, [1], false), Route::Down(UNBOUND));
        st.allow_pubsubshard_when_down = false;
        assert_eq!(route_shard_channels(&st, [5], false), Route::Down(DOWN));
    }
}

//! The cluster bus: the binary message format ([`msg`]) and the gossip state machine
//! ([`machine`]). A tokio driver in the server moves the machine's messages over TCP; tests move
//! them over an in-memory network.

pub mod bootstrap;
pub mod failover;
pub mod machine;
pub mod msg;

pub use failover::Manual;
pub use machine::{Bus, BusStats, Delivery, Dest, Effects, KIND_NAMES, KINDS, LinkId};
pub use msg::{Body, DecodeError, Header, Kind, Message};

/// Requests from the command layer to the bus driver.
#[derive(Debug, Clone)]
pub enum Control {
    Meet {
        ip: String,
        port: u16,
        cport: u16,
    },
    Forget(crate::state::NodeId),
    /// CLUSTER FAILOVER on a replica.
    Failover(Manual),
    /// This node's view changed in a way every node must learn now, not at the next gossip
    /// round (it took slots: SETSLOT NODE closing an import, a finished slot import): a PONG to
    /// every known node, as Redis's clusterBroadcastPong(CLUSTER_BROADCAST_ALL).
    Announce,
    /// PUBLISH (to every node) or SPUBLISH (`shard`: to the other nodes of this node's shard,
    /// which serve the channel's slot), as Redis's PUBLISH / PUBLISHSHARD bus messages.
    Publish {
        shard: bool,
        channel: Vec<u8>,
        message: Vec<u8>,
    },
}

//! Redis Cluster for shoal: slot math, the cluster state one node holds, nodes.conf, and the
//! routing decision for keyed commands. Pure parts only; the gossip bus comes on top of these.

pub mod bus;
pub mod conf;
pub mod rebalance;
pub mod route;
pub mod slot;
pub mod slotset;
pub mod state;

pub use route::{Route, route, route_shard_channels, shard_channel_slots};
pub use slot::{SLOTS, Slot, key_slot};
pub use slotset::SlotSet;
pub use state::{ClusterState, Endpoint, Node, NodeId};

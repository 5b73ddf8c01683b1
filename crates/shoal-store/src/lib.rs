//! The shoal keyspace: lock-striped shards of compact entries with TTLs, WATCH hooks, active
//! expiry, eviction policies, memory accounting, pattern matching and the DUMP payload format.
//!
//! Synchronous code only: no sockets, no frames, no async. Time comes in as an argument (unix
//! milliseconds), so tests drive expiry with a clock of their own.

pub mod dense;
pub mod dump;
pub mod entry;
pub mod evict;
mod ghost;
pub mod glob;
pub mod lazyfree;
pub mod mem;
pub mod modified;
pub mod pack;
pub mod policy;
pub mod rdb;
pub mod shard;
pub mod snapshot;
pub mod store;
pub mod stream;
pub mod thin;
pub mod types;
pub mod value;
mod varint;
pub mod zorder;

pub use entry::{CollMut, Entry, Kind, NewValue, ValueRef};
pub use policy::{Policy, Tuning};
pub use shard::Shard;
pub use store::{ExpireStats, LockSet, ShardId, ShardRef, Store, Stripe};
pub use value::Value;

//! The shoal keyspace: lock-striped shards of entries with TTLs, WATCH hooks, active expiry,
//! pattern matching and the DUMP payload format.
//!
//! Synchronous code only: no sockets, no frames, no async. Time comes in as an argument (unix
//! milliseconds), so tests drive expiry with a clock of their own.

pub mod dump;
pub mod glob;
pub mod pack;
pub mod shard;
pub mod store;
pub mod types;
pub mod value;

pub use shard::{Entry, Shard};
pub use store::{ExpireStats, LockSet, ShardId, ShardRef, Store, Stripe};
pub use value::Value;

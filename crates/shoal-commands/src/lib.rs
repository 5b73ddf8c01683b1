//! Shoal's command layer: the command table, the dispatch pipeline, one module per command
//! family, error texts, configuration and statistics.
//!
//! Knows keys, values and replies; owns no socket and no task. The server hands it parsed
//! arguments and an output buffer.

pub mod acl;
pub mod blocking;
pub mod config;
pub mod ctx;
pub mod digest;
pub mod dispatch;
pub mod errors;
pub mod families;
pub mod geohash;
pub mod hll;
pub mod introspect;
pub mod latency;
pub mod lolwut;
pub mod memory;
pub mod memstats;
pub mod monitor;
pub mod notify;
pub mod pause;
pub mod persist;
pub mod pubsub;
pub mod rdblen;
pub mod repl;
pub mod script;
pub mod slotmig;
pub mod slowlog;
pub mod spec;
pub mod stats;
pub mod tracking;
pub mod util;

pub use config::Config;
pub use ctx::{Client, ClientInfo, Shared, unix_ms};
pub use dispatch::{dispatch, write_error};

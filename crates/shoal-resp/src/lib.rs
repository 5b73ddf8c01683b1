//! RESP for shoal: an incremental request parser (multibulk and inline, with Redis's limits and
//! error texts) and a reply writer for RESP2 and RESP3.
//!
//! This crate knows bytes, not keys: no I/O, no store.

pub mod args;
pub mod parse;
pub mod reply;

pub use args::{Args, OwnedArgs};
pub use parse::{Limits, Parsed, Parser, ProtocolError, parse_i64, split_args};
pub use reply::{Reply, format_double, format_double_g17};

//! One module per command family, each ending with its slice of the command table.

pub mod acl;
pub mod bitmaps;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod diagnostics;
pub mod expire;
pub mod functions;
pub mod geo;
pub mod hash_ttl;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod lcs;
pub mod lists;
pub mod migrate;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod slotmig;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod transactions;
pub mod zsets;

use crate::spec::Spec;

/// Every family's table, in the order COMMAND lists them.
pub static ALL: &[&[Spec]] = &[
    strings::COMMANDS,
    keys::COMMANDS,
    migrate::COMMANDS,
    expire::COMMANDS,
    hashes::COMMANDS,
    hash_ttl::COMMANDS,
    lists::COMMANDS,
    sets::COMMANDS,
    zsets::COMMANDS,
    streams::COMMANDS,
    connection::COMMANDS,
    pubsub::COMMANDS,
    server::COMMANDS,
    diagnostics::COMMANDS,
    config::COMMANDS,
    transactions::COMMANDS,
    cluster::COMMANDS,
    slotmig::COMMANDS,
    replication::COMMANDS,
    scripting::COMMANDS,
    functions::COMMANDS,
    bitmaps::COMMANDS,
    lcs::COMMANDS,
    sort::COMMANDS,
    hyperloglog::COMMANDS,
    geo::COMMANDS,
    acl::COMMANDS,
];

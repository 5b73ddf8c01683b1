//! One module per command family, each ending with its slice of the command table.

pub mod cluster;
pub mod connection;
pub mod expire;
pub mod keys;
pub mod server;
pub mod strings;
pub mod transactions;

use crate::spec::Spec;

/// Every family's table, in the order COMMAND lists them.
pub static ALL: &[&[Spec]] = &[
    strings::COMMANDS,
    keys::COMMANDS,
    expire::COMMANDS,
    connection::COMMANDS,
    server::COMMANDS,
    transactions::COMMANDS,
    cluster::COMMANDS,
];

//! Command argument parsing: any sequence of commands, built from the fuzzer's bytes, runs
//! against a fresh server state without a panic, and every command gets exactly one reply.
//!
//! The bytes are turned into commands by a small grammar so the fuzzer reaches deep into the
//! handlers: byte 0 picks a command name from the table, the next bytes how many arguments
//! follow, and each argument is either a token the handlers look for (NX, WITHSCORES, a number,
//! a key used before...) or raw bytes.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use shoal_commands::ctx::ReplyMode;
use shoal_commands::spec::table;
use shoal_commands::{Client, ClientInfo, Config, Shared, dispatch};
use shoal_resp::{Limits, Parsed, Parser, Reply};

const TOKENS: &[&[u8]] = &[
    b"k", b"k2", b"{t}a", b"{t}b", b"0", b"1", b"-1", b"2", b"10", b"-10", b"100", b"1.5", b"inf",
    b"-inf", b"+inf", b"(1", b"[a", b"(a", b"-", b"+", b"nan", b"9223372036854775807",
    b"-9223372036854775808", b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR", b"EX", b"PX", b"EXAT",
    b"PXAT", b"KEEPTTL", b"GET", b"WITHSCORES", b"WITHSCORE", b"LIMIT", b"BYSCORE", b"BYLEX",
    b"REV", b"COUNT", b"MATCH", b"TYPE", b"LEFT", b"RIGHT", b"BEFORE", b"AFTER", b"RANK",
    b"MAXLEN", b"WEIGHTS", b"AGGREGATE", b"SUM", b"MIN", b"MAX", b"STORE", b"ALPHA", b"REPLACE",
    b"DB", b"WITHVALUES", b"NOVALUES", b"*", b"a*", b"h?llo", b"[a-z]", b"", b"PERSIST",
    b"SAMPLES", b"ENCODING", b"FREQ", b"IDLETIME",
];

fn commands(data: &[u8]) -> Vec<u8> {
    let specs = &table().specs;
    let mut wire = Vec::new();
    let mut i = 0;
    let mut next = || {
        let b = data.get(i).copied();
        i += 1;
        b
    };
    while let Some(c) = next() {
        let spec = specs[c as usize % specs.len()];
        let argc = next().map_or(0, |n| n as usize % 8);
        let mut args: Vec<Vec<u8>> = vec![spec.name.as_bytes().to_vec()];
        for _ in 0..argc {
            let Some(t) = next() else { break };
            if t < 200 {
                args.push(TOKENS[t as usize % TOKENS.len()].to_vec());
            } else {
                let n = next().map_or(0, |n| n as usize % 16);
                args.push((0..n).filter_map(|_| next()).collect());
            }
        }
        // Commands that would end the fuzzing process or block it forever stay out.
        if matches!(spec.name, "shutdown" | "debug" | "monitor" | "sync" | "psync") {
            continue;
        }
        wire.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in &args {
            wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            wire.extend_from_slice(a);
            wire.extend_from_slice(b"\r\n");
        }
    }
    wire
}

fuzz_target!(|data: &[u8]| {
    let config = Config {
        databases: 4,
        shards: 4,
        ..Config::default()
    };
    let shared = Shared::new(config);
    let info = Arc::new(ClientInfo::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into()));
    let mut client = Client::new(info, true);
    let mut out = Reply::new();
    let wire = commands(data);
    let mut parser = Parser::new(Limits { max_bulk_len: 1 << 20, ..Limits::default() });
    let mut off = 0;
    while let Ok(Parsed::Command { len }) = parser.parse(&wire[off..]) {
        let before = out.len();
        let mode = client.reply_mode;
        dispatch(&shared, &mut client, &mut out, parser.args(&wire[off..]), 1_000_000);
        // A blocking command with nothing to pop leaves the client waiting: give up on it.
        let blocked = client.blocked.take().is_some();
        client.close = false;
        let replying = mode == ReplyMode::On && client.reply_mode == ReplyMode::On;
        assert!(out.len() > before || blocked || !replying, "a command got no reply");
        off += len;
        out.buf.clear();
    }
});

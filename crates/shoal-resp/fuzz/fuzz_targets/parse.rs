//! Any bytes, cut into any chunks: the parser never panics, never claims more bytes than it was
//! given, and agrees with itself when fed everything at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_resp::{Limits, Parsed, Parser};

fn run(data: &[u8], step: usize) -> Vec<Vec<Vec<u8>>> {
    let mut p = Parser::new(Limits { max_bulk_len: 1 << 20 });
    let mut out = Vec::new();
    let (mut start, mut end) = (0, 0);
    while end < data.len() {
        end = (end + step).min(data.len());
        loop {
            match p.parse(&data[start..end]) {
                Ok(Parsed::Command { len }) => {
                    assert!(len > 0 && start + len <= end);
                    out.push(p.args(&data[start..end]).iter().map(|a| a.to_vec()).collect());
                    start += len;
                }
                Ok(Parsed::Empty { len }) => {
                    assert!(len > 0 && start + len <= end);
                    start += len;
                }
                Ok(Parsed::Incomplete { .. }) => break,
                Err(_) => return out,
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else { return };
    let whole = run(rest, rest.len().max(1));
    let chunked = run(rest, step as usize % 64 + 1);
    // Chunking may stop earlier only where an error ends the stream; what both parsed agrees.
    let n = whole.len().min(chunked.len());
    assert_eq!(whole[..n], chunked[..n]);
});

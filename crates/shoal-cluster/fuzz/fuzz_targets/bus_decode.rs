//! Bus frames come from the network: any bytes decode to a message, "need more", or an error,
//! never a panic; a decoded frame never claims more bytes than it was given, and re-encoding a
//! message decodes to the same message.
//!
//! Random bytes rarely pass the magic, version, length and checksum, so each input is also
//! wrapped into a well-framed frame (its own length and checksum): the body decoder sees every
//! input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_cluster::bus::msg::{MAGIC, Message, VERSION, crc32};

fn check(data: &[u8]) {
    if let Ok(Some((m, used))) = Message::decode(data) {
        assert!(used > 0 && used <= data.len());
        let again = m.encode();
        match Message::decode(&again) {
            Ok(Some((m2, n))) => {
                assert_eq!(n, again.len());
                assert_eq!(m2, m);
            }
            other => panic!("re-encoded message does not decode: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut frame = Vec::with_capacity(data.len() + 12);
    frame.extend_from_slice(MAGIC);
    frame.push(VERSION);
    frame.extend_from_slice(&(data.len() as u32).to_be_bytes());
    frame.extend_from_slice(data);
    frame.extend_from_slice(&crc32(data).to_be_bytes());
    check(&frame);
});

//! RESTORE's payload is client input: any bytes are refused or accepted without a panic, and an
//! accepted payload dumps back to a payload that restores to the same value.
//!
//! Random bytes rarely carry a valid version and CRC-64, so each input is also sealed into a
//! well-framed payload (version and checksum appended): the body parser sees every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoal_store::dump::{DUMP_VERSION, crc64, dump, restore};

fn check(payload: &[u8]) {
    if let Ok(v) = restore(payload) {
        let again = dump(v.as_ref());
        assert_eq!(restore(&again).ok(), Some(v));
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut sealed = data.to_vec();
    sealed.extend_from_slice(&DUMP_VERSION.to_le_bytes());
    let crc = crc64(&sealed);
    sealed.extend_from_slice(&crc.to_le_bytes());
    check(&sealed);
});

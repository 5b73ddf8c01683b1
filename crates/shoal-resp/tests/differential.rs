//! Differential tests against the `redis-protocol` crate as a reference: what it encodes, our
//! parser decodes to the same arguments however the bytes are split; what our writer encodes, it
//! decodes to the frames we meant.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use redis_protocol::resp2::types::BytesFrame as F2;
use redis_protocol::resp3::types::BytesFrame as F3;
use shoal_resp::{Limits, Parsed, Parser, Reply};

fn encode_command(args: &[Vec<u8>]) -> BytesMut {
    let frame = F2::Array(
        args.iter()
            .map(|a| F2::BulkString(Bytes::from(a.clone())))
            .collect(),
    );
    let mut out = BytesMut::new();
    redis_protocol::resp2::encode::extend_encode(&mut out, &frame, false).expect("encode");
    out
}

proptest! {
    #[test]
    fn parser_agrees_with_reference_encoder(
        cmds in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..8), 1..10),
        cuts in prop::collection::vec(1usize..64, 1..20),
    ) {
        let mut wire = Vec::new();
        for c in &cmds {
            wire.extend_from_slice(&encode_command(c));
        }
        // Feed the stream in chunks of the given sizes, as reads would deliver it.
        let mut p = Parser::new(Limits::default());
        let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
        let (mut start, mut end, mut k) = (0usize, 0usize, 0usize);
        while start < wire.len() {
            end = (end + cuts[k % cuts.len()]).min(wire.len());
            k += 1;
            loop {
                match p.parse(&wire[start..end]).expect("valid input") {
                    Parsed::Command { len } => {
                        got.push(p.args(&wire[start..end]).iter().map(|a| a.to_vec()).collect());
                        start += len;
                    }
                    Parsed::Empty { len } => start += len,
                    Parsed::Incomplete { .. } => break,
                }
            }
            if end == wire.len() && start < wire.len() {
                prop_assert!(false, "stream ended inside a command");
            }
        }
        prop_assert_eq!(got, cmds);
    }

    #[test]
    fn reply_writer_agrees_with_reference_decoder(
        items in prop::collection::vec((any::<i64>(), prop::collection::vec(any::<u8>(), 0..30), any::<bool>()), 0..10),
        resp3 in any::<bool>(),
    ) {
        let mut r = Reply::new();
        r.set_resp3(resp3);
        r.array(items.len() * 3);
        for (n, b, null) in &items {
            r.int(*n);
            r.bulk(b);
            if *null { r.null() } else { r.bool(true) }
        }
        let buf = Bytes::from(r.buf.clone());
        if resp3 {
            let (frame, used) = redis_protocol::resp3::decode::complete::decode_bytes(&buf).expect("decodes").expect("complete");
            prop_assert_eq!(used, buf.len());
            let F3::Array { data, .. } = frame else { panic!("not an array") };
            for (i, (n, b, null)) in items.iter().enumerate() {
                let num_ok = matches!(&data[3 * i], F3::Number { data, .. } if data == n);
                let blob_ok = matches!(&data[3 * i + 1], F3::BlobString { data, .. } if data[..] == b[..]);
                let third_ok = if *null {
                    matches!(&data[3 * i + 2], F3::Null)
                } else {
                    matches!(&data[3 * i + 2], F3::Boolean { data: true, .. })
                };
                prop_assert!(num_ok && blob_ok && third_ok, "item {} decoded differently: {:?}", i, &data[3 * i..3 * i + 3]);
            }
        } else {
            let (frame, used) = redis_protocol::resp2::decode::decode_bytes(&buf).expect("decodes").expect("complete");
            prop_assert_eq!(used, buf.len());
            let F2::Array(data) = frame else { panic!("not an array") };
            for (i, (n, b, null)) in items.iter().enumerate() {
                prop_assert_eq!(&data[3 * i], &F2::Integer(*n));
                prop_assert_eq!(&data[3 * i + 1], &F2::BulkString(Bytes::from(b.clone())));
                prop_assert_eq!(&data[3 * i + 2], if *null { &F2::Null } else { &F2::Integer(1) });
            }
        }
    }

    /// Arbitrary bytes never panic the parser, and it never reports more bytes than it was given.
    #[test]
    fn parser_never_panics(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut p = Parser::new(Limits { max_bulk_len: 1 << 20, ..Limits::default() });
        let mut start = 0;
        while start < data.len() {
            match p.parse(&data[start..]) {
                Ok(Parsed::Command { len }) | Ok(Parsed::Empty { len }) => {
                    prop_assert!(len > 0 && start + len <= data.len());
                    start += len;
                }
                Ok(Parsed::Incomplete { .. }) | Err(_) => break,
            }
        }
    }
}

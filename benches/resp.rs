//! RESP micro-benchmarks: our request parser and reply writer, each beside the `redis-protocol`
//! crate doing the same job (the baseline).
//!
//! `cargo bench --bench resp`

use bytes::{Bytes, BytesMut};
use divan::{Bencher, black_box};
use shoal_resp::{Limits, Parsed, Parser, Reply};

const N: usize = 1000;

fn pipeline() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..N {
        let key = format!("key:{i:012}");
        v.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$3\r\nxxx\r\n",
                key.len()
            )
            .as_bytes(),
        );
    }
    v
}

fn main() {
    divan::main();
}

/// 1000 pipelined `SET key:%012d xxx`, parsed with our parser (per-command cost = time / 1000).
#[divan::bench]
fn parse_shoal(b: Bencher) {
    let buf = pipeline();
    let mut p = Parser::new(Limits::default());
    b.bench_local(|| {
        let mut off = 0;
        let mut n = 0;
        while let Ok(Parsed::Command { len }) = p.parse(&buf[off..]) {
            n += p.args(&buf[off..]).len();
            off += len;
        }
        black_box(n)
    });
}

/// The same input through `redis_protocol::resp2::decode::decode_bytes_mut` (baseline).
#[divan::bench]
fn parse_redis_protocol(b: Bencher) {
    let buf = pipeline();
    b.bench_local(|| {
        let mut bm = BytesMut::from(&buf[..]);
        let mut n = 0;
        while let Ok(Some((frame, _, _))) = redis_protocol::resp2::decode::decode_bytes_mut(&mut bm)
        {
            black_box(&frame);
            n += 1;
        }
        black_box(n)
    });
}

/// 1000 16-byte bulk replies written with our writer.
#[divan::bench]
fn write_bulk_shoal(b: Bencher) {
    let mut r = Reply::new();
    b.bench_local(|| {
        r.buf.clear();
        for _ in 0..N {
            r.bulk(b"0123456789abcdef");
        }
        black_box(r.buf.len())
    });
}

/// The same replies through `redis_protocol::resp2::encode::extend_encode` (baseline).
#[divan::bench]
fn write_bulk_redis_protocol(b: Bencher) {
    let frame = redis_protocol::resp2::types::BytesFrame::BulkString(Bytes::from_static(
        b"0123456789abcdef",
    ));
    let mut out = BytesMut::new();
    b.bench_local(|| {
        out.clear();
        for _ in 0..N {
            let _ = redis_protocol::resp2::encode::extend_encode(&mut out, &frame, false);
        }
        black_box(out.len())
    });
}

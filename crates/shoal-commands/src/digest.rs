//! DEBUG DIGEST and DEBUG DIGEST-VALUE: Redis's digest of the dataset and of values (debug.c),
//! computed the same way from the same logical content, so a shoal node and its replica (or a
//! redis-server holding the same data) print the same hex string.

use sha1::{Digest as _, Sha1};
use shoal_store::{Entry, ValueRef};

pub type Digest = [u8; 20];

/// `digest ^= SHA1(data)` (xorDigest: order does not matter).
fn xor(d: &mut Digest, data: &[u8]) {
    let h = Sha1::digest(data);
    for (a, b) in d.iter_mut().zip(h.iter()) {
        *a ^= b;
    }
}

/// `digest = SHA1(digest ^ SHA1(data))` (mixDigest: order matters).
fn mix(d: &mut Digest, data: &[u8]) {
    xor(d, data);
    let h = Sha1::digest(&d[..]);
    d.copy_from_slice(&h);
}

/// xorObjectDigest: a value's type and content, and whether it has a TTL, mixed into `d`.
pub fn value(d: &mut Digest, v: ValueRef<'_>, has_ttl: bool) {
    // Redis's OBJ_* type numbers, big-endian.
    let ty: u32 = match v {
        ValueRef::Int(_) | ValueRef::Str(_) => 0,
        ValueRef::List(_) => 1,
        ValueRef::Set(_) => 2,
        ValueRef::ZSet(_) => 3,
        ValueRef::Hash(_) => 4,
        ValueRef::Stream(_) => 6,
    };
    mix(d, &ty.to_be_bytes());
    match v {
        ValueRef::Int(n) => mix(d, n.to_string().as_bytes()),
        ValueRef::Str(s) => mix(d, s),
        ValueRef::List(l) => {
            for x in l.iter() {
                mix(d, &x[..]);
            }
        }
        ValueRef::Set(s) => {
            for m in s.members() {
                xor(d, &m);
            }
        }
        ValueRef::ZSet(z) => {
            for (m, score) in z.iter() {
                let mut e = [0u8; 20];
                mix(&mut e, m);
                mix(&mut e, crate::script::call::fmt_g(score, 17).as_bytes());
                xor(d, &e);
            }
        }
        ValueRef::Hash(h) => {
            for (f, val) in h.iter() {
                let mut e = [0u8; 20];
                mix(&mut e, f);
                mix(&mut e, val);
                xor(d, &e);
            }
        }
        ValueRef::Stream(s) => s.for_each(|e| {
            mix(d, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
            for (f, val) in e.fields.iter() {
                mix(d, f);
                mix(d, val);
            }
            true
        }),
    }
    if has_ttl {
        xor(d, b"!!expire!!");
    }
}

/// One key's digest (its name, then its value), as computeDatasetDigest xors it in.
pub fn entry(e: &Entry) -> Digest {
    let mut d = [0u8; 20];
    mix(&mut d, e.key());
    value(&mut d, e.value(), e.expire_at().is_some());
    d
}

/// The digest of a key's value alone (DEBUG DIGEST-VALUE).
pub fn value_of(e: &Entry) -> Digest {
    let mut d = [0u8; 20];
    value(&mut d, e.value(), e.expire_at().is_some());
    d
}

/// computeDatasetDigest: every non-empty database's number mixed in, then its keys' digests
/// xored in (in any order). Each shard is read under its own lock: a digest taken while
/// writes run is of no single moment (Redis's is; the suite takes it when writes are over).
pub fn dataset(store: &shoal_store::Store) -> Digest {
    let mut fin = [0u8; 20];
    for db in 0..store.databases() {
        let mut keys = [0u8; 20];
        let mut any = false;
        for id in store.live_db_shards(db) {
            let s = store.lock(id);
            for i in 0..s.len() {
                if let Some(e) = s.at(i) {
                    any = true;
                    xor(&mut keys, &entry(e));
                }
            }
        }
        if any {
            mix(&mut fin, &(db as u32).to_be_bytes());
            for (a, b) in fin.iter_mut().zip(keys.iter()) {
                *a ^= b;
            }
        }
    }
    fin
}

/// The 40 lower-case hex digits Redis prints.
pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

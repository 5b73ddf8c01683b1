//! Redis's RDB file format, version 10 as Redis 7.0 writes it; read: every older version Redis
//! 7.0 loads (with the ziplists, zipmaps and quicklists of older files), and versions 11 (Redis
//! 7.2) and 12 (Redis 7.4 and 8.x: hashes with field TTLs).
//!
//! ```text
//!  "REDIS0010" | AUX name value ... | FUNCTION2 code ... |
//!  ( SELECTDB n | RESIZEDB keys expires | ( [EXPIRETIME_MS t] [IDLE|FREQ] type key value )* )*
//!  | EOF | crc64 (little-endian; 0 = not computed)
//! ```
//!
//! [`writer`] makes files from shoal's values; [`reader`] turns a file back into them.

pub mod listpack;
pub mod lzf;
pub mod reader;
pub mod stream;
pub mod writer;
pub mod ziplist;

pub const VERSION: u16 = 10;
/// The newest version read: Redis 7.4's and 8.x's (adds hashes with field TTLs, types 22 to
/// 25, and in cluster mode the SLOT_INFO opcode). Version 11 is Redis 7.2's (set listpacks).
pub const MAX_VERSION: u16 = 12;

/// Redis 8's cluster-mode slot hint (RDB_OPCODE_SLOT_INFO): slot id, slot size and expires
/// size, three lengths; read and ignored as Redis's loader does.
pub const OP_SLOT_INFO: u8 = 244;
pub const OP_FUNCTION2: u8 = 245;
pub const OP_FUNCTION: u8 = 246;
pub const OP_MODULE_AUX: u8 = 247;
pub const OP_IDLE: u8 = 248;
pub const OP_FREQ: u8 = 249;
pub const OP_AUX: u8 = 250;
pub const OP_RESIZEDB: u8 = 251;
pub const OP_EXPIRETIME_MS: u8 = 252;
pub const OP_EXPIRETIME: u8 = 253;
pub const OP_SELECTDB: u8 = 254;
pub const OP_EOF: u8 = 255;

pub const T_STRING: u8 = 0;
pub const T_LIST: u8 = 1;
pub const T_SET: u8 = 2;
pub const T_ZSET: u8 = 3;
pub const T_HASH: u8 = 4;
pub const T_ZSET_2: u8 = 5;
pub const T_MODULE: u8 = 6;
pub const T_MODULE_2: u8 = 7;
pub const T_HASH_ZIPMAP: u8 = 9;
pub const T_LIST_ZIPLIST: u8 = 10;
pub const T_SET_INTSET: u8 = 11;
pub const T_ZSET_ZIPLIST: u8 = 12;
pub const T_HASH_ZIPLIST: u8 = 13;
pub const T_LIST_QUICKLIST: u8 = 14;
pub const T_STREAM_LISTPACKS: u8 = 15;
pub const T_HASH_LISTPACK: u8 = 16;
pub const T_ZSET_LISTPACK: u8 = 17;
pub const T_LIST_QUICKLIST_2: u8 = 18;
pub const T_STREAM_LISTPACKS_2: u8 = 19;
pub const T_SET_LISTPACK: u8 = 20;
pub const T_STREAM_LISTPACKS_3: u8 = 21;
/// Redis 7.4 release candidates' hash with field TTLs (RDB_TYPE_HASH_METADATA_PRE_GA): as
/// [`T_HASH_METADATA`] without the earliest expiry, each field's TTL absolute (0: none).
pub const T_HASH_METADATA_PRE_GA: u8 = 22;
/// Redis 7.4 release candidates' listpack hash with field TTLs
/// (RDB_TYPE_HASH_LISTPACK_EX_PRE_GA): a listpack of (field, value, TTL) triplets, the TTL
/// an absolute unix-ms integer or 0 for none.
pub const T_HASH_LISTPACK_EX_PRE_GA: u8 = 23;
/// Redis 7.4's hash with field TTLs (RDB_TYPE_HASH_METADATA): the earliest field expiry (ms,
/// 8 bytes LE), the field count, then per field its TTL as a length (0: none, else
/// `expiry - earliest + 1`), the field and the value. Written for hashes with field TTLs (a
/// Redis before 7.4 cannot read such a hash whatever the type says).
pub const T_HASH_METADATA: u8 = 24;
/// Redis 7.4 / 8's listpack hash with field TTLs (RDB_TYPE_HASH_LISTPACK_EX): the earliest
/// field expiry (ms, 8 bytes LE; unused when loading, as in Redis), then the listpack of
/// [`T_HASH_LISTPACK_EX_PRE_GA`].
pub const T_HASH_LISTPACK_EX: u8 = 25;
/// The largest field expiry Redis takes (EB_EXPIRE_TIME_MAX, 2^48 - 1 ms); a file with a
/// later one is corrupt.
pub const FIELD_EXPIRE_MAX: u64 = (1 << 48) - 1;

/// Why a file was refused: what was wrong, and the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    pub offset: usize,
    pub what: String,
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bad RDB file at offset {}: {}", self.offset, self.what)
    }
}

impl std::error::Error for RdbError {}

#[cfg(test)]
mod tests;

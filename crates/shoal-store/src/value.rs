//! Values stored in the keyspace. Every value owns its bytes (never a slice of a socket buffer).

/// A stored value. Strings that look like canonical integers are kept as `Int`, as Redis does
/// (OBJECT ENCODING `int`), so INCR needs no parse and a counter needs no heap allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Str(Box<[u8]>),
    Hash(Box<Hash>),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

use crate::types::{Hash, List, Set, ZSet};

/// Redis's type names, as TYPE prints them.
impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// OBJECT ENCODING, in Redis's words.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(b) if b.len() <= 44 => "embstr",
            Value::Str(_) => "raw",
            Value::Hash(h) => h.encoding(),
            Value::List(l) => crate::types::list_encoding(l),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// True for the string type (both encodings).
    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_))
    }

    /// Length in bytes of a string value (STRLEN); 0 for other types.
    pub fn str_len(&self) -> usize {
        match self {
            Value::Int(n) => itoa::Buffer::new().format(*n).len(),
            Value::Str(s) => s.len(),
            _ => 0,
        }
    }

    /// Approximate heap bytes held by the value (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(s) => s.len(),
            Value::Hash(h) => h.heap_size(),
            Value::List(l) => l.iter().map(|e| e.len() + 16).sum(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
        }
    }
}

//! Owned values: what commands build and hand to the store, and what they get back from a
//! removed entry. Stored values live inside entry blocks (see `entry`) and are read through
//! [`ValueRef`]. Every value owns its bytes (never a slice of a socket buffer).

use crate::entry::ValueRef;
use crate::stream::Stream;
use crate::types::{Hash, List, Set, ZSet};

/// A string value that looks like a canonical integer is kept as `Int`, as Redis does (OBJECT
/// ENCODING `int`), so INCR needs no parse and a counter takes 8 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Str(Box<[u8]>),
    Hash(Box<Hash>),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

impl Value {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Int(n) => ValueRef::Int(*n),
            Value::Str(b) => ValueRef::Str(b),
            Value::Hash(h) => ValueRef::Hash(h),
            Value::List(l) => ValueRef::List(l),
            Value::Set(s) => ValueRef::Set(s),
            Value::ZSet(z) => ValueRef::ZSet(z),
            Value::Stream(x) => ValueRef::Stream(x),
        }
    }

    /// Redis's type names, as TYPE prints them.
    pub fn type_name(&self) -> &'static str {
        self.as_ref().type_name()
    }

    /// OBJECT ENCODING, in Redis's words.
    pub fn encoding(&self) -> &'static str {
        self.as_ref().encoding()
    }

    /// True for the string type (both encodings).
    pub fn is_string(&self) -> bool {
        self.as_ref().is_string()
    }
}

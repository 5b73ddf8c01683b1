//! Values stored in the keyspace. Every value owns its bytes (never a slice of a socket buffer).

/// A stored value. Strings that look like canonical integers are kept as `Int`, as Redis does
/// (OBJECT ENCODING `int`), so INCR needs no parse and a counter needs no heap allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Str(Box<[u8]>),
}

/// Redis's type names, as TYPE prints them.
impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) => "string",
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
        }
    }

    /// Approximate heap bytes held by the value (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(s) => s.len(),
        }
    }
}

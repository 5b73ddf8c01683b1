//! Every error text a command can reply with, spelled as Redis 7 spells it, and the error type
//! handlers return. Protocol (framing) errors live in `shoal-resp`.

use std::borrow::Cow;

pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NAN_OR_INF: &str = "ERR increment would produce NaN or Infinity";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const DB_RANGE: &str = "ERR DB index is out of range";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_RANGE: &str = "ERR offset is out of range";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const MULTI_NESTED: &str = "ERR MULTI calls can not be nested";
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const NOT_IN_MULTI: &str = "ERR Command not allowed inside a transaction";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const NOPROTO: &str = "NOPROTO unsupported protocol version";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const AUTH_NOT_CONFIGURED: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";
pub const NO_SUCH_CLIENT: &str = "ERR No such client";
pub const CLIENT_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";
pub const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
pub const BAD_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
pub const BAD_DATA: &str = "ERR Bad data format";
pub const INVALID_TTL: &str = "ERR Invalid TTL value, must be >= 0";
pub const NX_XX_GT_LT: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const GT_LT: &str = "ERR GT and LT options at the same time are not compatible";
pub const READONLY: &str = "READONLY You can't write against a read only replica.";
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
pub const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const TIMEOUT_RANGE: &str = "ERR timeout is out of range";
pub const TIMEOUT_INVALID: &str = "ERR timeout is not a float or out of range";

/// A command error: the whole reply text after `-`, prefix included (`ERR …`, `WRONGTYPE …`).
/// Bytes, not text: Redis sends an error as the bytes it was given (a script's
/// `redis.error_reply('\xff…')`, a key echoed in NOGROUP). Handlers' errors are mostly
/// `&'static str`, borrowed as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, [u8]>);

impl CmdError {
    /// The error's code for INFO errorstats (`ERR`, `WRONGTYPE`…), see [`error_code`].
    pub fn prefix(&self) -> &[u8] {
        error_code(&self.0)
    }

    /// The text, for logs and tests (bytes that are not UTF-8 replaced).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

/// The code INFO errorstats counts an error reply under, as Redis's `afterErrorReply`: the
/// message up to its first space, looked for in the first 31 bytes (32 with the `-`);
/// `ERR` when there is none. CR and LF count as spaces: the reply has them as spaces.
pub fn error_code(msg: &[u8]) -> &[u8] {
    let head = &msg[..msg.len().min(31)];
    match head.iter().position(|&c| matches!(c, b' ' | b'\r' | b'\n')) {
        Some(i) => &msg[..i],
        None => b"ERR",
    }
}

impl From<&'static str> for CmdError {
    fn from(s: &'static str) -> Self {
        CmdError(Cow::Borrowed(s.as_bytes()))
    }
}

impl From<String> for CmdError {
    fn from(s: String) -> Self {
        CmdError(Cow::Owned(s.into_bytes()))
    }
}

impl From<Vec<u8>> for CmdError {
    fn from(s: Vec<u8>) -> Self {
        CmdError(Cow::Owned(s))
    }
}

pub type CmdResult = Result<(), CmdError>;

/// `ERR wrong number of arguments for 'get' command`.
pub fn arity(fullname: &str) -> CmdError {
    format!("ERR wrong number of arguments for '{fullname}' command").into()
}

/// `ERR unknown command 'foo', with args beginning with: 'a' 'b' `, with the bytes as given:
/// Redis formats them with `%.128s` (each ends at 128 bytes, or before a NUL byte) and caps
/// the args at 128 bytes in all.
pub fn unknown_command<'a>(name: &[u8], rest: impl Iterator<Item = &'a [u8]>) -> CmdError {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(b"ERR unknown command '");
    m.extend_from_slice(c_str(name, 128));
    m.extend_from_slice(b"', with args beginning with: ");
    let start = m.len();
    for a in rest {
        let used = m.len() - start;
        if used >= 128 {
            break;
        }
        m.push(b'\'');
        m.extend_from_slice(c_str(a, 128 - used));
        m.extend_from_slice(b"' ");
    }
    m.into()
}

/// `ERR unknown subcommand 'foo'. Try CONFIG HELP.`
pub fn unknown_subcommand(sub: &[u8], parent: &str) -> CmdError {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(b"ERR unknown subcommand '");
    m.extend_from_slice(c_str(sub, 128));
    m.extend_from_slice(b"'. Try ");
    m.extend_from_slice(parent.to_ascii_uppercase().as_bytes());
    m.extend_from_slice(b" HELP.");
    m.into()
}

/// An error that echoes a client's bytes as given, as Redis's `%s` prints them (up to a NUL
/// byte): `parts` alternate between this server's text (even places) and the client's bytes
/// (odd places).
pub fn echo(parts: &[&[u8]]) -> CmdError {
    let mut m = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for (i, p) in parts.iter().enumerate() {
        m.extend_from_slice(if i % 2 == 1 { c_str(p, usize::MAX) } else { p });
    }
    m.into()
}

/// What C's `%.<max>s` prints of `s`: at most `max` bytes, ending before a NUL byte.
pub fn c_str(s: &[u8], max: usize) -> &[u8] {
    let s = &s[..s.len().min(max)];
    s.iter().position(|&c| c == 0).map_or(s, |i| &s[..i])
}

/// `ERR invalid expire time in 'set' command`.
pub fn invalid_expire(fullname: &str) -> CmdError {
    format!("ERR invalid expire time in '{fullname}' command").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_as_redis_counts_them() {
        assert_eq!(error_code(b"WRONGTYPE Operation"), b"WRONGTYPE");
        assert_eq!(error_code(b"\xff\xfeBAD oops"), b"\xff\xfeBAD");
        // No space in the first 31 bytes: ERR.
        assert_eq!(error_code(b"nospace"), b"ERR");
        assert_eq!(error_code(b""), b"ERR");
        assert_eq!(
            error_code(&[b"a".repeat(30), b" x".to_vec()].concat()),
            &b"a".repeat(30)[..]
        );
        assert_eq!(
            error_code(&[b"a".repeat(31), b" x".to_vec()].concat()),
            b"ERR"
        );
        // CR and LF are spaces in the reply.
        assert_eq!(error_code(b"A\r\nB C"), b"A");
        assert_eq!(error_code(b"\nX y"), b"");
        assert_eq!(CmdError::from(WRONGTYPE).prefix(), b"WRONGTYPE");
    }

    #[test]
    fn echoed_bytes_are_kept_up_to_a_nul() {
        let e = unknown_command(b"\xffcm\0d", [&b"a\xfe"[..], b"b\0c"].into_iter());
        assert_eq!(
            e.0.as_ref(),
            b"ERR unknown command '\xffcm', with args beginning with: 'a\xfe' 'b' "
        );
        let e = unknown_subcommand(b"\xffsub", "object");
        assert_eq!(
            e.0.as_ref(),
            b"ERR unknown subcommand '\xffsub'. Try OBJECT HELP."
        );
        let e = echo(&[b"NOGROUP '", b"k\xfe\0x", b"'"]);
        assert_eq!(e.0.as_ref(), b"NOGROUP 'k\xfe'");
        // The args are capped at 128 bytes in all, quotes included.
        let long = b"x".repeat(200);
        let e = unknown_command(b"c", [&long[..], b"y"].into_iter());
        let text = e.text();
        assert!(text.ends_with(&format!("'{}' ", "x".repeat(128))), "{text}");
    }
}

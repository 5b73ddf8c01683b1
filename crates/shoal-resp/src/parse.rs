//! Incremental request parser: RESP multibulk (`*N\r\n$len\r\narg\r\n…`) and inline commands.
//!
//! The parser never copies multibulk arguments: it records byte ranges into the caller's buffer,
//! relative to the start of the command. State survives across reads, so a large command that
//! arrives in many pieces is scanned once (linear), not re-parsed from its first byte on every read.
//! Inline commands (`PING\r\n`) are unescaped into a small scratch buffer of the parser's own.
//!
//! Limits and error texts follow Redis 7 (`networking.c`): a protocol error is final for the
//! connection, the caller replies with the error and closes.

use crate::args::Args;

/// Largest inline command, or the longest `*N`/`$N` header line Redis accepts (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;

/// Framing limits enforced while parsing.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest bulk argument (`proto-max-bulk-len`).
    pub max_bulk_len: u64,
    /// The client has not authenticated while the server asks for it: arrays of more than 10
    /// arguments and bulks of more than 16 KiB are refused, as Redis refuses them.
    pub unauthenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            unauthenticated: false,
        }
    }
}

/// Broken framing. `Display` gives Redis's reply text (without the `-ERR ` prefix's `ERR`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMbulkCount,
    InvalidMultibulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnauthenticatedMultibulkLength,
    UnauthenticatedBulkLength,
    /// A TLS ClientHello (record type 0x16) where a command was expected: a TLS client on the
    /// plain port. Closed without a reply (it could not read one).
    TlsHandshake,
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ProtocolError::TooBigInline => f.write_str("too big inline request"),
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            ProtocolError::TooBigMbulkCount => f.write_str("too big mbulk count string"),
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::TooBigBulkCount => f.write_str("too big bulk count string"),
            ProtocolError::ExpectedDollar(c) => write!(f, "expected '$', got '{}'", *c as char),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::UnauthenticatedMultibulkLength => {
                f.write_str("unauthenticated multibulk length")
            }
            ProtocolError::UnauthenticatedBulkLength => f.write_str("unauthenticated bulk length"),
            ProtocolError::TlsHandshake => f.write_str("TLS handshake on a plain port"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Outcome of one [`Parser::parse`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// More bytes are needed. `hint` is the total buffer size the pending command needs, when known
    /// (a large bulk whose length has been read), so the caller can reserve once.
    Incomplete { hint: usize },
    /// A complete command of `len` bytes; read it with [`Parser::args`]. Consume `len` bytes after.
    Command { len: usize },
    /// `len` bytes held nothing to run (an empty inline line, `*0`, `*-1`): consume and go on.
    Empty { len: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing of the next command has been read.
    Start,
    /// Inside a multibulk: `left` arguments to go, `pos` bytes of the command already consumed.
    Multibulk { left: u64 },
    /// Inside a multibulk, the header `$len` of the next argument has been read.
    Bulk { left: u64, len: usize },
}

/// Incremental parser for one connection. Reuse it for every command of that connection.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    state: State,
    /// Bytes of the current command already consumed by completed headers and arguments.
    pos: usize,
    /// Argument ranges of the current command, relative to its first byte (or to `scratch`).
    ranges: Vec<(usize, usize)>,
    /// Unescaped inline arguments.
    scratch: Vec<u8>,
    inline: bool,
}

impl Parser {
    /// Gives back the memory a huge command left behind (its argument table, its unescaped
    /// inline bytes) once no command is half-parsed.
    pub fn trim(&mut self) {
        if self.state != State::Start {
            return;
        }
        if self.ranges.capacity() > 1024 {
            self.ranges = Vec::with_capacity(8);
        }
        if self.scratch.capacity() > 64 * 1024 {
            self.scratch = Vec::new();
        }
    }

    pub fn new(limits: Limits) -> Self {
        Parser {
            limits,
            state: State::Start,
            pos: 0,
            ranges: Vec::with_capacity(8),
            scratch: Vec::new(),
            inline: false,
        }
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Applies (or lifts) the limits for a client that has not authenticated.
    #[inline]
    pub fn set_unauthenticated(&mut self, on: bool) {
        self.limits.unauthenticated = on;
    }

    pub fn unauthenticated(&self) -> bool {
        self.limits.unauthenticated
    }

    /// True while a command has been partly read.
    pub fn in_progress(&self) -> bool {
        self.state != State::Start
    }

    /// Parses the command starting at `buf[0]`. `buf` must start where the previous complete
    /// command ended (or where the pending one began): after `Incomplete`, call again with the same
    /// start and more bytes appended.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        if self.state == State::Start {
            let Some(&first) = buf.first() else {
                return Ok(Parsed::Incomplete { hint: 0 });
            };
            self.ranges.clear();
            self.pos = 0;
            if first != b'*' {
                return self.parse_inline(buf);
            }
            self.inline = false;
            let Some((n, next)) = read_header(buf, 0, ProtocolError::TooBigMbulkCount)? else {
                return Ok(Parsed::Incomplete { hint: 0 });
            };
            let n = n.ok_or(ProtocolError::InvalidMultibulkLength)?;
            if n > i32::MAX as i64 {
                return Err(ProtocolError::InvalidMultibulkLength);
            }
            if n > 10 && self.limits.unauthenticated {
                return Err(ProtocolError::UnauthenticatedMultibulkLength);
            }
            if n <= 0 {
                return Ok(Parsed::Empty { len: next });
            }
            self.pos = next;
            self.state = State::Multibulk { left: n as u64 };
            self.ranges.reserve((n as usize).min(1024));
        }
        // Work on locals; the state goes back into `self` only when more bytes are needed.
        let (mut state, mut pos) = (self.state, self.pos);
        let incomplete = |me: &mut Self, state, pos, hint| {
            me.state = state;
            me.pos = pos;
            Ok(Parsed::Incomplete { hint })
        };
        loop {
            match state {
                State::Start => unreachable_start(),
                State::Multibulk { left } => {
                    if left == 0 {
                        self.state = State::Start;
                        self.pos = pos;
                        return Ok(Parsed::Command { len: pos });
                    }
                    let Some(&c) = buf.get(pos) else {
                        return incomplete(self, state, pos, 0);
                    };
                    if c != b'$' {
                        // Redis only complains once the header line is complete; match that.
                        if memchr::memchr(b'\r', &buf[pos..]).is_none() {
                            if buf.len() - pos > INLINE_MAX {
                                return Err(ProtocolError::TooBigBulkCount);
                            }
                            return incomplete(self, state, pos, 0);
                        }
                        return Err(ProtocolError::ExpectedDollar(c));
                    }
                    let Some((n, next)) = read_header(buf, pos, ProtocolError::TooBigBulkCount)?
                    else {
                        return incomplete(self, state, pos, 0);
                    };
                    let n = n.ok_or(ProtocolError::InvalidBulkLength)?;
                    if n < 0 || n as u64 > self.limits.max_bulk_len {
                        return Err(ProtocolError::InvalidBulkLength);
                    }
                    if n > 16384 && self.limits.unauthenticated {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    pos = next;
                    state = State::Bulk {
                        left,
                        len: n as usize,
                    };
                }
                State::Bulk { left, len } => {
                    let end = pos + len;
                    if buf.len() < end + 2 {
                        return incomplete(self, state, pos, end + 2);
                    }
                    self.ranges.push((pos, end));
                    // Like Redis, the two bytes after the payload are skipped, not checked.
                    pos = end + 2;
                    state = State::Multibulk { left: left - 1 };
                }
            }
        }
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        // A TLS record's first byte (handshake, 0x16) is no character an inline command starts
        // with: a TLS client on the plain port, told apart before it waits for a newline.
        if buf.first() == Some(&0x16) {
            return Err(ProtocolError::TlsHandshake);
        }
        let Some(nl) = memchr::memchr(b'\n', buf) else {
            if buf.len() > INLINE_MAX {
                return Err(ProtocolError::TooBigInline);
            }
            return Ok(Parsed::Incomplete { hint: 0 });
        };
        if nl > INLINE_MAX {
            return Err(ProtocolError::TooBigInline);
        }
        let mut line = &buf[..nl];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        self.inline = true;
        self.scratch.clear();
        split_inline(line, &mut self.scratch, &mut self.ranges)?;
        if self.ranges.is_empty() {
            return Ok(Parsed::Empty { len: nl + 1 });
        }
        Ok(Parsed::Command { len: nl + 1 })
    }

    /// The arguments of the command just returned by `parse` as `Command`. `buf` is the same
    /// buffer that was passed to `parse`.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> Args<'a> {
        if self.inline {
            Args::new(&self.scratch, &self.ranges)
        } else {
            Args::new(buf, &self.ranges)
        }
    }
}

#[cold]
fn unreachable_start() -> ! {
    // `parse` leaves `Start` before entering the loop and returns as soon as it goes back to it.
    panic!("parser loop entered in Start state")
}

/// Reads `<type-byte><integer>\r\n` at `at`. Returns the integer (None if malformed) and the
/// position after the line, or `Ok(None)` when the line is not complete yet.
#[inline]
fn read_header(
    buf: &[u8],
    at: usize,
    too_big: ProtocolError,
) -> Result<Option<(Option<i64>, usize)>, ProtocolError> {
    // Fast path: a short canonical non-negative number followed by CR and one more byte, which is
    // what every client sends. Anything else takes the general path below.
    let mut i = at + 1;
    let mut v: i64 = 0;
    let first = i;
    while i < buf.len() && i - first < 18 {
        let c = buf[i];
        if c.is_ascii_digit() {
            v = v * 10 + (c - b'0') as i64;
            i += 1;
        } else {
            break;
        }
    }
    let digits = i - first;
    if digits > 0 && (digits == 1 || buf[first] != b'0') && i + 1 < buf.len() && buf[i] == b'\r' {
        return Ok(Some((Some(v), i + 2)));
    }
    read_header_slow(buf, at, too_big)
}

#[cold]
fn read_header_slow(
    buf: &[u8],
    at: usize,
    too_big: ProtocolError,
) -> Result<Option<(Option<i64>, usize)>, ProtocolError> {
    let rest = &buf[at..];
    let Some(cr) = memchr::memchr(b'\r', rest) else {
        if rest.len() > INLINE_MAX {
            return Err(too_big);
        }
        return Ok(None);
    };
    if cr + 1 >= rest.len() {
        return Ok(None);
    }
    Ok(Some((parse_i64(&rest[1..cr]), at + cr + 2)))
}

/// Strict decimal integer as Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no spaces.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] => return if neg { None } else { Some(0) },
        [b'0', ..] => return None,
        _ => {}
    }
    if digits.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Splits one line into arguments as Redis does for inline commands and redis.conf lines.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    split_inline(line, &mut buf, &mut ranges)?;
    Ok(ranges.iter().map(|&(s, e)| buf[s..e].to_vec()).collect())
}

/// Splits an inline line the way Redis's `sdssplitargs` does: blanks separate arguments,
/// `"…"` supports `\n \r \t \b \a \\ \" \xHH`, `'…'` supports `\'`; a closing quote must be followed
/// by a blank or the end of the line.
fn split_inline(
    line: &[u8],
    out: &mut Vec<u8>,
    ranges: &mut Vec<(usize, usize)>,
) -> Result<(), ProtocolError> {
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_blank(line[i]) {
            i += 1;
        }
        if i >= n {
            return Ok(());
        }
        let start = out.len();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    out.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    out.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_blank(line[i + 1]) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
                i += 1;
            } else if in_sq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    out.push(b'\'');
                    i += 1;
                } else if c == b'\'' {
                    if i + 1 < n && !is_blank(line[i + 1]) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => out.push(c),
                }
                i += 1;
            }
        }
        ranges.push((start, out.len()));
    }
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t' | 0 | 0x0b | 0x0c)
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = Parser::new(Limits::default());
        let mut off = 0;
        let mut out = Vec::new();
        loop {
            match p.parse(&input[off..])? {
                Parsed::Incomplete { .. } => return Ok(out),
                Parsed::Empty { len } => off += len,
                Parsed::Command { len } => {
                    let a = p.args(&input[off..]);
                    out.push(a.iter().map(|x| x.to_vec()).collect());
                    off += len;
                }
            }
        }
    }

    #[test]
    fn a_tls_client_hello_is_told_apart_at_once() {
        let mut p = Parser::new(Limits::default());
        // A ClientHello's first bytes, no newline yet: refused without waiting for one.
        assert_eq!(
            p.parse(b"\x16\x03\x01\x02\x00\x01"),
            Err(ProtocolError::TlsHandshake)
        );
        assert_eq!(p.parse(b"\x16"), Err(ProtocolError::TlsHandshake));
        // The byte elsewhere in an inline command is just a byte.
        let mut p = Parser::new(Limits::default());
        assert!(matches!(
            p.parse(b"ECHO \x16\r\n"),
            Ok(Parsed::Command { .. })
        ));
    }

    #[test]
    fn multibulk_and_inline() {
        let cmds =
            parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nSET a \"b c\\x41\"\r\n\r\n*0\r\n")
                .unwrap();
        assert_eq!(
            cmds,
            vec![
                vec![b"GET".to_vec(), b"k".to_vec()],
                vec![b"PING".to_vec()],
                vec![b"SET".to_vec(), b"a".to_vec(), b"b cA".to_vec()],
            ]
        );
    }

    #[test]
    fn byte_at_a_time_is_the_same() {
        let input = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$0\r\n\r\nECHO 'x y'\n";
        let mut p = Parser::new(Limits::default());
        let mut got = Vec::new();
        let mut start = 0;
        for end in 1..=input.len() {
            if let Parsed::Command { len } = p.parse(&input[start..end]).unwrap() {
                got.push(
                    p.args(&input[start..end])
                        .iter()
                        .map(|a| a.to_vec())
                        .collect::<Vec<_>>(),
                );
                start += len;
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            vec![b"SET".to_vec(), b"hello".to_vec(), b"".to_vec()]
        );
        assert_eq!(got[1], vec![b"ECHO".to_vec(), b"x y".to_vec()]);
    }

    #[test]
    fn errors_match_redis() {
        let e = |b: &[u8]| parse_all(b).unwrap_err().to_string();
        assert_eq!(e(b"*x\r\n"), "Protocol error: invalid multibulk length");
        assert_eq!(
            e(b"*3000000000\r\n"),
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            e(b"*1\r\n+foo\r\n"),
            "Protocol error: expected '$', got '+'"
        );
        assert_eq!(e(b"*1\r\n$-1\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(e(b"*1\r\n$abc\r\n"), "Protocol error: invalid bulk length");
        assert_eq!(
            e(b"SET \"a\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            e(b"SET \"a\"b\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        let big = vec![b'a'; INLINE_MAX + 1];
        assert_eq!(e(&big), "Protocol error: too big inline request");
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; INLINE_MAX + 1]);
        assert_eq!(e(&big), "Protocol error: too big mbulk count string");
    }

    #[test]
    fn unauthenticated_clients_get_small_limits() {
        let mut p = Parser::new(Limits {
            unauthenticated: true,
            ..Limits::default()
        });
        let err = |p: &mut Parser, b: &[u8]| p.parse(b).err().map(|e| e.to_string());
        assert_eq!(
            err(&mut p, b"*11\r\n"),
            Some("Protocol error: unauthenticated multibulk length".into())
        );
        assert_eq!(
            err(&mut p, b"*1\r\n$16385\r\n"),
            Some("Protocol error: unauthenticated bulk length".into())
        );
        let mut p = Parser::new(Limits {
            unauthenticated: true,
            ..Limits::default()
        });
        assert!(matches!(p.parse(b"*10\r\n"), Ok(Parsed::Incomplete { .. })));
        let mut p = Parser::new(Limits {
            unauthenticated: true,
            ..Limits::default()
        });
        assert!(matches!(
            p.parse(b"*1\r\n$16384\r\n"),
            Ok(Parsed::Incomplete { .. })
        ));
        p.set_unauthenticated(false);
        let mut p2 = Parser::new(Limits::default());
        assert!(matches!(
            p2.parse(b"*11\r\n"),
            Ok(Parsed::Incomplete { .. })
        ));
    }

    #[test]
    fn bulk_limit() {
        let mut p = Parser::new(Limits {
            max_bulk_len: 10,
            ..Limits::default()
        });
        assert_eq!(
            p.parse(b"*1\r\n$10\r\n").unwrap(),
            Parsed::Incomplete { hint: 21 }
        );
        let mut p = Parser::new(Limits {
            max_bulk_len: 10,
            ..Limits::default()
        });
        assert_eq!(
            p.parse(b"*1\r\n$11\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b"9223372036854775808"[..],
            b"",
            b"-",
            b"+1",
            b"01",
            b" 1",
            b"-0",
            b"1a",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", std::str::from_utf8(bad));
        }
    }
}

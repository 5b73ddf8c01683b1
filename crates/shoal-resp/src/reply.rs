//! Reply writer: RESP2 and RESP3 replies appended to one output buffer.
//!
//! The writer knows the protocol version of its client and picks the shape Redis uses for each
//! (a RESP3 map is a flat array in RESP2, a RESP3 double a bulk string, a RESP3 null `$-1`/`*-1`).

/// Output buffer of one connection plus its protocol version.
#[derive(Debug, Default)]
pub struct Reply {
    pub buf: Vec<u8>,
    resp3: bool,
}

impl Reply {
    pub fn new() -> Self {
        Reply {
            buf: Vec::with_capacity(16 * 1024),
            resp3: false,
        }
    }

    #[inline]
    pub fn resp3(&self) -> bool {
        self.resp3
    }

    pub fn set_resp3(&mut self, on: bool) {
        self.resp3 = on;
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything written after `len` (CLIENT REPLY OFF/SKIP).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    #[inline]
    fn header(&mut self, tag: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n);
        self.buf.reserve(s.len() + 3);
        self.buf.push(tag);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`
    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// Simple string `+s`; `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &[u8]) {
        self.buf.reserve(s.len() + 3);
        self.buf.push(b'+');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Error `-msg`; `msg` includes its prefix (`ERR ...`, `WRONGTYPE ...`) and may hold any
    /// bytes (Redis sends what it was given). CR and LF, which would break framing, are
    /// replaced by spaces as Redis does.
    #[inline]
    pub fn error(&mut self, msg: impl AsRef<[u8]>) {
        self.error_bytes(msg.as_ref());
    }

    fn error_bytes(&mut self, msg: &[u8]) {
        self.buf.reserve(msg.len() + 3);
        self.buf.push(b'-');
        self.buf.extend(
            msg.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, s: &[u8]) {
        self.header(b'$', s.len() as i64);
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal form of `n` (GET of an integer-encoded value).
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// Null bulk: `$-1` in RESP2, `_` in RESP3.
    #[inline]
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// Null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// Map of `n` pairs: `%n` in RESP3, an array of `2n` in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    /// Push message of `n` elements (pub/sub, invalidations): `>n` in RESP3, an array in RESP2.
    #[inline]
    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n as i64);
    }

    /// Set of `n` members: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n as i64);
    }

    /// Boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn bool(&mut self, v: bool) {
        if self.resp3 {
            self.buf
                .extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// Double: `,x` in RESP3, a bulk string in RESP2. Formatted as Redis 7.0's `addReplyDouble`
    /// (C `%.17g`, see `format_double_g17`); only sorted-set scores are replied this way.
    pub fn double(&mut self, v: f64) {
        let g = G17::new(v);
        let s = g.as_bytes();
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// Verbatim string `=len\r\ntxt:...` in RESP3 (INFO, CLIENT LIST), a bulk string in RESP2.
    pub fn verbatim(&mut self, s: &[u8]) {
        if self.resp3 {
            self.header(b'=', s.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// Raw bytes already in RESP form.
    pub fn raw(&mut self, s: &[u8]) {
        self.buf.extend_from_slice(s);
    }
}

/// Formats a double as Redis does in replies: `inf`, `-inf`, `nan`, integers without a fraction,
/// otherwise the shortest string that reads back as the same value.
pub fn format_double(v: f64) -> String {
    if v.is_nan() {
        "nan".to_string()
    } else if v.is_infinite() {
        if v > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        }
    } else if v == v.trunc() && v.abs() < 1e17 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Formats a double as C's `%.17g`, as Redis 7.0 replies with a sorted-set score (7.2 moved to
/// shortest round-trip): `0.10000000000000001`, `1e+17`, `1.7976931348623157e+308`; `inf`,
/// `-inf` and `nan` as `format_double`, and `0` for either zero.
pub fn format_double_g17(v: f64) -> String {
    let g = G17::new(v);
    String::from_utf8_lossy(g.as_bytes()).into_owned()
}

/// `%.17g` of a double in a stack buffer (no allocation on the reply path).
struct G17 {
    buf: [u8; 32],
    len: usize,
}

impl G17 {
    fn new(v: f64) -> Self {
        use std::io::Write as _;
        let mut g = G17 {
            buf: [0; 32],
            len: 0,
        };
        if !v.is_finite() {
            g.push(format_double(v).as_bytes());
            return g;
        }
        // Most scores: `%.17g` of an integer below 1e17 is its digits.
        if v == v.trunc() && v.abs() < 1e17 {
            g.push(itoa::Buffer::new().format(v as i64).as_bytes());
            return g;
        }
        // `%.16e` gives the 17 significant digits (rounded exactly, as glibc does) and the
        // exponent; `%.17g` prints those digits in `%e` style when the exponent is below -4 or
        // at least 17, else in `%f` style, without trailing zeros either way.
        let mut e = [0u8; 32];
        let n = {
            let mut w = &mut e[..];
            let _ = write!(w, "{:.16e}", v.abs());
            32 - w.len()
        };
        let e = &e[..n];
        let at = e.iter().position(|&b| b == b'e').unwrap_or(n);
        let exp: i32 = std::str::from_utf8(e.get(at + 1..).unwrap_or_default())
            .ok()
            .and_then(|x| x.parse().ok())
            .unwrap_or(0);
        let mut digits = [b'0'; 17];
        digits[0] = e[0];
        let frac = e.get(2..at).unwrap_or_default();
        digits[1..1 + frac.len()].copy_from_slice(frac);
        let mut nd = 17;
        while nd > 1 && digits[nd - 1] == b'0' {
            nd -= 1;
        }
        let digits = &digits[..nd];
        if v < 0.0 {
            g.push(b"-");
        }
        if (-4..17).contains(&exp) {
            if exp >= 0 {
                let whole = exp as usize + 1;
                if nd <= whole {
                    g.push(digits);
                    for _ in nd..whole {
                        g.push(b"0");
                    }
                } else {
                    g.push(&digits[..whole]);
                    g.push(b".");
                    g.push(&digits[whole..]);
                }
            } else {
                g.push(b"0.");
                for _ in 1..-exp {
                    g.push(b"0");
                }
                g.push(digits);
            }
        } else {
            g.push(&digits[..1]);
            if nd > 1 {
                g.push(b".");
                g.push(&digits[1..]);
            }
            g.push(if exp < 0 { b"e-" } else { b"e+" });
            if exp.unsigned_abs() < 10 {
                g.push(b"0");
            }
            g.push(itoa::Buffer::new().format(exp.unsigned_abs()).as_bytes());
        }
        g
    }

    fn push(&mut self, b: &[u8]) {
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g17_matches_c_printf() {
        // Expected texts from C printf("%.17g") (and redis-server 7.0.15's ZSCORE).
        for (v, want) in [
            (0.6456809079487253, "0.64568090794872535"),
            (0.1, "0.10000000000000001"),
            (1e-5, "1.0000000000000001e-05"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (1e17, "1e+17"),
            (3.0, "3"),
            (-2.5, "-2.5"),
            (-0.0, "0"),
            (123456.789, "123456.789"),
            (4503599627370497.0, "4503599627370497"),
            (1e-300, "1e-300"),
            (3.1, "3.1000000000000001"),
            (0.0001, "0.0001"),
            (5e-324, "4.9406564584124654e-324"),
            (-1e300, "-1.0000000000000001e+300"),
            (99999999999999999.0, "1e+17"),
            (1.5e16, "15000000000000000"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
            (2.5e-5, "2.5000000000000001e-05"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(format_double_g17(v), want, "{v:e}");
        }
    }

    #[test]
    fn shapes_follow_protocol() {
        let mut r = Reply::new();
        r.null();
        r.map(1);
        r.double(1.5);
        r.bool(true);
        assert_eq!(r.buf, b"$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n");
        let mut r = Reply::new();
        r.set_resp3(true);
        r.null();
        r.map(1);
        r.double(f64::INFINITY);
        r.bool(false);
        r.verbatim(b"a");
        assert_eq!(r.buf, b"_\r\n%1\r\n,inf\r\n#f\r\n=5\r\ntxt:a\r\n");
    }

    #[test]
    fn errors_cannot_break_framing() {
        let mut r = Reply::new();
        r.error("ERR a\r\nb");
        assert_eq!(r.buf, b"-ERR a  b\r\n");
        // Bytes that are not UTF-8 go out as given.
        let mut r = Reply::new();
        r.error(b"\xff\xfeBAD oops\n");
        assert_eq!(r.buf, b"-\xff\xfeBAD oops \r\n");
    }
}

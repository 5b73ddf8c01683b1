//! Replays RESP3 bytes (generated from Redis's own replies) through a [`Reply`], so a RESP2
//! client gets them in RESP2's shapes (maps and sets as flat arrays).

use shoal_resp::Reply;

/// Writes the first `n` values of `data` to `out`; returns the bytes after them. The data is
/// generated and trusted: a malformed value stops the replay (and a test catches it).
pub fn replay<'a>(out: &mut Reply, mut data: &'a [u8], n: usize) -> &'a [u8] {
    for _ in 0..n {
        match value(out, data) {
            Some(rest) => data = rest,
            None => return &[],
        }
    }
    data
}

/// The header line after the type byte, and what follows it.
fn line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = data.windows(2).position(|w| w == b"\r\n")?;
    Some((&data[1..end], &data[end + 2..]))
}

fn count(s: &[u8]) -> Option<usize> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn value<'a>(out: &mut Reply, data: &'a [u8]) -> Option<&'a [u8]> {
    let tag = *data.first()?;
    let (head, rest) = line(data)?;
    match tag {
        b'+' => {
            out.simple(head);
            Some(rest)
        }
        b':' => {
            out.int(std::str::from_utf8(head).ok()?.parse().ok()?);
            Some(rest)
        }
        b'$' => {
            let n = count(head)?;
            let body = rest.get(..n)?;
            out.bulk(body);
            rest.get(n + 2..)
        }
        b'*' | b'~' | b'%' => {
            let n = count(head)?;
            let items = match tag {
                b'*' => {
                    out.array(n);
                    n
                }
                b'~' => {
                    out.set(n);
                    n
                }
                _ => {
                    out.map(n);
                    2 * n
                }
            };
            let mut d = rest;
            for _ in 0..items {
                d = value(out, d)?;
            }
            Some(d)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_in_both_protocols() {
        let data = b"%1\r\n$1\r\na\r\n~2\r\n+x\r\n:-3\r\n*0\r\n";
        let mut out = Reply::new();
        out.set_resp3(true);
        let rest = replay(&mut out, data, 1);
        assert_eq!(rest, b"*0\r\n");
        assert_eq!(out.buf, b"%1\r\n$1\r\na\r\n~2\r\n+x\r\n:-3\r\n");
        let mut out = Reply::new();
        replay(&mut out, data, 2);
        assert_eq!(out.buf, b"*2\r\n$1\r\na\r\n*2\r\n+x\r\n:-3\r\n*0\r\n");
    }
}

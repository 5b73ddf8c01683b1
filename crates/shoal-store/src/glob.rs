//! Glob-style pattern matching as Redis's `stringmatchlen` (KEYS, SCAN MATCH).
//!
//! `*` any run, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` classes, `\x` escapes `x`.

/// True if `s` matches `pat`. Linear backtracking (to the last `*` only), so a hostile pattern
/// such as `a*a*a*…b` costs O(len(pat) × len(s)), not exponential time.
pub fn glob_match(p: &[u8], s: &[u8], nocase: bool) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() && p[pi] == b'*' {
            pi += 1;
            star = Some((pi, si));
            continue;
        }
        if si == s.len() {
            while pi < p.len() && p[pi] == b'*' {
                pi += 1;
            }
            return pi == p.len();
        }
        if pi < p.len()
            && let Some(next) = token(p, pi, s[si], nocase)
        {
            pi = next;
            si += 1;
            continue;
        }
        match star {
            Some((sp, ss)) => {
                pi = sp;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Matches the single pattern token at `p[i]` (not `*`) against byte `c`; returns the index after
/// the token on a match.
fn token(p: &[u8], i: usize, c: u8, nocase: bool) -> Option<usize> {
    match p[i] {
        b'?' => Some(i + 1),
        b'\\' if i + 1 < p.len() => eq(p[i + 1], c, nocase).then_some(i + 2),
        b'[' => {
            let mut j = i + 1;
            let not = p.get(j) == Some(&b'^');
            if not {
                j += 1;
            }
            let mut hit = false;
            while j < p.len() && p[j] != b']' {
                if p[j] == b'\\' && j + 1 < p.len() {
                    hit |= eq(p[j + 1], c, nocase);
                    j += 2;
                } else if j + 2 < p.len() && p[j + 1] == b'-' {
                    let (mut a, mut b) = (p[j], p[j + 2]);
                    if a > b {
                        std::mem::swap(&mut a, &mut b);
                    }
                    let x = if nocase { c.to_ascii_lowercase() } else { c };
                    let (a, b) = if nocase {
                        (a.to_ascii_lowercase(), b.to_ascii_lowercase())
                    } else {
                        (a, b)
                    };
                    hit |= x >= a && x <= b;
                    j += 3;
                } else {
                    hit |= eq(p[j], c, nocase);
                    j += 1;
                }
            }
            // Past `]`, or at the end when the class is unterminated (as Redis).
            (hit != not).then_some((j + 1).min(p.len()))
        }
        x => eq(x, c, nocase).then_some(i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match as m;

    #[test]
    fn redis_examples() {
        assert!(m(b"h?llo", b"hello", false));
        assert!(m(b"h*llo", b"heeeello", false));
        assert!(m(b"h[ae]llo", b"hallo", false));
        assert!(!m(b"h[ae]llo", b"hillo", false));
        assert!(m(b"h[^e]llo", b"hallo", false));
        assert!(!m(b"h[^e]llo", b"hello", false));
        assert!(m(b"h[a-b]llo", b"hbllo", false));
        assert!(m(b"*", b"", false));
        assert!(m(b"a\\*b", b"a*b", false));
        assert!(!m(b"a\\*b", b"axb", false));
        assert!(m(b"KEY:*", b"key:1", true));
        assert!(!m(b"key:?", b"key:", false));
    }

    #[test]
    fn hostile_pattern_terminates() {
        let pat = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b".repeat(50);
        assert!(!m(&pat, &[b'a'; 5000], false));
        assert!(m(b"*a*b*", b"xxaxxbxx", false));
        assert!(m(b"[abc", b"a", false));
    }
}

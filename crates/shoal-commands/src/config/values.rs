//! Value types of configuration parameters: how a value given by a config file, the command line
//! or CONFIG SET is checked and written in its canonical form, with Redis's error texts.

use super::ObufLimit;

/// The type of a parameter's value.
#[derive(Clone, Copy, Debug)]
pub enum Ty {
    /// `yes` / `no`.
    Bool,
    /// A whole number within `min..=max`.
    Int { min: i64, max: i64 },
    /// A byte count with an optional unit (`1gb`, `64mb`...), within `min..=max`.
    Mem { min: i64, max: i64 },
    /// A byte count, or a percentage of maxmemory (`10%`, stored negated as Redis does).
    MemOrPercent,
    /// An octal number up to `max` (file permissions).
    Octal { max: u32 },
    /// One of these words (case-insensitive; the canonical form is the table's spelling).
    Enum(&'static [&'static str]),
    /// Free text.
    Str,
    /// Checked by its own function, which returns the canonical form.
    Custom(fn(&str) -> Result<String, String>),
}

const NOT_INT: &str = "argument couldn't be parsed into an integer";

fn range_error(min: i64, max: i64) -> String {
    format!("argument must be between {min} and {max} inclusive")
}

impl Ty {
    /// Checks `v` and returns the value in canonical form (what CONFIG GET answers).
    pub fn check(&self, v: &str) -> Result<String, String> {
        match *self {
            Ty::Bool => parse_yes_no(v).map(|b| yes_no(b).to_string()),
            Ty::Int { min, max } => {
                let n: i64 = v.trim().parse().map_err(|_| NOT_INT.to_string())?;
                if n < min || n > max {
                    return Err(range_error(min, max));
                }
                Ok(n.to_string())
            }
            Ty::Mem { min, max } => {
                let n =
                    parse_memory(v).map_err(|_| "argument must be a memory value".to_string())?;
                if n > max as u64 || (n as i64) < min {
                    return Err(range_error(min, max));
                }
                Ok(n.to_string())
            }
            Ty::MemOrPercent => {
                if let Some(p) = v.strip_suffix('%') {
                    let n: i64 = p
                        .parse()
                        .map_err(|_| "argument must be a memory or percent value".to_string())?;
                    if n > 100 {
                        return Err("percentage argument must be less or equal to 100".into());
                    }
                    if n < 0 {
                        return Err("argument must be a memory or percent value".into());
                    }
                    return Ok(format!("{n}%"));
                }
                parse_memory(v)
                    .map(|n| n.to_string())
                    .map_err(|_| "argument must be a memory or percent value".to_string())
            }
            Ty::Octal { max } => match u32::from_str_radix(v, 8) {
                Ok(n) if n <= max => Ok(format!("{n:o}")),
                Ok(_) => Err(range_error(0, max as i64)),
                Err(_) => Err(NOT_INT.into()),
            },
            Ty::Enum(words) => words
                .iter()
                .find(|w| w.eq_ignore_ascii_case(v))
                .map(|w| w.to_string())
                .ok_or_else(|| {
                    format!(
                        "argument(s) must be one of the following: {}",
                        words.join(", ")
                    )
                }),
            Ty::Str => Ok(v.to_string()),
            Ty::Custom(f) => f(v),
        }
    }

    /// The value's form for `--help` and the README (`<yes|no>`, `<bytes>`...).
    pub fn hint(&self) -> String {
        match self {
            Ty::Bool => "yes|no".into(),
            Ty::Int { .. } => "number".into(),
            Ty::Mem { .. } => "bytes".into(),
            Ty::MemOrPercent => "bytes|percent".into(),
            Ty::Octal { .. } => "octal".into(),
            Ty::Enum(w) => w.join("|"),
            Ty::Str | Ty::Custom(_) => "text".into(),
        }
    }
}

/// Redis's `memtoll`: a byte count with an optional unit (`k` = 1000, `kb` = 1024, `m`, `mb`,
/// `g`, `gb`), case-insensitive.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, mul)| lower.strip_suffix(suf).map(|n| (n.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("argument must be a memory value, got '{s}'"))?;
    n.checked_mul(mul)
        .ok_or_else(|| format!("memory value out of range: '{s}'"))
}

/// `yes` / `no`, as redis.conf booleans.
pub fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub fn parse_loglevel(s: &str) -> Result<String, String> {
    Ty::Enum(&["debug", "verbose", "notice", "warning", "nothing"]).check(s)
}

/// A `maxmemory-policy` name (Redis's, and shoal's S3-FIFO pair).
pub fn parse_policy(s: &str) -> Result<shoal_store::Policy, String> {
    shoal_store::Policy::parse(s).ok_or_else(|| {
        format!(
            "argument(s) must be one of the following: {}",
            shoal_store::Policy::names().collect::<Vec<_>>().join(", ")
        )
    })
}

/// An integer within `lo..=hi`, with Redis's error text.
pub fn parse_in_range(s: &str, lo: u32, hi: u32) -> Result<u32, String> {
    Ty::Int {
        min: lo as i64,
        max: hi as i64,
    }
    .check(s)
    .map(|v| v.parse().unwrap_or(lo))
}

/// `<class> <hard> <soft> <soft seconds>` repeated, as CONFIG SET and redis.conf take it; classes
/// not named keep their value in `into`.
pub fn parse_obuf_limits(s: &str, into: &mut [ObufLimit; 3]) -> Result<(), String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut out = *into;
    for w in words.chunks(4) {
        let class = match w[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into());
            }
        };
        let bad = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        out[class] = ObufLimit {
            hard: parse_memory(w[1]).map_err(|_| bad())?,
            soft: parse_memory(w[2]).map_err(|_| bad())?,
            soft_secs: w[3].parse().map_err(|_| bad())?,
        };
    }
    *into = out;
    Ok(())
}

/// The checker of `client-output-buffer-limit` (the merge happens in its setter).
pub fn check_obuf(s: &str) -> Result<String, String> {
    let mut scratch = super::OBUF_DEFAULTS;
    parse_obuf_limits(s, &mut scratch)?;
    Ok(s.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `save`: `""` or `<seconds> <changes>` pairs.
pub fn check_save(s: &str) -> Result<String, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if !words.len().is_multiple_of(2) || words.iter().any(|w| w.parse::<u64>().is_err()) {
        return Err("Invalid save parameters".into());
    }
    Ok(words.join(" "))
}

/// `bind`: up to 16 addresses; `*`, `::*`, `localhost` or an IP, each optionally `-`-prefixed.
pub fn check_bind(s: &str) -> Result<String, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() > 16 {
        return Err("Too many bind addresses specified.".into());
    }
    for b in &words {
        let host = b.strip_prefix('-').unwrap_or(b);
        if !matches!(host, "*" | "::*" | "localhost") && host.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("Invalid bind address '{b}'"));
        }
    }
    Ok(words.join(" "))
}

/// `replicaof`: `<host> <port>` or `no one`.
pub fn check_replicaof(s: &str) -> Result<String, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.as_slice() {
        [] => Ok(String::new()),
        [a, b] if a.eq_ignore_ascii_case("no") && b.eq_ignore_ascii_case("one") => {
            Ok(String::new())
        }
        [host, port] => match port.parse::<u16>() {
            Ok(p) if p > 0 => Ok(format!("{host} {p}")),
            _ => Err("Invalid master port".into()),
        },
        _ => Err("wrong number of arguments".into()),
    }
}

/// `oom-score-adj-values`: three integers between -2000 and 2000.
pub fn check_oom_values(s: &str) -> Result<String, String> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() != 3 {
        return Err("wrong number of arguments".into());
    }
    for w in &words {
        match w.parse::<i32>() {
            Ok(n) if (-2000..=2000).contains(&n) => {}
            _ => {
                return Err(
                    "Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into(),
                );
            }
        }
    }
    Ok(words.join(" "))
}

/// `latency-tracking-info-percentiles`: numbers between 0 and 100.
pub fn check_percentiles(s: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for w in s.split_whitespace() {
        let p: f64 = w
            .parse()
            .map_err(|_| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
        if !(0.0..=100.0).contains(&p) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        out.push(shoal_resp::format_double(p));
    }
    Ok(out.join(" "))
}

/// `notify-keyspace-events`: Redis's class letters.
pub fn check_notify(s: &str) -> Result<String, String> {
    if let Some(f) = crate::notify::parse(s) {
        Ok(crate::notify::format(f))
    } else {
        Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
    }
}

/// `dbfilename` / `appendfilename`: a file name, not a path.
pub fn check_filename(s: &str) -> Result<String, String> {
    if s.contains('/') {
        Err("dbfilename can't be a path, just a filename".into())
    } else {
        Ok(s.to_string())
    }
}

/// `host:port` or `host:port@busport`, comma-separated.
pub fn check_seeds(s: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for seed in s.split([',', ' ']).filter(|w| !w.is_empty()) {
        let (hp, bus) = match seed.split_once('@') {
            Some((hp, b)) => (hp, Some(b)),
            None => (seed, None),
        };
        let ok = hp
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
            && bus.is_none_or(|b| b.parse::<u16>().is_ok());
        if !ok {
            return Err(format!("seed must be host:port[@busport], got '{seed}'"));
        }
        out.push(seed);
    }
    Ok(out.join(","))
}

/// Lock stripes: a power of two up to 65536.
pub fn check_shards(s: &str) -> Result<String, String> {
    match s.parse::<usize>() {
        Ok(n) if n.is_power_of_two() && n <= 1 << 16 => Ok(n.to_string()),
        _ => Err("argument must be a power of two between 1 and 65536".into()),
    }
}

/// A TCP port, or nothing (`""`, meaning off).
pub fn check_opt_port(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Ok(String::new());
    }
    s.parse::<u16>()
        .map(|p| p.to_string())
        .map_err(|_| range_error(0, 65535))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("100").unwrap(), 100);
        assert_eq!(parse_memory("1k").unwrap(), 1000);
        assert_eq!(parse_memory("1KB").unwrap(), 1024);
        assert_eq!(parse_memory("512mb").unwrap(), 512 << 20);
        assert_eq!(parse_memory("1gb").unwrap(), 1 << 30);
        assert_eq!(parse_memory("2g").unwrap(), 2_000_000_000);
        assert!(parse_memory("1.5gb").is_err());
        assert!(parse_memory("lots").is_err());
        assert!(parse_yes_no("maybe").is_err());
    }

    #[test]
    fn types_check_and_canonicalise_with_redis_errors() {
        assert_eq!(Ty::Bool.check("YES").unwrap(), "yes");
        assert_eq!(
            Ty::Bool.check("maybe").unwrap_err(),
            "argument must be 'yes' or 'no'"
        );
        let int = Ty::Int { min: 0, max: 10 };
        assert_eq!(int.check("7").unwrap(), "7");
        assert_eq!(
            int.check("11").unwrap_err(),
            "argument must be between 0 and 10 inclusive"
        );
        assert_eq!(
            int.check("x").unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        let mem = Ty::Mem {
            min: 0,
            max: i64::MAX,
        };
        assert_eq!(mem.check("1kb").unwrap(), "1024");
        assert_eq!(
            mem.check("lots").unwrap_err(),
            "argument must be a memory value"
        );
        let e = Ty::Enum(&["yes", "no", "local"]);
        assert_eq!(e.check("LOCAL").unwrap(), "local");
        assert_eq!(
            e.check("x").unwrap_err(),
            "argument(s) must be one of the following: yes, no, local"
        );
        assert_eq!(Ty::Octal { max: 0o777 }.check("700").unwrap(), "700");
        assert!(Ty::Octal { max: 0o777 }.check("800").is_err());
        assert_eq!(Ty::MemOrPercent.check("10%").unwrap(), "10%");
        assert_eq!(check_save(" 900 1  300 10").unwrap(), "900 1 300 10");
        assert!(check_save("900").is_err());
        assert_eq!(check_bind("127.0.0.1 -::1").unwrap(), "127.0.0.1 -::1");
        assert!(check_bind("nowhere").is_err());
        assert_eq!(check_replicaof("no one").unwrap(), "");
        assert_eq!(check_replicaof("h 7000").unwrap(), "h 7000");
        assert!(check_replicaof("h 0").is_err());
        assert_eq!(check_percentiles("50 99 99.9").unwrap(), "50 99 99.9");
    }

    #[test]
    fn output_buffer_limits_parse_as_redis() {
        let mut l = super::super::OBUF_DEFAULTS;
        parse_obuf_limits("normal 1mb 512kb 10 pubsub 1 2 3", &mut l).unwrap();
        assert_eq!(l[0].hard, 1 << 20);
        assert_eq!(l[2].soft_secs, 3);
        assert!(parse_obuf_limits("normal 1 2", &mut l).is_err());
        assert!(parse_obuf_limits("nobody 1 2 3", &mut l).is_err());
        assert!(parse_obuf_limits("normal x 2 3", &mut l).is_err());
        assert_eq!(l[0].hard, 1 << 20);
    }
}

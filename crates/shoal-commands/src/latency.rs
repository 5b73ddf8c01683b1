//! The latency monitor (Redis's latency.c): events that took at least
//! `latency-monitor-threshold` milliseconds — `command`, `fast-command`, `expire-cycle`,
//! `eviction-cycle`, `eviction-del` — each a ring of its last 160 per-second worst samples and
//! its all-time worst. With the threshold at 0 (the default) recording costs one atomic load.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

/// Samples kept per event (Redis's LATENCY_TS_LEN).
pub const HISTORY_LEN: usize = 160;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Unix seconds.
    pub time: u64,
    /// Milliseconds.
    pub ms: u64,
}

/// One event's time series: oldest first, at most [`HISTORY_LEN`].
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub samples: std::collections::VecDeque<Sample>,
    pub max: u64,
}

impl Series {
    /// Redis's latencyAddSample: one sample per second (the worst), the all-time worst.
    fn add(&mut self, now: u64, ms: u64) {
        self.max = self.max.max(ms);
        if let Some(last) = self.samples.back_mut()
            && last.time == now
        {
            last.ms = last.ms.max(ms);
            return;
        }
        if self.samples.len() == HISTORY_LEN {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample { time: now, ms });
    }
}

#[derive(Default)]
pub struct LatencyMonitor {
    /// Milliseconds; 0 = off.
    pub threshold_ms: AtomicU64,
    events: Mutex<BTreeMap<&'static str, Series>>,
}

fn now_secs() -> u64 {
    crate::ctx::unix_ms() / 1000
}

impl LatencyMonitor {
    /// Records `event` if it took at least the threshold (Redis's latencyAddSampleIfNeeded).
    #[inline]
    pub fn record(&self, event: &'static str, ms: u64) {
        let t = self.threshold_ms.load(Relaxed);
        if t != 0 && ms >= t {
            self.add(event, ms, now_secs());
        }
    }

    /// Whether the monitor is on (callers skip timing what it would not record).
    #[inline]
    pub fn enabled(&self) -> bool {
        self.threshold_ms.load(Relaxed) != 0
    }

    #[cold]
    fn add(&self, event: &'static str, ms: u64, now: u64) {
        self.events.lock().entry(event).or_default().add(now, ms);
    }

    /// A copy of every event's series.
    pub fn snapshot(&self) -> Vec<(&'static str, Series)> {
        self.events
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    pub fn series(&self, event: &[u8]) -> Option<(&'static str, Series)> {
        self.events
            .lock()
            .iter()
            .find(|(k, _)| k.as_bytes() == event)
            .map(|(k, v)| (*k, v.clone()))
    }

    /// Forgets `event` (case-insensitive), or every event; returns how many were forgotten.
    pub fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut ev = self.events.lock();
        let before = ev.len();
        match event {
            None => ev.clear(),
            Some(e) => ev.retain(|k, _| !k.as_bytes().eq_ignore_ascii_case(e)),
        }
        before - ev.len()
    }
}

/// Redis's analyzeLatencyForEvent: (samples, average, mean deviation, period seconds).
fn analyze(s: &Series, now: u64) -> (u64, u64, u64, u64) {
    let n = s.samples.len() as u64;
    if n == 0 {
        return (0, 0, 0, 0);
    }
    let sum: u64 = s.samples.iter().map(|x| x.ms).sum();
    let avg = sum / n;
    let oldest = s.samples.iter().map(|x| x.time).min().unwrap_or(now);
    let period = now.saturating_sub(oldest).max(1);
    let mad = s.samples.iter().map(|x| avg.abs_diff(x.ms)).sum::<u64>() / n;
    (n, avg, mad, period)
}

/// What LATENCY DOCTOR reads besides the events.
pub struct DoctorInput {
    pub threshold_ms: u64,
    pub slowlog_slower_than: i64,
    pub hz: u64,
}

/// Redis's createLatencyReport, for the events shoal records.
pub fn doctor(events: &[(&'static str, Series)], c: &DoctorInput, now: u64) -> String {
    if events.is_empty() && c.threshold_ms == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    let mut r = String::new();
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut hz, mut large_objects) = (false, false, false);
    let mut advices = 0;
    for (i, (event, s)) in events.iter().enumerate() {
        if i == 0 {
            r.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let (n, avg, mad, period) = analyze(s, now);
        r.push_str(&format!(
            "{}. {event}: {n} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.",
            i + 1,
            period as f64 / n.max(1) as f64,
            s.max
        ));
        match *event {
            "command" => {
                if c.slowlog_slower_than == 0 {
                    slowlog_enabled = true;
                    advices += 1;
                } else if c.slowlog_slower_than / 1000 > c.threshold_ms as i64 {
                    slowlog_tuning = true;
                    advices += 1;
                }
                slowlog_inspect = true;
                large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                scheduler = true;
                advices += 1;
            }
            "expire-cycle" => {
                hz = true;
                large_objects = true;
                advices += 2;
            }
            "eviction-cycle" => {
                large_objects = true;
                advices += 1;
            }
            _ => {}
        }
        r.push('\n');
    }
    if events.is_empty() {
        r.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return r;
    }
    if advices == 0 {
        r.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        return r;
    }
    r.push_str("\nI have a few advices for you:\n\n");
    let us = c.threshold_ms * 1000;
    if slowlog_enabled {
        r.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"));
    }
    if slowlog_tuning {
        r.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {us}'.\n"));
    }
    if slowlog_inspect {
        r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if scheduler {
        r.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other softawre in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if hz && c.hz < 100 {
        r.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if large_objects {
        r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    r
}

/// Redis's latencyCommandGenSparkeline: a header, a rule, and an 80-column sparkline of the
/// samples with "how long ago" labels written downwards.
pub fn graph(event: &str, s: &Series, now: u64) -> String {
    let (min, max) = (
        s.samples.iter().map(|x| x.ms).min().unwrap_or(0),
        s.samples.iter().map(|x| x.ms).max().unwrap_or(0),
    );
    let mut out = format!(
        "{event} - high {max} ms, low {min} ms (all time high {} ms)\n{}\n",
        s.max,
        "-".repeat(80)
    );
    let seq: Vec<(f64, String)> = s
        .samples
        .iter()
        .map(|x| {
            let ago = now.saturating_sub(x.time);
            let label = if ago < 60 {
                format!("{ago}s")
            } else if ago < 3600 {
                format!("{}m", ago / 60)
            } else if ago < 86400 {
                format!("{}h", ago / 3600)
            } else {
                format!("{}d", ago / 86400)
            };
            (x.ms as f64, label)
        })
        .collect();
    sparkline(&mut out, &seq, 80, 4);
    out
}

/// Redis's sparklineRender with SPARKLINE_FILL.
fn sparkline(out: &mut String, seq: &[(f64, String)], columns: usize, rows: usize) {
    if seq.is_empty() {
        return;
    }
    let min = seq.iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
    let max = seq.iter().map(|x| x.0).fold(f64::NEG_INFINITY, f64::max);
    for (n, part) in seq.chunks(columns).enumerate() {
        if n != 0 {
            out.push('\n');
        }
        sparkline_range(out, part, min, max, rows);
    }
}

fn sparkline_range(out: &mut String, part: &[(f64, String)], min: f64, max: f64, rows: usize) {
    const FILL: &[u8] = b"_o#";
    let charset_len = FILL.len() as i64;
    let steps = charset_len * rows as i64;
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let has_labels = part.iter().any(|x| !x.1.is_empty());
    let mut row = 0i64;
    loop {
        let mut again = false;
        let mut chars = vec![b' '; part.len()];
        for (j, (value, label)) in part.iter().enumerate() {
            let relval = value - min;
            let step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
            let step = step.clamp(0, steps - 1);
            if row < rows as i64 {
                let idx = step - (rows as i64 - row - 1) * charset_len;
                again = true;
                if (0..charset_len).contains(&idx) {
                    chars[j] = FILL[idx as usize];
                } else if idx >= charset_len {
                    chars[j] = b'|';
                }
            } else {
                // One blank line between the graph and the labels.
                if has_labels && row - (rows as i64) < 1 {
                    again = true;
                    break;
                }
                let k = (row - rows as i64 - 1) as usize;
                if let Some(&c) = label.as_bytes().get(k) {
                    again = true;
                    chars[j] = c;
                }
            }
        }
        if !again {
            break;
        }
        row += 1;
        out.push_str(&String::from_utf8_lossy(&chars));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_keeps_the_worst() {
        let m = LatencyMonitor::default();
        m.add("command", 5, 100);
        m.add("command", 9, 100);
        m.add("command", 3, 100);
        m.add("command", 2, 101);
        let (_, s) = m.series(b"command").unwrap();
        assert_eq!(
            s.samples.iter().copied().collect::<Vec<_>>(),
            vec![Sample { time: 100, ms: 9 }, Sample { time: 101, ms: 2 }]
        );
        assert_eq!(s.max, 9);
        for t in 0..500 {
            m.add("command", 1, 200 + t);
        }
        assert_eq!(m.series(b"command").unwrap().1.samples.len(), HISTORY_LEN);
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert_eq!(m.reset(None), 0);
    }

    #[test]
    fn threshold_zero_records_nothing() {
        let m = LatencyMonitor::default();
        m.record("command", 1_000_000);
        assert!(m.snapshot().is_empty());
        m.threshold_ms.store(10, Relaxed);
        m.record("command", 9);
        assert!(m.snapshot().is_empty());
        m.record("command", 10);
        assert_eq!(m.snapshot().len(), 1);
    }

    /// The graph Redis 7.0.15 drew for samples of 1 ms (1 s ago) and 50 ms (0 s ago).
    #[test]
    fn graph_matches_redis() {
        let mut s = Series::default();
        s.add(99, 1);
        s.add(100, 50);
        let g = graph("command", &s, 100);
        let want = format!(
            "command - high 50 ms, low 1 ms (all time high 50 ms)\n{}\n #\n |\n |\n_|\n  \n10\nss\n",
            "-".repeat(80)
        );
        assert_eq!(g, want);
    }

    #[test]
    fn doctor_texts() {
        let c = DoctorInput {
            threshold_ms: 0,
            slowlog_slower_than: 10000,
            hz: 10,
        };
        assert!(doctor(&[], &c, 0).starts_with("I'm sorry, Dave"));
        let c = DoctorInput {
            threshold_ms: 1,
            ..c
        };
        assert!(doctor(&[], &c, 0).starts_with("Dave, no latency spike"));
        let mut s = Series::default();
        s.add(99, 1);
        s.add(100, 50);
        let r = doctor(&[("command", s)], &c, 100);
        assert!(r.contains("1. command: 2 latency spikes (average 25ms, mean deviation 24ms, period 0.50 sec). Worst all time event 50ms.\n"), "{r}");
        assert!(r.contains("'CONFIG SET slowlog-log-slower-than 1000'"));
    }
}

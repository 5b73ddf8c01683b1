//! shoal: a Redis-compatible, distributed, in-memory cache server.
//!
//! The binary `shoal-server` parses its configuration ([`config`]) and runs the [`server`].

pub mod config;
pub mod server;

/// Starts tracing at the configured level (RUST_LOG, when set, wins), logging to stdout, as
/// text or (`json`) one JSON object per line.
pub fn init_tracing(loglevel: &str, format: &str) {
    use tracing_subscriber::EnvFilter;
    let level = match loglevel {
        "debug" => "debug",
        "verbose" => "info",
        "notice" => "info",
        "warning" => "warn",
        _ => "off",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init()
    };
}

/// jemalloc's own view of its memory (INFO memory's `allocator_*` fields). Advancing the
/// statistics epoch costs about 10 µs, fine for INFO and the metrics page.
pub fn jemalloc_stats() -> shoal_store::mem::AllocatorStats {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    shoal_store::mem::AllocatorStats {
        name: "jemalloc-5.3.0",
        allocated: stats::allocated::read().unwrap_or(0) as u64,
        active: stats::active::read().unwrap_or(0) as u64,
        resident: stats::resident::read().unwrap_or(0) as u64,
    }
}

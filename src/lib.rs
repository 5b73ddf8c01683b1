//! shoal: a Redis-compatible, distributed, in-memory cache server.
//!
//! The binary `shoal-server` parses its configuration ([`config`]) and runs the [`server`].

pub mod config;
pub mod process;
pub mod server;

/// Starts tracing at the configured level (RUST_LOG, when set, wins), as text or (`json`) one
/// JSON object per line, to standard output or appended to `logfile`.
pub fn init_tracing(loglevel: &str, format: &str, logfile: &str) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let level = match loglevel {
        "debug" => "debug",
        "verbose" => "info",
        "notice" => "info",
        "warning" => "warn",
        _ => "off",
    };
    let (writer, ansi) = if logfile.is_empty() {
        (
            BoxMakeWriter::new(std::io::stdout),
            std::io::IsTerminal::is_terminal(&std::io::stdout()),
        )
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| format!("Can't open the log file {logfile}: {e}"))?;
        (BoxMakeWriter::new(std::sync::Mutex::new(f)), false)
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(writer);
    let _ = if format == "json" {
        b.json().try_init()
    } else {
        b.with_ansi(ansi).try_init()
    };
    Ok(())
}

/// jemalloc's malloc_stats_print report (MEMORY MALLOC-STATS).
pub fn jemalloc_report() -> String {
    let mut out = Vec::new();
    match tikv_jemalloc_ctl::stats_print::stats_print(&mut out, Default::default()) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("jemalloc statistics unavailable: {e}"),
    }
}

/// Purges every arena's dirty pages (MEMORY PURGE), as Redis's jemalloc_purge: the
/// `arena.<narenas>.purge` control (MALLCTL_ARENAS_ALL), which takes no value in or out.
pub fn jemalloc_purge() -> bool {
    let Ok(n) = tikv_jemalloc_ctl::arenas::narenas::read() else {
        return false;
    };
    let Ok(name) = std::ffi::CString::new(format!("arena.{n}.purge")) else {
        return false;
    };
    // SAFETY: a NUL-terminated control name; no old or new value buffers, as this control
    // requires.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    rc == 0
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

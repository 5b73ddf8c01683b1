//! `shoal-server [config-file] [--option value ...]`

/// jemalloc (Redis's allocator: size classes without per-allocation headers), counted so that
/// `used_memory` and `maxmemory` see exactly what it holds.
#[global_allocator]
static GLOBAL: shoal_store::mem::Counting<tikv_jemallocator::Jemalloc> =
    shoal_store::mem::Counting(tikv_jemallocator::Jemalloc);

fn main() {
    let config = match shoal::config::load(std::env::args().collect()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shoal-server: {e}");
            std::process::exit(1);
        }
    };
    if config.daemonize
        && let Err(e) = shoal::process::daemonize()
    {
        eprintln!("shoal-server: cannot daemonize: {e}");
        std::process::exit(1);
    }
    shoal_store::mem::set_allocator_stats(shoal::jemalloc_stats);
    shoal_store::mem::set_allocator_tools(shoal_store::mem::AllocatorTools {
        report: shoal::jemalloc_report,
        purge: shoal::jemalloc_purge,
    });
    if let Err(e) = shoal::init_tracing(&config.loglevel, &config.log_format, &config.logfile) {
        eprintln!("shoal-server: {e}");
        std::process::exit(1);
    }
    let pidfile = shoal::process::PidFile::create(&config.pidfile);
    // " PID: n" is what Redis's test suite waits for in the log of a server it spawned.
    tracing::info!(
        "shoal {} starting, PID: {}, threads={} shards={} databases={}",
        env!("CARGO_PKG_VERSION"),
        std::process::id(),
        config.threads,
        config.shards,
        config.databases
    );
    let code = shoal::server::run(config);
    drop(pidfile);
    std::process::exit(code);
}

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
    shoal_store::mem::set_allocator_stats(shoal::jemalloc_stats);
    shoal::init_tracing(&config.loglevel, &config.log_format);
    tracing::info!(
        "shoal {} starting: threads={} shards={} databases={}",
        env!("CARGO_PKG_VERSION"),
        config.threads,
        config.shards,
        config.databases
    );
    std::process::exit(shoal::server::run(config));
}

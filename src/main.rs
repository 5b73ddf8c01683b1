//! `shoal-server [config-file] [--option value ...]`

fn main() {
    let config = match shoal::config::load(std::env::args().collect()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shoal-server: {e}");
            std::process::exit(1);
        }
    };
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

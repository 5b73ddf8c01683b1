//! The server's side of persistence: loading the RDB file at startup (commands get -LOADING
//! meanwhile), the save-point check once a second, and the save on the way out after a signal.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use shoal_commands::Shared;
use tokio_util::sync::CancellationToken;

/// Loads `dir/dbfilename` if it exists. An error means the server must not serve (part of the
/// file may be in memory).
pub async fn load_at_start(shared: &Arc<Shared>) -> Result<(), String> {
    let path = shoal_commands::persist::rdb_path(shared);
    let started = Instant::now();
    let s = shared.clone();
    let r = tokio::task::spawn_blocking(move || shoal_commands::persist::load_file(&s, &path))
        .await
        .map_err(|e| format!("the loading task failed: {e}"))
        .and_then(|r| r);
    shared.persist.set_loading(false);
    if let Some(stats) = r? {
        tracing::info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            stats.keys,
            stats.expired
        );
        tracing::info!(
            "DB loaded from disk: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Checks the save points (and BGSAVE SCHEDULE) once a second.
pub fn spawn_cron(shared: Arc<Shared>, cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            shoal_commands::persist::cron(&shared);
        }
    });
}

/// SYNC: sends the dataset as an RDB image in one bulk (`$<len>` and the bytes), as Redis
/// sends `redis-cli --rdb`; the connection closes after it.
/// `keys` false: only the function libraries (`REPLCONF rdb-filter-only functions`).
pub async fn send_rdb<S: super::socket::Socket>(stream: &S, shared: &Arc<Shared>, keys: bool) {
    let s = shared.clone();
    let image =
        tokio::task::spawn_blocking(move || shoal_commands::persist::rdb_image(&s, keys)).await;
    let image = match image {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            tracing::warn!("SYNC: cannot make the RDB image: {e}");
            return;
        }
        Err(e) => {
            tracing::warn!("SYNC: cannot make the RDB image: {e}");
            return;
        }
    };
    let mut frame = format!("${}\r\n", image.len()).into_bytes();
    frame.extend_from_slice(&image);
    if let Err(e) = super::socket::send_all(stream, &frame).await {
        tracing::info!("SYNC: the client went away: {e}");
    } else {
        tracing::info!("Synchronization with replica succeeded (RDB image sent)");
    }
}

/// After SIGINT/SIGTERM (SHUTDOWN did its own): saves when save points are configured.
pub async fn save_on_exit(shared: &Arc<Shared>) {
    if shared.persist.exit_saved.load(Relaxed) || shared.config.read().save.is_empty() {
        return;
    }
    tracing::info!("Saving the final RDB snapshot before exiting.");
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || shoal_commands::persist::save_before_exit(&s)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!("Error trying to save the DB: {e}"),
        Err(e) => tracing::warn!("Error trying to save the DB: {e}"),
    }
}

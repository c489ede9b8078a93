//! Reloading on SIGHUP: the feature database is read again and swapped in whole.

use std::path::PathBuf;
use std::sync::Arc;

use routeguide::index::SharedIndex;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use super::serve::load_database;

/// Installs the SIGHUP handler now and returns the task that, at each SIGHUP, loads the
/// database at `db` again and serves it through `index` once it has loaded.
///
/// Calls in flight finish on the index they started with; a file that fails to load is
/// logged (with its file, line and column) and the previous database keeps serving. The
/// built-in database never changes, so a SIGHUP without `--db` only logs that.
///
/// # Errors
/// The handler cannot be installed (logged by the caller).
pub fn spawn_database_reloader(
    db: Option<PathBuf>,
    index: SharedIndex,
) -> std::io::Result<JoinHandle<()>> {
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!(signal = "SIGHUP", "reload requested");
            let Some(path) = db.clone() else {
                tracing::info!("the built-in database does not change; nothing to reload");
                continue;
            };
            match load_database(Some(path)).await {
                Ok(loaded) => {
                    let features = loaded.len();
                    drop(index.replace(Arc::new(loaded)));
                    tracing::info!(features, "database reloaded");
                }
                Err(error) => tracing::error!(
                    error = %super::describe(&error),
                    "database reload failed; still serving the previous database"
                ),
            }
        }
    }))
}

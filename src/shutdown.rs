//! The process's shutdown signal: the first SIGINT or SIGTERM.

/// Resolves when the process receives SIGINT or SIGTERM.
///
/// If a handler cannot be installed, logs it and waits for the other signal only.
pub async fn terminate_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(stream) => Some(stream),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM");
            None
        }
    };
    let sigterm = async {
        match terminate.as_mut() {
            Some(stream) => {
                stream.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let sigint = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = sigint => tracing::info!(signal = "SIGINT", "shutdown requested"),
        () = sigterm => tracing::info!(signal = "SIGTERM", "shutdown requested"),
    }
}

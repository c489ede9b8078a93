//! The process's shutdown signal: the first SIGINT or SIGTERM.

use std::future::Future;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Installs handlers for SIGINT and SIGTERM now and returns a future that resolves when
/// the process receives either.
///
/// The handlers are in place when this returns (not when the future is first polled), so
/// a signal that arrives while the server is still starting is not lost and does not kill
/// the process. If a handler cannot be installed, logs it and waits for the other signal
/// only. Must be called inside a tokio runtime.
pub fn terminate_signal() -> impl Future<Output = ()> + Send {
    let interrupt = listen(SignalKind::interrupt(), "SIGINT");
    let terminate = listen(SignalKind::terminate(), "SIGTERM");
    async move {
        tokio::select! {
            () = received(interrupt) => tracing::info!(signal = "SIGINT", "shutdown requested"),
            () = received(terminate) => tracing::info!(signal = "SIGTERM", "shutdown requested"),
        }
    }
}

/// Returns the stream of `kind` signals, or `None` (logged) when it cannot be installed.
fn listen(kind: SignalKind, name: &'static str) -> Option<Signal> {
    signal(kind)
        .inspect_err(|error| tracing::warn!(%error, signal = name, "cannot listen for signal"))
        .ok()
}

/// Resolves at the first signal of `stream`; never without one.
async fn received(stream: Option<Signal>) {
    match stream {
        Some(mut stream) => {
            stream.recv().await;
        }
        None => std::future::pending().await,
    }
}

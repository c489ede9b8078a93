//! Reloading on SIGHUP: the bearer tokens, the TLS certificate and key, and the feature
//! database are read again and swapped in, each on its own; connections stay open.

use std::path::PathBuf;
use std::sync::Arc;

use routeguide::auth::{Authenticator, TokenSet};
use routeguide::index::SharedIndex;
use routeguide::metrics::Metrics;
use routeguide::tls::{ServerTls, ServerTlsFiles, TlsAcceptor};
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use super::serve::load_database;

/// What a SIGHUP reloads: each part's source and the handle the server reads it through.
pub struct Reloadable {
    /// The `--db` file (`None`: the built-in database, which never changes).
    pub db: Option<PathBuf>,
    /// The index the server answers from.
    pub index: SharedIndex,
    /// The TLS files and the acceptor new connections use, when serving TLS.
    pub tls: Option<(ServerTlsFiles, TlsAcceptor)>,
    /// The token file and the authenticator calls are checked with, when tokens are on.
    pub tokens: Option<(PathBuf, Authenticator)>,
    /// Where each reload is counted, and the reloaded database's size recorded.
    pub metrics: Metrics,
}

/// Installs the SIGHUP handler now and returns the task that reloads `parts` at each
/// SIGHUP.
///
/// Each part is loaded whole and then swapped in: calls in flight finish on the index
/// they started with, open connections keep the TLS settings they were accepted with, and
/// calls from then on are checked against the new tokens. A part that fails to load
/// (a database with its file, line and column; a certificate or token file with its
/// name) is logged and the previous one keeps serving; the other parts still reload.
///
/// # Errors
/// The handler cannot be installed.
pub fn spawn_reloader(parts: Reloadable) -> std::io::Result<JoinHandle<()>> {
    let mut hangups = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!(signal = "SIGHUP", "reload requested");
            reload(&parts).await;
        }
    }))
}

/// Reloads every part of `parts` once.
async fn reload(parts: &Reloadable) {
    if let Some((path, authenticator)) = &parts.tokens {
        let loaded = TokenSet::load(path);
        parts.metrics.reloaded("tokens", loaded.is_ok());
        match loaded {
            Ok(tokens) => {
                let count = tokens.len();
                authenticator.replace(tokens);
                tracing::info!(file = %path.display(), tokens = count, "tokens reloaded");
            }
            Err(error) => tracing::error!(
                %error,
                "token reload failed; still accepting the previous tokens"
            ),
        }
    }
    if let Some((files, acceptor)) = &parts.tls {
        let loaded = ServerTls::load(files);
        parts.metrics.reloaded("tls", loaded.is_ok());
        match loaded {
            Ok(tls) => {
                acceptor.replace(tls);
                tracing::info!(cert = %files.cert.display(), "tls certificate reloaded");
            }
            Err(error) => tracing::error!(
                %error,
                "tls reload failed; still serving the previous certificate"
            ),
        }
    }
    let Some(path) = parts.db.clone() else {
        tracing::info!("the built-in database does not change; nothing to reload");
        return;
    };
    let loaded = load_database(Some(path), &parts.metrics).await;
    parts.metrics.reloaded("database", loaded.is_ok());
    match loaded {
        Ok(loaded) => {
            let features = loaded.len();
            drop(parts.index.replace(Arc::new(loaded)));
            tracing::info!(features, "database reloaded");
        }
        Err(error) => tracing::error!(
            error = %super::describe(&error),
            "database reload failed; still serving the previous database"
        ),
    }
}

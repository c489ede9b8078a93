//! Health follows the note store: `NOT_SERVING` while `NoteStore::check` fails, `SERVING`
//! again once it succeeds.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::health::HealthReporter;
use crate::notes::NoteStore;

/// The longest one check may take before it counts as a failure.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks `notes` every `interval` until `stop` is cancelled, and sets each of `services`
/// to `NOT_SERVING` when a check fails after one succeeded, and back to `SERVING` when one
/// succeeds after a failure; each change is logged once.
///
/// The statuses are only written while `stop` is not cancelled and this future runs, so an
/// owner that cancels `stop` and awaits the future has the last word on health.
pub async fn follow_note_store(
    notes: Arc<dyn NoteStore>,
    reporter: HealthReporter,
    services: &[&str],
    interval: Duration,
    stop: CancellationToken,
) {
    let mut available = true;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
        let result = tokio::select! {
            () = stop.cancelled() => return,
            result = tokio::time::timeout(CHECK_TIMEOUT, notes.check()) => result,
        };
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(_) => Some(format!("no answer within {CHECK_TIMEOUT:?}")),
        };
        match (available, error) {
            (true, Some(error)) => {
                tracing::warn!(%error, "note store unreachable, health is not serving");
                available = false;
                for service in services {
                    reporter.set(service, ServingStatus::NotServing);
                }
            }
            (false, None) => {
                tracing::info!("note store reachable again, health is serving");
                available = true;
                for service in services {
                    reporter.set(service, ServingStatus::Serving);
                }
            }
            _ => {}
        }
    }
}

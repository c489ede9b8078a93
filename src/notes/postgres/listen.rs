//! Live push across replicas: a dedicated connection `LISTEN`s for the notes every replica
//! stores (each exchange sends `pg_notify` in its transaction) and publishes those at watched
//! locations to this process's [`LiveFeed`]; it reconnects and listens again when the
//! connection drops.
//!
//! It is not a pooled connection: a pool may close or hand out its connections at any time,
//! and notifications only reach the session that listens.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{AsyncMessage, NoTls, Notification};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::url::error_chain;
use crate::geo::GeoPoint;
use crate::notes::{LiveFeed, Note, SequencedNote};

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Notifications read ahead of the fetch that turns them into notes.
const QUEUE: usize = 1024;

/// Returns the notification channel of the notes in `schema` (at most 63 bytes).
pub(super) fn channel(schema: &str) -> String {
    let mut channel = format!("rg_notes_{schema}");
    channel.truncate(63);
    channel
}

/// Stops the listener when dropped (or when the store closes).
#[derive(Debug)]
pub(super) struct Listener {
    _stop: DropGuard,
}

/// Starts listening for notes in `schema` and returns once the first `LISTEN` succeeded.
///
/// # Errors
/// The first connection's error; later ones are logged and retried with backoff.
pub(super) async fn start(
    config: &tokio_postgres::Config,
    schema: &str,
    feed: LiveFeed,
) -> Result<Listener, String> {
    let mut config = config.clone();
    let mut application_name = format!("routeguide-live {schema}");
    application_name.truncate(63);
    config.application_name(&application_name);
    let stop = CancellationToken::new();
    let (ready, first) = oneshot::channel();
    let schema = schema.to_owned();
    let token = stop.clone();
    tokio::spawn(async move {
        let mut ready = Some(ready);
        let mut backoff = Duration::from_millis(100);
        loop {
            let ended = session(&config, &schema, &feed, &mut ready, &token).await;
            let error = match ended {
                Ok(()) => return,
                Err(error) => error,
            };
            if let Some(ready) = ready.take() {
                let _ = ready.send(Err(error));
                return;
            }
            tracing::warn!(%error, schema, "live feed connection lost, reconnecting");
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
    match first.await {
        Ok(Ok(())) => Ok(Listener {
            _stop: stop.drop_guard(),
        }),
        Ok(Err(error)) => Err(error),
        Err(_) => Err("the live feed listener stopped".to_owned()),
    }
}

/// One connection's life: connect, `LISTEN`, publish notes until the connection fails
/// (`Err`) or `stop` is cancelled (`Ok`).
async fn session(
    config: &tokio_postgres::Config,
    schema: &str,
    feed: &LiveFeed,
    ready: &mut Option<oneshot::Sender<Result<(), String>>>,
    stop: &CancellationToken,
) -> Result<(), String> {
    let failed = |error: tokio_postgres::Error| error_chain(&error);
    let (client, mut connection) = config.connect(NoTls).await.map_err(failed)?;
    // The connection is polled here, not in tokio-postgres's usual driver, because only
    // `poll_message` hands out notifications.
    let (notifications, mut received) = mpsc::channel::<Notification>(QUEUE);
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    if notifications.send(notification).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let _abort_driver = AbortOnDrop(driver);
    let fetch = client
        .prepare(&format!(
            "SELECT id, latitude, longitude, message FROM {schema}.notes
             WHERE id = ANY($1) ORDER BY id"
        ))
        .await
        .map_err(failed)?;
    let channel = channel(schema);
    client
        .batch_execute(&format!("LISTEN \"{channel}\""))
        .await
        .map_err(failed)?;
    tracing::info!(channel, "live feed listening");
    if let Some(ready) = ready.take() {
        let _ = ready.send(Ok(()));
    }
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            first = received.recv() => first,
        };
        let Some(first) = first else {
            return Err("the connection closed".to_owned());
        };
        // Everything already queued goes in one fetch, in arrival (commit) order.
        let mut ids = Vec::new();
        let mut next = Some(first);
        while let Some(notification) = next {
            if let Some((id, location)) = parse(notification.payload())
                && feed.is_watched(location)
            {
                ids.push(id);
            }
            next = received.try_recv().ok();
        }
        if ids.is_empty() {
            continue;
        }
        // A note trimmed meanwhile is simply not found.
        for row in client.query(&fetch, &[&ids]).await.map_err(failed)? {
            let (id, latitude, longitude): (i64, i32, i32) = (row.get(0), row.get(1), row.get(2));
            let bytes: &[u8] = row.get(3);
            let Ok(location) = GeoPoint::new(latitude, longitude) else {
                continue;
            };
            feed.publish(&SequencedNote {
                sequence: u64::try_from(id).unwrap_or(0),
                note: Note {
                    location,
                    message: String::from_utf8_lossy(bytes).as_ref().into(),
                },
            });
        }
    }
}

/// Returns the note id and location of a payload `ID LATITUDE LONGITUDE`.
fn parse(payload: &str) -> Option<(i64, GeoPoint)> {
    let mut fields = payload.split(' ');
    let id = fields.next()?.parse().ok()?;
    let latitude = fields.next()?.parse().ok()?;
    let longitude = fields.next()?.parse().ok()?;
    Some((id, GeoPoint::new(latitude, longitude).ok()?))
}

/// Aborts a task when dropped, so a session never outlives its connection's driver.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

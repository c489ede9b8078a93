//! PostgreSQL note store: notes shared by every replica that uses the same database.
//!
//! One table (`migrations/`), a connection pool, prepared statements. An exchange is one
//! transaction that first takes `pg_advisory_xact_lock(latitude, longitude)`, so replay and
//! store at one location are atomic across replicas, while other locations proceed in
//! parallel. With live push each exchange also sends `pg_notify`, and `listen.rs` turns
//! the notifications into live notes for this process.

mod listen;
mod migrate;
#[cfg(test)]
mod tests;
mod url;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

pub use url::PostgresUrl;

use super::{
    Exchanged, LiveFeed, Note, NoteError, NoteRetention, NoteStore, PendingExchange, SequencedNote,
};
use url::error_chain;

const BACKEND: &str = "postgres";

/// The most notes one exchange trims to keep the total under `max_total`.
const TOTAL_TRIM_BATCH: usize = 64;

/// The statements of one store, with its schema written in.
#[derive(Debug)]
struct Statements {
    lock: String,
    replay: String,
    store: String,
}

impl Statements {
    /// Returns the statements for `schema`; with `notify`, storing a note also notifies
    /// its id and location on [`listen::channel`].
    fn new(schema: &str, notify: bool) -> Self {
        // Unreferenced CTEs that only SELECT are not run, so the notification is joined in.
        let (notified, from) = if notify {
            (
                format!(
                    ", notified AS (
                         SELECT pg_notify('{}', id::text || ' ' || $1::text || ' ' || $2::text)
                         FROM inserted
                     )",
                    listen::channel(schema)
                ),
                "inserted, notified",
            )
        } else {
            (String::new(), "inserted")
        };
        Self {
            lock: "SELECT pg_advisory_xact_lock($1, $2)".to_owned(),
            replay: format!(
                "SELECT id, message FROM {schema}.notes
                 WHERE latitude = $1 AND longitude = $2 ORDER BY id"
            ),
            // One round trip stores the note and trims: at this location every id up to $4
            // (0 trims nothing), in total every id at least $5 older than the new one. Both
            // deletes see the snapshot from before the insert, so neither removes the new note.
            // Rows another exchange is trimming are skipped, not waited for: waiting let two
            // exchanges each hold a row the other wanted (a deadlock); a row skipped because
            // its trimmer rolled back is trimmed by a later exchange. The total trim takes at
            // most TOTAL_TRIM_BATCH of the oldest ids: with the limit the planner walks the
            // primary key from its oldest end even in a prepared statement's generic plan
            // (without it, it scanned the whole table at every exchange once the table was
            // full: ~240 notes/s instead of thousands); each exchange adds one note, so the
            // batch keeps up, and catches up after `max_total` was lowered.
            store: format!(
                "WITH inserted AS (
                     INSERT INTO {schema}.notes (latitude, longitude, message)
                     VALUES ($1, $2, $3) RETURNING id
                 ), trimmed_here AS (
                     DELETE FROM {schema}.notes WHERE id IN (
                         SELECT id FROM {schema}.notes
                         WHERE latitude = $1 AND longitude = $2 AND id <= $4
                         FOR UPDATE SKIP LOCKED
                     )
                 ), trimmed_in_total AS (
                     DELETE FROM {schema}.notes WHERE id IN (
                         SELECT id FROM {schema}.notes
                         WHERE id <= (SELECT id FROM inserted) - $5
                         ORDER BY id
                         LIMIT {TOTAL_TRIM_BATCH}
                         FOR UPDATE SKIP LOCKED
                     )
                 ){notified}
                 SELECT inserted.id FROM {from}"
            ),
        }
    }
}

/// Keeps notes in a PostgreSQL table shared by every replica on the same database and
/// schema; cheap to share as `Arc`, all state is in the pool.
///
/// Guarantees, across processes: an exchange at a location replays exactly the notes
/// committed there before it, oldest first, and its note is committed (durable, with the
/// server's default `synchronous_commit`) before the replay is returned. Retention: the
/// newest `max_per_location` notes per location; in total, notes whose arrival number is
/// `max_total` or more below the newest are dropped (an exchange that failed after taking
/// its number leaves a gap, so a few less than `max_total` may be kept).
pub struct PostgresNoteStore {
    pool: Pool,
    url: PostgresUrl,
    retention: NoteRetention,
    statements: Statements,
    /// The hub live notes go to, with live push.
    live: Option<LiveFeed>,
    /// The `LISTEN` task feeding `live`; taken (and so stopped) by `close`.
    listener: Mutex<Option<listen::Listener>>,
}

impl std::fmt::Debug for PostgresNoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresNoteStore")
            .field("url", &self.url)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl PostgresNoteStore {
    /// Connects to `url` (within its connect timeout), creates or migrates the schema, and
    /// returns the store; with `live`, it also listens for every replica's notes and
    /// publishes those at watched locations to `live` (listening before it returns).
    ///
    /// # Errors
    /// [`NoteError::Open`] naming the host, port, database and user (never the password)
    /// when the server cannot be reached, refuses us, or the schema cannot be migrated.
    pub async fn open(
        url: &PostgresUrl,
        retention: NoteRetention,
        live: Option<LiveFeed>,
    ) -> Result<Self, NoteError> {
        let open_error = |message: String| NoteError::Open {
            backend: BACKEND,
            target: url.target(),
            message,
        };
        let manager = Manager::from_config(
            url.config.clone(),
            NoTls,
            ManagerConfig {
                // A connection the server closed (restart, pg_terminate_backend) is dropped
                // when it comes back to the pool; a live one is reused without a query.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let timeout = url.config.get_connect_timeout().copied();
        let pool = Pool::builder(manager)
            .max_size(url.pool_size)
            .runtime(Runtime::Tokio1)
            .create_timeout(timeout)
            .wait_timeout(timeout)
            .build()
            .map_err(|error| open_error(error.to_string()))?;
        let mut client = pool
            .get()
            .await
            .map_err(|error| open_error(pool_error(&error)))?;
        migrate::migrate(&mut client, &url.schema)
            .await
            .map_err(|error| open_error(format!("migrating: {}", error_chain(&error))))?;
        let listener = match &live {
            Some(feed) => Some(
                listen::start(&url.config, &url.schema, feed.clone())
                    .await
                    .map_err(|error| open_error(format!("listening for live notes: {error}")))?,
            ),
            None => None,
        };
        Ok(Self {
            pool,
            url: url.clone(),
            retention,
            statements: Statements::new(&url.schema, live.is_some()),
            live,
            listener: Mutex::new(listener),
        })
    }

    async fn try_exchange(&self, note: &Note) -> Result<Exchanged, Failure> {
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let (latitude, longitude) = (note.location.latitude(), note.location.longitude());
        let lock = transaction.prepare_cached(&self.statements.lock).await?;
        let replay = transaction.prepare_cached(&self.statements.replay).await?;
        let store = transaction.prepare_cached(&self.statements.store).await?;
        // The lock must be held before the replay's snapshot is taken: two statements, which
        // tokio-postgres pipelines and the server runs in order.
        let at: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&latitude, &longitude];
        let (_, rows) = futures::try_join!(
            transaction.execute(&lock, &at),
            transaction.query(&replay, &at),
        )?;
        let earlier: Vec<(i64, Note)> = rows
            .iter()
            .map(|row| {
                let bytes: &[u8] = row.get(1);
                let message = String::from_utf8_lossy(bytes);
                let note = Note {
                    location: note.location,
                    message: Arc::from(message.as_ref()),
                };
                (row.get(0), note)
            })
            .collect();
        // Identity columns start at 1, so ids convert; 0 would only hide a broken row.
        let sequence = |id: i64| u64::try_from(id).unwrap_or(0);
        let keep_earlier = self.retention.max_per_location.saturating_sub(1);
        let trim_here_through: i64 = earlier
            .len()
            .checked_sub(keep_earlier)
            .and_then(|drop| drop.checked_sub(1))
            .map_or(0, |last_dropped| earlier[last_dropped].0);
        let max_total = i64::try_from(self.retention.max_total).unwrap_or(i64::MAX);
        let stored: i64 = transaction
            .query_one(
                &store,
                &[
                    &latitude,
                    &longitude,
                    &note.message.as_bytes(),
                    &trim_here_through,
                    &max_total,
                ],
            )
            .await?
            .get(0);
        transaction.commit().await?;
        Ok(Exchanged {
            earlier: earlier
                .into_iter()
                .map(|(id, note)| SequencedNote {
                    sequence: sequence(id),
                    note,
                })
                .collect(),
            sequence: sequence(stored),
        })
    }
}

/// A failed database step, kept apart so every path maps it to [`NoteError`] one way.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{}", error_chain(.0))]
    Database(#[from] tokio_postgres::Error),
    #[error("{}", pool_error(.0))]
    Pool(#[from] deadpool_postgres::PoolError),
}

/// Says why the pool gave no connection, in our words rather than deadpool's.
fn pool_error(error: &deadpool_postgres::PoolError) -> String {
    use deadpool_postgres::PoolError;
    match error {
        PoolError::Backend(error) => error_chain(error),
        PoolError::Timeout(_) => "timed out waiting for a connection".to_owned(),
        PoolError::Closed => "the note store is closed".to_owned(),
        other => error_chain(other),
    }
}

impl From<Failure> for NoteError {
    fn from(failure: Failure) -> Self {
        NoteError::Backend {
            backend: BACKEND,
            message: failure.to_string(),
        }
    }
}

#[async_trait]
impl NoteStore for PostgresNoteStore {
    async fn begin_exchange(&self, note: Note) -> Result<PendingExchange, NoteError> {
        // The transaction commits before this returns: the note is durable already.
        Ok(PendingExchange::ready(self.try_exchange(&note).await?))
    }

    fn live_feed(&self) -> Option<&LiveFeed> {
        self.live.as_ref()
    }

    async fn check(&self) -> Result<(), NoteError> {
        let client = self.pool.get().await.map_err(Failure::from)?;
        client
            .simple_query("SELECT 1")
            .await
            .map_err(Failure::from)?;
        Ok(())
    }

    async fn close(&self) -> Result<(), NoteError> {
        // Every exchange commits before it returns, so there is nothing to flush; closing
        // ends the idle connections and fails later exchanges.
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        drop(listener);
        self.pool.close();
        Ok(())
    }
}

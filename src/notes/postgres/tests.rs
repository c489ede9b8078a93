//! PostgreSQL store tests against `ROUTEGUIDE_TEST_POSTGRES_URL` (`scripts/test-postgres.sh`
//! starts a throwaway cluster and sets it); each test uses a schema of its own.
//!
//! Without the variable these tests print a notice and pass, except under `CI=true`, where
//! they fail: CI must never skip them.

use std::sync::Arc;

use super::*;
use crate::notes::LiveFeed;
use crate::notes::conformance::{OpenStore, Place, ROOMY, messages, note, note_store_conformance};

/// Returns the test database URL, or `None` (after saying so) when it is not set locally.
///
/// # Panics
/// Under `CI=true` when the variable is missing.
pub(crate) fn test_url() -> Option<String> {
    match std::env::var("ROUTEGUIDE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|ci| ci == "true") => {
            panic!(
                "CI=true and ROUTEGUIDE_TEST_POSTGRES_URL is not set: the PostgreSQL tests \
                 must run under CI (see scripts/test-postgres.sh)"
            )
        }
        _ => {
            // Straight to stderr, once: the test harness would hide `eprintln!` of a test
            // that passes.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                use std::io::Write as _;
                let notice = "\nskipping the PostgreSQL store tests: ROUTEGUIDE_TEST_POSTGRES_URL \
                              is not set (run `bash scripts/test-postgres.sh run cargo test`)\n";
                let _ = std::io::stderr().write_all(notice.as_bytes());
            });
            None
        }
    }
}

/// Opens stores at the test database, one schema per [`Place`].
struct Postgres {
    url: String,
}

impl Postgres {
    fn from_env() -> Option<Self> {
        test_url().map(|url| Self { url })
    }

    fn url(&self, schema: &str) -> PostgresUrl {
        PostgresUrl::parse(&self.url)
            .and_then(|url| url.with_schema(schema))
            .expect("a valid test URL")
    }
}

impl OpenStore for Postgres {
    const DURABLE: bool = true;

    async fn open(&self, place: &Place, retention: NoteRetention) -> Arc<dyn NoteStore> {
        let store = PostgresNoteStore::open(&self.url(&place.name), retention, None)
            .await
            .expect("the test database opens");
        Arc::new(store)
    }
}

// Without a test database the expression returns from the test before anything runs.
note_store_conformance!(match Postgres::from_env() {
    Some(backend) => backend,
    None => return,
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once_and_share_notes() {
    let Some(backend) = Postgres::from_env() else {
        return;
    };
    let place = Place::new("replicas");
    let url = backend.url(&place.name);
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresNoteStore::open(&url, ROOMY, None).await })
        })
        .collect();
    let mut stores = Vec::new();
    for task in opening {
        stores.push(task.await.unwrap().expect("every replica opens"));
    }
    assert!(stores[0].exchange(note(1, "a")).await.unwrap().is_empty());
    assert_eq!(
        messages(&stores[1].exchange(note(1, "b")).await.unwrap()),
        ["a"]
    );
    assert_eq!(
        messages(&stores[3].exchange(note(1, "c")).await.unwrap()),
        ["a", "b"]
    );
    let mut client = stores[2].pool.get().await.unwrap();
    let versions = client
        .query(
            &format!("SELECT version FROM {}.schema_migrations", place.name),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(versions.len(), 1, "migrated once");
    // Running the migrator again applies nothing.
    assert!(
        migrate::migrate(&mut client, &place.name)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn any_utf8_text_round_trips_including_nul() {
    let Some(backend) = Postgres::from_env() else {
        return;
    };
    let place = Place::new("text");
    let store = backend.open(&place, ROOMY).await;
    let texts = ["", "nul\0inside", "naïve ☃ 𝄞", &"x".repeat(4096)];
    for text in texts {
        store.exchange(note(2, text)).await.unwrap();
    }
    assert_eq!(
        messages(&store.exchange(note(2, "last")).await.unwrap()),
        texts
    );
}

#[tokio::test]
async fn an_unreachable_server_is_named_in_the_error_without_the_password() {
    // Port 9 (discard) on loopback: nothing listens, so connecting is refused at once.
    let url = PostgresUrl::parse("postgres://someone:hunter2@127.0.0.1:9/somedb").unwrap();
    let error = PostgresNoteStore::open(&url, ROOMY, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("127.0.0.1:9, database somedb, user someone"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

#[tokio::test]
async fn check_fails_once_closed() {
    let Some(backend) = Postgres::from_env() else {
        return;
    };
    let place = Place::new("check");
    let store = backend.open(&place, ROOMY).await;
    store.check().await.expect("a reachable store checks fine");
    store.close().await.unwrap();
    assert!(store.check().await.is_err());
    assert!(store.exchange(note(1, "late")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_notes_reach_the_other_replica_through_listen() {
    let Some(backend) = Postgres::from_env() else {
        return;
    };
    let place = Place::new("live");
    let url = backend.url(&place.name);
    let (feed_a, feed_b) = (LiveFeed::new(16), LiveFeed::new(16));
    let a = PostgresNoteStore::open(&url, ROOMY, Some(feed_a.clone()))
        .await
        .unwrap();
    let b = PostgresNoteStore::open(&url, ROOMY, Some(feed_b))
        .await
        .unwrap();
    let mut watcher = feed_a.subscribe();
    let here = note(4, "").location;
    watcher.watch(here);
    let mut first = a.begin_exchange(note(4, "mine")).await.unwrap();
    watcher.admit(here, &mut first);
    assert!(first.durable().await.unwrap().earlier.is_empty());
    b.exchange(note(5, "elsewhere")).await.unwrap();
    b.exchange(note(4, "theirs")).await.unwrap();
    let live = tokio::time::timeout(std::time::Duration::from_secs(30), watcher.next())
        .await
        .expect("a live note within 30 s")
        .unwrap();
    assert_eq!(&*live.message, "theirs");
    a.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_trims_at_many_locations_never_fail() {
    let Some(backend) = Postgres::from_env() else {
        return;
    };
    let place = Place::new("trims");
    // Tight bounds, so that nearly every exchange trims per location and in total, and
    // concurrent exchanges reach for the same old rows.
    let retention = NoteRetention {
        max_per_location: 2,
        max_total: 6,
    };
    let store = backend.open(&place, retention).await;
    let writers: Vec<_> = (0..12)
        .map(|writer| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..40 {
                    store
                        .exchange(note(writer % 4, &format!("{writer}-{i}")))
                        .await
                        .map_err(|error| format!("writer {writer}, note {i}: {error}"))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    // Rows skipped while another exchange held them are gone once the writers are done.
    for latitude in 0..4 {
        let replay = store.exchange(note(latitude, "probe")).await.unwrap();
        assert!(replay.len() <= 2, "{latitude}: {:?}", messages(&replay));
    }
}

#[tokio::test]
async fn storing_into_a_full_table_walks_the_index_instead_of_scanning_it() {
    let Some(backend) = Postgres::from_env() else {
        return;
    };
    let place = Place::new("full");
    let store = PostgresNoteStore::open(&backend.url(&place.name), ROOMY, None)
        .await
        .unwrap();
    let client = store.pool.get().await.unwrap();
    let table = format!("{}.notes", place.name);
    let fill = format!(
        "INSERT INTO {table} (latitude, longitude, message)
         SELECT g % 1000, 0, 'x' FROM generate_series(1, 50000) AS g"
    );
    client.batch_execute(&fill).await.unwrap();
    client
        .batch_execute(&format!("ANALYZE {table}"))
        .await
        .unwrap();
    // The plan a prepared statement settles on after a few executions: the generic one,
    // which cannot see the parameters' values.
    client
        .batch_execute("SET plan_cache_mode = force_generic_plan")
        .await
        .unwrap();
    let statement = Statements::new(&place.name, false).store;
    client
        .batch_execute(&format!("PREPARE store_note AS {statement}"))
        .await
        .unwrap();
    let explain = "EXPLAIN EXECUTE store_note(1, 0, 'n'::bytea, 0, 1000)";
    let plan: Vec<String> = client
        .query(explain, &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    store.close().await.unwrap();
}

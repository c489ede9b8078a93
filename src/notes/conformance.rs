//! The `NoteStore` conformance suite: written once against the trait, run for every backend.
//!
//! Every check holds for every backend; durable ones also keep notes across a reopen.
//! A backend's tests call [`note_store_conformance!`] with a type implementing
//! [`OpenStore`]; each check below becomes one `#[tokio::test]` of that backend.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Exchanged, Note, NoteRetention, NoteStore};
use crate::geo::GeoPoint;

/// Where one test's store lives: a fresh directory and a name unique in this process run,
/// so that backends keep tests apart (a file in the directory, a database schema, ...).
#[derive(Debug, Clone)]
pub(crate) struct Place {
    /// A directory that exists and is empty when the test starts.
    pub(crate) dir: PathBuf,
    /// A name no other test of this run uses: lowercase letters, digits and `_`.
    #[allow(
        dead_code,
        reason = "for backends that name their storage (a database schema)"
    )]
    pub(crate) name: String,
}

impl Place {
    /// Returns a fresh place for the test called `test`.
    pub(crate) fn new(test: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "rg_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            test.to_lowercase()
        );
        let dir = std::env::temp_dir().join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Self { dir, name }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How the suite opens a backend's store.
pub(crate) trait OpenStore {
    /// Whether notes survive closing and reopening the store at the same place.
    const DURABLE: bool;

    /// Opens the store at `place` with `retention`; opening the same place again after
    /// `close` reopens the same notes (if [`Self::DURABLE`]).
    async fn open(&self, place: &Place, retention: NoteRetention) -> Arc<dyn NoteStore>;
}

/// Generous retention, so that checks of other rules never trim.
pub(crate) const ROOMY: NoteRetention = NoteRetention {
    max_per_location: 100_000,
    max_total: 1_000_000,
};

/// Returns a note at `(latitude, 0)`.
pub(crate) fn note(latitude: i32, message: &str) -> Note {
    Note {
        location: GeoPoint::new(latitude, 0).expect("a valid test latitude"),
        message: message.into(),
    }
}

/// Returns the messages of `notes`.
pub(crate) fn messages(notes: &[Note]) -> Vec<String> {
    notes.iter().map(|n| n.message.to_string()).collect()
}

/// Returns the messages of the replay of a durable exchange.
pub(crate) fn replayed(exchanged: &Exchanged) -> Vec<String> {
    exchanged
        .earlier
        .iter()
        .map(|n| n.note.message.to_string())
        .collect()
}

async fn exchange(store: &dyn NoteStore, latitude: i32, message: &str) -> Vec<String> {
    let replay = store
        .exchange(note(latitude, message))
        .await
        .expect("the exchange succeeds");
    assert!(
        replay
            .iter()
            .all(|n| n.location == note(latitude, "").location),
        "replayed a note of another location"
    );
    messages(&replay)
}

/// Earlier notes at the location come back oldest first; the new note is not echoed, and
/// other locations do not mix in.
pub(crate) async fn replays_oldest_first_without_echo(backend: &impl OpenStore) {
    let place = Place::new("replay");
    let store = backend.open(&place, ROOMY).await;
    assert!(exchange(&*store, 1, "a").await.is_empty());
    assert!(exchange(&*store, 2, "x").await.is_empty());
    assert_eq!(exchange(&*store, 1, "b").await, ["a"]);
    assert_eq!(exchange(&*store, 1, "c").await, ["a", "b"]);
    assert_eq!(exchange(&*store, 2, "y").await, ["x"]);
    // The same text twice is two notes.
    assert_eq!(exchange(&*store, 1, "c").await, ["a", "b", "c"]);
    assert_eq!(exchange(&*store, 1, "d").await, ["a", "b", "c", "c"]);
    store.close().await.expect("close succeeds");
}

/// Each location keeps its newest `max_per_location` notes.
pub(crate) async fn trims_oldest_per_location(backend: &impl OpenStore) {
    let place = Place::new("per_location");
    let retention = NoteRetention {
        max_per_location: 2,
        ..ROOMY
    };
    let store = backend.open(&place, retention).await;
    for message in ["a", "b", "c"] {
        exchange(&*store, 1, message).await;
    }
    exchange(&*store, 2, "other").await;
    assert_eq!(exchange(&*store, 1, "d").await, ["b", "c"]);
    assert_eq!(exchange(&*store, 2, "more").await, ["other"]);
    store.close().await.expect("close succeeds");
}

/// The store keeps its newest `max_total` notes over all locations.
pub(crate) async fn trims_oldest_in_total(backend: &impl OpenStore) {
    let place = Place::new("in_total");
    let retention = NoteRetention {
        max_per_location: 3,
        max_total: 4,
    };
    let store = backend.open(&place, retention).await;
    for i in 0..40 {
        exchange(&*store, i % 5, &i.to_string()).await;
    }
    // Notes 36 to 39 (at latitudes 1 to 4) are the newest four. Each probe below is
    // stored too, and pushes out the oldest note left.
    assert_eq!(exchange(&*store, 4, "p4").await, ["39"]);
    assert_eq!(exchange(&*store, 3, "p3").await, ["38"]);
    assert!(
        exchange(&*store, 2, "p2").await.is_empty(),
        "37 outlived 36..39"
    );
    assert!(exchange(&*store, 1, "p1").await.is_empty());
    assert_eq!(exchange(&*store, 4, "again").await, ["p4"]);
    store.close().await.expect("close succeeds");
}

/// Many locations each keep exactly their own notes.
pub(crate) async fn keeps_many_locations_apart(backend: &impl OpenStore) {
    let place = Place::new("many_locations");
    let store = backend.open(&place, ROOMY).await;
    for round in 0..3 {
        for latitude in 0..300 {
            exchange(&*store, latitude, &format!("{latitude}-{round}")).await;
        }
    }
    for latitude in (0..300).step_by(7) {
        let expected: Vec<String> = (0..3).map(|r| format!("{latitude}-{r}")).collect();
        assert_eq!(exchange(&*store, latitude, "last").await, expected);
    }
    store.close().await.expect("close succeeds");
}

/// Concurrent writers at one location: every pair of notes is ordered (exactly one saw
/// the other), each writer's notes keep their order, and none is lost or duplicated.
pub(crate) async fn orders_concurrent_writers_at_one_location(backend: &impl OpenStore) {
    const WRITERS: usize = 8;
    const NOTES: usize = 25;
    let place = Place::new("concurrent");
    let store = backend.open(&place, ROOMY).await;
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for i in 0..NOTES {
                let message = format!("w{writer}-{i}");
                let replay = exchange(&*store, 42, &message).await;
                seen.push((message, replay));
            }
            seen
        }));
    }
    let mut replays: HashMap<String, Vec<String>> = HashMap::new();
    for task in tasks {
        for (message, replay) in task.await.expect("a writer task") {
            replays.insert(message, replay);
        }
    }
    let all = exchange(&*store, 42, "final").await;
    assert_eq!(all.len(), WRITERS * NOTES, "lost or duplicated notes");
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len(),
        all.len(),
        "a duplicate"
    );
    for writer in 0..WRITERS {
        let own: Vec<&String> = all
            .iter()
            .filter(|m| m.starts_with(&format!("w{writer}-")))
            .collect();
        let expected: Vec<String> = (0..NOTES).map(|i| format!("w{writer}-{i}")).collect();
        assert_eq!(own, expected.iter().collect::<Vec<_>>(), "writer {writer}");
    }
    for (position, message) in all.iter().enumerate() {
        // Every note saw exactly the notes stored before it.
        assert_eq!(
            replays[message],
            all[..position],
            "{message} saw another history"
        );
    }
    store.close().await.expect("close succeeds");
}

/// Closing and reopening keeps every note, in order, under the same retention (durable
/// backends), or starts empty (others).
pub(crate) async fn reopens_what_was_stored<B: OpenStore>(backend: &B) {
    let place = Place::new("reopen");
    let retention = NoteRetention {
        max_per_location: 3,
        max_total: 1000,
    };
    let store = backend.open(&place, retention).await;
    for message in ["a", "b", "c", "d"] {
        exchange(&*store, 5, message).await;
    }
    exchange(&*store, 6, "elsewhere").await;
    store.close().await.expect("close succeeds");
    drop(store);
    let store = backend.open(&place, retention).await;
    if B::DURABLE {
        assert_eq!(exchange(&*store, 5, "e").await, ["b", "c", "d"]);
        assert_eq!(exchange(&*store, 6, "again").await, ["elsewhere"]);
        assert_eq!(exchange(&*store, 5, "f").await, ["c", "d", "e"]);
    } else {
        assert!(exchange(&*store, 5, "e").await.is_empty());
    }
    store.close().await.expect("close succeeds");
}

/// Exchanges begun one after another, before any is durable, replay what finished
/// exchanges in that order would have; once durable they survive a reopen (durable
/// backends).
pub(crate) async fn orders_begun_exchanges_like_finished_ones<B: OpenStore>(backend: &B) {
    let place = Place::new("begun");
    let store = backend.open(&place, ROOMY).await;
    let mut pending = Vec::new();
    for (latitude, message) in [(9, "a"), (9, "b"), (8, "x"), (9, "c")] {
        let begun = store.begin_exchange(note(latitude, message)).await;
        pending.push(begun.expect("the exchange begins"));
    }
    let mut replays = Vec::new();
    for begun in pending {
        replays.push(replayed(
            &begun.durable().await.expect("the note is stored"),
        ));
    }
    assert_eq!(replays, [vec![], vec!["a"], vec![], vec!["a", "b"]]);
    assert_eq!(exchange(&*store, 9, "d").await, ["a", "b", "c"]);
    store.close().await.expect("close succeeds");
    drop(store);
    if B::DURABLE {
        let store = backend.open(&place, ROOMY).await;
        assert_eq!(exchange(&*store, 9, "e").await, ["a", "b", "c", "d"]);
        assert_eq!(exchange(&*store, 8, "y").await, ["x"]);
        store.close().await.expect("close succeeds");
    }
}

/// Expands to one `#[tokio::test]` per conformance check for the backend `$backend` (an
/// expression of a type implementing [`OpenStore`]).
macro_rules! note_store_conformance {
    ($backend:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_replays_oldest_first_without_echo() {
            $crate::notes::conformance::replays_oldest_first_without_echo(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_trims_oldest_per_location() {
            $crate::notes::conformance::trims_oldest_per_location(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_trims_oldest_in_total() {
            $crate::notes::conformance::trims_oldest_in_total(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_keeps_many_locations_apart() {
            $crate::notes::conformance::keeps_many_locations_apart(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_orders_concurrent_writers_at_one_location() {
            $crate::notes::conformance::orders_concurrent_writers_at_one_location(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_orders_begun_exchanges_like_finished_ones() {
            $crate::notes::conformance::orders_begun_exchanges_like_finished_ones(&$backend).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conformance_reopens_what_was_stored() {
            $crate::notes::conformance::reopens_what_was_stored(&$backend).await;
        }
    };
}

pub(crate) use note_store_conformance;

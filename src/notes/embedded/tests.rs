//! Tests of the embedded store: the conformance suite, group commit, what a crash before a
//! commit may lose, damaged and busy files, live push after commits, and health checks.

use std::sync::Arc;

use futures::FutureExt;

use super::*;
use crate::notes::conformance::{
    OpenStore, Place, ROOMY, messages, note, note_store_conformance, replayed,
};

struct Embedded;

impl OpenStore for Embedded {
    const DURABLE: bool = true;

    async fn open(&self, place: &Place, retention: NoteRetention) -> Arc<dyn NoteStore> {
        let path = place.dir.join("notes.db");
        let opening = move || EmbeddedNoteStore::open(&path, retention, None);
        let store = tokio::task::spawn_blocking(opening)
            .await
            .expect("open does not panic")
            .expect("the store opens");
        Arc::new(store)
    }
}

note_store_conformance!(Embedded);

/// Opens a store (publishing to `live`) whose writer waits until the returned sender sends
/// `()`.
fn open_gated_live(
    place: &Place,
    retention: NoteRetention,
    live: Option<LiveFeed>,
) -> (EmbeddedNoteStore, mpsc::Sender<()>) {
    let (release, gate) = mpsc::channel();
    let path = place.dir.join("notes.db");
    let store = EmbeddedNoteStore::open_gated(&path, retention, live, Some(gate)).unwrap();
    (store, release)
}

/// Opens a store whose writer waits until the returned sender sends `()`.
fn open_gated(place: &Place, retention: NoteRetention) -> (EmbeddedNoteStore, mpsc::Sender<()>) {
    open_gated_live(place, retention, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_notes_share_one_commit() {
    const WRITERS: usize = 16;
    const NOTES: usize = 10;
    let place = Place::new("group_commit");
    let (store, release) = open_gated(&place, ROOMY);
    let store = Arc::new(store);
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            let mut pending = Vec::new();
            for i in 0..NOTES {
                let latitude = (writer * NOTES + i) as i32;
                pending.push(store.begin_exchange(note(latitude, "n")).await.unwrap());
            }
            pending
        }));
    }
    let mut pending = Vec::new();
    for writer in writers {
        pending.extend(writer.await.unwrap());
    }
    assert_eq!(store.commits(), 0, "committed before the writer ran");
    release.send(()).unwrap();
    for exchange in pending {
        assert!(exchange.durable().await.unwrap().earlier.is_empty());
    }
    assert_eq!(
        store.commits(),
        1,
        "{} notes in one commit",
        WRITERS * NOTES
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_waits_for_the_commit_of_what_it_replays() {
    let place = Place::new("replay_waits");
    let (store, release) = open_gated(&place, ROOMY);
    let first = store.begin_exchange(note(7, "first")).await.unwrap();
    let second = store.begin_exchange(note(7, "second")).await.unwrap();
    assert!(!second.is_ready());
    let mut second = Box::pin(second.durable());
    assert!(
        (&mut second).now_or_never().is_none(),
        "replayed before the commit"
    );
    release.send(()).unwrap();
    assert!(first.durable().await.unwrap().earlier.is_empty());
    assert_eq!(replayed(&second.await.unwrap()), ["first"]);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_commit_replays_nothing_it_could_lose() {
    let place = Place::new("crash_before_commit");
    let (store, release) = open_gated(&place, ROOMY);
    let first = store.begin_exchange(note(7, "first")).await.unwrap();
    let second = store.begin_exchange(note(7, "second")).await.unwrap();
    // The writer stops without committing, as a process killed before its fsync.
    drop(release);
    assert!(first.durable().await.is_err());
    assert!(second.durable().await.is_err(), "replayed a lost note");
    drop(store);
    let store = Embedded.open(&place, ROOMY).await;
    assert!(store.exchange(note(7, "after")).await.unwrap().is_empty());
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_second_open_of_the_same_file_is_refused_naming_it() {
    let place = Place::new("in_use");
    let store = Embedded.open(&place, ROOMY).await;
    store.exchange(note(1, "a")).await.unwrap();
    let path = place.dir.join("notes.db");
    let error = EmbeddedNoteStore::open(&path, ROOMY, None).unwrap_err();
    assert!(matches!(error, NoteError::InUse { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    // The first store goes on serving.
    assert_eq!(
        messages(&store.exchange(note(1, "b")).await.unwrap()),
        ["a"]
    );
    store.close().await.unwrap();
    assert!(
        EmbeddedNoteStore::open(&path, ROOMY, None).is_ok(),
        "close released the lock"
    );
}

#[tokio::test]
async fn a_smaller_retention_at_open_deletes_what_it_trims() {
    let place = Place::new("shrink");
    let store = Embedded.open(&place, ROOMY).await;
    for message in ["a", "b", "c", "d"] {
        store.exchange(note(3, message)).await.unwrap();
    }
    store.close().await.unwrap();
    let two = NoteRetention {
        max_per_location: 2,
        ..ROOMY
    };
    let store = Embedded.open(&place, two).await;
    store.close().await.unwrap();
    // Reopened with room again, the trimmed notes stay gone: they left the file too.
    let store = Embedded.open(&place, ROOMY).await;
    assert_eq!(
        messages(&store.exchange(note(3, "e")).await.unwrap()),
        ["c", "d"]
    );
    store.close().await.unwrap();
}

#[tokio::test]
async fn notes_trimmed_while_serving_leave_the_file() {
    let place = Place::new("trimmed_leave");
    let tight = NoteRetention {
        max_per_location: 2,
        max_total: 5,
    };
    let store = Embedded.open(&place, tight).await;
    for i in 0..60 {
        store.exchange(note(i % 4, &i.to_string())).await.unwrap();
    }
    store.close().await.unwrap();
    // Reopened with room, only what the bounds kept is there: the rest was deleted.
    let store = Embedded.open(&place, ROOMY).await;
    let mut kept = Vec::new();
    for latitude in 0..4 {
        kept.extend(messages(
            &store.exchange(note(latitude, "probe")).await.unwrap(),
        ));
    }
    kept.sort();
    assert_eq!(kept, ["55", "56", "57", "58", "59"]);
    store.close().await.unwrap();
}

/// Returns the error of opening the store at `place` after `damage` changed its file.
async fn open_after(place: &Place, damage: impl FnOnce(&mut Vec<u8>)) -> NoteError {
    let path = place.dir.join("notes.db");
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    EmbeddedNoteStore::open(&path, ROOMY, None).unwrap_err()
}

async fn store_with_notes(test: &str) -> Place {
    let place = Place::new(test);
    let store = Embedded.open(&place, ROOMY).await;
    let mut pending = Vec::new();
    for i in 0..500 {
        let message = format!("note number {i:04}");
        pending.push(store.begin_exchange(note(i % 50, &message)).await.unwrap());
    }
    for begun in pending {
        begun.durable().await.unwrap();
    }
    store.close().await.unwrap();
    place
}

#[tokio::test]
async fn damaged_files_are_refused_naming_the_file() {
    type Damage = fn(&mut Vec<u8>);
    let cases: [(&str, Damage, &str); 5] = [
        ("truncated", |b| b.truncate(b.len() / 2), "truncated"),
        ("empty", |b| b.clear(), "empty"),
        (
            "header",
            |b| b[..16].copy_from_slice(b"not a database!!"),
            "not a database",
        ),
        (
            "text",
            |b| {
                // Every copy, since freed space may hold stale copies of the row.
                for at in find_all(b, b"note number 0123") {
                    b[at + 12] = b'9';
                }
            },
            "checksum",
        ),
        (
            "page",
            |b| {
                // Page 2 is the notes table's root; overwrite its b-tree header.
                let page_size = usize::from(u16::from_be_bytes([b[16], b[17]]));
                b[page_size..page_size + 8].copy_from_slice(&[0xff; 8]);
            },
            "sqlite's check",
        ),
    ];
    for (name, damage, expected) in cases {
        let place = store_with_notes(name).await;
        let error = open_after(&place, damage).await;
        let text = error.to_string();
        let NoteError::Damaged { problem, .. } = &error else {
            panic!("{name}: {error:?}");
        };
        assert!(problem.contains(expected), "{name}: {problem}");
        assert!(
            text.contains(&place.dir.join("notes.db").display().to_string()),
            "{text}"
        );
    }
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let found: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter_map(|(at, window)| (window == needle).then_some(at))
        .collect();
    assert!(!found.is_empty(), "the text is in the file");
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_notes_are_published_only_once_committed() {
    let place = Place::new("live_after_commit");
    let feed = LiveFeed::new(16);
    let (store, release) = open_gated_live(&place, ROOMY, Some(feed.clone()));
    assert!(store.live_feed().is_some());
    let mut watcher = feed.subscribe();
    let here = note(3, "").location;
    watcher.watch(here);
    let mut mine = store.begin_exchange(note(3, "mine")).await.unwrap();
    watcher.admit(here, &mut mine);
    let theirs = store.begin_exchange(note(3, "theirs")).await.unwrap();
    let mut next = Box::pin(watcher.next());
    assert!(
        (&mut next).now_or_never().is_none(),
        "pushed before the commit"
    );
    release.send(()).unwrap();
    assert_eq!(&*next.await.unwrap().message, "theirs");
    assert!(mine.durable().await.unwrap().earlier.is_empty());
    assert_eq!(replayed(&theirs.durable().await.unwrap()), ["mine"]);
    store.close().await.unwrap();
}

#[tokio::test]
async fn check_fails_when_the_file_is_gone_or_the_store_closed() {
    let place = Place::new("check");
    let store = Embedded.open(&place, ROOMY).await;
    store.exchange(note(1, "a")).await.unwrap();
    store.check().await.expect("a fresh store checks fine");
    let path = place.dir.join("notes.db");
    let aside = place.dir.join("aside.db");
    std::fs::rename(&path, &aside).unwrap();
    let error = store.check().await.unwrap_err().to_string();
    assert!(error.contains("is gone"), "{error}");
    // Put back, it is the same file again.
    std::fs::rename(&aside, &path).unwrap();
    store.check().await.expect("the file is back");
    store.close().await.unwrap();
    assert!(store.check().await.is_err(), "a closed store checked fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_once_the_writer_stopped() {
    let place = Place::new("check_writer");
    let (store, release) = open_gated(&place, ROOMY);
    let pending = store.begin_exchange(note(7, "lost")).await.unwrap();
    // The writer stops without committing, as one whose commit failed.
    drop(release);
    assert!(pending.durable().await.is_err());
    let error = store.check().await.unwrap_err().to_string();
    assert!(error.contains("stopped"), "{error}");
}

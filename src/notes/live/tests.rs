//! The live hub: who receives what, once, and what happens to a reader that falls behind.

use super::*;

fn at(latitude: i32) -> GeoPoint {
    GeoPoint::new(latitude, 0).unwrap()
}

fn stored(sequence: u64, latitude: i32, message: &str) -> SequencedNote {
    SequencedNote {
        sequence,
        note: Note {
            location: at(latitude),
            message: message.into(),
        },
    }
}

/// Admits an exchange that replayed `earlier` and stored `sequence`, and returns the texts
/// of the replay the stream gets.
async fn admit(
    stream: &mut LiveSubscriber,
    location: GeoPoint,
    earlier: Vec<SequencedNote>,
    sequence: u64,
) -> Vec<String> {
    let mut exchange = PendingExchange::ready(Exchanged { earlier, sequence });
    stream.admit(location, &mut exchange);
    let replay = exchange.durable().await.unwrap().earlier;
    replay.iter().map(|n| n.note.message.to_string()).collect()
}

async fn next_text(subscriber: &mut LiveSubscriber) -> String {
    subscriber.next().await.unwrap().message.to_string()
}

#[tokio::test]
async fn each_note_reaches_a_stream_once_by_replay_or_live_and_never_its_own() {
    let feed = LiveFeed::new(16);
    let mut stream = feed.subscribe();
    stream.watch(at(1));
    // While the stream's first exchange runs, another stream stores note 5 at the place.
    feed.publish(&stored(5, 1, "five"));
    let first = vec![stored(3, 1, "three"), stored(5, 1, "five")];
    assert_eq!(admit(&mut stream, at(1), first, 6).await, ["three", "five"]);
    feed.publish(&stored(6, 1, "own six"));
    feed.publish(&stored(7, 2, "elsewhere"));
    feed.publish(&stored(7, 1, "seven"));
    feed.publish(&stored(8, 1, "eight"));
    assert_eq!(next_text(&mut stream).await, "seven");
    // A second exchange replays only what the stream was not shown yet (8 is still queued).
    let second = [3, 5, 6, 7, 8]
        .map(|s| stored(s, 1, &format!("n{s}")))
        .to_vec();
    assert_eq!(admit(&mut stream, at(1), second, 9).await, ["n8"]);
    feed.publish(&stored(9, 1, "own nine"));
    feed.publish(&stored(10, 1, "ten"));
    assert_eq!(next_text(&mut stream).await, "ten");
}

#[tokio::test]
async fn a_reader_that_falls_behind_is_dropped_with_overflowed() {
    let feed = LiveFeed::new(2);
    let mut slow = feed.subscribe();
    slow.watch(at(1));
    admit(&mut slow, at(1), Vec::new(), 0).await;
    let mut other = feed.subscribe();
    other.watch(at(1));
    admit(&mut other, at(1), Vec::new(), 1).await;
    for sequence in 2..5 {
        feed.publish(&stored(sequence, 1, "x"));
        // The other reader keeps up and stays.
        assert_eq!(next_text(&mut other).await, "x");
    }
    assert_eq!(
        slow.next().await,
        Err(LiveError::Overflowed { capacity: 2 })
    );
    assert!(
        feed.is_watched(at(1)),
        "the reader that kept up still watches"
    );
    drop(other);
    assert!(
        !feed.is_watched(at(1)),
        "a dropped subscriber leaves the hub"
    );
}

#[tokio::test]
async fn notes_a_stream_already_has_take_no_room_in_its_buffer() {
    let feed = LiveFeed::new(1);
    let mut stream = feed.subscribe();
    stream.watch(at(1));
    admit(&mut stream, at(1), vec![stored(2, 1, "two")], 5).await;
    // Its own note and what its replay held, published late (as a batching backend does
    // after its commit), are not queued: the one slot stays free for what it lacks.
    for sequence in [2, 4, 5] {
        feed.publish(&stored(sequence, 1, "had"));
    }
    feed.publish(&stored(6, 1, "six"));
    assert_eq!(next_text(&mut stream).await, "six");
}

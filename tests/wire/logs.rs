//! The log lines of every in-process test server, captured so tests can await an event.
//!
//! One global subscriber (installed on first use) formats `routeguide`'s events at trace
//! level without colour and keeps each line. Tests tell their calls apart by the user agent
//! their client sends, which every call's log line names.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How long a test waits for a log line before it fails.
const WAIT: Duration = Duration::from_secs(20);

/// Every captured line, and a counter that changes with each line.
pub struct LogBook {
    lines: Mutex<Vec<String>>,
    count: watch::Sender<usize>,
}

static BOOK: OnceLock<Arc<LogBook>> = OnceLock::new();

/// Returns the captured log, installing the capturing subscriber on first use.
pub fn logs() -> &'static LogBook {
    BOOK.get_or_init(|| {
        let book = Arc::new(LogBook {
            lines: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
        });
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("routeguide=trace"))
            .with_ansi(false)
            .with_writer(Capture(Arc::clone(&book)))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("only this module installs a subscriber");
        book
    })
}

impl LogBook {
    /// Returns the captured lines that contain every one of `fragments`.
    pub fn matching(&self, fragments: &[&str]) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines
            .iter()
            .filter(|line| fragments.iter().all(|f| line.contains(f)))
            .cloned()
            .collect()
    }

    /// Waits for a line that contains every one of `fragments` and returns it; panics
    /// after [`WAIT`] without one.
    pub async fn wait_for(&self, fragments: &[&str]) -> String {
        let mut changed = self.count.subscribe();
        let found = tokio::time::timeout(WAIT, async {
            loop {
                // Marked seen before reading, so a line logged in between wakes us.
                changed.borrow_and_update();
                if let Some(line) = self.matching(fragments).into_iter().next() {
                    return line;
                }
                if changed.changed().await.is_err() {
                    unreachable!("the book lives for the whole process");
                }
            }
        })
        .await;
        match found {
            Ok(line) => line,
            Err(_) => panic!("no log line with {fragments:?} within {WAIT:?}"),
        }
    }

    fn push(&self, text: &str) {
        let mut lines = self.lines.lock().unwrap();
        lines.extend(text.lines().map(str::to_owned));
        let count = lines.len();
        drop(lines);
        self.count.send_replace(count);
    }
}

/// The subscriber's writer: each event is formatted into one buffer, kept when dropped.
struct Capture(Arc<LogBook>);

/// One event's text on its way into the book.
struct Event {
    book: Arc<LogBook>,
    text: Vec<u8>,
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Event;

    fn make_writer(&'a self) -> Event {
        Event {
            book: Arc::clone(&self.0),
            text: Vec::new(),
        }
    }
}

impl Write for Event {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        self.book.push(&String::from_utf8_lossy(&self.text));
    }
}

//! The store file: SQLite in WAL mode, opened exclusively, checked, loaded and appended to.
//!
//! This is the only file of the embedded backend that holds SQL (`tests/tidy.rs` allows it
//! here). Each note is one row keyed by its sequence number, with a CRC-32 over the row,
//! because SQLite checks its page structure but not the bytes of a row.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, params};

use crate::geo::GeoPoint;
use crate::notes::{Note, NoteError};

/// `PRAGMA application_id` of a routeguide notes store ("RGNT").
const APPLICATION_ID: i64 = 0x5247_4E54;

const CREATE_SCHEMA: &str = "
    CREATE TABLE notes (
        seq INTEGER PRIMARY KEY,
        latitude INTEGER NOT NULL,
        longitude INTEGER NOT NULL,
        message TEXT NOT NULL,
        checksum INTEGER NOT NULL
    ) STRICT;
    PRAGMA application_id = 1380404820;
";
const SELECT_NOTES: &str =
    "SELECT seq, latitude, longitude, message, checksum FROM notes ORDER BY seq";
const INSERT_NOTE: &str =
    "INSERT INTO notes (seq, latitude, longitude, message, checksum) VALUES (?1, ?2, ?3, ?4, ?5)";
const DELETE_NOTE: &str = "DELETE FROM notes WHERE seq = ?1";

/// An open store file; the process holds SQLite's exclusive lock on it until it is closed.
pub(super) struct StoreFile {
    path: PathBuf,
    connection: Connection,
    /// The device and inode of the file when it was opened.
    identity: (u64, u64),
}

impl StoreFile {
    /// Opens (or creates) the store at `path`, takes its lock, checks it, and returns it
    /// with every note it holds, oldest first, under its sequence number.
    ///
    /// # Errors
    /// [`NoteError::InUse`] when another process has it open; [`NoteError::Damaged`] when
    /// it is empty, truncated, fails SQLite's check or a note's checksum, or is another
    /// application's database; [`NoteError::Open`] for any other failure.
    pub(super) fn open(path: &Path) -> Result<(Self, Vec<(u64, Note)>), NoteError> {
        check_before_open(path)?;
        let fail = |error: rusqlite::Error| classify(path, error);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(path, flags).map_err(fail)?;
        // A second server must be refused at once, not queued behind the first.
        connection.busy_timeout(Duration::ZERO).map_err(fail)?;
        // Exclusive locking keeps the lock from the first write to close: no other process
        // can read or write the file while this one serves it.
        connection
            .pragma_update(None, "locking_mode", "EXCLUSIVE")
            .map_err(fail)?;
        let mode: String = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(fail)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_error(path, format!("journal mode is {mode}, not wal")));
        }
        // FULL: every commit is fsynced before it returns.
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        connection
            .execute_batch("BEGIN EXCLUSIVE; COMMIT;")
            .map_err(fail)?;
        let identity = identity(path).map_err(|error| open_error(path, error))?;
        let mut file = Self {
            path: path.to_owned(),
            connection,
            identity,
        };
        file.check()?;
        file.create_schema_if_new()?;
        let notes = file.load()?;
        Ok((file, notes))
    }

    /// Moves everything into the main file and runs SQLite's structural check on it.
    fn check(&mut self) -> Result<(), NoteError> {
        let fail = |error: rusqlite::Error| classify(&self.path, error);
        self.connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(fail)?;
        let mut statement = self
            .connection
            .prepare("PRAGMA quick_check(5)")
            .map_err(fail)?;
        let problems: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .map_err(fail)?
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        if problems != ["ok"] {
            let problems = problems
                .join("\n")
                .lines()
                .filter(|line| !line.starts_with("***"))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(damaged(&self.path, format!("sqlite's check: {problems}")));
        }
        Ok(())
    }

    /// Creates the table in a new file; refuses another application's database.
    fn create_schema_if_new(&mut self) -> Result<(), NoteError> {
        let fail = |error: rusqlite::Error| classify(&self.path, error);
        let application_id: i64 = self
            .connection
            .pragma_query_value(None, "application_id", |row| row.get(0))
            .map_err(fail)?;
        let tables: i64 = self
            .connection
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
            .map_err(fail)?;
        match (application_id, tables) {
            (APPLICATION_ID, _) => Ok(()),
            (0, 0) => {
                let transaction = self.connection.transaction().map_err(fail)?;
                transaction.execute_batch(CREATE_SCHEMA).map_err(fail)?;
                transaction.commit().map_err(fail)
            }
            _ => Err(damaged(
                &self.path,
                format!(
                    "it is not a routeguide notes store (a SQLite database with application_id \
                     {application_id} and {tables} schema entries)"
                ),
            )),
        }
    }

    /// Returns every stored note, oldest first, each checked against its checksum.
    fn load(&self) -> Result<Vec<(u64, Note)>, NoteError> {
        let fail = |error: rusqlite::Error| classify(&self.path, error);
        let mut statement = self.connection.prepare(SELECT_NOTES).map_err(fail)?;
        let mut rows = statement.query([]).map_err(fail)?;
        let mut notes = Vec::new();
        while let Some(row) = rows.next().map_err(fail)? {
            let sequence: i64 = row.get(0).map_err(fail)?;
            let latitude: i64 = row.get(1).map_err(fail)?;
            let longitude: i64 = row.get(2).map_err(fail)?;
            let message = row
                .get_ref(3)
                .map_err(fail)?
                .as_bytes()
                .map_err(|e| damaged(&self.path, format!("note {sequence}: message: {e}")))?;
            let checksum: i64 = row.get(4).map_err(fail)?;
            let note = decode(sequence, latitude, longitude, message, checksum)
                .map_err(|problem| damaged(&self.path, format!("note {sequence}: {problem}")))?;
            notes.push(note);
        }
        Ok(notes)
    }

    /// Stores `appended` and deletes the notes with the `trimmed` sequence numbers, in one
    /// transaction that is fsynced before this returns.
    ///
    /// # Errors
    /// SQLite's error; nothing of the batch is then stored.
    pub(super) fn write(
        &mut self,
        appended: &[(u64, Note)],
        trimmed: &[u64],
    ) -> rusqlite::Result<()> {
        let transaction = self.connection.transaction()?;
        {
            let mut insert = transaction.prepare_cached(INSERT_NOTE)?;
            for (sequence, note) in appended {
                insert.execute(params![
                    *sequence as i64,
                    note.location.latitude(),
                    note.location.longitude(),
                    &*note.message,
                    i64::from(checksum(*sequence, note)),
                ])?;
            }
            let mut delete = transaction.prepare_cached(DELETE_NOTE)?;
            for &sequence in trimmed {
                delete.execute([sequence as i64])?;
            }
        }
        transaction.commit()
    }

    /// Deletes the notes with the `trimmed` sequence numbers, in one transaction.
    ///
    /// # Errors
    /// [`NoteError::Open`] naming the file.
    pub(super) fn delete(&mut self, trimmed: &[u64]) -> Result<(), NoteError> {
        self.write(&[], trimmed)
            .map_err(|error| open_error(&self.path, error.to_string()))
    }

    /// Says whether the path still names the file this store writes to; a file deleted or
    /// replaced while serving would take every later commit with it at the next open.
    ///
    /// # Errors
    /// What happened to the file, naming it.
    pub(super) fn still_in_place(&self) -> Result<(), String> {
        let path = self.path.display();
        match identity(&self.path) {
            Ok(identity) if identity == self.identity => Ok(()),
            Ok(_) => Err(format!("{path} was replaced by another file while serving")),
            Err(error) => Err(format!("{path} is gone: {error}")),
        }
    }

    /// Moves every commit into the main file, removes the write-ahead log and releases
    /// the lock.
    ///
    /// # Errors
    /// [`NoteError::Backend`] when SQLite cannot checkpoint or close; the notes are still
    /// safe in the write-ahead log, which the next open replays.
    pub(super) fn close(self) -> Result<(), NoteError> {
        let fail = |error: rusqlite::Error| NoteError::Backend {
            backend: "embedded",
            message: format!("closing {}: {error}", self.path.display()),
        };
        self.connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(fail)?;
        self.connection.close().map_err(|(_, error)| fail(error))
    }
}

/// Refuses what SQLite would silently treat as a new, empty store: an empty file, or a
/// missing file whose write-ahead log is still there.
fn check_before_open(path: &Path) -> Result<(), NoteError> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => Err(open_error(path, "it is a directory".into())),
        Ok(metadata) if metadata.len() == 0 => Err(damaged(
            path,
            "the file is empty (0 bytes), as if truncated".into(),
        )),
        Ok(metadata) => check_length(path, metadata.len()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            match std::fs::metadata(&wal) {
                Ok(log) if log.len() > 0 => Err(damaged(
                    path,
                    format!(
                        "the file is missing but its write-ahead log {} is not",
                        Path::new(&wal).display()
                    ),
                )),
                _ => Ok(()),
            }
        }
        Err(error) => Err(open_error(path, error.to_string())),
    }
}

/// Compares the file's length with the size its SQLite header gives, before SQLite reads
/// anything, so that a truncated file is named as such.
fn check_length(path: &Path, length: u64) -> Result<(), NoteError> {
    let mut header = [0u8; 100];
    let read = std::fs::File::open(path).and_then(|mut file| {
        use std::io::Read;
        file.read_exact(&mut header)
    });
    match read {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(damaged(
                path,
                format!("it is truncated: {length} bytes, shorter than a SQLite header"),
            ));
        }
        Err(error) => return Err(open_error(path, error.to_string())),
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        size => u64::from(size),
    };
    let pages = u64::from(be32(28));
    // The page count is only valid when the change counter matches its stamp; otherwise
    // SQLite itself sizes the database by the file.
    let valid = header.starts_with(b"SQLite format 3\0") && be32(24) == be32(92);
    if valid && length < pages * page_size {
        return Err(damaged(
            path,
            format!(
                "it is truncated: {length} bytes, its header says {pages} pages of {page_size} bytes"
            ),
        ));
    }
    Ok(())
}

/// Returns the note of a row, or what is wrong with it.
fn decode(
    sequence: i64,
    latitude: i64,
    longitude: i64,
    message: &[u8],
    stored_checksum: i64,
) -> Result<(u64, Note), String> {
    let sequence = u64::try_from(sequence).map_err(|_| "negative sequence number".to_owned())?;
    let latitude = i32::try_from(latitude).map_err(|_| format!("latitude {latitude}"))?;
    let longitude = i32::try_from(longitude).map_err(|_| format!("longitude {longitude}"))?;
    let location = GeoPoint::new(latitude, longitude).map_err(|e| e.to_string())?;
    let message = std::str::from_utf8(message).map_err(|e| format!("message: {e}"))?;
    let note = Note {
        location,
        message: message.into(),
    };
    if i64::from(checksum(sequence, &note)) != stored_checksum {
        return Err("the note does not match its checksum".into());
    }
    Ok((sequence, note))
}

/// Returns the CRC-32 of a note's sequence number, location and message.
fn checksum(sequence: u64, note: &Note) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&sequence.to_le_bytes());
    hasher.update(&note.location.latitude().to_le_bytes());
    hasher.update(&note.location.longitude().to_le_bytes());
    hasher.update(note.message.as_bytes());
    hasher.finalize()
}

/// Maps SQLite's error while opening to what it means for the operator.
fn classify(path: &Path, error: rusqlite::Error) -> NoteError {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => NoteError::InUse {
            path: path.to_owned(),
        },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            damaged(path, error.to_string())
        }
        _ => open_error(path, error.to_string()),
    }
}

fn damaged(path: &Path, problem: String) -> NoteError {
    NoteError::Damaged {
        path: path.to_owned(),
        problem,
    }
}

/// Returns the device and inode of the file at `path`.
fn identity(path: &Path) -> Result<(u64, u64), String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    Ok((metadata.dev(), metadata.ino()))
}

/// Returns the error of a store file that could not be opened, read or created.
pub(super) fn open_error(path: &Path, message: String) -> NoteError {
    NoteError::Open {
        backend: "embedded",
        target: path.display().to_string(),
        message,
    }
}

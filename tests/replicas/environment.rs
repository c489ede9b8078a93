//! What the replica tests need from the machine: the PostgreSQL test database, its cluster
//! (to stop and start it) and nginx. A missing one skips the test with a notice, and fails
//! it under `CI=true`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Tests that use the cluster hold it shared; the restart test holds it alone.
static CLUSTER: RwLock<()> = RwLock::new(());

/// Returns `Some(value)`, or says what is missing and returns `None` (panics under CI).
fn require<T>(value: Option<T>, what: &str) -> Option<T> {
    if value.is_none() {
        assert!(
            std::env::var("CI").map_or(true, |ci| ci != "true"),
            "CI=true and {what} is missing: this test must run under CI"
        );
        // Straight to stderr: the harness hides `eprintln!` of a passing test.
        let notice = format!("\nskipping a replica test: {what} is missing\n");
        let _ = std::io::stderr().write_all(notice.as_bytes());
    }
    value
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// The PostgreSQL test database.
pub struct Database {
    url: String,
    _shared: RwLockReadGuard<'static, ()>,
}

/// Returns the test database, held shared against a restart, or `None` to skip.
pub fn database() -> Option<Database> {
    let url = require(
        env_var("ROUTEGUIDE_TEST_POSTGRES_URL"),
        "ROUTEGUIDE_TEST_POSTGRES_URL (bash scripts/test-postgres.sh run cargo test)",
    )?;
    let shared = CLUSTER
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Some(Database {
        url,
        _shared: shared,
    })
}

impl Database {
    /// Returns the database URL with a schema of its own for `test` (fresh in each run).
    pub fn url_for(&self, test: &str) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}schema=rg_{test}_{}",
            self.url,
            std::process::id()
        )
    }

    /// Returns the database URL as given (the `public` schema).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the password in the URL, which no log may show.
    pub fn password(&self) -> Option<String> {
        let authority = self.url.split_once("://")?.1.split('/').next()?;
        let user_info = authority.rsplit_once('@')?.0;
        Some(user_info.split_once(':')?.1.to_owned())
    }
}

/// The test cluster, held alone: no other test of this binary uses it meanwhile.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    stopped: bool,
    _alone: RwLockWriteGuard<'static, ()>,
}

/// Returns the test database's URL and its cluster, held alone, or `None` to skip.
pub fn cluster() -> Option<(String, Cluster)> {
    let url = require(
        env_var("ROUTEGUIDE_TEST_POSTGRES_URL"),
        "ROUTEGUIDE_TEST_POSTGRES_URL (bash scripts/test-postgres.sh run cargo test)",
    )?;
    let data = require(
        env_var("ROUTEGUIDE_TEST_POSTGRES_DATA").zip(env_var("ROUTEGUIDE_TEST_POSTGRES_BIN")),
        "ROUTEGUIDE_TEST_POSTGRES_DATA or _BIN (a cluster this test may restart)",
    )?;
    let alone = CLUSTER
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Some((
        url,
        Cluster {
            bin: PathBuf::from(data.1),
            data: PathBuf::from(data.0),
            stopped: false,
            _alone: alone,
        },
    ))
}

impl Cluster {
    fn pg_ctl(&self, args: &[&str]) {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.data.to_string_lossy().into_owned();
        // The cluster belongs to `postgres` when the tests run as root (as under CI).
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            command
        } else {
            Command::new(&pg_ctl)
        };
        let output = command.args(["-D", &data]).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "pg_ctl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Stops the cluster (fast: sessions are ended, as in a restart) and waits for it.
    pub fn stop(&mut self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
        self.stopped = true;
    }

    /// Starts the cluster again with the settings in its own configuration file.
    pub fn start(&mut self) {
        let log = self.data.with_file_name("restart.log");
        self.pg_ctl(&["-w", "-l", &log.to_string_lossy(), "start"]);
        self.stopped = false;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A failed test must not leave the other tests without a database.
        if self.stopped {
            self.start();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// Returns the nginx binary, or `None` to skip.
pub fn nginx() -> Option<PathBuf> {
    let found = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file());
    require(found, "nginx (apt-get install -y nginx)")
}

//! Helpers that run the real `routeguide` binary: a server process and one-shot commands.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Returns a command for the binary under test, with no `ROUTEGUIDE_*` variables inherited.
pub fn routeguide() -> Command {
    clean_environment(Command::new(env!("CARGO_BIN_EXE_routeguide")))
}

/// Returns `command` without inherited `ROUTEGUIDE_*` variables and with `RUST_LOG=info`.
pub fn clean_environment(mut command: Command) -> Command {
    for (key, _) in std::env::vars() {
        if key.starts_with("ROUTEGUIDE_") {
            command.env_remove(key);
        }
    }
    command.env("RUST_LOG", "info");
    command
}

/// Runs the binary with `args` and `stdin`, returning its output.
pub fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = routeguide()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Waits for `child` to exit and returns its output; kills it and panics if it is still
/// running after `limit` (which only bounds a failure).
pub fn wait_output(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("process {pid} still running after {limit:?}");
        }
    }
}

/// Returns `127.0.0.1:PORT` for a port nobody listens on (bound, then released).
pub fn closed_port_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", listener.local_addr().unwrap().port())
}

/// Returns stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Returns stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A server's captured log, woken at each new line: waits for lines without polling.
#[derive(Clone)]
pub struct LogWatch(Arc<(Mutex<String>, Condvar)>);

impl LogWatch {
    /// Waits until `matches` accepts at least `count` of the logged lines and returns the
    /// log; after `limit` (which only bounds a failure) without them, returns it as `Err`.
    pub fn wait_for(
        &self,
        count: usize,
        limit: Duration,
        matches: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let (text, logged) = &*self.0;
        let enough = |text: &String| text.lines().filter(|line| matches(line)).count() >= count;
        let (text, _) = logged
            .wait_timeout_while(text.lock().unwrap(), limit, |text| !enough(text))
            .unwrap();
        if enough(&text) {
            Ok(text.clone())
        } else {
            Err(text.clone())
        }
    }
}

/// A `routeguide serve` process on a free port; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: String,
    /// Everything the server logged so far, and a signal for each new line.
    log: Arc<(Mutex<String>, Condvar)>,
    /// Disconnected once the server's stderr reaches end of file, i.e. when it exits.
    stderr_closed: mpsc::Receiver<()>,
}

impl ServerProcess {
    /// Starts `routeguide serve --addr 127.0.0.1:0 EXTRA...` and waits for `listening on`.
    pub fn start(extra: &[&str]) -> Self {
        Self::start_with_env(extra, &[])
    }

    /// Starts the server as [`Self::start`] does, with `env` (name, value) pairs set.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = routeguide();
        command
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied());
        Self::spawn(command)
    }

    /// Starts `command`, a server that logs `listening on ADDR` to stderr, and waits for it.
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let (found, address) = mpsc::channel();
        let (stderr_open, stderr_closed) = mpsc::channel::<()>();
        let reader = BufReader::new(child.stderr.take().unwrap());
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            // Dropped at end of file, which tells `wait_exit` that the process has exited.
            let _stderr_open = stderr_open;
            for line in reader.lines().map_while(Result::ok) {
                // Log first, so whoever learns the address also sees the line in the log.
                sink.0.lock().unwrap().push_str(&format!("{line}\n"));
                sink.1.notify_all();
                if let Some(rest) = line.split("listening on ").nth(1) {
                    // A text line ends the address with a space, a JSON one with a quote.
                    let mut words = rest.split(|c: char| c.is_whitespace() || c == '"');
                    let addr = words.next().unwrap_or_default();
                    let _ = found.send(addr.to_owned());
                }
            }
        });
        let addr = address
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!(
                    "server did not log `listening on`: {}",
                    log.0.lock().unwrap()
                )
            });
        Self {
            child,
            addr,
            log,
            stderr_closed,
        }
    }

    /// Returns everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.0.lock().unwrap().clone()
    }

    /// Waits for a logged line that contains `fragment` and returns it; panics after
    /// `limit` (which only bounds a failure) without one.
    pub fn wait_for_line(&self, fragment: &str, limit: Duration) -> String {
        let (text, logged) = &*self.log;
        let find = |text: &String| {
            text.lines()
                .find(|l| l.contains(fragment))
                .map(str::to_owned)
        };
        let text = logged
            .wait_timeout_while(text.lock().unwrap(), limit, |text| find(text).is_none())
            .unwrap()
            .0;
        find(&text).unwrap_or_else(|| panic!("no line with {fragment:?} within {limit:?}: {text}"))
    }

    /// Waits until the log holds `count` lines containing `fragment` and returns the log;
    /// panics after `limit` (which only bounds a failure).
    pub fn wait_for_log(&self, fragment: &str, count: usize, limit: Duration) -> String {
        self.log_watch()
            .wait_for(count, limit, |line| line.contains(fragment))
            .unwrap_or_else(|log| {
                panic!("no {count} lines with {fragment:?} within {limit:?}: {log}")
            })
    }

    /// Returns a handle that waits for the server's log lines from any thread.
    pub fn log_watch(&self) -> LogWatch {
        LogWatch(Arc::clone(&self.log))
    }

    /// Sends `signal` (e.g. `TERM`) to the server process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code; panics if it is still
    /// running after `limit` (which only bounds a failure).
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        // The server starts no other process, so its stderr closes when it exits.
        match self.stderr_closed.recv_timeout(limit) {
            Err(RecvTimeoutError::Disconnected) => self.child.wait().unwrap().code(),
            Ok(()) | Err(RecvTimeoutError::Timeout) => {
                panic!("server still running after {limit:?}: {}", self.log())
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

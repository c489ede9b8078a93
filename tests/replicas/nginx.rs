//! Two replicas behind nginx, configured by `deploy/nginx.conf` as the README shows:
//! clients that talk only to nginx see every note, whichever replica stored it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::clients::{chat, connect, note};
use super::environment::{database, nginx};
use super::process::ServerProcess;

/// The file the README shows and this test runs.
const CONFIG: &str = "deploy/nginx.conf";

/// An nginx master process with its own prefix directory; stopped when dropped.
struct Nginx {
    child: Child,
    prefix: PathBuf,
}

impl Nginx {
    /// Starts `nginx -p PREFIX -e stderr -c PREFIX/nginx.conf` and waits until its worker
    /// started (so the listener is bound).
    fn start(binary: &Path, config: &str) -> Self {
        let prefix = std::env::temp_dir().join(format!("rg_nginx_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&prefix);
        std::fs::create_dir_all(&prefix).unwrap();
        let config_path = prefix.join("nginx.conf");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(binary)
            .arg("-p")
            .arg(&prefix)
            .args(["-e", "stderr", "-c"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (started, ready) = std::sync::mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            let mut seen = String::new();
            for line in stderr.lines().map_while(Result::ok) {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains("start worker process") {
                    let _ = started.send(Ok(()));
                }
            }
            let _ = started.send(Err(seen));
        });
        match ready.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => Self { child, prefix },
            Ok(Err(log)) => panic!("nginx exited before serving: {log}"),
            Err(_) => panic!("nginx started no worker within 30 s"),
        }
    }

    /// Waits until nginx's access log mentions every one of `texts`, and returns it.
    fn access_log_mentioning(&self, texts: &[&str]) -> String {
        let started = Instant::now();
        loop {
            let log = std::fs::read_to_string(self.prefix.join("access.log")).unwrap_or_default();
            if texts.iter().all(|text| log.contains(text)) {
                return log;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "nginx's access log never mentioned all of {texts:?}: {log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM makes the master stop its workers too; KILL would orphan them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}

/// Returns `text` with `from` replaced by `to`, which must occur exactly once.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{CONFIG} names {from} once");
    text.replace(from, to)
}

fn free_loopback_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn readme_shows_the_nginx_configuration_the_test_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let config = std::fs::read_to_string(root.join(CONFIG)).unwrap();
    assert!(
        readme.contains(&format!("```nginx\n{config}```")),
        "README.md must show {CONFIG} verbatim in an ```nginx block"
    );
}

#[tokio::test]
async fn clients_of_nginx_see_every_note_whichever_replica_stored_it() {
    let Some(binary) = nginx() else {
        return;
    };
    let Some(database) = database() else {
        return;
    };
    let url = database.url_for("nginx");
    // As the README runs them: the store URL in ROUTEGUIDE_NOTES.
    let a = ServerProcess::start_with_env(&[], &[("ROUTEGUIDE_NOTES", &url)]);
    let b = ServerProcess::start_with_env(&[], &[("ROUTEGUIDE_NOTES", &url)]);
    let front = format!("127.0.0.1:{}", free_loopback_port());
    let config =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(CONFIG)).unwrap();
    let config = replace_once(&config, "127.0.0.1:50051", &a.addr);
    let config = replace_once(&config, "127.0.0.1:50052", &b.addr);
    let config = replace_once(&config, "127.0.0.1:8080", &front);
    let nginx = Nginx::start(&binary, &config);

    // Every call is a new HTTP/2 stream, which nginx balances over both replicas; each
    // call on its own client connection replays every earlier note, in order.
    let mut sent: Vec<String> = Vec::new();
    for i in 0..8 {
        let mut client = connect(&front).await;
        let message = format!("note {i}");
        let replies = chat(&mut client, vec![note(3, &message)]).await.unwrap();
        assert_eq!(replies, sent, "call {i} through nginx");
        sent.push(message);
    }
    let log = nginx.access_log_mentioning(&[
        &format!("upstream={}", a.addr),
        &format!("upstream={}", b.addr),
    ]);
    assert!(
        log.contains("\"POST /routeguide.RouteGuide/RouteChat HTTP/2.0\" 200"),
        "{log}"
    );
}

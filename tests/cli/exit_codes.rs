//! Exit codes a new user meets: bad option values (2), deadlines (4), an
//! unreachable server (3), a benchmark whose every call fails, and `gen` failing cleanly.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use super::process::{ServerProcess, closed_port_addr, routeguide, stderr, stdout, wait_output};

/// Runs the binary with stdin closed; a command that should have stopped at once but is still
/// running after 60 s (a server that should not have started) is a failure.
fn run_bounded(args: &[&str]) -> Output {
    let child = routeguide()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child, Duration::from_secs(60))
}

/// Returns an empty directory of this test's own.
fn empty_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("routeguide-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary with `args` and checks a usage error: exit code 2, `fragment` in
/// stderr, nothing on stdout.
pub(super) fn check_usage_error(args: &[&str], fragment: &str) {
    let output = run_bounded(args);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: {}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains(fragment),
        "{args:?}: {}",
        stderr(&output)
    );
    assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
}

#[test]
fn zero_and_invalid_option_values_exit_2_naming_the_option() {
    let addr = closed_port_addr();
    let dir = empty_dir("bad-values");
    let out = dir.join("db.json");
    let out = out.to_str().unwrap();
    let client: &[(&[&str], &str)] = &[
        (
            &["get", "0,0", "--timeout", "0"],
            "'--timeout <TIMEOUT>': must be longer than zero",
        ),
        (&["list", "0,0", "1,1", "--timeout", "0s"], "--timeout"),
        (&["chat", "--timeout", "0ms"], "--timeout"),
        (&["demo", "--timeout", "0.0"], "--timeout"),
        (
            &["record", "--random", "0"],
            "'--random <N>': must be at least 1",
        ),
        (
            &["bench", "--concurrency", "0"],
            "'--concurrency <CONCURRENCY>': must be at least 1",
        ),
        (&["bench", "--connections", "0"], "--connections"),
        (&["bench", "--streams", "0"], "--streams"),
        (&["bench", "--points", "0"], "--points"),
        (&["bench", "--duration", "0s"], "--duration"),
        (&["bench", "--timeout", "0"], "--timeout"),
        (&["bench", "--rect-size", "0"], "--rect-size"),
        (&["bench", "--rect-size", "NaN"], "--rect-size"),
    ];
    for (args, fragment) in client {
        let mut all = args.to_vec();
        all.extend(["--addr", &addr]);
        check_usage_error(&all, fragment);
    }
    let serve: &[(&[&str], &str)] = &[
        (
            &["--max-note-bytes", "0"],
            "'--max-note-bytes <MAX_NOTE_BYTES>': must be at least 1",
        ),
        (&["--notes-per-location", "0"], "--notes-per-location"),
        (&["--notes-total", "0"], "--notes-total"),
        (
            &["--max-concurrent-streams", "0"],
            "--max-concurrent-streams",
        ),
        (&["--max-message-bytes", "0"], "--max-message-bytes"),
        (
            &["--notes", "redis://x"],
            "--notes redis://x: unsupported notes store `redis:`",
        ),
        (
            &[
                "--cors-origin",
                "http://ok.test",
                "--cors-origin",
                "http://x.test/app",
            ],
            "--cors-origin \"http://x.test/app\" is not an origin",
        ),
        (
            &["--map-tiles", "https://tiles.test/{z}/{x}.png"],
            "--map-tiles \"https://tiles.test/{z}/{x}.png\" is not a tile URL template",
        ),
        (
            &["--map-attribution", "credit"],
            "--map-tiles <URL-TEMPLATE>",
        ),
    ];
    for (args, fragment) in serve {
        let mut all = vec!["serve", "--addr", "127.0.0.1:0"];
        all.extend(*args);
        check_usage_error(&all, fragment);
    }
    check_usage_error(
        &["gen", "--n", "10", "--duplicates", "2", "--out", out],
        "'--duplicates <DUPLICATES>': must be a fraction between 0 and 1",
    );
    check_usage_error(
        &["gen", "--n", "10", "--bbox", "95,0,96,1", "--out", out],
        "--bbox",
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "gen left {left:?}");
}

#[test]
fn a_deadline_that_passes_is_deadline_exceeded_with_exit_4() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    for args in [
        &["get", "40.9146138,-74.6188906"][..],
        &["list", "40,-75", "42,-73"],
        &["record", "--random", "5"],
        &["demo"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--timeout", "1ns", "--addr", addr]);
        let output = run_bounded(&all);
        assert_eq!(
            output.status.code(),
            Some(4),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(": DEADLINE_EXCEEDED: "),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains("CANCELLED"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn bench_against_an_unreachable_server_exits_3() {
    let output = run_bounded(&[
        "bench",
        "--addr",
        &closed_port_addr(),
        "--duration",
        "1s",
        "--warmup",
        "0s",
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot connect to http://127.0.0.1:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bench_exits_4_when_every_call_fails() {
    // Every RouteChat call of the benchmark sends notes longer than 4 bytes.
    let server = ServerProcess::start(&["--max-note-bytes", "4"]);
    let output = run_bounded(&[
        "bench",
        "--rpc",
        "route-chat",
        "--concurrency",
        "1",
        "--connections",
        "1",
        "--points",
        "2",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--addr",
        &server.addr,
    ]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("every call failed (InvalidArgument "),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("calls:     0 ok"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn gen_leaves_no_file_behind_when_it_fails() {
    let dir = empty_dir("gen-fails");
    // The output path is a directory, so the finished file cannot be renamed onto it.
    let taken = dir.join("db.json");
    std::fs::create_dir(&taken).unwrap();
    let missing = dir.join("missing").join("db.json");
    for out in [&taken, &missing] {
        let output = run_bounded(&["gen", "--n", "1000", "--out", out.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(&out.display().to_string()),
            "{}",
            stderr(&output)
        );
    }
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["db.json"], "only the directory that was there");
    assert_eq!(std::fs::read_dir(&taken).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

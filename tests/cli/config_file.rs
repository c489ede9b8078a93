//! `serve --config FILE` and `--print-config`: precedence, errors naming the key and the
//! file, masked secrets, and a file's settings in force on a real server.

use std::process::Output;
use std::time::Duration;

use super::process::{ServerProcess, routeguide, stderr, stdout, wait_output};

/// A directory for this test's files, emptied first.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("routeguide-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `routeguide serve ARGS` with `env` set; it must finish by itself.
fn serve(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = routeguide();
    command.arg("serve").args(args).envs(env.iter().copied());
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child, Duration::from_secs(30))
}

/// Returns the line of `key` in a `--print-config` output.
fn line_of<'a>(printed: &'a str, key: &str) -> &'a str {
    printed
        .lines()
        .find(|line| line.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in {printed}"))
}

#[test]
fn flags_beat_variables_beat_the_file_beat_defaults() {
    let dir = scratch("precedence");
    let file = dir.join("serve.toml");
    std::fs::write(
        &file,
        "grace = \"5s\"\nmax_message_bytes = 1048576\nnotes-per-location = 7\n",
    )
    .unwrap();
    let output = serve(
        &[
            "--config",
            file.to_str().unwrap(),
            "--print-config",
            "--max-message-bytes",
            "2048",
        ],
        &[("ROUTEGUIDE_GRACE", "6s")],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = stdout(&output);
    assert_eq!(
        line_of(&printed, "max-message-bytes"),
        "max-message-bytes = 2048  # command line"
    );
    assert_eq!(
        line_of(&printed, "grace"),
        "grace = \"6s\"  # environment (ROUTEGUIDE_GRACE)"
    );
    assert_eq!(
        line_of(&printed, "notes-per-location"),
        "notes-per-location = 7  # config file"
    );
    assert_eq!(
        line_of(&printed, "notes-total"),
        "notes-total = 100000  # default"
    );
    // What it prints reads back as a config file with the same values.
    let printed_file = dir.join("printed.toml");
    std::fs::write(&printed_file, &printed).unwrap();
    let again = serve(
        &["--config", printed_file.to_str().unwrap(), "--print-config"],
        &[],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(
        line_of(&stdout(&again), "max-message-bytes"),
        "max-message-bytes = 2048  # config file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn print_config_masks_the_password_of_the_notes_url() {
    let output = serve(
        &["--print-config"],
        &[(
            "ROUTEGUIDE_NOTES",
            "postgres://app:hunter2@db.example:5432/notes",
        )],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        line_of(&printed, "notes").contains("postgres://app:***@db.example:5432/notes"),
        "{printed}"
    );
}

#[test]
fn unknown_keys_bad_values_and_bad_toml_name_the_key_and_the_file() {
    let dir = scratch("errors");
    for (text, fragments) in [
        ("gracee = \"5s\"\n", &["unknown key `gracee`"][..]),
        (
            "max-message-bytes = 0\n",
            &["key `max-message-bytes`", "must be at least 1"][..],
        ),
        (
            "linear-scan = \"yes\"\n",
            &["key `linear-scan`", "true or false"][..],
        ),
        ("grace = \"soon\"\n", &["key `grace`", "soon"][..]),
        ("grace = \n", &["line 1, column 9"][..]),
        (
            "[tls]\ncertt = \"a.pem\"\n",
            &["unknown key `tls-certt`"][..],
        ),
    ] {
        let file = dir.join("serve.toml");
        std::fs::write(&file, text).unwrap();
        let output = serve(&["--config", file.to_str().unwrap()], &[]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{text:?}: {message}");
        assert!(
            message.contains(file.to_str().unwrap()),
            "{text:?}: {message}"
        );
        for fragment in fragments {
            assert!(message.contains(fragment), "{text:?}: {message}");
        }
        assert!(!message.contains("listening on"), "{message}");
    }
    let missing = dir.join("missing.toml");
    let output = serve(&["--config", missing.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read config file"),
        "{}",
        stderr(&output)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_config_file_sets_what_the_server_enforces() {
    let dir = scratch("in-force");
    let file = dir.join("serve.toml");
    std::fs::write(&file, "max-note-bytes = 4\n").unwrap();
    let server = ServerProcess::start(&["--config", file.to_str().unwrap()]);
    let mut chat = routeguide();
    chat.args(["chat", "--addr", &server.addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = chat.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"0,0 longer than four bytes\n").unwrap();
    }
    let output = wait_output(child, Duration::from_secs(30));
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("the limit is 4"),
        "{}",
        stderr(&output)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

//! The README's "Using it" and "Security" commands, pasted as they are into `sh`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::process::{ServerProcess, clean_environment, stderr, stdout, wait_output};

const README: &str = include_str!("../../README.md");

/// Returns the text of the `index`-th `sh` block of the README's section `heading`.
fn sh_block(heading: &str, index: usize) -> &'static str {
    let section = README
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap_or_else(|| panic!("README has a \"## {heading}\" section"));
    section
        .split("```sh\n")
        .nth(index + 1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_else(|| panic!("\"{heading}\" has sh block {index}"))
}

/// Returns the command lines of a `sh` block, comments removed.
fn commands(block: &'static str) -> Vec<&'static str> {
    block
        .lines()
        .map(|line| line.split(" #").next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// Returns the command lines of the first `sh` block of "## Using it", comments removed.
fn using_it_commands() -> Vec<&'static str> {
    commands(sh_block("Using it", 0))
}

/// Returns `sh -c LINE` run from the repository root, finding the binary under test on PATH.
fn shell(line: &str) -> Command {
    shell_in(line, Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Returns `sh -c LINE` run from `dir`, finding the binary under test on PATH.
fn shell_in(line: &str, dir: &Path) -> Command {
    let binary = Path::new(env!("CARGO_BIN_EXE_routeguide"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![binary.parent().unwrap().to_owned()];
    dirs.extend(std::env::split_paths(&path));
    let mut command = clean_environment(Command::new("sh"));
    command
        .args(["-c", line])
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .current_dir(dir);
    command
}

#[test]
fn every_line_is_one_plain_routeguide_command() {
    let commands = using_it_commands();
    assert!(commands.len() >= 8, "{commands:?}");
    for line in commands {
        assert!(line.starts_with("routeguide "), "{line}");
        // `a | b` alternatives run as a pipe and `[--flag]` is a literal argument.
        for character in ['|', '[', ']', '{', '}'] {
            assert!(!line.contains(character), "{line}");
        }
    }
}

#[test]
fn the_commands_work_as_written_from_the_repository_root() {
    let commands = using_it_commands();
    let first_serve = commands
        .iter()
        .position(|line| line.starts_with("routeguide serve"))
        .expect("the README starts a server");
    // Its default address may be taken on a test machine: ROUTEGUIDE_ADDR picks a free port,
    // which only works because the line itself sets no --addr.
    let mut serve = shell(&format!("exec {}", commands[first_serve]));
    serve.env("ROUTEGUIDE_ADDR", "127.0.0.1:0");
    let server = ServerProcess::spawn(serve);
    for (index, line) in commands.iter().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let long_running = matches!(words.get(1), Some(&"serve" | &"gen" | &"bench"));
        if index == first_serve {
            continue;
        }
        // A second server, a million-feature database and a 12-second load run are too much
        // for a test: `--help` after the line checks its flags and values without running it.
        let line = if long_running {
            format!("{line} --help")
        } else {
            (*line).to_owned()
        };
        let mut command = shell(&line);
        command
            .env("ROUTEGUIDE_ADDR", &server.addr)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = wait_output(command.spawn().unwrap(), Duration::from_secs(60));
        assert!(
            output.status.success(),
            "`{line}` failed: {}",
            stderr(&output)
        );
        let printed = stdout(&output);
        assert!(!printed.is_empty(), "`{line}` printed nothing");
        if line.contains("data/examples/route.txt") {
            assert!(
                printed.starts_with("Finished trip with 5 points. Passed 5 features."),
                "{printed}"
            );
        }
        if line.contains("data/examples/notes.txt") {
            assert!(
                printed.starts_with("Got message \"First message\" at 0.0000000,0.0000000\n"),
                "{printed}"
            );
        }
    }
}

#[test]
fn the_security_commands_work_as_written() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("readme-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The certificates: OpenSSL is part of the supported platform (Debian 12).
    let mut make = shell_in(&format!("set -e\n{}", sh_block("Security", 0)), &dir);
    let output = wait_output(
        make.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        Duration::from_secs(60),
    );
    assert!(
        output.status.success(),
        "making the certificates failed: {}",
        stderr(&output)
    );
    let mut server = None;
    for line in commands(sh_block("Security", 1)) {
        // Each server gets a free port, which the clients after it reach through the
        // environment: the lines themselves name no address.
        if line.starts_with("routeguide serve") {
            let mut serve = shell_in(&format!("exec {line}"), &dir);
            serve.env("ROUTEGUIDE_ADDR", "127.0.0.1:0");
            server = Some(ServerProcess::spawn(serve));
            continue;
        }
        let addr = &server
            .as_ref()
            .expect("a server runs before the clients")
            .addr;
        // A line that names the default port gets the server's.
        let port = addr.rsplit(':').next().unwrap_or_default();
        let line = line.replace(":50051", &format!(":{port}"));
        let mut command = shell_in(&line, &dir);
        command
            .env("ROUTEGUIDE_ADDR", addr)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = wait_output(command.spawn().unwrap(), Duration::from_secs(60));
        assert!(
            output.status.success(),
            "`{line}` failed: {}",
            stderr(&output)
        );
        assert!(
            stdout(&output).contains("Feature \""),
            "`{line}`: {}",
            stdout(&output)
        );
    }
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

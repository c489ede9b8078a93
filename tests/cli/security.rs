//! TLS, mutual TLS and bearer tokens through the real binary: every client subcommand
//! against a guarded server, flag misuse (2), unusable files (1) named in the message,
//! tokens kept out of the server's debug log and of `--help`, the warning a server
//! reachable beyond loopback logs when it goes unguarded, and `--no-reflection`.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::pki::{Leaf, Pki};
use super::process::{ServerProcess, routeguide, stderr, stdout, wait_output};

/// Runs `command` with stdin closed; a command still running after 60 s is a failure.
fn finish(mut command: Command) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child, Duration::from_secs(60))
}

fn run(args: &[&str]) -> Output {
    let mut command = routeguide();
    command.args(args);
    finish(command)
}

/// Runs the binary with `args`, checks its exit code and message; returns the message.
fn check_exit(args: &[&str], code: i32, fragment: &str) -> String {
    let output = run(args);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {message}");
    assert!(message.contains(fragment), "{args:?}: {message}");
    message
}

/// The certificates of these tests: a CA, a server leaf for 127.0.0.1, a client leaf.
struct Certs {
    pki: Pki,
    ca: String,
    server: Leaf,
    client: Leaf,
}

fn certs(name: &str) -> Certs {
    let pki = Pki::new(name);
    let ca = pki.ca("ca");
    let server = pki.leaf(&ca, "server", &["localhost", "127.0.0.1"]);
    let client = pki.leaf(&ca, "client", &["client.test"]);
    Certs {
        ca: ca.cert.to_str().unwrap().to_owned(),
        pki,
        server,
        client,
    }
}

fn text(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn every_client_subcommand_works_over_mutual_tls_with_a_token() {
    let certs = certs("cli-mtls");
    let tokens = certs
        .pki
        .write("tokens.txt", "# cli\ncli-token-one\ncli-token-two\n");
    let mut serve = routeguide();
    serve
        .args(["serve", "--addr", "127.0.0.1:0", "--grace", "1s"])
        .args(["--tls-cert", text(&certs.server.cert)])
        .args(["--tls-key", text(&certs.server.key)])
        .args([
            "--tls-client-ca",
            &certs.ca,
            "--auth-token-file",
            text(&tokens),
        ])
        .env("RUST_LOG", "debug");
    let mut server = ServerProcess::spawn(serve);
    let addr = format!("https://{}", server.addr);
    let tls: [&str; 8] = [
        "--tls-ca",
        &certs.ca,
        "--tls-cert",
        text(&certs.client.cert),
        "--tls-key",
        text(&certs.client.key),
        "--token",
        "cli-token-two",
    ];
    for args in [
        &["get", "40.9146138,-74.6188906"][..],
        &["list", "40,-75", "42,-73"],
        &["record", "data/examples/route.txt"],
        &["chat", "--e7"],
        &["demo", "--seed", "1"],
        &[
            "bench",
            "--duration",
            "300ms",
            "--warmup",
            "0s",
            "--concurrency",
            "2",
        ],
    ] {
        let mut command = routeguide();
        command
            .args(args)
            .args(["--addr", &addr])
            .args(tls)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        let output = finish(command);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(!stdout(&output).is_empty() || args[0] == "chat", "{args:?}");
    }
    // The token may come from ROUTEGUIDE_TOKEN; a host:port with TLS flags means TLS.
    let mut command = routeguide();
    command
        .args(["get", "40.9146138,-74.6188906", "--addr", &server.addr])
        .args(&tls[..6])
        .env("ROUTEGUIDE_TOKEN", "cli-token-one");
    let output = finish(command);
    assert!(
        stdout(&output).starts_with("Feature \"Berkshire"),
        "{}",
        stderr(&output)
    );

    let get = ["get", "0,0", "--addr", &addr];
    let refusals: [(&[&str], i32, &str); 4] = [
        (&tls[..6], 4, "UNAUTHENTICATED: missing bearer token"),
        (
            &[&tls[..6], &["--token", "cli-token-three"]].concat(),
            4,
            "invalid bearer token",
        ),
        // The server refuses it after the client finished its TLS 1.3 handshake, so the
        // client's words vary (the alert, a closed connection); the server's do not.
        (&[&tls[..2], &tls[6..]].concat(), 3, "UNAVAILABLE"),
        (&["--tls-ca", text(&certs.client.cert)], 3, "UnknownIssuer"),
    ];
    for (flags, code, fragment) in refusals {
        let args = [&get[..], flags].concat();
        let output = run(&args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {message}");
        assert!(message.contains(fragment), "{args:?}: {message}");
    }
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(30)), Some(0));
    let log = server.log();
    assert!(log.contains("call unauthenticated"), "{log}");
    let refused = |line: &&str| {
        line.contains("tls handshake failed") && line.contains("error=peer sent no certificates")
    };
    assert!(log.lines().any(|line| refused(&line)), "{log}");
    assert!(log.contains("caller=token-2"), "{log}");
    for token in ["cli-token-one", "cli-token-two", "cli-token-three"] {
        assert!(!log.contains(token), "{token} is in the server's debug log");
    }
}

#[test]
fn flag_misuse_exits_2_and_unusable_files_exit_1_naming_the_file() {
    let certs = certs("cli-files");
    let (cert, key) = (text(&certs.server.cert), text(&certs.server.key));
    let other_key = text(&certs.client.key);
    let empty = certs.pki.write("empty-tokens.txt", "# nobody\n\n");
    let misuse: [(&[&str], &str); 8] = [
        (
            &[
                "get",
                "0,0",
                "--addr",
                "http://127.0.0.1:1",
                "--tls-ca",
                &certs.ca,
            ],
            "need an https:// address",
        ),
        (
            &[
                "bench",
                "--addr",
                "HTTP://127.0.0.1:1",
                "--tls-ca",
                &certs.ca,
            ],
            "need an https:// address",
        ),
        (&["get", "0,0", "--tls-cert", cert], "--tls-key"),
        (
            &[
                "get",
                "0,0",
                "--tls-ca",
                &certs.ca,
                "--tls-domain",
                "not a name",
            ],
            "invalid TLS server name",
        ),
        (
            &["get", "0,0", "--token", "two words"],
            "bearer token must be visible ASCII",
        ),
        (
            &["serve", "--addr", "https://127.0.0.1:0"],
            "https:// needs --tls-cert and --tls-key",
        ),
        (&["serve", "--tls-key", key], "--tls-cert"),
        (
            &[
                "serve",
                "--addr",
                "http://127.0.0.1:0",
                "--tls-cert",
                cert,
                "--tls-key",
                key,
            ],
            "not http://",
        ),
    ];
    for (args, fragment) in misuse {
        let message = check_exit(args, 2, fragment);
        assert!(!message.contains("two words"), "{args:?} printed the token");
    }
    let missing = certs.pki.path("missing.pem");
    let missing = text(&missing);
    // Each case: the arguments, the file the message must name, and what it must say.
    let unusable: [(&[&str], &str, &str); 7] = [
        (
            &["serve", "--tls-cert", missing, "--tls-key", key],
            missing,
            "cannot read TLS certificate file",
        ),
        (
            &["serve", "--tls-cert", key, "--tls-key", key],
            key,
            "holds no PEM certificate",
        ),
        (
            &["serve", "--tls-cert", cert, "--tls-key", cert],
            cert,
            "holds no PEM private key",
        ),
        (
            &["serve", "--tls-cert", cert, "--tls-key", other_key],
            other_key,
            "KeyMismatch",
        ),
        (
            &[
                "serve",
                "--tls-cert",
                cert,
                "--tls-key",
                key,
                "--tls-client-ca",
                key,
            ],
            key,
            "TLS client CA file",
        ),
        (
            &["serve", "--auth-token-file", text(&empty)],
            text(&empty),
            "holds no token",
        ),
        (
            &["get", "0,0", "--tls-ca", missing],
            missing,
            "cannot read TLS CA file",
        ),
    ];
    for (args, file, fragment) in unusable {
        let mut all = args.to_vec();
        if args[0] == "serve" {
            all.extend(["--addr", "127.0.0.1:0"]);
        }
        let message = check_exit(&all, 1, fragment);
        assert!(
            message.contains(file),
            "{all:?} does not name {file}: {message}"
        );
    }
}

#[test]
fn help_never_shows_the_token_from_the_environment() {
    for subcommand in ["get", "bench"] {
        let mut command = routeguide();
        command
            .args([subcommand, "--help"])
            .env("ROUTEGUIDE_TOKEN", "help-secret-token");
        let output = finish(command);
        assert!(output.status.success());
        assert!(stdout(&output).contains("--token"), "{subcommand}");
        assert!(
            !stdout(&output).contains("help-secret-token"),
            "{subcommand}"
        );
    }
}

/// Starts `serve --addr ADDR EXTRA...` and returns its log once it listens.
fn startup_log(addr: &str, extra: &[&str]) -> String {
    let mut command = routeguide();
    command.args(["serve", "--addr", addr]).args(extra);
    ServerProcess::spawn(command).log()
}

#[test]
fn an_unguarded_server_beyond_loopback_warns_what_it_lacks() {
    const PLAIN: &str = "serving plain text on a non-loopback address";
    const OPEN: &str = "serving without authentication on a non-loopback address";
    let certs = certs("cli-warnings");
    let tokens = certs.pki.write("tokens.txt", "warning-token\n");
    let (cert, key) = (text(&certs.server.cert), text(&certs.server.key));
    let tls = ["--tls-cert", cert, "--tls-key", key];
    let cases: [(&str, Vec<&str>, bool, bool); 5] = [
        ("0.0.0.0:0", vec![], true, true),
        ("127.0.0.1:0", vec![], false, false),
        (
            "0.0.0.0:0",
            vec!["--auth-token-file", text(&tokens)],
            true,
            false,
        ),
        (
            "0.0.0.0:0",
            [&tls[..], &["--tls-client-ca", &certs.ca]].concat(),
            false,
            false,
        ),
        ("0.0.0.0:0", tls.to_vec(), false, true),
    ];
    for (addr, extra, plain, open) in cases {
        let log = startup_log(addr, &extra);
        assert_eq!(log.contains(PLAIN), plain, "{addr} {extra:?}: {log}");
        assert_eq!(log.contains(OPEN), open, "{addr} {extra:?}: {log}");
        assert!(!log.contains("warning-token"), "{log}");
    }
}

/// Returns the status code of a reflection `list_services` call to `addr`.
async fn reflection_code(addr: &str) -> tonic::Code {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let list = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let call = ServerReflectionClient::new(channel)
        .server_reflection_info(futures::stream::iter(vec![list]))
        .await;
    let first = match call {
        Ok(response) => response.into_inner().message().await.map(|_| ()),
        Err(status) => Err(status),
    };
    first.err().map_or(tonic::Code::Ok, |status| status.code())
}

#[tokio::test]
async fn no_reflection_removes_reflection() {
    let with = ServerProcess::start(&[]);
    assert_eq!(reflection_code(&with.addr).await, tonic::Code::Ok);
    let without = ServerProcess::start(&["--no-reflection"]);
    assert_eq!(
        reflection_code(&without.addr).await,
        tonic::Code::Unimplemented
    );
}

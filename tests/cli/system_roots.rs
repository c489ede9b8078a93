//! `https://` without `--tls-ca`: the clients verify the server against the system's root
//! certificates (tonic's `tls-native-roots`, rustls-native-certs for `bench`), which
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` stand in for here; without any, the error says to
//! give `--tls-ca`.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::pki::Pki;
use super::process::{ServerProcess, routeguide, stderr, stdout, wait_output};

/// Returns the binary with `args` whose system roots are `file` (and nothing else).
fn with_system_roots(args: &[&str], file: &str) -> Command {
    let mut command = routeguide();
    command
        .args(args)
        .env("SSL_CERT_FILE", file)
        .env("SSL_CERT_DIR", "/nonexistent-routeguide-test-dir")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn https_without_tls_ca_verifies_against_the_system_roots() {
    let pki = Pki::new("cli-system-roots");
    let ca = pki.ca("ca");
    let leaf = pki.leaf(&ca, "server", &["localhost"]);
    let server = ServerProcess::start(&[
        "--tls-cert",
        leaf.cert.to_str().unwrap(),
        "--tls-key",
        leaf.key.to_str().unwrap(),
    ]);
    let port = server.addr.rsplit(':').next().unwrap();
    let addr = format!("https://localhost:{port}");
    let roots = ca.cert.to_str().unwrap();
    let other = pki.ca("other-ca");
    for (args, code, says) in [
        (
            vec!["get", "40.9146138,-74.6188906"],
            Some(0),
            "Feature \"Berkshire",
        ),
        (
            vec!["bench", "--duration", "200ms", "--warmup", "0s"],
            Some(0),
            "calls:",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--addr", &addr]);
        let output = wait_output(
            with_system_roots(&all, roots).spawn().unwrap(),
            Duration::from_secs(60),
        );
        assert_eq!(output.status.code(), code, "{all:?}: {}", stderr(&output));
        assert!(
            stdout(&output).contains(says),
            "{all:?}: {}",
            stdout(&output)
        );
        // A system that trusts another CA refuses the server's certificate.
        let mut untrusting = with_system_roots(&all, other.cert.to_str().unwrap());
        let output = wait_output(untrusting.spawn().unwrap(), Duration::from_secs(60));
        assert_eq!(
            output.status.code(),
            Some(3),
            "{all:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("UnknownIssuer"),
            "{all:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn https_without_tls_ca_on_a_system_without_roots_asks_for_tls_ca() {
    for args in [
        &["get", "0,0", "--addr", "https://localhost:1"][..],
        &["bench", "--addr", "https://localhost:1"],
    ] {
        let mut command = with_system_roots(args, "/nonexistent-routeguide-test-file");
        let output = wait_output(command.spawn().unwrap(), Duration::from_secs(60));
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        let message = "no system root certificates found to verify the server; give its CA with --tls-ca FILE";
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

//! Typed coordinates: `LAT,LON` is degrees unless both are integers and one exceeds 180,
//! `--e7` (or `ROUTEGUIDE_E7`) reads E7 integers, and `demo` sends the tutorial's E7 points.

use super::exit_codes::check_usage_error;
use super::process::{ServerProcess, closed_port_addr, routeguide, run, stderr, stdout};

/// Returns the one JSON object `routeguide ARGS --json` printed.
fn json(server: &ServerProcess, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--json", "--addr", &server.addr]);
    let output = run(&all, "");
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    serde_json::from_str(stdout(&output).trim()).unwrap()
}

fn location(value: &serde_json::Value) -> (i64, i64) {
    let location = &value["location"];
    (
        location["latitude"].as_i64().unwrap(),
        location["longitude"].as_i64().unwrap(),
    )
}

#[test]
fn integer_pairs_are_degrees_unless_one_exceeds_180() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    let get = run(&["get", "40,-74", "--addr", addr], "");
    assert!(get.status.success(), "{}", stderr(&get));
    assert_eq!(stdout(&get), "No feature at 40.0000000,-74.0000000\n");
    assert_eq!(location(&json(&server, &["get", "0,1"])), (0, 10_000_000));
    assert_eq!(
        location(&json(&server, &["get", "409146138,-746188906"])),
        (409_146_138, -746_188_906)
    );

    let list = |lo: &str, hi: &str| {
        let output = run(&["list", lo, hi, "--addr", addr], "");
        assert!(output.status.success(), "{lo} {hi}: {}", stderr(&output));
        let mut lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    let degrees = list("40,-75", "42,-73");
    assert_eq!(degrees.len(), 100);
    assert_eq!(degrees, list("40.0,-75.0", "42.0,-73.0"));
    assert_eq!(
        degrees,
        list("400000000,-750000000", "420000000,-730000000")
    );
}

#[test]
fn a_typo_is_a_usage_error_naming_the_field_before_any_connection() {
    // Nobody listens at the address: a usage error must come before connecting (exit 2, not 3).
    let addr = closed_port_addr();
    for (args, message) in [
        (
            &["get", "95,10"][..],
            "invalid value '95,10' for '<POINT>': latitude 95 is out of range [-90, 90] degrees",
        ),
        (
            &["get", "10.5,-190"],
            "longitude -190 is out of range [-180, 180]",
        ),
        (&["list", "40,-75", "42,181.5"], "'<HI>': longitude 181.5"),
        (
            &["get", "900000001,0"],
            "latitude 900000001 is out of range",
        ),
        (
            &["get", "--e7", "40.5,-74"],
            "latitude 40.5 is not an E7 integer",
        ),
        (&["get", "abc,1"], "latitude \"abc\" is not a number"),
    ] {
        let mut all = args.to_vec();
        all.extend(["--addr", &addr]);
        check_usage_error(&all, message);
    }
}

#[test]
fn e7_flag_and_environment_variable_read_integers_as_e7() {
    let server = ServerProcess::start(&[]);
    assert_eq!(location(&json(&server, &["get", "--e7", "0,1"])), (0, 1));
    let output = routeguide()
        .args(["get", "0,1", "--json", "--addr", &server.addr])
        .env("ROUTEGUIDE_E7", "true")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(location(&value), (0, 1));
}

#[test]
fn route_lines_are_read_like_arguments() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    let record = |args: &[&str], route: &str| {
        let mut all = vec!["record", "-", "--json", "--addr", addr];
        all.extend(args);
        let output = run(&all, route);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        serde_json::from_str::<serde_json::Value>(stdout(&output).trim()).unwrap()
    };
    let degrees = record(
        &[],
        "40.7838351,-74.6143763\n41,-74\n40.9146138,-74.6188906\n",
    );
    let e7 = record(
        &["--e7"],
        "407838351,-746143763\n410000000,-740000000\n409146138,-746188906\n",
    );
    assert_eq!(degrees["featureCount"], 2);
    assert_eq!(degrees["distance"], e7["distance"]);
    assert_eq!(degrees["featureCount"], e7["featureCount"]);

    let bad = run(
        &["record", "-", "--addr", addr],
        "# typo below\n40,-74\n95,10\n",
    );
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("stdin:3: latitude 95 is out of range [-90, 90] degrees"),
        "{}",
        stderr(&bad)
    );
    let bad = run(&["record", "-", "--e7", "--addr", addr], "0,0\n0.5,0\n");
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("stdin:2: latitude 0.5 is not an E7 integer"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn chat_lines_are_degrees_unless_e7() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    let degrees = run(&["chat", "--addr", addr], "0,1 a\n0,1 b\n");
    assert!(degrees.status.success(), "{}", stderr(&degrees));
    assert_eq!(
        stdout(&degrees),
        "Got message \"a\" at 0.0000000,1.0000000\n"
    );
    let e7 = run(&["chat", "--e7", "--addr", addr], "0,1 c\n0,1 d\n");
    assert_eq!(stdout(&e7), "Got message \"c\" at 0.0000000,0.0000001\n");
    let bad = run(&["chat", "--addr", addr], "95,10 typo\n");
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("stdin:1: latitude 95 is out of range"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn demo_sends_the_tutorials_e7_notes() {
    let server = ServerProcess::start(&[]);
    let output = run(&["demo", "--seed", "1", "--addr", &server.addr], "");
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let chat = text.split("RouteChat").nth(1).unwrap();
    assert_eq!(
        chat.lines().skip(1).collect::<Vec<_>>(),
        [
            "Got message \"First message\" at 0.0000000,0.0000000",
            "Got message \"Third message\" at 0.0000001,0.0000000",
        ],
        "{text}"
    );
    let get = text.split("ListFeatures").next().unwrap();
    assert!(get.contains("No feature at 0.0000000,0.0000000"), "{text}");
}

//! Client subcommands against a real server process: output, JSON, env vars and exit codes.

use std::time::Duration;

use super::process::{
    ServerProcess, closed_port_addr, routeguide, run, stderr, stdout, wait_output,
};

#[test]
fn serve_logs_the_port_it_picked() {
    let server = ServerProcess::start(&[]);
    let port: u16 = server.addr.rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 0);
    assert!(
        server
            .log()
            .contains(&format!("listening on 127.0.0.1:{port}"))
    );
    assert!(server.log().contains("features=100"), "{}", server.log());
}

#[test]
fn get_prints_feature_or_no_feature_in_degrees_or_e7() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    let hit = run(&["get", "40.9146138,-74.6188906", "--addr", addr], "");
    assert!(hit.status.success(), "{}", stderr(&hit));
    assert_eq!(
        stdout(&hit),
        "Feature \"Berkshire Valley Management Area Trail, Jefferson, NJ, USA\" at 40.9146138,-74.6188906\n"
    );
    let e7 = run(&["get", "409146138,-746188906", "--addr", addr], "");
    assert_eq!(stdout(&e7), stdout(&hit));
    let miss = run(&["get", "-33.5,151.25", "--addr", addr], "");
    assert_eq!(stdout(&miss), "No feature at -33.5000000,151.2500000\n");
}

#[test]
fn json_output_uses_proto3_names_one_object_per_line() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    let get = run(&["get", "0,0", "--json", "--addr", addr], "");
    let value: serde_json::Value = serde_json::from_str(stdout(&get).trim()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"name": "", "location": {"latitude": 0, "longitude": 0}})
    );

    let record = run(
        &[
            "record", "--random", "10", "--seed", "3", "--json", "--addr", addr,
        ],
        "",
    );
    assert!(record.status.success(), "{}", stderr(&record));
    let summary: serde_json::Value = serde_json::from_str(stdout(&record).trim()).unwrap();
    assert_eq!(summary["pointCount"], 10);
    assert_eq!(summary["featureCount"], 10);
    assert!(summary["distance"].as_i64().unwrap() > 0);
    assert!(summary.get("elapsedTime").is_some());

    let list = run(
        &["list", "40.0,-75.0", "42.0,-73.0", "--json", "--addr", addr],
        "",
    );
    let lines: Vec<serde_json::Value> = stdout(&list)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 100);
}

#[test]
fn list_accepts_corners_in_any_order() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    let forward = run(&["list", "40.0,-75.0", "42.0,-73.0", "--addr", addr], "");
    let backward = run(&["list", "42.0,-73.0", "40.0,-75.0", "--addr", addr], "");
    assert!(forward.status.success(), "{}", stderr(&forward));
    assert_eq!(stdout(&forward).lines().count(), 100);
    assert_eq!(stdout(&forward), stdout(&backward));
}

#[test]
fn record_reads_a_route_from_stdin_and_names_bad_lines() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    let route = "# tutorial points\n40.9146138,-74.6188906\n\n0,0\n";
    let ok = run(&["record", "-", "--addr", addr], route);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(
        stdout(&ok).starts_with("Finished trip with 2 points. Passed 1 features."),
        "{}",
        stdout(&ok)
    );

    let bad = run(&["record", "-", "--addr", addr], "1,1\n95.0,0\n");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("stdin:2: latitude 95.0 is out of range [-90, 90] degrees"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn chat_sends_stdin_notes_and_prints_replays() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    // The tutorial's notes, in E7 units.
    let notes = "0,0 First message\n0,1 Second message\n1,0 Third message\n0,0 Fourth message\n1,0 Fifth message\n";
    let output = run(&["chat", "--e7", "--addr", addr], notes);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "Got message \"First message\" at 0.0000000,0.0000000\nGot message \"Third message\" at 0.0000001,0.0000000\n"
    );
}

#[test]
fn demo_walks_the_tutorial() {
    let server = ServerProcess::start(&[]);
    let output = run(&["demo", "--seed", "7", "--addr", &server.addr], "");
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let berkshire = "Feature \"Berkshire Valley Management Area Trail, Jefferson, NJ, USA\" at 40.9146138,-74.6188906";
    let get_sections = text.split("ListFeatures").next().unwrap();
    assert_eq!(
        get_sections.matches(berkshire).count(),
        3,
        "plain call and concurrent calls:\n{text}"
    );
    assert!(
        text.contains("Finished trip with 10 points. Passed 10 features."),
        "{text}"
    );
    assert!(text.contains("Got message \"First message\""), "{text}");
    assert!(text.contains("Got message \"Third message\""), "{text}");
    let listed = text
        .split("ListFeatures")
        .nth(1)
        .and_then(|rest| rest.split("RecordRoute").next())
        .unwrap();
    assert_eq!(listed.lines().filter(|l| l.contains(" at ")).count(), 100);
}

#[test]
fn options_come_from_environment_variables() {
    let server = ServerProcess::start(&[]);
    let output = routeguide()
        .args(["get", "409146138,-746188906"])
        .env("ROUTEGUIDE_ADDR", &server.addr)
        .env("ROUTEGUIDE_JSON", "true")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("{\"name\":\"Berkshire"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn unreachable_server_exits_3_with_a_clear_message() {
    let addr = closed_port_addr();
    let output = run(&["get", "0,0", "--addr", &addr, "--timeout", "2s"], "");
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("cannot connect to http://127.0.0.1:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["get", "91.0"][..],
        &["get", "abc,1"],
        &["list", "0,0"],
        &["get", "0,0", "--timeout", "soon"],
    ] {
        let output = run(args, "");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn chat_deadline_exits_4_while_stdin_stays_open() {
    let server = ServerProcess::start(&[]);
    let mut child = routeguide()
        .args(["chat", "--addr", &server.addr, "--timeout", "1s"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _stdin_held_open = child.stdin.take();
    let output = wait_output(child, Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("RouteChat failed: DEADLINE_EXCEEDED"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unnamed_features_print_as_unnamed_and_an_empty_point_as_no_feature() {
    let server = ServerProcess::start(&[]);
    let addr = server.addr.as_str();
    let unnamed = "Unnamed feature at 40.7113723,-74.9746483\n";
    let list = run(
        &["list", "40.71,-74.98", "40.72,-74.97", "--addr", addr],
        "",
    );
    assert_eq!(stdout(&list), unnamed, "{}", stderr(&list));
    let get = run(&["get", "40.7113723,-74.9746483", "--addr", addr], "");
    assert_eq!(stdout(&get), unnamed, "{}", stderr(&get));
    let miss = run(&["get", "40.7113724,-74.9746483", "--addr", addr], "");
    assert_eq!(stdout(&miss), "No feature at 40.7113724,-74.9746483\n");

    // The built-in database has 36 unnamed features, all in the tutorial's rectangle.
    let all = run(&["list", "40,-75", "42,-73", "--addr", addr], "");
    assert_eq!(stdout(&all).matches("Unnamed feature at ").count(), 36);
    assert!(!stdout(&all).contains("No feature"), "{}", stdout(&all));
    let json = run(
        &["get", "40.7113723,-74.9746483", "--json", "--addr", addr],
        "",
    );
    assert_eq!(
        stdout(&json),
        "{\"name\":\"\",\"location\":{\"latitude\":407113723,\"longitude\":-749746483}}\n"
    );
}

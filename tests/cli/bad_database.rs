//! `serve --db` with broken files: a non-zero exit and one message naming file, position, problem.

use super::process::{run, stderr};

/// Runs `serve` on the database and returns its stderr after checking the common points.
fn check(name: &str, contents: Option<&str>, expected: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("routeguide-bad-db-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.json"));
    match contents {
        Some(text) => std::fs::write(&path, text).unwrap(),
        None => {
            let _ = std::fs::remove_file(&path);
        }
    }
    let path_text = path.display().to_string();
    let output = run(&["serve", "--addr", "127.0.0.1:0", "--db", &path_text], "");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains(&path_text), "names the file: {message}");
    for fragment in expected {
        assert!(message.contains(fragment), "{fragment:?} in {message}");
    }
    assert!(
        !message.contains("listening on"),
        "nothing is served: {message}"
    );
    assert!(!message.contains("panicked"), "{message}");
    message
}

#[test]
fn missing_file_names_its_cause_once() {
    let message = check("missing_file", None, &["cannot read", "No such file"]);
    assert_eq!(message.matches("No such file").count(), 1, "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}

#[test]
fn invalid_json_names_line_and_column() {
    check(
        "invalid_json_names_line_and_column",
        Some("[\n  {\"name\": \"a\"},\n  {\"name\": }\n]"),
        &[":3:12:", "expected value"],
    );
}

#[test]
fn wrong_type_names_line_and_column() {
    check(
        "wrong_type_names_line_and_column",
        Some("[\n{\"location\": {\"latitude\": \"north\"}}\n]"),
        &[":2:", "invalid type: string \"north\", expected i64"],
    );
}

#[test]
fn out_of_range_coordinate_names_the_feature() {
    check(
        "out_of_range_coordinate_names_the_feature",
        Some("[{\"name\": \"ok\"},\n{\"location\": {\"latitude\": 900000001, \"longitude\": 0}}]"),
        &[
            ":2:",
            "feature 1: location.latitude 900000001 is out of range",
        ],
    );
}

#[test]
fn not_an_array() {
    check(
        "not_an_array",
        Some("{\"features\": []}"),
        &[":1:1:", "expected a JSON array of features"],
    );
}

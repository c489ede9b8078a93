//! Repository hygiene checks that run under plain `cargo test`.
//!
//! Every directory a check walks must exist and hold files of the kind it looks for, so a
//! renamed or emptied directory fails the check instead of letting it pass over nothing.

use std::path::{Path, PathBuf};

/// The most lines a source, test or script file may have.
const MAX_LINES: usize = 400;

/// Crates that speak the wire; domain code names none of them, nor the generated `pb`.
const WIRE_NAMES: &[&str] = &[
    "tonic",
    "tonic_health",
    "tonic_reflection",
    "tonic_prost",
    "prost",
    "prost_types",
    "http",
    "http_body",
    "http_body_util",
    "hyper",
    "hyper_util",
    "h2",
    "pb",
];

/// Says which files of a directory a check reads.
type FileFilter = fn(&Path) -> bool;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn is_rust(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rs")
}

fn is_python_or_shell(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py" || e == "sh")
}

fn any_file(_: &Path) -> bool {
    true
}

/// Returns the files under `dir`, recursively, that `wanted` accepts, sorted.
///
/// # Errors
/// When `dir` is missing or unreadable, or holds no file that `wanted` accepts.
fn files_under(dir: &Path, wanted: FileFilter) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, wanted: FileFilter, found: &mut Vec<PathBuf>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir)
            .map_err(|error| format!("cannot read directory {}: {error}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|error| format!("cannot read directory {}: {error}", dir.display()))?
                .path();
            if path.is_dir() {
                walk(&path, wanted, found)?;
            } else if wanted(&path) {
                found.push(path);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    walk(dir, wanted, &mut found)?;
    if found.is_empty() {
        return Err(format!("{} holds no file to check", dir.display()));
    }
    found.sort();
    Ok(found)
}

/// Returns the files of every `(directory, filter)` pair below the repository root.
fn checked_files(dirs: &[(&str, FileFilter)]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for &(dir, wanted) in dirs {
        files.extend(files_under(&root().join(dir), wanted).unwrap_or_else(|e| panic!("{e}")));
    }
    files
}

/// Returns the path below the repository root, which must be an existing file.
fn required_file(relative: &str) -> PathBuf {
    let path = root().join(relative);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = vec![required_file("build.rs")];
    files.extend(checked_files(&[
        ("src", is_rust),
        ("tests", is_rust),
        ("benches", is_rust),
        ("examples", is_rust),
        ("fuzz/fuzz_targets", is_rust),
    ]));
    files
}

/// Returns the path relative to the repository root, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn every_rust_file_opens_with_a_module_doc_line() {
    let missing: Vec<_> = all_rust_files()
        .iter()
        .filter(|path| !read(path).trim_start().starts_with("//!"))
        .map(|path| shown(path))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line: {missing:?}"
    );
}

#[test]
fn no_source_test_or_script_file_exceeds_the_line_limit() {
    let mut files = all_rust_files();
    files.extend(checked_files(&[
        ("tests", is_python_or_shell),
        ("scripts", any_file),
    ]));
    let too_long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let lines = read(path).lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", shown(path)))
        })
        .collect();
    assert!(
        too_long.is_empty(),
        "files over {MAX_LINES} lines (split them by concern): {too_long:#?}"
    );
}

#[test]
fn domain_modules_do_not_name_the_wire() {
    let mut files: Vec<PathBuf> = ["src/geo.rs", "src/index.rs", "src/route.rs"]
        .into_iter()
        .map(required_file)
        .collect();
    files.extend(checked_files(&[
        ("src/geo", is_rust),
        ("src/index", is_rust),
        ("src/notes", is_rust),
    ]));
    let mentions: Vec<String> = files
        .iter()
        .flat_map(|path| {
            wire_mentions(&read(path))
                .into_iter()
                .map(move |(line, name)| format!("{}:{line}: {name}", shown(path)))
        })
        .collect();
    assert!(
        mentions.is_empty(),
        "domain code names a wire crate or the generated `pb`: {mentions:#?}"
    );
}

#[test]
fn sql_lives_only_in_the_postgres_backend_and_the_embedded_sqlite_file() {
    for path in all_rust_files() {
        // The embedded backend's SQLite file is the one exception outside PostgreSQL.
        let exempt = path.ends_with("tests/tidy.rs")
            || path.ends_with("notes/postgres.rs")
            || path.ends_with("notes/embedded/sqlite.rs")
            || path.components().any(|c| c.as_os_str() == "postgres");
        if exempt {
            continue;
        }
        let text = read(&path);
        for keyword in ["SELECT ", "INSERT INTO", "CREATE TABLE"] {
            assert!(
                !text.contains(keyword),
                "{} contains SQL ({keyword})",
                path.display()
            );
        }
    }
}

/// Returns `(line, name)` for each wire crate or `pb` that Rust `source` names in code:
/// as a path segment (`tonic::Status`, `crate::pb`) or anywhere in a `use` or
/// `extern crate` item. Comments and string and character literals are not code.
fn wire_mentions(source: &str) -> Vec<(usize, String)> {
    let tokens = tokens(&code_only(source));
    let mut found = Vec::new();
    let mut in_item = false;
    for (index, (line, token)) in tokens.iter().enumerate() {
        match token.as_str() {
            "use" | "extern" => in_item = true,
            ";" => in_item = false,
            name if WIRE_NAMES.contains(&name) => {
                let before = index.checked_sub(1).map(|i| tokens[i].1.as_str());
                let after = tokens.get(index + 1).map(|t| t.1.as_str());
                if in_item || before == Some("::") || after == Some("::") {
                    found.push((*line, name.to_owned()));
                }
            }
            _ => {}
        }
    }
    found
}

/// Returns `source` with comments and the contents of string and character literals
/// replaced by spaces, newlines kept, so line numbers still hold.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let (c, next) = (chars[i], chars.get(i + 1).copied());
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 1;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                }
                i += 1;
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && starts_token(&chars, i) {
            // A raw string r"..." or r#"..."# (also after b); r#name is a raw identifier.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                i += 1 + hashes;
                continue;
            }
            let closing: Vec<char> = std::iter::once('"')
                .chain("#".repeat(hashes).chars())
                .collect();
            i += 2 + hashes;
            while i < chars.len() && !chars[i..].starts_with(&closing) {
                blank(&mut out, chars[i]);
                i += 1;
            }
            i += closing.len();
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&skipped) = chars.get(i) {
                    blank(&mut out, skipped);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\'', '\u{7f}'); 'a without a closing quote is a lifetime.
            i += if next == Some('\\') { 3 } else { 2 };
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Says whether `chars[i]` starts a token, or follows a `b` that does (as in `br"..."`).
fn starts_token(chars: &[char], i: usize) -> bool {
    let ident = |j: usize| chars[j].is_alphanumeric() || chars[j] == '_';
    match i {
        0 => true,
        1 => !ident(0) || chars[0] == 'b',
        _ => !ident(i - 1) || (chars[i - 1] == 'b' && !ident(i - 2)),
    }
}

/// Returns `(line, token)` for each identifier, `::` and other punctuation character.
fn tokens(code: &str) -> Vec<(usize, String)> {
    let mut tokens = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(c) = rest.chars().next() {
            let token_len = if c.is_alphanumeric() || c == '_' {
                rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len())
            } else if rest.starts_with("::") {
                2
            } else {
                c.len_utf8()
            };
            let token = &rest[..token_len];
            if !token.trim().is_empty() {
                tokens.push((number + 1, token.to_owned()));
            }
            rest = &rest[token_len..];
        }
    }
    tokens
}

#[test]
fn wire_mentions_are_found_in_code_only() {
    fn check(source: &str, expected: &[(usize, &str)]) {
        let expected: Vec<(usize, String)> =
            expected.iter().map(|&(l, n)| (l, n.to_owned())).collect();
        assert_eq!(wire_mentions(source), expected, "in {source:?}");
    }
    check("use tonic::Status;", &[(1, "tonic")]);
    check("use prost::Message as _;", &[(1, "prost")]);
    check("#[derive(prost::Message)]\nstruct A;", &[(1, "prost")]);
    check("fn f() -> http::StatusCode {}", &[(1, "http")]);
    check("let body = ::hyper::body::Incoming;", &[(1, "hyper")]);
    check("extern crate prost;", &[(1, "prost")]);
    check(
        "use h2::client;\nuse hyper_util::rt;",
        &[(1, "h2"), (2, "hyper_util")],
    );
    check("use crate::pb;", &[(1, "pb")]);
    check("use crate::{geo::GeoPoint, pb::Point};", &[(1, "pb")]);
    check("use crate::{\n    geo,\n    pb,\n};", &[(3, "pb")]);
    check("fn f(p: crate::pb::Point) {}", &[(1, "pb")]);
    check("let p = super::pb::Point::default();", &[(1, "pb")]);
    check("let s: &'static str = x; tonic::Code::Ok", &[(1, "tonic")]);
    check("let q = '\"'; http::Method::GET", &[(1, "http")]);
    check(
        "let q = '\\''; let u = '\\u{7f}'; prost::encoding",
        &[(1, "prost")],
    );
    check(
        "let r = r#\"tonic::x\"#; r#\"\"#; hyper::Error",
        &[(1, "hyper")],
    );
    // Words in comments, strings and plain identifiers are not the wire.
    check("// talks http, unlike tonic::Status", &[]);
    check(
        "/// Like `http::Request`, but a point.\n//! prost::Message",
        &[],
    );
    check("/* tonic /* nested */ prost::X */ fn a() {}", &[]);
    check("let url = \"http://example.com/tonic::x\";", &[]);
    check("let http = 1; let pb = http + 1; fn hyperlink() {}", &[]);
    check("let s = b\"prost::\"; let t = br#\"pb::\" tonic::\"#;", &[]);
    check("let r#type = 1; r#tonic::Code", &[(1, "tonic")]);
}

#[test]
fn a_missing_or_empty_directory_is_an_error() {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tidy-empty-dir");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(scratch.join("nested")).unwrap();
    std::fs::write(scratch.join("nested/notes.txt"), "not rust").unwrap();
    let empty = files_under(&scratch, is_rust);
    assert!(
        empty.as_ref().is_err_and(|e| e.contains("holds no file")),
        "{empty:?}"
    );
    let missing = files_under(&scratch.join("no-such-dir"), any_file);
    assert!(
        missing.as_ref().is_err_and(|e| e.contains("cannot read")),
        "{missing:?}"
    );
    std::fs::write(scratch.join("nested/lib.rs"), "//! x").unwrap();
    assert_eq!(
        files_under(&scratch, is_rust),
        Ok(vec![scratch.join("nested/lib.rs")])
    );
    std::fs::remove_dir_all(&scratch).unwrap();
}

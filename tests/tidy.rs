//! Repository hygiene checks that run under plain `cargo test`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("build.rs")];
    for dir in ["src", "tests", "benches", "examples"] {
        rust_files(&root.join(dir), &mut files);
    }
    files
}

#[test]
fn every_rust_file_opens_with_a_module_doc_line() {
    let missing: Vec<_> = all_rust_files()
        .into_iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading `//!` line: {missing:?}"
    );
}

#[test]
fn domain_modules_do_not_import_tonic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![
        root.join("geo.rs"),
        root.join("index.rs"),
        root.join("route.rs"),
    ];
    for directory in ["geo", "index", "notes"] {
        rust_files(&root.join(directory), &mut files);
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("tonic"), "{} mentions tonic", path.display());
    }
}

#[test]
fn sql_lives_only_in_the_postgres_backend() {
    for path in all_rust_files() {
        let exempt = path.ends_with("tests/tidy.rs")
            || path.ends_with("notes/postgres.rs")
            || path.components().any(|c| c.as_os_str() == "postgres");
        if exempt {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for keyword in ["SELECT ", "INSERT INTO", "CREATE TABLE"] {
            assert!(
                !text.contains(keyword),
                "{} contains SQL ({keyword})",
                path.display()
            );
        }
    }
}

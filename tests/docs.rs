//! Docs that are true: what the README and docs/ name must exist, and what they promise about
//! how to depend on the crate must hold while it is not on crates.io.
//!
//! - Every backticked snake_case name with an underscore (`run_init`, `on_shutdown`, ...) and
//!   every `lambda_loop::` path a document names is a word of the project's code (src/,
//!   examples/, tests/, bench/, build.sh, .ci/, templates/, fuzz/), or one of the few outside
//!   names listed here: a renamed or removed item fails.
//! - Every test file with `#[ignore]`d tests is named in the README (`--test NAME`), which says
//!   what `cargo test` leaves out, and run by `.ci/run` (`--test NAME -- --ignored`).
//! - No dependency line gives lambda-loop a crates.io `version`, and no document links to a
//!   docs.rs page of lambda-loop: neither exists until the crate is published.

use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, bench/README.md, docs/*.md and the cargo-lambda template's README.
fn documents() -> Vec<PathBuf> {
    let mut documents = vec![
        repo().join("README.md"),
        repo().join("bench/README.md"),
        repo().join("templates/cargo-lambda/README.md"),
    ];
    for entry in fs::read_dir(repo().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "md") {
            documents.push(path);
        }
    }
    documents.sort();
    documents
}

/// Names the documents use that are not the project's own: crates, and a Terraform attribute.
const OUTSIDE_NAMES: &[&str] = &[
    "aws_lambda_events",
    "miniz_oxide",
    "rustc_demangle",
    "source_code_hash",
];

/// Every file of the project's code, read once, as one text.
fn code() -> String {
    fn walk(dir: &Path, text: &mut String) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "target" || name == "node_modules" || name.starts_with('.') && name != ".ci"
            {
                continue;
            }
            if path.is_dir() {
                walk(&path, text);
            } else if let Ok(content) = fs::read_to_string(&path) {
                if path.extension().is_none_or(|ext| ext != "md") {
                    text.push_str(&content);
                    text.push('\n');
                }
            }
        }
    }
    let mut text = String::new();
    for dir in [
        "src",
        "examples",
        "tests",
        "bench",
        ".ci",
        "templates",
        "fuzz",
    ] {
        walk(&repo().join(dir), &mut text);
    }
    text.push_str(&fs::read_to_string(repo().join("build.sh")).unwrap());
    text.push_str(&fs::read_to_string(repo().join("Cargo.toml")).unwrap());
    text
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `word` stands in `text` as a whole word.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
    })
}

/// The backticked spans of `text`.
fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

#[test]
fn every_name_the_docs_give_is_in_the_code() {
    let code = code();
    let mut missing = Vec::new();
    for document in documents() {
        let text = fs::read_to_string(&document).unwrap();
        for span in backticked(&text) {
            // `lambda_loop::a::b(..)`: each segment; `name` or `name(..)`: the name.
            let head = span.split(['(', ' ', '<', '{', '!']).next().unwrap_or("");
            let names: Vec<&str> = if let Some(path) = head.strip_prefix("lambda_loop::") {
                path.split("::").filter(|s| !s.is_empty()).collect()
            } else if head.contains('_')
                && head.starts_with(|c: char| c.is_ascii_lowercase())
                && head.chars().all(is_word_char)
            {
                vec![head]
            } else {
                Vec::new()
            };
            for name in names {
                if !OUTSIDE_NAMES.contains(&name) && !has_word(&code, name) {
                    missing.push(format!(
                        "{}: `{span}` names `{name}`",
                        document.strip_prefix(repo()).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "names the code does not have:\n{}",
        missing.join("\n")
    );
}

#[test]
fn no_document_promises_a_crates_io_version_or_a_docs_rs_page() {
    let mut found = Vec::new();
    for document in documents() {
        let text = fs::read_to_string(&document).unwrap();
        for (number, line) in text.lines().enumerate() {
            let dependency_with_version = line.contains("lambda-loop = {")
                && line
                    .split("lambda-loop = {")
                    .nth(1)
                    .is_some_and(|rest| rest.contains("version"));
            if dependency_with_version
                || line.contains("lambda-loop = \"")
                || line.contains("docs.rs/lambda-loop")
            {
                found.push(format!(
                    "{}:{}: {line}",
                    document.strip_prefix(repo()).unwrap().display(),
                    number + 1
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "lambda-loop is not on crates.io (README: depend on it by git or by path):\n{}",
        found.join("\n")
    );
}

#[test]
fn every_ignored_suite_is_named_in_the_readme_and_run_by_ci() {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let ci = fs::read_to_string(repo().join(".ci/run")).unwrap();
    let mut unnamed = Vec::new();
    for entry in fs::read_dir(repo().join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let source = fs::read_to_string(&path).unwrap();
        if !source
            .lines()
            .any(|line| line.trim_start().starts_with("#[ignore"))
        {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !readme.contains(&format!("--test {name}")) {
            unnamed.push(format!("README.md does not name `--test {name}`"));
        }
        if !ci.contains(&format!("--test {name} -- --ignored")) {
            unnamed.push(format!(".ci/run does not run `--test {name} -- --ignored`"));
        }
    }
    assert!(unnamed.is_empty(), "{}", unnamed.join("\n"));
}

#[test]
fn every_test_the_fault_table_names_exists() {
    let lib = fs::read_to_string(repo().join("src/lib.rs")).unwrap();
    let table: Vec<&str> = lib
        .lines()
        .skip_while(|line| !line.starts_with("//! | fault |"))
        .take_while(|line| line.starts_with("//! |"))
        .skip(2)
        .collect();
    assert!(
        table.len() >= 20,
        "the fault table has {} rows",
        table.len()
    );
    let mut missing = Vec::new();
    for row in table {
        let checked_by = row.trim_end_matches('|').rsplit(" | ").next().unwrap();
        let tests: Vec<&str> = backticked(checked_by).collect();
        assert!(!tests.is_empty(), "a row names no test: {row}");
        for test in tests {
            let (file, name) = test
                .split_once("::")
                .unwrap_or_else(|| panic!("`{test}` is not FILE::test"));
            let source = fs::read_to_string(repo().join(format!("tests/{file}.rs")))
                .unwrap_or_else(|_| panic!("`{test}`: no tests/{file}.rs"));
            // A `#[test] fn name` or a case `name: ...;` of a test-making macro.
            if !has_word(&source, &format!("fn {name}")) && !source.contains(&format!("{name}: ")) {
                missing.push(test.to_owned());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the fault table names tests that do not exist: {missing:?}"
    );
}

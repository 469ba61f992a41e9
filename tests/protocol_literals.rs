//! Every word of the Lambda APIs is named once, in `src/protocol.rs`: its paths, header names,
//! `Runtime.*` error types, environment variables, content types and limits. This test reads
//! the code of every other file of `src/` (comments, doc comments and `#[cfg(test)]` modules
//! left out: tests spell the wire on purpose, and so does the fake of `src/testing/`) and
//! fails on any such literal it finds there.

use std::path::{Path, PathBuf};

/// What a literal of the protocol looks like; each is checked in string literals, and the
/// limits (numbers) in the code itself.
const IN_STRINGS: [&str; 14] = [
    "/runtime/",
    "/extension/",
    "2018-06-01",
    "2020-01-01",
    "lambda-runtime-",
    "lambda-extension-",
    "runtime.",
    "aws_lambda_",
    "aws_region",
    "_x_amzn_",
    "_handler",
    "application/vnd.",
    "application/octet-stream",
    "application/json",
];
const IN_CODE: [&str; 5] = [
    "6_291_556",
    "6291556",
    "200 * 1024 * 1024",
    "209_715_200",
    "209715200",
];

/// The string literals of `code`, in order (normal, byte and raw strings; char literals and
/// lifetimes are stepped over).
fn string_literals(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            'r' if chars.get(i + 1).is_some_and(|&c| c == '"' || c == '#')
                && (i == 0
                    || !chars[i - 1].is_alphanumeric() && chars[i - 1] != '_'
                    || chars[i - 1] == 'b') =>
            {
                let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
                let start = i + 1 + hashes + 1;
                if chars.get(start - 1) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let end = (start..chars.len())
                    .find(|&at| {
                        chars[at] == '"'
                            && chars[at + 1..]
                                .iter()
                                .take(hashes)
                                .filter(|&&c| c == '#')
                                .count()
                                == hashes
                    })
                    .unwrap_or(chars.len());
                found.push(chars[start..end].iter().collect());
                i = end + 1 + hashes;
            }
            '"' => {
                let mut literal = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    if let Some(&c) = chars.get(i) {
                        literal.push(c);
                    }
                    i += 1;
                }
                found.push(literal);
                i += 1;
            }
            '\'' => {
                // 'x' or '\x..': a char literal; otherwise a lifetime.
                let close = if chars.get(i + 1) == Some(&'\\') {
                    (i + 2..chars.len().min(i + 12)).find(|&at| chars[at] == '\'')
                } else {
                    (chars.get(i + 2) == Some(&'\'')).then_some(i + 2)
                };
                i = close.map_or(i + 1, |close| close + 1);
            }
            _ => i += 1,
        }
    }
    found
}

/// The code of a source file: without comment lines and without its `#[cfg(test)]` module.
fn code_of(source: &str) -> String {
    let mut code = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests {"))
        {
            break; // an inline tests module ends every file that has one
        }
        if trimmed.starts_with("//") {
            continue;
        }
        // A trailing comment: ` // ` outside a string (an even number of quotes before it).
        let line = match line.find(" // ") {
            Some(comment) if line[..comment].matches('"').count() % 2 == 0 => &line[..comment],
            _ => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    code
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// `(file:line, what)` for every protocol literal in `source`.
fn literals_in(name: &str, source: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let code = code_of(source);
    for literal in string_literals(&code) {
        let lower = literal.to_ascii_lowercase();
        for word in IN_STRINGS {
            if lower.contains(word) {
                hits.push(format!("{name}: {literal:?} (spells {word:?})"));
            }
        }
    }
    for number in IN_CODE {
        if code.contains(number) {
            hits.push(format!("{name}: {number}"));
        }
    }
    hits
}

#[test]
fn no_file_but_protocol_rs_spells_a_word_of_the_protocol() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut hits = Vec::new();
    let mut read = 0;
    for file in &files {
        let name = file.strip_prefix(&src).unwrap().display().to_string();
        // protocol.rs names them; http/tests.rs and *_tests.rs are test files; testing/ (and
        // durable/testing/) is a
        // fake of Lambda's side of the wire, which spells the protocol on its own on purpose
        // (like the tests): a wrong constant in protocol.rs then fails against it instead of
        // agreeing with itself.
        if name == "protocol.rs"
            || name == "http/tests.rs"
            || name.ends_with("_tests.rs")
            || name.starts_with("testing/")
            || name.starts_with("durable/testing/")
        {
            continue;
        }
        read += 1;
        hits.extend(literals_in(&name, &std::fs::read_to_string(file).unwrap()));
    }
    assert!(read >= 20, "only {read} files of src/ were read");
    assert!(
        hits.is_empty(),
        "protocol literals outside src/protocol.rs (name them there and use the constant):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_scan_finds_the_words_where_they_are_named() {
    let protocol =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/protocol.rs"))
            .unwrap();
    let hits = literals_in("protocol.rs", &protocol);
    for word in [
        "/runtime/invocation/next",
        "Runtime.Panic",
        "_X_AMZN_TRACE_ID",
        "6_291_556",
    ] {
        assert!(
            hits.iter().any(|hit| hit.contains(word)),
            "the scan missed {word:?} in protocol.rs: {hits:#?}"
        );
    }
}

#[test]
fn literals_are_told_from_comments_chars_and_lifetimes() {
    let code = "// \"Runtime.Panic\"\n\
                /// \"AWS_LAMBDA_X\"\n\
                fn f<'a>(x: &'a str) -> char { let _ = '\"'; '\\'' }\n\
                let a = \"Lambda-Runtime-Trace-Id\"; // \"_HANDLER\"\n\
                let b = r#\"{\"errorType\":\"Runtime.Oops\"}\"#;\n\
                let n = 6_291_556;\n\
                #[cfg(test)]\nmod tests { const T: &str = \"/runtime/init/error\"; }\n";
    let hits = literals_in("f.rs", code);
    assert_eq!(hits.len(), 3, "{hits:#?}");
    assert!(hits[0].contains("Lambda-Runtime-Trace-Id"));
    assert!(hits[1].contains("Runtime.Oops"));
    assert!(hits[2].contains("6_291_556"));
}

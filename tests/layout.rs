//! docs/how-it-works.md's table "The layout" is the code's layout: every module of `src/`
//! has a row, every row a module, each row's "imports" is exactly the set of the crate's
//! modules its file uses (`crate::NAME`, outside comments; for a directory module, all of its
//! files), and every import points to a row above it: the layers have no circle and no import
//! runs back up.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The crate's modules, as lib.rs declares them (`mod x;`, `pub mod x;`, behind a cfg too).
fn modules() -> BTreeSet<String> {
    fs::read_to_string(src().join("lib.rs"))
        .unwrap()
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("pub(crate) mod "))
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_owned)
        })
        .collect()
}

/// The sources of module `name`: `name.rs`, or every `.rs` file of the directory `name/`.
fn sources(name: &str) -> Vec<String> {
    let file = src().join(format!("{name}.rs"));
    if file.exists() {
        return vec![fs::read_to_string(file).unwrap()];
    }
    let mut texts = Vec::new();
    for entry in fs::read_dir(src().join(name))
        .unwrap_or_else(|_| panic!("no src/{name}.rs nor src/{name}/"))
    {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "rs") {
            texts.push(fs::read_to_string(path).unwrap());
        }
    }
    texts
}

/// The crate's modules `text` uses through `crate::` (in `use crate::{a, b::c}` too), comments
/// left out.
fn imports(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                // Top-level items of the group only: `{a::{x, y}, b}` gives a and b.
                Some(group) => {
                    let mut depth = 0;
                    let mut items = vec![0];
                    for (index, c) in group.char_indices() {
                        match c {
                            '{' => depth += 1,
                            '}' if depth == 0 => break,
                            '}' => depth -= 1,
                            ',' if depth == 0 => items.push(index + 1),
                            _ => {}
                        }
                    }
                    items
                        .iter()
                        .map(|&start| group[start..].trim_start())
                        .collect()
                }
                None => vec![rest],
            };
            for name in names {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if modules.contains(&name) {
                    found.insert(name);
                }
            }
        }
    }
    found
}

/// The rows of the table: (module, its imports as the table gives them, its layer's number).
fn table() -> Vec<(String, BTreeSet<String>, usize)> {
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/how-it-works.md"))
            .unwrap();
    let section = doc
        .split("## 3. The layout")
        .nth(1)
        .expect("docs/how-it-works.md has '## 3. The layout'");
    let mut rows = Vec::new();
    let mut layer = 0;
    for line in section
        .lines()
        .skip_while(|line| !line.starts_with("| layer"))
        .skip(2)
    {
        let Some(inner) = line.strip_prefix('|') else {
            break;
        };
        let cells: Vec<&str> = inner.split(" | ").map(str::trim).collect();
        assert!(cells.len() >= 4, "a row of four cells: {line}");
        // The first backticked word: `file.rs`, or `dir/` for a directory module.
        if !cells[0].is_empty() {
            layer += 1;
        }
        let file = cells[1].split('`').nth(1).unwrap_or(cells[1]);
        if file == "lib.rs" {
            continue;
        }
        let module = file
            .trim_end_matches(".rs")
            .trim_end_matches('/')
            .to_owned();
        let imports_cell = cells[3].trim_end_matches('|').trim();
        let imports = match imports_cell {
            "nothing" => BTreeSet::new(),
            cell => cell
                .split(", ")
                .map(|name| name.trim_matches('`').to_owned())
                .collect(),
        };
        rows.push((module, imports, layer));
    }
    rows
}

#[test]
fn the_layout_table_is_the_code() {
    let modules = modules();
    let rows = table();
    let mut problems = Vec::new();
    let listed: BTreeSet<String> = rows.iter().map(|(module, ..)| module.clone()).collect();
    for module in modules.difference(&listed) {
        problems.push(format!("`{module}` has no row"));
    }
    for module in listed.difference(&modules) {
        problems.push(format!("the row `{module}` is no module of lib.rs"));
    }
    let mut in_layer = BTreeSet::new();
    for (position, (module, stated, layer)) in rows.iter().enumerate() {
        if !modules.contains(module) {
            continue;
        }
        let mut actual = BTreeSet::new();
        for text in sources(module) {
            actual.extend(imports(&text, &modules));
        }
        actual.remove(module);
        if &actual != stated {
            problems.push(format!(
                "`{module}` imports {actual:?}, the table says {stated:?}"
            ));
        }
        for import in &actual {
            match rows[..position].iter().find(|(name, ..)| name == import) {
                None => problems.push(format!(
                    "`{module}` imports `{import}`, which is not above it"
                )),
                Some((_, _, import_layer)) if import_layer == layer => {
                    in_layer.insert(format!("`{module}` → `{import}`"));
                }
                Some(_) => {}
            }
        }
    }
    // The sentence that lists the imports inside a layer lists exactly them, and counts them.
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/how-it-works.md"))
            .unwrap();
    let sentence = doc
        .split("The imports inside a layer are these ")
        .nth(1)
        .and_then(|rest| rest.split(". ").next())
        .expect("the sentence 'The imports inside a layer are these N, ...'")
        .replace('\n', " ");
    let (count, pairs) = sentence
        .split_once(", each going one way: ")
        .expect("'N, each going one way: ...'");
    let stated: BTreeSet<String> = pairs
        .split(", ")
        .map(|pair| pair.trim().to_owned())
        .collect();
    if stated != in_layer {
        problems.push(format!(
            "the imports inside a layer are {in_layer:?}, the text says {stated:?}"
        ));
    }
    const NUMBERS: [&str; 31] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "twenty-one",
        "twenty-two",
        "twenty-three",
        "twenty-four",
        "twenty-five",
        "twenty-six",
        "twenty-seven",
        "twenty-eight",
        "twenty-nine",
        "thirty",
    ];
    if NUMBERS.get(in_layer.len()) != Some(&count) {
        problems.push(format!(
            "the text counts {count} imports inside a layer, there are {}",
            in_layer.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "docs/how-it-works.md, 3. The layout:\n{}",
        problems.join("\n")
    );
}

//! Figures that drift: every figure a document quotes about build.sh's zips comes from
//! `docs/figures.md` (written by `docs/figures.sh`), every benchmark figure from
//! `bench/results/latest.md` (written by `bench/run.sh`), and this test fails when a document
//! quotes one that differs from its source, or quotes a byte count without saying where it
//! comes from.
//!
//! How a document quotes (the markers are HTML comments, invisible once rendered):
//! - `700,304<!--fig build echo/x86_64/binary-->`: a figure of `docs/figures.md`
//!   (fields `binary`, `zip`, `sha256`; a sha256 may be quoted by a prefix);
//! - `76,428<!--fig bench ll-echo-release instructions exec → first `next`-->`: a cell of
//!   `bench/results/latest.md` (the column, then the row label), to the doc's precision;
//! - `<!--fig build table-->` before a fenced copy of build.sh's table: each row's bytes and
//!   sha256 prefix;
//! - `<!--fig bench table-->` before a markdown table: each cell equals latest.md's cell of the
//!   same row label and column;
//! - `sdk` instead of `bench`: the same, from `bench/results/sdk.md` (bench/sdk-cost.sh); `http`:
//!   from `bench/results/http-size.md` (bench/http-size.sh); `durable`: from
//!   `bench/results/durable.md` (bench/durable-cost.sh).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents that quote figures.
fn documents() -> Vec<PathBuf> {
    let mut documents = vec![repo().join("README.md"), repo().join("bench/README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "md")
                && path.file_name().unwrap() != "figures.md"
        })
        .collect();
    docs.sort();
    documents.extend(docs);
    documents
}

/// Cells of the markdown table rows of `text`: `| a | b |` becomes ["a", "b"].
fn table_cells(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let inner = line.strip_prefix('|')?.strip_suffix('|')?;
    Some(
        inner
            .split('|')
            .map(|cell| cell.trim().to_owned())
            .collect(),
    )
}

/// docs/figures.md: "name/arch/field" -> value.
fn build_figures() -> HashMap<String, String> {
    let text = fs::read_to_string(repo().join("docs/figures.md")).expect("docs/figures.md");
    let mut figures = HashMap::new();
    for cells in text.lines().filter_map(table_cells) {
        if cells.len() != 5 || cells[0] == "name" || cells[0].starts_with("---") {
            continue;
        }
        let key = format!("{}/{}", cells[0], cells[1]);
        figures.insert(format!("{key}/binary"), cells[2].clone());
        figures.insert(format!("{key}/zip"), cells[3].clone());
        figures.insert(format!("{key}/sha256"), cells[4].clone());
    }
    assert!(!figures.is_empty(), "docs/figures.md has no figures");
    figures
}

/// A table of bench results (`bench/results/latest.md`, `sdk.md`, `durable.md`): "row label|column" -> cell.
fn bench_figures(file: &str) -> HashMap<String, String> {
    let text = fs::read_to_string(repo().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut figures = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut columns: Vec<String> = Vec::new();
    for (index, cells) in lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((i, table_cells(l)?)))
    {
        let is_header = lines
            .get(index + 1)
            .is_some_and(|next| next.starts_with("|---"));
        if is_header {
            // The table of figures; the later table of targets is not quoted from.
            columns = if cells[0] == "figure" {
                cells
            } else {
                Vec::new()
            };
        } else if !cells[0].starts_with("---") && !columns.is_empty() {
            for (column, cell) in columns.iter().zip(&cells).skip(1) {
                figures.insert(format!("{}|{column}", cells[0]), cell.clone());
            }
        }
    }
    assert!(!figures.is_empty(), "{file} has no table");
    figures
}

/// The number a cell starts with: "1,265 (0.66×)" -> "1,265".
fn leading_figure(cell: &str) -> &str {
    cell.split_whitespace().next().unwrap_or("")
}

/// Whether the doc's `quoted` figure is `source`'s, rounded (half up) to the decimals the doc
/// quotes: `1.27` and `1.3` quote `1.265`, `1.26` does not.
fn same_figure(quoted: &str, source: &str) -> bool {
    let quoted = quoted.replace(',', "");
    let source = source.replace(',', "");
    if quoted == source {
        return true;
    }
    // Each as (digits without the point, number of decimals).
    let split = |text: &str| -> Option<(u128, u32)> {
        let (whole, decimals) = text.split_once('.').unwrap_or((text, ""));
        let digits = format!("{whole}{decimals}");
        Some((digits.parse().ok()?, decimals.len() as u32))
    };
    let (Some((q, q_decimals)), Some((s, s_decimals))) = (split(&quoted), split(&source)) else {
        return false;
    };
    if q_decimals >= s_decimals {
        return false;
    }
    let scale = 10u128.pow(s_decimals - q_decimals);
    (s + scale / 2) / scale == q
}

struct Checker {
    build: HashMap<String, String>,
    bench: HashMap<String, String>,
    sdk: HashMap<String, String>,
    http: HashMap<String, String>,
    durable: HashMap<String, String>,
    problems: Vec<String>,
    quoted: usize,
}

impl Checker {
    fn check(&mut self, place: &str, source: &str, key: &str, quoted: &str) {
        self.quoted += 1;
        let (figures, file) = match source {
            "build" => (&self.build, "docs/figures.md"),
            "bench" => (&self.bench, "bench/results/latest.md"),
            "sdk" => (&self.sdk, "bench/results/sdk.md"),
            "http" => (&self.http, "bench/results/http-size.md"),
            "durable" => (&self.durable, "bench/results/durable.md"),
            other => {
                self.problems
                    .push(format!("{place}: unknown figure source {other:?}"));
                return;
            }
        };
        let Some(value) = figures.get(key) else {
            self.problems
                .push(format!("{place}: {file} has no figure {key:?}"));
            return;
        };
        let matches = if key.ends_with("/sha256") {
            quoted.len() >= 8 && value.starts_with(quoted)
        } else {
            same_figure(quoted, leading_figure(value))
        };
        if !matches {
            self.problems.push(format!(
                "{place}: quotes {quoted} for {key:?}, but {file} has {value} \
                 (update the document from {file})"
            ));
        }
    }
}

/// The figure right before byte `end` of `line`: digits, commas, a point, or hex digits.
fn figure_before(line: &str, end: usize) -> &str {
    let start = line[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_hexdigit() || *c == ',' || *c == '.')
        .last()
        .map_or(end, |(i, _)| i);
    line[start..end].trim_start_matches([',', '.'])
}

/// Byte counts quoted without a marker: `700,304-byte`, `352345 bytes`. Lambda's fixed limits
/// are constants, not measurements.
fn unmarked_byte_counts(line: &str) -> Vec<String> {
    const CONSTANTS: [&str; 2] = ["6291556", "6291557"];
    let mut found = Vec::new();
    for suffix in ["-byte", " bytes"] {
        for (at, _) in line.match_indices(suffix) {
            let figure = figure_before(line, at);
            let digits = figure.replace(',', "");
            if digits.len() >= 5
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !CONSTANTS.contains(&digits.as_str())
            {
                found.push(figure.to_owned());
            }
        }
    }
    found
}

fn check_document(checker: &mut Checker, path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let name = path.strip_prefix(repo()).unwrap().display().to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let place = format!("{name}:{}", index + 1);
        if line.trim() == "<!--fig build table-->" {
            index = check_build_table(checker, &name, &lines, index + 1);
            continue;
        }
        if let Some(source @ ("bench" | "sdk" | "durable")) = line
            .trim()
            .strip_prefix("<!--fig ")
            .and_then(|rest| rest.strip_suffix(" table-->"))
        {
            index = check_bench_table(checker, source, &name, &lines, index + 1);
            continue;
        }
        let mut rest = 0;
        while let Some(found) = line[rest..].find("<!--fig ") {
            let start = rest + found;
            let Some(length) = line[start..].find("-->") else {
                checker.problems.push(format!("{place}: unclosed marker"));
                break;
            };
            let marker = &line[start + "<!--fig ".len()..start + length];
            let (source, key) = marker.split_once(' ').unwrap_or((marker, ""));
            // A bench key is "COLUMN ROW LABEL" (no `|`, which would split a table cell).
            let key = match (source, key.split_once(' ')) {
                ("bench" | "sdk" | "http" | "durable", Some((column, row))) => {
                    format!("{row}|{column}")
                }
                _ => key.to_owned(),
            };
            let quoted = figure_before(line, start);
            checker.check(&place, source, &key, quoted);
            rest = start + length;
        }
        // A marker is right after its figure, so a marked figure is not "unmarked" here.
        let without_markers = strip_markers(line);
        for figure in unmarked_byte_counts(&without_markers) {
            if !line.contains(&format!("{figure}<!--fig")) {
                checker.problems.push(format!(
                    "{place}: the byte count {figure} has no marker saying where it comes from \
                     (quote it from docs/figures.md or bench/results/latest.md)"
                ));
            }
        }
        index += 1;
    }
}

fn strip_markers(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("<!--fig ") {
        out.push_str(&rest[..start]);
        match rest[start..].find("-->") {
            Some(end) => rest = &rest[start + end + 3..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// A fenced copy of build.sh's table; returns the index after the fence.
fn check_build_table(checker: &mut Checker, name: &str, lines: &[&str], from: usize) -> usize {
    let mut index = from;
    let mut rows = 0;
    assert!(
        lines.get(index).is_some_and(|l| l.starts_with("```")),
        "{name}:{}: <!--fig build table--> must be followed by a fenced block",
        from + 1
    );
    index += 1;
    while index < lines.len() && !lines[index].starts_with("```") {
        let fields: Vec<&str> = lines[index].split_whitespace().collect();
        if fields.len() >= 5 && (fields[1] == "x86_64" || fields[1] == "arm64") {
            let place = format!("{name}:{}", index + 1);
            let key = format!("{}/{}", fields[0], fields[1]);
            checker.check(&place, "build", &format!("{key}/binary"), fields[2]);
            checker.check(&place, "build", &format!("{key}/zip"), fields[3]);
            let sha = fields[4].trim_end_matches('…');
            checker.check(&place, "build", &format!("{key}/sha256"), sha);
            rows += 1;
        }
        index += 1;
    }
    assert!(rows > 0, "{name}:{}: a build table without rows", from + 1);
    index + 1
}

/// A markdown table of benchmark cells; returns the index after it.
fn check_bench_table(
    checker: &mut Checker,
    source: &str,
    name: &str,
    lines: &[&str],
    from: usize,
) -> usize {
    let file = match source {
        "sdk" => "bench/results/sdk.md",
        "durable" => "bench/results/durable.md",
        _ => "bench/results/latest.md",
    };
    let mut index = from;
    let header = table_cells(lines[index]).unwrap_or_else(|| {
        panic!(
            "{name}:{}: <!--fig {source} table--> must be followed by a table",
            from + 1
        )
    });
    index += 1;
    while let Some(cells) = lines.get(index).and_then(|line| table_cells(line)) {
        if !cells[0].starts_with("---") {
            let place = format!("{name}:{}", index + 1);
            for (column, cell) in header.iter().zip(&cells).skip(1) {
                let key = format!("{}|{column}", cells[0]);
                checker.quoted += 1;
                let figures = match source {
                    "sdk" => &checker.sdk,
                    "durable" => &checker.durable,
                    _ => &checker.bench,
                };
                match figures.get(&key) {
                    Some(value) if value == cell => {}
                    Some(value) => checker.problems.push(format!(
                        "{place}: {key:?} is {cell:?} here, {value:?} in {file}"
                    )),
                    None => checker.problems.push(format!(
                        "{place}: {file} has no row {:?} or column {column:?}",
                        cells[0]
                    )),
                }
            }
        }
        index += 1;
    }
    index
}

#[test]
fn every_quoted_figure_matches_its_generated_source() {
    let mut checker = Checker {
        build: build_figures(),
        bench: bench_figures("bench/results/latest.md"),
        sdk: bench_figures("bench/results/sdk.md"),
        http: bench_figures("bench/results/http-size.md"),
        durable: bench_figures("bench/results/durable.md"),
        problems: Vec::new(),
        quoted: 0,
    };
    for document in documents() {
        check_document(&mut checker, &document);
    }
    assert!(
        checker.problems.is_empty(),
        "{} problem(s) in {} quoted figures:\n{}",
        checker.problems.len(),
        checker.quoted,
        checker.problems.join("\n")
    );
    assert!(
        checker.quoted >= 10,
        "only {} figures quoted",
        checker.quoted
    );
}

#[test]
fn the_figures_say_when_they_were_measured() {
    let figures = fs::read_to_string(repo().join("docs/figures.md")).unwrap();
    assert!(figures.contains("\n- measured: 20"), "{figures}");
    assert!(figures.contains("\n- toolchain: rustc "), "{figures}");
    let bench = fs::read_to_string(repo().join("bench/results/latest.md")).unwrap();
    assert!(bench.contains("\n- date: 20"), "latest.md has no date");
    // The build times' date is the one written in the file when they were measured, not the
    // file's modification time (which a checkout resets).
    let times = fs::read_to_string(repo().join("bench/results/build-times.tsv")).unwrap();
    assert!(
        times.starts_with("# measured: 20"),
        "build-times.tsv: {times}"
    );
}

#[test]
fn the_checker_catches_a_drifted_figure_and_an_unmarked_one() {
    let mut checker = Checker {
        build: HashMap::from([("echo/x86_64/binary".to_owned(), "700304".to_owned())]),
        bench: HashMap::from([("init|ll".to_owned(), "1.265 (0.66×)".to_owned())]),
        sdk: HashMap::new(),
        http: HashMap::new(),
        durable: HashMap::new(),
        problems: Vec::new(),
        quoted: 0,
    };
    checker.check("a", "build", "echo/x86_64/binary", "700,304");
    checker.check("b", "bench", "init|ll", "1.27");
    checker.check("c", "bench", "init|ll", "1.265");
    assert!(checker.problems.is_empty(), "{:?}", checker.problems);
    checker.check("d", "build", "echo/x86_64/binary", "700,336");
    checker.check("e", "bench", "init|ll", "1.3");
    checker.check("f", "bench", "init|ll", "1.26");
    checker.check("g", "bench", "init|ll", "1.2650");
    assert_eq!(checker.problems.len(), 3, "{:?}", checker.problems);
    assert!(checker.problems[0].starts_with("d: quotes 700,336"));
    assert!(checker.problems[1].starts_with("f: quotes 1.26"));
    assert!(checker.problems[2].starts_with("g: quotes 1.2650"));
    assert_eq!(
        unmarked_byte_counts("a 700,336-byte binary, 352345 bytes zipped, limit 6,291,556 bytes"),
        ["700,336", "352345"]
    );
    assert_eq!(
        figure_before("is 700,304<!--fig", "is 700,304".len()),
        "700,304"
    );
}

/// A figure of bench/results/durable.md's table as a number: "1,405,000", "1.52 ms".
fn durable_number(cell: &str) -> f64 {
    let digits: String = cell
        .trim_end_matches(" ms")
        .chars()
        .filter(|c| *c != ',')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("durable.md: {cell:?} is not a figure"))
}

/// The ratio a floor note of durable.md gives after `after` (e.g. "ms (median; "), as
/// `- floor, glibc (...): 284,622 instructions to its first `next` (0.43x ...), 0.98 ms (median;
/// 0.70x), peak RSS 1,908 KiB (0.28x)`.
fn floor_ratio(note: &str, after: &str) -> f64 {
    let rest = &note[note
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} in {note:?}"))
        + after.len()..];
    let ratio: String = rest
        .trim_start_matches(['(', ' '])
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    ratio
        .parse()
        .unwrap_or_else(|_| panic!("a ratio after {after:?} in {note:?}"))
}

#[test]
fn the_deployed_durable_build_meets_every_goal_and_glibc_misses_only_what_its_floor_does() {
    // What README.md's "Durable functions" says of the table it quotes from durable.md.
    let text = fs::read_to_string(repo().join("bench/results/durable.md")).unwrap();
    let figures = bench_figures("bench/results/durable.md");
    let glibc_floor = text
        .lines()
        .find(|line| line.starts_with("- floor, glibc"))
        .expect("durable.md has a glibc floor note");
    let rows: Vec<String> = text
        .lines()
        .filter_map(|line| Some(table_cells(line)?.first()?.clone()))
        .filter(|label| label != "figure" && !label.starts_with("---"))
        .collect();
    let mut goals = 0;
    for row in rows {
        let goal = &figures[&format!("{row}|goal")];
        let cell = |column: &str| durable_number(&figures[&format!("{row}|`{column}`")]);
        let (official, glibc, musl) = (
            cell("official-durable"),
            cell("ll-durable"),
            cell("ll-durable-musl"),
        );
        if let Some(calls) = goal.strip_prefix("≤ `python-durable`'s ") {
            let calls: f64 = calls.parse().unwrap();
            assert!(musl <= calls && glibc <= calls, "{row}: {goal}");
            goals += 1;
        } else if let Some(ratio) = goal.strip_prefix("≤ ").and_then(|g| g.strip_suffix('x')) {
            let ratio: f64 = ratio.parse().unwrap();
            assert!(
                musl / official <= ratio,
                "{row}: ll-durable-musl at {:.3}x, goal {goal}",
                musl / official
            );
            if glibc / official > ratio {
                let floor = match row.as_str() {
                    "instructions exec → first `next`" => {
                        floor_ratio(glibc_floor, "first `next`")
                    }
                    "wall exec → first `next` (median)" => {
                        floor_ratio(glibc_floor, "ms (median; ")
                    }
                    _ => panic!(
                        "{row}: ll-durable at {:.3}x misses {goal}",
                        glibc / official
                    ),
                };
                assert!(
                    floor > ratio,
                    "{row}: ll-durable misses {goal}, its floor does not ({floor}x)"
                );
            }
            goals += 1;
        }
    }
    assert_eq!(
        goals, 6,
        "durable.md's goals: size, two for the start, per step, calls, RSS"
    );
}

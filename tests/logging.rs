//! The Lambda logger with a real binary: JSON and text lines, the request id in flight, level
//! filtering, and the runtime's own lines in JSON.

mod support;
use serde_json::Value;
use support::*;

/// Runs the logging example on `events` (id, body) with `envs`, lets the fake finish, and
/// returns the child's stdout and stderr.
fn run_logging(events: &[(&str, &str)], envs: &[(&str, &str)]) -> (String, String) {
    let api = FakeApi::start();
    for (id, body) in events {
        api.push_event(Event::new(id, body.as_bytes().to_vec()));
    }
    let mut child = spawn_example("logging", &api, envs);
    api.wait_for_answers(events.len());
    api.finish();
    assert_eq!(
        child.wait().code(),
        Some(1),
        "next answered 500 ends the process"
    );
    (
        String::from_utf8(child.stdout()).expect("stdout is UTF-8"),
        child.stderr(),
    )
}

fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect()
}

fn is_rfc3339_utc_millis(timestamp: &str) -> bool {
    let bytes = timestamp.as_bytes();
    bytes.len() == 24
        && timestamp.ends_with('Z')
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'.',
            23 => *b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

#[test]
fn json_lines_carry_the_request_id_of_their_invocation() {
    let (stdout, _) = run_logging(
        &[("id-1", "Ada"), ("id-2", "Grace")],
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
    );
    let lines = parse_lines(&stdout);
    let summary: Vec<(&str, Option<&str>, &str, &str)> = lines
        .iter()
        .map(|line| {
            (
                line["level"].as_str().unwrap(),
                line["requestId"].as_str(),
                line["message"].as_str().unwrap(),
                line["logger"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "INFO",
                None,
                "initialising; no invocation is in flight yet",
                "logging"
            ),
            ("INFO", Some("id-1"), "greeting Ada", "logging"),
            ("INFO", Some("id-2"), "greeting Grace", "logging"),
        ]
    );
    for line in &lines {
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(is_rfc3339_utc_millis(timestamp), "{timestamp}");
        assert_eq!(
            line.as_object().unwrap().len(),
            4 + usize::from(line.get("requestId").is_some())
        );
    }
}

#[test]
fn quotes_newlines_and_non_ascii_stay_valid_json() {
    let name = "Zoë \"the\" 🦀\nsecond line\\ \t";
    let (stdout, _) = run_logging(&[("odd", name)], &[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
    let lines = parse_lines(&stdout);
    assert_eq!(lines.len(), 2, "one line per record: {stdout}");
    // The example trims the name before it logs it.
    assert_eq!(lines[1]["message"], format!("greeting {}", name.trim()));
    assert_eq!(lines[1]["requestId"], "odd");
}

#[test]
fn the_level_filters_records() {
    let events = [("a", "Ada"), ("empty", "")];
    let levels = |envs: &[(&str, &str)]| -> Vec<String> {
        parse_lines(&run_logging(&events, envs).0)
            .iter()
            .map(|line| line["level"].as_str().unwrap().to_owned())
            .collect()
    };
    let json = ("AWS_LAMBDA_LOG_FORMAT", "JSON");
    assert_eq!(levels(&[json]), ["INFO", "INFO", "INFO", "WARN"]);
    assert_eq!(
        levels(&[json, ("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]),
        ["INFO", "DEBUG", "INFO", "DEBUG", "INFO", "WARN"]
    );
    assert_eq!(levels(&[json, ("AWS_LAMBDA_LOG_LEVEL", "WARN")]), ["WARN"]);
    assert!(levels(&[json, ("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).is_empty());
    // At TRACE the HTTP client's own records (which would dump events) stay out too.
    assert_eq!(
        levels(&[json, ("AWS_LAMBDA_LOG_LEVEL", "TRACE")]),
        ["INFO", "DEBUG", "INFO", "DEBUG", "INFO", "WARN"]
    );
}

#[test]
fn text_lines_carry_the_same_facts() {
    let (stdout, _) = run_logging(&[("id-1", "Ada"), ("id-2", "")], &[]);
    let lines: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for line in &lines {
        assert_eq!(line.len(), 4, "{line:?}");
        assert!(is_rfc3339_utc_millis(line[0]), "{line:?}");
    }
    let facts: Vec<(&str, &str, &str)> = lines.iter().map(|l| (l[1], l[2], l[3])).collect();
    assert_eq!(
        facts,
        [
            (
                "-",
                "INFO",
                "logging: initialising; no invocation is in flight yet"
            ),
            ("id-1", "INFO", "logging: greeting Ada"),
            ("id-2", "INFO", "logging: greeting "),
            ("id-2", "WARN", "audit: an empty name in id-2"),
        ]
    );
}

#[test]
fn the_runtimes_own_lines_are_json_when_json_is_chosen() {
    let (_, stderr) = run_logging(&[("id-1", "Ada")], &[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
    let lines = parse_lines(&stderr);
    let exit_line = lines.last().expect("the exit reason");
    assert_eq!(exit_line["level"], "ERROR");
    assert_eq!(exit_line["logger"], "lambda_loop");
    assert!(exit_line.get("requestId").is_none());
    let message = exit_line["message"].as_str().unwrap();
    assert!(
        message.contains("answered 500") && message.ends_with("exiting"),
        "{message}"
    );
    assert!(is_rfc3339_utc_millis(
        exit_line["timestamp"].as_str().unwrap()
    ));

    // In text format the same line stays plain.
    let (_, stderr) = run_logging(&[("id-1", "Ada")], &[]);
    assert!(
        stderr.starts_with("lambda-loop: ") && stderr.contains("answered 500"),
        "{stderr}"
    );
}

//! A user's own crate through `build.sh`: `tests/fixtures/typed-fn`, a separate crate with a
//! typed API Gateway handler and lambda-loop as a path dependency, as a new user writes one.
//!
//! - The default smoke test proves the runtime, whatever the handler: the typed handler cannot
//!   parse `{"name":"smoke"}`, posts `Runtime.UnmarshalError`, and the build passes.
//! - A smoke event the user gives (`--smoke-event-file`, `--smoke-event`) must get a response.
//! - Each profile has its own output directory: a `speed` build leaves the `size` zip alone.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use support::target_dir;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/typed-fn")
}

/// Runs the repository's build.sh on the fixture crate, x86_64 only, into the shared target
/// dir (so the builds are cached between runs), with the default output root.
fn build_sh(args: &[&str]) -> Output {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(repo.join("build.sh"))
        .arg("--manifest-path")
        .arg(fixture().join("Cargo.toml"))
        .args(["--arch", "x86_64"])
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .expect("run build.sh")
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The row of `typed-fn` in build.sh's table.
fn table_row(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find(|line| line.starts_with("typed-fn "))
        .unwrap_or_else(|| panic!("no row for typed-fn: {}", describe(output)))
        .to_owned()
}

/// The default build (profile size, default smoke event), run once for every test here.
fn default_build() -> &'static Output {
    static BUILD: OnceLock<Output> = OnceLock::new();
    BUILD.get_or_init(|| build_sh(&[]))
}

#[test]
fn the_default_smoke_test_passes_a_typed_handler_that_rejects_its_event() {
    let output = default_build();
    assert!(output.status.success(), "{}", describe(output));
    let row = table_row(output);
    assert!(
        row.ends_with("ok (error post): Runtime.UnmarshalError"),
        "{row}"
    );
}

#[test]
fn a_given_smoke_event_must_be_answered_with_a_response() {
    assert!(
        default_build().status.success(),
        "{}",
        describe(default_build())
    );
    let event = fixture().join("event.json");
    let output = build_sh(&["--smoke-event-file", event.to_str().unwrap()]);
    assert!(output.status.success(), "{}", describe(&output));
    let row = table_row(&output);
    assert!(
        row.ends_with(r#"ok: {"statusCode":200,"body":"GET /hello"}"#),
        "{row}"
    );

    // An event the handler rejects: the error post now fails the build, and says why.
    let output = build_sh(&["--smoke-event", "{}"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let row = table_row(&output);
    assert!(
        row.contains("FAILED (the event was answered with an error, Runtime.UnmarshalError"),
        "{row}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("smoke test failed"), "{stderr}");
}

#[test]
fn a_speed_build_does_not_overwrite_the_size_builds_zip() {
    assert!(
        default_build().status.success(),
        "{}",
        describe(default_build())
    );
    let size_zip = target_dir().join("lambda/typed-fn/x86_64/bootstrap.zip");
    let size_bytes = fs::read(&size_zip).expect("the size build's zip");
    let output = build_sh(&["--profile", "speed", "--no-smoke"]);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let speed_zip = target_dir().join("lambda-speed/typed-fn/x86_64/bootstrap.zip");
    assert!(
        stdout.contains(&format!(
            "Artifacts: {}/<name>/<arch>/bootstrap.zip (profile speed)",
            target_dir().join("lambda-speed").display()
        )),
        "{stdout}"
    );
    let speed_bytes = fs::read(&speed_zip).expect("the speed build's zip");
    assert_ne!(
        speed_bytes, size_bytes,
        "the two profiles built the same zip"
    );
    assert_eq!(
        fs::read(&size_zip).unwrap(),
        size_bytes,
        "the speed build changed {}",
        size_zip.display()
    );
}

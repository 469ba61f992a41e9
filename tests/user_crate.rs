//! A user's own crate through `build.sh`: `tests/fixtures/typed-fn`, a separate crate with a
//! typed API Gateway handler and lambda-loop as a path dependency, as a new user writes one.
//!
//! - The default smoke test proves the runtime, whatever the handler: the typed handler cannot
//!   parse `{"name":"smoke"}`, posts `Runtime.UnmarshalError`, and the build passes.
//! - A smoke event the user gives (`--smoke-event-file`, `--smoke-event`) must get a response.
//! - Each profile has its own output directory: a `speed` build leaves the `size` zip alone.
//! - A crate of several binaries (`tests/fixtures/several-bins`) gives each binary its own
//!   smoke event (`--smoke-event NAME=JSON`), and a start-up failure is reported with its
//!   message and the function's own output.
//! - build.sh copied alone into the user's crate finds the smoke test's program in the crate's
//!   lambda-loop dependency (`src/testing/smoke_api.rs`), as docs/deploy.md says.
//! - A crate that depends on lambda-loop through git reads no manifest of the repository but
//!   the crate's own: the cargo-lambda template's Cargo.toml gives no `error:`.
//! - What docs/local.md says a size-profile zip does on a local invoke: a panic is reported,
//!   then the process aborts (SIGABRT, exit code 134 in a shell); `RUST_BACKTRACE=1` adds
//!   frames to a `?` error's `stackTrace` (unnamed: the binary is stripped), none to a panic's.

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
    build_sh_on(&fixture(), args)
}

/// build.sh on the crate in `crate_dir`, as [`build_sh`].
fn build_sh_on(crate_dir: &Path, args: &[&str]) -> Output {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    Command::new(repo.join("build.sh"))
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
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
    row_of(output, "typed-fn")
}

/// The row of binary `name` in build.sh's table.
fn row_of(output: &Output, name: &str) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find(|line| line.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no row for {name}: {}", describe(output)))
        .to_owned()
}

/// The default build (profile size, default smoke event), run once for every test here.
fn default_build() -> &'static Output {
    static BUILD: OnceLock<Output> = OnceLock::new();
    BUILD.get_or_init(|| build_sh(&[]))
}

/// docs/deploy.md: "Copy `build.sh` ... into your crate and run it there". Nothing of the
/// repository is next to the copy, so the smoke test's program comes from the crate's
/// lambda-loop dependency.
#[test]
fn build_sh_copied_alone_into_the_crate_smoke_tests_with_the_dependencys_fake() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copy = target_dir().join("user-crate-copied-build-sh");
    if copy.exists() {
        fs::remove_dir_all(&copy).unwrap();
    }
    fs::create_dir_all(copy.join("src")).unwrap();
    let manifest = fs::read_to_string(fixture().join("Cargo.toml"))
        .unwrap()
        .replace(
            r#"path = "../../..""#,
            &format!("path = {:?}", repo.to_str().unwrap()),
        );
    assert!(manifest.contains(repo.to_str().unwrap()), "{manifest}");
    fs::write(copy.join("Cargo.toml"), manifest).unwrap();
    for file in ["Cargo.lock", "src/main.rs"] {
        fs::copy(fixture().join(file), copy.join(file)).unwrap();
    }
    fs::copy(repo.join("build.sh"), copy.join("build.sh")).unwrap();
    let output = Command::new(copy.join("build.sh"))
        .args(["--arch", "x86_64"])
        .current_dir(&copy)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .expect("run the copied build.sh");
    assert!(output.status.success(), "{}", describe(&output));
    let row = table_row(&output);
    assert!(
        row.contains("ok (error post): Runtime.UnmarshalError"),
        "{row}"
    );
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
    // Into a directory of its own: the other tests run the default build's bootstrap.
    let out = target_dir().join("user-crate-events");
    let out = out.to_str().unwrap();
    let event = fixture().join("event.json");
    let output = build_sh(&["--smoke-event-file", event.to_str().unwrap(), "--out", out]);
    assert!(output.status.success(), "{}", describe(&output));
    let row = table_row(&output);
    assert!(
        row.ends_with(r#"ok: {"statusCode":200,"body":"GET /hello"}"#),
        "{row}"
    );

    // An event the handler rejects: the error post now fails the build, and says why.
    let output = build_sh(&["--smoke-event", "{}", "--out", out]);
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

/// Runs the size build's bootstrap by a local invoke (no AWS_LAMBDA_RUNTIME_API) on `event`.
fn local_invoke(event: &str, backtrace: bool) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let bootstrap = target_dir().join("lambda/typed-fn/x86_64/bootstrap");
    let mut command = Command::new(&bootstrap);
    command
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if backtrace {
        command.env("RUST_BACKTRACE", "1");
    }
    let mut child = command.spawn().expect("start the bootstrap");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The error JSON on the last line of stderr.
fn error_json(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .rev()
        .find(|line| line.starts_with("{\"errorMessage\""))
        .unwrap_or_else(|| panic!("no error JSON: {}", describe(output)))
        .to_owned()
}

#[test]
fn a_size_build_reports_a_local_panic_then_aborts_with_sigabrt() {
    use std::os::unix::process::ExitStatusExt;
    assert!(
        default_build().status.success(),
        "{}",
        describe(default_build())
    );
    for backtrace in [false, true] {
        let output = local_invoke(r#"{"httpMethod":"GET","path":"/panic"}"#, backtrace);
        // SIGABRT: a shell reports it as exit code 134 (128 + 6).
        assert_eq!(output.status.signal(), Some(6), "{}", describe(&output));
        let error = error_json(&output);
        assert!(error.contains(r#""errorType":"Runtime.Panic""#), "{error}");
        assert!(error.ends_with(r#""stackTrace":[]}"#), "{error}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.contains("stack backtrace:"), backtrace, "{stderr}");
    }
}

#[test]
fn rust_backtrace_adds_unnamed_frames_to_an_error_of_a_stripped_build() {
    assert!(
        default_build().status.success(),
        "{}",
        describe(default_build())
    );
    let event = r#"{"httpMethod":"GET","path":"/parse"}"#;
    let output = local_invoke(event, false);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(error_json(&output).ends_with(r#""stackTrace":[]}"#));
    let output = local_invoke(event, true);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let error = error_json(&output);
    assert!(
        error.contains(r#""stackTrace":["   0: <unknown>""#),
        "{error}"
    );
}

/// A PATH like this process's, without any `qemu-*` program: symlinks to everything else.
fn path_without_qemu() -> String {
    let dir = target_dir().join("path-without-qemu");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    for entry in std::env::split_paths(&path).filter_map(|d| fs::read_dir(d).ok()) {
        for program in entry.flatten() {
            let name = program.file_name();
            let link = dir.join(&name);
            if name.to_string_lossy().starts_with("qemu-") || link.exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(program.path(), link);
        }
    }
    dir.display().to_string()
}

#[test]
fn a_skipped_arm64_smoke_test_names_the_package_that_brings_qemu() {
    // The repository's echo example (cached by the packaging tests' arm64 build), with qemu
    // out of sight.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = target_dir().join("user-crate-no-qemu");
    let output = Command::new(repo.join("build.sh"))
        .args(["--example", "echo", "--arch", "arm64", "--out"])
        .arg(&out)
        .current_dir(repo)
        .env("PATH", path_without_qemu())
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .expect("run build.sh");
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let row = stdout
        .lines()
        .find(|line| line.starts_with("echo "))
        .unwrap_or_else(|| panic!("no row for echo: {}", describe(&output)));
    assert!(
        row.ends_with("skipped (no qemu-aarch64: install the qemu-user package)"),
        "{row}"
    );
}

fn several_bins() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/several-bins")
}

#[test]
fn each_binary_gets_its_own_smoke_event_and_a_failed_start_up_says_why() {
    let out = target_dir().join("several-bins-out");
    let output = build_sh_on(
        &several_bins(),
        &[
            "--smoke-event",
            r#"upper={"text":"hi"}"#,
            "--smoke-event",
            r#"add={"a":2,"b":3}"#,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    // needs-config fails its start-up, so the build fails; the other two pass on their events.
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        row_of(&output, "upper").ends_with(r#"ok: "HI""#),
        "{}",
        describe(&output)
    );
    assert!(
        row_of(&output, "add").ends_with("ok: 5"),
        "{}",
        describe(&output)
    );
    let failed = row_of(&output, "needs-config");
    assert!(
        failed.ends_with("FAILED (init error ConfigError: TABLE is not set: the table to use)"),
        "{failed}"
    );
    // The function's own line about the failure is in the output build.sh shows.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "lambda-loop: initialisation failed: ConfigError: TABLE is not set: the table to use"
        ),
        "{stderr}"
    );
}

#[test]
fn a_smoke_event_for_a_binary_that_is_not_built_is_refused_before_the_build() {
    let output = build_sh_on(
        &several_bins(),
        &["--bin", "add", "--smoke-event", r#"upper={"text":"hi"}"#],
    );
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'upper' is not a selected binary (add)") && !stderr.contains("Compiling"),
        "{stderr}"
    );
}

#[test]
fn a_git_dependency_on_lambda_loop_builds_without_a_false_error() {
    // Cargo reads every Cargo.toml of a git dependency's repository, the cargo-lambda
    // template's included: it must read as no package (and no error). The repository's
    // committed HEAD is what a git dependency sees.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = target_dir().join("git-dependency-test");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(work.join("src")).unwrap();
    fs::write(
        work.join("Cargo.toml"),
        format!(
            "[package]\nname = \"git-user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nlambda-loop = {{ git = \"file://{}\" }}\n\n[workspace]\n",
            repo.display()
        ),
    )
    .unwrap();
    fs::write(work.join("src/main.rs"), "fn main() {}\n").unwrap();
    // lambda-loop's own lock file: its dependencies are locked, so only the git fetch (from
    // this machine) is new (`--offline` would refuse that fetch).
    fs::copy(repo.join("Cargo.lock"), work.join("Cargo.lock")).unwrap();
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1"])
        .current_dir(&work)
        .env("CARGO_TARGET_DIR", work.join("target"))
        .output()
        .expect("run cargo metadata");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("\"name\":\"lambda-loop\""),
        "{}",
        describe(&output)
    );
}

//! cargo-lambda on a lambda-loop crate: `templates/cargo-lambda` makes the crate
//! (`cargo lambda new --template`), and `cargo lambda build --compiler cargo`, `watch`,
//! `invoke` and `deploy --dry --binary-path` work on it unchanged.
//!
//! Ignored by default: they need cargo-lambda (`pip install cargo-lambda`) and build three
//! crates. `.ci/run` installs it and runs them with `cargo test --test cargo_lambda --
//! --ignored`. Without cargo-lambda they fail, naming it. Everything listens on 127.0.0.1.
//! Deploying for real needs an AWS account: `deploy --dry` stops just before the upload.

mod support;

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::*;

const MUSL: &str = "x86_64-unknown-linux-musl";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo lambda ARGS` in `dir`, with the builds in a target dir shared by these tests.
fn cargo_lambda(dir: &Path) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg("lambda")
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir().join("cargo-lambda-test"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        // No AWS account here: fake credentials and a region, so that no SDK call looks for
        // them anywhere (such as the instance metadata address).
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    command
}

fn require_cargo_lambda() {
    let found = Command::new("cargo")
        .args(["lambda", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    assert!(
        found,
        "cargo-lambda not found: install it with `pip install cargo-lambda`"
    );
}

fn run(command: &mut Command, what: &str) -> Output {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `cargo lambda new NAME --template templates/cargo-lambda` for the variant `kind`, outside
/// this repository's workspace, depending on this checkout by path. Returns the crate's dir.
///
/// Each test passes its own `test` name: the tests run in parallel, and a crate that one test
/// is serving (`watch`) must never be deleted and made again by another.
fn new_crate(test: &str, kind: &str) -> PathBuf {
    require_cargo_lambda();
    let parent = std::env::temp_dir().join(format!(
        "lambda-loop-template-{}-{test}",
        std::process::id()
    ));
    let name = format!("fn-{kind}");
    let dir = parent.join(&name);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&parent).unwrap();
    let template = repo().join("templates/cargo-lambda");
    let dependency = format!("lambda_loop={{ path = \"{}\" }}", repo().display());
    run(
        cargo_lambda(&parent)
            .args(["new", &name, "--template"])
            .arg(&template)
            .args(["--no-interactive", "--render-var"])
            .arg(format!("kind={kind}"))
            .args(["--render-var", &dependency]),
        "cargo lambda new",
    );
    // The crate is a workspace of its own, like a user's.
    assert!(
        dir.join("Cargo.toml").is_file(),
        "no Cargo.toml in {}",
        dir.display()
    );
    assert!(
        !dir.join("CargoLambda.toml").exists(),
        "the template's config was copied"
    );
    dir
}

fn built_bootstrap(name: &str) -> PathBuf {
    target_dir()
        .join("cargo-lambda-test/lambda")
        .join(name)
        .join("bootstrap")
}

/// Runs `bootstrap` against the fake Runtime API with `event`; returns the response body.
fn serve_one(bootstrap: &Path, event: &[u8]) -> Vec<u8> {
    let api = FakeApi::start();
    api.push_event(Event::new("template-0", event.to_vec()));
    let mut child = spawn_with_env(
        bootstrap,
        &[],
        &[
            ("AWS_LAMBDA_RUNTIME_API", api.addr().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", "template"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_REGION", "us-east-1"),
        ],
        None,
    );
    let answers = api.wait_for_answers(1);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/template-0/response",
        "{}",
        answers[0].body_text()
    );
    api.finish();
    child.wait();
    answers[0].body.clone()
}

/// Checks the answer of the variant `kind` to its example event (`events/example.json`).
fn check_answer(kind: &str, response: &str) {
    match kind {
        "raw" => assert_eq!(response, r#"{"name":"Ada"}"#),
        "json" => assert_eq!(response, r#"{"message":"Hello, Ada!"}"#),
        // A function URL request for `/hello`, answered in the function URL's shape.
        "http" => {
            let answer: serde_json::Value = serde_json::from_str(response).expect("a JSON answer");
            assert_eq!(answer["statusCode"], 200, "{response}");
            assert_eq!(answer["body"], "Hello from /hello", "{response}");
            assert_eq!(
                answer["headers"]["content-type"], "text/plain",
                "{response}"
            );
        }
        _ => unreachable!("no variant {kind}"),
    }
}

#[test]
#[ignore = "needs cargo-lambda (pip install cargo-lambda) and three release builds; .ci/run runs it"]
fn the_template_makes_crates_that_cargo_lambda_builds_and_deploy_dry_packages() {
    for kind in ["raw", "json", "http"] {
        let dir = new_crate("build", kind);
        let name = format!("fn-{kind}");
        // No Zig needed: plain cargo, the musl target for a static binary.
        run(
            cargo_lambda(&dir).args([
                "build",
                "--release",
                "--compiler",
                "cargo",
                "--target",
                MUSL,
            ]),
            "cargo lambda build",
        );
        let bootstrap = built_bootstrap(&name);
        let headers = run(
            Command::new("readelf").args(["-lW"]).arg(&bootstrap),
            "readelf (binutils)",
        );
        assert!(
            !String::from_utf8_lossy(&headers.stdout).contains("INTERP"),
            "{kind}: not static"
        );
        let event = fs::read(dir.join("events/example.json")).unwrap();
        let response = serve_one(&bootstrap, &event);
        check_answer(kind, String::from_utf8_lossy(&response).trim_end());

        // deploy: everything up to the upload (locating, zipping, the configuration).
        let output = run(
            cargo_lambda(&dir)
                .args(["deploy", "--dry", "--binary-path"])
                .arg(&bootstrap)
                .arg(&name),
            "cargo lambda deploy --dry",
        );
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            report.contains(&format!("deployment for function `{name}`")),
            "{report}"
        );
        assert!(report.contains("provided.al2023"), "{report}");
        assert!(report.contains("- bootstrap"), "{report}");
    }
}

#[test]
#[ignore = "needs cargo-lambda (pip install cargo-lambda); .ci/run runs it"]
fn the_http_variant_turns_on_lambda_loops_http_feature() {
    let dir = new_crate("http-feature", "http");
    let main = fs::read_to_string(dir.join("src/main.rs")).unwrap();
    assert!(
        main.contains("lambda_loop::run(lambda_loop::http::handler(handler))"),
        "{main}"
    );
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("http = \"1\""), "{manifest}");
    let dependency = manifest
        .lines()
        .find(|line| line.starts_with("lambda-loop = "))
        .unwrap_or_else(|| panic!("no lambda-loop dependency: {manifest}"));
    assert!(
        dependency.contains("path = ") && dependency.ends_with(", features = [\"http\"] }"),
        "{dependency}"
    );
}

/// A free port on 127.0.0.1 (the listener is closed again; watch binds it next).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cargo lambda watch`, read through its pipes; ended with everything it started (it leads
/// its own process group) when dropped.
struct Watch(Running);

impl Watch {
    /// What it wrote so far, stdout then stderr.
    fn log(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.0.stdout()),
            self.0.stderr()
        )
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = -(self.0.pid() as i32);
        // SAFETY: kill() takes no pointers; the group is the one this test started.
        unsafe { libc::kill(group, libc::SIGKILL) };
        self.0.kill();
    }
}

/// Waits for `child` to end, at most `bound`, while `server` (the `watch` it talks to) keeps
/// running; fails loudly, with the server's log, when either does not hold. Woken by the
/// child's pipes closing, and once a second to look at the server.
fn wait_bounded(
    child: Child,
    bound: Duration,
    what: &str,
    server: &mut Watch,
) -> (bool, String, String) {
    let mut child = Running::adopt(child);
    let started = Instant::now();
    while !child.closed_within(Duration::from_secs(1)) {
        assert!(
            server.0.is_running(),
            "cargo lambda watch ended during {what}; its log:\n{}",
            server.log()
        );
        assert!(
            started.elapsed() < bound,
            "{what} did not finish within {bound:?}; its stderr:\n{}\ncargo lambda watch's log:\n{}",
            child.stderr(),
            server.log()
        );
    }
    let status = child.wait();
    (
        status.success(),
        String::from_utf8_lossy(&child.stdout()).into_owned(),
        child.stderr(),
    )
}

#[test]
#[ignore = "needs cargo-lambda (pip install cargo-lambda) and a debug build; .ci/run runs it"]
fn cargo_lambda_watch_and_invoke_serve_a_lambda_loop_crate() {
    let dir = new_crate("watch", "json");
    let port = free_port().to_string();
    let watch = cargo_lambda(&dir)
        .args([
            "watch",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start cargo lambda watch");
    let mut watch = Watch(Running::adopt(watch));

    // cargo-lambda logs this line just before it binds the port (crates/cargo-lambda-watch,
    // `info!(?runtime_addr, "starting Runtime server")`, then `TcpListener::bind`): woken by
    // the line, the invoke that follows can only meet a refused connection if the bind has
    // not happened yet, and then one more invoke (a whole process later) finds it listening.
    watch.0.wait_for_stdout("starting Runtime server");
    let mut invoke = |data: &str| {
        let mut attempt = || {
            let child = cargo_lambda(&dir)
                .args([
                    "invoke",
                    "--invoke-address",
                    "127.0.0.1",
                    "--invoke-port",
                    &port,
                ])
                .args(["--data-ascii", data, "fn-json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start cargo lambda invoke");
            // The first invoke builds and starts the function (cargo run): it may take a while.
            wait_bounded(
                child,
                Duration::from_secs(300),
                "cargo lambda invoke",
                &mut watch,
            )
        };
        let first = attempt();
        if !first.0 && first.2.to_ascii_lowercase().contains("connection refused") {
            return attempt();
        }
        first
    };
    let (ok, stdout, stderr) = invoke(r#"{"name":"Ada"}"#);
    assert!(ok, "invoke failed:\n{stdout}\n{stderr}");
    assert_eq!(stdout.trim(), r#"{"message":"Hello, Ada!"}"#, "{stderr}");

    // An event the typed handler rejects: cargo-lambda shows lambda-loop's error type.
    let (ok, stdout, stderr) = invoke(r#"{"nom":"Ada"}"#);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("Runtime.UnmarshalError"),
        "{stdout}\n{stderr}"
    );
}

//! Packaging: `build.sh` makes zips holding one static, executable `bootstrap` that serves
//! invocations from the zip (x86_64 natively, arm64 under qemu), byte-identical when rebuilt
//! from another directory into a fresh target dir; the launcher zip runs the binary named by
//! `_HANDLER` and reports a bad Handler setting as an init error.
//!
//! build.sh runs once per test process (two builds side by side: the repository into the
//! shared target dir, a copy of it from another path into a fresh one); every test then
//! checks its part of the output.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use support::*;

/// What the test builds: two examples that give distinct answers, on both arches.
const PACKAGED: [&str; 2] = ["echo", "hello_json"];
const ARCHES: [&str; 2] = ["x86_64", "arm64"];
/// The DOS date of 1980-01-01, build.sh's entry time (time of day 00:00:00 is 0).
const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;

/// The outputs of the build.sh runs every test reads.
struct Builds {
    /// `--example echo --example hello_json --arch all`, from the repository.
    main_out: PathBuf,
    main_table: String,
    /// `--example echo --arch all` from a copy of the sources elsewhere, fresh target dir.
    copy_out: PathBuf,
    copy_table: String,
    copy_source: PathBuf,
    /// `--launcher --example echo --example hello_json --arch x86_64`, unzipped.
    launcher_zip: PathBuf,
    /// Scratch space for the tests.
    work: PathBuf,
}

/// Runs the builds once; a failure is kept so every test reports it without rebuilding.
fn builds() -> &'static Builds {
    static BUILDS: OnceLock<Result<Builds, String>> = OnceLock::new();
    match BUILDS.get_or_init(run_builds) {
        Ok(builds) => builds,
        Err(message) => panic!("{message}"),
    }
}

fn run_builds() -> Result<Builds, String> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = target_dir().join("packaging-test");
    if work.exists() {
        fs::remove_dir_all(&work).map_err(|e| format!("clean {}: {e}", work.display()))?;
    }
    fs::create_dir_all(&work).unwrap();

    // The copy: same sources, another path, another (empty) target dir: nothing is cached,
    // every path differs, so equal bytes prove the build does not depend on where it ran.
    let copy_source = work.join("elsewhere").join("source-copy");
    for entry in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "build.sh",
        "bootstrap",
        "src",
        "examples",
        // Cargo.toml names this test target (feature `http`): the manifest needs its file.
        "tests/http.rs",
    ] {
        if repo.join(entry).exists() {
            copy_tree(&repo.join(entry), &copy_source.join(entry));
        }
    }
    let copy_target = work.join("elsewhere").join("target");
    let copy_out = work.join("copy-out");
    let copy_build = {
        let (source, target, out) = (copy_source.clone(), copy_target.clone(), copy_out.clone());
        thread::spawn(move || {
            let mut args = vec!["--example", "echo", "--arch", "all", "--no-smoke", "--out"];
            args.push(out.to_str().unwrap());
            run_build_sh(&source, &target, &args)
        })
    };

    let main_out = work.join("main-out");
    let mut args = vec![
        "--example",
        "echo",
        "--example",
        "hello_json",
        "--arch",
        "all",
    ];
    args.extend(["--out", main_out.to_str().unwrap()]);
    let main_table = run_build_sh(&repo, &target_dir(), &args);
    let launcher_out = work.join("launcher-out");
    let mut args = vec!["--launcher", "--example", "echo", "--example", "hello_json"];
    args.extend(["--arch", "x86_64", "--out", launcher_out.to_str().unwrap()]);
    let launcher_table = run_build_sh(&repo, &target_dir(), &args);
    let copy_table = copy_build
        .join()
        .map_err(|_| "the copy's build panicked".to_owned())?;
    let (main_table, launcher_table, copy_table) = (main_table?, launcher_table?, copy_table?);
    // The copy's target dir is large and never reused.
    let _ = fs::remove_dir_all(&copy_target);
    if !launcher_table.contains("echo=ok") || !launcher_table.contains("hello_json=ok") {
        return Err(format!(
            "the launcher zip's smoke test failed:\n{launcher_table}"
        ));
    }

    Ok(Builds {
        main_out,
        main_table,
        copy_out,
        copy_table,
        copy_source,
        launcher_zip: launcher_out.join("launcher/x86_64/bootstrap.zip"),
        work,
    })
}

/// Runs `dir/build.sh args` with `CARGO_TARGET_DIR=target_dir`; returns its stdout (the table).
fn run_build_sh(dir: &Path, target_dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(dir.join("build.sh"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .map_err(|e| format!("cannot run {}/build.sh: {e}", dir.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "build.sh {args:?} in {} failed ({}):\n{stdout}\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(stdout)
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(from, to).unwrap(); // keeps the mode: build.sh stays executable
    }
}

// ---------------------------------------------------------------------------------------
// Zip reading: the central directory, parsed here so the test does not trust build.sh's tools.

/// One entry of a zip's central directory.
#[derive(Debug)]
struct ZipEntry {
    name: String,
    /// The high byte of "version made by": 3 is Unix, so `mode` is meaningful.
    made_by_system: u8,
    /// The Unix mode (file type and permissions) from the external attributes.
    mode: u32,
    dos_time: u16,
    dos_date: u16,
}

fn zip_entries(zip: &Path) -> Vec<ZipEntry> {
    let bytes = fs::read(zip).unwrap_or_else(|e| panic!("read {}: {e}", zip.display()));
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    // End of central directory record, 22 bytes when there is no archive comment.
    let end = (0..=bytes.len() - 22)
        .rev()
        .find(|&at| u32_at(at) == 0x0605_4b50)
        .expect("no end of central directory record");
    let count = u16_at(end + 10) as usize;
    let mut at = u32_at(end + 16) as usize;
    let mut entries = Vec::new();
    for _ in 0..count {
        assert_eq!(u32_at(at), 0x0201_4b50, "bad central directory entry");
        let name_len = u16_at(at + 28) as usize;
        let extra_len = u16_at(at + 30) as usize;
        let comment_len = u16_at(at + 32) as usize;
        entries.push(ZipEntry {
            name: String::from_utf8_lossy(&bytes[at + 46..at + 46 + name_len]).into_owned(),
            made_by_system: bytes[at + 5],
            mode: u32_at(at + 38) >> 16,
            dos_time: u16_at(at + 12),
            dos_date: u16_at(at + 14),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    entries
}

/// Unzips `zip` with `unzip` into a fresh directory under the work dir.
fn unzip(zip: &Path, into: &str) -> PathBuf {
    let dir = builds().work.join("unzipped").join(into);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    let status = Command::new("unzip")
        .arg("-q")
        .arg(zip)
        .arg("-d")
        .arg(&dir)
        .status()
        .expect("run unzip");
    assert!(status.success(), "unzip {} failed", zip.display());
    dir
}

fn artifact(out: &Path, name: &str, arch: &str) -> PathBuf {
    out.join(name).join(arch)
}

/// The zip sha256 column of build.sh's table for `name` on `arch`.
fn table_sha256(table: &str, name: &str, arch: &str) -> String {
    let row = table
        .lines()
        .find(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            cells.len() > 4 && cells[0] == name && cells[1] == arch
        })
        .unwrap_or_else(|| panic!("no row for {name} {arch} in:\n{table}"));
    row.split_whitespace().nth(4).unwrap().to_owned()
}

fn sha256(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// The zips and the binaries

#[test]
fn each_zip_holds_one_executable_bootstrap_made_on_unix_at_a_fixed_time() {
    let builds = builds();
    for name in PACKAGED {
        for arch in ARCHES {
            let dir = artifact(&builds.main_out, name, arch);
            let entries = zip_entries(&dir.join("bootstrap.zip"));
            assert_eq!(entries.len(), 1, "{name} {arch}: {entries:?}");
            let entry = &entries[0];
            assert_eq!(entry.name, "bootstrap", "{name} {arch}");
            assert_eq!(
                entry.made_by_system, 3,
                "{name} {arch}: not a Unix-made entry"
            );
            assert_eq!(entry.mode, 0o100755, "{name} {arch}: mode {:o}", entry.mode);
            assert_eq!((entry.dos_date, entry.dos_time), (DOS_DATE_1980_01_01, 0));

            // What Lambda unpacks is the `bootstrap` build.sh left next to the zip.
            let unzipped = unzip(&dir.join("bootstrap.zip"), &format!("{name}-{arch}"));
            let packaged = fs::read(unzipped.join("bootstrap")).unwrap();
            assert_eq!(
                packaged,
                fs::read(dir.join("bootstrap")).unwrap(),
                "{name} {arch}"
            );
        }
    }
}

#[test]
fn packaged_binaries_are_static_stripped_executables_for_their_arch() {
    let builds = builds();
    for name in PACKAGED {
        for (arch, machine) in [("x86_64", "X86-64"), ("arm64", "AArch64")] {
            let binary = unzip(
                &artifact(&builds.main_out, name, arch).join("bootstrap.zip"),
                &format!("elf-{name}-{arch}"),
            )
            .join("bootstrap");
            let readelf = |flag: &str| {
                let output = Command::new("readelf")
                    .args([flag, "-W"])
                    .arg(&binary)
                    .output()
                    .expect("run readelf (binutils)");
                assert!(
                    output.status.success(),
                    "readelf {flag} {}",
                    binary.display()
                );
                String::from_utf8_lossy(&output.stdout).into_owned()
            };
            let header = readelf("-h");
            assert!(header.contains(machine), "{name} {arch}: {header}");
            assert!(
                header.contains("EXEC (Executable file)"),
                "{name} {arch}: {header}"
            );
            let program_headers = readelf("-l");
            assert!(
                !program_headers.contains("INTERP"),
                "{name} {arch}: {program_headers}"
            );
            assert!(
                !program_headers.contains("DYNAMIC"),
                "{name} {arch}: {program_headers}"
            );
            let dynamic = readelf("-d");
            assert!(
                dynamic.contains("There is no dynamic section"),
                "{name} {arch}: {dynamic}"
            );
            let sections = readelf("-S");
            assert!(!sections.contains(".symtab"), "{name} {arch}: not stripped");
        }
    }
}

#[test]
fn a_rebuild_from_another_directory_gives_byte_identical_binaries_and_zips() {
    let builds = builds();
    for arch in ARCHES {
        let first = artifact(&builds.main_out, "echo", arch);
        let second = artifact(&builds.copy_out, "echo", arch);
        for file in ["bootstrap", "bootstrap.zip"] {
            assert!(
                fs::read(first.join(file)).unwrap() == fs::read(second.join(file)).unwrap(),
                "echo {arch}: {file} differs between the two builds"
            );
        }
        // The table reports the zip's real sha256, the same for both builds.
        let sha = sha256(&first.join("bootstrap.zip"));
        assert_eq!(table_sha256(&builds.main_table, "echo", arch), sha);
        assert_eq!(table_sha256(&builds.copy_table, "echo", arch), sha);

        // No local path is left in the binary: neither build's sources nor cargo's home.
        let binary = fs::read(first.join("bootstrap")).unwrap();
        let home = std::env::var("HOME").unwrap_or_default();
        for local in [
            env!("CARGO_MANIFEST_DIR").to_owned(),
            builds.copy_source.display().to_string(),
            format!("{home}/.cargo"),
        ] {
            assert!(
                !binary
                    .windows(local.len())
                    .any(|window| window == local.as_bytes()),
                "echo {arch}: the binary contains the local path {local}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// The packaged binaries serve the Runtime API

/// The environment Lambda gives `bootstrap`, pointed at `api`.
fn lambda_env(api: &FakeApi, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut envs: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", api.addr().as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "packaged"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_REGION", "eu-west-1"),
        ("_HANDLER", "bootstrap"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (key, value) in extra {
        envs.retain(|(k, _)| k != key);
        envs.push((key.to_string(), value.to_string()));
    }
    envs
}

/// Starts `program args` with `envs` only.
fn start(program: &Path, args: &[&str], envs: &[(String, String)]) -> Running {
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    spawn_with_env(program, args, &envs, None)
}

/// Serves three invocations to a packaged echo and one to hello_json, each started by
/// `start_packaged(name, api)`, and checks every answer and the exit once `next` fails.
fn serve_invocations(arch: &str, start_packaged: impl Fn(&str, &FakeApi) -> Running) {
    let api = FakeApi::start();
    let events: [&[u8]; 3] = [b"first", b"{\"a\":[1,2,3]}", &[0, 159, 255, b'\n']];
    for (index, body) in events.iter().enumerate() {
        api.push_event(Event::new(&format!("echo-{index}"), body.to_vec()));
    }
    let mut echo = start_packaged("echo", &api);
    let answers = api.wait_for_answers(3);
    for (index, body) in events.iter().enumerate() {
        let path = format!("/2018-06-01/runtime/invocation/echo-{index}/response");
        assert_eq!(answers[index].path, path, "{arch}");
        assert_eq!(answers[index].body, *body, "{arch}");
    }
    api.finish();
    assert_eq!(echo.wait().code(), Some(1), "{arch}: {}", echo.stderr());

    let api = FakeApi::start();
    api.push_event(Event::new("hello-0", br#"{"name":"packaged"}"#.to_vec()));
    let mut hello = start_packaged("hello_json", &api);
    let answers = api.wait_for_answers(1);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/hello-0/response"
    );
    assert_eq!(
        answers[0].body_json()["message"],
        "Hello, packaged!",
        "{arch}"
    );
    api.finish();
    assert_eq!(hello.wait().code(), Some(1), "{arch}: {}", hello.stderr());
}

#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "the x86_64 bootstrap runs natively only on x86_64"
)]
fn packaged_x86_64_bootstrap_serves_invocations() {
    let builds = builds();
    serve_invocations("x86_64", |name, api| {
        let zip = artifact(&builds.main_out, name, "x86_64").join("bootstrap.zip");
        let bootstrap = unzip(&zip, &format!("serve-{name}-x86_64")).join("bootstrap");
        start(&bootstrap, &[], &lambda_env(api, &[]))
    });
}

/// `qemu-aarch64` (Debian package qemu-user) or `qemu-aarch64-static` from PATH.
fn find_qemu_aarch64() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| [dir.join("qemu-aarch64"), dir.join("qemu-aarch64-static")])
        .find(|candidate| candidate.is_file())
}

#[test]
fn packaged_arm64_bootstrap_serves_invocations_under_qemu() {
    let native = std::env::consts::ARCH == "aarch64";
    let qemu = find_qemu_aarch64();
    assert!(
        native || qemu.is_some(),
        "the packaged arm64 bootstrap needs qemu-aarch64 (or qemu-aarch64-static) on PATH on a \
         machine that is not arm64: install the Debian package qemu-user"
    );
    let builds = builds();
    serve_invocations("arm64", |name, api| {
        let zip = artifact(&builds.main_out, name, "arm64").join("bootstrap.zip");
        let bootstrap = unzip(&zip, &format!("serve-{name}-arm64")).join("bootstrap");
        match &qemu {
            Some(qemu) if !native => {
                start(qemu, &[bootstrap.to_str().unwrap()], &lambda_env(api, &[]))
            }
            _ => start(&bootstrap, &[], &lambda_env(api, &[])),
        }
    });
}

// ---------------------------------------------------------------------------------------
// The launcher

/// The launcher zip, unzipped: `bootstrap` (the launcher) plus the binaries, as in
/// LAMBDA_TASK_ROOT.
fn launcher_task_root(into: &str) -> PathBuf {
    unzip(&builds().launcher_zip, into)
}

fn start_launcher(task_root: &Path, api: &FakeApi, handler: &str) -> Running {
    let root = task_root.to_str().unwrap();
    let envs = lambda_env(api, &[("LAMBDA_TASK_ROOT", root), ("_HANDLER", handler)]);
    start(&task_root.join("bootstrap"), &[], &envs)
}

#[test]
fn launcher_zip_holds_the_launcher_and_each_binary_executable() {
    let entries = zip_entries(&builds().launcher_zip);
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["bootstrap", "echo", "hello_json"]);
    for entry in &entries {
        assert_eq!(
            entry.mode, 0o100755,
            "{}: mode {:o}",
            entry.name, entry.mode
        );
        assert_eq!(entry.made_by_system, 3, "{}", entry.name);
    }
    let task_root = launcher_task_root("launcher-contents");
    let repo_launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("bootstrap");
    assert_eq!(
        fs::read(task_root.join("bootstrap")).unwrap(),
        fs::read(repo_launcher).unwrap()
    );
}

#[test]
fn launcher_execs_the_binary_named_by_handler() {
    let task_root = launcher_task_root("launcher-select");
    let api = FakeApi::start();
    api.push_event(Event::new("via-echo", b"raw bytes".to_vec()));
    let mut echo = start_launcher(&task_root, &api, "echo");
    let answers = api.wait_for_answers(1);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/via-echo/response"
    );
    assert_eq!(answers[0].body, b"raw bytes");
    // `exec`: the launcher's process now is the binary itself, no shell left around it.
    let exe = fs::read_link(format!("/proc/{}/exe", echo.pid())).unwrap();
    assert_eq!(exe, task_root.join("echo").canonicalize().unwrap());
    api.finish();
    assert_eq!(echo.wait().code(), Some(1), "{}", echo.stderr());

    let api = FakeApi::start();
    api.push_event(Event::new("via-hello", br#"{"name":"launcher"}"#.to_vec()));
    let mut hello = start_launcher(&task_root, &api, "hello_json");
    let answers = api.wait_for_answers(1);
    assert_eq!(
        answers[0].path,
        "/2018-06-01/runtime/invocation/via-hello/response"
    );
    assert_eq!(answers[0].body_json()["message"], "Hello, launcher!");
    api.finish();
    assert_eq!(hello.wait().code(), Some(1), "{}", hello.stderr());
}

/// Runs the launcher with `handler` and checks the one init error it must post: path,
/// error-type header, JSON body naming the handler; then one stderr line and exit 1.
fn assert_init_error(task_root: &Path, handler: &str, error_type: &str) {
    let api = FakeApi::start();
    let mut launcher = start_launcher(task_root, &api, handler);
    let status = launcher.wait();
    let stderr = launcher.stderr();
    assert_eq!(status.code(), Some(1), "_HANDLER={handler:?}: {stderr}");
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "_HANDLER={handler:?}: {requests:?}");
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/2018-06-01/runtime/init/error");
    assert_eq!(
        request.header("Lambda-Runtime-Function-Error-Type"),
        Some(error_type),
        "_HANDLER={handler:?}"
    );
    let body = request.body_json();
    assert_eq!(body["errorType"], error_type, "_HANDLER={handler:?}");
    assert!(body["stackTrace"].is_array(), "{body}");
    let message = body["errorMessage"].as_str().expect("errorMessage");
    assert!(
        message.contains(&format!("'{handler}'")) || handler.is_empty(),
        "{message}"
    );
    assert!(message.contains("echo,hello_json") || error_type != "Runtime.HandlerNotFound");
    assert_eq!(stderr.lines().count(), 1, "one stderr line, got: {stderr}");
    assert!(stderr.contains("init error reported: HTTP 202"), "{stderr}");
}

#[test]
fn launcher_reports_a_bad_handler_as_an_init_error() {
    let task_root = launcher_task_root("launcher-errors");
    // A file without execute permission next to the binaries.
    fs::write(task_root.join("notes.txt"), "not a program").unwrap();

    assert_init_error(&task_root, "", "Runtime.InvalidHandler");
    assert_init_error(&task_root, "missing", "Runtime.HandlerNotFound");
    assert_init_error(&task_root, "notes.txt", "Runtime.InvalidHandler");
    assert_init_error(
        &task_root,
        "../launcher-errors/echo",
        "Runtime.InvalidHandler",
    );
    assert_init_error(&task_root, "..", "Runtime.InvalidHandler");
    assert_init_error(&task_root, "sub/echo", "Runtime.InvalidHandler");
    assert_init_error(&task_root, "/bin/sh", "Runtime.InvalidHandler");
    assert_init_error(&task_root, "bootstrap", "Runtime.InvalidHandler");
    // Quotes and backslashes in the Handler still make valid JSON.
    assert_init_error(&task_root, r#"we"ird\name"#, "Runtime.HandlerNotFound");
}

#[test]
fn launcher_keeps_the_runtime_api_prefix_and_reports_the_answer_status() {
    let task_root = launcher_task_root("launcher-prefix");
    let api = FakeApi::start();
    api.set_init_error_status(500);
    let root = task_root.to_str().unwrap();
    let prefixed = format!("http://{}/prefix", api.addr());
    let envs = lambda_env(
        &api,
        &[
            ("AWS_LAMBDA_RUNTIME_API", &prefixed),
            ("LAMBDA_TASK_ROOT", root),
            ("_HANDLER", "missing"),
        ],
    );
    let mut launcher = start(&task_root.join("bootstrap"), &[], &envs);
    assert_eq!(launcher.wait().code(), Some(1));
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, "/prefix/2018-06-01/runtime/init/error");
    assert!(
        launcher.stderr().contains("HTTP 500"),
        "{}",
        launcher.stderr()
    );
}

#[test]
fn a_binary_of_several_handlers_is_smoke_tested_through_the_first_one_it_names() {
    // `named` serves through `named`: without a Handler setting its init fails and names the
    // handlers it has; build.sh's smoke test then invokes the first of them.
    let out = builds().work.join("named-out");
    let args = [
        "--example",
        "named",
        "--arch",
        "x86_64",
        "--out",
        out.to_str().unwrap(),
    ];
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = run_build_sh(repo, &target_dir(), &args).unwrap_or_else(|e| panic!("{e}"));
    let row = table
        .lines()
        .find(|line| line.starts_with("named "))
        .unwrap_or_else(|| panic!("no row for named:\n{table}"));
    assert!(
        row.ends_with(r#"ok (_HANDLER=upper): {"NAME":"SMOKE"}"#),
        "{row}"
    );
}

//! End-to-end tests: the built binary, as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ci;
mod docker;
mod edges;
mod explain;
mod hostile;
mod secrets;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Runs the binary with arguments and optional stdin; captures everything.
pub struct TestCommand {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

impl TestCommand {
    /// `talos-doctor ARGS…`, in the repo root, with a neutral environment.
    pub fn new(args: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_talos-doctor"));
        cmd.args(args)
            .current_dir(root())
            .env_remove("NO_COLOR")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY");
        TestCommand { cmd, stdin: None }
    }

    /// Sets an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    /// Feeds bytes on stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Output {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self.cmd.spawn().expect("spawn talos-doctor");
        if let Some(bytes) = self.stdin.take() {
            let mut sin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = sin.write_all(&bytes);
            });
        }
        child.wait_with_output().unwrap()
    }
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture's input.log path.
pub fn fixture(name: &str) -> String {
    root().join("fixtures").join(name).join("input.log").display().to_string()
}

fn read(p: &str) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

const SEED: &str = "sharedfs-v1.8-docker-run";

#[test]
fn seed_on_stdin_explains_the_missing_mounts() {
    let o = TestCommand::new(&["analyze"]).stdin(read(&fixture(SEED))).run();
    assert_eq!(code(&o), 1, "{}", err(&o));
    let s = out(&o);
    assert!(s.contains("boot FAILED"), "{s}");
    assert!(s.contains("sharedFilesystems (6/10)"));
    assert!(s.contains("setupSharedFilesystems: invalid argument"));
    assert!(s.contains("container_missing_mounts"));
    assert!(s.contains("not a mount point"));
    assert!(s.contains("--tmpfs /run"));
    assert!(s.contains("never reached"));
    assert!(!s.contains('\x1b'), "no colour in a pipe");
}

#[test]
fn bare_three_lines_on_stdin() {
    let log = "[talos] task setupSharedFilesystems (1/1): failed: invalid argument\n\
               [talos] phase sharedFilesystems (6/10): failed\n\
               [talos] boot sequence: failed\n";
    let o = TestCommand::new(&["analyze", "--format", "json"]).stdin(log).run();
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"][0]["category"], "container_missing_mounts");
    assert_eq!(v["nodes"][0]["failure"]["phase"], "sharedFilesystems");
    assert_eq!(v["nodes"][0]["failure"]["task"], "setupSharedFilesystems");
    assert_eq!(v["nodes"][0]["failure"]["line"], 1);
}

#[test]
fn json_follows_the_contract() {
    let o = TestCommand::new(&["analyze", "--format", "json", &fixture(SEED)]).run();
    assert_eq!(code(&o), 1);
    assert!(o.stdout.ends_with(b"}\n"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["tool"]["name"], "talos-doctor");
    assert_eq!(v["outcome"], "failed");
    let n = &v["nodes"][0];
    assert_eq!(n["node"], "-");
    assert_eq!(n["mode"], "container");
    assert_eq!(n["boots"], 1);
    assert_eq!(n["failure"]["phase_index"], "6/10");
    assert_eq!(n["failure"]["error"], "invalid argument");
    let f = &v["findings"][0];
    assert_eq!(f["id"], "TD-CTR-001");
    assert_eq!(f["severity"], "error");
    assert!(f["fingerprint"].as_str().unwrap().len() >= 8);
    assert!(f["evidence"][0]["text"].as_str().unwrap().contains("failed: invalid argument"));
    let lines = std::fs::read_to_string(fixture(SEED)).unwrap().lines().count();
    assert_eq!(v["stats"]["lines"], lines as u64);
}

#[test]
fn several_files_are_several_nodes() {
    let o = TestCommand::new(&[
        "analyze",
        "--format",
        "json",
        &fixture(SEED),
        &fixture("real-022-success-rpi4-controlplane-bootstrap"),
    ])
    .run();
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let nodes = v["nodes"].as_array().unwrap();
    let names: Vec<&str> = nodes.iter().map(|n| n["node"].as_str().unwrap()).collect();
    assert!(names.contains(&"sharedfs-v1.8-docker-run/input"), "{names:?}");
    assert!(names.contains(&"192.168.77.20"), "{names:?}");
    assert_eq!(v["outcome"], "failed");
}

#[test]
fn successful_boot_exits_zero() {
    let o =
        TestCommand::new(&["analyze", &fixture("real-022-success-rpi4-controlplane-bootstrap")])
            .run();
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(out(&o).contains("boot succeeded"));
}

#[test]
fn colour_choices() {
    let f = fixture(SEED);
    let always = TestCommand::new(&["analyze", "--color", "always", &f]).run();
    assert!(out(&always).contains('\x1b'));
    let never = TestCommand::new(&["analyze", "--color", "never", &f]).run();
    assert!(!out(&never).contains('\x1b'));
    // NO_COLOR only matters for `auto`, and a pipe is never coloured under auto anyway.
    let no_color = TestCommand::new(&["analyze", &f]).env("NO_COLOR", "1").run();
    assert!(!out(&no_color).contains('\x1b'));
    let ascii = TestCommand::new(&["analyze", "--ascii", &f]).run();
    assert!(out(&ascii).is_ascii() || !out(&ascii).contains('✓'));
}

#[test]
fn closed_stdout_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_talos-doctor"))
        .args(["analyze", "-v", &fixture(SEED)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 1, "the diagnosis stands: {}", err(&o));
    assert!(!err(&o).contains("error"), "{}", err(&o));
}

#[test]
fn bad_inputs_get_one_line_errors() {
    let dir = std::env::temp_dir().join(format!("td-bad-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let nul = dir.join("nul.log");
    std::fs::write(&nul, b"\0\0\0binary").unwrap();
    let empty = dir.join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    type Case<'a> = (Vec<String>, Option<&'a [u8]>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            vec!["analyze".into(), "/nonexistent/x.log".into()],
            None,
            "failed to read file `/nonexistent/x.log`",
        ),
        // A directory is read as a set of collected logs; an empty one has nothing to analyze.
        (vec!["analyze".into(), dir.join("sub").display().to_string()], None, "empty"),
        // NUL bytes are dropped and counted (issue #14); what is left has no Talos line.
        (vec!["analyze".into(), nul.display().to_string()], None, "no Talos log lines"),
        (vec!["analyze".into(), empty.display().to_string()], None, "empty"),
        (vec!["analyze".into()], Some(b""), "standard input is not a text log: it is empty"),
        (vec!["rules".into(), "explain".into(), "TD-NOPE".into()], None, "no rule `TD-NOPE`"),
    ];
    for (args, stdin, want) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut t = TestCommand::new(&args);
        if let Some(b) = stdin {
            t = t.stdin(b.to_vec());
        }
        let o = t.run();
        assert_eq!(code(&o), 2, "{args:?}: {}", err(&o));
        let e = err(&o);
        // One error line, after the warnings collected before it (the dropped NUL bytes).
        let errors = e.lines().filter(|l| !l.starts_with("talos-doctor: warning: "));
        assert_eq!(errors.count(), 1, "{args:?}: {e}");
        assert!(e.lines().last().is_some_and(|l| l.contains(want)), "{args:?}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn messy_bytes_are_counted_not_fatal() {
    let mut log = Vec::new();
    log.extend_from_slice(
        b"\x1b[32m[talos] 2024/11/20 09:14:03 boot sequence: 10 phase(s)\x1b[0m\r\n",
    );
    log.extend_from_slice(b"[talos] 2024/11/20 09:14:03 bad \xff\xfe utf8\n");
    log.extend_from_slice(
        b"[talos] 2024/11/20 09:14:03 task setupSharedFilesystems (1/1): failed: invalid argument\r\n",
    );
    log.extend_from_slice(b"[talos] 2024/11/20 09:14:03 boot sequence: failed");
    let o = TestCommand::new(&["analyze", "--format", "json"]).stdin(log).run();
    assert_eq!(code(&o), 1, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stats"]["lines"], 4);
    assert_eq!(v["stats"]["invalid_utf8_lines"], 1);
    assert_eq!(v["stats"]["ansi_lines"], 1);
    assert_eq!(v["findings"][0]["category"], "container_missing_mounts");
}

#[test]
fn gzip_input_is_read() {
    let dir = std::env::temp_dir().join(format!("td-gz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gz = dir.join("boot.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&read(&fixture(SEED))).unwrap();
    enc.finish().unwrap();
    let o = TestCommand::new(&["analyze", gz.to_str().unwrap()]).run();
    assert_eq!(code(&o), 1, "{}", err(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unexplained_failure_exits_three_and_suggests_a_rule() {
    let log = "[talos] 2024/11/20 09:14:03 boot sequence: 8 phase(s)\n\
               [talos] 2024/11/20 09:14:03 phase dbus (4/8): 1 tasks(s)\n\
               [talos] 2024/11/20 09:14:03 task startDBus (1/1): starting\n\
               [talos] 2024/11/20 09:14:03 frobnicator 42 exploded at 0xdeadbeef\n\
               [talos] 2024/11/20 09:14:03 task startDBus (1/1): failed: frobnicator exploded\n\
               [talos] 2024/11/20 09:14:03 phase dbus (4/8): failed\n\
               [talos] 2024/11/20 09:14:03 boot sequence: failed\n";
    let o = TestCommand::new(&["analyze", "--suggest-rule"]).stdin(log).run();
    assert_eq!(code(&o), 3, "{}", out(&o));
    let s = out(&o);
    assert!(s.contains("No known cause matched"), "{s}");
    assert!(s.contains("task startDBus: frobnicator exploded"), "{s}");
    assert!(s.contains("[[rule]]"), "{s}");
    let j = TestCommand::new(&["analyze", "--format", "json"]).stdin(log).run();
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["outcome"], "failed");
    assert!(v["findings"].as_array().unwrap().iter().all(|f| f["severity"] != "error"));
}

#[test]
fn rules_commands() {
    let list = TestCommand::new(&["rules", "list"]).run();
    assert_eq!(code(&list), 0);
    assert!(out(&list).contains("TD-CTR-001"));
    let explain = TestCommand::new(&["rules", "explain", "td-ctr-001"]).run();
    assert_eq!(code(&explain), 0);
    assert!(out(&explain).contains("Root cause"));
    let pats = TestCommand::new(&["rules", "patterns"]).run();
    assert_eq!(out(&pats).lines().count(), out(&list).lines().count() - 1);
    let test = TestCommand::new(&["rules", "test"]).run();
    assert_eq!(code(&test), 0, "{}", out(&test));
    assert!(out(&test).contains("fixtures explained"));
}

#[test]
fn bad_rules_file_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("td-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.toml");
    std::fs::write(&p, "[[rule]]\nid = \"X-1\"\ncategory = \"network_dns\"\nseverity = \"error\"\ntitle = \"t\"\nmatch = '('\nroot_cause = \"r\"\nremediation = [\"a\"]\n").unwrap();
    let o = TestCommand::new(&["analyze", "--rules", p.to_str().unwrap(), &fixture(SEED)]).run();
    assert_eq!(code(&o), 2);
    let e = err(&o);
    assert!(e.contains("bad.toml") && e.contains("line 2") && e.contains("regex"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn extra_rules_override_builtin_ones() {
    let dir = std::env::temp_dir().join(format!("td-rules2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("local.toml");
    std::fs::write(
        &p,
        "[[rule]]\nid = \"TD-CTR-001\"\ncategory = \"container_missing_mounts\"\nseverity = \"error\"\ntitle = \"LOCAL OVERRIDE\"\nmatch = 'failed: invalid argument'\nroot_cause = \"r\"\nremediation = [\"a\"]\n",
    )
    .unwrap();
    let o = TestCommand::new(&["analyze", "--rules", p.to_str().unwrap(), &fixture(SEED)]).run();
    assert_eq!(code(&o), 1);
    assert!(out(&o).contains("LOCAL OVERRIDE"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `-j N` only changes who does the work: the report is byte-for-byte the one of one
/// thread, on every fixture at once (many batches, many nodes) and on messy bytes.
#[test]
fn threads_give_the_same_report() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path().join("input.log"))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(files.len() > 50, "{} fixtures", files.len());
    let run = |j: &str| {
        let mut args = vec!["analyze", "--format", "json", "-j", j];
        args.extend(files.iter().map(String::as_str));
        let o = TestCommand::new(&args).run();
        assert!(matches!(code(&o), 0 | 1 | 3), "-j {j}: {}", err(&o));
        o.stdout
    };
    // `-j N` counts every thread: 0 and 1 are one, 2 adds one preparing thread, 4 three.
    let one = run("0");
    assert_eq!(run("2"), one, "-j 2");
    assert_eq!(run("4"), one, "-j 4");

    let mut messy = Vec::new();
    for i in 0..3000 {
        messy.extend_from_slice(
            format!("\x1b[32m[talos] 2024/11/20 09:14:03 line {i}\x1b[0m\r\n").as_bytes(),
        );
        messy.extend_from_slice(b"[talos] 2024/11/20 09:14:03 bad \xff\xfe utf8 error\n");
        messy.extend_from_slice(br#"{"msg":"[talos] 2024/10/09 12:53:26 renew failed {\"error\": \"x\"}","talos-level":"warn","talos-time":"2024-10-09T12:53:26.5Z"}"#);
        messy.push(b'\n');
    }
    messy.extend_from_slice(&vec![b'x'; 100_000]);
    messy.extend_from_slice(
        b"\n[talos] 2024/11/20 09:14:03 task setupSharedFilesystems (1/1): failed: invalid argument\n",
    );
    messy.extend_from_slice(
        b"[talos] 2024/11/20 09:14:03 boot sequence: failed\nafter \0 nul\nnever read\n",
    );
    let dir = std::env::temp_dir().join(format!("td-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("messy.log");
    std::fs::write(&path, &messy).unwrap();
    let p = path.to_str().unwrap();
    let a = TestCommand::new(&["analyze", "--format", "json", "-j", "0", p]).run();
    let b = TestCommand::new(&["analyze", "--format", "json", "-j", "3", p]).run();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code(&a), 1, "{}", err(&a));
    assert_eq!(b.stdout, a.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["stats"]["truncated_lines"], 1);
    assert_eq!(v["stats"]["invalid_utf8_lines"], 3000);
}

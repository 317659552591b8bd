//! Hostile input, end to end: every case ends with a clear one-line error (exit 2) or a
//! counted warning and a normal report; never a panic, a hang, or memory that grows with
//! the input. Exit codes per diagnosis-contract.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{TestCommand, code, err, fixture, out, read};

const FAILED: &str = "sharedfs-v1.8-docker-run";

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("td-hostile-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// No panic, no Rust backtrace, and at most `lines` lines on stderr.
fn calm(o: &Output, lines: usize) {
    let e = err(o);
    assert!(!e.contains("panicked") && !e.contains("RUST_BACKTRACE"), "panic: {e}");
    assert!(e.lines().count() <= lines, "stderr has more than {lines} line(s): {e}");
    assert!(o.status.code().is_some(), "killed by a signal: {:?}", o.status);
}

/// A one-line `error:` on stderr and exit 2.
fn one_line_error(o: &Output, mentions: &str) {
    calm(o, 1);
    assert_eq!(code(o), 2, "stdout: {} stderr: {}", out(o), err(o));
    let e = err(o);
    assert!(e.contains("error:") && e.contains(mentions), "{e}");
}

fn stats(o: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    v["stats"].clone()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("JSON report")
}

fn first_finding(o: &Output) -> String {
    json(o)["findings"][0]["id"].as_str().unwrap_or_default().to_owned()
}

fn seed() -> Vec<u8> {
    read(&fixture(FAILED))
}

#[test]
fn invalid_utf8_is_counted_and_the_diagnosis_stands() {
    let mut log = b"\xff\xfe garbage \xc3\x28 here\n".to_vec();
    log.extend(seed());
    let o = TestCommand::new(&["analyze", "--format", "json"]).stdin(log).run();
    calm(&o, 2);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert_eq!(stats(&o)["invalid_utf8_lines"], 1);
    assert_eq!(first_finding(&o), "TD-CTR-001");
}

#[test]
fn binary_first_is_an_error_a_nul_later_is_dropped_and_counted() {
    // A real binary (this test's own executable) is refused after a bounded sniff.
    let exe = std::fs::read(env!("CARGO_BIN_EXE_talos-doctor")).unwrap();
    let o = TestCommand::new(&["analyze"]).stdin(exe[..64 * 1024].to_vec()).run();
    one_line_error(&o, "binary");
    // One NUL byte in the middle (line 3) no longer ends the analysis there: the failure
    // after it is found, and the warning says what and where.
    let text = String::from_utf8(seed()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(2, "x\0y");
    let o = TestCommand::new(&["analyze", "--format", "json"])
        .stdin(lines.join("\n").into_bytes())
        .run();
    calm(&o, 1);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert_eq!(first_finding(&o), "TD-CTR-001");
    let w = json(&o)["warnings"].to_string();
    assert!(w.contains("1 NUL byte on 1 line dropped (first on line 3)"), "{w}");
}

#[test]
fn a_100_mb_single_line_is_cut_not_buffered() {
    let dir = TempDir::new("long");
    let path = dir.0.join("long.log");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..100 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n").unwrap();
        f.write_all(&seed()).unwrap();
    }
    let p = path.display().to_string();
    let o = limited(&["analyze", "--format", "json", &p]);
    calm(&o, 2);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert_eq!(stats(&o)["truncated_lines"], 1);
    assert_eq!(first_finding(&o), "TD-CTR-001");
}

/// Runs the binary with its address space capped (Linux, `ulimit -v`), so a build that
/// buffered a whole 100 MB line would die instead of passing.
fn limited(args: &[&str]) -> Output {
    if !cfg!(target_os = "linux") || !Path::new("/bin/sh").exists() {
        return TestCommand::new(args).run();
    }
    let quoted: Vec<String> =
        args.iter().map(|a| format!("'{}'", a.replace('\'', r"'\''"))).collect();
    let script = format!(
        "ulimit -v 150000 && exec '{}' {}",
        env!("CARGO_BIN_EXE_talos-doctor"),
        quoted.join(" ")
    );
    Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn crlf_reads_like_lf() {
    let crlf: Vec<u8> = String::from_utf8(seed()).unwrap().replace('\n', "\r\n").into_bytes();
    let a = TestCommand::new(&["analyze", "--format", "json"]).stdin(crlf).run();
    let b = TestCommand::new(&["analyze", "--format", "json"]).stdin(seed()).run();
    calm(&a, 1);
    assert_eq!(code(&a), code(&b));
    assert_eq!(json(&a)["findings"], json(&b)["findings"]);
    assert_eq!(json(&a)["nodes"], json(&b)["nodes"]);
}

#[test]
fn ansi_escapes_are_stripped_and_counted() {
    let coloured: String = String::from_utf8(seed())
        .unwrap()
        .lines()
        .map(|l| format!("\x1b[32m{l}\x1b[0m\n"))
        .collect();
    let o = TestCommand::new(&["analyze", "--format", "json"]).stdin(coloured.into_bytes()).run();
    calm(&o, 1);
    assert_eq!(code(&o), 1);
    assert!(stats(&o)["ansi_lines"].as_u64().unwrap() > 10);
    assert_eq!(first_finding(&o), "TD-CTR-001");
    assert!(!out(&o).contains('\x1b'));
}

#[test]
fn a_truncated_last_line_is_still_read() {
    let text = String::from_utf8(seed()).unwrap();
    let cut = text.find("phase sharedFilesystems (6/10): failed").unwrap();
    let upto = text[..cut].rfind('\n').unwrap();
    let end = text[cut..].find('\n').map_or(text.len(), |e| cut + e);
    let mut log = text[..upto + 1].to_owned();
    log.push_str(&text[upto + 1..end]);
    let o = TestCommand::new(&["analyze", "--format", "json"]).stdin(log.into_bytes()).run();
    calm(&o, 1);
    assert_eq!(code(&o), 1);
    assert_eq!(json(&o)["nodes"][0]["outcome"], "failed");
}

#[test]
fn empty_input_is_a_clear_error() {
    let o = TestCommand::new(&["analyze"]).stdin(Vec::new()).run();
    one_line_error(&o, "empty");
    let dir = TempDir::new("empty");
    let f = dir.file("empty.log", b"");
    let o = TestCommand::new(&["analyze", &f]).run();
    one_line_error(&o, "empty");
}

#[test]
fn interleaved_nodes_are_told_apart() {
    let fail = String::from_utf8(seed()).unwrap();
    let ok =
        String::from_utf8(read(&fixture("real-022-success-rpi4-controlplane-bootstrap"))).unwrap();
    let strip = |l: &str| l.split_once(": ").map_or(l, |(_, r)| r).to_owned();
    let a: Vec<String> = fail.lines().map(|l| format!("10.9.0.1: {l}")).collect();
    let b: Vec<String> = ok.lines().map(|l| format!("10.9.0.2: {}", strip(l))).collect();
    let mut log = String::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        for _ in 0..3 {
            if i < a.len() {
                log.push_str(&a[i]);
                log.push('\n');
                i += 1;
            }
        }
        if j < b.len() {
            log.push_str(&b[j]);
            log.push('\n');
            j += 1;
        }
    }
    let o = TestCommand::new(&["analyze", "--format", "json"]).stdin(log.into_bytes()).run();
    calm(&o, 1);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    let nodes: Vec<(String, String)> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (n["node"].as_str().unwrap().to_owned(), n["outcome"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(nodes.contains(&("10.9.0.1".into(), "failed".into())), "{nodes:?}");
    assert!(nodes.contains(&("10.9.0.2".into(), "succeeded".into())), "{nodes:?}");
    assert_eq!(v["findings"][0]["node"], "10.9.0.1");
}

#[test]
fn out_of_order_timestamps_do_not_confuse_it() {
    let text = String::from_utf8(seed()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    // Go dates jump back and forth by a year, keeping the line order.
    for (i, l) in lines.iter_mut().enumerate() {
        let year = if i % 2 == 0 { "2031" } else { "2019" };
        *l = l.replacen("2024/", &format!("{year}/"), 1);
    }
    let o = TestCommand::new(&["analyze", "--format", "json"])
        .stdin(lines.join("\n").into_bytes())
        .run();
    calm(&o, 1);
    assert_eq!(code(&o), 1);
    assert_eq!(first_finding(&o), "TD-CTR-001");
}

#[test]
fn directories_and_missing_files_are_clear_errors() {
    let dir = TempDir::new("dir");
    // A directory is read as a bundle of logs; an empty one has nothing to analyze.
    let o = TestCommand::new(&["analyze", &dir.0.display().to_string()]).run();
    one_line_error(&o, "empty");
    let missing = dir.0.join("nope.log").display().to_string();
    let o = TestCommand::new(&["analyze", &missing]).run();
    one_line_error(&o, "nope.log");
}

#[test]
fn unreadable_file_is_a_clear_error() {
    let dir = TempDir::new("perm");
    let f = dir.file("secret.log", &seed());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    if std::fs::read(&f).is_ok() {
        eprintln!(
            "skipped: running as root (or without Unix permissions), the file stays readable"
        );
        return;
    }
    let o = TestCommand::new(&["analyze", &f]).run();
    one_line_error(&o, "secret.log");
}

#[test]
fn closed_stdin_reads_as_empty() {
    let o = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("exec '{}' analyze <&-", env!("CARGO_BIN_EXE_talos-doctor")))
        .output()
        .unwrap();
    one_line_error(&o, "empty");
}

#[test]
fn closed_stdout_keeps_the_verdict() {
    let f = fixture(FAILED);
    let o = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("exec '{}' analyze '{f}' >&-", env!("CARGO_BIN_EXE_talos-doctor")))
        .output()
        .unwrap();
    calm(&o, 0);
    assert_eq!(code(&o), 1, "{}", err(&o));
    // A reader that goes away early (`| head -c 1`) is not an error either.
    let o = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "'{}' analyze --color never '{f}' | head -c 1 >/dev/null",
            env!("CARGO_BIN_EXE_talos-doctor")
        ))
        .output()
        .unwrap();
    calm(&o, 0);
}

#[test]
fn gzip_is_read_transparently_and_a_broken_one_is_an_error() {
    use std::io::Write;
    let dir = TempDir::new("gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&seed()).unwrap();
    let gz = enc.finish().unwrap();
    let f = dir.file("node.log.gz", &gz);
    let o = TestCommand::new(&["analyze", "--format", "json", &f]).run();
    calm(&o, 1);
    assert_eq!(code(&o), 1);
    assert_eq!(first_finding(&o), "TD-CTR-001");
    let cut = dir.file("cut.log.gz", &gz[..gz.len() / 2]);
    let o = TestCommand::new(&["analyze", &cut]).run();
    one_line_error(&o, "gzip");
}

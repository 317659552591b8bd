//! The rough edges of issue #15, each pinned on the built binary: closed pipes, width,
//! copy-pasteable fixes, bad arguments, terminal escapes from the input, CI formats.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::{TestCommand, code, err, root};

const FORMATS: [&str; 6] = ["human", "json", "github", "junit", "sarif", "markdown"];

/// Every fixture's input.log, sorted.
fn all_fixtures() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path().join("input.log"))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

/// `talos-doctor analyze --format F fixtures/*/input.log | head -1`: the report is far
/// larger than a pipe buffer, so the writer meets the closed pipe whatever the timing.
#[test]
fn r15_closed_stdout_keeps_the_verdict_in_every_format() {
    let files = all_fixtures();
    let mut args = vec!["analyze", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let whole = TestCommand::new(&args).run();
    let verdict = code(&whole);
    assert!(matches!(verdict, 1 | 3), "{}", err(&whole));
    for format in FORMATS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_talos-doctor"))
            .args(["analyze", "--format", format])
            .args(&files)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{format}");
        let o = child.wait_with_output().unwrap();
        assert_eq!(code(&o), verdict, "{format}: {}", err(&o));
        assert_eq!(err(&o), "", "{format}: a closed stdout ends quietly");
    }
}

//! The rough edges of issue #15, each pinned on the built binary: closed pipes, width,
//! copy-pasteable fixes, bad arguments, terminal escapes from the input, CI formats.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use super::{TestCommand, code, err, out, root};

const SEED: &str = "sharedfs-v1.8-docker-run";

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

/// The evidence and context lines of a human report, with each wrapped line joined back
/// (white space dropped: a wrap may replace a space).
fn gutter_texts(human: &str) -> Vec<String> {
    let mut texts: Vec<String> = Vec::new();
    for line in human.lines() {
        let Some((left, text)) = line.split_once(" │ ") else { continue };
        let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let new = left.contains(|c: char| c.is_ascii_digit() || c == '▶');
        match texts.last_mut() {
            Some(last) if !new => last.push_str(&text),
            _ => texts.push(text),
        }
    }
    texts
}

/// See: issue #15, item 2. At 60 and at 150 columns every evidence line keeps all its text
/// (the error is at its end), on every fixture, and no line is wider than the terminal.
#[test]
fn r15_evidence_wraps_and_keeps_its_error_text() {
    let files = all_fixtures();
    let mut args = vec!["analyze", "-v", "--format", "json"];
    args.extend(files.iter().map(String::as_str));
    let json: serde_json::Value =
        serde_json::from_slice(&TestCommand::new(&args).run().stdout).expect("json report");
    let mut want: Vec<String> = Vec::new();
    for f in json["findings"].as_array().unwrap() {
        for e in f["evidence"].as_array().unwrap() {
            want.push(e["text"].as_str().unwrap().chars().filter(|c| !c.is_whitespace()).collect());
        }
    }
    assert!(want.len() > 100, "{} evidence lines", want.len());
    args[2] = "--color";
    args[3] = "never";
    for columns in ["60", "150"] {
        let o = TestCommand::new(&args).env("COLUMNS", columns).run();
        let human = out(&o);
        let width: usize = columns.parse().unwrap();
        for line in human.lines().filter(|l| l.contains(" │ ")) {
            assert!(line.chars().count() <= width, "wider than {columns}: {line}");
        }
        let got = gutter_texts(&human);
        for text in &want {
            assert!(got.iter().any(|g| g.contains(text.as_str())), "{columns} columns lost {text}");
        }
    }
    let o = TestCommand::new(&["analyze", &super::fixture(SEED)]).env("COLUMNS", "60").run();
    let key = "tasksetupSharedFilesystems(1/1):failed:invalidargument";
    assert!(gutter_texts(&out(&o)).iter().any(|t| t.ends_with(key)), "{}", out(&o));
}

/// See: issue #15, item 3. A fix's command is printed whole on a line of its own, however
/// narrow the terminal, and the report ends with a one-line summary.
#[test]
fn r15_fix_commands_are_copy_pasteable_and_the_report_ends_with_a_summary() {
    for columns in ["60", "150"] {
        let o = TestCommand::new(&["analyze", &super::fixture(SEED)]).env("COLUMNS", columns).run();
        assert_eq!(code(&o), 1, "{}", err(&o));
        let human = out(&o);
        let docker_run = human
            .lines()
            .find(|l| l.trim_start().starts_with("docker run "))
            .unwrap_or_else(|| panic!("no docker run line at {columns}:\n{human}"));
        let cmd = docker_run.trim();
        assert!(cmd.ends_with("ghcr.io/siderolabs/talos:<tag>"), "{cmd}");
        assert!(cmd.contains("--tmpfs /run") && !cmd.contains('`'), "{cmd}");
        assert!(human.lines().any(|l| l.trim() == "talosctl cluster create"), "{human}");
        let last = human.lines().last().unwrap();
        assert!(
            last.starts_with("Summary: boot failed; most likely cause TD-CTR-001")
                && last.ends_with("lines read"),
            "{last}"
        );
    }
}

/// Exit 2 with one line on stderr that contains `want`, nothing on stdout.
fn one_line_usage_error(args: &[&str], want: &str) {
    let o = TestCommand::new(args).run();
    assert_eq!(code(&o), 2, "{args:?}: {}{}", out(&o), err(&o));
    let e = err(&o);
    assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
    assert!(e.contains(want), "{args:?}: {e}");
    assert_eq!(out(&o), "", "{args:?}");
}

/// See: issue #15, item 7. A fixture directory that is missing, not a directory or holds no
/// case is exit 2, never "all rule tests passed".
#[test]
fn r15_rules_test_on_a_missing_fixture_directory_is_an_error() {
    one_line_usage_error(
        &["rules", "test", "--fixtures", "/nonexistent"],
        "failed to read fixture directory `/nonexistent`",
    );
    one_line_usage_error(&["rules", "test", "--fixtures", "Cargo.toml"], "`Cargo.toml`");
    one_line_usage_error(&["rules", "test", "--fixtures", "src"], "no fixtures in `src`");
}

/// See: issue #15, item 12. An empty container name is a usage error Docker never sees.
#[test]
fn r15_an_empty_container_name_is_a_clear_usage_error() {
    let want = "the container name is empty: give a container name or id prefix";
    one_line_usage_error(&["watch", ""], want);
    one_line_usage_error(&["watch", "talos-cp-01", " "], want);
    one_line_usage_error(&["inspect", ""], want);
    one_line_usage_error(&["watch", "--cluster", ""], "--cluster is empty");
    one_line_usage_error(&["analyze", "--container", ""], "--container is empty");
}

/// See: issue #15, item 13. Terminal escapes from the input (JSON-escaped in a json-lines
/// envelope, raw in a line, in a file name) never reach the human, GitHub or Markdown output
/// raw: they are shown as `\x1b`, `\x07`.
#[test]
fn r15_terminal_escapes_from_the_input_are_made_visible() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("edges-escapes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut log = br#"{"msg":"[talos] task setupSharedFilesystems (1/1): failed: invalid argument \u001b[2J\u001b]0;pwned\u0007","talos-level":"error","talos-time":"2024-10-09T12:53:26.5Z"}"#.to_vec();
    log.extend_from_slice(
        b"\n[talos] phase sharedFilesystems (6/10): failed \x1b[1A\x07 raw\x1b\n",
    );
    log.extend_from_slice(b"[talos] boot sequence: failed\n");
    let plain = dir.join("cp.log");
    let named = dir.join("w\x1b]0;x\x07.log");
    std::fs::write(&plain, &log).unwrap();
    std::fs::write(&named, &log).unwrap();
    for files in [vec![&plain], vec![&plain, &named]] {
        for format in ["human", "github", "markdown"] {
            let mut args = vec!["analyze", "--color", "never", "--format", format];
            args.extend(files.iter().map(|p| p.to_str().unwrap()));
            let o = TestCommand::new(&args).run();
            assert!(matches!(code(&o), 1 | 3), "{format}: {}", err(&o));
            let bad: Vec<u8> = o
                .stdout
                .iter()
                .copied()
                .filter(|b| (*b < 0x20 && *b != b'\n' && *b != b'\t') || *b == 0x7f)
                .collect();
            assert!(bad.is_empty(), "{format}: raw controls {bad:?} in\n{}", out(&o));
            assert!(out(&o).contains(r"\x1b[2J\x1b]0;pwned\x07"), "{format}: {}", out(&o));
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// True when some `&lt;`/`&gt;` sits inside a code span (after an odd number of backticks
/// on its line), where it would show as typed.
fn escaped_in_a_code_span(markdown: &str) -> Option<&str> {
    markdown.lines().find(|line| {
        ["&lt;", "&gt;"].iter().any(|esc| {
            line.match_indices(esc).any(|(i, _)| line[..i].matches('`').count() % 2 == 1)
        })
    })
}

/// See: issue #15, item 9. Over every fixture, no code span is HTML-escaped
/// (`talos:<tag>` stays `talos:<tag>`), and the report of all of them at once stays within
/// GitHub's comment limit, saying what it left out.
#[test]
fn r15_markdown_keeps_code_spans_and_fits_a_github_comment() {
    let files = all_fixtures();
    // A few fixtures per run: each report is short enough to be shown whole.
    for chunk in files.chunks(8) {
        let mut args = vec!["analyze", "--format", "markdown"];
        args.extend(chunk.iter().map(String::as_str));
        let md = out(&TestCommand::new(&args).run());
        assert!(!md.contains("left out"), "{chunk:?}");
        let bad = escaped_in_a_code_span(&md);
        assert!(bad.is_none(), "{chunk:?}: {bad:?}");
    }
    let seed =
        out(&TestCommand::new(&["analyze", "--format", "markdown", &super::fixture(SEED)]).run());
    assert!(seed.contains("ghcr.io/siderolabs/talos:<tag>`"), "{seed}");
    let mut args = vec!["analyze", "--format", "markdown"];
    args.extend(files.iter().map(String::as_str));
    let o = TestCommand::new(&args).run();
    let md = out(&o);
    assert!(md.len() <= 65_536, "{} bytes", md.len());
    assert!(md.starts_with("## ❌ talos-doctor: failed: "), "{}", &md[..200]);
    assert!(md.contains("<details><summary>More findings</summary>"));
    assert!(md.contains("more section(s) left out"), "{}", &md[md.len() - 3000..]);
}

/// See: issue #15, item 10. GitHub shows 10 annotations of a type in a step: over every
/// fixture at once, at most 10 of each, and one notice that says what was left out.
#[test]
fn r15_github_annotations_are_capped_with_a_summary_notice() {
    let files = all_fixtures();
    let mut args = vec!["analyze", "--format", "github"];
    args.extend(files.iter().map(String::as_str));
    let o = TestCommand::new(&args).run();
    let s = out(&o);
    for kind in ["::error ", "::warning ", "::notice "] {
        let n = s.lines().filter(|l| l.starts_with(kind)).count();
        assert!(n <= 10, "{n} {kind}");
    }
    let last = s.lines().last().unwrap();
    assert!(last.starts_with("::notice title=talos-doctor%3A "), "{last}");
    assert!(last.contains("more annotation(s) left out"), "{last}");
    assert!(last.contains(" error(s): TD-"), "{last}");
}

/// See: issue #15, item 5. `--ascii` output is ASCII, byte for byte, over every fixture.
#[test]
fn r15_ascii_output_is_ascii_over_every_fixture() {
    let files = all_fixtures();
    let mut args = vec!["analyze", "-v", "--ascii"];
    args.extend(files.iter().map(String::as_str));
    let o = TestCommand::new(&args).run();
    assert!(matches!(code(&o), 1 | 3), "{}", err(&o));
    let bad = o.stdout.iter().position(|b| *b >= 0x80);
    assert!(bad.is_none(), "non-ASCII at {bad:?}: {}", out(&o));
    assert!(out(&o).contains("Summary: "));
}

/// Issue #15: `--color` is global (before or after the subcommand); `CLICOLOR_FORCE`
/// colours a pipe, `NO_COLOR` wins over it, `--color` over both.
#[test]
fn r15_colour_is_global_and_follows_clicolor_force_and_no_color() {
    let f = super::fixture(SEED);
    let has_esc = |o: &std::process::Output| out(o).contains('\x1b');
    assert!(has_esc(&TestCommand::new(&["--color", "always", "analyze", &f]).run()));
    assert!(has_esc(&TestCommand::new(&["analyze", &f, "--color", "always"]).run()));
    assert!(has_esc(&TestCommand::new(&["analyze", &f]).env("CLICOLOR_FORCE", "1").run()));
    let both = TestCommand::new(&["analyze", &f]).env("CLICOLOR_FORCE", "1").env("NO_COLOR", "1");
    assert!(!has_esc(&both.run()));
    let never = TestCommand::new(&["analyze", &f, "--color", "never"]).env("CLICOLOR_FORCE", "1");
    assert!(!has_esc(&never.run()));
    assert!(!has_esc(&TestCommand::new(&["analyze", &f]).env("CLICOLOR_FORCE", "0").run()));
}

/// Issue #15: every subcommand's `--help` has examples and its exit codes.
#[test]
fn r15_every_subcommand_help_lists_examples_and_exit_codes() {
    for cmd in ["analyze", "rules", "watch", "inspect", "explain-line", "completions", "man"] {
        let o = TestCommand::new(&[cmd, "--help"]).run();
        assert_eq!(code(&o), 0, "{cmd}: {}", err(&o));
        let help = out(&o);
        assert!(help.contains("Examples:") && help.contains("Exit codes:"), "{cmd}:\n{help}");
        assert!(help.contains("  2  "), "{cmd}:\n{help}");
    }
    assert!(out(&TestCommand::new(&["watch", "--help"]).run()).contains("130"));
}

/// Issue #15: shell completions and a man page, from the parser's own definition.
#[test]
fn r15_completions_and_man_page() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef talos-doctor"),
        ("fish", "complete -c talos-doctor"),
    ] {
        let o = TestCommand::new(&["completions", shell]).run();
        assert_eq!(code(&o), 0, "{shell}: {}", err(&o));
        assert!(out(&o).contains(marker), "{shell}:\n{}", out(&o));
        assert!(out(&o).contains("inspect"), "{shell}");
    }
    let man = TestCommand::new(&["man"]).run();
    assert_eq!(code(&man), 0);
    assert!(out(&man).contains(".TH talos-doctor 1"), "{}", out(&man));
    assert_eq!(code(&TestCommand::new(&["completions", "tcsh"]).run()), 2);
}

/// Issue #15: with a terminal on standard input (nothing piped in), `analyze` says what it
/// waits for, on stderr. Run under `script`, which gives it a pseudo-terminal.
#[test]
fn r15_stdin_on_a_terminal_says_what_it_waits_for() {
    let bin = env!("CARGO_BIN_EXE_talos-doctor");
    // The pty's input ends at once (</dev/null for script): the hint must already be out.
    let o = Command::new("script")
        .args(["-qec", &format!("'{bin}' analyze --format json; true"), "/dev/null"])
        .stdin(Stdio::null())
        .output();
    let Ok(o) = o else {
        eprintln!("skipped: no `script` to make a pseudo-terminal");
        return;
    };
    let all = String::from_utf8_lossy(&o.stdout);
    assert!(all.contains("reading a Talos log from standard input (Ctrl-D to end)"), "{all}");
    // A pipe on stdin: no hint.
    let piped = TestCommand::new(&["analyze", "-"])
        .stdin(b"[talos] boot sequence: 1 phase(s)\n".to_vec())
        .run();
    assert!(!err(&piped).contains("Ctrl-D"), "{}", err(&piped));
}

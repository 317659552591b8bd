//! GitHub Actions workflow commands: one `::error`/`::warning`/`::notice` annotation per
//! finding, and a Markdown job summary for `$GITHUB_STEP_SUMMARY`.
//!
//! Annotation data is escaped as the Actions runner expects (`%`, `\r`, `\n` in the message;
//! also `:` and `,` in properties), so a log line can never end an annotation early or
//! inject a second workflow command.

use std::io::{self, Write};

use super::RenderOptions;
use crate::report::{Evidence, Finding, Report, Severity};

/// How many annotations of one type (error, warning, notice) GitHub shows for a step; it
/// shows 50 in a job.
pub const PER_TYPE: usize = 10;

/// One workflow command, before it is written: its type, its line, and what it is about.
struct Annotation {
    command: &'static str,
    line: String,
    about: String,
}

/// Writes one annotation per finding (info findings only with `opts.verbose`), then one
/// `::error` per failed or stalled node that no `error` finding explains. GitHub shows
/// only [`PER_TYPE`] of each type in a step: the first ones in rank order (most likely
/// cause first) are kept, and one `::notice` says what was left out.
pub fn render(report: &Report, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let mut all = Vec::new();
    for f in &report.findings {
        if f.severity == Severity::Info && !opts.verbose {
            continue;
        }
        all.push(finding_annotation(f, single_input(report)));
    }
    for node in report.nodes.iter().filter(|n| n.outcome.is_bad()) {
        let explained =
            report.findings.iter().any(|f| f.severity == Severity::Error && f.node == node.node);
        if explained {
            continue;
        }
        let (line, what) = match (&node.failure, &node.stall) {
            (Some(fail), _) => (Some(fail.line), super::markdown::failure_point(fail)),
            (None, Some(stall)) => (stall.line, format!("stalled: {}", stall.reason)),
            (None, None) => (None, node.outcome.as_str().to_string()),
        };
        let mut props = Vec::new();
        let line = line.filter(|l| *l > 0);
        if let (Some(file), Some(line)) = (only_input(report).filter(|f| is_file_path(f)), line) {
            props.push(("file", file.to_string()));
            props.push(("line", line.to_string()));
        }
        props.push((
            "title",
            format!("talos-doctor: {} {} with no known cause", node.node, node.outcome.as_str()),
        ));
        let msg = format!(
            "{what}\nNo rule matched. Run `talos-doctor` locally with --verbose, and collect the node logs (docker logs <node>, talosctl -n IP dmesg, talosctl support)."
        );
        all.push(Annotation {
            command: "error",
            line: command_line("error", &props, &msg),
            about: format!("{} ({} with no known cause)", node.node, node.outcome.as_str()),
        });
    }
    let mut left_out: Vec<&Annotation> = Vec::new();
    let mut shown = std::collections::BTreeMap::<&str, usize>::new();
    let notices = all.iter().filter(|a| a.command == "notice").count();
    for a in &all {
        let n = shown.entry(a.command).or_default();
        // A notice slot is kept for the summary when anything is left out.
        let room =
            if a.command == "notice" && notices > PER_TYPE { PER_TYPE - 1 } else { PER_TYPE };
        if *n < room {
            *n += 1;
            w.write_all(a.line.as_bytes())?;
        } else {
            left_out.push(a);
        }
    }
    if left_out.is_empty() {
        return Ok(());
    }
    let mut by_type = Vec::new();
    for command in ["error", "warning", "notice"] {
        let these: Vec<&str> =
            left_out.iter().filter(|a| a.command == command).map(|a| a.about.as_str()).collect();
        if !these.is_empty() {
            by_type.push(format!("{} {command}(s): {}", these.len(), counted(&these)));
        }
    }
    let msg = format!(
        "{} more annotation(s) left out: GitHub shows {PER_TYPE} of each type in a step, and \
         these are ranked after the ones shown.\n{}\nThe job summary and `--format json` have \
         them all.",
        left_out.len(),
        by_type.join("\n")
    );
    let props = [("title", format!("talos-doctor: {} more annotation(s)", left_out.len()))];
    w.write_all(command_line("notice", &props, &msg).as_bytes())
}

/// `TD-CTR-001 ×3, TD-NET-002`: each distinct label once, with its count, in first-seen order.
fn counted(labels: &[&str]) -> String {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for l in labels {
        match seen.iter_mut().find(|(s, _)| s == l) {
            Some((_, n)) => *n += 1,
            None => seen.push((l, 1)),
        }
    }
    let parts: Vec<String> = seen
        .iter()
        .map(|(l, n)| if *n > 1 { format!("{l} ×{n}") } else { (*l).to_owned() })
        .collect();
    parts.join(", ")
}

/// Writes the job summary (GitHub-flavoured Markdown): the same report as the `markdown`
/// format. The caller decides whether `$GITHUB_STEP_SUMMARY` is set and opens it.
pub fn step_summary(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    super::markdown::render(&super::visible_report(report), &RenderOptions::default(), w)
}

/// The input of evidence that names none. The analyzer names inputs only once a second
/// one begins, so unnamed evidence comes from the first input.
fn single_input(report: &Report) -> Option<&str> {
    report.inputs.first().map(String::as_str)
}

/// The input a node's failure line is in, when the report has just one.
fn only_input(report: &Report) -> Option<&str> {
    match report.inputs.as_slice() {
        [only] => Some(only.as_str()),
        _ => None,
    }
}

fn finding_annotation(f: &Finding, fallback_input: Option<&str>) -> Annotation {
    let command = match f.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let first = f.evidence.first();
    let mut props = Vec::new();
    // Only a line of a file is a place the runner can link; a stream or a container's
    // settings get no `file`/`line` (never `line=0`).
    if let Some(super::Place::File { path, line }) = first.map(|e| super::place(e, fallback_input))
    {
        props.push(("file", path.to_string()));
        props.push(("line", line.to_string()));
    }
    let title = if f.node != "-" && !f.node.is_empty() {
        format!("{} [{}] {}", f.id, f.node, f.title)
    } else {
        format!("{} {}", f.id, f.title)
    };
    props.push(("title", title));
    Annotation {
        command,
        line: command_line(command, &props, &message(f, first, fallback_input)),
        about: f.id.clone(),
    }
}

fn message(f: &Finding, first: Option<&Evidence>, fallback_input: Option<&str>) -> String {
    let mut m = f.root_cause.trim_end().to_string();
    if !f.remediation.is_empty() {
        m.push_str("\n\nRemediation:");
        for (i, step) in f.remediation.iter().enumerate() {
            m.push_str(&format!("\n{}. {step}", i + 1));
        }
    }
    if let Some(ev) = first {
        let at = match (&ev.input, super::place(ev, fallback_input)) {
            (None, super::Place::File { line, .. }) => format!("line {line}"),
            (_, p) => p.describe(),
        };
        m.push_str(&format!("\n\nEvidence ({at}):\n{}", ev.text));
        for more in f.evidence.iter().skip(1) {
            m.push_str(&format!("\n{}", more.text));
        }
    }
    if let Some(r) = f.references.first() {
        m.push_str(&format!("\n\nSee: {r}"));
    }
    m
}

/// Inputs that name a file the runner can link: not stdin (`-`) and not a Docker container.
fn is_file_path(input: &str) -> bool {
    let e = Evidence {
        line: 1,
        text: String::new(),
        input: Some(input.into()),
        before: vec![],
        after: vec![],
    };
    matches!(super::place(&e, None), super::Place::File { .. })
}

/// One workflow command line, newline included.
fn command_line(command: &str, props: &[(&str, String)], message: &str) -> String {
    let mut line = format!("::{command}");
    for (i, (k, v)) in props.iter().enumerate() {
        let sep = if i == 0 { ' ' } else { ',' };
        line.push_str(&format!("{sep}{k}={}", escape_property(v)));
    }
    line.push_str(&format!("::{}\n", escape_data(message)));
    line
}

/// Escapes a workflow command's message (the runner's `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow command's property value (the runner's `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A report to render in the format tests: one node failed at `sharedFilesystems` with
/// one error and one warning finding, a second node that succeeded.
#[cfg(test)]
pub(crate) mod sample {
    use crate::report::*;

    fn ev(line: u64, text: &str, input: &str) -> Evidence {
        Evidence {
            line,
            text: text.into(),
            input: Some(input.into()),
            before: vec![ContextLine {
                line: line - 1,
                text: "[talos] 2024/11/20 09:14:03 task setupSharedFilesystems (1/1): starting"
                    .into(),
            }],
            after: vec![],
        }
    }

    fn phase(name: &str, index: u32, state: State, tasks: Vec<TaskReport>) -> PhaseReport {
        PhaseReport {
            name: name.into(),
            index,
            state,
            duration_ms: (state == State::Done).then_some(1.5),
            tasks,
            line: Some(u64::from(index) * 4),
            inferred: false,
        }
    }

    /// The sample report.
    pub(crate) fn report() -> Report {
        let failed_task = TaskReport {
            name: "setupSharedFilesystems".into(),
            index: 1,
            count: 1,
            state: State::Failed,
            error: Some("invalid argument".into()),
            line: Some(66),
            duration_ms: None,
        };
        let cp = NodeReport {
            node: "talos-cp-01".into(),
            talos_version: Some("v1.8".into()),
            version_evidence: vec!["boot sequence: 10 phase(s), first phase saveConfig".into()],
            mode: Mode::Container,
            mode_evidence: vec![],
            outcome: Outcome::Failed,
            boots: 1,
            earlier_boots: vec![],
            sequences: vec![SequenceReport {
                name: "boot".into(),
                state: State::Failed,
                phase_count: Some(10),
                duration_ms: None,
                phases: vec![
                    phase("saveConfig", 1, State::Done, vec![]),
                    phase("dbus", 5, State::Done, vec![]),
                    phase("sharedFilesystems", 6, State::Failed, vec![failed_task]),
                    phase("var", 7, State::Pending, vec![]),
                    phase("extendPCRStartAll", 9, State::Skipped, vec![]),
                ],
                line: Some(40),
            }],
            failure: Some(Failure {
                sequence: "boot".into(),
                phase: Some("sharedFilesystems".into()),
                phase_index: Some("6/10".into()),
                task: Some("setupSharedFilesystems".into()),
                error: Some("invalid argument".into()),
                line: 66,
            }),
            stall: None,
            health: Vec::new(),
            lines: 84,
        };
        let worker = NodeReport {
            node: "talos-worker-01".into(),
            talos_version: Some("v1.8".into()),
            version_evidence: vec![],
            mode: Mode::Container,
            mode_evidence: vec![],
            outcome: Outcome::Succeeded,
            boots: 1,
            earlier_boots: vec![],
            sequences: vec![SequenceReport {
                name: "boot".into(),
                state: State::Done,
                phase_count: Some(10),
                duration_ms: Some(5321.0),
                phases: vec![phase("saveConfig", 1, State::Done, vec![])],
                line: Some(3),
            }],
            failure: None,
            stall: None,
            health: Vec::new(),
            lines: 120,
        };
        let error = Finding {
            id: "TD-CTR-001".into(),
            category: "container_missing_mounts".into(),
            severity: Severity::Error,
            node: "talos-cp-01".into(),
            title: "Container started without the mounts Talos needs".into(),
            root_cause: "The container has no tmpfs at /run, /system and /tmp, so mounting the shared filesystems fails with EINVAL.".into(),
            remediation: vec![
                "Create the cluster with `talosctl cluster create --provisioner docker`.".into(),
                "Or add `--tmpfs /run --tmpfs /system --tmpfs /tmp --volume /var` to `docker run`.".into(),
            ],
            evidence: vec![ev(66, "[talos] 2024/11/20 09:14:03 task setupSharedFilesystems (1/1): failed: invalid argument", "logs/cp, 01.log")],
            references: vec!["https://github.com/siderolabs/talos/blob/v1.8.0/internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_sequencer_tasks.go".into()],
            fingerprint: "0123456789abcdef".into(),
            fixed_in: None,
            occurrences: 1,
            boots: 1,
            recovered: false,
        };
        let warning = Finding {
            id: "TD-CLI-001".into(),
            category: "container_missing_mounts".into(),
            severity: Severity::Warning,
            node: "-".into(),
            title: "talosctl could not reach the Talos API (port 50000)".into(),
            root_cause: "A client-side symptom: 100% of retries failed.\r\nCollect the node log.".into(),
            remediation: vec!["docker logs talos-cp-01".into()],
            evidence: vec![Evidence {
                line: 12,
                text: "rpc error: code = Unavailable desc = connection error: dial tcp 10.5.0.2:50000: connect: connection refused".into(),
                input: None,
                before: vec![],
                after: vec![],
            }],
            references: vec![],
            fingerprint: "fedcba9876543210".into(),
            fixed_in: None,
            occurrences: 3,
            boots: 1,
            recovered: false,
        };
        let info = Finding {
            id: "TD-NOISE-001".into(),
            category: "container_missing_mounts".into(),
            severity: Severity::Info,
            node: "talos-worker-01".into(),
            title: "Benign noise".into(),
            root_cause: "Ignored.".into(),
            remediation: vec![],
            evidence: vec![],
            references: vec![],
            fingerprint: "1111111111111111".into(),
            fixed_in: None,
            occurrences: 1,
            boots: 1,
            recovered: false,
        };
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool { name: "talos-doctor".into(), version: "0.1.0".into() },
            outcome: Outcome::Failed,
            nodes: vec![cp, worker],
            findings: vec![error, warning, info],
            stats: Stats { lines: 204, ..Stats::default() },
            inputs: vec!["logs/cp, 01.log".into(), "logs/worker-01.log".into()],
            unexplained: vec![],
            warnings: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_to_string(report: &Report, opts: &RenderOptions) -> String {
        let mut out = Vec::new();
        render(report, opts, &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn escapes_like_the_runner() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn annotations() {
        insta::assert_snapshot!(render_to_string(&sample::report(), &RenderOptions::default()));
    }

    #[test]
    fn verbose_adds_notices() {
        let out = render_to_string(
            &sample::report(),
            &RenderOptions { verbose: true, ..RenderOptions::default() },
        );
        assert!(out.lines().any(|l| l.starts_with("::notice title=TD-NOISE-001")), "{out}");
    }

    #[test]
    fn every_annotation_is_one_line() {
        let out = render_to_string(
            &sample::report(),
            &RenderOptions { verbose: true, ..RenderOptions::default() },
        );
        for line in out.lines() {
            assert!(
                line.starts_with("::error ")
                    || line.starts_with("::warning ")
                    || line.starts_with("::notice "),
                "{line}"
            );
        }
    }

    #[test]
    fn at_most_ten_of_a_type_and_one_notice_for_the_rest() {
        let mut report = sample::report();
        let error = report.findings[0].clone();
        let warning = report.findings[1].clone();
        for i in 0..14 {
            let mut f = error.clone();
            f.id = format!("TD-E-{:03}", i % 5);
            report.findings.push(f);
        }
        for _ in 0..3 {
            report.findings.push(warning.clone());
        }
        let out = render_to_string(&report, &RenderOptions::default());
        let count = |p: &str| out.lines().filter(|l| l.starts_with(p)).count();
        assert_eq!(count("::error "), PER_TYPE, "{out}");
        assert_eq!(count("::warning "), 4, "{out}");
        assert_eq!(count("::notice "), 1, "{out}");
        let notice = out.lines().last().expect("a line");
        assert!(
            notice.starts_with("::notice title=talos-doctor%3A 5 more annotation(s)::"),
            "{notice}"
        );
        assert!(
            notice.contains("5 error(s): TD-E-004, TD-E-000, TD-E-001, TD-E-002, TD-E-003%0A"),
            "{notice}"
        );
        assert_eq!(counted(&["a", "b", "a"]), "a ×2, b");
        // The first ten errors are the best-ranked ones.
        let first = out.lines().next().expect("a line");
        assert!(first.contains("title=TD-CTR-001 "), "{first}");
    }

    #[test]
    fn unexplained_failure_gets_an_error() {
        let mut report = sample::report();
        report.findings.retain(|f| f.severity != Severity::Error);
        report.inputs.truncate(1);
        let out = render_to_string(&report, &RenderOptions::default());
        assert!(
            out.contains("::error file=logs/cp%2C 01.log,line=66,title=talos-doctor%3A talos-cp-01 failed with no known cause::"),
            "{out}"
        );
    }
}

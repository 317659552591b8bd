//! JUnit XML, the format every CI system shows as a test report: one `<testsuite>` per
//! node and one `<testcase>` per boot phase, so the CI's test view shows which phase of
//! which node failed.
//!
//! A failed phase is a `<failure>` whose message is the top finding's title and whose body
//! holds the root cause, remediation and evidence; a pending phase (never started) and a
//! skipped one are `<skipped>`. A failed or stalled node with no failed phase (maintenance
//! mode, a client-side log) gets one `boot` test case that fails, so the run still shows red.

use std::io::{self, Write};
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as JUnitReport, TestCase, TestCaseStatus, TestSuite};

use super::RenderOptions;
use crate::report::{Finding, NodeReport, Outcome, PhaseReport, Report, Severity, State};

/// Writes the JUnit XML document.
pub fn render(report: &Report, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let junit = build(report, opts);
    // Built in memory, so a closed stdout reaches the caller as `BrokenPipe` (quick-junit
    // would wrap it in its own error).
    let mut doc = junit.to_string().map_err(io::Error::other)?;
    doc.push('\n');
    w.write_all(doc.as_bytes())
}

fn build(report: &Report, opts: &RenderOptions) -> JUnitReport {
    let mut junit = JUnitReport::new("talos-doctor");
    for node in &report.nodes {
        junit.add_test_suite(suite(report, node, opts));
    }
    let orphans: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info && !report.nodes.iter().any(|n| n.node == f.node))
        .collect();
    if !orphans.is_empty() {
        let mut suite = TestSuite::new("talos-doctor");
        for f in orphans.iter().filter(|f| f.severity == Severity::Error) {
            suite.add_test_case(finding_case(f, "talos-doctor"));
        }
        suite.set_system_out(notes(
            orphans.iter().copied().filter(|f| f.severity != Severity::Error),
        ));
        junit.add_test_suite(suite);
    }
    junit
}

fn suite(report: &Report, node: &NodeReport, opts: &RenderOptions) -> TestSuite {
    let mut suite = TestSuite::new(node.node.clone());
    let findings: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.node == node.node && (opts.verbose || f.severity != Severity::Info))
        .collect();
    let top = findings.iter().copied().find(|f| f.severity == Severity::Error);
    let mut any_failed = false;
    for seq in &node.sequences {
        let width = seq.phase_count.unwrap_or(0).max(seq.phases.len() as u32).to_string().len();
        let class = format!("{}.{}", node.node, seq.name);
        for phase in &seq.phases {
            let name = format!("{:0width$} {}", phase.index, phase.name);
            let status = phase_status(node, phase, top, &mut any_failed);
            let mut case = TestCase::new(name, status);
            case.set_classname(class.clone());
            if let Some(ms) = phase.duration_ms.filter(|ms| ms.is_finite() && *ms >= 0.0) {
                case.set_time(Duration::from_secs_f64(ms / 1000.0));
            }
            suite.add_test_case(case);
        }
    }
    if node.outcome.is_bad() && !any_failed {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        match top {
            Some(f) => {
                status
                    .set_message(f.title.clone())
                    .set_type(f.id.clone())
                    .set_description(details(f));
            }
            None => {
                let why = node.stall.as_ref().map_or_else(
                    || format!("{} with no known cause", node.outcome.as_str()),
                    |s| format!("stalled: {}", s.reason),
                );
                status.set_message(why).set_type("unknown");
            }
        }
        let mut case = TestCase::new("boot", status);
        case.set_classname(node.node.clone());
        suite.add_test_case(case);
    }
    let mut out = format!("outcome: {}\n", node.outcome.as_str());
    if let Some(v) = &node.talos_version {
        out.push_str(&format!("talos version: {v}\n"));
    }
    out.push_str(&format!("boots: {}\n", node.boots));
    out.push_str(&notes(findings.iter().copied().filter(|f| f.severity != Severity::Error)));
    suite.set_system_out(out);
    suite
}

/// A failed phase fails; a running phase fails only when the node stalled (it hung there);
/// pending and skipped phases are skipped.
fn phase_status(
    node: &NodeReport,
    phase: &PhaseReport,
    top: Option<&Finding>,
    any_failed: &mut bool,
) -> TestCaseStatus {
    let hung = phase.state == State::Running && node.outcome == Outcome::Stalled;
    if phase.state == State::Failed || hung {
        *any_failed = true;
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        let task = phase.tasks.iter().find(|t| t.state == phase.state);
        match top {
            Some(f) => {
                status
                    .set_message(f.title.clone())
                    .set_type(f.id.clone())
                    .set_description(details(f));
            }
            None => {
                let what = match task {
                    Some(t) => format!(
                        "task {} {}: {}",
                        t.name,
                        if hung { "never finished" } else { "failed" },
                        t.error.as_deref().unwrap_or("no error text")
                    ),
                    None if hung => "phase never finished".to_string(),
                    None => "phase failed".to_string(),
                };
                status.set_message(format!("{what} (no known cause)")).set_type("unknown");
            }
        }
        return status;
    }
    match phase.state {
        State::Done => TestCaseStatus::success(),
        State::Running => {
            let mut s = TestCaseStatus::skipped();
            s.set_message("still running");
            s
        }
        State::Pending => {
            let mut s = TestCaseStatus::skipped();
            s.set_message("not started: an earlier phase failed or the boot stopped");
            s
        }
        State::Skipped | State::Failed => {
            let mut s = TestCaseStatus::skipped();
            s.set_message("skipped by the sequencer");
            s
        }
    }
}

/// An error finding no node report holds (client-side logs) as its own failing test case.
fn finding_case(f: &Finding, class: &str) -> TestCase {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_message(f.title.clone()).set_type(f.id.clone()).set_description(details(f));
    let mut case = TestCase::new(format!("{} {}", f.id, f.title), status);
    case.set_classname(format!("{class}.findings"));
    case
}

/// Warnings (and info with `--verbose`) do not fail a test case: they go to `system-out`.
fn notes<'a>(findings: impl Iterator<Item = &'a Finding>) -> String {
    let mut s = String::new();
    for f in findings {
        s.push_str(&format!("\n{} ({}): {}\n", f.id, f.severity.as_str(), f.title));
        s.push_str(&details(f));
    }
    s
}

/// The failure body: root cause, remediation, evidence, references.
pub(crate) fn details(f: &Finding) -> String {
    let mut s =
        format!("{} [{}, {}]\n\n{}\n", f.id, f.category, f.severity.as_str(), f.root_cause.trim());
    if !f.remediation.is_empty() {
        s.push_str("\nRemediation:\n");
        for (i, step) in f.remediation.iter().enumerate() {
            s.push_str(&format!("  {}. {step}\n", i + 1));
        }
    }
    if !f.evidence.is_empty() {
        s.push_str("\nEvidence:\n");
        for e in &f.evidence {
            let at = match &e.input {
                None if e.line > 0 => e.line.to_string(),
                _ => super::place(e, None).describe(),
            };
            s.push_str(&format!("  {at}: {}\n", e.text));
        }
    }
    for r in &f.references {
        s.push_str(&format!("See: {r}\n"));
    }
    s.push_str(&format!("fingerprint: {}\n", f.fingerprint));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::github::sample;

    fn render_to_string(report: &Report) -> String {
        let mut out = Vec::new();
        render(report, &RenderOptions::default(), &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn xml() {
        insta::assert_snapshot!(render_to_string(&sample::report()));
    }

    #[test]
    fn reads_back_as_junit() {
        let xml = render_to_string(&sample::report());
        let back = JUnitReport::deserialize_from_str(&xml).expect("valid JUnit XML");
        assert_eq!(back.test_suites.len(), 3, "two nodes and the findings of node `-`");
        let cp = &back.test_suites[0];
        assert_eq!(cp.name.as_str(), "talos-cp-01");
        assert_eq!(cp.failures, 1, "the failed phase");
        assert_eq!(cp.skipped, 2, "pending and skipped phases");
        assert_eq!(back.test_suites[1].failures, 0);
        assert_eq!(back.test_suites[2].failures, 0, "a warning does not fail");
    }

    #[test]
    fn unexplained_stall_fails_a_boot_case() {
        let mut report = sample::report();
        report.findings.clear();
        report.nodes[0].sequences.clear();
        report.nodes[0].outcome = Outcome::Stalled;
        let xml = render_to_string(&report);
        let back = JUnitReport::deserialize_from_str(&xml).expect("valid JUnit XML");
        assert_eq!(back.test_suites[0].failures, 1);
        assert!(xml.contains(r#"<testcase name="boot" classname="talos-cp-01">"#), "{xml}");
    }
}

//! Exit codes (diagnosis-contract.md). Scripts and CI depend on these numbers.

use crate::report::{Outcome, Report, Severity};

/// No failure: succeeded, healthy and in progress, or only benign noise.
pub const OK: u8 = 0;
/// A failure or stall was seen and a known cause (an `error` finding) explains it.
pub const DIAGNOSED: u8 = 1;
/// The tool could not do its job: usage, unreadable input, Docker unreachable, bad rules.
pub const TOOL_ERROR: u8 = 2;
/// A failure or stall was seen but no known cause matched.
pub const UNEXPLAINED: u8 = 3;
/// Interrupted by Ctrl-C (`watch`: 128 + SIGINT, as shells report it); the report so far
/// was written.
pub const INTERRUPTED: u8 = 130;

/// The contract's exit code for a report.
pub fn code_for(report: &Report) -> u8 {
    let explained = report.findings.iter().any(|f| f.severity == Severity::Error);
    if explained {
        DIAGNOSED
    } else if matches!(report.outcome, Outcome::Failed | Outcome::Stalled) {
        UNEXPLAINED
    } else {
        OK
    }
}

/// Which findings make `analyze` exit non-zero (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    /// The contract's default: 1 for an explained failure, 3 for an unexplained one.
    #[default]
    Error,
    /// As `error`, and also 1 when any `warning` finding was seen on an otherwise good run.
    Warning,
    /// Always 0 (a report is still written); 2 for tool errors stays.
    Never,
}

/// The exit code for a report under `--fail-on`. `FailOn::Error` is [`code_for`].
pub fn code_for_fail_on(report: &Report, fail_on: FailOn) -> u8 {
    match fail_on {
        FailOn::Error => code_for(report),
        FailOn::Never => OK,
        FailOn::Warning => match code_for(report) {
            OK if report.findings.iter().any(|f| f.severity == Severity::Warning) => DIAGNOSED,
            code => code,
        },
    }
}

/// The exit code of `inspect`: [`DIAGNOSED`] when a deviation will break the boot, else [`OK`].
pub fn code_for_inspect(report: &Report) -> u8 {
    if report.findings.iter().any(|f| f.severity == Severity::Error) { DIAGNOSED } else { OK }
}

/// The exit code of `watch`: [`TOOL_ERROR`] when Docker failed it, else [`code_for`]; a
/// `--timeout` reached before every node had a verdict is a stall (the boot did not finish in
/// the time the caller allowed), so never [`OK`] (diagnosis-contract.md, 2026-12-01), even
/// for a container that printed nothing the analyzer could hold a node for.
pub fn code_for_watch(report: &Report, tool_error: bool, timed_out: bool) -> u8 {
    match (tool_error, code_for(report)) {
        (true, _) => TOOL_ERROR,
        (false, OK) if timed_out && report.outcome != Outcome::Succeeded => UNEXPLAINED,
        (false, code) => code,
    }
}

/// The exit code of `rules test`: [`OK`] when every example and fixture passed, else
/// [`DIAGNOSED`].
pub fn code_for_rules_test(all_passed: bool) -> u8 {
    if all_passed { OK } else { DIAGNOSED }
}

#[cfg(test)]
mod fail_on_tests {
    use super::*;
    use crate::report::{Finding, SCHEMA_VERSION, Stats, Tool};

    fn report(outcome: Outcome, severities: &[Severity]) -> Report {
        let finding = |s: &Severity| Finding {
            id: "TD-T-001".into(),
            category: "unknown".into(),
            severity: *s,
            node: "-".into(),
            title: String::new(),
            root_cause: String::new(),
            remediation: vec![],
            evidence: vec![],
            references: vec![],
            fingerprint: String::new(),
            fixed_in: None,
            occurrences: 1,
            boots: 1,
            recovered: false,
        };
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool::default(),
            outcome,
            nodes: vec![],
            findings: severities.iter().map(finding).collect(),
            stats: Stats::default(),
            inputs: vec![],
            unexplained: vec![],
            warnings: vec![],
        }
    }

    #[test]
    fn a_watch_timeout_is_never_ok() {
        use Outcome::*;
        for (outcome, timed_out, want) in [
            (Unknown, true, UNEXPLAINED),
            (Running, true, UNEXPLAINED),
            (Succeeded, true, OK),
            (Unknown, false, OK),
            (Stalled, true, UNEXPLAINED),
        ] {
            assert_eq!(
                code_for_watch(&report(outcome, &[]), false, timed_out),
                want,
                "{outcome:?} {timed_out}"
            );
        }
        assert_eq!(code_for_watch(&report(Failed, &[Severity::Error]), false, true), DIAGNOSED);
        assert_eq!(code_for_watch(&report(Running, &[]), true, true), TOOL_ERROR);
    }

    #[test]
    fn table() {
        use FailOn::*;
        use Outcome::*;
        use Severity::Warning as W;
        let cases: &[(Outcome, &[Severity], FailOn, u8)] = &[
            (Failed, &[Severity::Error], Error, DIAGNOSED),
            (Failed, &[], Error, UNEXPLAINED),
            (Succeeded, &[W], Error, OK),
            (Succeeded, &[W], Warning, DIAGNOSED),
            (Unknown, &[Severity::Info], Warning, OK),
            (Stalled, &[W], Warning, UNEXPLAINED),
            (Failed, &[Severity::Error], Never, OK),
            (Stalled, &[], Never, OK),
        ];
        for (outcome, sev, fail_on, want) in cases {
            assert_eq!(
                code_for_fail_on(&report(*outcome, sev), *fail_on),
                *want,
                "{outcome:?} {sev:?} {fail_on:?}"
            );
        }
    }
}

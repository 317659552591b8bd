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

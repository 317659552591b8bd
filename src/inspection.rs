//! What `inspect` found about one container: the report (one node, each deviation from the
//! known-good spec a finding), every check it made, passed or not, and the one command that
//! recreates the container with the known-good spec. The renderers show the checks as test
//! cases (JUnit), the command once (human, Markdown), and the findings as logical locations
//! (SARIF, GitHub), never as a line of a file.

use serde::Serialize;

use crate::report::{Finding, Report, Severity};

/// An `inspect` result.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The report: one node (the container), the findings.
    pub report: Report,
    /// Every check made, in the order made.
    pub checks: Vec<Check>,
    /// Which spec the container was checked against (`v1.6.5–v1.13`: talosctl releases).
    pub spec: String,
    /// The commands that recreate the container with the known-good spec, when it deviates
    /// from it (settings of an existing container cannot be changed).
    pub recreate: Option<Recreate>,
}

/// One check of the container against the spec.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked: `privileged`, `tmpfs /run`, `volume /var`, `PLATFORM`, …
    pub name: String,
    /// Indexes into [`Report::findings`] of what the check found (empty: it passed).
    #[serde(skip)]
    pub findings: Vec<usize>,
}

impl Check {
    /// The findings of this check in `report`.
    pub fn findings<'r>(&self, report: &'r Report) -> impl Iterator<Item = &'r Finding> {
        self.findings.iter().filter_map(|&i| report.findings.get(i))
    }

    /// The worst severity it found, `None` when it passed.
    pub fn severity(&self, report: &Report) -> Option<Severity> {
        self.findings(report).map(|f| f.severity).max()
    }
}

/// `docker rm` and the corrected `docker run`, each argument group a line of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recreate {
    /// Removes the old container (`docker rm -f NAME`).
    pub remove: String,
    /// The corrected `docker run`, as groups of arguments (one per printed line).
    pub run: Vec<String>,
    /// What the command cannot know and the user must add back (ports, networks, …).
    pub note: String,
}

impl Recreate {
    /// The `docker run` command on one line.
    pub fn run_line(&self) -> String {
        self.run.join(" ")
    }

    /// The `docker run` command over several lines, shell continuations (` \`) between them.
    pub fn run_lines(&self) -> Vec<String> {
        let last = self.run.len().saturating_sub(1);
        self.run
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let indent = if i == 0 { "" } else { "  " };
                let cont = if i == last { "" } else { " \\" };
                format!("{indent}{l}{cont}")
            })
            .collect()
    }
}

impl Inspection {
    /// Errors and warnings found.
    pub fn counts(&self) -> (usize, usize) {
        let n = |s| self.report.findings.iter().filter(|f| f.severity == s).count();
        (n(Severity::Error), n(Severity::Warning))
    }

    /// The container's name.
    pub fn container(&self) -> &str {
        self.report.nodes.first().map_or("-", |n| n.node.as_str())
    }

    /// The one-line verdict: the container boots as configured, or what stops it.
    pub fn verdict(&self) -> String {
        let name = self.container();
        match self.counts() {
            (0, 0) => format!("container `{name}` matches the known-good spec"),
            (0, w) => format!(
                "container `{name}` can boot; {w} setting{} differ{} from the known-good spec",
                if w == 1 { "" } else { "s" },
                if w == 1 { "s" } else { "" }
            ),
            (e, _) => format!(
                "container `{name}` will not boot as configured: {e} error{}",
                if e == 1 { "" } else { "s" }
            ),
        }
    }
}

//! One rule: its TOML form ([`RuleSpec`]) and its compiled form ([`Rule`]).

use regex::Regex;
use serde::Deserialize;

pub use crate::parse::event::EventKind;
use crate::report::{Outcome, Severity};

/// `then = { match = "…", within = N }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThenSpec {
    /// Second pattern.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Within this many lines of the node after the first.
    pub within: u64,
}

/// A rule as written in a rules file (see rules/SCHEMA.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id.
    pub id: String,
    /// Taxonomy category.
    pub category: String,
    /// Severity when it fires.
    pub severity: Severity,
    /// Rank among findings of equal severity: lower is closer to the root cause.
    #[serde(default = "default_priority")]
    pub priority: i32,
    /// Title.
    pub title: String,
    /// Pattern on the message text.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Event kind scope.
    #[serde(default)]
    pub event: Option<String>,
    /// Task scope.
    #[serde(default)]
    pub task: Option<String>,
    /// Phase scope.
    #[serde(default)]
    pub phase: Option<String>,
    /// Sequence scope.
    #[serde(default)]
    pub sequence: Option<String>,
    /// Service scope.
    #[serde(default)]
    pub service: Option<String>,
    /// Controller scope.
    #[serde(default)]
    pub controller: Option<String>,
    /// Level scope.
    #[serde(default)]
    pub level: Option<String>,
    /// Needed matches.
    #[serde(default)]
    pub min_count: Option<u32>,
    /// Second line.
    #[serde(default)]
    pub then: Option<ThenSpec>,
    /// Recovery pattern.
    #[serde(default)]
    pub absent_after: Option<String>,
    /// Severity after recovery.
    #[serde(default)]
    pub recovered_severity: Option<Severity>,
    /// Outcomes it applies to.
    #[serde(default)]
    pub when_outcome: Option<Vec<Outcome>>,
    /// Explanation.
    pub root_cause: String,
    /// Steps.
    pub remediation: Vec<String>,
    /// Links.
    #[serde(default)]
    pub references: Vec<String>,
    /// Release with the fix.
    #[serde(default)]
    pub fixed_in: Option<String>,
    /// Must fire on each.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Must not fire on any.
    #[serde(default)]
    pub counter_examples: Vec<String>,
}

fn default_priority() -> i32 {
    50
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The rule as written.
    pub spec: RuleSpec,
    /// Where it came from (`rules/core.toml`, or a `--rules` path).
    pub origin: String,
    /// Compiled `match`.
    pub re: LazyRegex,
    /// Event scope: the line's kind must be one of these.
    pub event: Vec<EventKind>,
    /// Scopes: task, phase, sequence, service, controller, level.
    pub scopes: Scopes,
    /// Compiled `then`.
    pub then: Option<(LazyRegex, u64)>,
    /// Compiled `absent_after`.
    pub absent_after: Option<LazyRegex>,
}

/// Compiled scope regexes.
#[derive(Debug, Clone, Default)]
pub struct Scopes {
    /// Task.
    pub task: Option<Regex>,
    /// Phase.
    pub phase: Option<Regex>,
    /// Sequence.
    pub sequence: Option<Regex>,
    /// Service.
    pub service: Option<Regex>,
    /// Controller.
    pub controller: Option<Regex>,
    /// Level.
    pub level: Option<Regex>,
}

/// A regex compiled on first use. A rule's own `match` regex is needed only for captures
/// once the rule set has matched a line, which most rules never do; compiling ~100 of them
/// up front would add megabytes of resident memory for nothing. The pattern is validated
/// when the rule is loaded, so the later compile cannot fail.
#[derive(Debug, Clone)]
pub struct LazyRegex {
    pattern: String,
    /// A `--rules` file's pattern: compiled under that file's caps ([`super::budget`]).
    limited: bool,
    cell: std::sync::OnceLock<Regex>,
}

impl LazyRegex {
    /// A `--rules` file's pattern: compiled now under the caps of a rules file, measured and
    /// charged to `budget` (so that the later compile cannot fail and its size is bounded);
    /// compiled for keeps on first use.
    pub(crate) fn limited(
        pattern: &str,
        budget: &mut super::budget::Budget,
    ) -> Result<LazyRegex, super::budget::Refusal> {
        budget.charge(pattern)?;
        Ok(LazyRegex {
            pattern: pattern.to_owned(),
            limited: true,
            cell: std::sync::OnceLock::new(),
        })
    }

    /// A pattern known to compile (a built-in rule's, compiled by the tests): not
    /// compiled until first use.
    pub(crate) fn trusted(pattern: &str) -> LazyRegex {
        LazyRegex { pattern: pattern.to_owned(), limited: false, cell: std::sync::OnceLock::new() }
    }

    /// Whether it is a `--rules` file's pattern, compiled under that file's caps.
    pub(crate) fn is_limited(&self) -> bool {
        self.limited
    }

    /// The compiled regex.
    pub fn get(&self) -> &Regex {
        self.cell.get_or_init(|| {
            let re = if self.limited {
                super::budget::limited(&self.pattern)
            } else {
                Regex::new(&self.pattern)
            };
            re.expect("validated when the rule was loaded")
        })
    }
}

//! Diagnosis: the report assembled from what the analyzer kept per node. It owns the verdict
//! a node's boots add up to (the boot to diagnose, reboot loops, a paste whose only failure is
//! in words), the ranking of findings (see rules/SCHEMA.md "Ranking"), the unexplained
//! failure's templates, and the sequence and health sections of each node.

mod printed_by;

use std::collections::{BTreeMap, HashMap};

use crate::fingerprint;
use crate::health::SignalKind;
use crate::kb::Kb;
use crate::kb::matcher::{self, Fired};
use crate::machine::inference::{ModeVotes, decide_mode, infer_version};
use crate::machine::{Boot, Machine, Sequence};
use crate::redact::scrub;
use crate::report::{
    Evidence, Finding, HealthSignal, Mode, NodeReport, Outcome, PhaseReport, Report,
    SCHEMA_VERSION, SequenceReport, Severity, Stall, State, Stats, TaskReport, Template, Tool,
    Unexplained,
};

/// Lines after a tool's error summary in which it prints the error it wraps (Terraform: the
/// summary, a blank, `with …`, `on <file> line N`, the source line, a blank, then the detail).
const WRAPPER_DETAIL_LINES: u64 = 10;

/// The first-seen error template of a node's current boot, with how often it recurred.
#[derive(Debug)]
pub(crate) struct TemplateEntry {
    /// Lines with this template.
    pub(crate) count: u64,
    /// The first such line, as evidence.
    pub(crate) first: Evidence,
    /// The last such line.
    pub(crate) last_line: u64,
}

/// What diagnosis reads of one node's analysis.
pub(crate) struct NodeView<'a> {
    pub(crate) machine: &'a Machine,
    pub(crate) fired: &'a [Fired],
    pub(crate) mode: &'a ModeVotes,
    pub(crate) templates: &'a HashMap<String, TemplateEntry>,
    /// First line of this boot that states a failure in Talos' words.
    pub(crate) failure_line: Option<u64>,
    /// Lines whose whole text may be an error value a command exited on (see there).
    pub(crate) error_values: &'a [crate::analyzer::ErrorValue],
    /// Records that ended in `context canceled` (their first lines).
    pub(crate) cancelled: &'a [u64],
    /// Lines that are the kernel's own start (EFI stub, `Linux version`).
    pub(crate) early_kernel: u64,
    pub(crate) lines: u64,
}

impl NodeView<'_> {
    /// The candidate error values to judge: the wordless ones only in a paste of a few lines
    /// (`fragment`, see [`crate::analyzer::ErrorValue`]).
    fn error_values(&self, fragment: bool) -> impl Iterator<Item = &crate::analyzer::ErrorValue> {
        self.error_values.iter().filter(move |v| fragment || !v.quiet)
    }
}

/// Everything of an analysis that a report is assembled from.
pub(crate) struct Analysis<'a> {
    pub(crate) kb: &'a Kb,
    /// Mask secrets in log-derived text.
    pub(crate) redact: bool,
    pub(crate) nodes: Vec<NodeView<'a>>,
    pub(crate) stats: &'a Stats,
    pub(crate) inputs: &'a [String],
    pub(crate) warnings: &'a [String],
    /// Lines of node names beyond the per-analysis node cap, and the cap.
    pub(crate) overflow: Option<(u64, usize)>,
    /// Finished sequences not kept per node ([`crate::machine::MAX_SEQUENCES`]).
    pub(crate) dropped_sequences: Vec<(&'a str, u64)>,
}

/// How findings are ordered after severity (most severe first), each field ascending:
/// whether the finding's evidence is the failure point (0) or not (1), the rule's priority,
/// the node's order of appearance, and the finding's first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct RankKey {
    tier: u8,
    priority: i32,
    node: usize,
    first_line: u64,
}

/// A finding with its ranking key.
struct Ranked {
    finding: Finding,
    key: RankKey,
}

impl Analysis<'_> {
    /// The report as of now.
    pub(crate) fn report(&self) -> Report {
        let mut nodes = Vec::new();
        let mut findings = Vec::new();
        let mut unexplained = Vec::new();
        for i in 0..self.nodes.len() {
            let (node, mut f, u) = self.node_report(i);
            nodes.push(node);
            findings.append(&mut f);
            unexplained.extend(u);
        }
        // Most likely root cause first (see rules/SCHEMA.md "Ranking").
        findings
            .sort_by(|a, b| b.finding.severity.cmp(&a.finding.severity).then(a.key.cmp(&b.key)));
        let mut findings: Vec<Finding> = findings.into_iter().map(|f| f.finding).collect();
        // Evidence names its input only when there is more than one to tell apart.
        if self.inputs.len() <= 1 {
            for e in findings.iter_mut().flat_map(|f| f.evidence.iter_mut()) {
                e.input = None;
            }
            for e in unexplained.iter_mut().flat_map(|u| u.templates.iter_mut()) {
                e.example.input = None;
            }
        }
        let outcome = nodes.iter().map(|n| n.outcome).max().unwrap_or(Outcome::Unknown);
        if self.redact {
            // Every other text that comes from the log, whatever renders it.
            for n in &mut nodes {
                for e in n.mode_evidence.iter_mut().chain(n.version_evidence.iter_mut()) {
                    *e = self.scrub(e);
                }
                if let Some(s) = &mut n.stall {
                    s.reason = self.scrub(&s.reason);
                }
            }
        }
        Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool::default(),
            outcome: if nodes.is_empty() { Outcome::Unknown } else { outcome },
            nodes,
            findings,
            stats: self.stats.clone(),
            inputs: self.inputs.to_vec(),
            unexplained,
            warnings: self
                .warnings
                .iter()
                .map(|w| self.scrub(w))
                .chain(self.overflow.map(|(lines, cap)| {
                    format!(
                        "{lines} lines named nodes beyond the first {cap}: they were analyzed together as node `{}`",
                        crate::report::OTHER_NODES
                    )
                }))
                .chain(self.dropped_sequences.iter().map(|(node, n)| {
                    format!(
                        "node `{node}`: {n} finished sequences that a later one of the same name repeats were not kept (at most {} per boot: the first {} and the latest)",
                        crate::machine::MAX_SEQUENCES,
                        crate::machine::KEEP_FIRST_SEQUENCES
                    )
                }))
                .collect(),
        }
    }

    /// The boot to diagnose: the last one, unless it has not got anywhere while an
    /// earlier one failed or stalled (a restart loop caught mid-boot).
    fn diagnosed_boot(m: &Machine) -> (&Boot, Outcome, Option<Stall>) {
        let (o, s) = Machine::outcome_of(&m.boot);
        if matches!(o, Outcome::Running | Outcome::Unknown) {
            if let Some(b) = m.earlier.iter().rev().find(|b| Machine::outcome_of(b).0.is_bad()) {
                let (o2, s2) = Machine::outcome_of(b);
                return (b, o2, s2);
            }
        }
        (&m.boot, o, s)
    }

    /// Masks secrets in log-derived text, unless redaction is off.
    fn scrub(&self, text: &str) -> String {
        scrub(text, self.redact)
    }

    /// The current outcome of node `i`.
    pub(crate) fn outcome(&self, i: usize) -> Outcome {
        self.node_report(i).0.outcome
    }

    fn node_report(&self, i: usize) -> (NodeReport, Vec<Ranked>, Option<Unexplained>) {
        let st = &self.nodes[i];
        let fragment = self.stats.lines <= crate::analyzer::FRAGMENT_LINES;
        let m = st.machine;
        let (boot, mut outcome, mut stall) = Self::diagnosed_boot(m);
        if let Some(reason) = m.reboot_loop() {
            if matches!(outcome, Outcome::Running | Outcome::Unknown) {
                outcome = Outcome::Stalled;
                stall = Some(Stall::outside_sequence(reason, m.boot.first_line));
            }
        }
        let (mode, mode_evidence) = decide_mode(st.mode, boot);
        let (talos_version, version_evidence, names) = infer_version(m, boot, mode);
        let mut sequences: Vec<SequenceReport> = boot
            .sequences
            .iter()
            .map(|s| sequence_report(s, names.get(&s.name), mode == Mode::Container))
            .collect();
        for t in
            sequences.iter_mut().flat_map(|s| s.phases.iter_mut()).flat_map(|p| p.tasks.iter_mut())
        {
            t.error = t.error.as_deref().map(|e| self.scrub(e));
        }
        let failure = Machine::failure(boot).map(|mut f| {
            f.error = f.error.map(|e| self.scrub(&e));
            // Fill the phase index `n/N` for failures known only from the handler line.
            if f.phase_index.as_deref().is_some_and(|p| !p.contains('/')) {
                if let Some(s) = boot.sequences.iter().find(|s| s.name == f.sequence) {
                    let n: u32 = f.phase_index.as_deref().and_then(|p| p.parse().ok()).unwrap_or(0);
                    if let Some(p) = s.phases.iter().find(|p| p.index == n) {
                        f.phase = Some(p.name.clone());
                    } else if let Some(name) =
                        names.get(&s.name).and_then(|v| v.get(n as usize - 1))
                    {
                        f.phase = Some((*name).to_owned());
                    }
                    f.phase_index = Some(format!("{n}/{}", s.total.unwrap_or(0)));
                }
            }
            f
        });
        let base_outcome = outcome;
        let mut findings = Vec::new();
        let mut vars = BTreeMap::new();
        vars.insert("node".to_owned(), m.node.clone());
        vars.insert(
            "talos_version".to_owned(),
            talos_version.clone().unwrap_or_else(|| "unknown".into()),
        );
        for fired in st.fired {
            let rule = &self.kb.rules[fired.rule];
            if let Some(w) = &rule.spec.when_outcome {
                if !w.contains(&base_outcome) {
                    continue;
                }
            }
            let mut severity = matcher::severity(rule, fired);
            // Evidence that is all cancelled operations shows what was stopped, not why.
            if severity == Severity::Error
                && !fired.evidence.is_empty()
                && fired.evidence.iter().all(|e| st.cancelled.contains(&e.line))
            {
                severity = Severity::Warning;
            }

            let mut v = vars.clone();
            // Captures are log text: mask secrets in them like in evidence.
            v.extend(fired.captures.iter().map(|(k, c)| (k.clone(), self.scrub(c))));
            let first = fired.evidence.first();
            let on_failure =
                failure.as_ref().is_some_and(|f| fired.evidence.iter().any(|e| e.line == f.line));
            let tier = if on_failure { 0 } else { 1 };
            let finding = Finding {
                id: rule.spec.id.clone(),
                category: rule.spec.category.clone(),
                severity,
                node: m.node.clone(),
                title: matcher::interpolate(&rule.spec.title, &v),
                root_cause: matcher::interpolate(rule.spec.root_cause.trim(), &v),
                remediation: rule
                    .spec
                    .remediation
                    .iter()
                    .map(|r| matcher::interpolate(r, &v))
                    .collect(),
                evidence: fired.evidence.clone(),
                references: rule.spec.references.clone(),
                fingerprint: fingerprint::fingerprint(
                    &rule.spec.id,
                    first.map_or("", |e| e.text.as_str()),
                ),
                fixed_in: rule.spec.fixed_in.clone(),
                occurrences: fired.occurrences,
                boots: fired.boots,
                recovered: fired.recovered,
            };
            let key = RankKey {
                tier,
                priority: rule.spec.priority,
                node: i,
                first_line: first.map_or(0, |e| e.line),
            };
            findings.push(Ranked { finding, key });
        }
        // One line states one cause: two rules of the same category that fire on the same
        // evidence line are one finding, the one ranked closer to the root cause (a specific
        // rule and a broader one of the same area, e.g. metadata unreachable and the platform
        // config controller's error about it), and of a stall and the note on the same line
        // seen once (etcd's bootstrap nag), the stall.
        let same = |a: &Ranked, b: &Ranked| {
            a.finding.category == b.finding.category
                && a.key.first_line == b.key.first_line
                && a.key.first_line != 0
        };
        let rank =
            |r: &Ranked, i: usize| (std::cmp::Reverse(r.finding.severity), r.key.priority, i);
        let dup: Vec<bool> = (0..findings.len())
            .map(|j| {
                let b = &findings[j];
                findings
                    .iter()
                    .enumerate()
                    .any(|(k, a)| k != j && same(a, b) && rank(a, k) < rank(b, j))
            })
            .collect();
        let mut keep = dup.into_iter().map(|d| !d);
        findings.retain(|_| keep.next().unwrap_or(true));
        let mut explained = findings.iter().any(|f| f.finding.severity == Severity::Error);
        // A paste with no boot in view, nothing shown healthy and no rule that knows its lines
        // (not even as benign noise), but error lines: people paste what went wrong.
        let up = boot.health.healthy_at.is_some()
            || boot.services.values().any(|s| s.state == "Running");
        // A client-side warning (talosctl could not reach the node) does not say the failure is
        // harmless; benign noise (`info`) and a recovery shown later do.
        let judged =
            findings.iter().any(|f| f.finding.severity != Severity::Warning || f.finding.recovered);
        if outcome == Outcome::Unknown && !judged && !up {
            let failure_line = st.failure_line.or_else(|| {
                st.error_values(fragment)
                    .find(|v| {
                        // A wordless line states a failure only when the part of Talos that
                        // printed it has one job, so the line means that job failed, or when a
                        // boot task returns it, which fails the task: a
                        // client's own refusal (`no controlplane nodes discovered`) or a check's
                        // condition is not the node's failure.
                        is_error_value(&v.text)
                            && (!v.quiet
                                || printed_by::printed_by(&v.text).is_some()
                                || printed_by::returned_by_task(&v.text))
                    })
                    .map(|v| v.line)
            });
            if let Some(l) = failure_line {
                outcome = Outcome::Failed;
                let reason =
                    format!("line {l} reports a failure and nothing shows the node healthy");
                stall = Some(Stall::outside_sequence(reason, l));
            }
        }
        // A failure no rule explains: the part of Talos that printed it may still tell what
        // failed (the installer, the DHCP client, ...), see `data/printed-by.toml`.
        if outcome.is_bad() && !explained {
            let lines = [
                failure.as_ref().map(|f| f.line),
                st.failure_line,
                stall.as_ref().and_then(|s| s.line),
            ];
            let at = |l: u64| st.templates.values().find(|t| t.first.line == l);
            let found = lines.into_iter().flatten().find_map(|l| {
                let t = at(l)?;
                Some((printed_by::printed_by(&t.first.text)?, t.first.clone()))
            });
            // Else what the failing error is about (`volume "EPHEMERAL"`, `pulling image`):
            // on the failure's own lines and the open signals', or in the context lines just
            // before them, which set the failure's subject (`pulling image …` then `dial tcp …: i/o
            // timeout`). A crash is not its component's failure: a panic is a bug wherever
            // it happens, so it keeps its own verdict.
            let crashed = boot.health.open().any(|s| {
                matches!(
                    s.kind,
                    SignalKind::Panic | SignalKind::KernelPanic | SignalKind::ControllerPanic
                )
            });
            let found = found.or_else(|| {
                if crashed {
                    return None;
                }
                let signals = boot.health.open().map(|s| s.first_line);
                // The failing line first, then the lines just before it, nearest first.
                lines.into_iter().flatten().chain(signals).filter_map(at).find_map(|t| {
                    let own = std::iter::once(t.first.text.as_str());
                    let before = t.first.before.iter().rev().map(|c| c.text.as_str());
                    let by = own.chain(before).find_map(printed_by::subject_of)?;
                    Some((by, t.first.clone()))
                })
            });
            // A bare error value (a validator's multi-error item) has no template: look up its
            // text itself.
            let found = found.or_else(|| {
                lines.into_iter().flatten().find_map(|l| {
                    let text = &st.error_values(fragment).find(|v| v.line == l)?.text;
                    let by = printed_by::printed_by(text)?;
                    let evidence = Evidence {
                        line: l,
                        text: self.scrub(text),
                        input: (self.inputs.len() == 1).then(|| self.inputs[0].clone()),
                        before: Vec::new(),
                        after: Vec::new(),
                    };
                    Some((by, evidence))
                })
            });
            // Else, when the failing line is not Talos' words but a tool's around it
            // (Terraform's `Error: config_patches are invalid`, a CI step's summary), the Talos
            // error the tool prints below it as the detail, nearest first: the words of
            // that error say which part of Talos refused.
            let found = found.or_else(|| {
                lines.into_iter().flatten().find_map(|l| {
                    let t = at(l)?;
                    if printed_by::is_talos_format(&t.first.text) {
                        return None;
                    }
                    let mut detail: Vec<&TemplateEntry> = st
                        .templates
                        .values()
                        .filter(|d| d.first.line > l && d.first.line <= l + WRAPPER_DETAIL_LINES)
                        .collect();
                    detail.sort_by_key(|d| d.first.line);
                    detail.into_iter().find_map(|d| {
                        Some((printed_by::printed_by(&d.first.text)?, d.first.clone()))
                    })
                })
            });
            // Else the step that failed, when it is one component's whole job (the install
            // sequence is the installer's): on the failure's own lines only.
            let found = found.or_else(|| {
                lines
                    .into_iter()
                    .flatten()
                    .filter_map(at)
                    .find_map(|t| Some((printed_by::step_of(&t.first.text)?, t.first.clone())))
            });
            if let Some((by, evidence)) = found {
                let first_line = evidence.line;
                findings.push(Ranked {
                    finding: by.finding(&m.node, evidence),
                    key: RankKey { tier: 0, priority: 90, node: i, first_line },
                });
                explained = true;
            }
        }
        // A console of nothing but the kernel's first lines: it never got further.
        if outcome == Outcome::Unknown
            && findings.is_empty()
            && st.lines > 0
            && st.early_kernel == st.lines
        {
            outcome = Outcome::Stalled;
            let reason = format!(
                "the console ends in the kernel's early boot (line {}): nothing after the loader and the kernel's first lines was printed; the kernel hung early or its console is on another device (`console=` kernel arguments)",
                st.lines
            );
            stall = Some(Stall::outside_sequence(reason, st.lines));
        }
        if explained && !outcome.is_bad() {
            // A known failure after (or without) a visible boot: the node is not healthy.
            outcome = Outcome::Failed;
        }
        let unexplained = (outcome.is_bad() && !explained).then(|| {
            let anchor = failure
                .as_ref()
                .map(|f| f.line)
                .or(stall.as_ref().and_then(|s| s.line))
                .unwrap_or(u64::MAX);
            let mut ts: Vec<(&String, &TemplateEntry)> = st.templates.iter().collect();
            // The template's text last: two templates of one line (a `talosctl service`
            // block's state replayed as the runner's line) must not come in the hash map's
            // order, which differs from run to run.
            ts.sort_by_key(|(k, t)| {
                (t.first.line.abs_diff(anchor).min(t.last_line.abs_diff(anchor)), t.first.line, *k)
            });
            Unexplained {
                node: m.node.clone(),
                templates: ts
                    .into_iter()
                    .take(8)
                    .map(|(k, t)| Template {
                        template: self.scrub(k),
                        count: t.count,
                        source: crate::kb::messages::source_of_line(&t.first.text),
                        example: t.first.clone(),
                    })
                    .collect(),
            }
        });
        let earlier_boots = m
            .earlier
            .iter()
            .filter(|b| !b.sequences.is_empty() || b.failure.is_some())
            .map(|b| Machine::outcome_of(b).0)
            .collect();
        let node = NodeReport {
            node: m.node.clone(),
            talos_version,
            version_evidence,
            mode,
            mode_evidence,
            outcome,
            boots: m.boots(),
            earlier_boots,
            sequences,
            failure,
            stall,
            health: health_report(boot),
            lines: st.lines,
        };
        (node, findings, unexplained)
    }
}

/// The boot's signals for the report: open ones first (the verdict's), then recovered ones.
fn health_report(boot: &Boot) -> Vec<HealthSignal> {
    let open: Vec<_> = boot.health.open().collect();
    let recovered = boot.health.signals.iter().filter(|s| s.recovered_at.is_some());
    open.iter()
        .copied()
        .map(|s| (s, "open"))
        .chain(recovered.map(|s| (s, "recovered")))
        .map(|(s, state)| HealthSignal {
            kind: s.kind.as_str().to_owned(),
            // A controller's signal is keyed by its error's shape too; the name is enough here.
            component: s.component.split_once(": ").map_or(&*s.component, |(n, _)| n).to_owned(),
            line: s.first_line,
            count: s.count,
            state: state.to_owned(),
            reason: s.reason(),
        })
        .collect()
}

fn sequence_report(
    s: &Sequence,
    names: Option<&Vec<&'static str>>,
    container: bool,
) -> SequenceReport {
    let mut phases: Vec<PhaseReport> = s
        .phases
        .iter()
        .map(|p| PhaseReport {
            name: if p.name.is_empty() { "(unnamed)".into() } else { p.name.clone() },
            index: p.index,
            state: p.state,
            duration_ms: p.duration_ms,
            tasks: p
                .tasks
                .iter()
                .map(|t| TaskReport {
                    name: t.name.clone(),
                    index: t.index,
                    count: t.count.max(1),
                    state: t.state,
                    error: t.error.clone(),
                    line: Some(t.line),
                    duration_ms: t.duration_ms,
                })
                .collect(),
            line: p.line,
            inferred: false,
        })
        .collect();
    if let Some(names) = names {
        for p in phases.iter_mut().filter(|p| p.index == 0) {
            if let Some(i) = names.iter().position(|n| *n == p.name) {
                p.index = i as u32 + 1;
            }
        }
    }
    if let Some(total) = s.total {
        let max_seen = phases.iter().map(|p| p.index).max().unwrap_or(0);
        let stopped = matches!(s.state, State::Failed | State::Running);
        for idx in 1..=total {
            if phases.iter().any(|p| p.index == idx) {
                continue;
            }
            let name = names.and_then(|n| n.get(idx as usize - 1)).map(|n| (*n).to_owned());
            // Only metal initialize has deferred phases that really skip (reference §1.1);
            // elsewhere a gap below a later phase is an excerpt: the phase ran.
            let state = if idx < max_seen && s.name == "initialize" && !container {
                State::Skipped
            } else if idx < max_seen {
                State::Done
            } else if stopped || s.state == State::Done {
                State::Pending
            } else {
                continue;
            };
            // Phases never reached are listed only when their names are known.
            if let Some(name) = name {
                phases.push(PhaseReport {
                    name,
                    index: idx,
                    state,
                    duration_ms: None,
                    tasks: Vec::new(),
                    line: None,
                    inferred: state == State::Done,
                });
            }
        }
    }
    phases.sort_by_key(|p| p.index);
    phases.shrink_to_fit();
    SequenceReport {
        name: s.name.clone(),
        state: s.state,
        phase_count: s.total,
        duration_ms: s.duration_ms,
        phases,
        line: s.line,
    }
}

/// Whether a whole line is an error value of Talos (the message catalogue's most specific
/// match for it is a `fmt.Errorf`, `errors.New` or gRPC status format, at the top of the
/// chain): Talos prints a bare error only when a command exits on it (talosctl's
/// `Execute`, `healthcheck error: …`), while its logs wrap errors in a message. A format
/// that is mostly holes (`weak`) says nothing either way.
pub(crate) fn is_error_value(text: &str) -> bool {
    // The head of talosctl's multi-error (`error executing reboot: 1 error occurred:`) is
    // judged by its items, which a node may refuse on purpose (`not supported in container
    // mode`): the head alone says nothing.
    let t = text.trim_end();
    if t.ends_with("error occurred:") || t.ends_with("errors occurred:") {
        return false;
    }
    crate::kb::messages::lookup(t)
        .first()
        .is_some_and(|m| m.depth == 0 && !m.weak && matches!(m.level, "errorf" | "errnew" | "grpc"))
}

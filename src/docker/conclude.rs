//! The end of a `watch`: the analyzer's report, completed with what only the watch saw
//! (a container that exited, looped, never started or printed nothing; a stall in wall
//! time; a removed container or a lost daemon), and the contract's exit code.

use std::time::Duration;

use crate::report::{Failure, Mode, NodeReport, Outcome, Stall, State};

use super::line::human_secs;
use super::preflight::confirm;
use super::watch::{BootAnalyzer, End, Node, NodeEnd, WatchOptions, WatchResult, fmt_dur};

/// A node the analyzer never saw a line of: the container printed nothing (also the node of
/// an `inspect` report, which reads no log).
pub(crate) fn silent_node(name: &str) -> NodeReport {
    NodeReport {
        node: name.into(),
        talos_version: None,
        version_evidence: Vec::new(),
        mode: Mode::Container,
        mode_evidence: vec!["docker container".into()],
        outcome: Outcome::Unknown,
        boots: 0,
        earlier_boots: Vec::new(),
        sequences: Vec::new(),
        failure: None,
        stall: None,
        health: Vec::new(),
        lines: 0,
    }
}

/// The reason a node still open at `--timeout` stalled, saying what was seen.
fn timeout_reason(n: &Node, elapsed: Duration, seen_lines: bool) -> String {
    let within = format!("within --timeout {}", fmt_dur(elapsed));
    if n.waiting.is_some() {
        format!("the container was created but never started {within} (waiting for `docker start`)")
    } else if !seen_lines && n.restarts > 0 {
        format!(
            "Docker restarted the container {} time(s) {within} and it printed no log line",
            n.restarts
        )
    } else if !seen_lines {
        format!("the container printed no log line {within}")
    } else {
        format!("boot did not finish {within}")
    }
}

pub(crate) fn finish(
    nodes: Vec<Node>,
    analyzer: &mut dyn BootAnalyzer,
    end: End,
    elapsed: Duration,
    opts: &WatchOptions,
) -> WatchResult {
    let names: Vec<String> = analyzer.report().nodes.into_iter().map(|n| n.node).collect();
    let seen = |name: &str| names.iter().any(|n| n == name);
    // Stalls only the watch can see go to the analyzer first, so that rules scoped to
    // stalled boots apply; the report below then shows them like any other stall. A stall
    // the analyzer measured in the log's time after the clock jumped is replaced by it.
    let mut own_stall = Vec::new();
    for n in &nodes {
        let name = n.facts.name.as_str();
        let reason = match (&n.end, &end) {
            (Some(NodeEnd::Stalled(reason)), _) => Some(reason.clone()),
            (None, End::Timeout) => Some(timeout_reason(n, elapsed, seen(name))),
            _ => None,
        };
        let Some(reason) = reason else { continue };
        let open = matches!(analyzer.outcome(name), Outcome::Running | Outcome::Unknown);
        if seen(name) && (open || n.log_time_stall(&*analyzer)) {
            analyzer.declare_stall(name, reason);
        } else if !seen(name) {
            own_stall.push((name.to_owned(), reason));
        }
    }
    let mut report = analyzer.report();
    // `begin_input` runs at every switch between containers: list each input once.
    let mut inputs = std::collections::HashSet::new();
    report.inputs.retain(|i| inputs.insert(i.clone()));
    for n in &nodes {
        if !report.nodes.iter().any(|r| r.node == n.facts.name) {
            report.nodes.push(silent_node(&n.facts.name));
        }
    }
    let mut message = None;
    let mut tool_error = false;
    for n in &nodes {
        let name = n.facts.name.as_str();
        let Some(nr) = report.nodes.iter_mut().find(|r| r.node == name) else { continue };
        if let Some((_, reason)) = own_stall.iter().find(|(s, _)| s == name) {
            nr.outcome = Outcome::Stalled;
            nr.stall = Some(Stall {
                sequence: None,
                phase: None,
                task: None,
                reason: reason.clone(),
                line: None,
            });
        }
        if let Some((jump, line)) = n.clock.jump {
            // Still the analyzer's log-time stall: the watch saw the boot go on in wall time.
            if nr.outcome == Outcome::Stalled
                && nr
                    .stall
                    .as_ref()
                    .is_some_and(|s| s.reason.contains(super::watch::LOG_TIME_STALL))
            {
                nr.outcome = Outcome::Running;
                nr.stall = None;
            }
            report.warnings.push(format!(
                "{name}: the log's clock jumped by {} at line {line}; stalls are measured in \
                 wall time instead",
                human_secs(jump)
            ));
        }
        let open = matches!(nr.outcome, Outcome::Running | Outcome::Unknown);
        let current_phase = || {
            nr.sequences.iter().rev().find(|s| s.state == State::Running).map(|s| {
                let p = s.phases.iter().rev().find(|p| p.state == State::Running);
                (
                    s.name.clone(),
                    p.map(|p| p.name.clone()),
                    p.map(|p| format!("{}/{}", p.index, s.phase_count.unwrap_or(0))),
                )
            })
        };
        let died = match &n.end {
            Some(NodeEnd::Exited { code, oom }) if open => {
                let how = if *oom { format!("{code} (OOM-killed)") } else { code.to_string() };
                Some(if nr.lines == 0 {
                    format!("container exited with code {how} without printing a log line")
                } else {
                    format!("container exited with code {how} before the boot finished")
                })
            }
            Some(NodeEnd::RestartLoop { runs, code }) if open => Some(format!(
                "restart loop: the container exited {runs} times in a row{} {}, and Docker \
                 restarts it (restart policy `{}`)",
                code.map_or_else(String::new, |c| format!(" (last exit code {c})")),
                if nr.lines == 0 {
                    "without printing a log line"
                } else {
                    "before the boot finished"
                },
                n.facts.restart_policy
            )),
            _ => None,
        };
        if let Some(error) = died {
            let cur = current_phase();
            nr.outcome = Outcome::Failed;
            if nr.failure.is_none() {
                nr.failure = Some(Failure {
                    sequence: cur.as_ref().map_or_else(String::new, |c| c.0.clone()),
                    phase: cur.as_ref().and_then(|c| c.1.clone()),
                    phase_index: cur.and_then(|c| c.2),
                    task: None,
                    error: Some(error.clone()),
                    line: nr.lines,
                });
            }
            report.warnings.push(format!("{name}: {error}"));
        }
        match &n.end {
            Some(NodeEnd::Removed) => {
                tool_error = true;
                let m = format!("container `{name}` was removed while it was being watched");
                report.warnings.push(m.clone());
                message = Some(format!("{m}; the report is partial"));
            }
            Some(NodeEnd::Lost(reason)) => {
                tool_error = true;
                let m = format!("lost the Docker Engine while watching `{name}`: {reason}");
                report.warnings.push(m.clone());
                message = Some(format!("{m}; the report is partial"));
            }
            _ => {}
        }
        if nr.outcome == Outcome::Failed && n.facts.restart_policy != "no" {
            report.warnings.push(format!(
                "{name}: restart policy `{}`: Docker restarts the container after a failed boot, \
                 so the failure repeats as a restart loop",
                n.facts.restart_policy
            ));
        }
        if n.restarts > 0 {
            report.warnings.push(format!(
                "{name}: Docker restarted the container {} time(s) while watched",
                n.restarts
            ));
        }
        confirm(&mut report, name, &n.facts);
    }
    report.outcome = report.nodes.iter().map(|n| n.outcome).max().unwrap_or(Outcome::Unknown);
    match end {
        End::Timeout => {
            let mut m =
                format!("stopped after --timeout {}", fmt_dur(opts.timeout.unwrap_or(elapsed)));
            let open: Vec<String> = report
                .nodes
                .iter()
                .filter_map(|r| r.stall.as_ref().map(|s| format!("{}: {}", r.node, s.reason)))
                .collect();
            if !open.is_empty() {
                m = format!("{m} ({})", open.join("; "));
            }
            report.warnings.push(m.clone());
            message.get_or_insert(m);
        }
        End::Interrupted => {
            report.warnings.push("interrupted: the report is partial".into());
            message.get_or_insert_with(|| "interrupted: the report is partial".into());
        }
        End::Done => {}
    }
    let exit_code = match end {
        // The partial report was written; a shell reads 130 as "stopped by SIGINT".
        End::Interrupted if !tool_error => crate::exit::INTERRUPTED,
        _ => crate::exit::code_for_watch(&report, tool_error, end == End::Timeout),
    };
    WatchResult { report, exit_code, message }
}

#[cfg(test)]
mod tests {
    use crate::analyzer::{AnalyzeOptions, Analyzer};
    use crate::docker::watch::{BootAnalyzer, LOG_TIME_STALL};
    use crate::input::lines::{Flow, LineSplitter};
    use crate::kb::Kb;

    /// `watch` recognises the analyzer's stall in log time by its words: pinned here, so a
    /// rewording in `machine::verdict` cannot silently bring back "STALLED … 525600 minutes".
    #[test]
    fn the_analyzers_log_time_stall_is_recognised() {
        let kb = Kb::builtin();
        let mut a = Analyzer::new(&kb, AnalyzeOptions::default());
        a.begin_input("docker:n", Some("n"));
        // A continuous clock and nine minutes without progress: the analyzer's own stall.
        let log = b"[talos] 2024/01/01 00:00:00 boot sequence: 1 phase(s)\n\
                    [talos] 2024/01/01 00:00:00 phase startEverything (1/1): 1 tasks(s)\n\
                    [talos] 2024/01/01 00:09:00 still waiting\n";
        let mut s = LineSplitter::default();
        s.push(log, &mut |l| {
            a.push_line(l);
            Flow::Continue
        });
        s.finish(&mut |l| {
            a.push_line(l);
            Flow::Continue
        });
        let reason = BootAnalyzer::stall_reason(&a, "n").unwrap_or_default();
        assert!(reason.contains(LOG_TIME_STALL), "{reason}");
    }
}

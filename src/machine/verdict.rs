//! What a boot adds up to: where it failed, and its outcome (failed, stalled, succeeded,
//! running) with the reason of a stall.

use super::{Boot, Machine, RESTART_LOOP, STALL_AFTER_SECS, catalogue, guess_sequence};
use crate::parse::time::Stamp;
use crate::report::{Failure, Outcome, Stall, State};

impl Machine {
    /// Where a boot failed: the recorded failure, or, for an excerpt that ends at the
    /// failing task or phase (before `sequence: failed`), that task or phase. A task's
    /// `failed:` line is only printed when its error ends the phase (reference §1.1), so
    /// it is decisive on its own.
    pub(crate) fn failure(boot: &Boot) -> Option<Failure> {
        if let Some(f) = &boot.failure {
            return Some(f.clone());
        }
        let seq = boot.sequences.iter().rev().find(|s| {
            s.phases.iter().any(|p| {
                p.state == State::Failed
                    || p.tasks.iter().any(|t| {
                        t.state == State::Failed && t.error.as_deref() != Some("cancelled")
                    })
            })
        })?;
        let phase = seq.phases.iter().rev().find(|p| {
            p.state == State::Failed
                || p.tasks
                    .iter()
                    .any(|t| t.state == State::Failed && t.error.as_deref() != Some("cancelled"))
        })?;
        let task = phase
            .tasks
            .iter()
            .filter(|t| t.state == State::Failed && t.error.as_deref() != Some("cancelled"))
            .min_by_key(|t| t.line);
        let name =
            if seq.name.is_empty() { guess_sequence(&phase.name) } else { seq.name.as_str() };
        Some(Failure {
            sequence: if name.is_empty() { "boot".to_owned() } else { name.to_owned() },
            phase: Some(phase.name.clone()).filter(|n| !n.is_empty()).or_else(|| {
                task.and_then(|t| catalogue::builtin().phase_of_task(&t.name)).map(str::to_owned)
            }),
            phase_index: (phase.index > 0)
                .then(|| format!("{}/{}", phase.index, seq.total.unwrap_or(0))),
            task: task.map(|t| t.name.clone()),
            error: task.and_then(|t| t.error.clone()),
            line: task.map(|t| t.line).or(phase.line).unwrap_or(0),
        })
    }

    /// Outcome of a boot, with the stall explanation when stalled.
    pub(crate) fn outcome_of(boot: &Boot) -> (Outcome, Option<Stall>) {
        if Self::failure(boot).is_some() || boot.sequences.iter().any(|s| s.state == State::Failed)
        {
            return (Outcome::Failed, None);
        }
        // A signal outside the sequencer decides even after `boot sequence: done`: a node
        // whose kubelet restarts forever is not healthy because its boot finished.
        let open = boot.health.open().next();
        if let Some(sig) = open.filter(|s| s.kind.is_failure()) {
            return (Outcome::Failed, Some(signal_stall(sig)));
        }
        if boot.sequences.iter().any(|s| s.name == "boot" && s.state == State::Done) {
            if let Some(sig) = open {
                return (Outcome::Stalled, Some(signal_stall(sig)));
            }
            return (Outcome::Succeeded, None);
        }
        let running = boot.sequences.iter().rev().find(|s| s.state == State::Running);
        let phase = running.and_then(|s| s.phases.iter().rev().find(|p| p.state == State::Running));
        let task = phase.and_then(|p| p.tasks.iter().find(|t| t.state == State::Running));
        let stall = |reason: String| Stall {
            sequence: running.map(|s| s.name.clone()).filter(|s| !s.is_empty()),
            phase: phase.map(|p| p.name.clone()).filter(|s| !s.is_empty()),
            task: task.map(|t| t.name.clone()),
            reason,
            line: task.map(|t| t.line).or_else(|| phase.and_then(|p| p.line)),
        };
        if let Some(reason) = &boot.declared_stall {
            return (Outcome::Stalled, Some(stall(reason.clone())));
        }
        if let Some(l) = boot.maintenance {
            return (
                Outcome::Stalled,
                Some(stall(format!(
                    "the node entered maintenance mode at line {l} and waits for a machine config"
                ))),
            );
        }
        if let Some((name, s)) = boot.services.iter().find(|(_, s)| s.restarts >= RESTART_LOOP) {
            return (
                Outcome::Stalled,
                Some(stall(format!(
                    "service `{name}` keeps failing and restarting ({} times without recovering)",
                    s.restarts
                ))),
            );
        }
        if let Some(sig) = open {
            return (Outcome::Stalled, Some(signal_stall(sig)));
        }
        if let (Some(Stamp::Wall(last)), Some(Stamp::Wall(progress))) =
            (boot.last_time, boot.last_progress)
        {
            if last - progress >= STALL_AFTER_SECS && running.is_some() {
                let mins = ((last - progress) / 60.0).round();
                return (
                    Outcome::Stalled,
                    Some(stall(format!("no boot progress for {mins} minutes of log time"))),
                );
            }
        }
        if running.is_some() {
            return (Outcome::Running, None);
        }
        (Outcome::Unknown, None)
    }
}

/// A signal as the reason of a stall (or of a failure outside the sequencer).
fn signal_stall(sig: &crate::health::Signal) -> Stall {
    Stall::outside_sequence(sig.reason(), sig.first_line)
}

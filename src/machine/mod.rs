//! The per-node boot state machine: sequences → phases → tasks, services, and boots.
//!
//! It consumes parsed messages in input order and never looks back at text, so memory is
//! bounded by the number of phases and services, not by the log. Talos runs the tasks of a
//! phase concurrently, so their `starting`/`done` lines interleave in any order; tasks are
//! keyed by index within the running phase. Excerpts that start mid-boot, or lines that
//! arrive in an unusual order (the bare "task failed / phase failed / sequence failed"
//! triple), create implicit phases and sequences that later lines name.
//!
//! This module owns `Machine` and its limits; the rest is split by concern:
//! `boot` (the records kept per boot, and [`Progress`]), `step` (how a line moves the
//! machine), `verdict` (where a boot failed, its outcome), `catalogue` (the phase lists of
//! every release, from `data/phases.toml`), `inference` (mode and version of a node) and
//! `version` (the one Talos release number, [`Version`]).

mod boot;

pub(crate) mod catalogue;
pub(crate) mod inference;
mod step;
mod verdict;
mod version;

pub use boot::Progress;
pub(crate) use boot::{Boot, Sequence};
pub use version::Version;

use crate::report::State;

impl Machine {
    /// Finished sequences dropped from this node's boots, kept ones and the current.
    pub(crate) fn dropped_sequences(&self) -> u64 {
        self.earlier.iter().chain([&self.boot]).map(|b| b.dropped_sequences).sum()
    }
}

/// How long a step may show no progress (log time) before a finished log counts as stalled.
pub(crate) const STALL_AFTER_SECS: f64 = 300.0;

/// Earlier boots kept in full (a restart loop can run for days).
pub(crate) const KEEP_EARLIER_BOOTS: usize = 8;

/// Sequences kept per boot. A log that replays a node's sequences within one boot (a
/// capture looped, `boot` run again and again without a new `initialize`) kept every one,
/// and memory grew with the log (3 KiB a sequence). Past this many, the oldest finished
/// sequence after the first [`KEEP_FIRST_SEQUENCES`] that a later finished sequence of the
/// same name repeats is dropped and counted ([`Boot::dropped_sequences`], a report warning):
/// what the verdict reads (a failed or running sequence, that a `boot` finished, the first
/// sequences for the version) stays.
pub(crate) const MAX_SEQUENCES: usize = 64;
/// The first sequences of a boot, always kept.
pub(crate) const KEEP_FIRST_SEQUENCES: usize = 8;

/// A service restart loop: this many `going to restart` lines with no recovery.
const RESTART_LOOP: u32 = 3;

/// Boots without one that finished, from which a node is in a reboot loop.
const REBOOT_LOOP_BOOTS: usize = 3;

/// The state machine of one node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Machine {
    /// Node name.
    pub(crate) node: String,
    /// Boots before the current one (restart loops), oldest first; at most
    /// [`KEEP_EARLIER_BOOTS`], older ones are only counted.
    pub(crate) earlier: Vec<Boot>,
    /// Earlier boots dropped to keep memory bounded.
    pub(crate) dropped_boots: u32,
    /// The current boot.
    pub(crate) boot: Boot,
    /// Version from an initramfs banner.
    pub(crate) banner_version: Option<(String, u64)>,
}

fn guess_sequence(phase: &str) -> &'static str {
    // Prefer boot: its phase names overlap the least with other sequences.
    let lists = &catalogue::builtin().lists;
    if lists.iter().any(|l| l.sequence == "boot" && l.phases.iter().any(|p| p == phase)) {
        return "boot";
    }
    lists.iter().find(|l| l.phases.iter().any(|p| p == phase)).map_or("", |l| l.sequence.as_str())
}

impl Machine {
    /// A machine for `node`.
    pub(crate) fn new(node: &str) -> Self {
        Machine { node: node.to_owned(), ..Default::default() }
    }

    /// Boots seen so far.
    pub(crate) fn boots(&self) -> u32 {
        self.dropped_boots + self.earlier.len() as u32 + 1
    }

    /// A reboot loop: [`REBOOT_LOOP_BOOTS`] boots or more and not one finished its boot
    /// sequence (each ended by a reboot, not by a failure the log shows).
    pub(crate) fn reboot_loop(&self) -> Option<String> {
        let done =
            |b: &Boot| b.sequences.iter().any(|s| s.name == "boot" && s.state == State::Done);
        let n = self.boots() as usize;
        (n >= REBOOT_LOOP_BOOTS && !done(&self.boot) && !self.earlier.iter().any(done))
            .then(|| format!("the node booted {n} times without finishing a boot (a reboot loop)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{envelope, message};
    use crate::report::Outcome;

    fn run(log: &str) -> Machine {
        let mut m = Machine::new("-");
        for (i, l) in log.lines().enumerate() {
            let env = envelope::parse(l);
            let msg = message::parse(&env.text);
            m.step(i as u64 + 1, env.time, &msg, None);
        }
        m
    }

    #[test]
    fn bare_triple_fails_at_the_task() {
        let m = run("[talos] task setupSharedFilesystems (1/1): failed: invalid argument\n\
                     [talos] phase sharedFilesystems (6/10): failed\n\
                     [talos] boot sequence: failed");
        let f = m.boot.failure.clone().unwrap();
        assert_eq!(f.sequence, "boot");
        assert_eq!(f.phase.as_deref(), Some("sharedFilesystems"));
        assert_eq!(f.phase_index.as_deref(), Some("6/10"));
        assert_eq!(f.task.as_deref(), Some("setupSharedFilesystems"));
        assert_eq!(f.error.as_deref(), Some("invalid argument"));
        assert_eq!(f.line, 1);
        assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Failed);
    }

    #[test]
    fn excerpt_ending_at_the_failed_task_is_a_failure() {
        let cases = [
            "[   58.4] [talos] task mountEphemeralPartition (1/1): failed: error resizing filesystem",
            "[   58.4] [talos] task mountEphemeralPartition (1/1): failed: x\n[   58.5] [talos] phase ephemeral (8/17): failed",
        ];
        for log in cases {
            let m = run(log);
            let f = Machine::failure(&m.boot).expect("a failure");
            assert_eq!(f.task.as_deref(), Some("mountEphemeralPartition"), "{log}");
            assert_eq!(f.phase.as_deref(), Some("ephemeral"), "{log}");
            assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Failed, "{log}");
        }
        let m = run("task x (1/2): starting\ntask y (2/2): starting\ntask x (1/2): done, 1ms");
        assert!(Machine::failure(&m.boot).is_none());
    }

    #[test]
    fn interleaved_tasks_and_success() {
        let m = run("boot sequence: 2 phase(s)\n\
                     phase a (1/2): 2 tasks(s)\n\
                     task y (2/2): starting\n\
                     task x (1/2): starting\n\
                     task x (1/2): done, 1ms\n\
                     task y (2/2): done, 2ms\n\
                     phase a (1/2): done, 3ms\n\
                     phase b (2/2): 1 tasks(s)\n\
                     task z (1/1): starting\n\
                     task z (1/1): done, 1s\n\
                     phase b (2/2): done, 1s\n\
                     boot sequence: done: 2s");
        let s = &m.boot.sequences[0];
        assert_eq!(s.state, State::Done);
        assert_eq!(
            s.phases[0].tasks.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["x", "y"]
        );
        assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Succeeded);
        assert_eq!(s.duration_ms, Some(2000.0));
    }

    #[test]
    fn restart_loop_counts_boots() {
        let one =
            "initialize sequence: 2 phase(s)\nboot sequence: 8 phase(s)\nboot sequence: failed\n";
        let m = run(&format!("{one}{one}{one}"));
        assert_eq!(m.boots(), 3);
        let m = run(&one.repeat(20));
        assert_eq!(m.boots(), 20);
        assert_eq!(m.earlier.len(), KEEP_EARLIER_BOOTS);
    }

    /// A boot that replays its sequence keeps at most MAX_SEQUENCES of them, counts the
    /// others, and reads as it does in full; a failed one among them stays.
    #[test]
    fn replayed_sequences_are_capped_and_counted() {
        let one = "phase saveConfig (1/10): 1 tasks(s)\nboot sequence: done: 1s\n";
        let m = run(&one.repeat(200));
        assert_eq!(m.boots(), 1);
        assert_eq!(m.boot.sequences.len(), MAX_SEQUENCES);
        assert_eq!(m.dropped_sequences(), 200 - MAX_SEQUENCES as u64);
        assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Succeeded);
        let failed = "phase saveConfig (1/10): 1 tasks(s)\nphase saveConfig (1/10): failed\n\
                      boot sequence: failed\n";
        let m = run(&format!("{}{failed}{}", one.repeat(30), one.repeat(200)));
        assert_eq!(m.boot.sequences.len(), MAX_SEQUENCES);
        assert!(m.boot.sequences.iter().any(|s| s.state == State::Failed));
        assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Failed);
    }

    #[test]
    fn stall_by_restarts_and_by_time() {
        let m = run("boot sequence: 1 phase(s)\nphase startEverything (1/1): 1 tasks(s)\n\
                     service[kubelet](Waiting): Error running x, going to restart forever: boom\n\
                     service[kubelet](Waiting): Error running x, going to restart forever: boom\n\
                     service[kubelet](Waiting): Error running x, going to restart forever: boom");
        let (o, s) = Machine::outcome_of(&m.boot);
        assert_eq!(o, Outcome::Stalled);
        assert!(s.unwrap().reason.contains("kubelet"));
        let m = run("[talos] 2024/01/01 00:00:00 boot sequence: 1 phase(s)\n\
                     [talos] 2024/01/01 00:00:00 phase startEverything (1/1): 1 tasks(s)\n\
                     [talos] 2024/01/01 00:09:00 still waiting");
        assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Stalled);
        let m = run("[talos] 2024/01/01 00:00:00 boot sequence: 1 phase(s)\n\
                     [talos] 2024/01/01 00:00:00 phase startEverything (1/1): 1 tasks(s)\n\
                     [talos] 2024/01/01 00:01:00 still waiting");
        assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Running);
        // A clock set a year ahead between two lines is not a year of waiting; a wait after
        // the jump still counts.
        let m = run("[talos] 2024/01/01 00:00:00 boot sequence: 1 phase(s)\n\
                     [talos] 2024/01/01 00:00:00 phase startEverything (1/1): 1 tasks(s)\n\
                     [talos] 2025/01/01 00:00:00 adjusting time (jump) by 8784h0m0s\n\
                     [talos] 2025/01/01 00:01:00 still waiting");
        assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Running);
        let m = run("[talos] 2024/01/01 00:00:00 boot sequence: 1 phase(s)\n\
                     [talos] 2024/01/01 00:00:00 phase startEverything (1/1): 1 tasks(s)\n\
                     [talos] 2025/01/01 00:00:00 adjusting time (jump) by 8784h0m0s\n\
                     [talos] 2025/01/01 00:09:00 still waiting");
        assert_eq!(Machine::outcome_of(&m.boot).0, Outcome::Stalled);
    }
}

//! One event per line: the kind of a line as rules are scoped to it (`event = "…"`),
//! classified from its envelope and message alone.

use crate::health::{SignalKind, TextSignal};
use crate::parse::envelope::Envelope;
use crate::parse::message::{Message, Zap};

/// Kinds of line a rule can be scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Any line.
    Any,
    /// `task X (n/m): failed: …`
    TaskFailed,
    /// `phase X (n/m): failed`
    PhaseFailed,
    /// `X sequence: failed`, `error running phase …`, `fatal sequencer error …`
    SequenceFailed,
    /// `service[x](Failed): …`
    ServiceFailed,
    /// `service[x](…): Error running …, going to restart …`
    ServiceRestarting,
    /// `service[x](Waiting): Waiting for …`
    ServiceWaiting,
    /// zap `controller failed`, `reconcile failed`, or any zap line with an `error` field.
    ControllerError,
    /// A kernel line (console or dmesg, not `[talos]`).
    Kernel,
    /// The clock was moved by more than any correction can be (see `health`).
    ClockJump,
}

impl EventKind {
    /// Parses the `event` field.
    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "any" => EventKind::Any,
            "task_failed" => EventKind::TaskFailed,
            "phase_failed" => EventKind::PhaseFailed,
            "sequence_failed" => EventKind::SequenceFailed,
            "service_failed" => EventKind::ServiceFailed,
            "service_restarting" => EventKind::ServiceRestarting,
            "service_waiting" => EventKind::ServiceWaiting,
            "controller_error" => EventKind::ControllerError,
            "kernel" => EventKind::Kernel,
            "clock_jump" => EventKind::ClockJump,
            _ => return None,
        })
    }

    /// The kind of a line, from its envelope, its message, its zap fields and what its text
    /// says about health.
    pub(crate) fn classify(
        env: &Envelope<'_>,
        msg: &Message<'_>,
        zap: Option<&Zap>,
        signal: Option<&TextSignal>,
    ) -> EventKind {
        match msg {
            Message::TaskFailed { .. } => EventKind::TaskFailed,
            Message::PhaseFailed { .. } => EventKind::PhaseFailed,
            Message::SequenceFailed { .. }
            | Message::SequenceError { .. }
            | Message::FatalSequencer { .. } => EventKind::SequenceFailed,
            Message::Service(s) if s.state == "Failed" => EventKind::ServiceFailed,
            Message::Service(s) if restarting(s.text) => EventKind::ServiceRestarting,
            Message::Service(s) if s.text.starts_with("Waiting for") => EventKind::ServiceWaiting,
            Message::Service(_) => EventKind::Any,
            _ if zap.is_some_and(|z| z.error.is_some() || z.msg.ends_with("failed")) => {
                EventKind::ControllerError
            }
            _ if matches!(signal, Some(TextSignal::Trouble(SignalKind::ClockJump, _))) => {
                EventKind::ClockJump
            }
            _ if !env.talos && (env.dialect.console || env.facility == Some("kern")) => {
                EventKind::Kernel
            }
            _ => EventKind::Any,
        }
    }
}

/// `text` holds `going to restart`. The searcher is built once: service lines are among the
/// most frequent, and `str::contains` builds its searcher on every call.
fn restarting(text: &str) -> bool {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"going to restart"));
    FINDER.find(text.as_bytes()).is_some()
}

#[cfg(test)]
mod tests {
    #[test]
    fn restarting_is_contains() {
        for t in
            ["", "going to restar", "Error running x, going to restart forever", "going to restart"]
        {
            assert_eq!(super::restarting(t), t.contains("going to restart"), "{t}");
        }
    }
}

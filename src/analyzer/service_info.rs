//! `talosctl service <id>` output, read in the order things happened.
//!
//! talosctl prints one service as a block (cmd/talosctl/cmd/talos/service.go,
//! `renderServiceInfo`, all v1.x; osctl before it):
//!
//! ```text
//! NODE     172.20.0.2
//! ID       etcd
//! STATE    Running
//! HEALTH   OK
//! LAST HEALTH MESSAGE   …          (only when there is one)
//! EVENTS   [Running]: Health check successful (1m55s ago)
//!          [Running]: Health check failed: context deadline exceeded (1m55s ago)
//!          [Preparing]: Running pre state (2m4s ago)
//! ```
//!
//! The events are the service runner's own messages, **newest first** (the loop walks
//! `Events` from the end), and STATE/HEALTH are the service's state now, newer than every
//! event. Read top to bottom, a recovered health check looks like a failure that came last.
//! So the block's events are held until the block ends and then fed oldest first, as the
//! `service[ID](State): message` lines machined logged, followed by the state now; the
//! evidence still shows each line as given.

/// Events held per block at most: the runner keeps the last 64 per service
/// (system/events/events.go `MaxEventsToKeep`), and a broken paste must not grow memory.
pub(super) const MAX_EVENTS: usize = 64;

/// A `talosctl service` block being read.
#[derive(Debug, Default, Clone)]
pub(super) struct Block {
    pub(super) id: String,
    /// `STATE` value and its line (number, text as given).
    pub(super) state: Option<(String, u64, String)>,
    /// `HEALTH` value: `OK`, `Fail` or `?`.
    pub(super) health: Option<String>,
    pub(super) health_message: Option<String>,
    /// (line number, line as given, `State): message`), newest first.
    pub(super) events: Vec<(u64, String, String)>,
}

/// What a line is to a service block.
#[derive(Debug, PartialEq)]
pub(super) enum Part<'a> {
    /// `ID  <service>`: a block starts.
    Id(&'a str),
    /// `NODE  <node>`: the line before `ID`.
    Node,
    State(&'a str),
    Health(&'a str),
    HealthMessage(&'a str),
    /// `EVENTS  [State]: msg (… ago)` or the same indented: (state, message).
    Event(&'a str, &'a str),
    /// Not part of a block.
    None,
}

/// States of the service runner (`internal/app/machined/pkg/system/events`).
const STATES: &[&str] = &[
    "Initialized",
    "Starting",
    "Preparing",
    "Waiting",
    "Running",
    "Stopping",
    "Finished",
    "Failed",
    "Skipped",
];

/// A field line: the key, then at least two spaces or a tab (tabwriter's padding), then the
/// value.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(key)?;
    let value = rest.trim_start_matches([' ', '\t']);
    let padding = rest.len() - value.len();
    (padding >= 2 || rest.starts_with('\t')).then_some(value.trim_end()).filter(|v| !v.is_empty())
}

pub(super) fn classify(text: &str) -> Part<'_> {
    let b = text.as_bytes();
    // Most lines start with none of the keys' letters or an indent: one byte decides.
    if !matches!(b.first(), Some(b'N' | b'I' | b'S' | b'H' | b'L' | b'E' | b'[' | b' ' | b'\t')) {
        return Part::None;
    }
    if let Some(v) = field(text, "ID") {
        return if v.contains(char::is_whitespace) { Part::None } else { Part::Id(v) };
    }
    if field(text, "NODE").is_some() {
        return Part::Node;
    }
    if let Some(v) = field(text, "STATE") {
        return if STATES.contains(&v) { Part::State(v) } else { Part::None };
    }
    if let Some(v) = field(text, "LAST HEALTH MESSAGE") {
        return Part::HealthMessage(v);
    }
    if let Some(v) = field(text, "HEALTH") {
        return if matches!(v, "OK" | "Fail" | "?") { Part::Health(v) } else { Part::None };
    }
    // The indent of the later events may be gone (the envelope parser trims the text): an
    // event line counts only inside a block (the analyzer's check).
    let event = text.strip_prefix("EVENTS").unwrap_or(text).trim_start_matches([' ', '\t']);
    let Some(rest) = event.strip_prefix('[') else { return Part::None };
    let Some((state, rest)) = rest.split_once("]: ") else { return Part::None };
    if !STATES.contains(&state) {
        return Part::None;
    }
    // `(1m55s ago)` at the end: a Go duration.
    let msg = rest
        .trim_end()
        .strip_suffix(" ago)")
        .and_then(|r| r.rsplit_once(" ("))
        .filter(|(_, d)| !d.is_empty() && d.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.'))
        .map_or(rest.trim_end(), |(m, _)| m);
    Part::Event(state, msg)
}

impl Block {
    /// The lines to feed, oldest first: (line number, line as given, runner's line).
    pub(super) fn replay(self) -> Vec<(u64, String, String)> {
        let id = self.id;
        let mut out: Vec<(u64, String, String)> = self
            .events
            .into_iter()
            .rev()
            .map(|(no, given, text)| (no, given, format!("service[{id}]({text}")))
            .collect();
        if let Some((state, no, given)) = self.state {
            // The health now: `OK` is a passed check. `Fail` with the runner's reset message
            // `service not running` on a Running service is stale: the runner sets it whenever
            // the service leaves Running (service_runner.go; v1.8.2-v1.8.3 even for services
            // without a health check, fixed by 95c69588 for #9839) and no check has run since.
            let text = match (self.health.as_deref(), self.health_message.as_deref()) {
                (Some("OK"), _) => "Health check successful".to_owned(),
                (Some("Fail"), Some("service not running")) if state == "Running" => String::new(),
                (Some("Fail"), Some(m)) => format!("Health check failed: {m}"),
                _ => String::new(),
            };
            out.push((no, given, format!("service[{id}]({state}): {text}")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let table: &[(&str, Part<'_>)] = &[
            ("NODE     172.20.0.2", Part::Node),
            ("ID       etcd", Part::Id("etcd")),
            ("ID\text-frr", Part::Id("ext-frr")),
            ("STATE    Running", Part::State("Running")),
            ("STATE    sleepy", Part::None),
            ("HEALTH   OK", Part::Health("OK")),
            ("HEALTH                Fail", Part::Health("Fail")),
            ("HEALTH   ?", Part::Health("?")),
            (
                "LAST HEALTH MESSAGE   service not running",
                Part::HealthMessage("service not running"),
            ),
            (
                "EVENTS   [Running]: Health check successful (1m55s ago)",
                Part::Event("Running", "Health check successful"),
            ),
            (
                "         [Waiting]: Waiting for service \"cri\" to be \"up\", time sync (18s ago)",
                Part::Event("Waiting", "Waiting for service \"cri\" to be \"up\", time sync"),
            ),
            (
                "         [Running]: Started task x (PID 1) for container x (1h0m0s ago)",
                Part::Event("Running", "Started task x (PID 1) for container x"),
            ),
            ("[Running]: indent trimmed (1s ago)", Part::Event("Running", "indent trimmed")),
            ("IDENTITY x", Part::None),
            ("ID x y", Part::None),
            ("HEALTHY   yes", Part::None),
            ("STATE: Running", Part::None),
            ("         [Bogus]: x (1s ago)", Part::None),
            ("[talos] service[etcd](Running): Health check successful", Part::None),
        ];
        for (text, want) in table {
            assert_eq!(&classify(text), want, "{text}");
        }
    }

    #[test]
    fn replay_is_oldest_first_then_the_state_now() {
        let mut b = Block { id: "etcd".into(), ..Block::default() };
        b.state = Some(("Running".into(), 3, "STATE    Running".into()));
        b.health = Some("OK".into());
        b.events.push((5, "a".into(), "Running): Health check successful".into()));
        b.events.push((6, "b".into(), "Running): Health check failed: x".into()));
        let r = b.replay();
        let texts: Vec<&str> = r.iter().map(|(_, _, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "service[etcd](Running): Health check failed: x",
                "service[etcd](Running): Health check successful",
                "service[etcd](Running): Health check successful",
            ]
        );
        assert_eq!(r.iter().map(|(n, _, _)| *n).collect::<Vec<_>>(), [6, 5, 3]);
    }

    #[test]
    fn stale_health_of_a_running_service_is_not_a_failed_check() {
        let mut b = Block { id: "ext-frr".into(), ..Block::default() };
        b.state = Some(("Running".into(), 3, "STATE Running".into()));
        b.health = Some("Fail".into());
        b.health_message = Some("service not running".into());
        assert_eq!(b.clone().replay()[0].2, "service[ext-frr](Running): ");
        b.health_message = Some("dial tcp 127.0.0.1:2379: connection refused".into());
        assert_eq!(
            b.replay()[0].2,
            "service[ext-frr](Running): Health check failed: dial tcp 127.0.0.1:2379: connection refused"
        );
    }
}

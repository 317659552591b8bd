//! The Talos message grammar: what machined's sequencer, service runner and zap loggers
//! print (reference §1.1 and §5). Format strings are identical from v1.0 to HEAD,
//! including the `tasks(s)` typo.

use std::borrow::Cow;

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_until, take_while1},
    character::complete::{char, digit1},
    combinator::{all_consuming, map_res, rest},
    sequence::{delimited, preceded},
};
use serde::de;

/// A sequencer or service event; everything else is [`Message::Other`].
#[derive(Debug, Clone, PartialEq)]
#[expect(
    missing_docs,
    reason = "fields are named after the format verbs they hold, documented per variant"
)]
pub enum Message<'a> {
    /// `%s sequence: %d phase(s)`
    SequenceStart { name: &'a str, phases: u32 },
    /// `%s sequence: done: %s`
    SequenceDone { name: &'a str, duration: &'a str },
    /// `%s sequence: failed`
    SequenceFailed { name: &'a str },
    /// `phase %s (%d/%d): %d tasks(s)`
    PhaseStart { name: &'a str, index: u32, total: u32, tasks: u32 },
    /// `phase %s (%d/%d): done, %s`
    PhaseDone { name: &'a str, index: u32, total: u32, duration: &'a str },
    /// `phase %s (%d/%d): failed`
    PhaseFailed { name: &'a str, index: u32, total: u32 },
    /// `task %s (%d/%d): starting`
    TaskStart { name: &'a str, index: u32, total: u32 },
    /// `task %s (%d/%d): done, %s`
    TaskDone { name: &'a str, index: u32, total: u32, duration: &'a str },
    /// `task %s (%d/%d): failed: %s`
    TaskFailed { name: &'a str, index: u32, total: u32, error: &'a str },
    /// A task's own message without a date (metal task logger): `task %s (%d/%d): msg`.
    TaskLog { name: &'a str, index: u32, total: u32, text: &'a str },
    /// `error running phase %d in %s sequence: %s` printed by main.go's handler.
    SequenceError { phase: u32, sequence: &'a str, error: &'a str },
    /// `fatal sequencer error in "%s" sequence: %v`
    FatalSequencer { sequence: &'a str, error: &'a str },
    /// `service[%s](%s): %s`
    Service(ServiceLine<'a>),
    /// `booting Talos v1.12.0` (initramfs) or `booting Talos Talos v1.13.0`.
    Booting { version: &'a str },
    /// `rebooting in %d seconds`
    RebootCountdown { seconds: u32 },
    /// Any other text.
    Other,
}

impl<'a> Message<'a> {
    /// The same message with each string `f` of itself, in a fixed order (the fields in
    /// the order they are declared): with `f` giving each string's place in the text it was
    /// parsed from, and back, a message crosses threads without its text (`-j`).
    pub fn map_strs<'b>(&self, mut f: impl FnMut(&'a str) -> &'b str) -> Message<'b> {
        use Message::*;
        match *self {
            SequenceStart { name, phases } => SequenceStart { name: f(name), phases },
            SequenceDone { name, duration } => {
                SequenceDone { name: f(name), duration: f(duration) }
            }
            SequenceFailed { name } => SequenceFailed { name: f(name) },
            PhaseStart { name, index, total, tasks } => {
                PhaseStart { name: f(name), index, total, tasks }
            }
            PhaseDone { name, index, total, duration } => {
                PhaseDone { name: f(name), index, total, duration: f(duration) }
            }
            PhaseFailed { name, index, total } => PhaseFailed { name: f(name), index, total },
            TaskStart { name, index, total } => TaskStart { name: f(name), index, total },
            TaskDone { name, index, total, duration } => {
                TaskDone { name: f(name), index, total, duration: f(duration) }
            }
            TaskFailed { name, index, total, error } => {
                TaskFailed { name: f(name), index, total, error: f(error) }
            }
            TaskLog { name, index, total, text } => {
                TaskLog { name: f(name), index, total, text: f(text) }
            }
            SequenceError { phase, sequence, error } => {
                SequenceError { phase, sequence: f(sequence), error: f(error) }
            }
            FatalSequencer { sequence, error } => {
                FatalSequencer { sequence: f(sequence), error: f(error) }
            }
            Service(ServiceLine { name, state, text }) => {
                Service(ServiceLine { name: f(name), state: f(state), text: f(text) })
            }
            Booting { version } => Booting { version: f(version) },
            RebootCountdown { seconds } => RebootCountdown { seconds },
            Other => Other,
        }
    }
}

/// A service state line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceLine<'a> {
    /// Service id, e.g. `kubelet`.
    pub name: &'a str,
    /// State: Initialized Starting Preparing Waiting Running Stopping Finished Failed Skipped.
    pub state: &'a str,
    /// The message after the prefix.
    pub text: &'a str,
}

type Res<'a, T> = IResult<&'a str, T>;

fn ident(i: &str) -> Res<'_, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_').parse(i)
}

fn uint(i: &str) -> Res<'_, u32> {
    map_res(digit1, str::parse).parse(i)
}

/// `(n/m)`
fn counter(i: &str) -> Res<'_, (u32, u32)> {
    delimited(char('('), (uint, preceded(char('/'), uint)), char(')')).parse(i)
}

fn sequence(i: &str) -> Res<'_, Message<'_>> {
    let (r, name) = ident(i)?;
    let (r, _) = tag(" sequence: ").parse(r)?;
    if let Ok((r, n)) = (uint, tag(" phase(s)")).parse(r) {
        return Ok((r, Message::SequenceStart { name, phases: n.0 }));
    }
    if let Some(d) = r.strip_prefix("done: ") {
        return Ok(("", Message::SequenceDone { name, duration: d }));
    }
    let (r, _) = all_consuming(tag("failed")).parse(r)?;
    Ok((r, Message::SequenceFailed { name }))
}

fn phase(i: &str) -> Res<'_, Message<'_>> {
    let (r, (_, name, _, (index, total), _)) =
        (tag("phase "), ident, char(' '), counter, tag(": ")).parse(i)?;
    if let Ok((r, (tasks, _))) = all_consuming((uint, tag(" tasks(s)"))).parse(r) {
        return Ok((r, Message::PhaseStart { name, index, total, tasks }));
    }
    if let Some(d) = r.strip_prefix("done, ") {
        return Ok(("", Message::PhaseDone { name, index, total, duration: d }));
    }
    let (r, _) = all_consuming(tag("failed")).parse(r)?;
    Ok((r, Message::PhaseFailed { name, index, total }))
}

fn task(i: &str) -> Res<'_, Message<'_>> {
    let (r, (_, name, _, (index, total), _)) =
        (tag("task "), ident, char(' '), counter, tag(": ")).parse(i)?;
    if r == "starting" {
        return Ok(("", Message::TaskStart { name, index, total }));
    }
    if let Some(d) = r.strip_prefix("done, ") {
        return Ok(("", Message::TaskDone { name, index, total, duration: d }));
    }
    if let Some(e) = r.strip_prefix("failed: ") {
        return Ok(("", Message::TaskFailed { name, index, total, error: e }));
    }
    // Talos before v0.8 printed a failed task without its error (`task x (1/7): failed`).
    if r == "failed" {
        return Ok(("", Message::TaskFailed { name, index, total, error: "" }));
    }
    Ok(("", Message::TaskLog { name, index, total, text: r }))
}

fn sequence_error(i: &str) -> Res<'_, Message<'_>> {
    let (r, (_, phase, _, sequence, _, error)) =
        (tag("error running phase "), uint, tag(" in "), ident, tag(" sequence: "), rest)
            .parse(i)?;
    Ok((r, Message::SequenceError { phase, sequence, error }))
}

fn fatal_sequencer(i: &str) -> Res<'_, Message<'_>> {
    let (r, (_, sequence, _, error)) =
        (tag("fatal sequencer error in \""), take_until("\""), tag("\" sequence: "), rest)
            .parse(i)?;
    Ok((r, Message::FatalSequencer { sequence, error }))
}

fn service(i: &str) -> Res<'_, Message<'_>> {
    let (r, _) = tag("service[").parse(i)?;
    // The name runs to the first `](` (nom's `take_until`); a byte search for `]` instead
    // of a substring searcher built per line: service lines are among the most frequent.
    let end = memchr::memchr_iter(b']', r.as_bytes())
        .find(|&p| r.as_bytes().get(p + 1) == Some(&b'('))
        .ok_or_else(|| {
            nom::Err::Error(nom::error::Error::new(r, nom::error::ErrorKind::TakeUntil))
        })?;
    // `]` is ASCII: `end` is a char boundary.
    let name = &r[..end];
    let (r, (_, state, _, text)) = (tag("]("), ident, tag("): "), rest).parse(&r[end..])?;
    Ok((r, Message::Service(ServiceLine { name, state, text })))
}

fn booting(i: &str) -> Res<'_, Message<'_>> {
    // v1.13+ prints `booting %s %s` (name + tag) where the name is `Talos`.
    let (r, _) = tag("booting Talos ").parse(i)?;
    let r = r.strip_prefix("Talos ").unwrap_or(r);
    let (r, version) = take_while1(|c: char| !c.is_whitespace()).parse(r)?;
    Ok((r, Message::Booting { version }))
}

fn countdown(i: &str) -> Res<'_, Message<'_>> {
    let (r, (_, seconds, _)) = (tag("rebooting in "), uint, tag(" seconds")).parse(i)?;
    Ok((r, Message::RebootCountdown { seconds }))
}

/// Reads one message (the envelope already removed). Cheap on non-matching text: each
/// branch fails on its first bytes.
pub fn parse(text: &str) -> Message<'_> {
    let Some(first) = text.as_bytes().first() else {
        return Message::Other;
    };
    let parsed = match first {
        b't' => task(text),
        b'p' => phase(text),
        b's' => service(text).or_else(|_| sequence(text)),
        b'e' => sequence_error(text).or_else(|_| sequence(text)),
        b'f' => fatal_sequencer(text),
        b'b' => booting(text).or_else(|_| sequence(text)),
        b'r' => countdown(text).or_else(|_| sequence(text)),
        _ => sequence(text),
    };
    parsed.map(|(_, m)| m).unwrap_or(Message::Other)
}

/// Fields of a zap console line: `msg {"component": "…", "controller": "…", "error": "…"}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Zap {
    /// The message before the JSON.
    pub msg: String,
    /// `component` field.
    pub component: Option<String>,
    /// `controller` field.
    pub controller: Option<String>,
    /// `error` field.
    pub error: Option<String>,
}

/// Splits a zap console line into message and known fields. Only lines that end in a JSON
/// object starting with `{"` are considered, so the cost on other lines is one byte search.
pub fn zap(text: &str) -> Option<Zap> {
    let t = text.trim_end();
    if !t.ends_with('}') {
        return None;
    }
    let start = t.find(" {\"")?;
    let json = &t[start + 1..];
    let [component, controller, error] = json_fields(json, ["component", "controller", "error"])?;
    let get = |v: Option<Option<Cow<'_, str>>>| v.flatten().map(Cow::into_owned);
    Some(Zap {
        msg: t[..start].to_owned(),
        component: get(component),
        controller: get(controller),
        error: get(error),
    })
}

/// The same fields from the plain form of a controller's failure, as Talos' documentation and
/// reports quote it and as controller-runtime's text logger wrote it before zap
/// (`k8s.ManifestApplyController: controller failed: error creating mapping …`): a
/// controller name (`<package>.<Name>Controller`, no spaces), then ` controller failed: ` and
/// the error.
pub fn controller_text(text: &str) -> Option<Zap> {
    const SEP: &str = ": controller failed: ";
    let at = memchr::memmem::find(text.as_bytes(), SEP.as_bytes())?;
    let name = &text[..at];
    let (pkg, ty) = name.split_once('.')?;
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !(word(pkg) && word(ty) && ty.ends_with("Controller")) {
        return None;
    }
    Some(Zap {
        msg: "controller failed".to_owned(),
        component: Some("controller-runtime".to_owned()),
        controller: Some(name.to_owned()),
        error: Some(text[at + SEP.len()..].trim_end().to_owned()),
    })
}

/// Looks up `keys` in a JSON object without building it: the answer of
/// `serde_json::from_str::<Value>(json)` followed by `map.get(key).map(Value::as_str)`, but
/// the other values are only validated, never stored. `None` when `json` is not exactly one
/// object; per key `None` when absent, `Some(None)` when its value is not a string. As with
/// `Value`, the last of duplicate keys wins.
pub(crate) fn json_fields<'a, const N: usize>(
    json: &'a str,
    keys: [&str; N],
) -> Option<[Option<Option<Cow<'a, str>>>; N]> {
    let mut de = serde_json::Deserializer::from_str(json);
    let out = de::DeserializeSeed::deserialize(Fields { keys }, &mut de).ok()?;
    de.end().ok()?;
    Some(out)
}

struct Fields<'k, const N: usize> {
    keys: [&'k str; N],
}

impl<'de, const N: usize> de::DeserializeSeed<'de> for Fields<'_, N> {
    type Value = [Option<Option<Cow<'de, str>>>; N];
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, const N: usize> de::Visitor<'de> for Fields<'_, N> {
    type Value = [Option<Option<Cow<'de, str>>>; N];
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Self::Value = std::array::from_fn(|_| None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.keys.iter().position(|k| *k == key.0) {
                Some(i) => out[i] = Some(map.next_value::<StrOrOther<'de>>()?.0),
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(out)
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor).map(|s| Key(s.unwrap_or_default()))
    }
}

/// A value: its text when it is a string, else validated and dropped.
struct StrOrOther<'de>(Option<Cow<'de, str>>);

impl<'de> de::Deserialize<'de> for StrOrOther<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor).map(StrOrOther)
    }
}

struct StrVisitor;

impl<'de> de::Visitor<'de> for StrVisitor {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip::drain_seq(seq).map(|()| None)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip::drain_map(map).map(|()| None)
    }
}

/// Any JSON value, parsed as `Value` would parse it (numbers included, so the same inputs
/// are rejected) and dropped.
struct Skip;

impl Skip {
    fn drain_seq<'de, A: de::SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(())
    }
    fn drain_map<'de, A: de::MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(())
    }
}

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor).map(|_| Skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        use Message::*;
        let cases: Vec<(&str, Message<'_>)> = vec![
            ("boot sequence: 10 phase(s)", SequenceStart { name: "boot", phases: 10 }),
            (
                "install sequence: done: 3.767µs",
                SequenceDone { name: "install", duration: "3.767µs" },
            ),
            ("boot sequence: failed", SequenceFailed { name: "boot" }),
            (
                "emergencyVolumeCleanup sequence: 0 phase(s)",
                SequenceStart { name: "emergencyVolumeCleanup", phases: 0 },
            ),
            (
                "phase sharedFilesystems (6/10): 1 tasks(s)",
                PhaseStart { name: "sharedFilesystems", index: 6, total: 10, tasks: 1 },
            ),
            (
                "phase env (4/10): done, 412.7µs",
                PhaseDone { name: "env", index: 4, total: 10, duration: "412.7µs" },
            ),
            (
                "phase sharedFilesystems (6/10): failed",
                PhaseFailed { name: "sharedFilesystems", index: 6, total: 10 },
            ),
            (
                "task setupSharedFilesystems (1/1): starting",
                TaskStart { name: "setupSharedFilesystems", index: 1, total: 1 },
            ),
            (
                "task saveConfig (1/1): done, 1.187902ms",
                TaskDone { name: "saveConfig", index: 1, total: 1, duration: "1.187902ms" },
            ),
            (
                "task setupSharedFilesystems (1/1): failed: invalid argument",
                TaskFailed {
                    name: "setupSharedFilesystems",
                    index: 1,
                    total: 1,
                    error: "invalid argument",
                },
            ),
            (
                "task diskSizeCheck (1/1): skipping disk size check",
                TaskLog {
                    name: "diskSizeCheck",
                    index: 1,
                    total: 1,
                    text: "skipping disk size check",
                },
            ),
            (
                "error running phase 6 in boot sequence: task 1/1: failed, invalid argument",
                SequenceError {
                    phase: 6,
                    sequence: "boot",
                    error: "task 1/1: failed, invalid argument",
                },
            ),
            (
                "fatal sequencer error in \"boot\" sequence: code:FATAL message:\"x\"",
                FatalSequencer { sequence: "boot", error: "code:FATAL message:\"x\"" },
            ),
            (
                "service[kubelet](Waiting): Waiting for service \"cri\" to be \"up\"",
                Service(ServiceLine {
                    name: "kubelet",
                    state: "Waiting",
                    text: "Waiting for service \"cri\" to be \"up\"",
                }),
            ),
            // The name ends at the first `](`, whatever it holds before.
            (
                "service[a]b[c](Running): x",
                Service(ServiceLine { name: "a]b[c", state: "Running", text: "x" }),
            ),
            ("service[](Running): ", Service(ServiceLine { name: "", state: "Running", text: "" })),
            ("service[kubelet]", Other),
            ("service[kubelet] (Running): x", Other),
            ("service[kubelet](Running) x", Other),
            ("booting Talos v1.12.0", Booting { version: "v1.12.0" }),
            ("booting Talos Talos v1.13.1", Booting { version: "v1.13.1" }),
            ("rebooting in 10 seconds", RebootCountdown { seconds: 10 }),
            ("phase env (4/10): 2 tasks", Other),
            ("sequence: failed", Other),
            ("the boot sequence: failed", Other),
            ("", Other),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), want, "{text}");
        }
    }

    #[test]
    fn zap_fields() {
        let z = zap(r#"controller failed {"component": "controller-runtime", "controller": "k8s.NodeIPController", "error": "boom"}"#).unwrap();
        assert_eq!(z.msg, "controller failed");
        assert_eq!(z.controller.as_deref(), Some("k8s.NodeIPController"));
        assert_eq!(z.error.as_deref(), Some("boom"));
        assert_eq!(zap("no json here"), None);
        let z = controller_text(
            "k8s.KubeletStaticPodController: controller failed: error refreshing pod status: boom",
        )
        .unwrap();
        assert_eq!(z.controller.as_deref(), Some("k8s.KubeletStaticPodController"));
        assert_eq!(z.error.as_deref(), Some("error refreshing pod status: boom"));
        assert_eq!(z.msg, "controller failed");
        assert_eq!(controller_text("the k8s.X controller failed: boom"), None);
        assert_eq!(controller_text("service failed: controller failed: boom"), None);
        assert_eq!(zap("broken {\"a\": }"), None);
    }
}

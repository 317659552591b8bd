//! Lines that repeat but for their stamp: `[talos] 2024/11/20 09:15:52 service[etcd](Running):
//! Health check successful` comes back every few seconds with only the date changed, and a
//! long log is mostly such lines. Everything the analyzer works out before its state is
//! consulted (normalising, the envelope, the text's [`Facts`], whether there is a message) is
//! then a function of the text after the stamp, so it is memoised per exact text here.
//!
//! Only the plainest shape takes the shortcut: `[talos] ` then Go's date then the text, with
//! nothing in the text that normalising would change, and an envelope that holds nothing but
//! the `[talos]` prefix, the date and the text (no JSON record, no task logger, no level).
//! Whether a text gives that envelope is checked by the full parse when it is first seen, so
//! the memo only stores what the full computation gave; a test compares the two on every
//! fixture line behind a stamp.

use std::borrow::Cow;

use super::Facts;
use crate::kb::Kb;
use crate::parse::envelope::{self, Dialect, Envelope};
use crate::parse::message::{self, Message};
use crate::parse::time::Stamp;

/// Slots (two-way) and the longest text memoised: under 1 MiB when all are filled.
const SLOTS: usize = 2048;
const MAX_TEXT: usize = 256;

/// The most strings a message holds (a service line: name, state and text).
const MSG_PARTS: usize = 3;

/// A text after the stamp, under a knowledge base, and what it decides.
struct Slot {
    kb: u64,
    text: Box<str>,
    facts: Facts,
    /// What [`crate::parse::message::parse`] gave for the text, its strings emptied and
    /// their places in the text kept beside it (a service line, the most frequent repeated
    /// line, was parsed again on every hit); `None` for a message with a string from
    /// elsewhere, parsed again on a hit.
    msg: Option<(Message<'static>, [(u32, u32); MSG_PARTS])>,
}

/// Where `s` lies in `base`, from the addresses alone (no unsafe code); an empty string
/// lies anywhere (a message's strings compare by content).
fn place(base: &str, s: &str) -> Option<(u32, u32)> {
    if s.is_empty() {
        return Some((0, 0));
    }
    let off = (s.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    let end = off.checked_add(s.len()).filter(|&e| e <= base.len())?;
    Some((u32::try_from(off).ok()?, u32::try_from(end).ok()?))
}

/// `msg`, parsed from `text`, with its strings emptied and their places in `text`.
fn detach(text: &str, msg: &Message<'_>) -> Option<(Message<'static>, [(u32, u32); MSG_PARTS])> {
    let mut parts = [(0, 0); MSG_PARTS];
    let (mut n, mut inside) = (0, true);
    let detached = msg.map_strs(|s| {
        match (parts.get_mut(n), place(text, s)) {
            (Some(slot), Some(p)) => *slot = p,
            _ => inside = false,
        }
        n += 1;
        ""
    });
    inside.then_some((detached, parts))
}

/// The line's date and the text after it, when the line has the plain container shape
/// (`[talos] YYYY/MM/DD HH:MM:SS[.frac] text`) and the text may be memoised.
pub(crate) fn split(line: &str) -> Option<(f64, &str)> {
    envelope::container_stamp(line).filter(|(_, rest)| rest.len() <= MAX_TEXT)
}

/// The envelope of a plain container line: what the full parse gives for it.
pub(crate) fn plain_envelope(time: f64, text: &str) -> Envelope<'_> {
    Envelope {
        time: Some(Stamp::Wall(time)),
        talos: true,
        dialect: Dialect { container_stamp: true, ..Dialect::default() },
        text: Cow::Borrowed(text),
        ..Envelope::default()
    }
}

/// Nothing in `text` (the end of a line whose start is plain ASCII) that
/// [`crate::parse::normalize::normalize`] would look at: the line is borrowed unchanged.
fn normalizes_to_itself(text: &str) -> bool {
    text.is_ascii()
        && memchr::memchr2(b'\\', b'&', text.as_bytes()).is_none()
        && !text.ends_with('\r')
        && !text.ends_with("^M")
}

#[derive(Default)]
struct Memo {
    slots: Vec<Option<Slot>>,
}

thread_local! {
    static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::default());
}

fn hash(b: &[u8]) -> u64 {
    crate::memo::fx_hash(b)
}

/// The memoised facts and message of `text`, if it was seen before.
pub(crate) fn get<'t>(kb: &Kb, text: &'t str) -> Option<(Facts, Message<'t>)> {
    with(kb, text, |facts, msg| (facts.clone(), msg.clone()))
}

/// `f` of the memoised facts and message of `text`, if it was seen before, with the facts
/// borrowed from the memo. `f` must not use this memo (it is borrowed meanwhile).
pub(crate) fn with<'t, R>(
    kb: &Kb,
    text: &'t str,
    f: impl FnOnce(&Facts, &Message<'t>) -> R,
) -> Option<R> {
    MEMO.with(|m| {
        let m = &mut *m.borrow_mut();
        if m.slots.is_empty() {
            return None;
        }
        let h = hash(text.as_bytes());
        let hit = |s: &Option<Slot>| {
            s.as_ref().is_some_and(|s| {
                s.kb == kb.id && crate::memo::same(s.text.as_bytes(), text.as_bytes())
            })
        };
        let s = crate::memo::way_of(&mut m.slots, h, hit)?.as_ref()?;
        let msg = match &s.msg {
            // The slot's text is `text`: the places are places in it.
            Some((msg, parts)) => {
                let mut it = parts.iter();
                msg.map_strs(|_| {
                    it.next().and_then(|&(a, b)| text.get(a as usize..b as usize)).unwrap_or("")
                })
            }
            None => message::parse(text),
        };
        Some(f(&s.facts, &msg))
    })
}

/// Remembers what the full computation gave for a line split into `time` and `text`, when
/// it is the plain shape this memo is for (see the module doc).
pub(crate) fn put(
    kb: &Kb,
    line: &str,
    (time, text): (f64, &str),
    norm: &str,
    env: &Envelope<'_>,
    msg: &Message<'_>,
    facts: &Facts,
) {
    if norm != line || !normalizes_to_itself(text) || *env != plain_envelope(time, text) {
        return;
    }
    MEMO.with(|m| {
        let m = &mut *m.borrow_mut();
        if m.slots.is_empty() {
            m.slots.resize_with(SLOTS, || None);
        }
        let slot =
            Slot { kb: kb.id, text: text.into(), facts: facts.clone(), msg: detach(text, msg) };
        crate::memo::insert_way(&mut m.slots, hash(text.as_bytes()), Some(slot));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::normalize::normalize;

    /// Behind a container stamp, every fixture text (and the same with other digits) gets
    /// from the memo the envelope, message and facts the full computation gives, in rounds
    /// that find it in the memo and after other texts evicted it.
    #[test]
    fn memoised_lines_equal_computed_ones() {
        let kb = Kb::builtin();
        let mut texts = Vec::new();
        for line in crate::test_support::fixture_lines() {
            let text = envelope::parse(&line).text.into_owned();
            let shifted = crate::test_support::with_digits(&text, |d| (d + 3) % 10);
            texts.extend([line, text, shifted]);
        }
        texts.extend(["{\"a\": 1}".into(), "x {\"talos-time\": \"1\"}".into(), "a\\tb".into()]);
        texts.extend(["task x (1/2): 2024/01/01 00:00:00 y".into(), "".into(), " ".into()]);
        let stamps = ["2024/11/20 09:15:52", "2024/11/20 09:15:52.123456", "2025/01/01 00:00:00"];
        let (mut hits, mut plain, mut messages) = (0, 0, 0);
        for round in 0..3 {
            for (i, text) in texts.iter().enumerate() {
                let line = format!("[talos] {} {text}", stamps[(i + round) % stamps.len()]);
                let norm = normalize(&line);
                let env = envelope::parse(&norm);
                let msg = message::parse(&env.text);
                let facts = Facts::of(&kb, &line, &env, &msg);
                let Some(split) = split(&line) else { continue };
                if let Some((f, m)) = get(&kb, split.1) {
                    hits += 1;
                    assert_eq!(plain_envelope(split.0, split.1), env, "{line}");
                    assert_eq!(f, facts, "{line}");
                    assert_eq!(m, msg, "{line}");
                    messages += usize::from(!matches!(m, Message::Other));
                } else {
                    put(&kb, &line, split, &norm, &env, &msg, &facts);
                    plain += usize::from(get(&kb, split.1).is_some());
                }
            }
        }
        assert!(hits > 1000 && plain > 100, "hits {hits}, plain {plain}");
        assert!(messages > 100, "only {messages} memoised messages");
    }
}

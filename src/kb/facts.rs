//! What a line's text alone decides, before any analysis state is consulted: the rules whose
//! `match` pattern hits it, its error words, zap fields, health signal and platform name, and
//! the per-thread memo that answers repeated texts. [`Facts`] adds what the rest of the line
//! (its envelope and message) decides: its event kind and error template.

use crate::memo::{fx_hash, insert_way, same, way_of};
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use regex::Regex;

use super::Kb;
use super::gate::{ERRORISH, is_errorish};
use crate::fingerprint;
use crate::health::{self, TextSignal};
use crate::parse::envelope;
use crate::parse::event::EventKind;
use crate::parse::message::{self, Message};
use crate::report::Mode;

/// The analyzer's own patterns, compiled once per process (clones share them): a
/// `watch --cluster`, `rules test` or a fuzzer creates many analyzers.
static STATIC: std::sync::LazyLock<(Regex, AhoCorasick, Regex)> = std::sync::LazyLock::new(|| {
    (
        // ASCII case folding: the words are ASCII, and Unicode folding tables cost memory.
        // The words are literal text (`[FATAL] ` is not a character class).
        Regex::new(&format!(
            "(?i-u){}",
            ERRORISH.iter().map(|w| regex::escape(w)).collect::<Vec<_>>().join("|")
        ))
        .expect("static regex"),
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(ERRORISH)
            .expect("static literals"),
        Regex::new(r#"(?:"platform": "|platform |"mode": ")([a-z][a-z0-9-]*)"#)
            .expect("static regex"),
    )
});

/// What can be learnt from a line alone, before the analysis state is consulted: the
/// costly, state-free part of the work on a line (literal scans, rule prefilters, zap
/// fields, the error template). Computing it needs only the knowledge base, so it can be
/// done on another thread than the one that keeps the state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Facts {
    /// What the text alone decides, shared with every other line of the same text.
    pub(crate) text: Arc<TextFacts>,
    pub(crate) event: EventKind,
    pub(crate) unparsed: bool,
    /// The masked template of an error-looking line.
    pub(crate) template: Option<String>,
    /// The text holds `context canceled` (see the analyzer's cancelled records).
    pub(crate) canceled: bool,
    /// The text can neither start nor be a secret spanning lines when none is open
    /// ([`crate::redact::Redactor::quiet`]): the redactor need not read it then.
    pub(crate) redact_quiet: bool,
}

/// `str::contains` builds its searcher on every call.
static CANCELED: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("context canceled"));
/// Go's `net` package reports a dial or lookup its context stopped as `operation was
/// canceled` (net.errCanceled, which `errors.Is` context.Canceled): the same cancellation.
static OP_CANCELED: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("operation was canceled"));

/// The text ends an operation its caller stopped (`context canceled`, `operation was canceled`).
pub(crate) fn says_canceled(text: &[u8]) -> bool {
    CANCELED.find(text).is_some() || OP_CANCELED.find(text).is_some()
}

impl Facts {
    pub(crate) fn of(
        kb: &Kb,
        line: &str,
        env: &envelope::Envelope<'_>,
        msg: &Message<'_>,
    ) -> Facts {
        let text = TextFacts::of(kb, &env.text);
        let (errorish_word, zap) = (text.errorish_word, text.zap.as_ref());
        let unparsed = !env.talos
            && env.time.is_none()
            && env.node.is_none()
            && !env.dialect.json
            && matches!(msg, Message::Other)
            && !line.trim().is_empty()
            && !envelope::is_bare_timestamp(line);
        let event = EventKind::classify(env, msg, zap, text.signal.as_ref());
        let errorish = env.level.is_some_and(|l| l >= envelope::Level::Warn)
            || matches!(
                event,
                EventKind::TaskFailed
                    | EventKind::ServiceFailed
                    | EventKind::ServiceRestarting
                    | EventKind::ControllerError
            )
            || (errorish_word && !matches!(msg, Message::Service(_)));
        let template = (errorish
            && !matches!(
                msg,
                Message::PhaseFailed { .. }
                    | Message::SequenceFailed { .. }
                    | Message::RebootCountdown { .. }
            ))
        // Secrets go before the mask: masked digits would no longer look like a secret.
        .then(|| fingerprint::mask_cached(&crate::redact::redact_cached(&env.text)));
        // Worked out here rather than where the state is kept: they come from the memo of
        // repeated lines, and with `-j` from the preparing threads.
        let canceled = says_canceled(env.text.as_bytes());
        let redact_quiet = crate::redact::Redactor::quiet(&env.text);
        Facts { text, event, unparsed, template, canceled, redact_quiet }
    }
}

/// What a line's text alone decides. Long logs repeat texts (health checks, waits, retry
/// loops print the same message under new timestamps), so the answers are memoised per
/// thread in a small direct-mapped table keyed by the text and the knowledge base.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct TextFacts {
    /// Rules whose `match` pattern matches the text, ascending.
    pub(crate) matched: Box<[u32]>,
    /// An error word is on the line.
    pub(crate) errorish_word: bool,
    /// Only lines that pass the gate need zap's fields: rules read them (and a rule needs a
    /// literal), and a controller error has an `error` field or a `… failed` message, both
    /// gate words.
    pub(crate) zap: Option<message::Zap>,
    pub(crate) platform: Option<(Mode, String)>,
    /// The `then` patterns that match the text (indices into [`Kb::then_rules`]), ascending;
    /// the set runs only on texts that hold one of its literals (see [`Kb::prefilters`]).
    pub(crate) then_hits: Box<[u32]>,
    /// The `absent_after` patterns that match the text (indices into [`Kb::absent_rules`]).
    pub(crate) absent_hits: Box<[u32]>,
    /// What the text says about health (a panic, maintenance mode, …).
    pub(crate) signal: Option<TextSignal>,
    /// A controller's failed reconcile: the controller and its error with ids masked.
    pub(crate) controller_failure: Option<(Box<str>, Box<str>)>,
    /// The text states that something failed (`failed`, `failure`, Docker's `Error response
    /// from daemon`), as opposed to error words in a retry, a warning or a recovery.
    pub(crate) failure_word: bool,
}

/// Slots of the memo of texts the gate lets through (a filled slot holds its text and
/// answers, up to about 700 bytes: under 3 MiB when all are used), for texts of up to
/// [`MEMO_TEXT`] bytes. Since the digit-blind verdicts below turn most texts away first,
/// 4096 slots hit as often as 8192 did before them.
const MEMO_SLOTS: usize = 4096;
const MEMO_TEXT: usize = 512;
/// Slots of the digit-blind gate verdicts: one per distinct text shape, of which a log has
/// far fewer than texts (a slot is its text and a few words: under 2.5 MiB when all are
/// used, as on a log of nothing but distinct 500-byte texts).
const BLIND_SLOTS: usize = 4096;

type MemoSlot = Option<Box<(u64, Box<str>, Arc<TextFacts>)>>;

/// A digit-blind text's gate verdict, under the knowledge base of that id, with its hash.
struct BlindSlot {
    kb: u64,
    hash: u64,
    text: Box<[u8]>,
    may: bool,
}

/// The per-thread memo of [`TextFacts::of`].
#[derive(Default)]
struct Memo {
    exact: Vec<MemoSlot>,
    blind: Vec<Option<BlindSlot>>,
    scratch: Vec<u8>,
    /// The facts of a text the gate turns away, shared by all such texts.
    empty: Arc<TextFacts>,
}

impl TextFacts {
    fn of(kb: &Kb, text: &str) -> Arc<TextFacts> {
        thread_local! {
            static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::default());
        }
        if text.len() > MEMO_TEXT {
            return Arc::new(TextFacts::compute(kb, text));
        }
        MEMO.with(|m| {
            let m = &mut *m.borrow_mut();
            if m.exact.is_empty() {
                m.exact.resize(MEMO_SLOTS, None);
                m.blind.resize_with(BLIND_SLOTS, || None);
            }
            // Most lines of a long log hold nothing the rules or the analyzer's words look
            // for, and many differ from another such line only in their numbers: the gate's
            // digit-blind verdict, kept per text shape, turns them away first.
            super::digit_blind(text.as_bytes(), &mut m.scratch);
            let hash = fx_hash(&m.scratch);
            let scratch = &m.scratch;
            let hit = |b: &BlindSlot| b.hash == hash && b.kb == kb.id && same(&b.text, scratch);
            let may = match way_of(&mut m.blind, hash, |s| s.as_ref().is_some_and(hit)) {
                Some(b) => b.as_ref().is_some_and(|b| b.may),
                None => {
                    let may = kb.gate.may_match_blind(&m.scratch);
                    let b = BlindSlot { kb: kb.id, hash, text: m.scratch.as_slice().into(), may };
                    insert_way(&mut m.blind, hash, Some(b));
                    may
                }
            };
            if !may {
                return Arc::clone(&m.empty);
            }
            let hash = fx_hash(text.as_bytes());
            let hit = |e: &MemoSlot| {
                e.as_ref().is_some_and(|e| e.0 == kb.id && same(e.1.as_bytes(), text.as_bytes()))
            };
            match way_of(&mut m.exact, hash, hit) {
                Some(e) => Arc::clone(&e.as_ref().expect("a hit is a filled slot").2),
                None => {
                    let f = Arc::new(TextFacts::compute(kb, text));
                    insert_way(
                        &mut m.exact,
                        hash,
                        Some(Box::new((kb.id, text.into(), Arc::clone(&f)))),
                    );
                    f
                }
            }
        })
    }

    fn compute(kb: &Kb, text: &str) -> TextFacts {
        let (errorish_re, errorish_ac, platform_re) = &*STATIC;
        // One literal scan decides whether the word-based work below can find anything.
        let gate = kb.gate.may_match(text);
        if !gate {
            // Nothing the analyzer looks for: the default, as for the gate's digit-blind twin.
            return TextFacts::default();
        }
        let zap =
            if text.ends_with('}') { message::zap(text) } else { message::controller_text(text) };
        let controller_failure = zap.as_ref().and_then(|z| {
            let (c, e) = (z.controller.as_deref()?, z.error.as_deref()?);
            // Cancellation is what a stopping node does to every controller.
            (z.msg.ends_with("failed") && !says_canceled(e.as_bytes()))
                .then(|| (c.into(), fingerprint::mask_cached(e).into()))
        });
        TextFacts {
            matched: kb.matching(text).into(),
            errorish_word: is_errorish(errorish_ac, errorish_re, text),
            signal: health::classify(text),
            controller_failure,
            // A reconcile that failed on an error the retry is made for is not yet a
            // failure: only its repetition is (`controller_failure` counts it).
            failure_word: failure_word(text)
                && !zap.as_ref().is_some_and(|z| {
                    z.controller.is_some()
                        && z.error.as_deref().is_some_and(health::is_transient_error)
                }),
            zap,
            platform: platform_named(text, platform_re),
            then_hits: set_hits(&kb.then_set, &kb.prefilters[0], text),
            absent_hits: set_hits(&kb.absent_set, &kb.prefilters[1], text),
        }
    }
}

/// The patterns of `set` that match `text`, ascending; the set runs only when its prefilter
/// lets the text through.
fn set_hits(set: &regex::RegexSet, pre: &super::prefilter::Prefilter, text: &str) -> Box<[u32]> {
    if !pre.may_match(text) {
        return Box::default();
    }
    set.matches(text).iter().map(|i| i as u32).collect()
}

/// Whether a text states a failure in the words Talos (and the Docker provisioner) use for
/// one. Error words alone are not enough: retries, warnings and recoveries use them too.
fn failure_word(text: &str) -> bool {
    let b = text.as_bytes();
    let has = |w: &[u8]| b.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w));
    // Talos' `log.Printf("WARNING: …")` says itself that the failure it reports is not fatal
    // (an eviction that failed during a drain, a retried step).
    if text.starts_with("WARNING: ") {
        return false;
    }
    // A program's own fatal level: it exits after this line (CoreDNS' `[FATAL] plugin/loop`).
    if text.starts_with("[FATAL] ") || text.starts_with("FATAL ") {
        return true;
    }
    (has(b"fail")
        || has(b"Error response from daemon")
        || has(b"could not ")
        || has(b"couldn't ")
        || has(b"can't ")
        || has(b"cannot ")
        || has(b"unable to "))
        && !has(b"recovered")
        && !has(b"retrying")
        // A cancelled operation is not a failure, but talosctl's health check finding a
        // service still `[Failed]` after one is (`service %q not in expected state %q:
        // current state [%s] %s`, cmd/talosctl/pkg/talos/check).
        && (!(has(b"context canceled") || has(b"operation was canceled"))
            || has(b"not in expected state"))
}

/// The platform a line names (`platform container`, `"platform": "metal"`), with the line as
/// evidence.
fn platform_named(text: &str, platform: &Regex) -> Option<(Mode, String)> {
    if !(text.contains("platform") || text.contains("\"mode\"")) {
        return None;
    }
    let c = platform.captures(text)?;
    let p = c.get(1).map_or("", |m| m.as_str());
    let mode = match p {
        "container" => Mode::Container,
        "metal" | "metal-agent" => Mode::Metal,
        "cloud" => Mode::Cloud,
        "information" | "via" | "is" | "config" => return None,
        _ => Mode::Cloud,
    };
    Some((mode, format!("platform `{p}` named in: {}", truncate(text, 120))))
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regex (for non-ASCII text) and the automaton (ASCII) find the same words: each
    /// word, in any case, and nothing in texts that hold only the words' characters.
    #[test]
    fn errorish_regex_equals_the_automaton() {
        let (re, ac, _) = &*STATIC;
        let mut texts: Vec<String> = ERRORISH
            .iter()
            .flat_map(|w| [format!("x {w} y"), format!("{} µ", w.to_uppercase())])
            .collect();
        texts.extend(
            ["task setRLimit (7/7): done, 956.214µs", "[talos] phase logger (1/8): done", "a: b"]
                .map(String::from),
        );
        for t in &texts {
            let ascii = t.replace('µ', "u");
            assert_eq!(re.is_match(t), ac.is_match(&ascii), "{t}");
        }
    }

    /// The memo answers as the computation does, per knowledge base, also when texts
    /// collide in a slot and evict each other.
    #[test]
    fn memoised_text_facts_equal_computed_ones() {
        let full = Kb::builtin();
        let one = full.only(&["TD-CTR-001"]);
        let mut texts = Vec::new();
        for line in crate::test_support::fixture_lines() {
            let text = envelope::parse(&line).text.into_owned();
            // Texts that differ only in their digits share a digit-blind verdict: each
            // variant must still get its own answers (`k8s` is a literal, `k3s` is not).
            let shifted = crate::test_support::with_digits(&text, |d| (d + 3) % 10);
            let sevens = crate::test_support::with_digits(&text, |_| 7);
            texts.extend([text, shifted, sevens]);
        }
        // Rule literals with digits (`x509: `, `ext4-fs error`), after a text of the same
        // digit-blind shape that holds none.
        for t in [
            "x123: certificate signed by unknown authority",
            "x509: certificate signed by unknown authority",
        ] {
            texts.push(t.into());
        }
        for t in
            ["EXT2-fs error (device sda1): bad block", "EXT4-fs error (device sda1): bad block"]
        {
            texts.push(t.into());
        }
        assert!(texts.len() > 1000);
        for round in 0..2 {
            for kb in [&full, &one] {
                for t in &texts {
                    assert_eq!(
                        *TextFacts::of(kb, t),
                        TextFacts::compute(kb, t),
                        "round {round}: {t}"
                    );
                }
            }
        }
    }

    /// Literal candidates then each candidate's regex give what the whole set gives, on
    /// every fixture line, ASCII or not.
    #[test]
    fn candidate_rules_equal_the_set() {
        let kb = Kb::builtin();
        let set =
            regex::RegexSet::new(kb.rules.iter().map(|r| r.spec.pattern.as_str())).expect("set");
        let (mut n, mut then, mut absent) = (0, 0, 0);
        for line in crate::test_support::fixture_lines() {
            let text = envelope::parse(&line).text.into_owned();
            // Also a Unicode case variant: `ſ` folds to `s` under `(?i)`.
            for t in [text.clone(), text.replace('s', "ſ")] {
                let want: Vec<u32> = set.matches(&t).iter().map(|i| i as u32).collect();
                assert_eq!(kb.matching(&t), want, "{t}");
                n += usize::from(!want.is_empty());
                // The `then`/`absent_after` sets' answers, behind their prefilters and the gate.
                let facts = TextFacts::compute(&kb, &t);
                let hits = |set: &regex::RegexSet| -> Vec<u32> {
                    set.matches(&t).iter().map(|i| i as u32).collect()
                };
                assert_eq!(*facts.then_hits, *hits(&kb.then_set), "then: {t}");
                assert_eq!(*facts.absent_hits, *hits(&kb.absent_set), "absent_after: {t}");
                then += usize::from(!facts.then_hits.is_empty());
                absent += usize::from(!facts.absent_hits.is_empty());
            }
        }
        assert!(n > 50, "only {n} matching lines");
        assert!(
            then > 0 && absent > 0,
            "then {then}, absent_after {absent}: the fixtures test nothing"
        );
    }
}

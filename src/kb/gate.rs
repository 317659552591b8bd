//! The gate: the one literal scan that decides whether a line can matter beyond the boot
//! state machine, its digit-blind twin, and the analyzer's own words it lets through.
//!
//! Why a line is skipped is decided here and in [`super::facts`] (the memo of what a text
//! decides); [`super::prefilter`] builds the literal sets the gate is made of.

use aho_corasick::AhoCorasick;
use regex::Regex;

use super::prefilter::{self, Prefilter};
use crate::health;

/// A necessary condition for a line to matter beyond the boot state machine: it may match a
/// rule's `match` pattern (the literals of [`Kb::candidates`]) or a `then`/`absent_after`
/// pattern (the literals of [`Kb::prefilters`]), or it contains one of the analyzer's own
/// words ([`GATE_WORDS`]: error-looking words, platform names). All
/// literals go into one ASCII-case-insensitive automaton, so a line that contains none of
/// them (most lines of a long log) costs a single scan instead of one per literal set; a
/// line that contains one is then checked by each precise test as before.
///
/// The gate has a digit-blind twin ([`Gate::may_match_blind`]): the same literals with every
/// ASCII digit read as `0`, run on a text with the same done to it ([`digit_blind`]). If a
/// literal occurs in a text, its digit-blind form occurs in the digit-blind text (the map
/// keeps lengths and commutes with ASCII case folding), so the twin is a necessary condition
/// too, and its answer depends only on the digit-blind text: it can be memoised for all the
/// texts that differ only in their numbers (`records: 18`, `records: 180`, PIDs, addresses).
#[derive(Debug, Clone)]
pub struct Gate {
    ac: Option<aho_corasick::AhoCorasick>,
    blind: Option<aho_corasick::AhoCorasick>,
}

/// `text` with every ASCII digit replaced by `0`, into `out`.
pub fn digit_blind(text: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(text);
    // In place over a plain copy, as a select without a branch: the compiler turns this
    // loop into vector instructions (with `if is_ascii_digit` it stayed a byte loop).
    for b in out.iter_mut() {
        let digit = b.wrapping_sub(b'0') < 10;
        *b = if digit { b'0' } else { *b };
    }
}

impl Gate {
    pub(super) fn new(
        rules: &prefilter::Candidates,
        others: &[Prefilter],
        words: &[&[&str]],
    ) -> Gate {
        let Some(lits) = rules.literals() else {
            return Gate { ac: None, blind: None };
        };
        let mut all: Vec<Vec<u8>> = lits.to_vec();
        for p in others {
            let Some(lits) = p.literals() else {
                return Gate { ac: None, blind: None };
            };
            all.extend_from_slice(lits);
        }
        all.extend(
            words.iter().flat_map(|ws| ws.iter()).map(|w| w.to_ascii_lowercase().into_bytes()),
        );
        // Contiguous NFAs, not DFAs: each DFA took 1.3 MiB of resident memory, and the
        // automata run only on what the memos have not seen (the digit-blind twin once per
        // text shape, the exact one once per text the twin lets through).
        let build = |lits: Vec<Vec<u8>>| {
            aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                .ascii_case_insensitive(true)
                .build(prefilter::implied_dropped(lits))
                .ok()
        };
        let blind: Vec<Vec<u8>> = all
            .iter()
            .map(|l| {
                let mut b = Vec::new();
                digit_blind(l, &mut b);
                b
            })
            .collect();
        let ac = build(all);
        // Both or neither: a twin without its original would answer for texts it never saw.
        let blind = ac.as_ref().and(build(blind));
        Gate { ac: blind.as_ref().and(ac), blind }
    }

    /// [`Gate::may_match`] for a [`digit_blind`] text: false only when no text that is the
    /// same but for its digits can match a rule or contain one of the words.
    #[inline]
    pub fn may_match_blind(&self, blind_text: &[u8]) -> bool {
        self.blind.as_ref().is_none_or(|ac| !blind_text.is_ascii() || ac.is_match(blind_text))
    }

    /// False only when the line can match no pattern of a rule and contains none of the words.
    #[inline]
    pub fn may_match(&self, text: &str) -> bool {
        // Unicode case folding (`(?i)`) is wider than ASCII folding: non-ASCII text passes.
        self.ac.as_ref().is_none_or(|ac| !text.is_ascii() || ac.is_match(text))
    }
}

/// The words the analyzer looks for on every line, for the knowledge base's
/// [`Gate`]: [`ERRORISH`] and what [`crate::machine::inference`] looks for (platform names).
pub const GATE_WORDS: &[&[&str]] = &[ERRORISH, &["platform", "\"mode\""], health::SIGNAL_WORDS];

/// Words that make a line look like an error, matched case-insensitively.
pub(crate) const ERRORISH: &[&str] = &[
    "error",
    "fail",
    "panic",
    "fatal",
    "refused",
    "timeout",
    "timed out",
    "denied",
    "unable to",
    "cannot",
    "invalid",
    "no such",
    "not found",
    "unreachable",
    "oom",
    // Go's errno texts that hold none of the words above: a line that ends an operation on
    // one of them states a failure (`health::states_os_error`) and must reach the analyzer.
    "operation not permitted",
    "bad file descriptor",
    "device or resource busy",
    "no space left on device",
    "read-only file system",
    "file exists",
    "operation not supported",
    "function not implemented",
    "not a directory",
    "is a directory",
    "directory not empty",
    "too many open files",
    "structure needs cleaning",
    "no medium found",
    // grpc-go's own error texts (`grpc: received message larger than max (…)`).
    "grpc: ",
    "[FATAL] ",
];

/// `re` (`(?i)` over [`ERRORISH`]) answers like the ASCII-case-insensitive automaton on ASCII
/// text; only non-ASCII text, where Unicode case folding differs (`ſ` folds to `s`), needs
/// the regex.
pub(crate) fn is_errorish(ascii: &AhoCorasick, re: &Regex, text: &str) -> bool {
    if text.is_ascii() { ascii.is_match(text) } else { re.is_match(text) }
}

//! Literal prefilters: a cheap necessary condition in front of a [`regex::RegexSet`].
//!
//! Most log lines match no rule at all, and asking a `RegexSet` for *all* the patterns that
//! match a line (`matches`) walks every byte of it through a lazy DFA and allocates the
//! answer. Every match of a pattern, though, starts with one of the pattern's prefix
//! literals, so when none of them occurs in a line the set cannot match it either. A
//! [`Prefilter`] gathers those literals for every pattern of a set into Aho-Corasick
//! automatons (SIMD "Teddy" searchers for small sets): a line that contains none is
//! answered without running the set. A line that contains one runs the set as before, so
//! answers never change; only the work for lines that cannot match is saved.
//!
//! A pattern for which no such literal set exists (`\S+`, `.*`) disables the prefilter of
//! its set: correctness first.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};

/// Literals longer than this are cut (prefixes keep their start, suffixes their end): any
/// part of a required literal is still required, and shorter literals dedup better.
const MAX_LITERAL: usize = 16;

/// A necessary condition for a set of patterns to match a text.
#[derive(Debug, Clone)]
pub struct Prefilter {
    /// Literals that came from case-sensitive parts, matched exactly.
    exact: Option<AhoCorasick>,
    /// Literals of patterns with inline case-insensitivity, matched ASCII-case-insensitively
    /// (a superset of their case variants, which is all a necessary condition needs).
    folded: Option<AhoCorasick>,
    /// False when some pattern has no usable literals: then every text may match.
    usable: bool,
    /// Every literal of both automatons, ASCII-lowercased (for [`crate::kb::Gate`]).
    lits: Vec<Vec<u8>>,
}

impl Prefilter {
    /// A prefilter for `patterns` (Rust `regex` syntax, as given to the `RegexSet`).
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Prefilter {
        let mut exact: Vec<Vec<u8>> = Vec::new();
        let mut folded: Vec<Vec<u8>> = Vec::new();
        let mut any = false;
        for p in patterns {
            any = true;
            let Some(lits) = required_literals(p) else {
                return Prefilter::never();
            };
            // `(?i)` expands to case variants; one folded literal stands for all of them.
            let fold = p.contains("(?i");
            for mut l in lits {
                if fold {
                    l.make_ascii_lowercase();
                    folded.push(l);
                } else {
                    exact.push(l);
                }
            }
        }
        if !any {
            return Prefilter { exact: None, folded: None, usable: true, lits: Vec::new() };
        }
        let lits: Vec<Vec<u8>> =
            exact.iter().chain(&folded).map(|l| l.to_ascii_lowercase()).collect();
        let build = |lits: Vec<Vec<u8>>, fold: bool| -> Result<Option<AhoCorasick>, ()> {
            let keep = implied_dropped(lits);
            if keep.is_empty() {
                return Ok(None);
            }
            // A contiguous NFA: a tenth of a DFA's memory, and it runs only on texts the gate
            // lets through, once per distinct text (the analyzer memoises its answer).
            AhoCorasickBuilder::new()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .prefilter(false)
                .ascii_case_insensitive(fold)
                .match_kind(MatchKind::Standard)
                .build(&keep)
                .map(Some)
                .map_err(|_| ())
        };
        match (build(exact, false), build(folded, true)) {
            (Ok(exact), Ok(folded)) => Prefilter { exact, folded, usable: true, lits },
            _ => Prefilter::never(),
        }
    }

    /// A prefilter that lets everything through.
    fn never() -> Prefilter {
        Prefilter { exact: None, folded: None, usable: false, lits: Vec::new() }
    }

    /// Every literal, ASCII-lowercased; `None` when every text may match.
    pub fn literals(&self) -> Option<&[Vec<u8>]> {
        self.usable.then_some(self.lits.as_slice())
    }

    /// False only when no pattern of the set can match `text`.
    #[inline]
    pub fn may_match(&self, text: &str) -> bool {
        if !self.usable {
            return true;
        }
        self.exact.as_ref().is_some_and(|ac| ac.is_match(text))
            // `(?i)` folds Unicode too (`ſ` matches `s`, `K` matches `k`): on non-ASCII text
            // the ASCII-folding automaton is no necessary condition.
            || self.folded.as_ref().is_some_and(|ac| !text.is_ascii() || ac.is_match(text))
    }
}

/// `lits` sorted and deduplicated, without the literals that contain a shorter one: those are
/// implied by it (`renew failed` by `fail`), so a search for the rest gives the same yes/no
/// with a smaller automaton.
pub fn implied_dropped(mut lits: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    lits.sort();
    lits.dedup();
    lits.iter()
        .filter(|l| !lits.iter().any(|s| s.len() < l.len() && memchr::memmem::find(l, s).is_some()))
        .cloned()
        .collect()
}

/// For each literal that occurs in a text, the patterns that may match it: one automaton over
/// the required literals of every pattern of a set, each literal knowing its patterns. The
/// patterns whose literals occur are the only candidates, so only their own regexes need to
/// run, not the whole set (a line that contains one rule's literal pays for one regex).
///
/// A pattern without literals (`\d+ \w+`) is a candidate for every text. Such patterns used
/// to send every text through a `RegexSet` of all the patterns instead, whose compiled size
/// is the sum of theirs: with 1,000 large patterns it compiled for a minute and then failed
/// the `regex` crate's size limit. Run one by one, each costs its own compiled size (charged
/// to its rules file, see [`super::budget`]) and time linear in the text.
#[derive(Debug, Clone)]
pub struct Candidates {
    /// The literals' automaton; `None` when no pattern has literals.
    ac: Option<AhoCorasick>,
    /// The literals, ASCII-lowercased, sorted; index = pattern id in `ac`.
    keys: Vec<Vec<u8>>,
    /// Pattern indices of each literal, ascending.
    owners: Vec<Vec<u32>>,
    /// Patterns with `(?i)`: on non-ASCII text their literals may be spelt with Unicode
    /// case variants (`ſ` for `s`) that ASCII folding does not see, so they are always
    /// candidates there.
    folded: Vec<u32>,
    /// Patterns without literals: candidates for every text, ascending.
    always: Vec<u32>,
}

impl Candidates {
    /// Candidates for `patterns` (Rust `regex` syntax).
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Candidates {
        let mut lits: Vec<(Vec<u8>, u32)> = Vec::new();
        let mut folded = Vec::new();
        let mut always = Vec::new();
        for (i, p) in patterns.into_iter().enumerate() {
            let Some(req) = required_literals(p) else {
                always.push(i as u32);
                continue;
            };
            if p.contains("(?i") {
                folded.push(i as u32);
            }
            lits.extend(req.into_iter().map(|l| (l.to_ascii_lowercase(), i as u32)));
        }
        // Sorted by literal, then pattern: each literal's owners come out ascending.
        lits.sort();
        lits.dedup();
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<u32>> = Vec::new();
        for (l, i) in lits {
            match owners.last_mut() {
                Some(o) if keys.last() == Some(&l) => o.push(i),
                _ => {
                    keys.push(l);
                    owners.push(vec![i]);
                }
            }
        }
        if keys.is_empty() {
            return Candidates { ac: None, keys, owners, folded, always };
        }
        // ASCII case folding covers `(?i)` patterns and is a superset for the others; a
        // contiguous NFA is small, and it runs only on lines the gate let through.
        let ac = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&keys)
            .ok();
        if ac.is_none() {
            // No automaton for the literals: every pattern is a candidate for every text.
            let n = owners.iter().flatten().chain(&always).map(|&i| i + 1).max().unwrap_or(0);
            return Candidates {
                ac: None,
                keys: Vec::new(),
                owners: Vec::new(),
                folded: Vec::new(),
                always: (0..n).collect(),
            };
        }
        Candidates { ac, keys, owners, folded, always }
    }

    /// Every literal, ASCII-lowercased; `None` when some pattern has none (then every text
    /// may match one).
    pub fn literals(&self) -> Option<&[Vec<u8>]> {
        self.always.is_empty().then_some(self.keys.as_slice())
    }

    /// The patterns that may match `text`, ascending, into `out`.
    pub fn of(&self, text: &str, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.always);
        if !text.is_ascii() {
            out.extend_from_slice(&self.folded);
        }
        if let Some(ac) = &self.ac {
            for m in ac.find_overlapping_iter(text) {
                if let Some(o) = self.owners.get(m.pattern().as_usize()) {
                    out.extend_from_slice(o);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

/// Literals one of which every match of `pattern` contains, each cut to [`MAX_LITERAL`]
/// bytes. `None` when no such set bounds the matches (a match may be anywhere).
fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    // The same parser settings as `regex::Regex::new` (Unicode on, no flags).
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
    required(&hir)
}

/// The most selective literal set required by `hir`: its prefixes, its suffixes, or (for a
/// concatenation) the set of one of its parts, (for an alternation) the union of its
/// branches' sets. On ties the later part wins: log messages put context first and the
/// specific reason last (`waiting for … time sync`).
fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let mut best: Option<Vec<Vec<u8>>> = None;
    let mut consider = |cand: Option<Vec<Vec<u8>>>| {
        if let Some(c) = cand.and_then(normalize) {
            if best.as_ref().is_none_or(|b| score(&c) >= score(b)) {
                best = Some(c);
            }
        }
    };
    consider(extract(hir, ExtractKind::Prefix));
    consider(extract(hir, ExtractKind::Suffix));
    match hir.kind() {
        HirKind::Concat(parts) => {
            for p in parts {
                consider(required(p));
            }
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(required(b)?);
            }
            consider(Some(all));
        }
        HirKind::Capture(c) => consider(required(&c.sub)),
        HirKind::Repetition(r) if r.min >= 1 => consider(required(&r.sub)),
        _ => {}
    }
    best
}

fn extract(hir: &Hir, kind: ExtractKind) -> Option<Vec<Vec<u8>>> {
    let seq = Extractor::new().kind(kind).extract(hir);
    Some(seq.literals()?.iter().map(|l| l.as_bytes().to_vec()).collect())
}

/// Cuts, sorts and dedups a candidate set; `None` if it bounds nothing.
fn normalize(mut lits: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
    if lits.is_empty() || lits.iter().any(Vec::is_empty) {
        return None;
    }
    for l in &mut lits {
        l.truncate(MAX_LITERAL);
    }
    lits.sort();
    lits.dedup();
    Some(lits)
}

/// Literals with more letters (up to 8) first. Only letters count: log lines are full of the
/// punctuation and digits of JSON fields, times and addresses (`"link": "` occurs in every
/// network controller line), so a literal of words says more than one of structure of the
/// same length. Past 8 letters a literal is rare enough, however many alternatives the set
/// has, and the tie goes to the later part of the pattern (see [`required`]).
fn score(lits: &[Vec<u8>]) -> usize {
    let letters = |l: &Vec<u8>| l.iter().filter(|b| b.is_ascii_alphabetic()).count();
    lits.iter().map(letters).min().unwrap_or(0).min(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_hides_a_match() {
        let pats = [
            r"failed: .*?(operation not permitted|permission denied)$",
            r"^waiting for API\s*$",
            r"(?:^|\] )(?:panic: |fatal error: )\S",
            r"\b(?P<svc>apid|trustd) invoked oom-killer",
            r"(?i)failed to pull (?:and unpack )?image.*?(?:: not found)",
        ];
        let set = regex::RegexSet::new(pats).unwrap();
        let pf = Prefilter::new(pats);
        let texts = [
            "task x (1/1): failed: permission denied",
            "waiting for API ",
            "x] panic: boom",
            "fatal error: y",
            "apid invoked oom-killer",
            "FAILED TO PULL image a: not found",
            "service[kubelet](Running): Health check successful",
            "",
        ];
        for t in texts {
            if set.is_match(t) {
                assert!(pf.may_match(t), "{t}");
            }
        }
        assert!(!pf.may_match("service[kubelet](Running): Health check successful"));
    }

    #[test]
    fn unbounded_patterns_disable_it() {
        let pf = Prefilter::new([r"abc", r"\S+"]);
        assert!(pf.may_match("nothing here"));
        // `x` is required even though the match may start anywhere.
        let pf = Prefilter::new([r"abc", r"\S+x"]);
        assert!(!pf.may_match("nothing here"));
        assert!(pf.may_match("a: yx"));
        let pf = Prefilter::new([r"abc", r".*"]);
        assert!(pf.may_match(""));
    }

    #[test]
    fn empty_set_matches_nothing() {
        assert!(!Prefilter::new([]).may_match("anything"));
    }
}

//! What one `--rules` file may cost: caps on its number of rules and on the compiled size
//! of its patterns (rules/SCHEMA.md, "Limits").
//!
//! A regex's compiled program grows with what it spells out, and Unicode classes are large:
//! `\w` is some 700 ranges of code points, a few thousand NFA states once written as UTF-8
//! byte sequences, and `\w{100}` repeats them a hundred times (5.7 MB, 0.15 s to compile).
//! The `regex` crate's own limit (10 MiB per regex) bounds one pattern, not a file of them:
//! 1,000 such rules took 77 s and 4 GB, and a `RegexSet` of all of them compiled for a
//! minute before it failed. So each pattern of a `--rules` file is compiled once at load
//! under a per-pattern limit ([`MAX_PATTERN_BYTES`]), its measured size is charged to the
//! file's budget ([`MAX_FILE_BYTES`]), and a file past either cap, or with more than
//! [`MAX_RULES_PER_FILE`] rules, is refused naming the rule that crossed it. Compile time
//! being about linear in compiled size, the budget bounds the time of a load too.
//!
//! The built-in rules are not charged: they are tested, and all their patterns together
//! measure about 5 MiB.

use regex::{Regex, RegexBuilder};
use regex_automata::meta;

use crate::input::source::size;

/// Most rules one `--rules` file may hold: ten times what the built-in knowledge base holds
/// (about 100). Every line is matched against each rule whose literals it contains, and
/// against every rule without literals, so the rule count bounds the work per line.
pub const MAX_RULES_PER_FILE: usize = 1000;

/// Most one pattern of a `--rules` file may compile to: the `regex` crate's `size_limit` (its
/// Thompson NFA). The largest built-in pattern's NFA is about 90 KiB.
pub const MAX_PATTERN_BYTES: usize = 1 << 20;

/// Most all patterns of one `--rules` file may compile to together, measured as the heap the
/// compiled regexes hold (`regex_automata::meta::Regex::memory_usage`): six times what all
/// the built-in patterns hold, some 400 rules of a few Unicode classes each.
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// The lazy DFA cache of each pattern of a `--rules` file (the `regex` crate's
/// `dfa_size_limit`, 2 MiB by default): what a pattern may add while matching, beyond its
/// compiled size. A pattern whose DFA needs more falls back to a slower engine that needs no
/// such cache; the answers do not change.
pub const DFA_CACHE_BYTES: usize = 256 << 10;

/// Why a pattern was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// It is no valid regex: the `regex` crate's message.
    Syntax(String),
    /// It is valid but over a cap: which, and the way out.
    Cap(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Syntax(m) | Refusal::Cap(m) => f.write_str(m),
        }
    }
}

/// The compiled size left to one rules file.
#[derive(Debug)]
pub(crate) struct Budget {
    left: usize,
}

impl Budget {
    /// The whole [`MAX_FILE_BYTES`].
    pub(crate) fn new() -> Budget {
        Budget { left: MAX_FILE_BYTES }
    }

    /// Compiles `pattern` as [`limited`] will, measures it, charges it, and drops it (the
    /// rule compiles it again on first use): an error says which cap was hit.
    pub(crate) fn charge(&mut self, pattern: &str) -> Result<(), Refusal> {
        let metac = meta::Config::new()
            .match_kind(regex_automata::MatchKind::LeftmostFirst)
            .utf8_empty(true)
            .nfa_size_limit(Some(MAX_PATTERN_BYTES))
            .hybrid_cache_capacity(DFA_CACHE_BYTES);
        let syntaxc = regex_automata::util::syntax::Config::new().utf8(true);
        let re = meta::Builder::new().configure(metac).syntax(syntaxc).build(pattern);
        let used = match re {
            Ok(re) => re.memory_usage(),
            Err(e) if e.size_limit().is_some() => {
                return Err(Refusal::Cap(format!(
                    "it compiles to more than {}, the cap per pattern (Unicode classes are \
                     large: `\\w`, `\\d` and `\\s` match any script; `[0-9]`, `[a-zA-Z0-9_]` or \
                     `(?-u:\\w)` are a fraction of their size)",
                    size(MAX_PATTERN_BYTES as u64)
                )));
            }
            // The `regex` crate's own message, as for any pattern it refuses.
            Err(e) => {
                let why = limited(pattern).err().map_or_else(|| e.to_string(), |e| e.to_string());
                return Err(Refusal::Syntax(why));
            }
        };
        if used > self.left {
            return Err(Refusal::Cap(format!(
                "with it the file's patterns compile to more than {}, the cap per rules file",
                size(MAX_FILE_BYTES as u64)
            )));
        }
        self.left -= used;
        Ok(())
    }

    /// `pattern` compiled for keeps (a scope), charged like [`Budget::charge`].
    pub(crate) fn compile(&mut self, pattern: &str) -> Result<Regex, Refusal> {
        self.charge(pattern)?;
        limited(pattern).map_err(|e| Refusal::Syntax(e.to_string()))
    }
}

/// `pattern` compiled with the caps of a `--rules` file's patterns.
pub(crate) fn limited(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(MAX_PATTERN_BYTES).dfa_size_limit(DFA_CACHE_BYTES).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each built-in pattern fits the per-pattern cap, and all of them the cap per file, with
    /// room to spare: a copy of the built-in rules is a valid rules file.
    #[test]
    fn builtin_patterns_fit_the_caps_of_a_rules_file() {
        let mut b = Budget::new();
        let mut n = 0;
        for rule in &crate::kb::Kb::builtin().rules {
            let s = &rule.spec;
            let scopes = [&s.task, &s.phase, &s.sequence, &s.service, &s.controller, &s.level];
            let pats =
                [Some(&s.pattern), s.then.as_ref().map(|t| &t.pattern), s.absent_after.as_ref()];
            for p in pats.into_iter().chain(scopes.into_iter().map(Option::as_ref)).flatten() {
                b.charge(p).unwrap_or_else(|e| panic!("{}: {e}", s.id));
                n += 1;
            }
        }
        assert!(n > 100, "{n}");
        assert!(b.left > MAX_FILE_BYTES * 3 / 4, "{} left", b.left);
    }

    #[test]
    fn caps_are_hit_with_a_reason() {
        let e = Budget::new().charge(r"\w{200}").expect_err("over the cap per pattern").to_string();
        assert!(e.contains("more than 1 MiB, the cap per pattern"), "{e}");
        let mut b = Budget::new();
        let big = r"\d+ \w+ \w{8}";
        let e = (0..10_000).find_map(|_| b.charge(big).err()).expect("over the cap per file");
        let e = e.to_string();
        assert!(e.contains("more than 64 MiB, the cap per rules file"), "{e}");
        let e = Budget::new().charge("(").expect_err("a syntax error");
        assert!(matches!(&e, Refusal::Syntax(m) if m.contains("unclosed group")), "{e}");
    }
}

//! Talos message catalogue: which line of Talos' source printed a log message.
//!
//! The data is the TSV written by `tools/catalogue/gen.py` (see
//! `tools/catalogue/README.md` for the format). It is compiled into the binary
//! with `include_str!` ([`DATA`]). Nothing is parsed until the first [`lookup`] (or
//! [`catalogue`]) call; after that the parsed entries and the word index live for the rest
//! of the process.
//!
//! Matching: every format string is split into literal text and typed holes
//! (`%s` `%v` `%w`: any text; `%d`: an integer; `%q`: a quoted string; ...).
//! Each entry is indexed by its rarest whole word (a run of ASCII letters and
//! digits that no hole can touch); a message is cut into words, the entries of
//! those words are the candidates, and each candidate's holes are matched by a
//! small backtracking matcher. A candidate must explain the whole message,
//! except when the message was cut (kmsg's `...` at about 976 bytes, or the end
//! of the first line of a multi-line message): then the message must be a
//! prefix of something the format can print, and the match is `partial`.
//!
//! Texts nested in a match are looked up too: the text of a format's last hole
//! (`task %s (%s): failed: %s` -> the error), the `"error"` field of zap JSON
//! after the message, and the line after a `log.New` prefix
//! (`task loadConfig (1/1): 2024/11/02 05:26:48 ...`). Those matches carry
//! `depth > 0` and the index of their `parent`.
//!
//! Ranking and flags: the matches of one text come most specific first. `weak` marks formats
//! with little literal text or a leading hole that swallowed words. `alt` marks a less
//! specific format that fits the same text. For a log whose release is known,
//! [`Catalogue::lookup_release`] drops the entries that do not exist in it.
//!
//! Cost (release build, 2-core VM): first use about 60-90 ms (parse and index 9,000 entries),
//! then about 40-100 µs per lookup. In a debug build: about 0.5 s and 1.5 ms.
//!
//! Only `std` and `regex`.
//!
//! This module owns the data types and the embedded catalogue; `load` reads the TSV and builds
//! the word index, `text` prepares a line's text (prefixes, kmsg cuts, zap fields), `pattern`
//! compiles formats and matches one, `lookup` finds, nests and ranks the matches of a text,
//! and `source` turns the best one into a report's `source`.

mod load;
mod lookup;
mod pattern;
mod source;
#[cfg(test)]
mod tests;
mod text;

use std::collections::HashMap;
use std::sync::OnceLock;

use pattern::Pattern;
pub use source::{releases, source_of, source_of_line};

/// The catalogue text compiled into the binary (`data/catalogue/talos-messages.tsv`).
pub static DATA: &str = include_str!("../../../data/catalogue/talos-messages.tsv");

/// The catalogue parsed from [`DATA`], on first use.
pub fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| Catalogue::parse(DATA).expect("the embedded message catalogue parses"))
}

/// Catalogue entries whose format matches `message` (see [`Catalogue::lookup`]).
pub fn lookup(message: &str) -> Vec<Match<'static>> {
    catalogue().lookup(message)
}

/// One release (Talos minor) of the catalogue.
#[derive(Debug, Clone)]
pub struct Release {
    /// `v1.8`, ..., `main`.
    pub label: String,
    /// Git ref of every repository at that release (`talos` -> `v1.8.4`).
    refs: HashMap<String, String>,
}

#[derive(Debug)]
struct Path {
    repo: usize,
    path: String,
}

#[derive(Debug)]
struct Run {
    first: u16,
    last: u16,
    sites: Vec<(u32, u32)>,
}

#[derive(Debug)]
struct Entry {
    format: String,
    level: String,
    component: String,
    keys: Vec<String>,
    extra: String,
    runs: Vec<Run>,
    pat: Pattern,
}

/// The parsed catalogue with its lookup index.
#[derive(Debug)]
pub struct Catalogue {
    releases: Vec<Release>,
    /// (short name, GitHub owner/name)
    repos: Vec<(String, String)>,
    paths: Vec<Path>,
    entries: Vec<Entry>,
    index: HashMap<String, Vec<u32>>,
    /// First safe word -> entries, for texts cut before their rarest word.
    index_first: HashMap<String, Vec<u32>>,
    /// Entries without a safe word, with their longest literal.
    unindexed: Vec<(u32, String)>,
    /// `log.New` prefixes.
    prefixes: Vec<u32>,
}

/// One catalogue entry that matches (part of) a message.
#[derive(Debug, Clone)]
pub struct Match<'c> {
    /// Format string as in the source (`task %s (%s): failed: %s`).
    pub format: &'c str,
    /// Controller name, `service <id>`, `task <name>`, `sequencer`, or the package path.
    pub component: &'c str,
    /// info, warn, error, debug, fatal, panic, dpanic (zap or sugared); printf, print, fprintf
    /// (std log / fmt); errorf, errnew, grpc (errors); sprintf; event (service state event);
    /// prefix (`log.New` prefix).
    pub level: &'c str,
    /// zap field keys given at the call (`*` for fields not known statically).
    pub keys: &'c [String],
    /// `state=Waiting` for service events, `wrap` for pkg/errors wraps.
    pub extra: &'c str,
    /// First release the entry exists in (`v1.3`).
    pub first_release: &'c str,
    /// Last release the entry exists in (`v1.13`, `main`).
    pub last_release: &'c str,
    /// Every release it exists in, in order (there may be gaps).
    pub releases: Vec<&'c str>,
    /// GitHub repository (`siderolabs/talos`, `cosi-project/runtime`, ...).
    pub repo: &'c str,
    /// File at the latest release the entry exists in.
    pub path: &'c str,
    /// Line in that file.
    pub line: u32,
    /// `https://github.com/<repo>/blob/<ref>/<path>#L<line>` at that release.
    pub url: String,
    /// 0: the message itself; 1..: text nested in the `parent` match.
    pub depth: u8,
    /// Index in the returned list of the match this one is nested in.
    pub parent: Option<usize>,
    /// The zap field whose value matched (`error`), when not the message text.
    pub field: Option<&'static str>,
    /// The text ended before the format did (kmsg truncation, multi-line message).
    pub partial: bool,
    /// For zap calls with literal field keys, when the printed fields are complete:
    /// whether every key of the call is among them.
    pub fields_ok: Option<bool>,
    /// A weak match: the format has less than 8 non-blank bytes of literal text (`panic: %v`), or it starts with a
    /// hole that took several words of the text (`%s/%s/installer:%s`). Weak matches sort
    /// after the others of their depth.
    pub weak: bool,
    /// An alternative: a format with less literal text than the best match of the same text
    /// (same depth and parent) that fits as well (`error opening %s: %w` beside
    /// `error opening manifests directory: %w`). The same format at another place is not one.
    pub alt: bool,
    /// Entry number in the catalogue.
    pub entry: usize,
}

impl Catalogue {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the catalogue has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Release labels in order (`v1.0`, ..., `main`).
    pub fn releases(&self) -> Vec<&str> {
        self.releases.iter().map(|r| r.label.as_str()).collect()
    }

    /// Entries per release, in release order.
    pub fn entries_per_release(&self) -> Vec<(&str, usize)> {
        let mut counts = vec![0usize; self.releases.len()];
        for e in &self.entries {
            for r in &e.runs {
                for c in &mut counts[r.first as usize..=r.last as usize] {
                    *c += 1;
                }
            }
        }
        self.releases.iter().map(|r| r.label.as_str()).zip(counts).collect()
    }
}

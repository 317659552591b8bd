//! Talos message catalogue: which line of Talos' source printed a log message.
//!
//! The data is the TSV written by `tools/catalogue/gen.py` (see
//! `tools/catalogue/README.md` for the format). It is compiled into the binary
//! with `include_str!`; change the `catalogue_data_path!` macro below to move it. Nothing is
//! parsed until the first [`lookup`] (or [`catalogue`]) call; after that the
//! parsed entries and the word index live for the rest of the process.
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

use regex::Regex;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Path of the catalogue TSV, relative to this source file. When the module
/// moves into talos-doctor (say `src/kb/catalogue.rs`) this becomes
/// `"../../data/catalogue/talos-messages.tsv"`.
macro_rules! catalogue_data_path {
    () => {
        "../../data/catalogue/talos-messages.tsv"
    };
}

/// The catalogue text compiled into the binary.
pub static DATA: &str = include_str!(catalogue_data_path!());

/// The catalogue parsed from [`DATA`], on first use.
pub fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(|| Catalogue::parse(DATA).expect("the embedded message catalogue parses"))
}

/// Catalogue entries whose format matches `message` (see [`Catalogue::lookup`]).
pub fn lookup(message: &str) -> Vec<Match<'static>> {
    catalogue().lookup(message)
}

/// Supported data schema (the `V` line).
const SCHEMA: &str = "1";
/// Matches returned for one message at most.
const MAX_MATCHES: usize = 64;
/// Nesting depth at most (message -> error -> wrapped error -> ...).
const MAX_DEPTH: u8 = 8;
/// Messages at least this long that end with "..." were cut by kmsg (at about 976 bytes);
/// shorter ones are first matched with their "..." as text.
const KMSG_CUT: usize = 900;
/// Backtracking steps for one candidate at most.
const MAX_STEPS: usize = 20_000;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    Any,
    Int,
    Hex,
    Quoted,
    Bool,
    Float,
    Type,
    Char,
    Pointer,
    Unicode,
}

#[derive(Debug)]
enum Seg {
    Lit(String),
    Hole(Hole),
}

#[derive(Debug)]
struct Pattern {
    segs: Vec<Seg>,
    /// Bytes of literal text: how specific the format is.
    literal_len: usize,
    /// Non-blank bytes of literal text, for formats with holes (`usize::MAX` without holes).
    solid: usize,
    /// Segment index of the hole whose text is looked up as a nested message.
    tail_hole: Option<usize>,
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
    /// Parses catalogue text (the TSV written by gen.py) and builds the index.
    pub fn parse(text: &str) -> Result<Catalogue, String> {
        let mut cat = Catalogue {
            releases: Vec::new(),
            repos: Vec::new(),
            paths: Vec::new(),
            entries: Vec::new(),
            index: HashMap::new(),
            index_first: HashMap::new(),
            unindexed: Vec::new(),
            prefixes: Vec::new(),
        };
        let mut schema_ok = false;
        for (n, line) in text.lines().enumerate() {
            let bad = |what: &str| format!("catalogue line {}: {what}", n + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            match cols[0] {
                "V" => {
                    if cols.get(1) != Some(&SCHEMA) {
                        return Err(bad("unsupported schema"));
                    }
                    schema_ok = true;
                }
                "G" if cols.len() == 3 => cat.repos.push((cols[1].to_owned(), cols[2].to_owned())),
                "R" if cols.len() == 4 => {
                    let mut refs = HashMap::new();
                    for r in cols[3].split(',') {
                        let (repo, rest) = r.split_once('=').ok_or_else(|| bad("bad ref"))?;
                        let reference = rest.split('~').next().unwrap_or(rest);
                        refs.insert(repo.to_owned(), reference.to_owned());
                    }
                    cat.releases.push(Release { label: cols[2].to_owned(), refs });
                }
                "P" if cols.len() == 4 => {
                    let repo = cat
                        .repos
                        .iter()
                        .position(|(r, _)| r == cols[2])
                        .ok_or_else(|| bad("unknown repo"))?;
                    cat.paths.push(Path { repo, path: cols[3].to_owned() });
                }
                "E" if cols.len() == 7 => {
                    let format = unescape(cols[6]);
                    let level = cols[1].to_owned();
                    let runs = parse_runs(cols[5]).ok_or_else(|| bad("bad sites"))?;
                    if runs.iter().any(|r| {
                        r.last as usize >= cat.releases.len()
                            || r.sites.iter().any(|&(p, _)| p as usize >= cat.paths.len())
                    }) {
                        return Err(bad("site out of range"));
                    }
                    let pat = compile(&format, level == "prefix");
                    cat.entries.push(Entry {
                        format,
                        level,
                        component: unescape(cols[2]),
                        keys: if cols[3].is_empty() {
                            Vec::new()
                        } else {
                            unescape(cols[3]).split(',').map(str::to_owned).collect()
                        },
                        extra: unescape(cols[4]),
                        runs,
                        pat,
                    });
                }
                _ => return Err(bad("unknown record")),
            }
        }
        if !schema_ok {
            return Err("catalogue: no schema line".into());
        }
        cat.build_index();
        Ok(cat)
    }

    fn build_index(&mut self) {
        let words: Vec<Vec<&str>> = self.entries.iter().map(|e| safe_words(&e.pat)).collect();
        let mut df: HashMap<&str, u32> = HashMap::new();
        for ws in &words {
            for w in ws.iter().copied().collect::<HashSet<_>>() {
                *df.entry(w).or_default() += 1;
            }
        }
        let mut index: HashMap<String, Vec<u32>> = HashMap::new();
        let mut index_first: HashMap<String, Vec<u32>> = HashMap::new();
        let mut unindexed = Vec::new();
        let mut prefixes = Vec::new();
        for (i, (e, ws)) in self.entries.iter().zip(&words).enumerate() {
            if e.level == "prefix" {
                prefixes.push(i as u32);
                continue;
            }
            // rarest word; among equally rare ones the longest (at least 3 bytes when there is one)
            let best =
                ws.iter().copied().min_by_key(|w| (w.len() < 3, df[w], usize::MAX - w.len()));
            if let (Some(first), Some(b)) = (ws.first(), best)
                && *first != b
            {
                index_first.entry((*first).to_owned()).or_default().push(i as u32);
            }
            match best {
                Some(w) => index.entry(w.to_owned()).or_default().push(i as u32),
                None => {
                    let longest = e
                        .pat
                        .segs
                        .iter()
                        .filter_map(|s| if let Seg::Lit(l) = s { Some(l.as_str()) } else { None })
                        .max_by_key(|l| l.len())
                        .unwrap_or("")
                        .to_owned();
                    unindexed.push((i as u32, longest));
                }
            }
        }
        self.index = index;
        self.index_first = index_first;
        self.unindexed = unindexed;
        self.prefixes = prefixes;
    }

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

    /// Entries (with nested ones) that match a printed Talos message.
    ///
    /// `message` is the text after the envelope (kernel timestamp, `user: warning: [..]:`,
    /// node address): a leading `[talos] `, a Go log date (`2024/11/02 05:26:45 `), and the
    /// timestamp and level of zap's console output (`2023-05-22T21:05:51.697Z DEBUG `) are
    /// skipped here. zap JSON fields may follow the message (`msg {"component": ...}`), or the
    /// whole line may be a JSON log record with a `"msg"`. A message that ends with `...` is
    /// taken as cut by kmsg. kmsg's `\x5c` is read as a backslash.
    ///
    /// The result lists the matches of the message itself (`depth` 0) first, most specific
    /// format first, then nested matches.
    pub fn lookup(&self, message: &str) -> Vec<Match<'_>> {
        let (text, truncated) = normalize(message);
        let strong = |ms: &[Match<'_>]| ms.iter().any(|m| m.depth == 0 && !m.weak);
        if truncated && text.len() < KMSG_CUT {
            // shorter than what kmsg cuts: "..." may be the message's own
            // ("retrying %d unmount operations...")
            let whole = format!("{text}...");
            let ms = self.lookup_text(&whole, false);
            if strong(&ms) {
                return ms;
            }
        }
        let ms = self.lookup_text(&text, truncated);
        if strong(&ms) {
            return ms;
        }
        // zap's console output puts a named logger's name before the message (zap lines only)
        if let Some(m) = logger_name().find(&text).filter(|_| text.contains(" {\"")) {
            let named = self.lookup_text(&text[m.end()..], truncated);
            if strong(&named) {
                return named;
            }
        }
        ms
    }

    /// [`Catalogue::lookup`] for a log of a known release (`v1.8`, `main`): matches of entries
    /// that do not exist in that release are dropped. The nested matches of a dropped one move
    /// to a kept match of the same text (same depth and parent), or go with it.
    pub fn lookup_release(&self, message: &str, release: &str) -> Vec<Match<'_>> {
        let ms = self.lookup(message);
        let in_rel = |m: &Match<'_>| m.releases.contains(&release);
        // where a match is dropped, its nested matches move to a sibling that stays
        let mut parent: Vec<Option<usize>> = ms.iter().map(|m| m.parent).collect();
        let mut keep = vec![true; ms.len()];
        let mut moved_to: Vec<Option<usize>> = vec![None; ms.len()];
        for i in 0..ms.len() {
            if let Some(p) = parent[i]
                && !keep[p]
            {
                match moved_to[p] {
                    Some(q) => parent[i] = Some(q),
                    None => {
                        keep[i] = false;
                        continue;
                    }
                }
            }
            let m = &ms[i];
            if !in_rel(m) {
                keep[i] = false;
                moved_to[i] = (0..ms.len()).find(|&j| {
                    j != i && ms[j].depth == m.depth && parent[j] == parent[i] && in_rel(&ms[j])
                });
            }
        }
        let mut new_index = vec![None; ms.len()];
        let mut out = Vec::new();
        for (i, mut m) in ms.into_iter().enumerate() {
            if keep[i] {
                m.parent = parent[i].and_then(|p| new_index[p]);
                new_index[i] = Some(out.len());
                out.push(m);
            }
        }
        // where the better fits were dropped, the best of the rest is no alternative
        for i in 0..out.len() {
            let group = |m: &Match<'_>| m.depth == out[i].depth && m.parent == out[i].parent;
            if out.iter().any(|m| group(m) && !m.alt) {
                continue;
            }
            let best = out
                .iter()
                .filter(|m| group(m))
                .map(|m| self.entries[m.entry].pat.literal_len)
                .max();
            if best == Some(self.entries[out[i].entry].pat.literal_len) {
                out[i].alt = false;
            }
        }
        out
    }

    fn lookup_text(&self, text: &str, truncated: bool) -> Vec<Match<'_>> {
        let (msg, fields) = split_fields(text);
        let mut out = Vec::new();
        let msg_partial = truncated && fields.is_none();
        let field_keys = fields.as_ref().filter(|f| f.complete).map(|f| f.keys());
        let controller = fields.as_ref().and_then(|f| {
            f.pairs.iter().find(|(k, _)| k == "controller").and_then(|(_, v)| v.as_deref())
        });
        self.match_text(
            &msg,
            msg_partial,
            0,
            None,
            None,
            Ctx::Line,
            field_keys.as_deref(),
            controller,
            &mut out,
        );
        if let Some(f) = &fields {
            let parent = out.iter().position(|m| m.depth == 0);
            for (key, value) in &f.pairs {
                if let (Some(field), Some(v)) = (nested_field(key), value) {
                    let partial = !f.complete && f.pairs.last().map(|p| &p.0) == Some(key);
                    self.match_text(
                        v,
                        partial,
                        1,
                        parent,
                        Some(field),
                        Ctx::Value,
                        None,
                        controller,
                        &mut out,
                    );
                }
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn match_text<'c>(
        &'c self,
        text: &str,
        partial_ok: bool,
        depth: u8,
        parent: Option<usize>,
        field: Option<&'static str>,
        ctx: Ctx,
        field_keys: Option<&[&str]>,
        controller: Option<&str>,
        out: &mut Vec<Match<'c>>,
    ) {
        if depth > MAX_DEPTH || out.len() >= MAX_MATCHES || text.trim().is_empty() {
            return;
        }
        let text = text.trim_end();
        // gRPC status errors print as `rpc error: code = X desc = <message>`
        if let Some(m) = rpc_prefix().find(text) {
            return self.match_text(
                &text[m.end()..],
                partial_ok,
                depth,
                parent,
                field,
                ctx,
                None,
                controller,
                out,
            );
        }
        // cobra prints a command's error as `Error: <err>` (installer, talosctl)
        if depth == 0
            && ctx == Ctx::Line
            && let Some(rest) = text.strip_prefix("Error: ")
        {
            return self.match_text(
                rest,
                partial_ok,
                depth,
                parent,
                field,
                Ctx::Value,
                None,
                controller,
                out,
            );
        }
        let start = out.len();
        let mut tails: Vec<(usize, usize, bool)> = Vec::new(); // (start, end, partial) per new match
        // Talos upper-cases the first letter of a failed service's error
        // ("Failed to run pre stage: ..." from "failed to run pre stage: %w")
        let lowered = (ctx == Ctx::Value)
            .then(|| {
                let b = text.as_bytes();
                (b.len() > 1 && b[0].is_ascii_uppercase() && b[1].is_ascii_lowercase())
                    .then(|| format!("{}{}", text[..1].to_ascii_lowercase(), &text[1..]))
            })
            .flatten();
        let mut matched = HashSet::new();
        let mut lowered_from = usize::MAX; // first match (relative to start) of the lowered variant
        for (vi, variant) in std::iter::once(text).chain(lowered.as_deref()).enumerate() {
            if vi == 1 {
                lowered_from = out.len() - start;
            }
            for id in self.candidates(variant, partial_ok) {
                let e = &self.entries[id as usize];
                if ctx == Ctx::Value && !VALUE_LEVELS.contains(&e.level.as_str())
                    || matched.contains(&id)
                {
                    continue;
                }
                let Some(res) = match_pattern(&e.pat, variant, partial_ok, true) else { continue };
                matched.insert(id);
                let fields_ok = field_keys.and_then(|have| {
                    let want: Vec<&String> =
                        e.keys.iter().filter(|k| *k != "*" && *k != "error").collect();
                    (!want.is_empty()).then(|| want.iter().all(|k| have.contains(&k.as_str())))
                });
                // a cut text is partial even where the last hole took all of what was left
                let mut m = self.make_match(
                    id as usize,
                    depth,
                    parent,
                    field,
                    partial_ok || res.partial,
                    fields_ok,
                );
                let lead_hole_words = matches!(e.pat.segs.first(), Some(Seg::Hole(_)))
                    && res.caps[0].is_some_and(|(a, b)| text[a..b].contains(' '));
                m.weak = e.pat.solid < 8 || lead_hole_words;
                out.push(m);
                // byte offsets are the same in both variants
                let tail = e.pat.tail_hole.and_then(|h| res.caps[h]).unwrap_or((0, 0));
                tails.push((tail.0, tail.1, partial_ok && tail.1 == text.len()));
            }
        }
        // most specific first; keep each tail with its match
        let mut order: Vec<usize> = (0..out.len() - start).collect();
        order.sort_by_key(|&i| {
            let m = &out[start + i];
            let e = &self.entries[m.entry];
            let last = e.runs.last().map_or(0, |r| r.last);
            (
                m.weak,
                m.fields_ok == Some(false),
                usize::MAX - e.pat.literal_len,
                // a match of the text as printed before one of its lower-cased form
                i >= lowered_from && lowered_from > 0,
                // the controller named by the zap fields first
                controller.is_some_and(|c| c != e.component),
                level_rank(&e.level),
                u16::MAX - last,
                m.entry,
            )
        });
        let as_printed = lowered_from.min(out.len() - start); // matches of the text as printed
        let from_lowered: Vec<bool> = order.iter().map(|&i| i >= as_printed).collect();
        let sorted: Vec<Match<'c>> = order.iter().map(|&i| out[start + i].clone()).collect();
        let tails: Vec<(usize, usize, bool)> = order.iter().map(|&i| tails[i]).collect();
        out.truncate(start);
        out.extend(sorted);
        let end = out.len();
        if let Some(top) = out[start..end].first().map(|m| self.entries[m.entry].pat.literal_len) {
            let printed_best = out[start..end]
                .iter()
                .zip(&from_lowered)
                .filter(|(_, l)| !**l)
                .map(|(m, _)| self.entries[m.entry].pat.literal_len)
                .max();
            for (k, m) in out[start..end].iter_mut().enumerate() {
                let len = self.entries[m.entry].pat.literal_len;
                m.alt = len < top || from_lowered[k] && printed_best.is_some_and(|b| b >= len);
            }
        }

        // nested: the text of the last hole, once per distinct text
        let mut seen = HashSet::new();
        for (i, &(a, b, partial)) in tails.iter().enumerate() {
            if b > a && seen.insert((a, b)) {
                let sub = &text[a..b];
                self.match_text(
                    sub,
                    partial,
                    depth + 1,
                    Some(start + i),
                    None,
                    Ctx::Value,
                    None,
                    controller,
                    out,
                );
            }
        }

        // `log.New` prefixes: the rest is a line of that logger
        if ctx == Ctx::Line {
            for &id in &self.prefixes {
                let e = &self.entries[id as usize];
                if let Some(res) = match_pattern(&e.pat, text, false, false) {
                    if res.end == 0 || res.end >= text.len() {
                        continue;
                    }
                    let idx = out.len();
                    out.push(self.make_match(id as usize, depth, parent, field, false, None));
                    let mut rest = text[res.end..].trim_start();
                    if let Some(m) = go_log_date().find(rest) {
                        rest = &rest[m.end()..];
                    }
                    self.match_text(
                        rest,
                        partial_ok,
                        depth + 1,
                        Some(idx),
                        None,
                        Ctx::Line,
                        None,
                        controller,
                        out,
                    );
                    // a prefix says little unless the line after it is known too
                    let explained = out[idx + 1..].iter().any(|m| m.parent == Some(idx) && !m.weak);
                    if !explained {
                        if out[start..idx].iter().any(|m| m.depth == depth && !m.weak) {
                            out.truncate(idx);
                        } else {
                            out[idx].weak = true;
                        }
                    }
                }
            }
        }
        out.truncate(MAX_MATCHES);
    }

    fn candidates(&self, text: &str, partial: bool) -> Vec<u32> {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for w in words(text) {
            if !seen.insert(w) {
                continue;
            }
            if let Some(v) = self.index.get(w) {
                ids.extend_from_slice(v);
            }
            if partial && let Some(v) = self.index_first.get(w) {
                ids.extend_from_slice(v);
            }
        }
        for (id, lit) in &self.unindexed {
            if text.contains(lit.as_str()) {
                ids.push(*id);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    fn make_match(
        &self,
        id: usize,
        depth: u8,
        parent: Option<usize>,
        field: Option<&'static str>,
        partial: bool,
        fields_ok: Option<bool>,
    ) -> Match<'_> {
        let e = &self.entries[id];
        let last_run = e.runs.last().expect("an entry has a release");
        let first_run = e.runs.first().expect("an entry has a release");
        let (pid, line) = last_run.sites[0];
        let p = &self.paths[pid as usize];
        let (repo_name, gh) = &self.repos[p.repo];
        let rel = &self.releases[last_run.last as usize];
        let reference = rel.refs.get(repo_name).map(String::as_str).unwrap_or("main");
        let releases = e
            .runs
            .iter()
            .flat_map(|r| r.first..=r.last)
            .map(|r| self.releases[r as usize].label.as_str())
            .collect();
        Match {
            format: &e.format,
            component: &e.component,
            level: &e.level,
            keys: &e.keys,
            extra: &e.extra,
            first_release: &self.releases[first_run.first as usize].label,
            last_release: &rel.label,
            releases,
            repo: gh,
            path: &p.path,
            line,
            url: format!("https://github.com/{gh}/blob/{reference}/{}#L{line}", p.path),
            depth,
            parent,
            field,
            partial,
            fields_ok,
            weak: false,
            alt: false,
            entry: id,
        }
    }
}

/// Where a text came from: a printed line, or a value nested in one (an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Line,
    Value,
}

/// Levels whose text can be nested in another message (error values, event texts).
const VALUE_LEVELS: &[&str] = &["errorf", "errnew", "grpc", "sprintf", "event", "fprintf"];

fn level_rank(level: &str) -> u8 {
    match level {
        "printf" | "info" | "warn" | "error" | "debug" | "fatal" | "panic" | "dpanic" | "event" => {
            0
        }
        "errorf" | "errnew" | "grpc" => 1,
        "print" | "fprintf" => 2,
        _ => 3,
    }
}

/// zap fields whose string value is itself a message worth a lookup.
fn nested_field(key: &str) -> Option<&'static str> {
    match key {
        "error" => Some("error"),
        "err" => Some("err"),
        _ => None,
    }
}

fn rpc_prefix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^rpc error: code = [A-Za-z]+ desc = ").expect("regex"))
}

fn logger_name() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z][a-z0-9_.-]*[ \t]+").expect("regex"))
}

fn go_log_date() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)? ")
            .expect("regex")
    })
}

fn ansi() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new("\x1b\\[[0-9;]*[A-Za-z]").expect("regex"))
}

/// Colour codes before a zap level (`\x1b[31mERROR\x1b[0m`) are removed with the level below.
fn ansi_lead() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+)?[ \t]+\x1b\\[[0-9;]*m[A-Z]+\x1b\\[0m[ \t]+",
        )
        .expect("regex")
    })
}

fn zap_console_prefix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+)?[ \t]+(?:DEBUG|INFO|WARN|ERROR|DPANIC|PANIC|FATAL)[ \t]+",
        )
        .expect("regex")
    })
}

/// Skips what Talos puts before its messages; returns the text and whether kmsg cut it.
fn normalize(message: &str) -> (Cow<'_, str>, bool) {
    let mut s = message.trim_end_matches(['\r', '\n', ' ', '\t']);
    if let Some(t) = s.strip_suffix("^M") {
        s = t.trim_end();
    }
    loop {
        let before = s.len();
        s = s.trim_start();
        if let Some(t) = s.strip_prefix("[talos]") {
            s = t.trim_start();
        }
        if let Some(m) = go_log_date().find(s) {
            s = &s[m.end()..];
        }
        if let Some(m) = zap_console_prefix().find(s) {
            s = &s[m.end()..];
        }
        if let Some(m) = ansi_lead().find(s) {
            s = &s[m.end()..];
        }
        if s.len() == before {
            break;
        }
    }
    let truncated = s.ends_with("...");
    if truncated {
        s = &s[..s.len() - 3];
    }
    let mut out = Cow::Borrowed(s);
    if out.contains("\\x5c") {
        out = Cow::Owned(out.replace("\\x5c", "\\"));
    }
    if out.contains('\u{1b}') {
        out = Cow::Owned(ansi().replace_all(&out, "").into_owned());
    }
    (out, truncated)
}

/// zap fields after a message.
#[derive(Debug)]
struct Fields {
    pairs: Vec<(String, Option<String>)>,
    complete: bool,
}

impl Fields {
    fn keys(&self) -> Vec<&str> {
        self.pairs.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// Splits `message {"key": ...}` (or a JSON record with "msg") into message and fields.
fn split_fields(text: &str) -> (Cow<'_, str>, Option<Fields>) {
    if text.starts_with("{\"")
        && let Some((mut f, end)) = parse_object(text, true)
        && end == text.len()
    {
        if let Some(i) = f.pairs.iter().position(|(k, v)| k == "msg" && v.is_some()) {
            let msg = f.pairs.remove(i).1.unwrap_or_default();
            let msg = normalize(&msg).0.into_owned();
            return (Cow::Owned(msg), Some(f));
        }
        return (Cow::Owned(String::new()), Some(f));
    }
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(off) = text[from..].find("{\"") {
        let at = from + off;
        if at > 0 && (bytes[at - 1] == b' ' || bytes[at - 1] == b'\t') {
            // an unclosed object running to the end is a cut line, with or without `...`
            if let Some((f, end)) = parse_object(&text[at..], true)
                && at + end == text.len()
            {
                return (Cow::Borrowed(text[..at - 1].trim_end()), Some(f));
            }
        }
        from = at + 2;
    }
    (Cow::Borrowed(text), None)
}

/// A JSON object at the start of `s`: its top-level keys with string values (other values:
/// None) and the end offset. With `allow_cut`, an object that runs to the end of `s` unclosed
/// is returned with `complete: false`.
fn parse_object(s: &str, allow_cut: bool) -> Option<(Fields, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let mut pairs = Vec::new();
    let ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] as char).is_ascii_whitespace() {
            *i += 1;
        }
    };
    let cut = |pairs: Vec<(String, Option<String>)>| {
        allow_cut.then_some((Fields { pairs, complete: false }, s.len()))
    };
    loop {
        ws(&mut i);
        if i >= b.len() {
            return cut(pairs);
        }
        if b[i] == b'}' {
            return Some((Fields { pairs, complete: true }, i + 1));
        }
        if b[i] == b',' {
            i += 1;
            ws(&mut i);
        }
        if i >= b.len() {
            return cut(pairs);
        }
        if b[i] != b'"' {
            return None;
        }
        let (key, next, closed) = json_string(s, i);
        if !closed {
            return cut(pairs);
        }
        i = next;
        ws(&mut i);
        if i >= b.len() {
            pairs.push((key, None));
            return cut(pairs);
        }
        if b[i] != b':' {
            return None;
        }
        i += 1;
        ws(&mut i);
        if i >= b.len() {
            pairs.push((key, None));
            return cut(pairs);
        }
        if b[i] == b'"' {
            let (val, next, closed) = json_string(s, i);
            pairs.push((key, Some(val)));
            if !closed {
                return cut(pairs);
            }
            i = next;
        } else {
            // number, literal, nested object or array: skip it
            let mut depth = 0i32;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        let (_, next, closed) = json_string(s, i);
                        if !closed {
                            break;
                        }
                        i = next;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b'}' if depth == 0 => break,
                    _ => {}
                }
                i += 1;
            }
            pairs.push((key, None));
            if i >= b.len() {
                return cut(pairs);
            }
        }
    }
}

/// JSON string starting at `s[i] == '"'`: (value, offset after it, closed).
fn json_string(s: &str, i: usize) -> (String, usize, bool) {
    let mut out = String::new();
    let mut chars = s[i + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return (out, i + 1 + off + 1, true),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'b')) => out.push('\u{8}'),
                Some((_, 'f')) => out.push('\u{c}'),
                Some((_, 'u')) => {
                    let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(c);
                    }
                }
                Some((_, c)) => out.push(c),
                None => break,
            },
            c => out.push(c),
        }
    }
    (out, s.len(), false)
}

/// Runs of ASCII letters and digits.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.len() >= 2)
}

/// Words of a pattern's literals that no hole touches (so they are whole words in any
/// message the format prints).
fn safe_words(p: &Pattern) -> Vec<&str> {
    let mut out = Vec::new();
    let n = p.segs.len();
    for (i, seg) in p.segs.iter().enumerate() {
        let Seg::Lit(l) = seg else { continue };
        let open_start = i > 0; // a hole before
        let open_end = i + 1 < n; // a hole after (or the open end of a prefix)
        let b = l.as_bytes();
        let mut j = 0;
        while j < b.len() {
            if !b[j].is_ascii_alphanumeric() {
                j += 1;
                continue;
            }
            let s = j;
            while j < b.len() && b[j].is_ascii_alphanumeric() {
                j += 1;
            }
            let touches = (s == 0 && open_start) || (j == b.len() && open_end);
            if !touches && j - s >= 2 {
                out.push(&l[s..j]);
            }
        }
    }
    out
}

fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
    }
    out
}

/// `0-3:17@120+17@130 4:18@9` -> runs
fn parse_runs(s: &str) -> Option<Vec<Run>> {
    let mut runs = Vec::new();
    for part in s.split(' ') {
        let (rng, sites) = part.split_once(':')?;
        let (a, b) = match rng.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let a = rng.parse().ok()?;
                (a, a)
            }
        };
        let sites = sites
            .split('+')
            .map(|x| {
                let (p, l) = x.split_once('@')?;
                Some((p.parse().ok()?, l.parse().ok()?))
            })
            .collect::<Option<Vec<_>>>()?;
        if sites.is_empty() || a > b {
            return None;
        }
        runs.push(Run { first: a, last: b, sites });
    }
    (!runs.is_empty()).then_some(runs)
}

/// Go format string -> literal segments and typed holes.
fn compile(format: &str, prefix: bool) -> Pattern {
    let mut segs: Vec<Seg> = Vec::new();
    let mut lit = String::new();
    let b = format.as_bytes();
    let mut i = 0;
    let mut last = 0; // start of pending literal bytes
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        lit.push_str(&format[last..i]);
        let mut j = i + 1;
        while j < b.len() && b"-+# 0".contains(&b[j]) {
            j += 1;
        }
        let skip_index = |j: &mut usize| {
            if *j < b.len() && b[*j] == b'[' {
                while *j < b.len() && b[*j] != b']' {
                    *j += 1;
                }
                *j += 1;
            }
        };
        skip_index(&mut j);
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'*') {
            j += 1;
        }
        if j < b.len() && b[j] == b'.' {
            j += 1;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'*') {
                j += 1;
            }
        }
        skip_index(&mut j);
        if j >= b.len() {
            // dangling '%': literal
            lit.push('%');
            i += 1;
            last = i;
            continue;
        }
        let hole = match b[j] {
            b'%' => None,
            b's' | b'v' | b'w' => Some(Hole::Any),
            b'q' => Some(Hole::Quoted),
            b'd' | b'b' | b'o' | b'O' => Some(Hole::Int),
            b'x' | b'X' => Some(Hole::Hex),
            b't' => Some(Hole::Bool),
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' => Some(Hole::Float),
            b'T' => Some(Hole::Type),
            b'c' => Some(Hole::Char),
            b'p' => Some(Hole::Pointer),
            b'U' => Some(Hole::Unicode),
            _ => Some(Hole::Any),
        };
        match hole {
            None => lit.push('%'),
            Some(h) => {
                if !lit.is_empty() {
                    segs.push(Seg::Lit(std::mem::take(&mut lit)));
                }
                segs.push(Seg::Hole(h));
            }
        }
        i = j + 1;
        last = i;
    }
    lit.push_str(&format[last..]);
    if prefix {
        // a log.New prefix as printed by a [talos]-stripped line
        if let Some(Seg::Lit(first)) = segs.first_mut() {
            if let Some(rest) = first.strip_prefix("[talos]") {
                *first = rest.trim_start().to_owned();
            }
        } else if segs.is_empty()
            && let Some(rest) = lit.strip_prefix("[talos]")
        {
            lit = rest.trim_start().to_owned();
        }
    } else {
        let t = lit.trim_end().len();
        lit.truncate(t);
    }
    if !lit.is_empty() {
        segs.push(Seg::Lit(lit));
    }
    if !prefix {
        // leading whitespace of a format does not survive the log pipeline either
        if let Some(Seg::Lit(first)) = segs.first_mut() {
            let t = first.trim_start().to_owned();
            *first = t;
        }
        segs.retain(|s| !matches!(s, Seg::Lit(l) if l.is_empty()));
    }
    let literal_len = segs.iter().map(|s| if let Seg::Lit(l) = s { l.len() } else { 0 }).sum();
    // the last hole, when only punctuation follows it: `...: %w`, `... (%v)`
    let tail_hole = segs.iter().rposition(|s| matches!(s, Seg::Hole(Hole::Any))).filter(|&h| {
        segs[h + 1..].iter().all(|s| match s {
            Seg::Lit(l) => !l.bytes().any(|c| c.is_ascii_alphanumeric()),
            Seg::Hole(_) => false,
        })
    });
    let has_hole = segs.iter().any(|s| matches!(s, Seg::Hole(_)));
    let solid = if has_hole {
        segs.iter()
            .map(|s| {
                if let Seg::Lit(l) = s {
                    l.bytes().filter(|c| !c.is_ascii_whitespace()).count()
                } else {
                    0
                }
            })
            .sum()
    } else {
        usize::MAX
    };
    Pattern { segs, literal_len, solid, tail_hole }
}

impl Hole {
    fn accepts(self, s: &str) -> bool {
        match self {
            Hole::Any => true,
            Hole::Type => !s.is_empty() && !s.contains('\n'),
            Hole::Int => {
                let t = s.trim_start_matches(' ');
                let t = t.strip_prefix(['-', '+']).unwrap_or(t);
                !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit())
            }
            Hole::Hex => {
                let t = s.strip_prefix('-').unwrap_or(s);
                let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
                t.bytes().all(|c| c.is_ascii_hexdigit() || c == b' ')
            }
            Hole::Quoted => {
                let bs = s.as_bytes();
                bs.len() >= 2 && bs[0] == bs[bs.len() - 1] && quoted_body_ok(bs, true)
                    || bs.len() >= 2 && bs[0] == b'[' && bs[bs.len() - 1] == b']'
            }
            Hole::Bool => s == "true" || s == "false",
            Hole::Float => {
                let t = s.trim_start_matches(' ');
                !t.is_empty()
                    && (t.bytes().all(|c| c.is_ascii_digit() || b".eE+-".contains(&c))
                        || matches!(t, "NaN" | "+Inf" | "-Inf"))
            }
            Hole::Char => s.chars().count() == 1,
            Hole::Pointer => s.starts_with("0x") && s[2..].bytes().all(|c| c.is_ascii_hexdigit()),
            Hole::Unicode => s.starts_with("U+"),
        }
    }

    /// `s` can begin what the hole prints (the text was cut inside the hole).
    fn accepts_prefix(self, s: &str) -> bool {
        match self {
            Hole::Int => {
                let t = s.trim_start_matches(' ');
                let t = t.strip_prefix(['-', '+']).unwrap_or(t);
                t.bytes().all(|c| c.is_ascii_digit())
            }
            Hole::Quoted => {
                s.is_empty() || s.starts_with('[') || quoted_body_ok(s.as_bytes(), false)
            }
            Hole::Bool => "true".starts_with(s) || "false".starts_with(s),
            _ => true,
        }
    }
}

/// `s` is what `%q` prints (`"..."`, `` `...` ``, `'.'`): no unescaped closing quote before the
/// end; with `closed`, the last byte is that quote; without, the text may stop anywhere.
fn quoted_body_ok(s: &[u8], closed: bool) -> bool {
    let Some(&q) = s.first() else { return false };
    if !matches!(q, b'"' | b'`' | b'\'') {
        return false;
    }
    let mut i = 1;
    while i < s.len() {
        let c = s[i];
        if c == b'\\' && q != b'`' {
            i += 2;
            continue;
        }
        if c == q {
            return closed && i == s.len() - 1;
        }
        i += 1;
    }
    !closed
}

struct MatchResult {
    /// End of the matched text (the text's length when anchored at the end).
    end: usize,
    partial: bool,
    /// Text of each hole segment on the successful path.
    caps: Vec<Option<(usize, usize)>>,
}

struct Matcher<'a> {
    segs: &'a [Seg],
    text: &'a str,
    partial_ok: bool,
    anchored_end: bool,
    failed: HashSet<(usize, usize)>,
    steps: usize,
    caps: Vec<Option<(usize, usize)>>,
}

/// Matches `text` against a pattern from its start. With `anchored_end` the whole text must
/// be explained; with `partial_ok` the text may end before the pattern does.
fn match_pattern(
    p: &Pattern,
    text: &str,
    partial_ok: bool,
    anchored_end: bool,
) -> Option<MatchResult> {
    // quick reject: the first literal of a format that starts with one
    if let Some(Seg::Lit(l)) = p.segs.first()
        && !text.starts_with(l.as_str())
        && !(partial_ok && l.starts_with(text))
    {
        return None;
    }
    let mut m = Matcher {
        segs: &p.segs,
        text,
        partial_ok,
        anchored_end,
        failed: HashSet::new(),
        steps: 0,
        caps: vec![None; p.segs.len()],
    };
    let (end, partial) = m.go(0, 0)?;
    Some(MatchResult { end, partial, caps: m.caps })
}

impl Matcher<'_> {
    fn go(&mut self, i: usize, pos: usize) -> Option<(usize, bool)> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return None;
        }
        let text = self.text;
        let len = text.len();
        if i == self.segs.len() {
            return (!self.anchored_end || pos == len).then_some((pos, false));
        }
        if self.failed.contains(&(i, pos)) {
            return None;
        }
        let rest = &text[pos..];
        let r = match &self.segs[i] {
            Seg::Lit(l) => {
                if rest.starts_with(l.as_str()) {
                    self.go(i + 1, pos + l.len())
                } else if rest.len() < l.len()
                    && l.starts_with(rest)
                    && (self.partial_ok || self.anchored_end && l.as_bytes()[rest.len()] == b'\n')
                {
                    // cut text, or the first line of a multi-line message
                    Some((len, true))
                } else {
                    None
                }
            }
            Seg::Hole(h) => {
                let h = *h;
                match self.segs.get(i + 1) {
                    Some(Seg::Lit(l)) => {
                        let mut found = None;
                        for (off, _) in rest.match_indices(l.as_str()) {
                            let e = pos + off;
                            if h.accepts(&text[pos..e])
                                && let Some(r) = self.go(i + 1, e)
                            {
                                self.caps[i] = Some((pos, e));
                                found = Some(r);
                                break;
                            }
                            if self.steps > MAX_STEPS {
                                break;
                            }
                        }
                        if found.is_none() && self.anchored_end {
                            // the first line of a multi-line message ends in or after this hole
                            if let Some(k) = l.find('\n') {
                                let e = len.wrapping_sub(k);
                                if k <= rest.len()
                                    && text.is_char_boundary(e)
                                    && text[e..] == l[..k]
                                    && h.accepts(&text[pos..e])
                                {
                                    self.caps[i] = Some((pos, e));
                                    found = Some((len, true));
                                }
                            }
                        }
                        if found.is_none() && self.partial_ok {
                            // cut inside the literal after the hole
                            for k in (1..l.len().min(rest.len() + 1)).rev() {
                                let e = len - k;
                                if e >= pos
                                    && text.is_char_boundary(e)
                                    && l.starts_with(&text[e..])
                                    && h.accepts(&text[pos..e])
                                {
                                    self.caps[i] = Some((pos, e));
                                    found = Some((len, true));
                                    break;
                                }
                            }
                        }
                        if found.is_none() && self.partial_ok && h.accepts_prefix(rest) {
                            // cut inside the hole
                            self.caps[i] = Some((pos, len));
                            found = Some((len, true));
                        }
                        found
                    }
                    None => {
                        if !self.anchored_end {
                            // open end (prefix): take the shortest acceptable text
                            let e = rest
                                .char_indices()
                                .map(|(o, _)| pos + o)
                                .chain(std::iter::once(len))
                                .find(|&e| h.accepts(&text[pos..e]))?;
                            self.caps[i] = Some((pos, e));
                            Some((e, false))
                        } else if h.accepts(rest) {
                            self.caps[i] = Some((pos, len));
                            Some((len, false))
                        } else if self.partial_ok && h.accepts_prefix(rest) {
                            self.caps[i] = Some((pos, len));
                            Some((len, true))
                        } else {
                            None
                        }
                    }
                    Some(Seg::Hole(_)) => {
                        let mut found = None;
                        let ends: Vec<usize> = rest
                            .char_indices()
                            .map(|(o, _)| pos + o)
                            .chain(std::iter::once(len))
                            .collect();
                        for e in ends {
                            if h.accepts(&text[pos..e])
                                && let Some(r) = self.go(i + 1, e)
                            {
                                self.caps[i] = Some((pos, e));
                                found = Some(r);
                                break;
                            }
                            if self.steps > MAX_STEPS {
                                break;
                            }
                        }
                        found
                    }
                }
            }
        };
        if r.is_none() {
            self.failed.insert((i, pos));
        }
        r
    }
}

/// The source of a message in one line for a report: the best top-level match that is not
/// weak (`k8s.KubeletServiceController, internal/app/machined/…/kubelet_service.go:302,
/// v1.2–v1.13`), or `None` when Talos did not print it (kernel, kubelet, etcd text).
pub fn source_of(message: &str) -> Option<String> {
    let m = lookup(message).into_iter().find(|m| m.depth == 0 && !m.weak && !m.alt)?;
    let range = if m.first_release == m.last_release {
        m.first_release.to_owned()
    } else {
        format!("{}–{}", m.first_release, m.last_release)
    };
    Some(format!("{}, {}:{} ({range})", m.component, m.path, m.line))
}

/// [`source_of`] for a whole log line as given (its envelope and escapes removed first).
pub fn source_of_line(line: &str) -> Option<String> {
    let norm = crate::parse::normalize::normalize(line);
    let env = crate::parse::envelope::parse(&norm);
    source_of(&env.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formats<'a>(ms: &'a [Match<'a>], depth: u8) -> Vec<&'a str> {
        ms.iter().filter(|m| m.depth == depth).map(|m| m.format).collect()
    }

    fn find<'a>(ms: &'a [Match<'a>], format: &str) -> &'a Match<'a> {
        ms.iter().find(|m| m.format == format).unwrap_or_else(|| panic!("no {format:?} in {ms:#?}"))
    }

    #[test]
    fn data_parses_and_has_every_release() {
        let cat = catalogue();
        assert!(cat.len() > 5000, "{} entries", cat.len());
        let rels = cat.releases();
        assert_eq!(rels.first(), Some(&"v1.0"));
        assert!(rels.contains(&"v1.13"));
        assert_eq!(rels.last(), Some(&"main"));
        for (rel, n) in cat.entries_per_release() {
            assert!(n > 2000, "{rel}: {n}");
        }
    }

    #[test]
    fn task_failed() {
        let ms = lookup("task setupSharedFilesystems (1/1): failed: invalid argument");
        let m = find(&ms, "task %s (%s): failed: %s");
        assert_eq!(m.depth, 0);
        assert_eq!(m.level, "printf");
        assert_eq!(m.component, "sequencer");
        assert_eq!(m.first_release, "v1.0");
        assert_eq!(m.path, "internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_controller.go");
        assert!(m.url.starts_with("https://github.com/siderolabs/talos/blob/"));
        assert!(m.url.ends_with(&format!(
            "/internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_controller.go#L{}",
            m.line
        )));
        assert_eq!(formats(&ms, 0)[0], "task %s (%s): failed: %s");
    }

    #[test]
    fn phase_and_sequence_failed() {
        let ms = lookup("phase sharedFilesystems (6/10): failed");
        assert_eq!(formats(&ms, 0)[0], "phase %s (%s): failed");
        assert_eq!(ms[0].component, "sequencer");
        let ms = lookup("boot sequence: failed");
        assert_eq!(formats(&ms, 0)[0], "%s sequence: failed");
        let ms = lookup("[talos] 2024/02/06 17:46:19 boot sequence: done: 1m7.749942979s");
        assert_eq!(formats(&ms, 0)[0], "%s sequence: done: %s");
        // the format of a phase that ran tasks
        let ms = lookup("phase ephemeral (8/17): 1 tasks(s)");
        assert_eq!(formats(&ms, 0)[0], "phase %s (%s): %d tasks(s)");
    }

    #[test]
    fn service_restart_forever_nests_the_event() {
        let line = "[talos] 2024/11/02 05:26:45 service[kubelet](Waiting): Error running Containerd(kubelet), \
                    going to restart forever: failed to create task: \"kubelet\": failed to create shim task: OCI \
                    runtime create failed: runc create failed: unable to start container process: error during \
                    container init: failed to fulfil mount request: open /sys/kernel/security: no such file or \
                    directory: unknown";
        let ms = lookup(line);
        let outer = find(&ms, "service[%s](%s): %s");
        assert_eq!(outer.depth, 0);
        assert_eq!(outer.level, "printf");
        assert_eq!(outer.path, "internal/app/machined/pkg/system/service_runner.go");
        let ev = find(&ms, "Error running %v, going to restart forever: %v");
        assert_eq!(ev.depth, 1);
        assert_eq!(ev.level, "event");
        assert_eq!(ev.extra, "state=Waiting");
        assert_eq!(ev.path, "internal/app/machined/pkg/system/runner/restart/restart.go");
        assert_eq!(ms[ev.parent.expect("nested")].format, "service[%s](%s): %s");
        // containerd's text after that is not Talos'
        assert!(ms.iter().all(|m| m.depth <= 3), "{ms:#?}");
    }

    #[test]
    fn service_pre_stage_failed() {
        let ms = lookup(
            "service[apid](Failed): Failed to run pre stage: listen unix /system/run/apid/runtime.sock: bind: address already in use",
        );
        assert_eq!(formats(&ms, 0), ["service[%s](%s): %s"]);
        // v1.0-v1.2: a service event; v1.3 on: the error of ServiceRunner.Run, first letter upper-cased
        let ev = find(&ms, "Failed to run pre stage: %v");
        assert_eq!(ev.level, "event");
        assert_eq!(ev.extra, "state=Failed");
        assert_eq!(ev.last_release, "v1.2");
        let err = find(&ms, "failed to run pre stage: %w");
        assert_eq!(err.level, "errorf");
        assert_eq!(err.depth, 1);
        // the event matched the text as printed, so the lower-cased form is the alternative
        assert!(err.alt);
        let ms = lookup(
            "service[kubelet](Waiting): Waiting for service \"cri\" to be \"up\", time sync, network",
        );
        let top = ms.iter().find(|m| m.depth == 1).expect("nested");
        assert_eq!(top.format, "Waiting for %s");
        assert!(ms.iter().filter(|m| m.format == "waiting for %s").all(|m| m.alt));
        assert_eq!(err.path, "internal/app/machined/pkg/system/service_runner.go");
    }

    #[test]
    fn controller_failed_zap_line() {
        let ms = lookup(
            "controller failed {\"component\": \"controller-runtime\", \"controller\": \"network.LinkStatusController\", \
             \"error\": \"error listing links: incorrect size, want: 184 or 192\"}",
        );
        let m = find(&ms, "controller failed");
        assert_eq!(m.depth, 0);
        assert_eq!(m.level, "error");
        assert_eq!(m.repo, "cosi-project/runtime");
        assert_eq!(m.keys, ["error"]);
        assert!(m.url.starts_with("https://github.com/cosi-project/runtime/blob/"), "{}", m.url);
        // the nested error of the controller named in the fields comes first
        let e = ms.iter().find(|m| m.depth == 1).expect("nested");
        assert_eq!(e.format, "error listing links: %w");
        assert_eq!(e.field, Some("error"));
        assert_eq!(e.component, "network.LinkStatusController");
        assert_eq!(e.path, "internal/app/machined/pkg/controllers/network/link_status.go");
    }

    #[test]
    fn release_filter_and_alternatives() {
        let line = "controller failed {\"component\": \"controller-runtime\", \"controller\": \"network.LinkSpecController\", \
                    \"error\": \"error creating wireguard client: setsockopt: protocol not available\"}";
        let all = catalogue().lookup(line);
        assert!(all.iter().filter(|m| m.depth == 0).count() >= 2);
        let ms = catalogue().lookup_release(line, "v1.0");
        let top: Vec<&Match<'_>> = ms.iter().filter(|m| m.depth == 0).collect();
        assert!(!top.is_empty() && top.iter().all(|m| m.releases.contains(&"v1.0")), "{top:#?}");
        let nested = ms.iter().find(|m| m.depth == 1).expect("nested");
        assert_eq!(nested.format, "error creating wireguard client: %w");
        assert!(!nested.alt);
        assert!(ms[nested.parent.expect("parent")].depth == 0);
        // the generic "error creating %s: %w" fits too, as an alternative
        assert!(ms.iter().any(|m| m.format == "error creating %s: %w" && m.alt));
        // v1.3 on, a failed pre stage is the upper-cased error, no more a service event
        let ms = catalogue().lookup_release(
            "service[apid](Failed): Failed to run pre stage: listen unix /system/run/apid/runtime.sock: bind: address already in use",
            "v1.8",
        );
        let nested: Vec<&Match<'_>> = ms.iter().filter(|m| m.depth == 1).collect();
        assert_eq!(nested[0].format, "failed to run pre stage: %w");
        assert!(!nested[0].alt);
        assert!(ms.iter().all(|m| m.format != "Failed to run pre stage: %v"));
        // "service %q to be %s" is main's; in v1.4 the conditions were joined by ", "
        let line = "service[kubelet](Waiting): Waiting for service \"cri\" to be \"up\", time sync, network";
        assert!(catalogue().lookup(line).iter().any(|m| m.format == "service %q to be %s"));
        let ms = catalogue().lookup_release(line, "v1.4");
        assert!(ms.iter().all(|m| m.releases.contains(&"v1.4")), "{ms:#?}");
        assert_eq!(ms.iter().find(|m| m.depth == 1).map(|m| m.format), Some("Waiting for %s"));
    }

    #[test]
    fn zap_keys_are_checked() {
        let ms = lookup(
            "operator panicked {\"component\": \"controller-runtime\", \"controller\": \"network.OperatorSpecController\", \
             \"stack\": \"goroutine 1\", \"error\": \"panic: boom\", \"operator\": \"dhcp4\"}",
        );
        let m = find(&ms, "operator panicked");
        assert_eq!(m.component, "network.OperatorSpecController");
        assert_eq!(m.fields_ok, Some(true));
        assert!(ms.iter().any(|m| m.format == "panic: %v" && m.depth == 1));
    }

    #[test]
    fn kmsg_truncated_field_and_backslash() {
        let line = "controller failed {\"component\": \"controller-runtime\", \"controller\": \"k8s.KubeletServiceController\", \
                    \"error\": \"controller \\x5c\"k8s.KubeletServiceController\\x5c\" panicked: runtime error: invalid memory \
                    address or nil pointer dereference\\n\\ngoroutine 1193 [running]:\\nruntime/debug.Stack(...)...";
        let ms = lookup(line);
        // one entry per place the text lived in (cosi-project/runtime moved it), the newest first
        let top = formats(&ms, 0);
        assert!(!top.is_empty() && top.iter().all(|f| *f == "controller failed"), "{top:?}");
        assert_eq!(ms[0].last_release, "main");
        let p =
            ms.iter().find(|m| m.format.starts_with("controller %q panicked")).expect("panicked");
        assert!(p.partial);
        assert_eq!(p.repo, "cosi-project/runtime");
    }

    #[test]
    fn kmsg_truncated_message() {
        let mut line = String::from("task startAllServices (1/1): failed: ");
        while line.len() < 970 {
            line.push_str("x ");
        }
        line.push_str("...");
        let ms = lookup(&line);
        assert_eq!(formats(&ms, 0)[0], "task %s (%s): failed: %s");
        // cut inside a literal
        let long = format!("phase {} (6/10): fai...", "x".repeat(950));
        let ms = lookup(&long);
        assert!(find(&ms, "phase %s (%s): failed").partial);
        // a short message's "..." is text
        let ms = lookup("error running phase 5 in boot sequence: tas...");
        assert!(!find(&ms, "error running phase %d in %s sequence: %w").partial);
    }

    #[test]
    fn own_ellipsis_and_named_logger() {
        let ms = lookup("2022/05/08 22:51:42 retrying 1 unmount operations...");
        let m = find(&ms, "retrying %d unmount operations...");
        assert!(!m.partial);
        // cut in the literal after a hole, before the entry's rarest word
        let ms = catalogue().lookup_text("retrying 1 unmount oper", true);
        assert!(find(&ms, "retrying %d unmount operations...").partial);
        let ms = lookup(
            "kubeprism KubePrism is enabled {\"component\": \"controller-runtime\", \"controller\": \"k8s.KubePrismController\", \"endpoint\": \"127.0.0.1:7445\"}",
        );
        let m = find(&ms, "KubePrism is enabled");
        assert_eq!(m.component, "k8s.KubePrismController");
        assert_eq!(m.fields_ok, Some(true));
    }

    #[test]
    fn first_line_of_a_multiline_message() {
        let p = compile("failed to create ext4 filesystem: %w:\n%s\n%s", false);
        let r = match_pattern(&p, "failed to create ext4 filesystem: exit status 1:", false, true)
            .expect("line 1");
        assert!(r.partial);
        let p = compile("controller %q panicked: %s\n\n%s", false);
        let r =
            match_pattern(&p, "controller \"a.B\" panicked: boom", false, true).expect("line 1");
        assert!(r.partial);
        // no newline in the format: the whole text still has to fit
        let p = compile("phase %s (%s): failed", false);
        assert!(match_pattern(&p, "phase boot (1/2): fai", false, true).is_none());
    }

    #[test]
    fn wrapped_errors_nest() {
        let ms = lookup(
            "error running phase 5 in boot sequence: task 1/1: failed, listen unix /system/run/dbus/service.socket: bind: address already in use",
        );
        assert_eq!(formats(&ms, 0)[0], "error running phase %d in %s sequence: %w");
        let t = find(&ms, "task %s: failed, %w");
        assert_eq!(t.depth, 1);
        assert_eq!(t.level, "errorf");
    }

    #[test]
    fn task_logger_prefix() {
        let ms = lookup(
            "task startAllServices (1/1): 2024/11/02 05:26:48 service \"kubelet\" to be \"up\"",
        );
        let p = find(&ms, "[talos] task %s (%s): ");
        assert_eq!(p.level, "prefix");
        assert!(ms.iter().any(|m| m.depth >= 1 && m.format.contains("to be %q")), "{ms:#?}");
    }

    #[test]
    fn retrying_error_from_go_retry() {
        let ms = lookup(
            "retrying error: failed to pull image \"gcr.io/etcd-development/etcd:v3.5.11\": failed to resolve reference",
        );
        let m = find(&ms, "retrying error: %s");
        assert_eq!(m.repo, "siderolabs/go-retry");
        assert_eq!(m.level, "printf");
    }

    #[test]
    fn zap_console_and_multiline_first_line() {
        let ms = lookup(
            "2023-05-22T21:02:46.687Z DEBUG DHCP RENEW {\"component\": \"controller-runtime\", \"controller\": \"network.OperatorSpecController\", \"operator\": \"dhcp4\", \"link\": \"eth0\"}",
        );
        assert!(ms.iter().any(|m| m.depth == 0 && m.format == "DHCP RENEW"), "{ms:#?}");
    }

    #[test]
    fn typed_holes() {
        let p = compile("waiting %d second(s) for %q, %x %t %.2f%%", false);
        assert!(
            match_pattern(&p, "waiting 3 second(s) for \"usb\", 0xff true 1.50%", false, true)
                .is_some()
        );
        assert!(
            match_pattern(&p, "waiting x second(s) for \"usb\", 0xff true 1.50%", false, true)
                .is_none()
        );
        assert!(
            match_pattern(&p, "waiting 3 second(s) for usb, 0xff true 1.50%", false, true)
                .is_none()
        );
        assert!(
            match_pattern(&p, "waiting 3 second(s) for \"usb\", 0xff maybe 1.50%", false, true)
                .is_none()
        );
        // text cut inside the %q
        let r = match_pattern(&p, "waiting 3 second(s) for \"us", true, true).expect("partial");
        assert!(r.partial);
        // a %q ends at its closing quote: this is not a cut "controller %q already registered"
        let p = compile("controller %q already registered", false);
        assert!(match_pattern(&p, "controller \"k8s.X\" panicked: boo", true, true).is_none());
        assert!(
            match_pattern(&p, "controller \"k8s.\\\"X\" already registered", false, true).is_some()
        );
        // a zap message's '%' is literal (gen.py writes it as %%)
        let p = compile("100%% done", false);
        assert!(match_pattern(&p, "100% done", false, true).is_some());
    }

    #[test]
    fn no_match_for_foreign_lines() {
        assert!(
            formats(
                &lookup("apid invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-998"),
                0
            )
            .is_empty()
        );
        assert!(lookup("").is_empty());
    }

    #[test]
    fn parse_rejects_bad_data() {
        assert!(Catalogue::parse("V\t2\n").is_err());
        assert!(Catalogue::parse("E\tinfo\tc\t\t\t0:0@1\tx\n").is_err());
        let tiny = "V\t1\nG\ttalos\tsiderolabs/talos\nR\t0\tv1.0\ttalos=v1.0.6\nR\t1\tmain\ttalos=abc\n\
                    P\t0\ttalos\ta/b.go\nE\tprintf\tsequencer\t\t\t0-1:0@7\thello %s world\n";
        let cat = Catalogue::parse(tiny).expect("parses");
        let ms = cat.lookup("hello there world");
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].url, "https://github.com/siderolabs/talos/blob/abc/a/b.go#L7");
        assert_eq!(ms[0].releases, ["v1.0", "main"]);
    }
}

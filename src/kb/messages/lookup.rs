//! Looking a text up: the message and the texts nested in it (an error in a hole, a zap
//! `error` field, the line after a `log.New` prefix), matched against the candidates of
//! its words, ranked most specific first, and the filter to one release.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

use super::load::words;
use super::pattern::{Seg, match_pattern};
use super::text::{go_log_date, normalize, split_fields};
use super::{Catalogue, Match};

/// Matches returned for one message at most.
pub(super) const MAX_MATCHES: usize = 64;
/// Wrappers no format knows that an error value's lookup looks past, at most.
const MAX_UNKNOWN_WRAPPERS: usize = 3;
/// Depth down to which an error value is retried past an unknown wrapper: a zap field's value,
/// a multi-error's item and the error an item wraps (deeper retries would multiply, three
/// tails a level).
const MAX_RETRY_DEPTH: u8 = 3;

/// Nesting depth at most (message -> error -> wrapped error -> ...).
pub(super) const MAX_DEPTH: u8 = 8;
/// Messages at least this long that end with "..." were cut by kmsg (at about 976 bytes);
/// shorter ones are first matched with their "..." as text.
pub(super) const KMSG_CUT: usize = 900;
/// The shortest text read as the start of a message, or as one after a label: shorter
/// starts (`failed to`, `error reading`) begin hundreds of formats.
pub(super) const MIN_PREFIX_TEXT: usize = 24;

/// `text` without one leading label: a word with no space (a document kind, a field path,
/// a quoted name) and `: `, as a report or a list of errors puts before a message.
fn strip_label(text: &str) -> Option<&str> {
    let (label, rest) = text.split_once(": ")?;
    let ok = !label.is_empty()
        && label.len() <= 64
        && !label.contains(' ')
        && label.bytes().any(|b| b.is_ascii_alphabetic());
    ok.then(|| rest.trim_start())
}

impl Catalogue {
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
        // What a paste does to an error: a message broken over lines keeps its first line
        // alone (`issuing CA or … are required` without its `(.machine.ca, …)`, an error
        // wrapper's `…via platform openstack:` without its cause), and a report or the
        // validator's list puts a label before it (`HostnameConfig: 'auto' and …`, a field
        // path). So a text no format matches is read as the start of a message, then without
        // one leading label: only a text long enough that its start names one format.
        // Not a line with zap fields or a JSON record: their fields say where the message ends.
        if split_fields(&text).1.is_none() {
            let t = text.trim_end();
            let t = t.strip_suffix(':').unwrap_or(t);
            // Only a format that starts with that much literal text: a cut text fits any
            // format that starts with a hole (`%s: %s failed with exit code %d`).
            let anchored = |ms: &[Match<'_>], len: usize| {
                ms.iter().find(|m| m.depth == 0 && !m.weak).is_some_and(|m| {
                    matches!(self.entries[m.entry].pat.segs.first(),
                        Some(Seg::Lit(l)) if l.len().min(len) >= MIN_PREFIX_TEXT)
                })
            };
            // A kmsg-cut text was read as the start of a message above.
            if !truncated && t.len() >= MIN_PREFIX_TEXT {
                let cut = self.lookup_text(t, true);
                if anchored(&cut, t.len()) {
                    return cut;
                }
            }
            if let Some(rest) = strip_label(t).filter(|r| r.len() >= MIN_PREFIX_TEXT) {
                for partial in [false, true] {
                    let unlabelled = self.lookup_text(rest, partial);
                    if anchored(&unlabelled, rest.len()) {
                        return unlabelled;
                    }
                }
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

    pub(super) fn lookup_text(&self, text: &str, truncated: bool) -> Vec<Match<'_>> {
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

        // An error value no format explains as a whole: Go wraps errors as `%s: %w`, so a
        // wrapper the catalogue does not know (another program's, or one whose text a paste
        // changed) may hold a Talos error after one of its first `: `. Only near the top of
        // the chain (MAX_RETRY_DEPTH), so that nested retries stay few.
        if end == start && ctx == Ctx::Value && depth <= MAX_RETRY_DEPTH {
            for (i, _) in text.match_indices(": ").take(MAX_UNKNOWN_WRAPPERS) {
                let before = out.len();
                self.match_text(
                    &text[i + 2..],
                    partial_ok,
                    depth + 1,
                    parent,
                    None,
                    Ctx::Value,
                    None,
                    controller,
                    out,
                );
                if out[before..].iter().any(|m| !m.weak) {
                    break;
                }
                out.truncate(before);
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
pub(super) enum Ctx {
    Line,
    Value,
}

/// Levels whose text can be nested in another message (error values, event texts).
pub(super) const VALUE_LEVELS: &[&str] =
    &["errorf", "errnew", "grpc", "sprintf", "event", "fprintf"];

pub(super) fn level_rank(level: &str) -> u8 {
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
pub(super) fn nested_field(key: &str) -> Option<&'static str> {
    match key {
        "error" => Some("error"),
        "err" => Some("err"),
        _ => None,
    }
}

pub(super) fn rpc_prefix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^rpc error: code = [A-Za-z]+ desc = ").expect("regex"))
}

pub(super) fn logger_name() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z][a-z0-9_.-]*[ \t]+").expect("regex"))
}

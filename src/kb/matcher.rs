//! Matching rules against lines, per node: scopes, `then`/`absent_after` conditions,
//! evidence, and the findings' severity and text.
//!
//! Which rules' `match` pattern a text hits is not decided here: [`super::facts`] answers it
//! once per distinct text (literal candidates from [`super::prefilter`], then each
//! candidate's regex) and hands the rule ids in [`LineCtx::matched`]. Here only those rules
//! are checked against the line's scopes, and the `then`/`absent_after` sets run only where
//! the text's facts say one of their literals occurs and a fired rule waits for them.

use std::collections::BTreeMap;

use super::Kb;
use super::rule::{EventKind, Rule};
use crate::report::{Evidence, Severity};

/// Everything a rule can be scoped on, for one line.
#[derive(Debug, Clone, Copy)]
pub struct LineCtx<'a> {
    /// 1-based line number in its input.
    pub line: u64,
    /// Envelope-free message.
    pub text: &'a str,
    /// Event kind of the line.
    pub event: EventKind,
    /// A service failure line also counts as... nothing else; kept for clarity.
    pub task: Option<&'a str>,
    /// Running phase.
    pub phase: Option<&'a str>,
    /// Running sequence.
    pub sequence: Option<&'a str>,
    /// Service.
    pub service: Option<&'a str>,
    /// Controller.
    pub controller: Option<&'a str>,
    /// Level.
    pub level: Option<&'a str>,
    /// Rules whose `match` pattern matches the text ([`Kb::matching`]), ascending.
    pub matched: &'a [u32],
    /// The `then` patterns that match the text (indices into [`Kb::then_rules`]), ascending:
    /// decided once per distinct text, like `matched`.
    pub then_hits: &'a [u32],
    /// The `absent_after` patterns that match the text (indices into [`Kb::absent_rules`]).
    pub absent_hits: &'a [u32],
}

/// A rule that fired on a node.
#[derive(Debug, Clone)]
pub struct Fired {
    /// Rule index in the knowledge base.
    pub rule: usize,
    /// Evidence lines (first match, then up to 4 more, plus the `then` line).
    pub evidence: Vec<Evidence>,
    /// Named captures of the first match, plus scope values.
    pub captures: BTreeMap<String, String>,
    /// Matching lines seen.
    pub occurrences: u64,
    /// Boots in which it fired.
    pub boots: u32,
    /// Boot number it last fired in.
    pub last_boot: u32,
    /// A later line matched `absent_after`.
    pub recovered: bool,
}

#[derive(Debug, Clone, Default)]
struct Pending {
    count: u32,
    first: Option<(u64, Evidence, BTreeMap<String, String>)>,
}

/// Matching state of one node.
#[derive(Debug, Clone, Default)]
pub struct NodeMatcher {
    /// Fired rules, in firing order.
    pub fired: Vec<Fired>,
    pending: BTreeMap<usize, Pending>,
    boot: u32,
    /// How many of `fired` fired in this boot, have an `absent_after` and are not recovered:
    /// the count a scan of `fired` would find (`awaiting_recovery`, in the tests), kept
    /// up to date where those fields change (`fire`, the recovery loop, `new_boot`), as every
    /// line whose text hits an `absent_after` pattern (a health check) asked it.
    awaiting: usize,
}

/// Most evidence lines kept per finding.
const MAX_EVIDENCE: usize = 5;

fn scope_ok(re: &Option<regex::Regex>, value: Option<&str>) -> bool {
    match re {
        None => true,
        Some(re) => value.is_some_and(|v| re.is_match(v)),
    }
}

fn applies(rule: &Rule, ctx: &LineCtx<'_>) -> bool {
    let event_ok = rule.event.iter().any(|&e| e == EventKind::Any || e == ctx.event);
    event_ok
        && scope_ok(&rule.scopes.task, ctx.task)
        && scope_ok(&rule.scopes.phase, ctx.phase)
        && scope_ok(&rule.scopes.sequence, ctx.sequence)
        && scope_ok(&rule.scopes.service, ctx.service)
        && scope_ok(&rule.scopes.controller, ctx.controller)
        && scope_ok(&rule.scopes.level, ctx.level)
}

fn captures(rule: &Rule, ctx: &LineCtx<'_>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let re = rule.re.get();
    if let Some(c) = re.captures(ctx.text) {
        for name in re.capture_names().flatten() {
            if let Some(m) = c.name(name) {
                map.insert(name.to_owned(), m.as_str().to_owned());
            }
        }
    }
    for (k, v) in [
        ("task", ctx.task),
        ("phase", ctx.phase),
        ("sequence", ctx.sequence),
        ("service", ctx.service),
        ("controller", ctx.controller),
    ] {
        if let Some(v) = v {
            map.entry(k.to_owned()).or_insert_with(|| v.to_owned());
        }
    }
    // A group of an alternative that did not match is empty: rules write one placeholder per
    // alternative side by side (`{dev}{dev2}{dev3}`, whichever matched), and an unfilled one
    // left `{dev2}` in the text a user reads.
    for name in re.capture_names().flatten() {
        map.entry(name.to_owned()).or_default();
    }
    map
}

impl NodeMatcher {
    /// A new boot began: rules may fire again and count another boot.
    pub fn new_boot(&mut self) {
        self.boot += 1;
        self.pending.clear();
        // Every finding fired in an earlier boot now.
        self.awaiting = 0;
    }

    /// The findings of this boot that wait for their `absent_after` line, counted by a scan:
    /// what `awaiting` keeps (the tests compare them).
    #[cfg(test)]
    pub(crate) fn awaiting_recovery(&self, kb: &Kb) -> usize {
        self.fired
            .iter()
            .filter(|f| {
                f.last_boot == self.boot && !f.recovered && kb.rules[f.rule].absent_after.is_some()
            })
            .count()
    }

    /// The kept count of `awaiting_recovery`.
    #[cfg(test)]
    pub(crate) fn awaiting_kept(&self) -> usize {
        self.awaiting
    }

    /// Checks one line. `evidence` builds the evidence for this line only when needed.
    /// Returns the indices (into `fired`) of findings that got this line as evidence, so
    /// the caller can attach the following lines as context.
    pub fn on_line(
        &mut self,
        kb: &Kb,
        ctx: &LineCtx<'_>,
        evidence: &mut dyn FnMut() -> Evidence,
    ) -> Vec<(usize, usize)> {
        let mut touched = Vec::new();
        // The sets' answers come with the text's facts; they matter only while something waits.
        let awaits_recovery = !ctx.absent_hits.is_empty() && self.awaiting > 0;
        if awaits_recovery {
            for &i in ctx.absent_hits {
                let rule = kb.absent_rules[i as usize];
                for f in
                    self.fired.iter_mut().filter(|f| f.rule == rule && f.last_boot == self.boot)
                {
                    // Another line than the one that fired: lines come in input order, except
                    // the events of a `talosctl service` block, fed oldest (last) first.
                    if !f.recovered && f.evidence.first().is_some_and(|e| e.line != ctx.line) {
                        f.recovered = true;
                        // `rule` has an `absent_after` (it is in `absent_rules`).
                        self.awaiting -= 1;
                    }
                }
            }
        }
        let awaits_then = !ctx.then_hits.is_empty()
            && self.pending.iter().any(|(ri, p)| match (&kb.rules[*ri].then, &p.first) {
                (Some((_, within)), Some((l, _, _))) => ctx.line.saturating_sub(*l) <= *within,
                _ => false,
            });
        if awaits_then {
            for &i in ctx.then_hits {
                let ri = kb.then_rules[i as usize];
                let Some((_, within)) = &kb.rules[ri].then else { continue };
                let ready = self
                    .pending
                    .get(&ri)
                    .and_then(|p| p.first.as_ref())
                    .filter(|(l, _, _)| ctx.line.saturating_sub(*l) <= *within)
                    .cloned();
                if let Some((_, first, caps)) = ready {
                    self.pending.remove(&ri);
                    if let Some(t) = self.fire(kb, ri, first, caps, ctx) {
                        let ev = evidence();
                        let f = &mut self.fired[t];
                        f.evidence.push(ev);
                        touched.push((t, f.evidence.len() - 1));
                    }
                }
            }
        }
        for &ri in ctx.matched {
            let ri = ri as usize;
            let rule = &kb.rules[ri];
            if !applies(rule, ctx) {
                continue;
            }
            if let Some(fi) =
                self.fired.iter().position(|f| f.rule == ri && f.last_boot == self.boot)
            {
                let f = &mut self.fired[fi];
                f.occurrences += 1;
                if f.evidence.len() < MAX_EVIDENCE && rule.then.is_none() {
                    f.evidence.push(evidence());
                    touched.push((fi, f.evidence.len() - 1));
                }
                continue;
            }
            let need = rule.spec.min_count.unwrap_or(1).max(1);
            let p = self.pending.entry(ri).or_default();
            p.count += 1;
            // A `then` rule waits for its second line only `within` lines: a first line that
            // has expired is replaced by this newer one.
            let expired = match (&rule.then, &p.first) {
                (Some((_, within)), Some((l, _, _))) => ctx.line.saturating_sub(*l) > *within,
                _ => false,
            };
            if p.first.is_none() || expired {
                p.first = Some((ctx.line, evidence(), captures(rule, ctx)));
            }
            if rule.then.is_some() || p.count < need {
                continue;
            }
            let Some(p) = self.pending.remove(&ri) else { continue };
            let Some((_, first, caps)) = p.first else { continue };
            let occurrences = u64::from(p.count);
            if let Some(fi) = self.fire(kb, ri, first, caps, ctx) {
                let f = &mut self.fired[fi];
                f.occurrences = occurrences;
                touched.push((fi, 0));
                if occurrences > 1 && f.evidence.len() < MAX_EVIDENCE {
                    f.evidence.push(evidence());
                    touched.push((fi, f.evidence.len() - 1));
                }
            }
        }
        touched
    }

    fn fire(
        &mut self,
        kb: &Kb,
        ri: usize,
        first: Evidence,
        captures: BTreeMap<String, String>,
        _ctx: &LineCtx<'_>,
    ) -> Option<usize> {
        let boot = self.boot;
        // A finding of this boot that is not recovered: it awaits recovery if it can have one.
        let kb_absent = kb.rules[ri].absent_after.is_some();
        if let Some(fi) = self.fired.iter().position(|f| f.rule == ri) {
            let f = &mut self.fired[fi];
            if f.last_boot == boot {
                return None;
            }
            // Fired again in a later boot: the latest boot is the one diagnosed.
            self.awaiting += usize::from(kb_absent);
            f.boots += 1;
            f.last_boot = boot;
            f.evidence = vec![first];
            f.captures = captures;
            f.occurrences += 1;
            f.recovered = false;
            return Some(fi);
        }
        self.awaiting += usize::from(kb_absent);
        self.fired.push(Fired {
            rule: ri,
            evidence: vec![first],
            captures,
            occurrences: 1,
            boots: 1,
            last_boot: boot,
            recovered: false,
        });
        Some(self.fired.len() - 1)
    }
}

/// The severity a fired rule ends up with.
pub fn severity(rule: &Rule, fired: &Fired) -> Severity {
    if fired.recovered {
        rule.spec.recovered_severity.unwrap_or(Severity::Warning).min(rule.spec.severity)
    } else {
        rule.spec.severity
    }
}

/// Replaces `{name}` placeholders with captures; unknown names stay as written.
pub fn interpolate(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if after[..close].chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && close > 0 =>
            {
                let key = &after[..close];
                match vars.get(key) {
                    // An empty value between two spaces leaves one (`on link {link} (…`).
                    Some(v) if v.is_empty() => {
                        if out.ends_with(' ') && after[close + 1..].starts_with(' ') {
                            out.pop();
                        }
                    }
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation() {
        let mut v = BTreeMap::new();
        v.insert("svc".to_owned(), "kubelet".to_owned());
        v.insert("none".to_owned(), String::new());
        let cases = [
            ("service {svc} failed", "service kubelet failed"),
            // A group that took no part in the match is empty, and leaves one space.
            ("on link {none} (excerpt)", "on link (excerpt)"),
            ("sda6{none}{none}: bad", "sda6: bad"),
            ("{unknown} stays", "{unknown} stays"),
            ("json {\"a\": 1}", "json {\"a\": 1}"),
            ("{", "{"),
            ("{svc}{svc}", "kubeletkubelet"),
        ];
        for (t, want) in cases {
            assert_eq!(interpolate(t, &v), want);
        }
    }
}

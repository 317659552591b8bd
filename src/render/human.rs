//! The human report: a verdict line, the boot timeline with never-reached phases, the
//! failing task, and each finding with its cause, numbered fix and evidence lines.

use std::io::{self, Write};

use colored::Colorize;

use super::RenderOptions;
use crate::report::{
    Evidence, Finding, NodeReport, Outcome, Report, SequenceReport, Severity, State,
};

struct Marks {
    done: &'static str,
    failed: &'static str,
    running: &'static str,
    pending: &'static str,
    skipped: &'static str,
    bar: &'static str,
    arrow: &'static str,
    sep: &'static str,
}

const UNICODE: Marks = Marks {
    done: "✓",
    failed: "✗",
    running: "▶",
    pending: "·",
    skipped: "-",
    bar: "│",
    arrow: "▶",
    sep: "›",
};
const ASCII: Marks = Marks {
    done: "ok",
    failed: "XX",
    running: ">>",
    pending: "..",
    skipped: "--",
    bar: "|",
    arrow: ">",
    sep: ">",
};

struct P<'a> {
    o: &'a RenderOptions,
    m: &'static Marks,
}

impl P<'_> {
    fn red(&self, s: &str) -> String {
        if self.o.color { s.red().bold().to_string() } else { s.to_owned() }
    }
    fn green(&self, s: &str) -> String {
        if self.o.color { s.green().to_string() } else { s.to_owned() }
    }
    fn yellow(&self, s: &str) -> String {
        if self.o.color { s.yellow().to_string() } else { s.to_owned() }
    }
    fn dim(&self, s: &str) -> String {
        if self.o.color { s.dimmed().to_string() } else { s.to_owned() }
    }
    fn bold(&self, s: &str) -> String {
        if self.o.color { s.bold().to_string() } else { s.to_owned() }
    }
    fn cyan(&self, s: &str) -> String {
        if self.o.color { s.cyan().to_string() } else { s.to_owned() }
    }
    fn mark(&self, st: State) -> String {
        match st {
            State::Done => self.green(self.m.done),
            State::Failed => self.red(self.m.failed),
            State::Running => self.yellow(self.m.running),
            State::Pending => self.dim(self.m.pending),
            State::Skipped => self.dim(self.m.skipped),
        }
    }
}

mod fix;
mod text;

use fix::fix_step;
pub(crate) use text::wrap;
use text::{duration, split_line};

fn verdict(p: &P<'_>, n: &NodeReport, top: Option<&str>) -> String {
    let who = if n.node == "-" { String::new() } else { format!(" on node `{}`", n.node) };
    match n.outcome {
        Outcome::Failed => {
            let place = match &n.failure {
                // Not a sequencer step (`watch`: the container exited or loops): the error.
                Some(f) if f.sequence.is_empty() && f.phase.is_none() && f.task.is_none() => {
                    let at = if f.line > 0 { format!(" (line {})", f.line) } else { String::new() };
                    format!(": {}{at}", f.error.as_deref().unwrap_or("failed"))
                }
                Some(f) => {
                    let mut s = format!("{} sequence", f.sequence);
                    if let Some(ph) = &f.phase {
                        s.push_str(&format!(" {} phase {ph}", p.m.sep));
                        if let Some(i) = &f.phase_index {
                            s.push_str(&format!(" ({i})"));
                        }
                    }
                    if let Some(t) = &f.task {
                        s.push_str(&format!(" {} task {t}", p.m.sep));
                    }
                    if let Some(e) = &f.error {
                        s.push_str(&format!(": {e}"));
                    }
                    format!(" at {s} (line {})", f.line)
                }
                // A failure outside the sequencer: its known cause, else the signal that shows it.
                None => top
                    .map(|t| format!(": {t}"))
                    .or_else(|| n.stall.as_ref().map(|s| format!(": {}", s.reason)))
                    .unwrap_or_default(),
            };
            let step = n
                .failure
                .as_ref()
                .is_some_and(|f| !f.sequence.is_empty() || f.phase.is_some() || f.task.is_some());
            let what = if step || n.sequences.iter().any(|s| s.name == "boot") {
                "boot FAILED"
            } else {
                // No sequencer lines: the failure is known from other lines (kernel, services).
                "FAILED"
            };
            format!("{} {}{who}{place}", p.red(p.m.failed), p.red(what))
        }
        Outcome::Stalled => {
            let why = n.stall.as_ref().map(|s| {
                let at = [s.phase.as_deref(), s.task.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(&format!(" {} ", p.m.sep));
                if at.is_empty() {
                    format!(": {}", s.reason)
                } else {
                    format!(" in {at}: {}", s.reason)
                }
            });
            format!(
                "{} {}{who}{}",
                p.yellow(p.m.running),
                p.yellow("boot STALLED"),
                why.unwrap_or_default()
            )
        }
        Outcome::Succeeded => {
            let took = n
                .sequences
                .iter()
                .find(|s| s.name == "boot" && s.state == State::Done)
                .and_then(|s| s.duration_ms)
                .map(|d| format!(" (boot sequence done in {})", duration(d)))
                .unwrap_or_default();
            format!("{} {}{who}{took}", p.green(p.m.done), p.green("boot succeeded"))
        }
        Outcome::Running => {
            let at = n
                .sequences
                .iter()
                .rev()
                .find(|s| s.state == State::Running)
                .and_then(|s| {
                    s.phases.iter().rev().find(|ph| ph.state == State::Running).map(|ph| {
                        format!(
                            ": {} sequence {} phase {} ({}/{})",
                            s.name,
                            p.m.sep,
                            ph.name,
                            ph.index,
                            s.phase_count.unwrap_or(0)
                        )
                    })
                })
                .unwrap_or_default();
            format!("{} boot in progress{who}{at}", p.yellow(p.m.running))
        }
        // No boot in view (e.g. `inspect`), but known problems: lead with them.
        Outcome::Unknown if top.is_some() => {
            format!(
                "{} {}{who}: {}",
                p.red(p.m.failed),
                p.red("problems found"),
                top.unwrap_or_default()
            )
        }
        Outcome::Unknown => format!("? no Talos boot sequence seen{who}"),
    }
}

fn node_header(p: &P<'_>, n: &NodeReport) -> String {
    let mut bits = Vec::new();
    match &n.talos_version {
        Some(v) => bits.push(format!("Talos {v}")),
        None => bits.push("Talos version unknown".into()),
    }
    bits.push(format!(
        "{} mode",
        serde_json::to_value(n.mode)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    ));
    if n.boots > 1 {
        bits.push(format!(
            "{} boots in this log (restart loop?), diagnosing the last that got anywhere",
            n.boots
        ));
    }
    let mut s = p.dim(&format!("  {}", bits.join(" · ")));
    s.push('\n');
    for e in &n.version_evidence {
        s.push_str(&p.dim(&format!("    version: {e}")));
        s.push('\n');
    }
    s
}

fn timeline(p: &P<'_>, seqs: &[SequenceReport], w: &mut dyn Write) -> io::Result<()> {
    for s in seqs {
        let dur = s.duration_ms.map(|d| format!(" in {}", duration(d))).unwrap_or_default();
        let count =
            s.phase_count.map(|c| format!("{c} phase(s)")).unwrap_or_else(|| "phases ?".into());
        let state = match s.state {
            State::Done => format!("done{dur}"),
            State::Failed => p.red("failed"),
            State::Running => p.yellow("did not finish"),
            State::Pending => "pending".into(),
            State::Skipped => "skipped".into(),
        };
        let name = if s.name.is_empty() { "(unnamed)" } else { s.name.as_str() };
        writeln!(w, "  {} {} sequence: {count}, {state}", p.mark(s.state), p.bold(name))?;
        if s.phases.is_empty() {
            continue;
        }
        let total = s.phase_count.unwrap_or(0);
        let width = s.phases.iter().map(|ph| ph.name.chars().count()).max().unwrap_or(10).max(10);
        for ph in &s.phases {
            let idx = if ph.index > 0 { format!("{:>2}/{total}", ph.index) } else { " ?/?".into() };
            let what = match ph.state {
                State::Done if ph.inferred => p.dim("done (not in this log)"),
                State::Done => ph.duration_ms.map(duration).unwrap_or_else(|| "done".into()),
                State::Failed => p.red("FAILED"),
                State::Running => p.yellow("running, never finished"),
                State::Pending => p.dim("never reached"),
                State::Skipped => p.dim("skipped"),
            };
            writeln!(w, "      {} {idx} {:<width$}  {what}", p.mark(ph.state), ph.name)?;
            if matches!(ph.state, State::Failed | State::Running) {
                for t in &ph.tasks {
                    let err =
                        t.error.as_deref().map(|e| format!(": {}", p.red(e))).unwrap_or_default();
                    let line = t.line.map(|l| p.dim(&format!("  (line {l})"))).unwrap_or_default();
                    writeln!(w, "            {} task {}{err}{line}", p.mark(t.state), t.name)?;
                }
            }
        }
    }
    Ok(())
}

/// One evidence or context line: the gutter (`▶ 67 │`), then the text, wrapped under
/// itself when it is wider than the room left (never clipped: the error text is at the end).
fn gutter_line(
    p: &P<'_>,
    w: &mut dyn Write,
    key: bool,
    no: Option<u64>,
    numw: usize,
    text: &str,
    width: usize,
) -> io::Result<()> {
    // "  ▶ " or "    ", the number, " │ ".
    let room = width.saturating_sub(numw + 7).max(30);
    let num = format!("{:>numw$}", no.map(|n| n.to_string()).unwrap_or_default());
    let blank = " ".repeat(numw);
    // A tab is as wide as the terminal's tab stop says: lay it out as spaces we can count.
    // A newline (decoded from a JSON envelope) would break the gutter: show it.
    let text = text.replace('\t', "    ").replace('\n', "\\n");
    for (i, piece) in split_line(&text, room).into_iter().enumerate() {
        let lead = if i == 0 && key { format!("  {} ", p.red(p.m.arrow)) } else { "    ".into() };
        let num = match (i, key) {
            (0, true) => p.bold(&num),
            (0, false) => p.dim(&num),
            _ => blank.clone(),
        };
        let (bar, text) = if key {
            (p.m.bar.to_owned(), piece.to_owned())
        } else {
            (p.dim(p.m.bar), p.dim(piece))
        };
        writeln!(w, "{lead}{num} {bar} {text}")?;
    }
    Ok(())
}

fn evidence(p: &P<'_>, ev: &[Evidence], width: usize, w: &mut dyn Write) -> io::Result<()> {
    let numw = ev
        .iter()
        .flat_map(|e| {
            std::iter::once(e.line)
                .chain(e.before.iter().map(|c| c.line))
                .chain(e.after.iter().map(|c| c.line))
        })
        .max()
        .unwrap_or(1)
        .to_string()
        .len();
    let mut last_printed = 0u64;
    for (i, e) in ev.iter().enumerate() {
        if let Some(input) = &e.input {
            writeln!(w, "    {}", p.dim(&format!("── {input}")))?;
            last_printed = 0;
        }
        // Context after a line stops where the next evidence line's own view begins, so
        // that no evidence line is taken for context already shown and left out.
        let next =
            ev.get(i + 1).filter(|n| n.line > 0 && (n.input.is_none() || n.input == e.input));
        let limit = next.map_or(u64::MAX, |n| n.before.first().map_or(n.line, |c| c.line));
        if last_printed != 0 && e.before.first().map_or(e.line, |c| c.line) > last_printed + 1 {
            writeln!(w, "    {:>numw$} {}", "", p.dim("⋮"))?;
        }
        for c in e.before.iter().filter(|c| c.line > last_printed) {
            gutter_line(p, w, false, Some(c.line), numw, &c.text, width)?;
        }
        if e.line == 0 {
            // Not from the log (e.g. `docker inspect` facts): no line number to show.
            gutter_line(p, w, true, None, numw, &e.text, width)?;
            continue;
        }
        if e.line > last_printed {
            gutter_line(p, w, true, Some(e.line), numw, &e.text, width)?;
        }
        last_printed = last_printed.max(e.line);
        let floor = last_printed;
        for c in e.after.iter().filter(|c| c.line > floor && c.line < limit) {
            gutter_line(p, w, false, Some(c.line), numw, &c.text, width)?;
            last_printed = c.line;
        }
    }
    Ok(())
}

fn finding(
    p: &P<'_>,
    i: usize,
    total: usize,
    f: &Finding,
    multi_node: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    let sev = match f.severity {
        Severity::Error => p.red("error"),
        Severity::Warning => p.yellow("warning"),
        Severity::Info => p.cyan("info"),
    };
    let node = if multi_node { format!(" · node {}", f.node) } else { String::new() };
    let rec = if f.recovered { " · recovered later" } else { "" };
    writeln!(
        w,
        "{} {sev} · {} · {}{node}{rec}",
        p.bold(&format!("[{}/{}]", i + 1, total)),
        f.id,
        f.category
    )?;
    writeln!(w, "  {}", p.bold(&f.title))?;
    writeln!(w)?;
    writeln!(w, "  {}", p.bold("Why"))?;
    write!(w, "{}", wrap(&f.root_cause, p.o.width, "    "))?;
    writeln!(w)?;
    writeln!(w, "  {}", p.bold("Fix"))?;
    for (n, step) in f.remediation.iter().enumerate() {
        fix_step(p, n + 1, step, w)?;
    }
    if let Some(v) = &f.fixed_in {
        writeln!(w, "    {}", p.dim(&format!("(fixed in Talos {v})")))?;
    }
    writeln!(w)?;
    let times =
        if f.occurrences > 1 { format!(" (seen {} times", f.occurrences) } else { String::new() };
    let boots = if f.boots > 1 {
        format!("{} in {} boots)", if times.is_empty() { " (" } else { ", " }, f.boots)
    } else if times.is_empty() {
        String::new()
    } else {
        ")".into()
    };
    writeln!(w, "  {}{}{}", p.bold("Evidence"), times, boots)?;
    evidence(p, &f.evidence, p.o.width, w)?;
    if !f.references.is_empty() {
        writeln!(w)?;
        writeln!(w, "  {}", p.bold("References"))?;
        for r in &f.references {
            writeln!(w, "    {}", p.dim(r))?;
        }
    }
    writeln!(w)
}

/// Writes the human report.
pub fn render(report: &Report, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let p = P { o: opts, m: if opts.unicode { &UNICODE } else { &ASCII } };
    if report.nodes.is_empty() {
        writeln!(w, "? no input lines: nothing to analyze")?;
    }
    let multi = report.nodes.len() > 1;
    for n in &report.nodes {
        let top = report
            .findings
            .iter()
            .find(|f| f.node == n.node && f.severity == Severity::Error)
            .map(|f| f.title.as_str());
        writeln!(w, "{}", verdict(&p, n, top))?;
        write!(w, "{}", node_header(&p, n))?;
        if !n.sequences.is_empty() {
            writeln!(w)?;
            timeline(&p, &n.sequences, w)?;
        }
        writeln!(w)?;
    }
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| opts.verbose || f.severity >= Severity::Warning)
        .collect();
    let hidden = report.findings.len() - shown.len();
    if !shown.is_empty() {
        let head = if shown[0].severity == Severity::Error {
            "Diagnosis (most likely cause first)"
        } else {
            "Notes"
        };
        writeln!(w, "{}", p.bold(head))?;
        writeln!(w)?;
        for (i, f) in shown.iter().enumerate() {
            finding(&p, i, shown.len(), f, multi, w)?;
        }
    }
    for u in &report.unexplained {
        let node = if multi { format!(" on node `{}`", u.node) } else { String::new() };
        writeln!(w, "{}", p.yellow(&format!("No known cause matched{node}.")))?;
        writeln!(
            w,
            "  The failing step is shown above. Error-looking lines nearest to it, grouped by shape (numbers, ids, times masked):"
        )?;
        writeln!(w)?;
        for t in &u.templates {
            // The shape is log text and may be longer than the terminal: cut it like
            // evidence, its pieces under one another.
            let head = format!("  {} ×{}  ", p.m.arrow, t.count);
            let indent = text::cols(&head);
            let room = opts.width.saturating_sub(indent).max(30);
            for (k, piece) in split_line(&t.template, room).into_iter().enumerate() {
                if k == 0 {
                    writeln!(w, "{head}{piece}")?;
                } else {
                    writeln!(w, "{:indent$}{piece}", "")?;
                }
            }
            if let Some(src) = &t.source {
                writeln!(w, "      printed by {src}")?;
            }
            evidence(&p, std::slice::from_ref(&t.example), opts.width, w)?;
            writeln!(w)?;
        }
        writeln!(
            w,
            "  Run again with `--suggest-rule` for a rules-file stub, or collect more of the log (`talosctl -n <ip> dmesg`, `docker logs <container>`)."
        )?;
        writeln!(w)?;
    }
    for warn in &report.warnings {
        writeln!(w, "{} {warn}", p.yellow("warning:"))?;
    }
    writeln!(w, "{}", summary(&p, report, &shown, hidden))
}

/// The last line: the verdict, the most likely cause, the counts, what was read.
fn summary(p: &P<'_>, report: &Report, shown: &[&Finding], hidden: usize) -> String {
    let word = |o: Outcome| match o {
        Outcome::Failed => "failed",
        Outcome::Stalled => "stalled",
        Outcome::Running => "in progress",
        Outcome::Succeeded => "succeeded",
        Outcome::Unknown => "no boot seen",
    };
    let mut parts = Vec::new();
    match report.nodes.as_slice() {
        [] => parts.push("nothing analyzed".to_owned()),
        [only] if only.outcome == Outcome::Unknown => parts.push("no boot seen".to_owned()),
        [only] => parts.push(format!("boot {}", word(only.outcome))),
        nodes => {
            let counts: Vec<String> = [
                Outcome::Failed,
                Outcome::Stalled,
                Outcome::Running,
                Outcome::Succeeded,
                Outcome::Unknown,
            ]
            .into_iter()
            .filter_map(|o| {
                let n = nodes.iter().filter(|x| x.outcome == o).count();
                (n > 0).then(|| format!("{n} {}", word(o)))
            })
            .collect();
            parts.push(format!("{} nodes: {}", nodes.len(), counts.join(", ")));
        }
    }
    match shown.iter().find(|f| f.severity == Severity::Error) {
        Some(f) => parts.push(format!("most likely cause {} ({})", f.id, f.category)),
        None if report.outcome.is_bad() => parts.push("no known cause matched".to_owned()),
        None => {}
    }
    let count = |sev: Severity, one: &str, many: &str| {
        let n = shown.iter().filter(|f| f.severity == sev).count();
        (n > 0).then(|| format!("{n} {}", if n == 1 { one } else { many }))
    };
    let counts: Vec<String> = [
        count(Severity::Error, "error", "errors"),
        count(Severity::Warning, "warning", "warnings"),
        count(Severity::Info, "note", "notes"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !counts.is_empty() {
        parts.push(counts.join(", "));
    }
    let s = &report.stats;
    let mut bits = vec![format!("{} lines read", s.lines)];
    if s.unparsed_lines > 0 {
        bits.push(format!("{} without a known Talos shape", s.unparsed_lines));
    }
    if s.invalid_utf8_lines > 0 {
        bits.push(format!("{} not valid UTF-8", s.invalid_utf8_lines));
    }
    if s.truncated_lines > 0 {
        bits.push(format!("{} cut at 64 KiB", s.truncated_lines));
    }
    if s.ansi_lines > 0 {
        bits.push(format!("{} with colour codes removed", s.ansi_lines));
    }
    if hidden > 0 {
        bits.push(format!("{hidden} info note(s) hidden (-v shows them)"));
    }
    parts.push(bits.join(", "));
    let line = format!("Summary: {}", parts.join("; "));
    match report.outcome {
        _ if !p.o.color => line,
        o if o.is_bad() && shown.iter().any(|f| f.severity == Severity::Error) => p.red(&line),
        o if o.is_bad() => p.yellow(&line),
        _ => p.bold(&line),
    }
}

#[cfg(test)]
mod tests;

//! Markdown: a compact report for a merge-request comment (GitLab, Buildkite annotations)
//! or a GitHub job summary. Verdict first, one table row per node, then each finding with
//! its remediation and evidence in fenced blocks.
//!
//! Everything taken from the log goes into a code span or a fenced block (with a fence
//! longer than any backtick run inside), so log text is never read as Markdown.

use std::io::{self, Write};

use super::RenderOptions;
use crate::report::{Failure, Finding, NodeReport, Outcome, Report, Severity};

/// Writes the Markdown report. Info findings only with `opts.verbose`; with `opts.unicode`
/// off, no emoji.
pub fn render(report: &Report, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let top = report.findings.iter().find(|f| f.severity == Severity::Error);
    let mark = outcome_mark(report.outcome, opts.unicode);
    let verdict = match (report.outcome.is_bad(), top) {
        (true, Some(f)) => format!("{}: {}", report.outcome.as_str(), f.title),
        (true, None) => format!("{}, no known cause matched", report.outcome.as_str()),
        (false, _) => report.outcome.as_str().to_string(),
    };
    writeln!(w, "## {mark}talos-doctor: {}", inline(&verdict))?;
    writeln!(w)?;
    let shown: Vec<&Finding> =
        report.findings.iter().filter(|f| opts.verbose || f.severity != Severity::Info).collect();
    let count = |s: Severity| shown.iter().filter(|f| f.severity == s).count();
    writeln!(
        w,
        "{} node(s), {} line(s) read; {} error(s), {} warning(s).",
        report.nodes.len(),
        report.stats.lines,
        count(Severity::Error),
        count(Severity::Warning),
    )?;
    if !report.nodes.is_empty() {
        writeln!(w)?;
        writeln!(w, "| node | Talos | mode | outcome | where |")?;
        writeln!(w, "|---|---|---|---|---|")?;
        for n in &report.nodes {
            write_node_row(n, opts, w)?;
        }
    }
    for (i, f) in shown.iter().enumerate() {
        writeln!(w)?;
        write_finding(i + 1, f, opts, w)?;
    }
    for u in &report.unexplained {
        writeln!(w)?;
        writeln!(w, "<details><summary>Unexplained error lines on {}</summary>", html(&u.node))?;
        writeln!(w)?;
        let body: Vec<String> =
            u.templates.iter().map(|t| format!("{:>5}x {}", t.count, t.example.text)).collect();
        fenced(w, &body.join("\n"))?;
        writeln!(w)?;
        writeln!(w, "</details>")?;
    }
    if !report.warnings.is_empty() {
        writeln!(w)?;
        for warning in &report.warnings {
            writeln!(w, "> warning: {}", inline(warning))?;
        }
    }
    Ok(())
}

fn write_node_row(n: &NodeReport, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let place = match (&n.failure, &n.stall) {
        (Some(f), _) => format!("{} (line {})", failure_point(f), f.line),
        (None, Some(s)) => {
            let step: Vec<&str> =
                [&s.sequence, &s.phase, &s.task].into_iter().filter_map(|x| x.as_deref()).collect();
            format!("stalled in {}: {}", step.join(" / "), s.reason)
        }
        (None, None) => String::new(),
    };
    writeln!(
        w,
        "| {} | {} | {} | {}{} | {} |",
        code(&n.node),
        cell(n.talos_version.as_deref().unwrap_or("?")),
        cell(mode_str(n)),
        outcome_mark(n.outcome, opts.unicode),
        n.outcome.as_str(),
        if place.is_empty() { String::new() } else { code(&place) },
    )
}

fn write_finding(
    no: usize,
    f: &Finding,
    opts: &RenderOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mark = match (f.severity, opts.unicode) {
        (Severity::Error, true) => "❌ ",
        (Severity::Warning, true) => "⚠️ ",
        (Severity::Info, true) => "ℹ️ ",
        (_, false) => "",
    };
    writeln!(w, "### {no}. {mark}{} {}", code(&f.id), inline(&f.title))?;
    writeln!(w)?;
    let mut facts = vec![
        format!("severity **{}**", f.severity.as_str()),
        format!("node {}", code(&f.node)),
        format!("category {}", code(&f.category)),
    ];
    if f.recovered {
        facts.push("recovered".into());
    }
    if f.occurrences > 1 {
        facts.push(format!("seen {} times", f.occurrences));
    }
    if let Some(v) = &f.fixed_in {
        facts.push(format!("fixed in {}", code(v)));
    }
    facts.push(format!("fingerprint {}", code(&f.fingerprint)));
    writeln!(w, "{}", facts.join(if opts.unicode { " · " } else { ", " }))?;
    writeln!(w)?;
    writeln!(w, "{}", inline(f.root_cause.trim()))?;
    if !f.remediation.is_empty() {
        writeln!(w)?;
        writeln!(w, "**Remediation**")?;
        writeln!(w)?;
        for (i, step) in f.remediation.iter().enumerate() {
            writeln!(w, "{}. {}", i + 1, inline(step))?;
        }
    }
    if !f.evidence.is_empty() {
        writeln!(w)?;
        let inputs: Vec<&str> = f.evidence.iter().filter_map(|e| e.input.as_deref()).collect();
        match inputs.first() {
            Some(input) if inputs.iter().all(|i| i == input) => {
                writeln!(w, "**Evidence** ({})", code(input))?;
            }
            _ => writeln!(w, "**Evidence**")?,
        }
        writeln!(w)?;
        let mut body = Vec::new();
        for e in &f.evidence {
            for c in &e.before {
                body.push(format!("{:>6}  {}", c.line, c.text));
            }
            body.push(format!("{:>6}> {}", e.line, e.text));
            for c in &e.after {
                body.push(format!("{:>6}  {}", c.line, c.text));
            }
        }
        fenced(w, &body.join("\n"))?;
    }
    if !f.references.is_empty() {
        writeln!(w)?;
        let refs: Vec<String> = f.references.iter().map(|r| format!("<{r}>")).collect();
        writeln!(w, "References: {}", refs.join(", "))?;
    }
    Ok(())
}

/// `boot / sharedFilesystems (6/10) / setupSharedFilesystems: invalid argument`.
pub(crate) fn failure_point(f: &Failure) -> String {
    let mut s = f.sequence.clone();
    if let Some(phase) = &f.phase {
        s.push_str(" / ");
        s.push_str(phase);
        if let Some(idx) = &f.phase_index {
            s.push_str(&format!(" ({idx})"));
        }
    }
    if let Some(task) = &f.task {
        s.push_str(" / ");
        s.push_str(task);
    }
    if let Some(err) = &f.error {
        s.push_str(": ");
        s.push_str(err);
    }
    s
}

fn mode_str(n: &NodeReport) -> &'static str {
    match n.mode {
        crate::report::Mode::Container => "container",
        crate::report::Mode::Metal => "metal",
        crate::report::Mode::Cloud => "cloud",
        crate::report::Mode::Unknown => "unknown",
    }
}

fn outcome_mark(o: Outcome, unicode: bool) -> &'static str {
    if !unicode {
        return "";
    }
    match o {
        Outcome::Succeeded => "✅ ",
        Outcome::Running => "⏳ ",
        Outcome::Unknown => "❔ ",
        Outcome::Stalled => "⏸️ ",
        Outcome::Failed => "❌ ",
    }
}

/// A fenced `text` block whose fence is longer than any backtick run in `body`.
fn fenced(w: &mut dyn Write, body: &str) -> io::Result<()> {
    let fence = "`".repeat(longest_run(body, '`').max(2) + 1);
    writeln!(w, "{fence}text")?;
    writeln!(w, "{body}")?;
    writeln!(w, "{fence}")
}

/// A code span that survives backticks and pipes inside (pipes would split a table cell).
fn code(s: &str) -> String {
    let s = one_line(s).replace('|', "\\|");
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// Prose from rules: kept as Markdown, but on one line and without raw HTML.
fn inline(s: &str) -> String {
    html(&one_line(s))
}

fn cell(s: &str) -> String {
    inline(s).replace('|', "\\|")
}

fn html(s: &str) -> String {
    s.replace('<', "&lt;").replace('>', "&gt;")
}

fn one_line(s: &str) -> String {
    s.split(['\r', '\n']).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        cur = if ch == c { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::github::sample;

    fn render_to_string(report: &Report, opts: &RenderOptions) -> String {
        let mut out = Vec::new();
        render(report, opts, &mut out).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn report() {
        insta::assert_snapshot!(render_to_string(&sample::report(), &RenderOptions::default()));
    }

    #[test]
    fn ascii_report_has_no_emoji() {
        let opts = RenderOptions { unicode: false, ..RenderOptions::default() };
        let out = render_to_string(&sample::report(), &opts);
        assert!(out.is_ascii(), "{out}");
    }

    #[test]
    fn backticks_in_evidence_get_a_longer_fence() {
        let mut report = sample::report();
        report.findings[0].evidence[0].text = "a ```` b".into();
        let out = render_to_string(&report, &RenderOptions::default());
        assert!(out.contains("`````text\n"), "{out}");
        assert_eq!(code("a|b`c"), "``a\\|b`c``");
    }
}

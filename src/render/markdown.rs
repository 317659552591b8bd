//! Markdown: a compact report for a merge-request comment (GitLab, Buildkite annotations)
//! or a GitHub job summary. Verdict first, one table row per node, then each finding with
//! its remediation and evidence in fenced blocks.
//!
//! Everything taken from the log goes into a code span or a fenced block (with a fence
//! longer than any backtick run inside), so log text is never read as Markdown.

use std::io::{self, Write};

use super::RenderOptions;
use crate::report::{Failure, Finding, NodeReport, Outcome, Report, Severity};

/// GitHub's limit on a comment's body (65,536 characters); counted here in bytes, which is
/// never fewer.
pub const COMMENT_LIMIT: usize = 65_536;

/// Writes the Markdown report. Info findings only with `opts.verbose`; with `opts.unicode`
/// off, no emoji. A report longer than [`COMMENT_LIMIT`] keeps its verdict, node table and
/// first finding open, folds the findings after it into `<details>`, and names what it
/// left out.
pub fn render(report: &Report, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    render_within(report, opts, COMMENT_LIMIT, w)
}

fn render_within(
    report: &Report,
    opts: &RenderOptions,
    limit: usize,
    w: &mut dyn Write,
) -> io::Result<()> {
    let top = report.findings.iter().find(|f| f.severity == Severity::Error);
    let mark = outcome_mark(report.outcome, opts.unicode);
    let verdict = match (report.outcome.is_bad(), top) {
        (true, Some(f)) => format!("{}: {}", report.outcome.as_str(), f.title),
        (true, None) => format!("{}, no known cause matched", report.outcome.as_str()),
        (false, _) => report.outcome.as_str().to_string(),
    };
    let mut head = Vec::new();
    writeln!(head, "## {mark}talos-doctor: {}", inline(&verdict))?;
    writeln!(head)?;
    let shown: Vec<&Finding> =
        report.findings.iter().filter(|f| opts.verbose || f.severity != Severity::Info).collect();
    let count = |s: Severity| shown.iter().filter(|f| f.severity == s).count();
    writeln!(
        head,
        "{} node(s), {} line(s) read; {} error(s), {} warning(s).",
        report.nodes.len(),
        report.stats.lines,
        count(Severity::Error),
        count(Severity::Warning),
    )?;
    let mut rows_left_out = 0;
    if !report.nodes.is_empty() {
        writeln!(head)?;
        writeln!(head, "| node | Talos | mode | outcome | where |")?;
        writeln!(head, "|---|---|---|---|---|")?;
        for (i, n) in report.nodes.iter().enumerate() {
            let mut row = Vec::new();
            write_node_row(n, opts, &mut row)?;
            if head.len() + row.len() > limit / 3 {
                rows_left_out = report.nodes.len() - i;
                break;
            }
            head.extend_from_slice(&row);
        }
        if rows_left_out > 0 {
            writeln!(head, "| … | | | {rows_left_out} more node(s) left out | |")?;
        }
    }
    // Each finding, then each unexplained node, as its own block: (label, text).
    let mut blocks: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, f) in shown.iter().enumerate() {
        let mut b = Vec::new();
        writeln!(b)?;
        write_finding(i + 1, f, opts, &mut b)?;
        blocks.push((format!("{} on {}", code(&f.id), code(&f.node)), b));
    }
    for u in &report.unexplained {
        let mut b = Vec::new();
        writeln!(b)?;
        writeln!(b, "<details><summary>Unexplained error lines on {}</summary>", html(&u.node))?;
        writeln!(b)?;
        let body: Vec<String> =
            u.templates.iter().map(|t| format!("{:>5}x {}", t.count, t.example.text)).collect();
        fenced(&mut b, &body.join("\n"))?;
        writeln!(b)?;
        writeln!(b, "</details>")?;
        blocks.push((format!("unexplained error lines on {}", code(&u.node)), b));
    }
    let mut tail = Vec::new();
    if !report.warnings.is_empty() {
        writeln!(tail)?;
        for warning in &report.warnings {
            writeln!(tail, "> warning: {}", inline(warning))?;
        }
    }
    let total = head.len() + blocks.iter().map(|b| b.1.len()).sum::<usize>() + tail.len();
    w.write_all(&head)?;
    if total <= limit {
        for (_, b) in &blocks {
            w.write_all(b)?;
        }
        return w.write_all(&tail);
    }
    // Too long for a comment: room for the summary of what is left out is kept back.
    let reserve = 2_048;
    let tail = if tail.len() > limit / 8 { Vec::new() } else { tail };
    let mut used = head.len() + tail.len() + reserve;
    let mut blocks = blocks.into_iter();
    if let Some((label, first)) = blocks.next() {
        if used + first.len() <= limit {
            used += first.len();
            w.write_all(&first)?;
        } else {
            blocks = std::iter::once((label, first)).chain(blocks).collect::<Vec<_>>().into_iter();
        }
    }
    let rest: Vec<(String, Vec<u8>)> = blocks.collect();
    let open = b"\n<details><summary>More findings</summary>\n";
    let close = b"\n</details>\n";
    used += open.len() + close.len();
    let mut folded = 0;
    for (_, b) in &rest {
        if used + b.len() > limit {
            break;
        }
        used += b.len();
        folded += 1;
    }
    if folded > 0 {
        w.write_all(open)?;
        for (_, b) in &rest[..folded] {
            w.write_all(b)?;
        }
        w.write_all(close)?;
    }
    let left: Vec<&str> = rest[folded..].iter().map(|(label, _)| label.as_str()).collect();
    if !left.is_empty() {
        let mut note = format!(
            "\n> **{} more section(s) left out** to stay within GitHub's {COMMENT_LIMIT}-character \
             comment limit (the JSON report, `--format json`, has everything):",
            left.len()
        );
        let mut listed = 0;
        for label in &left {
            if note.len() + label.len() + 64 > reserve {
                break;
            }
            note.push_str(if listed == 0 { " " } else { ", " });
            note.push_str(label);
            listed += 1;
        }
        if listed < left.len() {
            note.push_str(&format!(" and {} more", left.len() - listed));
        }
        note.push_str(".\n");
        w.write_all(note.as_bytes())?;
    }
    w.write_all(&tail)
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
pub(crate) fn code(s: &str) -> String {
    let s = one_line(s).replace('|', "\\|");
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// Prose from rules: kept as Markdown, but on one line and without raw HTML. Code spans are
/// kept as written: inside one `<` is already literal, and `&lt;` would show as is.
pub(crate) fn inline(s: &str) -> String {
    let s = one_line(s);
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let fence = &rest[start..start + ticks];
        let body_at = start + ticks;
        // A span closes at the next run of exactly as many backticks.
        let close = rest[body_at..].match_indices(fence).find(|(i, _)| {
            let after = &rest[body_at + i + ticks..];
            !after.starts_with('`') && !rest[..body_at + i].ends_with('`')
        });
        let Some((len, _)) = close else { break };
        out.push_str(&html(&rest[..start]));
        out.push_str(&rest[start..body_at + len + ticks]);
        rest = &rest[body_at + len + ticks..];
    }
    out.push_str(&html(rest));
    out
}

pub(crate) fn cell(s: &str) -> String {
    inline(s).replace('|', "\\|")
}

fn html(s: &str) -> String {
    s.replace('<', "&lt;").replace('>', "&gt;")
}

fn one_line(s: &str) -> String {
    s.split(['\r', '\n']).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

pub(crate) fn longest_run(s: &str, c: char) -> usize {
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

    #[test]
    fn a_long_report_is_folded_and_says_what_it_left_out() {
        let mut report = sample::report();
        let first = report.findings[0].clone();
        for i in 0..40 {
            let mut f = first.clone();
            f.id = format!("TD-T-{i:03}");
            report.findings.push(f);
        }
        let whole = {
            let mut out = Vec::new();
            render(&report, &RenderOptions::default(), &mut out).expect("render");
            out.len()
        };
        for limit in [whole, whole / 2, 6_000] {
            let mut out = Vec::new();
            render_within(&report, &RenderOptions::default(), limit, &mut out).expect("render");
            let text = String::from_utf8(out).expect("utf-8");
            assert!(text.len() <= limit, "{} > {limit}", text.len());
            assert!(text.starts_with("## ❌ talos-doctor: failed: "), "{text}");
            if limit < whole {
                assert!(text.contains("<details><summary>More findings</summary>"), "{text}");
                assert!(text.contains("more section(s) left out"), "{text}");
                assert!(text.contains("`TD-T-039` on `talos-cp-01`"), "{text}");
            } else {
                assert!(!text.contains("left out"), "{text}");
            }
        }
    }

    #[test]
    fn code_spans_are_not_html_escaped() {
        assert_eq!(
            inline("run `docker run ghcr.io/siderolabs/talos:<tag>` for <b>"),
            "run `docker run ghcr.io/siderolabs/talos:<tag>` for &lt;b&gt;"
        );
        assert_eq!(inline("``a ` <b>`` <c>"), "``a ` <b>`` &lt;c&gt;");
        assert_eq!(inline("unclosed `<x>"), "unclosed `&lt;x&gt;");
    }
}

//! `inspect` in every format. A container's settings are no log: the human report and the
//! Markdown give the verdict, the one `docker run` that recreates the container with the
//! known-good spec, then the findings briefly; JUnit has a test case per check; JSON is the
//! report with `checks` and `recreate` added; GitHub and SARIF are the report's (logical
//! locations, no file or line).

use std::io::{self, Write};

use colored::Colorize;
use quick_junit::{NonSuccessKind, Report as JUnitReport, TestCase, TestCaseStatus, TestSuite};

use super::markdown::{code, inline};
use super::{Format, RenderOptions};
use crate::inspection::Inspection;
use crate::report::{Finding, Severity};

/// Renders `insp` in `format`.
pub fn render(
    format: Format,
    insp: &Inspection,
    opts: &RenderOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    let clean = super::visible_report(&insp.report);
    let shown = Inspection { report: clean.into_owned(), ..insp.clone() };
    match format {
        Format::Human if !opts.unicode => {
            let mut text = Vec::new();
            human(&shown, opts, &mut text)?;
            w.write_all(super::ascii(&String::from_utf8_lossy(&text)).as_bytes())
        }
        Format::Human => human(&shown, opts, w),
        Format::Json => json(insp, w),
        Format::Junit => junit(insp, opts, w),
        Format::Markdown => markdown(&shown, opts, w),
        Format::Github => super::github::render(&shown.report, opts, w),
        Format::Sarif => super::sarif::render(&insp.report, opts, w),
    }
}

/// The first sentence of `text` (up to `. ` outside backticks), for the brief list.
fn first_sentence(text: &str) -> &str {
    let mut ticks = false;
    for (i, c) in text.char_indices() {
        match c {
            '`' => ticks = !ticks,
            '.' if !ticks && text[i + 1..].starts_with(' ') => return &text[..=i],
            _ => {}
        }
    }
    text
}

fn paint(s: &str, sev: Option<Severity>, opts: &RenderOptions) -> String {
    if !opts.color {
        return s.to_owned();
    }
    match sev {
        Some(Severity::Error) => s.red().bold().to_string(),
        Some(Severity::Warning) => s.yellow().to_string(),
        Some(Severity::Info) => s.dimmed().to_string(),
        None => s.green().to_string(),
    }
}

fn spec_line(insp: &Inspection) -> String {
    let version = insp.report.nodes.first().and_then(|n| n.talos_version.clone());
    let image = version.map_or_else(
        || "Talos version unknown (the image tag is no version)".to_owned(),
        |v| format!("Talos {v}"),
    );
    format!(
        "{image} · checked against the spec of talosctl {} · {} checks",
        insp.spec,
        insp.checks.len()
    )
}

fn human(insp: &Inspection, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let (errors, warnings) = insp.counts();
    let (mark, sev) = match (errors, warnings) {
        (0, 0) => (if opts.unicode { "✓" } else { "ok" }, None),
        (0, _) => ("!", Some(Severity::Warning)),
        _ => (if opts.unicode { "✗" } else { "XX" }, Some(Severity::Error)),
    };
    writeln!(w, "{}", paint(&format!("{mark} {}", insp.verdict()), sev, opts))?;
    writeln!(w, "  {}", spec_line(insp))?;
    if let Some(r) = &insp.recreate {
        writeln!(w)?;
        writeln!(
            w,
            "Recreate it with the known-good spec (an existing container's settings cannot \
             be changed):"
        )?;
        writeln!(w)?;
        writeln!(w, "  {}", r.remove)?;
        for l in r.run_lines() {
            writeln!(w, "  {l}")?;
        }
        writeln!(w)?;
        write!(w, "{}", super::human::wrap(&r.note, opts.width, "  "))?;
    }
    let shown: Vec<&Finding> = insp
        .report
        .findings
        .iter()
        .filter(|f| opts.verbose || f.severity >= Severity::Warning)
        .collect();
    if !shown.is_empty() {
        writeln!(w)?;
        writeln!(w, "Findings")?;
    }
    let sev_w = 7;
    for f in &shown {
        let sev = f.severity.as_str();
        writeln!(
            w,
            "  {}  {}  {}",
            paint(&format!("{sev:<sev_w$}"), Some(f.severity), opts),
            f.id,
            f.title
        )?;
        let why =
            if opts.verbose { f.root_cause.trim() } else { first_sentence(f.root_cause.trim()) };
        write!(w, "{}", super::human::wrap(why, opts.width, &" ".repeat(sev_w + 4)))?;
    }
    let hidden = insp.report.findings.len() - shown.len();
    writeln!(w)?;
    let mut summary = format!(
        "Summary: {} of {} checks passed; {errors} error(s), {warnings} warning(s)",
        insp.checks.iter().filter(|c| c.severity(&insp.report).is_none()).count(),
        insp.checks.len()
    );
    if hidden > 0 {
        summary.push_str(&format!("; {hidden} note(s) hidden (--verbose shows them)"));
    }
    writeln!(w, "{summary}")
}

fn json(insp: &Inspection, w: &mut dyn Write) -> io::Result<()> {
    let mut v = serde_json::to_value(&insp.report).map_err(io::Error::other)?;
    let checks: Vec<serde_json::Value> = insp
        .checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "check": c.name,
                "result": c.severity(&insp.report).map_or("ok", Severity::as_str),
                "findings": c.findings(&insp.report).map(|f| f.id.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    if let Some(o) = v.as_object_mut() {
        o.insert("checks".into(), checks.into());
        if let Some(r) = &insp.recreate {
            o.insert(
                "recreate".into(),
                serde_json::json!({"commands": [r.remove, r.run_line()], "note": r.note}),
            );
        }
    }
    let mut doc = serde_json::to_vec_pretty(&v).map_err(io::Error::other)?;
    doc.push(b'\n');
    w.write_all(&doc)
}

/// A suite for the container, a test case per check: an error fails it; a warning (and an
/// info note with `--verbose`) passes with the finding in its `system-out`.
fn junit(insp: &Inspection, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let name = insp.container();
    let mut junit = JUnitReport::new("talos-doctor inspect");
    let mut suite = TestSuite::new(name.to_owned());
    for c in &insp.checks {
        let found: Vec<&Finding> = c
            .findings(&insp.report)
            .filter(|f| opts.verbose || f.severity >= Severity::Warning)
            .collect();
        let error = found.iter().find(|f| f.severity == Severity::Error);
        let status = match error {
            Some(f) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(f.title.clone())
                    .set_type(f.id.clone())
                    .set_description(super::junit::details(f));
                s
            }
            None => TestCaseStatus::success(),
        };
        let mut case = TestCase::new(c.name.clone(), status);
        case.set_classname(format!("{name}.inspect"));
        let notes: Vec<String> = found
            .iter()
            .filter(|f| f.severity != Severity::Error)
            .map(|f| format!("{} ({}): {}\n{}", f.id, f.severity.as_str(), f.title, f.root_cause))
            .collect();
        if !notes.is_empty() {
            case.set_system_out(notes.join("\n\n"));
        }
        suite.add_test_case(case);
    }
    let mut out = format!("{}\n{}\n", insp.verdict(), spec_line(insp));
    if let Some(r) = &insp.recreate {
        out.push_str(&format!("\n{}\n{}\n\n{}\n", r.remove, r.run_lines().join("\n"), r.note));
    }
    suite.set_system_out(out);
    junit.add_test_suite(suite);
    let mut doc = junit.to_string().map_err(io::Error::other)?;
    doc.push('\n');
    w.write_all(doc.as_bytes())
}

fn markdown(insp: &Inspection, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let (errors, warnings) = insp.counts();
    let mark = match (errors, warnings, opts.unicode) {
        (0, 0, true) => "✅",
        (0, _, true) => "⚠️",
        (_, _, true) => "❌",
        (0, 0, false) => "[ok]",
        (0, _, false) => "[warning]",
        (_, _, false) => "[failed]",
    };
    writeln!(w, "## {mark} talos-doctor inspect: {}", inline(&insp.verdict()))?;
    writeln!(w)?;
    writeln!(w, "{}", inline(&spec_line(insp)))?;
    if let Some(r) = &insp.recreate {
        writeln!(w)?;
        writeln!(w, "Recreate it with the known-good spec:")?;
        writeln!(w)?;
        let body = format!("{}\n{}", r.remove, r.run_lines().join("\n"));
        let fence = "`".repeat(super::markdown::longest_run(&body, '`').max(2) + 1);
        writeln!(w, "{fence}sh\n{body}\n{fence}")?;
        writeln!(w)?;
        writeln!(w, "{}", inline(&r.note))?;
    }
    writeln!(w)?;
    writeln!(w, "| check | result | finding |")?;
    writeln!(w, "|---|---|---|")?;
    for c in &insp.checks {
        let found: Vec<&Finding> = c
            .findings(&insp.report)
            .filter(|f| opts.verbose || f.severity >= Severity::Warning)
            .collect();
        let result = found.iter().map(|f| f.severity).max().map_or("ok", Severity::as_str);
        let what = found
            .iter()
            .map(|f| format!("{} {}", code(&f.id), super::markdown::cell(&f.title)))
            .collect::<Vec<_>>()
            .join("<br>");
        writeln!(w, "| {} | {result} | {what} |", super::markdown::cell(&c.name))?;
    }
    let shown: Vec<&Finding> = insp
        .report
        .findings
        .iter()
        .filter(|f| opts.verbose || f.severity >= Severity::Warning)
        .collect();
    if !shown.is_empty() {
        writeln!(w)?;
        writeln!(w, "<details><summary>Why ({} finding(s))</summary>", shown.len())?;
        writeln!(w)?;
        for f in shown {
            writeln!(
                w,
                "- **{}** {} {}: {}",
                f.severity.as_str(),
                code(&f.id),
                inline(&f.title),
                inline(f.root_cause.trim())
            )?;
        }
        writeln!(w)?;
        writeln!(w, "</details>")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sentences() {
        assert_eq!(first_sentence("A b. C d."), "A b.");
        assert_eq!(first_sentence("Run `a. b` here. Then."), "Run `a. b` here.");
        assert_eq!(first_sentence("no stop"), "no stop");
    }
}

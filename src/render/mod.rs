//! Renderers: one file per output format, each `render(&Report, &RenderOptions, &mut dyn
//! Write)`. They never pick colours or read the environment themselves: everything they
//! need arrives in [`RenderOptions`], decided once in `config.rs`.

pub mod github;
pub mod human;
pub mod inspection;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The report for a person.
    Human,
    /// The JSON report of the diagnosis contract.
    Json,
    /// GitHub Actions workflow commands.
    Github,
    /// JUnit XML.
    Junit,
    /// SARIF 2.1.0.
    Sarif,
    /// Markdown.
    Markdown,
}

/// What is rendered: a boot diagnosis, or a container's settings (`inspect`).
#[derive(Debug, Clone, Copy)]
pub enum Doc<'a> {
    /// The report of `analyze` and `watch`.
    Report(&'a crate::report::Report),
    /// The result of `inspect`.
    Inspection(&'a crate::inspection::Inspection),
}

impl Doc<'_> {
    /// The report inside.
    pub fn report(&self) -> &crate::report::Report {
        match self {
            Doc::Report(r) => r,
            Doc::Inspection(i) => &i.report,
        }
    }
}

/// The extra report files written in the same run (`--junit`, `--sarif`, `--markdown`).
#[derive(Debug, Clone, Default)]
pub struct CiFiles {
    /// JUnit XML.
    pub junit: Option<std::path::PathBuf>,
    /// SARIF.
    pub sarif: Option<std::path::PathBuf>,
    /// Markdown.
    pub markdown: Option<std::path::PathBuf>,
}

/// What a renderer may vary on.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Colour escapes allowed (human format only; JSON and annotations never colour).
    pub color: bool,
    /// Unicode box characters and marks allowed.
    pub unicode: bool,
    /// Terminal width for wrapping.
    pub width: usize,
    /// Show info-level findings too.
    pub verbose: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { color: false, unicode: true, width: 100, verbose: false }
    }
}

/// Where a piece of evidence is, as the CI formats can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place<'a> {
    /// A line of a file the CI runner and SARIF viewers can open.
    File {
        /// The path as given.
        path: &'a str,
        /// 1-based line.
        line: u64,
    },
    /// A line of a stream that is no file: standard input, a container's log.
    Stream {
        /// What it is, for a person (`standard input`, `docker:talos-cp-01`).
        input: &'a str,
        /// 1-based line.
        line: u64,
    },
    /// Not a log line: a container's settings (`inspect`, `analyze --container`).
    Settings {
        /// What was read (`docker inspect talos-cp-01`).
        input: &'a str,
    },
}

impl Place<'_> {
    /// `logs/cp1.log:12`, `line 12 of standard input`, `docker inspect x`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Place::File { path, line } => format!("{path}:{line}"),
            Place::Stream { input, line } => format!("line {line} of {input}"),
            Place::Settings { input } => (*input).to_owned(),
        }
    }
}

/// Where `e` is. `fallback`: the input of evidence that names none (the analyzer names
/// inputs only once a second one begins, so unnamed evidence is from the first).
pub(crate) fn place<'a>(e: &'a crate::report::Evidence, fallback: Option<&'a str>) -> Place<'a> {
    let input = e.input.as_deref().or(fallback).unwrap_or("-");
    if e.line == 0 || input.starts_with("docker inspect ") {
        return Place::Settings { input };
    }
    if input == "-" || input == "standard input" {
        Place::Stream { input: "standard input", line: e.line }
    } else if input.starts_with("docker:") || input.contains("://") {
        Place::Stream { input, line: e.line }
    } else {
        Place::File { path: input, line: e.line }
    }
}

/// Renders `doc` in `format`.
pub fn render_doc(
    format: Format,
    doc: Doc<'_>,
    opts: &RenderOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match doc {
        Doc::Report(r) => render(format, r, opts, w),
        Doc::Inspection(i) => inspection::render(format, i, opts, w),
    }
}

/// Renders `report` in `format`.
pub fn render(
    format: Format,
    report: &crate::report::Report,
    opts: &RenderOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Human if !opts.unicode => {
            let mut text = Vec::new();
            human::render(&visible_report(report), opts, &mut text)?;
            w.write_all(ascii(&String::from_utf8_lossy(&text)).as_bytes())
        }
        Format::Human => human::render(&visible_report(report), opts, w),
        Format::Json => json::render(report, opts, w),
        Format::Github => github::render(&visible_report(report), opts, w),
        Format::Junit => junit::render(report, opts, w),
        Format::Sarif => sarif::render(report, opts, w),
        Format::Markdown => markdown::render(&visible_report(report), opts, w),
    }
}

/// `s` in ASCII only (`--ascii`): the marks the report uses become their ASCII
/// look-alikes (`·` `-`, `→` `->`, `≤` `<=`, `µs` `us`), anything else (log text in other
/// scripts) `\u{…}`.
pub fn ascii(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let r = match c {
            c if c.is_ascii() => {
                out.push(c);
                continue;
            }
            '·' | '─' | '–' | '—' | '│' => "-",
            '→' | '▶' | '›' => "->",
            '←' => "<-",
            '≤' => "<=",
            '≥' => ">=",
            'µ' => "u",
            '×' => "x",
            '⋮' => ":",
            '…' => "...",
            '‘' | '’' => "'",
            '“' | '”' => "\"",
            '✓' => "ok",
            '✗' => "XX",
            c => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
                continue;
            }
        };
        out.push_str(r);
    }
    std::borrow::Cow::Owned(out)
}

/// `s` with every character a terminal would act on made visible: C0 controls but newline
/// and tab (ESC becomes `\x1b`, BEL `\x07`, CR `\r`), DEL, the C1 controls (U+009B is a CSI
/// too) and the bidirectional overrides that reorder what a reader sees. Log text reaches the
/// human, GitHub and Markdown outputs only through this, so a log line can neither clear the
/// screen nor retitle the window nor hide text; JSON, SARIF and JUnit escape it themselves.
pub fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    let acts = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.contains(acts) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if acts(c) && u32::from(c) < 0x100 => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)))
            }
            c if acts(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The report with [`visible`] applied to every text in it (log lines, node and file names,
/// errors, and rule text that quotes the log).
pub(crate) fn visible_report(
    report: &crate::report::Report,
) -> std::borrow::Cow<'_, crate::report::Report> {
    fn walk(v: &mut serde_json::Value, changed: &mut bool) {
        match v {
            serde_json::Value::String(s) => {
                if let std::borrow::Cow::Owned(o) = visible(s) {
                    *s = o;
                    *changed = true;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|v| walk(v, changed)),
            serde_json::Value::Object(m) => m.values_mut().for_each(|v| walk(v, changed)),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(report) else {
        return std::borrow::Cow::Borrowed(report);
    };
    let mut changed = false;
    walk(&mut value, &mut changed);
    match serde_json::from_value(value) {
        Ok(clean) if changed => std::borrow::Cow::Owned(clean),
        _ => std::borrow::Cow::Borrowed(report),
    }
}

/// Writes the extra report files of `--junit`, `--sarif` and `--markdown`, and appends the
/// job summary to `step_summary` (`$GITHUB_STEP_SUMMARY`, decided in `config.rs`). An error
/// names the file.
pub fn write_ci_files(
    doc: Doc<'_>,
    ci: &CiFiles,
    opts: &RenderOptions,
    step_summary: Option<&std::path::Path>,
) -> std::io::Result<()> {
    use std::io::Write;
    let file_opts = RenderOptions { color: false, ..opts.clone() };
    let named = |path: &std::path::Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("`{}`: {e}", path.display()))
    };
    let outputs =
        [(&ci.junit, Format::Junit), (&ci.sarif, Format::Sarif), (&ci.markdown, Format::Markdown)];
    for (path, format) in outputs {
        let Some(path) = path else { continue };
        let write = || -> std::io::Result<()> {
            let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
            render_doc(format, doc, &file_opts, &mut w)?;
            w.flush()
        };
        write().map_err(|e| named(path, e))?;
    }
    if let Some(path) = step_summary {
        let write = || -> std::io::Result<()> {
            let f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            let mut w = std::io::BufWriter::new(f);
            match doc {
                Doc::Report(r) => github::step_summary(r, &mut w)?,
                Doc::Inspection(_) => render_doc(Format::Markdown, doc, &file_opts, &mut w)?,
            }
            w.flush()
        };
        write().map_err(|e| named(path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_what_a_terminal_would_act_on() {
        for (raw, want) in [
            ("plain text, tab\tand\nnewline", "plain text, tab\tand\nnewline"),
            ("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),
            ("cr\rover", "cr\\rover"),
            ("del\x7f c1\u{9b}31m", "del\\x7f c1\\x9b31m"),
            ("bidi \u{202e}txt.exe", "bidi \\u{202e}txt.exe"),
            ("µ · → ≤ 日本", "µ · → ≤ 日本"),
        ] {
            assert_eq!(visible(raw), want, "{raw:?}");
        }
        assert!(matches!(visible("clean"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn ascii_has_only_ascii() {
        assert_eq!(ascii("Talos v1.8 · 3µs → ≤ ⋮ 日"), "Talos v1.8 - 3us -> <= : \\u{65e5}");
        assert!(matches!(ascii("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn every_text_of_the_report_is_made_visible() {
        let mut report = crate::render::github::sample::report();
        report.findings[0].evidence[0].text = "a \x1b[2J b".into();
        report.nodes[0].node = "cp\x07".into();
        let clean = visible_report(&report);
        assert_eq!(clean.findings[0].evidence[0].text, "a \\x1b[2J b");
        assert_eq!(clean.nodes[0].node, "cp\\x07");
        assert_eq!(clean.nodes[0].sequences.len(), report.nodes[0].sequences.len());
    }
}

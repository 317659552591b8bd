//! Renderers: one file per output format, each `render(&Report, &RenderOptions, &mut dyn
//! Write)`. They never pick colours or read the environment themselves: everything they
//! need arrives in [`RenderOptions`], decided once in `config.rs`.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

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

/// Renders `report` in `format`.
pub fn render(
    format: crate::cli::Format,
    report: &crate::report::Report,
    opts: &RenderOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use crate::cli::Format;
    match format {
        Format::Human => human::render(report, opts, w),
        Format::Json => json::render(report, opts, w),
        Format::Github => github::render(report, opts, w),
        Format::Junit => junit::render(report, opts, w),
        Format::Sarif => sarif::render(report, opts, w),
        Format::Markdown => markdown::render(report, opts, w),
    }
}

/// Writes the extra report files of `--junit`, `--sarif` and `--markdown`, and appends the
/// job summary to `step_summary` (`$GITHUB_STEP_SUMMARY`, decided in `config.rs`). An error
/// names the file.
pub fn write_ci_files(
    report: &crate::report::Report,
    ci: &crate::cli::CiArgs,
    opts: &RenderOptions,
    step_summary: Option<&std::path::Path>,
) -> std::io::Result<()> {
    use std::io::Write;
    let file_opts = RenderOptions { color: false, ..opts.clone() };
    let named = |path: &std::path::Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("`{}`: {e}", path.display()))
    };
    use crate::cli::Format;
    let outputs =
        [(&ci.junit, Format::Junit), (&ci.sarif, Format::Sarif), (&ci.markdown, Format::Markdown)];
    for (path, format) in outputs {
        let Some(path) = path else { continue };
        let write = || -> std::io::Result<()> {
            let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
            render(format, report, &file_opts, &mut w)?;
            w.flush()
        };
        write().map_err(|e| named(path, e))?;
    }
    if let Some(path) = step_summary {
        let write = || -> std::io::Result<()> {
            let f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            let mut w = std::io::BufWriter::new(f);
            github::step_summary(report, &mut w)?;
            w.flush()
        };
        write().map_err(|e| named(path, e))?;
    }
    Ok(())
}

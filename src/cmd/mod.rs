//! The commands, one per file: [`analyze`], [`rules`], [`watch`], [`inspect`]. Each turns
//! its arguments into a run of the pipeline and a report, writes the report through
//! [`write_report`] (the one path to stdout and the CI files) and returns the exit code
//! [`crate::exit`] picks.

pub(crate) mod analyze;
pub(crate) mod explain;
pub(crate) mod inspect;
pub mod rules;
pub(crate) mod shell;
pub(crate) mod watch;

use std::io::{self, Write};
use std::path::PathBuf;

use crate::cli::{Format, OutputArgs};
use crate::config;
use crate::error::Error;
use crate::kb::Kb;
use crate::render;
use crate::report::Report;

/// Loads the built-in rules plus `--rules` files.
pub fn load_kb(paths: &[PathBuf]) -> Result<Kb, Error> {
    let mut extra = Vec::new();
    for p in paths {
        let text = crate::input::source::read_rules_file(p).map_err(|e| Error::Rules {
            file: p.display().to_string(),
            line: None,
            msg: format!("cannot read it: {e}"),
        })?;
        extra.push((p.display().to_string(), text));
    }
    Kb::load(&extra)
}

/// Checks a container name or id prefix given on the command line before Docker sees it:
/// an empty one (`watch ''`, an unset shell variable) would match nothing, or everything.
pub(crate) fn check_container_arg(flag: &str, name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::Usage(format!(
            "{flag} is empty: give a container name or id prefix (see `docker ps -a`)"
        )));
    }
    Ok(())
}

/// Checks that the report files asked for (`--junit`, `--sarif`, `--markdown`) name different
/// files, none of them an input: one would silently overwrite the other, or the log read.
/// Two paths are the same file when they are equal as given or lead to the same place
/// (`o.xml` and `./o.xml`, a link to it).
pub(crate) fn check_outputs(out: &OutputArgs, inputs: &[String]) -> Result<(), Error> {
    let ci = &out.ci;
    let given: Vec<(&str, &std::path::Path)> = [
        ("--junit", ci.junit.as_deref()),
        ("--sarif", ci.sarif.as_deref()),
        ("--markdown", ci.markdown.as_deref()),
    ]
    .into_iter()
    .filter_map(|(flag, p)| Some((flag, p?)))
    .collect();
    let place = |p: &std::path::Path| {
        let name = p.file_name().map(std::ffi::OsStr::to_owned);
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // A file that exists is followed to where it is (a link); one to be created is
        // placed in its folder.
        std::fs::canonicalize(p)
            .ok()
            .or_else(|| Some(std::fs::canonicalize(dir).ok()?.join(name?)))
            .unwrap_or_else(|| p.to_path_buf())
    };
    for (i, (flag, path)) in given.iter().enumerate() {
        let same = |other: &std::path::Path| *path == other || place(path) == place(other);
        if let Some((other, _)) = given[..i].iter().find(|(_, p)| same(p)) {
            return Err(Error::Usage(format!(
                "{other} and {flag} name the same file `{}`: give each its own",
                render::visible(&path.display().to_string())
            )));
        }
        if let Some(input) = inputs.iter().find(|f| same(std::path::Path::new(f))) {
            return Err(Error::Usage(format!(
                "{flag} names `{}`, an input: the report would overwrite the log",
                render::visible(input)
            )));
        }
    }
    Ok(())
}

/// Before a fatal error (exit 2) ends a run that had read something, says what its report
/// would have: each warning, then what the lines read held, one `talos-doctor: warning:` line
/// each (the error stays the one line after them). `said` is a warning already printed in
/// other words; a closed pipe is no error and says nothing.
pub(crate) fn warn_before_error(e: &Error, report: &Report, said: Option<&str>) {
    if e.is_broken_pipe() {
        return;
    }
    let mut lines: Vec<String> = report
        .warnings
        .iter()
        .filter(|w| said.is_none_or(|s| !s.starts_with(w.as_str())))
        .cloned()
        .collect();
    let s = &report.stats;
    // That error counts the lines itself.
    if s.lines > 0 && !matches!(e, Error::NoTalosLines { .. }) {
        let mut bits = Vec::new();
        for (n, what) in [
            (s.invalid_utf8_lines, "not valid UTF-8"),
            (s.truncated_lines, "cut at 64 KiB"),
            (s.ansi_lines, "with colour codes removed"),
        ] {
            if n > 0 {
                bits.push(format!("{n} {what}"));
            }
        }
        let held = if bits.is_empty() { String::new() } else { format!(" ({})", bits.join(", ")) };
        lines.push(format!(
            "{} line{} read before the error{held}; no complete report was written",
            s.lines,
            if s.lines == 1 { "" } else { "s" }
        ));
    }
    let mut err = io::stderr().lock();
    for w in lines {
        let _ = writeln!(err, "talos-doctor: warning: {}", render::visible(&w));
    }
}

/// Writes `report` as `out` asks: the CI files and the job summary first, then the report on
/// stdout, then whatever `after` adds to it. A closed stdout (`| head`) is not an error: the
/// diagnosis stands.
pub(crate) fn write_report(
    report: &Report,
    out: &OutputArgs,
    env: &config::Env,
    after: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    write_doc(render::Doc::Report(report), out, env, after)
}

/// [`write_report`] for any [`render::Doc`] (`inspect` writes an inspection).
pub(crate) fn write_doc(
    doc: render::Doc<'_>,
    out: &OutputArgs,
    env: &config::Env,
    after: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Error> {
    let opts = config::render_options(out, env);
    colored::control::set_override(opts.color);
    let summary = env.github_step_summary.as_deref().filter(|_| out.format == Format::Github);
    render::write_ci_files(doc, &config::ci_files(&out.ci), &opts, summary)
        .map_err(Error::Output)?;
    let stdout = io::stdout();
    let mut w = io::BufWriter::with_capacity(64 * 1024, PipeAware::new(stdout.lock()));
    let written = (|| -> io::Result<()> {
        render::render_doc(config::format(out.format), doc, &opts, &mut w)?;
        after(&mut w)?;
        w.flush()
    })();
    let closed = w.get_ref().closed;
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe && !closed => Err(Error::Output(e)),
        _ => Ok(()),
    }
}

/// A writer that remembers whether the reader went away. A renderer or a library between
/// it and the report may wrap the `BrokenPipe` in an error of another kind; the closed pipe
/// is what counts, and it is not an error (diagnosis-contract.md: the exit code is the
/// verdict's).
pub(crate) struct PipeAware<W> {
    inner: W,
    /// A write or flush failed with `BrokenPipe`.
    pub(crate) closed: bool,
}

impl<W: Write> PipeAware<W> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: W) -> Self {
        PipeAware { inner, closed: false }
    }

    fn note<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if r.as_ref().is_err_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
            self.closed = true;
        }
        r
    }
}

impl<W: Write> Write for PipeAware<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}

//! Resolved settings: the one place that reads the environment and probes the terminal.
//! Everything below receives plain values, which keeps parsing, matching and rendering
//! deterministic and snapshot-testable.

use std::io::IsTerminal;

use crate::cli::{CiArgs, ColorChoice, Format, OutputArgs};
use crate::render::RenderOptions;

/// What the environment says, read once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    /// stdout is a terminal.
    pub stdout_tty: bool,
    /// stderr is a terminal (where `watch` draws its live table).
    pub stderr_tty: bool,
    /// `CI` is set to anything but empty or `false`.
    pub ci: bool,
    /// NO_COLOR is set and not empty.
    pub no_color: bool,
    /// CLICOLOR_FORCE is set and not `0`: colour even when not on a terminal.
    pub clicolor_force: bool,
    /// CLICOLOR=0: no colour.
    pub clicolor_off: bool,
    /// `--color` (global).
    pub color: ColorChoice,
    /// stdin is a terminal (nothing piped in).
    pub stdin_tty: bool,
    /// TERM=dumb.
    pub dumb_term: bool,
    /// COLUMNS, if set.
    pub columns: Option<usize>,
    /// The width of the terminal stdout is on, when it is one (ioctl, not `$COLUMNS`, which
    /// shells rarely export).
    pub stdout_width: Option<usize>,
    /// The width of the terminal stderr is on (where `watch` draws its table).
    pub stderr_width: Option<usize>,
    /// `GITHUB_STEP_SUMMARY`, when set and not empty: the file the job summary is appended to.
    pub github_step_summary: Option<std::path::PathBuf>,
}

impl Env {
    /// Reads the process environment.
    pub(crate) fn read() -> Env {
        Env {
            stdout_tty: std::io::stdout().is_terminal(),
            stderr_tty: std::io::stderr().is_terminal(),
            ci: std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false"),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            clicolor_force: std::env::var_os("CLICOLOR_FORCE")
                .is_some_and(|v| !v.is_empty() && v != "0"),
            clicolor_off: std::env::var_os("CLICOLOR").is_some_and(|v| v == "0"),
            color: ColorChoice::Auto,
            stdin_tty: std::io::stdin().is_terminal(),
            dumb_term: std::env::var("TERM").is_ok_and(|t| t == "dumb"),
            columns: std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|c| *c > 0),
            stdout_width: terminal_size::terminal_size_of(std::io::stdout())
                .map(|(w, _)| usize::from(w.0)),
            stderr_width: terminal_size::terminal_size_of(std::io::stderr())
                .map(|(w, _)| usize::from(w.0)),
            github_step_summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from),
        }
    }
}

/// Whether to colour: `--color` first; then `NO_COLOR` (off) before `CLICOLOR_FORCE` (on)
/// before `CLICOLOR=0` (off); else on a terminal that is not `TERM=dumb`.
pub(crate) fn color(env: &Env) -> bool {
    match env.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if env.no_color => false,
        ColorChoice::Auto if env.clicolor_force => true,
        ColorChoice::Auto if env.clicolor_off => false,
        ColorChoice::Auto => env.stdout_tty && !env.dumb_term,
    }
}

/// Decides colour, characters and width for the renderers.
pub(crate) fn render_options(out: &OutputArgs, env: &Env) -> RenderOptions {
    let color = color(env);
    RenderOptions {
        color,
        unicode: !out.ascii && !env.dumb_term,
        width: width(env.columns, env.stdout_width),
        verbose: out.verbose,
    }
}

/// The renderer's format for the `--format` given.
pub(crate) fn format(f: Format) -> crate::render::Format {
    use crate::render::Format as R;
    match f {
        Format::Human => R::Human,
        Format::Json => R::Json,
        Format::Github => R::Github,
        Format::Junit => R::Junit,
        Format::Sarif => R::Sarif,
        Format::Markdown => R::Markdown,
    }
}

/// The extra report files asked for.
pub(crate) fn ci_files(ci: &CiArgs) -> crate::render::CiFiles {
    crate::render::CiFiles {
        junit: ci.junit.clone(),
        sarif: ci.sarif.clone(),
        markdown: ci.markdown.clone(),
    }
}

/// The width to lay text out in: `$COLUMNS` when the user set it, else the terminal's,
/// else 100 (a pipe or a file), kept between 40 and 250 columns so that a very narrow or
/// very wide window still gives readable lines.
pub(crate) fn width(columns: Option<usize>, terminal: Option<usize>) -> usize {
    columns.filter(|w| *w > 0).or(terminal.filter(|w| *w > 0)).unwrap_or(100).clamp(40, 250)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out() -> OutputArgs {
        OutputArgs {
            format: Format::Human,
            ascii: false,
            verbose: false,
            no_redact: false,
            rules: vec![],
            ci: crate::cli::CiArgs::default(),
        }
    }

    #[test]
    fn width_table() {
        for (columns, terminal, want) in [
            (None, None, 100),
            (Some(60), None, 60),
            (None, Some(132), 132),
            (Some(150), Some(80), 150),
            (Some(10), None, 40),
            (None, Some(1000), 250),
            (Some(0), Some(90), 90),
        ] {
            assert_eq!(width(columns, terminal), want, "{columns:?} {terminal:?}");
        }
    }

    #[test]
    fn colour_table() {
        let tty = Env { stdout_tty: true, ..Env::default() };
        let force = Env { clicolor_force: true, ..Env::default() };
        let cases = [
            (ColorChoice::Auto, tty.clone(), true),
            (ColorChoice::Auto, Env { no_color: true, ..tty.clone() }, false),
            (ColorChoice::Auto, Env { dumb_term: true, ..tty.clone() }, false),
            (ColorChoice::Auto, Env { clicolor_off: true, ..tty.clone() }, false),
            (ColorChoice::Auto, Env::default(), false),
            (ColorChoice::Auto, force.clone(), true),
            (ColorChoice::Auto, Env { no_color: true, ..force.clone() }, false),
            (ColorChoice::Never, force, false),
            (ColorChoice::Always, Env::default(), true),
            (ColorChoice::Never, tty, false),
        ];
        for (choice, env, want) in cases {
            let env = Env { color: choice, ..env };
            assert_eq!(render_options(&out(), &env).color, want, "{choice:?} {env:?}");
        }
    }
}

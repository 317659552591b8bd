//! talos-doctor reads the boot log of a Talos Linux node, follows its boot sequence phase
//! by phase, and explains why the boot failed and what to do, with the lines that prove it.
//!
//! The pipeline, one stage per module:
//!
//! ```text
//! input::source ─ bytes ─▶ input::lines ─ RawLine ─▶ parse::envelope ─▶ parse::message
//!      ─▶ machine (per node: boots, sequences, phases, tasks, services)
//!      ─▶ kb::matcher (rules from rules/*.toml) ─▶ analyzer::Analyzer ─▶ diagnosis ─▶ render::*
//! ```
//!
//! ```
//! use talos_doctor::{analyzer::{Analyzer, AnalyzeOptions}, input::lines::{LineSplitter, Flow}, kb::Kb};
//! let kb = Kb::builtin();
//! let mut a = Analyzer::new(&kb, AnalyzeOptions::default());
//! a.begin_input("-", None);
//! let log = b"[talos] task setupSharedFilesystems (1/1): failed: invalid argument\n\
//!             [talos] phase sharedFilesystems (6/10): failed\n[talos] boot sequence: failed\n";
//! let mut s = LineSplitter::default();
//! s.push(log, &mut |l| { a.push_line(l); Flow::Continue });
//! let report = a.report();
//! assert_eq!(report.findings[0].category, "container_missing_mounts");
//! assert_eq!(talos_doctor::exit::code_for(&report), 1);
//! ```

#![warn(missing_docs)]

pub mod analyzer;
pub mod cli;
pub mod config;
pub(crate) mod diagnosis;
pub mod docker;
pub mod error;
pub mod exit;
pub mod fingerprint;
pub mod health;
pub mod input;
pub mod kb;
pub mod machine;
pub mod parallel;
pub mod parse;
pub mod redact;
pub mod render;
pub mod report;
pub mod rules_cmd;
pub mod suggest;
#[cfg(test)]
pub(crate) mod test_support;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use analyzer::{AnalyzeOptions, Analyzer};
use cli::{AnalyzeArgs, Cli, Command, Format};
use error::Error;
use input::source::Source;
use kb::Kb;

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8, Error> {
    let env = config::Env::read();
    match cli.command {
        Command::Analyze(a) => analyze_cmd(&a, &env),
        Command::Rules(r) => rules_cmd::run(&r),
        Command::Watch(w) => docker::cmd::watch_cmd(&w, &env),
        Command::Inspect(i) => docker::cmd::inspect_cmd(&i, &env),
    }
}

/// Loads the built-in rules plus `--rules` files.
pub fn load_kb(paths: &[PathBuf]) -> Result<Kb, Error> {
    let mut extra = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|e| Error::Rules {
            file: p.display().to_string(),
            line: None,
            msg: format!("cannot read it: {e}"),
        })?;
        extra.push((p.display().to_string(), text));
    }
    Kb::load(&extra)
}

fn node_name_of(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("-");
    let mut name = name;
    for ext in [".gz", ".log", ".txt"] {
        name = name.strip_suffix(ext).unwrap_or(name);
    }
    name.to_owned()
}

/// A node name for a file among several: its stem (`cp1` for `logs/cp1.log.gz`), or, when
/// another input has the same stem (`a/input.log`, `b/input.log`), its parent folder too.
fn unique_node_name(path: &Path, all: &[Source]) -> String {
    let stem = node_name_of(path);
    let clash = all.iter().filter(|s| matches!(s, Source::File(p) if node_name_of(p) == stem)).count() > 1;
    match path.parent().and_then(|d| d.file_name()).and_then(|d| d.to_str()) {
        Some(dir) if clash => format!("{dir}/{stem}"),
        _ if clash => path.display().to_string(),
        _ => stem,
    }
}

fn analyze_cmd(a: &AnalyzeArgs, env: &config::Env) -> Result<u8, Error> {
    let opts = config::render_options(&a.out, env);
    colored::control::set_override(opts.color);
    let kb = load_kb(&a.out.rules)?;
    let mut an = Analyzer::new(&kb, AnalyzeOptions { redact: !a.out.no_redact, ..AnalyzeOptions::default() });
    let sources: Vec<Source> = if a.files.is_empty() && a.container.is_none() {
        vec![Source::Stdin]
    } else {
        a.files.iter().map(|f| Source::from_arg(f)).collect()
    };
    let multi = sources.len() > 1;
    let workers = usize::from(a.threads.unwrap_or(0));
    for s in &sources {
        let node = a.node.clone().or_else(|| match s {
            Source::File(p) if multi => Some(unique_node_name(p, &sources)),
            _ => None,
        });
        let before = an.lines();
        match s {
            Source::File(p) if input::bundle::is_bundle(p) => {
                let err = |source| Error::Input { what: s.description(), source };
                let bundle = input::bundle::open(p).map_err(err)?.unwrap_or_default();
                input::bundle::feed(bundle, &mut an)?;
            }
            _ => {
                parallel::feed(s, node.as_deref(), &mut an, workers)?;
            }
        }
        if an.lines() == before && multi {
            an.warn(format!("{} is empty", s.description()));
        }
    }
    let facts = match &a.container {
        Some(name) => Some(docker::cmd::feed_container(&mut an, name)?),
        None => None,
    };
    if an.lines() == 0 {
        let what = match (multi, sources.first(), &a.container) {
            (true, _, _) => "every input".to_owned(),
            (false, Some(s), _) => s.description(),
            (false, None, Some(c)) => format!("the log of container `{c}`"),
            (false, None, None) => "the input".to_owned(),
        };
        return Err(Error::NotText { what, why: "it is empty: there is no log to analyze".into() });
    }
    let mut report = an.report();
    // Not a healthy boot: nothing here is from Talos (diagnosis-contract.md, 2026-12-01).
    if report.stats.talos_lines == 0 {
        let what = match (multi, sources.first(), &a.container) {
            (true, _, _) => "any input".to_owned(),
            (false, Some(s), _) => s.description(),
            (false, None, Some(c)) => format!("the log of container `{c}`"),
            (false, None, None) => "the input".to_owned(),
        };
        return Err(Error::NoTalosLines { what, lines: report.stats.lines });
    }
    if let Some(f) = &facts {
        docker::preflight::confirm(&mut report, &f.name, f);
    }
    let code = exit::code_for_fail_on(&report, a.out.ci.fail_on);
    let summary = env.github_step_summary.as_deref().filter(|_| a.out.format == Format::Github);
    render::write_ci_files(&report, &a.out.ci, &opts, summary).map_err(Error::Output)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let written = (|| -> io::Result<()> {
        render::render(a.out.format, &report, &opts, &mut out)?;
        if a.suggest_rule {
            if let Some(stub) = suggest::rule_stub(&report) {
                if a.out.format == Format::Human {
                    writeln!(out)?;
                    out.write_all(stub.as_bytes())?;
                } else {
                    eprint!("{stub}");
                }
            }
        }
        out.flush()
    })();
    match written {
        Ok(()) => Ok(code),
        // A closed stdout (`| head`) is not an error: the diagnosis stands.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(code),
        Err(e) => Err(Error::Output(e)),
    }
}

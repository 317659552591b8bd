//! talos-doctor reads the boot log of a Talos Linux node, follows its boot sequence phase
//! by phase, and explains why the boot failed and what to do, with the lines that prove it.
//!
//! The pipeline, one stage per module:
//!
//! ```text
//! input::source ─ bytes ─▶ input::lines ─ RawLine ─▶ parse::envelope ─▶ parse::message
//!      ─▶ machine (per node: boots, sequences, phases, tasks, services)
//!      ─▶ kb::matcher (rules from rules/*.toml) ─▶ analyze::Analyzer::report ─▶ render::*
//! ```
//!
//! ```
//! use talos_doctor::{analyze::{Analyzer, AnalyzeOptions}, input::lines::{LineSplitter, Flow}, kb::Kb};
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

pub mod analyze;
pub mod cli;
pub mod config;
pub mod docker;
pub mod error;
pub mod exit;
pub mod fingerprint;
pub mod input;
pub mod kb;
pub mod machine;
pub mod parse;
pub mod phases;
pub mod redact;
pub mod render;
pub mod report;
pub mod rules_cmd;
pub mod suggest;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use analyze::{AnalyzeOptions, Analyzer};
use cli::{AnalyzeArgs, Cli, Command, Format};
use error::Error;
use input::lines::Flow;
use input::source::{self, Source};
use kb::Kb;

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8, Error> {
    let env = config::Env::read();
    match cli.command {
        Command::Analyze(a) => analyze_cmd(&a, &env),
        Command::Rules(r) => rules_cmd::run(&r),
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

fn analyze_cmd(a: &AnalyzeArgs, env: &config::Env) -> Result<u8, Error> {
    let opts = config::render_options(&a.out, env);
    colored::control::set_override(opts.color);
    let kb = load_kb(&a.out.rules)?;
    let mut an = Analyzer::new(&kb, AnalyzeOptions { redact: !a.out.no_redact, ..AnalyzeOptions::default() });
    let sources: Vec<Source> = if a.files.is_empty() {
        vec![Source::Stdin]
    } else {
        a.files.iter().map(|f| Source::from_arg(f)).collect()
    };
    let multi = sources.len() > 1;
    for s in &sources {
        let node = a.node.clone().or_else(|| match s {
            Source::File(p) if multi => Some(node_name_of(p)),
            _ => None,
        });
        let before = an.lines();
        source::feed(s, node.as_deref(), &mut an, &mut |_, _| Flow::Continue)?;
        if an.lines() == before && multi {
            an.warn(format!("{} is empty", s.description()));
        }
    }
    if an.lines() == 0 {
        let what = if multi { "every input".to_owned() } else { sources[0].description() };
        return Err(Error::NotText { what, why: "it is empty: there is no log to analyze".into() });
    }
    let report = an.report();
    let code = exit::code_for(&report);
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let written = (|| -> io::Result<()> {
        match a.out.format {
            Format::Human => render::human::render(&report, &opts, &mut out)?,
            Format::Json => render::json::render(&report, &opts, &mut out)?,
        }
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

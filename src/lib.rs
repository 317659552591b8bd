//! talos-doctor reads the boot log of a Talos Linux node, follows its boot sequence phase
//! by phase, and explains why the boot failed and what to do, with the lines that prove it.
//!
//! The pipeline, one stage per module:
//!
//! ```text
//! input::source / input::bundle ─ bytes ─▶ input::lines ─ RawLine ─▶ input::decode
//!      ─▶ parse::envelope ─▶ parse::message ─▶ kb::facts (gate, rules' `match`, event kind)
//!      ─▶ analyzer (per node: machine steps, kb::matcher fires rules, context, templates)
//!      ─▶ diagnosis (the report, ranked) ─▶ render::*
//! ```
//!
//! `cmd` runs each command (`analyze`, `rules`, `watch`, `inspect`) over that pipeline and
//! writes its report; `exit` picks the exit code. `parallel` prepares lines on other threads
//! (`analyze -j`); `docker` is the async edge (`watch`, `inspect`, `--container`). Talos
//! releases are data (`data/phases.toml` for `machine::catalogue`, `data/container-specs.toml`
//! for `docker::spec`), like the rules (`rules/*.toml`).
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
#![warn(unreachable_pub)]

pub mod analyzer;
pub mod cli;
pub mod cmd;
pub(crate) mod config;
pub(crate) mod diagnosis;
pub(crate) mod docker;
pub mod error;
pub mod exit;
pub mod fingerprint;
pub mod health;
pub mod input;
pub(crate) mod inspection;
pub mod kb;
pub mod machine;
pub(crate) mod memo;
pub mod parallel;
pub mod parse;
pub mod redact;
pub mod render;
pub mod report;
pub mod suggest;
#[cfg(test)]
pub(crate) mod test_support;

use cli::{Cli, Command};
pub use cmd::load_kb;
use error::Error;

/// Runs a parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<u8, Error> {
    let env = config::Env { color: cli.color, ..config::Env::read() };
    match cli.command {
        Command::Analyze(a) => {
            if let Some(name) = &a.container {
                cmd::check_container_arg("--container", name)?;
            }
            let stdin =
                a.files.is_empty() && a.container.is_none() || a.files.iter().any(|f| f == "-");
            if stdin && env.stdin_tty {
                // Nothing is piped in: say what the wait is for.
                eprintln!("reading a Talos log from standard input (Ctrl-D to end)");
            }
            cmd::analyze::run(&a, &env)
        }
        Command::Completions { shell } => cmd::shell::completions(shell),
        Command::Man => cmd::shell::man(),
        Command::Rules(r) => cmd::rules::run(&r),
        Command::Watch(w) => cmd::watch::run(&w, &env),
        Command::Inspect(i) => cmd::inspect::run(&i, &env),
        Command::ExplainLine(e) => cmd::explain::run(&e),
    }
}

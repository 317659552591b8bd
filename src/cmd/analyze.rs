//! `analyze`: files, standard input, support bundles and `--container`, into one report.

use std::collections::HashMap;
use std::path::Path;

use super::{load_kb, write_report};
use crate::analyzer::{AnalyzeOptions, Analyzer};
use crate::cli::{AnalyzeArgs, Format};
use crate::error::Error;
use crate::input::source::Source;
use crate::{config, docker, exit, input, parallel, suggest};

fn node_name_of(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let mut name: &str = if name.is_empty() { "-" } else { &name };
    for ext in [".gz", ".log", ".txt"] {
        name = name.strip_suffix(ext).unwrap_or(name);
    }
    input::visible(name).into_owned()
}

/// A node name for a file among several: its stem (`cp1` for `logs/cp1.log.gz`), or, when
/// another input has the same stem (`a/input.log`, `b/input.log`), its parent folder too.
/// `stems` counts the stems of all inputs (one pass, not one per input).
fn unique_node_name(path: &Path, stems: &HashMap<String, usize>) -> String {
    let stem = node_name_of(path);
    let clash = stems.get(&stem).copied().unwrap_or(0) > 1;
    match path.parent().and_then(|d| d.file_name()).map(|d| d.to_string_lossy()) {
        Some(dir) if clash => format!("{}/{stem}", input::visible(&dir)),
        _ if clash => input::visible(&path.display().to_string()).into_owned(),
        _ => stem,
    }
}

/// Runs `analyze`. A fatal error ends the run without a report: the warnings collected
/// until then are printed first, one line each, so that what was left out is still said.
pub(crate) fn run(a: &AnalyzeArgs, env: &config::Env) -> Result<u8, Error> {
    super::check_outputs(&a.out, &a.files)?;
    let kb = load_kb(&a.out.rules)?;
    let mut an = Analyzer::new(
        &kb,
        AnalyzeOptions { redact: !a.out.no_redact, ..AnalyzeOptions::default() },
    );
    let ran = analyze(a, env, &mut an);
    if let Err(e) = &ran {
        super::warn_before_error(e, &an.report(), None);
    }
    ran
}

fn analyze(a: &AnalyzeArgs, env: &config::Env, an: &mut Analyzer<'_>) -> Result<u8, Error> {
    let sources: Vec<Source> = if a.files.is_empty() && a.container.is_none() {
        vec![Source::Stdin]
    } else {
        a.files.iter().map(|f| Source::from_arg(f)).collect()
    };
    let multi = sources.len() > 1;
    let mut stems: HashMap<String, usize> = HashMap::new();
    if multi {
        for s in &sources {
            if let Source::File(p) = s {
                *stems.entry(node_name_of(p)).or_default() += 1;
            }
        }
    }
    // `-j N` counts the thread that applies the prepared lines: with one preparing thread per
    // CPU as well, the two contended for the same cores and `-j 2` on two CPUs was slower
    // than one thread.
    let workers = usize::from(a.threads.unwrap_or(1)).saturating_sub(1);
    // What a lone directory or archive held, for the error when it gave no line.
    let mut fed = None;
    for s in &sources {
        let node = a.node.clone().or_else(|| match s {
            Source::File(p) if multi => Some(unique_node_name(p, &stems)),
            _ => None,
        });
        let before = an.lines();
        match s {
            // Opened once each: a FIFO or a pipe (`<(…)`) is never read twice.
            Source::File(p) if p.is_dir() => fed = Some(input::bundle::feed_dir(p, an)?),
            Source::File(p) if input::bundle::is_zip_file(p) => {
                fed = Some(input::bundle::feed_zip_file(p, an)?);
            }
            _ => {
                parallel::feed(s, node.as_deref(), an, workers)?;
            }
        }
        if an.lines() == before && multi {
            an.warn(format!("{} is empty", s.description()));
        }
    }
    let facts = match &a.container {
        Some(name) => Some(docker::client::feed_container(an, name)?),
        None => None,
    };
    if an.lines() == 0 {
        let what = match (multi, sources.first(), &a.container) {
            (true, _, _) => "every input".to_owned(),
            (false, Some(s), _) => s.description(),
            (false, None, Some(c)) => format!("the log of container `{c}`"),
            (false, None, None) => "the input".to_owned(),
        };
        let why = match fed {
            Some(f) if !multi && f.logs == 0 && f.not_logs > 0 => format!(
                "it holds no log: {} file{}, none named like one (*.log, *.txt, *.log.N, *.gz, \
                 *.zip)",
                f.not_logs,
                if f.not_logs == 1 { "" } else { "s" }
            ),
            _ => "it is empty: there is no log to analyze".into(),
        };
        return Err(Error::NotText { what, why });
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
    write_report(&report, &a.out, env, |out| {
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
        Ok(())
    })?;
    Ok(code)
}

//! `analyze`: files, standard input, support bundles and `--container`, into one report.

use std::path::Path;

use super::{load_kb, write_report};
use crate::analyzer::{AnalyzeOptions, Analyzer};
use crate::cli::{AnalyzeArgs, Format};
use crate::error::Error;
use crate::input::source::Source;
use crate::{config, docker, exit, input, parallel, suggest};

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
    let clash =
        all.iter().filter(|s| matches!(s, Source::File(p) if node_name_of(p) == stem)).count() > 1;
    match path.parent().and_then(|d| d.file_name()).and_then(|d| d.to_str()) {
        Some(dir) if clash => format!("{dir}/{stem}"),
        _ if clash => path.display().to_string(),
        _ => stem,
    }
}

/// Runs `analyze`.
pub(crate) fn run(a: &AnalyzeArgs, env: &config::Env) -> Result<u8, Error> {
    let kb = load_kb(&a.out.rules)?;
    let mut an = Analyzer::new(
        &kb,
        AnalyzeOptions { redact: !a.out.no_redact, ..AnalyzeOptions::default() },
    );
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
        Some(name) => Some(docker::client::feed_container(&mut an, name)?),
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

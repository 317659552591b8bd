//! `talos-doctor rules …`: list, explain, test and export the knowledge base.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::analyzer::{AnalyzeOptions, Analyzer};
use crate::cli::{RulesArgs, RulesCommand};
use crate::error::Error;
use crate::exit;
use crate::input::lines::Flow;
use crate::input::source::{self, Source};
use crate::kb::{CATEGORIES, Kb};
use crate::report::Severity;

/// Runs a `rules` subcommand.
pub fn run(args: &RulesArgs) -> Result<u8, Error> {
    let kb = super::load_kb(&args.rules)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    // The exit code a closed stdout keeps (`rules test | head`): the verdict, not 0.
    let mut verdict = exit::OK;
    let res = match &args.command {
        RulesCommand::List => list(&kb, &mut out).map(|()| exit::OK),
        RulesCommand::Explain { id } => match kb.get(id) {
            Some(_) => explain(&kb, id, &mut out).map(|()| exit::OK),
            None => {
                return Err(Error::Usage(format!(
                    "no rule `{id}` (see `talos-doctor rules list`)"
                )));
            }
        },
        RulesCommand::Patterns => (|| {
            for r in &kb.rules {
                writeln!(out, "{}", r.spec.pattern)?;
            }
            Ok(())
        })()
        .map(|()| exit::OK),
        RulesCommand::Test { fixtures } => {
            check_fixture_dir(fixtures)?;
            let report = test_all(&kb, fixtures);
            verdict = exit::code_for_rules_test(report.ok());
            print_test(&report, &mut out).map(|()| verdict)
        }
    };
    let res = res.and_then(|c| out.flush().map(|()| c));
    match res {
        Ok(c) => Ok(c),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(verdict),
        Err(e) => Err(Error::Output(e)),
    }
}

/// A fixture directory that is missing, unreadable or holds no case is a usage error (exit
/// 2), never "all rule tests passed" over nothing.
fn check_fixture_dir(dir: &Path) -> Result<(), Error> {
    let what = format!("fixture directory `{}`", dir.display());
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Input { what, source })?;
    let any_case = entries
        .filter_map(Result::ok)
        .any(|e| e.path().join("input.log").is_file() && e.path().join("case.json").is_file());
    if any_case {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "no fixtures in `{}` (a case is a folder with input.log and case.json)",
            dir.display()
        )))
    }
}

fn list(kb: &Kb, w: &mut dyn Write) -> io::Result<()> {
    let idw = kb.rules.iter().map(|r| r.spec.id.len()).max().unwrap_or(10);
    let cw = kb.rules.iter().map(|r| r.spec.category.len()).max().unwrap_or(10);
    for r in &kb.rules {
        writeln!(
            w,
            "{:<idw$}  {:<cw$}  {:<7}  {}",
            r.spec.id,
            r.spec.category,
            r.spec.severity.as_str(),
            r.spec.title
        )?;
    }
    writeln!(w, "{} rules", kb.rules.len())
}

fn explain(kb: &Kb, id: &str, w: &mut dyn Write) -> io::Result<()> {
    let Some(r) = kb.get(id) else { return Ok(()) };
    let s = &r.spec;
    writeln!(w, "{} · {} · {} (from {})", s.id, s.category, s.severity.as_str(), r.origin)?;
    writeln!(w, "{}\n", s.title)?;
    writeln!(w, "Matches: `{}`", s.pattern)?;
    for (k, v) in [
        ("event", &s.event),
        ("task", &s.task),
        ("phase", &s.phase),
        ("sequence", &s.sequence),
        ("service", &s.service),
        ("controller", &s.controller),
        ("level", &s.level),
        ("absent_after", &s.absent_after),
    ] {
        if let Some(v) = v {
            writeln!(w, "  {k}: `{v}`")?;
        }
    }
    if let Some(t) = &s.then {
        writeln!(w, "  then, within {} lines: `{}`", t.within, t.pattern)?;
    }
    writeln!(w, "\nRoot cause\n  {}\n", s.root_cause.trim())?;
    writeln!(w, "Remediation")?;
    for (i, r) in s.remediation.iter().enumerate() {
        writeln!(w, "  {}. {r}", i + 1)?;
    }
    if let Some(v) = &s.fixed_in {
        writeln!(w, "\nFixed in Talos {v}")?;
    }
    if !s.references.is_empty() {
        writeln!(w, "\nReferences")?;
        for r in &s.references {
            writeln!(w, "  {r}")?;
        }
    }
    writeln!(w, "\nExamples (must match)")?;
    for e in &s.examples {
        writeln!(w, "  {e}")?;
    }
    writeln!(w, "Counter-examples (must not match)")?;
    for e in &s.counter_examples {
        writeln!(w, "  {e}")?;
    }
    Ok(())
}

pub use crate::analyzer::analyze_text;

/// One failed check.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Rule id or fixture name.
    pub subject: String,
    /// What went wrong.
    pub what: String,
}

/// Result of `rules test`.
#[derive(Debug, Default)]
pub struct TestReport {
    /// Examples and counter-examples run.
    pub examples: usize,
    /// Fixtures run.
    pub fixtures: usize,
    /// Fixtures whose first finding matched the case.
    pub fixtures_ok: usize,
    /// Per category: (fixtures, explained).
    pub per_category: BTreeMap<String, (usize, usize)>,
    /// Which line each rule fired on, per fixture: (fixture, rule, line).
    pub fired: Vec<(String, String, u64)>,
    /// Failures.
    pub failures: Vec<Failure>,
    /// Rules without any fixture firing them.
    pub rules_without_fixture: Vec<String>,
}

impl TestReport {
    /// Everything passed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every rule's examples, then every fixture in `dir`.
pub fn test_all(kb: &Kb, dir: &Path) -> TestReport {
    let mut rep = TestReport::default();
    for rule in &kb.rules {
        let id = rule.spec.id.as_str();
        let alone = kb.only(&[id]);
        for ex in &rule.spec.examples {
            rep.examples += 1;
            let r = analyze_text(&alone, ex);
            if !r.findings.iter().any(|f| f.id == id) {
                rep.failures.push(Failure {
                    subject: id.into(),
                    what: format!("example does not match: {ex}"),
                });
            }
        }
        for ex in &rule.spec.counter_examples {
            rep.examples += 1;
            let r = analyze_text(&alone, ex);
            if r.findings.iter().any(|f| f.id == id) {
                rep.failures.push(Failure {
                    subject: id.into(),
                    what: format!("counter-example matches: {ex}"),
                });
            }
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("input.log").is_file() && p.join("case.json").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    let mut fired_rules = std::collections::BTreeSet::new();
    for d in dirs {
        let name = d.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_owned();
        rep.fixtures += 1;
        let case: serde_json::Value = match std::fs::read_to_string(d.join("case.json"))
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(v) => v,
            Err(e) => {
                rep.failures.push(Failure { subject: name, what: format!("case.json: {e}") });
                continue;
            }
        };
        let want =
            case.get("root_cause_category").and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let mut a = Analyzer::new(kb, AnalyzeOptions::default());
        let src = Source::File(d.join("input.log"));
        if let Err(e) = source::feed(&src, None, &mut a, &mut |_, _| Flow::Continue) {
            rep.failures.push(Failure { subject: name, what: e.to_string() });
            continue;
        }
        let r = a.report();
        for f in &r.findings {
            fired_rules.insert(f.id.clone());
            rep.fired.push((name.clone(), f.id.clone(), f.evidence.first().map_or(0, |e| e.line)));
        }
        let code = exit::code_for(&r);
        let healthy = want == "none" || want.starts_with("none_");
        let no_error = !r.findings.iter().any(|f| f.severity == Severity::Error);
        // The contract: a real failure no category covers is exit 3 with no `error` finding.
        let ok = if healthy {
            code == exit::OK && no_error
        } else if want == "unknown" {
            code == exit::UNEXPLAINED && no_error
        } else {
            r.findings.first().is_some_and(|f| f.category == want) && code == exit::DIAGNOSED
        };
        let e = rep.per_category.entry(want.clone()).or_default();
        e.0 += 1;
        if ok {
            e.1 += 1;
            rep.fixtures_ok += 1;
        } else {
            let got = r
                .findings
                .first()
                .map_or("no finding".to_owned(), |f| format!("{} ({})", f.category, f.id));
            rep.failures.push(Failure {
                subject: name,
                what: format!("want {want}, got {got}, exit {code}"),
            });
        }
    }
    rep.rules_without_fixture =
        kb.rules.iter().map(|r| r.spec.id.clone()).filter(|id| !fired_rules.contains(id)).collect();
    rep
}

fn print_test(rep: &TestReport, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "examples and counter-examples: {} run", rep.examples)?;
    writeln!(w, "fixtures explained: {}/{}", rep.fixtures_ok, rep.fixtures)?;
    writeln!(w, "\nper category (fixtures explained / total):")?;
    for c in CATEGORIES
        .iter()
        .map(|c| (*c).to_owned())
        .chain(rep.per_category.keys().filter(|k| !CATEGORIES.contains(&k.as_str())).cloned())
    {
        let (n, ok) = rep.per_category.get(&c).copied().unwrap_or((0, 0));
        writeln!(w, "  {c:<36} {ok}/{n}{}", if n == 0 { "  (no fixture)" } else { "" })?;
    }
    writeln!(w, "\nrules fired (fixture: rule @ line):")?;
    for (fx, id, line) in &rep.fired {
        writeln!(w, "  {fx}: {id} @ {line}")?;
    }
    if !rep.rules_without_fixture.is_empty() {
        writeln!(w, "\nrules no fixture fires: {}", rep.rules_without_fixture.join(", "))?;
    }
    if rep.failures.is_empty() {
        writeln!(w, "\nall rule tests passed")?;
    } else {
        writeln!(w, "\n{} failure(s):", rep.failures.len())?;
        for f in &rep.failures {
            writeln!(w, "  FAIL {}: {}", f.subject, f.what)?;
        }
    }
    Ok(())
}

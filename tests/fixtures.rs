//! Fixture snapshots: every case under fixtures/ through the library, in human (no colour)
//! and JSON form, plus the knowledge base's own test (`rules test`) as part of `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use talos_doctor::analyze::{AnalyzeOptions, Analyzer};
use talos_doctor::input::lines::Flow;
use talos_doctor::input::source::{self, Source};
use talos_doctor::kb::Kb;
use talos_doctor::render::{self, RenderOptions};

fn analyze(path: &Path, kb: &Kb) -> talos_doctor::report::Report {
    let mut a = Analyzer::new(kb, AnalyzeOptions::default());
    // Relative to the package root (the test's working directory): snapshots must not
    // depend on where the repository is checked out.
    let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path);
    source::feed(&Source::File(rel.to_path_buf()), None, &mut a, &mut |_, _| Flow::Continue).unwrap();
    a.report()
}

#[test]
fn fixture_snapshots() {
    let kb = Kb::builtin();
    let opts = RenderOptions { color: false, unicode: true, width: 100, verbose: true };
    insta::glob!("../fixtures", "*/input.log", |path| {
        let report = analyze(path, &kb);
        let mut human = Vec::new();
        render::human::render(&report, &opts, &mut human).unwrap();
        let mut json = Vec::new();
        render::json::render(&report, &opts, &mut json).unwrap();
        let json = String::from_utf8(json).unwrap();
        insta::with_settings!({filters => vec![(r#""version": "\d+\.\d+\.\d+""#, r#""version": "[version]""#)]}, {
            insta::assert_snapshot!("human", String::from_utf8(human).unwrap());
            insta::assert_snapshot!("json", json);
        });
    });
}

#[test]
fn knowledge_base_self_test() {
    let kb = Kb::builtin();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let rep = talos_doctor::rules_cmd::test_all(&kb, &dir);
    let failures: Vec<String> = rep.failures.iter().map(|f| format!("{}: {}", f.subject, f.what)).collect();
    assert!(failures.is_empty(), "rules test failures:\n{}", failures.join("\n"));
    assert!(rep.fixtures >= 10, "only {} fixtures found", rep.fixtures);
    assert_eq!(rep.fixtures_ok, rep.fixtures);
}

//! CI integration end to end: every output format, report files written in the same run,
//! `--fail-on`, the GitHub job summary, support bundles, and secrets never reaching any
//! output.

use std::path::{Path, PathBuf};

use super::{TestCommand, code, err, fixture, out, root};

const SEED: &str = "sharedfs-v1.8-docker-run";
const FORMATS: [&str; 6] = ["human", "json", "github", "junit", "sarif", "markdown"];

/// A fresh scratch directory under the target dir, unique per test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ci-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn every_format_reports_the_seed_failure() {
    for format in FORMATS {
        let o = TestCommand::new(&["analyze", "--format", format, &fixture(SEED)]).run();
        assert_eq!(code(&o), 1, "{format}: {}", err(&o));
        assert!(out(&o).contains("TD-CTR-001"), "{format}: {}", out(&o));
    }
}

#[test]
fn github_annotations_point_at_the_failing_line() {
    let o = TestCommand::new(&["analyze", "--format", "github", &fixture(SEED)]).run();
    let first = out(&o).lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("::error ") && first.contains("title=TD-CTR-001 "), "{first}");
    assert!(out(&o).lines().all(|l| l.starts_with("::")), "{}", out(&o));
    // With several inputs every evidence line names its file.
    let dir = scratch("github-files");
    let cp = dir.join("talos-cp-01.log");
    std::fs::copy(fixture(SEED), &cp).unwrap();
    let o = TestCommand::new(&[
        "analyze",
        "--format",
        "github",
        &path_str(&cp),
        &fixture("ci-talosctl-create-then-docker-logs"),
    ])
    .run();
    let want = format!(
        "::error file={},line=67,title=TD-CTR-001 [talos-cp-01] ",
        path_str(&cp).replace(':', "%3A").replace(',', "%2C")
    );
    assert!(out(&o).lines().any(|l| l.starts_with(&want)), "{want}\n{}", out(&o));
}

#[test]
fn junit_reads_back_with_the_failed_phase() {
    let o = TestCommand::new(&["analyze", "--format", "junit", &fixture(SEED)]).run();
    let report = quick_junit::Report::deserialize_from_str(&out(&o)).expect("valid JUnit XML");
    assert_eq!(report.failures, 1, "{}", out(&o));
    let failed: Vec<_> = report
        .test_suites
        .iter()
        .flat_map(|s| &s.test_cases)
        .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::NonSuccess { .. }))
        .map(|c| c.name.as_str().to_owned())
        .collect();
    assert_eq!(failed, ["06 sharedFilesystems"]);
}

#[test]
fn sarif_has_the_required_fields() {
    let o = TestCommand::new(&["analyze", "--format", "sarif", &fixture(SEED)]).run();
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "talos-doctor");
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "TD-CTR-001");
    assert_eq!(result["level"], "error");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 67);
    assert!(
        result["partialFingerprints"]["talosDoctor/v1"].as_str().is_some_and(|f| f.len() == 16)
    );
}

/// Validates against the OASIS schema file with Python's `jsonschema` (Draft 4), when
/// Python and the package are there; otherwise says so and relies on the field checks.
#[test]
fn sarif_validates_against_the_oasis_schema() {
    let dir = scratch("sarif-schema");
    let sarif = dir.join("out.sarif");
    let o = TestCommand::new(&[
        "analyze",
        "--format",
        "human",
        "--sarif",
        &path_str(&sarif),
        &fixture(SEED),
    ])
    .run();
    assert_eq!(code(&o), 1, "{}", err(&o));
    validate_sarif(&sarif);
}

/// Validates a SARIF file against the OASIS schema file with Python's `jsonschema` (Draft
/// 4), when Python and the package are there; otherwise says so.
pub(crate) fn validate_sarif(sarif: &Path) {
    let schema = root().join("fixtures/ci-sarif/sarif-schema-2.1.0.json");
    let script = "import json,sys,jsonschema\n\
        s=json.load(open(sys.argv[1]));d=json.load(open(sys.argv[2]))\n\
        jsonschema.Draft4Validator(s).validate(d);print('valid')";
    let py = std::process::Command::new("python3")
        .args(["-c", script, &path_str(&schema), &path_str(sarif)])
        .output();
    match py {
        Ok(p) if p.status.success() => {
            assert_eq!(String::from_utf8_lossy(&p.stdout).trim(), "valid")
        }
        Ok(p) if String::from_utf8_lossy(&p.stderr).contains("No module named 'jsonschema'") => {
            eprintln!(
                "skipped: python3 has no jsonschema module; required fields are checked by hand"
            );
        }
        Ok(p) => panic!("SARIF does not validate: {}", String::from_utf8_lossy(&p.stderr)),
        Err(e) => {
            eprintln!("skipped: python3 not runnable ({e}); required fields are checked by hand")
        }
    }
}

/// Issue #15: standard input is no file: SARIF gives it a logical location (no artifact
/// `uri: "-"`), GitHub annotations no `file=-`; the line stays in the message.
#[test]
fn stdin_is_no_artifact() {
    let log = std::fs::read(fixture(SEED)).unwrap();
    let dir = scratch("stdin-sarif");
    let sarif = dir.join("stdin.sarif");
    let o = TestCommand::new(&["analyze", "--format", "github", "--sarif", &path_str(&sarif)])
        .stdin(log)
        .run();
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(!out(&o).contains("file=") && !out(&o).contains("line="), "{}", out(&o));
    assert!(out(&o).contains("line 67 of standard input"), "{}", out(&o));
    let text = std::fs::read_to_string(&sarif).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for r in v["runs"][0]["results"].as_array().unwrap() {
        for loc in r["locations"].as_array().unwrap() {
            assert!(loc["physicalLocation"].is_null(), "{loc}");
            assert!(loc["logicalLocations"][0]["name"].is_string(), "{loc}");
        }
    }
    assert!(!text.contains("\"uri\": \"-\""), "{text}");
    validate_sarif(&sarif);
}

#[test]
fn extra_formats_are_written_in_the_same_run() {
    let dir = scratch("files");
    let (junit, sarif, md) = (dir.join("r.xml"), dir.join("r.sarif"), dir.join("r.md"));
    let o = TestCommand::new(&[
        "analyze",
        "--junit",
        &path_str(&junit),
        "--sarif",
        &path_str(&sarif),
        "--markdown",
        &path_str(&md),
        &fixture(SEED),
    ])
    .run();
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(out(&o).contains("TD-CTR-001"), "human report on stdout");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.starts_with("## "), "{md}");
    assert!(!md.contains('\u{1b}'), "no colour in files");
}

#[test]
fn unwritable_report_file_is_a_tool_error() {
    let o =
        TestCommand::new(&["analyze", "--junit", "/nonexistent-dir/r.xml", &fixture(SEED)]).run();
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(err(&o).contains("/nonexistent-dir/r.xml"), "{}", err(&o));
}

#[test]
fn fail_on_maps_findings_to_the_exit_status() {
    // A warning only: talosctl retrying a check that cannot reach the node (the same status
    // on a line of its own would state a failure, exit 3).
    let client_only = "waiting for API\n\
        waiting for API: rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp 10.5.0.2:50000: connect: connection refused\"\n";
    let cases: &[(&str, &str, i32)] = &[
        ("error", SEED, 1),
        ("never", SEED, 0),
        ("warning", SEED, 1),
        ("error", "-", 0),
        ("warning", "-", 1),
        ("never", "-", 0),
    ];
    for (fail_on, input, want) in cases {
        let cmd = if *input == "-" {
            TestCommand::new(&["analyze", "--fail-on", fail_on]).stdin(client_only)
        } else {
            TestCommand::new(&["analyze", "--fail-on", fail_on, &fixture(input)])
        };
        let o = cmd.run();
        assert_eq!(code(&o), *want, "--fail-on {fail_on} {input}: {}{}", out(&o), err(&o));
    }
}

#[test]
fn client_symptoms_rank_below_the_node_cause() {
    let o = TestCommand::new(&[
        "analyze",
        "--format",
        "json",
        &fixture("ci-talosctl-create-then-docker-logs"),
    ])
    .run();
    assert_eq!(code(&o), 1, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let ids: Vec<&str> =
        v["findings"].as_array().unwrap().iter().filter_map(|f| f["id"].as_str()).collect();
    assert_eq!(ids.first(), Some(&"TD-CTR-001"), "{ids:?}");
    assert!(ids.contains(&"TD-CLI-001") && ids.contains(&"TD-CLI-003"), "{ids:?}");
}

#[test]
fn github_format_appends_the_step_summary() {
    let dir = scratch("summary");
    let summary = dir.join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let o = TestCommand::new(&["analyze", "--format", "github", &fixture(SEED)])
        .env("GITHUB_STEP_SUMMARY", &path_str(&summary))
        .run();
    assert_eq!(code(&o), 1, "{}", err(&o));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("earlier step\n## "), "{text}");
    assert!(text.contains("TD-CTR-001"), "{text}");
}

/// Zips the synthetic bundle tree as `talosctl support` does.
fn support_zip(dest: &Path) {
    use std::io::Write;
    let tree = root().join("fixtures/ci-support-bundle/tree");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(dest).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut stack = vec![tree.clone()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { files.push(p) }
        }
    }
    files.sort();
    for f in files {
        let rel = f.strip_prefix(&tree).unwrap().to_string_lossy().replace('\\', "/");
        zip.start_file(rel, opts).unwrap();
        zip.write_all(&std::fs::read(&f).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn support_zip_is_read_per_node() {
    let dir = scratch("bundle");
    let zip_path = dir.join("support.zip");
    support_zip(&zip_path);
    for input in [path_str(&zip_path), path_str(&root().join("fixtures/ci-support-bundle/tree"))] {
        let o = TestCommand::new(&["analyze", "--format", "json", &input]).run();
        assert_eq!(code(&o), 0, "{input}: {}", err(&o));
        let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
        let nodes: Vec<(&str, &str)> = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["node"].as_str().unwrap(), n["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(nodes, [("10.5.0.2", "succeeded"), ("10.5.0.3", "running")], "{input}");
        let boots: Vec<u64> =
            v["nodes"].as_array().unwrap().iter().map(|n| n["boots"].as_u64().unwrap()).collect();
        assert_eq!(boots, [1, 1], "dmesg's copies of [talos] lines must not replay the boot");
    }
}

/// Each kind of secret, planted right after the failing line of the seed log (so it is a
/// context line of the evidence), must appear in no output format: human, JSON and GitHub
/// on stdout, JUnit, SARIF and Markdown in files of the same runs.
#[test]
fn planted_secrets_appear_in_no_output() {
    let long_blob = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo".repeat(7);
    let secrets: Vec<(String, String)> = vec![
        (
            "USERDATA=dmVyc2lvbjogdjFhbHBoYTEKZGVidWc6IGZhbHNlCg==".into(),
            "dmVyc2lvbjogdjFhbHBoYTEK".into(),
        ),
        ("machine: token: abcdef.0123456789abcdef".into(), "0123456789abcdef".into()),
        ("    secret: Kq9wRmZ2c3V0dGVyYm94c2VjcmV0MTIzNDU2Nzg=".into(), "Kq9wRmZ2c3V0dGVy".into()),
        ("bootstraptoken: 0a1b2c.0a1b2c3d4e5f6a7b".into(), "0a1b2c3d4e5f6a7b".into()),
        (
            "aescbcEncryptionSecret: 9yQ0b3RhbGx5c2VjcmV0a2V5MTIzNDU2Nzg5MGFi".into(),
            "9yQ0b3RhbGx5".into(),
        ),
        (
            "secretboxEncryptionSecret: c2VjcmV0Ym94c2VjcmV0MTIzNDU2Nzg5MGFiY2Q=".into(),
            "c2VjcmV0Ym94".into(),
        ),
        (
            "  key: LS0tLS1CRUdJTiBFRDI1NTE5IFBSSVZBVEUgS0VZLS0tLS0K".into(),
            "LS0tLS1CRUdJTiBFRDI1".into(),
        ),
        (
            "MIIEowIBAAKCAQEA7VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6d".into(),
            "MIIEowIBAAKCAQEA7VJTUt9".into(),
        ),
        (
            "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0YWxvcyJ9.c2lnbmF0dXJlMTIz"
                .into(),
            "eyJzdWIiOiJ0YWxvcyJ9".into(),
        ),
        (
            "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=".into(),
            "UFJJVkFURSBLRVkt".into(),
        ),
        ("kubeadm join --token 9a8b7c.6d5e4f3a2b1c0d9e".into(), "6d5e4f3a2b1c0d9e".into()),
        (format!("config blob {long_blob}"), long_blob.clone()),
    ];
    let seed = std::fs::read_to_string(fixture(SEED)).unwrap();
    let lines: Vec<&str> = seed.lines().collect();
    let fail_at =
        lines.iter().position(|l| l.contains("setupSharedFilesystems (1/1): failed")).unwrap();
    let dir = scratch("secrets");
    for (planted, needle) in &secrets {
        let mut log: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        log.insert(fail_at + 1, format!("[talos] 2024/11/20 09:14:03 {planted}"));
        let log = log.join("\n") + "\n";
        let leaked = |text: &str| text.contains(needle.as_str());
        let raw = TestCommand::new(&["analyze", "--format", "json", "--no-redact"])
            .stdin(log.clone())
            .run();
        assert!(
            leaked(&out(&raw)),
            "the planted line is not shown at all, so this test proves nothing: {planted}"
        );
        let files = [dir.join("r.xml"), dir.join("r.sarif"), dir.join("r.md")];
        for format in ["human", "json", "github"] {
            let o = TestCommand::new(&[
                "analyze",
                "--verbose",
                "--format",
                format,
                "--junit",
                &path_str(&files[0]),
                "--sarif",
                &path_str(&files[1]),
                "--markdown",
                &path_str(&files[2]),
            ])
            .stdin(log.clone())
            .run();
            assert_eq!(code(&o), 1, "{format} {planted}: {}", err(&o));
            assert!(!leaked(&out(&o)), "{format} leaks {planted}:\n{}", out(&o));
            assert!(!leaked(&err(&o)), "{format} stderr leaks {planted}");
            for f in &files {
                let text = std::fs::read_to_string(f).unwrap();
                assert!(!leaked(&text), "{} leaks {planted}", f.display());
            }
        }
    }
}

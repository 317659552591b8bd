//! Fixture snapshots: every case under fixtures/ through the library, in human (no colour)
//! and JSON form, plus the knowledge base's own test (`rules test`) as part of `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use talos_doctor::analyzer::{AnalyzeOptions, Analyzer};
use talos_doctor::input::lines::Flow;
use talos_doctor::input::source::{self, Source};
use talos_doctor::kb::Kb;
use talos_doctor::render::{self, RenderOptions};

fn analyze(path: &Path, kb: &Kb) -> talos_doctor::report::Report {
    let mut a = Analyzer::new(kb, AnalyzeOptions::default());
    // Relative to the package root (the test's working directory): snapshots must not
    // depend on where the repository is checked out.
    let rel = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path);
    source::feed(&Source::File(rel.to_path_buf()), None, &mut a, &mut |_, _| Flow::Continue)
        .unwrap();
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
    let rep = talos_doctor::cmd::rules::test_all(&kb, &dir);
    let failures: Vec<String> =
        rep.failures.iter().map(|f| format!("{}: {}", f.subject, f.what)).collect();
    assert!(failures.is_empty(), "rules test failures:\n{}", failures.join("\n"));
    assert!(rep.fixtures >= 10, "only {} fixtures found", rep.fixtures);
    assert_eq!(rep.fixtures_ok, rep.fixtures);
}

/// What a diagnosis decides, without the evidence text (which shows each line as given).
fn verdict(report: &talos_doctor::report::Report) -> (String, Vec<(String, String)>, u8) {
    let findings =
        report.findings.iter().map(|f| (f.id.clone(), format!("{:?}", f.severity))).collect();
    (format!("{:?}", report.outcome), findings, talos_doctor::exit::code_for(report))
}

fn analyze_text(text: &str, kb: &Kb) -> talos_doctor::report::Report {
    let mut a = Analyzer::new(kb, AnalyzeOptions::default());
    a.begin_input("-", None);
    let mut s = talos_doctor::input::lines::LineSplitter::default();
    let mut sink = |l: talos_doctor::input::lines::RawLine<'_>| {
        a.push_line(l);
        Flow::Continue
    };
    s.push(text.as_bytes(), &mut sink);
    s.finish(&mut sink);
    a.report()
}

/// The ways a Talos line reaches a person (see `parse::normalize`), applied to one line.
/// A name and the change it makes to a line.
type Encoding = (&'static str, fn(&str) -> String);

fn encodings() -> Vec<Encoding> {
    vec![
        ("kmsg escapes (talosctl dmesg)", |l| l.replace('\\', "\\x5c")),
        ("kmsg escapes of quotes too", |l| l.replace('\\', "\\x5c").replace('"', "\\x22")),
        // A JSON viewer escapes what it shows once more; only lines with JSON fields are shown so.
        ("JSON inside JSON", |l| {
            if l.contains("{\"") {
                l.replace('\\', "\\\\").replace('"', "\\\"")
            } else {
                l.to_owned()
            }
        }),
        ("strings of the JSON escaped twice", |l| {
            l.replace("\\\"", "\\\\\"").replace("\\n", "\\\\n")
        }),
        ("CRLF", |l| format!("{l}\r")),
        ("caret-M", |l| format!("{l}^M")),
        ("HTML entities", |l| {
            l.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
        }),
        ("Markdown quote", |l| format!("> {l}")),
        ("Markdown list", |l| format!("- {l}")),
        ("Terraform diagnostic frame", |l| format!("\u{2502} {l}")),
        // A line quoted whole in prose (Markdown inline code), where it holds no backtick; not
        // an indented or list line, which Markdown does not render so.
        ("Markdown inline code", |l| {
            let plain = !l.trim().is_empty()
                && !l.contains('`')
                && !l.starts_with([' ', '\t', '*', '-', '+', '>']);
            if plain { format!("`{l}`") } else { l.to_owned() }
        }),
    ]
}

#[test]
fn every_fixture_gives_the_same_diagnosis_in_every_encoding() {
    let kb = Kb::builtin();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let log = entry.unwrap().path().join("input.log");
        let Ok(bytes) = std::fs::read(&log) else { continue };
        let Ok(text) = String::from_utf8(bytes) else { continue };
        // A log that already carries one of the encodings would be read twice over.
        if text.contains("\\x5c") || text.contains("&quot;") || text.contains("\\\\\"") {
            continue;
        }
        let want = verdict(&analyze_text(&text, &kb));
        for (name, enc) in encodings() {
            let encoded: String = text.lines().map(|l| enc(l) + "\n").collect();
            let got = verdict(&analyze_text(&encoded, &kb));
            assert_eq!(got, want, "{} in the encoding `{name}`", log.display());
        }
        checked += 1;
    }
    assert!(checked >= 80, "only {checked} fixtures checked");
}

/// Ranking (rules/SCHEMA.md): when a cause and the symptom it produces both fire, the cause
/// comes first. Each pair is a log in which both rules fire.
#[test]
fn causes_rank_before_their_symptoms() {
    let kb = Kb::builtin();
    let pairs: &[(&str, &str, &str)] = &[
        (
            "mirror misconfiguration before the pull failure it causes",
            r#"[talos] 2025/03/02 18:17:04 service[kubelet](Failed): Failed to run pre stage: failed to pull image "ghcr.io/siderolabs/kubelet:v1.32.2": failed to resolve reference "ghcr.io/siderolabs/kubelet:v1.32.2": TLS config specified for non-HTTPS registry: "harbor.casa"
[talos] 2025/03/02 18:17:05 phase startEverything (10/10): failed
[talos] 2025/03/02 18:17:05 boot sequence: failed"#,
            "TD-IMG-007",
        ),
        (
            "a system disk below the minimum before the volume it cannot hold",
            r#"[  4.07] [talos] volume status {"component": "controller-runtime", "controller": "block.VolumeManagerController", "volume": "EPHEMERAL", "phase": "failed -> failed", "error": "no disks matched for volume (1 matched selector): 1 have not enough space, 0 have wrong format, 0 have other issues"}"#,
            "TD-RES-003",
        ),
        (
            "kubelet's rejected flag before its restart loop",
            r#"[  580.13] [talos] service[kubelet](Stopping): Sending SIGTERM to task kubelet (PID 50256, container kubelet)
[  580.14] [talos] service[kubelet](Finished): Service finished successfully
[  580.15] [talos] service[kubelet](Waiting): Error running Containerd(kubelet), going to restart forever: task "kubelet" failed: exit code 1 (last log "E0917 13:25:21.581111   11160 run.go:72] \"command failed\" err=\"failed to parse kubelet flag: unknown flag: --key\"")"#,
            "TD-CFG-007",
        ),
        (
            "a Podman container without its config before the maintenance wait it causes",
            "[talos] 2024/12/15 14:45:57 fetching machine config from: USERDATA environment variable\n\
[talos] 2024/12/15 14:45:57 entering maintenance service {\"component\": \"controller-runtime\", \"controller\": \"config.AcquireController\"}\n\
[talos] 2024/12/15 14:45:57 this machine is reachable at: {\"component\": \"controller-runtime\", \"controller\": \"runtime.MaintenanceServiceController\"}\n\
[talos] 2024/12/15 14:45:57 \t10.88.0.9 {\"component\": \"controller-runtime\", \"controller\": \"runtime.MaintenanceServiceController\"}",
            "TD-CTR-023",
        ),
        (
            "a config drive not found before the maintenance wait it causes",
            "[talos] 2025/06/01 10:00:00 downloading config {\"component\": \"controller-runtime\", \"controller\": \"config.AcquireController\", \"platform\": \"nocloud\"}\n\
[talos] 2025/06/01 10:00:01 volume status {\"component\": \"controller-runtime\", \"controller\": \"block.VolumeManagerController\", \"volume\": \"platform/cidata/config\", \"phase\": \"waiting -> missing\"}\n\
[talos] 2025/06/01 10:00:02 entering maintenance service {\"component\": \"controller-runtime\", \"controller\": \"config.AcquireController\"}",
            "TD-CFG-009",
        ),
        (
            "the platform's network config failing before the DHCP on bare links it leaves",
            "147.75.85.111: user: warning: [2024-03-14T23:11:40.545012847Z]: [talos] restarting platform network config {\"component\": \"controller-runtime\", \"controller\": \"network.PlatformConfigController\", \"interval\": \"52.685921926s\", \"error\": \"encountered multiple bonds. this is unexpected in the equinix metal platform\"}\n\
147.75.85.111: user: warning: [2024-03-14T23:11:47.547084847Z]: [talos] request/renew failed {\"component\": \"controller-runtime\", \"controller\": \"network.OperatorSpecController\", \"operator\": \"dhcp4\", \"error\": \"unable to receive an offer: got an error while the discovery request: no matching response packet received\", \"link\": \"ens6f3\"}",
            "TD-CLOUD-002",
        ),
        (
            "a user disk the machine lacks before the read-only paths that follow",
            "[talos] 2025/01/10 10:00:00 controller failed {\"component\": \"controller-runtime\", \"controller\": \"block.UserDiskConfigController\", \"error\": \"error resolving device path: lstat /dev/nvme0n1: no such file or directory\"}\n\
[talos] 2025/01/10 10:00:05 controller failed {\"component\": \"controller-runtime\", \"controller\": \"k8s.KubeletServiceController\", \"error\": \"error writing kubelet PKI: open /etc/kubernetes/bootstrap-kubeconfig: read-only file system\"}",
            "TD-DISK-033",
        ),
    ];
    for (what, log, cause) in pairs {
        let report = analyze_text(log, &kb);
        let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
        assert!(ids.len() >= 2, "{what}: only {ids:?} fired, not a pair");
        assert_eq!(ids[0], *cause, "{what}: {ids:?}");
    }
}

/// Ranking (rules/SCHEMA.md): one line states one cause, so two rules of the same category
/// that fire on the same line give one finding, the one ranked nearer the root cause; a rule
/// of another category on the same line stays.
#[test]
fn one_finding_per_category_and_line() {
    let kb = Kb::builtin();
    let log = r#"[  188.818488] [talos] restarting platform network config {"component": "controller-runtime", "controller": "network.PlatformConfigController", "interval": "679.794804ms", "error": "error fetching metadata: 3 error(s) occurred:\n\tfailed to download config from \"http://169.254.169.254/metadata/instance/compute?api-version=2021-12-13&format=json\": Get \"http://169.254.169.254/metadata/instance/compute?api-version=2021-12-13&format=json\": dial tcp 169.254.169.254:80: connect: network is unreachable\n\ttimeout"}"#;
    let report = analyze_text(log, &kb);
    let cloud: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.category == "cloud_metadata_unavailable")
        .map(|f| f.id.as_str())
        .collect();
    // TD-CLOUD-001 (the metadata service unreachable) and TD-CLOUD-002 (the platform config
    // controller's error) both match this line; the specific one is kept.
    assert_eq!(
        cloud,
        ["TD-CLOUD-001"],
        "{:?}",
        report.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
    );
}

//! SARIF 2.1.0, for GitHub code scanning and other SARIF viewers: one run, one rule per
//! rule id used, one result per finding with its first evidence line as the location and
//! the finding's fingerprint as `partialFingerprints["talosDoctor/v1"]`.
//!
//! Written with typed structs, not hand-built JSON; the field names are the schema's.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use super::RenderOptions;
use crate::report::{Finding, Report, Severity};

/// `$schema` of the log: the OASIS 2.1.0 schema (errata 01).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Key of the fingerprint in `partialFingerprints`; the `/v1` changes if the masking does.
pub const FINGERPRINT_KEY: &str = "talosDoctor/v1";

/// Where the tool is described, when the package names no repository or homepage.
const FALLBACK_INFO_URI: &str = "https://crates.io/crates/talos-doctor";

/// Writes one SARIF log (pretty JSON, newline at the end). Info findings only with
/// `opts.verbose`.
pub fn render(report: &Report, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let log = build(report, opts);
    // Built in memory, so a closed stdout reaches the caller as `BrokenPipe`.
    let mut doc = serde_json::to_vec_pretty(&log).map_err(io::Error::other)?;
    doc.push(b'\n');
    w.write_all(&doc)
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: ToolComponent<'a>,
    results: Vec<SarifResult<'a>>,
    column_kind: &'static str,
}

#[derive(Serialize)]
struct ToolComponent<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'a str,
    version: &'a str,
    semantic_version: &'a str,
    information_uri: &'static str,
    rules: Vec<Rule<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule<'a> {
    id: &'a str,
    short_description: Text,
    full_description: Text,
    help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'a str>,
    default_configuration: Configuration,
    properties: RuleProperties<'a>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties<'a> {
    category: &'a str,
    tags: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    occurrence_count: Option<u64>,
    properties: ResultProperties<'a>,
}

/// A physical location for a line of a file; a logical one (the node, what was read) for a
/// line of a stream with no file (standard input, a container's log) and for a container's
/// settings, which no artifact holds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<LogicalLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    name: String,
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u64,
    snippet: Text,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties<'a> {
    node: &'a str,
    category: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    recovered: bool,
}

fn build<'a>(report: &'a Report, opts: &RenderOptions) -> Log<'a> {
    let shown: Vec<&Finding> =
        report.findings.iter().filter(|f| opts.verbose || f.severity != Severity::Info).collect();
    let mut rules: Vec<Rule<'a>> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &shown {
        if !index.contains_key(f.id.as_str()) {
            index.insert(&f.id, rules.len());
            rules.push(rule(f));
        }
    }
    // The analyzer names inputs only once a second one begins: unnamed evidence comes from
    // the first input.
    let fallback = report.inputs.first().map(String::as_str);
    let results = shown
        .iter()
        .map(|f| SarifResult {
            rule_id: &f.id,
            rule_index: index[f.id.as_str()],
            level: level(f.severity),
            message: Text { text: message(f) },
            locations: f.evidence.first().map(|e| location(f, e, fallback)).into_iter().collect(),
            partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, f.fingerprint.as_str())]),
            occurrence_count: (f.occurrences > 1).then_some(f.occurrences),
            properties: ResultProperties {
                node: &f.node,
                category: &f.category,
                recovered: f.recovered,
            },
        })
        .collect();
    Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: ToolComponent {
                driver: Driver {
                    name: &report.tool.name,
                    version: &report.tool.version,
                    semantic_version: &report.tool.version,
                    information_uri: information_uri(),
                    rules,
                },
            },
            results,
            column_kind: "unicodeCodePoints",
        }],
    }
}

fn location(f: &Finding, e: &crate::report::Evidence, fallback: Option<&str>) -> Location {
    let node = if f.node.is_empty() { "-" } else { f.node.as_str() };
    let logical = |what: &str, kind| LogicalLocation {
        name: node.to_owned(),
        fully_qualified_name: format!("{node} ({what})"),
        kind,
    };
    match super::place(e, fallback) {
        super::Place::File { path, line } => Location {
            physical_location: Some(PhysicalLocation {
                artifact_location: ArtifactLocation { uri: uri(path) },
                region: Region { start_line: line, snippet: Text { text: e.text.clone() } },
            }),
            logical_locations: Vec::new(),
            message: None,
        },
        p @ super::Place::Stream { input, .. } => Location {
            physical_location: None,
            logical_locations: vec![logical(input, "module")],
            message: Some(Text { text: format!("{}: {}", p.describe(), e.text) }),
        },
        super::Place::Settings { input } => Location {
            physical_location: None,
            logical_locations: vec![logical(input, "resource")],
            message: Some(Text { text: format!("{input}: {}", e.text) }),
        },
    }
}

fn information_uri() -> &'static str {
    [env!("CARGO_PKG_REPOSITORY"), env!("CARGO_PKG_HOMEPAGE")]
        .into_iter()
        .find(|u| !u.is_empty())
        .unwrap_or(FALLBACK_INFO_URI)
}

fn rule(f: &Finding) -> Rule<'_> {
    let mut text = f.root_cause.trim().to_string();
    let mut markdown = format!("{}\n", f.root_cause.trim());
    if !f.remediation.is_empty() {
        text.push_str("\n\nRemediation:");
        markdown.push_str("\n**Remediation**\n\n");
        for (i, step) in f.remediation.iter().enumerate() {
            text.push_str(&format!("\n{}. {step}", i + 1));
            markdown.push_str(&format!("{}. {step}\n", i + 1));
        }
    }
    if !f.references.is_empty() {
        markdown.push_str("\nReferences:\n\n");
        for r in &f.references {
            markdown.push_str(&format!("- <{r}>\n"));
        }
    }
    Rule {
        id: &f.id,
        short_description: Text { text: f.title.clone() },
        full_description: Text { text: f.root_cause.trim().to_string() },
        help: Help { text, markdown },
        help_uri: f.references.first().map(String::as_str),
        default_configuration: Configuration { level: level(f.severity) },
        properties: RuleProperties { category: &f.category, tags: vec!["talos", &f.category] },
    }
}

fn message(f: &Finding) -> String {
    let node =
        if f.node == "-" || f.node.is_empty() { String::new() } else { format!("[{}] ", f.node) };
    format!("{node}{}: {}", f.title, f.root_cause.trim())
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A URI reference for an input name: path separators kept, anything outside RFC 3986's
/// unreserved and sub-delimiter sets percent-encoded (spaces, `%`, `#`, `?`, non-ASCII).
fn uri(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for b in input.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::github::sample;
    use serde_json::Value;

    fn render_value(report: &Report, opts: &RenderOptions) -> Value {
        let mut out = Vec::new();
        render(report, opts, &mut out).expect("render");
        serde_json::from_slice(&out).expect("json")
    }

    #[test]
    fn log() {
        let mut out = Vec::new();
        render(&sample::report(), &RenderOptions::default(), &mut out).expect("render");
        insta::assert_snapshot!(String::from_utf8(out).expect("utf-8"));
    }

    /// The schema's required properties and enums on every object this renderer writes,
    /// checked by hand (`tests/cli/ci.rs` also validates against the OASIS schema file).
    #[test]
    fn has_what_the_schema_requires() {
        let v = render_value(
            &sample::report(),
            &RenderOptions { verbose: true, ..RenderOptions::default() },
        );
        assert_eq!(v["version"], "2.1.0");
        assert_eq!(v["$schema"], SCHEMA_URI);
        let runs = v["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), 1);
        let driver = &runs[0]["tool"]["driver"];
        assert_eq!(driver["name"], "talos-doctor");
        assert!(driver["informationUri"].as_str().expect("uri").starts_with("https://"));
        let rules = driver["rules"].as_array().expect("rules");
        assert_eq!(rules.len(), 3);
        for r in rules {
            assert!(r["id"].is_string());
            assert!(r["shortDescription"]["text"].is_string());
            assert!(r["fullDescription"]["text"].is_string());
            assert!(r["help"]["text"].is_string());
        }
        let results = runs[0]["results"].as_array().expect("results");
        assert_eq!(results.len(), 3);
        for r in results {
            assert!(["error", "warning", "note"].contains(&r["level"].as_str().expect("level")));
            assert!(r["message"]["text"].is_string());
            let rule_index = r["ruleIndex"].as_u64().expect("index") as usize;
            assert_eq!(rules[rule_index]["id"], r["ruleId"]);
            assert!(r["partialFingerprints"][FINGERPRINT_KEY].is_string());
            for loc in r["locations"].as_array().expect("locations") {
                let phys = &loc["physicalLocation"];
                if phys.is_null() {
                    assert!(loc["logicalLocations"][0]["name"].is_string(), "{loc}");
                    continue;
                }
                assert!(phys["artifactLocation"]["uri"].is_string());
                assert!(phys["region"]["startLine"].as_u64().expect("line") >= 1);
            }
        }
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "logs/cp,%2001.log"
        );
    }

    #[test]
    fn one_rule_per_id() {
        let mut report = sample::report();
        let again = report.findings[0].clone();
        report.findings.push(again);
        let v = render_value(&report, &RenderOptions::default());
        assert_eq!(v["runs"][0]["tool"]["driver"]["rules"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["runs"][0]["results"].as_array().map(Vec::len), Some(3));
    }
}

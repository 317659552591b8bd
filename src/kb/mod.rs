//! The knowledge base: rules as data (`rules/*.toml`, embedded at build time, plus
//! `--rules FILE`), validated and compiled once. Matching lives in [`matcher`]; which lines
//! are worth matching at all in [`gate`] (the literal scan) and [`facts`] (what a text
//! decides, memoised), whose literal sets [`prefilter`] builds.

pub mod budget;
pub(crate) mod facts;
pub mod gate;
pub mod matcher;
pub mod messages;
pub mod prefilter;
pub mod rule;

pub use gate::{Gate, digit_blind};

use regex::{Regex, RegexSet};

use crate::error::Error;
use prefilter::Prefilter;
use rule::{EventKind, Rule, RuleSpec, Scopes};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// The published taxonomy (diagnosis-contract.md). `unknown` is for findings-less failures
/// and is not a rule category.
pub const CATEGORIES: &[&str] = &[
    "container_missing_mounts",
    "container_not_privileged",
    "container_missing_securityfs",
    "container_platform_unset",
    "container_restart_stale_socket",
    "host_kernel_incompatible_netlink",
    "host_kernel_missing_wireguard",
    "host_cgroup_unsupported",
    "host_storage_unsupported",
    "config_decode_error",
    "config_validation_error",
    "config_download_failed",
    "config_missing_maintenance",
    "network_dhcp",
    "network_route_gateway_unreachable",
    "network_dns",
    "time_sync",
    "disk_install",
    "disk_filesystem_corruption",
    "disk_volume_provisioning",
    "resource_requirements",
    "image_pull_registry_mirror_config",
    "image_pull_failed",
    "etcd_certificate_san",
    "etcd_join",
    "kubelet_node_ip",
    "oom_service_cgroup_limit",
    "machined_panic",
    "controller_panic",
    "cpu_microarch_unsupported",
    "upgrade_installer_incompatible",
    "upgrade_maintenance_mode_hang",
    "cloud_metadata_unavailable",
];

/// The compiled rules plus the sets that let one pass per line find candidate rules.
#[derive(Debug, Clone)]
pub struct Kb {
    /// Rules, in load order (built-in files sorted by name, then `--rules` files).
    pub rules: Vec<Rule>,
    /// Rules with a `then`: (rule index), and a set of their `then` patterns.
    pub then_rules: Vec<usize>,
    /// `then` patterns, index = position in `then_rules`.
    pub then_set: RegexSet,
    /// Rules with `absent_after`, and their patterns.
    pub absent_rules: Vec<usize>,
    /// `absent_after` patterns, index = position in `absent_rules`.
    pub absent_set: RegexSet,
    /// Necessary conditions for `then_set` and `absent_set` (see [`prefilter`]).
    pub prefilters: [Prefilter; 2],
    /// One scan per line for everything the analyzer looks for by word (see [`Gate`]).
    pub gate: Gate,
    /// The rules whose `match` literals occur in a text (see [`prefilter::Candidates`]).
    pub candidates: prefilter::Candidates,
    /// Unique per built knowledge base (clones share it): what is memoised about a text
    /// under one set of rules is not reused under another.
    pub id: u64,
}

impl Kb {
    /// The built-in rules. They are tested in CI, so a failure here is a build defect.
    pub fn builtin() -> Kb {
        Kb::load(&[]).expect("built-in rules are valid (checked by `cargo test`)")
    }

    /// Built-in rules plus extra files (`(path, contents)`); a rule with an existing id
    /// replaces the built-in one.
    pub fn load(extra: &[(String, String)]) -> Result<Kb, Error> {
        let mut rules: Vec<Rule> = Vec::new();
        // Rule ids seen, for the duplicate check in time linear in the number of rules.
        let mut ids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let files = builtin::BUILTIN
            .iter()
            .map(|(n, c)| (format!("rules/{n}"), (*c).to_owned(), Trust::Builtin));
        let extra_files = extra.iter().map(|(f, c)| (f.clone(), c.clone(), Trust::Validate));
        for (file, text, trust) in files.chain(extra_files) {
            for rule in parse_file_as(&file, &text, trust)? {
                match ids.get(&rule.spec.id).copied() {
                    Some(i)
                        if extra.iter().any(|(f, _)| *f == file) && !rules[i].origin.eq(&file) =>
                    {
                        rules[i] = rule
                    }
                    Some(_) => {
                        return Err(Error::Rules {
                            line: line_of(&text, &format!("\"{}\"", rule.spec.id)),
                            file,
                            msg: format!("duplicate rule id `{}`", rule.spec.id),
                        });
                    }
                    None => {
                        ids.insert(rule.spec.id.clone(), rules.len());
                        rules.push(rule);
                    }
                }
            }
        }
        Kb::from_rules(rules)
    }

    /// Builds the sets for a list of compiled rules.
    pub fn from_rules(rules: Vec<Rule>) -> Result<Kb, Error> {
        let candidates = prefilter::Candidates::new(rules.iter().map(|r| r.spec.pattern.as_str()));
        let then_rules: Vec<usize> =
            (0..rules.len()).filter(|&i| rules[i].then.is_some()).collect();
        let then_set = pattern_set(
            &rules,
            &then_rules,
            "then.match",
            |r| r.spec.then.as_ref().map(|t| t.pattern.as_str()),
            |r| r.then.as_ref().is_some_and(|t| t.0.is_limited()),
        )?;
        let absent_rules: Vec<usize> =
            (0..rules.len()).filter(|&i| rules[i].absent_after.is_some()).collect();
        let absent_set = pattern_set(
            &rules,
            &absent_rules,
            "absent_after",
            |r| r.spec.absent_after.as_deref(),
            |r| r.absent_after.as_ref().is_some_and(rule::LazyRegex::is_limited),
        )?;
        let prefilters = [
            Prefilter::new(
                then_rules
                    .iter()
                    .filter_map(|&i| rules[i].spec.then.as_ref().map(|t| t.pattern.as_str())),
            ),
            Prefilter::new(
                absent_rules.iter().filter_map(|&i| rules[i].spec.absent_after.as_deref()),
            ),
        ];
        let gate = Gate::new(&candidates, &prefilters, gate::GATE_WORDS);
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Kb {
            rules,
            then_rules,
            then_set,
            absent_rules,
            absent_set,
            prefilters,
            gate,
            candidates,
            id,
        })
    }

    /// Indices of the rules whose `match` pattern matches `text`, ascending: the candidates
    /// (the rules whose literals occur, and those without literals) are checked one by one.
    pub fn matching(&self, text: &str) -> Vec<u32> {
        let mut cands = Vec::new();
        self.candidates.of(text, &mut cands);
        cands.retain(|&i| self.rules.get(i as usize).is_some_and(|r| r.re.get().is_match(text)));
        cands
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.spec.id.eq_ignore_ascii_case(id))
    }

    /// A knowledge base holding only `ids` (for testing one rule's examples alone).
    pub fn only(&self, ids: &[&str]) -> Kb {
        let rules =
            self.rules.iter().filter(|r| ids.contains(&r.spec.id.as_str())).cloned().collect();
        Kb::from_rules(rules).expect("a subset of valid rules is valid")
    }
}

/// One `RegexSet` of a pattern of each of `members` (`then` or `absent_after`). Each
/// `--rules` file's patterns are within its compiled-size budget already, so the set's NFA
/// (about the sum of its patterns') is given the `regex` crate's default 10 MiB for the
/// built-in ones plus that budget for each file that adds some; an error names those files.
fn pattern_set(
    rules: &[Rule],
    members: &[usize],
    what: &str,
    pattern: impl Fn(&Rule) -> Option<&str>,
    from_a_file: impl Fn(&Rule) -> bool,
) -> Result<RegexSet, Error> {
    let mut files: Vec<&str> = Vec::new();
    for &i in members {
        if from_a_file(&rules[i]) && !files.contains(&rules[i].origin.as_str()) {
            files.push(&rules[i].origin);
        }
    }
    let limit = (10 << 20) + files.len() * budget::MAX_FILE_BYTES;
    regex::RegexSetBuilder::new(members.iter().filter_map(|&i| pattern(&rules[i])))
        .size_limit(limit)
        .build()
        .map_err(|e| Error::Rules {
            file: files.join("`, `"),
            line: None,
            msg: format!("the `{what}` patterns of all rules together do not compile: {e}"),
        })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// Whether a rules file's lazily compiled patterns are compiled once at load to validate
/// them. The built-in files are not: each of their patterns is compiled by `cargo test`
/// (`builtin_patterns_compile`), and compiling ~150 regexes only to drop them was a fifth of
/// the instructions of a short run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    Builtin,
    Validate,
}

/// Parses and validates one rules file.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Rule>, Error> {
    parse_file_as(file, text, Trust::Validate)
}

fn parse_file_as(file: &str, text: &str, trust: Trust) -> Result<Vec<Rule>, Error> {
    let parsed: RulesFile = toml::from_str(text).map_err(|e| Error::Rules {
        file: file.to_owned(),
        line: e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
        msg: e.message().trim().to_owned(),
    })?;
    if trust == Trust::Validate && parsed.rule.len() > budget::MAX_RULES_PER_FILE {
        // Refused before any pattern is compiled: the cap bounds the work per line.
        let first = &parsed.rule[budget::MAX_RULES_PER_FILE].id;
        return Err(Error::Rules {
            file: file.to_owned(),
            line: line_of(text, &format!("\"{first}\"")),
            msg: format!(
                "it holds {} rules, more than {}, the cap per rules file (rule `{first}` is the \
                 first past it): split it, or keep the rules you need",
                parsed.rule.len(),
                budget::MAX_RULES_PER_FILE
            ),
        });
    }
    let mut budget = budget::Budget::new();
    parsed.rule.into_iter().map(|spec| compile(file, text, spec, trust, &mut budget)).collect()
}

fn compile(
    file: &str,
    text: &str,
    spec: RuleSpec,
    trust: Trust,
    budget: &mut budget::Budget,
) -> Result<Rule, Error> {
    // The rule's line is looked up only for an error: per rule it was a scan of the whole
    // file, quadratic in the number of rules.
    let err = |msg: String| Error::Rules {
        file: file.to_owned(),
        line: line_of(text, &format!("\"{}\"", spec.id)),
        msg,
    };
    let refused = |what: &str, e: budget::Refusal| match e {
        budget::Refusal::Syntax(e) => err(format!("rule `{}`: bad `{what}` regex: {e}", spec.id)),
        budget::Refusal::Cap(e) => err(format!("rule `{}`: its `{what}` regex: {e}", spec.id)),
    };
    // A `--rules` file's scopes are compiled under its caps and charged to its budget.
    let mut opt = |what: &str, p: &Option<String>| {
        p.as_deref()
            .map(|p| match trust {
                Trust::Builtin => Regex::new(p).map_err(|e| budget::Refusal::Syntax(e.to_string())),
                Trust::Validate => budget.compile(p),
            })
            .transpose()
            .map_err(|e| refused(what, e))
    };
    if !CATEGORIES.contains(&spec.category.as_str()) {
        return Err(err(format!(
            "rule `{}`: category `{}` is not in the taxonomy",
            spec.id, spec.category
        )));
    }
    if spec.id.trim().is_empty()
        || spec.title.trim().is_empty()
        || spec.root_cause.trim().is_empty()
    {
        return Err(err(format!("rule `{}`: id, title and root_cause must not be empty", spec.id)));
    }
    if spec.remediation.is_empty() {
        return Err(err(format!("rule `{}`: needs at least one remediation step", spec.id)));
    }
    // `event = "task_failed|sequence_failed"`: any of the kinds.
    let event = match spec.event.as_deref() {
        None => vec![EventKind::Any],
        Some(e) => e
            .split('|')
            .map(|k| {
                EventKind::parse(k.trim())
                    .ok_or_else(|| err(format!("rule `{}`: unknown event `{k}`", spec.id)))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let scopes = Scopes {
        task: opt("task", &spec.task)?,
        phase: opt("phase", &spec.phase)?,
        sequence: opt("sequence", &spec.sequence)?,
        service: opt("service", &spec.service)?,
        controller: opt("controller", &spec.controller)?,
        level: opt("level", &spec.level)?,
    };
    // Matched through the knowledge base's sets; the rule keeps them validated but lazy.
    let mut lazy = |what: &str, p: &str| match trust {
        Trust::Builtin => Ok(rule::LazyRegex::trusted(p)),
        Trust::Validate => rule::LazyRegex::limited(p, budget).map_err(|e| refused(what, e)),
    };
    let then = match &spec.then {
        Some(t) => Some((lazy("then.match", &t.pattern)?, t.within)),
        None => None,
    };
    let absent_after = spec.absent_after.as_deref().map(|p| lazy("absent_after", p)).transpose()?;
    Ok(Rule {
        re: lazy("match", &spec.pattern)?,
        event,
        scopes,
        then,
        absent_after,
        origin: file.to_owned(),
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rule]]
id = "T-1"
category = "network_dns"
severity = "error"
title = "t"
match = 'x'
root_cause = "r"
remediation = ["a"]
"#;

    /// The built-in patterns are not compiled at load ([`Trust::Builtin`]): each must
    /// compile, so that `LazyRegex::get` cannot fail.
    #[test]
    fn builtin_patterns_compile() {
        let mut n = 0;
        for (name, text) in builtin::BUILTIN {
            for rule in parse_file(name, text).expect("valid built-in file") {
                let s = &rule.spec;
                let pats = [Some(s.pattern.as_str()), s.then.as_ref().map(|t| t.pattern.as_str())];
                for p in pats.into_iter().chain([s.absent_after.as_deref()]).flatten() {
                    assert!(Regex::new(p).is_ok(), "{}: {p}", s.id);
                    n += 1;
                }
            }
        }
        assert!(n > 50, "{n}");
        let kb = Kb::builtin();
        for r in &kb.rules {
            r.re.get();
        }
    }

    #[test]
    fn builtin_loads() {
        let kb = Kb::builtin();
        assert!(kb.get("TD-CTR-001").is_some());
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases: &[(&str, &str)] = &[
            ("[[rule]]\nid = \"A\"\nbogus = 1\n", "line 3"),
            (&GOOD.replace("network_dns", "nope"), "not in the taxonomy"),
            (&GOOD.replace("'x'", "'('"), "bad `match` regex"),
            (&GOOD.replace("severity = \"error\"", "severity = \"fatal\""), "line"),
            (&GOOD.replace("remediation = [\"a\"]", "remediation = []"), "remediation"),
        ];
        for (text, want) in cases {
            let e = parse_file("x.toml", text).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("`x.toml`") && e.contains(want), "{e} lacks {want}");
        }
        assert!(parse_file("x.toml", GOOD).is_ok());
    }
}

//! The component that printed an unexplained failure, from the message catalogue: a failed
//! node that no rule explains still gets a category when the line stating its failure was
//! printed by a part of Talos with one job (`data/printed-by.toml` says which and why).

use std::sync::OnceLock;

use serde::Deserialize;

use crate::kb::messages;
use crate::report::{Evidence, Finding, Severity};

/// `data/printed-by.toml`, compiled in.
const DATA: &str = include_str!("../../data/printed-by.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    component: Vec<Component>,
}

/// One component of Talos, by the source paths of the formats it prints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Component {
    pub(super) id: String,
    pub(super) category: String,
    name: String,
    paths: Vec<String>,
    /// What the component works on, as Talos' own errors name it (`volume "EPHEMERAL"`,
    /// `blockdevice "sda3"`, `pulling image`): an error about that subject is this component's
    /// failure even where the line is not a catalogue format (a client's output, an older
    /// release, a Go error with no Talos words around it).
    #[serde(default)]
    subjects: Vec<String>,
    /// The steps of a boot or upgrade whose whole job is this component's (the install
    /// sequence, the `install` and `upgrade` phases run the installer): a failure of that
    /// step that no format or subject places is this component's. Weaker than a subject,
    /// since what fails inside a step may be another part's (a pull the installer needs).
    #[serde(default)]
    steps: Vec<String>,
    pub(super) title: String,
    pub(super) root_cause: String,
    pub(super) remediation: Vec<String>,
}

fn components() -> &'static [Component] {
    static C: OnceLock<Vec<Component>> = OnceLock::new();
    C.get_or_init(|| {
        toml::from_str::<File>(DATA)
            .expect("data/printed-by.toml parses (checked by its test)")
            .component
    })
}

/// Each component's subjects, compiled once, in the order of the components.
fn subjects() -> &'static [(usize, regex::Regex)] {
    static S: OnceLock<Vec<(usize, regex::Regex)>> = OnceLock::new();
    S.get_or_init(|| compile(|c| &c.subjects))
}

/// Each component's steps, compiled once, in the order of the components.
fn steps() -> &'static [(usize, regex::Regex)] {
    static S: OnceLock<Vec<(usize, regex::Regex)>> = OnceLock::new();
    S.get_or_init(|| compile(|c| &c.steps))
}

fn compile(field: fn(&Component) -> &Vec<String>) -> Vec<(usize, regex::Regex)> {
    components()
        .iter()
        .enumerate()
        .flat_map(|(i, c)| field(c).iter().map(move |s| (i, s)))
        .map(|(i, s)| {
            (i, regex::Regex::new(s).expect("data/printed-by.toml patterns compile (tested)"))
        })
        .collect()
}

/// What printed a line: the component and the catalogue entry (path, line, releases, URL),
/// or the subject the line's error names.
pub(super) struct PrintedBy {
    pub(super) component: &'static Component,
    source: String,
    /// Found by the subject the error names, not by the format that printed it.
    by_subject: bool,
    /// Found by the step that failed (its `source` is the step's words).
    by_step: bool,
}

/// The component whose subject `line`'s error names (the first listed wins).
pub(super) fn subject_of(line: &str) -> Option<PrintedBy> {
    let mut by = matching(line, subjects())?;
    by.by_subject = true;
    Some(by)
}

/// The component whose step failed on `line` (see [`Component::steps`]).
pub(super) fn step_of(line: &str) -> Option<PrintedBy> {
    let mut by = matching(line, steps())?;
    by.by_step = true;
    Some(by)
}

fn matching(line: &str, patterns: &'static [(usize, regex::Regex)]) -> Option<PrintedBy> {
    let norm = crate::parse::normalize::normalize(line);
    let env = crate::parse::envelope::parse(&norm);
    let (i, m) = patterns.iter().find_map(|(i, re)| Some((*i, re.find(&env.text)?)))?;
    Some(PrintedBy {
        component: &components()[i],
        source: format!("`{}`", m.as_str()),
        by_subject: false,
        by_step: false,
    })
}

/// The component whose format printed `line` (a log line as given), the deepest one in the
/// error chain first: `task install (1/1): failed: failed to format device: …` is the
/// installer's, not the sequencer's. Weak formats (little literal text) do not count.
pub(super) fn printed_by(line: &str) -> Option<PrintedBy> {
    let norm = crate::parse::normalize::normalize(line);
    let env = crate::parse::envelope::parse(&norm);
    let text: &str = &env.text;
    // The whole text first; then, as Go wraps errors (`%s: %w`), what follows each of the first
    // few `: `, so a wrapper no catalogue knows (a tool around talosctl, `failed to generate
    // talos config: missing kind`) still shows the Talos error it carries.
    let tails = text.match_indices(": ").take(MAX_WRAPPERS).map(|(i, _)| &text[i + 2..]);
    std::iter::once(text).chain(tails).find_map(printed_by_text)
}

/// Whether the line (as given) is one of Talos' own formats, at any depth, weak ones aside:
/// a line that is not (a tool's words around Talos) may carry Talos' error on later lines.
pub(super) fn is_talos_format(line: &str) -> bool {
    let norm = crate::parse::normalize::normalize(line);
    let env = crate::parse::envelope::parse(&norm);
    messages::lookup(&env.text).iter().any(|m| !m.weak && !m.alt)
}

/// Whether `text` is an error a boot task returns (a format of the sequencer's tasks,
/// v1alpha1_sequencer_tasks.go: `file must exist: %q`): the sequencer fails the task with
/// exactly that error, so the line states a failure even without an error word, though no
/// one component owns the tasks.
pub(super) fn returned_by_task(text: &str) -> bool {
    messages::lookup(text.trim_end())
        .iter()
        .any(|m| m.depth == 0 && !m.weak && !m.alt && m.path.ends_with(TASKS))
}

/// The file of the boot sequencer's tasks, at every release the catalogue covers.
const TASKS: &str = "runtime/v1alpha1/v1alpha1_sequencer_tasks.go";

/// Wrappers of an error skipped at most, looking for what Talos printed inside them.
const MAX_WRAPPERS: usize = 4;

fn printed_by_text(text: &str) -> Option<PrintedBy> {
    let mut matches = messages::lookup(text);
    matches.retain(|m| !m.weak && !m.alt);
    matches.sort_by_key(|m| std::cmp::Reverse(m.depth));
    matches.iter().find_map(|m| {
        let c =
            components().iter().find(|c| c.paths.iter().any(|p| m.path.contains(p.as_str())))?;
        let range = messages::releases(m);
        Some(PrintedBy {
            component: c,
            source: format!("{}:{} ({range}) {}", m.path, m.line, m.url),
            by_subject: false,
            by_step: false,
        })
    })
}

impl PrintedBy {
    /// The finding: an error in the component's category, with the line as its evidence.
    pub(super) fn finding(&self, node: &str, evidence: Evidence) -> Finding {
        let c = self.component;
        let root_cause = if self.by_step {
            format!(
                "{} (Found by the step that failed: {}, which is {}'s work; no rule knows this error's exact cause.)",
                c.root_cause.trim(),
                self.source,
                c.name,
            )
        } else if self.by_subject {
            format!(
                "{} (Found by what the error is about: {}, which {}'s work names; no rule knows this error's exact cause.)",
                c.root_cause.trim(),
                self.source,
                c.name,
            )
        } else {
            format!(
                "{} (Found by what printed the line: {}, `{}`; no rule knows this error's exact cause.)",
                c.root_cause.trim(),
                c.name,
                self.source.split_once(' ').map_or(&*self.source, |(at, _)| at)
            )
        };
        let references = if self.by_subject || self.by_step {
            Vec::new()
        } else {
            vec![self.source.rsplit(' ').next().unwrap_or_default().to_owned()]
        };
        Finding {
            id: c.id.clone(),
            category: c.category.clone(),
            severity: Severity::Error,
            node: node.to_owned(),
            title: c.title.clone(),
            root_cause,
            remediation: c.remediation.clone(),
            fingerprint: crate::fingerprint::fingerprint(&c.id, &evidence.text),
            evidence: vec![evidence],
            references,
            fixed_in: None,
            occurrences: 1,
            boots: 1,
            recovered: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_parses_and_every_category_is_published() {
        for c in components() {
            assert!(crate::kb::CATEGORIES.contains(&c.category.as_str()), "{}", c.category);
            assert!(!c.paths.is_empty() && !c.remediation.is_empty(), "{}", c.id);
        }
        // Every subject compiles (the lookup would panic on the first use otherwise).
        assert!(subjects().len() >= components().iter().map(|c| c.subjects.len()).sum());
        assert!(steps().len() >= components().iter().map(|c| c.steps.len()).sum());
    }

    #[test]
    fn lines_by_the_component_that_printed_them() {
        for (line, want) in [
            // The installer's own words, bare (its Go log prefix) and nested in a task failure.
            (
                "2020/06/25 18:23:22 failed to format device: exit status 1: mkfs.vfat: can't open '/dev/loop2p1': No such file or directory",
                Some("disk_install"),
            ),
            (
                "[talos] task upgrade (1/1): failed: failed to format device: exit status 1",
                Some("disk_install"),
            ),
            // The sequencer's words around an error of no known component.
            ("[talos] task startAllServices (1/1): failed: context deadline exceeded", None),
            ("[talos] boot sequence: failed", None),
            ("connection refused", None),
            // A wrapper no catalogue knows, around a Talos error it carries.
            ("failed to generate talos config: missing kind", Some("config_decode_error")),
            (
                "error: apply failed: virtual (shared) IP is not allowed on non-controlplane nodes",
                Some("config_validation_error"),
            ),
            ("failed to generate talos config: boom", None),
        ] {
            let got = printed_by(line).map(|p| p.component.category.as_str());
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn lines_by_the_subject_their_error_names() {
        for (line, want) in [
            // A client's view of a server-side refusal: the volume and the device are named.
            (
                "* 10.5.0.2: rpc error: code = Unknown desc = failed to reset: volume \"STATE\" is not ready",
                Some("disk_volume_provisioning"),
            ),
            (
                "rpc error: code = FailedPrecondition desc = blockdevice \"nvme0n1p3\" is in use by blockdevice \"dm-1\"",
                Some("disk_volume_provisioning"),
            ),
            // A kubelet or containerd line saying what it was doing when the network failed.
            ("pulling image registry.k8s.io/pause:3.10: starting...", Some("image_pull_failed")),
            (
                "Failed to pull image \"docker.io/library/nginx:1.27\": rpc error: code = NotFound",
                Some("image_pull_failed"),
            ),
            (
                "2019/09/07 23:15:38 ntp.go:47: error querying time.example.org for time, i/o timeout",
                Some("time_sync"),
            ),
            (
                "rename /tmp/vmlinuz /tmp/ESP/vmlinuz: invalid cross-device link",
                Some("disk_install"),
            ),
            // Words that only look like subjects: a lower-case volume word, a user's image.
            ("the volume \"data\" is 90% full", None),
            ("[talos] service[etcd](Running): Health check successful", None),
            ("context deadline exceeded", None),
        ] {
            let got = subject_of(line).map(|p| p.component.category.as_str());
            assert_eq!(got, want, "{line}");
        }
    }
}

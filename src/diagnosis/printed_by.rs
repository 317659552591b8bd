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

/// What printed a line: the component and the catalogue entry (path, line, releases, URL).
pub(super) struct PrintedBy {
    pub(super) component: &'static Component,
    source: String,
}

/// The component whose format printed `line` (a log line as given), the deepest one in the
/// error chain first: `task install (1/1): failed: failed to format device: …` is the
/// installer's, not the sequencer's. Weak formats (little literal text) do not count.
pub(super) fn printed_by(line: &str) -> Option<PrintedBy> {
    let norm = crate::parse::normalize::normalize(line);
    let env = crate::parse::envelope::parse(&norm);
    let mut matches = messages::lookup(&env.text);
    matches.retain(|m| !m.weak && !m.alt);
    matches.sort_by_key(|m| std::cmp::Reverse(m.depth));
    matches.iter().find_map(|m| {
        let c =
            components().iter().find(|c| c.paths.iter().any(|p| m.path.contains(p.as_str())))?;
        let range = messages::releases(m);
        Some(PrintedBy {
            component: c,
            source: format!("{}:{} ({range}) {}", m.path, m.line, m.url),
        })
    })
}

impl PrintedBy {
    /// The finding: an error in the component's category, with the line as its evidence.
    pub(super) fn finding(&self, node: &str, evidence: Evidence) -> Finding {
        let c = self.component;
        let root_cause = format!(
            "{} (Found by what printed the line: {}, `{}`; no rule knows this error's exact cause.)",
            c.root_cause.trim(),
            c.name,
            self.source.split_once(' ').map_or(&*self.source, |(at, _)| at)
        );
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
            references: vec![self.source.rsplit(' ').next().unwrap_or_default().to_owned()],
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
        ] {
            let got = printed_by(line).map(|p| p.component.category.as_str());
            assert_eq!(got, want, "{line}");
        }
    }
}

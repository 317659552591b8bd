//! The Talos phase catalogue: the phase lists of every release and mode, the phase of each
//! task, the tasks that exist only in some releases, and the phases only metal runs. It is
//! data (`data/phases.toml`, embedded at build time and parsed once, like `rules/`), so a
//! new Talos release needs no Rust change; this module reads it and matches a log's shape
//! against it.
//!
//! machined prints no version banner in container mode, so the version is read from the
//! structure: how many phases a sequence announces and which phase sits at which index.
//! Every list is a candidate; a candidate survives when its length equals the announced `N`
//! and every phase seen has the candidate's name at its index. The version range reported is
//! the union of the survivors.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::version::Version;
use crate::report::Mode;

/// The built-in catalogue's text.
const BUILTIN: &str = include_str!("../../data/phases.toml");

/// The patch of a range's last release written without one (`to = "v1.6"`): every v1.6 patch.
const EVERY_PATCH: u32 = 99;

/// One candidate phase list.
#[derive(Debug)]
pub(crate) struct PhaseList {
    /// The first release (`v1.6.5`).
    pub(crate) from: Version,
    /// The last release ([`Version::OPEN`]: every later one).
    pub(crate) to: Version,
    /// Mode it applies to.
    pub(crate) mode: Mode,
    /// Sequence name.
    pub(crate) sequence: String,
    /// Phase names in order; an empty list means only the count is known.
    pub(crate) phases: Vec<String>,
    /// Count when `phases` is empty.
    pub(crate) count: u32,
}

impl PhaseList {
    /// Number of phases.
    pub(crate) fn len(&self) -> u32 {
        if self.phases.is_empty() { self.count } else { self.phases.len() as u32 }
    }

    /// Name of phase `index` (1-based), if known.
    pub(crate) fn name(&self, index: u32) -> Option<&str> {
        self.phases.get(index.checked_sub(1)? as usize).map(String::as_str)
    }
}

/// A task that exists only in some releases.
#[derive(Debug)]
pub(crate) struct TaskVersions {
    /// Task name.
    pub(crate) task: String,
    /// First release that has it.
    pub(crate) from: Version,
    /// Last release that has it ([`Version::OPEN`]: still there).
    pub(crate) to: Version,
}

/// Everything `data/phases.toml` says.
#[derive(Debug)]
pub(crate) struct Catalogue {
    /// Every known phase list (seq.go at each tag; reference §2.1–§2.3).
    pub(crate) lists: Vec<PhaseList>,
    /// The phase each task runs in, for tasks whose phase is unambiguous (reference §2.1,
    /// §2.2, §3). Used when an excerpt shows a task's own messages but not its phase start.
    pub(crate) task_phase: HashMap<String, String>,
    /// Tasks that exist only in some releases (reference §2.2, §3): their presence narrows
    /// the version range that the phase lists give.
    pub(crate) task_versions: Vec<TaskVersions>,
    /// Phase names only the metal/cloud boot has: their presence rules out container mode.
    pub(crate) metal_only_phases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    list: Vec<RawList>,
    task_phase: HashMap<String, String>,
    task_version: Vec<RawTaskVersion>,
    metal_only_phases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    label: String,
    from: String,
    to: Option<String>,
    mode: String,
    sequence: String,
    #[serde(default)]
    phases: Vec<String>,
    #[serde(default)]
    count: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaskVersion {
    task: String,
    from: String,
    to: Option<String>,
}

/// The first release of a range: `v1.6` is v1.6.0.
fn first_of(v: &str) -> Result<Version, String> {
    Version::parse(v).ok_or_else(|| format!("invalid version `{v}`"))
}

/// The last release of a range: `v1.6` is every v1.6 patch, none is every later release.
fn last_of(v: Option<&str>) -> Result<Version, String> {
    let Some(v) = v else { return Ok(Version::OPEN) };
    let k = first_of(v)?;
    Ok(if v.split(['-', '+']).next().unwrap_or(v).matches('.').count() < 2 {
        Version::new(k.major, k.minor, EVERY_PATCH)
    } else {
        k
    })
}

/// The built-in catalogue, parsed on first use.
pub(crate) fn builtin() -> &'static Catalogue {
    static CATALOGUE: LazyLock<Catalogue> =
        LazyLock::new(|| Catalogue::parse(BUILTIN).expect("data/phases.toml is valid (tested)"));
    &CATALOGUE
}

impl Catalogue {
    /// Reads a catalogue in the format of `data/phases.toml`.
    pub(crate) fn parse(text: &str) -> Result<Catalogue, String> {
        let raw: RawCatalogue = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut lists = Vec::with_capacity(raw.list.len());
        for l in raw.list {
            let mode = match l.mode.as_str() {
                "container" => Mode::Container,
                "metal" => Mode::Metal,
                m => return Err(format!("list `{}`: unknown mode `{m}`", l.label)),
            };
            lists.push(PhaseList {
                from: first_of(&l.from)?,
                to: last_of(l.to.as_deref())?,
                mode,
                sequence: l.sequence,
                phases: l.phases,
                count: l.count,
            });
        }
        let mut task_versions = Vec::with_capacity(raw.task_version.len());
        for t in raw.task_version {
            task_versions.push(TaskVersions {
                from: first_of(&t.from)?,
                to: last_of(t.to.as_deref())?,
                task: t.task,
            });
        }
        Ok(Catalogue {
            lists,
            task_phase: raw.task_phase,
            task_versions,
            metal_only_phases: raw.metal_only_phases,
        })
    }

    /// The phase `task` runs in, when unambiguous.
    pub(crate) fn phase_of_task(&self, task: &str) -> Option<&str> {
        self.task_phase.get(task).map(String::as_str)
    }

    /// Lists consistent with what was observed, optionally restricted to a mode.
    pub(crate) fn candidates(&self, obs: &Observed<'_>, mode: Option<Mode>) -> Vec<&PhaseList> {
        self.lists
            .iter()
            .filter(|l| l.sequence == obs.sequence)
            .filter(|l| mode.is_none_or(|m| m == l.mode))
            .filter(|l| obs.total.is_none_or(|n| n == l.len()))
            .filter(|l| {
                obs.seen.iter().all(|(i, name)| l.phases.is_empty() || l.name(*i) == Some(*name))
            })
            .filter(|_| obs.total.is_some() || !obs.seen.is_empty())
            .collect()
    }
}

/// What one sequence run showed: its announced count and the phases seen by index.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed<'a> {
    /// Sequence name.
    pub(crate) sequence: &'a str,
    /// Announced `N`, from the sequence line or any phase's `n/N`.
    pub(crate) total: Option<u32>,
    /// `(index, name)` of phases seen.
    pub(crate) seen: Vec<(u32, &'a str)>,
}

/// The version range covered by a set of candidates: `v1.6.5–v1.9`, `v1.10+`.
pub(crate) fn range(lists: &[&PhaseList]) -> Option<String> {
    let from = lists.iter().map(|l| l.from).min()?;
    let to = lists.iter().map(|l| l.to).max()?;
    Some(span(from, to))
}

/// The versions from `from` to `to` as printed: `v1.6.5–v1.9`, `v1.10+`, `v1.5`.
pub(crate) fn span(from: Version, to: Version) -> String {
    if to == Version::OPEN {
        return format!("{}+", from.short());
    }
    let to_s =
        if to.patch == EVERY_PATCH { format!("v{}.{}", to.major, to.minor) } else { to.short() };
    let from_s = from.short();
    if from_s == to_s
        || (from.major, from.minor) == (to.major, to.minor)
            && from.patch == 0
            && to.patch == EVERY_PATCH
    {
        to_s
    } else {
        format!("{from_s}–{to_s}")
    }
}

/// The phase names a sequence will run, once the version is known: used to name phases
/// that were never reached. Returns `None` unless all candidates agree on the names.
pub(crate) fn expected_names<'c>(cands: &[&'c PhaseList], total: u32) -> Option<Vec<&'c str>> {
    let named: Vec<_> = cands.iter().filter(|l| !l.phases.is_empty() && l.len() == total).collect();
    let first = named.first()?;
    named
        .iter()
        .all(|l| l.phases == first.phases)
        .then(|| first.phases.iter().map(String::as_str).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(
        seq: &str,
        total: Option<u32>,
        seen: &[(u32, &str)],
        mode: Option<Mode>,
    ) -> Option<String> {
        let obs = Observed { sequence: seq, total, seen: seen.to_vec() };
        range(&builtin().candidates(&obs, mode))
    }

    #[test]
    fn table() {
        type Case<'a> = (&'a str, Option<u32>, &'a [(u32, &'a str)], Option<Mode>, Option<&'a str>);
        let cases: &[Case<'_>] = &[
            ("boot", Some(10), &[(1, "saveConfig")], Some(Mode::Container), Some("v1.6.5–v1.9")),
            ("boot", Some(10), &[(1, "validateConfig")], Some(Mode::Container), Some("v1.0–v1.2")),
            (
                "boot",
                Some(10),
                &[(6, "sharedFilesystems")],
                Some(Mode::Container),
                Some("v1.0–v1.9"),
            ),
            ("boot", Some(8), &[], None, Some("v1.10+")),
            ("boot", Some(12), &[(7, "sharedFilesystems")], Some(Mode::Container), Some("v1.5")),
            ("boot", Some(19), &[(17, "labelControlPlane")], None, Some("v1.2")),
            (
                "initialize",
                Some(4),
                &[(1, "systemRequirements")],
                Some(Mode::Container),
                Some("v1.6–v1.8"),
            ),
            ("initialize", Some(2), &[], Some(Mode::Container), Some("v1.9+")),
            ("boot", Some(99), &[], None, None),
            ("boot", None, &[], None, None),
        ];
        for (seq, total, seen, mode, want) in cases {
            assert_eq!(
                infer(seq, *total, seen, *mode).as_deref(),
                *want,
                "{seq} {total:?} {seen:?}"
            );
        }
    }

    #[test]
    fn names_of_unreached_phases() {
        let obs = Observed { sequence: "boot", total: Some(10), seen: vec![(1, "saveConfig")] };
        let c = builtin().candidates(&obs, Some(Mode::Container));
        let names = expected_names(&c, 10).unwrap();
        assert_eq!(names[9], "startEverything");
        assert_eq!(Version::parse("v1.10.0-beta.1"), Some(Version::new(1, 10, 0)));
    }

    /// A made-up release, v1.99, whose container boot runs nine phases: an entry in the
    /// data alone makes logs of it recognised, with its phase names.
    #[test]
    fn a_new_release_needs_only_data() {
        let text = format!(
            "{BUILTIN}\n{}",
            r#"[[list]]
label = "v1.99"
from = "v1.99"
mode = "container"
sequence = "boot"
phases = ["validateConfig", "saveConfig", "env", "containerd", "dbus", "sharedFilesystems", "var", "userSetup", "warpDrive"]
"#
        );
        let cat = Catalogue::parse(&text).expect("catalogue");
        let obs = Observed { sequence: "boot", total: Some(9), seen: vec![(9, "warpDrive")] };
        let c = cat.candidates(&obs, Some(Mode::Container));
        assert_eq!(range(&c).as_deref(), Some("v1.99+"));
        assert_eq!(expected_names(&c, 9).unwrap()[8], "warpDrive");
        // The built-in catalogue knows no such release.
        assert_eq!(range(&builtin().candidates(&obs, Some(Mode::Container))), None);
    }
}

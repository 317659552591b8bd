//! Talos phase lists per version and mode, as data (reference §2), and the inference of
//! the Talos version from the shape of a log.
//!
//! machined prints no version banner in container mode, so the version is read from the
//! structure: how many phases a sequence announces and which phase sits at which index.
//! Every list below is a candidate; a candidate survives when its length equals the
//! announced `N` and every phase seen has the candidate's name at its index. The version
//! range reported is the union of the survivors.

use crate::report::Mode;

/// One candidate phase list.
#[derive(Debug)]
pub struct PhaseList {
    /// Talos versions it belongs to, as printed (`v1.6.5–v1.9`).
    pub versions: &'static str,
    /// Ordering key of the first version, for sorting ranges (`(1, 6, 5)`).
    pub from: (u32, u32, u32),
    /// Ordering key of the last version.
    pub to: (u32, u32, u32),
    /// Mode it applies to.
    pub mode: Mode,
    /// Sequence name.
    pub sequence: &'static str,
    /// Phase names in order; an empty list means only the count is known.
    pub phases: &'static [&'static str],
    /// Count when `phases` is empty.
    pub count: u32,
}

impl PhaseList {
    /// Number of phases.
    pub fn len(&self) -> u32 {
        if self.phases.is_empty() { self.count } else { self.phases.len() as u32 }
    }

    /// True for a list that names no phases and counts none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Name of phase `index` (1-based), if known.
    pub fn name(&self, index: u32) -> Option<&'static str> {
        self.phases.get(index.checked_sub(1)? as usize).copied()
    }
}

macro_rules! list {
    ($v:expr, $from:expr, $to:expr, $mode:ident, $seq:expr, [$($p:expr),* $(,)?]) => {
        PhaseList { versions: $v, from: $from, to: $to, mode: Mode::$mode, sequence: $seq, phases: &[$($p),*], count: 0 }
    };
    ($v:expr, $from:expr, $to:expr, $mode:ident, $seq:expr, count $n:expr) => {
        PhaseList { versions: $v, from: $from, to: $to, mode: Mode::$mode, sequence: $seq, phases: &[], count: $n }
    };
}

const V10: (u32, u32, u32) = (1, 0, 0);
const LAST: (u32, u32, u32) = (1, 99, 99);

/// Every known phase list (seq.go at each tag; reference §2.1–§2.3).
pub static LISTS: &[PhaseList] = &[
    // Container boot (§2.1).
    list!(
        "v1.0–v1.2 (worker)",
        V10,
        (1, 2, 99),
        Container,
        "boot",
        [
            "validateConfig",
            "saveConfig",
            "env",
            "containerd",
            "dbus",
            "sharedFilesystems",
            "var",
            "udevSetup",
            "userSetup",
            "startEverything"
        ]
    ),
    list!(
        "v1.0–v1.1 (control plane)",
        V10,
        (1, 1, 99),
        Container,
        "boot",
        [
            "validateConfig",
            "saveConfig",
            "env",
            "containerd",
            "dbus",
            "sharedFilesystems",
            "var",
            "udevSetup",
            "userSetup",
            "startEverything",
            "labelMaster"
        ]
    ),
    list!(
        "v1.2 (control plane)",
        (1, 2, 0),
        (1, 2, 99),
        Container,
        "boot",
        [
            "validateConfig",
            "saveConfig",
            "env",
            "containerd",
            "dbus",
            "sharedFilesystems",
            "var",
            "udevSetup",
            "userSetup",
            "startEverything",
            "labelControlPlane"
        ]
    ),
    list!(
        "v1.3 (worker)",
        (1, 3, 0),
        (1, 3, 99),
        Container,
        "boot",
        [
            "validateConfig",
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "containerd",
            "dbus",
            "sharedFilesystems",
            "var",
            "legacyCleanup",
            "udevSetup",
            "userSetup",
            "startEverything"
        ]
    ),
    list!(
        "v1.3 (control plane)",
        (1, 3, 0),
        (1, 3, 99),
        Container,
        "boot",
        [
            "validateConfig",
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "containerd",
            "dbus",
            "sharedFilesystems",
            "var",
            "legacyCleanup",
            "udevSetup",
            "userSetup",
            "startEverything",
            "labelControlPlane"
        ]
    ),
    list!(
        "v1.4 (worker)",
        (1, 4, 0),
        (1, 4, 99),
        Container,
        "boot",
        [
            "validateConfig",
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "containerd",
            "dbus",
            "sharedFilesystems",
            "var",
            "legacyCleanup",
            "userSetup",
            "startEverything"
        ]
    ),
    list!(
        "v1.4 (control plane)",
        (1, 4, 0),
        (1, 4, 99),
        Container,
        "boot",
        [
            "validateConfig",
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "containerd",
            "dbus",
            "sharedFilesystems",
            "var",
            "legacyCleanup",
            "userSetup",
            "startEverything",
            "labelControlPlane"
        ]
    ),
    list!(
        "v1.5",
        (1, 5, 0),
        (1, 5, 99),
        Container,
        "boot",
        [
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "containerd",
            "dbus",
            "sharedFilesystems",
            "var",
            "legacyCleanup",
            "userSetup",
            "extendPCRStartAll",
            "startEverything"
        ]
    ),
    list!(
        "v1.6.0–v1.6.4",
        (1, 6, 0),
        (1, 6, 4),
        Container,
        "boot",
        [
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "sharedFilesystems",
            "var",
            "legacyCleanup",
            "userSetup",
            "extendPCRStartAll",
            "startEverything"
        ]
    ),
    list!(
        "v1.6.5–v1.9",
        (1, 6, 5),
        (1, 9, 99),
        Container,
        "boot",
        [
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "sharedFilesystems",
            "var",
            "userSetup",
            "extendPCRStartAll",
            "startEverything"
        ]
    ),
    list!(
        "v1.10+",
        (1, 10, 0),
        LAST,
        Container,
        "boot",
        [
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "sharedFilesystems",
            "ephemeral",
            "userSetup",
            "startEverything"
        ]
    ),
    // Container initialize (§2.2).
    list!(
        "v1.0–v1.3",
        V10,
        (1, 3, 99),
        Container,
        "initialize",
        ["logger", "systemRequirements", "etc", "config"]
    ),
    list!(
        "v1.4–v1.5",
        (1, 4, 0),
        (1, 5, 99),
        Container,
        "initialize",
        ["logger", "systemRequirements", "etc", "machined", "config"]
    ),
    list!(
        "v1.6–v1.8",
        (1, 6, 0),
        (1, 8, 99),
        Container,
        "initialize",
        ["systemRequirements", "etc", "machined", "config"]
    ),
    list!("v1.9+", (1, 9, 0), LAST, Container, "initialize", ["machined", "config"]),
    // Container shutdown and reset.
    list!(
        "v1.0–v1.5",
        V10,
        (1, 5, 99),
        Container,
        "shutdown",
        ["cleanup", "dbus", "stopEverything", "shutdown"]
    ),
    list!(
        "v1.6–v1.9",
        (1, 6, 0),
        (1, 9, 99),
        Container,
        "shutdown",
        ["storeShudown", "cleanup", "dbus", "stopEverything", "shutdown"]
    ),
    list!(
        "v1.10+",
        (1, 10, 0),
        LAST,
        Container,
        "shutdown",
        ["storeShutdown", "cleanup", "dbus", "stopEverything", "shutdown"]
    ),
    list!("v1.0+", V10, LAST, Container, "reset", ["stopEverything", "shutdown"]),
    // Metal/cloud boot (§2.3). Names where the reference lists them; the order of the
    // v1.3/v1.4 additions follows seq.go's insertion points.
    list!(
        "v1.0–v1.1 (control plane)",
        V10,
        (1, 1, 99),
        Metal,
        "boot",
        [
            "saveStateEncryptionConfig",
            "mountState",
            "validateConfig",
            "saveConfig",
            "env",
            "containerd",
            "dbus",
            "ephemeral",
            "var",
            "overlay",
            "udevSetup",
            "udevd",
            "userDisks",
            "userSetup",
            "lvm",
            "startEverything",
            "labelMaster",
            "uncordon",
            "bootloader"
        ]
    ),
    list!(
        "v1.2 (control plane)",
        (1, 2, 0),
        (1, 2, 99),
        Metal,
        "boot",
        [
            "saveStateEncryptionConfig",
            "mountState",
            "validateConfig",
            "saveConfig",
            "env",
            "containerd",
            "dbus",
            "ephemeral",
            "var",
            "overlay",
            "udevSetup",
            "udevd",
            "userDisks",
            "userSetup",
            "lvm",
            "startEverything",
            "labelControlPlane",
            "uncordon",
            "bootloader"
        ]
    ),
    list!(
        "v1.0–v1.2 (worker)",
        V10,
        (1, 2, 99),
        Metal,
        "boot",
        [
            "saveStateEncryptionConfig",
            "mountState",
            "validateConfig",
            "saveConfig",
            "env",
            "containerd",
            "dbus",
            "ephemeral",
            "var",
            "overlay",
            "udevSetup",
            "udevd",
            "userDisks",
            "userSetup",
            "lvm",
            "startEverything",
            "uncordon",
            "bootloader"
        ]
    ),
    list!("v1.3 (control plane)", (1, 3, 0), (1, 3, 99), Metal, "boot", count 22),
    list!("v1.4 (control plane)", (1, 4, 0), (1, 4, 99), Metal, "boot", count 21),
    list!(
        "v1.5",
        (1, 5, 0),
        (1, 5, 99),
        Metal,
        "boot",
        [
            "saveStateEncryptionConfig",
            "mountState",
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "containerd",
            "dbus",
            "ephemeral",
            "var",
            "legacyCleanup",
            "overlay",
            "udevSetup",
            "userDisks",
            "userSetup",
            "lvm",
            "extendPCRStartAll",
            "startEverything"
        ]
    ),
    list!(
        "v1.6.0–v1.6.4",
        (1, 6, 0),
        (1, 6, 4),
        Metal,
        "boot",
        [
            "saveStateEncryptionConfig",
            "mountState",
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "ephemeral",
            "var",
            "legacyCleanup",
            "overlay",
            "udevSetup",
            "userDisks",
            "userSetup",
            "lvm",
            "extendPCRStartAll",
            "startEverything"
        ]
    ),
    list!(
        "v1.6.5–v1.7",
        (1, 6, 5),
        (1, 7, 99),
        Metal,
        "boot",
        [
            "saveStateEncryptionConfig",
            "mountState",
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "ephemeral",
            "var",
            "overlay",
            "udevSetup",
            "userDisks",
            "userSetup",
            "lvm",
            "extendPCRStartAll",
            "startEverything"
        ]
    ),
    list!(
        "v1.8–v1.9",
        (1, 8, 0),
        (1, 9, 99),
        Metal,
        "boot",
        [
            "saveStateEncryptionConfig",
            "mountState",
            "saveConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "ephemeral",
            "var",
            "overlay",
            "udevSetup",
            "userDisks",
            "userSetup",
            "extendPCRStartAll",
            "startEverything"
        ]
    ),
    list!(
        "v1.10",
        (1, 10, 0),
        (1, 10, 99),
        Metal,
        "boot",
        [
            "saveStateEncryptionConfig",
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "ephemeral",
            "udevSetup",
            "userDisks",
            "userSetup",
            "startEverything"
        ]
    ),
    list!(
        "v1.11–v1.13",
        (1, 11, 0),
        (1, 13, 99),
        Metal,
        "boot",
        [
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "ephemeral",
            "udevSetup",
            "userDisks",
            "userSetup",
            "startEverything"
        ]
    ),
    list!(
        "v1.14+",
        (1, 14, 0),
        LAST,
        Metal,
        "boot",
        [
            "memorySizeCheck",
            "diskSizeCheck",
            "env",
            "dbus",
            "ephemeral",
            "promotableVolumes",
            "userDisks",
            "userSetup",
            "startEverything"
        ]
    ),
    // Metal initialize: counts (deferred phases keep their index even when skipped).
    list!("v1.4–v1.7", (1, 4, 0), (1, 7, 99), Metal, "initialize", count 11),
    list!("v1.8", (1, 8, 0), (1, 8, 99), Metal, "initialize", count 12),
    list!("v1.9", (1, 9, 0), (1, 9, 99), Metal, "initialize", count 10),
    list!(
        "v1.10+",
        (1, 10, 0),
        LAST,
        Metal,
        "initialize",
        [
            "systemRequirements",
            "earlyServices",
            "usb",
            "meta",
            "cleanupBootloader",
            "dashboard",
            "wipeDisks",
            "haltIfInstalled",
            "config"
        ]
    ),
];

/// The phase each task runs in (reference §2.1, §2.2, §3), for tasks whose phase is
/// unambiguous. Used when an excerpt shows a task's own messages but not its phase start.
pub const TASK_PHASE: &[(&str, &str)] = &[
    ("saveConfig", "saveConfig"),
    ("memorySizeCheck", "memorySizeCheck"),
    ("diskSizeCheck", "diskSizeCheck"),
    ("waitForCARoots", "env"),
    ("startDBus", "dbus"),
    ("setupSharedFilesystems", "sharedFilesystems"),
    ("setupVarDirectory", "var"),
    ("writeUserFiles", "userSetup"),
    ("extendPCRStartAll", "extendPCRStartAll"),
    ("startAllServices", "startEverything"),
    ("mountEphemeralPartition", "ephemeral"),
    ("validateConfig", "validateConfig"),
    ("cleanupLegacyStaticPodFiles", "legacyCleanup"),
    ("writeUdevRules", "udevSetup"),
    ("labelNodeAsControlPlane", "labelControlPlane"),
    ("labelNodeAsMaster", "labelMaster"),
    ("uncordonNode", "uncordon"),
    ("updateBootloader", "bootloader"),
    ("mountUserDisks", "userDisks"),
    ("loadConfig", "config"),
    ("setupSystemDirectory", "systemRequirements"),
    ("startMachined", "machined"),
    ("CreateSystemCgroups", "etc"),
    ("createOSReleaseFile", "etc"),
    ("setupLogger", "logger"),
];

/// `(major, minor, patch)`, ordered.
pub type VersionKey = (u32, u32, u32);

/// Tasks that exist only in some releases (reference §2.2, §3): `(task, first, last)`.
/// Their presence narrows the version range that the phase lists give.
pub const TASK_VERSIONS: &[(&str, VersionKey, VersionKey)] = &[
    ("setupLogger", (1, 0, 0), (1, 5, 99)),
    ("labelNodeAsMaster", (1, 0, 0), (1, 1, 99)),
    ("initVolumeLifecycle", (1, 8, 0), (1, 99, 99)),
    ("waitForCARoots", (1, 8, 0), (1, 99, 99)),
    ("startAuditd", (1, 9, 0), (1, 99, 99)),
    ("startApid", (1, 13, 0), (1, 99, 99)),
    ("storeShutdownEmergency", (1, 6, 0), (1, 99, 99)),
];

/// The phase `task` runs in, when unambiguous.
pub fn phase_of_task(task: &str) -> Option<&'static str> {
    TASK_PHASE.iter().find(|(t, _)| *t == task).map(|(_, p)| *p)
}

/// Phase names only the metal/cloud boot has: their presence rules out container mode.
pub const METAL_ONLY_PHASES: &[&str] = &[
    "mountState",
    "saveStateEncryptionConfig",
    "ephemeral",
    "overlay",
    "udevd",
    "userDisks",
    "lvm",
    "bootloader",
    "uncordon",
    "earlyServices",
    "usb",
    "meta",
];

/// What one sequence run showed: its announced count and the phases seen by index.
#[derive(Debug, Clone, Default)]
pub struct Observed<'a> {
    /// Sequence name.
    pub sequence: &'a str,
    /// Announced `N`, from the sequence line or any phase's `n/N`.
    pub total: Option<u32>,
    /// `(index, name)` of phases seen.
    pub seen: Vec<(u32, &'a str)>,
}

/// Lists consistent with what was observed, optionally restricted to a mode.
pub fn candidates<'l>(obs: &Observed<'_>, mode: Option<Mode>) -> Vec<&'l PhaseList>
where
    'static: 'l,
{
    LISTS
        .iter()
        .filter(|l| l.sequence == obs.sequence)
        .filter(|l| mode.is_none_or(|m| m == l.mode))
        .filter(|l| obs.total.is_none_or(|n| n == l.len()))
        .filter(|l| obs.seen.iter().all(|(i, name)| l.phases.is_empty() || l.name(*i) == Some(*name)))
        .filter(|_| obs.total.is_some() || !obs.seen.is_empty())
        .collect()
}

/// Formats a version key as `v1.6.5` (patch 0 is left out, open ends as `+`).
fn fmt_key(k: (u32, u32, u32)) -> String {
    if k.2 == 0 { format!("v{}.{}", k.0, k.1) } else { format!("v{}.{}.{}", k.0, k.1, k.2) }
}

/// The version range covered by a set of candidates: `v1.6.5–v1.9`, `v1.10+`.
pub fn range(lists: &[&PhaseList]) -> Option<String> {
    let from = lists.iter().map(|l| l.from).min()?;
    let to = lists.iter().map(|l| l.to).max()?;
    if to == LAST {
        return Some(format!("{}+", fmt_key(from)));
    }
    let to_s = if to.2 == 99 { format!("v{}.{}", to.0, to.1) } else { fmt_key(to) };
    let from_s = fmt_key(from);
    if from_s == to_s || (from.0, from.1) == (to.0, to.1) && from.2 == 0 && to.2 == 99 {
        Some(to_s)
    } else {
        Some(format!("{from_s}–{to_s}"))
    }
}

/// Intersects two version ranges given as candidate sets: keeps lists of `a` whose span
/// overlaps some list of `b`. Used to combine boot and initialize evidence.
pub fn overlaps(a: &PhaseList, b: &PhaseList) -> bool {
    a.from <= b.to && b.from <= a.to
}

/// The phase names a sequence will run, once the version is known: used to name phases
/// that were never reached. Returns `None` unless all candidates agree on the names.
pub fn expected_names(cands: &[&PhaseList], total: u32) -> Option<Vec<&'static str>> {
    let named: Vec<_> = cands.iter().filter(|l| !l.phases.is_empty() && l.len() == total).collect();
    let first = named.first()?;
    named.iter().all(|l| l.phases == first.phases).then(|| first.phases.to_vec())
}

/// Parses `v1.8.3` / `v1.10.0-beta.1` into a key.
pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let mut it = v.split(['.', '-', '+']);
    let a = it.next()?.parse().ok()?;
    let b = it.next()?.parse().ok()?;
    let c = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    Some((a, b, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(seq: &str, total: Option<u32>, seen: &[(u32, &str)], mode: Option<Mode>) -> Option<String> {
        let obs = Observed { sequence: seq, total, seen: seen.to_vec() };
        range(&candidates(&obs, mode))
    }

    #[test]
    fn table() {
        type Case<'a> = (&'a str, Option<u32>, &'a [(u32, &'a str)], Option<Mode>, Option<&'a str>);
        let cases: &[Case<'_>] = &[
            ("boot", Some(10), &[(1, "saveConfig")], Some(Mode::Container), Some("v1.6.5–v1.9")),
            ("boot", Some(10), &[(1, "validateConfig")], Some(Mode::Container), Some("v1.0–v1.2")),
            ("boot", Some(10), &[(6, "sharedFilesystems")], Some(Mode::Container), Some("v1.0–v1.9")),
            ("boot", Some(8), &[], None, Some("v1.10+")),
            ("boot", Some(12), &[(7, "sharedFilesystems")], Some(Mode::Container), Some("v1.5")),
            ("boot", Some(19), &[(17, "labelControlPlane")], None, Some("v1.2")),
            ("initialize", Some(4), &[(1, "systemRequirements")], Some(Mode::Container), Some("v1.6–v1.8")),
            ("initialize", Some(2), &[], Some(Mode::Container), Some("v1.9+")),
            ("boot", Some(99), &[], None, None),
            ("boot", None, &[], None, None),
        ];
        for (seq, total, seen, mode, want) in cases {
            assert_eq!(infer(seq, *total, seen, *mode).as_deref(), *want, "{seq} {total:?} {seen:?}");
        }
    }

    #[test]
    fn names_of_unreached_phases() {
        let obs = Observed { sequence: "boot", total: Some(10), seen: vec![(1, "saveConfig")] };
        let c = candidates(&obs, Some(Mode::Container));
        let names = expected_names(&c, 10).unwrap();
        assert_eq!(names[9], "startEverything");
        assert_eq!(parse_version("v1.10.0-beta.1"), Some((1, 10, 0)));
    }
}

//! The container spec per Talos release: the layout (`--read-only`, tmpfs mounts, volumes,
//! the targets `setupSharedFilesystems` makes rshared) that talosctl's Docker provider
//! creates. It is data (`data/container-specs.toml`, embedded at build time and parsed once),
//! so a new Talos release needs no Rust change.

use std::sync::LazyLock;

use serde::Deserialize;

use super::facts::Version;

/// The built-in specs' text.
const BUILTIN: &str = include_str!("../../data/container-specs.toml");

/// The container layout one Talos version needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    /// Which talosctl versions create this layout (`v1.6.5–v1.13`).
    pub label: &'static str,
    /// `--read-only`.
    pub read_only: bool,
    /// Required tmpfs mounts.
    pub tmpfs: &'static [String],
    /// Required volumes.
    pub volumes: &'static [String],
    /// Image directories talosctl mounts as volumes, fine unmounted, broken by an empty mount.
    pub image_dirs: &'static [String],
    /// Volumes kept only for compatibility (a warning when missing).
    pub compat_volumes: &'static [String],
    /// What `setupSharedFilesystems` makes rshared besides `/`: each must be a mount point.
    pub shared_targets: &'static [String],
    /// The version was unknown and this spec was assumed.
    pub assumed: bool,
}

/// One entry of `data/container-specs.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpecEntry {
    /// Which talosctl versions create this layout.
    pub label: String,
    /// First release of the layout.
    pub from: String,
    /// `--read-only`.
    pub read_only: bool,
    /// Required tmpfs mounts.
    pub tmpfs: Vec<String>,
    /// Required volumes.
    pub volumes: Vec<String>,
    /// Image directories talosctl mounts as volumes, fine unmounted, broken by an empty mount.
    #[serde(default)]
    pub image_dirs: Vec<String>,
    /// Volumes kept only for compatibility.
    pub compat_volumes: Vec<String>,
    /// Targets of `setupSharedFilesystems`.
    pub shared_targets: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecsFile {
    spec: Vec<SpecEntry>,
}

/// The specs of a file in the format of `data/container-specs.toml`, each with its first
/// release, in release order.
pub(crate) fn parse(text: &str) -> Result<Vec<(Version, SpecEntry)>, String> {
    let file: SpecsFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut specs = Vec::with_capacity(file.spec.len());
    for e in file.spec {
        let from = Version::parse(&e.from)
            .ok_or_else(|| format!("spec `{}`: invalid version `{}`", e.label, e.from))?;
        if specs.last().is_some_and(|(v, _): &(Version, SpecEntry)| *v >= from) {
            return Err(format!("spec `{}`: not in release order", e.label));
        }
        specs.push((from, e));
    }
    if specs.is_empty() {
        return Err("no spec".into());
    }
    Ok(specs)
}

/// The built-in specs, parsed on first use.
fn builtin() -> &'static [(Version, SpecEntry)] {
    static SPECS: LazyLock<Vec<(Version, SpecEntry)>> =
        LazyLock::new(|| parse(BUILTIN).expect("data/container-specs.toml is valid (tested)"));
    &SPECS
}

/// The entry of `specs` for version `v`: the last whose first release is not after `v` (the
/// first entry for older images).
pub(crate) fn entry_for(specs: &[(Version, SpecEntry)], v: Version) -> &SpecEntry {
    let i = specs.iter().rposition(|(from, _)| *from <= v).unwrap_or(0);
    &specs[i].1
}

/// The spec for an image version (unknown → the spec of v1.8.0, marked `assumed`).
pub(crate) fn spec_for(version: Option<Version>) -> Spec {
    let e = entry_for(builtin(), version.unwrap_or(Version::new(1, 8, 0)));
    Spec {
        label: &e.label,
        read_only: e.read_only,
        tmpfs: &e.tmpfs,
        volumes: &e.volumes,
        image_dirs: &e.image_dirs,
        compat_volumes: &e.compat_volumes,
        shared_targets: &e.shared_targets,
        assumed: version.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_release_gets_its_layout() {
        let label = |v| spec_for(Some(v)).label;
        assert_eq!(label(Version::new(0, 14, 0)), "v1.0–v1.2");
        assert_eq!(label(Version::new(1, 2, 9)), "v1.0–v1.2");
        assert_eq!(label(Version::new(1, 3, 0)), "v1.3");
        assert_eq!(label(Version::new(1, 6, 4)), "v1.4–v1.6.4");
        assert_eq!(label(Version::new(1, 6, 5)), "v1.6.5–v1.13");
        assert_eq!(label(Version::new(1, 14, 0)), "v1.14+");
        let unknown = spec_for(None);
        assert!(unknown.assumed && unknown.label == "v1.6.5–v1.13");
    }

    /// A made-up release, v1.99, that drops the `/opt` volume: an entry in the data alone.
    #[test]
    fn a_new_release_needs_only_data() {
        let text = format!(
            "{BUILTIN}\n{}",
            r#"[[spec]]
label = "v1.99+"
from = "v1.99"
read_only = true
tmpfs = ["/run", "/system", "/tmp"]
volumes = ["/var", "/system/state"]
compat_volumes = []
shared_targets = ["/var", "/run"]
"#
        );
        let specs = parse(&text).expect("specs");
        let e = entry_for(&specs, Version::new(1, 99, 2));
        assert_eq!((e.label.as_str(), e.volumes.len()), ("v1.99+", 2));
        assert_eq!(entry_for(&specs, Version::new(1, 98, 0)).label, "v1.14+");
    }
}

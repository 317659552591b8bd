//! `inspect`: a container's settings against the known-good spec for its Talos version
//! (`../shared/talos-reference.md` §4.3, the spec talosctl's Docker provider uses), and the
//! same facts used to confirm a log diagnosis (which sharedFilesystems target is no mount).

use crate::inspection::{Check, Inspection};
use crate::report::{
    Evidence, Finding, NodeReport, Outcome, Report, SCHEMA_VERSION, Severity, Stats, Tool,
};

pub(crate) use super::confirm::confirm;
use super::facts::{ContainerFacts, MountKind, Version};
use super::spec::spec_for;

const REF_SPEC: &str =
    "https://github.com/siderolabs/talos/blob/v1.8.0/pkg/provision/providers/docker/node.go";
const REF_DOCS: &str = "https://github.com/siderolabs/talos/blob/v1.8.0/website/content/v1.8/talos-guides/install/local-platforms/docker.md";

/// `docker run` flag that adds a mount at `path` of the kind the spec wants.
pub(crate) fn flag_for(path: &str, tmpfs: bool) -> String {
    if tmpfs { format!("--tmpfs {path}") } else { format!("-v {path}") }
}

struct Checker<'a> {
    facts: &'a ContainerFacts,
    findings: Vec<Finding>,
    /// Each check made, with the fingerprints of what it found.
    checks: Vec<(String, Vec<String>)>,
}

impl Checker<'_> {
    /// Starts the check `name`: the findings added next belong to it.
    fn check(&mut self, name: impl Into<String>) {
        self.checks.push((name.into(), Vec::new()));
    }

    #[expect(clippy::too_many_arguments, reason = "one call per check reads best flat")]
    fn add(
        &mut self,
        id: &str,
        category: &str,
        severity: Severity,
        key: &str,
        title: String,
        root_cause: String,
        remediation: Vec<String>,
        evidence: String,
    ) {
        self.findings.push(Finding {
            id: id.into(),
            category: category.into(),
            severity,
            node: self.facts.name.clone(),
            title,
            root_cause,
            remediation,
            evidence: vec![Evidence {
                line: 0,
                text: evidence,
                input: Some(format!("docker inspect {}", self.facts.name)),
                before: Vec::new(),
                after: Vec::new(),
            }],
            references: vec![REF_SPEC.into(), REF_DOCS.into()],
            fingerprint: {
                let fp = format!("{id}:{key}");
                if let Some((_, found)) = self.checks.last_mut() {
                    found.push(fp.clone());
                }
                fp
            },
            fixed_in: None,
            occurrences: 1,
            boots: 0,
            recovered: false,
        });
    }
}

/// Every deviation of the container from the spec of its version, errors first.
#[cfg(test)]
fn preflight(facts: &ContainerFacts) -> Vec<Finding> {
    checks(facts).0
}

/// The findings, errors first, and each check made with the fingerprints it found.
fn checks(facts: &ContainerFacts) -> (Vec<Finding>, Vec<(String, Vec<String>)>) {
    let spec = spec_for(facts.version);
    let mut c = Checker { facts, findings: Vec::new(), checks: Vec::new() };
    c.check("privileged");
    if !facts.privileged {
        c.add(
            "TD-INSPECT-001",
            "container_not_privileged",
            Severity::Error,
            "privileged",
            "Container is not privileged".into(),
            "Talos mounts filesystems, changes mount propagation and manages cgroups and devices; \
             without `--privileged` these calls fail with EPERM (`operation not permitted`) and \
             the boot stops."
                .into(),
            vec!["add `--privileged`".into()],
            "HostConfig.Privileged = false".into(),
        );
    }
    c.check("seccomp unconfined");
    if !facts.seccomp_unconfined {
        // Docker applies no seccomp profile to privileged containers, so this only matters
        // when the container is not privileged either.
        let severity = if facts.privileged { Severity::Info } else { Severity::Warning };
        c.add(
            "TD-INSPECT-002",
            "container_not_privileged",
            severity,
            "seccomp",
            "Seccomp is not unconfined".into(),
            "The known-good spec sets `seccomp=unconfined`; Docker's default profile blocks \
             mount and other system calls Talos needs (privileged containers get no profile)."
                .into(),
            vec!["add `--security-opt seccomp=unconfined`".into()],
            "HostConfig.SecurityOpt has no seccomp=unconfined".into(),
        );
    }
    if spec.read_only {
        c.check("read-only root filesystem");
    }
    if spec.read_only && !facts.read_only {
        c.add(
            "TD-INSPECT-003",
            "container_missing_mounts",
            Severity::Warning,
            "read-only",
            "Root filesystem is not read-only".into(),
            format!(
                "Talos {} containers run with a read-only root filesystem and keep every \
                 writable path on a tmpfs or volume; with a writable rootfs a missing volume is \
                 not noticed and its state is lost with the container.",
                spec.label
            ),
            vec!["add `--read-only`".into()],
            "HostConfig.ReadonlyRootfs = false".into(),
        );
    }
    for path in spec.tmpfs.iter().chain(spec.volumes).chain(spec.compat_volumes) {
        let want_tmpfs = spec.tmpfs.contains(path);
        let compat = spec.compat_volumes.contains(path);
        let shared = spec.shared_targets.contains(path);
        let flag = flag_for(path, want_tmpfs);
        c.check(format!("{} {path}", if want_tmpfs { "tmpfs" } else { "volume" }));
        match facts.mount_at(path) {
            None => {
                let (id, severity, why) = if shared {
                    (
                        "TD-INSPECT-004",
                        Severity::Error,
                        format!(
                            "setupSharedFilesystems makes `{path}` a shared mount; on a plain \
                             directory of the image the kernel refuses (EINVAL), so the boot \
                             fails in phase sharedFilesystems with `failed: invalid argument`."
                        ),
                    )
                } else if compat {
                    (
                        "TD-INSPECT-006",
                        Severity::Info,
                        format!("talosctl {} still mounts `{path}` for compatibility.", spec.label),
                    )
                } else if facts.read_only {
                    (
                        "TD-INSPECT-005",
                        Severity::Error,
                        format!(
                            "The root filesystem is read-only, so Talos cannot write to `{path}` \
                             unless something is mounted there."
                        ),
                    )
                } else {
                    (
                        "TD-INSPECT-005",
                        Severity::Warning,
                        format!(
                            "What Talos writes to `{path}` lands in the container layer and is \
                             lost with the container."
                        ),
                    )
                };
                let kind = if want_tmpfs { "tmpfs" } else { "volume" };
                c.add(
                    id,
                    "container_missing_mounts",
                    severity,
                    path,
                    format!("No {kind} at `{path}`"),
                    format!("{why} talosctl {} creates a {kind} there.", spec.label),
                    vec![format!("add `{flag}`")],
                    format!("no mount at {path}"),
                );
            }
            Some(m) if want_tmpfs && m.kind != MountKind::Tmpfs => c.add(
                "TD-INSPECT-007",
                "container_restart_stale_socket",
                Severity::Warning,
                path,
                format!("`{path}` is not a tmpfs"),
                format!(
                    "`{path}` should start empty at every boot; a persistent mount keeps old \
                     sockets and pid files across restarts (`address already in use`)."
                ),
                vec![format!("mount it with `{flag}` instead")],
                format!("{path} is a {:?} mount", m.kind).to_lowercase(),
            ),
            Some(_) => {}
        }
    }
    for path in spec.image_dirs {
        c.check(format!("image directory {path}"));
        image_dir(&mut c, path);
    }
    c.check("PLATFORM=container");
    match facts.platform.as_deref() {
        Some("container") => {}
        other => {
            let marker = facts.version.is_some_and(|v| v >= Version::new(1, 9, 0));
            let evidence = match other {
                Some(v) => format!("PLATFORM={v}"),
                None => "no PLATFORM in Config.Env".into(),
            };
            c.add(
                "TD-INSPECT-009",
                "container_platform_unset",
                if marker { Severity::Warning } else { Severity::Error },
                "platform",
                "`PLATFORM=container` is not set".into(),
                if marker {
                    "Talos v1.9+ also detects containers by the /usr/etc/in-container marker of \
                     the image, but the known-good spec sets `PLATFORM=container`."
                        .into()
                } else {
                    "Talos before v1.9 knows it runs in a container only from `PLATFORM`; without \
                     it machined stops with `failed to determine platform`."
                        .into()
                },
                vec!["add `-e PLATFORM=container`".into()],
                evidence,
            );
        }
    }
    c.check("machine config (USERDATA)");
    if facts.userdata_len.is_none_or(|n| n == 0) {
        c.add(
            "TD-INSPECT-010",
            "config_missing_maintenance",
            Severity::Info,
            "userdata",
            "No machine config in `USERDATA`".into(),
            "Without `USERDATA` the node boots into maintenance mode and waits for \
             `talosctl apply-config --insecure`."
                .into(),
            vec![
                "pass the config: `-e USERDATA=\"$(base64 -w0 controlplane.yaml)\"`, or apply it \
                 after boot with `talosctl apply-config --insecure --nodes <ip> --file <config.yaml>`"
                    .into(),
            ],
            "USERDATA absent".into(),
        );
    }
    c.check("talosctl and image versions");
    skew(&mut c, facts);
    c.check("restart policy");
    if matches!(facts.restart_policy.as_str(), "always" | "unless-stopped") {
        c.add(
            "TD-INSPECT-011",
            "unknown",
            Severity::Info,
            "restart",
            format!("Restart policy `{}`", facts.restart_policy),
            "A fatal boot error makes Talos reboot, PID 1 exits and Docker starts the container \
             again: the failure becomes a restart loop and the log holds several boots."
                .into(),
            vec![
                "diagnose the first failed boot; `docker update --restart no` stops the loop"
                    .into(),
            ],
            format!("HostConfig.RestartPolicy = {}", facts.restart_policy),
        );
    }
    c.check("Talos version of the image");
    if spec.assumed {
        c.add(
            "TD-INSPECT-012",
            "unknown",
            Severity::Info,
            "version",
            "Talos version unknown; checked against the v1.6.5–v1.13 spec".into(),
            format!(
                "The image `{}` has no version tag, so the spec of talosctl v1.6.5–v1.13 was used.",
                facts.image
            ),
            vec![
                "tag the image with its Talos version (`…/talos:v1.8.3`) for an exact check".into(),
            ],
            format!("image {}", facts.image),
        );
    }
    let mut findings = c.findings;
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    (findings, c.checks)
}

/// `inspect`: the report, every check with what it found, and the command that recreates
/// the container with the known-good spec when any error or warning was found.
pub(crate) fn inspect(facts: &ContainerFacts) -> Inspection {
    let (findings, made) = checks(facts);
    let checks = made
        .into_iter()
        .map(|(name, found)| Check {
            name,
            findings: findings
                .iter()
                .enumerate()
                .filter(|(_, f)| found.contains(&f.fingerprint))
                .map(|(i, _)| i)
                .collect(),
        })
        .collect();
    let deviates = findings.iter().any(|f| f.severity >= Severity::Warning);
    let recreate = deviates.then(|| super::recreate::recreate(facts, &spec_for(facts.version)));
    let spec = spec_for(facts.version).label.to_owned();
    Inspection { report: report_of(facts, findings), checks, spec, recreate }
}

/// A directory whose content the image ships and Talos only reads (`/opt`: the CNI plugins
/// in `/opt/cni/bin`): unmounted it stays the image's read-only directory, which boots (the
/// Talos docs' Kubernetes pod spec, Talos' TinK test); a Docker volume is filled from the
/// image (talosctl's spec); only an empty mount over it hides what the image put there.
fn image_dir(c: &mut Checker<'_>, path: &str) {
    let content = if path == "/opt" {
        "the CNI plugins the image ships in `/opt/cni/bin`".to_owned()
    } else {
        format!("what the image ships in `{path}`")
    };
    let fix = vec![format!(
        "use `-v {path}` (a Docker volume, filled from the image) or no mount at `{path}`"
    )];
    let (severity, title, why, evidence, fix) = match c.facts.mount_at(path) {
        None => (
            Severity::Info,
            format!("No volume at `{path}`: the image's directory is used"),
            format!(
                "Talos only reads `{path}` ({content}); unmounted, it stays the image's \
                 read-only directory and the node boots, as the Talos docs' Kubernetes pod spec \
                 and Talos' own TinK test run it. talosctl mounts a Docker volume there, which \
                 Docker fills from the image, so that what is added under `{path}` later is \
                 kept; nothing needs to change."
            ),
            format!("no mount at {path}"),
            Vec::new(),
        ),
        Some(m) if m.kind == MountKind::Volume && !m.no_copy => return,
        Some(m) if m.kind == MountKind::Volume => (
            Severity::Error,
            format!("Empty (`nocopy`) volume at `{path}`"),
            format!(
                "A volume mounted with `nocopy` is not filled from the image: it hides {content}, \
                 so kubelet finds no CNI plugin and pods get no network."
            ),
            format!("{path} is a nocopy volume"),
            fix,
        ),
        Some(m) if m.kind == MountKind::Tmpfs => (
            Severity::Error,
            format!("tmpfs at `{path}` hides the image's content"),
            format!(
                "A tmpfs starts empty: it hides {content}, so kubelet finds no CNI plugin and \
                 pods get no network."
            ),
            format!("{path} is a tmpfs mount"),
            fix,
        ),
        Some(m) => (
            Severity::Warning,
            format!("`{path}` is a host directory, not the image's"),
            format!(
                "A bind mount (or a Kubernetes volume) over `{path}` hides {content}; unless \
                 the host directory holds them, kubelet finds no CNI plugin and pods get no \
                 network. Docker volumes are filled from the image; no mount at all keeps the \
                 image's directory."
            ),
            format!("{path} is a {:?} mount", m.kind).to_lowercase(),
            fix,
        ),
    };
    c.add("TD-INSPECT-008", "container_missing_mounts", severity, path, title, why, fix, evidence);
}

/// Mount layouts of a talosctl of another version than the image.
fn skew(c: &mut Checker<'_>, facts: &ContainerFacts) {
    let Some(v) = facts.version else { return };
    let old_layout =
        facts.mount_at("/var/lib/kubelet").is_some() && facts.mount_at("/var").is_none();
    let new_layout = facts.read_only && facts.mount_at("/system/state").is_some();
    let layout = if v >= Version::new(1, 3, 0) && old_layout {
        Some("talosctl v1.0–v1.2 (volumes under /var/lib)")
    } else if v < Version::new(1, 3, 0) && new_layout {
        Some("talosctl v1.3+ (read-only rootfs, /var and /system/state volumes)")
    } else if v < Version::new(1, 14, 0)
        && facts.talos_labels.contains_key("talos.owned")
        && new_layout
        && facts.mount_at("/etc/cni").is_none()
    {
        Some("talosctl v1.14+ (no /etc/cni volume)")
    } else {
        None
    };
    if let Some(layout) = layout {
        c.add(
            "TD-INSPECT-013",
            "container_missing_mounts",
            Severity::Warning,
            "skew",
            format!("talosctl and image versions differ (image {v})"),
            format!(
                "The mounts follow the layout of {layout}, but the image is Talos {v}; each \
                 release expects the layout of the talosctl of the same version."
            ),
            vec![format!(
                "create the cluster with talosctl {v}, or use the image that matches your talosctl"
            )],
            format!("image {} with the layout of {layout}", facts.image),
        );
    }
}

/// The report `inspect` prints: one node, no boot, the preflight findings.
fn report_of(facts: &ContainerFacts, findings: Vec<Finding>) -> Report {
    let version_evidence = match facts.version {
        Some(_) => vec![format!("image tag of `{}`", facts.image)],
        None => vec![format!("image `{}` has no version tag", facts.image)],
    };
    Report {
        schema_version: SCHEMA_VERSION,
        tool: Tool::default(),
        outcome: Outcome::Unknown,
        nodes: vec![NodeReport {
            talos_version: facts.version.map(|v| v.to_string()),
            version_evidence,
            ..super::conclude::silent_node(&facts.name)
        }],
        findings,
        stats: Stats::default(),
        inputs: vec![format!("docker inspect {}", facts.name)],
        unexplained: Vec::new(),
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests;

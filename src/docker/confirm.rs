//! Confirming a log diagnosis with the container's settings: when a node failed with EINVAL
//! in setupSharedFilesystems, which targets are not mount points in *this* container (the
//! kernel's error carries no path, so the log alone cannot say).

use crate::report::{Evidence, Finding, Report, Severity};

use super::facts::ContainerFacts;
use super::spec::spec_for;

const REF_SPEC: &str =
    "https://github.com/siderolabs/talos/blob/v1.8.0/pkg/provision/providers/docker/node.go";
const REF_SHARED: &str = "https://github.com/siderolabs/talos/blob/v1.8.0/internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_sequencer_tasks.go";

/// Targets of setupSharedFilesystems that are not mount points in this container.
pub(crate) fn unmounted_shared_targets(facts: &ContainerFacts) -> Vec<&'static str> {
    spec_for(facts.version)
        .shared_targets
        .iter()
        .map(String::as_str)
        .filter(|t| facts.mount_at(t).is_none())
        .collect()
}

/// Confirms a log diagnosis with the container's settings: when the node failed with EINVAL
/// in setupSharedFilesystems, names the targets that are not mount points here (the log
/// cannot: the kernel's error carries no path). Adds to the node's `container_missing_mounts`
/// finding, or adds one.
pub(crate) fn confirm(report: &mut Report, node: &str, facts: &ContainerFacts) {
    let Some(n) = report.nodes.iter().find(|n| n.node == node) else { return };
    let Some(failure) = &n.failure else { return };
    let einval = failure.task.as_deref() == Some("setupSharedFilesystems")
        && failure.error.as_deref().is_some_and(|e| e.contains("invalid argument"));
    if !einval {
        return;
    }
    let line = failure.line;
    let missing = unmounted_shared_targets(facts);
    let (sentence, fixes) = if missing.is_empty() {
        (
            format!(
                "docker inspect shows mounts at every target ({}) in container `{}`; the \
                 mount may be outside the container's mount namespace or the image version \
                 differs from its tag.",
                spec_for(facts.version).shared_targets.join(", "),
                facts.name
            ),
            Vec::new(),
        )
    } else {
        let fixes: Vec<String> = missing
            .iter()
            .map(|t| {
                let tmpfs = spec_for(facts.version).tmpfs.iter().any(|p| p == t);
                format!(
                    "add `{}` (`{t}` is not a mount point in `{}`)",
                    super::preflight::flag_for(t, tmpfs),
                    facts.name
                )
            })
            .collect();
        (
            format!(
                "Confirmed by docker inspect: in container `{}` {} {}.",
                facts.name,
                missing.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
                if missing.len() == 1 { "is not a mount point" } else { "are not mount points" }
            ),
            fixes,
        )
    };
    let evidence = Evidence {
        line: 0,
        text: if missing.is_empty() {
            "all sharedFilesystems targets are mounts".into()
        } else {
            format!("no mount at {}", missing.join(", "))
        },
        input: Some(format!("docker inspect {}", facts.name)),
        before: Vec::new(),
        after: Vec::new(),
    };
    if let Some(f) = report
        .findings
        .iter_mut()
        .find(|f| f.node == node && f.category == "container_missing_mounts")
    {
        f.root_cause = format!("{} {sentence}", f.root_cause.trim_end());
        let mut remediation = fixes;
        remediation.append(&mut f.remediation);
        f.remediation = remediation;
        f.evidence.push(evidence);
        return;
    }
    let mut remediation = fixes;
    remediation.push(
        "recreate the container with the known-good spec (`talos-doctor inspect` lists it)".into(),
    );
    report.findings.insert(
        0,
        Finding {
            id: "TD-INSPECT-020".into(),
            category: "container_missing_mounts".into(),
            severity: Severity::Error,
            node: node.into(),
            title: "sharedFilesystems failed: a target is not a mount point".into(),
            root_cause: format!(
                "setupSharedFilesystems makes `/`, {} shared mounts; the kernel answers EINVAL \
                 for a path that is not a mount point. {sentence}",
                spec_for(facts.version).shared_targets.join(", ")
            ),
            remediation,
            evidence: vec![evidence],
            references: vec![REF_SHARED.into(), REF_SPEC.into()],
            fingerprint: format!("TD-INSPECT-020:{node}:{line}"),
            fixed_in: None,
            occurrences: 1,
            boots: 1,
            recovered: false,
        },
    );
}

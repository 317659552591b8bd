use super::*;
use crate::docker::facts::MountFact;

fn good() -> ContainerFacts {
    let mounts = [
        ("/run", MountKind::Tmpfs),
        ("/system", MountKind::Tmpfs),
        ("/tmp", MountKind::Tmpfs),
        ("/var", MountKind::Volume),
        ("/system/state", MountKind::Volume),
        ("/etc/cni", MountKind::Volume),
        ("/etc/kubernetes", MountKind::Volume),
        ("/usr/libexec/kubernetes", MountKind::Volume),
        ("/opt", MountKind::Volume),
    ];
    ContainerFacts {
        name: "talos-cp-01".into(),
        image: "ghcr.io/siderolabs/talos:v1.8.3".into(),
        version: Some(Version::new(1, 8, 3)),
        privileged: true,
        seccomp_unconfined: true,
        read_only: true,
        mounts: mounts
            .iter()
            .map(|(d, k)| MountFact {
                destination: (*d).into(),
                kind: *k,
                no_copy: false,
                source: None,
            })
            .collect(),
        platform: Some("container".into()),
        userdata_len: Some(4096),
        restart_policy: "no".into(),
        ..Default::default()
    }
}

#[test]
fn known_good_has_no_finding() {
    assert!(preflight(&good()).is_empty(), "{:#?}", preflight(&good()));
}

#[test]
fn bare_container_lists_each_deviation() {
    let bare = ContainerFacts {
        name: "bare".into(),
        image: "talos:latest".into(),
        restart_policy: "no".into(),
        ..Default::default()
    };
    let f = preflight(&bare);
    let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids[0], "TD-INSPECT-001");
    for id in
        ["TD-INSPECT-002", "TD-INSPECT-003", "TD-INSPECT-004", "TD-INSPECT-009", "TD-INSPECT-012"]
    {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let fixes: Vec<&String> = f.iter().flat_map(|f| &f.remediation).collect();
    assert!(fixes.iter().any(|r| r.contains("`--tmpfs /run`")));
    assert!(fixes.iter().any(|r| r.contains("`-v /var`")));
    assert_eq!(
        crate::docker::confirm::unmounted_shared_targets(&bare),
        vec!["/var", "/etc/cni", "/run"]
    );
}

#[test]
fn shared_targets_per_version() {
    let mut old = good();
    old.version = Some(Version::new(1, 2, 0));
    assert_eq!(crate::docker::confirm::unmounted_shared_targets(&old), vec!["/var/lib/kubelet"]);
    let mut new = good();
    new.mounts.retain(|m| m.destination != "/var");
    assert_eq!(crate::docker::confirm::unmounted_shared_targets(&new), vec!["/var"]);
}

/// Issue #15: the Talos docs' "Running Talos as a pod" spec (v1.8-v1.13) and Talos' TinK
/// test: emptyDir and PVCs (binds), nothing at `/opt`. They boot: no error.
#[test]
fn published_pod_specs_have_no_error() {
    for version in [Version::new(1, 8, 0), Version::new(1, 12, 0), Version::new(1, 13, 0)] {
        let mut pod = good();
        pod.version = Some(version);
        pod.userdata_len = None;
        pod.mounts = [
            "/run",
            "/system",
            "/tmp",
            "/system/state",
            "/var",
            "/etc/cni",
            "/etc/kubernetes",
            "/usr/libexec/kubernetes",
        ]
        .iter()
        .map(|d| MountFact {
            destination: (*d).into(),
            kind: MountKind::Bind,
            no_copy: false,
            source: Some(format!("/srv/pv{d}")),
        })
        .collect();
        let f = preflight(&pod);
        let errors: Vec<&Finding> = f.iter().filter(|f| f.severity == Severity::Error).collect();
        assert!(errors.is_empty(), "{version}: {errors:#?}");
        let opt = f.iter().find(|f| f.fingerprint.ends_with(":/opt")).expect("an /opt note");
        assert_eq!(opt.severity, Severity::Info);
        assert!(opt.root_cause.contains("/opt/cni/bin"), "{}", opt.root_cause);
    }
}

/// What breaks is an empty mount over `/opt`; a Docker volume is filled from the image.
#[test]
fn opt_is_judged_by_what_is_mounted_there() {
    for (kind, no_copy, want) in [
        (MountKind::Volume, false, None),
        (MountKind::Volume, true, Some(Severity::Error)),
        (MountKind::Tmpfs, false, Some(Severity::Error)),
        (MountKind::Bind, false, Some(Severity::Warning)),
    ] {
        let mut f = good();
        f.mounts.retain(|m| m.destination != "/opt");
        f.mounts.push(MountFact { destination: "/opt".into(), kind, no_copy, source: None });
        let got = preflight(&f).into_iter().find(|f| f.id == "TD-INSPECT-008");
        assert_eq!(got.map(|f| f.severity), want, "{kind:?} nocopy={no_copy}");
    }
}

#[test]
fn userdata_is_never_printed() {
    let f = good();
    let r = inspect(&f).report;
    let json = serde_json::to_string(&r).expect("json");
    assert!(!json.contains("4096") || !json.contains("USERDATA="));
}

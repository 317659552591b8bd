//! The one command that recreates a container with the known-good spec of its Talos version:
//! what `inspect` prints instead of a "recreate the container" step per finding (the
//! settings of an existing container cannot be changed).
//!
//! Named volumes and bind mounts the container already has at a spec path are kept (their
//! data with them); tmpfs and anonymous volumes are made anew. Secrets are never repeated:
//! `USERDATA` becomes `"$(base64 -w0 controlplane.yaml)"`.

use crate::inspection::Recreate;

use super::facts::{ContainerFacts, MountKind};
use super::spec::Spec;

/// Lines are packed up to this many columns (the indent and ` \` come on top).
const LINE: usize = 64;

/// The `docker rm` and `docker run` that give `facts`' container the spec `spec`.
pub(crate) fn recreate(facts: &ContainerFacts, spec: &Spec) -> Recreate {
    let name = sh_quote(&facts.name);
    let mut groups: Vec<Vec<String>> = Vec::new();
    groups.push(vec![format!("docker run -d --name {name} --hostname {name}")]);
    let mut security = Vec::new();
    if spec.read_only {
        security.push("--read-only".to_owned());
    }
    security.push("--privileged".into());
    security.push("--security-opt seccomp=unconfined".into());
    groups.push(security);
    groups.push(spec.tmpfs.iter().map(|t| format!("--tmpfs {}", sh_quote(t))).collect());
    let volumes = spec.volumes.iter().chain(spec.image_dirs).chain(spec.compat_volumes);
    groups.push(volumes.clone().map(|p| volume_flag(facts, p)).collect());
    // The user's own mounts outside the spec (extra `--mount`s) stay.
    let extra: Vec<String> = facts
        .mounts
        .iter()
        .filter(|m| !spec.tmpfs.contains(&m.destination))
        .filter(|m| !volumes.clone().any(|p| *p == m.destination))
        .filter_map(|m| match (&m.kind, &m.source) {
            (MountKind::Tmpfs, _) => Some(format!("--tmpfs {}", sh_quote(&m.destination))),
            (MountKind::Bind | MountKind::Volume, Some(src)) => {
                Some(format!("-v {}", sh_quote(&format!("{src}:{}", m.destination))))
            }
            (MountKind::Volume, None) => Some(format!("-v {}", sh_quote(&m.destination))),
            _ => None,
        })
        .collect();
    groups.push(extra);
    let mut env = vec!["-e PLATFORM=container".to_owned()];
    if facts.userdata_len.is_some_and(|n| n > 0) {
        env.push("-e USERDATA=\"$(base64 -w0 controlplane.yaml)\"".into());
    }
    groups.push(env);
    let mut keep = Vec::new();
    if facts.restart_policy != "no" && !facts.restart_policy.is_empty() {
        let policy = match facts.restart_policy.as_str() {
            "on-failure" if facts.restart_max > 0 => format!("on-failure:{}", facts.restart_max),
            p => p.to_owned(),
        };
        keep.push(format!("--restart {}", sh_quote(&policy)));
    }
    for (k, v) in &facts.talos_labels {
        keep.push(format!("--label {}", sh_quote(&format!("{k}={v}"))));
    }
    groups.push(keep);
    groups.push(vec![sh_quote(&facts.image)]);
    let run = groups.iter().filter(|g| !g.is_empty()).flat_map(|g| pack(g)).collect();
    let others: Vec<&str> = facts
        .env_names
        .iter()
        .map(String::as_str)
        .filter(|n| !matches!(*n, "PATH" | "HOME" | "HOSTNAME" | "TERM" | "container"))
        .collect();
    let mut note = "Ports (`-p`), networks (`--network`, `--ip`), resource limits and other \
                    options of the old container are not repeated: add them back."
        .to_owned();
    if !others.is_empty() {
        note.push_str(&format!(
            " Its other environment variables ({}) are not repeated either (their values are \
             never read).",
            others.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    Recreate { remove: format!("docker rm -f {name}"), run, note }
}

/// `-v PATH`, or `-v SOURCE:PATH` to keep the named volume or bind already there (unless it
/// is an empty one that breaks the path: a `nocopy` volume, a tmpfs).
fn volume_flag(facts: &ContainerFacts, path: &str) -> String {
    match facts.mount_at(path) {
        Some(m) if matches!(m.kind, MountKind::Bind | MountKind::Volume) && !m.no_copy => {
            match &m.source {
                Some(src) => format!("-v {}", sh_quote(&format!("{src}:{path}"))),
                None => format!("-v {}", sh_quote(path)),
            }
        }
        _ => format!("-v {}", sh_quote(path)),
    }
}

/// Arguments packed into lines of at most [`LINE`] columns.
fn pack(args: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for a in args {
        match lines.last_mut() {
            Some(l) if l.len() + 1 + a.len() <= LINE => {
                l.push(' ');
                l.push_str(a);
            }
            _ => lines.push(a.clone()),
        }
    }
    lines
}

/// `s` as one shell word: as it is when it holds only safe characters, else single-quoted.
pub(crate) fn sh_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./:@%+=,-".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::facts::{MountFact, Version};
    use crate::docker::spec::spec_for;

    #[test]
    fn bare_container_gets_the_whole_spec() {
        let facts = ContainerFacts {
            name: "cp-01".into(),
            image: "ghcr.io/siderolabs/talos:v1.8.3".into(),
            version: Some(Version::new(1, 8, 3)),
            restart_policy: "no".into(),
            userdata_len: Some(10),
            env_names: vec!["PATH".into(), "TALOSSKU".into()],
            mounts: vec![MountFact {
                destination: "/var".into(),
                kind: MountKind::Volume,
                no_copy: false,
                source: Some("cp-01-var".into()),
            }],
            ..Default::default()
        };
        let r = recreate(&facts, &spec_for(facts.version));
        assert_eq!(r.remove, "docker rm -f cp-01");
        let line = r.run_line();
        assert!(line.starts_with("docker run -d --name cp-01 --hostname cp-01 --read-only"));
        for flag in [
            "--privileged",
            "--security-opt seccomp=unconfined",
            "--tmpfs /run",
            "--tmpfs /system",
            "--tmpfs /tmp",
            "-v cp-01-var:/var",
            "-v /system/state",
            "-v /etc/cni",
            "-v /opt",
            "-e PLATFORM=container",
            "-e USERDATA=\"$(base64 -w0 controlplane.yaml)\"",
        ] {
            assert!(line.contains(flag), "{flag}: {line}");
        }
        assert!(line.ends_with(" ghcr.io/siderolabs/talos:v1.8.3"), "{line}");
        assert!(r.note.contains("`TALOSSKU`") && !r.note.contains("`PATH`"), "{}", r.note);
        let lines = r.run_lines();
        assert!(lines.iter().all(|l| l.len() <= LINE + 4), "{lines:#?}");
        assert!(lines[..lines.len() - 1].iter().all(|l| l.ends_with(" \\")));
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("/srv/talos data:/var"), "'/srv/talos data:/var'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote("talos:v1.8.3"), "talos:v1.8.3");
    }
}

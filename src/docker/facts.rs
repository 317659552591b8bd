//! What `docker inspect` says about a container, reduced to the facts Talos cares about.
//!
//! Secrets never enter this struct: of the environment only `PLATFORM`'s value is kept;
//! `USERDATA` (the base64 machine config) is kept as its size only, every other variable as
//! its name only.

use std::collections::BTreeMap;

use bollard::Docker;
use bollard::models::{ContainerInspectResponse, MountPointTypeEnum};
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptions};

use super::error::Error;

/// A Talos release number, as far as an image tag tells it: the one version type.
pub(crate) use crate::machine::Version;

/// How something is mounted at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MountKind {
    /// A named or anonymous Docker volume (filled from the image on first use).
    Volume,
    /// A host directory (not filled from the image).
    Bind,
    /// A tmpfs.
    Tmpfs,
    /// Anything else (npipe, cluster volume).
    Other,
}

/// One mount of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountFact {
    /// Path inside the container.
    pub destination: String,
    /// Kind.
    pub kind: MountKind,
    /// A volume mounted with `nocopy`: Docker does not fill it from the image, so it
    /// starts empty.
    pub no_copy: bool,
    /// What is mounted, when the user named it: a named volume's name or a bind's host
    /// path (`None` for tmpfs and anonymous volumes), so that a corrected `docker run` keeps it.
    pub source: Option<String>,
}

/// The facts of one container.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContainerFacts {
    /// Full id.
    pub id: String,
    /// Name without Docker's leading `/`.
    pub name: String,
    /// Image reference as given to `docker create` (`ghcr.io/siderolabs/talos:v1.8.3`).
    pub image: String,
    /// Talos version from the image tag, when the tag is a version.
    pub version: Option<Version>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--security-opt seccomp=unconfined` (or `seccomp:unconfined`).
    pub seccomp_unconfined: bool,
    /// `--read-only`.
    pub read_only: bool,
    /// Mounts: volumes, binds and tmpfs (from `--tmpfs` and `--mount type=tmpfs`).
    pub mounts: Vec<MountFact>,
    /// Value of `PLATFORM`, if set.
    pub platform: Option<String>,
    /// Size in bytes of `USERDATA`, if set (its value is never kept).
    pub userdata_len: Option<usize>,
    /// Names of the other environment variables.
    pub env_names: Vec<String>,
    /// `talos.*` labels.
    pub talos_labels: BTreeMap<String, String>,
    /// Restart policy name (`no`, `always`, `on-failure`, `unless-stopped`).
    pub restart_policy: String,
    /// `on-failure:N`'s N.
    pub restart_max: i64,
    /// Docker's restart count.
    pub restart_count: i64,
    /// Status word (`created`, `running`, `exited`, `restarting`, …).
    pub status: String,
    /// Running now.
    pub running: bool,
    /// Restarting now.
    pub restarting: bool,
    /// `State.StartedAt` (RFC 3339).
    pub started_at: String,
    /// Exit code of the last run.
    pub exit_code: i64,
    /// The last run was OOM-killed.
    pub oom_killed: bool,
}

impl ContainerFacts {
    /// Reduces an inspect answer.
    pub(crate) fn from_inspect(c: &ContainerInspectResponse) -> ContainerFacts {
        let hc = c.host_config.clone().unwrap_or_default();
        let cfg = c.config.clone().unwrap_or_default();
        let state = c.state.clone().unwrap_or_default();
        let image = cfg.image.clone().unwrap_or_default();
        let mut mounts: Vec<MountFact> = Vec::new();
        let mut add = |destination: &str, kind: MountKind, source: Option<&str>| {
            let destination = normalize(destination);
            let source = source.filter(|s| !s.is_empty() && !anonymous(s)).map(str::to_owned);
            match mounts.iter_mut().find(|m| m.destination == destination) {
                Some(m) => {
                    if m.source.is_none() {
                        m.source = source;
                    }
                }
                None => mounts.push(MountFact { destination, kind, no_copy: false, source }),
            }
        };
        for m in c.mounts.iter().flatten() {
            let kind = match m.typ {
                Some(MountPointTypeEnum::VOLUME) => MountKind::Volume,
                Some(MountPointTypeEnum::BIND) => MountKind::Bind,
                Some(MountPointTypeEnum::TMPFS) => MountKind::Tmpfs,
                _ => MountKind::Other,
            };
            let source = match kind {
                MountKind::Volume => m.name.as_deref(),
                MountKind::Bind => m.source.as_deref(),
                _ => None,
            };
            if let Some(d) = &m.destination {
                add(d, kind, source);
            }
        }
        for d in hc.tmpfs.iter().flat_map(|t| t.keys()) {
            add(d, MountKind::Tmpfs, None);
        }
        for m in hc.mounts.iter().flatten() {
            if let (Some(t), Some(d)) = (&m.typ, &m.target) {
                let kind = match t.to_string().as_str() {
                    "tmpfs" => MountKind::Tmpfs,
                    "bind" => MountKind::Bind,
                    "volume" => MountKind::Volume,
                    _ => MountKind::Other,
                };
                add(d, kind, m.source.as_deref());
            }
        }
        for b in hc.binds.iter().flatten() {
            let mut parts = b.split(':');
            if let (Some(src), Some(d)) = (parts.next(), parts.next()) {
                let kind = if b.starts_with('/') { MountKind::Bind } else { MountKind::Volume };
                add(d, kind, Some(src));
            }
        }
        for d in cfg.volumes.iter().flat_map(|v| v.keys()) {
            add(d, MountKind::Volume, None);
        }
        // `-v name:/opt:nocopy`, `--mount type=volume,…,volume-nocopy`.
        let no_copy: Vec<String> = c
            .mounts
            .iter()
            .flatten()
            .filter(|m| m.mode.as_deref().is_some_and(|o| o.split(',').any(|o| o == "nocopy")))
            .filter_map(|m| m.destination.clone())
            .chain(hc.mounts.iter().flatten().filter_map(|m| {
                m.volume_options.as_ref()?.no_copy.filter(|n| *n)?;
                m.target.clone()
            }))
            .chain(hc.binds.iter().flatten().filter_map(|b| {
                let mut parts = b.split(':');
                let dest = parts.nth(1)?;
                parts.next()?.split(',').any(|o| o == "nocopy").then(|| dest.to_owned())
            }))
            .map(|d| normalize(&d))
            .collect();
        for m in mounts.iter_mut() {
            m.no_copy = m.kind == MountKind::Volume && no_copy.contains(&m.destination);
        }
        let mut platform = None;
        let mut userdata_len = None;
        let mut env_names = Vec::new();
        for e in cfg.env.iter().flatten() {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            match k {
                "PLATFORM" => platform = Some(v.to_string()),
                "USERDATA" => userdata_len = Some(v.len()),
                _ => env_names.push(k.to_string()),
            }
        }
        let talos_labels = cfg
            .labels
            .iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("talos."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let seccomp_unconfined = hc.security_opt.iter().flatten().any(|o| {
            let o = o.replace(':', "=");
            o == "seccomp=unconfined"
        });
        let restart = hc.restart_policy.clone().unwrap_or_default();
        ContainerFacts {
            id: c.id.clone().unwrap_or_default(),
            name: c.name.clone().unwrap_or_default().trim_start_matches('/').to_string(),
            version: image_version(&image),
            image,
            privileged: hc.privileged.unwrap_or(false),
            seccomp_unconfined,
            read_only: hc.readonly_rootfs.unwrap_or(false),
            mounts,
            platform,
            userdata_len,
            env_names,
            talos_labels,
            restart_policy: restart
                .name
                .map(|n| n.to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "no".into()),
            restart_max: restart.maximum_retry_count.unwrap_or(0),
            restart_count: c.restart_count.unwrap_or(0),
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            running: state.running.unwrap_or(false),
            restarting: state.restarting.unwrap_or(false),
            started_at: state.started_at.unwrap_or_default(),
            exit_code: state.exit_code.unwrap_or(0),
            oom_killed: state.oom_killed.unwrap_or(false),
        }
    }

    /// The mount at exactly `path`, if any.
    pub(crate) fn mount_at(&self, path: &str) -> Option<&MountFact> {
        self.mounts.iter().find(|m| m.destination == path)
    }
}

/// An anonymous volume's name: 64 hex digits.
fn anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn normalize(path: &str) -> String {
    let p = path.trim_end_matches('/');
    if p.is_empty() { "/".into() } else { p.to_string() }
}

/// The version in an image reference's tag (`repo:tag`, `repo:tag@sha256:…`).
pub(crate) fn image_version(image: &str) -> Option<Version> {
    let without_digest = image.split('@').next()?;
    let last = without_digest.rsplit('/').next()?;
    let (_, tag) = last.split_once(':')?;
    Version::parse(tag)
}

/// Finds one container by name or id prefix, as `docker inspect` does, and suggests similar
/// names when there is none.
pub(crate) async fn find_container(docker: &Docker, name: &str) -> Result<ContainerFacts, Error> {
    match docker.inspect_container(name, None::<InspectContainerOptions>).await {
        Ok(c) => return Ok(ContainerFacts::from_inspect(&c)),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, message }) => {
            if message.contains("multiple IDs") {
                let matches = all_names(docker)
                    .await?
                    .into_iter()
                    .filter(|(id, _)| id.starts_with(name))
                    .map(|(_, n)| n)
                    .collect();
                return Err(Error::Ambiguous { name: name.into(), matches });
            }
        }
        Err(e) => return Err(Error::api(format!("inspect container `{name}`"), e)),
    }
    let names: Vec<String> = all_names(docker).await?.into_iter().map(|(_, n)| n).collect();
    Err(Error::NoSuchContainer { name: name.into(), suggestions: similar(name, &names) })
}

/// Inspects a container by id (after a list or an event).
pub(crate) async fn inspect(
    docker: &Docker,
    id: &str,
) -> Result<ContainerFacts, bollard::errors::Error> {
    docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map(|c| ContainerFacts::from_inspect(&c))
}

async fn all_names(docker: &Docker) -> Result<Vec<(String, String)>, Error> {
    let list = docker
        .list_containers(Some(ListContainersOptions { all: true, ..Default::default() }))
        .await
        .map_err(|e| Error::api("list containers", e))?;
    Ok(list
        .into_iter()
        .map(|c| {
            let name = c
                .names
                .unwrap_or_default()
                .first()
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_default();
            (c.id.unwrap_or_default(), name)
        })
        .collect())
}

/// Containers labelled `talos.cluster.name=cluster`, sorted by name; or the cluster names that
/// exist when there are none.
pub(crate) async fn find_cluster(
    docker: &Docker,
    cluster: &str,
) -> Result<Vec<ContainerFacts>, Error> {
    let list = docker
        .list_containers(Some(ListContainersOptions { all: true, ..Default::default() }))
        .await
        .map_err(|e| Error::api("list containers", e))?;
    let mut known: Vec<String> = Vec::new();
    let mut ids = Vec::new();
    for c in list {
        let Some(label) = c.labels.as_ref().and_then(|l| l.get("talos.cluster.name")) else {
            continue;
        };
        if label == cluster {
            ids.push(c.id.clone().unwrap_or_default());
        } else if !known.contains(label) {
            known.push(label.clone());
        }
    }
    if ids.is_empty() {
        known.sort();
        return Err(Error::NoCluster { cluster: cluster.into(), known });
    }
    let mut out = Vec::new();
    for id in ids {
        match inspect(docker, &id).await {
            Ok(f) => out.push(f),
            // Removed between list and inspect: not part of the cluster any more.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(e) => return Err(Error::api(format!("inspect container `{id}`"), e)),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Names within a small edit distance of `name`, or containing it, best first (at most 3).
pub(crate) fn similar(name: &str, names: &[String]) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .filter_map(|n| {
            let d = levenshtein(name, n);
            let close = d <= (name.len().max(n.len()) / 3).max(2);
            let contains = !name.is_empty() && (n.contains(name) || name.contains(n.as_str()));
            (close || contains).then_some((d, n))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n.clone()).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_tags() {
        let cases: &[(&str, Option<Version>)] = &[
            ("ghcr.io/siderolabs/talos:v1.8.3", Some(Version::new(1, 8, 3))),
            ("ghcr.io/siderolabs/talos:v1.14.0-beta.1", Some(Version::new(1, 14, 0))),
            ("localhost:5000/talos:v1.2", Some(Version::new(1, 2, 0))),
            ("localhost:5000/talos", None),
            ("talos:latest", None),
            ("talos:v1.9.0@sha256:abcd", Some(Version::new(1, 9, 0))),
            ("sha256:0123456789abcdef", None),
        ];
        for (image, want) in cases {
            assert_eq!(image_version(image), *want, "{image}");
        }
    }

    #[test]
    fn suggestions() {
        let names: Vec<String> =
            ["talos-cp-01", "talos-worker-1", "nginx"].iter().map(|s| s.to_string()).collect();
        assert_eq!(similar("talos-cp-1", &names), vec!["talos-cp-01"]);
        assert_eq!(similar("talos", &names), vec!["talos-cp-01", "talos-worker-1"]);
        assert!(similar("postgres", &names).is_empty());
    }
}

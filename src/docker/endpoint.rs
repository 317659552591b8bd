//! Which Docker Engine to talk to, chosen the way the docker CLI chooses it.
//!
//! Order (docker/cli `command.resolveContextName` + `resolveDockerEndpoint`): `DOCKER_HOST`,
//! then `DOCKER_CONTEXT`, then `currentContext` of `$DOCKER_CONFIG/config.json` (default
//! `~/.docker/config.json`), then the default socket `/var/run/docker.sock`. A context's
//! endpoint lives in `contexts/meta/<sha256 of its name>/meta.json` next to `config.json`.
//! This module is the one place below `config.rs` that reads the environment (bollard's own
//! `DOCKER_HOST` handling is not used, so the message can name the endpoint that was tried).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use bollard::{API_DEFAULT_VERSION, Docker};
use sha2::{Digest, Sha256};

use super::error::{Error, chain_text, lower};
use super::transport::{Target, transport};

/// The default Engine socket on Linux.
pub(crate) const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// Response timeout for every request, in seconds (streams are not cut by it).
const REQUEST_TIMEOUT_S: u64 = 60;

/// The environment the endpoint is chosen from, read once.
#[derive(Debug, Clone, Default)]
pub(crate) struct DockerEnv {
    /// `DOCKER_HOST`.
    pub docker_host: Option<String>,
    /// `DOCKER_CONTEXT`.
    pub docker_context: Option<String>,
    /// `DOCKER_CONFIG` (a directory).
    pub docker_config: Option<PathBuf>,
    /// `HOME`.
    pub home: Option<PathBuf>,
}

impl DockerEnv {
    /// Reads the variables the docker CLI reads; empty values count as unset.
    pub(crate) fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        DockerEnv {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
        }
    }

    fn config_dir(&self) -> Option<PathBuf> {
        self.docker_config.clone().or_else(|| self.home.as_ref().map(|h| h.join(".docker")))
    }
}

/// An Engine address and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `unix:///path` or `tcp://host:port`.
    pub host: String,
    /// `DOCKER_HOST`, `docker context \`x\``, or `default socket`.
    pub origin: String,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {})", self.host, self.origin)
    }
}

impl Endpoint {
    /// Picks the endpoint as the docker CLI does.
    pub(crate) fn resolve(env: &DockerEnv) -> Result<Endpoint, Error> {
        if let Some(host) = &env.docker_host {
            return Ok(Endpoint { host: host.clone(), origin: "DOCKER_HOST".into() });
        }
        let config_dir = env.config_dir();
        let context = env.docker_context.clone().or_else(|| {
            let dir = config_dir.as_ref()?;
            let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
            let json: serde_json::Value = serde_json::from_str(&text).ok()?;
            json.get("currentContext")?.as_str().filter(|s| !s.is_empty()).map(String::from)
        });
        match context.as_deref() {
            None | Some("default") => {
                Ok(Endpoint { host: DEFAULT_SOCKET.into(), origin: "default socket".into() })
            }
            Some(name) => {
                let Some(dir) = config_dir else {
                    return Err(Error::Context { name: name.into(), reason: "no HOME".into() });
                };
                context_endpoint(&dir, name)
            }
        }
    }

    /// Connects and negotiates the API version (the Engine may be older than bollard's
    /// default, e.g. Docker 20.10 = API 1.41).
    pub(crate) async fn connect(&self) -> Result<Docker, Error> {
        let unreachable = |e: bollard::errors::Error| self.classify(e);
        let target = if let Some(path) = self.host.strip_prefix("unix://") {
            Target::Unix(path.into())
        } else if let Some(addr) =
            self.host.strip_prefix("tcp://").or_else(|| self.host.strip_prefix("http://"))
        {
            Target::Tcp(addr.trim_end_matches('/').to_owned())
        } else {
            return Err(Error::UnsupportedEndpoint(self.to_string()));
        };
        // Our own transport: each answer is bounded (see `transport`).
        let docker = Docker::connect_with_custom_transport(
            transport(target),
            Some("http://docker"),
            REQUEST_TIMEOUT_S,
            API_DEFAULT_VERSION,
        )
        .map_err(unreachable)?;
        docker.negotiate_version().await.map_err(unreachable)
    }
}

impl Endpoint {
    /// Classifies a connection-time error by the io error at the bottom of its chain.
    pub(crate) fn classify(&self, e: bollard::errors::Error) -> Error {
        let endpoint = self.to_string();
        if let bollard::errors::Error::SocketNotFoundError(_) = e {
            return Error::Unreachable { endpoint, reason: "no such socket".into() };
        }
        let direct = match &e {
            bollard::errors::Error::IOError { err } => {
                Some(err as &(dyn std::error::Error + 'static))
            }
            _ => None,
        };
        let mut source: Option<&(dyn std::error::Error + 'static)> = direct.or(Some(&e));
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<io::Error>() {
                return match io.kind() {
                    io::ErrorKind::PermissionDenied => Error::PermissionDenied { endpoint },
                    io::ErrorKind::NotFound => {
                        Error::Unreachable { endpoint, reason: "no such socket".into() }
                    }
                    _ => Error::Unreachable { endpoint, reason: lower(&io.to_string()) },
                };
            }
            source = s.source();
        }
        let text = chain_text(&e);
        if text.contains("Permission denied") {
            Error::PermissionDenied { endpoint }
        } else {
            Error::Unreachable { endpoint, reason: text }
        }
    }
}

fn context_endpoint(config_dir: &Path, name: &str) -> Result<Endpoint, Error> {
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let meta = config_dir.join("contexts").join("meta").join(hash).join("meta.json");
    let err = |reason: String| Error::Context { name: name.into(), reason };
    let text = std::fs::read_to_string(&meta)
        .map_err(|e| err(format!("cannot read {}: {e}", meta.display())))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("{}: {e}", meta.display())))?;
    let host = json
        .pointer("/Endpoints/docker/Host")
        .and_then(|h| h.as_str())
        .ok_or_else(|| err(format!("{} has no Endpoints.docker.Host", meta.display())))?;
    Ok(Endpoint { host: host.into(), origin: format!("docker context `{name}`") })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("td-endpoint-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tmp dir");
        d
    }

    #[test]
    fn docker_host_wins() {
        let env = DockerEnv {
            docker_host: Some("unix:///x.sock".into()),
            docker_context: Some("other".into()),
            ..Default::default()
        };
        let ep = Endpoint::resolve(&env).expect("resolve");
        assert_eq!(ep.host, "unix:///x.sock");
        assert_eq!(ep.origin, "DOCKER_HOST");
    }

    #[test]
    fn default_socket_without_config() {
        let env = DockerEnv { home: Some(tmp("empty")), ..Default::default() };
        assert_eq!(Endpoint::resolve(&env).expect("resolve").host, DEFAULT_SOCKET);
    }

    #[test]
    fn current_context_from_config() {
        let dir = tmp("ctx");
        std::fs::write(dir.join("config.json"), r#"{"currentContext":"remote"}"#).expect("w");
        // `echo -n remote | sha256sum`, as the docker CLI names the directory.
        let hash = "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a";
        let meta = dir.join("contexts/meta").join(hash);
        std::fs::create_dir_all(&meta).expect("mkdir");
        std::fs::write(
            meta.join("meta.json"),
            r#"{"Name":"remote","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://10.0.0.5:2375","SkipTLSVerify":false}}}"#,
        )
        .expect("w");
        let env = DockerEnv { docker_config: Some(dir), ..Default::default() };
        let ep = Endpoint::resolve(&env).expect("resolve");
        assert_eq!(ep.host, "tcp://10.0.0.5:2375");
        assert_eq!(ep.origin, "docker context `remote`");
    }

    fn ep() -> Endpoint {
        Endpoint { host: "unix:///var/run/docker.sock".into(), origin: "default socket".into() }
    }

    #[test]
    fn connect_errors_are_classified() {
        let denied = bollard::errors::Error::IOError {
            err: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        let e = ep().classify(denied);
        assert!(matches!(e, Error::PermissionDenied { .. }));
        assert!(
            e.to_string()
                .starts_with("permission denied on the Docker socket unix:///var/run/docker.sock")
        );
        let missing = bollard::errors::Error::SocketNotFoundError("/x.sock".into());
        assert_eq!(
            ep().classify(missing).to_string(),
            "cannot reach the Docker Engine at unix:///var/run/docker.sock (from default socket): \
             no such socket; is the daemon running?"
        );
    }

    #[test]
    fn missing_context_is_an_error() {
        let env = DockerEnv {
            docker_context: Some("nope".into()),
            docker_config: Some(tmp("missing")),
            ..Default::default()
        };
        assert!(matches!(Endpoint::resolve(&env), Err(Error::Context { .. })));
    }
}

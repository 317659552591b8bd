//! Fatal Docker errors: each prints as one line that says what was tried and what to do.
//! All of them mean exit code 2 (the tool could not do its job). An Engine error keeps the
//! bollard error it came from as its [`std::error::Error::source`].
//!
//! This module knows endpoints only by their description (`unix:///… (from DOCKER_HOST)`):
//! `endpoint` turns its connection errors into these, not the other way round.

use std::fmt;

/// A Docker problem that stops `watch` or `inspect` before any report exists.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Nothing answers at the endpoint.
    Unreachable {
        /// What was tried (`unix:///var/run/docker.sock (from default socket)`).
        endpoint: String,
        /// The short reason (`no such file or directory`, `connection refused`, …).
        reason: String,
    },
    /// The socket exists but this user may not open it.
    PermissionDenied {
        /// What was tried.
        endpoint: String,
    },
    /// An endpoint scheme this build cannot use (ssh://, npipe://, TLS).
    UnsupportedEndpoint(String),
    /// A docker context that cannot be read.
    Context {
        /// Context name.
        name: String,
        /// Why.
        reason: String,
    },
    /// No container by that name or id prefix.
    NoSuchContainer {
        /// What the user typed.
        name: String,
        /// Similar existing names.
        suggestions: Vec<String>,
    },
    /// An id prefix that fits several containers.
    Ambiguous {
        /// What the user typed.
        name: String,
        /// Names of the containers it fits.
        matches: Vec<String>,
    },
    /// `--cluster NAME` found no labelled container.
    NoCluster {
        /// The cluster name.
        cluster: String,
        /// Cluster names that do exist.
        known: Vec<String>,
    },
    /// Any other Engine error.
    Api {
        /// What the tool was doing (`inspect container \`x\``).
        doing: String,
        /// What the Engine (or the way to it) answered.
        source: bollard::errors::Error,
    },
    /// The async runtime could not start.
    Runtime(std::io::Error),
}

impl Error {
    /// Wraps an Engine error during `doing`.
    pub(crate) fn api(doing: impl Into<String>, e: bollard::errors::Error) -> Error {
        Error::Api { doing: doing.into(), source: e }
    }

    /// The Engine's own words for an [`Error::Api`]: its message for an answer, else the
    /// deepest cause (bollard wraps hyper wraps io).
    fn engine_says(e: &bollard::errors::Error) -> String {
        match e {
            bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
            // A stream's read error reaches us as text only: the guard kept the reason.
            other => super::transport::tripped().unwrap_or_else(|| chain_text(other)),
        }
    }
}

pub(crate) fn lower(s: &str) -> String {
    let s = s.split(" (os error").next().unwrap_or(s);
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The deepest message of an error chain, lowercased (bollard wraps hyper wraps io).
pub(crate) fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    lower(&last)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unreachable { endpoint, reason } => {
                write!(
                    f,
                    "cannot reach the Docker Engine at {endpoint}: {reason}; is the daemon running?"
                )
            }
            Error::PermissionDenied { endpoint } => write!(
                f,
                "permission denied on the Docker socket {endpoint}: add your user to the `docker` \
                 group (then log in again) or run as root"
            ),
            Error::UnsupportedEndpoint(endpoint) => write!(
                f,
                "unsupported Docker endpoint {endpoint}: only unix:// and plain tcp:// are supported"
            ),
            Error::Context { name, reason } => {
                write!(f, "cannot use docker context `{name}`: {reason}")
            }
            Error::NoSuchContainer { name, suggestions } => {
                write!(f, "no such container `{name}`")?;
                match suggestions.as_slice() {
                    [] => write!(f, " (see `docker ps -a`)"),
                    s => write!(f, "; did you mean {}?", backticked(s)),
                }
            }
            Error::Ambiguous { name, matches } => write!(
                f,
                "`{name}` matches several containers ({}); give more of the id or the full name",
                backticked(matches)
            ),
            Error::NoCluster { cluster, known } => {
                write!(f, "no container is labelled `talos.cluster.name={cluster}`")?;
                match known.as_slice() {
                    [] => write!(f, " (no Talos cluster containers at all)"),
                    k => write!(f, "; clusters found: {}", backticked(k)),
                }
            }
            Error::Api { doing, source } => {
                write!(f, "failed to {doing}: {}", Error::engine_says(source))
            }
            Error::Runtime(e) => write!(f, "failed to start the async runtime: {e}"),
        }
    }
}

fn backticked(items: &[String]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Api { source, .. } => Some(source),
            Error::Runtime(e) => Some(e),
            _ => None,
        }
    }
}

/// The commands' `?` on Docker's errors: a Docker error is fatal to them (exit 2).
impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        crate::error::Error::Docker(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_in_one_line() {
        let e = Error::NoSuchContainer { name: "cp-1".into(), suggestions: vec!["cp-01".into()] };
        assert_eq!(e.to_string(), "no such container `cp-1`; did you mean `cp-01`?");
    }

    #[test]
    fn an_engine_error_keeps_its_cause() {
        let answer = bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message: "boom".into(),
        };
        let e = Error::api("inspect container `x`", answer);
        assert_eq!(e.to_string(), "failed to inspect container `x`: boom");
        let cause = std::error::Error::source(&e).expect("the bollard error");
        assert!(cause.downcast_ref::<bollard::errors::Error>().is_some());
    }
}

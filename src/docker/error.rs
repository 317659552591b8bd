//! Fatal Docker errors: each prints as one line that says what was tried and what to do.
//! All of them mean exit code 2 (the tool could not do its job).

use std::fmt;
use std::io;

use super::endpoint::Endpoint;

/// A Docker problem that stops `watch` or `inspect` before any report exists.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Nothing answers at the endpoint.
    Unreachable {
        /// What was tried.
        endpoint: Endpoint,
        /// The short reason (`no such file or directory`, `connection refused`, …).
        reason: String,
    },
    /// The socket exists but this user may not open it.
    PermissionDenied {
        /// What was tried.
        endpoint: Endpoint,
    },
    /// An endpoint scheme this build cannot use (ssh://, npipe://, TLS).
    UnsupportedEndpoint(Endpoint),
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
        /// Engine's message.
        message: String,
    },
}

impl Error {
    /// Classifies a connection-time error by the io error at the bottom of its chain.
    pub(crate) fn from_connect(e: bollard::errors::Error, endpoint: Endpoint) -> Error {
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

    /// Wraps an Engine error during `doing`, keeping only the Engine's own message.
    pub(crate) fn api(doing: impl Into<String>, e: &bollard::errors::Error) -> Error {
        let message = match e {
            bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
            other => chain_text(other),
        };
        Error::Api { doing: doing.into(), message }
    }
}

fn lower(s: &str) -> String {
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
            Error::Api { doing, message } => write!(f, "failed to {doing}: {message}"),
        }
    }
}

fn backticked(items: &[String]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep() -> Endpoint {
        Endpoint { host: "unix:///var/run/docker.sock".into(), origin: "default socket".into() }
    }

    #[test]
    fn connect_errors_are_classified() {
        let denied = bollard::errors::Error::IOError {
            err: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        let e = Error::from_connect(denied, ep());
        assert!(matches!(e, Error::PermissionDenied { .. }));
        assert!(
            e.to_string()
                .starts_with("permission denied on the Docker socket unix:///var/run/docker.sock")
        );
        let missing = bollard::errors::Error::SocketNotFoundError("/x.sock".into());
        let e = Error::from_connect(missing, ep());
        assert_eq!(
            e.to_string(),
            "cannot reach the Docker Engine at unix:///var/run/docker.sock (from default socket): \
             no such socket; is the daemon running?"
        );
    }

    #[test]
    fn suggestions_in_one_line() {
        let e = Error::NoSuchContainer { name: "cp-1".into(), suggestions: vec!["cp-01".into()] };
        assert_eq!(e.to_string(), "no such container `cp-1`; did you mean `cp-01`?");
    }
}

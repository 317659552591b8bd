//! Docker: watch Talos containers boot live, and check their settings before they boot.
//!
//! * [`endpoint`]: which Engine to talk to (`DOCKER_HOST`, docker contexts, default socket),
//!   connect and negotiate the API version.
//! * [`facts`]: `docker inspect` reduced to what Talos needs; container lookup by name or id
//!   prefix, cluster lookup by label.
//! * [`preflight`]: the known-good spec per Talos version and `inspect`'s findings; confirms
//!   a sharedFilesystems EINVAL from the logs with the container's mounts.
//! * [`follow`] + [`watch`]: the live log stream through the analyzer, with restarts, stalls
//!   and timeouts; [`progress`]: what is shown meanwhile.
//!
//! * [`transport`]: one connection per request, each answer and stream item bounded.
//!
//! Everything async stays here; the analyzer it feeds is synchronous.

pub(crate) mod client;
pub(crate) mod conclude;
pub(crate) mod confirm;
pub(crate) mod endpoint;
pub(crate) mod error;
pub(crate) mod facts;
pub(crate) mod follow;
pub(crate) mod line;
pub(crate) mod preflight;
pub(crate) mod progress;
pub(crate) mod recreate;
pub(crate) mod spec;
pub(crate) mod transport;
pub(crate) mod watch;

pub(crate) use error::Error;
pub(crate) use facts::ContainerFacts;

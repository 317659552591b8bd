//! What the commands need of Docker, synchronously: the tokio runtime, the connection, the
//! `--since` parser, and reading a container's whole log into the analyzer (`analyze
//! --container`).

use crate::analyzer::Analyzer;
use crate::cli::parse_duration;
use crate::error::Error;

use super::endpoint::{DockerEnv, Endpoint};
use super::facts::find_container;

/// `--since`: RFC 3339, Unix seconds, or a duration before now → Unix seconds.
pub(crate) fn parse_since(s: &str, now: i64) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    if let Some(ns) = super::follow::parse_rfc3339(s) {
        return Ok((ns / 1_000_000_000) as i64);
    }
    parse_duration(s)
        .map(|d| now - d.as_secs() as i64)
        .map_err(|_| format!("invalid --since `{s}` (use an RFC 3339 time, Unix seconds, or 10m)"))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Docker(format!("failed to start the async runtime: {e}")))
}

pub(crate) fn docker_err(e: super::Error) -> Error {
    Error::Docker(e.to_string())
}

pub(crate) async fn connect() -> Result<bollard::Docker, Error> {
    let endpoint = Endpoint::resolve(&DockerEnv::from_process()).map_err(docker_err)?;
    endpoint.connect().await.map_err(docker_err)
}

/// For `analyze --container NAME`: feeds the container's whole log (no follow) into
/// `analyzer` as input `docker:NAME`, node NAME, and returns the container's facts, so the
/// caller can confirm the diagnosis with [`super::preflight::confirm`] on the final report.
pub fn feed_container(
    analyzer: &mut Analyzer<'_>,
    name: &str,
) -> Result<super::ContainerFacts, Error> {
    use crate::input::lines::{Flow, LineSplitter};
    use futures_util::StreamExt;
    runtime()?.block_on(async {
        let docker = connect().await?;
        let facts = find_container(&docker, name).await.map_err(docker_err)?;
        analyzer.begin_input(&format!("docker:{}", facts.name), Some(&facts.name));
        let opts = bollard::query_parameters::LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let mut stream = docker.logs(&facts.id, Some(opts));
        let mut splitter = LineSplitter::default();
        let mut sink = |l: crate::input::lines::RawLine<'_>| {
            analyzer.push_line(l);
            Flow::Continue
        };
        while let Some(item) = stream.next().await {
            let out = item.map_err(|e| {
                docker_err(super::Error::api(format!("read the logs of `{name}`"), &e))
            })?;
            splitter.push(&out.into_bytes(), &mut sink);
        }
        splitter.finish(&mut sink);
        Ok(facts)
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations() {
        let ok: &[(&str, u64)] =
            &[("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("0s", 0)];
        for (s, secs) in ok {
            assert_eq!(parse_duration(s), Ok(Duration::from_secs(*secs)), "{s}");
        }
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "5x", "m", "5m3"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_since("10m", 1000), Ok(400));
        assert_eq!(parse_since("1970-01-01T00:01:00Z", 0), Ok(60));
    }
}

//! What the commands need of Docker, synchronously: the tokio runtime, the connection, and
//! reading a container's whole log into the analyzer (`analyze --container`).

use crate::analyzer::Analyzer;

use super::Error;

use super::endpoint::{DockerEnv, Endpoint};
use super::facts::find_container;

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Runtime)
}

pub(crate) async fn connect() -> Result<bollard::Docker, Error> {
    let endpoint = Endpoint::resolve(&DockerEnv::from_process())?;
    endpoint.connect().await
}

/// The most of one container's log that `analyze --container` reads (the Engine could send
/// an endless one): as much as of one archive.
pub(crate) const MAX_CONTAINER_LOG: u64 = crate::input::bundle::MAX_ARCHIVE_BYTES;

/// For `analyze --container NAME`: feeds the container's whole log (no follow) into
/// `analyzer` as input `docker:NAME`, node NAME, and returns the container's facts, so the
/// caller can confirm the diagnosis with [`super::preflight::confirm`] on the final report.
pub(crate) fn feed_container(
    analyzer: &mut Analyzer<'_>,
    name: &str,
) -> Result<super::ContainerFacts, Error> {
    use crate::input::lines::{Flow, LineSplitter};
    use futures_util::StreamExt;
    runtime()?.block_on(async {
        let docker = connect().await?;
        let facts = find_container(&docker, name).await?;
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
        let mut read = 0u64;
        let mut capped = false;
        while let Some(item) = stream.next().await {
            let out = item.map_err(|e| Error::api(format!("read the logs of `{name}`"), e))?;
            let bytes = out.into_bytes();
            read += bytes.len() as u64;
            splitter.push(&bytes, &mut sink);
            if read > MAX_CONTAINER_LOG {
                capped = true;
                break;
            }
        }
        splitter.finish(&mut sink);
        if capped {
            analyzer.warn(format!(
                "`docker:{}`: only the first {} of its log were read, the cap for one \
                 container's log",
                facts.name,
                crate::input::source::size(MAX_CONTAINER_LOG)
            ));
        }
        Ok(facts)
    })
}

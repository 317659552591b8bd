//! The `watch` and `inspect` subcommands: arguments, the tokio runtime, output.
//!
//! Progress goes to stderr (a live table when stderr is a terminal and `CI` is unset, plain
//! lines otherwise); stdout holds only the report, so `--format json` stays one document.

use std::io::{self, IsTerminal, Write};

use crate::analyzer::{AnalyzeOptions, Analyzer};
use crate::cli::{Format, InspectArgs, OutputArgs, WatchArgs, parse_duration};
use crate::config;
use crate::error::Error;
use crate::report::Report;

use super::endpoint::{DockerEnv, Endpoint};
use super::facts::{find_cluster, find_container};
use super::preflight::{inspect_exit_code, inspect_report};
use super::watch::{WatchOptions, watch};

/// `--since`: RFC 3339, Unix seconds, or a duration before now → Unix seconds.
fn parse_since(s: &str, now: i64) -> Result<i64, String> {
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

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Docker(format!("failed to start the async runtime: {e}")))
}

fn docker_err(e: super::Error) -> Error {
    Error::Docker(e.to_string())
}

async fn connect() -> Result<bollard::Docker, Error> {
    let endpoint = Endpoint::resolve(&DockerEnv::from_process()).map_err(docker_err)?;
    endpoint.connect().await.map_err(docker_err)
}

fn write_report(report: &Report, out_args: &OutputArgs, env: &config::Env) -> Result<(), Error> {
    let opts = config::render_options(out_args, env);
    colored::control::set_override(opts.color);
    let summary = env.github_step_summary.as_deref().filter(|_| out_args.format == Format::Github);
    crate::render::write_ci_files(report, &out_args.ci, &opts, summary).map_err(Error::Output)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let written = (|| -> io::Result<()> {
        crate::render::render(out_args.format, report, &opts, &mut out)?;
        out.flush()
    })();
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
        _ => Ok(()),
    }
}

/// Runs `inspect`: exit 1 when a deviation breaks the boot, 0 otherwise, 2 on Docker errors.
pub fn inspect_cmd(args: &InspectArgs, env: &config::Env) -> Result<u8, Error> {
    let facts = runtime()?.block_on(async {
        let docker = connect().await?;
        find_container(&docker, &args.container).await.map_err(docker_err)
    })?;
    let report = inspect_report(&facts);
    write_report(&report, &args.out, env)?;
    Ok(inspect_exit_code(&report) as u8)
}

/// Runs `watch`.
pub fn watch_cmd(args: &WatchArgs, env: &config::Env) -> Result<u8, Error> {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let since = args.since.as_deref().map(|s| parse_since(s, now)).transpose().map_err(Error::Usage)?;
    let kb = crate::load_kb(&args.out.rules)?;
    let mut analyzer =
        Analyzer::new(&kb, AnalyzeOptions { redact: !args.out.no_redact, ..AnalyzeOptions::default() });
    let live = !args.plain
        && io::stderr().is_terminal()
        && std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false");
    let opts = WatchOptions {
        since,
        tail: args.tail.clone(),
        timeout: args.timeout,
        stall_timeout: args.stall_timeout,
        settle: args.settle,
        live,
        width: env.columns.unwrap_or(100).clamp(60, 200),
    };
    let result = runtime()?.block_on(async {
        let docker = connect().await?;
        let containers = match &args.cluster {
            Some(cluster) => find_cluster(&docker, cluster).await.map_err(docker_err)?,
            None => {
                let mut v = Vec::new();
                for name in &args.containers {
                    let f = find_container(&docker, name).await.map_err(docker_err)?;
                    if !v.iter().any(|c: &super::ContainerFacts| c.id == f.id) {
                        v.push(f);
                    }
                }
                v
            }
        };
        let stderr = io::stderr();
        let mut progress = stderr.lock();
        Ok::<_, Error>(watch(&docker, containers, &opts, &mut analyzer, &mut progress).await)
    })?;
    if let Some(m) = &result.message {
        eprintln!("talos-doctor: {m}");
    }
    write_report(&result.report, &args.out, env)?;
    Ok(result.exit_code)
}

/// For `analyze --container NAME`: feeds the container's whole log (no follow) into
/// `analyzer` as input `docker:NAME`, node NAME, and returns the container's facts, so the
/// caller can confirm the diagnosis with [`super::preflight::confirm`] on the final report.
pub fn feed_container(analyzer: &mut Analyzer<'_>, name: &str) -> Result<super::ContainerFacts, Error> {
    use crate::input::lines::{Flow, LineSplitter};
    use futures_util::StreamExt;
    runtime()?.block_on(async {
        let docker = connect().await?;
        let facts = find_container(&docker, name).await.map_err(docker_err)?;
        analyzer.begin_input(&format!("docker:{}", facts.name), Some(&facts.name));
        let opts =
            bollard::query_parameters::LogsOptions { stdout: true, stderr: true, ..Default::default() };
        let mut stream = docker.logs(&facts.id, Some(opts));
        let mut splitter = LineSplitter::default();
        let mut sink = |l: crate::input::lines::RawLine<'_>| {
            analyzer.push_line(l);
            Flow::Continue
        };
        while let Some(item) = stream.next().await {
            let out =
                item.map_err(|e| docker_err(super::Error::api(format!("read the logs of `{name}`"), &e)))?;
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
        let ok: &[(&str, u64)] = &[("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("0s", 0)];
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

//! `watch`: follow Talos containers' logs live and stop with the report once the boot's
//! verdict is known.
//!
//! Progress goes to stderr (a live table when stderr is a terminal and `CI` is unset, plain
//! lines otherwise); stdout holds only the report, so `--format json` stays one document.

use std::io;

use super::{load_kb, write_report};
use crate::analyzer::{AnalyzeOptions, Analyzer};
use crate::cli::WatchArgs;
use crate::cli::parse_duration;
use crate::config;
use crate::docker::ContainerFacts;
use crate::docker::client::{connect, runtime};
use crate::docker::facts::{find_cluster, find_container};
use crate::docker::watch::{WatchOptions, watch};
use crate::error::Error;

/// Runs `watch`.
pub(crate) fn run(args: &WatchArgs, env: &config::Env) -> Result<u8, Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let since =
        args.since.as_deref().map(|s| parse_since(s, now)).transpose().map_err(Error::Usage)?;
    for name in &args.containers {
        super::check_container_arg("the container name", name)?;
    }
    if let Some(cluster) = &args.cluster {
        if cluster.trim().is_empty() {
            return Err(Error::Usage(
                "--cluster is empty: give the cluster's name (the `talos.cluster.name` label)"
                    .into(),
            ));
        }
    }
    super::check_outputs(&args.out, &[])?;
    let kb = load_kb(&args.out.rules)?;
    let mut analyzer = Analyzer::new(
        &kb,
        AnalyzeOptions { redact: !args.out.no_redact, ..AnalyzeOptions::default() },
    );
    // The live table moves the cursor: only on a terminal that understands it (not a pipe,
    // not CI's log, not TERM=dumb); elsewhere a plain line per finished phase.
    let live = !args.plain && env.stderr_tty && !env.ci && !env.dumb_term;
    let opts = WatchOptions {
        since,
        tail: args.tail.clone(),
        timeout: args.timeout,
        stall_timeout: args.stall_timeout,
        settle: args.settle,
        live,
        width: config::width(env.columns, env.stderr_width),
    };
    let result = runtime()?.block_on(async {
        let docker = connect().await?;
        let containers = match &args.cluster {
            Some(cluster) => find_cluster(&docker, cluster).await.map_err(Error::from)?,
            None => {
                let mut v = Vec::new();
                for name in &args.containers {
                    let f = find_container(&docker, name).await.map_err(Error::from)?;
                    if !v.iter().any(|c: &ContainerFacts| c.id == f.id) {
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
    if let Err(e) = write_report(&result.report, &args.out, env, |_| Ok(())) {
        super::warn_before_error(&e, &result.report, result.message.as_deref());
        return Err(e);
    }
    Ok(result.exit_code)
}

/// `--since`: RFC 3339, Unix seconds, or a duration before now → Unix seconds.
fn parse_since(s: &str, now: i64) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    if let Some(ns) = crate::docker::follow::parse_rfc3339(s) {
        return Ok((ns / 1_000_000_000) as i64);
    }
    parse_duration(s)
        .map(|d| now - d.as_secs() as i64)
        .map_err(|_| format!("invalid --since `{s}` (use an RFC 3339 time, Unix seconds, or 10m)"))
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

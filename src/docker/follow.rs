//! One container's log stream across restarts: the only async part of `watch`.
//!
//! A follower asks for the logs with Docker's timestamps, splits the frames into lines (frames
//! are chunks, not lines), strips the timestamp and sends each line with it to the watch
//! loop. The follow stream ends when the container stops; the follower then asks the Engine
//! what happened: removed, restarted by its restart policy (a new boot: re-attach and skip
//! every line already seen, by timestamp), or stopped for good.

use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use crate::input::lines::{Flow, LineSplitter};

use super::error::chain_text;
use super::facts::{ContainerFacts, inspect};

/// How long a stopped container may take to show `restarting` before it counts as stopped.
const RESTART_GRACE: Duration = Duration::from_secs(3);
/// Poll interval while waiting for a container to start or restart.
const POLL: Duration = Duration::from_millis(250);
/// A line this much older than the run's `StartedAt` belongs to an earlier run.
const START_SLACK_NS: i128 = 1_000_000_000;

/// What a follower reports to the watch loop.
#[derive(Debug)]
pub(crate) enum Msg {
    /// One log line (timestamp stripped).
    Line {
        /// Container index.
        idx: usize,
        /// Docker's timestamp, Unix nanoseconds.
        ts: Option<i128>,
        /// 1-based line number in this container's log as followed.
        no: u64,
        /// Bytes.
        bytes: Vec<u8>,
        /// Cut at the line limit.
        truncated: bool,
        /// The line belongs to the container's current run (not backlog of earlier runs).
        current: bool,
    },
    /// Attached to a run of the container that started at `started_at`.
    Attached { idx: usize, started_at: Option<i128> },
    /// The container waits for something before it can be followed (`docker start`).
    Waiting { idx: usize, what: String },
    /// The container stopped; `restarting` when Docker is restarting it; `restart_count`:
    /// Docker's count of restarts so far (it counts this one once it decided to restart).
    Exited { idx: usize, code: i64, oom: bool, restarting: bool, restart_count: i64 },
    /// Docker started the container again (restart policy or `docker start`).
    Restarted { idx: usize, restart_count: i64 },
    /// The container stopped and is not coming back: no more messages.
    Stopped { idx: usize },
    /// The container was removed: no more messages.
    Removed { idx: usize },
    /// The Engine went away: no more messages.
    Lost { idx: usize, reason: String },
}

/// Where to start the first attach.
#[derive(Debug, Clone, Default)]
pub(crate) struct Start {
    /// `--since`, Unix seconds.
    pub since: Option<i64>,
    /// `--tail`.
    pub tail: Option<String>,
}

fn is_404(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}

/// Follows container `idx` until it is stopped for good, removed, or the Engine goes away.
/// Returns when the receiver is dropped too.
pub(crate) async fn follow(
    docker: Docker,
    idx: usize,
    mut facts: ContainerFacts,
    start: Start,
    tx: UnboundedSender<Msg>,
) {
    let mut splitter = LineSplitter::default();
    let mut last_ts: Option<i128> = None;
    // Lines handed on: their numbers. Not the splitter's count, which also counts the lines a
    // re-attach sends again and that are skipped.
    let mut delivered: u64 = 0;
    let mut first = true;
    // A created, never started container: wait for `docker start`, and say so.
    if facts.status == "created" {
        let what = "the container was created but never started: waiting for `docker start`";
        if tx.send(Msg::Waiting { idx, what: what.into() }).is_err() {
            return;
        }
    }
    while facts.status == "created" {
        tokio::time::sleep(POLL).await;
        match inspect(&docker, &facts.id).await {
            Ok(f) => facts = f,
            Err(e) => {
                let _ = tx.send(end_msg(idx, &e));
                return;
            }
        }
    }
    loop {
        let run_start = parse_rfc3339(&facts.started_at);
        if tx.send(Msg::Attached { idx, started_at: run_start }).is_err() {
            return;
        }
        let (since, tail) = if first {
            (start.since.unwrap_or(0), start.tail.clone().unwrap_or_else(|| "all".into()))
        } else {
            (last_ts.map_or(0, |t| (t / 1_000_000_000) as i64), "all".into())
        };
        first = false;
        let opts = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            since: i32::try_from(since).unwrap_or(0),
            timestamps: true,
            tail,
            ..Default::default()
        };
        let mut stream = docker.logs(&facts.id, Some(opts));
        let mut closed = false;
        let mut sink = |line: crate::input::lines::RawLine<'_>| {
            let (ts, rest) = split_timestamp(line.bytes);
            if let (Some(t), Some(last)) = (ts, last_ts)
                && t <= last
            {
                // Already seen before a re-attach.
                return Flow::Continue;
            }
            if ts.is_some() {
                last_ts = ts;
            }
            let current = match (ts, run_start) {
                (Some(t), Some(s)) => t >= s - START_SLACK_NS,
                _ => true,
            };
            delivered += 1;
            let msg = Msg::Line {
                idx,
                ts,
                no: delivered,
                bytes: rest.to_vec(),
                truncated: line.truncated,
                current,
            };
            if tx.send(msg).is_err() {
                closed = true;
                return Flow::Stop;
            }
            Flow::Continue
        };
        while let Some(item) = stream.next().await {
            match item {
                Ok(out) => {
                    if splitter.push(&out.into_bytes(), &mut sink) == Flow::Stop {
                        return;
                    }
                }
                Err(e) if is_404(&e) => break,
                Err(_) => break,
            }
        }
        // What became of the container decides the end of the stream: a stream cut while
        // the same run goes on (a daemon restart) may end inside a line, and that part is
        // dropped (the re-attached stream sends the line again, whole); a stream that ended
        // with its run keeps its last line even without a newline.
        let now = inspect(&docker, &facts.id).await;
        if matches!(&now, Ok(f) if f.running && f.started_at == facts.started_at) {
            splitter = LineSplitter::default();
        } else {
            splitter.finish(&mut sink);
        }
        if closed {
            return;
        }
        match next_run(&docker, idx, &facts, now, &tx).await {
            Some(f) => facts = f,
            None => return,
        }
    }
}

/// After a stream ended: the container's next run, or `None` once a final message was sent.
/// `now` is the inspection made when the stream ended.
async fn next_run(
    docker: &Docker,
    idx: usize,
    old: &ContainerFacts,
    now: Result<ContainerFacts, bollard::errors::Error>,
    tx: &UnboundedSender<Msg>,
) -> Option<ContainerFacts> {
    let mut announced_exit = false;
    let deadline = tokio::time::Instant::now() + RESTART_GRACE;
    let mut now = Some(now);
    loop {
        let seen = match now.take() {
            Some(seen) => seen,
            None => inspect(docker, &old.id).await,
        };
        let f = match seen {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.send(end_msg(idx, &e));
                return None;
            }
        };
        if f.running && f.started_at != old.started_at {
            let _ = tx.send(Msg::Restarted { idx, restart_count: f.restart_count });
            return Some(f);
        }
        if f.running {
            // Same run, the stream was cut (daemon hiccup): re-attach.
            tokio::time::sleep(POLL).await;
            return Some(f);
        }
        if !announced_exit && (f.restarting || f.status == "exited" || f.status == "dead") {
            announced_exit = true;
            let msg = Msg::Exited {
                idx,
                code: f.exit_code,
                oom: f.oom_killed,
                restarting: f.restarting,
                restart_count: f.restart_count,
            };
            if tx.send(msg).is_err() {
                return None;
            }
        }
        // `restarting` lasts the restart policy's back-off (100 ms doubling up to 1 min).
        if !f.restarting && tokio::time::Instant::now() >= deadline {
            let _ = tx.send(Msg::Stopped { idx });
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

fn end_msg(idx: usize, e: &bollard::errors::Error) -> Msg {
    if is_404(e) { Msg::Removed { idx } } else { Msg::Lost { idx, reason: chain_text(e) } }
}

/// Splits Docker's `RFC3339Nano ` prefix off a line (`docker logs -t` shape).
pub(crate) fn split_timestamp(line: &[u8]) -> (Option<i128>, &[u8]) {
    let Some(sp) = line.iter().take(40).position(|&b| b == b' ') else { return (None, line) };
    match std::str::from_utf8(&line[..sp]).ok().and_then(parse_rfc3339) {
        Some(ts) => (Some(ts), &line[sp + 1..]),
        None => (None, line),
    }
}

/// `2024-11-20T09:14:03.123456789Z` (or `+01:00`) → Unix nanoseconds: the one RFC 3339
/// parser, in its exact form.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i128> {
    crate::parse::time::rfc3339_nanos(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-11-20T09:14:03.5Z"), Some(1_732_094_043_500_000_000));
        assert_eq!(
            parse_rfc3339("2024-11-20T10:14:03.000000001+01:00"),
            Some(1_732_094_043_000_000_001)
        );
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z").map(|t| t < 0), Some(true));
        assert_eq!(parse_rfc3339("[talos]"), None);
        let (ts, rest) = split_timestamp(b"2024-11-20T09:14:03.123456789Z [talos] x");
        assert_eq!(ts, Some(1_732_094_043_123_456_789));
        assert_eq!(rest, b"[talos] x");
        assert_eq!(split_timestamp(b"[talos] 2024/11/20 x").0, None);
    }
}

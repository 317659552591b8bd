//! `watch` and `inspect` against the real Docker Engine.
//!
//! Nothing is pulled: `tests/docker/build-image.sh` builds a tiny image (static busybox +
//! `tests/docker/replay.sh` + the logs in `tests/docker/logs`) with `docker import`, once per
//! test run. The replay script writes a Talos container log to stderr with delays, then exits,
//! hangs or crashes per env vars. Containers are named `tdt-<pid>-<n>-<what>` and always
//! removed (a Drop guard), also when a test fails.
//!
//! Without a daemon the tests print why and skip; under `CI=true` they fail instead.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

const IMAGE: &str = "talos-doctor-test/replay";
const TIMEOUT: Duration = Duration::from_secs(45);

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false")
}

/// Daemon up and image built: `true`; else skip (or panic under CI).
fn engine() -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        match Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]).output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Err(format!(
                    "the Docker daemon is not reachable: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
            Err(e) => return Err(format!("the docker CLI is not installed: {e}")),
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/docker/build-image.sh");
        let out = Command::new("sh").args([script, IMAGE]).output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "tests/docker/build-image.sh failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    });
    match ready {
        Ok(()) => true,
        Err(e) if ci() => panic!("Docker tests must run under CI=true, but: {e}"),
        Err(e) => {
            // Written to the real stderr, not through libtest's capture, so the skip shows.
            use std::io::Write;
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let _ = writeln!(std::io::stderr(), "skipping the Docker tests: {e}");
            });
            false
        }
    }
}

/// A test container, removed on drop.
struct Ctr(String);

impl Drop for Ctr {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.0])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn unique(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("tdt-{}-{}-{what}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// `docker <verb> --name NAME ARGS… IMAGE:TAG` (verb `run -d` or `create`).
fn container(verb: &[&str], name: &str, args: &[&str], tag: &str) -> Ctr {
    let guard = Ctr(name.to_owned());
    let image = format!("{IMAGE}:{tag}");
    let out = Command::new("docker")
        .args(verb)
        .args(["--name", name])
        .args(args)
        .arg(&image)
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "docker {verb:?} {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    guard
}

fn run_replay(name: &str, args: &[&str]) -> Ctr {
    container(&["run", "-d"], name, args, "v1.8.3")
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl Out {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }
}

/// Runs talos-doctor, killing it after [`TIMEOUT`].
fn td(args: &[&str], envs: &[(&str, &str)]) -> Out {
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_talos-doctor"));
    cmd.args(args).env("NO_COLOR", "1").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("talos-doctor starts");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(TIMEOUT) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("talos-doctor {args:?} did not finish within {TIMEOUT:?}");
        }
    };
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: start.elapsed(),
    }
}

fn node<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["node"] == name))
        .unwrap_or_else(|| panic!("node {name} not in {report:#}"))
}

#[test]
fn watch_failing_boot_is_diagnosed_and_confirmed_by_inspect() {
    if !engine() {
        return;
    }
    let name = unique("fail");
    let _c = run_replay(&name, &["-e", "LOG=fail", "-e", "END=exit:1"]);
    let out = td(&["watch", &name, "--format", "json"], &[]);
    assert_eq!(out.code, 1, "stderr: {}", out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "failed");
    assert_eq!(node(&r, &name)["failure"]["task"], "setupSharedFilesystems");
    let top = &r["findings"][0];
    assert_eq!(top["category"], "container_missing_mounts");
    let cause = top["root_cause"].as_str().unwrap_or_default();
    assert!(cause.contains("`/var`") && cause.contains("`/run`"), "{cause}");
    let fixes = top["remediation"].to_string();
    assert!(fixes.contains("--tmpfs /run") && fixes.contains("-v /var"), "{fixes}");
    assert!(out.stderr.contains("boot 6/10 sharedFilesystems failed"), "{}", out.stderr);
}

#[test]
fn watch_successful_boot_stops_as_soon_as_it_is_done() {
    if !engine() {
        return;
    }
    let name = unique("ok");
    let _c = run_replay(&name, &["-e", "LOG=success", "-e", "END=hang"]);
    let out = td(&["watch", &name, "--format", "json"], &[]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "succeeded");
    assert_eq!(node(&r, &name)["boots"], 1);
    // The container keeps running: watch stopped on the verdict, not on the end of the stream.
    assert!(out.took < Duration::from_secs(20), "took {:?}", out.took);
}

#[test]
fn watch_reports_a_stall() {
    if !engine() {
        return;
    }
    let name = unique("stall");
    let _c = run_replay(&name, &["-e", "LOG=stall", "-e", "END=hang"]);
    let out = td(&["watch", &name, "--stall-timeout", "3s", "--format", "json"], &[]);
    assert!(out.code == 3 || out.code == 1, "code {} stderr: {}", out.code, out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "stalled");
    let n = node(&r, &name);
    let reason = n["stall"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("stall timeout 3s"), "{n:#}");
    assert_eq!(n["stall"]["phase"], "userSetup");
}

#[test]
fn watch_follows_a_container_restarted_by_docker() {
    if !engine() {
        return;
    }
    let name = unique("restart");
    let _c = run_replay(
        &name,
        &["--restart", "on-failure:3", "-e", "FAIL_RUNS=2", "-e", "LOG=success", "-e", "END=hang"],
    );
    let out = td(&["watch", &name, "--format", "json"], &[]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "succeeded", "{r:#}");
    assert_eq!(node(&r, &name)["boots"], 3, "{r:#}");
    assert!(out.stderr.contains("restarted by Docker"), "{}", out.stderr);
}

#[test]
fn watch_container_removed_mid_stream_exits_2_with_partial_report() {
    if !engine() {
        return;
    }
    let name = unique("removed");
    let c = run_replay(&name, &["-e", "LOG=stall", "-e", "DELAY=0.2", "-e", "END=hang"]);
    let remover = {
        let name = name.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(3));
            let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        })
    };
    let out = td(&["watch", &name, "--format", "json"], &[]);
    remover.join().expect("remover");
    drop(c);
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    assert!(out.stderr.contains(&format!("container `{name}` was removed")), "{}", out.stderr);
    let r = out.json();
    assert!(node(&r, &name)["lines"].as_u64().unwrap_or(0) > 0, "{r:#}");
}

#[test]
fn watch_missing_container_suggests_similar_names() {
    if !engine() {
        return;
    }
    let base = unique("sugg");
    let _c = container(&["create"], &format!("{base}-cp-01"), &[], "v1.8.3");
    let out = td(&["watch", &format!("{base}-cp-1")], &[]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    let err = out.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("no such container `{base}-cp-1`")), "{err}");
    assert!(err.contains(&format!("did you mean `{base}-cp-01`")), "{err}");
}

#[test]
fn unreachable_daemon_names_the_endpoint() {
    let out = td(&["watch", "talos-cp-01"], &[("DOCKER_HOST", "unix:///nonexistent.sock")]);
    assert_eq!(out.code, 2);
    let err = out.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unix:///nonexistent.sock") && err.contains("DOCKER_HOST"), "{err}");
    let out = td(&["inspect", "talos-cp-01"], &[("DOCKER_HOST", "unix:///nonexistent.sock")]);
    assert_eq!(out.code, 2);
}

#[test]
fn watch_cluster_gives_one_verdict_with_per_node_causes() {
    if !engine() {
        return;
    }
    let cluster = unique("cluster");
    let label = format!("talos.cluster.name={cluster}");
    let nodes = [("cp-01", "success"), ("worker-1", "success"), ("worker-2", "fail")];
    let _cs: Vec<Ctr> = nodes
        .iter()
        .map(|(n, log)| {
            run_replay(
                &format!("{cluster}-{n}"),
                &[
                    "--label",
                    &label,
                    "--label",
                    "talos.owned=true",
                    "-e",
                    &format!("LOG={log}"),
                    "-e",
                    "END=exit:1",
                ],
            )
        })
        .collect();
    let out = td(&["watch", "--cluster", &cluster, "--format", "json"], &[]);
    assert_eq!(out.code, 1, "stderr: {}", out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "failed");
    assert_eq!(r["nodes"].as_array().map(Vec::len), Some(3), "{r:#}");
    assert_eq!(node(&r, &format!("{cluster}-cp-01"))["outcome"], "succeeded");
    assert_eq!(node(&r, &format!("{cluster}-worker-1"))["outcome"], "succeeded");
    let bad = format!("{cluster}-worker-2");
    assert_eq!(node(&r, &bad)["outcome"], "failed");
    assert_eq!(r["findings"][0]["node"], bad.as_str());
    let err = td(&["watch", "--cluster", &format!("{cluster}-none")], &[]);
    assert_eq!(err.code, 2);
    assert!(err.stderr.contains("no container is labelled"), "{}", err.stderr);
}

const SECRET: &str = "bWFjaGluZTogc2VjcmV0LXRva2VuLWRvLW5vdC1wcmludA==";

/// A container whose log carries secrets (tests/docker/logs/secrets.log: a machine config on a
/// command line, a registry `auth:`, a PEM key over lines, a bootstrap token, a password and
/// URL credentials in the failing task's error) and whose settings carry USERDATA: `watch` in
/// every format and `analyze --container` print none of them; `--no-redact` is the control.
#[test]
fn watch_and_container_analysis_print_no_planted_secret() {
    if !engine() {
        return;
    }
    let name = unique("secrets");
    let userdata = format!("USERDATA={SECRET}");
    let _c = run_replay(&name, &["-e", "LOG=secrets", "-e", "END=exit:1", "-e", &userdata]);
    let planted = [
        "TESTSECRET1",
        "TESTSECRET2",
        "TESTSECRET3",
        "TESTSECRET4",
        "TESTSECRET5",
        "hsd0xs3w2fcmsrve",
        SECRET,
    ];
    let mut runs: Vec<Vec<&str>> = ["human", "json", "github", "markdown", "junit", "sarif"]
        .into_iter()
        .map(|f| vec!["watch", name.as_str(), "--format", f])
        .collect();
    runs.push(vec!["watch", &name, "--plain", "--verbose"]);
    runs.push(vec!["analyze", "--container", &name, "--format", "json"]);
    runs.push(vec!["analyze", "--container", &name, "--suggest-rule"]);
    for run in &runs {
        let o = td(run, &[]);
        assert!(matches!(o.code, 1 | 3), "{run:?}: exit {} {}", o.code, o.stderr);
        for s in planted {
            assert!(
                !o.stdout.contains(s) && !o.stderr.contains(s),
                "{run:?} printed {s}:\n{}\n{}",
                o.stdout,
                o.stderr
            );
        }
    }
    let control = td(&["watch", &name, "--format", "json", "--no-redact"], &[]);
    let shown = planted[..6].iter().filter(|s| control.stdout.contains(*s)).count();
    assert!(shown >= 3, "the control shows {shown} of the planted secrets:\n{}", control.stdout);
}

#[test]
fn inspect_bare_container_lists_each_fix_and_hides_userdata() {
    if !engine() {
        return;
    }
    let name = unique("bare");
    let userdata = format!("USERDATA={SECRET}");
    let _c = container(&["create"], &name, &["-e", &userdata, "-e", "OTHER=also-secret"], "latest");
    let human = td(&["inspect", &name], &[]);
    assert_eq!(human.code, 1, "stderr: {}", human.stderr);
    for fix in [
        "--privileged",
        "--tmpfs /run",
        "--tmpfs /system",
        "-v /var",
        "-v /etc/cni",
        "-e PLATFORM=container",
    ] {
        assert!(human.stdout.contains(fix), "{fix} missing:\n{}", human.stdout);
    }
    let json = td(&["inspect", &name, "--format", "json"], &[]);
    assert_eq!(json.code, 1);
    for out in [&human.stdout, &json.stdout, &human.stderr, &json.stderr] {
        assert!(!out.contains(SECRET) && !out.contains("also-secret"), "a secret leaked:\n{out}");
    }
    let r = json.json();
    let ids: Vec<&str> =
        r["findings"].as_array().into_iter().flatten().filter_map(|f| f["id"].as_str()).collect();
    for id in ["TD-INSPECT-001", "TD-INSPECT-004", "TD-INSPECT-009", "TD-INSPECT-012"] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    let cats: Vec<&str> = r["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["category"].as_str())
        .collect();
    assert!(
        cats.contains(&"container_missing_mounts") && cats.contains(&"container_not_privileged")
    );
    assert!(human.stdout.contains("v1.6.5–v1.13"), "{}", human.stdout);
}

#[test]
fn inspect_container_created_with_the_documented_flags_passes() {
    if !engine() {
        return;
    }
    let name = unique("docs");
    let args = [
        "--read-only",
        "--privileged",
        "--security-opt",
        "seccomp=unconfined",
        "--tmpfs",
        "/run",
        "--tmpfs",
        "/system",
        "--tmpfs",
        "/tmp",
        "-v",
        "/system/state",
        "-v",
        "/var",
        "-v",
        "/etc/cni",
        "-v",
        "/etc/kubernetes",
        "-v",
        "/usr/libexec/kubernetes",
        "-v",
        "/opt",
        "-e",
        "PLATFORM=container",
        "-e",
        "USERDATA=ZGVidWc6IGZhbHNl",
    ];
    let _c = container(&["create"], &name, &args, "v1.8.3");
    let out = td(&["inspect", &name, "--format", "json"], &[]);
    assert_eq!(out.code, 0, "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    let r = out.json();
    let errors: Vec<&Value> = r["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(node(&r, &name)["talos_version"], "v1.8.3");
}

#[test]
fn watch_ctrl_c_prints_the_partial_report() {
    if !engine() {
        return;
    }
    let name = unique("sigint");
    let _c = run_replay(&name, &["-e", "LOG=success", "-e", "DELAY=0.3", "-e", "END=hang"]);
    let child = Command::new(env!("CARGO_BIN_EXE_talos-doctor"))
        .args(["watch", &name, "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("talos-doctor starts");
    std::thread::sleep(Duration::from_secs(3));
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 128 + SIGINT, as shells report a command stopped by Ctrl-C; the report still comes.
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(r["outcome"], "running");
    assert!(node(&r, &name)["lines"].as_u64().unwrap_or(0) > 0);
}

/// A relay between talos-doctor and the Docker Engine's socket that a test can cut, to play
/// a daemon that restarts (connections dropped, new ones accepted) or goes away (connections
/// dropped, socket gone).
struct Relay {
    path: std::path::PathBuf,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::os::unix::net::UnixStream>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Relay {
    fn start(name: &str) -> Relay {
        use std::os::unix::net::{UnixListener, UnixStream};
        let upstream = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
            .unwrap_or_else(|| "/var/run/docker.sock".to_owned());
        let path = std::env::temp_dir().join(format!("{name}.sock"));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("relay socket");
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::<UnixStream>::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (c, s) = (conns.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let (Ok(client), Ok(server)) = (client, UnixStream::connect(&upstream)) else {
                    continue;
                };
                let pipe = |mut from: UnixStream, mut to: UnixStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                };
                if let (Ok(c1), Ok(c2), Ok(s1), Ok(s2)) =
                    (client.try_clone(), client.try_clone(), server.try_clone(), server.try_clone())
                {
                    pipe(c1, s1);
                    pipe(s2, c2);
                    let mut held = c.lock().unwrap_or_else(|e| e.into_inner());
                    held.push(client);
                    held.push(server);
                }
            }
        });
        Relay { path, conns, stop }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Drops every open connection (streams end mid-way), as a daemon restart does.
    fn cut(&self) {
        for s in self.conns.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Drops every connection and takes the socket away: the daemon is gone.
    fn close(&self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::fs::remove_file(&self.path);
        self.cut();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that its thread ends; then no socket is left behind.
        let _ = std::os::unix::net::UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
        self.cut();
    }
}

/// Runs talos-doctor like [`td`], and calls `act` once, when the first line of its stderr
/// (a progress line: the watch is reading the stream) arrives: an event, not a timer, so a
/// loaded machine cannot move the act before the first connection.
fn td_on_first_progress(args: &[&str], envs: &[(&str, &str)], act: impl FnOnce() + Send) -> Out {
    use std::io::{BufRead, Read};
    let start = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_talos-doctor"));
    cmd.args(args).env("NO_COLOR", "1").stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("talos-doctor starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (out, err) = std::thread::scope(|s| {
        let out = s.spawn(move || {
            let mut buf = String::new();
            let _ = stdout.read_to_string(&mut buf);
            buf
        });
        let err = s.spawn(move || {
            let mut act = Some(act);
            let mut all = String::new();
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(act) = act.take() {
                    act();
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        while child.try_wait().ok().flatten().is_none() {
            if start.elapsed() > TIMEOUT {
                let _ = child.kill();
                panic!("talos-doctor {args:?} did not finish within {TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (out.join().expect("stdout reader"), err.join().expect("stderr reader"))
    });
    let status = child.wait().expect("wait");
    Out { code: status.code().unwrap_or(-1), stdout: out, stderr: err, took: start.elapsed() }
}

/// `watch --format json` of a new replay container through a [`Relay`], on which `act` is
/// done as soon as the watch shows its first progress line: the container's name and the run.
fn watch_through_relay(what: &str, replay: &[&str], act: fn(&Relay)) -> (String, Out) {
    let name = unique(what);
    let relay = Relay::start(&name);
    let _c = run_replay(&name, replay);
    let out = td_on_first_progress(
        &["watch", &name, "--plain", "--format", "json"],
        &[("DOCKER_HOST", &relay.host())],
        || act(&relay),
    );
    (name, out)
}

#[test]
fn watch_survives_a_daemon_restart_mid_stream() {
    if !engine() {
        return;
    }
    let replay = ["-e", "LOG=fail", "-e", "DELAY=0.05", "-e", "END=exit:1"];
    let (name, out) = watch_through_relay("relaycut", &replay, Relay::cut);
    assert_eq!(out.code, 1, "stderr: {}", out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "failed", "{r:#}");
    assert_eq!(r["findings"][0]["category"], "container_missing_mounts");
    // Re-attached after the cut without reading any line twice or losing one: the failing
    // task's line has the number it has in the log.
    let log = include_str!("../docker/logs/fail.log");
    let want = log
        .lines()
        .position(|l| l.contains("setupSharedFilesystems (1/1): failed"))
        .map(|i| i as u64 + 1);
    assert_eq!(node(&r, &name)["failure"]["line"].as_u64(), want, "{r:#}");
}

#[test]
fn watch_daemon_gone_mid_stream_exits_2_with_partial_report() {
    if !engine() {
        return;
    }
    let replay = ["-e", "LOG=stall", "-e", "DELAY=0.2", "-e", "END=hang"];
    let (name, out) = watch_through_relay("relaygone", &replay, Relay::close);
    assert_eq!(out.code, 2, "stderr: {}", out.stderr);
    // Progress lines, then one line that says what happened.
    let last = out.stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("lost the Docker Engine while watching `{name}`")),
        "{}",
        out.stderr
    );
    assert!(last.contains("the report is partial"), "{}", out.stderr);
    let r = out.json();
    assert!(node(&r, &name)["lines"].as_u64().unwrap_or(0) > 0, "{r:#}");
}

/// Issue #15: lines with a talosctl node prefix belong to the container (in `watch` the
/// container is the node), so the verdict is found and the watch ends.
#[test]
fn watch_ends_on_a_container_whose_lines_carry_a_node_prefix() {
    if !engine() {
        return;
    }
    let name = unique("prefix");
    let _c = run_replay(
        &name,
        &["-e", "PREFIX=192.168.77.151: ", "-e", "LOG=success", "-e", "END=hang"],
    );
    let out = td(&["watch", &name, "--format", "json"], &[]);
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "succeeded", "{r:#}");
    assert_eq!(r["nodes"].as_array().map(Vec::len), Some(1), "{r:#}");
    assert_eq!(node(&r, &name)["boots"], 1);
    assert!(out.took < Duration::from_secs(20), "took {:?}", out.took);
}

/// Issue #15: a container that was created and never started: say what the watch waits
/// for; at `--timeout` that is a stall (never 0), and the report says what was seen.
#[test]
fn watch_created_container_says_what_it_waits_for_and_times_out_as_a_stall() {
    if !engine() {
        return;
    }
    let name = unique("created");
    let _c = container(&["create"], &name, &["-e", "LOG=success"], "v1.8.3");
    let out = td(&["watch", &name, "--timeout", "3s", "--format", "json"], &[]);
    assert_eq!(out.code, 3, "stderr: {}", out.stderr);
    assert!(out.stderr.contains("waiting for `docker start`"), "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "stalled", "{r:#}");
    let reason = node(&r, &name)["stall"]["reason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.contains("never started"), "{r:#}");
    let human = td(&["watch", &name, "--timeout", "2s"], &[]);
    assert_eq!(human.code, 3, "stderr: {}", human.stderr);
    assert!(!human.stdout.contains("nothing to analyze"), "{}", human.stdout);
    assert!(human.stdout.contains("never started"), "{}", human.stdout);
}

/// Issue #15: a container that exits again and again without a line is a failure.
#[test]
fn watch_silent_restart_loop_is_a_failure() {
    if !engine() {
        return;
    }
    let name = unique("silentloop");
    let _c = run_replay(&name, &["--restart", "always", "-e", "LOG=none", "-e", "END=exit:1"]);
    let out = td(&["watch", &name, "--format", "json"], &[]);
    assert!(out.code == 3 || out.code == 1, "code {} stderr: {}", out.code, out.stderr);
    let r = out.json();
    assert_eq!(r["outcome"], "failed", "{r:#}");
    let error = node(&r, &name)["failure"]["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("restart loop") && error.contains("without printing"), "{r:#}");
}

/// Issue #15: a crash loop whose boots die midway concludes without `--timeout`; one
/// already deep in its loop (and in Docker's back-off) is never 0 with `--timeout`.
#[test]
fn watch_crash_loop_concludes_and_is_never_ok() {
    if !engine() {
        return;
    }
    let name = unique("crashloop");
    let _c = run_replay(
        &name,
        &["--restart", "always", "-e", "LOG=crash", "-e", "DELAY=0.005", "-e", "END=exit:1"],
    );
    let out = td(&["watch", &name, "--format", "json"], &[]);
    assert!(out.code == 3 || out.code == 1, "code {} stderr: {}", out.code, out.stderr);
    let r = out.json();
    let n = node(&r, &name);
    // The analyzer may call it first (a reboot loop in the log: stalled), or the watch
    // (restart count: failed); a loop either way.
    let why = match n["outcome"].as_str() {
        Some("failed") => n["failure"]["error"].to_string(),
        Some("stalled") => n["stall"]["reason"].to_string(),
        _ => panic!("{n:#}"),
    };
    assert!(why.contains("loop"), "{n:#}");
    // Deep in its loop now (restart count ≥ 3, Docker's back-off growing): with a short
    // --timeout the watch still says what it is.
    let deep = Instant::now();
    while restart_count(&name) < 4 && deep.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = td(&["watch", &name, "--timeout", "2s"], &[]);
    assert!(out.code == 3 || out.code == 1, "code {} stderr: {}", out.code, out.stderr);
    assert!(!out.stdout.contains("nothing to analyze"), "{}", out.stdout);
}

fn restart_count(name: &str) -> u64 {
    let o = Command::new("docker")
        .args(["inspect", "-f", "{{.RestartCount}}", name])
        .output()
        .expect("docker inspect");
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(0)
}

/// Issue #15: the log's clock jumps a year forward during startEverything (NTP): no
/// "STALLED … 525600 minutes"; the stall is measured in wall time.
#[test]
fn watch_clock_jump_is_not_a_stall_in_log_time() {
    if !engine() {
        return;
    }
    let name = unique("jump");
    let _c = run_replay(&name, &["-e", "LOG=jump", "-e", "DELAY=0.01", "-e", "END=hang"]);
    let out = td(&["watch", &name, "--stall-timeout", "4s", "--format", "json"], &[]);
    assert_eq!(out.code, 3, "stderr: {}", out.stderr);
    let r = out.json();
    let n = node(&r, &name);
    assert_eq!(n["outcome"], "stalled", "{n:#}");
    let reason = n["stall"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("stall timeout 4s") && !reason.contains("525600"), "{n:#}");
    assert!(r["warnings"].to_string().contains("clock jumped"), "{r:#}");
}

/// Issue #15: the Talos docs' "Running Talos as a pod" spec (v1.8-v1.13) and Talos' TinK
/// test (v1.12) as Docker runs them under a kubelet: emptyDir and PVCs are binds, nothing is
/// mounted at `/opt` (the image's directory keeps `/opt/cni/bin`). They boot: exit 0. An
/// empty mount over `/opt` is what breaks.
#[test]
fn inspect_passes_the_published_pod_specs_and_flags_an_empty_opt() {
    if !engine() {
        return;
    }
    let dirs = std::env::temp_dir().join(unique("podvols"));
    let pvcs = [
        "/run",
        "/system",
        "/tmp",
        "/system/state",
        "/var",
        "/etc/cni",
        "/etc/kubernetes",
        "/usr/libexec/kubernetes",
    ];
    let mut binds = Vec::new();
    for p in pvcs {
        let host = dirs.join(p.trim_start_matches('/').replace('/', "-"));
        std::fs::create_dir_all(&host).expect("volume dir");
        binds.push(format!("{}:{p}", host.display()));
    }
    let base = [
        "--read-only",
        "--privileged",
        "--security-opt",
        "seccomp=unconfined",
        "-e",
        "PLATFORM=container",
    ];
    for tag in ["v1.8.3", "v1.12.0", "v1.13.0"] {
        let tagged = Command::new("docker")
            .args(["tag", &format!("{IMAGE}:v1.8.3"), &format!("{IMAGE}:{tag}")])
            .status()
            .expect("docker tag");
        assert!(tagged.success());
        let name = unique("pod");
        let mut args: Vec<&str> = base.to_vec();
        for b in &binds {
            args.extend(["-v", b.as_str()]);
        }
        let _c = container(&["create"], &name, &args, tag);
        let out = td(&["inspect", &name, "--format", "json"], &[]);
        assert_eq!(out.code, 0, "{tag}: {}\n{}", out.stdout, out.stderr);
        let r = out.json();
        let opt = r["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["id"] == "TD-INSPECT-008")
            .unwrap_or_else(|| panic!("{r:#}"));
        assert_eq!(opt["severity"], "info", "{opt:#}");
        assert!(opt["root_cause"].as_str().unwrap_or_default().contains("/opt/cni/bin"));
    }
    // The same with an empty tmpfs over /opt: the CNI plugins are hidden.
    let name = unique("emptyopt");
    let mut args: Vec<&str> = base.to_vec();
    for b in &binds {
        args.extend(["-v", b.as_str()]);
    }
    args.extend(["--tmpfs", "/opt"]);
    let _c = container(&["create"], &name, &args, "v1.8.3");
    let out = td(&["inspect", &name, "--format", "json"], &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("hides the image"), "{}", out.stdout);
    let _ = std::fs::remove_dir_all(&dirs);
}

/// Issue #15: `inspect` in the CI formats: a JUnit case per check (failures = errors), no
/// fake file or line 0 in GitHub annotations, SARIF logical locations (no artifact named
/// `docker inspect …`), a real verdict heading in Markdown; the human report gives one
/// corrected `docker run`, then the findings briefly.
#[test]
fn inspect_in_ci_formats_and_one_corrected_docker_run() {
    if !engine() {
        return;
    }
    let name = unique("inspectci");
    let _c = container(&["create"], &name, &[], "latest");
    let junit = td(&["inspect", &name, "--format", "junit"], &[]);
    assert_eq!(junit.code, 1);
    let head = junit.stdout.lines().nth(1).unwrap_or_default().to_owned();
    let attr = |k: &str| -> u64 {
        let at = head.find(&format!(" {k}=\"")).unwrap_or_else(|| panic!("{k} in {head}"));
        let rest = &head[at + k.len() + 3..];
        rest[..rest.find('"').unwrap_or(0)].parse().unwrap_or(0)
    };
    assert!(attr("tests") >= 10, "{head}");
    assert_eq!(attr("failures"), 5, "{}", junit.stdout);
    assert!(junit.stdout.contains("<testcase name=\"tmpfs /run\""), "{}", junit.stdout);

    let gh = td(&["inspect", &name, "--format", "github"], &[]);
    assert_eq!(gh.code, 1);
    assert!(gh.stdout.starts_with("::error title="), "{}", gh.stdout);
    assert!(!gh.stdout.contains("file=") && !gh.stdout.contains("line=0"), "{}", gh.stdout);
    assert!(!gh.stdout.contains(":0"), "{}", gh.stdout);

    let sarif = td(&["inspect", &name, "--format", "sarif"], &[]);
    assert_eq!(sarif.code, 1);
    assert!(!sarif.stdout.contains("artifactLocation"), "{}", sarif.stdout);
    let v = sarif.json();
    let loc = &v["runs"][0]["results"][0]["locations"][0]["logicalLocations"][0];
    assert_eq!(loc["name"], name.as_str(), "{v:#}");
    let file = std::env::temp_dir().join(format!("{name}.sarif"));
    std::fs::write(&file, &sarif.stdout).expect("write sarif");
    super::ci::validate_sarif(&file);
    let _ = std::fs::remove_file(&file);

    let md = td(&["inspect", &name, "--format", "markdown"], &[]);
    let first = md.stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("## ") && first.contains("will not boot"), "{}", md.stdout);
    assert!(md.stdout.contains("```sh\ndocker rm -f"), "{}", md.stdout);

    let human = td(&["inspect", &name], &[]);
    assert_eq!(human.stdout.matches("docker run -d --name").count(), 1, "{}", human.stdout);
    assert!(!human.stdout.contains("recreate the container"), "{}", human.stdout);
    let json = td(&["inspect", &name, "--format", "json"], &[]);
    let r = json.json();
    assert!(r["checks"].as_array().is_some_and(|c| c.len() >= 10), "{r:#}");
    let run = r["recreate"]["commands"][1].as_str().unwrap_or_default();
    assert!(run.starts_with("docker run -d") && run.contains("--tmpfs /run"), "{run}");
}

/// Runs `talos-doctor ARGS` under `script` (stderr on a pseudo-terminal, stdout to a file):
/// what the terminal got. `None` when there is no `script`.
fn on_a_terminal(args: &[&str], term: &str) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_talos-doctor");
    let report = std::env::temp_dir().join(format!("{}.out", unique("pty")));
    let cmd =
        format!("TERM={term} NO_COLOR=1 '{bin}' {} > '{}'; true", args.join(" "), report.display());
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::null())
        .env_remove("CI")
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&report);
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// Issue #15: the live table only where the terminal takes cursor moves (not `TERM=dumb`,
/// not a pipe), and its last-message column without envelopes.
#[test]
fn watch_live_table_respects_term_dumb_and_shows_bare_messages() {
    if !engine() {
        return;
    }
    let name = unique("live");
    let prefix = "PREFIX=192.168.77.20: user: warning: [2024-11-20T09:14:03.000000000Z]: ";
    let _c = run_replay(&name, &["-e", prefix, "-e", "LOG=success", "-e", "END=hang"]);
    let Some(dumb) = on_a_terminal(&["watch", &name, "--format", "json"], "dumb") else {
        eprintln!("skipped: no `script` to make a pseudo-terminal");
        return;
    };
    assert!(!dumb.contains('\x1b'), "{dumb:?}");
    assert!(dumb.contains(&format!("{name}: boot sequence done")), "{dumb}");
    let live = on_a_terminal(&["watch", &name, "--format", "json"], "xterm").unwrap_or_default();
    assert!(live.contains("\x1b[2K"), "a live table: {live:?}");
    assert!(live.contains("boot sequence: done"), "{live}");
    for envelope in ["user: warning", "[talos]", "192.168.77.20:"] {
        assert!(!live.contains(envelope), "{envelope} in {live}");
    }
    // In a pipe: plain lines, no escape.
    let piped = td(&["watch", &name, "--format", "json"], &[]);
    assert!(!piped.stderr.contains('\x1b'), "{:?}", piped.stderr);
}

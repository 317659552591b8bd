//! The node health model: failure signals that do not come from the sequencer.
//!
//! The sequencer's last line says how far a boot got, not whether the node works: a boot can
//! finish while kubelet restarts forever, and a pasted fragment often holds no sequencer line
//! at all. Talos' own components say when something is broken, each in its own way (reference
//! §5): the service runner (`internal/app/machined/pkg/system/service_runner.go`) moves a
//! service to `Failed` or logs `going to restart forever`; controller-runtime logs
//! `controller failed` on every failed reconcile and `panicked` when a controller panics; Go
//! prints `panic:` / `fatal error:` and the kernel `Kernel panic`, `BUG:` and `Oops`; the
//! time controller logs the size of each clock jump; the config controller enters maintenance
//! mode. Each such line is a [`Signal`]; a later line that shows the component healthy again
//! (a service back in `Running`, maintenance left, config loaded) recovers it. An unrecovered
//! signal makes the node failed or stalled whether or not a rule knows the cause.

/// What kind of trouble a line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SignalKind {
    /// A Go panic or `fatal error:` in a Talos process.
    Panic,
    /// The kernel panicked, oopsed or hit a `BUG:`.
    KernelPanic,
    /// A controller panicked (controller-runtime caught it and restarts the controller).
    ControllerPanic,
    /// The clock was moved by more than any real correction can be.
    ClockJump,
    /// A service entered state `Failed` (terminal: the runner does not retry it).
    ServiceFailed,
    /// A service's run failed and the runner restarts it (`going to restart forever`).
    ServiceRestarting,
    /// A service was stopped and started again outside a stop sequence, and is not running.
    ServiceCycling,
    /// The node waits in maintenance mode for a machine config.
    Maintenance,
    /// The same controller failed the same way on every reconcile.
    ControllerFailing,
    /// The kernel failed reads or writes of a disk, or gave the disk up.
    DiskIo,
    /// The kernel refused to load a module (symbols it needs are missing).
    ModuleLoad,
}

impl SignalKind {
    /// A failure ends the component; a stall keeps it retrying or waiting.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            SignalKind::Panic
                | SignalKind::KernelPanic
                | SignalKind::ControllerPanic
                | SignalKind::ClockJump
                | SignalKind::ServiceFailed
                | SignalKind::DiskIo
                | SignalKind::ModuleLoad
        )
    }

    /// A weak signal (controller retries) decides the outcome only when nothing shows the
    /// node healthy: controllers retry transient errors during every boot.
    pub fn is_weak(self) -> bool {
        matches!(self, SignalKind::ControllerFailing)
    }

    /// The name in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Panic => "panic",
            SignalKind::KernelPanic => "kernel_panic",
            SignalKind::ControllerPanic => "controller_panic",
            SignalKind::ClockJump => "clock_jump",
            SignalKind::ServiceFailed => "service_failed",
            SignalKind::ServiceRestarting => "service_restarting",
            SignalKind::ServiceCycling => "service_cycling",
            SignalKind::Maintenance => "maintenance",
            SignalKind::ControllerFailing => "controller_failing",
            SignalKind::DiskIo => "disk_io",
            SignalKind::ModuleLoad => "module_load",
        }
    }
}

/// One signal on a node, with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// What it is.
    pub kind: SignalKind,
    /// The component: service id, controller name, `kernel`, `machined`, …
    pub component: String,
    /// First and last line that reported it, and how often.
    pub first_line: u64,
    /// Last line that reported it.
    pub last_line: u64,
    /// Lines that reported it.
    pub count: u32,
    /// The message of the first report (shown as evidence; redacted by the report).
    pub text: String,
    /// The line that showed the component healthy again.
    pub recovered_at: Option<u64>,
}

impl Signal {
    /// One sentence for the verdict line.
    pub fn reason(&self) -> String {
        let c = &self.component;
        let times = if self.count > 1 { format!(", {} times", self.count) } else { String::new() };
        match self.kind {
            SignalKind::Panic => {
                format!("a Talos process panicked ({c}) at line {}", self.first_line)
            }
            SignalKind::KernelPanic => {
                format!("the kernel reported a panic, oops or BUG at line {}", self.first_line)
            }
            SignalKind::ControllerPanic if c == "talos" => {
                format!("a controller panicked (line {}{times})", self.first_line)
            }
            SignalKind::ControllerPanic => {
                format!("controller {c} panicked (line {}{times})", self.first_line)
            }
            SignalKind::ClockJump => {
                format!(
                    "the clock was moved by more than any correction can be (line {})",
                    self.first_line
                )
            }
            SignalKind::ServiceFailed => {
                format!(
                    "service `{c}` failed at line {} and is not seen running again",
                    self.first_line
                )
            }
            SignalKind::ServiceRestarting => format!(
                "service `{c}` fails and is restarted (line {}{times}) and is not seen healthy again",
                self.first_line
            ),
            SignalKind::ServiceCycling => format!(
                "service `{c}` was stopped and started again by Talos (line {}{times}) and is not seen running again",
                self.first_line
            ),
            SignalKind::Maintenance => format!(
                "the node entered maintenance mode at line {} and waits for a machine config",
                self.first_line
            ),
            SignalKind::DiskIo => format!(
                "the kernel reports I/O errors on disk `{c}` (line {}{times}): the disk or its controller is failing",
                self.first_line
            ),
            SignalKind::ModuleLoad => format!(
                "the kernel refused to load module `{c}` (line {}{times}): a module it depends on is missing or built for another kernel",
                self.first_line
            ),
            SignalKind::ControllerFailing => {
                let name = c.split_once(": ").map_or(c.as_str(), |(n, _)| n);
                format!(
                    "controller {name} fails the same way on every reconcile (line {}{times})",
                    self.first_line
                )
            }
        }
    }
}

/// At most this many distinct signals are kept per boot; more are only counted, so a log
/// of a million failing components stays within the memory cap.
pub const MAX_SIGNALS: usize = 64;

/// A controller failing the same way this often is failing on every reconcile.
pub const CONTROLLER_REPEATS: u32 = 3;

/// Service states as the runner names them.
fn is_starting_state(s: &str) -> bool {
    matches!(s, "Waiting" | "Preparing" | "Starting" | "Initialized")
}

/// Per-boot health: the signals seen and what each service did last.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Signals in the order first seen.
    pub signals: Vec<Signal>,
    /// Signals beyond [`MAX_SIGNALS`].
    pub dropped: u64,
    /// Services stopped outside a stop sequence and not yet back (name, line).
    stopped: Vec<(String, u64)>,
    /// Positive evidence of health: `boot sequence: done`, `machine is running and ready`.
    pub healthy_at: Option<u64>,
}

impl Health {
    fn note(&mut self, kind: SignalKind, component: &str, line: u64, text: &str) {
        if let Some(s) =
            self.signals.iter_mut().find(|s| s.kind == kind && s.component == component)
        {
            s.last_line = line;
            s.count = s.count.saturating_add(1);
            // Seen failing again after it recovered: the recovery did not last.
            s.recovered_at = None;
            return;
        }
        if self.signals.len() >= MAX_SIGNALS {
            self.dropped += 1;
            return;
        }
        self.signals.push(Signal {
            kind,
            component: component.to_owned(),
            first_line: line,
            last_line: line,
            count: 1,
            text: text.to_owned(),
            recovered_at: None,
        });
    }

    fn recover(&mut self, component: &str, kinds: &[SignalKind], line: u64) {
        for s in self.signals.iter_mut() {
            if s.component == component && kinds.contains(&s.kind) && s.recovered_at.is_none() {
                s.recovered_at = Some(line);
            }
        }
    }

    /// A `service[name](state): text` line. `stopping` says a stop sequence (shutdown,
    /// reboot, upgrade, reset) is running, in which services are meant to stop.
    pub fn on_service(&mut self, line: u64, name: &str, state: &str, text: &str, stopping: bool) {
        const SERVICE: &[SignalKind] =
            &[SignalKind::ServiceFailed, SignalKind::ServiceRestarting, SignalKind::ServiceCycling];
        // Cancellation is the consequence of something else stopping the node (a failed
        // sequence, a shutdown): the cause is elsewhere, not in this service.
        let cancelled = text.contains("context canceled");
        match state {
            "Failed" if !cancelled && !stopping => {
                self.note(SignalKind::ServiceFailed, name, line, text)
            }
            "Running" => {
                self.stopped.retain(|(n, _)| n != name);
                self.recover(name, SERVICE, line);
            }
            "Stopping"
                if !stopping
                    && !self.stopped.iter().any(|(n, _)| n == name)
                    && self.stopped.len() < MAX_SIGNALS =>
            {
                self.stopped.push((name.to_owned(), line));
            }
            s if is_starting_state(s) => {
                if text.contains("going to restart") && !cancelled {
                    self.note(SignalKind::ServiceRestarting, name, line, text);
                } else if let Some(i) = self.stopped.iter().position(|(n, _)| n == name) {
                    // Stopped by Talos and started again: its spec changed, or a dependency
                    // restarted it. Trouble only until it is seen running again.
                    let (_, at) = self.stopped.swap_remove(i);
                    self.note(SignalKind::ServiceCycling, name, at, text);
                }
            }
            _ => {}
        }
        if stopping {
            self.stopped.clear();
        }
    }

    /// The record starting at `line` turned out to end in `context canceled` (on a later
    /// continuation line): a service failure it reported was a cancellation.
    pub fn withdraw(&mut self, line: u64) {
        self.signals.retain(|s| {
            !(s.kind == SignalKind::ServiceFailed && s.first_line == line && s.count == 1)
        });
    }

    /// A line that [`classify`] gave a kind to.
    pub fn on_signal(&mut self, line: u64, kind: SignalKind, component: &str, text: &str) {
        self.note(kind, component, line, text);
    }

    /// A `controller failed` line: `shape` is its error with numbers and ids masked, so a
    /// controller failing the same way on every reconcile is counted as one thing.
    pub fn on_controller_error(&mut self, line: u64, controller: &str, shape: &str, text: &str) {
        self.note(SignalKind::ControllerFailing, &format!("{controller}: {shape}"), line, text);
    }

    /// Maintenance left or a config loaded.
    pub fn on_config_loaded(&mut self, line: u64) {
        self.recover("config", &[SignalKind::Maintenance], line);
    }

    /// Positive evidence that the node is up.
    pub fn on_healthy(&mut self, line: u64) {
        self.healthy_at.get_or_insert(line);
        // A node that finished booting has its config: maintenance is over.
        self.on_config_loaded(line);
    }

    /// The signals that decide the outcome, worst first: unrecovered, failures before
    /// stalls, then by line. Weak signals count only without positive evidence of health.
    pub fn open(&self) -> impl Iterator<Item = &Signal> {
        let healthy = self.healthy_at.is_some();
        let mut v: Vec<&Signal> = self
            .signals
            .iter()
            .filter(|s| s.recovered_at.is_none())
            .filter(|s| !s.kind.is_weak() || (!healthy && s.count >= CONTROLLER_REPEATS))
            .collect();
        v.sort_by_key(|s| (!s.kind.is_failure(), s.first_line));
        v.into_iter()
    }
}

/// What a message text alone says about health (memoised per text with the other text
/// facts; see [`SIGNAL_WORDS`] for the literals that let a line reach this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextSignal {
    /// A signal, with its component when the text names one.
    Trouble(SignalKind, Option<String>),
    /// A config was loaded or maintenance left.
    ConfigLoaded,
    /// Positive evidence that the node is up.
    Healthy,
}

/// Literals of which at least one occurs in every text [`classify`] does not pass over, in
/// ASCII case-insensitive form (the gate's automaton matches them so).
pub const SIGNAL_WORDS: &[&str] = &[
    "panic",
    "fatal error: ",
    "bug: ",
    "oops",
    "general protection fault",
    "adjusting time (jump)",
    "maintenance service",
    "reachable at:",
    "upload configuration using talosctl",
    "config loaded successfully",
    "storing config in memory",
    "running and ready",
    "i/o error",
    "after reset failure",
    "offline device",
    "unknown symbol",
    "disagrees about version of symbol",
];

/// Reads a message text for [`TextSignal`]s. The texts are those of the Talos source and
/// the kernel and Go runtimes (module doc).
pub fn classify(text: &str) -> Option<TextSignal> {
    use SignalKind::*;
    let mut t = text.trim_start();
    // v1.0-v1.4 metal: the loadConfig task logger's prefix stays on the text (no date).
    if let Some(r) = t.strip_prefix("task ") {
        if let Some((_, msg)) = r.split_once("): ") {
            t = msg.trim_start();
        }
    }
    // Controller-runtime catches a controller's panic and logs it inside `controller
    // failed`; the network operator runner logs `operator panicked` (operator_spec.go).
    if let Some(p) = t.find(" panicked") {
        let before = &t[..p];
        if before.ends_with("operator") || before.contains("controller") {
            let name = before
                .rsplit_once("controller \\\"")
                .or_else(|| before.rsplit_once("controller \""))
                .map(|(_, n)| n.trim_end_matches(['"', '\\']).to_owned())
                .filter(|n| !n.is_empty() && !n.contains(' '));
            return Some(TextSignal::Trouble(ControllerPanic, name));
        }
    }
    if t.starts_with("panic: ") || t.starts_with("fatal error: ") {
        return Some(TextSignal::Trouble(Panic, None));
    }
    if t.contains("Kernel panic - not syncing")
        || t.starts_with("BUG: ")
        || t.contains("kernel BUG at ")
        || t.starts_with("Oops: ")
        || t.contains("Internal error: Oops")
        || t.starts_with("general protection fault")
    {
        return Some(TextSignal::Trouble(KernelPanic, Some("kernel".to_owned())));
    }
    // kernel/module/main.c: `%s: Unknown symbol %s (err %d)` and `%s: disagrees about
    // version of symbol %s`, prefixed with the module's name.
    if let Some((module, _)) = t
        .split_once(": Unknown symbol ")
        .or_else(|| t.split_once(": disagrees about version of symbol "))
    {
        let module = module.rsplit(' ').next().unwrap_or(module);
        if !module.is_empty() {
            return Some(TextSignal::Trouble(ModuleLoad, Some(module.to_owned())));
        }
    }
    if let Some(dev) = disk_io_error(t) {
        return Some(TextSignal::Trouble(DiskIo, Some(dev)));
    }
    if let Some(r) = t.strip_prefix("adjusting time (jump) by ") {
        let dur = r.split([' ', ',']).next().unwrap_or("");
        if go_duration_secs(dur).is_some_and(|s| s.abs() > impossible_jump_secs()) {
            return Some(TextSignal::Trouble(ClockJump, Some("time".to_owned())));
        }
        return None;
    }
    if t.starts_with("entering maintenance service")
        || t.starts_with("machine configuration not found; starting maintenance service")
        || t.starts_with("this machine is reachable at:")
        || t.starts_with("upload configuration using talosctl")
    {
        return Some(TextSignal::Trouble(Maintenance, Some("config".to_owned())));
    }
    if t.starts_with("leaving maintenance service")
        || t.starts_with("machine config loaded successfully")
        || t.starts_with("storing config in memory")
    {
        return Some(TextSignal::ConfigLoaded);
    }
    if t.starts_with("machine is running and ready") {
        return Some(TextSignal::Healthy);
    }
    None
}

/// Whether a controller's error is one that controller-runtime's retry is made for: the
/// Kubernetes API or etcd not reachable, not yet authorising this node, or slow (Talos starts
/// them itself, later in the same boot, so `k8s.*` and `etcd.*` controllers fail this way on
/// every healthy control plane until they are up), or a write that lost a race with another
/// writer. The runner retries with backoff (`restarting controller in …`); only the same
/// failure on every reconcile ([`CONTROLLER_REPEATS`]) says the wait does not end.
pub fn is_transient_error(error: &str) -> bool {
    const TRANSIENT: &[&str] = &[
        "connection refused",
        "i/o timeout",
        "context deadline exceeded",
        "deadline exceeded",
        "TLS handshake timeout",
        "connection reset by peer",
        "no route to host",
        "network is unreachable",
        "Authorization error",
        "Unauthorized",
        "an error on the server",
        "the server is currently unable",
        "the server has asked for the client to provide credentials",
        "the object has been modified",
        "etcdserver: request timed out",
        "etcdserver: leader changed",
        "etcdserver: no leader",
        "is not ready",
        "not ready yet",
        "unexpected EOF",
        "use of closed network connection",
        "http2: client connection lost",
        "the server was unable to return a response in the time allotted",
    ];
    let e = error.trim_end();
    e.ends_with(": EOF") || e == "EOF" || TRANSIENT.iter().any(|t| e.contains(t))
}

/// Whether a text reports an operation that failed on an OS error, in Go's own shapes: an
/// `*os.PathError` / `*os.LinkError` (`stat /var/lib/kubelet: no such file or directory`,
/// `rename /tmp/a /b: invalid cross-device link`) or an error chain (`error reading from ACPI
/// channel: …: bad file descriptor`) whose cause is an errno text, or the kernel's module
/// loader refusing a module is a [`SignalKind::ModuleLoad`]. These say that
/// something failed without using the word; lines that use it are found by the word.
pub fn states_os_error(text: &str) -> bool {
    /// Go's errno texts (`syscall.Errno.Error()`, zerrors_linux) for errors that end an
    /// operation rather than ask for a retry.
    const ERRNO: &[&str] = &[
        ": no such file or directory",
        ": permission denied",
        ": operation not permitted",
        ": bad file descriptor",
        ": invalid cross-device link",
        ": device or resource busy",
        ": no space left on device",
        ": read-only file system",
        ": input/output error",
        ": no such device",
        ": file exists",
        ": already exists",
        ": exec format error",
        ": too many open files",
        ": not a directory",
        ": is a directory",
        ": directory not empty",
        ": invalid argument",
        ": operation not supported",
        ": function not implemented",
        ": cannot allocate memory",
        ": structure needs cleaning",
        ": no medium found",
    ];
    /// Operations of `os` and `syscall` whose errors print as `op path: errno`.
    const OPS: &[&str] = &[
        "open ",
        "stat ",
        "lstat ",
        "rename ",
        "mkdir ",
        "remove ",
        "unlink ",
        "chmod ",
        "chown ",
        "symlink ",
        "readlink ",
        "link ",
        "mount ",
        "read ",
        "write ",
        "fork/exec ",
        "exec ",
        "truncate ",
        "statfs ",
        "mknod ",
    ];
    let t = text.trim_start();
    let lower_head: String = t.chars().take(16).collect::<String>().to_ascii_lowercase();
    let shaped = ["error ", "cannot ", "unable to ", "could not ", "couldn't "]
        .iter()
        .chain(OPS)
        .any(|w| lower_head.starts_with(w));
    // talosctl's `error executing bootstrap: rpc error: code = Unavailable …`: the API call
    // the command made failed (grpc status text, google.golang.org/grpc/status).
    shaped && (ERRNO.iter().any(|e| t.contains(e)) || t.contains(": rpc error: code = "))
}

/// The disk a kernel block-layer error names, for disks that hold data: the block layer's
/// `I/O error, dev nvme1n1, sector …` (`blk_print_req_error`; `print_req_error: I/O error,
/// dev sda` before 5.x), `Buffer I/O error on dev sda1`, the NVMe driver giving a controller
/// up (`nvme nvme1: Disabling device after reset failure`) and SCSI's `rejecting I/O to
/// offline device`. Optical drives, floppies, loop and RAM devices are left out: VMs probe
/// empty ones on every boot and they fail harmlessly.
fn disk_io_error(t: &str) -> Option<String> {
    let dev = if let Some(p) = t.find("I/O error, dev ").or_else(|| t.find("I/O error on dev ")) {
        let r = &t[p..];
        let r = &r[r.find("dev ").map_or(0, |i| i + 4)..];
        r.split([',', ' ', ':']).next().unwrap_or("")
    } else if t.contains("Disabling device after reset failure") {
        // `nvme nvme1: Disabling …`: the driver's device name before the colon.
        t.split(':').next().unwrap_or("").rsplit(' ').next().unwrap_or("")
    } else if t.contains("rejecting I/O to offline device") {
        // `sd 0:0:0:0: rejecting I/O …`
        t.split(": rejecting").next().unwrap_or("")
    } else {
        return None;
    };
    let throwaway = ["sr", "fd", "loop", "ram", "zram"];
    (!dev.is_empty() && !throwaway.iter().any(|p| dev.starts_with(p))).then(|| dev.to_owned())
}

/// No clock correction can move time by more than it has run since 1970 (plus a margin for
/// a clock set ahead): a larger jump is a misread timestamp, not a correction.
fn impossible_jump_secs() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1.8e9, |d| d.as_secs_f64());
    now + 2.0 * 365.25 * 86400.0
}

/// Go's `time.Duration.String()`: `988553h9m32.333595896s`, `-1m2s`, `3.7µs`, `12ms`.
pub fn go_duration_secs(s: &str) -> Option<f64> {
    let (neg, mut r) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if r.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !r.is_empty() {
        let n = r.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(r.len());
        let v: f64 = r[..n].parse().ok()?;
        r = &r[n..];
        let (unit, len) = if r.starts_with("ns") {
            (1e-9, 2)
        } else if r.starts_with("µs") {
            (1e-6, "µs".len())
        } else if r.starts_with("us") {
            (1e-6, 2)
        } else if r.starts_with("ms") {
            (1e-3, 2)
        } else if r.starts_with('s') {
            (1.0, 1)
        } else if r.starts_with('m') {
            (60.0, 1)
        } else if r.starts_with('h') {
            (3600.0, 1)
        } else {
            return None;
        };
        total += v * unit;
        r = &r[len..];
    }
    Some(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use SignalKind::*;

    #[test]
    fn durations() {
        assert_eq!(go_duration_secs("1m2.5s"), Some(62.5));
        assert_eq!(go_duration_secs("-2h"), Some(-7200.0));
        assert_eq!(go_duration_secs("3.767µs").map(|s| (s * 1e9).round()), Some(3767.0));
        assert_eq!(
            go_duration_secs("988553h9m32.333595896s").map(f64::round),
            Some(3_558_791_372.0)
        );
        assert_eq!(go_duration_secs("x"), None);
        assert_eq!(go_duration_secs(""), None);
    }

    #[test]
    fn classify_table() {
        let t = |k, c: Option<&str>| Some(TextSignal::Trouble(k, c.map(str::to_owned)));
        let cases: &[(&str, Option<TextSignal>)] = &[
            (
                "panic: runtime error: invalid memory address or nil pointer dereference",
                t(Panic, None),
            ),
            ("fatal error: concurrent map writes", t(Panic, None)),
            ("panic=0 kernel flag found, sleeping forever", None),
            (
                r#"controller failed {"component": "controller-runtime", "controller": "k8s.KubeletServiceController", "error": "controller \"k8s.KubeletServiceController\" panicked: runtime error"}"#,
                t(ControllerPanic, Some("k8s.KubeletServiceController")),
            ),
            (
                r#"operator panicked {"component": "controller-runtime", "controller": "network.OperatorSpecController"}"#,
                t(ControllerPanic, None),
            ),
            (
                "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100",
                t(KernelPanic, Some("kernel")),
            ),
            (
                "BUG: kernel NULL pointer dereference, address: 0000000000000008",
                t(KernelPanic, Some("kernel")),
            ),
            (
                "adjusting time (jump) by 988553h9m32.333595896s via 10.0.0.1, state TIME_OK, status STA_NANO",
                t(ClockJump, Some("time")),
            ),
            // A node without an RTC starts in 1970: a jump of decades to now is a correction.
            ("adjusting time (jump) by 482000h1m2s via 10.0.0.1, state TIME_OK", None),
            ("adjusting time (slew) by 1.2ms via 10.0.0.1", None),
            (
                r#"entering maintenance service {"component": "controller-runtime"}"#,
                t(Maintenance, Some("config")),
            ),
            ("this machine is reachable at:", t(Maintenance, Some("config"))),
            ("leaving maintenance service", Some(TextSignal::ConfigLoaded)),
            (
                r#"machine is running and ready {"component": "controller-runtime"}"#,
                Some(TextSignal::Healthy),
            ),
            ("phase env (4/10): 2 tasks(s)", None),
            (
                "I/O error, dev nvme1n1, sector 604840256 op 0x1:(WRITE) flags 0x100000",
                t(DiskIo, Some("nvme1n1")),
            ),
            ("print_req_error: I/O error, dev sda, sector 2048", t(DiskIo, Some("sda"))),
            ("Buffer I/O error on dev vda3, logical block 0", t(DiskIo, Some("vda3"))),
            ("nvme nvme1: Disabling device after reset failure: -19", t(DiskIo, Some("nvme1"))),
            ("sd 2:0:0:0: rejecting I/O to offline device", t(DiskIo, Some("sd 2:0:0:0"))),
            // Empty virtual drives fail their probe on every VM boot.
            ("I/O error, dev fd0, sector 0", None),
            (
                "snd_usb_audio: Unknown symbol media_devnode_remove (err -2)",
                t(ModuleLoad, Some("snd_usb_audio")),
            ),
            (
                "nvidia: disagrees about version of symbol module_layout",
                t(ModuleLoad, Some("nvidia")),
            ),
            ("I/O error, dev sr0, sector 0 op 0x0:(READ)", None),
            ("blk_update_request: I/O error, dev loop3, sector 12", None),
        ];
        for (text, want) in cases {
            assert_eq!(&classify(text), want, "{text}");
        }
    }

    #[test]
    fn every_classified_text_holds_a_signal_word() {
        for text in [
            "panic: x",
            "fatal error: x",
            "BUG: x",
            "Oops: x",
            "Internal error: Oops: 5 [#1]",
            "general protection fault, probably",
            "controller \"a\" panicked",
            "entering maintenance service",
            "machine configuration not found; starting maintenance service",
            "this machine is reachable at:",
            "upload configuration using talosctl:",
            "leaving maintenance service",
            "machine config loaded successfully",
            "storing config in memory",
            "machine is running and ready",
            "adjusting time (jump) by 988553h via x",
            "I/O error, dev sda, sector 1",
            "Buffer I/O error on dev sda1, logical block 0",
            "nvme nvme0: Disabling device after reset failure: -19",
            "sd 0:0:0:0: rejecting I/O to offline device",
            "mc: Unknown symbol x (err -2)",
            "zfs: disagrees about version of symbol y",
        ] {
            let lower = text.to_ascii_lowercase();
            assert!(classify(text).is_some() || text.contains("Oops: 5"), "{text}");
            assert!(SIGNAL_WORDS.iter().any(|w| lower.contains(w)), "{text}");
        }
    }

    #[test]
    fn service_lifecycle() {
        let mut h = Health::default();
        h.on_service(
            1,
            "kubelet",
            "Waiting",
            "Error running Containerd(kubelet), going to restart forever: x",
            false,
        );
        assert_eq!(h.open().count(), 1);
        h.on_service(2, "kubelet", "Running", "Health check successful", false);
        assert_eq!(h.open().count(), 0);
        // Stopped by Talos and started again, then not seen running: a cycle.
        h.on_service(3, "kubelet", "Stopping", "Sending SIGTERM to task kubelet", false);
        h.on_service(4, "kubelet", "Finished", "Service finished successfully", false);
        h.on_service(5, "kubelet", "Waiting", "Waiting for service \"cri\" to be \"up\"", false);
        let open: Vec<_> = h.open().map(|s| (s.kind, s.first_line)).collect();
        assert_eq!(open, vec![(ServiceCycling, 3)]);
        // Stops in a shutdown are meant.
        let mut h = Health::default();
        h.on_service(1, "etcd", "Stopping", "Sending SIGTERM", true);
        h.on_service(2, "etcd", "Failed", "Failed to run: boom", true);
        h.on_service(3, "apid", "Failed", "Condition failed: context canceled", false);
        assert_eq!(h.open().count(), 0);
        h.on_service(4, "apid", "Failed", "Failed to create runner: timeout", false);
        assert_eq!(h.open().next().map(|s| s.kind), Some(ServiceFailed));
    }

    #[test]
    fn failures_stated_without_the_word() {
        for (t, want) in [
            ("stat /var/lib/kubelet: no such file or directory", true),
            ("rename /tmp/vmlinuz /boot/vmlinuz: invalid cross-device link", true),
            (
                "error reading from ACPI channel: netlink receive: recvmsg: bad file descriptor",
                true,
            ),
            ("error validating installer image \"x\": snapshot \"validate\": already exists", true),
            (
                "error executing bootstrap: rpc error: code = Unavailable desc = connection error",
                true,
            ),
            // Prose that merely mentions an errno, and a read that ended normally.
            ("the file exists: nothing to do", false),
            ("error reading from kmsg: read /dev/kmsg: file already closed", false),
            ("rpc error: code = Unknown desc = close /dev/kmsg: file already closed", false),
            ("[talos] service[etcd](Running): Health check successful", false),
        ] {
            assert_eq!(states_os_error(t), want, "{t}");
        }
    }

    #[test]
    fn transient_controller_errors() {
        for (e, want) in [
            (
                "Get \"https://127.0.0.1:7445/api/v1/nodes\": dial tcp 127.0.0.1:7445: connect: connection refused",
                true,
            ),
            (
                "an error on the server (\"Authorization error (user=apiserver-kubelet-client)\") has prevented the request from succeeding",
                true,
            ),
            ("etcdserver: request timed out", true),
            ("error getting kubernetes endpoints: Get \"https://10.0.0.1:6443\": EOF", true),
            ("failed to load config via platform nocloud: expected a mapping node", false),
            ("error creating wireguard link: operation not supported", false),
            ("failed to lock PCR 11, as it is in the wrong state", false),
        ] {
            assert_eq!(is_transient_error(e), want, "{e}");
        }
    }

    #[test]
    fn a_cancelled_record_withdraws_its_service_failure() {
        let mut h = Health::default();
        h.on_service(6, "etcd", "Failed", "Failed to run pre stage: 1 error(s) occurred:", false);
        assert_eq!(h.open().count(), 1);
        h.withdraw(6);
        assert_eq!(h.open().count(), 0);
    }

    #[test]
    fn weak_signals_need_repeats_and_no_health() {
        let mut h = Health::default();
        for l in 1..=3 {
            h.on_controller_error(
                l,
                "network.LinkSpecController",
                "error <X>",
                "controller failed",
            );
        }
        assert_eq!(h.open().count(), 1);
        h.on_healthy(9);
        assert_eq!(h.open().count(), 0);
    }
}

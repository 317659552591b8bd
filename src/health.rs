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
    /// The kernel hit a `WARN()`: a condition its code says never happens (a kernel or driver
    /// bug, firmware it cannot use), with a stack dump; the kernel goes on.
    KernelWarning,
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
    /// The boot firmware or bootloader took a CPU exception before Talos' kernel ran (U-Boot's
    /// `"Synchronous Abort" handler, esr …`, EDK2's `!!!! X64 Exception Type - …`): it resets
    /// or hangs, so Talos never starts.
    BootloaderCrash,
    /// Talos stopped the boot on purpose and waits for the operator (`haltIfInstalled`:
    /// installed to disk but booted from other media with `talos.halt_if_installed`).
    Halted,
}

impl SignalKind {
    /// A failure ends the component; a stall keeps it retrying or waiting.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            SignalKind::Panic
                | SignalKind::KernelPanic
                | SignalKind::BootloaderCrash
                | SignalKind::KernelWarning
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
        matches!(self, SignalKind::ControllerFailing | SignalKind::KernelWarning)
    }

    /// Reports of a weak signal that decide, when nothing shows the node healthy: a
    /// controller retries every error a few times on every boot, so only its repetition
    /// says it fails; a kernel warning is a bug report each time.
    fn decides_after(self) -> u32 {
        match self {
            SignalKind::ControllerFailing => CONTROLLER_REPEATS,
            _ => 1,
        }
    }

    /// The name in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Panic => "panic",
            SignalKind::KernelPanic => "kernel_panic",
            SignalKind::KernelWarning => "kernel_warning",
            SignalKind::ControllerPanic => "controller_panic",
            SignalKind::ClockJump => "clock_jump",
            SignalKind::ServiceFailed => "service_failed",
            SignalKind::ServiceRestarting => "service_restarting",
            SignalKind::ServiceCycling => "service_cycling",
            SignalKind::Maintenance => "maintenance",
            SignalKind::ControllerFailing => "controller_failing",
            SignalKind::DiskIo => "disk_io",
            SignalKind::ModuleLoad => "module_load",
            SignalKind::Halted => "halted",
            SignalKind::BootloaderCrash => "bootloader_crash",
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
            SignalKind::BootloaderCrash => format!(
                "the bootloader or firmware crashed (a CPU exception) at line {} before Talos started",
                self.first_line
            ),
            SignalKind::KernelWarning => format!(
                "the kernel hit a warning (a kernel or driver bug, with a stack dump) at line {}{times} and nothing shows the node healthy",
                self.first_line
            ),
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
            SignalKind::Halted => format!(
                "Talos halted the boot on purpose at line {} and waits for the operator (it booted from other media than the disk it is installed to)",
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
            // Cheapest test first: this runs for every `Running` service line.
            if s.recovered_at.is_none() && kinds.contains(&s.kind) && s.component == component {
                s.recovered_at = Some(line);
            }
        }
    }

    /// A `service[name](state): text` line. `stopping` says a stop sequence (shutdown,
    /// reboot, upgrade, reset) is running, in which services are meant to stop; it is asked
    /// only for a failure, a stop, or a list of stopped services to clear, not for the health
    /// checks that most service lines are.
    pub fn on_service(
        &mut self,
        line: u64,
        name: &str,
        state: &str,
        text: &str,
        stopping: impl Fn() -> bool,
    ) {
        const SERVICE: &[SignalKind] =
            &[SignalKind::ServiceFailed, SignalKind::ServiceRestarting, SignalKind::ServiceCycling];
        // Cancellation is the consequence of something else stopping the node (a failed
        // sequence, a shutdown): the cause is elsewhere, not in this service.
        // Built once: `str::contains` builds a searcher per call, and this runs per service line.
        static CANCELED: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new("context canceled"));
        // Only a failure and a start read it: not worked out for the health checks.
        let cancelled = || crate::parse::contains(&CANCELED, text.as_bytes());
        match state {
            "Failed" if !stopping() && !cancelled() => {
                self.note(SignalKind::ServiceFailed, name, line, text)
            }
            "Running" => {
                self.stopped.retain(|(n, _)| n != name);
                self.recover(name, SERVICE, line);
            }
            "Stopping"
                if !stopping()
                    && !self.stopped.iter().any(|(n, _)| n == name)
                    && self.stopped.len() < MAX_SIGNALS =>
            {
                self.stopped.push((name.to_owned(), line));
            }
            s if is_starting_state(s) => {
                if text.contains("going to restart") && !cancelled() {
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
        if !self.stopped.is_empty() && stopping() {
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
            .filter(|s| !s.kind.is_weak() || (!healthy && s.count >= s.kind.decides_after()))
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
    "\" handler",
    "exception type - ",
    " +0x",
    "fatal error: ",
    "bug: ",
    "oops",
    "general protection fault",
    "warning: cpu: ",
    "adjusting time (jump)",
    "maintenance service",
    "reachable at:",
    "upload configuration using talosctl",
    "apply configuration using talosctl",
    "node fingerprint check",
    "--file <config.yaml>",
    "--mode=interactive",
    "already installed to disk but booted from another media",
    "config loaded successfully",
    "storing config in memory",
    "running and ready",
    "i/o error",
    "after reset failure",
    "controller is down; will reset",
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
    // The same panic pasted from after the controller's name: the rest of `controller %q
    // panicked: %s` (controller-runtime's is the only Talos format that starts the value so).
    if t.starts_with("panicked: ") {
        return Some(TextSignal::Trouble(ControllerPanic, None));
    }
    if t.starts_with("panic: ") || t.starts_with("fatal error: ") || is_traceback_position(t) {
        return Some(TextSignal::Trouble(Panic, None));
    }
    // U-Boot's exception vectors (arch/arm/lib/interrupts_64.c: `"%s" handler, esr 0x%08lx`
    // for Synchronous Abort, IRQ, FIQ and Error (SError); `Bad mode in "%s" handler detected`)
    // and EDK2's CpuExceptionHandlerLib (`!!!! X64 Exception Type - %02x(%a)  CPU Apic ID - …`,
    // `!!!! IA32 Exception Type`): the firmware took an exception it cannot handle.
    if (t.starts_with('"') && t.contains("\" handler, esr 0x"))
        || t.starts_with("Bad mode in \"")
        || t.starts_with("!!!! X64 Exception Type - ")
        || t.starts_with("!!!! IA32 Exception Type - ")
    {
        return Some(TextSignal::Trouble(BootloaderCrash, Some("bootloader".to_owned())));
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
    // kernel/panic.c __warn(): `WARNING: CPU: %d PID: %d at %pS` (older: `at %s:%d %pS`).
    if t.starts_with("WARNING: CPU: ") && t.contains(" PID: ") && t.contains(" at ") {
        return Some(TextSignal::Trouble(KernelWarning, Some("kernel".to_owned())));
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
        // The rest of the same banner (maintenance_service.go, before v1.6
        // internal/app/maintenance/main.go): the commands it suggests, with their
        // placeholders, which no one types as such.
        || t.starts_with("or apply configuration using talosctl")
        || t.starts_with("optionally with node fingerprint check")
        || (t.starts_with("talosctl apply-config --insecure --nodes ")
            && (t.ends_with("--file <config.yaml>")
                || t.ends_with("--mode=interactive")
                || t.contains("--cert-fingerprint '")))
    {
        return Some(TextSignal::Trouble(Maintenance, Some("config".to_owned())));
    }
    if t.starts_with("leaving maintenance service")
        || t.starts_with("machine config loaded successfully")
        || t.starts_with("storing config in memory")
    {
        return Some(TextSignal::ConfigLoaded);
    }
    // v1alpha1_sequencer_tasks.go `haltIfInstalled`: the task prints this and loops until
    // the node is rebooted; the boot goes no further.
    if t.starts_with("Talos is already installed to disk but booted from another media") {
        return Some(TextSignal::Trouble(Halted, Some("boot".to_owned())));
    }
    if t.starts_with("machine is running and ready") {
        return Some(TextSignal::Healthy);
    }
    None
}

/// A position line of a Go traceback (`/src/internal/app/machined/main.go:125 +0x270`,
/// runtime/traceback.go: the file, the line and the pc offset): Go prints tracebacks when a
/// process dies of a panic or fatal error, so a paste that keeps only the stack (without its
/// `panic:` head) still shows a crash.
fn is_traceback_position(t: &str) -> bool {
    let Some((pos, off)) = t.trim_end().rsplit_once(" +0x") else { return false };
    let Some((file, line)) = pos.rsplit_once(':') else { return false };
    file.ends_with(".go")
        && !file.contains(' ')
        && !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && !off.is_empty()
        && off.bytes().all(|b| b.is_ascii_hexdigit())
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
        // gRPC's own definition of `Unavailable`: "most likely a transient condition, which
        // can be corrected by retrying" (grpc codes.go).
        "code = Unavailable",
    ];
    // A JSON-escaped quote may end the error as a line shows it (`… preface: EOF\"`).
    let e = error.trim_end().trim_end_matches(['"', '\\']);
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
        // github.com/pkg/xattr's `Error`: `xattr.LSet /var/mnt/x security.selinux: errno`.
        "xattr.",
    ];
    let t = text.trim_start();
    // cobra's `Error: <err>`, what a Talos command (the installer, talosctl, machined's
    // subcommands) prints when it exits on an error.
    if t.starts_with("Error: ") && t.len() > 12 {
        return true;
    }
    // grpc-go's errors begin with its name (`grpc: received message larger than max`,
    // `grpc: the client connection is closing`); its log lines carry a `[core]` tag first.
    if t.starts_with("grpc: ") && t.len() > 12 {
        return true;
    }
    let lower_head: String = t.chars().take(16).collect::<String>().to_ascii_lowercase();
    let shaped = ["error ", "cannot ", "unable to ", "could not ", "couldn't "]
        .iter()
        .chain(OPS)
        .any(|w| lower_head.starts_with(w));
    // talosctl's `error executing bootstrap: rpc error: code = Unavailable …`: the API call
    // the command made failed (grpc status text, google.golang.org/grpc/status).
    // glibc's loader names the program first (`/usr/bin/x: error while loading shared
    // libraries: …`).
    if !shaped && !t.contains(": error while loading shared libraries: ") {
        return false;
    }
    if ERRNO.iter().any(|e| t.contains(e)) || t.contains(": rpc error: code = ") {
        return true;
    }
    // C's strerror texts are Go's, capitalised (`Error loading shared library libcrypto.so.3:
    // No such file or directory`, musl's loader; glibc's `error while loading shared
    // libraries: …: cannot open shared object file: No such file or directory`): a program
    // of an extension that cannot start. Rare enough to lower-case the line.
    let lower = t.to_ascii_lowercase();
    ERRNO.iter().any(|e| lower.contains(e))
}

/// A gRPC status as the whole line is how talosctl reports an API call that failed
/// (`rpc error: code = Unimplemented desc = unknown service …`, grpc/status `Error()`). The
/// same status under a node (`* 10.5.0.2: rpc error: …`, the caller checks) is an item of
/// talosctl's multi-error, which its own head line judges (a check that is retried, a call
/// refused on purpose). A call cancelled by its caller, or a stream whose file was closed
/// under it (`talosctl dmesg` ending: os.ErrClosed), is no failure.
pub fn states_grpc_failure(text: &str) -> bool {
    let t = text.trim_start();
    // talosctl's action tracker (`upgrade`, `reboot`, `shutdown` with `--wait`) reports each
    // node's update as `"<node>": <message>` (action/tracker.go `%q: %v`), in a terminal
    // under a box rule `│ `; a status there is that node's action failing.
    let t = t.strip_prefix("│ ").unwrap_or(t);
    let t = match t.strip_prefix('"').and_then(|r| r.split_once("\": ")) {
        Some((node, rest)) if !node.contains(' ') => rest,
        _ => t,
    };
    t.strip_prefix("rpc error: code = ").is_some_and(|code| {
        !(code.starts_with("Canceled")
            || code.starts_with("OK ")
            || code.ends_with("file already closed"))
    })
}

/// The last line of a Go command that exits on an error, in the shapes that need no error
/// word to say so: talosctl prints the bare error (`cmd/talosctl/cmd/root.go` `Execute`:
/// `fmt.Fprintln(os.Stderr, err.Error())`), kubectl-style tools and talosctl's provisioners
/// `error: <cause>`; an error of Go's crypto packages begins with the package name
/// (`x509: certificate is valid for a, not b`, `tls: failed to verify certificate`); a wait
/// that ran out of time ends with the context's error alone (`context deadline exceeded`,
/// after talosctl's `waiting for …` retries). Go error texts begin in lower case, which tells
/// `error: no such host` from a sentence that merely starts with the word.
pub fn states_cli_error(text: &str) -> bool {
    let t = text.trim();
    let lower_next = |r: &str| r.as_bytes().first().is_some_and(u8::is_ascii_lowercase);
    if let Some(r) = t.strip_prefix("error: ") {
        return lower_next(r) && r.len() > 8;
    }
    // grpc-go's default logger (grpclog loggerv2) labels its error records `ERROR: `, which
    // talosctl lets through to stderr (`ERROR: [transport] Client received GoAway …`).
    if let Some(r) = t.strip_prefix("ERROR: ").or_else(|| t.strip_prefix("FATAL: ")) {
        return r.len() > 8;
    }
    t.starts_with("x509: ") || t.starts_with("tls: ") || t == "context deadline exceeded"
}

/// cobra's `Error: <err>` on a console line with a kernel stamp: the installer and other
/// Talos commands run at boot write to the console, so their exit error reaches dmesg with
/// the kernel's stamp. The kernel's own `Error: Driver 'pcspkr' is already registered`
/// begins in upper case; a Go error in lower case.
pub fn states_cobra_error(text: &str) -> bool {
    text.trim_start()
        .strip_prefix("Error: ")
        .is_some_and(|r| r.len() > 8 && r.as_bytes()[0].is_ascii_lowercase())
}

/// The disk a kernel block-layer error names, for disks that hold data: the block layer's
/// `I/O error, dev nvme1n1, sector …` (`blk_print_req_error`; `print_req_error: I/O error,
/// dev sda` before 5.x), `Buffer I/O error on dev sda1`, the NVMe driver giving a controller
/// up (`nvme nvme1: Disabling device after reset failure`) or reset after a fatal status
/// (`nvme nvme1: controller is down; will reset: CSTS=0x3`) and SCSI's `rejecting I/O to
/// offline device`. Optical drives, floppies, loop and RAM devices are left out: VMs probe
/// empty ones on every boot and they fail harmlessly.
fn disk_io_error(t: &str) -> Option<String> {
    let dev = if let Some(p) = t.find("I/O error, dev ").or_else(|| t.find("I/O error on dev ")) {
        let r = &t[p..];
        let r = &r[r.find("dev ").map_or(0, |i| i + 4)..];
        r.split([',', ' ', ':']).next().unwrap_or("")
    } else if t.contains("Disabling device after reset failure")
        // The controller reported a fatal status and the driver resets it (drivers/nvme/host/
        // pci.c `nvme_warn_reset`: `controller is down; will reset: CSTS=%#x, PCI_STATUS=%#x`).
        || t.contains("controller is down; will reset: CSTS=")
    {
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
mod tests;

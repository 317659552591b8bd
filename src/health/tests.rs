use super::*;
use SignalKind::*;

#[test]
fn durations() {
    assert_eq!(go_duration_secs("1m2.5s"), Some(62.5));
    assert_eq!(go_duration_secs("-2h"), Some(-7200.0));
    assert_eq!(go_duration_secs("3.767µs").map(|s| (s * 1e9).round()), Some(3767.0));
    assert_eq!(go_duration_secs("988553h9m32.333595896s").map(f64::round), Some(3_558_791_372.0));
    assert_eq!(go_duration_secs("x"), None);
    assert_eq!(go_duration_secs(""), None);
}

#[test]
fn classify_table() {
    let t = |k, c: Option<&str>| Some(TextSignal::Trouble(k, c.map(str::to_owned)));
    let cases: &[(&str, Option<TextSignal>)] = &[
        ("panic: runtime error: invalid memory address or nil pointer dereference", t(Panic, None)),
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
        ("\"Error\" handler, esr 0xbf000002", t(BootloaderCrash, Some("bootloader"))),
        ("\"Synchronous Abort\" handler, esr 0x96000004", t(BootloaderCrash, Some("bootloader"))),
        ("Bad mode in \"Error\" handler detected", t(BootloaderCrash, Some("bootloader"))),
        (
            "!!!! X64 Exception Type - 0D(#GP - General Protection)  CPU Apic ID - 00000000 !!!!",
            t(BootloaderCrash, Some("bootloader")),
        ),
        ("the \"Error\" handler, esr is fine", None),
        (
            "I/O error, dev nvme1n1, sector 604840256 op 0x1:(WRITE) flags 0x100000",
            t(DiskIo, Some("nvme1n1")),
        ),
        ("print_req_error: I/O error, dev sda, sector 2048", t(DiskIo, Some("sda"))),
        ("Buffer I/O error on dev vda3, logical block 0", t(DiskIo, Some("vda3"))),
        ("nvme nvme1: Disabling device after reset failure: -19", t(DiskIo, Some("nvme1"))),
        (
            "nvme nvme1: controller is down; will reset: CSTS=0x3, PCI_STATUS=0x11",
            t(DiskIo, Some("nvme1")),
        ),
        ("panicked: runtime error: slice bounds out of range", t(ControllerPanic, None)),
        ("sd 2:0:0:0: rejecting I/O to offline device", t(DiskIo, Some("sd 2:0:0:0"))),
        // Empty virtual drives fail their probe on every VM boot.
        ("I/O error, dev fd0, sector 0", None),
        (
            "snd_usb_audio: Unknown symbol media_devnode_remove (err -2)",
            t(ModuleLoad, Some("snd_usb_audio")),
        ),
        ("nvidia: disagrees about version of symbol module_layout", t(ModuleLoad, Some("nvidia"))),
        (
            "WARNING: CPU: 61 PID: 27020 at lib/string_helpers.c:1036 __fortify_report+0x45/0x60",
            t(KernelWarning, Some("kernel")),
        ),
        (
            "WARNING: CPU: 0 PID: 1 at drivers/gpu/drm/amd/amdgpu/amdgpu_irq.c:656",
            t(KernelWarning, Some("kernel")),
        ),
        ("WARNING: cpu frequency scaling is disabled", None),
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
        || false,
    );
    assert_eq!(h.open().count(), 1);
    h.on_service(2, "kubelet", "Running", "Health check successful", || false);
    assert_eq!(h.open().count(), 0);
    // Stopped by Talos and started again, then not seen running: a cycle.
    h.on_service(3, "kubelet", "Stopping", "Sending SIGTERM to task kubelet", || false);
    h.on_service(4, "kubelet", "Finished", "Service finished successfully", || false);
    h.on_service(5, "kubelet", "Waiting", "Waiting for service \"cri\" to be \"up\"", || false);
    let open: Vec<_> = h.open().map(|s| (s.kind, s.first_line)).collect();
    assert_eq!(open, vec![(ServiceCycling, 3)]);
    // Stops in a shutdown are meant.
    let mut h = Health::default();
    h.on_service(1, "etcd", "Stopping", "Sending SIGTERM", || true);
    h.on_service(2, "etcd", "Failed", "Failed to run: boom", || true);
    h.on_service(3, "apid", "Failed", "Condition failed: context canceled", || false);
    assert_eq!(h.open().count(), 0);
    h.on_service(4, "apid", "Failed", "Failed to create runner: timeout", || false);
    assert_eq!(h.open().next().map(|s| s.kind), Some(ServiceFailed));
}

#[test]
fn grpc_failures_on_a_line_of_their_own() {
    for (t, want) in [
        ("rpc error: code = Unimplemented desc = unknown service resource.ResourceService", true),
        ("rpc error: code = Unavailable desc = connection error: desc = \"transport: x\"", true),
        ("rpc error: code = Canceled desc = context canceled", false),
        ("rpc error: code = Unknown desc = close /dev/kmsg: file already closed", false),
        (
            "\t* 10.5.0.2: rpc error: code = Unknown desc = method is not supported in container mode",
            false,
        ),
        ("error executing bootstrap: rpc error: code = Unavailable desc = x", false),
        // talosctl's action tracker: one node's update, also under the terminal's box rule.
        ("\"10.0.64.1\": rpc error: code = DeadlineExceeded desc = error validating etcd", true),
        ("│ \"10.0.64.1\": rpc error: code = Unavailable desc = connection error", true),
        ("\"10.0.64.1\": waiting for actor ID", false),
        ("\"10.0.64.1\": rpc error: code = Canceled desc = context canceled", false),
        ("\"a b\": rpc error: code = Unknown desc = x", false),
    ] {
        assert_eq!(states_grpc_failure(t), want, "{t}");
    }
}

#[test]
fn failures_stated_without_the_word() {
    for (t, want) in [
        ("stat /var/lib/kubelet: no such file or directory", true),
        ("rename /tmp/vmlinuz /boot/vmlinuz: invalid cross-device link", true),
        ("error reading from ACPI channel: netlink receive: recvmsg: bad file descriptor", true),
        ("error validating installer image \"x\": snapshot \"validate\": already exists", true),
        ("error executing bootstrap: rpc error: code = Unavailable desc = connection error", true),
        ("xattr.LSet /var/mnt/data security.selinux: operation not permitted", true),
        ("Error: error validating extension \"x\": path \"/usr/include\" is not allowed", true),
        ("Error: ", false),
        ("grpc: received message larger than max (9234542 vs. 4194304)", true),
        // C's loaders, with strerror's capitalised texts: a program that cannot start.
        (
            "Error loading shared library libcrypto.so.3: No such file or directory (needed by /usr/local/sbin/iscsid)",
            true,
        ),
        (
            "/usr/local/bin/x: error while loading shared libraries: libz.so.1: cannot open shared object file: No such file or directory",
            true,
        ),
        (
            "error while loading shared libraries: libz.so.1: cannot open shared object file: No such file or directory",
            true,
        ),
        ("Error loading shared library: see the FAQ for details", false),
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
    h.on_service(6, "etcd", "Failed", "Failed to run pre stage: 1 error(s) occurred:", || false);
    assert_eq!(h.open().count(), 1);
    h.withdraw(6);
    assert_eq!(h.open().count(), 0);
}

#[test]
fn weak_signals_need_repeats_and_no_health() {
    let mut h = Health::default();
    for l in 1..=3 {
        h.on_controller_error(l, "network.LinkSpecController", "error <X>", "controller failed");
    }
    assert_eq!(h.open().count(), 1);
    h.on_healthy(9);
    assert_eq!(h.open().count(), 0);
}

#[test]
fn a_commands_exit_error() {
    for (t, want) in [
        ("error: please run as root user (CNI, qemu hvf requirement)", true),
        ("error: Please", false),
        ("error: x", false),
        ("x509: certificate is valid for MotherBox, not motherbox.local", true),
        ("tls: failed to verify certificate: x509: certificate signed by unknown authority", true),
        ("context deadline exceeded", true),
        ("  context deadline exceeded ", true),
        ("waiting for etcd: context deadline exceeded", false),
        ("the x509: certificate", false),
        ("ERROR: [transport] Client received GoAway with error code ENHANCE_YOUR_CALM", true),
        ("ERROR: x", false),
        ("an ERROR: [transport] record quoted", false),
    ] {
        assert_eq!(states_cli_error(t), want, "{t}");
    }
    for (t, want) in [
        ("Error: error validating extension \"iscsi-tools\": path \"/etc/x\" is not allowed", true),
        ("Error: Driver 'pcspkr' is already registered, aborting...", false),
        ("Error: x", false),
    ] {
        assert_eq!(states_cobra_error(t), want, "{t}");
    }
}

#[test]
fn traceback_positions_are_crashes() {
    let panic = Some(TextSignal::Trouble(Panic, None));
    for (t, want) in [
        (
            "/src/internal/app/machined/pkg/runtime/v1alpha1/bootloader/adv/syslinux/syslinux.go:125 +0x270",
            &panic,
        ),
        ("\t/usr/local/go/src/runtime/panic.go:770 +0x132", &panic),
        ("/src/cmd/installer/pkg/install/install.go:95", &None),
        ("server.go:123] +0x12 is not a position", &None),
        ("main.go:x +0x1", &None),
        ("a b.go:12 +0x1f", &None),
    ] {
        let t = t.replace("\\t", "\t");
        assert_eq!(&classify(&t), want, "{t}");
    }
}

#[test]
fn transient_errors_under_grpc_and_json_quotes() {
    for (e, want) in [
        (
            "error publishing event: rpc error: code = Unavailable desc = connection error: desc = \\\"error reading server preface: EOF\\\"",
            true,
        ),
        ("error reading server preface: EOF\"", true),
        ("error growing filesystem: exit status 1", false),
    ] {
        assert_eq!(is_transient_error(e), want, "{e}");
    }
}

#[test]
fn halt_and_maintenance_banner() {
    let t = |k, c: &str| Some(TextSignal::Trouble(k, Some(c.to_owned())));
    for (text, want) in [
        (
            "Talos is already installed to disk but booted from another media and talos.halt_if_installed kernel parameter is set. Please reboot from the disk.",
            t(Halted, "boot"),
        ),
        ("or apply configuration using talosctl interactive installer:", t(Maintenance, "config")),
        (
            " talosctl apply-config --insecure --nodes 10.2.0.5 --file <config.yaml>",
            t(Maintenance, "config"),
        ),
        ("talosctl apply-config --insecure --nodes 10.2.0.5 --file controlplane.yaml", None),
    ] {
        assert_eq!(classify(text), want, "{text}");
    }
}

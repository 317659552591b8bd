//! Lookups of real Talos lines against the built-in catalogue, and bad catalogue data.

use super::pattern::{compile, match_pattern};
use super::*;

fn formats<'a>(ms: &'a [Match<'a>], depth: u8) -> Vec<&'a str> {
    ms.iter().filter(|m| m.depth == depth).map(|m| m.format).collect()
}

fn find<'a>(ms: &'a [Match<'a>], format: &str) -> &'a Match<'a> {
    ms.iter().find(|m| m.format == format).unwrap_or_else(|| panic!("no {format:?} in {ms:#?}"))
}

#[test]
fn data_parses_and_has_every_release() {
    let cat = catalogue();
    assert!(cat.len() > 5000, "{} entries", cat.len());
    let rels = cat.releases();
    assert_eq!(rels.first(), Some(&"v1.0"));
    assert!(rels.contains(&"v1.13"));
    assert_eq!(rels.last(), Some(&"main"));
    for (rel, n) in cat.entries_per_release() {
        assert!(n > 2000, "{rel}: {n}");
    }
}

#[test]
fn task_failed() {
    let ms = lookup("task setupSharedFilesystems (1/1): failed: invalid argument");
    let m = find(&ms, "task %s (%s): failed: %s");
    assert_eq!(m.depth, 0);
    assert_eq!(m.level, "printf");
    assert_eq!(m.component, "sequencer");
    assert_eq!(m.first_release, "v1.0");
    assert_eq!(m.path, "internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_controller.go");
    assert!(m.url.starts_with("https://github.com/siderolabs/talos/blob/"));
    assert!(m.url.ends_with(&format!(
        "/internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_controller.go#L{}",
        m.line
    )));
    assert_eq!(formats(&ms, 0)[0], "task %s (%s): failed: %s");
}

#[test]
fn phase_and_sequence_failed() {
    let ms = lookup("phase sharedFilesystems (6/10): failed");
    assert_eq!(formats(&ms, 0)[0], "phase %s (%s): failed");
    assert_eq!(ms[0].component, "sequencer");
    let ms = lookup("boot sequence: failed");
    assert_eq!(formats(&ms, 0)[0], "%s sequence: failed");
    let ms = lookup("[talos] 2024/02/06 17:46:19 boot sequence: done: 1m7.749942979s");
    assert_eq!(formats(&ms, 0)[0], "%s sequence: done: %s");
    // the format of a phase that ran tasks
    let ms = lookup("phase ephemeral (8/17): 1 tasks(s)");
    assert_eq!(formats(&ms, 0)[0], "phase %s (%s): %d tasks(s)");
}

#[test]
fn service_restart_forever_nests_the_event() {
    let line = "[talos] 2024/11/02 05:26:45 service[kubelet](Waiting): Error running Containerd(kubelet), \
                going to restart forever: failed to create task: \"kubelet\": failed to create shim task: OCI \
                runtime create failed: runc create failed: unable to start container process: error during \
                container init: failed to fulfil mount request: open /sys/kernel/security: no such file or \
                directory: unknown";
    let ms = lookup(line);
    let outer = find(&ms, "service[%s](%s): %s");
    assert_eq!(outer.depth, 0);
    assert_eq!(outer.level, "printf");
    assert_eq!(outer.path, "internal/app/machined/pkg/system/service_runner.go");
    let ev = find(&ms, "Error running %v, going to restart forever: %v");
    assert_eq!(ev.depth, 1);
    assert_eq!(ev.level, "event");
    assert_eq!(ev.extra, "state=Waiting");
    assert_eq!(ev.path, "internal/app/machined/pkg/system/runner/restart/restart.go");
    assert_eq!(ms[ev.parent.expect("nested")].format, "service[%s](%s): %s");
    // containerd's text after that is not Talos'
    assert!(ms.iter().all(|m| m.depth <= 3), "{ms:#?}");
}

#[test]
fn service_pre_stage_failed() {
    let ms = lookup(
        "service[apid](Failed): Failed to run pre stage: listen unix /system/run/apid/runtime.sock: bind: address already in use",
    );
    assert_eq!(formats(&ms, 0), ["service[%s](%s): %s"]);
    // v1.0-v1.2: a service event; v1.3 on: the error of ServiceRunner.Run, first letter upper-cased
    let ev = find(&ms, "Failed to run pre stage: %v");
    assert_eq!(ev.level, "event");
    assert_eq!(ev.extra, "state=Failed");
    assert_eq!(ev.last_release, "v1.2");
    let err = find(&ms, "failed to run pre stage: %w");
    assert_eq!(err.level, "errorf");
    assert_eq!(err.depth, 1);
    // the event matched the text as printed, so the lower-cased form is the alternative
    assert!(err.alt);
    let ms = lookup(
        "service[kubelet](Waiting): Waiting for service \"cri\" to be \"up\", time sync, network",
    );
    let top = ms.iter().find(|m| m.depth == 1).expect("nested");
    assert_eq!(top.format, "Waiting for %s");
    assert!(ms.iter().filter(|m| m.format == "waiting for %s").all(|m| m.alt));
    assert_eq!(err.path, "internal/app/machined/pkg/system/service_runner.go");
}

#[test]
fn controller_failed_zap_line() {
    let ms = lookup(
        "controller failed {\"component\": \"controller-runtime\", \"controller\": \"network.LinkStatusController\", \
         \"error\": \"error listing links: incorrect size, want: 184 or 192\"}",
    );
    let m = find(&ms, "controller failed");
    assert_eq!(m.depth, 0);
    assert_eq!(m.level, "error");
    assert_eq!(m.repo, "cosi-project/runtime");
    assert_eq!(m.keys, ["error"]);
    assert!(m.url.starts_with("https://github.com/cosi-project/runtime/blob/"), "{}", m.url);
    // the nested error of the controller named in the fields comes first
    let e = ms.iter().find(|m| m.depth == 1).expect("nested");
    assert_eq!(e.format, "error listing links: %w");
    assert_eq!(e.field, Some("error"));
    assert_eq!(e.component, "network.LinkStatusController");
    assert_eq!(e.path, "internal/app/machined/pkg/controllers/network/link_status.go");
}

#[test]
fn release_filter_and_alternatives() {
    let line = "controller failed {\"component\": \"controller-runtime\", \"controller\": \"network.LinkSpecController\", \
                \"error\": \"error creating wireguard client: setsockopt: protocol not available\"}";
    let all = catalogue().lookup(line);
    assert!(all.iter().filter(|m| m.depth == 0).count() >= 2);
    let ms = catalogue().lookup_release(line, "v1.0");
    let top: Vec<&Match<'_>> = ms.iter().filter(|m| m.depth == 0).collect();
    assert!(!top.is_empty() && top.iter().all(|m| m.releases.contains(&"v1.0")), "{top:#?}");
    let nested = ms.iter().find(|m| m.depth == 1).expect("nested");
    assert_eq!(nested.format, "error creating wireguard client: %w");
    assert!(!nested.alt);
    assert!(ms[nested.parent.expect("parent")].depth == 0);
    // the generic "error creating %s: %w" fits too, as an alternative
    assert!(ms.iter().any(|m| m.format == "error creating %s: %w" && m.alt));
    // v1.3 on, a failed pre stage is the upper-cased error, no more a service event
    let ms = catalogue().lookup_release(
        "service[apid](Failed): Failed to run pre stage: listen unix /system/run/apid/runtime.sock: bind: address already in use",
        "v1.8",
    );
    let nested: Vec<&Match<'_>> = ms.iter().filter(|m| m.depth == 1).collect();
    assert_eq!(nested[0].format, "failed to run pre stage: %w");
    assert!(!nested[0].alt);
    assert!(ms.iter().all(|m| m.format != "Failed to run pre stage: %v"));
    // "service %q to be %s" is main's; in v1.4 the conditions were joined by ", "
    let line =
        "service[kubelet](Waiting): Waiting for service \"cri\" to be \"up\", time sync, network";
    assert!(catalogue().lookup(line).iter().any(|m| m.format == "service %q to be %s"));
    let ms = catalogue().lookup_release(line, "v1.4");
    assert!(ms.iter().all(|m| m.releases.contains(&"v1.4")), "{ms:#?}");
    assert_eq!(ms.iter().find(|m| m.depth == 1).map(|m| m.format), Some("Waiting for %s"));
}

#[test]
fn zap_keys_are_checked() {
    let ms = lookup(
        "operator panicked {\"component\": \"controller-runtime\", \"controller\": \"network.OperatorSpecController\", \
         \"stack\": \"goroutine 1\", \"error\": \"panic: boom\", \"operator\": \"dhcp4\"}",
    );
    let m = find(&ms, "operator panicked");
    assert_eq!(m.component, "network.OperatorSpecController");
    assert_eq!(m.fields_ok, Some(true));
    assert!(ms.iter().any(|m| m.format == "panic: %v" && m.depth == 1));
}

#[test]
fn kmsg_truncated_field_and_backslash() {
    let line = "controller failed {\"component\": \"controller-runtime\", \"controller\": \"k8s.KubeletServiceController\", \
                \"error\": \"controller \\x5c\"k8s.KubeletServiceController\\x5c\" panicked: runtime error: invalid memory \
                address or nil pointer dereference\\n\\ngoroutine 1193 [running]:\\nruntime/debug.Stack(...)...";
    let ms = lookup(line);
    // one entry per place the text lived in (cosi-project/runtime moved it), the newest first
    let top = formats(&ms, 0);
    assert!(!top.is_empty() && top.iter().all(|f| *f == "controller failed"), "{top:?}");
    assert_eq!(ms[0].last_release, "main");
    let p = ms.iter().find(|m| m.format.starts_with("controller %q panicked")).expect("panicked");
    assert!(p.partial);
    assert_eq!(p.repo, "cosi-project/runtime");
}

#[test]
fn kmsg_truncated_message() {
    let mut line = String::from("task startAllServices (1/1): failed: ");
    while line.len() < 970 {
        line.push_str("x ");
    }
    line.push_str("...");
    let ms = lookup(&line);
    assert_eq!(formats(&ms, 0)[0], "task %s (%s): failed: %s");
    // cut inside a literal
    let long = format!("phase {} (6/10): fai...", "x".repeat(950));
    let ms = lookup(&long);
    assert!(find(&ms, "phase %s (%s): failed").partial);
    // a short message's "..." is text
    let ms = lookup("error running phase 5 in boot sequence: tas...");
    assert!(!find(&ms, "error running phase %d in %s sequence: %w").partial);
}

#[test]
fn own_ellipsis_and_named_logger() {
    let ms = lookup("2022/05/08 22:51:42 retrying 1 unmount operations...");
    let m = find(&ms, "retrying %d unmount operations...");
    assert!(!m.partial);
    // cut in the literal after a hole, before the entry's rarest word
    let ms = catalogue().lookup_text("retrying 1 unmount oper", true);
    assert!(find(&ms, "retrying %d unmount operations...").partial);
    let ms = lookup(
        "kubeprism KubePrism is enabled {\"component\": \"controller-runtime\", \"controller\": \"k8s.KubePrismController\", \"endpoint\": \"127.0.0.1:7445\"}",
    );
    let m = find(&ms, "KubePrism is enabled");
    assert_eq!(m.component, "k8s.KubePrismController");
    assert_eq!(m.fields_ok, Some(true));
}

#[test]
fn first_line_of_a_multiline_message() {
    let p = compile("failed to create ext4 filesystem: %w:\n%s\n%s", false);
    let r = match_pattern(&p, "failed to create ext4 filesystem: exit status 1:", false, true)
        .expect("line 1");
    assert!(r.partial);
    let p = compile("controller %q panicked: %s\n\n%s", false);
    let r = match_pattern(&p, "controller \"a.B\" panicked: boom", false, true).expect("line 1");
    assert!(r.partial);
    // no newline in the format: the whole text still has to fit
    let p = compile("phase %s (%s): failed", false);
    assert!(match_pattern(&p, "phase boot (1/2): fai", false, true).is_none());
}

#[test]
fn wrapped_errors_nest() {
    let ms = lookup(
        "error running phase 5 in boot sequence: task 1/1: failed, listen unix /system/run/dbus/service.socket: bind: address already in use",
    );
    assert_eq!(formats(&ms, 0)[0], "error running phase %d in %s sequence: %w");
    let t = find(&ms, "task %s: failed, %w");
    assert_eq!(t.depth, 1);
    assert_eq!(t.level, "errorf");
}

#[test]
fn task_logger_prefix() {
    let ms =
        lookup("task startAllServices (1/1): 2024/11/02 05:26:48 service \"kubelet\" to be \"up\"");
    let p = find(&ms, "[talos] task %s (%s): ");
    assert_eq!(p.level, "prefix");
    assert!(ms.iter().any(|m| m.depth >= 1 && m.format.contains("to be %q")), "{ms:#?}");
}

#[test]
fn retrying_error_from_go_retry() {
    let ms = lookup(
        "retrying error: failed to pull image \"gcr.io/etcd-development/etcd:v3.5.11\": failed to resolve reference",
    );
    let m = find(&ms, "retrying error: %s");
    assert_eq!(m.repo, "siderolabs/go-retry");
    assert_eq!(m.level, "printf");
}

#[test]
fn zap_console_and_multiline_first_line() {
    let ms = lookup(
        "2023-05-22T21:02:46.687Z DEBUG DHCP RENEW {\"component\": \"controller-runtime\", \"controller\": \"network.OperatorSpecController\", \"operator\": \"dhcp4\", \"link\": \"eth0\"}",
    );
    assert!(ms.iter().any(|m| m.depth == 0 && m.format == "DHCP RENEW"), "{ms:#?}");
}

#[test]
fn typed_holes() {
    let p = compile("waiting %d second(s) for %q, %x %t %.2f%%", false);
    assert!(
        match_pattern(&p, "waiting 3 second(s) for \"usb\", 0xff true 1.50%", false, true)
            .is_some()
    );
    assert!(
        match_pattern(&p, "waiting x second(s) for \"usb\", 0xff true 1.50%", false, true)
            .is_none()
    );
    assert!(
        match_pattern(&p, "waiting 3 second(s) for usb, 0xff true 1.50%", false, true).is_none()
    );
    assert!(
        match_pattern(&p, "waiting 3 second(s) for \"usb\", 0xff maybe 1.50%", false, true)
            .is_none()
    );
    // text cut inside the %q
    let r = match_pattern(&p, "waiting 3 second(s) for \"us", true, true).expect("partial");
    assert!(r.partial);
    // a %q ends at its closing quote: this is not a cut "controller %q already registered"
    let p = compile("controller %q already registered", false);
    assert!(match_pattern(&p, "controller \"k8s.X\" panicked: boo", true, true).is_none());
    assert!(
        match_pattern(&p, "controller \"k8s.\\\"X\" already registered", false, true).is_some()
    );
    // a zap message's '%' is literal (gen.py writes it as %%)
    let p = compile("100%% done", false);
    assert!(match_pattern(&p, "100% done", false, true).is_some());
}

#[test]
fn no_match_for_foreign_lines() {
    assert!(
        formats(
            &lookup(
                "apid invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-998"
            ),
            0
        )
        .is_empty()
    );
    assert!(lookup("").is_empty());
}

#[test]
fn parse_rejects_bad_data() {
    assert!(Catalogue::parse("V\t2\n").is_err());
    assert!(Catalogue::parse("E\tinfo\tc\t\t\t0:0@1\tx\n").is_err());
    let tiny = "V\t1\nG\ttalos\tsiderolabs/talos\nR\t0\tv1.0\ttalos=v1.0.6\nR\t1\tmain\ttalos=abc\n\
                P\t0\ttalos\ta/b.go\nE\tprintf\tsequencer\t\t\t0-1:0@7\thello %s world\n";
    let cat = Catalogue::parse(tiny).expect("parses");
    let ms = cat.lookup("hello there world");
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].url, "https://github.com/siderolabs/talos/blob/abc/a/b.go#L7");
    assert_eq!(ms[0].releases, ["v1.0", "main"]);
}

/// What a paste does to an error: the first line of a message broken over lines, an error
/// wrapper whose cause is on the next line, a label before the message. Each still names the
/// format that printed it; a cut text does not fit a format that starts with a hole.
#[test]
fn pasted_starts_and_labelled_messages() {
    let cases = [
        // the validator's message without its `(.machine.ca, machine.acceptedCAs)`
        (
            "issuing CA or some accepted CAs are required",
            "issuing CA or some accepted CAs are required (.machine.ca, machine.acceptedCAs)",
        ),
        // the wrapper alone: its `%w` is on the next line
        (
            "failed to validate config acquired via platform openstack:",
            "failed to validate config acquired via platform %s: %w",
        ),
        // a document kind before the validator's message
        (
            "HostnameConfig: 'auto' and 'hostname' cannot be set at the same time",
            "'auto' and 'hostname' cannot be set at the same time",
        ),
    ];
    for (text, format) in cases {
        let ms = lookup(text);
        assert_eq!(formats(&ms, 0).first(), Some(&format), "{text}");
    }
    // Go's TLS error fits only `%s: %s failed with exit code %d` cut short: no match.
    let ms = lookup("tls: failed to parse certificate from server: x509: SAN dNSName is malformed");
    assert!(ms.iter().all(|m| m.depth > 0 || m.weak), "{ms:#?}");
    // Too short a start to name one format.
    assert!(lookup("failed to validate").iter().all(|m| m.weak || m.depth > 0));
}

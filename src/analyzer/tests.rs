use super::analyze_text;

/// A `then` rule, through the whole analyzer: the second line must follow a first one within
/// its window, counted from the latest first line.
#[test]
fn then_waits_for_a_fresh_first_line() {
    let rules = crate::kb::parse_file(
        "t.toml",
        "[[rule]]\nid = \"T-1\"\ncategory = \"network_dns\"\nseverity = \"error\"\ntitle = \"t\"\n\
         match = 'first'\nthen = { match = 'second', within = 2 }\nroot_cause = \"r\"\nremediation = [\"a\"]\n",
    )
    .unwrap();
    let kb = crate::kb::Kb::from_rules(rules).unwrap();
    let fired = |log: &str| !analyze_text(&kb, log).findings.is_empty();
    let cases = [
        ("first\nsecond", true),
        ("first\nx\nx\nx\nsecond", false),
        ("first\nx\nx\nx\nfirst\nsecond", true),
        ("second\nfirst", false),
    ];
    for (log, want) in cases {
        assert_eq!(fired(log), want, "{log:?}");
    }
}

/// The facts of an empty line, worked out once, are what the full computation of
/// [`super::Analyzer::step`] gives for one.
#[test]
fn a_blank_line_is_what_the_full_computation_gives() {
    use crate::parse::{envelope, message, normalize::normalize};
    let kb = crate::kb::Kb::builtin();
    let norm = normalize("");
    let env = envelope::parse(&norm);
    let msg = message::parse(&env.text);
    let facts = super::Facts::of(&kb, "", &env, &msg);
    let (b_env, b_msg, b_facts) = super::blank_line(&kb);
    assert_eq!((&b_env, &b_msg, &b_facts), (&env, &msg, &facts));
}

/// Every fixture, and the fixtures one after another as one log (their state carried from
/// one into the next), gives the same report with the analyzer's and the state machine's
/// per-line shortcuts ([`crate::memo::plain`]) as without them; the matcher's kept count of
/// findings that wait for recovery is the count a scan finds after every line.
#[test]
fn shortcut_reports_equal_plain_ones() {
    use crate::input::lines::{Flow, LineSplitter};
    let kb = crate::kb::Kb::builtin();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let mut logs: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(|e| std::fs::read(e.expect("entry").path().join("input.log")).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    logs.sort();
    logs.push(logs.concat());
    let mut awaited = 0;
    let mut run = |log: &str| {
        let mut a = super::Analyzer::new(&kb, super::AnalyzeOptions::default());
        a.begin_input("-", None);
        let mut s = LineSplitter::default();
        let mut sink = |l: super::RawLine<'_>| {
            a.push_line(l);
            for st in &a.nodes {
                let kept = st.matcher.awaiting_kept();
                assert_eq!(kept, st.matcher.awaiting_recovery(&kb));
                awaited += kept;
            }
            Flow::Continue
        };
        s.push(log.as_bytes(), &mut sink);
        s.finish(&mut sink);
        a.end_input();
        serde_json::to_string(&a.report()).expect("json")
    };
    for log in &logs {
        let fast = run(log);
        let plain = crate::memo::without_shortcuts(|| run(log));
        assert!(
            fast == plain,
            "reports differ for a log starting {:?}",
            &log[..log.len().min(200)]
        );
    }
    assert!(awaited > 100, "no finding waited for recovery ({awaited})");
}

/// The ring keeps what a double-ended queue of the last `cap` lines keeps, in order.
#[test]
fn ring_equals_a_queue() {
    for cap in 1..5 {
        let mut ring = super::Ring::default();
        let mut queue = std::collections::VecDeque::new();
        for no in 0..20u64 {
            let text = "x".repeat(no as usize % 7);
            ring.push(no, &text, cap);
            if queue.len() == cap {
                queue.pop_front();
            }
            queue.push_back((no, text));
            assert!(ring.iter().eq(queue.iter()), "cap {cap}, line {no}");
        }
    }
}

/// The one-suffix shortcut of a multi-error head answers as the two suffix tests.
#[test]
fn multi_error_head_equals_the_suffix_tests() {
    let mut lines = crate::test_support::fixture_lines();
    lines.extend(
        [
            "1 error occurred:",
            "2 errors occurred:",
            "occurred:",
            "xerror occurred:",
            "1 error(s) occurred:",
        ]
        .map(String::from),
    );
    lines.extend(["errors occurred", " occurred:", "no error occurred: x"].map(String::from));
    let mut heads = 0;
    for l in &lines {
        let plain = l.ends_with("error occurred:")
            || l.ends_with("errors occurred:")
            || l.ends_with("error(s) occurred:");
        assert_eq!(super::multi_error_head(l), plain, "{l:?}");
        heads += usize::from(plain);
    }
    assert!(heads >= 4);
}

/// A paste of a few lines whose only statement is one of Talos' error values without an error
/// word (validators and decoders state many so) fails for the part of Talos that printed it;
/// the same line in a longer log, or a value whose printer has no single job (a client's own
/// refusal), judges nothing.
#[test]
fn wordless_error_values_state_a_failure_only_in_a_paste() {
    use crate::report::Outcome;
    let kb = crate::kb::Kb::builtin();
    let long = |line: &str| format!("{line}\n{}", "some other output\n".repeat(8));
    let cases: [(String, Outcome, Option<&str>); 6] = [
        (
            "virtual (shared) IP is not allowed on non-controlplane nodes".into(),
            Outcome::Failed,
            Some("config_validation_error"),
        ),
        (
            "issuing CA or some accepted CAs are required".into(),
            Outcome::Failed,
            Some("config_validation_error"),
        ),
        ("> expected a mapping node".into(), Outcome::Failed, Some("config_decode_error")),
        ("no controlplane nodes discovered".into(), Outcome::Unknown, None),
        (
            long("virtual (shared) IP is not allowed on non-controlplane nodes"),
            Outcome::Unknown,
            None,
        ),
        ("nothing is wrong here".into(), Outcome::Unknown, None),
    ];
    for (log, outcome, category) in cases {
        let r = analyze_text(&kb, &log);
        assert_eq!(r.outcome, outcome, "{log:?}");
        assert_eq!(r.findings.first().map(|f| f.category.as_str()), category, "{log:?}");
    }
    // Talos' text, so not `no Talos log lines` (exit 2) either.
    let r = analyze_text(&kb, "issuing CA or some accepted CAs are required\n");
    assert!(r.stats.talos_lines > 0);
}

/// A kernel warning (a `WARN()` with its stack dump) decides only when nothing shows the node
/// healthy: a fragment of one fails, a boot that completes after one does not.
#[test]
fn a_kernel_warning_fails_only_a_node_not_shown_healthy() {
    use crate::report::Outcome;
    let kb = crate::kb::Kb::builtin();
    let warn = "[   10.033289] ------------[ cut here ]------------\n\
                [   10.034413] WARNING: CPU: 0 PID: 2079 at arch/arm64/kernel/module-plts.c:98 module_emit_plt_entry+0x17c/0x190\n\
                [   10.036663] Modules linked in: virtio_pci_legacy_dev\n";
    assert_eq!(analyze_text(&kb, warn).outcome, Outcome::Failed);
    let healthy = format!(
        "{warn}[   20.000000] [talos] phase bootloader (9/9): done, 1ms\n[   20.000001] [talos] boot sequence: done: 10s\n"
    );
    assert_ne!(analyze_text(&kb, &healthy).outcome, Outcome::Failed);
}

/// A script that runs a failed command again and then goes on got past the failure (a retry
/// loop, `set -x` trace or a transcript's prompts); one that gives up, or never reruns it, did
/// not.
#[test]
fn a_command_retried_until_it_passes_is_not_the_failure() {
    use crate::report::Outcome;
    let kb = crate::kb::Kb::builtin();
    let fail = "error executing bootstrap: rpc error: code = Unavailable desc = connection error: desc = \"transport: authentication handshake failed: EOF\"";
    let cases = [
        // Retried, passed, the script went on.
        (
            format!(
                "+ talosctl bootstrap\n{fail}\n+ sleep 10\n+ talosctl bootstrap\n+ talosctl kubeconfig\n"
            ),
            false,
        ),
        (format!("$ talosctl bootstrap\n{fail}\n$ talosctl bootstrap\n$ talosctl health\n"), false),
        (format!("> + talosctl bootstrap\n> {fail}\n> + talosctl bootstrap\n> + break\n"), false),
        // Retried and failed again: still failing.
        (
            format!(
                "+ talosctl bootstrap\n{fail}\n+ sleep 10\n+ talosctl bootstrap\n{fail}\n+ exit 1\n"
            ),
            true,
        ),
        // Never run again: the next command does not undo the failure.
        (format!("+ talosctl bootstrap\n{fail}\n+ talosctl kubeconfig\n"), true),
        // Rerun last: whether it passed is not seen.
        (format!("+ talosctl bootstrap\n{fail}\n+ talosctl bootstrap\n"), true),
    ];
    for (log, failed) in cases {
        let r = analyze_text(&kb, &log);
        assert_eq!(r.outcome == Outcome::Failed, failed, "{log}");
    }
}

//! What kind of line a node's log line is before any rule sees it: a continuation of the
//! record above, talosctl's own progress, the kernel's first lines, or a pasted line in
//! Talos' vocabulary (which makes an input without envelopes still a Talos log).

/// A line that continues the record before it rather than starting one: the kernel's
/// `/dev/kmsg` dictionary (` SUBSYSTEM=nvme`, ` DEVICE=c245:1`, printed by `dmesg -x` and
/// under each record of some consoles) and the tab-indented lines of a Go multi-error
/// (`1 error(s) occurred:` then `\t* failed to pull image …`), which Talos prints as one
/// message over several lines. They belong to the node and the record of the line before.
pub(super) fn is_continuation(line: &str) -> bool {
    // Every line asks: one that starts with none of the markers' first bytes nor a blank is
    // not a continuation (the loop below would strip nothing and the match say false).
    if !matches!(line.as_bytes().first(), Some(b'>' | b'-' | b'*' | b'+' | b'\t' | b' ' | 0xE2)) {
        return false;
    }
    continuation_plain(line)
}

/// [`is_continuation`] without its first-byte shortcut (the tests compare them).
fn continuation_plain(line: &str) -> bool {
    // A Markdown quote or list marker in front (a paste from an issue) is not part of the
    // line, as for its text (`parse::normalize`); the indentation after it is.
    // Terraform's frame (`  │ `) likewise: the line inside it starts after `│ `.
    let line = line.trim_start_matches(' ').strip_prefix("\u{2502} ").unwrap_or(line);
    let b = strip_markers(line, &["> ", "- ", "* ", "+ "]).as_bytes();
    match b.first() {
        Some(b'\t') => b.len() > 1,
        Some(b' ') => {
            let key = b[1..].iter().take_while(|c| c.is_ascii_uppercase() || **c == b'_').count();
            key > 0 && b.get(1 + key) == Some(&b'=')
        }
        _ => false,
    }
}

/// An item line of a Go multi-error (`\t* error`), behind a pasted Markdown quote or list
/// marker if any.
pub(super) fn is_multi_error_item(line: &str) -> bool {
    // `* ` is the item's own marker here, not a list's; `│ ` is Terraform's frame.
    strip_markers(line.trim_start(), &["> ", "- ", "+ ", "\u{2502} "])
        .trim_start()
        .starts_with("* ")
}

/// `line` without the leading Markdown markers among `markers`, however many and nested.
fn strip_markers<'a>(mut line: &'a str, markers: &[&str]) -> &'a str {
    while let Some(r) = markers.iter().find_map(|m| line.strip_prefix(m)) {
        line = r;
    }
    line
}

/// talosctl's own progress lines (`cluster create`, `health`, `bootstrap`), which CI logs hold
/// around or instead of a node's log.
pub(super) fn talosctl_progress(text: &str) -> bool {
    const STARTS: &[&str] = &[
        "waiting for ",
        "validating CIDR",
        "generating PKI",
        "creating network",
        "creating controlplane nodes",
        "creating master nodes",
        "creating worker nodes",
        "creating node",
        "bootstrapping cluster",
        "bootstrap error",
        "renamed talosconfig context",
        "merging kubeconfig",
        "downloading ghcr.io/",
        "downloading docker.io/",
    ];
    let t = text.trim_start_matches(['◰', '◱', '◲', '◳', ' ']);
    STARTS.iter().any(|s| t.starts_with(s))
}

/// What the EFI stub and the kernel print before any driver or init runs: the loader
/// (`EFI stub: Loaded initrd …`, `Decompressing Linux…`) and the kernel's first lines
/// (`Linux version …`, `Command line: …`). A console that shows nothing else stopped there:
/// the kernel hung early, or its console moved to another device (`console=`).
pub(super) fn kernel_early_boot(text: &str) -> bool {
    const EARLY: &[&str] = &[
        "EFI stub: ",
        "Linux version ",
        "Booting Linux on physical CPU",
        "Command line: ",
        "Kernel command line: ",
        "Decompressing Linux",
        "Booting the kernel",
        "Loading Linux ",
        "Loading initial ramdisk",
    ];
    matches!(text.as_bytes().first(), Some(b'E' | b'L' | b'B' | b'C' | b'K' | b'D'))
        && EARLY.iter().any(|p| text.starts_with(p))
}

/// talosctl's condition checks (`cluster create`, `health`) print `waiting for <check>: <why
/// not yet>` on every attempt until `waiting for <check>: OK`: a retry, not a failure. A check
/// that gives up ends the command with its own error line.
pub(super) fn talosctl_check_retry(text: &str) -> bool {
    let t = text.trim_start_matches(['◰', '◱', '◲', '◳', ' ']);
    t.starts_with("waiting for ") && t.contains(": ")
}

/// A pasted line without any envelope is still Talos' when it names what Talos runs or does.
pub(super) fn talos_vocabulary(text: &str) -> bool {
    vocabulary(text, false)
}

/// [`talos_vocabulary`]; `plain` computes it the obvious way, the oracle of the fast one.
fn vocabulary(text: &str, plain: bool) -> bool {
    const WORDS: &[&str] = &[
        "talos",
        "kubelet",
        "etcd",
        "containerd",
        "apid",
        "trustd",
        "machined",
        "kube",
        "cri",
        "docker",
        "daemon",
        "cluster",
        "controller",
        "service",
        "image",
        "registry",
        "install",
        "dhcp",
        "ntp",
        "x509",
        "mount",
        "volume",
        "partition",
        "container",
        "snapshot",
        "node",
        "link",
        "route",
        // Talos' API as talosctl reports it, and what runs under machined: the CNI plugins,
        // AppArmor, the kernel's module loader.
        "rpc error: code = ",
        "kmsg",
        "cni",
        "iptables",
        "apparmor",
        "unknown symbol",
        // Talos' API is gRPC (talosctl and apid print grpc-go's errors), SELinux labels its
        // files (v1.10+), and system extensions are its way to add software.
        "grpc",
        "selinux",
        "extension",
        // The service runner's own words (service_runner.go: `going to restart forever`),
        // which a paste keeps when it cuts the `service[id](State):` prefix.
        "going to restart",
    ];
    // Until a log's first Talos line this runs on every line (on all of them when none is
    // ever found, as in a hostile input of blank lines): one automaton pass, no allocation,
    // instead of a lowercased copy searched once per word.
    static VOCABULARY: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(WORDS)
                .expect("a few literal words build an automaton")
        });
    if plain {
        let lower = text.to_ascii_lowercase();
        return WORDS.iter().any(|w| lower.contains(w)) || klog_header(text);
    }
    // The shortest word has three bytes, and klog's header needs more.
    text.len() >= 3 && (VOCABULARY.is_match(text) || klog_header(text))
}

/// klog's header, which kubelet, etcd's Kubernetes client and client-go code inside machined
/// print: `E1210 14:54:05.283069       1 reflector.go:429] …` (severity, MMDD, time, thread
/// id, file:line).
fn klog_header(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() > 22
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[8] == b':'
        && text
            .split_once("] ")
            .is_some_and(|(head, _)| head.rsplit(' ').next().is_some_and(|f| f.contains(".go:")))
}

#[cfg(test)]
mod tests {
    use super::{
        continuation_plain, is_continuation, is_multi_error_item, talosctl_check_retry, vocabulary,
    };

    /// The first-byte shortcut of `is_continuation` answers as the full check on every
    /// fixture line and on lines behind each marker and blank.
    #[test]
    fn continuation_shortcut_equals_the_full_check() {
        let mut lines = crate::test_support::fixture_lines();
        let marked: Vec<String> = ["> ", "- ", "* ", "+ ", "\t", " ", "> - ", ">", "-", ""]
            .iter()
            .flat_map(|m| ["\tx", " KEY=v", " key=v", "x", "", " A="].map(|l| format!("{m}{l}")))
            .collect();
        lines.extend(marked);
        let mut yes = 0;
        for l in &lines {
            assert_eq!(is_continuation(l), continuation_plain(l), "{l:?}");
            yes += usize::from(is_continuation(l));
        }
        assert!(yes > 10, "only {yes} continuations");
    }

    /// The automaton finds what a lowercased copy searched word by word finds: every word in
    /// any case, at either end, cut short, next to non-ASCII text, and klog's header.
    #[test]
    fn vocabulary_automaton_equals_the_plain_search() {
        let mut texts: Vec<String> =
            ["", "a", "no", "ntp", "NtP", "nt", "é", "Éetcd", "ku be"].map(String::from).into();
        for w in ["talos", "kubelet", "rpc error: code = ", "unknown symbol", "x509", "cni"] {
            let cut = &w[..w.len() - 1];
            texts.extend([
                w.to_owned(),
                w.to_uppercase(),
                format!("µ {w} µ"),
                format!("x{cut}"),
                format!("{cut}\u{0}"),
            ]);
        }
        texts.push("E1210 14:54:05.283069       1 reflector.go:429] watch".into());
        texts.push("E1210 14:54:05.283069       1 reflector:429] watch".into());
        for t in &texts {
            assert_eq!(vocabulary(t, false), vocabulary(t, true), "{t:?}");
        }
        assert!(vocabulary("NTP", false) && !vocabulary("nt", false));
    }

    #[test]
    fn talosctl_check_retries() {
        for (line, want) in [
            ("waiting for all k8s nodes to report: can't find expected node with IPs", true),
            ("◳ waiting for etcd to be healthy: 1 error occurred:", true),
            ("waiting for etcd to be healthy: OK", true),
            ("waiting for etcd", false),
            ("healthcheck error: rpc error: code = DeadlineExceeded", false),
        ] {
            assert_eq!(talosctl_check_retry(line), want, "{line:?}");
        }
    }

    #[test]
    fn continuation_lines() {
        for (line, want) in [
            (" SUBSYSTEM=nvme", true),
            (" DEVICE=c245:1", true),
            ("\tfailed to pull image \"x\": context canceled", true),
            ("\t* 172.20.1.4: service \"kubelet\" not in expected state", true),
            (" lower=case", false),
            (" [talos] service[etcd](Running)", false),
            ("\t", false),
            ("[talos] task x (1/1): done", false),
            ("", false),
            ("> \tfailed to pull image", true),
            ("- > \tx", true),
            ("> SUBSYSTEM=nvme", false),
            ("\u{2502} \t* 10.5.0.2: rpc error", true),
            ("  \u{2502}   \"KubeControllerManagerConfig\"", false),
            ("\u{2502} Error: x", false),
        ] {
            assert_eq!(is_continuation(line), want, "{line:?}");
        }
    }

    #[test]
    fn multi_error_items() {
        for (line, want) in [
            ("\t* \"\" is not a valid DNS name", true),
            ("> \t* \"\" is not a valid DNS name", true),
            ("- \t* x", true),
            ("  \u{2502} \t* x", true),
            ("\tfailed to pull image", false),
            ("1 error occurred:", false),
        ] {
            assert_eq!(is_multi_error_item(line), want, "{line:?}");
        }
    }
}

//! Stable fingerprints and line templates.
//!
//! A finding's fingerprint must not change between two runs of the same failure: not with
//! the time, the node's address, a PID or a container id. `mask` replaces those parts with
//! placeholders (`<TIME>`, `<IP>`, `<N>`, …), and `fingerprint` hashes the rule id plus the
//! masked text with 64-bit FNV-1a, a hash that is fixed by its definition (unlike std's
//! `DefaultHasher`), so fingerprints stay equal across Rust releases and platforms.
//!
//! `mask` is also how unexplained error lines are grouped into templates.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Fingerprint of a finding: 16 lowercase hex digits of FNV-1a-64 over `rule_id`, a NUL
/// byte, and `mask(node_agnostic_text)`.
pub(crate) fn fingerprint(rule_id: &str, node_agnostic_text: &str) -> String {
    let masked = mask(node_agnostic_text);
    let mut h = FNV_OFFSET;
    for b in rule_id.bytes().chain([0]).chain(masked.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    format!("{h:016x}")
}

/// Replaces what varies between runs and nodes with placeholders: timestamps and clock
/// times (`<TIME>`), UUIDs (`<UUID>`), IPv6 and MAC addresses, IPv4 addresses with their
/// port or prefix (`<IP>`), `0x` numbers and hex ids of 8+ digits (`<HEX>`, `<ID>`),
/// durations (`<DUR>`) and the remaining numbers (`<N>`, also inside paths like
/// `/proc/1234/status`). Digits glued to a letter before them (`eth0`, `sha256`, `k8s`)
/// are part of a name and stay.
pub(crate) fn mask(text: &str) -> String {
    let mut s = Cow::Borrowed(text);
    for (re, with) in SIMPLE.iter() {
        if let Cow::Owned(o) = re.replace_all(&s, *with) {
            s = Cow::Owned(o);
        }
    }
    if let Cow::Owned(o) = IPV6.replace_all(&s, ipv6) {
        s = Cow::Owned(o);
    }
    for (re, with) in LATE.iter() {
        if let Cow::Owned(o) = re.replace_all(&s, *with) {
            s = Cow::Owned(o);
        }
    }
    if let Cow::Owned(o) = HEX_ID.replace_all(&s, hex_id) {
        s = Cow::Owned(o);
    }
    for (re, with) in NUMBERS.iter() {
        if let Cow::Owned(o) = re.replace_all(&s, *with) {
            s = Cow::Owned(o);
        }
    }
    s.into_owned()
}

/// [`mask`] with a small per-thread memo, for the error lines of a long log.
///
/// The patterns of [`mask`] treat the digits 1 to 9 alike (`\d`, `[0-9a-f]`, `\b`; the
/// checks in [`ipv6`] and [`hex_id`] ask only whether there is a digit); only `0` is ever
/// named on its own (`0x`). So two texts that differ only in which of 1-9 stand where are
/// cut into the same parts, and their masks differ at most in the digits left unmasked. A
/// mask without any digit is therefore the mask of every text with the same skeleton (each
/// of 1-9 read as `1`), and only such masks are kept. Retry loops print the same error with
/// other numbers thousands of times. A mask that keeps digits (`k8s`, `eth0`) is kept for
/// its exact text instead: such lines repeat word for word (a controller's retry).
pub(crate) fn mask_cached(text: &str) -> String {
    const MAX: usize = 256;
    const MAX_TEXT: usize = 1024;
    #[derive(Default)]
    struct Memo {
        shapes: std::collections::HashMap<Box<[u8]>, String>,
        exact: std::collections::HashMap<Box<str>, String>,
    }
    thread_local! {
        static MEMO: std::cell::RefCell<Memo> = std::cell::RefCell::new(Memo::default());
    }
    // Entries are bounded in number and in size: memory stays flat whatever the lines.
    if text.len() > MAX_TEXT {
        return mask(text);
    }
    if let Some(hit) = MEMO.with(|m| m.borrow().exact.get(text).cloned()) {
        return hit;
    }
    let skeleton: Box<[u8]> =
        text.bytes().map(|b| if matches!(b, b'1'..=b'9') { b'1' } else { b }).collect();
    if let Some(hit) = MEMO.with(|m| m.borrow().shapes.get(&skeleton).cloned()) {
        return hit;
    }
    let masked = mask(text);
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        let digits = masked.bytes().any(|b| b.is_ascii_digit());
        if digits {
            if m.exact.len() >= MAX {
                m.exact.clear();
            }
            m.exact.insert(text.into(), masked.clone());
        } else {
            if m.shapes.len() >= MAX {
                m.shapes.clear();
            }
            m.shapes.insert(skeleton, masked.clone());
        }
    });
    masked
}

/// ASCII classes and word boundaries: what is masked (numbers, addresses, ids) is ASCII,
/// and Unicode `\d`/`\b` cost megabytes of tables and the lazy DFA (a Unicode `\b` forces
/// the slow engine) on every error-looking line.
fn re(pattern: &str) -> Regex {
    let ascii = pattern.replace(r"\d", "[0-9]").replace(r"\b", r"(?-u:\b)");
    Regex::new(&ascii).expect("valid regex")
}

/// Times and UUIDs go first: they contain `:` and `-` runs the address patterns would eat.
static SIMPLE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (
            re(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
            "<TIME>",
        ),
        (re(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?"), "<TIME>"),
        (re(r"\[\s*\d+\.\d+\]"), "[<TIME>]"),
        (re(r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b"), "<TIME>"),
        (re(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<UUID>"),
    ]
});

/// Candidate IPv6 (and MAC) addresses; [`ipv6`] keeps only real-looking ones.
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\[?(?:[0-9a-f]{1,4})?(?::[0-9a-f]{0,4}){2,7}(?:%[a-z0-9]+)?\]?(?::\d+)?(?:/\d{1,3})?")
});

static LATE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (re(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?::\d+)?\b"), "<IP>"),
        (re(r"(?i)\b0x[0-9a-f]+\b"), "<HEX>"),
    ]
});

static HEX_ID: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b[0-9a-f]{8,}\b"));

static NUMBERS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (re(r"(?:^|\b)(?:\d+(?:\.\d+)?(?:ns|µs|us|ms|h|m|s))+\b"), "<DUR>"),
        (re(r"(?P<pre>^|[^A-Za-z0-9_<])\d+(?:\.\d+)?"), "${pre}<N>"),
    ]
});

fn ipv6(c: &Captures<'_>) -> String {
    let m = &c[0];
    let colons = m.bytes().filter(|&b| b == b':').count();
    let hex_letter = m.bytes().any(|b| matches!(b.to_ascii_lowercase(), b'a'..=b'f'));
    if m.contains("::") && m.len() > 2 || colons >= 5 || (colons >= 3 && hex_letter) {
        "<IP>".to_string()
    } else {
        m.to_string()
    }
}

/// A hex word is an id only if it mixes digits and letters: `deadbeef0` yes, `12345678`
/// (a number) and `facade` (a word) no.
fn hex_id(c: &Captures<'_>) -> String {
    let m = &c[0];
    let digit = m.bytes().any(|b| b.is_ascii_digit());
    let letter = m.bytes().any(|b| b.is_ascii_alphabetic());
    if digit && letter { "<ID>".to_string() } else { m.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_what_varies() {
        let cases: &[(&str, &str)] = &[
            (
                "[talos] 2024/11/20 09:14:03 task setupSharedFilesystems (1/1): failed: invalid argument",
                "[talos] <TIME> task setupSharedFilesystems (<N>/<N>): failed: invalid argument",
            ),
            (
                "2024-06-10T10:32:11.123456789Z stdout F dial tcp 10.5.0.2:50000: connect: connection refused",
                "<TIME> stdout F dial tcp <IP>: connect: connection refused",
            ),
            (
                "[    3.292923] [talos] initialize sequence: 11 phase(s)",
                "[<TIME>] [talos] initialize sequence: <N> phase(s)",
            ),
            (
                "task startAllServices (1/1): done, 1m30.25s",
                "task startAllServices (<N>/<N>): done, <DUR>",
            ),
            ("install sequence: done: 3.767µs", "install sequence: done: <DUR>"),
            (
                "Started task etcd (PID 2315) for container 4c3f1e0a9b8d7c6e5f4a",
                "Started task etcd (PID <N>) for container <ID>",
            ),
            ("machine id 8c3d1a2e-4b5f-4c6d-9e7f-0a1b2c3d4e5f", "machine id <UUID>"),
            (
                "listen tcp [fd00:10:5::2]:50000: bind: address already in use",
                "listen tcp <IP>: bind: address already in use",
            ),
            ("link fe80::a00:27ff:fe4e:66a1%eth0 up", "link <IP> up"),
            ("open \"/proc/1234/status\": no such file", "open \"/proc/<N>/status\": no such file"),
            ("addr 0x7ffd5e8c on eth0, k8s sha256", "addr <HEX> on eth0, k8s sha256"),
            ("assigned 192.168.1.10/24 to enp0s3", "assigned <IP> to enp0s3"),
        ];
        for (input, want) in cases {
            assert_eq!(mask(input), *want, "input: {input}");
        }
    }

    #[test]
    fn cached_masks_equal_masks() {
        // Texts that differ only in digits, in both orders, plus ones whose masks keep
        // digits (those are cached for their exact text only).
        let texts = [
            "audit: type=1400 audit(137.123:456): apparmor=\"DENIED\" operation=\"open\"",
            "audit: type=1400 audit(9.1:4): apparmor=\"DENIED\" operation=\"open\"",
            "audit: type=1400 audit(999.999:999): apparmor=\"DENIED\" operation=\"open\"",
            "link eth0 down after 12s",
            "link eth1 down after 13s",
            "dial tcp 10.5.0.2:50000: connect: connection refused",
            "dial tcp 1.2.3.4:5: connect: connection refused",
            "dial tcp 999.2.3.4:5: connect: connection refused",
            "id 1234abcd and 0x1f and fe80::1",
            "id 12345678 and 0x1f and fe80::1",
            "sha256 k8s 2024-01-02T03:04:05Z",
            "sha257 k9s 2024-01-02T03:04:05Z",
            "no digits at all",
        ];
        for _ in 0..2 {
            for t in texts {
                assert_eq!(mask_cached(t), mask(t), "{t}");
            }
        }
    }

    /// Every fixture line and a copy with other digits: the memo never changes an answer.
    #[test]
    fn cached_masks_equal_masks_on_fixtures() {
        let lines = crate::test_support::fixture_lines();
        for line in &lines {
            // Other digits, `0` kept (same skeleton: the memo answers), and all rotated.
            let same_zeros =
                crate::test_support::with_digits(line, |d| if d == 0 { 0 } else { d % 9 + 1 });
            let rotated = crate::test_support::with_digits(line, |d| (d + 7) % 10);
            for t in [line, &same_zeros, &rotated, line] {
                assert_eq!(mask_cached(t), mask(t), "{t}");
            }
        }
        assert!(lines.len() > 1000, "only {} fixture lines", lines.len());
    }

    #[test]
    fn same_failure_same_fingerprint() {
        let pairs: &[(&str, &str)] = &[
            (
                "[talos] 2024/11/20 09:14:03 task setupSharedFilesystems (1/1): failed: invalid argument",
                "[talos] 2025/01/02 23:59:59 task setupSharedFilesystems (1/1): failed: invalid argument",
            ),
            (
                "rpc error: code = Unavailable desc = connection error: dial tcp 10.5.0.2:50000: connect: connection refused",
                "rpc error: code = Unavailable desc = connection error: dial tcp 172.20.0.3:50000: connect: connection refused",
            ),
            (
                "service[etcd](Running): Started task etcd (PID 2315) for container 4c3f1e0a9b8d",
                "service[etcd](Running): Started task etcd (PID 4470) for container 9f8e7d6c5b4a",
            ),
            (
                "waiting for etcd, 5.2s elapsed, peer [fd00::2]:2380",
                "waiting for etcd, 31.07s elapsed, peer [fd00::3]:2380",
            ),
        ];
        for (a, b) in pairs {
            assert_eq!(fingerprint("TD-TEST-001", a), fingerprint("TD-TEST-001", b), "{a}");
        }
    }

    #[test]
    fn different_rule_or_text_differs() {
        let line = "task setupSharedFilesystems (1/1): failed: invalid argument";
        let other = "task setupSharedFilesystems (1/1): failed: operation not permitted";
        assert_ne!(fingerprint("TD-CTR-001", line), fingerprint("TD-CTR-002", line));
        assert_ne!(fingerprint("TD-CTR-001", line), fingerprint("TD-CTR-001", other));
        assert_eq!(fingerprint("TD-CTR-001", line).len(), 16);
    }

    #[test]
    fn fnv_is_the_published_function() {
        // FNV-1a 64 of "a" is af63dc4c8601ec8c; with an empty rule id the input is "\0a".
        let mut h = FNV_OFFSET;
        for b in b"a" {
            h ^= u64::from(*b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        assert_eq!(format!("{h:016x}"), "af63dc4c8601ec8c");
    }
}

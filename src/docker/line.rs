//! What `watch` reads off one container log line before the analyzer sees it: the node
//! prefix to drop (in `watch` the container is the node), the log's own clock, and the bare
//! message for the live table.

use crate::parse::{envelope, normalize::normalize, time::Stamp};

/// One line as `watch` sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Look {
    /// Bytes of a node prefix at the start of the line (`192.168.77.151: `, `cp-01  | `),
    /// which the analyzer must not see: it would file the line under that node.
    pub(crate) prefix: usize,
    /// The line's own timestamp (Unix seconds), when it carries a wall-clock one.
    pub(crate) log_time: Option<f64>,
    /// The message without any envelope (`[    8.002] [talos] …`, `user: warning: […]: `,
    /// Go's date, the node prefix), controls removed.
    pub(crate) message: String,
}

/// Looks at `bytes` (a line without its newline, Docker's timestamp already cut off).
pub(crate) fn look(bytes: &[u8]) -> Look {
    let text = String::from_utf8_lossy(bytes);
    let norm = normalize(&text);
    let env = envelope::parse(&norm);
    let prefix = env.node.map_or(0, |n| prefix_len(bytes, n.as_bytes()));
    let log_time = match env.time {
        Some(Stamp::Wall(t)) => Some(t),
        _ => None,
    };
    let message = env.text.trim().chars().filter(|c| !c.is_control()).collect();
    Look { prefix, log_time, message }
}

/// Length of `node` + `: ` (talosctl) or `node  | ` (compose) at the start of `line`, else 0.
fn prefix_len(line: &[u8], node: &[u8]) -> usize {
    let Some(rest) = line.strip_prefix(node) else { return 0 };
    if rest.starts_with(b": ") {
        return node.len() + 2;
    }
    let gap = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    if gap > 0 && rest[gap..].starts_with(b"| ") {
        return node.len() + gap + 2;
    }
    0
}

/// Whether the log's clock stays with the wall clock: a line's log time minus Docker's
/// receive time is near constant while the clock is continuous; a jump (NTP setting the
/// clock, a VM resumed) moves it at once. A stall measured in the log's time is only
/// believed while the clock was continuous.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    offset: Option<f64>,
    /// The largest jump seen, in seconds, and its line.
    pub(crate) jump: Option<(f64, u64)>,
}

/// A change of the log-minus-wall offset this large is a jump, not lag.
const JUMP_S: f64 = 60.0;

impl Clock {
    /// Records a line stamped `log` (Unix seconds) that Docker received at `wall_ns`.
    pub(crate) fn observe(&mut self, log: f64, wall_ns: i128, line: u64) {
        let offset = log - wall_ns as f64 / 1e9;
        if let Some(prev) = self.offset {
            let d = offset - prev;
            if d.abs() >= JUMP_S && self.jump.is_none_or(|(j, _)| d.abs() > j.abs()) {
                self.jump = Some((d, line));
            }
        }
        self.offset = Some(offset);
    }
}

/// `8760h0m0s`-style, rounded to what a reader needs.
pub(crate) fn human_secs(s: f64) -> String {
    let a = s.abs();
    let sign = if s < 0.0 { "-" } else { "" };
    if a >= 86_400.0 {
        format!("{sign}{:.0} days", a / 86_400.0)
    } else if a >= 3600.0 {
        format!("{sign}{:.1} h", a / 3600.0)
    } else {
        format!("{sign}{:.0} min", a / 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_messages() {
        for (line, prefix, message) in [
            (
                "192.168.77.151: user: warning: [2024-11-20T09:14:03.1Z]: [talos] phase env (4/10): done",
                "192.168.77.151: ".len(),
                "phase env (4/10): done",
            ),
            ("192.168.77.20: [talos] task x (1/1): starting", 15, "task x (1/1): starting"),
            ("cp-01  | [talos] boot sequence: done: 1s", 9, "boot sequence: done: 1s"),
            ("[    8.002] [talos] setting hostname", 0, "setting hostname"),
            ("[talos] 2024/11/20 09:14:03 phase env (4/10): done", 0, "phase env (4/10): done"),
            ("panic: runtime error", 0, "panic: runtime error"),
        ] {
            let l = look(line.as_bytes());
            assert_eq!((l.prefix, l.message.as_str()), (prefix, message), "{line}");
        }
        assert!(look(b"[talos] 2024/11/20 09:14:03 x").log_time.is_some());
    }

    #[test]
    fn a_clock_jump_is_seen_and_lag_is_not() {
        let mut c = Clock::default();
        let s = 1_732_094_043.0;
        c.observe(s, (s as i128 + 5) * 1_000_000_000, 1);
        c.observe(s + 1.0, (s as i128 + 30) * 1_000_000_000, 2);
        assert_eq!(c.jump, None);
        c.observe(s + 31_536_000.0, (s as i128 + 31) * 1_000_000_000, 3);
        assert_eq!(c.jump.map(|(_, l)| l), Some(3));
        assert_eq!(human_secs(31_536_000.0), "365 days");
    }
}

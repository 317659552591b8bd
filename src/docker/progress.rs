//! What `watch` shows while it waits: a live table on a terminal (one row per node, redrawn
//! in place with ANSI cursor moves, a spinner on the rows still going), plain lines as phases
//! complete in a pipe, in CI or under `TERM=dumb` (no escape at all). Both go to stderr, so
//! stdout holds only the report. The last-message column holds the message alone: the
//! envelope (`[    8.002] [talos] `, `192.168.77.20: user: warning: [...]: `, Go's date) is
//! taken off by [`super::line::look`] before a row gets it.

use std::io::Write;
use std::time::Duration;

/// One node's row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    /// Node name.
    pub node: String,
    /// `boot 6/10 sharedFilesystems`, or a state word.
    pub phase: String,
    /// Time since the container's current run started.
    pub elapsed: Duration,
    /// Last log message, envelope removed.
    pub last: String,
    /// Boot number when more than one was seen.
    pub boots: u32,
    /// Final word (`done`, `failed`, …) once the node has a verdict.
    pub verdict: Option<String>,
}

/// The display.
pub(crate) struct Display<'w> {
    out: &'w mut dyn Write,
    live: bool,
    width: usize,
    drawn: usize,
    frame: usize,
}

/// Spinner frames (ASCII: a terminal that takes cursor moves may still lack the glyphs).
const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

impl<'w> Display<'w> {
    /// `live`: redraw rows in place (stderr is a terminal); otherwise print events as lines.
    pub(crate) fn new(out: &'w mut dyn Write, live: bool, width: usize) -> Self {
        Display { out, live, width: width.max(40), drawn: 0, frame: 0 }
    }

    /// Redraws the table (live mode only).
    pub(crate) fn draw(&mut self, rows: &[Row]) {
        if !self.live {
            return;
        }
        let mut buf = String::new();
        if self.drawn > 0 {
            buf.push_str(&format!("\x1b[{}A", self.drawn));
        }
        let name_w = rows.iter().map(|r| r.node.chars().count()).max().unwrap_or(4).min(24);
        self.frame = self.frame.wrapping_add(1);
        let spin = SPINNER[self.frame % SPINNER.len()];
        for r in rows {
            let secs = r.elapsed.as_secs();
            let mut phase = r.phase.clone();
            if r.boots > 1 {
                phase = format!("#{} {phase}", r.boots);
            }
            if let Some(v) = &r.verdict {
                phase = format!("{phase} [{v}]");
            }
            let mark = if r.verdict.is_some() { ' ' } else { spin };
            let head = format!(
                "{mark} {:name_w$}  {:<34}  {:02}:{:02}  ",
                clip(&r.node, name_w),
                clip(&phase, 34),
                secs / 60,
                secs % 60
            );
            let room = self.width.saturating_sub(head.chars().count() + 1);
            buf.push_str(&format!("\r\x1b[2K{head}{}\n", clip(&r.last, room)));
        }
        self.drawn = rows.len();
        let _ = self.out.write_all(buf.as_bytes());
        let _ = self.out.flush();
    }

    /// An event line (pipe mode), or nothing in live mode (the table shows it).
    pub(crate) fn event(&mut self, node: &str, text: &str) {
        if self.live {
            return;
        }
        let _ = writeln!(self.out, "{node}: {text}");
        let _ = self.out.flush();
    }

    /// A line that matters in both modes (container exited, restarted): printed above the
    /// live table.
    pub(crate) fn note(&mut self, node: &str, text: &str, rows: &[Row]) {
        if self.live {
            if self.drawn > 0 {
                let _ = write!(self.out, "\x1b[{}A", self.drawn);
            }
            let _ = write!(self.out, "\r\x1b[J");
            self.drawn = 0;
            let _ = writeln!(self.out, "{node}: {text}");
            self.draw(rows);
        } else {
            self.event(node, text);
        }
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_mode_prints_lines() {
        let mut buf = Vec::new();
        let mut d = Display::new(&mut buf, false, 80);
        d.draw(&[Row::default()]);
        d.event("n1", "boot 1/10 saveConfig done");
        d.note("n1", "container exited with code 1", &[Row::default()]);
        let s = String::from_utf8(buf).expect("utf8");
        assert_eq!(s, "n1: boot 1/10 saveConfig done\nn1: container exited with code 1\n");
        assert!(!s.contains('\x1b'));
    }

    #[test]
    fn live_mode_redraws_in_place() {
        let mut buf = Vec::new();
        let mut d = Display::new(&mut buf, true, 80);
        let row =
            Row { node: "n1".into(), phase: "boot 1/10 saveConfig".into(), ..Default::default() };
        d.draw(std::slice::from_ref(&row));
        d.draw(&[row]);
        let s = String::from_utf8(buf).expect("utf8");
        assert_eq!(s.matches("\x1b[1A").count(), 1);
        assert_eq!(s.matches("n1  boot 1/10 saveConfig").count(), 2);
        assert!(s.contains("/ n1") && s.contains("- n1"), "{s}");
    }
}

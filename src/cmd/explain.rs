//! `explain-line`: traces log lines to the Talos source that prints them (`kb::messages`).

use std::io::{self, Write};

use crate::cli::ExplainLineArgs;
use crate::error::Error;
use crate::exit;
use crate::kb::messages;
use crate::parse::{envelope, normalize::normalize};
use crate::redact::{REDACTED, Redactor, redact};

/// Prints, for each line, the catalogue entries that match its message: the message itself
/// first, then texts nested in it (a task's error, a zap `error` field).
pub(crate) fn run(args: &ExplainLineArgs) -> Result<u8, Error> {
    let stdout = io::stdout();
    let mut w = stdout.lock();
    let mut all_traced = true;
    // The lines are one paste, in order: a secret can span them (a PEM key's body, the value
    // on the line after its key), which the stream's redactor sees and a line alone does not.
    let mut secret_lines = Redactor::default();
    let written = (|| -> io::Result<()> {
        for line in &args.lines {
            let norm = normalize(line);
            let env = envelope::parse(&norm);
            if secret_lines.line(&env.text) {
                writeln!(w, "{REDACTED}")?;
            } else {
                writeln!(w, "{}", redact(&env.text))?;
            }
            let matches = messages::lookup(&env.text);
            if matches.is_empty() {
                all_traced = false;
                writeln!(
                    w,
                    "  not in the Talos message catalogue (kernel, kubelet, etcd, containerd or other text)"
                )?;
            }
            for m in matches.iter().filter(|m| !m.alt).take(6) {
                let indent = "  ".repeat(usize::from(m.depth) + 1);
                let range = if m.first_release == m.last_release {
                    m.first_release.to_owned()
                } else {
                    format!("{}-{}", m.first_release, m.last_release)
                };
                let weak = if m.weak { ", weak match" } else { "" };
                writeln!(
                    w,
                    "{indent}{:?}  {} ({}{weak}), {range}",
                    m.format, m.component, m.level
                )?;
                writeln!(w, "{indent}  {}", m.url)?;
            }
            writeln!(w)?;
        }
        w.flush()
    })();
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Error::Output(e)),
    }
    Ok(if all_traced { exit::OK } else { exit::UNEXPLAINED })
}

//! Fix steps: prose wrapped to the width and each command on its own line, whole, so it can
//! be copied as it is.

use std::io::{self, Write};

use super::P;
use super::text::wrap;

/// A piece of a fix step: prose, or a command to copy.
#[derive(Debug, PartialEq)]
pub(super) enum Piece<'a> {
    Prose(&'a str),
    Command(&'a str),
}

/// A fix step cut into prose and commands. A code span with a space in it (`docker run …`,
/// `talosctl cluster create`) is a command; a one-word span (`/var`) and a list of flags
/// (`-v /var -v /run`) stay in the prose.
pub(super) fn pieces(step: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = step;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].len() - rest[start..].trim_start_matches('`').len();
        let fence = &rest[start..start + ticks];
        let body_at = start + ticks;
        let Some(len) = rest[body_at..].find(fence) else { break };
        let body = &rest[body_at..body_at + len];
        let body_text = body.trim();
        let in_parens =
            rest[..start].ends_with('(') && rest[body_at + len + ticks..].starts_with(')');
        if is_command(body_text) && !in_parens {
            out.push(Piece::Prose(&rest[..start]));
            out.push(Piece::Command(body.trim()));
        } else {
            out.push(Piece::Prose(&rest[..body_at + len + ticks]));
        }
        rest = &rest[body_at + len + ticks..];
    }
    out.push(Piece::Prose(rest));
    // Merge neighbouring prose; drop prose that is only punctuation between or after commands.
    let mut merged: Vec<Piece<'_>> = Vec::new();
    for piece in out {
        match (merged.last_mut(), piece) {
            (Some(Piece::Prose(last)), Piece::Prose(next)) => {
                let start = last.as_ptr() as usize - step.as_ptr() as usize;
                let end = next.as_ptr() as usize - step.as_ptr() as usize + next.len();
                *last = &step[start..end];
            }
            (_, piece) => merged.push(piece),
        }
    }
    merged.retain(|p| match p {
        Piece::Prose(t) => t.chars().any(char::is_alphanumeric),
        Piece::Command(_) => true,
    });
    merged
}

/// Whether a code span is a command line to run (`talosctl -n <ip> get resolvers`), as
/// opposed to a config snippet (`machine.network.nameservers: [1.1.1.1]`), a path or a flag
/// list: it has arguments and starts with a program a fix step tells people to run.
pub(super) fn is_command(span: &str) -> bool {
    const PROGRAMS: &[&str] = &[
        "talosctl",
        "talos-doctor",
        "docker",
        "docker-compose",
        "podman",
        "kubectl",
        "crane",
        "dig",
        "nslookup",
        "curl",
        "wget",
        "nc",
        "ping",
        "ip",
        "ss",
        "sudo",
        "systemctl",
        "journalctl",
        "sysctl",
        "modprobe",
        "cat",
        "ls",
        "mount",
        "mkdir",
        "chmod",
        "rm",
        "cp",
        "echo",
        "export",
        "helm",
        "omnictl",
        "clusterctl",
        "kubeadm",
        "etcdctl",
        "openssl",
        "ssh",
        "qemu-img",
        "virsh",
        "govc",
        "aws",
        "gcloud",
        "az",
        "hcloud",
        "terraform",
        "iptables",
        "nft",
        "wipefs",
        "dd",
        "lsblk",
        "blkid",
        "sgdisk",
        "parted",
        "base64",
        "gzip",
        "zcat",
        "tar",
        "jq",
        "yq",
        "grep",
        "env",
        "sh",
        "bash",
    ];
    let mut words = span.split_whitespace();
    let first = words.next().unwrap_or("");
    let first = first.rsplit('/').next().unwrap_or(first);
    words.next().is_some() && PROGRAMS.contains(&first)
}

/// One numbered fix step: prose wrapped at the width, each command on its own line, whole
/// and without backticks, so that it can be copied as it is.
pub(super) fn fix_step(p: &P<'_>, no: usize, step: &str, w: &mut dyn Write) -> io::Result<()> {
    const INDENT: &str = "        ";
    let mut number = Some(format!("    {no:>2}. "));
    for piece in pieces(step) {
        match piece {
            Piece::Prose(text) => {
                let body = wrap(text.trim(), p.o.width, INDENT);
                match number.take() {
                    Some(n) => write!(w, "{n}{}", body.trim_start())?,
                    None => write!(w, "{body}")?,
                }
            }
            Piece::Command(cmd) => {
                if let Some(n) = number.take() {
                    writeln!(w, "{}", n.trim_end())?;
                }
                writeln!(w, "{INDENT}  {}", p.cyan(cmd))?;
            }
        }
    }
    if let Some(n) = number {
        writeln!(w, "{}", n.trim_end())?;
    }
    Ok(())
}

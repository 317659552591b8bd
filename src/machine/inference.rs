//! What a node's log says about itself beyond its boot steps: the mode it runs in (container,
//! metal, cloud) from votes cast line by line, and its Talos version from the phase lists and
//! tasks of the [catalogue](super::catalogue).

use std::collections::HashMap;

use super::catalogue::{self, Catalogue, Observed};
use super::version::Version;
use super::{Boot, Machine};
use crate::parse::envelope;
use crate::report::Mode;

#[derive(Debug, Default)]
/// The votes for a node's mode, cast line by line.
pub(crate) struct ModeVotes {
    container: u64,
    metal: u64,
    explicit: Option<(Mode, String)>,
    evidence: Vec<String>,
}

/// Casts the votes of one line: its envelope and the platform its text names.
pub(crate) fn vote_mode(
    v: &mut ModeVotes,
    env: &envelope::Envelope<'_>,
    platform: Option<&(Mode, String)>,
) {
    if env.dialect.container_stamp {
        v.container += 1;
    }
    if env.talos && (env.dialect.console || env.dialect.dmesg) {
        v.metal += 1;
    }
    if env.initramfs {
        v.metal += 1;
    }
    if v.explicit.is_none() {
        v.explicit = platform.cloned();
    }
}

/// The mode the votes and the boot's phases decide, with the evidence.
pub(crate) fn decide_mode(v: &ModeVotes, boot: &Boot) -> (Mode, Vec<String>) {
    let mut ev = v.evidence.clone();
    if let Some((m, why)) = &v.explicit {
        ev.push(why.clone());
        return (*m, ev);
    }
    let metal_phase = boot
        .sequences
        .iter()
        .flat_map(|s| s.phases.iter())
        .find(|p| catalogue::builtin().metal_only_phases.contains(&p.name));
    if v.container > 0 && v.container >= v.metal && metal_phase.is_none() {
        ev.push(format!(
            "{} lines carry Go's date after `[talos]`, which only container mode prints",
            v.container
        ));
        return (Mode::Container, ev);
    }
    if let Some(p) = metal_phase {
        ev.push(format!("phase `{}` runs only on metal/cloud", p.name));
        return (Mode::Metal, ev);
    }
    if v.metal > 0 {
        ev.push(format!("{} `[talos]` lines came through the kernel log (console/dmesg), which container mode does not use", v.metal));
        return (Mode::Metal, ev);
    }
    (Mode::Unknown, ev)
}

/// Expected phase names per sequence, from the catalogue.
pub(crate) type Names = NamesIn<'static>;

/// Expected phase names per sequence, from a given catalogue.
type NamesIn<'c> = HashMap<String, Vec<&'c str>>;

/// The Talos version (or range) the boot's sequences, phases and tasks fit, with the
/// evidence and the phase names it implies.
pub(crate) fn infer_version(
    m: &Machine,
    boot: &Boot,
    mode: Mode,
) -> (Option<String>, Vec<String>, Names) {
    infer_version_in(catalogue::builtin(), m, boot, mode)
}

/// [`infer_version`] against a given catalogue.
fn infer_version_in<'c>(
    cat: &'c Catalogue,
    m: &Machine,
    boot: &Boot,
    mode: Mode,
) -> (Option<String>, Vec<String>, NamesIn<'c>) {
    let mut evidence = Vec::new();
    let mut names: NamesIn<'c> = HashMap::new();
    let list_mode = match mode {
        Mode::Container => Some(Mode::Container),
        Mode::Metal | Mode::Cloud => Some(Mode::Metal),
        Mode::Unknown => None,
    };
    let mut span: Option<(Version, Version)> = None;
    for s in &boot.sequences {
        if s.name.is_empty() {
            continue;
        }
        let total = s.total.or_else(|| s.phases.iter().find(|p| p.index > 0).and(None));
        let obs = Observed {
            sequence: &s.name,
            total,
            seen: s
                .phases
                .iter()
                .filter(|p| p.index > 0 && !p.name.is_empty())
                .map(|p| (p.index, p.name.as_str()))
                .collect(),
        };
        if obs.total.is_none() && obs.seen.is_empty() {
            continue;
        }
        let cands = cat.candidates(&obs, list_mode);
        if let Some(n) = total.and_then(|t| catalogue::expected_names(&cands, t)) {
            names.insert(s.name.clone(), n);
        }
        let Some(r) = catalogue::range(&cands) else { continue };
        let from = cands.iter().map(|l| l.from).min().unwrap_or_default();
        let to = cands.iter().map(|l| l.to).max().unwrap_or_default();
        let first = obs
            .seen
            .iter()
            .min_by_key(|(i, _)| *i)
            .map(|(i, n)| format!(", phase {i} `{n}`"))
            .unwrap_or_default();
        evidence.push(format!(
            "{} sequence: {} phases{first} → {r}",
            s.name,
            total.map_or("?".into(), |t| t.to_string())
        ));
        span = Some(match span {
            None => (from, to),
            Some((f, t)) if from.max(f) <= to.min(t) => (from.max(f), to.min(t)),
            Some(prev) => prev,
        });
    }
    // Tasks that exist only in some releases narrow the range further.
    for s in &boot.sequences {
        for p in &s.phases {
            for t in &p.tasks {
                let Some(tv) = cat.task_versions.iter().find(|v| v.task == t.name) else {
                    continue;
                };
                let (from, to) = (&tv.from, &tv.to);
                let Some((f, tt)) = span else { continue };
                let (nf, nt) = (f.max(*from), tt.min(*to));
                if nf <= nt && (nf, nt) != (f, tt) {
                    span = Some((nf, nt));
                    evidence.push(format!(
                        "task `{}` exists only in {}",
                        t.name,
                        catalogue::span(*from, *to)
                    ));
                }
            }
        }
    }
    if let Some((v, line)) = &m.banner_version {
        evidence.insert(0, format!("initramfs banner `booting Talos {v}` at line {line}"));
        return (Some(v.clone()), evidence, names);
    }
    let version = span.map(|(from, to)| catalogue::span(from, to));
    (version, evidence, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{envelope, message};

    /// A made-up release, v1.99, whose container boot runs nine phases: an entry in
    /// `data/phases.toml` alone makes the machine name a log's version and its unreached phases.
    #[test]
    fn a_new_release_needs_only_data() {
        let v199 = r#"
[[list]]
label = "v1.99"
from = "v1.99"
mode = "container"
sequence = "boot"
phases = ["validateConfig", "saveConfig", "env", "containerd", "dbus", "sharedFilesystems", "var", "userSetup", "warpDrive"]
"#;
        let data = format!("{}{v199}", include_str!("../../data/phases.toml"));
        let cat = Catalogue::parse(&data).expect("catalogue");
        let log = "[talos] 2024/01/01 00:00:00 boot sequence: 9 phase(s)\n\
                   [talos] 2024/01/01 00:00:00 phase validateConfig (1/9): 1 tasks(s)\n\
                   [talos] 2024/01/01 00:00:01 phase validateConfig (1/9): done, 1ms\n\
                   [talos] 2024/01/01 00:00:01 phase saveConfig (2/9): 1 tasks(s)";
        let mut m = Machine::new("-");
        for (i, l) in log.lines().enumerate() {
            let env = envelope::parse(l);
            m.step(i as u64 + 1, env.time, &message::parse(&env.text), None);
        }
        let (version, evidence, names) = infer_version_in(&cat, &m, &m.boot, Mode::Container);
        assert_eq!(version.as_deref(), Some("v1.99+"), "{evidence:?}");
        assert_eq!(names["boot"][8], "warpDrive");
        // Without the entry, no release fits.
        let (version, _, names) = infer_version(&m, &m.boot, Mode::Container);
        assert_eq!(version, None);
        assert!(names.is_empty());
    }
}

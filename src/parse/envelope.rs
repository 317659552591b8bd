//! Envelope parsing: everything around a Talos message.
//!
//! A Talos line reaches a user through several layers, outermost first (reference §1.2,
//! §1.3, §6): `docker compose logs` (`name  | `), `docker logs -t` (RFC 3339 stamp),
//! `talosctl` (`<node>: `), `talosctl dmesg` (`user: warning: [time]: `), machined's buffer
//! stamp (`2006/01/02 15:04:05.000000 `), the kernel console (`[    3.29] `), the `[talos] `
//! prefix and `[initramfs] `, and finally Go's `log` date (container mode) or the task
//! logger's `task X (n/m): ` prefix. Whole-line JSON (log shipping, etcd) and zap's
//! development encoder (`talosctl logs controller-runtime`) are recognised too. Each layer
//! is optional and detected per line, so mixed and interleaved input works.

use std::borrow::Cow;

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_while1},
    character::complete::{char, digit1, space0},
    combinator::{opt, recognize},
    sequence::{delimited, preceded, terminated},
};

use super::message::json_fields;
use super::time::{Stamp, go_stamp, rfc3339};

/// A normalised log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// debug and lower.
    Debug,
    /// info and notice.
    Info,
    /// warning.
    Warn,
    /// err and above.
    Error,
}

impl Level {
    /// Reads syslog, zap, logrus and etcd level names.
    pub fn parse(s: &str) -> Option<Level> {
        // Lowercased in a stack buffer (no name is longer than 7 bytes): this runs on most
        // lines, and `to_ascii_lowercase` would allocate.
        let s = s.trim().as_bytes();
        let mut buf = [0u8; 7];
        let lower = buf.get_mut(..s.len())?;
        lower.copy_from_slice(s);
        lower.make_ascii_lowercase();
        Some(match &*lower {
            b"debug" | b"trace" => Level::Debug,
            b"info" | b"notice" => Level::Info,
            b"warn" | b"warning" => Level::Warn,
            b"err" | b"error" | b"crit" | b"alert" | b"emerg" | b"fatal" | b"panic" | b"dpanic" => {
                Level::Error
            }
            _ => return None,
        })
    }

    /// The name rules match against (`level = '^error'`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Which shapes were recognised on a line; used to infer the node's mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dialect {
    /// `[talos] YYYY/MM/DD HH:MM:SS`: Go's date after the prefix, container mode only.
    pub container_stamp: bool,
    /// A kernel console stamp `[   3.29]`.
    pub console: bool,
    /// A `talosctl dmesg` / kernel-forwarding record.
    pub dmesg: bool,
    /// A whole-line JSON object.
    pub json: bool,
    /// zap's development encoder (`talosctl logs controller-runtime`).
    pub zap_dev: bool,
}

/// A line with its envelope taken apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope<'a> {
    /// Node from a `talosctl` or compose prefix.
    pub node: Option<&'a str>,
    /// Best timestamp on the line.
    pub time: Option<Stamp>,
    /// Level, where the envelope carries one.
    pub level: Option<Level>,
    /// Syslog facility of dmesg records (`kern`, `user`, …).
    pub facility: Option<&'a str>,
    /// The line carried the `[talos]` prefix.
    pub talos: bool,
    /// The line came from the initramfs (`[talos] [initramfs]`).
    pub initramfs: bool,
    /// Task-logger prefix: task name and `n/m`.
    pub task: Option<(&'a str, &'a str)>,
    /// Service a shipped JSON line came from (`talos-service`).
    pub service: Option<Cow<'a, str>>,
    /// Shapes recognised.
    pub dialect: Dialect,
    /// The message: what rules match and the sequencer parser reads.
    pub text: Cow<'a, str>,
}

type Res<'a, T> = IResult<&'a str, T>;

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// `name  | ` as `docker compose logs` prints it.
fn compose_prefix(i: &str) -> Res<'_, &str> {
    // By hand over bytes: tried first on every line. `space1` is spaces and tabs.
    let err = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag));
    let b = i.as_bytes();
    let name = b.iter().take_while(|&&c| name_char(char::from(c))).count();
    let gap = b[name..].iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    if name == 0 || gap == 0 || !b[name + gap..].starts_with(b"| ") {
        return Err(err());
    }
    // Every byte taken is ASCII: the offsets are char boundaries.
    Ok((&i[name + gap + 2..], &i[..name]))
}

/// `2024-10-09T12:53:26.123456789Z ` as `docker logs -t` prints it.
fn docker_stamp(i: &str) -> Res<'_, f64> {
    terminated(rfc3339, char(' ')).parse(i)
}

/// A syslog facility name; a `match`, which compiles to a switch on length and a compare,
/// instead of up to twenty string comparisons per dmesg line.
fn is_facility(s: &str) -> bool {
    matches!(
        s,
        "kern"
            | "user"
            | "mail"
            | "daemon"
            | "auth"
            | "syslog"
            | "lpr"
            | "news"
            | "uucp"
            | "cron"
            | "authpriv"
            | "ftp"
            | "local0"
            | "local1"
            | "local2"
            | "local3"
            | "local4"
            | "local5"
            | "local6"
            | "local7"
    )
}

/// The syslog facilities, as a list: the specification of [`is_facility`].
#[cfg(test)]
const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

/// `user: warning: [2022-08-06T20:06:35.921770935Z]: ` (`talosctl dmesg`, server format
/// `"%s: %7s: [%s]: %s"`, so the level may be left-padded). By hand over bytes: it is tried
/// on most lines of a `talosctl dmesg` capture.
fn dmesg_prefix(i: &str) -> Res<'_, (&str, Option<Level>, f64)> {
    let err = || nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag));
    let b = i.as_bytes();
    let blank = |at: usize| at + b[at..].iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    // `word: ` made of the bytes `ok` allows, at `at`: the word's end.
    let word = |at: usize, ok: fn(&u8) -> bool| {
        let end = at + b[at..].iter().take_while(|c| ok(c)).count();
        (end > at && b[end..].starts_with(b": ")).then_some(end)
    };
    let f0 = blank(0);
    let f1 = word(f0, u8::is_ascii_alphanumeric).ok_or_else(err)?;
    // Every byte so far is ASCII: the offsets are char boundaries.
    let fac = &i[f0..f1];
    if !is_facility(fac) {
        return Err(err());
    }
    let l0 = blank(f1 + 2);
    let l1 = word(l0, u8::is_ascii_alphabetic).ok_or_else(err)?;
    let lvl = Level::parse(&i[l0..l1]);
    let r = i[l1 + 2..].strip_prefix('[').ok_or_else(err)?;
    let (r, t) = rfc3339(r)?;
    let r = r.strip_prefix("]: ").ok_or_else(err)?;
    Ok((r, (fac, lvl, t)))
}

/// `[    3.292923] ` kernel console stamp, with an optional `[T1]` caller field.
/// Talos v0.x machined's own prefix: `2020-12-08 12:34:47.510729 I | `.
fn legacy_prefix(i: &str) -> Option<(&str, f64, Option<Level>)> {
    let b = i.as_bytes();
    if b.len() < 30 || !b[0].is_ascii_digit() || b[4] != b'-' {
        return None;
    }
    let (r, t) = rfc3339(i).ok()?;
    let (r, lvl) = legacy_level(r.strip_prefix(' ')?)?;
    Some((r, t, Some(lvl)))
}

/// The `I | ` after the v0.x prefix's date.
fn legacy_level(i: &str) -> Option<(&str, Level)> {
    let rb = i.as_bytes();
    if rb.len() < 3 || &rb[1..3] != b" |" {
        return None;
    }
    let lvl = match rb[0] {
        b'D' => Level::Debug,
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' | b'F' => Level::Error,
        _ => return None,
    };
    Some((i[3..].strip_prefix(' ').unwrap_or(&i[3..]), lvl))
}

fn kernel_stamp(i: &str) -> Res<'_, f64> {
    let (r, num) =
        delimited((char('['), space0), recognize((digit1, char('.'), digit1)), char(']'))
            .parse(i)?;
    // PRINTK_CALLER adds `[T123]` (thread) or `[C1]` (CPU); nothing else may be eaten here,
    // least of all the `[talos]` that follows.
    let (r, _) = opt(preceded(
        space0,
        delimited((char('['), nom::character::complete::one_of("TC")), digit1, char(']')),
    ))
    .parse(r)?;
    let (r, _) = char(' ').parse(r)?;
    Ok((r, num.parse().unwrap_or(0.0)))
}

/// `task setupSharedFilesystems (1/1): ` followed by Go's date: the task logger in
/// container mode puts its prefix *before* the date.
fn task_logger(i: &str) -> Res<'_, (&str, &str, f64)> {
    let (r, (_, name, _, n, _)) = (
        tag("task "),
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_'),
        tag(" ("),
        recognize((digit1, char('/'), digit1)),
        tag("): "),
    )
        .parse(i)?;
    let (r, t) = terminated(go_stamp, char(' ')).parse(r)?;
    Ok((r, (name, n, t)))
}

fn looks_like_ip(s: &str) -> bool {
    // Dotted-quad by hand first: most node prefixes are IPv4 and the std parser is general.
    ipv4(s.as_bytes()) || (s.contains(':') && s.parse::<std::net::Ipv6Addr>().is_ok())
}

/// Four decimal octets (0-255, no leading zeros, as `Ipv4Addr`'s parser requires).
fn ipv4(b: &[u8]) -> bool {
    let mut parts = 0;
    for part in b.split(|&c| c == b'.') {
        parts += 1;
        let ok = match part {
            [d] => d.is_ascii_digit(),
            [b'1'..=b'9', d] => d.is_ascii_digit(),
            [b'1', d, e] => d.is_ascii_digit() && e.is_ascii_digit(),
            [b'2', b'0'..=b'4', e] => e.is_ascii_digit(),
            [b'2', b'5', b'0'..=b'5'] => true,
            _ => false,
        };
        if !ok || parts > 4 {
            return false;
        }
    }
    parts == 4
}

/// Holds `"talos-`, the key prefix of Talos log shipping. The searcher is built once: most
/// controller lines end with `}` and building it per line cost more than the search.
fn shipped_key(s: &str) -> bool {
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"talos-"));
    KEY.find(s.as_bytes()).is_some()
}

/// `<node>: ` from `talosctl logs`/`dmesg` (`"%s: %s\n"`). Only taken as a node when what
/// follows is a shape talosctl prints, or the node is an IP address: `panic: runtime error`
/// must not become node `panic`.
fn node_prefix(i: &str) -> Option<(&str, &str)> {
    // A node name is short and made of name characters: look only at the start of the
    // line (most lines have a `: ` somewhere, and a search through all of it is wasted).
    let head = i.as_bytes();
    let end = head.iter().take(255).position(|&b| !(name_char(char::from(b)) || b == b':'))?;
    if end < 1 || head.get(end) != Some(&b' ') || head[end - 1] != b':' {
        return None;
    }
    // The scan above already bounds the name (at most 253 bytes) and its characters.
    let pos = end - 1;
    let node = &i[..pos];
    if node.is_empty() {
        return None;
    }
    let rest = &i[pos + 2..];
    // Cheapest tests first: most prefixed lines carry an address, and the shape parsers
    // would run again on `rest` anyway.
    let follows = rest.starts_with("[talos]")
        || rest.starts_with('{')
        || looks_like_ip(node)
        || dmesg_prefix(rest).is_ok()
        || go_stamp(rest).is_ok()
        || kernel_stamp(rest).is_ok();
    follows.then_some((node, rest))
}

/// zap development encoder: `2024-06-10T10:32:11.123Z\tERROR\tmsg\t{json}`.
fn zap_dev(i: &str) -> Res<'_, (f64, Option<Level>)> {
    let (r, t) = terminated(rfc3339, char('\t')).parse(i)?;
    let (r, lvl) =
        terminated(take_while1(|c: char| c.is_ascii_alphabetic()), char('\t')).parse(r)?;
    Ok((r, (t, Level::parse(lvl))))
}

/// Strips every layer it recognises; never fails. `line` must not hold the newline.
pub fn parse(line: &str) -> Envelope<'_> {
    let mut env = Envelope::default();
    let mut rest = line;

    if let Ok((r, name)) = compose_prefix(rest) {
        env.node = Some(name);
        rest = r;
    }
    if let Ok((r, t)) = docker_stamp(rest) {
        env.time = Some(Stamp::Wall(t));
        rest = r;
    }
    if let Some((node, r)) = node_prefix(rest) {
        env.node = Some(node);
        rest = r;
    }
    if let Ok((r, (fac, lvl, t))) = dmesg_prefix(rest) {
        env.facility = Some(fac);
        env.level = lvl;
        env.time = Some(Stamp::Wall(t));
        env.dialect.dmesg = true;
        rest = r;
    }
    if let Ok((r, (t, lvl))) = zap_dev(rest) {
        env.time = Some(Stamp::Wall(t));
        env.level = lvl;
        env.dialect.zap_dev = true;
        rest = r;
        env.text = Cow::Owned(rest.replace('\t', " "));
        return env;
    }
    // machined's buffer stamp (v1.5+), or a plain Go `log` line before logger setup.
    if let Ok((r, t)) = terminated(go_stamp, char(' ')).parse(rest) {
        env.time = Some(Stamp::Wall(t));
        rest = r;
    }
    if let Some((r, t, lvl)) = legacy_prefix(rest) {
        env.time = Some(Stamp::Wall(t));
        env.level = env.level.or(lvl);
        rest = r;
    } else if let Some((r, lvl)) = legacy_level(rest).filter(|_| env.time.is_some()) {
        // The date of the v0.x prefix was read as a `docker logs -t` stamp.
        env.level = env.level.or(Some(lvl));
        rest = r;
    }
    if let Ok((r, t)) = kernel_stamp(rest) {
        if env.time.is_none() {
            env.time = Some(Stamp::Uptime(t));
        }
        env.dialect.console = true;
        rest = r;
    }
    if let Some(r) = rest.strip_prefix("[talos] ") {
        env.talos = true;
        rest = r;
        // machined writes /dev/kmsg records without a `<N>` priority, so the kernel files
        // every `[talos]` line as `user: warning` (reference §1.3): that level says nothing.
        if env.facility == Some("user") && env.level == Some(Level::Warn) {
            env.level = None;
        }
        if let Some(r) = rest.strip_prefix("[initramfs] ") {
            env.initramfs = true;
            rest = r;
        }
        if let Ok((r, t)) = terminated(go_stamp, char(' ')).parse(rest) {
            env.time = Some(Stamp::Wall(t));
            env.dialect.container_stamp = true;
            rest = r;
        } else if let Ok((r, (name, n, t))) = task_logger(rest) {
            env.task = Some((name, n));
            env.time = Some(Stamp::Wall(t));
            env.dialect.container_stamp = true;
            rest = r;
        }
    } else if rest == "[talos]" {
        env.talos = true;
        rest = "";
    }
    if !env.talos && !rest.starts_with('{') {
        // Two writers interleaved on one console (machined and the kernel, v0.x printed both)
        // leave a piece of the other's line before a kernel stamp: read from that stamp.
        if let Some(p) = memchr::memmem::find(rest.as_bytes(), b"] [talos] ").filter(|&p| p > 0) {
            if let Some(open) = rest[..p].rfind('[').filter(|&o| o > 0) {
                if kernel_stamp(&rest[open..]).is_ok() {
                    let mut inner = parse(&rest[open..]);
                    inner.node = inner.node.or(env.node);
                    inner.time = inner.time.or(env.time);
                    return inner;
                }
            }
        }
    }
    let trimmed = rest.trim_end();
    if trimmed.starts_with('{') && trimmed.ends_with('}') {
        if let Some(shipped) = json_line(trimmed, &mut env) {
            return shipped;
        }
    } else if trimmed.ends_with('}') && shipped_key(trimmed) {
        // A shipped Talos record behind a collector's prefix, e.g. stern/kubectl output of
        // Sidero's `serverlogs` (`<pod> <container> {"msg":"[talos] …","talos-level":…}`).
        if let Some(pos) = trimmed.find(" {\"") {
            let mut probe = env.clone();
            if let Some(shipped) = json_line(&trimmed[pos + 1..], &mut probe) {
                return shipped;
            }
        }
    }
    env.text = Cow::Borrowed(rest);
    env
}

/// A whole-line JSON object. Talos log shipping (`talos-time`/`talos-level`/
/// `talos-service`) wraps a machined line in `msg`: that line is parsed again so the
/// sequencer sees it, and the remaining fields are appended zap-style. Any other JSON
/// (etcd, containerd) keeps its raw text; its `level`/`ts` still fill the envelope.
fn json_line<'a>(raw: &'a str, outer: &mut Envelope<'a>) -> Option<Envelope<'a>> {
    // Most JSON lines are not shipped machined lines: read the few keys they need without
    // building the object; only shipped lines are parsed in full below.
    let [talos_level, level, talos_time, ts, time, talos_service] =
        json_fields(raw, ["talos-level", "level", "talos-time", "ts", "time", "talos-service"])?;
    outer.dialect.json = true;
    if talos_time.is_none() && talos_service.is_none() {
        let level = talos_level.or(level).flatten();
        let time = talos_time.or(ts).or(time).flatten();
        outer.level = outer.level.or(level.as_deref().and_then(Level::parse));
        outer.time = outer
            .time
            .or(time.as_deref().and_then(|s| rfc3339(s).ok()).map(|(_, t)| Stamp::Wall(t)));
        return None;
    }
    let serde_json::Value::Object(map) = serde_json::from_str::<serde_json::Value>(raw).ok()?
    else {
        return None;
    };
    let level = map
        .get("talos-level")
        .or_else(|| map.get("level"))
        .and_then(|v| v.as_str())
        .and_then(Level::parse);
    let time = map
        .get("talos-time")
        .or_else(|| map.get("ts"))
        .or_else(|| map.get("time"))
        .and_then(|v| v.as_str())
        .and_then(|s| rfc3339(s).ok())
        .map(|(_, t)| Stamp::Wall(t));
    let msg = map.get("msg").and_then(|v| v.as_str()).unwrap_or("");
    // Re-parse the inner machined line; it is owned, so copy the parts we keep.
    // Shipped records keep the newline machined wrote.
    let inner = parse(msg.trim_end_matches(['\n', '\r']));
    let mut text = inner.text.into_owned();
    let extra: Vec<String> = map
        .iter()
        .filter(|(k, _)| {
            !matches!(k.as_str(), "msg" | "talos-time" | "talos-level" | "talos-service")
        })
        .map(|(k, v)| format!("{}: {}", serde_json::Value::String(k.clone()), v))
        .collect();
    if !extra.is_empty() {
        text.push_str(" {");
        text.push_str(&extra.join(", "));
        text.push('}');
    }
    Some(Envelope {
        node: outer.node,
        time: time.or(inner.time).or(outer.time),
        level: level.or(inner.level),
        facility: outer.facility,
        talos: inner.talos,
        initramfs: inner.initramfs,
        task: None,
        service: map
            .get("talos-service")
            .and_then(|v| v.as_str())
            .map(|s| Cow::Owned(s.to_owned())),
        dialect: Dialect { json: true, ..inner.dialect },
        text: Cow::Owned(text),
    })
}

/// True when `s` is nothing but a timestamp some log viewers put on a line of its own
/// (Omni's `01/01/1970 11:17:24`): not an unparsed line, just noise.
pub fn is_bare_timestamp(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty()
        && t.len() <= 40
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '/' | '-' | ':' | ' ' | '.' | 'T' | 'Z'))
        && t.chars().filter(char::is_ascii_digit).count() >= 8
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Want {
        node: Option<&'static str>,
        talos: bool,
        task: Option<(&'static str, &'static str)>,
        text: &'static str,
        wall: bool,
    }

    fn w(node: Option<&'static str>, talos: bool, text: &'static str) -> Want {
        Want { node, talos, task: None, text, wall: true }
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, Want)> = vec![
            (
                "[talos] 2024/10/09 12:53:26 phase env (4/10): 2 tasks(s)",
                w(None, true, "phase env (4/10): 2 tasks(s)"),
            ),
            (
                "[talos] task diskSizeCheck (1/1): 2024/10/09 12:53:26 skipping disk size check in the container",
                Want {
                    node: None,
                    talos: true,
                    task: Some(("diskSizeCheck", "1/1")),
                    text: "skipping disk size check in the container",
                    wall: true,
                },
            ),
            (
                "2024-10-09T12:53:26.123456789Z [talos] 2024/10/09 12:53:26 boot sequence: failed",
                w(None, true, "boot sequence: failed"),
            ),
            (
                "talos-cp-01  | [talos] 2024/10/09 12:53:26 boot sequence: failed",
                w(Some("talos-cp-01"), true, "boot sequence: failed"),
            ),
            (
                "[    3.292923] [talos] initialize sequence: 11 phase(s)",
                Want {
                    node: None,
                    talos: true,
                    task: None,
                    text: "initialize sequence: 11 phase(s)",
                    wall: false,
                },
            ),
            (
                "[talos] [initramfs] booting Talos v1.12.0",
                Want {
                    node: None,
                    talos: true,
                    task: None,
                    text: "booting Talos v1.12.0",
                    wall: false,
                },
            ),
            (
                "172.20.0.2: 2024/06/10 10:32:11.123456 [talos] phase env (4/15): 1 tasks(s)",
                w(Some("172.20.0.2"), true, "phase env (4/15): 1 tasks(s)"),
            ),
            (
                "cp-1: 2024/06/10 10:32:11.123456 [talos] 2024/06/10 10:32:11 phase env (4/10): 1 tasks(s)",
                w(Some("cp-1"), true, "phase env (4/10): 1 tasks(s)"),
            ),
            (
                "192.168.77.20: user: warning: [2022-11-19T01:40:11.202824078Z]: [talos] boot sequence: done: 4m26.855228102s",
                w(Some("192.168.77.20"), true, "boot sequence: done: 4m26.855228102s"),
            ),
            (
                " kern:    info: [2025-05-18T15:40:20.654325542Z]: memory: usage 40964kB, limit 40960kB, failcnt 172",
                w(None, false, "memory: usage 40964kB, limit 40960kB, failcnt 172"),
            ),
            (
                "panic: runtime error: slice bounds out of range",
                Want {
                    node: None,
                    talos: false,
                    task: None,
                    text: "panic: runtime error: slice bounds out of range",
                    wall: false,
                },
            ),
            (
                "error acquiring via platform vmware: failed to decode extraConfig",
                Want {
                    node: None,
                    talos: false,
                    task: None,
                    text: "error acquiring via platform vmware: failed to decode extraConfig",
                    wall: false,
                },
            ),
            (
                "boot sequence: failed",
                Want {
                    node: None,
                    talos: false,
                    task: None,
                    text: "boot sequence: failed",
                    wall: false,
                },
            ),
            (
                "2024/10/09 12:53:24 limited GOMAXPROCS to 4",
                w(None, false, "limited GOMAXPROCS to 4"),
            ),
            (
                r#"{"msg":"[talos] 2024/10/09 12:53:26 task setupSharedFilesystems (1/1): failed: invalid argument","talos-level":"info","talos-service":"machined","talos-time":"2024-10-09T12:53:26.5Z"}"#,
                w(None, true, "task setupSharedFilesystems (1/1): failed: invalid argument"),
            ),
            (
                r#"sidero-controller-manager-7b5 serverlogs {"msg":"[talos] renew failed {\"controller\": \"network.OperatorSpecController\"}\n","talos-level":"warn","talos-time":"2022-08-06T20:06:35.921770935Z"}"#,
                w(None, true, "renew failed {\"controller\": \"network.OperatorSpecController\"}"),
            ),
            (
                "2024-06-10T10:32:11.123Z\tERROR\tcontroller failed\t{\"controller\": \"a.B\"}",
                w(None, false, "controller failed {\"controller\": \"a.B\"}"),
            ),
        ];
        for (line, want) in cases {
            let env = parse(line);
            assert_eq!(env.node, want.node, "node of {line}");
            assert_eq!(env.talos, want.talos, "talos of {line}");
            assert_eq!(env.task, want.task, "task of {line}");
            assert_eq!(env.text, want.text, "text of {line}");
            assert_eq!(matches!(env.time, Some(Stamp::Wall(_))), want.wall, "time of {line}");
        }
    }

    #[test]
    fn levels_and_dialects() {
        let e = parse(" kern: warning: [2025-05-18T15:40:20.653515542Z]: apid invoked oom-killer");
        assert_eq!(e.facility, Some("kern"));
        assert_eq!(e.level, Some(Level::Warn));
        assert!(e.dialect.dmesg);
        let e = parse("[talos] 2024/10/09 12:53:26 x");
        assert!(e.dialect.container_stamp);
        let e = parse("[ 1250.898890] CPU: 2 PID: 1 Comm: init Not tainted");
        assert!(e.dialect.console);
        assert_eq!(e.text, "CPU: 2 PID: 1 Comm: init Not tainted");
        let e = parse(r#"172.16.0.11: {"level":"warn","ts":"2022-08-16T14:30:26.289Z","msg":"x"}"#);
        assert_eq!(e.node, Some("172.16.0.11"));
        assert_eq!(e.level, Some(Level::Warn));
        assert!(e.text.starts_with('{'));
        assert!(is_bare_timestamp("01/01/1970 11:17:24"));
        assert!(!is_bare_timestamp("phase 1/2"));
    }

    #[test]
    fn ip_check_agrees_with_std() {
        let cases = [
            "10.5.0.2",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1.2.3.04",
            "1..2.3",
            ".1.2.3",
            "1.2.3.",
            "199.249.250.251",
            "249.1.1.1",
            "a.b.c.d",
            "cp-1",
            "",
            "::1",
            "fe80::1",
            "2001:db8::2:1",
            "1.2.3.4:5",
            "::ffff:1.2.3.4",
            ":::",
            "1:2",
        ];
        for c in cases {
            assert_eq!(looks_like_ip(c), c.parse::<std::net::IpAddr>().is_ok(), "{c:?}");
        }
        // Every octet value and a few malformed ones, exhaustively.
        for o in (0..300)
            .map(|n: u32| n.to_string())
            .chain(["00", "000", "-1", "+1", "1a"].map(String::from))
        {
            let ip = format!("10.{o}.0.1");
            assert_eq!(looks_like_ip(&ip), ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
        }
    }

    /// The nom parser `dmesg_prefix` replaced, kept as its specification.
    fn dmesg_prefix_nom(i: &str) -> Res<'_, (&str, Option<Level>, f64)> {
        let (r, _) = space0.parse(i)?;
        let (r, fac) =
            terminated(take_while1(|c: char| c.is_ascii_alphanumeric()), tag(": ")).parse(r)?;
        if !FACILITIES.contains(&fac) {
            return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag)));
        }
        let (r, lvl) =
            preceded(space0, terminated(take_while1(|c: char| c.is_ascii_alphabetic()), tag(": ")))
                .parse(r)?;
        let (r, t) = delimited(char('['), rfc3339, tag("]: ")).parse(r)?;
        Ok((r, (fac, Level::parse(lvl), t)))
    }

    #[test]
    fn dmesg_prefix_equals_its_nom_specification() {
        let mut lines: Vec<String> = [
            " kern:    info: [2025-05-18T15:40:20.654325542Z]: x",
            "user: warning: [2022-08-06T20:06:35.921770935Z]: [talos] y",
            "\tdaemon:\t err: [2022-08-06T20:06:35Z]: ",
            "kern: warning: [2022-08-06T20:06:35Z]:x",
            "kern: warnin9: [2022-08-06T20:06:35Z]: x",
            "kernel: warning: [2022-08-06T20:06:35Z]: x",
            "kern:: warning: [2022-08-06T20:06:35Z]: x",
            "kern: : [2022-08-06T20:06:35Z]: x",
            "kern: info: 2022-08-06T20:06:35Z]: x",
            "ker\u{fc}n: info: [2022-08-06T20:06:35Z]: x",
            "",
            ": ",
        ]
        .map(String::from)
        .to_vec();
        for line in crate::test_support::fixture_lines() {
            let (_, rest) = node_prefix(&line).unwrap_or(("", &line));
            lines.push(rest.to_owned());
        }
        let mut dmesg = 0;
        for l in &lines {
            // Every cut of the line, so that each step of the parser meets an early end.
            for cut in (0..=l.len()).filter(|&c| l.is_char_boundary(c)).take(80) {
                let p = &l[..cut];
                assert_eq!(dmesg_prefix(p).ok(), dmesg_prefix_nom(p).ok(), "{p:?}");
            }
            dmesg += usize::from(dmesg_prefix(l).is_ok());
        }
        assert!(dmesg > 100, "only {dmesg} dmesg lines in the fixtures");
    }

    #[test]
    fn facility_match_equals_the_list() {
        for f in FACILITIES {
            assert!(is_facility(f), "{f}");
        }
        for f in ["", "ker", "kernel", "Kern", "local8", "local", "user "] {
            assert_eq!(is_facility(f), FACILITIES.contains(&f), "{f}");
        }
    }

    /// The nom parser `compose_prefix` replaced, kept as its specification.
    fn compose_prefix_nom(i: &str) -> Res<'_, &str> {
        let (r, name) = take_while1(name_char).parse(i)?;
        let (r, _) = (nom::character::complete::space1, tag("| ")).parse(r)?;
        Ok((r, name))
    }

    #[test]
    fn compose_prefix_equals_its_nom_specification() {
        let cases = [
            "talos-cp-01  | [talos] x",
            "a | b",
            "a|b",
            "a  |b",
            " a | b",
            "a\t| b",
            "a.b_c-d \t | ",
            "| x",
            "ab",
            "",
            "\u{fc} | x",
            "a\u{fc} | x",
            "10.5.0.2: user: warning",
        ];
        for c in cases {
            for cut in (0..=c.len()).filter(|&n| c.is_char_boundary(n)) {
                let p = &c[..cut];
                assert_eq!(compose_prefix(p).ok(), compose_prefix_nom(p).ok(), "{p:?}");
            }
        }
    }

    #[test]
    fn level_names() {
        use Level::*;
        let cases = [
            ("info", Some(Info)),
            ("notice", Some(Info)),
            ("warning", Some(Warn)),
            ("WARN", Some(Warn)),
            (" warning ", Some(Warn)),
            ("err", Some(Error)),
            ("Error", Some(Error)),
            ("crit", Some(Error)),
            ("dpanic", Some(Error)),
            ("debug", Some(Debug)),
            ("TRACE", Some(Debug)),
            ("", None),
            ("information", None),
            ("warnings", None),
        ];
        for (name, want) in cases {
            assert_eq!(Level::parse(name), want, "{name:?}");
        }
    }
}

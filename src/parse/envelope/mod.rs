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

/// `HH:MM:SS ` or `HH:MM:SS.fff ` at the start, and what follows it.
fn time_of_day(i: &str) -> Option<&str> {
    let b = i.as_bytes();
    let two = |at: usize, max: u8| {
        b.get(at).is_some_and(|c| (b'0'..=max).contains(c))
            && b.get(at + 1).is_some_and(u8::is_ascii_digit)
    };
    let clock = two(0, b'2')
        && b.get(2) == Some(&b':')
        && two(3, b'5')
        && b.get(5) == Some(&b':')
        && two(6, b'5');
    if !clock {
        return None;
    }
    let mut at = 8;
    if b.get(at) == Some(&b'.') {
        let digits = b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        at += 1 + digits;
    }
    let rest = i.get(at..)?.strip_prefix(' ')?;
    (!rest.is_empty()).then_some(rest)
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
    TALOS_KEY.find(s.as_bytes()).is_some()
}

static TALOS_KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"talos-"));

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
        || kernel_stamp(rest).is_ok()
        || zap_dev(rest).is_ok();
    follows.then_some((node, rest))
}

/// zap development encoder: `2024-06-10T10:32:11.123Z\tERROR\tmsg\t{json}`; also with its
/// tabs turned to blanks, as it reaches people through a web page or a terminal's copy, and
/// then only with a level's name for a word (any word would do after a stamp otherwise).
fn zap_dev(i: &str) -> Res<'_, (f64, Option<Level>)> {
    let word = |c: char| c.is_ascii_alphabetic();
    let (r, t) = rfc3339(i)?;
    let tabbed: Res<'_, &str> = delimited(char('\t'), take_while1(word), char('\t')).parse(r);
    if let Ok((r, lvl)) = tabbed {
        return Ok((r, (t, Level::parse(lvl))));
    }
    let blank = |c: char| c == ' ' || c == '\t';
    let (r, lvl) = delimited(take_while1(blank), take_while1(word), take_while1(blank)).parse(r)?;
    match Level::parse(lvl) {
        Some(l) if lvl.bytes().all(|b| b.is_ascii_uppercase()) => Ok((r, (t, Some(l)))),
        _ => Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag))),
    }
}

/// `[talos] ` then Go's date and a blank at the start of `line`, read as [`parse`] reads
/// them there (container mode, most lines of a long capture): the date and the text after.
pub(crate) fn container_stamp(line: &str) -> Option<(f64, &str)> {
    let rest = line.strip_prefix("[talos] ")?;
    let (r, t) = terminated(go_stamp, char(' ')).parse(rest).ok()?;
    Some((t, r))
}

/// Strips every layer it recognises; never fails. `line` must not hold the newline.
pub fn parse(line: &str) -> Envelope<'_> {
    parse_layers(line, true)
}

/// [`parse`], with its two shortcuts when `fast`; `parse_layers(line, false)` takes none, as
/// the specification the tests compare with:
/// - a line that starts with `[talos] ` (most of a container-mode or `talosctl logs`
///   capture) goes straight to that layer: every parser of the layers outside it fails on
///   its first two bytes (`[t` is neither a name character, a blank, a digit, nor a kernel
///   stamp's `[` followed by blanks and a digit), so trying them changes nothing;
/// - a zap line behind a prefix is read as a shipped record only when it may be one (see
///   [`may_be_shipped`]).
fn parse_layers(line: &str, fast: bool) -> Envelope<'_> {
    let mut env = Envelope::default();
    let mut rest = line;
    if !(fast && line.starts_with("[talos] ")) && outer_layers(&mut env, &mut rest) {
        return env;
    }
    talos_layers(env, rest, fast)
}

/// The layers outside `[talos] `, outermost first, taken off `rest_out` into `env`; true for
/// a line whose envelope is complete here (zap's development encoder).
fn outer_layers<'a>(env: &mut Envelope<'a>, rest_out: &mut &'a str) -> bool {
    let mut rest = *rest_out;
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
    } else if let Some(r) = rest.strip_prefix(": ").filter(|r| dmesg_prefix(r).is_ok()) {
        // talosctl's `<node>: ` with the node cut off by whoever pasted the line.
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
        *rest_out = rest;
        return true;
    }
    // machined's buffer stamp (v1.5+), or a plain Go `log` line before logger setup.
    if let Ok((r, t)) = terminated(go_stamp, char(' ')).parse(rest) {
        env.time = Some(Stamp::Wall(t));
        rest = r;
        // `talosctl logs controller-runtime` stamps each zap line it relays.
        if let Ok((r, (t, lvl))) = zap_dev(rest) {
            env.time = Some(Stamp::Wall(t));
            env.level = lvl;
            env.dialect.zap_dev = true;
            env.text = Cow::Owned(r.replace('\t', " "));
            *rest_out = r;
            return true;
        }
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
    if env.time.is_none() {
        // A paste cut down to the clock (`15:22:22 service[udevd](Running): …`): the time of
        // day alone, without a date, is no stamp to measure by; the message follows it.
        if let Some(r) = time_of_day(rest) {
            rest = r;
        }
    }
    if let Ok((r, t)) = kernel_stamp(rest) {
        if env.time.is_none() {
            env.time = Some(Stamp::Uptime(t));
        }
        env.dialect.console = true;
        rest = r;
    }
    *rest_out = rest;
    false
}

/// `[talos] ` and what follows it, then the message's own shapes (whole-line and shipped JSON).
fn talos_layers<'a>(mut env: Envelope<'a>, mut rest: &'a str, fast: bool) -> Envelope<'a> {
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
                    let mut inner = parse_layers(&rest[open..], fast);
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
        // Only a record with a `talos-time` or `talos-service` key is taken (a zap line that
        // merely names a `talos-…` node is not): without a backslash no key is escaped, so
        // such a key is spelt out in the text.
        if let Some(pos) =
            trimmed.find(" {\"").filter(|&p| !fast || may_be_shipped(&trimmed[p + 1..]))
        {
            let mut probe = env.clone();
            if let Some(shipped) = json_line(&trimmed[pos + 1..], &mut probe) {
                return shipped;
            }
        }
    }
    env.text = Cow::Borrowed(rest);
    env
}

/// A necessary condition for [`json_line`] to take `json` as a shipped record: it holds a
/// `talos-time` or `talos-service` key, spelt out or with escapes.
fn may_be_shipped(json: &str) -> bool {
    let b = json.as_bytes();
    // The searcher is built once (`memmem::find` builds one per call).
    memchr::memchr(b'\\', b).is_some()
        || TALOS_KEY.find_iter(b).any(|p| {
            let key = &b[p + 7..];
            key.starts_with(b"time\"") || key.starts_with(b"service\"")
        })
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
mod tests;

//! The envelope parser's tests: tables, and the hand-written parsers against the nom
//! parsers they replaced.

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
        ("2024/10/09 12:53:24 limited GOMAXPROCS to 4", w(None, false, "limited GOMAXPROCS to 4")),
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
        // The same behind talosctl's node, its tabs turned to blanks by a paste, and relayed
        // by `talosctl logs` under machined's buffer stamp.
        (
            "cp1.example.com: 2025-04-30T19:18:30.924Z ERROR controller failed {\"controller\": \"a.B\"}",
            w(Some("cp1.example.com"), false, "controller failed {\"controller\": \"a.B\"}"),
        ),
        (
            "node: 2026/06/23 08:22:09.376252 2026-06-23T08:22:09.376Z DEBUG no bundle referrers found {\"image\": \"x\"}",
            w(Some("node"), false, "no bundle referrers found {\"image\": \"x\"}"),
        ),
        // A stamp and a word that is no level: a `docker logs -t` line, not zap.
        (
            "2025-04-30T19:18:30.924Z Error: failed to load config",
            w(None, false, "Error: failed to load config"),
        ),
        // `talosctl dmesg` with the `<node>: ` cut to `: ` in a paste.
        (
            ": user: warning: [2023-11-03T21:25:57.437836397Z]: Error: error validating extension",
            Want {
                node: None,
                talos: false,
                task: None,
                text: "Error: error validating extension",
                wall: true,
            },
        ),
        (
            ": not a record",
            Want { node: None, talos: false, task: None, text: ": not a record", wall: false },
        ),
        // A paste cut down to the time of day: the message is read, no stamp is made of it.
        (
            "15:22:22 service[udevd](Running): Health check successful",
            Want {
                node: None,
                talos: false,
                task: None,
                text: "service[udevd](Running): Health check successful",
                wall: false,
            },
        ),
        (
            "09:01:02.123 kubelet reported",
            Want { node: None, talos: false, task: None, text: "kubelet reported", wall: false },
        ),
        (
            "25:61:00 not a clock",
            Want {
                node: None,
                talos: false,
                task: None,
                text: "25:61:00 not a clock",
                wall: false,
            },
        ),
        ("12:00:00", Want { node: None, talos: false, task: None, text: "12:00:00", wall: false }),
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

/// The shortcuts of [`parse`] change nothing: on every fixture line, the same line behind
/// `[talos] ` and behind a collector's prefix, and records that are shipped or only look so.
#[test]
fn shortcuts_equal_the_full_parse() {
    let mut lines: Vec<String> = [
        r#"[talos] 2024/11/20 09:15:38 kubelet reported {"component": "controller-runtime", "controller": "k8s.NodeStatusController", "node": "talos-w-17", "ready": true}"#,
        r#"pod c {"msg":"[talos] x\n","talos-level":"warn","talos-time":"2022-08-06T20:06:35.921770935Z"}"#,
        r#"pod c {"msg":"[talos] x","talos-service":"machined"}"#,
        r#"pod c {"msg":"[talos] x","talos\u002dservice":"machined", "node": "talos-1"}"#,
        r#"pod c {"msg":"[talos] x", "node": "talos-1"}"#,
        "[talos] ",
        "[talos]",
        "[talos] [talos] x",
        "[talos] [    3.29] [talos] y",
        "[talos] 2024-06-10T10:32:11.123Z\tERROR\tcontroller failed\t{}",
    ]
    .map(String::from)
    .to_vec();
    for line in crate::test_support::fixture_lines() {
        lines.push(format!("[talos] {line}"));
        lines.push(format!("pod container {line}"));
        lines.push(line);
    }
    let mut fast = 0;
    for l in &lines {
        assert_eq!(parse_layers(l, true), parse_layers(l, false), "{l}");
        fast += usize::from(l.starts_with("[talos] "));
    }
    assert!(fast > 1000, "only {fast} lines take the shortcut");
}

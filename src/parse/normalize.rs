//! Undoing the escapes a Talos line picks up on its way to a person, before anything reads it.
//!
//! machined prints a line once; a user sees it through `talosctl dmesg` (the kernel escapes
//! a backslash as `\x5c`), a JSON viewer (one more level of JSON string escaping, `\\"` or
//! `{\"component\": …`), a Windows or serial console (`\r`, a literal `^M`), a web page (HTML
//! entities, smart quotes, no-break spaces), a Markdown quote or list (`> `, `- `) or the frame
//! Terraform and OpenTofu draw around a provider's error (`│ `, which the Talos provider's
//! errors, built from Talos' own config machinery, reach people in). Rules
//! and the sequencer grammar are written against the text machined printed, so every such
//! form is brought back to it here, once per line. Evidence keeps the line as given: only
//! what is parsed and matched is the normalised text.
//!
//! Most lines carry none of these marks; [`normalize`] tells that from a few byte scans and
//! then borrows the line unchanged.

use std::borrow::Cow;

/// The line as machined printed it (see the module doc). Borrowed when nothing applies.
pub fn normalize(line: &str) -> Cow<'_, str> {
    let b = line.as_bytes();
    let lead = b.first().is_some_and(|&c| {
        // 0xE2 starts the box-drawing characters of a Terraform diagnostic frame.
        matches!(c, b' ' | b'\t' | b'>' | b'-' | b'*' | b'+' | b'"' | b'\'' | b'`' | 0xE2)
    });
    let tail = line.ends_with('\r') || line.ends_with("^M");
    let marks = memchr::memchr2(b'\\', b'&', b).is_some();
    if !lead && !tail && !marks && line.is_ascii() {
        return Cow::Borrowed(line);
    }
    let mut s = Cow::Borrowed(line);
    if lead {
        let t = strip_quote_markers(&s);
        if t.len() != s.len() {
            s = Cow::Owned(t.to_owned());
        }
    }
    if tail {
        let t = s.trim_end_matches(['\r']).trim_end_matches("^M").trim_end_matches('\r');
        if t.len() != s.len() {
            s = Cow::Owned(t.to_owned());
        }
    }
    if !s.is_ascii() {
        if let Some(t) = unicode_punctuation(&s) {
            s = Cow::Owned(t);
        }
    }
    if memchr::memchr(b'&', s.as_bytes()).is_some() {
        if let Some(t) = html_entities(&s) {
            s = Cow::Owned(t);
        }
    }
    if memchr::memchr(b'\\', s.as_bytes()).is_some() {
        if let Some(t) = kmsg_escapes(&s) {
            s = Cow::Owned(t);
        }
        if let Some(t) = json_level(&s) {
            s = Cow::Owned(t);
        }
    }
    // Last, so that quotes an escape hid (`\x22…\x22`, `&quot;…&quot;`) count. An indented
    // line is a continuation (a Go error's `"transport: …"` on the next line), whose quotes
    // are Go's `%q`, not the writer's.
    if matches!(s.as_bytes().first(), Some(b'"' | b'\'' | b'`')) && !line.starts_with([' ', '\t']) {
        let t = strip_quote_markers(strip_quotes(&s));
        if t.len() != s.len() {
            s = Cow::Owned(t.to_owned());
        }
    }
    s
}

/// Leading blanks, Markdown quote/list markers (`> `, `> > `, `- `, `* `, `+ `) and the left
/// edge of a Terraform/OpenTofu diagnostic (`│ `, and the `╷` `╵` that open and close it).
fn strip_quote_markers(s: &str) -> &str {
    let mut t = s;
    loop {
        let before = t.len();
        t = t.trim_start_matches([' ', '\t']);
        for m in ["> ", "- ", "* ", "+ "] {
            if let Some(r) = t.strip_prefix(m) {
                t = r;
            }
        }
        // A quote marker needs no space after it (CommonMark: `>` then an optional blank), so
        // `>expected a mapping node` is the quoted line; list markers do need theirs.
        if let Some(r) = t.strip_prefix('>') {
            t = r;
        }
        for m in ["\u{2502} ", "\u{2502}", "\u{2577}", "\u{2575}"] {
            if let Some(r) = t.strip_prefix(m) {
                t = r;
                break;
            }
        }
        if t.len() == before {
            return t;
        }
    }
}

/// A line quoted whole, as people quote an error in prose or Markdown (`"file must exist"`,
/// `` `static hostname is already set` ``): the quotes are the writer's, not Talos'. Only a
/// pair around the whole line with no such quote inside, so a line of Talos' own that starts
/// with a quoted word (`"rootfs" volume: …`) keeps its quotes.
fn strip_quotes(s: &str) -> &str {
    // Two layers at most: code around a quoted error (`` `"…"` ``).
    let mut s = s;
    for _ in 0..2 {
        let Some(inner) = ['"', '\'', '`'].into_iter().find_map(|q| {
            let inner = s.trim_end().strip_prefix(q)?.strip_suffix(q)?;
            // Markdown's double backticks (``` ``code`` ```) hold the line the same way.
            let inner = if q == '`' { inner.trim_matches('`').trim() } else { inner };
            (!inner.is_empty() && !inner.contains(q)).then_some(inner)
        }) else {
            break;
        };
        s = inner;
    }
    s
}

/// No-break spaces and typographic quotes that web pages substitute.
fn unicode_punctuation(s: &str) -> Option<String> {
    if !s.contains(['\u{a0}', '\u{201c}', '\u{201d}', '\u{201e}', '\u{2018}', '\u{2019}']) {
        return None;
    }
    Some(
        s.chars()
            .map(|c| match c {
                '\u{a0}' => ' ',
                '\u{201c}' | '\u{201d}' | '\u{201e}' => '"',
                '\u{2018}' | '\u{2019}' => '\'',
                c => c,
            })
            .collect(),
    )
}

/// `&quot;` `&amp;` `&lt;` `&gt;` `&#39;` `&#34;` `&#x27;` `&nbsp;`, in one pass (so
/// `&amp;lt;` becomes `&lt;`, as a browser shows it).
fn html_entities(s: &str) -> Option<String> {
    const ENTITIES: &[(&str, char)] = &[
        ("&quot;", '"'),
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&#39;", '\''),
        ("&#34;", '"'),
        ("&#x27;", '\''),
        ("&#x22;", '"'),
        ("&apos;", '\''),
        ("&nbsp;", ' '),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut changed = false;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let tail = &rest[p..];
        match ENTITIES.iter().find(|(e, _)| tail.starts_with(e)) {
            Some((e, c)) => {
                out.push(*c);
                rest = &tail[e.len()..];
                changed = true;
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The kernel's `\xHH` escapes of printable ASCII (`/dev/kmsg` escapes `\` as `\x5c`;
/// some viewers also escape `"` as `\x22`), decoded in one pass: `\x5cn` is the two
/// characters `\n` that zap wrote inside a JSON string, not a newline.
fn kmsg_escapes(s: &str) -> Option<String> {
    if !s.contains("\\x") {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut changed = false;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            if let (Some(h), Some(l)) = (b.get(i + 2).and_then(hex), b.get(i + 3).and_then(hex)) {
                let c = h * 16 + l;
                if (0x20..0x7f).contains(&c) {
                    out.push(c);
                    i += 4;
                    changed = true;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    // Only printable ASCII replaced ASCII escapes: the bytes stay valid UTF-8.
    changed.then(|| String::from_utf8(out).ok()).flatten()
}

fn hex(c: &u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// One level of JSON string escaping too many. Two shapes: the whole text escaped once more
/// (`{\"component\": \"controller-runtime\", …}`: the zap fields' own quotes are escaped), or
/// only the inside of the strings (`"error": "controller \\"x\\" panicked\\n"`).
fn json_level(s: &str) -> Option<String> {
    if s.contains("{\\\"") {
        // Unescape every `\X` once: `\"` → `"`, `\\` → `\`; other escapes stay as written
        // (`\n` at this level stood for zap's own `\n`, two characters, after unescaping).
        let mut out = String::with_capacity(s.len());
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c == '\\' {
                match it.next() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some(o) => {
                        out.push('\\');
                        out.push(o);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        return Some(out);
    }
    if s.contains("\\\\\"") || s.contains("\\\\n") || s.contains("\\\\t") {
        let t = s.replace("\\\\\"", "\\\"").replace("\\\\n", "\\n").replace("\\\\t", "\\t");
        return (t != s).then_some(t);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANON: &str = r#"[talos] controller failed {"component": "controller-runtime", "controller": "k8s.KubeletServiceController", "error": "controller \"k8s.KubeletServiceController\" panicked: runtime error\n\ngoroutine 308"}"#;

    #[test]
    fn table() {
        let kmsg = CANON.replace('\\', "\\x5c");
        let kmsg22 = CANON.replace('\\', "\\x5c").replace('"', "\\x22");
        let json_in_json = CANON.replace('\\', "\\\\").replace('"', "\\\"");
        let inner_doubled = CANON.replace('\\', "\\\\");
        let html = CANON.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;");
        let cases: Vec<(String, &str)> = vec![
            (CANON.to_owned(), CANON),
            (kmsg, CANON),
            (kmsg22, CANON),
            (json_in_json, CANON),
            (inner_doubled, CANON),
            (html, CANON),
            (format!("{CANON}\r"), CANON),
            (format!("{CANON}^M"), CANON),
            (format!("> {CANON}"), CANON),
            (format!("> > {CANON}"), CANON),
            (format!(">{CANON}"), CANON),
            (format!(">>{CANON}"), CANON),
            ("-> b".to_owned(), "-> b"),
            (format!("  \u{2502} {CANON}"), CANON),
            (
                "\u{2502} Error: config_patches are invalid".to_owned(),
                "Error: config_patches are invalid",
            ),
            ("  \u{2577}".to_owned(), ""),
            ("\u{2502}".to_owned(), ""),
            ("\u{2500}\u{2500} x".to_owned(), "\u{2500}\u{2500} x"),
            ("-x".to_owned(), "-x"),
            (format!("- {CANON}"), CANON),
            (format!("   {CANON}"), CANON),
            (CANON.replace(' ', "\u{a0}"), CANON),
            ("[talos] a \u{201c}b\u{201d}".to_owned(), "[talos] a \"b\""),
            ("&amp;lt;".to_owned(), "&lt;"),
            ("a & b".to_owned(), "a & b"),
            (r"C:\x00 \xzz".to_owned(), r"C:\x00 \xzz"),
            (
                "[    3.29] [talos] phase env (4/10): 2 tasks(s)".to_owned(),
                "[    3.29] [talos] phase env (4/10): 2 tasks(s)",
            ),
            ("task x (1/1): 3.7µs".to_owned(), "task x (1/1): 3.7µs"),
            // A line quoted whole in prose or Markdown; Talos' own quotes stay.
            ("\"static hostname is already set\"".to_owned(), "static hostname is already set"),
            ("`a b`".to_owned(), "a b"),
            ("`\"a b\"`".to_owned(), "a b"),
            ("`` a b ``".to_owned(), "a b"),
            ("'a b' ".to_owned(), "a b"),
            ("- `a b`".to_owned(), "a b"),
            ("  \"transport: x\"".to_owned(), "\"transport: x\""),
            ("\"rootfs\" volume: x".to_owned(), "\"rootfs\" volume: x"),
            ("\"a\" and \"b\"".to_owned(), "\"a\" and \"b\""),
            ("'can't'".to_owned(), "'can't'"),
            ("\"\"".to_owned(), "\"\""),
        ];
        for (given, want) in &cases {
            assert_eq!(normalize(given), *want, "from {given:?}");
        }
    }

    #[test]
    fn clean_lines_are_borrowed() {
        for l in [CANON, "[talos] 2024/10/09 12:53:26 phase env (4/10): 2 tasks(s)", ""] {
            assert!(matches!(normalize(l), Cow::Borrowed(_)), "{l}");
        }
    }
}

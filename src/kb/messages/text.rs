//! Preparing a text for lookup: what Talos puts before its messages (`[talos]`, Go log
//! dates, zap console stamps and levels, colour codes), kmsg's cut and escapes, and the
//! zap JSON fields after a message.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

pub(super) fn go_log_date() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)? ")
            .expect("regex")
    })
}

pub(super) fn ansi() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new("\x1b\\[[0-9;]*[A-Za-z]").expect("regex"))
}

/// Colour codes before a zap level (`\x1b[31mERROR\x1b[0m`) are removed with the level below.
pub(super) fn ansi_lead() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+)?[ \t]+\x1b\\[[0-9;]*m[A-Z]+\x1b\\[0m[ \t]+",
        )
        .expect("regex")
    })
}

pub(super) fn zap_console_prefix() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(?:Z|[+-][0-9:]+)?[ \t]+(?:DEBUG|INFO|WARN|ERROR|DPANIC|PANIC|FATAL)[ \t]+",
        )
        .expect("regex")
    })
}

/// Skips what Talos puts before its messages; returns the text and whether kmsg cut it.
pub(super) fn normalize(message: &str) -> (Cow<'_, str>, bool) {
    let mut s = message.trim_end_matches(['\r', '\n', ' ', '\t']);
    if let Some(t) = s.strip_suffix("^M") {
        s = t.trim_end();
    }
    loop {
        let before = s.len();
        s = s.trim_start();
        if let Some(t) = s.strip_prefix("[talos]") {
            s = t.trim_start();
        }
        if let Some(m) = go_log_date().find(s) {
            s = &s[m.end()..];
        }
        if let Some(m) = zap_console_prefix().find(s) {
            s = &s[m.end()..];
        }
        if let Some(m) = ansi_lead().find(s) {
            s = &s[m.end()..];
        }
        if s.len() == before {
            break;
        }
    }
    let truncated = s.ends_with("...");
    if truncated {
        s = &s[..s.len() - 3];
    }
    let mut out = Cow::Borrowed(s);
    if out.contains("\\x5c") {
        out = Cow::Owned(out.replace("\\x5c", "\\"));
    }
    if out.contains('\u{1b}') {
        out = Cow::Owned(ansi().replace_all(&out, "").into_owned());
    }
    (out, truncated)
}

/// zap fields after a message.
#[derive(Debug)]
pub(super) struct Fields {
    pub(super) pairs: Vec<(String, Option<String>)>,
    pub(super) complete: bool,
}

impl Fields {
    pub(super) fn keys(&self) -> Vec<&str> {
        self.pairs.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// Splits `message {"key": ...}` (or a JSON record with "msg") into message and fields.
pub(super) fn split_fields(text: &str) -> (Cow<'_, str>, Option<Fields>) {
    if text.starts_with("{\"")
        && let Some((mut f, end)) = parse_object(text, true)
        && end == text.len()
    {
        if let Some(i) = f.pairs.iter().position(|(k, v)| k == "msg" && v.is_some()) {
            let msg = f.pairs.remove(i).1.unwrap_or_default();
            let msg = normalize(&msg).0.into_owned();
            return (Cow::Owned(msg), Some(f));
        }
        return (Cow::Owned(String::new()), Some(f));
    }
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(off) = text[from..].find("{\"") {
        let at = from + off;
        if at > 0 && (bytes[at - 1] == b' ' || bytes[at - 1] == b'\t') {
            // an unclosed object running to the end is a cut line, with or without `...`
            if let Some((f, end)) = parse_object(&text[at..], true)
                && at + end == text.len()
            {
                return (Cow::Borrowed(text[..at - 1].trim_end()), Some(f));
            }
        }
        from = at + 2;
    }
    (Cow::Borrowed(text), None)
}

/// A JSON object at the start of `s`: its top-level keys with string values (other values:
/// None) and the end offset. With `allow_cut`, an object that runs to the end of `s` unclosed
/// is returned with `complete: false`.
pub(super) fn parse_object(s: &str, allow_cut: bool) -> Option<(Fields, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let mut pairs = Vec::new();
    let ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] as char).is_ascii_whitespace() {
            *i += 1;
        }
    };
    let cut = |pairs: Vec<(String, Option<String>)>| {
        allow_cut.then_some((Fields { pairs, complete: false }, s.len()))
    };
    loop {
        ws(&mut i);
        if i >= b.len() {
            return cut(pairs);
        }
        if b[i] == b'}' {
            return Some((Fields { pairs, complete: true }, i + 1));
        }
        if b[i] == b',' {
            i += 1;
            ws(&mut i);
        }
        if i >= b.len() {
            return cut(pairs);
        }
        if b[i] != b'"' {
            return None;
        }
        let (key, next, closed) = json_string(s, i);
        if !closed {
            return cut(pairs);
        }
        i = next;
        ws(&mut i);
        if i >= b.len() {
            pairs.push((key, None));
            return cut(pairs);
        }
        if b[i] != b':' {
            return None;
        }
        i += 1;
        ws(&mut i);
        if i >= b.len() {
            pairs.push((key, None));
            return cut(pairs);
        }
        if b[i] == b'"' {
            let (val, next, closed) = json_string(s, i);
            pairs.push((key, Some(val)));
            if !closed {
                return cut(pairs);
            }
            i = next;
        } else {
            // number, literal, nested object or array: skip it
            let mut depth = 0i32;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        let (_, next, closed) = json_string(s, i);
                        if !closed {
                            break;
                        }
                        i = next;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b'}' if depth == 0 => break,
                    _ => {}
                }
                i += 1;
            }
            pairs.push((key, None));
            if i >= b.len() {
                return cut(pairs);
            }
        }
    }
}

/// JSON string starting at `s[i] == '"'`: (value, offset after it, closed).
pub(super) fn json_string(s: &str, i: usize) -> (String, usize, bool) {
    let mut out = String::new();
    let mut chars = s[i + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return (out, i + 1 + off + 1, true),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'b')) => out.push('\u{8}'),
                Some((_, 'f')) => out.push('\u{c}'),
                Some((_, 'u')) => {
                    let hex: String = chars.by_ref().take(4).map(|(_, c)| c).collect();
                    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        out.push(c);
                    }
                }
                Some((_, c)) => out.push(c),
                None => break,
            },
            c => out.push(c),
        }
    }
    (out, s.len(), false)
}

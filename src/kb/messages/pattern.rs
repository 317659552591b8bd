//! Go format strings as patterns: literal text and typed holes (`%s`, `%d`, `%q`, ...), and
//! the small backtracking matcher that fits a text to one, whole or cut.

use std::collections::HashSet;

/// Backtracking steps for one candidate at most.
pub(super) const MAX_STEPS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hole {
    Any,
    Int,
    Hex,
    Quoted,
    Bool,
    Float,
    Type,
    Char,
    Pointer,
    Unicode,
}

#[derive(Debug)]
pub(super) enum Seg {
    Lit(String),
    Hole(Hole),
}

#[derive(Debug)]
pub(super) struct Pattern {
    pub(super) segs: Vec<Seg>,
    /// Bytes of literal text: how specific the format is.
    pub(super) literal_len: usize,
    /// Non-blank bytes of literal text, for formats with holes (`usize::MAX` without holes).
    pub(super) solid: usize,
    /// Segment index of the hole whose text is looked up as a nested message.
    pub(super) tail_hole: Option<usize>,
}

/// Go format string -> literal segments and typed holes.
pub(super) fn compile(format: &str, prefix: bool) -> Pattern {
    let mut segs: Vec<Seg> = Vec::new();
    let mut lit = String::new();
    let b = format.as_bytes();
    let mut i = 0;
    let mut last = 0; // start of pending literal bytes
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        lit.push_str(&format[last..i]);
        let mut j = i + 1;
        while j < b.len() && b"-+# 0".contains(&b[j]) {
            j += 1;
        }
        let skip_index = |j: &mut usize| {
            if *j < b.len() && b[*j] == b'[' {
                while *j < b.len() && b[*j] != b']' {
                    *j += 1;
                }
                *j += 1;
            }
        };
        skip_index(&mut j);
        while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'*') {
            j += 1;
        }
        if j < b.len() && b[j] == b'.' {
            j += 1;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'*') {
                j += 1;
            }
        }
        skip_index(&mut j);
        if j >= b.len() {
            // dangling '%': literal
            lit.push('%');
            i += 1;
            last = i;
            continue;
        }
        let hole = match b[j] {
            b'%' => None,
            b's' | b'v' | b'w' => Some(Hole::Any),
            b'q' => Some(Hole::Quoted),
            b'd' | b'b' | b'o' | b'O' => Some(Hole::Int),
            b'x' | b'X' => Some(Hole::Hex),
            b't' => Some(Hole::Bool),
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' => Some(Hole::Float),
            b'T' => Some(Hole::Type),
            b'c' => Some(Hole::Char),
            b'p' => Some(Hole::Pointer),
            b'U' => Some(Hole::Unicode),
            _ => Some(Hole::Any),
        };
        match hole {
            None => lit.push('%'),
            Some(h) => {
                if !lit.is_empty() {
                    segs.push(Seg::Lit(std::mem::take(&mut lit)));
                }
                segs.push(Seg::Hole(h));
            }
        }
        i = j + 1;
        last = i;
    }
    lit.push_str(&format[last..]);
    if prefix {
        // a log.New prefix as printed by a [talos]-stripped line
        if let Some(Seg::Lit(first)) = segs.first_mut() {
            if let Some(rest) = first.strip_prefix("[talos]") {
                *first = rest.trim_start().to_owned();
            }
        } else if segs.is_empty()
            && let Some(rest) = lit.strip_prefix("[talos]")
        {
            lit = rest.trim_start().to_owned();
        }
    } else {
        let t = lit.trim_end().len();
        lit.truncate(t);
    }
    if !lit.is_empty() {
        segs.push(Seg::Lit(lit));
    }
    if !prefix {
        // leading whitespace of a format does not survive the log pipeline either
        if let Some(Seg::Lit(first)) = segs.first_mut() {
            let t = first.trim_start().to_owned();
            *first = t;
        }
        segs.retain(|s| !matches!(s, Seg::Lit(l) if l.is_empty()));
    }
    let literal_len = segs.iter().map(|s| if let Seg::Lit(l) = s { l.len() } else { 0 }).sum();
    // the last hole, when only punctuation follows it: `...: %w`, `... (%v)`
    let tail_hole = segs.iter().rposition(|s| matches!(s, Seg::Hole(Hole::Any))).filter(|&h| {
        segs[h + 1..].iter().all(|s| match s {
            Seg::Lit(l) => !l.bytes().any(|c| c.is_ascii_alphanumeric()),
            Seg::Hole(_) => false,
        })
    });
    let has_hole = segs.iter().any(|s| matches!(s, Seg::Hole(_)));
    let solid = if has_hole {
        segs.iter()
            .map(|s| {
                if let Seg::Lit(l) = s {
                    l.bytes().filter(|c| !c.is_ascii_whitespace()).count()
                } else {
                    0
                }
            })
            .sum()
    } else {
        usize::MAX
    };
    Pattern { segs, literal_len, solid, tail_hole }
}

impl Hole {
    fn accepts(self, s: &str) -> bool {
        match self {
            Hole::Any => true,
            Hole::Type => !s.is_empty() && !s.contains('\n'),
            Hole::Int => {
                let t = s.trim_start_matches(' ');
                let t = t.strip_prefix(['-', '+']).unwrap_or(t);
                !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit())
            }
            Hole::Hex => {
                let t = s.strip_prefix('-').unwrap_or(s);
                let t = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
                t.bytes().all(|c| c.is_ascii_hexdigit() || c == b' ')
            }
            Hole::Quoted => {
                let bs = s.as_bytes();
                bs.len() >= 2 && bs[0] == bs[bs.len() - 1] && quoted_body_ok(bs, true)
                    || bs.len() >= 2 && bs[0] == b'[' && bs[bs.len() - 1] == b']'
            }
            Hole::Bool => s == "true" || s == "false",
            Hole::Float => {
                let t = s.trim_start_matches(' ');
                !t.is_empty()
                    && (t.bytes().all(|c| c.is_ascii_digit() || b".eE+-".contains(&c))
                        || matches!(t, "NaN" | "+Inf" | "-Inf"))
            }
            Hole::Char => s.chars().count() == 1,
            Hole::Pointer => s.starts_with("0x") && s[2..].bytes().all(|c| c.is_ascii_hexdigit()),
            Hole::Unicode => s.starts_with("U+"),
        }
    }

    /// `s` can begin what the hole prints (the text was cut inside the hole).
    fn accepts_prefix(self, s: &str) -> bool {
        match self {
            Hole::Int => {
                let t = s.trim_start_matches(' ');
                let t = t.strip_prefix(['-', '+']).unwrap_or(t);
                t.bytes().all(|c| c.is_ascii_digit())
            }
            Hole::Quoted => {
                s.is_empty() || s.starts_with('[') || quoted_body_ok(s.as_bytes(), false)
            }
            Hole::Bool => "true".starts_with(s) || "false".starts_with(s),
            _ => true,
        }
    }
}

/// `s` is what `%q` prints (`"..."`, `` `...` ``, `'.'`): no unescaped closing quote before the
/// end; with `closed`, the last byte is that quote; without, the text may stop anywhere.
pub(super) fn quoted_body_ok(s: &[u8], closed: bool) -> bool {
    let Some(&q) = s.first() else { return false };
    if !matches!(q, b'"' | b'`' | b'\'') {
        return false;
    }
    let mut i = 1;
    while i < s.len() {
        let c = s[i];
        if c == b'\\' && q != b'`' {
            i += 2;
            continue;
        }
        if c == q {
            return closed && i == s.len() - 1;
        }
        i += 1;
    }
    !closed
}

pub(super) struct MatchResult {
    /// End of the matched text (the text's length when anchored at the end).
    pub(super) end: usize,
    pub(super) partial: bool,
    /// Text of each hole segment on the successful path.
    pub(super) caps: Vec<Option<(usize, usize)>>,
}

pub(super) struct Matcher<'a> {
    pub(super) segs: &'a [Seg],
    pub(super) text: &'a str,
    pub(super) partial_ok: bool,
    pub(super) anchored_end: bool,
    pub(super) failed: HashSet<(usize, usize)>,
    pub(super) steps: usize,
    pub(super) caps: Vec<Option<(usize, usize)>>,
}

/// Matches `text` against a pattern from its start. With `anchored_end` the whole text must
/// be explained; with `partial_ok` the text may end before the pattern does.
pub(super) fn match_pattern(
    p: &Pattern,
    text: &str,
    partial_ok: bool,
    anchored_end: bool,
) -> Option<MatchResult> {
    // quick reject: the first literal of a format that starts with one
    if let Some(Seg::Lit(l)) = p.segs.first()
        && !text.starts_with(l.as_str())
        && !(partial_ok && l.starts_with(text))
    {
        return None;
    }
    let mut m = Matcher {
        segs: &p.segs,
        text,
        partial_ok,
        anchored_end,
        failed: HashSet::new(),
        steps: 0,
        caps: vec![None; p.segs.len()],
    };
    let (end, partial) = m.go(0, 0)?;
    Some(MatchResult { end, partial, caps: m.caps })
}

impl Matcher<'_> {
    fn go(&mut self, i: usize, pos: usize) -> Option<(usize, bool)> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return None;
        }
        let text = self.text;
        let len = text.len();
        if i == self.segs.len() {
            return (!self.anchored_end || pos == len).then_some((pos, false));
        }
        if self.failed.contains(&(i, pos)) {
            return None;
        }
        let rest = &text[pos..];
        let r = match &self.segs[i] {
            Seg::Lit(l) => {
                if rest.starts_with(l.as_str()) {
                    self.go(i + 1, pos + l.len())
                } else if rest.len() < l.len()
                    && l.starts_with(rest)
                    && (self.partial_ok || self.anchored_end && l.as_bytes()[rest.len()] == b'\n')
                {
                    // cut text, or the first line of a multi-line message
                    Some((len, true))
                } else {
                    None
                }
            }
            Seg::Hole(h) => {
                let h = *h;
                match self.segs.get(i + 1) {
                    Some(Seg::Lit(l)) => {
                        let mut found = None;
                        for (off, _) in rest.match_indices(l.as_str()) {
                            let e = pos + off;
                            if h.accepts(&text[pos..e])
                                && let Some(r) = self.go(i + 1, e)
                            {
                                self.caps[i] = Some((pos, e));
                                found = Some(r);
                                break;
                            }
                            if self.steps > MAX_STEPS {
                                break;
                            }
                        }
                        if found.is_none() && self.anchored_end {
                            // the first line of a multi-line message ends in or after this hole
                            if let Some(k) = l.find('\n') {
                                let e = len.wrapping_sub(k);
                                if k <= rest.len()
                                    && text.is_char_boundary(e)
                                    && text[e..] == l[..k]
                                    && h.accepts(&text[pos..e])
                                {
                                    self.caps[i] = Some((pos, e));
                                    found = Some((len, true));
                                }
                            }
                        }
                        if found.is_none() && self.partial_ok {
                            // cut inside the literal after the hole
                            for k in (1..l.len().min(rest.len() + 1)).rev() {
                                let e = len - k;
                                if e >= pos
                                    && text.is_char_boundary(e)
                                    && l.starts_with(&text[e..])
                                    && h.accepts(&text[pos..e])
                                {
                                    self.caps[i] = Some((pos, e));
                                    found = Some((len, true));
                                    break;
                                }
                            }
                        }
                        if found.is_none() && self.partial_ok && h.accepts_prefix(rest) {
                            // cut inside the hole
                            self.caps[i] = Some((pos, len));
                            found = Some((len, true));
                        }
                        found
                    }
                    None => {
                        if !self.anchored_end {
                            // open end (prefix): take the shortest acceptable text
                            let e = rest
                                .char_indices()
                                .map(|(o, _)| pos + o)
                                .chain(std::iter::once(len))
                                .find(|&e| h.accepts(&text[pos..e]))?;
                            self.caps[i] = Some((pos, e));
                            Some((e, false))
                        } else if h.accepts(rest) {
                            self.caps[i] = Some((pos, len));
                            Some((len, false))
                        } else if self.partial_ok && h.accepts_prefix(rest) {
                            self.caps[i] = Some((pos, len));
                            Some((len, true))
                        } else {
                            None
                        }
                    }
                    Some(Seg::Hole(_)) => {
                        let mut found = None;
                        let ends: Vec<usize> = rest
                            .char_indices()
                            .map(|(o, _)| pos + o)
                            .chain(std::iter::once(len))
                            .collect();
                        for e in ends {
                            if h.accepts(&text[pos..e])
                                && let Some(r) = self.go(i + 1, e)
                            {
                                self.caps[i] = Some((pos, e));
                                found = Some(r);
                                break;
                            }
                            if self.steps > MAX_STEPS {
                                break;
                            }
                        }
                        found
                    }
                }
            }
        };
        if r.is_none() {
            self.failed.insert((i, pos));
        }
        r
    }
}

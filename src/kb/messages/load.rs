//! Loading the catalogue: the TSV records (`V`, `G`, `R`, `P`, `E`) into entries, each
//! format compiled to a [`Pattern`], and the word index that picks the candidates for a text.

use std::collections::{HashMap, HashSet};

use super::pattern::{Pattern, Seg, compile};
use super::{Catalogue, Entry, Path, Release, Run};

/// Supported data schema (the `V` line).
pub(super) const SCHEMA: &str = "1";

impl Catalogue {
    /// Parses catalogue text (the TSV written by gen.py) and builds the index.
    pub fn parse(text: &str) -> Result<Catalogue, String> {
        let mut cat = Catalogue {
            releases: Vec::new(),
            repos: Vec::new(),
            paths: Vec::new(),
            entries: Vec::new(),
            index: HashMap::new(),
            index_first: HashMap::new(),
            unindexed: Vec::new(),
            prefixes: Vec::new(),
        };
        let mut schema_ok = false;
        for (n, line) in text.lines().enumerate() {
            let bad = |what: &str| format!("catalogue line {}: {what}", n + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            match cols[0] {
                "V" => {
                    if cols.get(1) != Some(&SCHEMA) {
                        return Err(bad("unsupported schema"));
                    }
                    schema_ok = true;
                }
                "G" if cols.len() == 3 => cat.repos.push((cols[1].to_owned(), cols[2].to_owned())),
                "R" if cols.len() == 4 => {
                    let mut refs = HashMap::new();
                    for r in cols[3].split(',') {
                        let (repo, rest) = r.split_once('=').ok_or_else(|| bad("bad ref"))?;
                        let reference = rest.split('~').next().unwrap_or(rest);
                        refs.insert(repo.to_owned(), reference.to_owned());
                    }
                    cat.releases.push(Release { label: cols[2].to_owned(), refs });
                }
                "P" if cols.len() == 4 => {
                    let repo = cat
                        .repos
                        .iter()
                        .position(|(r, _)| r == cols[2])
                        .ok_or_else(|| bad("unknown repo"))?;
                    cat.paths.push(Path { repo, path: cols[3].to_owned() });
                }
                "E" if cols.len() == 7 => {
                    let format = unescape(cols[6]);
                    let level = cols[1].to_owned();
                    let runs = parse_runs(cols[5]).ok_or_else(|| bad("bad sites"))?;
                    if runs.iter().any(|r| {
                        r.last as usize >= cat.releases.len()
                            || r.sites.iter().any(|&(p, _)| p as usize >= cat.paths.len())
                    }) {
                        return Err(bad("site out of range"));
                    }
                    let pat = compile(&format, level == "prefix");
                    cat.entries.push(Entry {
                        format,
                        level,
                        component: unescape(cols[2]),
                        keys: if cols[3].is_empty() {
                            Vec::new()
                        } else {
                            unescape(cols[3]).split(',').map(str::to_owned).collect()
                        },
                        extra: unescape(cols[4]),
                        runs,
                        pat,
                    });
                }
                _ => return Err(bad("unknown record")),
            }
        }
        if !schema_ok {
            return Err("catalogue: no schema line".into());
        }
        cat.build_index();
        Ok(cat)
    }

    fn build_index(&mut self) {
        let words: Vec<Vec<&str>> = self.entries.iter().map(|e| safe_words(&e.pat)).collect();
        let mut df: HashMap<&str, u32> = HashMap::new();
        for ws in &words {
            for w in ws.iter().copied().collect::<HashSet<_>>() {
                *df.entry(w).or_default() += 1;
            }
        }
        let mut index: HashMap<String, Vec<u32>> = HashMap::new();
        let mut index_first: HashMap<String, Vec<u32>> = HashMap::new();
        let mut unindexed = Vec::new();
        let mut prefixes = Vec::new();
        for (i, (e, ws)) in self.entries.iter().zip(&words).enumerate() {
            if e.level == "prefix" {
                prefixes.push(i as u32);
                continue;
            }
            // rarest word; among equally rare ones the longest (at least 3 bytes when there is one)
            let best =
                ws.iter().copied().min_by_key(|w| (w.len() < 3, df[w], usize::MAX - w.len()));
            if let (Some(first), Some(b)) = (ws.first(), best)
                && *first != b
            {
                index_first.entry((*first).to_owned()).or_default().push(i as u32);
            }
            match best {
                Some(w) => index.entry(w.to_owned()).or_default().push(i as u32),
                None => {
                    let longest = e
                        .pat
                        .segs
                        .iter()
                        .filter_map(|s| if let Seg::Lit(l) = s { Some(l.as_str()) } else { None })
                        .max_by_key(|l| l.len())
                        .unwrap_or("")
                        .to_owned();
                    unindexed.push((i as u32, longest));
                }
            }
        }
        self.index = index;
        self.index_first = index_first;
        self.unindexed = unindexed;
        self.prefixes = prefixes;
    }
}

/// Runs of ASCII letters and digits.
pub(super) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.len() >= 2)
}

/// Words of a pattern's literals that no hole touches (so they are whole words in any
/// message the format prints).
pub(super) fn safe_words(p: &Pattern) -> Vec<&str> {
    let mut out = Vec::new();
    let n = p.segs.len();
    for (i, seg) in p.segs.iter().enumerate() {
        let Seg::Lit(l) = seg else { continue };
        let open_start = i > 0; // a hole before
        let open_end = i + 1 < n; // a hole after (or the open end of a prefix)
        let b = l.as_bytes();
        let mut j = 0;
        while j < b.len() {
            if !b[j].is_ascii_alphanumeric() {
                j += 1;
                continue;
            }
            let s = j;
            while j < b.len() && b[j].is_ascii_alphanumeric() {
                j += 1;
            }
            let touches = (s == 0 && open_start) || (j == b.len() && open_end);
            if !touches && j - s >= 2 {
                out.push(&l[s..j]);
            }
        }
    }
    out
}

pub(super) fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
    }
    out
}

/// `0-3:17@120+17@130 4:18@9` -> runs
pub(super) fn parse_runs(s: &str) -> Option<Vec<Run>> {
    let mut runs = Vec::new();
    for part in s.split(' ') {
        let (rng, sites) = part.split_once(':')?;
        let (a, b) = match rng.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let a = rng.parse().ok()?;
                (a, a)
            }
        };
        let sites = sites
            .split('+')
            .map(|x| {
                let (p, l) = x.split_once('@')?;
                Some((p.parse().ok()?, l.parse().ok()?))
            })
            .collect::<Option<Vec<_>>>()?;
        if sites.is_empty() || a > b {
            return None;
        }
        runs.push(Run { first: a, last: b, sites });
    }
    (!runs.is_empty()).then_some(runs)
}

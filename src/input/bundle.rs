//! Support bundles: the zip `talosctl support` writes, a directory of collected logs, or any
//! zip of logs.
//!
//! `talosctl support` (v1.7+, collectors in `siderolabs/go-talos-support`) writes one folder
//! per node named as given to `--nodes`, plus `cluster/` for Kubernetes objects:
//!
//! ```text
//! <node>/dmesg.log                      kernel ring buffer, `facility: level: [time]: msg`
//! <node>/controller-runtime.log         zap log of the controllers
//! <node>/service-logs/<id>.log          every service: machined, apid, etcd, kubelet, …
//! <node>/service-logs/<id>.state        service state (not a log)
//! <node>/kubernetes-logs/kube-system/…  pod logs
//! <node>/resources/<type>.yaml          COSI resources (may hold secrets: never read)
//! <node>/summary, mounts, processes, …  not logs
//! cluster/kubernetesResources/*.yaml
//! ```
//!
//! v1.4–v1.6 (talos `pkg/cluster/support.go`) wrote service logs directly at
//! `<node>/<id>.log` and pod logs at `<node>/kube-system/`. Both layouts are recognised,
//! at any depth (a re-zipped or unpacked bundle), also gzip'd (`dmesg.log.gz`).
//!
//! [`listing`] picks the machined log, dmesg, controller-runtime and service logs of each
//! node; pod logs, resources and state files of a node are bundle parts and are left out
//! without a word. Every other file named like a log (`*.log`, `*.txt`, rotated `*.log.1`,
//! any of them `.gz`) is read with no node, for the analyzer to attribute; a `*.zip` is read as
//! an archive in turn (at most [`MAX_NESTING`] deep). What else is left out is counted in one
//! warning per kind, with the first names.
//!
//! Directories are walked without recursion, following symbolic links, with a guard against
//! loops (a folder or file reached twice is read once) and a generous depth cap
//! ([`MAX_DEPTH`]); files are opened one at a time. Zip entries are streamed one at a time;
//! each is cut at [`MAX_ENTRY_BYTES`] inflated and an archive (with what it nests) at
//! [`MAX_ARCHIVE_BYTES`], so that a zip bomb costs bounded time and memory. Entries are
//! inflated here, not by the zip crate, so that the compressed bytes behind them are counted:
//! an entry stops when it inflates beyond [`source::BOMB_RATIO`] times them and the
//! archive's [`source::BOMB_ALLOWANCE`] is spent, and the next entry is read (a bomb before
//! the real log does not hide it). An entry is read only up to the size the archive declares. Note that dmesg
//! repeats the `[talos]` lines machined logs, so [`feed_dir`] and [`feed_zip_file`] skip them
//! for a node whose machined log is present.

use std::cell::Cell;
use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::{self, Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::Error;
use crate::input::lines::{Flow, RawLine};
use crate::input::source::{self, Account, BOMB_RATIO, Inflation, Stream, approx, size};
use crate::input::{Sink, visible};

/// Largest entry read from a zip, inflated. Bigger entries are cut with a warning (real
/// machined logs are a few MiB, the largest seen 530 MB).
pub const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// Largest total read from one archive given on the command line, inflated, nested archives
/// included: the rest is counted in a warning (a guard against zip bombs).
pub const MAX_ARCHIVE_BYTES: u64 = 4 << 30;

/// A zip inside a zip cannot be read without seeking: it is held in memory up to this size.
pub const MAX_NESTED_ZIP: u64 = 64 * 1024 * 1024;

/// How many archives deep a zip in a zip is read.
pub const MAX_NESTING: usize = 4;

/// How deep a directory is searched for logs; deeper folders are counted in a warning.
pub const MAX_DEPTH: usize = 256;

/// How many names a warning about left-out files shows.
const SHOWN: usize = 3;

/// What a bundle entry holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// machined's log: the boot sequences.
    Machined,
    /// The kernel ring buffer (`talosctl dmesg`).
    Dmesg,
    /// The controller-runtime zap log.
    ControllerRuntime,
    /// Another Talos service's log (`apid`, `etcd`, `kubelet`, …).
    Service(String),
    /// A log file outside a support-bundle layout.
    Other,
    /// A zip archive, read in turn.
    Archive,
}

/// The logs of a file list: the entries to read, in reading order, and what was left out.
#[derive(Debug, Default)]
pub struct Listing {
    /// (index in the names, node folder, kind), by node, then machined, dmesg,
    /// controller-runtime, services by name; then the other logs and archives by name.
    pub logs: Vec<(usize, Option<String>, EntryKind)>,
    /// Indices of the files not named like logs (outside a node folder).
    pub not_logs: Vec<usize>,
}

/// What [`feed_dir`] or [`feed_zip_file`] read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fed {
    /// Logs read (or tried).
    pub logs: usize,
    /// Files left out because they are not named like logs.
    pub not_logs: usize,
}

/// Whether the file at `path` starts like a zip archive. Only a regular file is opened (a
/// FIFO or a pipe would lose the bytes looked at).
pub fn is_zip_file(path: &Path) -> bool {
    let regular = fs::metadata(path).is_ok_and(|m| m.is_file());
    regular && File::open(path).is_ok_and(|mut f| starts_like_zip(&mut f))
}

fn starts_like_zip(f: &mut File) -> bool {
    let mut magic = [0u8; 4];
    let ok = f.read_exact(&mut magic).is_ok();
    ok && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06")
}

fn strip_gz(name: &str) -> &str {
    name.strip_suffix(".gz").unwrap_or(name)
}

/// `x.log`, `x.txt`, `x.log.3`, each also `.gz`.
fn log_named(file: &str) -> bool {
    let f = strip_gz(file);
    if f.ends_with(".log") || f.ends_with(".txt") {
        return true;
    }
    match f.rsplit_once('.') {
        Some((stem, n)) => {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && stem.ends_with(".log")
        }
        None => false,
    }
}

/// Picks the logs out of a file list (`/`-separated paths relative to its root) and says
/// whose and what they are, in reading order. A folder is a node folder when it holds
/// `dmesg.log`, `summary`, or a `service-logs/` folder.
pub fn listing(names: &[&str]) -> Listing {
    let node_dirs: BTreeSet<&str> = names
        .iter()
        .filter_map(|n| {
            let (dir, file) = n.rsplit_once('/')?;
            if strip_gz(file) == "dmesg.log" || file == "summary" {
                return Some(dir);
            }
            let (node_dir, sub) = dir.rsplit_once('/').unwrap_or(("", dir));
            (sub == "service-logs" && !node_dir.is_empty()).then_some(node_dir)
        })
        .collect();
    // Folders that hold node folders: their `cluster/` is a bundle part too.
    let roots: BTreeSet<&str> =
        node_dirs.iter().map(|d| d.rsplit_once('/').map_or("", |(r, _)| r)).collect();
    let in_bundle = |dir: &str| {
        let mut d = dir;
        loop {
            if node_dirs.contains(d) {
                return true;
            }
            let (up, last) = d.rsplit_once('/').unwrap_or(("", d));
            if last == "cluster" && roots.contains(up) {
                return true;
            }
            if !d.contains('/') {
                return false;
            }
            d = up;
        }
    };
    let mut nodes = Vec::new();
    let mut others = Vec::new();
    let mut not_logs = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (dir, file) = name.rsplit_once('/').unwrap_or(("", name));
        let stem = strip_gz(file).strip_suffix(".log");
        if let Some(stem) = stem.filter(|_| node_dirs.contains(dir)) {
            let kind = match stem {
                "dmesg" => EntryKind::Dmesg,
                "controller-runtime" => EntryKind::ControllerRuntime,
                s => service(s),
            };
            nodes.push((i, Some(node_of(dir)), kind));
        } else if let (Some(stem), Some(node_dir)) =
            (stem, dir.strip_suffix("/service-logs").filter(|d| node_dirs.contains(d)))
        {
            nodes.push((i, Some(node_of(node_dir)), service(stem)));
        } else if in_bundle(dir) {
            // A bundle part that is not a node log: pod logs, resources, state.
        } else if log_named(file) {
            others.push((i, None, EntryKind::Other));
        } else if file.ends_with(".zip") {
            others.push((i, None, EntryKind::Archive));
        } else {
            not_logs.push(i);
        }
    }
    nodes.sort_by(|a, b| (&a.1, &a.2, names[a.0]).cmp(&(&b.1, &b.2, names[b.0])));
    others.sort_by(|a, b| names[a.0].cmp(names[b.0]));
    nodes.extend(others);
    Listing { logs: nodes, not_logs }
}

fn node_of(dir: &str) -> String {
    visible(dir.rsplit('/').next().unwrap_or(dir)).into_owned()
}

/// `logs/talos-cp-01.log` → `talos-cp-01`: a plain file's name stands for its node.
fn file_stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let base = strip_gz(base);
    base.strip_suffix(".log").or_else(|| base.strip_suffix(".txt")).unwrap_or(base).to_string()
}

fn service(id: &str) -> EntryKind {
    if id == "machined" { EntryKind::Machined } else { EntryKind::Service(id.to_string()) }
}

/// Names left out of a listing, by why, for one counted warning each.
#[derive(Debug, Default)]
struct Skipped {
    not_logs: Names,
    twice: Names,
    deep: Names,
    special: Names,
    unreadable: Names,
}

#[derive(Debug, Default)]
struct Names {
    count: usize,
    first: Vec<String>,
}

impl Names {
    fn add(&mut self, name: impl FnOnce() -> String) {
        self.count += 1;
        if self.first.len() < SHOWN {
            self.first.push(visible(&name()).into_owned());
        }
    }

    fn warn(&self, analyzer: &mut dyn Sink, root: &str, what: &str) {
        if self.count == 0 {
            return;
        }
        let mut names: Vec<String> = self.first.iter().map(|n| format!("`{n}`")).collect();
        if self.count > self.first.len() {
            names.push(format!("{} more", self.count - self.first.len()));
        }
        analyzer.warn(format!("{root}: {} {what}: {}", self.count, names.join(", ")));
    }
}

impl Skipped {
    fn warn(&self, analyzer: &mut dyn Sink, root: &str) {
        let s = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
        let n = &self.not_logs;
        n.warn(
            analyzer,
            root,
            &format!(
                "{} not read, not named like a log (*.log, *.txt, *.log.N, *.gz, *.zip)",
                s(n.count, "file", "files")
            ),
        );
        let n = &self.twice;
        n.warn(
            analyzer,
            root,
            &format!(
                "{} to a folder or file already read (a symlink loop or a second link), not \
                 read again",
                s(n.count, "link", "links")
            ),
        );
        let n = &self.deep;
        n.warn(
            analyzer,
            root,
            &format!("{} deeper than {MAX_DEPTH} levels not read", s(n.count, "folder", "folders")),
        );
        let n = &self.special;
        n.warn(
            analyzer,
            root,
            &format!(
                "{} that {} not a file or folder (FIFO, socket, device) not read",
                s(n.count, "entry", "entries"),
                s(n.count, "is", "are")
            ),
        );
        let n = &self.unreadable;
        n.warn(
            analyzer,
            root,
            &format!("{} that could not be read", s(n.count, "entry", "entries")),
        );
    }
}

/// Identity of a file or folder, to read each once however it is reached.
#[cfg(unix)]
fn identity(_path: &Path, meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(path: &Path, _meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    fs::canonicalize(path).ok()?.hash(&mut h);
    Some((0, h.finish()))
}

/// Every file under `root`, as `/`-separated paths relative to it, symbolic links followed.
fn walk(root: &Path, skipped: &mut Skipped) -> io::Result<Vec<String>> {
    let mut seen_dirs = HashSet::new();
    let mut seen_files = HashSet::new();
    if let Some(id) = identity(root, &fs::metadata(root)?) {
        seen_dirs.insert(id);
    }
    let mut out = Vec::new();
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_path_buf(), String::new(), 0)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if depth == 0 => return Err(e),
            Err(e) => {
                skipped.unreadable.add(|| format!("{rel} ({e})"));
                continue;
            }
        };
        let mut names = Vec::new();
        for e in entries {
            match e {
                Ok(e) => names.push(e.file_name()),
                Err(e) => skipped.unreadable.add(|| format!("{rel} ({e})")),
            }
        }
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let name = name.to_string_lossy();
            let child = if rel.is_empty() { name.into_owned() } else { format!("{rel}/{name}") };
            match fs::metadata(&path) {
                Err(e) => skipped.unreadable.add(|| format!("{child} ({e})")),
                Ok(m) if m.is_dir() => {
                    if identity(&path, &m).is_some_and(|id| !seen_dirs.insert(id)) {
                        skipped.twice.add(|| child);
                    } else if depth + 1 > MAX_DEPTH {
                        skipped.deep.add(|| child);
                    } else {
                        stack.push((path, child, depth + 1));
                    }
                }
                Ok(m) if m.is_file() => {
                    if identity(&path, &m).is_some_and(|id| !seen_files.insert(id)) {
                        skipped.twice.add(|| child);
                    } else {
                        out.push(child);
                    }
                }
                Ok(_) => skipped.special.add(|| child),
            }
        }
    }
    Ok(out)
}

/// Reads the logs of a directory (see the module documentation), one file open at a time.
pub fn feed_dir(root: &Path, analyzer: &mut dyn Sink) -> Result<Fed, Error> {
    let root_name = format!("directory `{}`", visible(&root.display().to_string()));
    let mut skipped = Skipped::default();
    let files = walk(root, &mut skipped)
        .map_err(|source| Error::Input { what: root_name.clone(), source })?;
    let names: Vec<&str> = files.iter().map(String::as_str).collect();
    let list = listing(&names);
    for &i in &list.not_logs {
        skipped.not_logs.add(|| names[i].to_owned());
    }
    let several = list.logs.len() > 1;
    let with_machined = with_machined(&list);
    for (i, node, kind) in &list.logs {
        let full = root.join(names[*i]);
        let name = visible(&full.display().to_string()).into_owned();
        let what = format!("`{name}`");
        let mut file = match File::open(&full) {
            Ok(f) => f,
            Err(e) => {
                analyzer.warn(format!("{what} could not be read: {e}"));
                continue;
            }
        };
        if starts_like_zip(&mut file) {
            let _ = file.rewind();
            // Each archive of the directory has its own budget, as if given on its own.
            let mut budget = MAX_ARCHIVE_BYTES;
            match zip::ZipArchive::new(file) {
                Ok(a) => {
                    feed_zip(a, &name, analyzer, &mut budget, &Inflation::new(), 1)?;
                }
                Err(e) => analyzer.warn(format!("{what} is not a readable zip archive: {e}")),
            }
            continue;
        }
        let _ = file.rewind();
        let (node, skip_talos) = entry_node(node, kind, several, &name, &with_machined);
        let entry = Entry { name: &name, node: node.as_deref(), skip_talos, cap: None };
        feed_one(Box::new(file), &entry, None, analyzer);
    }
    skipped.warn(analyzer, &root_name);
    Ok(Fed { logs: list.logs.len(), not_logs: skipped.not_logs.count })
}

/// Reads a zip archive given as a file: a support bundle or any zip of logs.
pub fn feed_zip_file(path: &Path, analyzer: &mut dyn Sink) -> Result<Fed, Error> {
    let name = visible(&path.display().to_string()).into_owned();
    let what = format!("file `{name}`");
    let file = File::open(path).map_err(|source| Error::Input { what: what.clone(), source })?;
    let archive = zip::ZipArchive::new(file).map_err(|e| Error::NotText {
        what,
        why: format!("it is not a readable zip archive ({e})"),
    })?;
    let mut budget = MAX_ARCHIVE_BYTES;
    feed_zip(archive, &name, analyzer, &mut budget, &Inflation::new(), 1)
}

/// Reads a zip archive that came on a stream and was saved to `file` (see
/// [`source::MAX_SPOOLED_ZIP`]).
pub(crate) fn feed_zip_spooled(
    file: File,
    name: &str,
    analyzer: &mut dyn Sink,
) -> Result<Fed, Error> {
    let archive = zip::ZipArchive::new(file).map_err(|e| Error::NotText {
        what: format!("`{name}`"),
        why: format!("it is not a readable zip archive ({e})"),
    })?;
    let mut budget = MAX_ARCHIVE_BYTES;
    feed_zip(archive, name, analyzer, &mut budget, &Inflation::new(), 1)
}

/// One entry of a zip archive found by its local header (see [`feed_zip_cut`]).
struct LocalEntry {
    name: String,
    /// Where its data starts in the archive.
    data_at: u64,
    /// Its data's size as stored, and inflated.
    stored: u64,
    size: u64,
    method: u16,
    encrypted: bool,
}

/// The entries of the first `end` bytes of a zip archive, by their local headers (each
/// entry's data follows its header, so they chain from the start), and why the chain stopped
/// before `end` when it did: at an entry whose size is known only after its data (a data
/// descriptor), or at bytes that are no local header (the central directory, or damage).
fn local_entries(file: &mut File, end: u64) -> (Vec<LocalEntry>, Option<String>) {
    let mut entries = Vec::new();
    let mut at = 0u64;
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    loop {
        let mut h = [0u8; 30];
        if at + 30 > end
            || file.seek(io::SeekFrom::Start(at)).is_err()
            || file.read_exact(&mut h).is_err()
        {
            return (entries, None);
        }
        if h[..4] != *b"PK\x03\x04" {
            let why = (h[..4] != *b"PK\x01\x02" && h[..4] != *b"PK\x05\x06")
                .then(|| format!("no zip entry header at byte {at}"));
            return (entries, why);
        }
        let flags = u16_at(&h, 6);
        let method = u16_at(&h, 8);
        let (mut stored, mut size) = (u64::from(u32_at(&h, 18)), u64::from(u32_at(&h, 22)));
        let (nlen, xlen) = (usize::from(u16_at(&h, 26)), usize::from(u16_at(&h, 28)));
        let mut nx = vec![0u8; nlen + xlen];
        if at + 30 + nx.len() as u64 > end || file.read_exact(&mut nx).is_err() {
            return (entries, None);
        }
        let name = String::from_utf8_lossy(&nx[..nlen]).into_owned();
        // Zip64: the real sizes are in extra field 1 (inflated size first).
        let mut x = &nx[nlen..];
        while x.len() >= 4 {
            let (id, n) = (u16_at(x, 0), usize::from(u16_at(x, 2)));
            let body = &x[4..x.len().min(4 + n)];
            if id == 1 {
                let mut f = body
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
                if size == 0xffff_ffff {
                    size = f.next().unwrap_or(size);
                }
                if stored == 0xffff_ffff {
                    stored = f.next().unwrap_or(stored);
                }
            }
            x = &x[x.len().min(4 + n)..];
        }
        if flags & 8 != 0 && stored == 0 {
            return (
                entries,
                Some(format!(
                    "entry `{}` gives its size only after its data (a streamed zip), so what \
                     follows it cannot be found without the archive's end",
                    visible(&name)
                )),
            );
        }
        let data_at = at + 30 + nx.len() as u64;
        entries.push(LocalEntry { name, data_at, stored, size, method, encrypted: flags & 1 != 0 });
        at = data_at.saturating_add(stored);
    }
}

/// Reads a zip archive that came on a stream and was larger than the cap for one
/// ([`source::MAX_SPOOLED_ZIP`]): only its first `cap` bytes were saved, and its central
/// directory, at its end, is not among them. Its entries are found by their local headers
/// instead ([`local_entries`]) and read like those of a whole archive; an entry cut by the
/// cap is read up to it. One warning says what was not read and where.
pub(crate) fn feed_zip_cut(
    mut file: File,
    zname: &str,
    what: &str,
    cap: u64,
    analyzer: &mut dyn Sink,
) {
    let root_name = format!("`{zname}`");
    let (entries, stopped) = local_entries(&mut file, cap);
    let files: Vec<&LocalEntry> = entries.iter().filter(|e| !e.name.ends_with('/')).collect();
    let names: Vec<&str> = files.iter().map(|e| e.name.as_str()).collect();
    let list = listing(&names);
    let mut skipped = Skipped::default();
    for &i in &list.not_logs {
        skipped.not_logs.add(|| names[i].to_owned());
    }
    let several = list.logs.len() > 1;
    let with_machined = with_machined(&list);
    let inflation = Inflation::new();
    let mut budget = MAX_ARCHIVE_BYTES;
    let mut cut = Names::default();
    let mut cuts = Cuts::default();
    for (i, node, kind) in &list.logs {
        let e = files[*i];
        let name = format!("{zname}:{}", visible(&e.name));
        let present = e.stored.min(cap.saturating_sub(e.data_at));
        if present < e.stored {
            cut.add(|| e.name.clone());
        }
        if e.encrypted || file.seek(io::SeekFrom::Start(e.data_at)).is_err() {
            analyzer.warn(format!("`{name}` could not be read: it is encrypted"));
            continue;
        }
        let entry_inflation = inflation.next();
        let counted = entry_inflation.counted((&file).take(present));
        let over = Rc::new(Cell::new(false));
        let inflated: Box<dyn Read + '_> = match e.method {
            0 => Box::new(counted),
            8 => Box::new(flate2::read::DeflateDecoder::new(counted)),
            m => {
                analyzer.warn(format!(
                    "`{name}` could not be read: compression method {m} is not supported"
                ));
                continue;
            }
        };
        let entry = Box::new(Declared { inner: inflated, left: e.size, over: Rc::clone(&over) });
        if *kind == EntryKind::Archive {
            let mut bytes = Vec::new();
            let nested_cap = MAX_NESTED_ZIP.min(budget);
            let read = entry.take(nested_cap + 1).read_to_end(&mut bytes);
            if read.is_err() || bytes.len() as u64 > nested_cap || present < e.stored {
                analyzer.warn(format!(
                    "`{name}` not read: a zip inside a zip is read whole, in memory, up to {}",
                    size(MAX_NESTED_ZIP)
                ));
                continue;
            }
            let mut nested = budget - bytes.len() as u64;
            match zip::ZipArchive::new(Cursor::new(bytes)) {
                Ok(a) => {
                    if let Err(e) = feed_zip(a, &name, analyzer, &mut nested, &inflation, 2) {
                        analyzer.warn(e.to_string());
                    }
                }
                Err(e) => analyzer.warn(format!("`{name}` is not a readable zip archive: {e}")),
            }
            budget = nested;
            continue;
        }
        let (node, skip_talos) = entry_node(node, kind, several, &name, &with_machined);
        let entry_cap = budget.min(MAX_ENTRY_BYTES);
        let one = Entry { name: &name, node: node.as_deref(), skip_talos, cap: Some(entry_cap) };
        let read = feed_one(entry, &one, Some(&entry_inflation), analyzer);
        if read.bomb {
            cuts.bombs.add(|| e.name.clone());
            cuts.bomb_bytes += read.bytes;
        } else if read.capped {
            cuts.capped.add(|| e.name.clone());
        }
        budget -= read.bytes.min(entry_cap);
    }
    skipped.warn(analyzer, &root_name);
    cuts.warn(analyzer, &root_name);
    let found = entries.len();
    let mut msg = format!(
        "{what}: a zip archive larger than {}, the cap for one read from a pipe: only its first \
         {} were read, its {found} entr{} found there by their local headers (its directory, at \
         its end, was not reached); the rest of the archive, from byte {cap} on, was not read \
         (pass its path instead to read it all)",
        size(cap),
        size(cap),
        if found == 1 { "y" } else { "ies" }
    );
    if cut.count > 0 {
        let first = cut.first.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        msg.push_str(&format!(
            "; {} entr{} cut at the cap, read up to it: {first}",
            cut.count,
            if cut.count == 1 { "y" } else { "ies" }
        ));
    }
    if let Some(why) = stopped {
        msg.push_str(&format!("; the entries stopped before the cap: {why}"));
    }
    analyzer.warn(msg);
}

/// An archive entry's bytes as stored: decompressed here rather than by the zip crate so that
/// the compressed bytes behind them can be counted ([`Inflation`]), and cut at the size the
/// archive declares for the entry (`over` says there was more).
fn open_entry<'a, R: Read + Seek>(
    archive: &'a mut zip::ZipArchive<R>,
    index: usize,
    inflation: &Inflation,
    over: &Rc<Cell<bool>>,
) -> Result<Box<dyn Read + 'a>, String> {
    let raw = archive.by_index_raw(index).map_err(|e| e.to_string())?;
    if raw.encrypted() {
        return Err("it is encrypted".into());
    }
    let declared = raw.size();
    let method = raw.compression();
    let counted = inflation.counted(raw);
    let inflated: Box<dyn Read + 'a> = match method {
        zip::CompressionMethod::Stored => Box::new(counted),
        zip::CompressionMethod::Deflated => Box::new(flate2::read::DeflateDecoder::new(counted)),
        m => return Err(format!("it is compressed with {m}, which is not supported")),
    };
    Ok(Box::new(Declared { inner: inflated, left: declared, over: Rc::clone(over) }))
}

/// At most `left` bytes of `inner`; `over` is set when there were more.
struct Declared<R> {
    inner: R,
    left: u64,
    over: Rc<Cell<bool>>,
}

impl<R: Read> Read for Declared<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut one = [0u8; 1];
            if !buf.is_empty() && self.inner.read(&mut one)? > 0 {
                self.over.set(true);
            }
            return Ok(0);
        }
        let room = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// The node an entry's lines belong to (its bundle directory's, else, among several loose
/// logs, its file's stem), and whether its `[talos]` lines are skipped: a node's dmesg
/// repeats what its machined log already holds.
fn entry_node(
    node: &Option<String>,
    kind: &EntryKind,
    several: bool,
    name: &str,
    with_machined: &HashSet<String>,
) -> (Option<String>, bool) {
    let node = node.clone().or_else(|| several.then(|| file_stem(name)));
    let skip_talos =
        *kind == EntryKind::Dmesg && with_machined.contains(node.as_deref().unwrap_or(""));
    (node, skip_talos)
}

fn with_machined(list: &Listing) -> HashSet<String> {
    list.logs.iter().filter(|l| l.2 == EntryKind::Machined).filter_map(|l| l.1.clone()).collect()
}

fn feed_zip<R: Read + Seek>(
    mut archive: zip::ZipArchive<R>,
    zname: &str,
    analyzer: &mut dyn Sink,
    budget: &mut u64,
    inflation: &Inflation,
    depth: usize,
) -> Result<Fed, Error> {
    let root_name = format!("`{zname}`");
    let mut files: Vec<(String, usize)> = Vec::new();
    for i in 0..archive.len() {
        if let Some(n) = archive.name_for_index(i).filter(|n| !n.ends_with('/')) {
            files.push((n.to_owned(), i));
        }
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let list = listing(&names);
    let mut skipped = Skipped::default();
    for &i in &list.not_logs {
        skipped.not_logs.add(|| names[i].to_owned());
    }
    let several = list.logs.len() > 1;
    let with_machined = with_machined(&list);
    let mut over_budget = Names::default();
    let mut cut = Cuts::default();
    let declared: Vec<u64> = list
        .logs
        .iter()
        .map(|(i, _, kind)| match kind {
            // What a nested archive holds inflated is not known before it is read.
            EntryKind::Archive => u64::MAX,
            // Nor what a gzip'd log inflates to: the archive declares its compressed size.
            _ if names[*i].ends_with(".gz") => MAX_ENTRY_BYTES,
            _ => archive.by_index_raw(files[*i].1).map_or(0, |e| e.size()).min(MAX_ENTRY_BYTES),
        })
        .collect();
    // Each entry's share of the budget is reserved for it, so that one huge entry cannot
    // starve the ones after it: an entry may use what is not reserved for those.
    let level = fair_level(&declared, *budget);
    let mut reserved: u64 = declared.iter().map(|&w| w.min(level)).fold(0, u64::saturating_add);
    for ((i, node, kind), &want) in list.logs.iter().zip(&declared) {
        reserved = reserved.saturating_sub(want.min(level));
        let name = format!("{zname}:{}", visible(names[*i]));
        if *budget == 0 {
            over_budget.add(|| names[*i].to_owned());
            continue;
        }
        let allowed = budget.saturating_sub(reserved);
        let over = Rc::new(Cell::new(false));
        let entry_inflation = inflation.next();
        let mut entry = match open_entry(&mut archive, files[*i].1, &entry_inflation, &over) {
            Ok(e) => e,
            Err(e) => {
                analyzer.warn(format!("`{name}` could not be read: {e}"));
                continue;
            }
        };
        if *kind == EntryKind::Archive {
            if depth >= MAX_NESTING {
                analyzer.warn(format!(
                    "`{name}` not read: archives nested more than {MAX_NESTING} deep"
                ));
                continue;
            }
            let mut bytes = Vec::new();
            let cap = MAX_NESTED_ZIP.min(allowed);
            if let Err(e) = (&mut entry).take(cap + 1).read_to_end(&mut bytes) {
                analyzer.warn(format!("`{name}` could not be read: {e}"));
                continue;
            }
            if bytes.len() as u64 > cap {
                analyzer.warn(format!(
                    "`{name}` not read: a zip inside a zip is read in memory, up to {}",
                    size(MAX_NESTED_ZIP)
                ));
                *budget -= cap;
                continue;
            }
            drop(entry);
            // The nested archive, and all it holds, draws on this entry's allowance.
            let mut nested = allowed - bytes.len() as u64;
            match zip::ZipArchive::new(Cursor::new(bytes)) {
                Ok(a) => {
                    feed_zip(a, &name, analyzer, &mut nested, inflation, depth + 1)?;
                }
                Err(e) => analyzer.warn(format!("`{name}` is not a readable zip archive: {e}")),
            }
            let used = allowed - nested;
            *budget -= used;
            continue;
        }
        let (node, skip_talos) = entry_node(node, kind, several, &name, &with_machined);
        let cap = allowed.min(MAX_ENTRY_BYTES);
        let e = Entry { name: &name, node: node.as_deref(), skip_talos, cap: Some(cap) };
        let read = feed_one(entry, &e, Some(&entry_inflation), analyzer);
        let used = read.bytes.min(cap);
        if read.bomb {
            cut.bombs.add(|| names[*i].to_owned());
            cut.bomb_bytes += read.bytes;
        } else if over.get() {
            cut.past_declared.add(|| names[*i].to_owned());
        } else if read.capped && cap < MAX_ENTRY_BYTES {
            cut.shared.add(|| names[*i].to_owned());
            cut.shared_bytes += read.bytes;
        } else if read.capped {
            cut.capped.add(|| names[*i].to_owned());
        }
        *budget -= used;
    }
    skipped.warn(analyzer, &root_name);
    cut.warn(analyzer, &root_name);
    if over_budget.count > 0 {
        over_budget.warn(
            analyzer,
            &root_name,
            &format!(
                "{} not read: the archive inflated past {}, the cap per archive",
                if over_budget.count == 1 { "entry" } else { "entries" },
                size(MAX_ARCHIVE_BYTES)
            ),
        );
    }
    Ok(Fed { logs: list.logs.len(), not_logs: skipped.not_logs.count })
}

/// The most each entry may read so that all get an equal share of `budget`: `wants` are what
/// the entries would read in full, and an entry that wants less than the level leaves the rest
/// to the others (max-min fairness). `u64::MAX` when everything fits.
fn fair_level(wants: &[u64], budget: u64) -> u64 {
    if wants.iter().map(|&w| u128::from(w)).sum::<u128>() <= u128::from(budget) {
        return u64::MAX;
    }
    let mut sorted = wants.to_vec();
    sorted.sort_unstable();
    let mut left = budget;
    for (k, &w) in sorted.iter().enumerate() {
        let others = (sorted.len() - k) as u64;
        if u128::from(w) * u128::from(others) >= u128::from(left) {
            return left / others;
        }
        left -= w;
    }
    u64::MAX
}

/// Entries of an archive read only in part, by why, for one counted warning each.
#[derive(Debug, Default)]
struct Cuts {
    bombs: Names,
    bomb_bytes: u64,
    past_declared: Names,
    /// Cut at their share of the archive's cap, with the bytes they read in all.
    shared: Names,
    shared_bytes: u64,
    capped: Names,
}

impl Cuts {
    fn warn(&self, analyzer: &mut dyn Sink, root: &str) {
        let s = |n: usize| if n == 1 { "entry" } else { "entries" };
        let n = &self.bombs;
        n.warn(
            analyzer,
            root,
            &format!(
                "{} read only in part, from the start ({} of them in all; the rest not read, \
                 as it cannot be reached without inflating it): past that {} more than \
                 {BOMB_RATIO} times the compressed size, like a zip bomb",
                s(n.count),
                approx(self.bomb_bytes),
                if n.count == 1 { "it inflates to" } else { "they inflate to" }
            ),
        );
        let n = &self.shared;
        n.warn(
            analyzer,
            root,
            &format!(
                "{} read only in part, from the start ({} of them in all): each entry gets an \
                 equal share of the {} cap per archive, so that one cannot crowd out the others",
                s(n.count),
                approx(self.shared_bytes),
                size(MAX_ARCHIVE_BYTES)
            ),
        );
        let n = &self.past_declared;
        n.warn(
            analyzer,
            root,
            &format!(
                "{} read only up to the size the archive declares for {} (they inflate to more)",
                s(n.count),
                if n.count == 1 { "it" } else { "them" }
            ),
        );
        let n = &self.capped;
        n.warn(
            analyzer,
            root,
            &format!(
                "{} cut where {} inflated, the cap per entry",
                s(n.count),
                size(MAX_ENTRY_BYTES)
            ),
        );
    }
}

/// One log of a bundle, to read as its own input.
struct Entry<'a> {
    name: &'a str,
    node: Option<&'a str>,
    /// Drop `[talos]` lines (dmesg of a node whose machined log is read too).
    skip_talos: bool,
    /// At most this many bytes, inflated.
    cap: Option<u64>,
}

/// What reading one log of a bundle came to.
#[derive(Debug, Default)]
struct EntryRead {
    bytes: u64,
    /// Stopped at [`Entry::cap`] with more to come.
    capped: bool,
    /// Stopped by the [`Inflation`] guard.
    bomb: bool,
}

/// Reads one log of a bundle as its own input; problems with it are warnings (the other logs
/// still count). An archive entry (`inflation` given) leaves its cut and its bomb stop to
/// the caller to count; a file warns of them itself.
fn feed_one(
    reader: Box<dyn Read + '_>,
    entry: &Entry<'_>,
    inflation: Option<&Inflation>,
    analyzer: &mut dyn Sink,
) -> EntryRead {
    let what = format!("`{}`", entry.name);
    analyzer.begin_input(entry.name, entry.node);
    let start = analyzer.lines();
    let how = Stream { what: &what, cap: entry.cap, inflation, spool_zip: None };
    let skip_talos = entry.skip_talos;
    let read = source::read_stream(reader, &how, &mut |line: RawLine<'_>| {
        if !(skip_talos && memchr::memmem::find(line.bytes, b"[talos]").is_some()) {
            analyzer.push_line(line);
        }
        Flow::Continue
    });
    analyzer.end_input();
    match read {
        Ok((_, account)) => {
            let mut out = EntryRead {
                bytes: account.bytes,
                capped: account.capped_at.is_some(),
                bomb: false,
            };
            let account = if inflation.is_some() {
                out.bomb = account.bomb.is_some();
                Account { capped_at: None, bomb: None, ..account }
            } else {
                Account { capped_at: account.capped_at.map(|_| entry.cap.unwrap_or(0)), ..account }
            };
            if let Some(why) = source::report(analyzer, &what, start, &account) {
                analyzer.warn(format!("{what} not read: {why}"));
            }
            out
        }
        Err(e) => {
            let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
            analyzer.warn(format!("{e}: {cause}; the lines before were read"));
            EntryRead::default()
        }
    }
}

#[cfg(test)]
mod tests;

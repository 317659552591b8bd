//! Support bundles: the zip `talosctl support` writes, or a directory of collected logs.
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
//! also inside one extra top-level folder (a re-zipped or unpacked bundle).
//!
//! [`open`] lists the machined log, dmesg, controller-runtime and service logs of each node
//! as [`BundleInput`]s; pod logs, resources and state files are left out. A directory that
//! is not a bundle yields its `*.log`/`*.txt` files with no node, for the analyzer to
//! attribute. Note that dmesg repeats the `[talos]` lines machined logs, so a consumer
//! following boot sequences should take them from [`EntryKind::Machined`] when both exist.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::input::Sink;
use crate::input::lines::{Flow, LineSplitter, RawLine};

/// Largest entry read from a zip, decompressed. Bigger entries are cut with a warning
/// (a guard against zip bombs; real machined logs are a few MiB).
pub const MAX_ENTRY_BYTES: u64 = 512 * 1024 * 1024;

/// How deep a directory is searched for logs.
const MAX_DEPTH: usize = 4;

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
    /// A log file in a directory that is not a support bundle.
    Other,
}

/// One log to analyze.
pub struct BundleInput {
    /// The node folder it came from (`--nodes` value: IP or hostname); `None` outside a
    /// bundle layout.
    pub node: Option<String>,
    /// Input name for messages and evidence: `support.zip:10.5.0.2/dmesg.log`, or the file
    /// path for directories.
    pub name: String,
    /// What it holds.
    pub kind: EntryKind,
    /// The bytes (zip entries are decompressed up front; directory files are opened).
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for BundleInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleInput")
            .field("node", &self.node)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The logs of a bundle, in order: by node, then machined, dmesg, controller-runtime,
/// services by name.
#[derive(Debug, Default)]
pub struct Bundle {
    /// The logs.
    pub inputs: Vec<BundleInput>,
    /// Problems that did not stop reading (an entry cut at [`MAX_ENTRY_BYTES`]).
    pub warnings: Vec<String>,
}

/// Whether `path` is a zip archive (by its magic number) or a directory: the inputs
/// [`open`] reads. A plain log file is neither.
pub fn is_bundle(path: &Path) -> bool {
    path.is_dir() || is_zip(path).unwrap_or(false)
}

/// Reads a support zip or a directory. Returns `Ok(None)` for anything else (a plain log).
pub fn open(path: &Path) -> io::Result<Option<Bundle>> {
    if path.is_dir() {
        return read_dir(path).map(Some);
    }
    if is_zip(path)? {
        return read_zip(path).map(Some);
    }
    Ok(None)
}

fn is_zip(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut f = File::open(path)?;
    let mut n = 0;
    while n < magic.len() {
        match f.read(&mut magic[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n == 4 && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06"))
}

fn read_zip(path: &Path) -> io::Result<Bundle> {
    let mut archive = zip::ZipArchive::new(File::open(path)?).map_err(io::Error::other)?;
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(io::Error::other)?;
        if entry.is_file() {
            names.push((entry.name().to_string(), i));
        }
    }
    let by_name: BTreeMap<&str, usize> = names.iter().map(|(n, i)| (n.as_str(), *i)).collect();
    let mut bundle = Bundle::default();
    for (rel, node, kind) in classify(by_name.keys().copied()) {
        let mut entry = archive.by_index(by_name[rel.as_str()]).map_err(io::Error::other)?;
        let mut data = Vec::with_capacity(entry.size().min(MAX_ENTRY_BYTES) as usize);
        (&mut entry).take(MAX_ENTRY_BYTES).read_to_end(&mut data)?;
        if entry.size() > MAX_ENTRY_BYTES {
            bundle.warnings.push(format!(
                "`{rel}` in `{}` is larger than {MAX_ENTRY_BYTES} bytes; only its start was read",
                path.display()
            ));
        }
        bundle.inputs.push(BundleInput {
            node,
            name: format!("{}:{rel}", path.display()),
            kind,
            reader: Box::new(Cursor::new(data)),
        });
    }
    Ok(bundle)
}

fn read_dir(root: &Path) -> io::Result<Bundle> {
    let mut files = Vec::new();
    walk(root, Path::new(""), 0, &mut files)?;
    let names: Vec<String> = files.iter().map(|p| slash_path(p)).collect();
    let mut listed = classify(names.iter().map(String::as_str));
    if listed.is_empty() {
        listed = names
            .iter()
            .filter(|n| n.ends_with(".log") || n.ends_with(".txt"))
            .map(|n| (n.clone(), None, EntryKind::Other))
            .collect();
    }
    let mut bundle = Bundle::default();
    for (rel, node, kind) in listed {
        let full = root.join(&rel);
        bundle.inputs.push(BundleInput {
            node,
            name: full.display().to_string(),
            kind,
            reader: Box::new(File::open(&full)?),
        });
    }
    Ok(bundle)
}

fn walk(root: &Path, rel: &Path, depth: usize, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(root.join(rel))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for e in entries {
        let ty = e.file_type()?;
        let child = rel.join(e.file_name());
        if ty.is_dir() && depth < MAX_DEPTH {
            walk(root, &child, depth + 1, out)?;
        } else if ty.is_file() {
            out.push(child);
        }
    }
    Ok(())
}

fn slash_path(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Picks the logs out of a bundle's file list (`/`-separated paths relative to its root)
/// and says whose and what they are, in reading order. A folder is a node folder when it
/// holds `dmesg.log`, `summary`, or a `service-logs/` folder.
pub fn classify<'a>(
    names: impl Iterator<Item = &'a str>,
) -> Vec<(String, Option<String>, EntryKind)> {
    let names: Vec<&str> = names.collect();
    let node_dirs: BTreeSet<&str> = names
        .iter()
        .filter_map(|n| {
            let (dir, file) = n.rsplit_once('/')?;
            if file == "dmesg.log" || file == "summary" {
                return Some(dir);
            }
            let (node_dir, sub) = dir.rsplit_once('/').unwrap_or(("", dir));
            (sub == "service-logs" && !node_dir.is_empty()).then_some(node_dir)
        })
        .collect();
    let mut out: Vec<(String, Option<String>, EntryKind)> = Vec::new();
    for name in names {
        let Some((dir, file)) = name.rsplit_once('/') else { continue };
        let Some(stem) = file.strip_suffix(".log") else { continue };
        let (node_dir, kind) = if node_dirs.contains(dir) {
            let kind = match stem {
                "dmesg" => EntryKind::Dmesg,
                "controller-runtime" => EntryKind::ControllerRuntime,
                s => service(s),
            };
            (dir, kind)
        } else if let Some(node_dir) =
            dir.strip_suffix("/service-logs").filter(|d| node_dirs.contains(d))
        {
            (node_dir, service(stem))
        } else {
            continue;
        };
        let node = node_dir.rsplit('/').next().unwrap_or(node_dir).to_string();
        out.push((name.to_string(), Some(node), kind));
    }
    out.sort_by(|a, b| (&a.1, &a.2, &a.0).cmp(&(&b.1, &b.2, &b.0)));
    out
}

/// `logs/talos-cp-01.log` → `talos-cp-01`: a plain file's name stands for its node.
fn file_stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let base = base.strip_suffix(".gz").unwrap_or(base);
    base.strip_suffix(".log").or_else(|| base.strip_suffix(".txt")).unwrap_or(base).to_string()
}

fn service(id: &str) -> EntryKind {
    if id == "machined" { EntryKind::Machined } else { EntryKind::Service(id.to_string()) }
}

/// Feeds every log of `bundle` to `analyzer`, one input each, attributed to its node.
/// For a node whose machined log is in the bundle, the `[talos]` lines of its dmesg are
/// skipped (they are copies of machined's and would replay the boot a second time); its
/// kernel lines are kept. Line numbers stay those of the file. A NUL byte stops that input
/// with a warning.
pub fn feed(bundle: Bundle, analyzer: &mut dyn Sink) -> Result<(), Error> {
    let with_machined: BTreeSet<Option<String>> = bundle
        .inputs
        .iter()
        .filter(|i| i.kind == EntryKind::Machined)
        .map(|i| i.node.clone())
        .collect();
    for w in bundle.warnings {
        analyzer.warn(w);
    }
    let several = bundle.inputs.len() > 1;
    for mut input in bundle.inputs {
        let skip_talos = input.kind == EntryKind::Dmesg && with_machined.contains(&input.node);
        let node = input.node.clone().or_else(|| several.then(|| file_stem(&input.name)));
        analyzer.begin_input(&input.name, node.as_deref());
        let mut splitter = LineSplitter::default();
        let mut binary_at = None;
        let mut sink = |line: RawLine<'_>| -> Flow {
            if memchr::memchr(0, line.bytes).is_some() {
                binary_at = Some(line.no);
                return Flow::Stop;
            }
            if !(skip_talos && memchr::memmem::find(line.bytes, b"[talos]").is_some()) {
                analyzer.push_line(line);
            }
            Flow::Continue
        };
        let mut buf = vec![0u8; 256 * 1024];
        let mut flow = Flow::Continue;
        loop {
            let n = match input.reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::Input { what: format!("`{}`", input.name), source: e });
                }
            };
            flow = splitter.push(&buf[..n], &mut sink);
            if flow == Flow::Stop {
                break;
            }
        }
        if flow == Flow::Continue {
            splitter.finish(&mut sink);
        }
        if let Some(no) = binary_at {
            analyzer.warn(format!(
                "`{}` holds binary data (a NUL byte on line {no}); the rest of it was not read",
                input.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tree() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ci-support-bundle/tree")
    }

    /// Zips `tree/` the way `talosctl support` writes its archive (deflated files, no
    /// directory entries).
    fn zip_tree(dest: &Path) {
        let mut files = Vec::new();
        walk(&tree(), Path::new(""), 0, &mut files).expect("walk fixture");
        let mut zip = zip::ZipWriter::new(File::create(dest).expect("create zip"));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for f in files {
            zip.start_file(slash_path(&f), opts).expect("start file");
            zip.write_all(&fs::read(tree().join(&f)).expect("read fixture")).expect("write");
        }
        zip.finish().expect("finish zip");
    }

    fn listing(b: &Bundle) -> Vec<String> {
        b.inputs
            .iter()
            .map(|i| format!("{} {:?} {}", i.node.as_deref().unwrap_or("-"), i.kind, i.name))
            .collect()
    }

    #[test]
    fn classifies_both_layouts() {
        let names = [
            "10.5.0.2/dmesg.log",
            "10.5.0.2/service-logs/machined.log",
            "10.5.0.2/service-logs/machined.state",
            "10.5.0.2/service-logs/apid.log",
            "10.5.0.2/kubernetes-logs/kube-system/kube-apiserver.log",
            "10.5.0.2/resources/machineconfigs.config.talos.dev.yaml",
            "cluster/kubernetesResources/nodes.yaml",
            "old/10.5.0.4/summary",
            "old/10.5.0.4/machined.log",
            "old/10.5.0.4/controller-runtime.log",
            "old/10.5.0.4/kube-system/etcd.log",
            "notes.log",
        ];
        let got: Vec<String> = classify(names.into_iter())
            .into_iter()
            .map(|(n, node, kind)| format!("{} {kind:?} {n}", node.unwrap_or_default()))
            .collect();
        assert_eq!(
            got,
            [
                "10.5.0.2 Machined 10.5.0.2/service-logs/machined.log",
                "10.5.0.2 Dmesg 10.5.0.2/dmesg.log",
                "10.5.0.2 Service(\"apid\") 10.5.0.2/service-logs/apid.log",
                "10.5.0.4 Machined old/10.5.0.4/machined.log",
                "10.5.0.4 ControllerRuntime old/10.5.0.4/controller-runtime.log",
            ]
        );
    }

    #[test]
    fn reads_the_support_zip() {
        let dir = std::env::temp_dir().join(format!("td-bundle-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("tmp");
        let zip_path = dir.join("support.zip");
        zip_tree(&zip_path);
        assert!(is_bundle(&zip_path));
        let mut bundle = open(&zip_path).expect("open").expect("a bundle");
        let prefix = format!("{}:", zip_path.display());
        let got: Vec<String> = listing(&bundle).iter().map(|l| l.replace(&prefix, "")).collect();
        assert_eq!(
            got,
            [
                "10.5.0.2 Machined 10.5.0.2/service-logs/machined.log",
                "10.5.0.2 Dmesg 10.5.0.2/dmesg.log",
                "10.5.0.2 ControllerRuntime 10.5.0.2/controller-runtime.log",
                "10.5.0.2 Service(\"etcd\") 10.5.0.2/service-logs/etcd.log",
                "10.5.0.3 Machined 10.5.0.3/service-logs/machined.log",
                "10.5.0.3 Dmesg 10.5.0.3/dmesg.log",
                "10.5.0.3 ControllerRuntime 10.5.0.3/controller-runtime.log",
                "10.5.0.3 Service(\"kubelet\") 10.5.0.3/service-logs/kubelet.log",
            ]
        );
        let mut text = String::new();
        bundle.inputs[0].reader.read_to_string(&mut text).expect("read");
        assert!(text.contains("boot sequence: done"), "{text}");
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn reads_an_unpacked_bundle_directory() {
        let bundle = open(&tree()).expect("open").expect("a bundle");
        assert_eq!(bundle.inputs.len(), 8);
        assert!(bundle.inputs[0].name.ends_with("tree/10.5.0.2/service-logs/machined.log"));
    }

    #[test]
    fn plain_directory_lists_log_files_without_nodes() {
        let dir = std::env::temp_dir().join(format!("td-logdir-{}", std::process::id()));
        fs::create_dir_all(dir.join("nested")).expect("tmp");
        fs::write(dir.join("talos-cp-01.log"), "x\n").expect("write");
        fs::write(dir.join("nested/ci.txt"), "y\n").expect("write");
        fs::write(dir.join("config.yaml"), "z\n").expect("write");
        let bundle = open(&dir).expect("open").expect("a directory");
        let got: Vec<(Option<String>, EntryKind)> =
            bundle.inputs.iter().map(|i| (i.node.clone(), i.kind.clone())).collect();
        assert_eq!(got, [(None, EntryKind::Other), (None, EntryKind::Other)]);
        assert!(bundle.inputs[0].name.ends_with("nested/ci.txt"));
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_plain_log_is_not_a_bundle() {
        let log = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/ci-support-bundle/tree/10.5.0.2/dmesg.log");
        assert!(!is_bundle(&log));
        assert!(open(&log).expect("open").is_none());
    }
}

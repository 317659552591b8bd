use super::*;
use crate::input::lines::RawLine;
use crate::machine::Progress;
use std::io::Write;

fn tree() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ci-support-bundle/tree")
}

/// What a feed did: inputs begun (name, node), lines, warnings.
#[derive(Default)]
struct Rec {
    inputs: Vec<(String, Option<String>)>,
    lines: u64,
    text: String,
    warnings: Vec<String>,
}

impl Sink for Rec {
    fn begin_input(&mut self, name: &str, node: Option<&str>) {
        self.inputs.push((name.to_owned(), node.map(str::to_owned)));
    }
    fn push_line(&mut self, line: RawLine<'_>) -> Vec<Progress> {
        self.lines += 1;
        self.text.push_str(&String::from_utf8_lossy(line.bytes));
        self.text.push('\n');
        Vec::new()
    }
    fn warn(&mut self, msg: String) {
        self.warnings.push(msg);
    }
    fn lines(&self) -> u64 {
        self.lines
    }
}

fn tmp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("td-bundle-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("tmp");
    dir
}

/// Zips `tree/` the way `talosctl support` writes its archive (deflated files, no
/// directory entries).
fn zip_tree(dest: &Path) {
    let files = walk(&tree(), &mut Skipped::default()).expect("walk fixture");
    let mut zip = zip::ZipWriter::new(File::create(dest).expect("create zip"));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for f in files {
        zip.start_file(f.as_str(), opts).expect("start file");
        zip.write_all(&fs::read(tree().join(&f)).expect("read fixture")).expect("write");
    }
    zip.finish().expect("finish zip");
}

#[test]
fn lists_both_layouts_and_loose_logs() {
    let names = [
        "10.5.0.2/dmesg.log",
        "10.5.0.2/service-logs/machined.log",
        "10.5.0.2/service-logs/machined.state",
        "10.5.0.2/service-logs/apid.log.gz",
        "10.5.0.2/kubernetes-logs/kube-system/kube-apiserver.log",
        "10.5.0.2/resources/machineconfigs.config.talos.dev.yaml",
        "cluster/kubernetesResources/nodes.yaml",
        "old/10.5.0.4/summary",
        "old/10.5.0.4/machined.log",
        "old/10.5.0.4/controller-runtime.log",
        "old/10.5.0.4/kube-system/etcd.log",
        "notes.log",
        "ci/console.txt.gz",
        "ci/machined.log.1",
        "nested.zip",
        "README.md",
    ];
    let list = listing(&names);
    let got: Vec<String> = list
        .logs
        .iter()
        .map(|(i, node, kind)| format!("{} {kind:?} {}", node.as_deref().unwrap_or("-"), names[*i]))
        .collect();
    assert_eq!(
        got,
        [
            "10.5.0.2 Machined 10.5.0.2/service-logs/machined.log",
            "10.5.0.2 Dmesg 10.5.0.2/dmesg.log",
            "10.5.0.2 Service(\"apid\") 10.5.0.2/service-logs/apid.log.gz",
            "10.5.0.4 Machined old/10.5.0.4/machined.log",
            "10.5.0.4 ControllerRuntime old/10.5.0.4/controller-runtime.log",
            "- Other ci/console.txt.gz",
            "- Other ci/machined.log.1",
            "- Archive nested.zip",
            "- Other notes.log",
        ]
    );
    let left: Vec<&str> = list.not_logs.iter().map(|&i| names[i]).collect();
    assert_eq!(left, ["README.md"]);
}

#[test]
fn reads_the_support_zip() {
    let dir = tmp("zip");
    let zip_path = dir.join("support.zip");
    zip_tree(&zip_path);
    assert!(is_zip_file(&zip_path));
    let mut rec = Rec::default();
    let fed = feed_zip_file(&zip_path, &mut rec).expect("read");
    assert_eq!(fed.logs, 8);
    let prefix = format!("{}:", zip_path.display());
    let got: Vec<String> = rec
        .inputs
        .iter()
        .map(|(n, node)| format!("{} {}", node.as_deref().unwrap_or("-"), n.replace(&prefix, "")))
        .collect();
    assert_eq!(
        got,
        [
            "10.5.0.2 10.5.0.2/service-logs/machined.log",
            "10.5.0.2 10.5.0.2/dmesg.log",
            "10.5.0.2 10.5.0.2/controller-runtime.log",
            "10.5.0.2 10.5.0.2/service-logs/etcd.log",
            "10.5.0.3 10.5.0.3/service-logs/machined.log",
            "10.5.0.3 10.5.0.3/dmesg.log",
            "10.5.0.3 10.5.0.3/controller-runtime.log",
            "10.5.0.3 10.5.0.3/service-logs/kubelet.log",
        ]
    );
    assert!(rec.text.contains("boot sequence: done"));
    assert_eq!(rec.warnings, Vec::<String>::new());
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn reads_an_unpacked_bundle_directory() {
    let mut rec = Rec::default();
    let fed = feed_dir(&tree(), &mut rec).expect("read");
    assert_eq!(fed.logs, 8);
    assert!(rec.inputs[0].0.ends_with("tree/10.5.0.2/service-logs/machined.log"));
    assert_eq!(rec.warnings, Vec::<String>::new());
}

#[test]
fn a_directory_is_read_whole_and_what_is_left_out_is_counted() {
    let dir = tmp("dir");
    let deep = dir.join("a/b/c/d/e/f");
    fs::create_dir_all(&deep).expect("tmp");
    fs::write(deep.join("deep.log"), "deep line\n").expect("write");
    fs::write(dir.join("talos-cp-01.log"), "x\n").expect("write");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"gzip line\n").expect("gz");
    fs::write(dir.join("old.log.gz"), gz.finish().expect("gz")).expect("write");
    fs::write(dir.join("config.yaml"), "z\n").expect("write");
    #[cfg(unix)]
    {
        let target = tmp("dir-target");
        fs::write(target.join("linked.log"), "linked line\n").expect("write");
        std::os::unix::fs::symlink(target.join("linked.log"), dir.join("link.log"))
            .expect("symlink");
        std::os::unix::fs::symlink(&dir, dir.join("a/loop")).expect("symlink");
    }
    let mut rec = Rec::default();
    feed_dir(&dir, &mut rec).expect("read");
    for want in ["deep line", "gzip line", "x"] {
        assert!(rec.text.lines().any(|l| l == want), "{want}: {}", rec.text);
    }
    let w = rec.warnings.join("\n");
    assert!(
        w.contains("1 file not read, not named like a log") && w.contains("config.yaml"),
        "{w}"
    );
    #[cfg(unix)]
    {
        assert!(rec.text.contains("linked line"), "{}", rec.text);
        assert!(w.contains("1 link to a folder or file already read"), "{w}");
        fs::remove_dir_all(
            std::env::temp_dir().join(format!("td-bundle-dir-target-{}", std::process::id())),
        )
        .ok();
    }
    fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_plain_log_is_not_a_zip() {
    let log = tree().join("10.5.0.2/dmesg.log");
    assert!(!is_zip_file(&log));
}

/// The level gives each entry what it wants when all fit, and otherwise the same to every
/// entry that wants more than the level, what the smaller ones leave included.
#[test]
fn fair_level_shares_what_is_left_by_small_entries() {
    for (wants, budget, level) in [
        (&[10, 20][..], 30, u64::MAX),
        (&[10, 100, 100][..], 110, 50),
        (&[100, 100, 100, 100][..], 100, 25),
        (&[1, 2, 1000][..], 10, 7),
        (&[u64::MAX, 5][..], 100, 95),
        (&[][..], 0, u64::MAX),
    ] {
        assert_eq!(fair_level(wants, budget), level, "{wants:?} in {budget}");
        let used: u64 = wants.iter().map(|&w| w.min(level)).fold(0, u64::saturating_add);
        assert!(level == u64::MAX || used <= budget, "{wants:?}");
    }
}

/// A stored zip of (name, bytes) entries.
fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        zip.start_file(*name, opts).expect("start file");
        zip.write_all(bytes).expect("write");
    }
    zip.finish().expect("finish zip").into_inner()
}

/// Issue #14: a first entry as large as the archive's budget left nothing for the entries
/// after it. Scaled down to a budget of 64 KiB: each entry gets its share, the big one is cut
/// at its share and named in a warning that counts what it read.
#[test]
fn r14_one_huge_entry_does_not_starve_the_others() {
    let big = "[talos] 2024/11/20 09:14:03 task startSyslogd (1/1): done, 1ms\n".repeat(4000);
    let small = "[talos] 2024/11/20 09:14:04 phase x (1/1): failed\n".repeat(20);
    let zip = stored_zip(&[
        ("aaa.log", big.as_bytes()),
        ("bbb.log", small.as_bytes()),
        ("zzz.log", small.as_bytes()),
    ]);
    let archive = zip::ZipArchive::new(Cursor::new(zip)).expect("zip");
    let mut rec = Rec::default();
    let mut budget = 64 << 10;
    feed_zip(archive, "z.zip", &mut rec, &mut budget, &Inflation::new(), 1).expect("read");
    assert_eq!(rec.text.matches("phase x (1/1): failed").count(), 40, "{:?}", rec.warnings);
    let read = (64 << 10) - budget;
    assert!(read > 60 << 10 && read <= 64 << 10, "{read}");
    let w = rec.warnings.join("\n");
    assert!(w.contains("1 entry read only in part") && w.contains("`aaa.log`"), "{w}");
    assert!(w.contains("equal share of the 4 GiB cap per archive"), "{w}");
    assert!(!w.contains("bbb.log") && !w.contains("zzz.log"), "{w}");
}

/// Issue #14: a zip on a pipe larger than the spool cap (1 GiB, here 4 KiB) was refused, exit
/// 2. Its first 4 KiB are saved; the entries there are found by their local headers and read,
/// an entry cut by the cap up to it, and one warning says what was not read and where.
#[test]
fn r14_a_zip_past_the_spool_cap_is_read_up_to_it() {
    let seed = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sharedfs-v1.8-docker-run/input.log"),
    )
    .expect("seed");
    let mut bytes = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut bytes);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("logs/cp1.log", opts).expect("start");
    zip.write_all(&seed).expect("write");
    // Incompressible, so that it crosses the cap: stored.
    let stored = opts.compression_method(zip::CompressionMethod::Stored);
    zip.start_file("logs/cp2.log", stored).expect("start");
    let noise: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i.wrapping_mul(7919) % 26) as u8).collect();
    zip.write_all(&noise).expect("write");
    zip.start_file("logs/cp3.log", opts).expect("start");
    zip.write_all(b"never reached\n").expect("write");
    zip.finish().expect("finish");
    let all = bytes.into_inner();
    let cap = 4096;
    let (head, rest) = all.split_at(100);
    let (file, cut) = source::spool(head, &mut Cursor::new(rest), cap).expect("spooled");
    assert!(cut);
    let mut rec = Rec::default();
    feed_zip_cut(file, "-", "standard input", cap, &mut rec);
    assert!(rec.text.contains("failed: invalid argument"), "{}", rec.text);
    let w = rec.warnings.join("\n");
    assert!(w.contains("standard input: a zip archive larger than 4 KiB"), "{w}");
    assert!(w.contains("from byte 4096 on, was not read"), "{w}");
    assert!(
        w.contains("2 entries found there")
            && w.contains("1 entry cut at the cap, read up to it: `logs/cp2.log`"),
        "{w}"
    );
    assert!(!rec.text.contains("never reached"));
}

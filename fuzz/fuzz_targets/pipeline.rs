//! The whole pipeline on arbitrary bytes: split (in two chunks, to exercise carry-over),
//! analyze, report, and render as human text and JSON.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use talos_doctor::analyzer::{AnalyzeOptions, Analyzer};
use talos_doctor::input::lines::{Flow, LineSplitter};
use talos_doctor::kb::Kb;

static KB: LazyLock<Kb> = LazyLock::new(Kb::builtin);

fuzz_target!(|data: &[u8]| {
    let (cut, bytes) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c), rest),
        None => (0, data),
    };
    let cut = cut.min(bytes.len());
    // Twice: with the text the splitter vouches for, and with every line decoded from its
    // bytes; the chunk-level checks must change nothing.
    let run = |vouched: bool| {
        let mut a = Analyzer::new(&KB, AnalyzeOptions::default());
        a.begin_input("-", None);
        let mut s = LineSplitter::new(4096);
        let mut sink = |mut l: talos_doctor::input::lines::RawLine<'_>| {
            if let Some(t) = l.text {
                assert_eq!(t.as_bytes(), l.bytes);
                assert!(!l.bytes.iter().any(|&b| b == 0 || b == 0x1b));
            }
            if !vouched {
                l.text = None;
            }
            a.push_line(l);
            Flow::Continue
        };
        s.push(&bytes[..cut], &mut sink);
        s.push(&bytes[cut..], &mut sink);
        s.finish(&mut sink);
        a
    };
    let a = run(true);
    let plain = run(false).report();
    let report = a.report();
    let _ = talos_doctor::exit::code_for(&report);
    let opts = talos_doctor::render::RenderOptions::default();
    let mut out = Vec::new();
    let _ = talos_doctor::render::human::render(&report, &opts, &mut out);
    let _ = talos_doctor::render::json::render(&report, &opts, &mut out);
    let json = |r: &talos_doctor::report::Report| {
        let mut v = Vec::new();
        let _ = talos_doctor::render::json::render(r, &opts, &mut v);
        v
    };
    assert!(json(&report) == json(&plain), "vouched text changed the report");
});

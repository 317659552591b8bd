//! The whole pipeline on arbitrary bytes: split (in two chunks, to exercise carry-over),
//! analyze, report, and render as human text and JSON.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use talos_doctor::analyze::{AnalyzeOptions, Analyzer};
use talos_doctor::input::lines::{Flow, LineSplitter};
use talos_doctor::kb::Kb;

static KB: LazyLock<Kb> = LazyLock::new(Kb::builtin);

fuzz_target!(|data: &[u8]| {
    let (cut, bytes) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c), rest),
        None => (0, data),
    };
    let cut = cut.min(bytes.len());
    let mut a = Analyzer::new(&KB, AnalyzeOptions::default());
    a.begin_input("-", None);
    let mut s = LineSplitter::new(4096);
    let mut sink = |l: talos_doctor::input::lines::RawLine<'_>| {
        a.push_line(l);
        Flow::Continue
    };
    s.push(&bytes[..cut], &mut sink);
    s.push(&bytes[cut..], &mut sink);
    s.finish(&mut sink);
    let report = a.report();
    let _ = talos_doctor::exit::code_for(&report);
    let opts = talos_doctor::render::RenderOptions::default();
    let mut out = Vec::new();
    let _ = talos_doctor::render::human::render(&report, &opts, &mut out);
    let _ = talos_doctor::render::json::render(&report, &opts, &mut out);
});

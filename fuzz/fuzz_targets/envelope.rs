//! Every envelope layer (compose, docker -t, talosctl node, dmesg, zap dev, machined stamp,
//! kernel console, `[talos]`, Go date, task logger, JSON shipping) on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talos_doctor::parse::envelope;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    // The splitter never hands on a newline; keep the parser's precondition.
    let line = line.split('\n').next().unwrap_or("");
    let env = envelope::parse(line);
    assert!(env.text.len() <= line.len() * 4 + 64, "text grew: {} -> {}", line.len(), env.text.len());
    let _ = envelope::is_bare_timestamp(line);
    let _ = talos_doctor::parse::time::go_stamp(line);
    let _ = talos_doctor::parse::time::rfc3339(line);
    let _ = talos_doctor::parse::time::go_duration_ms(line);
});

//! Every envelope layer (compose, docker -t, talosctl node, dmesg, zap dev, machined stamp,
//! kernel console, `[talos]`, Go date, task logger, JSON shipping) on arbitrary text, and the
//! detach/attach round trip the worker threads of `analyze -j` rely on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talos_doctor::parse::envelope;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    // The splitter never hands on a newline; keep the parser's precondition.
    let line = line.split('\n').next().unwrap_or("");
    let env = envelope::parse(line);
    assert!(env.text.len() <= line.len() * 4 + 64, "text grew: {} -> {}", line.len(), env.text.len());
    // Detached from a larger text (as a batch of `analyze -j`) and attached again: equal.
    let base = format!("x\n{line}\ny");
    let inner = &base[2..2 + line.len()];
    let env = envelope::parse(inner);
    assert_eq!(env.detach(&base).attach(&base), env);
    let _ = envelope::is_bare_timestamp(line);
    let _ = talos_doctor::parse::time::go_stamp(line);
    let _ = talos_doctor::parse::time::rfc3339(line);
    let _ = talos_doctor::parse::time::go_duration_ms(line);
});

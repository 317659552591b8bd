//! The message grammar (sequencer, service, zap fields) on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talos_doctor::parse::message;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = message::parse(&text);
    let _ = message::zap(&text);
});

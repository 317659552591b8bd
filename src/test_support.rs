//! Shared by the unit tests: the lines of every bundled fixture, and digit variants of a text.

/// Every line of every `fixtures/*/input.log`, invalid UTF-8 replaced.
pub(crate) fn fixture_lines() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let Ok(log) = std::fs::read(entry.expect("entry").path().join("input.log")) else {
            continue;
        };
        lines.extend(String::from_utf8_lossy(&log).lines().map(str::to_owned));
    }
    lines
}

/// `text` with each ASCII digit `d` replaced by `f(d)`.
pub(crate) fn with_digits(text: &str, f: impl Fn(u8) -> u8) -> String {
    text.chars().map(|c| c.to_digit(10).map_or(c, |d| char::from(b'0' + f(d as u8)))).collect()
}

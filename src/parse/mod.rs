//! Parsers for Talos log lines, in two layers.
//!
//! [`envelope`] peels off everything that the way a log reached the user added around a
//! Talos message (Docker and compose prefixes, `talosctl` node prefixes, dmesg and console
//! stamps, the `[talos]` prefix, Go `log` dates, JSON shipping). [`message`] then reads the
//! message itself: sequencer lines, service state lines and zap key/value fields. Both are
//! nom parsers over `&str`, pure and allocation-free on the common path.

pub mod envelope;
pub mod event;
pub mod message;
pub mod normalize;

pub mod time;

pub use envelope::{Dialect, Envelope, Level};
pub use message::{Message, ServiceLine, Zap};

/// Whether `finder`'s needle occurs in `hay`. Log texts are short (a service line's
/// `Health check successful`), and on a short text memchr's substring searcher hashes every
/// window of it (about 190 instructions for that one); a byte search for the needle's first
/// byte and a compare where it occurs costs a fraction of that. Long texts, where that byte
/// may occur often, go to the searcher.
#[inline]
pub(crate) fn contains(finder: &memchr::memmem::Finder<'_>, hay: &[u8]) -> bool {
    const SHORT: usize = 64;
    let needle = finder.needle();
    if hay.len() > SHORT {
        return finder.find(hay).is_some();
    }
    let Some((&first, tail)) = needle.split_first() else {
        return true;
    };
    let mut rest = hay;
    while rest.len() > tail.len() {
        let Some(at) = memchr::memchr(first, &rest[..rest.len() - tail.len()]) else {
            return false;
        };
        if rest[at + 1..].starts_with(tail) {
            return true;
        }
        rest = &rest[at + 1..];
    }
    false
}

#[cfg(test)]
mod tests {
    use memchr::memmem::Finder;

    /// The short-text search finds what the substring searcher finds: in every fixture text
    /// and every cut of the short ones, for the needles it is used with and a few edges.
    #[test]
    fn contains_equals_the_searcher() {
        let needles = ["going to restart", "context canceled", "a", "aa", "", "restart"];
        let mut texts: Vec<String> = crate::test_support::fixture_lines();
        texts.extend(
            [
                "going to restart",
                "going to restar",
                "ggoing to restart",
                "xgoing to restartx",
                "context cancele",
                "contextcontext canceled",
                "aaaa",
                "",
            ]
            .map(String::from),
        );
        let (mut found, mut n) = (0, 0);
        for needle in needles {
            let f = Finder::new(needle);
            for t in &texts {
                let b = t.as_bytes();
                let cuts = if b.len() <= 80 { b.len() } else { 0 };
                for cut in (0..cuts).chain([b.len()]) {
                    let hay = &b[cut..];
                    let want = f.find(hay).is_some();
                    assert_eq!(super::contains(&f, hay), want, "{needle:?} in {t:?}[{cut}..]");
                    found += usize::from(want);
                    n += 1;
                }
            }
        }
        assert!(found > 100 && n > 10_000, "{found} of {n}");
    }
}

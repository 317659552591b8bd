//! The one Talos release number: what the phase catalogue's ranges (`data/phases.toml`), the
//! container specs per release (`data/container-specs.toml`) and an image tag are read into
//! and compared as.

use std::fmt;

/// A Talos release number, `vMAJOR.MINOR.PATCH`, ordered by release.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl Version {
    /// The end of a range that has none: every later release.
    pub const OPEN: Version = Version::new(u32::MAX, u32::MAX, u32::MAX);

    /// Shorthand for comparisons.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version { major, minor, patch }
    }

    /// `v1.8.3`, `1.8`, `v1.14.0-beta.1` → a version (a missing patch is 0); anything else →
    /// `None`.
    pub fn parse(tag: &str) -> Option<Version> {
        let t = tag.strip_prefix('v').unwrap_or(tag);
        let core = t.split(['-', '+']).next()?;
        let mut it = core.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = match it.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        Some(Version { major, minor, patch })
    }

    /// `v1.6` for v1.6.0, `v1.6.5` otherwise: a release as a range prints it.
    pub fn short(self) -> String {
        if self.patch == 0 {
            format!("v{}.{}", self.major, self.minor)
        } else {
            format!("v{}.{}.{}", self.major, self.minor, self.patch)
        }
    }
}

/// `v1.8.3`: every part, as a report's `talos_version` from an image tag shows it.
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let cases: &[(&str, Option<Version>)] = &[
            ("v1.8.3", Some(Version::new(1, 8, 3))),
            ("v1.14.0-beta.1", Some(Version::new(1, 14, 0))),
            ("v1.10.0+dirty", Some(Version::new(1, 10, 0))),
            ("1.2", Some(Version::new(1, 2, 0))),
            ("v1", None),
            ("v1.x", None),
            ("v1.8.x", None),
            ("latest", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(Version::parse(s), *want, "{s}");
        }
        assert_eq!(Version::new(1, 8, 0).to_string(), "v1.8.0");
        assert_eq!(Version::new(1, 8, 0).short(), "v1.8");
        assert_eq!(Version::new(1, 6, 5).short(), "v1.6.5");
        assert!(Version::new(1, 10, 0) > Version::new(1, 9, 99));
        assert!(Version::OPEN > Version::new(99, 0, 0));
    }
}

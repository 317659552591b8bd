//! Timestamps and Go durations as Talos prints them: Go's `log` stamp, RFC 3339 (the one
//! parser: as seconds for log lines, [`rfc3339_nanos`] for Docker's exact stamps), and Go
//! `time.Duration` strings.

use nom::{
    IResult, Parser,
    character::complete::{char, digit1},
    combinator::{opt, recognize},
};

/// Seconds on a clock, and which clock: Go/RFC3339 wall time or kernel uptime never mix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stamp {
    /// Unix seconds (UTC assumed for Go's local-time stamps: containers run in UTC).
    Wall(f64),
    /// Seconds since the kernel booted (console `[   3.29]`).
    Uptime(f64),
}

// The stamps below are parsed on almost every line of a log, so they are hand-written over
// bytes (no allocation, no float parsing) with nom's signatures, so they compose with the
// envelope's nom parsers.

fn fail(i: &str) -> nom::Err<nom::error::Error<&str>> {
    nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Digit))
}

/// Exactly `n` ASCII digits at `at` as a number.
#[inline]
fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let d = b.get(at..at + n)?;
    let mut v = 0i64;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `.123456789` at `at`: (value, bytes taken); (0, 0) when there is no fraction. Digits past
/// the 15th are read but add nothing an f64 of seconds could hold.
#[inline]
fn frac(b: &[u8], at: usize) -> (f64, usize) {
    if b.get(at) != Some(&b'.') || !b.get(at + 1).is_some_and(u8::is_ascii_digit) {
        return (0.0, 0);
    }
    let mut n = 0usize;
    let mut v = 0u64;
    let mut scale = 1u64;
    while let Some(&c) = b.get(at + 1 + n) {
        if !c.is_ascii_digit() {
            break;
        }
        if n < 15 {
            v = v * 10 + u64::from(c - b'0');
            scale *= 10;
        }
        n += 1;
    }
    (v as f64 / scale as f64, n + 1)
}

/// `YYYY?MM?DD?HH:MM:SS` with the given separators (its 19 bytes) as Unix seconds.
#[inline]
fn civil_seconds(b: &[u8], date_sep: u8, mid: &[u8]) -> Option<i64> {
    // One bounds check for the fixed part, then plain indexing.
    let f: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    if f[4] != date_sep
        || f[7] != date_sep
        || !mid.contains(&f[10])
        || f[13] != b':'
        || f[16] != b':'
    {
        return None;
    }
    // This runs on almost every line: the fourteen digits are checked together, without a
    // branch per digit (a byte is a digit when it minus `0` is under 10, as an unsigned
    // byte), which took half of what it cost digit by digit.
    const AT: [usize; 14] = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    let mut d = [0u8; 14];
    let mut bad = false;
    for (x, &at) in d.iter_mut().zip(&AT) {
        *x = f[at].wrapping_sub(b'0');
        bad |= *x > 9;
    }
    if bad {
        return None;
    }
    let two = |i: usize| i64::from(d[i]) * 10 + i64::from(d[i + 1]);
    let (y, mo, day) = (two(0) * 100 + two(2), two(4), two(6));
    let (h, mi, s) = (two(8), two(10), two(12));
    Some(days_from_civil(y, mo, day) * 86_400 + h * 3600 + mi * 60 + s)
}

/// [`civil_seconds`] with an optional fraction: the seconds and the offset after them.
#[inline]
fn date_time(b: &[u8], date_sep: u8, mid: &[u8]) -> Option<(f64, usize)> {
    let s = civil_seconds(b, date_sep, mid)?;
    let (fr, n) = frac(b, 19);
    Some((s as f64 + fr, 19 + n))
}

/// `2024/10/09 12:53:26` with optional `.123456` (Go `log` and machined's buffer stamp).
pub fn go_stamp(i: &str) -> IResult<&str, f64> {
    match go_date_time(i.as_bytes()) {
        // Every byte taken is ASCII, so `at` is a char boundary.
        Some((t, at)) => Ok((&i[at..], t)),
        None => Err(fail(i)),
    }
}

/// [`date_time`] of a Go stamp, through the minute of the last one read on this thread:
/// consecutive lines of a log mostly share their date, hour and minute, and reading them
/// was most of a stamp's cost. Only a minute [`civil_seconds`] accepted is kept, so a line
/// whose first 16 bytes are the same is read the same way up to its seconds.
#[inline]
fn go_date_time(b: &[u8]) -> Option<(f64, usize)> {
    thread_local! {
        static MINUTE: std::cell::Cell<([u8; 16], i64)> = const { std::cell::Cell::new(([0; 16], 0)) };
    }
    let f: &[u8; 19] = b.get(..19)?.try_into().ok()?;
    let (key, base) = MINUTE.get();
    // A kept minute has its `/` (the empty memo has not): a hit is a minute read before.
    let secs = if key[4] == b'/' && f[..16] == key {
        let (s0, s1) = (f[17].wrapping_sub(b'0'), f[18].wrapping_sub(b'0'));
        if f[16] != b':' || s0 > 9 || s1 > 9 {
            return None;
        }
        base + i64::from(s0) * 10 + i64::from(s1)
    } else {
        let s = civil_seconds(b, b'/', b" ")?;
        let mut k = [0; 16];
        k.copy_from_slice(&f[..16]);
        // The seconds are two digits here (checked above): the minute is what is left.
        MINUTE.set((k, s - i64::from(f[17] - b'0') * 10 - i64::from(f[18] - b'0')));
        s
    };
    let (fr, n) = frac(b, 19);
    Some((secs as f64 + fr, 19 + n))
}

/// RFC 3339 with optional fraction and zone: `2024-10-09T12:53:26.123456789Z`.
pub fn rfc3339(i: &str) -> IResult<&str, f64> {
    let b = i.as_bytes();
    let Some((t, mut at)) = date_time(b, b'-', b"T ") else {
        return Err(fail(i));
    };
    let mut off = 0.0;
    match b.get(at) {
        Some(b'Z') => at += 1,
        Some(&sign @ (b'+' | b'-')) => {
            if let (Some(h), Some(b':'), Some(m)) =
                (digits(b, at + 1, 2), b.get(at + 3), digits(b, at + 4, 2))
            {
                let o = (h * 3600 + m * 60) as f64;
                off = if sign == b'-' { -o } else { o };
                at += 6;
            }
        }
        _ => {}
    }
    Ok((&i[at..], t - off))
}

/// RFC 3339 as Docker prints it (`RFC3339Nano`: `2024-11-20T09:14:03.123456789Z`, or a
/// `+01:00` zone) → Unix nanoseconds, exact. The `T` and the zone are required; digits past
/// the ninth of a fraction are dropped; what follows the zone is ignored.
pub fn rfc3339_nanos(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let secs = civil_seconds(b, b'-', b"T")?;
    let mut at = 19;
    let mut nanos: i128 = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 9 {
                nanos = nanos * 10 + i128::from(b[at] - b'0');
            }
            at += 1;
        }
        let n = at - start;
        if n == 0 {
            return None;
        }
        nanos *= 10i128.pow(9 - n.min(9) as u32);
    }
    let offset: i64 = match b.get(at) {
        Some(b'Z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let (h, m) = (digits(b, at + 1, 2)?, digits(b, at + 4, 2)?);
            if b.get(at + 3) != Some(&b':') {
                return None;
            }
            if sign == b'-' { -(h * 3600 + m * 60) } else { h * 3600 + m * 60 }
        }
        _ => return None,
    };
    Some(i128::from(secs - offset) * 1_000_000_000 + nanos)
}

/// Parses a Go `time.Duration` string (`3.767µs`, `1.04s`, `2m3.5s`, `1h0m0s`) into
/// milliseconds. Returns `None` for anything else.
pub fn go_duration_ms(s: &str) -> Option<f64> {
    let mut rest = s.trim();
    if rest == "0s" || rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    let mut any = false;
    while !rest.is_empty() {
        let (r, n) = recognize::<_, nom::error::Error<&str>, _>((digit1, opt((char('.'), digit1))))
            .parse(rest)
            .ok()?;
        let value: f64 = n.parse().ok()?;
        let (r, unit_ms) = unit(r)?;
        total += value * unit_ms;
        any = true;
        rest = r;
    }
    any.then_some(total)
}

fn unit(r: &str) -> Option<(&str, f64)> {
    // Longest units first: "ms" before "m", "ns" before "s".
    const UNITS: &[(&str, f64)] = &[
        ("ns", 1e-6),
        ("µs", 1e-3),
        ("μs", 1e-3),
        ("us", 1e-3),
        ("ms", 1.0),
        ("s", 1e3),
        ("m", 60e3),
        ("h", 3600e3),
    ];
    UNITS.iter().find_map(|(u, f)| r.strip_prefix(u).map(|rest| (rest, *f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases: &[(&str, Option<f64>)] = &[
            ("3.767µs", Some(0.003_767)),
            ("34.711ms", Some(34.711)),
            ("1.048849751s", Some(1_048.849_751)),
            ("2m3.5s", Some(123_500.0)),
            ("4m26.855228102s", Some(266_855.228_102)),
            ("1h0m0s", Some(3_600_000.0)),
            ("100ns", Some(0.0001)),
            ("0s", Some(0.0)),
            ("12", None),
            ("fast", None),
            ("", None),
        ];
        for (s, want) in cases {
            let got = go_duration_ms(s);
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-6, "{s}: {g} != {w}"),
                _ => assert_eq!(got, *want, "{s}"),
            }
        }
    }

    #[test]
    fn stamps() {
        assert_eq!(go_stamp("2024/10/09 12:53:26 x"), Ok((" x", 1_728_478_406.0)));
        let (_, v) = go_stamp("2024/06/10 10:32:11.500000 [talos]").unwrap();
        assert!((v - 1_718_015_531.5).abs() < 1e-6);
        let (_, v) = rfc3339("2024-10-09T12:53:26.5Z").unwrap();
        assert!((v - 1_728_478_406.5).abs() < 1e-6);
        let (_, v) = rfc3339("2024-10-09T14:53:26+02:00").unwrap();
        assert!((v - 1_728_478_406.0).abs() < 1e-6);
        assert!(go_stamp("2024-10-09 12:53:26").is_err());
        // (input, rest, seconds since the epoch) or None for an error.
        let cases: &[(&str, Option<(&str, f64)>)] = &[
            ("2024-10-09T12:53:26", Some(("", 1_728_478_406.0))),
            ("2024-10-09 12:53:26.25Z rest", Some((" rest", 1_728_478_406.25))),
            ("2024-10-09T12:53:26.Z", Some((".Z", 1_728_478_406.0))),
            ("2024-10-09T12:53:26+0", Some(("+0", 1_728_478_406.0))),
            ("2024-10-09T12:53:26-01:30]", Some(("]", 1_728_483_806.0))),
            ("2024-10-09T12:53:26.1234567890123456789Z", Some(("", 1_728_478_406.123_457))),
            ("1970-01-01T00:00:00Z", Some(("", 0.0))),
            ("2024-1-09T12:53:26Z", None),
            ("2024-10-09T12:53:2", None),
            ("2024-10-09T12:53:2é", None),
            ("2024/10/09T12:53:26", None),
            ("", None),
        ];
        for (i, want) in cases {
            match (rfc3339(i), want) {
                (Ok((rest, t)), Some((wrest, wt))) => {
                    assert_eq!(rest, *wrest, "{i}");
                    assert!((t - wt).abs() < 1e-6, "{i}: {t} != {wt}");
                }
                (Err(_), None) => {}
                (got, _) => panic!("{i}: {got:?} != {want:?}"),
            }
        }
        assert_eq!(go_stamp("2024/10/09 12:53:26.x"), Ok((".x", 1_728_478_406.0)));
        assert!(go_stamp("2024/10/09 12:53").is_err());
    }

    /// The plain reading, digit by digit, that [`civil_seconds`] must equal.
    fn civil_seconds_plain(b: &[u8], date_sep: u8, mid: &[u8]) -> Option<i64> {
        let f = b.get(..19)?;
        if f[4] != date_sep
            || f[7] != date_sep
            || !mid.contains(&f[10])
            || f[13] != b':'
            || f[16] != b':'
        {
            return None;
        }
        let num = |at: usize, n: usize| digits(f, at, n);
        let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
    }

    /// The branch-free digit check reads as the plain one: every byte value at every
    /// position of a few stamps, and every cut of them.
    #[test]
    fn civil_seconds_equal_the_plain_reading() {
        let stamps: &[(&[u8], u8, &[u8])] = &[
            (b"2024/11/20 09:15:52", b'/', b" "),
            (b"1999/12/31 23:59:59.5", b'/', b" "),
            (b"2024-10-09T12:53:26Z", b'-', b"T "),
            (b"0001-01-01 00:00:00", b'-', b"T"),
        ];
        let mut some = 0;
        for &(stamp, sep, mid) in stamps {
            for at in 0..stamp.len() {
                for v in 0..=255u8 {
                    let mut b = stamp.to_vec();
                    b[at] = v;
                    let want = civil_seconds_plain(&b, sep, mid);
                    assert_eq!(
                        civil_seconds(&b, sep, mid),
                        want,
                        "{:?}",
                        String::from_utf8_lossy(&b)
                    );
                    some += usize::from(want.is_some());
                }
            }
            for n in 0..stamp.len() {
                assert_eq!(
                    civil_seconds(&stamp[..n], sep, mid),
                    civil_seconds_plain(&stamp[..n], sep, mid)
                );
            }
        }
        assert!(some > 100, "{some}");
    }

    /// Through the memo of the last minute, a Go stamp reads as without it: stamps of one
    /// minute, of the next, and each byte of them changed, one after the other.
    #[test]
    fn go_stamps_equal_the_plain_reading() {
        let mut stamps: Vec<Vec<u8>> = Vec::new();
        for base in ["2024/11/20 09:15:52", "2024/11/20 09:15:07.25", "2024/11/20 09:16:00 x"] {
            stamps.push(base.into());
            for at in 0..19 {
                for v in [b'0', b'9', b'/', b':', b' ', b'a', 0xff] {
                    let mut b = base.as_bytes().to_vec();
                    b[at] = v;
                    stamps.push(b);
                    stamps.push(base.into());
                }
            }
        }
        // Before any minute is kept: a stamp of NUL bytes is no stamp.
        stamps.insert(0, vec![0; 20]);
        let mut some = 0;
        for b in &stamps {
            let want = date_time(b, b'/', b" ");
            assert_eq!(go_date_time(b), want, "{:?}", String::from_utf8_lossy(b));
            some += usize::from(want.is_some());
        }
        assert!(some > 100, "{some}");
    }

    /// The cases of `docker::follow`'s former own parser, and the edges of this one.
    #[test]
    fn rfc3339_in_nanoseconds() {
        assert_eq!(rfc3339_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_nanos("2024-11-20T09:14:03.5Z"), Some(1_732_094_043_500_000_000));
        assert_eq!(
            rfc3339_nanos("2024-11-20T10:14:03.000000001+01:00"),
            Some(1_732_094_043_000_000_001)
        );
        assert_eq!(rfc3339_nanos("0001-01-01T00:00:00Z").map(|t| t < 0), Some(true));
        assert_eq!(rfc3339_nanos("[talos]"), None);
        assert_eq!(
            rfc3339_nanos("2024-11-20T09:14:03.1234567891Z rest"),
            Some(1_732_094_043_123_456_789)
        );
        assert_eq!(rfc3339_nanos("2024-11-20T08:44:03-00:30"), Some(1_732_094_043_000_000_000));
        for bad in [
            "2024-11-20T09:14:03",
            "2024-11-20 09:14:03Z",
            "2024-11-20T09:14:03.Z",
            "2024-11-20T09:14:03+01",
            "2024-11-20T09:14:03+0100",
            "2024-11-20T09:14Z",
        ] {
            assert_eq!(rfc3339_nanos(bad), None, "{bad}");
        }
        // The same instant as the seconds parser reads it.
        let (_, t) = rfc3339("2024-11-20T10:14:03+01:00").unwrap();
        assert_eq!(rfc3339_nanos("2024-11-20T10:14:03+01:00"), Some(t as i128 * 1_000_000_000));
    }
}

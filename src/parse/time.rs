//! Timestamps and Go durations as Talos prints them.

use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_while_m_n},
    character::complete::{char, digit1, one_of},
    combinator::{map_res, opt, recognize},
    sequence::preceded,
};

/// Seconds on a clock, and which clock: Go/RFC3339 wall time or kernel uptime never mix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stamp {
    /// Unix seconds (UTC assumed for Go's local-time stamps: containers run in UTC).
    Wall(f64),
    /// Seconds since the kernel booted (console `[   3.29]`).
    Uptime(f64),
}

fn num<T: std::str::FromStr>(n: usize) -> impl FnMut(&str) -> IResult<&str, T> {
    move |i| map_res(take_while_m_n(n, n, |c: char| c.is_ascii_digit()), str::parse).parse(i)
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

fn frac(i: &str) -> IResult<&str, f64> {
    let (i, digits) = preceded(char('.'), digit1).parse(i)?;
    let v = format!("0.{digits}").parse::<f64>().unwrap_or(0.0);
    Ok((i, v))
}

/// `2024/10/09 12:53:26` with optional `.123456` (Go `log` and machined's buffer stamp).
pub fn go_stamp(i: &str) -> IResult<&str, f64> {
    let (i, (y, _, mo, _, d, _, h, _, mi, _, s, f)) = (
        num::<i64>(4),
        char('/'),
        num::<i64>(2),
        char('/'),
        num::<i64>(2),
        char(' '),
        num::<i64>(2),
        char(':'),
        num::<i64>(2),
        char(':'),
        num::<i64>(2),
        opt(frac),
    )
        .parse(i)?;
    Ok((i, epoch(y, mo, d, h, mi, s) + f.unwrap_or(0.0)))
}

fn epoch(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> f64 {
    (days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) as f64
}

/// RFC 3339 with optional fraction and zone: `2024-10-09T12:53:26.123456789Z`.
pub fn rfc3339(i: &str) -> IResult<&str, f64> {
    let (i, (y, _, mo, _, d, _, h, _, mi, _, s, f)) = (
        num::<i64>(4),
        char('-'),
        num::<i64>(2),
        char('-'),
        num::<i64>(2),
        one_of("T "),
        num::<i64>(2),
        char(':'),
        num::<i64>(2),
        char(':'),
        num::<i64>(2),
        opt(frac),
    )
        .parse(i)?;
    let (i, zone) = opt(zone).parse(i)?;
    Ok((i, epoch(y, mo, d, h, mi, s) + f.unwrap_or(0.0) - zone.unwrap_or(0.0)))
}

fn zone(i: &str) -> IResult<&str, f64> {
    if let Ok((i, _)) = tag::<_, _, nom::error::Error<&str>>("Z").parse(i) {
        return Ok((i, 0.0));
    }
    let (i, (sign, h, _, m)) = (one_of("+-"), num::<i64>(2), char(':'), num::<i64>(2)).parse(i)?;
    let off = (h * 3600 + m * 60) as f64;
    Ok((i, if sign == '-' { -off } else { off }))
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
    }
}

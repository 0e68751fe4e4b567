//! Calendar arithmetic for the few places that need dates (HTTP dates, `--since`
//! dates, timestamps in `--json`), without pulling in a date library.
//! Civil-date conversions follow Howard Hinnant's public-domain algorithms.
//! Also the one way durations are written for the user.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The shortest of the forms a profile's durations take (`250ms`, `5s`,
/// `1.5s`, `2m`, `1.5h`) that shows `d` exactly enough.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 1000 == 0 && ms < 120_000 {
        format!("{}s", ms / 1000)
    } else if ms < 120_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else if ms % 60_000 == 0 && ms < 7_200_000 {
        format!("{}m", ms / 60_000)
    } else if ms < 7_200_000 {
        format!("{:.1}m", d.as_secs_f64() / 60.0)
    } else {
        format!("{:.1}h", d.as_secs_f64() / 3600.0)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` for impossible dates.
pub fn days_from_civil(year: i64, month: u64, day: u64) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::try_from(month).ok()?;
    let d = i64::try_from(day).ok()?;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m.unsigned_abs(), d.unsigned_abs())
}

fn days_in_month(year: i64, month: u64) -> u64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The time at a count of milliseconds since the Unix epoch.
pub fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// `2026-11-22T10:04:05Z` (UTC, second precision).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = unix_ms(t).div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DD` to the start of that day, UTC.
pub fn parse_date(s: &str) -> Option<SystemTime> {
    let mut parts = s.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u64 = parts.next()?.parse().ok()?;
    let d: u64 = parts.next()?.parse().ok()?;
    if s.len() != 10 {
        return None;
    }
    let days = days_from_civil(y, m, d)?;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(days).ok()? * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-1_000_000, -1, 0, 1, 19_000, 20_779, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days));
        }
        assert_eq!(days_from_civil(2026, 11, 22), Some(20_779));
        assert_eq!(days_from_civil(2026, 2, 29), None);
        assert_eq!(
            days_from_civil(2024, 2, 29).map(civil_from_days),
            Some((2024, 2, 29))
        );
    }

    #[test]
    fn formats_and_parses() {
        let t = parse_date("2026-11-22").unwrap();
        assert_eq!(rfc3339(t), "2026-11-22T00:00:00Z");
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("2026-1-1"), None);
        assert_eq!(parse_date("yesterday"), None);
    }
}

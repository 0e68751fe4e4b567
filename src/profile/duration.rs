//! Durations as users write them: `250ms`, `5s`, `1.5s`, `2m`, `1h`, `7d`.

use std::time::Duration;

/// Parses a duration; the error says what is accepted.
pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim();
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try \"250ms\", \"5s\", \"2m\", \"1h\")"))?;
    let scale = match unit {
        "ms" => 0.001,
        "s" | "sec" | "secs" => 1.0,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "" => {
            return Err(format!(
                "`{s}` has no unit (write \"{number}s\" for seconds or \"{number}ms\")"
            ));
        }
        other => {
            return Err(format!(
                "`{s}`: unknown unit `{other}` (use ms, s, m, h or d)"
            ));
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > 10.0 * 365.0 * 86_400.0 {
        return Err(format!("`{s}` is too long"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The shortest of the forms [`parse`] reads that shows `d` exactly enough.
pub use crate::time::format_duration as format;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse(" 10 s "), Ok(Duration::from_secs(10)));
    }

    #[test]
    fn rejects_with_reason() {
        assert!(
            parse("5 parsecs")
                .unwrap_err()
                .contains("unknown unit `parsecs`")
        );
        assert!(parse("5").unwrap_err().contains("no unit"));
        assert!(parse("fast").unwrap_err().contains("not a duration"));
        assert!(parse("-5s").is_err());
        assert!(parse("").is_err());
        assert!(parse("99999999999d").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["250ms", "5s", "1.5s", "2m", "90s"] {
            let d = parse(s).unwrap();
            assert_eq!(parse(&format(d)).unwrap(), d, "{s}");
        }
    }
}

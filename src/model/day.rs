//! Calendar days: dates are `i32` days since 1970-01-01 (the Arrow/Parquet `Date32`
//! physical form), so that the store, the scoring and the exports share one representation;
//! their ISO and flexible (ACLED) spellings; today and now.

/// Days since 1970-01-01 of a proleptic Gregorian calendar date, or `None` when invalid.
pub fn days_from_ymd(year: i32, month: u32, day: u32) -> Option<i32> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Calendar date (year, month, day) of a day number.
pub fn ymd_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Number of days in a month.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// `YYYY-MM-DD` of a day number.
pub fn format_date(days: i32) -> String {
    let (y, m, d) = ymd_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses a strict `YYYY-MM-DD` date (the form used on the command line and in URLs).
pub fn parse_iso_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = s.get(0..4)?.parse().ok()?;
    let month: u32 = s.get(5..7)?.parse().ok()?;
    let day: u32 = s.get(8..10)?.parse().ok()?;
    days_from_ymd(year, month, day)
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_from_name(s: &str) -> Option<u32> {
    let s = s.to_ascii_lowercase();
    if s.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&s) && (s.len() == 3 || s.len() == m.len() || s == "sept"))
        .map(|i| i as u32 + 1)
}

fn expand_year(y: &str) -> Option<i32> {
    let v: i32 = y.parse().ok()?;
    match y.len() {
        4 => Some(v),
        // ACLED's two-digit years (`16-Feb-19`) are all in this century or the late 1990s.
        2 => Some(if v >= 90 { 1900 + v } else { 2000 + v }),
        _ => None,
    }
}

/// Parses every date form found in conflict-event files: `2023-02-16` (optionally followed by
/// a time, as in UCDP's `2008-02-29 00:00:00.000`), `16 May 2025`, `18/04/2001`
/// (day first), `16-Feb-19` and `29-September-2018`.
pub fn parse_flexible_date(raw: &str) -> Option<i32> {
    let s = raw.trim();
    if s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-') && s.as_bytes().get(7) == Some(&b'-') {
        return parse_iso_date(s.get(0..10)?);
    }
    let parts: Vec<&str> = s.split([' ', '/', '-']).filter(|p| !p.is_empty()).collect();
    if parts.len() != 3 {
        return None;
    }
    let day: u32 = parts[0].parse().ok()?;
    let month = match parts[1].parse::<u32>() {
        Ok(m) => m,
        Err(_) => month_from_name(parts[1])?,
    };
    let year = expand_year(parts[2])?;
    days_from_ymd(year, month, day)
}

/// Today (UTC) as a day number (days since 1970-01-01).
pub fn today() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i32::try_from(secs / 86_400).unwrap_or(i32::MAX)
}

/// The current time as RFC 3339 UTC, to the second.
pub fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86_400) as i32;
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A number of days as given on the command line: `30`, `30d` or `4w` (weeks).
pub fn parse_days(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (digits, factor) = match t.strip_suffix(['d', 'D']) {
        Some(n) => (n, 1),
        None => match t.strip_suffix(['w', 'W']) {
            Some(n) => (n, 7),
            None => (t, 1),
        },
    };
    digits
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("expected a number of days such as 7, 7d or 1w, got {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_days() {
        assert_eq!(days_from_ymd(1970, 1, 1), Some(0));
        assert_eq!(days_from_ymd(2000, 3, 1), Some(11_017));
        assert_eq!(days_from_ymd(2023, 2, 29), None);
        assert_eq!(format_date(19_404), "2023-02-16");
    }

    #[test]
    fn every_acled_date_form() {
        let want = days_from_ymd(2019, 2, 16);
        assert_eq!(parse_flexible_date("2019-02-16"), want);
        assert_eq!(parse_flexible_date("2019-02-16 00:00:00.000"), want);
        assert_eq!(parse_flexible_date("16 February 2019"), want);
        assert_eq!(parse_flexible_date("16 Feb 2019"), want);
        assert_eq!(parse_flexible_date("16/02/2019"), want);
        assert_eq!(parse_flexible_date("16-Feb-19"), want);
        assert_eq!(parse_flexible_date("16-February-2019"), want);
        assert_eq!(
            parse_flexible_date("29-September-2018"),
            days_from_ymd(2018, 9, 29)
        );
        assert_eq!(parse_flexible_date("31/02/2019"), None);
        assert_eq!(parse_flexible_date("yesterday"), None);
        assert_eq!(parse_flexible_date(""), None);
    }

    #[test]
    fn days_on_the_command_line() {
        assert_eq!(parse_days("30"), Ok(30));
        assert_eq!(parse_days("30d"), Ok(30));
        assert_eq!(parse_days("2w"), Ok(14));
        assert!(parse_days("d").is_err() && parse_days("-3").is_err() && parse_days("3m").is_err());
    }

    proptest! {
        #[test]
        fn day_numbers_round_trip(days in -100_000i32..200_000) {
            let (y, m, d) = ymd_from_days(days);
            prop_assert_eq!(days_from_ymd(y, m, d), Some(days));
        }

        #[test]
        fn flexible_parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_flexible_date(&s);
        }
    }
}

//! Reading the UTC timestamps providers write as text (`2019-05-15T15:20:21Z`,
//! `2020-01-23T12:53:18.084Z`): GitHub's and Linear's `created_at` / `createdAt`.
//!
//! # What's in scope
//! `YYYY-MM-DDTHH:MM:SS`, an optional fraction (dropped), and `Z` or `+00:00`, to Unix seconds;
//! and back ([`text`], for the payloads the CLI and tests build).
//!
//! # What's out of scope
//! Other offsets, leap seconds, years before 1970 (all `None`).

/// `text` in Unix seconds, or `None` when it is not a UTC RFC 3339 time.
pub fn unix_seconds(text: &str) -> Option<u64> {
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = text.split_once('T')?;
    let time = time.split_once('.').map_or(time, |(whole, fraction)| {
        if fraction.bytes().all(|b| b.is_ascii_digit()) && !fraction.is_empty() {
            whole
        } else {
            ""
        }
    });
    let number = |part: &str, digits: usize| -> Option<u64> {
        (part.len() == digits && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())?
    };
    let mut date = date.split('-');
    let (year, month, day) = (
        number(date.next()?, 4)?,
        number(date.next()?, 2)?,
        number(date.next()?, 2)?,
    );
    let mut time = time.split(':');
    let (hour, minute, second) = (
        number(time.next()?, 2)?,
        number(time.next()?, 2)?,
        number(time.next()?, 2)?,
    );
    let valid = date.next().is_none()
        && time.next().is_none()
        && year >= 1970
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Unix seconds `at` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn text(at: u64) -> String {
    let (mut days, rest) = (at / 86_400, at % 86_400);
    let mut year = 1970;
    while days >= days_in_year(year) {
        days -= days_in_year(year);
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    format!(
        "{year:04}-{month:02}-{:02}T{:02}:{:02}:{:02}Z",
        days + 1,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn days_in_year(year: u64) -> u64 {
    if is_leap(year) {
        366
    } else {
        365
    }
}

fn is_leap(year: u64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year`-`month`-`day` (a valid date from 1970 on).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let years: u64 = (1970..year).map(days_in_year).sum();
    let months: u64 = (1..month).map(|m| days_in_month(year, m)).sum();
    years + months + day - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_timestamps_read_as_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2019-05-15T15:20:21Z"), Some(1_557_933_621));
        assert_eq!(
            unix_seconds("2020-01-23T12:53:18.084Z"),
            Some(1_579_783_998)
        );
        assert_eq!(
            unix_seconds("2024-02-29T23:59:59+00:00"),
            Some(1_709_251_199)
        );
        assert_eq!(unix_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
    }

    #[test]
    fn times_written_read_back() {
        for at in [0, 951_868_800, 1_557_933_621, 1_709_251_199, 4_102_444_800] {
            assert_eq!(unix_seconds(&text(at)), Some(at), "{}", text(at));
        }
        assert_eq!(text(1_557_933_621), "2019-05-15T15:20:21Z");
    }

    #[test]
    fn anything_else_is_none() {
        for text in [
            "",
            "2019-05-15T15:20:21",
            "2019-05-15T15:20:21+02:00",
            "2019-05-15 15:20:21Z",
            "2019-5-15T15:20:21Z",
            "2019-02-29T00:00:00Z",
            "2019-13-01T00:00:00Z",
            "2019-01-01T24:00:00Z",
            "2019-01-01T00:00:00.Z",
            "2019-01-01T00:00:00.x1Z",
            "1969-12-31T23:59:59Z",
            "+019-01-01T00:00:00Z",
            "2019-01-01T00:00:00:00Z",
        ] {
            assert_eq!(unix_seconds(text), None, "{text:?}");
        }
    }
}

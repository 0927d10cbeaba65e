//! `JkLogStampFormat`: a strftime format with mod_jk's sub-second extensions, rendered in the C
//! locale without calling libc (the glue hands over an already broken-down local time).

use std::fmt::Write as _;

/// mod_jk's default stamp (`JK_TIME_FORMAT` in 1.2.48), local time with milliseconds.
pub const DEFAULT_STAMP_FORMAT: &str = "[%a %b %d %H:%M:%S.%Q %Y] ";

/// mod_jk keeps the format in a 64-byte buffer (`JK_TIME_MAX_SIZE`), so 63 bytes of text.
pub const MAX_STAMP_FORMAT_BYTES: usize = 63;

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A local time as `localtime_r` breaks it down, plus the sub-second part and the epoch second
/// (for `%s`). Field ranges follow `struct tm` except `year` (the full year, not minus 1900) and
/// `month` (1-12).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrokenDownTime {
    /// Full year, e.g. 2026.
    pub year: i32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    /// 0-23.
    pub hour: u32,
    /// 0-59.
    pub minute: u32,
    /// 0-60 (leap second).
    pub second: u32,
    /// 0-999999, the sub-second part printed by `%Q` / `%q`.
    pub micros: u32,
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: u32,
    /// Day of the year, 0-365.
    pub yearday: u32,
    /// Seconds east of UTC (`tm_gmtoff`), for `%z`.
    pub utc_offset_secs: i32,
    /// Zone abbreviation (`tm_zone`), for `%Z`.
    pub tz_name: String,
    /// Seconds since the epoch, for `%s`.
    pub epoch_secs: i64,
}

impl BrokenDownTime {
    /// Breaks down `epoch_secs` for a zone that is `utc_offset_secs` east of UTC. The glue can
    /// use it with the offset and name that `localtime_r` reported; tests use it with 0/"UTC".
    pub fn from_epoch(epoch_secs: i64, micros: u32, utc_offset_secs: i32, tz_name: &str) -> Self {
        let local = epoch_secs.saturating_add(i64::from(utc_offset_secs));
        let days = local.div_euclid(86_400);
        let secs_of_day = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let yearday = days - days_from_civil(year, 1, 1);
        BrokenDownTime {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month,
            day,
            hour: small(secs_of_day / 3600),
            minute: small(secs_of_day % 3600 / 60),
            second: small(secs_of_day % 60),
            micros: micros % 1_000_000,
            weekday: small((days + 4).rem_euclid(7)),
            yearday: small(yearday),
            utc_offset_secs,
            tz_name: tz_name.to_string(),
            epoch_secs,
        }
    }
}

fn small(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, small(month), small(day))
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Conversion(char),
    Millis,
    Micros,
}

/// A parsed `JkLogStampFormat`.
///
/// Like mod_jk's `jk_set_time_fmt`, only the first `%Q` (milliseconds, 3 digits) is replaced;
/// if there is none, the first `%q` (microseconds, 6 digits). Any other `%Q`/`%q` is an
/// unknown conversion and, like every unknown conversion, is copied verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampFormat {
    text: String,
    pieces: Vec<Piece>,
}

impl Default for StampFormat {
    fn default() -> Self {
        Self::build(DEFAULT_STAMP_FORMAT)
    }
}

impl StampFormat {
    /// Parses a stamp format; the only error is a format longer than mod_jk can hold.
    pub fn parse(fmt: &str) -> Result<StampFormat, String> {
        if fmt.len() > MAX_STAMP_FORMAT_BYTES {
            return Err(format!(
                "JkLogStampFormat: the format is {} bytes long, at most {} are allowed",
                fmt.len(),
                MAX_STAMP_FORMAT_BYTES
            ));
        }
        Ok(Self::build(fmt))
    }

    /// The format text as configured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn build(fmt: &str) -> StampFormat {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        // Positions (in `pieces`) and letters of the %Q / %q candidates.
        let mut subsec: Vec<(usize, char)> = Vec::new();
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let Some(conv) = chars.next() else {
                literal.push('%');
                break;
            };
            let conv = match conv {
                // C99 alternative-representation modifiers: the C locale has none.
                'E' | 'O' => match chars.peek() {
                    Some(&next) if is_conversion(next) => {
                        chars.next();
                        next
                    }
                    _ => {
                        literal.push('%');
                        literal.push(conv);
                        continue;
                    }
                },
                other => other,
            };
            if conv == 'Q' || conv == 'q' {
                flush(&mut literal, &mut pieces);
                subsec.push((pieces.len(), conv));
                pieces.push(Piece::Literal(format!("%{conv}")));
            } else if is_conversion(conv) {
                flush(&mut literal, &mut pieces);
                pieces.push(Piece::Conversion(conv));
            } else {
                literal.push('%');
                literal.push(conv);
            }
        }
        flush(&mut literal, &mut pieces);
        let chosen = subsec
            .iter()
            .find(|(_, c)| *c == 'Q')
            .or_else(|| subsec.iter().find(|(_, c)| *c == 'q'));
        if let Some(&(at, c)) = chosen {
            pieces[at] = if c == 'Q' {
                Piece::Millis
            } else {
                Piece::Micros
            };
        }
        StampFormat {
            text: fmt.to_string(),
            pieces,
        }
    }

    /// The stamp for time `t`.
    pub fn render(&self, t: &BrokenDownTime) -> String {
        let mut out = String::with_capacity(self.text.len() + 32);
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Conversion(c) => convert(&mut out, *c, t),
                Piece::Millis => {
                    let _ = write!(out, "{:03}", t.micros % 1_000_000 / 1000);
                }
                Piece::Micros => {
                    let _ = write!(out, "{:06}", t.micros % 1_000_000);
                }
            }
        }
        out
    }
}

fn flush(literal: &mut String, pieces: &mut Vec<Piece>) {
    if !literal.is_empty() {
        pieces.push(Piece::Literal(std::mem::take(literal)));
    }
}

fn is_conversion(c: char) -> bool {
    "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%".contains(c)
}

fn expand(out: &mut String, fmt: &str, t: &BrokenDownTime) {
    // Only used with the fixed compositions below (%c, %D, …), which are well formed.
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => convert(out, chars.next().unwrap_or('%'), t),
            other => out.push(other),
        }
    }
}

fn name(table: &[&'static str], index: usize, len: usize) -> &'static str {
    // glibc prints "?" for out-of-range fields.
    table.get(index).map_or("?", |n| &n[..len.min(n.len())])
}

fn hour12(hour: u32) -> u32 {
    match hour % 12 {
        0 => 12,
        h => h,
    }
}

/// Days since the Monday of ISO week 1 (negative: the day belongs to the previous ISO year),
/// as glibc's `iso_week_days`.
fn iso_week_days(yday: i64, wday: i64) -> i64 {
    yday - (yday - wday + 4 + 378).rem_euclid(7) + 3
}

/// (ISO 8601 week-based year, week number 1-53).
fn iso_week(t: &BrokenDownTime) -> (i64, i64) {
    let year = i64::from(t.year);
    let yday = i64::from(t.yearday);
    let wday = i64::from(t.weekday);
    let days_in = |y: i64| if is_leap(y) { 366 } else { 365 };
    let days = iso_week_days(yday, wday);
    if days < 0 {
        let prev = year - 1;
        (prev, iso_week_days(yday + days_in(prev), wday) / 7 + 1)
    } else {
        let next = iso_week_days(yday - days_in(year), wday);
        if next >= 0 {
            (year + 1, next / 7 + 1)
        } else {
            (year, days / 7 + 1)
        }
    }
}

fn convert(out: &mut String, c: char, t: &BrokenDownTime) {
    let wday = t.weekday as usize;
    let mon = (t.month as usize).wrapping_sub(1);
    let _ = match c {
        'a' => write!(out, "{}", name(&WEEKDAYS, wday, 3)),
        'A' => write!(out, "{}", name(&WEEKDAYS, wday, usize::MAX)),
        'b' | 'h' => write!(out, "{}", name(&MONTHS, mon, 3)),
        'B' => write!(out, "{}", name(&MONTHS, mon, usize::MAX)),
        'c' => {
            expand(out, "%a %b %e %H:%M:%S %Y", t);
            Ok(())
        }
        'C' => write!(out, "{:02}", t.year.div_euclid(100)),
        'd' => write!(out, "{:02}", t.day),
        'D' | 'x' => {
            expand(out, "%m/%d/%y", t);
            Ok(())
        }
        'e' => write!(out, "{:>2}", t.day),
        'F' => {
            expand(out, "%Y-%m-%d", t);
            Ok(())
        }
        'g' => write!(out, "{:02}", iso_week(t).0.rem_euclid(100)),
        'G' => write!(out, "{}", iso_week(t).0),
        'H' => write!(out, "{:02}", t.hour),
        'I' => write!(out, "{:02}", hour12(t.hour)),
        'j' => write!(out, "{:03}", t.yearday + 1),
        'k' => write!(out, "{:>2}", t.hour),
        'l' => write!(out, "{:>2}", hour12(t.hour)),
        'm' => write!(out, "{:02}", t.month),
        'M' => write!(out, "{:02}", t.minute),
        'n' => writeln!(out),
        'p' => write!(out, "{}", if t.hour < 12 { "AM" } else { "PM" }),
        'P' => write!(out, "{}", if t.hour < 12 { "am" } else { "pm" }),
        'r' => {
            expand(out, "%I:%M:%S %p", t);
            Ok(())
        }
        'R' => {
            expand(out, "%H:%M", t);
            Ok(())
        }
        's' => write!(out, "{}", t.epoch_secs),
        'S' => write!(out, "{:02}", t.second),
        't' => write!(out, "\t"),
        'T' | 'X' => {
            expand(out, "%H:%M:%S", t);
            Ok(())
        }
        'u' => write!(out, "{}", if t.weekday == 0 { 7 } else { t.weekday }),
        'U' => write!(out, "{:02}", (t.yearday + 7 - t.weekday % 7) / 7),
        'V' => write!(out, "{:02}", iso_week(t).1),
        'w' => write!(out, "{}", t.weekday),
        'W' => write!(out, "{:02}", (t.yearday + 7 - (t.weekday + 6) % 7) / 7),
        'y' => write!(out, "{:02}", t.year.rem_euclid(100)),
        'Y' => write!(out, "{}", t.year),
        'z' => {
            let sign = if t.utc_offset_secs < 0 { '-' } else { '+' };
            let abs = t.utc_offset_secs.unsigned_abs();
            write!(out, "{sign}{:02}{:02}", abs / 3600, abs % 3600 / 60)
        }
        'Z' => write!(out, "{}", t.tz_name),
        '%' => write!(out, "%"),
        other => write!(out, "%{other}"),
    };
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// 2026-11-25 02:43:19.907123 UTC, a Wednesday.
    fn example() -> BrokenDownTime {
        BrokenDownTime::from_epoch(1_795_574_599, 907_123, 0, "UTC")
    }

    #[test]
    fn breaks_down_epoch_seconds() {
        let t = example();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 25, 2, 43, 19)
        );
        assert_eq!((t.weekday, t.yearday), (3, 328));
        let epoch = BrokenDownTime::from_epoch(0, 0, 0, "UTC");
        assert_eq!(
            (epoch.year, epoch.month, epoch.day, epoch.weekday),
            (1970, 1, 1, 4)
        );
        let leap = BrokenDownTime::from_epoch(951_825_600, 0, 0, "UTC"); // 2000-02-29 12:00
        assert_eq!(
            (leap.year, leap.month, leap.day, leap.yearday),
            (2000, 2, 29, 59)
        );
        let before = BrokenDownTime::from_epoch(-1, 0, 0, "UTC");
        assert_eq!(
            (before.year, before.month, before.day, before.hour),
            (1969, 12, 31, 23)
        );
        // An offset moves the wall clock, not the epoch second.
        let cet = BrokenDownTime::from_epoch(1_795_574_599, 0, 3600, "CET");
        assert_eq!((cet.hour, cet.epoch_secs), (3, 1_795_574_599));
    }

    #[test]
    fn default_format_matches_mod_jk_lines() {
        let f = StampFormat::default();
        assert_eq!(f.as_str(), DEFAULT_STAMP_FORMAT);
        assert_eq!(f.render(&example()), "[Wed Nov 25 02:43:19.907 2026] ");
        assert_eq!(f, StampFormat::parse(DEFAULT_STAMP_FORMAT).unwrap());
    }

    #[test]
    fn microseconds_and_first_occurrence_only() {
        let t = example();
        assert_eq!(StampFormat::parse("%S.%q").unwrap().render(&t), "19.907123");
        assert_eq!(StampFormat::parse("%Q %Q").unwrap().render(&t), "907 %Q");
        assert_eq!(StampFormat::parse("%q %q").unwrap().render(&t), "907123 %q");
        // %Q wins wherever it is; %q is then an unknown conversion.
        assert_eq!(StampFormat::parse("%q %Q").unwrap().render(&t), "%q 907");
        // %%Q is a percent sign followed by Q, not the extension.
        assert_eq!(StampFormat::parse("%%Q").unwrap().render(&t), "%Q");
        let small = BrokenDownTime { micros: 5_042, ..t };
        assert_eq!(
            StampFormat::parse("%Q|%S").unwrap().render(&small),
            "005|19"
        );
    }

    #[test]
    fn rejects_long_formats() {
        let ok = "x".repeat(63);
        assert!(StampFormat::parse(&ok).is_ok());
        let err = StampFormat::parse(&"x".repeat(64)).unwrap_err();
        assert_eq!(
            err,
            "JkLogStampFormat: the format is 64 bytes long, at most 63 are allowed"
        );
    }

    /// Expected values produced by glibc's strftime in the C locale (TZ=UTC).
    #[test]
    fn c_locale_conversions() {
        let t = example();
        let cases = [
            ("%a|%A|%b|%B|%h", "Wed|Wednesday|Nov|November|Nov"),
            ("%c", "Wed Nov 25 02:43:19 2026"),
            ("%C|%d|%D|%e|%F", "20|25|11/25/26|25|2026-11-25"),
            ("%g|%G|%H|%I|%j", "26|2026|02|02|329"),
            ("%k|%l|%m|%M|%p|%P", " 2| 2|11|43|AM|am"),
            ("%r|%R|%s|%S", "02:43:19 AM|02:43|1795574599|19"),
            ("%T|%u|%U|%V|%w|%W", "02:43:19|3|47|48|3|47"),
            (
                "%x|%X|%y|%Y|%z|%Z|%%",
                "11/25/26|02:43:19|26|2026|+0000|UTC|%",
            ),
            ("a%nb%tc", "a\nb\tc"),
            ("%Ey %Od", "26 25"),
        ];
        for (fmt, want) in cases {
            assert_eq!(StampFormat::parse(fmt).unwrap().render(&t), want, "{fmt}");
        }
    }

    #[test]
    fn unknown_conversions_are_copied() {
        let t = example();
        assert_eq!(StampFormat::parse("%J %i %").unwrap().render(&t), "%J %i %");
        assert_eq!(StampFormat::parse("%E!").unwrap().render(&t), "%E!");
        assert_eq!(StampFormat::parse("é%").unwrap().render(&t), "é%");
    }

    #[test]
    fn twelve_hour_clock_and_offsets() {
        let mut t = example();
        t.hour = 0;
        assert_eq!(
            StampFormat::parse("%I %l %p").unwrap().render(&t),
            "12 12 AM"
        );
        t.hour = 13;
        assert_eq!(
            StampFormat::parse("%I %l %p").unwrap().render(&t),
            "01  1 PM"
        );
        t.utc_offset_secs = -(5 * 3600 + 30 * 60);
        assert_eq!(StampFormat::parse("%z").unwrap().render(&t), "-0530");
        t.utc_offset_secs = 3600;
        assert_eq!(StampFormat::parse("%z").unwrap().render(&t), "+0100");
    }

    /// ISO weeks around year ends, checked against glibc.
    #[test]
    fn iso_week_edges() {
        let cases = [
            (1_609_459_200, "2020-W53-5 2021-00-00"), // 2021-01-01, a Friday
            (1_577_836_800, "2020-W01-3 2020-00-00"), // 2020-01-01, a Wednesday
            (1_609_372_800, "2020-W53-4 2020-52-52"), // 2020-12-31, a Thursday
            (1_735_516_800, "2025-W01-1 2024-52-53"), // 2024-12-30, a Monday
        ];
        let f = StampFormat::parse("%G-W%V-%u %Y-%U-%W").unwrap();
        for (epoch, want) in cases {
            let t = BrokenDownTime::from_epoch(epoch, 0, 0, "UTC");
            assert_eq!(f.render(&t), want, "{epoch}");
        }
    }
}

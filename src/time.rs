//! SPEC §1: instants, zones and DST resolution.
//!
//! Everything inside is `DateTime<Utc>`; strings are parsed here at the edge.
//! Local wall-clock times become instants through [`local_to_instant`], which
//! applies the spec's rule once for the whole crate: a time in a DST gap is
//! the first instant after the gap, an ambiguous time is the earlier instant.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, SecondsFormat, TimeZone, Utc,
};
use chrono_tz::Tz;

/// Parses an instant: RFC 3339 with any offset, or without an offset (read as UTC).
/// Accepts a space instead of `T` and a date alone (midnight UTC).
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let fixed = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&fixed) {
        return Some(t.with_timezone(&Utc));
    }
    // "+0000"-style offsets and "UTC" suffixes written by some tools
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(t) = DateTime::parse_from_str(&fixed, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let naive = fixed.strip_suffix("UTC").map(str::trim_end).unwrap_or(&fixed);
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d").ok().map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc())
}

/// RFC 3339, `Z`, milliseconds, truncated (SPEC §3).
///
/// ```
/// let t = scrub::time::parse_instant("2026-11-01T01:30:00.1239-04:00").unwrap();
/// assert_eq!(scrub::time::format_instant(t), "2026-11-01T05:30:00.123Z");
/// ```
pub fn format_instant(t: DateTime<Utc>) -> String {
    truncate_ms(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Drops sub-millisecond precision (truncation, never rounding).
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Parses an IANA zone name exactly as written.
pub fn parse_zone(s: &str) -> Option<Tz> {
    s.trim().parse::<Tz>().ok()
}

/// [`parse_zone`] for hot loops: a list names a handful of zones, and the
/// zone table's hashed lookup cost more per record than remembering the last
/// few names this thread parsed (compared byte for byte, so answers are the
/// same; unknown names are not remembered).
pub fn parse_zone_memo(s: &str) -> Option<Tz> {
    use std::cell::RefCell;
    const MAX: usize = 16;
    thread_local! {
        static SEEN: RefCell<Vec<(Box<str>, Tz)>> = const { RefCell::new(Vec::new()) };
    }
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if let Some(&(_, tz)) = seen.iter().find(|(n, _)| &**n == s) {
            return Some(tz);
        }
        let tz = parse_zone(s)?;
        if seen.len() == MAX {
            seen.pop();
        }
        seen.insert(0, (s.into(), tz));
        Some(tz)
    })
}

/// The local wall-clock time of an instant.
pub fn local(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

/// A local time as an instant (SPEC §1): gap → first instant after the gap;
/// overlap → the earlier instant.
pub fn local_to_instant(tz: Tz, l: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&l) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.with_timezone(&Utc).min(b.with_timezone(&Utc)),
        LocalResult::None => first_instant_at_or_after(tz, l),
    }
}

/// Every instant whose local time is exactly `l`: two in an overlap, none in a gap.
pub fn instants_of_local(tz: Tz, l: NaiveDateTime) -> LocalInstants {
    match tz.from_local_datetime(&l) {
        LocalResult::Single(t) => LocalInstants::One(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => LocalInstants::Two(a.with_timezone(&Utc), b.with_timezone(&Utc)),
        LocalResult::None => LocalInstants::One(first_instant_at_or_after(tz, l)),
    }
}

pub enum LocalInstants {
    One(DateTime<Utc>),
    Two(DateTime<Utc>, DateTime<Utc>),
}

/// The first instant whose local time is ≥ `l` (binary search over a ±30 h range;
/// only reached for times inside a DST gap, so its cost does not matter).
fn first_instant_at_or_after(tz: Tz, l: NaiveDateTime) -> DateTime<Utc> {
    let base = l
        .and_utc()
        .timestamp()
        .clamp(DateTime::<Utc>::MIN_UTC.timestamp() + 200_000, DateTime::<Utc>::MAX_UTC.timestamp() - 200_000);
    let (mut lo, mut hi) = (base - 30 * 3600, base + 30 * 3600);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let t = DateTime::from_timestamp(mid, 0).unwrap();
        if local(tz, t) >= l {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap()
}

/// Local midnight of a date, as an instant.
pub fn midnight(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    local_to_instant(tz, d.and_hms_opt(0, 0, 0).unwrap())
}

/// The local date of an instant.
pub fn local_date(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    local(tz, t).date()
}

thread_local! {
    /// Memo of recent (zone, instant) → local date and (zone, date) → midnight.
    /// Every record of a batch shares `now`, and records share a handful of zones,
    /// so tracker windows hit these almost always. Pure memoisation: no answer changes.
    static DATES: std::cell::RefCell<Vec<(Tz, DateTime<Utc>, NaiveDate)>> = const { std::cell::RefCell::new(Vec::new()) };
    static MIDNIGHTS: std::cell::RefCell<ahash::AHashMap<(Tz, NaiveDate), DateTime<Utc>>> =
        std::cell::RefCell::new(ahash::AHashMap::new());
}

/// [`local_date`], memoised per thread for repeated (zone, instant) pairs.
pub fn local_date_memo(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    DATES.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(&(_, _, d)) = c.iter().find(|(z, i, _)| *z == tz && *i == t) {
            return d;
        }
        let d = local_date(tz, t);
        if c.len() >= 32 {
            c.remove(0);
        }
        c.push((tz, t, d));
        d
    })
}

/// [`midnight`], memoised per thread (bounded).
pub fn midnight_memo(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    MIDNIGHTS.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(&m) = c.get(&(tz, d)) {
            return m;
        }
        if c.len() >= 65_536 {
            c.clear();
        }
        let m = midnight(tz, d);
        c.insert((tz, d), m);
        m
    })
}

/// `d + n` days, saturating at the ends of the calendar.
pub fn add_days(d: NaiveDate, n: i64) -> NaiveDate {
    Duration::try_days(n).and_then(|x| d.checked_add_signed(x)).unwrap_or(if n < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// Monday of the week holding `d`.
pub fn week_monday(d: NaiveDate) -> NaiveDate {
    add_days(d, -(d.weekday().num_days_from_monday() as i64))
}

/// The 1st of the month holding `d`, and of the next month.
pub fn month_first(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap()
}

pub fn next_month_first(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 { (d.year() + 1, 1) } else { (d.year(), d.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}

/// Instants in `[from, to]` at which the zone's UTC offset changes (DST
/// transitions), found by comparing offsets a day apart and bisecting.
pub fn offset_changes(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>, out: &mut Vec<DateTime<Utc>>) {
    let off = |t: i64| {
        tz.offset_from_utc_datetime(&DateTime::from_timestamp(t, 0).unwrap().naive_utc()).fix().local_minus_utc()
    };
    let (mut a, end) = (from.timestamp(), to.timestamp());
    while a < end {
        let b = (a + 86_400).min(end);
        let (oa, ob) = (off(a), off(b));
        if oa != ob {
            let (mut lo, mut hi) = (a, b);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if off(mid) == oa {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(DateTime::from_timestamp(hi, 0).unwrap());
        }
        a = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }
    fn nd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn parses_offsets_and_naive_as_utc() {
        assert_eq!(at("2026-03-08T02:30:00-05:00"), at("2026-03-08T07:30:00Z"));
        assert_eq!(at("2026-03-08 07:30:00"), at("2026-03-08T07:30:00Z"));
        assert_eq!(at("2026-03-08"), at("2026-03-08T00:00:00Z"));
        assert!(parse_instant("yesterday").is_none());
    }

    #[test]
    fn formats_millis_truncated() {
        assert_eq!(format_instant(at("2025-05-17T04:49:56.7609Z")), "2025-05-17T04:49:56.760Z");
        assert_eq!(format_instant(at("2025-05-17T04:49:56Z")), "2025-05-17T04:49:56.000Z");
    }

    #[test]
    fn gap_resolves_to_first_instant_after() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let l = nd(2026, 3, 8).and_hms_opt(2, 30, 0).unwrap();
        assert_eq!(local_to_instant(ny, l), at("2026-03-08T07:00:00Z"));
        let lh: Tz = "Australia/Lord_Howe".parse().unwrap();
        // Lord Howe springs forward 02:00 → 02:30 (+10:30 → +11:00) on 2026-10-04; 02:00 at +10:30 = 15:30Z
        let l = nd(2026, 10, 4).and_hms_opt(2, 10, 0).unwrap();
        assert_eq!(local_to_instant(lh, l), at("2026-10-03T15:30:00Z"));
    }

    #[test]
    fn overlap_resolves_to_earlier_instant() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let l = nd(2026, 11, 1).and_hms_opt(1, 30, 0).unwrap();
        assert_eq!(local_to_instant(ny, l), at("2026-11-01T05:30:00Z"));
    }

    #[test]
    fn finds_transitions() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let mut v = vec![];
        offset_changes(ny, at("2026-03-01T00:00:00Z"), at("2026-11-10T00:00:00Z"), &mut v);
        assert_eq!(v, vec![at("2026-03-08T07:00:00Z"), at("2026-11-01T06:00:00Z")]);
    }

    #[test]
    fn calendar_helpers() {
        assert_eq!(week_monday(nd(2026, 11, 29)), nd(2026, 11, 23));
        assert_eq!(next_month_first(nd(2026, 12, 31)), nd(2027, 1, 1));
        assert_eq!(month_first(nd(2026, 2, 17)), nd(2026, 2, 1));
    }
}

//! SPEC §7 (attempt trackers) and §9 (message trackers): one counting routine.
//!
//! Tracker filter lists are compiled against the history's interned ids once,
//! so the per-attempt filter is integer comparisons. A record's key ids are
//! looked up once per record ([`RecordKeys`]) and shared by every tracker.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::history::{from_nanos, to_nanos, History, NONE, NO_NUMBER_TYPE};
use crate::model::config::Exemptions;
use crate::model::{Record, ThresholdType, Tracker, TrackerType};
use crate::time;

/// A filter over interned ids: `None` = no filter; `Some(ids)` (maybe empty:
/// nothing in the history can match).
type IdFilter = Option<Vec<u32>>;

#[derive(Debug)]
pub struct CompiledTracker {
    pub rule: Tracker,
    disp: IdFilter,
    purpose: IdFilter,
    geo: IdFilter,
}

fn compile_ids(names: &[String], interner: &super::history::Interner) -> IdFilter {
    (!names.is_empty()).then(|| names.iter().filter_map(|n| interner.get(n)).collect())
}

impl CompiledTracker {
    pub fn new(rule: Tracker, h: &History) -> Self {
        CompiledTracker {
            disp: compile_ids(&rule.dispositions, &h.dispositions),
            purpose: compile_ids(&rule.purposes, &h.purposes),
            geo: compile_ids(&rule.geocodes, &h.geocodes),
            rule,
        }
    }
}

/// The record's keys as history ids (`NONE` when absent or never seen).
#[derive(Debug, Clone, Copy)]
pub struct RecordKeys {
    cust: u32,
    addr: u32,
    acct: u32,
}

impl RecordKeys {
    pub fn new(h: &History, rec: &Record) -> Self {
        RecordKeys {
            cust: h.customers.get(&rec.customer).unwrap_or(NONE),
            addr: h.addresses.get(&rec.address).unwrap_or(NONE),
            acct: h.accounts.get(&rec.account).unwrap_or(NONE),
        }
    }
}

/// Warms the cache for the tracker counts of `recs`: batch evaluates records
/// in small groups, and a count starts with a chain of dependent misses (key
/// table slot, list offsets, the list's newest entry, that attempt's time). Issued
/// stage by stage for the whole group, the misses overlap instead of being
/// paid one after another. Only a hint: answers do not change.
///
/// `keys` receives each record's [`RecordKeys`] (in order), for the
/// evaluations to use instead of looking them up again.
pub fn prefetch(h: &History, recs: &[Record], keys: &mut Vec<RecordKeys>) {
    keys.clear();
    for rec in recs {
        h.customers.prefetch(&rec.customer);
        h.addresses.prefetch(&rec.address);
        h.accounts.prefetch(&rec.account);
    }
    keys.extend(recs.iter().map(|rec| RecordKeys::new(h, rec)));
    let lists = [&h.by_cust, &h.by_addr, &h.by_acct];
    let each = |hint: &dyn Fn(&super::history::Postings, u32)| {
        for k in keys.iter() {
            for (list, id) in lists.iter().zip([k.cust, k.addr, k.acct]) {
                if id != NONE {
                    hint(list, id);
                }
            }
        }
    };
    each(&|list, id| list.prefetch_offsets(id));
    each(&|list, id| list.prefetch_last(id));
    each(&|list, id| list.prefetch_last_time(id, &h.time));
}

/// Whether the tracker applies to the record (SPEC §7 "applies").
pub fn applies(t: &Tracker, rec: &Record, ex: &Exemptions) -> bool {
    if !t.enabled || !t.channels.contains(rec.channel) {
        return false;
    }
    let ty = t.tracker_type;
    if (ty.uses_customer() && rec.customer.is_empty()) || (ty.uses_account() && rec.account.is_empty()) {
        return false;
    }
    if ty.uses_address() && (rec.address.is_empty() || ex.address_rules.contains(rec.channel, &rec.address)) {
        return false;
    }
    if !t.number_types.is_empty() && !rec.number_type.is_some_and(|n| t.number_types.contains(&n)) {
        return false;
    }
    if !t.purposes.is_empty() && !t.purposes.contains(&rec.purpose) {
        return false;
    }
    if !t.geocodes.is_empty() && !rec.geocodes().iter().any(|g| t.geocodes.contains(g)) {
        return false;
    }
    true
}

/// A counting window: attempts with `from < t` (exclusive) or `from ≤ t`, and `t ≤ now`.
struct Span {
    from: i64,
    inclusive: bool,
}

/// Thresholds beyond this many days are treated as this many (≈ 2,700 years):
/// every stored attempt is inside such a window, and date arithmetic stays in range.
const MAX_DAYS: i64 = 1_000_000;

fn minutes(n: i64) -> Duration {
    Duration::try_minutes(n).unwrap_or(Duration::MAX)
}

fn hours(n: i64) -> Duration {
    Duration::try_hours(n).unwrap_or(Duration::MAX)
}

fn window(t: &Tracker, zone: Tz, now: DateTime<Utc>) -> Span {
    let today = time::local_date_memo(zone, now);
    let th = (t.threshold as i64).min(MAX_DAYS);
    let midnight = |d| Span { from: to_nanos(time::midnight_memo(zone, d)), inclusive: true };
    match t.threshold_type {
        ThresholdType::Minute => Span {
            from: now.checked_sub_signed(minutes(t.threshold as i64)).map_or(i64::MIN, to_nanos),
            inclusive: false,
        },
        ThresholdType::Hour => Span {
            from: now.checked_sub_signed(hours(t.threshold as i64)).map_or(i64::MIN, to_nanos),
            inclusive: false,
        },
        ThresholdType::Day => midnight(time::add_days(today, -(th - 1))),
        ThresholdType::Week => midnight(time::add_days(today, -(7 * th - 1))),
        ThresholdType::CurrentDay => midnight(today),
        ThresholdType::CurrentWeek => midnight(time::week_monday(today)),
        ThresholdType::CurrentMonth => midnight(time::month_first(today)),
    }
}

/// The earliest instant [`window`] can start for `t` at `now`, in any zone: a
/// loader may drop older history, since no window reaches it.
///
/// A zone's offset is under 24 h, so its local date is at most a day behind
/// the UTC date, and its local midnight of a date is less than a day before
/// that date's UTC midnight (a DST gap at midnight only moves it later). The
/// calendar windows are therefore bounded by their UTC start one date back,
/// less a day: two to three days of slack, not the whole month a static
/// bound would need for `CurrentMonth`.
pub fn earliest_window_start(t: &Tracker, now: DateTime<Utc>) -> DateTime<Utc> {
    let th = (t.threshold as i64).min(MAX_DAYS);
    let earliest_today = time::add_days(now.date_naive(), -1);
    let first_date = match t.threshold_type {
        ThresholdType::Minute => {
            return now.checked_sub_signed(minutes(t.threshold as i64)).unwrap_or(DateTime::<Utc>::MIN_UTC)
        }
        ThresholdType::Hour => {
            return now.checked_sub_signed(hours(t.threshold as i64)).unwrap_or(DateTime::<Utc>::MIN_UTC)
        }
        ThresholdType::Day => time::add_days(earliest_today, -(th - 1)),
        ThresholdType::Week => time::add_days(earliest_today, -(7 * th - 1)),
        ThresholdType::CurrentDay => earliest_today,
        ThresholdType::CurrentWeek => time::week_monday(earliest_today),
        ThresholdType::CurrentMonth => time::month_first(earliest_today),
    };
    first_date
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .checked_sub_signed(Duration::days(1))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// When the counted attempt at `a` leaves the window (SPEC §7 restrictionEndTime).
fn leaves_window(t: &Tracker, zone: Tz, now: DateTime<Utc>, a: DateTime<Utc>) -> DateTime<Utc> {
    let th = (t.threshold as i64).min(MAX_DAYS);
    let today = time::local_date_memo(zone, now);
    match t.threshold_type {
        ThresholdType::Minute => a.checked_add_signed(minutes(t.threshold as i64)).unwrap_or(DateTime::<Utc>::MAX_UTC),
        ThresholdType::Hour => a.checked_add_signed(hours(t.threshold as i64)).unwrap_or(DateTime::<Utc>::MAX_UTC),
        ThresholdType::Day => time::midnight_memo(zone, time::add_days(time::local_date(zone, a), th)),
        ThresholdType::Week => time::midnight_memo(zone, time::add_days(time::local_date(zone, a), 7 * th)),
        ThresholdType::CurrentDay => time::midnight_memo(zone, time::add_days(today, 1)),
        ThresholdType::CurrentWeek => time::midnight_memo(zone, time::add_days(time::week_monday(today), 7)),
        ThresholdType::CurrentMonth => time::midnight_memo(zone, time::next_month_first(today)),
    }
}

/// The outcome of one applying tracker.
pub struct TrackerResult {
    /// Restricted / exceeded.
    pub hit: bool,
    /// When it stops restricting (`None` = never / N = 0).
    pub end: Option<DateTime<Utc>>,
}

/// Counts the tracker's window for the record and decides (SPEC §7).
pub fn evaluate(
    ct: &CompiledTracker,
    h: &History,
    rec: &Record,
    keys: RecordKeys,
    now: DateTime<Utc>,
) -> TrackerResult {
    let t = &ct.rule;
    if t.number_of_attempts == 0 {
        return TrackerResult { hit: true, end: None };
    }
    let n = t.number_of_attempts as usize;
    // Pick the shortest posting list that holds every attempt with the record's key.
    let (list, need_cust, need_addr, need_acct): (&[u32], u32, u32, u32) = match t.tracker_type {
        TrackerType::Customer => (posting(&h.by_cust, keys.cust), NONE, NONE, NONE),
        TrackerType::ContactAddress => (posting(&h.by_addr, keys.addr), NONE, NONE, NONE),
        TrackerType::Account => (posting(&h.by_acct, keys.acct), NONE, NONE, NONE),
        TrackerType::CustomerContactAddress => {
            let (c, a) = (posting(&h.by_cust, keys.cust), posting(&h.by_addr, keys.addr));
            if c.len() <= a.len() {
                (c, NONE, keys.addr, NONE)
            } else {
                (a, keys.cust, NONE, NONE)
            }
        }
        TrackerType::AccountContactAddress => {
            let (k, a) = (posting(&h.by_acct, keys.acct), posting(&h.by_addr, keys.addr));
            if k.len() <= a.len() {
                (k, NONE, keys.addr, NONE)
            } else {
                (a, NONE, NONE, keys.acct)
            }
        }
    };
    if list.len() < n {
        return TrackerResult { hit: false, end: None };
    }
    let span = window(t, rec.zone, now);
    let now_ns = to_nanos(now);
    // History is almost always older than now: check the newest attempt before searching.
    let hi = match list.last() {
        Some(&l) if h.time[l as usize] <= now_ns => list.len(),
        _ => list.partition_point(|&i| h.time[i as usize] <= now_ns),
    };
    let in_window = |x: i64| if span.inclusive { x >= span.from } else { x > span.from };
    let counted = |i: usize| -> bool {
        if (need_cust != NONE && h.cust[i] != need_cust)
            || (need_addr != NONE && h.addr[i] != need_addr)
            || (need_acct != NONE && h.acct[i] != need_acct)
        {
            return false;
        }
        let ch = h.channel_of(i);
        let channel_ok = if t.across { t.channels.contains(ch) } else { ch == rec.channel };
        if !channel_ok {
            return false;
        }
        if let Some(d) = &ct.disp {
            if !d.contains(&h.disposition[i]) {
                return false;
            }
        }
        if !t.number_types.is_empty() {
            let nt = h.number_type[i];
            if nt == NO_NUMBER_TYPE || !t.number_types.contains(&nt) {
                return false;
            }
        }
        if let Some(p) = &ct.purpose {
            if !p.contains(&h.purpose[i]) {
                return false;
            }
        }
        if let Some(g) = &ct.geo {
            if !h.geocodes_of(i).iter().any(|x| g.contains(x)) {
                return false;
            }
        }
        true
    };
    // a_{k−N+1} (oldest first) is the N-th newest counted attempt: walk back from
    // now and stop at the N-th match instead of counting the whole window.
    let mut found = 0usize;
    for &i in list[..hi].iter().rev() {
        let i = i as usize;
        if !in_window(h.time[i]) {
            break;
        }
        if counted(i) {
            found += 1;
            if found == n {
                let at = from_nanos(h.time[i]);
                return TrackerResult { hit: true, end: Some(leaves_window(t, rec.zone, now, at)) };
            }
        }
    }
    TrackerResult { hit: false, end: None }
}

fn posting(p: &super::history::Postings, id: u32) -> &[u32] {
    if id == NONE {
        &[]
    } else {
        p.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dto::AttemptTrackerDto;

    fn tracker(threshold_type: &str, threshold: u32) -> Tracker {
        let dto: AttemptTrackerDto = serde_json::from_value(serde_json::json!({
            "id": "t", "attemptTrackerName": "t", "typeOfTracker": "Account", "numberOfAttempts": 1,
            "thresholdType": threshold_type, "threshold": threshold, "contactChannels": ["Voice"]
        }))
        .unwrap();
        Tracker::try_from(&dto).unwrap()
    }

    const TYPES: [&str; 7] = ["Minute", "Hour", "Day", "Week", "CurrentDay", "CurrentWeek", "CurrentMonth"];

    /// The history loader's bound is below every zone's window start: pruning
    /// by it never drops a countable attempt. Every IANA zone (Kiritimati at
    /// +14 h, Etc/GMT+12 at −12 h, zones whose DST starts at midnight), and
    /// instants on both sides of month and week starts and across a DST change.
    #[test]
    fn earliest_window_start_is_below_every_zones_window() {
        let start = "2026-09-28T00:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let nows: Vec<DateTime<Utc>> = (0..40).map(|k| start + Duration::minutes(k * 2311)).collect();
        for ty in TYPES {
            for th in [1, 2, 5] {
                let t = tracker(ty, th);
                for &now in &nows {
                    let bound = earliest_window_start(&t, now);
                    for zone in chrono_tz::TZ_VARIANTS {
                        let from = from_nanos(window(&t, zone, now).from);
                        assert!(bound <= from, "{ty} {th} at {now} in {zone}: bound {bound} > window start {from}");
                    }
                }
            }
        }
    }

    /// And it is tight, not a static month: at the G2 as-of (Monday the 2nd,
    /// 15:00 UTC) CurrentMonth reaches back only to Oct 31 00:00 UTC.
    #[test]
    fn earliest_window_start_is_within_days_of_the_window() {
        let now = "2026-11-02T15:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(earliest_window_start(&tracker("CurrentMonth", 1), now), at("2026-10-31T00:00:00Z"));
        assert_eq!(earliest_window_start(&tracker("CurrentWeek", 1), now), at("2026-10-25T00:00:00Z"));
        assert_eq!(earliest_window_start(&tracker("CurrentDay", 1), now), at("2026-10-31T00:00:00Z"));
        assert_eq!(earliest_window_start(&tracker("Day", 7), now), at("2026-10-25T00:00:00Z"));
        assert_eq!(earliest_window_start(&tracker("Week", 1), now), at("2026-10-25T00:00:00Z"));
        assert_eq!(earliest_window_start(&tracker("Hour", 24), now), at("2026-11-01T15:00:00Z"));
        assert_eq!(earliest_window_start(&tracker("Minute", 90), now), at("2026-11-02T13:30:00Z"));
        assert!(earliest_window_start(&tracker("Week", 4_000_000_000), now) < at("0001-01-01T00:00:00Z"));
        // Sliding and day-counted windows: within three days of the latest
        // zone's start. (CurrentWeek/CurrentMonth can reach a period further
        // when the UTC date one day back lies in the previous week or month,
        // as on this Monday: still bounded by that period, not by history.)
        for ty in ["Minute", "Hour", "Day", "Week", "CurrentDay"] {
            let t = tracker(ty, 3);
            let latest = chrono_tz::TZ_VARIANTS.iter().map(|&z| window(&t, z, now).from).max().unwrap();
            let slack = from_nanos(latest) - earliest_window_start(&t, now);
            assert!(slack <= Duration::days(3), "{ty}: {slack}");
        }
    }
}

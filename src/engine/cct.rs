//! SPEC §5: convenient contact times.
//!
//! Rules are indexed by (key type, key). For a record, each key type picks
//! its most specific applying tier, then windows are judged on the record
//! zone's wall clock. Next-open / next-close instants are found among a small
//! set of candidate instants (window edges resolved through DST rules, zone
//! offset changes, local midnights), because the open/closed state can only
//! change at one of those.

use ahash::AHashMap;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

use super::decision::{CctTier, RestrictionType};
use crate::model::{ContactKeyType, ContactValueType, ConvenientContactTime, Record, Window};
use crate::time::{self, LocalInstants};

/// Look-ahead for next-open and next-close instants (SPEC §5: 192 hours / 8 days).
const LOOK_AHEAD_HOURS: i64 = 192;

#[derive(Debug, Default)]
pub struct CctIndex {
    rules: Vec<ConvenientContactTime>,
    by_customer: AHashMap<Box<str>, Vec<u32>>,
    by_account: AHashMap<Box<str>, Vec<u32>>,
}

pub enum CctOutcome<'e> {
    Restricted { rule: &'e ConvenientContactTime, kind: RestrictionType, end: Option<DateTime<Utc>> },
    Allowed { next_close: Option<DateTime<Utc>> },
}

fn minute_of(l: chrono::NaiveDateTime) -> u16 {
    (l.hour() * 60 + l.minute()) as u16
}

/// Whether any window of `windows` is open at `t` in zone `tz` (wall clock).
pub fn is_open(windows: &[Window], tz: Tz, t: DateTime<Utc>) -> bool {
    let l = time::local(tz, t);
    let wd = l.weekday().num_days_from_monday();
    let prev = (wd + 6) % 7;
    let m = minute_of(l);
    windows.iter().any(|w| {
        if w.overnight() {
            (w.has_day(wd) && m >= w.start) || (w.has_day(prev) && m < w.end)
        } else {
            w.has_day(wd) && w.start <= m && m < w.end
        }
    })
}

fn local_at(d: NaiveDate, minutes: u16) -> chrono::NaiveDateTime {
    let day = time::add_days(d, (minutes / 1440) as i64);
    let m = (minutes % 1440) as u32;
    day.and_hms_opt(m / 60, m % 60, 0).unwrap()
}

/// Candidate instants in (now, now + 192 h] where a window state may change.
fn candidates(windows: &[Window], tz: Tz, now: DateTime<Utc>, out: &mut Vec<DateTime<Utc>>) {
    out.clear();
    let limit = now + Duration::hours(LOOK_AHEAD_HOURS);
    let first = time::add_days(time::local_date(tz, now), -1);
    let last = time::add_days(time::local_date(tz, limit), 1);
    let mut push = |li: LocalInstants| match li {
        LocalInstants::One(a) => out.push(a),
        LocalInstants::Two(a, b) => {
            out.push(a);
            out.push(b)
        }
    };
    let mut d = first;
    while d <= last {
        push(LocalInstants::One(time::midnight(tz, d)));
        let wd = d.weekday().num_days_from_monday();
        for w in windows.iter().filter(|w| w.has_day(wd)) {
            push(time::instants_of_local(tz, local_at(d, w.start)));
            let end_minutes = if w.overnight() { w.end + 1440 } else { w.end };
            push(time::instants_of_local(tz, local_at(d, end_minutes)));
        }
        d = time::add_days(d, 1);
    }
    time::offset_changes(tz, now, limit, out);
    out.retain(|t| *t > now && *t <= limit);
    out.sort_unstable();
    out.dedup();
}

/// The first instant in (now, now + 192 h] at which the windows are `want_open`.
pub fn next_state(windows: &[Window], tz: Tz, now: DateTime<Utc>, want_open: bool) -> Option<DateTime<Utc>> {
    if windows.is_empty() {
        return None;
    }
    let mut c = Vec::with_capacity(64);
    candidates(windows, tz, now, &mut c);
    c.into_iter().find(|t| is_open(windows, tz, *t) == want_open)
}

impl CctIndex {
    pub fn new(rules: Vec<ConvenientContactTime>) -> Self {
        let mut by_customer: AHashMap<Box<str>, Vec<u32>> = AHashMap::new();
        let mut by_account: AHashMap<Box<str>, Vec<u32>> = AHashMap::new();
        for (i, r) in rules.iter().enumerate() {
            let map = match r.key_type {
                ContactKeyType::Customer => &mut by_customer,
                ContactKeyType::Account => &mut by_account,
            };
            map.entry(r.key.as_str().into()).or_default().push(i as u32);
        }
        CctIndex { rules, by_customer, by_account }
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[ConvenientContactTime] {
        &self.rules
    }

    /// The chosen rule of one key type: the most specific applying tier.
    fn chosen(
        &self,
        kt: ContactKeyType,
        rec: &Record,
        now: DateTime<Utc>,
    ) -> Option<(&ConvenientContactTime, CctTier)> {
        let (map, key) = match kt {
            ContactKeyType::Customer => (&self.by_customer, rec.customer.as_str()),
            ContactKeyType::Account => (&self.by_account, rec.account.as_str()),
        };
        if key.is_empty() {
            return None;
        }
        let mut best: Option<(&ConvenientContactTime, CctTier)> = None;
        for &i in map.get(key)? {
            let r = &self.rules[i as usize];
            if r.end.is_some_and(|e| now >= e) {
                continue;
            }
            let tier = match (r.value_type, &r.value) {
                (ContactValueType::All, _) => CctTier::All,
                (vt, v) if vt.channel() != Some(rec.channel) => {
                    let _ = v;
                    continue;
                }
                (_, None) => CctTier::ChannelWide,
                (_, Some(v)) if *v == rec.address => CctTier::Specific,
                _ => continue,
            };
            let better = match best {
                None => true,
                Some((b, bt)) => tier > bt || (tier == bt && r.id < b.id),
            };
            if better {
                best = Some((r, tier));
            }
        }
        best
    }

    pub fn check<'e>(&'e self, rec: &Record, now: DateTime<Utc>) -> CctOutcome<'e> {
        let mut next_close: Option<DateTime<Utc>> = None;
        for kt in [ContactKeyType::Customer, ContactKeyType::Account] {
            let Some((rule, tier)) = self.chosen(kt, rec, now) else {
                continue;
            };
            if !is_open(&rule.windows, rec.zone, now) {
                let open = next_state(&rule.windows, rec.zone, now, true);
                let end = match (open, rule.end) {
                    (Some(o), Some(e)) => Some(o.min(e)),
                    (o, e) => o.or(e),
                };
                let kind = RestrictionType::ConvenientContactTime(kt, tier, rec.channel);
                return CctOutcome::Restricted { rule, kind, end };
            }
            if let Some(close) = next_state(&rule.windows, rec.zone, now, false) {
                if rule.end.is_none_or(|e| close < e) {
                    next_close = Some(next_close.map_or(close, |c| c.min(close)));
                }
            }
        }
        CctOutcome::Allowed { next_close }
    }
}

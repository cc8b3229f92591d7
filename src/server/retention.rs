//! Retention (SPEC §13): the purge of exclusions and convenient contact times
//! whose time is long past.
//!
//! An expired rule already restricts nothing (its endTime is past); the purge
//! keeps the store and the API's lists from growing forever. It is therefore
//! a store operation that the org's in-memory view follows, decided by one
//! function ([`plan`]) that both the server's daily purge and `scrub purge`
//! (an admin command on a stopped server's store) use.
//!
//! What goes, at instant `now`, under the org's configurations:
//! - an exclusion whose endTime is more than `exclusions.retainDays` days
//!   before `now`;
//! - an exclusion without endTime, when `exclusions.retainNoEndTime` is false
//!   and its creationTime is more than `retainDays` days before `now`;
//! - a CCT whose endTime is more than `convenientContactTimes.retainDays`
//!   days before `now` (a CCT without endTime stays).
//!
//! "More than N days" is strict and counts whole 24-hour days: an endTime
//! exactly N days old stays.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::kinds::{rule_of, Kind, Rule};
use super::store::{self, Store};
use crate::model::{Config, Exclusion};
use crate::time::parse_instant;

/// The retention settings of one org's configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub exclusion_days: i64,
    pub exclusion_no_end_time: bool,
    pub cct_days: i64,
}

impl Retention {
    pub fn of(c: &Config) -> Retention {
        Retention {
            exclusion_days: c.exclusion_retain_days,
            exclusion_no_end_time: c.exclusion_retain_no_end_time,
            cct_days: c.cct_retain_days,
        }
    }

    /// Whether an exclusion with this endTime and creationTime is purged at `now`.
    pub fn exclusion_due(
        &self,
        end: Option<DateTime<Utc>>,
        created: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        let limit = now - Duration::days(self.exclusion_days);
        match end {
            Some(e) => e < limit,
            // Without a creationTime there is nothing to measure; the item stays.
            None => !self.exclusion_no_end_time && created.is_some_and(|c| c < limit),
        }
    }

    /// Whether a CCT with this endTime is purged at `now`.
    pub fn cct_due(&self, end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        end.is_some_and(|e| e < now - Duration::days(self.cct_days))
    }
}

/// What a purge removes from one org.
#[derive(Debug, Default)]
pub struct Plan {
    /// The exclusions, in their domain form (the engine forgets them by it).
    pub exclusions: Vec<Exclusion>,
    /// The CCTs' ids.
    pub ccts: Vec<String>,
}

/// Counts of one org's purge (printed by `scrub purge`, logged by the server).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeCounts {
    pub exclusions: usize,
    pub convenient_contact_times: usize,
}

impl Plan {
    pub fn counts(&self) -> PurgeCounts {
        PurgeCounts { exclusions: self.exclusions.len(), convenient_contact_times: self.ccts.len() }
    }

    pub fn is_empty(&self) -> bool {
        self.exclusions.is_empty() && self.ccts.is_empty()
    }
}

/// The fields the decision needs, parsed without building the whole item.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Times<'a> {
    #[serde(borrow)]
    end_time: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    creation_time: Option<std::borrow::Cow<'a, str>>,
}

fn instant(s: &Option<std::borrow::Cow<'_, str>>) -> Option<DateTime<Utc>> {
    s.as_deref().and_then(parse_instant)
}

/// Decides what the purge removes from `org` at `now` (reads the store only).
/// An item the store holds but that no longer parses is left alone.
pub fn plan(store: &Store, org: &str, r: Retention, now: DateTime<Utc>) -> rusqlite::Result<Plan> {
    let mut p = Plan::default();
    for k in [Kind::Exclusion, Kind::Cct] {
        store.scan_entities(org, k.plural(), |text| {
            let Ok(t) = serde_json::from_str::<Times<'_>>(text) else { return true };
            let end = instant(&t.end_time);
            let due = match k {
                Kind::Exclusion => r.exclusion_due(end, instant(&t.creation_time), now),
                _ => r.cct_due(end, now),
            };
            if !due {
                return true;
            }
            let Ok(Value::Object(item)) = serde_json::from_str::<Value>(text) else { return true };
            match (k, rule_of(k, &item)) {
                (Kind::Exclusion, Ok(Rule::Exclusion(e))) if e.id.is_some() => p.exclusions.push(e),
                (Kind::Cct, Ok(Rule::Cct(_))) => {
                    if let Some(id) = id_of(&item) {
                        p.ccts.push(id);
                    }
                }
                _ => {}
            }
            true
        })?;
    }
    Ok(p)
}

fn id_of(item: &Map<String, Value>) -> Option<String> {
    item.get("id").and_then(Value::as_str).map(str::to_string)
}

/// Deletes a plan's items from the store in one transaction.
pub fn delete(store: &Store, org: &str, p: &Plan) -> rusqlite::Result<()> {
    if p.is_empty() {
        return Ok(());
    }
    store.tx(|tx| {
        for e in &p.exclusions {
            store::delete_entity(tx, org, Kind::Exclusion.plural(), e.id.as_deref().unwrap_or_default())?;
        }
        for id in &p.ccts {
            store::delete_entity(tx, org, Kind::Cct.plural(), id)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    #[test]
    fn exclusions_go_strictly_more_than_retain_days_after_their_end() {
        let r = Retention { exclusion_days: 14, exclusion_no_end_time: false, cct_days: 3 };
        let now = t("2026-03-20T12:00:00Z");
        // Exactly 14 days old stays; a millisecond older goes.
        assert!(!r.exclusion_due(Some(t("2026-03-06T12:00:00Z")), None, now));
        assert!(r.exclusion_due(Some(t("2026-03-06T11:59:59.999Z")), None, now));
        // An endTime in the future or recent past stays, whatever its age.
        assert!(!r.exclusion_due(Some(t("2026-04-01T00:00:00Z")), Some(t("2020-01-01T00:00:00Z")), now));
        // No endTime: by creationTime unless retainNoEndTime; unknown creation stays.
        assert!(r.exclusion_due(None, Some(t("2026-03-06T11:00:00Z")), now));
        assert!(!r.exclusion_due(None, Some(t("2026-03-06T13:00:00Z")), now));
        assert!(!r.exclusion_due(None, None, now));
        let keep = Retention { exclusion_no_end_time: true, ..r };
        assert!(!keep.exclusion_due(None, Some(t("2020-01-01T00:00:00Z")), now));
        assert!(keep.exclusion_due(Some(t("2026-03-01T00:00:00Z")), None, now));
        // retainDays 0: anything ended before now goes.
        let zero = Retention { exclusion_days: 0, ..r };
        assert!(zero.exclusion_due(Some(t("2026-03-20T11:59:59Z")), None, now));
        assert!(!zero.exclusion_due(Some(now), None, now));
    }

    #[test]
    fn ccts_go_by_their_own_retain_days_and_only_with_an_end() {
        let r = Retention { exclusion_days: 14, exclusion_no_end_time: false, cct_days: 3 };
        let now = t("2026-03-20T12:00:00Z");
        assert!(r.cct_due(Some(t("2026-03-17T11:00:00Z")), now));
        assert!(!r.cct_due(Some(t("2026-03-17T12:00:00Z")), now));
        assert!(!r.cct_due(None, now));
    }
}

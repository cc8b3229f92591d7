//! Domain rule types, built only through checked constructors (SPEC §10).
//!
//! Each `TryFrom<&Dto>` normalises the values used for matching (SPEC §2) and
//! refuses what breaks the spec with a [`FieldError`] naming the field. After
//! this point the engine never re-checks or re-normalises a rule.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::dto::*;
use super::enums::*;
use crate::normalize;
use crate::time::parse_instant;

/// A rule or record field that breaks the spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

type R<T> = Result<T, FieldError>;

fn enum_field<T>(field: &str, v: Option<&str>, parse: fn(&str) -> Option<T>, expected: String) -> R<T> {
    match normalize::present(v) {
        None => Err(FieldError::new(field, format!("is required (one of {expected})"))),
        Some(s) => parse(s).ok_or_else(|| FieldError::new(field, format!("unknown value '{s}' (expected {expected})"))),
    }
}

fn instant_field(field: &str, v: Option<&str>) -> R<Option<DateTime<Utc>>> {
    match normalize::present(v) {
        None => Ok(None),
        Some(s) => parse_instant(s)
            .map(Some)
            .ok_or_else(|| FieldError::new(field, format!("'{s}' is not an RFC 3339 instant"))),
    }
}

/// An integer from JSON (a number or a numeric string); `None` when absent.
pub fn int_value(field: &str, v: Option<&Value>) -> R<Option<i64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                _ => Err(FieldError::new(field, format!("{n} is not an integer"))),
            },
        },
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            s.trim().parse::<i64>().map(Some).map_err(|_| FieldError::new(field, format!("'{s}' is not an integer")))
        }
        Some(other) => Err(FieldError::new(field, format!("{other} is not an integer"))),
    }
}

fn lower_list(v: &Option<Vec<String>>) -> Vec<String> {
    v.iter().flatten().filter_map(|s| normalize::lower(s)).collect()
}

fn id_of(id: &Option<String>) -> Option<String> {
    id.as_deref().and_then(normalize::trimmed)
}

// ---------------------------------------------------------------- exclusions

#[derive(Debug, Clone, PartialEq)]
pub struct Exclusion {
    pub id: Option<String>,
    pub exclusion_type: ExclusionType,
    /// Normalised by type: digits (Voice/SMS/SSN), lower-case (Email), trimmed (Account).
    pub value: String,
    /// Lower-cased list name; `None` covers every list.
    pub list: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// Normalises an exclusion value by its type (SPEC §2).
pub fn exclusion_key(t: ExclusionType, v: &str) -> Option<String> {
    match t {
        ExclusionType::Voice | ExclusionType::Sms | ExclusionType::Ssn => normalize::digits(v),
        ExclusionType::Email => normalize::lower(v),
        ExclusionType::Account => normalize::trimmed(v),
    }
}

impl Exclusion {
    /// (type, normalised value, list name): the act-file identity (SPEC §12).
    pub fn identity(&self) -> (ExclusionType, String, Option<String>) {
        (self.exclusion_type, self.value.clone(), self.list.clone())
    }

    pub fn active_at(&self, t: DateTime<Utc>) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t < e)
    }
}

impl TryFrom<&ExclusionDto> for Exclusion {
    type Error = FieldError;
    fn try_from(d: &ExclusionDto) -> R<Self> {
        let t =
            enum_field("exclusionType", d.exclusion_type.as_deref(), ExclusionType::parse, ExclusionType::expected())?;
        let raw = normalize::present(d.exclusion_value.as_deref())
            .ok_or_else(|| FieldError::new("exclusionValue", "is required"))?;
        let value = exclusion_key(t, raw).ok_or_else(|| {
            FieldError::new("exclusionValue", format!("'{raw}' has no usable {t} value after normalisation"))
        })?;
        Ok(Exclusion {
            id: id_of(&d.id),
            exclusion_type: t,
            value,
            list: d.contact_list_name.as_deref().and_then(normalize::lower),
            start: instant_field("startTime", d.start_time.as_deref())?,
            end: instant_field("endTime", d.end_time.as_deref())?,
        })
    }
}

// ---------------------------------------------------------------- CCT

/// One weekly window: minutes since local midnight; `end` may be 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Bit 0 = Monday … bit 6 = Sunday.
    pub days: u8,
    pub start: u16,
    pub end: u16,
}

impl Window {
    pub fn has_day(&self, weekday_from_monday: u32) -> bool {
        self.days & (1 << weekday_from_monday) != 0
    }
    /// Runs past midnight (SPEC §5): end ≤ start (equal = 24 hours).
    pub fn overnight(&self) -> bool {
        self.end <= self.start
    }
}

/// Parses `HH:MM` (two digits each); `24:00` only when `allow_24`.
pub fn parse_hhmm(s: &str, allow_24: bool) -> Option<u16> {
    let b = s.trim().as_bytes();
    if b.len() != 5 || b[2] != b':' || !b.iter().enumerate().all(|(i, c)| i == 2 || c.is_ascii_digit()) {
        return None;
    }
    let h = ((b[0] - b'0') * 10 + (b[1] - b'0')) as u16;
    let m = ((b[3] - b'0') * 10 + (b[4] - b'0')) as u16;
    match (h, m) {
        (24, 0) if allow_24 => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

pub fn day_bit(d: DayOfWeek) -> u8 {
    1 << (d as u8)
}

impl TryFrom<&WindowDto> for Window {
    type Error = FieldError;
    fn try_from(w: &WindowDto) -> R<Self> {
        let mut days = 0u8;
        for d in w.day_of_week.iter().flatten() {
            let day = DayOfWeek::parse(d).ok_or_else(|| {
                FieldError::new("convenientTimes.dayOfWeek", format!("unknown day '{d}' (expected Monday..Sunday)"))
            })?;
            days |= day_bit(day);
        }
        let hm = |field: &str, v: &Option<String>, allow_24: bool| -> R<u16> {
            let s = v.as_deref().unwrap_or("");
            parse_hhmm(s, allow_24).ok_or_else(|| FieldError::new(field, format!("'{s}' is not a time of day HH:MM")))
        };
        Ok(Window {
            days,
            start: hm("convenientTimes.startTime", &w.start_time, false)?,
            end: hm("convenientTimes.endTime", &w.end_time, true)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConvenientContactTime {
    pub id: Option<String>,
    pub key_type: ContactKeyType,
    /// Trimmed, case kept.
    pub key: String,
    pub value_type: ContactValueType,
    /// Normalised by value type; `None` = channel-wide (or `All`).
    pub value: Option<String>,
    pub end: Option<DateTime<Utc>>,
    pub windows: Vec<Window>,
}

impl ConvenientContactTime {
    /// The identity of SPEC §12 (key type, key, value type, normalised value).
    pub fn identity(&self) -> (ContactKeyType, String, ContactValueType, Option<String>) {
        (self.key_type, self.key.clone(), self.value_type, self.value.clone())
    }
}

impl TryFrom<&CctDto> for ConvenientContactTime {
    type Error = FieldError;
    fn try_from(d: &CctDto) -> R<Self> {
        let v3 = d.contact_key_type.is_none() && (d.customer.is_some() || d.phone.is_some());
        let (key_type, key_raw, value_type, value_raw, key_field) = if v3 {
            (ContactKeyType::Customer, d.customer.as_deref(), ContactValueType::Voice, d.phone.as_deref(), "customer")
        } else {
            let kt = enum_field(
                "contactKeyType",
                d.contact_key_type.as_deref(),
                ContactKeyType::parse,
                ContactKeyType::expected(),
            )?;
            let vt = enum_field(
                "contactValueType",
                d.contact_value_type.as_deref(),
                ContactValueType::parse,
                ContactValueType::expected(),
            )?;
            (kt, d.contact_key.as_deref(), vt, d.contact_value.as_deref(), "contactKey")
        };
        let key = key_raw.and_then(normalize::trimmed).ok_or_else(|| FieldError::new(key_field, "is required"))?;
        let value = match value_type.channel() {
            None => {
                if let Some(v) = normalize::present(value_raw) {
                    return Err(FieldError::new(
                        "contactValue",
                        format!("must be empty for contactValueType All (got '{v}')"),
                    ));
                }
                None
            }
            Some(ch) => value_raw.and_then(|v| normalize::address(ch, v)),
        };
        let windows = d.convenient_times.iter().flatten().map(Window::try_from).collect::<R<Vec<_>>>()?;
        Ok(ConvenientContactTime {
            id: id_of(&d.id),
            key_type,
            key,
            value_type,
            value,
            end: instant_field("endTime", d.end_time.as_deref())?,
            windows,
        })
    }
}

// ---------------------------------------------------------------- trackers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackerKind {
    Attempt,
    Message,
}

/// An attempt tracker (SPEC §7) or message tracker (SPEC §9): same counting rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracker {
    pub id: Option<String>,
    pub name: Option<String>,
    pub kind: TrackerKind,
    pub tracker_type: TrackerType,
    pub number_of_attempts: u32,
    pub threshold_type: ThresholdType,
    pub threshold: u32,
    /// Lower-cased filter lists; empty = no filter.
    pub dispositions: Vec<String>,
    pub number_types: Vec<i64>,
    pub geocodes: Vec<String>,
    pub purposes: Vec<String>,
    /// The channel set C.
    pub channels: ChannelSet,
    pub across: bool,
    pub enabled: bool,
    pub action: ThresholdActionType,
}

struct CommonTracker<'a> {
    id: &'a Option<String>,
    type_of_tracker: &'a Option<String>,
    number_of_attempts: &'a Option<Value>,
    threshold_type: &'a Option<String>,
    threshold: &'a Option<Value>,
    dispositions: &'a Option<Vec<String>>,
    number_types: &'a Option<Vec<Value>>,
    geocodes: &'a Option<Vec<String>>,
    purposes: &'a Option<Vec<String>>,
    enabled: Option<bool>,
}

fn common_tracker(c: CommonTracker<'_>, name: Option<String>, kind: TrackerKind) -> R<Tracker> {
    let tracker_type =
        enum_field("typeOfTracker", c.type_of_tracker.as_deref(), TrackerType::parse, TrackerType::expected())?;
    let threshold_type =
        enum_field("thresholdType", c.threshold_type.as_deref(), ThresholdType::parse, ThresholdType::expected())?;
    let n = int_value("numberOfAttempts", c.number_of_attempts.as_ref())?
        .ok_or_else(|| FieldError::new("numberOfAttempts", "is required"))?;
    if n < 0 {
        return Err(FieldError::new("numberOfAttempts", format!("{n} is negative")));
    }
    let threshold = match int_value("threshold", c.threshold.as_ref())? {
        Some(t) if t < 1 => return Err(FieldError::new("threshold", format!("{t} is less than 1"))),
        Some(t) => t,
        None if threshold_type.is_current() => 1,
        None => return Err(FieldError::new("threshold", "is required")),
    };
    let mut number_types = Vec::new();
    for v in c.number_types.iter().flatten() {
        if let Some(i) = int_value("numberTypes", Some(v))? {
            number_types.push(i);
        }
    }
    Ok(Tracker {
        id: id_of(c.id),
        name,
        kind,
        tracker_type,
        number_of_attempts: n.min(u32::MAX as i64) as u32,
        threshold_type,
        threshold: threshold.min(u32::MAX as i64) as u32,
        dispositions: lower_list(c.dispositions),
        number_types,
        geocodes: lower_list(c.geocodes),
        purposes: lower_list(c.purposes),
        channels: ChannelSet::ALL,
        across: true,
        enabled: c.enabled.unwrap_or(true),
        action: ThresholdActionType::NoPlayMessage,
    })
}

impl TryFrom<&AttemptTrackerDto> for Tracker {
    type Error = FieldError;
    fn try_from(d: &AttemptTrackerDto) -> R<Self> {
        let mut t = common_tracker(
            CommonTracker {
                id: &d.id,
                type_of_tracker: &d.type_of_tracker,
                number_of_attempts: &d.number_of_attempts,
                threshold_type: &d.threshold_type,
                threshold: &d.threshold,
                dispositions: &d.dispositions,
                number_types: &d.number_types,
                geocodes: &d.geocodes,
                purposes: &d.purposes,
                enabled: d.enabled,
            },
            d.attempt_tracker_name.as_deref().and_then(normalize::trimmed),
            TrackerKind::Attempt,
        )?;
        let v3 =
            d.contact_channels.is_none() && d.across_contact_channels.is_none() && d.exclude_contact_channels.is_none();
        if !v3 {
            let mut listed = ChannelSet::default();
            for c in d.contact_channels.iter().flatten() {
                let ch = Channel::parse(c).ok_or_else(|| {
                    FieldError::new(
                        "contactChannels",
                        format!("unknown channel '{c}' (expected {})", Channel::expected()),
                    )
                })?;
                listed.insert(ch);
            }
            let exclude = d.exclude_contact_channels.unwrap_or(false);
            t.channels = if exclude { listed.complement() } else { listed };
            if t.channels.is_empty() {
                return Err(FieldError::new(
                    "contactChannels",
                    if exclude {
                        "excludes every channel: the channel set is empty"
                    } else {
                        "must not be empty when excludeContactChannels is false"
                    },
                ));
            }
            t.across = d.across_contact_channels.unwrap_or(false);
        }
        Ok(t)
    }
}

impl TryFrom<&MessageTrackerDto> for Tracker {
    type Error = FieldError;
    fn try_from(d: &MessageTrackerDto) -> R<Self> {
        let mut t = common_tracker(
            CommonTracker {
                id: &d.id,
                type_of_tracker: &d.type_of_tracker,
                number_of_attempts: &d.number_of_attempts,
                threshold_type: &d.threshold_type,
                threshold: &d.threshold,
                dispositions: &d.dispositions,
                number_types: &d.number_types,
                geocodes: &d.geocodes,
                purposes: &d.purposes,
                enabled: d.enabled,
            },
            d.message_tracker_name.as_deref().and_then(normalize::trimmed),
            TrackerKind::Message,
        )?;
        if let Some(a) = normalize::present(d.threshold_action_type.as_deref()) {
            t.action = ThresholdActionType::parse(a).ok_or_else(|| {
                FieldError::new(
                    "thresholdActionType",
                    format!("unknown value '{a}' (expected {})", ThresholdActionType::expected()),
                )
            })?;
        }
        Ok(t)
    }
}

// ---------------------------------------------------------------- quota

#[derive(Debug, Clone, PartialEq)]
pub struct QuotaControl {
    pub id: Option<String>,
    /// Lower-cased product name (unique, case-insensitive).
    pub product: String,
    pub total_quota: i64,
    pub product_sold: i64,
}

impl QuotaControl {
    pub fn available(&self) -> i64 {
        self.total_quota.saturating_sub(self.product_sold)
    }
}

impl TryFrom<&QuotaControlDto> for QuotaControl {
    type Error = FieldError;
    fn try_from(d: &QuotaControlDto) -> R<Self> {
        let product =
            d.product.as_deref().and_then(normalize::lower).ok_or_else(|| FieldError::new("product", "is required"))?;
        let total_quota = int_value("totalQuota", d.total_quota.as_ref())?
            .ok_or_else(|| FieldError::new("totalQuota", "is required"))?;
        let product_sold = int_value("productSold", d.product_sold.as_ref())?.unwrap_or(0);
        Ok(QuotaControl { id: id_of(&d.id), product, total_quota, product_sold })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(v: Value) -> R<Tracker> {
        Tracker::try_from(&serde_json::from_value::<AttemptTrackerDto>(v).unwrap())
    }

    #[test]
    fn hhmm_strict() {
        assert_eq!(parse_hhmm("09:30", false), Some(570));
        assert_eq!(parse_hhmm("24:00", true), Some(1440));
        assert_eq!(parse_hhmm("24:00", false), None);
        assert_eq!(parse_hhmm("9:30", false), None);
        assert_eq!(parse_hhmm("12:60", true), None);
    }

    #[test]
    fn v3_tracker_is_all_channels_across() {
        let t = at(json!({"id":"a","attemptTrackerName":"x","typeOfTracker":"CustomerPhone",
            "numberOfAttempts":3,"thresholdType":"Day","threshold":1}))
        .unwrap();
        assert_eq!(t.tracker_type, TrackerType::CustomerContactAddress);
        assert_eq!(t.channels, ChannelSet::ALL);
        assert!(t.across);
    }

    #[test]
    fn v4_channel_sets_and_refusals() {
        let t = at(json!({"typeOfTracker":"Account","numberOfAttempts":1,"thresholdType":"Hour","threshold":2,
            "contactChannels":["voice"],"excludeContactChannels":true}))
        .unwrap();
        assert_eq!(t.channels.channels().collect::<Vec<_>>(), vec![Channel::Sms, Channel::Email]);
        assert!(!t.across);
        let e = at(json!({"typeOfTracker":"Account","numberOfAttempts":1,"thresholdType":"Hour","threshold":2,
            "contactChannels":[],"excludeContactChannels":false}))
        .unwrap_err();
        assert_eq!(e.field, "contactChannels");
        let e = at(json!({"typeOfTracker":"Account","numberOfAttempts":1,"thresholdType":"Hour","threshold":0}))
            .unwrap_err();
        assert_eq!(e.field, "threshold");
        let e = at(json!({"typeOfTracker":"Account","numberOfAttempts":-1,"thresholdType":"Hour","threshold":1}))
            .unwrap_err();
        assert_eq!(e.field, "numberOfAttempts");
        let e =
            at(json!({"typeOfTracker":"Acct","numberOfAttempts":1,"thresholdType":"Hour","threshold":1})).unwrap_err();
        assert_eq!(e.field, "typeOfTracker");
    }

    #[test]
    fn cct_v3_maps_to_customer_voice() {
        let d: CctDto = serde_json::from_value(json!({"id":"c","customer":" C1 ","phone":"(555) 010-2030",
            "convenientTimes":[{"dayOfWeek":["Monday"],"startTime":"09:00","endTime":"17:00"}]}))
        .unwrap();
        let c = ConvenientContactTime::try_from(&d).unwrap();
        assert_eq!(
            (c.key_type, c.key.as_str(), c.value_type),
            (ContactKeyType::Customer, "C1", ContactValueType::Voice)
        );
        assert_eq!(c.value.as_deref(), Some("5550102030"));
        assert_eq!(c.windows, vec![Window { days: 1, start: 540, end: 1020 }]);
    }

    #[test]
    fn cct_all_with_value_is_refused() {
        let d: CctDto = serde_json::from_value(json!({"contactKeyType":"Account","contactKey":"A",
            "contactValueType":"All","contactValue":"x"}))
        .unwrap();
        assert_eq!(ConvenientContactTime::try_from(&d).unwrap_err().field, "contactValue");
    }

    #[test]
    fn exclusion_values_normalised_by_type() {
        let d: ExclusionDto = serde_json::from_value(json!({"exclusionType":"sms","exclusionValue":"+1 555-010-2030",
            "contactListName":" Sales "}))
        .unwrap();
        let e = Exclusion::try_from(&d).unwrap();
        assert_eq!(
            (e.exclusion_type, e.value.as_str(), e.list.as_deref()),
            (ExclusionType::Sms, "15550102030", Some("sales"))
        );
        let d: ExclusionDto = serde_json::from_value(json!({"exclusionType":"Voice","exclusionValue":"none"})).unwrap();
        assert_eq!(Exclusion::try_from(&d).unwrap_err().field, "exclusionValue");
    }
}

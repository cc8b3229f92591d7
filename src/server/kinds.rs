//! The five rule kinds of the API as data: their paths, `kind` names, list
//! filters (SPEC §13: every documented query filter), and how a body becomes
//! a validated domain rule (SPEC §10).

use serde_json::{Map, Value};

use crate::io::rules::dto_from_value;
use crate::model::dto::*;
use crate::model::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Exclusion,
    AttemptTracker,
    Cct,
    Quota,
    MessageTracker,
}

/// How one query parameter filters a collection.
#[derive(Debug, Clone, Copy)]
pub enum Filter {
    /// Case-insensitive equality of a text field.
    Text(&'static str),
    /// An enum: the parameter must parse with the function, and is compared in
    /// the spelling it returns (the one items are stored in).
    Enum(&'static str, fn(&str) -> Option<&'static str>),
    /// A contact value: equal as text, or as digits when both have digits.
    Address(&'static str),
    Int(&'static str),
    Bool(&'static str),
    /// Comma-separated values; an item matches when its list holds any of them.
    List(&'static str),
    /// Same, each value an enum as for `Enum`.
    EnumList(&'static str, fn(&str) -> Option<&'static str>),
    /// Inclusive lower / upper bound of an instant field.
    From(&'static str),
    To(&'static str),
}

const META_FILTERS: [(&str, Filter); 5] = [
    ("fromCreationTime", Filter::From("creationTime")),
    ("toCreationTime", Filter::To("creationTime")),
    ("fromLastModifiedTime", Filter::From("lastModifiedTime")),
    ("toLastModifiedTime", Filter::To("lastModifiedTime")),
    ("lastModifiedBy", Filter::Text("lastModifiedBy")),
];

const EXCLUSION_FILTERS: &[(&str, Filter)] = &[
    ("exclusionType", Filter::Enum("exclusionType", ExclusionType::spelling)),
    ("exclusionValue", Filter::Address("exclusionValue")),
    ("contactListName", Filter::Text("contactListName")),
    ("fromStartTime", Filter::From("startTime")),
    ("toStartTime", Filter::To("startTime")),
    ("fromEndTime", Filter::From("endTime")),
    ("toEndTime", Filter::To("endTime")),
];

const TRACKER_COMMON: &[(&str, Filter)] = &[
    ("typeOfTracker", Filter::Enum("typeOfTracker", TrackerType::spelling)),
    ("numberOfAttempts", Filter::Int("numberOfAttempts")),
    ("threshold", Filter::Int("threshold")),
    ("thresholdType", Filter::Enum("thresholdType", ThresholdType::spelling)),
    ("dispositions", Filter::List("dispositions")),
    ("numberTypes", Filter::List("numberTypes")),
    ("geocodes", Filter::List("geocodes")),
    ("purposes", Filter::List("purposes")),
    ("enabled", Filter::Bool("enabled")),
];

const ATTEMPT_TRACKER_FILTERS: &[(&str, Filter)] = &[
    ("attemptTrackerName", Filter::Text("attemptTrackerName")),
    ("attemptTrackerDescription", Filter::Text("attemptTrackerDescription")),
    ("contactChannels", Filter::EnumList("contactChannels", Channel::spelling)),
];

const MESSAGE_TRACKER_FILTERS: &[(&str, Filter)] = &[
    ("messageTrackerName", Filter::Text("messageTrackerName")),
    ("messageTrackerDescription", Filter::Text("messageTrackerDescription")),
    ("thresholdActionType", Filter::Enum("thresholdActionType", ThresholdActionType::spelling)),
];

const CCT_FILTERS: &[(&str, Filter)] = &[
    ("contactKeyType", Filter::Enum("contactKeyType", ContactKeyType::spelling)),
    ("contactKey", Filter::Text("contactKey")),
    ("contactValueType", Filter::Enum("contactValueType", ContactValueType::spelling)),
    ("contactValue", Filter::Address("contactValue")),
    ("fromEndTime", Filter::From("endTime")),
    ("toEndTime", Filter::To("endTime")),
];

const QUOTA_FILTERS: &[(&str, Filter)] = &[
    ("product", Filter::Text("product")),
    ("productDescription", Filter::Text("productDescription")),
    ("totalQuota", Filter::Int("totalQuota")),
    ("productSold", Filter::Int("productSold")),
    ("unitValue", Filter::Int("unitValue")),
];

pub const ATTEMPT_FILTERS: &[(&str, Filter)] = &[
    ("contactChannel", Filter::Enum("contactChannel", Channel::spelling)),
    ("contactAddress", Filter::Address("contactAddress")),
    ("customer", Filter::Text("customer")),
    ("accountNumber", Filter::Text("accountNumber")),
    ("disposition", Filter::Text("disposition")),
    ("numberType", Filter::Int("numberType")),
    ("geocodes", Filter::List("geocodes")),
    ("purpose", Filter::Text("purpose")),
    ("timeZone", Filter::Text("timeZone")),
    ("fromTimeOfContact", Filter::From("timeOfContact")),
    ("toTimeOfContact", Filter::To("timeOfContact")),
    ("status", Filter::Enum("status", AttemptStatus::spelling)),
    ("fromCreationTime", Filter::From("creationTime")),
    ("toCreationTime", Filter::To("creationTime")),
    ("fromLastModifiedTime", Filter::From("lastModifiedTime")),
    ("toLastModifiedTime", Filter::To("lastModifiedTime")),
    ("lastModifiedBy", Filter::Text("lastModifiedBy")),
];

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Exclusion, Kind::AttemptTracker, Kind::Cct, Kind::Quota, Kind::MessageTracker];

    /// The path segment, the collection field and the store's kind name.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Exclusion => "exclusions",
            Kind::AttemptTracker => "attemptTrackers",
            Kind::Cct => "convenientContactTimes",
            Kind::Quota => "quotaControls",
            Kind::MessageTracker => "messageTrackers",
        }
    }

    pub fn from_plural(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.plural() == s)
    }

    pub fn item_kind(self) -> &'static str {
        match self {
            Kind::Exclusion => "via#exclusion",
            Kind::AttemptTracker => "via#attemptTracker",
            Kind::Cct => "via#convenientContactTime",
            Kind::Quota => "via#quotaControl",
            Kind::MessageTracker => "via#messageTracker",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Kind::Exclusion => "exclusion",
            Kind::AttemptTracker => "attemptTracker",
            Kind::Cct => "convenientContactTime",
            Kind::Quota => "quotaControl",
            Kind::MessageTracker => "messageTracker",
        }
    }

    pub fn filters(self) -> Vec<(&'static str, Filter)> {
        let specific: Vec<(&str, Filter)> = match self {
            Kind::Exclusion => EXCLUSION_FILTERS.to_vec(),
            Kind::AttemptTracker => [ATTEMPT_TRACKER_FILTERS, TRACKER_COMMON].concat(),
            Kind::MessageTracker => [MESSAGE_TRACKER_FILTERS, TRACKER_COMMON].concat(),
            Kind::Cct => CCT_FILTERS.to_vec(),
            Kind::Quota => QUOTA_FILTERS.to_vec(),
        };
        [specific, META_FILTERS.to_vec()].concat()
    }
}

/// A validated rule: its canonical body (the DTO's fields) and domain value.
#[derive(Debug, Clone)]
pub enum Rule {
    Exclusion(Exclusion),
    Tracker(Tracker),
    Cct(ConvenientContactTime),
    Quota(QuotaControl),
}

/// Fields the server owns: never taken from a body.
pub const SERVER_FIELDS: [&str; 6] = ["id", "kind", "version", "creationTime", "lastModifiedTime", "lastModifiedBy"];

fn canonical<T: serde::Serialize>(dto: &T) -> Map<String, Value> {
    match serde_json::to_value(dto) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// Validates a body (without server fields) as `kind`; returns its canonical
/// fields and the domain rule (with `id`).
pub fn validate(kind: Kind, body: &Map<String, Value>, id: &str) -> Result<(Map<String, Value>, Rule), FieldError> {
    let mut v = body.clone();
    for f in SERVER_FIELDS {
        v.remove(f);
    }
    v.insert("id".into(), Value::String(id.to_string()));
    let v = Value::Object(v);
    let (mut fields, rule) = match kind {
        Kind::Exclusion => {
            let d: ExclusionDto = dto_from_value(v)?;
            let r = Exclusion::try_from(&d)?;
            (canonical(&d), Rule::Exclusion(r))
        }
        Kind::AttemptTracker => {
            let d: AttemptTrackerDto = dto_from_value(v)?;
            let r = Tracker::try_from(&d)?;
            (canonical(&d), Rule::Tracker(r))
        }
        Kind::MessageTracker => {
            let d: MessageTrackerDto = dto_from_value(v)?;
            let r = Tracker::try_from(&d)?;
            (canonical(&d), Rule::Tracker(r))
        }
        Kind::Cct => {
            let d: CctDto = dto_from_value(v)?;
            let r = ConvenientContactTime::try_from(&d)?;
            (canonical(&d), Rule::Cct(r))
        }
        Kind::Quota => {
            let d: QuotaControlDto = dto_from_value(v)?;
            let r = QuotaControl::try_from(&d)?;
            (canonical(&d), Rule::Quota(r))
        }
    };
    for f in SERVER_FIELDS {
        fields.remove(f);
    }
    respell_enums(kind, &mut fields);
    Ok((fields, rule))
}

/// Enum values are parsed case-insensitively and written in the API's
/// spelling (SPEC §2): a stored item shows `Voice` whether `voice`, `VOICE`
/// or the alias `Phone` was sent, so the list filters (which compare the
/// same spellings) find it. Runs after validation, so every value parses.
fn respell_enums(kind: Kind, fields: &mut Map<String, Value>) {
    use crate::model::enums::DayOfWeek;
    type Spell = fn(&str) -> Option<&'static str>;
    fn respell(v: &mut Value, spell: Spell) {
        match v {
            Value::String(s) => {
                if let Some(t) = spell(s) {
                    *s = t.to_string();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| respell(i, spell)),
            _ => {}
        }
    }
    let top: &[(&str, Spell)] = match kind {
        Kind::Exclusion => &[("exclusionType", ExclusionType::spelling)],
        Kind::Cct => &[("contactKeyType", ContactKeyType::spelling), ("contactValueType", ContactValueType::spelling)],
        Kind::AttemptTracker => &[
            ("contactChannels", Channel::spelling),
            ("typeOfTracker", TrackerType::spelling),
            ("thresholdType", ThresholdType::spelling),
        ],
        Kind::MessageTracker => &[
            ("typeOfTracker", TrackerType::spelling),
            ("thresholdType", ThresholdType::spelling),
            ("thresholdActionType", ThresholdActionType::spelling),
        ],
        Kind::Quota => &[],
    };
    for (name, spell) in top {
        if let Some(v) = fields.get_mut(*name) {
            respell(v, *spell);
        }
    }
    if kind == Kind::Cct {
        if let Some(Value::Array(windows)) = fields.get_mut("convenientTimes") {
            for w in windows {
                if let Some(d) = w.get_mut("dayOfWeek") {
                    // Short names are a load-file convenience (§12); the API spells days out.
                    respell(d, DayOfWeek::spelling);
                }
            }
        }
    }
}

/// The domain rule of a stored item (already validated when it was written).
pub fn rule_of(kind: Kind, item: &Map<String, Value>) -> Result<Rule, FieldError> {
    let id = item.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    validate(kind, item, &id).map(|(_, r)| r)
}

/// An item as the API shows it: every field of the reference's response shape is
/// present, one the client never sent with the value it acts with (SPEC §7:
/// `enabled` true; a tracker sent without channel fields counts every channel
/// across channels; a message tracker's action `NoPlayMessage`), else null. Only
/// responses and list filters see this; the stored text stays as sent, so a
/// tracker stored without channel fields keeps its v3 reading, and the shown
/// fields, sent back in a PUT, mean the same thing.
pub fn shown(k: Kind, mut item: Map<String, Value>) -> Map<String, Value> {
    let absent = |item: &Map<String, Value>, f: &str| item.get(f).is_none_or(Value::is_null);
    let set = |item: &mut Map<String, Value>, f: &str, v: Value| {
        if absent(item, f) {
            item.insert(f.to_string(), v);
        }
    };
    let null = || Value::Null;
    set(&mut item, "locale", null());
    let tracker_fields = ["dispositions", "numberTypes", "geocodes", "purposes"];
    match k {
        Kind::Exclusion => {
            for f in ["contactListName", "reason", "startTime", "endTime"] {
                set(&mut item, f, null());
            }
        }
        Kind::Cct => {
            for f in ["contactValue", "reason", "endTime"] {
                set(&mut item, f, null());
            }
        }
        Kind::Quota => {
            for f in ["productDescription", "unitValue"] {
                set(&mut item, f, null());
            }
            set(&mut item, "productSold", 0.into());
        }
        Kind::AttemptTracker => {
            let v3 =
                ["contactChannels", "acrossContactChannels", "excludeContactChannels"].iter().all(|f| absent(&item, f));
            if v3 {
                set(&mut item, "contactChannels", serde_json::json!(["Voice", "SMS", "Email"]));
                set(&mut item, "acrossContactChannels", true.into());
            }
            set(&mut item, "contactChannels", Value::Array(Vec::new()));
            set(&mut item, "acrossContactChannels", false.into());
            set(&mut item, "excludeContactChannels", false.into());
            set(&mut item, "attemptTrackerDescription", null());
            for f in tracker_fields {
                set(&mut item, f, null());
            }
            set(&mut item, "enabled", true.into());
        }
        Kind::MessageTracker => {
            set(&mut item, "messageTrackerDescription", null());
            set(&mut item, "thresholdActionType", "NoPlayMessage".into());
            for f in tracker_fields {
                set(&mut item, f, null());
            }
            set(&mut item, "enabled", true.into());
        }
    }
    item
}

impl Kind {
    /// Whether every field [`shown`] adds is null for this kind (then a list filter,
    /// which no null matches, gives the same answer on the stored item).
    pub fn shown_defaults_are_null(self) -> bool {
        matches!(self, Kind::Exclusion | Kind::Cct)
    }
}

/// A configuration as the API shows it: never-changed ones show null for who
/// and when.
pub fn shown_config(mut item: Map<String, Value>) -> Map<String, Value> {
    for f in ["locale", "lastModifiedTime", "lastModifiedBy"] {
        item.entry(f).or_insert(Value::Null);
    }
    item
}

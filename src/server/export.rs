//! Domain rules back to API bodies, for `scrub load`: the loaders of
//! `scrub run` parse and validate every file format (JSON, CSV/Parquet
//! exclusions, act, cct), then each surviving rule is stored as the item the
//! API would have created. Values are stored in their normal form (SPEC §2),
//! which is what matching uses; the original spelling is not kept.

use serde_json::{json, Map, Value};

use crate::model::*;
use crate::time::format_instant;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn t(x: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    x.map(|x| Value::String(format_instant(x))).unwrap_or(Value::Null)
}

const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

pub fn exclusion(e: &Exclusion) -> Map<String, Value> {
    obj(json!({
        "exclusionType": e.exclusion_type.as_str(),
        "exclusionValue": e.value,
        "contactListName": e.list,
        "startTime": t(e.start),
        "endTime": t(e.end),
    }))
}

pub fn cct(c: &ConvenientContactTime) -> Map<String, Value> {
    let windows: Vec<Value> = c
        .windows
        .iter()
        .map(|w| {
            let days: Vec<&str> = (0..7).filter(|d| w.has_day(*d)).map(|d| DAYS[d as usize]).collect();
            json!({"dayOfWeek": days, "startTime": hhmm(w.start), "endTime": hhmm(w.end)})
        })
        .collect();
    obj(json!({
        "contactKeyType": c.key_type.as_str(),
        "contactKey": c.key,
        "contactValueType": c.value_type.as_str(),
        "contactValue": c.value,
        "endTime": t(c.end),
        "convenientTimes": windows,
    }))
}

pub fn quota(q: &QuotaControl) -> Map<String, Value> {
    obj(json!({"product": q.product, "totalQuota": q.total_quota, "productSold": q.product_sold}))
}

pub fn tracker(tr: &Tracker) -> Map<String, Value> {
    let mut m = obj(json!({
        "typeOfTracker": tr.tracker_type.as_str(),
        "numberOfAttempts": tr.number_of_attempts,
        "thresholdType": tr.threshold_type.as_str(),
        "threshold": tr.threshold,
        "dispositions": tr.dispositions,
        "numberTypes": tr.number_types,
        "geocodes": tr.geocodes,
        "purposes": tr.purposes,
        "enabled": tr.enabled,
    }));
    match tr.kind {
        TrackerKind::Attempt => {
            m.insert("attemptTrackerName".into(), json!(tr.name));
            let ch: Vec<&str> = tr.channels.channels().map(|c| c.as_str()).collect();
            m.insert("contactChannels".into(), json!(ch));
            m.insert("acrossContactChannels".into(), json!(tr.across));
            m.insert("excludeContactChannels".into(), json!(false));
        }
        TrackerKind::Message => {
            m.insert("messageTrackerName".into(), json!(tr.name));
            m.insert("thresholdActionType".into(), json!(tr.action.as_str()));
        }
    }
    m
}

//! `scrub load`: bulk-imports the files `scrub run` reads into the store, one
//! transaction per file, so a server picks them up on its next start.

use std::path::Path;

use serde_json::{Map, Value};

use super::export;
use super::kinds::Kind;
use super::org::ConfigKind;
use super::store::{self, AttemptRow};
use crate::engine::history::{HistoryBuilder, NONE, NO_NUMBER_TYPE};
use crate::engine::RuleSet;
use crate::io::history::{load_history, HistoryLoadReport};
use crate::io::rules::{load_rules, RuleLoadOptions, RuleLoadReport};
use crate::time::format_instant;

/// Counts per kind for one load.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadCounts {
    pub exclusions: usize,
    pub convenient_contact_times: usize,
    pub quota_controls: usize,
    pub attempt_trackers: usize,
    pub message_trackers: usize,
    pub contact_attempts: usize,
    /// Of `contact_attempts`, those stored with status Disabled (they never count, SPEC §7).
    pub disabled_attempts: usize,
    pub configurations: usize,
}

fn stamp(mut m: Map<String, Value>, kind: &str, id: String, now: &str) -> (String, String) {
    m.insert("id".into(), id.clone().into());
    m.insert("kind".into(), kind.into());
    m.insert("version".into(), 1.into());
    m.insert("creationTime".into(), now.into());
    m.insert("lastModifiedTime".into(), now.into());
    m.insert("lastModifiedBy".into(), "scrub load".into());
    (id, Value::Object(m).to_string())
}

fn id_or_new(id: &Option<String>) -> String {
    id.clone().unwrap_or_else(super::org::new_id)
}

/// Imports one rules file or folder (act/cct semantics apply within it).
pub fn load_rules_file(
    conn: &mut rusqlite::Connection,
    org: &str,
    path: &Path,
    skip_bad_rules: bool,
    counts: &mut LoadCounts,
) -> anyhow::Result<RuleLoadReport> {
    let mut rules = RuleSet::default();
    rules.no_compact = true;
    let mut report = RuleLoadReport::default();
    load_rules(path, &mut rules, RuleLoadOptions { skip_bad_rules }, &mut report)?;
    let now = format_instant(chrono::Utc::now());
    let tx = conn.transaction()?;
    let put = |k: Kind, m: Map<String, Value>, id: &Option<String>| -> rusqlite::Result<()> {
        let (id, text) = stamp(m, k.item_kind(), id_or_new(id), &now);
        store::put_entity(&tx, org, k.plural(), &id, &text)
    };
    for e in rules.exclusions() {
        put(Kind::Exclusion, export::exclusion(e), &e.id)?;
        counts.exclusions += 1;
    }
    for c in &rules.ccts {
        put(Kind::Cct, export::cct(c), &c.id)?;
        counts.convenient_contact_times += 1;
    }
    for q in &rules.quotas {
        put(Kind::Quota, export::quota(q), &q.id)?;
        counts.quota_controls += 1;
    }
    for t in &rules.attempt_trackers {
        put(Kind::AttemptTracker, export::tracker(t), &t.id)?;
        counts.attempt_trackers += 1;
    }
    for t in &rules.message_trackers {
        put(Kind::MessageTracker, export::tracker(t), &t.id)?;
        counts.message_trackers += 1;
    }
    tx.commit()?;
    Ok(report)
}

/// Imports one history file or folder (CSV, Parquet, cet).
pub fn load_history_file(
    conn: &mut rusqlite::Connection,
    org: &str,
    path: &Path,
    counts: &mut LoadCounts,
) -> anyhow::Result<HistoryLoadReport> {
    let mut b = HistoryBuilder::keeping_disabled();
    let mut report = HistoryLoadReport::default();
    load_history(path, &mut b, &mut report)?;
    let h = b.build();
    counts.disabled_attempts += h.disabled;
    let (addr, cust, acct) = (h.addresses.names(), h.customers.names(), h.accounts.names());
    let (disp, purp, geo) = (h.dispositions.names(), h.purposes.names(), h.geocodes.names());
    let name = |v: &Vec<&str>, id: u32| (id != NONE).then(|| v[id as usize].to_string());
    let now_ms = chrono::Utc::now().timestamp_millis();
    let tx = conn.transaction()?;
    let mut uncounted = h.uncounted.iter().peekable();
    for i in 0..h.len() {
        let disabled = uncounted.next_if(|&&u| u as usize == i).is_some();
        let geos: Vec<&str> = h.geocodes_of(i).iter().map(|&g| geo[g as usize]).collect();
        let nt = h.number_type[i];
        let row = AttemptRow {
            seq: 0,
            id: super::org::new_id(),
            channel: h.channel_of(i).as_str().to_string(),
            address: name(&addr, h.addr[i]),
            customer: name(&cust, h.cust[i]),
            account: name(&acct, h.acct[i]),
            time_ms: h.time[i].div_euclid(1_000_000),
            disposition: name(&disp, h.disposition[i]),
            number_type: (nt != NO_NUMBER_TYPE).then_some(nt),
            purpose: name(&purp, h.purpose[i]),
            geocodes: (!geos.is_empty()).then(|| geos.join(",")),
            status: if disabled { "Disabled" } else { "Enabled" }.into(),
            version: 1,
            created_ms: now_ms,
            modified_ms: now_ms,
            modified_by: "scrub load".into(),
            ..Default::default()
        };
        store::insert_attempt(&tx, org, &row)?;
        counts.contact_attempts += 1;
    }
    tx.commit()?;
    Ok(report)
}

/// Imports a configuration JSON (`scrub run --config` format): each of the four
/// objects replaces the stored one (version + 1).
pub fn load_config_file(
    conn: &mut rusqlite::Connection,
    org: &str,
    path: &Path,
    counts: &mut LoadCounts,
) -> anyhow::Result<()> {
    crate::io::load_config(path)?; // validates (ranges, names the field)
    let v: Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let now = format_instant(chrono::Utc::now());
    let tx = conn.transaction()?;
    for ck in ConfigKind::ALL {
        let Some(Value::Object(given)) = v.get(ck.plural()) else { continue };
        let old: Option<String> = tx
            .query_row(
                "SELECT json FROM entities WHERE org = ?1 AND kind = ?2 AND id = 'config'",
                rusqlite::params![org, ck.store_kind()],
                |r| r.get(0),
            )
            .ok();
        let version = old
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|o| o.get("version").and_then(Value::as_i64))
            .unwrap_or(1)
            + 1;
        let mut m = ck.defaults();
        for (k, x) in given {
            m.insert(k.clone(), x.clone());
        }
        m.insert("version".into(), version.into());
        m.insert("lastModifiedTime".into(), now.clone().into());
        m.insert("lastModifiedBy".into(), "scrub load".into());
        store::put_entity(&tx, org, ck.store_kind(), "config", &Value::Object(m).to_string())?;
        counts.configurations += 1;
    }
    tx.commit()?;
    Ok(())
}

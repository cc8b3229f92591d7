//! One tenant: its stored items, its engine and its active records, and every
//! mutation the API can make to them. A mutation is committed to the store
//! first, then applied to the in-memory engine (incrementally: one exclusion
//! re-indexed, one attempt appended), all under the org's write lock, so a
//! response is only sent for state that is both durable and visible.

use std::collections::BTreeMap;
use std::sync::RwLock;

use ahash::AHashMap;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::active::ActiveSet;
use super::error::{ApiError, ApiResult};
use super::kinds::{rule_of, validate, Kind, Rule};
use super::store::{self, AttemptRow, Store};
use crate::engine::exclusions::{ExclusionIndex, Registry};
use crate::engine::history::HistoryBuilder;
use crate::engine::{Engine, RuleSet};
use crate::model::dto::{ConfigurationDto, ContactAttemptDto, ExclusionDto};
use crate::model::rules::int_value;
use crate::model::{Attempt, AttemptStatus, Config, Exclusion, FieldError};
use crate::time::{format_instant, parse_instant};

/// Stored items of one kind in creation order, as their JSON text (a
/// million exclusions stay compact; an item is parsed when it is read).
#[derive(Debug, Default)]
pub struct Items {
    by_seq: BTreeMap<u64, Box<str>>,
    seq_of: AHashMap<Box<str>, u64>,
    next: u64,
}

pub fn parse_item(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

impl Items {
    pub fn get(&self, id: &str) -> Option<Map<String, Value>> {
        self.seq_of.get(id).and_then(|s| self.by_seq.get(s)).map(|t| parse_item(t))
    }
    fn put_text(&mut self, id: &str, text: Box<str>) {
        match self.seq_of.get(id) {
            Some(s) => {
                self.by_seq.insert(*s, text);
            }
            None => {
                self.next += 1;
                self.seq_of.insert(id.into(), self.next);
                self.by_seq.insert(self.next, text);
            }
        }
    }
    fn remove(&mut self, id: &str) -> Option<Box<str>> {
        let s = self.seq_of.remove(id)?;
        self.by_seq.remove(&s)
    }
    /// The items' stored texts, oldest first.
    pub fn texts(&self) -> impl Iterator<Item = &str> + '_ {
        self.by_seq.values().map(|t| &**t)
    }
    pub fn iter(&self) -> impl Iterator<Item = Map<String, Value>> + '_ {
        self.by_seq.values().map(|t| parse_item(t))
    }
    pub fn len(&self) -> usize {
        self.by_seq.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }
}

/// The four configuration objects (SPEC §7–§8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    AttemptTrackers,
    MessageTrackers,
    Exclusions,
    Ccts,
}

impl ConfigKind {
    pub const ALL: [ConfigKind; 4] =
        [ConfigKind::AttemptTrackers, ConfigKind::MessageTrackers, ConfigKind::Exclusions, ConfigKind::Ccts];
    /// The path segment before `/configurations`, and the key in a `--config` file.
    pub fn plural(self) -> &'static str {
        match self {
            ConfigKind::AttemptTrackers => "attemptTrackers",
            ConfigKind::MessageTrackers => "messageTrackers",
            ConfigKind::Exclusions => "exclusions",
            ConfigKind::Ccts => "convenientContactTimes",
        }
    }
    pub fn from_plural(s: &str) -> Option<ConfigKind> {
        ConfigKind::ALL.into_iter().find(|k| k.plural() == s)
    }
    pub fn store_kind(self) -> &'static str {
        match self {
            ConfigKind::AttemptTrackers => "config.attemptTrackers",
            ConfigKind::MessageTrackers => "config.messageTrackers",
            ConfigKind::Exclusions => "config.exclusions",
            ConfigKind::Ccts => "config.convenientContactTimes",
        }
    }
    fn from_store_kind(s: &str) -> Option<ConfigKind> {
        ConfigKind::ALL.into_iter().find(|k| k.store_kind() == s)
    }
    pub fn item_kind(self) -> &'static str {
        match self {
            ConfigKind::AttemptTrackers => "via#attemptTrackerConfiguration",
            ConfigKind::MessageTrackers => "via#messageTrackerConfiguration",
            ConfigKind::Exclusions => "via#exclusionConfiguration",
            ConfigKind::Ccts => "via#convenientContactTimeConfiguration",
        }
    }
    /// The fields a PATCH may set.
    fn fields(self) -> &'static [&'static str] {
        match self {
            ConfigKind::AttemptTrackers => &[
                "locale",
                "excludeFromContactAddressRule",
                "excludedContactAddresses",
                "enableActiveRecordFeature",
                "lifeTimeOfActiveRecord",
                "minutesToWaitAfterActiveRestriction",
            ],
            ConfigKind::MessageTrackers => &["locale", "excludeFromContactAddressRule", "excludedContactAddresses"],
            ConfigKind::Exclusions => &["locale", "retainDays", "retainNoEndTime"],
            ConfigKind::Ccts => &["locale", "retainDays"],
        }
    }
    /// The configuration object with the API's defaults (version 1).
    pub fn defaults(self) -> Map<String, Value> {
        let v = match self {
            ConfigKind::AttemptTrackers => json!({
                "excludeFromContactAddressRule": [], "excludedContactAddresses": [],
                "enableActiveRecordFeature": true, "lifeTimeOfActiveRecord": 120,
                "minutesToWaitAfterActiveRestriction": 10}),
            ConfigKind::MessageTrackers => json!({"excludeFromContactAddressRule": [], "excludedContactAddresses": []}),
            ConfigKind::Exclusions => json!({"retainDays": 14, "retainNoEndTime": false}),
            ConfigKind::Ccts => json!({"retainDays": 14}),
        };
        let Value::Object(mut m) = v else { unreachable!() };
        m.insert("kind".into(), self.item_kind().into());
        m.insert("version".into(), 1.into());
        m
    }
}

fn config_from(configs: &[Map<String, Value>; 4]) -> Result<Config, FieldError> {
    let part = |i: usize| {
        let mut m = configs[i].clone();
        for f in ["kind", "version", "lastModifiedTime", "lastModifiedBy", "creationTime"] {
            m.remove(f);
        }
        Value::Object(m)
    };
    let v = json!({
        "attemptTrackers": part(0), "messageTrackers": part(1),
        "exclusions": part(2), "convenientContactTimes": part(3),
    });
    let dto: ConfigurationDto = serde_json::from_value(v).map_err(|e| FieldError::new("(body)", e.to_string()))?;
    Config::try_from(&dto)
}

/// An org's configurations as stored (defaults where never set), read
/// without loading the org (`scrub purge`).
pub fn stored_config(store: &Store, org: &str) -> anyhow::Result<Config> {
    let mut configs = ConfigKind::ALL.map(|k| k.defaults());
    for (kind, _, text) in store.small_entities(org)? {
        if let Some(ck) = ConfigKind::from_store_kind(&kind) {
            configs[ck as usize] = parse_item(&text);
        }
    }
    config_from(&configs).map_err(|e| anyhow::anyhow!("store: org {org} config: {e}"))
}

/// Seq ranges splitting `lo..=hi` for parallel scans (a span's width bounds
/// its rows; in a shared store the scans skip other orgs' rows).
fn ranges(lo: i64, hi: i64) -> Vec<(i64, i64)> {
    // Many more ranges than threads: they scan at different speeds, and the
    // last one left would otherwise run alone (half a second of a start).
    let parts = if hi - lo + 1 < 100_000 { 1 } else { (rayon::current_num_threads() * 16) as i64 };
    let step = ((hi - lo + 1) / parts).max(1);
    (0..parts)
        .map(|p| (lo + p * step, if p == parts - 1 { hi } else { lo + (p + 1) * step - 1 }))
        .filter(|(a, b)| a <= b)
        .collect()
}

/// The exclusion fields evaluation needs (a lean parse of the stored item).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeanExclusion {
    id: Option<String>,
    exclusion_type: Option<String>,
    exclusion_value: Option<String>,
    contact_list_name: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
}

fn exclusions_from_store(store: &Store, org: &str) -> anyhow::Result<ExclusionIndex> {
    use rayon::prelude::*;
    let kind = Kind::Exclusion.plural();
    let (lo, hi) = store.entity_span(org, kind)?;
    let parts = ranges(lo, hi)
        .par_iter()
        .map(|&(a, b)| {
            let mut v = Vec::new();
            let mut err = None;
            store.scan_entity_range(org, kind, a, b, |text| {
                let r = serde_json::from_str::<LeanExclusion>(text).map_err(|e| e.to_string()).and_then(|l| {
                    let d = ExclusionDto {
                        id: l.id,
                        exclusion_type: l.exclusion_type,
                        exclusion_value: l.exclusion_value,
                        contact_list_name: l.contact_list_name,
                        start_time: l.start_time,
                        end_time: l.end_time,
                        ..Default::default()
                    };
                    Exclusion::try_from(&d).map_err(|e| e.to_string())
                });
                match r {
                    Ok(e) => {
                        v.push(e);
                        true
                    }
                    Err(e) => {
                        err = Some(anyhow::anyhow!("store: org {org}: exclusion: {e}"));
                        false
                    }
                }
            })?;
            err.map_or(Ok(v), Err)
        })
        .collect::<anyhow::Result<Vec<Vec<Exclusion>>>>()?;
    // Indexed here, while the history still loads on the other side of the
    // join (this was a serial second at the end of a start), and straight
    // from the list: each stored exclusion is its own rule (no act-file
    // identity merging), and none goes to the compact registry set, which
    // cannot take a removal.
    Ok(ExclusionIndex::new(parts.concat(), Registry::default()))
}

/// The org's history, and (seq, history index) of each enabled attempt.
fn history_from_store(store: &Store, org: &str) -> anyhow::Result<(crate::engine::History, Vec<(i64, u32)>)> {
    use rayon::prelude::*;
    let hb = HistoryBuilder::default();
    let (lo, hi) = store.attempt_span(org)?;
    let groups = ranges(lo, hi)
        .par_iter()
        .map(|&(a, b)| {
            let mut g = hb.new_group_with_capacity((b - a + 1).max(0) as usize);
            let mut seqs = Vec::new();
            let mut err = None;
            store.scan_history(org, a, b, |seq, at| match g.push(at, std::iter::empty()) {
                Ok(()) => {
                    if at.status == Some("Enabled") {
                        seqs.push(seq);
                    }
                    true
                }
                Err(e) => {
                    err = Some(anyhow::anyhow!("store: org {org}: attempt seq {seq}: {e}"));
                    false
                }
            })?;
            err.map_or(Ok((g, seqs)), Err)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let t_build = std::time::Instant::now();
    let mut hb = hb;
    let mut hidx = Vec::new();
    for (g, seqs) in groups {
        let base = hidx.len() as u32;
        hidx.extend(seqs.into_iter().enumerate().map(|(i, s)| (s, base + i as u32)));
        hb.add_group(g);
    }
    let h = hb.build();
    if std::env::var_os("SCRUB_TIMINGS").is_some() {
        eprintln!("scrub serve: org {org}: history indexed in {:?} after its scan", t_build.elapsed());
    }
    Ok((h, hidx))
}

/// `f()` and how long it took (for `SCRUB_TIMINGS`).
fn timed<T>(f: impl FnOnce() -> T) -> (T, std::time::Duration) {
    let t = std::time::Instant::now();
    (f(), t.elapsed())
}

/// Everything of one org behind its lock.
#[derive(Debug)]
pub struct OrgInner {
    pub engine: Engine,
    items: [Items; 5],
    configs: [Map<String, Value>; 4],
    /// History index of each enabled stored attempt, by store seq: loaded ones
    /// (sorted) and ones appended or re-enabled since.
    hidx: Vec<(i64, u32)>,
    hidx_extra: crate::engine::intmap::IntMap<i64, u32>,
}

/// Lock order: `mutations`, then `inner`, then `active`.
#[derive(Debug)]
pub struct Org {
    pub name: String,
    /// Orders this org's mutations, so one can commit to the store without
    /// holding `inner` exclusively (checks keep running). Every mutation takes
    /// it exclusively except a contact attempt that moves no quota
    /// ([`NewAttempt::moves_quota`]): such attempts commute (each is a new row
    /// and one more history entry), so they share it and join one group
    /// commit instead of queueing for each other's. Async: it is held across
    /// the store commit, which the writer thread runs.
    pub mutations: tokio::sync::RwLock<()>,
    pub inner: RwLock<OrgInner>,
    pub active: RwLock<ActiveSet>,
}

/// Who made a change and when (stamped on items).
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub user: &'a str,
    pub now: DateTime<Utc>,
}

fn kind_ix(k: Kind) -> usize {
    k as usize
}

fn stamp(item: &mut Map<String, Value>, kind: &str, version: i64, created: &str, a: &Actor<'_>) {
    item.insert("kind".into(), kind.into());
    item.insert("version".into(), version.into());
    item.insert("creationTime".into(), created.into());
    item.insert("lastModifiedTime".into(), format_instant(a.now).into());
    item.insert("lastModifiedBy".into(), a.user.into());
}

pub fn version_of(body: &Map<String, Value>) -> ApiResult<Option<i64>> {
    int_value("version", body.get("version")).map_err(ApiError::field)
}

/// SPEC §13: a body's `version`, when given, must be the stored one (else 409).
fn expect_version(body: &Map<String, Value>, current: i64) -> ApiResult<()> {
    match version_of(body)? {
        Some(v) if v != current => {
            Err(ApiError::conflict("version", format!("version {v} is not the stored version {current}")))
        }
        _ => Ok(()),
    }
}

/// [`expect_version`] against a stored item; returns its version.
fn check_version(body: &Map<String, Value>, stored: &Map<String, Value>) -> ApiResult<i64> {
    let current = stored.get("version").and_then(Value::as_i64).unwrap_or(1);
    expect_version(body, current)?;
    Ok(current)
}

/// The attempt in a contact-attempt body, validated, with its store row.
pub struct NewAttempt {
    pub dto: ContactAttemptDto,
    pub number_type: Option<String>,
    pub geocodes_text: Option<String>,
    pub geocodes_list: Vec<String>,
}

impl NewAttempt {
    pub fn parse(body: &Map<String, Value>, now: DateTime<Utc>) -> ApiResult<NewAttempt> {
        let mut b = body.clone();
        for f in super::kinds::SERVER_FIELDS {
            b.remove(f);
        }
        let mut dto: ContactAttemptDto = crate::io::rules::dto_from_value(Value::Object(b))?;
        if crate::normalize::present(dto.time_of_contact.as_deref()).is_none() {
            dto.time_of_contact = Some(format_instant(now));
        } else if let Some(t) = dto.time_of_contact.as_deref().and_then(parse_instant) {
            dto.time_of_contact = Some(format_instant(t));
        }
        let number_type = match &dto.number_type {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(ApiError::bad_request("numberType", format!("{other} is not an integer"))),
        };
        let (geocodes_text, geocodes_list) = match &dto.geocodes {
            None | Some(Value::Null) => (None, vec![]),
            Some(Value::String(s)) => (Some(s.clone()), vec![]),
            Some(Value::Array(a)) => {
                let mut v = Vec::new();
                for x in a {
                    match x {
                        Value::String(s) => v.push(s.clone()),
                        Value::Null => {}
                        other => return Err(ApiError::bad_request("geocodes", format!("{other} is not a string"))),
                    }
                }
                (None, v)
            }
            Some(other) => return Err(ApiError::bad_request("geocodes", format!("{other} is not a list of strings"))),
        };
        let na = NewAttempt { dto, number_type, geocodes_text, geocodes_list };
        let a = na.attempt();
        a.channel()?;
        a.instant()?;
        a.enabled()?;
        a.number_type()?;
        int_value("productSold", na.dto.product_sold.as_ref())?;
        Ok(na)
    }

    pub fn attempt(&self) -> Attempt<'_> {
        Attempt::from_dto(&self.dto, self.number_type.as_deref(), self.geocodes_text.as_deref())
    }

    /// Whether saving it adds to a product's quota (SPEC §6): a product and a
    /// productSold other than 0.
    pub fn moves_quota(&self) -> bool {
        let sold = int_value("productSold", self.dto.product_sold.as_ref()).ok().flatten().unwrap_or(0);
        sold != 0 && crate::normalize::present(self.dto.product.as_deref()).is_some()
    }

    fn row(&self, id: &str, actor: &Actor<'_>) -> AttemptRow {
        let a = self.attempt();
        let geos: Vec<&str> = self
            .geocodes_text
            .iter()
            .map(String::as_str)
            .chain(self.geocodes_list.iter().map(String::as_str))
            .collect();
        let now_ms = actor.now.timestamp_millis();
        let text = |v: &Option<String>| v.as_deref().and_then(|s| crate::normalize::present(Some(s))).map(String::from);
        AttemptRow {
            seq: 0,
            id: id.to_string(),
            channel: a.channel().map(|c| c.as_str().to_string()).unwrap_or_default(),
            address: text(&self.dto.contact_address),
            customer: text(&self.dto.customer),
            account: text(&self.dto.account_number),
            time_ms: a.instant().map(|t| t.timestamp_millis()).unwrap_or(now_ms),
            time_zone: text(&self.dto.time_zone),
            disposition: text(&self.dto.disposition),
            number_type: a.number_type().ok().flatten(),
            purpose: text(&self.dto.purpose),
            geocodes: (!geos.is_empty()).then(|| geos.join(",")),
            status: if a.enabled().unwrap_or(true) { "Enabled" } else { "Disabled" }.to_string(),
            reason: text(&self.dto.reason),
            product: text(&self.dto.product),
            product_sold: int_value("productSold", self.dto.product_sold.as_ref()).ok().flatten(),
            locale: text(&self.dto.meta.locale),
            key: text(&self.dto.key),
            version: 1,
            created_ms: now_ms,
            modified_ms: now_ms,
            modified_by: actor.user.to_string(),
        }
    }
}

/// The history view of a stored attempt.
fn attempt_of<'a>(r: &'a AttemptRow, status: &'a str) -> Attempt<'a> {
    Attempt {
        contact_channel: Some(&r.channel),
        contact_address: r.address.as_deref(),
        customer: r.customer.as_deref(),
        account_number: r.account.as_deref(),
        time_of_contact: None,
        time: Some(r.time()),
        disposition: r.disposition.as_deref(),
        number_type: None,
        purpose: r.purpose.as_deref(),
        geocodes: r.geocodes.as_deref(),
        status: Some(status),
        number_type_int: r.number_type,
    }
}

impl OrgInner {
    pub fn empty() -> OrgInner {
        let configs = ConfigKind::ALL.map(|k| k.defaults());
        OrgInner {
            engine: Engine::new(RuleSet::default(), HistoryBuilder::default().build(), Config::default()),
            items: Default::default(),
            configs,
            hidx: Vec::new(),
            hidx_extra: Default::default(),
        }
    }

    /// Rebuilds an org from the store (server start). Exclusions and attempts
    /// can number millions: both are read by seq ranges on parallel
    /// connections, and the two run side by side.
    pub fn load(store: &Store, org: &str) -> anyhow::Result<OrgInner> {
        let t0 = std::time::Instant::now();
        let mut inner = OrgInner::empty();
        for (kind, id, text) in store.small_entities(org)? {
            if let Some(ck) = ConfigKind::from_store_kind(&kind) {
                inner.configs[ck as usize] = parse_item(&text);
            } else if let Some(k) = Kind::from_plural(&kind) {
                inner.items[kind_ix(k)].put_text(&id, text.into());
            }
        }
        let config = config_from(&inner.configs).map_err(|e| anyhow::anyhow!("store: org {org} config: {e}"))?;
        let ((exclusions, t_excl), (history, t_hist)) =
            rayon::join(|| timed(|| exclusions_from_store(store, org)), || timed(|| history_from_store(store, org)));
        let (exclusions, (mut history, hidx)) = (exclusions?, history?);
        history.reserve(history.len().max(1 << 20));
        inner.hidx = hidx;
        let t_read = t0.elapsed();
        inner.engine = Engine::with_exclusions(exclusions, RuleSet::default(), history, config);
        inner.refresh(Kind::Cct);
        inner.refresh(Kind::Quota);
        inner.refresh(Kind::AttemptTracker);
        if std::env::var_os("SCRUB_TIMINGS").is_some() {
            eprintln!(
                "scrub serve: org {org}: read {:?} (exclusions {:?}, history {:?}, side by side), index {:?}",
                t_read,
                t_excl,
                t_hist,
                t0.elapsed() - t_read
            );
        }
        Ok(inner)
    }

    /// Forgets what a retention purge removed from the store (SPEC §13).
    pub fn forget_purged(&mut self, plan: &super::retention::Plan) {
        for e in &plan.exclusions {
            self.engine.exclusions.remove(e);
        }
        if !plan.ccts.is_empty() {
            for id in &plan.ccts {
                self.items[kind_ix(Kind::Cct)].remove(id);
            }
            self.refresh(Kind::Cct);
        }
    }

    /// One stored item (exclusions are read from the store: a million of them
    /// stay out of memory; the engine holds their domain form).
    pub fn get_item(&self, store: &Store, org: &str, k: Kind, id: &str) -> ApiResult<Option<Map<String, Value>>> {
        if k == Kind::Exclusion {
            return Ok(store.entity(org, k.plural(), id)?.map(|t| parse_item(&t)));
        }
        Ok(self.items(k).get(id))
    }

    /// Every stored item of a kind in creation order, as its stored JSON text
    /// (a filtered list parses only the fields its filters read); `f` returns
    /// false to stop.
    pub fn scan_texts(&self, store: &Store, org: &str, k: Kind, mut f: impl FnMut(&str) -> bool) -> ApiResult<()> {
        if k == Kind::Exclusion {
            store.scan_entities(org, k.plural(), f)?;
            return Ok(());
        }
        for t in self.items(k).texts() {
            if !f(t) {
                break;
            }
        }
        Ok(())
    }

    /// An unfiltered list page: the kind's item count and the `max` items
    /// from the `start`th on, in [`OrgInner::scan_texts`]'s order, reading only
    /// those (a million stored exclusions are counted, not parsed).
    pub fn page_items(
        &self,
        store: &Store,
        org: &str,
        k: Kind,
        start: usize,
        max: usize,
    ) -> ApiResult<(usize, Vec<Map<String, Value>>)> {
        if k == Kind::Exclusion {
            let mut page = Vec::new();
            let total = store.entity_page(org, k.plural(), start, max, |t| page.push(parse_item(t)))?;
            return Ok((total, page));
        }
        let items = self.items(k);
        Ok((items.len(), items.texts().skip(start).take(max).map(parse_item).collect()))
    }

    fn remember(&mut self, k: Kind, id: &str, text: String) {
        if k != Kind::Exclusion {
            self.items[kind_ix(k)].put_text(id, text.into());
        }
    }

    pub fn items(&self, k: Kind) -> &Items {
        &self.items[kind_ix(k)]
    }

    pub fn config_item(&self, k: ConfigKind) -> &Map<String, Value> {
        &self.configs[k as usize]
    }

    fn rules(&self, k: Kind) -> impl Iterator<Item = Rule> + '_ {
        self.items[kind_ix(k)].iter().filter_map(move |i| rule_of(k, &i).ok())
    }

    /// Re-derives the engine's view of a small rule kind from the items.
    fn refresh(&mut self, k: Kind) {
        match k {
            Kind::Exclusion => {}
            Kind::Cct => {
                let v = self.rules(k).filter_map(|r| if let Rule::Cct(c) = r { Some(c) } else { None }).collect();
                self.engine.set_ccts(v);
            }
            Kind::Quota => {
                let v = self.rules(k).filter_map(|r| if let Rule::Quota(q) = r { Some(q) } else { None }).collect();
                self.engine.set_quotas(v);
            }
            Kind::AttemptTracker | Kind::MessageTracker => {
                let pick =
                    |k| self.rules(k).filter_map(|r| if let Rule::Tracker(t) = r { Some(t) } else { None }).collect();
                let (a, m) = (pick(Kind::AttemptTracker), pick(Kind::MessageTracker));
                self.engine.set_trackers(a, m);
            }
        }
    }

    fn apply(&mut self, k: Kind, old: Option<Rule>, new: Option<Rule>) {
        if k == Kind::Exclusion {
            if let Some(Rule::Exclusion(o)) = old {
                self.engine.exclusions.remove(&o);
            }
            if let Some(Rule::Exclusion(n)) = new {
                self.engine.exclusions.insert(n);
            }
        } else {
            self.refresh(k);
        }
    }

    /// Ids of the stored items with `rule`'s identity: an exclusion's type, normalised
    /// value and list, a CCT's key type, key, value type and value, a quota's product
    /// (SPEC §3, §12); none for the other kinds. POST upserts on it, PUT refuses a twin.
    fn twins(&self, rule: &Rule) -> Vec<String> {
        match rule {
            Rule::Exclusion(e) => self
                .engine
                .exclusions
                .with_identity(e.exclusion_type, &e.value, e.list.as_deref())
                .filter_map(|o| o.id.clone())
                .collect(),
            Rule::Cct(c) => self
                .rules(Kind::Cct)
                .filter_map(|r| match r {
                    Rule::Cct(o) if o.identity() == c.identity() => o.id,
                    _ => None,
                })
                .collect(),
            Rule::Quota(q) => self
                .rules(Kind::Quota)
                .filter_map(|r| match r {
                    Rule::Quota(o) if o.product == q.product => o.id,
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// POST: create, or (exclusions, CCTs) update the item with the same identity.
    /// Returns (created?, item).
    pub fn create(
        &mut self,
        store: &Store,
        org: &str,
        k: Kind,
        body: &Map<String, Value>,
        actor: &Actor<'_>,
    ) -> ApiResult<(bool, Map<String, Value>)> {
        let id = new_id();
        let (fields, rule) = validate(k, body, &id)?;
        // Identity upserts (API: exclusions by type/value/list when endTime is later; CCTs by key and value).
        let existing = match &rule {
            Rule::Quota(q) if !self.twins(&rule).is_empty() => {
                return Err(ApiError::conflict(
                    "product",
                    format!("a quota control for product '{}' already exists", q.product),
                ));
            }
            Rule::Exclusion(_) | Rule::Cct(_) => self.twins(&rule).into_iter().next(),
            _ => None,
        };
        if let Some(old_id) = existing {
            let stored = self.get_item(store, org, k, &old_id)?.ok_or_else(|| ApiError::internal("identity index"))?;
            if let (Rule::Exclusion(n), Ok(Rule::Exclusion(o))) = (&rule, rule_of(k, &stored)) {
                let later = match (o.end, n.end) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(a), Some(b)) => b > a,
                };
                if !later {
                    return Err(ApiError::conflict(
                        "endTime",
                        format!(
                            "exclusion {old_id} has the same exclusionType, exclusionValue and contactListName and an \
                             endTime that is not earlier; it was left unchanged"
                        ),
                    ));
                }
            }
            // The update keeps the stored item's id.
            let (fields, rule) = validate(k, body, &old_id)?;
            let item = self.replace(store, org, k, &old_id, &stored, fields, rule, actor)?;
            return Ok((false, item));
        }
        let mut item = fields;
        item.insert("id".into(), id.clone().into());
        stamp(&mut item, k.item_kind(), 1, &format_instant(actor.now), actor);
        let text = Value::Object(item.clone()).to_string();
        store.tx(|tx| store::put_entity(tx, org, k.plural(), &id, &text))?;
        self.remember(k, &id, text);
        self.apply(k, None, Some(rule));
        Ok((true, item))
    }

    #[allow(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        store: &Store,
        org: &str,
        k: Kind,
        id: &str,
        stored: &Map<String, Value>,
        fields: Map<String, Value>,
        rule: Rule,
        actor: &Actor<'_>,
    ) -> ApiResult<Map<String, Value>> {
        let version = stored.get("version").and_then(Value::as_i64).unwrap_or(1) + 1;
        let created = stored.get("creationTime").and_then(Value::as_str).unwrap_or("").to_string();
        let mut item = fields;
        item.insert("id".into(), id.into());
        stamp(&mut item, k.item_kind(), version, &created, actor);
        let text = Value::Object(item.clone()).to_string();
        store.tx(|tx| store::put_entity(tx, org, k.plural(), id, &text))?;
        let old = rule_of(k, stored).ok();
        self.remember(k, id, text);
        self.apply(k, old, Some(rule));
        Ok(item)
    }

    /// PUT: replace every field of an item (version must match when given).
    pub fn update(
        &mut self,
        store: &Store,
        org: &str,
        k: Kind,
        id: &str,
        body: &Map<String, Value>,
        actor: &Actor<'_>,
    ) -> ApiResult<Map<String, Value>> {
        let stored = self.get_item(store, org, k, id)?.ok_or_else(|| ApiError::not_found(k.singular(), id))?;
        check_version(body, &stored)?;
        let (fields, rule) = validate(k, body, id)?;
        // Identities stay unique (SPEC §3, §5): a PUT may not turn an item into another's
        // twin, or POST's upsert and a CCT tier would have two candidates.
        if let Some(o) = self.twins(&rule).into_iter().find(|o| o != id) {
            let (field, message) = match &rule {
                Rule::Quota(q) => ("product", format!("a quota control for product '{}' already exists", q.product)),
                Rule::Cct(_) => (
                    "contactKey",
                    format!(
                        "convenient contact time {o} has the same contactKeyType, contactKey, contactValueType and \
                         contactValue"
                    ),
                ),
                _ => (
                    "exclusionValue",
                    format!("exclusion {o} has the same exclusionType, exclusionValue and contactListName"),
                ),
            };
            return Err(ApiError::conflict(field, message));
        }
        self.replace(store, org, k, id, &stored, fields, rule, actor)
    }

    pub fn delete(&mut self, store: &Store, org: &str, k: Kind, id: &str) -> ApiResult<()> {
        let stored = self.get_item(store, org, k, id)?.ok_or_else(|| ApiError::not_found(k.singular(), id))?;
        store.tx(|tx| store::delete_entity(tx, org, k.plural(), id))?;
        self.items[kind_ix(k)].remove(id);
        self.apply(k, rule_of(k, &stored).ok(), None);
        Ok(())
    }

    /// PATCH a configuration: the given fields change, the rest stay.
    pub fn patch_config(
        &mut self,
        store: &Store,
        org: &str,
        ck: ConfigKind,
        body: &Map<String, Value>,
        actor: &Actor<'_>,
    ) -> ApiResult<Map<String, Value>> {
        let stored = self.configs[ck as usize].clone();
        let version = check_version(body, &stored)? + 1;
        let mut item = stored;
        for f in ck.fields() {
            if let Some(v) = body.get(*f) {
                item.insert(f.to_string(), v.clone());
            }
        }
        item.insert("kind".into(), ck.item_kind().into());
        item.insert("version".into(), version.into());
        item.insert("lastModifiedTime".into(), format_instant(actor.now).into());
        item.insert("lastModifiedBy".into(), actor.user.into());
        let mut configs = self.configs.clone();
        configs[ck as usize] = item.clone();
        let config = config_from(&configs).map_err(|e| {
            // Name the field as the client sent it (drop our "attemptTrackers." prefix).
            let field = e.field.rsplit('.').next().unwrap_or(&e.field).to_string();
            ApiError::bad_request(field, e.message)
        })?;
        let text = Value::Object(item.clone()).to_string();
        store.tx(|tx| store::put_entity(tx, org, ck.store_kind(), "config", &text))?;
        self.configs = configs;
        self.engine.config = config;
        Ok(item)
    }

    /// Saves a contact attempt (SPEC §8) and, with product and productSold, adds
    /// to that product's quota (SPEC §6), in one transaction.
    /// Phase 1 of saving an attempt (shared lock): its row and the quota change.
    pub fn prepare_attempt(&self, na: &NewAttempt, actor: &Actor<'_>) -> PreparedAttempt {
        let row = na.row(&new_id(), actor);
        let sold = row.product_sold.unwrap_or(0);
        let quota = match (row.product.as_deref(), sold) {
            (Some(p), n) if n != 0 => {
                let p = p.to_lowercase();
                self.items(Kind::Quota).iter().find_map(|mut i| match rule_of(Kind::Quota, &i) {
                    Ok(Rule::Quota(q)) if q.product == p => {
                        i.insert("productSold".into(), q.product_sold.saturating_add(n).into());
                        let v = i.get("version").and_then(Value::as_i64).unwrap_or(1) + 1;
                        i.insert("version".into(), v.into());
                        i.insert("lastModifiedTime".into(), format_instant(actor.now).into());
                        i.insert("lastModifiedBy".into(), actor.user.into());
                        let id = i.get("id").and_then(Value::as_str).unwrap_or("").to_string();
                        Some((id, Value::Object(i).to_string()))
                    }
                    _ => None,
                })
            }
            _ => None,
        };
        PreparedAttempt { row, quota }
    }

    /// Phase 3 (exclusive lock, after the commit): index the attempt, apply the quota.
    pub fn apply_attempt(&mut self, p: PreparedAttempt, seq: i64, na: &NewAttempt) -> ApiResult<Map<String, Value>> {
        let extra = na.geocodes_list.iter().map(String::as_str);
        if let Some(i) = self.engine.append_attempt(&na.attempt(), extra)? {
            self.hidx_extra.insert(seq, i);
        }
        if let Some((qid, text)) = p.quota {
            self.items[kind_ix(Kind::Quota)].put_text(&qid, text.into());
            self.refresh(Kind::Quota);
        }
        Ok(p.row.to_json())
    }

    fn history_index(&self, seq: i64) -> Option<u32> {
        if let Some(&i) = self.hidx_extra.get(&seq) {
            return Some(i);
        }
        self.hidx.binary_search_by_key(&seq, |&(s, _)| s).ok().map(|p| self.hidx[p].1)
    }

    /// PATCH a contact attempt's status / reason; a Disabled attempt stops counting.
    pub fn patch_attempt(
        &mut self,
        store: &Store,
        org: &str,
        id: &str,
        body: &Map<String, Value>,
        actor: &Actor<'_>,
    ) -> ApiResult<Map<String, Value>> {
        let mut row = store.attempt(org, id)?.ok_or_else(|| ApiError::not_found("contactAttempt", id))?;
        expect_version(body, row.version)?;
        // A body that changes nothing PATCH can change (say, a disposition) is
        // refused rather than answered 200 with nothing changed: the caller
        // would believe it had corrected the attempt.
        if !body.contains_key("status") && !body.contains_key("reason") {
            let named: Vec<&str> = body.keys().map(String::as_str).filter(|k| *k != "version").collect();
            let message = if named.is_empty() {
                "nothing to change: PATCH takes status and reason".to_string()
            } else {
                format!("PATCH changes only status and reason, not {}", named.join(", "))
            };
            return Err(ApiError::bad_request(named.first().copied().unwrap_or("body"), message));
        }
        let old_status = row.status.clone();
        match body.get("status") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => match AttemptStatus::parse(s.trim()) {
                Some(st) => row.status = st.as_str().to_string(),
                None => {
                    return Err(ApiError::bad_request(
                        "status",
                        format!("unknown status '{s}' (expected Enabled, Disabled)"),
                    ))
                }
            },
            Some(other) => return Err(ApiError::bad_request("status", format!("{other} is not a string"))),
        }
        match body.get("reason") {
            None => {}
            Some(Value::String(s)) => row.reason = Some(s.clone()),
            Some(Value::Null) => row.reason = None,
            Some(other) => return Err(ApiError::bad_request("reason", format!("{other} is not a string"))),
        }
        row.version += 1;
        row.modified_ms = actor.now.timestamp_millis();
        row.modified_by = actor.user.to_string();
        store.tx(|tx| store::update_attempt(tx, org, &row))?;
        if row.status != old_status {
            let enabled = row.status == "Enabled";
            match self.history_index(row.seq) {
                Some(i) => self.engine.history.set_counted(i, enabled),
                None if enabled => {
                    if let Some(i) = self.engine.append_attempt(&attempt_of(&row, "Enabled"), std::iter::empty())? {
                        self.hidx_extra.insert(row.seq, i);
                    }
                }
                None => {}
            }
        }
        Ok(row.to_json())
    }
}

/// A contact attempt ready to commit: its row and its quota item's new text.
#[derive(Debug)]
pub struct PreparedAttempt {
    pub row: AttemptRow,
    pub quota: Option<(String, String)>,
}

impl PreparedAttempt {
    /// Phase 2 (no org lock), as a job for the store's writer thread: the
    /// attempt and its quota change go to the store together (the used key's
    /// active record goes to the log once they are committed). The job
    /// returns the attempt's seq.
    pub fn write_job(&self, org: &str) -> store::WriteFn {
        let (org, row, quota) = (org.to_string(), self.row.clone(), self.quota.clone());
        Box::new(move |tx| {
            let seq = store::insert_attempt(tx, &org, &row)?;
            if let Some((qid, text)) = &quota {
                store::put_entity(tx, &org, Kind::Quota.plural(), qid, text)?;
            }
            Ok(seq)
        })
    }
}

/// Ids sort by creation time (UUID v7), so store inserts append to the B-tree.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Org {
    pub fn new(name: &str, inner: OrgInner, active: ActiveSet) -> Org {
        Org {
            name: name.to_string(),
            mutations: tokio::sync::RwLock::new(()),
            inner: RwLock::new(inner),
            active: RwLock::new(active),
        }
    }
}

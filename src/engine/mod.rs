//! The evaluator: indexes built once from rules and history, and the pure
//! function [`evaluate`] shared by `scrub run`, `scrub check` and the server.
//!
//! Nothing here reads files, spawns threads or looks at the clock: `now` is an
//! argument. Checks run in the fixed order of SPEC §3 and the first that
//! restricts ends the evaluation.

pub mod cct;
pub mod decision;
pub mod dnc;
pub mod exclusions;
pub mod history;
pub mod intmap;
pub mod keys;
pub mod keyset;
pub mod par;
pub mod trackers;

use ahash::AHashMap;
use chrono::{DateTime, Utc};

pub use decision::{BlockKind, CctTier, Decision, RestrictionType};
pub use history::{History, HistoryBuilder};

use crate::model::{
    Check, Config, ConvenientContactTime, Exclusion, MessageType, QuotaControl, Record, ThresholdActionType, Tracker,
};
use cct::{CctIndex, CctOutcome};
use exclusions::{ExclusionIndex, ExclusionOutcome};
use trackers::CompiledTracker;
pub use trackers::RecordKeys;

/// Rules in load order, with the duplicate-identity replacements of SPEC §3.
#[derive(Debug, Default, Clone)]
pub struct RuleSet {
    exclusions: Vec<Exclusion>,
    ex_dead: Vec<bool>,
    ex_slots: AHashMap<ExclusionIdentity, Vec<usize>>,
    pub ccts: Vec<ConvenientContactTime>,
    pub quotas: Vec<QuotaControl>,
    pub attempt_trackers: Vec<Tracker>,
    pub message_trackers: Vec<Tracker>,
    cct_slots: AHashMap<CctIdentity, usize>,
    /// Registry-style exclusions (permanent, unscoped, id-less Voice) as phone keys.
    registry: keyset::KeyCollector,
    registry_removed: ahash::AHashSet<u64>,
    registry_sets: Vec<std::sync::Arc<dnc::PhoneSet>>,
    /// Keep every exclusion in the general index (for comparisons and debugging).
    pub no_compact: bool,
    quota_slots: AHashMap<String, usize>,
}

/// The identity of an exclusion in act files (SPEC §12): (type, normalised value, list name).
pub type ExclusionIdentity = (crate::model::ExclusionType, String, Option<String>);

/// What an act / cct line did (SPEC §12 stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineOutcome {
    Added,
    Updated,
    Deleted,
    Duplicate,
}

pub type CctIdentity = (crate::model::ContactKeyType, String, crate::model::ContactValueType, Option<String>);

impl RuleSet {
    /// Adds an exclusion as its own interval (exclusions are never merged, SPEC §3).
    /// Registry-style ones go to the compact phone set (same answers, 8 bytes each).
    pub fn add_exclusion(&mut self, e: Exclusion) {
        if let Some(v) = registry_key(&e).filter(|_| !self.no_compact) {
            self.add_registry_key(v);
            return;
        }
        self.add_general_exclusion(e);
    }

    /// Adds a permanent, unscoped, id-less Voice exclusion by its phone key.
    pub fn add_registry_key(&mut self, v: u64) {
        if self.no_compact {
            let value = v.to_string();
            self.add_general_exclusion(Exclusion {
                id: None,
                exclusion_type: crate::model::ExclusionType::Voice,
                value,
                list: None,
                start: None,
                end: None,
            });
            return;
        }
        self.registry.insert(v);
    }

    /// Where parallel bulk loaders add registry keys (each thread through its own
    /// [`keyset::Stager`]); `None` when registry-style rows go to the general index.
    pub fn registry_collector(&self) -> Option<&keyset::KeyCollector> {
        (!self.no_compact).then_some(&self.registry)
    }

    /// Adds a prebuilt compact set (`scrub index build`).
    pub fn add_registry_set(&mut self, set: std::sync::Arc<dnc::PhoneSet>) {
        if self.no_compact {
            set.iter().for_each(|v| self.add_registry_key(v));
            return;
        }
        self.registry_sets.push(set);
    }

    fn registry_contains(&mut self, v: u64) -> bool {
        if self.registry_removed.contains(&v) {
            return false;
        }
        self.registry.contains(v) || self.registry_sets.iter().any(|s| s.contains(v))
    }

    /// Before an act line changes an identity held in the compact set, move it
    /// to the general index so identity semantics (SPEC §12) apply unchanged.
    fn materialize(&mut self, id: &ExclusionIdentity) {
        if let (crate::model::ExclusionType::Voice, value, None) = id {
            if let Some(v) = dnc::phone_key(value) {
                if self.registry_contains(v) {
                    self.registry_removed.insert(v);
                    self.add_general_exclusion(Exclusion {
                        id: None,
                        exclusion_type: crate::model::ExclusionType::Voice,
                        value: value.clone(),
                        list: None,
                        start: None,
                        end: None,
                    });
                }
            }
        }
    }

    fn add_general_exclusion(&mut self, e: Exclusion) {
        let id = e.identity();
        self.ex_slots.entry(id).or_default().push(self.exclusions.len());
        self.exclusions.push(e);
        self.ex_dead.push(false);
    }

    /// act `A` (SPEC §12): an existing identity is updated when the new endTime is
    /// later (absent is latest), else the line is a duplicate.
    pub fn upsert_exclusion(&mut self, e: Exclusion) -> LineOutcome {
        let id = e.identity();
        self.materialize(&id);
        let live: Vec<usize> = self
            .ex_slots
            .get(&id)
            .map(|v| v.iter().copied().filter(|&i| !self.ex_dead[i]).collect())
            .unwrap_or_default();
        if live.is_empty() {
            self.add_general_exclusion(e);
            return LineOutcome::Added;
        }
        let later = live.iter().all(|&i| match (self.exclusions[i].end, e.end) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(old), Some(new)) => new > old,
        });
        if !later {
            return LineOutcome::Duplicate;
        }
        for i in live {
            self.ex_dead[i] = true;
        }
        self.add_general_exclusion(e);
        LineOutcome::Updated
    }

    /// act `D`: removes every exclusion with this identity; returns how many.
    pub fn delete_exclusions(&mut self, id: &ExclusionIdentity) -> usize {
        self.materialize(id);
        let mut n = 0;
        for &i in self.ex_slots.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            if !self.ex_dead[i] {
                self.ex_dead[i] = true;
                n += 1;
            }
        }
        n
    }

    /// The exclusions in load order, without deleted ones.
    pub fn exclusions(&self) -> impl Iterator<Item = &Exclusion> {
        self.exclusions.iter().zip(&self.ex_dead).filter(|(_, d)| !**d).map(|(e, _)| e)
    }

    /// Takes every registry number collected so far (prebuilt sets folded in),
    /// with the numbers that act lines moved back to the general index (for
    /// `scrub index build`, which adds number lists and builds one set).
    pub fn take_registry_keys(&mut self) -> (keyset::KeyCollector, ahash::AHashSet<u64>) {
        let keys = std::mem::take(&mut self.registry);
        for s in std::mem::take(&mut self.registry_sets) {
            let mut st = keys.stager();
            s.iter().for_each(|v| st.push(v));
        }
        (keys, std::mem::take(&mut self.registry_removed))
    }

    /// Exclusions held in the general index (not registry-style).
    pub fn general_exclusion_count(&self) -> usize {
        self.exclusions().count()
    }

    /// Takes the exclusions out of the set, indexed: the general index and the
    /// registry's sets. The set keeps its other rules.
    pub fn take_exclusion_index(&mut self) -> ExclusionIndex {
        ExclusionIndex::new(self.take_exclusions(), self.take_registry())
    }

    fn take_registry(&mut self) -> exclusions::Registry {
        let keys = std::mem::take(&mut self.registry);
        let mut sets: Vec<_> = keys.into_sets(|_| true).into_iter().map(std::sync::Arc::new).collect();
        sets.append(&mut self.registry_sets);
        exclusions::Registry { sets, removed: std::mem::take(&mut self.registry_removed) }
    }

    fn take_exclusions(&mut self) -> Vec<Exclusion> {
        let dead = std::mem::take(&mut self.ex_dead);
        self.ex_slots.clear();
        std::mem::take(&mut self.exclusions).into_iter().zip(dead).filter(|(_, d)| !d).map(|(e, _)| e).collect()
    }

    /// Adds a CCT; one with the identity of an earlier one replaces it. Returns true if it replaced.
    pub fn add_cct(&mut self, c: ConvenientContactTime) -> bool {
        match self.cct_slots.get(&c.identity()) {
            Some(&i) => {
                self.ccts[i] = c;
                true
            }
            None => {
                self.cct_slots.insert(c.identity(), self.ccts.len());
                self.ccts.push(c);
                false
            }
        }
    }

    /// Adds a quota control; one with the product of an earlier one replaces it.
    pub fn add_quota(&mut self, q: QuotaControl) -> bool {
        match self.quota_slots.get(&q.product) {
            Some(&i) => {
                self.quotas[i] = q;
                true
            }
            None => {
                self.quota_slots.insert(q.product.clone(), self.quotas.len());
                self.quotas.push(q);
                false
            }
        }
    }

    /// Removes the CCT with this identity (act/cct `D` lines). True if one was removed.
    pub fn remove_cct(&mut self, identity: &CctIdentity) -> bool {
        let Some(i) = self.cct_slots.remove(identity) else {
            return false;
        };
        self.ccts.remove(i);
        for slot in self.cct_slots.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        true
    }

    pub fn add_tracker(&mut self, t: Tracker) {
        match t.kind {
            crate::model::TrackerKind::Attempt => self.attempt_trackers.push(t),
            crate::model::TrackerKind::Message => self.message_trackers.push(t),
        }
    }
}

/// The span of history any loaded tracker can count at `now`: attempts
/// outside it are never counted (SPEC §7 windows end at now and start no
/// earlier than [`trackers::earliest_window_start`] in any zone), so a loader
/// may drop them. No enabled tracker → an empty span.
pub fn history_window(rules: &RuleSet, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = rules
        .attempt_trackers
        .iter()
        .chain(&rules.message_trackers)
        .filter(|t| t.enabled)
        .map(|t| trackers::earliest_window_start(t, now))
        .min();
    match from {
        Some(f) => (f, now),
        None => (now + chrono::Duration::nanoseconds(1), now),
    }
}

/// The phone key of a registry-style exclusion: Voice, no id, no list, no start, no end.
fn registry_key(e: &Exclusion) -> Option<u64> {
    if e.exclusion_type == crate::model::ExclusionType::Voice
        && e.id.is_none()
        && e.list.is_none()
        && e.start.is_none()
        && e.end.is_none()
    {
        dnc::phone_key(&e.value)
    } else {
        None
    }
}

/// Everything an evaluation needs, immutable once built and shared by reference.
#[derive(Debug)]
pub struct Engine {
    pub exclusions: ExclusionIndex,
    pub ccts: CctIndex,
    quotas: Vec<QuotaControl>,
    quota_by_product: AHashMap<String, u32>,
    attempt_trackers: Vec<CompiledTracker>,
    message_trackers: Vec<CompiledTracker>,
    pub history: History,
    pub config: Config,
}

impl Engine {
    pub fn new(mut rules: RuleSet, history: History, config: Config) -> Engine {
        let exclusions = rules.take_exclusion_index();
        Engine::with_exclusions(exclusions, rules, history, config)
    }

    /// An engine whose exclusions were indexed beforehand (the server indexes
    /// a store's million exclusions while its history loads); `rules` must
    /// hold no exclusions.
    pub fn with_exclusions(exclusions: ExclusionIndex, rules: RuleSet, history: History, config: Config) -> Engine {
        debug_assert!(rules.exclusions.is_empty() && rules.registry_sets.is_empty(), "exclusions indexed twice");
        let quota_by_product = rules.quotas.iter().enumerate().map(|(i, q)| (q.product.clone(), i as u32)).collect();
        let compile = |v: Vec<Tracker>| v.into_iter().map(|t| CompiledTracker::new(t, &history)).collect();
        Engine {
            exclusions,
            ccts: CctIndex::new(rules.ccts),
            quotas: rules.quotas,
            quota_by_product,
            attempt_trackers: compile(rules.attempt_trackers),
            message_trackers: compile(rules.message_trackers),
            history,
            config,
        }
    }

    /// Replaces the CCTs (REST; a few thousand rules index in well under a millisecond).
    pub fn set_ccts(&mut self, ccts: Vec<ConvenientContactTime>) {
        self.ccts = CctIndex::new(ccts);
    }

    /// Replaces the quota controls.
    pub fn set_quotas(&mut self, quotas: Vec<QuotaControl>) {
        self.quota_by_product = quotas.iter().enumerate().map(|(i, q)| (q.product.clone(), i as u32)).collect();
        self.quotas = quotas;
    }

    /// Replaces the attempt and message trackers, compiled against the history.
    pub fn set_trackers(&mut self, attempt: Vec<Tracker>, message: Vec<Tracker>) {
        self.attempt_trackers = attempt.into_iter().map(|t| CompiledTracker::new(t, &self.history)).collect();
        self.message_trackers = message.into_iter().map(|t| CompiledTracker::new(t, &self.history)).collect();
    }

    /// Recompiles tracker filters after history interned new names.
    pub fn recompile_trackers(&mut self) {
        let a = std::mem::take(&mut self.attempt_trackers).into_iter().map(|c| c.rule).collect();
        let m = std::mem::take(&mut self.message_trackers).into_iter().map(|c| c.rule).collect();
        self.set_trackers(a, m);
    }

    /// Adds one attempt to the history (REST), keeping tracker filters current.
    pub fn append_attempt<'a>(
        &mut self,
        a: &crate::model::Attempt<'a>,
        extra_geocodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<u32>, crate::model::FieldError> {
        let r = self.history.append(a, extra_geocodes)?;
        if r.new_names {
            self.recompile_trackers();
        }
        Ok(r.index)
    }

    pub fn quota_count(&self) -> usize {
        self.quotas.len()
    }
    pub fn attempt_tracker_count(&self) -> usize {
        self.attempt_trackers.len()
    }
    pub fn message_tracker_count(&self) -> usize {
        self.message_trackers.len()
    }
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// The server's live active records (SPEC §8), as the evaluator sees them.
pub trait ActiveRecords {
    /// The block for `rec`: an unexpired active record with a key other than
    /// the record's that shares its address key (unless `skip_address`), else
    /// its customer, else its account.
    fn block(&self, rec: &Record, skip_address: bool, now: DateTime<Utc>) -> Option<BlockKind>;
}

/// The active-record step of [`evaluate_with`] alone (SPEC §8): the block and
/// its end, when the feature is on, the record asks for attempt trackers and
/// another live record shares its address, customer or account. The server
/// runs it again, under its write lock, before it reserves an allowed check,
/// so two concurrent checks cannot both reserve the same contact.
pub fn active_block(
    engine: &Engine,
    rec: &Record,
    now: DateTime<Utc>,
    active: &dyn ActiveRecords,
) -> Option<(RestrictionType, DateTime<Utc>)> {
    if !rec.checks.contains(Check::AttemptTrackers) || !engine.config.enable_active_record_feature {
        return None;
    }
    let ex = &engine.config.attempt;
    let skip_address =
        ex.all.contains(rec.channel, &rec.address) || ex.address_rules.contains(rec.channel, &rec.address);
    let kind = active.block(rec, skip_address, now)?;
    Some((
        RestrictionType::Block(kind),
        now + chrono::Duration::minutes(engine.config.minutes_to_wait_after_active_restriction),
    ))
}

/// Warms the cache for the evaluations of `recs` (batch calls it on a small
/// group of filled records before evaluating them one by one). Only a hint:
/// [`evaluate`] gives the same answers with or without it. When the records
/// count attempts, `keys` receives their history keys (else it is left empty)
/// for [`evaluate_prepared`].
pub fn prefetch(engine: &Engine, recs: &[Record], keys: &mut Vec<RecordKeys>) {
    keys.clear();
    if recs.iter().any(|r| r.checks.contains(Check::Exclusions)) {
        engine.exclusions.prefetch(recs);
    }
    if !engine.history.is_empty() && recs.iter().any(|r| counts(engine, r.checks)) {
        trackers::prefetch(&engine.history, recs, keys);
    }
}

/// Whether records with these checks count attempts (need their history keys).
fn counts(engine: &Engine, checks: crate::model::Checks) -> bool {
    (checks.contains(Check::AttemptTrackers) && !engine.attempt_trackers.is_empty())
        || (checks.contains(Check::MessageTrackers) && !engine.message_trackers.is_empty())
}

/// Evaluates one record at `now` (SPEC §3–§7, §9). Batch has no active records (§8).
pub fn evaluate<'e>(engine: &'e Engine, rec: &Record, now: DateTime<Utc>) -> Decision<'e> {
    evaluate_inner(engine, rec, now, None, None)
}

/// [`evaluate`] with the record's history keys from [`prefetch`] (`None`: looked up here).
pub fn evaluate_prepared<'e>(
    engine: &'e Engine,
    rec: &Record,
    now: DateTime<Utc>,
    keys: Option<RecordKeys>,
) -> Decision<'e> {
    evaluate_inner(engine, rec, now, None, keys)
}

/// [`evaluate`] with the server's active records (SPEC §8): they are looked at
/// in the attempt-tracker step, before counting, when the feature is on.
pub fn evaluate_with<'e>(
    engine: &'e Engine,
    rec: &Record,
    now: DateTime<Utc>,
    active: Option<&dyn ActiveRecords>,
) -> Decision<'e> {
    evaluate_inner(engine, rec, now, active, None)
}

fn evaluate_inner<'e>(
    engine: &'e Engine,
    rec: &Record,
    now: DateTime<Utc>,
    active: Option<&dyn ActiveRecords>,
    keys: Option<RecordKeys>,
) -> Decision<'e> {
    let mut d = Decision::default();
    let checks = rec.checks;
    let mut start: Option<DateTime<Utc>> = None;

    if checks.contains(Check::Exclusions) && !engine.exclusions.is_empty() {
        match engine.exclusions.check(rec, now) {
            ExclusionOutcome::Restricted { rule, end } => {
                d.restriction = Some(exclusions::restriction(rule));
                d.rule_id = rule.id.as_deref();
                d.end = end;
                return d;
            }
            ExclusionOutcome::Allowed { next_start } => start = min_opt(start, next_start),
        }
    }

    if checks.contains(Check::ConvenientContactTimes) && !engine.ccts.is_empty() {
        match engine.ccts.check(rec, now) {
            CctOutcome::Restricted { rule, kind, end } => {
                d.restriction = Some(kind);
                d.rule_id = rule.id.as_deref();
                d.end = end;
                return d;
            }
            CctOutcome::Allowed { next_close } => start = min_opt(start, next_close),
        }
    }

    if checks.contains(Check::QuotaControls) && !rec.product.is_empty() {
        if let Some(&qi) = engine.quota_by_product.get(rec.product.as_str()) {
            let q = &engine.quotas[qi as usize];
            let available = q.available();
            d.available_quota = Some(available);
            if available <= 0 {
                d.restriction = Some(RestrictionType::QuotaExhausted);
                d.rule_id = q.id.as_deref();
                return d;
            }
        }
    }

    let keys = counts(engine, checks).then(|| keys.unwrap_or_else(|| RecordKeys::new(&engine.history, rec)));

    if let Some(active) = active {
        if let Some((restriction, end)) = active_block(engine, rec, now, active) {
            d.restriction = Some(restriction);
            d.end = Some(end);
            return d;
        }
    }

    if checks.contains(Check::AttemptTrackers) {
        let ex = &engine.config.attempt;
        if let (Some(keys), false) = (keys, ex.all.contains(rec.channel, &rec.address)) {
            let mut best: Option<(&Tracker, Option<DateTime<Utc>>)> = None;
            for ct in &engine.attempt_trackers {
                if !trackers::applies(&ct.rule, rec, ex) {
                    continue;
                }
                let r = trackers::evaluate(ct, &engine.history, rec, keys, now);
                if r.hit
                    && best.is_none_or(|(b, be)| decision::beats(be, b.id.as_deref(), r.end, ct.rule.id.as_deref()))
                {
                    best = Some((&ct.rule, r.end));
                }
            }
            if let Some((t, end)) = best {
                d.restriction = Some(RestrictionType::AttemptTracker(t.tracker_type, rec.channel));
                d.rule_id = t.id.as_deref();
                d.rule_name = t.name.as_deref();
                d.end = end;
                return d;
            }
        }
    }

    if checks.contains(Check::MessageTrackers) {
        let ex = &engine.config.message;
        let (mut no_play, mut standard) = (false, false);
        if let (Some(keys), false) = (keys, ex.all.contains(rec.channel, &rec.address)) {
            for ct in &engine.message_trackers {
                if no_play {
                    break;
                }
                if !trackers::applies(&ct.rule, rec, ex) {
                    continue;
                }
                if trackers::evaluate(ct, &engine.history, rec, keys, now).hit {
                    match ct.rule.action {
                        ThresholdActionType::NoPlayMessage => no_play = true,
                        ThresholdActionType::PlayStandardMessage => standard = true,
                    }
                }
            }
        }
        d.message_type = Some(if no_play {
            MessageType::CannotPlay
        } else if standard {
            MessageType::CanPlayStandard
        } else {
            MessageType::CanPlay
        });
    }

    d.start = start;
    d
}

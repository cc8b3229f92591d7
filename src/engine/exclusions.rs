//! SPEC §4: exclusions, indexed by (type, normalised value).
//!
//! A record probes at most three buckets (its account, its address under its
//! channel's type, its SSN); the list-name filter and the interval walk run
//! over those few candidates only.

use std::sync::Arc;

use ahash::{AHashMap, AHashSet};
use chrono::{DateTime, Utc};

use super::decision::{beats, RestrictionType};
use super::dnc::{phone_key, PhoneSet};
use crate::model::{Channel, Exclusion, ExclusionType, Record};

#[derive(Debug)]
pub struct ExclusionIndex {
    rules: Vec<Exclusion>,
    by_type: [AHashMap<Box<str>, Vec<u32>>; 5],
    registry: Registry,
    /// What a registry hit stands for: a permanent, unscoped, id-less Voice exclusion.
    registry_rule: Exclusion,
    /// Rules still indexed (the server's removals leave their slot in `rules`).
    live: usize,
}

/// Compact phone sets of registry-style exclusions, minus numbers that act
/// lines moved back to the general index.
#[derive(Debug, Default)]
pub struct Registry {
    pub sets: Vec<Arc<PhoneSet>>,
    pub removed: AHashSet<u64>,
}

impl Registry {
    fn contains(&self, address_key: &str) -> bool {
        match phone_key(address_key) {
            Some(v) => !self.removed.contains(&v) && self.sets.iter().any(|s| s.contains(v)),
            None => false,
        }
    }

    /// Cache hints for the probes of `keys` (see [`PhoneSet::prefetch_bucket`]):
    /// every key's table entry first, then every key's low parts.
    pub fn prefetch(&self, keys: &[u64]) {
        for s in &self.sets {
            for &v in keys {
                s.prefetch_bucket(v);
            }
            for &v in keys {
                s.prefetch_lows(v);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.sets.iter().map(|s| s.len()).sum::<usize>().saturating_sub(self.removed.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the exclusion check found for one record.
pub enum ExclusionOutcome<'e> {
    Restricted {
        rule: &'e Exclusion,
        end: Option<DateTime<Utc>>,
    },
    /// Not restricted; the earliest future start of a matching exclusion, if any.
    Allowed {
        next_start: Option<DateTime<Utc>>,
    },
}

fn type_of_channel(c: Channel) -> ExclusionType {
    match c {
        Channel::Voice => ExclusionType::Voice,
        Channel::Sms => ExclusionType::Sms,
        Channel::Email => ExclusionType::Email,
    }
}

impl ExclusionIndex {
    pub fn new(rules: Vec<Exclusion>, registry: Registry) -> Self {
        let mut by_type: [AHashMap<Box<str>, Vec<u32>>; 5] = Default::default();
        for (i, r) in rules.iter().enumerate() {
            by_type[r.exclusion_type as usize].entry(r.value.as_str().into()).or_default().push(i as u32);
        }
        let registry_rule = Exclusion {
            id: None,
            exclusion_type: ExclusionType::Voice,
            value: String::new(),
            list: None,
            start: None,
            end: None,
        };
        let live = rules.len();
        ExclusionIndex { rules, by_type, registry, registry_rule, live }
    }

    /// Indexes one more exclusion (REST create / update).
    pub fn insert(&mut self, e: Exclusion) {
        let i = self.rules.len() as u32;
        self.by_type[e.exclusion_type as usize].entry(e.value.as_str().into()).or_default().push(i);
        self.rules.push(e);
        self.live += 1;
    }

    /// Un-indexes the exclusion with `old`'s type, value and id (REST update / delete).
    pub fn remove(&mut self, old: &Exclusion) -> bool {
        let rules = &self.rules;
        let Some(bucket) = self.by_type[old.exclusion_type as usize].get_mut(old.value.as_str()) else {
            return false;
        };
        let Some(pos) = bucket.iter().position(|&i| rules[i as usize].id == old.id) else {
            return false;
        };
        bucket.remove(pos);
        if bucket.is_empty() {
            self.by_type[old.exclusion_type as usize].remove(old.value.as_str());
        }
        self.live -= 1;
        true
    }

    /// Every exclusion in the general index with this identity (SPEC §12: type,
    /// normalised value, list); files may hold several, the REST store one.
    pub fn with_identity<'a>(
        &'a self,
        t: ExclusionType,
        value: &str,
        list: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Exclusion> + 'a {
        self.by_type[t as usize]
            .get(value)
            .into_iter()
            .flatten()
            .map(|&i| &self.rules[i as usize])
            .filter(move |e| e.list.as_deref() == list)
    }

    /// Exclusions in the general index.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Numbers in the compact registry sets.
    pub fn registry_len(&self) -> usize {
        self.registry.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0 && self.registry.sets.iter().all(|s| s.is_empty())
    }

    fn bucket(&self, t: ExclusionType, key: &str) -> &[u32] {
        if key.is_empty() {
            return &[];
        }
        self.by_type[t as usize].get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Cache hints for the registry probes that `recs` will make (a pure hint:
    /// it changes no answer). Batch evaluates records in small groups and calls
    /// this first, so the random reads of a registry-sized set overlap.
    pub fn prefetch(&self, recs: &[Record]) {
        if self.registry.sets.is_empty() {
            return;
        }
        let mut keys = [0u64; 64];
        for group in recs.chunks(64) {
            let mut n = 0;
            for rec in group {
                if let Some(v) = (rec.channel == Channel::Voice).then(|| phone_key(&rec.address)).flatten() {
                    keys[n] = v;
                    n += 1;
                }
            }
            self.registry.prefetch(&keys[..n]);
        }
    }

    pub fn check<'e>(&'e self, rec: &Record, now: DateTime<Utc>) -> ExclusionOutcome<'e> {
        let buckets = [
            self.bucket(ExclusionType::Account, &rec.account),
            self.bucket(type_of_channel(rec.channel), &rec.address),
            self.bucket(ExclusionType::Ssn, &rec.ssn),
        ];
        let list = rec.list();
        // A registry hit is one more permanent Voice exclusion; it sits before the
        // Voice bucket, which only ever changes which of several identical answers wins.
        let registry_hit = rec.channel == Channel::Voice && self.registry.contains(&rec.address);
        let registry_rule = registry_hit.then_some(&self.registry_rule);
        let matching = || {
            let by_index = |b: &'e [u32]| b.iter().map(|&i| &self.rules[i as usize]);
            by_index(buckets[0])
                .chain(registry_rule)
                .chain(by_index(buckets[1]))
                .chain(by_index(buckets[2]))
                .filter(move |e| e.list.is_none() || e.list.as_deref() == list)
        };
        let mut best: Option<&Exclusion> = None;
        for e in matching().filter(|e| e.active_at(now)) {
            if best.is_none_or(|b| beats(b.end, b.id.as_deref(), e.end, e.id.as_deref())) {
                best = Some(e);
            }
        }
        match best {
            Some(rule) => {
                // Walk overlapping and touching intervals to the first uncovered instant.
                let mut t = now;
                let end = loop {
                    let mut any = false;
                    let mut latest = t;
                    let mut open_ended = false;
                    for e in matching().filter(|e| e.active_at(t)) {
                        any = true;
                        match e.end {
                            None => open_ended = true,
                            Some(x) => latest = latest.max(x),
                        }
                    }
                    if open_ended {
                        break None;
                    }
                    if !any {
                        break Some(t);
                    }
                    t = latest;
                };
                ExclusionOutcome::Restricted { rule, end }
            }
            None => {
                let next_start = matching()
                    .filter_map(|e| match (e.start, e.end) {
                        (Some(s), end) if s > now && end.is_none_or(|x| x > s) => Some(s),
                        _ => None,
                    })
                    .min();
                ExclusionOutcome::Allowed { next_start }
            }
        }
    }
}

pub fn restriction(e: &Exclusion) -> RestrictionType {
    RestrictionType::Exclusion(e.exclusion_type)
}

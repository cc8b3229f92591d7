//! Active records (SPEC §8): contacts a dialer was allowed to make and has not
//! reported yet. Indexed by key and by address key, customer and account, so
//! a check's block lookup is three hash probes.

use ahash::{AHashMap, AHashSet};
use chrono::{DateTime, Utc};

use crate::engine::{ActiveRecords, BlockKind};
use crate::model::Record;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    pub address: String,
    pub customer: String,
    pub account: String,
    pub expires: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct ActiveSet {
    by_key: AHashMap<String, Active>,
    by_address: AHashMap<String, AHashSet<String>>,
    by_customer: AHashMap<String, AHashSet<String>>,
    by_account: AHashMap<String, AHashSet<String>>,
}

fn link(m: &mut AHashMap<String, AHashSet<String>>, v: &str, key: &str) {
    if !v.is_empty() {
        m.entry(v.to_string()).or_default().insert(key.to_string());
    }
}

fn unlink(m: &mut AHashMap<String, AHashSet<String>>, v: &str, key: &str) {
    if let Some(s) = m.get_mut(v) {
        s.remove(key);
        if s.is_empty() {
            m.remove(v);
        }
    }
}

impl ActiveSet {
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The live (unexpired) record of `key`.
    pub fn live(&self, key: &str, now: DateTime<Utc>) -> Option<&Active> {
        self.by_key.get(key).filter(|a| a.expires > now)
    }

    pub fn put(&mut self, key: &str, a: Active) {
        self.remove(key);
        link(&mut self.by_address, &a.address, key);
        link(&mut self.by_customer, &a.customer, key);
        link(&mut self.by_account, &a.account, key);
        self.by_key.insert(key.to_string(), a);
    }

    pub fn remove(&mut self, key: &str) -> Option<Active> {
        let a = self.by_key.remove(key)?;
        unlink(&mut self.by_address, &a.address, key);
        unlink(&mut self.by_customer, &a.customer, key);
        unlink(&mut self.by_account, &a.account, key);
        Some(a)
    }

    /// Drops expired records (called now and then; lookups ignore them anyway).
    pub fn purge(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let dead: Vec<String> = self.by_key.iter().filter(|(_, a)| a.expires <= now).map(|(k, _)| k.clone()).collect();
        for k in &dead {
            self.remove(k);
        }
        dead
    }

    fn other_live(&self, m: &AHashMap<String, AHashSet<String>>, v: &str, key: &str, now: DateTime<Utc>) -> bool {
        if v.is_empty() {
            return false;
        }
        m.get(v).is_some_and(|keys| keys.iter().any(|k| k != key && self.live(k, now).is_some()))
    }
}

impl ActiveRecords for ActiveSet {
    fn block(&self, rec: &Record, skip_address: bool, now: DateTime<Utc>) -> Option<BlockKind> {
        let key = rec.key.as_str();
        if !skip_address && self.other_live(&self.by_address, &rec.address, key, now) {
            Some(BlockKind::ContactAddress)
        } else if self.other_live(&self.by_customer, &rec.customer, key, now) {
            Some(BlockKind::Customer)
        } else if self.other_live(&self.by_account, &rec.account, key, now) {
            Some(BlockKind::Account)
        } else {
            None
        }
    }
}

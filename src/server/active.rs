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

/// A string-keyed map split into 64 shards by hash. The active set grows by
/// tens of thousands of records a second under load; one big table would
/// stop every check for the whole rehash at each doubling (100 ms at 500k
/// records), a shard rehashes 1/64 of that.
#[derive(Debug)]
pub struct Shards<V> {
    maps: Vec<AHashMap<String, V>>,
    state: ahash::RandomState,
}

impl<V> Default for Shards<V> {
    fn default() -> Self {
        Shards { maps: (0..64).map(|_| AHashMap::new()).collect(), state: ahash::RandomState::new() }
    }
}

impl<V> Shards<V> {
    fn shard(&self, k: &str) -> usize {
        (self.state.hash_one(k) >> 58) as usize
    }
    pub fn get(&self, k: &str) -> Option<&V> {
        self.maps[self.shard(k)].get(k)
    }
    fn get_mut(&mut self, k: &str) -> Option<&mut V> {
        let i = self.shard(k);
        self.maps[i].get_mut(k)
    }
    fn insert(&mut self, k: String, v: V) -> Option<V> {
        let i = self.shard(&k);
        self.maps[i].insert(k, v)
    }
    fn remove(&mut self, k: &str) -> Option<V> {
        let i = self.shard(k);
        self.maps[i].remove(k)
    }
    pub fn len(&self) -> usize {
        self.maps.iter().map(|m| m.len()).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.maps.iter().all(|m| m.is_empty())
    }
    fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.maps.iter().flat_map(|m| m.iter())
    }
}

#[derive(Debug, Default)]
pub struct ActiveSet {
    /// (expiry, key) in insertion order: with one lifetime per org it is nearly
    /// sorted, so purging pops from the front in amortised O(1).
    queue: std::collections::VecDeque<(DateTime<Utc>, String)>,
    by_key: Shards<Active>,
    by_address: Shards<AHashSet<String>>,
    by_customer: Shards<AHashSet<String>>,
    by_account: Shards<AHashSet<String>>,
}

fn link(m: &mut Shards<AHashSet<String>>, v: &str, key: &str) {
    if v.is_empty() {
        return;
    }
    match m.get_mut(v) {
        Some(s) => {
            s.insert(key.to_string());
        }
        None => {
            m.insert(v.to_string(), AHashSet::from_iter([key.to_string()]));
        }
    }
}

fn unlink(m: &mut Shards<AHashSet<String>>, v: &str, key: &str) {
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
        self.queue.push_back((a.expires, key.to_string()));
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

    /// Drops records that expired by `now` from the front of the queue (lookups
    /// ignore expired records anyway; this only bounds memory). Returns how many.
    pub fn purge(&mut self, now: DateTime<Utc>) -> usize {
        let mut n = 0;
        while let Some((exp, _)) = self.queue.front() {
            if *exp > now {
                break;
            }
            let (exp, key) = self.queue.pop_front().expect("front exists");
            // A refreshed or removed record has another (or no) entry: skip stale ones.
            if self.by_key.get(&key).is_some_and(|a| a.expires == exp) {
                self.remove(&key);
                n += 1;
            }
        }
        // Refreshes leave stale entries behind; rebuild when they dominate.
        if self.queue.len() > 2 * self.by_key.len() + 1024 {
            let mut q: Vec<(DateTime<Utc>, String)> = self.by_key.iter().map(|(k, a)| (a.expires, k.clone())).collect();
            q.sort();
            self.queue = q.into();
        }
        n
    }

    fn other_live(&self, m: &Shards<AHashSet<String>>, v: &str, key: &str, now: DateTime<Utc>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_instant;

    fn rec(addr: &str, cust: &str, acct: &str, key: &str) -> Record {
        let mut r = Record::default();
        r.address = addr.into();
        r.customer = cust.into();
        r.account = acct.into();
        r.key = key.into();
        r
    }

    #[test]
    fn blocks_by_address_then_customer_then_account_and_expires() {
        let t = |s: &str| parse_instant(s).unwrap();
        let mut s = ActiveSet::default();
        let a = |x: &str, c: &str, k: &str, e: &str| Active {
            address: x.into(),
            customer: c.into(),
            account: k.into(),
            expires: t(e),
        };
        s.put("k1", a("555", "C1", "A1", "2026-01-01T02:00:00Z"));
        let now = t("2026-01-01T01:00:00Z");
        assert_eq!(s.block(&rec("555", "C1", "A1", "other"), false, now), Some(BlockKind::ContactAddress));
        assert_eq!(s.block(&rec("555", "C1", "A1", "other"), true, now), Some(BlockKind::Customer));
        assert_eq!(s.block(&rec("777", "C2", "A1", ""), false, now), Some(BlockKind::Account));
        assert_eq!(s.block(&rec("555", "C1", "A1", "k1"), false, now), None, "its own key");
        assert_eq!(
            s.block(&rec("555", "C1", "A1", "x"), false, t("2026-01-01T02:00:00Z")),
            None,
            "expired at the instant"
        );
        // Refresh keeps one record; purge drops only what expired.
        s.put("k1", a("555", "C1", "A1", "2026-01-01T03:00:00Z"));
        s.put("k2", a("556", "C2", "A2", "2026-01-01T03:30:00Z"));
        assert_eq!(s.purge(t("2026-01-01T03:15:00Z")), 1);
        assert!(s.live("k1", now).is_none() && s.live("k2", now).is_some());
        assert_eq!(s.remove("k2").map(|x| x.customer), Some("C2".to_string()));
        assert!(s.is_empty());
        assert_eq!(s.block(&rec("555", "C1", "A1", "x"), false, now), None);
    }
}

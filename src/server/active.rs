//! Active records (SPEC §8): contacts a dialer was allowed to make and has not
//! reported yet. Every allowed check adds one, so this is on the hot path of
//! the server and holds millions of records after a busy hour: each record is
//! one slot with its four strings in one allocation, and the indexes (by key,
//! address key, customer and account) are hash → slot maps whose slots chain
//! the records sharing a hash. A block lookup is three probes and a short walk;
//! nothing is allocated but the slot's text.

use std::collections::BTreeSet;

use ahash::AHashMap;
use chrono::{DateTime, Utc};

use crate::engine::{ActiveRecords, BlockKind};
use crate::model::Record;

/// One active record, as it is put in and taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    pub address: String,
    pub customer: String,
    pub account: String,
    pub expires: DateTime<Utc>,
}

const NIL: u32 = u32::MAX;
/// The indexed fields, in the order of a slot's text and chains.
const KEY: usize = 0;
const ADDRESS: usize = 1;
const CUSTOMER: usize = 2;
const ACCOUNT: usize = 3;

#[derive(Debug, Default)]
struct Slot {
    /// key, address, customer and account, concatenated.
    text: Box<str>,
    /// Where key, address and customer end in `text`.
    ends: [u32; 3],
    expires_ms: i64,
    /// The next slot with the same field hash, per field (NIL ends a chain).
    next: [u32; 4],
}

impl Slot {
    fn field(&self, f: usize) -> &str {
        let start = if f == 0 { 0 } else { self.ends[f - 1] as usize };
        let end = if f == 3 { self.text.len() } else { self.ends[f] as usize };
        &self.text[start..end]
    }
}

/// The slots, in chunks of [`CHUNK`]: growing never copies the ones there are
/// (one vector of ten million slots would copy half a gigabyte at a doubling,
/// holding every check for seconds).
#[derive(Debug, Default)]
struct Slots {
    chunks: Vec<Box<[Slot]>>,
    len: usize,
}

const CHUNK: usize = 1 << 16;

impl Slots {
    fn len(&self) -> usize {
        self.len
    }
    fn push(&mut self, s: Slot) {
        if self.len == self.chunks.len() * CHUNK {
            let mut c = Vec::with_capacity(CHUNK);
            c.resize_with(CHUNK, Slot::default);
            self.chunks.push(c.into_boxed_slice());
        }
        let i = self.len;
        self.chunks[i / CHUNK][i % CHUNK] = s;
        self.len += 1;
    }
}

impl std::ops::Index<usize> for Slots {
    type Output = Slot;
    fn index(&self, i: usize) -> &Slot {
        debug_assert!(i < self.len);
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl std::ops::IndexMut<usize> for Slots {
    fn index_mut(&mut self, i: usize) -> &mut Slot {
        debug_assert!(i < self.len);
        &mut self.chunks[i / CHUNK][i % CHUNK]
    }
}

/// hash → first slot, split into 256 maps: the set grows by tens of thousands
/// of records a second under load, and one big table would stop every check
/// for a whole rehash at each doubling (a map of ten million records takes
/// seconds). The maps get unequal shares of the hashes (map `i` takes
/// `256 + i` parts of 98,176), so they fill at different rates and double one
/// at a time, spread over the set's growth, instead of all together in one
/// burst that would stall checks as long as one big map.
#[derive(Debug)]
struct Index {
    maps: Vec<AHashMap<u64, u32>>,
}

const MAPS: usize = 256;
const MAP_WEIGHTS: usize = MAPS * MAPS + MAPS * (MAPS - 1) / 2;

/// The map of each value of a hash's top 12 bits, in proportion to the weights.
static MAP_OF: [u8; 4096] = {
    let mut t = [0u8; 4096];
    let (mut b, mut i, mut acc) = (0, 0, 0);
    while b < 4096 {
        let x = b * MAP_WEIGHTS / 4096;
        while acc + MAPS + i <= x {
            acc += MAPS + i;
            i += 1;
        }
        t[b] = i as u8;
        b += 1;
    }
    t
};

impl Default for Index {
    fn default() -> Self {
        Index { maps: (0..MAPS).map(|_| AHashMap::new()).collect() }
    }
}

impl Index {
    fn part(h: u64) -> usize {
        MAP_OF[(h >> 52) as usize] as usize
    }
    fn map(&mut self, h: u64) -> &mut AHashMap<u64, u32> {
        &mut self.maps[Self::part(h)]
    }
    fn head(&self, h: u64) -> u32 {
        self.maps[Self::part(h)].get(&h).copied().unwrap_or(NIL)
    }
}

#[derive(Debug, Default)]
pub struct ActiveSet {
    slots: Slots,
    free: Vec<u32>,
    live: usize,
    index: [Index; 4],
    /// (expiry, slot) of every record, soonest first, so a purge takes exactly
    /// the expired records whatever order their lifetimes put them in (a
    /// B-tree: it grows node by node, never by copying it all).
    queue: BTreeSet<(i64, u32)>,
    state: ahash::RandomState,
}

impl ActiveSet {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn hash(&self, s: &str) -> u64 {
        self.state.hash_one(s)
    }

    /// The slot holding `key`, live or not.
    fn find(&self, key: &str) -> Option<u32> {
        let mut i = self.index[KEY].head(self.hash(key));
        while i != NIL {
            let s = &self.slots[i as usize];
            if s.field(KEY) == key {
                return Some(i);
            }
            i = s.next[KEY];
        }
        None
    }

    /// Whether `key` has an unexpired record at `now`.
    pub fn is_live(&self, key: &str, now: DateTime<Utc>) -> bool {
        self.find(key).is_some_and(|i| self.slots[i as usize].expires_ms > now.timestamp_millis())
    }

    /// The expiry (ms) of `key`'s record, live or not.
    pub fn expires_ms(&self, key: &str) -> Option<i64> {
        self.find(key).map(|i| self.slots[i as usize].expires_ms)
    }

    /// Adds the record of `key`, replacing any record it had.
    pub fn put(&mut self, key: &str, address: &str, customer: &str, account: &str, expires: DateTime<Utc>) {
        if let Some(i) = self.find(key) {
            self.free_slot(i);
        }
        let expires_ms = expires.timestamp_millis();
        let slot = self.new_slot(key, address, customer, account, expires_ms);
        for (f, v) in [key, address, customer, account].into_iter().enumerate() {
            // An empty customer or account links nothing (it blocks nothing).
            if f != KEY && v.is_empty() {
                continue;
            }
            let h = self.hash(v);
            self.slots[slot as usize].next[f] = self.index[f].map(h).insert(h, slot).unwrap_or(NIL);
        }
        self.live += 1;
        self.queue.insert((expires_ms, slot));
    }

    /// A slot holding the record's text and expiry, linked to nothing yet.
    fn new_slot(&mut self, key: &str, address: &str, customer: &str, account: &str, expires_ms: i64) -> u32 {
        let mut text = String::with_capacity(key.len() + address.len() + customer.len() + account.len());
        let mut ends = [0u32; 3];
        for (f, v) in [key, address, customer].into_iter().enumerate() {
            text.push_str(v);
            ends[f] = text.len() as u32;
        }
        text.push_str(account);
        let slot = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        s.text = text.into_boxed_str();
        s.ends = ends;
        s.expires_ms = expires_ms;
        s.next = [NIL; 4];
        slot
    }

    /// Start-up replay of the log ([`super::active_log::ActiveLog::open`]):
    /// [`put`](Self::put), but the record is indexed by its key alone;
    /// [`finish_replay`](Self::finish_replay) indexes the records left by
    /// address, customer and account and queues their expiries, in bulk.
    ///
    /// Why: replaying millions of records one `put` at a time spent most of
    /// its time on cache misses, four hash-table inserts and a B-tree insert
    /// per record, each at a random place in hundreds of megabytes. The
    /// key's index must be current while the log is read (a later record
    /// may replace or delete the key's record); the others need not be, and
    /// built map by map each insert lands in a table small enough to stay in
    /// cache. Only for a set that has had nothing but `replay_*` calls.
    pub fn replay_put(&mut self, key: &str, address: &str, customer: &str, account: &str, expires_ms: i64) {
        self.replay_remove(key);
        let slot = self.new_slot(key, address, customer, account, expires_ms);
        let h = self.hash(key);
        self.slots[slot as usize].next[KEY] = self.index[KEY].map(h).insert(h, slot).unwrap_or(NIL);
        self.live += 1;
    }

    /// Replay's [`remove`](Self::remove): takes `key`'s record out of the key
    /// index (the only one replay keeps) and frees its slot.
    pub fn replay_remove(&mut self, key: &str) {
        if let Some(i) = self.find(key) {
            self.unlink(KEY, i);
            self.release(i);
        }
    }

    /// Ends a replay: every record left is linked into the address, customer
    /// and account indexes and queued by expiry. Afterwards the set is as if
    /// each record had been [`put`](Self::put).
    pub fn finish_replay(&mut self) {
        let n = self.slots.len();
        let mut freed = vec![false; n];
        for &i in &self.free {
            freed[i as usize] = true;
        }
        let live: Vec<u32> = (0..n as u32).filter(|&i| !freed[i as usize]).collect();
        // Each slot's link in the chain being built, written here and copied
        // into the slots in order afterwards (4 bytes a slot, not a slot's 56).
        let mut next = vec![NIL; n];
        let mut by_map: Vec<Vec<(u64, u32)>> = vec![Vec::new(); MAPS];
        for f in [ADDRESS, CUSTOMER, ACCOUNT] {
            by_map.iter_mut().for_each(Vec::clear);
            for &i in &live {
                let v = self.slots[i as usize].field(f);
                if !v.is_empty() {
                    let h = self.hash(v);
                    by_map[Index::part(h)].push((h, i));
                }
            }
            for (m, pairs) in by_map.iter().enumerate() {
                let map = &mut self.index[f].maps[m];
                map.reserve(pairs.len());
                for &(h, i) in pairs {
                    next[i as usize] = map.insert(h, i).unwrap_or(NIL);
                }
            }
            for &i in &live {
                self.slots[i as usize].next[f] = next[i as usize];
            }
        }
        let mut queue: Vec<(i64, u32)> = live.iter().map(|&i| (self.slots[i as usize].expires_ms, i)).collect();
        // Built whole (collecting sorts, then fills the tree in one pass), not inserted one by one.
        queue.extend(std::mem::take(&mut self.queue));
        self.queue = queue.into_iter().collect();
    }

    /// [`put`](Self::put) of a record taken out by [`remove`](Self::remove).
    pub fn put_active(&mut self, key: &str, a: &Active) {
        self.put(key, &a.address, &a.customer, &a.account, a.expires);
    }

    /// Takes out the record of `key` (live or expired).
    pub fn remove(&mut self, key: &str) -> Option<Active> {
        let i = self.find(key)?;
        let s = &self.slots[i as usize];
        let a = Active {
            address: s.field(ADDRESS).to_string(),
            customer: s.field(CUSTOMER).to_string(),
            account: s.field(ACCOUNT).to_string(),
            expires: DateTime::from_timestamp_millis(s.expires_ms).unwrap_or(DateTime::<Utc>::MIN_UTC),
        };
        self.free_slot(i);
        Some(a)
    }

    /// Unlinks slot `i` from every chain and frees it.
    fn free_slot(&mut self, i: u32) {
        for f in [KEY, ADDRESS, CUSTOMER, ACCOUNT] {
            if f != KEY && self.slots[i as usize].field(f).is_empty() {
                continue;
            }
            self.unlink(f, i);
        }
        self.queue.remove(&(self.slots[i as usize].expires_ms, i));
        self.release(i);
    }

    /// Empties slot `i` (already out of every chain and the queue) for reuse.
    fn release(&mut self, i: u32) {
        let s = &mut self.slots[i as usize];
        s.text = Box::default();
        s.next = [NIL; 4];
        self.free.push(i);
        self.live -= 1;
    }

    /// Takes slot `i` out of the chain of its value in field `f`.
    fn unlink(&mut self, f: usize, i: u32) {
        let s = &self.slots[i as usize];
        let h = self.hash(s.field(f));
        let after = s.next[f];
        let head = self.index[f].head(h);
        if head == i {
            let m = self.index[f].map(h);
            if after == NIL {
                m.remove(&h);
            } else {
                m.insert(h, after);
            }
        } else {
            let mut p = head;
            while p != NIL {
                let n = self.slots[p as usize].next[f];
                if n == i {
                    self.slots[p as usize].next[f] = after;
                    break;
                }
                p = n;
            }
        }
    }

    /// Drops every record that expired by `now` (lookups ignore expired records
    /// anyway; this bounds memory). Returns how many.
    pub fn purge(&mut self, now: DateTime<Utc>) -> usize {
        let now_ms = now.timestamp_millis();
        let mut n = 0;
        while let Some(&(exp, slot)) = self.queue.first() {
            if exp > now_ms {
                break;
            }
            self.free_slot(slot); // takes its queue entry out too
            n += 1;
        }
        n
    }

    /// Whether a live record with a key other than `key` has `v` in field `f`.
    fn other_live(&self, f: usize, v: &str, key: &str, now_ms: i64) -> bool {
        if v.is_empty() {
            return false;
        }
        let mut i = self.index[f].head(self.hash(v));
        while i != NIL {
            let s = &self.slots[i as usize];
            if s.expires_ms > now_ms && s.field(f) == v && s.field(KEY) != key {
                return true;
            }
            i = s.next[f];
        }
        false
    }
}

impl ActiveRecords for ActiveSet {
    fn block(&self, rec: &Record, skip_address: bool, now: DateTime<Utc>) -> Option<BlockKind> {
        let key = rec.key.as_str();
        let now_ms = now.timestamp_millis();
        if !skip_address && self.other_live(ADDRESS, &rec.address, key, now_ms) {
            Some(BlockKind::ContactAddress)
        } else if self.other_live(CUSTOMER, &rec.customer, key, now_ms) {
            Some(BlockKind::Customer)
        } else if self.other_live(ACCOUNT, &rec.account, key, now_ms) {
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

    fn a(x: &str, c: &str, k: &str, e: &str) -> Active {
        Active { address: x.into(), customer: c.into(), account: k.into(), expires: parse_instant(e).unwrap() }
    }

    #[test]
    fn blocks_by_address_then_customer_then_account_and_expires() {
        let t = |s: &str| parse_instant(s).unwrap();
        let mut s = ActiveSet::default();
        s.put_active("k1", &a("555", "C1", "A1", "2026-01-01T02:00:00Z"));
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
        s.put_active("k1", &a("555", "C1", "A1", "2026-01-01T03:00:00Z"));
        s.put_active("k2", &a("556", "C2", "A2", "2026-01-01T03:30:00Z"));
        assert_eq!(s.len(), 2);
        assert_eq!(s.purge(t("2026-01-01T03:15:00Z")), 1);
        assert!(!s.is_live("k1", now) && s.is_live("k2", now));
        assert_eq!(s.remove("k2"), Some(a("556", "C2", "A2", "2026-01-01T03:30:00Z")));
        assert!(s.is_empty());
        assert_eq!(s.block(&rec("555", "C1", "A1", "x"), false, now), None);
        // Empty customer and account block nothing.
        s.put_active("k3", &a("900", "", "", "2026-01-01T09:00:00Z"));
        assert_eq!(s.block(&rec("901", "", "", "x"), false, now), None);
        assert_eq!(s.block(&rec("900", "", "", "x"), false, now), Some(BlockKind::ContactAddress));
    }

    #[test]
    fn maps_take_unequal_shares_of_the_hashes() {
        let share = |i: usize| MAP_OF.iter().filter(|&&m| m as usize == i).count();
        assert!((0..MAPS).all(|i| share(i) > 0) && MAP_OF.iter().all(|&m| (m as usize) < MAPS));
        assert!(share(0) < share(MAPS - 1) && share(MAPS - 1) <= 2 * share(0) + 1, "{} {}", share(0), share(MAPS - 1));
    }

    /// A small seeded generator: each call gives a number in `0..n`.
    fn lcg(mut seed: u64) -> impl FnMut(u64) -> u64 {
        move |n| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        }
    }

    /// A set replayed (`replay_put`, `replay_remove`, then `finish_replay`)
    /// answers every question as the same records `put` one by one, and keeps
    /// doing so through the puts, removals and purges that follow (its chains
    /// and expiry queue are whole).
    #[test]
    fn a_replayed_set_is_the_set_of_the_same_puts() {
        let mut next = lcg(0x2545_f491_4f6c_dd1d);
        let pick = |i: u64, p: &str| if i == 0 { String::new() } else { format!("{p}{i}") };
        let base = parse_instant("2026-03-08T06:00:00Z").unwrap();
        let (mut put, mut replayed) = (ActiveSet::default(), ActiveSet::default());
        for _ in 0..5_000 {
            let key = format!("k{}", next(300));
            if next(4) == 0 {
                put.remove(&key);
                replayed.replay_remove(&key);
            } else {
                let (addr, cust, acct) = (pick(next(40), "+1555"), pick(next(25), "C"), pick(next(25), "A"));
                let expires = base + chrono::Duration::minutes(next(120) as i64);
                put.put(&key, &addr, &cust, &acct, expires);
                replayed.replay_put(&key, &addr, &cust, &acct, expires.timestamp_millis());
            }
        }
        replayed.finish_replay();
        let same = |a: &ActiveSet, b: &ActiveSet, now: DateTime<Utc>, what: &str| {
            assert_eq!(a.len(), b.len(), "{what}: len");
            for k in 0..300 {
                let key = format!("k{k}");
                assert_eq!(a.expires_ms(&key), b.expires_ms(&key), "{what}: {key}");
            }
            for x in 0..40 {
                for c in 0..25 {
                    let r =
                        rec(&pick(x, "+1555"), &pick(c, "C"), &pick((x + c) % 25, "A"), &format!("k{}", x * 7 % 300));
                    for skip in [false, true] {
                        assert_eq!(a.block(&r, skip, now), b.block(&r, skip, now), "{what}: {x} {c} {skip}");
                    }
                }
            }
        };
        assert!(put.len() > 100, "the pools leave a real set: {}", put.len());
        same(&put, &replayed, base, "after replay");
        same(&put, &replayed, base + chrono::Duration::minutes(60), "an hour on");
        let mut now = base;
        for step in 0..3_000 {
            let key = format!("k{}", next(300));
            match next(8) {
                0 => {
                    now += chrono::Duration::minutes(next(4) as i64);
                    assert_eq!(put.purge(now), replayed.purge(now), "step {step}: purge");
                }
                1 | 2 => assert_eq!(put.remove(&key), replayed.remove(&key), "step {step}: remove"),
                _ => {
                    let (addr, cust, acct) = (pick(next(40), "+1555"), pick(next(25), "C"), pick(next(25), "A"));
                    let expires = now + chrono::Duration::minutes(next(120) as i64);
                    put.put(&key, &addr, &cust, &acct, expires);
                    replayed.put(&key, &addr, &cust, &acct, expires);
                }
            }
        }
        same(&put, &replayed, now, "after later changes");
    }

    /// Random puts, refreshes, removals and purges over small pools of keys
    /// and values (so chains are long and slots are reused), checked after
    /// every step against a plain list.
    #[test]
    fn agrees_with_a_plain_list() {
        let mut next = lcg(0x9e37_79b9_7f4a_7c15);
        let base = parse_instant("2026-03-08T06:00:00Z").unwrap();
        let mut set = ActiveSet::default();
        let mut model: Vec<(String, Active)> = Vec::new();
        let mut now = base;
        let pick = |i: u64, p: &str| if i == 0 { String::new() } else { format!("{p}{i}") };
        for step in 0..20_000 {
            let key = format!("k{}", next(40));
            match next(10) {
                0..=4 => {
                    let rec = Active {
                        address: pick(next(12), "+1555"),
                        customer: pick(next(8), "C"),
                        account: pick(next(8), "A"),
                        expires: now + chrono::Duration::minutes(next(30) as i64),
                    };
                    set.put_active(&key, &rec);
                    model.retain(|(k, _)| *k != key);
                    model.push((key.clone(), rec));
                }
                5 | 6 => {
                    let got = set.remove(&key);
                    let want = model.iter().position(|(k, _)| *k == key).map(|i| model.remove(i).1);
                    assert_eq!(got, want, "step {step}: remove {key}");
                }
                7 => {
                    now += chrono::Duration::minutes(next(5) as i64);
                    let before = model.len();
                    model.retain(|(_, r)| r.expires > now);
                    assert_eq!(set.purge(now), before - model.len(), "step {step}: purge");
                }
                _ => {
                    let (addr, cust, acct) = (pick(next(12), "+1555"), pick(next(8), "C"), pick(next(8), "A"));
                    let skip = next(4) == 0;
                    let r = rec(&addr, &cust, &acct, &key);
                    let other = |f: &dyn Fn(&Active) -> &str, v: &str| {
                        !v.is_empty() && model.iter().any(|(k, x)| *k != key && x.expires > now && f(x) == v)
                    };
                    let want = if !skip && other(&|x| &x.address, &addr) {
                        Some(BlockKind::ContactAddress)
                    } else if other(&|x| &x.customer, &cust) {
                        Some(BlockKind::Customer)
                    } else if other(&|x| &x.account, &acct) {
                        Some(BlockKind::Account)
                    } else {
                        None
                    };
                    assert_eq!(set.block(&r, skip, now), want, "step {step}: block");
                }
            }
            assert_eq!(set.len(), model.len(), "step {step}: len");
            let live = model.iter().any(|(k, r)| *k == key && r.expires > now);
            assert_eq!(set.is_live(&key, now), live, "step {step}: is_live {key}");
        }
    }
}

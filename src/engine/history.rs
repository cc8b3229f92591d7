//! The attempt history, columnar and indexed for tracker lookups (SPEC §7).
//!
//! Strings are interned to dense ids once at load; each key kind (customer,
//! address key, account) gets a posting list of attempt indices sorted by
//! (key, time), so counting a tracker window is a hash lookup, a binary search
//! and a short scan. Disabled attempts are dropped at build: they never count.

use ahash::AHashMap;
use chrono::{DateTime, Utc};
use rayon::prelude::*;

pub use super::keys::KeyInterner;
use super::keys::{RowsById, StagedKeys};
use crate::model::{Attempt, Channel, FieldError};
use crate::normalize;

pub const NONE: u32 = u32::MAX;
pub const NO_NUMBER_TYPE: i64 = i64::MIN;

/// Strings to dense ids.
#[derive(Debug, Default)]
pub struct Interner {
    map: AHashMap<Box<str>, u32>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.map.len() as u32;
        self.map.insert(s.into(), id);
        id
    }
    pub fn get(&self, s: &str) -> Option<u32> {
        if s.is_empty() {
            return None;
        }
        self.map.get(s).copied()
    }
    /// The strings by id.
    pub fn names(&self) -> Vec<&str> {
        let mut v = vec![""; self.map.len()];
        for (s, &id) in &self.map {
            v[id as usize] = s;
        }
        v
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Attempt indices grouped by key id, each group sorted by time.
///
/// The bulk part is one CSR array built at load. The server changes history one
/// attempt at a time: a key it touches gets its whole list copied into `over`
/// and edited there (a short sorted insert), so reads stay one slice per key and
/// batch lookups, where `over` is empty, pay nothing for it.
#[derive(Debug, Default)]
pub struct Postings {
    offsets: Vec<u32>,
    idx: Vec<u32>,
    over: super::intmap::IntMap<u32, Vec<u32>>,
}

impl Postings {
    #[cfg(test)]
    fn build(keys: &[u32], n_ids: usize, time: &[i64]) -> Postings {
        let pairs: Vec<(u32, u32)> =
            keys.iter().enumerate().filter(|(_, &k)| k != NONE).map(|(i, &k)| (k, i as u32)).collect();
        Postings::sorted_by_time(RowsById::of_pairs(&pairs, n_ids), time)
    }

    /// Each key's rows (ascending) ordered by (time, row).
    fn sorted_by_time(rows: RowsById, time: &[i64]) -> Postings {
        let RowsById { offsets, rows: mut idx } = rows;
        let n_ids = offsets.len() - 1;
        // Sort each group by time; groups are disjoint slices, so sort them in parallel.
        let mut groups: Vec<&mut [u32]> = Vec::with_capacity(n_ids);
        let mut rest: &mut [u32] = &mut idx;
        for w in offsets.windows(2) {
            let (g, r) = rest.split_at_mut((w[1] - w[0]) as usize);
            groups.push(g);
            rest = r;
        }
        // Each attempt's time is read once into a scratch of (time, index)
        // pairs, which sorts without touching `time` again: sorting the
        // indices by a key read through `time` fetched a random cache line per
        // comparison (~6% of a 50M-attempt run). Indices are unique, so the
        // pairs' order is the (time, index) order.
        groups.par_iter_mut().for_each_init(Vec::new, |pairs: &mut Vec<(i64, u32)>, g| {
            if g.len() > 1 {
                pairs.clear();
                pairs.extend(g.iter().map(|&i| (time[i as usize], i)));
                if !pairs.is_sorted() {
                    pairs.sort_unstable();
                    g.iter_mut().zip(pairs.iter()).for_each(|(d, &(_, i))| *d = i);
                }
            }
        });
        Postings { offsets, idx, over: Default::default() }
    }

    fn base(&self, id: u32) -> &[u32] {
        if id as usize + 1 >= self.offsets.len() {
            return &[];
        }
        let (a, b) = (self.offsets[id as usize] as usize, self.offsets[id as usize + 1] as usize);
        &self.idx[a..b]
    }

    pub fn get(&self, id: u32) -> &[u32] {
        if !self.over.is_empty() {
            if let Some(v) = self.over.get(&id) {
                return v;
            }
        }
        self.base(id)
    }

    /// Cache hints, in three stages, for a count that will read key `id`'s
    /// list from its newest end: its offsets, then its last entry (once the
    /// offsets are likely cached), then that attempt's time. Batch only: with
    /// server edits (`over`) it does nothing.
    pub fn prefetch_offsets(&self, id: u32) {
        if self.over.is_empty() && (id as usize) < self.offsets.len() {
            super::dnc::prefetch(self.offsets[id as usize..].as_ptr() as *const u8);
        }
    }
    pub fn prefetch_last(&self, id: u32) {
        if let Some(l) = self.last(id) {
            super::dnc::prefetch(&self.idx[l] as *const u32 as *const u8);
        }
    }
    pub fn prefetch_last_time(&self, id: u32, time: &[i64]) {
        if let Some(l) = self.last(id) {
            if let Some(t) = time.get(self.idx[l] as usize) {
                super::dnc::prefetch(t as *const i64 as *const u8);
            }
        }
    }
    /// Where key `id`'s newest entry sits in `idx` (bulk lists only).
    fn last(&self, id: u32) -> Option<usize> {
        if !self.over.is_empty() || id as usize + 1 >= self.offsets.len() {
            return None;
        }
        let (a, b) = (self.offsets[id as usize], self.offsets[id as usize + 1]);
        (b > a).then(|| b as usize - 1)
    }

    fn edit(&mut self, id: u32) -> &mut Vec<u32> {
        if !self.over.contains_key(&id) {
            let copy = self.base(id).to_vec();
            self.over.insert(id, copy);
        }
        self.over.get_mut(&id).expect("just inserted")
    }

    /// Adds attempt `i` to key `id`'s list, keeping it sorted by (time, index).
    pub fn insert(&mut self, id: u32, i: u32, time: &[i64]) {
        let v = self.edit(id);
        let t = (time[i as usize], i);
        let pos = v.partition_point(|&j| (time[j as usize], j) < t);
        if v.get(pos) != Some(&i) {
            v.insert(pos, i);
        }
    }

    /// Removes attempt `i` from key `id`'s list.
    pub fn remove(&mut self, id: u32, i: u32) {
        self.edit(id).retain(|&j| j != i);
    }
}

/// Columnar history. Times are nanoseconds since the epoch.
#[derive(Debug, Default)]
pub struct History {
    pub time: Vec<i64>,
    pub channel: Vec<u8>,
    pub disposition: Vec<u32>,
    pub number_type: Vec<i64>,
    pub purpose: Vec<u32>,
    pub geo_start: Vec<u32>,
    pub geo: Vec<u32>,
    pub cust: Vec<u32>,
    pub addr: Vec<u32>,
    pub acct: Vec<u32>,
    pub customers: KeyInterner,
    pub addresses: KeyInterner,
    pub accounts: KeyInterner,
    pub dispositions: Interner,
    pub purposes: Interner,
    pub geocodes: Interner,
    pub by_cust: Postings,
    pub by_addr: Postings,
    pub by_acct: Postings,
    /// Rows read, including disabled attempts.
    pub rows_read: usize,
    pub disabled: usize,
    /// Rows that are in the columns but in no postings, in order: the Disabled
    /// attempts a [`HistoryBuilder::keeping_disabled`] kept (for `scrub load`,
    /// which stores them); empty otherwise.
    pub uncounted: Vec<u32>,
    /// Enabled attempts outside every tracker's reach at the evaluation instant.
    pub skipped: usize,
}

/// Rows per staged group (the unit of parallel work while building).
const GROUP_ROWS: usize = 1 << 20;

/// A small local interner (dispositions, purposes, geocodes within a group).
#[derive(Debug, Default)]
struct LocalNames {
    map: AHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl LocalNames {
    fn id(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return NONE;
        }
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.map.insert(s.into(), i);
        self.names.push(s.into());
        i
    }
}

/// A group of normalised, not yet interned attempts. Groups are filled in
/// parallel (one per Parquet row group) and interned together by [`HistoryBuilder::build`].
#[derive(Debug, Default)]
pub struct StagedGroup {
    time: Vec<i64>,
    channel: Vec<u8>,
    number_type: Vec<i64>,
    disp: Vec<u32>,
    purpose: Vec<u32>,
    geo_start: Vec<u32>,
    geo: Vec<u32>,
    keys: [StagedKeys; 3],
    disp_names: LocalNames,
    purpose_names: LocalNames,
    geo_names: LocalNames,
    rows_read: usize,
    disabled: usize,
    skipped: usize,
    buf: String,
    window: Option<(i64, i64)>,
    /// Keep Disabled rows in the columns (listed in `uncounted`), not only count them.
    keep_disabled: bool,
    uncounted: Vec<u32>,
}

/// An attempt's checked fields: channel, time in ns, numberType, and whether
/// it is Enabled (counts). `Err` names the first bad field.
fn checked(a: &Attempt<'_>) -> Result<(Channel, i64, Option<i64>, bool), FieldError> {
    let channel = a.channel()?;
    let t = to_nanos(a.instant()?);
    let enabled = a.enabled()?;
    let number_type = a.number_type()?;
    Ok((channel, t, number_type, enabled))
}

impl StagedGroup {
    /// A group keeping attempts with `from ≤ t ≤ to` (ns); others are validated and dropped.
    pub fn new(window: Option<(i64, i64)>) -> Self {
        StagedGroup { window, geo_start: vec![0], ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    /// Counts `rows` attempts that a loader checked without staging them,
    /// all outside the window (so none is kept), `disabled` of them Disabled:
    /// the counts [`Self::push`] would have made for them.
    pub fn add_checked_out_of_window(&mut self, rows: usize, disabled: usize) {
        debug_assert!(self.window.is_some() && disabled <= rows);
        self.rows_read += rows;
        self.disabled += disabled;
        // push counts a Disabled attempt as disabled only, unless it keeps them
        self.skipped += if self.keep_disabled { rows } else { rows - disabled };
    }

    /// Validates and adds one attempt; `extra_geocodes` carries list-typed geocodes.
    /// `Err` names the field of a bad row (SPEC §11: it stops the run).
    pub fn push<'a>(
        &mut self,
        a: &Attempt<'a>,
        extra_geocodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), FieldError> {
        let (channel, t, number_type, enabled) = checked(a)?;
        self.rows_read += 1;
        if !enabled {
            self.disabled += 1;
            if !self.keep_disabled {
                return Ok(());
            }
        }
        if self.window.is_some_and(|(from, to)| t < from || t > to) {
            self.skipped += 1;
            return Ok(());
        }
        if !enabled {
            self.uncounted.push(self.time.len() as u32);
        }
        let buf = &mut self.buf;
        let row = self.time.len() as u32;
        normalize::address_into(channel, a.contact_address.unwrap_or(""), buf);
        self.keys[0].push(row, buf);
        normalize::trimmed_into(a.customer.unwrap_or(""), buf);
        self.keys[1].push(row, buf);
        normalize::trimmed_into(a.account_number.unwrap_or(""), buf);
        self.keys[2].push(row, buf);
        normalize::lower_into(a.disposition.unwrap_or(""), buf);
        self.disp.push(self.disp_names.id(buf));
        normalize::lower_into(a.purpose.unwrap_or(""), buf);
        self.purpose.push(self.purpose_names.id(buf));
        for g in a.geocodes.map(normalize::split_list).into_iter().flatten().chain(extra_geocodes) {
            normalize::lower_into(g, buf);
            if !buf.is_empty() {
                let id = self.geo_names.id(buf);
                self.geo.push(id);
            }
        }
        self.geo_start.push(self.geo.len() as u32);
        self.time.push(t);
        self.channel.push(channel as u8);
        self.number_type.push(number_type.unwrap_or(NO_NUMBER_TYPE));
        Ok(())
    }
}

/// Accumulates attempts in staged groups; [`HistoryBuilder::build`] interns
/// keys (partitioned, in parallel) and sorts the postings.
#[derive(Debug, Default)]
pub struct HistoryBuilder {
    groups: Vec<StagedGroup>,
    window: Option<(i64, i64)>,
    keep_disabled: bool,
}

pub fn to_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 { i64::MIN + 1 } else { i64::MAX })
}

pub fn from_nanos(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(n)
}

impl HistoryBuilder {
    /// Keeps only attempts in `[from, to]`: the rest can never be counted by any
    /// loaded tracker at the evaluation instant, so dropping them changes no answer.
    pub fn with_window(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        HistoryBuilder { groups: Vec::new(), window: Some((to_nanos(from), to_nanos(to))), keep_disabled: false }
    }

    /// A builder that keeps Disabled attempts in the columns, out of every
    /// count, and lists them in [`History::uncounted`] (`scrub load` stores
    /// every row it reads).
    pub fn keeping_disabled() -> Self {
        HistoryBuilder { keep_disabled: true, ..Default::default() }
    }

    /// The span of attempt times it keeps, in ns (`None`: all).
    pub fn window(&self) -> Option<(i64, i64)> {
        self.window
    }

    /// A fresh group for a parallel loader; hand it back with [`HistoryBuilder::add_group`].
    pub fn new_group(&self) -> StagedGroup {
        StagedGroup { keep_disabled: self.keep_disabled, ..StagedGroup::new(self.window) }
    }

    /// [`HistoryBuilder::new_group`] with room for `rows` attempts (no regrowth copies).
    pub fn new_group_with_capacity(&self, rows: usize) -> StagedGroup {
        let mut g = self.new_group();
        g.time.reserve(rows);
        g.channel.reserve(rows);
        g.number_type.reserve(rows);
        g.disp.reserve(rows);
        g.purpose.reserve(rows);
        g.geo_start.reserve(rows + 1);
        g.geo.reserve(rows);
        for k in &mut g.keys {
            k.reserve(rows);
        }
        g
    }

    pub fn add_group(&mut self, g: StagedGroup) {
        self.groups.push(g);
    }

    /// Adds one attempt (sequential loaders).
    pub fn push<'a>(
        &mut self,
        a: &Attempt<'a>,
        extra_geocodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), FieldError> {
        if self.groups.last().is_none_or(|g| g.len() >= GROUP_ROWS) {
            let g = self.new_group();
            self.groups.push(g);
        }
        self.groups.last_mut().unwrap().push(a, extra_geocodes)
    }

    pub fn build(self) -> History {
        let mut groups = self.groups;
        groups.par_iter_mut().for_each(|g| g.keys.iter_mut().for_each(StagedKeys::sort_by_partition));
        let mut h = History {
            rows_read: groups.iter().map(|g| g.rows_read).sum(),
            disabled: groups.iter().map(|g| g.disabled).sum(),
            skipped: groups.iter().map(|g| g.skipped).sum(),
            ..Default::default()
        };
        let starts: Vec<usize> = groups
            .iter()
            .scan(0usize, |acc, g| {
                let s = *acc;
                *acc += g.len();
                Some(s)
            })
            .collect();
        let n: usize = groups.iter().map(StagedGroup::len).sum();
        assert!(n < NONE as usize, "at most 4 billion attempts");
        h.uncounted =
            groups.iter().zip(&starts).flat_map(|(g, &s)| g.uncounted.iter().map(move |&i| s as u32 + i)).collect();

        // Low-cardinality names: merge the groups' local tables, then remap.
        let remap = |names: &mut Interner, local: fn(&StagedGroup) -> &LocalNames| -> Vec<Vec<u32>> {
            groups.iter().map(|g| local(g).names.iter().map(|s| names.intern(s)).collect()).collect()
        };
        let disp_map = remap(&mut h.dispositions, |g| &g.disp_names);
        let purpose_map = remap(&mut h.purposes, |g| &g.purpose_names);
        let geo_map = remap(&mut h.geocodes, |g| &g.geo_names);
        let concat_u32 = |col: fn(&StagedGroup) -> &Vec<u32>, maps: &Vec<Vec<u32>>| -> Vec<u32> {
            let parts: Vec<Vec<u32>> = groups
                .par_iter()
                .zip(maps)
                .map(|(g, m)| col(g).iter().map(|&x| if x == NONE { NONE } else { m[x as usize] }).collect())
                .collect();
            parts.concat()
        };
        h.disposition = concat_u32(|g| &g.disp, &disp_map);
        h.purpose = concat_u32(|g| &g.purpose, &purpose_map);
        h.geo = concat_u32(|g| &g.geo, &geo_map);
        h.geo_start = Vec::with_capacity(n + 1);
        h.geo_start.push(0);
        let mut base = 0u32;
        for g in &groups {
            h.geo_start.extend(g.geo_start[1..].iter().map(|&x| x + base));
            base += g.geo.len() as u32;
        }
        // Sized once: collecting a flat_map grew each column by doubling (copies of hundreds of MB).
        fn concat<T: Copy>(groups: &[StagedGroup], n: usize, col: fn(&StagedGroup) -> &Vec<T>) -> Vec<T> {
            let mut v = Vec::with_capacity(n);
            groups.iter().for_each(|g| v.extend_from_slice(col(g)));
            v
        }
        h.time = concat(&groups, n, |g| &g.time);
        h.channel = concat(&groups, n, |g| &g.channel);
        h.number_type = concat(&groups, n, |g| &g.number_type);

        // High-cardinality keys: partition rows by hash, intern each partition in parallel.
        // Uncounted rows (kept Disabled attempts) get ids but are in no postings.
        let uncounted: Option<Vec<bool>> = (!h.uncounted.is_empty()).then(|| {
            let mut v = vec![false; n];
            h.uncounted.iter().for_each(|&i| v[i as usize] = true);
            v
        });
        let counted = |row: usize| uncounted.as_ref().is_none_or(|u| !u[row]);
        let mut interned: Vec<(Vec<u32>, KeyInterner, RowsById)> = Vec::with_capacity(3);
        for k in 0..3 {
            let cols: Vec<&StagedKeys> = groups.iter().map(|g| &g.keys[k]).collect();
            interned.push(KeyInterner::build(&cols, &starts, n, NONE, &counted));
            // this kind's staged keys are done with: free them before the next kind's lists
            groups.iter_mut().for_each(|g| g.keys[k] = StagedKeys::default());
        }
        drop(groups);
        let (acct, acct_i, acct_rows) = interned.pop().unwrap();
        let (cust, cust_i, cust_rows) = interned.pop().unwrap();
        let (addr, addr_i, addr_rows) = interned.pop().unwrap();
        h.addr = addr;
        h.cust = cust;
        h.acct = acct;
        h.addresses = addr_i;
        h.customers = cust_i;
        h.accounts = acct_i;
        let time = &h.time;
        let (c, (a, k)) = rayon::join(
            || Postings::sorted_by_time(cust_rows, time),
            || rayon::join(|| Postings::sorted_by_time(addr_rows, time), || Postings::sorted_by_time(acct_rows, time)),
        );
        h.by_cust = c;
        h.by_addr = a;
        h.by_acct = k;
        h
    }
}

/// What [`History::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The attempt's index (`None`: a Disabled attempt, not indexed).
    pub index: Option<u32>,
    /// A disposition, purpose or geocode never seen before was interned:
    /// compiled tracker filters must be rebuilt to see it.
    pub new_names: bool,
}

impl History {
    /// Adds one attempt after the build (REST contact attempts), indexed at once.
    pub fn append<'a>(
        &mut self,
        a: &Attempt<'a>,
        extra_geocodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Appended, FieldError> {
        let (channel, t, number_type, enabled) = checked(a)?;
        self.rows_read += 1;
        if !enabled {
            self.disabled += 1;
            return Ok(Appended { index: None, new_names: false });
        }
        assert!(self.time.len() < NONE as usize - 1, "at most 4 billion attempts");
        if self.geo_start.is_empty() {
            self.geo_start.push(0);
        }
        let i = self.time.len() as u32;
        let before = self.dispositions.len() + self.purposes.len() + self.geocodes.len();
        let mut buf = String::new();
        let key = |interner: &mut KeyInterner, s: &str, buf: &mut String, f: fn(&str, &mut String)| {
            f(s, buf);
            if buf.is_empty() {
                NONE
            } else {
                interner.intern(buf)
            }
        };
        normalize::address_into(channel, a.contact_address.unwrap_or(""), &mut buf);
        let addr = if buf.is_empty() { NONE } else { self.addresses.intern(&buf) };
        let cust = key(&mut self.customers, a.customer.unwrap_or(""), &mut buf, normalize::trimmed_into);
        let acct = key(&mut self.accounts, a.account_number.unwrap_or(""), &mut buf, normalize::trimmed_into);
        let name = |interner: &mut Interner, s: &str, buf: &mut String| {
            normalize::lower_into(s, buf);
            if buf.is_empty() {
                NONE
            } else {
                interner.intern(buf)
            }
        };
        let disp = name(&mut self.dispositions, a.disposition.unwrap_or(""), &mut buf);
        let purpose = name(&mut self.purposes, a.purpose.unwrap_or(""), &mut buf);
        for g in a.geocodes.map(normalize::split_list).into_iter().flatten().chain(extra_geocodes) {
            let id = name(&mut self.geocodes, g, &mut buf);
            if id != NONE {
                self.geo.push(id);
            }
        }
        self.geo_start.push(self.geo.len() as u32);
        self.time.push(t);
        self.channel.push(channel as u8);
        self.number_type.push(number_type.unwrap_or(NO_NUMBER_TYPE));
        self.disposition.push(disp);
        self.purpose.push(purpose);
        self.cust.push(cust);
        self.addr.push(addr);
        self.acct.push(acct);
        self.link(i);
        let after = self.dispositions.len() + self.purposes.len() + self.geocodes.len();
        Ok(Appended { index: Some(i), new_names: after != before })
    }

    fn link(&mut self, i: u32) {
        let (c, a, k) = (self.cust[i as usize], self.addr[i as usize], self.acct[i as usize]);
        if c != NONE {
            self.by_cust.insert(c, i, &self.time);
        }
        if a != NONE {
            self.by_addr.insert(a, i, &self.time);
        }
        if k != NONE {
            self.by_acct.insert(k, i, &self.time);
        }
    }

    /// Room for `n` more appended attempts: the server reserves it at start so
    /// an append never copies millions of rows while holding the org's lock.
    /// (Large reservations are mapped lazily: untouched room costs no memory.)
    pub fn reserve(&mut self, n: usize) {
        self.time.reserve(n);
        self.channel.reserve(n);
        self.disposition.reserve(n);
        self.number_type.reserve(n);
        self.purpose.reserve(n);
        self.geo_start.reserve(n);
        self.geo.reserve(n);
        self.cust.reserve(n);
        self.addr.reserve(n);
        self.acct.reserve(n);
    }

    /// Takes attempt `i` out of every count (PATCH status Disabled) or puts it back.
    pub fn set_counted(&mut self, i: u32, counted: bool) {
        if counted {
            self.link(i);
            return;
        }
        let (c, a, k) = (self.cust[i as usize], self.addr[i as usize], self.acct[i as usize]);
        if c != NONE {
            self.by_cust.remove(c, i);
        }
        if a != NONE {
            self.by_addr.remove(a, i);
        }
        if k != NONE {
            self.by_acct.remove(k, i);
        }
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }
    pub fn channel_of(&self, i: usize) -> Channel {
        Channel::ALL[self.channel[i] as usize]
    }
    pub fn geocodes_of(&self, i: usize) -> &[u32] {
        &self.geo[self.geo_start[i] as usize..self.geo_start[i + 1] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(addr: &'a str, acct: &'a str, t: &'a str, disp: &'a str) -> Attempt<'a> {
        Attempt {
            contact_channel: Some("Voice"),
            contact_address: Some(addr),
            account_number: Some(acct),
            time_of_contact: Some(t),
            disposition: Some(disp),
            ..Default::default()
        }
    }

    #[test]
    fn bulk_postings_list_each_key_by_time_then_index() {
        // 5,000 attempts over 300 keys (and keyless rows), times with many ties
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let n = 5000;
        let keys: Vec<u32> = (0..n).map(|_| if next() % 10 == 0 { NONE } else { (next() % 300) as u32 }).collect();
        let time: Vec<i64> = (0..n).map(|_| (next() % 40) as i64 * 1_000).collect();
        let p = Postings::build(&keys, 300, &time);
        for id in 0..300u32 {
            let mut want: Vec<u32> = (0..n as u32).filter(|&i| keys[i as usize] == id).collect();
            want.sort_by_key(|&i| (time[i as usize], i));
            assert_eq!(p.get(id), want.as_slice(), "key {id}");
        }
        assert_eq!(p.get(300), &[] as &[u32]);
    }

    #[test]
    fn appends_keep_postings_sorted_and_disable_removes() {
        let mut b = HistoryBuilder::default();
        b.push(&at("2125550101", "A1", "2026-11-02T10:00:00Z", "NoAnswer"), std::iter::empty()).unwrap();
        b.push(&at("2125550101", "A1", "2026-11-02T12:00:00Z", "NoAnswer"), std::iter::empty()).unwrap();
        let mut h = b.build();
        let acct = h.accounts.get("A1").unwrap();
        assert_eq!(h.by_acct.get(acct), &[0, 1]);
        // An attempt older than both lands first; a new key and a new name are interned.
        let r =
            h.append(&at("(212) 555-0101", "A1", "2026-11-02T09:00:00Z", "Conversation"), std::iter::empty()).unwrap();
        assert_eq!(r, Appended { index: Some(2), new_names: true });
        assert_eq!(h.by_acct.get(acct), &[2, 0, 1]);
        assert_eq!(h.by_addr.get(h.addresses.get("2125550101").unwrap()), &[2, 0, 1]);
        let r = h.append(&at("3105550100", "A2", "2026-11-02T11:00:00Z", "NoAnswer"), std::iter::empty()).unwrap();
        assert_eq!(r, Appended { index: Some(3), new_names: false });
        assert_eq!(h.by_acct.get(h.accounts.get("A2").unwrap()), &[3]);
        h.set_counted(0, false);
        assert_eq!(h.by_acct.get(acct), &[2, 1]);
        h.set_counted(0, true);
        h.set_counted(0, true);
        assert_eq!(h.by_acct.get(acct), &[2, 0, 1], "re-enabling twice indexes once");
        let disabled = Attempt { status: Some("Disabled"), ..at("1", "A1", "2026-11-02T13:00:00Z", "x") };
        assert_eq!(h.append(&disabled, std::iter::empty()).unwrap().index, None);
        assert_eq!(h.len(), 4);
        assert_eq!(h.accounts.names()[acct as usize], "A1");
    }

    #[test]
    fn prefetch_hints_take_any_id_before_and_after_edits() {
        let mut b = HistoryBuilder::default();
        b.push(&at("2125550101", "A1", "2026-11-02T10:00:00Z", "NoAnswer"), std::iter::empty()).unwrap();
        let mut h = b.build();
        let ids = [0, 1, 2, NONE - 1, NONE];
        let hint = |h: &History| {
            for p in [&h.by_cust, &h.by_addr, &h.by_acct] {
                for &id in &ids {
                    p.prefetch_offsets(id);
                    p.prefetch_last(id);
                    p.prefetch_last_time(id, &h.time);
                }
            }
        };
        hint(&h);
        h.append(&at("2125550101", "A2", "2026-11-02T11:00:00Z", "NoAnswer"), std::iter::empty()).unwrap();
        hint(&h);
        assert_eq!(h.by_acct.get(h.accounts.get("A2").unwrap()), &[1]);
    }

    #[test]
    fn keeping_disabled_stores_them_out_of_every_count() {
        for keep in [false, true] {
            let mut b = if keep { HistoryBuilder::keeping_disabled() } else { HistoryBuilder::default() };
            let off = |t| Attempt { status: Some("Disabled"), ..at("2125550101", "A1", t, "NoAnswer") };
            b.push(&off("2026-11-02T09:00:00Z"), std::iter::empty()).unwrap();
            b.push(&at("2125550101", "A1", "2026-11-02T10:00:00Z", "NoAnswer"), std::iter::empty()).unwrap();
            b.push(&off("2026-11-02T11:00:00Z"), std::iter::empty()).unwrap();
            let h = b.build();
            assert_eq!((h.rows_read, h.disabled), (3, 2));
            let acct = h.accounts.get("A1").unwrap();
            if keep {
                assert_eq!((h.len(), h.uncounted.as_slice()), (3, &[0u32, 2][..]));
                assert_eq!(h.by_acct.get(acct), &[1], "only the Enabled one counts");
                assert_eq!(h.by_addr.get(h.addresses.get("2125550101").unwrap()), &[1]);
            } else {
                assert_eq!((h.len(), h.uncounted.len()), (1, 0));
                assert_eq!(h.by_acct.get(acct), &[0]);
            }
        }
    }
}

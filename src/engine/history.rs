//! The attempt history, columnar and indexed for tracker lookups (SPEC §7).
//!
//! Strings are interned to dense ids once at load; each key kind (customer,
//! address key, account) gets a posting list of attempt indices sorted by
//! (key, time), so counting a tracker window is a hash lookup, a binary search
//! and a short scan. Disabled attempts are dropped at build: they never count.

use ahash::AHashMap;
use chrono::{DateTime, Utc};
use rayon::prelude::*;

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
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Attempt indices grouped by key id, each group sorted by time.
#[derive(Debug, Default)]
pub struct Postings {
    offsets: Vec<u32>,
    idx: Vec<u32>,
}

impl Postings {
    fn build(keys: &[u32], n_ids: usize, time: &[i64]) -> Postings {
        let mut offsets = vec![0u32; n_ids + 1];
        for &k in keys {
            if k != NONE {
                offsets[k as usize + 1] += 1;
            }
        }
        for i in 0..n_ids {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut idx = vec![0u32; offsets[n_ids] as usize];
        for (i, &k) in keys.iter().enumerate() {
            if k != NONE {
                idx[fill[k as usize] as usize] = i as u32;
                fill[k as usize] += 1;
            }
        }
        // Sort each group by time; groups are disjoint slices, so sort them in parallel.
        let mut groups: Vec<&mut [u32]> = Vec::with_capacity(n_ids);
        let mut rest: &mut [u32] = &mut idx;
        for w in offsets.windows(2) {
            let (g, r) = rest.split_at_mut((w[1] - w[0]) as usize);
            groups.push(g);
            rest = r;
        }
        groups.par_iter_mut().for_each(|g| {
            if g.len() > 1 {
                g.sort_by_key(|&i| (time[i as usize], i));
            }
        });
        Postings { offsets, idx }
    }

    pub fn get(&self, id: u32) -> &[u32] {
        let (a, b) = (
            self.offsets[id as usize] as usize,
            self.offsets[id as usize + 1] as usize,
        );
        &self.idx[a..b]
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
    pub customers: Interner,
    pub addresses: Interner,
    pub accounts: Interner,
    pub dispositions: Interner,
    pub purposes: Interner,
    pub geocodes: Interner,
    pub by_cust: Postings,
    pub by_addr: Postings,
    pub by_acct: Postings,
    /// Rows read, including disabled attempts.
    pub rows_read: usize,
    pub disabled: usize,
}

/// Accumulates attempts, then [`HistoryBuilder::build`] sorts the postings.
#[derive(Debug)]
pub struct HistoryBuilder {
    h: History,
    buf: String,
}

impl Default for HistoryBuilder {
    fn default() -> Self {
        let mut h = History::default();
        h.geo_start.push(0);
        HistoryBuilder {
            h,
            buf: String::new(),
        }
    }
}

pub fn to_nanos(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN + 1
    } else {
        i64::MAX
    })
}

pub fn from_nanos(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(n)
}

impl HistoryBuilder {
    pub fn len(&self) -> usize {
        self.h.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.h.time.is_empty()
    }

    /// Adds one attempt; `extra_geocodes` carries list-typed geocodes.
    /// `Err` names the field of a bad row (SPEC §11: it stops the run).
    pub fn push<'a>(
        &mut self,
        a: &Attempt<'a>,
        extra_geocodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), FieldError> {
        let channel = a.channel()?;
        let t = a.instant()?;
        let enabled = a.enabled()?;
        let number_type = a.number_type()?;
        self.h.rows_read += 1;
        if !enabled {
            self.h.disabled += 1;
            return Ok(());
        }
        let h = &mut self.h;
        let buf = &mut self.buf;
        let intern = |i: &mut Interner, s: &str| if s.is_empty() { NONE } else { i.intern(s) };
        normalize::address_into(channel, a.contact_address.unwrap_or(""), buf);
        let addr = intern(&mut h.addresses, buf);
        normalize::trimmed_into(a.customer.unwrap_or(""), buf);
        let cust = intern(&mut h.customers, buf);
        normalize::trimmed_into(a.account_number.unwrap_or(""), buf);
        let acct = intern(&mut h.accounts, buf);
        normalize::lower_into(a.disposition.unwrap_or(""), buf);
        let disp = intern(&mut h.dispositions, buf);
        normalize::lower_into(a.purpose.unwrap_or(""), buf);
        let purp = intern(&mut h.purposes, buf);
        for g in a
            .geocodes
            .map(normalize::split_list)
            .into_iter()
            .flatten()
            .chain(extra_geocodes)
        {
            normalize::lower_into(g, buf);
            if !buf.is_empty() {
                let id = h.geocodes.intern(buf);
                h.geo.push(id);
            }
        }
        h.geo_start.push(h.geo.len() as u32);
        h.time.push(to_nanos(t));
        h.channel.push(channel as u8);
        h.disposition.push(disp);
        h.number_type.push(number_type.unwrap_or(NO_NUMBER_TYPE));
        h.purpose.push(purp);
        h.cust.push(cust);
        h.addr.push(addr);
        h.acct.push(acct);
        Ok(())
    }

    pub fn build(self) -> History {
        let mut h = self.h;
        let (c, a, k) = rayon::join(
            || Postings::build(&h.cust, h.customers.len(), &h.time),
            || {
                rayon::join(
                    || Postings::build(&h.addr, h.addresses.len(), &h.time),
                    || Postings::build(&h.acct, h.accounts.len(), &h.time),
                )
            },
        )
        .into_parts();
        h.by_cust = c;
        h.by_addr = a;
        h.by_acct = k;
        h
    }
}

trait IntoParts<A, B, C> {
    fn into_parts(self) -> (A, B, C);
}
impl<A, B, C> IntoParts<A, B, C> for (A, (B, C)) {
    fn into_parts(self) -> (A, B, C) {
        (self.0, self.1 .0, self.1 .1)
    }
}

impl History {
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

//! Collecting registry-sized sets of phone keys in bounded memory.
//!
//! Why: a 250M-number registry read as `u64`s and then sorted needs the keys
//! twice over (2 GB each) and grows its buffers by copying into fresh pages.
//! Phone keys are small numbers (10 digits < 2^34), so the collector files
//! each key on arrival under its top bits — 1,024 partitions of 2^24 values —
//! and keeps only the low 24 bits, in a `u32`: 4 bytes a key, in blocks that
//! are never reallocated. Building the compact set then sorts one partition
//! at a time through a 2 MiB bitmap (which also drops duplicates) and writes
//! the set's low parts and bucket table directly, freeing each partition as
//! it goes. Keys of 2^34 and above (rare: numbers of 11+ digits) are kept
//! whole and become a second set built the general way.

use std::sync::Mutex;

use rayon::prelude::*;

use super::dnc::{choose_shift, width_for, Lows, PhoneSet};

/// Low bits kept per key; a partition spans 2^LOW_BITS values.
const LOW_BITS: u32 = 24;
const PARTS: usize = 1 << 10;
/// Keys below this are partitioned; the rest are kept whole.
pub const LIMIT: u64 = (PARTS as u64) << LOW_BITS;
const LOW_MASK: u64 = (1 << LOW_BITS) - 1;
/// Largest block of a partition (256 KiB).
const BLOCK: usize = 1 << 16;
/// Keys a [`Stager`] holds per partition before taking the partition's lock.
const STAGE: usize = 256;
/// `u64` words of one partition's bitmap.
const WORDS: usize = 1 << (LOW_BITS - 6);

#[derive(Debug, Default, Clone)]
struct Part {
    /// Low bits of the keys, in blocks filled in order.
    blocks: Vec<Vec<u32>>,
    /// The blocks hold distinct keys in ascending order.
    sorted: bool,
}

impl Part {
    fn len(&self) -> usize {
        self.blocks.iter().map(Vec::len).sum()
    }

    fn push_slice(&mut self, mut s: &[u32]) {
        if s.is_empty() {
            return;
        }
        self.sorted = false;
        while !s.is_empty() {
            let room = self.blocks.last().map_or(0, |b| b.capacity() - b.len());
            if room == 0 {
                // blocks grow with the partition, so a few keys cost a few bytes
                let cap = self.len().clamp(1024, BLOCK).max(s.len().min(BLOCK));
                self.blocks.push(Vec::with_capacity(cap));
                continue;
            }
            let (now, rest) = s.split_at(room.min(s.len()));
            self.blocks.last_mut().expect("a block").extend_from_slice(now);
            s = rest;
        }
    }

    /// Sorts and deduplicates in place through `bits` (all zero before and after),
    /// keeping the keys `keep` accepts (`base` is the partition's first key).
    fn sort(&mut self, bits: &mut [u64], base: u64, keep: &(impl Fn(u64) -> bool + Sync)) {
        if self.len() < WORDS / 4 {
            // sparse: a plain sort beats scanning a 2 MiB bitmap
            let mut all = self.blocks.concat();
            all.sort_unstable();
            all.dedup();
            all.retain(|&low| keep(base | low as u64));
            self.blocks = if all.is_empty() { Vec::new() } else { vec![all] };
            self.sorted = true;
            return;
        }
        for b in &self.blocks {
            for &low in b {
                bits[(low >> 6) as usize] |= 1 << (low & 63);
            }
        }
        let (mut bi, mut at) = (0usize, 0usize);
        for (w, word) in bits.iter_mut().enumerate() {
            let mut x = std::mem::take(word);
            while x != 0 {
                let low = (w as u32) << 6 | x.trailing_zeros();
                x &= x - 1;
                if !keep(base | low as u64) {
                    continue;
                }
                // distinct keys never outnumber the stored ones, so the cursor stays behind the reads
                while at == self.blocks[bi].len() {
                    bi += 1;
                    at = 0;
                }
                self.blocks[bi][at] = low;
                at += 1;
            }
        }
        if let Some(b) = self.blocks.get_mut(bi) {
            b.truncate(at);
        }
        self.blocks.truncate(bi + 1);
        self.blocks.retain(|b| !b.is_empty());
        self.sorted = true;
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.blocks.iter().flatten().copied()
    }

    /// Whether the (sorted) partition holds `low`.
    fn has(&self, low: u32) -> bool {
        let b = self.blocks.partition_point(|b| b.last().is_some_and(|&l| l < low));
        self.blocks.get(b).is_some_and(|b| b.binary_search(&low).is_ok())
    }
}

/// A growing set of phone keys: shared by parallel loaders through [`Stager`]s,
/// turned into [`PhoneSet`]s at the end.
#[derive(Debug)]
pub struct KeyCollector {
    parts: Vec<Mutex<Part>>,
    /// Keys at or above [`LIMIT`], and whether they are sorted and distinct.
    overflow: Mutex<(Vec<u64>, bool)>,
}

impl Default for KeyCollector {
    fn default() -> Self {
        KeyCollector { parts: (0..PARTS).map(|_| Mutex::default()).collect(), overflow: Mutex::default() }
    }
}

impl Clone for KeyCollector {
    fn clone(&self) -> Self {
        KeyCollector {
            parts: self.parts.iter().map(|p| Mutex::new(p.lock().expect("part").clone())).collect(),
            overflow: Mutex::new(self.overflow.lock().expect("overflow").clone()),
        }
    }
}

impl KeyCollector {
    /// Adds one key.
    pub fn insert(&mut self, v: u64) {
        if v < LIMIT {
            self.parts[(v >> LOW_BITS) as usize].get_mut().expect("part").push_slice(&[(v & LOW_MASK) as u32]);
        } else {
            let o = self.overflow.get_mut().expect("overflow");
            o.0.push(v);
            o.1 = false;
        }
    }

    /// A per-thread buffer for adding many keys from a parallel loader.
    pub fn stager(&self) -> Stager<'_> {
        Stager { owner: self, bufs: vec![Vec::new(); PARTS], over: Vec::new(), added: 0 }
    }

    /// Whether `v` was added (sorts the partition it falls in, once per change).
    pub fn contains(&mut self, v: u64) -> bool {
        if v >= LIMIT {
            let (o, sorted) = self.overflow.get_mut().expect("overflow");
            if !*sorted {
                o.sort_unstable();
                o.dedup();
                *sorted = true;
            }
            return o.binary_search(&v).is_ok();
        }
        let part = self.parts[(v >> LOW_BITS) as usize].get_mut().expect("part");
        if !part.sorted {
            part.sort(&mut vec![0u64; WORDS], v & !LOW_MASK, &|_| true);
        }
        part.has((v & LOW_MASK) as u32)
    }

    /// The keys `keep` accepts, as compact sets: one for the partitioned keys,
    /// and one more only if keys of 2^34 and above were added.
    pub fn into_sets(self, keep: impl Fn(u64) -> bool + Sync) -> Vec<PhoneSet> {
        let _small = crate::pages::SmallPages::new();
        let mut parts: Vec<Part> = self.parts.into_iter().map(|p| p.into_inner().expect("part")).collect();
        parts.par_iter_mut().enumerate().for_each_init(
            || vec![0u64; WORDS],
            |bits, (p, part)| {
                if !part.blocks.is_empty() {
                    part.sort(bits, (p as u64) << LOW_BITS, &keep);
                }
            },
        );
        let mut sets = Vec::new();
        if let Some(set) = build(parts) {
            sets.push(set);
        }
        let (mut over, _) = self.overflow.into_inner().expect("overflow");
        over.retain(|&v| keep(v));
        if !over.is_empty() {
            sets.push(PhoneSet::from_unsorted(over));
        }
        sets
    }

    /// All kept keys as one set (`scrub index build` writes a single file).
    pub fn into_set(self, keep: impl Fn(u64) -> bool + Sync) -> PhoneSet {
        let mut sets = self.into_sets(keep);
        match sets.len() {
            0 => PhoneSet::from_unsorted(Vec::new()),
            1 => sets.pop().expect("one set"),
            _ => PhoneSet::from_chunks(sets.iter().map(|s| s.iter().collect()).collect()),
        }
    }
}

/// Lays sorted partitions out as one compact set (the layout of [`PhoneSet`]).
fn build(parts: Vec<Part>) -> Option<PhoneSet> {
    let counts: Vec<usize> = parts.iter().map(Part::len).collect();
    let n: usize = counts.iter().sum();
    assert!(n < u32::MAX as usize, "at most 4 billion numbers per set");
    let first = counts.iter().position(|&c| c > 0)?;
    let last = counts.iter().rposition(|&c| c > 0)?;
    let min = key(first, parts[first].iter().next()?);
    let max = key(last, parts[last].iter().last()?);
    let shift = choose_shift(max - min, n);
    let nb = ((max - min) >> shift) + 1;
    let mask = if shift >= 64 { u64::MAX } else { (1u64 << shift) - 1 };
    let mut table = vec![0u32; nb as usize + 1];
    let layout = Layout { counts: &counts, first, last, min, shift };
    let lows = match width_for(shift) {
        2 => Lows::U16(layout.fill(parts, &mut table, |d| (d & mask) as u16)),
        4 => Lows::U32(layout.fill(parts, &mut table, |d| (d & mask) as u32)),
        _ => Lows::U64(layout.fill(parts, &mut table, |d| d & mask)),
    };
    Some(PhoneSet::from_raw(lows, table, n, min, shift, nb))
}

fn key(p: usize, low: u32) -> u64 {
    ((p as u64) << LOW_BITS) | low as u64
}

struct Layout<'a> {
    counts: &'a [usize],
    first: usize,
    last: usize,
    min: u64,
    shift: u32,
}

impl Layout<'_> {
    /// Writes every key's low part (`low(key − min)`) and the bucket table, a
    /// partition per task: each writes its own keys and the table entries of the
    /// buckets that start inside its value range (table[b] = keys below bucket b).
    fn fill<T: Copy + Default + Send>(
        &self,
        parts: Vec<Part>,
        table: &mut [u32],
        low: impl Fn(u64) -> T + Sync,
    ) -> Vec<T> {
        let n: usize = self.counts.iter().sum();
        let mut out = vec![T::default(); n];
        let bucket_start = |b: usize| self.min + ((b as u64) << self.shift);
        let buckets = table.len();
        let (mut lows, mut table) = (&mut out[..], table);
        let (mut offset, mut next_b) = (0usize, 0usize);
        let mut jobs = Vec::new();
        for (p, part) in parts.into_iter().enumerate().skip(self.first).take(self.last + 1 - self.first) {
            let hi = key(p, 0) + (1 << LOW_BITS);
            let mut b_end = next_b;
            while b_end < buckets && bucket_start(b_end) < hi {
                b_end += 1;
            }
            let (t, rest) = std::mem::take(&mut table).split_at_mut(b_end - next_b);
            table = rest;
            let (l, rest) = std::mem::take(&mut lows).split_at_mut(self.counts[p]);
            lows = rest;
            jobs.push((p, part, offset, next_b, t, l));
            offset += self.counts[p];
            next_b = b_end;
        }
        // buckets that start after the last key
        table.fill(n as u32);
        jobs.into_par_iter().for_each(|(p, part, offset, b0, t, l)| {
            let mut keys = part.iter().map(|low| key(p, low)).peekable();
            let mut below = offset;
            for (k, slot) in t.iter_mut().enumerate() {
                let s = bucket_start(b0 + k);
                while keys.next_if(|&v| v < s).is_some() {
                    below += 1;
                }
                *slot = below as u32;
            }
            for (slot, lo) in l.iter_mut().zip(part.iter()) {
                *slot = low(key(p, lo) - self.min);
            }
        });
        out
    }
}

/// Buffers keys per partition for one loader thread; flushes on drop.
pub struct Stager<'a> {
    owner: &'a KeyCollector,
    bufs: Vec<Vec<u32>>,
    over: Vec<u64>,
    /// Keys pushed through this stager (duplicates included).
    pub added: usize,
}

impl Stager<'_> {
    #[inline]
    pub fn push(&mut self, v: u64) {
        self.added += 1;
        if v >= LIMIT {
            self.over.push(v);
            return;
        }
        let p = (v >> LOW_BITS) as usize;
        let b = &mut self.bufs[p];
        if b.capacity() == 0 {
            b.reserve_exact(STAGE);
        }
        b.push((v & LOW_MASK) as u32);
        if b.len() == STAGE {
            self.owner.parts[p].lock().expect("part").push_slice(b);
            b.clear();
        }
    }
}

impl Drop for Stager<'_> {
    fn drop(&mut self) {
        for (p, b) in self.bufs.iter().enumerate() {
            if !b.is_empty() {
                self.owner.parts[p].lock().expect("part").push_slice(b);
            }
        }
        if !self.over.is_empty() {
            let mut o = self.owner.overflow.lock().expect("overflow");
            o.0.append(&mut self.over);
            o.1 = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(keys: &[u64]) -> Vec<u64> {
        let mut v = keys.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    }

    fn keys(n: u64, seed: u64) -> Vec<u64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                2_000_000_000 + x % 8_000_000_000
            })
            .collect()
    }

    #[test]
    fn collects_like_a_sort_with_duplicates_and_partitions_left_empty() {
        let mut all = keys(300_000, 7);
        all.extend_from_within(..5000); // duplicates
        all.extend([LIMIT - 1, 0, 1, 16_777_215, 16_777_216]); // partition edges
        let c = KeyCollector::default();
        all.par_chunks(10_007).for_each(|ch| {
            let mut s = c.stager();
            ch.iter().for_each(|&v| s.push(v));
        });
        let sets = c.into_sets(|_| true);
        assert_eq!(sets.len(), 1);
        let want = reference(&all);
        assert_eq!(sets[0].len(), want.len());
        assert_eq!(sets[0].iter().collect::<Vec<_>>(), want);
        let plain = PhoneSet::from_unsorted(all.clone());
        for v in keys(20_000, 99).into_iter().chain(want.iter().copied()).chain([2, 16_777_217, LIMIT]) {
            assert_eq!(sets[0].contains(v), plain.contains(v), "{v}");
        }
    }

    #[test]
    fn removals_overflow_and_membership_while_loading() {
        let mut c = KeyCollector::default();
        let ks = keys(50_000, 3);
        for &v in &ks {
            c.insert(v);
        }
        let big = [LIMIT, 12_125_550_101_000, u64::MAX];
        for v in big {
            c.insert(v);
        }
        assert!(c.contains(ks[17]) && c.contains(LIMIT) && !c.contains(LIMIT + 1));
        assert!(!c.contains(1_999_999_999));
        c.insert(1_999_999_999); // after a sort: the partition sorts again
        assert!(c.contains(1_999_999_999) && c.contains(ks[17]));
        let gone = ks[100];
        let sets = c.clone().into_sets(|v| v != gone && v != u64::MAX);
        assert_eq!(sets.len(), 2);
        assert!(!sets[0].contains(gone) && sets[0].contains(ks[101]) && sets[0].contains(1_999_999_999));
        assert!(sets[1].contains(LIMIT) && sets[1].contains(12_125_550_101_000) && !sets[1].contains(u64::MAX));
        let one = c.into_set(|v| v != gone);
        let mut want = ks.clone();
        want.extend(big);
        want.push(1_999_999_999);
        want.retain(|&v| v != gone);
        assert_eq!(one.iter().collect::<Vec<_>>(), reference(&want));
    }

    #[test]
    fn dense_partitions_sort_through_the_bitmap_like_sparse_ones() {
        // 200k keys in two partitions (bitmap path) plus sparse ones elsewhere (sort path)
        let mut all: Vec<u64> = keys(200_000, 5).into_iter().map(|v| (150 << LOW_BITS) + v % (2 << LOW_BITS)).collect();
        all.extend(keys(3000, 9));
        all.extend_from_within(..777);
        let dense_one = all[0];
        let c = KeyCollector::default();
        all.par_chunks(4099).for_each(|ch| {
            let mut st = c.stager();
            ch.iter().for_each(|&v| st.push(v));
        });
        let mut c2 = c.clone();
        assert!(c2.contains(dense_one) && c2.contains(all[200_001]) && !c2.contains(1));
        let sets = c.into_sets(|v| v != dense_one);
        let mut want = reference(&all);
        want.retain(|&v| v != dense_one);
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].iter().collect::<Vec<_>>(), want);
        assert!(!sets[0].contains(dense_one) && sets[0].contains(want[want.len() / 2]));
    }

    #[test]
    fn empty_and_tiny() {
        assert!(KeyCollector::default().into_sets(|_| true).is_empty());
        let mut c = KeyCollector::default();
        c.insert(5);
        c.insert(5);
        let s = c.into_set(|_| true);
        assert!(s.contains(5) && s.len() == 1 && !s.contains(4));
    }
}

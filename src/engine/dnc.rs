//! A compact set of phone numbers for registry-sized do-not-call lists.
//!
//! Permanent, unscoped, id-less Voice exclusions (the national registry case)
//! carry no information but the number, so they are kept as a sorted set
//! split into high and low bits: a table indexed by `(v − min) >> shift` gives
//! each bucket's range (4 bytes per ~64 numbers), and only the low `shift`
//! bits of each number are stored — 2 bytes for 10-digit phone numbers at
//! registry density, so 250M numbers take ~0.5 GB instead of hash-map
//! gigabytes. A probe reads one table entry and binary-searches ~64 low parts
//! (two cache lines). The same layout is the on-disk format
//! (`scrub index build`), memory-mapped as is, so loading costs nothing.
//!
//! Only digit strings that round-trip through `u64` (1–19 digits, no leading
//! zero) are eligible; anything else stays in the general index, so using
//! the compact set never changes an answer.
use std::fs::File;
use std::io::Write;
use std::path::Path;

use memmap2::Mmap;
use rayon::prelude::*;

const MAGIC: &[u8; 8] = b"SCRUBDNC";
const VERSION: u32 = 2;
const HEADER: usize = 64;
/// Numbers per bucket on average.
const PER_BUCKET: u64 = 64;

/// The `u64` key of a normalised phone (digits only), if eligible.
pub fn phone_key(digits: &str) -> Option<u64> {
    let b = digits.as_bytes();
    if b.is_empty() || b.len() > 19 || b[0] == b'0' {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    Some(v)
}

/// Digits of any text as a key (registry lines, raw exclusion values).
pub fn phone_key_of_text(s: &str) -> Option<u64> {
    ten_digits(s.as_bytes()).or_else(|| phone_key_of_digits(s.bytes()))
}

/// [`phone_key_of_text`] of raw bytes (a Parquet page's value): `None` also
/// when they are not UTF-8, as Arrow would refuse them as text.
#[inline]
pub fn phone_key_of_utf8(b: &[u8]) -> Option<u64> {
    ten_digits(b).or_else(|| std::str::from_utf8(b).ok().and_then(phone_key_of_text))
}

/// The registry case, ten plain digits not starting with 0, parsed eight at
/// a time; `None` for anything else.
#[inline]
fn ten_digits(b: &[u8]) -> Option<u64> {
    if b.len() != 10 || b[0] == b'0' {
        return None;
    }
    let h = eight_digits(u64::from_le_bytes(b[..8].try_into().expect("8 bytes")))?;
    let (d8, d9) = (b[8].wrapping_sub(b'0'), b[9].wrapping_sub(b'0'));
    (d8 < 10 && d9 < 10).then(|| h * 100 + d8 as u64 * 10 + d9 as u64)
}

/// Eight ASCII digits (little-endian load, first digit in the low byte) as a
/// number, or `None` if any byte is not a digit.
#[inline]
fn eight_digits(x: u64) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let d = x.wrapping_sub(ONES * b'0' as u64);
    // every byte ≥ '0' (no borrow into the high bit) and ≤ '9' (adding 0x76 stays below 0x80)
    if (d | d.wrapping_add(ONES * 0x76)) & (ONES * 0x80) != 0 {
        return None;
    }
    let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
    let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((d.wrapping_mul(10_000) + (d >> 32)) & 0xFFFF_FFFF)
}

/// The digits among `bytes` as a key (other bytes are skipped).
pub fn phone_key_of_digits(bytes: impl Iterator<Item = u8>) -> Option<u64> {
    let mut v = 0u64;
    let mut n = 0;
    for c in bytes {
        if c.is_ascii_digit() {
            if n == 0 && c == b'0' {
                return None;
            }
            n += 1;
            if n > 19 {
                return None;
            }
            v = v * 10 + (c - b'0') as u64;
        }
    }
    (n > 0).then_some(v)
}

/// Partition bits of the radix sort: 65,536 partitions of ~4,000 keys at 250M.
const PART_BITS: u32 = 16;

/// Sorts and deduplicates keys from several chunks into `out` (MSD radix
/// partition by the top bits of `v − min`, then each partition sorted in
/// parallel in cache). Returns the number of distinct keys.
fn sort_into(chunks: Vec<Vec<u64>>, out: &mut [u64]) -> usize {
    let n: usize = chunks.iter().map(Vec::len).sum();
    if n == 0 {
        return 0;
    }
    let min = chunks.par_iter().filter_map(|c| c.iter().min().copied()).min().unwrap();
    let max = chunks.par_iter().filter_map(|c| c.iter().max().copied()).max().unwrap();
    let bits = 64 - (max - min).leading_zeros();
    let shift = bits.saturating_sub(PART_BITS);
    let parts = 1usize << bits.min(PART_BITS);
    let part = |v: u64| ((v - min) >> shift) as usize;
    let hists: Vec<Vec<u32>> = chunks
        .par_iter()
        .map(|c| {
            let mut h = vec![0u32; parts];
            for &v in c {
                h[part(v)] += 1;
            }
            h
        })
        .collect();
    // starts[c][p]: where chunk c writes its keys of partition p
    let (bounds, starts) = super::par::scatter_plan(&hists, parts);
    drop(hists);
    let base = super::par::SendPtr(out.as_mut_ptr());
    chunks.into_par_iter().zip(starts).for_each(|(c, mut at)| {
        for v in c {
            let p = part(v);
            // SAFETY: slot ranges of different chunks and partitions are disjoint and in bounds.
            unsafe { base.write(at[p], v) };
            at[p] += 1;
        }
    });
    // sort + dedup each partition in parallel, then compact partitions down
    let mut slices: Vec<&mut [u64]> = Vec::with_capacity(parts);
    let mut rest: &mut [u64] = &mut out[..n];
    for p in 0..parts {
        let (a, b) = rest.split_at_mut(bounds[p + 1] - bounds[p]);
        slices.push(a);
        rest = b;
    }
    let lens: Vec<usize> = slices
        .into_par_iter()
        .map(|s| {
            s.sort_unstable();
            let mut w = 0;
            for r in 0..s.len() {
                if r == 0 || s[r] != s[w - 1] {
                    s[w] = s[r];
                    w += 1;
                }
            }
            w
        })
        .collect();
    let mut w = 0;
    for p in 0..parts {
        let (from, len) = (bounds[p], lens[p]);
        if from != w {
            out.copy_within(from..from + len, w);
        }
        w += len;
    }
    w
}

/// A hint to bring the cache line at `p` closer; never faults, never changes a value.
#[inline(always)]
pub(super) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it does not dereference `p` architecturally.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Stored low parts, by width.
pub(super) enum Lows {
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    /// On-disk index: table and lows inside the map.
    Mapped(Mmap),
}

/// A sorted, deduplicated set of phone keys (see the module docs).
pub struct PhoneSet {
    lows: Lows,
    /// Owned bucket table (empty when mapped).
    table: Vec<u32>,
    len: usize,
    min: u64,
    shift: u32,
    /// Buckets; the table has `nb + 1` entries.
    nb: u64,
    /// Bytes per stored low part: 2, 4 or 8.
    width: u32,
}

impl std::fmt::Debug for PhoneSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneSet({} numbers, {} bytes each)", self.len, self.width)
    }
}

/// The smallest shift giving at most ~`n / PER_BUCKET` buckets over the range.
pub(super) fn choose_shift(range: u64, n: usize) -> u32 {
    let target = (n as u64 / PER_BUCKET).max(1);
    let mut s = 0;
    while s < 63 && (range >> s) + 1 > target {
        s += 1;
    }
    s
}

pub(super) fn width_for(shift: u32) -> u32 {
    match shift {
        0..=16 => 2,
        17..=32 => 4,
        _ => 8,
    }
}

fn table_offset(nb: u64) -> usize {
    (HEADER + (nb as usize + 1) * 4).next_multiple_of(8)
}

impl PhoneSet {
    /// Builds from unsorted keys (sorted and deduplicated here, in parallel).
    pub fn from_unsorted(values: Vec<u64>) -> PhoneSet {
        PhoneSet::from_chunks(vec![values])
    }

    /// Builds from several chunks of unsorted keys, consuming them.
    pub fn from_chunks(chunks: Vec<Vec<u64>>) -> PhoneSet {
        let n: usize = chunks.iter().map(Vec::len).sum();
        let mut out = vec![0u64; n];
        let len = sort_into(chunks, &mut out);
        out.truncate(len);
        assert!(len < u32::MAX as usize, "at most 4 billion numbers per set");
        let (min, max) = if len == 0 { (0, 0) } else { (out[0], out[len - 1]) };
        let shift = choose_shift(max - min, len);
        let nb = ((max - min) >> shift) + 1;
        let mut table = vec![0u32; nb as usize + 1];
        for &v in &out {
            table[((v - min) >> shift) as usize + 1] += 1;
        }
        for b in 0..nb as usize {
            table[b + 1] += table[b];
        }
        let mask = if shift >= 64 { u64::MAX } else { (1u64 << shift) - 1 };
        let width = width_for(shift);
        let lows = match width {
            2 => Lows::U16(out.par_iter().map(|v| ((v - min) & mask) as u16).collect()),
            4 => Lows::U32(out.par_iter().map(|v| ((v - min) & mask) as u32).collect()),
            _ => Lows::U64(out.par_iter().map(|v| (v - min) & mask).collect()),
        };
        PhoneSet { lows, table, len, min, shift, nb, width }
    }

    /// A set from its parts, laid out by the caller (see `keyset`).
    pub(super) fn from_raw(lows: Lows, table: Vec<u32>, len: usize, min: u64, shift: u32, nb: u64) -> PhoneSet {
        debug_assert_eq!(table.len() as u64, nb + 1);
        PhoneSet { lows, table, len, min, shift, nb, width: width_for(shift) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn table(&self) -> &[u32] {
        match &self.lows {
            // SAFETY: `open` checked the size; the table starts 8-aligned in a page-aligned map.
            Lows::Mapped(m) => unsafe {
                std::slice::from_raw_parts(m.as_ptr().add(HEADER) as *const u32, self.nb as usize + 1)
            },
            _ => &self.table,
        }
    }

    fn mapped_lows<T>(&self, m: &Mmap) -> &[T] {
        // SAFETY: `open` checked the size; the lows start 8-aligned in a page-aligned map.
        unsafe { std::slice::from_raw_parts(m.as_ptr().add(table_offset(self.nb)) as *const T, self.len) }
    }

    /// The bucket of `v`, if `v` is inside the set's range.
    #[inline]
    fn bucket_of(&self, v: u64) -> Option<usize> {
        if self.len == 0 || v < self.min {
            return None;
        }
        let b = (v - self.min) >> self.shift;
        (b < self.nb).then_some(b as usize)
    }

    fn lows_ptr(&self) -> *const u8 {
        match &self.lows {
            Lows::U16(x) => x.as_ptr() as *const u8,
            Lows::U32(x) => x.as_ptr() as *const u8,
            Lows::U64(x) => x.as_ptr() as *const u8,
            // SAFETY: `open` checked the size; the offset is inside the map.
            Lows::Mapped(m) => unsafe { m.as_ptr().add(table_offset(self.nb)) },
        }
    }

    /// A cache hint for a coming [`PhoneSet::contains`]`(v)`, first stage: the
    /// bucket's table entry. Probes of a batch are random reads into a large
    /// table; issuing the hints for many keys before probing any of them
    /// overlaps their cache and TLB misses instead of paying them one by one.
    #[inline]
    pub fn prefetch_bucket(&self, v: u64) {
        if let Some(b) = self.bucket_of(v) {
            prefetch(self.table()[b..].as_ptr() as *const u8);
        }
    }

    /// Second stage, once the table entry is (likely) cached: the bucket's low parts.
    #[inline]
    pub fn prefetch_lows(&self, v: u64) {
        if let Some(b) = self.bucket_of(v) {
            let t = self.table();
            let w = self.width as usize;
            let (lo, hi) = (t[b] as usize * w, t[b + 1] as usize * w);
            let base = self.lows_ptr();
            let mut at = lo & !63;
            while at < hi {
                // cache-line steps over the bucket's bytes (the first may start a little before)
                prefetch(base.wrapping_add(at));
                at += 64;
            }
        }
    }

    pub fn contains(&self, v: u64) -> bool {
        let Some(b) = self.bucket_of(v) else {
            return false;
        };
        let d = v - self.min;
        let t = self.table();
        let (lo, hi) = (t[b] as usize, t[b + 1] as usize);
        let low = d & if self.shift >= 64 { u64::MAX } else { (1u64 << self.shift) - 1 };
        match (&self.lows, self.width) {
            (Lows::U16(x), _) => x[lo..hi].binary_search(&(low as u16)).is_ok(),
            (Lows::U32(x), _) => x[lo..hi].binary_search(&(low as u32)).is_ok(),
            (Lows::U64(x), _) => x[lo..hi].binary_search(&low).is_ok(),
            (Lows::Mapped(m), 2) => self.mapped_lows::<u16>(m)[lo..hi].binary_search(&(low as u16)).is_ok(),
            (Lows::Mapped(m), 4) => self.mapped_lows::<u32>(m)[lo..hi].binary_search(&(low as u32)).is_ok(),
            (Lows::Mapped(m), _) => self.mapped_lows::<u64>(m)[lo..hi].binary_search(&low).is_ok(),
        }
    }

    fn low_at(&self, i: usize) -> u64 {
        match (&self.lows, self.width) {
            (Lows::U16(x), _) => x[i] as u64,
            (Lows::U32(x), _) => x[i] as u64,
            (Lows::U64(x), _) => x[i],
            (Lows::Mapped(m), 2) => self.mapped_lows::<u16>(m)[i] as u64,
            (Lows::Mapped(m), 4) => self.mapped_lows::<u32>(m)[i] as u64,
            (Lows::Mapped(m), _) => self.mapped_lows::<u64>(m)[i],
        }
    }

    /// The numbers in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let t = self.table();
        (0..self.nb as usize).flat_map(move |b| {
            (t[b] as usize..t[b + 1] as usize).map(move |i| self.min + ((b as u64) << self.shift) + self.low_at(i))
        })
    }

    /// Bytes used by the set (low parts + bucket table).
    pub fn bytes(&self) -> usize {
        self.len * self.width as usize + (self.nb as usize + 1) * 4
    }

    /// Writes the on-disk format; `path` is replaced atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = crate::io::tmp_path(path);
        let mut w = std::io::BufWriter::with_capacity(1 << 22, File::create(&tmp)?);
        let mut head = Vec::with_capacity(HEADER);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&self.width.to_le_bytes());
        for x in [self.len as u64, self.min, self.shift as u64, self.nb, 0, 0] {
            head.extend_from_slice(&x.to_le_bytes());
        }
        w.write_all(&head)?;
        let t = self.table();
        let bytes: Vec<u8> = t.iter().flat_map(|b| b.to_le_bytes()).collect();
        w.write_all(&bytes)?;
        w.write_all(&vec![0u8; table_offset(self.nb) - HEADER - t.len() * 4])?;
        let mut buf = Vec::with_capacity(1 << 20);
        for i in 0..self.len {
            let v = self.low_at(i);
            match self.width {
                2 => buf.extend_from_slice(&(v as u16).to_le_bytes()),
                4 => buf.extend_from_slice(&(v as u32).to_le_bytes()),
                _ => buf.extend_from_slice(&v.to_le_bytes()),
            }
            if buf.len() >= 1 << 20 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        w.write_all(&buf)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    }

    /// Memory-maps an index written by [`PhoneSet::save`].
    pub fn open(path: &Path) -> Result<PhoneSet, String> {
        if cfg!(target_endian = "big") {
            return Err("compact indexes are little-endian only".into());
        }
        let f = File::open(path).map_err(|e| e.to_string())?;
        // SAFETY: the file is opened read-only; scrub never writes an index in place
        // (saves go through a temporary name and a rename).
        let m = unsafe { Mmap::map(&f) }.map_err(|e| e.to_string())?;
        if m.len() < HEADER || &m[..8] != MAGIC {
            return Err("not a scrub DNC index (bad magic)".into());
        }
        let u32_at = |o: usize| u32::from_le_bytes(m[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_le_bytes(m[o..o + 8].try_into().unwrap());
        if u32_at(8) != VERSION {
            return Err(format!("unsupported index version {} (rebuild it with this scrub)", u32_at(8)));
        }
        let width = u32_at(12);
        let (len, min, shift, nb) = (u64_at(16) as usize, u64_at(24), u64_at(32) as u32, u64_at(40));
        if !matches!(width, 2 | 4 | 8) || width != width_for(shift) || nb == 0 {
            return Err("corrupt index header".into());
        }
        let expected = table_offset(nb) + len * width as usize;
        if m.len() != expected {
            return Err(format!("truncated or corrupt index ({} bytes, expected {expected})", m.len()));
        }
        #[cfg(unix)]
        {
            let _ = m.advise(memmap2::Advice::Random);
        }
        Ok(PhoneSet { lows: Lows::Mapped(m), table: Vec::new(), len, min, shift, nb, width })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_only_when_exact() {
        assert_eq!(phone_key("2125550101"), Some(2125550101));
        assert_eq!(phone_key("0125550101"), None);
        assert_eq!(phone_key("12345678901234567890"), None);
        assert_eq!(phone_key_of_text("(212) 555-0101"), Some(2125550101));
        assert_eq!(phone_key_of_text("212,5550101"), Some(2125550101));
    }

    #[test]
    fn ten_digit_fast_path_agrees_with_the_digit_loop() {
        let mut x = 88172645463325252u64;
        let alphabet = b"0123456789012345678901234567890123456789 -()/:@+a\x7f\xff";
        for i in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = if i % 3 == 0 { (x % 14) as usize } else { 10 };
            let bytes: Vec<u8> = (0..len).map(|k| alphabet[((x >> (k * 5)) as usize + k) % alphabet.len()]).collect();
            let s = String::from_utf8_lossy(&bytes);
            assert_eq!(phone_key_of_text(&s), phone_key_of_digits(s.bytes()), "{s:?}");
        }
        for s in ["2125550101", "9999999999", "1000000000", "0125550101", "212555010a", "2125550:01", "21255501/1"] {
            assert_eq!(phone_key_of_text(s), phone_key_of_digits(s.bytes()), "{s:?}");
        }
        assert_eq!(phone_key_of_text("9876543210"), Some(9_876_543_210));
    }

    #[test]
    fn set_membership_in_memory_and_on_disk() {
        let vals: Vec<u64> = (0..10_000u64).map(|i| 2_000_000_000 + i * 7919 % 1_000_003 * 13).collect();
        let set = PhoneSet::from_unsorted(vals.clone());
        for v in &vals {
            assert!(set.contains(*v));
        }
        assert!(!set.contains(1) && !set.contains(9_999_999_999) && !set.contains(2_000_000_001));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.idx");
        set.save(&p).unwrap();
        let m = PhoneSet::open(&p).unwrap();
        assert_eq!(m.len(), set.len());
        for v in &vals {
            assert!(m.contains(*v));
        }
        assert!(!m.contains(2_000_000_001));
        assert_eq!(
            std::fs::metadata(&p).unwrap().len() as usize,
            table_offset(set.nb) + set.len() * set.width as usize
        );
        assert_eq!(m.iter().collect::<Vec<_>>(), set.iter().collect::<Vec<_>>());
        std::fs::write(&p, b"garbage").unwrap();
        assert!(PhoneSet::open(&p).is_err());
    }

    #[test]
    fn sparse_keys_use_wider_low_parts() {
        let vals: Vec<u64> = (1..2000u64).map(|i| i * 4_611_686_018_427_387 + 17).collect();
        let set = PhoneSet::from_unsorted(vals.clone());
        assert_eq!(set.width, 8);
        assert!(vals.iter().all(|v| set.contains(*v)));
        assert!(!set.contains(18) && !set.contains(u64::MAX));
        assert_eq!(set.iter().collect::<Vec<_>>(), vals);
        let mid: Vec<u64> = (0..5000u64).map(|i| 10_000_000_000_000 + i * 1_000_003).collect();
        let set = PhoneSet::from_unsorted(mid.clone());
        assert_eq!(set.width, 4);
        assert!(mid.iter().all(|v| set.contains(*v)) && !set.contains(10_000_000_000_001));
    }

    #[test]
    fn prefetch_hints_take_any_key() {
        let vals: Vec<u64> = (0..5000u64).map(|i| 2_000_000_000 + i * 104_729).collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.idx");
        let set = PhoneSet::from_unsorted(vals.clone());
        set.save(&p).unwrap();
        let sets = [set, PhoneSet::open(&p).unwrap(), PhoneSet::from_unsorted(vec![])];
        let (lo, hi) = (vals[0], *vals.last().unwrap());
        for s in &sets {
            for v in [0, 1, lo - 1, lo, lo + 1, hi - 1, hi, hi + 1, u64::MAX] {
                s.prefetch_bucket(v);
                s.prefetch_lows(v);
                assert_eq!(s.contains(v), !s.is_empty() && (v == lo || v == hi));
            }
        }
    }

    #[test]
    fn empty_and_single() {
        assert!(!PhoneSet::from_unsorted(vec![]).contains(5));
        let s = PhoneSet::from_unsorted(vec![5, 5]);
        assert!(s.contains(5) && s.len() == 1);
    }
}

//! A compact set of phone numbers for registry-sized do-not-call lists.
//!
//! Permanent, unscoped, id-less Voice exclusions (the national registry case)
//! carry no information but the number, so they are kept as sorted `u64`s
//! instead of hash-map entries: 8 bytes per number plus a bucket table of
//! 4 bytes per 64 numbers. A probe interpolates into the bucket table and
//! binary-searches ~64 values (one or two cache lines), so lookups stay fast
//! at 250M keys. The same layout is the on-disk format (`scrub index build`)
//! and is memory-mapped as is, so loading a prebuilt index costs nothing.
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
const VERSION: u32 = 1;
const HEADER: usize = 48;
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
    let mut v = 0u64;
    let mut n = 0;
    for c in s.bytes() {
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

enum Storage {
    Owned { values: Vec<u64>, buckets: Vec<u32> },
    Mapped(Mmap),
}

/// A sorted, deduplicated set of phone keys with an interpolation bucket table.
pub struct PhoneSet {
    storage: Storage,
    len: usize,
    min: u64,
    max: u64,
    nb: u64,
}

impl std::fmt::Debug for PhoneSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneSet({} numbers)", self.len)
    }
}

fn bucket_of(v: u64, min: u64, max: u64, nb: u64) -> usize {
    (((v - min) as u128 * nb as u128) / ((max - min) as u128 + 1)) as usize
}

fn build_buckets(values: &[u64], min: u64, max: u64, nb: u64) -> Vec<u32> {
    let mut buckets = vec![0u32; nb as usize + 1];
    let mut b = 0usize;
    for (i, &v) in values.iter().enumerate() {
        let vb = bucket_of(v, min, max, nb);
        while b < vb {
            b += 1;
            buckets[b] = i as u32;
        }
    }
    while b < nb as usize {
        b += 1;
        buckets[b] = values.len() as u32;
    }
    buckets
}

impl PhoneSet {
    /// Builds from unsorted keys (sorted and deduplicated here, in parallel).
    pub fn from_unsorted(mut values: Vec<u64>) -> PhoneSet {
        values.par_sort_unstable();
        values.dedup();
        values.shrink_to_fit();
        assert!(
            values.len() < u32::MAX as usize,
            "at most 4 billion numbers per set"
        );
        let (min, max) = (
            values.first().copied().unwrap_or(0),
            values.last().copied().unwrap_or(0),
        );
        let nb = (values.len() as u64 / PER_BUCKET).max(1);
        let buckets = build_buckets(&values, min, max, nb);
        PhoneSet {
            len: values.len(),
            min,
            max,
            nb,
            storage: Storage::Owned { values, buckets },
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn parts(&self) -> (&[u64], &[u32]) {
        match &self.storage {
            Storage::Owned { values, buckets } => (values, buckets),
            Storage::Mapped(m) => {
                let nb = self.nb as usize;
                let table = HEADER;
                let values_at = (table + (nb + 1) * 4).next_multiple_of(8);
                // SAFETY: `open` checked the length and that both regions are aligned
                // (the map is page-aligned, offsets are multiples of 4 and 8).
                unsafe {
                    (
                        std::slice::from_raw_parts(
                            m.as_ptr().add(values_at) as *const u64,
                            self.len,
                        ),
                        std::slice::from_raw_parts(m.as_ptr().add(table) as *const u32, nb + 1),
                    )
                }
            }
        }
    }

    pub fn contains(&self, v: u64) -> bool {
        if self.len == 0 || v < self.min || v > self.max {
            return false;
        }
        let (values, buckets) = self.parts();
        let b = bucket_of(v, self.min, self.max, self.nb);
        let (lo, hi) = (buckets[b] as usize, buckets[b + 1] as usize);
        values[lo..hi].binary_search(&v).is_ok()
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.parts().0.iter().copied()
    }

    /// Bytes used by the set (values + bucket table).
    pub fn bytes(&self) -> usize {
        self.len * 8 + (self.nb as usize + 1) * 4
    }

    /// Writes the on-disk format; `path` is replaced atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let (values, buckets) = self.parts();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.scrub-tmp-{}", std::process::id()));
        let mut w = std::io::BufWriter::with_capacity(1 << 22, File::create(&tmp)?);
        let mut head = Vec::with_capacity(HEADER);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes());
        for x in [self.len as u64, self.min, self.max, self.nb] {
            head.extend_from_slice(&x.to_le_bytes());
        }
        w.write_all(&head)?;
        for b in buckets {
            w.write_all(&b.to_le_bytes())?;
        }
        let pad = (HEADER + buckets.len() * 4).next_multiple_of(8) - (HEADER + buckets.len() * 4);
        w.write_all(&vec![0u8; pad])?;
        for chunk in values.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes)?;
        }
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
            return Err(format!("unsupported index version {}", u32_at(8)));
        }
        let (len, min, max, nb) = (u64_at(16) as usize, u64_at(24), u64_at(32), u64_at(40));
        let values_at = (HEADER + (nb as usize + 1) * 4).next_multiple_of(8);
        if nb == 0 || m.len() != values_at + len * 8 {
            return Err(format!(
                "truncated or corrupt index ({} bytes, expected {})",
                m.len(),
                values_at + len * 8
            ));
        }
        #[cfg(unix)]
        {
            let _ = m.advise(memmap2::Advice::Random);
        }
        Ok(PhoneSet {
            storage: Storage::Mapped(m),
            len,
            min,
            max,
            nb,
        })
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
    fn set_membership_in_memory_and_on_disk() {
        let vals: Vec<u64> = (0..10_000u64)
            .map(|i| 2_000_000_000 + i * 7919 % 1_000_003 * 13)
            .collect();
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
        let nb = set.nb as usize;
        assert_eq!(
            std::fs::metadata(&p).unwrap().len() as usize,
            (48 + (nb + 1) * 4).next_multiple_of(8) + set.len() * 8
        );
        std::fs::write(&p, b"garbage").unwrap();
        assert!(PhoneSet::open(&p).is_err());
    }

    #[test]
    fn empty_and_single() {
        assert!(!PhoneSet::from_unsorted(vec![]).contains(5));
        let s = PhoneSet::from_unsorted(vec![5, 5]);
        assert!(s.contains(5) && s.len() == 1);
    }
}

//! History key strings (customers, contact addresses, accounts) to dense ids.
//!
//! Why not a `HashMap<Box<str>, u32>`: a full scrub interns tens of millions
//! of attempt keys and looks up three keys per record. With boxed strings every
//! probe chases a pointer to a separate heap string and calls `memcmp` (a
//! profile of a 50M-attempt run spent ~20% of its CPU there), and every distinct
//! key is its own allocation. Here a key of up to 16 bytes (phone numbers,
//! account and customer numbers) is held inline in its table slot and compared
//! as one 16-byte value; a longer key (an email address) is held by its full
//! hash and its place in the partition's byte arena, and its bytes are read
//! only when the hashes agree.
//!
//! Keys are spread over [`PARTS`] partitions by the top byte of their hash, so
//! the bulk build interns each partition on its own (in parallel, with a table
//! that stays in cache) from keys the loaders filed by partition as they read.

use rayon::prelude::*;

/// Partitions (top byte of the key hash).
pub const PARTS: usize = 256;
/// Longest key held inline.
const INLINE: usize = 16;

/// A key as tables and staged rows hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    /// Inline: the bytes, zero padded. Long: the hash, then the arena offset.
    bytes: [u8; INLINE],
    len: u32,
}

impl Packed {
    fn is_inline(&self) -> bool {
        self.len as usize <= INLINE
    }
    fn long_hash(&self) -> u64 {
        u64::from_ne_bytes(self.bytes[..8].try_into().expect("8 bytes"))
    }
    fn long_offset(&self) -> usize {
        u64::from_ne_bytes(self.bytes[8..].try_into().expect("8 bytes")) as usize
    }
    fn long(hash: u64, offset: usize, len: usize) -> Packed {
        let mut bytes = [0u8; INLINE];
        bytes[..8].copy_from_slice(&hash.to_ne_bytes());
        bytes[8..].copy_from_slice(&(offset as u64).to_ne_bytes());
        Packed { bytes, len: len as u32 }
    }
    /// The key's bytes (a long key's are in `arena`).
    fn bytes_in<'a>(&'a self, arena: &'a [u8]) -> &'a [u8] {
        if self.is_inline() {
            &self.bytes[..self.len as usize]
        } else {
            &arena[self.long_offset()..self.long_offset() + self.len as usize]
        }
    }
    /// The hash of an inline key (a long key carries its own).
    fn hash(&self) -> u64 {
        if self.is_inline() {
            inline_hash(&self.bytes, self.len)
        } else {
            self.long_hash()
        }
    }
}

/// A query or a key being filed: its packed form and its hash.
#[derive(Debug, Clone, Copy)]
struct Probe<'a> {
    s: &'a [u8],
    packed: Packed,
    hash: u64,
}

impl<'a> Probe<'a> {
    fn new(s: &'a [u8]) -> Probe<'a> {
        if s.len() <= INLINE {
            let (lo, hi) = pack_short(s);
            let bytes = ((lo as u128) | (hi as u128) << 64).to_le_bytes();
            let packed = Packed { bytes, len: s.len() as u32 };
            Probe { s, packed, hash: word_hash(lo, hi, s.len() as u32) }
        } else {
            let hash = long_hash(s);
            Probe { s, packed: Packed::long(hash, 0, s.len()), hash }
        }
    }
    fn part(&self) -> usize {
        part_of(self.hash)
    }
    /// The key as stored: inline, or (long) its bytes appended to `arena`.
    fn stored_in(&self, arena: &mut Vec<u8>) -> Packed {
        if self.packed.is_inline() {
            return self.packed;
        }
        let at = arena.len();
        arena.extend_from_slice(self.s);
        Packed::long(self.hash, at, self.s.len())
    }
    /// Whether a stored key (long keys' bytes in `arena`) is this one.
    fn matches(&self, k: &Packed, arena: &[u8]) -> bool {
        if k.len != self.packed.len {
            return false;
        }
        if k.is_inline() {
            k.bytes == self.packed.bytes
        } else {
            k.long_hash() == self.hash && k.bytes_in(arena) == self.s
        }
    }
}

const K: [u64; 4] = [0xa076_1d64_78bd_642f, 0xe703_7ed1_a0b4_28db, 0x8ebc_6af0_9c88_c6e3, 0x5899_65cc_7537_4cc3];

/// Folded 64×64→128 multiply (as in wyhash/ahash).
fn fold(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

fn inline_hash(bytes: &[u8; INLINE], len: u32) -> u64 {
    let lo = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let hi = u64::from_le_bytes(bytes[8..].try_into().expect("8 bytes"));
    word_hash(lo, hi, len)
}

fn word_hash(lo: u64, hi: u64, len: u32) -> u64 {
    fold(fold(lo ^ K[0], hi ^ K[1]) ^ K[2], len as u64 ^ K[3])
}

fn load_u64(s: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"))
}

fn load_u32(s: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(s[at..at + 4].try_into().expect("4 bytes")) as u64
}

/// A key of at most 16 bytes as two little-endian words, zero padded, read
/// with overlapping fixed-size loads. (Why not `copy_from_slice` into a zeroed
/// buffer: that is a variable-length `memcpy` call per key, and measured 3×
/// slower per lookup — it stalls the overlap of the table's cache misses.)
fn pack_short(s: &[u8]) -> (u64, u64) {
    let n = s.len();
    debug_assert!(n <= INLINE);
    if n >= 8 {
        // Bytes 8..n sit at the top of the last eight bytes: shift them down.
        let hi = if n == 8 { 0 } else { load_u64(s, n - 8) >> ((16 - n) * 8) };
        (load_u64(s, 0), hi)
    } else if n >= 4 {
        let tail = load_u32(s, n - 4) >> ((8 - n) * 8);
        (load_u32(s, 0) | tail << 32, 0)
    } else {
        (s.iter().enumerate().fold(0u64, |x, (i, &c)| x | (c as u64) << (8 * i)), 0)
    }
}

fn long_hash(s: &[u8]) -> u64 {
    ahash::RandomState::with_seeds(K[0], K[1], K[2], K[3]).hash_one(s)
}

fn part_of(hash: u64) -> usize {
    (hash >> 56) as usize
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: Packed,
    id: u32,
}

/// The `len` of an empty slot's key (no key is 4 GB long).
const EMPTY: u32 = u32::MAX;

const EMPTY_SLOT: Slot = Slot { key: Packed { bytes: [0; INLINE], len: EMPTY }, id: 0 };

/// A partition's keys: open addressing with linear probing, at most half
/// full, slots in a power-of-two array indexed by the low bits of the hash.
///
/// Why not a SIMD hash table (hashbrown): a batch looks up three keys per
/// record in tables far larger than the cache, and a lookup is a chain of
/// misses the CPU cannot start early. Here a key's first slot is known from
/// its hash alone, so [`KeyInterner::prefetch`] fetches it for a group of
/// records before any is looked up. At most half full, a key found takes
/// 1.5 probes on average and a key absent (most contacts) 2.5, mostly in the
/// same cache line.
#[derive(Debug, Default)]
struct Table {
    slots: Vec<Slot>,
    len: usize,
}

impl Table {
    fn len(&self) -> usize {
        self.len
    }
    fn home(&self, hash: u64) -> usize {
        hash as usize & (self.slots.len() - 1)
    }
    fn find(&self, hash: u64, mut is: impl FnMut(&Slot) -> bool) -> Option<&Slot> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let s = &self.slots[i];
            if s.key.len == EMPTY {
                return None;
            }
            if is(s) {
                return Some(s);
            }
            i = (i + 1) & mask;
        }
    }
    /// Adds a slot whose key is not in the table.
    fn insert_new(&mut self, hash: u64, slot: Slot) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        while self.slots[i].key.len != EMPTY {
            i = (i + 1) & mask;
        }
        self.slots[i] = slot;
        self.len += 1;
    }
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; cap]);
        self.len = 0;
        for s in old.into_iter().filter(|s| s.key.len != EMPTY) {
            self.insert_new(s.key.hash(), s);
        }
    }
    fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            super::dnc::prefetch(&self.slots[self.home(hash)] as *const Slot as *const u8);
        }
    }
    fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().filter(|s| s.key.len != EMPTY)
    }
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.slots.iter_mut().filter(|s| s.key.len != EMPTY)
    }
}

#[derive(Debug, Default)]
struct Part {
    table: Table,
    /// Bytes of this partition's long keys.
    arena: Vec<u8>,
}

impl Part {
    fn find(&self, p: &Probe<'_>) -> Option<u32> {
        self.table.find(p.hash, |s| p.matches(&s.key, &self.arena)).map(|s| s.id)
    }
    /// The id of `p`, or `id` after adding it; `true` when added.
    fn find_or_add(&mut self, p: &Probe<'_>, id: u32) -> (u32, bool) {
        if let Some(found) = self.find(p) {
            return (found, false);
        }
        let key = p.stored_in(&mut self.arena);
        self.table.insert_new(p.hash, Slot { key, id });
        (id, true)
    }
    fn text<'a>(&'a self, k: &'a Packed) -> &'a str {
        std::str::from_utf8(k.bytes_in(&self.arena)).expect("keys are filed from str")
    }
}

/// Key strings to dense ids (`0..len()`), partitioned by hash.
#[derive(Debug)]
pub struct KeyInterner {
    parts: Vec<Part>,
    total: usize,
}

impl Default for KeyInterner {
    fn default() -> Self {
        KeyInterner { parts: (0..PARTS).map(|_| Part::default()).collect(), total: 0 }
    }
}

impl KeyInterner {
    /// The id of `s`, adding it when new (the server's one-at-a-time appends).
    pub fn intern(&mut self, s: &str) -> u32 {
        let p = Probe::new(s.as_bytes());
        let (id, added) = self.parts[p.part()].find_or_add(&p, self.total as u32);
        if added {
            self.total += 1;
        }
        id
    }

    /// The id of `s`; `None` when absent or empty.
    pub fn get(&self, s: &str) -> Option<u32> {
        if s.is_empty() {
            return None;
        }
        let p = Probe::new(s.as_bytes());
        self.parts[p.part()].find(&p)
    }

    /// Starts fetching the table slot where a lookup of `s` begins (a hint:
    /// [`Self::get`] answers the same without it).
    pub fn prefetch(&self, s: &str) {
        if !s.is_empty() {
            let p = Probe::new(s.as_bytes());
            self.parts[p.part()].table.prefetch(p.hash);
        }
    }

    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The strings by id.
    pub fn names(&self) -> Vec<&str> {
        let mut v = vec![""; self.total];
        for part in &self.parts {
            for s in part.table.iter() {
                v[s.id as usize] = part.text(&s.key);
            }
        }
        v
    }

    /// Interns the staged keys of `cols` (sorted by partition; one per group; group `g`'s rows start
    /// at `starts[g]`) into a new interner and the id of every row (`none` for
    /// rows without a key), `n` rows in all. Ids are dense and deterministic.
    ///
    /// Also returns the rows of every id (those `counted` accepts), ascending:
    /// a partition's staged keys come in row order and its ids are a
    /// contiguous range, so each partition lists its ids' rows while its table
    /// and lists are in cache, and the lists are concatenated. (Built from the
    /// `ids` column afterwards, the count and fill passes each took a cache
    /// miss per row: ~2 s of a 37M-attempt build per key kind.)
    pub fn build(
        cols: &[&StagedKeys],
        starts: &[usize],
        n: usize,
        none: u32,
        counted: &(dyn Fn(usize) -> bool + Sync),
    ) -> (Vec<u32>, KeyInterner, RowsById) {
        // Pass 1, per partition and cache-local: intern, and list each local
        // id's rows (uncounted rows apart). No write to the row-ordered `ids`
        // yet: that is one random write per row, made once in pass 2.
        let mut built: Vec<PartBuilt> = (0..PARTS)
            .into_par_iter()
            .map(|p| {
                let mut part = Part::default();
                let mut next = 0u32;
                let staged: usize = cols.iter().map(|c| c.part(p).len()).sum();
                let mut local: Vec<(u32, u32)> = Vec::with_capacity(staged);
                let mut uncounted: Vec<(u32, u32)> = Vec::new();
                for (c, &start) in cols.iter().zip(starts) {
                    for e in c.part(p) {
                        let probe = Probe { s: e.key.bytes_in(&c.arena), packed: e.key, hash: e.key.hash() };
                        let (id, added) = part.find_or_add(&probe, next);
                        next += added as u32;
                        let row = start + e.row as usize;
                        match counted(row) {
                            true => local.push((id, row as u32)),
                            false => uncounted.push((id, row as u32)),
                        }
                    }
                }
                (part, RowsById::of_pairs(&local, next as usize), uncounted)
            })
            .collect();
        let mut base = vec![0u32; PARTS + 1];
        for (p, (part, _, _)) in built.iter().enumerate() {
            base[p + 1] = base[p] + part.table.len() as u32;
        }
        // Pass 2: global ids into the tables and, by row, into `ids`.
        let mut ids = vec![none; n];
        let ip = super::par::SendPtr(ids.as_mut_ptr());
        built.par_iter_mut().enumerate().for_each(|(p, (part, lists, uncounted))| {
            for s in part.table.iter_mut() {
                s.id += base[p];
            }
            for (j, w) in lists.offsets.windows(2).enumerate() {
                for &row in &lists.rows[w[0] as usize..w[1] as usize] {
                    // SAFETY: every row is filed in exactly one partition, once.
                    unsafe { ip.write(row as usize, base[p] + j as u32) };
                }
            }
            for &(id, row) in uncounted.iter() {
                // SAFETY: as above.
                unsafe { ip.write(row as usize, base[p] + id) };
            }
        });
        let (parts, lists): (Vec<Part>, Vec<RowsById>) = built.into_iter().map(|(p, l, _)| (p, l)).unzip();
        (ids, KeyInterner { parts, total: base[PARTS] as usize }, RowsById::concat(lists))
    }
}

/// One partition after pass 1 of [`KeyInterner::build`]: its table, its
/// counted rows by local id, and its uncounted (local id, row) pairs.
type PartBuilt = (Part, RowsById, Vec<(u32, u32)>);

/// Rows grouped by key id (CSR): id `i`'s rows are `rows[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RowsById {
    pub offsets: Vec<u32>,
    pub rows: Vec<u32>,
}

impl RowsById {
    /// From (id, row) pairs over ids `0..n_ids`; each id's rows keep the pairs' order.
    pub(crate) fn of_pairs(pairs: &[(u32, u32)], n_ids: usize) -> RowsById {
        let mut offsets = vec![0u32; n_ids + 1];
        for &(id, _) in pairs {
            offsets[id as usize + 1] += 1;
        }
        for i in 0..n_ids {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut rows = vec![0u32; pairs.len()];
        for &(id, row) in pairs {
            rows[fill[id as usize] as usize] = row;
            fill[id as usize] += 1;
        }
        RowsById { offsets, rows }
    }

    /// Partitions' lists, ids numbered on from one partition to the next.
    fn concat(lists: Vec<RowsById>) -> RowsById {
        let n_ids: usize = lists.iter().map(|l| l.offsets.len() - 1).sum();
        let n_rows: usize = lists.iter().map(|l| l.rows.len()).sum();
        let mut out = RowsById { offsets: Vec::with_capacity(n_ids + 1), rows: Vec::with_capacity(n_rows) };
        out.offsets.push(0);
        for l in lists {
            let at = out.rows.len() as u32;
            out.offsets.extend(l.offsets[1..].iter().map(|&o| o + at));
            out.rows.extend_from_slice(&l.rows);
        }
        out
    }
}

#[derive(Debug, Clone, Copy)]
struct StagedKey {
    key: Packed,
    /// Row within the group.
    row: u32,
}

/// One group's keys of one kind: appended as rows arrive (a sequential
/// write), then grouped by partition with one counting sort
/// ([`StagedKeys::sort_by_partition`]) so the bulk build reads each
/// partition's keys contiguously.
#[derive(Debug, Default)]
pub struct StagedKeys {
    keys: Vec<StagedKey>,
    counts: Vec<u32>,
    /// Partition bounds in `keys` once sorted (`PARTS + 1` entries), else empty.
    bounds: Vec<usize>,
    /// Bytes of long keys.
    arena: Vec<u8>,
}

impl StagedKeys {
    /// Files row `row`'s key `s` (nothing for an empty key).
    pub fn push(&mut self, row: u32, s: &str) {
        if s.is_empty() {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; PARTS];
        }
        let p = Probe::new(s.as_bytes());
        let key = p.stored_in(&mut self.arena);
        self.counts[p.part()] += 1;
        self.bounds.clear();
        self.keys.push(StagedKey { key, row });
    }

    /// Room for about `rows` keys.
    pub fn reserve(&mut self, rows: usize) {
        self.keys.reserve(rows);
    }

    /// Groups the keys by partition (stable: rows stay in order within one).
    pub fn sort_by_partition(&mut self) {
        if !self.bounds.is_empty() {
            return;
        }
        let mut bounds = vec![0usize; PARTS + 1];
        for p in 0..PARTS {
            bounds[p + 1] = bounds[p] + self.counts.get(p).copied().unwrap_or(0) as usize;
        }
        let mut at = bounds.clone();
        // Written straight into uninitialised room: filling it with a
        // placeholder first was one more pass over gigabytes at 50M attempts.
        let n = self.keys.len();
        let mut sorted: Vec<StagedKey> = Vec::with_capacity(n);
        let room = sorted.spare_capacity_mut();
        for e in &self.keys {
            let p = part_of(e.key.hash());
            room[at[p]].write(*e);
            at[p] += 1;
        }
        // Every key was counted in its partition as it was pushed, so each
        // slot below `n` was written exactly once.
        assert!((0..PARTS).all(|p| at[p] == bounds[p + 1]), "partition counts match the keys");
        // SAFETY: as the assertion checks, slots 0..n are all initialised.
        unsafe { sorted.set_len(n) };
        self.keys = sorted;
        self.bounds = bounds;
    }

    fn part(&self, p: usize) -> &[StagedKey] {
        assert!(!self.bounds.is_empty() || self.keys.is_empty(), "staged keys are sorted before the build");
        match self.bounds.is_empty() {
            true => &[],
            false => &self.keys[self.bounds[p]..self.bounds[p + 1]],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        let mut v: Vec<String> = (0..5000).map(|i| format!("AC{i:09}")).collect();
        v.extend((0..3000).map(|i| format!("user{i}.{}@example.com", i % 997)));
        // Edge lengths around the inline limit, NULs, non-ASCII, and prefixes of each other.
        for s in [
            "a",
            "a\0",
            "\0",
            "0123456789abcdef",
            "0123456789abcdefg",
            "0123456789abcde",
            "é",
            "ée",
            "x".repeat(300).as_str(),
        ] {
            v.push(s.to_string());
        }
        v
    }

    /// Keys that all start at the table's last slot wrap around to its first
    /// ones; each is found, a ninth such key is not (the probe stops at the
    /// first empty slot), and growing keeps every key findable.
    #[test]
    fn table_probes_wrap_around_and_survive_growth() {
        let homed: Vec<String> =
            (0..).map(|i| format!("K{i}")).filter(|k| Probe::new(k.as_bytes()).hash & 15 == 15).take(9).collect();
        let mut part = Part::default();
        for (id, k) in homed[..8].iter().enumerate() {
            assert_eq!(part.find_or_add(&Probe::new(k.as_bytes()), id as u32), (id as u32, true));
        }
        assert_eq!(part.table.slots.len(), 16, "half full: no growth yet");
        assert_eq!(part.table.slots[0].key, Probe::new(homed[1].as_bytes()).packed, "the second key wrapped to slot 0");
        for (id, k) in homed[..8].iter().enumerate() {
            assert_eq!(part.find(&Probe::new(k.as_bytes())), Some(id as u32), "{k}");
        }
        assert_eq!(part.find(&Probe::new(homed[8].as_bytes())), None);
        let more: Vec<String> = (0..1000).map(|i| format!("more-key-{i}")).collect();
        for (i, k) in more.iter().enumerate() {
            part.find_or_add(&Probe::new(k.as_bytes()), 8 + i as u32);
        }
        assert_eq!((part.table.len(), part.table.iter().count()), (1008, 1008));
        assert!(part.table.slots.len() >= 2 * 1008);
        for (id, k) in homed[..8].iter().chain(&more).enumerate() {
            assert_eq!(part.find(&Probe::new(k.as_bytes())), Some(id as u32), "{k}");
        }
        assert_eq!(part.find(&Probe::new(homed[8].as_bytes())), None);
    }

    #[test]
    fn build_and_get_agree_with_a_plain_map() {
        let all = keys();
        // Two groups, repeated keys, gaps (rows without a key), the same key in both groups.
        let mut groups = [StagedKeys::default(), StagedKeys::default()];
        let mut rows: Vec<Option<&str>> = Vec::new();
        let mut starts = vec![0usize];
        for (g, group) in groups.iter_mut().enumerate() {
            let mut r = 0u32;
            for (i, s) in all.iter().enumerate() {
                if (i + g) % 7 == 0 {
                    group.push(r, "");
                    rows.push(None);
                    r += 1;
                }
                if (i + g) % 3 != 0 {
                    group.push(r, s);
                    rows.push(Some(s));
                    r += 1;
                }
            }
            starts.push(starts[g] + r as usize);
        }
        let n = starts.pop().unwrap();
        groups.iter_mut().for_each(StagedKeys::sort_by_partition);
        let cols: Vec<&StagedKeys> = groups.iter().collect();
        let counted = |row: usize| !row.is_multiple_of(5);
        let (ids, interner, lists) = KeyInterner::build(&cols, &starts, n, u32::MAX, &counted);
        assert_eq!(ids.len(), rows.len());
        let mut seen = std::collections::HashMap::new();
        for (id, row) in ids.iter().zip(&rows) {
            match row {
                None => assert_eq!(*id, u32::MAX),
                Some(s) => {
                    assert_eq!(*seen.entry(*s).or_insert(*id), *id, "one id per key: {s:?}");
                    assert_eq!(interner.get(s), Some(*id));
                }
            }
        }
        assert_eq!(interner.len(), seen.len(), "ids are dense");
        // every id's counted rows, ascending
        assert_eq!(lists.offsets.len(), interner.len() + 1);
        for id in 0..interner.len() as u32 {
            let want: Vec<u32> = (0..n as u32).filter(|&r| ids[r as usize] == id && counted(r as usize)).collect();
            let (a, b) = (lists.offsets[id as usize] as usize, lists.offsets[id as usize + 1] as usize);
            assert_eq!(&lists.rows[a..b], want.as_slice(), "id {id}");
        }
        let names = interner.names();
        for (s, id) in &seen {
            assert_eq!(names[*id as usize], *s);
        }
        assert_eq!(interner.get(""), None);
        assert_eq!(interner.get("AC999999999"), None);
        assert_eq!(interner.get("0123456789abcdeF"), None);
        assert_eq!(interner.get("user1.1@example.co"), None);
    }

    #[test]
    fn short_keys_pack_like_a_zero_padded_copy() {
        let text = b"0123456789abcdef";
        for n in 0..=INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..n].copy_from_slice(&text[..n]);
            let (lo, hi) = pack_short(&text[..n]);
            assert_eq!(((lo as u128) | (hi as u128) << 64).to_le_bytes(), bytes, "length {n}");
        }
    }

    #[test]
    fn intern_adds_once_and_finds_long_and_short_keys() {
        let mut k = KeyInterner::default();
        let all = keys();
        for (i, s) in all.iter().enumerate() {
            assert_eq!(k.intern(s), i as u32);
        }
        for (i, s) in all.iter().enumerate() {
            assert_eq!(k.intern(s), i as u32, "second intern of {s:?}");
            assert_eq!(k.get(s), Some(i as u32));
        }
        assert_eq!(k.len(), all.len());
        assert_eq!(k.names(), all.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

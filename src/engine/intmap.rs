//! An integer-keyed hash map split into 64 parts by the key's low bits.
//!
//! The server adds to such maps on every reported attempt while it holds an
//! org's write lock. One big table would stop every check for a whole rehash
//! at each doubling (tens of milliseconds at a million keys); a part rehashes
//! a 64th of that. Keys here are dense ids and sequence numbers, so their low
//! bits spread them evenly.

use std::hash::Hash;

use ahash::AHashMap;

const PARTS: usize = 64;

/// An integer key: which part it lives in.
pub trait PartKey: Copy + Eq + Hash {
    fn part(self) -> usize;
}

impl PartKey for u32 {
    fn part(self) -> usize {
        self as usize % PARTS
    }
}

impl PartKey for i64 {
    fn part(self) -> usize {
        self.rem_euclid(PARTS as i64) as usize
    }
}

#[derive(Debug)]
pub struct IntMap<K, V> {
    parts: Vec<AHashMap<K, V>>,
    len: usize,
}

impl<K: PartKey, V> Default for IntMap<K, V> {
    fn default() -> Self {
        // Empty maps allocate nothing until their first insert.
        IntMap { parts: (0..PARTS).map(|_| AHashMap::new()).collect(), len: 0 }
    }
}

impl<K: PartKey, V> IntMap<K, V> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.parts[k.part()].get(k)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.parts[k.part()].get_mut(k)
    }

    pub fn contains_key(&self, k: &K) -> bool {
        self.parts[k.part()].contains_key(k)
    }

    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let old = self.parts[k.part()].insert(k, v);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        let old = self.parts[k.part()].remove(k);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_finds_across_parts() {
        let mut m: IntMap<i64, u32> = IntMap::default();
        for k in -100..1000i64 {
            assert_eq!(m.insert(k * 7, k as u32), None);
        }
        assert_eq!(m.insert(14, 99), Some(2));
        assert_eq!(m.len(), 1100);
        assert_eq!(m.get(&-700), Some(&(-100i64 as u32)));
        assert!(m.contains_key(&6993) && !m.contains_key(&6994));
        *m.get_mut(&0).unwrap() = 5;
        assert_eq!(m.remove(&0), Some(5));
        assert_eq!(m.remove(&0), None);
        assert_eq!(m.len(), 1099);
    }
}

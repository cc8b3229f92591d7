//! Active records on disk (SPEC §8): an append-only log beside the SQLite
//! store, in segments `active-NNNNNNNNNN.log`.
//!
//! Why not a table: every allowed check makes an active record, so they are
//! the server's most frequent write by far, and they live two hours at most.
//! As SQLite rows each group commit rewrote B-tree pages into the WAL
//! (megabytes a second under load), whose checkpoints then stalled the
//! commits of contact attempts for tens of milliseconds. Here a group commit
//! of records is one `write` of a few hundred bytes, and nothing is ever
//! rewritten: a segment is deleted whole once every record in it has expired.
//!
//! Durability is the store's: a batch is written (and, with `--sync full`,
//! `fdatasync`ed) before any of its checks is answered, so a `kill -9` loses
//! nothing acknowledged. Each record carries a checksum; a torn tail (a crash
//! mid-write) ends the replay of its segment and is cut off.
//!
//! Replay at start applies the records in order: a put replaces the key's
//! record, a delete takes the key's record out if it still has the expiry the
//! delete names (a key refreshed after it was used keeps its new record).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ahash::AHashMap;

use super::active::ActiveSet;

/// One change to the active records, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogOp {
    /// The key's record (replacing any it had).
    Put { org: String, key: String, address: String, customer: String, account: String, expires_ms: i64 },
    /// The key's record expiring at `expires_ms` is gone (used or cancelled).
    Del { org: String, key: String, expires_ms: i64 },
}

const PUT: u8 = b'P';
const DEL: u8 = b'D';
/// A new segment is started past this size.
const SEGMENT_BYTES: u64 = 64 << 20;

/// FNV-1a, 64 bits: stable across builds and machines (unlike a seeded hasher).
fn checksum(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| (h ^ x as u64).wrapping_mul(0x0100_0000_01b3))
}

impl LogOp {
    /// Appends the record: tag, expiry (i64 LE), field lengths (u32 LE), fields, checksum (u64 LE).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let (tag, expires_ms, fields): (u8, i64, &[&str]) = match self {
            LogOp::Put { org, key, address, customer, account, expires_ms } => {
                (PUT, *expires_ms, &[org, key, address, customer, account])
            }
            LogOp::Del { org, key, expires_ms } => (DEL, *expires_ms, &[org, key]),
        };
        out.push(tag);
        out.extend_from_slice(&expires_ms.to_le_bytes());
        for f in fields {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        }
        for f in fields {
            out.extend_from_slice(f.as_bytes());
        }
        let sum = checksum(&out[start..]);
        out.extend_from_slice(&sum.to_le_bytes());
    }

    /// The record at the start of `b` and its length, or `None` if `b` does
    /// not start with a whole, intact record.
    #[cfg(test)]
    fn decode(b: &[u8]) -> Option<(LogOp, usize)> {
        OpRef::decode(b).map(|(op, n)| (op.to_owned(), n))
    }
}

/// A record as it lies in a segment's bytes: replay reads millions of them at
/// start-up, and applies each without allocating its five strings first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpRef<'a> {
    Put { org: &'a str, key: &'a str, address: &'a str, customer: &'a str, account: &'a str, expires_ms: i64 },
    Del { org: &'a str, key: &'a str, expires_ms: i64 },
}

impl<'a> OpRef<'a> {
    /// The record at the start of `b` and its length, or `None` if `b` does
    /// not start with a whole, intact record.
    fn decode(b: &'a [u8]) -> Option<(OpRef<'a>, usize)> {
        let n_fields = match *b.first()? {
            PUT => 5,
            DEL => 2,
            _ => return None,
        };
        let expires_ms = i64::from_le_bytes(b.get(1..9)?.try_into().ok()?);
        let mut pos = 9 + 4 * n_fields;
        let mut fields = [""; 5];
        for (i, field) in fields.iter_mut().enumerate().take(n_fields) {
            let at = 9 + 4 * i;
            let len = u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
            *field = std::str::from_utf8(b.get(pos..pos.checked_add(len)?)?).ok()?;
            pos += len;
        }
        let sum = u64::from_le_bytes(b.get(pos..pos + 8)?.try_into().ok()?);
        if sum != checksum(&b[..pos]) {
            return None;
        }
        let [org, key, address, customer, account] = fields;
        let op = if n_fields == 5 {
            OpRef::Put { org, key, address, customer, account, expires_ms }
        } else {
            OpRef::Del { org, key, expires_ms }
        };
        Some((op, pos + 8))
    }

    #[cfg(test)]
    fn to_owned(self) -> LogOp {
        match self {
            OpRef::Put { org, key, address, customer, account, expires_ms } => LogOp::Put {
                org: org.into(),
                key: key.into(),
                address: address.into(),
                customer: customer.into(),
                account: account.into(),
                expires_ms,
            },
            OpRef::Del { org, key, expires_ms } => LogOp::Del { org: org.into(), key: key.into(), expires_ms },
        }
    }
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    /// The latest expiry of a record put in it (deletes keep nothing alive).
    max_expires_ms: i64,
}

/// The log's segments and the one being appended to.
#[derive(Debug)]
pub struct ActiveLog {
    dir: PathBuf,
    /// Oldest first; the last is `current`.
    segments: Vec<Segment>,
    current: File,
    current_bytes: u64,
    next_number: u64,
    full_sync: bool,
}

fn segment_number(p: &Path) -> Option<u64> {
    let name = p.file_name()?.to_str()?;
    name.strip_prefix("active-")?.strip_suffix(".log")?.parse().ok()
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("active-{n:010}.log"))
}

impl ActiveLog {
    /// Opens the log in `dir`, replaying every segment in order into one set
    /// per org (records expired at `now_ms` are dropped), and starts a new
    /// segment for what comes next.
    pub fn open(dir: &Path, full_sync: bool, now_ms: i64) -> anyhow::Result<(ActiveLog, AHashMap<String, ActiveSet>)> {
        let mut numbers: Vec<u64> = std::fs::read_dir(dir)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().and_then(|e| segment_number(&e.path())))
            .collect();
        numbers.sort_unstable();
        let mut sets: AHashMap<String, ActiveSet> = AHashMap::new();
        let mut segments = Vec::new();
        for &n in &numbers {
            let path = segment_path(dir, n);
            let mut bytes = Vec::new();
            File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let mut pos = 0;
            let mut max_expires_ms = i64::MIN;
            while pos < bytes.len() {
                let Some((op, len)) = OpRef::decode(&bytes[pos..]) else { break };
                pos += len;
                replay(&mut sets, op, now_ms, &mut max_expires_ms);
            }
            if pos < bytes.len() {
                // A torn or damaged tail: what follows was never acknowledged
                // (a batch is answered only after its write returned).
                eprintln!(
                    "scrub serve: {}: {} bytes after offset {pos} are not whole records; cut off",
                    path.display(),
                    bytes.len() - pos
                );
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(pos as u64))
                    .map_err(|e| anyhow::anyhow!("cannot cut {}: {e}", path.display()))?;
            }
            segments.push(Segment { path, max_expires_ms });
        }
        for set in sets.values_mut() {
            set.finish_replay();
            set.purge(chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default());
        }
        let next_number = numbers.last().map_or(1, |n| n + 1);
        let (current, path) = Self::create(dir, next_number, full_sync)?;
        segments.push(Segment { path, max_expires_ms: i64::MIN });
        let mut log = ActiveLog {
            dir: dir.to_path_buf(),
            segments,
            current,
            current_bytes: 0,
            next_number: next_number + 1,
            full_sync,
        };
        log.drop_expired(now_ms);
        Ok((log, sets))
    }

    fn create(dir: &Path, n: u64, full_sync: bool) -> anyhow::Result<(File, PathBuf)> {
        let path = segment_path(dir, n);
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        if full_sync {
            // The new name must survive a power cut too.
            File::open(dir).and_then(|d| d.sync_all()).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        }
        Ok((f, path))
    }

    /// Appends `ops` (one batch) in one write; durable (to the store's sync
    /// level) on return.
    pub fn append_ops<'a>(&mut self, ops: impl IntoIterator<Item = &'a LogOp>) -> anyhow::Result<()> {
        let mut bytes = Vec::new();
        let mut max_expires_ms = i64::MIN;
        for op in ops {
            op.encode(&mut bytes);
            if let LogOp::Put { expires_ms, .. } = op {
                max_expires_ms = max_expires_ms.max(*expires_ms);
            }
        }
        self.append(&bytes, max_expires_ms)
    }

    /// Appends `ops` and applies them to `sets`, as a replay would (records
    /// brought in from elsewhere: a store's old active-record table).
    pub fn import(&mut self, ops: Vec<LogOp>, sets: &mut AHashMap<String, ActiveSet>) -> anyhow::Result<()> {
        self.append_ops(&ops)?;
        for op in &ops {
            apply(sets, op);
        }
        Ok(())
    }

    /// Appends encoded records whose latest expiry is `max_expires_ms`.
    fn append(&mut self, bytes: &[u8], max_expires_ms: i64) -> anyhow::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.current_bytes >= SEGMENT_BYTES {
            let (f, path) = Self::create(&self.dir, self.next_number, self.full_sync)?;
            self.next_number += 1;
            self.current = f;
            self.current_bytes = 0;
            self.segments.push(Segment { path, max_expires_ms: i64::MIN });
        }
        let seg = self.segments.last_mut().expect("the current segment");
        self.current.write_all(bytes).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", seg.path.display()))?;
        if self.full_sync {
            self.current.sync_data().map_err(|e| anyhow::anyhow!("cannot sync {}: {e}", seg.path.display()))?;
        }
        self.current_bytes += bytes.len() as u64;
        seg.max_expires_ms = seg.max_expires_ms.max(max_expires_ms);
        Ok(())
    }

    /// Deletes the oldest segments while every record in them has expired by
    /// `now_ms` (never the current one, and never one after a segment that
    /// must stay: a later delete may refer to an earlier put). Returns how many.
    pub fn drop_expired(&mut self, now_ms: i64) -> usize {
        let mut n = 0;
        while self.segments.len() > 1 && self.segments[0].max_expires_ms <= now_ms {
            let seg = self.segments.remove(0);
            if let Err(e) = std::fs::remove_file(&seg.path) {
                eprintln!("scrub serve: cannot remove {}: {e}", seg.path.display());
            }
            n += 1;
        }
        n
    }

    /// How many segment files there are (the current one included).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
}

/// Replays one record into its org's set (see [`ActiveSet::replay_put`];
/// [`ActiveSet::finish_replay`] must follow). A put already expired at
/// `now_ms` takes the key's record out instead of adding one: the same as
/// adding it and purging at `now_ms`, which replay does at the end, without
/// filling the set with records that go straight out again.
fn replay(sets: &mut AHashMap<String, ActiveSet>, op: OpRef<'_>, now_ms: i64, max_expires_ms: &mut i64) {
    match op {
        OpRef::Put { org, key, address, customer, account, expires_ms } => {
            *max_expires_ms = (*max_expires_ms).max(expires_ms);
            // An expiry outside chrono's range counts as the epoch, as `put` of
            // the instant it reads as would have stored it.
            let expires_ms = chrono::DateTime::from_timestamp_millis(expires_ms).map_or(0, |_| expires_ms);
            if !sets.contains_key(org) {
                sets.insert(org.to_string(), ActiveSet::default());
            }
            let set = sets.get_mut(org).expect("inserted above");
            if expires_ms <= now_ms {
                set.replay_remove(key);
            } else {
                set.replay_put(key, address, customer, account, expires_ms);
            }
        }
        OpRef::Del { org, key, expires_ms } => {
            if let Some(set) = sets.get_mut(org) {
                if set.expires_ms(key) == Some(expires_ms) {
                    set.replay_remove(key);
                }
            }
        }
    }
}

/// Applies one record to a set in use (records brought in after start-up).
fn apply(sets: &mut AHashMap<String, ActiveSet>, op: &LogOp) {
    match op {
        LogOp::Put { org, key, address, customer, account, expires_ms } => {
            let expires = chrono::DateTime::from_timestamp_millis(*expires_ms).unwrap_or_default();
            sets.entry(org.clone()).or_default().put(key, address, customer, account, expires);
        }
        LogOp::Del { org, key, expires_ms } => {
            if let Some(set) = sets.get_mut(org) {
                if set.expires_ms(key) == Some(*expires_ms) {
                    set.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(org: &str, key: &str, addr: &str, exp: i64) -> LogOp {
        LogOp::Put {
            org: org.into(),
            key: key.into(),
            address: addr.into(),
            customer: "C é".into(),
            account: String::new(),
            expires_ms: exp,
        }
    }

    fn del(org: &str, key: &str, exp: i64) -> LogOp {
        LogOp::Del { org: org.into(), key: key.into(), expires_ms: exp }
    }

    fn write(log: &mut ActiveLog, ops: &[LogOp]) {
        log.append_ops(ops).unwrap();
    }

    #[test]
    fn records_round_trip_and_damage_is_detected() {
        for op in [put("acme", "k\t1\n", "2125550100", -5), del("", "", i64::MAX), put("a", "", "", 0)] {
            let mut b = Vec::new();
            op.encode(&mut b);
            assert_eq!(LogOp::decode(&b), Some((op.clone(), b.len())));
            for cut in 0..b.len() {
                assert_eq!(LogOp::decode(&b[..cut]), None, "a record cut at {cut} is not whole");
            }
            for i in 0..b.len() {
                let mut bad = b.clone();
                bad[i] ^= 0x40;
                assert!(LogOp::decode(&bad).is_none_or(|(o, _)| o != op), "a flipped byte {i} goes unnoticed");
            }
        }
    }

    #[test]
    fn replay_applies_puts_and_deletes_in_order_per_org() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, sets) = ActiveLog::open(d.path(), false, 0).unwrap();
        assert!(sets.is_empty());
        write(&mut log, &[put("acme", "k1", "111", 100), put("acme", "k2", "222", 100), put("beta", "k1", "333", 100)]);
        // k1 refreshed; the delete names its first expiry, so the refreshed record stays.
        write(&mut log, &[put("acme", "k1", "111", 150), del("acme", "k1", 100)]);
        // k2 used; a delete in another org touches nothing here.
        write(&mut log, &[del("acme", "k2", 100), del("acme", "nobody", 100)]);
        drop(log);
        let (log, sets) = ActiveLog::open(d.path(), false, 50).unwrap();
        let acme = &sets["acme"];
        assert_eq!(acme.len(), 1);
        assert_eq!(acme.expires_ms("k1"), Some(150));
        assert_eq!(acme.expires_ms("k2"), None);
        assert_eq!(sets["beta"].expires_ms("k1"), Some(100));
        // Two segments: the first session's and this one's new, empty one.
        assert_eq!(log.segment_count(), 2);
        drop(log);
        // At 120 only k1 (150) is left; at 150 nothing, and the old segments are gone.
        let (_, sets) = ActiveLog::open(d.path(), false, 120).unwrap();
        assert_eq!((sets["acme"].len(), sets["beta"].len()), (1, 0));
        let (log, sets) = ActiveLog::open(d.path(), false, 150).unwrap();
        assert!(sets.values().all(|s| s.is_empty()));
        assert_eq!(log.segment_count(), 1, "expired segments are deleted");
    }

    #[test]
    fn a_put_expired_at_replay_leaves_what_put_and_purge_would() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, _) = ActiveLog::open(d.path(), false, 0).unwrap();
        write(
            &mut log,
            &[
                // Live, then put again with an expiry already past: gone (the
                // second put replaced the first, then expired).
                put("acme", "k1", "111", 500),
                put("acme", "k1", "111", 40),
                // Expired, then refreshed: live with the new expiry.
                put("acme", "k2", "222", 30),
                put("acme", "k2", "222", 600),
                // Expired, then deleted by its expiry: gone, and nothing else touched.
                put("acme", "k3", "333", 20),
                del("acme", "k3", 20),
                // An org with nothing but expired records still has its (empty) set.
                put("gamma", "k1", "444", 10),
            ],
        );
        drop(log);
        let (log, sets) = ActiveLog::open(d.path(), false, 50).unwrap();
        let acme = &sets["acme"];
        assert_eq!(acme.len(), 1);
        assert_eq!(acme.expires_ms("k1"), None);
        assert_eq!(acme.expires_ms("k2"), Some(600));
        assert_eq!(acme.expires_ms("k3"), None);
        assert!(sets["gamma"].is_empty());
        // The replayed record blocks by address and customer; the gone one blocks nothing.
        use crate::engine::{ActiveRecords, BlockKind};
        let at = chrono::DateTime::from_timestamp_millis(50).unwrap();
        let probe = |address: &str, customer: &str| {
            let mut r = crate::model::Record::default();
            r.address = address.into();
            r.customer = customer.into();
            r.key = "other".into();
            acme.block(&r, false, at)
        };
        assert_eq!(probe("222", ""), Some(BlockKind::ContactAddress));
        assert_eq!(probe("999", "C é"), Some(BlockKind::Customer));
        assert_eq!(probe("111", ""), None);
        // The first segment keeps its latest expiry (600), expired puts included in the scan.
        assert_eq!(log.segment_count(), 2);
        drop(log);
        let (log, _) = ActiveLog::open(d.path(), false, 600).unwrap();
        assert_eq!(log.segment_count(), 1);
    }

    #[test]
    fn an_expiry_past_the_calendar_replays_as_the_epoch() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, _) = ActiveLog::open(d.path(), false, 0).unwrap();
        write(&mut log, &[put("acme", "far", "111", i64::MAX), put("acme", "near", "222", 100)]);
        drop(log);
        let (_, sets) = ActiveLog::open(d.path(), false, 50).unwrap();
        // As `put` of the instant it reads as (none: the epoch), so expired.
        assert_eq!(sets["acme"].expires_ms("far"), None);
        assert_eq!(sets["acme"].expires_ms("near"), Some(100));
    }

    #[test]
    fn a_torn_tail_is_cut_off_and_the_rest_replays() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, _) = ActiveLog::open(d.path(), true, 0).unwrap();
        write(&mut log, &[put("acme", "k1", "111", 100), put("acme", "k2", "222", 100)]);
        drop(log);
        let seg = segment_path(d.path(), 1);
        let whole = std::fs::metadata(&seg).unwrap().len();
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        let mut b = Vec::new();
        put("acme", "k3", "333", 100).encode(&mut b);
        f.write_all(&b[..b.len() - 3]).unwrap();
        drop(f);
        let (_, sets) = ActiveLog::open(d.path(), false, 0).unwrap();
        assert_eq!(sets["acme"].len(), 2);
        assert_eq!(sets["acme"].expires_ms("k3"), None);
        assert_eq!(std::fs::metadata(&seg).unwrap().len(), whole, "the torn record is cut off");
    }

    #[test]
    fn segments_roll_over_and_only_an_expired_prefix_is_deleted() {
        let d = tempfile::tempdir().unwrap();
        let (mut log, _) = ActiveLog::open(d.path(), false, 0).unwrap();
        // Segment 1 holds a long-lived record; segment 2 short-lived ones.
        write(&mut log, &[put("acme", "long", "1", 1000)]);
        log.current_bytes = SEGMENT_BYTES;
        write(&mut log, &[put("acme", "short", "2", 10), del("acme", "long", 1000)]);
        log.current_bytes = SEGMENT_BYTES;
        write(&mut log, &[put("acme", "later", "3", 20)]);
        assert_eq!(log.segment_count(), 3);
        // At 100 segment 2 has expired but segment 1 has not: both stay (the
        // delete in 2 refers to the put in 1).
        assert_eq!(log.drop_expired(100), 0);
        drop(log);
        let (mut log, sets) = ActiveLog::open(d.path(), false, 100).unwrap();
        assert!(sets["acme"].is_empty(), "'long' was deleted, the others expired");
        assert_eq!(log.drop_expired(1000), 3);
        assert_eq!(log.segment_count(), 1);
    }
}

//! The durable store: one SQLite database (WAL) in `--data-dir`, the single
//! source of truth for every org. The server's in-memory engines are rebuilt
//! from it at start and updated after each write commits.
//!
//! Durability: every acknowledged mutation is committed before its response.
//! WAL with `synchronous=NORMAL` means a commit is in the OS before the
//! response, so killing the process (even `kill -9`) loses nothing; only a
//! power cut can lose the last commits. `--sync full` fsyncs every commit.
//! Active records are the exception to "one database": they go to their own
//! append-only log ([`super::active_log`]) under the same rules, written by
//! the same group-commit writer.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::active_log::{ActiveLog, LogOp};

pub const DB_FILE: &str = "scrub.db";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entities(
    seq INTEGER PRIMARY KEY,
    org TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    json TEXT NOT NULL,
    UNIQUE(org, kind, id)
);
CREATE TABLE IF NOT EXISTS attempts(
    seq INTEGER PRIMARY KEY,
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT,
    customer TEXT,
    account TEXT,
    time_ms INTEGER NOT NULL,
    time_zone TEXT,
    disposition TEXT,
    number_type INTEGER,
    purpose TEXT,
    geocodes TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    product TEXT,
    product_sold INTEGER,
    locale TEXT,
    key TEXT,
    version INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    modified_by TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS attempts_id ON attempts(org, id);
-- Where active records were kept before the active-record log (see
-- active_log.rs); emptied into the log on the first start that finds rows.
CREATE TABLE IF NOT EXISTS active_records(
    expires INTEGER NOT NULL,
    org TEXT NOT NULL,
    key TEXT NOT NULL,
    address TEXT NOT NULL,
    customer TEXT NOT NULL,
    account TEXT NOT NULL,
    PRIMARY KEY(expires, org, key)
) WITHOUT ROWID;
";

/// Moves a store written before active records were keyed by expiry to the
/// current layout (one transaction; a no-op on a current store).
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let sql: Option<String> = conn
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'active_records'", [], |r| r.get(0))
        .optional()?;
    if !sql.is_some_and(|s| s.contains("PRIMARY KEY(org, key)")) {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute_batch("ALTER TABLE active_records RENAME TO active_records_old;")?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(
        "INSERT INTO active_records(expires, org, key, address, customer, account) \
         SELECT expires, org, key, address, customer, account FROM active_records_old; \
         DROP TABLE active_records_old;",
    )?;
    tx.commit()
}

/// One stored contact attempt, column by column (compact: no JSON copy, so
/// the start-up scan of millions of attempts reads little).
#[derive(Debug, Clone, Default)]
pub struct AttemptRow {
    pub seq: i64,
    pub id: String,
    pub channel: String,
    pub address: Option<String>,
    pub customer: Option<String>,
    pub account: Option<String>,
    pub time_ms: i64,
    pub time_zone: Option<String>,
    pub disposition: Option<String>,
    pub number_type: Option<i64>,
    pub purpose: Option<String>,
    /// Comma-joined.
    pub geocodes: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub product: Option<String>,
    pub product_sold: Option<i64>,
    pub locale: Option<String>,
    pub key: Option<String>,
    pub version: i64,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub modified_by: String,
}

const ATTEMPT_COLS: &str = "seq, id, channel, address, customer, account, time_ms, time_zone, disposition, \
    number_type, purpose, geocodes, status, reason, product, product_sold, locale, key, version, created_ms, \
    modified_ms, modified_by";

fn ms(t: i64) -> String {
    crate::time::format_instant(chrono::DateTime::from_timestamp_millis(t).unwrap_or_default())
}

impl AttemptRow {
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttemptRow> {
        Ok(AttemptRow {
            seq: r.get(0)?,
            id: r.get(1)?,
            channel: r.get(2)?,
            address: r.get(3)?,
            customer: r.get(4)?,
            account: r.get(5)?,
            time_ms: r.get(6)?,
            time_zone: r.get(7)?,
            disposition: r.get(8)?,
            number_type: r.get(9)?,
            purpose: r.get(10)?,
            geocodes: r.get(11)?,
            status: r.get(12)?,
            reason: r.get(13)?,
            product: r.get(14)?,
            product_sold: r.get(15)?,
            locale: r.get(16)?,
            key: r.get(17)?,
            version: r.get(18)?,
            created_ms: r.get(19)?,
            modified_ms: r.get(20)?,
            modified_by: r.get(21)?,
        })
    }

    pub fn time(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.time_ms).unwrap_or_default()
    }

    /// Only the named fields of [`AttemptRow::to_json`] (what a list filter reads).
    pub fn fields(&self, names: &[&str]) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        let text = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
        names
            .iter()
            .map(|&n| {
                let v = match n {
                    "contactChannel" => Value::String(self.channel.clone()),
                    "contactAddress" => text(&self.address),
                    "customer" => text(&self.customer),
                    "accountNumber" => text(&self.account),
                    "disposition" => text(&self.disposition),
                    "numberType" => self.number_type.map(Value::from).unwrap_or(Value::Null),
                    "geocodes" => text(&self.geocodes),
                    "purpose" => text(&self.purpose),
                    "timeZone" => text(&self.time_zone),
                    "timeOfContact" => Value::String(ms(self.time_ms)),
                    "status" => Value::String(self.status.clone()),
                    "creationTime" => Value::String(ms(self.created_ms)),
                    "lastModifiedTime" => Value::String(ms(self.modified_ms)),
                    "lastModifiedBy" => Value::String(self.modified_by.clone()),
                    _ => self.to_json().remove(n).unwrap_or(Value::Null),
                };
                (n.to_string(), v)
            })
            .collect()
    }

    /// The API item (`TerseContactAttemptsResponseV4`).
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::{json, Value};
        let geos: Value = match &self.geocodes {
            Some(g) => Value::Array(g.split(',').map(|s| Value::String(s.to_string())).collect()),
            None => Value::Null,
        };
        let v = json!({
            "id": self.id, "kind": "via#contactAttempt", "version": self.version, "locale": self.locale,
            "contactChannel": self.channel, "contactAddress": self.address, "customer": self.customer,
            "accountNumber": self.account, "timeOfContact": ms(self.time_ms), "timeZone": self.time_zone,
            "disposition": self.disposition, "numberType": self.number_type, "purpose": self.purpose,
            "geocodes": geos, "status": self.status, "reason": self.reason, "product": self.product,
            "productSold": self.product_sold, "key": self.key,
            "creationTime": ms(self.created_ms), "lastModifiedTime": ms(self.modified_ms),
            "lastModifiedBy": self.modified_by,
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }
}

#[derive(Debug)]
pub struct Store {
    /// The one writing connection (shared with the [`GroupWriter`]): two
    /// writing connections would meet in SQLite's busy handler, which sleeps
    /// for milliseconds; a mutex hands over in microseconds.
    conn: std::sync::Arc<Mutex<Connection>>,
    path: std::path::PathBuf,
}

pub const LOCK_FILE: &str = "scrub.lock";

/// The lock a running server holds on its data folder, so that a second
/// server or `scrub purge` cannot change the store behind the first one's
/// in-memory view (`scrub load` writes only what a server reads at its next
/// start, and does not take it). Released when dropped or when the process
/// dies, even by `kill -9`.
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
}

/// Takes the data folder's lock for `who`, or says who holds it.
pub fn lock_data_dir(dir: &Path, who: &str) -> anyhow::Result<DirLock> {
    use std::io::{Read, Seek, Write};
    let path = dir.join(LOCK_FILE);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            let holder = if holder.trim().is_empty() { "another scrub process" } else { holder.trim() };
            anyhow::bail!("the store in {} is in use by {holder}; stop it first", dir.display());
        }
        Err(std::fs::TryLockError::Error(e)) => anyhow::bail!("cannot lock {}: {e}", path.display()),
    }
    let _ = f.set_len(0).and_then(|_| f.rewind()).and_then(|_| write!(f, "{who} (pid {})", std::process::id()));
    Ok(DirLock { _file: f })
}

pub fn open_connection(path: &Path, full_sync: bool) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if full_sync { "FULL" } else { "NORMAL" })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Checkpoints run on their own thread (see `Store::open`), never inside a
    // request's commit: a checkpoint syncs the database file, which can take
    // far longer than the commit it would delay.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // The WAL file is reused from its start after each complete checkpoint but
    // keeps its high-water size unless told: a bulk load would leave gigabytes
    // that every start after a crash scans to rebuild the WAL index.
    conn.pragma_update(None, "journal_size_limit", WAL_RESTART_BYTES as i64)?;
    let mut conn = conn;
    migrate(&mut conn)?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

impl Store {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The group-commit writer (checks' active records, contact attempts) on
    /// this store's connection and the active-record log; it also deletes the
    /// log segments whose records expired by `clock`, every ten seconds.
    pub fn group_writer(&self, clock: super::Clock, log: ActiveLog) -> GroupWriter {
        GroupWriter::start(self.conn.clone(), clock, log)
    }

    pub fn open(dir: &Path, full_sync: bool) -> anyhow::Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", dir.display()))?;
        let path = dir.join(DB_FILE);
        let conn = open_connection(&path, full_sync)
            .map_err(|e| anyhow::anyhow!("cannot open store {}: {e}", path.display()))?;
        let store = Store { conn: std::sync::Arc::new(Mutex::new(conn)), path };
        store.checkpoint();
        spawn_checkpointer(store.path.clone(), store.conn.clone());
        Ok(store)
    }

    /// Copies the whole WAL into the database file and empties it (at start,
    /// so loads read the B-trees and not a long WAL, and at a clean stop).
    /// Failure is harmless: the WAL stays valid and is checkpointed later.
    pub fn checkpoint(&self) {
        let c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
            eprintln!("scrub: checkpoint of {} failed: {e}", self.path.display());
        }
    }

    /// Runs `f` in one transaction and commits it.
    pub fn tx<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let mut c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction()?;
        let r = f(&tx)?;
        tx.commit()?;
        Ok(r)
    }

    /// Runs a read on the connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&c)
    }

    /// Every org with something stored. The orgs lead the entities' and the
    /// attempts' indexes, so each table is walked from one org to the next
    /// with a seek each (a plain `SELECT DISTINCT` read every index entry:
    /// over a second for five million attempts, before anything else could
    /// start).
    pub fn orgs(&self) -> rusqlite::Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare(
                "WITH RECURSIVE \
                   e(org) AS (SELECT min(org) FROM entities \
                              UNION ALL SELECT (SELECT min(org) FROM entities WHERE org > e.org) FROM e \
                              WHERE e.org IS NOT NULL), \
                   a(org) AS (SELECT min(org) FROM attempts \
                              UNION ALL SELECT (SELECT min(org) FROM attempts WHERE org > a.org) FROM a \
                              WHERE a.org IS NOT NULL) \
                 SELECT org FROM e WHERE org IS NOT NULL \
                 UNION SELECT org FROM a WHERE org IS NOT NULL \
                 UNION SELECT org FROM active_records",
            )?;
            let v = st.query_map([], |r| r.get(0))?.collect();
            v
        })
    }

    /// An org's entities other than exclusions (rules in the thousands and the
    /// configurations), in creation order: (kind, id, json). The two ranges
    /// around `exclusions` are two index seeks; `kind <> 'exclusions'` read
    /// past every exclusion's index entry (a quarter second for a million, on
    /// the start's one thread before the parallel scans).
    pub fn small_entities(&self, org: &str) -> rusqlite::Result<Vec<(String, String, String)>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT kind, id, json FROM entities \
                 WHERE org = ?1 AND (kind < 'exclusions' OR kind > 'exclusions') ORDER BY seq",
            )?;
            let v = st.query_map([org], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect();
            v
        })
    }

    pub fn entity(&self, org: &str, kind: &str, id: &str) -> rusqlite::Result<Option<String>> {
        self.read(|c| {
            c.prepare_cached("SELECT json FROM entities WHERE org = ?1 AND kind = ?2 AND id = ?3")?
                .query_row(params![org, kind, id], |r| r.get(0))
                .optional()
        })
    }

    /// An org's entities of one kind in creation order; `f` returns false to stop.
    pub fn scan_entities(&self, org: &str, kind: &str, mut f: impl FnMut(&str) -> bool) -> rusqlite::Result<()> {
        let c = self.reader()?;
        {
            let mut st = c.prepare("SELECT json FROM entities WHERE +org = ?1 AND +kind = ?2 ORDER BY seq")?;
            let mut rows = st.query(params![org, kind])?;
            while let Some(r) = rows.next()? {
                let s: String = r.get(0)?;
                if !f(&s) {
                    break;
                }
            }
            Ok(())
        }
    }

    /// How many entities of one kind an org has, and the `max` from the
    /// `start`th on in [`Store::scan_entities`]'s order, from one snapshot:
    /// an unfiltered list page without reading (or parsing) the rest.
    pub fn entity_page(
        &self,
        org: &str,
        kind: &str,
        start: usize,
        max: usize,
        mut f: impl FnMut(&str),
    ) -> rusqlite::Result<usize> {
        let c = self.reader()?;
        let tx = c.unchecked_transaction()?;
        // The (org, kind, id) index holds the count; the page walks the table in seq order.
        let total: i64 =
            tx.query_row("SELECT count(*) FROM entities WHERE org = ?1 AND kind = ?2", params![org, kind], |r| {
                r.get(0)
            })?;
        {
            let mut st =
                tx.prepare("SELECT json FROM entities WHERE +org = ?1 AND +kind = ?2 ORDER BY seq LIMIT ?3 OFFSET ?4")?;
            let mut rows = st.query(params![org, kind, max as i64, start as i64])?;
            while let Some(r) = rows.next()? {
                f(r.get_ref(0)?.as_str()?);
            }
        }
        Ok(total as usize)
    }

    /// A seq range holding every entity of one kind of an org, for the
    /// start-up scans, which filter by org and kind themselves: (0, -1) when
    /// there is none. See [`only_org_span`] for how it is found.
    pub fn entity_span(&self, org: &str, kind: &str) -> rusqlite::Result<(i64, i64)> {
        self.read(|c| {
            if let Some(span) = only_org_span(c, "entities", org)? {
                return Ok(span);
            }
            c.query_row(
                "SELECT coalesce(min(seq), 0), coalesce(max(seq), -1) FROM entities WHERE org = ?1 AND kind = ?2",
                params![org, kind],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    /// Entities of one kind with `lo ≤ seq ≤ hi`, on a connection of its own
    /// (start-up reads ranges in parallel): `f(json)`.
    pub fn scan_entity_range(
        &self,
        org: &str,
        kind: &str,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(&str) -> bool,
    ) -> rusqlite::Result<()> {
        let c = self.reader()?;
        let mut st = c.prepare(
            "SELECT json FROM entities WHERE seq BETWEEN ?3 AND ?4 AND +org = ?1 AND +kind = ?2 ORDER BY seq",
        )?;
        let mut rows = st.query(params![org, kind, lo, hi])?;
        while let Some(r) = rows.next()? {
            if let rusqlite::types::ValueRef::Text(t) = r.get_ref(0)? {
                if !f(std::str::from_utf8(t).unwrap_or("")) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// A read-only connection of its own (parallel start-up scans).
    fn reader(&self) -> rusqlite::Result<Connection> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let c = Connection::open_with_flags(&self.path, flags)?;
        // Map the file instead of copying pages through SQLite's cache.
        c.pragma_update(None, "mmap_size", 1i64 << 40)?;
        Ok(c)
    }

    /// An org's attempts in insertion order; `f` returns false to stop.
    pub fn scan_attempts(&self, org: &str, mut f: impl FnMut(AttemptRow) -> bool) -> rusqlite::Result<()> {
        let c = self.reader()?;
        let mut st = c.prepare(&format!("SELECT {ATTEMPT_COLS} FROM attempts WHERE +org = ?1 ORDER BY seq"))?;
        let mut rows = st.query([org])?;
        while let Some(r) = rows.next()? {
            if !f(AttemptRow::from_row(r)?) {
                break;
            }
        }
        Ok(())
    }

    /// (min seq, max seq) of an org's attempts; (0, -1) when it has none.
    /// See [`only_org_span`]; in a shared store, one pass over the org's
    /// entries of `attempts_id` (1.2–1.4 s for five million): an index on
    /// (org, seq) would make it two seeks but slowed `scrub load` by a fifth.
    pub fn attempt_span(&self, org: &str) -> rusqlite::Result<(i64, i64)> {
        self.read(|c| {
            if let Some(span) = only_org_span(c, "attempts", org)? {
                return Ok(span);
            }
            c.query_row(
                "SELECT coalesce(min(seq), 0), coalesce(max(seq), -1) FROM attempts WHERE org = ?1",
                [org],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
    }

    /// Reads the history columns of an org's attempts with `lo ≤ seq ≤ hi` on a
    /// connection of its own (start-up reads ranges in parallel), borrowing the
    /// text instead of allocating it: `f(seq, attempt)`.
    pub fn scan_history(
        &self,
        org: &str,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(i64, &crate::model::Attempt<'_>) -> bool,
    ) -> rusqlite::Result<()> {
        let c = self.reader()?;
        let mut st = c.prepare(
            "SELECT seq, channel, address, customer, account, time_ms, disposition, number_type, purpose, geocodes, \
             status FROM attempts WHERE seq BETWEEN ?2 AND ?3 AND +org = ?1 ORDER BY seq",
        )?;
        let mut rows = st.query(params![org, lo, hi])?;
        fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
            match r.get_ref(i)? {
                rusqlite::types::ValueRef::Text(t) => Ok(std::str::from_utf8(t).ok()),
                _ => Ok(None),
            }
        }
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let time_ms: i64 = r.get(5)?;
            let a = crate::model::Attempt {
                contact_channel: text(r, 1)?,
                contact_address: text(r, 2)?,
                customer: text(r, 3)?,
                account_number: text(r, 4)?,
                time_of_contact: None,
                time: Some(chrono::DateTime::from_timestamp_millis(time_ms).unwrap_or_default()),
                disposition: text(r, 6)?,
                number_type: None,
                purpose: text(r, 8)?,
                geocodes: text(r, 9)?,
                status: text(r, 10)?,
                number_type_int: r.get(7)?,
            };
            if !f(seq, &a) {
                break;
            }
        }
        Ok(())
    }

    /// Count of an org's attempts and the page `[start, start + max)` in insertion order.
    pub fn attempt_page(&self, org: &str, start: usize, max: usize) -> rusqlite::Result<(usize, Vec<AttemptRow>)> {
        let c = self.reader()?;
        let total: i64 = c.query_row("SELECT count(*) FROM attempts WHERE org = ?1", [org], |r| r.get(0))?;
        let mut st =
            c.prepare(&format!("SELECT {ATTEMPT_COLS} FROM attempts WHERE +org = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"))?;
        let rows = st
            .query_map(params![org, max as i64, start as i64], AttemptRow::from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((total as usize, rows))
    }

    pub fn attempt(&self, org: &str, id: &str) -> rusqlite::Result<Option<AttemptRow>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {ATTEMPT_COLS} FROM attempts WHERE org = ?1 AND id = ?2"),
                params![org, id],
                AttemptRow::from_row,
            )
            .optional()
        })
    }

    /// The active records unexpired at `now_ms` in the table where stores
    /// before the active-record log kept them, as puts for the log (empty the
    /// table with [`Store::clear_legacy_active`] once they are in the log).
    pub fn legacy_active(&self, now_ms: i64) -> rusqlite::Result<Vec<LogOp>> {
        let c = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = c.prepare(
            "SELECT org, key, address, customer, account, expires FROM active_records WHERE expires > ?1 \
             ORDER BY expires",
        )?;
        let rows = st.query_map([now_ms], |r| {
            Ok(LogOp::Put {
                org: r.get(0)?,
                key: r.get(1)?,
                address: r.get(2)?,
                customer: r.get(3)?,
                account: r.get(4)?,
                expires_ms: r.get(5)?,
            })
        })?;
        rows.collect()
    }

    /// Empties the legacy active-record table (see [`Store::legacy_active`]).
    pub fn clear_legacy_active(&self) -> rusqlite::Result<usize> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner()).execute("DELETE FROM active_records", [])
    }
}

/// When `table` holds rows of `org` alone (or no rows), its first and last
/// seq, else None: four index seeks, where the org's own min and max seq
/// cost a pass over all its index entries (SQLite answers neither
/// `min(seq), max(seq)` in one SELECT nor `WHERE org = ?` by seeks). A store
/// serves one org more often than not, and this took the start of one with
/// five million attempts from 1.2–1.4 s to nothing.
fn only_org_span(c: &Connection, table: &str, org: &str) -> rusqlite::Result<Option<(i64, i64)>> {
    let (lo_org, hi_org, lo, hi): (Option<String>, Option<String>, Option<i64>, Option<i64>) = c.query_row(
        &format!(
            "SELECT (SELECT min(org) FROM {table}), (SELECT max(org) FROM {table}), \
                    (SELECT min(seq) FROM {table}), (SELECT max(seq) FROM {table})"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    Ok(match (lo_org, hi_org, lo, hi) {
        (None, ..) => Some((0, -1)),
        (Some(a), Some(b), Some(lo), Some(hi)) if a == org && b == org => Some((lo, hi)),
        _ => None,
    })
}

pub fn put_entity(tx: &Connection, org: &str, kind: &str, id: &str, json: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO entities(org, kind, id, json) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(org, kind, id) DO UPDATE SET json = excluded.json",
        params![org, kind, id, json],
    )?;
    Ok(())
}

pub fn delete_entity(tx: &Connection, org: &str, kind: &str, id: &str) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM entities WHERE org = ?1 AND kind = ?2 AND id = ?3", params![org, kind, id])?;
    Ok(())
}

/// Inserts one attempt; returns its seq.
pub fn insert_attempt(tx: &Connection, org: &str, r: &AttemptRow) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO attempts(org, id, channel, address, customer, account, time_ms, time_zone, disposition, \
         number_type, purpose, geocodes, status, reason, product, product_sold, locale, key, version, created_ms, \
         modified_ms, modified_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    )?
    .execute(params![
        org,
        r.id,
        r.channel,
        r.address,
        r.customer,
        r.account,
        r.time_ms,
        r.time_zone,
        r.disposition,
        r.number_type,
        r.purpose,
        r.geocodes,
        r.status,
        r.reason,
        r.product,
        r.product_sold,
        r.locale,
        r.key,
        r.version,
        r.created_ms,
        r.modified_ms,
        r.modified_by
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Writes a PATCHed attempt's status, reason and version stamp.
pub fn update_attempt(tx: &Connection, org: &str, r: &AttemptRow) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE attempts SET status = ?3, reason = ?4, version = ?5, modified_ms = ?6, modified_by = ?7 \
         WHERE org = ?1 AND id = ?2",
        params![org, r.id, r.status, r.reason, r.version, r.modified_ms, r.modified_by],
    )?;
    Ok(())
}

/// Copies committed WAL frames into the database file every 500 ms on a
/// connection of its own (PASSIVE: never blocks readers or writers).
///
/// Under a steady stream of commits a PASSIVE checkpoint never catches up:
/// new frames arrive while it copies, so SQLite never restarts the WAL and
/// the file grows without bound (gigabytes after minutes of checks), and the
/// checkpoints that chase it stall the writer's appends for hundreds of
/// milliseconds. So once the WAL passes [`WAL_RESTART_BYTES`], a second
/// checkpoint runs while holding the writing connection's mutex: it only has
/// the few frames committed since the first one to copy, and with every frame
/// copied the next commit starts the WAL over from its beginning.
fn spawn_checkpointer(path: std::path::PathBuf, writer: std::sync::Arc<Mutex<Connection>>) {
    let _ = std::thread::Builder::new().name("scrub-checkpoint".into()).spawn(move || {
        let Ok(c) = Connection::open(&path) else { return };
        let _ = c.busy_timeout(std::time::Duration::from_millis(100));
        let wal = {
            let mut p = path.clone().into_os_string();
            p.push("-wal");
            std::path::PathBuf::from(p)
        };
        // (busy, frames in the WAL, frames copied)
        let checkpoint = |c: &Connection| {
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
        };
        loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let _ = checkpoint(&c);
            let big = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_RESTART_BYTES);
            if big {
                let _paused = writer.lock().unwrap_or_else(|p| p.into_inner());
                let _ = checkpoint(&c);
            }
        }
    });
}

/// The WAL size past which the checkpointer makes the WAL start over (it is
/// then truncated back to this size by `journal_size_limit`).
const WAL_RESTART_BYTES: u64 = 256 << 20;

/// Any write the writer thread runs for a request other than an active
/// record (a contact attempt with its quota), in a savepoint of the batch's
/// transaction: its failure undoes only itself. Returns a value for the
/// request (the seq).
pub type WriteFn = Box<dyn FnOnce(&Connection) -> rusqlite::Result<i64> + Send>;

enum Job {
    /// An active record put or deleted (the active-record log).
    Active(LogOp),
    /// A store write, and the active record it uses up (logged once the
    /// write is committed).
    Write(WriteFn, Option<LogOp>),
}

type Done = tokio::sync::oneshot::Sender<Result<i64, String>>;
/// Resolves when a queued change is committed (or failed).
pub type Pending = tokio::sync::oneshot::Receiver<Result<i64, String>>;

/// Group commit for the writes on the hot path: every allowed check writes an
/// active record and every reported attempt a row, so they go to one writer
/// thread that commits whatever has queued up together (the attempts in one
/// SQLite transaction, the active records in one append to their log) and
/// then answers each waiting request. A response is still sent only after its
/// write is durable (across `kill -9`), but thirty-two concurrent checks cost
/// one small append, not thirty-two commits, and an attempt never waits for
/// the connection behind a batch it could have joined.
#[derive(Debug, Clone)]
pub struct GroupWriter {
    tx: std::sync::mpsc::Sender<(Job, Done)>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Active(op) => op.fmt(f),
            Job::Write(..) => f.write_str("Write"),
        }
    }
}

/// Commits one batch: the store writes in one transaction, then the log
/// records (the checks' records and the keys the committed writes used up) in
/// one append, in queue order. Results in job order.
fn commit_batch(conn: &Mutex<Connection>, log: &mut ActiveLog, batch: Vec<Job>) -> Vec<Result<i64, String>> {
    let n = batch.len();
    // Per job: its result, and what it logs (an active job: its record; a
    // committed write: the key it used up).
    let mut results: Vec<Result<i64, String>> = Vec::with_capacity(n);
    let mut logged: Vec<Option<LogOp>> = Vec::with_capacity(n);
    let mut is_active: Vec<bool> = Vec::with_capacity(n);
    let has_writes = batch.iter().any(|j| matches!(j, Job::Write(..)));
    let mut conn = has_writes.then(|| conn.lock().unwrap_or_else(|p| p.into_inner()));
    {
        let mut tx = match conn.as_mut().map(|c| c.transaction()).transpose() {
            Ok(t) => t,
            Err(e) => return vec![Err(format!("store: {e}")); n],
        };
        for job in batch {
            match job {
                Job::Active(op) => {
                    results.push(Ok(0));
                    logged.push(Some(op));
                    is_active.push(true);
                }
                Job::Write(f, used) => {
                    let t = tx.as_mut().expect("a transaction for the batch's writes");
                    let r = match t.savepoint() {
                        Ok(sp) => match f(&sp) {
                            Ok(v) => sp.commit().map(|()| v).map_err(|e| format!("store: {e}")),
                            Err(e) => Err(format!("store: {e}")), // dropping `sp` rolls it back
                        },
                        Err(e) => Err(format!("store: {e}")),
                    };
                    logged.push(if r.is_ok() { used } else { None });
                    results.push(r);
                    is_active.push(false);
                }
            }
        }
        if let Some(t) = tx {
            if let Err(e) = t.commit() {
                // Nothing of the batch is in the store, so nothing goes to the log.
                return vec![Err(format!("store: {e}")); n];
            }
        }
    }
    drop(conn);
    if let Err(e) = log.append_ops(logged.iter().flatten()) {
        let e = format!("store: {e}");
        eprintln!("scrub serve: {e}");
        // The records are not durable: their checks and cancellations fail.
        // A committed write keeps its result (its attempt is saved; the key it
        // used may come back after a restart and block until it expires).
        for (r, active) in results.iter_mut().zip(is_active) {
            if active {
                *r = Err(e.clone());
            }
        }
    }
    results
}

impl GroupWriter {
    fn start(conn: std::sync::Arc<Mutex<Connection>>, clock: super::Clock, mut log: ActiveLog) -> GroupWriter {
        /// How often segments whose records have all expired are deleted.
        const DROP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
        let (tx, rx) = std::sync::mpsc::channel::<(Job, Done)>();
        std::thread::Builder::new()
            .name("scrub-writer".into())
            .spawn(move || {
                let mut last_drop = std::time::Instant::now();
                loop {
                    let first = match rx.recv_timeout(DROP_EVERY) {
                        Ok(j) => Some(j),
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    };
                    if last_drop.elapsed() >= DROP_EVERY {
                        last_drop = std::time::Instant::now();
                        log.drop_expired(clock.now().timestamp_millis());
                    }
                    let Some(first) = first else { continue };
                    // No waiting for a batch to gather: what queues up while one
                    // commit runs is the next batch, so batches grow with load
                    // and a lone request is not delayed.
                    let mut batch = vec![first];
                    while batch.len() < 4096 {
                        match rx.try_recv() {
                            Ok(j) => batch.push(j),
                            Err(_) => break,
                        }
                    }
                    let (jobs, dones): (Vec<Job>, Vec<Done>) = batch.into_iter().unzip();
                    let mut results = commit_batch(&conn, &mut log, jobs);
                    results.resize(dones.len(), Err("store: the batch was not committed".into()));
                    for (done, r) in dones.into_iter().zip(results) {
                        let _ = done.send(r);
                    }
                }
            })
            .expect("spawning the store writer");
        GroupWriter { tx }
    }

    /// Queues a store write and the active record it uses up (logged only if
    /// the write commits); the receiver resolves with its result once durable.
    pub fn write(&self, f: WriteFn, used: Option<LogOp>) -> Pending {
        self.send(Job::Write(f, used))
    }

    fn send(&self, job: Job) -> Pending {
        let (done, rx) = tokio::sync::oneshot::channel();
        if let Err(e) = self.tx.send((job, done)) {
            let (job, done) = e.0;
            let _ = done.send(Err(format!("store: the writer has stopped ({job:?} not saved)")));
        }
        rx
    }

    /// Queues an active record put or delete; the receiver resolves when it is durable.
    pub fn submit(&self, op: LogOp) -> Pending {
        self.send(Job::Active(op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: &str) -> AttemptRow {
        AttemptRow {
            id: id.into(),
            channel: "Voice".into(),
            status: "Enabled".into(),
            version: 1,
            ..Default::default()
        }
    }

    #[test]
    fn orgs_are_found_in_every_table_and_spans_bound_each_orgs_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), false).unwrap();
        assert!(store.orgs().unwrap().is_empty());
        assert_eq!(store.attempt_span("x").unwrap(), (0, -1));
        // "b" has only rules, "c" only attempts, "a" both, "d" only an old active record.
        let seqs = store
            .tx(|tx| {
                put_entity(tx, "b", "exclusions", "e1", "{}")?;
                put_entity(tx, "a", "quotaControls", "q1", "{}")?;
                let mut seqs = Vec::new();
                for (i, org) in ["c", "a", "c", "c", "a", "c"].iter().enumerate() {
                    seqs.push((*org, insert_attempt(tx, org, &attempt(&format!("t{i}")))?));
                }
                tx.execute(
                    "INSERT INTO active_records(expires, org, key, address, customer, account) \
                     VALUES (1, 'd', 'k', '', '', '')",
                    [],
                )?;
                Ok(seqs)
            })
            .unwrap();
        assert_eq!(store.orgs().unwrap(), ["a", "b", "c", "d"]);
        for org in ["a", "c"] {
            let mine: Vec<i64> = seqs.iter().filter(|(o, _)| *o == org).map(|(_, s)| *s).collect();
            let want = (*mine.iter().min().unwrap(), *mine.iter().max().unwrap());
            assert_eq!(store.attempt_span(org).unwrap(), want, "org {org}");
        }
        assert_eq!(store.attempt_span("a").unwrap(), (seqs[1].1, seqs[4].1));
        assert_eq!(store.attempt_span("b").unwrap(), (0, -1));
        // b's one exclusion is the store's first entity.
        assert_eq!(store.entity_span("b", "exclusions").unwrap(), (1, 1));
        assert_eq!(store.entity_span("a", "exclusions").unwrap(), (0, -1));
    }

    #[test]
    fn a_store_of_one_org_spans_its_whole_tables() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), false).unwrap();
        assert_eq!(store.entity_span("a", "exclusions").unwrap(), (0, -1));
        let (e, t) = store
            .tx(|tx| {
                put_entity(tx, "a", "quotaControls", "q1", "{}")?;
                put_entity(tx, "a", "exclusions", "e1", "{}")?;
                put_entity(tx, "a", "exclusions", "e2", "{}")?;
                put_entity(tx, "a", "attemptTrackers", "t1", "{}")?;
                let t = (0..3)
                    .map(|i| insert_attempt(tx, "a", &attempt(&format!("t{i}"))))
                    .collect::<Result<Vec<_>, _>>()?;
                let e: i64 = tx.query_row("SELECT min(seq) FROM entities", [], |r| r.get(0))?;
                Ok((e, t))
            })
            .unwrap();
        // Every entity of the org's is inside: the scan filters the kind.
        assert_eq!(store.entity_span("a", "exclusions").unwrap(), (e, e + 3));
        assert_eq!(store.attempt_span("a").unwrap(), (t[0], t[2]));
        // An org with nothing in a one-org store: the exact (empty) answer.
        assert_eq!(store.attempt_span("z").unwrap(), (0, -1));
        assert_eq!(store.entity_span("z", "exclusions").unwrap(), (0, -1));
    }
}

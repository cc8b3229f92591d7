//! History files (SPEC §11): contact attempts from CSV, Parquet or `cet` load
//! files, streamed into the columnar [`HistoryBuilder`]. A bad row (unknown
//! channel, unreadable time) stops the load with an error naming file and row.
//! In `cet` files an attempt identical to one already loaded is a duplicate
//! (SPEC §12) and is counted, not added.

use std::hash::{BuildHasher, Hash, Hasher};
use std::path::Path;

use ahash::{AHashSet, RandomState};
use arrow_array::{Array, RecordBatch};

use super::arrow_text::{timestamp_instant, FieldColumn};
use super::columns::ColumnMap;
use super::{csv_reader, Format, LoadError};
use crate::engine::HistoryBuilder;
use crate::model::Attempt;

const COLUMNS: [&str; 11] = [
    "contactChannel",
    "contactAddress",
    "customer",
    "accountNumber",
    "timeOfContact",
    "timeZone",
    "disposition",
    "numberType",
    "purpose",
    "geocodes",
    "status",
];

#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryLoadReport {
    pub files: Vec<String>,
    pub rows: usize,
    pub duplicates: usize,
}

/// Identity of a cet attempt for duplicate detection (fixed seeds: deterministic).
struct Dedup {
    seen: AHashSet<u64>,
    hasher: RandomState,
}

impl Dedup {
    fn new() -> Self {
        Dedup { seen: AHashSet::new(), hasher: RandomState::with_seeds(1, 2, 3, 4) }
    }
    fn is_new(&mut self, a: &Attempt<'_>) -> bool {
        let mut h = self.hasher.build_hasher();
        let ch = a.channel().ok();
        ch.map(|c| c as u8).hash(&mut h);
        ch.and_then(|c| a.contact_address.and_then(|x| crate::normalize::address(c, x))).hash(&mut h);
        a.customer.map(str::trim).hash(&mut h);
        a.account_number.map(str::trim).hash(&mut h);
        a.instant().ok().map(|t| t.timestamp_nanos_opt()).hash(&mut h);
        a.disposition.map(str::trim).hash(&mut h);
        self.seen.insert(h.finish())
    }
}

pub fn load_history(path: &Path, b: &mut HistoryBuilder, report: &mut HistoryLoadReport) -> Result<(), LoadError> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| LoadError::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file() && Format::of(p).is_some_and(|f| matches!(f, Format::Csv | Format::Parquet | Format::Cet))
            })
            .collect();
        entries.sort();
        for p in entries {
            load_history(&p, b, report)?;
        }
        return Ok(());
    }
    report.files.push(path.display().to_string());
    match Format::of(path) {
        Some(Format::Csv) => load_csv(path, b, report, None),
        Some(Format::Cet) => load_csv(path, b, report, Some(Dedup::new())),
        Some(Format::Parquet) => load_parquet(path, b, report),
        _ => Err(LoadError::file(path, "unknown history format (expected .csv, .parquet or .cet)")),
    }
}

fn load_csv(
    path: &Path,
    b: &mut HistoryBuilder,
    report: &mut HistoryLoadReport,
    mut dedup: Option<Dedup>,
) -> Result<(), LoadError> {
    let mut rdr = csv_reader(path)?;
    let headers = super::csv_headers(&mut rdr, path)?;
    let map = ColumnMap::new(&headers, COLUMNS);
    for (i, name) in [(0, "contactChannel"), (4, "timeOfContact")] {
        if map.idx[i].is_none() {
            return Err(LoadError::file(path, format!("no {name} column: not a contact-attempt history file")));
        }
    }
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(LoadError::file(path, format!("unreadable CSV: {e}"))),
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| map.idx[i].and_then(|c| rec.get(c));
        let a = Attempt {
            contact_channel: get(0),
            contact_address: get(1),
            customer: get(2),
            account_number: get(3),
            time_of_contact: get(4),
            time: None,
            disposition: get(6),
            number_type: get(7),
            purpose: get(8),
            geocodes: get(9),
            status: get(10),
            number_type_int: None,
        };
        if let Some(d) = dedup.as_mut() {
            if !d.is_new(&a) {
                report.duplicates += 1;
                continue;
            }
        }
        b.push(&a, std::iter::empty()).map_err(|e| LoadError::field(path, format!("line {line}"), e))?;
        report.rows += 1;
    }
    Ok(())
}

fn load_parquet(path: &Path, b: &mut HistoryBuilder, report: &mut HistoryLoadReport) -> Result<(), LoadError> {
    use rayon::prelude::*;
    // Row groups are decoded and normalised in parallel; interning happens once at build.
    let src = super::ParquetSource::open(path, &[])?;
    let headers = src.headers();
    let map = ColumnMap::new(&headers, COLUMNS);
    // With typed attempt times, timeZone is never read: it is not decoded at all
    // (in the generated 50M-attempt file it is a sixth of the decoded text).
    let typed_time =
        map.idx[4].is_some_and(|i| matches!(src.schema().field(i).data_type(), arrow_schema::DataType::Timestamp(..)));
    let only: Option<Vec<usize>> = match (typed_time, map.idx[5]) {
        (true, Some(tz)) => Some((0..headers.len()).filter(|&i| i != tz).collect()),
        _ => None,
    };
    let b_ref = &*b;
    let groups: Vec<_> = src
        .tasks()
        .into_par_iter()
        .map(|(first, rows, rgs)| {
            let mut staged = b_ref.new_group_with_capacity(rows);
            let mut row = first;
            for batch in src.batches(rgs, only.as_deref())? {
                let batch = batch?;
                stage_batch(path, &batch, row, &mut staged)?;
                row += batch.num_rows();
            }
            Ok(staged)
        })
        .collect::<Result<_, LoadError>>()?;
    for g in groups {
        report.rows += g.rows_read();
        b.add_group(g);
    }
    Ok(())
}

fn stage_batch(
    path: &Path,
    batch: &RecordBatch,
    first_row: usize,
    staged: &mut crate::engine::history::StagedGroup,
) -> Result<(), LoadError> {
    let headers: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
    let map = ColumnMap::new(&headers, COLUMNS);
    for (i, name) in [(0, "contactChannel"), (4, "timeOfContact")] {
        if map.idx[i].is_none() {
            return Err(LoadError::file(path, format!("no {name} column: not a contact-attempt history file")));
        }
    }
    // A typed timestamp column is read as instants; anything else as text.
    let time_col = batch.column(map.idx[4].unwrap());
    let typed_time = super::arrow_text::timestamp_as_i64(time_col);
    let cols: Vec<Option<FieldColumn>> = map
        .idx
        .iter()
        .enumerate()
        .map(|(k, i)| match i {
            // timeZone (5) is not needed: attempt times are instants.
            Some(_) if k == 5 || (k == 4 && typed_time.is_some()) => Ok(None),
            Some(i) if k == 7 => FieldColumn::number(batch.column(*i)).map(Some),
            Some(i) => FieldColumn::new(batch.column(*i)).map(Some),
            None => Ok(None),
        })
        .collect::<Result<_, _>>()
        .map_err(|e| LoadError::file(path, e))?;
    let text = |k: usize, r: usize| cols[k].as_ref().and_then(|c| c.text(r));
    let list: Option<&super::arrow_text::ListText> = match &cols[9] {
        Some(FieldColumn::List(l)) => Some(l),
        _ => None,
    };
    for r in 0..batch.num_rows() {
        let time = match &typed_time {
            Some((a, unit)) if !a.is_null(r) => timestamp_instant(a.value(r), *unit),
            _ => None,
        };
        let a = Attempt {
            contact_channel: text(0, r),
            contact_address: text(1, r),
            customer: text(2, r),
            account_number: text(3, r),
            time_of_contact: text(4, r),
            time,
            disposition: text(6, r),
            number_type: text(7, r),
            purpose: text(8, r),
            geocodes: text(9, r),
            status: text(10, r),
            number_type_int: cols[7].as_ref().and_then(|c| c.int(r)),
        };
        let extra = list.into_iter().flat_map(|l| l.items(r));
        staged.push(&a, extra).map_err(|e| LoadError::field(path, format!("row {}", first_row + r + 1), e))?;
    }
    Ok(())
}

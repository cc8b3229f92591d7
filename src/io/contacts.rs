//! Contact lists (SPEC §11): read in chunks from CSV or Parquet, with the
//! record fields located by header and every column kept for passthrough.
//!
//! CSV rows stay as raw `ByteRecord`s so values pass through byte for byte
//! (`00123` stays `00123`); Parquet batches stay Arrow arrays, types intact.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use chrono_tz::Tz;
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;

use super::arrow_text::FieldColumn;
use super::columns::ColumnMap;
use super::csv_rows::CsvBlocks;
pub use super::csv_rows::{CsvRow, CsvRows};
use super::{Format, LoadError};
use crate::model::{Check, Checks, RawRecord, Record};

/// The record fields of §1, in the order of the column indices a [`ColumnMap`] resolves.
pub const RECORD_COLUMNS: [&str; 11] = [
    "contactChannel",
    "contactAddress",
    "customer",
    "accountNumber",
    "ssn",
    "contactListName",
    "numberType",
    "purpose",
    "timeZone",
    "product",
    "geocodes",
];

enum Source {
    Csv(CsvBlocks),
    Parquet(ParquetRecordBatchReader),
}

/// A block of input rows.
pub enum Chunk {
    Csv { rows: CsvRows },
    Arrow(RecordBatch),
}

impl Chunk {
    pub fn len(&self) -> usize {
        match self {
            Chunk::Csv { rows } => rows.len(),
            Chunk::Arrow(b) => b.num_rows(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct ContactReader {
    pub path: PathBuf,
    pub format: Format,
    pub headers: Vec<String>,
    /// The Parquet schema (Parquet input only).
    pub schema: Option<SchemaRef>,
    /// Total rows when known up front (Parquet), else the file size in bytes (CSV).
    pub total_hint: (u64, bool),
    source: Source,
    rows_read: u64,
}

impl ContactReader {
    pub fn open(path: &Path, chunk_rows: usize) -> Result<ContactReader, LoadError> {
        super::must_exist(path)?;
        let format = Format::of(path)
            .ok_or_else(|| LoadError::file(path, "unknown contacts format (expected .csv or .parquet)"))?;
        match format {
            Format::Csv => {
                let f = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
                let mut blocks = CsvBlocks::new(Box::new(f));
                let headers: Vec<String> = blocks
                    .header()
                    .map_err(|e| LoadError::file(path, format!("cannot read the header: {e}")))?
                    .unwrap_or_default()
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').to_string())
                    .collect();
                let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                Ok(ContactReader {
                    path: path.to_path_buf(),
                    format,
                    headers,
                    schema: None,
                    total_hint: (size, false),
                    source: Source::Csv(blocks),
                    rows_read: 0,
                })
            }
            Format::Parquet => {
                let f = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
                let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                    .map_err(|e| LoadError::file(path, format!("not a readable Parquet file: {e}")))?;
                let total = builder.metadata().file_metadata().num_rows() as u64;
                let reader = builder
                    .with_batch_size(chunk_rows)
                    .build()
                    .map_err(|e| LoadError::file(path, format!("not a readable Parquet file: {e}")))?;
                let schema = arrow_array::RecordBatchReader::schema(&reader);
                let headers: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
                Ok(ContactReader {
                    path: path.to_path_buf(),
                    format,
                    headers,
                    schema: Some(schema),
                    total_hint: (total, true),
                    source: Source::Parquet(reader),
                    rows_read: 0,
                })
            }
            _ => Err(LoadError::file(path, "contacts must be .csv or .parquet")),
        }
    }

    /// Progress position in the unit of `total_hint` (rows or bytes).
    pub fn position(&self) -> u64 {
        match &self.source {
            Source::Csv(r) => r.position(),
            Source::Parquet(_) => self.rows_read,
        }
    }

    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<Chunk>, LoadError> {
        match &mut self.source {
            Source::Csv(blocks) => {
                let rows = blocks
                    .next_chunk(max_rows)
                    .map_err(|e| LoadError::file(&self.path, format!("unreadable CSV: {e}")))?;
                self.rows_read += rows.as_ref().map_or(0, |r| r.len() as u64);
                Ok(rows.map(|rows| Chunk::Csv { rows }))
            }
            Source::Parquet(rdr) => match rdr.next() {
                None => Ok(None),
                Some(Err(e)) => Err(LoadError::file(&self.path, format!("unreadable Parquet: {e}"))),
                Some(Ok(b)) => {
                    self.rows_read += b.num_rows() as u64;
                    Ok(Some(Chunk::Arrow(b)))
                }
            },
        }
    }
}

/// The record fields (by [`RECORD_COLUMNS`] index) that no selected check
/// reads: purpose and geocodes matter only to attempt and message trackers,
/// product only to quota controls. A run without those checks leaves them
/// unread (a DNC scrub normalised three fields per row for nothing); they
/// still reach the outputs unchanged, and a CSV value in them must still be
/// UTF-8.
pub fn unread_fields(checks: Checks) -> [bool; 11] {
    let trackers = checks.contains(Check::AttemptTrackers) || checks.contains(Check::MessageTrackers);
    let mut unread = [false; 11];
    unread[7] = !trackers; // purpose
    unread[9] = !checks.contains(Check::QuotaControls); // product
    unread[10] = !trackers; // geocodes
    unread
}

/// A per-chunk accessor for the record fields (columns located by header);
/// the fields the run's `checks` do not read are left empty (see [`unread_fields`]).
pub fn view_for<'c>(
    path: &Path,
    headers: &[String],
    chunk: &'c Chunk,
    checks: Checks,
) -> Result<ChunkView<'c>, LoadError> {
    let map: ColumnMap<11> = ColumnMap::new(headers, RECORD_COLUMNS);
    let unread = unread_fields(checks);
    match chunk {
        Chunk::Csv { rows } => Ok(ChunkView::Csv { rows, map, width: headers.len(), unread }),
        Chunk::Arrow(b) => {
            let cols = map
                .idx
                .iter()
                .zip(RECORD_COLUMNS)
                .map(|(i, name)| {
                    i.map(|i| {
                        let col = match name {
                            "numberType" => FieldColumn::number(b.column(i)),
                            _ => FieldColumn::new(b.column(i)),
                        };
                        col.map_err(|e| LoadError::file(path, format!("column {name}: {e}")))
                    })
                    .transpose()
                })
                .collect::<Result<Vec<_>, _>>()?;
            // Built (so a column of an unusable type is reported whatever
            // the checks), then set aside when unread.
            let cols = cols.into_iter().zip(unread).map(|(c, skip)| if skip { None } else { c }).collect();
            Ok(ChunkView::Arrow { cols })
        }
    }
}

pub enum ChunkView<'c> {
    Csv { rows: &'c CsvRows, map: ColumnMap<11>, width: usize, unread: [bool; 11] },
    Arrow { cols: Vec<Option<FieldColumn>> },
}

impl ChunkView<'_> {
    /// Normalises row `i` into `rec`; `Err` is the reject reason (SPEC §10).
    pub fn fill(&self, i: usize, rec: &mut Record, default_zone: Tz) -> Result<(), String> {
        match self {
            ChunkView::Csv { rows, map, width, unread } => {
                let row = rows.row(i);
                if row.len() > *width {
                    return Err(format!("row has {} fields but the header has {}", row.len(), width));
                }
                let mut f: [Option<&str>; 11] = [None; 11];
                for (k, idx) in map.idx.iter().enumerate() {
                    if let Some(c) = idx {
                        if let Some(bytes) = row.get(*c) {
                            f[k] = Some(if rows.ascii() {
                                // SAFETY: every byte of the chunk is ASCII, so any slice of it is UTF-8.
                                unsafe { std::str::from_utf8_unchecked(bytes) }
                            } else {
                                std::str::from_utf8(bytes)
                                    .map_err(|_| format!("{}: invalid UTF-8", RECORD_COLUMNS[k]))?
                            });
                        }
                    }
                }
                for (v, &skip) in f.iter_mut().zip(unread) {
                    if skip {
                        *v = None;
                    }
                }
                let raw = raw_of(&f);
                rec.fill(&raw, default_zone).map_err(|e| e.to_string())
            }
            ChunkView::Arrow { cols } => {
                let mut f: [Option<&str>; 11] = [None; 11];
                for (k, c) in cols.iter().enumerate() {
                    f[k] = c.as_ref().and_then(|c| c.text(i));
                }
                let mut raw = raw_of(&f);
                raw.number_type_int = cols[6].as_ref().and_then(|c| c.int(i));
                rec.fill(&raw, default_zone).map_err(|e| e.to_string())?;
                if let Some(FieldColumn::List(l)) = &cols[10] {
                    for g in l.items(i) {
                        rec.add_geocode(g);
                    }
                }
                Ok(())
            }
        }
    }
}

fn raw_of<'a>(f: &[Option<&'a str>; 11]) -> RawRecord<'a> {
    RawRecord {
        contact_channel: f[0],
        contact_address: f[1],
        customer: f[2],
        account_number: f[3],
        ssn: f[4],
        contact_list_name: f[5],
        number_type: f[6],
        purpose: f[7],
        time_zone: f[8],
        product: f[9],
        geocodes: f[10],
        number_type_int: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_chunk(lines: &[&[u8]]) -> Chunk {
        Chunk::Csv { rows: CsvRows::from_lines(lines) }
    }

    fn checks(list: &[&str]) -> Checks {
        Checks::parse_list(list.iter().copied()).unwrap()
    }

    /// (purpose, product, geocodes) of row `i` as normalised for `checks`.
    fn read_fields(headers: &[String], chunk: &Chunk, c: Checks, i: usize) -> (String, String, Vec<String>) {
        let view = view_for(Path::new("t"), headers, chunk, c).unwrap();
        let mut rec = Record::default();
        view.fill(i, &mut rec, Tz::UTC).unwrap();
        (rec.purpose.clone(), rec.product.clone(), rec.geocodes().to_vec())
    }

    #[test]
    fn fields_no_selected_check_reads_are_left_unread() {
        let names = ["contactChannel", "contactAddress", "purpose", "product", "geocodes", "accountNumber"];
        let headers: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let csv = csv_chunk(&[b"Voice,2125550101, Collections ,GOLD,\"CA, ny\",AC-1\n"]);
        let batch = {
            use arrow_array::{ArrayRef, StringArray};
            let col = |v: &str| std::sync::Arc::new(StringArray::from(vec![v])) as ArrayRef;
            let cols = ["Voice", "2125550101", " Collections ", "GOLD", "CA, ny", "AC-1"].map(col);
            RecordBatch::try_from_iter(names.iter().copied().zip(cols)).unwrap()
        };
        let arrow = Chunk::Arrow(batch);
        let all = ("collections".to_string(), "gold".to_string(), vec!["ca".to_string(), "ny".to_string()]);
        let none = (String::new(), String::new(), Vec::new());
        for chunk in [&csv, &arrow] {
            assert_eq!(read_fields(&headers, chunk, Checks::ALL, 0), all);
            assert_eq!(read_fields(&headers, chunk, checks(&["exclusions"]), 0), none);
            assert_eq!(read_fields(&headers, chunk, checks(&["exclusions", "convenientContactTimes"]), 0), none);
            assert_eq!(
                read_fields(&headers, chunk, checks(&["quotaControls"]), 0),
                (String::new(), "gold".into(), vec![])
            );
            for t in ["attemptTrackers", "messageTrackers"] {
                assert_eq!(
                    read_fields(&headers, chunk, checks(&[t]), 0),
                    (all.0.clone(), String::new(), all.2.clone())
                );
            }
            // What every check reads is read whatever the checks.
            let view = view_for(Path::new("t"), &headers, chunk, checks(&["exclusions"])).unwrap();
            let mut rec = Record::default();
            view.fill(0, &mut rec, Tz::UTC).unwrap();
            assert_eq!((rec.address.as_str(), rec.account()), ("2125550101", Some("AC-1")));
        }
        assert_eq!(unread_fields(Checks::ALL), [false; 11]);
        // An unread CSV field must still be UTF-8: the row is rejected, as with every check.
        let bad = csv_chunk(&[b"Voice,2125550101,\xff,GOLD,CA,AC-1\n"]);
        for c in [Checks::ALL, checks(&["exclusions"])] {
            let view = view_for(Path::new("t"), &headers, &bad, c).unwrap();
            assert_eq!(view.fill(0, &mut Record::default(), Tz::UTC).unwrap_err(), "purpose: invalid UTF-8");
        }
    }
}

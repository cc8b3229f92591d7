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
use crate::engine::history::StagedGroup;
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
    super::must_exist(path)?;
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
    // A run's trackers reach back days; a history file of months written in
    // time order has whole row groups older than that. Their statistics say
    // so, and of those rows only the fields a row is checked on (channel,
    // time, numberType, status: SPEC §11, a bad row stops the run) are read.
    let reach = match (b.window(), map.idx[4]) {
        (Some(w), Some(time_col)) if src.is_flat() => match src.schema().field(time_col).data_type() {
            arrow_schema::DataType::Timestamp(unit, _) => Some((w, *unit, time_col)),
            _ => None,
        },
        _ => None,
    };
    let checked_only: Vec<usize> = CHECKED_FIELDS.iter().filter_map(|&k| map.idx[k]).collect();
    // Out of reach, a group is best checked from its pages (see Parts::checked_by_pages):
    // possible when numberType is absent or an integer column (any integer is valid).
    let number_type_ok = map.idx[7].is_none_or(|i| {
        matches!(src.schema().field(i).data_type(), arrow_schema::DataType::Int64 | arrow_schema::DataType::Int32)
    });
    let by_pages = match (reach, map.idx[0]) {
        (Some((window, unit, time)), Some(channel)) if number_type_ok => {
            Some(PageChecked { channel, time, unit, window, status: map.idx[10] })
        }
        _ => None,
    };
    // A dictionary-encoded status is counted from its indexes, read as a dictionary array.
    let status_src = match (by_pages, map.idx[10]) {
        (Some(_), Some(i)) => Some(super::ParquetSource::open(path, &[headers[i].as_str()])?),
        _ => None,
    };
    let parts = Parts {
        src: &src,
        builder: b,
        only: only.as_deref(),
        checked_only: &checked_only,
        by_pages,
        status_src: status_src.as_ref(),
    };
    let groups: Vec<Vec<_>> = src
        .tasks()
        .into_par_iter()
        .map(|(first, _, rgs)| {
            let far = |g: usize| reach.is_some_and(|(window, unit, col)| out_of_reach(&src, g, col, unit, window));
            parts.stage(first, rgs, far)
        })
        .collect::<Result<_, LoadError>>()?;
    for g in groups.into_iter().flatten() {
        report.rows += g.rows_read();
        b.add_group(g);
    }
    Ok(())
}

/// What a task of the Parquet loader reads from, and into.
struct Parts<'s, 'p> {
    src: &'s super::ParquetSource<'p>,
    builder: &'s HistoryBuilder,
    /// The columns read (`None`: all).
    only: Option<&'s [usize]>,
    /// The columns of [`CHECKED_FIELDS`].
    checked_only: &'s [usize],
    /// How groups out of reach are checked from their pages, when they can be.
    by_pages: Option<PageChecked>,
    /// The file again, its status column read as a dictionary array.
    status_src: Option<&'s super::ParquetSource<'p>>,
}

/// The columns (header positions) and window with which a row group out of
/// reach is checked from its pages ([`Parts::checked_by_pages`]).
#[derive(Debug, Clone, Copy)]
struct PageChecked {
    channel: usize,
    time: usize,
    unit: arrow_schema::TimeUnit,
    /// The window (ns) of the run.
    window: (i64, i64),
    status: Option<usize>,
}

impl Parts<'_, '_> {
    /// Stages row groups `rgs` (the first row is `first`, 0-based), reading
    /// those `far` says are out of reach for their checked fields only, and
    /// consecutive groups alike in reach together.
    fn stage(&self, first: usize, rgs: Vec<usize>, far: impl Fn(usize) -> bool) -> Result<Vec<StagedGroup>, LoadError> {
        let mut runs: Vec<(bool, Vec<usize>, usize)> = Vec::new();
        for g in rgs {
            let (far, n) = (far(g), self.src.metadata().row_group(g).num_rows() as usize);
            match runs.last_mut() {
                Some(run) if run.0 == far => {
                    run.1.push(g);
                    run.2 += n;
                }
                _ => runs.push((far, vec![g], n)),
            }
        }
        let mut staged = Vec::new();
        let mut row = first;
        let mut checked = self.builder.new_group();
        for (far, mut rgs, mut rows) in runs {
            if far && self.by_pages.is_some() {
                // groups checked from their pages are counted, up to the first that is not:
                // from there on the run is read (its first row numbers errors)
                let mut done = 0;
                for &g in &rgs {
                    let Some(disabled) = self.checked_by_pages(g)? else { break };
                    let n = self.src.metadata().row_group(g).num_rows() as usize;
                    checked.add_checked_out_of_window(n, disabled);
                    (row, rows, done) = (row + n, rows - n, done + 1);
                }
                rgs.drain(..done);
                if rgs.is_empty() {
                    continue;
                }
            }
            if far {
                let g = self.read(rgs.clone(), Some(self.checked_only), row, 0)?;
                if g.is_empty() {
                    staged.push(g);
                    row += rows;
                    continue;
                }
                // A row was kept: the statistics were wrong. Read it all.
            }
            staged.push(self.read(rgs, self.only, row, rows)?);
            row += rows;
        }
        if checked.rows_read() > 0 {
            staged.push(checked);
        }
        Ok(staged)
    }

    /// Checks row group `g`, out of reach by its statistics, from its pages
    /// alone, without decoding rows into Arrow arrays: every time of contact
    /// (each value) outside the window, no null channel or time (by the
    /// statistics), every channel valid (the dictionary's values, or each
    /// value), every status valid (each value; the Disabled ones counted);
    /// numberType, if present, is an integer column, where any value is
    /// valid. A dictionary-encoded column is checked by its entries, and the
    /// Disabled rows of a dictionary-encoded status are counted from its
    /// indexes when an entry says Disabled. `Some(disabled)` when all holds.
    /// `None` when anything does not or the layout is another (delta
    /// encodings, nulls in the time column): the caller reads the group's
    /// rows, which also names a bad row. In the generated 50M-attempt history,
    /// reading the rows of the groups out of reach was 4 s of the load.
    fn checked_by_pages(&self, g: usize) -> Result<Option<usize>, LoadError> {
        use super::PageWalk;
        let Some(c) = self.by_pages else { return Ok(None) };
        let rg = self.src.metadata().row_group(g);
        let no_nulls = |col: usize| rg.column(col).statistics().and_then(|s| s.null_count_opt()) == Some(0);
        if !no_nulls(c.channel) || !no_nulls(c.time) {
            return Ok(None);
        }
        let (from, to) = c.window;
        // v units after the epoch are v·k ns (an instant chrono reads the same way);
        // a product past i64 (centuries away) leaves the group to the row reader
        let k: i64 = match c.unit {
            arrow_schema::TimeUnit::Second => 1_000_000_000,
            arrow_schema::TimeUnit::Millisecond => 1_000_000,
            arrow_schema::TimeUnit::Microsecond => 1_000,
            arrow_schema::TimeUnit::Nanosecond => 1,
        };
        let outside = |v: i64| v.checked_mul(k).is_some_and(|t| t < from || t > to);
        if self.src.page_i64_values(g, c.time, outside)? != Some(true) {
            return Ok(None);
        }
        // a column of a few distinct spellings: each is judged once
        let mut channels = Judged::default();
        let channel_ok = |v: &[u8]| {
            channels
                .judge(v, |s| {
                    Attempt { contact_channel: Some(s), ..Attempt::default() }.channel().is_ok().then_some(())
                })
                .is_some()
        };
        let walk = PageWalk { nulls: false, dictionary: true };
        if self.src.page_text_values(g, c.channel, walk, channel_ok)? != Some(true) {
            return Ok(None);
        }
        let mut disabled = 0;
        if let Some(col) = c.status {
            // with a dictionary, the values walked are its entries (and any plain pages after it)
            let dictionary = rg.column(col).dictionary_page_offset().is_some();
            let mut statuses = Judged::default();
            let walk = PageWalk { nulls: true, dictionary };
            let status_ok = |v: &[u8]| match statuses.judge(v, status_enabled) {
                Some(enabled) => {
                    disabled += usize::from(!enabled);
                    true
                }
                None => false,
            };
            if self.src.page_text_values(g, col, walk, status_ok)? != Some(true) {
                return Ok(None);
            }
            if dictionary && disabled > 0 {
                // some entry says Disabled: count the rows from the indexes
                match self.disabled_rows(g, col)? {
                    Some(n) => disabled = n,
                    None => return Ok(None),
                }
            }
        }
        Ok(Some(disabled))
    }

    /// The Disabled rows of row group `g` by its status column `col` read as
    /// a dictionary array (each entry judged once); `None` if it is not read
    /// as one or an entry is not a valid status.
    fn disabled_rows(&self, g: usize, col: usize) -> Result<Option<usize>, LoadError> {
        use arrow_array::cast::AsArray;
        let Some(src) = self.status_src else { return Ok(None) };
        let mut rows = 0;
        for batch in src.batches(vec![g], Some(&[col]))? {
            let batch = batch?;
            let Some(dict) = batch.column(0).as_any_dictionary_opt() else { return Ok(None) };
            let Ok(values) = super::arrow_text::to_text(dict.values()) else { return Ok(None) };
            let mut entry_disabled = Vec::with_capacity(values.len());
            for i in 0..values.len() {
                match values.is_null(i).then_some(true).or_else(|| status_enabled(values.value(i))) {
                    Some(enabled) => entry_disabled.push(!enabled),
                    None => return Ok(None),
                }
            }
            let keys = dict.normalized_keys();
            rows += (0..dict.len()).filter(|&r| dict.is_valid(r) && entry_disabled[keys[r]]).count();
        }
        Ok(Some(rows))
    }

    fn read(
        &self,
        rgs: Vec<usize>,
        cols: Option<&[usize]>,
        first: usize,
        rows: usize,
    ) -> Result<StagedGroup, LoadError> {
        let mut staged = self.builder.new_group_with_capacity(rows);
        let mut row = first;
        for batch in self.src.batches(rgs, cols)? {
            let batch = batch?;
            stage_batch(self.src.path(), &batch, row, &mut staged)?;
            row += batch.num_rows();
        }
        Ok(staged)
    }
}

/// Whether a status text is Enabled (`None`: not a valid status), as
/// [`Attempt::enabled`] reads it.
fn status_enabled(s: &str) -> Option<bool> {
    Attempt { status: Some(s), ..Attempt::default() }.enabled().ok()
}

/// The verdicts on the last few distinct values of a low-cardinality text
/// column, so that a page of "Enabled"s is parsed once, not per row.
#[derive(Default)]
struct Judged<T> {
    seen: Vec<(Box<[u8]>, T)>,
}

impl<T: Copy> Judged<T> {
    /// `judge`'s verdict on `v` as text (`None` if not UTF-8 or judged bad).
    fn judge(&mut self, v: &[u8], judge: impl Fn(&str) -> Option<T>) -> Option<T> {
        if let Some((_, t)) = self.seen.iter().find(|(k, _)| **k == *v) {
            return Some(*t);
        }
        let t = judge(std::str::from_utf8(v).ok()?)?;
        if self.seen.len() < 8 {
            self.seen.push((v.into(), t));
        }
        Some(t)
    }
}

/// The fields an attempt is checked on before the window drops it
/// (positions in `COLUMNS`): contactChannel, timeOfContact, numberType, status.
const CHECKED_FIELDS: [usize; 4] = [0, 4, 7, 10];

/// Whether row group `g`'s statistics put every time of contact (column
/// `time_col`, in `unit`) outside `window` (ns). Unknown statistics: no.
fn out_of_reach(
    src: &super::ParquetSource<'_>,
    g: usize,
    time_col: usize,
    unit: arrow_schema::TimeUnit,
    (from, to): (i64, i64),
) -> bool {
    use parquet::file::statistics::Statistics;
    let Some(Statistics::Int64(s)) = src.metadata().row_group(g).column(time_col).statistics() else {
        return false;
    };
    let ns = |v: Option<&i64>| v.and_then(|&v| timestamp_instant(v, unit)).map(crate::engine::history::to_nanos);
    match (ns(s.min_opt()), ns(s.max_opt())) {
        (Some(lo), Some(hi)) => hi < from || lo > to,
        _ => false,
    }
}

fn stage_batch(path: &Path, batch: &RecordBatch, first_row: usize, staged: &mut StagedGroup) -> Result<(), LoadError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use std::sync::Arc;

    const DAY_MS: i64 = 86_400_000;
    const NOW_MS: i64 = 1_793_718_000_000; // 2026-11-02T15:00:00Z

    /// 12 attempts, oldest first, one every 3.5 days up to an hour ago;
    /// `bad` replaces row `.0`'s (0-based) channel or status.
    fn history_batch(bad: Option<(usize, &str, &str)>) -> RecordBatch {
        let n = 12;
        let t: Vec<i64> = (0..n).map(|i| NOW_MS - 3_600_000 - (n - 1 - i) as i64 * DAY_MS * 7 / 2).collect();
        let mut ch: Vec<&str> = (0..n).map(|i| ["Voice", "SMS", "Email"][i % 3]).collect();
        let mut st: Vec<&str> = (0..n).map(|i| if i % 5 == 4 { "Disabled" } else { "Enabled" }).collect();
        if let Some((r, field, v)) = bad {
            match field {
                "contactChannel" => ch[r] = v,
                _ => st[r] = v,
            }
        }
        let addr: Vec<String> = (0..n).map(|i| format!("21255501{i:02}")).collect();
        let acct: Vec<String> = (0..n).map(|i| format!("AC-{}", i % 4)).collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new("contactChannel", DataType::Utf8, true),
            Field::new("contactAddress", DataType::Utf8, true),
            Field::new("accountNumber", DataType::Utf8, true),
            Field::new("timeOfContact", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
            Field::new("numberType", DataType::Int64, true),
            Field::new("status", DataType::Utf8, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(ch)),
            Arc::new(StringArray::from(addr)),
            Arc::new(StringArray::from(acct)),
            Arc::new(TimestampMillisecondArray::from(t).with_timezone("UTC")),
            Arc::new(Int64Array::from(vec![1; n])),
            // row 6 has no status: Enabled
            Arc::new(StringArray::from_iter(st.into_iter().enumerate().map(|(i, v)| (i != 6).then_some(v)))),
        ];
        RecordBatch::try_new(schema, cols).unwrap()
    }

    /// How a test file lays out its pages.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Layout {
        /// parquet's default: every column dictionary-encoded, v1 pages
        Dictionary,
        /// no dictionaries (as `scrub gen` writes), v1 pages
        Plain,
        /// no dictionaries, v2 pages, PLAIN
        PlainV2,
        /// the channel dictionary-encoded, the status not
        DictionaryChannel,
    }
    const LAYOUTS: [Layout; 4] = [Layout::Dictionary, Layout::Plain, Layout::PlainV2, Layout::DictionaryChannel];

    fn write(path: &Path, batch: &RecordBatch, group_rows: usize, stats: bool) {
        write_as(path, batch, group_rows, stats, Layout::Dictionary)
    }

    fn write_as(path: &Path, batch: &RecordBatch, group_rows: usize, stats: bool, layout: Layout) {
        use parquet::file::properties::WriterVersion;
        use parquet::schema::types::ColumnPath;
        let mut props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .set_statistics_enabled(if stats { EnabledStatistics::Chunk } else { EnabledStatistics::None })
            .set_dictionary_enabled(layout == Layout::Dictionary);
        if layout == Layout::PlainV2 {
            // v2 writers fall back to delta encodings unless told otherwise
            props = props.set_writer_version(WriterVersion::PARQUET_2_0).set_encoding(parquet::basic::Encoding::PLAIN);
        }
        if layout == Layout::DictionaryChannel {
            props = props.set_column_dictionary_enabled(ColumnPath::from("contactChannel"), true);
        }
        let props = props.build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), Some(props))
                .unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
    }

    /// The window of a run whose trackers reach back 8 days.
    fn builder() -> HistoryBuilder {
        let now = chrono::DateTime::from_timestamp_millis(NOW_MS).unwrap();
        HistoryBuilder::with_window(now - chrono::Duration::days(8), now)
    }

    fn load(path: &Path) -> Result<crate::engine::History, LoadError> {
        let mut b = builder();
        load_parquet(path, &mut b, &mut HistoryLoadReport::default())?;
        Ok(b.build())
    }

    /// Row groups of 3 in time order: the statistics put the first three groups
    /// wholly before the window, and they are read for their checked fields
    /// only; the history built is the one built from a single row group (whose
    /// statistics straddle the window) and from a file without statistics.
    #[test]
    fn row_groups_out_of_reach_by_their_statistics_build_the_same_history() {
        for layout in LAYOUTS {
            same_history_whatever_the_reach(layout);
        }
    }

    fn same_history_whatever_the_reach(layout: Layout) {
        let d = tempfile::tempdir().unwrap();
        let (groups, one, bare) =
            (d.path().join("g.parquet"), d.path().join("one.parquet"), d.path().join("bare.parquet"));
        write_as(&groups, &history_batch(None), 3, true, layout);
        write_as(&one, &history_batch(None), 12, true, layout);
        write_as(&bare, &history_batch(None), 3, false, layout);

        let src = super::super::ParquetSource::open(&groups, &[]).unwrap();
        let w = builder().window().unwrap();
        let reach: Vec<bool> = (0..4).map(|g| out_of_reach(&src, g, 3, TimeUnit::Millisecond, w)).collect();
        assert_eq!(reach, [true, true, true, false]);
        let src = super::super::ParquetSource::open(&bare, &[]).unwrap();
        assert!(!out_of_reach(&src, 0, 3, TimeUnit::Millisecond, w), "no statistics: read it");

        let (a, b, c) = (load(&groups).unwrap(), load(&one).unwrap(), load(&bare).unwrap());
        // Rows 9..11 are within 8 days (row 9: 7 days 1 h ago); row 9 is Disabled.
        assert_eq!((a.rows_read, a.disabled, a.skipped), (12, 2, 8), "{layout:?}");
        assert_eq!(a.time.len(), 2);
        for h in [&b, &c] {
            assert_eq!((h.rows_read, h.disabled, h.skipped), (a.rows_read, a.disabled, a.skipped), "{layout:?}");
            assert_eq!((&h.time, &h.channel, &h.acct), (&a.time, &a.channel, &a.acct), "{layout:?}");
        }
    }

    /// The parts of a loader of `src` as `load` makes them (window of [`builder`]).
    fn open<'p>(p: &'p Path, dictionary: &[&str]) -> super::super::ParquetSource<'p> {
        super::super::ParquetSource::open(p, dictionary).unwrap()
    }

    /// (`status` is the file opened with its status column as a dictionary.)
    fn parts_of<'s, 'p>(
        src: &'s super::super::ParquetSource<'p>,
        status: &'s super::super::ParquetSource<'p>,
        b: &'s HistoryBuilder,
    ) -> Parts<'s, 'p> {
        let (window, unit) = (b.window().unwrap(), TimeUnit::Millisecond);
        let by_pages = Some(PageChecked { channel: 0, time: 3, unit, window, status: Some(5) });
        Parts { src, builder: b, only: None, checked_only: &[0, 3, 4, 5], by_pages, status_src: Some(status) }
    }

    /// Groups out of reach are checked from their pages, plain or dictionary,
    /// counting the Disabled rows (with a dictionary, from its indexes); a
    /// group with a row in the window, or a bad channel or status, leaves the
    /// group to be read.
    #[test]
    fn groups_out_of_reach_are_checked_from_their_pages() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("h.parquet");
        let b = builder();
        for layout in LAYOUTS {
            write_as(&p, &history_batch(None), 3, true, layout);
            let (src, st) = (open(&p, &[]), open(&p, &["status"]));
            let parts = parts_of(&src, &st, &b);
            let checked: Vec<Option<usize>> = (0..4).map(|g| parts.checked_by_pages(g).unwrap()).collect();
            // rows 4 and 9 are Disabled; row 6 has no status; group 3 (rows 9..11) is in the window
            assert_eq!(checked, [Some(0), Some(1), Some(0), None], "{layout:?}");
        }
        for (row, field, value) in [(1, "contactChannel", "Fax"), (4, "status", "Paused"), (2, "contactChannel", " ")] {
            for layout in LAYOUTS {
                write_as(&p, &history_batch(Some((row, field, value))), 3, true, layout);
                let (src, st) = (open(&p, &[]), open(&p, &["status"]));
                let parts = parts_of(&src, &st, &b);
                let checked: Vec<Option<usize>> = (0..3).map(|g| parts.checked_by_pages(g).unwrap()).collect();
                let mut expected = vec![Some(0), Some(1), Some(0)];
                expected[row / 3] = None;
                assert_eq!(checked, expected, "{field} {value:?} {layout:?}");
            }
        }
    }

    /// A loader's stage over groups out of reach counts what it checked from
    /// pages and reads the rest, numbering rows from the first group it reads.
    #[test]
    fn a_run_checked_from_pages_up_to_a_bad_group_names_the_right_row() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("h.parquet");
        write_as(&p, &history_batch(Some((7, "status", "Paused"))), 3, true, Layout::Plain);
        let (src, st) = (open(&p, &[]), open(&p, &["status"]));
        let b = builder();
        let parts = parts_of(&src, &st, &b);
        let e = parts.stage(0, vec![0, 1, 2], |_| true).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("row 8") && e.contains("status") && e.contains("Paused"), "{e}");
        let staged = parts.stage(0, vec![0, 1], |_| true).unwrap();
        let rows: usize = staged.iter().map(|g| g.rows_read()).sum();
        assert_eq!((rows, staged.iter().all(|g| g.is_empty())), (6, true));
    }

    /// Statistics that claim a row group is out of reach when a row of it is
    /// kept: the group is read again whole, and the history is the same.
    #[test]
    fn a_kept_row_in_a_group_said_out_of_reach_gets_the_group_read_whole() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("g.parquet");
        write(&p, &history_batch(None), 3, true);
        let src = super::super::ParquetSource::open(&p, &[]).unwrap();
        let mut b = builder();
        let checked_only = [0, 3, 4, 5];
        let parts =
            Parts { src: &src, builder: &b, only: None, checked_only: &checked_only, by_pages: None, status_src: None };
        let (first, second) =
            (parts.stage(0, vec![0, 1], |_| true).unwrap(), parts.stage(6, vec![2, 3], |_| true).unwrap());
        for g in first.into_iter().chain(second) {
            b.add_group(g);
        }
        let (lied, truth) = (b.build(), load(&p).unwrap());
        assert_eq!((lied.rows_read, lied.disabled, lied.skipped), (12, 2, 8));
        assert_eq!(
            (&lied.time, &lied.channel, &lied.acct, &lied.addr),
            (&truth.time, &truth.channel, &truth.acct, &truth.addr)
        );
    }

    /// A bad row in a row group read for its checked fields only still stops
    /// the load, naming file, row and field (SPEC §11).
    #[test]
    fn a_bad_row_out_of_reach_still_stops_the_load() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("h.parquet");
        for ((row, field, value), layout) in
            [(1, "contactChannel", "Fax"), (4, "status", "Paused")].into_iter().flat_map(|b| LAYOUTS.map(|l| (b, l)))
        {
            write_as(&p, &history_batch(Some((row, field, value))), 3, true, layout);
            let e = load(&p).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains("h.parquet") && e.contains(&format!("row {}", row + 1)) && e.contains(field), "{e}");
            assert!(e.contains(value), "{e}");
        }
    }
}

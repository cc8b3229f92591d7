//! Output files (SPEC §11): input columns then the result columns (or a
//! `reason` column for rejects), CSV or Parquet by extension.
//!
//! Every sink writes to a temporary name beside the final one and is renamed
//! only by [`Sink::finish`]; [`Sink::abort`] (or a drop without finish) removes
//! it, so a failed run never leaves a partial file under the final name.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, Datelike, Timelike, Utc};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::arrow_text::to_text;
use super::contacts::Chunk;
use super::Format;
use crate::engine::Decision;

pub const RESULT_COLUMNS: [&str; 8] = [
    "restricted",
    "restrictionType",
    "restrictedRuleId",
    "restrictedRuleName",
    "restrictionStartTime",
    "restrictionEndTime",
    "messageType",
    "availableQuota",
];

/// The columns a rejects output adds to the input's: the row's position
/// among the input's data rows (1 = the first after the header; the same
/// numbering as the run's `row N:` messages), so a reject can be found in a
/// file without an id column, and why it was rejected.
pub const REJECT_COLUMNS: [&str; 2] = ["inputRow", "reason"];

/// One input row's outcome.
pub type RowOutcome<'e> = Result<Decision<'e>, String>;

/// Which rows a sink takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    Valid,
    Allowed,
    Restricted,
    Rejects,
}

impl Select {
    fn takes(self, o: &RowOutcome<'_>) -> bool {
        match (self, o) {
            (Select::Valid, Ok(_)) => true,
            (Select::Allowed, Ok(d)) => !d.restricted(),
            (Select::Restricted, Ok(d)) => d.restricted(),
            (Select::Rejects, Err(_)) => true,
            _ => false,
        }
    }
}

enum Kind {
    Csv(BufWriter<File>),
    Stdout(std::io::Stdout),
    Parquet(Box<Option<super::parquet_out::ParquetOut>>, SchemaRef),
}

pub struct Sink {
    path: PathBuf,
    tmp: Option<PathBuf>,
    kind: Kind,
    select: Select,
    width: usize,
    pub rows: u64,
    /// Input rows passed to this sink so far (taken or not): the number of
    /// the next chunk's first row, less one.
    seen: u64,
    /// CSV bytes written.
    written: u64,
    /// Output size at which the next disk write is started.
    next_writeback: u64,
}

/// Bytes of CSV output after which their disk write is started (see [`start_writeback`]).
const WRITEBACK_STEP: u64 = 64 << 20;

/// Starts the disk write of the file's dirty pages without waiting for it, so
/// the final `fsync` (atomic outputs are synced before their rename) finds
/// little left to do instead of writing a whole output at the end of the run
/// (CSV floor run: ~0.7 s less). Only a hint: an error changes nothing, and
/// the final sync still waits for every byte.
#[cfg(target_os = "linux")]
fn start_writeback(f: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on an open descriptor; no memory is passed.
    // Offset 0 and length 0 cover the whole file; pages already being written are skipped.
    unsafe {
        libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File) {}

/// Writes an instant as `YYYY-MM-DDTHH:MM:SS.mmmZ` (truncated) without allocating.
pub fn instant_text(t: DateTime<Utc>, buf: &mut [u8; 24]) -> &str {
    let y = t.year();
    if !(0..=9999).contains(&y) {
        let s = crate::time::format_instant(t);
        let n = s.len().min(24);
        buf[..n].copy_from_slice(&s.as_bytes()[..n]);
        return std::str::from_utf8(&buf[..n]).unwrap_or("");
    }
    let ms = t.timestamp_subsec_millis();
    let parts = [(y as u32, 4), (t.month(), 2), (t.day(), 2), (t.hour(), 2), (t.minute(), 2), (t.second(), 2), (ms, 3)];
    let seps = [b'-', b'-', b'T', b':', b':', b'.', b'Z'];
    let mut p = 0;
    for ((v, w), sep) in parts.into_iter().zip(seps) {
        let mut v = v;
        for k in (0..w).rev() {
            buf[p + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        p += w;
        buf[p] = sep;
        p += 1;
    }
    std::str::from_utf8(&buf[..p]).unwrap()
}

impl Sink {
    /// Creates a sink; `None` path = CSV on stdout. `schema` is the Parquet input schema, if any.
    pub fn create(
        path: Option<&Path>,
        headers: &[String],
        schema: Option<&SchemaRef>,
        select: Select,
    ) -> std::io::Result<Sink> {
        let extra: Vec<&str> =
            if select == Select::Rejects { REJECT_COLUMNS.to_vec() } else { RESULT_COLUMNS.to_vec() };
        let header = {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(headers.iter().map(String::as_str).chain(extra.iter().copied()))?;
            w.into_inner().map_err(|e| e.into_error())?
        };
        let Some(path) = path else {
            let mut w = std::io::stdout();
            w.write_all(&header)?;
            return Ok(Sink {
                path: PathBuf::from("-"),
                tmp: None,
                kind: Kind::Stdout(w),
                select,
                width: headers.len(),
                rows: 0,
                seen: 0,
                written: 0,
                next_writeback: u64::MAX,
            });
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = super::tmp_path(path);
        let file = File::create(&tmp)?;
        let kind = match Format::of(path) {
            Some(Format::Parquet) => {
                let mut fields: Vec<Field> = match schema {
                    Some(s) => s.fields().iter().map(|f| f.as_ref().clone()).collect(),
                    None => headers.iter().map(|h| Field::new(h, DataType::Utf8, true)).collect(),
                };
                if select == Select::Rejects {
                    fields.push(Field::new(REJECT_COLUMNS[0], DataType::Int64, false));
                    fields.push(Field::new(REJECT_COLUMNS[1], DataType::Utf8, false));
                } else {
                    fields.push(Field::new("restricted", DataType::Boolean, false));
                    for c in &RESULT_COLUMNS[1..7] {
                        fields.push(Field::new(*c, DataType::Utf8, true));
                    }
                    fields.push(Field::new("availableQuota", DataType::Int64, true));
                }
                let schema = Arc::new(Schema::new(fields));
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
                    .build();
                let w = super::parquet_out::ParquetOut::try_new(file, schema.clone(), props)
                    .map_err(std::io::Error::other)?;
                Kind::Parquet(Box::new(Some(w)), schema)
            }
            _ => {
                // Smaller than a formatted block (4096 rows), so blocks go
                // to the file without a copy into the buffer.
                let mut w = BufWriter::with_capacity(1 << 16, file);
                w.write_all(&header)?;
                Kind::Csv(w)
            }
        };
        Ok(Sink {
            path: path.to_path_buf(),
            tmp: Some(tmp),
            kind,
            select,
            width: headers.len(),
            rows: 0,
            seen: 0,
            written: header.len() as u64,
            next_writeback: WRITEBACK_STEP,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write_chunk(&mut self, chunk: &Chunk, results: &[RowOutcome<'_>]) -> std::io::Result<()> {
        let select = self.select;
        let width = self.width;
        let first_row = self.seen + 1;
        self.seen += results.len() as u64;
        let taken = match (&mut self.kind, chunk) {
            (Kind::Csv(w), c) => {
                let (n, bytes) = write_csv(w, c, results, first_row, select, width)?;
                self.written += bytes;
                if self.written >= self.next_writeback {
                    w.flush()?;
                    start_writeback(w.get_ref());
                    self.next_writeback = self.written + WRITEBACK_STEP;
                }
                n
            }
            (Kind::Stdout(w), c) => write_csv(&mut w.lock(), c, results, first_row, select, width)?.0,
            (Kind::Parquet(w, schema), c) => {
                let mask: Vec<bool> = results.iter().map(|r| select.takes(r)).collect();
                let n = mask.iter().filter(|m| **m).count();
                if n > 0 {
                    let mut cols: Vec<ArrayRef> = match c {
                        Chunk::Arrow(b) => {
                            let m = BooleanArray::from(mask.clone());
                            arrow_select::filter::filter_record_batch(b, &m)
                                .map_err(std::io::Error::other)?
                                .columns()
                                .to_vec()
                        }
                        Chunk::Csv { rows } => (0..width)
                            .map(|k| {
                                let v: Vec<Option<&str>> = (0..rows.len())
                                    .map(|i| rows.row(i))
                                    .zip(&mask)
                                    .filter(|(_, m)| **m)
                                    .map(|(r, _)| {
                                        Some(r.get(k).map(|b| std::str::from_utf8(b).unwrap_or("")).unwrap_or(""))
                                    })
                                    .collect();
                                Arc::new(StringArray::from(v)) as ArrayRef
                            })
                            .collect(),
                    };
                    let chosen: Vec<(u64, &RowOutcome<'_>)> =
                        (first_row..).zip(results).zip(&mask).filter(|(_, m)| **m).map(|(r, _)| r).collect();
                    append_extra(&mut cols, &chosen, select);
                    let batch = RecordBatch::try_new(schema.clone(), cols).map_err(std::io::Error::other)?;
                    let w = w.as_mut().as_mut().expect("open writer");
                    w.write(&batch).map_err(std::io::Error::other)?;
                    let size = w.bytes_written() as u64;
                    if size >= self.next_writeback {
                        start_writeback(w.inner());
                        self.next_writeback = size + WRITEBACK_STEP;
                    }
                }
                n as u64
            }
        };
        self.rows += taken;
        Ok(())
    }

    /// Flushes and moves the file to its final name.
    pub fn finish(mut self) -> std::io::Result<()> {
        match &mut self.kind {
            Kind::Csv(w) => {
                w.flush()?;
                w.get_ref().sync_all()?;
            }
            Kind::Stdout(w) => w.flush()?,
            Kind::Parquet(w, _) => {
                let f = w.take().expect("open writer").into_inner().map_err(std::io::Error::other)?;
                f.sync_all()?;
            }
        }
        if let Some(tmp) = self.tmp.take() {
            std::fs::rename(&tmp, &self.path)?;
        }
        Ok(())
    }

    /// Removes the temporary file.
    pub fn abort(mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Formats the selected rows as CSV in parallel blocks, then writes them in
/// order; returns (rows, bytes) written.
fn write_csv<W: Write>(
    w: &mut W,
    chunk: &Chunk,
    results: &[RowOutcome<'_>],
    first_row: u64,
    select: Select,
    width: usize,
) -> std::io::Result<(u64, u64)> {
    use rayon::prelude::*;
    let text_cols: Option<Vec<StringArray>> = match chunk {
        Chunk::Arrow(b) => {
            Some(b.columns().iter().map(to_text).collect::<Result<_, _>>().map_err(std::io::Error::other)?)
        }
        Chunk::Csv { .. } => None,
    };
    const BLOCK: usize = 4096;
    let blocks: Vec<std::io::Result<(Vec<u8>, u64)>> = (0..results.len().div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let range = b * BLOCK..((b + 1) * BLOCK).min(results.len());
            let mut out = Vec::with_capacity(BLOCK * 160);
            let n = format_rows(&mut out, (chunk, text_cols.as_deref()), results, first_row, range, select, width);
            Ok((out, n))
        })
        .collect();
    let (mut n, mut len) = (0, 0);
    for b in blocks {
        let (bytes, k) = b?;
        w.write_all(&bytes)?;
        n += k;
        len += bytes.len() as u64;
    }
    Ok((n, len))
}

/// Formats rows `range` of `chunk` (with its columns as text when it is Arrow).
fn format_rows(
    out: &mut Vec<u8>,
    (chunk, text_cols): (&Chunk, Option<&[StringArray]>),
    results: &[RowOutcome<'_>],
    first_row: u64,
    range: std::ops::Range<usize>,
    select: Select,
    width: usize,
) -> u64 {
    let mut n = 0;
    let mut w = Line { out, first: true };
    let mut qbuf = itoa_buf();
    let (mut sbuf, mut ebuf) = ([0u8; 24], [0u8; 24]);
    for i in range {
        let r = &results[i];
        if !select.takes(r) {
            continue;
        }
        n += 1;
        match (chunk, text_cols) {
            (Chunk::Csv { rows }, _) => {
                let row = rows.row(i);
                match row.raw() {
                    // Its fields joined by commas: the same bytes, in one copy.
                    Some(raw) if row.len() == width => w.plain(raw),
                    _ => {
                        for k in 0..width {
                            let f = row.get(k).unwrap_or(b"");
                            if rows.plain {
                                w.plain(f);
                            } else {
                                w.field(f);
                            }
                        }
                    }
                }
            }
            (_, Some(cols)) => {
                for c in cols {
                    w.field(if c.is_null(i) { "" } else { c.value(i) });
                }
            }
            _ => unreachable!(),
        }
        match r {
            Err(reason) => {
                let extra = match chunk {
                    Chunk::Csv { rows } if rows.row(i).len() > width => {
                        let more: Vec<String> =
                            rows.row(i).iter().skip(width).map(|b| String::from_utf8_lossy(b).to_string()).collect();
                        format!("{reason} (extra fields: {})", more.join(" | "))
                    }
                    _ => reason.clone(),
                };
                w.plain(fmt_i64((first_row + i as u64) as i64, &mut qbuf).as_bytes());
                w.field(&extra);
            }
            Ok(d) => {
                // Only the rule's id and name come from input; the rest are
                // spellings and numbers that never need quoting.
                w.plain(if d.restricted() { b"true" } else { b"false" });
                w.plain(d.restriction.map(|x| x.as_str()).unwrap_or("").as_bytes());
                w.field(d.rule_id.unwrap_or(""));
                w.field(d.rule_name.unwrap_or(""));
                w.plain(d.start.map(|t| instant_text(t, &mut sbuf)).unwrap_or("").as_bytes());
                w.plain(d.end.map(|t| instant_text(t, &mut ebuf)).unwrap_or("").as_bytes());
                w.plain(d.message_type.map(|m| m.as_str()).unwrap_or("").as_bytes());
                w.plain(d.available_quota.map(|q| fmt_i64(q, &mut qbuf)).unwrap_or("").as_bytes());
            }
        }
        w.end();
    }
    n
}

/// CSV output of one line, quoting like the `csv` crate's default (a field
/// with a comma, quote, CR or LF is quoted, quotes doubled), byte for byte,
/// without its per-field state machine.
struct Line<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Line<'_> {
    #[inline]
    fn field(&mut self, f: impl AsRef<[u8]>) {
        let f = f.as_ref();
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        if f.iter().any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
            self.out.push(b'"');
            for &b in f {
                if b == b'"' {
                    self.out.push(b'"');
                }
                self.out.push(b);
            }
            self.out.push(b'"');
        } else {
            self.out.extend_from_slice(f);
        }
    }

    /// A field known to need no quoting.
    #[inline]
    fn plain(&mut self, f: &[u8]) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(f);
    }

    fn end(&mut self) {
        self.out.push(b'\n');
        self.first = true;
    }
}

fn itoa_buf() -> [u8; 24] {
    [0u8; 24]
}

fn fmt_i64(v: i64, buf: &mut [u8; 24]) -> &str {
    let mut c = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(c, "{v}");
    let n = c.position() as usize;
    std::str::from_utf8(&buf[..n]).unwrap()
}

/// The result columns of the chosen rows (each with its input row number).
fn append_extra(cols: &mut Vec<ArrayRef>, chosen: &[(u64, &RowOutcome<'_>)], select: Select) {
    if select == Select::Rejects {
        let rows: Vec<i64> = chosen.iter().map(|(row, _)| *row as i64).collect();
        let v: Vec<Option<&str>> = chosen.iter().map(|(_, r)| r.as_ref().err().map(String::as_str)).collect();
        cols.push(Arc::new(Int64Array::from(rows)));
        cols.push(Arc::new(StringArray::from(v)));
        return;
    }
    let ds: Vec<&Decision<'_>> = chosen.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
    cols.push(Arc::new(BooleanArray::from(ds.iter().map(|d| d.restricted()).collect::<Vec<_>>())));
    cols.push(Arc::new(StringArray::from(ds.iter().map(|d| d.restriction.map(|x| x.as_str())).collect::<Vec<_>>())));
    cols.push(Arc::new(StringArray::from(ds.iter().map(|d| d.rule_id).collect::<Vec<_>>())));
    cols.push(Arc::new(StringArray::from(ds.iter().map(|d| d.rule_name).collect::<Vec<_>>())));
    let inst = |f: fn(&Decision<'_>) -> Option<DateTime<Utc>>| -> ArrayRef {
        Arc::new(StringArray::from(ds.iter().map(|d| f(d).map(crate::time::format_instant)).collect::<Vec<_>>()))
    };
    cols.push(inst(|d| d.start));
    cols.push(inst(|d| d.end));
    cols.push(Arc::new(StringArray::from(ds.iter().map(|d| d.message_type.map(|m| m.as_str())).collect::<Vec<_>>())));
    cols.push(Arc::new(Int64Array::from(ds.iter().map(|d| d.available_quota).collect::<Vec<_>>())));
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_quote_like_the_csv_crate() {
        let fields: [&[u8]; 9] = [b"plain", b"", b"a,b", b"say \"hi\"", b"two\nlines", b"cr\r", b" sp ", b"\"", b"#x"];
        let mut ours = Vec::new();
        let mut w = super::Line { out: &mut ours, first: true };
        for f in fields {
            w.field(f);
        }
        w.end();
        w.field("x");
        w.field("");
        w.end();
        let mut theirs = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        theirs.write_record(fields).unwrap();
        theirs.write_record(["x", ""]).unwrap();
        assert_eq!(ours, theirs.into_inner().unwrap());
    }

    #[test]
    fn instant_text_matches_format_instant() {
        let t = crate::time::parse_instant("2026-03-08T07:05:09.1239Z").unwrap();
        let mut b = [0u8; 24];
        assert_eq!(super::instant_text(t, &mut b), "2026-03-08T07:05:09.123Z");
        assert_eq!(super::instant_text(t, &mut b), crate::time::format_instant(t));
    }
}

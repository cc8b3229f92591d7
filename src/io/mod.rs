//! Readers and writers at the edge: contacts, history and rules from CSV,
//! Parquet, JSON and the load files of SPEC §12; outputs written atomically.
//!
//! Errors carry the file, the line / row / item and the field, so an operator
//! can fix the input without guessing.

pub mod arrow_text;
pub mod columns;
pub mod contacts;
pub mod csv_rows;
pub mod history;
pub mod output;
pub mod parquet_out;
pub mod rules;

use std::path::{Path, PathBuf};

/// File formats, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Json,
    Act,
    Cct,
    Cet,
    /// A compact DNC index written by `scrub index build`.
    Idx,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "csv" | "txt" | "tsv" => Format::Csv,
            "parquet" | "pq" => Format::Parquet,
            "json" => Format::Json,
            "act" => Format::Act,
            "cct" => Format::Cct,
            "cet" => Format::Cet,
            "idx" => Format::Idx,
            _ => return None,
        })
    }
}

/// A load failure, naming the file, where in it, and the field.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: {location}: {field}: {message}")]
    Field { file: PathBuf, location: String, field: String, message: String },
    #[error("{file}: {message}")]
    File { file: PathBuf, message: String },
    #[error("{file}: {source}")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LoadError {
    pub fn field(file: &Path, location: impl Into<String>, e: crate::model::FieldError) -> Self {
        LoadError::Field { file: file.to_path_buf(), location: location.into(), field: e.field, message: e.message }
    }
    pub fn file(file: &Path, message: impl Into<String>) -> Self {
        LoadError::File { file: file.to_path_buf(), message: message.into() }
    }
    pub fn io(file: &Path, source: std::io::Error) -> Self {
        LoadError::Io { file: file.to_path_buf(), source }
    }
}

/// An input path that is not there, as the error that names it: checked
/// before the format, so a typo reads "No such file or directory", not
/// "unknown format".
pub fn must_exist(path: &Path) -> Result<(), LoadError> {
    std::fs::metadata(path).map(|_| ()).map_err(|e| LoadError::io(path, e))
}

/// The temporary name an output is written under before its atomic rename
/// (hidden, beside the final file so the rename stays on one filesystem).
pub fn tmp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    path.with_file_name(format!(".{name}.scrub-tmp-{}", std::process::id()))
}

/// The header row of a CSV input, as strings.
pub fn csv_headers(rdr: &mut csv::Reader<std::fs::File>, path: &Path) -> Result<Vec<String>, LoadError> {
    Ok(rdr
        .headers()
        .map_err(|e| LoadError::file(path, format!("cannot read the header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect())
}

/// A CSV reader with the settings every input uses (RFC 4180, header row, ragged rows allowed
/// so that a short or long row becomes a reject instead of a fatal error).
pub fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>, LoadError> {
    let f = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
    Ok(csv::ReaderBuilder::new().flexible(true).has_headers(true).buffer_capacity(1 << 20).from_reader(f))
}

/// Reads the configuration JSON (SPEC §11); missing parts take the API's defaults.
pub fn load_config(path: &Path) -> Result<crate::model::Config, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::io(path, e))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| LoadError::file(path, format!("invalid JSON at line {} column {}: {e}", e.line(), e.column())))?;
    let dto: crate::model::dto::ConfigurationDto =
        rules::dto_from_value(v).map_err(|e| LoadError::field(path, "configuration", e))?;
    crate::model::Config::try_from(&dto).map_err(|e| LoadError::field(path, "configuration", e))
}

/// What a page holds, for the walkers of a column's values.
enum PageValues<'p> {
    /// A dictionary's entries, PLAIN-encoded: (buffer, how many).
    Dictionary(&'p [u8], u32),
    /// Only indexes into the dictionary already seen.
    Indexes,
    /// PLAIN values: (buffer, number of values including nulls, where the
    /// values start, the nulls if the page says: v2 pages do, v1 pages do not).
    Plain(&'p [u8], u32, usize, Option<u32>),
}

/// The layout of `page` (of a column whose values may be null when
/// `optional`), after a dictionary page if `dictionary_seen`; `None` for
/// other pages and encodings (delta, or indexes without a dictionary). In a
/// v1 page of an optional column the definition levels come first, RLE with
/// a 4-byte length; a v2 page keeps its levels apart, ahead of the values.
fn page_values(page: &parquet::column::page::Page, optional: bool, dictionary_seen: bool) -> Option<PageValues<'_>> {
    use parquet::basic::Encoding;
    use parquet::column::page::Page;
    match page {
        Page::DictionaryPage { buf, num_values, encoding: Encoding::PLAIN | Encoding::PLAIN_DICTIONARY, .. } => {
            Some(PageValues::Dictionary(buf, *num_values))
        }
        Page::DataPage { encoding: Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY, .. }
        | Page::DataPageV2 { encoding: Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY, .. }
            if dictionary_seen =>
        {
            Some(PageValues::Indexes)
        }
        Page::DataPage { buf, num_values, encoding: Encoding::PLAIN, def_level_encoding, .. } => {
            let at = match (optional, def_level_encoding) {
                (false, _) => 0,
                (true, Encoding::RLE) if buf.len() >= 4 => 4 + u32::from_le_bytes(buf[..4].try_into().ok()?) as usize,
                _ => return None,
            };
            Some(PageValues::Plain(buf, *num_values, at, None))
        }
        Page::DataPageV2 {
            buf,
            num_values,
            encoding: Encoding::PLAIN,
            num_nulls,
            def_levels_byte_len,
            rep_levels_byte_len,
            ..
        } => Some(PageValues::Plain(
            buf,
            *num_values,
            (*def_levels_byte_len + *rep_levels_byte_len) as usize,
            Some(*num_nulls),
        )),
        _ => None,
    }
}

/// A Parquet file's footer, parsed once, and readers over runs of its row
/// groups. Text columns named in `dictionary` are read as dictionary arrays
/// (codes into the file's own dictionary): for a low-cardinality column of a
/// registry-sized file this skips materialising hundreds of millions of
/// identical strings.
pub struct ParquetSource<'a> {
    path: &'a Path,
    meta: parquet::arrow::arrow_reader::ArrowReaderMetadata,
}

/// Which chunk layouts [`ParquetSource::page_text_values`] reads.
#[derive(Debug, Clone, Copy)]
pub struct PageWalk {
    /// Chunks that may hold nulls (they are skipped).
    pub nulls: bool,
    /// Dictionary-encoded chunks, by their dictionary's values.
    pub dictionary: bool,
}

impl<'a> ParquetSource<'a> {
    pub fn open(path: &'a Path, dictionary: &[&str]) -> Result<Self, LoadError> {
        use arrow_schema::{DataType, Field, Schema};
        use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
        let file = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
        let unreadable = |e| LoadError::file(path, format!("not a readable Parquet file: {e}"));
        let mut meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(unreadable)?;
        let as_dict = |f: &Field| dictionary.contains(&f.name().as_str()) && f.data_type() == &DataType::Utf8;
        if meta.schema().fields().iter().any(|f| as_dict(f)) {
            let fields: Vec<Field> = meta
                .schema()
                .fields()
                .iter()
                .map(|f| match as_dict(f) {
                    true => f
                        .as_ref()
                        .clone()
                        .with_data_type(DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))),
                    false => f.as_ref().clone(),
                })
                .collect();
            let schema = std::sync::Arc::new(Schema::new_with_metadata(fields, meta.schema().metadata().clone()));
            meta = ArrowReaderMetadata::try_new(meta.metadata().clone(), ArrowReaderOptions::new().with_schema(schema))
                .map_err(unreadable)?;
        }
        Ok(ParquetSource { path, meta })
    }

    pub fn path(&self) -> &'a Path {
        self.path
    }

    pub fn metadata(&self) -> &parquet::file::metadata::ParquetMetaData {
        self.meta.metadata()
    }

    pub fn schema(&self) -> &arrow_schema::SchemaRef {
        self.meta.schema()
    }

    /// The column names, in file order.
    pub fn headers(&self) -> Vec<String> {
        self.meta.schema().fields().iter().map(|f| f.name().clone()).collect()
    }

    /// Whether every top-level column has exactly one leaf, so a header's
    /// position is also its position among the row groups' column chunks.
    pub fn is_flat(&self) -> bool {
        self.meta.parquet_schema().num_columns() == self.meta.schema().fields().len()
    }

    /// Runs of consecutive row groups of about a million rows each:
    /// (first row number, 0-based; rows; row groups).
    pub fn tasks(&self) -> Vec<(usize, usize, Vec<usize>)> {
        let mut tasks: Vec<(usize, usize, Vec<usize>)> = Vec::new();
        let mut row = 0usize;
        for (g, rg) in self.metadata().row_groups().iter().enumerate() {
            if tasks.last().is_none_or(|t| t.1 >= 1 << 20) {
                tasks.push((row, 0, Vec::new()));
            }
            let t = tasks.last_mut().unwrap();
            t.1 += rg.num_rows() as usize;
            t.2.push(g);
            row += rg.num_rows() as usize;
        }
        tasks
    }

    /// Hands every value of text column `col` (a header position) in row
    /// group `g` to `each`, straight from the decompressed pages, when the
    /// column is flat, its chunk has no nulls (by its statistics) and every
    /// page is PLAIN-encoded: the layout of a high-cardinality column such as
    /// a registry's numbers. Skipping the Arrow array (offsets and a copy of
    /// every value) was about a tenth of a registry load.
    ///
    /// `Ok(None)` when the chunk has another layout (dictionary or delta
    /// pages, nulls, unknown statistics) or a page does not hold exactly its
    /// values: read it through [`Self::batches`]; such a chunk may already
    /// have handed its first pages' values to `each`, and the caller starts
    /// over. `Ok(Some(false))` as soon as `each` returns `false`.
    pub fn plain_text_values(
        &self,
        g: usize,
        col: usize,
        each: impl FnMut(&[u8]) -> bool,
    ) -> Result<Option<bool>, LoadError> {
        self.page_text_values(g, col, PageWalk { nulls: false, dictionary: false }, each)
    }

    /// [`Self::plain_text_values`], reading more layouts as `walk` allows:
    /// with `nulls`, a chunk that may hold nulls (each page's values are
    /// walked to its end; nulls are not handed over); with `dictionary`, a
    /// dictionary-encoded chunk hands over its dictionary's values (each
    /// distinct value once, whether or not a row uses it) and skips the
    /// pages that only index it, while PLAIN pages after a dictionary
    /// (a writer's fallback) are walked value by value.
    pub fn page_text_values(
        &self,
        g: usize,
        col: usize,
        walk: PageWalk,
        mut each: impl FnMut(&[u8]) -> bool,
    ) -> Result<Option<bool>, LoadError> {
        use parquet::basic::Type;
        use parquet::column::page::PageReader;
        let Some(chunk) = self.flat_chunk(g, col, Type::BYTE_ARRAY) else { return Ok(None) };
        let descr = chunk.column_descr();
        // Without nulls every page holds exactly its `num_values` values, which is checked.
        let no_nulls = chunk.statistics().and_then(|s| s.null_count_opt()) == Some(0) || descr.max_def_level() == 0;
        if !(no_nulls || walk.nulls) {
            return Ok(None);
        }
        let mut pages = self.pages(g, col)?;
        let optional = descr.max_def_level() > 0;
        let mut dictionary_seen = false;
        while let Some(page) = pages.get_next_page().map_err(|e| self.unreadable(&e))? {
            let (buf, n, values_at, exact) = match page_values(&page, optional, dictionary_seen) {
                Some(PageValues::Dictionary(buf, n)) if walk.dictionary => {
                    dictionary_seen = true;
                    (buf, n, 0, true)
                }
                Some(PageValues::Indexes) => continue, // into the dictionary already handed over
                Some(PageValues::Plain(buf, n, at, Some(0))) => (buf, n, at, true),
                Some(PageValues::Plain(buf, n, at, Some(_))) if walk.nulls => (buf, n, at, false),
                Some(PageValues::Plain(buf, n, at, None)) => (buf, n, at, no_nulls),
                _ => return Ok(None), // delta encodings, nulls in a v2 page, a dictionary not asked for
            };
            // A page that does not hold exactly its values (statistics that miss
            // its nulls, or a malformed page) is left to the caller's row reader,
            // whose error, if any, says what is wrong.
            let mut at = values_at;
            let mut count = 0u32;
            while if exact { count < n } else { at < buf.len() } {
                let Some(len) =
                    buf.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
                else {
                    return Ok(None);
                };
                let Some(v) = buf.get(at + 4..at + 4 + len) else { return Ok(None) };
                if !each(v) {
                    return Ok(Some(false));
                }
                at += 4 + len;
                count += 1;
            }
            if at != buf.len() || count > n {
                return Ok(None);
            }
        }
        Ok(Some(true))
    }

    /// Hands every value of INT64 column `col` in row group `g` to `each`,
    /// straight from the decompressed pages, when the column is flat, holds
    /// no null and its pages are PLAIN-encoded or index a dictionary, whose
    /// entries are handed over instead (each once, used or not). `Ok(None)`
    /// for any other layout (the caller reads the rows instead);
    /// `Ok(Some(false))` as soon as `each` returns `false`.
    pub fn page_i64_values(
        &self,
        g: usize,
        col: usize,
        mut each: impl FnMut(i64) -> bool,
    ) -> Result<Option<bool>, LoadError> {
        use parquet::basic::Type;
        use parquet::column::page::PageReader;
        let Some(chunk) = self.flat_chunk(g, col, Type::INT64) else { return Ok(None) };
        let optional = chunk.column_descr().max_def_level() > 0;
        let mut pages = self.pages(g, col)?;
        let mut dictionary_seen = false;
        while let Some(page) = pages.get_next_page().map_err(|e| self.unreadable(&e))? {
            let (buf, n, at, nulls) = match page_values(&page, optional, dictionary_seen) {
                Some(PageValues::Dictionary(buf, n)) => {
                    dictionary_seen = true;
                    (buf, n, 0, Some(0))
                }
                Some(PageValues::Indexes) => continue, // into the dictionary already handed over
                Some(PageValues::Plain(buf, n, at, nulls)) => (buf, n, at, nulls),
                None => return Ok(None),
            };
            // without nulls the values fill the rest of the page exactly
            let values = &buf[at.min(buf.len())..];
            if nulls.is_some_and(|k| k > 0) || values.len() != n as usize * 8 {
                return Ok(None);
            }
            for v in values.chunks_exact(8) {
                if !each(i64::from_le_bytes(v.try_into().expect("8 bytes"))) {
                    return Ok(Some(false));
                }
            }
        }
        Ok(Some(true))
    }

    /// Column chunk `col` of row group `g`, if the file is flat and the
    /// chunk is of physical type `ty`, unrepeated.
    fn flat_chunk(
        &self,
        g: usize,
        col: usize,
        ty: parquet::basic::Type,
    ) -> Option<&parquet::file::metadata::ColumnChunkMetaData> {
        let rg = self.metadata().row_group(g);
        let chunk = (self.is_flat() && col < rg.num_columns()).then(|| rg.column(col))?;
        (chunk.column_type() == ty && chunk.column_descr().max_rep_level() == 0).then_some(chunk)
    }

    fn unreadable(&self, e: &dyn std::fmt::Display) -> LoadError {
        LoadError::file(self.path, format!("unreadable Parquet: {e}"))
    }

    /// The pages of column chunk `col` of row group `g`, decompressed.
    fn pages(
        &self,
        g: usize,
        col: usize,
    ) -> Result<parquet::file::serialized_reader::SerializedPageReader<std::fs::File>, LoadError> {
        let rg = self.metadata().row_group(g);
        let file = std::fs::File::open(self.path).map_err(|e| LoadError::io(self.path, e))?;
        parquet::file::serialized_reader::SerializedPageReader::new(
            std::sync::Arc::new(file),
            rg.column(col),
            rg.num_rows() as usize,
            None,
        )
        .map_err(|e| self.unreadable(&e))
    }

    /// The record batches (of 65,536 rows) of `row_groups`, with every column
    /// or only the top-level columns at positions `only` (header positions);
    /// a decoding error names the file.
    pub fn batches(
        &self,
        row_groups: Vec<usize>,
        only: Option<&[usize]>,
    ) -> Result<impl Iterator<Item = Result<arrow_array::RecordBatch, LoadError>> + 'a, LoadError> {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let path = self.path;
        let unreadable = move |e: &dyn std::fmt::Display| LoadError::file(path, format!("unreadable Parquet: {e}"));
        let file = std::fs::File::open(path).map_err(|e| LoadError::io(path, e))?;
        let mut b = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
            .with_row_groups(row_groups)
            .with_batch_size(65_536);
        if let Some(cols) = only {
            let mask = parquet::arrow::ProjectionMask::roots(self.meta.parquet_schema(), cols.iter().copied());
            b = b.with_projection(mask);
        }
        let reader = b.build().map_err(|e| unreadable(&e))?;
        Ok(reader.map(move |batch| batch.map_err(|e| unreadable(&e))))
    }
}

#[cfg(test)]
mod tests {
    use super::ParquetSource;
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::basic::Encoding;
    use parquet::file::properties::{WriterProperties, WriterVersion};
    use std::sync::Arc;

    const VALUES: [&str; 5] = ["2125550101", "(212) 555-0102", "é", "", "9175550103"];

    fn write(path: &std::path::Path, nullable: bool, with_null: bool, props: WriterProperties) {
        let mut v: Vec<Option<&str>> = VALUES.iter().copied().map(Some).collect();
        if with_null {
            v[1] = None;
        }
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Utf8, nullable)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(v)) as ArrayRef]).unwrap();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    /// Pages of two rows, PLAIN, no dictionary, in the given page format.
    fn plain(version: WriterVersion) -> parquet::file::properties::WriterPropertiesBuilder {
        WriterProperties::builder()
            .set_writer_version(version)
            .set_dictionary_enabled(false)
            .set_encoding(Encoding::PLAIN)
            .set_data_page_row_count_limit(2)
            .set_write_batch_size(1)
    }

    fn visit(path: &std::path::Path, stop_after: usize) -> (Option<bool>, Vec<String>) {
        let src = ParquetSource::open(path, &[]).unwrap();
        let mut seen = Vec::new();
        let r = src
            .plain_text_values(0, 0, |b| {
                seen.push(String::from_utf8(b.to_vec()).unwrap());
                seen.len() < stop_after
            })
            .unwrap();
        (r, seen)
    }

    #[test]
    fn plain_pages_give_every_value_in_order() {
        let d = tempfile::tempdir().unwrap();
        let all: Vec<String> = VALUES.iter().map(|s| s.to_string()).collect();
        for (i, version) in [WriterVersion::PARQUET_1_0, WriterVersion::PARQUET_2_0].into_iter().enumerate() {
            for nullable in [true, false] {
                let path = d.path().join(format!("p{i}{nullable}.parquet"));
                write(&path, nullable, false, plain(version).build());
                let src = ParquetSource::open(&path, &[]).unwrap();
                assert!(src.metadata().row_group(0).column(0).num_values() == 5);
                assert_eq!(visit(&path, usize::MAX), (Some(true), all.clone()), "v{} nullable={nullable}", i + 1);
                // stopping early says so
                assert_eq!(visit(&path, 3), (Some(false), all[..3].to_vec()));
            }
        }
    }

    #[test]
    fn other_layouts_are_left_to_the_arrow_reader() {
        let d = tempfile::tempdir().unwrap();
        // a null in the chunk
        let p = d.path().join("nulls.parquet");
        write(&p, true, true, plain(WriterVersion::PARQUET_1_0).build());
        assert_eq!(visit(&p, usize::MAX), (None, vec![]));
        // dictionary pages (the writer's default)
        let p = d.path().join("dict.parquet");
        write(&p, true, false, WriterProperties::builder().build());
        assert_eq!(visit(&p, usize::MAX), (None, vec![]));
        // delta-encoded pages
        let p = d.path().join("delta.parquet");
        write(
            &p,
            true,
            false,
            plain(WriterVersion::PARQUET_2_0).set_encoding(Encoding::DELTA_LENGTH_BYTE_ARRAY).build(),
        );
        assert_eq!(visit(&p, usize::MAX), (None, vec![]));
    }
}

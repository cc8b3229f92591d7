//! Readers and writers at the edge: contacts, history and rules from CSV,
//! Parquet, JSON and the load files of SPEC §12; outputs written atomically.
//!
//! Errors carry the file, the line / row / item and the field, so an operator
//! can fix the input without guessing.

pub mod arrow_text;
pub mod columns;
pub mod contacts;
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

/// A Parquet file's footer, parsed once, and readers over runs of its row
/// groups. Text columns named in `dictionary` are read as dictionary arrays
/// (codes into the file's own dictionary): for a low-cardinality column of a
/// registry-sized file this skips materialising hundreds of millions of
/// identical strings.
pub struct ParquetSource<'a> {
    path: &'a Path,
    meta: parquet::arrow::arrow_reader::ArrowReaderMetadata,
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

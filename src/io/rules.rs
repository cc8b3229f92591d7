//! Rule files (SPEC §11, §12): JSON (arrays, single objects, or API collection
//! objects; v3 or v4 shapes), exclusions as CSV / Parquet, and the `act` and
//! `cct` load files. Load order is the order given, folders in name order.
//!
//! A rule that breaks the spec stops the load with an error naming the file,
//! the item or line, and the field — or, with `skip_bad_rules`, is skipped and
//! listed in the report.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use serde_json::{Map, Value};

use super::arrow_text::to_text;
use super::columns::ColumnMap;
use super::{csv_reader, Format, LoadError};
use crate::engine::{ExclusionIdentity, LineOutcome, RuleSet};
use crate::model::dto::*;
use crate::model::rules::exclusion_key;
use crate::model::{ConvenientContactTime, DayOfWeek, Exclusion, ExclusionType, FieldError, QuotaControl, Tracker};

/// Counts per kind and what was skipped or replaced, for the summary.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleLoadReport {
    pub files: Vec<String>,
    pub exclusions: usize,
    /// Numbers from prebuilt compact indexes (`.idx`).
    pub registry_numbers: usize,
    pub convenient_contact_times: usize,
    pub quota_controls: usize,
    pub attempt_trackers: usize,
    pub message_trackers: usize,
    /// CCTs and quota controls that replaced an earlier one with the same identity.
    pub replaced: usize,
    /// act/cct lines: deletes applied, updates applied, duplicates ignored.
    pub deleted: usize,
    pub updated: usize,
    pub duplicates: usize,
    /// Bad rules skipped under `--skip-bad-rules`, one message each.
    pub skipped: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RuleLoadOptions {
    pub skip_bad_rules: bool,
}

/// The rule kinds of SPEC §11.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Exclusion,
    Cct,
    Quota,
    AttemptTracker,
    MessageTracker,
}

const COLLECTIONS: [(&str, RuleKind); 5] = [
    ("exclusions", RuleKind::Exclusion),
    ("convenientContactTimes", RuleKind::Cct),
    ("quotaControls", RuleKind::Quota),
    ("attemptTrackers", RuleKind::AttemptTracker),
    ("messageTrackers", RuleKind::MessageTracker),
];

/// Tells an item's kind by its fields (SPEC §11).
pub fn detect_kind(o: &Map<String, Value>) -> Option<RuleKind> {
    let has = |k: &str| o.contains_key(k);
    if has("exclusionType") {
        Some(RuleKind::Exclusion)
    } else if has("attemptTrackerName") {
        Some(RuleKind::AttemptTracker)
    } else if has("messageTrackerName") || has("thresholdActionType") {
        Some(RuleKind::MessageTracker)
    } else if has("contactKeyType") || has("convenientTimes") || (has("customer") && has("phone")) {
        Some(RuleKind::Cct)
    } else if has("totalQuota") {
        Some(RuleKind::Quota)
    } else {
        None
    }
}

/// Fields that are text in the API but often arrive as JSON numbers (phone numbers, accounts).
const TEXT_FIELDS: [&str; 12] = [
    "id",
    "exclusionValue",
    "contactValue",
    "contactKey",
    "customer",
    "phone",
    "accountNumber",
    "contactAddress",
    "ssn",
    "product",
    "contactListName",
    "reason",
];

/// Deserialises a DTO; on failure finds the field that broke it.
pub fn dto_from_value<T: serde::de::DeserializeOwned>(mut v: Value) -> Result<T, FieldError> {
    if let Value::Object(o) = &mut v {
        for f in TEXT_FIELDS {
            if let Some(x) = o.get_mut(f) {
                if let Value::Number(n) = x {
                    *x = Value::String(n.to_string());
                }
            }
        }
    }
    match T::deserialize(&v) {
        Ok(t) => Ok(t),
        Err(e) => {
            if let Value::Object(o) = &v {
                for (k, val) in o {
                    let single = Value::Object(Map::from_iter([(k.clone(), val.clone())]));
                    if let Err(e) = T::deserialize(&single) {
                        return Err(FieldError::new(k.clone(), e.to_string()));
                    }
                }
            }
            Err(FieldError::new("(body)", e.to_string()))
        }
    }
}

/// Converts one JSON item of a known kind and adds it.
pub fn add_json_item(
    rules: &mut RuleSet,
    kind: RuleKind,
    v: Value,
    report: &mut RuleLoadReport,
) -> Result<(), FieldError> {
    match kind {
        RuleKind::Exclusion => {
            let e = Exclusion::try_from(&dto_from_value::<ExclusionDto>(v)?)?;
            rules.add_exclusion(e);
            report.exclusions += 1;
        }
        RuleKind::Cct => {
            let c = ConvenientContactTime::try_from(&dto_from_value::<CctDto>(v)?)?;
            if rules.add_cct(c) {
                report.replaced += 1;
            } else {
                report.convenient_contact_times += 1;
            }
        }
        RuleKind::Quota => {
            let q = QuotaControl::try_from(&dto_from_value::<QuotaControlDto>(v)?)?;
            if rules.add_quota(q) {
                report.replaced += 1;
            } else {
                report.quota_controls += 1;
            }
        }
        RuleKind::AttemptTracker => {
            rules.add_tracker(Tracker::try_from(&dto_from_value::<AttemptTrackerDto>(v)?)?);
            report.attempt_trackers += 1;
        }
        RuleKind::MessageTracker => {
            rules.add_tracker(Tracker::try_from(&dto_from_value::<MessageTrackerDto>(v)?)?);
            report.message_trackers += 1;
        }
    }
    Ok(())
}

struct Ctx<'a> {
    file: &'a Path,
    opts: RuleLoadOptions,
}

impl Ctx<'_> {
    /// Applies the bad-rule policy: stop, or skip and report.
    fn bad(&self, report: &mut RuleLoadReport, location: String, e: FieldError) -> Result<(), LoadError> {
        let err = LoadError::field(self.file, location, e);
        if self.opts.skip_bad_rules {
            report.skipped.push(err.to_string());
            Ok(())
        } else {
            Err(err)
        }
    }
}

/// Loads a rules path (file or folder) into `rules`.
pub fn load_rules(
    path: &Path,
    rules: &mut RuleSet,
    opts: RuleLoadOptions,
    report: &mut RuleLoadReport,
) -> Result<(), LoadError> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| LoadError::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        entries.sort();
        for p in entries {
            match Format::of(&p) {
                Some(Format::Cet) => report
                    .notes
                    .push(format!("{}: contact attempts are history, not rules: pass it with --history", p.display())),
                Some(_) => load_rules(&p, rules, opts, report)?,
                None => report.notes.push(format!("{}: skipped (not a rules file extension)", p.display())),
            }
        }
        return Ok(());
    }
    super::must_exist(path)?;
    let ctx = Ctx { file: path, opts };
    report.files.push(path.display().to_string());
    match Format::of(path) {
        Some(Format::Json) => load_json(&ctx, rules, report),
        Some(Format::Csv) => load_csv(&ctx, rules, report, false),
        Some(Format::Act) => load_csv(&ctx, rules, report, true),
        Some(Format::Cct) => load_cct(&ctx, rules, report),
        Some(Format::Parquet) => load_parquet_exclusions(&ctx, rules, report),
        Some(Format::Idx) => {
            let set = crate::engine::dnc::PhoneSet::open(path).map_err(|e| LoadError::file(path, e))?;
            report.registry_numbers += set.len();
            rules.add_registry_set(std::sync::Arc::new(set));
            Ok(())
        }
        Some(Format::Cet) => {
            Err(LoadError::file(path, "contact attempts (cet) are history: pass the file with --history"))
        }
        None => Err(LoadError::file(
            path,
            "unknown rules format (expected .json, .csv, .parquet, .act, .cct or .idx, or a folder)",
        )),
    }
}

fn load_json(ctx: &Ctx, rules: &mut RuleSet, report: &mut RuleLoadReport) -> Result<(), LoadError> {
    let bytes = std::fs::read(ctx.file).map_err(|e| LoadError::io(ctx.file, e))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
        LoadError::file(ctx.file, format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()))
    })?;
    let mut items: Vec<(String, Option<RuleKind>, Value)> = Vec::new();
    match v {
        Value::Array(a) => {
            for (i, it) in a.into_iter().enumerate() {
                items.push((format!("item {}", i + 1), None, it));
            }
        }
        Value::Object(o) => {
            let collections: Vec<_> =
                COLLECTIONS.iter().filter(|(k, _)| o.get(*k).is_some_and(Value::is_array)).collect();
            if collections.is_empty() {
                items.push(("object".into(), None, Value::Object(o)));
            } else {
                let mut o = o;
                for (key, kind) in collections {
                    if let Some(Value::Array(a)) = o.remove(*key) {
                        for (i, it) in a.into_iter().enumerate() {
                            items.push((format!("{key} item {}", i + 1), Some(*kind), it));
                        }
                    }
                }
            }
        }
        _ => return Err(LoadError::file(ctx.file, "expected a JSON array of rules or an API collection object")),
    }
    for (loc, kind, item) in items {
        let kind = match (kind, &item) {
            (Some(k), _) => k,
            (None, Value::Object(o)) => match detect_kind(o) {
                Some(k) => k,
                None => {
                    ctx.bad(
                        report,
                        loc,
                        FieldError::new("(kind)", "cannot tell the rule kind: no exclusionType, attemptTrackerName, messageTrackerName, thresholdActionType, contactKeyType, convenientTimes or totalQuota"),
                    )?;
                    continue;
                }
            },
            (None, _) => {
                ctx.bad(report, loc, FieldError::new("(item)", "is not a JSON object"))?;
                continue;
            }
        };
        if let Err(e) = add_json_item(rules, kind, item, report) {
            ctx.bad(report, loc, e)?;
        }
    }
    Ok(())
}

const EXCLUSION_COLUMNS: [&str; 8] =
    ["id", "exclusionType", "exclusionValue", "contactListName", "reason", "startTime", "endTime", "operation"];

fn exclusion_dto(get: impl Fn(usize) -> Option<String>) -> ExclusionDto {
    ExclusionDto {
        id: get(0),
        exclusion_type: get(1),
        exclusion_value: get(2),
        contact_list_name: get(3),
        reason: get(4),
        start_time: get(5),
        end_time: get(6),
        meta: Meta::default(),
    }
}

/// `D` / `A` of SPEC §12 for exclusions.
fn parse_operation(op: Option<&str>) -> Result<bool, FieldError> {
    match op.map(str::trim).unwrap_or("") {
        "" | "A" | "a" => Ok(false),
        "D" | "d" => Ok(true),
        other => Err(FieldError::new("operation", format!("unknown operation '{other}' (expected A or D)"))),
    }
}

fn load_csv(ctx: &Ctx, rules: &mut RuleSet, report: &mut RuleLoadReport, act: bool) -> Result<(), LoadError> {
    let mut rdr = csv_reader(ctx.file)?;
    let headers = super::csv_headers(&mut rdr, ctx.file)?;
    if !act && super::columns::find(&headers, "contactKeyType").is_some() {
        drop(rdr);
        return load_cct(ctx, rules, report);
    }
    let map = ColumnMap::new(&headers, EXCLUSION_COLUMNS);
    if map.idx[1].is_none() {
        return Err(LoadError::file(ctx.file, "no exclusionType column: not an exclusions file"));
    }
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(LoadError::file(ctx.file, format!("unreadable CSV: {e}"))),
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| map.idx[i].and_then(|c| rec.get(c)).filter(|s| !s.trim().is_empty()).map(str::to_string);
        let loc = format!("line {line}");
        let delete = if act || map.idx[7].is_some() {
            match parse_operation(get(7).as_deref()) {
                Ok(d) => d,
                Err(e) => {
                    ctx.bad(report, loc, e)?;
                    continue;
                }
            }
        } else {
            false
        };
        let dto = exclusion_dto(get);
        if delete {
            match delete_key(&dto) {
                Ok(id) => {
                    if rules.delete_exclusions(&id) > 0 {
                        report.deleted += 1;
                    }
                }
                Err(e) => ctx.bad(report, loc, e)?,
            }
            continue;
        }
        match Exclusion::try_from(&dto) {
            Ok(e) if act => match rules.upsert_exclusion(e) {
                LineOutcome::Added => report.exclusions += 1,
                LineOutcome::Updated => report.updated += 1,
                _ => report.duplicates += 1,
            },
            Ok(e) => {
                rules.add_exclusion(e);
                report.exclusions += 1;
            }
            Err(e) => ctx.bad(report, loc, e)?,
        }
    }
    Ok(())
}

fn delete_key(dto: &ExclusionDto) -> Result<ExclusionIdentity, FieldError> {
    let t = dto
        .exclusion_type
        .as_deref()
        .and_then(ExclusionType::parse)
        .ok_or_else(|| FieldError::new("exclusionType", "is required and must be a known type"))?;
    let v = dto
        .exclusion_value
        .as_deref()
        .and_then(|v| exclusion_key(t, v))
        .ok_or_else(|| FieldError::new("exclusionValue", "is required"))?;
    Ok((t, v, dto.contact_list_name.as_deref().and_then(crate::normalize::lower)))
}

/// Parses the cct file's `convenientTimes` text: `Mon-Fri 09:00-17:00; Sat,Sun 10:00-12:00`.
pub fn parse_windows_text(s: &str) -> Result<Vec<WindowDto>, FieldError> {
    let bad = |m: String| FieldError::new("convenientTimes", m);
    let mut out = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (days, times) =
            part.rsplit_once(char::is_whitespace).ok_or_else(|| bad(format!("'{part}' is not 'DAYS HH:MM-HH:MM'")))?;
        let (start, end) =
            times.trim().split_once('-').ok_or_else(|| bad(format!("'{times}' is not 'HH:MM-HH:MM'")))?;
        let mut list = Vec::new();
        for item in days.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let day = |d: &str| DayOfWeek::parse(d).ok_or_else(|| bad(format!("unknown day '{d}'")));
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)? as usize, day(b)? as usize);
                    let mut i = a;
                    loop {
                        list.push(DayOfWeek::ALL[i].as_str().to_string());
                        if i == b {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
                None => list.push(day(item)?.as_str().to_string()),
            }
        }
        out.push(WindowDto {
            day_of_week: Some(list),
            start_time: Some(start.trim().to_string()),
            end_time: Some(end.trim().to_string()),
        });
    }
    Ok(out)
}

const CCT_COLUMNS: [&str; 9] = [
    "operation",
    "contactKeyType",
    "contactKey",
    "contactValueType",
    "contactValue",
    "reason",
    "endTime",
    "convenientTimes",
    "id",
];

fn load_cct(ctx: &Ctx, rules: &mut RuleSet, report: &mut RuleLoadReport) -> Result<(), LoadError> {
    let mut rdr = csv_reader(ctx.file)?;
    let headers = super::csv_headers(&mut rdr, ctx.file)?;
    let map = ColumnMap::new(&headers, CCT_COLUMNS);
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(LoadError::file(ctx.file, format!("unreadable CSV: {e}"))),
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| map.idx[i].and_then(|c| rec.get(c)).filter(|s| !s.trim().is_empty()).map(str::to_string);
        let loc = format!("line {line}");
        let parsed = (|| {
            let delete = parse_operation(get(0).as_deref())?;
            let windows = parse_windows_text(get(7).as_deref().unwrap_or(""))?;
            let dto = CctDto {
                id: get(8),
                contact_key_type: get(1),
                contact_key: get(2),
                contact_value_type: get(3),
                contact_value: get(4),
                reason: get(5),
                end_time: get(6),
                convenient_times: Some(windows),
                ..Default::default()
            };
            Ok::<_, FieldError>((delete, ConvenientContactTime::try_from(&dto)?))
        })();
        match parsed {
            Ok((true, c)) => {
                if rules.remove_cct(&c.identity()) {
                    report.deleted += 1;
                }
            }
            Ok((false, c)) => {
                if rules.ccts.contains(&c) {
                    report.duplicates += 1;
                } else if rules.add_cct(c) {
                    report.updated += 1;
                } else {
                    report.convenient_contact_times += 1;
                }
            }
            Err(e) => ctx.bad(report, loc, e)?,
        }
    }
    Ok(())
}

/// One task's outcome: how many registry rows it read (their keys went to the
/// rule set's collector, or are kept here when they belong in the general
/// index), and the other rows (by row number) as rules or errors.
struct GroupLoad {
    registry_rows: usize,
    registry: Vec<u64>,
    others: Vec<(usize, Result<Exclusion, FieldError>)>,
}

/// Where a task puts registry keys.
enum KeySink<'a> {
    Collector(crate::engine::keyset::Stager<'a>),
    Keep,
}

/// Parquet exclusions, row groups decoded in parallel. Registry-style rows
/// (Voice, no id, list, start or end) go straight to phone keys without
/// building a rule; the rest take the general path.
///
/// A row group whose statistics prove every row registry-style (type
/// exactly one Voice spelling, value never null, id, list, start, end and
/// operation all null) is read by its value column alone: in a
/// registry-sized file those are nearly all groups, and the other columns'
/// decoding and per-row checks were about a fifth of the load.
fn load_parquet_exclusions(ctx: &Ctx, rules: &mut RuleSet, report: &mut RuleLoadReport) -> Result<(), LoadError> {
    use rayon::prelude::*;
    let file = ctx.file;
    let _small = crate::pages::SmallPages::new();
    let collector = rules.registry_collector();
    let src = super::ParquetSource::open(file, &["exclusionType"])?;
    let map = ColumnMap::new(&src.headers(), EXCLUSION_COLUMNS);
    if map.idx[1].is_none() {
        return Err(LoadError::file(file, "no exclusionType column: not an exclusions file"));
    }
    let groups: Vec<GroupLoad> = src
        .tasks()
        .into_par_iter()
        // The key buffer and the stager live across a worker's tasks: a fresh
        // buffer per row group grew by doubling into new pages every time
        // (a quarter of a million page faults loading a 250M registry).
        .map_init(
            || (Vec::new(), collector.map_or(KeySink::Keep, |c| KeySink::Collector(c.stager()))),
            |(keys, sink), (first, _rows, rgs)| {
                let mut out = GroupLoad { registry_rows: 0, registry: Vec::new(), others: Vec::new() };
                let mut row = first;
                for g in rgs {
                    let rows = src.metadata().row_group(g).num_rows() as usize;
                    if let Some(value) = registry_group_value_column(&src, g, &map) {
                        if registry_group_keys(&src, g, value, keys)? {
                            out.registry_rows += keys.len();
                            match sink {
                                KeySink::Collector(st) => keys.iter().for_each(|&v| st.push(v)),
                                KeySink::Keep => out.registry.extend_from_slice(keys),
                            }
                            row += rows;
                            continue;
                        }
                        // A value that is not a plain phone number: the whole group takes the general path.
                    }
                    for batch in src.batches(vec![g], None)? {
                        let batch = batch?;
                        scan_exclusion_batch(&batch, &map, row, &mut out, sink)
                            .map_err(|e| LoadError::file(file, e))?;
                        row += batch.num_rows();
                    }
                }
                Ok(out)
            },
        )
        .collect::<Result<_, LoadError>>()?;
    for g in groups {
        report.exclusions += g.registry_rows;
        for v in g.registry {
            rules.add_registry_key(v);
        }
        for (row, r) in g.others {
            match r {
                Ok(e) => {
                    rules.add_exclusion(e);
                    report.exclusions += 1;
                }
                Err(e) => ctx.bad(report, format!("row {}", row + 1), e)?,
            }
        }
    }
    Ok(())
}

/// The value column's position if row group `g`'s statistics prove every
/// row registry-style (see [`load_parquet_exclusions`]); `None` when they do
/// not or say too little.
fn registry_group_value_column(src: &super::ParquetSource<'_>, g: usize, map: &ColumnMap<8>) -> Option<usize> {
    if !src.is_flat() {
        return None;
    }
    let rg = src.metadata().row_group(g);
    let rows = rg.num_rows() as u64;
    let stats = |k: usize| map.idx[k].map(|i| rg.column(i).statistics());
    let nulls = |k: usize| stats(k).map(|s| s.and_then(|s| s.null_count_opt()));
    // the type: no nulls, one exact value, a Voice spelling
    let ty = stats(1)??;
    let (lo, hi) = (ty.min_bytes_opt()?, ty.max_bytes_opt()?);
    let one_voice = ty.null_count_opt() == Some(0)
        && ty.min_is_exact()
        && ty.max_is_exact()
        && lo == hi
        && std::str::from_utf8(lo).is_ok_and(|t| t.trim().eq_ignore_ascii_case("voice"));
    let value = map.idx[2]?;
    let blank_others = [0, 3, 5, 6, 7].iter().all(|&k| match nulls(k) {
        None => true, // no such column
        Some(n) => n == Some(rows),
    });
    (one_voice && blank_others && nulls(2) == Some(Some(0))).then_some(value)
}

/// Reads row group `g`'s value column alone into `keys` as phone keys,
/// from its pages when they are plain (the usual registry layout).
/// `false` (and `keys` meaningless) if some value is not a plain phone number.
fn registry_group_keys(
    src: &super::ParquetSource<'_>,
    g: usize,
    value: usize,
    keys: &mut Vec<u64>,
) -> Result<bool, LoadError> {
    keys.clear();
    keys.reserve(src.metadata().row_group(g).num_rows() as usize);
    let raw = src.plain_text_values(g, value, |v| match crate::engine::dnc::phone_key_of_utf8(v) {
        Some(k) => {
            keys.push(k);
            true
        }
        None => false,
    })?;
    if let Some(all_phones) = raw {
        return Ok(all_phones);
    }
    keys.clear();
    for batch in src.batches(vec![g], Some(&[value]))? {
        let batch = batch?;
        let text = to_text(batch.column(0)).map_err(|e| LoadError::file(src.path(), e))?;
        for r in 0..text.len() {
            match (!text.is_null(r)).then(|| crate::engine::dnc::phone_key_of_text(text.value(r))).flatten() {
                Some(v) => keys.push(v),
                None => return Ok(false),
            }
        }
    }
    Ok(true)
}

/// Whether a cell is null or blank text.
fn blank(a: &Option<arrow_array::ArrayRef>, i: usize) -> bool {
    match a {
        None => true,
        Some(a) if a.is_null(i) => true,
        Some(a) => match a.as_any().downcast_ref::<arrow_array::StringArray>() {
            Some(s) => s.value(i).trim().is_empty(),
            None => false,
        },
    }
}

/// Per-row "is the type Voice", without materialising a dictionary column.
fn voice_rows(ty: &arrow_array::ArrayRef) -> Result<Vec<bool>, String> {
    let is_voice = |s: &str| s.trim().eq_ignore_ascii_case("voice");
    if let arrow_schema::DataType::Dictionary(_, _) = ty.data_type() {
        let dict = ty.as_any_dictionary();
        let values = to_text(dict.values())?;
        let value_is: Vec<bool> = (0..values.len()).map(|i| !values.is_null(i) && is_voice(values.value(i))).collect();
        let keys = dict.normalized_keys();
        return Ok((0..ty.len()).map(|r| !ty.is_null(r) && value_is.get(keys[r]).copied().unwrap_or(false)).collect());
    }
    let t = to_text(ty)?;
    Ok((0..t.len()).map(|r| !t.is_null(r) && is_voice(t.value(r))).collect())
}

fn scan_exclusion_batch(
    batch: &RecordBatch,
    map: &ColumnMap<8>,
    first_row: usize,
    out: &mut GroupLoad,
    sink: &mut KeySink<'_>,
) -> Result<(), String> {
    let col = |k: usize| map.idx[k].map(|i| batch.column(i).clone());
    let raw: Vec<Option<arrow_array::ArrayRef>> = (0..8).map(col).collect();
    let n = batch.num_rows();
    let voice = voice_rows(raw[1].as_ref().expect("exclusionType column"))?;
    let val = raw[2].as_ref().map(to_text).transpose()?;
    // Columns that must be blank for a registry row; all-null ones need no per-row check.
    let checks: Vec<&Option<arrow_array::ArrayRef>> =
        [0, 3, 5, 6, 7].iter().map(|&k| &raw[k]).filter(|a| a.as_ref().is_some_and(|a| a.null_count() < n)).collect();
    for (r, &is_voice) in voice.iter().enumerate() {
        if is_voice && checks.iter().all(|a| blank(a, r)) {
            if let Some(v) =
                val.as_ref().filter(|v| !v.is_null(r)).and_then(|v| crate::engine::dnc::phone_key_of_text(v.value(r)))
            {
                out.registry_rows += 1;
                match sink {
                    KeySink::Collector(st) => st.push(v),
                    KeySink::Keep => out.registry.push(v),
                }
                continue;
            }
        }
        // The general path: this row's cells as text.
        let cell = |k: usize| -> Option<String> {
            let a = raw[k].as_ref()?;
            let one = a.slice(r, 1);
            let t = to_text(&one).ok()?;
            (!t.is_null(0)).then(|| t.value(0).to_string()).filter(|s| !s.trim().is_empty())
        };
        let dto = exclusion_dto(cell);
        let row = first_row + r;
        if cell(7).is_some() {
            out.others.push((
                row,
                Err(FieldError::new(
                    "operation",
                    "operations are for .act files; a Parquet exclusions file lists exclusions",
                )),
            ));
            continue;
        }
        out.others.push((row, Exclusion::try_from(&dto)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_pick_registry_only_row_groups() {
        use arrow_array::{ArrayRef, StringArray};
        use std::sync::Arc;
        let text = |v: &[Option<&str>]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
        let batch = RecordBatch::try_from_iter([
            ("exclusionType", text(&[Some("Voice"), Some("Voice"), Some("Voice"), Some("SMS"), Some("Voice"), None])),
            (
                "exclusionValue",
                text(&[Some("2125550101"), Some("2125550102"), Some("2125550103"), Some("x"), None, Some("1")]),
            ),
            ("contactListName", text(&[None, None, Some("L1"), None, None, None])),
        ])
        .unwrap();
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("ex.parquet");
        let props = parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(2)).build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props))
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let src = super::super::ParquetSource::open(&path, &["exclusionType"]).unwrap();
        let map = ColumnMap::new(&src.headers(), EXCLUSION_COLUMNS);
        // group 0: two plain Voice rows; group 1: a listed row and an SMS row; group 2: a null value and a null type
        let picked: Vec<Option<usize>> = (0..3).map(|g| registry_group_value_column(&src, g, &map)).collect();
        assert_eq!(picked, vec![Some(1), None, None]);
        let mut keys = Vec::new();
        assert!(registry_group_keys(&src, 0, 1, &mut keys).unwrap());
        assert_eq!(keys, vec![2125550101, 2125550102]);
        // a value that is no phone number sends the group back to the general path
        assert!(!registry_group_keys(&src, 1, 1, &mut keys).unwrap());
    }

    /// A rules path that does not exist is reported as missing (not as an
    /// unknown format), a folder or file of the wrong kind by its extension.
    #[test]
    fn missing_rules_paths_are_named_as_missing() {
        let d = tempfile::tempdir().unwrap();
        let load = |p: &Path| {
            let (mut rules, mut report) = (RuleSet::default(), RuleLoadReport::default());
            load_rules(p, &mut rules, RuleLoadOptions::default(), &mut report).unwrap_err().to_string()
        };
        let missing = d.path().join("rules");
        let e = load(&missing);
        assert!(e.starts_with(&format!("{}: ", missing.display())), "{e}");
        assert!(e.contains("No such file or directory"), "{e}");
        let odd = d.path().join("rules.xml");
        std::fs::write(&odd, "x").unwrap();
        let e = load(&odd);
        assert!(e.contains("unknown rules format"), "{e}");
    }

    #[test]
    fn windows_text() {
        let w = parse_windows_text("Mon-Fri 09:00-17:00; Sat,Sun 10:00-12:00").unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].day_of_week.as_ref().unwrap().len(), 5);
        assert_eq!(w[1].day_of_week.as_ref().unwrap(), &vec!["Saturday".to_string(), "Sunday".to_string()]);
        assert_eq!(w[0].end_time.as_deref(), Some("17:00"));
        let wrap = parse_windows_text("Fri-Mon 22:00-06:00").unwrap();
        assert_eq!(wrap[0].day_of_week.as_ref().unwrap().len(), 4);
        assert!(parse_windows_text("Funday 09:00-10:00").is_err());
    }

    #[test]
    fn kinds_by_fields() {
        let k = |v: Value| detect_kind(v.as_object().unwrap());
        assert_eq!(k(serde_json::json!({"exclusionType":"Voice"})), Some(RuleKind::Exclusion));
        assert_eq!(k(serde_json::json!({"customer":"c","phone":"1"})), Some(RuleKind::Cct));
        assert_eq!(k(serde_json::json!({"thresholdActionType":"NoPlayMessage"})), Some(RuleKind::MessageTracker));
        assert_eq!(k(serde_json::json!({"totalQuota":3})), Some(RuleKind::Quota));
        assert_eq!(k(serde_json::json!({"name":"x"})), None);
    }

    #[test]
    fn numbers_accepted_for_text_fields_and_bad_fields_named() {
        let d: ExclusionDto =
            dto_from_value(serde_json::json!({"exclusionType":"Voice","exclusionValue":5550102030u64})).unwrap();
        assert_eq!(d.exclusion_value.as_deref(), Some("5550102030"));
        let e = dto_from_value::<AttemptTrackerDto>(serde_json::json!({"typeOfTracker":"Account","dispositions":"BZ"}))
            .unwrap_err();
        assert_eq!(e.field, "dispositions");
    }
}

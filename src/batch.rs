//! The `scrub run` pipeline: load → index → parallel evaluate → write → summary.
//!
//! Contacts stream through in chunks: a reader thread parses chunk N+1 while
//! rayon evaluates chunk N and a writer thread writes chunk N−1, so memory
//! stays bounded by a few chunks and output keeps input order. Outputs are
//! temporary files until every one of them has been written completely.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rayon::prelude::*;
use serde::Serialize;

use crate::engine::{evaluate_prepared, prefetch, Engine, HistoryBuilder, RuleSet};
use crate::io::contacts::{Chunk, ContactReader};
use crate::io::history::{load_history, HistoryLoadReport};
use crate::io::output::{RowOutcome, Select, Sink};
use crate::io::rules::{load_rules, RuleLoadOptions, RuleLoadReport};
use crate::io::{load_config, LoadError};
use crate::model::{Checks, Config, Record};

/// Records evaluated together after one prefetch of their registry probes.
const GROUP: usize = 32;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub contacts: PathBuf,
    pub rules: Vec<PathBuf>,
    pub history: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub as_of: DateTime<Utc>,
    pub default_zone: Tz,
    pub checks: Checks,
    pub out: Option<PathBuf>,
    pub allowed: Option<PathBuf>,
    pub restricted: Option<PathBuf>,
    pub rejects: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub skip_bad_rules: bool,
    /// Keep registry-style exclusions in the general index instead of the compact set.
    pub no_compact: bool,
    pub progress: bool,
    pub chunk_rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Phases {
    pub load_rules_s: f64,
    pub load_history_s: f64,
    pub build_index_s: f64,
    pub read_contacts_s: f64,
    pub evaluate_s: f64,
    pub write_s: f64,
    pub total_s: f64,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RulesLoaded {
    /// All exclusions: the general index plus the compact registry numbers.
    pub exclusions: usize,
    /// Of which permanent, unscoped, id-less Voice numbers in the compact set.
    pub registry_numbers: usize,
    pub convenient_contact_times: usize,
    pub quota_controls: usize,
    pub attempt_trackers: usize,
    pub message_trackers: usize,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub contacts: String,
    pub as_of: String,
    pub input_rows: u64,
    pub allowed: u64,
    pub restricted: u64,
    pub rejected: u64,
    pub restriction_types: BTreeMap<String, u64>,
    pub message_types: BTreeMap<String, u64>,
    pub rules_loaded: RulesLoaded,
    pub rule_files: RuleLoadReport,
    pub history_rows: usize,
    pub history_disabled: usize,
    /// Enabled attempts no loaded tracker can count at as-of (outside every window).
    pub history_out_of_reach: usize,
    pub history: HistoryLoadReport,
    pub outputs: BTreeMap<String, String>,
    pub threads: usize,
    pub phases: Phases,
    pub records_per_second: f64,
    /// The first few reject reasons, with their row numbers (1 = first data row).
    pub reject_samples: Vec<String>,
}

/// The files an engine is built from, and how.
#[derive(Debug, Clone, Copy)]
pub struct EngineSources<'a> {
    pub rules: &'a [PathBuf],
    pub history: &'a [PathBuf],
    pub config: Option<&'a PathBuf>,
    /// Skip (and report) rules that break the spec instead of failing.
    pub skip_bad_rules: bool,
    /// Keep registry-style exclusions in the general index (`--no-compact-index`).
    pub no_compact: bool,
}

/// Loads rules, history and configuration into an engine evaluating at
/// `now` (the history is kept only as far back as its trackers count),
/// timing each phase; `stage`, when given, is told which one is running.
pub fn build_engine(
    src: EngineSources<'_>,
    now: DateTime<Utc>,
    phases: &mut Phases,
    stage: Option<&indicatif::ProgressBar>,
) -> Result<(Engine, RuleLoadReport, HistoryLoadReport), LoadError> {
    let EngineSources { rules, history, config, skip_bad_rules, no_compact } = src;
    let say = |what: &'static str| crate::progress::say(stage, what);
    say("loading rules");
    let t = Instant::now();
    let mut set = RuleSet::default();
    set.no_compact = no_compact;
    let mut report = RuleLoadReport::default();
    for p in rules {
        load_rules(p, &mut set, RuleLoadOptions { skip_bad_rules }, &mut report)?;
    }
    let config = match config {
        Some(p) => load_config(p)?,
        None => Config::default(),
    };
    phases.load_rules_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (from, to) = crate::engine::history_window(&set, now);
    let mut hb = HistoryBuilder::with_window(from, to);
    let mut hreport = HistoryLoadReport::default();
    if !history.is_empty() {
        say("loading history");
    }
    for p in history {
        load_history(p, &mut hb, &mut hreport)?;
    }
    phases.load_history_s = t.elapsed().as_secs_f64();
    say("building indexes");
    let t = Instant::now();
    // The history's build and the exclusions' index have serial stretches
    // (the history's column concatenation, the registry's last sets): side by
    // side, each fills the other's idle core.
    let (history, exclusions) = rayon::join(|| hb.build(), || set.take_exclusion_index());
    let engine = Engine::with_exclusions(exclusions, set, history, config);
    phases.build_index_s = t.elapsed().as_secs_f64();
    Ok((engine, report, hreport))
}

struct Counts {
    allowed: u64,
    restricted: u64,
    rejected: u64,
    types: BTreeMap<&'static str, u64>,
    messages: BTreeMap<&'static str, u64>,
    samples: Vec<String>,
}

pub fn run(opts: &RunOptions) -> Result<Summary, RunError> {
    let started = Instant::now();
    let mut phases = Phases::default();
    // Opened first, so a contacts file that is missing or unreadable is
    // reported at once, not after loading a registry of millions of rules.
    let mut reader = ContactReader::open(&opts.contacts, opts.chunk_rows)?;
    // Loading the rules and history of a registry-sized run takes seconds:
    // a spinner names the stage until the progress bar of the contacts starts.
    let loading = opts.progress.then(crate::progress::stage_spinner);
    let sources = EngineSources {
        rules: &opts.rules,
        history: &opts.history,
        config: opts.config.as_ref(),
        skip_bad_rules: opts.skip_bad_rules,
        no_compact: opts.no_compact,
    };
    let built = build_engine(sources, opts.as_of, &mut phases, loading.as_ref());
    if let Some(pb) = loading {
        pb.finish_and_clear();
    }
    let (engine, rule_report, hreport) = built?;
    for s in &rule_report.skipped {
        eprintln!("scrub: skipped bad rule: {s}");
    }

    let headers = reader.headers.clone();
    let schema = reader.schema.clone();
    let mut sinks: Vec<Sink> = Vec::new();
    let any_output = opts.out.is_some() || opts.allowed.is_some() || opts.restricted.is_some();
    let targets = [
        (opts.out.as_ref(), Select::Valid),
        (opts.allowed.as_ref(), Select::Allowed),
        (opts.restricted.as_ref(), Select::Restricted),
        (opts.rejects.as_ref(), Select::Rejects),
    ];
    for (path, select) in targets {
        if let Some(p) = path {
            sinks.push(
                Sink::create(Some(p), &headers, schema.as_ref(), select)
                    .map_err(|e| RunError::Write { path: p.clone(), source: e })?,
            );
        }
    }
    if !any_output {
        sinks.push(
            Sink::create(None, &headers, schema.as_ref(), Select::Valid)
                .map_err(|e| RunError::Write { path: "-".into(), source: e })?,
        );
    }

    let bar = opts.progress.then(|| {
        let (total, rows) = reader.total_hint;
        if rows {
            crate::progress::rows_bar(total)
        } else {
            crate::progress::bytes_bar(total)
        }
    });

    let now = opts.as_of;
    let mut counts = Counts {
        allowed: 0,
        restricted: 0,
        rejected: 0,
        types: BTreeMap::new(),
        messages: BTreeMap::new(),
        samples: Vec::new(),
    };
    let mut read_time = Duration::ZERO;
    let mut eval_time = Duration::ZERO;
    let mut write_time = Duration::ZERO;
    let mut input_rows = 0u64;
    let engine_ref = &engine;

    let result: Result<(), RunError> = std::thread::scope(|s| {
        let (chunk_tx, chunk_rx) = sync_channel::<Result<(Chunk, u64), LoadError>>(2);
        let (out_tx, out_rx) = sync_channel::<(Chunk, Vec<RowOutcome<'_>>)>(2);
        let chunk_rows = opts.chunk_rows;
        let reader_ref = &mut reader;
        let reader_handle = s.spawn(move || {
            let mut busy = Duration::ZERO;
            loop {
                let t = Instant::now();
                let next = reader_ref.next_chunk(chunk_rows);
                busy += t.elapsed();
                let pos = reader_ref.position();
                match next {
                    Ok(Some(c)) => {
                        if chunk_tx.send(Ok((c, pos))).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = chunk_tx.send(Err(e));
                        break;
                    }
                }
            }
            busy
        });
        let sinks_ref = &mut sinks;
        let writer_handle = s.spawn(move || -> Result<Duration, RunError> {
            let mut busy = Duration::ZERO;
            for (chunk, results) in out_rx {
                let t = Instant::now();
                for sink in sinks_ref.iter_mut() {
                    sink.write_chunk(&chunk, &results)
                        .map_err(|e| RunError::Write { path: sink.path().to_path_buf(), source: e })?;
                }
                busy += t.elapsed();
            }
            Ok(busy)
        });

        let mut failure: Option<RunError> = None;
        for msg in chunk_rx {
            let (chunk, pos) = match msg {
                Ok(x) => x,
                Err(e) => {
                    failure = Some(e.into());
                    break;
                }
            };
            let t = Instant::now();
            let view = match crate::io::contacts::view_for(&opts.contacts, &headers, &chunk, opts.checks) {
                Ok(v) => v,
                Err(e) => {
                    failure = Some(e.into());
                    break;
                }
            };
            let zone = opts.default_zone;
            let checks = opts.checks;
            // Records are evaluated in groups of GROUP: filled, then the registry
            // probes and history keys of the whole group are prefetched (the keys
            // kept for the evaluations), then each is evaluated (overlapping the
            // group's cache misses instead of paying them in turn).
            let mut results: Vec<RowOutcome<'_>> = Vec::with_capacity(chunk.len());
            results.resize_with(chunk.len(), || Err(String::new()));
            results.par_chunks_mut(GROUP).with_min_len(2048 / GROUP).enumerate().for_each_init(
                || (vec![Record::default(); GROUP], Vec::with_capacity(GROUP), Vec::with_capacity(GROUP)),
                |(recs, filled, keys), (g, out)| {
                    filled.clear();
                    for (j, rec) in recs.iter_mut().enumerate().take(out.len()) {
                        let r = view.fill(g * GROUP + j, rec, zone);
                        rec.checks = if r.is_ok() { checks } else { Checks::none() };
                        filled.push(r);
                    }
                    prefetch(engine_ref, &recs[..out.len()], keys);
                    for (j, ((slot, rec), r)) in out.iter_mut().zip(recs.iter()).zip(filled.drain(..)).enumerate() {
                        *slot = r.map(|()| evaluate_prepared(engine_ref, rec, now, keys.get(j).copied()));
                    }
                },
            );
            eval_time += t.elapsed();
            for (i, r) in results.iter().enumerate() {
                match r {
                    Ok(d) => {
                        if let Some(rt) = d.restriction {
                            counts.restricted += 1;
                            *counts.types.entry(rt.as_str()).or_default() += 1;
                        } else {
                            counts.allowed += 1;
                        }
                        if let Some(m) = d.message_type {
                            *counts.messages.entry(m.as_str()).or_default() += 1;
                        }
                    }
                    Err(reason) => {
                        counts.rejected += 1;
                        if counts.samples.len() < 20 {
                            counts.samples.push(format!("row {}: {reason}", input_rows + i as u64 + 1));
                        }
                    }
                }
            }
            input_rows += chunk.len() as u64;
            if let Some(b) = &bar {
                b.set_position(pos);
            }
            if out_tx.send((chunk, results)).is_err() {
                break;
            }
        }
        drop(out_tx);
        read_time = reader_handle.join().expect("reader thread");
        match writer_handle.join().expect("writer thread") {
            Ok(d) => write_time = d,
            Err(e) => failure = failure.or(Some(e)),
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Err(e) = result {
        for s in sinks {
            s.abort();
        }
        return Err(e);
    }

    let mut outputs = BTreeMap::new();
    for s in &sinks {
        outputs.insert(s.path().display().to_string(), format!("{} rows", s.rows));
    }
    for s in sinks {
        let path = s.path().to_path_buf();
        s.finish().map_err(|e| RunError::Write { path, source: e })?;
    }

    phases.read_contacts_s = read_time.as_secs_f64();
    phases.evaluate_s = eval_time.as_secs_f64();
    phases.write_s = write_time.as_secs_f64();
    phases.total_s = started.elapsed().as_secs_f64();
    let summary = Summary {
        contacts: opts.contacts.display().to_string(),
        as_of: crate::time::format_instant(now),
        input_rows,
        allowed: counts.allowed,
        restricted: counts.restricted,
        rejected: counts.rejected,
        restriction_types: counts.types.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        message_types: counts.messages.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        rules_loaded: RulesLoaded {
            exclusions: engine.exclusions.len() + engine.exclusions.registry_len(),
            registry_numbers: engine.exclusions.registry_len(),
            convenient_contact_times: engine.ccts.len(),
            quota_controls: engine.quota_count(),
            attempt_trackers: engine.attempt_tracker_count(),
            message_trackers: engine.message_tracker_count(),
        },
        rule_files: rule_report,
        history_rows: engine.history.rows_read,
        history_disabled: engine.history.disabled,
        history_out_of_reach: engine.history.skipped,
        history: hreport,
        outputs,
        threads: rayon::current_num_threads(),
        records_per_second: if phases.total_s > 0.0 { input_rows as f64 / phases.total_s } else { 0.0 },
        phases,
        reject_samples: counts.samples,
    };
    if let Some(p) = &opts.summary {
        write_atomic(p, serde_json::to_vec_pretty(&summary).expect("summary serialises"))
            .map_err(|e| RunError::Write { path: p.clone(), source: e })?;
    }
    Ok(summary)
}

/// Writes a small file atomically (temporary name, then rename).
pub fn write_atomic(path: &std::path::Path, bytes: Vec<u8>) -> std::io::Result<()> {
    let tmp = crate::io::tmp_path(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

//! `scrub load`: bulk-import rules, history and configuration into the store.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::server::load::{load_config_file, load_history_file, load_rules_file, LoadCounts};
use crate::server::store;

#[derive(Debug, Args)]
#[command(after_help = "\
Each file (or folder) is one transaction: it is stored whole or not at all.
The server reads the store at start, so restart `scrub serve` after loading.

Example:
  scrub load --data-dir data --org acme --rules datasets/sample/rules \\
    --history datasets/sample/history.csv --config datasets/sample/config.json")]
pub struct LoadArgs {
    /// Folder of the embedded store (created if missing)
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The org (tenant) to load into
    #[arg(long, value_name = "ORG")]
    pub org: String,
    /// Rules: JSON, exclusion CSV/Parquet, .act, .cct, or a folder of them (repeatable)
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Contact-attempt history: CSV, Parquet, .cet, or a folder (repeatable)
    #[arg(long, value_name = "PATH")]
    pub history: Vec<PathBuf>,
    /// Configuration JSON (the `scrub run --config` format)
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Skip (and report) rules that break the spec instead of failing the file
    #[arg(long)]
    pub skip_bad_rules: bool,
}

pub fn execute(a: LoadArgs) -> anyhow::Result<i32> {
    if a.org.trim().is_empty() {
        anyhow::bail!("--org must not be empty");
    }
    std::fs::create_dir_all(&a.data_dir).with_context(|| format!("creating {}", a.data_dir.display()))?;
    let db = a.data_dir.join(store::DB_FILE);
    let mut conn = store::open_connection(&db, false).with_context(|| format!("opening {}", db.display()))?;
    let t0 = std::time::Instant::now();
    let mut counts = LoadCounts::default();
    for p in &a.rules {
        let t = std::time::Instant::now();
        let before = counts.clone();
        let rep = load_rules_file(&mut conn, &a.org, p, a.skip_bad_rules, &mut counts)?;
        for s in &rep.skipped {
            eprintln!("scrub load: skipped bad rule: {s}");
        }
        eprintln!(
            "scrub load: {}: {} exclusions, {} CCTs, {} quota controls, {} attempt trackers, {} message trackers in {:.2} s",
            p.display(),
            counts.exclusions - before.exclusions,
            counts.convenient_contact_times - before.convenient_contact_times,
            counts.quota_controls - before.quota_controls,
            counts.attempt_trackers - before.attempt_trackers,
            counts.message_trackers - before.message_trackers,
            t.elapsed().as_secs_f64()
        );
    }
    for p in &a.history {
        let t = std::time::Instant::now();
        let (before, before_disabled) = (counts.contact_attempts, counts.disabled_attempts);
        let rep = load_history_file(&mut conn, &a.org, p, &mut counts)?;
        let n = counts.contact_attempts - before;
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "scrub load: {}: {} attempts stored, {} of them Disabled ({} rows read, {} cet duplicates) in {:.2} s \
             ({:.0} rows/min)",
            p.display(),
            n,
            counts.disabled_attempts - before_disabled,
            rep.rows,
            rep.duplicates,
            secs,
            n as f64 / secs.max(1e-9) * 60.0
        );
    }
    if let Some(p) = &a.config {
        load_config_file(&mut conn, &a.org, p, &mut counts)?;
    }
    // Each file's transaction went to the WAL. Closing the connection would
    // copy it into the database file anyway, silently, seconds after "done" for
    // millions of rows; copied here, the time is reported and counted.
    let t = std::time::Instant::now();
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)) {
        Ok(0) => eprintln!("scrub load: store checkpointed in {:.2} s", t.elapsed().as_secs_f64()),
        Ok(_) => eprintln!("scrub load: the store is in use; its checkpoint completes later (nothing is lost)"),
        Err(e) => eprintln!("scrub load: checkpoint not done ({e}); the WAL stays valid and is copied later"),
    }
    println!("{}", serde_json::to_string_pretty(&counts)?);
    eprintln!("scrub load: done in {:.2} s", t0.elapsed().as_secs_f64());
    Ok(super::EXIT_OK)
}

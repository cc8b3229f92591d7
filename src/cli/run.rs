//! `scrub run`: batch scrubbing (see [`crate::batch`]).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::batch::{run, RunOptions};
use crate::model::Checks;

#[derive(Debug, Args)]
#[command(after_help = "\
Formats are chosen by extension: .csv or .parquet for contacts, history, exclusions and outputs;
.json for rules and configuration; .act / .cct load files for exclusions / convenient contact times;
.cet for contact attempts. A rules folder is read in file-name order.

Output columns: every input column unchanged, then restricted, restrictionType, restrictedRuleId,
restrictedRuleName, restrictionStartTime, restrictionEndTime, messageType, availableQuota.
Invalid rows go to --rejects with `inputRow` (1 = the first data row) and `reason` columns;
allowed + restricted + rejected = input rows.
Without --out/--allowed/--restricted, results are written as CSV to standard output.

Example:
  scrub run --contacts datasets/sample/contacts.csv --rules datasets/sample/rules \\
            --history datasets/sample/history.csv --config datasets/sample/config.json \\
            --as-of 2026-11-02T15:00:00Z --out /tmp/scrubbed.csv --rejects /tmp/rejects.csv")]
pub struct RunArgs {
    /// Contact list to scrub (.csv or .parquet)
    #[arg(long, value_name = "PATH")]
    pub contacts: PathBuf,
    /// Rules: a JSON/CSV/Parquet/act/cct file or a folder of them (repeatable, loaded in order)
    #[arg(long, value_name = "PATH", required = true)]
    pub rules: Vec<PathBuf>,
    /// Contact-attempt history (.csv, .parquet, .cet, or a folder; repeatable)
    #[arg(long, value_name = "PATH")]
    pub history: Vec<PathBuf>,
    /// Configuration JSON: {"attemptTrackers": {...}, "messageTrackers": {...}, ...}
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The instant every record is evaluated at (RFC 3339) [default: now]
    #[arg(long, value_name = "INSTANT", value_parser = super::parse_as_of)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Zone for records without a timeZone
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = super::parse_zone)]
    pub default_time_zone: chrono_tz::Tz,
    /// Checks to run, comma-separated: exclusions, convenientContactTimes, quotaControls,
    /// attemptTrackers, messageTrackers, or all
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = super::parse_checks)]
    pub checks: Checks,
    /// Every valid row with its result (.csv or .parquet)
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Allowed rows only
    #[arg(long, value_name = "PATH")]
    pub allowed: Option<PathBuf>,
    /// Restricted rows only
    #[arg(long, value_name = "PATH")]
    pub restricted: Option<PathBuf>,
    /// Invalid rows, with a `reason` column
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Run summary as JSON (counts, rules loaded, phases, records/s)
    #[arg(long, value_name = "PATH")]
    pub summary: Option<PathBuf>,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Skip (and report) rules that break the spec instead of stopping
    #[arg(long)]
    pub skip_bad_rules: bool,
    /// Exit with code 3 when any row was rejected
    #[arg(long)]
    pub fail_on_rejects: bool,
    /// Rows per processing chunk
    #[arg(long, value_name = "N", default_value_t = 65_536, hide = true)]
    pub chunk_rows: usize,
    /// Keep registry-style exclusions (permanent, unscoped, id-less Voice numbers) in the
    /// general index instead of the compact phone set; answers are identical, memory is not
    #[arg(long)]
    pub no_compact_index: bool,
    /// Never show the progress bar
    #[arg(long)]
    pub quiet: bool,
}

pub fn execute(a: RunArgs) -> anyhow::Result<i32> {
    if let Some(n) = a.threads {
        rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global().context("starting the thread pool")?;
    }
    let opts = RunOptions {
        contacts: a.contacts,
        rules: a.rules,
        history: a.history,
        config: a.config,
        as_of: a.as_of.unwrap_or_else(chrono::Utc::now),
        default_zone: a.default_time_zone,
        checks: a.checks,
        out: a.out,
        allowed: a.allowed,
        restricted: a.restricted,
        rejects: a.rejects.clone(),
        summary: a.summary,
        skip_bad_rules: a.skip_bad_rules,
        no_compact: a.no_compact_index,
        progress: !a.quiet && std::io::stderr().is_terminal(),
        chunk_rows: a.chunk_rows.max(1),
    };
    let s = run(&opts).context("scrub run failed")?;
    if !a.quiet {
        eprintln!(
            "scrub: {} rows: {} allowed, {} restricted, {} rejected ({:.2} s, {:.0} records/s)",
            s.input_rows, s.allowed, s.restricted, s.rejected, s.phases.total_s, s.records_per_second
        );
    }
    if s.rejected > 0 && a.rejects.is_none() {
        let (what, reasons) = match s.rejected {
            1 => ("1 row was".to_string(), "its reason"),
            n => (format!("{n} rows were"), "the first reasons"),
        };
        eprintln!("scrub: warning: {what} rejected and --rejects was not given; {reasons}:");
        for r in s.reject_samples.iter().take(5) {
            eprintln!("  {r}");
        }
    }
    Ok(if a.fail_on_rejects && s.rejected > 0 { super::EXIT_REJECTS } else { super::EXIT_OK })
}

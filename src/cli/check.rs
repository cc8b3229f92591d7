//! `scrub check`: one record, the same evaluator as `scrub run`.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::Args;

use crate::batch::{build_engine, EngineSources, Phases};
use crate::engine::evaluate;
use crate::model::dto::ComplianceStatusesInsertRequestV4;
use crate::model::Record;

#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  scrub check --rules datasets/sample/rules --history datasets/sample/history.csv \\
    --as-of 2026-11-02T15:00:00Z \\
    --record '{\"contactChannel\":\"Voice\",\"contactAddress\":\"2125550101\",\"accountNumber\":\"AC-1001\"}'")]
pub struct CheckArgs {
    /// Rules (repeatable), as for `scrub run`
    #[arg(long, value_name = "PATH", required = true)]
    pub rules: Vec<PathBuf>,
    /// Contact-attempt history (repeatable)
    #[arg(long, value_name = "PATH")]
    pub history: Vec<PathBuf>,
    /// Configuration JSON
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Evaluation instant (RFC 3339) [default: now]
    #[arg(long, value_name = "INSTANT", value_parser = super::parse_as_of)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Zone for a record without timeZone
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = super::parse_zone)]
    pub default_time_zone: chrono_tz::Tz,
    /// The record: ComplianceStatusesInsertRequestV4 JSON, `@FILE`, or `-` for standard input
    #[arg(long, value_name = "JSON")]
    pub record: String,
    /// Skip (and report) rules that break the spec
    #[arg(long)]
    pub skip_bad_rules: bool,
}

pub fn execute(a: CheckArgs) -> anyhow::Result<i32> {
    let text = if a.record == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the record from standard input")?
    } else if let Some(p) = a.record.strip_prefix('@') {
        std::fs::read_to_string(p).with_context(|| format!("reading the record from {p}"))?
    } else {
        a.record.clone()
    };
    let v: serde_json::Value = serde_json::from_str(&text).context("--record is not valid JSON")?;
    let req: ComplianceStatusesInsertRequestV4 =
        crate::io::rules::dto_from_value(v).map_err(|e| anyhow!("invalid record: {e}"))?;
    let rec = Record::from_request(&req, a.default_time_zone).map_err(|e| anyhow!("invalid record: {e}"))?;
    let mut phases = Phases::default();
    let now = a.as_of.unwrap_or_else(chrono::Utc::now);
    let (engine, report, _) = build_engine(
        EngineSources {
            rules: &a.rules,
            history: &a.history,
            config: a.config.as_ref(),
            skip_bad_rules: a.skip_bad_rules,
            no_compact: false,
        },
        now,
        &mut phases,
        None,
    )?;
    for s in &report.skipped {
        eprintln!("scrub: skipped bad rule: {s}");
    }
    let d = evaluate(&engine, &rec, now);
    let resp = d.to_response(None);
    println!("{}", serde_json::to_string_pretty(&resp)?);
    Ok(super::EXIT_OK)
}

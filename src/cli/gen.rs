//! `scrub gen`: seeded benchmark / demo data (see [`crate::gen`]).

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::gen::{generate, GenOptions};

#[derive(Debug, Args)]
#[command(after_help = "\
Writes DIR/contacts.parquet, DIR/exclusions.parquet, DIR/history.parquet (or .csv with --format csv),
DIR/rules/*.json, DIR/config.json and DIR/asof.txt. The same seed gives the same files.

Example (the benchmark data of ../shared/bench):
  scrub gen --out /tmp/big --contacts 10000000 --dnc 250000000 --history 50000000")]
pub struct GenArgs {
    /// Output folder (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Contacts to generate
    #[arg(long, default_value_t = 100_000)]
    pub contacts: u64,
    /// Registry numbers (permanent unscoped Voice exclusions)
    #[arg(long, default_value_t = 1_000_000)]
    pub dnc: u64,
    /// History attempts (over the 45 days before as-of)
    #[arg(long, default_value_t = 500_000)]
    pub history: u64,
    /// Accounts [default: contacts / 3]
    #[arg(long)]
    pub accounts: Option<u64>,
    /// parquet or csv
    #[arg(long, default_value = "parquet", value_parser = ["parquet", "csv"])]
    pub format: String,
    /// The as-of instant the data is generated around
    #[arg(long, default_value = "2026-11-02T15:00:00Z", value_parser = super::parse_as_of)]
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// Never show the progress bar
    #[arg(long)]
    pub quiet: bool,
}

pub fn execute(a: GenArgs) -> anyhow::Result<i32> {
    let t = std::time::Instant::now();
    let r = generate(&GenOptions {
        out: a.out.clone(),
        seed: a.seed,
        contacts: a.contacts,
        dnc: a.dnc,
        history: a.history,
        accounts: a.accounts,
        csv: a.format == "csv",
        as_of: a.as_of,
        progress: !a.quiet && std::io::stderr().is_terminal(),
    })
    .with_context(|| format!("generating into {}", a.out.display()))?;
    eprintln!(
        "scrub: generated {} contacts, {} registry numbers + {} other exclusions, {} history attempts, {} CCTs in {:.1} s",
        r.contacts,
        r.registry_numbers,
        r.other_exclusions,
        r.history,
        r.ccts,
        t.elapsed().as_secs_f64()
    );
    Ok(super::EXIT_OK)
}

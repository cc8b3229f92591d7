//! Command-line interface: clap derive arguments, one file per subcommand.
//! Library errors are typed; here they become `anyhow` errors with context,
//! and `main` maps them to the documented exit codes.

pub mod check;
pub mod gen;
pub mod index;
pub mod load;
pub mod purge;
pub mod run;
pub mod serve;

use clap::{Parser, Subcommand};

/// Exit codes (documented in `--help` and the README).
pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILURE: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_REJECTS: i32 = 3;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  the run failed: unreadable or invalid input, a rule that breaks the spec, or an
     output that cannot be written (no output file is left under its final name)
  2  usage error (bad flags or flag values)
  3  `run --fail-on-rejects` and at least one contact row was rejected";

#[derive(Debug, Parser)]
#[command(
    name = "scrub",
    version,
    about = "Scrub contact lists against ComplianceHub rules (exclusions, convenient contact times, quotas, attempt and message trackers) and contact history",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scrub a contact list (CSV or Parquet) and write the results
    Run(run::RunArgs),
    /// Evaluate one record (a v4 ComplianceStatusesInsertRequestV4 JSON) and print the v4 response
    Check(check::CheckArgs),
    /// Generate seeded, realistic contacts, registry, history, rules and configuration
    Gen(gen::GenArgs),
    /// Build or inspect compact do-not-call indexes
    Index(index::IndexArgs),
    /// Serve the ComplianceHub v4 REST API on an embedded store
    Serve(serve::ServeArgs),
    /// Import rules, history and configuration files into a server store
    Load(load::LoadArgs),
    /// Remove long-expired exclusions and convenient contact times from a server store (retention)
    Purge(purge::PurgeArgs),
}

/// Runs the parsed command; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(a) => run::execute(a),
        Command::Check(a) => check::execute(a),
        Command::Gen(a) => gen::execute(a),
        Command::Index(a) => index::execute(a),
        Command::Serve(a) => serve::execute(a),
        Command::Load(a) => load::execute(a),
        Command::Purge(a) => purge::execute(a),
    }
}

/// Parses `--as-of` (RFC 3339; no offset = UTC).
pub fn parse_as_of(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    crate::time::parse_instant(s).ok_or_else(|| format!("'{s}' is not an RFC 3339 instant (e.g. 2026-11-01T13:00:00Z)"))
}

/// Parses an IANA zone name.
pub fn parse_zone(s: &str) -> Result<chrono_tz::Tz, String> {
    crate::time::parse_zone(s).ok_or_else(|| format!("unknown IANA time zone '{s}' (e.g. America/New_York)"))
}

/// Parses `--checks` (comma-separated; `all` = every check).
pub fn parse_checks(s: &str) -> Result<crate::model::Checks, String> {
    crate::model::Checks::parse_list(s.split(','))
}

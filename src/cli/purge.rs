//! `scrub purge`: the retention purge (SPEC §13) run by hand on a store.

use std::path::PathBuf;

use clap::Args;
use serde_json::{json, Map, Value};

use crate::server::retention::{self, Retention};
use crate::server::{org, store};
use crate::time::format_instant;

#[derive(Debug, Args)]
#[command(after_help = "\
Removes, per org and under that org's configurations:
  - exclusions whose endTime is more than exclusions.retainDays days before the instant;
  - exclusions without endTime created that long ago, unless exclusions.retainNoEndTime is true;
  - convenient contact times whose endTime is more than their retainDays days before it.
A running `scrub serve` does the same daily at its --purge-at time and holds the store:
stop it, purge, start it again. Prints the counts per org as JSON.

Example:
  scrub purge --data-dir data --dry-run
")]
pub struct PurgeArgs {
    /// Folder of the embedded store
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Only this org (repeatable) [default: every org in the store]
    #[arg(long, value_name = "ORG")]
    pub org: Vec<String>,
    /// Purge as of INSTANT (RFC 3339) [default: now]
    #[arg(long, value_name = "INSTANT", value_parser = super::parse_as_of)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Report what would be removed, remove nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn execute(a: PurgeArgs) -> anyhow::Result<i32> {
    let db = a.data_dir.join(store::DB_FILE);
    if !db.is_file() {
        anyhow::bail!("no store in {} (expected {})", a.data_dir.display(), db.display());
    }
    let _lock = store::lock_data_dir(&a.data_dir, "scrub purge")?;
    let st = store::Store::open(&a.data_dir, false)?;
    let now = a.now.unwrap_or_else(chrono::Utc::now);
    let orgs = if a.org.is_empty() { st.orgs()? } else { a.org.clone() };
    let mut per_org = Map::new();
    for name in &orgs {
        let r = Retention::of(&org::stored_config(&st, name)?);
        let plan = retention::plan(&st, name, r, now)?;
        if !a.dry_run {
            retention::delete(&st, name, &plan)?;
        }
        per_org.insert(name.clone(), serde_json::to_value(plan.counts())?);
    }
    st.checkpoint();
    let out = json!({"now": format_instant(now), "dryRun": a.dry_run, "orgs": Value::Object(per_org)});
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(super::EXIT_OK)
}

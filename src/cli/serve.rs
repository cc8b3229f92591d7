//! `scrub serve`: the REST facade on the embedded store.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::server::{load_tokens, AppState, Clock};

#[derive(Debug, Args)]
#[command(after_help = "\
Tokens file (TOML), one entry per token:
  [[tokens]]
  org = \"acme\"
  token = \"a-long-random-secret\"
  user = \"dialer-1\"        # optional: shown as lastModifiedBy

Example:
  scrub serve --data-dir data --tokens tokens.toml --listen 127.0.0.1:8080
  curl -s -H 'Authorization: Bearer a-long-random-secret' -H 'Content-Type: application/json' \\
    -d '{\"contactChannel\":\"Voice\",\"contactAddress\":\"2125550101\"}' \\
    http://127.0.0.1:8080/via/v4/organizations/acme/compliance/complianceStatuses

Durability: SQLite in WAL mode; each mutation is committed before its response, so a killed process
loses nothing acknowledged. `--sync full` also fsyncs each commit (survives power loss, slower).")]
pub struct ServeArgs {
    /// Folder of the embedded store (created if missing)
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Address to listen on (port 0 = any free port; the bound address is printed)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// TOML file of bearer tokens, each for one org
    #[arg(long, value_name = "FILE")]
    pub tokens: PathBuf,
    /// Freeze the clock at INSTANT for every evaluation, timestamp and expiry (RFC 3339)
    #[arg(long, value_name = "INSTANT", value_parser = super::parse_as_of)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Zone for records without timeZone
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = super::parse_zone)]
    pub default_time_zone: chrono_tz::Tz,
    /// Worker threads [default: one per core]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Commit durability: `normal` (survives a killed process) or `full` (fsync, survives power loss)
    #[arg(long, value_name = "MODE", default_value = "normal", value_parser = ["normal", "full"])]
    pub sync: String,
    /// Do not write a JSON log line per request to standard error
    #[arg(long)]
    pub no_request_log: bool,
}

pub fn execute(a: ServeArgs) -> anyhow::Result<i32> {
    let tokens = load_tokens(&a.tokens)?;
    let clock = a.now.map_or(Clock::Wall, Clock::Fixed);
    let (mut state, rep) = AppState::open(&a.data_dir, tokens, clock, a.default_time_zone, a.sync == "full")?;
    state.log_requests = !a.no_request_log;
    eprintln!(
        "scrub serve: store {} loaded in {} ms: {} orgs, {} rules ({} exclusions indexed), {} attempts",
        a.data_dir.display(),
        rep.millis,
        rep.orgs,
        rep.rules,
        rep.exclusions,
        rep.attempts
    );
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = a.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.build().context("starting the async runtime")?;
    rt.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&a.listen).await.with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        println!("scrub serve: listening on http://{addr}");
        let state = Arc::new(state);
        crate::server::serve(state.clone(), listener).await.context("server error")?;
        state.store.checkpoint();
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(super::EXIT_OK)
}

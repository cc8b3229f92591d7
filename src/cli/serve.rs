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
loses nothing acknowledged. `--sync full` also fsyncs each commit (survives power loss, slower).

Retention: every day at --purge-at (UTC) the server removes exclusions and convenient contact times
whose time is past by more than their configuration's retainDays (SPEC §13; `scrub purge --help`).
With --now the clock stands still, so no day passes and no purge runs.")]
pub struct ServeArgs {
    /// Folder of the embedded store (created if missing)
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Address to listen on (port 0 = any free port; the bound address is printed)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
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
    /// Time of day (UTC, HH:MM) of the daily retention purge, or `off`
    #[arg(long, value_name = "HH:MM", default_value = "03:00", value_parser = parse_purge_at)]
    pub purge_at: PurgeAt,
}

/// When the daily purge runs.
#[derive(Debug, Clone, Copy)]
pub enum PurgeAt {
    Off,
    Daily(chrono::NaiveTime),
}

fn parse_purge_at(s: &str) -> Result<PurgeAt, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(PurgeAt::Off);
    }
    chrono::NaiveTime::parse_from_str(s, "%H:%M")
        .map(PurgeAt::Daily)
        .map_err(|_| format!("'{s}' is not a time of day HH:MM (e.g. 03:00) or `off`"))
}

/// HOST:PORT (an IPv6 host in brackets), checked as a usage error before the
/// store is opened; whether the host resolves and the port is free is only
/// known when it is bound.
fn parse_listen(s: &str) -> Result<String, String> {
    let bad = |why: &str| format!("'{s}': {why} (expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:0)");
    let (host, port) = s.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    if host.is_empty() {
        return Err(bad("no host"));
    }
    port.parse::<u16>().map_err(|_| bad("the port must be a number from 0 to 65535"))?;
    Ok(s.to_string())
}

/// The next instant after `now` at time of day `at` (UTC).
fn next_run(now: chrono::DateTime<chrono::Utc>, at: chrono::NaiveTime) -> chrono::DateTime<chrono::Utc> {
    let today = now.date_naive().and_time(at).and_utc();
    if today > now {
        today
    } else {
        today + chrono::Duration::days(1)
    }
}

/// The daily retention purge, logged as one JSON line per org that lost items.
async fn daily_purge(state: Arc<AppState>, at: chrono::NaiveTime) {
    loop {
        let now = chrono::Utc::now();
        tokio::time::sleep((next_run(now, at) - now).to_std().unwrap_or_default()).await;
        let st = state.clone();
        let t0 = std::time::Instant::now();
        match tokio::task::spawn_blocking(move || st.purge_all(st.clock.now())).await {
            Ok(Ok(orgs)) => {
                for (org, c) in orgs {
                    if c.exclusions + c.convenient_contact_times > 0 {
                        eprintln!(
                            "{}",
                            serde_json::json!({"event": "retentionPurge", "org": org, "exclusions": c.exclusions,
                                "convenientContactTimes": c.convenient_contact_times,
                                "ms": t0.elapsed().as_millis() as u64})
                        );
                    }
                }
            }
            Ok(Err(e)) => eprintln!("scrub serve: retention purge failed (retried tomorrow): {e:#}"),
            Err(e) => eprintln!("scrub serve: retention purge failed (retried tomorrow): {e}"),
        }
    }
}

pub fn execute(a: ServeArgs) -> anyhow::Result<i32> {
    let tokens = load_tokens(&a.tokens)?;
    std::fs::create_dir_all(&a.data_dir).with_context(|| format!("creating {}", a.data_dir.display()))?;
    let _lock = crate::server::store::lock_data_dir(&a.data_dir, "scrub serve")?;
    let clock = a.now.map_or(Clock::Wall, Clock::Fixed);
    // A store of millions of rows takes seconds to load: say so before, not only after.
    eprintln!("scrub serve: loading store {} (the port opens when it is loaded)", a.data_dir.display());
    // For the server's whole life: see the module for the measurements.
    let _small = crate::pages::SmallPages::new();
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
        match (a.purge_at, clock) {
            (PurgeAt::Daily(at), Clock::Wall) => {
                tokio::spawn(daily_purge(state.clone(), at));
            }
            (PurgeAt::Daily(_), Clock::Fixed(_)) => {
                eprintln!("scrub serve: daily retention purge off: the clock is frozen by --now (see `scrub purge`)")
            }
            (PurgeAt::Off, _) => {}
        }
        crate::server::serve(state.clone(), listener).await.context("server error")?;
        state.store.checkpoint();
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(super::EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_time_of_day_and_next_run() {
        let t = |s: &str| crate::time::parse_instant(s).unwrap();
        let at = chrono::NaiveTime::from_hms_opt(3, 0, 0).unwrap();
        assert_eq!(next_run(t("2026-11-02T02:59:59Z"), at), t("2026-11-02T03:00:00Z"));
        assert_eq!(next_run(t("2026-11-02T03:00:00Z"), at), t("2026-11-03T03:00:00Z"));
        assert_eq!(next_run(t("2026-12-31T23:00:00Z"), at), t("2027-01-01T03:00:00Z"));
        assert!(matches!(parse_purge_at("OFF"), Ok(PurgeAt::Off)));
        assert!(
            matches!(parse_purge_at("23:30"), Ok(PurgeAt::Daily(x)) if x == chrono::NaiveTime::from_hms_opt(23, 30, 0).unwrap())
        );
        assert!(parse_purge_at("25:00").unwrap_err().contains("HH:MM"));
    }

    #[test]
    fn listen_addresses_are_host_and_port() {
        for ok in ["127.0.0.1:8080", "0.0.0.0:0", "localhost:65535", "[::1]:8080"] {
            assert_eq!(parse_listen(ok).as_deref(), Ok(ok));
        }
        assert!(parse_listen("127.0.0.1:99999").unwrap_err().contains("the port must be a number from 0 to 65535"));
        assert!(parse_listen("127.0.0.1").unwrap_err().contains(": no port"));
        assert!(parse_listen(":8080").unwrap_err().contains(": no host"));
        assert!(parse_listen("host:http").unwrap_err().contains("the port must be a number"));
    }
}

//! `scrub serve`: the ComplianceHub v4 API (SPEC §8, §13) over the same
//! evaluator as `scrub run`.
//!
//! - [`store`]: SQLite, the durable source of truth.
//! - [`org`]: one tenant's items, engine and mutations.
//! - [`routes`]: axum handlers; [`app`] builds the router (tests drive it with
//!   `oneshot`, without a socket).
//!
//! Concurrency: each org has a read-write lock. Checks take it shared (and
//! the org's small active-record mutex), so they run in parallel; mutations
//! take it exclusively for the store commit plus an incremental index update.

pub mod active;
pub mod active_log;
pub mod collection;
pub mod error;
pub mod export;
pub mod kinds;
pub mod load;
pub mod org;
pub mod retention;
pub mod routes;
pub mod store;

use std::path::Path;
use std::sync::{Arc, RwLock};

use ahash::AHashMap;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

pub use routes::app;

/// The server's clock: the wall clock, or frozen by `--now`.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    Wall,
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::Wall => Utc::now(),
            Clock::Fixed(t) => t,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenEntry {
    pub org: String,
    pub token: String,
    /// Shown as lastModifiedBy (default: `token:<org>`).
    #[serde(default)]
    pub user: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

/// Reads the TOML tokens file (`[[tokens]] org = "…" token = "…"`).
pub fn load_tokens(path: &Path) -> anyhow::Result<Vec<TokenEntry>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let f: TokensFile = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for (i, t) in f.tokens.iter().enumerate() {
        if t.org.trim().is_empty() || t.token.trim().is_empty() {
            anyhow::bail!("{}: tokens[{i}]: org and token must not be empty", path.display());
        }
    }
    if f.tokens.is_empty() {
        anyhow::bail!("{}: no [[tokens]] entries", path.display());
    }
    let mut seen = ahash::AHashSet::new();
    for (i, t) in f.tokens.iter().enumerate() {
        if !seen.insert(t.token.as_str()) {
            anyhow::bail!(
                "{}: tokens[{i}]: the same token is listed twice (a token belongs to one org)",
                path.display()
            );
        }
    }
    Ok(f.tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_is_checked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.toml");
        std::fs::write(&p, "[[tokens]]\norg = \"a\"\ntoken = \"x\"\n[[tokens]]\norg = \"b\"\ntoken = \"y\"\n").unwrap();
        let t = load_tokens(&p).unwrap();
        assert_eq!((t[0].org.as_str(), t[1].token.as_str()), ("a", "y"));
        std::fs::write(&p, "[[tokens]]\norg = \"a\"\ntoken = \"x\"\n[[tokens]]\norg = \"b\"\ntoken = \"x\"\n").unwrap();
        assert!(load_tokens(&p).unwrap_err().to_string().contains("twice"));
        std::fs::write(&p, "[[tokens]]\norg = \"\"\ntoken = \"x\"\n").unwrap();
        assert!(load_tokens(&p).unwrap_err().to_string().contains("tokens[0]"));
        std::fs::write(&p, "tokens = 3").unwrap();
        assert!(load_tokens(&p).is_err());
    }
}

/// Shared state of the server.
#[derive(Debug)]
pub struct AppState {
    pub store: store::Store,
    pub group_writer: store::GroupWriter,
    tokens: AHashMap<String, TokenEntry>,
    orgs: RwLock<AHashMap<String, Arc<org::Org>>>,
    pub clock: Clock,
    pub default_zone: Tz,
    pub log_requests: bool,
}

/// Start-up report.
#[derive(Debug, Default)]
pub struct StartReport {
    pub orgs: usize,
    pub exclusions: usize,
    pub attempts: usize,
    pub rules: usize,
    pub millis: u128,
}

impl AppState {
    /// Opens the store and rebuilds every org's engine from it.
    pub fn open(
        data_dir: &Path,
        tokens: Vec<TokenEntry>,
        clock: Clock,
        default_zone: Tz,
        full_sync: bool,
    ) -> anyhow::Result<(AppState, StartReport)> {
        let t0 = std::time::Instant::now();
        let store = store::Store::open(data_dir, full_sync)?;
        let mut orgs = AHashMap::new();
        let mut rep = StartReport::default();
        let now_ms = clock.now().timestamp_millis();
        // The active records replay from their log while the rules and history load.
        let (log, inners) = std::thread::scope(|sc| {
            let log = sc.spawn(|| {
                let t = std::time::Instant::now();
                let r = active_log::ActiveLog::open(data_dir, full_sync, now_ms);
                if std::env::var_os("SCRUB_TIMINGS").is_some() {
                    let n: usize = r.as_ref().map_or(0, |(_, sets)| sets.values().map(|s| s.len()).sum());
                    eprintln!("scrub serve: active-record log: {n} live records in {:?}", t.elapsed());
                }
                r
            });
            let inners = store.orgs().map_err(anyhow::Error::from).and_then(|names| {
                names
                    .into_iter()
                    .map(|n| org::OrgInner::load(&store, &n).map(|i| (n, i)))
                    .collect::<anyhow::Result<Vec<_>>>()
            });
            (log.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), inners)
        });
        let ((mut log, mut active), mut inners) = (log?, inners?);
        // A store from before the log: its table's records move to the log.
        let legacy = store.legacy_active(now_ms)?;
        if !legacy.is_empty() {
            let n = legacy.len();
            log.import(legacy, &mut active)?;
            store.clear_legacy_active()?;
            eprintln!("scrub serve: moved {n} active records from the store's table to its log");
        }
        // An org that only ever made checks has nothing but active records.
        for name in active.keys() {
            if !inners.iter().any(|(n, _)| n == name) {
                inners.push((name.clone(), org::OrgInner::load(&store, name)?));
            }
        }
        for (name, inner) in inners {
            rep.orgs += 1;
            rep.exclusions += inner.engine.exclusions.len();
            rep.attempts += inner.engine.history.len();
            rep.rules +=
                kinds::Kind::ALL.iter().map(|k| inner.items(*k).len()).sum::<usize>() + inner.engine.exclusions.len();
            let set = active.remove(&name).unwrap_or_default();
            orgs.insert(name.clone(), Arc::new(org::Org::new(&name, inner, set)));
        }
        rep.millis = t0.elapsed().as_millis();
        let tokens = tokens.into_iter().map(|t| (t.token.clone(), t)).collect();
        let group_writer = store.group_writer(clock, log);
        let st =
            AppState { store, group_writer, tokens, orgs: RwLock::new(orgs), clock, default_zone, log_requests: true };
        Ok((st, rep))
    }

    /// Runs the retention purge (SPEC §13) of every org at `now`: each org's
    /// mutations wait while its plan is made and committed; checks keep
    /// running until the in-memory view changes, under the write lock.
    /// Blocking: call it off the async workers (`spawn_blocking`).
    pub fn purge_all(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<(String, retention::PurgeCounts)>> {
        let orgs: Vec<Arc<org::Org>> = {
            let map = self.orgs.read().unwrap_or_else(|p| p.into_inner());
            let mut v: Vec<_> = map.values().cloned().collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            v
        };
        let mut out = Vec::new();
        for o in orgs {
            let _serial = o.mutations.blocking_write();
            let r = retention::Retention::of(&o.inner.read().unwrap_or_else(|p| p.into_inner()).engine.config);
            let plan = retention::plan(&self.store, &o.name, r, now)?;
            if !plan.is_empty() {
                retention::delete(&self.store, &o.name, &plan)?;
                o.inner.write().unwrap_or_else(|p| p.into_inner()).forget_purged(&plan);
            }
            out.push((o.name.clone(), plan.counts()));
        }
        Ok(out)
    }

    pub fn token(&self, token: &str) -> Option<&TokenEntry> {
        self.tokens.get(token)
    }

    /// The org's state, created empty on first use.
    pub fn org(&self, name: &str) -> Arc<org::Org> {
        if let Some(o) = self.orgs.read().unwrap_or_else(|p| p.into_inner()).get(name) {
            return o.clone();
        }
        let mut w = self.orgs.write().unwrap_or_else(|p| p.into_inner());
        w.entry(name.to_string())
            .or_insert_with(|| Arc::new(org::Org::new(name, org::OrgInner::empty(), Default::default())))
            .clone()
    }
}

/// Serves until SIGINT / SIGTERM, then finishes in-flight requests.
pub async fn serve(state: Arc<AppState>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("scrub serve: shutting down (finishing in-flight requests)");
}

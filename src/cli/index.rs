//! `scrub index`: build and inspect compact DNC indexes (see [`crate::engine::dnc`]).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rayon::prelude::*;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::engine::dnc::{phone_key_of_digits, PhoneSet};
use crate::engine::keyset::KeyCollector;
use crate::engine::RuleSet;
use crate::io::rules::{load_rules, RuleLoadOptions, RuleLoadReport};

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    pub command: IndexCommand,
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Build a compact index of do-not-call numbers, for `scrub run --rules FILE.idx`
    #[command(after_help = "\
Inputs are merged: permanent, unscoped, id-less Voice exclusions from --exclusions files,
plus the numbers of --registry and --add files, minus the numbers of --delete files.
Registry / change-list files hold one number per line, either 10 digits (2125550101) or
`areacode,number` (212,5550101), as the FTC hands them to telemarketers; lines without
digits (headers) are skipped. Other exclusions in --exclusions files are counted and left out:
keep passing those files to `scrub run`.

Example:
  scrub index build --out dnc.idx --registry national.txt --add adds-2026-11.txt --delete deletes-2026-11.txt")]
    Build {
        /// The index file to write (replaced atomically)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Exclusion files (.parquet, .csv, .json, .act) or folders
        #[arg(long, value_name = "PATH")]
        exclusions: Vec<PathBuf>,
        /// Registry files: one number per line
        #[arg(long, value_name = "FILE")]
        registry: Vec<PathBuf>,
        /// Change lists of numbers to add
        #[arg(long, value_name = "FILE")]
        add: Vec<PathBuf>,
        /// Change lists of numbers to delete
        #[arg(long, value_name = "FILE")]
        delete: Vec<PathBuf>,
        /// Never show progress
        #[arg(long)]
        quiet: bool,
    },
    /// Print what an index holds
    Info {
        /// The index file
        file: PathBuf,
    },
}

/// Reads a registry / change-list file in parallel (memory-mapped, split at
/// line ends) into `into`; returns the numbers read.
pub fn read_number_list(path: &Path, into: &KeyCollector) -> anyhow::Result<usize> {
    let f = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if f.metadata()?.len() == 0 {
        return Ok(0);
    }
    // SAFETY: read-only map of a file we do not modify.
    let m = unsafe { memmap2::Mmap::map(&f) }.with_context(|| format!("{}: cannot map", path.display()))?;
    let data: &[u8] = &m;
    let parts = (rayon::current_num_threads() * 8).max(1);
    let mut cuts = vec![0usize];
    for k in 1..parts {
        let mut at = data.len() * k / parts;
        while at < data.len() && data[at] != b'\n' {
            at += 1;
        }
        cuts.push((at + 1).min(data.len()));
    }
    cuts.push(data.len());
    let windows: Vec<&[usize]> = cuts.windows(2).collect();
    Ok(windows
        .par_iter()
        .map(|w| {
            let mut st = into.stager();
            for line in data[w[0]..w[1]].split(|&b| b == b'\n') {
                if let Some(k) = number_of_line(line) {
                    st.push(k);
                }
            }
            st.added
        })
        .sum())
}

/// A registry line's number: `2125550101`, or `212,5550101` (area code, number).
fn number_of_line(line: &[u8]) -> Option<u64> {
    let digits = |f: &[u8]| f.iter().filter(|b| b.is_ascii_digit()).count();
    let mut fields = line.split(|&b| b == b',');
    let first = fields.next()?;
    match fields.next() {
        Some(second) if digits(first) == 3 && digits(second) == 7 => {
            phone_key_of_digits(first.iter().chain(second).copied())
        }
        _ => phone_key_of_digits(first.iter().copied()),
    }
}

pub fn execute(a: IndexArgs) -> anyhow::Result<i32> {
    match a.command {
        IndexCommand::Build { out, exclusions, registry, add, delete, quiet } => {
            let t = std::time::Instant::now();
            if exclusions.is_empty() && registry.is_empty() && add.is_empty() {
                bail!("nothing to index: give --exclusions, --registry or --add");
            }
            // A national registry takes seconds to read and index: say which step runs.
            let spinner = (!quiet && std::io::stderr().is_terminal()).then(crate::progress::stage_spinner);
            let say = |what: String| crate::progress::say(spinner.as_ref(), what);
            let mut rules = RuleSet::default();
            let mut report = RuleLoadReport::default();
            for p in &exclusions {
                say(format!("reading {}", p.display()));
                load_rules(p, &mut rules, RuleLoadOptions::default(), &mut report)?;
            }
            let left_out = rules.general_exclusion_count()
                + rules.ccts.len()
                + rules.quotas.len()
                + rules.attempt_trackers.len()
                + rules.message_trackers.len();
            let (numbers, moved) = rules.take_registry_keys();
            for p in registry.iter().chain(&add) {
                say(format!("reading {}", p.display()));
                read_number_list(p, &numbers)?;
            }
            let del = KeyCollector::default();
            for p in &delete {
                say(format!("reading {}", p.display()));
                read_number_list(p, &del)?;
            }
            say("building the index".to_string());
            let del = del.into_set(|_| true);
            let deleted = AtomicUsize::new(0);
            let set = numbers.into_set(|v| {
                if moved.contains(&v) {
                    return false;
                }
                let gone = del.contains(v);
                if gone {
                    deleted.fetch_add(1, Ordering::Relaxed);
                }
                !gone
            });
            let deleted = deleted.into_inner();
            say(format!("writing {}", out.display()));
            set.save(&out).with_context(|| format!("{}: cannot write", out.display()))?;
            if let Some(s) = spinner {
                s.finish_and_clear();
            }
            eprintln!(
                "scrub: indexed {} numbers ({} deleted entries, {} other rules left out) into {} ({:.2} bytes/number, {:.1} s)",
                set.len(),
                deleted,
                left_out,
                out.display(),
                std::fs::metadata(&out)?.len() as f64 / set.len().max(1) as f64,
                t.elapsed().as_secs_f64()
            );
            Ok(super::EXIT_OK)
        }
        IndexCommand::Info { file } => {
            let t = std::time::Instant::now();
            let set = PhoneSet::open(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let size = std::fs::metadata(&file)?.len();
            println!(
                "{}: {} numbers, {} bytes ({:.3} bytes/number), opened in {:.3} ms",
                file.display(),
                set.len(),
                size,
                size as f64 / set.len().max(1) as f64,
                t.elapsed().as_secs_f64() * 1000.0
            );
            Ok(super::EXIT_OK)
        }
    }
}

//! `scrub index`: build and inspect compact DNC indexes (see [`crate::engine::dnc`]).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rayon::prelude::*;

use crate::engine::dnc::{phone_key_of_text, PhoneSet};
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
    },
    /// Print what an index holds
    Info {
        /// The index file
        file: PathBuf,
    },
}

/// Reads a registry / change-list file in parallel (memory-mapped, split at line ends).
pub fn read_number_list(path: &Path) -> anyhow::Result<Vec<u64>> {
    let f = std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if f.metadata()?.len() == 0 {
        return Ok(Vec::new());
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
    let out: Vec<Vec<u64>> = cuts
        .windows(2)
        .collect::<Vec<_>>()
        .par_iter()
        .map(|w| {
            let mut v = Vec::new();
            for line in data[w[0]..w[1]].split(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(line);
                let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"')).collect();
                let digits = |s: &str| s.bytes().filter(u8::is_ascii_digit).count();
                let key = if fields.len() >= 2 && digits(fields[0]) == 3 && digits(fields[1]) == 7 {
                    phone_key_of_text(&format!("{}{}", fields[0], fields[1]))
                } else {
                    phone_key_of_text(fields[0])
                };
                if let Some(k) = key {
                    v.push(k);
                }
            }
            v
        })
        .collect();
    Ok(out.concat())
}

pub fn execute(a: IndexArgs) -> anyhow::Result<i32> {
    match a.command {
        IndexCommand::Build { out, exclusions, registry, add, delete } => {
            let t = std::time::Instant::now();
            if exclusions.is_empty() && registry.is_empty() && add.is_empty() {
                bail!("nothing to index: give --exclusions, --registry or --add");
            }
            let mut rules = RuleSet::default();
            let mut report = RuleLoadReport::default();
            for p in &exclusions {
                load_rules(p, &mut rules, RuleLoadOptions::default(), &mut report)?;
            }
            let left_out = rules.general_exclusion_count()
                + rules.ccts.len()
                + rules.quotas.len()
                + rules.attempt_trackers.len()
                + rules.message_trackers.len();
            let mut keys = rules.take_registry_keys();
            for p in registry.iter().chain(&add) {
                keys.push(read_number_list(p)?);
            }
            let mut deleted = 0usize;
            if !delete.is_empty() {
                let mut del = Vec::new();
                for p in &delete {
                    del.extend(read_number_list(p)?);
                }
                let del = PhoneSet::from_unsorted(del);
                let before: usize = keys.iter().map(Vec::len).sum();
                keys.par_iter_mut().for_each(|c| c.retain(|v| !del.contains(*v)));
                deleted = before - keys.iter().map(Vec::len).sum::<usize>();
            }
            let set = PhoneSet::from_chunks(keys);
            set.save(&out).with_context(|| format!("{}: cannot write", out.display()))?;
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

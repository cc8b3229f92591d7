//! Criterion benches on seeded generated data (`cargo bench`), named with their parameters.
//!
//! - `evaluate/…`: one record through every check against generated rules and history.
//! - `phone_set/build 1M numbers`, `phone_set/collect and build …`, `phone_set/probe …`: the compact
//!   DNC index, from a key list and through the loaders' collector.
//! - `history_keys/…`: account keys interned one at a time (the server's path) and looked up
//!   (three per record in a scrub), half of the lookups missing.
//! - `history/load and build 2M attempts`: a generated Parquet history read, validated, keys
//!   interned and postings sorted by time (the load and index phases of a scrub with history).
//! - `evaluate_threads/N threads`: 200k prepared records evaluated in a rayon pool of N threads
//!   (the evaluation phase alone, for the scaling target: no reading or writing in the pool).
//! - `batch/run 100k contacts …`: the whole `scrub run` pipeline on `scrub gen` data.
//! - `csv_read/…`: 500k generated CSV contact rows (a quoted geocode list in each) read into
//!   chunks by the block splitter, and by the `csv` crate's record reader for comparison.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rayon::prelude::*;
use scrub::batch::{build_engine, run, EngineSources, Phases, RunOptions};
use scrub::engine::dnc::PhoneSet;
use scrub::engine::history::KeyInterner;
use scrub::engine::keyset::KeyCollector;
use scrub::engine::{evaluate, Engine};
use scrub::gen::{generate, GenOptions};
use scrub::model::{Checks, RawRecord, Record};

fn data(contacts: u64, dnc: u64, history: u64) -> (tempfile::TempDir, PathBuf, chrono::DateTime<chrono::Utc>) {
    data_as(contacts, dnc, history, false)
}

fn data_as(
    contacts: u64,
    dnc: u64,
    history: u64,
    csv: bool,
) -> (tempfile::TempDir, PathBuf, chrono::DateTime<chrono::Utc>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let as_of = scrub::time::parse_instant("2026-11-02T15:00:00Z").unwrap();
    generate(&GenOptions {
        out: out.clone(),
        seed: 42,
        contacts,
        dnc,
        history,
        accounts: None,
        csv,
        as_of,
        progress: false,
    })
    .unwrap();
    (dir, out, as_of)
}

/// A New York record (geocodes US, NY) with every check on.
fn record(channel: &str, address: &str, account: &str, customer: &str) -> Record {
    let raw = RawRecord {
        contact_channel: Some(channel),
        contact_address: Some(address),
        account_number: Some(account),
        customer: Some(customer),
        time_zone: Some("America/New_York"),
        geocodes: Some("US,NY"),
        ..Default::default()
    };
    let mut rec = Record::default();
    rec.fill(&raw, chrono_tz::Tz::UTC).unwrap();
    rec.checks = Checks::ALL;
    rec
}

/// The engine of 30k generated contacts' rules, a 1M-number registry and 500k attempts.
fn loaded_engine() -> (Engine, chrono::DateTime<chrono::Utc>) {
    let (_dir, d, now) = data(30_000, 1_000_000, 500_000);
    let mut phases = Phases::default();
    let sources = EngineSources {
        rules: &[d.join("exclusions.parquet"), d.join("rules")],
        history: &[d.join("history.parquet")],
        config: Some(&d.join("config.json")),
        skip_bad_rules: false,
        no_compact: false,
    };
    let (engine, _, _) = build_engine(sources, now, &mut phases, None).unwrap();
    (engine, now)
}

fn bench_evaluate(c: &mut Criterion) {
    let (engine, now) = loaded_engine();
    let mut g = c.benchmark_group("evaluate");
    let cases = [
        ("voice, hot account (trackers count)", "Voice", "2125550101", "AC000000000", "CU000000000"),
        ("sms, cold account", "SMS", "3125550199", "AC000029999", "CU000014999"),
        ("email, unknown keys", "Email", "nobody@example.com", "AC999999999", "CU999999999"),
    ];
    for (name, ch, addr, acct, cust) in cases {
        let rec = record(ch, addr, acct, cust);
        g.bench_function(BenchmarkId::new(name, "1M dnc, 500k history, all rule kinds"), |b| {
            b.iter(|| black_box(evaluate(&engine, black_box(&rec), now)))
        });
    }
    g.finish();
}

fn bench_evaluate_threads(c: &mut Criterion) {
    let (engine, now) = loaded_engine();
    // accounts and customers of the generated history (AC/CU + 9 digits), so trackers count
    const N: usize = 200_000;
    let channels = ["Voice", "SMS", "Email"];
    let recs: Vec<Record> = (0..N)
        .map(|i| {
            let (addr, acct, cust) = (
                format!("212{:07}", i * 7919 % 10_000_000),
                format!("AC{:09}", i % 30_000),
                format!("CU{:09}", i % 15_000),
            );
            let email = format!("user{i}@example.com");
            let ch = channels[i % 3];
            record(ch, if ch == "Email" { &email } else { &addr }, &acct, &cust)
        })
        .collect();
    let restricted = recs.iter().filter(|r| evaluate(&engine, r, now).restricted()).count();
    assert!(restricted > 0 && restricted < N, "a mix of answers, not one: {restricted} of {N} restricted");
    eprintln!("evaluate_threads: {restricted} of {N} records restricted");
    let mut g = c.benchmark_group("evaluate_threads");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        g.bench_function(BenchmarkId::new("200k records, 1M dnc, 500k history", format!("{threads} threads")), |b| {
            b.iter(|| {
                pool.install(|| {
                    recs.par_chunks(1024)
                        .map(|c| c.iter().filter(|r| evaluate(&engine, r, now).restricted()).count())
                        .sum::<usize>()
                })
            })
        });
    }
    g.finish();
}

fn bench_phone_set(c: &mut Criterion) {
    let keys: Vec<u64> =
        (0..1_000_000u64).map(|i| 2_000_000_000 + (i.wrapping_mul(2_654_435_761) % 7_000_000_000)).collect();
    let mut g = c.benchmark_group("phone_set");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.sample_size(10);
    g.bench_function("build 1M numbers", |b| b.iter(|| black_box(PhoneSet::from_unsorted(keys.clone()))));
    g.bench_function("collect and build 1M numbers (loader path)", |b| {
        b.iter(|| {
            let c = KeyCollector::default();
            keys.par_chunks(65_536).for_each(|ch| {
                let mut st = c.stager();
                ch.iter().for_each(|&v| st.push(v));
            });
            black_box(c.into_sets(|_| true))
        })
    });
    let set = PhoneSet::from_unsorted(keys.clone());
    let probes: Vec<u64> = keys.iter().step_by(7).map(|k| k + (k & 1)).collect();
    g.throughput(Throughput::Elements(probes.len() as u64));
    g.bench_function("probe 143k numbers in 1M", |b| b.iter(|| probes.iter().filter(|p| set.contains(**p)).count()));
    g.finish();
}

fn bench_history_keys(c: &mut Criterion) {
    let keys: Vec<String> = (0..1_000_000u64).map(|i| format!("AC{:09}", i * 7)).collect();
    let probes: Vec<String> = (0..1_000_000u64).map(|i| format!("AC{:09}", (i * 7919) % 14_000_000)).collect();
    let mut g = c.benchmark_group("history_keys");
    g.sample_size(10);
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("intern 1M account keys", |b| {
        b.iter(|| {
            let mut k = KeyInterner::default();
            for s in &keys {
                black_box(k.intern(s));
            }
            k
        })
    });
    let mut k = KeyInterner::default();
    for s in &keys {
        k.intern(s);
    }
    g.bench_function("look up 1M keys in 1M", |b| b.iter(|| probes.iter().filter(|s| k.get(s).is_some()).count()));
    g.finish();
}

fn bench_history(c: &mut Criterion) {
    let (_dir, d, _) = data(1_000, 0, 2_000_000);
    let path = d.join("history.parquet");
    let mut g = c.benchmark_group("history");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2_000_000));
    g.bench_function("load and build 2M attempts", |b| {
        b.iter(|| {
            let mut builder = scrub::engine::history::HistoryBuilder::default();
            let mut report = scrub::io::history::HistoryLoadReport::default();
            scrub::io::history::load_history(&path, &mut builder, &mut report).unwrap();
            let h = builder.build();
            assert_eq!(h.rows_read, 2_000_000);
            black_box(h.time.len())
        })
    });
    g.finish();
}

fn bench_batch(c: &mut Criterion) {
    let (dir, d, now) = data(100_000, 1_000_000, 300_000);
    let mut g = c.benchmark_group("batch");
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    for (name, checks) in [("exclusions only", "exclusions"), ("all checks", "all")] {
        let opts = RunOptions {
            contacts: d.join("contacts.parquet"),
            rules: vec![d.join("exclusions.parquet"), d.join("rules")],
            history: vec![d.join("history.parquet")],
            config: Some(d.join("config.json")),
            as_of: now,
            default_zone: chrono_tz::Tz::UTC,
            checks: Checks::parse_list(checks.split(',')).unwrap(),
            out: Some(dir.path().join("out.parquet")),
            allowed: None,
            restricted: None,
            rejects: None,
            summary: None,
            skip_bad_rules: false,
            no_compact: false,
            progress: false,
            chunk_rows: 65_536,
        };
        g.bench_function(BenchmarkId::new("run 100k contacts, 1M dnc, 300k history", name), |b| {
            b.iter(|| black_box(run(&opts).unwrap().input_rows))
        });
    }
    g.finish();
}

fn bench_csv_read(c: &mut Criterion) {
    let (_dir, d, _) = data_as(500_000, 1_000, 1_000, true);
    let path = d.join("contacts.csv");
    let bytes = std::fs::metadata(&path).unwrap().len();
    let mut g = c.benchmark_group("csv_read");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(BenchmarkId::new("500k contact rows", "block splitter"), |b| {
        b.iter(|| {
            let mut r = scrub::io::contacts::ContactReader::open(&path, 65_536).unwrap();
            let mut n = 0;
            while let Some(chunk) = r.next_chunk(65_536).unwrap() {
                n += chunk.len();
            }
            black_box(n)
        })
    });
    g.bench_function(BenchmarkId::new("500k contact rows", "csv crate records"), |b| {
        b.iter(|| {
            let mut r = csv::Reader::from_path(&path).unwrap();
            let mut rec = csv::ByteRecord::new();
            let mut n = 0;
            while r.read_byte_record(&mut rec).unwrap() {
                n += rec.len();
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_evaluate,
    bench_evaluate_threads,
    bench_phone_set,
    bench_history_keys,
    bench_history,
    bench_batch,
    bench_csv_read
);
criterion_main!(benches);

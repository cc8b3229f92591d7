//! The compact DNC index is an optimisation, not a semantics: the same data
//! scrubbed with registry numbers in the compact set, in the general index,
//! and from a prebuilt `.idx` file gives byte-identical output.

use std::path::Path;
use std::process::Command;

fn scrub(args: &[&str]) -> std::process::Output {
    let o = Command::new(env!("CARGO_BIN_EXE_scrub")).args(args).output().unwrap();
    assert!(o.status.success(), "scrub {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn compact_general_and_prebuilt_indexes_give_identical_output() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    scrub(&[
        "gen",
        "--out",
        s(&data),
        "--contacts",
        "4000",
        "--dnc",
        "20000",
        "--history",
        "20000",
        "--seed",
        "7",
        "--format",
        "csv",
    ]);
    let asof = std::fs::read_to_string(data.join("asof.txt")).unwrap().trim().to_string();
    // the registry numbers as an FTC-style file (area code, number) for the prebuilt index
    let mut rdr = csv::Reader::from_path(data.join("exclusions.csv")).unwrap();
    let mut registry = String::from("areaCode,phoneNumber\n");
    let mut others = String::from("id,exclusionType,exclusionValue,contactListName,reason,startTime,endTime\n");
    for r in rdr.records() {
        let r = r.unwrap();
        if r[0].is_empty() {
            registry.push_str(&format!("{},{}\n", &r[2][..3], &r[2][3..]));
        } else {
            others.push_str(
                &r.iter()
                    .map(|f| if f.contains(',') { format!("\"{f}\"") } else { f.to_string() })
                    .collect::<Vec<_>>()
                    .join(","),
            );
            others.push('\n');
        }
    }
    std::fs::write(d.path().join("registry.txt"), registry).unwrap();
    std::fs::write(d.path().join("others.csv"), others).unwrap();
    let idx = d.path().join("dnc.idx");
    scrub(&["index", "build", "--out", s(&idx), "--registry", s(&d.path().join("registry.txt"))]);
    let info = scrub(&["index", "info", s(&idx)]);
    assert!(
        String::from_utf8_lossy(&info.stdout).contains("20000 numbers"),
        "{}",
        String::from_utf8_lossy(&info.stdout)
    );

    let run = |rules: &[&Path], extra: &[&str], out: &str| {
        let out = d.path().join(out);
        let contacts = data.join("contacts.csv");
        let mut args = vec!["run", "--contacts", s(&contacts)];
        for r in rules {
            args.extend(["--rules", s(r)]);
        }
        let rules_dir = data.join("rules");
        let (hist, cfg) = (data.join("history.csv"), data.join("config.json"));
        args.extend([
            "--rules",
            s(&rules_dir),
            "--history",
            s(&hist),
            "--config",
            s(&cfg),
            "--as-of",
            &asof,
            "--out",
            s(&out),
            "--quiet",
        ]);
        args.extend(extra);
        scrub(&args);
        std::fs::read(out).unwrap()
    };
    let compact = run(&[&data.join("exclusions.csv")], &[], "a.csv");
    let general = run(&[&data.join("exclusions.csv")], &["--no-compact-index"], "b.csv");
    let prebuilt = run(&[&idx, &d.path().join("others.csv")], &[], "c.csv");
    assert_eq!(compact, general, "compact set vs general index");
    assert_eq!(compact, prebuilt, "compact set vs prebuilt .idx");
    let text = String::from_utf8(compact).unwrap();
    let hits = text.lines().filter(|l| l.contains(",true,ExclusionVoice,,")).count();
    assert!(hits > 50, "registry numbers must be hit: {hits}");
}

#[test]
fn index_build_merges_registry_adds_and_deletes() {
    let d = tempfile::tempdir().unwrap();
    let w = |n: &str, t: &str| {
        let p = d.path().join(n);
        std::fs::write(&p, t).unwrap();
        p
    };
    let reg = w("reg.txt", "2125550101\n212,5550102\n\n\"212\",\"5550103\"\n");
    let add = w("add.txt", "3125550104\n");
    let del = w("del.txt", "212,5550102\n");
    let idx = d.path().join("x.idx");
    scrub(&["index", "build", "--out", s(&idx), "--registry", s(&reg), "--add", s(&add), "--delete", s(&del)]);
    let contacts = w("c.csv", "id,contactChannel,contactAddress\n1,Voice,2125550101\n2,Voice,2125550102\n3,Voice,(212) 555-0103\n4,Voice,3125550104\n5,SMS,3125550104\n");
    let o =
        scrub(&["run", "--contacts", s(&contacts), "--rules", s(&idx), "--as-of", "2026-11-02T15:00:00Z", "--quiet"]);
    let text = String::from_utf8(o.stdout).unwrap();
    let restricted: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').nth(3).unwrap()).collect();
    assert_eq!(restricted, vec!["true", "false", "true", "true", "false"]);
    assert!(text.contains("1,Voice,2125550101,true,ExclusionVoice,,,,,,"));
}

#[test]
fn parquet_registry_rows_give_the_same_answers_compact_or_not() {
    // the bulk path: registry rows of a Parquet exclusions file go straight to the
    // key collector (or, with --no-compact-index, to the general index)
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    scrub(&["gen", "--out", s(&data), "--contacts", "3000", "--dnc", "30000", "--history", "5000", "--seed", "11"]);
    let asof = std::fs::read_to_string(data.join("asof.txt")).unwrap().trim().to_string();
    let ex = data.join("exclusions.parquet");
    let idx = d.path().join("ex.idx");
    scrub(&["index", "build", "--out", s(&idx), "--exclusions", s(&ex)]);
    let run = |rules: &[&Path], extra: &[&str], out: &str| {
        let out = d.path().join(out);
        let mut args = vec!["run", "--contacts"];
        let contacts = data.join("contacts.parquet");
        args.push(s(&contacts));
        for r in rules {
            args.extend(["--rules", s(r)]);
        }
        args.extend(["--checks", "exclusions", "--as-of", &asof, "--out", s(&out), "--quiet"]);
        args.extend(extra);
        scrub(&args);
        std::fs::read(out).unwrap()
    };
    let compact = run(&[&ex], &[], "a.csv");
    let general = run(&[&ex], &["--no-compact-index"], "b.csv");
    assert_eq!(compact, general, "compact set vs general index");
    let text = String::from_utf8(compact).unwrap();
    let hits = text.lines().filter(|l| l.contains(",true,ExclusionVoice,,")).count();
    assert!(hits > 20, "registry numbers must be hit: {hits}");
    let info = String::from_utf8(scrub(&["index", "info", s(&idx)]).stdout).unwrap();
    assert!(info.contains("30000 numbers"), "{info}");
}

/// Exclusion rows as (id, type, value, list, endTime), written as Parquet in
/// row groups of four and as CSV with the same rows.
/// (id, type, value, list, endTime)
type Row = (&'static str, &'static str, &'static str, &'static str, &'static str);

const ROW_GROUPS: [[Row; 4]; 6] = [
    // registry-only by its statistics: read by the value column alone
    [
        ("", "Voice", "2125550101", "", ""),
        ("", "Voice", "2125550102", "", ""),
        ("", "Voice", "2125550103", "", ""),
        ("", "Voice", "2125550104", "", ""),
    ],
    // row 7's value is no phone number: the group takes the general path and the bad row is named
    [
        ("", "Voice", "2125550105", "", ""),
        ("", "Voice", "2125550106", "", ""),
        ("", "Voice", "unknown", "", ""),
        ("", "Voice", "2125550108", "", ""),
    ],
    // one list-scoped row among registry rows
    [
        ("", "Voice", "2125550109", "", ""),
        ("", "Voice", "2125550110", "L1", ""),
        ("", "Voice", "2125550111", "", ""),
        ("", "Voice", "2125550112", "", ""),
    ],
    // SMS numbers are not registry rows
    [
        ("", "SMS", "2125550113", "", ""),
        ("", "SMS", "2125550114", "", ""),
        ("", "SMS", "2125550115", "", ""),
        ("", "SMS", "2125550116", "", ""),
    ],
    // another spelling of Voice, still registry-only
    [
        ("", " voice ", "2125550117", "", ""),
        ("", " voice ", "2125550118", "", ""),
        ("", " voice ", "2125550119", "", ""),
        ("", " voice ", "(212) 555-0120", "", ""),
    ],
    // a timed row and an identified row among registry rows
    [
        ("", "Voice", "2125550121", "", ""),
        ("", "Voice", "2125550122", "", "2026-11-01T00:00:00Z"),
        ("ex-1", "Voice", "2125550123", "", ""),
        ("", "Voice", "2125550124", "", ""),
    ],
];

#[test]
fn parquet_row_groups_read_by_value_alone_answer_like_csv() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use std::sync::Arc;
    let d = tempfile::tempdir().unwrap();
    let rows: Vec<_> = ROW_GROUPS.iter().flatten().collect();
    let col =
        |f: fn(&(&'static str, &'static str, &'static str, &'static str, &'static str)) -> &'static str| -> ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(|r| Some(f(r)).filter(|v| !v.is_empty())).collect::<Vec<_>>()))
        };
    let batch = RecordBatch::try_from_iter([
        ("id", col(|r| r.0)),
        ("exclusionType", col(|r| r.1)),
        ("exclusionValue", col(|r| r.2)),
        ("contactListName", col(|r| r.3)),
        ("reason", Arc::new(StringArray::from(vec![Some("registry"); rows.len()])) as ArrayRef),
        ("endTime", col(|r| r.4)),
    ])
    .unwrap();
    // Twice: with dictionary pages (the Arrow writer's default), and PLAIN as
    // DuckDB writes a registry, which is read straight from its pages.
    let write = |name: &str, dictionary: bool| {
        let path = d.path().join(name);
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(4))
            .set_dictionary_enabled(dictionary)
            .build();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props))
                .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        path
    };
    let pq = write("ex.parquet", true);
    let plain = write("plain.parquet", false);
    let mut csv = String::from("id,exclusionType,exclusionValue,contactListName,reason,endTime\n");
    for r in &rows {
        csv += &format!("{},{},\"{}\",{},registry,{}\n", r.0, r.1, r.2, r.3, r.4);
    }
    let csv_path = d.path().join("ex.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let mut contacts = String::from("recordId,contactChannel,contactAddress,contactListName\n");
    for n in 101..=125 {
        contacts += &format!("V{n},Voice,2125550{n},\nS{n},SMS,2125550{n},\nL{n},Voice,2125550{n},L1\n");
    }
    let contacts_path = d.path().join("contacts.csv");
    std::fs::write(&contacts_path, contacts).unwrap();
    let run = |rules: &Path, out: &str, extra: &[&str]| {
        let out = d.path().join(out);
        let summary = d.path().join(format!("{out:?}.json").replace(['/', '"'], "_"));
        let mut args = vec!["run", "--contacts", s(&contacts_path), "--rules", s(rules)];
        args.extend(["--as-of", "2026-11-02T15:00:00Z", "--out", s(&out), "--skip-bad-rules", "--quiet"]);
        args.extend(["--summary", s(&summary)]);
        args.extend(extra);
        scrub(&args);
        (std::fs::read_to_string(out).unwrap(), std::fs::read_to_string(summary).unwrap())
    };
    let (from_parquet, summary) = run(&pq, "pq.csv", &[]);
    let (from_csv, _) = run(&csv_path, "csv.csv", &[]);
    let (general, _) = run(&pq, "general.csv", &["--no-compact-index"]);
    let (from_plain, plain_summary) = run(&plain, "plain.csv", &[]);
    assert_eq!(from_parquet, from_csv, "Parquet and CSV exclusions must give the same answers");
    assert_eq!(from_plain, from_csv, "PLAIN pages and CSV exclusions must give the same answers");
    assert!(plain_summary.contains("row 7") && plain_summary.contains("unknown"), "{plain_summary}");
    assert_eq!(from_parquet, general, "compact set vs general index");
    assert!(summary.contains("row 7") && summary.contains("unknown"), "the bad row is named: {summary}");
    assert!(summary.contains("\"exclusions\": 23") || summary.contains("\"exclusions\":23"), "{summary}");
    let restricted = |id: &str| {
        let line = from_parquet.lines().find(|l| l.starts_with(&format!("{id},"))).unwrap();
        line.split(',').nth(4).unwrap().to_string()
    };
    // registry numbers restrict Voice on every list; 107 was the bad row; 110 only on L1;
    // 113-116 are SMS only; 122 ended before the as-of instant
    for n in 101..=124 {
        let voice = !matches!(n, 107 | 110 | 113..=116 | 122);
        assert_eq!(restricted(&format!("V{n}")), voice.to_string(), "V{n}");
        assert_eq!(restricted(&format!("L{n}")), (voice || n == 110).to_string(), "L{n}");
        assert_eq!(restricted(&format!("S{n}")), (113..=116).contains(&n).to_string(), "S{n}");
    }
    assert_eq!(restricted("V125"), "false");
}

#[test]
fn parquet_and_csv_inputs_of_the_same_seed_give_the_same_answers() {
    // Every input from Parquet (typed attempt times, whose timeZone column is
    // never decoded; list geocodes; registry row groups read by value alone)
    // against the same generated data as CSV text.
    let d = tempfile::tempdir().unwrap();
    let (pq, csv) = (d.path().join("pq"), d.path().join("csv"));
    for (dir, format) in [(&pq, "parquet"), (&csv, "csv")] {
        scrub(&[
            "gen",
            "--out",
            s(dir),
            "--contacts",
            "3000",
            "--dnc",
            "20000",
            "--history",
            "30000",
            "--seed",
            "5",
            "--format",
            format,
        ]);
    }
    let asof = std::fs::read_to_string(pq.join("asof.txt")).unwrap().trim().to_string();
    let run = |dir: &Path, ext: &str| {
        let out = d.path().join(format!("out-{ext}.csv"));
        let (contacts, ex) = (dir.join(format!("contacts.{ext}")), dir.join(format!("exclusions.{ext}")));
        let (hist, rules, cfg) = (dir.join(format!("history.{ext}")), dir.join("rules"), dir.join("config.json"));
        scrub(&[
            "run",
            "--contacts",
            s(&contacts),
            "--rules",
            s(&ex),
            "--rules",
            s(&rules),
            "--history",
            s(&hist),
            "--config",
            s(&cfg),
            "--as-of",
            &asof,
            "--out",
            s(&out),
            "--quiet",
        ]);
        let text = std::fs::read_to_string(out).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let h = rdr.headers().unwrap().clone();
        let first = h.iter().position(|c| c == "restricted").unwrap();
        let rows: Vec<Vec<String>> = rdr
            .records()
            .map(|r| {
                let r = r.unwrap();
                std::iter::once(r[0].to_string()).chain(r.iter().skip(first).map(str::to_string)).collect()
            })
            .collect();
        rows
    };
    let (from_parquet, from_csv) = (run(&pq, "parquet"), run(&csv, "csv"));
    assert_eq!(from_parquet.len(), 3000);
    assert_eq!(from_parquet, from_csv, "record id and result columns");
    let count = |t: &str| from_parquet.iter().filter(|r| r[2].starts_with(t)).count();
    for t in ["ExclusionVoice", "AttemptTracker", "ConvenientContactTime"] {
        assert!(count(t) > 0, "{t} must be hit");
    }
}

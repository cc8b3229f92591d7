//! The `scrub` binary as a user runs it: formats, passthrough, rejects,
//! counts, atomic outputs, bad rule files, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use serde_json::Value;

const ASOF: &str = "2026-11-02T15:00:00Z";

fn scrub(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scrub")).args(args).output().expect("run scrub")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(str::to_string).collect()).collect();
    (h, rows)
}

fn col(h: &[String], name: &str) -> usize {
    h.iter().position(|x| x == name).unwrap_or_else(|| panic!("no column {name} in {h:?}"))
}

const RULES: &str = r#"[
  {"id": "ex-1", "exclusionType": "Voice", "exclusionValue": "2125550101"},
  {"id": "ex-2", "exclusionType": "Account", "exclusionValue": "AC-9", "endTime": "2026-11-05T00:00:00Z"},
  {"id": "q-1", "product": "Gold", "totalQuota": 10, "productSold": 4},
  {"id": "t-1", "attemptTrackerName": "Two a day", "typeOfTracker": "Account", "numberOfAttempts": 2,
   "thresholdType": "Day", "threshold": 1, "dispositions": []}
]"#;

const CONTACTS: &str = "\
id,zip,contactChannel,contactAddress,accountNumber,product,timeZone,note
1,00123,Voice,(212) 555-0101,AC-1,,America/New_York,\"quoted, with comma\"
2,00456,Voice,2125550102,AC-9,,America/New_York,
3,07001,SMS,2125550103,AC-2,gold,America/Chicago,x
4,99999,Fax,2125550104,AC-3,,America/New_York,bad channel
5,10001,Voice,2125550105,AC-4,,Mars/Base,bad zone
6,10002,Voice,2125550106,AC-5,,America/New_York,extra,field
";

const HISTORY: &str = "\
contactChannel,contactAddress,accountNumber,timeOfContact,disposition
Voice,2125550106,AC-5,2026-11-02T13:00:00Z,NoAnswer
SMS,2125550103,AC-2,2026-11-02T14:00:00Z,Delivered
Voice,2125550103,AC-2,2026-11-02T14:30:00Z,NoAnswer
";

struct Fixture {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    rules: PathBuf,
    contacts: PathBuf,
    history: PathBuf,
}

fn fixture() -> Fixture {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_path_buf();
    Fixture {
        rules: write(&dir, "rules.json", RULES),
        contacts: write(&dir, "contacts.csv", CONTACTS),
        history: write(&dir, "history.csv", HISTORY),
        dir,
        _dir: d,
    }
}

#[test]
fn csv_round_trip_passes_columns_through_and_counts_add_up() {
    let f = fixture();
    let out = f.dir.join("out/scrubbed.csv");
    let rejects = f.dir.join("rejects.csv");
    let summary = f.dir.join("summary.json");
    let o = scrub(&[
        "run",
        "--contacts",
        s(&f.contacts),
        "--rules",
        s(&f.rules),
        "--history",
        s(&f.history),
        "--as-of",
        ASOF,
        "--out",
        s(&out),
        "--rejects",
        s(&rejects),
        "--summary",
        s(&summary),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (h, rows) = read_csv(&out);
    assert_eq!(
        &h[..8],
        &["id", "zip", "contactChannel", "contactAddress", "accountNumber", "product", "timeZone", "note"]
    );
    assert_eq!(
        &h[8..],
        &[
            "restricted",
            "restrictionType",
            "restrictedRuleId",
            "restrictedRuleName",
            "restrictionStartTime",
            "restrictionEndTime",
            "messageType",
            "availableQuota"
        ]
    );
    assert_eq!(rows.len(), 3, "valid rows only, in input order");
    assert_eq!(rows[0][..2], ["1".to_string(), "00123".to_string()]);
    assert_eq!(rows[0][3], "(212) 555-0101", "address passed through unchanged");
    assert_eq!(rows[0][7], "quoted, with comma");
    assert_eq!(rows[0][8..12], ["true", "ExclusionVoice", "ex-1", ""].map(String::from));
    assert_eq!(rows[1][8..11], ["true", "ExclusionAccount", "ex-2"].map(String::from));
    assert_eq!(rows[1][col(&h, "restrictionEndTime")], "2026-11-05T00:00:00.000Z");
    // row 3: SMS + Voice attempts today on AC-2 (v3 tracker counts across channels) → restricted
    assert_eq!(rows[2][col(&h, "restrictionType")], "AttemptTrackerAccountSMS");
    assert_eq!(rows[2][col(&h, "restrictedRuleName")], "Two a day");
    assert_eq!(rows[2][col(&h, "restrictionEndTime")], "2026-11-03T06:00:00.000Z");
    assert_eq!(rows[2][col(&h, "availableQuota")], "6");

    let (rh, rrows) = read_csv(&rejects);
    assert_eq!(rh[rh.len() - 2..], ["inputRow", "reason"]);
    assert_eq!(rrows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), vec!["4", "5", "6"]);
    let at = col(&rh, "inputRow");
    assert_eq!(rrows.iter().map(|r| r[at].as_str()).collect::<Vec<_>>(), vec!["4", "5", "6"]);
    assert!(rrows[0].last().unwrap().contains("contactChannel"));
    assert!(rrows[1].last().unwrap().contains("timeZone"));
    assert!(rrows[2].last().unwrap().contains("9 fields but the header has 8"), "{:?}", rrows[2]);
    assert!(rrows[2].last().unwrap().contains("field"));

    let v: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(v["inputRows"], 6);
    assert_eq!(
        (v["allowed"].as_u64().unwrap(), v["restricted"].as_u64().unwrap(), v["rejected"].as_u64().unwrap()),
        (0, 3, 3)
    );
    assert_eq!(v["restrictionTypes"]["ExclusionVoice"], 1);
    assert_eq!(v["rulesLoaded"]["exclusions"], 2);
    assert_eq!(v["rulesLoaded"]["attemptTrackers"], 1);
    assert_eq!(v["historyRows"], 3);
    assert_eq!(v["asOf"], "2026-11-02T15:00:00.000Z");
    assert!(v["phases"]["evaluateS"].is_number() && v["recordsPerSecond"].is_number());
    // no temporary files left behind
    let leftovers: Vec<_> = walk(&f.dir).into_iter().filter(|p| p.to_string_lossy().contains("scrub-tmp")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut v = vec![];
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

#[test]
fn allowed_and_restricted_files_split_the_valid_rows() {
    let f = fixture();
    let (a, r) = (f.dir.join("allowed.csv"), f.dir.join("restricted.csv"));
    let o = scrub(&[
        "run",
        "--contacts",
        s(&f.contacts),
        "--rules",
        s(&f.rules),
        "--as-of",
        ASOF,
        "--allowed",
        s(&a),
        "--restricted",
        s(&r),
        "--checks",
        "exclusions",
    ]);
    assert!(o.status.success());
    let (_, allowed) = read_csv(&a);
    let (_, restricted) = read_csv(&r);
    assert_eq!(allowed.iter().map(|x| x[0].as_str()).collect::<Vec<_>>(), vec!["3"]);
    assert_eq!(restricted.iter().map(|x| x[0].as_str()).collect::<Vec<_>>(), vec!["1", "2"]);
    // the rejects were not asked for: a warning says how many
    assert!(String::from_utf8_lossy(&o.stderr).contains("3 rows were rejected"));
    // one rejected row is one row, with its reason
    let one = write(&f.dir, "one-bad.csv", "id,contactChannel,contactAddress\n1,Voice,2125550199\n2,Fax,2125550198\n");
    let o = scrub(&["run", "--contacts", s(&one), "--rules", s(&f.rules), "--as-of", ASOF, "--allowed", s(&a)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("warning: 1 row was rejected and --rejects was not given; its reason:"), "{err}");
    assert!(err.contains("row 2: contactChannel: unknown channel 'Fax'"), "{err}");
}

#[test]
fn results_go_to_stdout_without_output_flags() {
    let f = fixture();
    let o = scrub(&[
        "run",
        "--contacts",
        s(&f.contacts),
        "--rules",
        s(&f.rules),
        "--as-of",
        ASOF,
        "--checks",
        "exclusions",
        "--quiet",
    ]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("id,zip,contactChannel"));
    assert!(text.contains(
        "1,00123,Voice,(212) 555-0101,AC-1,,America/New_York,\"quoted, with comma\",true,ExclusionVoice,ex-1,"
    ));
    assert_eq!(text.lines().count(), 4);
}

#[test]
fn fail_on_rejects_exit_code() {
    let f = fixture();
    let o = scrub(&[
        "run",
        "--contacts",
        s(&f.contacts),
        "--rules",
        s(&f.rules),
        "--as-of",
        ASOF,
        "--out",
        s(&f.dir.join("o.csv")),
        "--fail-on-rejects",
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(3));
}

fn contacts_batch() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("recordId", DataType::Int64, false),
        Field::new("contactChannel", DataType::Utf8, true),
        Field::new("contactAddress", DataType::Utf8, true),
        Field::new("accountNumber", DataType::Utf8, true),
        Field::new("numberType", DataType::Int64, true),
        Field::new("geocodes", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true),
        Field::new("timeZone", DataType::Utf8, true),
    ]));
    let mut gb = arrow_array::builder::ListBuilder::new(arrow_array::builder::StringBuilder::new());
    for g in [vec!["US", "NY"], vec!["US"], vec![]] {
        for x in g {
            gb.values().append_value(x);
        }
        gb.append(true);
    }
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![10, 11, 12])) as ArrayRef,
            Arc::new(StringArray::from(vec![Some("Voice"), Some("Voice"), Some("Pigeon")])),
            Arc::new(StringArray::from(vec!["2125550101", "2125550199", "1"])),
            Arc::new(StringArray::from(vec![Some("AC-1"), Some("AC-7"), None])),
            Arc::new(Int64Array::from(vec![Some(1), Some(2), None])),
            Arc::new(gb.finish()),
            Arc::new(StringArray::from(vec![Some("America/New_York"), None, None])),
        ],
    )
    .unwrap()
}

fn write_parquet(p: &Path, b: &RecordBatch) {
    let f = std::fs::File::create(p).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, b.schema(), None).unwrap();
    w.write(b).unwrap();
    w.close().unwrap();
}

fn read_parquet(p: &Path) -> RecordBatch {
    let f = std::fs::File::open(p).unwrap();
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap().build().unwrap();
    let batches: Vec<_> = r.map(|b| b.unwrap()).collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

#[test]
fn parquet_round_trip_keeps_types_and_adds_typed_results() {
    let f = fixture();
    let input = f.dir.join("contacts.parquet");
    write_parquet(&input, &contacts_batch());
    let geo_rule = write(
        &f.dir,
        "geo.json",
        r#"[{"id":"g","attemptTrackerName":"NY never","typeOfTracker":"Account","numberOfAttempts":0,
        "thresholdType":"Day","threshold":1,"dispositions":[],"geocodes":["ny"],"numberTypes":[1]}]"#,
    );
    let out = f.dir.join("out.parquet");
    let rejects = f.dir.join("rejects.parquet");
    let o = scrub(&[
        "run",
        "--contacts",
        s(&input),
        "--rules",
        s(&geo_rule),
        "--as-of",
        ASOF,
        "--out",
        s(&out),
        "--rejects",
        s(&rejects),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let b = read_parquet(&out);
    assert_eq!(b.num_rows(), 2);
    assert_eq!(b.schema().field(0).data_type(), &DataType::Int64, "passthrough keeps its type");
    assert!(matches!(b.schema().field(5).data_type(), DataType::List(_)));
    let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(ids.values().to_vec(), vec![10, 11]);
    let restricted =
        b.column_by_name("restricted").unwrap().as_any().downcast_ref::<arrow_array::BooleanArray>().unwrap();
    assert_eq!((restricted.value(0), restricted.value(1)), (true, false));
    let rt = b.column_by_name("restrictionType").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(rt.value(0), "AttemptTrackerAccountVoice");
    assert!(rt.is_null(1));
    let mt = b.column_by_name("messageType").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(mt.value(1), "CanPlay");
    let q = b.column_by_name("availableQuota").unwrap();
    assert_eq!(q.data_type(), &DataType::Int64);
    let rej = read_parquet(&rejects);
    assert_eq!(rej.num_rows(), 1);
    let reason = rej.column_by_name("reason").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    assert!(reason.value(0).contains("Pigeon"));
    let row = rej.column_by_name("inputRow").unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(row.values().to_vec(), vec![3], "the Pigeon row is the input's third");
}

/// Rejects name their input row (1 = the first data row) across chunk
/// boundaries, in CSV and Parquet, and the run's messages use the same numbers.
/// CSV as exported by other tools: CRLF and LF lines, fields quoted when
/// they need it and when they do not, doubled quotes, a line break inside
/// quotes, a blank line, a row too long, no newline at the end; read in
/// 2-row chunks. Values come out as read, quoted as CSV output quotes them.
#[test]
fn csv_line_ends_and_quoting_pass_through_exactly() {
    let f = fixture();
    let text = "id,contactChannel,contactAddress,note\r\n\
                r1,Voice,2125550101,plain\n\
                r2,Voice,2125550102,\"a, b\"\r\n\
                \"r3\",Voice,2125550103,\"say \"\"hi\"\"\"\n\
                \r\n\
                r4,Voice,2125550104,\"two\nlines\"\n\
                r5,Voice,2125550105,x,extra\n\
                r6,Voice,2125550101,last";
    let input = write(&f.dir, "exported.csv", text);
    let (out, rejects) = (f.dir.join("out.csv"), f.dir.join("rejects.csv"));
    let o = scrub(&[
        "run",
        "--contacts",
        s(&input),
        "--rules",
        s(&f.rules),
        "--checks",
        "exclusions",
        "--as-of",
        ASOF,
        "--out",
        s(&out),
        "--rejects",
        s(&rejects),
        "--chunk-rows",
        "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = bytes.split_inclusive('\n').collect();
    let allowed = ",false,,,,,,,\n";
    assert_eq!(
        lines,
        [
            "id,contactChannel,contactAddress,note,restricted,restrictionType,restrictedRuleId,restrictedRuleName,\
             restrictionStartTime,restrictionEndTime,messageType,availableQuota\n",
            "r1,Voice,2125550101,plain,true,ExclusionVoice,ex-1,,,,,\n",
            &format!("r2,Voice,2125550102,\"a, b\"{allowed}"),
            &format!("r3,Voice,2125550103,\"say \"\"hi\"\"\"{allowed}"),
            "r4,Voice,2125550104,\"two\n",
            &format!("lines\"{allowed}"),
            "r6,Voice,2125550101,last,true,ExclusionVoice,ex-1,,,,,\n",
        ]
    );
    let (h, r) = read_csv(&rejects);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0][0].as_str(), r[0][col(&h, "inputRow")].as_str()), ("r5", "5"));
    assert!(r[0][col(&h, "reason")].contains("extra"), "{:?}", r[0]);
}

#[test]
fn rejects_carry_their_input_row_across_chunks() {
    let f = fixture();
    // 10 rows; rows 2, 5, 6 and 10 are invalid (unknown channel, bad zone, no address, unknown channel)
    let mut text = String::from("id,contactChannel,contactAddress,timeZone\n");
    for i in 1..=10 {
        let line = match i {
            2 | 10 => format!("r{i},Fax,2125550{i:03},\n"),
            5 => format!("r{i},Voice,2125550{i:03},Mars/Olympus\n"),
            6 => format!("r{i},Voice,,\n"),
            _ => format!("r{i},Voice,2125550{i:03},America/New_York\n"),
        };
        text.push_str(&line);
    }
    let input = write(&f.dir, "rows.csv", &text);
    for ext in ["csv", "parquet"] {
        let rejects = f.dir.join(format!("rejects.{ext}"));
        let o = scrub(&[
            "run",
            "--contacts",
            s(&input),
            "--rules",
            s(&f.rules),
            "--as-of",
            ASOF,
            "--out",
            s(&f.dir.join("out.csv")),
            "--rejects",
            s(&rejects),
            "--chunk-rows",
            "3",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (ids, rows, reasons): (Vec<String>, Vec<i64>, Vec<String>) = if ext == "csv" {
            let (h, r) = read_csv(&rejects);
            let (at, why) = (col(&h, "inputRow"), col(&h, "reason"));
            (
                r.iter().map(|x| x[0].clone()).collect(),
                r.iter().map(|x| x[at].parse().unwrap()).collect(),
                r.iter().map(|x| x[why].clone()).collect(),
            )
        } else {
            let b = read_parquet(&rejects);
            let id = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let row = b.column_by_name("inputRow").unwrap().as_any().downcast_ref::<Int64Array>().unwrap();
            let why = b.column_by_name("reason").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
            (
                (0..b.num_rows()).map(|i| id.value(i).to_string()).collect(),
                row.values().to_vec(),
                (0..b.num_rows()).map(|i| why.value(i).to_string()).collect(),
            )
        };
        assert_eq!(ids, ["r2", "r5", "r6", "r10"], "{ext}");
        assert_eq!(rows, [2, 5, 6, 10], "{ext}");
        assert!(reasons[0].contains("contactChannel") && reasons[1].contains("timeZone"), "{ext}: {reasons:?}");
        assert!(reasons[2].contains("contactAddress"), "{ext}: {reasons:?}");
    }
    // Without --rejects, the warning's samples name the same rows.
    let o = scrub(&["run", "--contacts", s(&input), "--rules", s(&f.rules), "--as-of", ASOF, "--chunk-rows", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("  row 2: contactChannel") && err.contains("  row 10: contactChannel"), "{err}");
}

#[test]
fn csv_to_parquet_and_parquet_to_csv() {
    let f = fixture();
    let out = f.dir.join("from-csv.parquet");
    let o = scrub(&[
        "run",
        "--contacts",
        s(&f.contacts),
        "--rules",
        s(&f.rules),
        "--as-of",
        ASOF,
        "--out",
        s(&out),
        "--checks",
        "exclusions",
        "--quiet",
    ]);
    assert!(o.status.success());
    let b = read_parquet(&out);
    let zip = b.column_by_name("zip").unwrap().as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(zip.value(0), "00123", "CSV values are text");
    let input = f.dir.join("c.parquet");
    write_parquet(&input, &contacts_batch());
    let out = f.dir.join("from-parquet.csv");
    let o =
        scrub(&["run", "--contacts", s(&input), "--rules", s(&f.rules), "--as-of", ASOF, "--out", s(&out), "--quiet"]);
    assert!(o.status.success());
    let (h, rows) = read_csv(&out);
    assert_eq!(
        h[..7],
        ["recordId", "contactChannel", "contactAddress", "accountNumber", "numberType", "geocodes", "timeZone"]
            .map(String::from)
    );
    assert_eq!(rows[0][..6], ["10", "Voice", "2125550101", "AC-1", "1", "US,NY"].map(String::from));
    assert_eq!(rows[0][col(&h, "restrictionType")], "ExclusionVoice");
}

#[test]
fn failed_run_leaves_no_output_and_keeps_the_old_file() {
    let f = fixture();
    let out = f.dir.join("out.csv");
    std::fs::write(&out, "previous results\n").unwrap();
    let bad_history = write(
        &f.dir,
        "bad.csv",
        "contactChannel,contactAddress,timeOfContact\nVoice,1,2026-11-01T00:00:00Z\nVoice,2,yesterday\n",
    );
    let o = scrub(&[
        "run",
        "--contacts",
        s(&f.contacts),
        "--rules",
        s(&f.rules),
        "--history",
        s(&bad_history),
        "--as-of",
        ASOF,
        "--out",
        s(&out),
        "--rejects",
        s(&f.dir.join("rej.csv")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv") && err.contains("line 3") && err.contains("timeOfContact"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous results\n");
    assert!(!f.dir.join("rej.csv").exists());
    assert!(walk(&f.dir).iter().all(|p| !p.to_string_lossy().contains("scrub-tmp")));
}

#[test]
fn bad_rule_stops_the_run_naming_file_item_and_field() {
    let f = fixture();
    let bad = write(
        &f.dir,
        "bad-rules.json",
        r#"{"attemptTrackers": [
        {"id": "ok", "attemptTrackerName": "fine", "typeOfTracker": "Account", "numberOfAttempts": 1, "thresholdType": "Day", "threshold": 1},
        {"id": "bad", "attemptTrackerName": "broken", "typeOfTracker": "Account", "numberOfAttempts": 1, "thresholdType": "Fortnight", "threshold": 1}]}"#,
    );
    let out = f.dir.join("out.csv");
    let o = scrub(&["run", "--contacts", s(&f.contacts), "--rules", s(&bad), "--as-of", ASOF, "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad-rules.json")
            && err.contains("attemptTrackers item 2")
            && err.contains("thresholdType")
            && err.contains("Fortnight"),
        "{err}"
    );
    assert!(!out.exists());
    // with --skip-bad-rules the run goes on and reports the skipped rule
    let summary = f.dir.join("s.json");
    let o = scrub(&[
        "run",
        "--contacts",
        s(&f.contacts),
        "--rules",
        s(&bad),
        "--as-of",
        ASOF,
        "--out",
        s(&out),
        "--skip-bad-rules",
        "--summary",
        s(&summary),
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("skipped bad rule"));
    let v: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(v["rulesLoaded"]["attemptTrackers"], 1);
    assert_eq!(v["ruleFiles"]["skipped"].as_array().unwrap().len(), 1);
}

#[test]
fn invalid_json_and_unknown_files_are_clear_errors() {
    let f = fixture();
    let bad = write(&f.dir, "broken.json", "[{\"exclusionType\": \"Voice\",");
    let o = scrub(&["run", "--contacts", s(&f.contacts), "--rules", s(&bad), "--as-of", ASOF]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("broken.json: invalid JSON at line 1"));
    let o = scrub(&["run", "--contacts", s(&f.dir.join("missing.csv")), "--rules", s(&f.rules), "--as-of", ASOF]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.csv"));
    let o = scrub(&["run", "--contacts", s(&f.contacts), "--rules", s(&f.rules), "--as-of", "tomorrow"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an RFC 3339 instant"));
}

/// A mistyped path is named as missing whatever it would have held: a
/// contacts, rules or history path without a known extension (a folder name)
/// used to read "unknown ... format".
#[test]
fn missing_inputs_are_named_as_missing() {
    let f = fixture();
    let gone = f.dir.join("no-such-folder");
    let cases: [(&str, Vec<&str>); 3] = [
        ("contacts", vec!["--contacts", s(&gone), "--rules", s(&f.rules)]),
        ("rules", vec!["--contacts", s(&f.contacts), "--rules", s(&gone)]),
        ("history", vec!["--contacts", s(&f.contacts), "--rules", s(&f.rules), "--history", s(&gone)]),
    ];
    for (what, args) in cases {
        let mut all = vec!["run", "--as-of", ASOF, "--quiet"];
        all.extend(args);
        let o = scrub(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains(&format!("{}: No such file or directory", gone.display())), "{what}: {err}");
    }
    // The contacts are opened before any rule is loaded: a missing list is
    // the error even when the rules are broken too (and would take long).
    let broken = write(&f.dir, "broken-rules.json", "[{");
    let o = scrub(&["run", "--contacts", s(&gone), "--rules", s(&broken), "--as-of", ASOF]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{}: No such file or directory", gone.display())), "{err}");
    assert!(!err.contains("broken-rules.json"), "{err}");
}

/// A listen address without a valid port is a usage error, found before the
/// store is opened (no data folder is left behind).
#[test]
fn serve_rejects_a_bad_listen_address_before_touching_the_disk() {
    let d = tempfile::tempdir().unwrap();
    let tokens = write(d.path(), "tokens.toml", "[[tokens]]\norg = \"acme\"\ntoken = \"t\"\n");
    let data = d.path().join("data");
    let o = scrub(&["serve", "--data-dir", s(&data), "--tokens", s(&tokens), "--listen", "127.0.0.1:99999"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("the port must be a number from 0 to 65535"), "{err}");
    assert!(!data.exists());
}

#[test]
fn act_and_cct_load_files_and_csv_exclusions() {
    let f = fixture();
    let dir = f.dir.join("rules");
    std::fs::create_dir(&dir).unwrap();
    write(&dir, "a.act", "operation,exclusionType,exclusionValue,contactListName,endTime\nA,Voice,2125550101,,2026-11-03T00:00:00Z\nA,Voice,(212) 555-0101,,2026-11-04T00:00:00Z\nA,Voice,2125550101,,2026-11-01T00:00:00Z\nA,Account,AC-9,,\nD,Account,AC-9,,\n");
    write(&dir, "b.cct", "operation,contactKeyType,contactKey,contactValueType,contactValue,reason,endTime,convenientTimes\nA,Account,AC-2,All,,,,Mon-Fri 12:00-13:00\n");
    write(&dir, "c.csv", "id,exclusionType,exclusionValue\nx-1,SSN,123-45-6789\n");
    let out = f.dir.join("o.csv");
    let summary = f.dir.join("s.json");
    let contacts = write(&f.dir, "k.csv", "id,contactChannel,contactAddress,accountNumber,ssn,timeZone\n1,Voice,2125550101,AC-9,,America/New_York\n2,SMS,2125550103,AC-2,,America/New_York\n3,Email,a@b.c,,123456789,America/New_York\n");
    let o = scrub(&[
        "run",
        "--contacts",
        s(&contacts),
        "--rules",
        s(&dir),
        "--as-of",
        ASOF,
        "--out",
        s(&out),
        "--summary",
        s(&summary),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (h, rows) = read_csv(&out);
    // the update moved the end to Nov 4; the Account exclusion was deleted
    assert_eq!(rows[0][col(&h, "restrictionType")], "ExclusionVoice");
    assert_eq!(rows[0][col(&h, "restrictedRuleId")], "");
    assert_eq!(rows[0][col(&h, "restrictionEndTime")], "2026-11-04T00:00:00.000Z");
    assert_eq!(rows[1][col(&h, "restrictionType")], "ConvenientContactTimeAccount");
    assert_eq!(rows[1][col(&h, "restrictionEndTime")], "2026-11-02T17:00:00.000Z");
    assert_eq!(rows[2][col(&h, "restrictionType")], "ExclusionSSN");
    assert_eq!(rows[2][col(&h, "restrictedRuleId")], "x-1");
    let v: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    assert_eq!(
        (v["ruleFiles"]["updated"].as_u64(), v["ruleFiles"]["duplicates"].as_u64(), v["ruleFiles"]["deleted"].as_u64()),
        (Some(1), Some(1), Some(1))
    );
}

#[test]
fn check_prints_the_v4_response() {
    let f = fixture();
    let o = scrub(&[
        "check",
        "--rules",
        s(&f.rules),
        "--history",
        s(&f.history),
        "--as-of",
        ASOF,
        "--record",
        r#"{"contactChannel":"SMS","contactAddress":"2125550103","accountNumber":"AC-2","product":"GOLD","timeZone":"America/Chicago"}"#,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["restricted"], true);
    assert_eq!(v["restrictionType"], "AttemptTrackerAccountSMS");
    assert_eq!(v["restrictedRuleId"], "t-1");
    assert_eq!(v["restrictedRuleName"], "Two a day");
    assert_eq!(v["restrictionEndTime"], "2026-11-03T06:00:00.000Z");
    assert_eq!(v["availableQuota"], 6);
    assert_eq!(v["kind"], "via#complianceStatus");
    let o = scrub(&["check", "--rules", s(&f.rules), "--record", r#"{"contactChannel":"Voice"}"#]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("contactAddress"));
}

#[test]
fn help_documents_exit_codes() {
    let o = scrub(&["--help"]);
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("Exit codes") && t.contains("3  `run --fail-on-rejects`"));
    let o = scrub(&["run", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("--skip-bad-rules"));
}

#[test]
fn bundled_sample_runs_and_counts_add_up() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/sample");
    let d = tempfile::tempdir().unwrap();
    let summary = d.path().join("s.json");
    let o = scrub(&[
        "run",
        "--contacts",
        s(&root.join("contacts.csv")),
        "--rules",
        s(&root.join("rules")),
        "--history",
        s(&root.join("history.csv")),
        "--config",
        s(&root.join("config.json")),
        "--as-of",
        ASOF,
        "--out",
        s(&d.path().join("o.csv")),
        "--rejects",
        s(&d.path().join("r.csv")),
        "--summary",
        s(&summary),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let n = |k: &str| v[k].as_u64().unwrap();
    assert_eq!(n("inputRows"), 608);
    assert_eq!(n("allowed") + n("restricted") + n("rejected"), 608);
    assert_eq!(n("rejected"), 5);
    let types: u64 = v["restrictionTypes"].as_object().unwrap().values().map(|x| x.as_u64().unwrap()).sum();
    assert_eq!(types, n("restricted"));
    for k in [
        "ExclusionVoice",
        "ExclusionSMS",
        "ExclusionEmail",
        "ExclusionAccount",
        "ExclusionSSN",
        "QuotaExhausted",
        "AttemptTrackerAccountVoice",
    ] {
        assert!(v["restrictionTypes"][k].as_u64().unwrap() > 0, "{k} in {}", v["restrictionTypes"]);
    }
}

#[test]
fn act_lines_change_numbers_held_in_the_compact_registry_set() {
    // registry-style rows land in the compact set; an act delete or update of one of
    // them must act on it exactly as on a general exclusion, compact or not
    let f = fixture();
    let dir = f.dir.join("reg");
    std::fs::create_dir(&dir).unwrap();
    write(
        &dir,
        "0-registry.csv",
        "id,exclusionType,exclusionValue\n,Voice,2125550101\n,Voice,2125550102\n,Voice,2125550103\n",
    );
    write(&dir, "1-changes.act", "operation,exclusionType,exclusionValue,contactListName,endTime\nD,Voice,2125550101,,\nA,Voice,2125550102,,2026-11-04T00:00:00Z\n");
    let contacts = write(&f.dir, "r.csv", "id,contactChannel,contactAddress,timeZone\n1,Voice,2125550101,America/New_York\n2,Voice,2125550102,America/New_York\n3,Voice,(212) 555-0103,America/New_York\n4,Voice,2125550104,America/New_York\n");
    let mut outs = Vec::new();
    for (name, extra) in [("compact.csv", None), ("general.csv", Some("--no-compact-index"))] {
        let out = f.dir.join(name);
        let mut args = vec!["run", "--contacts", s(&contacts), "--rules", s(&dir), "--as-of", ASOF, "--out", s(&out)];
        args.extend(extra);
        let o = scrub(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (h, rows) = read_csv(&out);
        let kind: Vec<&str> = rows.iter().map(|r| r[col(&h, "restrictionType")].as_str()).collect();
        assert_eq!(kind, ["", "ExclusionVoice", "ExclusionVoice", ""], "{name}");
        // the update had an earlier end than "permanent", so it was a duplicate: still no end
        assert_eq!(rows[1][col(&h, "restrictionEndTime")], "", "{name}");
        outs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
}

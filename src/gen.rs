//! `scrub gen`: a seeded, realistic data generator for benchmarks and demos.
//!
//! Writes `contacts`, `exclusions` (a national-registry-sized block of
//! permanent unscoped Voice numbers plus a few thousand exclusions of every
//! type), `history` (in time order, oldest first, like an attempt log),
//! `rules/*.json`, `config.json` and `asof.txt`. Every value
//! is a pure function of (seed, row index), so chunks are generated in
//! parallel and the output is identical for a given seed whatever the thread
//! count. A fraction of contacts hits each rule kind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Duration, Utc};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub out: PathBuf,
    pub seed: u64,
    pub contacts: u64,
    pub dnc: u64,
    pub history: u64,
    /// Accounts; default contacts / 3.
    pub accounts: Option<u64>,
    pub csv: bool,
    pub as_of: DateTime<Utc>,
    /// Show a progress bar (file and rows) on standard error.
    pub progress: bool,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct GenReport {
    pub contacts: u64,
    pub registry_numbers: u64,
    pub other_exclusions: u64,
    pub history: u64,
    pub ccts: u64,
}

/// SplitMix64: a counter-based generator (value = f(seed, index)).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn h(seed: u64, stream: u64, i: u64) -> u64 {
    mix(seed ^ mix(stream.wrapping_mul(0xA24B_AED4_963E_E407) ^ mix(i)))
}

/// NANP numbers: NPA and NXX in 200–989 without N11 codes and x9x area codes.
struct Nanp {
    npa: Vec<u16>,
    nxx: Vec<u16>,
}

impl Nanp {
    fn new() -> Nanp {
        let n11 = |x: u16| x % 100 == 11;
        Nanp {
            npa: (200..990).filter(|&x| !n11(x) && (x / 10) % 10 != 9).collect(),
            nxx: (200..1000).filter(|&x| !n11(x)).collect(),
        }
    }
    fn space(&self) -> u64 {
        self.npa.len() as u64 * self.nxx.len() as u64 * 10_000
    }
    /// The i-th number of the space (0 ≤ i < space) as 10 digits.
    fn number(&self, i: u64) -> u64 {
        let line = i % 10_000;
        let rest = i / 10_000;
        let nxx = self.nxx[(rest % self.nxx.len() as u64) as usize] as u64;
        let npa = self.npa[(rest / self.nxx.len() as u64) as usize] as u64;
        npa * 10_000_000 + nxx * 10_000 + line
    }
}

/// The registry: D distinct numbers, k ↦ number((k·step + offset) mod space).
struct Registry {
    nanp: Nanp,
    n: u64,
    step: u64,
    offset: u64,
}

impl Registry {
    fn new(seed: u64, n: u64) -> Registry {
        let nanp = Nanp::new();
        let space = nanp.space();
        let gcd = |mut a: u64, mut b: u64| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let mut step = (space / 3 + mix(seed) % 1000) | 1;
        while gcd(step, space) != 1 {
            step += 2;
        }
        Registry { n, step, offset: mix(seed ^ 7) % space, nanp }
    }
    fn get(&self, k: u64) -> u64 {
        let space = self.nanp.space();
        self.nanp.number(((k as u128 * self.step as u128 + self.offset as u128) % space as u128) as u64)
    }
}

const ZONES: [(&str, u32, &[&str]); 7] = [
    ("America/New_York", 47, &["NY", "FL", "PA", "GA", "NC", "NJ", "VA", "MA", "MI", "OH"]),
    ("America/Chicago", 29, &["TX", "IL", "MN", "WI", "MO", "TN", "AL", "LA"]),
    ("America/Denver", 5, &["CO", "UT", "NM"]),
    ("America/Phoenix", 2, &["AZ"]),
    ("America/Los_Angeles", 15, &["CA", "WA", "OR", "NV"]),
    ("America/Anchorage", 1, &["AK"]),
    ("Pacific/Honolulu", 1, &["HI"]),
];
const LISTS: [&str; 4] = ["Collections-Early", "Collections-Late", "CardSales", "Service"];
const PRODUCTS: [&str; 4] = ["Gold Card", "Platinum Card", "Travel Insurance", "Auto Loan"];
const DISPOSITIONS: [(&str, u32); 7] = [
    ("NoAnswer", 45),
    ("Busy", 10),
    ("MessageLeft", 15),
    ("Conversation", 8),
    ("PromiseToPay", 4),
    ("WrongNumber", 3),
    ("Delivered", 15),
];

fn zone_of(x: u64) -> (&'static str, &'static str) {
    let total: u32 = ZONES.iter().map(|z| z.1).sum();
    let mut r = (x % total as u64) as u32;
    for (z, w, states) in ZONES {
        if r < w {
            return (z, states[((x >> 20) % states.len() as u64) as usize]);
        }
        r -= w;
    }
    (ZONES[0].0, ZONES[0].2[0])
}

/// One account's identity, shared by its contacts and its history.
struct Account {
    account: String,
    customer: String,
    zone: &'static str,
    state: &'static str,
}

struct World {
    seed: u64,
    accounts: u64,
    registry: Registry,
    nanp: Nanp,
}

impl World {
    fn account(&self, a: u64) -> Account {
        let (zone, state) = zone_of(h(self.seed, 1, a / 2));
        Account { account: format!("AC{:09}", a), customer: format!("CU{:09}", a / 2), zone, state }
    }
    /// Phone slot s (0..2) of account a; about 10% are on the registry.
    fn phone(&self, a: u64, slot: u64) -> u64 {
        let x = h(self.seed, 2, a * 4 + slot);
        if self.registry.n > 0 && x.is_multiple_of(10) {
            self.registry.get((x >> 8) % self.registry.n)
        } else {
            self.nanp.number((x >> 8) % self.nanp.space())
        }
    }
    fn email(&self, a: u64) -> String {
        format!("user{}.{}@example.com", a / 2, h(self.seed, 3, a / 2) % 1000)
    }
    fn ssn(&self, a: u64) -> String {
        let x = h(self.seed, 4, a / 2) % 1_000_000_000;
        format!("{:03}-{:02}-{:04}", x / 1_000_000 % 900 + 100, x / 10_000 % 100, x % 10_000)
    }
    /// A skewed account choice: 30% of picks go to the hottest 0.5% of accounts.
    fn skewed_account(&self, x: u64) -> u64 {
        let hot = (self.accounts / 200).max(1);
        if x % 10 < 3 {
            (x >> 8) % hot
        } else {
            (x >> 8) % self.accounts
        }
    }
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn ts(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true)
}

fn geo_field(csv: bool) -> Field {
    if csv {
        utf8("geocodes")
    } else {
        Field::new("geocodes", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true)
    }
}

fn geo_array(values: &[[&str; 2]], csv: bool) -> ArrayRef {
    if csv {
        return Arc::new(StringArray::from(values.iter().map(|g| format!("{},{}", g[0], g[1])).collect::<Vec<_>>()));
    }
    let mut b = ListBuilder::new(StringBuilder::new());
    for g in values {
        b.values().append_value(g[0]);
        b.values().append_value(g[1]);
        b.append(true);
    }
    Arc::new(b.finish())
}

/// A table writer: Parquet (zstd, large row groups) or CSV, by the run's choice.
enum Out {
    Parquet(ArrowWriter<File>),
    Csv(csv::Writer<std::io::BufWriter<File>>, bool),
}

impl Out {
    fn create(path: &Path, schema: SchemaRef, csv: bool) -> std::io::Result<Out> {
        let f = File::create(path)?;
        if csv {
            return Ok(Out::Csv(csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, f)), false));
        }
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
            .set_max_row_group_row_count(Some(1 << 20))
            .set_dictionary_enabled(false)
            .build();
        Ok(Out::Parquet(ArrowWriter::try_new(f, schema, Some(props)).map_err(std::io::Error::other)?))
    }
    fn write(&mut self, b: &RecordBatch) -> std::io::Result<()> {
        match self {
            Out::Parquet(w) => w.write(b).map_err(std::io::Error::other),
            Out::Csv(w, header) => {
                if !*header {
                    w.write_record(b.schema().fields().iter().map(|f| f.name().as_str()))?;
                    *header = true;
                }
                let cols: Vec<StringArray> = b
                    .columns()
                    .iter()
                    .map(crate::io::arrow_text::to_text)
                    .collect::<Result<_, _>>()
                    .map_err(std::io::Error::other)?;
                use arrow_array::Array;
                for i in 0..b.num_rows() {
                    for c in &cols {
                        w.write_field(if c.is_null(i) { "" } else { c.value(i) })?;
                    }
                    w.write_record(None::<&[u8]>)?;
                }
                Ok(())
            }
        }
    }
    fn close(self) -> std::io::Result<()> {
        match self {
            Out::Parquet(w) => w.close().map(|_| ()).map_err(std::io::Error::other),
            Out::Csv(mut w, _) => w.flush(),
        }
    }
}

const CHUNK: u64 = 1 << 20;

/// One generated contact: account, channel, address, list, purpose, product, numberType, account index.
type ContactRow = (Account, &'static str, String, &'static str, &'static str, Option<&'static str>, i64, u64);

/// Generates chunks in parallel (two at a time per core) and writes them in order.
/// Each file's rows move `bar` along, when there is one.
fn write_chunks(
    path: &Path,
    schema: SchemaRef,
    csv: bool,
    rows: u64,
    bar: Option<&indicatif::ProgressBar>,
    make: impl Fn(u64, u64) -> RecordBatch + Sync,
) -> std::io::Result<()> {
    if let Some(b) = bar {
        // Each setter may draw: counts first, the file's name last.
        b.set_position(0);
        b.set_length(rows);
        b.set_message(path.file_name().map(|n| format!("{:<20}", n.to_string_lossy())).unwrap_or_default());
    }
    let mut out = Out::create(path, schema, csv)?;
    let n_chunks = rows.div_ceil(CHUNK);
    let wave = (rayon::current_num_threads() as u64 * 2).max(2);
    let mut c = 0;
    while c < n_chunks {
        let end = (c + wave).min(n_chunks);
        let batches: Vec<RecordBatch> =
            (c..end).into_par_iter().map(|k| make(k * CHUNK, ((k + 1) * CHUNK).min(rows))).collect();
        for b in &batches {
            out.write(b)?;
            if let Some(bar) = bar {
                bar.inc(b.num_rows() as u64);
            }
        }
        c = end;
    }
    out.close()
}

pub fn generate(o: &GenOptions) -> std::io::Result<GenReport> {
    std::fs::create_dir_all(o.out.join("rules"))?;
    let ext = if o.csv { "csv" } else { "parquet" };
    let accounts = o.accounts.unwrap_or((o.contacts / 3).max(1)).max(1);
    let w = World { seed: o.seed, accounts, registry: Registry::new(o.seed, o.dnc), nanp: Nanp::new() };
    let mut report =
        GenReport { contacts: o.contacts, registry_numbers: o.dnc, history: o.history, ..Default::default() };
    // A registry-sized run writes hundreds of millions of rows: show which file and how far.
    let bar = o.progress.then(|| crate::progress::rows_bar(0));
    let bar = bar.as_ref();

    // ---------------------------------------------------------------- contacts
    let schema = Arc::new(Schema::new(vec![
        utf8("recordId"),
        utf8("contactChannel"),
        utf8("contactAddress"),
        utf8("customer"),
        utf8("accountNumber"),
        utf8("ssn"),
        utf8("contactListName"),
        Field::new("numberType", DataType::Int64, true),
        geo_field(o.csv),
        utf8("purpose"),
        utf8("timeZone"),
        utf8("product"),
    ]));
    let contact = |i: u64| {
        let x = h(o.seed, 10, i);
        let a = x % accounts;
        let acc = w.account(a);
        let ch = match (x >> 40) % 10 {
            0..=6 => "Voice",
            7 | 8 => "SMS",
            _ => "Email",
        };
        let addr = if ch == "Email" { w.email(a) } else { w.phone(a, (x >> 44) % 2).to_string() };
        let list = LISTS[((x >> 48) % 4) as usize];
        let purpose = match list {
            "CardSales" => "Sales",
            "Service" => "Service",
            _ => "Collections",
        };
        let product = (purpose == "Sales").then(|| PRODUCTS[((x >> 52) % 4) as usize]);
        (acc, ch, addr, list, purpose, product, ((x >> 56) % 4 + 1) as i64, a)
    };
    write_chunks(&o.out.join(format!("contacts.{ext}")), schema.clone(), o.csv, o.contacts, bar, |s, e| {
        let rows: Vec<ContactRow> = (s..e).map(contact).collect();
        let col = |f: &dyn Fn(&ContactRow) -> Option<String>| -> ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from((s..e).map(|i| format!("R{i:010}")).collect::<Vec<_>>())),
                col(&|r| Some(r.1.to_string())),
                col(&|r| Some(r.2.clone())),
                col(&|r| Some(r.0.customer.clone())),
                col(&|r| Some(r.0.account.clone())),
                col(&|r| Some(w.ssn(r.7))),
                col(&|r| Some(r.3.to_string())),
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| if r.1 == "Email" { None } else { Some(r.6) }).collect::<Vec<_>>(),
                )),
                geo_array(&rows.iter().map(|r| ["US", r.0.state]).collect::<Vec<_>>(), o.csv),
                col(&|r| Some(r.4.to_string())),
                col(&|r| Some(r.0.zone.to_string())),
                col(&|r| r.5.map(str::to_string)),
            ],
        )
        .expect("contacts batch")
    })?;

    // ---------------------------------------------------------------- exclusions
    let schema = Arc::new(Schema::new(vec![
        utf8("id"),
        utf8("exclusionType"),
        utf8("exclusionValue"),
        utf8("contactListName"),
        utf8("reason"),
        ts("startTime"),
        ts("endTime"),
    ]));
    let others: u64 = (o.contacts / 1000).clamp(50, 5000);
    report.other_exclusions = others * 6;
    let asof_ms = o.as_of.timestamp_millis();
    let day = 86_400_000i64;
    let total = o.dnc + others * 6;
    write_chunks(&o.out.join(format!("exclusions.{ext}")), schema.clone(), o.csv, total, bar, |s, e| {
        let mut id = Vec::new();
        let mut ty = Vec::new();
        let mut val = Vec::new();
        let mut list = Vec::new();
        let mut reason = Vec::new();
        let mut start = Vec::new();
        let mut end = Vec::new();
        for k in s..e {
            if k < o.dnc {
                id.push(None);
                ty.push(Some("Voice"));
                val.push(Some(w.registry.get(k).to_string()));
                list.push(None);
                reason.push(None);
                start.push(None);
                end.push(None);
                continue;
            }
            // the rest: exclusions matching generated contacts, six kinds
            let j = k - o.dnc;
            let x = h(o.seed, 20, j);
            let a = x % accounts;
            let kind = j % 6;
            id.push(Some(format!("ex-{j:07}")));
            let (t, v) = match kind {
                0 => ("Account", w.account(a).account),
                1 => ("SMS", w.phone(a, (x >> 40) % 2).to_string()),
                2 => ("Email", w.email(a)),
                3 => ("SSN", w.ssn(a)),
                _ => ("Voice", w.phone(a, (x >> 40) % 2).to_string()),
            };
            ty.push(Some(t));
            val.push(Some(v));
            // kind 4: list-scoped; kind 5: timed (some active now, some starting later)
            list.push((kind == 4).then_some(LISTS[((x >> 44) % 4) as usize]));
            reason.push(Some(
                [
                    "Customer request",
                    "Litigation",
                    "Cease and desist",
                    "Deceased",
                    "Campaign opt-out",
                    "Hardship pause",
                ][kind as usize],
            ));
            let (st, en) = if kind == 5 {
                let s0 = asof_ms + ((x >> 48) % 10) as i64 * day - 5 * day;
                (Some(s0), Some(s0 + ((x >> 52) % 20 + 1) as i64 * day))
            } else {
                (None, None)
            };
            start.push(st);
            end.push(en);
        }
        let tz = |v: Vec<Option<i64>>| Arc::new(TimestampMillisecondArray::from(v).with_timezone("UTC")) as ArrayRef;
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(id)),
                Arc::new(StringArray::from(ty)),
                Arc::new(StringArray::from(val)),
                Arc::new(StringArray::from(list)),
                Arc::new(StringArray::from(reason)),
                tz(start),
                tz(end),
            ],
        )
        .expect("exclusions batch")
    })?;

    // ---------------------------------------------------------------- history
    let schema = Arc::new(Schema::new(vec![
        utf8("contactChannel"),
        utf8("contactAddress"),
        utf8("customer"),
        utf8("accountNumber"),
        ts("timeOfContact"),
        utf8("timeZone"),
        utf8("disposition"),
        Field::new("numberType", DataType::Int64, true),
        utf8("purpose"),
        geo_field(o.csv),
        utf8("status"),
    ]));
    let span_ms = 45 * day;
    let slot = span_ms as u64 / o.history.max(1);
    write_chunks(&o.out.join(format!("history.{ext}")), schema.clone(), o.csv, o.history, bar, |s, e| {
        let n = (e - s) as usize;
        let (mut ch, mut addr, mut cu, mut ac, mut t, mut tz, mut disp, mut nt, mut pu, mut geo, mut st) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for i in s..e {
            let x = h(o.seed, 30, i);
            let y = h(o.seed, 31, i);
            let a = w.skewed_account(x);
            let acc = w.account(a);
            let channel = match y % 20 {
                0..=15 => "Voice",
                16..=18 => "SMS",
                _ => "Email",
            };
            ch.push(channel);
            addr.push(if channel == "Email" { w.email(a) } else { w.phone(a, (y >> 8) % 2).to_string() });
            // Oldest first, as a dialer's log is appended: row i's time is in
            // the i-th of H equal slots of the 45 days, at a seeded offset.
            let start = (i as u128 * span_ms as u128 / o.history.max(1) as u128) as i64;
            t.push(asof_ms - 1000 - span_ms + start + ((y >> 12) % slot.max(1)) as i64);
            let mut r = ((y >> 40) % 100) as u32;
            let mut d = "NoAnswer";
            for (name, wt) in DISPOSITIONS {
                if r < wt {
                    d = name;
                    break;
                }
                r -= wt;
            }
            if channel != "Voice" {
                d = "Delivered";
            }
            disp.push(d);
            nt.push(((y >> 48) % 4 + 1) as i64);
            pu.push(if (y >> 52).is_multiple_of(5) { "Sales" } else { "Collections" });
            geo.push(["US", acc.state]);
            st.push(if (y >> 56).is_multiple_of(50) { "Disabled" } else { "Enabled" });
            tz.push(acc.zone);
            cu.push(acc.customer);
            ac.push(acc.account);
        }
        RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(ch)),
                Arc::new(StringArray::from(addr)),
                Arc::new(StringArray::from(cu)),
                Arc::new(StringArray::from(ac)),
                Arc::new(TimestampMillisecondArray::from(t).with_timezone("UTC")),
                Arc::new(StringArray::from(tz)),
                Arc::new(StringArray::from(disp)),
                Arc::new(Int64Array::from(nt)),
                Arc::new(StringArray::from(pu)),
                geo_array(&geo, o.csv),
                Arc::new(StringArray::from(st)),
            ],
        )
        .expect("history batch")
    })?;

    // ---------------------------------------------------------------- rules, config, as-of
    let trackers = json!({"attemptTrackers": [
        {"id": "at-regf-7in7", "attemptTrackerName": "Reg F: 7 calls in 7 days per account", "typeOfTracker": "Account",
         "numberOfAttempts": 7, "thresholdType": "Day", "threshold": 7, "dispositions": [], "contactChannels": ["Voice"],
         "acrossContactChannels": false, "excludeContactChannels": false},
        {"id": "at-regf-conversation", "attemptTrackerName": "Reg F: 1 call in 7 days after a conversation", "typeOfTracker": "Account",
         "numberOfAttempts": 1, "thresholdType": "Day", "threshold": 7, "dispositions": ["Conversation", "PromiseToPay"],
         "contactChannels": ["Voice"], "acrossContactChannels": false, "excludeContactChannels": false},
        {"id": "at-geo-3-per-24h", "attemptTrackerName": "NY/CA: 3 attempts per 24 hours per customer", "typeOfTracker": "Customer",
         "numberOfAttempts": 3, "thresholdType": "Hour", "threshold": 24, "dispositions": [], "geocodes": ["NY", "CA"]},
        {"id": "at-address-daily", "attemptTrackerName": "2 attempts per number per day", "typeOfTracker": "ContactAddress",
         "numberOfAttempts": 2, "thresholdType": "CurrentDay", "threshold": 1, "dispositions": [], "contactChannels": ["Email"],
         "excludeContactChannels": true, "acrossContactChannels": true},
        {"id": "at-account-address-week", "attemptTrackerName": "4 per account and number per week", "typeOfTracker": "AccountContactAddress",
         "numberOfAttempts": 4, "thresholdType": "Week", "threshold": 1, "dispositions": [], "contactChannels": ["SMS"],
         "acrossContactChannels": false, "excludeContactChannels": false}
    ]});
    let messages = json!({"messageTrackers": [
        {"id": "mt-voicemail-week", "messageTrackerName": "One voicemail per account per week", "typeOfTracker": "Account",
         "numberOfAttempts": 1, "thresholdType": "Week", "threshold": 1, "thresholdActionType": "NoPlayMessage", "dispositions": ["MessageLeft"]},
        {"id": "mt-standard-month", "messageTrackerName": "Standard message after 3 in a month", "typeOfTracker": "Customer",
         "numberOfAttempts": 3, "thresholdType": "CurrentMonth", "threshold": 1, "thresholdActionType": "PlayStandardMessage",
         "dispositions": ["MessageLeft", "NoAnswer"]}
    ]});
    let quotas = json!({"quotaControls": [
        {"id": "qc-gold", "product": "Gold Card", "totalQuota": 50000, "productSold": 21000, "unitValue": 95},
        {"id": "qc-platinum", "product": "Platinum Card", "totalQuota": 1000, "productSold": 1000, "unitValue": 450},
        {"id": "qc-travel", "product": "Travel Insurance", "totalQuota": 25000, "productSold": 900, "unitValue": 60}
    ]});
    // CCTs for ~2% of accounts and ~1% of customers, every tier
    let n_cct = (accounts / 50).max(4);
    let week = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
    let ccts: Vec<serde_json::Value> = (0..n_cct)
        .map(|k| {
            let x = h(o.seed, 40, k);
            let a = x % accounts;
            let acc = w.account(a);
            let windows = match k % 3 {
                0 => json!([{"dayOfWeek": week, "startTime": "09:00", "endTime": "17:00"}]),
                1 => json!([{"dayOfWeek": week, "startTime": "18:00", "endTime": "21:00"}, {"dayOfWeek": ["Saturday"], "startTime": "10:00", "endTime": "14:00"}]),
                _ => json!([{"dayOfWeek": ["Monday","Tuesday","Wednesday","Thursday","Friday","Saturday","Sunday"], "startTime": "22:00", "endTime": "02:00"}]),
            };
            match k % 4 {
                0 => json!({"id": format!("cct-{k:07}"), "contactKeyType": "Customer", "contactKey": acc.customer, "contactValueType": "All", "convenientTimes": windows}),
                1 => json!({"id": format!("cct-{k:07}"), "contactKeyType": "Account", "contactKey": acc.account, "contactValueType": "Voice", "convenientTimes": windows}),
                2 => json!({"id": format!("cct-{k:07}"), "contactKeyType": "Account", "contactKey": acc.account, "contactValueType": "Voice",
                            "contactValue": w.phone(a, 0).to_string(), "convenientTimes": windows}),
                _ => json!({"id": format!("cct-{k:07}"), "contactKeyType": "Account", "contactKey": acc.account, "contactValueType": "SMS",
                            "endTime": crate::time::format_instant(o.as_of + Duration::days(30)), "convenientTimes": windows}),
            }
        })
        .collect();
    report.ccts = n_cct;
    let json_file =
        |name: &str, v: &serde_json::Value| std::fs::write(o.out.join(name), serde_json::to_vec_pretty(v).unwrap());
    json_file("rules/attempt-trackers.json", &trackers)?;
    json_file("rules/message-trackers.json", &messages)?;
    json_file("rules/quota-controls.json", &quotas)?;
    json_file("rules/convenient-contact-times.json", &json!({"convenientContactTimes": ccts}))?;
    let exempt: Vec<String> = (0..3).map(|k| w.phone(h(o.seed, 50, k) % accounts, 0).to_string()).collect();
    json_file(
        "config.json",
        &json!({"attemptTrackers": {"excludeFromContactAddressRule": [exempt[0]], "excludedContactAddresses": [exempt[1]],
                                    "enableActiveRecordFeature": true, "lifeTimeOfActiveRecord": 120, "minutesToWaitAfterActiveRestriction": 10},
                "messageTrackers": {"excludedContactAddresses": [exempt[2]]},
                "exclusions": {"retainDays": 14, "retainNoEndTime": false},
                "convenientContactTimes": {"retainDays": 14}}),
    )?;
    std::fs::write(o.out.join("asof.txt"), format!("{}\n", crate::time::format_instant(o.as_of)))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_numbers_are_distinct_valid_nanp() {
        let r = Registry::new(42, 100_000);
        let mut v: Vec<u64> = (0..100_000).map(|k| r.get(k)).collect();
        assert!(v.iter().all(|&n| (2_000_000_000..10_000_000_000).contains(&n)));
        assert!(v.iter().all(|&n| n / 10_000_000 % 100 != 11 && n / 10_000 % 1000 >= 200));
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), 100_000);
    }

    #[test]
    fn values_depend_only_on_seed_and_index() {
        assert_eq!(h(1, 2, 3), h(1, 2, 3));
        assert_ne!(h(1, 2, 3), h(2, 2, 3));
    }
}

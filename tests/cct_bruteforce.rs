//! SPEC §5 against a brute-force model: random windows (overnight, `24:00`,
//! equal start and end), zones with DST and half-hour offsets, instants around
//! transitions. The model scans minute by minute for the next open / closed
//! instant; the engine finds them among candidate instants. They must agree.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::json;

use scrub::engine::{evaluate, Engine, HistoryBuilder, RuleSet};
use scrub::io::rules::{add_json_item, RuleKind, RuleLoadReport};
use scrub::model::dto::ComplianceStatusesInsertRequestV4;
use scrub::model::{Config, Record};

const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

type Win = (Vec<u32>, u32, u32);

fn open(ws: &[Win], tz: Tz, t: DateTime<Utc>) -> bool {
    let l = t.with_timezone(&tz);
    let wd = l.weekday().num_days_from_monday();
    let prev = (wd + 6) % 7;
    let m = l.hour() * 60 + l.minute();
    ws.iter().any(|(days, s, e)| {
        if e <= s {
            (days.contains(&wd) && m >= *s) || (days.contains(&prev) && m < *e)
        } else {
            days.contains(&wd) && *s <= m && m < *e
        }
    })
}

fn hm(m: u32) -> String {
    if m == 1440 {
        "24:00".into()
    } else {
        format!("{:02}:{:02}", m / 60, m % 60)
    }
}

#[test]
fn cct_matches_a_minute_by_minute_model() {
    let mut r = Lcg(20261101);
    let zones: [Tz; 4] = [
        chrono_tz::America::New_York,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Australia::Lord_Howe,
        chrono_tz::America::Phoenix,
    ];
    let bases = [
        "2026-11-01T05:45:00Z",
        "2026-03-08T06:30:00Z",
        "2026-10-03T15:10:00Z",
        "2026-04-04T14:40:00Z",
        "2026-11-02T15:00:00Z",
    ];
    for case in 0..150 {
        let tz = zones[r.next(4) as usize];
        let base = scrub::time::parse_instant(bases[r.next(5) as usize]).unwrap();
        let now =
            base + Duration::minutes(r.next(241) as i64 - 120) + Duration::seconds([0, 0, 17][r.next(3) as usize]);
        let starts = [0, 30, 60, 90, 120, 150, 180, 540, 1020, 1320];
        let ends = [0, 30, 90, 120, 150, 180, 600, 1020, 1440];
        let ws: Vec<Win> = (0..r.next(4))
            .map(|_| {
                let mut days: Vec<u32> = (0..1 + r.next(3)).map(|_| r.next(7) as u32).collect();
                days.sort_unstable();
                days.dedup();
                let s = starts[r.next(starts.len() as u64) as usize];
                let e = if r.next(8) == 0 { s } else { ends[r.next(ends.len() as u64) as usize] };
                (days, s, e)
            })
            .collect();
        let end = (r.next(10) < 3).then(|| now + Duration::hours(1 + r.next(100) as i64));
        let mut rule = json!({"id": "c", "contactKeyType": "Customer", "contactKey": "C1", "contactValueType": "All",
            "convenientTimes": ws.iter().map(|(d, s, e)| json!({"dayOfWeek": d.iter().map(|x| DAYS[*x as usize]).collect::<Vec<_>>(),
                "startTime": hm(*s), "endTime": hm(*e)})).collect::<Vec<_>>()});
        if let Some(e) = end {
            rule["endTime"] = json!(scrub::time::format_instant(e));
        }
        let mut set = RuleSet::default();
        add_json_item(&mut set, RuleKind::Cct, rule, &mut RuleLoadReport::default()).unwrap();
        let engine = Engine::new(set, HistoryBuilder::default().build(), Config::default());
        let req: ComplianceStatusesInsertRequestV4 = serde_json::from_value(
            json!({"contactChannel": "Voice", "contactAddress": "2125550101", "customer": "C1", "timeZone": tz.name()}),
        )
        .unwrap();
        let rec = Record::from_request(&req, Tz::UTC).unwrap();
        let d = evaluate(&engine, &rec, now);

        // the model
        let limit = now + Duration::hours(192);
        let first_minute = DateTime::from_timestamp(now.timestamp() - now.timestamp().rem_euclid(60) + 60, 0).unwrap();
        let first = |want: bool| {
            let mut t = first_minute;
            while t <= limit {
                if open(&ws, tz, t) == want {
                    return Some(t);
                }
                t += Duration::minutes(1);
            }
            None
        };
        if !open(&ws, tz, now) {
            let expected_end = match (first(true), end) {
                (Some(o), Some(e)) => Some(o.min(e)),
                (o, e) => o.or(e),
            };
            assert_eq!(
                d.restriction.map(|x| x.as_str()),
                Some("ConvenientContactTimeCustomer"),
                "case {case}: {ws:?} {tz} {now}"
            );
            assert_eq!(d.end, expected_end, "case {case}: {ws:?} {tz} {now} rule end {end:?}");
        } else {
            let close = first(false).filter(|c| end.is_none_or(|e| *c < e));
            assert_eq!(d.restriction, None, "case {case}: {ws:?} {tz} {now}");
            assert_eq!(d.start, close, "case {case}: {ws:?} {tz} {now} rule end {end:?}");
        }
    }
}

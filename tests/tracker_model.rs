//! SPEC §7 against a direct model: random attempts around DST changes and
//! midnights, every threshold type, several zones. The model filters and
//! sorts all attempts; the engine uses postings and walks back from now.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::json;

use scrub::engine::{evaluate, Engine, HistoryBuilder, RuleSet};
use scrub::io::rules::{add_json_item, RuleKind, RuleLoadReport};
use scrub::model::dto::ComplianceStatusesInsertRequestV4;
use scrub::model::{Attempt, Config, Record};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Local midnight by scanning minutes: the first instant whose local time is ≥ 00:00 of `d`
/// (a gap gives the first instant after it; an overlap the earlier instant).
fn midnight(tz: Tz, d: NaiveDate) -> DateTime<Utc> {
    let target = d.and_hms_opt(0, 0, 0).unwrap();
    let mut t = Utc.from_utc_datetime(&target) - Duration::hours(15);
    while t.with_timezone(&tz).naive_local() < target {
        t += Duration::minutes(1);
    }
    t
}

#[test]
fn trackers_match_a_direct_model() {
    let mut r = Lcg(77);
    let zones: [Tz; 4] =
        [chrono_tz::America::New_York, chrono_tz::Asia::Kolkata, chrono_tz::Australia::Lord_Howe, Tz::UTC];
    let bases = [
        "2026-11-01T06:30:00Z",
        "2026-03-08T07:10:00Z",
        "2026-10-03T16:00:00Z",
        "2026-11-30T04:59:00Z",
        "2026-11-02T15:00:00Z",
    ];
    let types = ["Minute", "Hour", "Day", "Week", "CurrentDay", "CurrentWeek", "CurrentMonth"];
    for case in 0..300 {
        let tz = zones[r.next(4) as usize];
        let now =
            scrub::time::parse_instant(bases[r.next(5) as usize]).unwrap() + Duration::minutes(r.next(181) as i64 - 90);
        let tt = types[r.next(7) as usize];
        let th = if tt == "Minute" { 1 + r.next(300) as i64 } else { 1 + r.next(3) as i64 };
        let n = r.next(5) as usize;
        let attempts: Vec<(DateTime<Utc>, bool)> = (0..r.next(13))
            .map(|_| (now - Duration::minutes(r.next(60 * 24 * 20 + 60) as i64 - 60), r.next(6) != 0))
            .collect();
        let mut set = RuleSet::default();
        let rule = json!({"id": "t", "attemptTrackerName": "n", "typeOfTracker": "Account", "numberOfAttempts": n,
            "thresholdType": tt, "threshold": th, "dispositions": []});
        add_json_item(&mut set, RuleKind::AttemptTracker, rule, &mut RuleLoadReport::default()).unwrap();
        let mut hb = HistoryBuilder::default();
        let texts: Vec<String> = attempts.iter().map(|(t, _)| scrub::time::format_instant(*t)).collect();
        for ((_, enabled), text) in attempts.iter().zip(&texts) {
            let a = Attempt {
                contact_channel: Some("Voice"),
                contact_address: Some("2125550101"),
                account_number: Some("A1"),
                time_of_contact: Some(text),
                status: Some(if *enabled { "Enabled" } else { "Disabled" }),
                ..Default::default()
            };
            hb.push(&a, std::iter::empty()).unwrap();
        }
        let engine = Engine::new(set, hb.build(), Config::default());
        let req: ComplianceStatusesInsertRequestV4 = serde_json::from_value(
            json!({"contactChannel": "Voice", "contactAddress": "2125550101", "accountNumber": "A1", "timeZone": tz.name()}),
        )
        .unwrap();
        let rec = Record::from_request(&req, Tz::UTC).unwrap();
        let d = evaluate(&engine, &rec, now);

        // the model (times are whole milliseconds after formatting)
        let today = now.with_timezone(&tz).date_naive();
        let (from, inclusive) = match tt {
            "Minute" => (now - Duration::minutes(th), false),
            "Hour" => (now - Duration::hours(th), false),
            "Day" => (midnight(tz, today - Duration::days(th - 1)), true),
            "Week" => (midnight(tz, today - Duration::days(7 * th - 1)), true),
            "CurrentDay" => (midnight(tz, today), true),
            "CurrentWeek" => {
                (midnight(tz, today - Duration::days(today.weekday().num_days_from_monday() as i64)), true)
            }
            _ => (midnight(tz, today.with_day(1).unwrap()), true),
        };
        let mut counted: Vec<DateTime<Utc>> = attempts
            .iter()
            .map(|(t, e)| (scrub::time::truncate_ms(*t), *e))
            .filter(|(t, e)| *e && *t <= now && if inclusive { *t >= from } else { *t > from })
            .map(|(t, _)| t)
            .collect();
        counted.sort();
        let k = counted.len();
        let expected = if n == 0 {
            Some(None)
        } else if k >= n {
            let a = counted[k - n];
            let local = a.with_timezone(&tz).date_naive();
            Some(Some(match tt {
                "Minute" => a + Duration::minutes(th),
                "Hour" => a + Duration::hours(th),
                "Day" => midnight(tz, local + Duration::days(th)),
                "Week" => midnight(tz, local + Duration::days(7 * th)),
                "CurrentDay" => midnight(tz, today + Duration::days(1)),
                "CurrentWeek" => midnight(
                    tz,
                    today - Duration::days(today.weekday().num_days_from_monday() as i64) + Duration::days(7),
                ),
                _ => {
                    let (y, m) =
                        if today.month() == 12 { (today.year() + 1, 1) } else { (today.year(), today.month() + 1) };
                    midnight(tz, NaiveDate::from_ymd_opt(y, m, 1).unwrap())
                }
            }))
        } else {
            None
        };
        match expected {
            None => assert_eq!(d.restriction, None, "case {case}: {tt} T={th} N={n} {tz} {now}"),
            Some(end) => {
                assert_eq!(
                    d.restriction.map(|x| x.as_str()),
                    Some("AttemptTrackerAccountVoice"),
                    "case {case}: {tt} T={th} N={n} {tz} {now}"
                );
                assert_eq!(d.end, end, "case {case}: {tt} T={th} N={n} {tz} {now}");
            }
        }
    }
}

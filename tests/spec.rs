//! SPEC.md, section by section, with hand-computed expectations.
//!
//! Every case builds an engine from JSON rules (the API's shapes), a small
//! history and a configuration, evaluates one record at a fixed instant, and
//! asserts restrictionType, rule id, and the exact start / end instants.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use scrub::engine::{evaluate, Engine, HistoryBuilder, RuleSet};
use scrub::io::rules::{add_json_item, detect_kind, RuleLoadReport};
use scrub::model::dto::{ComplianceStatusesInsertRequestV4, ConfigurationDto, ContactAttemptDto};
use scrub::model::{Attempt, Config, Record};

fn t(s: &str) -> DateTime<Utc> {
    scrub::time::parse_instant(s).unwrap()
}

struct World {
    engine: Engine,
}

fn world(rules: Value, history: Value, config: Value) -> World {
    let mut set = RuleSet::default();
    let mut report = RuleLoadReport::default();
    for item in rules.as_array().unwrap() {
        let kind = detect_kind(item.as_object().unwrap()).expect("rule kind");
        add_json_item(&mut set, kind, item.clone(), &mut report).expect("valid rule");
    }
    let mut hb = HistoryBuilder::default();
    for a in history.as_array().unwrap() {
        let d: ContactAttemptDto = serde_json::from_value(a.clone()).unwrap();
        let nt = d.number_type.as_ref().map(|v| v.to_string().trim_matches('"').to_string());
        let geo = match &d.geocodes {
            Some(Value::Array(a)) => Some(a.iter().map(|x| x.as_str().unwrap()).collect::<Vec<_>>().join(",")),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let at = Attempt::from_dto(&d, nt.as_deref(), geo.as_deref());
        hb.push(&at, std::iter::empty()).unwrap();
    }
    let cfg: ConfigurationDto = serde_json::from_value(config).unwrap();
    World { engine: Engine::new(set, hb.build(), Config::try_from(&cfg).unwrap()) }
}

fn rules(rules: Value) -> World {
    world(rules, json!([]), json!({}))
}

/// The evaluated response as JSON, the way the API and `scrub check` print it.
fn check(w: &World, record: Value, now: &str) -> Value {
    let req: ComplianceStatusesInsertRequestV4 = serde_json::from_value(record).unwrap();
    let rec = Record::from_request(&req, chrono_tz::Tz::UTC).unwrap();
    serde_json::to_value(evaluate(&w.engine, &rec, t(now)).to_response(None)).unwrap()
}

#[track_caller]
fn expect(r: &Value, restriction: Option<&str>, id: Option<&str>, end: Option<&str>, start: Option<&str>) {
    assert_eq!(r["restrictionType"].as_str(), restriction, "restrictionType in {r}");
    assert_eq!(r["restricted"].as_bool(), Some(restriction.is_some()), "restricted in {r}");
    assert_eq!(r["restrictedRuleId"].as_str(), id, "restrictedRuleId in {r}");
    assert_eq!(r["restrictionEndTime"].as_str(), end, "restrictionEndTime in {r}");
    assert_eq!(r["restrictionStartTime"].as_str(), start, "restrictionStartTime in {r}");
}

const NY: &str = "America/New_York";
/// Monday 2026-11-02 10:00 EST.
const MON_10: &str = "2026-11-02T15:00:00Z";

fn voice(addr: &str) -> Value {
    json!({"contactChannel": "Voice", "contactAddress": addr, "timeZone": NY})
}

fn with(mut v: Value, extra: Value) -> Value {
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

// ------------------------------------------------------------------ §4 exclusions

#[test]
fn s4_voice_exclusion_matches_normalised_number() {
    let w = rules(json!([{"id": "ex-1", "exclusionType": "Voice", "exclusionValue": "+1 (212) 555-0101"}]));
    let r = check(&w, voice("212.555.0101".replace("212", "1212").as_str()), MON_10);
    expect(&r, Some("ExclusionVoice"), Some("ex-1"), None, None);
}

#[test]
fn s4_voice_exclusion_does_not_match_sms() {
    let w = rules(json!([{"id": "ex-1", "exclusionType": "Voice", "exclusionValue": "12125550101"}]));
    let r = check(&w, json!({"contactChannel": "SMS", "contactAddress": "12125550101"}), MON_10);
    expect(&r, None, None, None, None);
    assert_eq!(r["messageType"], "CanPlay");
}

#[test]
fn s4_sms_and_email_and_account_and_ssn() {
    let w = rules(json!([
        {"id": "s", "exclusionType": "SMS", "exclusionValue": "2125550102"},
        {"id": "e", "exclusionType": "Email", "exclusionValue": " Jo@Example.com"},
        {"id": "a", "exclusionType": "Account", "exclusionValue": "AC-9"},
        {"id": "n", "exclusionType": "SSN", "exclusionValue": "123-45-6789"}
    ]));
    expect(
        &check(&w, json!({"contactChannel": "sms", "contactAddress": "(212) 555-0102"}), MON_10),
        Some("ExclusionSMS"),
        Some("s"),
        None,
        None,
    );
    expect(
        &check(&w, json!({"contactChannel": "Email", "contactAddress": "jo@EXAMPLE.com "}), MON_10),
        Some("ExclusionEmail"),
        Some("e"),
        None,
        None,
    );
    expect(
        &check(&w, with(voice("2125550000"), json!({"accountNumber": " AC-9 "})), MON_10),
        Some("ExclusionAccount"),
        Some("a"),
        None,
        None,
    );
    // account numbers keep their case
    expect(&check(&w, with(voice("2125550000"), json!({"accountNumber": "ac-9"})), MON_10), None, None, None, None);
    expect(
        &check(&w, with(voice("2125550000"), json!({"ssn": "123456789"})), MON_10),
        Some("ExclusionSSN"),
        Some("n"),
        None,
        None,
    );
}

#[test]
fn s4_list_scoped_exclusions() {
    let w = rules(
        json!([{"id": "l", "exclusionType": "Voice", "exclusionValue": "2125550101", "contactListName": "Sales"}]),
    );
    expect(
        &check(&w, with(voice("2125550101"), json!({"contactListName": " sales "})), MON_10),
        Some("ExclusionVoice"),
        Some("l"),
        None,
        None,
    );
    expect(
        &check(&w, with(voice("2125550101"), json!({"contactListName": "Collections"})), MON_10),
        None,
        None,
        None,
        None,
    );
    // a record without a list matches only exclusions without a list
    expect(&check(&w, voice("2125550101"), MON_10), None, None, None, None);
}

#[test]
fn s4_unscoped_exclusion_covers_every_list() {
    let w = rules(json!([{"id": "u", "exclusionType": "Voice", "exclusionValue": "2125550101"}]));
    expect(
        &check(&w, with(voice("2125550101"), json!({"contactListName": "Any"})), MON_10),
        Some("ExclusionVoice"),
        Some("u"),
        None,
        None,
    );
}

#[test]
fn s4_active_interval_bounds() {
    let w = rules(json!([{"id": "x", "exclusionType": "Voice", "exclusionValue": "2125550101",
        "startTime": "2026-11-02T15:00:00Z", "endTime": "2026-11-05T00:00:00Z"}]));
    // startTime ≤ now is active
    expect(
        &check(&w, voice("2125550101"), "2026-11-02T15:00:00Z"),
        Some("ExclusionVoice"),
        Some("x"),
        Some("2026-11-05T00:00:00.000Z"),
        None,
    );
    // now = endTime is not active
    expect(&check(&w, voice("2125550101"), "2026-11-05T00:00:00Z"), None, None, None, None);
    // before startTime: allowed, startTime reported
    expect(&check(&w, voice("2125550101"), "2026-11-01T00:00:00Z"), None, None, None, Some("2026-11-02T15:00:00.000Z"));
}

#[test]
fn s4_end_follows_overlapping_and_touching_intervals() {
    let w = rules(json!([
        {"id": "a", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-01T00:00:00Z", "endTime": "2026-11-03T00:00:00Z"},
        {"id": "b", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-02T20:00:00Z", "endTime": "2026-11-04T00:00:00Z"},
        {"id": "c", "exclusionType": "Account", "exclusionValue": "AC-1", "startTime": "2026-11-04T00:00:00Z", "endTime": "2026-11-06T12:00:00Z"},
        {"id": "d", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-07T00:00:00Z", "endTime": "2026-11-08T00:00:00Z"}
    ]));
    // a is the only active one at now; b overlaps it, c (another type, same record) touches b; d is after a gap
    let r = check(&w, with(voice("2125550101"), json!({"accountNumber": "AC-1"})), MON_10);
    expect(&r, Some("ExclusionVoice"), Some("a"), Some("2026-11-06T12:00:00.000Z"), None);
}

#[test]
fn s4_gap_ends_the_restriction() {
    let w = rules(json!([
        {"id": "a", "exclusionType": "Voice", "exclusionValue": "2125550101", "endTime": "2026-11-03T00:00:00Z"},
        {"id": "b", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-03T00:00:01Z"}
    ]));
    expect(
        &check(&w, voice("2125550101"), MON_10),
        Some("ExclusionVoice"),
        Some("a"),
        Some("2026-11-03T00:00:00.000Z"),
        None,
    );
}

#[test]
fn s4_open_ended_interval_reached_gives_null_end() {
    let w = rules(json!([
        {"id": "a", "exclusionType": "Voice", "exclusionValue": "2125550101", "endTime": "2026-11-03T00:00:00Z"},
        {"id": "b", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-02T23:00:00Z"}
    ]));
    // only a is active now, but the walk reaches b, which never ends
    expect(&check(&w, voice("2125550101"), MON_10), Some("ExclusionVoice"), Some("a"), None, None);
}

#[test]
fn s4_reports_latest_end_then_smallest_id() {
    let w = rules(json!([
        {"id": "z", "exclusionType": "Voice", "exclusionValue": "2125550101", "endTime": "2026-12-01T00:00:00Z"},
        {"id": "m", "exclusionType": "Account", "exclusionValue": "AC-1"},
        {"id": "b", "exclusionType": "SSN", "exclusionValue": "111"}
    ]));
    let rec = with(voice("2125550101"), json!({"accountNumber": "AC-1", "ssn": "111"}));
    // m and b never end; tie → smallest id "b"
    expect(&check(&w, rec, MON_10), Some("ExclusionSSN"), Some("b"), None, None);
}

#[test]
fn s4_rule_without_id_sorts_first_in_ties() {
    let w = rules(json!([
        {"id": "a", "exclusionType": "Voice", "exclusionValue": "2125550101"},
        {"exclusionType": "Voice", "exclusionValue": "2125550101"}
    ]));
    expect(&check(&w, voice("2125550101"), MON_10), Some("ExclusionVoice"), None, None, None);
}

#[test]
fn s4_earliest_future_start_and_useless_intervals() {
    let w = rules(json!([
        {"id": "a", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-20T00:00:00Z"},
        {"id": "b", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-10T00:00:00Z", "endTime": "2026-11-11T00:00:00Z"},
        // ends before it starts: never active, contributes nothing
        {"id": "c", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-05T00:00:00Z", "endTime": "2026-11-05T00:00:00Z"},
        // expired
        {"id": "d", "exclusionType": "Voice", "exclusionValue": "2125550101", "endTime": "2026-11-01T00:00:00Z"}
    ]));
    expect(&check(&w, voice("2125550101"), MON_10), None, None, None, Some("2026-11-10T00:00:00.000Z"));
}

#[test]
fn s3_instants_truncated_to_milliseconds() {
    let w = rules(json!([{"id": "a", "exclusionType": "Voice", "exclusionValue": "2125550101",
        "endTime": "2026-11-03T00:00:00.123999+01:00"}]));
    expect(
        &check(&w, voice("2125550101"), MON_10),
        Some("ExclusionVoice"),
        Some("a"),
        Some("2026-11-02T23:00:00.123Z"),
        None,
    );
}

// ------------------------------------------------------------------ §5 CCT

fn cct(id: &str, key_type: &str, key: &str, vt: &str, value: Option<&str>, windows: Value) -> Value {
    let mut v = json!({"id": id, "contactKeyType": key_type, "contactKey": key, "contactValueType": vt, "convenientTimes": windows});
    if let Some(x) = value {
        v["contactValue"] = json!(x);
    }
    v
}

fn weekdays(start: &str, end: &str) -> Value {
    json!([{"dayOfWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"], "startTime": start, "endTime": end}])
}

fn cust(addr: &str, customer: &str) -> Value {
    with(voice(addr), json!({"customer": customer}))
}

#[test]
fn s5_open_window_allows_and_reports_close_as_start() {
    let w = rules(json!([cct("c1", "Customer", "C1", "All", None, weekdays("09:00", "17:00"))]));
    // Monday 10:00 EST: open; closes 17:00 EST = 22:00Z
    expect(&check(&w, cust("2125550101", "C1"), MON_10), None, None, None, Some("2026-11-02T22:00:00.000Z"));
}

#[test]
fn s5_closed_window_restricts_until_next_open() {
    let w = rules(json!([cct("c1", "Customer", "C1", "All", None, weekdays("09:00", "17:00"))]));
    // Monday 18:00 EST → Tuesday 09:00 EST = 14:00Z
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-02T23:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("c1"),
        Some("2026-11-03T14:00:00.000Z"),
        None,
    );
    // Friday 18:00 EST → Monday 09:00 EST
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-06T23:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("c1"),
        Some("2026-11-09T14:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_end_boundary_is_exclusive_start_inclusive() {
    let w = rules(json!([cct("c1", "Customer", "C1", "All", None, weekdays("09:00", "17:00"))]));
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-02T22:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("c1"),
        Some("2026-11-03T14:00:00.000Z"),
        None,
    );
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-02T14:00:00Z"),
        None,
        None,
        None,
        Some("2026-11-02T22:00:00.000Z"),
    );
}

#[test]
fn s5_specific_beats_channel_wide_beats_all() {
    let all_day = json!([{"dayOfWeek": ["Monday","Tuesday","Wednesday","Thursday","Friday","Saturday","Sunday"], "startTime": "00:00", "endTime": "24:00"}]);
    let w = rules(json!([
        cct("all", "Customer", "C1", "All", None, all_day.clone()),
        cct("wide", "Customer", "C1", "Voice", None, weekdays("12:00", "13:00")),
        cct("spec", "Customer", "C1", "Voice", Some("(212) 555-0101"), weekdays("14:00", "15:00"))
    ]));
    // specific tier wins for its number: closed at 10:00, opens 14:00 EST = 19:00Z
    expect(
        &check(&w, cust("2125550101", "C1"), MON_10),
        Some("ConvenientContactTimeCustomerVoice"),
        Some("spec"),
        Some("2026-11-02T19:00:00.000Z"),
        None,
    );
    // another number: channel-wide tier
    expect(
        &check(&w, cust("2125550199", "C1"), MON_10),
        Some("ConvenientContactTimeCustomerNoVoice"),
        Some("wide"),
        Some("2026-11-02T17:00:00.000Z"),
        None,
    );
    // SMS: only the All tier applies; open around the clock every day, it never closes
    let sms = json!({"contactChannel": "SMS", "contactAddress": "2125550101", "customer": "C1", "timeZone": NY});
    expect(&check(&w, sms, MON_10), None, None, None, None);
}

#[test]
fn s5_account_rules_and_suffixes() {
    let w = rules(json!([
        cct("a1", "Account", "AC-1", "SMS", None, weekdays("12:00", "13:00")),
        cct("a2", "Account", "AC-1", "Email", Some("Jo@Ex.com"), weekdays("12:00", "13:00"))
    ]));
    let sms = json!({"contactChannel": "SMS", "contactAddress": "2125550101", "accountNumber": "AC-1", "timeZone": NY});
    expect(
        &check(&w, sms, MON_10),
        Some("ConvenientContactTimeAccountNoSMS"),
        Some("a1"),
        Some("2026-11-02T17:00:00.000Z"),
        None,
    );
    let email =
        json!({"contactChannel": "Email", "contactAddress": "jo@ex.com", "accountNumber": "AC-1", "timeZone": NY});
    expect(
        &check(&w, email, MON_10),
        Some("ConvenientContactTimeAccountEmail"),
        Some("a2"),
        Some("2026-11-02T17:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_customer_checked_before_account() {
    let w = rules(json!([
        cct("acc", "Account", "AC-1", "All", None, weekdays("20:00", "21:00")),
        cct("cus", "Customer", "C1", "All", None, weekdays("12:00", "13:00"))
    ]));
    let rec = with(cust("2125550101", "C1"), json!({"accountNumber": "AC-1"}));
    // both restrict; the customer rule is reported even though the account one ends later
    expect(
        &check(&w, rec.clone(), MON_10),
        Some("ConvenientContactTimeCustomer"),
        Some("cus"),
        Some("2026-11-02T17:00:00.000Z"),
        None,
    );
    // at 12:30 the customer rule is open, the account rule restricts
    expect(
        &check(&w, rec, "2026-11-02T17:30:00Z"),
        Some("ConvenientContactTimeAccount"),
        Some("acc"),
        Some("2026-11-03T01:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_expired_rule_does_not_apply_and_end_capped_by_rule_end() {
    let mut expired = cct("old", "Customer", "C1", "Voice", None, weekdays("12:00", "13:00"));
    expired["endTime"] = json!("2026-11-01T00:00:00Z");
    let mut ending = cct("end", "Customer", "C1", "All", None, weekdays("12:00", "13:00"));
    ending["endTime"] = json!("2026-11-02T16:00:00Z");
    let w = rules(json!([expired, ending]));
    // the channel-wide rule expired, so the All rule is used; it ends at 16:00Z, before the 17:00Z opening
    expect(
        &check(&w, cust("2125550101", "C1"), MON_10),
        Some("ConvenientContactTimeCustomer"),
        Some("end"),
        Some("2026-11-02T16:00:00.000Z"),
        None,
    );
    // at its endTime it no longer applies
    expect(&check(&w, cust("2125550101", "C1"), "2026-11-02T16:00:00Z"), None, None, None, None);
}

#[test]
fn s5_start_not_reported_when_rule_expires_first() {
    let mut r = cct("c", "Customer", "C1", "All", None, weekdays("09:00", "17:00"));
    r["endTime"] = json!("2026-11-02T20:00:00Z");
    let w = rules(json!([r]));
    // open now; it would close at 22:00Z but the rule expires at 20:00Z
    expect(&check(&w, cust("2125550101", "C1"), MON_10), None, None, None, None);
}

#[test]
fn s5_overnight_windows() {
    let w = rules(json!([cct(
        "n",
        "Customer",
        "C1",
        "All",
        None,
        json!([{"dayOfWeek": ["Monday"], "startTime": "22:00", "endTime": "06:00"}])
    )]));
    // Monday 21:00 EST: closed until 22:00 EST = 03:00Z Tuesday
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-03T02:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("n"),
        Some("2026-11-03T03:00:00.000Z"),
        None,
    );
    // Tuesday 03:00 EST: open (Monday's window), closes 06:00 EST = 11:00Z
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-03T08:00:00Z"),
        None,
        None,
        None,
        Some("2026-11-03T11:00:00.000Z"),
    );
    // Tuesday 07:00 EST: closed until next Monday 22:00 EST
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-03T12:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("n"),
        Some("2026-11-10T03:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_24_00_and_equal_start_end() {
    let w = rules(json!([cct(
        "m",
        "Customer",
        "C1",
        "All",
        None,
        json!([{"dayOfWeek": ["Monday"], "startTime": "18:00", "endTime": "24:00"}])
    )]));
    // Monday 23:30 EST: open, closes at Tuesday 00:00 EST = 05:00Z
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-03T04:30:00Z"),
        None,
        None,
        None,
        Some("2026-11-03T05:00:00.000Z"),
    );
    let w = rules(json!([cct(
        "d",
        "Customer",
        "C1",
        "All",
        None,
        json!([{"dayOfWeek": ["Monday"], "startTime": "09:00", "endTime": "09:00"}])
    )]));
    // 24 hours from Monday 09:00: Tuesday 08:00 EST is open, closes 09:00 EST = 14:00Z
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-03T13:00:00Z"),
        None,
        None,
        None,
        Some("2026-11-03T14:00:00.000Z"),
    );
    // Tuesday 09:00 EST: closed until next Monday 09:00 EST
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-03T14:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("d"),
        Some("2026-11-09T14:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_no_windows_is_never_open() {
    let w = rules(json!([cct("e", "Customer", "C1", "All", None, json!([]))]));
    expect(&check(&w, cust("2125550101", "C1"), MON_10), Some("ConvenientContactTimeCustomer"), Some("e"), None, None);
    let mut r = cct("e", "Customer", "C1", "All", None, json!([]));
    r["endTime"] = json!("2026-11-04T00:00:00Z");
    let w = rules(json!([r]));
    expect(
        &check(&w, cust("2125550101", "C1"), MON_10),
        Some("ConvenientContactTimeCustomer"),
        Some("e"),
        Some("2026-11-04T00:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_dst_spring_forward_gap_opens_at_first_instant_after() {
    // 2026-03-08: New York skips 02:00–03:00. A 02:30–03:30 window opens at 03:00 EDT = 07:00Z.
    let w = rules(json!([cct(
        "g",
        "Customer",
        "C1",
        "All",
        None,
        json!([{"dayOfWeek": ["Sunday"], "startTime": "02:30", "endTime": "03:30"}])
    )]));
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-03-08T06:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("g"),
        Some("2026-03-08T07:00:00.000Z"),
        None,
    );
    // at 03:10 EDT it is open and closes at 03:30 EDT = 07:30Z
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-03-08T07:10:00Z"),
        None,
        None,
        None,
        Some("2026-03-08T07:30:00.000Z"),
    );
}

#[test]
fn s5_dst_window_inside_skipped_hour_never_opens_that_day() {
    let w = rules(json!([cct(
        "g",
        "Customer",
        "C1",
        "All",
        None,
        json!([{"dayOfWeek": ["Sunday"], "startTime": "02:10", "endTime": "02:50"}])
    )]));
    // next opening: Sunday 2026-03-15 02:10 EDT = 06:10Z
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-03-08T06:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("g"),
        Some("2026-03-15T06:10:00.000Z"),
        None,
    );
}

#[test]
fn s5_dst_fall_back_repeated_hour_opens_twice() {
    // 2026-11-01: 01:00–02:00 happens twice (EDT then EST).
    let w = rules(json!([cct(
        "f",
        "Customer",
        "C1",
        "All",
        None,
        json!([{"dayOfWeek": ["Sunday"], "startTime": "01:00", "endTime": "01:30"}])
    )]));
    // 01:45 EDT (05:45Z): closed; reopens at 01:00 EST = 06:00Z
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-01T05:45:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("f"),
        Some("2026-11-01T06:00:00.000Z"),
        None,
    );
    // 01:10 EDT: open, closes at 01:30 EDT = 05:30Z
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-01T05:10:00Z"),
        None,
        None,
        None,
        Some("2026-11-01T05:30:00.000Z"),
    );
    // a window starting before the repeated hour reopens at the transition itself
    let w = rules(json!([cct(
        "h",
        "Customer",
        "C1",
        "All",
        None,
        json!([{"dayOfWeek": ["Sunday"], "startTime": "00:30", "endTime": "01:30"}])
    )]));
    expect(
        &check(&w, cust("2125550101", "C1"), "2026-11-01T05:45:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("h"),
        Some("2026-11-01T06:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_kolkata_half_hour_offset() {
    let w = rules(json!([cct("k", "Account", "AC-1", "All", None, weekdays("09:00", "18:00"))]));
    let rec = json!({"contactChannel": "Voice", "contactAddress": "919800000001", "accountNumber": "AC-1", "timeZone": "Asia/Kolkata"});
    // Monday 18:30 IST = 13:00Z: closed until Tuesday 09:00 IST = 03:30Z
    expect(
        &check(&w, rec.clone(), "2026-11-02T13:00:00Z"),
        Some("ConvenientContactTimeAccount"),
        Some("k"),
        Some("2026-11-03T03:30:00.000Z"),
        None,
    );
    // Monday 10:00 IST: open until 18:00 IST = 12:30Z
    expect(&check(&w, rec, "2026-11-02T04:30:00Z"), None, None, None, Some("2026-11-02T12:30:00.000Z"));
}

#[test]
fn s5_lord_howe_half_hour_dst() {
    // 2026-10-04: Lord Howe jumps 02:00 → 02:30 (+10:30 → +11:00); a 02:00–02:15 window never opens that day.
    let w = rules(json!([cct(
        "l",
        "Customer",
        "C1",
        "All",
        None,
        json!([{"dayOfWeek": ["Sunday"], "startTime": "02:00", "endTime": "02:15"}])
    )]));
    let rec = json!({"contactChannel": "Voice", "contactAddress": "61255500001", "customer": "C1", "timeZone": "Australia/Lord_Howe"});
    // now 01:30 local (+10:30) = 15:00Z Oct 3; next opening Sunday Oct 11 02:00 (+11:00) = 15:00Z Oct 10
    expect(
        &check(&w, rec, "2026-10-03T15:00:00Z"),
        Some("ConvenientContactTimeCustomer"),
        Some("l"),
        Some("2026-10-10T15:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_v3_rule_is_customer_voice_specific() {
    let w = rules(json!([{"id": "v3", "customer": "C1", "phone": "212-555-0101",
        "convenientTimes": [{"dayOfWeek": ["Monday"], "startTime": "12:00", "endTime": "13:00"}]}]));
    expect(
        &check(&w, cust("2125550101", "C1"), MON_10),
        Some("ConvenientContactTimeCustomerVoice"),
        Some("v3"),
        Some("2026-11-02T17:00:00.000Z"),
        None,
    );
}

#[test]
fn s5_duplicate_identity_replaces_earlier() {
    let w = rules(json!([
        cct("first", "Customer", "C1", "All", None, weekdays("12:00", "13:00")),
        cct("second", "Customer", "C1", "All", None, weekdays("09:00", "17:00"))
    ]));
    expect(&check(&w, cust("2125550101", "C1"), MON_10), None, None, None, Some("2026-11-02T22:00:00.000Z"));
}

#[test]
fn s3_start_time_is_the_earliest_of_exclusion_start_and_window_close() {
    let w = rules(json!([
        cct("c", "Customer", "C1", "All", None, weekdays("09:00", "17:00")),
        {"id": "x", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-02T18:00:00Z"}
    ]));
    expect(&check(&w, cust("2125550101", "C1"), MON_10), None, None, None, Some("2026-11-02T18:00:00.000Z"));
    // without the exclusion check, only the window close counts
    let rec = with(cust("2125550101", "C1"), json!({"requiredChecks": ["convenientContactTimes"]}));
    expect(&check(&w, rec, MON_10), None, None, None, Some("2026-11-02T22:00:00.000Z"));
}

// ------------------------------------------------------------------ §6 quotas

#[test]
fn s6_quota_available_and_exhausted() {
    let w = rules(json!([
        {"id": "q1", "product": "Gold Card", "totalQuota": 100, "productSold": 50},
        {"id": "q2", "product": "Platinum", "totalQuota": 10, "productSold": 10},
        {"id": "q3", "product": "Silver", "totalQuota": 10, "productSold": 15}
    ]));
    let r = check(&w, with(voice("2125550101"), json!({"product": " gold card "})), MON_10);
    expect(&r, None, None, None, None);
    assert_eq!(r["availableQuota"], 50);
    let r = check(&w, with(voice("2125550101"), json!({"product": "PLATINUM"})), MON_10);
    expect(&r, Some("QuotaExhausted"), Some("q2"), None, None);
    assert_eq!(r["availableQuota"], 0);
    assert_eq!(r["messageType"], Value::Null, "later checks do not run");
    let r = check(&w, with(voice("2125550101"), json!({"product": "Silver"})), MON_10);
    expect(&r, Some("QuotaExhausted"), Some("q3"), None, None);
    assert_eq!(r["availableQuota"], -5);
}

#[test]
fn s6_no_product_or_unknown_product_is_not_restricted() {
    let w = rules(json!([{"id": "q", "product": "Gold", "totalQuota": 1, "productSold": 1}]));
    assert_eq!(check(&w, voice("2125550101"), MON_10)["availableQuota"], Value::Null);
    let r = check(&w, with(voice("2125550101"), json!({"product": "Bronze"})), MON_10);
    expect(&r, None, None, None, None);
    assert_eq!(r["availableQuota"], Value::Null);
}

#[test]
fn s6_duplicate_product_replaces_earlier() {
    let w = rules(json!([
        {"id": "old", "product": "Gold", "totalQuota": 1, "productSold": 1},
        {"id": "new", "product": "GOLD", "totalQuota": 5, "productSold": 1}
    ]));
    assert_eq!(check(&w, with(voice("2125550101"), json!({"product": "gold"})), MON_10)["availableQuota"], 4);
}

#[test]
fn s6_available_quota_kept_when_a_later_check_restricts() {
    let w = world(
        json!([{"id": "q", "product": "Gold", "totalQuota": 5, "productSold": 1},
               {"id": "t", "attemptTrackerName": "never", "typeOfTracker": "ContactAddress", "numberOfAttempts": 0, "thresholdType": "Day", "threshold": 1}]),
        json!([]),
        json!({}),
    );
    let r = check(&w, with(voice("2125550101"), json!({"product": "gold"})), MON_10);
    expect(&r, Some("AttemptTrackerContactAddressVoice"), Some("t"), None, None);
    assert_eq!(r["availableQuota"], 4);
}

// ------------------------------------------------------------------ §7 attempt trackers

fn tracker(id: &str, ty: &str, n: i64, tt: &str, th: i64) -> Value {
    json!({"id": id, "attemptTrackerName": format!("{id}-name"), "typeOfTracker": ty, "numberOfAttempts": n,
           "thresholdType": tt, "threshold": th, "dispositions": []})
}

fn attempt(addr: &str, account: &str, at: &str) -> Value {
    json!({"contactChannel": "Voice", "contactAddress": addr, "accountNumber": account, "customer": "C1", "timeOfContact": at})
}

fn acct(addr: &str, account: &str) -> Value {
    with(voice(addr), json!({"accountNumber": account, "customer": "C1"}))
}

fn daily(from_day: u32, to_day_incl: u32, month: u32, hhmm: &str) -> Vec<Value> {
    (from_day..=to_day_incl)
        .map(|d| attempt("2125550101", "AC-1", &format!("2026-{month:02}-{d:02}T{hhmm}:00Z")))
        .collect()
}

#[test]
fn s7_reg_f_seven_in_seven_days() {
    let h = Value::Array(daily(27, 31, 10, "14:00").into_iter().chain(daily(1, 2, 11, "14:00")).collect());
    let w = world(json!([tracker("regf", "Account", 7, "Day", 7)]), h, json!({}));
    // window: local midnight Oct 27 (EDT) = 04:00Z; a1 = Oct 27 → ends midnight Nov 3 EST = 05:00Z
    let r = check(&w, acct("2125550101", "AC-1"), MON_10);
    expect(&r, Some("AttemptTrackerAccountVoice"), Some("regf"), Some("2026-11-03T05:00:00.000Z"), None);
    assert_eq!(r["restrictedRuleName"], "regf-name");
}

#[test]
fn s7_attempts_before_the_window_are_not_counted() {
    let h = Value::Array(daily(26, 31, 10, "03:59").into_iter().chain(daily(1, 1, 11, "14:00")).collect());
    // Oct 26 03:59Z and Oct 27 03:59Z are before local midnight Oct 27 (04:00Z): only 6 count
    let w = world(json!([tracker("regf", "Account", 7, "Day", 7)]), h, json!({}));
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), None, None, None, None);
}

#[test]
fn s7_k_minus_n_plus_one_th_attempt_sets_the_end() {
    let h = Value::Array(daily(27, 31, 10, "14:00").into_iter().chain(daily(1, 2, 11, "14:00")).collect());
    // N=3 of 7 counted: a5 = Oct 31 → midnight Nov 7 EST = 05:00Z
    let w = world(json!([tracker("t", "Account", 3, "Day", 7)]), h, json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("t"),
        Some("2026-11-07T05:00:00.000Z"),
        None,
    );
}

#[test]
fn s7_future_and_disabled_attempts_are_ignored() {
    let mut h = daily(1, 1, 11, "14:00");
    h.push(attempt("2125550101", "AC-1", "2026-11-02T15:00:01Z"));
    let mut disabled = attempt("2125550101", "AC-1", "2026-11-02T14:30:00Z");
    disabled["status"] = json!("Disabled");
    h.push(disabled);
    let w = world(json!([tracker("t", "Account", 2, "Day", 7)]), Value::Array(h.clone()), json!({}));
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), None, None, None, None);
    // an attempt exactly at now counts
    h.push(attempt("2125550101", "AC-1", MON_10));
    let w = world(json!([tracker("t", "Account", 2, "Day", 7)]), Value::Array(h), json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("t"),
        Some("2026-11-08T05:00:00.000Z"),
        None,
    );
}

#[test]
fn s7_conversation_disposition_one_in_seven_days() {
    let mut conv = attempt("2125550101", "AC-1", "2026-10-30T18:00:00Z");
    conv["disposition"] = json!("conversation");
    let mut other = attempt("2125550101", "AC-1", "2026-11-01T18:00:00Z");
    other["disposition"] = json!("NoAnswer");
    let mut t = tracker("conv", "Account", 1, "Day", 7);
    t["dispositions"] = json!(["Conversation"]);
    let w = world(json!([t]), json!([conv, other]), json!({}));
    // Oct 30 (EDT date) + 7 = Nov 6, midnight EST = 05:00Z
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("conv"),
        Some("2026-11-06T05:00:00.000Z"),
        None,
    );
    let w = world(json!([t]), json!([other]), json!({}));
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), None, None, None, None);
}

#[test]
fn s7_minute_window_is_sliding_and_exclusive_at_its_start() {
    let h = json!([
        attempt("2125550101", "AC-1", "2026-11-02T14:30:00Z"),
        attempt("2125550101", "AC-1", "2026-11-02T14:40:00Z"),
        attempt("2125550101", "AC-1", "2026-11-02T14:50:00Z")
    ]);
    let w = world(json!([tracker("m", "ContactAddress", 2, "Minute", 30)]), h.clone(), json!({}));
    // 14:30 is exactly now − 30 min: not counted; a1 = 14:40 → ends 15:10Z
    expect(
        &check(&w, voice("2125550101"), MON_10),
        Some("AttemptTrackerContactAddressVoice"),
        Some("m"),
        Some("2026-11-02T15:10:00.000Z"),
        None,
    );
    let w = world(json!([tracker("m", "ContactAddress", 3, "Minute", 30)]), h, json!({}));
    expect(&check(&w, voice("2125550101"), MON_10), None, None, None, None);
}

#[test]
fn s7_hour_window() {
    let h = json!([
        attempt("2125550101", "AC-1", "2026-11-02T13:10:00Z"),
        attempt("2125550101", "AC-1", "2026-11-02T13:30:00Z"),
        attempt("2125550101", "AC-1", "2026-11-02T14:00:00Z"),
        attempt("2125550101", "AC-1", "2026-11-02T14:30:00Z")
    ]);
    // 4 counted, N=3: a2 = 13:30 + 2 h = 15:30Z
    let w = world(json!([tracker("h", "Customer", 3, "Hour", 2)]), h, json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerCustomerVoice"),
        Some("h"),
        Some("2026-11-02T15:30:00.000Z"),
        None,
    );
}

#[test]
fn s7_zero_attempts_always_restricts_with_null_end() {
    let w = rules(json!([tracker("z", "ContactAddress", 0, "Day", 1)]));
    let r = check(&w, voice("2125550101"), MON_10);
    expect(&r, Some("AttemptTrackerContactAddressVoice"), Some("z"), None, None);
    assert_eq!(r["restrictedRuleName"], "z-name");
}

#[test]
fn s7_current_day_week_month() {
    let h = json!([attempt("2125550101", "AC-1", "2026-11-02T05:00:00Z")]);
    // CurrentDay: local midnight Nov 2 EST = 05:00Z is inclusive; ends next midnight
    let w = world(json!([tracker("d", "Account", 1, "CurrentDay", 1)]), h.clone(), json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("d"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    // CurrentWeek: Wednesday Nov 4; the Monday attempt counts, Sunday's would not; ends next Monday
    let h2 = json!([
        attempt("2125550101", "AC-1", "2026-11-02T05:00:00Z"),
        attempt("2125550101", "AC-1", "2026-11-01T20:00:00Z")
    ]);
    let w = world(json!([tracker("w", "Account", 1, "CurrentWeek", 1)]), h2.clone(), json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), "2026-11-04T15:00:00Z"),
        Some("AttemptTrackerAccountVoice"),
        Some("w"),
        Some("2026-11-09T05:00:00.000Z"),
        None,
    );
    let w = world(json!([tracker("w", "Account", 2, "CurrentWeek", 1)]), h2, json!({}));
    expect(&check(&w, acct("2125550101", "AC-1"), "2026-11-04T15:00:00Z"), None, None, None, None);
    // CurrentMonth at the month's last day; Oct 31 does not count; ends Dec 1 00:00 EST
    let h3 = json!([
        attempt("2125550101", "AC-1", "2026-10-31T20:00:00Z"),
        attempt("2126550101", "AC-1", "2026-11-01T05:00:00Z")
    ]);
    let w = world(json!([tracker("mo", "Account", 1, "CurrentMonth", 1)]), h3.clone(), json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), "2026-11-30T15:00:00Z"),
        Some("AttemptTrackerAccountVoice"),
        Some("mo"),
        Some("2026-12-01T05:00:00.000Z"),
        None,
    );
    let w = world(json!([tracker("mo", "Account", 2, "CurrentMonth", 1)]), h3, json!({}));
    expect(&check(&w, acct("2125550101", "AC-1"), "2026-11-30T15:00:00Z"), None, None, None, None);
}

#[test]
fn s7_week_threshold() {
    let h = Value::Array(daily(20, 22, 10, "14:00"));
    // Week T=2: local midnight of (today − 13 days) = Oct 20 00:00 EDT; a1 = Oct 20 → + 14 days = Nov 3 05:00Z
    let w = world(json!([tracker("wk", "Account", 3, "Week", 2)]), h.clone(), json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("wk"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    let w = world(json!([tracker("wk", "Account", 3, "Week", 1)]), h, json!({}));
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), None, None, None, None);
}

#[test]
fn s7_day_window_across_fall_back() {
    let h = json!([
        attempt("2125550101", "AC-1", "2026-11-01T03:59:00Z"),
        attempt("2125550101", "AC-1", "2026-11-01T04:30:00Z")
    ]);
    // T=2: local midnight Nov 1 (EDT) = 04:00Z; only 04:30Z counts; Nov 1 + 2 = Nov 3 00:00 EST = 05:00Z
    let w = world(json!([tracker("t", "Account", 1, "Day", 2)]), h.clone(), json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("t"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    let w = world(json!([tracker("t", "Account", 2, "Day", 2)]), h, json!({}));
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), None, None, None, None);
}

#[test]
fn s7_day_window_across_spring_forward() {
    let h = json!([attempt("2125550101", "AC-1", "2026-03-08T05:00:00Z")]);
    // Monday 2026-03-09 11:00 EDT; T=2 → local midnight Mar 8 (EST) = 05:00Z inclusive; ends Mar 10 00:00 EDT = 04:00Z
    let w = world(json!([tracker("t", "Account", 1, "Day", 2)]), h, json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), "2026-03-09T15:00:00Z"),
        Some("AttemptTrackerAccountVoice"),
        Some("t"),
        Some("2026-03-10T04:00:00.000Z"),
        None,
    );
}

#[test]
fn s7_windows_use_the_record_zone() {
    let h = json!([attempt("2125550101", "AC-1", "2026-11-02T02:00:00Z")]);
    let w = world(json!([tracker("t", "Account", 1, "CurrentDay", 1)]), h, json!({}));
    // 02:00Z is Nov 1 21:00 in New York (not today) but Nov 2 07:30 in Kolkata (today)
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), None, None, None, None);
    let rec = with(acct("2125550101", "AC-1"), json!({"timeZone": "Asia/Kolkata"}));
    expect(
        &check(&w, rec, MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("t"),
        Some("2026-11-02T18:30:00.000Z"),
        None,
    );
}

#[test]
fn s7_channel_sets_and_across() {
    let sms = json!({"contactChannel": "SMS", "contactAddress": "2125550101", "accountNumber": "AC-1", "customer": "C1", "timeOfContact": "2026-11-02T14:00:00Z"});
    let email = json!({"contactChannel": "Email", "contactAddress": "a@b.c", "accountNumber": "AC-1", "customer": "C1", "timeOfContact": "2026-11-02T14:10:00Z"});
    let mut voice_only = tracker("v", "Account", 1, "Day", 1);
    voice_only["contactChannels"] = json!(["Voice"]);
    voice_only["acrossContactChannels"] = json!(false);
    let w = world(json!([voice_only.clone()]), json!([sms.clone()]), json!({}));
    // the SMS attempt is not counted for a Voice record when not across
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), None, None, None, None);
    // and the tracker does not apply to an SMS record
    let sms_rec =
        json!({"contactChannel": "SMS", "contactAddress": "2125550101", "accountNumber": "AC-1", "timeZone": NY});
    let w = world(
        json!([tracker("z", "Account", 0, "Day", 1)
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .chain([("contactChannels".to_string(), json!(["Voice"]))])
            .collect::<serde_json::Map<_, _>>()]),
        json!([]),
        json!({}),
    );
    expect(&check(&w, sms_rec, MON_10), None, None, None, None);
    // across Voice+SMS counts the SMS attempt, not the Email one
    let mut across = tracker("x", "Account", 2, "Day", 1);
    across["contactChannels"] = json!(["Voice", "SMS"]);
    across["acrossContactChannels"] = json!(true);
    let w = world(json!([across.clone()]), json!([sms.clone(), email.clone()]), json!({}));
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), None, None, None, None);
    let w = world(
        json!([across]),
        json!([sms.clone(), email, attempt("2125550101", "AC-1", "2026-11-02T14:20:00Z")]),
        json!({}),
    );
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("x"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    // excludeContactChannels [Email] = {Voice, SMS}
    let mut excl = tracker("e", "Account", 1, "Day", 1);
    excl["contactChannels"] = json!(["Email"]);
    excl["excludeContactChannels"] = json!(true);
    excl["acrossContactChannels"] = json!(true);
    let w = world(json!([excl]), json!([sms]), json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("e"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
}

#[test]
fn s7_v3_tracker_counts_across_all_channels() {
    let email = json!({"contactChannel": "Email", "contactAddress": "a@b.c", "customer": "C1", "timeOfContact": "2026-11-02T14:10:00Z"});
    let w = world(json!([tracker("v3", "Customer", 1, "Day", 1)]), json!([email]), json!({}));
    expect(
        &check(&w, cust("2125550101", "C1"), MON_10),
        Some("AttemptTrackerCustomerVoice"),
        Some("v3"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
}

#[test]
fn s7_key_types_match_normalised_keys() {
    let h = json!([
        {"contactChannel": "Voice", "contactAddress": "+1 212-555-0101", "customer": "C1", "timeOfContact": "2026-11-02T14:00:00Z"},
        {"contactChannel": "Voice", "contactAddress": "2125550199", "customer": "C1", "timeOfContact": "2026-11-02T14:05:00Z"}
    ]);
    // ContactAddress: only the first (normalised digits match "12125550101")
    let w = world(json!([tracker("a", "ContactAddress", 1, "Day", 1)]), h.clone(), json!({}));
    expect(
        &check(&w, voice("1 (212) 555 0101"), MON_10),
        Some("AttemptTrackerContactAddressVoice"),
        Some("a"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    expect(&check(&w, voice("2125550101"), MON_10), None, None, None, None);
    // CustomerContactAddress needs both
    let w = world(json!([tracker("cc", "CustomerContactAddress", 2, "Day", 1)]), h.clone(), json!({}));
    expect(&check(&w, cust("2125550199", "C1"), MON_10), None, None, None, None);
    let w = world(json!([tracker("cc", "CustomerContactAddress", 1, "Day", 1)]), h.clone(), json!({}));
    expect(
        &check(&w, cust("2125550199", "C1"), MON_10),
        Some("AttemptTrackerCustomerContactAddressVoice"),
        Some("cc"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    expect(&check(&w, cust("2125550199", "C2"), MON_10), None, None, None, None);
    // Customer counts both; a record without customer is not tracked by it
    let w = world(json!([tracker("c", "Customer", 2, "Day", 1)]), h, json!({}));
    expect(
        &check(&w, cust("2125559999", "C1"), MON_10),
        Some("AttemptTrackerCustomerVoice"),
        Some("c"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    let w = rules(json!([tracker("c0", "Customer", 0, "Day", 1)]));
    expect(&check(&w, voice("2125559999"), MON_10), None, None, None, None);
}

#[test]
fn s7_account_contact_address() {
    let h = json!([
        attempt("2125550101", "AC-1", "2026-11-02T14:00:00Z"),
        attempt("2125550102", "AC-1", "2026-11-02T14:00:00Z")
    ]);
    let w = world(json!([tracker("ac", "AccountContactAddress", 1, "Day", 1)]), h, json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountContactAddressVoice"),
        Some("ac"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    expect(&check(&w, acct("2125550103", "AC-1"), MON_10), None, None, None, None);
}

#[test]
fn s7_number_type_purpose_geocode_filters() {
    let mut a = attempt("2125550101", "AC-1", "2026-11-02T14:00:00Z");
    a["numberType"] = json!(2);
    a["purpose"] = json!("Collections");
    a["geocodes"] = json!(["NY", "US"]);
    let mut t = tracker("f", "Account", 1, "Day", 1);
    t["numberTypes"] = json!([2, 3]);
    t["purposes"] = json!(["collections"]);
    t["geocodes"] = json!(["ny"]);
    let w = world(json!([t]), json!([a]), json!({}));
    let rec =
        with(acct("2125550101", "AC-1"), json!({"numberType": 2, "purpose": "COLLECTIONS", "geocodes": ["US", "NY"]}));
    expect(
        &check(&w, rec.clone(), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("f"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
    // record numberType not listed / missing: the tracker does not apply
    expect(&check(&w, with(rec.clone(), json!({"numberType": 1})), MON_10), None, None, None, None);
    expect(&check(&w, with(rec.clone(), json!({"numberType": null})), MON_10), None, None, None, None);
    expect(&check(&w, with(rec.clone(), json!({"geocodes": ["CA"]})), MON_10), None, None, None, None);
    expect(&check(&w, with(rec.clone(), json!({"purpose": "Sales"})), MON_10), None, None, None, None);
    // attempts with another numberType are not counted
    let mut b = attempt("2125550101", "AC-1", "2026-11-02T14:00:00Z");
    b["numberType"] = json!(1);
    b["purpose"] = json!("Collections");
    b["geocodes"] = json!("NY");
    let mut t2 = tracker("f", "Account", 1, "Day", 1);
    t2["numberTypes"] = json!([2]);
    let w = world(json!([t2]), json!([b]), json!({}));
    expect(&check(&w, rec, MON_10), None, None, None, None);
}

#[test]
fn s7_exempt_addresses() {
    let w = world(
        json!([tracker("addr", "ContactAddress", 0, "Day", 1), tracker("acc", "Account", 0, "Day", 1)]),
        json!([]),
        json!({"attemptTrackers": {"excludeFromContactAddressRule": ["(212) 555-0101"], "excludedContactAddresses": ["212 555 0199"]}}),
    );
    // address-rule exemption: only the Account tracker applies
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), Some("AttemptTrackerAccountVoice"), Some("acc"), None, None);
    // fully exempt: no tracker applies
    let r = check(&w, acct("2125550199", "AC-1"), MON_10);
    expect(&r, None, None, None, None);
    // not exempt: both restrict with null ends → smallest id "acc"
    expect(&check(&w, acct("2125550000", "AC-1"), MON_10), Some("AttemptTrackerAccountVoice"), Some("acc"), None, None);
}

#[test]
fn s7_latest_end_wins_then_smallest_id() {
    let h = json!([attempt("2125550101", "AC-1", "2026-11-02T14:50:00Z")]);
    let w = world(
        json!([tracker("short", "Account", 1, "Minute", 30), tracker("long", "Account", 1, "Day", 3)]),
        h.clone(),
        json!({}),
    );
    // Day 3 ends at midnight Nov 5 EST = 05:00Z, later than 15:20Z
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerAccountVoice"),
        Some("long"),
        Some("2026-11-05T05:00:00.000Z"),
        None,
    );
    let w = world(json!([tracker("t2", "Account", 1, "Day", 1), tracker("t1", "Customer", 1, "Day", 1)]), h, json!({}));
    expect(
        &check(&w, acct("2125550101", "AC-1"), MON_10),
        Some("AttemptTrackerCustomerVoice"),
        Some("t1"),
        Some("2026-11-03T05:00:00.000Z"),
        None,
    );
}

#[test]
fn s7_disabled_tracker_is_ignored() {
    let mut t = tracker("off", "ContactAddress", 0, "Day", 1);
    t["enabled"] = json!(false);
    let w = rules(json!([t]));
    expect(&check(&w, voice("2125550101"), MON_10), None, None, None, None);
}

// ------------------------------------------------------------------ §9 message trackers

fn mtracker(id: &str, n: i64, action: Option<&str>) -> Value {
    let mut v = json!({"id": id, "messageTrackerName": id, "typeOfTracker": "Account", "numberOfAttempts": n,
                       "thresholdType": "Day", "threshold": 1, "dispositions": ["MessageLeft"]});
    if let Some(a) = action {
        v["thresholdActionType"] = json!(a);
    }
    v
}

fn left(at: &str) -> Value {
    let mut a = attempt("2125550101", "AC-1", at);
    a["disposition"] = json!("messageleft");
    a
}

#[test]
fn s9_message_types() {
    let h = json!([left("2026-11-02T14:00:00Z")]);
    let w = world(json!([mtracker("m", 1, None)]), h.clone(), json!({}));
    let r = check(&w, acct("2125550101", "AC-1"), MON_10);
    expect(&r, None, None, None, None);
    assert_eq!(r["messageType"], "CannotPlay");
    let w = world(json!([mtracker("m", 1, Some("PlayStandardMessage"))]), h.clone(), json!({}));
    assert_eq!(check(&w, acct("2125550101", "AC-1"), MON_10)["messageType"], "CanPlayStandard");
    let w = world(
        json!([mtracker("a", 1, Some("PlayStandardMessage")), mtracker("b", 1, Some("NoPlayMessage"))]),
        h.clone(),
        json!({}),
    );
    assert_eq!(check(&w, acct("2125550101", "AC-1"), MON_10)["messageType"], "CannotPlay");
    let w = world(json!([mtracker("m", 2, None)]), h.clone(), json!({}));
    assert_eq!(check(&w, acct("2125550101", "AC-1"), MON_10)["messageType"], "CanPlay");
    let w = world(json!([mtracker("m", 0, Some("PlayStandardMessage"))]), json!([]), json!({}));
    assert_eq!(check(&w, acct("2125550101", "AC-1"), MON_10)["messageType"], "CanPlayStandard");
}

#[test]
fn s9_exempt_and_not_selected() {
    let h = json!([left("2026-11-02T14:00:00Z")]);
    let w = world(
        json!([mtracker("m", 1, None)]),
        h.clone(),
        json!({"messageTrackers": {"excludedContactAddresses": ["2125550101"]}}),
    );
    assert_eq!(check(&w, acct("2125550101", "AC-1"), MON_10)["messageType"], "CanPlay");
    let w = world(json!([mtracker("m", 1, None)]), h, json!({}));
    let r = check(&w, with(acct("2125550101", "AC-1"), json!({"requiredChecks": ["exclusions"]})), MON_10);
    assert_eq!(r["messageType"], Value::Null);
}

// ------------------------------------------------------------------ §3 order and requiredChecks

#[test]
fn s3_first_restricting_check_wins() {
    let w = world(
        json!([{"id": "ex", "exclusionType": "Voice", "exclusionValue": "2125550101"},
               cct("c", "Customer", "C1", "All", None, weekdays("12:00", "13:00")),
               {"id": "q", "product": "Gold", "totalQuota": 1, "productSold": 1},
               tracker("t", "Account", 0, "Day", 1)]),
        json!([]),
        json!({}),
    );
    let rec = with(acct("2125550101", "AC-1"), json!({"product": "Gold"}));
    let r = check(&w, rec.clone(), MON_10);
    expect(&r, Some("ExclusionVoice"), Some("ex"), None, None);
    assert_eq!((r["availableQuota"].clone(), r["messageType"].clone()), (Value::Null, Value::Null));
    let r = check(
        &w,
        with(rec.clone(), json!({"requiredChecks": ["quotaControls", "attemptTrackers", "convenientContactTimes"]})),
        MON_10,
    );
    expect(&r, Some("ConvenientContactTimeCustomer"), Some("c"), Some("2026-11-02T17:00:00.000Z"), None);
    let r = check(&w, with(rec.clone(), json!({"requiredChecks": ["attemptTrackers", "quotaControls"]})), MON_10);
    expect(&r, Some("QuotaExhausted"), Some("q"), None, None);
    let r = check(&w, with(rec.clone(), json!({"requiredChecks": ["attemptTrackers"]})), MON_10);
    expect(&r, Some("AttemptTrackerAccountVoice"), Some("t"), None, None);
    assert_eq!(r["restrictedRuleName"], "t-name");
    let r = check(&w, with(rec, json!({"requiredChecks": ["messageTrackers"]})), MON_10);
    expect(&r, None, None, None, None);
    assert_eq!(r["messageType"], "CanPlay");
}

#[test]
fn s3_restriction_start_only_when_allowed() {
    let w = world(
        json!([{"id": "future", "exclusionType": "Voice", "exclusionValue": "2125550101", "startTime": "2026-11-10T00:00:00Z"},
               tracker("t", "Account", 0, "Day", 1)]),
        json!([]),
        json!({}),
    );
    expect(&check(&w, acct("2125550101", "AC-1"), MON_10), Some("AttemptTrackerAccountVoice"), Some("t"), None, None);
    expect(&check(&w, voice("2125550101"), MON_10), None, None, None, Some("2026-11-10T00:00:00.000Z"));
}

#[test]
fn s1_default_zone_when_record_has_none() {
    let w = world(
        json!([tracker("t", "Account", 1, "CurrentDay", 1)]),
        json!([attempt("2125550101", "AC-1", "2026-11-02T02:00:00Z")]),
        json!({}),
    );
    let req: ComplianceStatusesInsertRequestV4 = serde_json::from_value(
        json!({"contactChannel": "Voice", "contactAddress": "2125550101", "accountNumber": "AC-1"}),
    )
    .unwrap();
    // default UTC: 02:00Z is today; ends at midnight UTC
    let rec = Record::from_request(&req, chrono_tz::Tz::UTC).unwrap();
    let d = evaluate(&w.engine, &rec, t(MON_10));
    assert_eq!(d.end, Some(t("2026-11-03T00:00:00Z")));
    // default New York: 02:00Z is yesterday evening, not counted
    let rec = Record::from_request(&req, chrono_tz::America::New_York).unwrap();
    assert_eq!(evaluate(&w.engine, &rec, t(MON_10)).restriction, None);
}

#[test]
fn s10_invalid_records_are_refused_with_the_field() {
    let bad = |v: Value| {
        let req: ComplianceStatusesInsertRequestV4 = serde_json::from_value(v).unwrap();
        Record::from_request(&req, chrono_tz::Tz::UTC).unwrap_err().field
    };
    assert_eq!(bad(json!({"contactAddress": "2125550101"})), "contactChannel");
    assert_eq!(bad(json!({"contactChannel": "Fax", "contactAddress": "2125550101"})), "contactChannel");
    assert_eq!(bad(json!({"contactChannel": "Voice", "contactAddress": "  "})), "contactAddress");
    assert_eq!(
        bad(json!({"contactChannel": "Voice", "contactAddress": "x", "timeZone": "Mars/Olympus"})),
        "contactAddress"
    );
    assert_eq!(bad(json!({"contactChannel": "Voice", "contactAddress": "1", "timeZone": "Mars/Olympus"})), "timeZone");
    assert_eq!(bad(json!({"contactChannel": "Voice", "contactAddress": "1", "numberType": "cell"})), "numberType");
    assert_eq!(
        bad(json!({"contactChannel": "Voice", "contactAddress": "1", "requiredChecks": ["dnc"]})),
        "requiredChecks"
    );
}

#[test]
fn s7_huge_thresholds_count_everything_without_overflow() {
    let h = json!([attempt("2125550101", "AC-1", "2020-01-01T00:00:00Z")]);
    for tt in ["Minute", "Hour", "Day", "Week"] {
        let w = world(json!([tracker("big", "Account", 1, tt, 4_000_000_000)]), h.clone(), json!({}));
        let r = check(&w, acct("2125550101", "AC-1"), MON_10);
        assert_eq!(r["restrictionType"], "AttemptTrackerAccountVoice", "{tt}: {r}");
        assert!(r["restrictionEndTime"].is_string(), "{tt}: {r}");
    }
}

/// The world the batch loader builds: history outside [`history_window`] dropped.
fn pruned_world(rules: &Value, hist: &[Value], now: &str) -> World {
    let mut set = RuleSet::default();
    let mut report = RuleLoadReport::default();
    for item in rules.as_array().unwrap() {
        add_json_item(&mut set, detect_kind(item.as_object().unwrap()).unwrap(), item.clone(), &mut report).unwrap();
    }
    let (from, to) = scrub::engine::history_window(&set, t(now));
    let mut hb = HistoryBuilder::with_window(from, to);
    for a in hist {
        let d: ContactAttemptDto = serde_json::from_value(a.clone()).unwrap();
        hb.push(&Attempt::from_dto(&d, None, None), std::iter::empty()).unwrap();
    }
    World { engine: Engine::new(set, hb.build(), Config::default()) }
}

/// Dropping history no tracker can reach (the loader's window) changes no answer.
#[test]
fn s7_history_window_pruning_is_invisible() {
    let rules = json!([
        tracker("d7", "Account", 3, "Day", 7),
        tracker("h1", "ContactAddress", 2, "Hour", 1),
        tracker("cm", "Customer", 4, "CurrentMonth", 1),
        tracker("cw", "Account", 2, "CurrentWeek", 1),
        mtracker("m", 1, None)
    ]);
    let mut hist = Vec::new();
    for d in 0..60 {
        for (k, hh) in ["03:10", "14:00", "23:50"].iter().enumerate() {
            let day = chrono::NaiveDate::from_ymd_opt(2026, 9, 10).unwrap() + chrono::Duration::days(d);
            let mut a = attempt(if k == 0 { "2125550101" } else { "2125550102" }, "AC-1", &format!("{day}T{hh}:00Z"));
            if d % 5 == 0 {
                a["disposition"] = json!("MessageLeft");
            }
            hist.push(a);
        }
    }
    let full = world(rules.clone(), Value::Array(hist.clone()), json!({}));
    for now in [
        "2026-11-02T15:00:00Z",
        "2026-10-01T04:00:00Z",
        "2026-11-01T06:30:00Z",
        "2026-10-31T23:59:59Z",
        "2026-10-26T01:00:00Z",
        "2026-11-02T11:30:00Z",
    ] {
        let pruned = pruned_world(&rules, &hist, now);
        for (addr, zone) in [
            ("2125550101", NY),
            ("2125550102", "Asia/Kolkata"),
            ("2125550102", "Pacific/Honolulu"),
            ("2125550101", "Pacific/Kiritimati"),
            ("2125550102", "Etc/GMT+12"),
        ] {
            let rec = with(acct(addr, "AC-1"), json!({"timeZone": zone}));
            assert_eq!(check(&full, rec.clone(), now), check(&pruned, rec, now), "{now} {addr} {zone}");
        }
    }
}

/// The pruning bound at its edge: one attempt a minute after the window opens
/// in the record's zone (Kiritimati, 14 h ahead of UTC; Etc/GMT+12, 12 h
/// behind) still restricts a one-attempt tracker after the loader's pruning,
/// for every calendar window, at instants where the zone's date differs from
/// UTC's and the week or month has just turned.
#[test]
fn s7_history_window_keeps_an_attempt_at_the_window_start() {
    use chrono::{Datelike, TimeZone};
    for (tt, th) in [("CurrentMonth", 1), ("CurrentWeek", 1), ("CurrentDay", 1), ("Day", 2), ("Week", 1)] {
        let rules = json!([tracker("edge", "Account", 1, tt, th)]);
        for now in ["2026-11-01T06:30:00Z", "2026-11-02T11:30:00Z", "2026-10-26T09:00:00Z", "2026-12-01T00:30:00Z"] {
            for zone in ["Pacific/Kiritimati", "Etc/GMT+12", NY] {
                let tz: chrono_tz::Tz = zone.parse().unwrap();
                let today = t(now).with_timezone(&tz).date_naive();
                let first = match tt {
                    "CurrentMonth" => today.with_day(1).unwrap(),
                    "CurrentWeek" => today - chrono::Duration::days(today.weekday().num_days_from_monday() as i64),
                    "CurrentDay" => today,
                    "Day" => today - chrono::Duration::days(th - 1),
                    _ => today - chrono::Duration::days(7 * th - 1),
                };
                let opens = tz.from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap();
                let at = (opens + chrono::Duration::minutes(1)).with_timezone(&Utc).to_rfc3339();
                let hist = vec![attempt("2125550101", "AC-1", &at)];
                let rec = with(acct("2125550101", "AC-1"), json!({"timeZone": zone}));
                let r = check(&pruned_world(&rules, &hist, now), rec.clone(), now);
                assert_eq!(r["restrictionType"], "AttemptTrackerAccountVoice", "{tt} {now} {zone} attempt {at}: {r}");
                assert_eq!(r, check(&world(rules.clone(), Value::Array(hist), json!({})), rec, now));
            }
        }
    }
}

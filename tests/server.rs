//! REST facade (SPEC §8, §13): router tests without a socket (`app(state)` +
//! `oneshot`), restart, tenants, active records, and batch-vs-REST agreement.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use scrub::server::{app, AppState, Clock, TokenEntry};

const A: &str = "secret-a";
const B: &str = "secret-b";
const NOW: &str = "2026-11-02T15:00:00Z";

fn tokens() -> Vec<TokenEntry> {
    vec![
        TokenEntry { org: "acme".into(), token: A.into(), user: Some("alice".into()) },
        TokenEntry { org: "beta".into(), token: B.into(), user: None },
    ]
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    scrub::time::parse_instant(s).unwrap()
}

fn open(dir: &Path, now: &str) -> Router {
    let (mut st, _) = AppState::open(dir, tokens(), Clock::Fixed(at(now)), chrono_tz::UTC, false).unwrap();
    st.log_requests = false;
    app(Arc::new(st))
}

async fn call(app: &Router, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    (status, v)
}

fn p(org: &str, rest: &str) -> String {
    format!("/via/v4/organizations/{org}/compliance/{rest}")
}

fn scope(v: &Value) -> &str {
    v["error"]["errors"][0]["scope"].as_str().unwrap_or("")
}

#[tokio::test]
async fn auth_and_error_classes() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let (s, v) = call(&app, "GET", &p("acme", "exclusions"), None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], 401);
    assert_eq!(call(&app, "GET", &p("acme", "exclusions"), Some("nope"), None).await.0, StatusCode::UNAUTHORIZED);
    // A token of another org: 403, whether or not the org exists.
    assert_eq!(call(&app, "GET", &p("acme", "exclusions"), Some(B), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, "GET", &p("ghost", "exclusions"), Some(B), None).await.0, StatusCode::FORBIDDEN);
    let (s, v) = call(&app, "GET", &p("acme", "nothing"), Some(A), None).await;
    assert_eq!((s, v["error"]["code"].as_i64()), (StatusCode::NOT_FOUND, Some(404)));
    assert_eq!(call(&app, "GET", "/no/such/path", Some(A), None).await.0, StatusCode::NOT_FOUND);
    let (s, v) = call(&app, "DELETE", &p("acme", "contactAttempts/x"), Some(A), None).await;
    assert_eq!((s, v["error"]["code"].as_i64()), (StatusCode::METHOD_NOT_ALLOWED, Some(405)));
    // Wrong content type.
    let req = Request::builder()
        .method("POST")
        .uri(p("acme", "exclusions"))
        .header("authorization", format!("Bearer {A}"))
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Malformed body, unknown enum, missing required field: 400 naming it.
    let req = Request::builder()
        .method("POST")
        .uri(p("acme", "exclusions"))
        .header("authorization", format!("Bearer {A}"))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::BAD_REQUEST);
    // `Phone` is a v3 tracker type (SPEC §7), not one of §4's exclusion types.
    for t in ["Fax", "Phone"] {
        let (s, v) = call(
            &app,
            "POST",
            &p("acme", "exclusions"),
            Some(A),
            Some(json!({"exclusionType": t, "exclusionValue":"2125550101"})),
        )
        .await;
        assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "exclusionType"), "{t}");
    }
    let (s, v) = call(&app, "POST", &p("acme", "exclusions"), Some(A), Some(json!({"exclusionType":"Voice"}))).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "exclusionValue"));
    let body = json!({"typeOfTracker":"Account","numberOfAttempts":1,"thresholdType":"Day","threshold":0,"contactChannels":["Voice"]});
    let (s, v) = call(&app, "POST", &p("acme", "attemptTrackers"), Some(A), Some(body)).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "threshold"));
    let (s, v) =
        call(&app, "POST", &p("acme", "complianceStatuses"), Some(A), Some(json!({"contactAddress":"2125550101"})))
            .await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "contactChannel"));
    let (s, v) = call(
        &app,
        "POST",
        &p("acme", "complianceStatuses"),
        Some(A),
        Some(json!({"contactChannel":"Voice","contactAddress":"2125550101","timeZone":"Mars/Base"})),
    )
    .await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "timeZone"));
    let (s, v) = call(&app, "GET", &p("acme", "exclusions?fromEndTime=yesterday"), Some(A), None).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "fromEndTime"));
    // v3-only shapes are not served for v4-only kinds.
    let v3 = "/via/v3/organizations/acme/compliance/attemptTrackers";
    assert_eq!(call(&app, "GET", v3, Some(A), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(call(&app, "GET", "/healthz", None, None).await, (StatusCode::OK, json!({"status":"ok"})));
    // Bodies over the 1 MiB limit: 413 in the API's error shape.
    let big = json!({"exclusionType":"Voice","exclusionValue":"1","reason":"x".repeat(1 << 20)});
    let (s, v) = call(&app, "POST", &p("acme", "exclusions"), Some(A), Some(big)).await;
    assert_eq!((s, v["error"]["code"].as_i64()), (StatusCode::PAYLOAD_TOO_LARGE, Some(413)));
}

#[tokio::test]
async fn exclusion_crud_versions_filters_and_pages() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let mut ids = vec![];
    for i in 0..7 {
        let body = json!({"exclusionType":"Voice","exclusionValue":format!("+1 (212) 555-01{i:02}"),
            "reason":"asked","endTime":format!("2026-12-0{}T00:00:00Z", i + 1)});
        let (s, v) = call(&app, "POST", &p("acme", "exclusions"), Some(A), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!((v["version"].as_i64(), v["kind"].as_str()), (Some(1), Some("via#exclusion")));
        assert_eq!(v["lastModifiedBy"], "alice");
        assert_eq!(v["creationTime"], "2026-11-02T15:00:00.000Z");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    // v3 path serves the same collection.
    let (s, v) =
        call(&app, "GET", "/via/v3/organizations/acme/compliance/exclusions?maxResults=3&startIndex=3", Some(A), None)
            .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["totalItems"], 7);
    assert_eq!(v["exclusions"].as_array().unwrap().len(), 3);
    assert_eq!(v["exclusions"][0]["id"], ids[3].as_str());
    assert_eq!(v["links"]["first"], "/via/v3/organizations/acme/compliance/exclusions?startIndex=0&maxResults=3");
    assert_eq!(v["links"]["last"], "/via/v3/organizations/acme/compliance/exclusions?startIndex=6&maxResults=3");
    assert_eq!(v["links"]["next"], "/via/v3/organizations/acme/compliance/exclusions?startIndex=6&maxResults=3");
    assert_eq!(v["links"]["prev"], "/via/v3/organizations/acme/compliance/exclusions?startIndex=0&maxResults=3");
    // Filters: value by digits, inclusive end-time range, type.
    let (_, v) = call(&app, "GET", &p("acme", "exclusions?exclusionValue=1-212-555-0103"), Some(A), None).await;
    assert_eq!((v["totalItems"].as_i64(), v["exclusions"][0]["id"].as_str()), (Some(1), Some(ids[3].as_str())));
    let q = "exclusions?fromEndTime=2026-12-02T00:00:00Z&toEndTime=2026-12-04T00:00:00Z";
    assert_eq!(call(&app, "GET", &p("acme", q), Some(A), None).await.1["totalItems"], 3);
    assert_eq!(call(&app, "GET", &p("acme", "exclusions?exclusionType=SSN"), Some(A), None).await.1["totalItems"], 0);
    assert_eq!(
        call(&app, "GET", &p("acme", "exclusions?lastModifiedBy=alice"), Some(A), None).await.1["totalItems"],
        7
    );
    // Get, put with a stale version (409), put (version 2), delete (204, then 404).
    let (s, v) = call(&app, "GET", &p("acme", &format!("exclusions/{}", ids[0])), Some(A), None).await;
    assert_eq!((s, v["exclusionValue"].as_str()), (StatusCode::OK, Some("+1 (212) 555-0100")));
    let put =
        json!({"version":7,"exclusionType":"Voice","exclusionValue":"2125550100","endTime":"2027-01-01T00:00:00Z"});
    let (s, v) = call(&app, "PUT", &p("acme", &format!("exclusions/{}", ids[0])), Some(A), Some(put)).await;
    assert_eq!((s, scope(&v)), (StatusCode::CONFLICT, "version"));
    let put =
        json!({"version":1,"exclusionType":"Voice","exclusionValue":"2125550100","endTime":"2027-01-01T00:00:00Z"});
    let (s, v) = call(&app, "PUT", &p("acme", &format!("exclusions/{}", ids[0])), Some(A), Some(put)).await;
    assert_eq!((s, v["version"].as_i64(), v["id"].as_str()), (StatusCode::OK, Some(2), Some(ids[0].as_str())));
    assert_eq!(v["creationTime"], "2026-11-02T15:00:00.000Z");
    // The change is what the evaluator sees, exact end instant included.
    let chk = json!({"contactChannel":"Voice","contactAddress":"(212) 555-0100"});
    let (_, r) = call(&app, "POST", &p("acme", "complianceStatuses"), Some(A), Some(chk.clone())).await;
    assert_eq!(r["restricted"], true);
    assert_eq!(r["restrictionType"], "ExclusionVoice");
    assert_eq!(r["restrictedRuleId"], ids[0].as_str());
    assert_eq!(r["restrictionEndTime"], "2027-01-01T00:00:00.000Z");
    assert_eq!(r["key"], Value::Null);
    // POST with the same identity: later endTime updates in place; an earlier one is refused.
    let later = json!({"exclusionType":"Voice","exclusionValue":"212-555-0100","endTime":"2027-02-01T00:00:00Z"});
    let (s, v) = call(&app, "POST", &p("acme", "exclusions"), Some(A), Some(later)).await;
    assert_eq!((s, v["id"].as_str(), v["version"].as_i64()), (StatusCode::OK, Some(ids[0].as_str()), Some(3)));
    let earlier = json!({"exclusionType":"Voice","exclusionValue":"2125550100","endTime":"2026-12-01T00:00:00Z"});
    assert_eq!(call(&app, "POST", &p("acme", "exclusions"), Some(A), Some(earlier)).await.0, StatusCode::CONFLICT);
    let (_, r) = call(&app, "POST", &p("acme", "complianceStatuses"), Some(A), Some(chk.clone())).await;
    assert_eq!(r["restrictionEndTime"], "2027-02-01T00:00:00.000Z");
    assert_eq!(r["restrictedRuleId"], ids[0].as_str());
    let (s, _) = call(&app, "DELETE", &p("acme", &format!("exclusions/{}", ids[0])), Some(A), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&app, "GET", &p("acme", &format!("exclusions/{}", ids[0])), Some(A), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "DELETE", &p("acme", &format!("exclusions/{}", ids[0])), Some(A), None).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, r) = call(&app, "POST", &p("acme", "complianceStatuses"), Some(A), Some(chk)).await;
    assert_eq!(r["restricted"], false);
    // An unfiltered page (counted and paged by the store) and a filtered scan
    // (parsing only the filtered fields) give the same items, in creation
    // order, after the changes above, in the full shown shape.
    let (_, all) = call(&app, "GET", &p("acme", "exclusions?maxResults=2&startIndex=1"), Some(A), None).await;
    let (_, same) =
        call(&app, "GET", &p("acme", "exclusions?maxResults=2&startIndex=1&lastModifiedBy=ALICE"), Some(A), None).await;
    assert_eq!((all["totalItems"].as_i64(), same["totalItems"].as_i64()), (Some(6), Some(6)));
    let page_ids: Vec<&str> = all["exclusions"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(page_ids, [ids[2].as_str(), ids[3].as_str()]);
    assert_eq!(all["exclusions"], same["exclusions"]);
    let first = all["exclusions"][0].as_object().unwrap();
    assert_eq!((first.get("startTime"), first.get("contactListName")), (Some(&Value::Null), Some(&Value::Null)));
    assert_eq!(first["endTime"], "2026-12-03T00:00:00Z");
    assert_eq!(all["links"]["last"], "/via/v4/organizations/acme/compliance/exclusions?startIndex=4&maxResults=2");
    let (_, past) = call(&app, "GET", &p("acme", "exclusions?startIndex=10"), Some(A), None).await;
    assert_eq!((past["totalItems"].as_i64(), past["exclusions"].as_array().map(Vec::len)), (Some(6), Some(0)));
    // maxResults is capped at 1000; bad paging parameters are 400.
    assert_eq!(
        call(&app, "GET", &p("acme", "exclusions?maxResults=0"), Some(A), None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&app, "GET", &p("acme", "exclusions?startIndex=-1"), Some(A), None).await.0,
        StatusCode::BAD_REQUEST
    );
}

async fn post(app: &Router, rest: &str, body: Value) -> Value {
    let (s, v) = call(app, "POST", &p("acme", rest), Some(A), Some(body)).await;
    assert!(s.is_success(), "POST {rest}: {s} {v}");
    v
}

#[tokio::test]
async fn attempts_feed_trackers_and_quotas_and_keys_flow() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let t = post(
        &app,
        "attemptTrackers",
        json!({"attemptTrackerName":"1 per day","typeOfTracker":"Account",
        "numberOfAttempts":1,"thresholdType":"Day","threshold":1,"contactChannels":["Voice"]}),
    )
    .await;
    let q = post(&app, "quotaControls", json!({"product":"Gold","totalQuota":2,"productSold":1})).await;
    let rec = json!({"contactChannel":"Voice","contactAddress":"2125550101","accountNumber":"AC-1",
        "customer":"C-1","timeZone":"America/New_York","product":"gold"});
    // Allowed: a key and the available quota.
    let r = post(&app, "complianceStatuses", rec.clone()).await;
    assert_eq!((r["restricted"].as_bool(), r["availableQuota"].as_i64()), (Some(false), Some(1)));
    let k1 = r["key"].as_str().unwrap().to_string();
    // Same key again: refreshed, same key; another check of the same account without it: blocked.
    let mut again = rec.clone();
    again["key"] = json!(k1);
    assert_eq!(post(&app, "complianceStatuses", again).await["key"], k1.as_str());
    let mut other = rec.clone();
    other["contactAddress"] = json!("3105550199");
    other["customer"] = json!("C-2");
    let r = post(&app, "complianceStatuses", other.clone()).await;
    assert_eq!(r["restrictionType"], "AttemptTrackerBlockAccount");
    assert_eq!(r["restrictionEndTime"], "2026-11-02T15:10:00.000Z");
    assert_eq!(r["key"], Value::Null);
    let mut same_addr = rec.clone();
    same_addr["accountNumber"] = json!("AC-9");
    same_addr["customer"] = json!("C-9");
    assert_eq!(
        post(&app, "complianceStatuses", same_addr).await["restrictionType"],
        "AttemptTrackerBlockContactAddress"
    );
    // Save with an unknown key: 400 naming key. Save with the key: 202; the record is gone.
    let att = json!({"contactChannel":"Voice","contactAddress":"2125550101","accountNumber":"AC-1","customer":"C-1",
        "timeOfContact":"2026-11-02T14:00:00Z","disposition":"Answered","product":"Gold","productSold":1,"key":"nope"});
    let (s, v) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(att.clone())).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "key"));
    let mut with_key = att.clone();
    with_key["key"] = json!(k1);
    let (s, saved) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(with_key.clone())).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!((saved["status"].as_str(), saved["version"].as_i64()), (Some("Enabled"), Some(1)));
    let (s, _) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(with_key)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the key was used up");
    // The quota took productSold; the tracker counts the attempt.
    let (_, qv) =
        call(&app, "GET", &p("acme", &format!("quotaControls/{}", q["id"].as_str().unwrap())), Some(A), None).await;
    assert_eq!((qv["productSold"].as_i64(), qv["version"].as_i64()), (Some(2), Some(2)));
    let r = post(&app, "complianceStatuses", rec.clone()).await;
    assert_eq!((r["restrictionType"].as_str(), r["availableQuota"].as_i64()), (Some("QuotaExhausted"), Some(0)));
    let mut no_quota = rec.clone();
    no_quota["requiredChecks"] = json!(["attemptTrackers"]);
    let r = post(&app, "complianceStatuses", no_quota.clone()).await;
    assert_eq!(r["restrictionType"], "AttemptTrackerAccountVoice");
    assert_eq!(r["restrictedRuleId"], t["id"]);
    assert_eq!(r["restrictedRuleName"], "1 per day");
    // Next local midnight in New York (EST, UTC-5).
    assert_eq!(r["restrictionEndTime"], "2026-11-03T05:00:00.000Z");
    // Disabling the attempt stops it counting; the list and get show it.
    let id = saved["id"].as_str().unwrap();
    let (s, v) = call(
        &app,
        "PATCH",
        &p("acme", &format!("contactAttempts/{id}")),
        Some(A),
        Some(json!({"status":"Disabled","version":5})),
    )
    .await;
    assert_eq!((s, scope(&v)), (StatusCode::CONFLICT, "version"));
    // Nothing PATCH can change: refused, naming the field, and the version stays.
    for (body, field) in [(json!({"disposition":"Conversation","version":1}), "disposition"), (json!({}), "body")] {
        let (s, v) = call(&app, "PATCH", &p("acme", &format!("contactAttempts/{id}")), Some(A), Some(body)).await;
        assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, field), "{v}");
    }
    let (s, v) = call(
        &app,
        "PATCH",
        &p("acme", &format!("contactAttempts/{id}")),
        Some(A),
        Some(json!({"status":"Disabled","reason":"by mistake","version":1})),
    )
    .await;
    assert_eq!((s, v["status"].as_str(), v["version"].as_i64()), (StatusCode::OK, Some("Disabled"), Some(2)));
    let r = post(&app, "complianceStatuses", no_quota.clone()).await;
    assert_eq!(r["restricted"], false);
    // That allowed check made an active record: the same contact must now come with its key.
    no_quota["key"] = r["key"].clone();
    let (_, l) =
        call(&app, "GET", &p("acme", "contactAttempts?status=Disabled&contactAddress=212-555-0101"), Some(A), None)
            .await;
    assert_eq!((l["totalItems"].as_i64(), l["contactAttempts"][0]["reason"].as_str()), (Some(1), Some("by mistake")));
    let (s, v) =
        call(&app, "PATCH", &p("acme", &format!("contactAttempts/{id}")), Some(A), Some(json!({"status":"Enabled"})))
            .await;
    assert_eq!((s, v["version"].as_i64()), (StatusCode::OK, Some(3)));
    assert_eq!(
        post(&app, "complianceStatuses", no_quota.clone()).await["restrictionType"],
        "AttemptTrackerAccountVoice"
    );
    // Cancel: the active record goes, nothing is saved. No-key-check save needs no key.
    let r = post(
        &app,
        "complianceStatuses",
        json!({"contactChannel":"SMS","contactAddress":"6025550000","accountNumber":"AC-7"}),
    )
    .await;
    let k2 = r["key"].as_str().unwrap().to_string();
    let blocked = json!({"contactChannel":"Voice","contactAddress":"6025550001","accountNumber":"AC-7"});
    assert_eq!(
        post(&app, "complianceStatuses", blocked.clone()).await["restrictionType"],
        "AttemptTrackerBlockAccount"
    );
    let (s, _) = call(
        &app,
        "POST",
        &p("acme", "contactAttempts"),
        Some(A),
        Some(json!({"operationType":"CancelContact","key":k2})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(post(&app, "complianceStatuses", blocked).await["restricted"], false);
    let (_, l) = call(&app, "GET", &p("acme", "contactAttempts?accountNumber=AC-7"), Some(A), None).await;
    assert_eq!(l["totalItems"], 0, "cancel saves nothing");
    let (s, _) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(json!({"operationType":"SaveContactNoKeyCheck",
        "contactChannel":"Voice","contactAddress":"6025550001","accountNumber":"AC-7","timeOfContact":"2026-11-02T14:30:00Z"}))).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, v) =
        call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(json!({"operationType":"Bogus"}))).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "operationType"));
    // Unfiltered pages come from the store in insertion order.
    let (_, l) = call(&app, "GET", &p("acme", "contactAttempts?maxResults=1&startIndex=1"), Some(A), None).await;
    assert_eq!(l["totalItems"], 2);
    assert_eq!(l["contactAttempts"].as_array().unwrap().len(), 1);
    assert_eq!(l["contactAttempts"][0]["accountNumber"], "AC-7");
    assert_eq!(l["links"]["prev"], "/via/v4/organizations/acme/compliance/contactAttempts?startIndex=0&maxResults=1");
    let (_, l) = call(&app, "GET", &p("acme", "contactAttempts?geocodes=nowhere"), Some(A), None).await;
    assert_eq!(l["totalItems"], 0);
}

#[tokio::test]
async fn configurations_restart_and_expiry_with_now() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let (s, c) = call(&app, "GET", &p("acme", "attemptTrackers/configurations"), Some(A), None).await;
    assert_eq!((s, c["version"].as_i64(), c["lifeTimeOfActiveRecord"].as_i64()), (StatusCode::OK, Some(1), Some(120)));
    let (s, v) = call(
        &app,
        "PATCH",
        &p("acme", "attemptTrackers/configurations"),
        Some(A),
        Some(json!({"version":3,"lifeTimeOfActiveRecord":30})),
    )
    .await;
    assert_eq!((s, scope(&v)), (StatusCode::CONFLICT, "version"));
    let (s, v) = call(
        &app,
        "PATCH",
        &p("acme", "attemptTrackers/configurations"),
        Some(A),
        Some(json!({"lifeTimeOfActiveRecord":0})),
    )
    .await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "lifeTimeOfActiveRecord"));
    let (s, v) = call(
        &app,
        "PATCH",
        &p("acme", "attemptTrackers/configurations"),
        Some(A),
        Some(json!({"version":1,"lifeTimeOfActiveRecord":30,"minutesToWaitAfterActiveRestriction":5})),
    )
    .await;
    assert_eq!(
        (s, v["version"].as_i64(), v["enableActiveRecordFeature"].as_bool()),
        (StatusCode::OK, Some(2), Some(true))
    );
    let (s, v) =
        call(&app, "PATCH", &p("acme", "exclusions/configurations"), Some(A), Some(json!({"retainDays":15}))).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "retainDays"), "the reference's range is 0-14 days");
    let (s, v) =
        call(&app, "PATCH", &p("acme", "exclusions/configurations"), Some(A), Some(json!({"retainDays":10}))).await;
    assert_eq!((s, v["retainDays"].as_i64(), v["retainNoEndTime"].as_bool()), (StatusCode::OK, Some(10), Some(false)));
    let rec = json!({"contactChannel":"Voice","contactAddress":"2125550101","customer":"C-1"});
    let k = post(&app, "complianceStatuses", rec.clone()).await["key"].as_str().unwrap().to_string();
    let ex = post(&app, "exclusions", json!({"exclusionType":"SSN","exclusionValue":"123-45-6789"})).await;
    drop(app);

    // Restart 20 minutes later: everything acknowledged is back, the active record still blocks.
    let app = open(d.path(), "2026-11-02T15:20:00Z");
    let (s, v) =
        call(&app, "GET", &p("acme", &format!("exclusions/{}", ex["id"].as_str().unwrap())), Some(A), None).await;
    assert_eq!((s, v["exclusionValue"].as_str()), (StatusCode::OK, Some("123-45-6789")));
    assert_eq!(
        call(&app, "GET", &p("acme", "attemptTrackers/configurations"), Some(A), None).await.1
            ["lifeTimeOfActiveRecord"],
        30
    );
    let other = json!({"contactChannel":"SMS","contactAddress":"3105550000","customer":"C-1"});
    let r = post(&app, "complianceStatuses", other.clone()).await;
    assert_eq!(r["restrictionType"], "AttemptTrackerBlockCustomer");
    assert_eq!(r["restrictionEndTime"], "2026-11-02T15:25:00.000Z");
    let (s, _) = call(
        &app,
        "POST",
        &p("acme", "contactAttempts"),
        Some(A),
        Some(json!({"contactChannel":"Voice",
        "contactAddress":"2125550101","customer":"C-1","key":k})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "the key survived the restart");
    let (_, l) = call(&app, "GET", &p("acme", "contactAttempts?customer=C-1"), Some(A), None).await;
    assert_eq!(l["contactAttempts"][0]["timeOfContact"], "2026-11-02T15:20:00.000Z", "timeOfContact defaults to now");
    drop(app);

    // A new active record expires lifeTimeOfActiveRecord (30) minutes later.
    let app = open(d.path(), "2026-11-02T16:00:00Z");
    assert!(post(&app, "complianceStatuses", rec.clone()).await["key"].is_string());
    assert_eq!(post(&app, "complianceStatuses", other.clone()).await["restrictionType"], "AttemptTrackerBlockCustomer");
    drop(app);
    let app = open(d.path(), "2026-11-02T16:30:00Z");
    assert_eq!(post(&app, "complianceStatuses", other).await["restricted"], false, "expired at exactly +30 min");
}

#[tokio::test]
async fn tenants_never_see_each_other() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let ex = post(&app, "exclusions", json!({"exclusionType":"Voice","exclusionValue":"2125550101"})).await;
    let id = ex["id"].as_str().unwrap();
    let (_, v) = call(&app, "GET", &p("beta", "exclusions"), Some(B), None).await;
    assert_eq!(v["totalItems"], 0);
    assert_eq!(
        call(&app, "GET", &p("beta", &format!("exclusions/{id}")), Some(B), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "DELETE", &p("beta", &format!("exclusions/{id}")), Some(B), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, "DELETE", &p("acme", &format!("exclusions/{id}")), Some(B), None).await.0,
        StatusCode::FORBIDDEN
    );
    let chk = json!({"contactChannel":"Voice","contactAddress":"2125550101"});
    let (_, r) = call(&app, "POST", &p("beta", "complianceStatuses"), Some(B), Some(chk.clone())).await;
    assert_eq!(r["restricted"], false);
    assert_eq!(post(&app, "complianceStatuses", chk).await["restrictionType"], "ExclusionVoice");
    // Active records are per org too: beta's allowed check does not block acme.
    let (_, r) = call(
        &app,
        "POST",
        &p("beta", "complianceStatuses"),
        Some(B),
        Some(json!({"contactChannel":"SMS","contactAddress":"3105550000","accountNumber":"X"})),
    )
    .await;
    assert!(r["key"].is_string());
    let r = post(
        &app,
        "complianceStatuses",
        json!({"contactChannel":"SMS","contactAddress":"3105550000","accountNumber":"X"}),
    )
    .await;
    assert_eq!(r["restricted"], false);
}

/// A store shared by two orgs, written turn about so each org's exclusions
/// and attempts lie between the other's: after a restart each org is rebuilt
/// from its own rows only (the start-up scans read seq ranges and filter by
/// org; a one-org store scans its whole tables instead).
#[tokio::test]
async fn a_shared_store_reloads_each_org_from_its_own_rows() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let tok = |org: &str| if org == "acme" { A } else { B };
    let tracker = json!({"attemptTrackerName":"1 per day","typeOfTracker":"Account",
        "numberOfAttempts":1,"thresholdType":"Day","threshold":1,"contactChannels":["Voice"]});
    // Rule ids: each org's tracker, and the exclusion of each round.
    let mut trackers = std::collections::HashMap::new();
    let mut exclusions = Vec::new();
    for (i, org) in ["acme", "beta", "acme", "beta"].iter().enumerate() {
        if i < 2 {
            let (s, t) = call(&app, "POST", &p(org, "attemptTrackers"), Some(tok(org)), Some(tracker.clone())).await;
            assert_eq!(s, StatusCode::CREATED);
            trackers.insert(*org, t["id"].clone());
        }
        let ex = json!({"exclusionType":"Voice","exclusionValue":format!("212555010{i}")});
        let (s, e) = call(&app, "POST", &p(org, "exclusions"), Some(tok(org)), Some(ex)).await;
        assert_eq!(s, StatusCode::CREATED);
        exclusions.push(e["id"].clone());
        let att = json!({"contactChannel":"Voice","contactAddress":format!("310555020{i}"),
            "accountNumber":format!("{org}-{i}"),"timeOfContact":"2026-11-02T14:00:00Z","disposition":"Answered",
            "operationType":"SaveContactNoKeyCheck"});
        let (s, v) = call(&app, "POST", &p(org, "contactAttempts"), Some(tok(org)), Some(att)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }
    drop(app);
    let app = open(d.path(), NOW);
    for (i, owner) in ["acme", "beta", "acme", "beta"].iter().enumerate() {
        for org in ["acme", "beta"] {
            let mine = org == *owner;
            let number = json!({"contactChannel":"Voice","contactAddress":format!("212555010{i}")});
            let (_, r) = call(&app, "POST", &p(org, "complianceStatuses"), Some(tok(org)), Some(number)).await;
            let want =
                if mine { (Value::from("ExclusionVoice"), exclusions[i].clone()) } else { (Value::Null, Value::Null) };
            assert_eq!(
                (&r["restrictionType"], &r["restrictedRuleId"]),
                (&want.0, &want.1),
                "{org} checks {owner}'s excluded number {i}"
            );
            // A fresh address each time: an allowed check reserves its address (§8).
            let account = json!({"contactChannel":"Voice","contactAddress":format!("91755500{i}{}", mine as u8),
                "accountNumber":format!("{owner}-{i}")});
            let (_, r) = call(&app, "POST", &p(org, "complianceStatuses"), Some(tok(org)), Some(account)).await;
            let want = if mine {
                // 1 a day: blocked until the next UTC midnight (the default zone).
                json!(["AttemptTrackerAccountVoice", trackers[org], "2026-11-03T00:00:00.000Z"])
            } else {
                json!([null, null, null])
            };
            assert_eq!(
                json!([r["restrictionType"], r["restrictedRuleId"], r["restrictionEndTime"]]),
                want,
                "{org}, {owner}-{i}"
            );
        }
    }
    for org in ["acme", "beta"] {
        let (_, l) = call(&app, "GET", &p(org, "exclusions"), Some(tok(org)), None).await;
        assert_eq!(l["totalItems"], 2, "{org}");
        let (_, l) = call(&app, "GET", &p(org, "contactAttempts"), Some(tok(org)), None).await;
        assert_eq!(l["totalItems"], 2, "{org}");
    }
}

/// SPEC: batch and REST give identical answers for the same rules, history,
/// records and instant. The sample is loaded into a store; the stored rules
/// (with their ids) are exported and scrubbed by `scrub run`; every valid row
/// is then checked over POST complianceStatuses.
/// Exports the org's rules through the API, runs `scrub run` on the sample's
/// contacts with them and the sample history at `asof`, and checks every valid
/// row over POST complianceStatuses: every answer field must be equal.
/// Returns (rows, restricted).
async fn assert_agrees_with_batch(app: &Router, dir: &Path, asof: &str) -> (usize, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sample = root.join("datasets/sample");
    let bin = env!("CARGO_BIN_EXE_scrub");
    let d = dir;
    let app = app.clone();
    let rules = d.join("rules");
    std::fs::create_dir(&rules).unwrap();
    for coll in ["exclusions", "convenientContactTimes", "quotaControls", "attemptTrackers", "messageTrackers"] {
        let (_, v) = call(&app, "GET", &p("acme", &format!("{coll}?maxResults=1000")), Some(A), None).await;
        assert!(v["totalItems"].as_u64().unwrap() <= 1000);
        std::fs::write(rules.join(format!("{coll}.json")), v[coll].to_string()).unwrap();
    }
    let out = d.join("out.csv");
    let st = std::process::Command::new(bin)
        .args(["run", "--quiet", "--as-of", asof, "--contacts"])
        .arg(sample.join("contacts.csv"))
        .arg("--rules")
        .arg(&rules)
        .arg("--history")
        .arg(sample.join("history.csv"))
        .arg("--config")
        .arg(sample.join("config.json"))
        .arg("--out")
        .arg(&out)
        .arg("--rejects")
        .arg(d.join("rejects.csv"))
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (mut rows, mut restricted) = (0, 0);
    for r in rdr.records() {
        let r = r.unwrap();
        let f = |n: &str| r.get(col(n)).unwrap_or("").to_string();
        let mut req = serde_json::Map::new();
        for n in scrub::io::contacts::RECORD_COLUMNS {
            if !f(n).is_empty() {
                req.insert(n.into(), json!(f(n)));
            }
        }
        let (s, v) = call(&app, "POST", &p("acme", "complianceStatuses"), Some(A), Some(Value::Object(req))).await;
        assert_eq!(s, StatusCode::OK, "{} {v}", f("recordId"));
        let s = |x: &Value| x.as_str().unwrap_or("").to_string();
        let rest = (
            v["restricted"].as_bool().unwrap().to_string(),
            s(&v["restrictionType"]),
            s(&v["restrictedRuleId"]),
            s(&v["restrictedRuleName"]),
            s(&v["restrictionStartTime"]),
            s(&v["restrictionEndTime"]),
            s(&v["messageType"]),
            v["availableQuota"].as_i64().map(|x| x.to_string()).unwrap_or_default(),
        );
        let batch = (
            f("restricted"),
            f("restrictionType"),
            f("restrictedRuleId"),
            f("restrictedRuleName"),
            f("restrictionStartTime"),
            f("restrictionEndTime"),
            f("messageType"),
            f("availableQuota"),
        );
        assert_eq!(rest, batch, "record {}", f("recordId"));
        rows += 1;
        restricted += (batch.0 == "true") as usize;
    }
    (rows, restricted)
}

/// The sample's rules and configuration (and its history, with `history`)
/// imported by `scrub load` into `dir/data`, served at the sample's as-of
/// instant with active records off: batch has none (SPEC §8), so every check
/// is independent. Returns the app and the as-of instant.
async fn sample_server(dir: &Path, history: bool) -> (Router, String) {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/sample");
    let data = dir.join("data");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scrub"));
    cmd.args(["load", "--org", "acme", "--data-dir"]).arg(&data).arg("--rules").arg(sample.join("rules"));
    if history {
        cmd.arg("--history").arg(sample.join("history.csv"));
    }
    let st = cmd.arg("--config").arg(sample.join("config.json")).output().unwrap();
    let err = String::from_utf8_lossy(&st.stderr);
    assert!(st.status.success(), "{err}");
    // The WAL is copied into the database before "done", so the time it takes is reported.
    let (ck, done) = (err.find("scrub load: store checkpointed in "), err.find("scrub load: done in "));
    assert!(matches!((ck, done), (Some(a), Some(b)) if a < b), "{err}");
    let asof = std::fs::read_to_string(sample.join("asof.txt")).unwrap().trim().to_string();
    let app = open(&data, &asof);
    let (s, _) = call(
        &app,
        "PATCH",
        &p("acme", "attemptTrackers/configurations"),
        Some(A),
        Some(json!({"enableActiveRecordFeature":false})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    (app, asof)
}

#[tokio::test]
async fn batch_and_rest_agree_on_the_sample() {
    let d = tempfile::tempdir().unwrap();
    let (app, asof) = sample_server(d.path(), true).await;
    // Every history row is stored, the Disabled ones as Disabled (and they count for nothing below).
    let (_, all) = call(&app, "GET", &p("acme", "contactAttempts?maxResults=1"), Some(A), None).await;
    let (_, off) = call(&app, "GET", &p("acme", "contactAttempts?status=Disabled"), Some(A), None).await;
    assert_eq!((all["totalItems"].as_u64(), off["totalItems"].as_u64()), (Some(420), Some(14)));
    let (rows, restricted) = assert_agrees_with_batch(&app, d.path(), &asof).await;
    assert_eq!(rows, 603);
    assert!(restricted > 100, "the sample exercises restrictions ({restricted})");
}

#[tokio::test]
async fn ccts_message_trackers_quotas_configs_and_get_checks() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW); // Monday 2026-11-02 15:00 UTC = 10:00 in New York
                                   // CCT: the customer may be called 12:00-17:00 New York time on weekdays.
    let cct = json!({"contactKeyType":"Customer","contactKey":"C-1","contactValueType":"Voice","contactValue":"(212) 555-0101",
        "convenientTimes":[{"dayOfWeek":["Monday","Tuesday","Wednesday","Thursday","Friday"],"startTime":"12:00","endTime":"17:00"}]});
    let (s, c1) = call(&app, "POST", &p("acme", "convenientContactTimes"), Some(A), Some(cct.clone())).await;
    assert_eq!((s, c1["kind"].as_str()), (StatusCode::CREATED, Some("via#convenientContactTime")));
    let rec =
        json!({"contactChannel":"Voice","contactAddress":"2125550101","customer":"C-1","timeZone":"America/New_York"});
    let r = post(&app, "complianceStatuses", rec.clone()).await;
    assert_eq!(r["restrictionType"], "ConvenientContactTimeCustomerVoice");
    assert_eq!(r["restrictedRuleId"], c1["id"]);
    assert_eq!(r["restrictionEndTime"], "2026-11-02T17:00:00.000Z");
    // Same key and value: the POST updates the same item (version 2).
    let mut later = cct.clone();
    later["convenientTimes"][0]["startTime"] = json!("09:00");
    let (s, c2) = call(&app, "POST", &p("acme", "convenientContactTimes"), Some(A), Some(later)).await;
    assert_eq!((s, c2["id"].clone(), c2["version"].as_i64()), (StatusCode::OK, c1["id"].clone(), Some(2)));
    let r = post(&app, "complianceStatuses", rec.clone()).await;
    assert_eq!(
        (r["restricted"].as_bool(), r["restrictionStartTime"].as_str()),
        (Some(false), Some("2026-11-02T22:00:00.000Z"))
    );
    let (_, l) = call(
        &app,
        "GET",
        &p("acme", "convenientContactTimes?contactKeyType=Customer&contactValue=212-555-0101"),
        Some(A),
        None,
    )
    .await;
    assert_eq!(l["totalItems"], 1);
    let bad = json!({"contactKeyType":"Customer","contactKey":"C-1","contactValueType":"Voice",
        "convenientTimes":[{"dayOfWeek":["Monday"],"startTime":"9:00","endTime":"17:00"}]});
    let (s, v) = call(&app, "POST", &p("acme", "convenientContactTimes"), Some(A), Some(bad)).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "convenientTimes.startTime"));

    // Message tracker: one message per account per day, then CannotPlay.
    let mt = post(
        &app,
        "messageTrackers",
        json!({"messageTrackerName":"one message","typeOfTracker":"Account",
        "numberOfAttempts":1,"thresholdType":"Day","threshold":1,"dispositions":["MessageLeft"]}),
    )
    .await;
    // Not sent: shown with the value it acts with (SPEC §9 default), as is `enabled`.
    assert_eq!((mt["thresholdActionType"].as_str(), mt["enabled"].as_bool()), (Some("NoPlayMessage"), Some(true)));
    let mrec = json!({"contactChannel":"SMS","contactAddress":"3105550100","accountNumber":"AC-5","timeZone":"America/Los_Angeles",
        "requiredChecks":["messageTrackers"]});
    assert_eq!(post(&app, "complianceStatuses", mrec.clone()).await["messageType"], "CanPlay");
    let (s, _) = call(
        &app,
        "POST",
        &p("acme", "contactAttempts"),
        Some(A),
        Some(json!({"operationType":"SaveContactNoKeyCheck",
        "contactChannel":"Voice","contactAddress":"3105550100","accountNumber":"AC-5","disposition":"messageleft",
        "timeOfContact":"2026-11-02T14:59:00Z"})),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let r = post(&app, "complianceStatuses", mrec.clone()).await;
    assert_eq!((r["restricted"].as_bool(), r["messageType"].as_str()), (Some(false), Some("CannotPlay")));
    let (_, l) = call(
        &app,
        "GET",
        &p("acme", "messageTrackers?dispositions=messageleft,other&typeOfTracker=Account"),
        Some(A),
        None,
    )
    .await;
    assert_eq!(l["totalItems"], 1);
    let (_, l) = call(&app, "GET", &p("acme", "messageTrackers?enabled=false"), Some(A), None).await;
    assert_eq!(l["totalItems"], 0);
    let put = json!({"version":1,"messageTrackerName":"one message","typeOfTracker":"Account","numberOfAttempts":1,
        "thresholdType":"Day","threshold":1,"dispositions":["MessageLeft"],"thresholdActionType":"PlayStandardMessage"});
    let (s, _) =
        call(&app, "PUT", &p("acme", &format!("messageTrackers/{}", mt["id"].as_str().unwrap())), Some(A), Some(put))
            .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(post(&app, "complianceStatuses", mrec.clone()).await["messageType"], "CanPlayStandard");
    // Message tracker exemptions come from its configuration.
    let (s, v) = call(
        &app,
        "PATCH",
        &p("acme", "messageTrackers/configurations"),
        Some(A),
        Some(json!({"excludedContactAddresses":["310-555-0100"]})),
    )
    .await;
    assert_eq!((s, v["version"].as_i64()), (StatusCode::OK, Some(2)));
    assert_eq!(post(&app, "complianceStatuses", mrec).await["messageType"], "CanPlay");

    // Attempt tracker filters on a list: channels, number types, enabled.
    post(
        &app,
        "attemptTrackers",
        json!({"attemptTrackerName":"sms cap","typeOfTracker":"ContactAddress","numberOfAttempts":3,
        "thresholdType":"Hour","threshold":24,"contactChannels":["SMS"],"numberTypes":[1,2],"enabled":false}),
    )
    .await;
    for (q, n) in [
        ("contactChannels=SMS", 1),
        ("contactChannels=Voice", 0),
        ("numberTypes=2", 1),
        ("enabled=false", 1),
        ("enabled=true", 0),
        ("thresholdType=Hour&threshold=24", 1),
        ("attemptTrackerName=SMS%20CAP", 1),
    ] {
        let (s, l) = call(&app, "GET", &p("acme", &format!("attemptTrackers?{q}")), Some(A), None).await;
        assert_eq!((s, l["totalItems"].as_i64()), (StatusCode::OK, Some(n)), "{q}");
    }
    let (s, v) = call(&app, "GET", &p("acme", "attemptTrackers?contactChannels=Fax"), Some(A), None).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "contactChannels"));

    // Quotas: product names are unique (case-insensitive); GET complianceStatuses reports availableQuota.
    let q = post(&app, "quotaControls", json!({"product":"Gold","totalQuota":10,"productSold":4})).await;
    let (s, v) =
        call(&app, "POST", &p("acme", "quotaControls"), Some(A), Some(json!({"product":"GOLD","totalQuota":1}))).await;
    assert_eq!((s, scope(&v)), (StatusCode::CONFLICT, "product"));
    let (s, v) = call(&app, "GET", &p("acme", "complianceStatuses?contactChannel=Email&contactAddress=Ann@Example.com&product=gold&requiredChecks=quotaControls"), Some(A), None).await;
    assert_eq!((s, v["availableQuota"].as_i64(), v["restricted"].as_bool()), (StatusCode::OK, Some(6), Some(false)));
    assert_eq!(call(&app, "GET", &p("acme", "quotaControls?productSold=4"), Some(A), None).await.1["totalItems"], 1);
    let (s, _) =
        call(&app, "DELETE", &p("acme", &format!("quotaControls/{}", q["id"].as_str().unwrap())), Some(A), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Every configuration object has a GET with defaults and a version.
    for (c, field, value) in [
        ("attemptTrackers", "minutesToWaitAfterActiveRestriction", json!(10)),
        ("messageTrackers", "excludedContactAddresses", json!(["310-555-0100"])),
        ("exclusions", "retainNoEndTime", json!(false)),
        ("convenientContactTimes", "retainDays", json!(14)),
    ] {
        let (s, v) = call(&app, "GET", &p("acme", &format!("{c}/configurations")), Some(A), None).await;
        assert_eq!((s, &v[field]), (StatusCode::OK, &value), "{c}");
        assert!(v["version"].as_i64().is_some() && v["kind"].as_str().unwrap().ends_with("Configuration"));
    }
    assert_eq!(
        call(&app, "GET", &p("acme", "quotaControls/configurations"), Some(A), None).await.0,
        StatusCode::NOT_FOUND
    );
    // An unknown attempt id and a stale PUT on a deleted item.
    assert_eq!(call(&app, "GET", &p("acme", "contactAttempts/nope"), Some(A), None).await.0, StatusCode::NOT_FOUND);
    let (s, v) =
        call(&app, "PATCH", &p("acme", "contactAttempts/nope"), Some(A), Some(json!({"status":"Disabled"}))).await;
    assert_eq!((s, v["error"]["code"].as_i64()), (StatusCode::NOT_FOUND, Some(404)));
}

/// Many checks of one contact at once, on four worker threads: exactly one is
/// allowed and reserves it; every other is blocked by that reservation (the
/// evaluation runs in parallel, the reservation is re-checked under the lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checks_reserve_a_contact_once() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    for round in 0..5 {
        let addr = format!("21255501{round:02}");
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let (app, addr) = (app.clone(), addr.clone());
                tokio::spawn(async move {
                    let body = json!({"contactChannel":"Voice","contactAddress":addr,
                        "customer":format!("C-{round}-{i}"),"accountNumber":format!("A-{round}-{i}")});
                    post(&app, "complianceStatuses", body).await
                })
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            let v = t.await.unwrap();
            if v["restricted"] == false {
                allowed += 1;
                assert!(v["key"].is_string());
            } else {
                assert_eq!(v["restrictionType"], "AttemptTrackerBlockContactAddress", "{v}");
                assert_eq!(v["restrictionEndTime"], "2026-11-02T15:10:00.000Z");
                assert!(v["key"].is_null());
            }
        }
        assert_eq!(allowed, 1, "round {round}: one reservation per contact");
    }
}

/// Contact attempts saved concurrently: those that move no quota share the
/// org's mutation lock and commit together, those with productSold take it
/// alone; every one is saved, counted by a tracker and added to the quota
/// exactly once, in memory and after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_attempts_all_count_and_quotas_add_up() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let qid = post(&app, "quotaControls", json!({"product":"Gold","totalQuota":1000,"productSold":0})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tid = post(
        &app,
        "attemptTrackers",
        json!({"attemptTrackerName":"acct","typeOfTracker":"Account","numberOfAttempts":81,
               "thresholdType":"Day","threshold":1,"contactChannels":["Voice"],"acrossContactChannels":false,
               "excludeContactChannels":false}),
    )
    .await["id"]
        .clone();
    assert!(tid.is_string(), "the tracker has an id");
    let tasks: Vec<_> = (0..80)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut body = json!({"operationType":"SaveContactNoKeyCheck","contactChannel":"Voice",
                    "contactAddress":format!("21255504{i:02}"),"accountNumber":"A-CONC",
                    "timeOfContact":"2026-11-02T14:00:00Z","disposition":"NoAnswer"});
                if i % 2 == 0 {
                    body["product"] = json!("Gold");
                    body["productSold"] = json!(3);
                }
                let (s, v) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(body)).await;
                assert_eq!(s, StatusCode::ACCEPTED, "{v}");
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for round in 0..2 {
        let app = if round == 0 { app.clone() } else { open(d.path(), NOW) };
        let (_, list) = call(&app, "GET", &p("acme", "contactAttempts?maxResults=1"), Some(A), None).await;
        assert_eq!(list["totalItems"], 80 + round, "round {round}");
        let (_, q) = call(&app, "GET", &p("acme", &format!("quotaControls/{qid}")), Some(A), None).await;
        assert_eq!(q["productSold"], 120, "round {round}: 40 attempts of 3");
        assert_eq!(q["version"], 41, "round {round}");
        let rec = json!({"contactChannel":"Voice","contactAddress":"2125550499","accountNumber":"A-CONC",
                         "requiredChecks":["attemptTrackers"]});
        let r = post(&app, "complianceStatuses", rec).await;
        if round == 0 {
            // 80 counted: allowed; the 81st saved with the check's key ...
            assert_eq!(r["restricted"], false, "{r}");
            let save = json!({"contactChannel":"Voice","contactAddress":"2125550499","accountNumber":"A-CONC",
                              "timeOfContact":"2026-11-02T14:30:00Z","key":r["key"]});
            let (s, _) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(save)).await;
            assert_eq!(s, StatusCode::ACCEPTED);
        } else {
            // ... reaches the tracker's 81 after the restart.
            assert_eq!(r["restrictionType"], "AttemptTrackerAccountVoice", "{r}");
            assert_eq!((&r["restrictedRuleId"], &r["restrictedRuleName"]), (&tid, &json!("acct")));
            // Day, T = 1: the oldest counted attempt (14:00 UTC, record zone UTC) leaves at next midnight.
            assert_eq!(r["restrictionEndTime"], "2026-11-03T00:00:00.000Z");
        }
    }
}

/// What the store holds of active records across restarts: a refreshed key is
/// one record with the new expiry, a used or cancelled key stays gone, and an
/// expired record is not brought back.
#[tokio::test]
async fn active_records_in_the_store_across_restarts() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let rec = |addr: &str, cust: &str| json!({"contactChannel":"Voice","contactAddress":addr,"customer":cust});
    let k1 = post(&app, "complianceStatuses", rec("2125550201", "C-1")).await["key"].as_str().unwrap().to_string();
    let k2 = post(&app, "complianceStatuses", rec("2125550202", "C-2")).await["key"].as_str().unwrap().to_string();
    let k3 = post(&app, "complianceStatuses", rec("2125550203", "C-3")).await["key"].as_str().unwrap().to_string();
    drop(app);

    // 100 minutes later (lifetime 120): k1 is refreshed with its own key (new expiry 18:40),
    // k2 is used by an attempt, k3 is cancelled.
    let app = open(d.path(), "2026-11-02T16:40:00Z");
    let mut again = rec("2125550201", "C-1");
    again["key"] = json!(k1);
    assert_eq!(post(&app, "complianceStatuses", again).await["key"], json!(k1), "same key back");
    let save = json!({"contactChannel":"Voice","contactAddress":"2125550202","customer":"C-2","key":k2});
    assert_eq!(
        call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(save.clone())).await.0,
        StatusCode::ACCEPTED
    );
    let cancel = json!({"operationType":"CancelContact","key":k3});
    assert_eq!(call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(cancel)).await.0, StatusCode::ACCEPTED);
    drop(app);

    // At 17:10 the first k1 record would have expired (17:00); the refreshed one still blocks.
    let app = open(d.path(), "2026-11-02T17:10:00Z");
    let r = post(&app, "complianceStatuses", rec("2125550201", "C-9")).await;
    assert_eq!(r["restrictionType"], "AttemptTrackerBlockContactAddress");
    let (s, v) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(save)).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "key"), "a used key stays used");
    assert_eq!(post(&app, "complianceStatuses", rec("2125550203", "C-8")).await["restricted"], false, "cancelled");
    drop(app);

    // At 18:40 nothing of k1 is left, in memory or in the store.
    let app = open(d.path(), "2026-11-02T18:40:00Z");
    assert_eq!(post(&app, "complianceStatuses", rec("2125550201", "C-7")).await["restricted"], false);
    drop(app);
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-02T18:40:00Z").unwrap().timestamp_millis();
    let (_, sets) = scrub::server::active_log::ActiveLog::open(d.path(), false, at).unwrap();
    let keys: Vec<&String> =
        [&k1, &k2, &k3].into_iter().filter(|k| sets.values().any(|s| s.expires_ms(k).is_some())).collect();
    assert!(keys.is_empty(), "left in the active-record log: {keys:?}");
}

/// A store written before the active-record log kept active records in a
/// table: the first start moves the live ones to the log (they still block,
/// and keep blocking after the next restart), drops the expired ones and
/// empties the table; an org that only has such records is known at start.
#[tokio::test]
async fn active_records_of_an_older_store_move_to_the_log() {
    let d = tempfile::tempdir().unwrap();
    drop(open(d.path(), NOW));
    let db = rusqlite::Connection::open(d.path().join("scrub.db")).unwrap();
    let ms = |s: &str| at(s).timestamp_millis();
    db.execute(
        "INSERT INTO active_records(expires, org, key, address, customer, account) VALUES \
         (?1, 'acme', 'old-live', '2125550301', 'C-31', ''), (?2, 'acme', 'old-gone', '2125550302', '', ''), \
         (?1, 'beta', 'beta-live', '2125550303', '', '')",
        [ms("2026-11-02T16:00:00Z"), ms("2026-11-02T14:00:00Z")],
    )
    .unwrap();
    drop(db);
    for round in 0..2 {
        let app = open(d.path(), NOW);
        let r = post(&app, "complianceStatuses", json!({"contactChannel":"Voice","contactAddress":"2125550301"})).await;
        assert_eq!(r["restrictionType"], "AttemptTrackerBlockContactAddress", "round {round}: {r}");
        assert_eq!(r["restrictionEndTime"], "2026-11-02T15:10:00.000Z");
        let r =
            post(&app, "complianceStatuses", json!({"contactChannel":"Voice","customer":"C-31","contactAddress":"1"}))
                .await;
        assert_eq!(r["restrictionType"], "AttemptTrackerBlockCustomer", "round {round}: {r}");
        let r = post(&app, "complianceStatuses", json!({"contactChannel":"Voice","contactAddress":"2125550302"})).await;
        // Round 0: allowed (the expired record was not moved), which makes a record of its own
        // that blocks it in round 1.
        assert_eq!(r["restricted"], round == 1, "round {round}: {r}");
        // The key of the moved record is still live: an attempt can use it up.
        if round == 1 {
            let save = json!({"contactChannel":"Voice","contactAddress":"2125550301","key":"old-live"});
            let (s, _) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(save)).await;
            assert_eq!(s, StatusCode::ACCEPTED);
        }
        let (s, v) = call(
            &app,
            "POST",
            &p("beta", "complianceStatuses"),
            Some(B),
            Some(json!({"contactChannel":"Voice","contactAddress":"2125550303"})),
        )
        .await;
        assert_eq!((s, v["restrictionType"].as_str()), (StatusCode::OK, Some("AttemptTrackerBlockContactAddress")));
        drop(app);
    }
    let db = rusqlite::Connection::open(d.path().join("scrub.db")).unwrap();
    let left: i64 = db.query_row("SELECT count(*) FROM active_records", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0, "the table is emptied");
    let (_, sets) = scrub::server::active_log::ActiveLog::open(d.path(), false, at(NOW).timestamp_millis()).unwrap();
    assert_eq!(sets["acme"].expires_ms("old-live"), None, "used up by the attempt");
    assert!(sets["acme"].expires_ms("old-gone").is_none());
    assert_eq!(sets["beta"].expires_ms("beta-live"), Some(ms("2026-11-02T16:00:00Z")));
}

/// The sample's history reported attempt by attempt over POST contactAttempts
/// (and its Disabled rows disabled by PATCH) counts exactly as `scrub run`
/// counts the history file: the server's appended history and the batch's
/// loaded one give the same answers.
#[tokio::test]
async fn attempts_reported_over_the_api_count_like_batch_history() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/sample");
    let d = tempfile::tempdir().unwrap();
    let (app, asof) = sample_server(d.path(), false).await;
    let mut rdr = csv::Reader::from_path(sample.join("history.csv")).unwrap();
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let (mut posted, mut disabled) = (0, 0);
    for (n, r) in rdr.records().enumerate() {
        let r = r.unwrap();
        let mut body = serde_json::Map::new();
        body.insert("operationType".into(), json!("SaveContactNoKeyCheck"));
        for (k, v) in h.iter().zip(r.iter()) {
            match (k.as_str(), v) {
                (_, "") | ("status", _) => {}
                // Both shapes the API takes: a list, and (every other row) the comma-joined text.
                ("geocodes", v) if n % 2 == 0 => {
                    body.insert(k.clone(), json!(v.split(',').collect::<Vec<_>>()));
                }
                ("numberType", v) => {
                    body.insert(k.clone(), json!(v.parse::<i64>().unwrap()));
                }
                (k, v) => {
                    body.insert(k.to_string(), json!(v));
                }
            }
        }
        let (s, v) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(Value::Object(body))).await;
        assert_eq!(s, StatusCode::ACCEPTED, "history row {n}: {v}");
        posted += 1;
        if r.get(h.iter().position(|x| x == "status").unwrap()) == Some("Disabled") {
            let id = v["id"].as_str().unwrap();
            let (s, v) = call(
                &app,
                "PATCH",
                &p("acme", &format!("contactAttempts/{id}")),
                Some(A),
                Some(json!({"status":"Disabled","version":v["version"]})),
            )
            .await;
            assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("Disabled")));
            disabled += 1;
        }
    }
    assert_eq!((posted, disabled), (420, 14));
    let (rows, restricted) = assert_agrees_with_batch(&app, d.path(), &asof).await;
    assert_eq!(rows, 603);
    assert!(restricted > 100, "the sample exercises restrictions ({restricted})");
}

/// Opens a store at a frozen instant and hands back the state with its router.
fn open_state(dir: &Path, now: &str) -> (Arc<AppState>, Router) {
    let (mut st, _) = AppState::open(dir, tokens(), Clock::Fixed(at(now)), chrono_tz::UTC, false).unwrap();
    st.log_requests = false;
    let st = Arc::new(st);
    (st.clone(), app(st))
}

#[tokio::test]
async fn retention_purge_removes_only_long_expired_rules() {
    let d = tempfile::tempdir().unwrap();
    let ex = |v: &str, end: Option<&str>| {
        let mut b = json!({"exclusionType":"Voice","exclusionValue":v});
        if let Some(e) = end {
            b["endTime"] = json!(e);
        }
        b
    };
    // A month earlier: permanent exclusions in both orgs (creationTime 2026-10-01).
    let (_, app) = open_state(d.path(), "2026-10-01T00:00:00Z");
    let old_perm = post(&app, "exclusions", ex("2125550105", None)).await;
    let (s, beta_perm) = call(&app, "POST", &p("beta", "exclusions"), Some(B), Some(ex("2125550105", None))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) =
        call(&app, "PATCH", &p("beta", "exclusions/configurations"), Some(B), Some(json!({"retainNoEndTime":true})))
            .await;
    assert_eq!(s, StatusCode::OK);
    drop(app);

    let (st, app) = open_state(d.path(), NOW); // 2026-11-02T15:00Z; acme keeps the defaults (14 days, no-end not kept)
    let gone = post(&app, "exclusions", ex("2125550101", Some("2026-10-01T00:00:00Z"))).await;
    let edge = post(&app, "exclusions", ex("2125550102", Some("2026-10-19T15:00:00Z"))).await; // exactly 14 days
    let recent = post(&app, "exclusions", ex("2125550103", Some("2026-10-25T00:00:00Z"))).await;
    let new_perm = post(&app, "exclusions", ex("2125550104", None)).await;
    let (s, _) = call(
        &app,
        "PATCH",
        &p("acme", "convenientContactTimes/configurations"),
        Some(A),
        Some(json!({"retainDays":3})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let times = json!([{"dayOfWeek":["Monday"],"startTime":"20:00","endTime":"21:00"}]);
    let cct = |customer: &str, end: Option<&str>| {
        let mut b = json!({"contactKeyType":"Customer","contactKey":customer,"contactValueType":"Voice",
            "contactValue":"3105550100","convenientTimes":times.clone()});
        if let Some(e) = end {
            b["endTime"] = json!(e);
        }
        b
    };
    let cct_gone = post(&app, "convenientContactTimes", cct("C-1", Some("2026-10-29T00:00:00Z"))).await;
    let cct_kept = post(&app, "convenientContactTimes", cct("C-2", Some("2026-10-31T00:00:00Z"))).await;
    let cct_live = post(&app, "convenientContactTimes", cct("C-3", None)).await;
    let check =
        |addr: &str, customer: &str| json!({"contactChannel":"Voice","contactAddress":addr,"customer":customer});
    let r = post(&app, "complianceStatuses", check("2125550105", "X-1")).await;
    assert_eq!((r["restrictionType"].as_str(), &r["restrictedRuleId"]), (Some("ExclusionVoice"), &old_perm["id"]));

    let st2 = st.clone();
    let counts = tokio::task::spawn_blocking(move || st2.purge_all(at(NOW))).await.unwrap().unwrap();
    let by_org: std::collections::BTreeMap<_, _> =
        counts.iter().map(|(o, c)| (o.as_str(), (c.exclusions, c.convenient_contact_times))).collect();
    assert_eq!(by_org["acme"], (2, 1), "{counts:?}");
    assert_eq!(by_org["beta"], (0, 0), "beta keeps rules without endTime");

    let get = |coll: &str, v: &Value| format!("{coll}/{}", v["id"].as_str().unwrap());
    for (item, coll, want) in [
        (&gone, "exclusions", StatusCode::NOT_FOUND),
        (&old_perm, "exclusions", StatusCode::NOT_FOUND),
        (&edge, "exclusions", StatusCode::OK),
        (&recent, "exclusions", StatusCode::OK),
        (&new_perm, "exclusions", StatusCode::OK),
        (&cct_gone, "convenientContactTimes", StatusCode::NOT_FOUND),
        (&cct_kept, "convenientContactTimes", StatusCode::OK),
        (&cct_live, "convenientContactTimes", StatusCode::OK),
    ] {
        let (s, _) = call(&app, "GET", &p("acme", &get(coll, item)), Some(A), None).await;
        assert_eq!(s, want, "{coll} {}", item["id"]);
    }
    let (_, l) = call(&app, "GET", &p("acme", "exclusions"), Some(A), None).await;
    assert_eq!(l["totalItems"], 3);
    // An unfiltered page of a kind held in memory: the purged CCT is gone, the rest in creation order.
    let (_, l) = call(&app, "GET", &p("acme", "convenientContactTimes?startIndex=1&maxResults=1"), Some(A), None).await;
    assert_eq!((l["totalItems"].as_i64(), l["convenientContactTimes"].as_array().map(Vec::len)), (Some(2), Some(1)));
    assert_eq!(l["convenientContactTimes"][0]["id"], cct_live["id"]);
    let (s, _) = call(&app, "GET", &p("beta", &get("exclusions", &beta_perm)), Some(B), None).await;
    assert_eq!(s, StatusCode::OK);
    // The engine forgot the purged exclusion and kept the live CCT.
    let r = post(&app, "complianceStatuses", check("2125550105", "X-2")).await;
    assert_eq!(r["restricted"], false, "{r}");
    let r = post(&app, "complianceStatuses", check("2125550104", "X-3")).await;
    assert_eq!((r["restrictionType"].as_str(), &r["restrictedRuleId"]), (Some("ExclusionVoice"), &new_perm["id"]));
    let r = post(&app, "complianceStatuses", check("3105550100", "C-3")).await;
    assert_eq!(
        (r["restrictionType"].as_str(), &r["restrictedRuleId"]),
        (Some("ConvenientContactTimeCustomerVoice"), &cct_live["id"])
    );
    // A second purge at the same instant finds nothing; the store agrees after a restart.
    let st2 = st.clone();
    let again = tokio::task::spawn_blocking(move || st2.purge_all(at(NOW))).await.unwrap().unwrap();
    assert!(again.iter().all(|(_, c)| c.exclusions + c.convenient_contact_times == 0), "{again:?}");
    drop((app, st));
    let (_, app) = open_state(d.path(), NOW);
    let (_, l) = call(&app, "GET", &p("acme", "exclusions"), Some(A), None).await;
    assert_eq!(l["totalItems"], 3);
    let (_, l) = call(&app, "GET", &p("acme", "convenientContactTimes"), Some(A), None).await;
    assert_eq!(l["totalItems"], 2);
}

#[tokio::test]
async fn enum_values_are_stored_in_the_api_spelling() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let ex = post(&app, "exclusions", json!({"exclusionType":"voice","exclusionValue":"2125550101"})).await;
    assert_eq!(ex["exclusionType"], "Voice");
    let sms = post(&app, "exclusions", json!({"exclusionType":"sms","exclusionValue":"2125550102"})).await;
    assert_eq!(sms["exclusionType"], "SMS");
    let voice = post(&app, "exclusions", json!({"exclusionType":"VOICE","exclusionValue":"2125550103"})).await;
    assert_eq!(voice["exclusionType"], "Voice");
    let cct = post(
        &app,
        "convenientContactTimes",
        json!({"contactKeyType":"customer","contactKey":"C1","contactValueType":"sms","contactValue":"2125550101",
            "convenientTimes":[{"dayOfWeek":["mon","TUESDAY"],"startTime":"09:00","endTime":"17:00"}]}),
    )
    .await;
    assert_eq!(
        (&cct["contactKeyType"], &cct["contactValueType"], &cct["convenientTimes"][0]["dayOfWeek"]),
        (&json!("Customer"), &json!("SMS"), &json!(["Monday", "Tuesday"]))
    );
    let at = post(
        &app,
        "attemptTrackers",
        json!({"attemptTrackerName":"t","contactChannels":["voice","EMAIL"],"typeOfTracker":"customerphone",
            "numberOfAttempts":7,"thresholdType":"day","threshold":7}),
    )
    .await;
    assert_eq!(
        (&at["contactChannels"], &at["typeOfTracker"], &at["thresholdType"]),
        (&json!(["Voice", "Email"]), &json!("CustomerContactAddress"), &json!("Day"))
    );
    // Filters compare in the same spelling, v3 tracker names included.
    let (_, l) = call(&app, "GET", &p("acme", "exclusions?exclusionType=vOICE"), Some(A), None).await;
    assert_eq!(l["totalItems"], 2);
    let (_, l) = call(&app, "GET", &p("acme", "attemptTrackers?typeOfTracker=CustomerPhone"), Some(A), None).await;
    assert_eq!(l["attemptTrackers"][0]["id"], at["id"]);
    let (_, l) = call(&app, "GET", &p("acme", "attemptTrackers?contactChannels=EMAIL"), Some(A), None).await;
    assert_eq!(l["totalItems"], 1);
    let (s, v) = call(&app, "GET", &p("acme", "attemptTrackers?contactChannels=fax"), Some(A), None).await;
    assert_eq!((s, scope(&v)), (StatusCode::BAD_REQUEST, "contactChannels"));
    let mt = post(
        &app,
        "messageTrackers",
        json!({"messageTrackerName":"m","typeOfTracker":"ACCOUNT","numberOfAttempts":1,"thresholdType":"currentday",
            "threshold":1,"thresholdActionType":"noplaymessage"}),
    )
    .await;
    assert_eq!(
        (&mt["typeOfTracker"], &mt["thresholdType"], &mt["thresholdActionType"]),
        (&json!("Account"), &json!("CurrentDay"), &json!("NoPlayMessage"))
    );
    // Read back (and after a restart) the same.
    drop(app);
    let app = open(d.path(), NOW);
    let (_, got) =
        call(&app, "GET", &p("acme", &format!("exclusions/{}", ex["id"].as_str().unwrap())), Some(A), None).await;
    assert_eq!(got["exclusionType"], "Voice");
    let (_, got) = call(
        &app,
        "GET",
        &p("acme", &format!("convenientContactTimes/{}", cct["id"].as_str().unwrap())),
        Some(A),
        None,
    )
    .await;
    assert_eq!(got["convenientTimes"][0]["dayOfWeek"], json!(["Monday", "Tuesday"]));
}

/// SPEC §3/§5: identities stay unique. A PUT that would make a CCT, an exclusion or a
/// quota control the twin of another is 409 naming the field, and changes nothing; the
/// same PUT on the item that already has the identity is fine. (Before, a CCT PUT was
/// accepted, and the REST engine then chose between two rules of one tier where the
/// batch reading of the same rules keeps the later one: the differential run found it.)
#[tokio::test]
async fn a_put_never_makes_two_rules_with_one_identity() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW); // Monday 15:00 UTC
    let all_day = json!([{"dayOfWeek":["Monday"],"startTime":"00:00","endTime":"24:00"}]);
    let never = json!([]);
    let a = post(
        &app,
        "convenientContactTimes",
        json!({"contactKeyType":"Customer","contactKey":"C-1","contactValueType":"All","convenientTimes":all_day}),
    )
    .await;
    let b = post(
        &app,
        "convenientContactTimes",
        json!({"contactKeyType":"Account","contactKey":"A-1","contactValueType":"All","convenientTimes":never}),
    )
    .await;
    let twin = json!({"contactKeyType":"customer","contactKey":"C-1","contactValueType":"all","convenientTimes":never,"version":1});
    let (s, v) = call(
        &app,
        "PUT",
        &p("acme", &format!("convenientContactTimes/{}", b["id"].as_str().unwrap())),
        Some(A),
        Some(twin.clone()),
    )
    .await;
    assert_eq!((s, scope(&v)), (StatusCode::CONFLICT, "contactKey"));
    assert!(v["error"]["errors"][0]["message"].as_str().unwrap().contains(a["id"].as_str().unwrap()));
    // Nothing changed: the customer's all-day window still allows; the account's rule still restricts A-1.
    let rec = json!({"contactChannel":"Voice","contactAddress":"2125550101","customer":"C-1","accountNumber":"A-9"});
    let r = post(&app, "complianceStatuses", rec.clone()).await;
    assert_eq!(r["restricted"], false);
    let (_, got) =
        call(&app, "GET", &p("acme", &format!("convenientContactTimes/{}", b["id"].as_str().unwrap())), Some(A), None)
            .await;
    assert_eq!((got["contactKeyType"].as_str(), got["version"].as_i64()), (Some("Account"), Some(1)));
    // The same body PUT on the item that has the identity is an ordinary update.
    let (s, v) = call(
        &app,
        "PUT",
        &p("acme", &format!("convenientContactTimes/{}", a["id"].as_str().unwrap())),
        Some(A),
        Some(twin),
    )
    .await;
    assert_eq!((s, v["version"].as_i64()), (StatusCode::OK, Some(2)));
    let r = post(
        &app,
        "complianceStatuses",
        json!({"contactChannel":"Voice","contactAddress":"2125550102","customer":"C-1"}),
    )
    .await;
    assert_eq!(
        (r["restrictionType"].as_str(), r["restrictedRuleId"].as_str()),
        (Some("ConvenientContactTimeCustomer"), a["id"].as_str())
    );

    // Exclusions: type, normalised value and list.
    let e1 =
        post(&app, "exclusions", json!({"exclusionType":"Voice","exclusionValue":"2125550111","contactListName":"L1"}))
            .await;
    let e2 =
        post(&app, "exclusions", json!({"exclusionType":"Voice","exclusionValue":"2125550112","contactListName":"L1"}))
            .await;
    let (s, v) = call(
        &app,
        "PUT",
        &p("acme", &format!("exclusions/{}", e2["id"].as_str().unwrap())),
        Some(A),
        Some(json!({"exclusionType":"Voice","exclusionValue":"(212) 555-0111","contactListName":"L1","version":1})),
    )
    .await;
    assert_eq!((s, scope(&v)), (StatusCode::CONFLICT, "exclusionValue"));
    assert!(v["error"]["errors"][0]["message"].as_str().unwrap().contains(e1["id"].as_str().unwrap()));
    // Another list is another identity.
    let (s, v) = call(
        &app,
        "PUT",
        &p("acme", &format!("exclusions/{}", e2["id"].as_str().unwrap())),
        Some(A),
        Some(json!({"exclusionType":"Voice","exclusionValue":"(212) 555-0111","contactListName":"L2","version":1})),
    )
    .await;
    assert_eq!((s, v["contactListName"].as_str(), v["version"].as_i64()), (StatusCode::OK, Some("L2"), Some(2)));

    // Quota controls: the product name, case-insensitively.
    post(&app, "quotaControls", json!({"product":"Gold","totalQuota":5})).await;
    let q = post(&app, "quotaControls", json!({"product":"Silver","totalQuota":5})).await;
    let (s, v) = call(
        &app,
        "PUT",
        &p("acme", &format!("quotaControls/{}", q["id"].as_str().unwrap())),
        Some(A),
        Some(json!({"product":"GOLD","totalQuota":1,"version":1})),
    )
    .await;
    assert_eq!((s, scope(&v)), (StatusCode::CONFLICT, "product"));
}

/// Every query filter the reference documents for GET contactAttempts v4 narrows
/// the list (`timeZone` was ignored before: the list came back whole).
#[tokio::test]
async fn contact_attempt_list_filters_each_narrow_the_list() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let save = |body: Value| {
        let app = app.clone();
        async move {
            let mut b = body;
            b["operationType"] = json!("SaveContactNoKeyCheck");
            let (s, v) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(b)).await;
            assert_eq!(s, StatusCode::ACCEPTED, "{v}");
            v
        }
    };
    save(json!({"contactChannel":"Voice","contactAddress":"(212) 555-0101","customer":"C-1","accountNumber":"A-1",
        "timeOfContact":"2026-11-01T10:00:00Z","timeZone":"America/New_York","disposition":"Answered","numberType":1,
        "purpose":"Sales","geocodes":["US","NY"]}))
    .await;
    let second =
        save(json!({"contactChannel":"SMS","contactAddress":"3105550199","customer":"C-2","accountNumber":"A-2",
        "timeOfContact":"2026-11-02T10:00:00Z","timeZone":"America/Los_Angeles","disposition":"NoAnswer","numberType":2,
        "purpose":"Collections","geocodes":["US","CA"]}))
        .await;
    let (s, _) = call(
        &app,
        "PATCH",
        &p("acme", &format!("contactAttempts/{}", second["id"].as_str().unwrap())),
        Some(A),
        Some(json!({"status":"Disabled","version":1})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for (query, want) in [
        ("", 2),
        ("contactChannel=sms", 1),
        ("contactAddress=212-555-0101", 1),
        ("customer=C-1", 1),
        ("accountNumber=A-2", 1),
        ("disposition=answered", 1),
        ("numberType=2", 1),
        ("geocodes=ca,tx", 1),
        ("geocodes=US", 2),
        ("purpose=sales", 1),
        ("timeZone=America/Los_Angeles", 1),
        ("timeZone=america/new_york", 1),
        ("timeZone=Europe/London", 0),
        ("fromTimeOfContact=2026-11-02T10:00:00Z", 1),
        ("toTimeOfContact=2026-11-02T10:00:00Z", 2),
        ("toTimeOfContact=2026-11-02T09:59:59.999Z", 1),
        ("status=Disabled", 1),
        ("fromCreationTime=2026-11-02T15:00:00Z&toCreationTime=2026-11-02T15:00:00Z", 2),
        ("lastModifiedBy=nobody", 0),
        ("customer=C-1&timeZone=America/Los_Angeles", 0),
    ] {
        let (s, v) = call(&app, "GET", &p("acme", &format!("contactAttempts?{query}")), Some(A), None).await;
        assert_eq!((s, v["totalItems"].as_u64()), (StatusCode::OK, Some(want)), "{query}: {v}");
    }
}

/// Items show every field of the reference's response shape, a field never sent
/// with the value it acts with (so `enabled=true` finds trackers created without
/// it), and a GET body sent back as a PUT means the same thing: a tracker sent
/// without channel fields (the v3 reading: every channel, counted across) shows
/// them, and after the round trip it still counts an SMS attempt for a Voice check.
#[tokio::test]
async fn items_show_their_defaults_and_round_trip_through_put() {
    let d = tempfile::tempdir().unwrap();
    let app = open(d.path(), NOW);
    let t = post(
        &app,
        "attemptTrackers",
        json!({"attemptTrackerName":"any channel","typeOfTracker":"Account","numberOfAttempts":1,
        "thresholdType":"Day","threshold":1}),
    )
    .await;
    assert_eq!(
        (&t["contactChannels"], &t["acrossContactChannels"], &t["excludeContactChannels"], &t["enabled"]),
        (&json!(["Voice", "SMS", "Email"]), &json!(true), &json!(false), &json!(true))
    );
    for f in ["locale", "attemptTrackerDescription", "dispositions", "numberTypes", "geocodes", "purposes"] {
        assert_eq!(t.get(f), Some(&Value::Null), "{f}");
    }
    let (_, l) = call(&app, "GET", &p("acme", "attemptTrackers?enabled=true"), Some(A), None).await;
    assert_eq!(l["totalItems"], 1);
    let (_, l) = call(&app, "GET", &p("acme", "attemptTrackers?enabled=false"), Some(A), None).await;
    assert_eq!(l["totalItems"], 0);
    let sms = json!({"contactChannel":"SMS","contactAddress":"2125550101","accountNumber":"AC-1",
        "timeOfContact":"2026-11-02T14:00:00Z","operationType":"SaveContactNoKeyCheck"});
    let (s, _) = call(&app, "POST", &p("acme", "contactAttempts"), Some(A), Some(sms)).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let rec = json!({"contactChannel":"Voice","contactAddress":"2125550199","accountNumber":"AC-1",
        "requiredChecks":["attemptTrackers"]});
    let before = post(&app, "complianceStatuses", rec.clone()).await;
    assert_eq!(before["restrictionType"], "AttemptTrackerAccountVoice");
    // GET, send the body back as a PUT (version included), and the answer is the same.
    let url = p("acme", &format!("attemptTrackers/{}", t["id"].as_str().unwrap()));
    let (_, got) = call(&app, "GET", &url, Some(A), None).await;
    let (s, put) = call(&app, "PUT", &url, Some(A), Some(got)).await;
    assert_eq!((s, put["version"].as_i64()), (StatusCode::OK, Some(2)));
    let after = post(&app, "complianceStatuses", rec).await;
    assert_eq!(
        (&after["restrictionType"], &after["restrictionEndTime"]),
        (&before["restrictionType"], &before["restrictionEndTime"])
    );

    // The other kinds: shown fields, and a GET body PUT back is accepted.
    // Each with a filter that only the shown value matches (checked before the PUT stores it).
    for (coll, body, fields, filter) in [
        (
            "exclusions",
            json!({"exclusionType":"SSN","exclusionValue":"123-45-6789"}),
            vec!["contactListName", "reason", "startTime", "endTime", "locale"],
            None,
        ),
        (
            "convenientContactTimes",
            json!({"contactKeyType":"Customer","contactKey":"C-1","contactValueType":"All","convenientTimes":[]}),
            vec!["contactValue", "reason", "endTime", "locale"],
            None,
        ),
        (
            "quotaControls",
            json!({"product":"Gold","totalQuota":3}),
            vec!["productDescription", "unitValue", "locale"],
            Some("productSold=0"),
        ),
        (
            "messageTrackers",
            json!({"messageTrackerName":"m","typeOfTracker":"Account","numberOfAttempts":1,"thresholdType":"Day","threshold":1}),
            vec!["messageTrackerDescription", "dispositions", "locale"],
            Some("thresholdActionType=NoPlayMessage"),
        ),
    ] {
        let item = post(&app, coll, body).await;
        for f in fields {
            assert_eq!(item.get(f), Some(&Value::Null), "{coll}.{f}");
        }
        if let Some(f) = filter {
            let (_, l) = call(&app, "GET", &p("acme", &format!("{coll}?{f}")), Some(A), None).await;
            assert_eq!(l["totalItems"], 1, "{coll}?{f}");
        }
        let url = p("acme", &format!("{coll}/{}", item["id"].as_str().unwrap()));
        let (_, got) = call(&app, "GET", &url, Some(A), None).await;
        let (s, v) = call(&app, "PUT", &url, Some(A), Some(got)).await;
        assert_eq!((s, v["version"].as_i64()), (StatusCode::OK, Some(2)), "{coll}: {v}");
    }
    let (_, q) = call(&app, "GET", &p("acme", "quotaControls"), Some(A), None).await;
    assert_eq!(q["quotaControls"][0]["productSold"], 0);
    // A configuration nobody changed shows null for who and when.
    let (_, c) = call(&app, "GET", &p("acme", "exclusions/configurations"), Some(A), None).await;
    assert_eq!((c.get("lastModifiedBy"), c.get("lastModifiedTime")), (Some(&Value::Null), Some(&Value::Null)));
}

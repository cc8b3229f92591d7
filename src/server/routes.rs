//! HTTP handlers: thin adapters from the API's paths and bodies to
//! [`super::org`] and the evaluator. Every error leaves as `ErrorResponse4xx`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query as QueryParams, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use super::active_log::LogOp;
use super::collection::{parse_fields, Query};
use super::error::{ApiError, ApiResult};
use super::kinds::{shown, shown_config, Kind, ATTEMPT_FILTERS};
use super::org::{parse_item, Actor, ConfigKind, NewAttempt};
use super::{store, AppState};
use crate::engine::{self, evaluate_with, Decision};
use crate::model::dto::ComplianceStatusesInsertRequestV4;
use crate::model::{OperationType, Record};

type St = State<Arc<AppState>>;
type Params = QueryParams<Vec<(String, String)>>;

/// Request body limit (a check or a rule is a few hundred bytes).
pub const BODY_LIMIT: usize = 1 << 20;

const BASE: &str = "/via/{ver}/organizations/{org}/compliance";

/// The router (tests call it with `oneshot`; `scrub serve` binds it).
pub fn app(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route(&format!("{BASE}/complianceStatuses"), get(check_get).post(check_post))
        .route(&format!("{BASE}/contactAttempts"), get(attempt_list).post(attempt_post))
        .route(&format!("{BASE}/contactAttempts/{{id}}"), get(attempt_get).patch(attempt_patch))
        .route(&format!("{BASE}/{{coll}}/configurations"), get(config_get).patch(config_patch))
        .route(&format!("{BASE}/{{coll}}"), get(list).post(create))
        .route(&format!("{BASE}/{{coll}}/{{id}}"), get(get_item).put(update).delete(delete_item))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    let router = Router::new()
        .route("/healthz", get(healthz))
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    let router = if state.log_requests { router.layer(middleware::from_fn(log)) } else { router };
    router.with_state(state)
}

/// The caller, resolved from the bearer token by the `auth` middleware.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: String,
}

async fn healthz() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], r#"{"status":"ok"}"#)
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "path", "notFound", format!("no such path: {}", req.uri().path()))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method",
        "methodNotAllowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

/// SPEC §13 auth: no or unknown token → 401; a token of another org → 403.
async fn auth(State(st): St, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(token) = token else {
        return ApiError::unauthorized("missing 'Authorization: Bearer <token>' header").into_response();
    };
    let Some(entry) = st.token(token) else {
        return ApiError::unauthorized("unknown token").into_response();
    };
    let org = req.uri().path().split('/').nth(4).unwrap_or("");
    if entry.org != org {
        return ApiError::forbidden().into_response();
    }
    let user = entry.user.clone().unwrap_or_else(|| format!("token:{}", entry.org));
    req.extensions_mut().insert(Caller { user });
    next.run(req).await
}

/// One JSON line per request on standard error.
async fn log(req: Request, next: Next) -> Response {
    let t0 = std::time::Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let resp = next.run(req).await;
    let line = json!({
        "time": crate::time::format_instant(chrono::Utc::now()),
        "method": method.as_str(),
        "path": path,
        "status": resp.status().as_u16(),
        "micros": t0.elapsed().as_micros() as u64,
    });
    eprintln!("{line}");
    resp
}

/// A JSON body's bytes: wrong content type → 415.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !(mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type",
                "unsupportedMediaType",
                format!("expected application/json, got '{ct}'"),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "body", "invalid", e.body_text()))?;
        Ok(JsonBytes(bytes))
    }
}

fn object(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("body", "the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request("body", format!("malformed JSON: {e}"))),
    }
}

/// A JSON object body: wrong content type → 415, malformed → 400.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBytes(b) = JsonBytes::from_request(req, state).await?;
        object(&b).map(JsonObject)
    }
}

fn route_404(path: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "path", "notFound", format!("no such path: {path}"))
}

/// The rule kind of `{coll}` under `{ver}`: exclusions and quotaControls are
/// served under v3 and v4; the other kinds under v4 (their v3 shapes differ).
fn kind_for(ver: &str, coll: &str, path: &str) -> ApiResult<Kind> {
    let k = Kind::from_plural(coll).ok_or_else(|| route_404(path))?;
    match (ver, k) {
        ("v4", _) | ("v3", Kind::Exclusion | Kind::Quota) => Ok(k),
        _ => Err(route_404(path)),
    }
}

fn need_v4(ver: &str, path: &str) -> ApiResult<()> {
    if ver == "v4" {
        Ok(())
    } else {
        Err(route_404(path))
    }
}

fn actor<'a>(st: &AppState, c: &'a Caller) -> Actor<'a> {
    Actor { user: &c.user, now: st.clock.now() }
}

fn read<T>(l: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

// ------------------------------------------------------------------ rules

async fn list(State(st): St, Path((ver, org, coll)): Path<(String, String, String)>, q: Params) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/{coll}");
    let k = kind_for(&ver, &coll, &path)?;
    let query = Query::parse(&q.0, &k.filters())?;
    let o = st.org(&org);
    let inner = read(&o.inner);
    let (total, page) = if !query.filters() {
        let (total, items) = inner.page_items(&st.store, &org, k, query.start, query.max)?;
        (total, items.into_iter().map(|i| Value::Object(shown(k, i))).collect())
    } else {
        let (mut total, mut page) = (0usize, Vec::new());
        // Filters see the shown defaults. Where those are all null (they match no
        // filter) a scanned item is parsed for the filtered fields only, and in
        // full only for the page: a filtered list of a million exclusions.
        let fields = if k.shown_defaults_are_null() { Some(query.fields()) } else { None };
        inner.scan_texts(&st.store, &org, k, |text| {
            let seen = match &fields {
                Some(fields) => parse_fields(text, fields),
                None => shown(k, parse_item(text)),
            };
            if query.matches(&seen) {
                if total >= query.start && page.len() < query.max {
                    let item = if fields.is_some() { shown(k, parse_item(text)) } else { seen };
                    page.push(Value::Object(item));
                }
                total += 1;
            }
            true
        })?;
        (total, page)
    };
    let body = query.body(&format!("{}Collection", k.item_kind()), k.plural(), &path, total, page);
    Ok(Json(body).into_response())
}

async fn create(
    State(st): St,
    Path((ver, org, coll)): Path<(String, String, String)>,
    Extension(c): Extension<Caller>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/{coll}");
    let k = kind_for(&ver, &coll, &path)?;
    let o = st.org(&org);
    let _serial = o.mutations.write().await;
    let mut inner = write(&o.inner);
    let (created, item) = inner.create(&st.store, &org, k, &body, &actor(&st, &c))?;
    let id = item.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, [(header::LOCATION, format!("{path}/{id}"))], Json(Value::Object(shown(k, item)))).into_response())
}

async fn get_item(
    State(st): St,
    Path((ver, org, coll, id)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/{coll}/{id}");
    let k = kind_for(&ver, &coll, &path)?;
    let o = st.org(&org);
    let inner = read(&o.inner);
    let item = inner.get_item(&st.store, &org, k, &id)?.ok_or_else(|| ApiError::not_found(k.singular(), &id))?;
    Ok(Json(Value::Object(shown(k, item))).into_response())
}

async fn update(
    State(st): St,
    Path((ver, org, coll, id)): Path<(String, String, String, String)>,
    Extension(c): Extension<Caller>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/{coll}/{id}");
    let k = kind_for(&ver, &coll, &path)?;
    let o = st.org(&org);
    let _serial = o.mutations.write().await;
    let mut inner = write(&o.inner);
    let item = inner.update(&st.store, &org, k, &id, &body, &actor(&st, &c))?;
    Ok(Json(Value::Object(shown(k, item))).into_response())
}

async fn delete_item(
    State(st): St,
    Path((ver, org, coll, id)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/{coll}/{id}");
    let k = kind_for(&ver, &coll, &path)?;
    let o = st.org(&org);
    let _serial = o.mutations.write().await;
    let mut inner = write(&o.inner);
    inner.delete(&st.store, &org, k, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ------------------------------------------------------------ configurations

fn config_kind(ver: &str, coll: &str, path: &str) -> ApiResult<ConfigKind> {
    need_v4(ver, path)?;
    ConfigKind::from_plural(coll).ok_or_else(|| route_404(path))
}

async fn config_get(State(st): St, Path((ver, org, coll)): Path<(String, String, String)>) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/{coll}/configurations");
    let ck = config_kind(&ver, &coll, &path)?;
    let o = st.org(&org);
    let inner = read(&o.inner);
    Ok(Json(Value::Object(shown_config(inner.config_item(ck).clone()))).into_response())
}

async fn config_patch(
    State(st): St,
    Path((ver, org, coll)): Path<(String, String, String)>,
    Extension(c): Extension<Caller>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/{coll}/configurations");
    let ck = config_kind(&ver, &coll, &path)?;
    let o = st.org(&org);
    let _serial = o.mutations.write().await;
    let mut inner = write(&o.inner);
    let item = inner.patch_config(&st.store, &org, ck, &body, &actor(&st, &c))?;
    Ok(Json(Value::Object(shown_config(item))).into_response())
}

// ------------------------------------------------------------------ checks

/// Evaluates one record (SPEC §3–§9) and, when allowed, makes or refreshes
/// its active record (SPEC §8). Returns the response and the pending commit.
fn check(
    st: &AppState,
    org: &str,
    req: &ComplianceStatusesInsertRequestV4,
) -> ApiResult<(Response, Option<store::Pending>)> {
    let rec = Record::from_request(req, st.default_zone)?;
    let now = st.clock.now();
    let o = st.org(org);
    let inner = read(&o.inner);
    // Evaluate under the read lock, so checks run in parallel.
    let mut d = evaluate_with(&inner.engine, &rec, now, Some(&*read(&o.active)));
    let cfg = &inner.engine.config;
    let mut commit = None;
    let key = if !d.restricted() && cfg.enable_active_record_feature {
        let key = if rec.key.is_empty() { super::org::new_id() } else { rec.key.clone() };
        let expires = now + chrono::Duration::minutes(cfg.life_time_of_active_record);
        let mut active = write(&o.active);
        // Another check may have reserved this address, customer or account
        // since the read: then this one is blocked, exactly as if it had come
        // second (the steps before §8's do not look at active records).
        if let Some((restriction, end)) = engine::active_block(&inner.engine, &rec, now, &*active) {
            d = Decision {
                restriction: Some(restriction),
                end: Some(end),
                available_quota: d.available_quota,
                ..Decision::default()
            };
            None
        } else {
            active.put(&key, &rec.address, &rec.customer, &rec.account, expires);
            active.purge(now);
            // Queued under the lock, so the log has one key's records in order.
            commit = Some(st.group_writer.submit(LogOp::Put {
                org: org.to_string(),
                key: key.clone(),
                address: rec.address.clone(),
                customer: rec.customer.clone(),
                account: rec.account.clone(),
                expires_ms: expires.timestamp_millis(),
            }));
            Some(key)
        }
    } else {
        None
    };
    Ok((Json(d.to_response(key)).into_response(), commit))
}

/// Sends the check's answer once its active record is committed.
async fn committed(r: (Response, Option<store::Pending>)) -> ApiResult<Response> {
    if let Some(rx) = r.1 {
        durable(rx).await?;
    }
    Ok(r.0)
}

/// Waits for a queued write to be durable: its value (an attempt's seq), or
/// the store's failure as a 500.
async fn durable(rx: store::Pending) -> ApiResult<i64> {
    match rx.await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ApiError::internal(e)),
        Err(_) => Err(ApiError::internal("store: the writer stopped")),
    }
}

async fn check_post(
    State(st): St,
    Path((ver, org)): Path<(String, String)>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Response> {
    need_v4(&ver, &format!("/via/{ver}/organizations/{org}/compliance/complianceStatuses"))?;
    // The common, well-formed body straight into the request type; anything
    // else goes the slow way, which names the offending field.
    let req: ComplianceStatusesInsertRequestV4 = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => crate::io::rules::dto_from_value(Value::Object(object(&body)?))?,
    };
    let r = check(&st, &org, &req)?;
    committed(r).await
}

async fn check_get(State(st): St, Path((ver, org)): Path<(String, String)>, q: Params) -> ApiResult<Response> {
    need_v4(&ver, &format!("/via/{ver}/organizations/{org}/compliance/complianceStatuses"))?;
    let mut req = ComplianceStatusesInsertRequestV4::default();
    for (k, v) in q.0 {
        let s = Some(v.clone());
        match k.as_str() {
            "requiredChecks" => {
                req.required_checks =
                    Some(v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
            }
            "contactChannel" => req.contact_channel = s,
            "contactAddress" => req.contact_address = s,
            "customer" => req.customer = s,
            "accountNumber" => req.account_number = s,
            "ssn" => req.ssn = s,
            "contactListName" => req.contact_list_name = s,
            "numberType" => req.number_type = Some(Value::String(v)),
            "geocodes" => req.geocodes = Some(Value::String(v)),
            "purpose" => req.purpose = s,
            "timeZone" => req.time_zone = s,
            "product" => req.product = s,
            "key" => req.key = s,
            _ => {}
        }
    }
    let r = check(&st, &org, &req)?;
    committed(r).await
}

// --------------------------------------------------------- contact attempts

async fn attempt_post(
    State(st): St,
    Path((ver, org)): Path<(String, String)>,
    Extension(c): Extension<Caller>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/contactAttempts");
    need_v4(&ver, &path)?;
    let actor = actor(&st, &c);
    let op = match body.get("operationType") {
        None | Some(Value::Null) => OperationType::SaveContactWithKeyCheck,
        Some(Value::String(s)) if s.trim().is_empty() => OperationType::SaveContactWithKeyCheck,
        Some(Value::String(s)) => OperationType::parse(s.trim()).ok_or_else(|| {
            ApiError::bad_request(
                "operationType",
                format!("unknown value '{s}' (expected {})", OperationType::expected()),
            )
        })?,
        Some(other) => return Err(ApiError::bad_request("operationType", format!("{other} is not a string"))),
    };
    let key = body.get("key").and_then(Value::as_str).map(str::trim).filter(|k| !k.is_empty()).map(str::to_string);
    let o = st.org(&org);
    if op == OperationType::CancelContact {
        let _serial = o.mutations.write().await;
        let key = key.ok_or_else(|| ApiError::bad_request("key", "is required to cancel a contact"))?;
        // Out of memory first (a check cannot reserve it meanwhile), then out
        // of the log; put back if the log fails.
        let taken = {
            let mut active = write(&o.active);
            let taken = active.remove(&key);
            // Queued under the lock, so the log has one key's records in order.
            let del = taken.as_ref().map(|a| {
                st.group_writer.submit(LogOp::Del {
                    org: org.clone(),
                    key: key.clone(),
                    expires_ms: a.expires.timestamp_millis(),
                })
            });
            taken.zip(del)
        };
        if let Some((a, del)) = taken {
            if let Err(e) = durable(del).await {
                write(&o.active).put_active(&key, &a);
                return Err(e);
            }
        }
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let na = NewAttempt::parse(&body, actor.now)?;
    let (_shared, _exclusive);
    if na.moves_quota() {
        _exclusive = o.mutations.write().await;
    } else {
        _shared = o.mutations.read().await;
    }
    let feature = read(&o.inner).engine.config.enable_active_record_feature;
    let check_key = op == OperationType::SaveContactWithKeyCheck && feature;
    let prepared = read(&o.inner).prepare_attempt(&na, &actor);
    // Take the key's active record out first, so two saves with one key cannot
    // both pass, and queue the write under the same lock, so the log has one
    // key's records in order. The store's writer thread commits it with
    // whatever else is queued (the active records of concurrent checks).
    let (taken, committed) = if check_key {
        let k = key.as_deref().ok_or_else(|| {
            ApiError::bad_request("key", "is required (the key of the compliance check), or use SaveContactNoKeyCheck")
        })?;
        let mut active = write(&o.active);
        if !active.is_live(k, actor.now) {
            return Err(ApiError::bad_request("key", format!("no live active record for key '{k}'")));
        }
        let taken = active.remove(k).map(|a| (k, a));
        let used = taken.as_ref().map(|(k, a)| LogOp::Del {
            org: org.clone(),
            key: k.to_string(),
            expires_ms: a.expires.timestamp_millis(),
        });
        (taken, st.group_writer.write(prepared.write_job(&org), used))
    } else {
        (None, st.group_writer.write(prepared.write_job(&org), None))
    };
    let seq = match durable(committed).await {
        Ok(seq) => seq,
        Err(e) => {
            if let Some((k, a)) = taken {
                write(&o.active).put_active(k, &a);
            }
            return Err(e);
        }
    };
    let item = write(&o.inner).apply_attempt(prepared, seq, &na)?;
    let id = item.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, format!("{path}/{id}"))], Json(Value::Object(item))).into_response())
}

async fn attempt_list(State(st): St, Path((ver, org)): Path<(String, String)>, q: Params) -> ApiResult<Response> {
    let path = format!("/via/{ver}/organizations/{org}/compliance/contactAttempts");
    need_v4(&ver, &path)?;
    let query = Query::parse(&q.0, ATTEMPT_FILTERS)?;
    let (total, page) = if query.filters() {
        // Filters read only their own fields; full items are built for the page alone.
        let fields = query.fields();
        let (mut total, mut page) = (0usize, Vec::new());
        st.store.scan_attempts(&org, |row| {
            if query.matches(&row.fields(&fields)) {
                if total >= query.start && page.len() < query.max {
                    page.push(Value::Object(row.to_json()));
                }
                total += 1;
            }
            true
        })?;
        (total, page)
    } else {
        let (total, rows) = st.store.attempt_page(&org, query.start, query.max)?;
        (total, rows.iter().map(|r| Value::Object(r.to_json())).collect())
    };
    Ok(Json(query.body("via#contactAttemptCollection", "contactAttempts", &path, total, page)).into_response())
}

async fn attempt_get(State(st): St, Path((ver, org, id)): Path<(String, String, String)>) -> ApiResult<Response> {
    need_v4(&ver, &format!("/via/{ver}/organizations/{org}/compliance/contactAttempts/{id}"))?;
    let row = st.store.attempt(&org, &id)?.ok_or_else(|| ApiError::not_found("contactAttempt", &id))?;
    Ok(Json(Value::Object(row.to_json())).into_response())
}

async fn attempt_patch(
    State(st): St,
    Path((ver, org, id)): Path<(String, String, String)>,
    Extension(c): Extension<Caller>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    need_v4(&ver, &format!("/via/{ver}/organizations/{org}/compliance/contactAttempts/{id}"))?;
    let o = st.org(&org);
    let _serial = o.mutations.write().await;
    let mut inner = write(&o.inner);
    let item = inner.patch_attempt(&st.store, &org, &id, &body, &actor(&st, &c))?;
    Ok(Json(Value::Object(item)).into_response())
}

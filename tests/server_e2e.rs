//! End to end: the real `scrub serve` binary on 127.0.0.1:0, spoken to over
//! TCP. Covers start-up, `kill -9` right after a 2xx (nothing acknowledged is
//! lost), and graceful shutdown on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

const TOKEN: &str = "e2e-secret-token";

fn start(dir: &Path) -> (Child, String) {
    let tokens = dir.join("tokens.toml");
    std::fs::write(&tokens, format!("[[tokens]]\norg = \"acme\"\ntoken = \"{TOKEN}\"\n")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scrub"))
        .args(["serve", "--listen", "127.0.0.1:0", "--now", "2026-11-02T15:00:00Z", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--tokens")
        .arg(&tokens)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_string();
    assert!(addr.starts_with("127.0.0.1:"), "unexpected first line: {line}");
    (child, addr)
}

/// One HTTP/1.1 request on a fresh connection; returns (status, JSON body).
fn http(addr: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status: u16 = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let text = resp.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(text).unwrap_or(Value::Null))
}

fn p(rest: &str) -> String {
    format!("/via/v4/organizations/acme/compliance/{rest}")
}

#[test]
fn serve_kill_restart_and_sigterm() {
    let d = tempfile::tempdir().unwrap();
    let (mut child, addr) = start(d.path());
    assert_eq!(http(&addr, "GET", "/healthz", None), (200, json!({"status":"ok"})));
    let (s, ex) =
        http(&addr, "POST", &p("exclusions"), Some(json!({"exclusionType":"Voice","exclusionValue":"2125550101"})));
    assert_eq!(s, 201);
    let (s, chk) = http(
        &addr,
        "POST",
        &p("complianceStatuses"),
        Some(json!({"contactChannel":"Voice","contactAddress":"3105550100","accountNumber":"A1"})),
    );
    assert_eq!((s, chk["restricted"].as_bool()), (200, Some(false)));
    let key = chk["key"].as_str().unwrap().to_string();
    // kill -9 right after the 2xx responses.
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, addr) = start(d.path());
    let (s, v) = http(&addr, "GET", &p(&format!("exclusions/{}", ex["id"].as_str().unwrap())), None);
    assert_eq!((s, v["exclusionValue"].as_str()), (200, Some("2125550101")));
    let (_, r) = http(
        &addr,
        "POST",
        &p("complianceStatuses"),
        Some(json!({"contactChannel":"Voice","contactAddress":"2125550101"})),
    );
    assert_eq!(r["restrictionType"], "ExclusionVoice");
    // The active record made just before the kill is still there.
    let (_, r) = http(
        &addr,
        "POST",
        &p("complianceStatuses"),
        Some(json!({"contactChannel":"SMS","contactAddress":"6025550000","accountNumber":"A1"})),
    );
    assert_eq!(r["restrictionType"], "AttemptTrackerBlockAccount");
    let (s, _) = http(
        &addr,
        "POST",
        &p("contactAttempts"),
        Some(json!({"contactChannel":"Voice","contactAddress":"3105550100","accountNumber":"A1","key":key})),
    );
    assert_eq!(s, 202);

    // SIGTERM: a clean exit.
    let pid = child.id().to_string();
    // The shell's builtin kill: no procps needed.
    assert!(Command::new("sh").args(["-c", &format!("kill -TERM {pid}")]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status:?}");
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains("shutting down"), "{err}");
    assert!(err.contains("\"status\":202"), "request log lines are JSON: {err}");

    let (mut child, addr) = start(d.path());
    let (_, l) = http(&addr, "GET", &p("contactAttempts?accountNumber=A1"), None);
    assert_eq!(l["totalItems"], 1);
    // The running server holds its store: neither `scrub purge` nor a second server may change it.
    let data = d.path().join("data");
    let purge = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scrub"))
            .args(["purge", "--now", "2026-12-01T00:00:00Z", "--data-dir"])
            .arg(&data)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = purge(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("in use by scrub serve (pid"), "{err}");
    let second = Command::new(env!("CARGO_BIN_EXE_scrub"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tokens"])
        .arg(d.path().join("tokens.toml"))
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use by scrub serve"));
    child.kill().unwrap();
    child.wait().unwrap();

    // Stopped (even by kill -9): the admin purge runs. The exclusion made at 2026-11-02T15:00Z without
    // endTime is more than 14 days old on 2026-12-01 and retainNoEndTime is false by default.
    let out = purge(&["--dry-run"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        json!({"now":"2026-12-01T00:00:00.000Z","dryRun":true,"orgs":{"acme":{"exclusions":1,"convenientContactTimes":0}}})
    );
    let out = purge(&[]);
    assert!(out.status.success());
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["orgs"]["acme"]["exclusions"], 1);
    let (mut child, addr) = start(d.path());
    let (s, _) = http(&addr, "GET", &p(&format!("exclusions/{}", ex["id"].as_str().unwrap())), None);
    assert_eq!(s, 404, "purged for good");
    child.kill().unwrap();
    child.wait().unwrap();
    let out = purge(&["--dry-run"]);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["orgs"]["acme"]["exclusions"], 0);
}

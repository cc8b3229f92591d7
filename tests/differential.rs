//! The binary against `bench/differential/oracle.py`, an independent Python
//! reading of SPEC.md §2–§9: random orgs through the REST API (checks by POST and
//! GET, attempts, keyed saves, cancels, PUTs, DELETEs, a kill -9 and restart) and
//! `scrub run` on each org's final rules and history, and those files through
//! `scrub load` into a fresh store checked over REST, at six frozen instants near
//! DST changes; every answer must agree field by field. A small fixed-seed slice
//! runs here; `python3 bench/differential/run.py --scenarios 100` runs more.
//! Needs `python3` (3.9+, standard library only).

use std::process::Command;

#[test]
fn rest_and_batch_agree_with_an_independent_reading_of_the_spec() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/differential/run.py");
    let out = Command::new("python3")
        .args([script, "--scrub", env!("CARGO_BIN_EXE_scrub"), "--scenarios", "6", "--checks", "40"])
        .args(["--batch", "30", "--seed", "2026", "--show", "3"])
        .output()
        .expect("python3 runs the differential harness (install python3 to run this test)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scrub disagrees with the oracle:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The run covered something: thousands of answers, restrictions of every check.
    let checks: usize = stdout
        .lines()
        .find_map(|l| l.strip_suffix(" disagreements").and_then(|l| l.split(" checks").next()))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(checks > 2000, "{stdout}");
    for kind in ["Exclusion", "ConvenientContactTime", "QuotaExhausted", "AttemptTracker", "CannotPlay"] {
        assert!(stdout.contains(kind), "no {kind} answer in the run:\n{stdout}");
    }
}

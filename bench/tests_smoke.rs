//! Runs `otn-bench --smoke --json FILE` and checks every scenario produced figures beside baselines, and that no stream subscriber missed an event.

use std::process::Command;

#[test]
fn every_scenario_reports_a_figure_a_baseline_and_a_ratio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("bench.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_otn-bench"));
    cmd.arg("--smoke").arg("--json").arg(&json);
    // On PostgreSQL CI runs, the bench makes (and drops) its own database next to the test one.
    if let Ok(url) = std::env::var("OTN_TEST_DATABASE_URL")
        && !url.is_empty()
    {
        cmd.arg("--postgres").arg(url);
    }
    let out = cmd.env("RUST_LOG", "warn").output().expect("run otn-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "otn-bench failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("read the JSON report"))
            .expect("the report is JSON");
    let scenarios = report["scenarios"].as_array().expect("scenarios");
    let names: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for want in [
        "noop",
        "record_opt_in",
        "list_eligible",
        "fan_out",
        "stream",
        "fan_out_paced",
        "memory",
    ] {
        assert!(names.contains(&want), "no {want} scenario in {names:?}");
    }
    for s in scenarios {
        let name = s["name"].as_str().unwrap_or("?");
        let figures = s["figures"].as_array().expect("figures");
        assert!(!figures.is_empty(), "{name} produced no figure");
        for f in figures {
            for key in ["value", "baseline", "ratio"] {
                let v = f[key].as_f64().unwrap_or(0.0);
                assert!(v > 0.0, "{name}: {} has {key} {v}", f["metric"]);
            }
        }
    }
    let stream = scenarios
        .iter()
        .find(|s| s["name"] == "stream")
        .expect("stream scenario");
    assert_eq!(
        stream["missed_events"].as_u64(),
        Some(0),
        "a subscriber missed events"
    );
    let list = scenarios
        .iter()
        .find(|s| s["name"] == "list_eligible")
        .expect("list scenario");
    assert!(
        list["explain"].as_array().is_some_and(|e| e.len() >= 2),
        "EXPLAIN of the list and count queries"
    );
    assert!(
        stdout.contains("baseline"),
        "the table is printed:\n{stdout}"
    );
}

//! `--junit` and `--summary-json` end to end: an audit over a fleet holding compliant,
//! drifted, missing, failed and skipped targets; its JUnit file read by a real JUnit consumer
//! (the `junitparser` package that scripts/emulator-env.sh installs in .venv/), and its summary
//! JSON, both held against the CSV report; `--summary-json -` alone on stdout; rollback's files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::Faults;

/// An account name that breaks any markup not escaped.
const NASTY: &str = "team \"a\" <b> & 'c'";
const EXTERNAL_ID: &str = "ext-secret-4242";

/// Reads a JUnit file with junitparser and hands back what it understood, as JSON.
const READ_JUNIT: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for s in xml:
    cases = []
    for c in s:
        results = [{"kind": type(r).__name__, "message": r.message, "type": r.type, "text": r.text} for r in c.result]
        cases.append({"classname": c.classname, "name": c.name, "time": c.time, "results": results})
    suites.append({"name": s.name, "tests": s.tests, "failures": s.failures, "errors": s.errors,
                   "skipped": s.skipped, "time": s.time, "timestamp": s.timestamp,
                   "properties": {p.name: p.value for p in s.properties()}, "cases": cases})
print(json.dumps({"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "suites": suites}))
"#;

fn junitparser(xml: &Path) -> Value {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let out = Command::new(&python)
        .args(["-c", READ_JUNIT])
        .arg(xml)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    assert!(
        out.status.success(),
        "junitparser could not read {}: {}\n(run `bash scripts/test.sh` once: scripts/emulator-env.sh installs junitparser in .venv/)",
        xml.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reader prints JSON")
}

/// The JUnit classname of a CSV row: `name (id)`, or the id when the account has no name.
fn classname(row: &BTreeMap<String, String>) -> String {
    let (id, name) = (&row["account_id"], &row["account_name"]);
    if name.is_empty() || name == id {
        id.clone()
    } else {
        format!("{name} ({id})")
    }
}

/// Counts per status, and per region and status, as the CSV says.
fn csv_counts(rows: &[BTreeMap<String, String>]) -> (Value, Value) {
    let mut all: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_region: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in rows {
        *all.entry(r["status"].clone()).or_default() += 1;
        *by_region
            .entry(r["region"].clone())
            .or_default()
            .entry(r["status"].clone())
            .or_default() += 1;
    }
    (json!(all), json!(by_region))
}

/// The summary JSON's counts match the CSV report's rows, and it names the report.
fn assert_summary_matches(summary: &Value, report: &Path) {
    let rows = read_report(report);
    let (counts, regions) = csv_counts(&rows);
    assert_eq!(summary["counts"], counts, "{summary:#}");
    assert_eq!(summary["regions"], regions, "{summary:#}");
    assert_eq!(summary["total_targets"], rows.len(), "{summary:#}");
    assert_eq!(summary["report"], report.to_str().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_and_summary_json_agree_with_the_report() {
    let ids = accounts(5);
    let inv = format!(
        "regions: [us-east-1, eu-west-1]\naccounts:\n  - account_id: \"{}\"\n    name: acct-0\n  - account_id: \"{}\"\n    name: acct-1\n  - account_id: \"{}\"\n    name: acct-2\n  - account_id: \"{}\"\n  - account_id: \"{}\"\n    name: {}\n    regions: [us-east-1, eu-west-1, af-south-1]\n",
        ids[0],
        ids[1],
        ids[2],
        ids[3],
        ids[4],
        serde_json::to_string(NASTY).unwrap()
    );
    let prefs_text = desired().to_string();
    let f = Fleet::with_files(ids, &["us-east-1", "eu-west-1"], &inv, &prefs_text);
    let (url, ids, dir, inv, prefs, proxy) = f.parts();
    // af-south-1 is opt-in, and not enabled in ids[4]: skipped, RegionNotEnabled.
    proxy.set_enabled_regions(&ids[4], &["us-east-1", "eu-west-1"]);

    // The rollout: every target created, the opt-in one skipped, which is no failure.
    let apply_report = dir.path("apply.csv");
    let apply_json = dir.path("apply.json");
    let extra = ["--summary-json", apply_json.to_str().unwrap()];
    let out = run("apply", &proxy, &inv, &prefs, &apply_report, &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&apply_json).unwrap())
        .expect("the summary JSON parses");
    assert_summary_matches(&summary, &apply_report);
    assert_eq!(summary["counts"], json!({"created": 10, "skipped": 1}));
    assert_eq!(
        (&summary["exit_code"], &summary["why"], &summary["not_done"]),
        (&json!(0), &json!("every target succeeded"), &json!(0))
    );
    assert!(
        out.stdout
            .contains(&format!("summary json: {}", apply_json.display()))
    );

    // Behind the tool's back: ids[0]/us-east-1 drifted, ids[1]/us-east-1 deleted, and the
    // role of ids[2] can no longer be assumed.
    let mut drifted = desired();
    drifted["inputs"]["s3BucketName"] = json!("someone-else");
    add_version(&url, &ids[0], "us-east-1", &drifted.to_string(), true).await;
    delete_doc(&url, &ids[1], "us-east-1").await;
    proxy.deny_assume_role(&ids[2]);

    let report = dir.path("audit.csv");
    let xml = dir.path("ci/audit.xml");
    let summary_path = dir.path("ci/summary.json");
    let extra = [
        "--junit",
        xml.to_str().unwrap(),
        "--summary-json",
        summary_path.to_str().unwrap(),
        "--external-id",
        EXTERNAL_ID,
    ];
    let out = run("audit", &proxy, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), 11);
    let status_of = |i: usize, region: &str| {
        rows.iter()
            .find(|r| r["account_id"] == ids[i] && r["region"] == region)
            .map(|r| r["status"].clone())
            .unwrap()
    };
    assert_eq!(status_of(0, "us-east-1"), "drifted");
    assert_eq!(status_of(1, "us-east-1"), "missing");
    assert_eq!(status_of(2, "eu-west-1"), "failed");
    assert_eq!(status_of(4, "af-south-1"), "skipped");

    // The JUnit file, as a JUnit consumer reads it.
    let raw = std::fs::read_to_string(&xml).unwrap();
    let junit = junitparser(&xml);
    let suites = junit["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 1, "{junit:#}");
    let suite = &suites[0];
    assert_eq!(suite["name"], "ssm-prefs audit");
    // Failed (2), drifted and missing; the skip (RegionNotEnabled) is skipped, not failed.
    assert_eq!(
        (
            &suite["tests"],
            &suite["failures"],
            &suite["errors"],
            &suite["skipped"]
        ),
        (&json!(11), &json!(4), &json!(0), &json!(1)),
        "{junit:#}"
    );
    assert_eq!(
        (&junit["tests"], &junit["failures"]),
        (&json!(11), &json!(4))
    );
    let cases = suite["cases"].as_array().unwrap();
    assert_eq!(cases.len(), rows.len());
    let mut failures = 0;
    let mut skipped = 0;
    for row in &rows {
        let case = cases
            .iter()
            .find(|c| c["classname"] == classname(row) && c["name"] == row["region"].as_str())
            .unwrap_or_else(|| panic!("no test case for {row:?} in {junit:#}"));
        let time = case["time"].as_f64().unwrap();
        let ms: f64 = row["duration_ms"].parse().unwrap();
        assert!((time - ms / 1000.0).abs() < 0.0011, "{case} {row:?}");
        let results = case["results"].as_array().unwrap();
        let code = &row["error_code"];
        match row["status"].as_str() {
            "compliant" => assert!(results.is_empty(), "{case}"),
            "skipped" => {
                skipped += 1;
                assert_eq!(results.len(), 1, "{case}");
                assert_eq!(results[0]["kind"], "Skipped");
                assert!(
                    results[0]["message"]
                        .as_str()
                        .unwrap()
                        .starts_with("RegionNotEnabled: "),
                    "{case}"
                );
            }
            status => {
                failures += 1;
                assert_eq!(results.len(), 1, "{case}");
                assert_eq!(
                    (&results[0]["kind"], &results[0]["type"]),
                    (&json!("Failure"), &json!(status)),
                    "{case}"
                );
                let message = results[0]["message"].as_str().unwrap();
                if !code.is_empty() {
                    assert_eq!(
                        message,
                        format!("{code}: {}", row["error_message"]),
                        "{case}"
                    );
                }
            }
        }
    }
    assert_eq!((failures, skipped), (4, 1));
    // The account names are user data: read back exactly, never markup.
    assert!(
        cases
            .iter()
            .any(|c| c["classname"] == format!("{NASTY} ({})", ids[4])),
        "{junit:#}"
    );
    assert!(cases.iter().any(|c| c["classname"] == ids[3].as_str()));
    assert!(
        cases
            .iter()
            .any(|c| c["classname"] == format!("acct-2 ({})", ids[2])
                && c["results"][0]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("AccessDenied: ")),
        "{junit:#}"
    );
    let props = &suite["properties"];
    assert_eq!(props["command"], "audit");
    assert_eq!(props["document"], DOC);
    assert_eq!(props["preferences"], prefs.to_str().unwrap());
    assert_eq!(
        props["preferences_sha256"],
        sha256_hex(prefs_text.as_bytes())
    );
    assert_eq!(props["report"], report.to_str().unwrap());
    assert_eq!(props["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        props["command_line"]
            .as_str()
            .unwrap()
            .contains("--external-id <redacted>"),
        "{props}"
    );
    for p in ["started_at", "ended_at"] {
        assert!(
            props[p].as_str().is_some_and(|t| t.ends_with('Z')),
            "{props}"
        );
    }

    // The summary JSON: every count the CSV's.
    let summary_text = std::fs::read_to_string(&summary_path).unwrap();
    let summary: Value = serde_json::from_str(&summary_text).expect("the summary JSON parses");
    assert_summary_matches(&summary, &report);
    assert_eq!(
        summary["counts"],
        json!({"failed": 2, "skipped": 1, "compliant": 6, "drifted": 1, "missing": 1})
    );
    assert_eq!(summary["command"], "audit");
    assert_eq!(summary["document"], DOC);
    assert_eq!(
        summary["preferences"],
        json!({"path": prefs.to_str().unwrap(), "sha256": sha256_hex(prefs_text.as_bytes())})
    );
    assert_eq!(summary["from"], Value::Null);
    assert_eq!(summary["not_done"], 4);
    assert_eq!(summary["exit_code"], out.code);
    assert_eq!(
        summary["why"],
        "4 targets not done: failed 2, drifted 1, missing 1"
    );
    assert_eq!(summary["junit"], xml.to_str().unwrap());
    assert_eq!(summary["html"], Value::Null);
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors[0]["code"], "AccessDenied", "{summary:#}");
    assert_eq!(errors[0]["count"], 2);
    assert!(errors[0]["first_message"].as_str().unwrap().len() > 10);
    assert!(errors.iter().any(|e| e["code"] == "RegionNotEnabled"));
    assert!(summary["duration_ms"].is_u64());
    assert!(summary["started_at"].as_str().unwrap() <= summary["ended_at"].as_str().unwrap());
    for text in [&raw, &summary_text] {
        assert!(!text.contains(EXTERNAL_ID), "an external id was written");
        for secret in [ACCESS_KEY, SECRET_KEY, SESSION_TOKEN] {
            assert!(!text.contains(secret), "a credential was written");
        }
    }
    // Written whole: no temporary file left beside them.
    let left: Vec<_> = std::fs::read_dir(dir.path("ci"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");

    // `--summary-json -`: the JSON alone on stdout, whatever the verbosity; the rest on stderr.
    for extra in [&[][..], &["-q"][..], &["-v"][..]] {
        let report = dir.path("again.csv");
        let mut args = vec!["--summary-json", "-"];
        args.extend(extra);
        let out = run("audit", &proxy, &inv, &prefs, &report, &args);
        assert_eq!(out.code, 1, "{}", out.all());
        let summary: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", out.stdout));
        assert_summary_matches(&summary, &report);
        assert_eq!(summary["exit_code"], 1);
        assert!(
            out.stderr.contains("audit: 11 targets in"),
            "the human summary goes to stderr: {}",
            out.stderr
        );
    }

    // rollback: its files name the apply report it undid.
    let rb_report = dir.path("rollback.csv");
    let rb_xml = dir.path("rollback.xml");
    let rb_json = dir.path("rollback.json");
    let mut args = rollback_line(&apply_report, &rb_report, &proxy.url);
    args.extend([
        "-i",
        inv.to_str().unwrap(),
        "--junit",
        rb_xml.to_str().unwrap(),
        "--summary-json",
        rb_json.to_str().unwrap(),
    ]);
    let out = ssm_prefs(args);
    assert_eq!(out.code, 1, "ids[2] cannot be reached: {}", out.all());
    let rb_rows = read_report(&rb_report);
    let junit = junitparser(&rb_xml);
    let suite = &junit["suites"][0];
    assert_eq!(suite["name"], "ssm-prefs rollback");
    assert_eq!(suite["tests"], rb_rows.len());
    let not_restored = rb_rows.iter().filter(|r| r["status"] == "failed").count();
    let rb_skipped = rb_rows.iter().filter(|r| r["status"] == "skipped").count();
    assert_eq!(
        (&suite["failures"], &suite["skipped"]),
        (&json!(not_restored), &json!(rb_skipped)),
        "{junit:#}"
    );
    assert_eq!(
        suite["properties"]["apply_report"],
        apply_report.to_str().unwrap()
    );
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&rb_json).unwrap()).unwrap();
    assert_summary_matches(&summary, &rb_report);
    assert_eq!(summary["command"], "rollback");
    assert_eq!(summary["preferences"], Value::Null);
    assert_eq!(
        summary["from"]["sha256"],
        sha256_hex(&std::fs::read(&apply_report).unwrap())
    );
    assert_eq!(summary["exit_code"], 1);
}

/// An interrupted apply still writes both files, with exit code 130 and why "interrupted".
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_writes_its_files_saying_so() {
    let (_, _, dir, inv, prefs, proxy) = Fleet::new(6, &["us-east-1"]).parts();
    proxy.set_faults(Faults {
        slow: Some((vec!["CreateDocument".into()], Duration::from_millis(700))),
        ..Default::default()
    });
    let report = dir.path("apply.csv");
    let xml = dir.path("apply.xml");
    let mut args = inventory_line("apply", &inv, &prefs, &report, &proxy.url);
    args.extend([
        "-c",
        "1",
        "--junit",
        xml.to_str().unwrap(),
        "--summary-json",
        "-",
        // Each row a line on stderr once the report holds it: what the test waits on.
        "-v",
    ]);
    let mut child = Watched::start(args);
    child.wait_for_rows("created", 1, Duration::from_secs(30));
    child.signal("-TERM");
    let out = child.exits_with(130);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"));
    assert_summary_matches(&summary, &report);
    assert_eq!(
        (&summary["exit_code"], &summary["why"]),
        (&json!(130), &json!("interrupted"))
    );
    let rows = read_report(&report);
    let interrupted = rows
        .iter()
        .filter(|r| r["status"] == "skipped" && r["error_code"] == "Interrupted")
        .count();
    assert!(interrupted > 0, "{rows:?}");
    let junit = junitparser(&xml);
    let suite = &junit["suites"][0];
    assert_eq!(
        (&suite["tests"], &suite["skipped"], &suite["failures"]),
        (&json!(6), &json!(interrupted), &json!(0)),
        "{junit:#}"
    );
}

#[test]
fn ci_outputs_are_checked_before_any_call() {
    let (dir, inv, prefs) = Dir::with_inputs(1, &["us-east-1"]);
    let report = dir.path("r.csv");
    let base = |extra: &[&str]| run_at("plan", "http://127.0.0.1:9", &inv, &prefs, &report, extra);
    let out = base(&["--junit", report.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("--junit"), "{}", out.stderr);
    let out = base(&["--summary-json", prefs.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.all());
    let out = base(&["--junit", "-"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("only --summary-json takes -"),
        "{}",
        out.stderr
    );
    assert!(!report.exists());
}

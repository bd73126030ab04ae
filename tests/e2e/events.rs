//! `--event` and `--wait-ready`: the fixture EventBridge events (tests/fixtures/events/, shaped
//! as AWS documents them) deciding the targets alone or narrowing an inventory, new accounts
//! waited for (the proxy denies their first AssumeRoles, and answers an opt-in region's
//! status), and the events that are nothing to do or not accepted.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::proxy::Proxy;

/// The account the fixtures name as the new one.
const FIXTURE_ACCOUNT: &str = "111122223333";

/// A fixture event, its new account replaced by `account`.
fn fixture(name: &str, account: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace(FIXTURE_ACCOUNT, account)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_account_event_is_rolled_out_once_its_role_can_be_assumed() {
    let url = emulator().url.clone();
    let ids = accounts(2);
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    // Control Tower, from a file: the role appears after two denied AssumeRoles.
    let event = dir.write(
        "ct.json",
        &fixture("control-tower-create-managed-account.json", &ids[0]),
    );
    proxy.deny_assume_role_first(&ids[0], 2);
    let report = dir.path("ct.csv");
    let summary = dir.path("summary.json");
    let mut a = command_line("apply", &prefs, &report, &proxy.url);
    // Names and tags the event lacks select nothing, they are no error: the events decide.
    let other = accounts(1).remove(0);
    a.extend([
        "--event",
        event.to_str().unwrap(),
        "-r",
        "us-east-1,eu-west-1",
        "--not-accounts",
        &other,
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 0, "{}", out.all());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let kinds: Vec<&str> = summary["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["waiting", "ready"], "{summary}");
    assert_eq!(summary["events"][0]["account"], ids[0].as_str());
    assert!(
        out.stderr
            .contains(&format!("waiting for account {}", ids[0]))
            && out.stderr.contains("not assumable yet"),
        "the wait is said: {}",
        out.all()
    );
    assert!(
        out.stderr
            .contains(&format!("account {} is ready after", ids[0])),
        "{}",
        out.all()
    );
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 2, "the event's account, in each -r region");
    for ((id, region), found) in read_all(&url, &ids[..1], &["us-east-1", "eu-west-1"], DOC).await {
        let row = &rows[&(id.clone(), region.clone())];
        assert_eq!(row["status"], "created");
        assert_eq!(
            row["account_name"], "payments-prod",
            "named as the event names it"
        );
        assert_eq!(found.expect("written").0, row["document_version"]);
    }
    assert_eq!(
        proxy.count("AssumeRole"),
        3,
        "two denied, then one that passed"
    );

    // Organizations, on stdin: a plan of the account's targets.
    let report = dir.path("org.csv");
    let mut a = command_line("plan", &prefs, &report, &proxy.url);
    a.extend(["--event", "-", "-r", "us-east-1"]);
    let mut child = ssm_prefs_command(&a)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(fixture("organizations-create-account-result.json", &ids[1]).as_bytes())
        .unwrap();
    exits_with(child, 0);
    let rows = read_report(&report);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["account_id"].as_str(), rows[0]["status"].as_str()),
        (ids[1].as_str(), "would-create")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_never_appears_fails_after_the_wait() {
    let url = emulator().url.clone();
    let ids = accounts(1);
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    proxy.deny_assume_role(&ids[0]);
    let event = dir.write(
        "e.json",
        &fixture("organizations-create-account-result.json", &ids[0]),
    );
    let report = dir.path("r.csv");
    let mut a = command_line("apply", &prefs, &report, &proxy.url);
    a.extend([
        "--event",
        event.to_str().unwrap(),
        "-r",
        "us-east-1",
        "--wait-ready",
        "2s",
    ]);
    let started = std::time::Instant::now();
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    let rows = read_report(&report);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["error_code"].as_str()),
        ("failed", "AccessDenied")
    );
    assert!(proxy.count("AssumeRole") >= 2, "tried again while waiting");
}

#[test]
fn ctrl_c_ends_the_wait_with_every_target_reported() {
    let ids = accounts(1);
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&emulator().url);
    proxy.deny_assume_role(&ids[0]);
    let event = dir.write(
        "e.json",
        &fixture("control-tower-create-managed-account.json", &ids[0]),
    );
    let report = dir.path("r.csv");
    let mut a = command_line("apply", &prefs, &report, &proxy.url);
    a.extend([
        "--event",
        event.to_str().unwrap(),
        "-r",
        "us-east-1,eu-west-1",
    ]);
    let mut child = Watched::start(&a);
    // The role was tried, and the run says it waits for the account.
    proxy.wait_for("AssumeRole", 1, std::time::Duration::from_secs(30));
    child.wait_for("waiting for account", std::time::Duration::from_secs(30));
    child.signal("-INT");
    let signalled = std::time::Instant::now();
    let out = child.exits_with(130);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        signalled.elapsed().as_secs() < 5,
        "the 15-minute wait ended at once"
    );
    assert!(stderr.contains("waiting for account"), "{stderr}");
    let rows = read_report(&report);
    assert_eq!(rows.len(), 2, "every target in the report once: {rows:?}");
    for r in &rows {
        assert_eq!(
            (r["status"].as_str(), r["error_code"].as_str()),
            ("skipped", "Interrupted")
        );
    }
    assert_eq!(proxy.writes(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_region_opted_in_is_its_one_target_once_it_is_enabled() {
    let url = emulator().url.clone();
    let ids = accounts(1);
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    // The listing does not hold it yet; its status reads ENABLING twice, then ENABLED.
    proxy.set_enabled_regions(&ids[0], &["us-east-1", "eu-west-1"]);
    proxy.set_region_statuses(&ids[0], "af-south-1", &["ENABLING", "ENABLING", "ENABLED"]);
    let event = dir.write(
        "opt-in.json",
        &fixture("account-region-opt-in-enabled.json", &ids[0]),
    );
    // -r holds: a region outside its list is nothing to do, as the daily run would leave it.
    let outside = dir.path("outside.csv");
    let mut a = command_line("apply", &prefs, &outside, &proxy.url);
    a.extend(["--event", event.to_str().unwrap(), "-r", "us-east-1"]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("nothing to do"), "{}", out.all());
    assert!(!outside.exists(), "no report for nothing to do");
    assert_eq!(proxy.writes(), 0);
    // Without -r (or with -r all), the region opted in is this event's one target.
    let report = dir.path("r.csv");
    let mut a = command_line("apply", &prefs, &report, &proxy.url);
    a.extend(["--event", event.to_str().unwrap()]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("region af-south-1 is still ENABLING"),
        "{}",
        out.all()
    );
    let rows = rows_by_target(&report);
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        vec![(ids[0].clone(), "af-south-1".to_string())]
    );
    let found = read_all(&url, &ids, &["af-south-1"], DOC).await;
    assert!(found.values().all(Option::is_some), "written in af-south-1");
    assert_eq!(proxy.count("GetRegionOptStatus"), 3);

    // Still ENABLING when the wait runs out: failed, RegionNotReady.
    proxy.set_region_statuses(&ids[0], "af-south-1", &["ENABLING"]);
    let report = dir.path("late.csv");
    let mut a = command_line("plan", &prefs, &report, &proxy.url);
    a.extend(["--event", event.to_str().unwrap(), "--wait-ready", "3s"]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["error_code"].as_str()),
        ("failed", "RegionNotReady")
    );
    // A status that cannot be read fails the target with why.
    let ids2 = accounts(1);
    proxy.set_enabled_regions(&ids2[0], &["us-east-1"]);
    let denied = dir.write(
        "denied.json",
        &fixture("account-region-opt-in-enabled.json", &ids2[0]),
    );
    let report = dir.path("denied.csv");
    let mut a = command_line("plan", &prefs, &report, &proxy.url);
    a.extend(["--event", denied.to_str().unwrap()]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["error_code"].as_str()),
        ("failed", "AccessDeniedException")
    );
    // Without waiting, a region not enabled is skipped as ever.
    let report = dir.path("now.csv");
    let mut a = command_line("plan", &prefs, &report, &proxy.url);
    a.extend(["--event", event.to_str().unwrap(), "--wait-ready", "0s"]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read_report(&report)[0]["error_code"], "RegionNotEnabled");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_narrow_an_inventory() {
    let url = emulator().url.clone();
    let ids = accounts(4);
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let inv = dir.write(
        "inv.yml",
        &inventory(&ids[..3], &["us-east-1", "eu-west-1"]),
    );
    let proxy = Proxy::start(&url);
    let events = format!(
        "{}\n{}\n",
        fixture("control-tower-create-managed-account.json", &ids[1])
            .lines()
            .map(str::trim)
            .collect::<String>(),
        fixture("account-region-opt-in-enabled.json", &ids[2])
            .replace("af-south-1", "eu-west-1")
            .lines()
            .map(str::trim)
            .collect::<String>(),
    );
    let event = dir.write("events.jsonl", &events);
    let report = dir.path("r.csv");
    let mut a = command_line("plan", &prefs, &report, &proxy.url);
    a.extend([
        "-i",
        inv.to_str().unwrap(),
        "--event",
        event.to_str().unwrap(),
    ]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 0, "{}", out.all());
    let mut got: Vec<(String, String)> = rows_by_target(&report).into_keys().collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (ids[1].clone(), "eu-west-1".to_string()),
            (ids[1].clone(), "us-east-1".to_string()),
            (ids[2].clone(), "eu-west-1".to_string()),
        ],
        "the new account's targets, and the one region opted in"
    );

    // An account outside the inventory: nothing to do, said, exit 0, no call.
    proxy.clear();
    let other = dir.write(
        "other.json",
        &fixture("organizations-create-account-result.json", &ids[3]),
    );
    let report = dir.path("none.csv");
    let mut a = command_line("apply", &prefs, &report, &proxy.url);
    a.extend([
        "-i",
        inv.to_str().unwrap(),
        "--event",
        other.to_str().unwrap(),
    ]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("nothing to do"), "{}", out.all());
    assert!(proxy.seen().is_empty(), "no AWS call");
    assert!(!report.exists());
}

#[test]
fn events_that_are_nothing_to_do_or_not_accepted() {
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&emulator().url);
    let report = dir.path("r.csv");
    let run_with = |event: &Path, extra: &[&str]| {
        let mut a = command_line("apply", &prefs, &report, &proxy.url);
        a.extend(["--event", event.to_str().unwrap()]);
        a.extend(extra);
        ssm_prefs(&a)
    };
    // Not a success: a line each, exit 0, so a scheduler does not alarm.
    let idle = [
        "control-tower-create-managed-account-failed.json",
        "organizations-create-account-result-failed.json",
        "account-region-opt-in-enabling.json",
    ];
    let text: Vec<String> = idle.iter().map(|f| fixture(f, "111122223333")).collect();
    let event = dir.write("idle.json", &format!("[{}]", text.join(",")));
    let out = run_with(&event, &["-r", "us-east-1"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        out.stderr.matches("nothing to do").count(),
        4,
        "{}",
        out.all()
    );
    assert!(
        out.stderr.contains("\"FAILED\", not SUCCEEDED"),
        "{}",
        out.all()
    );
    assert!(
        out.stderr.contains("\"ENABLING\", not ENABLED"),
        "{}",
        out.all()
    );

    // With --org too: nothing to do before the organization is read.
    let out = run_with(&event, &["--org"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("nothing to do"), "{}", out.all());
    let out = run_with(&event, &["-r", "us-east-1", "--wait-ready", "soon"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("--wait-ready"), "{}", out.stderr);

    // Another kind of event, JSON that is no event, no event at all, no file: exit 2.
    let ec2 = dir.write(
        "ec2.json",
        &fixture("ec2-instance-state-change.json", "111122223333"),
    );
    let out = run_with(&ec2, &["-r", "us-east-1"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("ec2.json:1: an event of another kind (source \"aws.ec2\"")
            && out
                .stderr
                .contains("accepted: Control Tower CreateManagedAccount"),
        "{}",
        out.stderr
    );
    for (name, text, says) in [
        ("empty.json", "[]", "no event in it"),
        ("blank.json", "\n", "no event in it"),
        ("plain.json", "{\"a\": 1}", "not an EventBridge event"),
        ("broken.json", "{\"source\": ", "not valid JSON"),
    ] {
        let path = dir.write(name, text);
        let out = run_with(&path, &["-r", "us-east-1"]);
        assert_eq!(out.code, 2, "{name}: {}", out.all());
        assert!(out.stderr.contains(says), "{name}: {}", out.stderr);
        assert!(out.stderr.contains(name), "names the file: {}", out.stderr);
    }
    let out = run_with(&dir.path("missing.json"), &["-r", "us-east-1"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("missing.json"), "{}", out.stderr);
    // A new account's regions come from -r.
    let ct = dir.write(
        "ct.json",
        &fixture("control-tower-create-managed-account.json", "111122223333"),
    );
    let out = run_with(&ct, &[]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("-r: a new account's regions come from -r"),
        "{}",
        out.stderr
    );
    assert!(proxy.seen().is_empty(), "no AWS call: {:?}", proxy.counts());
    assert!(!report.exists());
}

//! `audit --who`: who last changed each target that is not compliant, from CloudTrail's
//! LookupEvents in the target's account and region (answered by the stand-in, which records
//! the document calls as CloudTrail would; moto has no LookupEvents).

use aws_sdk_ssm::types::{DocumentFormat, DocumentType};

use crate::support::fixtures::*;
use crate::support::proxy::Proxy;
use crate::support::stand_in::{Options, StandIn};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

#[tokio::test(flavor = "multi_thread")]
async fn audit_who_names_the_last_change_of_every_target_not_compliant() {
    // AWS-like: LookupEvents' 2-per-second bucket per account and region is on.
    let stand_in = StandIn::start_with(Options::aws_like(std::time::Duration::from_millis(2)));
    let ids = accounts(3);
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &REGIONS));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let run = |cmd: &str, report: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["--no-preflight", "--no-progress"];
        args.extend_from_slice(extra);
        run_at(cmd, &stand_in.url, &inv, &prefs, report, &args)
    };
    let out = run("apply", &dir.path("apply.csv"), &[]);
    assert_eq!(out.code, 0, "{}", out.all());

    // Account 0 in us-east-1: someone saves other preferences 60 times (two pages of events
    // and more) and makes the last the default; account 1 in eu-west-1: deleted.
    let hand = ssm_in(&stand_in.url, &ids[0], "us-east-1").await;
    let mut other = desired();
    for i in 0..60 {
        // The hand edits stay within the account's SSM bucket (10, then 5 a second).
        if i % 8 == 0 {
            stand_in.clear();
        }
        other["inputs"]["s3KeyPrefix"] = serde_json::Value::String(format!("by-hand-{i}"));
        hand.update_document()
            .name(DOC)
            .content(other.to_string())
            .document_format(DocumentFormat::Json)
            .document_version("$LATEST")
            .send()
            .await
            .unwrap();
    }
    stand_in.clear();
    hand.update_document_default_version()
        .name(DOC)
        .document_version("61")
        .send()
        .await
        .unwrap();
    delete_doc(&stand_in.url, &ids[1], "eu-west-1").await;
    // A document of another name is not this one's history.
    ssm_in(&stand_in.url, &ids[2], "us-east-1")
        .await
        .create_document()
        .name("Other-Doc")
        .content(desired().to_string())
        .document_type(DocumentType::Session)
        .send()
        .await
        .unwrap();

    stand_in.clear();
    let report = dir.path("audit.csv");
    let out = run("audit", &report, &["--who"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    for ((id, region), row) in &rows {
        let changed =
            (id == &ids[0] && region == "us-east-1") || (id == &ids[1] && region == "eu-west-1");
        if !changed {
            assert_eq!(row["status"], "compliant", "{row:?}");
            assert_eq!(
                (row["changed_by"].as_str(), row["changed_at"].as_str()),
                ("", ""),
                "{row:?}"
            );
            continue;
        }
        // Who changed it by hand (the fixtures' clients assume TestReader), not the tool.
        assert_eq!(
            row["changed_by"],
            format!("arn:aws:sts::{id}:assumed-role/TestReader/test-reader"),
            "{row:?}"
        );
        assert!(
            row["changed_at"].ends_with('Z') && row["changed_at"].len() == 24,
            "{row:?}"
        );
        let status = if id == &ids[0] { "drifted" } else { "missing" };
        assert_eq!(row["status"], status, "{row:?}");
    }
    // One lookup per target not compliant (the newest change is on the first page), none
    // throttled into a failure: every row has its verdict.
    assert_eq!(
        stand_in.count("LookupEvents"),
        2 + stand_in
            .throttled()
            .get("LookupEvents")
            .copied()
            .unwrap_or(0)
    );

    // Without --who, no lookup and empty columns.
    stand_in.clear();
    let plain = dir.path("audit-plain.csv");
    let out = run("audit", &plain, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(stand_in.count("LookupEvents"), 0);
    assert!(
        read_report(&plain)
            .iter()
            .all(|r| r["changed_by"].is_empty())
    );

    // The HTML page shows the columns.
    stand_in.clear();
    let page = dir.path("audit.html");
    let out = run(
        "audit",
        &dir.path("audit2.csv"),
        &["--who", "--html", page.to_str().unwrap()],
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("changed_by") && html.contains("assumed-role/TestReader"),
        "the page carries who"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_event_in_the_trail_says_so() {
    let stand_in = StandIn::start();
    let ids = accounts(1);
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &["us-east-1"]));
    let prefs = dir.write("prefs.json", &desired().to_string());
    // Missing, and CloudTrail has no event for the document: no one to name.
    let report = dir.path("audit.csv");
    let extra = ["--no-preflight", "--who"];
    let out = run_at("audit", &stand_in.url, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 1, "{}", out.all());
    let row = &rows_by_target(&report)[&(ids[0].clone(), "us-east-1".to_string())];
    assert_eq!(
        (row["status"].as_str(), row["changed_by"].as_str()),
        ("missing", "unknown (no event in 90 days)")
    );
    assert_eq!(stand_in.count("LookupEvents"), 1);
}

/// A CloudTrail that answers 500 is asked a few times per target (3 in all, a short wait
/// apart), not ten with a throttle's backoff: the row says why it names no one, and the
/// audit ends in seconds. A throttle still waits its turn, past those 3 tries.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_lookup_is_tried_a_few_times_and_says_why() {
    let stand_in = StandIn::start();
    let proxy = Proxy::start(&stand_in.url);
    let ids = accounts(3);
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &["us-east-1"]));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let audit = |report: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["--no-preflight", "--who"];
        args.extend_from_slice(extra);
        run("audit", &proxy, &inv, &prefs, report, &args)
    };

    proxy.fail_first("LookupEvents", usize::MAX, 500, "InternalFailure");
    let report = dir.path("audit.csv");
    let started = std::time::Instant::now();
    let out = audit(&report, &[]);
    let took = started.elapsed();
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 3);
    for row in rows.values() {
        // Missing, whoever changed it: the verdict stands.
        assert_eq!(row["status"], "missing", "{row:?}");
        assert_eq!(
            row["changed_by"], "unknown (LookupEvents failed: InternalFailure: injected)",
            "{row:?}"
        );
    }
    assert_eq!(
        proxy.count("LookupEvents"),
        3 * 3,
        "3 tries per target: {:?}",
        proxy.counts()
    );
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");

    // Throttled 4 times (more than a failure's 3 tries), then answered: the lookup waited.
    proxy.clear();
    proxy.fail_first("LookupEvents", 4, 400, "ThrottlingException");
    let report = dir.path("audit-throttled.csv");
    let out = audit(&report, &["-a", &ids[0]]);
    assert_eq!(out.code, 1, "{}", out.all());
    let row = &rows_by_target(&report)[&(ids[0].clone(), "us-east-1".to_string())];
    assert_eq!(
        row["changed_by"], "unknown (no event in 90 days)",
        "{row:?}"
    );
    assert_eq!(proxy.count("LookupEvents"), 5, "{:?}", proxy.counts());
}

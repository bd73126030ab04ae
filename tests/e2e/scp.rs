//! A region (or call) a service control policy denies is not a failure: AWS answers
//! AccessDenied "with an explicit deny in a service control policy", and the target is
//! `skipped` with `DeniedByScp`; any other AccessDenied stays `failed`.

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::{Faults, Proxy};

const SCP: &str = "User: arn:aws:sts::111122223333:assumed-role/OrganizationAccountAccessRole/ssm-prefs is not authorized to perform: ssm:GetDocument on resource: arn:aws:ssm:eu-west-1:111122223333:document/SSM-SessionManagerRunShell with an explicit deny in a service control policy";

#[tokio::test(flavor = "multi_thread")]
async fn a_target_an_scp_denies_is_skipped_not_failed() {
    let regions = ["us-east-1", "eu-west-1"];
    let (url, ids, dir, inv, prefs, proxy) = Fleet::new(2, &regions).parts();
    proxy.set_faults(Faults {
        // plan and apply read with GetDocument, audit with DescribeDocument first.
        deny_in_account: vec![
            (ids[0].clone(), "GetDocument".into()),
            (ids[0].clone(), "DescribeDocument".into()),
        ],
        deny_message: Some(SCP.into()),
        ..Default::default()
    });
    for cmd in ["plan", "apply", "audit"] {
        let report = dir.path(&format!("{cmd}.csv"));
        let out = run(cmd, &proxy, &inv, &prefs, &report, &[]);
        // Audit of a fleet apply just wrote: everything else compliant, so exit 0 throughout.
        assert_eq!(out.code, 0, "{cmd}: {}", out.all());
        for ((id, _), row) in rows_by_target(&report) {
            if id == ids[0] {
                assert_eq!(
                    (row["status"].as_str(), row["error_code"].as_str()),
                    ("skipped", "DeniedByScp"),
                    "{cmd}: {row:?}"
                );
            } else {
                assert_ne!(row["status"], "skipped", "{cmd}: {row:?}");
            }
        }
        assert!(out.stdout.contains("DeniedByScp"), "{cmd}: {}", out.stdout);
    }
    // With --security-hub, a denied target gets no finding, and the run still exits 0.
    proxy.clear();
    let report = dir.path("hub.csv");
    let out = run("audit", &proxy, &inv, &prefs, &report, &["--security-hub"]);
    assert_eq!(out.code, 0, "{}", out.all());
    for ((id, _), row) in rows_by_target(&report) {
        let want = if id == ids[0] { "" } else { "delivered" };
        assert_eq!(row["security_hub"], want, "{row:?}");
    }
    let imports = proxy.seen_of("BatchImportFindings");
    assert_eq!(imports.len(), 2);
    assert!(imports.iter().all(|s| s.account == ids[1]));
    let state = read_all(&url, &ids, &regions, DOC).await;
    for ((id, _), found) in &state {
        assert_eq!(
            found.is_some(),
            *id == ids[1],
            "{id}: only the open account was written"
        );
    }
    // Any other AccessDenied is a failure, as before.
    proxy.set_faults(Faults {
        deny_in_account: vec![(ids[0].clone(), "GetDocument".into())],
        ..Default::default()
    });
    let report = dir.path("plain.csv");
    let out = run("plan", &proxy, &inv, &prefs, &report, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(
        rows[&(ids[0].clone(), "us-east-1".to_string())]["status"],
        "failed"
    );
}

/// A denial after something was written is no skip: a rollback whose DeleteDocument an SCP
/// denies has already promoted the previous version, so it fails; run again once allowed, it
/// finishes (deletes the apply's version) instead of calling the target changed.
#[tokio::test(flavor = "multi_thread")]
async fn a_denial_after_a_write_fails_and_the_rollback_finishes_when_run_again() {
    let url = emulator().url.clone();
    let ids = accounts(1);
    seed(&url, &ids[0], "us-east-1", DOC, AWS_PAGE_EXAMPLE).await;
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &["us-east-1"]));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    let apply = dir.path("apply.csv");
    assert_eq!(run("apply", &proxy, &inv, &prefs, &apply, &[]).code, 0);
    let rollback = |report: &std::path::Path| rollback_from(&apply, report, &proxy.url);
    proxy.set_faults(Faults {
        deny_in_account: vec![(ids[0].clone(), "DeleteDocument".into())],
        deny_message: Some(SCP.into()),
        ..Default::default()
    });
    let first = dir.path("rollback1.csv");
    let out = rollback(&first);
    assert_eq!(out.code, 1, "{}", out.all());
    let row = &rows_by_target(&first)[&(ids[0].clone(), "us-east-1".to_string())];
    assert_eq!(
        (row["status"].as_str(), row["error_code"].as_str()),
        ("failed", "AccessDenied"),
        "{row:?}"
    );
    proxy.set_faults(Faults::default());
    let second = dir.path("rollback2.csv");
    let out = rollback(&second);
    assert_eq!(out.code, 0, "{}", out.all());
    let row = &rows_by_target(&second)[&(ids[0].clone(), "us-east-1".to_string())];
    assert_eq!(row["status"], "restored", "{row:?}");
    assert_eq!(
        default_and_latest(&url, &ids[0], "us-east-1", DOC).await,
        ("1".into(), "1".into())
    );
}

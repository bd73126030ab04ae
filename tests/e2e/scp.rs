//! A region (or call) a service control policy denies is not a failure: AWS answers
//! AccessDenied "with an explicit deny in a service control policy", and the target is
//! `skipped` with `DeniedByScp`; any other AccessDenied stays `failed`.

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::proxy::{Faults, Proxy};

const SCP: &str = "User: arn:aws:sts::111122223333:assumed-role/OrganizationAccountAccessRole/ssm-prefs is not authorized to perform: ssm:GetDocument on resource: arn:aws:ssm:eu-west-1:111122223333:document/SSM-SessionManagerRunShell with an explicit deny in a service control policy";

#[tokio::test(flavor = "multi_thread")]
async fn a_target_an_scp_denies_is_skipped_not_failed() {
    let url = emulator().url.clone();
    let ids = accounts(2);
    let regions = ["us-east-1", "eu-west-1"];
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &regions));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
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

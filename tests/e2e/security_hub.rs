//! `audit --security-hub`: one ASFF finding per target in its own account and region, read
//! back from the emulator's Security Hub; updated in place by the next audit; a target whose
//! account has Security Hub off (the proxy answers as AWS does) noted, and the run exits 1.

use std::collections::BTreeMap;

use aws_sdk_securityhub::types::{AwsSecurityFinding, ComplianceStatus, SeverityLabel};
use serde_json::json;

use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::Faults;

/// The findings in an account and region, read straight from the emulator.
async fn findings(url: &str, account: &str, region: &str) -> Vec<AwsSecurityFinding> {
    aws_sdk_securityhub::Client::new(&config_in(url, account, region).await)
        .get_findings()
        .send()
        .await
        .expect("GetFindings")
        .findings
        .unwrap_or_default()
}

/// (status, severity, first observed) of each target's one finding, checking it is the only
/// one there and is shaped as ASFF asks.
async fn verdicts(
    f: &Fleet,
) -> BTreeMap<(String, String), (ComplianceStatus, SeverityLabel, String)> {
    let mut out = BTreeMap::new();
    for (_, (id, region)) in f.targets() {
        let found = findings(&f.url, &id, &region).await;
        assert_eq!(found.len(), 1, "one finding in {id} {region}: {found:?}");
        let finding = &found[0];
        assert_eq!(
            finding.id(),
            Some(format!("ssm-prefs/aws/{id}/{region}/{DOC}").as_str())
        );
        assert_eq!(
            finding.product_arn(),
            Some(format!("arn:aws:securityhub:{region}:{id}:product/{id}/default").as_str())
        );
        assert_eq!(finding.aws_account_id(), Some(id.as_str()));
        assert_eq!(
            finding.types(),
            ["Software and Configuration Checks/AWS Security Best Practices"]
        );
        assert_eq!(finding.resources()[0].region(), Some(region.as_str()));
        assert!(finding.description().unwrap().chars().count() <= 1024);
        assert!(
            finding
                .remediation()
                .and_then(|r| r.recommendation())
                .and_then(|r| r.text())
                .is_some_and(|t| t.contains("ssm-prefs apply -p ") && t.contains(&id)),
            "{finding:?}"
        );
        out.insert(
            (id.clone(), region.clone()),
            (
                finding.compliance().unwrap().status().unwrap().clone(),
                finding.severity().unwrap().label().unwrap().clone(),
                finding.first_observed_at().unwrap().to_string(),
            ),
        );
    }
    out
}

#[test]
fn each_target_gets_one_finding_updated_in_place() {
    // Security Hub's finding type is deeply nested: reading findings back, unoptimized, needs
    // more stack than a test thread's 2 MiB.
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(one_finding_per_target())
        })
        .unwrap()
        .join()
        .unwrap();
}

async fn one_finding_per_target() {
    let f = Fleet::new(3, &["us-east-1", "eu-west-1"]);
    let (out, _) = f.apply("apply.csv", &["-a", &format!("{},{}", f.ids[0], f.ids[1])]);
    assert_eq!(out.code, 0, "{}", out.all());
    // Drift behind the tool's back: logging sent elsewhere, and a timeout changed.
    let mut logging = desired();
    logging["inputs"]["s3BucketName"] = json!("someone-elses-bucket");
    let mut timeout = desired();
    timeout["inputs"]["idleSessionTimeout"] = json!("60");
    for (i, region, doc) in [(0, "us-east-1", &logging), (1, "eu-west-1", &timeout)] {
        let ssm = ssm_in(&f.url, &f.ids[i], region).await;
        let v = ssm
            .update_document()
            .name(DOC)
            .content(doc.to_string())
            .document_version("$LATEST")
            .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
            .send()
            .await
            .unwrap()
            .document_description
            .unwrap()
            .document_version
            .unwrap();
        ssm.update_document_default_version()
            .name(DOC)
            .document_version(v)
            .send()
            .await
            .unwrap();
    }
    f.proxy.clear();
    let (out, report) = f.run("audit", "audit.csv", &["--security-hub"]);
    assert_eq!(out.code, 1, "drift and missing: {}", out.all());
    assert!(
        out.stdout
            .contains("security hub: findings delivered to 6 of 6 targets"),
        "{}",
        out.stdout
    );
    let rows = rows_by_target(&report);
    assert!(
        rows.values().all(|r| r["security_hub"] == "delivered"),
        "{rows:?}"
    );
    assert_eq!(
        f.proxy.count("BatchImportFindings"),
        6,
        "one import per target"
    );
    assert_eq!(f.proxy.count("GetFindings"), 6);
    let first = verdicts(&f).await;
    use ComplianceStatus as C;
    use SeverityLabel as S;
    let key = |i: usize, r: &str| (f.ids[i].clone(), r.to_string());
    let want = [
        (key(0, "us-east-1"), C::Failed, S::High),
        (key(0, "eu-west-1"), C::Passed, S::Informational),
        (key(1, "us-east-1"), C::Passed, S::Informational),
        (key(1, "eu-west-1"), C::Failed, S::Medium),
        (key(2, "us-east-1"), C::Failed, S::High),
        (key(2, "eu-west-1"), C::Failed, S::High),
    ];
    for (k, status, severity) in &want {
        let (got_status, got_severity, _) = &first[k];
        assert_eq!((got_status, got_severity), (status, severity), "{k:?}");
        let row_status = &rows[k]["status"];
        assert_eq!(
            *status == C::Passed,
            row_status == "compliant",
            "{k:?}: {row_status}"
        );
    }

    // Fixed, audited again: the same findings, now PASSED; one that was PASSED keeps when it
    // was first seen so, the others start again.
    let (out, _) = f.apply("fix.csv", &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (out, _) = f.run("audit", "again.csv", &["--security-hub"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let second = verdicts(&f).await;
    for (k, status, _) in &want {
        let (now, severity, seen) = &second[k];
        assert_eq!((now, severity), (&C::Passed, &S::Informational), "{k:?}");
        if *status == C::Passed {
            assert_eq!(
                seen, &first[k].2,
                "{k:?}: kept from the first audit that saw it"
            );
        } else {
            assert!(seen > &first[k].2, "{k:?}: a new state, seen anew");
        }
    }

    // Security Hub off in one account: the verdicts stand, the findings are noted as not
    // delivered, and the run exits 1.
    f.proxy.set_faults(Faults {
        security_hub_off: vec![f.ids[1].clone()],
        ..Faults::default()
    });
    let summary = f.dir.path("summary.json");
    let (out, report) = f.run(
        "audit",
        "off.csv",
        &[
            "--security-hub",
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains(
            "findings delivered to 4 of 6 targets (not delivered: SecurityHubNotEnabled 2)"
        ),
        "{}",
        out.stdout
    );
    for ((id, _), row) in rows_by_target(&report) {
        assert_eq!(row["status"], "compliant");
        if id == f.ids[1] {
            assert!(
                row["security_hub"]
                    .starts_with("SecurityHubNotEnabled: Security Hub is not enabled"),
                "{row:?}"
            );
        } else {
            assert_eq!(row["security_hub"], "delivered");
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
    assert_eq!(summary["security_hub"]["sent"], 6);
    assert_eq!(summary["security_hub"]["delivered"], 4);
    assert_eq!(
        summary["security_hub"]["not_delivered"][0]["code"],
        "SecurityHubNotEnabled"
    );
    assert!(
        summary["why"]
            .as_str()
            .unwrap()
            .contains("findings delivered to 4 of 6")
    );
}

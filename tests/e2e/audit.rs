//! After the rollout: `audit` finds exactly what changed behind the tool's back, `rollback`
//! returns every target to its prior default, and `--retry-failed` touches only the failed.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::{Faults, Proxy};

fn with_inputs(changes: Value, remove: &[&str]) -> String {
    let mut doc = desired();
    let inputs = doc["inputs"].as_object_mut().unwrap();
    for (k, v) in changes.as_object().unwrap() {
        inputs.insert(k.clone(), v.clone());
    }
    for k in remove {
        inputs.remove(*k);
    }
    doc.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_names_every_kind_of_drift() {
    let regions = ["us-east-1", "eu-west-1"];
    let (url, ids, dir, inv, prefs, proxy) = Fleet::new(6, &regions).parts();
    let out = run("apply", &proxy, &inv, &prefs, &dir.path("apply.csv"), &[]);
    assert_eq!(out.code, 0, "{}", out.all());

    // Behind the tool's back:
    // 0/us-east-1: two inputs changed, one removed, and promoted: drifted.
    add_version(
        &url,
        &ids[0],
        "us-east-1",
        &with_inputs(
            json!({"s3BucketName": "someone-else", "idleSessionTimeout": "60"}),
            &["kmsKeyId"],
        ),
        true,
    )
    .await;
    // 1/us-east-1: deleted: missing.
    delete_doc(&url, &ids[1], "us-east-1").await;
    // 2/us-east-1: a different version added but never promoted: drifted (Session Manager
    // may read the latest version), flagged, naming what the latest changes.
    add_version(
        &url,
        &ids[2],
        "us-east-1",
        &with_inputs(json!({"s3BucketName": "pending"}), &[]),
        false,
    )
    .await;
    // 3/eu-west-1: changed and promoted, then the desired content added back unpromoted.
    add_version(
        &url,
        &ids[3],
        "eu-west-1",
        &with_inputs(
            json!({"runAsEnabled": true, "runAsDefaultUser": "root"}),
            &[],
        ),
        true,
    )
    .await;
    let same_again = serde_json::to_string_pretty(&desired()).unwrap() + "\n";
    add_version(&url, &ids[3], "eu-west-1", &same_again, false).await;

    let report = dir.path("audit.csv");
    proxy.clear();
    let out = run("audit", &proxy, &inv, &prefs, &report, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 12);
    let key = |i: usize, r: &str| (ids[i].clone(), r.to_string());
    let expect: BTreeMap<_, _> = [
        (
            key(0, "us-east-1"),
            ("drifted", "s3BucketName;kmsKeyId;idleSessionTimeout", ""),
        ),
        (key(1, "us-east-1"), ("missing", "", "")),
        (
            key(2, "us-east-1"),
            ("drifted", "s3BucketName", "UnpromotedVersion"),
        ),
        (
            key(3, "eu-west-1"),
            (
                "drifted",
                "runAsEnabled;runAsDefaultUser",
                "UnpromotedVersion",
            ),
        ),
    ]
    .into_iter()
    .collect();
    for (k, row) in &rows {
        let (status, changed, code) = expect.get(k).copied().unwrap_or(("compliant", "", ""));
        let mut got: Vec<&str> = row["changed_inputs"]
            .split(';')
            .filter(|s| !s.is_empty())
            .collect();
        let mut want: Vec<&str> = changed.split(';').filter(|s| !s.is_empty()).collect();
        got.sort();
        want.sort();
        assert_eq!(
            (row["status"].as_str(), got, row["error_code"].as_str()),
            (status, want, code),
            "{k:?}: {row:?}"
        );
    }
    let flagged = &rows[&key(3, "eu-west-1")]["error_message"];
    assert!(
        flagged.contains("holds the desired preferences but was never made the default"),
        "{flagged}"
    );
    // The hash is of what was found in force.
    let (_, content) = default_doc(&ssm_in(&url, &ids[0], "us-east-1").await, DOC)
        .await
        .unwrap();
    assert_eq!(
        rows[&key(0, "us-east-1")]["content_sha256"],
        sha256_hex(content.as_bytes())
    );
    assert_eq!(proxy.writes(), 0, "audit is read-only");
    assert!(
        out.stdout
            .contains("s3BucketName someone-else → org-session-logs"),
        "{}",
        out.stdout
    );

    // A fleet that is all compliant audits with exit 0.
    let extra = ["-a", "acct-4,acct-5"];
    let out = run("audit", &proxy, &inv, &prefs, &dir.path("ok.csv"), &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        read_report(&dir.path("ok.csv"))
            .iter()
            .all(|r| r["status"] == "compliant")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_restores_prior_defaults_and_skips_changed_targets() {
    let url = emulator().url.clone();
    let ids = accounts(4);
    let regions = ["us-east-1", "eu-west-1"];
    // Accounts 0 and 1 had the AWS page's example; 2 and 3 had nothing.
    for id in &ids[..2] {
        for r in regions {
            seed(&url, id, r, DOC, AWS_PAGE_EXAMPLE).await;
        }
    }
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &regions));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    let apply_report = dir.path("apply.csv");
    let out = run("apply", &proxy, &inv, &prefs, &apply_report, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    // Someone changes one target after the apply: rollback must leave it alone.
    let theirs = with_inputs(json!({"s3BucketName": "changed-later"}), &[]);
    add_version(&url, &ids[1], "eu-west-1", &theirs, true).await;

    let report = dir.path("rollback.csv");
    proxy.clear();
    let out = rollback_from(&apply_report, &report, &proxy.url);
    assert_eq!(out.code, 1, "one target was skipped: {}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 8);
    let state = read_all(&url, &ids, &regions, DOC).await;
    for ((id, region), row) in &rows {
        let i = ids.iter().position(|x| x == id).unwrap();
        let found = &state[&(id.clone(), region.clone())];
        if i == 1 && region == "eu-west-1" {
            assert_eq!(
                (row["status"].as_str(), row["error_code"].as_str()),
                ("skipped", "ChangedSinceApply")
            );
            let (_, c) = found.as_ref().unwrap();
            assert_eq!(
                c, &theirs,
                "a target changed after the apply is left as it is"
            );
        } else if i < 2 {
            assert_eq!(
                (row["status"].as_str(), row["action"].as_str()),
                ("restored", "restore"),
                "{row:?}"
            );
            let (version, c) = found.as_ref().unwrap();
            assert_eq!(
                (version.as_str(), c.as_str()),
                ("1", AWS_PAGE_EXAMPLE),
                "the prior default is back"
            );
            assert_eq!(
                row["content_sha256"],
                sha256_hex(AWS_PAGE_EXAMPLE.as_bytes())
            );
            // Whichever version Session Manager reads, it is the one restored: the apply's
            // version 2 is gone, and the report still names it and its hash.
            assert_eq!(
                default_and_latest(&url, id, region, DOC).await,
                ("1".into(), "1".into())
            );
            let applied = &rows_by_target(&apply_report)[&(id.clone(), region.clone())];
            assert_eq!(row["previous_version"], applied["document_version"]);
            assert!(
                row["error_message"].contains(&applied["content_sha256"]),
                "{row:?}"
            );
        } else {
            assert_eq!(
                (row["status"].as_str(), row["action"].as_str()),
                ("deleted", "delete"),
                "{row:?}"
            );
            assert!(found.is_none(), "a document the apply created is gone");
        }
    }
    // Rolled back again from the same report: nothing left to undo, so nothing is written and
    // each target says so; the target changed by someone else stays skipped.
    proxy.clear();
    let again = dir.path("rollback-again.csv");
    let out = rollback_from(&apply_report, &again, &proxy.url);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(proxy.writes(), 0, "a second rollback writes nothing");
    for ((id, region), row) in rows_by_target(&again) {
        let i = ids.iter().position(|x| *x == id).unwrap();
        let want = match (i, region.as_str()) {
            (1, "eu-west-1") => ("skipped", "restore"),
            (0 | 1, _) => ("restored", "none"),
            _ => ("deleted", "none"),
        };
        assert_eq!(
            (row["status"].as_str(), row["action"].as_str()),
            want,
            "{row:?}"
        );
        if want.1 == "none" {
            assert!(
                row["error_message"].starts_with("already rolled back"),
                "{row:?}"
            );
        }
    }

    // A foreign file is an input error, before any AWS call.
    proxy.clear();
    let foreign = dir.write("foreign.csv", "id,name\n1,2\n");
    let out = rollback_refused(&foreign, &proxy.url);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("foreign.csv:1") && out.stderr.contains("not an ssm-prefs report"),
        "{}",
        out.stderr
    );
    let out = rollback_refused(&report, &proxy.url);
    assert_eq!(
        out.code,
        2,
        "a rollback report is not an apply report: {}",
        out.all()
    );
    assert!(out.stderr.contains("not an apply report"), "{}", out.stderr);
    assert!(proxy.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_failed_touches_only_the_failed_targets() {
    let regions = ["us-east-1", "eu-west-1"];
    let (url, ids, dir, inv, prefs, proxy) = Fleet::new(4, &regions).parts();
    proxy.set_faults(Faults {
        reject_region: Some("eu-west-1".into()),
        ..Default::default()
    });
    let first = dir.path("first.csv");
    let out = run("apply", &proxy, &inv, &prefs, &first, &[]);
    assert_eq!(out.code, 1, "{}", out.all());

    let (out, retry) = retry_failed(&proxy, &inv, &prefs, &dir, &first);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&retry);
    assert_eq!(rows.len(), 4, "only the failed targets");
    assert!(
        rows.iter()
            .all(|((_, r), row)| r == "eu-west-1" && row["status"] == "created")
    );
    // Only eu-west-1 was read or written.
    assert!(
        proxy
            .seen()
            .iter()
            .filter(|s| s.operation != "AssumeRole")
            .all(|s| s.region == "eu-west-1")
    );
    let first_rows = rows_by_target(&first);
    for ((id, region), found) in read_all(&url, &ids, &regions, DOC).await {
        let (version, _) = found.expect("every target converged");
        let row = if region == "eu-west-1" {
            &rows[&(id, region)]
        } else {
            &first_rows[&(id, region)]
        };
        assert_eq!(row["document_version"], version);
    }
    // Plan and audit take it too; a report with nothing failed is an input error.
    let extra = ["--retry-failed", first.to_str().unwrap()];
    let out = run("audit", &proxy, &inv, &prefs, &dir.path("a.csv"), &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read_report(&dir.path("a.csv")).len(), 4);
    let extra = ["--retry-failed", retry.to_str().unwrap()];
    let out = run("plan", &proxy, &inv, &prefs, &dir.path("p.csv"), &extra);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("nothing to retry"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn reverting_drift_adds_a_version_so_apply_and_audit_agree() {
    let (url, ids, dir, inv, prefs, proxy) = Fleet::new(1, &["us-east-1"]).parts();
    let out = run("apply", &proxy, &inv, &prefs, &dir.path("a1.csv"), &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    // Someone changes it and makes it the default: version 1 still holds the preferences.
    let drifted = with_inputs(json!({"idleSessionTimeout": "60"}), &[]);
    let v2 = add_version(&url, &ids[0], "us-east-1", &drifted, true).await;
    assert_eq!(v2, "2");
    let fix = dir.path("a2.csv");
    let out = run("apply", &proxy, &inv, &prefs, &fix, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let row = &read_report(&fix)[0];
    assert_eq!(
        (row["status"].as_str(), row["document_version"].as_str()),
        ("updated", "3"),
        "a new version, not version 1 promoted under a newer one: {row:?}"
    );
    assert_eq!(
        default_and_latest(&url, &ids[0], "us-east-1", DOC).await,
        ("3".into(), "3".into()),
        "whichever version Session Manager reads holds the preferences"
    );
    let out = run("audit", &proxy, &inv, &prefs, &dir.path("audit.csv"), &[]);
    assert_eq!(out.code, 0, "apply and audit agree: {}", out.all());
    // The same again: the content with one newline is taken too, so it gets two.
    assert_eq!(
        add_version(
            &url,
            &ids[0],
            "us-east-1",
            &with_inputs(json!({"idleSessionTimeout": "90"}), &[]),
            true
        )
        .await,
        "4"
    );
    let out = run("apply", &proxy, &inv, &prefs, &dir.path("a3.csv"), &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let out = run("audit", &proxy, &inv, &prefs, &dir.path("audit2.csv"), &[]);
    assert_eq!(out.code, 0, "apply and audit agree again: {}", out.all());
    assert_eq!(
        default_and_latest(&url, &ids[0], "us-east-1", DOC).await,
        ("5".into(), "5".into())
    );
    // Rolled back, the drifted version is the default again and the fix's version is gone.
    let out = rollback_from(&dir.path("a3.csv"), &dir.path("rb.csv"), &proxy.url);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        default_and_latest(&url, &ids[0], "us-east-1", DOC).await,
        ("4".into(), "4".into())
    );
}

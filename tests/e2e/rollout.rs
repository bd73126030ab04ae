//! `plan` and `apply` end to end: the real binary, through the counting proxy, against the
//! emulator; every test reads the emulator's state back through the SDK afterwards.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::Proxy;

fn assert_no_secrets(proxy: &Proxy, texts: &[&str]) {
    let mut secrets = proxy.issued_secrets();
    assert!(!secrets.is_empty(), "the proxy saw no AssumeRole response");
    secrets.extend([ACCESS_KEY, SECRET_KEY, SESSION_TOKEN].map(String::from));
    for secret in &secrets {
        for text in texts {
            assert!(
                !text.contains(secret.as_str()),
                "a credential ({}…) leaked",
                &secret[..8.min(secret.len())]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rollout_converges_and_reports_every_target() {
    let url = emulator().url.clone();
    let ids = accounts(30);
    let want = desired();
    // A third hold nothing, a third the AWS page's example (saved in the console), a third
    // the desired content already — written compact, keys reordered: equal once parsed.
    let mut same = want.clone();
    let inputs = same["inputs"].as_object_mut().unwrap();
    let reversed: serde_json::Map<String, Value> = inputs
        .iter()
        .rev()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    *inputs = reversed;
    let same_text = serde_json::to_string(&same).unwrap();
    for (i, id) in ids.iter().enumerate() {
        for r in REGIONS {
            match i % 3 {
                1 => seed(&url, id, r, DOC, AWS_PAGE_EXAMPLE).await,
                2 => seed(&url, id, r, DOC, &same_text).await,
                _ => {}
            }
        }
    }
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &REGIONS));
    let prefs = dir.write("prefs.json", &serde_json::to_string_pretty(&want).unwrap());
    let report = dir.path("apply.csv");
    let proxy = Proxy::start(&url);

    let out = run("apply", &proxy, &inv, &prefs, &report, &["-v"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout
            .contains("30 targets: no document yet → create it"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("30 targets: s3BucketName DOC-EXAMPLE-BUCKET → org-session-logs"),
        "{}",
        out.stdout
    );

    // The world: every target's default version holds the desired content, as the report says.
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 90);
    let state = read_all(&url, &ids, &REGIONS, DOC).await;
    for ((id, region), found) in &state {
        let row = &rows[&(id.clone(), region.clone())];
        let (version, content) = found
            .as_ref()
            .unwrap_or_else(|| panic!("{id}/{region} has no document"));
        let parsed: Value = serde_json::from_str(content).unwrap();
        assert_eq!(parsed, want, "{id}/{region}: default version content");
        assert_eq!(&row["document_version"], version, "{id}/{region}");
        assert_eq!(
            row["content_sha256"],
            sha256_hex(content.as_bytes()),
            "{id}/{region}"
        );
        let i = ids.iter().position(|x| x == id).unwrap();
        let (status, action, previous) = match i % 3 {
            0 => ("created", "create", ""),
            1 => ("updated", "update", "1"),
            _ => ("unchanged", "none", "1"),
        };
        assert_eq!(
            (
                row["status"].as_str(),
                row["action"].as_str(),
                row["previous_version"].as_str()
            ),
            (status, action, previous)
        );
        if i % 3 == 1 {
            assert_eq!(version, "2");
            assert!(
                row["changed_inputs"].contains("s3BucketName")
                    && row["changed_inputs"].contains("idleSessionTimeout")
            );
        }
        assert!(row["error_code"].is_empty());
        assert!(row["attempts"].parse::<u32>().unwrap() >= 1);
        assert!(row["started_at"].ends_with('Z'));
    }
    // Calls: one AssumeRole per account; one read per target, and one of the latest version
    // where the default holds the preferences already (the 30 unchanged); the fewest writes.
    let counts = proxy.counts();
    assert_eq!(counts.get("AssumeRole"), Some(&30), "{counts:?}");
    assert_eq!(counts.get("GetDocument"), Some(&120), "{counts:?}");
    assert_eq!(counts.get("CreateDocument"), Some(&30), "{counts:?}");
    assert_eq!(counts.get("UpdateDocument"), Some(&30), "{counts:?}");
    assert_eq!(
        counts.get("UpdateDocumentDefaultVersion"),
        Some(&30),
        "{counts:?}"
    );
    assert_no_secrets(
        &proxy,
        &[
            &out.stdout,
            &out.stderr,
            &std::fs::read_to_string(&report).unwrap(),
        ],
    );

    // A second apply finds everything in place and writes nothing.
    proxy.clear();
    let report2 = dir.path("apply2.csv");
    let out = run("apply", &proxy, &inv, &prefs, &report2, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&report2);
    assert_eq!(rows.len(), 90);
    assert!(
        rows.values()
            .all(|r| r["status"] == "unchanged" && r["action"] == "none")
    );
    assert_eq!(proxy.writes(), 0, "{:?}", proxy.counts());
    // The default and the latest version of each.
    assert_eq!(proxy.count("GetDocument"), 180);
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_previews_without_changing_anything() {
    let url = emulator().url.clone();
    let ids = accounts(4);
    let regions = ["us-east-1", "eu-west-1"];
    seed(&url, &ids[1], "us-east-1", DOC, AWS_PAGE_EXAMPLE).await;
    seed(
        &url,
        &ids[2],
        "us-east-1",
        DOC,
        &serde_json::to_string(&desired()).unwrap(),
    )
    .await;
    let before = read_all(&url, &ids, &regions, DOC).await;
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &regions));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let report = dir.path("plan.csv");
    let proxy = Proxy::start(&url);
    let out = run("plan", &proxy, &inv, &prefs, &report, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(proxy.writes(), 0, "{:?}", proxy.counts());
    assert_eq!(
        read_all(&url, &ids, &regions, DOC).await,
        before,
        "plan changed the emulator"
    );
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 8);
    let status = |i: usize, r: &str| rows[&(ids[i].clone(), r.to_string())]["status"].clone();
    assert_eq!(status(0, "us-east-1"), "would-create");
    assert_eq!(status(1, "us-east-1"), "would-update");
    assert_eq!(status(2, "us-east-1"), "unchanged");
    assert_eq!(status(2, "eu-west-1"), "would-create");
    let row = &rows[&(ids[1].clone(), "us-east-1".to_string())];
    assert_eq!(row["previous_version"], "1");
    assert_eq!(
        row["content_sha256"],
        sha256_hex(AWS_PAGE_EXAMPLE.as_bytes())
    );
    for key in [
        "s3BucketName",
        "s3KeyPrefix",
        "kmsKeyId",
        "runAsEnabled",
        "idleSessionTimeout",
        "description",
    ] {
        assert!(
            row["changed_inputs"].split(';').any(|k| k == key),
            "{key} missing from {}",
            row["changed_inputs"]
        );
    }
    assert!(
        out.stdout
            .contains("s3BucketName DOC-EXAMPLE-BUCKET → org-session-logs"),
        "{}",
        out.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn templating_merge_and_document_name() {
    let url = emulator().url.clone();
    let ids = accounts(2);
    let name = "Org-SessionPrefs";
    let existing = json!({
        "schemaVersion": "1.0", "description": "hand made", "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": "old", "cloudWatchStreamingEnabled": true, "runAsEnabled": true, "runAsDefaultUser": "ops"}
    })
    .to_string();
    for id in &ids {
        seed(&url, id, "eu-west-1", name, &existing).await;
    }
    let dir = Dir::new();
    let inv = dir.write(
        "inv.yml",
        &format!(
            "regions: [eu-west-1]\nvars: {{log_bucket: org-logs}}\naccounts:\n  - account_id: \"{}\"\n    name: payments-prod\n    vars: {{kms: alias/payments}}\n  - account_id: \"{}\"\n    name: data-dev\n    vars: {{kms: alias/data, log_bucket: data-logs}}\n",
            ids[0], ids[1]
        ),
    );
    let prefs = dir.write(
        "prefs.json",
        &json!({
            "schemaVersion": "1.0", "description": "for {account_name}", "sessionType": "Standard_Stream",
            "inputs": {"s3BucketName": "{log_bucket}", "s3KeyPrefix": "{account_id}/{region}", "kmsKeyId": "arn:{partition}:kms:{region}:{account_id}:{kms}",
                       "shellProfile": {"linux": "cd ${HOME}; exec bash"}}
        })
        .to_string(),
    );
    let proxy = Proxy::start(&url);
    // Merge for the first account only: the second loses the inputs the file does not set.
    let report = dir.path("merge.csv");
    let extra = ["--document-name", name, "--merge", "-a", "payments-prod"];
    let out = run("apply", &proxy, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    let report2 = dir.path("nomerge.csv");
    let extra = ["--document-name", name, "-a", "data-dev"];
    let out = run("apply", &proxy, &inv, &prefs, &report2, &extra);
    assert_eq!(out.code, 0, "{}", out.all());

    let read = |id: String| {
        let url = url.clone();
        async move {
            let (_, c) = default_doc(&ssm_in(&url, &id, "eu-west-1").await, name)
                .await
                .unwrap();
            serde_json::from_str::<Value>(&c).unwrap()
        }
    };
    let merged = read(ids[0].clone()).await;
    assert_eq!(merged["description"], "for payments-prod");
    let i = &merged["inputs"];
    assert_eq!(i["s3BucketName"], "org-logs");
    assert_eq!(i["s3KeyPrefix"], format!("{}/eu-west-1", ids[0]));
    assert_eq!(
        i["kmsKeyId"],
        format!("arn:aws:kms:eu-west-1:{}:alias/payments", ids[0])
    );
    assert_eq!(
        i["shellProfile"]["linux"], "cd ${HOME}; exec bash",
        "shell syntax is not a placeholder"
    );
    assert_eq!(
        i["cloudWatchStreamingEnabled"], true,
        "--merge keeps inputs the file does not set"
    );
    assert_eq!(i["runAsDefaultUser"], "ops");
    let replaced = read(ids[1].clone()).await;
    let i = &replaced["inputs"];
    assert_eq!(
        i["s3BucketName"], "data-logs",
        "an account's vars override the file's"
    );
    assert!(
        i.get("cloudWatchStreamingEnabled").is_none(),
        "without --merge the file is the whole truth"
    );
    // The default document name was never touched.
    assert!(
        default_doc(&ssm_in(&url, &ids[0], "eu-west-1").await, DOC)
            .await
            .is_none()
    );
    let rows = read_report(&report);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (
            rows[0]["document_name"].as_str(),
            rows[0]["status"].as_str()
        ),
        (name, "updated")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_external_ids_and_session_name_reach_sts() {
    let ids = accounts(3);
    let inv = format!(
        "regions: [us-east-1, us-west-2]\naccounts:\n  - account_id: \"{a}\"\n    role: arn:aws:iam::{a}:role/SecurityRollout\n  - account_id: \"{b}\"\n    external_id: inventory-external-id-b\n  - account_id: \"{c}\"\n    role: AuditRole\n",
        a = ids[0],
        b = ids[1],
        c = ids[2]
    );
    let f = Fleet::with_files(
        ids,
        &["us-east-1", "us-west-2"],
        &inv,
        &desired().to_string(),
    );
    let (_, ids, dir, inv, prefs, proxy) = f.parts();
    let report = dir.path("apply.csv");
    let extra = [
        "--external-id",
        "flag-external-id-0042",
        "--session-name",
        "rollout-by-alice",
        "-v",
    ];
    let out = run("apply", &proxy, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    let assumed: BTreeMap<String, (String, String)> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.operation == "AssumeRole")
        .map(|s| {
            let p = s.params;
            (
                p["RoleArn"].clone(),
                (
                    p.get("ExternalId").cloned().unwrap_or_default(),
                    p["RoleSessionName"].clone(),
                ),
            )
        })
        .collect();
    let expect: BTreeMap<String, (String, String)> = [
        (
            format!("arn:aws:iam::{}:role/SecurityRollout", ids[0]),
            "flag-external-id-0042",
        ),
        (
            format!("arn:aws:iam::{}:role/OrganizationAccountAccessRole", ids[1]),
            "inventory-external-id-b",
        ),
        (
            format!("arn:aws:iam::{}:role/AuditRole", ids[2]),
            "flag-external-id-0042",
        ),
    ]
    .into_iter()
    .map(|(arn, ext)| (arn, (ext.to_string(), "rollout-by-alice".to_string())))
    .collect();
    assert_eq!(assumed, expect);
    assert_eq!(
        proxy.count("AssumeRole"),
        3,
        "once per account, shared by its regions"
    );
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(read_report(&report).len(), 6);
    for text in [&out.stdout, &out.stderr, &report_text] {
        assert!(
            !text.contains("external-id"),
            "an external id was printed or reported"
        );
    }
    assert_no_secrets(&proxy, &[&out.stdout, &out.stderr, &report_text]);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_account_failing_leaves_the_rest_done() {
    let (url, ids, dir, inv, prefs, _) = Fleet::new(5, &["us-east-1", "eu-west-1"]).parts();
    let report = dir.path("apply.csv");
    let proxy = Proxy::start(&url);
    proxy.deny_assume_role(&ids[2]);
    let out = run("apply", &proxy, &inv, &prefs, &report, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("AccessDenied"), "{}", out.stderr);
    assert!(
        out.stdout.contains("AccessDenied"),
        "the summary lists the common errors: {}",
        out.stdout
    );
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 10);
    let state = read_all(&url, &ids, &["us-east-1", "eu-west-1"], DOC).await;
    for ((id, region), row) in &rows {
        if id == &ids[2] {
            assert_eq!(
                (row["status"].as_str(), row["error_code"].as_str()),
                ("failed", "AccessDenied"),
                "{row:?}"
            );
            assert!(state[&(id.clone(), region.clone())].is_none());
        } else {
            assert_eq!(row["status"], "created", "{row:?}");
            assert!(state[&(id.clone(), region.clone())].is_some());
        }
    }
    let failed: HashSet<_> = rows
        .values()
        .filter(|r| r["status"] == "failed")
        .map(|r| r["account_id"].clone())
        .collect();
    assert_eq!(failed, HashSet::from([ids[2].clone()]));
}

#[test]
fn apply_without_a_terminal_needs_yes_and_calls_nothing() {
    let (_, _, dir, inv, prefs, proxy) = Fleet::new(1, &["us-east-1"]).parts();
    let report = dir.path("r.csv");
    let mut args = inventory_line("apply", &inv, &prefs, &report, &proxy.url);
    args.retain(|a| *a != "--yes");
    let out = ssm_prefs(args);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert!(proxy.seen().is_empty());
}

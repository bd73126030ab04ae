//! What broke when the tool was tried as a new user would: a `--document-name` naming another
//! kind of document, values AWS rejects, names that drive the terminal, reports of one command
//! taken for another's, a preferences file with a byte order mark.

use aws_sdk_ssm::types::{DocumentFormat, DocumentType};

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::Proxy;

const TUNNEL: &str = r#"{"schemaVersion":"1.0","description":"db tunnel","sessionType":"Port","parameters":{"portNumber":{"type":"String","default":"5432"}},"properties":{"portNumber":"{{ portNumber }}"}}"#;
const COMMAND: &str = r#"{"schemaVersion":"2.2","description":"hello","mainSteps":[{"action":"aws:runShellScript","name":"hello","inputs":{"runCommand":["echo hello"]}}]}"#;

async fn create(url: &str, account: &str, name: &str, content: &str, kind: DocumentType) {
    ssm_in(url, account, "us-east-1")
        .await
        .create_document()
        .name(name)
        .content(content)
        .document_type(kind)
        .document_format(DocumentFormat::Json)
        .send()
        .await
        .expect("create a document");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_of_another_kind_is_never_overwritten() {
    let url = emulator().url.clone();
    let ids = accounts(3);
    create(
        &url,
        &ids[0],
        "Team-DB-Tunnel",
        TUNNEL,
        DocumentType::Session,
    )
    .await;
    create(
        &url,
        &ids[1],
        "Team-DB-Tunnel",
        COMMAND,
        DocumentType::Command,
    )
    .await;
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &["us-east-1"]));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    for (cmd, existing) in [
        ("plan", "update"),
        ("apply", "update"),
        ("apply", "keep"),
        ("apply", "merge"),
    ] {
        let report = dir.path(&format!("{cmd}-{existing}.csv"));
        let extra = ["--document-name", "Team-DB-Tunnel", "--existing", existing];
        let out = run(cmd, &proxy, &inv, &prefs, &report, &extra);
        assert_eq!(out.code, 1, "{cmd} --existing {existing}: {}", out.all());
        let rows = rows_by_target(&report);
        for (i, found) in [
            "a Session document of sessionType Port",
            "a Command document",
        ]
        .into_iter()
        .enumerate()
        {
            let row = &rows[&(ids[i].clone(), "us-east-1".to_string())];
            assert_eq!(
                (row["status"].as_str(), row["error_code"].as_str()),
                ("blocked", "WrongDocumentKind"),
                "{cmd} --existing {existing}: {row:?}"
            );
            assert!(row["error_message"].contains(found), "{row:?}");
        }
        // The account without that document gets it, as usual.
        let fresh = &rows[&(ids[2].clone(), "us-east-1".to_string())]["status"];
        assert!(
            ["would-create", "created", "unchanged"].contains(&fresh.as_str()),
            "{fresh}"
        );
        assert!(
            out.stdout
                .contains("2 targets: WrongDocumentKind (blocking) Team-DB-Tunnel"),
            "{}",
            out.stdout
        );
    }
    // Neither document was touched.
    for (i, content) in [TUNNEL, COMMAND].into_iter().enumerate() {
        let client = ssm_in(&url, &ids[i], "us-east-1").await;
        let (version, found) = default_doc(&client, "Team-DB-Tunnel").await.unwrap();
        assert_eq!((version.as_str(), found.as_str()), ("1", content));
    }
}

#[test]
fn values_and_names_aws_rejects_are_input_errors() {
    let dir = Dir::new();
    let prefs = dir.write("p.json", &desired().to_string());
    for name in ["AWS-RunShellScript", "Amazon-Prefs", "amzn-doc"] {
        let out = ssm_prefs([
            "validate",
            "-p",
            prefs.to_str().unwrap(),
            "--document-name",
            name,
        ]);
        assert_eq!(out.code, 2, "{name}: {}", out.all());
        assert!(
            out.stderr.contains("--document-name") && out.stderr.contains("AWS's own"),
            "{}",
            out.stderr
        );
    }
    for (key, value) in [
        ("idleSessionTimeout", "+5"),
        ("idleSessionTimeout", "020"),
        ("maxSessionDuration", "+1"),
    ] {
        let mut doc = desired();
        doc["inputs"][key] = serde_json::Value::String(value.into());
        let p = dir.write("bad.json", &doc.to_string());
        let out = ssm_prefs(["validate", "-p", p.to_str().unwrap()]);
        assert_eq!(out.code, 2, "{key} {value}: {}", out.all());
        assert!(out.stderr.contains(key), "{}", out.stderr);
    }
    // A byte order mark (an editor's) is read past, as in the inventory.
    let bom = dir.write("bom.json", &format!("\u{feff}{}", desired()));
    let out = ssm_prefs(["validate", "-p", bom.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn names_cannot_drive_the_terminal() {
    let ids = accounts(2);
    let inv = format!(
        "regions: [us-east-1]\naccounts:\n  - account_id: \"{}\"\n    name: \"\\e]0;pwned\\a\\e[2J\"\n  - account_id: \"{}\"\n    name: \"two\\nlines\"\n",
        ids[0], ids[1]
    );
    let f = Fleet::with_files(ids, &["us-east-1"], &inv, &desired().to_string());
    let (_, ids, dir, inv, prefs, proxy) = f.parts();
    let out = run("plan", &proxy, &inv, &prefs, &dir.path("plan.csv"), &["-v"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let all = out.all();
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    assert!(all.contains("\\x1b]0;pwned\\x07\\x1b[2J"), "{all}");
    assert!(all.contains("two\\nlines"), "{all}");
    // The report keeps the true name: CSV quotes it.
    let rows = rows_by_target(&dir.path("plan.csv"));
    assert_eq!(
        rows[&(ids[1].clone(), "us-east-1".to_string())]["account_name"],
        "two\nlines"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_says_its_command_and_is_not_taken_for_another() {
    let (_, ids, dir, inv, prefs, proxy) = Fleet::new(2, &["us-east-1"]).parts();
    let first = dir.path("apply1.csv");
    assert_eq!(run("apply", &proxy, &inv, &prefs, &first, &[]).code, 0);
    // Now every status is `unchanged`, which plan and apply share: a plan of one account and
    // an apply of the other look like two shards of one run.
    let plan = dir.path("plan.csv");
    let apply = dir.path("apply2.csv");
    assert_eq!(
        run("plan", &proxy, &inv, &prefs, &plan, &["-a", &ids[0]]).code,
        0
    );
    assert_eq!(
        run("apply", &proxy, &inv, &prefs, &apply, &["-a", &ids[1]]).code,
        0
    );
    for (path, command) in [(&plan, "plan"), (&apply, "apply")] {
        let rows = read_report(path);
        assert!(
            rows.iter()
                .all(|r| r["command"] == command && r["status"] == "unchanged"),
            "{rows:?}"
        );
    }
    proxy.clear();
    let merged = dir.path("merged.csv");
    let out = ssm_prefs([
        "report",
        "merge",
        plan.to_str().unwrap(),
        apply.to_str().unwrap(),
        "-o",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("this row's command is apply, the rows before it are from plan"),
        "{}",
        out.stderr
    );
    assert!(!merged.exists());
    let out = rollback_refused(&plan, &proxy.url);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("not an apply report: it is a plan report"),
        "{}",
        out.stderr
    );
    assert!(proxy.seen().is_empty(), "no AWS call");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_the_aws_config_lacks_is_named_once_per_account() {
    let ids = accounts(2);
    let inv = format!(
        "regions: [us-east-1, eu-west-1]\naccounts:\n  - account_id: \"{}\"\n    name: ghosted\n    profile: ghost\n  - account_id: \"{}\"\n    name: fine\n",
        ids[0], ids[1]
    );
    let f = Fleet::with_files(
        ids,
        &["us-east-1", "eu-west-1"],
        &inv,
        &desired().to_string(),
    );
    let (_, ids, dir, inv, prefs, proxy) = f.parts();
    let report = dir.path("plan.csv");
    let out = run("plan", &proxy, &inv, &prefs, &report, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    let warning = format!(
        "account {}: profile \"ghost\" is not in the AWS config",
        ids[0]
    );
    assert_eq!(out.stderr.matches(&warning).count(), 1, "{}", out.stderr);
    let rows = rows_by_target(&report);
    for region in ["us-east-1", "eu-west-1"] {
        assert_eq!(
            rows[&(ids[0].clone(), region.to_string())]["status"],
            "failed"
        );
        assert_eq!(
            rows[&(ids[1].clone(), region.to_string())]["status"],
            "would-create"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waves_line_counts_its_targets_as_the_summary_does() {
    let (_, ids, dir, inv, prefs, proxy) = Fleet::new(2, &["us-east-1", "eu-west-1"]).parts();
    // The first account's reads fail: its targets are decided before any write.
    proxy.set_faults(crate::support::proxy::Faults {
        deny_in_account: vec![(ids[0].clone(), "GetDocument".into())],
        ..Default::default()
    });
    let (waves_report, extra) = (dir.path("waves.csv"), ["--waves", "50%,100%"]);
    let out = run("apply", &proxy, &inv, &prefs, &waves_report, &extra);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("wave 1 of 2: 1 account, 2 targets"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("wave 1 of 2 (1 account, 2 targets): failed 2"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_bucket_named_before_2018_is_a_warning_not_an_error() {
    let dir = Dir::new();
    let mut doc = desired();
    doc["inputs"]["s3BucketName"] = serde_json::Value::String("Legacy_Session_Logs".into());
    let p = dir.write("legacy.json", &doc.to_string());
    let out = ssm_prefs(["validate", "-p", p.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("warning:") && out.stderr.contains("before March 2018"),
        "{}",
        out.stderr
    );
    // The AWS page's example stays refused, and a name no S3 rule ever took too.
    for bad in ["DOC-EXAMPLE-BUCKET", "no spaces allowed"] {
        doc["inputs"]["s3BucketName"] = serde_json::Value::String(bad.into());
        let p = dir.write("bad.json", &doc.to_string());
        let out = ssm_prefs(["validate", "-p", p.to_str().unwrap()]);
        assert_eq!(out.code, 2, "{bad}: {}", out.all());
    }
}

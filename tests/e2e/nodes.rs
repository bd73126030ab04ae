//! The node check end to end (issue 37): accounts whose EC2 instances (managed nodes, as the
//! emulator's DescribeInstanceInformation reports them), instance profiles and roles are set
//! up on the emulator (tests/support/nodes_setup.py); then `apply`, `audit` and
//! `apply --accept-node-risk` run through the counting proxy, and every case checks the
//! emulator's state (the document written or not) and the report's row.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::Faults;

const REGION: &str = "us-east-1";
const ALIAS: &str = "alias/nodes-key";
const GROUP: &str = "/ssm/nodes";
const ROLE: &str = "NodeRole";
/// What a node needs for the preferences below: kms:Decrypt and the four CloudWatch Logs calls.
const ALL: [&str; 5] = [
    "kms:Decrypt",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
];
const NO_DECRYPT: [&str; 4] = [
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
];

/// Runs tests/support/nodes_setup.py with `spec` (plus the emulator and the account's
/// region); its JSON answer.
fn set_up(url: &str, account: &str, mut spec: Value) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    spec["endpoint"] = json!(url);
    spec["account"] = json!(account);
    spec["region"] = json!(REGION);
    let mut child = Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tests/support/nodes_setup.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nodes_setup.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(spec.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nodes_setup.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("nodes_setup.py prints JSON")
}

/// KMS session encryption and CloudWatch logging: both ask something of every node.
fn prefs() -> Value {
    json!({
        "schemaVersion": "1.0",
        "description": "Session Manager preferences whose nodes are checked first",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": "",
            "cloudWatchLogGroupName": GROUP,
            "cloudWatchEncryptionEnabled": false,
            "kmsKeyId": ALIAS,
            "runAsEnabled": false,
            "runAsDefaultUser": "",
            "idleSessionTimeout": "20"
        }
    })
}

fn node(agent: &str, ping: Option<&str>) -> Value {
    json!({"agent": agent, "ping": ping, "profile": true})
}

/// Runs the binary through the proxy with preflight on, the arguments as given.
fn run(f: &Fleet, cmd: &str, report: &Path, extra: &[&str]) -> Run {
    let mut args = inventory_line(cmd, &f.inv, &f.prefs, report, &f.proxy.url);
    args.extend(extra);
    let out = preflight_command(&args).output().expect("run ssm-prefs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.all().contains("panicked"), "{}", run.all());
    run
}

async fn written(url: &str, account: &str) -> bool {
    default_doc(&ssm_in(url, account, REGION).await, DOC)
        .await
        .is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_that_would_lose_sessions_block_their_target_and_nothing_else() {
    let url = emulator().url.clone();
    let ids = accounts(6);
    let (healthy, no_decrypt, old_agent, offline, no_nodes, denied) =
        (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4], &ids[5]);
    let world = |id: &String, actions: &[&str], nodes: Vec<Value>| {
        set_up(
            &url,
            id,
            json!({"key_alias": ALIAS, "log_group": GROUP,
                   "role": {"name": ROLE, "actions": actions}, "instances": nodes}),
        )
    };
    let mut set: BTreeMap<&String, Value> = BTreeMap::new();
    set.insert(
        healthy,
        world(
            healthy,
            &ALL,
            vec![node("3.3.1142.0", None), node("3.2.582.0", None)],
        ),
    );
    set.insert(
        no_decrypt,
        world(no_decrypt, &NO_DECRYPT, vec![node("3.3.1142.0", None)]),
    );
    set.insert(
        old_agent,
        world(old_agent, &ALL, vec![node("2.3.100.0", None)]),
    );
    set.insert(
        offline,
        world(
            offline,
            &NO_DECRYPT,
            vec![node("3.3.1142.0", Some("ConnectionLost"))],
        ),
    );
    set.insert(no_nodes, world(no_nodes, &ALL, vec![]));
    set.insert(denied, world(denied, &ALL, vec![node("3.3.1142.0", None)]));
    let instance = |id: &String, i: usize| set[id]["instances"][i].as_str().unwrap().to_string();
    let key_arn = |id: &String| set[id]["key_arn"].as_str().unwrap().to_string();

    let f = Fleet::with_files(
        ids.clone(),
        &[REGION],
        &inventory(&ids, &[REGION]),
        &prefs().to_string(),
    );
    f.proxy.set_faults(Faults {
        deny_in_account: vec![(denied.clone(), "DescribeInstanceInformation".into())],
        ..Default::default()
    });

    // apply: the targets whose online nodes would lose sessions are blocked, never written.
    let report = f.dir.path("apply.csv");
    let nodes_report = f.dir.path("nodes.csv");
    let r = run(
        &f,
        "apply",
        &report,
        &["--nodes-report", nodes_report.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "a blocked target fails the run: {}", r.all());
    let rows = rows_by_target(&report);
    let row = |id: &String| &rows[&(id.clone(), REGION.to_string())];
    for id in [healthy, offline, no_nodes, denied] {
        assert!(written(&url, id).await, "{id} written: {}", r.all());
        assert_eq!(row(id)["status"], "created", "{id}: {:?}", row(id));
    }
    for id in [no_decrypt, old_agent] {
        assert!(!written(&url, id).await, "{id} never written");
        assert_eq!(row(id)["status"], "blocked", "{id}: {:?}", row(id));
        assert_eq!(
            (row(id)["nodes"].as_str(), row(id)["nodes_at_risk"].as_str()),
            ("1", "1")
        );
    }
    // Every node's role may decrypt and write logs.
    assert_eq!(row(healthy)["nodes"], "2");
    assert_eq!(row(healthy)["nodes_at_risk"], "0");
    assert_eq!(row(healthy)["findings"], "");
    // One node's role lacks kms:Decrypt: the node and the role are named.
    let subject = format!(
        "kms:Decrypt denied to role {ROLE} on {}",
        key_arn(no_decrypt)
    );
    assert_eq!(row(no_decrypt)["error_code"], "NodeRoleDenied");
    assert_eq!(
        row(no_decrypt)["findings"],
        format!("NodeRoleDenied(blocking) {subject}")
    );
    assert!(
        row(no_decrypt)["error_message"].contains(&instance(no_decrypt, 0)),
        "{:?}",
        row(no_decrypt)
    );
    // On screen, grouped with its nodes and targets.
    assert!(
        r.all().contains(&format!(
            "NodeRoleDenied (blocking) {subject}: 1 node in 1 target"
        )),
        "{}",
        r.all()
    );
    // Agent 2.3.100.0 with kmsKeyId on.
    assert_eq!(
        row(old_agent)["findings"],
        "NodeAgentTooOld(blocking) SSM Agent older than 2.3.539.0 (kmsKeyId)"
    );
    assert!(
        row(old_agent)["error_message"]
            .contains(&format!("{} (2.3.100.0)", instance(old_agent, 0)))
    );
    // An offline node alone: a warning, counted apart, and the target is written.
    assert_eq!(
        row(offline)["findings"],
        "NodesOffline(warning) managed nodes not online"
    );
    assert_eq!(
        (
            row(offline)["nodes"].as_str(),
            row(offline)["nodes_at_risk"].as_str()
        ),
        ("0", "0")
    );
    assert!(row(offline)["error_message"].contains(&instance(offline, 0)));
    // No nodes: written, nodes 0.
    assert_eq!(row(no_nodes)["findings"], "");
    assert_eq!(row(no_nodes)["nodes"], "0");
    // Reading nodes denied: unverified, never a pass (no count).
    assert_eq!(
        row(denied)["findings"],
        "CheckUnverified(unverified) managed nodes"
    );
    assert!(
        row(denied)["error_message"].contains("ssm:DescribeInstanceInformation"),
        "{:?}",
        row(denied)
    );
    assert_eq!(row(denied)["nodes"], "");

    // The nodes report: every node seen, its role, and what fails for it and why.
    let lines: BTreeMap<String, BTreeMap<String, String>> = read_report(&nodes_report)
        .into_iter()
        .map(|l| (l["instance_id"].clone(), l))
        .collect();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let line = |id: &String, i: usize| &lines[&instance(id, i)];
    let role_arn = |id: &String| set[id]["role_arn"].as_str().unwrap().to_string();
    for i in 0..2 {
        assert_eq!(line(healthy, i)["fails"], "");
        assert_eq!(line(healthy, i)["role"], role_arn(healthy));
        assert_eq!(line(healthy, i)["account_id"], *healthy);
    }
    assert_eq!(line(no_decrypt, 0)["fails"], "NodeRoleDenied");
    assert_eq!(line(no_decrypt, 0)["why"], subject);
    assert_eq!(line(no_decrypt, 0)["role"], role_arn(no_decrypt));
    assert_eq!(line(old_agent, 0)["fails"], "NodeAgentTooOld");
    assert_eq!(line(old_agent, 0)["agent_version"], "2.3.100.0");
    assert_eq!(line(offline, 0)["fails"], "NodesOffline");
    assert_eq!(line(offline, 0)["ping_status"], "ConnectionLost");

    // audit: a compliant target whose node can no longer decrypt.
    set_up(
        &url,
        healthy,
        json!({"role": {"name": ROLE, "actions": NO_DECRYPT}}),
    );
    let audit = f.dir.path("audit.csv");
    let summary = f.dir.path("audit.json");
    let r = run(
        &f,
        "audit",
        &audit,
        &["--summary-json", summary.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.all());
    let rows = rows_by_target(&audit);
    // Judged against the preferences in force: a target never written holds none, which
    // ask nothing of its node.
    let missing = &rows[&(no_decrypt.clone(), REGION.to_string())];
    assert_eq!(missing["status"], "missing", "{missing:?}");
    assert_eq!(missing["nodes"], "");
    let totals: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(
        totals["nodes"],
        json!({"targets_checked": 3, "online": 2, "at_risk": 2, "targets_at_risk": 1}),
        "{totals:#}"
    );
    let row = &rows[&(healthy.clone(), REGION.to_string())];
    assert_eq!(row["status"], "compliant", "{row:?}");
    assert_eq!(row["nodes"], "2");
    assert_eq!(row["nodes_at_risk"], "2");
    assert_eq!(
        row["findings"],
        format!(
            "NodeRoleDenied(blocking) kms:Decrypt denied to role {ROLE} on {}",
            key_arn(healthy)
        )
    );

    // --accept-node-risk: written anyway, and the nodes are still reported.
    let accepted = f.dir.path("accepted.csv");
    let r = run(&f, "apply", &accepted, &["--accept-node-risk"]);
    let rows = rows_by_target(&accepted);
    let row = |id: &String| &rows[&(id.clone(), REGION.to_string())];
    for id in [no_decrypt, old_agent] {
        assert!(written(&url, id).await, "{id} written: {}", r.all());
        assert_eq!(row(id)["status"], "created", "{id}: {:?}", row(id));
        assert_eq!(row(id)["nodes_at_risk"], "1");
    }
    assert_eq!(
        row(no_decrypt)["findings"],
        format!("NodeRoleDenied(warning) {subject}")
    );
    assert!(row(no_decrypt)["error_message"].contains("accepted: --accept-node-risk"));
    assert_eq!(r.code, 0, "{}", r.all());
}

/// S3 logging to a bucket under SSE-KMS: a node writing there needs kms:GenerateDataKey on the
/// bucket's key, which its key policy must allow; a bucket (and its key) of another account
/// has policies this account cannot read: unverified, never a silent pass.
#[tokio::test(flavor = "multi_thread")]
async fn the_buckets_key_and_another_accounts_bucket() {
    let url = emulator().url.clone();
    let ids = accounts(3);
    let (own, user, owner) = (&ids[0], &ids[1], &ids[2]);
    let s3_actions = [
        "s3:PutObject",
        "s3:GetEncryptionConfiguration",
        "kms:GenerateDataKey",
    ];
    let role = json!({"name": ROLE, "actions": s3_actions});
    // The own bucket's key allows an Admin role only: no delegation to the account's IAM.
    let own_bucket = format!("nodes-own-logs-{own}");
    let own_set = set_up(
        &url,
        own,
        json!({"bucket": {"name": own_bucket, "key_policy": {"Version": "2012-10-17", "Statement": [
                  {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{own}:role/Admin")},
                   "Action": "kms:*", "Resource": "*"}]}},
               "role": role, "instances": [node("3.3.1142.0", None)]}),
    );
    // The shared bucket and its key are the owner's (a log archive account's), not a target.
    let shared_bucket = format!("nodes-shared-logs-{owner}");
    let owner_set = set_up(&url, owner, json!({"bucket": {"name": shared_bucket}}));
    set_up(
        &url,
        user,
        json!({"role": role, "instances": [node("3.3.1142.0", None)]}),
    );
    let targets = vec![own.clone(), user.clone()];
    let mut inv = format!("regions: [{REGION}]\naccounts:\n");
    for (id, bucket) in [(own, &own_bucket), (user, &shared_bucket)] {
        inv.push_str(&format!(
            "  - account_id: \"{id}\"\n    vars: {{log_bucket: \"{bucket}\"}}\n"
        ));
    }
    let prefs = json!({
        "schemaVersion": "1.0",
        "description": "Session logs to S3 under SSE-KMS",
        "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": "{log_bucket}", "s3EncryptionEnabled": true, "idleSessionTimeout": "20"}
    });
    let f = Fleet::with_files(targets, &[REGION], &inv, &prefs.to_string());
    let report = f.dir.path("apply.csv");
    let r = run(&f, "apply", &report, &[]);
    assert_eq!(r.code, 1, "the blocked target fails the run: {}", r.all());
    let rows = rows_by_target(&report);
    let row = |id: &String| &rows[&(id.clone(), REGION.to_string())];

    // The bucket's key policy does not let the node's role make data keys: blocked.
    let own_key = own_set["bucket_key_arn"].as_str().unwrap();
    assert!(!written(&url, own).await, "never written: {}", r.all());
    assert_eq!(row(own)["status"], "blocked", "{:?}", row(own));
    assert_eq!(
        row(own)["findings"],
        format!(
            "NodeKeyPolicyDenied(blocking) kms:GenerateDataKey not granted to role {ROLE} by the policy of {own_key}"
        )
    );
    assert_eq!(
        (
            row(own)["nodes"].as_str(),
            row(own)["nodes_at_risk"].as_str()
        ),
        ("1", "1")
    );

    // Another account's bucket and key: what IAM allows the role is necessary, not proven.
    let owner_key = owner_set["bucket_key_arn"].as_str().unwrap();
    assert!(written(&url, user).await, "written: {}", r.all());
    assert_eq!(row(user)["status"], "created", "{:?}", row(user));
    let findings = &row(user)["findings"];
    for subject in [
        format!("nodes: s3:PutObject on arn:aws:s3:::{shared_bucket}/* of another account"),
        format!("nodes: kms:GenerateDataKey on {owner_key} of account {owner}"),
    ] {
        assert!(
            findings.contains(&format!("CheckUnverified(unverified) {subject}")),
            "{findings}"
        );
    }
    assert!(
        row(user)["error_message"].contains("cannot be read from account"),
        "{:?}",
        row(user)
    );
    assert_eq!(
        (
            row(user)["nodes"].as_str(),
            row(user)["nodes_at_risk"].as_str()
        ),
        ("1", "0")
    );
}

//! The continuous-enforcement examples: examples/github-actions/enforce.yml held against
//! GitHub's workflow schema (check-jsonschema, which scripts/emulator-env.sh installs in
//! .venv/), examples/eventbridge/rule.json against the events of tests/fixtures/events/ on the
//! emulator's EventBridge, and the workflow's steps and the buildspec's build commands run as
//! written, by bash, against an emulated organization set up as the docs say.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::emulator::{emulator, private_emulator};
use crate::support::fixtures::*;
use crate::support::org::{MANAGEMENT, Organization, name_of, organizations};

const FIX: &str = "run `bash scripts/test.sh` once: scripts/emulator-env.sh installs it in .venv/";

/// The events the rule must match, and those it must not.
const MATCHED: [&str; 5] = [
    "control-tower-create-managed-account.json",
    "organizations-create-account-result.json",
    "account-region-opt-in-enabled.json",
    "organizations-tag-resource.json",
    "organizations-untag-resource.json",
];
const UNMATCHED: [&str; 5] = [
    "control-tower-create-managed-account-failed.json",
    "organizations-create-account-result-failed.json",
    "account-region-opt-in-enabling.json",
    "organizations-tag-resource-denied.json",
    "ec2-instance-state-change.json",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workflow() -> PathBuf {
    root().join("examples/github-actions/enforce.yml")
}

/// `check-jsonschema --builtin-schema vendor.github-workflows FILE` from .venv/.
fn check_workflow(file: &Path) -> Output {
    let checker = root().join(".venv/bin/check-jsonschema");
    assert!(
        checker.exists(),
        "check-jsonschema is missing ({}): {FIX}",
        checker.display()
    );
    Command::new(&checker)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}: {FIX}", checker.display()))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_workflow_passes_github_s_schema_and_a_broken_copy_does_not() {
    let ok = check_workflow(&workflow());
    assert!(
        ok.status.success(),
        "check-jsonschema rejects {}:\n{}",
        workflow().display(),
        text(&ok)
    );

    // The checker checks: the same workflow with its job's `runs-on` taken out fails.
    let original = std::fs::read_to_string(workflow()).unwrap();
    let broken: String = original
        .lines()
        .filter(|l| !l.trim_start().starts_with("runs-on:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(
        broken.lines().count(),
        original.lines().count(),
        "no runs-on to take out"
    );
    let dir = Dir::new();
    let copy = dir.write("enforce.yml", &broken);
    let bad = check_workflow(&copy);
    assert!(
        !bad.status.success() && text(&bad).contains("'runs-on' is a required property"),
        "check-jsonschema accepts a workflow without runs-on ({:?}):\n{}",
        bad.status,
        text(&bad)
    );
}

/// Puts each event file given, as PutEvents takes it, on a bus of its own whose one rule
/// (the pattern file) sends what it matches to a queue; prints, for each file, the events
/// that came out of the queue.
///
/// moto's TestEventPattern is a stub (it answers nothing), so the match is made the way moto
/// delivers events: its rule matcher, behind PutEvents, routing to an SQS target.
const ROUTE: &str = r#"
import json, sys, uuid
import boto3
url, pattern, files = sys.argv[1], sys.argv[2], sys.argv[3:]
conf = dict(endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing")
events, sqs = boto3.client("events", **conf), boto3.client("sqs", **conf)
name = "ssm-prefs-examples-" + uuid.uuid4().hex[:12]
events.create_event_bus(Name=name)
queue = sqs.create_queue(QueueName=name)["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
events.put_rule(Name="enforce", EventBusName=name, EventPattern=open(pattern).read())
events.put_targets(Rule="enforce", EventBusName=name, Targets=[{"Id": "queue", "Arn": arn}])
out = {}
for f in files:
    e = json.load(open(f))
    put = events.put_events(Entries=[{
        "EventBusName": name, "Source": e["source"], "DetailType": e["detail-type"],
        "Detail": json.dumps(e["detail"]), "Resources": e["resources"]}])
    assert put["FailedEntryCount"] == 0, put
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    for m in got:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    out[f] = [json.loads(m["Body"]) for m in got]
events.remove_targets(Rule="enforce", EventBusName=name, Ids=["queue"])
events.delete_rule(Name="enforce", EventBusName=name)
events.delete_event_bus(Name=name)
sqs.delete_queue(QueueUrl=queue)
print(json.dumps(out))
"#;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/events").join(name)
}

#[test]
fn every_event_fixture_is_one_complete_event_naming_the_new_account() {
    for name in MATCHED.iter().chain(&UNMATCHED) {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let event: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        for field in [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        ] {
            assert!(event.get(field).is_some(), "{name}: no {field}");
        }
        assert!(
            event["detail"].is_object(),
            "{name}: detail is not an object"
        );
        // Tests swap in fresh account ids by replacing this one; a failed CreateAccount
        // made no account.
        if *name == "organizations-create-account-result-failed.json" {
            let status = &event["detail"]["serviceEventDetails"]["createAccountStatus"];
            assert!(status["accountId"].is_null(), "{name}: an account id");
        } else {
            assert!(text.contains("111122223333"), "{name}: no 111122223333");
        }
    }
}

#[test]
fn the_rule_matches_the_succeeded_and_enabled_events_and_nothing_else() {
    let python = root().join(".venv/bin/python");
    let pattern = root().join("examples/eventbridge/rule.json");
    let files: Vec<PathBuf> = MATCHED
        .iter()
        .chain(&UNMATCHED)
        .map(|n| fixture(n))
        .collect();
    let out = Command::new(&python)
        .args(["-c", ROUTE, &emulator().url])
        .arg(&pattern)
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}: {FIX}", python.display()));
    assert!(
        out.status.success(),
        "routing the events failed:\n{}",
        text(&out)
    );
    let delivered: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");

    for (name, file) in MATCHED.iter().chain(&UNMATCHED).zip(&files) {
        let sent: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let got = delivered[file.to_str().unwrap()].as_array().unwrap();
        if MATCHED.contains(name) {
            assert_eq!(
                got.len(),
                1,
                "{name}: the rule should match it once: {got:?}"
            );
            assert_eq!(got[0]["source"], sent["source"], "{name}");
            assert_eq!(got[0]["detail-type"], sent["detail-type"], "{name}");
            assert_eq!(got[0]["detail"], sent["detail"], "{name}");
        } else {
            assert!(
                got.is_empty(),
                "{name}: the rule should not match it: {got:?}"
            );
        }
    }
}

/// The `yaml` code blocks of a Markdown file.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    markdown
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block.to_string()))
        .collect()
}

/// The workflows docs/usage.md shows (sharded rollout, weekly audit) pass GitHub's schema too,
/// and install the release's binary against a pinned checksum as the daily workflow does.
#[test]
fn the_workflows_in_the_usage_guide_pass_github_s_schema() {
    let usage = std::fs::read_to_string(root().join("docs/usage.md")).unwrap();
    let workflows: Vec<String> = yaml_blocks(&usage)
        .into_iter()
        .filter(|b| b.contains("\njobs:"))
        .collect();
    assert_eq!(
        workflows.len(),
        2,
        "the sharded rollout and the weekly audit"
    );
    let dir = Dir::new();
    for (i, w) in workflows.iter().enumerate() {
        let file = dir.write(&format!("usage-{i}.yml"), w);
        let out = check_workflow(&file);
        assert!(out.status.success(), "{w}\n{}", text(&out));
        assert!(w.contains("sha256sum --check --strict"), "{w}");
        assert!(!w.contains("cargo "), "{w}");
    }
}

/// Where the examples' commands run: an organization of their own (a management account, a
/// log-archive account and a workload account) on a private emulator behind the counting
/// proxy, set up as docs/iam.md and the examples say, and a shell with `ssm-prefs` on its PATH.
struct Landing {
    /// The examples' calls go through it (counted); the test's own set-up and reads go to
    /// the emulator straight.
    proxy: crate::support::proxy::Proxy,
    // Dropped last: the proxy forwards to it.
    emulator: crate::support::emulator::Emulator,
    dir: Dir,
    /// The accounts, management first.
    accounts: Vec<String>,
    org: Organization,
}

const EXTERNAL_ID: &str = "ssm-prefs-example-external-id-4242";
const LOG_BUCKET: &str = "org-session-logs";
const EXAMPLE_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

impl Landing {
    async fn new() -> Landing {
        let emulator = private_emulator();
        let org = Organization::create(organizations(&emulator.url).await).await;
        let mut accounts = vec![MANAGEMENT.to_string()];
        for name in ["log-archive", "workload-prod"] {
            accounts.push(Landing::create_account(&org, name).await);
        }
        let proxy = crate::support::proxy::Proxy::start(&emulator.url);
        let landing = Landing {
            proxy,
            emulator,
            dir: Dir::new(),
            accounts,
            org,
        };
        landing.world(&landing.accounts.clone());
        // The workflow's file, as its comments say: the example preferences as prefs.json.
        std::fs::copy(
            root().join("examples/preferences.json"),
            landing.dir.path("prefs.json"),
        )
        .unwrap();
        // What the buildspec's install phase leaves: the binary on the PATH.
        let bin = landing.dir.path("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ssm-prefs"), bin.join("ssm-prefs")).unwrap();
        landing
    }

    /// A new member account named `name`.
    async fn create_account(org: &Organization, name: &str) -> String {
        org.create_account(name, &format!("aws+{name}@example.com"))
            .await
    }

    /// What examples/preferences.json names, as a landing zone has it: the log bucket in the
    /// log-archive account, and in each account and region a KMS key and the encrypted log
    /// group (the demo's set-up, scripts/demo_seed.py world); the Account API's answer that
    /// each account has the example regions enabled (`-r all`).
    fn world(&self, accounts: &[String]) {
        self.world_with(accounts, LOG_BUCKET)
    }

    /// [`Landing::world`], the bucket of this name.
    fn world_with(&self, accounts: &[String], bucket: &str) {
        let mut inv = format!(
            "regions: [{}]\nvars: {{log_bucket: {bucket}}}\naccounts:\n",
            EXAMPLE_REGIONS.join(", ")
        );
        // The log-archive account first: the bucket is made in the first account listed.
        let mut ordered = accounts.to_vec();
        if ordered.len() > 1 && ordered[0] == MANAGEMENT {
            ordered.swap(0, 1);
        }
        for id in &ordered {
            inv.push_str(&format!("  - account_id: \"{id}\"\n"));
            self.proxy.set_enabled_regions(id, &EXAMPLE_REGIONS);
        }
        // The management account is reached with the base credentials, which the proxy
        // records as no account.
        self.proxy.set_enabled_regions("", &EXAMPLE_REGIONS);
        let inv_path = self.dir.write(&format!("world-{}.yml", ordered[0]), &inv);
        let seeded = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("scripts/demo_seed.py"))
            // Straight to the emulator: the proxy counts the examples' calls alone.
            .args(["world", "--endpoint-url", &self.emulator.url, "--inventory"])
            .arg(&inv_path)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .output()
            .unwrap_or_else(|e| panic!("run scripts/demo_seed.py: {e}: {FIX}"));
        assert!(
            seeded.status.success(),
            "demo_seed.py world:\n{}",
            text(&seeded)
        );
    }

    /// Runs a script as the job's shell would (bash, stopping at the first failure), in the
    /// landing's directory with `env`, the fake base credentials and every AWS call sent to
    /// the emulator through AWS_ENDPOINT_URL (the scripts themselves name no endpoint).
    fn bash(&self, script: &str, env: &[(String, String)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(self.dir.0.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.0.path())
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .env("AWS_CONFIG_FILE", "/nonexistent/ssm-prefs-test/config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/ssm-prefs-test/credentials",
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &self.proxy.url)
            .stdin(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run bash")
    }

    /// Every account × example region holds the example preferences filled for it, the
    /// default version the latest; the descriptions name each account as Organizations does.
    async fn assert_enforced(&self, accounts: &[String], names: &[(String, String)]) {
        for id in accounts {
            for region in EXAMPLE_REGIONS {
                let ssm = ssm_in(&self.emulator.url, id, region).await;
                let (default, latest) =
                    default_and_latest(&self.emulator.url, id, region, DOC).await;
                assert_eq!(default, latest, "{id}/{region}");
                let (_, content) = default_doc(&ssm, DOC).await.expect("written");
                let doc: Value = serde_json::from_str(&content).unwrap();
                assert_eq!(doc["inputs"]["s3BucketName"], LOG_BUCKET, "{id}/{region}");
                assert_eq!(
                    doc["inputs"]["s3KeyPrefix"],
                    format!("session-logs/{id}/{region}"),
                    "{id}/{region}"
                );
                let name = &names.iter().find(|(i, _)| i == id).expect("named").1;
                let description = doc["description"].as_str().unwrap();
                assert!(
                    description.contains(&format!("for {name} ({id}) in {region}")),
                    "{id}/{region}: {description}"
                );
            }
        }
    }

    /// Every AssumeRole went to the example's member role with the external id, and the id
    /// is nowhere in what the runs printed or wrote.
    fn assert_roles_and_secret(&self, outputs: &[&Output]) {
        let assumed = self.proxy.seen_of("AssumeRole");
        assert!(!assumed.is_empty());
        for s in &assumed {
            assert!(
                s.params["RoleArn"].ends_with(":role/SessionManagerPreferencesRollout"),
                "{:?}",
                s.params
            );
            assert_eq!(
                s.params.get("ExternalId").map(String::as_str),
                Some(EXTERNAL_ID)
            );
        }
        for out in outputs {
            assert!(!text(out).contains(EXTERNAL_ID), "{}", text(out));
        }
        for entry in walk(&self.dir.path("reports")) {
            let bytes = std::fs::read(&entry).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(EXTERNAL_ID),
                "{}",
                entry.display()
            );
        }
    }
}

/// The files under a directory.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() { walk(&p) } else { vec![p] }
        })
        .collect()
}

/// A workflow step by name: its `run:` script and its `env:`, after the workflow's own.
fn workflow_step(name: &str) -> (String, Vec<(String, String)>) {
    let text = std::fs::read_to_string(workflow()).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("the workflow is YAML");
    let vars = |y: &Yaml| -> Vec<(String, String)> {
        y.as_hash()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Yaml::String(s) => s.clone(),
                            Yaml::Integer(i) => i.to_string(),
                            Yaml::Boolean(b) => b.to_string(),
                            other => panic!("{k:?}: {other:?}"),
                        };
                        (k.as_str().unwrap().to_string(), v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut env = vars(&docs[0]["env"]);
    let Yaml::Hash(jobs) = &docs[0]["jobs"] else {
        panic!("the workflow has no jobs");
    };
    let step = jobs
        .values()
        .flat_map(|job| job["steps"].as_vec().cloned().unwrap_or_default())
        .find(|step| step["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step {name:?} in the workflow"));
    env.extend(vars(&step["env"]));
    // The one expression the steps hold: the repository secret.
    for (_, v) in env.iter_mut() {
        if v == "${{ secrets.SSM_PREFS_EXTERNAL_ID }}" {
            *v = EXTERNAL_ID.to_string();
        }
        assert!(
            !v.contains("${{"),
            "an expression the test does not fill: {v}"
        );
    }
    (
        step["run"].as_str().expect("a run: script").to_string(),
        env,
    )
}

/// The `KEY=VALUE` lines a step wrote to $GITHUB_OUTPUT.
fn step_outputs(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Accounts' names as Organizations holds them.
async fn names(url: &str, ids: &[String]) -> Vec<(String, String)> {
    let org = organizations(url).await;
    let mut out = vec![];
    for id in ids {
        out.push((id.clone(), name_of(&org, id).await));
    }
    out
}

/// A release as scripts/package.sh lays it out (`ssm-prefs-VERSION-x86_64-unknown-linux-musl.tar.gz`
/// holding `NAME/ssm-prefs`), served over loopback HTTP as a GitHub release serves its files
/// (`BASE/vVERSION/FILE`). Its `ssm-prefs` runs the test build (a 200 MB debug binary would
/// make the tarball slow to pack; the static binary itself is scripts/package.sh's to check).
struct Release {
    server: std::process::Child,
    /// What the workflow's SSM_PREFS_RELEASES names.
    url: String,
    /// The tarball's SHA-256, as the release's SHA256SUMS gives it.
    sha256: String,
    _dir: Dir,
}

impl Release {
    fn serve() -> Release {
        let dir = Dir::new();
        let version = env!("CARGO_PKG_VERSION");
        let name = format!("ssm-prefs-{version}-x86_64-unknown-linux-musl");
        let stage = dir.path("stage");
        std::fs::create_dir_all(stage.join(&name)).unwrap();
        let bin = stage.join(&name).join("ssm-prefs");
        std::fs::write(
            &bin,
            format!(
                "#!/bin/sh\nexec '{}' \"$@\"\n",
                env!("CARGO_BIN_EXE_ssm-prefs")
            ),
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let files = dir.path("releases").join(format!("v{version}"));
        std::fs::create_dir_all(&files).unwrap();
        let tarball = files.join(format!("{name}.tar.gz"));
        let tar = Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(&stage)
            .arg(&name)
            .output()
            .unwrap();
        assert!(tar.status.success(), "{}", text(&tar));
        let sha256 = sha256_hex(&std::fs::read(&tarball).unwrap());
        let mut server = Command::new(root().join(".venv/bin/python"))
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir.path("releases"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start python's http.server: {e}: {FIX}"));
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(server.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("http.server said {line:?}"));
        Release {
            server,
            url: format!("http://127.0.0.1:{port}"),
            sha256,
            _dir: dir,
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// The daily workflow as shipped: its Install step installs the release's binary once its
/// checksum matches, its Audit step finds the organization without preferences (drift), its
/// Apply step writes them in waves, and the next Audit finds every account and region
/// compliant, each step's script run as written.
#[tokio::test(flavor = "multi_thread")]
async fn the_workflow_s_steps_enforce_the_example_preferences_as_written() {
    let landing = Landing::new().await;
    let release = Release::serve();
    let outputs = landing.dir.path("github-output");
    let github_path = landing.dir.path("github-path");
    let runner_temp = landing.dir.path("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let run_step = |name: &str, sha256: &str| {
        let (script, mut env) = workflow_step(name);
        let _ = std::fs::remove_file(&outputs);
        // What earlier steps added to $GITHUB_PATH comes first, as on the runner; the test's
        // build is not on the PATH otherwise.
        let added: Vec<String> = std::fs::read_to_string(&github_path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let path = std::env::var("PATH").unwrap_or_default();
        env.push(("PATH".into(), [added, vec![path]].concat().join(":")));
        env.push(("GITHUB_OUTPUT".into(), outputs.display().to_string()));
        env.push(("GITHUB_PATH".into(), github_path.display().to_string()));
        env.push(("RUNNER_TEMP".into(), runner_temp.display().to_string()));
        for (k, v) in env.iter_mut() {
            match k.as_str() {
                "SSM_PREFS_RELEASES" => *v = release.url.clone(),
                "SSM_PREFS_SHA256" => *v = sha256.to_string(),
                _ => {}
            }
        }
        landing.bash(&script, &env)
    };
    let (_, env) = workflow_step("Install ssm-prefs");
    let pinned = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        pinned("SSM_PREFS_VERSION").as_deref(),
        Some(env!("CARGO_PKG_VERSION")),
        "the workflow runs this version"
    );
    // A tarball whose checksum is not the pinned one is not installed.
    let wrong = run_step("Install ssm-prefs", &"0".repeat(64));
    assert!(!wrong.status.success(), "{}", text(&wrong));
    assert!(text(&wrong).contains("FAILED"), "{}", text(&wrong));
    assert!(!landing.dir.path(".local/bin/ssm-prefs").exists());
    let install = run_step("Install ssm-prefs", &release.sha256);
    assert!(install.status.success(), "Install:\n{}", text(&install));
    assert!(
        text(&install).contains(&format!("ssm-prefs {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        text(&install)
    );
    let sha = &release.sha256;
    let audit = run_step("Audit", sha);
    assert!(audit.status.success(), "Audit:\n{}", text(&audit));
    assert_eq!(step_outputs(&outputs)["drift"], "true", "{}", text(&audit));
    let apply = run_step("Apply", sha);
    assert!(apply.status.success(), "Apply:\n{}", text(&apply));
    let again = run_step("Audit", sha);
    assert!(again.status.success(), "Audit:\n{}", text(&again));
    assert_eq!(step_outputs(&outputs)["drift"], "false", "{}", text(&again));
    let rows = read_report(&landing.dir.path("reports/audit.csv"));
    assert_eq!(rows.len(), landing.accounts.len() * EXAMPLE_REGIONS.len());
    assert!(rows.iter().all(|r| r["status"] == "compliant"), "{rows:?}");
    for file in [
        "audit.html",
        "audit.junit.xml",
        "apply.csv",
        "apply.html",
        "apply.junit.xml",
    ] {
        assert!(landing.dir.path("reports").join(file).exists(), "{file}");
    }
    let names = names(&landing.emulator.url, &landing.accounts).await;
    landing.assert_enforced(&landing.accounts, &names).await;
    landing.assert_roles_and_secret(&[&audit, &apply, &again]);
}

/// The buildspec's build commands as written, for an account Organizations made (its name
/// redacted in the event) and one Control Tower made: each account's targets, and no other.
#[tokio::test(flavor = "multi_thread")]
async fn the_buildspec_applies_to_the_new_account_of_each_event_as_written() {
    let landing = Landing::new().await;
    let readme = std::fs::read_to_string(root().join("examples/eventbridge/README.md")).unwrap();
    let blocks = yaml_blocks(&readme);
    assert_eq!(blocks.len(), 1, "one buildspec");
    let spec = &YamlLoader::load_from_str(&blocks[0]).expect("the buildspec is YAML")[0];
    let build: Vec<String> = spec["phases"]["build"]["commands"]
        .as_vec()
        .expect("build commands")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(
        build
            .iter()
            .any(|c| c.contains("ssm-prefs apply --event -")),
        "{build:?}"
    );
    assert_eq!(
        spec["env"]["secrets-manager"]["SSM_PREFS_EXTERNAL_ID"].as_str(),
        Some("ssm-prefs/external-id"),
        "the external id from Secrets Manager"
    );
    for (event, name) in [
        (
            "organizations-create-account-result.json",
            "new-from-organizations",
        ),
        (
            "control-tower-create-managed-account.json",
            "new-from-control-tower",
        ),
    ] {
        let id = Landing::create_account(&landing.org, name).await;
        landing.world(std::slice::from_ref(&id));
        let event = std::fs::read_to_string(fixture(event))
            .unwrap()
            .replace("111122223333", &id)
            // Control Tower's event names the account as it was asked for.
            .replace("payments-prod", name);
        // The project's variables, the secret CodeBuild puts in the environment, and the
        // binary on the PATH where the install phase put it (/usr/local/bin on CodeBuild).
        let path = format!(
            "{}:{}",
            landing.dir.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let env: Vec<(String, String)> = [
            ("PATH", path.as_str()),
            ("SSM_PREFS_EVENT", event.as_str()),
            ("REGIONS", &EXAMPLE_REGIONS.join(",")),
            ("SSM_PREFS_ROLE_NAME", "SessionManagerPreferencesRollout"),
            ("SSM_PREFS_LOG_BUCKET", LOG_BUCKET),
            ("SSM_PREFS_EXTERNAL_ID", EXTERNAL_ID),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // CodeBuild runs a phase's commands in one shell, stopping at the first failure.
        let out = landing.bash(&build.join("\n"), &env);
        assert!(out.status.success(), "{event}:\n{}", text(&out));
        let rows = read_report(&landing.dir.path("reports/event.csv"));
        let got: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r["account_id"].as_str(), r["status"].as_str()))
            .collect();
        assert_eq!(got.len(), EXAMPLE_REGIONS.len(), "{got:?}");
        assert!(
            got.iter().all(|(a, s)| *a == id && *s == "created"),
            "{got:?}"
        );
        assert!(rows.iter().all(|r| r["account_name"] == name), "{rows:?}");
        landing
            .assert_enforced(std::slice::from_ref(&id), &[(id.clone(), name.to_string())])
            .await;
        landing.assert_roles_and_secret(&[&out]);
    }
    // No other account was written.
    for id in &landing.accounts {
        let ssm = ssm_in(&landing.emulator.url, id, "us-east-1").await;
        assert_eq!(default_doc(&ssm, DOC).await, None, "{id}");
    }
}

/// `--var` fills the example's `{log_bucket}` for every account of `--org`, except where the
/// account's Organizations tag `ssm-prefs:log_bucket` gives its own (said in a line); a `--var`
/// that is not KEY=VALUE, names a built-in placeholder or is given twice is exit 2 before any
/// call.
#[tokio::test(flavor = "multi_thread")]
async fn var_fills_a_placeholder_and_an_organizations_tag_overrides_it() {
    let landing = Landing::new().await;
    let team = landing.accounts[2].clone();
    landing
        .org
        .tag(&team, "ssm-prefs:log_bucket", "team-session-logs")
        .await;
    landing.world_with(std::slice::from_ref(&team), "team-session-logs");
    let prefs = landing.dir.path("prefs.json");
    let report = landing.dir.path("apply.csv");
    let mut args = command_line("apply", &prefs, &report, &landing.proxy.url);
    args.extend([
        "--org",
        "-r",
        "us-east-1",
        "--var",
        "log_bucket=org-session-logs",
    ]);
    let out = ssm_prefs(&args);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        out.stderr
            .matches("--var log_bucket: 1 account gives {log_bucket} a value of its own")
            .count(),
        1,
        "{}",
        out.stderr
    );
    for id in &landing.accounts {
        let ssm = ssm_in(&landing.emulator.url, id, "us-east-1").await;
        let (_, content) = default_doc(&ssm, DOC).await.expect("written");
        let doc: Value = serde_json::from_str(&content).unwrap();
        let want = if *id == team {
            "team-session-logs"
        } else {
            LOG_BUCKET
        };
        assert_eq!(doc["inputs"]["s3BucketName"], want, "{id}");
    }

    landing.proxy.clear();
    for (vars, says) in [
        (vec!["log_bucket"], "is not KEY=VALUE"),
        (vec!["account_id=1"], "{account_id} is filled by the tool"),
        (vec!["log-bucket=x"], "is not a placeholder's name"),
        (
            vec!["log_bucket=a", "log_bucket=b"],
            "log_bucket is given twice",
        ),
    ] {
        let mut args = command_line("plan", &prefs, &report, &landing.proxy.url);
        args.extend(["--org", "-r", "us-east-1"]);
        for v in &vars {
            args.extend(["--var", v]);
        }
        let out = ssm_prefs(&args);
        assert_eq!(out.code, 2, "{vars:?}: {}", out.all());
        assert!(
            out.stderr.starts_with("error: --var: "),
            "{vars:?}: {}",
            out.stderr
        );
        assert!(out.stderr.contains(says), "{vars:?}: {}", out.stderr);
    }
    // Without it, the example's placeholder is named with the way to fill it.
    let bare = landing.dir.write(
        "bare.yml",
        "regions: [us-east-1]\naccounts:\n  - account_id: \"111122223333\"\n",
    );
    let out = validate(&prefs, &bare, &[]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("--var log_bucket=VALUE"),
        "{}",
        out.stderr
    );
    assert!(
        landing.proxy.seen().is_empty(),
        "{:?}",
        landing.proxy.counts()
    );
}

//! The continuous-enforcement examples: examples/github-actions/enforce.yml held against
//! GitHub's workflow schema (check-jsonschema, which scripts/emulator-env.sh installs in
//! .venv/), examples/eventbridge/rule.json against the events of tests/fixtures/events/ on the
//! emulator's EventBridge, and every `ssm-prefs` command line of the examples through the
//! real binary's parser.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::emulator::emulator;
use crate::support::fixtures::*;

const FIX: &str = "run `bash scripts/test.sh` once: scripts/emulator-env.sh installs it in .venv/";

/// The events the rule must match, and those it must not.
const MATCHED: [&str; 3] = [
    "control-tower-create-managed-account.json",
    "organizations-create-account-result.json",
    "account-region-opt-in-enabled.json",
];
const UNMATCHED: [&str; 4] = [
    "control-tower-create-managed-account-failed.json",
    "organizations-create-account-result-failed.json",
    "account-region-opt-in-enabling.json",
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

/// The `run:` scripts of the workflow's steps.
fn workflow_scripts() -> Vec<String> {
    let text = std::fs::read_to_string(workflow()).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("the workflow is YAML");
    let Yaml::Hash(jobs) = &docs[0]["jobs"] else {
        panic!("the workflow has no jobs");
    };
    jobs.values()
        .flat_map(|job| job["steps"].as_vec().cloned().unwrap_or_default())
        .filter_map(|step| step["run"].as_str().map(str::to_string))
        .collect()
}

/// The `yaml` code blocks of a Markdown file.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    markdown
        .split("```yaml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block.to_string()))
        .collect()
}

/// Every `ssm-prefs` command of a shell script (continued lines joined; one that starts a
/// line, a YAML list item, or a pipeline's or `&&` list's part), as words without quotes,
/// `-p`'s file replaced by `prefs` and `$REGIONS` by a region.
fn commands(script: &str, prefs: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut found = vec![];
    for line in joined.lines() {
        let line = line.trim_start().trim_start_matches("- ");
        for part in line.split(['|', '&']) {
            let Some(rest) = part.trim_start().strip_prefix("ssm-prefs ") else {
                continue;
            };
            let mut words: Vec<String> = vec![];
            for w in rest.split_whitespace() {
                let w = w.trim_matches(['"', '\'']);
                let w = match (words.last().map(String::as_str), w) {
                    (Some("-p"), _) => prefs,
                    (_, "$REGIONS") => "us-east-1",
                    _ => w,
                };
                words.push(w.to_string());
            }
            found.push(words);
        }
    }
    found
}

#[test]
fn the_examples_command_lines_parse_through_the_real_binary() {
    let dir = Dir::new();
    // Absent on purpose: a command that gets as far as reading it has parsed every flag, and
    // stops there (exit 2) before any AWS call.
    let prefs = dir.path("absent-prefs.json");
    let prefs = prefs.to_str().unwrap();
    let mut found: Vec<Vec<String>> = workflow_scripts()
        .iter()
        .flat_map(|s| commands(s, prefs))
        .collect();
    let readme = std::fs::read_to_string(root().join("examples/eventbridge/README.md")).unwrap();
    found.extend(yaml_blocks(&readme).iter().flat_map(|b| commands(b, prefs)));
    let subcommands: Vec<&str> = found.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(
        subcommands,
        ["audit", "apply", "apply"],
        "the workflow's audit and apply, the buildspec's apply: {found:?}"
    );

    for args in &found {
        let mut args = args.clone();
        // Nothing leaves the machine, whatever the command would do next.
        args.extend(["--endpoint-url".into(), "http://127.0.0.1:9".into()]);
        // In the temp dir: the reports it names would land there.
        let out = ssm_prefs_command(&args)
            .current_dir(dir.0.path())
            .output()
            .unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(run.code, 2, "ssm-prefs {args:?}:\n{}", run.all());
        assert!(
            run.stderr.contains("absent-prefs.json"),
            "ssm-prefs {args:?} did not get as far as the preferences file:\n{}",
            run.all()
        );
        for flag in args.iter().filter(|a| a.starts_with("--")) {
            assert!(
                !run.stderr.contains(flag.as_str()),
                "ssm-prefs {args:?} complains about {flag}:\n{}",
                run.all()
            );
        }
    }
}

//! Lambda mode end to end: the real binary started as a function's `bootstrap` (no
//! arguments), served by a local Lambda Runtime API (tests/support/lambda_api.rs), against an
//! emulated organization, its preferences and reports in the emulator's S3.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::emulator::{Emulator, private_emulator};
use crate::support::fixtures::*;
use crate::support::lambda_api::{Answer, Function, LambdaApi};
use crate::support::org::{MANAGEMENT, Organization, organizations};
use crate::support::proxy::{Faults, Proxy, WRITES};

const PREFS_BUCKET: &str = "org-preferences";
const PREFS_KEY: &str = "session-manager/preferences.json";
const REPORTS_BUCKET: &str = "org-ssm-prefs-reports";
const FUNCTION_REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const ANSWER: Duration = Duration::from_secs(120);

/// Preferences that name no log destination, so that preflight (on, as the function runs it)
/// has nothing to find missing.
fn lambda_prefs() -> Value {
    json!({
        "schemaVersion": "1.0",
        "description": "Org-wide Session Manager preferences, enforced by the function",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": "",
            "cloudWatchLogGroupName": "",
            "runAsEnabled": false,
            "runAsDefaultUser": "",
            "idleSessionTimeout": "15"
        }
    })
}

/// An emulated organization of three members, with the function's buckets; the counting
/// proxy in front of it is the function's endpoint.
struct World {
    _emulator: Emulator,
    url: String,
    proxy: Proxy,
    org: Organization,
    /// The management account and the members.
    accounts: Vec<String>,
    s3: aws_sdk_s3::Client,
    dir: Dir,
}

impl World {
    async fn new() -> World {
        let emulator = private_emulator();
        let url = emulator.url.clone();
        let org = Organization::create(organizations(&url).await).await;
        let mut accounts = vec![MANAGEMENT.to_string()];
        for i in 0..3 {
            accounts.push(
                org.create_account(&format!("member-{i}"), &format!("member{i}@example.com"))
                    .await,
            );
        }
        let conf = base_config(&url, ACCESS_KEY, SECRET_KEY).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        for bucket in [PREFS_BUCKET, REPORTS_BUCKET] {
            s3.create_bucket().bucket(bucket).send().await.unwrap();
        }
        s3.put_object()
            .bucket(PREFS_BUCKET)
            .key(PREFS_KEY)
            .body(lambda_prefs().to_string().into_bytes().into())
            .send()
            .await
            .unwrap();
        World {
            proxy: Proxy::start(&url),
            _emulator: emulator,
            url,
            org,
            accounts,
            s3,
            dir: Dir::new(),
        }
    }

    /// The function's environment as the stack sets it, with `changes` (an empty value
    /// removes a variable).
    fn env(&self, changes: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = [
            (
                "SSM_PREFS_PREFERENCES",
                format!("s3://{PREFS_BUCKET}/{PREFS_KEY}"),
            ),
            (
                "SSM_PREFS_REPORTS",
                format!("s3://{REPORTS_BUCKET}/reports"),
            ),
            ("SSM_PREFS_REGIONS", FUNCTION_REGIONS.join(",")),
            ("SSM_PREFS_ENDPOINT_URL", self.proxy.url.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (k, v) in changes {
            if v.is_empty() {
                env.remove(*k);
            } else {
                env.insert(k.to_string(), v.to_string());
            }
        }
        env
    }

    /// The function's process, its output kept in `log` under the test's directory.
    fn start(&self, api: &LambdaApi, env: &BTreeMap<String, String>, log: &str) -> Function {
        Function::start(api, env, &self.dir.path(log))
    }

    /// A function with the stack's environment and `changes`, invoked once with `payload`
    /// (a deadline of `seconds`): its answer, and the function for its log.
    async fn invoke_once(
        &self,
        changes: &[(&str, &str)],
        payload: &str,
        seconds: u64,
        log: &str,
    ) -> (Answer, Function) {
        let api = LambdaApi::start().await;
        let function = self.start(&api, &self.env(changes), log);
        let id = api.invoke(payload, Duration::from_secs(seconds));
        (api.answer(&id, ANSWER).await, function)
    }

    /// An object of the preferences bucket.
    async fn put_prefs(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(PREFS_BUCKET)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    /// Every object in the reports bucket, by key.
    async fn reports(&self) -> BTreeMap<String, Vec<u8>> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(REPORTS_BUCKET)
            .send()
            .await
            .unwrap();
        let mut out = BTreeMap::new();
        for o in listed.contents.unwrap_or_default() {
            let key = o.key.unwrap();
            let body = self
                .s3
                .get_object()
                .bucket(REPORTS_BUCKET)
                .key(&key)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes()
                .to_vec();
            out.insert(key, body);
        }
        out
    }

    /// The rows of the invocation `id`'s report `name` (`apply.csv`), as stored.
    async fn stored_rows(
        &self,
        id: &str,
        name: &str,
    ) -> BTreeMap<(String, String), BTreeMap<String, String>> {
        let stored = self.reports().await;
        let (key, csv) = stored
            .iter()
            .find(|(k, _)| k.ends_with(&format!("{id}/{name}")))
            .unwrap_or_else(|| panic!("no {name} of {id} in {:?}", stored.keys()));
        let path = self.dir.path(&key.replace('/', "_"));
        std::fs::write(&path, csv).unwrap();
        rows_by_target(&path)
    }

    /// The object an `s3://REPORTS_BUCKET/KEY` URI names, saved to a file.
    async fn fetch(&self, uri: &Value) -> PathBuf {
        let uri = uri
            .as_str()
            .unwrap_or_else(|| panic!("not an S3 URI: {uri}"));
        let key = uri
            .strip_prefix(&format!("s3://{REPORTS_BUCKET}/"))
            .unwrap_or_else(|| panic!("{uri} is not in the reports bucket"));
        let body = self.reports().await.remove(key).expect("the object exists");
        let path = self.dir.path(&key.replace('/', "_"));
        std::fs::write(&path, body).unwrap();
        path
    }

    /// The SSM writes the proxy saw.
    fn writes(&self) -> usize {
        self.proxy
            .seen()
            .iter()
            .filter(|s| WRITES.contains(&s.operation.as_str()))
            .count()
    }

    /// The report's rows against the world: each target's default version holds the
    /// preferences, as its row says.
    async fn assert_converged(&self, report: &std::path::Path, accounts: &[String]) {
        let rows = rows_by_target(report);
        let world = read_all(&self.url, accounts, &FUNCTION_REGIONS, DOC).await;
        assert_eq!(rows.len(), world.len(), "{rows:?}");
        for ((id, region), found) in world {
            let (version, content) =
                found.unwrap_or_else(|| panic!("{id}/{region} has no document"));
            assert_eq!(
                serde_json::from_str::<Value>(&content).unwrap(),
                lambda_prefs()
            );
            let row = &rows[&(id.clone(), region.clone())];
            assert_eq!(row["document_version"], version, "{row:?}");
            assert_eq!(row["content_sha256"], sha256_hex(content.as_bytes()));
        }
    }
}

fn scheduled_event() -> String {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": MANAGEMENT,
        "time": "2026-12-05T06:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/ssm-prefs-daily"],
        "detail": {}
    })
    .to_string()
}

fn create_account_result(account: &str, state: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/organizations-create-account-result.json");
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(path)
            .unwrap()
            .replace("111122223333", account),
    )
    .unwrap();
    event["detail"]["serviceEventDetails"]["createAccountStatus"]["state"] = json!(state);
    event.to_string()
}

fn count(summary: &Value, status: &str) -> u64 {
    summary["counts"][status].as_u64().unwrap_or(0)
}

/// The run had `n` targets, each created.
fn created_each(summary: &Value, n: u64, log: &str) {
    assert_eq!(
        (summary["total_targets"].as_u64(), count(summary, "created")),
        (Some(n), n),
        "{summary}\n{log}"
    );
}

/// The log's CloudWatch embedded-metric lines, each checked as CloudWatch reads one: a JSON
/// object alone on its line whose `_aws.CloudWatchMetrics` names, in namespace ssm-prefs, the
/// function's dimensions and metrics that the object holds as a string and numbers.
fn metric_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| l.starts_with("{\"_aws\""))
        .map(|l| {
            let doc: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            assert!(doc["_aws"]["Timestamp"].is_u64(), "{l}");
            for d in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
                assert_eq!(d["Namespace"], "ssm-prefs");
                for set in d["Dimensions"].as_array().unwrap() {
                    for key in set.as_array().unwrap() {
                        assert!(doc[key.as_str().unwrap()].is_string(), "{key} in {l}");
                    }
                }
                for m in d["Metrics"].as_array().unwrap() {
                    assert!(doc[m["Name"].as_str().unwrap()].is_number(), "{m} in {l}");
                }
            }
            assert_eq!(doc["FunctionName"], "ssm-prefs", "{l}");
            doc
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_event_fixes_a_tampered_and_a_missing_target_and_stores_its_reports() {
    let world = World::new().await;
    let api = LambdaApi::start().await;
    let function = world.start(&api, &world.env(&[]), "function.log");

    // The first day: the whole organization (management account too) in both regions.
    let first = api.invoke(&scheduled_event(), Duration::from_secs(900));
    let answer = api.answer(&first, ANSWER).await;
    let summary = answer.response();
    assert_eq!(summary["command"], "apply", "{summary}");
    assert_eq!(summary["total_targets"], 8, "{summary}");
    assert_eq!(count(summary, "created"), 8, "{summary}");
    // The organization's accounts ran as the walk found them.
    assert_eq!(summary["organization"]["streamed"], true, "{summary}");
    let report = world.fetch(&summary["reports"]["csv"]).await;
    world.assert_converged(&report, &world.accounts).await;

    // Behind the tool's back: one target's preferences changed, another's deleted.
    let (tampered, missing) = (&world.accounts[1], &world.accounts[2]);
    let mut loose = lambda_prefs();
    loose["inputs"]["idleSessionTimeout"] = json!("60");
    add_version(&world.url, tampered, "us-east-1", &loose.to_string(), true).await;
    delete_doc(&world.url, missing, "eu-west-1").await;

    let second = api.invoke(&scheduled_event(), Duration::from_secs(900));
    let summary = api.answer(&second, ANSWER).await.response().clone();
    assert_eq!(
        (
            count(&summary, "updated"),
            count(&summary, "created"),
            count(&summary, "unchanged")
        ),
        (1, 1, 6),
        "{summary}"
    );
    assert_eq!(summary["exit_code"], 0);
    let report = world.fetch(&summary["reports"]["csv"]).await;
    world.assert_converged(&report, &world.accounts).await;
    let rows = rows_by_target(&report);
    assert_eq!(
        rows[&(tampered.clone(), "us-east-1".into())]["status"],
        "updated"
    );
    assert_eq!(
        rows[&(missing.clone(), "eu-west-1".into())]["status"],
        "created"
    );

    // Each invocation's reports under its own key, the summary naming them by S3 URI.
    let stored = world.reports().await;
    let keys: BTreeSet<&str> = stored.keys().map(String::as_str).collect();
    for id in [&first, &second] {
        for name in ["apply.csv", "apply.html", "apply.summary.json"] {
            assert!(
                keys.iter()
                    .any(|k| k.starts_with("reports/") && k.ends_with(&format!("{id}/{name}"))),
                "{name} of {id} not in {keys:?}"
            );
        }
    }
    let stored_summary: Value = serde_json::from_slice(
        &stored[summary["reports"]["summary_json"]
            .as_str()
            .unwrap()
            .trim_start_matches(&format!("s3://{REPORTS_BUCKET}/"))],
    )
    .unwrap();
    assert_eq!(stored_summary["report"], summary["reports"]["csv"]);
    let html = String::from_utf8(
        stored[summary["reports"]["html"]
            .as_str()
            .unwrap()
            .trim_start_matches(&format!("s3://{REPORTS_BUCKET}/"))]
        .clone(),
    )
    .unwrap();
    assert!(
        html.contains("AWS Lambda request"),
        "the page names the invocation"
    );
    let log = function.log();
    assert!(log.contains("apply: 8 targets"), "{log}");
    // The reports named where they are read, never by the invocation's temporary files.
    assert!(
        log.contains(&format!("report: s3://{REPORTS_BUCKET}/reports/")),
        "{log}"
    );
    assert!(!log.contains("/tmp/"), "{log}");
    assert_eq!(
        summary["report"], summary["reports"]["csv"],
        "the summary names the CSV by its S3 URI"
    );
    // One metric line per run, each counting that run's targets.
    let metrics = metric_lines(&log);
    assert_eq!(metrics.len(), 2, "{log}");
    assert_eq!(
        (
            &metrics[1]["Targets"],
            &metrics[1]["Targets.updated"],
            &metrics[1]["FailedTargets"]
        ),
        (&json!(8), &json!(1), &json!(0))
    );
    assert!(
        !log.contains('\u{1b}'),
        "plain lines, no colour or bars: {log}"
    );
    assert!(!log.contains(SECRET_KEY) && !log.contains(SESSION_TOKEN));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_event_applies_to_exactly_that_account_and_a_failed_one_is_nothing_to_do() {
    let world = World::new().await;
    let api = LambdaApi::start().await;
    let function = world.start(&api, &world.env(&[]), "function.log");
    let new = world.accounts[2].clone();

    let id = api.invoke(
        &create_account_result(&new, "SUCCEEDED"),
        Duration::from_secs(900),
    );
    let summary = api.answer(&id, ANSWER).await.response().clone();
    assert_eq!(summary["total_targets"], 2, "{summary}");
    assert_eq!(count(&summary, "created"), 2, "{summary}");
    let report = world.fetch(&summary["reports"]["csv"]).await;
    world
        .assert_converged(&report, std::slice::from_ref(&new))
        .await;
    for other in world.accounts.iter().filter(|a| **a != new) {
        for r in FUNCTION_REGIONS {
            assert_eq!(
                default_doc(&ssm_in(&world.url, other, r).await, DOC).await,
                None,
                "{other}/{r} was not named by the event"
            );
        }
    }

    // A creation that failed names no account to set up: a success that does nothing.
    let writes = world.writes();
    let before = world.reports().await.len();
    let id = api.invoke(
        &create_account_result(&new, "FAILED"),
        Duration::from_secs(900),
    );
    let summary = api.answer(&id, ANSWER).await.response().clone();
    assert_eq!(summary["total_targets"], 0, "{summary}");
    assert!(
        summary["why"].as_str().unwrap().contains("nothing to do"),
        "{summary}"
    );
    assert_eq!(world.writes(), writes);
    assert_eq!(world.reports().await.len(), before);
    assert!(
        function.log().contains("nothing to do"),
        "{}",
        function.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_payload_is_an_error_naming_it_and_nothing_is_written() {
    let world = World::new().await;
    let api = LambdaApi::start().await;
    let function = world.start(&api, &world.env(&[]), "function.log");
    let ec2 = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/events/ec2-instance-state-change.json"),
    )
    .unwrap();
    for (payload, says) in [
        (
            ec2.as_str(),
            "aws.ec2 event, \"EC2 Instance State-change Notification\"",
        ),
        (r#"{"hello": "world"}"#, "an object that is not an event"),
        ("[1, 2]", "Scheduled Event"),
        ("not JSON at all", "the payload is not JSON (15 bytes"),
        ("", "the payload is empty"),
        ("  \n", "the payload is empty"),
    ] {
        let id = api.invoke(payload, Duration::from_secs(900));
        let answer = api.answer(&id, ANSWER).await;
        let (kind, message) = answer.error();
        assert_eq!(kind, "UnknownPayload", "{payload:?}: {message}");
        assert!(message.contains(says), "{payload:?}: {message}");
        assert!(
            function.log().contains(&format!("error: {message}")),
            "each is a line of the log: {}",
            function.log()
        );
    }
    assert_eq!(world.writes(), 0);
    assert!(world.reports().await.is_empty());
    let log = function.log();
    assert!(log.contains("which this function does not take"), "{log}");
    assert!(
        !log.contains("not JSON at all"),
        "the payload is not echoed: {log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_setting_fails_every_invocation_with_its_line_and_calls_nothing() {
    let world = World::new().await;
    let api = LambdaApi::start().await;
    let bad = world.start(&api, &world.env(&[("SSM_PREFS_MODE", "fix")]), "bad.log");
    for _ in 0..2 {
        let id = api.invoke(&scheduled_event(), Duration::from_secs(900));
        let answer = api.answer(&id, ANSWER).await;
        let (kind, message) = answer.error();
        assert_eq!(kind, "BadSetting");
        assert!(
            message.starts_with("SSM_PREFS_MODE=fix: not a mode"),
            "{message}"
        );
    }
    assert!(bad.log().contains("SSM_PREFS_MODE=fix"), "{}", bad.log());
    drop(bad);
    assert!(world.proxy.seen().is_empty(), "{:?}", world.proxy.counts());

    // Settings that are good, with inputs that are not: each one line, nothing written.
    for (changes, kind, says) in [
        (
            vec![("SSM_PREFS_REPORTS", "s3://no-such-reports-bucket/reports")],
            "ReportsBucket",
            "the reports bucket no-such-reports-bucket cannot be used",
        ),
        (
            vec![("SSM_PREFS_PREFERENCES", "s3://org-preferences/missing.json")],
            "BadInput",
            "cannot read the preferences object",
        ),
    ] {
        let (answer, _function) = world
            .invoke_once(&changes, &scheduled_event(), 900, "inputs.log")
            .await;
        let (got, message) = answer.error();
        assert_eq!(got, kind, "{message}");
        assert!(message.contains(says), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }
    // Not JSON: the preferences object is checked as a file is.
    world
        .put_prefs("broken.json", b"{\"schemaVersion\": \"1.0\",".to_vec())
        .await;
    let (answer, _function) = world
        .invoke_once(
            &[("SSM_PREFS_PREFERENCES", "s3://org-preferences/broken.json")],
            &scheduled_event(),
            900,
            "broken.log",
        )
        .await;
    let (got, message) = answer.error();
    assert_eq!(got, "BadInput", "{message}");
    assert!(message.contains("invalid JSON"), "{message}");
    assert_eq!(world.writes(), 0);
    let stored = world.reports().await;
    assert!(stored.is_empty(), "{:?}", stored.keys());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deadline_reached_mid_run_writes_every_row_and_is_an_error() {
    let world = World::new().await;
    // Each write takes two seconds, one target at a time: 8 targets cannot finish in 10 s.
    world.proxy.set_faults(Faults {
        slow: Some((vec!["CreateDocument".into()], Duration::from_secs(2))),
        ..Faults::default()
    });
    let api = LambdaApi::start().await;
    let function = world.start(
        &api,
        &world.env(&[("SSM_PREFS_CONCURRENCY", "1")]),
        "function.log",
    );
    let id = api.invoke(&scheduled_event(), Duration::from_secs(10));
    let answer = api.answer(&id, Duration::from_secs(30)).await;
    let (kind, message) = answer.error();
    assert_eq!(kind, "TargetsFailed", "{message}");
    assert!(message.contains("deadline"), "{message}");
    // The report was stored first, with a row for every target.
    let rows = world.stored_rows(&id, "apply.csv").await;
    assert_eq!(rows.len(), 8, "{rows:?}");
    let created: Vec<_> = rows.values().filter(|r| r["status"] == "created").collect();
    let stopped: Vec<_> = rows
        .values()
        .filter(|r| r["error_code"] == "Interrupted")
        .collect();
    assert!(
        !created.is_empty() && !stopped.is_empty(),
        "{rows:?}\n{}",
        function.log()
    );
    assert_eq!(created.len() + stopped.len(), 8, "{rows:?}");
    for row in &created {
        let found = default_doc(
            &ssm_in(&world.url, &row["account_id"], &row["region"]).await,
            DOC,
        )
        .await;
        assert!(found.is_some(), "{row:?}");
    }
    assert!(
        function.log().contains("the deadline is near"),
        "{}",
        function.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_mode_narrowed_to_an_ou_presents_the_secrets_external_id_and_sends_findings() {
    let world = World::new().await;
    let ou = world.org.create_ou("Production", None).await;
    let member = world.accounts[1].clone();
    world.org.move_to(&member, &ou).await;
    let external_id = "ssm-prefs-external-id-7f3a9c";
    let conf = base_config(&world.url, ACCESS_KEY, SECRET_KEY).await;
    let secret = aws_sdk_secretsmanager::Client::new(&conf)
        .create_secret()
        .name("ssm-prefs/external-id")
        .secret_string(external_id)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let api = LambdaApi::start().await;
    let function = world.start(
        &api,
        &world.env(&[
            ("SSM_PREFS_MODE", "audit"),
            ("SSM_PREFS_OU", &ou),
            ("SSM_PREFS_SECURITY_HUB", "true"),
            ("SSM_PREFS_EXTERNAL_ID_SECRET", &secret),
        ]),
        "function.log",
    );
    let id = api.invoke(&scheduled_event(), Duration::from_secs(900));
    // The OU's one account holds nothing yet: not compliant, which a retry would not change,
    // so the invocation succeeds (no retries, no dead letter): its metric line says so, for
    // the stack's NotCompliantTargets alarm.
    let answer = api.answer(&id, ANSWER).await;
    let summary = answer.response().clone();
    assert_eq!(summary["command"], "audit", "{summary}");
    assert_eq!(count(&summary, "missing"), 2, "{summary}");
    assert_eq!(
        (&summary["not_compliant"], &summary["failed"]),
        (&json!(2), &json!(0)),
        "{summary}"
    );
    let metrics = metric_lines(&function.log());
    assert_eq!(metrics.len(), 1, "{}", function.log());
    assert_eq!(metrics[0]["NotCompliantTargets"], 2);
    assert_eq!(metrics[0]["FailedTargets"], 0);
    assert_eq!(metrics[0]["Command"], "audit");
    let message = summary.to_string();
    let rows = world.stored_rows(&id, "audit.csv").await;
    let stored = world.reports().await;
    let targets: BTreeSet<(String, String)> = rows.keys().cloned().collect();
    let expected: BTreeSet<(String, String)> = FUNCTION_REGIONS
        .iter()
        .map(|r| (member.clone(), r.to_string()))
        .collect();
    assert_eq!(targets, expected, "only the OU's account");
    assert_eq!(world.writes(), 0, "audit mode never writes");
    assert_eq!(world.proxy.count("BatchImportFindings"), 2);
    // The member's role was assumed with the secret's external id, which appears nowhere.
    let assumed: Vec<_> = world
        .proxy
        .seen()
        .into_iter()
        .filter(|s| s.operation == "AssumeRole")
        .collect();
    assert!(!assumed.is_empty());
    for s in &assumed {
        assert_eq!(
            s.params.get("ExternalId").map(String::as_str),
            Some(external_id)
        );
    }
    for (key, body) in &stored {
        assert!(
            !String::from_utf8_lossy(body).contains(external_id),
            "{key} holds the external id"
        );
    }
    let log = function.log();
    assert!(!log.contains(external_id), "{log}");
    assert!(!message.contains(external_id));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_account_still_not_ready_at_the_deadline_is_an_error_with_its_rows_stored() {
    let world = World::new().await;
    let new = world.accounts[3].clone();
    // Its role never appears (the StackSet has not reached it).
    world.proxy.deny_assume_role(&new);
    let api = LambdaApi::start().await;
    let function = world.start(&api, &world.env(&[]), "function.log");
    let id = api.invoke(
        &create_account_result(&new, "SUCCEEDED"),
        Duration::from_secs(10),
    );
    let answer = api.answer(&id, Duration::from_secs(30)).await;
    let (kind, message) = answer.error();
    assert_eq!(kind, "TargetsFailed", "{message}\n{}", function.log());
    let rows = world.stored_rows(&id, "apply.csv").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.values()
            .all(|r| r["account_id"] == new && r["status"] == "failed"),
        "{rows:?}"
    );
    assert_eq!(world.writes(), 0);
    assert!(
        function.log().contains("not assumable yet"),
        "it waited: {}",
        function.log()
    );
}

/// A region opt-in event for `account`, as Account Management sends it (`region` and
/// `account` of the envelope as given).
fn region_opt_in(account: &str, region: &str, envelope_account: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/account-region-opt-in-enabled.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["account"] = json!(envelope_account);
    event["resources"] = json!([format!("arn:aws:account::{account}:account")]);
    event["detail"]["accountId"] = json!(account);
    event["detail"]["regionName"] = json!(region);
    event.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_external_id_starting_with_a_hyphen_is_presented_and_never_shown() {
    let world = World::new().await;
    let conf = base_config(&world.url, ACCESS_KEY, SECRET_KEY).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&conf);
    for (n, external_id) in ["--Zsecret-dd-77", "-Zsecret-hyphen-77"].iter().enumerate() {
        let secret = secrets
            .create_secret()
            .name(format!("ssm-prefs/external-id-{n}"))
            .secret_string(*external_id)
            .send()
            .await
            .unwrap()
            .arn
            .unwrap();
        let api = LambdaApi::start().await;
        let function = world.start(
            &api,
            &world.env(&[("SSM_PREFS_EXTERNAL_ID_SECRET", &secret)]),
            &format!("function-{n}.log"),
        );
        let id = api.invoke(&scheduled_event(), Duration::from_secs(900));
        let answer = api.answer(&id, ANSWER).await;
        let summary = answer.response().clone();
        assert_eq!(summary["exit_code"], 0, "{summary}\n{}", function.log());
        let report = world.fetch(&summary["reports"]["csv"]).await;
        world.assert_converged(&report, &world.accounts).await;
        // Every member's role was assumed with the id as the secret holds it.
        let assumed = world.proxy.seen_of("AssumeRole");
        assert!(!assumed.is_empty());
        assert!(
            assumed
                .iter()
                .rev()
                .take(3)
                .all(|s| s.params.get("ExternalId").map(String::as_str) == Some(*external_id)),
            "{assumed:?}"
        );
        let log = function.log();
        assert!(!log.contains(external_id), "{log}");
        assert!(!summary.to_string().contains(external_id));
        for (key, body) in world.reports().await {
            assert!(
                !String::from_utf8_lossy(&body).contains(external_id),
                "{key} holds the external id"
            );
        }
    }
    // The command line takes one too, as a flag's value.
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &lambda_prefs().to_string());
    let inv = dir.write("inv.yml", &inventory(&world.accounts[1..2], &["us-east-1"]));
    let report = dir.path("plan.csv");
    let external_id = ["--external-id", "--Zsecret-dd-77"];
    let run = run_at("plan", &world.url, &inv, &prefs, &report, &external_id);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("Zsecret"), "{}", run.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_region_opted_in_by_the_function_s_own_account_is_written_with_its_own_credentials() {
    let world = World::new().await;
    // No member role in the management account: a StackSet never deploys one there.
    world.proxy.deny_assume_role(MANAGEMENT);
    let api = LambdaApi::start().await;
    let function = world.start(&api, &world.env(&[]), "function.log");
    let id = api.invoke(
        &region_opt_in(MANAGEMENT, "eu-west-1", MANAGEMENT),
        Duration::from_secs(60),
    );
    let summary = api.answer(&id, ANSWER).await.response().clone();
    created_each(&summary, 1, &function.log());
    assert_eq!(
        world.proxy.count("AssumeRole"),
        0,
        "{:?}",
        world.proxy.seen_of("AssumeRole")
    );
    let found = default_doc(&ssm_in(&world.url, MANAGEMENT, "eu-west-1").await, DOC).await;
    assert!(
        found.is_some(),
        "the management account's eu-west-1 holds the document"
    );
    assert!(
        function
            .log()
            .contains("(the caller's) with the base credentials"),
        "{}",
        function.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn regions_hold_for_an_opted_in_region_without_an_ou() {
    let world = World::new().await;
    let api = LambdaApi::start().await;
    let function = world.start(&api, &world.env(&[]), "function.log");
    let member = world.accounts[1].clone();
    // Outside Regions (us-east-1, eu-west-1): nothing to do, nothing stored, no call to SSM.
    let id = api.invoke(
        &region_opt_in(&member, "eu-central-1", &member),
        Duration::from_secs(60),
    );
    let summary = api.answer(&id, ANSWER).await.response().clone();
    assert_eq!(summary["total_targets"], 0, "{summary}");
    assert!(
        summary["why"].as_str().unwrap().contains("nothing to do"),
        "{summary}"
    );
    assert_eq!(world.writes(), 0);
    assert!(world.reports().await.is_empty());
    assert_eq!(
        default_doc(&ssm_in(&world.url, &member, "eu-central-1").await, DOC).await,
        None
    );
    // Inside: exactly that target.
    let id = api.invoke(
        &region_opt_in(&member, "eu-west-1", &member),
        Duration::from_secs(60),
    );
    let summary = api.answer(&id, ANSWER).await.response().clone();
    created_each(&summary, 1, &function.log());
    let rows = world.stored_rows(&id, "apply.csv").await;
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        [(member.clone(), "eu-west-1".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_that_cannot_be_read_is_an_error_naming_why_with_its_summary_stored() {
    let world = World::new().await;
    world.proxy.set_faults(Faults {
        deny_base: vec!["ListAccountsForParent".to_string()],
        ..Faults::default()
    });
    let (answer, _function) = world
        .invoke_once(&[], &scheduled_event(), 60, "function.log")
        .await;
    let (kind, message) = answer.error();
    assert_eq!(kind, "OrganizationUnreadable", "{message}");
    assert!(
        message.contains("cannot read the organization: AccessDenied"),
        "{message}"
    );
    assert!(!message.contains("nothing to do"), "{message}");
    assert_eq!(world.writes(), 0);
    let stored = world.reports().await;
    let (key, body) = stored
        .iter()
        .find(|(k, _)| k.ends_with("/apply.summary.json"))
        .unwrap_or_else(|| panic!("no summary stored: {:?}", stored.keys()));
    let summary: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(summary["exit_code"], 1, "{key}: {summary}");
    assert!(
        summary["why"]
            .as_str()
            .unwrap()
            .starts_with("cannot read the organization: AccessDenied"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_found_at_start_or_first_use_are_bad_settings_naming_their_variable() {
    let world = World::new().await;
    for (changes, says) in [
        (
            vec![("SSM_PREFS_ROLE_NAME", "bad role!")],
            "SSM_PREFS_ROLE_NAME=bad role!: ",
        ),
        (
            vec![("SSM_PREFS_OU", "ou-zzzz-zzzzzzzz")],
            "SSM_PREFS_OU=ou-zzzz-zzzzzzzz: no OU ou-zzzz-zzzzzzzz in the organization",
        ),
    ] {
        let (answer, function) = world
            .invoke_once(&changes, &scheduled_event(), 60, "function.log")
            .await;
        let (kind, message) = answer.error();
        assert_eq!(kind, "BadSetting", "{message}\n{}", function.log());
        assert!(message.starts_with(says), "{message}");
    }
    assert_eq!(world.writes(), 0);

    // A placeholder no account can fill: the hint names the stack's Vars and the tag.
    let prefs = json!({"schemaVersion": "1.0", "sessionType": "Standard_Stream",
                       "inputs": {"s3BucketName": "{log_bucket}"}});
    world
        .put_prefs("bucket.json", prefs.to_string().into_bytes())
        .await;
    let (answer, _function) = world
        .invoke_once(
            &[("SSM_PREFS_PREFERENCES", "s3://org-preferences/bucket.json")],
            &scheduled_event(),
            60,
            "vars.log",
        )
        .await;
    let (kind, message) = answer.error();
    assert_eq!(kind, "BadInput", "{message}");
    assert!(
        message.contains("tag the account ssm-prefs:log_bucket")
            && message.contains("the stack's Vars parameter (SSM_PREFS_VARS)")
            && !message.contains("--var"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn excluded_accounts_are_never_read_nor_written() {
    let world = World::new().await;
    // In a delegated administrator, the management account has no member role.
    world.proxy.deny_assume_role(MANAGEMENT);
    let left_out = world.accounts[2].clone();
    let api = LambdaApi::start().await;
    let function = world.start(
        &api,
        &world.env(&[(
            "SSM_PREFS_NOT_ACCOUNTS",
            &format!("{MANAGEMENT},{left_out}"),
        )]),
        "function.log",
    );
    let id = api.invoke(&scheduled_event(), Duration::from_secs(900));
    let summary = api.answer(&id, ANSWER).await.response().clone();
    assert_eq!(summary["exit_code"], 0, "{summary}\n{}", function.log());
    assert_eq!(summary["total_targets"], 4, "{summary}");
    let kept: Vec<String> = world
        .accounts
        .iter()
        .filter(|a| *a != MANAGEMENT && **a != left_out)
        .cloned()
        .collect();
    let report = world.fetch(&summary["reports"]["csv"]).await;
    world.assert_converged(&report, &kept).await;
    for account in [MANAGEMENT, left_out.as_str()] {
        for r in FUNCTION_REGIONS {
            assert_eq!(
                default_doc(&ssm_in(&world.url, account, r).await, DOC).await,
                None,
                "{account}/{r} was left out"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_control_tower_event_forwarded_from_its_home_region_is_applied() {
    let world = World::new().await;
    let new = world.accounts[3].clone();
    // As event-forwarder.yaml delivers it to the function account's bus: the event unchanged,
    // its `account` the management account's and its `region` Control Tower's home region.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/control-tower-create-managed-account.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["account"] = json!(MANAGEMENT);
    event["region"] = json!("eu-west-1");
    event["detail"]["awsRegion"] = json!("eu-west-1");
    event["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["account"]["accountId"] =
        json!(new);
    let event = event.to_string();
    // It matches the stack's account rule, by EventBridge's matching rules (moto's).
    let stack: Value = serde_json::from_str(&crate::deploy::stack_pattern()).unwrap();
    assert!(
        crate::deploy::pattern_matches(&stack, &event),
        "the stack's rule takes the forwarded event"
    );
    let api = LambdaApi::start().await;
    let function = world.start(&api, &world.env(&[]), "function.log");
    let id = api.invoke(&event, Duration::from_secs(900));
    let summary = api.answer(&id, ANSWER).await.response().clone();
    assert_eq!(
        count(&summary, "created"),
        2,
        "{summary}\n{}",
        function.log()
    );
    let report = world.fetch(&summary["reports"]["csv"]).await;
    world
        .assert_converged(&report, std::slice::from_ref(&new))
        .await;
}

/// Preferences with a placeholder a tag fills: the daily run keeps the organization's tags in
/// the reports bucket, and an Organizations `TagResource` event applies its account again with
/// the tag read now, and updates what is kept.
#[tokio::test(flavor = "multi_thread")]
async fn the_tags_are_kept_beside_the_reports_and_a_tag_event_applies_its_account() {
    let world = World::new().await;
    let mut prefs = lambda_prefs();
    prefs["description"] = json!("Session Manager preferences of team {team}");
    world
        .put_prefs(PREFS_KEY, prefs.to_string().into_bytes())
        .await;
    let member = world.accounts[1].clone();
    world.org.tag(&member, "ssm-prefs:team", "payments").await;
    let api = LambdaApi::start().await;
    let function = world.start(
        &api,
        &world.env(&[("SSM_PREFS_VARS", "team=platform")]),
        "function.log",
    );
    let kept = || async {
        let stored = world.reports().await;
        let body = stored
            .get("reports/organization-tags.json")
            .unwrap_or_else(|| panic!("no tags kept: {:?}", stored.keys()));
        serde_json::from_slice::<Value>(body).unwrap()
    };
    async fn description(url: &str, account: &str) -> Value {
        let (_, content) = default_doc(&ssm_in(url, account, "us-east-1").await, DOC)
            .await
            .expect("written");
        serde_json::from_str::<Value>(&content).unwrap()["description"].clone()
    }

    // The daily run: every account's tags read and kept, the member's tag in its document.
    let id = api.invoke(&scheduled_event(), Duration::from_secs(900));
    let summary = api.answer(&id, ANSWER).await.response().clone();
    assert_eq!(
        count(&summary, "created"),
        8,
        "{summary}\n{}",
        function.log()
    );
    assert_eq!(world.proxy.count("ListTagsForResource"), 4);
    let tags = kept().await;
    assert_eq!(tags["accounts"].as_object().unwrap().len(), 4, "{tags}");
    assert_eq!(
        tags["accounts"][&member]["tags"],
        json!([["ssm-prefs:team", "payments"]])
    );
    assert_eq!(
        description(&world.url, &member).await,
        "Session Manager preferences of team payments"
    );
    assert_eq!(
        description(&world.url, &world.accounts[2]).await,
        "Session Manager preferences of team platform"
    );

    // The tag changed: its event applies that account alone, with the tag read now.
    world.org.tag(&member, "ssm-prefs:team", "ops").await;
    world.proxy.clear();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events/organizations-tag-resource.json");
    let event = std::fs::read_to_string(path)
        .unwrap()
        .replace("111122223333", &member);
    let id = api.invoke(&event, Duration::from_secs(900));
    let summary = api.answer(&id, ANSWER).await.response().clone();
    assert_eq!(summary["total_targets"], 2, "{summary}");
    assert_eq!(count(&summary, "updated"), 2, "{summary}");
    assert_eq!(world.proxy.count("ListTagsForResource"), 1);
    assert_eq!(
        description(&world.url, &member).await,
        "Session Manager preferences of team ops"
    );
    let tags = kept().await;
    assert_eq!(
        tags["accounts"][&member]["tags"],
        json!([["ssm-prefs:team", "ops"]])
    );
    assert_eq!(tags["accounts"].as_object().unwrap().len(), 4, "{tags}");
}

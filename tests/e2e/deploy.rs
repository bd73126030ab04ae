//! The deployment's files: deploy/cloudformation/*.yaml (cfn-lint, checkov, the emulator's CloudFormation, held to rule.json and docs/iam/), release.yml and package.sh.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::emulator::emulator;
use crate::support::fixtures::Dir;
use crate::support::lambda_api::{Function, LambdaApi};

const FIX: &str = "run `bash scripts/test.sh` once: scripts/emulator-env.sh installs it in .venv/";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stack_template() -> PathBuf {
    root().join("deploy/cloudformation/ssm-prefs.yaml")
}

fn member_template() -> PathBuf {
    root().join("deploy/cloudformation/member-role.yaml")
}

fn forwarder_template() -> PathBuf {
    root().join("deploy/cloudformation/event-forwarder.yaml")
}

/// The stack's account rule's pattern, as JSON text.
pub(crate) fn stack_pattern() -> String {
    template(&stack_template())["Resources"]["AccountEventRule"]["Properties"]["EventPattern"]
        .to_string()
}

/// Whether EventBridge would match `event` to `pattern`: moto's implementation of its
/// matching rules (`TestEventPattern` is not served by moto's server).
pub(crate) fn pattern_matches(pattern: &Value, event: &str) -> bool {
    let python = root().join(".venv/bin/python");
    let out = Command::new(&python)
        .args([
            "-c",
            "import json, sys\nfrom moto.events.models import EventPattern\nprint(json.dumps(EventPattern.load(sys.argv[1]).matches_event(json.loads(sys.argv[2]))))",
            &pattern.to_string(),
            event,
        ])
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}: {FIX}", python.display()));
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("true or false")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A tool of .venv/bin, run on the arguments.
fn venv_tool(name: &str, args: &[&Path]) -> Output {
    let tool = root().join(".venv/bin").join(name);
    assert!(
        tool.exists(),
        "{name} is missing ({}): {FIX}",
        tool.display()
    );
    Command::new(&tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}: {FIX}", tool.display()))
}

#[test]
fn the_templates_pass_cfn_lint_and_a_broken_copy_does_not() {
    let ok = venv_tool(
        "cfn-lint",
        &[&stack_template(), &member_template(), &forwarder_template()],
    );
    // No error and no warning: cfn-lint prints nothing and exits 0 (warnings alone exit 4).
    assert!(
        ok.status.success() && text(&ok).trim().is_empty(),
        "cfn-lint finds something ({:?}):\n{}",
        ok.status,
        text(&ok)
    );

    // The linter lints: the function's timeout past Lambda's 900 s is an error.
    let original = std::fs::read_to_string(stack_template()).unwrap();
    assert_eq!(
        original.matches("Timeout: 900").count(),
        1,
        "no Timeout: 900"
    );
    let dir = Dir::new();
    let broken = dir.write(
        "ssm-prefs.yaml",
        &original.replace("Timeout: 900", "Timeout: 901"),
    );
    let bad = venv_tool("cfn-lint", &[&broken]);
    assert!(
        !bad.status.success() && text(&bad).contains("E3717") && text(&bad).contains("901"),
        "cfn-lint accepts a 901 s timeout ({:?}):\n{}",
        bad.status,
        text(&bad)
    );
}

/// checkov, as security teams run it on what they deploy: every check passes or is skipped in
/// the template with a reason; a copy without one of those skips fails.
#[test]
fn the_templates_pass_checkov_with_each_skip_explained() {
    let checkov = root().join(".venv/checkov/bin/checkov");
    assert!(
        checkov.exists(),
        "checkov is missing ({}): {FIX}",
        checkov.display()
    );
    let scan = |dir: &Path| {
        let out = Command::new(&checkov)
            .args(["--directory"])
            .arg(dir)
            .args([
                "--framework",
                "cloudformation",
                "--compact",
                "--skip-download",
                "--output",
                "json",
            ])
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}: {FIX}", checkov.display()));
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("checkov's JSON: {e}:\n{}", text(&out)));
        (out.status.success(), report)
    };
    let (ok, report) = scan(&root().join("deploy/cloudformation"));
    let summary = &report["summary"];
    assert!(
        ok && summary["failed"] == 0 && summary["parsing_errors"] == 0,
        "checkov fails: {report:#}"
    );
    assert!(summary["passed"].as_u64().unwrap() > 30, "{summary}");
    let skipped = report["results"]["skipped_checks"].as_array().unwrap();
    assert!(!skipped.is_empty());
    for check in skipped {
        let why = check["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or("");
        assert!(why.len() > 40, "a skip without a reason: {check:#}");
    }

    // The scan scans: without its skip, the function outside a VPC is a failed check.
    let dir = Dir::new();
    let original = std::fs::read_to_string(stack_template()).unwrap();
    let unexplained = original.replace("- id: CKV_AWS_117", "- id: CKV_AWS_000");
    assert_ne!(original, unexplained);
    dir.write("ssm-prefs.yaml", &unexplained);
    let (ok, report) = scan(&dir.path(""));
    let failed: Vec<&str> = report["results"]["failed_checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["check_id"].as_str())
        .collect();
    assert!(!ok && failed == ["CKV_AWS_117"], "{failed:?}");
}

/// A template as JSON (a short-form tag such as `!Ref X` reads as its bare value, enough for
/// the plain parts compared here).
fn template(path: &Path) -> Value {
    fn json(y: &Yaml) -> Value {
        match y {
            Yaml::Hash(h) => Value::Object(
                h.iter()
                    .map(|(k, v)| (k.as_str().expect("a string key").to_string(), json(v)))
                    .collect(),
            ),
            Yaml::Array(a) => Value::Array(a.iter().map(json).collect()),
            Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
            Yaml::Integer(i) => json!(i),
            Yaml::Boolean(b) => json!(b),
            Yaml::Null => Value::Null,
            other => panic!("cannot read {other:?}"),
        }
    }
    let docs = YamlLoader::load_from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    json(&docs[0])
}

fn rule_json() -> Value {
    let file = root().join("examples/eventbridge/rule.json");
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

#[test]
fn the_account_rule_s_pattern_is_the_example_s_and_the_forwarder_s() {
    let t = template(&stack_template());
    assert_eq!(
        t["Resources"]["AccountEventRule"]["Properties"]["EventPattern"],
        rule_json(),
        "AccountEventRule's EventPattern differs from examples/eventbridge/rule.json"
    );
    let f = template(&forwarder_template());
    assert_eq!(
        f["Resources"]["ForwardRule"]["Properties"]["EventPattern"],
        rule_json(),
        "event-forwarder.yaml's ForwardRule differs from examples/eventbridge/rule.json"
    );
}

/// The alarms, read from the template (moto's CloudFormation makes none): each on the metric
/// its run or queue emits, back to OK without a new occurrence, so that each new one notifies.
#[test]
fn the_alarms_watch_failed_and_not_compliant_targets_and_each_give_up() {
    let t = template(&stack_template());
    let alarm = |name: &str| t["Resources"][name]["Properties"].clone();
    for (name, namespace, metric) in [
        ("ErrorsAlarm", "AWS/Lambda", "Errors"),
        ("FailedTargetsAlarm", "ssm-prefs", "FailedTargets"),
        ("NotCompliantAlarm", "ssm-prefs", "NotCompliantTargets"),
        ("DeadLetterAlarm", "AWS/SQS", "NumberOfMessagesSent"),
    ] {
        let a = alarm(name);
        assert_eq!(
            (a["Namespace"].as_str(), a["MetricName"].as_str()),
            (Some(namespace), Some(metric)),
            "{name}: {a:#}"
        );
        assert_eq!(a["Statistic"], "Sum", "{name}: a count of occurrences");
        assert_eq!(a["TreatMissingData"], "notBreaching", "{name}");
        assert_eq!(a["EvaluationPeriods"], 1, "{name}");
    }
    // The run's metrics are dimensioned by the function, as src/report/metrics.rs writes them.
    for name in ["FailedTargetsAlarm", "NotCompliantAlarm"] {
        assert_eq!(
            alarm(name)["Dimensions"][0]["Name"],
            "FunctionName",
            "{name}"
        );
    }
}

/// The actions of a statement, by its Sid, in a policy document.
fn actions(doc: &Value, sid: &str) -> Vec<String> {
    let statement = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid}"));
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
        other => panic!("{sid}: Action {other}"),
    }
}

fn doc(name: &str) -> Value {
    let file = root().join("docs/iam").join(name);
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn inline_policy(t: &Value, role: &str) -> Value {
    t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"].clone()
}

#[test]
fn the_roles_grant_what_docs_iam_documents() {
    let member = inline_policy(&template(&member_template()), "MemberRole");
    let documented = doc("member-role-policy.json");
    for sid in [
        "ManageSessionManagerPreferences",
        "PreflightReadsWhatThePreferencesName",
        "PreflightReadsTheManagedNodes",
    ] {
        assert_eq!(actions(&member, sid), actions(&documented, sid), "{sid}");
    }
    assert_eq!(
        actions(&member, "ListTheAccountsEnabledRegions"),
        actions(
            &doc("member-role-list-regions-policy.json"),
            "ListTheAccountsEnabledRegions"
        )
    );

    // The function reads the organization as discover does, and in its own account does
    // what the member role does.
    let function = inline_policy(&template(&stack_template()), "FunctionRole");
    assert_eq!(
        actions(&function, "ReadTheOrganization"),
        actions(&doc("discover-policy.json"), "ReadTheOrganization")
    );
    assert_eq!(
        actions(&function, "ManageThisAccountsPreferences"),
        actions(&documented, "ManageSessionManagerPreferences")
    );
    assert_eq!(
        actions(&function, "PreflightReadsTheManagedNodesInThisAccount"),
        actions(&documented, "PreflightReadsTheManagedNodes")
    );
}

#[test]
fn the_reports_bucket_is_encrypted_versioned_private_and_refuses_plain_http() {
    // What the emulator's CloudFormation does not apply (versioning, the public access block,
    // the bucket policy), read from the template.
    let t = template(&stack_template());
    let bucket = &t["Resources"]["ReportsBucket"]["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    for flag in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(
            bucket["PublicAccessBlockConfiguration"][flag], true,
            "{flag}"
        );
    }
    assert!(
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            ["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            .is_string()
    );
    let policy = &t["Resources"]["ReportsBucketPolicy"]["Properties"]["PolicyDocument"];
    let deny = &policy["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Principal"], "*");
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
}

/// Deploys deploy/cloudformation/ssm-prefs.yaml on the emulator twice (every optional
/// parameter given, then only the required ones), each after uploading a dummy Lambda zip to
/// a code bucket, then member-role.yaml trusting the first stack's function role; prints what
/// each stack made, as JSON.
///
/// moto's CloudFormation makes no AWS::S3::BucketPolicy, AWS::Lambda::EventInvokeConfig,
/// AWS::SNS::Subscription nor AWS::CloudWatch::Alarm (it warns "not supported" and goes on),
/// its AWS::S3::Bucket takes only the encryption (no versioning nor public access block), its
/// AWS::Lambda::Function leaves out Architectures and LoggingConfig, and
/// it keeps an `!If` that gives AWS::NoValue in a list as null, which AWS drops.
const DEPLOY: &str = r##"
import ast, io, json, sys, uuid, zipfile
import boto3
url, template, member_template, forwarder_template = sys.argv[1:5]
conf = dict(endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing")
s3, cfn, lam, events, iam, sqs = (boto3.client(n, **conf) for n in
    ["s3", "cloudformation", "lambda", "events", "iam", "sqs"])
run = "ssm-prefs-deploy-" + uuid.uuid4().hex[:10]

def attempt(call):
    try:
        return call()
    except Exception as e:
        return "error: " + str(e)

def policy_statements(doc):
    # moto hands an inline policy back as Python's repr.
    doc = ast.literal_eval(doc) if isinstance(doc, str) else doc
    return [s for s in doc["Statement"] if s is not None]

def policy(doc):
    return {s["Sid"]: s for s in policy_statements(doc)}

def deploy(name, params):
    code_bucket = name + "-code"
    s3.create_bucket(Bucket=code_bucket)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        z.writestr(info, "#!/bin/sh\nexit 1\n")
    s3.put_object(Bucket=code_bucket, Key="ssm-prefs/lambda.zip", Body=buf.getvalue())
    params = dict(params, CodeBucket=code_bucket, CodeKey="ssm-prefs/lambda.zip")
    cfn.create_stack(StackName=name, TemplateBody=open(template).read(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    out = {"status": stack["StackStatus"],
           "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}}
    made = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    out["resources"] = {r["LogicalResourceId"]: r["ResourceType"] for r in made if r["LogicalResourceId"]}
    ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in made if r["LogicalResourceId"]}
    f = lam.get_function_configuration(FunctionName=out["outputs"]["FunctionArn"])
    out["function"] = {k: f.get(k) for k in
        ["FunctionArn", "Runtime", "Handler", "Timeout", "MemorySize", "Architectures", "Role"]}
    out["function"]["Environment"] = f.get("Environment", {}).get("Variables", {})
    out["function"]["ReservedConcurrency"] = lam.get_function_concurrency(
        FunctionName=f["FunctionName"]).get("ReservedConcurrentExecutions")
    out["invoke_policy"] = [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in
        json.loads(lam.get_policy(FunctionName=f["FunctionName"])["Policy"])["Statement"]
        if s["Principal"] == {"Service": "events.amazonaws.com"}
        and s["Action"] == "lambda:InvokeFunction"]
    out["rules"] = {}
    for lid in ["ScheduleRule", "AccountEventRule"]:
        r = events.describe_rule(Name=ids[lid])
        out["rules"][lid] = {
            "Arn": r["Arn"], "State": r["State"],
            "ScheduleExpression": r.get("ScheduleExpression"),
            "EventPattern": json.loads(r["EventPattern"]) if r.get("EventPattern") else None,
            "Targets": [t["Arn"] for t in events.list_targets_by_rule(Rule=ids[lid])["Targets"]]}
    b = out["outputs"]["ReportsBucketName"]
    out["bucket"] = {"head": attempt(lambda: s3.head_bucket(Bucket=b) and "there"),
        "encryption": attempt(lambda: s3.get_bucket_encryption(Bucket=b)
            ["ServerSideEncryptionConfiguration"]["Rules"][0]
            ["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"])}
    q = sqs.get_queue_attributes(QueueUrl=out["outputs"]["DeadLetterQueueUrl"],
                                 AttributeNames=["All"])["Attributes"]
    out["queue"] = {k: q.get(k) for k in ["QueueArn", "SqsManagedSseEnabled", "MessageRetentionPeriod"]}
    role = f["Role"].split("/")[-1]
    out["role_policy"] = policy(iam.get_role_policy(RoleName=role, PolicyName="ssm-prefs")["PolicyDocument"])
    return out

full = deploy(run + "-full", {
    "PreferencesUri": "s3://" + run + "-prefs/ssm/prefs.json",
    "Architecture": "arm64", "MemorySize": "1024", "Mode": "audit",
    "Regions": "us-east-1,eu-west-1", "OrganizationalUnits": "ou-ab12-cdef3456,ou-ab12-ghij7890",
    "MemberRoleName": "RolloutRole", "SecurityHub": "true", "Waves": "1,10%,100%",
    "MaxFailures": "5%", "Schedule": "rate(12 hours)", "ReservedConcurrency": "2",
    "Vars": "log_bucket=org-session-logs,team=sec", "Concurrency": "256",
    "ExternalIdSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ssm-prefs-external-id-AbCdEf",
    "AlarmEmail": "security@example.com",
    "ExcludeAccounts": "210987654321,sandbox", "ManagementAccountId": "210987654321"})
defaults = deploy(run + "-defaults", {"PreferencesUri": "s3://" + run + "-prefs/prefs.json"})

member = run + "-member"
hub = full["outputs"]["FunctionRoleArn"]
cfn.create_stack(StackName=member, TemplateBody=open(member_template).read(),
    Parameters=[{"ParameterKey": "HubRoleArn", "ParameterValue": hub},
                {"ParameterKey": "RoleName", "ParameterValue": member},
                {"ParameterKey": "ExternalId", "ParameterValue": "-ssm-prefs-external-id-4242"},
                {"ParameterKey": "PreviousExternalId", "ParameterValue": "ssm-prefs-external-id-4141"},
                {"ParameterKey": "SecurityHub", "ParameterValue": "true"}],
    Capabilities=["CAPABILITY_NAMED_IAM"])
cfn.get_waiter("stack_create_complete").wait(StackName=member, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
role = iam.get_role(RoleName=member)["Role"]
trust = role["AssumeRolePolicyDocument"]
trust = ast.literal_eval(trust) if isinstance(trust, str) else trust
# The forwarder, as the management account deploys it in Control Tower's home region.
forwarder = run + "-forwarder"
fwd = boto3.client("cloudformation", **dict(conf, region_name="eu-west-1"))
fwd.create_stack(StackName=forwarder, TemplateBody=open(forwarder_template).read(),
    Parameters=[{"ParameterKey": "FunctionAccountId", "ParameterValue": "123456789012"},
                {"ParameterKey": "FunctionRegion", "ParameterValue": "us-east-1"}],
    Capabilities=["CAPABILITY_IAM"])
fwd.get_waiter("stack_create_complete").wait(StackName=forwarder, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
fwd_ids = {r["LogicalResourceId"]: r["PhysicalResourceId"]
           for r in fwd.list_stack_resources(StackName=forwarder)["StackResourceSummaries"]}
fwd_events = boto3.client("events", **dict(conf, region_name="eu-west-1"))
fwd_rule = fwd_events.describe_rule(Name=fwd_ids["ForwardRule"])
fwd_role = fwd_ids["ForwardingRole"]
forwarded = {
    "status": fwd.describe_stacks(StackName=forwarder)["Stacks"][0]["StackStatus"],
    "pattern": json.loads(fwd_rule["EventPattern"]),
    "targets": [{"Arn": t["Arn"], "RoleArn": t.get("RoleArn")} for t in
                fwd_events.list_targets_by_rule(Rule=fwd_ids["ForwardRule"])["Targets"]],
    "role_arn": iam.get_role(RoleName=fwd_role)["Role"]["Arn"],
    "role_policy": [s for p in iam.list_role_policies(RoleName=fwd_role)["PolicyNames"]
        for s in policy_statements(iam.get_role_policy(RoleName=fwd_role, PolicyName=p)["PolicyDocument"])],
}
print(json.dumps({"full": full, "defaults": defaults, "forwarder": forwarded, "hub": hub, "member": {
    "status": cfn.describe_stacks(StackName=member)["Stacks"][0]["StackStatus"],
    "trust": trust["Statement"],
    "policy": policy(iam.get_role_policy(RoleName=member, PolicyName="ssm-prefs")["PolicyDocument"])}},
    default=str))
"##;

/// The deployed function's environment, given to the real binary in Lambda mode: its settings
/// check passes (an unknown payload is the answer, not a bad setting), so what the stack
/// sets is what the function takes.
fn the_binary_takes_the_settings(env: &Value) {
    let mut vars: std::collections::BTreeMap<String, String> = env
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    vars.insert("SSM_PREFS_ENDPOINT_URL".into(), emulator().url.clone());
    let dir = crate::support::fixtures::Dir::new();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let api = LambdaApi::start().await;
        let function = Function::start(&api, &vars, &dir.path("function.log"));
        let id = api.invoke(r#"{"hello": "world"}"#, Duration::from_secs(60));
        let answer = api.answer(&id, Duration::from_secs(60)).await;
        let (kind, message) = answer.error();
        assert_eq!(
            kind,
            "UnknownPayload",
            "{message}\n{vars:#?}\n{}",
            function.log()
        );
    });
}

#[test]
fn the_stack_and_the_member_role_deploy_on_the_emulator_s_cloudformation() {
    let python = root().join(".venv/bin/python");
    let out = Command::new(&python)
        .args(["-c", DEPLOY, &emulator().url])
        .arg(stack_template())
        .arg(member_template())
        .arg(forwarder_template())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}: {FIX}", python.display()));
    assert!(out.status.success(), "deploying failed:\n{}", text(&out));
    let got: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");

    for (variant, conditional) in [("full", true), ("defaults", false)] {
        let stack = &got[variant];
        let at = |what: &str| format!("{variant}: {what}: {stack:#}");
        assert_eq!(stack["status"], "CREATE_COMPLETE", "{}", at("status"));

        // What the emulator makes, the conditional topic only with AlarmEmail.
        let mut made: Vec<&str> = stack["resources"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        made.sort_unstable();
        let mut expected = vec![
            "AccountEventRule",
            "AccountEventRulePermission",
            "DeadLetterQueue",
            "Function",
            "FunctionRole",
            "LogGroup",
            "ReportsBucket",
            "ScheduleRule",
            "ScheduleRulePermission",
        ];
        if conditional {
            expected.push("AlarmTopic");
        }
        expected.sort_unstable();
        assert_eq!(made, expected, "{}", at("resources"));

        let f = &stack["function"];
        assert_eq!(f["Runtime"], "provided.al2023", "{}", at("runtime"));
        assert_eq!(f["Handler"], "bootstrap", "{}", at("handler"));
        assert_eq!(f["Timeout"], 900, "{}", at("timeout"));
        assert_eq!(f["Role"], stack["outputs"]["FunctionRoleArn"]);

        let bucket = stack["outputs"]["ReportsBucketName"].as_str().unwrap();
        assert_eq!(stack["bucket"]["head"], "there", "{}", at("bucket"));
        assert_eq!(stack["bucket"]["encryption"], "AES256", "{}", at("bucket"));
        assert_eq!(
            stack["outputs"]["ReportsUri"],
            format!("s3://{bucket}/reports")
        );

        // The daily rule and the account rule, each invoking the function, each allowed to.
        let schedule = &stack["rules"]["ScheduleRule"];
        let account = &stack["rules"]["AccountEventRule"];
        assert_eq!(
            schedule["ScheduleExpression"],
            if conditional {
                "rate(12 hours)"
            } else {
                "cron(17 5 * * ? *)"
            }
        );
        assert_eq!(account["EventPattern"], rule_json(), "{}", at("pattern"));
        for rule in [schedule, account] {
            assert_eq!(rule["State"], "ENABLED");
            assert_eq!(
                rule["Targets"],
                json!([f["FunctionArn"]]),
                "{}",
                at("targets")
            );
        }
        assert_eq!(
            stack["invoke_policy"],
            json!([schedule["Arn"], account["Arn"]]),
            "{}",
            at("the function's resource policy")
        );

        assert_eq!(stack["queue"]["SqsManagedSseEnabled"], "true");
        assert_eq!(
            stack["queue"]["QueueArn"],
            stack["outputs"]["DeadLetterQueueArn"]
        );

        // The role: the preferences object alone, the reports prefix alone, the member role
        // by name, the secret only when given.
        let p = &stack["role_policy"];
        let prefs = if conditional {
            "ssm/prefs.json"
        } else {
            "prefs.json"
        };
        let prefs_bucket = f["Environment"]["SSM_PREFS_PREFERENCES"]
            .as_str()
            .unwrap()
            .trim_start_matches("s3://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        assert_eq!(
            p["ReadThePreferences"]["Resource"],
            format!("arn:aws:s3:::{prefs_bucket}/{prefs}")
        );
        assert_eq!(
            p["WriteTheReports"]["Resource"],
            format!("arn:aws:s3:::{bucket}/reports/*")
        );
        assert_eq!(p["WriteTheReports"]["Action"], "s3:PutObject");
        assert_eq!(
            (
                &p["CheckTheReportsBucket"]["Action"],
                &p["CheckTheReportsBucket"]["Resource"]
            ),
            (
                &json!("s3:ListBucket"),
                &json!(format!("arn:aws:s3:::{bucket}"))
            )
        );
        assert_eq!(
            p["AssumeTheMemberRole"]["Resource"],
            format!(
                "arn:aws:iam::*:role/{}",
                if conditional {
                    "RolloutRole"
                } else {
                    "SessionManagerPreferencesRollout"
                }
            )
        );
        assert_eq!(
            p["SendGivenUpEventsToTheDeadLetterQueue"]["Resource"],
            stack["outputs"]["DeadLetterQueueArn"]
        );
        assert_eq!(p.get("ReadTheExternalId").is_some(), conditional, "{p:#}");
        assert_eq!(
            p.get("SendThisAccountsFindings").is_some(),
            conditional,
            "{p:#}"
        );

        let env = &f["Environment"];
        let expected_env = if conditional {
            json!({
                "SSM_PREFS_PREFERENCES": format!("s3://{prefs_bucket}/ssm/prefs.json"),
                "SSM_PREFS_REPORTS": format!("s3://{bucket}/reports"),
                "SSM_PREFS_MODE": "audit",
                "SSM_PREFS_REGIONS": "us-east-1,eu-west-1",
                "SSM_PREFS_OU": "ou-ab12-cdef3456,ou-ab12-ghij7890",
                "SSM_PREFS_NOT_ACCOUNTS": "210987654321,sandbox",
                "SSM_PREFS_ROLE_NAME": "RolloutRole",
                "SSM_PREFS_SECURITY_HUB": "true",
                "SSM_PREFS_WAVES": "1,10%,100%",
                "SSM_PREFS_MAX_FAILURES": "5%",
                "SSM_PREFS_VARS": "log_bucket=org-session-logs,team=sec",
                "SSM_PREFS_CONCURRENCY": "256",
                "SSM_PREFS_EXTERNAL_ID_SECRET":
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:ssm-prefs-external-id-AbCdEf",
            })
        } else {
            json!({
                "SSM_PREFS_PREFERENCES": format!("s3://{prefs_bucket}/prefs.json"),
                "SSM_PREFS_REPORTS": format!("s3://{bucket}/reports"),
                "SSM_PREFS_MODE": "enforce",
                "SSM_PREFS_REGIONS": "all",
                "SSM_PREFS_OU": "",
                "SSM_PREFS_NOT_ACCOUNTS": "",
                "SSM_PREFS_ROLE_NAME": "SessionManagerPreferencesRollout",
                "SSM_PREFS_SECURITY_HUB": "false",
                "SSM_PREFS_WAVES": "",
                "SSM_PREFS_MAX_FAILURES": "",
                "SSM_PREFS_VARS": "",
                "SSM_PREFS_CONCURRENCY": "256",
            })
        };
        assert_eq!(env, &expected_env, "{}", at("environment"));
        the_binary_takes_the_settings(env);
        // moto's CloudFormation leaves out Architectures (the template's is checked below).
        let (memory, concurrency) = if conditional { (1024, 2) } else { (512, 1) };
        assert_eq!(f["MemorySize"], memory, "{}", at("memory"));
        assert_eq!(
            f["ReservedConcurrency"],
            concurrency,
            "{}",
            at("concurrency")
        );
    }

    // The architecture the emulator leaves out: the parameter's, x86_64 or arm64.
    let t = template(&stack_template());
    assert_eq!(
        t["Resources"]["Function"]["Properties"]["Architectures"],
        json!(["Architecture"]),
        "the function's Architectures is not [!Ref Architecture]"
    );
    assert_eq!(
        t["Parameters"]["Architecture"]["AllowedValues"],
        json!(["x86_64", "arm64"])
    );

    // The forwarder: the account events only, onto the function account's default bus in the
    // function's region, as a role that may put events there and nowhere else.
    let fwd = &got["forwarder"];
    assert_eq!(fwd["status"], "CREATE_COMPLETE", "{fwd:#}");
    assert_eq!(fwd["pattern"], rule_json(), "{fwd:#}");
    let bus = "arn:aws:events:us-east-1:123456789012:event-bus/default";
    assert_eq!(
        fwd["targets"],
        json!([{"Arn": bus, "RoleArn": fwd["role_arn"]}]),
        "{fwd:#}"
    );
    assert_eq!(
        fwd["role_policy"],
        json!([{"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus}]),
        "{fwd:#}"
    );
    // The bus policy the full stack adds for it (moto's CloudFormation makes no
    // AWS::Events::EventBusPolicy): the management account alone, PutEvents alone.
    let bus_policy = &t["Resources"]["ForwardedEventsPolicy"];
    assert_eq!(bus_policy["Condition"], "ReceivesForwardedEvents");
    let statement = &bus_policy["Properties"]["Statement"];
    assert_eq!(statement["Action"], "events:PutEvents");
    assert_eq!(statement["Effect"], "Allow");
    assert!(
        statement["Principal"]["AWS"]
            .as_str()
            .unwrap()
            .contains("${ManagementAccountId}:root"),
        "{statement:#}"
    );

    // The member role trusts the function's role (through its account's root, narrowed by
    // aws:PrincipalArn) with the external id, and grants docs/iam.md's actions.
    let member = &got["member"];
    assert_eq!(member["status"], "CREATE_COMPLETE", "{member:#}");
    let hub = got["hub"].as_str().unwrap();
    let hub_account = hub.split(':').nth(4).unwrap();
    let trust = &member["trust"][0];
    assert_eq!(
        trust["Principal"]["AWS"],
        format!("arn:aws:iam::{hub_account}:root"),
        "{member:#}"
    );
    assert_eq!(trust["Action"], "sts:AssumeRole");
    assert_eq!(trust["Condition"]["ArnEquals"]["aws:PrincipalArn"], hub);
    // During a rotation both ids (a leading `-` is one STS takes).
    assert_eq!(
        trust["Condition"]["StringEquals"]["sts:ExternalId"],
        json!(["-ssm-prefs-external-id-4242", "ssm-prefs-external-id-4141"])
    );
    let granted: Vec<&str> = member["policy"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        granted,
        [
            "ManageSessionManagerPreferences",
            "PreflightReadsWhatThePreferencesName",
            "PreflightReadsTheManagedNodes",
            "ListTheAccountsEnabledRegions",
            "ImportThisAccountsFindings",
            "ReadTheFindingBackByItsId",
        ],
        "{member:#}"
    );
}

fn release_workflow() -> PathBuf {
    root().join(".github/workflows/release.yml")
}

#[test]
fn the_release_workflow_passes_github_s_schema_and_ships_what_package_sh_builds() {
    let ok = venv_tool(
        "check-jsonschema",
        &[
            Path::new("--builtin-schema"),
            Path::new("vendor.github-workflows"),
            &release_workflow(),
        ],
    );
    assert!(
        ok.status.success(),
        "check-jsonschema rejects {}:\n{}",
        release_workflow().display(),
        text(&ok)
    );

    let w = template(&release_workflow());
    assert_eq!(w["on"]["push"]["tags"], json!(["v*"]), "{w:#}");
    let steps = w["jobs"]["package"]["steps"].as_array().unwrap();
    assert!(
        steps.iter().any(|s| s["run"] == "bash scripts/package.sh"),
        "no step runs scripts/package.sh: {w:#}"
    );
    assert!(
        steps.iter().any(|s| s["with"]["files"] == "dist/*"),
        "no step attaches dist/*: {w:#}"
    );

    // The script the workflow runs parses (building it is the release's work, not a test's).
    let script = root().join("scripts/package.sh");
    let n = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        n.status.success(),
        "bash -n {}:\n{}",
        script.display(),
        text(&n)
    );
}

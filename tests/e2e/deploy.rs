//! The deployment's files: deploy/cloudformation/*.yaml (cfn-lint, the emulator's CloudFormation, held to rule.json and docs/iam/), release.yml and package.sh.

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
    let ok = venv_tool("cfn-lint", &[&stack_template(), &member_template()]);
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
fn the_account_rule_s_pattern_is_the_example_s() {
    let t = template(&stack_template());
    assert_eq!(
        t["Resources"]["AccountEventRule"]["Properties"]["EventPattern"],
        rule_json(),
        "AccountEventRule's EventPattern differs from examples/eventbridge/rule.json"
    );
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
url, template, member_template = sys.argv[1:4]
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

def policy(doc):
    # moto hands an inline policy back as Python's repr.
    doc = ast.literal_eval(doc) if isinstance(doc, str) else doc
    return {s["Sid"]: s for s in doc["Statement"] if s is not None}

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
    "AlarmEmail": "security@example.com"})
defaults = deploy(run + "-defaults", {"PreferencesUri": "s3://" + run + "-prefs/prefs.json"})

member = run + "-member"
hub = full["outputs"]["FunctionRoleArn"]
cfn.create_stack(StackName=member, TemplateBody=open(member_template).read(),
    Parameters=[{"ParameterKey": "HubRoleArn", "ParameterValue": hub},
                {"ParameterKey": "RoleName", "ParameterValue": member},
                {"ParameterKey": "ExternalId", "ParameterValue": "ssm-prefs-external-id-4242"},
                {"ParameterKey": "SecurityHub", "ParameterValue": "true"}],
    Capabilities=["CAPABILITY_NAMED_IAM"])
cfn.get_waiter("stack_create_complete").wait(StackName=member, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
role = iam.get_role(RoleName=member)["Role"]
trust = role["AssumeRolePolicyDocument"]
trust = ast.literal_eval(trust) if isinstance(trust, str) else trust
print(json.dumps({"full": full, "defaults": defaults, "hub": hub, "member": {
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
    assert_eq!(
        trust["Condition"]["StringEquals"]["sts:ExternalId"],
        "ssm-prefs-external-id-4242"
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

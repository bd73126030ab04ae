//! The benchmark's stand-in for AWS (tests/support/stand_in.rs) held to moto and to AWS's API
//! reference: the same requests through the real SDK clients to both, the answers compared in
//! shape and meaning (Organizations' too); the real binary's apply and audit against it, and
//! its `--org` walk under Organizations' throttle; its throttling answers, counts and latency.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

use aws_config::BehaviorVersion;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::types::{DocumentDescription, DocumentFormat, DocumentType, Tag};
use serde_json::{Value, json};

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::org::{Organization, organizations};
use crate::support::stand_in::{DEFAULT_ACCOUNT, Options, OrgShape, Rate, StandIn};

/// An answer reduced to what must agree: `{"ok": fields}` or `{"error": code}`.
fn outcome<T, E, R>(result: Result<T, SdkError<E, R>>, ok: impl FnOnce(T) -> Value) -> Value
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(out) => json!({ "ok": ok(out) }),
        Err(e) => match e.as_service_error().and_then(|s| s.code()) {
            Some(code) => json!({ "error": code }),
            None => json!({ "not_a_service_error": format!("{e:?}") }),
        },
    }
}

fn tags(tags: &[Tag]) -> Value {
    let mut pairs: Vec<(String, String)> = tags
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    pairs.sort();
    json!(pairs)
}

fn recent(t: Option<&aws_sdk_ssm::primitives::DateTime>) -> bool {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    t.is_some_and(|t| (t.as_secs_f64() - now).abs() < 300.0)
}

/// A DocumentDescription's fields. PlatformTypes is compared by presence only: moto answers
/// `["Not Implemented (moto)"]`, SSM the platforms a document's plugins run on.
fn description(d: Option<&DocumentDescription>) -> Value {
    let Some(d) = d else {
        return json!("no description");
    };
    json!({
        "Name": d.name(),
        "DocumentVersion": d.document_version(),
        "DefaultVersion": d.default_version(),
        "LatestVersion": d.latest_version(),
        "Status": d.status().map(|s| s.as_str()),
        "Hash": d.hash(),
        "HashType": d.hash_type().map(|h| h.as_str()),
        "DocumentType": d.document_type().map(|t| t.as_str()),
        "DocumentFormat": d.document_format().map(|f| f.as_str()),
        "SchemaVersion": d.schema_version(),
        "Owner": d.owner(),
        "Description": d.description(),
        "CreatedDate recent": recent(d.created_date()),
        "PlatformTypes present": !d.platform_types().is_empty(),
        "Tags": tags(d.tags()),
    })
}

fn content(n: u32) -> String {
    json!({
        "schemaVersion": "1.0",
        "description": format!("conformance {n}"),
        "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": format!("bucket-{n}"), "idleSessionTimeout": "20"}
    })
    .to_string()
}

/// The same requests, in the same order, to one endpoint; each step's reduced answer.
async fn document_sequence(url: &str, a: &str, b: &str) -> Vec<(&'static str, Value)> {
    let ssm = ssm_in(url, a, "us-east-1").await;
    let other_region = ssm_in(url, a, "eu-west-1").await;
    let other_account = ssm_in(url, b, "us-east-1").await;
    let (one, two, three) = (content(1), content(2), content(3));
    let mut steps = vec![];
    let get = |version: Option<&str>| {
        ssm.get_document()
            .name(DOC)
            .set_document_version(version.map(String::from))
            .send()
    };
    let got = |o: aws_sdk_ssm::operation::get_document::GetDocumentOutput| {
        json!({
            "Name": o.name(),
            "DocumentVersion": o.document_version(),
            "Status": o.status().map(|s| s.as_str()),
            "Content": o.content(),
            "DocumentType": o.document_type().map(|t| t.as_str()),
            "DocumentFormat": o.document_format().map(|f| f.as_str()),
        })
    };
    let create = |text: &str| {
        ssm.create_document()
            .name(DOC)
            .content(text)
            .document_type(DocumentType::Session)
            .document_format(DocumentFormat::Json)
            .tags(
                Tag::builder()
                    .key("team")
                    .value("platform")
                    .build()
                    .unwrap(),
            )
            .send()
    };
    let update = |text: &str, version: &str| {
        ssm.update_document()
            .name(DOC)
            .content(text)
            .document_version(version)
            .document_format(DocumentFormat::Json)
            .send()
    };
    let describe = |version: Option<&str>| {
        ssm.describe_document()
            .name(DOC)
            .set_document_version(version.map(String::from))
            .send()
    };
    let described = |o: aws_sdk_ssm::operation::describe_document::DescribeDocumentOutput| {
        description(o.document())
    };
    let list_tags = |id: &str| {
        ssm.list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Document)
            .resource_id(id)
            .send()
    };
    let listed = |o: aws_sdk_ssm::operation::list_tags_for_resource::ListTagsForResourceOutput| {
        tags(o.tag_list())
    };

    steps.push(("get, missing", outcome(get(None).await, got)));
    steps.push((
        "create",
        outcome(create(&one).await, |o| {
            description(o.document_description())
        }),
    ));
    steps.push(("create again", outcome(create(&two).await, |_| json!({}))));
    steps.push(("get", outcome(get(None).await, got)));
    steps.push((
        "get, other region",
        outcome(other_region.get_document().name(DOC).send().await, |_| {
            json!({})
        }),
    ));
    steps.push((
        "get, other account",
        outcome(other_account.get_document().name(DOC).send().await, |_| {
            json!({})
        }),
    ));
    steps.push((
        "update, same content",
        outcome(update(&one, "$LATEST").await, |o| {
            description(o.document_description())
        }),
    ));
    steps.push((
        "update",
        outcome(update(&two, "$LATEST").await, |o| {
            description(o.document_description())
        }),
    ));
    steps.push((
        "update, version 1 is not the latest",
        outcome(update(&three, "1").await, |_| json!({})),
    ));
    steps.push((
        "update, content of version 1 again",
        outcome(update(&one, "$LATEST").await, |_| json!({})),
    ));
    steps.push((
        "describe (the default)",
        outcome(describe(None).await, described),
    ));
    steps.push((
        "describe version 2",
        outcome(describe(Some("2")).await, described),
    ));
    steps.push((
        "describe version 9",
        outcome(describe(Some("9")).await, described),
    ));
    steps.push(("get version 2", outcome(get(Some("2")).await, got)));
    steps.push(("get version 9", outcome(get(Some("9")).await, got)));
    steps.push((
        "promote version 2",
        outcome(
            ssm.update_document_default_version()
                .name(DOC)
                .document_version("2")
                .send()
                .await,
            |o| {
                let d = o.description();
                json!({
                    "Name": d.and_then(|d| d.name()),
                    "DefaultVersion": d.and_then(|d| d.default_version()),
                })
            },
        ),
    ));
    steps.push(("get after promote", outcome(get(None).await, got)));
    steps.push((
        "describe after promote",
        outcome(describe(None).await, described),
    ));
    let delete = |version: Option<&str>| {
        ssm.delete_document()
            .name(DOC)
            .set_document_version(version.map(String::from))
            .send()
    };
    steps.push((
        "delete the default version",
        outcome(delete(Some("2")).await, |_| json!({})),
    ));
    steps.push((
        "delete version 1",
        outcome(delete(Some("1")).await, |_| json!({})),
    ));
    steps.push((
        "describe deleted version 1",
        outcome(describe(Some("1")).await, described),
    ));
    steps.push((
        "tag",
        outcome(
            ssm.add_tags_to_resource()
                .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Document)
                .resource_id(DOC)
                .tags(
                    Tag::builder()
                        .key("team")
                        .value("security")
                        .build()
                        .unwrap(),
                )
                .tags(Tag::builder().key("owner").value("ops").build().unwrap())
                .send()
                .await,
            |_| json!({}),
        ),
    ));
    steps.push(("list tags", outcome(list_tags(DOC).await, listed)));
    steps.push((
        "untag",
        outcome(
            ssm.remove_tags_from_resource()
                .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Document)
                .resource_id(DOC)
                .tag_keys("team")
                .send()
                .await,
            |_| json!({}),
        ),
    ));
    steps.push((
        "list tags after untag",
        outcome(list_tags(DOC).await, listed),
    ));
    steps.push((
        "list tags of a missing document",
        outcome(list_tags("no-such-document").await, listed),
    ));
    steps.push((
        "describe with tags",
        outcome(describe(None).await, described),
    ));
    steps.push(("delete", outcome(delete(None).await, |_| json!({}))));
    steps.push(("get after delete", outcome(get(None).await, got)));
    steps.push(("delete again", outcome(delete(None).await, |_| json!({}))));
    steps.push((
        "create after delete",
        outcome(create(&three).await, |o| {
            description(o.document_description())
        }),
    ));
    steps
}

#[tokio::test(flavor = "multi_thread")]
async fn document_calls_answer_as_moto_does() {
    let ids = accounts(2);
    let moto = document_sequence(&emulator().url, &ids[0], &ids[1]).await;
    let stand_in = StandIn::start();
    let ours = document_sequence(&stand_in.url, &ids[0], &ids[1]).await;
    assert_eq!(moto.len(), ours.len());
    for ((step, want), (_, got)) in moto.iter().zip(&ours) {
        assert_eq!(
            got, want,
            "step {step:?}: the stand-in (left) differs from moto (right)"
        );
    }
    // The sequence means what it says, on both.
    let by: std::collections::BTreeMap<_, _> = ours.into_iter().collect();
    assert_eq!(by["get, missing"], json!({"error": "InvalidDocument"}));
    assert_eq!(
        by["create again"],
        json!({"error": "DocumentAlreadyExists"})
    );
    assert_eq!(
        by["update, same content"],
        json!({"error": "DuplicateDocumentContent"})
    );
    assert_eq!(
        by["update, version 1 is not the latest"],
        json!({"error": "InvalidDocumentVersion"})
    );
    assert_eq!(
        by["delete the default version"],
        json!({"error": "InvalidDocumentOperation"})
    );
    assert_eq!(
        by["list tags of a missing document"],
        json!({"error": "InvalidResourceId"})
    );
    let created = &by["create"]["ok"];
    assert_eq!(created["Hash"], json!(sha256_hex(content(1).as_bytes())));
    assert_eq!(created["Owner"], json!(ids[0]));
    assert_eq!(created["Tags"], json!([["team", "platform"]]));
    assert_eq!(by["describe (the default)"]["ok"]["DocumentVersion"], "1");
    assert_eq!(by["describe (the default)"]["ok"]["LatestVersion"], "2");
    assert_eq!(
        by["describe version 2"]["ok"]["Hash"],
        json!(sha256_hex(content(2).as_bytes()))
    );
    assert_eq!(
        by["list tags after untag"],
        json!({"ok": [["owner", "ops"]]})
    );
}

/// moto 5.2 lacks ListDocumentVersions (its server answers HTTP 500), so this follows AWS's
/// API reference instead: every version, its CreatedDate, IsDefaultVersion and Status;
/// InvalidDocument for a document that does not exist.
#[tokio::test(flavor = "multi_thread")]
async fn list_document_versions_answers_as_the_api_reference_says() {
    let stand_in = StandIn::start();
    let ssm = ssm_in(&stand_in.url, "210987654321", "eu-west-2").await;
    let missing = ssm.list_document_versions().name(DOC).send().await;
    assert_eq!(
        outcome(missing, |_| json!({})),
        json!({"error": "InvalidDocument"})
    );
    seed(&stand_in.url, "210987654321", "eu-west-2", DOC, &content(1)).await;
    ssm.update_document()
        .name(DOC)
        .content(content(2))
        .document_version("$LATEST")
        .send()
        .await
        .unwrap();
    let out = ssm.list_document_versions().name(DOC).send().await.unwrap();
    let versions: Vec<_> = out
        .document_versions()
        .iter()
        .map(|v| {
            assert!(recent(v.created_date()), "{v:?}");
            assert_eq!(v.name(), Some(DOC));
            (
                v.document_version().unwrap_or_default().to_string(),
                v.is_default_version(),
                v.status().map(|s| s.as_str().to_string()),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("1".to_string(), true, Some("Active".to_string())),
            ("2".to_string(), false, Some("Active".to_string())),
        ]
    );
}

/// AssumeRole and GetCallerIdentity through the SDK's STS client, reduced as above.
async fn sts_sequence(url: &str, account: &str) -> Vec<(&'static str, Value)> {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "test",
        ))
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&base);
    let mut steps = vec![];
    let me = sts.get_caller_identity().send().await;
    // The base user's ARN differs: moto says arn:aws:sts::…:user/moto, AWS (and the stand-in)
    // arn:aws:iam::…:user/NAME; only the account is compared.
    steps.push((
        "caller, base",
        outcome(me, |o| json!({"Account": o.account()})),
    ));
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/OrgAccess"))
        .role_session_name("conformance")
        .send()
        .await
        .expect("AssumeRole");
    let creds = assumed.credentials().expect("credentials");
    let user = assumed.assumed_role_user().expect("assumed role user");
    let expires_in = creds.expiration().as_secs_f64()
        - SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
    steps.push((
        "assume role",
        json!({
            "AccessKeyId ASIA": creds.access_key_id().starts_with("ASIA"),
            "AccessKeyId length": creds.access_key_id().len(),
            "secret and token": !creds.secret_access_key().is_empty() && !creds.session_token().is_empty(),
            "expires in about an hour": (3000.0..3700.0).contains(&expires_in),
            "Arn": user.arn(),
            "AssumedRoleId": user.assumed_role_id().starts_with("AROA")
                && user.assumed_role_id().ends_with(":conformance"),
        }),
    ));
    let as_role = aws_sdk_sts::config::Builder::from(&base)
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            None,
            "assumed",
        ))
        .build();
    let me = aws_sdk_sts::Client::from_conf(as_role)
        .get_caller_identity()
        .send()
        .await;
    steps.push((
        "caller, assumed",
        outcome(me, |o| json!({"Account": o.account(), "Arn": o.arn()})),
    ));
    let bad = sts
        .assume_role()
        .role_arn("arn:aws:iam::12345:role/x")
        .role_session_name("conformance")
        .send()
        .await;
    steps.push(("assume role, bad ARN", outcome(bad, |_| json!({}))));
    steps
}

#[tokio::test(flavor = "multi_thread")]
async fn sts_calls_answer_as_moto_does() {
    let id = accounts(1).remove(0);
    let moto = sts_sequence(&emulator().url, &id).await;
    let stand_in = StandIn::start();
    let ours = sts_sequence(&stand_in.url, &id).await;
    for ((step, want), (_, got)) in moto.iter().zip(&ours) {
        if *step == "assume role, bad ARN" {
            // moto accepts any ARN; AWS rejects one whose account is not 12 digits.
            assert_eq!(got, &json!({"error": "ValidationError"}), "{step}");
            continue;
        }
        assert_eq!(
            got, want,
            "step {step:?}: the stand-in (left) differs from moto (right)"
        );
    }
    assert_eq!(ours[0].1, json!({"ok": {"Account": DEFAULT_ACCOUNT}}));
    assert_eq!(
        ours[2].1["ok"]["Arn"],
        json!(format!(
            "arn:aws:sts::{id}:assumed-role/OrgAccess/conformance"
        ))
    );
    assert_eq!(stand_in.count("AssumeRole"), 2);
    assert_eq!(stand_in.count("GetCallerIdentity"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_applies_and_audits_against_the_stand_in() {
    let stand_in = StandIn::start();
    let ids = accounts(6);
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &REGIONS));
    let want = desired();
    let prefs = dir.write("prefs.json", &serde_json::to_string_pretty(&want).unwrap());
    let targets = ids.len() * REGIONS.len();
    let run = |cmd: &str, report: &std::path::Path| {
        let extra = ["--no-preflight", "--no-progress"];
        run_at(cmd, &stand_in.url, &inv, &prefs, report, &extra)
    };
    let statuses = |report: &std::path::Path| {
        let rows = read_report(report);
        assert_eq!(rows.len(), targets);
        rows.into_iter()
            .map(|r| r["status"].clone())
            .collect::<std::collections::BTreeSet<_>>()
    };

    let report = dir.path("apply.csv");
    let out = run("apply", &report);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(statuses(&report), ["created".to_string()].into());
    let counts = stand_in.counts();
    assert_eq!(
        counts.get("AssumeRole"),
        Some(&(ids.len() as u64)),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("CreateDocument"),
        Some(&(targets as u64)),
        "{counts:?}"
    );
    assert!(stand_in.throttled().is_empty());

    stand_in.clear();
    let report = dir.path("audit.csv");
    let out = run("audit", &report);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(statuses(&report), ["compliant".to_string()].into());
    let writes: u64 = [
        "CreateDocument",
        "UpdateDocument",
        "UpdateDocumentDefaultVersion",
    ]
    .iter()
    .map(|op| stand_in.count(op))
    .sum();
    assert_eq!(writes, 0, "audit wrote");

    // What was written, read back through the SDK.
    for ((id, region), doc) in read_all(&stand_in.url, &ids, &REGIONS, DOC).await {
        let (version, text) = doc.unwrap_or_else(|| panic!("{id}/{region}: no document"));
        assert_eq!(version, "1");
        let text = text
            .replace("{account_id}", &id)
            .replace("{region}", region.as_str());
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            want,
            "{id}/{region}"
        );
    }
}

/// The node check against the stand-in: `kmsKeyId` on, 5 nodes per target, every call of
/// it answered, each per-account call made once per account (the caches), the per-region ones
/// once per target.
#[tokio::test(flavor = "multi_thread")]
async fn the_node_check_runs_against_the_stand_in() {
    let stand_in = StandIn::start_with(Options {
        nodes_per_target: 5,
        ..Options::default()
    });
    let ids = accounts(3);
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &REGIONS));
    let prefs = dir.write("prefs.json", &node_check_prefs().to_string());
    let report = dir.path("plan.csv");
    let extra = ["--strict", "--no-progress"];
    let out = run_at("plan", &stand_in.url, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    node_check_counted(&stand_in, &read_report(&report), ids.len());
}

/// The same, the accounts streamed from `--org` as the walk finds them: each account's
/// simulation still names all its regions.
#[tokio::test(flavor = "multi_thread")]
async fn the_node_check_asks_once_per_account_as_the_walk_streams_them() {
    let stand_in = StandIn::start_with(Options {
        nodes_per_target: 5,
        org: OrgShape {
            accounts: 3,
            ous: 0,
            first: 200_000_000_000,
            tags: false,
        },
        ..Options::default()
    });
    let regions = REGIONS.join(",");
    let args = ["plan", "--strict", "-r", &regions];
    let (rows, walk, out) = org_run_checked(&stand_in, &node_check_prefs(), &args);
    assert_eq!(walk["streamed"], true, "{out}");
    // The three members and the management account.
    node_check_counted(&stand_in, &rows, 4);
}

/// Preferences that turn on KMS encryption: the node check asks about every node.
fn node_check_prefs() -> Value {
    json!({
        "schemaVersion": "1.0",
        "description": "node check bench",
        "sessionType": "Standard_Stream",
        "inputs": {"kmsKeyId": "alias/ssm", "idleSessionTimeout": "20"}
    })
}

/// Every target planned with its 5 nodes, none at risk; the node check's calls each made once
/// per target, or once per account where it is the account's (its caches).
fn node_check_counted(
    stand_in: &StandIn,
    rows: &[std::collections::BTreeMap<String, String>],
    accounts: usize,
) {
    let targets = accounts * REGIONS.len();
    assert_eq!(rows.len(), targets);
    for r in rows {
        assert_eq!(
            (r["status"].as_str(), r["findings"].as_str()),
            ("would-create", ""),
            "{r:?}"
        );
        assert_eq!(
            (r["nodes"].as_str(), r["nodes_at_risk"].as_str()),
            ("5", "0"),
            "{r:?}"
        );
    }
    let counts = stand_in.counts();
    for (op, n) in [
        ("DescribeInstanceInformation", targets),
        ("DescribeIamInstanceProfileAssociations", targets),
        ("DescribeKey", targets),
        ("GetKeyPolicy", targets),
        ("GetInstanceProfile", accounts),
        // One per account and role: the first target names every region's key.
        ("SimulatePrincipalPolicy", accounts),
    ] {
        assert_eq!(counts.get(op), Some(&(n as u64)), "{op}: {counts:?}");
    }
}

/// One raw HTTP/1.1 request; (status, body).
fn raw(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    let mut req = format!(
        "POST / HTTP/1.1\r\nhost: stand-in\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

fn assume_role_raw(url: &str, account: &str) -> (u16, String) {
    let auth = "AWS4-HMAC-SHA256 Credential=AKIABASE/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0";
    raw(
        url,
        &[
            ("authorization", auth),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        &format!(
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=s&RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2FR"
        ),
    )
}

fn get_document_raw(url: &str, key: &str, region: &str) -> (u16, String) {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/ssm/aws4_request, SignedHeaders=host, Signature=0"
    );
    raw(
        url,
        &[
            ("authorization", &auth),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "AmazonSSM.GetDocument"),
        ],
        "{\"Name\":\"SSM-SessionManagerRunShell\"}",
    )
}

#[test]
fn empty_buckets_answer_throttling_in_each_services_shape() {
    let stand_in = StandIn::start_with(Options {
        // Slow refills: nothing comes back within the test.
        ssm_rate: Some(Rate {
            per_second: 0.01,
            burst: 2.0,
        }),
        sts_rate: Some(Rate {
            per_second: 0.01,
            burst: 3.0,
        }),
        ..Options::default()
    });
    let url = &stand_in.url;
    for _ in 0..3 {
        let (status, body) = assume_role_raw(url, "111111111111");
        assert_eq!(status, 200, "{body}");
    }
    // One bucket for all STS calls: another account's AssumeRole is throttled too.
    let (status, body) = assume_role_raw(url, "222222222222");
    assert_eq!(status, 400);
    let rid = body
        .split("<RequestId>")
        .nth(1)
        .and_then(|r| r.split("</RequestId>").next())
        .unwrap();
    assert_eq!(
        body,
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
             <Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>"
        )
    );

    // SSM: a bucket per (account, region).
    let key = "ASIA1111111111110001";
    for _ in 0..2 {
        assert_eq!(get_document_raw(url, key, "eu-west-1").0, 400); // InvalidDocument
    }
    let (status, body) = get_document_raw(url, key, "eu-west-1");
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}"
        )
    );
    let (_, body) = get_document_raw(url, key, "eu-west-2");
    assert!(
        body.contains("InvalidDocument"),
        "another region's bucket: {body}"
    );
    let (_, body) = get_document_raw(url, "ASIA2222222222220001", "eu-west-1");
    assert!(
        body.contains("InvalidDocument"),
        "another account's bucket: {body}"
    );

    let counts = stand_in.bench_counts();
    let want: std::collections::BTreeMap<String, u64> = [
        ("AssumeRole", 4),
        ("GetDocument", 5),
        ("throttled:AssumeRole", 1),
        ("throttled:GetDocument", 1),
        ("bucket:sts", 3),
        ("bucket:ssm-max", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);
    stand_in.clear();
    assert_eq!(stand_in.bench_counts().values().sum::<u64>(), 0);
    // A clear fills the buckets again: the next contender starts as a fresh client would.
    assert_eq!(assume_role_raw(url, "222222222222").0, 200);
    assert_eq!(get_document_raw(url, key, "eu-west-1").0, 400);
    assert_eq!(stand_in.throttled().len(), 0);
}

#[test]
fn latency_delays_every_answer_without_holding_a_thread() {
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(300),
        ..Options::default()
    });
    let started = Instant::now();
    let url = stand_in.url.clone();
    let handles: Vec<_> = (0..40)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                let key = format!("ASIA{:012}0001", 300_000_000_000u64 + i);
                get_document_raw(&url, &key, "us-east-1");
                t.elapsed()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap() >= Duration::from_millis(300));
    }
    // 40 answers of 300 ms each on one worker thread: together, not one after another.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stand_in.count("GetDocument"), 40);
}

/// Under AWS-like throttling — STS's one bucket for the hub far smaller than the fleet's
/// AssumeRoles, SSM's per account and region — a run at a concurrency that would empty the
/// buckets finishes every target: the pacer (src/aws/credentials.rs) learns STS's rate and
/// the throttled calls are retried, not failed; one session per account still.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_fleet_finishes_every_target() {
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(20),
        ssm_rate: Some(Rate {
            per_second: 5.0,
            burst: 10.0,
        }),
        sts_rate: Some(Rate {
            per_second: 10.0,
            burst: 5.0,
        }),
        threads: 1,
        ..Options::default()
    });
    let ids = accounts(30);
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &REGIONS));
    let prefs = dir.write(
        "prefs.json",
        &serde_json::to_string_pretty(&desired()).unwrap(),
    );
    let targets = ids.len() * REGIONS.len();
    for (cmd, status) in [("apply", "created"), ("audit", "compliant")] {
        stand_in.clear();
        let report = dir.path(&format!("{cmd}.csv"));
        let started = Instant::now();
        let extra = ["--no-preflight", "--no-progress", "-c", "32"];
        let out = run_at(cmd, &stand_in.url, &inv, &prefs, &report, &extra);
        assert_eq!(out.code, 0, "{cmd}: {}", out.all());
        let rows = read_report(&report);
        assert_eq!(rows.len(), targets);
        assert!(
            rows.iter().all(|r| r["status"] == status),
            "{cmd}: {rows:?}"
        );
        let throttled = stand_in.throttled();
        let assumed = stand_in.count("AssumeRole");
        let refused = throttled.get("AssumeRole").copied().unwrap_or(0);
        // The bucket bit (30 roles against a burst of 5), and each account got one session.
        assert!(refused > 0, "{cmd}: STS never throttled: {throttled:?}");
        assert_eq!(assumed - refused, ids.len() as u64, "{cmd}: {throttled:?}");
        // Paced, not hammered: a client retrying blindly at -c 32 is refused many times over.
        assert!(
            refused * 2 <= assumed,
            "{cmd}: {refused} of {assumed} AssumeRoles throttled"
        );
        // (30 - 5) / 10 per second is the bucket's bound; allow for the pacer's learning.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{cmd} took {:?}",
            started.elapsed()
        );
    }
}

/// A chain of two roles per account (a hub role, then the account's) under a small STS
/// bucket, with `--max-attempts 1`: a throttled first hop reaches the tool as the second
/// hop's failure to sign, and is still paced and retried as a throttle (which no attempt
/// count limits), so every target is done.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_first_hop_of_a_role_chain_is_paced_too() {
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(10),
        sts_rate: Some(Rate {
            per_second: 5.0,
            burst: 3.0,
        }),
        ..Options::default()
    });
    let ids = accounts(8);
    let mut inv = format!("regions: [{}]\naccounts:\n", REGIONS[..2].join(", "));
    for (i, id) in ids.iter().enumerate() {
        inv.push_str(&format!(
            "  - account_id: \"{id}\"\n    name: acct-{i}\n    role:\n      - arn:aws:iam::{DEFAULT_ACCOUNT}:role/RolloutHub\n      - arn:aws:iam::{id}:role/Rollout\n"
        ));
    }
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inv);
    let prefs = dir.write(
        "prefs.json",
        &serde_json::to_string_pretty(&desired()).unwrap(),
    );
    let report = dir.path("apply.csv");
    let extra = ["--no-preflight", "--no-progress", "--max-attempts", "1"];
    let out = run_at("apply", &stand_in.url, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), ids.len() * 2);
    assert!(rows.iter().all(|r| r["status"] == "created"), "{rows:?}");
    let refused = stand_in.throttled().get("AssumeRole").copied().unwrap_or(0);
    assert!(refused > 0, "STS never throttled: {:?}", stand_in.counts());
    // Two hops per account; a chain whose second hop was throttled assumes its first again
    // (the SDK's chain keeps no credentials between its attempts), never without bound.
    let assumed = stand_in.count("AssumeRole") - refused;
    assert!(
        (2 * ids.len() as u64..=4 * ids.len() as u64).contains(&assumed),
        "{assumed} AssumeRoles answered: {:?}",
        stand_in.counts()
    );
}

/// The Account API as AWS answers it, for the opt-in regions a run names or `-r all` lists:
/// `-r all` is the default regions and the opted-in ones (ListRegions, paged), and an opt-in
/// region an account has not enabled is skipped, not failed (GetRegionOptStatus is asked only
/// by --wait-ready).
#[tokio::test(flavor = "multi_thread")]
async fn the_account_api_lists_the_default_and_opted_in_regions() {
    let stand_in = StandIn::start_with(Options {
        opted_in: ["af-south-1", "eu-south-1", "il-central-1", "me-south-1"]
            .map(String::from)
            .to_vec(),
        ..Options::default()
    });
    let ids = accounts(2);
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &["us-east-1"]));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let extra = ["--no-preflight", "--no-progress", "-r", "all"];
    let report = dir.path("all.csv");
    let out = run_at("plan", &stand_in.url, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    let defaults: std::collections::BTreeSet<String> = ssm_prefs::target::Region::all()
        .filter(|r| r.partition() == "aws" && !r.opt_in())
        .map(|r| r.as_str().to_string())
        .chain(["af-south-1", "eu-south-1", "il-central-1", "me-south-1"].map(String::from))
        .collect();
    for id in &ids {
        let got: std::collections::BTreeSet<String> = read_report(&report)
            .into_iter()
            .filter(|r| r["account_id"] == *id)
            .map(|r| r["region"].clone())
            .collect();
        assert_eq!(got, defaults, "{id}");
    }
    // More regions than one page of 20: each account's list took two pages.
    assert!(defaults.len() > 20);
    assert_eq!(stand_in.count("ListRegions"), 2 * ids.len() as u64);

    let extra = [
        "--no-preflight",
        "--no-progress",
        "-r",
        "af-south-1,ap-east-1",
    ];
    let report = dir.path("named.csv");
    let out = run_at("plan", &stand_in.url, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    for row in read_report(&report) {
        let want = match row["region"].as_str() {
            "af-south-1" => ("would-create", ""),
            _ => ("skipped", "RegionNotEnabled"),
        };
        assert_eq!(
            (row["status"].as_str(), row["error_code"].as_str()),
            want,
            "{row:?}"
        );
    }
}

/// The same Organizations requests to one endpoint, each answer reduced to what must agree:
/// an organization of one OU holding 25 tagged accounts `bench-00001`… (moto's built by the
/// API, the stand-in's from its shape).
async fn organizations_sequence(url: &str, ou: &str, first: &str) -> Vec<(&'static str, Value)> {
    use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
    let org = organizations(url).await;
    let mut steps = vec![];
    steps.push((
        "DescribeOrganization",
        outcome(org.describe_organization().send().await, |o| {
            let o = o.organization.unwrap();
            json!({"MasterAccountId": o.master_account_id, "FeatureSet": o.feature_set.map(|f| f.as_str().to_string())})
        }),
    ));
    let roots = org.list_roots().send().await.unwrap().roots.unwrap();
    steps.push((
        "ListRoots",
        json!(roots.iter().map(|r| r.name.clone()).collect::<Vec<_>>()),
    ));
    let root = roots[0].id.clone().unwrap();
    steps.push((
        "ListOrganizationalUnitsForParent",
        outcome(
            org.list_organizational_units_for_parent()
                .parent_id(&root)
                .max_results(20)
                .send()
                .await,
            |o| {
                json!(
                    o.organizational_units
                        .unwrap_or_default()
                        .iter()
                        .map(|u| u.name.clone())
                        .collect::<Vec<_>>()
                )
            },
        ),
    ));
    // Pages of 20: the names on each page, and whether more follow.
    let page = |o: &ListAccountsForParentOutput| {
        let mut names: Vec<_> = o
            .accounts()
            .iter()
            .map(|a| {
                json!([
                    a.name(),
                    a.status().map(|s| s.as_str()),
                    a.email().is_some_and(|e| e.contains('@'))
                ])
            })
            .collect();
        names.sort_by_key(|v| v.to_string());
        json!({"accounts": names, "more": o.next_token().is_some()})
    };
    let one = org
        .list_accounts_for_parent()
        .parent_id(ou)
        .max_results(20)
        .send()
        .await
        .unwrap();
    let two = org
        .list_accounts_for_parent()
        .parent_id(ou)
        .max_results(20)
        .set_next_token(one.next_token.clone())
        .send()
        .await
        .unwrap();
    steps.push((
        "ListAccountsForParent pages",
        json!([
            one.accounts().len(),
            one.next_token().is_some(),
            two.accounts().len(),
            two.next_token().is_some()
        ]),
    ));
    let mut all: Vec<Value> = [
        page(&one)["accounts"].clone(),
        page(&two)["accounts"].clone(),
    ]
    .into_iter()
    .flat_map(|v| v.as_array().cloned().unwrap_or_default())
    .collect();
    all.sort_by_key(|v| v.to_string());
    steps.push(("ListAccountsForParent accounts", json!(all)));
    steps.push((
        "ListAccountsForParent root",
        outcome(
            org.list_accounts_for_parent().parent_id(&root).send().await,
            |o| {
                json!(
                    o.accounts()
                        .iter()
                        .map(|a| a.id().map(str::to_string))
                        .collect::<Vec<_>>()
                )
            },
        ),
    ));
    steps.push((
        "ListTagsForResource",
        outcome(
            org.list_tags_for_resource().resource_id(first).send().await,
            |o| {
                let mut tags: Vec<_> = o
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().replace(first, "ID")))
                    .collect();
                tags.sort();
                json!(tags)
            },
        ),
    ));
    steps.push((
        "DescribeAccount",
        outcome(
            org.describe_account().account_id(first).send().await,
            |o| {
                let a = o.account.unwrap();
                json!({"Name": a.name, "Id is the one asked": a.id.as_deref() == Some(first), "Status": a.status.map(|s| s.as_str().to_string())})
            },
        ),
    ));
    steps.push((
        "DescribeOrganizationalUnit",
        outcome(
            org.describe_organizational_unit()
                .organizational_unit_id(ou)
                .send()
                .await,
            |o| json!(o.organizational_unit.and_then(|u| u.name)),
        ),
    ));
    steps
}

#[tokio::test(flavor = "multi_thread")]
async fn organizations_calls_answer_as_moto_does() {
    let moto = crate::support::emulator::private_emulator();
    let org = Organization::create(organizations(&moto.url).await).await;
    let ou = org.create_ou("OU-000", None).await;
    let mut first = String::new();
    for i in 1..=25 {
        let id = org
            .create_account(
                &format!("bench-{i:05}"),
                &format!("bench-{i:05}@example.com"),
            )
            .await;
        org.move_to(&id, &ou).await;
        org.tag(&id, "env", "bench").await;
        org.tag(&id, "ssm-prefs:log_bucket", &format!("bench-logs-{id}"))
            .await;
        if i == 1 {
            first = id;
        }
    }
    let stand_in = StandIn::start_with(Options {
        org: OrgShape {
            accounts: 25,
            ous: 1,
            first: 200_000_000_000,
            tags: true,
        },
        ..Options::default()
    });
    let want = organizations_sequence(&moto.url, &ou, &first).await;
    let got = organizations_sequence(&stand_in.url, "ou-stnd-00000000", "200000000001").await;
    assert_eq!(want.len(), got.len());
    for ((step, w), (_, g)) in want.iter().zip(&got) {
        // The root lists the management account alone, by its id.
        assert_eq!(g, w, "{step}");
    }
}

fn organizations_raw(url: &str, op: &str, body: &str) -> (u16, String) {
    let auth = "AWS4-HMAC-SHA256 Credential=AKIABASE/20260101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=0";
    raw(
        url,
        &[
            ("authorization", auth),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", &format!("AWSOrganizationsV20161128.{op}")),
        ],
        body,
    )
}

/// A `TooManyRequestsException` answer's message.
fn too_many(body: &str) -> String {
    let err: Value = serde_json::from_str(body).unwrap();
    assert_eq!(err["__type"], "TooManyRequestsException", "{err}");
    err["Message"].as_str().unwrap().to_string()
}

/// Organizations' throttle as AWS's behaves: a bucket per caller ("too many requests"), and
/// a bound on its requests in progress ("another request is already in progress"), both
/// `TooManyRequestsException`; MaxResults past 20 is bad input.
#[test]
fn organizations_throttles_by_rate_and_by_requests_in_progress() {
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(300),
        org: OrgShape {
            accounts: 3,
            ..OrgShape::default()
        },
        org_rate: Some(Rate {
            per_second: 0.1,
            burst: 3.0,
        }),
        org_in_flight: Some(1),
        ..Options::default()
    });
    let url = stand_in.url.clone();
    // Two at once: one is in progress when the other arrives.
    let at_once: Vec<(u16, String)> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..2)
            .map(|_| s.spawn(|| organizations_raw(&url, "ListRoots", "{}")))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let crowded: Vec<&(u16, String)> = at_once.iter().filter(|(s, _)| *s == 400).collect();
    assert_eq!(crowded.len(), 1, "{at_once:?}");
    assert!(too_many(&crowded[0].1).contains("another request is already in progress"));
    // One by one: the bucket's burst of 3, one of them spent above, then too many requests.
    let body = r#"{"ParentId":"r-stnd","MaxResults":2}"#;
    let (status, page) = organizations_raw(&url, "ListAccountsForParent", body);
    assert_eq!(status, 200, "{page}");
    let page: Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["Accounts"].as_array().unwrap().len(), 2, "{page}");
    assert!(page["NextToken"].is_string(), "{page}");
    let (status, bad) = organizations_raw(
        &url,
        "ListAccountsForParent",
        r#"{"ParentId":"r-stnd","MaxResults":21}"#,
    );
    assert_eq!(status, 400);
    assert!(bad.contains("InvalidInputException"), "{bad}");
    let (status, fast) = organizations_raw(&url, "ListRoots", "{}");
    assert_eq!(status, 400);
    assert!(too_many(&fast).contains("too many requests"));
    assert_eq!(stand_in.throttled()["Organizations.ListRoots"], 2);
}

/// `--org` on the stand-in under a tight throttle: the walk's calls go at the pace
/// Organizations allows and as many at once as it allows, every throttled call is tried
/// again, no account is lost, and the summary counts the retries the stand-in saw.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_walk_loses_no_account_and_counts_its_retries() {
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(20),
        org: OrgShape {
            accounts: 300,
            ous: 6,
            first: 200_000_000_000,
            tags: false,
        },
        org_rate: Some(Rate {
            per_second: 8.0,
            burst: 4.0,
        }),
        org_in_flight: Some(2),
        ..Options::default()
    });
    let (rows, walk) = org_plan(&stand_in, &desired(), &[]);
    let want: std::collections::BTreeSet<String> = OrgShape {
        accounts: 300,
        ous: 6,
        first: 200_000_000_000,
        tags: false,
    }
    .ids()
    .collect();
    let got: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r["account_id"].clone()).collect();
    assert_eq!(got, want);
    let throttled: u64 = stand_in
        .throttled()
        .iter()
        .filter(|(op, _)| op.starts_with("Organizations."))
        .map(|(_, n)| n)
        .sum();
    let calls: u64 = stand_in
        .counts()
        .iter()
        .filter(|(op, _)| op.starts_with("Organizations."))
        .map(|(_, n)| n)
        .sum();
    assert!(throttled > 0, "the throttle was met: {walk}");
    assert_eq!(walk["retries"], throttled, "{walk}");
    assert_eq!(walk["calls"], calls, "{walk}");
    assert_eq!(walk["complete"], true, "{walk}");
    // 2 calls, then per OU (and the root) its OUs and its accounts, 20 a page.
    assert_eq!(
        stand_in.count("Organizations.ListAccountsForParent")
            - stand_in
                .throttled()
                .get("Organizations.ListAccountsForParent")
                .copied()
                .unwrap_or(0),
        1 + 6 * 3
    );
    assert_eq!(stand_in.count("Organizations.ListTagsForResource"), 0);
}

/// Tags for every account (300, one call each) at a throttled pace: each call waits its turn
/// among a few reads started at once, not behind all the others, so none runs past a short
/// `--operation-timeout` (3 s here; the walk itself takes about 15 s) and no account is lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_walk_reading_every_accounts_tags_keeps_each_call_within_its_budget() {
    let shape = OrgShape {
        accounts: 300,
        ous: 3,
        first: 200_000_000_000,
        tags: true,
    };
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(20),
        org: shape.clone(),
        org_rate: Some(Rate {
            per_second: 25.0,
            burst: 5.0,
        }),
        org_in_flight: Some(3),
        ..Options::default()
    });
    let mut prefs = desired();
    prefs["inputs"]["s3BucketName"] = "{log_bucket}".into();
    let (rows, walk) = org_plan(&stand_in, &prefs, &["--operation-timeout", "3"]);
    assert_eq!(rows.len(), 300);
    assert!(stand_in.count("Organizations.ListTagsForResource") >= 301);
    assert_eq!(walk["tags_read"], true, "{walk}");
    assert_eq!(walk["complete"], true, "{walk}");
    assert!(walk["duration_ms"].as_u64().unwrap() > 3000, "{walk}");
}

/// `plan --org` on the stand-in with these preferences, the management account left out:
/// its report's rows and its summary's walk (`organization`); it must exit 0.
fn org_plan(
    stand_in: &StandIn,
    prefs: &Value,
    extra: &[&str],
) -> (Vec<std::collections::BTreeMap<String, String>>, Value) {
    let mut args = vec!["plan", "--not-accounts", DEFAULT_ACCOUNT, "-r", "us-east-1"];
    args.extend(extra);
    let (rows, walk, _) = org_run(stand_in, prefs, &args);
    (rows, walk)
}

/// `args` (a command and its flags) with `--org`, these preferences and the stand-in, a report
/// and a summary JSON: the report's rows, the summary's walk and the run's output; it must
/// exit 0.
fn org_run(stand_in: &StandIn, prefs: &Value, args: &[&str]) -> (Rows, Value, String) {
    let mut all = args.to_vec();
    all.push("--no-preflight");
    org_run_checked(stand_in, prefs, &all)
}

/// A report's rows, each by column.
type Rows = Vec<std::collections::BTreeMap<String, String>>;

/// As [`org_run`], with preflight's checks.
fn org_run_checked(stand_in: &StandIn, prefs: &Value, args: &[&str]) -> (Rows, Value, String) {
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &prefs.to_string());
    let report = dir.path("report.csv");
    let summary = dir.path("summary.json");
    let mut all = args.to_vec();
    all.extend([
        "-p",
        prefs.to_str().unwrap(),
        "--org",
        "--endpoint-url",
        &stand_in.url,
        "--no-progress",
        "-o",
        report.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    let out = ssm_prefs(&all);
    assert_eq!(out.code, 0, "{}", out.all());
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    (
        read_report(&report),
        summary["organization"].clone(),
        out.all(),
    )
}

/// `apply --org` on the stand-in whose last OU's accounts are held back until SSM has answered
/// 40 requests (`org_hold`); its report's rows, its summary's walk, and the run's output.
fn org_apply_held(
    stand_in: &StandIn,
    extra: &[&str],
) -> (
    Vec<std::collections::BTreeMap<String, String>>,
    Value,
    String,
) {
    let mut args = vec!["apply", "--yes", "-r", "us-east-1,eu-west-1"];
    args.extend(extra);
    org_run(stand_in, &desired(), &args)
}

const HELD: OrgShape = OrgShape {
    accounts: 60,
    ous: 3,
    first: 200_000_000_000,
    tags: false,
};

/// `--org` streams its accounts into the run: the last OU's accounts are listed only once SSM
/// has answered 40 requests, which the targets of the accounts found before make only if they
/// start while the walk goes on. Every account (the management account with the base
/// credentials) but the one left out by its id still ends as one row per region, and what was
/// written is read back.
#[tokio::test(flavor = "multi_thread")]
async fn the_walk_streams_each_account_into_the_run_as_it_finds_it() {
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(5),
        org: HELD,
        org_hold: Some(40),
        ..Options::default()
    });
    // One member left out by its id (asked of Organizations before the walk).
    let left_out = HELD.ids().next().unwrap();
    let (rows, walk, out) = org_apply_held(&stand_in, &["--not-accounts", &left_out]);
    assert_eq!(
        stand_in.held_too_long(),
        0,
        "the targets waited for the walk:\n{out}"
    );
    assert!(out.contains("runs as the walk finds it"), "{out}");
    let mut ids: Vec<String> = HELD.ids().filter(|id| *id != left_out).collect();
    ids.push(DEFAULT_ACCOUNT.to_string());
    ids.sort();
    let regions = ["us-east-1", "eu-west-1"];
    let mut got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["account_id"].clone(),
                r["region"].clone(),
                r["status"].clone(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, String)> = ids
        .iter()
        .flat_map(|id| regions.map(|r| (id.clone(), r.to_string(), "created".to_string())))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(walk["accounts"], 61, "{walk}");
    assert_eq!(walk["complete"], true, "{walk}");
    assert_eq!(walk["tags_read"], false, "{walk}");
    // The management account is the caller's: written with the base credentials.
    assert_eq!(stand_in.count("AssumeRole"), 59);
    // Every Organizations call counted, the one asking for the account left out too.
    let org_calls: u64 = stand_in
        .counts()
        .iter()
        .filter(|(op, _)| op.starts_with("Organizations."))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(walk["calls"], org_calls, "{walk}");
    assert_eq!(stand_in.count("Organizations.DescribeAccount"), 1);
    let want_doc = desired();
    for ((id, region), doc) in read_all(&stand_in.url, &ids, &regions, DOC).await {
        let (_, text) = doc.unwrap_or_else(|| panic!("{id}/{region}: no document"));
        let text = text
            .replace("{account_id}", &id)
            .replace("{region}", &region);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            want_doc,
            "{id}/{region}"
        );
    }
}

/// Where an account is named by its name (`--not-accounts`: it must be in the organization),
/// the walk ends before the first target starts, as it always did: the held OU waits out its
/// hold, and the run still covers every account but the one left out.
#[tokio::test(flavor = "multi_thread")]
async fn a_selection_that_names_an_account_walks_the_whole_organization_first() {
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(5),
        org: HELD,
        org_hold: Some(40),
        ..Options::default()
    });
    // Named by its name: only the walk can say whether the organization holds it.
    let (rows, walk, out) = org_apply_held(&stand_in, &["--not-accounts", "bench-00001"]);
    assert_eq!(stand_in.held_too_long(), 1, "{out}");
    assert!(!out.contains("runs as the walk finds it"), "{out}");
    assert_eq!(rows.len(), 60 * 2);
    assert!(rows.iter().all(|r| r["status"] == "created"));
    assert_eq!(walk["complete"], true, "{walk}");
}

/// Ctrl-C while the walk is held (its last OU's accounts listed only after 15 s): the run ends
/// at once, not when the walk would, with nothing written, every account found reported (the
/// read phase interrupted: each target skipped), and the summary saying the walk stopped.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_a_streamed_walk_ends_the_run_and_the_walk_at_once() {
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(5),
        org: HELD,
        org_hold: Some(u64::MAX),
        ..Options::default()
    });
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let report = dir.path("apply.csv");
    let summary = dir.path("apply.json");
    let args = [
        "apply",
        "--yes",
        "-v",
        "-p",
        prefs.to_str().unwrap(),
        "--org",
        "-r",
        "us-east-1",
        "--endpoint-url",
        &stand_in.url,
        "--no-preflight",
        "--no-progress",
        "-o",
        report.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    let mut run = Watched::start(args);
    run.wait_for_rows("would-create", 10, Duration::from_secs(60));
    let interrupted = Instant::now();
    run.signal("-INT");
    let out = run.finish(Duration::from_secs(60), "the interrupted run");
    let took = interrupted.elapsed();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        took < Duration::from_secs(10),
        "{took:?}: the run waited for the walk"
    );
    assert_eq!(stand_in.count("CreateDocument"), 0);
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let walk = &summary["organization"];
    assert_eq!(walk["complete"], false, "{walk}");
    assert_eq!(walk["streamed"], true, "{walk}");
    // The walk given up says how far it got: the root and two OUs read, the held one not.
    assert_eq!(
        (&walk["ous_walked"], &walk["ous_left"]),
        (&json!(3), &json!(1)),
        "{walk}"
    );
    let rows = read_report(&report);
    // Each account found (at most the root's and the two OUs' not held: 41) has its row.
    assert_eq!(Some(rows.len() as u64), walk["accounts"].as_u64(), "{walk}");
    assert!((10..=41).contains(&rows.len()), "{rows:?}");
    assert!(rows.iter().all(|r| r["status"] == "skipped"), "{rows:?}");
}

/// `--not-accounts` with an id the organization does not hold, where the run would stream: bad
/// input (exit 2, naming it) before the walk, and no target touched.
#[test]
fn an_account_left_out_that_the_organization_does_not_hold_is_bad_input() {
    let stand_in = StandIn::start_with(Options {
        org: HELD,
        ..Options::default()
    });
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let report = dir.path("apply.csv");
    let out = ssm_prefs([
        "apply",
        "--yes",
        "-p",
        prefs.to_str().unwrap(),
        "--org",
        "-r",
        "us-east-1",
        "--not-accounts",
        "999999999999",
        "--endpoint-url",
        &stand_in.url,
        "--no-preflight",
        "-o",
        report.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("--not-accounts")
            && out
                .stderr
                .contains("no account \"999999999999\" in the organization"),
        "{}",
        out.stderr
    );
    assert!(!report.exists());
    assert_eq!(stand_in.count("Organizations.ListAccountsForParent"), 0);
    assert_eq!(stand_in.count("AssumeRole"), 0);
}

/// S3 logging and nodes, the member role denied `s3:ListAllMyBuckets`: whether the bucket is
/// the account's own cannot be told, so its bucket policy may decide for the nodes unseen. That
/// is said (`CheckUnverified`, naming the permission), never a silent pass, and `--strict`
/// blocks on it.
#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_whose_owner_cannot_be_listed_is_unverified_for_the_nodes() {
    let stand_in = StandIn::start_with(Options {
        nodes_per_target: 2,
        s3_denied: vec!["ListBuckets"],
        ..Options::default()
    });
    let ids = accounts(1);
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &["us-east-1"]));
    let prefs = json!({
        "schemaVersion": "1.0",
        "description": "S3 logging",
        "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": "logs-{account_id}", "s3EncryptionEnabled": true}
    });
    let prefs = dir.write("prefs.json", &prefs.to_string());
    for (strict, status) in [(false, "would-create"), (true, "blocked")] {
        let report = dir.path(&format!("plan-{strict}.csv"));
        let mut args = inventory_line("plan", &inv, &prefs, &report, &stand_in.url);
        args.push("--no-progress");
        if strict {
            args.push("--strict");
        }
        // Preflight on (the fixtures' runs leave it out unless told).
        let out = preflight_command(&args).output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let rows = read_report(&report);
        assert_eq!(rows.len(), 1, "{all}");
        let row = &rows[0];
        assert_eq!(row["status"], status, "{row:?}\n{all}");
        assert!(row["findings"].contains("CheckUnverified"), "{row:?}");
        assert!(
            row["error_message"].contains("the member role needs s3:ListAllMyBuckets"),
            "{row:?}"
        );
        assert_eq!(row["nodes"], "2", "{row:?}");
    }
    assert!(stand_in.count("ListBuckets") >= 2);
}

//! Preflight end to end: a fleet whose accounts each hold (or lack, or hold broken) the bucket,
//! log group and KMS key the preferences name, set up through the SDK in each account on the
//! emulator; then `plan`, `apply`, `audit`, `--strict` and `--no-preflight` are run through
//! the counting proxy and every report row is compared with one expected table. Also the
//! static naming checks of `validate`.
//!
//! Every run here goes through [`preflight_command`] (the arguments as given): the fixtures'
//! `ssm_prefs` adds `--no-preflight`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_config::BehaviorVersion;
use aws_config::sts::AssumeRoleProvider;
use serde_json::{Value, json};

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::{CHECK_SERVICES, Faults, Proxy};

const REGIONS2: [&str; 2] = ["us-east-1", "eu-west-1"];
const GROUP: &str = "/ssm/sessions";
const ALIAS: &str = "alias/ssm-sessions";

/// How an account's world departs from the healthy one (in every region: a KMS key with the
/// alias, the log group encrypted with it, the encrypted bucket in its region).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    None,
    /// The buckets exist without default encryption.
    BucketsUnencrypted,
    /// No bucket at all.
    BucketsMissing,
    /// No log group in this region.
    NoLogGroupIn(&'static str),
    /// The log group of this region has no KMS key.
    LogGroupUnencryptedIn(&'static str),
    /// The key of this region is disabled.
    KeyDisabledIn(&'static str),
    /// The key of this region is pending deletion.
    KeyPendingDeletionIn(&'static str),
    /// The proxy answers this account's GetBucketEncryption with AccessDenied.
    DenyBucketEncryption,
    /// This region's bucket was created in us-east-1.
    BucketInUsEast1For(&'static str),
    /// `kmsKeyId` (its inventory var `kms_key`) is the ARN of this region's key, for every
    /// region of the account.
    KeyArnOf(&'static str),
}

/// One expected finding: (code, severity, subject), as the `findings` column writes it.
type Expected = BTreeSet<(String, String, String)>;

fn f(code: &str, severity: &str, subject: &str) -> (String, String, String) {
    (code.into(), severity.into(), subject.into())
}

/// An account's S3, CloudWatch Logs and KMS clients on the emulator (straight, not through
/// the proxy), acting in `account` through AssumeRole, as the fixtures' `ssm_in` does.
struct Clients {
    s3: aws_sdk_s3::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    kms: aws_sdk_kms::Client,
}

async fn clients_in(endpoint: &str, account: &str, region: &str) -> Clients {
    let base = base_config(endpoint, "AKIATESTSETUP0000001", "setup").await;
    let role = AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/TestSetup"))
        .session_name("test-setup")
        .configure(&base)
        .build()
        .await;
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(role)
        .load()
        .await;
    Clients {
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        ),
        logs: aws_sdk_cloudwatchlogs::Client::new(&conf),
        kms: aws_sdk_kms::Client::new(&conf),
    }
}

async fn create_bucket(c: &Clients, name: &str, region: &str, encrypted: bool) {
    use aws_sdk_s3::types::*;
    let mut req = c.s3.create_bucket().bucket(name);
    if region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
    if encrypted {
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()
                    .unwrap(),
            )
            .build();
        c.s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("encrypt bucket {name}: {e:?}"));
    }
}

/// A [`Fleet`] whose accounts hold what preflight checks (buckets, log groups, keys), each
/// account broken as its [`Break`] says.
struct World {
    fleet: Fleet,
    breaks: Vec<Break>,
    /// One bucket per account (`ssm-logs-ID-shared`, in us-east-1) instead of one per target.
    shared_bucket: bool,
    /// (account, region) → the ARN of the key behind the alias there.
    key_arns: BTreeMap<(String, String), String>,
}

impl std::ops::Deref for World {
    type Target = Fleet;
    fn deref(&self) -> &Fleet {
        &self.fleet
    }
}

impl World {
    async fn build(breaks: &[Break], shared_bucket: bool) -> World {
        let started = Instant::now();
        let url = emulator().url.clone();
        let ids = accounts(breaks.len());
        let tasks = ids.iter().zip(breaks).flat_map(|(id, b)| {
            let url = url.clone();
            REGIONS2.iter().map(move |region| {
                let (url, id, b, region) = (url.clone(), id.clone(), *b, *region);
                async move {
                    let arn = set_up(&url, &id, region, b, shared_bucket).await;
                    ((id, region.to_string()), arn)
                }
            })
        });
        let key_arns: BTreeMap<_, _> = futures::future::join_all(tasks).await.into_iter().collect();
        let mut inv = format!(
            "regions: [{}]\nvars: {{kms_key: {ALIAS}}}\naccounts:\n",
            REGIONS2.join(", ")
        );
        for (i, (id, b)) in ids.iter().zip(breaks).enumerate() {
            inv.push_str(&format!("  - account_id: \"{id}\"\n    name: acct-{i}\n"));
            if let Break::KeyArnOf(r) = b {
                let arn = &key_arns[&(id.clone(), r.to_string())];
                inv.push_str(&format!("    vars: {{kms_key: \"{arn}\"}}\n"));
            }
        }
        let bucket = if shared_bucket {
            "ssm-logs-{account_id}-shared"
        } else {
            "ssm-logs-{account_id}-{region}"
        };
        let prefs =
            serde_json::to_string_pretty(&template(bucket, "{account_id}", "{kms_key}")).unwrap();
        let fleet = Fleet::with_files(ids, &REGIONS2, &inv, &prefs);
        let denied: Vec<(String, String)> = fleet
            .ids
            .iter()
            .zip(breaks)
            .filter(|(_, b)| **b == Break::DenyBucketEncryption)
            .map(|(id, _)| (id.clone(), "GetBucketEncryption".to_string()))
            .collect();
        fleet.proxy.set_faults(Faults {
            deny_in_account: denied,
            ..Default::default()
        });
        println!(
            "preflight world: {} accounts × {} regions set up in {:?}",
            fleet.ids.len(),
            REGIONS2.len(),
            started.elapsed()
        );
        World {
            fleet,
            breaks: breaks.to_vec(),
            shared_bucket,
            key_arns,
        }
    }

    fn bucket(&self, id: &str, region: &str) -> String {
        bucket_name(id, region, self.shared_bucket)
    }

    fn break_of(&self, id: &str) -> Break {
        self.breaks[self.ids.iter().position(|i| i == id).unwrap()]
    }

    /// The `kmsKeyId` rendered for this target.
    fn kms_key(&self, id: &str) -> String {
        match self.break_of(id) {
            Break::KeyArnOf(r) => self.key_arns[&(id.to_string(), r.to_string())].clone(),
            _ => ALIAS.to_string(),
        }
    }

    /// The preferences rendered for this target.
    fn rendered(&self, id: &str, region: &str) -> Value {
        template(&self.bucket(id, region), id, &self.kms_key(id))
    }

    fn targets(&self) -> Vec<(String, String)> {
        self.targets_of(&self.ids)
    }

    fn targets_of(&self, ids: &[String]) -> Vec<(String, String)> {
        ids.iter()
            .flat_map(|id| REGIONS2.iter().map(move |r| (id.clone(), r.to_string())))
            .collect()
    }

    /// What preflight should find for this target; `gone` holds the accounts whose buckets
    /// were deleted since the set-up.
    fn expected(&self, id: &str, region: &str, strict: bool, gone: &[&String]) -> Expected {
        let bucket = self.bucket(id, region);
        let mut out = Expected::new();
        let here = |r: &str| r == region;
        if gone.iter().any(|g| *g == id) {
            out.insert(f("BucketNotFound", "blocking", &bucket));
        } else {
            match self.break_of(id) {
                Break::BucketsUnencrypted => {
                    out.insert(f("BucketNotEncrypted", "blocking", &bucket));
                }
                Break::BucketsMissing => {
                    out.insert(f("BucketNotFound", "blocking", &bucket));
                }
                Break::DenyBucketEncryption => {
                    out.insert(f("CheckUnverified", "unverified", &bucket));
                }
                Break::BucketInUsEast1For(r) if here(r) => {
                    out.insert(f("BucketInOtherRegion", "warning", &bucket));
                }
                _ => {}
            }
            // The shared bucket lives in us-east-1: the other region's targets are told.
            if self.shared_bucket && region != "us-east-1" {
                out.insert(f("BucketInOtherRegion", "warning", &bucket));
            }
        }
        match self.break_of(id) {
            Break::NoLogGroupIn(r) if here(r) => {
                out.insert(f("LogGroupNotFound", "blocking", GROUP));
            }
            Break::LogGroupUnencryptedIn(r) if here(r) => {
                out.insert(f("LogGroupNotEncrypted", "blocking", GROUP));
            }
            Break::KeyDisabledIn(r) | Break::KeyPendingDeletionIn(r) if here(r) => {
                out.insert(f("KmsKeyNotEnabled", "blocking", ALIAS));
            }
            Break::KeyArnOf(r) if !here(r) => {
                out.insert(f("KmsKeyInOtherRegion", "blocking", &self.kms_key(id)));
            }
            _ => {}
        }
        if strict {
            out = out
                .into_iter()
                .map(|(c, _, s)| (c, "blocking".to_string(), s))
                .collect();
        }
        out
    }

    /// Runs the binary through the proxy, with the arguments as given (preflight on unless
    /// `extra` says otherwise); apply gets `--yes`.
    fn run(&self, cmd: &str, report: &str, extra: &[&str]) -> (Run, PathBuf) {
        let path = self.dir.path(report);
        let mut args = inventory_line(cmd, &self.inv, &self.prefs, &path, &self.proxy.url);
        args.extend(extra);
        let started = Instant::now();
        let out = preflight_command(&args).output().expect("run ssm-prefs");
        println!(
            "preflight: `{cmd} {}` took {:?}",
            extra.join(" "),
            started.elapsed()
        );
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!run.all().contains("panicked"), "{}", run.all());
        (run, path)
    }

    /// Compares every row of `report` with the table: exactly the targets of `expected`, each
    /// with the status and action `status_of` gives for (blocked, findings), its findings,
    /// and, as it has no error of its own, the worst finding as its error code and every
    /// finding's subject in its error message.
    fn check_rows(
        &self,
        what: &str,
        report: &Path,
        expected: &BTreeMap<(String, String), Expected>,
        status_of: impl Fn(&(String, String), bool) -> (&'static str, &'static str),
    ) {
        let rows = rows_by_target(report);
        assert_eq!(
            rows.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{what}: one row per selected target"
        );
        // The fifteen columns of before preflight, then `findings` (the brief has it last; a
        // column added after it by later work does not change what this test is about).
        let header = read_header(report);
        let before = [
            "account_id",
            "account_name",
            "region",
            "document_name",
            "action",
            "status",
            "previous_version",
            "document_version",
            "content_sha256",
            "changed_inputs",
            "error_code",
            "error_message",
            "attempts",
            "started_at",
            "duration_ms",
            "findings",
        ];
        assert_eq!(
            header.iter().take(before.len()).collect::<Vec<_>>(),
            before.iter().collect::<Vec<_>>(),
            "{what}: findings follows the columns of before preflight: {header:?}"
        );
        for (target, want) in expected {
            let row = &rows[target];
            let blocked = want.iter().any(|(_, s, _)| s == "blocking");
            let (status, action) = status_of(target, blocked);
            let found = parse_findings(&row["findings"]);
            let found_set: Expected = found.iter().cloned().collect();
            assert_eq!(
                (row["status"].as_str(), row["action"].as_str(), &found_set),
                (status, action, want),
                "{what}: {target:?}: {row:?}"
            );
            assert_eq!(found.len(), want.len(), "{what}: {target:?}: {row:?}");
            let rank = |s: &str| {
                ["blocking", "warning", "unverified"]
                    .iter()
                    .position(|x| *x == s)
            };
            let worst = found.iter().min_by_key(|(_, s, _)| rank(s));
            match worst {
                None => assert_eq!(
                    (row["error_code"].as_str(), row["error_message"].as_str()),
                    ("", ""),
                    "{what}: {target:?}: no finding, no error"
                ),
                Some((code, _, _)) => {
                    assert_eq!(&row["error_code"], code, "{what}: {target:?}: {row:?}");
                    for (_, _, subject) in &found {
                        assert!(
                            row["error_message"].contains(subject.as_str()),
                            "{what}: {target:?}: the message names {subject}: {row:?}"
                        );
                    }
                }
            }
            if found.iter().any(|(c, _, _)| c == "CheckUnverified") {
                let m = &row["error_message"];
                assert!(
                    m.contains("AccessDenied") && m.contains("s3:GetEncryptionConfiguration"),
                    "{what}: {target:?}: an unverified check names the error and the missing permission: {m}"
                );
            }
        }
    }

    /// Every target's document read back through the SDK: `blocked` targets have none, the
    /// others hold exactly their rendered preferences, as the apply report says.
    async fn check_written(&self, report: &Path, expected: &BTreeMap<(String, String), Expected>) {
        let rows = rows_by_target(report);
        let state = read_all(&self.url, &self.ids, &REGIONS2, DOC).await;
        for ((id, region), found) in state {
            let want = &expected[&(id.clone(), region.clone())];
            let blocked = want.iter().any(|(_, s, _)| s == "blocking");
            match (blocked, found) {
                (true, None) => {}
                (true, Some(doc)) => panic!("{id}/{region} was blocked but written: {doc:?}"),
                (false, None) => panic!("{id}/{region} was not blocked but holds no document"),
                (false, Some((version, content))) => {
                    assert_eq!(
                        serde_json::from_str::<Value>(&content).unwrap(),
                        self.rendered(&id, &region),
                        "{id}/{region} holds its rendered preferences"
                    );
                    let row = &rows[&(id.clone(), region.clone())];
                    assert_eq!(row["document_version"], version, "{id}/{region}");
                    assert_eq!(
                        row["content_sha256"],
                        sha256_hex(content.as_bytes()),
                        "{id}/{region}"
                    );
                }
            }
        }
    }

    fn table(
        &self,
        targets: &[(String, String)],
        strict: bool,
        gone: &[&String],
    ) -> BTreeMap<(String, String), Expected> {
        targets
            .iter()
            .map(|(id, r)| ((id.clone(), r.clone()), self.expected(id, r, strict, gone)))
            .collect()
    }
}

fn bucket_name(id: &str, region: &str, shared: bool) -> String {
    if shared {
        format!("ssm-logs-{id}-shared")
    } else {
        format!("ssm-logs-{id}-{region}")
    }
}

/// The preferences with these values (placeholders, or a target's rendered values).
fn template(bucket: &str, account: &str, kms_key: &str) -> Value {
    json!({
        "schemaVersion": "1.0",
        "description": "Session Manager preferences, checked before they are written",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": bucket,
            "s3KeyPrefix": format!("sessions/{account}"),
            "s3EncryptionEnabled": true,
            "cloudWatchLogGroupName": GROUP,
            "cloudWatchEncryptionEnabled": true,
            "kmsKeyId": kms_key,
            "runAsEnabled": false,
            "runAsDefaultUser": "",
            "idleSessionTimeout": "20"
        }
    })
}

/// Sets up one account's region as `b` says; returns the ARN of the key behind the alias.
async fn set_up(
    url: &str,
    id: &str,
    region: &'static str,
    b: Break,
    shared_bucket: bool,
) -> String {
    let c = clients_in(url, id, region).await;
    let key = c
        .kms
        .create_key()
        .description("Session Manager sessions")
        .send()
        .await
        .unwrap_or_else(|e| panic!("create a key in {id}/{region}: {e:?}"))
        .key_metadata
        .unwrap();
    let (key_id, arn) = (key.key_id().to_string(), key.arn().unwrap().to_string());
    c.kms
        .create_alias()
        .alias_name(ALIAS)
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create the alias in {id}/{region}: {e:?}"));
    if b != Break::NoLogGroupIn(region) {
        let key = (b != Break::LogGroupUnencryptedIn(region)).then(|| arn.clone());
        c.logs
            .create_log_group()
            .log_group_name(GROUP)
            .set_kms_key_id(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create the log group in {id}/{region}: {e:?}"));
    }
    let bucket = bucket_name(id, region, shared_bucket);
    let bucket_region = match b {
        Break::BucketInUsEast1For(r) if r == region => "us-east-1",
        _ if shared_bucket => "us-east-1",
        _ => region,
    };
    let makes_bucket = b != Break::BucketsMissing && !(shared_bucket && region != "us-east-1");
    if makes_bucket {
        let encrypted = b != Break::BucketsUnencrypted;
        if bucket_region == region {
            create_bucket(&c, &bucket, region, encrypted).await;
        } else {
            let there = clients_in(url, id, bucket_region).await;
            create_bucket(&there, &bucket, bucket_region, encrypted).await;
        }
    }
    if b == Break::KeyDisabledIn(region) {
        c.kms
            .disable_key()
            .key_id(&key_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("disable the key in {id}/{region}: {e:?}"));
    }
    if b == Break::KeyPendingDeletionIn(region) {
        c.kms
            .schedule_key_deletion()
            .key_id(&key_id)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap_or_else(|e| panic!("schedule the key's deletion in {id}/{region}: {e:?}"));
    }
    arn
}

fn read_header(report: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(report).unwrap();
    r.headers().unwrap().iter().map(String::from).collect()
}

/// The `findings` cell: `Code(severity) subject` joined by `; `, in the row's order.
fn parse_findings(cell: &str) -> Vec<(String, String, String)> {
    cell.split("; ")
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (code, rest) = item
                .split_once('(')
                .unwrap_or_else(|| panic!("finding {item:?} is not `Code(severity) subject`"));
            let (severity, subject) = rest
                .split_once(") ")
                .unwrap_or_else(|| panic!("finding {item:?} is not `Code(severity) subject`"));
            f(code, severity, subject)
        })
        .collect()
}

/// The terminal's `preflight findings:` block: one line per distinct finding with the number
/// of targets carrying it, blocking first, then warnings, then unverified, the most common
/// first within each.
fn check_summary(what: &str, out: &Run, table: &BTreeMap<(String, String), Expected>) {
    let mut groups: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for fs in table.values() {
        for (c, s, subject) in fs {
            *groups
                .entry((c.clone(), s.clone(), subject.clone()))
                .or_default() += 1;
        }
    }
    let text = out.all();
    let Some(start) = text.find("preflight findings:\n") else {
        assert!(
            groups.is_empty(),
            "{what}: no `preflight findings:` block:\n{text}"
        );
        return;
    };
    assert!(
        !groups.is_empty(),
        "{what}: a findings block with nothing found:\n{text}"
    );
    let block: Vec<&str> = text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  ") && l.contains(" target"))
        .collect();
    let line = |((c, s, subject), n): (&(String, String, String), &usize)| {
        let noun = if *n == 1 { "target" } else { "targets" };
        format!("  {n} {noun}: {c} ({s}) {subject}")
    };
    let want: BTreeSet<String> = groups.iter().map(line).collect();
    let got: BTreeSet<String> = block.iter().map(|l| l.to_string()).collect();
    assert_eq!(
        got.len(),
        block.len(),
        "{what}: a group shown twice:\n{text}"
    );
    // Blocking, then warning, then unverified; within each, the most common first.
    let rank = |l: &str| {
        let severity = ["(blocking)", "(warning)", "(unverified)"]
            .iter()
            .position(|s| l.contains(s))
            .unwrap();
        let n: usize = l.trim_start().split(' ').next().unwrap().parse().unwrap();
        (severity, std::cmp::Reverse(n))
    };
    let keys: Vec<_> = block.iter().map(|l| rank(l)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{what}: the order of the groups:\n{text}");
    // At most 12 groups are shown, then how many more there are.
    const SHOWN: usize = 12;
    assert_eq!(block.len(), want.len().min(SHOWN), "{what}:\n{text}");
    assert!(
        got.is_subset(&want),
        "{what}: the grouped findings:\n{text}\nwant {want:#?}"
    );
    let rest = text[start..].lines().nth(1 + block.len()).unwrap_or("");
    if want.len() > SHOWN {
        assert_eq!(
            rest,
            format!(
                "  … and {} more distinct findings (see the report's findings)",
                want.len() - SHOWN
            ),
            "{what}:\n{text}"
        );
        let last = keys.last().unwrap();
        for left_out in want.difference(&got) {
            assert!(
                rank(left_out) >= *last,
                "{what}: {left_out:?} left out before a less severe or rarer group:\n{text}"
            );
        }
    } else {
        assert!(!rest.contains("more distinct findings"), "{what}:\n{text}");
    }
}

/// (account, subject) → requests seen, for one operation.
fn per_subject(
    proxy: &Proxy,
    operation: &str,
    subject: impl Fn(&crate::support::proxy::Seen) -> String,
) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for s in proxy.seen_of(operation) {
        *out.entry((s.account.clone(), subject(&s))).or_default() += 1;
    }
    out
}

fn assert_once_each(
    what: &str,
    seen: &BTreeMap<(String, String), usize>,
    want: &BTreeSet<(String, String)>,
) {
    let many: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(many.is_empty(), "{what}: asked more than once: {many:?}");
    let asked: BTreeSet<_> = seen.keys().cloned().collect();
    assert_eq!(&asked, want, "{what}: asked for exactly these");
}

/// Plan, apply and audit over a fleet where each account breaks one thing: the targets that
/// would break sessions are blocked and never written, the others are written and carry their
/// warnings and unverified findings; audit carries the findings too, and a bucket deleted
/// after the rollout makes compliant targets count as failures. Also `--strict`,
/// `--no-preflight`, and one check per (account, bucket) and per (account, region).
#[tokio::test(flavor = "multi_thread")]
async fn preflight_blocks_what_would_break_sessions_and_writes_the_rest() {
    let started = Instant::now();
    // Index i is the brief's account i + 1.
    let breaks = [
        Break::None,                               // 0: healthy (its buckets go later)
        Break::BucketsUnencrypted,                 // 1
        Break::BucketsMissing,                     // 2
        Break::NoLogGroupIn("eu-west-1"),          // 3
        Break::LogGroupUnencryptedIn("us-east-1"), // 4
        Break::KeyDisabledIn("us-east-1"),         // 5
        Break::KeyPendingDeletionIn("eu-west-1"),  // 6
        Break::DenyBucketEncryption,               // 7
        Break::BucketInUsEast1For("eu-west-1"),    // 8
        Break::KeyArnOf("us-east-1"),              // 9
        Break::None,                               // 10: healthy throughout
    ];
    let w = World::build(&breaks, false).await;
    let ids = w.ids.clone();
    let all = w.targets();
    let table = w.table(&all, false, &[]);
    // The table is what the brief describes: spot-check its blocked targets.
    let blocked: BTreeSet<(String, String)> = table
        .iter()
        .filter(|(_, fs)| fs.iter().any(|(_, s, _)| s == "blocking"))
        .map(|(t, _)| t.clone())
        .collect();
    let t = |i: usize, r: &str| (ids[i].clone(), r.to_string());
    let want_blocked: BTreeSet<_> = [
        t(1, "us-east-1"),
        t(1, "eu-west-1"),
        t(2, "us-east-1"),
        t(2, "eu-west-1"),
        t(3, "eu-west-1"),
        t(4, "us-east-1"),
        t(5, "us-east-1"),
        t(6, "eu-west-1"),
        t(9, "eu-west-1"),
    ]
    .into();
    assert_eq!(blocked, want_blocked);

    // plan: blocked where a blocking finding stands, would-create elsewhere; exit 1.
    w.proxy.clear();
    let (out, report) = w.run("plan", "plan.csv", &[]);
    assert_eq!(
        out.code,
        1,
        "plan exits 1 with blocked targets:\n{}",
        out.all()
    );
    w.check_rows("plan", &report, &table, |_, b| {
        (if b { "blocked" } else { "would-create" }, "create")
    });
    check_summary("plan", &out, &table);
    assert!(
        out.all()
            .contains("  2 targets: KmsKeyNotEnabled (blocking) alias/ssm-sessions\n"),
        "{}",
        out.all()
    );
    assert_eq!(w.proxy.writes(), 0, "plan writes nothing");

    // Each check once: a bucket per (account, bucket), a log group and a key per
    // (account, region); and no KMS call for a key ARN of another region.
    let buckets = |ids: &[String]| -> BTreeSet<(String, String)> {
        w.targets_of(ids)
            .into_iter()
            .map(|(id, r)| {
                let b = w.bucket(&id, &r);
                (id, b)
            })
            .collect()
    };
    let location = per_subject(&w.proxy, "HeadBucket", |s| {
        s.bucket().unwrap_or_default().to_string()
    });
    assert_once_each("HeadBucket", &location, &buckets(&ids));
    let existing: Vec<String> = ids
        .iter()
        .filter(|id| w.break_of(id) != Break::BucketsMissing)
        .cloned()
        .collect();
    let encryption = per_subject(&w.proxy, "GetBucketEncryption", |s| {
        s.bucket().unwrap_or_default().to_string()
    });
    assert_once_each("GetBucketEncryption", &encryption, &buckets(&existing));
    let groups = per_subject(&w.proxy, "DescribeLogGroups", |s| s.region.clone());
    assert_once_each("DescribeLogGroups", &groups, &all.iter().cloned().collect());
    let keys = per_subject(&w.proxy, "DescribeKey", |s| s.region.clone());
    let mut key_targets: BTreeSet<_> = all.iter().cloned().collect();
    key_targets.remove(&t(9, "eu-west-1"));
    assert_once_each("DescribeKey", &keys, &key_targets);

    // --no-preflight: no check at all, every target would be created.
    w.proxy.clear();
    let (out, report) = w.run("plan", "plan-unchecked.csv", &["--no-preflight"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let none: BTreeMap<_, _> = all.iter().map(|t| (t.clone(), Expected::new())).collect();
    w.check_rows("plan --no-preflight", &report, &none, |_, _| {
        ("would-create", "create")
    });
    assert!(!out.all().contains("preflight findings:"), "{}", out.all());
    let checks: Vec<_> = w
        .proxy
        .seen()
        .into_iter()
        .filter(|s| CHECK_SERVICES.contains(&s.service.as_str()))
        .map(|s| (s.service, s.operation))
        .collect();
    assert!(checks.is_empty(), "--no-preflight sent checks: {checks:?}");
    assert!(
        w.proxy.count("GetDocument") > 0,
        "the plan went through the proxy"
    );

    // Warnings and unverified checks do not fail a run; under --strict they block.
    let picked = vec![ids[0].clone(), ids[7].clone(), ids[8].clone()];
    let picked_arg = picked.join(",");
    let mild = w.table(&w.targets_of(&picked), false, &[]);
    let (out, report) = w.run("plan", "plan-mild.csv", &["-a", &picked_arg]);
    assert_eq!(
        out.code,
        0,
        "warnings and unverified findings alone: exit 0\n{}",
        out.all()
    );
    w.check_rows("plan -a", &report, &mild, |_, _| ("would-create", "create"));
    check_summary("plan -a", &out, &mild);
    let strict = w.table(&w.targets_of(&picked), true, &[]);
    let (out, report) = w.run("plan", "plan-strict.csv", &["--strict", "-a", &picked_arg]);
    assert_eq!(out.code, 1, "--strict blocks them: exit 1\n{}", out.all());
    w.check_rows("plan --strict", &report, &strict, |_, b| {
        (if b { "blocked" } else { "would-create" }, "create")
    });
    check_summary("plan --strict", &out, &strict);
    let rows = rows_by_target(&report);
    for region in REGIONS2 {
        let m = &rows[&t(7, region)]["error_message"];
        assert!(m.ends_with("(unverified, blocking under --strict)"), "{m}");
    }
    let m = &rows[&t(8, "eu-west-1")]["error_message"];
    assert!(m.ends_with("(warning, blocking under --strict)"), "{m}");

    // apply: the same statuses, created for would-create; blocked targets are not written.
    w.proxy.clear();
    let (out, report) = w.run("apply", "apply.csv", &[]);
    assert_eq!(
        out.code,
        1,
        "apply exits 1 with blocked targets:\n{}",
        out.all()
    );
    w.check_rows("apply", &report, &table, |_, b| {
        (if b { "blocked" } else { "created" }, "create")
    });
    check_summary("apply", &out, &table);
    assert_eq!(
        w.proxy.count("CreateDocument"),
        all.len() - blocked.len(),
        "one create per target not blocked, none for blocked ones"
    );
    w.check_written(&report, &table).await;

    // audit: compliant where written (with their warnings and unverified findings), missing
    // where blocked (with their findings); exit 1.
    let (out, report) = w.run("audit", "audit.csv", &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    w.check_rows("audit", &report, &table, |_, b| {
        if b {
            ("missing", "create")
        } else {
            ("compliant", "none")
        }
    });
    check_summary("audit", &out, &table);
    let (out, report) = w.run("audit", "audit-mild.csv", &["-a", &picked_arg]);
    assert_eq!(
        out.code,
        0,
        "compliant with a warning or an unverified check is done:\n{}",
        out.all()
    );
    w.check_rows("audit -a", &report, &mild, |_, _| ("compliant", "none"));

    // The healthy account's buckets are deleted: its targets stay compliant but carry
    // BucketNotFound (blocking), and count as failures.
    for region in REGIONS2 {
        let c = clients_in(&w.url, &ids[0], region).await;
        c.s3.delete_bucket()
            .bucket(w.bucket(&ids[0], region))
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete the bucket in {region}: {e:?}"));
    }
    let gone = [&ids[0]];
    let after = w.table(&all, false, &gone);
    let (out, report) = w.run("audit", "audit-after.csv", &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    w.check_rows("audit after the bucket went", &report, &after, |t, _| {
        // As the apply left them: written where it was not blocked.
        if blocked.contains(t) {
            ("missing", "create")
        } else {
            ("compliant", "none")
        }
    });
    check_summary("audit after the bucket went", &out, &after);
    let only = w.table(&w.targets_of(&ids[..1]), false, &gone);
    let (out, report) = w.run("audit", "audit-gone.csv", &["-a", &ids[0]]);
    assert_eq!(
        out.code,
        1,
        "compliant targets with a blocking finding fail the audit:\n{}",
        out.all()
    );
    w.check_rows(
        "audit -a the account without buckets",
        &report,
        &only,
        |_, _| ("compliant", "none"),
    );

    // apply again: targets holding the desired content stay unchanged with their findings;
    // a blocking one still fails the run, and nothing is written.
    w.proxy.clear();
    let again = w.table(&w.targets_of(&picked), false, &gone);
    let (out, report) = w.run("apply", "apply-again.csv", &["-a", &picked_arg]);
    assert_eq!(out.code, 1, "{}", out.all());
    w.check_rows("apply again", &report, &again, |_, _| ("unchanged", "none"));
    assert_eq!(w.proxy.writes(), 0, "nothing to write");
    println!("preflight: the fleet test took {:?}", started.elapsed());
}

/// A bucket every region of an account names is asked about once for the account, however
/// many targets share it; the regions it is not in are warned.
#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_shared_by_an_accounts_regions_is_checked_once() {
    let w = World::build(&[Break::None, Break::None], true).await;
    let all = w.targets();
    let table = w.table(&all, false, &[]);
    w.proxy.clear();
    let (out, report) = w.run("plan", "plan.csv", &[]);
    assert_eq!(out.code, 0, "a warning alone: exit 0\n{}", out.all());
    w.check_rows("plan", &report, &table, |_, _| ("would-create", "create"));
    check_summary("plan", &out, &table);
    let shared: BTreeSet<(String, String)> = w
        .ids
        .iter()
        .map(|id| (id.clone(), w.bucket(id, "us-east-1")))
        .collect();
    for op in ["HeadBucket", "GetBucketEncryption"] {
        let seen = per_subject(&w.proxy, op, |s| s.bucket().unwrap_or_default().to_string());
        assert_once_each(op, &seen, &shared);
    }
    for op in ["DescribeLogGroups", "DescribeKey"] {
        let seen = per_subject(&w.proxy, op, |s| s.region.clone());
        assert_once_each(op, &seen, &all.iter().cloned().collect());
    }
}

/// Preferences whose inputs start on line 6, one per line.
fn prefs_with(inputs: &[&str]) -> String {
    format!(
        "{{\n  \"schemaVersion\": \"1.0\",\n  \"description\": \"test\",\n  \"sessionType\": \"Standard_Stream\",\n  \"inputs\": {{\n    {}\n  }}\n}}\n",
        inputs.join(",\n    ")
    )
}

/// `validate`'s static checks of what the preferences name: a name AWS would refuse, or a
/// Run As user that cannot work, is exit 2 with `file:line` and the rule, before any call;
/// with an inventory, a name rendered for one target is checked for that target.
#[test]
fn validate_refuses_names_aws_would_refuse() {
    let dir = Dir::new();
    let validate = |p: &Path, inv: Option<&Path>| {
        let mut args = vec!["validate".to_string(), "-p".into(), p.display().to_string()];
        if let Some(inv) = inv {
            args.extend(["-i".into(), inv.display().to_string()]);
        }
        let out = preflight_command(&args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    // (input lines, the line at fault, the rule the error names)
    let cases: [(&[&str], usize, &str); 4] = [
        (
            // Not even a bucket made before 2018 could be named so (`Org_Logs` could: a
            // warning, tested in new_user.rs).
            &["\"s3BucketName\": \"org+logs\""],
            6,
            "S3 bucket names have only lowercase letters, digits, dots and hyphens",
        ),
        (
            &["\"cloudWatchLogGroupName\": \"/ssm/my sessions\""],
            6,
            "log group names have only letters, digits and _ - / . #",
        ),
        (
            &["\"kmsKeyId\": \"MyKey\""],
            6,
            "is none of the forms KMS accepts",
        ),
        (
            &["\"runAsEnabled\": true", "\"runAsDefaultUser\": \"root\""],
            7,
            "Session Manager does not run sessions as root",
        ),
    ];
    for (i, (inputs, line, rule)) in cases.iter().enumerate() {
        let p = dir.write(&format!("case{i}.json"), &prefs_with(inputs));
        let out = validate(&p, None);
        assert_eq!(out.code, 2, "{inputs:?}:\n{}", out.all());
        let at = format!("{}:{line}: ", p.display());
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(&at) && l.contains(rule)),
            "{inputs:?}: names {at} and the rule {rule:?}:\n{}",
            out.all()
        );
    }
    // All four in one file: every problem at once, each on its own line.
    let inputs: Vec<&str> = cases
        .iter()
        .flat_map(|(i, _, _)| i.iter().copied())
        .collect();
    let p = dir.write("all.json", &prefs_with(&inputs));
    let out = validate(&p, None);
    assert_eq!(out.code, 2, "{}", out.all());
    for (line, (_, _, rule)) in [6, 7, 8, 10].into_iter().zip(&cases) {
        let at = format!("{}:{line}: ", p.display());
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(&at) && l.contains(rule)),
            "names {at} and {rule:?}:\n{}",
            out.all()
        );
    }
    // A templated name is checked as rendered for each target: one account's name has
    // upper case, so its bucket name does, and validate names that target.
    let p = dir.write(
        "named.json",
        &prefs_with(&[
            "\"s3BucketName\": \"ssm-logs-{account_name}\"",
            "\"s3EncryptionEnabled\": true",
        ]),
    );
    let inv = dir.write(
        "inv.yml",
        "regions: [us-east-1]\naccounts:\n  - account_id: \"111111111111\"\n    name: payments-prod\n  - account_id: \"222222222222\"\n    name: Payments-Dev\n",
    );
    let out = validate(&p, Some(&inv));
    assert_eq!(out.code, 2, "{}", out.all());
    let at = format!("{}:6: ", p.display());
    assert!(
        out.stderr.lines().any(|l| l.contains(&at)
            && l.contains("for target 222222222222/us-east-1")
            && l.contains("\"ssm-logs-Payments-Dev\"")
            && l.contains("S3 bucket names have only lowercase letters")),
        "names the file, the line, the target and the rule:\n{}",
        out.all()
    );
    assert!(!out.all().contains("111111111111"), "{}", out.all());
    // The same with every name in lower case passes.
    let ok = dir.write(
        "inv-ok.yml",
        "regions: [us-east-1]\naccounts:\n  - account_id: \"111111111111\"\n    name: payments-prod\n  - account_id: \"222222222222\"\n    name: payments-dev\n",
    );
    let out = validate(&p, Some(&ok));
    assert_eq!(out.code, 0, "{}", out.all());
}

/// HeadBucket names the bucket's region even when it answers 403 (a bucket this account may
/// not list) or 301 (asked through another region's endpoint): preflight takes the region from
/// `x-amz-bucket-region`, warns that the bucket is elsewhere, and asks its encryption there.
#[tokio::test(flavor = "multi_thread")]
async fn a_403_or_301_from_head_bucket_still_names_the_buckets_region() {
    let url = emulator().url.clone();
    let ids = accounts(1);
    let id = &ids[0];
    let there = clients_in(&url, id, "eu-west-1").await;
    for (status, bucket) in [
        (403u16, format!("far-logs-{id}")),
        (301, format!("moved-logs-{id}")),
    ] {
        create_bucket(&there, &bucket, "eu-west-1", true).await;
        let dir = Dir::new();
        let inv = dir.write("inv.yml", &inventory(&ids, &["us-east-1"]));
        let prefs = dir.write("prefs.json", &template(&bucket, id, "").to_string());
        let proxy = Proxy::start(&url);
        proxy.set_faults(Faults {
            head_bucket: Some((bucket.clone(), status, "eu-west-1".into())),
            ..Default::default()
        });
        let report = dir.path("plan.csv");
        let out = preflight_command(inventory_line("plan", &inv, &prefs, &report, &proxy.url))
            .output()
            .unwrap();
        let all = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let row = &rows_by_target(&report)[&(id.clone(), "us-east-1".to_string())];
        let findings = parse_findings(&row["findings"]);
        let about_bucket: Vec<_> = findings.iter().filter(|f| f.2 == bucket).collect();
        assert_eq!(
            about_bucket,
            vec![&f("BucketInOtherRegion", "warning", &bucket)],
            "{status}: {row:?}\n{all}"
        );
        // Its encryption was asked in the bucket's own region.
        let asked: Vec<String> = proxy
            .seen_of("GetBucketEncryption")
            .into_iter()
            .map(|s| s.region)
            .collect();
        assert_eq!(asked, vec!["eu-west-1".to_string()], "{status}");
        assert_eq!(proxy.seen_of("HeadBucket").len(), 1);
    }
}

/// A compliant target whose bucket is gone is FAILED in Security Hub (its sessions log
/// nowhere). No write fixes that, the document holding the preferences: its finding's
/// recommendation names the bucket to restore first, and once it is back (as the
/// recommendation says) the next audit turns the finding PASSED.
#[test]
fn a_gone_buckets_finding_recommends_restoring_it() {
    on_a_large_stack(gone_bucket_finding);
}

async fn gone_bucket_finding() {
    let w = World::build(&[Break::None], false).await;
    let (id, region) = (w.ids[0].clone(), "eu-west-1");
    let (out, _) = w.run("apply", "apply.csv", &["-r", region]);
    assert_eq!(out.code, 0, "{}", out.all());
    let bucket = w.bucket(&id, region);
    let c = clients_in(&w.url, &id, region).await;
    c.s3.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete the bucket: {e:?}"));
    let finding = || async {
        let mut found = aws_sdk_securityhub::Client::new(&config_in(&w.url, &id, region).await)
            .get_findings()
            .send()
            .await
            .expect("GetFindings")
            .findings
            .unwrap_or_default();
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    };
    let (out, _) = w.run("audit", "audit.csv", &["--security-hub", "-r", region]);
    assert_eq!(out.code, 1, "{}", out.all());
    let failed = finding().await;
    assert_eq!(
        failed.compliance().and_then(|c| c.status()),
        Some(&aws_sdk_securityhub::types::ComplianceStatus::Failed)
    );
    let text = failed
        .remediation()
        .and_then(|r| r.recommendation())
        .and_then(|r| r.text())
        .unwrap();
    assert!(
        text.starts_with(&format!(
            "Restore what the preferences name that preflight found unusable (BucketNotFound: {bucket})"
        )),
        "{text}"
    );
    // What it says: the bucket back, encrypted as it was.
    create_bucket(&c, &bucket, region, true).await;
    let (out, _) = w.run("audit", "again.csv", &["--security-hub", "-r", region]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        finding().await.compliance().and_then(|c| c.status()),
        Some(&aws_sdk_securityhub::types::ComplianceStatus::Passed)
    );
}

/// A target's line and its row name what decided the status first: a drifted target's
/// differing input before a preflight warning it also carries, and a blocked target's blocking
/// finding (its `error_code`) before the bucket warning preflight checked first.
#[tokio::test(flavor = "multi_thread")]
async fn a_targets_line_names_what_decided_its_status_first() {
    // Both accounts' bucket is in us-east-1, so eu-west-1 is warned; the second account has
    // no log group in eu-west-1, which blocks.
    let w = World::build(&[Break::None, Break::NoLogGroupIn("eu-west-1")], true).await;
    let (warned, blocked) = (&w.ids[0], &w.ids[1]);
    let template_with = |timeout: &str| {
        let mut prefs = template("ssm-logs-{account_id}-shared", "{account_id}", "{kms_key}");
        prefs["inputs"]["idleSessionTimeout"] = json!(timeout);
        serde_json::to_string_pretty(&prefs).unwrap()
    };
    // An earlier apply of other preferences (without preflight, so the blocked target holds
    // it too); the preferences now differ in idleSessionTimeout alone.
    std::fs::write(&w.prefs, template_with("10")).unwrap();
    let (out, _) = w.run("apply", "apply.csv", &["-r", "eu-west-1", "--no-preflight"]);
    assert_eq!(out.code, 0, "{}", out.all());
    std::fs::write(&w.prefs, template_with("20")).unwrap();

    let line_of = |out: &Run, status: &str, id: &str| -> String {
        let start = format!("{status} {id}/eu-west-1 ");
        out.stderr
            .lines()
            .find(|l| l.starts_with(&start))
            .unwrap_or_else(|| panic!("no line {start:?}:\n{}", out.all()))
            .to_string()
    };
    // The log group's message comes first in the blocked row, the bucket's after it.
    let bucket = w.bucket(blocked, "eu-west-1");
    let group_first = |message: &str| {
        let (group_at, bucket_at) = (message.find(GROUP), message.find(&bucket));
        assert!(
            group_at.is_some() && bucket_at.is_some() && group_at < bucket_at,
            "the log group's message first, the bucket warning after it: {message:?}"
        );
    };

    let (out, report) = w.run("audit", "audit.csv", &["-r", "eu-west-1", "-v"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    let row = &rows[&(warned.clone(), "eu-west-1".to_string())];
    assert_eq!(
        (
            &row["status"][..],
            &row["changed_inputs"][..],
            &row["error_code"][..]
        ),
        ("drifted", "idleSessionTimeout", "BucketInOtherRegion"),
        "{row:?}"
    );
    let line = line_of(&out, "drifted", warned);
    assert!(
        line.starts_with(&format!(
            "drifted {warned}/eu-west-1 (acct-0): idleSessionTimeout; BucketInOtherRegion: "
        )),
        "the drift first, the warning after it: {line}"
    );
    let row = &rows[&(blocked.clone(), "eu-west-1".to_string())];
    assert_eq!(
        (&row["status"][..], &row["error_code"][..]),
        ("drifted", "LogGroupNotFound"),
        "{row:?}"
    );
    group_first(&row["error_message"]);
    let line = line_of(&out, "drifted", blocked);
    assert!(
        line.starts_with(&format!(
            "drifted {blocked}/eu-west-1 (acct-1): idleSessionTimeout; LogGroupNotFound: "
        )),
        "{line}"
    );
    group_first(&line);

    let (out, report) = w.run("plan", "plan.csv", &["-r", "eu-west-1", "-v"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    let row = &rows[&(blocked.clone(), "eu-west-1".to_string())];
    assert_eq!(
        (&row["status"][..], &row["error_code"][..]),
        ("blocked", "LogGroupNotFound"),
        "{row:?}"
    );
    group_first(&row["error_message"]);
    let line = line_of(&out, "blocked", blocked);
    assert!(
        line.starts_with(&format!(
            "blocked {blocked}/eu-west-1 (acct-1): LogGroupNotFound: "
        )),
        "{line}"
    );
    group_first(&line);
    let line = line_of(&out, "would-update", warned);
    assert!(
        line.starts_with(&format!(
            "would-update {warned}/eu-west-1 (acct-0): idleSessionTimeout; BucketInOtherRegion: "
        )),
        "{line}"
    );
}

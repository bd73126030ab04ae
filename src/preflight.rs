//! Preflight: before anything is written, what a target's rendered preferences name — the S3
//! bucket, the CloudWatch Logs log group, the KMS key — is checked from that target's account
//! and region, and each thing that would break its sessions becomes a finding. A bucket is
//! checked once per account (buckets are global), a log group and a key once per account and
//! region, however many targets share them. Then the target's managed nodes are checked
//! against what the preferences require of them (src/nodes/).

use std::collections::HashMap;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::answers::Cache;
use crate::aws::resources::{self, CheckClients, Encryption, Key};
use crate::aws::session::OnTarget;
use crate::model::{Finding, Findings, NodeCounts, Reason, Severity, TargetError};
use crate::nodes::{AccountWide, NodeCheck, requirements};
use crate::report::nodes::NodesReport;
use crate::settings::PreflightMode;
use crate::target::{AccountId, Region, Target};

type Answer<T> = Result<Option<T>, TargetError>;

/// The run's checks and what they found so far.
pub(crate) struct Preflight {
    mode: PreflightMode,
    /// A bucket's region as one account sees it (`None`: no such bucket).
    buckets: Cache<(AccountId, String), Answer<String>>,
    /// Whether the bucket is among the account's own (ListBuckets), asked for the node check.
    own_buckets: Cache<(AccountId, String), Result<bool, TargetError>>,
    /// Whether it has default encryption, asked only for targets that turn S3 encryption on.
    encryption: Cache<(AccountId, String), Result<Encryption, TargetError>>,
    log_groups: Cache<(AccountId, &'static str, String), Answer<Option<String>>>,
    keys: Cache<(AccountId, &'static str, String), Answer<Key>>,
    /// What the preferences require of each target's managed nodes, and whether they can.
    nodes: NodeCheck,
    /// Each account's regions in this run, once its targets are known (`plan`: all at once,
    /// or account by account as `--org`'s walk streams them): the node check simulates a role
    /// once for all of them.
    regions: std::sync::RwLock<HashMap<AccountId, Vec<Region>>>,
    /// Each account's regions whose nodes are checked so far: once all are, what its targets
    /// shared is dropped ([`NodeCheck::account_done`]).
    nodes_checked: std::sync::Mutex<HashMap<AccountId, Vec<Region>>>,
    /// `--nodes-report`: the file, or why it could not be created (said on each target whose
    /// nodes it would have listed).
    nodes_report: Option<Result<NodesReport, String>>,
}

impl Preflight {
    pub(crate) fn new(mode: PreflightMode) -> Self {
        let nodes_report = mode.nodes_report.as_ref().map(|path| {
            NodesReport::create(path)
                .map_err(|e| format!("--nodes-report {} cannot be written: {e}", path.display()))
        });
        Self {
            mode,
            nodes_report,
            buckets: Cache::new(),
            encryption: Cache::new(),
            own_buckets: Cache::new(),
            log_groups: Cache::new(),
            keys: Cache::new(),
            nodes: NodeCheck::default(),
            regions: Default::default(),
            nodes_checked: Default::default(),
        }
    }

    /// Targets of the run, once their regions are resolved, before any of them runs: each
    /// account's regions.
    pub(crate) fn plan(&self, targets: &[Target]) {
        let mut regions = self.regions.write().expect("regions lock");
        for t in targets {
            let of = regions.entry(t.account_id().clone()).or_default();
            if !of.contains(&t.region) {
                of.push(t.region.clone());
            }
        }
    }

    /// Notes that `target`'s nodes are checked; once every one of its account's `regions`
    /// is, the node check drops what the account's targets shared.
    fn nodes_checked_in(&self, target: &Target, regions: usize) {
        let account = target.account_id();
        let done = {
            let mut checked = self.nodes_checked.lock().expect("not poisoned");
            let of = checked.entry(account.clone()).or_default();
            if !of.contains(&target.region) {
                of.push(target.region.clone());
            }
            let done = regions > 0 && of.len() >= regions;
            if done {
                checked.remove(account);
            }
            done
        };
        if done {
            self.nodes.account_done(account);
        }
    }

    /// The ARN of the key `id` names in `region` of `target`'s account (DescribeKey there,
    /// asked once per account and region as the key's own check asks it).
    async fn key_in(
        &self,
        c: &CheckClients,
        target: &Target,
        region: Region,
        id: &str,
    ) -> Option<String> {
        if arn_region(id).is_some_and(|r| r != region.as_str()) {
            return None;
        }
        let key = (target.account_id().clone(), region.as_str(), id.to_string());
        let there = CheckClients {
            on: OnTarget {
                region: aws_config::Region::from_static(region.as_str()),
                ..c.on.clone()
            },
            ..c.clone()
        };
        match self.keys.get(key, || resources::key(&there, id)).await {
            Ok(Some(k)) => Some(k.arn).filter(|a| !a.is_empty()),
            _ => None,
        }
    }

    /// The findings for `target` holding `desired` (its rendered preferences); its nodes are
    /// judged against `in_force` where given (audit: the preferences the target holds, `Null`
    /// for none), else against `desired`.
    pub(crate) async fn check(
        &self,
        c: &CheckClients,
        target: &Target,
        desired: &Value,
        in_force: Option<&Value>,
    ) -> Findings {
        let inputs = desired.get("inputs");
        let text = |key: &str| {
            inputs
                .and_then(|i| i.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let on = |key: &str| inputs.and_then(|i| i.get(key)) == Some(&Value::Bool(true));
        let against = in_force.unwrap_or(desired);
        // The nodes and their roles are listed while the resources are checked: the node
        // check's own calls do not wait on these (docs/operations.md "Cost").
        let resources = async {
            let mut found = vec![];
            if let Some(bucket) = text("s3BucketName") {
                self.bucket(c, target, bucket, on("s3EncryptionEnabled"), &mut found)
                    .await;
            }
            if let Some(group) = text("cloudWatchLogGroupName") {
                self.log_group(
                    c,
                    target,
                    group,
                    on("cloudWatchEncryptionEnabled"),
                    &mut found,
                )
                .await;
            }
            if let Some(key) = text("kmsKeyId") {
                self.key(c, target, key, &mut found).await;
            }
            found
        };
        let ahead = self.nodes.ahead(&c.nodes, target, against.get("inputs"));
        let (mut found, ()) = futures::join!(resources, ahead);
        let counts = self.nodes_of(c, target, against, &mut found).await;
        if self.mode.strict {
            for f in &mut found {
                if f.severity != Severity::Blocking {
                    f.message = format!(
                        "{} ({}, blocking under --strict)",
                        f.message,
                        f.severity.as_str()
                    );
                    f.severity = Severity::Blocking;
                }
            }
        }
        if self.mode.accept_node_risk {
            for f in &mut found {
                if is_node_risk(&f.reason) && f.severity == Severity::Blocking {
                    f.message = format!("{} (accepted: --accept-node-risk)", f.message);
                    f.severity = Severity::Warning;
                }
            }
        }
        Findings(found, counts)
    }

    /// The node check of `target` (src/nodes/) against the preferences `against`: its
    /// findings into `found`, its counts returned. The key's ARN and the bucket's region come
    /// from preflight's caches (asked here only where `against` names others than the
    /// preferences checked above; what is wrong with them is not this check's to say).
    async fn nodes_of(
        &self,
        c: &CheckClients,
        target: &Target,
        against: &Value,
        found: &mut Vec<Finding>,
    ) -> NodeCounts {
        let inputs = against.get("inputs");
        if requirements::features(inputs).is_empty() {
            return NodeCounts::default();
        }
        let text = |key: &str| {
            inputs
                .and_then(|i| i.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let account = target.account_id();
        let region = target.region.as_str();
        let mut key_arn = None;
        if let Some(id) = text("kmsKeyId")
            && arn_region(id).is_none_or(|r| r == region)
        {
            let key = (account.clone(), region, id.to_string());
            if let Ok(Some(k)) = self.keys.get(key, || resources::key(c, id)).await {
                key_arn = Some(k.arn).filter(|a| !a.is_empty());
            }
        }
        let mut bucket_region = None;
        if let Some(bucket) = text("s3BucketName") {
            let key = (account.clone(), bucket.to_string());
            if let Ok(Some(r)) = self
                .buckets
                .get(key, || resources::bucket_region(c, bucket))
                .await
            {
                bucket_region = Some(r);
            }
        }
        // The bucket's own key, when it is SSE-KMS: a node writing there needs
        // kms:GenerateDataKey on it. Asked once per account and bucket, as preflight asks.
        let mut bucket_key = None;
        let bucket = inputs
            .and_then(|i| i.get("s3BucketName"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let encryption_asked =
            inputs.and_then(|i| i.get("s3EncryptionEnabled")) == Some(&Value::Bool(true));
        if let (Some(bucket), Some(region)) = (bucket, bucket_region.as_deref())
            && self.nodes.any_online(&c.nodes, target).await
        {
            let key = (target.account_id().clone(), bucket.to_string());
            match self
                .encryption
                .get(key, || resources::bucket_encrypted(c, bucket, region))
                .await
            {
                Ok(e) => {
                    bucket_key = e.kms_key.map(|k| {
                        key_arn_of(
                            &k,
                            c.nodes.partition(),
                            region,
                            target.account_id().as_str(),
                        )
                    })
                }
                // Said once: the bucket's own check already said it where it asked.
                Err(_) if encryption_asked => {}
                Err(e) => found.push(unverified(
                    bucket,
                    "the bucket's encryption (for the nodes' kms:GenerateDataKey)",
                    "s3:GetEncryptionConfiguration",
                    &e,
                )),
            }
        }
        // A bucket of another account: its bucket policy decides too, and cannot be read.
        let mut bucket_elsewhere = false;
        if let (Some(bucket), Some(_)) = (bucket, bucket_region.as_deref())
            && self.nodes.any_online(&c.nodes, target).await
        {
            let key = (account.clone(), bucket.to_string());
            match self
                .own_buckets
                .get(key, || {
                    resources::own_bucket(c, bucket, target.region.as_str())
                })
                .await
            {
                Ok(own) => bucket_elsewhere = !own,
                Err(e) => found.push(unverified(
                    bucket,
                    "the owning account (whose bucket policy the nodes' s3:PutObject needs too) of bucket",
                    "s3:ListAllMyBuckets",
                    &e,
                )),
            }
        }
        let resolved = requirements::Resolved {
            partition: c.nodes.partition(),
            region: target.region.as_str(),
            account: target.account_id().as_str(),
            key_arn: key_arn.as_deref(),
            bucket_key_arn: bucket_key.as_deref(),
            bucket_elsewhere,
        };
        let regions: Vec<&'static str> = self
            .regions
            .read()
            .expect("regions lock")
            .get(account)
            .map(|r| r.iter().map(Region::as_str).collect())
            .unwrap_or_default();
        let kms_key_id = text("kmsKeyId").unwrap_or_default();
        let key_in = |r: &'static str| -> BoxFuture<'_, Option<String>> {
            Box::pin(async move {
                let region = Region::parse(r).ok()?;
                self.key_in(c, target, region, kms_key_id).await
            })
        };
        let wide = AccountWide {
            regions: &regions,
            key_in: &key_in,
        };
        let report = self
            .nodes
            .check(&c.nodes, c, target, against, &resolved, &wide)
            .await;
        self.nodes_checked_in(target, regions.len());
        found.extend(report.findings);
        let written = match &self.nodes_report {
            Some(Ok(r)) => r
                .write(&report.lines)
                .map_err(|e| format!("--nodes-report: {e}")),
            Some(Err(e)) if !report.lines.is_empty() => Err(e.clone()),
            _ => Ok(()),
        };
        if let Err(why) = written {
            found.push(finding(
                Reason::CheckUnverified,
                Severity::Warning,
                "nodes report",
                format!("this target's nodes are not in the nodes report: {why}"),
            ));
        }
        report.counts
    }

    async fn bucket(
        &self,
        c: &CheckClients,
        target: &Target,
        name: &str,
        encryption: bool,
        found: &mut Vec<Finding>,
    ) -> Option<String> {
        let key = (target.account_id().clone(), name.to_string());
        let answer = self
            .buckets
            .get(key.clone(), || resources::bucket_region(c, name))
            .await;
        let account = target.account_id();
        let region = match answer {
            Ok(Some(region)) => region,
            Ok(None) => {
                found.push(finding(
                    Reason::BucketNotFound,
                    Severity::Blocking,
                    name,
                    format!(
                        "bucket {name} does not exist or account {account} cannot see it: sessions could not write their logs (create it, or fix s3BucketName)"
                    ),
                ));
                return None;
            }
            Err(e) => {
                found.push(unverified(
                    name,
                    "the bucket",
                    "s3:ListBucket (HeadBucket)",
                    &e,
                ));
                return None;
            }
        };
        let encrypted = if encryption {
            Some(
                self.encryption
                    .get(key, || resources::bucket_encrypted(c, name, &region))
                    .await,
            )
        } else {
            None
        };
        match encrypted.map(|e| e.map(|e| e.on)) {
            Some(Ok(false)) => found.push(finding(
                Reason::BucketNotEncrypted,
                Severity::Blocking,
                name,
                format!(
                    "bucket {name} has no default encryption but s3EncryptionEnabled is true: sessions fail to start (turn on SSE-S3 or SSE-KMS default encryption on it)"
                ),
            )),
            Some(Err(e)) => found.push(unverified(
                name,
                "the bucket's encryption",
                "s3:GetEncryptionConfiguration",
                &e,
            )),
            Some(Ok(true)) | None => {}
        }
        if region != target.region.as_str() {
            found.push(finding(
                Reason::BucketInOtherRegion,
                Severity::Warning,
                name,
                format!(
                    "bucket {name} is in {}, not {}: sessions behind an S3 VPC endpoint of {} cannot reach it",
                    region, target.region, target.region
                ),
            ));
        }
        Some(region)
    }

    async fn log_group(
        &self,
        c: &CheckClients,
        target: &Target,
        name: &str,
        encryption: bool,
        found: &mut Vec<Finding>,
    ) {
        let key = (
            target.account_id().clone(),
            target.region.as_str(),
            name.to_string(),
        );
        let answer = self
            .log_groups
            .get(key, || resources::log_group_key(c, name))
            .await;
        match answer {
            Ok(None) => found.push(finding(
                Reason::LogGroupNotFound,
                Severity::Blocking,
                name,
                format!(
                    "log group {name} does not exist in {}: sessions could not stream their logs (create it there, or fix cloudWatchLogGroupName)",
                    target.region
                ),
            )),
            Ok(Some(None)) if encryption => found.push(finding(
                Reason::LogGroupNotEncrypted,
                Severity::Blocking,
                name,
                format!(
                    "log group {name} in {} is not encrypted with a KMS key but cloudWatchEncryptionEnabled is true: sessions fail to start (associate a KMS key with it)",
                    target.region
                ),
            )),
            Ok(Some(_)) => {}
            Err(e) => found.push(unverified(name, "the log group", "logs:DescribeLogGroups", &e)),
        }
    }

    /// The key's ARN, when it exists.
    async fn key(
        &self,
        c: &CheckClients,
        target: &Target,
        id: &str,
        found: &mut Vec<Finding>,
    ) -> Option<String> {
        let region = target.region.as_str();
        // A key or alias ARN names its region: one elsewhere cannot serve this target, and
        // asking this region's KMS about it proves nothing.
        if let Some(other) = arn_region(id).filter(|r| *r != region) {
            found.push(finding(
                Reason::KmsKeyInOtherRegion,
                Severity::Blocking,
                id,
                format!(
                    "KMS key {id} is in {other}, not {region}: a key encrypts only in its own region (use a key of {region}, or a multi-Region replica there)"
                ),
            ));
            return None;
        }
        let key = (target.account_id().clone(), region, id.to_string());
        let answer = self.keys.get(key, || resources::key(c, id)).await;
        let key = match answer {
            Ok(Some(k)) => k,
            Ok(None) => {
                found.push(finding(
                    Reason::KmsKeyNotFound,
                    Severity::Blocking,
                    id,
                    format!(
                        "KMS key {id} does not exist in {region} (or is not visible from account {}): sessions fail to start (fix kmsKeyId)",
                        target.account_id()
                    ),
                ));
                return None;
            }
            Err(e) => {
                found.push(unverified(id, "the KMS key", "kms:DescribeKey", &e));
                return None;
            }
        };
        if key.state != "Enabled" {
            found.push(finding(
                Reason::KmsKeyNotEnabled,
                Severity::Blocking,
                id,
                format!(
                    "KMS key {id} is {}: sessions fail to start (enable it, cancel its deletion, or use another key)",
                    key.state
                ),
            ));
        }
        if key.spec != "SYMMETRIC_DEFAULT" || !matches!(key.usage.as_str(), "" | "ENCRYPT_DECRYPT")
        {
            found.push(finding(
                Reason::KmsKeyNotSymmetric,
                Severity::Blocking,
                id,
                format!(
                    "KMS key {id} is {} for {}: Session Manager needs a symmetric encrypt/decrypt key",
                    key.spec,
                    if key.usage.is_empty() {
                        "an unknown usage"
                    } else {
                        key.usage.as_str()
                    }
                ),
            ));
        }
        if let Some(other) = arn_region(&key.arn).filter(|r| *r != region) {
            found.push(finding(
                Reason::KmsKeyInOtherRegion,
                Severity::Blocking,
                id,
                format!("KMS key {id} is in {other}, not {region}"),
            ));
        }
        Some(key.arn).filter(|a| !a.is_empty())
    }
}

/// The node check's own reasons: what `--accept-node-risk` accepts.
fn is_node_risk(reason: &Reason) -> bool {
    matches!(
        reason,
        Reason::NodeRoleDenied | Reason::NodeKeyPolicyDenied | Reason::NodeAgentTooOld
    )
}

/// A bucket's KMS key as an ARN: S3 may name it by id or alias; a key of the bucket's region
/// and (unless an ARN says otherwise) the target's account.
fn key_arn_of(key: &str, partition: &str, region: &str, account: &str) -> String {
    if key.starts_with("arn:") {
        key.to_string()
    } else if key.starts_with("alias/") {
        format!("arn:{partition}:kms:{region}:{account}:{key}")
    } else {
        format!("arn:{partition}:kms:{region}:{account}:key/{key}")
    }
}

fn finding(reason: Reason, severity: Severity, subject: &str, message: String) -> Finding {
    Finding {
        reason,
        severity,
        subject: subject.to_string(),
        message,
        nodes: 0,
    }
}

/// A check the member role could not make: said with the error and the permission it needs.
fn unverified(subject: &str, what: &str, permission: &str, e: &TargetError) -> Finding {
    finding(
        Reason::CheckUnverified,
        Severity::Unverified,
        subject,
        format!(
            "could not check {what} {subject}: {}: {} (the member role needs {permission})",
            e.reason, e.message
        ),
    )
}

/// The region field of an ARN (`arn:aws:kms:eu-west-1:…`), when `id` is one.
fn arn_region(id: &str) -> Option<&str> {
    let mut parts = id.strip_prefix("arn:")?.splitn(5, ':');
    let (_partition, _service, region) = (parts.next()?, parts.next()?, parts.next()?);
    Some(region).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_name_their_region() {
        assert_eq!(
            arn_region("arn:aws:kms:eu-west-1:111122223333:key/1234abcd"),
            Some("eu-west-1")
        );
        assert_eq!(
            arn_region("arn:aws:kms:us-east-1:111122223333:alias/ssm"),
            Some("us-east-1")
        );
        assert_eq!(arn_region("alias/ssm"), None);
        assert_eq!(arn_region("1234abcd-12ab-34cd-56ef-1234567890ab"), None);
    }
}

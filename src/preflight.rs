//! Preflight: before anything is written, what a target's rendered preferences name — the S3
//! bucket, the CloudWatch Logs log group, the KMS key — is checked from that target's account
//! and region, and each thing that would break its sessions becomes a finding. A bucket is
//! checked once per account (buckets are global), a log group and a key once per account and
//! region, however many targets share them.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::aws::resources::{self, CheckClients, Key};
use crate::model::{Finding, Findings, Reason, Severity, TargetError};
use crate::target::{AccountId, Target};

/// One answer per key, shared by every target that asks: the first asks AWS, the others wait
/// for its answer.
struct Cache<K, T> {
    cells: Mutex<HashMap<K, Arc<OnceCell<T>>>>,
}

impl<K: Eq + Hash, T: Clone> Cache<K, T> {
    fn new() -> Self {
        Self {
            cells: Mutex::new(HashMap::new()),
        }
    }

    async fn get<Fut: Future<Output = T>>(&self, key: K, fetch: impl FnOnce() -> Fut) -> T {
        let cell = self
            .cells
            .lock()
            .expect("not poisoned")
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_init(fetch).await.clone()
    }
}

type Answer<T> = Result<Option<T>, TargetError>;

/// The run's checks and what they found so far.
pub(crate) struct Preflight {
    /// `--strict`: warnings and unverified checks block too.
    strict: bool,
    /// A bucket's region as one account sees it (`None`: no such bucket).
    buckets: Cache<(AccountId, String), Answer<String>>,
    /// Whether it has default encryption, asked only for targets that turn S3 encryption on.
    encryption: Cache<(AccountId, String), Result<bool, TargetError>>,
    log_groups: Cache<(AccountId, &'static str, String), Answer<Option<String>>>,
    keys: Cache<(AccountId, &'static str, String), Answer<Key>>,
}

impl Preflight {
    pub(crate) fn new(strict: bool) -> Self {
        Self {
            strict,
            buckets: Cache::new(),
            encryption: Cache::new(),
            log_groups: Cache::new(),
            keys: Cache::new(),
        }
    }

    /// The findings for `target` holding `desired` (its rendered preferences).
    pub(crate) async fn check(
        &self,
        c: &CheckClients,
        target: &Target,
        desired: &Value,
    ) -> Findings {
        let inputs = desired.get("inputs");
        let text = |key: &str| {
            inputs
                .and_then(|i| i.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let on = |key: &str| inputs.and_then(|i| i.get(key)) == Some(&Value::Bool(true));
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
        if self.strict {
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
        Findings(found)
    }

    async fn bucket(
        &self,
        c: &CheckClients,
        target: &Target,
        name: &str,
        encryption: bool,
        found: &mut Vec<Finding>,
    ) {
        let key = (target.account_id().clone(), name.to_string());
        let answer = self
            .buckets
            .get(key.clone(), || resources::bucket_region(c, name))
            .await;
        let account = target.account_id();
        let region = match answer {
            Ok(Some(region)) => region,
            Ok(None) => {
                return found.push(finding(
                    Reason::BucketNotFound,
                    Severity::Blocking,
                    name,
                    format!(
                        "bucket {name} does not exist or account {account} cannot see it: sessions could not write their logs (create it, or fix s3BucketName)"
                    ),
                ));
            }
            Err(e) => {
                return found.push(unverified(
                    name,
                    "the bucket",
                    "s3:ListBucket (HeadBucket)",
                    &e,
                ));
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
        match encrypted {
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

    async fn key(&self, c: &CheckClients, target: &Target, id: &str, found: &mut Vec<Finding>) {
        let region = target.region.as_str();
        // A key or alias ARN names its region: one elsewhere cannot serve this target, and
        // asking this region's KMS about it proves nothing.
        if let Some(other) = arn_region(id).filter(|r| *r != region) {
            return found.push(finding(
                Reason::KmsKeyInOtherRegion,
                Severity::Blocking,
                id,
                format!(
                    "KMS key {id} is in {other}, not {region}: a key encrypts only in its own region (use a key of {region}, or a multi-Region replica there)"
                ),
            ));
        }
        let key = (target.account_id().clone(), region, id.to_string());
        let answer = self.keys.get(key, || resources::key(c, id)).await;
        let key = match answer {
            Ok(Some(k)) => k,
            Ok(None) => {
                return found.push(finding(
                    Reason::KmsKeyNotFound,
                    Severity::Blocking,
                    id,
                    format!(
                        "KMS key {id} does not exist in {region} (or is not visible from account {}): sessions fail to start (fix kmsKeyId)",
                        target.account_id()
                    ),
                ));
            }
            Err(e) => return found.push(unverified(id, "the KMS key", "kms:DescribeKey", &e)),
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
    }
}

fn finding(reason: Reason, severity: Severity, subject: &str, message: String) -> Finding {
    Finding {
        reason,
        severity,
        subject: subject.to_string(),
        message,
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

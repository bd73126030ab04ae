//! The read-only calls preflight makes in a target's account: where an S3 bucket is and
//! whether it has default encryption, a CloudWatch Logs log group and its KMS key, a KMS key's
//! state and kind; and for the node check, whether a bucket is the account's own and a key's
//! policy. Each answers what AWS says, or the call's error as a row's error.

use aws_sdk_ssm::error::ProvideErrorMetadata;

use crate::aws::error::target_error;
use crate::aws::session::{OnTarget, Session, on_target, scoped};
use crate::model::TargetError;
use crate::target::Target;

/// The run's clients for the checks, each call pointed at one target's account (its
/// credentials) and the region it is about.
#[derive(Clone)]
pub(crate) struct CheckClients {
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    /// The target's account, region and endpoint, as every call's settings name them.
    pub(crate) on: OnTarget,
    /// The node check's (src/aws/nodes.rs).
    pub(crate) nodes: crate::aws::nodes::NodeClients,
}

impl CheckClients {
    /// The region the calls are about (the target's, or another of its account's).
    fn region(&self) -> &str {
        self.on.region.as_ref()
    }

    /// Where the calls go, as an error message names it.
    pub(crate) fn endpoint(&self) -> &str {
        &self.on.endpoint
    }

    /// S3's per-call settings for a call sent to `region` (a bucket's own, or the target's).
    pub(crate) fn s3_in(&self, region: &str) -> aws_sdk_s3::config::Builder {
        on_target!(aws_sdk_s3::config::Builder::default(), self.on)
            .region(aws_config::Region::new(region.to_string()))
    }

    /// CloudWatch Logs' per-call settings: the target's account and region.
    fn logs_scope(&self) -> aws_sdk_cloudwatchlogs::config::Builder {
        on_target!(aws_sdk_cloudwatchlogs::config::Builder::default(), self.on)
    }

    /// KMS's per-call settings for a call sent to `region` (a key's own, or the target's).
    pub(crate) fn kms_in(&self, region: &str) -> aws_sdk_kms::config::Builder {
        on_target!(aws_sdk_kms::config::Builder::default(), self.on)
            .region(aws_config::Region::new(region.to_string()))
    }
}

impl Session {
    /// Preflight's clients for one target: the run's S3, CloudWatch Logs and KMS clients
    /// (built once; a client per account would cost tens of kilobytes each, most of a large
    /// organization's memory), each call naming the target's account and its region.
    pub(crate) fn checks(&self, target: &Target) -> CheckClients {
        let (s3, logs, kms) = self.run_wide(
            |r| &r.checks,
            |conf| {
                (
                    crate::aws::objects::s3_client(conf),
                    aws_sdk_cloudwatchlogs::Client::new(conf),
                    aws_sdk_kms::Client::new(conf),
                )
            },
        );
        CheckClients {
            s3,
            logs,
            kms,
            on: self.on_target(target, "S3, CloudWatch Logs or KMS"),
            nodes: self.node_clients(target),
        }
    }
}

/// A KMS key as DescribeKey describes it.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub arn: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, …
    pub state: String,
    /// `SYMMETRIC_DEFAULT` for the keys Session Manager can use.
    pub spec: String,
    /// `ENCRYPT_DECRYPT`; empty when the service leaves it out.
    pub usage: String,
}

/// HeadBucket: the bucket's region, `None` when there is no such bucket (404). S3 names the
/// region in `x-amz-bucket-region` on a 200, and on the 301 of another region's endpoint and
/// the 403 of a bucket this account may not list too, so the region is known even then (AWS's
/// recommended way: GetBucketLocation needs the bucket policy to grant it across accounts, and
/// fails for a bucket in an opt-in region asked through another region's endpoint).
pub(crate) async fn bucket_region(
    c: &CheckClients,
    bucket: &str,
) -> Result<Option<String>, TargetError> {
    let asked = c.region();
    match scoped!(c.s3.head_bucket().bucket(bucket), c.s3_in(asked)).await {
        Ok(out) => Ok(Some(out.bucket_region().unwrap_or(asked).to_string())),
        Err(e) => {
            let raw = e.raw_response();
            let region = raw
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_string);
            match (raw.map(|r| r.status().as_u16()), region) {
                (Some(404), _) => Ok(None),
                (_, Some(region)) => Ok(Some(region)),
                _ => Err(target_error(e, c.endpoint())),
            }
        }
    }
}

/// A bucket's default encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Encryption {
    /// It has one (SSE-S3 or SSE-KMS).
    pub on: bool,
    /// SSE-KMS: its key, as the bucket names it (an id, an alias or an ARN).
    pub kms_key: Option<String>,
}

/// GetBucketEncryption, the call the Session Manager agent makes before it writes: whether
/// the bucket has default encryption, and with which KMS key. Sent to the bucket's own region.
pub(crate) async fn bucket_encrypted(
    c: &CheckClients,
    bucket: &str,
    region: &str,
) -> Result<Encryption, TargetError> {
    match scoped!(c.s3.get_bucket_encryption().bucket(bucket), c.s3_in(region)).await {
        Ok(out) => {
            let rules = out
                .server_side_encryption_configuration()
                .map(|c| c.rules())
                .unwrap_or_default();
            Ok(Encryption {
                on: !rules.is_empty(),
                kms_key: rules
                    .iter()
                    .filter_map(|r| r.apply_server_side_encryption_by_default())
                    .find_map(|d| d.kms_master_key_id())
                    .map(String::from),
            })
        }
        Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => {
            Ok(Encryption {
                on: false,
                kms_key: None,
            })
        }
        Err(e) => Err(target_error(e, c.endpoint())),
    }
}

/// DescribeLogGroups in the target's region: the log group's KMS key (`Some(None)`: the group
/// exists unencrypted), `None` when there is no such group.
pub(crate) async fn log_group_key(
    c: &CheckClients,
    name: &str,
) -> Result<Option<Option<String>>, TargetError> {
    // The prefix narrows the answer to this name and longer ones sharing it, in name order:
    // the name itself, when it exists, is the first of the first page. One call.
    let page = scoped!(
        c.logs.describe_log_groups().log_group_name_prefix(name),
        c.logs_scope()
    )
    .await
    .map_err(|e| target_error(e, c.endpoint()))?;
    Ok(page
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| g.kms_key_id().map(String::from)))
}

/// DescribeKey in the target's region (by key id, key ARN, alias name or alias ARN); `None`
/// when there is no such key or alias.
pub(crate) async fn key(c: &CheckClients, key_id: &str) -> Result<Option<Key>, TargetError> {
    match scoped!(c.kms.describe_key().key_id(key_id), c.kms_in(c.region())).await {
        Ok(out) => Ok(out.key_metadata().map(|m| Key {
            arn: m.arn().unwrap_or_default().to_string(),
            state: m
                .key_state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            spec: m
                .key_spec()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            usage: m
                .key_usage()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        })),
        Err(e) if e.code() == Some("NotFoundException") => Ok(None),
        Err(e) => Err(target_error(e, c.endpoint())),
    }
}

/// ListBuckets with the bucket's name as the prefix: whether `bucket` is one of the account's
/// own (a bucket of another account is not listed; its policy cannot be read from here).
pub(crate) async fn own_bucket(
    c: &CheckClients,
    bucket: &str,
    region: &str,
) -> Result<bool, TargetError> {
    let mut token: Option<String> = None;
    loop {
        let page = scoped!(
            c.s3.list_buckets()
                .prefix(bucket)
                .set_continuation_token(token.take()),
            c.s3_in(region)
        )
        .await
        .map_err(|e| target_error(e, c.endpoint()))?;
        if page.buckets().iter().any(|b| b.name() == Some(bucket)) {
            return Ok(true);
        }
        match page.continuation_token().filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(false),
        }
    }
}

/// GetKeyPolicy (`default`) of a key, by its ARN, in its region.
pub(crate) async fn key_policy(
    c: &CheckClients,
    region: &str,
    key_arn: &str,
) -> Result<String, TargetError> {
    scoped!(
        c.kms
            .get_key_policy()
            .key_id(key_arn)
            .policy_name("default"),
        c.kms_in(region)
    )
    .await
    .map(|out| out.policy().unwrap_or_default().to_string())
    .map_err(|e| target_error(e, c.endpoint()))
}

//! What the rendered preferences require of a managed node, in one table (docs/report.md "What
//! a node needs"): the IAM permissions its role must hold for the logging and encryption the
//! preferences turn on, and the oldest SSM Agent that serves each feature they turn on. Pure:
//! the AWS answers it needs (the key's ARN, the bucket's key) come in as arguments.

use std::cmp::Ordering;

use serde_json::Value;

/// A feature of the preferences that asks something of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Feature {
    /// Any session at all (the agent's Session Manager support).
    Sessions,
    /// `s3BucketName`: session logs written to S3 by the node.
    S3Logging,
    /// `cloudWatchLogGroupName`: session logs sent to CloudWatch Logs by the node.
    CloudWatchLogging,
    /// `cloudWatchStreamingEnabled`: logs streamed as the session runs.
    CloudWatchStreaming,
    /// `kmsKeyId`: session data encrypted with a KMS key the node decrypts with.
    KmsEncryption,
    /// `runAsEnabled`: sessions run as an OS user (Linux and macOS).
    RunAs,
    /// `shellProfile`: commands run at each session's start.
    ShellProfile,
}

impl Feature {
    /// The preference's name, as a finding says it.
    pub(crate) fn input(self) -> &'static str {
        match self {
            Feature::Sessions => "Session Manager",
            Feature::S3Logging => "s3BucketName",
            Feature::CloudWatchLogging => "cloudWatchLogGroupName",
            Feature::CloudWatchStreaming => "cloudWatchStreamingEnabled",
            Feature::KmsEncryption => "kmsKeyId",
            Feature::RunAs => "runAsEnabled",
            Feature::ShellProfile => "shellProfile",
        }
    }

    /// The oldest SSM Agent that serves the feature on `platform` (`PlatformType`: `Linux`,
    /// `Windows`, `MacOS`); `None`: no minimum there. From the agent's release notes and the
    /// Session Manager guide, the higher where they disagree.
    pub(crate) fn minimum_agent(self, platform: &str) -> Option<&'static str> {
        match self {
            Feature::Sessions => Some("2.3.68.0"),
            Feature::KmsEncryption => Some("2.3.539.0"),
            // Run As exists on Linux and macOS only; Windows ignores it.
            Feature::RunAs if platform != "Windows" => Some("2.3.672.0"),
            Feature::RunAs => None,
            Feature::ShellProfile => Some("3.0.196.0"),
            Feature::CloudWatchStreaming => Some("3.0.356.0"),
            Feature::S3Logging | Feature::CloudWatchLogging => None,
        }
    }
}

/// What the preferences turn on that a node must serve, from their `inputs`; empty when
/// nothing asks anything of a node (then its nodes are not listed at all).
pub(crate) fn features(inputs: Option<&Value>) -> Vec<Feature> {
    let text = |key: &str| {
        inputs
            .and_then(|i| i.get(key))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    let on = |key: &str| inputs.and_then(|i| i.get(key)) == Some(&Value::Bool(true));
    let shell = inputs
        .and_then(|i| i.get("shellProfile"))
        .and_then(Value::as_object)
        .is_some_and(|p| {
            p.values()
                .any(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        });
    let mut out = vec![];
    let asked = [
        (Feature::S3Logging, text("s3BucketName")),
        (Feature::CloudWatchLogging, text("cloudWatchLogGroupName")),
        (
            Feature::CloudWatchStreaming,
            text("cloudWatchLogGroupName") && on("cloudWatchStreamingEnabled"),
        ),
        (Feature::KmsEncryption, text("kmsKeyId")),
        (Feature::RunAs, on("runAsEnabled")),
        (Feature::ShellProfile, shell),
    ];
    for (feature, wanted) in asked {
        if wanted {
            out.push(feature);
        }
    }
    if !out.is_empty() {
        out.insert(0, Feature::Sessions);
    }
    out
}

/// Whether the `shellProfile` of the preferences has a command for `platform`: a profile for
/// Windows only asks nothing of a Linux node.
pub(crate) fn shell_profile_for(inputs: Option<&Value>, platform: &str) -> bool {
    let key = if platform == "Windows" {
        "windows"
    } else {
        "linux"
    };
    inputs
        .and_then(|i| i.get("shellProfile"))
        .and_then(|p| p.get(key))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// An SSM Agent version, `3.2.582.0`: compared part by part as numbers, a missing part as 0.
#[derive(Debug, Clone)]
pub(crate) struct AgentVersion(Vec<u64>);

impl AgentVersion {
    /// `None` when it is not dot-separated numbers (an agent that reports none, say).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let parts: Option<Vec<u64>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(AgentVersion)
    }
}

impl Ord for AgentVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.0.len().max(other.0.len());
        let at = |v: &Self, i: usize| v.0.get(i).copied().unwrap_or(0);
        (0..len)
            .map(|i| at(self, i).cmp(&at(other, i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

// Equal as versions, not as lists: 3.2 is 3.2.0.0.
impl PartialEq for AgentVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for AgentVersion {}

impl PartialOrd for AgentVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What an agent lacks for the features asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AgentVerdict {
    Enough,
    /// The first feature (in table order) whose minimum the agent is below, and that minimum.
    TooOld(Feature, &'static str),
    /// The node reports no version that reads as one.
    Unknown,
}

/// Whether an agent of version `agent` on `platform` serves every feature of `features`.
/// `shell_profile` says whether the profile has a command for this platform.
pub(crate) fn agent_verdict(
    agent: &str,
    platform: &str,
    features: &[Feature],
    shell_profile: bool,
) -> AgentVerdict {
    let Some(version) = AgentVersion::parse(agent) else {
        return AgentVerdict::Unknown;
    };
    features
        .iter()
        .filter(|f| **f != Feature::ShellProfile || shell_profile)
        .filter_map(|f| f.minimum_agent(platform).map(|m| (*f, m)))
        .find(|(_, m)| AgentVersion::parse(m).is_some_and(|m| version < m))
        .map_or(AgentVerdict::Enough, |(f, m)| AgentVerdict::TooOld(f, m))
}

/// One permission a node's role needs: an action on a resource, and the feature it serves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Permission {
    pub action: &'static str,
    pub resource: String,
    pub feature: Feature,
}

/// What preflight resolved about the target that the permissions name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// `kmsKeyId` as DescribeKey resolved it: the key's ARN.
    pub key_arn: Option<&'a str>,
    /// The S3 bucket's default-encryption key, when it is SSE-KMS.
    pub bucket_key_arn: Option<&'a str>,
    /// The bucket belongs to another account (not among the account's own buckets): its
    /// bucket policy, which the simulation cannot see, decides too.
    pub bucket_elsewhere: bool,
}

/// The permissions a node's role needs for what `inputs` turn on, in a stable order. The
/// `ssmmessages:*` and `ssm:UpdateInstanceInformation` every session needs are not listed: a
/// node without them is not online, so it could not be at risk of losing sessions.
pub(crate) fn permissions(inputs: Option<&Value>, r: &Resolved<'_>) -> Vec<Permission> {
    let text = |key: &str| {
        inputs
            .and_then(|i| i.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let mut out = vec![];
    let mut need = |action: &'static str, resource: String, feature: Feature| {
        out.push(Permission {
            action,
            resource,
            feature,
        })
    };
    let p = r.partition;
    if let Some(bucket) = text("s3BucketName") {
        let prefix = text("s3KeyPrefix").unwrap_or("").trim_matches('/');
        let objects = if prefix.is_empty() {
            format!("arn:{p}:s3:::{bucket}/*")
        } else {
            format!("arn:{p}:s3:::{bucket}/{prefix}/*")
        };
        need("s3:PutObject", objects, Feature::S3Logging);
        need(
            "s3:GetEncryptionConfiguration",
            format!("arn:{p}:s3:::{bucket}"),
            Feature::S3Logging,
        );
        if let Some(key) = r.bucket_key_arn {
            need("kms:GenerateDataKey", key.to_string(), Feature::S3Logging);
        }
    }
    if let Some(group) = text("cloudWatchLogGroupName") {
        let arn = format!(
            "arn:{p}:logs:{}:{}:log-group:{group}:*",
            r.region, r.account
        );
        for action in [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogGroups",
            "logs:DescribeLogStreams",
        ] {
            need(action, arn.clone(), Feature::CloudWatchLogging);
        }
    }
    if text("kmsKeyId").is_some()
        && let Some(key) = r.key_arn
    {
        need("kms:Decrypt", key.to_string(), Feature::KmsEncryption);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolved() -> Resolved<'static> {
        Resolved {
            partition: "aws",
            region: "eu-west-1",
            account: "111111111111",
            key_arn: Some("arn:aws:kms:eu-west-1:111111111111:key/k1"),
            bucket_key_arn: None,
            bucket_elsewhere: false,
        }
    }

    #[test]
    fn nothing_asked_of_a_node_lists_no_features() {
        let inputs =
            json!({"idleSessionTimeout": "20", "maxSessionDuration": "60", "s3BucketName": ""});
        assert!(features(Some(&inputs)).is_empty());
        assert!(features(None).is_empty());
        assert!(permissions(Some(&inputs), &resolved()).is_empty());
    }

    #[test]
    fn each_input_asks_its_features() {
        let inputs = json!({
            "s3BucketName": "logs", "cloudWatchLogGroupName": "g",
            "cloudWatchStreamingEnabled": true, "kmsKeyId": "alias/ssm",
            "runAsEnabled": true, "shellProfile": {"linux": "", "windows": "date"}
        });
        assert_eq!(
            features(Some(&inputs)),
            vec![
                Feature::Sessions,
                Feature::S3Logging,
                Feature::CloudWatchLogging,
                Feature::CloudWatchStreaming,
                Feature::KmsEncryption,
                Feature::RunAs,
                Feature::ShellProfile
            ]
        );
        assert!(shell_profile_for(Some(&inputs), "Windows"));
        assert!(!shell_profile_for(Some(&inputs), "Linux"));
        // Streaming without a group streams nowhere.
        let inputs = json!({"cloudWatchStreamingEnabled": true});
        assert!(features(Some(&inputs)).is_empty());
    }

    #[test]
    fn the_permission_table() {
        let inputs = json!({
            "s3BucketName": "logs", "s3KeyPrefix": "/sessions/111111111111/",
            "cloudWatchLogGroupName": "/ssm/sessions", "kmsKeyId": "alias/ssm"
        });
        let r = Resolved {
            bucket_key_arn: Some("arn:aws:kms:eu-west-1:222222222222:key/b1"),
            ..resolved()
        };
        let got: Vec<(&str, String)> = permissions(Some(&inputs), &r)
            .into_iter()
            .map(|p| (p.action, p.resource))
            .collect();
        let group = "arn:aws:logs:eu-west-1:111111111111:log-group:/ssm/sessions:*";
        assert_eq!(
            got,
            vec![
                (
                    "s3:PutObject",
                    "arn:aws:s3:::logs/sessions/111111111111/*".to_string()
                ),
                ("s3:GetEncryptionConfiguration", "arn:aws:s3:::logs".into()),
                (
                    "kms:GenerateDataKey",
                    "arn:aws:kms:eu-west-1:222222222222:key/b1".into()
                ),
                ("logs:CreateLogStream", group.into()),
                ("logs:PutLogEvents", group.into()),
                ("logs:DescribeLogGroups", group.into()),
                ("logs:DescribeLogStreams", group.into()),
                (
                    "kms:Decrypt",
                    "arn:aws:kms:eu-west-1:111111111111:key/k1".into()
                ),
            ]
        );
        // No prefix: the whole bucket; an unresolved key: nothing to simulate for it.
        let inputs = json!({"s3BucketName": "logs", "kmsKeyId": "alias/gone"});
        let r = Resolved {
            key_arn: None,
            partition: "aws-cn",
            ..resolved()
        };
        let got: Vec<String> = permissions(Some(&inputs), &r)
            .into_iter()
            .map(|p| p.resource)
            .collect();
        assert_eq!(got, vec!["arn:aws-cn:s3:::logs/*", "arn:aws-cn:s3:::logs"]);
    }

    #[test]
    fn agent_versions_compare_as_numbers() {
        let v = |s| AgentVersion::parse(s).unwrap();
        assert!(v("2.3.100.0") < v("2.3.539.0"));
        assert!(v("3.0.1") > v("2.99.999.999"));
        assert!(v("2.3.1000.0") > v("2.3.539.0"));
        assert_eq!(v("3.2"), v("3.2.0.0"));
        assert_eq!(AgentVersion::parse(""), None);
        assert_eq!(AgentVersion::parse("3.x.1"), None);
    }

    #[test]
    fn the_agent_minimum_table() {
        let kms = [Feature::Sessions, Feature::KmsEncryption];
        assert_eq!(
            agent_verdict("2.3.100.0", "Linux", &kms, false),
            AgentVerdict::TooOld(Feature::KmsEncryption, "2.3.539.0")
        );
        assert_eq!(
            agent_verdict("2.3.539.0", "Linux", &kms, false),
            AgentVerdict::Enough
        );
        assert_eq!(
            agent_verdict("2.3.50.0", "Linux", &kms, false),
            AgentVerdict::TooOld(Feature::Sessions, "2.3.68.0")
        );
        let run_as = [Feature::Sessions, Feature::RunAs];
        assert_eq!(
            agent_verdict("2.3.600.0", "Windows", &run_as, false),
            AgentVerdict::Enough
        );
        assert_eq!(
            agent_verdict("2.3.600.0", "Linux", &run_as, false),
            AgentVerdict::TooOld(Feature::RunAs, "2.3.672.0")
        );
        let shell = [Feature::Sessions, Feature::ShellProfile];
        assert_eq!(
            agent_verdict("3.0.100.0", "Linux", &shell, false),
            AgentVerdict::Enough
        );
        assert_eq!(
            agent_verdict("3.0.100.0", "Linux", &shell, true),
            AgentVerdict::TooOld(Feature::ShellProfile, "3.0.196.0")
        );
        let streaming = [Feature::Sessions, Feature::CloudWatchStreaming];
        assert_eq!(
            agent_verdict("3.0.355.0", "Windows", &streaming, false),
            AgentVerdict::TooOld(Feature::CloudWatchStreaming, "3.0.356.0")
        );
        assert_eq!(
            agent_verdict("", "Linux", &kms, false),
            AgentVerdict::Unknown
        );
    }
}

//! The read-only calls of preflight's node check in a target's account: its managed nodes
//! (SSM DescribeInstanceInformation), the Default Host Management role (SSM GetServiceSetting),
//! EC2 instances' profiles (EC2 DescribeIamInstanceProfileAssociations), a profile's role (IAM
//! GetInstanceProfile) and what a role may do (IAM SimulatePrincipalPolicy); EC2's and IAM's go
//! through src/aws/query.rs. Its S3 and KMS reads (a bucket's owner, a key's policy) are
//! src/aws/resources.rs's, beside preflight's own.

use std::collections::HashMap;

use crate::aws::error::target_error;
use crate::aws::query::{Query, Service, Xml};
use crate::aws::session::{OnTarget, Session, on_target};
use crate::model::{Reason, TargetError};
use crate::target::Target;

/// The node check's clients for one target: the run's SSM client and a Query caller, each
/// call naming the target's account (its credentials) and region.
#[derive(Clone)]
pub(crate) struct NodeClients {
    ssm: aws_sdk_ssm::Client,
    on: OnTarget,
    partition: &'static str,
    pub(crate) query: Query,
}

impl Session {
    /// The node check's clients for one target: nothing built per account (a client per
    /// account would cost tens of kilobytes each).
    pub(crate) fn node_clients(&self, target: &Target) -> NodeClients {
        let on = self.on_target(target, "SSM, EC2 or IAM");
        NodeClients {
            ssm: self.run_ssm(),
            query: Query::new(self.base(), on.credentials.clone(), self.partition()),
            partition: self.partition(),
            on,
        }
    }
}

impl NodeClients {
    fn ssm_scope(&self) -> aws_sdk_ssm::config::Builder {
        on_target!(aws_sdk_ssm::config::Builder::default(), self.on)
    }

    fn region(&self) -> &str {
        self.on.region.as_ref()
    }

    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub(crate) fn partition(&self) -> &'static str {
        self.partition
    }

    /// Where the calls go, as an error message names it.
    pub(crate) fn endpoint(&self) -> &str {
        &self.on.endpoint
    }
}

/// A managed node as DescribeInstanceInformation describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub id: String,
    /// `Online`, `ConnectionLost`, `Inactive`.
    pub ping: String,
    pub agent: String,
    /// `Linux`, `Windows`, `MacOS`.
    pub platform: String,
    /// `EC2Instance`, `ManagedInstance` (hybrid).
    pub resource_type: String,
    /// The role SSM names: hybrid nodes' (and Quick Setup's); empty for ordinary EC2 nodes.
    pub iam_role: String,
}

impl Node {
    pub(crate) fn online(&self) -> bool {
        self.ping == "Online"
    }

    pub(crate) fn is_ec2(&self) -> bool {
        self.resource_type == "EC2Instance"
    }
}

/// DescribeInstanceInformation, every page: the region's managed nodes. Pages by `NextToken`
/// by hand: the SDK's paginator takes no per-call override, and a client per target costs
/// more than the call.
pub(crate) async fn managed_nodes(c: &NodeClients) -> Result<Vec<Node>, TargetError> {
    let mut out = vec![];
    let mut token: Option<String> = None;
    loop {
        let page = c
            .ssm
            .describe_instance_information()
            .max_results(50)
            .set_next_token(token.take())
            .customize()
            .config_override(c.ssm_scope())
            .send()
            .await
            .map_err(|e| target_error(e, c.endpoint()))?;
        for i in page.instance_information_list() {
            out.push(Node {
                id: i.instance_id().unwrap_or_default().to_string(),
                ping: i
                    .ping_status()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
                agent: i.agent_version().unwrap_or_default().to_string(),
                platform: i
                    .platform_type()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
                resource_type: i
                    .resource_type()
                    .map(|r| r.as_str().to_string())
                    .unwrap_or_default(),
                iam_role: i.iam_role().unwrap_or_default().to_string(),
            });
        }
        match page.next_token().filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(out),
        }
    }
}

/// The setting that names the Default Host Management Configuration role.
const DEFAULT_HOST_ROLE: &str = "/ssm/managed-instance/default-ec2-instance-management-role";

/// GetServiceSetting of the Default Host Management role: its name (with its path, as SSM
/// keeps it), `None` when none is set.
pub(crate) async fn default_host_role(c: &NodeClients) -> Result<Option<String>, TargetError> {
    match c
        .ssm
        .get_service_setting()
        .setting_id(DEFAULT_HOST_ROLE)
        .customize()
        .config_override(c.ssm_scope())
        .send()
        .await
    {
        Ok(out) => Ok(out
            .service_setting()
            .and_then(|s| s.setting_value())
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != "$None")
            .map(String::from)),
        Err(e)
            if aws_sdk_ssm::error::ProvideErrorMetadata::code(&e)
                == Some("ServiceSettingNotFound") =>
        {
            Ok(None)
        }
        Err(e) => Err(target_error(e, c.endpoint())),
    }
}

/// DescribeIamInstanceProfileAssociations (state `associated`), every page: instance id →
/// its instance profile's ARN, for the target's region.
pub(crate) async fn profile_associations(
    c: &NodeClients,
) -> Result<HashMap<String, String>, TargetError> {
    let mut out = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![
            ("Filter.1.Name".to_string(), "state".to_string()),
            ("Filter.1.Value.1".to_string(), "associated".to_string()),
            ("MaxResults".to_string(), "1000".to_string()),
        ];
        if let Some(t) = token.take() {
            params.push(("NextToken".to_string(), t));
        }
        let next = c
            .query
            .call(
                Service::Ec2,
                c.region(),
                "DescribeIamInstanceProfileAssociations",
                &params,
                |page| {
                    let items = page
                        .child("iamInstanceProfileAssociationSet")
                        .into_iter()
                        .flat_map(|set| set.all("item"));
                    for item in items {
                        let state = item.text_of("state").unwrap_or("associated");
                        let id = item.text_of("instanceId");
                        let arn = item
                            .child("iamInstanceProfile")
                            .and_then(|p| p.text_of("arn"));
                        if let (Some(id), Some(arn), "associated") = (id, arn, state) {
                            out.insert(id.to_string(), arn.to_string());
                        }
                    }
                    page.text_of("nextToken").map(String::from)
                },
            )
            .await?;
        match next {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// GetInstanceProfile: the ARN of the role in the profile `profile_arn`; `None` when the
/// profile is gone or holds no role (its nodes then have no credentials of theirs).
pub(crate) async fn profile_role(
    c: &NodeClients,
    profile_arn: &str,
) -> Result<Option<String>, TargetError> {
    // arn:aws:iam::111111111111:instance-profile/path/name: the name is the last segment.
    let name = profile_arn.rsplit('/').next().unwrap_or(profile_arn);
    let answer = c
        .query
        .call(
            Service::Iam,
            c.region(),
            "GetInstanceProfile",
            &[("InstanceProfileName".to_string(), name.to_string())],
            |x| {
                x.find("Roles")
                    .and_then(|roles| roles.child("member"))
                    .and_then(|role| role.text_of("Arn"))
                    .map(String::from)
            },
        )
        .await;
    match answer {
        Ok(role) => Ok(role),
        Err(e) if e.reason == Reason::Aws("NoSuchEntity".into()) => Ok(None),
        Err(e) => Err(e),
    }
}

/// IAM's decision for one action on one resource: `allowed`, `explicitDeny`, `implicitDeny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub action: String,
    pub resource: String,
    pub decision: String,
}

/// SimulatePrincipalPolicy of `role_arn` for every action on every resource given: one call,
/// IAM's decision with SCPs and permissions boundaries. IAM evaluates each pair; `keep`
/// picks the (action, resource) pairs the caller needs as the answer is read, so the others
/// (most of an account's: each action on every region's resources) are never kept.
pub(crate) async fn simulate(
    c: &NodeClients,
    role_arn: &str,
    actions: &[&str],
    resources: &[&str],
    keep: impl Fn(&str, &str) -> bool,
) -> Result<Vec<Decision>, TargetError> {
    let mut params = vec![
        ("PolicySourceArn".to_string(), role_arn.to_string()),
        ("MaxItems".to_string(), "1000".to_string()),
    ];
    for (i, a) in actions.iter().enumerate() {
        params.push((format!("ActionNames.member.{}", i + 1), a.to_string()));
    }
    for (i, r) in resources.iter().enumerate() {
        params.push((format!("ResourceArns.member.{}", i + 1), r.to_string()));
    }
    let mut out = vec![];
    let mut marker: Option<String> = None;
    loop {
        let mut page_params = params.clone();
        if let Some(m) = marker.take() {
            page_params.push(("Marker".to_string(), m));
        }
        let next = c
            .query
            .call(
                Service::Iam,
                c.region(),
                "SimulatePrincipalPolicy",
                &page_params,
                |answer| {
                    let results = answer.find("EvaluationResults")?;
                    for r in results.all("member") {
                        decisions(r, &keep, &mut out);
                    }
                    let truncated = answer
                        .find("IsTruncated")
                        .is_some_and(|t| t.text.trim() == "true");
                    let m = answer.find("Marker").map(|m| m.text.trim())?;
                    (truncated && !m.is_empty()).then(|| m.to_string())
                },
            )
            .await?;
        match next {
            Some(m) => marker = Some(m),
            None => return Ok(out),
        }
    }
}

/// One EvaluationResult's decisions that `keep` picks, onto `out`: per resource where IAM
/// lists them (`ResourceSpecificResults`), else the result's own.
fn decisions(r: &Xml<'_>, keep: &impl Fn(&str, &str) -> bool, out: &mut Vec<Decision>) {
    let action = r.text_of("EvalActionName").unwrap_or_default();
    let mut specific = false;
    let per_resource = r
        .child("ResourceSpecificResults")
        .into_iter()
        .flat_map(|s| s.all("member"));
    for m in per_resource {
        let (Some(resource), Some(decision)) = (
            m.text_of("EvalResourceName"),
            m.text_of("EvalResourceDecision"),
        ) else {
            continue;
        };
        specific = true;
        if keep(action, resource) {
            out.push(Decision {
                action: action.to_string(),
                resource: resource.to_string(),
                decision: decision.to_string(),
            });
        }
    }
    let resource = r.text_of("EvalResourceName").unwrap_or("*");
    if !specific && keep(action, resource) {
        out.push(Decision {
            action: action.to_string(),
            resource: resource.to_string(),
            decision: r
                .text_of("EvalDecision")
                .unwrap_or("implicitDeny")
                .to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_results_read_per_resource_keeping_the_pairs_asked() {
        let x = Xml::parse(
            r#"<SimulatePrincipalPolicyResponse><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>
            <member><EvalActionName>kms:Decrypt</EvalActionName><EvalResourceName>arn:k</EvalResourceName><EvalDecision>implicitDeny</EvalDecision><MatchedStatements/></member>
            <member><EvalActionName>s3:PutObject</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>allowed</EvalDecision>
              <ResourceSpecificResults><member><EvalResourceName>arn:a</EvalResourceName><EvalResourceDecision>allowed</EvalResourceDecision><MatchedStatements><member><SourcePolicyId>p</SourcePolicyId></member></MatchedStatements></member>
              <member><EvalResourceName>arn:b</EvalResourceName><EvalResourceDecision>explicitDeny</EvalResourceDecision></member>
              <member><EvalResourceName>arn:c</EvalResourceName><EvalResourceDecision>allowed</EvalResourceDecision></member></ResourceSpecificResults></member>
            </EvaluationResults></SimulatePrincipalPolicyResult></SimulatePrincipalPolicyResponse>"#,
        )
        .unwrap();
        let mut got = vec![];
        for r in x.find("EvaluationResults").unwrap().all("member") {
            decisions(r, &|_, r| r != "arn:c", &mut got);
        }
        let d = |a: &str, r: &str, d: &str| Decision {
            action: a.into(),
            resource: r.into(),
            decision: d.into(),
        };
        assert_eq!(
            got,
            vec![
                d("kms:Decrypt", "arn:k", "implicitDeny"),
                d("s3:PutObject", "arn:a", "allowed"),
                d("s3:PutObject", "arn:b", "explicitDeny"),
            ]
        );
    }
}

//! The node check (docs/report.md "Nodes"): a target's managed nodes, each online node's role
//! and agent, judged against what the preferences require of them (requirements.rs). Asks
//! once per account for roles, profiles and simulations (one per role and requirement set,
//! naming every region's resources at once), once per account and region for the nodes and
//! their profile associations, however many targets share them (docs/operations.md "Cost").

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use futures::future::{BoxFuture, join_all};
use serde_json::Value;

use crate::answers::Cache;
use crate::aws::nodes::{self, Decision, Node, NodeClients};
use crate::aws::resources::{self, CheckClients};
use crate::model::{Finding, NodeCounts, NodeLine, Reason, Severity, TargetError};
use crate::nodes::requirements::{
    self, AgentVerdict, Feature, Permission, Resolved, agent_verdict, shell_profile_for,
};
use crate::target::{AccountId, Target};

type Shared<T> = Result<Arc<T>, TargetError>;

/// The node check's answers so far, shared by the run's targets.
#[derive(Default)]
pub(crate) struct NodeCheck {
    nodes: Cache<(AccountId, &'static str), Shared<Vec<Node>>>,
    associations: Cache<(AccountId, &'static str), Shared<HashMap<String, String>>>,
    host_roles: Cache<(AccountId, &'static str), Result<Option<String>, TargetError>>,
    profiles: Cache<(AccountId, String), Result<Option<String>, TargetError>>,
    /// Per account, role and requirement set (the permissions asked, their region left out):
    /// one simulation for all the account's regions.
    simulations: Cache<(AccountId, String, String), Shared<Decisions>>,
    /// Per key (its region and ARN): the preferences' key and the bucket's.
    key_policies: Cache<(AccountId, String, String), Result<String, TargetError>>,
    /// The keys of the answers above each account's targets shared, to drop them once the
    /// account's last target is checked ([`NodeCheck::account_done`]).
    shared: std::sync::Mutex<HashMap<AccountId, SharedKeys>>,
}

/// The keys of an account's shared answers (its account id left out).
#[derive(Default)]
struct SharedKeys {
    simulations: HashSet<(String, String)>,
    profiles: HashSet<String>,
    key_policies: HashSet<(String, String)>,
}

/// What the node check found in one target.
#[derive(Debug, Default)]
pub(crate) struct NodeReport {
    pub findings: Vec<Finding>,
    pub counts: NodeCounts,
    /// Each node seen, for the nodes report.
    pub lines: Vec<NodeLine>,
}

/// What the node check learns of the target's account beyond the target: its regions in this
/// run, and the preferences' key in each (preflight's DescribeKey, cached), so that one
/// simulation per role names every region's resources.
pub(crate) struct AccountWide<'a> {
    pub regions: &'a [&'static str],
    pub key_in: &'a (dyn Fn(&'static str) -> BoxFuture<'a, Option<String>> + Sync),
}

/// IAM's decisions of one simulation: action → resource (`*` for any) → decision.
#[derive(Debug, Default)]
pub(crate) struct Decisions(HashMap<String, HashMap<String, String>>);

impl Decisions {
    /// The decisions of a simulation, each about a pair asked ([`Decisions::asked`]).
    fn of(all: Vec<Decision>) -> Self {
        let mut out = Decisions::default();
        for d in all {
            out.0
                .entry(d.action)
                .or_default()
                .insert(d.resource, d.decision);
        }
        out
    }

    /// Whether IAM's decision of `action` on `resource` answers one of `asked` (IAM judges
    /// every action on every resource named: the others are dropped as the answer is read).
    fn asked(asked: &[Permission]) -> impl Fn(&str, &str) -> bool + '_ {
        let wanted: HashSet<(&str, &str)> = asked
            .iter()
            .map(|p| (p.action, p.resource.as_str()))
            .collect();
        move |action, resource| resource == "*" || wanted.contains(&(action, resource))
    }

    /// IAM's decision for `p`, `None` when the simulation did not ask about it.
    fn of_permission(&self, p: &Permission) -> Option<&str> {
        let by_resource = self.0.get(p.action)?;
        by_resource
            .get(&p.resource)
            .or_else(|| by_resource.get("*"))
            .map(String::as_str)
    }
}

/// What a role's check found: a permission it lacks (reason, subject, how to fix), or one
/// that could not be verified (subject, why).
enum Judged {
    Denied(Reason, String, String),
    Unsure(String, String),
}

/// Where an online node's role came from, or why it is not known.
enum RoleOf {
    Role(String),
    /// An EC2 node with no instance profile and no Default Host Management role.
    None,
    Unknown(TargetError, &'static str),
}

impl NodeCheck {
    /// Notes a key of `account`'s shared answers.
    fn note(&self, account: &AccountId, add: impl FnOnce(&mut SharedKeys) -> bool) {
        let mut shared = self.shared.lock().expect("not poisoned");
        add(shared.entry(account.clone()).or_default());
    }

    /// Drops what `account`'s targets shared (its simulations, profiles, key policies): its
    /// last target is checked, and an organization's thousands of accounts would otherwise
    /// keep them all to the run's end. A target of it checked later asks again.
    pub(crate) fn account_done(&self, account: &AccountId) {
        let keys = self
            .shared
            .lock()
            .expect("not poisoned")
            .remove(account)
            .unwrap_or_default();
        for (role, set) in keys.simulations {
            self.simulations.forget(&(account.clone(), role, set));
        }
        for profile in keys.profiles {
            self.profiles.forget(&(account.clone(), profile));
        }
        for (region, key) in keys.key_policies {
            self.key_policies.forget(&(account.clone(), region, key));
        }
    }

    /// The region's managed nodes, listed once per account and region.
    async fn listed(&self, c: &NodeClients, target: &Target) -> Shared<Vec<Node>> {
        self.nodes
            .get(
                (target.account_id().clone(), target.region.as_str()),
                || async { nodes::managed_nodes(c).await.map(Arc::new) },
            )
            .await
    }

    /// The target's nodes and their roles asked ahead (into the caches `check` reads), when
    /// the preferences `inputs` ask anything of a node.
    pub(crate) async fn ahead(&self, c: &NodeClients, target: &Target, inputs: Option<&Value>) {
        if requirements::features(inputs).is_empty() {
            return;
        }
        let Ok(all) = self.listed(c, target).await else {
            return;
        };
        for node in all.iter().filter(|n| n.online()) {
            self.role_of(c, target, node).await;
        }
    }

    /// Whether the target has an online managed node (so what the permissions name is
    /// worth resolving); `false` when they cannot be listed.
    pub(crate) async fn any_online(&self, c: &NodeClients, target: &Target) -> bool {
        self.listed(c, target)
            .await
            .is_ok_and(|all| all.iter().any(Node::online))
    }

    /// The nodes of `target` judged against `desired`'s inputs; `resolved` holds what
    /// preflight resolved (the key's ARN, the bucket's key). Nothing is asked when nothing the
    /// preferences turn on asks anything of a node.
    pub(crate) async fn check(
        &self,
        c: &NodeClients,
        checks: &CheckClients,
        target: &Target,
        desired: &Value,
        resolved: &Resolved<'_>,
        wide: &AccountWide<'_>,
    ) -> NodeReport {
        let inputs = desired.get("inputs");
        let features = requirements::features(inputs);
        if features.is_empty() {
            return NodeReport::default();
        }
        let all = match self.listed(c, target).await {
            Ok(all) => all,
            Err(e) => {
                return NodeReport {
                    findings: vec![unverified(
                        "managed nodes",
                        "list the managed nodes",
                        "ssm:DescribeInstanceInformation",
                        &e,
                        0,
                    )],
                    counts: NodeCounts::default(),
                    lines: vec![],
                };
            }
        };
        let mut report = NodeReport::default();
        let mut lines: BTreeMap<String, NodeLine> = all
            .iter()
            .map(|n| {
                let line = NodeLine {
                    account_id: target.account_id().to_string(),
                    region: target.region.to_string(),
                    instance_id: n.id.clone(),
                    ping_status: n.ping.clone(),
                    platform: n.platform.clone(),
                    agent_version: n.agent.clone(),
                    ..NodeLine::default()
                };
                (n.id.clone(), line)
            })
            .collect();
        let mut fail = |id: &str, code: &str, why: &str| {
            if let Some(l) = lines.get_mut(id) {
                l.fail(code, why);
            }
        };
        let (online, offline): (Vec<&Node>, Vec<&Node>) = all.iter().partition(|n| n.online());
        if !offline.is_empty() {
            report.findings.push(Finding {
                reason: Reason::NodesOffline,
                severity: Severity::Warning,
                subject: "managed nodes not online".into(),
                message: format!(
                    "{} not online ({}): not checked, and they cannot start sessions until they are",
                    crate::words::count(offline.len(), "managed node"),
                    list(offline.iter().map(|n| format!("{} {}", n.id, n.ping)))
                ),
                nodes: offline.len() as u32,
            });
            for n in &offline {
                fail(&n.id, "NodesOffline", "not online: not checked");
            }
        }
        // Problems found, each with the nodes it concerns: (reason, subject, why) → ids.
        let mut risks: BTreeMap<(Reason, String, String), BTreeSet<String>> = BTreeMap::new();
        let mut unsure: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for node in &online {
            match agent_verdict(
                &node.agent,
                &node.platform,
                &features,
                shell_profile_for(inputs, &node.platform),
            ) {
                AgentVerdict::Enough => {}
                AgentVerdict::TooOld(feature, minimum) => {
                    fail(
                        &node.id,
                        "NodeAgentTooOld",
                        &format!("{} needs SSM Agent {minimum} or later", feature.input()),
                    );
                    risks
                        .entry((
                            Reason::NodeAgentTooOld,
                            format!("SSM Agent older than {minimum} ({})", feature.input()),
                            format!(
                                "{} needs SSM Agent {minimum} or later: update the agent (AWS-UpdateSSMAgent)",
                                feature.input()
                            ),
                        ))
                        .or_default()
                        .insert(format!("{} ({})", node.id, node.agent));
                }
                AgentVerdict::Unknown => {
                    fail(&node.id, "CheckUnverified", "no agent version reported");
                    unsure
                        .entry((
                            "SSM Agent version".into(),
                            "the node reports no agent version".into(),
                        ))
                        .or_default()
                        .insert(node.id.clone());
                }
            }
        }
        let permissions = requirements::permissions(inputs, resolved);
        // Each online node's role, as the nodes report names it.
        let mut roles: BTreeMap<String, String> = BTreeMap::new();
        if !permissions.is_empty() && !online.is_empty() {
            let mut by_role: BTreeMap<String, Vec<&Node>> = BTreeMap::new();
            for node in &online {
                match self.role_of(c, target, node).await {
                    RoleOf::Role(arn) => {
                        roles.insert(node.id.clone(), arn.clone());
                        by_role.entry(arn).or_default().push(node);
                    }
                    RoleOf::None => {
                        roles.insert(node.id.clone(), "none".into());
                        fail(
                            &node.id,
                            "NodeRoleDenied",
                            "no instance profile and no Default Host Management role",
                        );
                        risks
                            .entry((
                                Reason::NodeRoleDenied,
                                "no role: no instance profile and no Default Host Management role".into(),
                                "the node has no role to write logs or decrypt with: attach an instance profile, or set the Default Host Management Configuration".into(),
                            ))
                            .or_default()
                            .insert(node.id.clone());
                    }
                    RoleOf::Unknown(e, permission) => {
                        roles.insert(node.id.clone(), "unknown".into());
                        fail(
                            &node.id,
                            "CheckUnverified",
                            &format!(
                                "role not found: {}: {} (needs {permission})",
                                e.reason, e.message
                            ),
                        );
                        unsure
                            .entry((
                                "node roles".into(),
                                format!(
                                    "could not find the node's role: {}: {} (the member role needs {permission})",
                                    e.reason, e.message
                                ),
                            ))
                            .or_default()
                            .insert(node.id.clone());
                    }
                }
            }
            for (role, members) in by_role {
                let ids = || members.iter().map(|n| n.id.clone());
                match self
                    .judge_role(c, checks, target, &role, &permissions, resolved, wide)
                    .await
                {
                    Ok(judged) => {
                        for j in judged {
                            match j {
                                Judged::Denied(reason, subject, why) => {
                                    for n in &members {
                                        fail(&n.id, <&str>::from(&reason), &subject);
                                    }
                                    risks
                                        .entry((reason, subject, why))
                                        .or_default()
                                        .extend(ids());
                                }
                                Judged::Unsure(subject, why) => {
                                    for n in &members {
                                        fail(&n.id, "CheckUnverified", &subject);
                                    }
                                    unsure.entry((subject, why)).or_default().extend(ids());
                                }
                            }
                        }
                    }
                    Err((e, permission)) => {
                        for n in &members {
                            fail(
                                &n.id,
                                "CheckUnverified",
                                &format!(
                                    "role not checked: {}: {} (needs {permission})",
                                    e.reason, e.message
                                ),
                            );
                        }
                        unsure
                            .entry((
                                format!("role {}", role_name(&role)),
                                format!(
                                    "could not check what role {} may do: {}: {} (the member role needs {permission})",
                                    role_name(&role),
                                    e.reason,
                                    e.message
                                ),
                            ))
                            .or_default()
                            .extend(ids());
                    }
                }
            }
        }
        let mut at_risk: BTreeSet<&str> = BTreeSet::new();
        for ((reason, subject, why), ids) in &risks {
            for id in ids {
                at_risk.insert(id.split(' ').next().unwrap_or(id));
            }
            report.findings.push(Finding {
                reason: reason.clone(),
                severity: Severity::Blocking,
                subject: subject.clone(),
                message: format!(
                    "{} would lose Session Manager: {subject} ({}); {why}",
                    crate::words::count(ids.len(), "online node"),
                    list(ids.iter().cloned())
                ),
                nodes: ids.len() as u32,
            });
        }
        for ((subject, why), ids) in unsure {
            report.findings.push(Finding {
                reason: Reason::CheckUnverified,
                severity: Severity::Unverified,
                subject: format!("nodes: {subject}"),
                message: format!(
                    "{} not verified ({}): {why}",
                    crate::words::count(ids.len(), "online node"),
                    list(ids.into_iter())
                ),
                nodes: 0,
            });
        }
        for (id, role) in roles {
            if let Some(l) = lines.get_mut(&id) {
                l.role = role;
            }
        }
        // The nodes and their profiles are the target's own (its account and region): no
        // other target asks for them again.
        let own = (target.account_id().clone(), target.region.as_str());
        self.nodes.forget(&own);
        self.associations.forget(&own);
        self.host_roles.forget(&own);
        // So is the preferences' key of its region: its policy is not kept for the run (one
        // per target, a few kilobytes each in an organization's real policies).
        if let Some(key) = resolved.key_arn
            && arn_region(key) == Some(own.1)
        {
            self.key_policies
                .forget(&(own.0.clone(), own.1.to_string(), key.to_string()));
        }
        report.lines = lines.into_values().collect();
        report.counts = NodeCounts {
            seen: Some(online.len() as u32),
            at_risk: Some(at_risk.len() as u32),
        };
        report
    }

    /// An online node's role: a hybrid node's (and Quick Setup's) as SSM names it; an EC2
    /// node's from its instance profile, else the Default Host Management role.
    async fn role_of(&self, c: &NodeClients, target: &Target, node: &Node) -> RoleOf {
        let account = target.account_id();
        let partition = c.partition();
        let arn_of = |name: &str| {
            if name.starts_with("arn:") {
                name.to_string()
            } else {
                format!("arn:{partition}:iam::{account}:role/{name}")
            }
        };
        if !node.iam_role.is_empty() {
            return RoleOf::Role(arn_of(&node.iam_role));
        }
        if !node.is_ec2() {
            return RoleOf::None;
        }
        let region = target.region.as_str();
        let associations = self
            .associations
            .get((account.clone(), region), || async {
                nodes::profile_associations(c).await.map(Arc::new)
            })
            .await;
        let associations = match associations {
            Ok(a) => a,
            Err(e) => return RoleOf::Unknown(e, "ec2:DescribeIamInstanceProfileAssociations"),
        };
        if let Some(profile) = associations.get(&node.id) {
            self.note(account, |k| k.profiles.insert(profile.clone()));
            let role = self
                .profiles
                .get((account.clone(), profile.clone()), || {
                    nodes::profile_role(c, profile)
                })
                .await;
            return match role {
                Ok(Some(role)) => RoleOf::Role(role),
                Ok(None) => RoleOf::None,
                Err(e) => RoleOf::Unknown(e, "iam:GetInstanceProfile"),
            };
        }
        let host = self
            .host_roles
            .get((account.clone(), region), || nodes::default_host_role(c))
            .await;
        match host {
            Ok(Some(name)) => RoleOf::Role(arn_of(&name)),
            Ok(None) => RoleOf::None,
            Err(e) => RoleOf::Unknown(e, "ssm:GetServiceSetting"),
        }
    }

    /// What `role` may not do of `permissions`: (reason, subject, how to fix) each.
    #[allow(clippy::too_many_arguments)]
    async fn judge_role(
        &self,
        c: &NodeClients,
        checks: &CheckClients,
        target: &Target,
        role: &str,
        permissions: &[Permission],
        resolved: &Resolved<'_>,
        wide: &AccountWide<'_>,
    ) -> Result<Vec<Judged>, (TargetError, &'static str)> {
        let account = target.account_id();
        let region = target.region.as_str();
        // One simulation per account, role and requirement set: the first target asks for
        // every region of the account, the others wait for its answer.
        let set = requirement_set(permissions, region, resolved.key_arn);
        self.note(account, |k| {
            k.simulations.insert((role.to_string(), set.clone()))
        });
        let simulation = self
            .simulations
            .get((account.clone(), role.to_string(), set), || async {
                let all = account_permissions(permissions, region, resolved.key_arn, wide).await;
                simulate(c, role, &all).await
            });
        // The key policies (the account's own keys') are read while IAM simulates: needed
        // wherever IAM allows, which is the common case.
        let policies = join_all(
            permissions
                .iter()
                .filter(|p| {
                    p.action.starts_with("kms:")
                        && arn_account(&p.resource).is_none_or(|a| a == account.as_str())
                })
                .map(|p| async move {
                    let key_region = arn_region(&p.resource).unwrap_or(region);
                    self.note(account, |k| {
                        k.key_policies
                            .insert((key_region.to_string(), p.resource.clone()))
                    });
                    let policy = self
                        .key_policies
                        .get(
                            (account.clone(), key_region.to_string(), p.resource.clone()),
                            || resources::key_policy(checks, key_region, &p.resource),
                        )
                        .await;
                    (p.resource.as_str(), policy)
                }),
        );
        let (decisions, policies) = futures::join!(simulation, policies);
        let decisions = decisions.map_err(|e| (e, "iam:SimulatePrincipalPolicy"))?;
        // What the account's simulation did not name (this target's resources are not those
        // its region's name stands for in the others'): asked for this target alone.
        let missing: Vec<Permission> = permissions
            .iter()
            .filter(|p| decisions.of_permission(p).is_none())
            .cloned()
            .collect();
        let own = if missing.is_empty() {
            None
        } else {
            let set = missing
                .iter()
                .map(|p| format!("{} {}", p.action, p.resource))
                .collect::<Vec<_>>()
                .join(",");
            self.note(account, |k| {
                k.simulations.insert((role.to_string(), set.clone()))
            });
            Some(
                self.simulations
                    .get((account.clone(), role.to_string(), set), || {
                        simulate(c, role, &missing)
                    })
                    .await
                    .map_err(|e| (e, "iam:SimulatePrincipalPolicy"))?,
            )
        };
        let name = role_name(role);
        let mut judged = vec![];
        for p in permissions {
            let decision = decisions
                .of_permission(p)
                .or_else(|| own.as_ref().and_then(|d| d.of_permission(p)))
                .unwrap_or("implicitDeny");
            if decision != "allowed" {
                judged.push(Judged::Denied(
                    Reason::NodeRoleDenied,
                    format!("{} denied to role {name} on {}", p.action, p.resource),
                    format!(
                        "IAM's simulation says {decision} ({}): allow it in the role's policies (and any permissions boundary or SCP)",
                        p.feature.input()
                    ),
                ));
                continue;
            }
            // IAM's "allowed" sees the role's own policies only: a key's policy, and another
            // account's bucket policy, decide too.
            if p.action == "s3:PutObject" && resolved.bucket_elsewhere {
                judged.push(Judged::Unsure(
                    format!("{} on {} of another account", p.action, p.resource),
                    format!(
                        "the bucket is not among account {account}'s own: its bucket policy, which the simulation cannot see and this account cannot read, must allow role {name} {} (IAM allows it on the role's side)",
                        p.action
                    ),
                ));
            }
            if !p.action.starts_with("kms:") {
                continue;
            }
            let key_account = arn_account(&p.resource).unwrap_or(account.as_str());
            if key_account != account.as_str() {
                judged.push(Judged::Unsure(
                    format!("{} on {} of account {key_account}", p.action, p.resource),
                    format!(
                        "the key belongs to account {key_account}: its key policy cannot be read from account {account} (kms:GetKeyPolicy works in the key's own account only), so whether it allows role {name} {} is not verified (IAM allows it on the role's side)",
                        p.action
                    ),
                ));
                continue;
            }
            let policy = policies
                .iter()
                .find(|(resource, _)| *resource == p.resource)
                .map(|(_, policy)| policy.clone())
                .expect("every key of the account read")
                .map_err(|e| (e, "kms:GetKeyPolicy"))?;
            if !key_policy_grants(
                &policy,
                resolved.partition,
                account.as_str(),
                role,
                p.action,
            ) {
                judged.push(Judged::Denied(
                    Reason::NodeKeyPolicyDenied,
                    format!("{} not granted to role {name} by the policy of {}", p.action, p.resource),
                    format!(
                        "the key policy neither delegates to the account's IAM (a statement for its root) nor allows the role {}: add the role to the key policy ({})",
                        p.action,
                        p.feature.input()
                    ),
                ));
            }
        }
        Ok(judged)
    }
}

/// The requirement set of `permissions` as the account's other regions share it: the
/// target's region and its key stand as `{region}` and `{key}`.
fn requirement_set(permissions: &[Permission], region: &str, key: Option<&str>) -> String {
    permissions
        .iter()
        .map(|p| format!("{} {}", p.action, generic(p, region, key)))
        .collect::<Vec<_>>()
        .join(",")
}

/// A permission's resource with the region's name as `{region}` (a log group's ARN, a prefix
/// rendered from `{region}`) and the preferences' key as `{key}`; the bucket's key stays.
fn generic(p: &Permission, region: &str, key: Option<&str>) -> String {
    if p.feature == Feature::KmsEncryption && Some(p.resource.as_str()) == key {
        "{key}".to_string()
    } else if p.action == "kms:GenerateDataKey" {
        p.resource.clone()
    } else {
        p.resource.replace(region, "{region}")
    }
}

/// `permissions` as each region of the account would need them: the target's own, and for
/// every other region, its region's name in place of the target's and that region's key.
async fn account_permissions(
    permissions: &[Permission],
    region: &str,
    key: Option<&str>,
    wide: &AccountWide<'_>,
) -> Vec<Permission> {
    let others: Vec<&'static str> = wide
        .regions
        .iter()
        .copied()
        .filter(|r| *r != region)
        .collect();
    let wants_key = permissions
        .iter()
        .any(|p| p.feature == Feature::KmsEncryption && Some(p.resource.as_str()) == key);
    let keys: Vec<Option<String>> = if wants_key {
        join_all(others.iter().map(|r| (wide.key_in)(r))).await
    } else {
        vec![None; others.len()]
    };
    let mut out: BTreeSet<Permission> = permissions.iter().cloned().collect();
    for (other, other_key) in others.iter().zip(keys) {
        for p in permissions {
            let resource = match generic(p, region, key).as_str() {
                "{key}" => match &other_key {
                    Some(k) => k.clone(),
                    None => continue,
                },
                g => g.replace("{region}", other),
            };
            out.insert(Permission {
                resource,
                ..p.clone()
            });
        }
    }
    out.into_iter().collect()
}

/// One SimulatePrincipalPolicy of `role` for the actions and resources of `permissions`.
async fn simulate(c: &NodeClients, role: &str, permissions: &[Permission]) -> Shared<Decisions> {
    let actions: BTreeSet<&str> = permissions.iter().map(|p| p.action).collect();
    let resources: BTreeSet<&str> = permissions.iter().map(|p| p.resource.as_str()).collect();
    let actions: Vec<&str> = actions.into_iter().collect();
    let resources: Vec<&str> = resources.into_iter().collect();
    nodes::simulate(c, role, &actions, &resources, Decisions::asked(permissions))
        .await
        .map(|d| Arc::new(Decisions::of(d)))
}

/// A role's name, from its ARN (the last path segment).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Up to five items, then how many more.
fn list(items: impl Iterator<Item = String>) -> String {
    let all: Vec<String> = items.collect();
    let shown = all.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    match all.len() {
        n if n > 5 => format!("{shown} and {} more", n - 5),
        _ => shown,
    }
}

fn unverified(subject: &str, what: &str, permission: &str, e: &TargetError, nodes: u32) -> Finding {
    Finding {
        reason: Reason::CheckUnverified,
        severity: Severity::Unverified,
        subject: subject.to_string(),
        message: format!(
            "could not {what}: {}: {} (the member role needs {permission}); the nodes' access is not verified",
            e.reason, e.message
        ),
        nodes,
    }
}

/// The account field of an ARN (`arn:aws:kms:eu-west-1:111122223333:key/…`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .split(':')
        .nth(3)
        .filter(|a| !a.is_empty())
}

/// The region field of an ARN.
fn arn_region(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .split(':')
        .nth(2)
        .filter(|r| !r.is_empty())
}

/// Whether a key policy lets `role` do `action` (`kms:Decrypt`, `kms:GenerateDataKey`): it
/// delegates to the account's IAM (an Allow for the account's root, which IAM's simulation
/// then decides), or it allows the role (or everyone) the action itself; an explicit Deny of
/// it for the role wins.
pub(crate) fn key_policy_grants(
    policy: &str,
    partition: &str,
    account: &str,
    role: &str,
    action: &str,
) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(s)) => s.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => vec![],
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect(),
            _ => vec![],
        }
    };
    let root = format!("arn:{partition}:iam::{account}:root");
    let principals = |s: &Value| -> Vec<String> {
        match s.get("Principal") {
            Some(Value::String(star)) => vec![star.clone()],
            Some(p) => strings(p.get("AWS")),
            None => vec![],
        }
    };
    let covers = |pattern: &str| match pattern.strip_suffix('*') {
        Some(prefix) => action
            .to_ascii_lowercase()
            .starts_with(&prefix.to_ascii_lowercase()),
        None => pattern.eq_ignore_ascii_case(action),
    };
    let decrypts = |s: &Value| strings(s.get("Action")).iter().any(|a| covers(a));
    let mut allowed = false;
    for s in statements {
        let who = principals(s);
        let effect = s.get("Effect").and_then(Value::as_str).unwrap_or("");
        let is_role = who.iter().any(|p| p == role || p == "*");
        let is_root = who.iter().any(|p| p == &root || p == account);
        match effect {
            "Deny" if is_role && decrypts(s) => return false,
            "Allow" if is_root || (is_role && decrypts(s)) => allowed = true,
            _ => {}
        }
    }
    allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::111111111111:role/NodeRole";

    #[test]
    fn a_key_policy_grants_by_delegation_or_by_name() {
        let root = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]}"#;
        let grants =
            |policy: &str| key_policy_grants(policy, "aws", "111111111111", ROLE, "kms:Decrypt");
        assert!(grants(root));
        let named = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/NodeRole"]},"Action":["kms:Decrypt"],"Resource":"*"}}"#;
        assert!(grants(named));
        let other = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/Admin"},"Action":"kms:*","Resource":"*"}]}"#;
        assert!(!grants(other));
        let denied = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"kms:*"},{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt"}]}"#;
        assert!(!grants(denied));
        assert!(!grants("not json"));
        // The bucket's key: kms:GenerateDataKey, by name or by a wildcard.
        let generate = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/NodeRole"},"Action":["kms:GenerateDataKey*"],"Resource":"*"}]}"#;
        assert!(key_policy_grants(
            generate,
            "aws",
            "111111111111",
            ROLE,
            "kms:GenerateDataKey"
        ));
        assert!(!grants(generate));
        assert_eq!(
            arn_account("arn:aws:kms:eu-west-1:222222222222:key/k"),
            Some("222222222222")
        );
        assert_eq!(
            arn_region("arn:aws:kms:eu-west-1:222222222222:key/k"),
            Some("eu-west-1")
        );
    }

    #[tokio::test]
    async fn one_simulation_names_every_regions_resources() {
        let inputs = serde_json::json!({
            "s3BucketName": "logs", "s3KeyPrefix": "sessions/eu-west-1",
            "cloudWatchLogGroupName": "/ssm", "kmsKeyId": "alias/ssm"
        });
        let key = "arn:aws:kms:eu-west-1:111111111111:key/k-eu-west-1";
        let resolved = Resolved {
            partition: "aws",
            region: "eu-west-1",
            account: "111111111111",
            key_arn: Some(key),
            bucket_key_arn: Some("arn:aws:kms:eu-west-1:111111111111:key/bucket"),
            bucket_elsewhere: false,
        };
        let own = requirements::permissions(Some(&inputs), &resolved);
        // Another region's target of the same preferences: the same requirement set.
        let there = Resolved {
            region: "us-east-1",
            key_arn: Some("arn:aws:kms:us-east-1:111111111111:key/k-us-east-1"),
            ..resolved.clone()
        };
        let inputs_there = serde_json::json!({
            "s3BucketName": "logs", "s3KeyPrefix": "sessions/us-east-1",
            "cloudWatchLogGroupName": "/ssm", "kmsKeyId": "alias/ssm"
        });
        let theirs = requirements::permissions(Some(&inputs_there), &there);
        assert_eq!(
            requirement_set(&own, "eu-west-1", Some(key)),
            requirement_set(&theirs, "us-east-1", there.key_arn)
        );
        fn key_in<'a>(r: &'static str) -> BoxFuture<'a, Option<String>> {
            Box::pin(async move { Some(format!("arn:aws:kms:{r}:111111111111:key/k-{r}")) })
        }
        let wide = AccountWide {
            regions: &["eu-west-1", "us-east-1"],
            key_in: &key_in,
        };
        let all = account_permissions(&own, "eu-west-1", Some(key), &wide).await;
        // Every permission of both targets, the bucket's key once.
        for p in own.iter().chain(&theirs) {
            assert!(all.contains(p), "{p:?} in {all:#?}");
        }
        assert_eq!(all.len(), 2 * own.len() - 2, "{all:#?}");
        // The decisions kept are those asked about; IAM's `*` stands for any resource.
        let d = |a: &str, r: &str, v: &str| Decision {
            action: a.into(),
            resource: r.into(),
            decision: v.into(),
        };
        let keep = Decisions::asked(&all);
        let decisions = Decisions::of(
            [
                d("kms:Decrypt", key, "allowed"),
                d("kms:Decrypt", "arn:aws:s3:::logs", "implicitDeny"),
                d("logs:PutLogEvents", "*", "explicitDeny"),
            ]
            .into_iter()
            .filter(|d| keep(&d.action, &d.resource))
            .collect(),
        );
        let decrypt = own.iter().find(|p| p.action == "kms:Decrypt").unwrap();
        assert_eq!(decisions.of_permission(decrypt), Some("allowed"));
        let put = own
            .iter()
            .find(|p| p.action == "logs:PutLogEvents")
            .unwrap();
        assert_eq!(decisions.of_permission(put), Some("explicitDeny"));
        let object = own.iter().find(|p| p.action == "s3:PutObject").unwrap();
        assert_eq!(decisions.of_permission(object), None);
    }

    #[tokio::test]
    async fn an_accounts_shared_answers_are_dropped_once_it_is_done() {
        let check = NodeCheck::default();
        let id = |a: &str| AccountId::parse(a).unwrap();
        let (done, other) = (id("111111111111"), id("222222222222"));
        let asked = std::sync::atomic::AtomicU32::new(0);
        let simulate = |account: &AccountId| {
            let key = (account.clone(), "arn:role".to_string(), "set".to_string());
            check.note(account, |k| {
                k.simulations.insert((key.1.clone(), key.2.clone()))
            });
            check.simulations.get(key, || async {
                asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(Arc::new(Decisions::default()))
            })
        };
        for account in [&done, &other, &done] {
            simulate(account).await.unwrap();
        }
        assert_eq!(
            asked.load(std::sync::atomic::Ordering::Relaxed),
            2,
            "one per account"
        );
        check.account_done(&done);
        simulate(&other).await.unwrap();
        assert_eq!(
            asked.load(std::sync::atomic::Ordering::Relaxed),
            2,
            "the other kept"
        );
        simulate(&done).await.unwrap();
        assert_eq!(
            asked.load(std::sync::atomic::Ordering::Relaxed),
            3,
            "asked again"
        );
    }

    #[test]
    fn lists_stay_short() {
        let ids = (1..=7).map(|i| format!("i-{i}"));
        assert_eq!(list(ids), "i-1, i-2, i-3, i-4, i-5 and 2 more");
    }
}

//! AWS Organizations: the walk from the roots (or the given OUs) to every account, with its
//! name, tags, OU path and state.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};

use crate::aws::error::target_error;
use crate::aws::session::Session;
use crate::model::{Reason, TargetError};
use crate::preferences::is_placeholder_name;
use crate::target::AccountId;

impl Session {
    /// An Organizations client with the base credentials (the caller is in the management or
    /// a delegated administrator account).
    pub(crate) fn organizations(&self) -> Client {
        Client::new(self.base())
    }
}

/// One account found, with where it sits in the organization.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    pub id: String,
    pub name: String,
    pub email: String,
    /// `Root/Production/Payments`
    pub ou_path: String,
    pub tags: Vec<String>,
    /// Its tags `ssm-prefs:KEY` = VALUE: the values of the preferences' `{KEY}`.
    pub vars: BTreeMap<String, String>,
}

/// The tag key prefix that makes an Organizations tag a placeholder's value.
pub(crate) const VAR_TAG: &str = "ssm-prefs:";

/// What the walk found: the accounts to list, and what was left out.
#[derive(Debug, Default)]
pub(crate) struct Discovery {
    pub accounts: Vec<Found>,
    pub suspended: Vec<String>,
    pub management: Option<String>,
}

/// Why the walk stopped.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// An OU given is not in the organization (bad input).
    UnknownOu(String),
    /// A call failed.
    Failed(TargetError),
}

impl From<TargetError> for WalkError {
    fn from(e: TargetError) -> Self {
        WalkError::Failed(e)
    }
}

/// Every item of a listing, all its pages read by the SDK's paginator: `$field` of each page,
/// or the error of the page that failed as a row's error. The one way the walk reads a listing
/// (Organizations' paginators have no flattened form but for tags).
macro_rules! listed {
    ($request:expr, $field:ident, $endpoint:expr) => {
        $request
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| target_error(e, $endpoint))
            .map(|pages| {
                pages
                    .into_iter()
                    .flat_map(|p| p.$field.unwrap_or_default())
                    .collect::<Vec<_>>()
            })
    };
}

/// Walks the organization from its roots, or from the given OUs, depth first.
pub(crate) async fn walk(
    org: &Client,
    endpoint: &str,
    ous: &[String],
    include_management: bool,
) -> Result<Discovery, WalkError> {
    let management = org
        .describe_organization()
        .send()
        .await
        .map_err(|e| target_error(e, endpoint))?
        .organization
        .and_then(|o| o.master_account_id);
    let mut starts: Vec<(String, String)> = vec![];
    if ous.is_empty() {
        let roots = listed!(org.list_roots(), roots, endpoint)?;
        for root in roots {
            starts.push((
                root.id.unwrap_or_default(),
                root.name.unwrap_or_else(|| "Root".into()),
            ));
        }
    } else {
        for ou in ous {
            let described = match org
                .describe_organizational_unit()
                .organizational_unit_id(ou)
                .send()
                .await
            {
                Ok(d) => d,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_organizational_unit_not_found_exception()) =>
                {
                    return Err(WalkError::UnknownOu(ou.clone()));
                }
                Err(e) => return Err(target_error(e, endpoint).into()),
            };
            let name = described
                .organizational_unit
                .and_then(|o| o.name)
                .unwrap_or_else(|| ou.clone());
            starts.push((ou.clone(), name));
        }
    }
    let mut found = Discovery {
        management: management.clone(),
        ..Default::default()
    };
    // Where each account found is in `found.accounts`.
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut stack = starts;
    while let Some((parent, path)) = stack.pop() {
        let children = listed!(
            org.list_organizational_units_for_parent()
                .parent_id(&parent),
            organizational_units,
            endpoint
        )?;
        // Pushed in reverse so the walk visits OUs in the order the API lists them.
        for ou in children.into_iter().rev() {
            let name = ou.name.unwrap_or_default();
            stack.push((ou.id.unwrap_or_default(), format!("{path}/{name}")));
        }
        let accounts = listed!(
            org.list_accounts_for_parent().parent_id(&parent),
            accounts,
            endpoint
        )?;
        for account in accounts {
            let id = account.id.clone().unwrap_or_default();
            if !is_active(&account) {
                if !found.suspended.contains(&id) {
                    found.suspended.push(id);
                }
                continue;
            }
            if !include_management && management.as_deref() == Some(id.as_str()) {
                continue;
            }
            // An OU given with one of its ancestors is walked from both: the account is one,
            // under the path from the outermost OU given (the longer one).
            if let Some(seen) = at.get(&id).map(|&i| &mut found.accounts[i]) {
                if path.len() > seen.ou_path.len() {
                    let ou_tag = format!("ou:{}", seen.ou_path);
                    for tag in seen.tags.iter_mut().filter(|t| **t == ou_tag) {
                        *tag = format!("ou:{path}");
                    }
                    seen.ou_path = path.clone();
                }
                continue;
            }
            let listed = listed!(
                org.list_tags_for_resource().resource_id(&id),
                tags,
                endpoint
            )?;
            // From the tag's own key and value: a value may hold `:` too.
            let vars = listed
                .iter()
                .filter_map(|t| Some((t.key.strip_prefix(VAR_TAG)?, &t.value)))
                .filter(|(k, _)| is_placeholder_name(k))
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect();
            let tags = listed
                .iter()
                .map(|t| format!("{}:{}", t.key, t.value))
                .chain([format!("ou:{path}")])
                .collect();
            at.insert(id.clone(), found.accounts.len());
            found.accounts.push(Found {
                name: account.name.clone().unwrap_or_else(|| id.clone()),
                email: account.email.clone().unwrap_or_default(),
                id,
                ou_path: path.clone(),
                tags,
                vars,
            });
        }
    }
    found.accounts.sort_by(|a, b| a.id.cmp(&b.id));
    found.suspended.sort();
    Ok(found)
}

/// An account's name, as Organizations holds it (`DescribeAccount`).
pub(crate) async fn name(
    org: &Client,
    endpoint: &str,
    id: &AccountId,
) -> Result<String, TargetError> {
    org.describe_account()
        .account_id(id.to_string())
        .send()
        .await
        .map_err(|e| target_error(e, endpoint))?
        .account
        .and_then(|a| a.name)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| TargetError::new(Reason::ServiceError, "the answer names no account"))
}

/// ACTIVE by the newer `State` where the API sends it, else by the older `Status`.
fn is_active(a: &Account) -> bool {
    match (a.state(), a.status()) {
        (Some(state), _) => *state == AccountState::Active,
        (None, Some(status)) => *status == AccountStatus::Active,
        (None, None) => true,
    }
}

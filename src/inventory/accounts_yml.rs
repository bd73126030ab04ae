//! The YAML inventory (c7n-org's `accounts.yml` and this tool's additions): accounts, their
//! regions, roles, tags and vars, each problem on its line.

use std::collections::BTreeMap;

use super::parsed::Parsed;
use crate::error::{Origin, Problem};
use crate::suggest::did_you_mean;
use crate::target::{Account, AccountId, Region};
use crate::yaml::{self, Entry, Node};

pub(super) const TOP_KEYS: &[&str] = &["accounts", "vars", "role", "regions"];
/// An account's keys: first the ones the CSV inventory has too (its columns, `CSV_COLUMNS`),
/// then the ones only c7n-org's YAML has.
pub(super) const ACCOUNT_KEYS: &[&str] = &[
    "account_id",
    "name",
    "regions",
    "role",
    "external_id",
    "tags",
    "vars",
    "profile",
    "email",
    "display_name",
    "org_id",
    "org-id",
];
pub(super) fn parse_yaml(text: &str, p: &mut Parsed) {
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => {
            p.problems.push(Problem {
                origin: Origin::File(p.path.clone()),
                line: Some(e.line),
                column: Some(e.column),
                message: format!("invalid YAML: {}", e.message),
            });
            return;
        }
    };
    let Node::Map { entries, .. } = root else {
        p.problem(
            root.line(),
            format!(
                "the inventory must be a mapping with an `accounts:` list, not {}",
                root.kind()
            ),
        );
        return;
    };
    let mut default_role = vec![];
    let mut default_regions = None;
    let mut default_vars = BTreeMap::new();
    let mut accounts = None;
    let mut other_cloud = false;
    for Entry {
        key,
        key_line,
        value: node,
    } in &entries
    {
        match key.as_str() {
            "accounts" => accounts = Some((node, *key_line)),
            "role" => default_role = roles(node, p),
            "regions" => default_regions = Some(regions(node, p)),
            "vars" => default_vars = vars(node, p),
            "subscriptions" | "projects" | "tenancies" => {
                other_cloud = true;
                p.problem(
                    *key_line,
                    format!(
                        "`{key}` is c7n-org's form for Azure, GCP or OCI: ssm-prefs needs AWS `accounts:` with `account_id`s"
                    ),
                )
            }
            other => p.problem(
                *key_line,
                format!(
                    "unknown top-level key `{other}`{} (allowed: {})",
                    did_you_mean(other, TOP_KEYS.iter().copied()),
                    TOP_KEYS.join(", ")
                ),
            ),
        }
    }
    let Some((accounts, accounts_line)) = accounts else {
        if !other_cloud {
            p.problems.push(Problem::at(
                &p.path,
                Some(1),
                "no `accounts:` list: the inventory names no account",
            ));
        }
        return;
    };
    let items = match accounts {
        Node::Seq { items, .. } => items.as_slice(),
        n if n.is_null() => &[],
        other => {
            p.problem(
                accounts_line,
                format!("`accounts` must be a list, not {}", other.kind()),
            );
            return;
        }
    };
    if items.is_empty() {
        p.problem(
            accounts_line,
            "`accounts:` is empty: the inventory lists no accounts",
        );
    }
    for item in items {
        if let Some(mut account) = yaml_account(item, p) {
            if account.roles.is_empty() {
                account.roles = default_role.clone();
            }
            if account.regions.is_none() {
                account.regions = default_regions.clone();
            }
            for (k, v) in &default_vars {
                account.vars.entry(k.clone()).or_insert_with(|| v.clone());
            }
            p.accounts.push(account);
        }
    }
}

pub(super) fn yaml_account(node: &Node, p: &mut Parsed) -> Option<Account> {
    let Node::Map { entries, line } = node else {
        p.problem(
            node.line(),
            format!(
                "each account must be a mapping with an `account_id`, not {}",
                node.kind()
            ),
        );
        return None;
    };
    // The fields are gathered first: the account exists only once its id parses, but every
    // other key is still checked, so one run reports all of an entry's problems.
    let mut id = None;
    let mut name = String::new();
    let mut account_regions = None;
    let mut roles_ = vec![];
    let (mut external_id, mut profile, mut email, mut display_name) = (None, None, None, None);
    let mut tags = vec![];
    let mut vars_ = BTreeMap::new();
    for Entry {
        key,
        key_line,
        value,
    } in entries
    {
        match key.as_str() {
            "account_id" => match scalar(value) {
                // The text as written: an unquoted 012345678901 keeps its leading zero.
                Some(text) => match AccountId::parse(text) {
                    Ok(parsed) => id = Some(parsed),
                    Err(e) => p.problem(value.line(), e),
                },
                None => p.problem(
                    value.line(),
                    format!("account_id must be 12 digits, not {}", value.kind()),
                ),
            },
            "name" => name = string(value, key, p).unwrap_or_default(),
            "regions" => {
                account_regions = Some(regions(value, p));
                if matches!(value, Node::Seq { items, .. } if items.is_empty()) {
                    p.warn(
                        *key_line,
                        "`regions: []` gives this account no targets unless -r is given",
                    );
                }
            }
            "role" => roles_ = roles(value, p),
            "external_id" => external_id = string(value, key, p),
            "profile" => profile = string(value, key, p),
            "email" => email = string(value, key, p),
            "display_name" => display_name = string(value, key, p),
            // Checked as c7n-org reads it, and not used.
            "org_id" | "org-id" => _ = string(value, key, p),
            "tags" => tags = string_list(value, key, p),
            "vars" => vars_ = vars(value, p),
            other => p.warn(
                *key_line,
                format!(
                    "unknown account key `{other}` is ignored{}",
                    did_you_mean(other, ACCOUNT_KEYS.iter().copied())
                ),
            ),
        }
    }
    let Some(id) = id else {
        if !entries.iter().any(|e| e.key == "account_id") {
            p.problem(*line, "account has no `account_id`");
        }
        return None;
    };
    if name.is_empty() {
        name = display_name.clone().unwrap_or_else(|| id.to_string());
    }
    Some(Account {
        name,
        regions: account_regions,
        roles: roles_,
        external_id,
        profile,
        tags,
        vars: vars_,
        email,
        ..Account::new(id, *line)
    })
}

pub(super) fn scalar(node: &Node) -> Option<&str> {
    match node {
        Node::Scalar { text, .. } => Some(text),
        _ => None,
    }
}

pub(super) fn string(node: &Node, key: &str, p: &mut Parsed) -> Option<String> {
    match node {
        n if n.is_null() => None,
        Node::Scalar { text, .. } => Some(text.clone()),
        other => {
            p.problem(
                other.line(),
                format!("`{key}` must be a single value, not {}", other.kind()),
            );
            None
        }
    }
}

pub(super) fn string_list(node: &Node, key: &str, p: &mut Parsed) -> Vec<String> {
    match node {
        n if n.is_null() => vec![],
        Node::Seq { items, .. } => items.iter().filter_map(|i| string(i, key, p)).collect(),
        other => {
            p.problem(
                other.line(),
                format!("`{key}` must be a list, not {}", other.kind()),
            );
            vec![]
        }
    }
}

pub(super) fn regions(node: &Node, p: &mut Parsed) -> Vec<Region> {
    let names: Vec<(String, usize)> = match node {
        // A single region written without brackets is accepted too.
        Node::Scalar { text, .. } if !node.is_null() => vec![(text.clone(), node.line())],
        Node::Seq { items, .. } => items
            .iter()
            .filter_map(|i| string(i, "regions", p).map(|s| (s, i.line())))
            .collect(),
        n if n.is_null() => vec![],
        other => {
            p.problem(
                other.line(),
                format!("`regions` must be a list, not {}", other.kind()),
            );
            vec![]
        }
    };
    let mut out: Vec<Region> = vec![];
    for (name, line) in names {
        match Region::parse(&name) {
            Ok(r) if out.contains(&r) => p.warn(line, format!("region {r} is listed twice")),
            Ok(r) => out.push(r),
            Err(e) => p.problem(line, e),
        }
    }
    out
}

/// One role, or a list of roles to assume in turn; each checked on its own line.
pub(super) fn roles(node: &Node, p: &mut Parsed) -> Vec<String> {
    let list: Vec<(String, usize)> = match node {
        Node::Seq { items, .. } => items
            .iter()
            .filter_map(|i| string(i, "role", p).map(|s| (s, i.line())))
            .collect(),
        _ => string(node, "role", p)
            .map(|s| (s, node.line()))
            .into_iter()
            .collect(),
    };
    for (role, line) in &list {
        if let Err(e) = check_role(role) {
            p.problem(*line, e);
        }
    }
    list.into_iter().map(|(role, _)| role).collect()
}

/// A role is a name (`OrganizationAccountAccessRole`, optionally with a path) or a full IAM role ARN.
pub(crate) fn check_role(role: &str) -> Result<(), String> {
    if role.starts_with("arn:") {
        let parts: Vec<&str> = role.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[2] == "iam"
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && parts[5].starts_with("role/")
            && parts[5].len() > 5;
        return if ok {
            Ok(())
        } else {
            Err(format!(
                "role {role:?} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
            ))
        };
    }
    let ok = !role.is_empty()
        && role.len() <= 64 + 512
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_/".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("role {role:?} is not a valid IAM role name"))
    }
}

pub(super) fn vars(node: &Node, p: &mut Parsed) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match node {
        n if n.is_null() => {}
        Node::Map { entries, .. } => {
            for Entry {
                key: k, value: v, ..
            } in entries
            {
                match v {
                    Node::Scalar { text, .. } => {
                        out.insert(k.clone(), text.clone());
                    }
                    other => p.warn(
                        other.line(),
                        format!(
                            "var `{k}` is {}: only single values can fill a placeholder",
                            other.kind()
                        ),
                    ),
                }
            }
        }
        other => p.problem(
            other.line(),
            format!("`vars` must be a mapping, not {}", other.kind()),
        ),
    }
    out
}

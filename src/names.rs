//! AWS's naming rules, checked without a call: what the preferences name (S3 bucket names,
//! CloudWatch Logs log group names, the four forms a `kmsKeyId` may take), the SSM document
//! `--document-name` manages and the role `--role-name` assumes. Each says why a value breaks
//! the rule.

/// S3's rules for general purpose bucket names.
pub(crate) fn bucket_problem(name: &str) -> Option<String> {
    let len = name.len();
    if !(3..=63).contains(&len) {
        return Some(format!(
            "is {len} characters long; S3 bucket names have 3 to 63"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Some(format!(
            "has {c:?}; S3 bucket names have only lowercase letters, digits, dots and hyphens"
        ));
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Some("must begin and end with a letter or a digit".into());
    }
    if name.contains("..") {
        return Some("has two dots in a row, which S3 refuses".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Some("is formatted as an IP address, which S3 refuses".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Some(format!("starts with {prefix:?}, which S3 reserves"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return Some(format!("ends with {suffix:?}, which S3 reserves"));
        }
    }
    None
}

/// Whether a name breaking [`bucket_problem`]'s rules is one S3 took for a bucket created in
/// us-east-1 before March 2018: 3 to 255 characters of letters (either case), digits, `.`,
/// `-` and `_`.
pub(crate) fn legacy_bucket_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// CloudWatch Logs' rules for log group names.
pub(crate) fn log_group_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(1..=512).contains(&len) {
        return Some(format!(
            "is {len} characters long; log group names have 1 to 512"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-/.#".contains(*c)))
    {
        return Some(format!(
            "has {c:?}; log group names have only letters, digits and _ - / . #"
        ));
    }
    if name.starts_with("aws/") {
        return Some("starts with \"aws/\", which CloudWatch Logs reserves".into());
    }
    None
}

/// The forms KMS accepts for a key: a key id, a key ARN, an alias name or an alias ARN.
pub(crate) fn kms_key_problem(id: &str) -> Option<String> {
    let ok = match id.strip_prefix("arn:") {
        Some(arn) => {
            let parts: Vec<&str> = arn.splitn(5, ':').collect();
            match parts.as_slice() {
                [partition, "kms", region, account, resource] => {
                    !partition.is_empty()
                        && !region.is_empty()
                        && account.len() == 12
                        && account.bytes().all(|b| b.is_ascii_digit())
                        && (resource.strip_prefix("key/").is_some_and(is_key_id)
                            || resource.strip_prefix("alias/").is_some_and(is_alias))
                }
                _ => false,
            }
        }
        None => is_key_id(id) || id.strip_prefix("alias/").is_some_and(is_alias),
    };
    (!ok).then(|| {
        "is none of the forms KMS accepts: a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), an alias name (alias/NAME) or an alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME)".to_string()
    })
}

/// A key id: a UUID, or a multi-Region key's `mrk-` and 32 hex digits.
fn is_key_id(s: &str) -> bool {
    if let Some(hex) = s.strip_prefix("mrk-") {
        return hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_alias(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 250
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
}

/// SSM's rule for a document name (CreateDocument's `Name`): 3 to 128 characters of
/// `a-z A-Z 0-9 _ - .`, not starting with a prefix AWS keeps for its own documents.
pub(crate) fn check_document_name(name: &str) -> Result<(), String> {
    let lower = name.to_ascii_lowercase();
    if let Some(prefix) = ["aws-", "amazon", "amzn"]
        .into_iter()
        .find(|p| lower.starts_with(p))
    {
        return Err(format!(
            "{name:?} starts with {:?}, a prefix SSM keeps for AWS's own documents",
            &name[..prefix.len()]
        ));
    }
    let len = name.chars().count();
    if !(3..=128).contains(&len) {
        return Err(format!(
            "{name:?} is {len} characters long; SSM document names have 3 to 128"
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        Some(c) => Err(format!(
            "{name:?} holds {c:?}; SSM document names hold only letters, digits, '_', '-' and '.'"
        )),
        None => Ok(()),
    }
}

/// IAM's rule for a role name (CreateRole's `RoleName`: 1 to 64 of `\w+=,.@-`), after an
/// optional path (`service-role/`); a whole role ARN is taken as written.
pub(crate) fn check_role_name(role: &str) -> Result<(), String> {
    if role.starts_with("arn:") {
        return Ok(());
    }
    let name = role.rsplit('/').next().unwrap_or(role);
    let len = name.chars().count();
    if !(1..=64).contains(&len) {
        return Err(format!(
            "{role:?}: the role name is {len} characters long; IAM role names have 1 to 64"
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    match role.chars().find(|c| !(allowed(*c) || *c == '/')) {
        Some(c) => Err(format!(
            "{role:?} holds {c:?}; IAM role names hold only letters, digits and _+=,.@-"
        )),
        None => Ok(()),
    }
}

/// `s3://BUCKET/KEY` as (bucket, key); `None` for anything else (a local path).
pub(crate) fn s3_uri(text: &str) -> Option<(&str, &str)> {
    text.strip_prefix("s3://")?.split_once('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_follow_iam() {
        for ok in [
            "OrganizationAccountAccessRole",
            "service-role/Rollout",
            "a+b=c,d.e@f_g-h",
            "arn:aws:iam::111122223333:role/X",
        ] {
            assert_eq!(check_role_name(ok), Ok(()), "{ok}");
        }
        for bad in ["bad role!", "", "x/", &"r".repeat(65)] {
            assert!(check_role_name(bad).is_err(), "{bad}");
        }
    }

    /// `problem` finds nothing in each of `ok` and something in each of `bad`.
    fn judges(problem: fn(&str) -> Option<String>, ok: &[&str], bad: &[&str]) {
        for name in ok {
            assert_eq!(problem(name), None, "{name:?}");
        }
        for name in bad {
            assert!(problem(name).is_some(), "{name:?}");
        }
    }

    #[test]
    fn bucket_names() {
        judges(
            bucket_problem,
            &["org-session-logs", "a.b.c", "ssm-logs-012345678901"],
            &[
                "ab",
                "Org-Logs",
                "logs_1",
                "-logs",
                "logs-",
                "a..b",
                "192.168.1.1",
                "xn--logs",
                "logs-s3alias",
                &"a".repeat(64),
            ],
        );
    }

    #[test]
    fn log_group_names() {
        judges(
            log_group_problem,
            &["/aws/ssm/sessions#1"],
            &["", "has space", "sessions:1", "aws/ssm", &"a".repeat(513)],
        );
    }

    #[test]
    fn kms_key_forms() {
        judges(
            kms_key_problem,
            &[
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "mrk-1234abcd12ab34cd56ef1234567890ab",
                "alias/ssm-sessions",
                "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "arn:aws-cn:kms:cn-north-1:111122223333:alias/ssm",
            ],
            &[
                "MyKMSKeyID",
                "alias/",
                "ssm-sessions",
                "arn:aws:kms:eu-west-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "arn:aws:s3:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "1234abcd-12ab-34cd-56ef",
            ],
        );
    }

    #[test]
    fn document_names_follow_ssm() {
        assert!(check_document_name("SSM-SessionManagerRunShell").is_ok());
        assert!(check_document_name("a.b_c-1").is_ok());
        assert!(check_document_name("ab").is_err());
        assert!(check_document_name(&"a".repeat(129)).is_err());
        assert!(check_document_name("my doc").is_err());
        assert!(check_document_name("doc/x").is_err());
        for reserved in ["AWS-RunShellScript", "aws-x", "AmazonX", "amzn-doc"] {
            assert!(check_document_name(reserved).is_err(), "{reserved}");
        }
    }
}

//! `discover`: an inventory file from AWS Organizations — every ACTIVE account under the given
//! OUs (or the whole organization), with its name, tags and OU path — written as YAML that both
//! ssm-prefs and c7n-org accept (a role on every account; only `accounts` at the top level).

use std::fmt::Write as _;
use std::io::Write;

use crate::aws::organizations::{Discovery, WalkOptions};
use crate::aws::session::Session;
use crate::error::InputError;
use crate::files::Replacement;
use crate::model::Ended;
use crate::run::read_organization;
use crate::settings;
use crate::target::AccountId;
use crate::target::Region;
use crate::terminal::printer::Printer;
use crate::words::count;

/// `discover`: the organization as an inventory file.
pub(crate) async fn discover(
    printer: &Printer,
    args: &settings::Discover,
) -> Result<Ended, InputError> {
    // The file is replaced only once the whole organization was read: a failed read leaves
    // the inventory that was there. Opened now, so an unwritable path fails before any call.
    let mut out = match &args.output {
        Some(path) => Some(Replacement::create(path).map_err(|source| InputError::Io {
            action: "write",
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let session = Session::new(&args.aws.session, &[]).await;
    // The inventory holds each account's tags: every one is read, however long it takes.
    let opts = WalkOptions {
        ous: &args.ous,
        include_management: args.include_management,
        read_tags: true,
        known_tags: None,
        stop_at: None,
        abandon_at: None,
        given_up: None,
        found: None,
    };
    let Ok(found) = read_organization(printer, &session, &opts).await? else {
        return Ok(Ended::Failures);
    };
    let source = if args.ous.is_empty() {
        "the whole organization".to_string()
    } else {
        format!("OUs {}", args.ous.join(", "))
    };
    let yaml = to_yaml(
        &found,
        |id| {
            AccountId::parse(id)
                .map(|id| session.role_arn(&args.role_name, &id))
                .unwrap_or_default()
        },
        &args.regions,
        &source,
    );
    match (out.take(), &args.output) {
        (Some(mut file), Some(path)) => {
            // After the organization was read, a failed write is the run's failure (exit 1),
            // not bad input: exit 2 promises nothing was sent to AWS.
            if let Err(e) = file
                .file()
                .write_all(yaml.as_bytes())
                .and_then(|()| file.commit())
            {
                printer.error(&format!("cannot write {}: {e}", path.display()));
                return Ok(Ended::Failures);
            }
            printer.note(&format!(
                "discover: {} written to {} ({} SUSPENDED left out)",
                count(found.accounts.len(), "ACTIVE account"),
                path.display(),
                found.suspended.len()
            ));
        }
        _ => {
            if let Err(e) = printer.product(&yaml) {
                printer.error(&format!(
                    "cannot write the inventory to standard output: {e}"
                ));
                return Ok(Ended::Failures);
            }
        }
    }
    Ok(Ended::Success)
}

/// The inventory YAML. Every value is quoted, so ids keep their zeros and names stay strings.
pub(super) fn to_yaml(
    d: &Discovery,
    role_arn: impl Fn(&str) -> String,
    regions: &[Region],
    source: &str,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Written by `ssm-prefs discover` from AWS Organizations ({source})."
    );
    let _ = writeln!(s, "# {} ACTIVE accounts.", d.accounts.len());
    if !d.suspended.is_empty() {
        let _ = writeln!(
            s,
            "# Left out: {} SUSPENDED accounts ({}).",
            d.suspended.len(),
            d.suspended.join(", ")
        );
    }
    if let Some(m) = &d.management
        && !d.accounts.iter().any(|a| &a.id == m)
    {
        let _ = writeln!(
            s,
            "# Left out: the management account {m} (pass --include-management to list it)."
        );
    }
    let _ = writeln!(s, "accounts:");
    for a in &d.accounts {
        let _ = writeln!(s, "  - account_id: {}", quote(&a.id));
        let _ = writeln!(s, "    name: {}", quote(&a.name));
        if !a.email.is_empty() {
            let _ = writeln!(s, "    email: {}", quote(&a.email));
        }
        let _ = writeln!(s, "    role: {}", quote(&role_arn(&a.id)));
        if !regions.is_empty() {
            let list: Vec<String> = regions.iter().map(|r| quote(r.as_str())).collect();
            let _ = writeln!(s, "    regions: [{}]", list.join(", "));
        }
        let tags: Vec<String> = a.tags.iter().map(|t| quote(t)).collect();
        let _ = writeln!(s, "    tags: [{}]", tags.join(", "));
        // As `--org` reads them: the tags `ssm-prefs:KEY` fill `{KEY}` for this account.
        if !a.vars.is_empty() {
            let vars: Vec<String> = a
                .vars
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
                .collect();
            let _ = writeln!(s, "    vars: {{{}}}", vars.join(", "));
        }
    }
    s
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML).
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::organizations::Found;

    #[test]
    fn yaml_quotes_everything_and_notes_what_is_left_out() {
        let d = Discovery {
            accounts: vec![Found {
                id: "012345678901".into(),
                name: "pay: \"prod\"".into(),
                email: "a@b.c".into(),
                ou_path: "Root/Prod".into(),
                tags: vec![
                    "env:prod".into(),
                    "ssm-prefs:log_bucket:b:1".into(),
                    "ou:Root/Prod".into(),
                ],
                vars: [("log_bucket".to_string(), "b:1".to_string())].into(),
                tags_read: None,
            }],
            suspended: vec!["111111111111".into()],
            management: Some("999999999999".into()),
            walk: Default::default(),
        };
        let y = to_yaml(
            &d,
            |id| format!("arn:aws:iam::{id}:role/R"),
            &[],
            "whole organization",
        );
        assert!(y.contains("account_id: \"012345678901\""));
        assert!(y.contains("name: \"pay: \\\"prod\\\"\""));
        assert!(y.contains("1 SUSPENDED accounts (111111111111)"));
        assert!(y.contains("management account 999999999999"));
        assert!(y.contains("tags: [\"env:prod\", \"ssm-prefs:log_bucket:b:1\", \"ou:Root/Prod\"]"));
        assert!(y.contains("vars: {\"log_bucket\": \"b:1\"}"), "{y}");
        // It loads, the tag's value whole.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.yml");
        std::fs::write(&path, &y).unwrap();
        let inv = crate::inventory::load(&path).unwrap();
        assert_eq!(inv.accounts[0].vars["log_bucket"], "b:1");
    }
}

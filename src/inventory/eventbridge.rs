//! `--event`: Amazon EventBridge events read into the accounts and regions they name (a new
//! account from Control Tower or Organizations, a region opted in, an account's tags changed),
//! before any AWS call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use serde_json::value::RawValue;

use super::load::Inventory;
use crate::error::{InputError, Problem};
use crate::target::{Account, AccountId, Region};

/// What the events ask for.
#[derive(Debug, Default)]
pub(crate) struct EventBridgeEvents {
    /// Where they were read (`standard input` for `-`).
    pub path: PathBuf,
    /// New accounts, with the name the event gives, in the events' order.
    pub accounts: Vec<(AccountId, Option<String>)>,
    /// Regions opted in: (account, region).
    pub regions: Vec<(AccountId, Region)>,
    /// Accounts whose Organizations tags changed (`TagResource`, `UntagResource`): also in
    /// `accounts`, since a tag may fill a placeholder; their tags are read again, never taken
    /// from the tags cache.
    pub retagged: Vec<AccountId>,
    /// One line for each event that is nothing to do (a state other than success).
    pub idle: Vec<String>,
}

/// Why an account of the events alone has no name until Organizations gives it.
pub(crate) const NOT_IN_THE_EVENT: &str = "the event does not give it (Organizations redacts it)";

/// The kinds accepted, as an error names them.
const ACCEPTED: &str = "accepted: Control Tower CreateManagedAccount, Organizations CreateAccountResult, TagResource and UntagResource, and Account Management Region Opt-In Status Change events";

/// Reads the events from a file, or standard input for `-`.
pub(crate) fn load(path: &Path) -> Result<EventBridgeEvents, InputError> {
    let (shown, text) = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|source| InputError::read(Path::new("standard input"), source))?;
        (PathBuf::from("standard input"), text)
    } else {
        let text =
            std::fs::read_to_string(path).map_err(|source| InputError::read(path, source))?;
        (path.to_path_buf(), text)
    };
    parse(&shown, &text)
}

/// One JSON object, a JSON array of them, or one per line (as EventBridge's targets and
/// archives hand them over).
pub(crate) fn parse(path: &Path, text: &str) -> Result<EventBridgeEvents, InputError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let syntax = |e: serde_json::Error| {
        InputError::Problems(vec![Problem {
            column: Some(e.column()),
            ..Problem::at(path, Some(e.line()), format!("not valid JSON: {e}"))
        }])
    };
    let mut found: Vec<(usize, Value)> = vec![];
    if text.trim_start().starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text).map_err(syntax)?;
        for raw in items {
            let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            found.push((
                line_of(offset),
                serde_json::from_str(raw.get()).map_err(syntax)?,
            ));
        }
    } else {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        loop {
            let before = stream.byte_offset();
            match stream.next() {
                None => break,
                Some(Ok(v)) => {
                    let skipped = text[before..].len() - text[before..].trim_start().len();
                    found.push((line_of(before + skipped), v));
                }
                Some(Err(e)) => return Err(syntax(e)),
            }
        }
    }
    if found.is_empty() {
        return Err(InputError::one(
            path,
            None,
            format!("no event in it ({ACCEPTED})"),
        ));
    }
    let mut events = EventBridgeEvents {
        path: path.to_path_buf(),
        ..Default::default()
    };
    let mut problems = vec![];
    for (line, event) in &found {
        match read(event) {
            Ok(Asked::Account(id, name)) => {
                if !events.accounts.iter().any(|(a, _)| *a == id) {
                    events.accounts.push((id, name));
                }
            }
            Ok(Asked::Retagged(id)) => {
                if !events.accounts.iter().any(|(a, _)| *a == id) {
                    events.accounts.push((id.clone(), None));
                }
                if !events.retagged.contains(&id) {
                    events.retagged.push(id);
                }
            }
            Ok(Asked::Region(id, region)) => {
                if !events.regions.contains(&(id.clone(), region.clone())) {
                    events.regions.push((id, region));
                }
            }
            Ok(Asked::Nothing(why)) => events
                .idle
                .push(format!("{}:{line}: {why}: nothing to do", path.display())),
            Err(message) => problems.push(Problem::at(path, Some(*line), message)),
        }
    }
    if problems.is_empty() {
        Ok(events)
    } else {
        Err(InputError::Problems(problems))
    }
}

/// What one event asks for.
#[derive(Debug, PartialEq)]
enum Asked {
    Account(AccountId, Option<String>),
    Region(AccountId, Region),
    /// An account's tags changed.
    Retagged(AccountId),
    /// Not a success: why.
    Nothing(String),
}

fn read(event: &Value) -> Result<Asked, String> {
    read_kind(event).map_err(|e| format!("{e}; {ACCEPTED}"))
}

fn read_kind(event: &Value) -> Result<Asked, String> {
    let text = |v: &Value, path: &[&str]| -> Option<String> {
        path.iter()
            .try_fold(v, |v, key| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (Some(source), Some(detail_type), Some(detail)) = (
        text(event, &["source"]),
        text(event, &["detail-type"]),
        event.get("detail").filter(|d| d.is_object()),
    ) else {
        return Err(
            "not an EventBridge event (it needs `source`, `detail-type` and `detail`)".into(),
        );
    };
    let account = |id: Option<String>, field: &str| -> Result<AccountId, String> {
        let id = id.ok_or_else(|| format!("the event has no {field}"))?;
        AccountId::parse(&id).map_err(|e| format!("{field}: {e}"))
    };
    let event_name = text(detail, &["eventName"]).unwrap_or_default();
    match (source.as_str(), event_name.as_str()) {
        ("aws.controltower", "CreateManagedAccount") => {
            let status = ["serviceEventDetails", "createManagedAccountStatus"];
            let at = |tail: &[&str]| text(detail, &[&status[..], tail].concat());
            let state = at(&["state"])
                .ok_or("the event has no serviceEventDetails.createManagedAccountStatus.state")?;
            let id = at(&["account", "accountId"]);
            if state != "SUCCEEDED" {
                return Ok(Asked::Nothing(format!(
                    "Control Tower CreateManagedAccount{} is {state:?}, not SUCCEEDED",
                    id.map(|i| format!(" of account {i}")).unwrap_or_default()
                )));
            }
            let id = account(id, "createManagedAccountStatus.account.accountId")?;
            Ok(Asked::Account(
                id,
                given_name(at(&["account", "accountName"])),
            ))
        }
        ("aws.organizations", "CreateAccountResult") => {
            let status = ["serviceEventDetails", "createAccountStatus"];
            let at = |tail: &[&str]| text(detail, &[&status[..], tail].concat());
            let state = at(&["state"])
                .ok_or("the event has no serviceEventDetails.createAccountStatus.state")?;
            if state != "SUCCEEDED" {
                let why = at(&["failureReason"])
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                return Ok(Asked::Nothing(format!(
                    "Organizations CreateAccountResult is {state:?}{why}, not SUCCEEDED"
                )));
            }
            let id = account(at(&["accountId"]), "createAccountStatus.accountId")?;
            Ok(Asked::Account(id, given_name(at(&["accountName"]))))
        }
        ("aws.organizations", "TagResource" | "UntagResource") => {
            let id = text(detail, &["requestParameters", "resourceId"])
                .ok_or("the event has no detail.requestParameters.resourceId")?;
            if let Some(code) = text(detail, &["errorCode"]) {
                return Ok(Asked::Nothing(format!(
                    "Organizations {event_name} of {id} failed ({code})"
                )));
            }
            // An OU's, a root's or a policy's tags fill no placeholder.
            if !id.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(Asked::Nothing(format!(
                    "Organizations {event_name} of {id}, not an account"
                )));
            }
            Ok(Asked::Retagged(account(
                Some(id),
                "requestParameters.resourceId",
            )?))
        }
        ("aws.account", _) if detail_type == "Region Opt-In Status Change" => {
            let id = account(text(detail, &["accountId"]), "detail.accountId")?;
            let region = text(detail, &["regionName"])
                .ok_or("the event has no detail.regionName")
                .map_err(str::to_string)
                .and_then(|r| Region::parse(&r).map_err(|e| format!("detail.regionName: {e}")))?;
            match text(detail, &["status"])
                .ok_or("the event has no detail.status")?
                .as_str()
            {
                "ENABLED" => Ok(Asked::Region(id, region)),
                other => Ok(Asked::Nothing(format!(
                    "region {region} of account {id} is {other:?}, not ENABLED"
                ))),
            }
        }
        _ => Err(format!(
            "an event of another kind (source {source:?}, detail-type {detail_type:?}{})",
            if event_name.is_empty() {
                String::new()
            } else {
                format!(", eventName {event_name:?}")
            }
        )),
    }
}

/// An account name as an event gives it: Organizations' `CreateAccountResult` redacts it
/// (`"****"`), which is no name at all.
fn given_name(name: Option<String>) -> Option<String> {
    name.filter(|n| !n.trim().is_empty() && !n.chars().all(|c| c == '*'))
}

impl EventBridgeEvents {
    /// Whether nothing is asked for: every event was idle.
    pub(crate) fn is_idle(&self) -> bool {
        self.accounts.is_empty() && self.regions.is_empty()
    }

    /// The events alone as an inventory: each account they name, by the name the event
    /// gives, reached with the role options. A region opted in is the account's region. An
    /// account the events do not name (redacted, or a region event) has its name unknown:
    /// Organizations is asked for it before the run.
    pub(crate) fn inventory(&self) -> Inventory {
        let mut accounts: Vec<Account> = vec![];
        for (id, name) in &self.accounts {
            let mut a = Account::new(id.clone(), 0);
            match name {
                Some(name) => a.name = name.clone(),
                None => a.name_unknown = Some(NOT_IN_THE_EVENT.into()),
            }
            accounts.push(a);
        }
        for (id, region) in &self.regions {
            match accounts.iter_mut().find(|a| a.id == *id) {
                // A new account's regions come from `-r`.
                Some(a) if a.regions.is_none() => {}
                Some(a) => a.regions.get_or_insert_default().push(region.clone()),
                None => accounts.push(Account {
                    regions: Some(vec![region.clone()]),
                    name_unknown: Some(NOT_IN_THE_EVENT.into()),
                    ..Account::new(id.clone(), 0)
                }),
            }
        }
        Inventory {
            path: self.path.clone(),
            accounts: accounts.into_iter().map(Arc::new).collect(),
            warnings: vec![],
        }
    }

    /// The regions opted in for this account.
    pub(crate) fn regions_of<'a>(&'a self, id: &'a AccountId) -> impl Iterator<Item = &'a Region> {
        self.regions
            .iter()
            .filter(move |(a, _)| a == id)
            .map(|(_, r)| r)
    }

    /// The accounts named, new or with a region opted in.
    pub(crate) fn named(&self) -> BTreeSet<&AccountId> {
        self.accounts
            .iter()
            .map(|(a, _)| a)
            .chain(self.regions.iter().map(|(a, _)| a))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(state: &str, id: &str) -> String {
        format!(
            r#"{{"source":"aws.controltower","detail-type":"AWS Service Event via CloudTrail","detail":{{"eventName":"CreateManagedAccount","serviceEventDetails":{{"createManagedAccountStatus":{{"state":"{state}","account":{{"accountId":"{id}","accountName":"new"}}}}}}}}}}"#
        )
    }

    fn opt_in(status: &str) -> String {
        r#"{"source":"aws.account","detail-type":"Region Opt-In Status Change","detail":{"accountId":"111122223333","regionName":"af-south-1","status":"S"}}"#.replace("\"S\"", &format!("{status:?}"))
    }

    #[test]
    fn one_object_an_array_or_one_per_line() {
        let one = parse(Path::new("e.json"), &ct("SUCCEEDED", "111122223333")).unwrap();
        assert_eq!(one.accounts.len(), 1);
        assert_eq!(one.accounts[0].1.as_deref(), Some("new"));
        let array = format!(
            "[\n{},\n{}\n]",
            ct("SUCCEEDED", "111122223333"),
            opt_in("ENABLED")
        );
        let both = parse(Path::new("e.json"), &array).unwrap();
        assert_eq!((both.accounts.len(), both.regions.len()), (1, 1));
        let lines = format!("{}\n{}\n", ct("FAILED", "111122223333"), opt_in("ENABLING"));
        let idle = parse(Path::new("e.json"), &lines).unwrap();
        assert!(idle.is_idle());
        assert!(idle.idle[0].starts_with("e.json:1: "), "{:?}", idle.idle);
        assert!(idle.idle[1].starts_with("e.json:2: "), "{:?}", idle.idle);
        assert!(idle.idle[1].contains("\"ENABLING\", not ENABLED"));
    }

    #[test]
    fn a_bom_keeps_the_lines_and_a_missing_state_is_refused() {
        let text = format!(
            "\u{feff}{}\n{}\n",
            ct("FAILED", "111122223333"),
            ct("SUCCEEDED", "111122223333")
        );
        let e = parse(Path::new("e.jsonl"), &text).unwrap();
        assert!(e.idle[0].starts_with("e.jsonl:1: "), "{:?}", e.idle);
        assert_eq!(e.accounts.len(), 1);
        let no_state = ct("SUCCEEDED", "111122223333").replace("\"state\":\"SUCCEEDED\",", "");
        let Err(InputError::Problems(p)) = parse(Path::new("e.json"), &no_state) else {
            panic!("refused")
        };
        assert!(
            p[0].message.contains("has no serviceEventDetails"),
            "{}",
            p[0].message
        );
    }

    fn tagged(event: &str, id: &str, error: &str) -> String {
        format!(
            r#"{{"source":"aws.organizations","detail-type":"AWS API Call via CloudTrail","detail":{{"eventName":"{event}",{error}"requestParameters":{{"resourceId":"{id}","tagKeys":["ssm-prefs:log_bucket"]}}}}}}"#
        )
    }

    #[test]
    fn an_accounts_tags_changed_name_it_and_other_resources_are_nothing_to_do() {
        let text = [
            tagged("TagResource", "111122223333", ""),
            tagged("UntagResource", "111122223333", ""),
            ct("SUCCEEDED", "444455556666"),
            tagged("TagResource", "444455556666", ""),
            tagged("TagResource", "ou-ab12-11111111", ""),
            tagged(
                "UntagResource",
                "111122223333",
                r#""errorCode":"AccessDenied","#,
            ),
        ]
        .join("\n");
        let e = parse(Path::new("e.json"), &text).unwrap();
        let ids = |v: &[AccountId]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let accounts: Vec<AccountId> = e.accounts.iter().map(|(a, _)| a.clone()).collect();
        assert_eq!(ids(&accounts), ["111122223333", "444455556666"]);
        // The new account keeps the name its own event gave.
        assert_eq!(e.accounts[1].1.as_deref(), Some("new"));
        assert_eq!(ids(&e.retagged), ["111122223333", "444455556666"]);
        assert!(e.idle[0].starts_with("e.json:5: "), "{:?}", e.idle);
        assert!(e.idle[0].contains("ou-ab12-11111111, not an account"));
        assert!(e.idle[1].contains("failed (AccessDenied)"), "{:?}", e.idle);
        let Err(InputError::Problems(p)) =
            parse(Path::new("e.json"), &tagged("TagResource", "12345", ""))
        else {
            panic!("refused")
        };
        assert!(p[0].message.contains("resourceId"), "{}", p[0].message);
    }

    #[test]
    fn other_json_is_refused_on_its_line() {
        let text = format!(
            "[\n{},\n  {{\"source\":\"aws.ec2\",\"detail-type\":\"EC2 Instance State-change Notification\",\"detail\":{{}}}}\n]",
            ct("SUCCEEDED", "111122223333")
        );
        let Err(InputError::Problems(p)) = parse(Path::new("e.json"), &text) else {
            panic!("refused")
        };
        assert_eq!(p[0].line, Some(3));
        assert!(p[0].message.contains("another kind"), "{}", p[0].message);
        assert!(p[0].message.contains("accepted:"));
        for bad in ["", "  ", "[]", "{\"a\":1}", "{not json", "42"] {
            assert!(parse(Path::new("e.json"), bad).is_err(), "{bad:?}");
        }
        let Err(InputError::Problems(p)) = parse(Path::new("e.json"), &ct("SUCCEEDED", "12345"))
        else {
            panic!("refused")
        };
        assert!(p[0].message.contains("accountId"), "{}", p[0].message);
    }
}

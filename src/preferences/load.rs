//! The preferences file loaded (checked by check.rs), and rendered per target: placeholders
//! filled, names checked, the content SSM is sent and its hash.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::check::*;
use crate::error::{InputError, Problem};
use crate::target::Target;
use crate::words::count;

/// Placeholders every target can fill.
pub(crate) const BUILTIN_PLACEHOLDERS: &[&str] =
    &["account_id", "account_name", "region", "partition"];

/// A validated preferences file.
#[derive(Debug)]
pub(crate) struct Preferences {
    pub path: PathBuf,
    /// The parsed document, keys in file order.
    pub doc: Value,
    /// SHA-256 of the file's bytes, for the run's metadata.
    pub file_sha256: String,
    /// `{name}` placeholders used in string values, with the line of their first use.
    pub placeholders: Vec<(String, usize)>,
    pub warnings: Vec<Problem>,
    /// `--var KEY=VALUE`: a placeholder's value for every account that gives none.
    pub vars: BTreeMap<String, String>,
    /// Where the accounts' own values come from, for the hint of a placeholder with none.
    pub vars_from: VarsFrom,
}

/// Where a placeholder's value may be given, as the hint for one that has none says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum VarsFrom {
    /// An inventory file's `vars`, or `--var`.
    #[default]
    Inventory,
    /// `--org`, and `--event` alone: the account's Organizations tag `ssm-prefs:KEY`, or
    /// `--var`.
    Organization,
    /// Lambda mode: the account's tag, or the stack's `Vars` (SSM_PREFS_VARS).
    Function,
}

impl VarsFrom {
    fn hint(self, name: &str) -> String {
        match self {
            VarsFrom::Inventory => format!(
                "add `{name}` to the account's vars or the inventory's top-level vars, or pass --var {name}=VALUE"
            ),
            VarsFrom::Organization => format!(
                "tag the account ssm-prefs:{name} in AWS Organizations, or pass --var {name}=VALUE"
            ),
            VarsFrom::Function => format!(
                "tag the account ssm-prefs:{name} in AWS Organizations, or add {name}=VALUE to the stack's Vars parameter (SSM_PREFS_VARS)"
            ),
        }
    }
}

/// Loads and validates a preferences file, reporting every problem at once.
pub(crate) fn load(path: &Path) -> Result<Preferences, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::read(path, source))?;
    load_bytes(path, bytes)
}

/// Validates a preferences file's bytes read elsewhere (an S3 object), named by `path` in
/// every problem.
pub(crate) fn load_bytes(path: &Path, bytes: Vec<u8>) -> Result<Preferences, InputError> {
    let file_sha256 = sha256_hex(&bytes);
    let text = String::from_utf8(bytes)
        .map_err(|_| InputError::one(path, None, "the preferences file is not UTF-8 text"))?;
    // A UTF-8 byte order mark (an editor's, on Windows) is not JSON: read past it, as the
    // inventory is read.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let (doc, placeholders, warnings) = check(path, text).map_err(InputError::Problems)?;
    Ok(Preferences {
        path: path.to_path_buf(),
        doc,
        file_sha256,
        placeholders,
        warnings,
        vars: BTreeMap::new(),
        vars_from: VarsFrom::default(),
    })
}

impl Preferences {
    /// The placeholders that stand in a sensitive input's value (`shellProfile`,
    /// `runAsDefaultUser`): only reviewed sources may fill those.
    pub(crate) fn sensitive_placeholders(&self) -> BTreeSet<String> {
        let inputs = self.doc.get("inputs");
        crate::sensitive::INPUTS
            .iter()
            .filter_map(|k| inputs.and_then(|i| i.get(*k)))
            .flat_map(find_placeholders)
            .collect()
    }

    /// Whether a placeholder of this name is filled somewhere in the file.
    /// The placeholders an account's Organizations tag `ssm-prefs:KEY` may fill: any but the
    /// built-ins (`--var` gives a value only where the account's tags give none).
    pub(crate) fn tag_placeholders(&self) -> BTreeSet<&str> {
        self.placeholders
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| !BUILTIN_PLACEHOLDERS.contains(name))
            .collect()
    }

    pub(crate) fn uses(&self, placeholder: &str) -> bool {
        self.placeholders
            .iter()
            .any(|(name, _)| name == placeholder)
    }

    /// Whether `{placeholder}` stands in an input whose value is held to a name's rules (a
    /// bucket, a log group, a key, a user): its value may then make the preferences bad input.
    pub(crate) fn names_with(&self, placeholder: &str) -> bool {
        let Some(Value::Object(inputs)) = self.doc.get("inputs") else {
            return false;
        };
        let wanted = format!("{{{placeholder}}}");
        super::check::NAMED_INPUTS
            .iter()
            .filter_map(|key| inputs.get(*key).and_then(Value::as_str))
            .any(|v| v.contains(&wanted))
    }

    /// Placeholders that the given targets cannot fill, each naming the first targets that lack it.
    pub(crate) fn unfillable(&self, targets: &[Target]) -> Vec<Problem> {
        let mut out = vec![];
        for (name, line) in &self.placeholders {
            let missing: Vec<&Target> = targets
                .iter()
                .filter(|t| placeholder_value(t, name, &self.vars).is_none())
                .collect();
            if let Some(first) = missing.first() {
                let mut accounts: Vec<String> = missing
                    .iter()
                    .map(|t| format!("{} ({})", t.account.id, t.account.name))
                    .collect();
                accounts.dedup();
                let more = if accounts.len() > 3 {
                    format!(" and {} more", accounts.len() - 3)
                } else {
                    String::new()
                };
                accounts.truncate(3);
                out.push(Problem::at(
                    &self.path,
                    Some(*line),
                    format!(
                        "placeholder {{{name}}} has no value for account {}{more} (target {}/{}): {}",
                        accounts.join(", "),
                        first.account.id,
                        first.region,
                        self.vars_from.hint(name)
                    ),
                ));
            }
        }
        out
    }

    /// Names that break AWS's rules once rendered for these targets (a per-account bucket
    /// name with an upper-case account name, say), each naming the first targets affected.
    pub(crate) fn invalid_names(&self, targets: &[Target]) -> Vec<Problem> {
        let Some(Value::Object(inputs)) = self.doc.get("inputs") else {
            return vec![];
        };
        let templated: Vec<(&String, &str)> = inputs
            .iter()
            .filter_map(|(k, v)| v.as_str().filter(|s| has_placeholder(s)).map(|s| (k, s)))
            .collect();
        let mut out = vec![];
        for (key, template) in templated {
            let mut broken: Vec<(String, String)> = vec![];
            for t in targets {
                let mut value = Value::String(template.to_string());
                if render(&mut value, t, &self.vars).is_err() {
                    continue; // unfillable, reported on its own
                }
                let rendered = value.as_str().unwrap_or_default();
                if let Some(why) = name_problem(key, rendered) {
                    broken.push((
                        format!("{}/{}", t.account.id, t.region),
                        format!("{rendered:?} {why}"),
                    ));
                }
            }
            if let Some((first, why)) = broken.first() {
                let line = placeholders_in(template)
                    .next()
                    .and_then(|(a, b)| {
                        let name = &template[a + 1..b - 1];
                        self.placeholders.iter().find(|(n, _)| n == name)
                    })
                    .map(|(_, line)| *line);
                let more = match broken.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", count(n - 1, "target")),
                };
                out.push(Problem::at(
                    &self.path,
                    line,
                    format!("{key} for target {first} is {why}{more}"),
                ));
            }
        }
        out
    }

    /// The content this target should hold: placeholders filled, and with `merge`, the
    /// target's own inputs that the file does not set kept.
    pub(crate) fn desired(
        &self,
        target: &Target,
        current: Option<&Value>,
        merge: bool,
    ) -> Result<Value, String> {
        let mut doc = self.doc.clone();
        render(&mut doc, target, &self.vars)?;
        if merge
            && let (Some(Value::Object(cur)), Some(Value::Object(want))) =
                (current.and_then(|c| c.get("inputs")), doc.get_mut("inputs"))
        {
            for (k, v) in cur {
                if !want.contains_key(k) {
                    want.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(doc)
    }
}

pub(super) fn render(
    v: &mut Value,
    target: &Target,
    run_vars: &BTreeMap<String, String>,
) -> Result<(), String> {
    match v {
        Value::String(s) if has_placeholder(s) => {
            let mut out = String::with_capacity(s.len());
            let mut last = 0;
            for (a, b) in placeholders_in(s) {
                let name = &s[a + 1..b - 1];
                let value = placeholder_value(target, name, run_vars)
                    .ok_or_else(|| format!("placeholder {{{name}}} has no value"))?;
                out.push_str(&s[last..a]);
                out.push_str(&value);
                last = b;
            }
            out.push_str(&s[last..]);
            *s = out;
        }
        Value::Array(a) => a.iter_mut().try_for_each(|x| render(x, target, run_vars))?,
        Value::Object(m) => m
            .values_mut()
            .try_for_each(|x| render(x, target, run_vars))?,
        _ => {}
    }
    Ok(())
}

/// The SHA-256 of `bytes`, as lowercase hex: how a file or a document's content is named by
/// its hash.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    //! Properties of rendered documents: one compares equal to itself and to what is written
    //! for it, and merging a target that already holds it changes nothing; key order and
    //! whitespace never count as a change (diff.rs), and one changed input is named exactly.
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::Arc;

    use proptest::prelude::*;
    use proptest::sample::{Index, select};

    use super::*;
    use crate::model::Change;
    use crate::preferences::check::tests::{Doc, FILE, Writer, layout, valid_doc};
    use crate::preferences::{changed_keys, diff, to_content};
    use crate::proptests::config;
    use crate::target::{Account, AccountId, Region};

    fn target() -> impl Strategy<Value = Target> {
        (
            "[0-9]{12}",
            "[^\u{0}]{0,10}",
            select(vec![
                "us-east-1",
                "eu-west-1",
                "cn-north-1",
                "us-gov-west-1",
            ]),
            "[^\u{0}]{0,10}",
            1u32..=60,
        )
            .prop_map(|(id, name, region, bucket, idle)| Target {
                account: Arc::new(Account {
                    name,
                    vars: BTreeMap::from([
                        ("log_bucket".to_string(), bucket),
                        ("idle_minutes".to_string(), idle.to_string()),
                    ]),
                    ..Account::new(AccountId::parse(&id).expect("12 digits"), 0)
                }),
                region: Region::parse(region).expect("a known region"),
            })
    }

    /// Validates `doc` as a file would be, then renders it for `target`.
    fn rendered(doc: &Value, target: &Target) -> Result<Value, TestCaseError> {
        let text = to_content(doc);
        let (parsed, placeholders, _warnings) = check(Path::new(FILE), &text).map_err(|p| {
            TestCaseError::fail(format!("a valid document was rejected: {p:?}\n{text}"))
        })?;
        let prefs = Preferences {
            path: FILE.into(),
            doc: parsed,
            file_sha256: sha256_hex(text.as_bytes()),
            placeholders,
            warnings: vec![],
            vars: BTreeMap::new(),
            vars_from: VarsFrom::default(),
        };
        let unfillable = prefs.unfillable(std::slice::from_ref(target));
        prop_assert!(unfillable.is_empty(), "{:?}", unfillable);
        prefs
            .desired(target, None, false)
            .map_err(|e| TestCaseError::fail(format!("render failed: {e}\n{text}")))
    }

    /// The same document with its entries (top level, inputs, shellProfile) in another order.
    fn reorder(v: &Value, keys: &[u32]) -> Value {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(usize, (&String, &Value))> = m.iter().enumerate().collect();
                entries.sort_by_key(|(i, _)| (keys.get(*i % keys.len().max(1)).copied(), *i));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(_, (k, v))| (k.clone(), reorder(v, keys)))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }

    /// A value that differs from `v`.
    fn changed(v: &Value) -> Value {
        match v {
            Value::Bool(b) => Value::Bool(!b),
            Value::String(s) => Value::String(format!("{s}x")),
            Value::Object(m) => {
                let mut m = m.clone();
                let linux = match m.get("linux") {
                    Some(Value::String(s)) => format!("{s}; echo changed"),
                    _ => "echo changed".into(),
                };
                m.insert("linux".into(), Value::String(linux));
                Value::Object(m)
            }
            _ => Value::Null,
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn a_rendered_document_equals_itself_and_what_is_written_for_it(
            doc in valid_doc(),
            target in target(),
        ) {
            let rendered = rendered(&doc, &target)?;
            prop_assert!(diff(&rendered, &rendered).is_empty());
            let content = to_content(&rendered);
            let back: Value = serde_json::from_str(&content).expect("the content is JSON");
            prop_assert!(diff(&rendered, &back).is_empty(), "{:?}", diff(&rendered, &back));
            prop_assert!(diff(&back, &rendered).is_empty(), "{:?}", diff(&back, &rendered));
            // Writing what was read back gives the same bytes, so content_sha256 is stable.
            prop_assert_eq!(to_content(&back), content);
            // Merging a target that already holds it changes nothing.
            let prefs = Preferences {
                path: FILE.into(),
                doc: doc.clone(),
                file_sha256: String::new(),
                placeholders: vec![],
                warnings: vec![],
                vars: BTreeMap::new(),
                vars_from: VarsFrom::default(),
            };
            let merged = prefs.desired(&target, Some(&back), true).expect("renders");
            prop_assert!(diff(&merged, &back).is_empty());
        }

        #[test]
        fn key_order_and_whitespace_are_not_changes(
            doc in valid_doc(),
            target in target(),
            keys in prop::collection::vec(any::<u32>(), 1..16),
            style in 0..3u8,
            layout in layout(),
        ) {
            let rendered = rendered(&doc, &target)?;
            let shuffled = reorder(&rendered, &keys);
            let text = match style {
                0 => serde_json::to_string(&shuffled).expect("serializes"),
                1 => serde_json::to_string_pretty(&shuffled).expect("serializes"),
                _ => Writer::write(&layout, &Doc::from_value(&shuffled)),
            };
            let current: Value = serde_json::from_str(&text).expect("valid JSON");
            prop_assert!(diff(&rendered, &current).is_empty(), "{:?}\n{}", diff(&rendered, &current), text);
            prop_assert!(diff(&current, &rendered).is_empty());
            // The file itself, reordered and re-spaced, still validates.
            let text = Writer::write(&layout, &Doc::from_value(&reorder(&doc, &keys)));
            prop_assert!(check(Path::new(FILE), &text).is_ok(), "{}", text);
        }

        #[test]
        fn one_changed_input_is_named_exactly(
            doc in valid_doc(),
            target in target(),
            keys in prop::collection::vec(any::<u32>(), 1..16),
            layout in layout(),
            pick in any::<Index>(),
        ) {
            let rendered = rendered(&doc, &target)?;
            let current: Value = serde_json::from_str(&Writer::write(
                &layout,
                &Doc::from_value(&reorder(&rendered, &keys)),
            ))
            .expect("valid JSON");
            let inputs = rendered["inputs"].as_object().expect("inputs");
            let (key, was) = inputs.iter().nth(pick.index(inputs.len())).expect("an input");

            let mut want = rendered.clone();
            let now = changed(was);
            want["inputs"][key] = now.clone();
            let changes = diff(&want, &current);
            // As shown: a sensitive input's values are masked.
            prop_assert_eq!(
                changes,
                vec![Change::shown(key.clone(), Some(was.clone()), Some(now))]
            );

            // Dropped from the desired content, or found only on the target: also that key alone.
            let mut dropped = rendered.clone();
            dropped["inputs"].as_object_mut().expect("inputs").shift_remove(key);
            let changes = diff(&dropped, &current);
            prop_assert_eq!(changed_keys(&changes), key.as_str());
            prop_assert_eq!(&changes[0].to, &None);
            let changes = diff(&current, &dropped);
            prop_assert_eq!(changed_keys(&changes), key.as_str());
            prop_assert_eq!(&changes[0].from, &None);
        }
    }
}

#[cfg(test)]
mod names_with {
    use std::path::Path;

    use super::load_bytes;

    #[test]
    fn a_placeholder_names_with_only_where_a_names_rules_hold() {
        let prefs = |inputs: &str| {
            let doc = format!(
                r#"{{"schemaVersion": "1.0", "description": "d", "sessionType": "Standard_Stream", "inputs": {inputs}}}"#
            );
            load_bytes(Path::new("p.json"), doc.into_bytes()).expect("valid preferences")
        };
        let in_prefix =
            prefs(r#"{"s3BucketName": "logs-{account_id}", "s3KeyPrefix": "{account_name}/x"}"#);
        assert!(in_prefix.uses("account_name"));
        assert!(!in_prefix.names_with("account_name"));
        let in_group = prefs(r#"{"cloudWatchLogGroupName": "/ssm/{account_name}"}"#);
        assert!(in_group.names_with("account_name"));
        assert!(!in_group.names_with("account_id"));
    }
}

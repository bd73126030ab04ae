//! The preferences file checked: JSON syntax, the document's keys and each input's type,
//! range and name rules, every problem with its line and column.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::{Map, Value};

use super::diff::{MAX_CONTENT_BYTES, to_content};
use crate::error::{Origin, Problem};
use crate::names;
use crate::sensitive;
use crate::suggest::did_you_mean;
use crate::target::Target;

/// Inputs SSM-SessionManagerRunShell (a Standard_Stream session document) understands.
pub(super) const BOOL_INPUTS: &[&str] = &[
    "s3EncryptionEnabled",
    "cloudWatchEncryptionEnabled",
    "cloudWatchStreamingEnabled",
    "runAsEnabled",
];
pub(super) const STRING_INPUTS: &[&str] = &[
    "s3BucketName",
    "s3KeyPrefix",
    "cloudWatchLogGroupName",
    "kmsKeyId",
    "runAsDefaultUser",
];
/// (input, minimum, maximum, empty allowed): minutes, written as strings.
pub(super) const RANGE_INPUTS: &[(&str, u32, u32, bool)] = &[
    ("idleSessionTimeout", 1, 60, false),
    ("maxSessionDuration", 1, 1440, true),
];
pub(super) const TOP_KEYS: &[&str] = &["schemaVersion", "description", "sessionType", "inputs"];
/// Values copied from the AWS page's example that nobody means to deploy.
pub(super) const EXAMPLE_VALUES: &[&str] = &[
    "DOC-EXAMPLE-BUCKET",
    "MyBucketPrefix",
    "MyLogGroupName",
    "MyKMSKeyID",
    "MyDefaultRunAsUser",
];
pub(super) fn known_inputs() -> impl Iterator<Item = &'static str> {
    BOOL_INPUTS
        .iter()
        .chain(STRING_INPUTS)
        .copied()
        .chain(RANGE_INPUTS.iter().map(|r| r.0))
        .chain(["shellProfile"])
}

pub(super) type Checked = (Value, Vec<(String, usize)>, Vec<Problem>);

/// Parse, then validate: every problem in the file, not just the first.
pub(super) fn check(path: &Path, text: &str) -> Result<Checked, Vec<Problem>> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| vec![json_syntax_problem(path, text, &e)])?;
    let mut problems = vec![];
    let mut warnings = vec![];
    let keys = KeyLines::scan(text);
    let line_of = |key: &str| keys.line(&[key]);
    let mut problem =
        |line: Option<usize>, msg: String| problems.push(Problem::at(path, line, msg));

    for (key_path, first, again) in &keys.duplicates {
        problem(
            Some(*again),
            format!(
                "{} is set twice (lines {first} and {again}): JSON keeps only the last one, silently; delete one",
                key_path.join(".")
            ),
        );
    }
    // What is sent is the parsed document pretty-printed, not the file's bytes.
    let size = to_content(&doc).len();
    if size > MAX_CONTENT_BYTES {
        problem(
            None,
            format!(
                "the content is {size} bytes as sent to SSM: SSM documents are limited to {MAX_CONTENT_BYTES} bytes (64 KB)"
            ),
        );
    }
    let Value::Object(top) = &doc else {
        return Err(vec![Problem::at(
            path,
            Some(1),
            "the preferences must be a JSON object with schemaVersion, sessionType and inputs",
        )]);
    };
    for key in top.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            problem(
                line_of(key),
                format!(
                    "unknown top-level key {key:?}{}",
                    did_you_mean(key, TOP_KEYS.iter().copied())
                ),
            );
        }
    }
    match top.get("schemaVersion") {
        Some(Value::String(v)) if v == "1.0" => {}
        Some(other) => problem(
            line_of("schemaVersion"),
            format!("schemaVersion must be \"1.0\", not {other}"),
        ),
        None => problem(
            Some(1),
            "schemaVersion is missing: session documents use \"1.0\"".into(),
        ),
    }
    match top.get("sessionType") {
        Some(Value::String(v)) if v == "Standard_Stream" => {}
        Some(other) => problem(
            line_of("sessionType"),
            format!(
                "sessionType must be \"Standard_Stream\" (Session Manager preferences), not {other}"
            ),
        ),
        None => problem(
            Some(1),
            "sessionType is missing: Session Manager preferences use \"Standard_Stream\"".into(),
        ),
    }
    if let Some(d) = top.get("description").filter(|d| !d.is_string()) {
        problem(
            line_of("description"),
            format!("description must be a string, not {d}"),
        );
    }
    match top.get("inputs") {
        Some(Value::Object(inputs)) => check_inputs(
            inputs,
            &|key_path| keys.line(key_path),
            &mut problem,
            &mut |line, msg| warnings.push(Problem::at(path, line, msg)),
        ),
        Some(other) => problem(
            line_of("inputs"),
            format!("inputs must be an object, not {other}"),
        ),
        None => problem(
            Some(1),
            "inputs is missing: it holds the preferences".into(),
        ),
    }
    let placeholders = find_placeholders(&doc).into_iter().map(|p| {
        let line = line_of_text(text, &format!("{{{p}}}")).unwrap_or(1);
        (p, line)
    });
    let placeholders = placeholders.collect();
    if problems.is_empty() {
        Ok((doc, placeholders, warnings))
    } else {
        Err(problems)
    }
}

pub(super) fn check_inputs(
    inputs: &Map<String, Value>,
    line_of: &dyn Fn(&[&str]) -> Option<usize>,
    problem: &mut dyn FnMut(Option<usize>, String),
    warn: &mut dyn FnMut(Option<usize>, String),
) {
    for (key, value) in inputs {
        let line = line_of(&["inputs", key]);
        let k = key.as_str();
        if BOOL_INPUTS.contains(&k) {
            if !value.is_boolean() {
                problem(
                    line,
                    format!("{key} must be true or false (a JSON boolean, unquoted), not {value}"),
                );
            }
        } else if STRING_INPUTS.contains(&k) {
            let broken = value.as_str().and_then(|s| name_problem(k, s));
            match value {
                // A bucket made in us-east-1 before March 2018 may have capitals and
                // underscores: S3, asked by preflight, decides (the AWS page's example stays
                // refused).
                Value::String(s)
                    if broken.is_some()
                        && k == "s3BucketName"
                        && !EXAMPLE_VALUES.contains(&s.as_str())
                        && names::legacy_bucket_name(s) =>
                {
                    warn(
                        line,
                        format!(
                            "{key} {s:?} {}, unless it is a bucket created in us-east-1 before March 2018 (such names may have capitals and underscores): preflight asks S3 whether it exists",
                            broken.unwrap_or_default()
                        ),
                    )
                }
                // A name AWS would refuse, or that cannot work: an example value too.
                Value::String(s) if broken.is_some() => problem(
                    line,
                    format!(
                        "{key} {s:?} {}{}",
                        broken.unwrap_or_default(),
                        if EXAMPLE_VALUES.contains(&s.as_str()) {
                            " (it is the AWS page's example value: replace it with your own)"
                        } else {
                            ""
                        }
                    ),
                ),
                Value::String(s) if EXAMPLE_VALUES.contains(&s.as_str()) => warn(
                    line,
                    format!(
                        "{key} is {s:?}, the AWS page's example value: replace it with your own"
                    ),
                ),
                Value::String(_) => {}
                other if sensitive::is_sensitive(k) => problem(
                    line,
                    format!("{key} must be a string, not {}", sensitive::kind(other)),
                ),
                other => problem(line, format!("{key} must be a string, not {other}")),
            }
        } else if let Some(&(_, min, max, empty_ok)) = RANGE_INPUTS.iter().find(|r| r.0 == k) {
            match value {
                Value::String(s) if s.is_empty() && empty_ok => {}
                Value::String(s) if has_placeholder(s) => {}
                // AWS's schema takes digits only: no sign, no leading zero ("+5", "020").
                Value::String(s) => match s.parse::<u32>() {
                    Ok(n)
                        if (min..=max).contains(&n)
                            && s.bytes().all(|b| b.is_ascii_digit())
                            && !s.starts_with('0') => {}
                    _ => problem(
                        line,
                        format!(
                            "{key} must be a whole number of minutes from {min} to {max}, written as a string; {s:?} is not"
                        ),
                    ),
                },
                Value::Number(n) => problem(
                    line,
                    format!(
                        "{key} must be a string such as \"{n}\" (in quotes), not the number {n}"
                    ),
                ),
                other => problem(
                    line,
                    format!("{key} must be a string of minutes from {min} to {max}, not {other}"),
                ),
            }
        } else if k == "shellProfile" {
            match value {
                Value::Object(profile) => {
                    for (os, cmd) in profile {
                        if os != "windows" && os != "linux" {
                            problem(
                                line_of(&["inputs", "shellProfile", os]),
                                format!(
                                    "shellProfile has only \"windows\" and \"linux\", not {os:?}"
                                ),
                            );
                        } else if !cmd.is_string() {
                            problem(
                                line_of(&["inputs", "shellProfile", os]),
                                format!(
                                    "shellProfile.{os} must be a string of commands, not {}",
                                    sensitive::kind(cmd)
                                ),
                            );
                        }
                    }
                }
                other => problem(
                    line,
                    format!(
                        "shellProfile must be an object with \"windows\" and/or \"linux\", not {}",
                        sensitive::kind(other)
                    ),
                ),
            }
        } else {
            problem(
                line,
                format!("unknown input {key:?}{}", did_you_mean(key, known_inputs())),
            );
        }
    }
    if inputs.get("runAsEnabled") == Some(&Value::Bool(true)) {
        let user = inputs
            .get("runAsDefaultUser")
            .and_then(Value::as_str)
            .unwrap_or("");
        if user.is_empty() {
            problem(line_of(&["inputs", "runAsEnabled"]), "runAsEnabled is true but runAsDefaultUser is empty: name the OS user sessions run as".into());
        }
    }
}

/// Why a string input's value cannot work, by AWS's naming rules; a value with placeholders
/// is checked with each placeholder standing for a short valid word (the rendered values are
/// checked per target once the inventory is known: [`Preferences::invalid_names`]).
pub(super) fn name_problem(key: &str, value: &str) -> Option<String> {
    let templated = has_placeholder(value);
    let sample = if templated {
        let mut out = String::new();
        let mut last = 0;
        for (a, b) in placeholders_in(value) {
            out.push_str(&value[last..a]);
            out.push_str("000");
            last = b;
        }
        out.push_str(&value[last..]);
        out
    } else {
        value.to_string()
    };
    match key {
        "s3BucketName" if !sample.is_empty() => names::bucket_problem(&sample),
        "cloudWatchLogGroupName" if !sample.is_empty() => names::log_group_problem(&sample),
        // A whole key id from a placeholder looks like nothing before it is filled.
        "kmsKeyId" if !sample.is_empty() && !templated => names::kms_key_problem(&sample),
        "runAsDefaultUser" if sample == "root" => Some(
            "cannot work: Session Manager does not run sessions as root; name an unprivileged OS user"
                .into(),
        ),
        _ => None,
    }
}

/// A serde_json syntax error, pointed at the line a person has to fix.
pub(super) fn json_syntax_problem(path: &Path, text: &str, e: &serde_json::Error) -> Problem {
    let full = e.to_string();
    let msg = full
        .rsplit_once(" at line ")
        .map(|(m, _)| m.to_string())
        .unwrap_or(full);
    let (mut line, mut column) = (e.line(), e.column());
    let message = if msg.starts_with("trailing comma") {
        // serde_json points at the closing brace; the comma to delete is before it.
        if let Some((l, c)) = offset_of(text, line, column)
            .and_then(|o| text[..o].rfind(','))
            .map(|o| line_col(text, o))
        {
            (line, column) = (l, c);
        }
        "invalid JSON: trailing comma after the last entry; delete it (the AWS page's own warning: the last line of a section must not end with a comma)".to_string()
    } else if e.is_eof() {
        format!("invalid JSON: the file ends early ({msg}): a closing brace or quote is missing")
    } else {
        format!("invalid JSON: {msg}")
    };
    Problem {
        origin: Origin::File(path.to_path_buf()),
        line: Some(line),
        column: Some(column),
        message,
    }
}

pub(super) fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    Some((start + column.saturating_sub(1)).min(text.len()))
}

pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// Where each key of a (valid) JSON text is written, by its path of keys, and the keys written
/// twice in one object, which serde_json resolves silently by keeping the last.
pub(super) struct KeyLines {
    pub(super) lines: HashMap<Vec<String>, usize>,
    /// (path, first line, line of the repeat)
    pub(super) duplicates: Vec<(Vec<String>, usize, usize)>,
}

impl KeyLines {
    pub(super) fn scan(text: &str) -> Self {
        /// An open object (its keys so far, and the key whose value is being read) or array.
        enum Frame {
            Object(HashMap<String, usize>, Option<String>),
            Array,
        }
        let mut out = KeyLines {
            lines: HashMap::new(),
            duplicates: vec![],
        };
        let bytes = text.as_bytes();
        let mut stack: Vec<Frame> = vec![];
        let (mut i, mut line, mut expect_key) = (0, 1, false);
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => line += 1,
                b'{' => {
                    stack.push(Frame::Object(HashMap::new(), None));
                    expect_key = true;
                }
                b'[' => {
                    stack.push(Frame::Array);
                    expect_key = false;
                }
                b'}' | b']' => {
                    stack.pop();
                    expect_key = false;
                }
                b',' => expect_key = matches!(stack.last(), Some(Frame::Object(..))),
                b'"' => {
                    // Valid JSON: a string ends at the first quote not escaped, on this line.
                    let start = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    if expect_key {
                        let key: String =
                            serde_json::from_str(&text[start..=i.min(text.len() - 1)])
                                .unwrap_or_default();
                        let mut path: Vec<String> = stack
                            .iter()
                            .take(stack.len().saturating_sub(1))
                            .map(|f| match f {
                                Frame::Object(_, Some(k)) => k.clone(),
                                _ => "[]".to_string(),
                            })
                            .collect();
                        path.push(key.clone());
                        if let Some(Frame::Object(seen, current)) = stack.last_mut() {
                            match seen.get(&key) {
                                Some(&first) => out.duplicates.push((path.clone(), first, line)),
                                None => {
                                    seen.insert(key.clone(), line);
                                }
                            }
                            *current = Some(key);
                        }
                        out.lines.entry(path).or_insert(line);
                        expect_key = false;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        out
    }

    pub(super) fn line(&self, path: &[&str]) -> Option<usize> {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.lines.get(&path).copied()
    }
}

pub(super) fn line_of_text(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|o| line_col(text, o).0)
}

/// `{name}` inside a string; `${name}` is shell syntax (in shellProfile) and is left alone.
pub(super) fn placeholders_in(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if bytes[i] == b'{' && (i == 0 || bytes[i - 1] != b'$') {
                let start = i;
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                if j > start + 1 && j < bytes.len() && bytes[j] == b'}' {
                    i = j + 1;
                    return Some((start, j + 1));
                }
            }
            i += 1;
        }
        None
    })
}

pub(super) fn has_placeholder(s: &str) -> bool {
    placeholders_in(s).next().is_some()
}

pub(super) fn find_placeholders(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    visit_strings(v, &mut |s| {
        for (a, b) in placeholders_in(s) {
            out.insert(s[a + 1..b - 1].to_string());
        }
    });
    out
}

pub(super) fn visit_strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| visit_strings(x, f)),
        Value::Object(m) => m.values().for_each(|x| visit_strings(x, f)),
        _ => {}
    }
}

/// The value a target gives a placeholder: a built-in, else the account's (or inventory's)
/// vars, else the run's `--var`.
pub(super) fn placeholder_value(
    target: &Target,
    name: &str,
    run_vars: &BTreeMap<String, String>,
) -> Option<String> {
    match name {
        "account_id" => Some(target.account.id.to_string()),
        "account_name" => Some(target.account.name.clone()),
        "region" => Some(target.region.to_string()),
        "partition" => Some(target.region.partition().to_string()),
        _ => target
            .account
            .vars
            .get(name)
            .or_else(|| run_vars.get(name))
            .cloned(),
    }
}

#[cfg(test)]
mod tests {
    //! The checks by example, then properties: no text makes validation panic, and every
    //! problem names the file on a line that exists.
    use proptest::prelude::*;

    use super::*;
    use crate::error::InputError;
    use crate::preferences::strategies::{
        FILE, Writer, config, json_soup, layout, mutated_json, near_valid,
    };

    fn problems(text: &str) -> Vec<Problem> {
        check(Path::new("p.json"), text).err().unwrap_or_default()
    }

    const OK: &str = r#"{"schemaVersion":"1.0","description":"d","sessionType":"Standard_Stream","inputs":{"s3BucketName":"logs-b","runAsEnabled":false}}"#;

    #[test]
    fn accepts_a_valid_file() {
        assert!(check(Path::new("p.json"), OK).is_ok());
    }

    #[test]
    fn key_lines_follow_the_path_and_catch_repeats() {
        let text = "{\n \"description\": \"d\",\n \"inputs\": {\n  \"a\\\"\": 1,\n  \"description\": 2,\n  \"description\": 3\n }\n}";
        let keys = KeyLines::scan(text);
        assert_eq!(keys.line(&["description"]), Some(2));
        assert_eq!(keys.line(&["inputs", "a\""]), Some(4));
        assert_eq!(keys.line(&["inputs", "description"]), Some(5));
        let path = vec!["inputs".to_string(), "description".to_string()];
        assert_eq!(keys.duplicates, vec![(path, 5, 6)]);
    }

    #[test]
    fn trailing_comma_points_at_the_comma() {
        let text =
            "{\n \"schemaVersion\": \"1.0\",\n \"inputs\": {\n  \"s3BucketName\": \"x\",\n }\n}";
        let p = &problems(text)[0];
        assert_eq!(p.line, Some(4));
        assert!(p.message.contains("trailing comma"), "{}", p.message);
    }

    #[test]
    fn placeholders_skip_shell_syntax() {
        let found: Vec<_> = placeholders_in("{region}-${HOME}-{x y}-{account_id}").collect();
        assert_eq!(found, vec![(0, 8), (23, 35)]);
    }

    /// Every problem is about p.json, says so first when printed, and points at a line the
    /// file has (a `file:line` that opens nowhere helps nobody).
    fn assert_problems_name_the_file(
        text: &str,
        problems: &[Problem],
    ) -> Result<(), TestCaseError> {
        prop_assert!(!problems.is_empty(), "an error with no problem in it");
        let lines = text.split('\n').count();
        for p in problems {
            prop_assert_eq!(&p.origin, &Origin::File(FILE.into()));
            let shown = p.to_string();
            prop_assert!(shown.starts_with("p.json:"), "{}", shown);
            if let Some(line) = p.line {
                prop_assert!(
                    (1..=lines).contains(&line),
                    "line {} of {}: {}",
                    line,
                    lines,
                    shown
                );
            }
        }
        let all = InputError::Problems(problems.to_vec()).to_string();
        prop_assert!(all.contains(FILE), "{}", all);
        Ok(())
    }

    fn check_text(text: &str) -> Result<(), TestCaseError> {
        match check(Path::new(FILE), text) {
            Ok(_) => Ok(()),
            Err(problems) => assert_problems_name_the_file(text, &problems),
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn check_survives_any_text(text in any::<String>()) {
            check_text(&text)?;
        }

        #[test]
        fn check_survives_any_bytes_read_as_utf8(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            check_text(&String::from_utf8_lossy(&bytes))?;
        }

        #[test]
        fn check_survives_json_soup(text in json_soup()) {
            check_text(&text)?;
        }

        #[test]
        fn check_survives_edited_valid_documents(text in mutated_json()) {
            check_text(&text)?;
            // A trailing comma is reported where the comma to delete is.
            if let Err(problems) = check(Path::new(FILE), &text) {
                for p in problems.iter().filter(|p| p.message.contains("trailing comma")) {
                    let (line, column) = (p.line.expect("a line"), p.column.expect("a column"));
                    let at = text.split('\n').nth(line - 1).and_then(|l| l.as_bytes().get(column - 1));
                    prop_assert_eq!(at, Some(&b','), "{}\n{}", p, text);
                }
            }
        }

        #[test]
        fn check_survives_near_valid_documents(doc in near_valid(), layout in layout()) {
            let text = Writer::write(&layout, &doc);
            check_text(&text)?;
        }
    }
}

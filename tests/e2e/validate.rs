//! `validate` end to end: malformed preferences, inventories and selection flags each stop
//! with exit 2 and a message naming the file, the line and what to fix; good files pass with
//! the right counts. No AWS call happens in validate, so no emulator is needed.

use std::path::Path;

use crate::support::fixtures::{AWS_PAGE_EXAMPLE, Dir, Run, ssm_prefs, validate};

/// Preferences whose inputs start on line 6, one per line.
fn prefs(inputs: &[&str]) -> String {
    format!(
        "{{\n  \"schemaVersion\": \"1.0\",\n  \"description\": \"test\",\n  \"sessionType\": \"Standard_Stream\",\n  \"inputs\": {{\n    {}\n  }}\n}}\n",
        inputs.join(",\n    ")
    )
}

fn ok_prefs() -> String {
    prefs(&[
        "\"s3BucketName\": \"logs-{account_id}\"",
        "\"s3EncryptionEnabled\": true",
    ])
}

/// 3 accounts × 2 regions, 5 targets: payments-prod and payments-dev in both regions,
/// data-prod in eu-west-1 only.
const GOOD_YML: &str = r#"regions: [us-east-1, eu-west-1]
accounts:
  - account_id: "111111111111"
    name: payments-prod
    tags: ["env:prod", "team:payments"]
  - account_id: "222222222222"
    name: payments-dev
    tags: ["env:dev", "team:payments"]
  - account_id: "333333333333"
    name: data-prod
    regions: [eu-west-1]
    tags: ["env:prod", "team:data"]
"#;

/// The AWS page's example as someone saves it after deleting the Run As lines: the comma
/// after the last input (line 11) stays.
const AWS_PAGE_TRAILING_COMMA: &str = r#"{
    "schemaVersion": "1.0",
    "description": "Document to hold regional settings for Session Manager",
    "sessionType": "Standard_Stream",
    "inputs": {
        "s3BucketName": "DOC-EXAMPLE-BUCKET",
        "s3KeyPrefix": "MyBucketPrefix",
        "s3EncryptionEnabled": true,
        "cloudWatchLogGroupName": "MyLogGroupName",
        "cloudWatchEncryptionEnabled": true,
        "kmsKeyId": "MyKMSKeyID",
    }
}
"#;

const BOM: &str = "\u{feff}";

/// One malformed input: the files written (besides a good `p.json` and `inv.yml`, which a
/// case may replace), the arguments (a file name stands for its path), and words the error
/// must contain.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, String)>,
    args: Vec<&'static str>,
    expect: Vec<&'static str>,
}

fn case(
    name: &'static str,
    files: &[(&'static str, &str)],
    args: &[&'static str],
    expect: &[&'static str],
) -> Case {
    Case {
        name,
        files: files.iter().map(|(n, c)| (*n, c.to_string())).collect(),
        args: args.to_vec(),
        expect: expect.to_vec(),
    }
}

const P: &[&str] = &["validate", "-p", "p.json"];
const PI: &[&str] = &["validate", "-p", "p.json", "-i", "inv.yml"];
const PC: &[&str] = &["validate", "-p", "p.json", "-i", "inv.csv"];

fn with(base: &[&'static str], more: &[&'static str]) -> Vec<&'static str> {
    base.iter().chain(more).copied().collect()
}

/// Writes the case's files into a fresh dir and runs the binary there.
fn run_case(c: &Case) -> Run {
    let dir = Dir::new();
    dir.write("p.json", &ok_prefs());
    dir.write("inv.yml", GOOD_YML);
    for (name, content) in &c.files {
        dir.write(name, content);
    }
    let args: Vec<String> = c
        .args
        .iter()
        .map(|a| {
            let p = dir.path(a);
            if !a.starts_with('-') && p.is_file() {
                p.display().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    ssm_prefs(&args)
}

fn cases() -> Vec<Case> {
    let big = format!(
        "{{\"schemaVersion\": \"1.0\", \"description\": \"{}\", \"sessionType\": \"Standard_Stream\", \"inputs\": {{}}}}",
        "x".repeat(70_000)
    );
    let missing_brace = ok_prefs().trim_end().trim_end_matches('}').to_string();
    vec![
        // ---- preferences JSON ----
        case(
            "json: the AWS page's trailing comma after the last input",
            &[("p.json", AWS_PAGE_TRAILING_COMMA)],
            P,
            &["p.json:11:", "trailing comma", "delete it"],
        ),
        case(
            "json: missing closing brace",
            &[("p.json", &missing_brace)],
            P,
            &["p.json:", "invalid JSON", "ends early", "closing brace"],
        ),
        case(
            "json: schemaVersion 2.2",
            &[("p.json", &ok_prefs().replace("\"1.0\"", "\"2.2\""))],
            P,
            &["p.json:2:", "schemaVersion must be \"1.0\"", "not \"2.2\""],
        ),
        case(
            "json: sessionType Port",
            &[("p.json", &ok_prefs().replace("Standard_Stream", "Port"))],
            P,
            &[
                "p.json:4:",
                "sessionType must be \"Standard_Stream\"",
                "not \"Port\"",
            ],
        ),
        case(
            "json: a boolean written as a string",
            &[(
                "p.json",
                &prefs(&[
                    "\"s3BucketName\": \"b\"",
                    "\"s3EncryptionEnabled\": \"true\"",
                ]),
            )],
            P,
            &[
                "p.json:7:",
                "s3EncryptionEnabled",
                "true or false",
                "unquoted",
                "not \"true\"",
            ],
        ),
        case(
            "json: idleSessionTimeout above 60",
            &[("p.json", &prefs(&["\"idleSessionTimeout\": \"90\""]))],
            P,
            &[
                "p.json:6:",
                "idleSessionTimeout",
                "from 1 to 60",
                "\"90\" is not",
            ],
        ),
        case(
            "json: idleSessionTimeout as a number",
            &[("p.json", &prefs(&["\"idleSessionTimeout\": 20"]))],
            P,
            &[
                "p.json:6:",
                "idleSessionTimeout must be a string",
                "\"20\" (in quotes)",
                "not the number 20",
            ],
        ),
        case(
            "json: maxSessionDuration 0",
            &[("p.json", &prefs(&["\"maxSessionDuration\": \"0\""]))],
            P,
            &[
                "p.json:6:",
                "maxSessionDuration",
                "from 1 to 1440",
                "\"0\" is not",
            ],
        ),
        case(
            "json: shellProfile for macos",
            &[(
                "p.json",
                &prefs(&[
                    "\"shellProfile\": {\n      \"linux\": \"bash\",\n      \"macos\": \"zsh\"\n    }",
                ]),
            )],
            P,
            &[
                "p.json:8:",
                "shellProfile",
                "\"windows\" and \"linux\"",
                "not \"macos\"",
            ],
        ),
        case(
            "json: runAsEnabled without a user",
            &[(
                "p.json",
                &prefs(&["\"runAsEnabled\": true", "\"runAsDefaultUser\": \"\""]),
            )],
            P,
            &[
                "p.json:6:",
                "runAsEnabled is true",
                "runAsDefaultUser is empty",
            ],
        ),
        case(
            "json: misspelt input",
            &[(
                "p.json",
                &prefs(&["\"s3BucketName\": \"b\"", "\"s3BucketNmae\": \"b\""]),
            )],
            P,
            &[
                "p.json:7:",
                "unknown input \"s3BucketNmae\"",
                "did you mean \"s3BucketName\"",
            ],
        ),
        case(
            "json: a top-level key as an input, on its own line",
            &[(
                "p.json",
                &prefs(&["\"s3BucketName\": \"b\"", "\"description\": \"d\""]),
            )],
            P,
            &["p.json:7:", "unknown input \"description\""],
        ),
        case(
            "json: unknown top-level key",
            &[(
                "p.json",
                &ok_prefs().replace("\"description\"", "\"descripton\""),
            )],
            P,
            &[
                "p.json:3:",
                "unknown top-level key \"descripton\"",
                "did you mean \"description\"",
            ],
        ),
        case(
            "json: an input set twice",
            &[(
                "p.json",
                &prefs(&["\"s3BucketName\": \"a\"", "\"s3BucketName\": \"b\""]),
            )],
            P,
            &[
                "p.json:7:",
                "inputs.s3BucketName is set twice",
                "lines 6 and 7",
                "only the last",
            ],
        ),
        case(
            "json: over 64 KB",
            &[("p.json", &big)],
            P,
            &["p.json:", "bytes", "64 KB"],
        ),
        case(
            "json: a placeholder an account cannot fill",
            &[
                ("p.json", &prefs(&["\"kmsKeyId\": \"{kms_key}\""])),
                (
                    "inv.yml",
                    "regions: [us-east-1]\naccounts:\n  - account_id: \"111111111111\"\n    name: has-key\n    vars: {kms_key: alias/k}\n  - account_id: \"222222222222\"\n    name: no-key\n",
                ),
            ],
            PI,
            &[
                "p.json:6:",
                "placeholder {kms_key}",
                "222222222222 (no-key)",
                "`kms_key`",
                "vars",
            ],
        ),
        case(
            "json: top level not an object",
            &[("p.json", "[]")],
            P,
            &["p.json:1:", "must be a JSON object"],
        ),
        // ---- YAML inventory ----
        case(
            "yaml: an 11-digit unquoted account_id",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccounts:\n  - account_id: 12345678901\n",
            )],
            PI,
            &[
                "inv.yml:3:",
                "11 digits",
                "leading zero",
                "012345678901: quote it in YAML",
            ],
        ),
        case(
            "yaml: an account_id with dashes",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccounts:\n  - account_id: 1234-5678-9012\n",
            )],
            PI,
            &["inv.yml:3:", "\"1234-5678-9012\"", "other than digits"],
        ),
        case(
            "yaml: a duplicate account names both lines",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccounts:\n  - account_id: \"111111111111\"\n    name: a\n  - account_id: \"222222222222\"\n  - account_id: \"111111111111\"\n    name: c\n",
            )],
            PI,
            &[
                "inv.yml:6:",
                "account 111111111111 is listed twice",
                "first at line 3",
            ],
        ),
        case(
            "yaml: unknown region",
            &[(
                "inv.yml",
                "accounts:\n  - account_id: \"111111111111\"\n    regions:\n      - us-east-1\n      - us-est-2\n",
            )],
            PI,
            &[
                "inv.yml:5:",
                "unknown region \"us-est-2\"",
                "did you mean \"us-east-2\"",
            ],
        ),
        case(
            "yaml: unknown top-level key, on the key's line",
            &[(
                "inv.yml",
                "regoins:\n  - us-east-1\naccounts:\n  - account_id: \"111111111111\"\n",
            )],
            PI,
            &[
                "inv.yml:1:",
                "unknown top-level key `regoins`",
                "did you mean \"regions\"",
            ],
        ),
        case(
            "yaml: `account:` instead of `accounts:`",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccount:\n  - account_id: \"111111111111\"\n",
            )],
            PI,
            &[
                "inv.yml:2:",
                "`account`",
                "did you mean \"accounts\"",
                "no `accounts:` list",
            ],
        ),
        case(
            "yaml: an account without account_id",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccounts:\n  - account_id: \"111111111111\"\n  - name: forgotten\n    tags: [\"env:dev\"]\n",
            )],
            PI,
            &["inv.yml:4:", "no `account_id`"],
        ),
        case(
            "yaml: no regions anywhere and no -r",
            &[(
                "inv.yml",
                "accounts:\n  - account_id: \"111111111111\"\n    name: lonely\n",
            )],
            PI,
            &[
                "inv.yml:2:",
                "account 111111111111 has no regions",
                "`regions:`",
                "-r",
            ],
        ),
        case(
            "yaml: syntax error",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccounts:\n  - account_id: \"111111111111\"\n   name: misindented\n",
            )],
            PI,
            &["inv.yml:4:", "invalid YAML"],
        ),
        case(
            "yaml: accounts is not a list",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccounts:\n  account_id: \"111111111111\"\n",
            )],
            PI,
            &["inv.yml:2:", "`accounts` must be a list", "not a mapping"],
        ),
        case(
            "yaml: a role that is not an ARN",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccounts:\n  - account_id: \"111111111111\"\n    role: arn:aws:iam::1111:role/Rollout\n",
            )],
            PI,
            &[
                "inv.yml:4:",
                "\"arn:aws:iam::1111:role/Rollout\"",
                "not an IAM role ARN",
            ],
        ),
        case(
            "yaml: a bad role in a chain, on its own line",
            &[(
                "inv.yml",
                "regions: [us-east-1]\naccounts:\n  - account_id: \"111111111111\"\n    role:\n      - arn:aws:iam::999999999999:role/Hub\n      - arn:aws:iam:111111111111:role/Target\n",
            )],
            PI,
            &["inv.yml:6:", "not an IAM role ARN"],
        ),
        case(
            "yaml: an empty accounts list",
            &[("inv.yml", "regions: [us-east-1]\naccounts: []\n")],
            PI,
            &["inv.yml:2:", "`accounts:` is empty"],
        ),
        case(
            "yaml: c7n-org's Azure form",
            &[(
                "inv.yml",
                "subscriptions:\n  - subscription_id: 00000000-0000-0000-0000-000000000000\n    name: azure-prod\n",
            )],
            PI,
            &["inv.yml:1:", "`subscriptions`", "Azure", "`accounts:`"],
        ),
        // ---- CSV inventory ----
        case(
            "csv: BOM and CRLF, a bad id on line 3",
            &[(
                "inv.csv",
                &format!(
                    "{BOM}account_id,name,regions,tags\r\n111111111111,a,us-east-1;eu-west-1,env:prod\r\n12345,b,us-east-1,env:dev\r\n333333333333,c,us-east-1,env:dev\r\n"
                ),
            )],
            PC,
            &[
                "inv.csv:3:",
                "\"12345\" has 5 digits, not 12",
                "leading zero",
            ],
        ),
        case(
            "csv: unknown column",
            &[(
                "inv.csv",
                "account_id,name,regoins\n111111111111,a,us-east-1\n",
            )],
            PC,
            &[
                "inv.csv:1:",
                "unknown column `regoins`",
                "did you mean \"regions\"",
            ],
        ),
        case(
            "csv: no account_id column",
            &[("inv.csv", "id,name,regions\n111111111111,a,us-east-1\n")],
            PC,
            &["inv.csv:1:", "no `account_id` column"],
        ),
        case(
            "csv: a row with the wrong number of cells",
            &[(
                "inv.csv",
                "account_id,name,regions,tags\n111111111111,a,us-east-1,env:prod\n222222222222,b,us-east-1\n",
            )],
            PC,
            &["inv.csv:3:", "row has 3 cells", "header has 4"],
        ),
        case(
            "csv: a duplicate account",
            &[(
                "inv.csv",
                "account_id,name,regions\r\n111111111111,a,us-east-1\r\n222222222222,b,us-east-1\r\n111111111111,c,us-east-1\r\n",
            )],
            PC,
            &[
                "inv.csv:4:",
                "account 111111111111 is listed twice",
                "first at line 2",
            ],
        ),
        case(
            "csv: an unknown region",
            &[(
                "inv.csv",
                "account_id,name,regions\n111111111111,a,us-east-1;eu-wset-1\n",
            )],
            PC,
            &[
                "inv.csv:2:",
                "unknown region \"eu-wset-1\"",
                "did you mean \"eu-west-1\"",
            ],
        ),
        case(
            "csv: an unclosed quote",
            &[(
                "inv.csv",
                "account_id,name,regions\n111111111111,\"a,us-east-1\n222222222222,b,us-east-1\n",
            )],
            PC,
            &["inv.csv:2:", "quote", "never closed"],
        ),
        case(
            "csv: a header and no rows",
            &[("inv.csv", "account_id,name,regions\n")],
            PC,
            &["inv.csv:1:", "no account rows"],
        ),
        case(
            "inventory: unknown extension",
            &[("inv.json", "{}")],
            &["validate", "-p", "p.json", "-i", "inv.json"],
            &["inv.json", "unknown inventory format", ".yml", ".csv"],
        ),
        // ---- selection flags ----
        case(
            "select: -a names no account",
            &[],
            &with(PI, &["-a", "payments-prd"]),
            &[
                "-a:",
                "no account \"payments-prd\"",
                "did you mean \"payments-prod\"",
            ],
        ),
        case(
            "select: -r us-east-9",
            &[],
            &with(PI, &["-r", "us-east-9"]),
            &["-r:", "unknown region \"us-east-9\"", "did you mean"],
        ),
        case(
            "select: a tag no account carries",
            &[],
            &with(PI, &["-t", "env:nope"]),
            &["-t:", "selection is empty", "\"env:nope\""],
        ),
        case(
            "select: tags that no account carries together",
            &[],
            &with(PI, &["-t", "env:dev", "-t", "team:data"]),
            &["inv.yml:", "selection is empty", "-t env:dev -t team:data"],
        ),
        case(
            "select: a tag without a colon",
            &[],
            &with(PI, &["-t", "prod"]),
            &["-t:", "\"prod\"", "KEY:VALUE"],
        ),
        case(
            "select: --not-accounts leaves nothing",
            &[],
            &with(
                PI,
                &[
                    "--not-accounts",
                    "payments-prod,222222222222",
                    "--not-accounts",
                    "data-prod",
                ],
            ),
            &[
                "inv.yml:",
                "selection is empty",
                "--not-accounts",
                "none of the 3 accounts",
            ],
        ),
        case(
            "select: -r all mixed with named regions",
            &[],
            &with(PI, &["-r", "all,us-east-1"]),
            &["-r:", "`all` stands alone"],
        ),
    ]
}

#[test]
fn malformed_inputs_exit_2_and_say_what_and_where() {
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = vec![];
    for c in &cases {
        let run = run_case(c);
        let missing: Vec<&str> = c
            .expect
            .iter()
            .copied()
            .filter(|w| !run.stderr.contains(w))
            .collect();
        if run.code != 2 || !missing.is_empty() || !run.stderr.starts_with("error: ") {
            failures.push(format!(
                "{}: exit {} (want 2), missing {missing:?}\n  stdout: {}\n  stderr: {}",
                c.name,
                run.code,
                run.stdout.trim(),
                run.stderr.trim().replace('\n', "\n          ")
            ));
        }
        // Nothing reads as a success.
        assert!(
            !run.stdout.contains("targets"),
            "{}: {}",
            c.name,
            run.stdout
        );
    }
    // Latin-1 bytes cannot go through the table's text.
    let dir = Dir::new();
    std::fs::write(dir.path("p.json"), b"{\"description\": \"caf\xe9\"}").unwrap();
    let run = ssm_prefs(["validate", "-p", dir.path("p.json").to_str().unwrap()]);
    if run.code != 2 || !(run.stderr.contains("p.json") && run.stderr.contains("not UTF-8")) {
        failures.push(format!(
            "json: not UTF-8: exit {}: {}",
            run.code, run.stderr
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len() + 1,
        failures.join("\n")
    );
}

/// The problem lines of a multi-problem message (`FILE has N problems:` then one per line).
fn problem_lines<'a>(stderr: &'a str, file: &str) -> Vec<&'a str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains(file))
        .collect()
}

#[test]
fn a_file_with_several_problems_reports_all_of_them_in_line_order() {
    let dir = Dir::new();
    let p = dir.write("p.json", &ok_prefs());
    let inv = dir.write(
        "inv.yml",
        "regions: [us-east-1]\n\
         accounts:\n\
         \x20 - account_id: 12345678901\n\
         \x20 - account_id: \"111111111111\"\n\
         \x20   regions: [us-east-1, mars-north-1]\n\
         \x20 - account_id: \"111111111111\"\n\
         \x20 - name: no-id\n\
         extra: 1\n",
    );
    let run = validate(&p, &inv, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("has 5 problems:"), "{}", run.stderr);
    let lines = problem_lines(&run.stderr, "inv.yml:");
    assert!(lines.len() >= 3, "{}", run.stderr);
    let want = [
        ("inv.yml:3:", "11 digits"),
        ("inv.yml:5:", "mars-north-1"),
        ("inv.yml:6:", "listed twice"),
        ("inv.yml:7:", "no `account_id`"),
        ("inv.yml:8:", "`extra`"),
    ];
    assert_eq!(lines.len(), want.len(), "{}", run.stderr);
    for (line, (at, what)) in lines.iter().zip(want) {
        assert!(
            line.contains(at) && line.contains(what),
            "want {at} {what} in {line:?}\n{}",
            run.stderr
        );
    }

    // A preferences file with several problems, and a bad inventory, in one run.
    let bad_prefs = dir.write(
        "bad.json",
        &prefs(&[
            "\"s3BucketName\": 1",
            "\"idleSessionTimeout\": \"0\"",
            "\"cloudWatchEncryptionEnabled\": \"yes\"",
            "\"foo\": 1",
        ])
        .replace("\"1.0\"", "\"2.2\""),
    );
    let bad_inv = dir.write("bad.csv", "account_id,name,regions\n1,a,us-east-1\n");
    let run = validate(&bad_prefs, &bad_inv, &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    let json = problem_lines(&run.stderr, "bad.json:");
    assert_eq!(json.len(), 5, "{}", run.stderr);
    for (line, at) in json.iter().zip([
        "bad.json:2:",
        "bad.json:6:",
        "bad.json:7:",
        "bad.json:8:",
        "bad.json:9:",
    ]) {
        assert!(line.contains(at), "want {at} in {line:?}\n{}", run.stderr);
    }
    assert_eq!(
        problem_lines(&run.stderr, "bad.csv:2:").len(),
        1,
        "{}",
        run.stderr
    );
}

/// Two of the AWS page's example values break AWS's own naming rules (an upper-case bucket
/// name, a key id of no accepted form): sessions could never use them, so they are errors.
#[test]
fn the_aws_page_example_fails_on_the_names_aws_would_refuse() {
    let dir = Dir::new();
    let p = dir.write("page.json", AWS_PAGE_EXAMPLE);
    let run = ssm_prefs(["validate", "-p", p.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.all());
    for (value, rule) in [
        ("DOC-EXAMPLE-BUCKET", "S3 bucket names have only lowercase"),
        ("MyKMSKeyID", "none of the forms KMS accepts"),
    ] {
        assert!(
            run.stderr.lines().any(|l| l.contains("page.json:1:")
                && l.contains(value)
                && l.contains(rule)
                && l.contains("example value")),
            "no problem about {value}:\n{}",
            run.stderr
        );
    }
}

/// With the two names fixed, every other example value is still flagged, as a warning.
#[test]
fn every_other_example_value_is_flagged() {
    let dir = Dir::new();
    let fixed = AWS_PAGE_EXAMPLE
        .replace("DOC-EXAMPLE-BUCKET", "org-session-logs")
        .replace("MyKMSKeyID", "alias/session-manager");
    let p = dir.write("page.json", &fixed);
    let run = ssm_prefs(["validate", "-p", p.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("valid (3 warnings)"), "{}", run.stdout);
    for value in ["MyBucketPrefix", "MyLogGroupName", "MyDefaultRunAsUser"] {
        let warned = run.stderr.lines().any(|l| {
            l.starts_with("warning: ")
                && l.contains("page.json:1:")
                && l.contains(value)
                && l.contains("example value")
        });
        assert!(warned, "no warning about {value}:\n{}", run.stderr);
    }
}

#[test]
fn a_c7n_org_accounts_file_loads_unchanged() {
    let dir = Dir::new();
    let p = dir.write(
        "p.json",
        &prefs(&[
            "\"s3BucketName\": \"{log_bucket}\"",
            "\"kmsKeyId\": \"{kms_key}\"",
        ]),
    );
    // Written as c7n-org's own docs and orgaccounts.py write it: every account has a role
    // (one a list: role chaining) or a profile, and its regions.
    let inv = dir.write(
        "accounts.yml",
        r#"vars:
  log_bucket: org-session-logs
  kms_key: alias/session-logs
accounts:
  - account_id: 012345678901
    name: payments-prod
    display_name: Payments Production
    email: payments-prod@example.com
    org_id: o-a1b2c3d4e5
    regions:
      - us-east-1
      - eu-west-1
      - ap-southeast-2
    role:
      - arn:aws:iam::999999999999:role/LandingZoneHub
      - arn:aws:iam::012345678901:role/SecurityRollout
    tags:
      - env:prod
      - team:payments
    vars:
      kms_key: alias/payments
  - account_id: '210987654321'
    name: sandbox
    email: sandbox@example.com
    profile: sandbox-admin
    regions:
      - us-east-1
    tags:
      - env:dev
    cost_center: "4711"
  - account_id: "123123123123"
    name: account-1
    regions:
      - us-east-1
      - us-west-2
    role: arn:aws:iam::123123123123:role/CloudCustodian
    tags:
      - type:prod
      - division:some division
"#,
    );
    let run = validate(&p, &inv, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("accounts.yml: 3 accounts × 4 regions = 6 targets"),
        "{}",
        run.stdout
    );
    // The extra key is a warning on its own line, not an error.
    assert!(
        run.stderr.lines().any(|l| l.starts_with("warning: ")
            && l.contains("accounts.yml:30:")
            && l.contains("`cost_center`")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("error"), "{}", run.stderr);

    // The unquoted leading-zero id is selectable as written, and by name.
    for sel in ["012345678901", "payments-prod"] {
        let run = validate(&p, &inv, &["-a", sel]);
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(
            run.stdout.contains("1 account × 3 regions = 3 targets"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_csv_with_bom_and_crlf_loads() {
    let dir = Dir::new();
    let p = dir.write("p.json", &ok_prefs());
    let csv = dir.write(
        "inv.csv",
        &format!(
            "{BOM}tags,account_id,regions,name,role,external_id\r\n\
             env:prod;team:payments,012345678901,us-east-1;eu-west-1,payments-prod,,\r\n\
             env:dev,\"123456789012\",us-east-1,payments-dev,arn:aws:iam::123456789012:role/Rollout,ext-1\r\n\
             ,,,,,\r\n"
        ),
    );
    let run = validate(&p, &csv, &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("inv.csv: 2 accounts × 2 regions = 3 targets"),
        "{}",
        run.stdout
    );
    assert!(
        !run.all().contains("ext-1"),
        "the external id must never be printed:\n{}",
        run.all()
    );
}

#[test]
fn selection_flags_change_the_counts() {
    let dir = Dir::new();
    let p = dir.write("p.json", &ok_prefs());
    let inv = dir.write("inv.yml", GOOD_YML);
    let (p, inv) = (p.to_str().unwrap(), inv.to_str().unwrap());
    let table: &[(&[&str], &str)] = &[
        (&[], "3 accounts × 2 regions = 5 targets"),
        (
            &["-a", "payments-prod,333333333333"],
            "2 accounts × 2 regions = 3 targets",
        ),
        (
            &["-a", "payments-prod", "-a", "payments-dev"],
            "2 accounts × 2 regions = 4 targets",
        ),
        (
            &["--not-accounts", "payments-dev"],
            "2 accounts × 2 regions = 3 targets",
        ),
        (&["-t", "env:prod"], "2 accounts × 2 regions = 3 targets"),
        (
            &["-t", "team:payments", "-t", "env:dev"],
            "1 account × 2 regions = 2 targets",
        ),
        (
            &["-r", "ap-southeast-2"],
            "3 accounts × 1 region = 3 targets",
        ),
        (
            &["-r", "us-east-1,us-west-2,us-east-1"],
            "3 accounts × 2 regions = 6 targets",
        ),
        (
            &[
                "-t",
                "env:prod",
                "--not-accounts",
                "data-prod",
                "-r",
                "eu-west-1",
            ],
            "1 account × 1 region = 1 target",
        ),
    ];
    for (flags, want) in table {
        let mut args = vec!["validate", "-p", p, "-i", inv];
        args.extend_from_slice(flags);
        let run = ssm_prefs(&args);
        assert_eq!(run.code, 0, "{flags:?}: {}", run.all());
        assert!(
            run.stdout.contains(want),
            "{flags:?}: want {want:?} in\n{}",
            run.stdout
        );
    }
}

fn repo_file(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    assert!(p.is_file(), "{} is missing", p.display());
    p.display().to_string()
}

/// `N accounts × M regions = K targets` from validate's output.
fn counts(run: &Run) -> String {
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains(" target") && l.contains('×'));
    let line = line.unwrap_or_else(|| panic!("no counts in:\n{}", run.all()));
    line.split_once(": ")
        .map(|(_, c)| c.to_string())
        .unwrap_or_default()
}

#[test]
fn the_shipped_inventories_and_preferences_validate() {
    let dir = Dir::new();
    // Only built-in placeholders here; the example preferences come below.
    let p = dir.write("p.json", &ok_prefs());
    let p = p.to_str().unwrap();
    let yml = ssm_prefs([
        "validate",
        "-p",
        p,
        "-i",
        &repo_file("inventories/example.yml"),
    ]);
    let csv = ssm_prefs([
        "validate",
        "-p",
        p,
        "-i",
        &repo_file("inventories/example.csv"),
    ]);
    assert_eq!(yml.code, 0, "{}", yml.all());
    assert_eq!(csv.code, 0, "{}", csv.all());
    assert!(
        !yml.stderr.contains("warning") && !csv.stderr.contains("warning"),
        "{}{}",
        yml.stderr,
        csv.stderr
    );
    assert_eq!(
        counts(&yml),
        "5 accounts × 3 regions = 10 targets",
        "{}",
        yml.stdout
    );
    assert_eq!(
        counts(&yml),
        counts(&csv),
        "example.yml and example.csv must list the same targets"
    );
    // And the same per-region totals.
    let regions = |r: &Run| {
        r.stdout
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    assert_eq!(regions(&yml), regions(&csv));
    // The same selection works on both.
    for flags in [["-t", "env:prod"], ["-a", "012345678901"]] {
        let a = ssm_prefs(
            [
                &[
                    "validate",
                    "-p",
                    p,
                    "-i",
                    &repo_file("inventories/example.yml"),
                ][..],
                &flags,
            ]
            .concat(),
        );
        let b = ssm_prefs(
            [
                &[
                    "validate",
                    "-p",
                    p,
                    "-i",
                    &repo_file("inventories/example.csv"),
                ][..],
                &flags,
            ]
            .concat(),
        );
        assert_eq!((a.code, b.code), (0, 0), "{}{}", a.all(), b.all());
        assert_eq!(counts(&a), counts(&b), "{flags:?}");
    }

    // The example preferences against the example YAML (its vars fill {log_bucket}) and the demo.
    let prefs = repo_file("examples/preferences.json");
    let run = ssm_prefs([
        "validate",
        "-p",
        &prefs,
        "-i",
        &repo_file("inventories/example.yml"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    // The CSV's `vars` column (key=value;key=value) fills them too.
    let run = ssm_prefs([
        "validate",
        "-p",
        &prefs,
        "-i",
        &repo_file("inventories/example.csv"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    let bad = dir.write(
        "bad-vars.csv",
        "account_id,regions,vars\n012345678901,us-east-1,log_bucket\n",
    );
    let run = ssm_prefs(["validate", "-p", &prefs, "-i", bad.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("bad-vars.csv:2") && run.stderr.contains("not key=value"),
        "{}",
        run.stderr
    );
    let run = ssm_prefs([
        "validate",
        "-p",
        &prefs,
        "-i",
        &repo_file("inventories/demo.yml"),
    ]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("examples/preferences.json: valid (0 warnings)"),
        "{}",
        run.stdout
    );
    assert_eq!(
        counts(&run),
        "33 accounts × 3 regions = 93 targets",
        "{}",
        run.stdout
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let run = ssm_prefs([
        "validate",
        "-p",
        &prefs,
        "-i",
        &repo_file("inventories/demo.yml"),
        "-t",
        "env:prod",
    ]);
    assert_eq!(
        counts(&run),
        "10 accounts × 3 regions = 30 targets",
        "{}",
        run.all()
    );

    // Alone, the preferences are valid, with a note that {log_bucket} must come from -i.
    let run = ssm_prefs(["validate", "-p", &prefs]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("{log_bucket}") && run.stderr.contains("-i"),
        "{}",
        run.stderr
    );
}

//! An inventory file loaded: YAML (c7n-org's `accounts.yml`, a superset) or CSV by its
//! extension, every problem in the file collected, duplicates found.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::accounts_csv::*;
use super::accounts_yml::*;
use super::parsed::Parsed;
use crate::error::{InputError, Problem};
use crate::target::{Account, AccountId};

#[derive(Debug)]
pub(crate) struct Inventory {
    pub path: PathBuf,
    pub accounts: Vec<Arc<Account>>,
    pub warnings: Vec<Problem>,
}
/// Loads an inventory, YAML or CSV by extension, collecting every problem in the file.
pub(crate) fn load(path: &Path) -> Result<Inventory, InputError> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::read(path, source))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut p = Parsed {
        path: path.to_path_buf(),
        accounts: vec![],
        problems: vec![],
        warnings: vec![],
    };
    match ext.as_str() {
        "yml" | "yaml" => parse_yaml(&text, &mut p),
        "csv" => parse_csv(&text, &mut p),
        other => {
            return Err(InputError::one(
                path,
                None,
                format!("unknown inventory format {other:?}: use a .yml, .yaml or .csv file"),
            ));
        }
    }
    // Duplicates among the accounts that did parse are worth knowing even when others did not.
    check_duplicates(&mut p);
    if p.problems.is_empty() && p.accounts.is_empty() {
        p.problems
            .push(Problem::at(path, None, "the inventory lists no accounts"));
    }
    if !p.problems.is_empty() {
        // In file order, as someone fixing them reads the file.
        p.problems.sort_by_key(|problem| problem.line.unwrap_or(0));
        return Err(InputError::Problems(p.problems));
    }
    Ok(Inventory {
        path: p.path,
        accounts: p.accounts.into_iter().map(Arc::new).collect(),
        warnings: p.warnings,
    })
}

pub(super) fn check_duplicates(p: &mut Parsed) {
    let mut seen: HashMap<&AccountId, usize> = HashMap::new();
    let mut dups = vec![];
    for a in &p.accounts {
        if let Some(&first) = seen.get(&a.id) {
            dups.push((
                a.line,
                format!("account {} is listed twice (first at line {first})", a.id),
            ));
        } else {
            seen.insert(&a.id, a.line);
        }
    }
    for (line, msg) in dups {
        p.problem(line, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> Parsed {
        let mut p = Parsed {
            path: PathBuf::from(name),
            accounts: vec![],
            problems: vec![],
            warnings: vec![],
        };
        if name.ends_with(".csv") {
            parse_csv(text, &mut p);
        } else {
            parse_yaml(text, &mut p);
        }
        check_duplicates(&mut p);
        p.problems.sort_by_key(|problem| problem.line.unwrap_or(0));
        p
    }

    fn lines(problems: &[Problem]) -> Vec<usize> {
        problems.iter().map(|p| p.line.unwrap_or(0)).collect()
    }

    #[test]
    fn csv_with_bom_and_crlf_keeps_the_file_s_line_numbers() {
        let p = parse(
            "i.csv",
            "\u{feff}account_id,name\r\n111111111111,a\r\n12345,b\r\n111111111111,c\r\n",
        );
        assert_eq!(lines(&p.problems), [3, 4], "{:?}", p.problems);
        assert!(p.problems[1].message.contains("first at line 2"));
    }

    #[test]
    fn yaml_problems_are_on_the_key_or_item_they_are_about() {
        let text = "accounts:\n  - account_id: '111111111111'\n    role:\n      - Hub\n      - arn:aws:iam::1:role/X\n    regoins:\n      - us-east-1\nsubscription:\n  - x\n";
        let p = parse("i.yml", text);
        assert_eq!(lines(&p.problems), [5, 8], "{:?}", p.problems);
        assert_eq!(lines(&p.warnings), [6], "{:?}", p.warnings);
    }

    #[test]
    fn duplicates_are_reported_beside_other_problems() {
        let text = "accounts:\n  - account_id: '111111111111'\n  - account_id: '1'\n  - account_id: '111111111111'\n";
        let p = parse("i.yml", text);
        assert_eq!(lines(&p.problems), [3, 4], "{:?}", p.problems);
    }
}

#[cfg(test)]
mod proptests {
    //! Properties: no text makes the YAML or CSV reader panic; every problem in a loaded
    //! inventory names the file on a line it has; and a valid inventory reads the same whether
    //! written as YAML (ids unquoted, leading zeros and all) or as CSV (BOM, CRLF or not).

    use proptest::prelude::*;
    use proptest::sample::{Index, select, subsequence};

    use super::*;
    use crate::proptests::{YAML_SYNTAX, any_text, config, lines_in, problems_name_the_file, soup};
    use crate::target::Region;

    fn parsed(name: &str) -> Parsed {
        Parsed {
            path: PathBuf::from(name),
            accounts: vec![],
            problems: vec![],
            warnings: vec![],
        }
    }

    fn parse_both(text: &str) {
        parse_yaml(text, &mut parsed("i.yml"));
        let mut p = parsed("i.csv");
        parse_csv(text, &mut p);
        check_duplicates(&mut p);
    }

    /// Loads `text` from a file called `name`; any error names that file, and every problem's
    /// line is one the file has.
    fn load_named(name: &str, text: &str) -> Result<(), TestCaseError> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("written");
        let Err(e) = load(&path) else {
            return Ok(());
        };
        let shown = e.to_string();
        prop_assert!(shown.contains(name), "{}", shown);
        let InputError::Problems(problems) = e else {
            return Err(TestCaseError::fail(format!("not a problem list: {shown}")));
        };
        problems_name_the_file(&problems, &path, lines_in(text))
    }

    // ---- generators -------------------------------------------------------------------------

    /// Scalars as written in a file: good and bad ids, regions, roles, quoting, YAML oddities.
    fn raw_scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => select(vec![
                "012345678901", "'012345678901'", "\"111111111111\"", "12345678901", "1234567890123",
                "1234-5678-9012", "1.2e11", "0x1F", "us-east-1", "US-EAST-1", "us-east-3", "eu-west-1",
                "[us-east-1, eu-west-1]", "[]", "{}", "OrganizationAccountAccessRole",
                "arn:aws:iam::012345678901:role/X", "arn:aws:iam::1:role/X", "arn:aws:s3:::b",
                "role with space", "'env:prod'", "\"team:x\"", "~", "null", "''", "\"\"", "true",
                "&a us-east-1", "*a", "*missing", "!!str 1", "|", ">", "'unclosed", "\"unclosed",
                "a: b", "- x", "# comment", "é", "\t", "? x",
            ])
            .prop_map(String::from),
            1 => "[0-9]{10,13}",
            1 => "[^\n]{0,12}",
        ]
    }

    const YAML_KEYS: &[&str] = &[
        "accounts",
        "vars",
        "role",
        "regions",
        "subscriptions",
        "account_id",
        "name",
        "external_id",
        "tags",
        "profile",
        "email",
        "display_name",
        "org_id",
        "org-id",
        "regoins",
        "acount_id",
        "log_bucket",
        "x",
    ];

    /// A YAML tree; scalars are written exactly as given.
    #[derive(Debug, Clone)]
    enum Y {
        S(String),
        L(Vec<Y>),
        M(Vec<(String, Y)>),
    }

    fn yaml_tree() -> impl Strategy<Value = Y> {
        let leaf = raw_scalar().prop_map(Y::S);
        leaf.prop_recursive(4, 40, 5, |inner| {
            let key = prop_oneof![
                4 => select(YAML_KEYS.to_vec()).prop_map(String::from),
                1 => raw_scalar(),
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Y::L),
                prop::collection::vec((key, inner), 0..6).prop_map(Y::M),
            ]
        })
    }

    /// A value that suits `key` most of the time, and anything some of the time.
    fn value_for(key: &'static str) -> BoxedStrategy<Y> {
        let ids = select(vec![
            "012345678901",
            "'012345678901'",
            "\"111111111111\"",
            "222222222222",
            "12345678901",
            "1234-5678-9012",
        ]);
        let region = select(vec![
            "us-east-1",
            "eu-west-1",
            "cn-north-1",
            "us-east-3",
            "'ap-south-1'",
        ]);
        let role = select(vec![
            "OrganizationAccountAccessRole",
            "arn:aws:iam::012345678901:role/X",
            "bad role",
            "arn:aws:iam::1:role/X",
        ]);
        let s = |v: &'static str| Y::S(v.to_string());
        let list =
            |items: Vec<&'static str>| Y::L(items.into_iter().map(|v| Y::S(v.into())).collect());
        let fitting = match key {
            "account_id" => ids.prop_map(s).boxed(),
            "regions" => prop_oneof![
                4 => prop::collection::vec(region.clone(), 0..4).prop_map(list),
                1 => region.prop_map(s),
            ]
            .boxed(),
            "role" => prop_oneof![
                role.clone().prop_map(s),
                prop::collection::vec(role, 0..3).prop_map(list),
            ]
            .boxed(),
            "tags" => prop::collection::vec(select(vec!["'env:prod'", "\"team:x\"", "bare"]), 0..3)
                .prop_map(list)
                .boxed(),
            "vars" => prop::collection::vec(
                (
                    select(vec!["log_bucket", "kms_key", "x"]).prop_map(String::from),
                    raw_scalar().prop_map(Y::S),
                ),
                0..3,
            )
            .prop_map(Y::M)
            .boxed(),
            _ => "[a-z][a-z0-9-]{0,10}".prop_map(Y::S).boxed(),
        };
        prop_oneof![4 => fitting, 1 => yaml_tree()].boxed()
    }

    /// An inventory-shaped tree: a top-level mapping with an `accounts:` list of mappings,
    /// with wrong types, unknown keys and bad values mixed in.
    fn near_valid_yaml() -> impl Strategy<Value = Y> {
        let entry = |keys: Vec<&'static str>| {
            select(keys).prop_flat_map(|k| value_for(k).prop_map(move |v| (k.to_string(), v)))
        };
        let account = (
            prop::option::weighted(0.9, value_for("account_id")),
            prop::collection::vec(
                // Every key an account may have (a second account_id among them), and typos.
                entry(
                    ACCOUNT_KEYS
                        .iter()
                        .copied()
                        .chain(["regoins", "acount_id", "x"])
                        .collect(),
                ),
                0..5,
            ),
        )
            .prop_map(|(id, mut entries)| {
                if let Some(id) = id {
                    entries.insert(0, ("account_id".into(), id));
                }
                Y::M(entries)
            });
        let accounts = prop_oneof![
            8 => prop::collection::vec(prop_oneof![8 => account, 1 => yaml_tree()], 0..4)
                .prop_map(Y::L),
            1 => yaml_tree(),
        ];
        let top = entry(vec![
            "vars",
            "role",
            "regions",
            "subscriptions",
            "regoins",
            "x",
        ]);
        (
            prop::collection::vec(top, 0..3),
            prop::option::weighted(0.9, accounts),
        )
            .prop_map(|(mut top, accounts)| {
                if let Some(a) = accounts {
                    top.insert(0, ("accounts".into(), a));
                }
                Y::M(top)
            })
    }

    /// Block-style YAML, two spaces an indent; a list of scalars in flow style when `flow`.
    fn emit(y: &Y, flow: bool) -> String {
        fn block(y: &Y, col: usize, dash: bool, flow: bool, out: &mut String) {
            let pad = " ".repeat(col);
            match y {
                Y::S(s) => {
                    out.push_str(&pad);
                    out.push_str(s);
                    out.push('\n');
                }
                Y::L(items) if items.is_empty() => out.push_str(&format!("{pad}[]\n")),
                Y::M(entries) if entries.is_empty() => out.push_str(&format!("{pad}{{}}\n")),
                Y::L(items) => {
                    for item in items {
                        match item {
                            Y::S(s) => out.push_str(&format!("{pad}- {s}\n")),
                            Y::M(entries) if !entries.is_empty() => {
                                out.push_str(&format!("{pad}- "));
                                block(item, col + 2, true, flow, out);
                            }
                            _ => {
                                out.push_str(&format!("{pad}-\n"));
                                block(item, col + 2, false, flow, out);
                            }
                        }
                    }
                }
                Y::M(entries) => {
                    for (i, (k, v)) in entries.iter().enumerate() {
                        // The first key of a mapping inside a list follows its `- `.
                        if !(dash && i == 0) {
                            out.push_str(&pad);
                        }
                        out.push_str(k);
                        out.push(':');
                        match v {
                            Y::S(s) => out.push_str(&format!(" {s}\n")),
                            Y::L(items) if flow && items.iter().all(|i| matches!(i, Y::S(_))) => {
                                let items: Vec<&str> = items
                                    .iter()
                                    .map(|i| match i {
                                        Y::S(s) => s.as_str(),
                                        _ => unreachable!(),
                                    })
                                    .collect();
                                out.push_str(&format!(" [{}]\n", items.join(", ")));
                            }
                            Y::L(items) if items.is_empty() => out.push_str(" []\n"),
                            Y::M(entries) if entries.is_empty() => out.push_str(" {}\n"),
                            _ => {
                                out.push('\n');
                                block(v, col + 2, false, flow, out);
                            }
                        }
                    }
                }
            }
        }
        let mut out = String::new();
        block(y, 0, false, flow, &mut out);
        out
    }

    fn yaml_soup() -> impl Strategy<Value = String> {
        let words = [
            "accounts:",
            "account_id:",
            "regions:",
            "role:",
            "vars:",
            "tags:",
            "012345678901",
            "us-east-1",
            "null",
        ];
        soup([&words, YAML_SYNTAX].concat(), 48)
    }

    const CSV_CELLS: &[&str] = &[
        "012345678901",
        "111111111111",
        "12345",
        "1234-5678-9012",
        "us-east-1",
        "us-east-1;eu-west-1",
        "us-east-1; us-east-1",
        "us-east-3",
        "OrganizationAccountAccessRole",
        "arn:aws:iam::012345678901:role/X",
        "Hub;arn:aws:iam::1:role/X",
        "env:prod;team:x",
        "",
        " ",
        "\"quoted\"",
        "\"a,b\"",
        "\"unclosed",
        "\"line\nbreak\"",
        "é",
        "\u{feff}x",
    ];
    /// Headers a CSV inventory may not have, beside its columns.
    const ODD_HEADERS: &[&str] = &[" name ", "acount_id", "Region", "", "\"account_id\""];

    /// A CSV inventory: mostly known columns with `account_id` among them and cells that fit
    /// their column, with bad headers, cells and row lengths mixed in.
    fn near_valid_csv() -> impl Strategy<Value = String> {
        let header = (
            subsequence(CSV_COLUMNS.to_vec(), 0..=CSV_COLUMNS.len()).prop_shuffle(),
            prop::option::weighted(0.85, any::<Index>()),
            prop::option::weighted(0.2, select([CSV_COLUMNS, ODD_HEADERS].concat())),
        )
            .prop_map(|(mut cols, id_at, odd)| {
                if let Some(at) = id_at.filter(|_| !cols.contains(&"account_id")) {
                    cols.insert(at.index(cols.len() + 1), "account_id");
                }
                cols.extend(odd);
                cols
            });
        let fitting = |col: &str| -> Vec<&'static str> {
            match col.trim() {
                "account_id" => vec!["012345678901", "111111111111", "222222222222", "12345", ""],
                "regions" => vec![
                    "us-east-1",
                    "us-east-1;eu-west-1",
                    "us-east-1; us-east-1",
                    "us-east-3",
                    "",
                ],
                "role" => vec![
                    "OrganizationAccountAccessRole",
                    "Hub;arn:aws:iam::012345678901:role/X",
                    "bad role",
                ],
                "tags" => vec!["env:prod;team:x", "env:prod", ""],
                _ => vec!["a name", "", "x"],
            }
        };
        let cell = move |col: &'static str| {
            prop_oneof![
                6 => select(fitting(col)).prop_map(String::from),
                1 => select(CSV_CELLS.to_vec()).prop_map(String::from),
                1 => "[^\n]{0,6}",
            ]
        };
        let text = header.prop_flat_map(move |cols| {
            let row = cols.iter().map(|c| cell(c)).collect::<Vec<_>>();
            let row = (row, prop::option::weighted(0.1, any::<bool>()));
            (Just(cols), prop::collection::vec(row, 0..5))
        });
        (
            text,
            any::<bool>(),
            select(vec!["\n", "\r\n", "\r"]),
            any::<bool>(),
        )
            .prop_map(|((cols, rows), bom, eol, final_eol)| {
                let mut lines = vec![cols.join(",")];
                for (mut cells, wrong_length) in rows {
                    match wrong_length {
                        Some(true) => cells.push("extra".into()),
                        Some(false) => {
                            cells.pop();
                        }
                        None => {}
                    }
                    lines.push(cells.join(","));
                }
                let mut text = if bom {
                    "\u{feff}".to_string()
                } else {
                    String::new()
                };
                text.push_str(&lines.join(eol));
                if final_eol {
                    text.push_str(eol);
                }
                text
            })
    }

    /// An account a valid inventory can hold, as (id, name, regions, roles, tags).
    type Row = (String, String, Vec<&'static str>, Vec<String>, Vec<String>);

    fn valid_accounts() -> impl Strategy<Value = Vec<Row>> {
        let regions = subsequence(
            vec![
                "us-east-1",
                "eu-west-1",
                "ap-southeast-2",
                "cn-north-1",
                "us-gov-west-1",
            ],
            1..4,
        );
        let role = prop_oneof![
            "[A-Za-z][A-Za-z0-9_+=.@-]{0,20}",
            "[0-9]{12}".prop_map(|id| format!("arn:aws:iam::{id}:role/Rollout")),
        ];
        (
            prop::collection::btree_set("0[0-9]{11}|[1-9][0-9]{11}", 1..6),
            prop::collection::vec(
                (
                    "[a-z][a-z0-9-]{0,10}",
                    regions,
                    prop::collection::vec(role, 0..3),
                    prop::collection::vec("[a-z]{1,5}:[a-z0-9]{1,5}", 0..3),
                ),
                6,
            ),
        )
            .prop_map(|(ids, rest)| {
                ids.into_iter()
                    .zip(rest)
                    .map(|(id, (name, regions, roles, tags))| (id, name, regions, roles, tags))
                    .collect()
            })
    }

    /// The accounts as an inventory, ids unquoted: c7n-org keeps 012345678901 as written, so
    /// must we.
    fn yaml_inventory(accounts: &[Row]) -> Y {
        let list = |v: Vec<String>| Y::L(v.into_iter().map(Y::S).collect());
        let account = |(id, name, regions, roles, tags): &Row| {
            let mut entries = vec![
                ("account_id".to_string(), Y::S(id.clone())),
                ("name".to_string(), Y::S(name.clone())),
                (
                    "regions".to_string(),
                    list(regions.iter().map(|r| r.to_string()).collect()),
                ),
                (
                    "tags".to_string(),
                    list(tags.iter().map(|t| format!("'{t}'")).collect()),
                ),
            ];
            if !roles.is_empty() {
                entries.push(("role".to_string(), list(roles.clone())));
            }
            Y::M(entries)
        };
        Y::M(vec![(
            "accounts".into(),
            Y::L(accounts.iter().map(account).collect()),
        )])
    }

    fn summary(accounts: &[Account]) -> Vec<Row> {
        accounts
            .iter()
            .map(|a| {
                (
                    a.id.to_string(),
                    a.name.clone(),
                    a.regions.iter().flatten().map(Region::as_str).collect(),
                    a.roles.clone(),
                    a.tags.clone(),
                )
            })
            .collect()
    }

    // ---- properties -------------------------------------------------------------------------

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn readers_survive_any_text(text in any_text()) {
            parse_both(&text);
        }

        #[test]
        fn yaml_problems_name_the_file(
            text in prop_oneof![
                2 => (near_valid_yaml(), any::<bool>()).prop_map(|(y, flow)| emit(&y, flow)),
                1 => yaml_soup(),
                1 => any::<String>(),
            ]
        ) {
            load_named("inv.yml", &text)?;
        }

        #[test]
        fn csv_problems_name_the_file(
            text in prop_oneof![3 => near_valid_csv(), 1 => any::<String>()]
        ) {
            load_named("inv.csv", &text)?;
        }

        #[test]
        fn a_valid_inventory_reads_the_same_as_yaml_and_as_csv(
            accounts in valid_accounts(),
            flow in any::<bool>(),
            bom in any::<bool>(),
            crlf in any::<bool>(),
        ) {
            let yaml = emit(&yaml_inventory(&accounts), flow);
            let mut y = parsed("i.yml");
            parse_yaml(&yaml, &mut y);
            check_duplicates(&mut y);
            prop_assert!(y.problems.is_empty(), "{:?}\n{}", y.problems, yaml);
            prop_assert_eq!(&summary(&y.accounts), &accounts, "{}", yaml);

            let eol = if crlf { "\r\n" } else { "\n" };
            let mut csv = if bom { "\u{feff}".to_string() } else { String::new() };
            csv.push_str("tags,role,regions,name,account_id");
            for (id, name, regions, roles, tags) in &accounts {
                csv.push_str(eol);
                let (tags, roles, regions) = (tags.join(";"), roles.join(";"), regions.join(";"));
                csv.push_str(&format!("{tags},{roles},{regions},{name},{id}"));
            }
            csv.push_str(eol);
            let mut c = parsed("i.csv");
            parse_csv(&csv, &mut c);
            check_duplicates(&mut c);
            prop_assert!(c.problems.is_empty(), "{:?}\n{}", c.problems, csv);
            prop_assert_eq!(&summary(&c.accounts), &accounts, "{}", csv);
            // Each account's line is the one it starts on, in both forms.
            let starts: Vec<usize> = yaml
                .lines()
                .enumerate()
                .filter(|(_, l)| l.starts_with("  - account_id:"))
                .map(|(i, _)| i + 1)
                .collect();
            prop_assert_eq!(y.accounts.iter().map(|a| a.line).collect::<Vec<_>>(), starts);
            prop_assert_eq!(
                c.accounts.iter().map(|a| a.line).collect::<Vec<_>>(),
                (2..2 + accounts.len()).collect::<Vec<_>>()
            );
        }
    }
}

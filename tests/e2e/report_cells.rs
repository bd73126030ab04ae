//! Report cells a spreadsheet cannot run as formulas: account names and AWS's messages are
//! other people's text, so a text cell starting with `=`, `+`, `-`, `@`, a tab, a carriage
//! return or `'` is written with a leading `'`; the tool reads its own reports back with that
//! one `'` removed (`--retry-failed`, `rollback --from`, `report merge`).

use std::collections::BTreeMap;

use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::Faults;

const NAMES: [&str; 5] = [
    "=HYPERLINK(\"http://x.example\",\"a\")",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "'quoted",
];
const NUMERIC: [&str; 6] = [
    "previous_version",
    "document_version",
    "attempts",
    "duration_ms",
    "wave",
    "pruned_versions",
];

/// Every cell of the CSV as written, by column: none a text cell that starts a formula.
fn assert_no_formula(path: &std::path::Path) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut cells = 0;
    for record in reader.records() {
        for (column, cell) in header.iter().zip(record.unwrap().iter()) {
            cells += 1;
            if NUMERIC.contains(&column.as_str()) {
                assert!(
                    cell.chars().all(|c| c.is_ascii_digit()),
                    "{column}: {cell:?}"
                );
            } else {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{}: {column} = {cell:?}",
                    path.display()
                );
            }
        }
    }
    assert!(cells > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_report_cell_is_a_formula_and_reports_read_back_exactly() {
    let ids = accounts(5);
    let inv = named_inventory(&ids, &NAMES, &["us-east-1"]);
    let f = Fleet::with_files(ids, &["us-east-1"], &inv, &desired().to_string());
    let (url, ids, dir, inv, prefs, proxy) = f.parts();
    // Account 2's write is denied with a message that is itself a formula.
    proxy.set_faults(Faults {
        deny_in_account: vec![(ids[2].clone(), "CreateDocument".into())],
        deny_message: Some("=1+1 denied by policy".into()),
        ..Default::default()
    });
    let apply = dir.path("apply.csv");
    let out = run("apply", &proxy, &inv, &prefs, &apply, &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_no_formula(&apply);
    let raw = std::fs::read_to_string(&apply).unwrap();
    assert!(raw.contains("'=1+1 denied by policy"), "{raw}");
    assert!(raw.contains("'=HYPERLINK("), "{raw}");
    assert!(raw.contains("''quoted"), "{raw}");
    // What the tool reads back is the true text: each target's name, as the inventory has it.
    let names: BTreeMap<String, &str> = ids.iter().cloned().zip(NAMES).collect();
    let state = read_all(&url, &ids, &["us-east-1"], DOC).await;
    let rows = rows_by_target(&apply);
    for (id, name) in &names {
        let written = state[&(id.clone(), "us-east-1".to_string())].is_some();
        assert_eq!(written, id != &ids[2], "{id}");
        // As written: every one of these names starts a formula, so each has its `'`.
        assert_eq!(
            rows[&(id.clone(), "us-east-1".into())]["account_name"],
            format!("'{name}")
        );
    }

    // --retry-failed reads the report: exactly the denied account is retried.
    let (out, retry) = retry_failed(&proxy, &inv, &prefs, &dir, &apply);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_no_formula(&retry);
    let retried = rows_by_target(&retry);
    assert_eq!(
        retried.keys().map(|(a, _)| a.clone()).collect::<Vec<_>>(),
        vec![ids[2].clone()]
    );
    assert_eq!(proxy.writes(), 1);

    // rollback --from reads it too: every created target is deleted, by its true name.
    let rollback = dir.path("rollback.csv");
    let out = rollback_from(&apply, &rollback, &proxy.url);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_no_formula(&rollback);
    let rolled = rows_by_target(&rollback);
    assert_eq!(rolled.len(), 4);
    let state = read_all(&url, &ids, &["us-east-1"], DOC).await;
    for (id, _) in rolled.keys() {
        assert!(
            state[&(id.clone(), "us-east-1".to_string())].is_none(),
            "{id}"
        );
    }
    // The HTML page and the summary JSON carry the true text, unprefixed.
    let page = dir.path("audit.html");
    let (audit_csv, extra) = (dir.path("audit.csv"), ["--html", page.to_str().unwrap()]);
    let out = run("audit", &proxy, &inv, &prefs, &audit_csv, &extra);
    assert_eq!(out.code, 1, "{}", out.all());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("@SUM(1+1)") && !html.contains("'@SUM"),
        "the page holds the name as it is"
    );
}

//! The CSV inventory: one account a row, columns by name, each problem on its line.

use std::collections::HashMap;

use super::accounts_yml::*;
use super::parsed::Parsed;
use crate::suggest::did_you_mean;
use crate::target::{Account, AccountId, Region};

/// The CSV columns: the account keys the two formats share, the first of [`ACCOUNT_KEYS`].
pub(super) const CSV_COLUMNS: &[&str] = ACCOUNT_KEYS.split_at(7).0;

pub(super) fn parse_csv(text: &str, p: &mut Parsed) {
    // Spreadsheets save a UTF-8 byte-order mark; it is not part of the first column's name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The csv crate counts a CRLF row's line before its LF, which puts every problem one
    // line too early; with LF only its line numbers are the file's.
    let text = text.replace("\r\n", "\n");
    // Flexible: a row with the wrong number of cells is reported here, with what went wrong.
    // Cells are trimmed here rather than by the reader, so a newline that an unclosed quote
    // swallowed is still there to explain the row.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            p.problem(1, format!("invalid CSV header: {e}"));
            return;
        }
    };
    let mut columns = HashMap::new();
    for (i, h) in headers.iter().map(str::trim).enumerate() {
        if CSV_COLUMNS.contains(&h) {
            if columns.insert(h.to_string(), i).is_some() {
                p.problem(1, format!("column `{h}` appears twice"));
            }
        } else {
            p.problem(
                1,
                format!(
                    "unknown column `{h}`{} (allowed: {})",
                    did_you_mean(h, CSV_COLUMNS.iter().copied()),
                    CSV_COLUMNS.join(", ")
                ),
            );
        }
    }
    if !columns.contains_key("account_id") {
        p.problem(1, "the header has no `account_id` column");
        return;
    }
    let mut rows = 0;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|pos| pos.line() as usize).unwrap_or(0);
                p.problem(line, format!("invalid CSV: {e}"));
                continue;
            }
        };
        let line = record
            .position()
            .map(|pos| pos.line() as usize)
            .unwrap_or(0);
        // Spreadsheets export trailing rows of empty cells (`,,,,`): they name no account.
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows += 1;
        if record.len() != headers.len() {
            let msg = if record.iter().any(|c| c.contains('\n')) {
                "a quote (\") opened in this row is never closed, so the lines after it were read as one cell: close or remove it".to_string()
            } else {
                format!(
                    "row has {} cells but the header has {} ({})",
                    record.len(),
                    headers.len(),
                    headers.iter().map(str::trim).collect::<Vec<_>>().join(",")
                )
            };
            p.problem(line, msg);
            continue;
        }
        let cell = |name: &str| {
            columns
                .get(name)
                .and_then(|&i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let split = |s: &str| {
            s.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let id = match AccountId::parse(cell("account_id").unwrap_or("")) {
            Ok(id) => id,
            Err(e) => {
                p.problem(line, e);
                continue;
            }
        };
        let mut a = Account::new(id, line);
        a.name = cell("name")
            .map(String::from)
            .unwrap_or_else(|| a.id.to_string());
        if let Some(r) = cell("regions") {
            let mut out: Vec<Region> = vec![];
            for name in split(r) {
                match Region::parse(&name) {
                    Ok(r) if out.contains(&r) => {
                        p.warn(line, format!("region {r} is listed twice"))
                    }
                    Ok(r) => out.push(r),
                    Err(e) => p.problem(line, e),
                }
            }
            a.regions = Some(out);
        }
        if let Some(r) = cell("role") {
            a.roles = split(r);
            for role in &a.roles {
                if let Err(e) = check_role(role) {
                    p.problem(line, e);
                }
            }
        }
        a.external_id = cell("external_id").map(String::from);
        a.tags = cell("tags").map(split).unwrap_or_default();
        // `key=value;key=value`: the placeholders' values, as an account's `vars:` in YAML.
        for pair in cell("vars").map(split).unwrap_or_default() {
            match pair.split_once('=') {
                Some((k, v)) if !k.trim().is_empty() => {
                    a.vars.insert(k.trim().to_string(), v.trim().to_string());
                }
                _ => p.problem(
                    line,
                    format!("vars cell {pair:?} is not key=value (separate several with `;`)"),
                ),
            }
        }
        p.accounts.push(a);
    }
    if rows == 0 {
        p.problem(1, "the CSV has a header but no account rows");
    }
}

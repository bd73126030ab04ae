//! A run's counts as one CloudWatch embedded metric format (EMF) line: Lambda mode prints it in
//! its log, and CloudWatch Logs turns it into metrics with no API call (docs/deploy.md
//! "Metrics and alarms").

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The namespace the metrics are in.
pub(crate) const NAMESPACE: &str = "ssm-prefs";

/// What one run's line states.
pub(crate) struct RunMetrics<'a> {
    /// The Lambda function (a dimension: the stack's alarms name it).
    pub function: &'a str,
    /// `apply` or `audit` (a second dimension, beside the function alone).
    pub command: &'a str,
    /// When the run ended, milliseconds since the epoch.
    pub timestamp_ms: u64,
    pub total: u64,
    /// Targets per status, as the summary JSON's `counts`.
    pub counts: &'a BTreeMap<String, u64>,
    /// The summary JSON's `failed`, `not_compliant` and `blocked`.
    pub failed: u64,
    pub not_compliant: u64,
    pub blocked: u64,
    pub duration_ms: u64,
}

/// The metrics' names: the four the alarms and dashboards read, then one per status
/// (`Targets.drifted`).
pub(crate) const TARGETS: &str = "Targets";
pub(crate) const FAILED: &str = "FailedTargets";
pub(crate) const NOT_COMPLIANT: &str = "NotCompliantTargets";
pub(crate) const BLOCKED: &str = "BlockedTargets";
pub(crate) const DURATION: &str = "Duration";

/// The line: a JSON object on one line, its `_aws.CloudWatchMetrics` directive naming each
/// metric, the values and dimensions at its root.
pub(crate) fn render(run: &RunMetrics) -> String {
    let mut values: Vec<(String, u64, &str)> = vec![
        (TARGETS.into(), run.total, "Count"),
        (FAILED.into(), run.failed, "Count"),
        (NOT_COMPLIANT.into(), run.not_compliant, "Count"),
        (BLOCKED.into(), run.blocked, "Count"),
        (DURATION.into(), run.duration_ms, "Milliseconds"),
    ];
    values.extend(
        run.counts
            .iter()
            .map(|(status, n)| (format!("{TARGETS}.{status}"), *n, "Count")),
    );
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": run.timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"], ["FunctionName", "Command"]],
                "Metrics": values
                    .iter()
                    .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    root.insert("FunctionName".into(), run.function.into());
    root.insert("Command".into(), run.command.into());
    for (name, value, _) in values {
        root.insert(name, value.into());
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line as CloudWatch reads it ("Specification: Embedded metric format", CloudWatch
    /// User Guide): a JSON object; `_aws.Timestamp` a number of milliseconds; each directive
    /// a namespace, dimension sets of at most 30 keys each naming a string member at the
    /// root, and at most 100 metrics each naming a numeric member at the root, with a unit
    /// CloudWatch knows.
    fn check_emf(line: &str) -> Value {
        assert!(!line.contains('\n'), "one line: {line}");
        let doc: Value = serde_json::from_str(line).unwrap();
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].is_u64(), "{aws}");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert!(!directives.is_empty());
        for d in directives {
            let ns = d["Namespace"].as_str().unwrap();
            assert!(!ns.is_empty() && ns.len() <= 1024);
            for set in d["Dimensions"].as_array().unwrap() {
                let keys = set.as_array().unwrap();
                assert!(keys.len() <= 30);
                for k in keys {
                    assert!(doc[k.as_str().unwrap()].is_string(), "dimension {k}");
                }
            }
            let metrics = d["Metrics"].as_array().unwrap();
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                let name = m["Name"].as_str().unwrap();
                assert!(!name.is_empty() && name.len() <= 1024);
                assert!(doc[name].is_number(), "metric {name} has no value");
                assert!(
                    ["Count", "Milliseconds"].contains(&m["Unit"].as_str().unwrap()),
                    "{m}"
                );
            }
        }
        doc
    }

    #[test]
    fn the_line_is_an_emf_document_with_every_count() {
        let counts = BTreeMap::from([("compliant".to_string(), 5), ("drifted".to_string(), 2)]);
        let line = render(&RunMetrics {
            function: "ssm-prefs-Function-abc",
            command: "audit",
            timestamp_ms: 1_765_000_000_000,
            total: 8,
            counts: &counts,
            failed: 1,
            not_compliant: 2,
            blocked: 0,
            duration_ms: 1234,
        });
        let doc = check_emf(&line);
        assert_eq!(doc["FunctionName"], "ssm-prefs-Function-abc");
        assert_eq!(doc["Command"], "audit");
        assert_eq!(doc[FAILED], 1);
        assert_eq!(doc[NOT_COMPLIANT], 2);
        assert_eq!(doc[BLOCKED], 0);
        assert_eq!(doc[TARGETS], 8);
        assert_eq!(doc["Targets.drifted"], 2);
        assert_eq!(doc[DURATION], 1234);
    }
}

//! A target's audit verdict as a Security Hub finding (ASFF): built from its report row, pure;
//! src/aws/securityhub.rs sends it (docs/security-hub.md).

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields,
    FindingProviderSeverity, Partition, Recommendation, RecordState, Remediation, Resource,
    Severity, SeverityLabel,
};
use serde_json::Value;

use crate::model::{Change, ReportRow, Status, rfc3339};
use crate::sensitive;

/// The finding type every finding of this tool carries.
const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";

/// Security Hub refuses a longer Description.
const DESCRIPTION_MAX: usize = 1024;

/// The inputs whose difference turns session logging or encryption off, or sends it
/// elsewhere: a finding about them is HIGH.
const LOGGING_AND_ENCRYPTION: [&str; 6] = [
    "s3BucketName",
    "cloudWatchLogGroupName",
    "kmsKeyId",
    "s3EncryptionEnabled",
    "cloudWatchEncryptionEnabled",
    // A latest version that is not JSON: what it turns off is unknown.
    "content",
];

/// The inputs whose values a finding shows where they differ: where session logs go and how
/// they are encrypted, what an analyst checks first. None is sensitive (src/sensitive.rs).
const SHOWN_VALUES: [&str; 7] = [
    "s3BucketName",
    "s3KeyPrefix",
    "cloudWatchLogGroupName",
    "kmsKeyId",
    "s3EncryptionEnabled",
    "cloudWatchEncryptionEnabled",
    "cloudWatchStreamingEnabled",
];

/// ASFF's limit on a ProductFields value.
const PRODUCT_FIELD_MAX: usize = 2048;

/// The finding's id: one per account, region and document, so each audit updates it.
pub(crate) fn finding_id(row: &ReportRow, partition: &str) -> String {
    format!(
        "ssm-prefs/{partition}/{}/{}/{}",
        row.account_id, row.region, row.document_name
    )
}

/// `FAILED` where the target does not hold the preferences (or holds them, but preflight found
/// what they name gone: sessions there log nowhere), `NOT_AVAILABLE` where it could not be
/// read, `PASSED` where it holds them.
pub(crate) fn compliance(row: &ReportRow) -> ComplianceStatus {
    match row.status {
        Status::Compliant if row.findings.blocking() => ComplianceStatus::Failed,
        Status::Compliant => ComplianceStatus::Passed,
        Status::Drifted | Status::Missing => ComplianceStatus::Failed,
        _ => ComplianceStatus::NotAvailable,
    }
}

/// HIGH where logging or encryption is off or goes elsewhere (a missing document: none of
/// it is on), MEDIUM for any other input, INFORMATIONAL when it passed or is unknown.
pub(crate) fn severity(row: &ReportRow) -> SeverityLabel {
    match row.status {
        Status::Missing => SeverityLabel::High,
        Status::Compliant if row.findings.blocking() => SeverityLabel::High,
        Status::Drifted
            if row
                .changed_inputs
                .split(';')
                .any(|k| LOGGING_AND_ENCRYPTION.contains(&k)) =>
        {
            SeverityLabel::High
        }
        Status::Drifted => SeverityLabel::Medium,
        _ => SeverityLabel::Informational,
    }
}

/// What a finding says, beside its verdict.
pub(crate) struct Context<'a> {
    pub partition: &'a str,
    /// When this audit ran (RFC 3339).
    pub now: &'a str,
    /// When an audit first saw this state: kept from the finding already there.
    pub first_seen: &'a str,
    /// The command that puts the preferences back in this target.
    pub fix: &'a str,
    /// The preferences file's SHA-256.
    pub preferences_sha256: &'a str,
    /// What differs, values included (sensitive ones already masked): only the logging and
    /// encryption inputs' values are shown.
    pub changes: &'a [Change],
}

/// `s3BucketName: attacker-bucket (intended org-session-logs)` for each logging and
/// encryption input that differs, `; `-separated; empty when none does. Only the inputs of
/// [`SHOWN_VALUES`]: never a sensitive input, nor any other input's value.
pub(crate) fn differences(changes: &[Change]) -> String {
    let shown = |v: Option<&Value>| match v {
        None => "not set".to_string(),
        Some(Value::String(s)) if s.is_empty() => "empty".to_string(),
        Some(Value::String(s)) => cut(s, 200),
        Some(other) => cut(&other.to_string(), 200),
    };
    changes
        .iter()
        .filter(|c| SHOWN_VALUES.contains(&c.key.as_str()) && !sensitive::is_sensitive(&c.key))
        .map(|c| {
            format!(
                "{}: {} (intended {})",
                c.key,
                shown(c.from.as_ref()),
                shown(c.to.as_ref())
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the finding recommends: the command that brings the target to PASSED, as its verdict
/// needs it. Where preflight found what the preferences name gone, no write fixes that
/// (apply refuses to write while it blocks): it is named first.
fn recommendation(row: &ReportRow, fix: &str) -> String {
    let gone = || {
        let found: Vec<String> = row
            .findings
            .0
            .iter()
            .filter(|f| f.severity == crate::model::Severity::Blocking)
            .map(|f| format!("{}: {}", f.reason, f.subject))
            .collect();
        cut(&found.join(", "), 160)
    };
    let blocked = row.findings.blocking();
    // Nodes at risk: no write fixes them either; their roles or agents must change.
    let nodes_only = blocked
        && row
            .findings
            .0
            .iter()
            .filter(|f| f.severity == crate::model::Severity::Blocking)
            .all(|f| f.nodes > 0);
    if nodes_only {
        return format!(
            "Give the managed nodes what the preferences require of them ({}): the permissions their roles lack, or a newer SSM Agent; the next audit passes once every online node can start a session. Should the preferences drift, put them back with: {fix}",
            gone()
        );
    }
    match row.status {
        Status::Compliant if blocked => format!(
            "Restore what the preferences name that preflight found unusable ({}): the document holds the preferences, and the next audit passes once sessions can log there again. Or name what exists in the preferences file and run: {fix}",
            gone()
        ),
        Status::Compliant => {
            format!("Nothing to do. Should the preferences drift, put them back with: {fix}")
        }
        Status::Drifted | Status::Missing if blocked => format!(
            "Restore what the preferences name that preflight found unusable ({}); apply writes nothing until then. Then put the intended preferences back: {fix}",
            gone()
        ),
        Status::Drifted | Status::Missing => {
            format!("Put the intended preferences back: {fix}")
        }
        _ => format!(
            "See the description for why the target could not be read, and audit again; where it does not hold the intended preferences: {fix}"
        ),
    }
}

/// The row as an ASFF finding. Input values appear only for the logging and encryption inputs
/// that differ ([`differences`]); the others by name and the content's hash: a sensitive
/// input's value is never in a finding.
pub(crate) fn finding(row: &ReportRow, cx: &Context<'_>) -> AwsSecurityFinding {
    let (account, region, doc) = (&row.account_id, &row.region, &row.document_name);
    let verdict = match row.status {
        Status::Compliant => "compliant",
        Status::Drifted => "drifted",
        Status::Missing => "missing",
        _ => "not checked",
    };
    let title = format!("Session Manager preferences {verdict}: {doc} in {account} {region}");
    let mut description = match row.status {
        Status::Compliant => format!(
            "The Session document {doc} in account {account}, region {region}, holds the intended Session Manager preferences (version {}, content sha256 {}).",
            row.document_version, row.content_sha256
        ),
        Status::Drifted => {
            let shown = differences(cx.changes);
            let shown = if shown.is_empty() {
                shown
            } else {
                format!(" Logging and encryption there: {shown}.")
            };
            format!(
                "The Session document {doc} in account {account}, region {region}, differs from the intended Session Manager preferences in: {}.{shown} Sessions there run with other logging, encryption or shell settings than intended.",
                row.changed_inputs.replace(';', ", ")
            )
        }
        Status::Missing => format!(
            "Account {account}, region {region}, has no Session document {doc}: Session Manager runs with its defaults there, without the intended logging and encryption."
        ),
        _ => format!(
            "The Session document {doc} in account {account}, region {region}, could not be read: {}",
            row.error_message
        ),
    };
    if let (Some(seen), Some(at_risk @ 1..)) = (row.nodes, row.nodes_at_risk) {
        description.push_str(&format!(
            " {at_risk} of its {seen} online managed nodes cannot start a Session Manager session under these preferences."
        ));
    }
    if let Some(note) = row
        .error_code
        .as_ref()
        .filter(|_| row.status != Status::Failed)
    {
        description.push_str(&format!(" Note ({note}): {}", row.error_message));
    }
    let arn = format!("arn:{}:ssm:{region}:{account}:document/{doc}", cx.partition);
    let mut builder = AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(finding_id(row, cx.partition))
        .product_arn(format!(
            "arn:{}:securityhub:{region}:{account}:product/{account}/default",
            cx.partition
        ))
        .generator_id(format!("ssm-prefs/session-manager-preferences/{doc}"))
        .aws_account_id(account)
        .types(FINDING_TYPE)
        .created_at(cx.first_seen)
        .first_observed_at(cx.first_seen)
        .last_observed_at(cx.now)
        .updated_at(cx.now)
        .severity(Severity::builder().label(severity(row)).build())
        // A later import may not change the top-level Severity and Types: Security Hub takes
        // a provider's updates to them from here.
        .finding_provider_fields(
            FindingProviderFields::builder()
                .severity(
                    FindingProviderSeverity::builder()
                        .label(severity(row))
                        .build(),
                )
                .types(FINDING_TYPE)
                .build(),
        )
        .title(cut(&title, 256))
        .description(cut(&description, DESCRIPTION_MAX))
        .compliance(Compliance::builder().status(compliance(row)).build())
        .record_state(RecordState::Active)
        .resources(
            Resource::builder()
                .r#type("Other")
                .id(arn)
                .region(region)
                .partition(Partition::from(cx.partition))
                .build(),
        )
        .remediation(
            Remediation::builder()
                .recommendation(
                    Recommendation::builder()
                        .text(cut(&recommendation(row, cx.fix), 512))
                        .build(),
                )
                .build(),
        );
    let differences = match row.status {
        Status::Drifted => cut(&differences(cx.changes), PRODUCT_FIELD_MAX),
        _ => String::new(),
    };
    for (key, value) in [
        ("ssm-prefs/Status", row.status.as_str()),
        ("ssm-prefs/DefaultVersion", row.document_version.as_str()),
        ("ssm-prefs/ContentSha256", row.content_sha256.as_str()),
        ("ssm-prefs/ChangedInputs", row.changed_inputs.as_str()),
        ("ssm-prefs/Differences", differences.as_str()),
        ("ssm-prefs/PreferencesSha256", cx.preferences_sha256),
    ] {
        if !value.is_empty() {
            builder = builder.product_fields(key, value);
        }
    }
    builder.build()
}

/// The times of the finding that replaces `there` (the finding already in Security Hub, if
/// any): its first-seen time kept while the verdict is the same, else `now`; and when it is
/// updated ([`later_than`]).
pub(crate) fn times(
    row: &ReportRow,
    now: &str,
    there: Option<&AwsSecurityFinding>,
) -> (String, String) {
    let status = compliance(row);
    let first_seen = there
        .filter(|f| f.compliance().and_then(|c| c.status()) == Some(&status))
        .and_then(|f| f.first_observed_at().or(f.created_at()))
        .unwrap_or(now)
        .to_string();
    (
        first_seen,
        later_than(now, there.and_then(|f| f.updated_at())),
    )
}

/// `now`, or just after the finding's `UpdatedAt` where that is not earlier (a runner whose
/// clock ran ahead wrote it): Security Hub ignores an update that is not newer.
fn later_than(now: &str, updated: Option<&str>) -> String {
    let parse = |s: &str| humantime::parse_rfc3339(s).ok();
    match (parse(now), updated.and_then(parse)) {
        (Some(n), Some(u)) if u >= n => rfc3339(u + std::time::Duration::from_millis(1)),
        _ => now.to_string(),
    }
}

/// At most `max` characters, cut on a character boundary with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reason;

    fn row(status: Status, changed: &str) -> ReportRow {
        ReportRow {
            account_id: "012345678901".parse().unwrap(),
            region: "eu-west-1".parse().unwrap(),
            document_name: "SSM-SessionManagerRunShell".into(),
            status,
            changed_inputs: changed.into(),
            ..ReportRow::empty()
        }
    }

    /// A compliant row whose preflight found the bucket it names gone.
    fn bucket_gone(bucket: &str) -> ReportRow {
        let mut gone = row(Status::Compliant, "");
        gone.findings = crate::model::Findings::of(vec![crate::model::Finding {
            reason: Reason::BucketNotFound,
            severity: crate::model::Severity::Blocking,
            subject: bucket.into(),
            message: "gone".into(),
            nodes: 0,
        }]);
        gone
    }

    #[test]
    fn each_status_and_input_has_its_verdict_and_severity() {
        use ComplianceStatus as C;
        use SeverityLabel as S;
        for (status, changed, verdict, label) in [
            (Status::Compliant, "", C::Passed, S::Informational),
            (Status::Missing, "", C::Failed, S::High),
            (Status::Failed, "", C::NotAvailable, S::Informational),
            (
                Status::Drifted,
                "runAsEnabled;shellProfile",
                C::Failed,
                S::Medium,
            ),
            (Status::Drifted, "idleSessionTimeout", C::Failed, S::Medium),
            (Status::Drifted, "content", C::Failed, S::High),
            (Status::Skipped, "", C::NotAvailable, S::Informational),
        ] {
            let r = row(status, changed);
            assert_eq!(
                (compliance(&r), severity(&r)),
                (verdict, label),
                "{status:?} {changed}"
            );
        }
        // Compliant, but the bucket it names is gone: sessions log nowhere.
        let gone = bucket_gone("bucket");
        assert!(gone.findings.blocking());
        assert_eq!((compliance(&gone), severity(&gone)), (C::Failed, S::High));
        for key in LOGGING_AND_ENCRYPTION {
            let r = row(Status::Drifted, &format!("runAsEnabled;{key}"));
            assert_eq!(severity(&r), S::High, "{key}");
        }
    }

    #[test]
    fn differences_show_logging_and_encryption_values_only() {
        use serde_json::json;
        let changes = [
            Change::shown("s3BucketName", Some(json!("x")), Some(json!("logs"))),
            Change::shown("s3KeyPrefix", None, Some(json!("sessions"))),
            Change::shown(
                "cloudWatchLogGroupName",
                Some(json!("")),
                Some(json!("/org")),
            ),
            Change::shown("kmsKeyId", Some(json!("alias/other")), None),
            Change::shown("s3EncryptionEnabled", Some(json!(false)), Some(json!(true))),
            Change::shown(
                "runAsDefaultUser",
                Some(json!("root")),
                Some(json!("ssm-user")),
            ),
            Change::shown("idleSessionTimeout", Some(json!("60")), Some(json!("20"))),
            Change::shown(
                "content",
                None,
                Some(json!({"inputs": {"s3BucketName": "logs"}})),
            ),
        ];
        assert_eq!(
            differences(&changes),
            "s3BucketName: x (intended logs); s3KeyPrefix: not set (intended sessions); cloudWatchLogGroupName: empty (intended /org); kmsKeyId: alias/other (intended not set); s3EncryptionEnabled: false (intended true)"
        );
        for key in SHOWN_VALUES {
            assert!(!sensitive::is_sensitive(key), "{key}");
        }
    }

    #[test]
    fn each_verdict_recommends_what_fixes_it() {
        let fix = "ssm-prefs apply -p p.json -i a.yml -a 012345678901 -r eu-west-1";
        let text = |r: &ReportRow| recommendation(r, fix);
        assert_eq!(
            text(&row(Status::Drifted, "s3BucketName")),
            format!("Put the intended preferences back: {fix}")
        );
        assert_eq!(
            text(&row(Status::Missing, "")),
            format!("Put the intended preferences back: {fix}")
        );
        let gone = bucket_gone("org-session-logs");
        let said = text(&gone);
        assert!(
            said.starts_with(
                "Restore what the preferences name that preflight found unusable (BucketNotFound: org-session-logs)"
            ) && said.ends_with(fix),
            "{said}"
        );
        for status in [Status::Compliant, Status::Failed] {
            assert!(text(&row(status, "")).ends_with(fix));
        }
        // Compliant, but a node cannot decrypt: its role must change, and the text says so.
        let locked_out = row(Status::Compliant, "").with_findings(crate::model::Findings(
            vec![crate::model::Finding {
                reason: Reason::NodeRoleDenied,
                severity: crate::model::Severity::Blocking,
                subject: "kms:Decrypt denied to role NodeRole on arn:k".into(),
                message: "1 online node would lose Session Manager".into(),
                nodes: 1,
            }],
            crate::model::NodeCounts {
                seen: Some(3),
                at_risk: Some(1),
            },
        ));
        let said = text(&locked_out);
        assert!(
            said.starts_with("Give the managed nodes what the preferences require of them (NodeRoleDenied: kms:Decrypt denied to role NodeRole on arn:k)"),
            "{said}"
        );
        let cx = Context {
            partition: "aws",
            now: "2026-12-04T10:00:00.000Z",
            first_seen: "2026-12-04T10:00:00.000Z",
            fix,
            preferences_sha256: "ab",
            changes: &[],
        };
        let description = finding(&locked_out, &cx).description.unwrap_or_default();
        assert!(
            description
                .contains("1 of its 3 online managed nodes cannot start a Session Manager session"),
            "{description}"
        );
        assert_eq!(compliance(&locked_out), ComplianceStatus::Failed);
    }

    #[test]
    fn an_update_is_always_newer_than_the_finding_there() {
        let now = "2026-12-04T10:00:00.000Z";
        assert_eq!(later_than(now, None), now);
        assert_eq!(later_than(now, Some("2026-12-03T10:00:00Z")), now);
        assert_eq!(
            later_than(now, Some("2026-12-04T10:05:00.000Z")),
            "2026-12-04T10:05:00.001Z"
        );
    }

    #[test]
    fn the_first_seen_time_is_kept_while_the_verdict_is_the_same() {
        let now = "2026-12-04T10:00:00.000Z";
        let there = |status: ComplianceStatus, updated: &str| {
            AwsSecurityFinding::builder()
                .compliance(Compliance::builder().status(status).build())
                .first_observed_at("2026-12-01T10:00:00.000Z")
                .updated_at(updated)
                .build()
        };
        let drifted = row(Status::Drifted, "s3BucketName");
        assert_eq!(times(&drifted, now, None), (now.into(), now.into()));
        let failed = there(ComplianceStatus::Failed, "2026-12-03T10:00:00.000Z");
        assert_eq!(
            times(&drifted, now, Some(&failed)),
            ("2026-12-01T10:00:00.000Z".into(), now.into())
        );
        let passed = there(ComplianceStatus::Passed, "2026-12-04T11:00:00.000Z");
        assert_eq!(
            times(&drifted, now, Some(&passed)),
            (now.into(), "2026-12-04T11:00:00.001Z".into())
        );
    }

    #[test]
    fn the_finding_is_asff_with_a_stable_id_and_no_sensitive_value() {
        let mut r = row(Status::Drifted, "shellProfile;s3BucketName");
        r.error_message = "x".repeat(5000);
        r.error_code = Some(Reason::UnpromotedVersion);
        let changes = [
            Change::shown(
                "shellProfile",
                Some(serde_json::json!({"linux": "export TOKEN=hunter2"})),
                Some(serde_json::json!({"linux": "cd ~"})),
            ),
            Change::shown(
                "s3BucketName",
                Some(serde_json::json!("attacker-bucket")),
                Some(serde_json::json!("org-session-logs")),
            ),
        ];
        let cx = Context {
            partition: "aws",
            now: "2026-12-04T10:00:00.000Z",
            first_seen: "2026-12-01T10:00:00.000Z",
            fix: "ssm-prefs apply -p prefs.json -i accounts.yml -a 012345678901 -r eu-west-1",
            preferences_sha256: "ab12",
            changes: &changes,
        };
        let f = finding(&r, &cx);
        assert_eq!(
            f.id(),
            Some("ssm-prefs/aws/012345678901/eu-west-1/SSM-SessionManagerRunShell")
        );
        assert_eq!(
            f.product_arn(),
            Some("arn:aws:securityhub:eu-west-1:012345678901:product/012345678901/default")
        );
        assert_eq!(f.aws_account_id(), Some("012345678901"));
        assert_eq!(f.types(), [FINDING_TYPE]);
        let provider = f.finding_provider_fields().unwrap();
        assert_eq!(
            provider.severity().and_then(|s| s.label()),
            Some(&SeverityLabel::High)
        );
        assert_eq!(f.created_at(), Some(cx.first_seen));
        assert_eq!(f.first_observed_at(), Some(cx.first_seen));
        assert_eq!(f.updated_at(), Some(cx.now));
        assert_eq!(f.record_state(), Some(&RecordState::Active));
        assert!(f.description().unwrap().chars().count() <= DESCRIPTION_MAX);
        let description = f.description().unwrap();
        assert!(description.contains(
            "shellProfile, s3BucketName. Logging and encryption there: s3BucketName: attacker-bucket (intended org-session-logs)."
        ), "{description}");
        assert!(!description.contains("hunter2") && !description.contains("cd ~"));
        let resource = &f.resources()[0];
        assert_eq!(resource.r#type(), Some("Other"));
        assert_eq!(
            resource.id(),
            Some("arn:aws:ssm:eu-west-1:012345678901:document/SSM-SessionManagerRunShell")
        );
        let fields = f.product_fields().unwrap();
        assert_eq!(
            fields["ssm-prefs/ChangedInputs"],
            "shellProfile;s3BucketName"
        );
        assert_eq!(
            fields["ssm-prefs/Differences"],
            "s3BucketName: attacker-bucket (intended org-session-logs)"
        );
        assert!(
            !fields.contains_key("ssm-prefs/DefaultVersion"),
            "empty values left out"
        );
        assert!(
            f.remediation()
                .and_then(|r| r.recommendation())
                .and_then(|r| r.text())
                .unwrap()
                .contains(cx.fix)
        );
    }
}

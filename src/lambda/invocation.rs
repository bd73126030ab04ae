//! One Lambda invocation: its payload read into what to run, each run made as the command
//! line would make it (bounded by the invocation's deadline), its reports stored in S3, and
//! the response (the summary JSON with the reports' S3 URIs) or the invocation's error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{Map, Value, json};

use super::function::{Function, Kind, Run};
use crate::aws::objects;
use crate::aws::session::Session;
use crate::error::InputError;
use crate::inventory::parse_events;
use crate::model::{Ended, rfc3339};
use crate::report::json::RunSummary;
use crate::report::metrics::{self, RunMetrics};
use crate::settings::{
    Caller, Deadline, Destination, FunctionRun, Invoked, Output, redacted_command_line,
};
use crate::terminal::printer::Printer;

/// The key of the object a payload that is not JSON is handed on as (src/lambda/mod.rs).
pub(crate) const NOT_JSON: &str = "ssm-prefs:payload-not-json";

/// The time kept back from the deadline, at most: the stores of the reports take a few
/// seconds, and the targets in flight get half of it to finish.
const MARGIN: Duration = Duration::from_secs(60);

/// Serves one invocation. An error is returned (so Lambda retries an asynchronous
/// invocation, then sends it to the dead-letter queue) only where a retry can help: a target
/// failed, the deadline cut the run short, or an input could not be read; always after its
/// reports are stored. Targets known not to hold the preferences (an audit's drift, a blocked
/// target) are not an error: its metrics line says so, and the stack's alarm on it tells.
pub(crate) async fn serve(
    function: &Function,
    printer: &Printer,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    let LambdaEvent { payload, context } = event;
    let deadline = deadline_of(context.deadline);
    let kind = classify(&payload).map_err(|e| failure(printer, "UnknownPayload", e))?;
    let inv = Invocation::prepare(function, printer, context.request_id, deadline).await?;
    let events = inv.dir.path().join("events.json");
    if kind == Kind::Events {
        std::fs::write(&events, payload.to_string()).map_err(|e| {
            failure(
                printer,
                "LocalFiles",
                format!("cannot write {}: {e}", events.display()),
            )
        })?;
    }
    let wait_ready = deadline
        .stop_at
        .saturating_duration_since(Instant::now())
        .as_secs();
    let mut done: Vec<Value> = vec![];
    let mut failed: Vec<String> = vec![];
    let mut unreadable = false;
    for planned in function.runs(kind, &events.to_string_lossy(), Some(wait_ready)) {
        let command = planned.command;
        let run = inv.run(planned, kind, &events, wait_ready).await?;
        let report = run.report_uri();
        match run.verdict() {
            Verdict::Done => {}
            Verdict::NotCompliant(n) => printer.say(&format!(
                "{command}: {n} not compliant: not an invocation error (no retry changes it); the {} metric and its alarm tell (report {report})",
                metrics::NOT_COMPLIANT
            )),
            Verdict::Retry(why) => {
                // Failed before any target: the organization was not read. A run the deadline
                // stopped before it had targets is not that: it is the deadline's.
                unreadable |= run.summary.total_targets == 0 && run.ended == Ended::Failures;
                failed.push(format!("{command}: {why} (report {report})"));
            }
        }
        let stop = run.ended == Ended::Interrupted;
        done.push(Value::Object(run.json));
        if stop {
            break;
        }
    }
    if !failed.is_empty() {
        // A run that failed with no target is the one that could not read the organization.
        let kind = if unreadable {
            "OrganizationUnreadable"
        } else {
            "TargetsFailed"
        };
        return Err(failure(printer, kind, failed.join("; ")));
    }
    let mut runs = done.into_iter();
    let mut response = runs.next().unwrap_or_else(|| json!({}));
    if let Some(then) = runs.next() {
        response["followed_by"] = then;
    }
    Ok(response)
}

/// One run done: how it ended, its summary (the run's own, typed), and that summary as the
/// response has it (with the reports' S3 URIs).
struct Done {
    ended: Ended,
    summary: RunSummary,
    json: Map<String, Value>,
}

/// Whether a run is an invocation error.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Done,
    /// Only targets known not to hold the preferences: a person must act, a retry would not.
    NotCompliant(u64),
    /// A retry may help: a target failed, the deadline, findings not delivered, an output not
    /// written, or the organization not read.
    Retry(String),
}

impl Done {
    fn report_uri(&self) -> &str {
        if self.summary.report.is_empty() {
            "none"
        } else {
            &self.summary.report
        }
    }

    fn verdict(&self) -> Verdict {
        let s = &self.summary;
        match self.ended {
            Ended::Success => Verdict::Done,
            Ended::Interrupted => Verdict::Retry(
                "stopped at the invocation's deadline; every target has its row".into(),
            ),
            Ended::Failures => {
                let undelivered = s
                    .security_hub
                    .as_ref()
                    .is_some_and(|h| !h.not_delivered.is_empty());
                if s.failed > 0 || undelivered || s.not_done == 0 {
                    Verdict::Retry(s.why.clone())
                } else {
                    Verdict::NotCompliant(s.not_compliant as u64)
                }
            }
        }
    }

    /// The run's counts as a CloudWatch embedded-metric line.
    fn metrics(&self, function: &str) -> String {
        let s = &self.summary;
        let counts: BTreeMap<String, u64> = s
            .counts
            .iter()
            .map(|(status, n)| (status.as_str().to_string(), *n as u64))
            .collect();
        metrics::render(&RunMetrics {
            function,
            command: s.command.as_str(),
            timestamp_ms: now_ms(),
            total: s.total_targets as u64,
            counts: &counts,
            failed: s.failed as u64,
            not_compliant: s.not_compliant as u64,
            blocked: s.blocked as u64,
            duration_ms: s.duration_ms,
        })
    }
}

/// What an invocation's runs share, once checked: where its reports go (the bucket can be
/// used), the external id, its local files and its deadline.
struct Invocation<'a> {
    function: &'a Function,
    printer: &'a Printer,
    id: String,
    deadline: Deadline,
    s3: aws_sdk_s3::Client,
    endpoint: String,
    bucket: &'a str,
    /// `PREFIX/DATE/REQUEST_ID`: the reports' keys start with it.
    key_prefix: String,
    external_id: Option<String>,
    dir: tempfile::TempDir,
}

impl<'a> Invocation<'a> {
    /// Checked before any run: a run whose reports have nowhere to go, or whose roles cannot
    /// be assumed for want of the external id, is not made.
    async fn prepare(
        function: &'a Function,
        printer: &'a Printer,
        id: String,
        deadline: Deadline,
    ) -> Result<Invocation<'a>, Diagnostic> {
        let base = Session::new(function.session(), &[]).await;
        let (bucket, prefix) = &function.reports;
        let s3 = objects::s3_client(base.base());
        let endpoint = base.endpoint("S3", None);
        objects::check_bucket(&s3, &endpoint, bucket)
            .await
            .map_err(|e| {
                failure(
                    printer,
                    "ReportsBucket",
                    format!(
                        "the reports bucket {bucket} cannot be used: {}: {} (nothing was run; SSM_PREFS_REPORTS names it, and the function needs s3:ListBucket on it)",
                        e.reason, e.message
                    ),
                )
            })?;
        let external_id = match &function.external_id_secret {
            None => None,
            Some(secret) => Some(base.secret_string(secret).await.map_err(|e| {
                failure(
                    printer,
                    "ExternalIdSecret",
                    format!(
                        "the external id's secret {secret} cannot be read: {}: {} (nothing was run)",
                        e.reason, e.message
                    ),
                )
            })?),
        };
        let dir = scratch().map_err(|e| failure(printer, "LocalFiles", e))?;
        let date = &rfc3339(SystemTime::now())[..10];
        let key_prefix = [prefix.as_str(), date, &id]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/");
        Ok(Invocation {
            function,
            printer,
            id,
            deadline,
            s3,
            endpoint,
            bucket,
            key_prefix,
            external_id,
            dir,
        })
    }

    /// One run, with the settings its command line would make (the function's, checked at
    /// start), bounded by the deadline; its reports stored whatever its end, and its counts
    /// said as metrics. Bad input is the error.
    async fn run(
        &self,
        planned: Run,
        kind: Kind,
        events: &Path,
        wait_ready: u64,
    ) -> Result<Done, Diagnostic> {
        let printer = self.printer;
        let command = planned.command.as_str();
        // As the HTML page and the log show it: no local paths, no external id.
        let shown = format!(
            "{} (AWS Lambda request {})",
            redacted_command_line(
                ["ssm-prefs", command]
                    .into_iter()
                    .map(str::to_string)
                    .chain(planned.flags.iter().cloned())
            ),
            self.id
        );
        let files = Reports::under(self.dir.path(), command);
        let events = (kind == Kind::Events).then_some(events);
        let settings = self.function.settings.settings(FunctionRun {
            command: planned.command,
            org: self.function.reads_organization(kind),
            events,
            wait_ready: events.map(|_| Duration::from_secs(wait_ready)),
            security_hub: planned.security_hub,
            waves: planned.waves,
            output: files.output(
                self.dir.path(),
                format!("s3://{}/{}", self.bucket, self.key_prefix),
            ),
            invoked: Invoked {
                deadline: self.deadline,
            },
            // Set, never parsed: any value STS takes, a leading `-` too.
            external_id: self.external_id.clone(),
            tags_cache: self.function.tags_cache(),
        });
        printer.say(&shown);
        let result = crate::execute(&settings, printer, &Caller::invoked(shown.clone())).await;
        let key = format!("{}/{command}", self.key_prefix);
        // Bad input (exit 2: the preferences object missing or not valid, say) wrote nothing.
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(e) => {
                // Whatever the run wrote before it stopped is stored, as a run with a summary's.
                let _ = files
                    .store(&self.s3, &self.endpoint, self.bucket, &key, None)
                    .await;
                return Err(self.bad_input(&e));
            }
        };
        let summary = outcome.summary;
        let json = files
            .store(
                &self.s3,
                &self.endpoint,
                self.bucket,
                &key,
                summary.as_ref(),
            )
            .await
            .map_err(|e| failure(printer, "ReportsNotStored", e))?;
        let summary = summary.expect("stored: the run has its summary");
        let done = Done {
            ended: outcome.ended,
            summary,
            json,
        };
        if done.summary.total_targets > 0 || done.ended != Ended::Success {
            // Alone on its line on stdout: CloudWatch Logs reads it as metrics.
            let _ = printer.product(&format!("{}\n", done.metrics(&self.function.name)));
        }
        Ok(done)
    }

    /// A run's input error: an OU the organization does not hold is the function's setting
    /// (`SSM_PREFS_OU`), fixed by updating the stack; anything else is `BadInput`.
    fn bad_input(&self, e: &InputError) -> Diagnostic {
        let message = one_line(&e.to_string());
        match e {
            InputError::Usage {
                flag: Some("--ou"),
                message,
            } => failure(
                self.printer,
                "BadSetting",
                format!("SSM_PREFS_OU={}: {message}", self.function.ous.join(",")),
            ),
            _ => failure(self.printer, "BadInput", message),
        }
    }
}

/// A scheduled event, or events `--event` takes; anything else is named in the error.
fn classify(payload: &Value) -> Result<Kind, String> {
    const TAKES: &str = "it takes an EventBridge Scheduled Event, or the events of --event";
    if let Some(what) = payload.get(NOT_JSON).and_then(Value::as_str) {
        return Err(format!(
            "the payload is {what}, which this function does not take: {TAKES}"
        ));
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        return Ok(Kind::Scheduled);
    }
    parse_events(Path::new("the invocation's payload"), &payload.to_string())
        .map(|_| Kind::Events)
        .map_err(|e| {
            let got = match (
                payload.get("source").and_then(Value::as_str),
                payload.get("detail-type").and_then(Value::as_str),
            ) {
                (Some(source), Some(detail)) => format!("a {source} event, {detail:?}"),
                _ if payload.is_object() => "an object that is not an event".to_string(),
                _ => crate::sensitive::kind(payload).to_string(),
            };
            format!(
                "the payload is {got}, which this function does not take: {TAKES} ({})",
                one_line(&e.to_string())
            )
        })
}

/// The invocation's deadline (milliseconds since the epoch, as the runtime API gives it) as
/// the run's stop and abandon times: a fifth of the time left is kept back, at most a minute.
fn deadline_of(deadline_ms: u64) -> Deadline {
    let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms()));
    let margin = (left / 5).min(MARGIN);
    let now = Instant::now();
    Deadline {
        stop_at: now + left - margin,
        abandon_at: now + left - margin / 2,
    }
}

/// Milliseconds since the epoch, as the runtime API's deadline and CloudWatch's timestamps
/// count them.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// An invocation's error: said in the log (the plain line exit 2 or 1 would print), then
/// returned to Lambda under `kind`.
fn failure(printer: &Printer, kind: &str, message: impl Into<String>) -> Diagnostic {
    let message = message.into();
    printer.error(&message);
    Diagnostic {
        error_type: kind.to_string(),
        error_message: message,
    }
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The invocation's local files (a directory of its own under /tmp), removed when it ends:
/// the next invocation may reuse the execution environment and its /tmp.
fn scratch() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("ssm-prefs-")
        .tempdir()
        .map_err(|e| {
            format!(
                "cannot create a directory under {}: {e}",
                std::env::temp_dir().display()
            )
        })
}

/// One run's reports: the CSV, the HTML page and the summary JSON.
struct Reports {
    csv: PathBuf,
    html: PathBuf,
    json: PathBuf,
}

impl Reports {
    fn under(dir: &Path, command: &str) -> Reports {
        Reports {
            csv: dir.join(format!("{command}.csv")),
            html: dir.join(format!("{command}.html")),
            json: dir.join(format!("{command}.summary.json")),
        }
    }

    /// The run's outputs: the files under `dir`, named by their S3 URIs under `uri`.
    fn output(&self, dir: &Path, uri: String) -> Output {
        Output {
            report: Some(self.csv.clone()),
            html: Some(self.html.clone()),
            junit: None,
            summary_json: Some(Destination::File(self.json.clone())),
            no_progress: false,
            stored_at: Some((dir.to_path_buf(), uri)),
        }
    }

    /// Each file the run wrote, stored under `key` (with its extension), and the summary: the
    /// run's (which names the reports by their S3 URIs already: `stored_at`) with `reports`
    /// added, stored too. A run that had nothing to do stores nothing.
    async fn store(
        &self,
        s3: &aws_sdk_s3::Client,
        endpoint: &str,
        bucket: &str,
        key: &str,
        summary: Option<&RunSummary>,
    ) -> Result<Map<String, Value>, String> {
        let put = |key: String, body: ByteStream, content_type: &'static str| async move {
            objects::write(s3, endpoint, (bucket, &key), body, content_type)
                .await
                .map(|()| format!("s3://{bucket}/{key}"))
                .map_err(|e| {
                    format!(
                        "the report could not be stored at s3://{bucket}/{key}: {}: {} (the run's summary is in the log above)",
                        e.reason, e.message
                    )
                })
        };
        let mut uris = Map::new();
        for (name, path, content_type) in [
            ("csv", &self.csv, "text/csv"),
            ("html", &self.html, "text/html"),
        ] {
            // A file not written: the run ended before its report (nothing to do).
            if let Ok(body) = ByteStream::from_path(path).await {
                let uri = put(format!("{key}.{name}"), body, content_type).await?;
                uris.insert(name.to_string(), Value::String(uri));
            }
        }
        // Every run over targets has its summary, even one ended before its targets; without
        // it the run stopped at bad input, which is the invocation's error.
        let Some(summary) = summary else {
            return Err("the run has no summary: its lines above say why".into());
        };
        let Ok(Value::Object(mut summary)) = serde_json::to_value(summary) else {
            return Err("the run's summary is not an object".into());
        };
        // Nothing to do (an event that names nothing here): nothing to keep.
        let nothing = summary.get("total_targets") == Some(&Value::from(0))
            && summary.get("exit_code") == Some(&Value::from(0));
        if nothing {
            summary.insert("reports".into(), Value::Object(uris));
            return Ok(summary);
        }
        let summary_key = format!("{key}.summary.json");
        uris.insert(
            "summary_json".into(),
            Value::String(format!("s3://{bucket}/{summary_key}")),
        );
        summary.insert("reports".into(), Value::Object(uris));
        let body = serde_json::to_vec_pretty(&summary).map_err(|e| e.to_string())?;
        put(summary_key, ByteStream::from(body), "application/json").await?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run's summary: these fields over a summary JSON with nothing in it.
    fn done(ended: Ended, fields: Value) -> Done {
        let mut summary = json!({"schema_version": 1, "tool_version": "0", "command": "audit",
            "document": "d", "preferences": null, "from": null, "total_targets": 0,
            "not_done": 0, "failed": 0, "not_compliant": 0, "blocked": 0, "counts": {},
            "regions": {}, "errors": [], "report": "", "html": null, "junit": null,
            "exit_code": 0, "why": "", "started_at": "", "ended_at": "", "duration_ms": 0,
            "events": []});
        for (k, v) in fields.as_object().unwrap() {
            summary[k] = v.clone();
        }
        let json = summary.as_object().unwrap().clone();
        Done {
            ended,
            summary: serde_json::from_value(summary).unwrap(),
            json,
        }
    }

    #[test]
    fn only_what_a_retry_may_fix_is_an_invocation_error() {
        let base = |failed: u64, not_compliant: u64| {
            json!({"command": "audit", "total_targets": 8, "not_done": failed + not_compliant,
                   "failed": failed, "not_compliant": not_compliant, "blocked": 0,
                   "counts": {}, "why": "why", "report": "s3://b/k.csv", "duration_ms": 1})
        };
        assert_eq!(done(Ended::Success, base(0, 0)).verdict(), Verdict::Done);
        // Drift and missing documents: a person must act; a retry would read the same.
        assert_eq!(
            done(Ended::Failures, base(0, 3)).verdict(),
            Verdict::NotCompliant(3)
        );
        assert_eq!(
            done(Ended::Failures, base(1, 3)).verdict(),
            Verdict::Retry("why".into())
        );
        assert!(matches!(
            done(Ended::Interrupted, base(0, 0)).verdict(),
            Verdict::Retry(w) if w.contains("deadline")
        ));
        // Findings Security Hub did not take, or a failure with no target: retried.
        let mut hub = base(0, 2);
        hub["security_hub"] = json!({"sent": 8, "delivered": 6,
            "not_delivered": [{"code": "Throttling", "count": 2, "first_message": "x"}]});
        assert!(matches!(
            done(Ended::Failures, hub).verdict(),
            Verdict::Retry(_)
        ));
        let mut unread = base(0, 0);
        unread["total_targets"] = json!(0);
        assert!(matches!(
            done(Ended::Failures, unread).verdict(),
            Verdict::Retry(_)
        ));
    }

    #[test]
    fn a_payload_that_is_not_json_is_named_not_echoed() {
        let e =
            classify(&json!({ NOT_JSON: "not JSON (3 bytes: expected value at line 1 column 1)" }))
                .unwrap_err();
        assert!(e.starts_with("the payload is not JSON (3 bytes"), "{e}");
        assert_eq!(
            classify(&json!({"detail-type": "Scheduled Event"})),
            Ok(Kind::Scheduled)
        );
    }
}

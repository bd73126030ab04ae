//! Who last changed a document, from CloudTrail: LookupEvents in the target's account and
//! region, by the document's name, over the last 90 days (all LookupEvents keeps). CloudTrail
//! redacts a document's content but keeps who called what, when.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde_json::Value;

use crate::aws::error::target_error;
use crate::aws::retry::{self, Backoff, Kind};
use crate::aws::session::Session;
use crate::model::{TargetError, rfc3339};
use crate::target::Target;

/// The calls that change a document: the ones whose caller answers "who changed it".
const CHANGES: [&str; 4] = [
    "CreateDocument",
    "UpdateDocument",
    "UpdateDocumentDefaultVersion",
    "DeleteDocument",
];

/// How far back LookupEvents reaches.
const LOOKBACK: Duration = Duration::from_secs(90 * 24 * 3600);

/// LookupEvents allows two requests a second per account and region: pages of one target's
/// lookup go no faster.
const PAGE_EVERY: Duration = Duration::from_millis(500);

/// Pages read at most (50 events each): a document changed more often than that in 90 days
/// has its newest changes on the first pages anyway, newest first.
const MAX_PAGES: usize = 20;

/// Tries in all of a page that failed with what AWS or the network may get over (a 5xx, a
/// timeout, a reset), a short wait apart: the answer is a note on a row, and a CloudTrail that
/// keeps failing is not worth a minute per target of the account's shared 2 a second.
const ATTEMPTS: u32 = 3;

/// Tries in all of a throttled page: the account's 2 a second are shared with every other
/// caller there, so a throttle waits its turn, longer each time.
const THROTTLED_ATTEMPTS: u32 = 10;

/// The waits between a throttled page's tries, and between another failed page's.
const THROTTLED: Backoff =
    Backoff::new(Duration::from_millis(500), Duration::from_secs(20)).jittered(0.5);
const FAILED: Backoff =
    Backoff::new(Duration::from_millis(250), Duration::from_secs(1)).jittered(0.5);

/// One account's CloudTrail client, its calls sent to one target's region.
pub(crate) struct TrailClient {
    pub client: aws_sdk_cloudtrail::Client,
    pub region: aws_config::Region,
    /// Where the calls go, as an error message names it.
    pub endpoint: Arc<str>,
}

impl Session {
    /// `audit --who`'s CloudTrail client for one target (built once per account), with the
    /// region its calls go to.
    pub(crate) fn trail(&self, target: &Target) -> TrailClient {
        let client = self.shared(
            target.account_id(),
            |o| &o.trail,
            |conf| {
                let mut conf = aws_sdk_cloudtrail::config::Builder::from(conf);
                // The lookup retries on its own terms (below): a throttle waits its turn at the
                // account's 2 a second, another failure is tried briefly, a few times.
                conf.set_retry_config(Some(aws_config::retry::RetryConfig::disabled()));
                aws_sdk_cloudtrail::Client::from_conf(conf.build())
            },
        );
        TrailClient {
            client,
            region: aws_config::Region::new(target.region.as_str().to_string()),
            endpoint: self.endpoint("CloudTrail", Some(&target.region)).into(),
        }
    }
}

/// The last change found: who (the caller's ARN, else its user name) and when (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub by: String,
    pub at: String,
}

/// The newest change of document `name` in the last 90 days; `None` when CloudTrail has none.
/// The SDK's paginator reads the pages, newest first, [`PAGE_EVERY`] apart, and stops at the
/// first change; a page that failed is asked for again, as [`ATTEMPTS`] and
/// [`THROTTLED_ATTEMPTS`] say (the client itself does not retry), from where it left off; an
/// error the caller must fix (AccessDenied) is not tried again.
pub(crate) async fn last_change(
    trail: &TrailClient,
    name: &str,
) -> Result<Option<Change>, TargetError> {
    let since = aws_sdk_cloudtrail::primitives::DateTime::from(SystemTime::now() - LOOKBACK);
    // A paginator takes no per-call override: the account's client, set to the target's region.
    let client = aws_sdk_cloudtrail::Client::from_conf(
        trail
            .client
            .config()
            .to_builder()
            .region(trail.region.clone())
            .build(),
    );
    let (mut read, mut failed, mut throttled) = (0, 0, 0);
    // The page to ask for next: a page that failed is asked for again from there.
    let mut next: Option<String> = None;
    while read < MAX_PAGES {
        let mut pages = client
            .lookup_events()
            .lookup_attributes(
                LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::ResourceName)
                    .attribute_value(name)
                    .build()
                    .expect("key and value are set"),
            )
            .start_time(since)
            .set_next_token(next.clone())
            .into_paginator()
            .page_size(50)
            .send();
        while read < MAX_PAGES {
            let out = match pages.next().await {
                None => return Ok(None),
                Some(Ok(out)) => out,
                Some(Err(err)) => {
                    let wait = match retry::of_call(&err) {
                        Kind::Throttled if throttled + 1 < THROTTLED_ATTEMPTS => {
                            throttled += 1;
                            THROTTLED.wait(throttled)
                        }
                        Kind::Transient if failed + 1 < ATTEMPTS => {
                            failed += 1;
                            FAILED.wait(failed)
                        }
                        _ => return Err(target_error(err, &trail.endpoint)),
                    };
                    tokio::time::sleep(wait).await;
                    break;
                }
            };
            (read, failed, throttled) = (read + 1, 0, 0);
            // Newest first, as LookupEvents lists them.
            if let Some(e) = out
                .events()
                .iter()
                .find(|e| e.event_name().is_some_and(|n| CHANGES.contains(&n)))
            {
                return Ok(Some(Change {
                    by: caller(e.cloud_trail_event(), e.username()),
                    at: e
                        .event_time()
                        .and_then(|t| SystemTime::try_from(*t).ok())
                        .map(rfc3339)
                        .unwrap_or_default(),
                }));
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(None),
            }
            if read < MAX_PAGES {
                tokio::time::sleep(PAGE_EVERY).await;
            }
        }
    }
    // Reads (every plan and audit makes some) filled the pages read: a change may be older.
    Ok(Some(Change {
        by: format!(
            "unknown (no change in the newest {} events)",
            MAX_PAGES * 50
        ),
        at: String::new(),
    }))
}

/// The caller as the event's record names it (`userIdentity.arn`), else its user name.
fn caller(record: Option<&str>, username: Option<&str>) -> String {
    record
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|v| v["userIdentity"]["arn"].as_str().map(str::to_string))
        .or_else(|| username.map(str::to_string))
        .unwrap_or_else(|| "unknown (the event names no caller)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_records_arn_else_the_user_name() {
        let record =
            r#"{"userIdentity":{"arn":"arn:aws:sts::111122223333:assumed-role/Admin/jo"}}"#;
        assert_eq!(
            caller(Some(record), Some("jo")),
            "arn:aws:sts::111122223333:assumed-role/Admin/jo"
        );
        assert_eq!(caller(Some("not json"), Some("jo")), "jo");
        assert_eq!(caller(None, None), "unknown (the event names no caller)");
    }
}

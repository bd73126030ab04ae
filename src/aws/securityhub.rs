//! Security Hub: a finding imported into the target's own account and region
//! (BatchImportFindings), after the finding already there is read by its id (GetFindings);
//! what the finding says is src/report/asff.rs's.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, StringFilter, StringFilterComparison,
};

use crate::aws::error::target_error;
use crate::aws::session::{OnTarget, Session, on_target, scoped};
use crate::model::{Reason, TargetError};
use crate::target::Target;

/// The run's Security Hub client, its calls sent to one target's account and region.
pub(crate) struct HubClient {
    pub client: aws_sdk_securityhub::Client,
    /// The target's account, region and endpoint, set on each call.
    pub on: OnTarget,
    pub partition: &'static str,
}

impl Session {
    /// `audit --security-hub`'s client for one target (built once for the run), with the
    /// account's credentials and the region its calls go to.
    pub(crate) fn hub(&self, target: &Target) -> HubClient {
        let client = self.run_wide(
            |r| &r.hub,
            |conf| {
                let mut conf = aws_sdk_securityhub::config::Builder::from(conf);
                // BatchImportFindings allows 10 requests a second per account and region (a burst
                // of 30): a throttled import waits and tries again (backoff up to 20 s).
                conf.set_retry_config(Some(
                    aws_config::retry::RetryConfig::standard().with_max_attempts(10),
                ));
                aws_sdk_securityhub::Client::from_conf(conf.build())
            },
        );
        HubClient {
            client,
            on: self.on_target(target, "Security Hub"),
            partition: target.region.partition(),
        }
    }
}

/// Sends the finding whose id is `id`: reads the finding already there, then imports the one
/// `build` makes from it. One GetFindings and one BatchImportFindings per target; a throttled
/// call is retried by the client's backoff.
pub(crate) async fn deliver(
    hub: &HubClient,
    id: &str,
    build: impl FnOnce(Option<&AwsSecurityFinding>) -> AwsSecurityFinding,
) -> Result<(), TargetError> {
    let scope = || on_target!(aws_sdk_securityhub::config::Builder::default(), hub.on);
    // Without it (a role that may only import, a timeout), the finding still goes: seen now.
    let existing = scoped!(
        hub.client
            .get_findings()
            .filters(
                AwsSecurityFindingFilters::builder()
                    .id(StringFilter::builder()
                        .value(id)
                        .comparison(StringFilterComparison::Equals)
                        .build())
                    .build(),
            )
            .max_results(1),
        scope()
    )
    .await
    .ok();
    let there = existing
        .as_ref()
        .map(|e| e.findings())
        .unwrap_or_default()
        .iter()
        .find(|f| f.id() == Some(id));
    let out = scoped!(
        hub.client.batch_import_findings().findings(build(there)),
        scope()
    )
    .await
    .map_err(|e| hub_error(target_error(e, &hub.on.endpoint)))?;
    match out.failed_findings().first() {
        None => Ok(()),
        // Security Hub off can also come as a failed finding inside a successful answer.
        Some(failed) if failed.error_code() == Some("InvalidAccess") => {
            Err(hub_error(TargetError::new(
                Reason::Aws("InvalidAccessException".into()),
                failed.error_message().unwrap_or_default(),
            )))
        }
        Some(failed) => Err(TargetError::new(
            Reason::Aws(failed.error_code().unwrap_or("ImportFailed").to_string()),
            format!(
                "Security Hub did not take the finding: {}",
                failed.error_message().unwrap_or_default()
            ),
        )),
    }
}

/// Security Hub answers `InvalidAccessException` where it is not enabled: named as such.
fn hub_error(e: TargetError) -> TargetError {
    match &e.reason {
        Reason::Aws(code) if code == "InvalidAccessException" => TargetError::new(
            Reason::SecurityHubNotEnabled,
            format!(
                "Security Hub is not enabled in this account and region: {}",
                e.message
            ),
        ),
        _ => e,
    }
}

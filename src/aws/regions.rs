//! Which regions an account has enabled (Account ListRegions, ENABLED and ENABLED_BY_DEFAULT):
//! the targets of `-r all`, and the check that an opt-in region named explicitly is enabled
//! (GetRegionOptStatus, while `--wait-ready` waits for one still ENABLING).

use aws_sdk_account::types::RegionOptStatus;

use crate::aws::error::target_error;
use crate::aws::session::Session;
use crate::model::TargetError;
use crate::target::AccountId;

impl Session {
    /// An Account API client acting inside the account (for ListRegions), not kept: it is
    /// asked once per account, and 10,000 accounts' clients kept would cost megabytes.
    pub(crate) fn account_client(&self, account: &AccountId) -> aws_sdk_account::Client {
        self.once(account, aws_sdk_account::Client::new)
    }
}

/// The names of the regions this account has enabled, as AWS lists them (`endpoint` names
/// where the calls go, for errors).
pub(crate) async fn enabled(
    account: &aws_sdk_account::Client,
    endpoint: &str,
) -> Result<Vec<String>, TargetError> {
    let regions = account
        .list_regions()
        .region_opt_status_contains(RegionOptStatus::Enabled)
        .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| target_error(e, endpoint))?;
    Ok(regions
        .into_iter()
        // The filter is also applied here: a client must not trust that a server filtered.
        .filter(|r| {
            matches!(
                r.region_opt_status(),
                Some(RegionOptStatus::Enabled | RegionOptStatus::EnabledByDefault)
            )
        })
        .filter_map(|r| r.region_name)
        .collect())
}

/// One region's opt-in status in this account (`ENABLING`, `ENABLED`, `DISABLED`, …).
pub(crate) async fn status(
    account: &aws_sdk_account::Client,
    endpoint: &str,
    region: &str,
) -> Result<RegionOptStatus, TargetError> {
    let out = account
        .get_region_opt_status()
        .region_name(region)
        .send()
        .await
        .map_err(|e| target_error(e, endpoint))?;
    Ok(out
        .region_opt_status
        .unwrap_or_else(|| RegionOptStatus::from("")))
}

#[cfg(test)]
mod tests {
    //! The emulator has no Account API, so these run against aws-smithy-mocks' mocked client.
    use aws_sdk_account::Client;
    use aws_sdk_account::operation::list_regions::{ListRegionsError, ListRegionsOutput};
    use aws_sdk_account::types::{Region, RegionOptStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn region(name: &str, status: RegionOptStatus) -> Region {
        Region::builder()
            .region_name(name)
            .region_opt_status(status)
            .build()
    }

    #[tokio::test]
    async fn lists_enabled_regions_across_pages_and_leaves_out_disabled_ones() {
        let first = mock!(Client::list_regions)
            .match_requests(|r| {
                r.next_token().is_none() && r.region_opt_status_contains().len() == 2
            })
            .then_output(|| {
                ListRegionsOutput::builder()
                    .regions(region("us-east-1", RegionOptStatus::EnabledByDefault))
                    .regions(region("af-south-1", RegionOptStatus::Enabled))
                    .next_token("page2")
                    .build()
            });
        let second = mock!(Client::list_regions)
            .match_requests(|r| r.next_token() == Some("page2"))
            .then_output(|| {
                ListRegionsOutput::builder()
                    .regions(region("eu-west-1", RegionOptStatus::EnabledByDefault))
                    // An opt-in region this account has not enabled: a server that ignores the
                    // filter must not make it a target.
                    .regions(region("ap-east-1", RegionOptStatus::Disabled))
                    .build()
            });
        let client = mock_client!(aws_sdk_account, RuleMode::MatchAny, [&first, &second]);
        let got = super::enabled(&client, "mock").await.unwrap();
        assert_eq!(got, vec!["us-east-1", "af-south-1", "eu-west-1"]);
        assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn access_denied_becomes_the_rows_error() {
        let denied = mock!(Client::list_regions).then_error(|| {
            ListRegionsError::AccessDeniedException(
                aws_sdk_account::types::error::AccessDeniedException::builder()
                    .message("no account:ListRegions")
                    // A real service error carries its code in the metadata, as AWS sends it.
                    .meta(
                        aws_sdk_account::error::ErrorMetadata::builder()
                            .code("AccessDeniedException")
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
        });
        let client = mock_client!(aws_sdk_account, [&denied]);
        let e = super::enabled(&client, "mock").await.unwrap_err();
        assert_eq!(e.reason.to_string(), "AccessDeniedException");
    }
}

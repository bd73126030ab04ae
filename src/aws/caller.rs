//! Who the base credentials are (STS GetCallerIdentity): the caller's own account, reached
//! without a member role, and the ARN the HTML report's header names.

use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;

use crate::aws::error::target_error;
use crate::aws::session::Session;
use crate::model::TargetError;
use crate::target::AccountId;

impl Session {
    /// The account the base credentials belong to (STS GetCallerIdentity); `None` when it
    /// cannot be asked (then every account is reached through its role).
    pub(crate) async fn caller_account(&self) -> Option<AccountId> {
        AccountId::parse(self.caller().await.ok()?.account()?).ok()
    }

    /// The ARN the base credentials act as (STS GetCallerIdentity), for the HTML report's
    /// header; on failure, why it is unknown.
    pub(crate) async fn caller_arn(&self) -> String {
        match self.caller().await {
            Ok(out) => out.arn.unwrap_or_default(),
            Err(e) => format!("unknown ({})", e.reason),
        }
    }

    /// STS GetCallerIdentity with the base credentials.
    async fn caller(&self) -> Result<GetCallerIdentityOutput, TargetError> {
        aws_sdk_sts::Client::new(self.base())
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| target_error(e, &self.endpoint("STS", None)))
    }
}

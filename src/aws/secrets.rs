//! Lambda mode's external id, read once from the Secrets Manager secret that holds it.

use aws_sdk_secretsmanager::Client;

use crate::aws::error::target_error;
use crate::aws::session::Session;
use crate::model::TargetError;

impl Session {
    /// The secret's string, with the base credentials. The value is never printed: an error
    /// names the secret, not what it holds.
    pub(crate) async fn secret_string(&self, secret_id: &str) -> Result<String, TargetError> {
        let endpoint = self.endpoint("Secrets Manager", None);
        let answer = Client::new(self.base())
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| target_error(e, &endpoint))?;
        answer.secret_string.ok_or_else(|| {
            TargetError::new(
                crate::model::Reason::ResponseError,
                "the secret holds no string (a binary secret cannot be an external id)",
            )
        })
    }
}

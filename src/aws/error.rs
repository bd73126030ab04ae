//! SDK errors → a report's reason and message, in one place for every client (SSM, STS,
//! Account, Organizations): the service's own code where it sent one, including STS's when
//! assuming the account's role failed; else what failed, where and why, in one line.

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::model::{Reason, TargetError};

type AssumeRoleSdkError =
    aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError>;

/// An SDK error of a call sent to `endpoint` (the URL, or words naming it) as a row's error.
pub(crate) fn target_error<E>(err: SdkError<E, HttpResponse>, endpoint: &str) -> TargetError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(code) = err.as_service_error().and_then(|e| e.code()) {
        let message = err
            .as_service_error()
            .and_then(|e| e.message())
            .unwrap_or("");
        return TargetError::new(denial(code, message), message);
    }
    if let Some(e) = assume_role_error(&err, endpoint) {
        return e;
    }
    // A service error without a code (a body the SDK could not parse): name it by its HTTP
    // status, and keep the message to the error's own words rather than the raw response.
    if let SdkError::ServiceError(ctx) = &err {
        let status = ctx.raw().status().as_u16();
        return TargetError::new(Reason::Http(status), ctx.err().to_string());
    }
    transport_error(&err, endpoint)
}

/// A service's code as a reason; an AccessDenied that names a service control policy is the
/// organization's choice, not a failure (AWS says so only in the message).
fn denial(code: &str, message: &str) -> Reason {
    if code.starts_with("AccessDenied")
        && message.contains("with an explicit deny in a service control policy")
    {
        Reason::DeniedByScp
    } else {
        Reason::from_code(code)
    }
}

/// A failure before any service answered: the kind of failure, where, and its deepest cause
/// (the SDK's own chain of wrappers says nothing an operator can act on).
fn transport_error<E, R>(err: &SdkError<E, R>, endpoint: &str) -> TargetError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let why = root_cause(err);
    let (reason, message) = match err {
        SdkError::TimeoutError(_) => (
            Reason::Timeout,
            format!("no answer from {endpoint} within --operation-timeout"),
        ),
        SdkError::DispatchFailure(d) if d.is_timeout() => (
            Reason::Timeout,
            format!("no answer from {endpoint} in time: {why}"),
        ),
        SdkError::DispatchFailure(d) if d.is_io() => (
            Reason::ConnectionError,
            format!("cannot connect to {endpoint}: {why}"),
        ),
        SdkError::DispatchFailure(_) => (
            Reason::DispatchFailure,
            format!("cannot send the request to {endpoint}: {why}"),
        ),
        SdkError::ResponseError(_) => (
            Reason::ResponseError,
            format!("cannot read the answer of {endpoint}: {why}"),
        ),
        SdkError::ConstructionFailure(_) => (
            Reason::ConstructionFailure,
            format!("cannot build the request: {why}"),
        ),
        _ => (Reason::ServiceError, format!("{endpoint} failed: {why}")),
    };
    TargetError::new(reason, message)
}

/// The STS error behind a credentials failure, found in the error's source chain.
fn assume_role_error(
    err: &(dyn std::error::Error + 'static),
    endpoint: &str,
) -> Option<TargetError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(sts) = e.downcast_ref::<AssumeRoleSdkError>() {
            let inner = match sts.as_service_error().and_then(|e| e.code()) {
                Some(code) => TargetError::new(
                    Reason::from_code(code),
                    sts.as_service_error()
                        .and_then(|e| e.message())
                        .unwrap_or(""),
                ),
                // A network failure keeps its own code (Timeout, ConnectionError: what to look
                // at is the network, not IAM); any other failure without a code from STS is
                // AssumeRoleFailed. STS is reached at the same override URL as every service,
                // or at its own endpoint, not the one the failed call was for.
                None => {
                    let sts_endpoint = if endpoint.contains("://") {
                        endpoint
                    } else {
                        "the STS endpoint"
                    };
                    let t = transport_error(sts, sts_endpoint);
                    let reason = match t.reason {
                        Reason::Timeout | Reason::ConnectionError => t.reason,
                        _ => Reason::AssumeRoleFailed,
                    };
                    TargetError::new(reason, t.message)
                }
            };
            return Some(TargetError::new(
                inner.reason,
                format!("cannot assume the account's role: {}", inner.message),
            ));
        }
        cur = e.source();
    }
    None
}

/// The deepest error of the chain, as a lowercase fragment without the OS's error number:
/// `connection refused`.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = err;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    if let Some(io) = deepest.downcast_ref::<std::io::Error>() {
        use std::io::ErrorKind::*;
        let known = match io.kind() {
            ConnectionRefused => Some("connection refused"),
            ConnectionReset => Some("connection reset"),
            ConnectionAborted => Some("connection aborted"),
            TimedOut => Some("timed out"),
            UnexpectedEof => Some("the connection closed early"),
            _ => None,
        };
        if let Some(k) = known {
            return k.to_string();
        }
    }
    let text = deepest.to_string();
    let text = match text.find(" (os error") {
        Some(cut) => &text[..cut],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "no further detail".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    #[test]
    fn a_refused_connection_is_one_line_naming_where() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "os says no");
        let err: SdkError<aws_sdk_ssm::operation::get_document::GetDocumentError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(io)));
        let e = target_error(err, "http://127.0.0.1:9");
        assert_eq!(e.reason, Reason::ConnectionError);
        assert_eq!(
            e.message,
            "cannot connect to http://127.0.0.1:9: connection refused"
        );
    }
}

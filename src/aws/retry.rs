//! Trying again where the SDK's own retry does not fit: AssumeRole, whose every attempt must go
//! through the pacer (credentials.rs); CloudTrail's LookupEvents, whose throttles and other
//! failures have budgets of their own (cloudtrail.rs); and the polls that wait for something
//! to be ready (a document version turning Active, a new account's role). One backoff, one
//! reading of an AWS error as worth trying again or not, by the SDK's own lists of codes, and
//! one wait that the run's stop ends at once (`Stop`, `sleep_unless`).

use std::future::Future;
use std::time::Duration;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

/// The run's stop switch as a wait sees it: a wait ends at once when the run stops, woken
/// rather than looking now and then.
pub(crate) trait Stop: Sync {
    /// Whether the run has stopped.
    fn is_stopped(&self) -> bool;
    /// Resolves once the run stops (at once if it has).
    fn until_stopped(&self) -> impl Future<Output = ()> + Send;
}

/// Sleeps for `d`, or less: it ends as soon as `stop` resolves.
pub(crate) async fn sleep_unless(d: Duration, stop: impl Future<Output = ()>) {
    tokio::select! {
        () = tokio::time::sleep(d) => {}
        () = stop => {}
    }
}

/// Waits that start at `first` and double after each try, up to `cap`; jittered where many
/// callers fail together (every target of an account asks the same bucket, and would
/// otherwise come back together).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    first: Duration,
    cap: Duration,
    /// The share of a wait that may be cut off at random.
    jitter: f64,
}

impl Backoff {
    /// `first`, doubling to at most `cap`, each wait whole.
    pub(crate) const fn new(first: Duration, cap: Duration) -> Self {
        Backoff {
            first,
            cap,
            jitter: 0.0,
        }
    }

    /// Each wait cut by up to `share` of itself, at random.
    pub(crate) const fn jittered(self, share: f64) -> Self {
        Backoff {
            jitter: share,
            ..self
        }
    }

    /// The wait after the `n`th try (from 1).
    pub(crate) fn wait(&self, n: u32) -> Duration {
        let full = self
            .first
            .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
            .min(self.cap);
        if self.jitter == 0.0 {
            full
        } else {
            full.mul_f64(1.0 - self.jitter * fastrand::f64())
        }
    }
}

/// What a failed call says about trying again.
#[derive(Debug, PartialEq)]
pub(crate) enum Kind {
    /// The caller went too fast: waiting helps.
    Throttled,
    /// What AWS or the network may get over: a 5xx, a timeout, a reset.
    Transient,
    /// Trying again changes nothing (AccessDenied, a bad request, missing credentials).
    Final,
}

/// What a failed SDK call says about trying again: the service's answer by its code and
/// status, a timeout or a broken connection as transient.
pub(crate) fn of_call<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Kind {
    match err {
        SdkError::ServiceError(ctx) => answered(ctx.err().code(), ctx.raw().status().as_u16()),
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Kind::Transient,
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Kind::Transient,
        // Credentials that could not be had (a role, paced and retried on its own), a request
        // that could not be built: trying again changes nothing.
        _ => Kind::Final,
    }
}

/// A service's answer by its error code and HTTP status, as the SDK's standard retry reads it.
pub(crate) fn answered(code: Option<&str>, status: u16) -> Kind {
    let code = code.unwrap_or_default();
    if THROTTLING_ERRORS.contains(&code) || status == 429 {
        Kind::Throttled
    } else if TRANSIENT_ERRORS.contains(&code) || (500..600).contains(&status) {
        Kind::Transient
    } else {
        Kind::Final
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_to_its_cap_jittered() {
        let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(20)).jittered(0.5);
        for (n, full) in [(1, 0.5), (2, 1.0), (3, 2.0), (7, 20.0), (40, 20.0)] {
            let wait = b.wait(n).as_secs_f64();
            assert!(wait > full / 2.0 && wait <= full, "{n}: {wait}");
        }
    }

    #[test]
    fn without_jitter_the_wait_is_whole() {
        let b = Backoff::new(Duration::from_millis(200), Duration::from_secs(3));
        let waits: Vec<u128> = (1..=6).map(|n| b.wait(n).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3000, 3000]);
    }

    #[test]
    fn codes_and_statuses_say_whether_to_try_again() {
        assert_eq!(answered(Some("Throttling"), 400), Kind::Throttled);
        assert_eq!(answered(None, 429), Kind::Throttled);
        assert_eq!(answered(Some("InternalError"), 500), Kind::Transient);
        assert_eq!(answered(None, 503), Kind::Transient);
        assert_eq!(answered(Some("AccessDenied"), 403), Kind::Final);
    }
}

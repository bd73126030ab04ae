//! Each account's assumed-role credentials: fetched ahead of the account's first target (so
//! STS's round trips overlap other accounts' work), every AssumeRole of the run paced by one
//! pacer that learns the hub's STS throttle, and kept until shortly before they expire.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_ssm::error::ProvideErrorMetadata;

use crate::aws::retry::{self, Backoff, Kind, Stop, sleep_unless};

type AssumeRoleSdkError =
    aws_sdk_sts::error::SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError>;

/// The slowest pace it backs off to: one AssumeRole every two seconds.
const MIN_RATE: f64 = 0.5;
/// How much of the last second's successful rate it keeps at the first throttle.
const FIRST_CUT: f64 = 0.8;
/// What each success adds to the rate (at the rate, a tenth of it a second), at the least.
const GROW: f64 = 0.1;
/// Each further throttle, at most once per `CUT_EVERY`, keeps this share of the rate.
const CUT: f64 = 0.75;
const CUT_EVERY: Duration = Duration::from_millis(500);
/// A failure that may pass (a timeout, a 5xx): tried again from 100 ms, at most 5 s apart
/// (the SDK's standard mode, scaled to a call that gates every target of an account).
const RETRY: Backoff =
    Backoff::new(Duration::from_millis(100), Duration::from_secs(5)).jittered(0.5);
/// Waiting for a new account: 1 s, then doubling to at most 30 s between tries (a role
/// appears within minutes; a try costs one AssumeRole).
const READY: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30)).jittered(0.25);
/// Credentials this close to expiry are fetched again.
const FRESH_FOR: Duration = Duration::from_secs(300);

/// STS throttles the hub account that assumes every role, at a rate it does not publish: no
/// limit until STS first answers `Throttling`, then a token bucket whose rate starts below
/// the rate that was just succeeding and doubles each second while calls succeed (TCP's slow
/// start: a throttle right after the first burst says little of the rate), until STS
/// throttles again; from then on it is cut while throttling goes on and grows by a tenth of
/// itself each second (at least one call per second each second), so a cut is made good in
/// seconds at STS's 600 calls a second too. Organizations' calls share one pacer of their own
/// by the same rule (organizations.rs's gate).
#[derive(Debug)]
pub(crate) struct Pacer {
    state: Mutex<PacerState>,
}

#[derive(Debug)]
struct PacerState {
    /// Calls per second; `None` until the first throttle.
    rate: Option<f64>,
    /// Between the first throttle and the second: the rate doubles each second.
    slow_start: bool,
    tokens: f64,
    refilled: Instant,
    last_cut: Instant,
    /// When the calls of the last second succeeded.
    recent: VecDeque<Instant>,
    throttled: u64,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            state: Mutex::new(PacerState {
                rate: None,
                slow_start: false,
                tokens: 0.0,
                refilled: Instant::now(),
                last_cut: Instant::now(),
                recent: VecDeque::new(),
                throttled: 0,
            }),
        }
    }
}

impl Pacer {
    /// Waits until a call may go.
    pub(crate) async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().expect("pacer lock");
                let Some(rate) = s.rate else { return };
                let now = Instant::now();
                // At most one second's worth saved up: a burst no larger than STS's own.
                s.tokens = (s.tokens + now.duration_since(s.refilled).as_secs_f64() * rate)
                    .min(rate.max(1.0));
                s.refilled = now;
                if s.tokens >= 1.0 {
                    s.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.tokens) / rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    pub(crate) fn succeeded(&self) {
        let mut s = self.state.lock().expect("pacer lock");
        let now = Instant::now();
        s.recent.push_back(now);
        while s
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1))
        {
            s.recent.pop_front();
        }
        if let Some(rate) = s.rate {
            let grow = if s.slow_start {
                1.0
            } else {
                (1.0 / rate).max(GROW)
            };
            s.rate = Some(rate + grow);
        }
    }

    pub(crate) fn throttled(&self) {
        let mut s = self.state.lock().expect("pacer lock");
        let now = Instant::now();
        s.throttled += 1;
        // Only the last second's successes say what STS lets through now.
        while s
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1))
        {
            s.recent.pop_front();
        }
        match s.rate {
            None => {
                s.rate = Some((s.recent.len() as f64 * FIRST_CUT).max(MIN_RATE));
                s.slow_start = true;
                s.tokens = 0.0;
                s.refilled = now;
                s.last_cut = now;
            }
            // Calls in flight when the rate was cut answer throttled too: one cut per window.
            Some(rate) if now.duration_since(s.last_cut) >= CUT_EVERY => {
                s.rate = Some((rate * CUT).max(MIN_RATE));
                s.slow_start = false;
                s.tokens = 0.0;
                s.last_cut = now;
            }
            Some(_) => {}
        }
    }

    /// The current rate (`None`: not throttled yet) and how many throttles it saw.
    #[cfg(test)]
    fn state(&self) -> (Option<f64>, u64) {
        let s = self.state.lock().expect("pacer lock");
        (s.rate, s.throttled)
    }
}

/// An account's role (or chain of roles), assumed through the pacer and kept while fresh.
/// The chain's own STS clients make one attempt each: the retries are here, so every
/// attempt is paced and every throttle is seen.
#[derive(Debug)]
pub(crate) struct Assumed {
    chain: SharedCredentialsProvider,
    pacer: Arc<Pacer>,
    /// Attempts for a failure that may pass (a timeout, a 5xx), as `--max-attempts`.
    max_attempts: u32,
    /// How long throttles may keep a fetch waiting, as `--operation-timeout`.
    budget: Duration,
    held: tokio::sync::Mutex<Option<Credentials>>,
}

impl Assumed {
    pub(crate) fn new(
        chain: SharedCredentialsProvider,
        pacer: Arc<Pacer>,
        max_attempts: u32,
        budget: Duration,
    ) -> Self {
        Assumed {
            chain,
            pacer,
            max_attempts: max_attempts.max(1),
            budget,
            held: tokio::sync::Mutex::new(None),
        }
    }

    /// The account's credentials: those held while fresh, else fetched (one fetch at a time
    /// per account: the account's other callers wait for it).
    pub(crate) async fn fetch(&self) -> provider::Result {
        let mut held = self.held.lock().await;
        if let Some(c) = held.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let started = Instant::now();
        let mut failures = 0u32;
        loop {
            // One token per fetch, as the rate is learnt per fetch (a chain's hops go together).
            self.pacer.acquire().await;
            match self.chain.provide_credentials().await {
                Ok(c) => {
                    self.pacer.succeeded();
                    *held = Some(c.clone());
                    return Ok(c);
                }
                Err(e) => match kind(&e) {
                    Kind::Throttled if started.elapsed() < self.budget => self.pacer.throttled(),
                    Kind::Transient if failures + 1 < self.max_attempts => {
                        failures += 1;
                        tokio::time::sleep(RETRY.wait(failures)).await;
                    }
                    _ => return Err(e),
                },
            }
        }
    }
}

impl Assumed {
    /// As [`Assumed::fetch`], but an `AccessDenied` (a new account's role that does not exist
    /// yet: STS answers the same as for a role the caller may not assume) is tried again,
    /// with backoff, until `until`; `waiting` hears once that it waits, and for how long at
    /// most. Returns the last answer.
    pub(crate) async fn fetch_when_ready(
        &self,
        until: Instant,
        stop: &impl Stop,
        waiting: impl FnOnce(Duration),
    ) -> provider::Result {
        let mut waiting = Some(waiting);
        let mut tries = 0;
        loop {
            let answer = self.fetch().await;
            let now = Instant::now();
            match &answer {
                Err(e)
                    if now < until
                        && !stop.is_stopped()
                        && sts_code(e).as_deref() == Some("AccessDenied") =>
                {
                    if let Some(tell) = waiting.take() {
                        tell(until - now);
                    }
                    tries += 1;
                    sleep_unless(READY.wait(tries).min(until - now), stop.until_stopped()).await;
                }
                _ => return answer,
            }
        }
    }
}

/// The code STS answered with, where a credentials failure holds one.
fn sts_code(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(aws_sdk_sts::error::SdkError::ServiceError(ctx)) =
            e.downcast_ref::<AssumeRoleSdkError>()
        {
            return ctx.err().code().map(str::to_string);
        }
        cur = e.source();
    }
    None
}

impl ProvideCredentials for Assumed {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.fetch())
    }
}

fn fresh(c: &Credentials) -> bool {
    c.expiry().is_none_or(|t| t > SystemTime::now() + FRESH_FOR)
}

/// What the STS error behind a credentials failure says about trying again. The answer
/// nearest the cause decides: an STS call whose own credentials failed (the hub's, or the
/// previous hop of a chain) is a dispatch failure wrapping that failure, so the walk goes on
/// through it; missing or misconfigured base credentials are final.
fn kind(err: &(dyn std::error::Error + 'static)) -> Kind {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_sts::error::SdkError;
    let mut verdict = Kind::Final;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(
            CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_),
        ) = e.downcast_ref::<CredentialsError>()
        {
            return Kind::Final;
        }
        if let Some(sts) = e.downcast_ref::<AssumeRoleSdkError>() {
            match sts {
                SdkError::TimeoutError(_) | SdkError::ResponseError(_) => verdict = Kind::Transient,
                SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
                    verdict = Kind::Transient
                }
                // Its cause, further down, decides.
                SdkError::DispatchFailure(_) => {}
                SdkError::ServiceError(ctx) => {
                    return retry::answered(ctx.err().code(), ctx.raw().status().as_u16());
                }
                _ => return Kind::Final,
            }
        }
        cur = e.source();
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_starts_unlimited_then_backs_off_and_recovers() {
        let p = Pacer::default();
        for _ in 0..40 {
            p.succeeded();
        }
        assert_eq!(p.state().0, None);
        p.throttled();
        let first = p.state().0.unwrap();
        assert!((first - 32.0).abs() < 1e-9, "{first}");
        // Throttles answered together cut once.
        p.throttled();
        p.throttled();
        assert_eq!(p.state(), (Some(first), 3));
        for _ in 0..32 {
            p.succeeded();
        }
        let grown = p.state().0.unwrap();
        // Slow start: a success a call, so a second at the rate doubles it.
        assert!((grown - 2.0 * first).abs() < 1e-9, "{grown}");
        // The next throttle, a window later, cuts and ends the slow start: a tenth of a call
        // per success from then on, a tenth of the rate a second.
        p.state.lock().unwrap().last_cut -= CUT_EVERY;
        p.throttled();
        let cut = p.state().0.unwrap();
        assert!((cut - grown * CUT).abs() < 1e-9, "{cut}");
        for _ in 0..48 {
            p.succeeded();
        }
        let regrown = p.state().0.unwrap();
        assert!((regrown - (cut + 4.8)).abs() < 1e-9, "{regrown}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(RETRY.wait(1) <= Duration::from_millis(100));
        assert!(RETRY.wait(3) >= Duration::from_millis(200));
        assert!(RETRY.wait(30) <= Duration::from_secs(5));
        assert!(READY.wait(1) >= Duration::from_millis(750));
        assert!(READY.wait(9) <= Duration::from_secs(30));
    }
}

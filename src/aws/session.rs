//! Credentials and clients: the base config from the standard chain, one role (or chain of
//! roles) per account assumed through the SDK's AssumeRoleProvider (built when the role is
//! assumed, not held), each account's other clients built once from the base config and its
//! credentials (through [`Session::shared`]), one SSM client for the whole run that each call
//! points at its target's account (credentials) and region, and the roles assumed ahead of
//! their targets (the prefetch). The other services'
//! clients are built beside their calls (cloudtrail.rs, securityhub.rs, resources.rs,
//! regions.rs, organizations.rs, caller.rs); `--wait-ready`'s wait is in wait_ready.rs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_ssm::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ssm::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_ssm::config::{
    ConfigBag, Intercept, RuntimeComponents, SharedCredentialsProvider, SharedIdentityCache,
};

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::aws::credentials::{Assumed, Pacer};
use crate::aws::error::target_error;
use crate::model::TargetError;
use crate::target::{Account, AccountId, Region, Target};

/// Where and as whom to connect: the settings' (src/settings/checked.rs).
pub(crate) use crate::settings::SessionOptions;

/// Accounts an organization may hold that a session built before the walk has room for.
const ORG_ROOM: usize = 100_000;

/// The base config, one SSM client, and one credentials provider per account.
pub(crate) struct Session {
    base: SdkConfig,
    /// Every target's SSM client: an SDK client costs tens of kilobytes, so one per account
    /// made memory grow with the fleet (10,000 accounts: hundreds of megabytes). Each call
    /// carries its account's credentials and its region (`TargetClient::scope`).
    ssm: aws_sdk_ssm::Client,
    /// The partition of the base region: every target must be in it.
    partition: &'static str,
    /// Each account's credentials, built when the run starts, or as `--org`'s walk finds the
    /// account where it streams them ([`Session::add`]).
    accounts: RwLock<HashMap<AccountId, Arc<AccountClients>>>,
    /// What an account's credentials are built from.
    makes: Makes,
    /// Clients of other services that act in every account, one each for the run (see
    /// [`Session::run_wide`]).
    run_wide: RunWide,
    /// Accounts whose inventory `profile` is in none of the AWS config files, with its name.
    missing_profiles: Vec<(AccountId, String)>,
}

/// What an account's credentials provider is built from: the base config's STS, the session
/// options, the run's STS pacer and the session name.
struct Makes {
    sts_base: Arc<SdkConfig>,
    opts: SessionOptions,
    pacer: Arc<Pacer>,
    session_name: Arc<str>,
}

impl Makes {
    fn clients(&self, account: &Account, partition: &str) -> AccountClients {
        let (chain, assumes_role) = account_credentials(
            &self.sts_base,
            &self.opts,
            account,
            partition,
            &self.session_name,
        );
        let assumed = assumes_role.then(|| {
            Arc::new(Assumed::new(
                chain.clone(),
                self.pacer.clone(),
                self.opts.max_attempts,
                self.opts.operation_timeout,
            ))
        });
        AccountClients {
            credentials: match &assumed {
                Some(a) => SharedCredentialsProvider::new(
                    a.clone() as Arc<dyn aws_credential_types::provider::ProvideCredentials>
                ),
                None => chain,
            },
            assumed,
            others: PerAccount::default(),
        }
    }
}

struct AccountClients {
    credentials: SharedCredentialsProvider,
    /// The assumed role behind `credentials`, for fetching ahead (none for a profile alone).
    assumed: Option<Arc<Assumed>>,
    /// The account's other clients, each built on its first use: see [`Session::shared`].
    others: PerAccount,
}

/// The clients of other services one account's targets share, each built on the account's
/// first use (with its credentials) and kept for the run.
#[derive(Default)]
pub(crate) struct PerAccount {
    /// `audit --who`'s (src/aws/cloudtrail.rs).
    pub(crate) trail: OnceLock<aws_sdk_cloudtrail::Client>,
}

/// The clients of other services that act in every account, one each for the run: each call
/// names its account's credentials in its per-call settings ([`OnTarget`]).
#[derive(Default)]
pub(crate) struct RunWide {
    /// `audit --security-hub`'s (src/aws/securityhub.rs).
    pub(crate) hub: OnceLock<aws_sdk_securityhub::Client>,
    /// Preflight's S3, CloudWatch Logs and KMS clients (src/aws/resources.rs).
    pub(crate) checks: OnceLock<(
        aws_sdk_s3::Client,
        aws_sdk_cloudwatchlogs::Client,
        aws_sdk_kms::Client,
    )>,
}

/// `request` (an SDK fluent builder) sent with `settings` as its per-call override: how every
/// call on a run-wide client is pointed at its target (an account's credentials, a region). A
/// macro, not a generic function: the bound the SDK puts on `send` (`CustomizableSend`) is
/// private to each SDK crate, so no function outside it can name it.
macro_rules! scoped {
    ($request:expr, $settings:expr) => {
        $request.customize().config_override($settings).send()
    };
}
pub(crate) use scoped;

/// An SSM call on `target` (a [`TargetClient`]), awaited: the run's client, the target's
/// per-call settings, a failure as the target's error. `ssm_call!(target, get_document()..)`.
macro_rules! ssm_call {
    ($target:expr, $($call:tt)+) => {
        $crate::aws::session::scoped!($target.ssm().$($call)+, $target.scope())
            .await
            .map_err(|e| $target.error(e))
    };
}
pub(crate) use ssm_call;

/// Where and as whom one target's calls go: its account's credentials (with the run's identity
/// cache beside them), its region, and its endpoint as an error message names it. The one
/// description of a target that SSM's [`TargetClient`] and Security Hub's client share.
#[derive(Clone)]
pub(crate) struct OnTarget {
    /// The account's credentials (their identity cache partition with them).
    pub(crate) credentials: Option<SharedCredentialsProvider>,
    /// The run's identity cache, set beside the credentials on each call: a call whose
    /// override names credentials but no cache gets a new cache of its own from the SDK,
    /// built and dropped per call.
    pub(crate) identity_cache: Option<SharedIdentityCache>,
    pub(crate) region: aws_config::Region,
    /// Where its calls go, as an error message names it.
    pub(crate) endpoint: Arc<str>,
}

/// `conf` (any SDK's config builder) with [`OnTarget`]'s settings: its region, its account's
/// credentials and the identity cache. A macro because each SDK crate has its own builder type.
macro_rules! on_target {
    ($conf:expr, $on:expr) => {{
        let on: &$crate::aws::session::OnTarget = &$on;
        let mut conf = $conf.region(on.region.clone());
        // `set_` keeps the account's provider (and its cache partition) as it is; the plain
        // `credentials_provider` would wrap it anew, a cache partition per call.
        if let Some(c) = &on.credentials {
            conf.set_credentials_provider(Some(c.clone()));
        }
        if let Some(c) = &on.identity_cache {
            conf.set_identity_cache(c.clone());
        }
        conf
    }};
}
pub(crate) use on_target;

/// A target: its account's SSM client, the region its calls go to, and a count of the HTTP
/// attempts its calls made (the report's `attempts`).
#[derive(Clone)]
pub(crate) struct TargetClient {
    ssm: aws_sdk_ssm::Client,
    on: OnTarget,
    retry_partition: RetryPartition,
    attempts: Arc<AtomicU32>,
}

impl TargetClient {
    /// A target of `ssm` (a mocked client) in us-east-1, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(ssm: aws_sdk_ssm::Client) -> Self {
        TargetClient {
            ssm,
            on: OnTarget {
                credentials: None,
                identity_cache: None,
                region: aws_config::Region::from_static("us-east-1"),
                endpoint: "mock".into(),
            },
            retry_partition: RetryPartition::new("ssm-prefs/tests"),
            attempts: Arc::new(AtomicU32::new(0)),
        }
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// A failed call of this target as its row's error.
    pub(crate) fn error<E>(&self, err: SdkError<E, HttpResponse>) -> TargetError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        target_error(err, &self.on.endpoint)
    }

    /// The run's client; every call on it goes through [`scoped!`] with
    /// `target.scope()`, which points it at this target.
    pub(crate) fn ssm(&self) -> &aws_sdk_ssm::Client {
        &self.ssm
    }

    /// A client with this target's settings built in, for the SDK's paginators, which take
    /// no per-call override (building one costs more than a call: for rare calls only).
    pub(crate) fn paging(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::from_conf(self.on_target(self.ssm.config().to_builder()).build())
    }

    /// The per-call settings that make the run's client act on this target: its account's
    /// credentials, its region, its retry partition and its attempt counter.
    pub(crate) fn scope(&self) -> aws_sdk_ssm::config::Builder {
        self.on_target(aws_sdk_ssm::config::Builder::default())
    }

    /// `conf` with this target's settings.
    fn on_target(&self, conf: aws_sdk_ssm::config::Builder) -> aws_sdk_ssm::config::Builder {
        on_target!(conf, self.on)
            .retry_partition(self.retry_partition.clone())
            .interceptor(CountAttempts(self.attempts.clone()))
    }
}

#[derive(Debug)]
struct CountAttempts(Arc<AtomicU32>);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "CountAttempts"
    }
    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_ssm::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// `ssm-prefs-$USER`, so CloudTrail names the operator; only the characters STS allows.
pub(crate) fn default_session_name() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "operator".into());
    let clean: String = user
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(*c))
        .collect();
    let mut name = format!(
        "ssm-prefs-{}",
        if clean.is_empty() { "operator" } else { &clean }
    );
    name.truncate(64);
    name
}

impl Session {
    /// Builds every account's credentials provider. Makes no AWS call: STS is called lazily,
    /// once per account, by the identity cache the regional clients share.
    pub(crate) async fn new(opts: &SessionOptions, accounts: &[Arc<Account>]) -> Self {
        // One cache partition per account: the SDK's default of 64 partitions would evict
        // accounts mid-run in a large fleet and assume their roles again. Room too for the
        // accounts `--org`'s walk adds as it finds them (partitions are made as used: the bound
        // costs nothing).
        let cache = IdentityCache::lazy()
            .max_partitions(accounts.len().max(ORG_ROOM) + 8)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).identity_cache(cache);
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        // Retries and timeouts are the SDK's own: standard mode with jittered backoff, and an
        // attempt timeout short enough that a hung attempt is retried within the call's budget.
        loader = loader
            .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(opts.operation_timeout)
                    .operation_attempt_timeout(opts.operation_timeout / 3)
                    .build(),
            );
        // One HTTP client for every SDK client of the run: one TLS setup and one connection pool,
        // instead of a new client (and root-certificate parse) per target.
        loader = loader.http_client(SharedHttp::new());
        // Stalled-stream protection watches streaming bodies; these calls send and receive a few
        // kilobytes of JSON, which the timeouts above already bound, so its per-request timers
        // and wrappers are pure cost.
        loader = loader.stalled_stream_protection(
            aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
        );
        let mut base = loader.load().await;
        if base.region().is_none() {
            // STS needs a region to sign with; the global partition's home region is the safe default.
            base = base
                .into_builder()
                .region(aws_config::Region::from_static("us-east-1"))
                .build();
        }
        let partition = base
            .region()
            .and_then(|r| Region::parse(r.as_ref()).ok())
            .map(|r| r.partition())
            .unwrap_or("aws");
        let session_name = opts
            .session_name
            .clone()
            .unwrap_or_else(default_session_name);
        // The chains' STS clients make one attempt each: `Assumed` retries, through the pacer.
        let sts_base = base
            .clone()
            .into_builder()
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build();
        let makes = Makes {
            sts_base: Arc::new(sts_base),
            opts: opts.clone(),
            pacer: Arc::new(Pacer::default()),
            session_name: session_name.into(),
        };
        let mut providers = HashMap::new();
        for account in accounts {
            if !providers.contains_key(&account.id) {
                let clients = makes.clients(account, partition);
                providers.insert(account.id.clone(), Arc::new(clients));
            }
        }
        Self {
            ssm: aws_sdk_ssm::Client::new(&base),
            run_wide: RunWide::default(),
            base,
            partition,
            accounts: RwLock::new(providers),
            makes,
            missing_profiles: missing_profiles(accounts).await,
        }
    }

    /// Accounts whose `profile` the AWS config files lack: every call of theirs will fail.
    pub(crate) fn missing_profiles(&self) -> &[(AccountId, String)] {
        &self.missing_profiles
    }

    pub(crate) fn partition(&self) -> &'static str {
        self.partition
    }

    /// Where a service's calls go, as an error message names it: the `--endpoint-url` (or
    /// `AWS_ENDPOINT_URL`) when one is set, else the service's endpoint in the region.
    pub(crate) fn endpoint(&self, service: &str, region: Option<&Region>) -> String {
        match (self.base.endpoint_url(), region) {
            (Some(url), _) => url.to_string(),
            (None, Some(region)) => format!("the {service} endpoint in {region}"),
            (None, None) => format!("the {service} endpoint"),
        }
    }

    /// The base config: the base credentials, in the base region (Organizations and STS's
    /// GetCallerIdentity act with it).
    pub(crate) fn base(&self) -> &SdkConfig {
        &self.base
    }

    /// The account's client in `slot`, built by `build` from the base config with the
    /// account's credentials on the account's first use, then shared by all its targets (and
    /// so its credentials provider, its cache partition and the connection pool).
    pub(crate) fn shared<C: Clone>(
        &self,
        account: &AccountId,
        slot: impl FnOnce(&PerAccount) -> &OnceLock<C>,
        build: impl FnOnce(&SdkConfig) -> C,
    ) -> C {
        let clients = self.account(account);
        slot(&clients.others)
            .get_or_init(|| build(&self.config_of(&clients)))
            .clone()
    }

    /// The run's client in `slot`, built by `build` from the base config on first use: its
    /// calls name their account's credentials ([`Session::on_target`]) in their per-call
    /// config. A client per account would cost tens of kilobytes each.
    pub(crate) fn run_wide<C: Clone>(
        &self,
        slot: impl FnOnce(&RunWide) -> &OnceLock<C>,
        build: impl FnOnce(&SdkConfig) -> C,
    ) -> C {
        slot(&self.run_wide)
            .get_or_init(|| build(&self.base))
            .clone()
    }

    /// A client of the account built by `build` from the base config with the account's
    /// credentials, not kept: for calls made once per account (the Account API's).
    pub(crate) fn once<C>(&self, account: &AccountId, build: impl FnOnce(&SdkConfig) -> C) -> C {
        build(&self.config_of(&self.account(account)))
    }

    /// The base config with the account's credentials: a service's config built from it
    /// takes the account's provider as it is (`set_credentials_provider`), its cache
    /// partition too; wrapping it anew would give every client its own AssumeRole.
    fn config_of(&self, account: &AccountClients) -> SdkConfig {
        self.base
            .to_builder()
            .credentials_provider(account.credentials.clone())
            .build()
    }

    /// The role ARN for an account and role name in the base partition.
    pub(crate) fn role_arn(&self, role: &str, account: &AccountId) -> String {
        role_arn(role, self.partition, account)
    }

    /// Accounts `--org`'s walk found while the run goes on, each given its credentials (an
    /// account already known keeps its own).
    pub(crate) fn add(&self, accounts: &[Arc<Account>]) {
        let mut known = self.accounts.write().expect("accounts lock");
        for account in accounts {
            if !known.contains_key(&account.id) {
                let clients = self.makes.clients(account, self.partition);
                known.insert(account.id.clone(), Arc::new(clients));
            }
        }
    }

    fn account(&self, account: &AccountId) -> Arc<AccountClients> {
        self.account_if(account)
            .expect("session built for every selected account")
    }

    fn account_if(&self, account: &AccountId) -> Option<Arc<AccountClients>> {
        self.accounts
            .read()
            .expect("accounts lock")
            .get(account)
            .cloned()
    }

    /// The run's SSM client; each call names its target's settings ([`Session::on_target`]).
    pub(crate) fn run_ssm(&self) -> aws_sdk_ssm::Client {
        self.ssm.clone()
    }

    /// A client for one target: the run's SSM client with its account's credentials provider
    /// (so the account's targets share its role and cache partition); all clients share the
    /// base config's identity cache and HTTP connection pool.
    pub(crate) fn client(&self, target: &Target) -> TargetClient {
        TargetClient {
            ssm: self.ssm.clone(),
            on: self.on_target(target, "SSM"),
            // AWS throttles per account and region: so does the retry token bucket, rather than
            // one bucket per region that a single throttled account would drain for all. The
            // bucket is the target's own (a custom partition), freed with it: a partition
            // named only is kept in the SDK's process-wide map for good, one per target.
            retry_partition: RetryPartition::custom(format!(
                "ssm-prefs/{}/{}",
                target.account_id(),
                target.region
            ))
            .token_bucket(TokenBucket::default())
            .build(),
            attempts: Arc::new(AtomicU32::new(0)),
        }
    }

    /// Where and as whom `target`'s calls to `service` go: the one function the run-wide
    /// clients (SSM's, preflight's, the node check's, Security Hub's) take a target's
    /// settings from.
    pub(crate) fn on_target(&self, target: &Target, service: &str) -> OnTarget {
        OnTarget {
            credentials: Some(self.account(target.account_id()).credentials.clone()),
            identity_cache: self.base.identity_cache(),
            region: aws_config::Region::from_static(target.region.as_str()),
            endpoint: self.endpoint(service, Some(&target.region)).into(),
        }
    }

    /// Assumes the accounts' roles ahead of their targets, in this order, `in_flight` at a
    /// time (the pacer decides when each goes), so a target rarely waits for STS; a failure
    /// here is left for the target's own call to report. Starts no more once `stopped` says
    /// the run stopped starting targets, and ends when the handle is dropped.
    pub(crate) fn prefetch(
        &self,
        order: &[AccountId],
        in_flight: usize,
        stopped: impl Fn() -> bool + Send + Sync + 'static,
    ) -> Prefetch {
        let assumed: Vec<Arc<Assumed>> = self.assumed(order).into_iter().map(|(_, a)| a).collect();
        let task = tokio::spawn(async move {
            use futures::StreamExt;
            futures::stream::iter(assumed)
                .take_while(|_| std::future::ready(!stopped()))
                .for_each_concurrent(in_flight, |a| async move {
                    let _ = a.fetch().await;
                })
                .await;
        });
        Prefetch(task)
    }

    /// The assumed roles of these accounts, each once, in this order (an account reached
    /// with a profile alone, or the base credentials, has none).
    pub(crate) fn assumed<'a>(&self, order: &'a [AccountId]) -> Vec<(&'a AccountId, Arc<Assumed>)> {
        let mut seen = std::collections::HashSet::new();
        order
            .iter()
            .filter(|id| seen.insert((*id).clone()))
            .filter_map(|id| Some((id, self.account_if(id)?.assumed.clone()?)))
            .collect()
    }
}

/// The accounts whose inventory `profile` the AWS config files (`~/.aws/config`,
/// `~/.aws/credentials`, or where `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` point)
/// do not define: the SDK only says its credential provider "was not enabled".
async fn missing_profiles(accounts: &[Arc<Account>]) -> Vec<(AccountId, String)> {
    let named: Vec<(&AccountId, &String)> = accounts
        .iter()
        .filter_map(|a| a.profile.as_ref().map(|p| (&a.id, p)))
        .collect();
    if named.is_empty() {
        return vec![];
    }
    let profiles = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &aws_types::os_shim_internal::Env::real(),
        &aws_runtime::env_config::file::EnvConfigFiles::default(),
        None,
    )
    .await
    .ok();
    let mut missing: Vec<(AccountId, String)> = named
        .into_iter()
        .filter(|(_, p)| {
            profiles
                .as_ref()
                .is_none_or(|set| set.get_profile(p).is_none())
        })
        .map(|(id, p)| (id.clone(), p.clone()))
        .collect();
    missing.dedup();
    missing
}

/// The account's credentials: its named profile, then each role of its chain in turn (the
/// default role when the inventory names none and no profile is given); and whether it
/// assumes a role (a profile alone does not). A role chain is a [`RoleChain`], whose SDK
/// providers exist only while a role is assumed.
fn account_credentials(
    base: &Arc<SdkConfig>,
    opts: &SessionOptions,
    account: &Account,
    partition: &str,
    session_name: &Arc<str>,
) -> (SharedCredentialsProvider, bool) {
    // The caller's own account (`--org`) has no member role: the base credentials act there.
    if account.base_credentials
        && account.roles.is_empty()
        && account.profile.is_none()
        && let Some(base) = base.credentials_provider()
    {
        return (base, false);
    }
    let roles: Vec<String> = if !account.roles.is_empty() {
        account.roles.clone()
    } else if account.profile.is_none() {
        vec![opts.role_name.clone()]
    } else {
        vec![]
    };
    if roles.is_empty() {
        let profile = account.profile.clone().expect("a profile where no role is");
        return (profile_provider(&profile), false);
    }
    let external_id = account
        .external_id
        .clone()
        .or_else(|| opts.external_id.clone());
    let last = roles.len() - 1;
    let hops = roles
        .iter()
        .enumerate()
        .map(|(i, role)| {
            // The external id guards the target account's role: the last hop of a chain.
            let id = if i == last { external_id.clone() } else { None };
            (role_arn(role, partition, &account.id), id)
        })
        .collect();
    let chain = RoleChain {
        base: base.clone(),
        profile: account.profile.clone(),
        hops,
        session_name: session_name.clone(),
    };
    (SharedCredentialsProvider::new(chain), true)
}

fn profile_provider(profile: &str) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(
        aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name(profile)
            .build(),
    )
}

/// How an account's role is assumed: the SDK's AssumeRoleProvider for each hop, built when
/// the role is assumed (once per account, then again only as its credentials near expiry)
/// and dropped after. Each provider holds an STS client of its own, tens of kilobytes: held
/// for every account, they were most of a 10,000-account run's memory.
#[derive(Debug)]
struct RoleChain {
    base: Arc<SdkConfig>,
    profile: Option<String>,
    /// Each role's ARN, and the external id its AssumeRole sends.
    hops: Vec<(String, Option<String>)>,
    session_name: Arc<str>,
}

impl RoleChain {
    async fn provider(&self) -> SharedCredentialsProvider {
        let mut current = self.profile.as_deref().map(profile_provider);
        for (arn, external_id) in &self.hops {
            let mut builder = AssumeRoleProvider::builder(arn)
                .session_name(&*self.session_name)
                .configure(&self.base);
            if let Some(id) = external_id {
                builder = builder.external_id(id);
            }
            let provider = match current.take() {
                Some(prev) => builder.build_from_provider(prev).await,
                None => builder.build().await,
            };
            current = Some(SharedCredentialsProvider::new(provider));
        }
        current.expect("at least one role")
    }
}

impl ProvideCredentials for RoleChain {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            self.provider().await.provide_credentials().await
        })
    }
}

/// The running prefetch; dropping it stops it.
pub(crate) struct Prefetch(tokio::task::JoinHandle<()>);

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A role name becomes this account's role ARN; a full ARN is used as written.
pub(crate) fn role_arn(role: &str, partition: &str, account: &AccountId) -> String {
    if role.starts_with("arn:") {
        role.to_string()
    } else {
        format!(
            "arn:{partition}:iam::{account}:role/{}",
            role.trim_start_matches('/')
        )
    }
}

/// The SDK's default HTTPS client (rustls, aws-lc, proxy settings from the environment), built
/// once and shared. Without it every `Client::from_conf` would build its own; and the SDK's
/// check at client construction builds, then drops, a whole TLS connector each time — parsing
/// every root certificate once per target. Connectors are built on first use and cached by the
/// inner client, so skipping that check loses nothing.
#[derive(Debug, Clone)]
struct SharedHttp(aws_sdk_ssm::config::SharedHttpClient);

impl SharedHttp {
    fn new() -> Self {
        use aws_smithy_http_client::proxy::ProxyConfig;
        use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
        let client = Builder::new().build_with_connector_fn(|settings, components| {
            let mut conn = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ));
            conn.set_connector_settings(settings.cloned());
            if let Some(components) = components {
                conn.set_sleep_impl(components.sleep_impl());
            }
            conn.set_proxy_config(Some(ProxyConfig::from_env()));
            conn.build()
        });
        SharedHttp(client)
    }
}

impl aws_sdk_ssm::config::HttpClient for SharedHttp {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_become_arns() {
        let id = AccountId::parse("012345678901").unwrap();
        assert_eq!(
            role_arn("Admin", "aws-cn", &id),
            "arn:aws-cn:iam::012345678901:role/Admin"
        );
        assert_eq!(
            role_arn("arn:aws:iam::111111111111:role/X", "aws", &id),
            "arn:aws:iam::111111111111:role/X"
        );
    }

    #[test]
    fn session_name_is_sts_safe() {
        let n = default_session_name();
        assert!(n.starts_with("ssm-prefs-") && n.len() <= 64);
    }
}

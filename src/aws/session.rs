//! Credentials and clients: the base config from the standard chain, one role (or chain of
//! roles) per account assumed through the SDK's AssumeRoleProvider, and one SSM client per
//! account that each call points at its target's region.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ssm::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ssm::config::retry::RetryPartition;
use aws_sdk_ssm::config::{ConfigBag, Intercept, RuntimeComponents, SharedCredentialsProvider};

use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use crate::aws::credentials::{Assumed, Pacer};
use crate::aws::error::target_error;
use crate::aws::resources::CheckClients;
use crate::model::TargetError;
use crate::target::{Account, AccountId, Region, Target};

/// Where and as whom to connect, from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionOptions {
    pub role_name: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub max_attempts: u32,
    pub operation_timeout: std::time::Duration,
}

/// The base config plus one credentials provider, and one SSM client, per account.
pub(crate) struct Session {
    base: SdkConfig,
    /// The partition of the base region: every target must be in it.
    partition: &'static str,
    accounts: HashMap<AccountId, AccountClients>,
    /// Accounts whose inventory `profile` is in none of the AWS config files, with its name.
    missing_profiles: Vec<(AccountId, String)>,
}

struct AccountClients {
    credentials: SharedCredentialsProvider,
    /// The assumed role behind `credentials`, for fetching ahead (none for a profile alone).
    assumed: Option<Arc<Assumed>>,
    /// Built on the account's first target and shared by all its regions: building an SDK
    /// client costs more CPU than a call, so one per target doubled the tool's own work.
    ssm: OnceLock<aws_sdk_ssm::Client>,
    /// `audit --who`'s CloudTrail client, built on the account's first lookup.
    trail: OnceLock<aws_sdk_cloudtrail::Client>,
    /// `audit --security-hub`'s client, built on the account's first finding.
    hub: OnceLock<aws_sdk_securityhub::Client>,
    /// Preflight's clients, built on the account's first check.
    checks: OnceLock<(
        aws_sdk_s3::Client,
        aws_sdk_cloudwatchlogs::Client,
        aws_sdk_kms::Client,
    )>,
}

/// A target: its account's SSM client, the region its calls go to, and a count of the HTTP
/// attempts its calls made (the report's `attempts`).
#[derive(Clone)]
pub(crate) struct TargetClient {
    ssm: aws_sdk_ssm::Client,
    region: aws_config::Region,
    retry_partition: RetryPartition,
    attempts: Arc<AtomicU32>,
    /// Where its calls go, as an error message names it.
    endpoint: Arc<str>,
}

impl TargetClient {
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// A failed call of this target as its row's error.
    pub(crate) fn error<E>(&self, err: SdkError<E, HttpResponse>) -> TargetError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        target_error(err, &self.endpoint)
    }

    /// The account's client; every call on it goes through `customize().config_override(
    /// target.scope())`, which points it at this target.
    pub(crate) fn ssm(&self) -> &aws_sdk_ssm::Client {
        &self.ssm
    }

    /// The per-call settings that make the account's client act on this target: its region,
    /// its retry partition and its attempt counter.
    pub(crate) fn scope(&self) -> aws_sdk_ssm::config::Builder {
        aws_sdk_ssm::config::Builder::default()
            .region(self.region.clone())
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
        // accounts mid-run in a large fleet and assume their roles again.
        let cache = IdentityCache::lazy()
            .max_partitions(accounts.len() + 8)
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
        let pacer = Arc::new(Pacer::default());
        let mut providers = HashMap::new();
        for account in accounts {
            if providers.contains_key(&account.id) {
                continue;
            }
            let (chain, assumes_role) =
                account_credentials(&sts_base, opts, account, partition, &session_name).await;
            let assumed = assumes_role.then(|| {
                Arc::new(Assumed::new(
                    chain.clone(),
                    pacer.clone(),
                    opts.max_attempts,
                    opts.operation_timeout,
                ))
            });
            providers.insert(
                account.id.clone(),
                AccountClients {
                    credentials: match &assumed {
                        Some(a) => SharedCredentialsProvider::new(a.clone()
                            as Arc<dyn aws_credential_types::provider::ProvideCredentials>),
                        None => chain,
                    },
                    assumed,
                    ssm: OnceLock::new(),
                    trail: OnceLock::new(),
                    hub: OnceLock::new(),
                    checks: OnceLock::new(),
                },
            );
        }
        Self {
            base,
            partition,
            accounts: providers,
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

    /// An Account API client acting inside the account (for ListRegions).
    pub(crate) fn account_client(&self, account: &AccountId) -> aws_sdk_account::Client {
        let creds = self.account(account).credentials.clone();
        let mut conf = aws_sdk_account::config::Builder::from(&self.base);
        conf.set_credentials_provider(Some(creds));
        aws_sdk_account::Client::from_conf(conf.build())
    }

    /// An Organizations client with the base credentials (the caller is in the management or
    /// a delegated administrator account).
    pub(crate) fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(&self.base)
    }

    /// The role ARN for an account and role name in the base partition.
    pub(crate) fn role_arn(&self, role: &str, account: &AccountId) -> String {
        role_arn(role, self.partition, account)
    }

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
    async fn caller(
        &self,
    ) -> Result<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput, TargetError>
    {
        aws_sdk_sts::Client::new(&self.base)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| target_error(e, &self.endpoint("STS", None)))
    }

    fn account(&self, account: &AccountId) -> &AccountClients {
        self.accounts
            .get(account)
            .expect("session built for every selected account")
    }

    /// A client for one target. All targets of an account share its SSM client (and so its
    /// credentials provider); all clients share the base config's identity cache and HTTP
    /// connection pool.
    pub(crate) fn client(&self, target: &Target) -> TargetClient {
        let account = self.account(target.account_id());
        let ssm = account.ssm.get_or_init(|| {
            let mut conf = aws_sdk_ssm::config::Builder::from(&self.base);
            // `set_` keeps the account's provider (and its cache partition) as it is; the plain
            // `credentials_provider` would wrap it anew, giving every client its own AssumeRole.
            conf.set_credentials_provider(Some(account.credentials.clone()));
            aws_sdk_ssm::Client::from_conf(conf.build())
        });
        TargetClient {
            ssm: ssm.clone(),
            region: aws_config::Region::new(target.region.as_str().to_string()),
            // AWS throttles per account and region: so does the retry token bucket, rather than
            // one bucket per region that a single throttled account would drain for all.
            retry_partition: RetryPartition::new(format!(
                "ssm-prefs/{}/{}",
                target.account_id(),
                target.region
            )),
            attempts: Arc::new(AtomicU32::new(0)),
            endpoint: self.endpoint("SSM", Some(&target.region)).into(),
        }
    }
}

impl Session {
    /// `audit --who`'s CloudTrail client for one target (built once per account), with the
    /// region its calls go to.
    pub(crate) fn trail(&self, target: &Target) -> crate::aws::cloudtrail::TrailClient {
        let account = self.account(target.account_id());
        let client = account.trail.get_or_init(|| {
            let mut conf = aws_sdk_cloudtrail::config::Builder::from(&self.base);
            conf.set_credentials_provider(Some(account.credentials.clone()));
            // The lookup retries on its own terms (cloudtrail.rs): a throttle waits its turn
            // at the account's 2 a second, another failure is tried briefly, a few times.
            conf.set_retry_config(Some(RetryConfig::disabled()));
            aws_sdk_cloudtrail::Client::from_conf(conf.build())
        });
        crate::aws::cloudtrail::TrailClient {
            client: client.clone(),
            region: aws_config::Region::new(target.region.as_str().to_string()),
            endpoint: self.endpoint("CloudTrail", Some(&target.region)).into(),
        }
    }

    /// `audit --security-hub`'s client for one target (built once per account), with the
    /// region its calls go to.
    pub(crate) fn hub(&self, target: &Target) -> crate::aws::securityhub::HubClient {
        let account = self.account(target.account_id());
        let client = account.hub.get_or_init(|| {
            let mut conf = aws_sdk_securityhub::config::Builder::from(&self.base);
            conf.set_credentials_provider(Some(account.credentials.clone()));
            // BatchImportFindings allows 10 requests a second per account and region (a burst
            // of 30): a throttled import waits and tries again (backoff up to 20 s).
            conf.set_retry_config(Some(RetryConfig::standard().with_max_attempts(10)));
            aws_sdk_securityhub::Client::from_conf(conf.build())
        });
        crate::aws::securityhub::HubClient {
            client: client.clone(),
            region: aws_config::Region::new(target.region.as_str().to_string()),
            partition: target.region.partition(),
            endpoint: self.endpoint("Security Hub", Some(&target.region)).into(),
        }
    }

    /// Preflight's clients for one target: its account's S3, CloudWatch Logs and KMS
    /// clients (built once per account), each call pointed at the region it is about.
    pub(crate) fn checks(&self, target: &Target) -> CheckClients {
        let account = self.account(target.account_id());
        let (s3, logs, kms) = account.checks.get_or_init(|| {
            let mut s3 = aws_sdk_s3::config::Builder::from(&self.base);
            s3.set_credentials_provider(Some(account.credentials.clone()));
            // An endpoint override (an emulator) has no per-bucket host names.
            if self.base.endpoint_url().is_some() {
                s3.set_force_path_style(Some(true));
            }
            let mut logs = aws_sdk_cloudwatchlogs::config::Builder::from(&self.base);
            logs.set_credentials_provider(Some(account.credentials.clone()));
            let mut kms = aws_sdk_kms::config::Builder::from(&self.base);
            kms.set_credentials_provider(Some(account.credentials.clone()));
            (
                aws_sdk_s3::Client::from_conf(s3.build()),
                aws_sdk_cloudwatchlogs::Client::from_conf(logs.build()),
                aws_sdk_kms::Client::from_conf(kms.build()),
            )
        });
        CheckClients {
            s3: s3.clone(),
            logs: logs.clone(),
            kms: kms.clone(),
            region: target.region.clone(),
            endpoint: self
                .endpoint("S3, CloudWatch Logs or KMS", Some(&target.region))
                .into(),
        }
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

/// The account's named profile, then each role of its chain in turn (the default role when
/// the inventory names none and no profile is given); and whether it assumes a role (a
/// profile alone does not).
async fn account_credentials(
    base: &SdkConfig,
    opts: &SessionOptions,
    account: &Account,
    partition: &str,
    session_name: &str,
) -> (SharedCredentialsProvider, bool) {
    // The caller's own account (`--org`) has no member role: the base credentials act there.
    if account.base_credentials
        && account.roles.is_empty()
        && account.profile.is_none()
        && let Some(base) = base.credentials_provider()
    {
        return (base, false);
    }
    let mut current: Option<SharedCredentialsProvider> = account.profile.as_ref().map(|p| {
        SharedCredentialsProvider::new(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(p)
                .build(),
        )
    });
    let roles: Vec<String> = if !account.roles.is_empty() {
        account.roles.clone()
    } else if current.is_none() {
        vec![opts.role_name.clone()]
    } else {
        vec![]
    };
    let external_id = account
        .external_id
        .clone()
        .or_else(|| opts.external_id.clone());
    let last = roles.len().saturating_sub(1);
    for (i, role) in roles.iter().enumerate() {
        let arn = role_arn(role, partition, &account.id);
        let mut builder = AssumeRoleProvider::builder(arn)
            .session_name(session_name)
            .configure(base);
        // The external id guards the target account's role: the last hop of a chain.
        if i == last
            && let Some(id) = &external_id
        {
            builder = builder.external_id(id);
        }
        let provider = match current.take() {
            Some(prev) => builder.build_from_provider(prev).await,
            None => builder.build().await,
        };
        current = Some(SharedCredentialsProvider::new(provider));
    }
    (
        current.expect("at least one role or a profile"),
        !roles.is_empty(),
    )
}

impl Session {
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
        let mut seen = std::collections::HashSet::new();
        let assumed: Vec<Arc<Assumed>> = order
            .iter()
            .filter(|id| seen.insert((*id).clone()))
            .filter_map(|id| self.accounts.get(id)?.assumed.clone())
            .collect();
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
}

impl Session {
    /// `--wait-ready`: assumes each account's role, `in_flight` at a time, and where STS
    /// answers AccessDenied (a new account's role not there yet) tries again until `until`,
    /// telling `waiting` which account waits and for how long at most, and `ready` how long
    /// it waited once it is ready. An account still failing is left for its targets' calls
    /// to report.
    pub(crate) async fn wait_ready(
        &self,
        order: &[AccountId],
        in_flight: usize,
        until: std::time::Instant,
        stopped: &(dyn Fn() -> bool + Sync),
        waiting: impl Fn(&AccountId, std::time::Duration) + Sync,
        ready: impl Fn(&AccountId, std::time::Duration) + Sync,
    ) {
        use futures::StreamExt;
        let mut seen = std::collections::HashSet::new();
        let assumed: Vec<(&AccountId, Arc<Assumed>)> = order
            .iter()
            .filter(|id| seen.insert((*id).clone()))
            .filter_map(|id| Some((id, self.accounts.get(id)?.assumed.clone()?)))
            .collect();
        futures::stream::iter(assumed)
            .for_each_concurrent(in_flight, |(id, a)| {
                let (waiting, ready) = (&waiting, &ready);
                async move {
                    let started = std::time::Instant::now();
                    let waited = std::sync::atomic::AtomicBool::new(false);
                    let answer = a
                        .fetch_when_ready(until, stopped, |left| {
                            waited.store(true, Ordering::Relaxed);
                            waiting(id, left)
                        })
                        .await;
                    if answer.is_ok() && waited.load(Ordering::Relaxed) {
                        ready(id, started.elapsed());
                    }
                }
            })
            .await;
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

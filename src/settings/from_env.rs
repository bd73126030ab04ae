//! Lambda mode's settings → checked settings, with no command line: each of the function's
//! variables checked as the flag it stands for is (the same checks, the same messages), then
//! each run an invocation makes built from them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checked::*;
use super::from_cli::{
    AwsFlags, DEFAULT_WAIT_READY, aws_options, check_ou_id, prefs_options, regions, wave_options,
};
use super::values::*;
use crate::error::InputError;
use crate::inventory::{Regions, Selection};
use crate::lifecycle::{Existing, Mark};
use crate::model::Command;
use crate::names;

/// The function's settings as given, each value checked alone as it is set.
#[derive(Debug, Clone)]
pub(crate) struct FunctionSettings {
    preferences: PathBuf,
    regions: Regions,
    role_name: String,
    endpoint_url: Option<String>,
    concurrency: String,
    waves: Option<String>,
    max_failures: Option<MaxFailures>,
    not_accounts: Vec<String>,
    vars: Vec<String>,
    ous: Vec<String>,
}

impl FunctionSettings {
    /// The defaults, with the preferences at `preferences`: every enabled region.
    pub(crate) fn new(preferences: &str) -> FunctionSettings {
        FunctionSettings {
            preferences: PathBuf::from(preferences),
            regions: Regions::All,
            role_name: DEFAULT_ROLE_NAME.into(),
            endpoint_url: None,
            concurrency: DEFAULT_CONCURRENCY.into(),
            waves: None,
            max_failures: None,
            not_accounts: vec![],
            vars: vec![],
            ous: vec![],
        }
    }

    /// `-r`.
    pub(crate) fn regions(&mut self, value: &str) -> Result<(), InputError> {
        let mut problems = vec![];
        self.regions = regions(&[value.to_string()], &mut problems);
        match problems.is_empty() {
            true => Ok(()),
            false => Err(InputError::Problems(problems)),
        }
    }

    /// `--role-name`.
    pub(crate) fn role_name(&mut self, value: &str) -> Result<(), InputError> {
        names::check_role_name(value).map_err(flag("--role-name"))?;
        self.role_name = value.to_string();
        Ok(())
    }

    /// `--endpoint-url`.
    pub(crate) fn endpoint_url(&mut self, value: &str) -> Result<(), InputError> {
        self.endpoint_url = Some(parse_endpoint(value).map_err(flag("--endpoint-url"))?);
        Ok(())
    }

    /// `-c`.
    pub(crate) fn concurrency(&mut self, value: &str) -> Result<(), InputError> {
        whole(value, 1, 1024).map_err(flag("--concurrency"))?;
        self.concurrency = value.to_string();
        Ok(())
    }

    /// apply's `--waves`.
    pub(crate) fn waves(&mut self, value: &str) -> Result<(), InputError> {
        wave_options(Some(&value.to_string()), &[])?;
        self.waves = Some(value.to_string());
        Ok(())
    }

    /// apply's `--max-failures`.
    pub(crate) fn max_failures(&mut self, value: &str) -> Result<(), InputError> {
        self.max_failures = Some(parse_max_failures(value).map_err(flag("--max-failures"))?);
        Ok(())
    }

    /// `--not-accounts`: ids or names, comma-separated.
    pub(crate) fn not_accounts(&mut self, value: &str) -> Result<(), InputError> {
        self.not_accounts = value.split(',').map(str::to_string).collect();
        Ok(())
    }

    /// One `--var KEY=VALUE`.
    pub(crate) fn var(&mut self, pair: &str) -> Result<(), InputError> {
        parse_var(pair).map_err(flag("--var"))?;
        self.vars.push(pair.to_string());
        Ok(())
    }

    /// `--ou`, each (checked with the rest: [`FunctionSettings::check`]).
    pub(crate) fn ous(&mut self, ous: &[String]) {
        self.ous = ous.to_vec();
    }

    /// The settings together, checked as a whole: what every run of the function shares.
    pub(crate) fn check(&self) -> Result<FunctionRuns, InputError> {
        for ou in &self.ous {
            check_ou_id(ou).map_err(flag("--ou"))?;
        }
        let aws = aws_options(&AwsFlags {
            role_name: &self.role_name,
            external_id: None,
            session_name: None,
            profile: None,
            endpoint_url: self.endpoint_url.as_ref(),
            concurrency: &self.concurrency,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
        })?;
        Ok(FunctionRuns {
            prefs: prefs_options(&self.preferences, DEFAULT_DOCUMENT_NAME, &self.vars)?,
            select: Selection {
                regions: Some(self.regions.clone()),
                not_accounts: self.not_accounts.clone(),
                ..Selection::default()
            },
            mark: Mark::parse(DEFAULT_OWNER_TAG).map_err(flag("--owner-tag"))?,
            aws,
            waves: wave_options(self.waves.as_ref(), &[])?,
            max_failures: self.max_failures,
            ous: self.ous.clone(),
        })
    }
}

/// What every run of the function shares, checked.
#[derive(Debug, Clone)]
pub(crate) struct FunctionRuns {
    prefs: PrefsOptions,
    select: Selection,
    mark: Mark,
    aws: Aws,
    waves: Option<Waves>,
    max_failures: Option<MaxFailures>,
    ous: Vec<String>,
}

/// One run of an invocation, as the function makes it.
pub(crate) struct FunctionRun<'a> {
    /// apply or audit.
    pub(crate) command: Command,
    /// The organization's accounts (the function's OUs'), else the events' alone.
    pub(crate) org: bool,
    /// Account events, as `--event` reads them.
    pub(crate) events: Option<&'a Path>,
    /// `--wait-ready`.
    pub(crate) wait_ready: Option<Duration>,
    /// `audit --security-hub`.
    pub(crate) security_hub: bool,
    /// apply's waves and failure tolerance (the scheduled run's).
    pub(crate) waves: bool,
    /// Where the run reports.
    pub(crate) output: Output,
    /// The invocation's deadline.
    pub(crate) invoked: Invoked,
    /// The external id the roles are assumed with.
    pub(crate) external_id: Option<String>,
    /// Where the organization's account tags are kept (`--org-tags-cache`).
    pub(crate) tags_cache: String,
}

impl FunctionRuns {
    /// The base credentials' options (the function's role, the endpoint).
    pub(crate) fn session(&self) -> &SessionOptions {
        &self.aws.session
    }

    /// A run's settings, as its command line would make them.
    pub(crate) fn settings(&self, run: FunctionRun) -> Settings {
        let mut aws = self.aws.clone();
        aws.session.external_id = run.external_id;
        // `--wait-ready`'s default with `--event`, as the command line has it.
        let wait_ready = match (run.wait_ready, run.events) {
            (Some(w), _) => w,
            (None, Some(_)) => DEFAULT_WAIT_READY,
            (None, None) => Duration::ZERO,
        };
        let settings = RunSettings {
            prefs: self.prefs.clone(),
            source: Source {
                inventory: None,
                org: run.org.then(|| self.ous.clone()),
                events: run.events.map(Path::to_path_buf),
                org_tags: Some(OrgTagsCache {
                    at: run.tags_cache,
                    refresh: ORG_TAGS_REFRESH,
                }),
            },
            wait_ready,
            select: self.select.clone(),
            retry_failed: None,
            preflight: Some(PreflightMode::default()),
            waves: None,
            document: DocumentRules {
                existing: Existing::Update,
                mark: self.mark.clone(),
                prune_versions: None,
            },
            who: false,
            security_hub: run.security_hub,
            aws,
            output: run.output,
            invoked: Some(run.invoked),
            deadline: None,
        };
        match run.command {
            Command::Apply => Settings::Apply(Apply {
                run: RunSettings {
                    waves: self.waves.clone().filter(|_| run.waves),
                    ..settings
                },
                yes: true,
                max_failures: self.max_failures.filter(|_| run.waves),
                wave_wait: None,
                pause: false,
                region_order: vec![],
            }),
            _ => Settings::Audit(settings),
        }
    }
}

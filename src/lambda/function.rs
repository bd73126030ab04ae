//! Lambda mode's settings: the function's environment (docs/deploy.md "The function's
//! settings"), read and checked once at start, each variable as the flag it stands for; the
//! runs an invocation makes, each with its settings and the command line it stands for.

use crate::error::InputError;
use crate::model::Command;
use crate::names::s3_uri;
use crate::settings::{FunctionRuns, FunctionSettings, SessionOptions};

/// What the function does with a scheduled event (an account event follows it too: `audit`
/// never writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `apply`: every target read, written only where it is not compliant (the read is the
    /// audit), then `audit --security-hub` when findings are asked for.
    Enforce,
    /// `audit` alone.
    Audit,
}

/// The function's settings, checked.
#[derive(Debug, Clone)]
pub(crate) struct Function {
    pub(crate) mode: Mode,
    /// `SSM_PREFS_REPORTS` as (bucket, prefix without a trailing `/`).
    pub(crate) reports: (String, String),
    /// `SSM_PREFS_OU` given: the organization narrowed to these OUs (events too).
    pub(crate) ous: Vec<String>,
    pub(crate) security_hub: bool,
    /// The secret holding the external id (`SSM_PREFS_EXTERNAL_ID_SECRET`), read per
    /// invocation, so that a rotated secret takes effect without a new deployment.
    pub(crate) external_id_secret: Option<String>,
    /// Every run's flags, as the command line the run stands for shows them: preferences,
    /// regions, role, endpoint, concurrency, vars.
    common: Vec<String>,
    /// `apply`'s own: waves and the failure tolerance.
    apply: Vec<String>,
    /// Every run's settings, checked.
    pub(crate) settings: FunctionRuns,
    /// `AWS_LAMBDA_FUNCTION_NAME`: the metrics' dimension, as the stack's alarms name it.
    pub(crate) name: String,
}

/// One variable of the table: the flag it stands for, and where its value goes (checked as
/// that flag's is).
struct Var {
    name: &'static str,
    flag: &'static str,
    set: fn(&mut FunctionSettings, &str) -> Result<(), InputError>,
}

const VARS: &[Var] = &[
    Var {
        name: "SSM_PREFS_REGIONS",
        flag: "-r",
        set: FunctionSettings::regions,
    },
    Var {
        name: "SSM_PREFS_ROLE_NAME",
        flag: "--role-name",
        set: FunctionSettings::role_name,
    },
    Var {
        name: "SSM_PREFS_ENDPOINT_URL",
        flag: "--endpoint-url",
        set: FunctionSettings::endpoint_url,
    },
    Var {
        name: "SSM_PREFS_CONCURRENCY",
        flag: "-c",
        set: FunctionSettings::concurrency,
    },
    Var {
        name: "SSM_PREFS_WAVES",
        flag: "--waves",
        set: FunctionSettings::waves,
    },
    Var {
        name: "SSM_PREFS_MAX_FAILURES",
        flag: "--max-failures",
        set: FunctionSettings::max_failures,
    },
    Var {
        name: "SSM_PREFS_NOT_ACCOUNTS",
        flag: "--not-accounts",
        set: FunctionSettings::not_accounts,
    },
];

/// Flags of `apply` only; the others go to every run.
const APPLY_ONLY: &[&str] = &["--waves", "--max-failures"];

/// One run of an invocation: its command, the flags of the command line it stands for, and
/// what its settings add to the function's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) command: Command,
    pub(crate) flags: Vec<String>,
    /// `audit --security-hub`.
    pub(crate) security_hub: bool,
    /// apply's waves and failure tolerance (the scheduled run's).
    pub(crate) waves: bool,
}

impl Function {
    /// The settings from the process's environment.
    pub(crate) fn from_env() -> Result<Function, String> {
        Function::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings from `get` (the environment; a map in tests). An empty value is the
    /// default, as CloudFormation passes an empty parameter.
    pub(crate) fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Function, String> {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &str, what: &str| {
            get(name).ok_or_else(|| format!("{name} is not set: it names {what}"))
        };
        let preferences = required(
            "SSM_PREFS_PREFERENCES",
            "the preferences file, s3://BUCKET/KEY",
        )?;
        if s3_uri(&preferences).is_none_or(|(b, k)| b.is_empty() || k.is_empty()) {
            return Err(format!(
                "SSM_PREFS_PREFERENCES={preferences}: not s3://BUCKET/KEY (the function reads its preferences from a bucket)"
            ));
        }
        let reports = reports(&required(
            "SSM_PREFS_REPORTS",
            "where reports go, s3://BUCKET/PREFIX",
        )?)?;
        let mode = match get("SSM_PREFS_MODE").as_deref() {
            None | Some("enforce") => Mode::Enforce,
            Some("audit") => Mode::Audit,
            Some(other) => {
                return Err(format!(
                    "SSM_PREFS_MODE={other}: not a mode (enforce: audit, then apply where not compliant; audit: read only)"
                ));
            }
        };
        let security_hub = match get("SSM_PREFS_SECURITY_HUB").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(format!("SSM_PREFS_SECURITY_HUB={other}: not true or false"));
            }
        };
        let ous: Vec<String> = get("SSM_PREFS_OU")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let mut settings = FunctionSettings::new(&preferences);
        let mut common = vec!["-p".to_string(), preferences];
        if get("SSM_PREFS_REGIONS").is_none() {
            common.extend(["-r".to_string(), "all".to_string()]);
        }
        let apply = variables(&get, &mut settings, &mut common)?;
        settings.ous(&ous);
        // Then the settings as a whole, as every run has them.
        let settings = settings
            .check()
            .map_err(|e| format!("the function's settings: {}", first_line(&e)))?;
        Ok(Function {
            mode,
            reports,
            ous,
            security_hub,
            external_id_secret: get("SSM_PREFS_EXTERNAL_ID_SECRET"),
            common,
            apply,
            settings,
            name: get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "ssm-prefs".into()),
        })
    }

    /// The base credentials' options (the function's role, the endpoint), for the reports
    /// bucket and the external id's secret.
    pub(crate) fn session(&self) -> &SessionOptions {
        self.settings.session()
    }

    /// Where the organization's account tags are kept: `organization-tags.json` under the
    /// reports' prefix.
    pub(crate) fn tags_cache(&self) -> String {
        let (bucket, prefix) = &self.reports;
        match prefix.as_str() {
            "" => format!("s3://{bucket}/organization-tags.json"),
            p => format!("s3://{bucket}/{p}/organization-tags.json"),
        }
    }

    /// The runs an invocation makes, in order: the reports' flags are added by the caller.
    pub(crate) fn runs(&self, kind: Kind, events: &str, wait_ready: Option<u64>) -> Vec<Run> {
        let mut source = vec![];
        if self.reads_organization(kind) {
            source.push("--org".to_string());
            for ou in &self.ous {
                source.extend(["--ou".to_string(), ou.clone()]);
            }
        }
        if kind == Kind::Events {
            source.extend(["--event".to_string(), events.to_string()]);
            if let Some(seconds) = wait_ready {
                source.extend(["--wait-ready".to_string(), format!("{seconds}s")]);
            }
        }
        // The organization's account tags, kept beside the reports: a daily run reads only
        // those it has not seen and the stalest, and an event's accounts' are read again.
        source.extend(["--org-tags-cache".to_string(), self.tags_cache()]);
        let flags = |extra: &[String]| [source.as_slice(), &self.common, extra].concat();
        let hub = vec!["--security-hub".to_string()];
        let audit = |security_hub: bool| Run {
            command: Command::Audit,
            flags: flags(if security_hub { &hub } else { &[] }),
            security_hub,
            waves: false,
        };
        match self.mode {
            Mode::Audit => vec![audit(self.security_hub)],
            Mode::Enforce => {
                let mut apply = vec!["--yes".to_string()];
                // A new account's targets are few: waves are for the whole organization.
                let waves = kind == Kind::Scheduled;
                if waves {
                    apply.extend(self.apply.iter().cloned());
                }
                let mut runs = vec![Run {
                    command: Command::Apply,
                    flags: flags(&apply),
                    security_hub: false,
                    waves,
                }];
                if self.security_hub {
                    runs.push(audit(true));
                }
                runs
            }
        }
    }

    /// Whether an invocation's runs read the organization: the schedule's, and an event's
    /// narrowed to the function's OUs.
    pub(crate) fn reads_organization(&self, kind: Kind) -> bool {
        kind == Kind::Scheduled || !self.ous.is_empty()
    }
}

/// The table's variables and `SSM_PREFS_VARS`, each checked alone (so that a bad value is
/// named by its variable) into `settings`, and added as flags: to every run's (`common`), or
/// apply's own (returned).
fn variables(
    get: &impl Fn(&str) -> Option<String>,
    settings: &mut FunctionSettings,
    common: &mut Vec<String>,
) -> Result<Vec<String>, String> {
    let mut apply = vec![];
    for var in VARS {
        if let Some(value) = get(var.name) {
            (var.set)(settings, &value)
                .map_err(|e| format!("{}={value}: {}", var.name, first_line(&e)))?;
            let flags = if APPLY_ONLY.contains(&var.flag) {
                &mut apply
            } else {
                &mut *common
            };
            flags.extend([var.flag.to_string(), value]);
        }
    }
    if let Some(vars) = get("SSM_PREFS_VARS") {
        for pair in vars.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            settings
                .var(pair)
                .map_err(|e| format!("SSM_PREFS_VARS={vars}: {}", first_line(&e)))?;
            common.extend(["--var".to_string(), pair.to_string()]);
        }
    }
    Ok(apply)
}

/// `SSM_PREFS_REPORTS` as (bucket, prefix without a trailing `/`).
fn reports(uri: &str) -> Result<(String, String), String> {
    match uri
        .strip_prefix("s3://")
        .map(|r| r.split_once('/').unwrap_or((r, "")))
    {
        Some((bucket, prefix)) if !bucket.is_empty() => {
            Ok((bucket.to_string(), prefix.trim_end_matches('/').to_string()))
        }
        _ => Err(format!("SSM_PREFS_REPORTS={uri}: not s3://BUCKET/PREFIX")),
    }
}

/// What an invocation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The daily schedule: the organization.
    Scheduled,
    /// Account events, as `--event` takes them.
    Events,
}

/// An input error's first line, as exit 2 would print it (a list of problems: the first).
fn first_line(e: &InputError) -> String {
    let text = e.to_string();
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or(&text);
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn function(vars: &[(&str, &str)]) -> Result<Function, String> {
        let mut env: HashMap<&str, &str> = HashMap::from([
            ("SSM_PREFS_PREFERENCES", "s3://prefs/session.json"),
            ("SSM_PREFS_REPORTS", "s3://reports/runs/"),
        ]);
        env.extend(vars.iter().copied());
        Function::from_vars(|name| env.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_enforce_the_whole_organization_in_every_enabled_region() {
        let f = function(&[]).unwrap();
        assert_eq!(f.reports, ("reports".to_string(), "runs".to_string()));
        let runs = f.runs(Kind::Scheduled, "e.json", None);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].command, Command::Apply);
        assert_eq!(
            runs[0].flags.join(" "),
            "--org --org-tags-cache s3://reports/runs/organization-tags.json -p s3://prefs/session.json -r all --yes"
        );
        let events = f.runs(Kind::Events, "e.json", Some(600));
        assert_eq!(
            events[0].flags.join(" "),
            "--event e.json --wait-ready 600s --org-tags-cache s3://reports/runs/organization-tags.json -p s3://prefs/session.json -r all --yes"
        );
    }

    #[test]
    fn each_setting_becomes_its_flag_and_waves_go_to_the_scheduled_apply_only() {
        let f = function(&[
            ("SSM_PREFS_MODE", "enforce"),
            ("SSM_PREFS_REGIONS", "us-east-1,eu-west-1"),
            ("SSM_PREFS_OU", "ou-ab12-11111111, ou-ab12-22222222"),
            ("SSM_PREFS_ROLE_NAME", "SessionManagerPreferencesRollout"),
            ("SSM_PREFS_SECURITY_HUB", "true"),
            ("SSM_PREFS_WAVES", "10%,100%"),
            ("SSM_PREFS_MAX_FAILURES", "5%"),
            ("SSM_PREFS_VARS", "log_bucket=central-logs,team=sec"),
        ])
        .unwrap();
        let runs = f.runs(Kind::Scheduled, "e.json", None);
        let lines: Vec<String> = runs
            .iter()
            .map(|r| format!("{} {}", r.command, r.flags.join(" ")))
            .collect();
        assert_eq!(
            lines,
            [
                "apply --org --ou ou-ab12-11111111 --ou ou-ab12-22222222 --org-tags-cache s3://reports/runs/organization-tags.json -p s3://prefs/session.json -r us-east-1,eu-west-1 --role-name SessionManagerPreferencesRollout --var log_bucket=central-logs --var team=sec --yes --waves 10%,100% --max-failures 5%",
                "audit --org --ou ou-ab12-11111111 --ou ou-ab12-22222222 --org-tags-cache s3://reports/runs/organization-tags.json -p s3://prefs/session.json -r us-east-1,eu-west-1 --role-name SessionManagerPreferencesRollout --var log_bucket=central-logs --var team=sec --security-hub",
            ]
        );
        let events = f.runs(Kind::Events, "e.json", None);
        assert!(events[0].flags.contains(&"--event".to_string()));
        assert!(!events[0].flags.contains(&"--waves".to_string()));
    }

    #[test]
    fn a_bad_setting_is_one_line_naming_its_variable() {
        let one_line = |vars: &[(&str, &str)], says: &str| {
            let e = function(vars).unwrap_err();
            assert!(e.starts_with(says), "{e}");
            assert!(!e.contains('\n'), "{e}");
        };
        // A value set: `VAR=value: `, then what is wrong with it.
        for (var, value, why) in [
            ("SSM_PREFS_MODE", "fix", "not a mode"),
            ("SSM_PREFS_REGIONS", "us-east-9", ""),
            ("SSM_PREFS_MAX_FAILURES", "lots", ""),
            ("SSM_PREFS_SECURITY_HUB", "yes", "not true or false"),
            ("SSM_PREFS_PREFERENCES", "prefs.json", "not s3://BUCKET/KEY"),
            ("SSM_PREFS_VARS", "=x", ""),
            (
                "SSM_PREFS_ROLE_NAME",
                "bad role!",
                "--role-name: \"bad role!\" holds ' '",
            ),
        ] {
            one_line(&[(var, value)], &format!("{var}={value}: {why}"));
        }
        one_line(&[("SSM_PREFS_REPORTS", "")], "SSM_PREFS_REPORTS is not set");
    }

    #[test]
    fn excluded_accounts_are_left_out_of_every_run() {
        let f = function(&[("SSM_PREFS_NOT_ACCOUNTS", "123456789012,sandbox")]).unwrap();
        for kind in [Kind::Scheduled, Kind::Events] {
            for run in f.runs(kind, "e.json", None) {
                let line = run.flags.join(" ");
                assert!(
                    line.contains("--not-accounts 123456789012,sandbox"),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn each_run_has_the_settings_its_command_line_stands_for() {
        use crate::settings::{Deadline, Destination, FunctionRun, Invoked, Output, Settings};
        let f = function(&[
            ("SSM_PREFS_REGIONS", "us-east-1"),
            ("SSM_PREFS_ROLE_NAME", "Rollout"),
            ("SSM_PREFS_CONCURRENCY", "7"),
            ("SSM_PREFS_WAVES", "10%,100%"),
            ("SSM_PREFS_MAX_FAILURES", "2"),
            ("SSM_PREFS_NOT_ACCOUNTS", "sandbox,123456789012"),
            ("SSM_PREFS_SECURITY_HUB", "true"),
            ("SSM_PREFS_OU", "ou-ab12-11111111"),
            ("SSM_PREFS_VARS", "team=sec"),
        ])
        .unwrap();
        let settings = |run: &Run, kind: Kind| {
            let events = std::path::Path::new("e.json");
            f.settings.settings(FunctionRun {
                command: run.command,
                org: f.reads_organization(kind),
                events: (kind == Kind::Events).then_some(events),
                wait_ready: None,
                security_hub: run.security_hub,
                waves: run.waves,
                output: Output {
                    report: None,
                    html: None,
                    junit: None,
                    summary_json: Some(Destination::Stdout),
                    no_progress: true,
                    stored_at: None,
                },
                invoked: Invoked {
                    deadline: Deadline::within(std::time::Duration::from_secs(60)),
                },
                external_id: Some("-starts-with-a-dash".into()),
                tags_cache: f.tags_cache(),
            })
        };
        let scheduled = f.runs(Kind::Scheduled, "e.json", None);
        let Settings::Apply(apply) = settings(&scheduled[0], Kind::Scheduled) else {
            panic!("an apply first");
        };
        assert!(apply.yes);
        assert_eq!(
            apply.run.waves.as_ref().map(|w| w.spec.as_str()),
            Some("--waves 10%,100%")
        );
        assert_eq!(apply.max_failures.map(|m| m.to_string()), Some("2".into()));
        assert_eq!(apply.run.aws.concurrency, 7);
        assert_eq!(apply.run.aws.session.role_name, "Rollout");
        assert_eq!(
            apply.run.aws.session.external_id.as_deref(),
            Some("-starts-with-a-dash")
        );
        assert_eq!(apply.run.select.not_accounts, ["sandbox", "123456789012"]);
        assert_eq!(apply.run.prefs.vars["team"], "sec");
        assert_eq!(
            apply.run.source.org,
            Some(vec!["ou-ab12-11111111".to_string()])
        );
        assert!(apply.run.source.events.is_none());
        // The organization's tags kept beside the reports.
        let tags = apply.run.source.org_tags.as_ref().expect("a tags cache");
        assert_eq!(
            (tags.at.as_str(), tags.refresh),
            ("s3://reports/runs/organization-tags.json", 500)
        );
        let Settings::Audit(audit) = settings(&scheduled[1], Kind::Scheduled) else {
            panic!("then an audit");
        };
        assert!(audit.security_hub);
        // An event's apply: no waves, its new accounts waited for.
        let events = f.runs(Kind::Events, "e.json", None);
        let Settings::Apply(apply) = settings(&events[0], Kind::Events) else {
            panic!("an apply");
        };
        assert!(apply.run.waves.is_none() && apply.max_failures.is_none());
        assert!(apply.run.source.events.is_some());
        assert!(!apply.run.wait_ready.is_zero());
    }

    #[test]
    fn settings_bad_together_are_one_line_naming_the_functions_settings() {
        let e = function(&[("SSM_PREFS_OU", "ou-x")]).unwrap_err();
        assert!(
            e.starts_with("the function's settings: --ou: \"ou-x\" is not an OU id"),
            "{e}"
        );
        let e = function(&[("SSM_PREFS_VARS", "a=1,a=2")]).unwrap_err();
        assert!(
            e.starts_with("the function's settings: --var: a is given twice"),
            "{e}"
        );
    }
}

//! Lambda mode's settings: the function's environment (docs/deploy.md "The function's
//! settings"), read and checked once at start, and the command lines they make.

use clap::Parser;

use crate::aws::objects::s3_uri;
use crate::aws::session::SessionOptions;
use crate::cli::Cli;
use crate::settings::Settings;

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

/// The function's settings, checked: each a flag of the command line an invocation runs.
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
    /// Every run's flags: preferences, regions, role, endpoint, concurrency, vars.
    common: Vec<String>,
    /// `apply`'s own: waves and the failure tolerance.
    apply: Vec<String>,
    /// The base credentials' options (the function's role, the endpoint), for the reports
    /// bucket and the external id's secret.
    pub(crate) session: SessionOptions,
    /// `AWS_LAMBDA_FUNCTION_NAME`: the metrics' dimension, as the stack's alarms name it.
    pub(crate) name: String,
}

/// One variable of the table, with the flag it stands for.
struct Var {
    name: &'static str,
    flag: &'static str,
}

const VARS: &[Var] = &[
    Var {
        name: "SSM_PREFS_REGIONS",
        flag: "-r",
    },
    Var {
        name: "SSM_PREFS_ROLE_NAME",
        flag: "--role-name",
    },
    Var {
        name: "SSM_PREFS_ENDPOINT_URL",
        flag: "--endpoint-url",
    },
    Var {
        name: "SSM_PREFS_CONCURRENCY",
        flag: "-c",
    },
    Var {
        name: "SSM_PREFS_WAVES",
        flag: "--waves",
    },
    Var {
        name: "SSM_PREFS_MAX_FAILURES",
        flag: "--max-failures",
    },
    Var {
        name: "SSM_PREFS_NOT_ACCOUNTS",
        flag: "--not-accounts",
    },
];

/// A command line that is good without the variable being checked.
const APPLY_BASE: [&str; 5] = ["apply", "--yes", "--org", "-p", "s3://bucket/key"];

/// Flags of `apply` only; the others go to every run.
const APPLY_ONLY: &[&str] = &["--waves", "--max-failures"];

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
        let reports_uri = required("SSM_PREFS_REPORTS", "where reports go, s3://BUCKET/PREFIX")?;
        let reports = match reports_uri
            .strip_prefix("s3://")
            .map(|r| r.split_once('/').unwrap_or((r, "")))
        {
            Some((bucket, prefix)) if !bucket.is_empty() => {
                (bucket.to_string(), prefix.trim_end_matches('/').to_string())
            }
            _ => {
                return Err(format!(
                    "SSM_PREFS_REPORTS={reports_uri}: not s3://BUCKET/PREFIX"
                ));
            }
        };
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
        let mut common = vec!["-p".to_string(), preferences];
        if get("SSM_PREFS_REGIONS").is_none() {
            common.extend(["-r".to_string(), "all".to_string()]);
        }
        let mut apply = vec![];
        for var in VARS {
            if let Some(value) = get(var.name) {
                let flags = if APPLY_ONLY.contains(&var.flag) {
                    &mut apply
                } else {
                    &mut common
                };
                flags.extend([var.flag.to_string(), value.clone()]);
                // Each alone first, so that a bad value is named by its variable.
                let regions: &[&str] = if var.flag == "-r" {
                    &[]
                } else {
                    &["-r", "all"]
                };
                check(&[&APPLY_BASE[..], regions, &[var.flag, &value]].concat())
                    .map_err(|e| format!("{}={value}: {e}", var.name))?;
            }
        }
        if let Some(vars) = get("SSM_PREFS_VARS") {
            for pair in vars.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                check(&[&APPLY_BASE[..], &["-r", "all", "--var", pair]].concat())
                    .map_err(|e| format!("SSM_PREFS_VARS={vars}: {e}"))?;
                common.extend(["--var".to_string(), pair.to_string()]);
            }
        }
        let mut function = Function {
            mode,
            reports,
            ous,
            security_hub,
            external_id_secret: get("SSM_PREFS_EXTERNAL_ID_SECRET"),
            common,
            apply,
            session: SessionOptions::default(),
            name: get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "ssm-prefs".into()),
        };
        // Then every command line an invocation can run, as a whole.
        for kind in [Kind::Scheduled, Kind::Events] {
            for (command, args) in function.runs(kind, "events.json", None) {
                let line: Vec<&str> = std::iter::once(command)
                    .chain(args.iter().map(String::as_str))
                    .collect();
                let mut settings =
                    check(&line).map_err(|e| format!("the function's settings: {e}"))?;
                if let Some(run) = settings.run_settings_mut() {
                    function.session = run.aws.session.clone();
                }
            }
        }
        Ok(function)
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

    /// The runs an invocation makes, in order, each as (command, flags): the reports'
    /// flags are added by the caller.
    pub(crate) fn runs(
        &self,
        kind: Kind,
        events: &str,
        wait_ready: Option<u64>,
    ) -> Vec<(&'static str, Vec<String>)> {
        let mut source = vec![];
        if kind == Kind::Scheduled || !self.ous.is_empty() {
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
        match (self.mode, self.security_hub) {
            (Mode::Audit, hub_too) => vec![("audit", flags(if hub_too { &hub } else { &[] }))],
            (Mode::Enforce, hub_too) => {
                let mut apply = vec!["--yes".to_string()];
                // A new account's targets are few: waves are for the whole organization.
                if kind == Kind::Scheduled {
                    apply.extend(self.apply.iter().cloned());
                }
                let mut runs = vec![("apply", flags(&apply))];
                if hub_too {
                    runs.push(("audit", flags(&hub)));
                }
                runs
            }
        }
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

/// The command line parsed and checked as the CLI checks it; the error as exit 2 says it.
pub(crate) fn check(args: &[&str]) -> Result<Settings, String> {
    let cli = Cli::try_parse_from(std::iter::once("ssm-prefs").chain(args.iter().copied()))
        .map_err(|e| first_line(&e.to_string()))?;
    Settings::from_cli(&cli).map_err(|e| first_line(&e.to_string()))
}

/// A clap error's first line, without its `error: ` (the rest is usage and help).
fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text);
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
        assert_eq!(runs[0].0, "apply");
        assert_eq!(
            runs[0].1.join(" "),
            "--org --org-tags-cache s3://reports/runs/organization-tags.json -p s3://prefs/session.json -r all --yes"
        );
        let events = f.runs(Kind::Events, "e.json", Some(600));
        assert_eq!(
            events[0].1.join(" "),
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
            .map(|(c, a)| format!("{c} {}", a.join(" ")))
            .collect();
        assert_eq!(
            lines,
            [
                "apply --org --ou ou-ab12-11111111 --ou ou-ab12-22222222 --org-tags-cache s3://reports/runs/organization-tags.json -p s3://prefs/session.json -r us-east-1,eu-west-1 --role-name SessionManagerPreferencesRollout --var log_bucket=central-logs --var team=sec --yes --waves 10%,100% --max-failures 5%",
                "audit --org --ou ou-ab12-11111111 --ou ou-ab12-22222222 --org-tags-cache s3://reports/runs/organization-tags.json -p s3://prefs/session.json -r us-east-1,eu-west-1 --role-name SessionManagerPreferencesRollout --var log_bucket=central-logs --var team=sec --security-hub",
            ]
        );
        let events = f.runs(Kind::Events, "e.json", None);
        assert!(events[0].1.contains(&"--event".to_string()));
        assert!(!events[0].1.contains(&"--waves".to_string()));
    }

    #[test]
    fn a_bad_setting_is_one_line_naming_its_variable() {
        for (vars, says) in [
            (
                vec![("SSM_PREFS_MODE", "fix")],
                "SSM_PREFS_MODE=fix: not a mode",
            ),
            (
                vec![("SSM_PREFS_REGIONS", "us-east-9")],
                "SSM_PREFS_REGIONS=us-east-9: ",
            ),
            (
                vec![("SSM_PREFS_MAX_FAILURES", "lots")],
                "SSM_PREFS_MAX_FAILURES=lots: ",
            ),
            (
                vec![("SSM_PREFS_SECURITY_HUB", "yes")],
                "SSM_PREFS_SECURITY_HUB=yes: not true or false",
            ),
            (
                vec![("SSM_PREFS_PREFERENCES", "prefs.json")],
                "SSM_PREFS_PREFERENCES=prefs.json: not s3://BUCKET/KEY",
            ),
            (
                vec![("SSM_PREFS_REPORTS", "")],
                "SSM_PREFS_REPORTS is not set",
            ),
            (vec![("SSM_PREFS_VARS", "=x")], "SSM_PREFS_VARS==x: "),
            (
                vec![("SSM_PREFS_ROLE_NAME", "bad role!")],
                "SSM_PREFS_ROLE_NAME=bad role!: --role-name: \"bad role!\" holds ' '",
            ),
        ] {
            let e = function(&vars).unwrap_err();
            assert!(e.starts_with(says), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn excluded_accounts_are_left_out_of_every_run() {
        let f = function(&[("SSM_PREFS_NOT_ACCOUNTS", "123456789012,sandbox")]).unwrap();
        for kind in [Kind::Scheduled, Kind::Events] {
            for (_, flags) in f.runs(kind, "e.json", None) {
                let line = flags.join(" ");
                assert!(
                    line.contains("--not-accounts 123456789012,sandbox"),
                    "{line}"
                );
            }
        }
    }
}

//! Parsed flags → checked settings, in one step before anything runs: each command's flags,
//! the ones that must not meet (an output that is an input), and the verbosity known before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{
    ApplyArgs, AwsArgs, Cli, CommandArgs, DiscoverArgs, OutputArgs, PrefsArgs, ReportCommand,
    RollbackArgs, RunArgs, SelectArgs, ValidateArgs, WaveArgs,
};
use crate::error::{InputError, Problem};
use crate::inventory::{Regions, Selection};
use crate::lifecycle::{Existing, Mark};
use crate::names;
use crate::target::Region;
use crate::waves;

use super::checked::*;
use super::values::*;

impl Settings {
    /// The raw flags checked: every range and value, with one message naming the flag
    /// (exit 2) before anything runs. `interactive`: whether stdin is a terminal (`--pause`
    /// asks there), as `main` read it.
    pub fn from_cli(cli: &Cli, interactive: bool) -> Result<Settings, InputError> {
        Ok(match &cli.command {
            CommandArgs::Validate(a) => Settings::Validate(validate(a)?),
            CommandArgs::Plan(a) => Settings::Plan(RunSettings {
                waves: waves(&a.waves)?,
                ..run_settings(&a.run)?
            }),
            CommandArgs::Audit(a) => Settings::Audit(RunSettings {
                who: a.who,
                security_hub: a.security_hub,
                ..run_settings(&a.run)?
            }),
            CommandArgs::Apply(a) => Settings::Apply(apply(a, interactive)?),
            CommandArgs::Rollback(a) => Settings::Rollback(rollback(a)?),
            CommandArgs::Discover(a) => Settings::Discover(discover(a)?),
            CommandArgs::Report(ReportCommand::Merge(m)) => merge(&m.reports, &m.output)?,
            CommandArgs::Completions(a) => Settings::Completions(a.shell),
            CommandArgs::Man => Settings::Man,
        })
    }
}

/// A command line (without the program's name) parsed and checked, stdin not a terminal: what
/// the unit tests beside the code build their settings from.
#[cfg(test)]
pub(crate) fn from_args(args: &[&str]) -> Result<Settings, InputError> {
    use clap::Parser;
    let cli = Cli::try_parse_from(std::iter::once("ssm-prefs").chain(args.iter().copied()))
        .map_err(|e| InputError::usage(e.to_string()))?;
    Settings::from_cli(&cli, false)
}

/// The output flags of a command that writes a report, raw.
pub(super) fn output_args(cli: &Cli) -> Option<&OutputArgs> {
    match &cli.command {
        CommandArgs::Plan(a) => Some(&a.run.output),
        CommandArgs::Audit(a) => Some(&a.run.output),
        CommandArgs::Apply(a) => Some(&a.run.output),
        CommandArgs::Rollback(a) => Some(&a.output),
        _ => None,
    }
}

/// How much the command asks to print, known before its flags are checked (so a flag's
/// error is printed as `-q` asked).
pub fn verbosity(cli: &Cli) -> Verbosity {
    output_args(cli)
        .map(output_verbosity)
        .unwrap_or(Verbosity::Default)
}

/// Whether the command writes `--summary-json -`: then stdout holds that JSON alone, and the
/// printer sends every other line to stderr (known before the flags are checked, as
/// [`verbosity`] is).
pub fn summary_json_on_stdout(cli: &Cli) -> bool {
    output_args(cli)
        .and_then(|o| o.summary_json.as_deref())
        .is_some_and(|p| Destination::of(p) == Destination::Stdout)
}

pub(super) fn output_verbosity(out: &OutputArgs) -> Verbosity {
    if out.quiet {
        Verbosity::Quiet
    } else if out.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Default
    }
}

pub(super) fn validate(a: &ValidateArgs) -> Result<Validate, InputError> {
    if a.prefs.preferences.to_string_lossy().starts_with("s3://") {
        return Err(InputError::flag(
            "-p",
            "validate reads local files only (it makes no AWS call): copy the object first (aws s3 cp s3://BUCKET/KEY prefs.json), or let plan read it",
        ));
    }
    Ok(Validate {
        prefs: prefs(&a.prefs)?,
        inventory: a.inventory.clone(),
        select: selection(&a.select)?,
    })
}

pub(super) fn run_settings(a: &RunArgs) -> Result<RunSettings, InputError> {
    distinct_outputs(
        &a.output,
        &[
            ("--retry-failed", a.retry_failed.as_ref()),
            ("-p", Some(&a.prefs.preferences)),
            ("-i", a.inventory.as_ref()),
            ("--event", a.event.as_ref()),
            // An output too: no other output may overwrite it (nor it an input).
            ("--nodes-report", a.preflight.nodes_report.as_ref()),
        ],
    )?;
    if let Some(nodes) = &a.preflight.nodes_report
        && let Some((name, _)) = [
            ("--retry-failed", a.retry_failed.as_ref()),
            ("-p", Some(&a.prefs.preferences)),
            ("-i", a.inventory.as_ref()),
            ("--event", a.event.as_ref()),
        ]
        .into_iter()
        .find(|(_, p)| p.is_some_and(|p| same_file(nodes, p)))
    {
        return Err(InputError::usage(format!(
            "--nodes-report {} is also given as {name}: the run would overwrite it",
            nodes.display()
        )));
    }
    // clap's `requires` takes a flag's default (`--org` false) as given, so it is checked here:
    // an OU the user reads as "only these accounts" must never be dropped.
    if !a.ous.is_empty() && !a.org {
        return Err(InputError::flag(
            "--ou",
            "goes with --org: the OUs are read from the organization (an inventory from `discover` tags each account with its OU path: select one OU's accounts with -t ou:PATH, the path as discover wrote it)",
        ));
    }
    for ou in &a.ous {
        check_ou_id(ou).map_err(flag("--ou"))?;
    }
    let org_tags = org_tags_cache(a)?;
    // The default waits only for what an event names: accounts that may not exist yet.
    let wait_ready = match &a.wait_ready {
        Some(text) => parse_wait(text).map_err(flag("--wait-ready"))?,
        None if a.event.is_some() => DEFAULT_WAIT_READY,
        None => Duration::ZERO,
    };
    let existing = match (
        optional(&a.existing, "--existing", parse_existing)?,
        a.prefs.merge,
    ) {
        (None, true) => Existing::Merge,
        (None, false) => Existing::Update,
        (Some(e), false) => e,
        (Some(Existing::Merge), true) => Existing::Merge,
        (Some(e), true) => {
            return Err(InputError::usage(format!(
                "--merge is --existing merge: it cannot go with --existing {}",
                e.as_str()
            )));
        }
    };
    Ok(RunSettings {
        prefs: prefs(&a.prefs)?,
        source: Source {
            inventory: a.inventory.clone(),
            org: a.org.then(|| a.ous.clone()),
            events: a.event.clone(),
            org_tags,
        },
        wait_ready,
        select: selection(&a.select)?,
        retry_failed: a.retry_failed.clone(),
        preflight: (!a.preflight.no_preflight).then(|| PreflightMode {
            strict: a.preflight.strict,
            accept_node_risk: a.preflight.accept_node_risk,
            nodes_report: a.preflight.nodes_report.clone(),
        }),
        waves: None,
        document: DocumentRules {
            existing,
            mark: Mark::parse(&a.owner_tag).map_err(flag("--owner-tag"))?,
            prune_versions: None,
        },
        who: false,
        security_hub: false,
        aws: aws(&a.aws)?,
        output: output(&a.output),
        invoked: None,
        deadline: optional(&a.deadline, "--deadline", parse_duration)?.map(Deadline::within),
    })
}

/// `--org-tags-cache` and `--org-tags-refresh`: only with `--org` or `--event` (and the
/// refresh only with a cache), the object `s3://BUCKET/KEY` whole.
fn org_tags_cache(a: &RunArgs) -> Result<Option<OrgTagsCache>, InputError> {
    if a.org_tags_refresh.is_some() && a.org_tags_cache.is_none() {
        return Err(InputError::flag(
            "--org-tags-refresh",
            "goes with --org-tags-cache: it says how many cached tags each run reads again",
        ));
    }
    let Some(at) = &a.org_tags_cache else {
        return Ok(None);
    };
    if !a.org && a.event.is_none() {
        return Err(InputError::flag(
            "--org-tags-cache",
            "goes with --org or --event: it keeps the organization's account tags between runs",
        ));
    }
    if at.starts_with("s3://")
        && names::s3_uri(at).is_none_or(|(b, k)| b.is_empty() || k.is_empty())
    {
        return Err(InputError::flag(
            "--org-tags-cache",
            format!("{at:?} is not s3://BUCKET/KEY"),
        ));
    }
    let refresh = match &a.org_tags_refresh {
        Some(n) => whole(n, 0, 1_000_000).map_err(flag("--org-tags-refresh"))?,
        None => ORG_TAGS_REFRESH,
    };
    Ok(Some(OrgTagsCache {
        at: at.clone(),
        refresh,
    }))
}

pub(super) fn apply(a: &ApplyArgs, interactive: bool) -> Result<Apply, InputError> {
    let region_order = each(&a.region_order, "--region-order", Region::parse)?;
    // A region order alone is one wave, written region by region.
    let waves = match waves(&a.waves)? {
        None if !region_order.is_empty() => waves(&WaveArgs {
            waves: Some("100%".into()),
            canary: vec![],
        })?
        .map(|w| Waves {
            spec: format!("--region-order {}", a.region_order.join(",")),
            ..w
        }),
        w => w,
    };
    if waves.is_none() && (a.pause || a.wave_wait.is_some()) {
        return Err(InputError::usage(
            "--pause and --wave-wait go with --waves (or --canary): they act between waves",
        ));
    }
    if a.pause && !interactive {
        return Err(InputError::usage(
            "--pause asks on the terminal, and stdin is not one: use --wave-wait for an unattended pause",
        ));
    }
    // Checked before the run's flags: of two bad flags, --prune-versions is the one named.
    let prune_versions = optional(&a.prune_versions, "--prune-versions", |v| {
        whole(v, 1, 10_000)
    })?;
    let run = run_settings(&a.run)?;
    Ok(Apply {
        run: RunSettings {
            waves,
            document: DocumentRules {
                prune_versions,
                ..run.document
            },
            ..run
        },
        yes: a.yes,
        wave_wait: optional(&a.wave_wait, "--wave-wait", parse_duration)?,
        pause: a.pause,
        region_order,
        max_failures: optional(&a.max_failures, "--max-failures", parse_max_failures)?,
    })
}

pub(super) fn rollback(a: &RollbackArgs) -> Result<Rollback, InputError> {
    distinct_outputs(&a.output, &[("--from", Some(&a.from))])?;
    Ok(Rollback {
        from: a.from.clone(),
        inventory: a.inventory.clone(),
        aws: aws(&a.aws)?,
        output: output(&a.output),
        yes: a.yes,
    })
}

/// `--wait-ready`'s default with `--event`: a new account's role and Systems Manager take
/// minutes to be usable (about 7 by reports; the default leaves room twice over).
pub(super) const DEFAULT_WAIT_READY: Duration = Duration::from_secs(15 * 60);

/// An OU id as Organizations writes them (`ou-` root part `-` OU part, lowercase letters and
/// digits): a typo stops here, before the walk.
pub(super) fn check_ou_id(id: &str) -> Result<(), String> {
    let ok = id
        .strip_prefix("ou-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(root, ou)| {
            let plain = |s: &str, min: usize| {
                (min..=32).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            };
            plain(root, 4) && plain(ou, 8)
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not an OU id (ou-, then 4 to 32 lowercase letters or digits, -, then 8 to 32 more, as `aws organizations list-organizational-units-for-parent` prints them)"
        ))
    }
}

pub(super) fn discover(a: &DiscoverArgs) -> Result<Discover, InputError> {
    let regions = each(&a.regions, "-r", Region::parse)?;
    for ou in &a.ous {
        check_ou_id(ou).map_err(flag("--ou"))?;
    }
    if let Some(path) = &a.output {
        new_file(path).map_err(flag("-o"))?;
    }
    Ok(Discover {
        ous: a.ous.clone(),
        include_management: a.include_management,
        regions,
        output: a.output.clone(),
        aws: aws(&a.aws)?,
        role_name: a.aws.role_name.clone(),
    })
}

pub(super) fn waves(w: &WaveArgs) -> Result<Option<Waves>, InputError> {
    wave_options(w.waves.as_ref(), &w.canary)
}

/// `--waves` and `--canary`, checked.
pub(super) fn wave_options(
    spec: Option<&String>,
    canary: &[String],
) -> Result<Option<Waves>, InputError> {
    let given = spec;
    let spec = match (given, canary.is_empty()) {
        (Some(spec), _) => spec.clone(),
        // A canary alone: it, then everyone else.
        (None, false) => "100%".to_string(),
        (None, true) => return Ok(None),
    };
    let stages = waves::parse_spec(&spec).map_err(flag("--waves"))?;
    // What the summary names the waves by: the flags as given.
    let mut label = vec![];
    if !canary.is_empty() {
        label.push(format!("--canary {}", canary.join(",")));
    }
    if let Some(spec) = given {
        label.push(format!("--waves {spec}"));
    }
    Ok(Some(Waves {
        spec: label.join(" "),
        stages,
        canary: canary.to_vec(),
    }))
}

pub(super) fn prefs(a: &PrefsArgs) -> Result<PrefsOptions, InputError> {
    prefs_options(&a.preferences, &a.document_name, &a.vars)
}

/// `-p`, `--document-name` and each `--var`, checked.
pub(super) fn prefs_options(
    preferences: &Path,
    document_name: &str,
    given_vars: &[String],
) -> Result<PrefsOptions, InputError> {
    let mut vars = BTreeMap::new();
    for given in given_vars {
        let (key, value) = parse_var(given).map_err(flag("--var"))?;
        if let Some(before) = vars.insert(key.clone(), value.clone())
            && before != value
        {
            return Err(InputError::flag(
                "--var",
                format!("{key} is given twice, with different values"),
            ));
        }
    }
    let path = preferences.to_string_lossy();
    if path.starts_with("s3://")
        && names::s3_uri(&path).is_none_or(|(b, k)| b.is_empty() || k.is_empty())
    {
        return Err(InputError::flag(
            "-p",
            format!("{path:?} is not s3://BUCKET/KEY"),
        ));
    }
    Ok(PrefsOptions {
        path: preferences.to_path_buf(),
        document_name: names::check_document_name(document_name)
            .map(|()| document_name.to_string())
            .map_err(flag("--document-name"))?,
        vars,
    })
}

pub(super) fn selection(s: &SelectArgs) -> Result<Selection, InputError> {
    let mut problems = vec![];
    let regions = s
        .regions
        .as_ref()
        .map(|given| regions(given, &mut problems));
    for tag in s.tags.iter().filter(|t| !t.contains(':')) {
        problems.push(Problem::flag(
            "-t",
            format!("tag {tag:?} must be KEY:VALUE"),
        ));
    }
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    Ok(Selection {
        accounts: s.accounts.clone(),
        not_accounts: s.not_accounts.clone(),
        tags: s.tags.clone(),
        regions,
        shard: optional(&s.shard, "--shard", parse_shard)?,
        strictness: Default::default(),
    })
}

/// `-r LIST` (each item may hold commas): `all`, alone, or regions; each problem added.
pub(super) fn regions(given: &[String], problems: &mut Vec<Problem>) -> Regions {
    let names: Vec<&str> = given
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.contains(&"all") {
        if names.len() > 1 {
            problems.push(Problem::flag(
                "-r",
                "`all` stands alone: it means every region each account has enabled",
            ));
        }
        return Regions::All;
    }
    let mut list: Vec<Region> = vec![];
    for name in names {
        match Region::parse(name) {
            Ok(r) if !list.contains(&r) => list.push(r),
            Ok(_) => {}
            Err(e) => problems.push(Problem::flag("-r", e)),
        }
    }
    Regions::List(list)
}

pub(super) fn aws(a: &AwsArgs) -> Result<Aws, InputError> {
    aws_options(&AwsFlags {
        role_name: &a.role_name,
        external_id: a.external_id.as_ref(),
        session_name: a.session_name.as_ref(),
        profile: a.profile.as_ref(),
        endpoint_url: a.endpoint_url.as_ref(),
        concurrency: &a.concurrency,
        max_attempts: &a.max_attempts,
        operation_timeout: &a.operation_timeout,
    })
}

/// How to reach AWS, as given (text, as the command line or the function's settings give
/// it), before it is checked.
pub(super) struct AwsFlags<'a> {
    pub(super) role_name: &'a str,
    pub(super) external_id: Option<&'a String>,
    pub(super) session_name: Option<&'a String>,
    pub(super) profile: Option<&'a String>,
    pub(super) endpoint_url: Option<&'a String>,
    pub(super) concurrency: &'a str,
    pub(super) max_attempts: &'a str,
    pub(super) operation_timeout: &'a str,
}

/// `--role-name`, `-c`, `--max-attempts`, `--operation-timeout` and the endpoint, checked.
pub(super) fn aws_options(a: &AwsFlags) -> Result<Aws, InputError> {
    let concurrency = whole(a.concurrency, 1, 1024).map_err(flag("--concurrency"))?;
    let max_attempts = whole(a.max_attempts, 1, 20).map_err(flag("--max-attempts"))?;
    let operation_timeout =
        seconds(a.operation_timeout, 3600.0).map_err(flag("--operation-timeout"))?;
    names::check_role_name(a.role_name).map_err(flag("--role-name"))?;
    Ok(Aws {
        session: SessionOptions {
            role_name: a.role_name.to_string(),
            external_id: a.external_id.cloned(),
            session_name: a.session_name.cloned(),
            profile: a.profile.cloned(),
            endpoint_url: endpoint_url(a.endpoint_url)?,
            max_attempts: max_attempts as u32,
            operation_timeout,
        },
        concurrency,
    })
}

/// `--endpoint-url`, or else the `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` variables
/// the SDK reads (unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true): each is checked here,
/// once. The SDK panics in every call on a URL it cannot use, an empty one too.
fn endpoint_url(given: Option<&String>) -> Result<Option<String>, InputError> {
    if let Some(url) = given {
        return parse_endpoint(url)
            .map(Some)
            .map_err(flag("--endpoint-url"));
    }
    let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if ignored {
        return Ok(None);
    }
    let mut problems = vec![];
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with("AWS_ENDPOINT_URL")) else {
            continue;
        };
        let checked = match value.to_str() {
            Some(url) => parse_endpoint(url).map(drop),
            None => Err("is not valid UTF-8: give an absolute http:// or https:// URL".into()),
        };
        if let Err(problem) = checked {
            problems.push(Problem::env(name, problem));
        }
    }
    problems.sort_by_key(|p| p.to_string());
    if !problems.is_empty() {
        return Err(InputError::Problems(problems));
    }
    // The SDK reads the variables itself.
    Ok(None)
}

pub(super) fn output(o: &OutputArgs) -> Output {
    Output {
        report: o.report.clone(),
        html: o.html.clone(),
        junit: o.junit.clone(),
        summary_json: o.summary_json.as_deref().map(Destination::of),
        no_progress: o.no_progress,
        stored_at: None,
    }
}

/// The report, the page, the JUnit file and the summary JSON are new files: none may be an
/// input of the run (the apply report a rollback undoes is its only record) or another output.
pub(super) fn distinct_outputs(
    out: &OutputArgs,
    inputs: &[(&str, Option<&PathBuf>)],
) -> Result<(), InputError> {
    if out.junit.as_ref().is_some_and(|p| p.as_os_str() == "-") {
        return Err(InputError::usage(
            "--junit -: the JUnit file is a file (only --summary-json takes - for stdout)",
        ));
    }
    let summary_json = out.summary_json.as_ref().filter(|p| p.as_os_str() != "-");
    let outputs = [
        ("-o", out.report.as_ref()),
        ("--html", out.html.as_ref()),
        ("--junit", out.junit.as_ref()),
        ("--summary-json", summary_json),
    ];
    for (i, (name, path)) in outputs.iter().enumerate() {
        let Some(path) = path else { continue };
        let mut others = inputs.iter().chain(&outputs[i + 1..]);
        if let Some((other, _)) = others.find(|(_, p)| p.is_some_and(|p| same_file(path, p))) {
            return Err(InputError::usage(format!(
                "{name} {} is also given as {other}: the run would overwrite it",
                path.display()
            )));
        }
    }
    Ok(())
}

/// `report merge`: each report once (a report given twice would be every target twice), and
/// the merged report none of them (written whole, it would replace a shard it reads).
fn merge(reports: &[PathBuf], output: &Path) -> Result<Settings, InputError> {
    for (i, report) in reports.iter().enumerate() {
        if reports[..i].iter().any(|r| same_file(r, report)) {
            return Err(InputError::usage(format!(
                "{} is given twice: name each shard's report once",
                report.display()
            )));
        }
        if same_file(report, output) {
            return Err(InputError::usage(format!(
                "-o {} is also given as a report to merge: the merge would overwrite it",
                output.display()
            )));
        }
    }
    Ok(Settings::Merge {
        reports: reports.to_vec(),
        output: output.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-line error a command line stops with (exit 2), or panics if it is good.
    fn refused(args: &[&str]) -> String {
        match from_args(args) {
            Ok(_) => panic!("{args:?} was taken"),
            Err(e) => e.to_string(),
        }
    }

    /// `plan` over an inventory, with these flags added.
    fn plan<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut line = vec!["plan", "-i", "inv.yml", "-p", "prefs.json"];
        line.extend(extra);
        line
    }

    fn run_settings(extra: &[&str]) -> RunSettings {
        match from_args(&plan(extra)) {
            Ok(Settings::Plan(s)) => s,
            Ok(_) => panic!("not a plan"),
            Err(e) => panic!("{extra:?}: {e}"),
        }
    }

    #[test]
    fn each_flag_is_refused_naming_itself() {
        for (extra, says) in [
            (&["-c", "0"][..], "--concurrency: "),
            (&["-c", "1025"], "--concurrency: "),
            (&["--max-attempts", "21"], "--max-attempts: "),
            (&["--operation-timeout", "-1"], "--operation-timeout: "),
            (&["--role-name", "bad role"], "--role-name: "),
            (&["--endpoint-url", "localhost:4566"], "--endpoint-url: "),
            (&["-r", "all,us-east-1"], "-r: `all` stands alone"),
            (&["-r", "us-east-9"], "-r: "),
            (&["-t", "team"], "-t: tag \"team\" must be KEY:VALUE"),
            (&["--shard", "3/2"], "--shard: "),
            (&["--var", "=x"], "--var: "),
            (&["--var", "a=1", "--var", "a=2"], "--var: a is given twice"),
            (&["--document-name", "AWS-Nope"], "--document-name: "),
            (&["--ou", "ou-ab12-11111111"], "--ou: goes with --org"),
            (&["--wait-ready", "soon"], "--wait-ready: "),
            (&["--existing", "overwrite"], "--existing: "),
            (
                &["--merge", "--existing", "keep"],
                "--merge is --existing merge",
            ),
            (&["--owner-tag", "nokey"], "--owner-tag: "),
            (&["--deadline", "later"], "--deadline: "),
            (&["-o", "prefs.json"], "-o prefs.json is also given as -p"),
            (&["--junit", "-"], "--junit -: the JUnit file is a file"),
            (
                &["--org-tags-refresh", "5"],
                "--org-tags-refresh: goes with",
            ),
            (
                &["--org-tags-cache", "tags.json"],
                "--org-tags-cache: goes with --org",
            ),
        ] {
            let e = refused(&plan(extra));
            assert!(e.contains(says), "{extra:?}: {e}");
        }
        let e = refused(&["plan", "--org", "-p", "p.json", "--ou", "ou-x"]);
        assert!(e.contains("--ou: \"ou-x\" is not an OU id"), "{e}");
        let e = refused(&["validate", "-p", "s3://bucket/key"]);
        assert!(e.starts_with("-p: validate reads local files only"), "{e}");
    }

    #[test]
    fn apply_flags_are_checked_with_what_they_need() {
        let apply = |extra: &[&str]| {
            let mut line = vec!["apply", "-i", "inv.yml", "-p", "prefs.json"];
            line.extend(extra);
            refused(&line)
        };
        assert!(apply(&["--pause"]).contains("--pause and --wave-wait go with --waves"));
        assert!(apply(&["--waves", "1,100%", "--pause"]).contains("stdin is not one"));
        assert!(apply(&["--prune-versions", "0"]).contains("--prune-versions: "));
        assert!(apply(&["--max-failures", "lots"]).contains("--max-failures: "));
        assert!(apply(&["--waves", "0"]).contains("--waves: "));
        assert!(apply(&["--region-order", "mars-1"]).contains("--region-order: "));
        let Ok(Settings::Apply(a)) = from_args(&[
            "apply",
            "-i",
            "inv.yml",
            "-p",
            "prefs.json",
            "--region-order",
            "eu-west-1",
            "--max-failures",
            "10%",
        ]) else {
            panic!("an apply");
        };
        // A region order alone is one wave, written region by region.
        let waves = a.run.waves.expect("one wave");
        assert_eq!(waves.spec, "--region-order eu-west-1");
        assert_eq!(a.max_failures, Some(MaxFailures::Percent(10.0)));
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = run_settings(&[]);
        assert_eq!(s.aws.concurrency, 32);
        assert_eq!(s.aws.session.role_name, DEFAULT_ROLE_NAME);
        assert_eq!(s.aws.session.max_attempts, 8);
        assert_eq!(s.aws.session.operation_timeout, Duration::from_secs(60));
        assert_eq!(s.prefs.document_name, DEFAULT_DOCUMENT_NAME);
        assert_eq!(s.document.mark.to_string(), DEFAULT_OWNER_TAG);
        assert_eq!(s.document.existing, Existing::Update);
        assert_eq!(s.preflight, Some(PreflightMode::default()));
        assert_eq!(s.wait_ready, Duration::ZERO);
        assert!(s.select.regions.is_none());
        // --event waits for new accounts unless told.
        let events = run_settings(&["--event", "e.json"]);
        assert_eq!(events.wait_ready, DEFAULT_WAIT_READY);
        let merged = run_settings(&["--merge"]);
        assert_eq!(merged.document.existing, Existing::Merge);
        let regions = run_settings(&["-r", "us-east-1, eu-west-1,us-east-1"]);
        assert_eq!(
            regions.select.regions,
            Some(Regions::List(vec![
                Region::parse("us-east-1").unwrap(),
                Region::parse("eu-west-1").unwrap()
            ]))
        );
    }
}

//! Parsed flags → validated settings, in one step before anything runs: every number
//! range-checked once, with one message naming the flag (exit 2, no AWS call).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::aws::session::SessionOptions;
use crate::cli::{
    ApplyArgs, AwsArgs, Cli, Command, DiscoverArgs, OutputArgs, PrefsArgs, ReportCommand,
    RollbackArgs, RunArgs, SelectArgs, ValidateArgs, WaveArgs,
};
use crate::error::{InputError, Problem};
use crate::inventory::{Regions, Selection};
use crate::lifecycle::{Existing, Mark};
use crate::names;
use crate::report::printer::Verbosity;
use crate::suggest::did_you_mean;
use crate::target::Region;
use crate::waves::{self, Stage};

/// What to run, with every flag checked.
pub enum Settings {
    Validate(Validate),
    Plan(Fleet),
    Apply(Apply),
    Audit(Fleet),
    Rollback(Rollback),
    Discover(Discover),
    Merge {
        reports: Vec<PathBuf>,
        output: PathBuf,
    },
    /// `completions SHELL`: the completion script.
    Completions(clap_complete::Shell),
    /// `man`: the man page.
    Man,
}

/// `-p` and `--document-name`, checked (`--merge` is folded into [`Fleet::existing`]).
#[derive(Debug, Clone)]
pub struct PrefsOptions {
    /// The preferences file.
    pub path: PathBuf,
    /// The Session document managed, by SSM's naming rules.
    pub document_name: String,
}

pub struct Validate {
    pub prefs: PrefsOptions,
    pub inventory: Option<PathBuf>,
    pub select: Selection,
}

/// `plan` and `audit`, and the run of `apply`.
pub struct Fleet {
    pub prefs: PrefsOptions,
    pub inventory: PathBuf,
    pub select: Selection,
    pub retry_failed: Option<PathBuf>,
    /// Preflight's checks, `Some(strict)`; `None` with `--no-preflight`.
    pub preflight: Option<bool>,
    /// `--waves` / `--canary` (plan and apply).
    pub waves: Option<Waves>,
    /// `--existing` (with `--merge` as `merge`).
    pub existing: Existing,
    /// `--owner-tag`.
    pub mark: Mark,
    /// `--prune-versions` (apply): the newest versions to keep at SSM's version cap.
    pub prune_versions: Option<usize>,
    pub aws: Aws,
    pub output: Output,
}

pub struct Apply {
    pub fleet: Fleet,
    pub yes: bool,
    pub max_failures: Option<MaxFailures>,
    /// `--wave-wait`: the bake time between waves.
    pub wave_wait: Option<Duration>,
    /// `--pause`: ask before each next wave.
    pub pause: bool,
    /// `--region-order`: the regions written first within each wave, in order.
    pub region_order: Vec<Region>,
}

/// The waves asked for: the stages, and the canary accounts as named (resolved against the
/// selection once it is known).
pub struct Waves {
    /// The flags that asked for them, as the summary names the waves.
    pub spec: String,
    pub stages: Vec<Stage>,
    pub canary: Vec<String>,
}

pub struct Rollback {
    pub from: PathBuf,
    pub inventory: Option<PathBuf>,
    pub aws: Aws,
    pub output: Output,
    pub yes: bool,
}

pub struct Discover {
    pub ous: Vec<String>,
    pub include_management: bool,
    pub regions: Vec<Region>,
    pub output: Option<PathBuf>,
    pub aws: Aws,
    pub role_name: String,
}

/// How to reach AWS, and how many targets at once.
pub struct Aws {
    pub session: SessionOptions,
    pub concurrency: usize,
}

/// Where the run reports, and how much it prints.
pub struct Output {
    pub report: Option<PathBuf>,
    pub html: Option<PathBuf>,
    /// `--junit FILE`: a test case per target, for CI test reporters.
    pub junit: Option<PathBuf>,
    /// `--summary-json FILE|-`: the run's summary as JSON.
    pub summary_json: Option<Destination>,
    pub verbosity: Verbosity,
    pub no_progress: bool,
}

/// Where a file-or-stdout output goes (`-` is stdout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    fn of(path: &std::path::Path) -> Destination {
        if path.as_os_str() == "-" {
            Destination::Stdout
        } else {
            Destination::File(path.to_path_buf())
        }
    }
}

/// Failure tolerance, as CloudFormation StackSets' FailureToleranceCount / Percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxFailures {
    Count(usize),
    Percent(f64),
}

impl MaxFailures {
    /// Whether `failed` failures out of `total` targets exceed the tolerance.
    pub fn exceeded(self, failed: usize, total: usize) -> bool {
        match self {
            MaxFailures::Count(n) => failed > n,
            MaxFailures::Percent(p) => failed as f64 > total as f64 * p / 100.0,
        }
    }
}

impl std::fmt::Display for MaxFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxFailures::Count(n) => write!(f, "{n}"),
            MaxFailures::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Settings {
    pub fn from_cli(cli: &Cli) -> Result<Settings, InputError> {
        Ok(match &cli.command {
            Command::Validate(a) => Settings::Validate(validate(a)?),
            Command::Plan(a) => Settings::Plan(Fleet {
                waves: waves(&a.waves)?,
                ..fleet(&a.run)?
            }),
            Command::Audit(a) => Settings::Audit(fleet(a)?),
            Command::Apply(a) => Settings::Apply(apply(a)?),
            Command::Rollback(a) => Settings::Rollback(rollback(a)?),
            Command::Discover(a) => Settings::Discover(discover(a)?),
            Command::Report(ReportCommand::Merge(m)) => Settings::Merge {
                reports: m.reports.clone(),
                output: m.output.clone(),
            },
            Command::Completions(a) => Settings::Completions(a.shell),
            Command::Man => Settings::Man,
        })
    }

    /// Worker threads for the run: one (a current-thread runtime) up to `-c 128`, where one
    /// core serves every call in flight and a second thread only adds the cost of waking
    /// across threads; the machine's cores (at most 4) above it, where one core would be the
    /// bottleneck (docs/operations.md "Performance" has the measurements behind the threshold).
    pub fn threads(&self) -> usize {
        let concurrency = match self {
            Settings::Plan(r) | Settings::Audit(r) => r.aws.concurrency,
            Settings::Apply(a) => a.fleet.aws.concurrency,
            Settings::Rollback(r) => r.aws.concurrency,
            Settings::Discover(d) => d.aws.concurrency,
            _ => 1,
        };
        if concurrency <= ONE_THREAD_UP_TO {
            1
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(4)
        }
    }
}

/// The highest `-c` that runs on one thread (see [`Settings::threads`]).
const ONE_THREAD_UP_TO: usize = 128;

/// The output flags of a command that writes a report, raw.
fn output_args(cli: &Cli) -> Option<&OutputArgs> {
    match &cli.command {
        Command::Plan(a) => Some(&a.run.output),
        Command::Audit(a) => Some(&a.output),
        Command::Apply(a) => Some(&a.run.output),
        Command::Rollback(a) => Some(&a.output),
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

fn output_verbosity(out: &OutputArgs) -> Verbosity {
    if out.quiet {
        Verbosity::Quiet
    } else if out.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Default
    }
}

fn validate(a: &ValidateArgs) -> Result<Validate, InputError> {
    Ok(Validate {
        prefs: prefs(&a.prefs)?,
        inventory: a.inventory.clone(),
        select: selection(&a.select)?,
    })
}

fn fleet(a: &RunArgs) -> Result<Fleet, InputError> {
    distinct_outputs(
        &a.output,
        &[
            ("--retry-failed", a.retry_failed.as_ref()),
            ("-p", Some(&a.prefs.preferences)),
            ("-i", Some(&a.inventory)),
        ],
    )?;
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
    Ok(Fleet {
        prefs: prefs(&a.prefs)?,
        inventory: a.inventory.clone(),
        select: selection(&a.select)?,
        retry_failed: a.retry_failed.clone(),
        preflight: (!a.preflight.no_preflight).then_some(a.preflight.strict),
        waves: None,
        existing,
        mark: Mark::parse(&a.owner_tag).map_err(flag("--owner-tag"))?,
        prune_versions: None,
        aws: aws(&a.aws)?,
        output: output(&a.output),
    })
}

fn apply(a: &ApplyArgs) -> Result<Apply, InputError> {
    let region_order = a
        .region_order
        .iter()
        .map(|name| Region::parse(name).map_err(flag("--region-order")))
        .collect::<Result<Vec<_>, _>>()?;
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
    if a.pause && !std::io::stdin().is_terminal() {
        return Err(InputError::usage(
            "--pause asks on the terminal, and stdin is not one: use --wave-wait for an unattended pause",
        ));
    }
    Ok(Apply {
        fleet: Fleet {
            waves,
            prune_versions: optional(&a.prune_versions, "--prune-versions", |v| {
                whole(v, 1, 10_000)
            })?,
            ..fleet(&a.run)?
        },
        yes: a.yes,
        wave_wait: optional(&a.wave_wait, "--wave-wait", parse_duration)?,
        pause: a.pause,
        region_order,
        max_failures: optional(&a.max_failures, "--max-failures", parse_max_failures)?,
    })
}

fn rollback(a: &RollbackArgs) -> Result<Rollback, InputError> {
    distinct_outputs(&a.output, &[("--from", Some(&a.from))])?;
    Ok(Rollback {
        from: a.from.clone(),
        inventory: a.inventory.clone(),
        aws: aws(&a.aws)?,
        output: output(&a.output),
        yes: a.yes,
    })
}

fn discover(a: &DiscoverArgs) -> Result<Discover, InputError> {
    let regions = a
        .regions
        .iter()
        .map(|name| Region::parse(name).map_err(flag("-r")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Discover {
        ous: a.ous.clone(),
        include_management: a.include_management,
        regions,
        output: a.output.clone(),
        aws: aws(&a.aws)?,
        role_name: a.aws.role_name.clone(),
    })
}

fn waves(w: &WaveArgs) -> Result<Option<Waves>, InputError> {
    let spec = match (&w.waves, w.canary.is_empty()) {
        (Some(spec), _) => spec.clone(),
        // A canary alone: it, then everyone else.
        (None, false) => "100%".to_string(),
        (None, true) => return Ok(None),
    };
    let stages = waves::parse_spec(&spec).map_err(flag("--waves"))?;
    // What the summary names the waves by: the flags as given.
    let mut label = vec![];
    if !w.canary.is_empty() {
        label.push(format!("--canary {}", w.canary.join(",")));
    }
    if let Some(spec) = &w.waves {
        label.push(format!("--waves {spec}"));
    }
    Ok(Some(Waves {
        spec: label.join(" "),
        stages,
        canary: w.canary.clone(),
    }))
}

/// `90s`, `10m`, `1h`, `1h30m`, or bare seconds; at most a day.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration such as 90s, 10m or 1h (at most 24h)");
    let mut total = 0f64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => return Err(bad()),
        };
        total += number.parse::<f64>().map_err(|_| bad())? * unit;
        number.clear();
    }
    if !number.is_empty() {
        total += number.parse::<f64>().map_err(|_| bad())?;
    }
    if !total.is_finite() || total <= 0.0 || total > 86_400.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

fn prefs(a: &PrefsArgs) -> Result<PrefsOptions, InputError> {
    Ok(PrefsOptions {
        path: a.preferences.clone(),
        document_name: names::check_document_name(&a.document_name)
            .map(|()| a.document_name.clone())
            .map_err(flag("--document-name"))?,
    })
}

fn selection(s: &SelectArgs) -> Result<Selection, InputError> {
    let mut problems = vec![];
    let regions = s.regions.as_ref().map(|given| {
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
    });
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
    })
}

fn aws(a: &AwsArgs) -> Result<Aws, InputError> {
    let concurrency = whole(&a.concurrency, 1, 1024).map_err(flag("--concurrency"))?;
    let max_attempts = whole(&a.max_attempts, 1, 20).map_err(flag("--max-attempts"))?;
    let operation_timeout =
        seconds(&a.operation_timeout, 3600.0).map_err(flag("--operation-timeout"))?;
    Ok(Aws {
        session: SessionOptions {
            role_name: a.role_name.clone(),
            external_id: a.external_id.clone(),
            session_name: a.session_name.clone(),
            profile: a.profile.clone(),
            endpoint_url: a.endpoint_url.clone(),
            max_attempts: max_attempts as u32,
            operation_timeout,
        },
        concurrency,
    })
}

fn output(o: &OutputArgs) -> Output {
    Output {
        report: o.report.clone(),
        html: o.html.clone(),
        junit: o.junit.clone(),
        summary_json: o.summary_json.as_deref().map(Destination::of),
        verbosity: output_verbosity(o),
        no_progress: o.no_progress,
    }
}

/// The report, the page, the JUnit file and the summary JSON are new files: none may be an
/// input of the run (the apply report a rollback undoes is its only record) or another output.
fn distinct_outputs(
    out: &OutputArgs,
    inputs: &[(&str, Option<&PathBuf>)],
) -> Result<(), InputError> {
    let same = |a: &PathBuf, b: &PathBuf| {
        a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    };
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
        if let Some((other, _)) = others.find(|(_, p)| p.is_some_and(|p| same(path, p))) {
            return Err(InputError::usage(format!(
                "{name} {} is also given as {other}: the run would overwrite it",
                path.display()
            )));
        }
    }
    Ok(())
}

/// An optional flag's value, parsed when given.
fn optional<T>(
    value: &Option<String>,
    name: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, InputError> {
    value
        .as_deref()
        .map(|v| parse(v).map_err(flag(name)))
        .transpose()
}

fn parse_existing(s: &str) -> Result<Existing, String> {
    Existing::parse(s).ok_or_else(|| {
        let names = Existing::ALL.map(Existing::as_str);
        format!(
            "{s:?} is not one of {}{}",
            names.join(", "),
            did_you_mean(s, names)
        )
    })
}

/// Prefixes a value's problem with the flag it was given to.
fn flag(name: &'static str) -> impl Fn(String) -> InputError {
    move |problem| InputError::flag(name, problem)
}

fn whole(text: &str, min: usize, max: usize) -> Result<usize, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n >= min as i64 && n <= max as i64 => Ok(n as usize),
        _ => Err(format!(
            "{text:?} is not a whole number from {min} to {max}"
        )),
    }
}

/// Seconds, finite and above zero (a float's `inf` and `nan` parse, and would panic later).
fn seconds(text: &str, max: f64) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        // At least a millisecond: a smaller timeout fails every call before it is sent.
        Ok(s) if s.is_finite() && s >= 0.001 && s <= max => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0.001 to {max}"
        )),
    }
}

/// `N` failures or `N%` of the targets; 0 stops at the first failure.
fn parse_max_failures(s: &str) -> Result<MaxFailures, String> {
    let bad = || format!("{s:?} is not a count (3) or a percentage from 0% to 100% (10%)");
    match s.trim().strip_suffix('%') {
        Some(p) => match p.trim().parse::<f64>() {
            Ok(v) if (0.0..=100.0).contains(&v) => Ok(MaxFailures::Percent(v)),
            _ => Err(bad()),
        },
        None => s
            .trim()
            .parse::<usize>()
            .map(MaxFailures::Count)
            .map_err(|_| bad()),
    }
}

/// `K/N` for `--shard`, with 1 <= K <= N <= 10,000 (a CI matrix, not a memory bomb).
fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("{s:?} is not K/N with 1 <= K <= N <= 10000 (for example 2/8)");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n) = (
        k.trim().parse::<usize>().map_err(|_| bad())?,
        n.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if k == 0 || n == 0 || k > n || n > 10_000 {
        return Err(bad());
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_out_of_range_are_refused() {
        for bad in ["inf", "nan", "-1", "0", "1025", "2.5", ""] {
            assert!(whole(bad, 1, 1024).is_err(), "{bad}");
        }
        assert_eq!(whole(" 32 ", 1, 1024), Ok(32));
        for bad in ["inf", "-inf", "nan", "-1", "0", "1e30"] {
            assert!(seconds(bad, 3600.0).is_err(), "{bad}");
        }
        assert_eq!(seconds("0.5", 3600.0), Ok(Duration::from_millis(500)));
        for bad in ["inf", "nan", "-1", "101%", "-1%", "nan%", "x"] {
            assert!(parse_max_failures(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_max_failures("0"), Ok(MaxFailures::Count(0)));
        assert_eq!(parse_max_failures("10%"), Ok(MaxFailures::Percent(10.0)));
        for bad in ["0/2", "3/2", "1/0", "-1/2", "inf", "1"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_shard("2/8"), Ok((2, 8)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        for bad in ["", "0s", "-1m", "10x", "25h", "m"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}

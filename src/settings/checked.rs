//! The checked settings of each command: what runs, with every flag's value parsed and
//! range-checked (built from the raw flags by from_cli.rs).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::inventory::Selection;
use crate::lifecycle::{Existing, Mark};
use crate::target::Region;
use crate::waves::Stage;

/// `--role-name`'s default: the role AWS Organizations creates in each account it creates.
pub(crate) const DEFAULT_ROLE_NAME: &str = "OrganizationAccountAccessRole";
/// `--document-name`'s default: the document Session Manager reads its preferences from.
pub(crate) const DEFAULT_DOCUMENT_NAME: &str = "SSM-SessionManagerRunShell";
/// `--owner-tag`'s default.
pub(crate) const DEFAULT_OWNER_TAG: &str = "managed-by=ssm-prefs";
/// `-c`'s default: targets in flight at once.
pub(crate) const DEFAULT_CONCURRENCY: &str = "32";
/// `--max-attempts`' default.
pub(crate) const DEFAULT_MAX_ATTEMPTS: &str = "8";
/// `--operation-timeout`'s default, in seconds.
pub(crate) const DEFAULT_OPERATION_TIMEOUT: &str = "60";

/// What to run, with every flag checked.
pub enum Settings {
    /// `validate`: the files and the selection, no AWS call.
    Validate(Validate),
    /// `plan`: every target read and decided, nothing written.
    Plan(RunSettings),
    /// `apply`: the plan, confirmed, then written.
    Apply(Apply),
    /// `audit`: every target held to the preferences, read-only.
    Audit(RunSettings),
    /// `rollback --from`: an apply undone from its report.
    Rollback(Rollback),
    /// `discover`: an inventory file from AWS Organizations.
    Discover(Discover),
    /// `report merge`: shard reports joined into one.
    Merge {
        /// The shard reports, in order.
        reports: Vec<PathBuf>,
        /// The merged report.
        output: PathBuf,
    },
    /// `completions SHELL`: the completion script.
    Completions(clap_complete::Shell),
    /// `man`: the man page.
    Man,
}

/// `-p` and `--document-name`, checked (`--merge` is folded into [`RunSettings::existing`]).
#[derive(Debug, Clone)]
pub(crate) struct PrefsOptions {
    /// The preferences file.
    pub(crate) path: PathBuf,
    /// The Session document managed, by SSM's naming rules.
    pub(crate) document_name: String,
    /// `--var KEY=VALUE`: placeholders' values for the accounts that give none.
    pub(crate) vars: BTreeMap<String, String>,
}

pub struct Validate {
    pub(crate) prefs: PrefsOptions,
    pub(crate) inventory: Option<PathBuf>,
    pub(crate) select: Selection,
}

/// Where a run's accounts come from: an inventory file, the organization, or EventBridge
/// events (alone, or narrowing either of the others).
#[derive(Debug, Clone, Default)]
pub(crate) struct Source {
    /// `-i FILE`.
    pub(crate) inventory: Option<PathBuf>,
    /// `--org`, with `--ou`'s OUs (empty: the whole organization).
    pub(crate) org: Option<Vec<String>>,
    /// `--event FILE|-`.
    pub(crate) events: Option<PathBuf>,
    /// `--org-tags-cache`: where the organization's tags are kept between runs.
    pub(crate) org_tags: Option<OrgTagsCache>,
}

/// The organization's tags kept between runs (`--org-tags-cache`, or Lambda mode's reports
/// bucket), and how many of them each run reads again.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrgTagsCache {
    /// A local path, or `s3://BUCKET/KEY`.
    pub(crate) at: String,
    pub(crate) refresh: usize,
}

/// Cached tags read again per run when not told: 500 calls are about a minute of
/// Organizations' pace, and a 10,000-account cache is read again in 20 days, each change
/// in between arriving by its `TagResource` event.
pub(crate) const ORG_TAGS_REFRESH: usize = 500;

/// The settings of a run over targets: `plan` and `audit`, and the run of `apply`.
pub struct RunSettings {
    pub(crate) prefs: PrefsOptions,
    pub(crate) source: Source,
    /// `--wait-ready`: how long a new account may take to be ready (zero: no waiting).
    pub(crate) wait_ready: Duration,
    pub(crate) select: Selection,
    pub(crate) retry_failed: Option<PathBuf>,
    /// Preflight's checks and how they judge; `None` with `--no-preflight`.
    pub(crate) preflight: Option<PreflightMode>,
    /// `--waves` / `--canary` (plan and apply).
    pub(crate) waves: Option<Waves>,
    pub(crate) document: DocumentRules,
    /// `audit --who`: who last changed each target that is not compliant (CloudTrail).
    pub(crate) who: bool,
    /// `audit --security-hub`: each target's verdict sent to Security Hub as a finding.
    pub(crate) security_hub: bool,
    pub(crate) aws: Aws,
    pub(crate) output: Output,
    /// Lambda mode (src/lambda/): what the invocation gives its run beside the flags.
    pub(crate) invoked: Option<Invoked>,
    /// `--deadline`: when the run must be done.
    pub(crate) deadline: Option<Deadline>,
}

/// The rules a target's document is written and judged by; the run's steps follow them as
/// given (src/steps/job.rs).
#[derive(Debug, Clone)]
pub(crate) struct DocumentRules {
    /// `--existing` (with `--merge` as `merge`): what to do where the document exists and
    /// differs.
    pub(crate) existing: Existing,
    /// `--owner-tag`: put on every document written; `refuse` writes only where it is.
    pub(crate) mark: Mark,
    /// `--prune-versions` (apply): the newest versions to keep at SSM's version cap.
    pub(crate) prune_versions: Option<usize>,
}

impl RunSettings {
    /// When the run stops and abandons: the Lambda invocation's, else `--deadline`'s.
    pub(crate) fn deadline(&self) -> Option<Deadline> {
        self.invoked.as_ref().map(|i| i.deadline).or(self.deadline)
    }
}

/// What a Lambda invocation gives its run beside its settings: its deadline.
#[derive(Debug, Clone)]
pub(crate) struct Invoked {
    pub(crate) deadline: Deadline,
}

/// A run bounded by a deadline (a Lambda invocation's, or `--deadline`), less the time its
/// rows and reports take to write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    /// No new target starts after this, as on SIGTERM.
    pub(crate) stop_at: std::time::Instant,
    /// The targets still in flight are abandoned (each still gets its row).
    pub(crate) abandon_at: std::time::Instant,
}

impl Deadline {
    /// `--deadline`: the reports are local files, quick to write: a tenth of the time is kept
    /// back, at most 30 s; the targets in flight have half of it to finish.
    pub(crate) fn within(left: Duration) -> Deadline {
        let margin = (left / 10).min(Duration::from_secs(30));
        let now = std::time::Instant::now();
        Deadline {
            stop_at: now + left - margin,
            abandon_at: now + left - margin / 2,
        }
    }
}

pub struct Apply {
    pub(crate) run: RunSettings,
    pub(crate) yes: bool,
    pub(crate) max_failures: Option<MaxFailures>,
    /// `--wave-wait`: the bake time between waves.
    pub(crate) wave_wait: Option<Duration>,
    /// `--pause`: ask before each next wave.
    pub(crate) pause: bool,
    /// `--region-order`: the regions written first within each wave, in order.
    pub(crate) region_order: Vec<Region>,
}

/// The waves asked for: the stages, and the canary accounts as named (resolved against the
/// selection once it is known).
#[derive(Debug, Clone)]
pub(crate) struct Waves {
    /// The flags that asked for them, as the summary names the waves.
    pub(crate) spec: String,
    pub(crate) stages: Vec<Stage>,
    pub(crate) canary: Vec<String>,
}

pub struct Rollback {
    pub(crate) from: PathBuf,
    pub(crate) inventory: Option<PathBuf>,
    pub(crate) aws: Aws,
    pub(crate) output: Output,
    pub(crate) yes: bool,
}

pub struct Discover {
    pub(crate) ous: Vec<String>,
    pub(crate) include_management: bool,
    pub(crate) regions: Vec<Region>,
    pub(crate) output: Option<PathBuf>,
    pub(crate) aws: Aws,
    pub(crate) role_name: String,
}

/// Where and as whom to connect, from the command line or the function's settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionOptions {
    pub(crate) role_name: String,
    pub(crate) external_id: Option<String>,
    pub(crate) session_name: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) max_attempts: u32,
    pub(crate) operation_timeout: std::time::Duration,
}

/// How to reach AWS, and how many targets at once.
#[derive(Debug, Clone)]
pub(crate) struct Aws {
    pub(crate) session: SessionOptions,
    pub(crate) concurrency: usize,
}

/// Where the run reports (how much it prints is the printer's: [`Verbosity`]).
#[derive(Clone)]
pub(crate) struct Output {
    pub(crate) report: Option<PathBuf>,
    pub(crate) html: Option<PathBuf>,
    /// `--junit FILE`: a test case per target, for CI test reporters.
    pub(crate) junit: Option<PathBuf>,
    /// `--summary-json FILE|-`: the run's summary as JSON.
    pub(crate) summary_json: Option<Destination>,
    pub(crate) no_progress: bool,
    /// Lambda mode: the outputs are written under a local directory and stored under an S3
    /// prefix (`s3://BUCKET/KEY`) as they are named there: the log and the summary JSON name
    /// them by where they will be read, not by a temporary path.
    pub(crate) stored_at: Option<(PathBuf, String)>,
}

impl Output {
    /// An output's path as it is shown: under `stored_at`'s directory, its S3 URI.
    pub(crate) fn shown(&self, path: &std::path::Path) -> String {
        match &self.stored_at {
            Some((dir, uri)) => match path.strip_prefix(dir) {
                Ok(rest) => format!("{uri}/{}", rest.display()),
                Err(_) => path.display().to_string(),
            },
            None => path.display().to_string(),
        }
    }
}

/// How much to print (`-q`, `-v`): the printer (src/terminal/printer.rs) is built from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors, warnings and one final summary line.
    Quiet,
    /// The run's header, plan, change list and summary, and the first failed targets.
    Default,
    /// Also a line for every target as it finishes.
    Verbose,
}

/// Where a file-or-stdout output goes (`-` is stdout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    pub(crate) fn of(path: &std::path::Path) -> Destination {
        if path.as_os_str() == "-" {
            Destination::Stdout
        } else {
            Destination::File(path.to_path_buf())
        }
    }
}

/// Failure tolerance, as CloudFormation StackSets' FailureToleranceCount / Percentage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum MaxFailures {
    Count(usize),
    Percent(f64),
}

impl MaxFailures {
    /// Whether `failed` failures out of `total` targets exceed the tolerance.
    pub(crate) fn exceeded(self, failed: usize, total: usize) -> bool {
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
    /// Worker threads for the run: one (a current-thread runtime) up to `-c 1024`, the machine's
    /// cores (at most 4) above it. A second thread costs about two thirds more CPU per target
    /// (tasks wake across threads, and memory allocated on one thread is freed on the other,
    /// which the allocator pays for in page faults), while one thread serves ~4,000 new targets
    /// a second, more than AWS's throttles let a fleet go (docs/operations.md "Performance").
    pub fn threads(&self) -> usize {
        let concurrency = match self {
            Settings::Plan(r) | Settings::Audit(r) => r.aws.concurrency,
            Settings::Apply(a) => a.run.aws.concurrency,
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
const ONE_THREAD_UP_TO: usize = 1024;

/// How preflight judges: `--strict`, `--accept-node-risk`; `--nodes-report`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PreflightMode {
    /// `--strict`: warnings and unverified checks block too.
    pub strict: bool,
    /// `--accept-node-risk`: nodes that would lose sessions are reported, and block nothing.
    pub accept_node_risk: bool,
    /// `--nodes-report FILE`: every node the node check saw.
    pub nodes_report: Option<std::path::PathBuf>,
}

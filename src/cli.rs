//! The command line, raw (clap derive): the flags as typed, with help that reads like the
//! README. Numbers stay text here; src/settings/ checks every range in one place.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::settings::{
    DEFAULT_CONCURRENCY, DEFAULT_DOCUMENT_NAME, DEFAULT_MAX_ATTEMPTS, DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_OWNER_TAG, DEFAULT_ROLE_NAME,
};

const ABOUT: &str = "Roll out AWS Session Manager preferences (the SSM-SessionManagerRunShell document) to every account and region of an organization, then prove every target holds them.";

const AFTER_HELP: &str = "\
Typical use:
  ssm-prefs validate -p prefs.json -i accounts.yml     check files; no AWS call
  ssm-prefs plan     -p prefs.json -i accounts.yml     preview every target; read-only
  ssm-prefs apply    -p prefs.json -i accounts.yml     show the plan, confirm, write

Exit codes: 0 every target succeeded; 1 at least one target failed; 2 bad usage or
input (nothing was sent to AWS); 130 interrupted.";

/// The command line as typed (`Cli::parse`); `Settings::from_cli` checks it.
#[derive(Debug, Parser)]
#[command(name = "ssm-prefs", version, about = ABOUT, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: CommandArgs,
}

// A subcommand with its flags as typed. Checked, it becomes a `Settings` (src/settings/); the
// kind of run it names is the model's `Command` (src/model/meta.rs), the one enum of that name.
#[derive(Debug, Subcommand)]
pub(crate) enum CommandArgs {
    /// Check the preferences file and, with -i, the inventory and selection. Makes no AWS call.
    #[command(
        after_help = "Exit code 0 when the files are valid (warnings are printed), 2 with every problem found."
    )]
    Validate(ValidateArgs),
    /// Preview: read every target and report would-create, would-update or unchanged. Writes nothing.
    #[command(
        after_help = "Exit code 0 when every target could be read and none is blocked by preflight, 1 otherwise, 2 for bad input."
    )]
    Plan(PlanArgs),
    /// Show the plan, ask for confirmation, then create or update the document in every target.
    #[command(
        after_help = "Without a terminal on stdin (CI), --yes is required.\nExit code 0 when every target succeeded, 1 when any failed, 2 for bad input, 130 when interrupted."
    )]
    Apply(ApplyArgs),
    /// Prove every target holds the preferences: compliant, drifted (naming each differing input), missing or failed. Read-only.
    #[command(
        after_help = "A target whose latest version differs from its default version is drifted too (Session Manager may read either); it also runs preflight on the preferences each target should hold. With --who, CloudTrail names who last changed each target not compliant.\nExit code 0 only when every target is compliant with no blocking finding; 1 otherwise; 2 for bad input."
    )]
    Audit(AuditArgs),
    /// Undo an apply: promote each target's recorded previous version back to default, or delete a document that apply created — only where the target still holds what that apply wrote.
    #[command(
        after_help = "A target changed since the apply is skipped with the reason. Roles and external ids come from -i when given, else from the credential options.\nExit code 0 when every target was restored, 1 when any was skipped or failed, 2 for bad input, 130 when interrupted."
    )]
    Rollback(RollbackArgs),
    /// Write an inventory from AWS Organizations: every ACTIVE account (under the given OUs, or all), with name, tags and OU path.
    #[command(
        after_help = "The file loads in ssm-prefs and in c7n-org alike: a role ARN on every account, only `accounts` at the top.\nRun it with credentials for the management account (or a delegated administrator)."
    )]
    Discover(DiscoverArgs),
    /// Work with reports: `report merge` joins the reports of `--shard K/N` runs into one.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Print the completion script for bash, zsh, fish, powershell or elvish.
    #[command(
        after_help = "Install (then start a new shell):\n  bash  ssm-prefs completions bash > ~/.local/share/bash-completion/completions/ssm-prefs\n  zsh   ssm-prefs completions zsh > DIR/_ssm-prefs   (DIR: a directory on $fpath)\n  fish  ssm-prefs completions fish > ~/.config/fish/completions/ssm-prefs.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff): one page with every command and its options.
    #[command(after_help = "Install: ssm-prefs man > ~/.local/share/man/man1/ssm-prefs.1")]
    Man,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// Only accounts under these OUs (recursively); repeat or comma-separate
    #[arg(long = "ou", value_name = "OU_ID", value_delimiter = ',')]
    pub ous: Vec<String>,
    /// List the management account too (it usually lacks the member role)
    #[arg(long)]
    pub include_management: bool,
    /// Regions to write on every account (else the inventory leaves them to -r)
    #[arg(short = 'r', long, value_name = "LIST", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Where to write the inventory [default: standard output]
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Join shard reports into one, refusing a target twice or reports of different runs' kinds
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// The shard reports
    #[arg(value_name = "REPORT.csv", required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,
    /// The merged report
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    /// The CSV report of the apply to undo
    #[arg(long, value_name = "APPLY_REPORT.csv")]
    pub from: PathBuf,
    /// Inventory for the accounts' roles and external ids (optional)
    #[arg(short = 'i', long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Roll back without asking (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    pub prefs: PrefsArgs,
    /// Inventory file (YAML, c7n-org accounts.yml compatible, or CSV)
    #[arg(short = 'i', long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub prefs: PrefsArgs,
    /// Inventory file (YAML, c7n-org accounts.yml compatible, or CSV)
    #[arg(
        short = 'i',
        long,
        value_name = "FILE",
        required_unless_present_any = ["org", "event"],
        conflicts_with = "org"
    )]
    pub inventory: Option<PathBuf>,
    /// The accounts straight from AWS Organizations: every ACTIVE account (name, tags and OU path as `discover` reads them); the caller's own account with the base credentials
    #[arg(long)]
    pub org: bool,
    /// With --org: only the accounts under these OUs (recursively); repeat or comma-separate
    // Not clap's `requires = "org"`: it takes --org's default (false) as given; settings check it.
    #[arg(long = "ou", value_name = "OU_ID", value_delimiter = ',')]
    pub ous: Vec<String>,
    /// With --org: keep the accounts' tags between runs in this file (or s3://BUCKET/KEY), so a run reads only the tags it has not seen, and --org-tags-refresh of the rest (only where a tag may fill a placeholder or -t selects by one); with --event, the events' accounts' tags, read again, are kept in it
    #[arg(long, value_name = "FILE")]
    pub org_tags_cache: Option<String>,
    /// With --org-tags-cache: the accounts whose cached tags are read again each run, those read longest ago first [default: 500]
    #[arg(long, value_name = "N")]
    pub org_tags_refresh: Option<String>,
    /// Amazon EventBridge events decide the targets (`-` reads stdin): a new account (Control Tower CreateManagedAccount, Organizations CreateAccountResult), a region opted in, or an account's tags changed (Organizations TagResource, UntagResource); with -i or --org they narrow its selection
    #[arg(long, value_name = "FILE|-")]
    pub event: Option<PathBuf>,
    /// Wait this long for a new account to be ready (its role assumable, an opt-in region done ENABLING), retrying with backoff, e.g. 15m, 90s, 0 [default: 15m with --event, else 0]
    #[arg(long, value_name = "DURATION")]
    pub wait_ready: Option<String>,
    /// Finish within this long, e.g. 14m: new work (the walk of --org, new targets) stops in time for every row and the reports to be written, as in Lambda mode
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Only the targets whose status was failed, skipped or blocked in this earlier report
    #[arg(long, value_name = "REPORT.csv")]
    pub retry_failed: Option<PathBuf>,
    /// Where the document exists and differs: update it, merge (as --merge), keep it as it is (status kept), or refuse to write one this tool did not write (status blocked, UnmanagedDocument) [default: update]
    #[arg(long, value_name = "MODE")]
    pub existing: Option<String>,
    /// The tag that marks a document as this tool's: put on every document it creates or updates; audit notes documents without it, --existing refuse writes only where it is
    #[arg(long, value_name = "KEY=VALUE", default_value = DEFAULT_OWNER_TAG)]
    pub owner_tag: String,
    #[command(flatten)]
    pub preflight: PreflightArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub waves: WaveArgs,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// For every target not compliant, name who last changed the document and when (CloudTrail LookupEvents in its account and region, the last 90 days; needs cloudtrail:LookupEvents)
    #[arg(long)]
    pub who: bool,
    /// Send each target's verdict to AWS Security Hub as a finding, in the target's own account and region (BatchImportFindings, updated in place by a stable id; needs securityhub:BatchImportFindings and GetFindings); a finding not delivered makes the exit code 1
    #[arg(long)]
    pub security_hub: bool,
}

/// Staged rollout: which accounts go first.
#[derive(Debug, Args)]
pub(crate) struct WaveArgs {
    /// Write in cumulative waves of the selected accounts, each read back before the next starts, e.g. 1,10%,50%,100% (plan: print each wave's accounts)
    #[arg(long, value_name = "SPEC")]
    pub waves: Option<String>,
    /// The first wave's accounts (ids or names, comma-separated; in the selection)
    #[arg(long, value_name = "ACCOUNTS", value_delimiter = ',')]
    pub canary: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub waves: WaveArgs,
    /// Bake time between waves, e.g. 90s, 10m, 1h
    #[arg(long, value_name = "DURATION")]
    pub wave_wait: Option<String>,
    /// Ask on the terminal before each next wave, showing the wave's result
    #[arg(long)]
    pub pause: bool,
    /// Write each wave region by region in this order (the others after), each region read back before the next
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub region_order: Vec<String>,
    /// When SSM answers that a document has as many versions as it allows, delete its oldest versions beyond the newest N (never the default or the latest) and update again [default N: 100]
    // Negative numbers only, not every hyphen: a bare flag is followed by the next option.
    #[arg(
        long,
        value_name = "N",
        num_args = 0..=1,
        default_missing_value = "100",
        allow_negative_numbers = true
    )]
    pub prune_versions: Option<String>,
    /// Apply without asking (required when stdin is not a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Stop starting targets once more than N (or N% of the targets) have failed; the rest are skipped
    #[arg(long, value_name = "N|N%", allow_hyphen_values = true)]
    pub max_failures: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PrefsArgs {
    /// Preferences JSON (the document content; {account_id}, {account_name}, {region}, {partition} and inventory vars are filled per target): a file, or s3://BUCKET/KEY (plan, apply, audit)
    #[arg(short = 'p', long, value_name = "FILE")]
    pub preferences: PathBuf,
    /// Session document to manage
    #[arg(
        long,
        value_name = "NAME",
        default_value = DEFAULT_DOCUMENT_NAME
    )]
    pub document_name: String,
    /// Keep inputs a target has that the preferences file does not set (plan, apply, audit: --existing merge)
    #[arg(long)]
    pub merge: bool,
    /// A value for the preferences' {KEY} placeholder, for every account that gives none of its own (an inventory's vars, or with --org an Organizations tag ssm-prefs:KEY); repeat for several
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SelectArgs {
    /// Regions, comma-separated, overriding the inventory's; `all` = the regions each account has enabled
    #[arg(short = 'r', long, value_name = "LIST", value_delimiter = ',')]
    pub regions: Option<Vec<String>>,
    /// Only these accounts (ids or names, comma-separated)
    #[arg(short = 'a', long, value_name = "LIST", value_delimiter = ',')]
    pub accounts: Vec<String>,
    /// Leave out these accounts (ids or names, comma-separated)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub not_accounts: Vec<String>,
    /// Only accounts carrying this tag; repeat to require several
    #[arg(short = 't', long = "tag", value_name = "KEY:VALUE")]
    pub tags: Vec<String>,
    /// Only shard K of N: a deterministic, balanced share of the accounts (for a CI matrix)
    #[arg(long, value_name = "K/N", allow_hyphen_values = true)]
    pub shard: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PreflightArgs {
    /// Make preflight's warnings (e.g. a bucket in another region) and unverified checks (the member role may not look) block a target too
    #[arg(long)]
    pub strict: bool,
    /// Skip preflight: write without checking that the bucket, log group and KMS key the preferences name exist and are usable in each target. One wrong name then turns off Session Manager in every target written
    #[arg(long, conflicts_with = "strict")]
    pub no_preflight: bool,
    /// Write even where a managed node's role or agent cannot serve the preferences (it would lose Session Manager): the nodes at risk are still reported, as warnings
    #[arg(long, conflicts_with = "no_preflight")]
    pub accept_node_risk: bool,
    /// Write a CSV of every managed node the node check saw: account, region, instance id, platform, agent version, role, what fails and why
    #[arg(long, value_name = "FILE", conflicts_with = "no_preflight")]
    pub nodes_report: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AwsArgs {
    /// Role assumed in each account, when the inventory gives none (an IAM role name, with its path if any)
    #[arg(
        long,
        value_name = "NAME",
        default_value = DEFAULT_ROLE_NAME
    )]
    pub role_name: String,
    /// External id for AssumeRole, when the inventory gives none (never printed; a leading `-` is taken); from the environment, it stays off the command line
    // Any value STS takes, a leading `-` too: read as a flag, clap would echo it in its error.
    #[arg(
        long,
        value_name = "ID",
        env = "SSM_PREFS_EXTERNAL_ID",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub external_id: Option<String>,
    /// Role session name seen in CloudTrail [default: ssm-prefs-$USER]
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,
    /// Named profile for the base credentials
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS call here (an emulator such as moto); AWS_ENDPOINT_URL works too
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Targets in flight at once
    #[arg(
        short = 'c',
        long,
        value_name = "N",
        default_value = DEFAULT_CONCURRENCY,
        allow_hyphen_values = true
    )]
    pub concurrency: String,
    /// Attempts per AWS call, retries included (the SDK's standard retry mode, with backoff)
    #[arg(
        long,
        value_name = "N",
        default_value = DEFAULT_MAX_ATTEMPTS,
        allow_hyphen_values = true
    )]
    pub max_attempts: String,
    /// Seconds one AWS call may take, retries included; a slower call fails its target with Timeout
    #[arg(
        long,
        value_name = "SECS",
        default_value = DEFAULT_OPERATION_TIMEOUT,
        allow_hyphen_values = true
    )]
    pub operation_timeout: String,
}

#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// CSV report [default: reports/<command>-<UTC timestamp>.csv]
    #[arg(short = 'o', long = "report", value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Only errors and the final summary line
    #[arg(short = 'q', long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// A log line for every target as it finishes
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// No progress bars even on a terminal
    #[arg(long)]
    pub no_progress: bool,
    /// Also write a self-contained HTML report (metadata, counts, accounts × regions matrix, filterable table)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write a JUnit XML file for CI test reporters: a test case per target (the account as class, the region as name)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the run's summary as JSON (counts, commonest errors, exit code and why); `-` writes it to stdout and sends everything else to stderr
    #[arg(long, value_name = "FILE|-")]
    pub summary_json: Option<PathBuf>,
}

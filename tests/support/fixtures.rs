//! Fixtures: unique account ids per test, files in a temp dir, the real binary run with fake
//! credentials, and SDK clients that read the emulator's state back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use std::collections::BTreeMap;

use aws_config::BehaviorVersion;
use aws_config::sts::AssumeRoleProvider;
use serde_json::{Value, json};

use crate::support::proxy::Proxy;

/// Fake base credentials; tests assert that none of them is ever printed or reported.
pub const ACCESS_KEY: &str = "AKIAFAKEBASEKEY00042";
pub const SECRET_KEY: &str = "fakeBaseSecretKeyThatMustNeverBePrinted42";
pub const SESSION_TOKEN: &str = "FakeBaseSessionTokenThatMustNeverBePrinted42";

/// The AWS page's example preferences: what someone saved by hand.
pub const AWS_PAGE_EXAMPLE: &str = r#"{ "schemaVersion": "1.0", "description": "Document to hold regional settings for Session Manager", "sessionType": "Standard_Stream", "inputs": { "s3BucketName": "DOC-EXAMPLE-BUCKET", "s3KeyPrefix": "MyBucketPrefix", "s3EncryptionEnabled": true, "cloudWatchLogGroupName": "MyLogGroupName", "cloudWatchEncryptionEnabled": true, "kmsKeyId": "MyKMSKeyID", "runAsEnabled": true, "runAsDefaultUser": "MyDefaultRunAsUser" } }"#;

/// `n` account ids that no other test of this binary uses (the emulator is shared).
pub fn accounts(n: usize) -> Vec<String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let start = NEXT.fetch_add(n as u64, Ordering::SeqCst);
    (0..n as u64)
        .map(|i| format!("{:012}", 100_000_000_000 + start + i))
        .collect()
}

/// A temp dir for a test's files.
pub struct Dir(pub tempfile::TempDir);

impl Dir {
    /// A temp dir holding inv.yml (`n` fresh accounts in `regions`) and prefs.json (the
    /// desired preferences): (the dir, the inventory, the preferences).
    pub fn with_inputs(n: usize, regions: &[&str]) -> (Dir, PathBuf, PathBuf) {
        let dir = Dir::new();
        let inv = dir.write("inv.yml", &inventory(&accounts(n), regions));
        let prefs = dir.write("prefs.json", &desired().to_string());
        (dir, inv, prefs)
    }

    pub fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

/// The binary's result, with its output as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs the real binary with fake base credentials and no access to the user's AWS files.
pub fn ssm_prefs<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out: Output = ssm_prefs_command(args).output().expect("run ssm-prefs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The binary with fake base credentials, no stdin and no access to the user's AWS files,
/// for a test to run or to start in the background (and signal).
///
/// The rollout tests' fleets name a bucket, log group and key that exist nowhere: `plan`,
/// `apply` and `audit` run there without preflight (`--no-preflight` is added unless
/// `--strict` is given), and tests/e2e/preflight.rs, whose fleets hold them, runs it through
/// [`preflight_command`].
pub fn ssm_prefs_command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut args: Vec<std::ffi::OsString> = args
        .into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect();
    let runs = args
        .first()
        .is_some_and(|c| c == "plan" || c == "apply" || c == "audit");
    if runs
        && !args
            .iter()
            .any(|a| a == "--strict" || a == "--no-preflight")
    {
        args.push("--no-preflight".into());
    }
    preflight_command(args)
}

/// The binary as [`ssm_prefs_command`] runs it, with the arguments exactly as given.
pub fn preflight_command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssm-prefs"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("USER", "tester")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/ssm-prefs-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/ssm-prefs-test/credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    cmd
}

/// Rows of a CSV report, as header → value maps.
pub fn read_report(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("report {}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// An SSM client acting inside `account` on the emulator (straight, not through a proxy).
pub async fn ssm_in(endpoint: &str, account: &str, region: &str) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&config_in(endpoint, account, region).await)
}

/// The test reader's own credentials (not the binary's), in us-east-1 on the emulator: what
/// [`config_in`] assumes its role with.
pub async fn reader_config(endpoint: &str) -> aws_config::SdkConfig {
    base_config(endpoint, "AKIATESTREADER000001", "reader").await
}

/// A test's own credentials (this access key, a secret named `secret`), in us-east-1 on the
/// emulator: what a reader or a set-up step assumes its role in an account with.
pub async fn base_config(endpoint: &str, access_key: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            access_key, secret, None, None, "test",
        ))
        .load()
        .await
}

/// A config acting inside `account` and `region` on the emulator, through a role there, for
/// any service's client that reads the emulator's state back.
pub async fn config_in(endpoint: &str, account: &str, region: &str) -> aws_config::SdkConfig {
    let base = reader_config(endpoint).await;
    let role = AssumeRoleProvider::builder(format!("arn:aws:iam::{account}:role/TestReader"))
        .session_name("test-reader")
        .configure(&base)
        .build()
        .await;
    base.into_builder()
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(role))
        .build()
}

/// The (default, latest) versions of the document in `account` and `region`.
pub async fn default_and_latest(
    endpoint: &str,
    account: &str,
    region: &str,
    name: &str,
) -> (String, String) {
    let d = ssm_in(endpoint, account, region)
        .await
        .describe_document()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeDocument {name} in {account} {region}: {e:?}"))
        .document
        .unwrap();
    (
        d.default_version.unwrap_or_default(),
        d.latest_version.unwrap_or_default(),
    )
}

/// The default version's (version, content) of a document, or None when it does not exist.
pub async fn default_doc(client: &aws_sdk_ssm::Client, name: &str) -> Option<(String, String)> {
    match client.get_document().name(name).send().await {
        Ok(o) => Some((
            o.document_version.unwrap_or_default(),
            o.content.unwrap_or_default(),
        )),
        Err(e) => {
            let code = e
                .as_service_error()
                .and_then(|s| aws_sdk_ssm::error::ProvideErrorMetadata::code(s).map(String::from));
            assert_eq!(
                code.as_deref(),
                Some("InvalidDocument"),
                "unexpected error reading {name}: {e:?}"
            );
            None
        }
    }
}

pub use ssm_prefs::preferences::sha256_hex;

// Shared steps of the end-to-end tests.

pub const DOC: &str = "SSM-SessionManagerRunShell";

/// Adds a version of `content` to [`DOC`] behind the tool's back, made the default version
/// when `promote`: the new version's number.
pub async fn add_version(
    url: &str,
    account: &str,
    region: &str,
    content: &str,
    promote: bool,
) -> String {
    let ssm = ssm_in(url, account, region).await;
    let version = ssm
        .update_document()
        .name(DOC)
        .content(content)
        .document_version("$LATEST")
        .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
        .send()
        .await
        .expect("update behind the tool's back")
        .document_description
        .unwrap()
        .document_version
        .unwrap();
    if promote {
        ssm.update_document_default_version()
            .name(DOC)
            .document_version(&version)
            .send()
            .await
            .unwrap();
    }
    version
}

/// Deletes [`DOC`] behind the tool's back.
pub async fn delete_doc(url: &str, account: &str, region: &str) {
    ssm_in(url, account, region)
        .await
        .delete_document()
        .name(DOC)
        .send()
        .await
        .unwrap();
}
pub const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

pub fn desired() -> Value {
    json!({
        "schemaVersion": "1.0",
        "description": "Org-wide Session Manager preferences",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": "org-session-logs",
            "s3KeyPrefix": "sessions",
            "s3EncryptionEnabled": true,
            "cloudWatchLogGroupName": "/org/session-manager",
            "cloudWatchEncryptionEnabled": true,
            "kmsKeyId": "alias/session-manager",
            "runAsEnabled": false,
            "runAsDefaultUser": "",
            "idleSessionTimeout": "20"
        }
    })
}

pub fn inventory(ids: &[String], regions: &[&str]) -> String {
    let mut s = format!("regions: [{}]\naccounts:\n", regions.join(", "));
    for (i, id) in ids.iter().enumerate() {
        s.push_str(&format!("  - account_id: \"{id}\"\n    name: acct-{i}\n"));
    }
    s
}

/// As [`inventory`], each account with its name, written as a JSON string (so any name
/// stays one YAML scalar, whatever it holds).
pub fn named_inventory(ids: &[String], names: &[impl AsRef<str>], regions: &[&str]) -> String {
    let mut s = format!("regions: [{}]\naccounts:\n", regions.join(", "));
    for (id, name) in ids.iter().zip(names) {
        let name = serde_json::to_string(name.as_ref()).unwrap();
        s.push_str(&format!("  - account_id: \"{id}\"\n    name: {name}\n"));
    }
    s
}

pub async fn seed(url: &str, account: &str, region: &str, name: &str, content: &str) {
    ssm_in(url, account, region)
        .await
        .create_document()
        .name(name)
        .content(content)
        .document_type(aws_sdk_ssm::types::DocumentType::Session)
        .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
        .send()
        .await
        .expect("seed a document");
}

/// Every target's default (version, content), read back through the SDK.
pub async fn read_all(
    url: &str,
    ids: &[String],
    regions: &[&str],
    name: &str,
) -> BTreeMap<(String, String), Option<(String, String)>> {
    let mut out = BTreeMap::new();
    for id in ids {
        for r in regions {
            let client = ssm_in(url, id, r).await;
            out.insert(
                (id.clone(), r.to_string()),
                default_doc(&client, name).await,
            );
        }
    }
    out
}

pub fn rows_by_target(
    report: &std::path::Path,
) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let rows = read_report(report);
    let n = rows.len();
    let by: BTreeMap<_, _> = rows
        .into_iter()
        .map(|r| ((r["account_id"].clone(), r["region"].clone()), r))
        .collect();
    assert_eq!(by.len(), n, "a target appears in more than one row");
    by
}

/// `rollback --from FROM --yes -o REPORT --endpoint-url ENDPOINT`.
pub fn rollback_from(from: &std::path::Path, report: &std::path::Path, endpoint: &str) -> Run {
    ssm_prefs(rollback_line(from, report, endpoint))
}

/// `rollback --from FROM --yes --endpoint-url ENDPOINT`, no `-o`: a rollback the test
/// expects refused before any call (and so before any report).
pub fn rollback_refused(from: &std::path::Path, endpoint: &str) -> Run {
    let mut args = rollback_line(from, Path::new("-"), endpoint);
    args.retain(|a| !["-o", "-"].contains(a));
    ssm_prefs(args)
}

/// `rollback --from FROM --yes -o REPORT --endpoint-url ENDPOINT`, for a test to add to.
pub fn rollback_line<'a>(
    from: &'a std::path::Path,
    report: &'a std::path::Path,
    endpoint: &'a str,
) -> Vec<&'a str> {
    vec![
        "rollback",
        "--from",
        from.to_str().unwrap(),
        "--yes",
        "-o",
        report.to_str().unwrap(),
        "--endpoint-url",
        endpoint,
    ]
}

/// `apply --retry-failed FIRST` through the proxy once its faults are gone (its counts
/// cleared too); its report `retry.csv` in `dir`.
pub fn retry_failed(
    proxy: &Proxy,
    inv: &std::path::Path,
    prefs: &std::path::Path,
    dir: &Dir,
    first: &std::path::Path,
) -> (Run, PathBuf) {
    proxy.set_faults(crate::support::proxy::Faults::default());
    proxy.clear();
    let retry = dir.path("retry.csv");
    let extra = ["--retry-failed", first.to_str().unwrap()];
    (run("apply", proxy, inv, prefs, &retry, &extra), retry)
}

/// `CMD -p PREFS -o REPORT --endpoint-url PROXY -i INV EXTRA…` (+ `--yes` for apply).
pub fn run(
    cmd: &str,
    proxy: &Proxy,
    inv: &Path,
    prefs: &Path,
    report: &Path,
    extra: &[&str],
) -> Run {
    run_at(cmd, &proxy.url, inv, prefs, report, extra)
}

/// As [`run`], with every AWS call sent to `endpoint` (the stand-in, say).
pub fn run_at(
    cmd: &str,
    endpoint: &str,
    inv: &Path,
    prefs: &Path,
    report: &Path,
    extra: &[&str],
) -> Run {
    let mut args = inventory_line(cmd, inv, prefs, report, endpoint);
    args.extend(extra);
    ssm_prefs(args)
}

/// [`command_line`] with the accounts from the inventory `inv` (`-i INV`), for a test to add to.
pub fn inventory_line<'a>(
    cmd: &'a str,
    inv: &'a std::path::Path,
    prefs: &'a std::path::Path,
    report: &'a std::path::Path,
    endpoint: &'a str,
) -> Vec<&'a str> {
    let mut args = command_line(cmd, prefs, report, endpoint);
    args.extend(["-i", inv.to_str().unwrap()]);
    args
}

/// `CMD -p PREFS -o REPORT --endpoint-url ENDPOINT` (+ `--yes` for apply), without the
/// accounts' source (`-i`, `--org`, `--event`), for a test to add to.
pub fn command_line<'a>(
    cmd: &'a str,
    prefs: &'a std::path::Path,
    report: &'a std::path::Path,
    endpoint: &'a str,
) -> Vec<&'a str> {
    let mut args = vec![
        cmd,
        "-p",
        prefs.to_str().unwrap(),
        "-o",
        report.to_str().unwrap(),
        "--endpoint-url",
        endpoint,
    ];
    if cmd == "apply" {
        args.push("--yes");
    }
    args
}

/// A binary started in the background, its output read as it comes: each line of its stderr
/// reaches the test the moment it is printed, so a test waits on the line it needs (a target's
/// row with `-v`, an event) and on the pipes closing at its end, never on a timer.
pub struct Watched {
    child: std::process::Child,
    /// stderr's lines as printed; disconnected when the process ends (its pipe closes).
    lines: std::sync::mpsc::Receiver<String>,
    /// The lines received so far.
    seen: Vec<String>,
    stdout: Option<std::thread::JoinHandle<Vec<u8>>>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Watched {
    /// Starts the binary with `args`, stdout and stderr piped.
    pub fn start<I, S>(args: I) -> Watched
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Watched::of(spawn_piped(args))
    }

    /// Watches a process started with its stderr piped (and its stdout, unless the test
    /// closed or redirected it).
    pub fn of(mut child: std::process::Child) -> Watched {
        use std::io::{BufRead, Read};
        let out = child.stdout.take();
        let stdout = std::thread::spawn(move || {
            let mut all = vec![];
            if let Some(mut out) = out {
                let _ = out.read_to_end(&mut all);
            }
            all
        });
        let (send, lines) = std::sync::mpsc::channel();
        let mut err = std::io::BufReader::new(child.stderr.take().expect("piped"));
        let stderr = std::thread::spawn(move || {
            let mut all = vec![];
            let mut line = vec![];
            while err.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                all.extend_from_slice(&line);
                let _ = send.send(String::from_utf8_lossy(&line).trim_end().to_string());
                line.clear();
            }
            all
        });
        Watched {
            child,
            lines,
            seen: vec![],
            stdout: Some(stdout),
            stderr: Some(stderr),
        }
    }

    /// Waits, at most `limit`, until `n` lines of stderr (since the start) match `wanted`;
    /// panics, with what was printed, if the binary ends first or the time runs out.
    pub fn wait_for_lines(
        &mut self,
        what: &str,
        n: usize,
        limit: std::time::Duration,
        wanted: impl Fn(&str) -> bool,
    ) {
        let until = std::time::Instant::now() + limit;
        while self.seen.iter().filter(|l| wanted(l)).count() < n {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(e) => {
                    let _ = self.child.kill();
                    panic!(
                        "{n} × {what} not printed ({e:?} after {limit:?}); stderr:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Waits until stderr shows a line containing `text`.
    pub fn wait_for(&mut self, text: &str, limit: std::time::Duration) {
        self.wait_for_lines(text, 1, limit, |l| l.contains(text));
    }

    /// Waits until `-v` has printed `n` rows of this status (`created 111111111111/us-east-1
    /// (name)`): each is printed once the report holds it.
    pub fn wait_for_rows(&mut self, status: &str, n: usize, limit: std::time::Duration) {
        let what = format!("{status} row");
        self.wait_for_lines(&what, n, limit, |l| {
            l.strip_prefix(status)
                .and_then(|rest| rest.strip_prefix(' '))
                .is_some_and(|rest| rest.split(' ').next().is_some_and(|t| t.contains('/')))
        });
    }

    /// Sends the binary a signal as `kill` does (`-INT` is Ctrl-C).
    pub fn signal(&self, sig: &str) {
        signal(&self.child, sig);
    }

    /// Waits, at most `limit`, for the binary to end (its pipes close when it does): its
    /// output; kills it and panics, with its stderr, on overrun.
    pub fn finish(mut self, limit: std::time::Duration, what: &str) -> Output {
        let until = std::time::Instant::now() + limit;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "{what}: still running after {limit:?}; stderr so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
        let status = self.child.wait().unwrap();
        Output {
            status,
            stdout: self.stdout.take().unwrap().join().unwrap(),
            stderr: self.stderr.take().unwrap().join().unwrap(),
        }
    }

    /// Waits (at most two minutes) for the binary to end and asserts its exit code (its
    /// stderr shown where it differs); its output.
    pub fn exits_with(self, code: i32) -> Output {
        let out = self.finish(std::time::Duration::from_secs(120), "the binary");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        out
    }
}

impl From<std::process::Child> for Watched {
    fn from(child: std::process::Child) -> Watched {
        Watched::of(child)
    }
}

impl Drop for Watched {
    /// A failed test leaves no binary running behind it.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs an async test on a thread of its own with a 32 MiB stack: Security Hub's finding type
/// is deeply nested, and reading findings back, unoptimized, needs more stack than a test
/// thread's 2 MiB.
pub fn on_a_large_stack<F: std::future::Future<Output = ()> + 'static>(test: fn() -> F) {
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(test())
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Sends the running binary a signal as `kill` does (`-INT` is Ctrl-C).
pub fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// `validate -p PREFS -i INV EXTRA…`: the offline check of a preferences file and an inventory.
pub fn validate(prefs: &Path, inv: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["validate", "-p", path_str(prefs), "-i", path_str(inv)];
    args.extend(extra);
    ssm_prefs(args)
}

/// The binary started in the background with these arguments, its stdout and stderr piped.
pub fn spawn_piped<I, S>(args: I) -> std::process::Child
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    ssm_prefs_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a binary started in the background and asserts its exit code (its stderr
/// shown where it differs); its output.
pub fn exits_with(child: std::process::Child, code: i32) -> Output {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    out
}

/// A path as the `&str` a command line takes (temp paths are UTF-8).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

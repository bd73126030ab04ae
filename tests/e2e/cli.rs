//! The command line as an operator meets it, through the real binary: every numeric flag
//! range-checked before any AWS call, a closed stdout, `-q`, one Ctrl-C on a large fleet,
//! a failing `discover -o`, a refused connection, the one-partition check, singular counts;
//! and a guard on the layout of src/ (one printer, no import cycle, the parts importing one way).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::org::{Organization, organizations_with};
use crate::support::proxy::{Faults, Proxy};

fn path_str(p: &Path) -> String {
    p.to_str().expect("a UTF-8 temp path").to_string()
}

/// What a finished child printed, read while it ran (so a full pipe never blocks it).
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn all(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

/// Waits for `child` at most `limit` (then kills it and fails), reading whatever of its
/// stdout and stderr is still piped.
fn finish(mut child: Child, limit: Duration, what: &str) -> Finished {
    fn reader<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    }
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: still running after {limit:?}; stderr so far:\n{}",
                err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Lines of output, blank ones included.
fn lines(text: &str) -> usize {
    text.lines().count()
}

// 1. Every numeric flag is range-checked before anything runs.

/// Runs `args`, expecting exit 2 with one `error: FLAG: ...` line, no AWS call and no file
/// at `must_not_exist`.
fn assert_refused(args: &[String], flag: &str, proxy: &Proxy, must_not_exist: &Path) {
    let out = ssm_prefs(args);
    let shown = format!(
        "ssm-prefs {}\n--- exit {} ---\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        out.code,
        out.stdout,
        out.stderr
    );
    assert_eq!(out.code, 2, "exit 2 for a bad {flag}:\n{shown}");
    assert!(!out.all().contains("panicked"), "a panic:\n{shown}");
    let err_lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        err_lines.len(),
        1,
        "a single line on stderr for a bad {flag}:\n{shown}"
    );
    assert!(
        err_lines[0].starts_with(&format!("error: {flag}: ")),
        "the line names the flag ({flag}):\n{shown}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout before anything ran:\n{shown}"
    );
    assert!(
        proxy.seen().is_empty(),
        "a bad {flag} made AWS calls: {:?}\n{shown}",
        proxy.counts()
    );
    assert!(
        !must_not_exist.exists(),
        "a bad {flag} left {} behind:\n{shown}",
        must_not_exist.display()
    );
}

#[test]
fn numeric_flags_out_of_range_exit_2_before_any_call() {
    let f = Fleet::new(2, &["us-east-1"]);
    let report = f.dir.path("never.csv");
    let bad_numbers = ["inf", "nan", "-1", "0"];
    let per_flag: Vec<(&str, Vec<&str>)> = vec![
        ("--concurrency", bad_numbers.to_vec()),
        ("--max-attempts", bad_numbers.to_vec()),
        ("--operation-timeout", bad_numbers.to_vec()),
        (
            "--shard",
            vec!["inf", "nan", "-1", "0", "0/2", "3/2", "1/0", "-1/2"],
        ),
    ];
    let mut checked = 0;
    for command in ["plan", "audit", "apply"] {
        for (flag, values) in &per_flag {
            for value in values {
                let mut args = f.args(command, &report);
                args.extend([flag.to_string(), value.to_string()]);
                assert_refused(&args, flag, &f.proxy, &report);
                checked += 1;
            }
        }
    }
    // apply's tolerance: 0 is valid (stop at the first failure), these are not.
    for value in ["inf", "nan", "-1", "101%", "-1%", "nan%", "inf%"] {
        let mut args = f.args("apply", &report);
        args.extend(["--max-failures".to_string(), value.to_string()]);
        assert_refused(&args, "--max-failures", &f.proxy, &report);
        checked += 1;
    }
    // rollback and discover take the same AWS flags, checked the same way.
    let from = f.dir.write(
        "apply-report.csv",
        "account_id,account_name,region,document_name,action,status,previous_version,document_version,content_sha256,changed_inputs,error_code,error_message,attempts,started_at,duration_ms\n",
    );
    let inventory_out = f.dir.path("never.yml");
    for (flag, values) in &per_flag[..3] {
        for value in values {
            // The command's own words, then the endpoint and the flag under test.
            let line = |words: &[&str]| -> Vec<String> {
                let tail = ["--endpoint-url", &f.proxy.url, flag, value];
                words.iter().chain(&tail).map(|s| s.to_string()).collect()
            };
            let (from_path, report_path) = (path_str(&from), path_str(&report));
            let rollback = line(&[
                "rollback",
                "--from",
                &from_path,
                "--yes",
                "-o",
                &report_path,
            ]);
            assert_refused(&rollback, flag, &f.proxy, &report);
            let discover = line(&["discover", "-o", &path_str(&inventory_out)]);
            assert_refused(&discover, flag, &f.proxy, &inventory_out);
            checked += 2;
        }
    }
    assert_eq!(checked, 3 * (12 + 8) + 7 + 24);
}

/// A duration's numbers need their unit, `--wait-ready`'s as `--wave-wait`'s: a bare `5`
/// could be seconds or minutes. `--wait-ready 0` alone stays "no wait".
#[test]
fn a_duration_without_its_unit_exits_2_before_any_call() {
    let f = Fleet::new(2, &["us-east-1"]);
    let report = f.dir.path("never.csv");
    let cases: [(&str, &[&str], &str); 5] = [
        ("plan", &["--wait-ready", "5"], "--wait-ready"),
        ("apply", &["--wait-ready", "90"], "--wait-ready"),
        ("audit", &["--wait-ready", "1h30"], "--wait-ready"),
        (
            "apply",
            &["--waves", "1,100%", "--wave-wait", "90"],
            "--wave-wait",
        ),
        ("plan", &["--wait-ready", "00"], "--wait-ready"),
    ];
    for (command, extra, flag) in cases {
        let mut args = f.args(command, &report);
        args.extend(extra.iter().map(|s| s.to_string()));
        assert_refused(&args, flag, &f.proxy, &report);
        let out = ssm_prefs(&args);
        assert!(
            out.stderr.contains("has no unit"),
            "{command} {extra:?} says why:\n{}",
            out.all()
        );
    }
    let out = f.run_to("plan", &report, &["--wait-ready", "0"]);
    assert_eq!(out.code, 0, "--wait-ready 0 is no wait:\n{}", out.all());
}

#[tokio::test(flavor = "multi_thread")]
async fn max_failures_zero_is_accepted() {
    let f = Fleet::new(2, &["us-east-1", "eu-west-1"]);
    let report = f.dir.path("apply.csv");
    let out = f.run_to("apply", &report, &["--max-failures", "0"]);
    assert_eq!(
        out.code,
        0,
        "--max-failures 0 is valid and this apply has no failure:\n{}",
        out.all()
    );
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), f.target_count(), "{rows:?}");
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    for (target, found) in state {
        let row = &rows[&target];
        assert_eq!(row["status"], "created", "{target:?}: {row:?}");
        let (version, content) =
            found.unwrap_or_else(|| panic!("{target:?} has no document after apply"));
        assert_eq!(serde_json::from_str::<Value>(&content).unwrap(), desired());
        assert_eq!(row["document_version"], version);
    }
}

// 2. A closed stdout never panics.

#[test]
fn plan_with_a_closed_stdout_finishes_its_report() {
    let f = Fleet::new(3, &["us-east-1", "eu-west-1"]);
    let report = f.dir.path("plan.csv");
    let mut child = ssm_prefs_command(f.args("plan", &report))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ssm-prefs");
    // The read end closes before the tool's first line.
    drop(child.stdout.take());
    let out = finish(child, Duration::from_secs(60), "plan with stdout closed");
    assert!(!out.stderr.contains("panicked"), "{}", out.all());
    assert_ne!(out.code, Some(101), "a panic's exit code:\n{}", out.all());
    assert_eq!(out.code, Some(0), "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(
        rows.len(),
        f.target_count(),
        "one row per target though stdout was closed: {rows:?}"
    );
    assert!(
        rows.values().all(|r| r["status"] == "would-create"),
        "{rows:?}"
    );
    assert_eq!(f.proxy.writes(), 0, "plan wrote: {:?}", f.proxy.counts());
}

#[test]
fn plan_piped_into_head_does_not_panic() {
    let f = Fleet::new(3, &["us-east-1", "eu-west-1"]);
    let report = f.dir.path("plan.csv");
    let mut args = f.args("plan", &report);
    // As ssm_prefs_command runs it: this fleet names no real bucket.
    args.push("--no-preflight".into());
    let line = std::iter::once(env!("CARGO_BIN_EXE_ssm-prefs").to_string())
        .chain(args)
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let script = format!("set +o pipefail; {line} | head -1");
    // The binary's fake credentials and isolation, for bash to pass on.
    let inner = ssm_prefs_command(["plan"]);
    let mut cmd = Command::new("bash");
    cmd.args(["-c", &script]).env_clear();
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    let out = finish(child, Duration::from_secs(60), "plan | head -1");
    assert!(!out.stderr.contains("panicked"), "{script}\n{}", out.all());
    assert_eq!(out.code, Some(0), "head's exit:\n{script}\n{}", out.all());
    assert_eq!(
        lines(&out.stdout),
        1,
        "head kept the first line:\n{}",
        out.all()
    );
    assert!(
        out.stdout.starts_with("plan: "),
        "the first line is the plan's header:\n{}",
        out.all()
    );
    let rows = rows_by_target(&report);
    assert_eq!(
        rows.len(),
        f.target_count(),
        "the report is complete: {rows:?}"
    );
}

/// Temporary credentials of a fresh account on the emulator: the emulator files what they
/// sign (Organizations included) under that account, so this test's organization is its own.
async fn credentials_in(url: &str, account: &str) -> [(String, String); 3] {
    let out = aws_sdk_sts::Client::new(&reader_config(url).await)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/OrgAdmin"))
        .role_session_name("cli-test")
        .send()
        .await
        .expect("assume a role in a fresh account");
    let c = out.credentials.expect("credentials");
    [
        ("AWS_ACCESS_KEY_ID".into(), c.access_key_id),
        ("AWS_SECRET_ACCESS_KEY".into(), c.secret_access_key),
        ("AWS_SESSION_TOKEN".into(), c.session_token),
    ]
}

/// An Organizations client signing with `creds`.
async fn organizations_as(
    url: &str,
    creds: &[(String, String); 3],
) -> aws_sdk_organizations::Client {
    let credentials = aws_sdk_ssm::config::Credentials::new(
        creds[0].1.clone(),
        creds[1].1.clone(),
        Some(creds[2].1.clone()),
        None,
        "test",
    );
    organizations_with(url, credentials).await
}

/// `discover` run as the account of `creds` (instead of the fixtures' base credentials).
fn discover_command(creds: &[(String, String); 3], args: &[&str]) -> Command {
    let mut cmd = ssm_prefs_command(std::iter::once("discover").chain(args.iter().copied()));
    for (k, v) in creds {
        cmd.env(k, v);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_with_a_closed_stdout_does_not_panic() {
    let url = emulator().url.clone();
    let management = accounts(1).remove(0);
    let creds = credentials_in(&url, &management).await;
    // An organization of this test's own account.
    let org = Organization::create(organizations_as(&url, &creds).await).await;
    for i in 0..3 {
        org.create_account(&format!("member-{i}"), &format!("member+{i}@example.com"))
            .await;
    }
    // With stdout open, discover prints the inventory there: that is the write that fails.
    let open = discover_command(&creds, &["--endpoint-url", &url])
        .output()
        .unwrap();
    let (open_out, open_err) = (
        String::from_utf8_lossy(&open.stdout),
        String::from_utf8_lossy(&open.stderr),
    );
    assert_eq!(open.status.code(), Some(0), "{open_out}\n{open_err}");
    assert!(
        open_out.contains("accounts:") && open_out.matches("- account_id: ").count() == 3,
        "discover prints the inventory to stdout:\n{open_out}\n{open_err}"
    );

    let mut child = discover_command(&creds, &["--endpoint-url", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = finish(
        child,
        Duration::from_secs(60),
        "discover with stdout closed",
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.all());
    assert_ne!(out.code, Some(101), "a panic's exit code:\n{}", out.all());
    assert!(out.code.is_some(), "killed by a signal:\n{}", out.all());
}

// 3. -q

#[test]
fn quiet_apply_prints_only_the_summary_line() {
    let f = Fleet::new(3, &["us-east-1", "eu-west-1"]);
    let report = f.dir.path("apply.csv");
    let out = f.run_to("apply", &report, &["-q"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let all: Vec<&str> = out.stdout.lines().chain(out.stderr.lines()).collect();
    assert!(
        all.len() <= 2,
        "-q printed {} lines:\n{}",
        all.len(),
        out.all()
    );
    let report_path = path_str(&report);
    assert!(
        all.iter()
            .any(|l| l.contains(&report_path) && l.contains("apply")),
        "-q keeps the summary line naming the report {report_path}:\n{}",
        out.all()
    );
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), f.target_count());
    assert!(rows.values().all(|r| r["status"] == "created"), "{rows:?}");
}

// 4. One Ctrl-C on a large fleet: a screenful, not a line per target.

#[tokio::test(flavor = "multi_thread")]
async fn one_interrupt_on_900_targets_prints_a_screenful_and_reports_every_target() {
    let f = Fleet::new(300, &["us-east-1", "eu-west-1", "ap-southeast-2"]);
    assert_eq!(f.target_count(), 900);
    f.proxy.set_faults(Faults {
        slow: Some((vec!["GetDocument".into()], Duration::from_millis(400))),
        ..Default::default()
    });
    let report = f.dir.path("apply.csv");
    let mut args = f.args("apply", &report);
    args.extend(["-c".into(), "4".into()]);
    let started = Instant::now();
    let mut child = spawn_piped(&args);
    // The reads have started (and, at 400 ms each, 4 at a time, are far from done).
    while f.proxy.count("GetDocument") == 0 {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let out = finish(child, Duration::from_secs(10), "apply killed");
            panic!(
                "no GetDocument within 30 s: {:?}\n{}",
                f.proxy.counts(),
                out.all()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, "-INT");
    let out = finish(child, Duration::from_secs(40), "apply after one Ctrl-C");
    assert_eq!(out.code, Some(130), "{}", out.all());
    let printed = lines(&out.stdout) + lines(&out.stderr);
    assert!(
        printed <= 40,
        "one Ctrl-C on 900 targets printed {printed} lines:\n{}",
        out.all()
    );
    assert!(!out.all().contains("panicked"), "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), 900, "a row for every target");
    let targets: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r["account_id"].clone(), r["region"].clone()))
        .collect();
    assert_eq!(targets.len(), 900, "every target exactly once");
    let want: BTreeSet<(String, String)> = f
        .ids
        .iter()
        .flat_map(|id| f.regions.iter().map(|r| (id.clone(), r.to_string())))
        .collect();
    assert_eq!(targets, want, "the report's targets are the fleet's");
    assert!(
        rows.iter()
            .all(|r| r["status"] == "skipped" && r["error_code"] == "Interrupted"),
        "interrupted while reading: every target skipped, Interrupted: {:?}",
        rows.iter()
            .filter(|r| r["status"] != "skipped" || r["error_code"] != "Interrupted")
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        f.proxy.writes(),
        0,
        "an interrupt while reading writes nothing: {:?}",
        f.proxy.counts()
    );
    // What the screen says about the targets adds up: each skipped target is either shown
    // on its own line, once, or counted once in the `… and N more` line.
    let shown: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("skipped "))
        .collect();
    let distinct: BTreeSet<&&str> = shown.iter().collect();
    assert_eq!(
        distinct.len(),
        shown.len(),
        "a target's line printed twice:\n{}",
        out.all()
    );
    let held_back: usize = out
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("… and "))
        .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(
        shown.len() + held_back <= 900,
        "the output accounts for {} skipped targets ({} shown + {held_back} held back) of 900: \
         a target counted twice (once while reading, again in the report phase?):\n{}",
        shown.len() + held_back,
        shown.len(),
        out.all()
    );
}

// 6. A failing `discover -o FILE` leaves FILE as it was.

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_discover_leaves_the_inventory_as_it_was() {
    let url = emulator().url.clone();
    // An account in no organization: Organizations answers AWSOrganizationsNotInUseException.
    let loner = accounts(1).remove(0);
    let creds = credentials_in(&url, &loner).await;
    let throttled = Proxy::start(&url);
    throttled.set_faults(Faults {
        throttle: 1.0,
        ..Default::default()
    });
    let cases: Vec<(&str, String, bool)> = vec![
        ("an account in no organization", url.clone(), true),
        ("nothing listening", "http://127.0.0.1:9".into(), false),
        ("every request throttled", throttled.url.clone(), false),
    ];
    let old = b"# hand-edited, kept\naccounts:\n  - account_id: \"012345678901\"\n    name: \"keep-me\"\n";
    for (case, endpoint, as_loner) in cases {
        let dir = Dir::new();
        let inv = dir.path("org.yml");
        std::fs::write(&inv, old).unwrap();
        // Organizations' throttles are tried again for as long as --operation-timeout (the
        // walk loses no account to a throttle): a short one ends the throttled case soon.
        let args = [
            "-o",
            inv.to_str().unwrap(),
            "--endpoint-url",
            &endpoint,
            "--max-attempts",
            "1",
            "--operation-timeout",
            "5",
        ];
        let mut cmd = if as_loner {
            discover_command(&creds, &args)
        } else {
            ssm_prefs_command(std::iter::once("discover").chain(args))
        };
        let child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = finish(child, Duration::from_secs(60), case);
        assert_eq!(out.code, Some(1), "{case}: exit 1\n{}", out.all());
        assert!(!out.all().contains("panicked"), "{case}:\n{}", out.all());
        assert!(
            out.stderr.contains("cannot read the organization"),
            "{case}: says what failed:\n{}",
            out.all()
        );
        assert_eq!(
            std::fs::read(&inv).unwrap(),
            old,
            "{case}: the inventory changed:\n{}",
            out.all()
        );
        let left: Vec<String> = std::fs::read_dir(dir.0.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            vec!["org.yml".to_string()],
            "{case}: nothing beside the inventory (no temporary file)"
        );
    }
    assert!(
        throttled.count("DescribeOrganization") > 0,
        "the throttled case reached the proxy: {:?}",
        throttled.counts()
    );
}

/// `discover -o` naming a directory, or a file in a directory that does not exist, is exit 2
/// naming `-o` before Organizations is read: the organization is not walked for nothing.
#[test]
fn discover_checks_its_output_path_before_any_call() {
    let url = emulator().url.clone();
    let proxy = Proxy::start(&url);
    let dir = Dir::new();
    let nowhere = dir.path("no-such-dir").join("org.yml");
    let in_a_file = dir.write("file", "").join("org.yml");
    for (case, path, says) in [
        ("a directory", dir.0.path().to_path_buf(), "is a directory"),
        ("a missing parent", nowhere.clone(), "does not exist"),
        ("a parent that is a file", in_a_file, "does not exist"),
    ] {
        let out = ssm_prefs([
            "discover",
            "-o",
            &path_str(&path),
            "--endpoint-url",
            proxy.url.as_str(),
        ]);
        assert_eq!(out.code, 2, "{case}: exit 2\n{}", out.all());
        assert!(
            out.stderr.starts_with("error: -o: ") && out.stderr.contains(says),
            "{case}: names -o and why:\n{}",
            out.all()
        );
        assert!(
            proxy.seen().is_empty(),
            "{case}: no AWS call: {:?}",
            proxy.counts()
        );
    }
    assert!(!nowhere.parent().unwrap().exists(), "no directory made");
}

// 7. A connection failure is one line saying where and why.

#[test]
fn a_refused_connection_is_one_line_saying_where_and_why() {
    let ids = accounts(2);
    let regions = ["us-east-1", "eu-west-1"];
    let dir = Dir::new();
    let inv = dir.write("inv.yml", &inventory(&ids, &regions));
    let prefs = dir.write("prefs.json", &desired().to_string());
    let report = dir.path("plan.csv");
    let extra = ["--max-attempts", "1"];
    let out = run_at("plan", "http://127.0.0.1:9", &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 1, "{}", out.all());
    for noise in ["DispatchFailure(", "ConnectorError", "panicked"] {
        assert!(
            !out.all().contains(noise),
            "the output shows the SDK's {noise:?}:\n{}",
            out.all()
        );
    }
    let rows = read_report(&report);
    assert_eq!(rows.len(), ids.len() * regions.len(), "{rows:?}");
    for row in &rows {
        assert_eq!(row["status"], "failed", "{row:?}");
        assert!(
            row["error_message"]
                .contains("cannot connect to http://127.0.0.1:9: connection refused"),
            "where and why: {row:?}"
        );
        assert_eq!(row["error_code"], "ConnectionError", "{row:?}");
        for noise in ["DispatchFailure(", "ConnectorError", "\n"] {
            assert!(!row["error_message"].contains(noise), "{noise:?}: {row:?}");
        }
    }
}

// 8. Exit 2 after the inputs pass but before any call leaves no report.

#[test]
fn the_one_partition_check_leaves_no_report() {
    let f = Fleet::new(2, &["us-east-1"]);
    let report = f.dir.path("plan.csv");
    let out = ssm_prefs_command(f.args("plan", &report))
        .env("AWS_REGION", "cn-north-1")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let shown = format!("--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        stderr.contains("partition"),
        "names the partition problem:\n{shown}"
    );
    assert!(!report.exists(), "exit 2 left a report behind:\n{shown}");
    assert!(
        f.proxy.seen().is_empty(),
        "calls before the partition check: {:?}\n{shown}",
        f.proxy.counts()
    );
}

// 9. Singulars.

/// Occurrences of `n noun`s (e.g. `1 targets`) not part of a larger number (`11 targets`).
fn counted_plurals(text: &str, phrase: &str) -> Vec<String> {
    let mut found = vec![];
    for (at, _) in text.match_indices(phrase) {
        let before = text[..at].chars().next_back();
        if !before.is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',') {
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
            found.push(text[line_start..line_end].to_string());
        }
    }
    found
}

#[test]
fn one_target_in_one_account_is_singular() {
    let f = Fleet::new(1, &["us-east-1"]);
    let mut outputs = vec![];
    let validate = validate(&f.prefs, &f.inv, &[]);
    assert_eq!(validate.code, 0, "{}", validate.all());
    outputs.push(("validate", validate));
    for command in ["plan", "apply", "audit"] {
        let report = f.dir.path(&format!("{command}.csv"));
        let out = f.run_to(command, &report, &[]);
        assert_eq!(out.code, 0, "{command}:\n{}", out.all());
        assert!(
            out.stdout.contains("1 target in 1 account"),
            "{command}'s header:\n{}",
            out.all()
        );
        assert_eq!(read_report(&report).len(), 1);
        outputs.push((command, out));
    }
    let rollback = rollback_from(
        &f.dir.path("apply.csv"),
        &f.dir.path("rollback.csv"),
        &f.proxy.url,
    );
    assert_eq!(rollback.code, 0, "{}", rollback.all());
    outputs.push(("rollback", rollback));
    for (command, out) in &outputs {
        for phrase in ["1 targets", "1 accounts"] {
            let bad = counted_plurals(&out.all(), phrase);
            assert!(
                bad.is_empty(),
                "{command} printed {phrase:?} in {bad:?}:\n{}",
                out.all()
            );
        }
    }
}

// 10. The layout of src/: no import cycle between its files, and the parts import one way. (One printer: clippy's
// print_stdout and print_stderr, warned in Cargo.toml and denied by scripts/test.sh.)

/// Every .rs file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn parse(file: &Path) -> syn::File {
    syn::parse_file(&std::fs::read_to_string(file).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// A file's module path: src/a/b.rs and src/a/b/mod.rs are [a, b]; main.rs and lib.rs [].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut segs: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segs.last().is_some_and(|s| s == "mod") || segs == ["main"] || segs == ["lib"] {
        segs.pop();
    }
    segs
}

/// The paths a use tree names, each with the name it brings in (`None` for a glob).
fn use_paths(tree: &syn::UseTree, prefix: Vec<String>) -> Vec<(Vec<String>, Option<String>)> {
    let with = |ident: &syn::Ident| [prefix.clone(), vec![ident.to_string()]].concat();
    match tree {
        syn::UseTree::Path(p) => use_paths(&p.tree, with(&p.ident)),
        syn::UseTree::Name(n) if n.ident == "self" => {
            vec![(prefix.clone(), prefix.last().cloned())]
        }
        syn::UseTree::Name(n) => vec![(with(&n.ident), Some(n.ident.to_string()))],
        syn::UseTree::Rename(r) => vec![(with(&r.ident), Some(r.rename.to_string()))],
        syn::UseTree::Glob(_) => vec![(prefix, None)],
        syn::UseTree::Group(g) => g
            .items
            .iter()
            .flat_map(|t| use_paths(t, prefix.clone()))
            .collect(),
    }
}

/// `segs`, written in module `here`, as an absolute module path: `crate::` (and main.rs's
/// `ssm_prefs::`) from the root, `self::` and `super::` from `here`; any other first segment
/// is a child of `here` when `relative` (a `use` in a mod.rs), else not the crate's.
fn absolute(here: &[String], segs: &[String], relative: bool) -> Option<Vec<String>> {
    let (mut abs, mut rest) = match segs.first()?.as_str() {
        "crate" | "ssm_prefs" => (vec![], &segs[1..]),
        "self" => (here.to_vec(), &segs[1..]),
        "super" => (here.to_vec(), segs),
        _ if relative => (here.to_vec(), segs),
        _ => return None,
    };
    while let [first, tail @ ..] = rest
        && first == "super"
    {
        abs.pop();
        rest = tail;
    }
    abs.extend_from_slice(rest);
    Some(abs)
}

/// The crate's module paths a file names, absolute, each with the path as written: in `use`
/// items, in code and in macro arguments that parse as expressions.
struct Refs {
    /// The module being read: the file's, and the inline `mod name { … }`s around.
    here: Vec<String>,
    found: Vec<(Vec<String>, String)>,
}

impl<'a> syn::visit::Visit<'a> for Refs {
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        self.here.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.here.pop();
    }
    fn visit_item_use(&mut self, u: &'a syn::ItemUse) {
        for (segs, _) in use_paths(&u.tree, vec![]) {
            if let Some(abs) = absolute(&self.here, &segs, false) {
                self.found.push((abs, segs.join("::")));
            }
        }
    }
    fn visit_path(&mut self, p: &'a syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(abs) = absolute(&self.here, &segs, false) {
            self.found.push((abs, segs.join("::")));
        }
        syn::visit::visit_path(self, p);
    }
    /// `pub(crate)`, `pub(super)`: no reference.
    fn visit_vis_restricted(&mut self, _: &'a syn::VisRestricted) {}
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        syn::visit::visit_macro(self, m);
        type Args = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
        if let Ok(args) = m.parse_body_with(Args::parse_terminated) {
            args.iter().for_each(|e| self.visit_expr(e));
        }
    }
}

/// The file that defines the absolute `path`: the deepest existing of src/a.rs (or
/// src/a/mod.rs), src/a/b.rs, …. A mod.rs or lib.rs, which only gathers modules, stands for
/// the file of what it re-exports as the path's next segment (by name, else through its one
/// glob), and for nothing else.
fn resolve(src: &Path, path: &[String], hops: usize) -> Option<PathBuf> {
    let (mut file, mut used, mut dir) = (src.join("lib.rs"), 0, src.to_path_buf());
    for seg in path {
        let candidates = [dir.join(format!("{seg}.rs")), dir.join(seg).join("mod.rs")];
        let Some(found) = candidates.into_iter().find(|f| f.is_file()) else {
            break;
        };
        (file, used) = (found, used + 1);
        dir.push(seg);
    }
    if !(file.ends_with("mod.rs") || file == src.join("lib.rs")) {
        return Some(file);
    }
    let item = path.get(used).filter(|_| hops < 8)?;
    let uses: Vec<_> = parse(&file)
        .items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Use(u) if !matches!(u.vis, syn::Visibility::Inherited) => Some(u),
            _ => None,
        })
        .flat_map(|u| use_paths(&u.tree, vec![]))
        .collect();
    let globs: Vec<_> = uses.iter().filter(|(_, name)| name.is_none()).collect();
    let (target, rest) = match uses.iter().find(|(_, name)| name.as_ref() == Some(item)) {
        Some((target, _)) => (target, &path[used + 1..]),
        None if globs.len() == 1 => (&globs[0].0, &path[used..]),
        None => return None,
    };
    let mut abs = absolute(&path[..used], target, true)?;
    abs.extend_from_slice(rest);
    resolve(src, &abs, hops + 1)
}

/// Each file of `src` (but lib.rs and the mod.rs files, which only gather modules) → the
/// files it refers to, each with the first path, as written, that does.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn import_graph(src: &Path) -> Graph {
    let name = |p: &Path| format!("src/{}", p.strip_prefix(src).unwrap().display());
    let mut graph = Graph::new();
    for file in rust_files(src) {
        if file.ends_with("mod.rs") || file == src.join("lib.rs") {
            continue;
        }
        let mut refs = Refs {
            here: module_of(src, &file),
            found: vec![],
        };
        syn::visit::Visit::visit_file(&mut refs, &parse(&file));
        let from = name(&file);
        let edges = graph.entry(from.clone()).or_default();
        for (path, written) in refs.found {
            if let Some(to) = resolve(src, &path, 0).map(|f| name(&f))
                && to != from
            {
                edges.entry(to).or_insert(written);
            }
        }
    }
    graph
}

/// A cycle of the graph, as `a (path) → b (path) → a`, if there is one.
fn find_cycle(graph: &Graph) -> Option<String> {
    // Depth-first; a node met again while on the stack closes a cycle.
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            return Some([&stack[at..], &[node.to_string()]].concat());
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let (mut done, mut stack) = (BTreeSet::new(), vec![]);
    let cycle = graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut stack))?;
    let steps: Vec<String> = cycle
        .windows(2)
        .map(|w| format!("{} ({})", w[0], graph[&w[0]][&w[1]]))
        .collect();
    Some(format!("{} → {}", steps.join(" → "), cycle[0]))
}

#[test]
fn no_import_cycle_between_src_files() {
    let graph = import_graph(&src_dir());
    assert!(
        graph.len() > 20 && graph.values().map(BTreeMap::len).sum::<usize>() > 40,
        "the graph is too small to be the crate's: {graph:#?}"
    );
    // Known edges, so a broken reader cannot pass by finding nothing.
    for (from, to) in [
        ("src/commands/apply.rs", "src/run/sinks.rs"),
        ("src/run/setup.rs", "src/aws/session.rs"),
        ("src/commands/rollback.rs", "src/run/setup.rs"),
        ("src/run/executor.rs", "src/run/setup.rs"),
    ] {
        assert!(
            graph[from].contains_key(to),
            "{from} → {to} not found: {:#?}",
            graph[from]
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("an import cycle between the files of src/: {cycle}");
    }
}

/// The one-way flow between the parts of src/ (docs/development.md "Where things live"): the
/// files under each folder on the left import none under the folders on its right.
const ONE_WAY: &[(&str, &[&str])] = &[
    // The engine is what commands call; it never calls one, nor reads the raw flags.
    ("src/run/", &["src/commands/", "src/cli.rs"]),
    // Lambda mode builds its settings itself: no command line.
    ("src/lambda/", &["src/cli.rs", "src/commands/"]),
    // A step is what the engine runs; it never reaches back up.
    ("src/steps/", &["src/run/", "src/commands/"]),
    // Settings are data: the printer and the engine are built from them.
    (
        "src/settings/",
        &[
            "src/terminal/",
            "src/report/",
            "src/run/",
            "src/commands/",
            "src/aws/",
        ],
    ),
    // The model imports no input parser, no renderer, no engine.
    (
        "src/model/",
        &[
            "src/preferences/",
            "src/inventory/",
            "src/settings/",
            "src/terminal/",
            "src/report/",
            "src/run/",
            "src/commands/",
            "src/steps/",
            "src/aws/",
        ],
    ),
    // Renderers never call AWS, never run anything, never import the other kind.
    (
        "src/report/",
        &[
            "src/aws/",
            "src/steps/",
            "src/run/",
            "src/commands/",
            "src/terminal/",
        ],
    ),
    (
        "src/terminal/",
        &[
            "src/aws/",
            "src/steps/",
            "src/run/",
            "src/commands/",
            "src/report/",
        ],
    ),
];

/// Every edge of `graph` against `rules`, as `from → to (path)`.
fn crossings(graph: &Graph, rules: &[(&str, &[&str])]) -> Vec<String> {
    let mut out = vec![];
    for (from, edges) in graph {
        for (to, written) in edges {
            let crosses = rules.iter().any(|(part, never)| {
                from.starts_with(part) && never.iter().any(|n| to.starts_with(n))
            });
            if crosses {
                out.push(format!("{from} → {to} ({written})"));
            }
        }
    }
    out
}

#[test]
fn the_parts_of_src_import_one_way() {
    let graph = import_graph(&src_dir());
    assert!(
        graph.keys().any(|f| f.starts_with("src/run/"))
            && graph.keys().any(|f| f.starts_with("src/steps/")),
        "the engine and the steps not found: {:#?}",
        graph.keys()
    );
    let bad = crossings(&graph, ONE_WAY);
    assert!(
        bad.is_empty(),
        "imports against the flow:\n{}",
        bad.join("\n")
    );
    // And the check sees a crossing where there is one.
    let mut crossed = graph.clone();
    crossed
        .entry("src/steps/job.rs".to_string())
        .or_default()
        .insert("src/run/setup.rs".to_string(), "crate::run".to_string());
    assert_eq!(
        crossings(&crossed, ONE_WAY),
        vec!["src/steps/job.rs → src/run/setup.rs (crate::run)"]
    );
}

/// The guard above fails where it should: on a small crate with a cycle through a `super::`
/// path, a `use` group, a mod.rs re-export and a macro's argument (and none through comments,
/// strings, `pub(crate)` or an inline test module's `super`).
#[test]
fn the_layout_guard_catches_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let put = |path: &str, text: &str| {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    put("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n");
    put(
        "main.rs",
        "fn main() { println!(\"ok here\"); ssm_prefs::a::x::go(); }\n",
    );
    put("a/mod.rs", "mod x;\nmod y;\npub use x::go;\n");
    put(
        "a/x.rs",
        "// crate::c::loop_back in a comment\n\
         pub fn go() { let _ = \"eprintln!(crate::c::z)\"; let _ = '\"'; super::y::f(); }\n\
         #[cfg(test)]\nmod tests { use super::*; }\n",
    );
    put("a/y.rs", "pub(crate) fn f() {\n    crate::b::g();\n}\n");
    put(
        "b.rs",
        "use crate::{c::{self, deep}, a};\npub fn g() { deep(); }\n",
    );
    put("c.rs", "pub fn deep() { assert!(crate::a::go() == ()) }\n");
    let graph = import_graph(src);
    assert_eq!(
        graph["src/a/x.rs"].keys().collect::<Vec<_>>(),
        vec!["src/a/y.rs"],
        "{graph:#?}"
    );
    assert_eq!(
        graph["src/main.rs"].keys().collect::<Vec<_>>(),
        vec!["src/a/x.rs"],
        "{graph:#?}"
    );
    let cycle = find_cycle(&graph).expect("the cycle a/x → a/y → b → c → a/x");
    for file in ["src/a/x.rs", "src/a/y.rs", "src/b.rs", "src/c.rs"] {
        assert!(cycle.contains(file), "{cycle}");
    }
    // Without c's call back into a, no cycle.
    put("c.rs", "pub fn deep() {}\n");
    assert_eq!(find_cycle(&import_graph(src)), None);
}

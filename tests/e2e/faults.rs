//! Reliability through the fault-injecting proxy: throttling, 5xx, resets, a rejected
//! region, failure tolerance, timeouts, interrupts and kills. Each test checks the
//! emulator's final state and the report, not just the exit code.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::Faults;
use crate::support::terminal::Terminal;

#[tokio::test(flavor = "multi_thread")]
async fn thirty_percent_throttling_still_converges() {
    let f = Fleet::new(8, &["us-east-1", "eu-west-1"]);
    let faults = Faults {
        throttle: 0.3,
        ..Default::default()
    };
    let report = converges_with(&f, faults, "apply.csv").await;
    // The attempts column shows the retries some targets needed.
    let rows = read_report(&report);
    let attempts: u32 = rows
        .iter()
        .map(|r| r["attempts"].parse::<u32>().unwrap())
        .sum();
    let minimum: u32 = rows
        .iter()
        .map(|r| if r["status"] == "created" { 2 } else { 1 })
        .sum();
    assert!(
        attempts > minimum,
        "no retries recorded: {attempts} attempts for {} rows",
        rows.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_and_resets_are_retried() {
    let f = Fleet::new(6, &["us-east-1", "eu-west-1"]);
    let faults = Faults {
        server_error: 0.2,
        reset: 0.1,
        ..Default::default()
    };
    converges_with(&f, faults, "apply.csv").await;
}

/// Through the proxy with `faults`, an apply (its report `name`) exits 0 and every target
/// holds the preferences; its report.
async fn converges_with(f: &Fleet, faults: Faults, name: &str) -> PathBuf {
    f.proxy.set_faults(faults);
    let (out, report) = f.apply(name, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    f.assert_converged(&report).await;
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_region_fails_only_its_rows() {
    let f = Fleet::new(4, &["us-east-1", "eu-west-1"]);
    f.proxy.set_faults(Faults {
        reject_region: Some("eu-west-1".into()),
        ..Default::default()
    });
    let (out, report) = f.apply("apply.csv", &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 8);
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    for ((id, region), row) in rows {
        if region == "eu-west-1" {
            assert_eq!(
                (row["status"].as_str(), row["error_code"].as_str()),
                ("failed", "UnrecognizedClientException")
            );
            assert!(state[&(id, region)].is_none());
        } else {
            assert_eq!(row["status"], "created");
            assert!(state[&(id, region)].is_some());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn max_failures_stops_starting_targets() {
    let f = Fleet::new(10, &["us-east-1"]);
    // Reads succeed; every create is denied, so each target fails at its write.
    f.proxy.set_faults(Faults {
        deny_operations: vec!["CreateDocument".into()],
        ..Default::default()
    });
    let (out, report) = f.apply("apply.csv", &["--max-failures", "3", "-c", "1"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), 10, "every target has its row");
    let failed = rows.iter().filter(|r| r["status"] == "failed").count();
    let skipped: Vec<_> = rows.iter().filter(|r| r["status"] == "skipped").collect();
    assert_eq!(
        (failed, skipped.len()),
        (4, 6),
        "stops once more than 3 failed"
    );
    assert!(
        skipped
            .iter()
            .all(|r| r["error_code"] == "MaxFailuresExceeded" && r["action"] == "create")
    );
    assert_eq!(
        f.proxy.count("CreateDocument"),
        4,
        "no target started after the tolerance was exceeded"
    );
    assert!(
        out.stderr.contains("more than 3 targets failed"),
        "{}",
        out.stderr
    );
    // A percentage works the same way: 20% of 10 is 2, so the third failure stops it.
    let (out, report) = f.apply("apply2.csv", &["--max-failures", "20%", "-c", "1"]);
    assert_eq!(out.code, 1);
    let failed = read_report(&report)
        .iter()
        .filter(|r| r["status"] == "failed")
        .count();
    assert_eq!(failed, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_answers_time_out_instead_of_hanging() {
    let f = Fleet::new(2, &["us-east-1"]);
    f.proxy.set_faults(Faults {
        slow: Some((vec!["GetDocument".into()], Duration::from_secs(30))),
        ..Default::default()
    });
    let started = Instant::now();
    let (out, report) = f.apply(
        "apply.csv",
        &["--operation-timeout", "2", "--max-attempts", "2"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r["status"] == "failed" && r["error_code"] == "Timeout"),
        "{rows:?}"
    );
}

/// Starts the binary in the background, as a user's terminal would; with `-v`, each target's
/// row is a line on stderr once the report holds it, which the test waits on.
fn spawn(f: &Fleet, report: &std::path::Path, extra: &[&str]) -> Watched {
    let mut args = f.args("apply", report);
    args.extend(["-v"].iter().chain(extra).map(|a| a.to_string()));
    Watched::start(args)
}

/// `n` accounts in us-east-1 whose CreateDocument answers `slow` late, and an apply over them
/// started in the background with `-c concurrency`; its report is apply.csv.
fn slow_apply(n: usize, slow: Duration, concurrency: &str) -> (Fleet, PathBuf, Watched) {
    let f = Fleet::new(n, &["us-east-1"]);
    f.proxy.set_faults(Faults {
        slow: Some((vec!["CreateDocument".into()], slow)),
        ..Default::default()
    });
    let report = f.dir.path("apply.csv");
    let child = spawn(&f, &report, &["-c", concurrency]);
    (f, report, child)
}

#[tokio::test(flavor = "multi_thread")]
async fn first_interrupt_finishes_in_flight_and_skips_the_rest() {
    let (f, report, mut child) = slow_apply(12, Duration::from_millis(700), "2");
    child.wait_for_rows("created", 2, Duration::from_secs(30));
    child.signal("-INT");
    let out = child.exits_with(130);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("interrupted"), "{stderr}");
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 12, "every target has a row");
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    let mut created = 0;
    for ((id, region), row) in &rows {
        match row["status"].as_str() {
            "created" => {
                created += 1;
                assert!(state[&(id.clone(), region.clone())].is_some());
            }
            "skipped" => {
                assert_eq!(row["error_code"], "Interrupted");
                assert!(
                    state[&(id.clone(), region.clone())].is_none(),
                    "a skipped target was written"
                );
            }
            other => panic!("unexpected status {other}: {row:?}"),
        }
    }
    assert!((2..12).contains(&created), "{created} created");
}

#[tokio::test(flavor = "multi_thread")]
async fn second_interrupt_abandons_in_flight_targets() {
    let started = Instant::now();
    let (f, report, mut child) = slow_apply(6, Duration::from_secs(20), "2");
    // Wait until the writes are in flight (the reads are fast).
    f.proxy
        .wait_for("CreateDocument", 2, Duration::from_secs(30));
    child.signal("-INT");
    // The second Ctrl-C once the first one was taken (the run says so).
    child.wait_for("Ctrl-C again to abandon", Duration::from_secs(10));
    child.signal("-INT");
    child.exits_with(130);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "abandoning took {:?}",
        started.elapsed()
    );
    let rows = read_report(&report);
    assert_eq!(rows.len(), 6);
    let abandoned = rows
        .iter()
        .filter(|r| r["status"] == "failed" && r["error_code"] == "Interrupted")
        .count();
    let skipped = rows.iter().filter(|r| r["status"] == "skipped").count();
    assert_eq!((abandoned, skipped), (2, 4), "{rows:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_kill_the_report_is_whole_and_a_rerun_converges() {
    let (f, report, mut child) = slow_apply(16, Duration::from_millis(400), "2");
    child.wait_for_rows("created", 3, Duration::from_secs(30));
    child.signal("-KILL");
    child.finish(Duration::from_secs(30), "apply after a kill");
    // Every row written before the kill parses whole.
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.ends_with('\n'), "a torn last row");
    let rows = read_report(&report);
    assert!(!rows.is_empty() && rows.len() < 16, "{} rows", rows.len());
    for row in &rows {
        assert_eq!(row.len(), ssm_prefs::model::COLUMNS.len());
        assert_eq!(row["status"], "created");
        assert!(!row["content_sha256"].is_empty() && row["duration_ms"].parse::<u64>().is_ok());
    }
    converges_with(&f, Faults::default(), "rerun.csv").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_at_once_both_end_correctly() {
    let f = Fleet::new(6, &["us-east-1", "eu-west-1"]);
    for id in &f.ids {
        for r in &f.regions {
            seed(&f.url, id, r, DOC, AWS_PAGE_EXAMPLE).await;
        }
    }
    let (r1, r2) = (f.dir.path("one.csv"), f.dir.path("two.csv"));
    let a = spawn(&f, &r1, &[]);
    let b = spawn(&f, &r2, &[]);
    a.exits_with(0);
    b.exits_with(0);
    f.assert_converged(&r1).await;
    // No target is left with an unpromoted latest version.
    for id in &f.ids {
        for r in &f.regions {
            let (default, latest) = default_and_latest(&f.url, id, r, DOC).await;
            assert_eq!(default, latest, "{id}/{r}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_like_the_first_interrupt() {
    let (_f, report, mut child) = slow_apply(6, Duration::from_millis(700), "1");
    child.wait_for_rows("created", 1, Duration::from_secs(30));
    child.signal("-TERM");
    child.exits_with(130);
    let rows = read_report(&report);
    assert_eq!(rows.len(), 6, "every target has a row");
    assert!(
        rows.iter()
            .any(|r| r["status"] == "skipped" && r["error_code"] == "Interrupted")
    );
    assert!(
        rows.iter()
            .all(|r| r["status"] == "created" || r["status"] == "skipped")
    );
}

/// Ctrl-C typed at the confirmation prompt on a real terminal (`script` runs the binary on a
/// pseudo-terminal, and what the test writes to it is typed there): the tool exits at once with
/// 130, writes nothing and leaves no report. It used to wait for Enter: the prompt's pending
/// stdin read held the runtime's shutdown.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_prompt_exits_at_once_and_writes_nothing() {
    let f = Fleet::new(2, &["us-east-1"]);
    let report = f.dir.path("prompt.csv");
    let mut args = f.args("apply", &report);
    args.retain(|a| *a != "--yes");
    // As ssm_prefs_command runs it: this fleet names no real bucket.
    args.push("--no-preflight".into());
    let mut terminal = Terminal::run(&args);
    terminal.wait_for("[y/N]", Duration::from_secs(30));
    terminal.type_keys(b"\x03");
    let status = terminal.wait_exit(Duration::from_secs(10), "apply after Ctrl-C");
    assert_eq!(status.code(), Some(130), "{}", terminal.screen());
    assert!(!report.exists(), "a cancelled apply leaves no report");
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    assert!(state.values().all(Option::is_none), "nothing written");
    assert_eq!(f.proxy.writes(), 0);
}

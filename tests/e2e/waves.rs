//! Staged rollout end to end: `apply --waves` / `--canary` write wave by wave, read each
//! written target back before the next wave, halt on a failed wave (`WaveHalted`), wait
//! (`--wave-wait`) or ask (`--pause`) between waves; `plan --waves` lists each wave's
//! accounts. Every test reads the emulator's state back through the SDK and checks the
//! report's rows, the `wave` column included.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::{Faults, Proxy};
use crate::support::terminal::Terminal;

const R: &str = "us-east-1";

type Rows = BTreeMap<(String, String), BTreeMap<String, String>>;

/// waves.rs's steps on the shared fleet.
impl Fleet {
    /// Account `i`'s target in the one region `R`.
    fn key(&self, i: usize) -> (String, String) {
        (self.ids[i].clone(), R.to_string())
    }

    /// Every account's wave, as the report's `wave` column gives it (one region fleets).
    fn waves_in(&self, rows: &Rows) -> Vec<String> {
        (0..self.ids.len())
            .map(|i| rows[&self.key(i)]["wave"].clone())
            .collect()
    }
}

/// What a row says happened to its target, for exact comparisons.
fn outcome(row: &BTreeMap<String, String>) -> (&str, &str, &str, &str) {
    (
        row["action"].as_str(),
        row["status"].as_str(),
        row["error_code"].as_str(),
        row["wave"].as_str(),
    )
}

/// A target created by this run: the row as the tool wrote it, and the emulator holding the
/// desired content as version 1, the default.
fn assert_created(
    k: &(String, String),
    row: &BTreeMap<String, String>,
    found: &Option<(String, String)>,
    wave: &str,
) {
    assert_eq!(
        outcome(row),
        ("create", "created", "", wave),
        "{k:?}: {row:?}"
    );
    let (version, content) = found
        .as_ref()
        .unwrap_or_else(|| panic!("{k:?} has no document: {row:?}"));
    assert_eq!(version, "1", "{k:?}");
    assert_eq!(serde_json::from_str::<Value>(content).unwrap(), desired());
    assert_eq!(row["document_version"], *version, "{k:?}");
    assert_eq!(
        row["content_sha256"],
        sha256_hex(content.as_bytes()),
        "{k:?}"
    );
}

/// A target of a wave that never started: its row, and the emulator holding nothing there.
fn assert_not_written(
    k: &(String, String),
    row: &BTreeMap<String, String>,
    found: &Option<(String, String)>,
    code: &str,
    wave: &str,
) {
    assert_eq!(
        outcome(row),
        ("create", "skipped", code, wave),
        "{k:?}: {row:?}"
    );
    assert_eq!(row["document_version"], "", "{k:?}");
    assert!(found.is_none(), "{k:?} was written: {found:?}");
}

/// The order the emulator saw writes and read-backs in: each wave's CreateDocuments, then its
/// DescribeDocuments (the read-back), and only then the next wave's.
fn assert_wave_by_wave(proxy: &Proxy, wave_of: &BTreeMap<String, usize>) {
    let steps: Vec<(usize, usize, String)> = proxy
        .seen()
        .into_iter()
        .filter_map(|s| {
            let phase = match s.operation.as_str() {
                "CreateDocument" => 0,
                "DescribeDocument" => 1,
                _ => return None,
            };
            let wave = *wave_of
                .get(&s.account)
                .unwrap_or_else(|| panic!("{} for an unknown account {:?}", s.operation, s));
            Some((wave, phase, format!("{} {}", s.operation, s.account)))
        })
        .collect();
    for pair in steps.windows(2) {
        assert!(
            (pair[0].0, pair[0].1) <= (pair[1].0, pair[1].1),
            "out of wave order: {} (wave {}) came before {} (wave {})",
            pair[0].2,
            pair[0].0,
            pair[1].2,
            pair[1].0
        );
    }
}

/// The accounts CreateDocument was sent for, in arrival order.
fn created_in(proxy: &Proxy) -> Vec<String> {
    proxy
        .seen_of("CreateDocument")
        .into_iter()
        .map(|s| s.account)
        .collect()
}

// 1. Waves of 1, 25% and 100% of 40 accounts; a failing wave halts the rest; a retry
//    finishes it.

#[tokio::test(flavor = "multi_thread")]
async fn forty_accounts_go_in_waves_of_one_nine_and_thirty() {
    let f = Fleet::new(40, &[R]);
    let (out, report) = f.run("apply", "apply.csv", &["--waves", "1,25%,100%"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 40);
    // One account, then 25% of 40 = 10 in all (9 more), then the other 30, in inventory order.
    let want: Vec<String> = (0..40)
        .map(|i| match i {
            0 => "1",
            1..10 => "2",
            _ => "3",
        })
        .map(String::from)
        .collect();
    assert_eq!(f.waves_in(&rows), want);
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    for (i, w) in want.iter().enumerate() {
        let k = f.key(i);
        assert_created(&k, &rows[&k], &state[&k], w);
    }
    // Each written target read back with one DescribeDocument, each wave after the last.
    assert_eq!(f.proxy.count("CreateDocument"), 40);
    assert_eq!(f.proxy.count("DescribeDocument"), 40);
    let wave_of: BTreeMap<String, usize> = f
        .ids
        .iter()
        .cloned()
        .zip(want.iter().map(|w| w.parse().unwrap()))
        .collect();
    assert_wave_by_wave(&f.proxy, &wave_of);
    for line in [
        "waves (--waves 1,25%,100%):\n",
        "  wave 1 of 3 (1 account, 1 target): created 1\n",
        "  wave 2 of 3 (9 accounts, 9 targets): created 9\n",
        "  wave 3 of 3 (30 accounts, 30 targets): created 30\n",
    ] {
        assert!(out.stdout.contains(line), "no {line:?} in:\n{}", out.stdout);
    }
    for note in [
        "wave 1 of 3: 1 account, 1 target",
        "wave 2 of 3: 9 accounts, 9 targets",
        "wave 3 of 3: 30 accounts, 30 targets",
    ] {
        assert!(out.stderr.contains(note), "no {note:?} in:\n{}", out.stderr);
    }
    f.assert_audit_compliant("audit.csv");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_wave_halts_the_later_waves_and_a_retry_finishes_them() {
    let f = Fleet::new(40, &[R]);
    // Account 4 is in wave 2 (accounts 1 to 9): its write is denied, its reads are not.
    let bad = f.ids[4].clone();
    f.proxy.set_faults(Faults {
        deny_in_account: vec![(bad.clone(), "CreateDocument".into())],
        ..Default::default()
    });
    let (out, report) = f.run("apply", "halted.csv", &["--waves", "1,25%,100%"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 40, "every target has its row");
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    for i in 0..40 {
        let k = f.key(i);
        let (row, found) = (&rows[&k], &state[&k]);
        match i {
            0 => assert_created(&k, row, found, "1"),
            4 => {
                assert_eq!(
                    outcome(row),
                    ("create", "failed", "AccessDeniedException", "2"),
                    "{row:?}"
                );
                assert!(found.is_none(), "{found:?}");
            }
            1..10 => assert_created(&k, row, found, "2"),
            // Wave 3 never started: the emulator shows every one of its accounts untouched.
            _ => assert_not_written(&k, row, found, "WaveHalted", "3"),
        }
    }
    let wave3: BTreeSet<String> = f.ids[10..].iter().cloned().collect();
    assert!(
        created_in(&f.proxy).iter().all(|a| !wave3.contains(a)),
        "a wave-3 account was written to"
    );
    // Wave 2's 8 good targets were read back; the denied one was never written.
    assert_eq!(f.proxy.count("DescribeDocument"), 9);
    assert!(
        out.stderr
            .contains("halted: 1 target in wave 2 failed; the targets of the later waves are skipped (WaveHalted)"),
        "{}",
        out.stderr
    );
    for line in [
        "  wave 1 of 3 (1 account, 1 target): created 1\n",
        "  wave 2 of 3 (9 accounts, 9 targets): created 8 · failed 1\n",
        "  wave 3 of 3 (30 accounts, 30 targets): skipped 30\n",
    ] {
        assert!(out.stdout.contains(line), "no {line:?} in:\n{}", out.stdout);
    }
    assert!(
        !out.stderr.contains("wave 3 of 3:"),
        "wave 3 was announced: {}",
        out.stderr
    );

    // The fault fixed, --retry-failed on the halted run's report writes exactly the rest.
    f.proxy.set_faults(Faults::default());
    f.proxy.clear();
    let halted = report.to_str().unwrap().to_string();
    let (out, retry) = f.run("apply", "retry.csv", &["--retry-failed", &halted]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&retry);
    let mut remaining: BTreeSet<String> = wave3.clone();
    remaining.insert(bad.clone());
    assert_eq!(
        rows.keys().map(|(a, _)| a.clone()).collect::<BTreeSet<_>>(),
        remaining
    );
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    for (k, row) in &rows {
        assert_created(k, row, &state[k], "");
    }
    let created = created_in(&f.proxy);
    assert_eq!(created.len(), 31, "{created:?}");
    assert_eq!(created.into_iter().collect::<BTreeSet<_>>(), remaining);
    assert_eq!(f.proxy.writes(), 31, "only the remaining targets written");
    f.assert_audit_compliant("audit.csv");
}

/// The waves' events reach the summary JSON, not only the terminal: a CI step reads which
/// wave halted and why from the file.
#[test]
fn the_waves_events_are_in_the_summary_json() {
    let f = Fleet::new(4, &[R]);
    // Account 1 is wave 2's one account (waves of 1, 2 and 4 accounts in all).
    f.proxy.set_faults(Faults {
        deny_in_account: vec![(f.ids[1].clone(), "CreateDocument".into())],
        ..Default::default()
    });
    let json = f.dir.path("summary.json");
    let (out, _) = f.run(
        "apply",
        "events.csv",
        &[
            "--waves",
            "1,50%,100%",
            "--summary-json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let events = v["events"].as_array().expect("an events list");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "wave_started",
            "wave_verified",
            "wave_started",
            "wave_verified",
            "wave_halted"
        ],
        "{events:?}"
    );
    assert_eq!(
        events[0],
        serde_json::json!({"event": "wave_started", "number": 1, "of": 3, "accounts": 1, "targets": 1})
    );
    assert_eq!(
        events[3],
        serde_json::json!({"event": "wave_verified", "number": 2, "of": 3, "counts": "failed 1"})
    );
    assert_eq!(
        events[4],
        serde_json::json!({"event": "wave_halted", "number": 2, "failed": 1})
    );
    // The terminal says the same.
    assert!(
        out.stderr.contains("halted: 1 target in wave 2 failed"),
        "{}",
        out.stderr
    );
}

// 2. A target changed behind the tool's back between its write and its read-back.

#[tokio::test(flavor = "multi_thread")]
async fn a_target_changed_before_its_read_back_fails_verify_and_halts() {
    let f = Fleet::new(4, &[R]);
    // The read-back (the only DescribeDocument of a fresh fleet) answers 3 s late: time to
    // change the first wave's two targets on the emulator while the apply waits.
    f.proxy.set_faults(Faults {
        slow: Some((vec!["DescribeDocument".into()], Duration::from_secs(3))),
        ..Default::default()
    });
    let report = f.dir.path("apply.csv");
    let mut args = f.args("apply", &report);
    args.extend(["--waves", "2,100%"].map(String::from));
    let child = Watched::start(&args);
    // The read-back has started: both requests arrived (and are held for 3 s).
    f.proxy
        .wait_for("DescribeDocument", 2, Duration::from_secs(30));
    let reached = Instant::now();
    let other = AWS_PAGE_EXAMPLE;
    // Account 0: a version added and made the default. Account 1: added, not promoted.
    for (i, promote) in [(0, true), (1, false)] {
        let v = add_version(&f.url, &f.ids[i], R, other, promote).await;
        assert_eq!(v, "2");
    }
    assert!(
        reached.elapsed() < Duration::from_millis(2500) && f.proxy.count("DescribeDocument") == 2,
        "the changes took {:?}: they may have come after the read-back's answer",
        reached.elapsed()
    );
    let out = child.finish(Duration::from_secs(30), "apply");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 4);
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    // Account 1's default is still what the tool wrote (the same everywhere: no placeholder).
    let (v1, content) = state[&f.key(1)].clone().unwrap();
    assert_eq!(
        (
            v1.as_str(),
            serde_json::from_str::<Value>(&content).unwrap()
        ),
        ("1", desired())
    );
    let written = sha256_hex(content.as_bytes());
    for (i, differs) in [
        (0, "the default version is 2, not 1 as written"),
        (
            1,
            "version 2 was added after the write: the latest version is not the default 1",
        ),
    ] {
        let row = &rows[&f.key(i)];
        assert_eq!(
            outcome(row),
            ("create", "failed", "VerifyFailed", "1"),
            "{row:?}"
        );
        assert!(
            row["error_message"].contains("does not read back as written")
                && row["error_message"].contains(differs),
            "{i}: {}",
            row["error_message"]
        );
        // What was written, as written: version 1 with the desired content.
        assert_eq!(
            (
                row["document_version"].as_str(),
                row["content_sha256"].as_str()
            ),
            ("1", written.as_str()),
            "{row:?}"
        );
    }
    // The emulator: the changes stand (the tool reports, it does not fight them back).
    assert_eq!(state[&f.key(0)].as_ref().unwrap().0, "2");
    assert_eq!(state[&f.key(0)].as_ref().unwrap().1, other);
    // The next wave never started.
    for i in 2..4 {
        let k = f.key(i);
        assert_not_written(&k, &rows[&k], &state[&k], "WaveHalted", "2");
    }
    assert_eq!(f.proxy.count("CreateDocument"), 2);
    assert!(
        stderr.contains("halted: 2 targets in wave 1 failed"),
        "{stderr}"
    );
}

// 3. --canary: the named accounts first.

#[tokio::test(flavor = "multi_thread")]
async fn the_canary_goes_first_by_name_or_by_id() {
    let f = Fleet::new(6, &[R]);
    // A canary alone: it, then everyone else.
    let (out, report) = f.run("apply", "canary.csv", &["--canary", "acct-4"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(f.waves_in(&rows), ["2", "2", "2", "2", "1", "2"]);
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    for i in 0..6 {
        let k = f.key(i);
        assert_created(&k, &rows[&k], &state[&k], if i == 4 { "1" } else { "2" });
    }
    let created = created_in(&f.proxy);
    assert_eq!(created.len(), 6);
    assert_eq!(created[0], f.ids[4], "the canary is written first");
    let wave_of: BTreeMap<String, usize> = f
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), if i == 4 { 1 } else { 2 }))
        .collect();
    assert_wave_by_wave(&f.proxy, &wave_of);
    assert!(
        out.stdout
            .contains("  wave 1 of 2 (1 account, 1 target): created 1\n"),
        "{}",
        out.stdout
    );

    // By id and by name, with stages: the canaries are wave 1, the shares count from every
    // account (50% of 6 = 3 in all), the rest follow in inventory order.
    let canary = format!("{},acct-5", f.ids[2]);
    let (out, report) = f.run(
        "apply",
        "by-id.csv",
        &["--canary", &canary, "--waves", "50%,100%"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(f.waves_in(&rows), ["2", "3", "1", "3", "3", "1"]);
    assert!(
        rows.values()
            .all(|r| (r["status"].as_str(), r["action"].as_str()) == ("unchanged", "none")),
        "{rows:?}"
    );

    // A canary that is not selected: exit 2 naming it, no report, no AWS call.
    f.proxy.clear();
    for (canary, select) in [("acct-3", Some("acct-0,acct-1")), ("nobody", None)] {
        let name = format!("bad-{canary}.csv");
        let mut extra = vec!["--canary", canary];
        if let Some(s) = select {
            extra.extend(["-a", s]);
        }
        let (out, report) = f.run("apply", &name, &extra);
        assert_eq!(out.code, 2, "{}", out.all());
        assert!(
            out.stderr
                .contains(&format!("--canary \"{canary}\" is not a selected account")),
            "{}",
            out.stderr
        );
        assert!(!report.exists(), "an input error leaves no report");
    }
    assert!(f.proxy.seen().is_empty(), "{:?}", f.proxy.counts());
}

// 4. --pause: a usage error without a terminal; "n" at the wave question stops the rollout.

#[tokio::test(flavor = "multi_thread")]
async fn pause_without_a_terminal_is_a_usage_error() {
    let f = Fleet::new(2, &[R]);
    let (out, report) = f.run("apply", "apply.csv", &["--waves", "1,100%", "--pause"]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("--pause") && out.stderr.contains("not one"),
        "{}",
        out.stderr
    );
    assert!(!report.exists());
    assert!(f.proxy.seen().is_empty(), "{:?}", f.proxy.counts());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_at_the_wave_question_stops_before_the_next_wave() {
    let f = Fleet::new(3, &[R]);
    let report = f.dir.path("pause.csv");
    let mut args = f.args("apply", &report);
    // --yes (in the fleet's apply arguments): the first question (write N targets?) is not
    // asked; the wave question is.
    args.extend(
        [
            "--no-progress",
            "--waves",
            "1,100%",
            "--pause",
            "--no-preflight",
        ]
        .map(String::from),
    );
    let mut terminal = Terminal::run(&args);
    let question = "wave 1 of 2: created 1. Start wave 2 of 2: write 2 targets? [y/N]";
    terminal.wait_for(question, Duration::from_secs(30));
    // At the question, wave 1 is written and wave 2 is not.
    assert_eq!(created_in(&f.proxy), [f.ids[0].clone()]);
    terminal.type_keys(b"n\r");
    let status = terminal.wait_exit(Duration::from_secs(15), "apply after \"n\"");
    let screen = terminal.screen();
    assert_eq!(status.code(), Some(1), "{screen}");
    assert!(
        screen.contains(
            "stopped before wave 2: the targets of the later waves are skipped (WaveHalted)"
        ),
        "{screen}"
    );
    assert!(
        !screen.contains("Write the preferences to"),
        "--yes asks no first question: {screen}"
    );
    only_the_first_account_written(&f, &report, "WaveHalted").await;
}

// 5. Ctrl-C during --wave-wait.

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_during_the_wave_wait_stops_at_once() {
    let f = Fleet::new(4, &[R]);
    let report = f.dir.path("apply.csv");
    let mut args = f.args("apply", &report);
    args.extend(["--waves", "1,100%", "--wave-wait", "60s"].map(String::from));
    let started = Instant::now();
    let mut child = Watched::start(&args);
    // Wave 1 was written and read back, and the run says the wait is on.
    child.wait_for("baking: waiting 60s before wave 2", Duration::from_secs(30));
    child.signal("-INT");
    let signalled = Instant::now();
    let out = child.finish(Duration::from_secs(15), "apply after Ctrl-C");
    let stopped_in = signalled.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stopped_in < Duration::from_secs(5) && started.elapsed() < Duration::from_secs(40),
        "stopped {stopped_in:?} after Ctrl-C, {:?} after the start",
        started.elapsed()
    );
    assert!(
        stderr.contains("baking: waiting 60s before wave 2"),
        "{stderr}"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    only_the_first_account_written(&f, &report, "Interrupted").await;
}

/// A run over one region stopped after wave 1 (the first account): every target in the
/// report exactly once, the first written (one CreateDocument in all), each other one not,
/// for `reason`.
async fn only_the_first_account_written(f: &Fleet, report: &std::path::Path, reason: &str) {
    let rows = rows_by_target(report);
    assert_eq!(
        rows.len(),
        f.ids.len(),
        "every target in the report exactly once"
    );
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    let k = f.key(0);
    assert_created(&k, &rows[&k], &state[&k], "1");
    for i in 1..f.ids.len() {
        let k = f.key(i);
        assert_not_written(&k, &rows[&k], &state[&k], reason, "2");
    }
    assert_eq!(f.proxy.count("CreateDocument"), 1);
}

// 6. plan --waves: each wave's accounts, nothing written.

#[tokio::test(flavor = "multi_thread")]
async fn plan_lists_each_waves_accounts_and_writes_nothing() {
    let f = Fleet::new(5, &["us-east-1", "eu-west-1"]);
    seed(&f.url, &f.ids[1], R, DOC, AWS_PAGE_EXAMPLE).await;
    let (out, report) = f.run("plan", "plan.csv", &["--waves", "1,50%,100%"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let id = |i: usize| f.ids[i].as_str();
    let listing = format!(
        "the waves apply would write (--waves 1,50%,100%):\n  \
         wave 1 of 3, 1 account: acct-0 ({})\n  \
         wave 2 of 3, 2 accounts: acct-1 ({}), acct-2 ({})\n  \
         wave 3 of 3, 2 accounts: acct-3 ({}), acct-4 ({})\n",
        id(0),
        id(1),
        id(2),
        id(3),
        id(4)
    );
    assert!(out.stdout.contains(&listing), "{}", out.stdout);
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 10);
    // 50% of 5 accounts, rounded up, is 3 in all.
    let wave = ["1", "2", "2", "3", "3"];
    for (i, w) in wave.iter().enumerate() {
        for r in &f.regions {
            let k = (f.ids[i].clone(), r.to_string());
            let row = &rows[&k];
            let want = if i == 1 && *r == R {
                ("update", "would-update", "", *w)
            } else {
                ("create", "would-create", "", *w)
            };
            assert_eq!(outcome(row), want, "{k:?}: {row:?}");
        }
    }
    assert_eq!(f.proxy.writes(), 0, "{:?}", f.proxy.counts());
    assert_eq!(
        f.proxy.count("CreateDocument") + f.proxy.count("UpdateDocument"),
        0
    );
    let state = read_all(&f.url, &f.ids, &f.regions, DOC).await;
    for (k, found) in &state {
        if *k == f.key(1) {
            assert_eq!(
                found.as_ref().map(|(v, c)| (v.as_str(), c.as_str())),
                Some(("1", AWS_PAGE_EXAMPLE))
            );
        } else {
            assert!(found.is_none(), "{k:?}: {found:?}");
        }
    }
}

// 7. Specs and flags that cannot work: exit 2 naming the flag, before any AWS call.

#[tokio::test(flavor = "multi_thread")]
async fn bad_wave_flags_are_usage_errors_before_any_call() {
    let f = Fleet::new(3, &[R]);
    let cases: [(&str, &[&str], &str); 7] = [
        ("apply", &["--waves", "10%,50%"], "--waves"),
        ("apply", &["--waves", "0,100%"], "--waves"),
        ("apply", &["--waves", "x"], "--waves"),
        ("plan", &["--waves", "10%,50%"], "--waves"),
        ("apply", &["--pause"], "--pause"),
        ("apply", &["--wave-wait", "10s"], "--wave-wait"),
        (
            "apply",
            &["--waves", "1,100%", "--wave-wait", "soon"],
            "--wave-wait",
        ),
    ];
    for (i, (cmd, extra, flag)) in cases.iter().enumerate() {
        let (out, report) = f.run(cmd, &format!("bad-{i}.csv"), extra);
        assert_eq!(out.code, 2, "{cmd} {extra:?}: {}", out.all());
        assert!(
            out.stderr.contains(flag),
            "{cmd} {extra:?} does not name {flag}: {}",
            out.stderr
        );
        assert!(!report.exists(), "{cmd} {extra:?} left a report");
    }
    assert!(f.proxy.seen().is_empty(), "{:?}", f.proxy.counts());
}

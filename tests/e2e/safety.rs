//! Input that must never widen or break a run: a selection flag the accounts' source has no
//! use for, an endpoint the SDK cannot send to (the flag, or a variable the SDK reads), and a
//! panic in a target's task (one line for the run, one failed row for each target it stopped).

use crate::support::fixtures::*;
use crate::support::fleet::Fleet;

/// `--ou` selects from the organization: with an inventory it would be dropped, and an apply
/// meant for one OU would write every account the other flags select.
#[tokio::test(flavor = "multi_thread")]
async fn an_ou_without_org_is_refused_before_any_call() {
    let (url, ids, dir, inv, prefs, proxy) = Fleet::new(2, &["us-east-1"]).parts();
    for cmd in ["plan", "apply", "audit"] {
        let report = dir.path(&format!("{cmd}.csv"));
        let extra = ["--ou", "ou-abcd-12345678", "-a", &ids[0], "-r", "us-east-1"];
        let out = run(cmd, &proxy, &inv, &prefs, &report, &extra);
        assert_eq!(out.code, 2, "{cmd}: {}", out.all());
        assert!(
            out.stderr.contains("--ou") && out.stderr.contains("--org"),
            "{cmd}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(!report.exists(), "{cmd}: no report for bad input");
    }
    assert!(proxy.seen().is_empty(), "no AWS call: {:?}", proxy.counts());
    for id in &ids {
        let ssm = ssm_in(&url, id, "us-east-1").await;
        assert_eq!(default_doc(&ssm, DOC).await, None, "{id} written");
    }
}

#[test]
fn an_endpoint_the_sdk_cannot_use_is_refused_naming_the_flag() {
    let (dir, inv, prefs) = Dir::with_inputs(2, &["us-east-1"]);
    let report = dir.path("plan.csv");
    let (p, i, r) = (path_str(&prefs), path_str(&inv), path_str(&report));
    let args = ["plan", "-p", p, "-i", i, "-o", r];
    for url in [
        "",
        "  ",
        "not a url",
        "ftp://x",
        "http://",
        "127.0.0.1:5000",
        "http://user:hunter2@127.0.0.1:5000",
    ] {
        let out = ssm_prefs(args.iter().copied().chain(["--endpoint-url", url]));
        assert_eq!(out.code, 2, "{url:?}: {}", out.all());
        assert!(
            out.stderr.starts_with("error: --endpoint-url"),
            "{url:?}: {}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
        // The variables the SDK reads when the flag is absent are checked the same way: the
        // general one and each service's.
        for var in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_SSM",
            "AWS_ENDPOINT_URL_STS",
        ] {
            let out = preflight_command(args).env(var, url).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{var}={url:?}: {stderr}");
            assert!(
                stderr.starts_with(&format!("error: {var}: ")),
                "{var}={url:?}: {stderr}"
            );
            assert!(!stderr.contains("hunter2"), "{stderr}");
        }
        assert!(!report.exists(), "no report for bad input");
    }
    // Told to ignore them, the SDK does, and so does the check.
    let out = preflight_command(["validate", "-p", prefs.to_str().unwrap()])
        .env("AWS_ENDPOINT_URL_SSM", "")
        .env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// A bug that panics in every target, as a debug build makes one on request
/// (`SSM_PREFS_DEBUG_PANIC`, src/run/fanout.rs): the first panic is one line, the others none, and
/// each target is its own failed row.
#[tokio::test(flavor = "multi_thread")]
async fn a_panic_in_every_target_is_one_line_and_a_failed_row_each() {
    let f = Fleet::new(6, &REGIONS);
    let report = f.dir.path("plan.csv");
    let out = ssm_prefs_command(f.args("plan", &report))
        .env("SSM_PREFS_DEBUG_PANIC", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let panics: Vec<_> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| l.contains("internal error"))
        .collect();
    assert_eq!(panics.len(), 1, "{stdout}{stderr}");
    assert!(panics[0].contains("please report"), "{}", panics[0]);
    for noise in ["panicked at", "stack backtrace", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(noise), "{noise}: {stderr}");
    }
    // Every target is one row, failed with the reason, the others not stopped by the first.
    let rows = read_report(&report);
    assert_eq!(rows.len(), f.ids.len() * REGIONS.len());
    for row in &rows {
        assert_eq!(row["status"], "failed", "{row:?}");
        assert_eq!(row["error_code"], "InternalError", "{row:?}");
        assert!(
            row["error_message"].contains("SSM_PREFS_DEBUG_PANIC is set"),
            "{row:?}"
        );
    }
}

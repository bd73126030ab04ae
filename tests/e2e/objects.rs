//! Preferences kept in a bucket: `-p s3://BUCKET/KEY` read with the base credentials, and
//! every way that object can be wrong is one line naming it (exit 2, no report).

use crate::support::fixtures::*;
use crate::support::fleet::Fleet;

#[tokio::test(flavor = "multi_thread")]
async fn preferences_from_s3_roll_out_and_a_bad_object_is_one_line() {
    let (url, ids, dir, inv, _, proxy) = Fleet::new(2, &["us-east-1"]).parts();
    // The base credentials' own account (moto's default) holds the bucket.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&base_config(&url, ACCESS_KEY, SECRET_KEY).await)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("team-prefs-{}", ids[0]);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    for (key, body) in [
        ("prefs.json", desired().to_string()),
        (
            "bad.json",
            "{\n  \"schemaVersion\": \"1.0\",\n  oops\n}".to_string(),
        ),
    ] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    let at = |key: &str| format!("s3://{bucket}/{key}");

    let good = at("prefs.json");
    let report = dir.path("apply.csv");
    let out = ssm_prefs(
        command_line("apply", std::path::Path::new(&good), &report, &proxy.url)
            .into_iter()
            .chain(["-i", inv.to_str().unwrap()]),
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), ids.len());
    assert!(rows.iter().all(|r| r["status"] == "created"), "{rows:?}");
    for ((id, region), found) in read_all(&url, &ids, &["us-east-1"], DOC).await {
        let (_, content) = found.unwrap_or_else(|| panic!("{id}/{region}: not written"));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&content).unwrap(),
            desired()
        );
    }

    for (key, says) in [("missing.json", "NoSuchKey"), ("bad.json", ":3:")] {
        let object = at(key);
        let report = dir.path(&format!("{key}.csv"));
        let out = ssm_prefs(
            command_line("plan", std::path::Path::new(&object), &report, &proxy.url)
                .into_iter()
                .chain(["-i", inv.to_str().unwrap()]),
        );
        assert_eq!(out.code, 2, "{key}: {}", out.all());
        assert!(
            out.stderr.contains(&object) && out.stderr.contains(says),
            "{key}: {}",
            out.stderr
        );
        assert!(!report.exists(), "{key}: no report for bad input");
    }
    // Not an object's address, and validate (which makes no AWS call): exit 2 before any call.
    proxy.clear();
    for args in [
        vec![
            "plan",
            "-p",
            "s3://only-a-bucket",
            "-i",
            inv.to_str().unwrap(),
        ],
        vec!["validate", "-p", good.as_str(), "-i", inv.to_str().unwrap()],
    ] {
        let out = ssm_prefs(&args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.all());
        assert!(
            out.stderr.starts_with("error: -p: "),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.counts());
}

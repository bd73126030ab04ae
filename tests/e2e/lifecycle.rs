//! The document's lifecycle end to end: `--existing update|merge|keep|refuse` and `--owner-tag` on plan and apply, `--prune-versions` at SSM's version cap (and rollback after it), audit's `version_created_at`/`version_author` and `UnmanagedDocument` note, and sensitive inputs never leaving the tool.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_sdk_ssm::types::{DocumentFormat, DocumentType, ResourceTypeForTagging, Tag};
use serde_json::{Value, json};

use crate::support::fixtures::*;
use crate::support::fleet::{Fleet, Kind};
use crate::support::proxy::{Faults, Proxy};

const MARK: (&str, &str) = ("managed-by", "ssm-prefs");

/// The foreign document: differs from `desired()` and sets an input the file does not.
fn foreign_content() -> String {
    json!({
        "schemaVersion": "1.0",
        "description": "made by hand in the console",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": "their-bucket",
            "cloudWatchStreamingEnabled": true,
            "idleSessionTimeout": "45"
        }
    })
    .to_string()
}

/// The preferences an earlier rollout wrote: differ from `desired()` in two inputs.
fn old_prefs() -> Value {
    let mut v = desired();
    v["inputs"]["s3BucketName"] = json!("old-session-logs");
    v["inputs"]["idleSessionTimeout"] = json!("60");
    v
}

/// lifecycle.rs's steps on the shared fleet.
impl Fleet {
    /// One account per kind given, each in every region; the owned ones written by a real
    /// apply of `old_prefs()` (so tagged as the tool tags), the foreign ones through the SDK.
    async fn of_kinds(kinds: &[Kind], regions: &[&'static str]) -> Fleet {
        let mut fleet = Fleet::new(kinds.len(), regions);
        fleet.kinds = kinds.to_vec();
        for (i, kind) in kinds.iter().enumerate() {
            if *kind == Kind::Foreign {
                for r in regions {
                    seed(&fleet.url, &fleet.ids[i], r, DOC, &foreign_content()).await;
                }
            }
        }
        let owned: Vec<String> = (0..kinds.len())
            .filter(|i| kinds[*i] == Kind::Owned)
            .map(|i| format!("acct-{i}"))
            .collect();
        if !owned.is_empty() {
            fleet.apply_old(&owned.join(","));
        }
        fleet.proxy.clear();
        fleet
    }

    /// An apply of `old_prefs()` to these accounts (names, comma-separated), as an earlier
    /// rollout of this tool would have done it.
    fn apply_old(&self, accounts: &str) {
        let old = self.dir.write("old-prefs.json", &old_prefs().to_string());
        let (report, extra) = (self.dir.path("old-apply.csv"), ["-a", accounts]);
        let out = run("apply", &self.proxy, &self.inv, &old, &report, &extra);
        assert_eq!(out.code, 0, "the earlier rollout: {}", out.all());
    }

    /// Every target's default (version, content) and tags, straight from the emulator.
    async fn state(&self) -> BTreeMap<(String, String), (Option<(String, String)>, Tags)> {
        let mut out = BTreeMap::new();
        for (_, (id, r)) in self.targets() {
            let ssm = ssm_in(&self.url, &id, &r).await;
            let doc = default_doc(&ssm, DOC).await;
            let tags = if doc.is_some() {
                tags_of(&ssm, DOC).await
            } else {
                Tags::new()
            };
            out.insert((id, r), (doc, tags));
        }
        out
    }
}

type Tags = BTreeMap<String, String>;

/// A document's tags as ListTagsForResource gives them.
async fn tags_of(ssm: &aws_sdk_ssm::Client, name: &str) -> Tags {
    ssm.list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Document)
        .resource_id(name)
        .send()
        .await
        .expect("list the document's tags")
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn mark_only() -> Tags {
    Tags::from([(MARK.0.to_string(), MARK.1.to_string())])
}

fn outcome(row: &BTreeMap<String, String>) -> (&str, &str, &str) {
    (
        row["action"].as_str(),
        row["status"].as_str(),
        row["error_code"].as_str(),
    )
}

fn changed(row: &BTreeMap<String, String>) -> Vec<&str> {
    row["changed_inputs"]
        .split(';')
        .filter(|k| !k.is_empty())
        .collect()
}

fn parsed(content: &str) -> Value {
    serde_json::from_str(content).expect("the document holds JSON")
}

/// `update` and `merge` both take over every document and tag it; they differ only in the
/// foreign document's own input.
async fn takes_over(flag: &[&str], merged: bool) {
    let f = Fleet::of_kinds(
        &[Kind::Missing, Kind::Foreign, Kind::Owned],
        &["us-east-1", "eu-west-1"],
    )
    .await;
    let before = f.state().await;
    for (i, k) in f.targets() {
        let tags = &before[&k].1;
        match f.kinds[i] {
            Kind::Owned => assert_eq!(tags, &mark_only(), "an earlier apply tags: {k:?}"),
            _ => assert!(tags.is_empty(), "{k:?}: {tags:?}"),
        }
    }
    let (out, report) = f.run("apply", "apply.csv", flag);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 6);
    let state = f.state().await;
    for (i, k) in f.targets() {
        let row = &rows[&k];
        let (doc, tags) = &state[&k];
        let (version, content) = doc.as_ref().unwrap_or_else(|| panic!("{k:?} has none"));
        let mut want = desired();
        match f.kinds[i] {
            Kind::Missing => {
                assert_eq!(outcome(row), ("create", "created", ""), "{k:?}: {row:?}");
                assert_eq!(version, "1");
            }
            Kind::Foreign => {
                assert_eq!(outcome(row), ("update", "updated", ""), "{k:?}: {row:?}");
                assert_eq!(version, "2");
                if merged {
                    want["inputs"]["cloudWatchStreamingEnabled"] = json!(true);
                } else {
                    assert!(
                        changed(row).contains(&"cloudWatchStreamingEnabled"),
                        "update removes the input the file does not set: {row:?}"
                    );
                }
            }
            Kind::Owned => {
                assert_eq!(outcome(row), ("update", "updated", ""), "{k:?}: {row:?}");
                assert_eq!(version, "2");
            }
        }
        assert_eq!(
            parsed(content),
            want,
            "{k:?}: the default version's content"
        );
        assert_eq!(row["document_version"], *version, "{k:?}");
        assert_eq!(row["content_sha256"], sha256_hex(content.as_bytes()));
        assert_eq!(
            tags,
            &mark_only(),
            "{k:?}: every document written is tagged"
        );
    }
    // Every update tags first (update and merge do not look whether the mark is there
    // already); a new document gets it with CreateDocument, so one AddTagsToResource per
    // updated target and none in the missing account.
    assert_eq!(
        f.proxy.count("AddTagsToResource"),
        4,
        "{:?}",
        f.proxy.counts()
    );
    for (i, id) in f.ids.iter().enumerate() {
        let tagged = f
            .proxy
            .seen_of("AddTagsToResource")
            .iter()
            .filter(|s| &s.account == id)
            .count();
        let want = if f.kinds[i] == Kind::Missing { 0 } else { 2 };
        assert_eq!(tagged, want, "account {i} ({:?})", f.kinds[i]);
    }
    // A second run with the same mode finds everything in place.
    let (plan, report) = f.run("plan", "plan.csv", flag);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let rows = rows_by_target(&report);
    assert!(
        rows.values().all(|r| r["status"] == "unchanged"),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_update_takes_over_and_tags_every_document() {
    takes_over(&["--existing", "update"], false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_merge_keeps_a_foreign_documents_own_inputs() {
    takes_over(&["--existing", "merge"], true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_flag_is_existing_merge() {
    takes_over(&["--merge"], true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_keep_creates_the_missing_and_leaves_the_rest() {
    let f = Fleet::of_kinds(
        &[Kind::Missing, Kind::Foreign, Kind::Owned],
        &["us-east-1", "eu-west-1"],
    )
    .await;
    let before = f.state().await;

    // The plan says the same as the apply, and writes nothing.
    let (plan, plan_report) = f.run("plan", "plan.csv", &["--existing", "keep"]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    assert_eq!(f.proxy.writes(), 0, "{:?}", f.proxy.counts());
    let planned = rows_by_target(&plan_report);

    let (out, report) = f.run("apply", "apply.csv", &["--existing", "keep", "-v"]);
    assert_eq!(out.code, 0, "kept is done: {}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 6);
    let state = f.state().await;
    for (i, k) in f.targets() {
        let (row, plan_row) = (&rows[&k], &planned[&k]);
        let (doc, tags) = &state[&k];
        let id = &k.0;
        if f.kinds[i] == Kind::Missing {
            assert_eq!(outcome(row), ("create", "created", ""), "{k:?}: {row:?}");
            assert_eq!(plan_row["status"], "would-create");
            let (version, content) = doc.as_ref().unwrap();
            assert_eq!((version.as_str(), parsed(content)), ("1", desired()));
            assert_eq!(tags, &mark_only(), "{k:?}");
            continue;
        }
        assert_eq!(outcome(row), ("none", "kept", ""), "{k:?}: {row:?}");
        assert_eq!(
            outcome(plan_row),
            ("none", "kept", ""),
            "{k:?}: {plan_row:?}"
        );
        // The row names what differs, so the operator sees what keep left.
        let want: &[&str] = match f.kinds[i] {
            Kind::Foreign => &[
                "description",
                "s3BucketName",
                "cloudWatchStreamingEnabled",
                "idleSessionTimeout",
                "s3KeyPrefix",
            ],
            _ => &["s3BucketName", "idleSessionTimeout"],
        };
        for key in want {
            assert!(changed(row).contains(key), "{k:?}: {key} not in {row:?}");
        }
        if f.kinds[i] == Kind::Owned {
            assert_eq!(changed(row).len(), 2, "{row:?}");
        }
        // Nothing written: the same default version, content and tags as before.
        assert_eq!(&state[&k], &before[&k], "{k:?} changed under keep");
        let (version, content) = doc.as_ref().unwrap();
        assert_eq!(row["document_version"], *version);
        assert_eq!(row["previous_version"], *version);
        assert_eq!(row["content_sha256"], sha256_hex(content.as_bytes()));
        assert!(f.writes_in(id).is_empty(), "{k:?}: {:?}", f.writes_in(id));
    }
    let counts = f.proxy.counts();
    assert_eq!(counts.get("CreateDocument"), Some(&2), "{counts:?}");
    for op in [
        "UpdateDocument",
        "UpdateDocumentDefaultVersion",
        "AddTagsToResource",
    ] {
        assert_eq!(counts.get(op), None, "{op}: {counts:?}");
    }
    assert!(out.stdout.contains("kept"), "{}", out.stdout);

    // Rollback of that apply undoes only what it wrote: the created documents go, the kept
    // ones are not the apply's to touch.
    f.proxy.clear();
    let (out, rb) = f.rollback(&report);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&rb);
    let after = f.state().await;
    for (i, k) in f.targets() {
        if f.kinds[i] == Kind::Missing {
            assert_eq!(rows[&k]["status"], "deleted", "{k:?}: {:?}", rows[&k]);
            assert_eq!(after[&k].0, None, "{k:?}");
        } else {
            assert!(!rows.contains_key(&k), "{k:?}: {:?}", rows[&k]);
            assert_eq!(after[&k], before[&k], "{k:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn existing_refuse_writes_only_where_the_document_is_the_tools() {
    let f = Fleet::of_kinds(
        &[Kind::Missing, Kind::Foreign, Kind::Owned],
        &["us-east-1", "eu-west-1"],
    )
    .await;
    let before = f.state().await;
    let findings = format!("UnmanagedDocument(blocking) {DOC}");

    let (plan, plan_report) = f.run("plan", "plan.csv", &["--existing", "refuse"]);
    assert_eq!(plan.code, 1, "a blocked target is not done: {}", plan.all());
    assert_eq!(f.proxy.writes(), 0, "{:?}", f.proxy.counts());
    assert_eq!(f.proxy.count("AddTagsToResource"), 0);
    // Ownership is looked up only where refuse must decide: the four existing documents
    // that differ, one ListTagsForResource each; never where the document is missing.
    assert_eq!(
        f.proxy.count("ListTagsForResource"),
        4,
        "{:?}",
        f.proxy.counts()
    );
    assert_eq!(f.state().await, before, "plan changed the emulator");
    let rows = rows_by_target(&plan_report);
    for (i, k) in f.targets() {
        let row = &rows[&k];
        let want = match f.kinds[i] {
            Kind::Missing => ("create", "would-create", ""),
            Kind::Foreign => ("update", "blocked", "UnmanagedDocument"),
            Kind::Owned => ("update", "would-update", ""),
        };
        assert_eq!(outcome(row), want, "{k:?}: {row:?}");
        if f.kinds[i] == Kind::Foreign {
            assert_eq!(row["findings"], findings, "{k:?}");
        }
    }

    f.proxy.clear();
    let (out, report) = f.run("apply", "apply.csv", &["--existing", "refuse"]);
    assert_eq!(out.code, 1, "a blocked target is not done: {}", out.all());
    assert!(out.all().contains("UnmanagedDocument"), "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 6);
    let state = f.state().await;
    for (i, k) in f.targets() {
        let row = &rows[&k];
        let (doc, tags) = &state[&k];
        let (version, content) = doc.as_ref().unwrap();
        match f.kinds[i] {
            Kind::Missing => {
                assert_eq!(outcome(row), ("create", "created", ""), "{k:?}: {row:?}");
                assert_eq!((version.as_str(), parsed(content)), ("1", desired()));
                assert_eq!(tags, &mark_only());
            }
            Kind::Foreign => {
                assert_eq!(
                    outcome(row),
                    ("update", "blocked", "UnmanagedDocument"),
                    "{k:?}: {row:?}"
                );
                assert_eq!(row["findings"], findings, "{k:?}");
                assert!(
                    row["error_message"].contains("managed-by=ssm-prefs"),
                    "the message names the tag looked for: {row:?}"
                );
                assert_eq!(&state[&k], &before[&k], "{k:?} was written");
                assert!(f.writes_in(&k.0).is_empty(), "{:?}", f.writes_in(&k.0));
            }
            Kind::Owned => {
                assert_eq!(outcome(row), ("update", "updated", ""), "{k:?}: {row:?}");
                assert_eq!((version.as_str(), parsed(content)), ("2", desired()));
                assert_eq!(tags, &mark_only());
                assert_eq!(row["findings"], "");
            }
        }
    }
    // The owned documents were known to carry the mark: nothing needed tagging.
    assert_eq!(
        f.proxy.count("AddTagsToResource"),
        0,
        "{:?}",
        f.proxy.counts()
    );
    assert_eq!(f.proxy.count("UpdateDocument"), 2);
    assert_eq!(f.proxy.count("CreateDocument"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_owner_tag_is_the_one_put_on_and_looked_for() {
    // 0 missing; 1 made by another pipeline carrying team=platform; 2 written by this tool
    // with its default mark, which is not the custom one.
    let f = Fleet::of_kinds(&[Kind::Missing, Kind::Missing, Kind::Owned], &["us-east-1"]).await;
    let r = "us-east-1";
    ssm_in(&f.url, &f.ids[1], r)
        .await
        .create_document()
        .name(DOC)
        .content(foreign_content())
        .document_type(DocumentType::Session)
        .document_format(DocumentFormat::Json)
        .tags(
            Tag::builder()
                .key("team")
                .value("platform")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("seed a document tagged team=platform");
    let platform = Tags::from([("team".to_string(), "platform".to_string())]);
    let key = |i: usize| (f.ids[i].clone(), r.to_string());
    let args = ["--existing", "refuse", "--owner-tag", "team=platform"];
    let (out, report) = f.run("apply", "apply.csv", &args);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    let state = f.state().await;
    assert_eq!(outcome(&rows[&key(0)]), ("create", "created", ""));
    assert_eq!(
        state[&key(0)].1,
        platform,
        "the custom tag is the one put on"
    );
    assert_eq!(outcome(&rows[&key(1)]), ("update", "updated", ""));
    assert_eq!(state[&key(1)].1, platform);
    assert_eq!(parsed(&state[&key(1)].0.as_ref().unwrap().1), desired());
    let blocked = &rows[&key(2)];
    assert_eq!(
        outcome(blocked),
        ("update", "blocked", "UnmanagedDocument"),
        "managed-by=ssm-prefs is not the mark looked for: {blocked:?}"
    );
    assert!(
        blocked["error_message"].contains("team=platform"),
        "{blocked:?}"
    );
    assert_eq!(
        state[&key(2)].1,
        mark_only(),
        "the blocked one is untouched"
    );
    assert_eq!(
        parsed(&state[&key(2)].0.as_ref().unwrap().1),
        old_prefs(),
        "the blocked one is untouched"
    );

    // Audit looks for the same tag: the two it tagged carry no note.
    let (audit, report) = f.run(
        "audit",
        "audit.csv",
        &["--owner-tag", "team=platform", "-a", "acct-0,acct-1"],
    );
    assert_eq!(audit.code, 0, "{}", audit.all());
    for row in rows_by_target(&report).values() {
        assert_eq!(outcome(row), ("none", "compliant", ""), "{row:?}");
    }
}

#[test]
fn bad_lifecycle_flags_are_input_errors_before_any_call() {
    let (_, _, dir, inv, prefs, proxy) = Fleet::new(1, &["us-east-1"]).parts();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--owner-tag", "novalue"], &["--owner-tag", "KEY=VALUE"]),
        (&["--owner-tag", "aws:x=y"], &["--owner-tag", "aws:"]),
        (&["--existing", "bogus"], &["--existing", "bogus"]),
        (&["--existing", "kep"], &["--existing", "keep"]),
        (
            &["--merge", "--existing", "keep"],
            &["--merge", "--existing"],
        ),
    ];
    for cmd in ["plan", "apply", "audit"] {
        for (args, named) in cases {
            let report = dir.path(&format!("{cmd}.csv"));
            let out = run(cmd, &proxy, &inv, &prefs, &report, args);
            assert_eq!(out.code, 2, "{cmd} {args:?}: {}", out.all());
            for n in *named {
                assert!(
                    out.stderr.contains(n),
                    "{cmd} {args:?}: {n} not in {}",
                    out.stderr
                );
            }
            assert!(!report.exists(), "{cmd} {args:?} left a report");
        }
    }
    for bad in ["0", "x", "-3"] {
        let report = dir.path("apply.csv");
        let extra = ["--prune-versions", bad];
        let out = run("apply", &proxy, &inv, &prefs, &report, &extra);
        assert_eq!(out.code, 2, "--prune-versions {bad}: {}", out.all());
        assert!(out.stderr.contains("--prune-versions"), "{}", out.stderr);
    }
    assert!(
        proxy.seen().is_empty(),
        "an input error sent a request: {:?}",
        proxy.counts()
    );
}

/// Every version the document holds (by DescribeDocument of each number up to the latest,
/// straight on the emulator), and its default version.
async fn versions_of(ssm: &aws_sdk_ssm::Client) -> (Vec<u64>, u64) {
    let d = ssm
        .describe_document()
        .name(DOC)
        .send()
        .await
        .expect("describe")
        .document
        .unwrap();
    let latest: u64 = d.latest_version().unwrap().parse().unwrap();
    let default: u64 = d.default_version().unwrap().parse().unwrap();
    let mut out = vec![];
    for v in 1..=latest {
        if ssm
            .describe_document()
            .name(DOC)
            .document_version(v.to_string())
            .send()
            .await
            .is_ok()
        {
            out.push(v);
        }
    }
    (out, default)
}

fn version_content(n: u64) -> String {
    let mut v = old_prefs();
    v["description"] = json!(format!("version {n}"));
    v.to_string()
}

/// A fleet of one target holding versions 1..=8 of `version_content`, its default the old
/// version 2 (so not among the newest), behind a proxy capping documents at 8 versions.
async fn at_the_cap() -> (Fleet, aws_sdk_ssm::Client) {
    let f = Fleet::of_kinds(&[Kind::Missing], &["us-east-1"]).await;
    let (id, r) = (f.ids[0].clone(), "us-east-1");
    let ssm = ssm_in(&f.url, &id, r).await;
    // Straight on the emulator: the cap is the proxy's, turned on once they exist.
    seed(&f.url, &id, r, DOC, &version_content(1)).await;
    for n in 2..=8 {
        ssm.update_document()
            .name(DOC)
            .content(version_content(n))
            .document_version("$LATEST")
            .document_format(DocumentFormat::Json)
            .send()
            .await
            .expect("add a version");
    }
    ssm.update_document_default_version()
        .name(DOC)
        .document_version("2")
        .send()
        .await
        .unwrap();
    assert_eq!(versions_of(&ssm).await, ((1..=8).collect(), 2));
    f.proxy.set_faults(Faults {
        version_cap: Some(8),
        ..Faults::default()
    });
    (f, ssm)
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_versions_makes_room_at_the_version_cap() {
    let (f, ssm) = at_the_cap().await;
    let (id, r) = (f.ids[0].clone(), "us-east-1");
    let key = (id.clone(), r.to_string());

    // Without --prune-versions: failed, the message says how to make room; nothing deleted.
    let (out, report) = f.run("apply", "capped.csv", &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    let row = &rows_by_target(&report)[&key];
    assert_eq!(
        outcome(row),
        ("update", "failed", "DocumentVersionLimitExceeded"),
        "{row:?}"
    );
    assert!(row["error_message"].contains("--prune-versions"), "{row:?}");
    assert_eq!(row["pruned_versions"], "");
    assert_eq!(f.proxy.count("DeleteDocument"), 0);
    assert_eq!(versions_of(&ssm).await, ((1..=8).collect(), 2));

    // Keeping as many as there are leaves nothing to prune: failed, still nothing deleted.
    f.proxy.clear();
    let (out, report) = f.run("apply", "keep-all.csv", &["--prune-versions", "8"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let row = &rows_by_target(&report)[&key];
    assert_eq!(
        outcome(row),
        ("update", "failed", "DocumentVersionLimitExceeded"),
        "{row:?}"
    );
    assert!(row["error_message"].contains("nothing to prune"), "{row:?}");
    assert_eq!(f.proxy.count("DeleteDocument"), 0);
    assert_eq!(versions_of(&ssm).await, ((1..=8).collect(), 2));

    // Keep 5: the newest five (4..=8) stay, and so does the default (2); 1 and 3 go.
    f.proxy.clear();
    let (out, apply_report) = f.run("apply", "pruned.csv", &["--prune-versions", "5"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let row = rows_by_target(&apply_report)[&key].clone();
    assert_eq!(outcome(&row), ("update", "updated", ""), "{row:?}");
    assert_eq!(row["pruned_versions"], "2", "{row:?}");
    assert_eq!(row["previous_version"], "2");
    assert_eq!(row["document_version"], "9");
    let doomed = ssm_prefs::lifecycle::versions_to_prune(&(1..=8).collect::<Vec<_>>(), 2, 8, 5);
    assert_eq!(doomed, vec![1, 3], "the rule the tool follows");
    assert_eq!(
        f.proxy.count("DeleteDocument"),
        2,
        "one DeleteDocument per pruned version: {:?}",
        f.proxy.counts()
    );
    // The document survived (a DeleteDocument without a version would have removed it all),
    // holding exactly the kept versions and the new one, which is the default.
    assert_eq!(versions_of(&ssm).await, (vec![2, 4, 5, 6, 7, 8, 9], 9));
    let (version, content) = default_doc(&ssm, DOC).await.unwrap();
    assert_eq!((version.as_str(), parsed(&content)), ("9", desired()));
    assert_eq!(tags_of(&ssm, DOC).await, mark_only());
    // Through the proxy, ListDocumentVersions (what the tool listed) agrees.
    let listed = list_through(&f.proxy, &id, r).await;
    assert_eq!(
        listed,
        vec![
            (9, true),
            (8, false),
            (7, false),
            (6, false),
            (5, false),
            (4, false),
            (2, false)
        ]
    );

    // Rollback from that report: the previous default (2) was kept, so it comes back.
    f.proxy.set_faults(Faults::default());
    let (out, rb) = f.rollback(&apply_report);
    assert_eq!(out.code, 0, "{}", out.all());
    let row = &rows_by_target(&rb)[&key];
    assert_eq!(
        (row["status"].as_str(), row["document_version"].as_str()),
        ("restored", "2"),
        "{row:?}"
    );
    let (version, content) = default_doc(&ssm, DOC).await.unwrap();
    assert_eq!(version, "2");
    assert_eq!(parsed(&content), parsed(&version_content(2)));
}

/// ListDocumentVersions through the proxy (which answers it, moto lacking it), as the tool
/// sees it: (version, is default), newest first.
async fn list_through(proxy: &Proxy, account: &str, region: &str) -> Vec<(u64, bool)> {
    ssm_in(&proxy.url, account, region)
        .await
        .list_document_versions()
        .name(DOC)
        .send()
        .await
        .expect("ListDocumentVersions through the proxy")
        .document_versions()
        .iter()
        .map(|v| {
            (
                v.document_version().unwrap().parse().unwrap(),
                v.is_default_version(),
            )
        })
        .collect()
}

/// A DescribeDocument's CreatedDate as the report writes it: RFC 3339 UTC, milliseconds.
fn created_at(d: &aws_sdk_ssm::types::DocumentDescription) -> String {
    let t = d.created_date().expect("the emulator gives a CreatedDate");
    let whole = aws_sdk_ssm::primitives::DateTime::from_secs(t.secs())
        .fmt(aws_sdk_ssm::primitives::DateTimeFormat::DateTime)
        .unwrap();
    format!(
        "{}.{:03}Z",
        whole.trim_end_matches('Z'),
        t.subsec_nanos() / 1_000_000
    )
}

async fn describe(
    ssm: &aws_sdk_ssm::Client,
    version: Option<&str>,
) -> aws_sdk_ssm::types::DocumentDescription {
    ssm.describe_document()
        .name(DOC)
        .set_document_version(version.map(String::from))
        .send()
        .await
        .expect("describe")
        .document
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_shows_when_the_version_in_force_was_made_and_notes_unmanaged() {
    // 0 missing; 1 foreign but holding the desired content; 2 the tool's, compliant, its
    // default the second version; 3 the tool's, drifted.
    let f = Fleet::of_kinds(
        &[Kind::Missing, Kind::Missing, Kind::Owned, Kind::Owned],
        &["us-east-1"],
    )
    .await;
    let r = "us-east-1";
    seed(&f.url, &f.ids[1], r, DOC, &desired().to_string()).await;
    let (out, _) = f.run("apply", "apply2.csv", &["-a", "acct-2"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let key = |i: usize| (f.ids[i].clone(), r.to_string());

    f.proxy.clear();
    let html = f.dir.path("audit.html");
    let (out, report) = f.run("audit", "audit.csv", &["--html", html.to_str().unwrap()]);
    assert_eq!(out.code, 1, "missing and drifted: {}", out.all());
    let rows = rows_by_target(&report);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(outcome(&rows[&key(0)]), ("create", "missing", ""));
    assert_eq!(rows[&key(0)]["version_created_at"], "");
    assert_eq!(rows[&key(0)]["version_author"], "");
    for i in 1..4 {
        let row = &rows[&key(i)];
        let ssm = ssm_in(&f.url, &f.ids[i], r).await;
        let d = describe(&ssm, None).await;
        let when = created_at(&d);
        assert_eq!(row["version_created_at"], when, "{i}: {row:?}");
        // The form: 2026-12-01T08:18:20.538Z.
        let b = when.as_bytes();
        assert!(
            when.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z',
            "{when}"
        );
        assert_eq!(row["version_author"], "not reported", "{i}: {row:?}");
        assert!(page.contains(&when), "{i}: {when} not in the HTML page");
        assert_eq!(row["document_version"], d.default_version().unwrap());
    }
    let foreign = &rows[&key(1)];
    assert_eq!(
        outcome(foreign),
        ("none", "compliant", "UnmanagedDocument"),
        "{foreign:?}"
    );
    assert!(foreign["error_message"].contains("managed-by=ssm-prefs"));
    assert_eq!(outcome(&rows[&key(2)]), ("none", "compliant", ""));
    assert_eq!(outcome(&rows[&key(3)]), ("update", "drifted", ""));
    assert!(page.contains("not reported"));
    // DescribeDocument lists the tags: only the untagged document needs ListTagsForResource.
    assert_eq!(
        f.proxy.count("ListTagsForResource"),
        1,
        "{:?}",
        f.proxy.counts()
    );
    // The date is the version in force's, not the document's first.
    let ssm = ssm_in(&f.url, &f.ids[2], r).await;
    let first = created_at(&describe(&ssm, Some("1")).await);
    let second = created_at(&describe(&ssm, Some("2")).await);
    assert_ne!(first, second);
    assert_eq!(rows[&key(2)]["version_created_at"], second);

    // An untagged target that is compliant is a note, not a failure.
    let (out, report) = f.run("audit", "foreign.csv", &["-a", "acct-1"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        outcome(&rows_by_target(&report)[&key(1)]),
        ("none", "compliant", "UnmanagedDocument")
    );
}

/// The values that must never leave the tool: the file's and the targets' own.
const PLANTED: &[&str] = &[
    "PLANTED_SECRET_8f3a",
    "planted-user-5c1e",
    "OLD_PROFILE_SECRET_77",
    "old-user-77c",
];

/// Preferences with a secret in shellProfile and a user name, the sensitive inputs first, so a
/// value shown truncated would still show them.
fn secret_prefs() -> Value {
    json!({
        "inputs": {
            "runAsDefaultUser": "planted-user-5c1e",
            "shellProfile": {"linux": "export PLANTED_SECRET_8f3a=1; exec bash"},
            "runAsEnabled": true,
            "s3BucketName": "org-session-logs",
            "s3EncryptionEnabled": true,
            "idleSessionTimeout": "20"
        },
        "schemaVersion": "1.0",
        "description": "Org-wide Session Manager preferences",
        "sessionType": "Standard_Stream"
    })
}

/// A target's own document with its own sensitive values, so both sides of a change are.
fn secret_foreign() -> String {
    json!({
        "schemaVersion": "1.0",
        "description": "made by hand",
        "sessionType": "Standard_Stream",
        "inputs": {
            "runAsDefaultUser": "old-user-77c",
            "shellProfile": {"linux": "export OLD_PROFILE_SECRET_77=1"},
            "runAsEnabled": true,
            "s3BucketName": "their-bucket"
        }
    })
    .to_string()
}

/// Runs the lifecycle's commands with every output on and returns every text they left:
/// stdout, stderr, the CSV, the HTML page, the JUnit XML and the summary JSON of each.
fn every_output(f: &Fleet, label: &str, cmd: &str, extra: &[&str]) -> (Run, PathBuf, Vec<String>) {
    let paths = ["csv", "html", "xml", "json"].map(|e| f.dir.path(&format!("{label}.{e}")));
    let mut args = vec![
        "--html",
        paths[1].to_str().unwrap(),
        "--junit",
        paths[2].to_str().unwrap(),
        "--summary-json",
        paths[3].to_str().unwrap(),
        "-v",
    ];
    args.extend(extra);
    let out = if cmd == "rollback" {
        let mut a = vec![
            "rollback",
            "--yes",
            "-o",
            paths[0].to_str().unwrap(),
            "--endpoint-url",
            f.proxy.url.as_str(),
        ];
        a.extend(args);
        ssm_prefs(a)
    } else {
        run(cmd, &f.proxy, &f.inv, &f.prefs, &paths[0], &args)
    };
    let mut texts = vec![out.stdout.clone(), out.stderr.clone()];
    for p in &paths {
        texts.push(std::fs::read_to_string(p).unwrap_or_else(|e| {
            panic!("{label}: {} not written: {e}: {}", p.display(), out.all())
        }));
    }
    (out, paths[0].clone(), texts)
}

/// Where a planted value showed: every leak of a whole test, found before failing, so one
/// run names them all (command, output, the line that shows it).
#[derive(Default)]
struct Leaks(Vec<String>);

impl Leaks {
    const OUTPUTS: [&str; 6] = ["stdout", "stderr", "CSV", "HTML", "JUnit", "summary JSON"];

    fn check(&mut self, label: &str, texts: &[String]) {
        for (n, text) in texts.iter().enumerate() {
            for secret in PLANTED {
                for line in text.lines().filter(|l| l.contains(secret)) {
                    let line: String = line.chars().take(200).collect();
                    self.0.push(format!(
                        "{label}: {} shows {secret}: {line}",
                        Self::OUTPUTS[n]
                    ));
                }
            }
        }
    }

    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "sensitive values shown:\n{}",
            self.0.join("\n")
        );
    }
}

async fn secret_fleet() -> Fleet {
    let mut f = Fleet::of_kinds(
        &[Kind::Missing, Kind::Missing, Kind::Missing],
        &["us-east-1", "eu-west-1"],
    )
    .await;
    f.prefs = f.dir.write(
        "secret-prefs.json",
        &serde_json::to_string_pretty(&secret_prefs()).unwrap(),
    );
    // Three foreign targets with the same own values, so the changes group.
    for (i, r) in [(1, "us-east-1"), (1, "eu-west-1"), (2, "us-east-1")] {
        seed(&f.url, &f.ids[i], r, DOC, &secret_foreign()).await;
    }
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn sensitive_inputs_are_shown_only_as_a_hash() {
    let f = secret_fleet().await;
    let mut leaks = Leaks::default();
    let out = validate(&f.prefs, &f.inv, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    leaks.check("validate", &[out.stdout, out.stderr]);

    let (plan, report, texts) = every_output(&f, "plan", "plan", &[]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    leaks.check("plan", &texts);
    for line in [
        "3 targets: shellProfile sha256:",
        "3 targets: runAsDefaultUser sha256:",
    ] {
        assert!(plan.stdout.contains(line), "{line} not in {}", plan.stdout);
    }
    let rows = rows_by_target(&report);
    let foreign = &rows[&(f.ids[1].clone(), "us-east-1".to_string())];
    assert_eq!(foreign["status"], "would-update");
    for key in ["shellProfile", "runAsDefaultUser", "s3BucketName"] {
        assert!(changed(foreign).contains(&key), "{key}: {foreign:?}");
    }

    let (audit, _, texts) = every_output(&f, "audit-before", "audit", &[]);
    assert_eq!(audit.code, 1, "{}", audit.all());
    leaks.check("audit before", &texts);
    assert!(
        audit.stdout.contains("shellProfile sha256:"),
        "{}",
        audit.stdout
    );

    let (apply, apply_report, texts) = every_output(&f, "apply", "apply", &[]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    leaks.check("apply", &texts);
    assert!(
        apply.stdout.contains("shellProfile sha256:"),
        "{}",
        apply.stdout
    );
    // The document itself holds them, of course: that is what it is for.
    let (_, content) = default_doc(&ssm_in(&f.url, &f.ids[1], "us-east-1").await, DOC)
        .await
        .unwrap();
    assert!(content.contains("PLANTED_SECRET_8f3a") && content.contains("planted-user-5c1e"));

    let (audit, _, texts) = every_output(&f, "audit-after", "audit", &[]);
    assert_eq!(audit.code, 0, "{}", audit.all());
    leaks.check("audit after", &texts);

    let from = apply_report.to_str().unwrap().to_string();
    let (rollback, _, texts) = every_output(&f, "rollback", "rollback", &["--from", &from]);
    assert_eq!(rollback.code, 0, "{}", rollback.all());
    leaks.check("rollback", &texts);

    // Back to the targets' own values: the drift shows them hashed too.
    let (audit, _, texts) = every_output(&f, "audit-rolled-back", "audit", &[]);
    assert_eq!(audit.code, 1, "{}", audit.all());
    leaks.check("audit after rollback", &texts);
    assert!(
        audit.stdout.contains("shellProfile sha256:"),
        "{}",
        audit.stdout
    );
    leaks.assert_none();
}

#[tokio::test(flavor = "multi_thread")]
async fn sensitive_inputs_stay_hidden_when_a_target_holds_what_is_not_plain_json() {
    // 0 holds a document saved as YAML (GetDocument answers it as JSON); 1 holds content
    // the emulator took as JSON (Python reads NaN) and serde_json does not: the tool then
    // compares it as one whole change of `content`, and that change, like every other, must
    // not show the desired content's sensitive values.
    let mut f = Fleet::of_kinds(&[Kind::Missing, Kind::Missing], &["us-east-1"]).await;
    f.prefs = f.dir.write(
        "secret-prefs.json",
        &serde_json::to_string_pretty(&secret_prefs()).unwrap(),
    );
    let yaml = "schemaVersion: '1.0'\ndescription: saved as YAML\nsessionType: Standard_Stream\ninputs:\n  s3BucketName: yaml-bucket\n  runAsEnabled: true\n  runAsDefaultUser: old-user-77c\n  shellProfile:\n    linux: export OLD_PROFILE_SECRET_77=1\n";
    let not_json = r#"{"schemaVersion": "1.0", "description": "not plain JSON", "sessionType": "Standard_Stream", "inputs": {"s3BucketName": "their-bucket", "idleSessionTimeout": NaN}}"#;
    for (i, content, format) in [
        (0, yaml, DocumentFormat::Yaml),
        (1, not_json, DocumentFormat::Json),
    ] {
        ssm_in(&f.url, &f.ids[i], "us-east-1")
            .await
            .create_document()
            .name(DOC)
            .content(content)
            .document_type(DocumentType::Session)
            .document_format(format)
            .send()
            .await
            .expect("seed a document");
    }
    let key = |i: usize| (f.ids[i].clone(), "us-east-1".to_string());
    let mut leaks = Leaks::default();

    let (plan, report, texts) = every_output(&f, "plan", "plan", &[]);
    assert_eq!(plan.code, 0, "{}", plan.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows[&key(0)]["status"], "would-update");
    assert_eq!(
        (
            rows[&key(1)]["status"].as_str(),
            rows[&key(1)]["changed_inputs"].as_str()
        ),
        ("would-update", "content"),
        "content that does not parse differs as a whole"
    );
    leaks.check("plan", &texts);
    let (audit, _, texts) = every_output(&f, "audit", "audit", &[]);
    assert_eq!(audit.code, 1, "{}", audit.all());
    leaks.check("audit", &texts);
    let (apply, _, texts) = every_output(&f, "apply", "apply", &[]);
    assert_eq!(apply.code, 0, "{}", apply.all());
    leaks.check("apply", &texts);
    for i in 0..2 {
        let (_, content) = default_doc(&ssm_in(&f.url, &f.ids[i], "us-east-1").await, DOC)
            .await
            .unwrap();
        assert_eq!(parsed(&content), secret_prefs(), "{i}");
    }
    leaks.assert_none();
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_versions_without_a_number_keeps_the_newest_hundred() {
    // `--prune-versions` alone means N = 100 (its help: "[default N: 100]"), also when another
    // flag follows it, as `apply … --prune-versions --yes` writes it. Eight versions are all
    // among the newest hundred: nothing to prune, and the row says so.
    let (f, ssm) = at_the_cap().await;
    let key = (f.ids[0].clone(), "us-east-1".to_string());
    let report = f.dir.path("bare.csv");
    let extra = ["--prune-versions", "--no-preflight"];
    let out = run_at("apply", &f.proxy.url, &f.inv, &f.prefs, &report, &extra);
    assert_eq!(out.code, 1, "{}", out.all());
    let row = &rows_by_target(&report)[&key];
    assert_eq!(
        outcome(row),
        ("update", "failed", "DocumentVersionLimitExceeded"),
        "{row:?}"
    );
    assert!(
        row["error_message"].contains("newest 100")
            && row["error_message"].contains("nothing to prune"),
        "{row:?}"
    );
    assert_eq!(f.proxy.count("DeleteDocument"), 0);
    assert_eq!(versions_of(&ssm).await, ((1..=8).collect(), 2));
}

/// A member role that may not read or put tags: audit still gives every target its verdict
/// (the ownership is a note saying it could not be checked), `--existing refuse` writes
/// nowhere it cannot see the mark (blocked, not failed), and an update whose tag is denied
/// keeps the content in force and says the document lacks the mark — the tag goes on only
/// after the write, so a failed write never marks someone else's document as the tool's.
#[tokio::test(flavor = "multi_thread")]
async fn denied_tag_calls_leave_verdicts_and_writes_honest() {
    let f = Fleet::of_kinds(&[Kind::Foreign, Kind::Owned], &["us-east-1"]).await;
    f.proxy.set_faults(Faults {
        deny_operations: vec!["ListTagsForResource".into(), "AddTagsToResource".into()],
        ..Faults::default()
    });

    // Audit: the foreign document's tags cannot be read (DescribeDocument's list lacks the
    // mark); its row still says what it holds, with the note.
    let (audit, report) = f.run("audit", "audit.csv", &[]);
    assert_eq!(audit.code, 1, "drifted targets: {}", audit.all());
    let rows = rows_by_target(&report);
    for (i, k) in f.targets() {
        let row = &rows[&k];
        assert_eq!(row["status"], "drifted", "{k:?}: {row:?}");
        if f.kinds[i] == Kind::Foreign {
            assert_eq!(row["error_code"], "AccessDeniedException", "{row:?}");
            assert!(
                row["error_message"].contains("ownership not checked"),
                "{row:?}"
            );
        } else {
            assert_eq!(
                row["error_code"], "",
                "the mark is in DescribeDocument's tags: {row:?}"
            );
        }
    }

    // Refuse: whose the foreign document is cannot be told, so it is not written.
    let before = f.state().await;
    let (refuse, report) = f.run("apply", "refuse.csv", &["--existing", "refuse"]);
    assert_eq!(refuse.code, 1, "{}", refuse.all());
    let rows = rows_by_target(&report);
    for (i, k) in f.targets() {
        let row = &rows[&k];
        if f.kinds[i] == Kind::Foreign {
            assert_eq!(
                outcome(row),
                ("update", "blocked", "UnmanagedDocument"),
                "{row:?}"
            );
            assert!(
                row["error_message"].contains("could not be read"),
                "{row:?}"
            );
            assert_eq!(
                f.state().await[&k],
                before[&k],
                "a refused target was written"
            );
        }
    }

    // Update: the content is written and in force; the tag is denied and the row says so.
    let (update, report) = f.run("apply", "update.csv", &[]);
    assert_eq!(update.code, 0, "{}", update.all());
    let rows = rows_by_target(&report);
    let after = f.state().await;
    for (i, k) in f.targets() {
        let row = &rows[&k];
        assert_eq!(row["status"], "updated", "{row:?}");
        let (doc, tags) = &after[&k];
        let (_, content) = doc.as_ref().expect("a document");
        assert_eq!(parsed(content), desired(), "{k:?}");
        if f.kinds[i] == Kind::Foreign {
            assert_eq!(row["error_code"], "UnmanagedDocument", "{row:?}");
            assert!(
                row["error_message"].contains("could not be put on"),
                "{row:?}"
            );
            assert!(!tags.contains_key(MARK.0), "{tags:?}");
        }
    }
}

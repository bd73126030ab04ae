//! Organization scale: `discover` and `--org` from the emulator's Organizations API (one
//! organization per emulator, built once and shared), `-r all` through Account ListRegions
//! (answered by the test proxy, since the emulator lacks that API), `--shard K/N` with
//! `report merge`, and the walk itself: the calls it makes, its throttles and its deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::support::emulator::{emulator, private_emulator};
use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::org::{MANAGEMENT, Organization, name_of, organizations};
use crate::support::proxy::Proxy;
use crate::support::stand_in::DEFAULT_ACCOUNT as DEFAULT_STAND_IN_ACCOUNT;

/// The commercial partition's regions every account has (the tool's own table).
fn default_regions() -> Vec<&'static str> {
    ssm_prefs::target::Region::all()
        .filter(|r| r.partition() == "aws" && !r.opt_in())
        .map(|r| r.as_str())
        .collect()
}

/// (OU ids by name, ACTIVE member account ids by OU name).
type Org = (BTreeMap<String, String>, BTreeMap<String, Vec<String>>);

/// The emulator's organization: one per emulator (Organizations allows one per management
/// account), built by the first test that needs it.
async fn the_org(url: &str) -> &'static Org {
    static ORG: tokio::sync::OnceCell<Org> = tokio::sync::OnceCell::const_new();
    ORG.get_or_init(|| build_org(url)).await
}

/// An organization of 3 OUs (one nested) and 40 member accounts, 2 of them suspended.
async fn build_org(url: &str) -> Org {
    let org = Organization::create(organizations(url).await).await;
    let mut ous: BTreeMap<String, String> = BTreeMap::new();
    for (name, parent) in [
        ("Production", None),
        ("Development", None),
        ("Payments", Some("Production")),
    ] {
        let parent = parent.map(|p: &str| ous[p].clone());
        let id = org.create_ou(name, parent.as_deref()).await;
        ous.insert(name.to_string(), id);
    }
    let mut active: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in 0..40 {
        let ou_name = ["Production", "Payments", "Development"][i % 3];
        let name = format!("{}-{i:02}", ou_name.to_lowercase());
        let id = org
            .create_account(&name, &format!("aws+{i}@example.com"))
            .await;
        org.move_to(&id, &ous[ou_name]).await;
        let env = if ou_name == "Development" {
            "dev"
        } else {
            "prod"
        };
        org.tag(&id, "env", env).await;
        if i == 4 || i == 5 {
            org.close(&id).await;
        } else {
            active.entry(ou_name.to_string()).or_default().push(id);
        }
    }
    (ous, active)
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_writes_an_inventory_that_apply_rolls_out() {
    let url = emulator().url.clone();
    let (ous, active) = the_org(&url).await;
    let all: BTreeSet<String> = active.values().flatten().cloned().collect();
    assert_eq!(all.len(), 38);
    let dir = Dir::new();
    let inv = dir.path("org.yml");
    let proxy = Proxy::start(&url);
    let out = ssm_prefs([
        "discover",
        "-o",
        inv.to_str().unwrap(),
        "--endpoint-url",
        proxy.url.as_str(),
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    let text = std::fs::read_to_string(&inv).unwrap();
    assert!(text.contains("# Left out: 2 SUSPENDED accounts"), "{text}");
    assert!(
        text.contains("ou:Root/Production/Payments") && text.contains("env:prod"),
        "{text}"
    );
    // c7n-org's shape: only `accounts` at the top, a role ARN on every account.
    assert!(
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
            .all(|l| l == "accounts:"),
        "{text}"
    );
    assert_eq!(text.matches("role: \"arn:aws:iam::").count(), 38);
    let listed: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- account_id: \""))
        .map(|l| l.trim_end_matches('"').to_string())
        .collect();
    assert_eq!(
        listed, all,
        "every ACTIVE member account, no suspended one, not the management account"
    );

    let prefs = dir.write("prefs.json", &desired().to_string());
    let out = validate(&prefs, &inv, &["-r", "us-east-1"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stdout.contains("38 accounts × 1 region = 38 targets"),
        "{}",
        out.stdout
    );
    let report = dir.path("apply.csv");
    let out = run("apply", &proxy, &inv, &prefs, &report, &["-r", "us-east-1"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 38);
    let ids: Vec<String> = all.iter().cloned().collect();
    for ((id, region), found) in read_all(&url, &ids, &["us-east-1"], DOC).await {
        let (version, _) = found.unwrap_or_else(|| panic!("{id} has no document"));
        assert_eq!(rows[&(id, region)]["document_version"], version);
    }

    // --ou limits the walk to that OU and those below it.
    let prod = dir.path("prod.yml");
    let out = ssm_prefs([
        "discover",
        "--ou",
        &ous["Production"],
        "-o",
        prod.to_str().unwrap(),
        "--endpoint-url",
        proxy.url.as_str(),
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    let text = std::fs::read_to_string(&prod).unwrap();
    let want: BTreeSet<&String> = active["Production"]
        .iter()
        .chain(&active["Payments"])
        .collect();
    let got: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- account_id: \""))
        .map(|l| l.trim_end_matches('"').to_string())
        .collect();
    assert_eq!(got.iter().collect::<BTreeSet<_>>(), want);
    assert!(!text.contains("ou:Root/Development"));
}

#[tokio::test(flavor = "multi_thread")]
async fn org_is_the_inventory_with_the_management_account_on_the_base_credentials() {
    let url = emulator().url.clone();
    let (ous, active) = the_org(&url).await;
    let members: BTreeSet<String> = active.values().flatten().cloned().collect();
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    // A document of this test's own: the organization's accounts are shared with discover's.
    let doc = "OrgWidePrefs";
    let org_run = |cmd: &str, report: &std::path::Path, extra: &[&str]| {
        let mut a = command_line(cmd, &prefs, report, &proxy.url);
        a.extend(["--org", "--document-name", doc]);
        a.extend(extra);
        ssm_prefs(&a)
    };

    let report = dir.path("apply.csv");
    let out = org_run("apply", &report, &["-r", "us-east-1,eu-west-1"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains(&format!(
            "{MANAGEMENT} (the caller's) with the base credentials"
        )),
        "{}",
        out.all()
    );
    let rows = rows_by_target(&report);
    let mut everyone: Vec<String> = members.iter().cloned().collect();
    everyone.push(MANAGEMENT.to_string());
    assert_eq!(
        rows.len(),
        everyone.len() * 2,
        "every ACTIVE account, the management one too"
    );
    for ((id, region), found) in read_all(&url, &everyone, &["us-east-1", "eu-west-1"], doc).await {
        let row = &rows[&(id.clone(), region.clone())];
        assert_eq!(row["status"], "created", "{id} {region}");
        assert_eq!(found.expect("written").0, row["document_version"]);
    }
    let assumed: BTreeSet<String> = proxy
        .seen_of("AssumeRole")
        .into_iter()
        .map(|s| s.account)
        .collect();
    assert_eq!(
        assumed, members,
        "a role in each member account, none in the management account"
    );
    let tagged = rows
        .values()
        .find(|r| r["account_id"] == active["Payments"][0])
        .unwrap();
    assert!(
        tagged["account_name"].starts_with("payments-"),
        "{tagged:?}"
    );

    // --ou: that OU and those under it (the management account sits in the root).
    let report = dir.path("prod.csv");
    let out = org_run(
        "audit",
        &report,
        &["--ou", &ous["Production"], "-r", "us-east-1"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let got: BTreeSet<String> = read_report(&report)
        .into_iter()
        .inspect(|r| assert_eq!(r["status"], "compliant"))
        .map(|r| r["account_id"].clone())
        .collect();
    let want: BTreeSet<String> = active["Production"]
        .iter()
        .chain(&active["Payments"])
        .cloned()
        .collect();
    assert_eq!(got, want);
    // Findings go to Security Hub in every account, the management account's through the base
    // credentials.
    let report = dir.path("hub.csv");
    let out = org_run("audit", &report, &["-r", "us-east-1", "--security-hub"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), everyone.len());
    assert!(
        rows.iter().all(|r| r["security_hub"] == "delivered"),
        "{rows:?}"
    );
    assert!(
        proxy
            .seen_of("BatchImportFindings")
            .iter()
            .any(|s| s.account.is_empty()),
        "the management account's finding went with the base credentials"
    );
    // --not-accounts leaves the management account out.
    let report = dir.path("members.csv");
    let out = org_run(
        "plan",
        &report,
        &["-r", "us-east-1", "--not-accounts", MANAGEMENT],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let got: BTreeSet<String> = read_report(&report)
        .into_iter()
        .map(|r| r["account_id"].clone())
        .collect();
    assert_eq!(got, members);
    // -t matches the organization's tags, as discover writes them.
    let report = dir.path("dev.csv");
    let out = org_run(
        "plan",
        &report,
        &["-t", "ou:Root/Development", "-r", "us-east-1"],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read_report(&report).len(), active["Development"].len());

    // An event narrows the organization to its account.
    let event = dir.write(
        "event.json",
        &serde_json::json!({
            "version": "0", "id": "1", "detail-type": "AWS Service Event via CloudTrail",
            "source": "aws.organizations", "account": MANAGEMENT, "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1", "resources": [],
            "detail": {"eventName": "CreateAccountResult", "serviceEventDetails": {
                "createAccountStatus": {"state": "SUCCEEDED", "accountId": active["Development"][0], "accountName": "x"}}}
        })
        .to_string(),
    );
    let report = dir.path("event.csv");
    let out = org_run(
        "plan",
        &report,
        &[
            "--event",
            event.to_str().unwrap(),
            "-r",
            "us-east-1,eu-west-1",
            "--wait-ready",
            "0",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r["account_id"] == active["Development"][0])
    );

    // Bad input: exit 2 and, before the walk, no call at all.
    proxy.clear();
    let inv = dir.write("inv.yml", &inventory(&accounts(1), &["us-east-1"]));
    for (extra, says) in [
        (
            vec!["-i", inv.to_str().unwrap(), "-r", "us-east-1"],
            "cannot be used with",
        ),
        (
            vec![],
            "-r: the organization's accounts' regions come from -r",
        ),
        (
            vec!["--ou", "Production", "-r", "us-east-1"],
            "--ou: \"Production\" is not an OU id",
        ),
    ] {
        let out = org_run("plan", &dir.path("x.csv"), &extra);
        assert_eq!(out.code, 2, "{extra:?}: {}", out.all());
        assert!(out.stderr.contains(says), "{extra:?}: {}", out.stderr);
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.counts());
    let out = org_run(
        "plan",
        &dir.path("x.csv"),
        &["--ou", "ou-zzzz-zzzzzzzz", "-r", "us-east-1"],
    );
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr
            .contains("--ou: no OU ou-zzzz-zzzzzzzz in the organization"),
        "{}",
        out.stderr
    );
    assert!(!dir.path("x.csv").exists());
    let out = ssm_prefs([
        "plan",
        "-p",
        prefs.to_str().unwrap(),
        "--ou",
        &ous["Production"],
        "-r",
        "us-east-1",
    ]);
    assert_eq!(out.code, 2, "--ou needs --org: {}", out.all());
}

/// `--ou PARENT --ou CHILD` reaches the child's accounts twice: they are one target each, in
/// either order, under the path from the parent; the report rolls back and merges.
#[tokio::test(flavor = "multi_thread")]
async fn a_parent_ou_and_its_child_select_each_account_once() {
    let url = emulator().url.clone();
    let (ous, active) = the_org(&url).await;
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    // A document of this test's own: the organization's accounts are shared.
    let doc = "NestedOuPrefs";
    let want: BTreeSet<String> = active["Production"]
        .iter()
        .chain(&active["Payments"])
        .cloned()
        .collect();
    for (name, order) in [
        ("parent-first", [&ous["Production"], &ous["Payments"]]),
        ("child-first", [&ous["Payments"], &ous["Production"]]),
    ] {
        let report = dir.path(&format!("{name}.csv"));
        let mut args = command_line("apply", &prefs, &report, &proxy.url);
        let ou_list = format!("{},{}", order[0], order[1]);
        args.extend(["--org", "--ou", &ou_list, "--document-name", doc]);
        args.extend(["-r", "us-east-1", "-t", "ou:Production/Payments"]);
        let out = ssm_prefs(&args);
        assert_eq!(out.code, 0, "{name}: {}", out.all());
        assert!(
            out.stderr
                .contains(&format!("--org: {} ACTIVE accounts", want.len())),
            "{name}: {}",
            out.stderr
        );
        // -t by the outermost OU's path selects the nested accounts whichever came first.
        let rows = read_report(&report);
        let ids: Vec<String> = rows.iter().map(|r| r["account_id"].clone()).collect();
        let unique: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(
            ids.len(),
            unique.len(),
            "{name}: one row per target: {ids:?}"
        );
        assert_eq!(
            unique,
            active["Payments"].iter().cloned().collect::<BTreeSet<_>>(),
            "{name}"
        );
    }
    // The whole of both OUs: each account once, written once, and the report undoes and merges.
    let report = dir.path("both.csv");
    let mut args = command_line("apply", &prefs, &report, &proxy.url);
    let ou_list = format!("{},{}", ous["Production"], ous["Payments"]);
    args.extend([
        "--org",
        "--ou",
        &ou_list,
        "--document-name",
        doc,
        "-r",
        "us-east-1",
    ]);
    let out = ssm_prefs(&args);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), want.len(), "{rows:?}");
    let got: BTreeSet<String> = rows.iter().map(|r| r["account_id"].clone()).collect();
    assert_eq!(got, want);
    let written: Vec<&str> = rows
        .iter()
        .filter(|r| r["status"] == "created")
        .map(|r| r["account_id"].as_str())
        .collect();
    assert_eq!(
        written.len(),
        want.len() - active["Payments"].len(),
        "the Payments accounts were written by the runs above: {rows:?}"
    );
    for ((id, _), found) in read_all(
        &url,
        &got.iter().cloned().collect::<Vec<_>>(),
        &["us-east-1"],
        doc,
    )
    .await
    {
        assert_eq!(
            found.expect("written").0,
            "1",
            "{id}: one version, one write"
        );
    }
    let merged = dir.path("merged.csv");
    let out = ssm_prefs([
        "report",
        "merge",
        report.to_str().unwrap(),
        "-o",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{}", out.all());
    let out = rollback_from(&report, &dir.path("rollback.csv"), &proxy.url);
    assert_eq!(out.code, 0, "{}", out.all());
}

/// Organizations' CreateAccountResult redacts the name (`"****"`): the name comes from
/// DescribeAccount, and where that read fails a `{account_name}` is never written as a guess.
#[tokio::test(flavor = "multi_thread")]
async fn an_event_that_redacts_the_name_is_named_by_organizations() {
    let url = emulator().url.clone();
    let (_, active) = the_org(&url).await;
    let dir = Dir::new();
    let mut prefs = desired();
    prefs["description"] = "Session Manager preferences for {account_name} ({account_id})".into();
    let named = dir.write("named.json", &prefs.to_string());
    let plain = dir.write("plain.json", &desired().to_string());
    let proxy = Proxy::start(&url);
    let doc = "RedactedNamePrefs";
    let event = |id: &str| {
        dir.write(
            &format!("{id}.json"),
            &serde_json::json!({
                "version": "0", "id": "1", "detail-type": "AWS Service Event via CloudTrail",
                "source": "aws.organizations", "account": MANAGEMENT, "time": "2026-01-01T00:00:00Z",
                "region": "us-east-1", "resources": [],
                "detail": {"eventName": "CreateAccountResult", "serviceEventDetails": {
                    "createAccountStatus": {"state": "SUCCEEDED", "accountId": id, "accountName": "****"}}}
            })
            .to_string(),
        )
    };
    let apply = |prefs: &std::path::Path, id: &str, report: &std::path::Path| {
        let ev = event(id);
        let mut a = command_line("apply", prefs, report, &proxy.url);
        a.extend(["--event", ev.to_str().unwrap(), "-r", "us-east-1"]);
        a.extend(["--document-name", doc, "--wait-ready", "0"]);
        ssm_prefs(&a)
    };

    // A member of the organization: its name from Organizations, in the row and the document.
    let id = &active["Development"][1];
    let name = name_of(&organizations(&url).await, id).await;
    let report = dir.path("member.csv");
    let out = apply(&named, id, &report);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["account_name"].as_str()),
        ("created", name.as_str())
    );
    let (_, content) = default_doc(&ssm_in(&url, id, "us-east-1").await, doc)
        .await
        .expect("written");
    assert!(
        content.contains(&format!("preferences for {name} ({id})")),
        "{content}"
    );
    assert!(!content.contains("****"), "{content}");
    assert_eq!(proxy.count("DescribeAccount"), 1, "{:?}", proxy.counts());
    // The organization's own audit agrees: not drifted.
    let report = dir.path("audit.csv");
    let mut a = command_line("audit", &named, &report, &proxy.url);
    a.extend(["--org", "-a", id, "-r", "us-east-1", "--document-name", doc]);
    let out = ssm_prefs(&a);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read_report(&report)[0]["status"], "compliant");

    // An account Organizations does not name (not in it, here): blocked, nothing written,
    // one warning; preferences without {account_name} are written, the row named by the id.
    let stranger = &accounts(1)[0];
    let report = dir.path("stranger.csv");
    let out = apply(&named, stranger, &report);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["error_code"].as_str()),
        ("blocked", "AccountNameUnknown"),
        "{rows:?}"
    );
    assert!(
        rows[0]["error_message"].contains("DescribeAccount"),
        "{rows:?}"
    );
    assert_eq!(
        out.stderr.matches("its name is not known").count(),
        1,
        "{}",
        out.stderr
    );
    let ssm = ssm_in(&url, stranger, "us-east-1").await;
    assert_eq!(
        default_doc(&ssm, doc).await,
        None,
        "never written with a guess"
    );
    let out = apply(&plain, stranger, &report);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = read_report(&report);
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["account_name"].as_str()),
        ("created", stranger.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn regions_all_follows_each_accounts_enabled_regions() {
    let ids = accounts(3);
    // No regions in the file: -r decides.
    let inv = format!(
        "accounts:\n  - account_id: \"{}\"\n  - account_id: \"{}\"\n  - account_id: \"{}\"\n",
        ids[0], ids[1], ids[2]
    );
    let f = Fleet::with_files(ids, &[], &inv, &desired().to_string());
    let (url, ids, dir, inv, prefs, proxy) = f.parts();
    let mut with_opt_in: Vec<&str> = default_regions();
    with_opt_in.push("af-south-1");
    proxy.set_enabled_regions(&ids[0], &with_opt_in);
    proxy.set_enabled_regions(&ids[1], &default_regions());
    // ids[2] gets no answer: ListRegions is denied there.

    let report = dir.path("all.csv");
    let extra = ["-r", "all", "-a", &format!("{},{}", ids[0], ids[1])];
    let out = run("apply", &proxy, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&report);
    let regions_of = |id: &str| {
        rows.keys()
            .filter(|(a, _)| a == id)
            .map(|(_, r)| r.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        regions_of(&ids[0]),
        with_opt_in.iter().map(|r| r.to_string()).collect()
    );
    assert_eq!(
        regions_of(&ids[1]),
        default_regions().iter().map(|r| r.to_string()).collect()
    );
    assert!(rows.values().all(|r| r["status"] == "created"));
    let state = read_all(&url, &ids[..1], &["af-south-1"], DOC).await;
    assert!(
        state.values().all(Option::is_some),
        "the enabled opt-in region was rolled out"
    );
    assert_eq!(proxy.count("ListRegions"), 2, "one ListRegions per account");

    // Named explicitly: an opt-in region an account has not enabled is skipped, not failed;
    // where the list cannot be had, the opt-in region fails with the reason.
    let report = dir.path("named.csv");
    let extra = ["-r", "us-east-1,af-south-1"];
    let out = run("plan", &proxy, &inv, &prefs, &report, &extra);
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), 6);
    let row = |i: usize, r: &str| rows[&(ids[i].clone(), r.to_string())].clone();
    assert_eq!(row(0, "af-south-1")["status"], "unchanged");
    assert_eq!(
        (
            row(1, "af-south-1")["status"].as_str(),
            row(1, "af-south-1")["error_code"].as_str()
        ),
        ("skipped", "RegionNotEnabled")
    );
    assert_eq!(
        (
            row(2, "af-south-1")["status"].as_str(),
            row(2, "af-south-1")["error_code"].as_str()
        ),
        ("failed", "AccessDeniedException")
    );
    assert_eq!(row(2, "us-east-1")["status"], "would-create");
    assert_eq!(
        out.code,
        1,
        "only the unlistable account's opt-in region fails: {}",
        out.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_cover_every_target_once_and_merge_into_the_whole() {
    let ids = accounts(11);
    let mut inv = String::from("accounts:\n");
    for (i, id) in ids.iter().enumerate() {
        let regions = &["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"][..1 + i % 4];
        inv.push_str(&format!(
            "  - account_id: \"{id}\"\n    regions: [{}]\n",
            regions.join(", ")
        ));
    }
    let f = Fleet::with_files(ids, &[], &inv, &desired().to_string());
    let (url, ids, dir, inv, prefs, proxy) = f.parts();
    for id in &ids[..3] {
        seed(&url, id, "us-east-1", DOC, AWS_PAGE_EXAMPLE).await;
    }
    let whole = dir.path("whole.csv");
    let out = run("plan", &proxy, &inv, &prefs, &whole, &[]);
    assert_eq!(out.code, 0, "{}", out.all());

    let mut shards = vec![];
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut sizes = vec![];
    for k in 1..=3 {
        let path = dir.path(&format!("shard{k}.csv"));
        let extra = ["--shard", &format!("{k}/3")];
        let out = run("plan", &proxy, &inv, &prefs, &path, &extra);
        assert_eq!(out.code, 0, "{}", out.all());
        let rows = read_report(&path);
        sizes.push(rows.len());
        let accounts: BTreeSet<_> = rows.iter().map(|r| r["account_id"].clone()).collect();
        for r in rows {
            *seen
                .entry((r["account_id"].clone(), r["region"].clone()))
                .or_default() += 1;
        }
        // A whole account per shard: its credentials are assumed in one shard only.
        assert!(proxy.seen().is_empty() || accounts.len() <= 11);
        shards.push(path);
    }
    let whole_rows = rows_by_target(&whole);
    assert_eq!(seen.len(), whole_rows.len(), "shards cover every target");
    assert!(seen.values().all(|&n| n == 1), "no target in two shards");
    let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
    assert!(max - min <= 4, "balanced by targets: {sizes:?}");

    let merged = dir.path("merged.csv");
    let mut args = vec!["report".to_string(), "merge".into()];
    args.extend(shards.iter().map(|p| p.to_str().unwrap().to_string()));
    args.extend(["-o".into(), merged.to_str().unwrap().to_string()]);
    let out = ssm_prefs(&args);
    assert_eq!(out.code, 0, "{}", out.all());
    let strip = |rows: BTreeMap<(String, String), BTreeMap<String, String>>| {
        rows.into_iter()
            .map(|(k, mut r)| {
                for timing in ["started_at", "duration_ms", "attempts"] {
                    r.remove(timing);
                }
                (k, r)
            })
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        strip(rows_by_target(&merged)),
        strip(whole_rows),
        "the merged report is the unsharded run's"
    );

    // Overlapping shards (a copy of one), or reports of different kinds of run, are refused.
    let copy = dir.path("copy.csv");
    std::fs::copy(&shards[0], &copy).unwrap();
    let out = ssm_prefs([
        "report",
        "merge",
        shards[0].to_str().unwrap(),
        copy.to_str().unwrap(),
        "-o",
        dir.path("x.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("shards must not overlap"),
        "{}",
        out.stderr
    );
    let applied = dir.path("apply.csv");
    let out = run("apply", &proxy, &inv, &prefs, &applied, &["--shard", "1/3"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let out = ssm_prefs([
        "report",
        "merge",
        applied.to_str().unwrap(),
        shards[1].to_str().unwrap(),
        "-o",
        dir.path("y.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stderr.contains("not from the same kind of run"),
        "{}",
        out.stderr
    );
}

/// `report merge` names each report once and writes none of them: a report given twice (as
/// written, or spelt another way) is refused in one line, not a line per row, and `-o` naming
/// one of the reports is refused before it is overwritten; exit 2 and nothing written.
#[tokio::test(flavor = "multi_thread")]
async fn report_merge_refuses_a_report_given_twice_or_as_its_output() {
    let (_, _, dir, inv, prefs, proxy) = Fleet::new(2, &["us-east-1", "eu-west-1"]).parts();
    let (a, b) = (dir.path("a.csv"), dir.path("b.csv"));
    for (k, path) in [(1, &a), (2, &b)] {
        let extra = ["--shard", &format!("{k}/2")];
        let out = run("plan", &proxy, &inv, &prefs, path, &extra);
        assert_eq!(out.code, 0, "{}", out.all());
    }
    let a_text = std::fs::read(&a).unwrap();
    assert_eq!(read_report(&a).len(), 2, "a shard of two targets");
    let merged = dir.path("merged.csv");
    let a_again = dir.0.path().join(".").join("a.csv");
    let merge = |reports: &[&std::path::Path], output: &std::path::Path| {
        let mut args = vec!["report".to_string(), "merge".into()];
        args.extend(reports.iter().map(|p| p.to_str().unwrap().to_string()));
        args.extend(["-o".into(), output.to_str().unwrap().to_string()]);
        ssm_prefs(&args)
    };
    for (case, reports, output, says) in [
        ("given twice", vec![&*a, &*a], &*merged, "is given twice"),
        (
            "spelt another way",
            vec![&*a, &*b, &a_again],
            &*merged,
            "is given twice",
        ),
        (
            "-o is a report",
            vec![&*a, &*b],
            &*a,
            "the merge would overwrite it",
        ),
        (
            "-o spelt another way",
            vec![&*b, &*a],
            &*a_again,
            "the merge would overwrite it",
        ),
    ] {
        let out = merge(&reports, output);
        assert_eq!(out.code, 2, "{case}: exit 2\n{}", out.all());
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "{case}: one line, not one per row:\n{}",
            out.all()
        );
        assert!(out.stderr.contains(says), "{case}:\n{}", out.all());
        assert!(!merged.exists(), "{case}: nothing written");
        assert_eq!(
            std::fs::read(&a).unwrap(),
            a_text,
            "{case}: a.csv unchanged"
        );
    }
    let out = merge(&[&a, &b], &merged);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(read_report(&merged).len(), 4);
}

/// The Organizations calls of one run: (operation, count), from the proxy.
fn organizations_calls(proxy: &Proxy) -> BTreeMap<String, usize> {
    let mut calls = BTreeMap::new();
    for s in proxy
        .seen()
        .into_iter()
        .filter(|s| s.service == "organizations")
    {
        *calls.entry(s.operation).or_default() += 1;
    }
    calls
}

/// `--org` reads an account's tags only where a tag may fill a placeholder: with the
/// built-ins alone, no per-account call at all; with `{team}`, one ListTagsForResource per
/// account. A throttled listing is tried again, counted, and loses no account.
#[tokio::test(flavor = "multi_thread")]
async fn the_walk_reads_tags_only_where_a_placeholder_needs_them_and_rides_out_throttles() {
    let url = emulator().url.clone();
    let (_, active) = the_org(&url).await;
    let everyone: BTreeSet<String> = active
        .values()
        .flatten()
        .cloned()
        .chain([MANAGEMENT.to_string()])
        .collect();
    let dir = Dir::new();
    let proxy = Proxy::start(&url);
    let run = |prefs: &std::path::Path, name: &str, extra: &[&str]| {
        let report = dir.path(&format!("{name}.csv"));
        let summary = dir.path(&format!("{name}-summary.json"));
        let mut a = command_line("plan", prefs, &report, &proxy.url);
        a.extend(["--org", "-r", "us-east-1", "--document-name", "WalkPrefs"]);
        a.extend(["--summary-json", summary.to_str().unwrap()]);
        a.extend(extra);
        let out = ssm_prefs(&a);
        assert_eq!(out.code, 0, "{}", out.all());
        let accounts: BTreeSet<String> = read_report(&report)
            .into_iter()
            .map(|r| r["account_id"].clone())
            .collect();
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        (out, accounts, summary["organization"].clone())
    };

    // The built-in placeholders alone: the walk lists, and reads no account's tags.
    let plain = dir.write("plain.json", &desired().to_string());
    proxy.clear();
    let (out, accounts, walk) = run(&plain, "plain", &[]);
    assert_eq!(accounts, everyone);
    let calls = organizations_calls(&proxy);
    assert_eq!(calls.get("ListTagsForResource"), None, "{calls:?}");
    assert_eq!(calls["DescribeOrganization"], 1, "{calls:?}");
    assert_eq!(calls["ListRoots"], 1, "{calls:?}");
    // The root and 3 OUs: each listed once for OUs and once for accounts (one page each).
    assert_eq!(calls["ListAccountsForParent"], 4, "{calls:?}");
    assert_eq!(calls["ListOrganizationalUnitsForParent"], 4, "{calls:?}");
    assert_eq!(walk["tags_read"], false, "{walk}");
    assert_eq!(walk["complete"], true, "{walk}");
    assert_eq!(walk["accounts"], everyone.len(), "{walk}");
    assert_eq!(walk["suspended"], 2, "{walk}");
    assert_eq!(walk["ous_walked"], 4, "{walk}");
    assert_eq!(walk["calls"], 10, "{walk}");
    assert_eq!(walk["retries"], 0, "{walk}");
    assert!(
        out.stderr.contains("no account's tags read"),
        "{}",
        out.stderr
    );

    // A placeholder a tag may fill (here --var fills it where no tag does): every account's
    // tags are read, once.
    let mut with_team = desired();
    with_team["inputs"]["s3KeyPrefix"] = "sessions/{team}".into();
    let team = dir.write("team.json", &with_team.to_string());
    proxy.clear();
    let (_, accounts, walk) = run(&team, "team", &["--var", "team=platform"]);
    assert_eq!(accounts, everyone);
    let calls = organizations_calls(&proxy);
    assert_eq!(calls["ListTagsForResource"], everyone.len(), "{calls:?}");
    assert_eq!(walk["tags_read"], true, "{walk}");
    assert_eq!(walk["complete"], true, "{walk}");

    // Organizations throttles: each listing's first answers are TooManyRequestsException.
    // Tried again through the gate; every account is there, and the retries are counted.
    proxy.clear();
    proxy.fail_first("ListAccountsForParent", 3, 400, "TooManyRequestsException");
    proxy.fail_first(
        "ListOrganizationalUnitsForParent",
        2,
        400,
        "TooManyRequestsException",
    );
    let (_, accounts, walk) = run(&plain, "throttled", &[]);
    assert_eq!(accounts, everyone);
    assert_eq!(walk["complete"], true, "{walk}");
    assert_eq!(walk["retries"], 5, "{walk}");
    assert_eq!(walk["calls"], 15, "{walk}");
}

/// `plan --org -r us-east-1 --deadline 6s` with `extra`, on a stand-in whose every answer takes
/// 0.5 s and whose one OU holds `accounts` accounts: the run's output, how long it took, its
/// summary JSON and its report's rows.
fn plan_by_6s(
    accounts: usize,
    extra: &[&str],
) -> (
    Run,
    Duration,
    serde_json::Value,
    Vec<BTreeMap<String, String>>,
) {
    use crate::support::stand_in::{Options, OrgShape, StandIn};
    let stand_in = StandIn::start_with(Options {
        latency: Duration::from_millis(500),
        org: OrgShape {
            accounts,
            ous: 1,
            first: 200_000_000_000,
            tags: false,
        },
        ..Options::default()
    });
    let dir = Dir::new();
    let prefs = dir.write("prefs.json", &desired().to_string());
    let report = dir.path("plan.csv");
    let summary = dir.path("plan.json");
    let mut a = command_line("plan", &prefs, &report, &stand_in.url);
    a.extend([
        "--org",
        "-r",
        "us-east-1",
        "--deadline",
        "6s",
        "--no-preflight",
    ]);
    a.extend(["--summary-json", summary.to_str().unwrap()]);
    a.extend(extra);
    let started = Instant::now();
    let out = ssm_prefs(&a);
    let took = started.elapsed();
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&summary).unwrap_or_else(|e| panic!("{e}: {}", out.all())),
    )
    .unwrap();
    (out, took, summary, read_report(&report))
}

/// `--deadline`: the walk starts no call after half the time to the run's stop, and gives up
/// those in flight at the run's stop. On the stand-in (its own clock: moto's answers slow
/// down with the other tests' load), every answer takes 0.5 s and one OU holds 200 accounts,
/// 10 pages: the walk would take 6.5 s. With `--deadline 6s` (the run's stop at 5.4 s, the
/// walk's at 2.7 s) the OU's pages after the walk's stop are not read. The summary says so,
/// the run (of the management account alone, selected) writes its row in time, and fails
/// (exit 1): accounts were left without a row.
#[tokio::test(flavor = "multi_thread")]
async fn the_deadline_bounds_the_walk_and_the_summary_says_how_far_it_got() {
    let (out, took, summary, rows) = plan_by_6s(200, &["-a", DEFAULT_STAND_IN_ACCOUNT]);
    // The process's start and end are slow on a loaded test machine: the walk's own time is
    // the one held to the deadline; the whole run only roughly.
    assert!(took < Duration::from_secs(9), "{took:?}: {}", out.all());
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr
            .contains("stopped before its end, at half the time to the run's stop: 1 OU of 2 read"),
        "{}",
        out.stderr
    );
    let walk = &summary["organization"];
    assert_eq!(walk["complete"], false, "{walk}");
    assert_eq!(walk["ous_walked"], 1, "{walk}");
    assert_eq!(walk["ous_left"], 1, "{walk}");
    assert!(walk["duration_ms"].as_u64().unwrap() < 5400, "{walk}");
    // Some of the OU's pages were read, not all: the accounts found, and the one selected.
    let found = walk["accounts"].as_u64().unwrap();
    assert!(found > 1 && found < 201, "{walk}");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["account_id"], DEFAULT_STAND_IN_ACCOUNT, "{rows:?}");
    assert_eq!(rows[0]["status"], "would-create", "{rows:?}");
    assert!(
        summary["why"]
            .as_str()
            .unwrap()
            .contains("the walk of the organization stopped before its end (1 of 2 OUs read"),
        "{summary}"
    );
}

/// `--deadline`, the walk streamed (no account named): the walk goes on while the accounts it
/// found run, until the run's stop (5.4 s); its last pages are not read. Every account found
/// has its row (its plan, or skipped where the stop came first), the summary says how far the
/// walk got, and the run ends as a deadline's stop ends it.
#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_walk_stops_with_the_run_at_the_deadline() {
    let (out, took, summary, rows) = plan_by_6s(300, &[]);
    assert!(took < Duration::from_secs(9), "{took:?}: {}", out.all());
    // The stop left targets unstarted: the run ends as a deadline's stop does (130).
    assert_eq!(out.code, 130, "{}", out.all());
    assert!(
        out.stderr.contains("runs as the walk finds it"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("stopped before its end, at the run's stop: 1 OU of 2 read"),
        "{}",
        out.stderr
    );
    let walk = &summary["organization"];
    assert_eq!(walk["complete"], false, "{walk}");
    // The walk went on while the targets ran, up to the run's stop: more pages than half
    // the time would have read, not all 16.
    let found = walk["accounts"].as_u64().unwrap();
    assert!(found > 100 && found < 301, "{walk}");
    let ids: BTreeSet<&str> = rows.iter().map(|r| r["account_id"].as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "one row per account (one region)");
    assert!(ids.contains(DEFAULT_STAND_IN_ACCOUNT), "{ids:?}");
    assert!(
        rows.len() as u64 <= found,
        "{} rows, {found} found",
        rows.len()
    );
    assert!(
        rows.iter().any(|r| r["status"] == "would-create"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| ["would-create", "skipped", "failed"].contains(&r["status"].as_str())),
        "{rows:?}"
    );
    assert_eq!(
        summary["total_targets"].as_u64(),
        Some(rows.len() as u64),
        "{summary}"
    );
}

/// `--org-tags-cache`: the first run reads every account's tags and keeps them; the next reads
/// only the `--org-tags-refresh` read longest ago and takes the rest from the cache, with the
/// same targets and the same rendered preferences, and `-t` selecting by a cached tag. A
/// cache that cannot be read is a warning, and every tag is read again.
#[tokio::test(flavor = "multi_thread")]
async fn the_tags_cache_reads_only_the_tags_it_has_not_seen_and_the_stalest() {
    let url = emulator().url.clone();
    let (_, active) = the_org(&url).await;
    let everyone: BTreeSet<String> = active
        .values()
        .flatten()
        .cloned()
        .chain([MANAGEMENT.to_string()])
        .collect();
    let dev: BTreeSet<String> = active["Development"].iter().cloned().collect();
    let dir = Dir::new();
    let proxy = Proxy::start(&url);
    let mut with_team = desired();
    with_team["inputs"]["s3KeyPrefix"] = "sessions/{team}".into();
    let prefs = dir.write("team.json", &with_team.to_string());
    let cache = dir.path("org-tags.json");
    let run = |name: &str, extra: &[&str]| {
        let report = dir.path(&format!("{name}.csv"));
        let summary = dir.path(&format!("{name}-summary.json"));
        let mut a = command_line("plan", &prefs, &report, &proxy.url);
        a.extend(["--org", "-r", "us-east-1", "--document-name", "CachePrefs"]);
        a.extend(["--var", "team=platform"]);
        a.extend(["--org-tags-cache", cache.to_str().unwrap()]);
        a.extend(["--summary-json", summary.to_str().unwrap()]);
        a.extend(extra);
        proxy.clear();
        let out = ssm_prefs(&a);
        assert_eq!(out.code, 0, "{}", out.all());
        let rows: BTreeMap<String, String> = read_report(&report)
            .into_iter()
            .map(|r| (r["account_id"].clone(), r["content_sha256"].clone()))
            .collect();
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        let tags_calls = organizations_calls(&proxy)
            .get("ListTagsForResource")
            .copied()
            .unwrap_or(0);
        (out, rows, summary["organization"].clone(), tags_calls)
    };

    // No cache yet: every account's tags read, and kept.
    let (out, first, walk, calls) = run("first", &["--org-tags-refresh", "5"]);
    assert_eq!(first.keys().cloned().collect::<BTreeSet<_>>(), everyone);
    assert_eq!(calls, everyone.len(), "{}", out.stderr);
    assert_eq!(walk["tags_cached"], 0, "{walk}");
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_eq!(kept["version"], 1);
    let kept_ids: BTreeSet<String> = kept["accounts"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(kept_ids, everyone);
    let dev_id = dev.iter().next().unwrap();
    assert!(
        kept["accounts"][dev_id]["tags"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(["env", "dev"])),
        "{kept}"
    );
    assert!(
        out.stderr.contains(&format!(
            "the tags of 0 accounts taken from the cache, {} read; {} accounts kept",
            everyone.len(),
            everyone.len()
        )),
        "{}",
        out.stderr
    );

    // With the cache: only the 5 read longest ago are read again; the same targets, rendered
    // the same.
    let (out, second, walk, calls) = run("second", &["--org-tags-refresh", "5"]);
    assert_eq!(calls, 5, "{}", out.stderr);
    assert_eq!(walk["tags_cached"], everyone.len() - 5, "{walk}");
    assert_eq!(second, first);
    // The default refresh (500) reads every cached entry of an organization this small again.
    let (_, _, _, calls) = run("default", &[]);
    assert_eq!(calls, everyone.len());

    // -t selects by a tag taken from the cache.
    let (_, selected, walk, calls) = run("dev", &["--org-tags-refresh", "0", "-t", "env:dev"]);
    assert_eq!(calls, 0);
    assert_eq!(walk["tags_cached"], everyone.len(), "{walk}");
    assert_eq!(selected.keys().cloned().collect::<BTreeSet<_>>(), dev);

    // A cache that is not one: a warning, every tag read again, and the cache written anew.
    std::fs::write(&cache, "{not json").unwrap();
    let (out, again, _, calls) = run("broken", &["--org-tags-refresh", "0"]);
    assert!(
        out.stderr.contains("org-tags.json: not a tags cache"),
        "{}",
        out.stderr
    );
    assert_eq!(calls, everyone.len());
    assert_eq!(again, first);
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_eq!(kept["accounts"].as_object().unwrap().len(), everyone.len());

    // Bad input: the flags go together, and with --org; no AWS call.
    proxy.clear();
    let report = dir.path("bad.csv");
    for (extra, says) in [
        (
            vec!["--org", "-r", "us-east-1", "--org-tags-refresh", "5"],
            "--org-tags-refresh: goes with --org-tags-cache",
        ),
        (
            vec!["-i", "x.yml", "--org-tags-cache", "c.json"],
            "--org-tags-cache: goes with --org",
        ),
        (
            vec![
                "--org",
                "-r",
                "us-east-1",
                "--org-tags-cache",
                "s3://bucket-only",
            ],
            "is not s3://BUCKET/KEY",
        ),
    ] {
        let mut a = command_line("plan", &prefs, &report, &proxy.url);
        a.extend(extra);
        let out = ssm_prefs(&a);
        assert_eq!(out.code, 2, "{}", out.all());
        assert!(out.stderr.contains(says), "{}", out.stderr);
    }
    assert!(proxy.seen().is_empty());
}

/// Organizations' `TagResource` and `UntagResource` events: the account is applied again with
/// its tags read now, never the cache's, alone or narrowing `--org`; the cache keeps what was
/// read; tags that cannot be read block the account's targets. An organization of its own: the
/// tags change under the test.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_event_applies_its_account_with_the_tags_read_again() {
    let emulator = private_emulator();
    let url = emulator.url.clone();
    let org = Organization::create(organizations(&url).await).await;
    let id = org.create_account("payments", "aws+pay@example.com").await;
    let dir = Dir::new();
    let proxy = Proxy::start(&url);
    let mut with_team = desired();
    with_team["inputs"]["s3KeyPrefix"] = "sessions/{team}".into();
    let prefs = dir.write("team.json", &with_team.to_string());
    let cache = dir.path("org-tags.json");
    let doc = "TagEventPrefs";
    let event = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/events")
            .join(name);
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace("111122223333", &id);
        dir.write(name, &text)
    };
    let tagged = event("organizations-tag-resource.json");
    let untagged = event("organizations-untag-resource.json");
    let run = |name: &str, source: &[&str]| {
        let report = dir.path(&format!("{name}.csv"));
        let mut a = command_line("apply", &prefs, &report, &proxy.url);
        a.extend(source);
        a.extend([
            "-r",
            "us-east-1",
            "--document-name",
            doc,
            "--wait-ready",
            "0",
        ]);
        a.extend(["--var", "team=platform"]);
        a.extend(["--org-tags-cache", cache.to_str().unwrap()]);
        proxy.clear();
        let out = ssm_prefs(&a);
        (out, read_report(&report))
    };
    let content = || async {
        default_doc(&ssm_in(&url, &id, "us-east-1").await, doc)
            .await
            .expect("written")
            .1
    };
    let cached = || -> serde_json::Value {
        let kept: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
        kept["accounts"][&id]["tags"].clone()
    };

    // Tagged: the event alone applies the account with its tag's value, and the cache keeps it.
    org.tag(&id, "ssm-prefs:team", "payments").await;
    let (out, rows) = run("tagged", &["--event", tagged.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0]["account_id"].as_str(), rows[0]["status"].as_str()),
        (id.as_str(), "created")
    );
    assert!(content().await.contains("sessions/payments"));
    assert_eq!(
        proxy.count("ListTagsForResource"),
        1,
        "{:?}",
        proxy.counts()
    );
    assert_eq!(
        cached(),
        serde_json::json!([["ssm-prefs:team", "payments"]])
    );

    // Untagged: --var's value again, and the cache says so.
    org.untag(&id, "ssm-prefs:team").await;
    let (out, rows) = run("untagged", &["--event", untagged.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(rows[0]["status"], "updated", "{rows:?}");
    assert!(content().await.contains("sessions/platform"));
    assert_eq!(cached(), serde_json::json!([]));

    // With --org: the cache filled by a walk, then the tag changed. The event's account alone
    // is read again (every other account's tags from the cache) and written with the new value.
    let (out, _) = run("walk", &["--org", "--org-tags-refresh", "0"]);
    assert_eq!(out.code, 0, "{}", out.all());
    org.tag(&id, "ssm-prefs:team", "ops").await;
    let (out, rows) = run(
        "org-event",
        &[
            "--org",
            "--event",
            tagged.to_str().unwrap(),
            "--org-tags-refresh",
            "0",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["status"], "updated", "{rows:?}");
    assert!(content().await.contains("sessions/ops"));
    // The cache said no team: the value shows the event's account was read, the count that
    // it alone was.
    assert_eq!(
        proxy.count("ListTagsForResource"),
        1,
        "{:?}",
        proxy.counts()
    );
    assert_eq!(cached(), serde_json::json!([["ssm-prefs:team", "ops"]]));

    // -t selects the events' accounts by the tags read now.
    let (out, rows) = run(
        "selected",
        &[
            "--event",
            tagged.to_str().unwrap(),
            "-t",
            "ssm-prefs:team:ops",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["status"], "unchanged", "{rows:?}");

    // Tags that cannot be read: the account's targets are blocked, never written with --var's
    // value, and the cache keeps what it had.
    org.untag(&id, "ssm-prefs:team").await;
    proxy.fail_first(
        "ListTagsForResource",
        usize::MAX,
        400,
        "AccessDeniedException",
    );
    let (out, rows) = run("denied", &["--event", untagged.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(
        (rows[0]["status"].as_str(), rows[0]["error_code"].as_str()),
        ("blocked", "AccountTagsUnknown"),
        "{rows:?}"
    );
    assert!(
        rows[0]["error_message"].contains("fills {team}"),
        "{rows:?}"
    );
    assert!(
        out.stderr.contains("its tags are not known"),
        "{}",
        out.stderr
    );
    assert!(content().await.contains("sessions/ops"), "not written");
    assert_eq!(cached(), serde_json::json!([["ssm-prefs:team", "ops"]]));
}

//! A fleet of fresh accounts on the emulator: its inventory and preferences files in a temp
//! dir, a counting proxy in front of the emulator, and the binary run against it.
//!
//! One struct for every test file; a file's own steps (waves.rs's `wave` column, lifecycle.rs's
//! seeded kinds) are methods in an `impl Fleet` of that file.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::emulator::emulator;
use crate::support::fixtures::*;
use crate::support::proxy::{Proxy, WRITES};

/// What a target holds before the run under test (lifecycle.rs seeds the other kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No document.
    Missing,
    /// A document someone else made in the console: untagged, with an input of its own.
    Foreign,
    /// A document an earlier apply of this tool wrote (so tagged), with older preferences.
    Owned,
}

pub struct Fleet {
    /// The emulator, straight (not through the proxy).
    pub url: String,
    pub ids: Vec<String>,
    pub regions: Vec<&'static str>,
    /// What each account holds before the test's run: all `Missing` from [`Fleet::new`].
    pub kinds: Vec<Kind>,
    pub dir: Dir,
    pub inv: PathBuf,
    pub prefs: PathBuf,
    pub proxy: Proxy,
}

impl Fleet {
    /// `n` fresh accounts, each in every region, named acct-0… in the inventory; `desired()`
    /// as the preferences file.
    pub fn new(n: usize, regions: &[&'static str]) -> Fleet {
        let ids = accounts(n);
        let inv = inventory(&ids, regions);
        Fleet::with_files(ids, regions, &inv, &desired().to_string())
    }

    /// These accounts (from [`accounts`]), set up by the caller, with this inventory and these
    /// preferences (a test file's own, such as preflight.rs's per-account variables).
    pub fn with_files(
        ids: Vec<String>,
        regions: &[&'static str],
        inventory: &str,
        preferences: &str,
    ) -> Fleet {
        let url = emulator().url.clone();
        let dir = Dir::new();
        let inv = dir.write("inv.yml", inventory);
        let prefs = dir.write("prefs.json", preferences);
        let proxy = Proxy::start(&url);
        Fleet {
            url,
            kinds: vec![Kind::Missing; ids.len()],
            ids,
            regions: regions.to_vec(),
            dir,
            inv,
            prefs,
            proxy,
        }
    }

    /// The fleet's parts, for a test that names them on its own: the emulator's URL, the
    /// accounts, the temp dir, the inventory, the preferences and the proxy.
    pub fn parts(self) -> (String, Vec<String>, Dir, PathBuf, PathBuf, Proxy) {
        (
            self.url, self.ids, self.dir, self.inv, self.prefs, self.proxy,
        )
    }

    /// Accounts × regions.
    pub fn target_count(&self) -> usize {
        self.ids.len() * self.regions.len()
    }

    /// Every target with the index of its account.
    pub fn targets(&self) -> Vec<(usize, (String, String))> {
        let mut out = vec![];
        for i in 0..self.ids.len() {
            for r in &self.regions {
                out.push((i, (self.ids[i].clone(), r.to_string())));
            }
        }
        out
    }

    /// `CMD -i INV -p PREFS -o REPORT --endpoint-url PROXY` (+ `--yes` for apply), for a test
    /// that adds to them or starts the binary itself.
    pub fn args(&self, cmd: &str, report: &Path) -> Vec<String> {
        let mut args: Vec<String> = [
            cmd,
            "-i",
            path_str(&self.inv),
            "-p",
            path_str(&self.prefs),
            "-o",
            path_str(report),
            "--endpoint-url",
            &self.proxy.url,
        ]
        .map(String::from)
        .to_vec();
        if cmd == "apply" {
            args.push("--yes".into());
        }
        args
    }

    /// `cmd` (plan, apply — with --yes — or audit) through the proxy, its report at `report`.
    pub fn run_to(&self, cmd: &str, report: &Path, extra: &[&str]) -> Run {
        run(cmd, &self.proxy, &self.inv, &self.prefs, report, extra)
    }

    /// `cmd` through the proxy, its report `report` in the dir.
    pub fn run(&self, cmd: &str, report: &str, extra: &[&str]) -> (Run, PathBuf) {
        let path = self.dir.path(report);
        (self.run_to(cmd, &path, extra), path)
    }

    /// `apply --yes` through the proxy, its report `report` in the dir.
    pub fn apply(&self, report: &str, extra: &[&str]) -> (Run, PathBuf) {
        self.run("apply", report, extra)
    }

    /// `rollback --from` this apply report through the proxy; its report in the dir.
    pub fn rollback(&self, from: &Path) -> (Run, PathBuf) {
        let path = self.dir.path("rollback.csv");
        let out = rollback_from(from, &path, &self.proxy.url);
        (out, path)
    }

    /// The write operations (AddTagsToResource included) the proxy saw in this account.
    pub fn writes_in(&self, account: &str) -> Vec<String> {
        self.proxy
            .seen()
            .into_iter()
            .filter(|s| s.account == account)
            .filter(|s| {
                WRITES.contains(&s.operation.as_str()) || s.operation == "AddTagsToResource"
            })
            .map(|s| s.operation)
            .collect()
    }

    /// Every target holds the desired content as its default version, as the report says.
    pub async fn assert_converged(&self, report: &Path) {
        let rows = rows_by_target(report);
        assert_eq!(rows.len(), self.target_count());
        for ((id, region), found) in read_all(&self.url, &self.ids, &self.regions, DOC).await {
            let (version, content) =
                found.unwrap_or_else(|| panic!("{id}/{region} has no document"));
            assert_eq!(serde_json::from_str::<Value>(&content).unwrap(), desired());
            let row = &rows[&(id.clone(), region.clone())];
            assert!(
                ["created", "updated", "unchanged"].contains(&row["status"].as_str()),
                "{row:?}"
            );
            assert_eq!(row["document_version"], version);
            assert_eq!(row["content_sha256"], sha256_hex(content.as_bytes()));
        }
    }

    /// An audit of the whole fleet: every target compliant, exit 0.
    pub fn assert_audit_compliant(&self, report: &str) {
        let (out, path) = self.run("audit", report, &[]);
        assert_eq!(out.code, 0, "{}", out.all());
        let rows = rows_by_target(&path);
        assert_eq!(rows.len(), self.target_count());
        for (k, row) in &rows {
            assert_eq!(
                (row["status"].as_str(), row["error_code"].as_str()),
                ("compliant", ""),
                "{k:?}: {row:?}"
            );
        }
    }
}

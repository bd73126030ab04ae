//! The README's set-up commands on a machine that lacks what they need: as a user who is not
//! root and has no Chromium, `scripts/prerequisites.sh` (which `scripts/test.sh` sources once
//! its formatting and lint gates pass) names what to install in one line and never calls
//! apt-get.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Where `tool` is installed here.
fn installed(tool: &str) -> String {
    let found = Command::new("bash")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .expect("bash runs");
    let real = String::from_utf8_lossy(&found.stdout).trim().to_string();
    assert!(!real.is_empty(), "{tool} is not installed here");
    real
}

/// `tools` linked into `dir` from where they are now, so a PATH of `dir` holds only them.
fn path_of(dir: &Path, tools: &[&str]) {
    for tool in tools {
        std::os::unix::fs::symlink(installed(tool), dir.join(tool)).unwrap();
    }
}

#[test]
fn test_sh_without_chromium_as_a_user_names_it_and_calls_no_apt_get() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    path_of(&bin, &["dirname", "id"]);
    // An apt-get that only leaves a mark: the script must not reach it.
    let called = dir.path().join("apt-get-was-called");
    let fake = bin.join("apt-get");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\ntouch {}\nexit 0\n", called.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The temp dir is root's: the user must be able to walk it to run the fake tools.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // The scripts copied where the user can read them (the checkout may sit under a home
    // directory only root can enter); test.sh stops at its prerequisites, before anything else.
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("scripts")).unwrap();
    // test.sh runs the formatting and lint gates first (cargo), then sources this script: it is
    // what meets a fresh machine without the browser.
    let script = "prerequisites.sh";
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(script);
    std::fs::copy(&from, repo.join("scripts").join(script)).unwrap();
    std::fs::set_permissions(&repo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = repo.display();
    let out = Command::new(installed("setpriv"))
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(installed("bash"))
        .arg(format!("{root}/scripts/prerequisites.sh"))
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", dir.path())
        .output()
        .expect("setpriv (util-linux) runs the script as nobody");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one line, naming what to install:\n{stderr}"
    );
    assert!(
        lines[0].contains("Chromium or Chrome") && lines[0].contains("apt-get install chromium"),
        "{stderr}"
    );
    assert!(!called.exists(), "apt-get was called as a user");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

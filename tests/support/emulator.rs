//! Starts moto's server once per test binary on a free loopback port, and stops it when the
//! binary exits (the launcher exits when its stdin, held here, closes).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub struct Emulator {
    pub url: String,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

const FIX: &str = "run `bash scripts/test.sh` once: it creates .venv/ with the pinned moto[server] the tests need";

/// The emulator of this test binary, started on first use.
pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(start)
}

/// An emulator of the test's own, stopped when dropped: for a test that needs state no other
/// test may share (moto allows one organization per management account).
pub fn private_emulator() -> Emulator {
    start()
}

fn start() -> Emulator {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the emulator is not installed ({} is missing): {FIX}",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(root.join("tests/support/emulator.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start the emulator with {}: {e}: {FIX}",
                python.display()
            )
        });
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    let Some(port) = line.trim().strip_prefix("ready ") else {
        let _ = child.kill();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        panic!("the emulator did not start (it printed {line:?}); its stderr:\n{err}\n{FIX}");
    };
    // Drain stderr so moto never blocks on a full pipe.
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    }
    let stdin = child.stdin.take().expect("piped");
    Emulator {
        url: format!("http://127.0.0.1:{port}"),
        _child: Mutex::new(child),
        _stdin: Mutex::new(stdin),
    }
}

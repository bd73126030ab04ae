//! The real binary on a pseudo-terminal: `script` (util-linux) runs it on one, what a test
//! types is typed there, and the screen is everything the tool wrote to it. For the questions
//! the tool asks only on a terminal (the confirmation, the wave question) and Ctrl-C typed at
//! them.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fixtures::ssm_prefs_command;

/// The binary running on a pseudo-terminal, as [`ssm_prefs_command`] runs it.
pub struct Terminal {
    child: Child,
    keyboard: Option<ChildStdin>,
    screen: Arc<Mutex<String>>,
}

impl Terminal {
    /// Starts `ssm-prefs ARGS` on a pseudo-terminal, with the environment
    /// [`ssm_prefs_command`] gives it. The arguments go as they are: add `--no-preflight`
    /// where the fleet names no real bucket.
    pub fn run(args: &[String]) -> Terminal {
        let inner = ssm_prefs_command(args);
        let line = std::iter::once(env!("CARGO_BIN_EXE_ssm-prefs"))
            .chain(args.iter().map(String::as_str))
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qfec", &line, "/dev/null"]).env_clear();
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "`script` (util-linux) runs the binary on a pseudo-terminal: apt-get install bsdutils",
            );
        let screen = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().unwrap();
        let seen = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let keyboard = child.stdin.take();
        Terminal {
            child,
            keyboard,
            screen,
        }
    }

    /// What the tool wrote to the terminal so far.
    pub fn screen(&self) -> String {
        self.screen.lock().unwrap().clone()
    }

    /// Waits until the screen shows `text`; panics, with the screen, after `limit` or when the
    /// tool ended without showing it.
    pub fn wait_for(&mut self, text: &str, limit: Duration) {
        let started = Instant::now();
        while !self.screen.lock().unwrap().contains(text) {
            if started.elapsed() > limit || self.child.try_wait().unwrap().is_some() {
                let _ = self.child.kill();
                panic!("no {text:?} on the terminal: {}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `keys` (`b"\x03"` is Ctrl-C, `b"n\r"` a no and Enter).
    pub fn type_keys(&mut self, keys: &[u8]) {
        let keyboard = self
            .keyboard
            .as_mut()
            .expect("the terminal's input is open");
        keyboard.write_all(keys).unwrap();
        keyboard.flush().unwrap();
    }

    /// Waits for the tool to end; kills it and panics, with the screen, after `limit`.
    pub fn wait_exit(&mut self, limit: Duration, what: &str) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.keyboard = None;
                return status;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{what}: still running after {limit:?}: {}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Terminal {
    /// A failed test leaves no tool running behind it.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

//! The real binary on a pseudo-terminal: `script` (util-linux) runs it on one, what a test
//! types is typed there, and the screen is everything the tool wrote to it. For the questions
//! the tool asks only on a terminal (the confirmation, the wave question) and Ctrl-C typed at
//! them.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::fixtures::ssm_prefs_command;

/// The binary running on a pseudo-terminal, as [`ssm_prefs_command`] runs it.
pub struct Terminal {
    child: Child,
    keyboard: Option<ChildStdin>,
    /// The screen, and a Condvar woken as each piece of it arrives and when it closes.
    screen: Arc<(Mutex<Screen>, Condvar)>,
}

/// What the tool wrote to the terminal, and whether the terminal closed (the tool ended).
#[derive(Default)]
struct Screen {
    text: String,
    closed: bool,
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
        let screen = Arc::new((Mutex::new(Screen::default()), Condvar::new()));
        let mut stdout = child.stdout.take().unwrap();
        let seen = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let (lock, arrived) = &*seen;
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]);
                lock.lock().unwrap().text.push_str(&text);
                arrived.notify_all();
            }
            lock.lock().unwrap().closed = true;
            arrived.notify_all();
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
        self.screen.0.lock().unwrap().text.clone()
    }

    /// Waits, at most `limit`, while `pending` holds of the screen: woken by each write to
    /// it and by its close. Whether `pending` still holds at the end.
    fn wait_while(&self, limit: Duration, pending: impl Fn(&Screen) -> bool) -> bool {
        let (lock, arrived) = &*self.screen;
        let screen = lock.lock().unwrap();
        let (screen, _) = arrived
            .wait_timeout_while(screen, limit, |s| pending(s))
            .unwrap();
        pending(&screen)
    }

    /// Waits until the screen shows `text`; panics, with the screen, after `limit` or when the
    /// tool ended without showing it.
    pub fn wait_for(&mut self, text: &str, limit: Duration) {
        if !self.wait_while(limit, |s| !s.text.contains(text) && !s.closed)
            && self.screen().contains(text)
        {
            return;
        }
        let _ = self.child.kill();
        panic!("no {text:?} on the terminal: {}", self.screen());
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
        // The terminal closes when the tool (and `script` around it) ends.
        if self.wait_while(limit, |s| !s.closed) {
            let _ = self.child.kill();
            let _ = self.child.wait();
            panic!("{what}: still running after {limit:?}: {}", self.screen());
        }
        self.keyboard = None;
        self.child.wait().unwrap()
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

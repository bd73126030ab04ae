//! What a command knows of who runs it, read once where the process starts (src/main.rs) or
//! made by Lambda mode: whether stdin is a terminal, and the command line as shown.

/// Who runs the command: read once in `main` (the process's stdin and arguments), or made by
/// Lambda mode for each invocation's run.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Whether stdin is a terminal: apply and rollback ask there, and need `--yes` elsewhere.
    pub(crate) interactive: bool,
    /// The command line as the HTML page and the log show it (external ids redacted).
    pub(crate) command_line: String,
}

impl Caller {
    /// A process's caller: whether its stdin is a terminal, and its arguments as typed.
    pub fn new(
        interactive: bool,
        args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>,
    ) -> Caller {
        Caller {
            interactive,
            command_line: redacted_command_line(args),
        }
    }

    /// Lambda mode's: no terminal, and the command line the invocation stands for.
    pub(crate) fn invoked(command_line: String) -> Caller {
        Caller {
            interactive: false,
            command_line,
        }
    }
}

/// The command line as typed, for the HTML report, with external ids replaced: they are
/// shared secrets between the hub and the member accounts.
pub(crate) fn redacted_command_line(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString>>,
) -> String {
    let mut out = vec![];
    let mut hide_next = false;
    // Lossy: a non-UTF-8 argument (a path) must not panic the page's header. The program is
    // named as a person types it, not by where this machine keeps it.
    for (i, arg) in args.into_iter().map(Into::into).enumerate() {
        let arg = match i {
            0 => std::path::Path::new(&arg)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "ssm-prefs".into()),
            _ => arg.to_string_lossy().into_owned(),
        };
        if hide_next {
            out.push("<redacted>".to_string());
            hide_next = false;
        } else if arg == "--external-id" {
            hide_next = true;
            out.push(arg);
        } else if arg.starts_with("--external-id=") {
            out.push("--external-id=<redacted>".into());
        } else {
            out.push(arg);
        }
    }
    out.join(" ")
}

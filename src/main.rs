//! Entry point: parse the command line, check it, run the command, map the outcome to an
//! exit code.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

use ssm_prefs::cli::Cli;
use ssm_prefs::settings::{self, Caller, Settings};
use ssm_prefs::terminal::printer::Printer;

// The SDK allocates for every header, config layer and type-erased value of every call: with
// mimalloc the tool spends measurably less CPU per target than with glibc's allocator
// (scripts/bench.sh, docs/operations.md "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Read once, here: the run is handed what it needs of the process.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let interactive = std::io::stdin().is_terminal();
    if ssm_prefs::lambda::started_by_lambda(args.len()) {
        return serve_lambda();
    }
    let cli = Cli::parse_from(&args);
    let printer = Printer::new(settings::verbosity(&cli));
    print_panics_once(printer.clone());
    if settings::summary_json_on_stdout(&cli) {
        printer.keep_stdout_for_product();
    }
    let settings = match Settings::from_cli(&cli, interactive) {
        Ok(s) => s,
        Err(e) => {
            printer.error(&e.to_string());
            return ExitCode::from(ssm_prefs::model::exit_code(&Err(e)));
        }
    };
    // One thread unless the concurrency asks for more than one core's worth of calls
    // (Settings::threads; docs/operations.md "Performance").
    let mut builder = match settings.threads() {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            // As deep as the main thread's: Security Hub's finding type is deeply nested, and
            // reading one back (audit --security-hub) outgrows the default 2 MiB unoptimized.
            b.worker_threads(n).thread_stack_size(8 << 20);
            b
        }
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            printer.error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    let caller = Caller::new(interactive, args);
    let run = std::panic::AssertUnwindSafe(|| {
        runtime.block_on(ssm_prefs::run(&settings, &printer, &caller))
    });
    let Ok(result) = std::panic::catch_unwind(run) else {
        // Outside a target's task: the run itself stopped, its report unfinished.
        printer.error("internal error: the run stopped on a bug in ssm-prefs (said above); its report is not complete");
        return ExitCode::from(101);
    };
    // Ctrl-C at the confirmation prompt leaves its stdin read (a blocking task) waiting for a
    // line; dropping the runtime would wait with it, so the tool would not exit until Enter.
    runtime.shutdown_background();
    if let Err(e) = &result {
        printer.error(&e.to_string());
    }
    ExitCode::from(ssm_prefs::model::exit_code(&result))
}

/// Lambda mode (src/lambda/): its lines plain, on as many threads as the function has cores
/// (its memory setting decides them).
fn serve_lambda() -> ExitCode {
    let printer = Printer::new(settings::Verbosity::Default);
    print_panics_once(printer.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(8 << 20)
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(ssm_prefs::lambda::serve(&printer)),
        Err(e) => Err(format!("cannot start the async runtime: {e}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            printer.error(&e);
            ExitCode::from(2)
        }
    }
}

/// A panic is a bug in this tool. The first one is one line through the printer; later ones
/// print nothing, so a bug that hits every target cannot bury the run's output in backtraces.
/// A target whose task panicked still ends as its own failed row (`InternalError`, with the
/// panic's message: src/run/fanout.rs); one that stops the run is said by `main` too.
/// `RUST_BACKTRACE` set (not `0`) adds the first one's backtrace.
fn print_panics_once(printer: Printer) {
    let first = AtomicBool::new(true);
    let backtrace = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        if first.swap(false, Ordering::SeqCst) {
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let what = info.payload_as_str().unwrap_or("a panic without a message");
            printer.error(&format!(
                "internal error{at}: {}: a bug in ssm-prefs, please report it (later ones are not printed; each target one stopped is a failed row, InternalError)",
                what.replace('\n', " ")
            ));
            if backtrace {
                printer.error(&std::backtrace::Backtrace::force_capture().to_string());
            }
        }
    }));
}

//! Lambda mode: the binary started as a function's `bootstrap` (no arguments, and
//! `AWS_LAMBDA_RUNTIME_API` set) serves invocations through AWS's runtime crate
//! (docs/deploy.md).

mod function;
mod invocation;

use lambda_runtime::tower::util::MapRequestLayer;
use lambda_runtime::{Diagnostic, LambdaEvent, LambdaInvocation, Runtime, service_fn};
use serde_json::Value;

use crate::terminal::printer::Printer;

/// Whether Lambda started this process: no arguments (`args`: the program's name and its
/// arguments, counted), and the runtime API to serve.
pub fn started_by_lambda(args: usize) -> bool {
    args == 1 && std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Serves invocations until the runtime API goes away. The function's settings are checked
/// once: a bad one is said at start and fails every invocation with that line, so that the
/// function's error alarm and dead-letter queue see it (a function that cannot start would
/// only say so at each cold start).
pub async fn serve(printer: &Printer) -> Result<(), String> {
    // The runtime crate panics without these; Lambda always sets them.
    for var in [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
    ] {
        if std::env::var_os(var).is_none() {
            return Err(format!(
                "{var} is not set: Lambda sets it; outside Lambda, run ssm-prefs with a command (ssm-prefs --help)"
            ));
        }
    }
    let function = function::Function::from_env();
    match &function {
        Ok(_) => printer.say("ssm-prefs: serving Lambda invocations"),
        Err(e) => printer.error(e),
    }
    let handler = |event: LambdaEvent<Value>| {
        let function = &function;
        async move {
            match function {
                Ok(f) => invocation::serve(f, printer, event).await,
                Err(e) => {
                    printer.error(e);
                    Err(Diagnostic {
                        error_type: "BadSetting".into(),
                        error_message: e.clone(),
                    })
                }
            }
        }
    };
    Runtime::new(service_fn(handler))
        .layer(MapRequestLayer::new(mark_not_json))
        .run()
        .await
        .map_err(|e| format!("the Lambda runtime API failed: {e}"))
}

/// A payload that is not JSON (or empty) would be refused by the runtime crate before the
/// handler sees it, with an error type of its own and no line in the log: it is handed on as
/// an object that says so, which the handler answers as any other payload it does not take.
fn mark_not_json(mut invocation: LambdaInvocation) -> LambdaInvocation {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&invocation.body) {
        let what = if invocation.body.iter().all(u8::is_ascii_whitespace) {
            "empty".to_string()
        } else {
            // The parser's position only: the payload's text is not echoed.
            format!("not JSON ({} bytes: {e})", invocation.body.len())
        };
        invocation.body = serde_json::to_vec(&serde_json::json!({ invocation::NOT_JSON: what }))
            .expect("a string map serializes")
            .into();
    }
    invocation
}

//! A local Lambda Runtime API, as Lambda serves it to a function's `bootstrap`: it hands out
//! the invocations a test queues (`GET /2018-06-01/runtime/invocation/next`, with the request
//! id and deadline headers; held open while none is queued) and records the response or
//! error the function posts back for each (`…/invocation/ID/response`, `…/ID/error`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// What the function answered to one invocation.
#[derive(Debug, Clone)]
pub enum Answer {
    /// `…/response`: the handler's result, as JSON.
    Response(Value),
    /// `…/error`: Lambda's error object (`errorType`, `errorMessage`).
    Error { error_type: String, message: String },
}

impl Answer {
    /// The response; panics with the error otherwise.
    pub fn response(&self) -> &Value {
        match self {
            Answer::Response(v) => v,
            Answer::Error {
                error_type,
                message,
            } => panic!("the invocation failed: {error_type}: {message}"),
        }
    }

    /// The error's type and message; panics with the response otherwise.
    pub fn error(&self) -> (&str, &str) {
        match self {
            Answer::Error {
                error_type,
                message,
            } => (error_type, message),
            Answer::Response(v) => panic!("the invocation succeeded, with {v}"),
        }
    }
}

struct Queued {
    id: String,
    payload: Bytes,
    deadline_ms: u64,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    answers: HashMap<String, Answer>,
}

pub struct LambdaApi {
    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` gives it.
    pub address: String,
    state: Arc<Mutex<State>>,
    queued: Arc<Notify>,
    /// Woken each time the function posts an answer.
    answered: Arc<Notify>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl LambdaApi {
    /// Listens on a free loopback port, on the test's runtime.
    pub async fn start() -> LambdaApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        let state = Arc::new(Mutex::new(State::default()));
        let (queued, answered) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let (s, q, a) = (state.clone(), queued.clone(), answered.clone());
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = &mut stopped => return,
                    conn = listener.accept() => conn,
                };
                let Ok((stream, _)) = conn else { continue };
                let (s, q, a) = (s.clone(), q.clone(), a.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (s, q, a) = (s.clone(), q.clone(), a.clone());
                        async move { Ok::<_, Infallible>(serve(req, &s, &q, &a).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        LambdaApi {
            address,
            state,
            queued,
            answered,
            _stop: stop,
        }
    }

    /// Queues an invocation with this payload (sent as is: it need not be JSON) and this
    /// much time before its deadline; returns its request id.
    pub fn invoke(&self, payload: &str, timeout: Duration) -> String {
        let mut state = self.state.lock().unwrap();
        // Unique across the tests' APIs, as Lambda's are.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{n:08x}-0000-4000-8000-{:012x}", std::process::id());
        let deadline = SystemTime::now() + timeout;
        state.queue.push_back(Queued {
            id: id.clone(),
            payload: Bytes::from(payload.to_string()),
            deadline_ms: deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64,
        });
        drop(state);
        self.queued.notify_one();
        id
    }

    /// The function's answer to the invocation `id`, waited for up to `limit`: woken by each
    /// answer the function posts.
    pub async fn answer(&self, id: &str, limit: Duration) -> Answer {
        let wait = async {
            loop {
                // Registered before the look, so an answer posted in between still wakes it.
                let answered = self.answered.notified();
                tokio::pin!(answered);
                answered.as_mut().enable();
                if let Some(a) = self.state.lock().unwrap().answers.get(id) {
                    return a.clone();
                }
                answered.await;
            }
        };
        tokio::time::timeout(limit, wait).await.unwrap_or_else(|_| {
            panic!("the function did not answer invocation {id} within {limit:?}")
        })
    }
}

async fn serve(
    req: Request<Incoming>,
    state: &Mutex<State>,
    queued: &Notify,
    answered: &Notify,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return status(404);
    };
    if rest == "invocation/next" {
        // Held open until an invocation is queued, as Lambda holds it.
        let next = loop {
            let popped = { state.lock().unwrap().queue.pop_front() };
            match popped {
                Some(q) => break q,
                None => queued.notified().await,
            }
        };
        return Response::builder()
            .status(200)
            .header("lambda-runtime-aws-request-id", &next.id)
            .header("lambda-runtime-deadline-ms", next.deadline_ms.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:ssm-prefs",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(next.payload))
            .unwrap();
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["invocation", id, "response"] => {
            let value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            state
                .lock()
                .unwrap()
                .answers
                .insert(id.to_string(), Answer::Response(value));
            answered.notify_waiters();
            status(202)
        }
        ["invocation", id, "error"] => {
            let value: Value = serde_json::from_slice(&body).unwrap_or_default();
            let text = |k: &str| value[k].as_str().unwrap_or_default().to_string();
            state.lock().unwrap().answers.insert(
                id.to_string(),
                Answer::Error {
                    error_type: text("errorType"),
                    message: text("errorMessage"),
                },
            );
            answered.notify_waiters();
            status(202)
        }
        _ => status(404),
    }
}

fn status(code: u16) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// The binary as Lambda starts `bootstrap`: no arguments, the runtime API's address and the
/// function's variables in its environment (beside the fake base credentials); killed when
/// dropped (Lambda freezes it between invocations; here it waits on the next one).
pub struct Function {
    child: Child,
    log: PathBuf,
}

impl Function {
    /// Started with `env`, its standard output in `log` and its standard error beside it.
    pub fn start(api: &LambdaApi, env: &BTreeMap<String, String>, log: &Path) -> Function {
        let mut cmd = super::fixtures::preflight_command(Vec::<&str>::new());
        cmd.envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "ssm-prefs")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .stdout(Stdio::from(std::fs::File::create(log).unwrap()))
            .stderr(Stdio::from(
                std::fs::File::create(log.with_extension("err")).unwrap(),
            ));
        Function {
            child: cmd.spawn().expect("start the function's bootstrap"),
            log: log.to_path_buf(),
        }
    }

    /// What it printed so far, standard output then standard error.
    pub fn log(&self) -> String {
        let out = std::fs::read_to_string(&self.log).unwrap_or_default();
        let err = std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default();
        format!("{out}{err}")
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The benchmark's counting proxy: the test suite's proxy (tests/support/proxy.rs) run as a
//! process, so scripts/bench.sh can put it in front of a fresh emulator per contender.
//!
//!   bench_proxy --upstream http://127.0.0.1:PORT [--upstream URL ...] [--latency-ms N]
//!
//! With several upstreams, each emulator holds a share of the accounts (Proxy::start_sharded).
//! Prints `ready PROXY_URL CONTROL_URL` once listening. On the control URL,
//! `GET /__bench/counts` answers the requests seen per operation as a JSON object and
//! `POST /__bench/reset` forgets them. The control endpoint has a port of its own because
//! the proxy's handler is private to its module: a second hop in front of it would cost the
//! emulator CPU it needs on a small machine. Runs until killed.

// The test support it runs is `pub` for the tests and examples alike.
#![allow(unreachable_pub)]
#![allow(dead_code)]
// The one-printer rule is the tool's; this bench tool prints its address and usage.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/support/proxy.rs"]
mod proxy;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

fn main() {
    let mut upstreams = vec![];
    let mut latency_ms = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--upstream" => upstreams.push(
                args.next()
                    .unwrap_or_else(|| usage("--upstream takes a URL")),
            ),
            "--latency-ms" => {
                latency_ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage("--latency-ms takes a whole number"))
            }
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    if upstreams.is_empty() {
        usage("--upstream URL is required");
    }
    let upstreams: Vec<&str> = upstreams.iter().map(String::as_str).collect();
    let proxy = proxy::Proxy::start_sharded(&upstreams);
    proxy.set_faults(proxy::Faults {
        latency: Duration::from_millis(latency_ms),
        ..Default::default()
    });
    let control = TcpListener::bind("127.0.0.1:0").expect("bind the control port");
    println!(
        "ready {} http://{}",
        proxy.url,
        control.local_addr().expect("control address")
    );
    // One short request at a time is all the script sends here.
    for stream in control.incoming().flatten() {
        let mut reader = BufReader::new(&stream);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            continue;
        }
        // Skip the headers; the control requests carry no body.
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let mut words = request_line.split_whitespace();
        let (status, body) = match (words.next(), words.next()) {
            (Some("GET"), Some("/__bench/counts")) => (
                "200 OK",
                serde_json::to_string(&proxy.counts()).expect("counts serialize"),
            ),
            (Some("POST"), Some("/__bench/reset")) => {
                proxy.clear();
                ("200 OK", "{}".to_string())
            }
            _ => ("404 Not Found", "{\"error\":\"unknown path\"}".to_string()),
        };
        let _ = write!(
            &stream,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "bench_proxy: {problem}\nusage: bench_proxy --upstream URL [--upstream URL ...] [--latency-ms N]"
    );
    std::process::exit(2)
}

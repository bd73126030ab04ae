//! The fast stand-in for AWS (tests/support/stand_in.rs) run as a process, for scripts/bench.sh:
//!
//!   stand_in [--latency-ms N] [--rate R --burst B] [--sts-rate R --sts-burst B] [--threads N]
//!            [--opted-in REGION,...] [--org-accounts N [--org-ous N] [--org-first ID] [--org-tags]]
//!            [--org-rate R --org-burst B] [--org-in-flight N] [--nodes-per-target N]
//!
//! `--rate`/`--burst` turn on SSM's token bucket per (account, region), `--sts-rate`/
//! `--sts-burst` the one bucket of all STS calls; a rate given without its burst takes the
//! default burst (SSM 10, STS 50), a burst without its rate the default rate (SSM 5/s, STS
//! 20/s). Prints `ready URL CONTROL_URL` once listening (the same server: the control paths
//! are never counted). `GET /__bench/counts` answers requests per operation as a JSON object,
//! with `throttled:OP` per operation, `bucket:sts` and `bucket:ssm-max`; `POST /__bench/reset`
//! forgets the counts and refills the buckets. `--opted-in` names the opt-in regions every
//! account has ENABLED in the Account API's answers (ListRegions, GetRegionOptStatus).
//! `--org-accounts` gives Organizations an organization of that many members (ids from
//! `--org-first` + 1, default 200000000001, as scripts/bench.sh's inventories), dealt into
//! `--org-ous` OUs, tagged with `ssm-prefs:log_bucket` where `--org-tags` says;
//! `--org-rate`/`--org-burst` turn on its bucket per caller (default 10/s burst 20) and
//! `--org-in-flight` its bound on a caller's requests in progress (`bucket:org` in the
//! counts: Organizations requests let through). `--nodes-per-target` answers preflight's
//! node check (and KMS's DescribeKey and GetKeyPolicy) with that many online nodes in every
//! account and region. Runs until killed.

// The test support it runs is `pub` for the tests and examples alike.
#![allow(unreachable_pub)]
#![allow(dead_code)]
// The one-printer rule is the tool's; this bench tool prints its address and usage.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/support/stand_in.rs"]
mod stand_in;

use std::time::Duration;

use stand_in::{ORG_RATE, Options, Rate, SSM_RATE, STS_RATE, StandIn};

fn main() {
    let mut options = Options::default();
    let (mut rate, mut burst, mut sts_rate, mut sts_burst) = (None, None, None, None);
    let (mut org_rate, mut org_burst) = (None, None);
    options.org.first = 200_000_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |what: &str| -> f64 {
            args.next()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .unwrap_or_else(|| usage(&format!("{what} takes a number >= 0")))
        };
        match a.as_str() {
            "--latency-ms" => {
                options.latency = Duration::from_secs_f64(number("--latency-ms") / 1000.0)
            }
            "--rate" => rate = Some(number("--rate")),
            "--burst" => burst = Some(number("--burst")),
            "--sts-rate" => sts_rate = Some(number("--sts-rate")),
            "--sts-burst" => sts_burst = Some(number("--sts-burst")),
            "--threads" => options.threads = number("--threads").max(1.0) as usize,
            "--opted-in" => {
                let list = args
                    .next()
                    .unwrap_or_else(|| usage("--opted-in takes REGION,..."));
                options.opted_in = list.split(',').map(str::to_string).collect();
            }
            "--org-accounts" => options.org.accounts = number("--org-accounts") as usize,
            "--org-ous" => options.org.ous = number("--org-ous") as usize,
            "--org-first" => options.org.first = number("--org-first") as u64,
            "--org-tags" => options.org.tags = true,
            "--org-rate" => org_rate = Some(number("--org-rate")),
            "--org-burst" => org_burst = Some(number("--org-burst")),
            "--org-in-flight" => {
                options.org_in_flight = Some(number("--org-in-flight").max(1.0) as usize)
            }
            "--nodes-per-target" => {
                options.nodes_per_target = number("--nodes-per-target") as usize
            }
            "-h" | "--help" => usage(""),
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    let bucket = |rate: Option<f64>, burst: Option<f64>, default: Rate| {
        (rate.is_some() || burst.is_some()).then(|| Rate {
            per_second: rate.unwrap_or(default.per_second),
            burst: burst.unwrap_or(default.burst).max(1.0),
        })
    };
    options.ssm_rate = bucket(rate, burst, SSM_RATE);
    options.sts_rate = bucket(sts_rate, sts_burst, STS_RATE);
    options.org_rate = bucket(org_rate, org_burst, ORG_RATE);
    let describe = |r: Option<Rate>| {
        r.map_or("off".to_string(), |r| {
            format!("{}/s burst {}", r.per_second, r.burst)
        })
    };
    eprintln!(
        "stand_in: latency {:?}, SSM bucket per (account, region) {}, STS bucket {}, {} thread(s), opted in: {}, organization of {} accounts in {} OUs{}, Organizations bucket per caller {}, in progress at most {}",
        options.latency,
        describe(options.ssm_rate),
        describe(options.sts_rate),
        options.threads,
        options.opted_in.join(","),
        options.org.accounts,
        options.org.ous,
        if options.org.tags { " (tagged)" } else { "" },
        describe(options.org_rate),
        options
            .org_in_flight
            .map_or("any".to_string(), |n| n.to_string()),
    );
    let server = StandIn::start_with(options);
    println!("ready {} {}", server.url, server.url);
    loop {
        std::thread::park();
    }
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "stand_in: {problem}\nusage: stand_in [--latency-ms N] [--rate R --burst B] [--sts-rate R --sts-burst B] [--threads N] [--opted-in REGION,...] [--org-accounts N [--org-ous N] [--org-first ID] [--org-tags]] [--org-rate R --org-burst B] [--org-in-flight N] [--nodes-per-target N]"
    );
    std::process::exit(2)
}

"""Turns scripts/bench.sh --huge's measurements into its table and bench/huge.csv.

Input: the TSV bench.sh writes, one line per contender (see summarize.py), named
"WHO COMMAND SIZE" (WHO: ssm-prefs, the code measured, or baseline, the --baseline binary).
Per row: targets/s, CPU ms per target (user + system), peak RSS, and the makespan over the
ideal, the larger of
  the STS bound: the AssumeRoles STS let through / its rate (one per account), and
  the latency bound: the requests let through x latency / concurrency;
then, where a baseline ran, each figure of ssm-prefs over the baseline's, in this run only.
With --org (bench.sh --huge --org): the walk's Organizations requests and throttles per row,
and each --org row's makespan over the inventory row's (same targets, same run): what the walk
adds, against the issue's 30%.
"""
import argparse

from summarize import append, load

COLUMNS = ["run", "commit", "baseline", "latency_ms", "contender", "targets", "accounts",
           "concurrency", "exit_code", "failed_targets", "wall_s", "targets_per_s",
           "cpu_ms_per_target", "peak_rss_mb", "requests", "throttled", "sts_bound_s",
           "latency_bound_s", "ideal_s", "makespan_over_ideal"]


def derive(r, latency_ms, sts_rate):
    c = r["counts"]
    ops = {k: v for k, v in c.items() if ":" not in k}
    throttled = sum(v for k, v in c.items() if k.startswith("throttled:"))
    requests = sum(ops.values())
    sts_bound = c.get("bucket:sts", 0) / sts_rate
    latency_bound = (requests - throttled) * latency_ms / 1000 / r["concurrency"]
    ideal = max(sts_bound, latency_bound)
    r.update(
        tps=r["targets"] / r["wall"] if r["wall"] else 0.0,
        cpu_ms=r["cpu"] * 1000 / r["targets"],
        rss_mb=r["rss_kb"] / 1024,
        requests=requests, throttled=throttled, sts_bound=sts_bound,
        latency_bound=latency_bound, ideal=ideal,
        over=r["wall"] / ideal if ideal else None,
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--baseline", default="")
    ap.add_argument("--latency-ms", type=int, required=True)
    ap.add_argument("--buckets", required=True, help="SSM_RATE,SSM_BURST,STS_RATE,STS_BURST")
    ap.add_argument("--org", default="", help="ORG_RATE,ORG_BURST,ORG_IN_FLIGHT,OUS (--huge --org)")
    a = ap.parse_args()
    sts_rate = float(a.buckets.split(",")[2])
    rows = load(a.tsv)
    for r in rows:
        derive(r, a.latency_ms, sts_rate)

    print(f"\nssm-prefs --huge benchmark, run {a.run}, commit {a.commit}"
          + (f", baseline {a.baseline}" if a.baseline else "")
          + f"; the stand-in, {a.latency_ms} ms latency, buckets {a.buckets}")
    head = (f"{'contender':<40} {'targets':>7} {'rc':>3} {'failed':>6} {'wall s':>7} {'tgt/s':>7} "
            f"{'CPU ms/t':>8} {'RSS MB':>7} {'STS s':>6} {'lat s':>6} {'x ideal':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        failed = "-" if r["failed"] is None else r["failed"]
        print(f"{r['contender']:<40} {r['targets']:>7} {r['rc']:>3} {failed:>6} {r['wall']:>7.1f} "
              f"{r['tps']:>7.0f} {r['cpu_ms']:>8.3f} {r['rss_mb']:>7.1f} {r['sts_bound']:>6.1f} "
              f"{r['latency_bound']:>6.1f} {r['over'] or 0:>7.2f}")

    by = {r["contender"]: r for r in rows}
    pairs = [(r, by.get("baseline" + r["contender"][len("ssm-prefs"):])) for r in rows
             if r["contender"].startswith("ssm-prefs")]
    pairs = [(r, b) for r, b in pairs if b]
    if pairs:
        print("\nssm-prefs over the baseline, same run (targets/s: higher is better; CPU and RSS: lower)")
        for r, b in pairs:
            print(f"  {r['contender'][len('ssm-prefs '):]:<30} targets/s x{r['tps'] / b['tps']:.2f}  "
                  f"CPU/target x{r['cpu_ms'] / b['cpu_ms']:.2f}  peak RSS x{r['rss_mb'] / b['rss_mb']:.2f}")
    for who in ("ssm-prefs", "baseline"):
        small, big = by.get(f"{who} apply (fresh) 17k"), by.get(f"{who} apply (fresh) 200k")
        if small and big:
            print(f"  {who}: apply's peak RSS at 200k / at 17k = {big['rss_mb'] / small['rss_mb']:.2f}")

    if a.org:
        rate, burst, in_flight, ous = a.org.split(",")
        print(f"\nOrganizations: {ous} OUs, {rate}/s burst {burst} per caller, at most {in_flight} in progress")
        base = next((r for r in rows if r["contender"].endswith(" inventory")), None)
        for r in rows:
            c = r["counts"]
            calls = sum(v for k, v in c.items() if k.startswith("Organizations."))
            throttled = sum(v for k, v in c.items() if k.startswith("throttled:Organizations."))
            line = f"  {r['contender']:<40} Organizations requests {calls:>6}, throttled {throttled:>5}"
            if base and r is not base:
                line += f"; makespan over the inventory's x{r['wall'] / base['wall']:.2f}"
            print(line)

    append(a.csv, COLUMNS, ([
        a.run, a.commit, a.baseline, a.latency_ms, r["contender"], r["targets"],
        r["accounts"], r["concurrency"], r["rc"], "" if r["failed"] is None else r["failed"],
        f"{r['wall']:.3f}", f"{r['tps']:.1f}", f"{r['cpu_ms']:.4f}", f"{r['rss_mb']:.1f}",
        r["requests"], r["throttled"], f"{r['sts_bound']:.2f}", f"{r['latency_bound']:.2f}",
        f"{r['ideal']:.2f}", "" if r["over"] is None else f"{r['over']:.3f}",
    ] for r in rows))

if __name__ == "__main__":
    main()

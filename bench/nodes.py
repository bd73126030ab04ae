"""Prints what scripts/bench.sh --nodes measured and appends it to bench/nodes.csv: apply
(fresh) with preflight on, then audit of what it wrote, by the code measured (with the node
check) and by a baseline binary built before it, each on a fresh stand-in; and the ratios
within the run, each command against the baseline's same command (the node check's goal: CPU
per target and the makespan at most 1.5x the baseline's).

Input: scripts/bench.sh's TSV, one line per contender:
    contender  targets  accounts  concurrency  wall_s  user_s  sys_s  peak_rss_kb  exit_code  counts_json
    [failed_targets  server_cpu_s]
"""
import argparse
import json

import summarize

COLUMNS = ["run", "commit", "baseline", "latency_ms", "nodes_per_target", "contender", "targets",
           "accounts", "concurrency", "exit_code", "failed_targets", "wall_s", "cpu_ms_per_target",
           "peak_rss_mb", "requests_per_target", "node_requests_per_target", "per_account_requests",
           "x_baseline_cpu", "x_baseline_wall", "counts"]
# The node check's own calls (the stand-in's names for them).
NODE_OPS = ["DescribeInstanceInformation", "GetServiceSetting", "DescribeIamInstanceProfileAssociations",
            "GetInstanceProfile", "SimulatePrincipalPolicy", "GetKeyPolicy", "ListBuckets"]


def load(path):
    """summarize.py's rows, with this table's figures per target."""
    rows = []
    for r in summarize.load(path):
        counts = {k: v for k, v in r["counts"].items() if ":" not in k}
        targets = r["targets"]
        rows.append(dict(
            r, counts=counts, cpu_ms=r["cpu"] * 1000 / targets, rss_mb=r["rss_kb"] / 1024,
            failed="" if r["failed"] is None else r["failed"],
            requests=sum(counts.values()) / targets,
            node_requests=sum(counts.get(op, 0) for op in NODE_OPS) / targets,
        ))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--commit", required=True)
    ap.add_argument("--baseline", default="")
    ap.add_argument("--latency-ms", default="0")
    ap.add_argument("--nodes", default="0")
    a = ap.parse_args()
    rows = load(a.tsv)
    # Each command's row of the code measured against the baseline's row of the same command.
    bases = {r["contender"].split(" ", 1)[1]: r for r in rows if r["contender"].startswith("baseline")}
    print(f"\n{'contender':<34} {'targets':>7} {'rc':>3} {'failed':>6} {'wall s':>8} {'CPU ms/tgt':>10} "
          f"{'RSS MB':>7} {'req/tgt':>7} {'node req/tgt':>12}")
    for r in rows:
        print(f"{r['contender']:<34} {r['targets']:>7} {r['rc']:>3} {r['failed']:>6} {r['wall']:>8.2f} "
              f"{r['cpu_ms']:>10.3f} {r['rss_mb']:>7.1f} {r['requests']:>7.2f} {r['node_requests']:>12.2f}")
    for r in rows:
        per_target = {op: n / r["targets"] for op, n in sorted(r["counts"].items())}
        print(f"  {r['contender']}: requests per target: "
              + ", ".join(f"{op} {v:.3f}" for op, v in per_target.items()))
        r["per_account"] = {op: n / r["accounts"] for op, n in r["counts"].items()
                            if n / r["targets"] < 0.5}
    if bases:
        print()
        for r in rows:
            base = bases.get(r["contender"].split(" ", 1)[1])
            if base is None or r is base:
                continue
            r["x_cpu"] = r["cpu_ms"] / base["cpu_ms"] if base["cpu_ms"] else None
            r["x_wall"] = r["wall"] / base["wall"] if base["wall"] else None
            for what, x in (("CPU per target", r["x_cpu"]), ("makespan", r["x_wall"])):
                ok = x is not None and x <= 1.5
                print(f"  [{'met ' if ok else 'MISS'}] {what} at most 1.5x the baseline's "
                      f"({a.baseline}): {r['contender']}: {x:.2f}x")
    fmt = lambda x: "" if x is None else f"{x:.3f}"
    summarize.append(a.csv, COLUMNS, ([
        a.run, a.commit, a.baseline, a.latency_ms, a.nodes, r["contender"], r["targets"],
        r["accounts"], r["concurrency"], r["rc"], r["failed"], f"{r['wall']:.3f}",
        f"{r['cpu_ms']:.3f}", f"{r['rss_mb']:.1f}", f"{r['requests']:.3f}",
        f"{r['node_requests']:.3f}",
        json.dumps({k: round(v, 3) for k, v in sorted(r['per_account'].items())}),
        fmt(r.get("x_cpu")), fmt(r.get("x_wall")),
        json.dumps(r["counts"], sort_keys=True),
    ] for r in rows))

if __name__ == "__main__":
    main()

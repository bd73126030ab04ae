"""Turns the measurements scripts/bench.sh took into the printed table and bench/results.csv.

Input: a TSV with one line per contender:
    contender  targets  accounts  concurrency  wall_s  user_s  sys_s  peak_rss_kb  exit_code  counts_json
Ratios are computed within this run only: ssm-prefs apply (fresh) against the baselines of
the same run, never against figures from another run.
"""
import argparse
import csv
import json
import os
import sys

APPLY = "ssm-prefs apply (fresh)"
BOTO3 = "boto3 ThreadPool (fresh)"
CLI = "aws cli loop (fresh)"
SSM_OPS = ["GetDocument", "CreateDocument", "DescribeDocument", "UpdateDocument",
           "UpdateDocumentDefaultVersion"]
COLUMNS = [
    "run", "commit", "mode", "latency_ms", "accounts", "regions", "contender", "targets", "concurrency",
    "exit_code", "wall_s", "targets_per_s", "assume_role_per_account", "get_per_target",
    "create_per_target", "describe_per_target", "other_ssm_per_target", "ssm_per_target",
    "requests_per_target", "cpu_ms_per_target", "peak_rss_mb", "x_boto3", "x_cli",
    "ideal_makespan_s", "makespan_over_ideal", "emulators",
]


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            name, targets, accounts, conc, wall, user, sys_, rss, rc, counts = line.rstrip("\n").split("\t")
            rows.append(dict(
                contender=name, targets=int(targets), accounts=int(accounts),
                concurrency=int(conc), wall=float(wall), cpu=float(user) + float(sys_),
                rss_kb=int(rss), rc=int(rc), counts=json.loads(counts or "{}"),
            ))
    return rows


PREFLIGHT = ("GetBucketLocation", "GetBucketEncryption", "DescribeLogGroups", "DescribeKey")


def derive(r, latency_ms):
    c, t = r["counts"], r["targets"]
    # Preflight's reads are S3, CloudWatch Logs and KMS calls, not SSM.
    pre = sum(c.get(k, 0) for k in PREFLIGHT)
    ssm = sum(v for k, v in c.items() if k not in ("AssumeRole",) + PREFLIGHT)
    other = ssm - sum(c.get(k, 0) for k in ("GetDocument", "CreateDocument", "DescribeDocument"))
    total = sum(c.values())
    r.update(
        tps=t / r["wall"] if r["wall"] > 0 else 0.0,
        ar_per_account=c.get("AssumeRole", 0) / r["accounts"],
        get=c.get("GetDocument", 0) / t,
        create=c.get("CreateDocument", 0) / t,
        describe=c.get("DescribeDocument", 0) / t,
        other=other / t,
        ssm=ssm / t,
        pre=pre / t,
        total=total / t,
        total_requests=total,
        cpu_ms=r["cpu"] * 1000 / t,
        rss_mb=r["rss_kb"] / 1024,
    )
    if latency_ms:
        r["ideal"] = total * latency_ms / 1000 / r["concurrency"]
        r["over_ideal"] = r["wall"] / r["ideal"] if r["ideal"] else None
    else:
        r["ideal"] = r["over_ideal"] = None


def fmt(v, spec, missing="-"):
    return missing if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--mode", required=True)
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--accounts", type=int, required=True)
    ap.add_argument("--regions", type=int, required=True)
    ap.add_argument("--emulators", type=int, default=1)
    a = ap.parse_args()

    rows = load(a.tsv)
    for r in rows:
        derive(r, a.latency_ms)
    by = {r["contender"]: r for r in rows}
    for r in rows:
        ours = r["contender"].startswith("ssm-prefs")
        r["x_boto3"] = r["tps"] / by[BOTO3]["tps"] if ours and BOTO3 in by and by[BOTO3]["tps"] else None
        r["x_cli"] = r["tps"] / by[CLI]["tps"] if ours and CLI in by and by[CLI]["tps"] else None

    title = f"{a.accounts} accounts x {a.regions} regions, mode {a.mode}, {a.emulators} emulator(s)"
    if a.latency_ms:
        title += f", {a.latency_ms} ms added to every request"
    print(f"\nssm-prefs benchmark ({title}), run {a.run}, commit {a.commit}")
    head = (f"{'contender':<26} {'targets':>7} {'rc':>3} {'wall s':>8} {'tgt/s':>8} {'AR/acct':>7} "
            f"{'Get/t':>6} {'Create/t':>8} {'Descr/t':>7} {'otherSSM/t':>10} {'SSM/t':>6} {'pre/t':>6} {'req/t':>6} "
            f"{'CPU ms/t':>8} {'RSS MB':>7} {'x boto3':>7} {'x CLI':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['contender']:<26} {r['targets']:>7} {r['rc']:>3} {r['wall']:>8.2f} {r['tps']:>8.1f} "
              f"{r['ar_per_account']:>7.2f} {r['get']:>6.2f} {r['create']:>8.2f} {r['describe']:>7.2f} "
              f"{r['other']:>10.2f} {r['ssm']:>6.2f} {r['pre']:>6.2f} {r['total']:>6.2f} {r['cpu_ms']:>8.2f} "
              f"{r['rss_mb']:>7.1f} {fmt(r['x_boto3'], '.2f'):>7} {fmt(r['x_cli'], '.1f'):>7}")

    if a.latency_ms:
        print(f"\nmakespan vs ideal (total requests x {a.latency_ms} ms / concurrency):")
        for r in rows:
            print(f"  {r['contender']:<26} {r['total_requests']:>6} requests at concurrency {r['concurrency']:>2}: "
                  f"ideal {r['ideal']:.2f} s, measured {r['wall']:.2f} s, {r['over_ideal']:.2f}x ideal")

    # The project's targets, checked on what was measured here.
    checks = []
    if APPLY in by:
        r = by[APPLY]
        checks.append(("new target <= 2 SSM requests", r["ssm"] <= 2, f"{r['ssm']:.2f}"))
    if "ssm-prefs apply (unchanged)" in by:
        r = by["ssm-prefs apply (unchanged)"]
        checks.append(("unchanged target = 1 SSM request", abs(r["ssm"] - 1) < 1e-9, f"{r['ssm']:.2f}"))
    for r in rows:
        if r["contender"].startswith("ssm-prefs"):
            checks.append((f"AssumeRole exactly 1 per account: {r['contender']}",
                           abs(r["ar_per_account"] - 1) < 1e-9, f"{r['ar_per_account']:.2f}"))
    for r in rows:
        if r["contender"].startswith("ssm-prefs"):
            checks.append((f"CPU < 1 ms per target: {r['contender']}", r["cpu_ms"] < 1, f"{r['cpu_ms']:.2f} ms"))
    if a.mode == "scale":
        for r in rows:
            if r["contender"].startswith("ssm-prefs"):
                checks.append((f"peak RSS < 150 MB at {r['targets']:,} targets: {r['contender']}",
                               r["rss_mb"] < 150, f"{r['rss_mb']:.1f} MB"))
    if APPLY in by and by[APPLY]["x_boto3"] is not None:
        checks.append((">= 5x boto3 targets/s", by[APPLY]["x_boto3"] >= 5, f"{by[APPLY]['x_boto3']:.2f}x"))
    if APPLY in by and by[APPLY]["x_cli"] is not None:
        checks.append((">= 50x the CLI loop's targets/s", by[APPLY]["x_cli"] >= 50, f"{by[APPLY]['x_cli']:.1f}x"))
    if a.latency_ms and APPLY in by:
        checks.append(("apply makespan within 1.25x of ideal", by[APPLY]["over_ideal"] <= 1.25,
                       f"{by[APPLY]['over_ideal']:.2f}x"))
    waves = by.get("ssm-prefs apply (waves)")
    if waves and APPLY in by:
        extra = waves["ssm"] - by[APPLY]["ssm"]
        checks.append(("waves: one read-back request per written target", abs(extra - 1) < 0.01,
                       f"+{extra:.2f} SSM requests per target"))
    with_pre, without = by.get("ssm-prefs plan (preflight)"), by.get("ssm-prefs plan (no preflight)")
    if with_pre and without:
        print(f"\npreflight: {with_pre['total']:.2f} requests per target with it, {without['total']:.2f} without "
              f"({with_pre['pre']:.2f} of them S3, CloudWatch Logs and KMS reads)")
        checks.append(("preflight adds at most 2 requests per target", with_pre["total"] - without["total"] <= 2,
                       f"+{with_pre['total'] - without['total']:.2f}"))
    for r in rows:
        if r["rc"] != 0:
            checks.append((f"{r['contender']} exited 0", False, f"exit {r['rc']}"))
    print("\nproject targets:")
    for name, ok, got in checks:
        print(f"  [{'met ' if ok else 'MISS'}] {name}: {got}")

    new = not os.path.exists(a.csv) or os.path.getsize(a.csv) == 0
    if not new:
        with open(a.csv) as f:
            header = f.readline().strip()
        if header == ",".join(COLUMNS[:-1]):
            # Written before the emulators column: every run then had one emulator.
            with open(a.csv) as f:
                lines = f.read().splitlines()
            with open(a.csv, "w") as f:
                f.write(",".join(COLUMNS) + "\n")
                f.writelines(line + ",1\n" for line in lines[1:])
        elif header != ",".join(COLUMNS):
            os.replace(a.csv, a.csv + ".old")
            print(f"(the header of {a.csv} changed: the old file is now {a.csv}.old)")
            new = True
    with open(a.csv, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(COLUMNS)
        for r in rows:
            w.writerow([
                a.run, a.commit, a.mode, a.latency_ms, a.accounts, a.regions, r["contender"], r["targets"],
                r["concurrency"], r["rc"], f"{r['wall']:.3f}", f"{r['tps']:.2f}",
                f"{r['ar_per_account']:.3f}", f"{r['get']:.3f}", f"{r['create']:.3f}",
                f"{r['describe']:.3f}", f"{r['other']:.3f}", f"{r['ssm']:.3f}", f"{r['total']:.3f}",
                f"{r['cpu_ms']:.3f}", f"{r['rss_mb']:.1f}", fmt(r["x_boto3"], ".3f", ""),
                fmt(r["x_cli"], ".2f", ""), fmt(r["ideal"], ".3f", ""),
                fmt(r["over_ideal"], ".3f", ""), a.emulators,
            ])
    print(f"\nappended {len(rows)} rows to {a.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Turns the measurements scripts/bench.sh took into the printed table and bench/results.csv.

Input: a TSV with one line per contender:
    contender  targets  accounts  concurrency  wall_s  user_s  sys_s  peak_rss_kb  exit_code  counts_json
    [failed_targets  server_cpu_s]
Ratios are computed within this run only: ssm-prefs apply (fresh) against the baselines of
the same run, never against figures from another run.

The counts are the proxy's or the stand-in's: requests per operation; the stand-in adds
`throttled:OP` (of those requests, the ones it answered with throttling), `bucket:sts` (STS
requests its one STS bucket let through) and `bucket:ssm-max` (the most SSM requests one
(account, region) bucket let through). Keys with a colon are not operations.

Under --buckets (the throttle mode) two throttle-bound ideals are printed side by side:
  (a) the issue's: the slowest bucket's requests / its rate, max(STS let through / STS rate,
      busiest SSM bucket's let through / SSM rate): the one the 1.3x target is checked on;
  (b) the stricter one: max(requests let through x latency / concurrency, the slowest bucket's
      (let through - burst) / rate + one target's chain of requests, one latency each).
For apply (fresh), which reads and decides every target before it writes any, a third figure,
informational: the two-phase floor, the read phase's bound plus the write phase's requests x
latency / concurrency.
"""
import argparse
import math
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
    # Added with the stand-in modes (empty in rows written before them or where not measured).
    "failed_targets", "throttled_pct", "server_cpu_ms_per_target", "throttle_bound_s",
    # Added with the issue's throttle-bound ideal and the two-phase floor (throttle mode only).
    "issue_ideal_s", "makespan_over_issue_ideal", "two_phase_floor_s", "makespan_over_two_phase_floor",
]
# Rows written under an older header are padded with these (the emulators column came later
# than the ones before it: those runs had one emulator).
PAD = {"emulators": "1"}


def append(path, columns, lines, pad=None):
    """Appends `lines` (lists of cells) to the CSV at `path` under the header `columns`. A file
    written before the last columns were added is padded first (`pad`: an added column's
    value in old rows, else empty), so old rows keep their place; one whose header differs
    otherwise is kept as PATH.old and a new file started."""
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    if not new:
        with open(path) as f:
            header = f.readline().strip()
        old = header.split(",")
        if len(old) < len(columns) and columns[:len(old)] == old:
            with open(path, newline="") as f:
                rows = list(csv.reader(f))[1:]
            padding = [(pad or {}).get(col, "") for col in columns[len(old):]]
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(columns)
                w.writerows(row + padding for row in rows)
        elif header != ",".join(columns):
            os.replace(path, path + ".old")
            print(f"(the header of {path} changed: the old file is now {path}.old)")
            new = True
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(columns)
        w.writerows(lines)


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            name, targets, accounts, conc, wall, user, sys_, rss, rc, counts = fields[:10]
            failed, server = (fields[10:12] + ["", ""])[:2]
            rows.append(dict(
                contender=name, targets=int(targets), accounts=int(accounts),
                concurrency=int(conc), wall=float(wall), cpu=float(user) + float(sys_),
                rss_kb=int(rss), rc=int(rc), counts=json.loads(counts or "{}"),
                failed=int(failed) if failed else None,
                server_cpu=float(server) if server else None,
            ))
    return rows


PREFLIGHT = ("GetBucketLocation", "GetBucketEncryption", "DescribeLogGroups", "DescribeKey")
# What apply's second phase sends; every other SSM call is a read of the first phase.
WRITE_OPS = ("CreateDocument", "UpdateDocument", "UpdateDocumentDefaultVersion", "DeleteDocument",
             "AddTagsToResource", "RemoveTagsFromResource")
STS_OPS = ("AssumeRole", "GetCallerIdentity")


def two_phase_floor(r, latency_ms, buckets):
    """apply (fresh) reads and decides every target, prints the plan, then writes: no write
    starts before the last read has come back. Its floor is the read phase's bound plus the
    write phase's, each a true lower bound (a bucket lets its burst through at once, so the
    read phase's slowest bucket is (n - burst) / rate, then one target's reads after it)."""
    everything, t, conc = r["counts"], r["targets"], r["concurrency"]
    lat = latency_ms / 1000
    ssm_rate, ssm_burst, sts_rate, sts_burst = buckets

    def let_through(ops):
        return sum(everything.get(k, 0) - everything.get(f"throttled:{k}", 0) for k in ops)

    ops = [k for k in everything if ":" not in k and k not in PREFLIGHT]
    writes = let_through([k for k in ops if k in WRITE_OPS])
    reads = let_through([k for k in ops if k not in WRITE_OPS and k not in STS_OPS])
    sts_n = everything.get("bucket:sts", 0)
    # The stand-in reports only the busiest bucket over all SSM calls; the read phase's busiest
    # is at least the mean, which keeps the floor a floor.
    reads_per_bucket = math.ceil(reads / t) if t else 0
    writes_per_bucket = math.ceil(writes / t) if t else 0
    sts_bound = max(0.0, (sts_n - sts_burst) / sts_rate)
    ssm_bound = max(0.0, (reads_per_bucket - ssm_burst) / ssm_rate)
    read_chain = (1 + reads / t) * lat
    read_latency = (sts_n + reads) * lat / conc
    read_phase = max(read_latency, max(sts_bound, ssm_bound) + read_chain)
    write_phase = max(lat if writes else 0.0, writes * lat / conc)
    floor = read_phase + write_phase
    return dict(
        sts_n=sts_n, reads=reads, writes=writes, reads_per_bucket=reads_per_bucket,
        sts_bound=sts_bound, ssm_bound=ssm_bound, read_chain=read_chain, read_latency=read_latency,
        read_phase=read_phase, write_phase=write_phase, floor=floor,
        over=r["wall"] / floor if floor else None,
        # The write phase's SSM buckets are left out of the floor: say so when they could bind.
        write_buckets_bind=reads_per_bucket + writes_per_bucket > ssm_burst,
        # The issue's form of the read phase's bound (n / rate), for comparison only.
        issue_read_bound=max(sts_n / sts_rate, reads_per_bucket / ssm_rate),
    )


def derive(r, latency_ms, buckets=None):
    everything, t = r["counts"], r["targets"]
    c = {k: v for k, v in everything.items() if ":" not in k}
    throttled = sum(v for k, v in everything.items() if k.startswith("throttled:"))
    # Preflight's reads are S3, CloudWatch Logs and KMS calls, not SSM.
    pre = sum(c.get(k, 0) for k in PREFLIGHT)
    ssm = sum(v for k, v in c.items() if k not in ("AssumeRole",) + PREFLIGHT)
    other = ssm - sum(c.get(k, 0) for k in ("GetDocument", "CreateDocument", "DescribeDocument"))
    total = sum(c.values())
    # The requests an ideal client sends: it is never throttled, so it sends none of those.
    admitted = total - throttled
    r.update(
        tps=t / r["wall"] if r["wall"] > 0 else 0.0,
        ar_per_account=c.get("AssumeRole", 0) / r["accounts"],
        # A throttled AssumeRole is retried: the same session asked again, not a second one.
        ar_let_through=(c.get("AssumeRole", 0) - everything.get("throttled:AssumeRole", 0)) / r["accounts"],
        get=c.get("GetDocument", 0) / t,
        create=c.get("CreateDocument", 0) / t,
        describe=c.get("DescribeDocument", 0) / t,
        other=other / t,
        ssm=ssm / t,
        pre=pre / t,
        total=total / t,
        total_requests=total,
        admitted=admitted,
        throttled=throttled,
        throttled_pct=100 * throttled / total if total else 0.0,
        cpu_ms=r["cpu"] * 1000 / t,
        rss_mb=r["rss_kb"] / 1024,
        server_ms=r["server_cpu"] * 1000 / t if r["server_cpu"] is not None else None,
        bound=None, issue_ideal=None, over_issue=None, floor=None,
    )
    if latency_ms:
        r["ideal"] = admitted * latency_ms / 1000 / r["concurrency"]
        if buckets:
            # A bucket starts full (burst) and refills at its rate: n requests through it take at
            # least (n - burst) / rate seconds. The slowest bucket bounds the run, and the last
            # target through it still makes its chain of requests after that (its AssumeRole and
            # its SSM calls, one latency each).
            ssm_rate, ssm_burst, sts_rate, sts_burst = buckets
            sts_n, ssm_n = everything.get("bucket:sts", 0), everything.get("bucket:ssm-max", 0)
            bound = max(0.0, (sts_n - sts_burst) / sts_rate, (ssm_n - ssm_burst) / ssm_rate)
            chain = (1 + ssm / t) * latency_ms / 1000
            r["bound"] = bound
            r["latency_bound"] = r["ideal"]
            r["chain"] = chain
            r["ideal"] = max(r["ideal"], bound + chain)
            # The issue's definition: the slowest bucket's requests / its rate (for 200 accounts
            # and STS at 20/s, 200 / 20 = 10 s), no burst, no latency.
            sts_t, ssm_t = sts_n / sts_rate, ssm_n / ssm_rate
            r["issue_ideal"] = max(sts_t, ssm_t)
            r["issue_slowest"] = (f"STS: {sts_n} / {sts_rate:g}/s" if sts_t >= ssm_t
                                  else f"busiest SSM bucket: {ssm_n} / {ssm_rate:g}/s")
            r["over_issue"] = r["wall"] / r["issue_ideal"] if r["issue_ideal"] else None
            if r["contender"] == APPLY and r["counts"].get("CreateDocument", 0):
                r["floor"] = two_phase_floor(r, latency_ms, buckets)
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
    ap.add_argument("--stand-in", action="store_true",
                    help="the stand-in served the run: show failures, throttling and its CPU")
    ap.add_argument("--buckets", help="SSM_RATE,SSM_BURST,STS_RATE,STS_BURST of the stand-in's buckets")
    a = ap.parse_args()
    buckets = tuple(float(x) for x in a.buckets.split(",")) if a.buckets else None

    rows = load(a.tsv)
    for r in rows:
        derive(r, a.latency_ms, buckets)
    by = {r["contender"]: r for r in rows}
    for r in rows:
        ours = r["contender"].startswith("ssm-prefs")
        r["x_boto3"] = r["tps"] / by[BOTO3]["tps"] if ours and BOTO3 in by and by[BOTO3]["tps"] else None
        r["x_cli"] = r["tps"] / by[CLI]["tps"] if ours and CLI in by and by[CLI]["tps"] else None

    title = f"{a.accounts} accounts x {a.regions} regions, mode {a.mode}, {a.emulators} emulator(s)"
    if a.stand_in:
        title = f"{a.accounts} accounts x {a.regions} regions, mode {a.mode}, the stand-in"
        if buckets:
            title += (f", buckets: SSM {buckets[0]:g}/s burst {buckets[1]:g} per account and region, "
                      f"STS {buckets[2]:g}/s burst {buckets[3]:g}")
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
    if a.stand_in:
        print(f"\n{'contender':<28} {'failed':>6} {'requests':>8} {'throttled':>9} {'thr %':>6} "
              f"{'stand-in CPU ms/t':>17}")
        for r in rows:
            print(f"{r['contender']:<28} {fmt(r['failed'], 'd'):>6} {r['total_requests']:>8} {r['throttled']:>9} "
                  f"{r['throttled_pct']:>6.2f} {fmt(r['server_ms'], '.3f'):>17}")
        boto3 = by.get(BOTO3)
        if boto3 and boto3["targets"] != by.get(APPLY, boto3)["targets"]:
            print(f"(boto3 ran on a sample: {boto3['accounts']} accounts, {boto3['targets']} targets; "
                  "targets/s compare, wall seconds do not)")

    if a.latency_ms and buckets:
        print("\nmakespan vs the throttle-bound ideals, side by side:\n"
              "  (a) the issue's: the slowest bucket's requests / its rate (target: within 1.3x)\n"
              f"  (b) stricter: max(let through x {a.latency_ms} ms / concurrency, "
              "max((let through - burst) / rate) + one target's chain); informational")
        print(f"  {'contender':<28} {'let thr.':>8} {'STS':>5} {'SSM max':>7} {'wall s':>7} "
              f"{'(a) s':>6} {'x (a)':>6} {'(b) s':>6} {'x (b)':>6}  (a) is")
        for r in rows:
            c = r["counts"]
            print(f"  {r['contender']:<28} {r['admitted']:>8} {c.get('bucket:sts', 0):>5} "
                  f"{c.get('bucket:ssm-max', 0):>7} {r['wall']:>7.2f} {r['issue_ideal']:>6.2f} "
                  f"{fmt(r['over_issue'], '.2f'):>6} {r['ideal']:>6.2f} {r['over_ideal']:>6.2f}  "
                  f"{r['issue_slowest']}")
        print("  (b) per row: " + "; ".join(
            f"{r['contender']}: max({r['latency_bound']:.2f}, {r['bound']:.2f} + {r['chain']:.2f})" for r in rows))
        f = by.get(APPLY, {}).get("floor")
        if f:
            r = by[APPLY]
            print(f"\napply (fresh) is two phases by design: every target read and decided, the plan printed, then "
                  "written,\nso that a read failure or a blocking preflight finding is known before any write. "
                  "Its two-phase floor\n(informational, not a target; each phase a lower bound):")
            print(f"  read phase:  {f['sts_n']} AssumeRoles + {f['reads']} SSM reads let through; slowest bucket "
                  f"max(STS ({f['sts_n']} - {buckets[3]:g}) / {buckets[2]:g}/s = {f['sts_bound']:.2f} s, SSM "
                  f"({f['reads_per_bucket']} - {buckets[1]:g}) / {buckets[0]:g}/s = {f['ssm_bound']:.2f} s) "
                  f"+ one target's reads {f['read_chain']:.2f} s; latency bound {f['read_latency']:.2f} s "
                  f"-> {f['read_phase']:.2f} s  (the issue's n / rate form would say {f['issue_read_bound']:.2f} s)")
            print(f"  write phase: {f['writes']} writes x {a.latency_ms} ms / concurrency {r['concurrency']} "
                  f"-> {f['write_phase']:.2f} s")
            print(f"  floor {f['floor']:.2f} s, measured {r['wall']:.2f} s: {f['over']:.2f}x the two-phase floor "
                  f"(vs {fmt(r['over_issue'], '.2f')}x (a), {r['over_ideal']:.2f}x (b))")
            if f["write_buckets_bind"]:
                print("  (the write phase's SSM buckets may bind here and are not in the floor: it is low)")
    elif a.latency_ms:
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
            if r["throttled"]:
                checks.append((f"AssumeRole exactly 1 per account, throttled answers aside: {r['contender']}",
                               abs(r["ar_let_through"] - 1) < 1e-9,
                               f"{r['ar_let_through']:.2f} ({r['ar_per_account']:.2f} with the retries)"))
            else:
                checks.append((f"AssumeRole exactly 1 per account: {r['contender']}",
                               abs(r["ar_per_account"] - 1) < 1e-9, f"{r['ar_per_account']:.2f}"))
    for r in rows:
        if r["contender"].startswith("ssm-prefs"):
            checks.append((f"CPU < 1 ms per target: {r['contender']}", r["cpu_ms"] < 1, f"{r['cpu_ms']:.2f} ms"))
    if a.stand_in and not a.latency_ms and APPLY in by:
        r = by[APPLY]
        checks.append((">= 1,500 new targets/s (stand-in)", r["tps"] >= 1500, f"{r['tps']:.0f}/s"))
        checks.append(("<= 0.8 ms CPU per new target (stand-in)", r["cpu_ms"] <= 0.8, f"{r['cpu_ms']:.2f} ms"))
    if buckets:
        for r in rows:
            if r["failed"] is not None:
                checks.append((f"no failed target under throttling: {r['contender']}", r["failed"] == 0,
                               f"{r['failed']} failed"))
        for r in rows:
            if r["contender"].startswith("ssm-prefs"):
                checks.append((f"< 10% of requests throttled: {r['contender']}", r["throttled_pct"] < 10,
                               f"{r['throttled_pct']:.1f}%"))
    if a.mode in ("scale", "stand-in-scale"):
        for r in rows:
            if r["contender"].startswith("ssm-prefs"):
                checks.append((f"peak RSS < 150 MB at {r['targets']:,} targets: {r['contender']}",
                               r["rss_mb"] < 150, f"{r['rss_mb']:.1f} MB"))
    if APPLY in by and by[APPLY]["x_boto3"] is not None:
        checks.append((">= 5x boto3 targets/s", by[APPLY]["x_boto3"] >= 5, f"{by[APPLY]['x_boto3']:.2f}x"))
    if APPLY in by and by[APPLY]["x_cli"] is not None:
        checks.append((">= 50x the CLI loop's targets/s", by[APPLY]["x_cli"] >= 50, f"{by[APPLY]['x_cli']:.1f}x"))
    if buckets and a.latency_ms:
        for r in rows:
            if r["contender"].startswith("ssm-prefs") and r["over_issue"] is not None:
                checks.append((f"makespan <= 1.3x the throttle-bound ideal (the issue's: slowest bucket's requests / "
                               f"rate): {r['contender']}", r["over_issue"] <= 1.3,
                               f"{r['wall']:.2f} s / {r['issue_ideal']:.2f} s = {r['over_issue']:.2f}x; stricter (b): "
                               f"{r['over_ideal']:.2f}x of {r['ideal']:.2f} s"))
    if a.latency_ms and not buckets and APPLY in by:
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

    append(a.csv, COLUMNS, ([
            a.run, a.commit, a.mode, a.latency_ms, a.accounts, a.regions, r["contender"], r["targets"],
            r["concurrency"], r["rc"], f"{r['wall']:.3f}", f"{r['tps']:.2f}",
            f"{r['ar_per_account']:.3f}", f"{r['get']:.3f}", f"{r['create']:.3f}",
            f"{r['describe']:.3f}", f"{r['other']:.3f}", f"{r['ssm']:.3f}", f"{r['total']:.3f}",
            f"{r['cpu_ms']:.3f}", f"{r['rss_mb']:.1f}", fmt(r["x_boto3"], ".3f", ""),
            fmt(r["x_cli"], ".2f", ""), fmt(r["ideal"], ".3f", ""),
            fmt(r["over_ideal"], ".3f", ""), a.emulators,
            fmt(r["failed"], "d", ""), f"{r['throttled_pct']:.3f}", fmt(r["server_ms"], ".4f", ""),
            fmt(r["bound"], ".3f", ""),
            fmt(r["issue_ideal"], ".3f", ""), fmt(r["over_issue"], ".3f", ""),
            fmt(r["floor"] and r["floor"]["floor"], ".3f", ""), fmt(r["floor"] and r["floor"]["over"], ".3f", ""),
        ] for r in rows), PAD)
    print(f"\nappended {len(rows)} rows to {a.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

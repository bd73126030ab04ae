"""The script a Python engineer would write instead of ssm-prefs: the benchmark's baseline.

For every (account, region) of the inventory, on a ThreadPoolExecutor of the same
concurrency as ssm-prefs: assume the account's role (once per account, cached), GetDocument,
and CreateDocument when it is missing. No update path: the happy path only. With -o, one CSV
row per target (account_id, region, status, error), so scripts/bench.sh counts its failures
as it counts ssm-prefs's.

    python bench/baseline_boto3.py -i inventory.yml -p prefs.json --endpoint-url URL [-c 32] [-o FILE]
"""
import argparse
import csv
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

import boto3
import yaml
from botocore.exceptions import ClientError

DOCUMENT = "SSM-SessionManagerRunShell"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-i", "--inventory", required=True)
    ap.add_argument("-p", "--preferences", required=True)
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("-c", "--concurrency", type=int, default=32)
    ap.add_argument("--role-name", default="OrganizationAccountAccessRole")
    ap.add_argument("-o", "--report", help="CSV of each target's status")
    args = ap.parse_args()

    with open(args.inventory) as f:
        inventory = yaml.safe_load(f)
    with open(args.preferences) as f:
        template = f.read()
    targets = [
        (str(a["account_id"]), a.get("name", ""), region)
        for a in inventory["accounts"]
        for region in a.get("regions", inventory.get("regions", []))
    ]

    # boto3 Sessions are not thread-safe: one per thread; the clients made from them are.
    local = threading.local()

    def session():
        if not hasattr(local, "session"):
            local.session = boto3.session.Session()
        return local.session

    creds, locks, locks_guard = {}, {}, threading.Lock()

    def credentials(account_id):
        # One AssumeRole per account, even when its regions start at the same moment.
        with locks_guard:
            lock = locks.setdefault(account_id, threading.Lock())
        with lock:
            if account_id not in creds:
                sts = session().client("sts", endpoint_url=args.endpoint_url)
                out = sts.assume_role(
                    RoleArn=f"arn:aws:iam::{account_id}:role/{args.role_name}",
                    RoleSessionName="baseline-boto3",
                )
                creds[account_id] = out["Credentials"]
            return creds[account_id]

    def one(target):
        account_id, name, region = target
        c = credentials(account_id)
        ssm = session().client(
            "ssm",
            region_name=region,
            endpoint_url=args.endpoint_url,
            aws_access_key_id=c["AccessKeyId"],
            aws_secret_access_key=c["SecretAccessKey"],
            aws_session_token=c["SessionToken"],
        )
        try:
            ssm.get_document(Name=DOCUMENT)
            return "exists"
        except ClientError as e:
            if e.response["Error"]["Code"] != "InvalidDocument":
                raise
        content = (
            template.replace("{account_id}", account_id)
            .replace("{account_name}", name)
            .replace("{region}", region)
        )
        ssm.create_document(
            Name=DOCUMENT, Content=content, DocumentType="Session", DocumentFormat="JSON"
        )
        return "created"

    results, rows = {}, []
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        futures = {pool.submit(one, t): t for t in targets}
        for fut in as_completed(futures):
            error = ""
            try:
                status = fut.result()
            except Exception as e:  # noqa: BLE001 - one target's failure is reported, not fatal
                status, error = "failed", str(e)
                print(f"{futures[fut]}: {e}", file=sys.stderr)
            results[status] = results.get(status, 0) + 1
            account_id, _, region = futures[fut]
            rows.append((account_id, region, status, error))
    if args.report:
        with open(args.report, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["account_id", "region", "status", "error"])
            w.writerows(rows)
    print(f"baseline_boto3: {len(targets)} targets: {results}")
    return 1 if results.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())

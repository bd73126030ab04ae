"""Demo helper run by scripts/demo.sh with the emulator's Python (.venv: moto brings boto3
and PyYAML). Talks only to the emulator given by --endpoint-url.

  world  create what examples/preferences.json names, as a landing zone would have: the
         bucket {log_bucket} with default encryption (in the first account, standing for a
         log-archive account; one per account when the name has {account_id}), and in every account and region of the inventory a KMS key and
         the log group /aws/ssm/session-logs encrypted with it, so preflight passes.
  seed   make the first N accounts of the inventory look as if someone had saved the AWS
         page's example preferences in the console: assume
         arn:aws:iam::<ACCOUNT>:role/OrganizationAccountAccessRole and create the
         SSM-SessionManagerRunShell Session document (JSON) in us-east-1 there.
  show   print what those accounts hold afterwards (default and latest version, bucket),
         read back from the emulator, so the demo shows state and not just exit codes.
"""
import argparse
import json
import sys

import boto3
import yaml

DOCUMENT = "SSM-SessionManagerRunShell"
ROLE = "OrganizationAccountAccessRole"
REGION = "us-east-1"

# The example of "Create Session Manager preferences (command line)", step 2, verbatim.
AWS_PAGE_EXAMPLE = {
    "schemaVersion": "1.0",
    "description": "Document to hold regional settings for Session Manager",
    "sessionType": "Standard_Stream",
    "inputs": {
        "s3BucketName": "DOC-EXAMPLE-BUCKET",
        "s3KeyPrefix": "MyBucketPrefix",
        "s3EncryptionEnabled": True,
        "cloudWatchLogGroupName": "MyLogGroupName",
        "cloudWatchEncryptionEnabled": True,
        "kmsKeyId": "MyKMSKeyID",
        "runAsEnabled": True,
        "runAsDefaultUser": "MyDefaultRunAsUser",
    },
}


def first_accounts(inventory, count):
    """The first `count` account ids of a YAML inventory, as written.

    BaseLoader keeps every scalar a string, so an unquoted 012345678901 keeps its leading zero
    (YAML 1.1 would read some such ids as octal numbers)."""
    with open(inventory, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=yaml.BaseLoader)
    accounts = (doc or {}).get("accounts") or []
    ids = [str(a["account_id"]).strip() for a in accounts if isinstance(a, dict) and "account_id" in a]
    if not ids:
        sys.exit(f"demo_seed: {inventory} lists no account_id")
    return ids[:count]


_credentials = {}


def client_in(service, account, endpoint, region=REGION):
    """A client acting inside `account`, through AssumeRole as the rollout would (once per
    account)."""
    creds = _credentials.get(account)
    if creds is None:
        sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint)
        creds = _credentials[account] = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="ssm-prefs-demo-seed"
        )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def ssm_in(account, endpoint):
    return client_in("ssm", account, endpoint)


LOG_GROUP = "/aws/ssm/session-logs"


def targets(inventory):
    """(account id, [regions]) for every account, and the inventory's vars."""
    with open(inventory, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=yaml.BaseLoader) or {}
    default = doc.get("regions") or []
    out = [(str(a["account_id"]).strip(), a.get("regions") or default) for a in doc.get("accounts") or []]
    return out, doc.get("vars") or {}


def world(inventory, endpoint):
    accounts, variables = targets(inventory)
    bucket = variables.get("log_bucket", "org-session-logs")
    # A name with {account_id} is a bucket in every account; else one in the first account,
    # standing for a log-archive account.
    owners = [a for a, _ in accounts] if "{account_id}" in bucket else [accounts[0][0]]
    for owner in owners:
        name = bucket.replace("{account_id}", owner)
        s3 = client_in("s3", owner, endpoint)
        try:
            s3.create_bucket(Bucket=name)
        except (s3.exceptions.BucketAlreadyExists, s3.exceptions.BucketAlreadyOwnedByYou):
            # A landing zone that grows: the log bucket is there already.
            continue
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
            },
        )
    where = "every account" if len(owners) > 1 else f"log-archive account {owners[0]}"
    print(f"  bucket {bucket} (us-east-1, default encryption) in {where}")
    groups = 0
    for account, regions in accounts:
        for region in regions:
            logs = client_in("logs", account, endpoint, region)
            if logs.describe_log_groups(logGroupNamePrefix=LOG_GROUP)["logGroups"]:
                continue  # there already: a landing zone that grows
            key = client_in("kms", account, endpoint, region).create_key(Description="session logs")
            logs.create_log_group(logGroupName=LOG_GROUP, kmsKeyId=key["KeyMetadata"]["Arn"])
            groups += 1
    print(f"  log group {LOG_GROUP}, encrypted with its own KMS key, in {groups} account-regions")


def seed(accounts, endpoint):
    content = json.dumps(AWS_PAGE_EXAMPLE, indent=2)
    for account in accounts:
        ssm = ssm_in(account, endpoint)
        try:
            ssm.create_document(
                Name=DOCUMENT, Content=content, DocumentType="Session", DocumentFormat="JSON"
            )
            print(f"  {account} {REGION}: created {DOCUMENT} v1 with the AWS page's example (DOC-EXAMPLE-BUCKET)")
        except ssm.exceptions.DocumentAlreadyExists:
            print(f"  {account} {REGION}: {DOCUMENT} already exists, left as it is")


def show(accounts, endpoint):
    for account in accounts:
        ssm = ssm_in(account, endpoint)
        desc = ssm.describe_document(Name=DOCUMENT)["Document"]
        doc = ssm.get_document(Name=DOCUMENT)  # the default version
        inputs = json.loads(doc["Content"]).get("inputs", {})
        print(
            f"  {account} {REGION}: default version {desc['DefaultVersion']} of {desc['LatestVersion']},"
            f" s3BucketName={inputs.get('s3BucketName')!r}"
            f" s3KeyPrefix={inputs.get('s3KeyPrefix')!r} runAsEnabled={inputs.get('runAsEnabled')}"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["world", "seed", "show"])
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--inventory", required=True)
    ap.add_argument("--count", type=int, default=5)
    args = ap.parse_args()
    if args.action == "world":
        return world(args.inventory, args.endpoint_url)
    accounts = first_accounts(args.inventory, args.count)
    (seed if args.action == "seed" else show)(accounts, args.endpoint_url)


if __name__ == "__main__":
    main()

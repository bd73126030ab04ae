#!/usr/bin/env bash
# The AWS documentation's procedure as a shell loop, for the benchmark: per account one
# `aws sts assume-role`, then per region the page's `aws ssm create-document`.
#
#   bench/aws_cli_loop.sh ENDPOINT_URL PREFS.json ACCOUNT_ID:REGION ...
#
# Run by scripts/bench.sh with the fake credentials in the environment. Stops at the first
# failure (set -e), as such a loop would.
set -euo pipefail
endpoint="$1" prefs="$2"
shift 2
aws="${AWS_CLI:-aws}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
base_key="$AWS_ACCESS_KEY_ID" base_secret="$AWS_SECRET_ACCESS_KEY"
current=""
for target in "$@"; do
  account="${target%%:*}" region="${target#*:}"
  if [[ "$account" != "$current" ]]; then
    read -r key secret token < <(
      AWS_ACCESS_KEY_ID="$base_key" AWS_SECRET_ACCESS_KEY="$base_secret" AWS_SESSION_TOKEN="" \
        "$aws" sts assume-role --endpoint-url "$endpoint" \
        --role-arn "arn:aws:iam::${account}:role/OrganizationAccountAccessRole" \
        --role-session-name bench-cli \
        --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text
    )
    export AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" AWS_SESSION_TOKEN="$token"
    current="$account"
  fi
  sed -e "s/{account_id}/$account/g" -e "s/{region}/$region/g" "$prefs" > "$work/SessionManagerRunShell.json"
  "$aws" ssm create-document --endpoint-url "$endpoint" --region "$region" \
    --name SSM-SessionManagerRunShell \
    --content "file://$work/SessionManagerRunShell.json" \
    --document-type "Session" \
    --document-format JSON > /dev/null
done
echo "aws_cli_loop: $# targets created"

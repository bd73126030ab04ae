"""Sets up one account and region of the emulator for tests/e2e/nodes.rs, through boto3
(the tests' Rust side has no EC2 or IAM SDK crate): reads a JSON spec on stdin, prints JSON.

Spec: {"endpoint", "account", "region", and any of
  "key_alias": create a KMS key with this alias (its ARN is printed as "key_arn"),
  "log_group": create this log group,
  "role": {"name", "actions": [...]}: create the role (or replace its one inline policy)
          allowing these actions on every resource, and an instance profile of the same name,
  "instances": [{"agent", "ping", "profile": bool}]: run instances tagged as the emulator's
          DescribeInstanceInformation reads them, associated with the role's profile if asked,
  "default_host_role": the Default Host Management role's name (ssm UpdateServiceSetting),
  "bucket": {"name", "key_policy"?}: create this S3 bucket with SSE-KMS default encryption
          under a new KMS key (with this key policy, else KMS's default, which delegates to
          the account's IAM); the key's ARN is printed as "bucket_key_arn"}.
"""
import json
import sys

import boto3

spec = json.load(sys.stdin)
base = dict(endpoint_url=spec["endpoint"], region_name=spec["region"])
sts = boto3.client("sts", aws_access_key_id="AKIATESTSETUP0000001", aws_secret_access_key="setup", **base)
creds = sts.assume_role(RoleArn=f"arn:aws:iam::{spec['account']}:role/TestSetup", RoleSessionName="nodes-setup")["Credentials"]
kw = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
          aws_session_token=creds["SessionToken"], **base)
out = {}
if "key_alias" in spec:
    kms = boto3.client("kms", **kw)
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName=spec["key_alias"], TargetKeyId=key["KeyId"])
    out["key_arn"] = key["Arn"]
if "log_group" in spec:
    boto3.client("logs", **kw).create_log_group(logGroupName=spec["log_group"])
if "bucket" in spec:
    kms = boto3.client("kms", **kw)
    extra = {"Policy": json.dumps(spec["bucket"]["key_policy"])} if spec["bucket"].get("key_policy") else {}
    key = kms.create_key(**extra)["KeyMetadata"]
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket=spec["bucket"]["name"])
    s3.put_bucket_encryption(Bucket=spec["bucket"]["name"], ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}}]})
    out["bucket_key_arn"] = key["Arn"]
iam = boto3.client("iam", **kw)
if "role" in spec:
    name = spec["role"]["name"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": spec["role"]["actions"], "Resource": "*"}]})
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    iam.put_role_policy(RoleName=name, PolicyName="node", PolicyDocument=policy)
    out["role_arn"] = iam.get_role(RoleName=name)["Role"]["Arn"]
if "default_host_role" in spec:
    boto3.client("ssm", **kw).update_service_setting(
        SettingId="/ssm/managed-instance/default-ec2-instance-management-role",
        SettingValue=spec["default_host_role"])
ec2 = boto3.client("ec2", **kw)
out["instances"] = []
for node in spec.get("instances", []):
    tags = [{"Key": "emulator:AgentVersion", "Value": node.get("agent", "3.3.1142.0")}]
    if node.get("ping"):
        tags.append({"Key": "emulator:PingStatus", "Value": node["ping"]})
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": tags}])["Instances"][0]["InstanceId"]
    if node.get("profile"):
        ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": spec["role"]["name"]}, InstanceId=instance)
    out["instances"].append(instance)
print(json.dumps(out))

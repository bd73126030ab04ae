"""The three calls of the node check that moto lacks, answered as AWS answers them from moto's
own state: SSM DescribeInstanceInformation (the account and region's EC2 instances as managed
nodes), SSM GetServiceSetting / UpdateServiceSetting (kept per account and region), and IAM
SimulatePrincipalPolicy (the role's inline and attached policies and its permissions
boundary, evaluated: an explicit Deny wins, then an Allow, else an implicit deny).

An instance is a managed node while it runs (`Online`; stopped: `ConnectionLost`). Its tags
stand for what the agent would report: `emulator:AgentVersion` (default 3.3.1142.0),
`emulator:PingStatus`, and `emulator:Managed` = `false` for an instance with no agent.
"""
import fnmatch
import json
from urllib.parse import unquote

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.iam.responses import IamResponse
from moto.ssm.responses import SimpleSystemManagerResponse

DEFAULT_AGENT = "3.3.1142.0"
SETTINGS = {}


def describe_instance_information(self):
    backend = ec2_backends[self.current_account][self.region]
    nodes = []
    for instance in backend.all_instances():
        tags = {t["key"]: t["value"] for t in backend.describe_tags(filters={"resource-id": [instance.id]})}
        if tags.get("emulator:Managed") == "false" or instance.state == "terminated":
            continue
        ping = tags.get("emulator:PingStatus") or ("Online" if instance.state == "running" else "ConnectionLost")
        nodes.append({
            "InstanceId": instance.id,
            "PingStatus": ping,
            "AgentVersion": tags.get("emulator:AgentVersion", DEFAULT_AGENT),
            "PlatformType": "Windows" if (instance.platform or "").lower() == "windows" else "Linux",
            "ResourceType": "EC2Instance",
            "IsLatestVersion": False,
        })
    nodes.sort(key=lambda n: n["InstanceId"])
    start = int(self._get_param("NextToken") or 0)
    size = int(self._get_param("MaxResults") or 50)
    page = nodes[start:start + size]
    result = {"InstanceInformationList": page}
    if start + size < len(nodes):
        result["NextToken"] = str(start + size)
    return ActionResult(result)


def _setting(self, setting_id):
    return SETTINGS.get((self.current_account, self.region, setting_id), "$None")


def get_service_setting(self):
    setting_id = self._get_param("SettingId")
    return ActionResult({"ServiceSetting": {
        "SettingId": setting_id,
        "SettingValue": _setting(self, setting_id),
        "Status": "Default",
    }})


def update_service_setting(self):
    SETTINGS[(self.current_account, self.region, self._get_param("SettingId"))] = self._get_param("SettingValue")
    return ActionResult({})


def _list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document):
    if isinstance(document, str):
        document = json.loads(unquote(document) if document.startswith("%7B") else document)
    return _list(document.get("Statement"))


def _matches(patterns, value, fold):
    for p in patterns:
        if fold:
            if fnmatch.fnmatchcase(value.lower(), p.lower()):
                return True
        elif fnmatch.fnmatchcase(value, p):
            return True
    return False


def _decide(statements, action, resource):
    allowed = False
    for s in statements:
        if not _matches(_list(s.get("Action")), action, True):
            continue
        if not _matches(_list(s.get("Resource", "*")), resource, False):
            continue
        if s.get("Effect") == "Deny":
            return "explicitDeny"
        if s.get("Effect") == "Allow":
            allowed = True
    return "allowed" if allowed else "implicitDeny"


def _policy_document(backend, arn):
    policy = backend.get_policy(arn)
    version = next(v for v in policy.versions if v.is_default)
    return version.document


def simulate_principal_policy(self):
    backend = iam_backends[self.current_account][self.partition]
    role = backend.get_role_by_arn(self._get_param("PolicySourceArn"))
    statements = []
    for document in role.policies.values():
        statements += _statements(document)
    for arn in role.managed_policies:
        statements += _statements(_policy_document(backend, arn))
    boundary = _statements(_policy_document(backend, role.permissions_boundary_arn)) if role.permissions_boundary_arn else None
    actions = self._get_param("ActionNames", [])
    resources = self._get_param("ResourceArns", []) or ["*"]
    results = []
    for action in actions:
        specific = []
        for resource in resources:
            decision = _decide(statements, action, resource)
            if decision == "allowed" and boundary is not None and _decide(boundary, action, resource) != "allowed":
                decision = "implicitDeny"
            specific.append((resource, decision))
        for resource, decision in specific:
            results.append({"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision})
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def install():
    SimpleSystemManagerResponse.describe_instance_information = describe_instance_information
    SimpleSystemManagerResponse.get_service_setting = get_service_setting
    SimpleSystemManagerResponse.update_service_setting = update_service_setting
    IamResponse.simulate_principal_policy = simulate_principal_policy

"""IAM as AWS documents it, on the reference app.

Every action granted to every state machine role must be explained by a row of the IAM facts table
(``sm_constructs._iam_facts``) for a call the state machine's definition actually makes, and every
such action must be granted: nothing broader than needed survives, nothing needed is missing. The
other tests pin each permission we changed with aws_cdk.assertions matchers.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template
from sfn_requests import iter_states, state_machines
from support import new_stack

from sm_constructs import (
    MlDataBucket,
    MlPipeline,
    ProcessingDefinition,
    ProcessingInput,
    QualityGate,
    SageMakerExecutionRole,
)
from sm_constructs import _iam_facts as facts
from sm_constructs._validation import ConstructValidationError

pytestmark = pytest.mark.xdist_group("reference-app")  # conftest's reference_app, built once for the group

_OPTIMIZED = {
    api.create_action: api
    for api in (
        facts.PROCESSING,
        facts.TRAINING,
        facts.TUNING,
        facts.TRANSFORM,
        facts.MODEL,
        facts.ENDPOINT_CONFIG,
        facts.ENDPOINT,
    )
}


@pytest.fixture(scope="module")
def stack(reference_app):
    return reference_app


@pytest.fixture(scope="module")
def template(stack) -> Template:
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def body(template) -> dict[str, Any]:
    return template.to_json()


def documented_actions(state_machine: dict[str, Any], asl: dict[str, Any]) -> dict[str, str]:
    """Action -> the table row (and its source) that makes a call of this state machine need it."""
    needed: dict[str, str] = {}

    def need(actions, why: str) -> None:
        for action in actions:
            needed.setdefault(action.lower(), why)

    for name, state in iter_states(asl):
        if state.get("Type") != "Task":
            continue
        integration = re.sub(r"^.*:states:::", "", state["Resource"])
        params = state.get("Parameters", {})
        tagged = "Tags" in params or "Tags.$" in params
        service, _, action = integration.rpartition(":")
        sync = action.endswith(".sync")
        action = action.removesuffix(".sync")
        where = f"{name} ({integration})"
        if service == "sagemaker" and action in _OPTIMIZED:
            api = _OPTIMIZED[action]
            need(api.resource_actions(sync=sync, tagged=tagged), f"{where}: {api.source}")
            if sync:
                need(facts.EVENTS_RULE_ACTIONS, f"{where}: .sync managed rule {api.events_rule} ({api.source})")
            if api.passes_role:
                need(["iam:PassRole"], f"{where}: SM-PERMS {api.operation} passes its execution role")
            if api is facts.ENDPOINT_CONFIG and "KmsKeyId" in params:
                need(facts.ENDPOINT_KEY_ACTIONS, f"{where}: SM-PERMS CreateEndpoint with an encrypted config")
        elif integration == "sagemaker:updateEndpoint":
            need(facts.UPDATE_ENDPOINT_ACTIONS, f"{where}: CDK-TASKS update-endpoint.ts")
        elif integration == "aws-sdk:sagemaker:createModelPackage":
            need(
                facts.MODEL_PACKAGE.resource_actions(sync=False, tagged=tagged),
                f"{where}: {facts.MODEL_PACKAGE.source}",
            )
        elif integration == "aws-sdk:sagemaker:describeEndpoint":
            need(facts.DESCRIBE_ENDPOINT_ACTIONS, f"{where}: AWS SDK integration, the named API only")
        # step caching's lookups (AWS SDK integrations: the named API only)
        elif integration == "aws-sdk:sagemaker:search":
            need(facts.SEARCH_ACTIONS, f"{where}: SM-PERMS Search (resource *)")
        elif integration == "aws-sdk:sagemaker:listProcessingJobs":
            need(facts.LIST_PROCESSING_JOBS_ACTIONS, f"{where}: SM-PERMS ListProcessingJobs (resource *)")
        elif integration == "aws-sdk:sagemaker:listModelPackages":  # registering a new artifact only
            need(facts.LIST_MODEL_PACKAGES_ACTIONS, f"{where}: SM-PERMS ListModelPackages (resource *)")
        elif integration == "aws-sdk:sagemaker:listTags":
            need([facts.LIST_TAGS], f"{where}: SM-PERMS ListTags on the step's own jobs")
        elif integration == "aws-sdk:sagemaker:describeProcessingJob":
            need(["sagemaker:DescribeProcessingJob"], f"{where}: SM-PERMS DescribeProcessingJob on the step's jobs")
        # releases (AWS SDK integrations: the named API, plus what Application Auto Scaling does as the caller)
        elif integration == "aws-sdk:sagemaker:describeModelPackage":
            need(facts.DESCRIBE_MODEL_PACKAGE_ACTIONS, f"{where}: SM-PERMS DescribeModelPackage")
        elif integration == "aws-sdk:sagemaker:updateModelPackage":
            need(["sagemaker:UpdateModelPackage"], f"{where}: SM-PERMS UpdateModelPackage")
        elif integration == "aws-sdk:sagemaker:deleteEndpoint":
            need(facts.DELETE_ENDPOINT_ACTIONS, f"{where}: SM-PERMS DeleteEndpoint")
        elif integration == "aws-sdk:sfn:listExecutions":
            need(facts.LIST_EXECUTIONS_ACTIONS, f"{where}: AWS SDK integration, states:ListExecutions")
        elif integration == "aws-sdk:applicationautoscaling:registerScalableTarget":
            need(facts.AUTOSCALING_ACTIONS[:1], f"{where}: Application Auto Scaling SAR")
            need(facts.AUTOSCALING_SAGEMAKER_ACTIONS, f"{where}: Application Auto Scaling, target resource permissions")
            need(facts.CREATE_SERVICE_LINKED_ROLE_ACTIONS, f"{where}: Application Auto Scaling service-linked role")
        elif integration == "aws-sdk:applicationautoscaling:putScalingPolicy":
            need(facts.AUTOSCALING_ACTIONS[2:], f"{where}: Application Auto Scaling SAR")
            need(facts.AUTOSCALING_ALARM_ACTIONS[:2], f"{where}: target tracking creates its alarms")
        elif integration == "aws-sdk:applicationautoscaling:deregisterScalableTarget":
            need(facts.AUTOSCALING_ACTIONS[1:2], f"{where}: Application Auto Scaling SAR")
            need(facts.AUTOSCALING_ALARM_ACTIONS[2:], f"{where}: deregistering deletes the tracking alarms")
        elif integration == "aws-sdk:s3:listObjectVersions":
            need(facts.LIST_VERSIONS_ACTIONS, f"{where}: SAR Amazon S3, ListObjectVersions is s3:ListBucketVersions")
        elif integration == "aws-sdk:s3:getObject":
            need(facts.S3_GET_OBJECT_ACTIONS, f"{where}: AWS SDK integration s3:GetObject")
            need(facts.S3_KMS_READ_ACTIONS, f"{where}: S3 User Guide, SSE-KMS objects need kms:Decrypt")
        # data-quality monitoring (AWS SDK integrations: the named API)
        elif integration == "aws-sdk:sagemaker:createDataQualityJobDefinition":
            api = facts.DATA_QUALITY_JOB_DEFINITION
            need(api.resource_actions(sync=False, tagged=tagged), f"{where}: {api.source}")
            need(["iam:PassRole"], f"{where}: SM-PERMS {api.operation} passes its RoleArn")
        elif integration == "aws-sdk:sagemaker:createMonitoringSchedule":
            api = facts.MONITORING_SCHEDULE
            need(api.resource_actions(sync=False, tagged=tagged), f"{where}: {api.source}")
        elif integration == "aws-sdk:sagemaker:describeMonitoringSchedule":
            need(facts.DESCRIBE_MONITORING_SCHEDULE_ACTIONS, f"{where}: SM-PERMS DescribeMonitoringSchedule")
        elif integration == "aws-sdk:sagemaker:deleteDataQualityJobDefinition":
            need(facts.DELETE_DATA_QUALITY_JOB_DEFINITION_ACTIONS, f"{where}: SM-PERMS DeleteDataQualityJobDefinition")
        elif integration == "aws-sdk:sagemaker:updateMonitoringSchedule":
            need(facts.UPDATE_MONITORING_SCHEDULE_ACTIONS, f"{where}: SM-PERMS UpdateMonitoringSchedule")
        # lineage (AWS SDK integrations: the named API; SAR resource types context, action, artifact)
        elif integration in ("aws-sdk:sagemaker:createContext", "aws-sdk:sagemaker:updateContext"):
            need(facts.LINEAGE_CONTEXT_ACTIONS, f"{where}: SAR CreateContext/UpdateContext on context/<prefix>-*")
        elif integration in ("aws-sdk:sagemaker:createAction", "aws-sdk:sagemaker:describeAction"):
            need(facts.LINEAGE_ACTION_ACTIONS, f"{where}: SAR CreateAction/DescribeAction on action/<prefix>-*")
        elif integration == "aws-sdk:sagemaker:createArtifact":
            need(facts.LINEAGE_CREATE_ARTIFACT_ACTIONS, f"{where}: SAR CreateArtifact on artifact/*")
        elif integration == "aws-sdk:sagemaker:listArtifacts":
            need(facts.LINEAGE_LIST_ARTIFACTS_ACTIONS, f"{where}: SAR ListArtifacts (resource *)")
        elif integration == "aws-sdk:sagemaker:addAssociation":
            need(facts.LINEAGE_ASSOCIATE_ACTIONS, f"{where}: SAR AddAssociation on both ends")
        # the run manifest
        elif integration == "aws-sdk:s3:putObject":
            need(facts.MANIFEST_WRITE_ACTIONS, f"{where}: AWS SDK integration s3:PutObject")
            need(facts.MANIFEST_KEY_ACTIONS, f"{where}: S3 User Guide, an SSE-KMS upload needs kms:GenerateDataKey")
        elif integration == "sns:publish":
            need(facts.SNS_PUBLISH_ACTIONS, f"{where}: Step Functions 'IAM policies for Amazon SNS'")
            need(facts.SNS_ENCRYPTED_PUBLISH_KEY_ACTIONS, f"{where}: SNS 'Key management', encrypted topic")
        else:
            raise AssertionError(f"{where}: no row of the IAM facts table covers this integration")
    props = state_machine["Properties"]
    if props.get("LoggingConfiguration", {}).get("Level", "OFF") != "OFF":
        need(facts.STATE_MACHINE_LOGGING_ACTIONS, "execution logging (Step Functions 'CloudWatch Logs')")
    if props.get("TracingConfiguration", {}).get("Enabled"):
        need(facts.STATE_MACHINE_TRACING_ACTIONS, "tracing (Step Functions 'AWS X-Ray')")
    if props.get("EncryptionConfiguration", {}).get("Type") == "CUSTOMER_MANAGED_KMS_KEY":
        need(facts.STATE_MACHINE_KEY_ACTIONS, "customer-managed key (Step Functions 'Data at rest encryption')")
    return needed


def role_statements(body: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    statements = []
    for resource in body["Resources"].values():
        policy = resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
        if policy and {"Ref": role_logical_id} in resource["Properties"].get("Roles", []):
            statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_every_state_machine_action_is_a_documented_need(body):
    """granted == needed, per state machine role: each action is traced to a table row and a call."""
    machines = state_machines(body)
    assert len(machines) == 3  # the churn build pipeline, its approved-version deployment, the tuning pipeline
    for logical_id, asl in machines.items():
        state_machine = body["Resources"][logical_id]
        role = state_machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        granted = {a.lower() for s in role_statements(body, role) if s["Effect"] == "Allow" for a in _actions(s)}
        needed = documented_actions(state_machine, asl)
        assert sorted(granted - set(needed)) == [], f"{logical_id}: granted but needed by no documented call"
        assert sorted(set(needed) - granted) == [], f"{logical_id}: needed by a documented call but not granted"


def test_events_rules_are_the_managed_rules_aws_names(body):
    """The .sync rules granted are exactly those of the integrations each state machine uses."""
    for logical_id, asl in state_machines(body).items():
        role = body["Resources"][logical_id]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        expected = set()
        for _, state in iter_states(asl):
            match = re.search(r":states:::sagemaker:(\w+)\.sync$", state.get("Resource", ""))
            if match:
                expected.add(_OPTIMIZED[match.group(1)].events_rule)
        granted = set()
        for statement in role_statements(body, role):
            if "events:PutRule" in _actions(statement):
                granted.update(re.findall(r":rule/(\w+)", json.dumps(statement["Resource"])))
        assert granted == expected, logical_id


def _statement_in_policies(template: Template, statement: dict[str, Any]) -> None:
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like(statement)])}},
    )


def _arn_ending(tail: str) -> dict[str, Any]:
    return {"Fn::Join": ["", Match.array_with([tail])]}


def _grants(body: dict[str, Any], actions: list[str], resource: str, condition: str | None = None) -> bool:
    """Some Allow statement grants all ``actions`` on a resource whose JSON contains ``resource``.

    Statements with the same actions may be merged by aws-cdk (several resources, actions in any
    order), so this looks at the rendered statements rather than at one fixed shape.
    """
    for res in body["Resources"].values():
        if res["Type"] not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            continue
        for statement in res["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] != "Allow" or not set(actions) <= set(_actions(statement)):
                continue
            if resource not in json.dumps(statement["Resource"]):
                continue
            if condition is None or condition in json.dumps(statement.get("Condition", {})):
                return True
    return False


@pytest.mark.parametrize(
    ("operation", "tail"),
    [
        ("CreateProcessingJob", ":processing-job/churn-preprocess-*"),
        ("CreateTrainingJob", ":training-job/churn-train-*"),
        ("CreateTransformJob", ":transform-job/churn-transform-*"),
        ("CreateHyperParameterTuningJob", ":hyper-parameter-tuning-job/churn-tune-*"),
        ("CreateModel", ":model/churn-model-*"),
        ("CreateEndpointConfig", ":endpoint-config/churn-config-*"),
    ],
)
def test_list_tags_on_what_each_integration_creates(template, operation, tail):
    """Step Functions reads the tags of what its SageMaker integrations create (SFN-SM, CDK-TASKS)."""
    assert _grants(template.to_json(), [f"sagemaker:{operation}", "sagemaker:ListTags"], tail)
    assert not _grants(template.to_json(), ["sagemaker:ListTags"], '"*"')


def test_create_endpoint_lists_tags_of_the_endpoint(body):
    assert _grants(body, ["sagemaker:ListTags"], ":endpoint/sm-constructs-churn")


def test_quality_gate_reads_the_evaluation_prefix_only(template, body):
    _statement_in_policies(
        template,
        {"Action": "s3:GetObject", "Resource": {"Fn::Join": ["", [Match.any_value(), "/evaluation/*"]]}},
    )
    _statement_in_policies(
        template,
        {
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": Match.any_value()}},
            "Resource": {"Fn::GetAtt": [Match.string_like_regexp("^DataKey"), "Arn"]},
        },
    )
    # No state machine role may read the whole data bucket.
    for logical_id in state_machines(body):
        role = body["Resources"][logical_id]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        for statement in role_statements(body, role):
            text = json.dumps(statement["Resource"])
            assert not re.search(r'"DataBucket\w+", "Arn"\]\}, "/\*"', text), statement
            assert not re.fullmatch(r'\{"Fn::GetAtt": \["DataBucket\w+", "Arn"\]\}', text), statement


def test_quality_gate_key_without_a_fixed_prefix_is_refused():
    stack = new_stack()
    data = MlDataBucket(stack, "Data")
    job = ProcessingDefinition(
        stack,
        "Evaluate",
        role=SageMakerExecutionRole(stack, "Exec"),
        code=__file__,
        inputs=[ProcessingInput("in", data.s3_uri("raw/"))],
    )
    with pytest.raises(ConstructValidationError, match="key_prefix"):
        MlPipeline(
            stack,
            "Pipeline",
            evaluation=job,
            quality_gate=QualityGate(
                bucket=data.bucket, key=sfn.JsonPath.string_at("$.input.reportKey"), metric="auc", threshold=0.5
            ),
        )
    gate = QualityGate(
        bucket=data.bucket,
        key=sfn.JsonPath.string_at("$.input.reportKey"),
        metric="auc",
        threshold=0.5,
        key_prefix="reports/",
    )
    assert gate.static_prefix() == "reports/"
    formatted = QualityGate(
        bucket=data.bucket,
        key=sfn.JsonPath.format("evaluation/{}/evaluation.json", sfn.JsonPath.execution_name),
        metric="auc",
        threshold=0.5,
    )
    assert formatted.static_prefix() == "evaluation/"


def test_endpoint_key_grant_has_no_statement_that_never_applies(body):
    """kms:DescribeKey requests never carry kms:GrantIsForAWSResource: only CreateGrant sits under it."""
    for resource in body["Resources"].values():
        if resource["Type"] not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if (
                "kms:GrantIsForAWSResource" in json.dumps(statement.get("Condition", {}))
                and statement["Effect"] == "Allow"
            ):
                assert _actions(statement) == ["kms:CreateGrant"], statement


def test_endpoint_config_key_is_grantable_to_sagemaker_only(template):
    _statement_in_policies(
        template,
        {
            "Action": "kms:CreateGrant",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
            "Resource": {"Fn::GetAtt": [Match.string_like_regexp("^DataKey"), "Arn"]},
        },
    )


def test_notebook_reads_only_its_pipeline(body):
    notebook_role = next(
        lid for lid, r in body["Resources"].items() if r["Type"] == "AWS::IAM::Role" and lid.startswith("NotebookRole")
    )
    for statement in role_statements(body, notebook_role):
        if any(a.startswith("states:") for a in _actions(statement)):
            assert statement["Resource"] != "*", statement


def test_every_key_denies_grants_to_non_aws_callers(template, body):
    """AWS Control Tower CT.KMS.PR.3, in the exact shape its guard rule checks."""
    keys = template.find_resources("AWS::KMS::Key")
    assert len(keys) >= 4
    for logical_id, key in keys.items():
        Template.from_json({"Resources": {logical_id: key}}).has_resource(
            "AWS::KMS::Key",
            {
                "Properties": {
                    "KeyPolicy": {
                        "Statement": Match.array_with(
                            [
                                {
                                    "Action": "kms:CreateGrant",
                                    "Condition": {
                                        "BoolIfExists": {
                                            "kms:GrantIsForAWSResource": "false",
                                            "aws:PrincipalIsAWSService": "false",
                                        }
                                    },
                                    "Effect": "Deny",
                                    "Principal": {"AWS": "*"},
                                    "Resource": "*",
                                }
                            ]
                        )
                    }
                }
            },
        )


def test_log_delivery_decrypts_for_this_account_only(template, body):
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                                "Action": "kms:Decrypt",
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                                    "ArnLike": {"aws:SourceArn": Match.any_value()},
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
    for resource in body["Resources"].values():
        if resource["Type"] == "AWS::KMS::Key":
            for statement in resource["Properties"]["KeyPolicy"]["Statement"]:
                if statement.get("Principal") == {"Service": "delivery.logs.amazonaws.com"}:
                    this_account = {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                    assert statement.get("Condition", {}).get("StringEquals") == this_account, statement


def test_failure_notifications_reach_the_encrypted_topic(template, body):
    """The state machine may use the topic key through SNS; alarms may publish and use the key."""
    assert _grants(body, ["kms:GenerateDataKey*", "kms:Decrypt"], '"ChurnPipelineKey', "kms:ViaService")
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": Match.object_like({"ArnLike": {"aws:SourceArn": Match.any_value()}}),
                            }
                        )
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_standalone_tuning_is_caught_notified_and_alarmed(body, stack):
    (tuning,) = [a for a in state_machines(body).values() if "Tune" in a["States"]]
    tune = tuning["States"]["Tune"]
    # names the step, records the failed run's lineage, then notifies
    assert tune["Catch"] and tune["Catch"][0]["Next"] == "TuneFailed"
    assert tuning["States"]["TuneFailed"]["Next"] == "LineageNames"
    assert tuning["States"]["LineageRecorded"]["Choices"][0]["Next"] == "NotifyFailure"
    assert tuning["States"]["NotifyFailure"]["Resource"].endswith(":states:::sns:publish")
    of_tuning = {"Properties": {"AlarmDescription": Match.string_like_regexp("/ChurnTuning")}}
    assert len(Template.from_json(body).find_resources("AWS::CloudWatch::Alarm", of_tuning)) == 2


def test_service_roles_act_for_this_account_only(template):
    """states, scheduler (and events, flow logs) trust policies carry aws:SourceAccount."""
    for service in ("states.amazonaws.com", "scheduler.amazonaws.com", "vpc-flow-logs.amazonaws.com"):
        template.has_resource_properties(
            "AWS::IAM::Role",
            {
                "AssumeRolePolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Principal": {"Service": service},
                                    "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                                }
                            )
                        ]
                    )
                }
            },
        )


def test_unnamed_state_machine_can_use_its_key():
    """The role's key use is bound to the state machine ARN: an unnamed one gets a generated name."""
    from sm_constructs import MlStateMachine

    stack = new_stack()
    MlStateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Step")))
    template = Template.from_stack(stack)
    machine = next(iter(template.find_resources("AWS::StepFunctions::StateMachine").values()))
    name = machine["Properties"]["StateMachineName"]
    assert name and len(name) <= 80
    _statement_in_policies(
        template,
        {
            "Action": Match.array_with(["kms:Decrypt"]),
            "Condition": {
                "StringEquals": {
                    "kms:EncryptionContext:aws:states:stateMachineArn": _arn_ending(f":stateMachine:{name}")
                }
            },
        },
    )

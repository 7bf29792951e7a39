import pytest
from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from iam_match import assert_allows, assert_grants, get_att_arn, role_ref, sagemaker_arn
from sfn_requests import assert_all_requests_valid, state_machines
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.images import ContainerImage
from sm_constructs.jobs.autoscaling import EndpointAutoscaling
from sm_constructs.jobs.hosting import (
    BlueGreenDeployment,
    DataCapture,
    EndpointConfigDefinition,
    EndpointDeployment,
    ModelDefinition,
    ServerlessConfig,
)
from sm_constructs.jobs.transform import DataProcessing, TransformDefinition
from sm_constructs.roles import SageMakerExecutionRole
from sm_constructs.state_machine import MlStateMachine
from sm_constructs.storage import MlDataBucket


@pytest.fixture(scope="module")
def synthesized():
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    model = ModelDefinition(
        stack,
        "Model",
        role=role,
        image=ContainerImage.xgboost(),
        model_data_url=sfn.JsonPath.string_at("$.steps.Train.ModelArtifacts"),
        name_prefix="churn-model",
    )
    config = EndpointConfigDefinition(
        stack,
        "EndpointConfig",
        model=model,
        data_capture=DataCapture(data.s3_uri("data-capture/"), sampling_percentage=20, kms_key=data.encryption_key),
        kms_key=data.encryption_key,
        name_prefix="churn-config",
    )
    deploy = EndpointDeployment(
        stack,
        "Deploy",
        endpoint_name="churn",
        config=config,
        deployment=BlueGreenDeployment(alarm_names=["churn-5xx"], traffic="CANARY", canary_percent=20),
        poll_interval=Duration.seconds(60),
        max_wait=Duration.minutes(30),
    )
    serverless = EndpointConfigDefinition(
        stack,
        "ServerlessConfig",
        model=ModelDefinition.from_model_name(stack, "Existing", "static-model"),
        serverless=ServerlessConfig(memory_size_mb=3072, max_concurrency=10),
        name_prefix="churn-sls",
    )
    transform = TransformDefinition(
        stack,
        "Transform",
        model=model,
        input_uri=data.s3_uri("batch/in/"),
        output_path=sfn.JsonPath.format("s3://{}/batch/{}/", data.bucket_name, sfn.JsonPath.execution_name),
        data_processing=DataProcessing(input_filter="$[1:]", join_source="Input"),
        output_kms_key=data.encryption_key,
    )
    chain = sfn.Chain.start(model.task()).next(config.task()).next(deploy).next(transform.task())
    MlStateMachine(stack, "Hosting", definition_body=sfn.DefinitionBody.from_chainable(chain))
    serverless.to_state_machine()
    transform_only = TransformDefinition(
        stack,
        "BatchOnly",
        model=ModelDefinition.from_model_name(stack, "M", "m"),
        input_uri=data.s3_uri("batch/in/"),
        output_path=data.s3_uri("batch/out/"),
    )
    transform_only.to_state_machine()
    add_nag_packs(app)
    app.synth()
    return stack, template_of(stack), deploy


def _states(template):
    out = {}
    for asl in state_machines(template.to_json()).values():
        out.update(asl["States"])
    return out


def test_all_requests_valid(synthesized):
    _, template, _ = synthesized
    ops = sorted(r.operation.name for r in assert_all_requests_valid(template.to_json(), expect_at_least=9))
    for op in (
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "UpdateEndpoint",
        "DescribeEndpoint",
        "CreateTransformJob",
    ):
        assert op in ops


def test_model_and_config_names_flow_through(synthesized):
    _, template, _ = synthesized
    s = _states(template)
    assert s["Model"]["ResultSelector"]["ModelName.$"] == "States.ArrayGetItem(States.StringSplit($.ModelArn, '/'), 1)"
    assert s["EndpointConfig"]["Parameters"]["ProductionVariants"][0]["ModelName.$"] == "$.steps.Model.ModelName"
    cfg = s["EndpointConfig"]["Parameters"]
    assert cfg["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert [o["CaptureMode"] for o in cfg["DataCaptureConfig"]["CaptureOptions"]] == ["Input", "Output"]
    assert s["ServerlessConfig"]["Parameters"]["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 3072,
        "MaxConcurrency": 10,
    }


def test_create_or_update_then_wait_for_in_service(synthesized):
    _, template, deploy = synthesized
    s = _states(template)
    assert s["DeployDescribe"]["Resource"].endswith(":states:::aws-sdk:sagemaker:describeEndpoint")
    assert s["DeployStart"]["Next"] == "DeployDescribe"
    assert s["DeployDescribe"]["Next"] == "DeployRoute"
    assert s["DeployDescribe"]["Catch"][0]["Next"] == "DeployCreate"
    assert s["DeployCreate"]["Next"] == s["DeployUpdate"]["Next"] == "DeployStartPolling"
    assert s["DeployWait"]["Seconds"] == 60 and s["DeployWait"]["Next"] == "DeployPoll"
    choices = s["DeployCheck"]["Choices"]
    assert choices[0]["Next"] == "DeployInService"
    assert choices[1]["Next"] == "DeployRolledBack"
    assert choices[2]["Next"] == "DeploySuperseded"
    assert choices[3]["Next"] == "DeployFailed"
    assert choices[4]["Next"] == "DeployTimedOut" and choices[4]["NumericGreaterThanEquals"] == 30
    assert s["DeployCheck"]["Default"] == "DeployWait"
    # rolled back = InService on the config it served before this deployment updated it
    assert choices[1]["And"][1]["And"][1] == {
        "Variable": "$.steps.Deploy.Endpoint.EndpointConfigName",
        "StringEqualsPath": "$.steps.Deploy.Existing.EndpointConfigName",
    }
    assert deploy.max_polls == 30
    update = s["DeployUpdate"]["Parameters"]["DeploymentConfig"]
    assert update["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "churn-5xx"}]}
    assert update["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["CanarySize"] == {
        "Type": "CAPACITY_PERCENT",
        "Value": 20,
    }


def test_a_busy_endpoint_is_waited_for_and_a_failed_one_is_not_touched(synthesized):
    _, template, _ = synthesized
    s = _states(template)
    route = s["DeployRoute"]
    assert [c["Next"] for c in route["Choices"]] == ["DeployUpdate", "DeployEndpointFailed", "DeployBusyTimedOut"]
    assert route["Default"] == "DeployBusyWait"  # Creating, Updating, Deleting, ...
    assert s["DeployBusyWait"]["Seconds"] == 60 and s["DeployBusyWait"]["Next"] == "DeployCountBusy"
    assert s["DeployCountBusy"]["Next"] == "DeployDescribe"
    assert route["Choices"][2]["NumericGreaterThanEquals"] == 30  # bounded by max_wait
    failed = s["DeployEndpointFailed"]
    assert failed["Error"] == "EndpointFailed"
    assert (
        "delete-endpoint --endpoint-name churn" in failed["Cause"] and "replace_failed_endpoint=True" in failed["Cause"]
    )
    assert "DeployDelete" not in s
    # refused because another release is in progress: wait; refused for anything else: fail with the cause
    for task in ("DeployCreate", "DeployUpdate"):
        (catch,) = s[task]["Catch"]
        assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.steps.Deploy.Refused", "Next": "DeployRefused"}
        assert s[task]["Retry"][0]["ErrorEquals"][0] == "SageMaker.AmazonSageMakerException"
    refused = s["DeployRefused"]
    patterns = [c["StringMatches"] for c in refused["Choices"][0]["Or"]]
    assert patterns == ["*Cannot update in-progress endpoint*", "*Cannot create already existing endpoint*"]
    assert refused["Choices"][0]["Next"] == "DeployBusyWait" and refused["Default"] == "DeployRejected"
    assert s["DeployRejected"] == {
        "Type": "Fail",
        "ErrorPath": "$.steps.Deploy.Refused.Error",
        "CausePath": "$.steps.Deploy.Refused.Cause",
    }


def test_a_failed_endpoint_is_replaced_when_allowed():
    app = new_app()
    stack = new_stack(app)
    deploy = EndpointDeployment(
        stack,
        "Deploy",
        endpoint_name="churn",
        config=EndpointConfigDefinition.from_config_name(stack, "Config", "churn-config-1"),
        replace_failed_endpoint=True,
    )
    MlStateMachine(stack, "Release", definition_body=sfn.DefinitionBody.from_chainable(deploy))
    add_nag_packs(app)
    app.synth()
    template = template_of(stack)
    s = _states(template)
    assert s["DeployRoute"]["Choices"][1]["Next"] == "DeployDelete"
    assert s["DeployDelete"]["Resource"].endswith(":states:::aws-sdk:sagemaker:deleteEndpoint")
    assert s["DeployDelete"]["Next"] == "DeployBusyWait"  # Deleting, then gone, then created
    assert "DeployEndpointFailed" not in s
    ops = {r.operation.name for r in assert_all_requests_valid(template.to_json(), expect_at_least=4)}
    assert {"DeleteEndpoint", "CreateEndpoint", "UpdateEndpoint", "DescribeEndpoint"} <= ops
    policies = [
        st
        for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        for policy in template.find_resources(kind).values()
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    (delete,) = [st for st in policies if "sagemaker:DeleteEndpoint" in str(st["Action"])]
    assert {"sagemaker:DeleteEndpoint", "sagemaker:DescribeEndpoint"} <= set(delete["Action"])
    assert ":endpoint/churn" in str(delete["Resource"]) and "*" not in str(delete["Resource"])
    assert cfn_lint(template.to_json()) == []


def test_transform_request(synthesized):
    _, template, _ = synthesized
    p = _states(template)["Transform"]["Parameters"]
    assert p["DataProcessing"] == {"JoinSource": "Input", "InputFilter": "$[1:]"}
    assert p["TransformInput"]["SplitType"] == "Line" and p["BatchStrategy"] == "MultiRecord"
    assert p["TransformOutput"]["S3OutputPath.$"].startswith("States.Format(")


def test_endpoint_iam_is_scoped(synthesized):
    _, template, _ = synthesized
    role = role_ref("HostingRole")
    endpoint = sagemaker_arn("endpoint/churn")
    configs = sagemaker_arn("endpoint-config/churn-config-*")
    assert_grants(template, ["sagemaker:DescribeEndpoint", "sagemaker:ListTags"], endpoint, roles=role)
    assert_grants(template, ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"], [configs, endpoint], roles=role)
    assert_allows(
        template,
        ["sagemaker:AddTags", "sagemaker:CreateEndpointConfig", "sagemaker:ListTags"],
        configs,
        roles=role,
    )
    # The config's volume key: whoever creates or updates the endpoint lets SageMaker use it.
    assert_allows(
        template,
        ["kms:CreateGrant"],
        get_att_arn("DataKey"),
        {"Bool": {"kms:GrantIsForAWSResource": True}},
        roles=role,
    )
    assert_allows(
        template,
        ["sagemaker:AddTags", "sagemaker:CreateEndpointConfig", "sagemaker:ListTags"],
        sagemaker_arn("endpoint-config/churn-sls-*"),
        roles=role_ref("ServerlessConfigStateMachineRole"),
    )


def test_cfn_lint_clean(synthesized):
    assert cfn_lint(synthesized[1].to_json()) == []


def test_validation():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    with pytest.raises(ConstructValidationError, match=r"name_prefix='Churn' is invalid: use lower case"):
        ModelDefinition(
            stack, "M", role=role, image="img", model_data_url="s3://bucket-a/m.tar.gz", name_prefix="Churn"
        )
    with pytest.raises(ConstructValidationError) as err:
        EndpointConfigDefinition(
            stack,
            "C",
            model=ModelDefinition.from_model_name(stack, "Existing", "m"),
            serverless=ServerlessConfig(memory_size_mb=1500, max_concurrency=500),
            data_capture=DataCapture("nope", sampling_percentage=120),
        )
    text = str(err.value)
    for expected in (
        "memory_size_mb=1500",
        "must be a multiple of 1024",
        "serverless.max_concurrency=500 (ProductionVariants[0].ServerlessConfig.MaxConcurrency) is invalid: "
        "must be between 1 and 200",
        "data_capture.destination_s3_uri='nope' (DataCaptureConfig.DestinationS3Uri) is invalid: must match",
        "data_capture.sampling_percentage=120 (DataCaptureConfig.InitialSamplingPercentage) is invalid: "
        "must be between 0 and 100",
    ):
        assert expected in text
    with pytest.raises(
        ConstructValidationError, match=r"endpoint_name='bad_name' \(EndpointName\) is invalid: must match"
    ):
        EndpointDeployment(
            stack, "D", endpoint_name="bad_name", config=EndpointConfigDefinition.from_config_name(stack, "Cfg", "c")
        )
    with pytest.raises(ConstructValidationError) as err:
        TransformDefinition(
            stack,
            "T",
            model=ModelDefinition.from_model_name(stack, "M", "m"),
            input_uri="s3://bucket-a/in/",
            output_path="out/",
            split_type="None",
            max_payload_mb=200,
            data_processing=DataProcessing(input_filter="[1:]"),
        )
    text = str(err.value)
    for expected in (
        "output_path='out/' (TransformOutput.S3OutputPath) is invalid: must match",
        "max_payload_mb=200",
        "MultiRecord batches need records",
        "data_processing.input_filter='[1:]'",
    ):
        assert expected in text


def test_the_id_budget_is_read_from_the_states_built():
    """State names are ``<id><suffix>``: the longest one built (here with autoscaling) may be 80 characters."""
    stack = new_stack()
    config = EndpointConfigDefinition.from_config_name(stack, "Cfg", "prod-config")

    def deploy(id):
        return EndpointDeployment(stack, id, endpoint_name="prod", config=config, autoscaling=EndpointAutoscaling())

    probe = deploy("P")
    suffix = max(len(c.node.id) for c in probe.node.children if isinstance(c, sfn.State)) - 1
    fits = "A" * (80 - suffix)
    deploy(fits)
    with pytest.raises(ConstructValidationError, match=rf"id='{fits}B' .*81 characters.*use at most {80 - suffix}"):
        deploy(fits + "B")

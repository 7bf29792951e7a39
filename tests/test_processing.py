import json
import re

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template
from botocore.exceptions import ParamValidationError
from sfn_requests import assert_all_requests_valid, sagemaker_requests, state_named, validate_request
from support import add_nag_packs, cfn_lint, new_app, new_stack, template_of

from sm_constructs._validation import ConstructValidationError
from sm_constructs.images import DEFAULT_VERSIONS, ContainerImage
from sm_constructs.jobs._common import ClusterConfig, NetworkConfig
from sm_constructs.jobs.processing import ProcessingDefinition, ProcessingInput, ProcessingOutput
from sm_constructs.network import MlVpc
from sm_constructs.roles import SageMakerExecutionRole
from sm_constructs.storage import MlDataBucket


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("code") / "prepare.py"
    path.write_text("print('prepare')\n")
    return path


@pytest.fixture(scope="module")
def synthesized(script):
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec", vpc_access=True)
    data.grant_read(role, "raw/")
    data.grant_write(role, "processed/")
    net = MlVpc(stack, "Net")
    sg = ec2.SecurityGroup(stack, "JobSg", vpc=net.vpc, allow_all_outbound=False, description="jobs")
    sklearn = ProcessingDefinition(
        stack,
        "Prepare",
        role=role,
        code=script,
        arguments=["--split", sfn.JsonPath.string_at("$.input.split")],
        environment={"STAGE": "test"},
        inputs=[ProcessingInput("raw", sfn.JsonPath.string_at("$.input.inputDataUri"))],
        outputs=[
            ProcessingOutput(
                "train",
                sfn.JsonPath.format("s3://{}/processed/{}/train/", data.bucket_name, sfn.JsonPath.execution_name),
            ),
            ProcessingOutput("test", data.s3_uri("processed/test/")),
        ],
        output_kms_key=data.encryption_key,
        cluster=ClusterConfig(
            instance_type=sfn.JsonPath.string_at("$.input.instanceType"), volume_kms_key=data.encryption_key
        ),
        network=NetworkConfig(subnets=net.vpc.isolated_subnets, security_groups=[sg], enable_network_isolation=True),
        name_prefix="churn-prepare",
        max_runtime=Duration.hours(2),
    )
    sklearn.to_state_machine()
    spark = ProcessingDefinition(
        stack,
        "SparkPrep",
        role=role,
        image=ContainerImage.spark_processing("3.5"),
        code=script,
        inputs=[ProcessingInput("raw", data.s3_uri("raw/"), distribution="ShardedByS3Key")],
        cluster=ClusterConfig(instance_count=4, instance_type="ml.m5.2xlarge"),
        name_prefix="churn-spark",
    )
    spark.to_state_machine()
    add_nag_packs(app)
    app.synth()  # cdk-nag: raises on unacknowledged findings
    return stack, template_of(stack)


def _state(template, name):
    return state_named(template.to_json(), name)


def test_requests_are_valid_against_botocore(synthesized):
    _, template = synthesized
    requests = assert_all_requests_valid(template.to_json(), expect_at_least=2)
    assert {r.operation.name for r in requests} == {"CreateProcessingJob"}


def test_a_broken_request_fails_validation(synthesized):
    _, template = synthesized
    request = sagemaker_requests(template.to_json())[0]
    request.parameters["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"] = "thirty"
    with pytest.raises(ParamValidationError, match="VolumeSizeInGB"):
        validate_request(request)


def test_sklearn_request_shape(synthesized):
    _, template = synthesized
    state = _state(template, "Prepare")
    assert state["Resource"].endswith(":states:::sagemaker:createProcessingJob.sync")
    p = state["Parameters"]
    python, script = p["AppSpecification"]["ContainerEntrypoint"]
    # SageMaker saves the code object under its key's last segment: the asset's <hash>.py, not prepare.py
    assert python == "python3" and re.fullmatch(r"/opt/ml/processing/input/code/[0-9a-f]{64}\.py", script)
    assert p["AppSpecification"]["ContainerArguments.$"] == "States.Array('--split', $.input.split)"
    # The account from the stack's region mapping, the region and URL suffix from the stack, the default tag.
    assert re.fullmatch(
        rf"intrinsic\.dkr\.ecr\.ref-AWS::Region\.ref-AWS::URLSuffix/sagemaker-scikit-learn:"
        rf"{re.escape(DEFAULT_VERSIONS['sklearn'])}-cpu-py3",
        p["AppSpecification"]["ImageUri"],
    ), p["AppSpecification"]["ImageUri"]
    names = [i["InputName"] for i in p["ProcessingInputs"]]
    assert names == ["raw", "code"]
    assert p["ProcessingInputs"][0]["S3Input"]["S3Uri.$"] == "$.input.inputDataUri"
    assert p["ProcessingInputs"][0]["S3Input"]["LocalPath"] == "/opt/ml/processing/input/raw"
    assert p["ProcessingResources"]["ClusterConfig"]["InstanceType.$"] == "$.input.instanceType"
    assert p["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    assert p["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert p["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is False
    assert len(p["NetworkConfig"]["VpcConfig"]["Subnets"]) == 2
    assert state["TimeoutSeconds"] == 7200 + 3600
    assert set(state["ResultSelector"]) >= {"ProcessingJobName.$", "ProcessingJobStatus.$", "Outputs.$"}
    assert state["ResultPath"] == "$.steps.Prepare"


def test_spark_uses_smspark_submit_and_encrypts_cluster_traffic(synthesized):
    _, template = synthesized
    p = _state(template, "SparkPrep")["Parameters"]
    submit, script = p["AppSpecification"]["ContainerEntrypoint"]
    assert submit == "smspark-submit" and re.fullmatch(r"/opt/ml/processing/input/code/[0-9a-f]{64}\.py", script)
    assert p["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 4
    assert p["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert p["ProcessingInputs"][0]["S3Input"]["S3DataDistributionType"] == "ShardedByS3Key"


def test_iam_is_scoped(synthesized):
    _, template = synthesized
    statements = [
        s
        for p in template.find_resources("AWS::IAM::ManagedPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    create = [s for s in statements if "sagemaker:CreateProcessingJob" in s["Action"]]
    assert len(create) == 2
    assert {json.dumps(s["Resource"]).split(":processing-job/")[1][:14] for s in create} == {
        "churn-prepare-",
        'churn-spark-*"',
    }
    for s in statements:
        if any(
            str(a).startswith("sagemaker:") for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        ):
            assert s["Resource"] != "*"
    passes = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passes and all(
        s["Condition"]["StringEquals"]["iam:PassedToService"] == "sagemaker.amazonaws.com" for s in passes
    )
    rule_arn = {
        "Fn::Join": [
            "",
            Match.array_with(
                [Match.string_like_regexp(r":rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule$")]
            ),
        ]
    }
    put_rule = Match.object_like({"Action": Match.array_with(["events:PutRule"]), "Resource": rule_arn})
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy", {"PolicyDocument": {"Statement": Match.array_with([put_rule])}}
    )
    pulls = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert pulls and "sagemaker-scikit-learn" in json.dumps(pulls) and "sagemaker-spark-processing" in json.dumps(pulls)


def test_cfn_lint_clean(synthesized):
    _, template = synthesized
    assert cfn_lint(template.to_json()) == []


def test_output_uri(synthesized):
    stack, _ = synthesized
    prep = stack.node.find_child("Prepare")
    assert prep.output_uri("test").endswith("/processed/test/")
    with pytest.raises(ConstructValidationError, match="output_uri\\(name\\)='nope'"):
        prep.output_uri("nope")


def test_every_bad_input_is_reported(script):
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    with pytest.raises(ConstructValidationError) as err:
        ProcessingDefinition(
            stack,
            "Bad",
            role=role,
            code=str(script) + ".missing",
            inputs=[
                ProcessingInput("raw", "bucket/raw"),
                ProcessingInput("raw", "s3://bucket-x/raw/", destination="/tmp/raw", compression="Gzip"),
            ],
            outputs=[ProcessingOutput("o", "s3://bucket-x/o/", upload_mode="Sometimes")],  # type: ignore[arg-type]
            cluster=ClusterConfig(instance_type="m5.xlarge", instance_count=0, volume_size_gb=0),
            max_runtime=Duration.days(10),
            name_prefix="p" * 51,
        )
    text = str(err.value)
    assert text.startswith("ProcessingDefinition 'Test/Bad': ")
    for expected in (
        "code=",
        "inputs='raw' is invalid: input names must be unique",
        "inputs[0].source='bucket/raw' (ProcessingInputs[0].S3Input.S3Uri) is invalid: must match (https|s3)://",
        "inputs[raw].destination='/tmp/raw'",
        "Gzip input needs input_mode='Pipe'",
        "outputs[0].upload_mode='Sometimes' (ProcessingOutputConfig.Outputs[0].S3Output.S3UploadMode) is invalid: "
        "must be one of 'Continuous', 'EndOfJob'",
        "cluster.instance_type='m5.xlarge' (ProcessingResources.ClusterConfig.InstanceType) is invalid: must be one of",
        "cluster.instance_count=0 (ProcessingResources.ClusterConfig.InstanceCount) is invalid: must be between 1 and 100",
        "cluster.volume_size_gb=0 (ProcessingResources.ClusterConfig.VolumeSizeInGB) is invalid: must be between 1 and 16384",
        "max_runtime=864000 (StoppingCondition.MaxRuntimeInSeconds) is invalid: must be between 1 and 777600",
        "prefix is 51 chars; use at most 50",
    ):
        assert expected in text, expected


def test_vpc_without_security_group_is_rejected(script):
    stack = new_stack()
    net = MlVpc(stack, "Net")
    with pytest.raises(ConstructValidationError, match=r"network\.security_groups"):
        ProcessingDefinition(
            stack,
            "P",
            role=SageMakerExecutionRole(stack, "Exec"),
            code=script,
            network=NetworkConfig(subnets=net.vpc.isolated_subnets),
        )


def test_entrypoint_without_code(script):
    stack = new_stack()
    p = ProcessingDefinition(
        stack,
        "Byo",
        role=SageMakerExecutionRole(stack, "Exec"),
        image=ContainerImage.from_uri("x/y:1"),
        entrypoint=["/bin/run"],
    )
    assert p.render_request()["AppSpecification"]["ContainerEntrypoint"] == ["/bin/run"]
    with pytest.raises(ConstructValidationError, match="give a script to run"):
        ProcessingDefinition(stack, "None_", role=SageMakerExecutionRole(stack, "Exec2"))


def test_jobs_sharing_an_image_and_role_grant_it_once(script):
    """Several jobs (as in several pipelines) with the same built-in image: one ECR pull and one KMS
    statement on the execution role, one create/PassRole statement set per state machine role."""
    app = new_app()
    stack = new_stack(app)
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    chains = []
    for i in range(3):
        job = ProcessingDefinition(
            stack,
            f"Prep{i}",
            role=role,
            code=script,
            image=ContainerImage.sklearn(),  # a new image object per job, as separate pipelines have
            outputs=[ProcessingOutput("out", data.s3_uri(f"processed/{i}/"))],
            output_kms_key=data.encryption_key,
        )
        chains.append(job.task())
    sfn.StateMachine(
        stack,
        "Flow",
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Chain.start(chains[0]).next(chains[1]).next(chains[2])),
    )
    template = template_of(stack).to_json()
    role_id = stack.resolve(stack.get_logical_id(role.node.default_child))
    statements = [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and r["Properties"].get("Roles") == [{"Ref": role_id}]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    ecr = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert len(ecr) == 1
    rendered = [json.dumps(s, sort_keys=True) for s in statements]
    assert len(rendered) == len(set(rendered))
    of_flow_role = {"Properties": {"Roles": [{"Ref": Match.string_like_regexp("Flow")}]}}
    (flow,) = Template.from_json(template).find_resources("AWS::IAM::Policy", of_flow_role).values()
    flow_statements = [json.dumps(s, sort_keys=True) for s in flow["Properties"]["PolicyDocument"]["Statement"]]
    assert len(flow_statements) == len(set(flow_statements))
    passrole = [s for s in flow["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "iam:PassRole"]
    assert len(passrole) == 1

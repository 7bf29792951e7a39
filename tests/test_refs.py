"""Definitions refer to each other by object; imports stand in for resources made outside the app."""

import pytest
from asl_eval import evaluate_parameters, lineage_plan, run_states
from aws_cdk import Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match
from iam_match import assert_allows, assert_grants
from iam_match import sagemaker_arn as _arn
from sfn_requests import assert_all_requests_valid, iter_states, state_machines
from support import cfn_lint, new_app, new_stack, template_of

from sm_constructs import (
    ContainerImage,
    EndpointAutoscaling,
    EndpointConfigDefinition,
    EndpointDeployment,
    IEndpointConfigRef,
    IEndpointRef,
    IModelPackageGroup,
    IModelRef,
    MlDataBucket,
    MlPipeline,
    MlStateMachine,
    ModelDefinition,
    ModelPackageGroup,
    ModelRegistrationDefinition,
    NotebookInstance,
    SageMakerExecutionRole,
    StudioDomain,
    TrainingDefinition,
    TransformDefinition,
)
from sm_constructs._validation import ConstructValidationError
from sm_constructs.notebook import INotebookInstance
from sm_constructs.studio import IStudioDomain


def _train(stack, role, id="Train"):
    return TrainingDefinition(
        stack, id, role=role, image=ContainerImage.xgboost("1.7-1"), output_path="s3://bucket-a/models", name_prefix="t"
    )


@pytest.fixture(scope="module")
def synthesized():
    app = new_app()
    stack = new_stack(app)
    role = SageMakerExecutionRole(stack, "Exec")
    train = _train(stack, role)
    model = ModelDefinition(stack, "Model", role=role, training=train, name_prefix="churn-model")
    config = EndpointConfigDefinition(stack, "Config", model=model, name_prefix="churn-config")
    deploy = EndpointDeployment(stack, "Deploy", endpoint_name="churn", config=config)
    transform = TransformDefinition(
        stack, "Transform", model=model, input_uri="s3://bucket-a/in/", output_path="s3://bucket-a/out/"
    )
    register = ModelRegistrationDefinition(
        stack, "Register", group=ModelPackageGroup.from_group_name(stack, "Group", "churn"), training=train
    )
    pipeline = MlPipeline(
        stack,
        "Pipeline",
        training=train,
        registration=register,
        model=model,
        deployment=[config, deploy],
        batch_transform=transform,
        alarms=False,
    )
    app.synth()
    (asl,) = state_machines(template_of(stack).to_json()).values()
    return stack, template_of(stack), asl, pipeline


def _states(asl):
    states = dict(asl["States"])
    for state in asl["States"].values():
        for branch in state.get("Branches", []):
            states.update(_states(branch))
    return states


def test_each_object_renders_its_own_run_time_reference(synthesized):
    _, _, asl, _ = synthesized
    s = _states(asl)
    assert s["Model"]["Parameters"]["PrimaryContainer"] == {
        "Image.$": "$.steps.Train.Image",
        "ModelDataUrl.$": "$.steps.Train.ModelArtifacts",
    }
    container = s["Register"]["Parameters"]["InferenceSpecification"]["Containers"][0]
    assert container == {"Image.$": "$.steps.Train.Image", "ModelDataUrl.$": "$.steps.Train.ModelArtifacts"}
    assert s["Config"]["Parameters"]["ProductionVariants"][0]["ModelName.$"] == "$.steps.Model.ModelName"
    assert s["Transform"]["Parameters"]["ModelName.$"] == "$.steps.Model.ModelName"
    assert s["DeployCreate"]["Parameters"]["EndpointConfigName.$"] == "$.steps.Config.EndpointConfigName"
    assert s["DeployUpdate"]["Parameters"]["EndpointConfigName.$"] == "$.steps.Config.EndpointConfigName"
    # The rollback check compares the endpoint's config with the one this run made.
    first = s["DeployCheck"]["Choices"][0]["And"]
    assert {
        "Variable": "$.steps.Deploy.Endpoint.EndpointConfigName",
        "StringEqualsPath": "$.steps.Config.EndpointConfigName",
    } in first
    # The referenced fields are what the referenced tasks keep of their results.
    assert "ModelName.$" in s["Model"]["ResultSelector"] and "EndpointConfigName.$" in s["Config"]["ResultSelector"]
    assert {"ModelArtifacts.$", "Image.$"} <= set(s["Train"]["ResultSelector"])


def test_requests_are_valid(synthesized):
    _, template, _, _ = synthesized
    ops = {r.operation.name for r in assert_all_requests_valid(template.to_json())}
    assert {"CreateModel", "CreateEndpointConfig", "CreateTransformJob", "CreateModelPackage"} <= ops


def test_deployment_iam_is_scoped_to_the_configs_name_prefix(synthesized):
    _, template, _, _ = synthesized
    assert_grants(
        template,
        ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
        [_arn("endpoint-config/churn-config-*"), _arn("endpoint/churn")],
    )
    assert_grants(template, ["sagemaker:DescribeEndpoint", "sagemaker:ListTags"], _arn("endpoint/churn"))


def test_imported_group_is_registered_into_by_name(synthesized):
    _, template, _, _ = synthesized
    assert_allows(
        template,
        ["sagemaker:AddTags", "sagemaker:CreateModelPackage"],
        [_arn("model-package-group/churn"), _arn("model-package/churn/*")],
    )
    assert template.find_resources("AWS::SageMaker::ModelPackageGroup") == {}


def test_pipeline_lists_its_endpoints(synthesized):
    _, _, _, pipeline = synthesized
    assert [e.endpoint_name for e in pipeline.endpoints] == ["churn"]
    assert isinstance(pipeline.endpoints[0], IEndpointRef)


def test_an_endpoint_step_s_own_failures_reach_its_catch_the_lineage_and_the_notification(synthesized):
    """An endpoint step in a pipeline runs in a Parallel state of one branch (``<id>Endpoint``), as in a
    ModelDeployment: its own Fail states (an endpoint that went Failed, rolled back, stayed busy or timed
    out) fail that state, whose one catch names the step as its tasks' errors do; the run then records
    its lineage (the endpoint Failed, by its ARN) and notifies. Run in moto's ASL interpreter."""
    _, _, asl, _ = synthesized
    states = dict(iter_states(asl))
    wrapped = states["DeployEndpoint"]
    (branch,) = wrapped["Branches"]
    own = {name for name, state in branch["States"].items() if state["Type"] == "Fail"}
    ends = {"DeployEndpointFailed", "DeployBusyTimedOut", "DeployRolledBack", "DeployFailed", "DeployTimedOut"}
    assert own == {*ends, "DeployRejected"}
    assert wrapped["OutputPath"] == "$[0]"  # the branch's output, as if the step ran unwrapped
    assert wrapped["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "DeployStepFailed"}]
    # inside the pipeline's Release Parallel: the branch ends naming the step, the Parallel's catch records
    assert (
        states["Release"]["Catch"][0]["Next"] == "ReleaseFailed" and states["ReleaseFailed"]["Next"] == "LineageNames"
    )
    # the branch as it is when the endpoint came back on its old config (DeployCheck chose DeployRolledBack)
    rolled_back = {
        **wrapped,
        "Branches": [{"StartAt": "DeployRolledBack", "States": {n: branch["States"][n] for n in own}}],
    }
    part = {"DeployEndpoint": rolled_back, "DeployStepFailed": states["DeployStepFailed"]}
    described = run_states(part, "DeployEndpoint", {"steps": {}})
    assert (described["status"], described["error"]) == ("FAILED", "EndpointDeploymentRolledBack"), described
    assert described["cause"] == f"Deploy failed: {branch['States']['DeployRolledBack']['Cause']}"
    run = {
        "lineage": {"run": "r"},
        "steps": {"Train": {"TrainingJobArn": _arn("training-job/t"), "ModelArtifacts": "s3://b/m.tar.gz"}},
        "error": {"Error": described["error"], "Cause": described["cause"], "Step": "Release"},
    }
    actions = lineage_plan(asl, run)["actions"]
    assert [(a["type"], a["status"]) for a in actions] == [("TrainingJob", "Completed"), ("ModelDeployment", "Failed")]
    assert actions[1]["source"].endswith(":endpoint/churn"), actions[1]


def test_template_is_cfn_lint_clean(synthesized):
    assert cfn_lint(synthesized[1].to_json()) == []


def test_the_protocols_are_implemented():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    model = ModelDefinition(stack, "Model", role=role, training=_train(stack, role))
    config = EndpointConfigDefinition(stack, "Config", model=model)
    assert isinstance(model, IModelRef) and isinstance(ModelDefinition.from_model_name(stack, "M", "m"), IModelRef)
    assert isinstance(config, IEndpointConfigRef)
    assert isinstance(EndpointConfigDefinition.from_config_name(stack, "C", "c"), IEndpointConfigRef)
    assert isinstance(ModelPackageGroup(stack, "G", group_name="g"), IModelPackageGroup)
    assert isinstance(ModelPackageGroup.from_group_name(stack, "G2", "g2"), IModelPackageGroup)
    assert isinstance(EndpointDeployment.from_endpoint_name(stack, "E", "e"), IEndpointRef)


def test_a_reference_follows_the_state_id_it_was_given():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    model = ModelDefinition(stack, "Model", role=role, image="img", model_data_url="s3://bucket-a/m.tar.gz")
    first = model.task("MakeModel")
    config = EndpointConfigDefinition(stack, "Config", model=model)
    chain = sfn.Chain.start(first).next(config.task())
    sfn.StateMachine(stack, "SM", definition_body=sfn.DefinitionBody.from_chainable(chain))
    (asl,) = state_machines(template_of(stack).to_json()).values()
    assert (
        asl["States"]["Config"]["Parameters"]["ProductionVariants"][0]["ModelName.$"] == "$.steps.MakeModel.ModelName"
    )


def test_a_referenced_task_keeps_its_result_path():
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    model = ModelDefinition(stack, "Model", role=role, image="img", model_data_url="s3://bucket-a/m.tar.gz")
    EndpointConfigDefinition(stack, "Config", model=model)
    with pytest.raises(ConstructValidationError, match=r"already read this task's result at \$\.steps\.Model"):
        model.task("Elsewhere")
    discarded = ModelDefinition(stack, "Gone", role=role, image="img", model_data_url="s3://bucket-a/m.tar.gz")
    discarded.task(result_path=sfn.JsonPath.DISCARD)
    with pytest.raises(ConstructValidationError, match="the result is discarded, so ModelName cannot be read"):
        EndpointConfigDefinition(stack, "Config2", model=discarded).render_request()


@pytest.mark.parametrize(
    "build,match",
    [
        (
            lambda s, r: EndpointConfigDefinition(s, "C", model="$.steps.Model.ModelName"),
            r"model='\$\.steps\.Model\.ModelName' is invalid: a JSONPath string would be sent literally, not read at "
            r"run time; pass the ModelDefinition, or ModelDefinition\.from_model_name\(scope, id, name\)",
        ),
        (
            lambda s, r: TransformDefinition(
                s, "T", model="my-model", input_uri="s3://b-1/i/", output_path="s3://b-1/o/"
            ),
            r"model='my-model' is invalid: pass the ModelDefinition, or ModelDefinition\.from_model_name",
        ),
        (
            lambda s, r: EndpointDeployment(s, "D", endpoint_name="e", config="$.steps.Config.EndpointConfigName"),
            r"config='\$\.steps\.Config\.EndpointConfigName' is invalid: a JSONPath string .* pass the "
            r"EndpointConfigDefinition, or EndpointConfigDefinition\.from_config_name",
        ),
        (
            lambda s, r: ModelRegistrationDefinition(s, "R", group="churn", training=_train(s, r)),
            r"group='churn' is invalid: pass the ModelPackageGroup, or ModelPackageGroup\.from_group_name",
        ),
        (
            lambda s, r: ModelDefinition(s, "M", role=r, image="$.steps.Train.Image", model_data_url="s3://b-1/m"),
            r"image='\$\.steps\.Train\.Image' is invalid: a JSONPath string would be sent literally.*training=",
        ),
        (
            lambda s, r: ModelDefinition(s, "M", role=r, training="$.steps.Train"),
            r"training='\$\.steps\.Train' is invalid: .*pass the TrainingDefinition",
        ),
        (
            lambda s, r: ModelDefinition(s, "M", role=r, image="img"),
            r"model_data_url=None is invalid: give the training definition \(training=\.\.\.\)",
        ),
        (
            lambda s, r: ModelDefinition(s, "M", role=r, training=_train(s, r), model_data_url="s3://b-1/m.tar.gz"),
            r"training and model_data_url conflict",
        ),
        (
            lambda s, r: TransformDefinition(
                s,
                "T",
                model=ModelDefinition.from_model_name(s, "M", "bad_name"),
                input_uri="s3://b-1/i/",
                output_path="s3://b-1/o/",
            ),
            r"ImportedModel 'Test/M': model_name='bad_name' is invalid: must match",
        ),
        (lambda s, r: ModelPackageGroup.from_group_name(s, "G", "-x"), r"group_name='-x' is invalid"),
        (lambda s, r: EndpointDeployment.from_endpoint_name(s, "E", "e" * 64), r"is 64 characters; at most 63"),
    ],
)
def test_what_to_pass_instead_of_a_string(build, match):
    stack = new_stack()
    role = SageMakerExecutionRole(stack, "Exec")
    with pytest.raises(ConstructValidationError, match=match):
        build(stack, role)


def test_imported_endpoint_and_config():
    stack = new_stack()
    existing = EndpointConfigDefinition.from_config_name(stack, "Cfg", "Prod-Config")
    deploy = EndpointDeployment(stack, "Deploy", endpoint_name="Prod", config=existing)
    sfn.StateMachine(stack, "SM", definition_body=sfn.DefinitionBody.from_chainable(deploy))
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    EndpointDeployment.from_endpoint_name(stack, "Other", "Other-Endpoint").grant_invoke(reader)
    template = template_of(stack)
    (asl,) = state_machines(template.to_json()).values()
    assert asl["States"]["DeployCreate"]["Parameters"]["EndpointConfigName"] == "Prod-Config"
    first = asl["States"]["DeployCheck"]["Choices"][0]["And"]
    assert {"Variable": "$.steps.Deploy.Endpoint.EndpointConfigName", "StringEquals": "Prod-Config"} in first
    # The config's exact ARN, not a prefix; ARNs carry SageMaker names lower-cased.
    assert_grants(
        template,
        ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint"],
        [_arn("endpoint-config/prod-config"), _arn("endpoint/prod")],
        policy_type="AWS::IAM::Policy",
    )
    assert_allows(
        template, ["sagemaker:InvokeEndpoint"], _arn("endpoint/other-endpoint"), policy_type="AWS::IAM::Policy"
    )


def test_imported_group_grant_read():
    stack = new_stack()
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    grant = ModelPackageGroup.from_group_name(stack, "Group", "churn").grant_read(reader)
    assert grant.success
    template = template_of(stack)
    assert_allows(
        template,
        ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
        [_arn("model-package-group/churn"), _arn("model-package/churn/*")],
        policy_type="AWS::IAM::Policy",
    )
    # ListModelPackages has no resource type (SM-PERMS; the emulator's IAM call table checks it on "*"):
    # scoped to the group's ARNs it would allow nothing
    assert_allows(template, ["sagemaker:ListModelPackages"], "*", policy_type="AWS::IAM::Policy")
    scoped_listing = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:ListModelPackages" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        and s["Resource"] != "*"
    ]
    assert scoped_listing == []


def test_model_role_other_than_the_training_role_may_pull_the_training_image():
    stack = new_stack()
    train = _train(stack, SageMakerExecutionRole(stack, "TrainRole"))
    model_role = iam.Role(stack, "ModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    ModelDefinition(stack, "Model", role=model_role, training=train)
    template = template_of(stack)
    roles = [{"Ref": Match.string_like_regexp("^ModelRole")}]
    assert_allows(template, ["ecr:GetAuthorizationToken"], "*", policy_type="AWS::IAM::Policy", roles=roles)
    assert_allows(
        template,
        ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Match.object_like({"Fn::Join": ["", Match.array_with([":repository/sagemaker-xgboost"])]}),
        policy_type="AWS::IAM::Policy",
        roles=roles,
    )


def test_notebook_takes_any_bucket_and_role():
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Existing", "team-data-bucket")
    role = iam.Role.from_role_arn(stack, "ExecRole", "arn:aws:iam::123456789012:role/team-sagemaker", mutable=False)
    NotebookInstance(stack, "Notebook", data_bucket=bucket, execution_role=role, data_access={"raw/": "read"})
    template = template_of(stack)
    assert_allows(
        template,
        ["iam:PassRole"],
        "arn:aws:iam::123456789012:role/team-sagemaker",
        {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )
    bucket_arn = ["arn:", {"Ref": "AWS::Partition"}, ":s3:::team-data-bucket"]
    assert_allows(
        template,
        ["s3:GetBucket*", "s3:GetObject*", "s3:List*"],
        [{"Fn::Join": ["", bucket_arn]}, {"Fn::Join": ["", [*bucket_arn[:2], ":s3:::team-data-bucket/raw/*"]]}],
    )


def test_notebook_takes_the_bucket_of_a_data_bucket():
    stack = new_stack()
    data = MlDataBucket(stack, "Data")
    role = SageMakerExecutionRole(stack, "Exec")
    NotebookInstance(stack, "Notebook", data_bucket=data.bucket, execution_role=role, data_access={"raw/": "read"})
    bucket_arn = {"Fn::GetAtt": [Match.string_like_regexp("^DataBucket"), "Arn"]}
    assert_allows(
        template_of(stack),
        ["s3:GetBucket*", "s3:GetObject*", "s3:List*"],
        [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/raw/*"]]}],
    )


def test_default_child_is_the_main_l1():
    from aws_cdk import aws_ec2 as ec2

    from sm_constructs import MlVpc

    stack = new_stack()
    data = MlDataBucket(stack, "Data")
    vpc = MlVpc(stack, "Net")
    assert isinstance(data.node.default_child, s3.CfnBucket)
    assert data.node.default_child.node.path == data.cfn_bucket.node.path == "Test/Data/Bucket/Resource"
    assert isinstance(vpc.node.default_child, ec2.CfnVPC)
    imported = MlDataBucket(stack, "Imported", existing_bucket=s3.Bucket.from_bucket_name(stack, "B", "b-1"))
    assert imported.node.default_child is None


def test_reference_app_readme_and_guides_plumb_no_state_paths_between_our_constructs():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for path in [root / "app.py", root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = path.read_text()
        for plumbing in ("model_name_path(", "config_name_path(", "model_data_path(", 'string_at("$.steps.'):
            assert plumbing not in text, (path.name, plumbing)


def test_imports_by_arn_and_by_attributes():
    """from_*_arn reads the name from the ARN; from_*_attributes takes both (a mixed-case name keeps its case)."""
    stack = new_stack()
    model = ModelDefinition.from_model_arn(stack, "M", "arn:aws:sagemaker:us-east-1:111122223333:model/churn-v1")
    config = EndpointConfigDefinition.from_config_arn(
        stack, "C", "arn:aws:sagemaker:us-east-1:111122223333:endpoint-config/churn-config", variant_name="Blue"
    )
    endpoint = EndpointDeployment.from_endpoint_attributes(
        stack,
        "E",
        endpoint_name="Churn-Prod",
        endpoint_arn="arn:aws:sagemaker:us-east-1:111122223333:endpoint/churn-prod",
    )
    group = ModelPackageGroup.from_group_arn(
        stack, "G", "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/churn"
    )
    assert (model.model_name, config.config_name, config.variant_name) == ("churn-v1", "churn-config", "Blue")
    assert (endpoint.endpoint_name, group.group_name) == ("Churn-Prod", "churn")
    assert endpoint.endpoint_arn.endswith(":endpoint/churn-prod") and group.group_arn.endswith("/churn")
    # An ARN read at run time: Step Functions takes the name from it (the part after the type's "/").
    at_run_time = EndpointDeployment.from_endpoint_arn(stack, "T", sfn.JsonPath.string_at("$.input.endpointArn"))
    (name,) = evaluate_parameters(
        sfn.FieldUtils.render_object({"name": at_run_time.endpoint_name}),
        execution_input={"input": {"endpointArn": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/churn-a"}},
    )
    assert name == {"name": "churn-a"}
    # One from CloudFormation: split at deploy time.
    deployed = ModelDefinition.from_model_arn(stack, "D", Fn.import_value("ModelArn"))
    arn = {"Fn::ImportValue": "ModelArn"}
    assert stack.resolve(deployed.model_name) == {
        "Fn::Select": [1, {"Fn::Split": ["/", {"Fn::Select": [5, {"Fn::Split": [":", arn]}]}]}]
    }


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda s: ModelDefinition.from_model_arn(s, "M", "churn-v1"),
            r"model_arn='churn-v1'.*sagemaker.*model/<name>",
        ),
        (
            lambda s: EndpointConfigDefinition.from_config_arn(s, "C", "arn:aws:sagemaker:us-east-1:1:endpoint/x"),
            r"config_arn='arn:aws:sagemaker:us-east-1:1:endpoint/x'.*endpoint-config/<name>",
        ),
        (
            lambda s: EndpointConfigDefinition.from_config_name(s, "C", "c", variant_name="has space"),
            r"variant_name='has space'.*VariantName",
        ),
    ],
)
def test_bad_imports_fail_naming_the_prop(build, match):
    with pytest.raises(ConstructValidationError, match=match):
        build(new_stack())


def test_state_machine_notebook_domain_and_bucket_imports():
    """MlStateMachine, NotebookInstance, StudioDomain and MlDataBucket import by name, ARN and attributes."""
    stack = new_stack()
    arn = "arn:aws:states:us-east-1:111122223333:stateMachine:churn-build"
    by_arn = MlStateMachine.from_state_machine_arn(stack, "SmArn", arn)
    by_name = MlStateMachine.from_state_machine_name(stack, "SmName", "churn-build")
    assert by_arn.state_machine_arn == arn and stack.resolve(by_name.state_machine_arn)["Fn::Join"][1][-1] == (
        ":stateMachine:churn-build"
    )
    notebook = NotebookInstance.from_notebook_instance_arn(
        stack, "Nb", "arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/explore"
    )
    assert isinstance(notebook, INotebookInstance) and notebook.notebook_instance_name == "explore"
    role = iam.Role.from_role_arn(stack, "NbRole", "arn:aws:iam::111122223333:role/notebook")
    with_role = NotebookInstance.from_notebook_instance_attributes(
        stack, "NbAttrs", notebook_instance_name="Explore", role=role
    )
    by_arn.grant_start_execution(with_role)  # an imported notebook with its role is a grantee
    assert stack.resolve(with_role.notebook_arn)["Fn::Join"][1][-1] == ":notebook-instance/explore"
    assert NotebookInstance.from_notebook_instance_name(stack, "NbName", "explore").notebook_instance_name == "explore"
    domain_arn = "arn:aws:sagemaker:us-east-1:111122223333:domain/d-abc123"
    domain = StudioDomain.from_domain_arn(stack, "Dom", domain_arn)
    assert isinstance(domain, IStudioDomain) and domain.domain_id == "d-abc123"
    assert StudioDomain.from_domain_id(stack, "DomId", "d-abc123").domain_id == "d-abc123"
    by_attributes = StudioDomain.from_domain_attributes(stack, "DomAttrs", domain_id="d-abc123", domain_arn=domain_arn)
    assert isinstance(by_attributes, IStudioDomain) and by_attributes.domain_arn == domain_arn
    key = kms.Key.from_key_arn(
        stack, "Key", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    )
    data = MlDataBucket.from_bucket_attributes(stack, "Data", bucket_name="churn-data", encryption_key=key)
    assert data.bucket.bucket_name == "churn-data" and data.cfn_bucket is None
    assert data.encryption_key is not None and data.encryption_key.key_arn == key.key_arn
    assert MlDataBucket.from_bucket_arn(stack, "DataArn", "arn:aws:s3:::churn-data").bucket.bucket_name == "churn-data"
    reader = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    imported = MlDataBucket.from_bucket_name(stack, "DataName", "churn-data")
    imported.grant_read(reader, "raw/")
    template = template_of(stack)
    objects = stack.resolve(imported.bucket.arn_for_objects("raw/*"))
    read = Match.object_like({"Action": Match.array_with(["s3:GetObject*"]), "Resource": Match.array_with([objects])})
    start = Match.object_like({"Action": "states:StartExecution", "Resource": arn})
    for roles, statement in ([{"Ref": Match.string_like_regexp("^Reader")}], read), (["notebook"], start):
        template.has_resource_properties(
            "AWS::IAM::Policy", {"Roles": roles, "PolicyDocument": {"Statement": Match.array_with([statement])}}
        )


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (
            lambda s: MlStateMachine.from_state_machine_arn(s, "S", "arn:aws:states:us-east-1:1:activity:x"),
            r"MlStateMachine 'Test/S': state_machine_arn='arn:aws:states:us-east-1:1:activity:x'.*stateMachine:<name>",
        ),
        (
            lambda s: MlStateMachine.from_state_machine_name(s, "S", "has space"),
            r"state_machine_name='has space' is invalid",
        ),
        (
            lambda s: NotebookInstance.from_notebook_instance_name(s, "N", "under_score"),
            r"ImportedNotebookInstance 'Test/N': notebook_instance_name='under_score' is invalid",
        ),
        (
            lambda s: StudioDomain.from_domain_arn(s, "D", "arn:aws:sagemaker:us-east-1:1:user-profile/d-1/x"),
            r"domain_arn=.*domain/<name>",
        ),
        (lambda s: StudioDomain.from_domain_id(s, "D", "abc"), r"domain_id='abc' is invalid"),
        (lambda s: MlDataBucket.from_bucket_name(s, "B", "Bad_Name"), r"MlDataBucket 'Test/B': bucket_name='Bad_Name'"),
        (
            lambda s: MlDataBucket.from_bucket_arn(s, "B", "arn:aws:sqs:::q"),
            r"bucket_arn='arn:aws:sqs:::q' is invalid: must be an ARN arn:<partition>:s3:::<name>",
        ),
    ],
)
def test_bad_imports_of_state_machines_notebooks_domains_and_buckets(build, match):
    with pytest.raises(ConstructValidationError, match=match):
        build(new_stack())


def test_autoscaling_registers_the_imported_configs_variant():
    """An imported config names its variant; a serverless one refuses autoscaling."""
    stack = new_stack()
    blue = EndpointConfigDefinition.from_config_name(stack, "Cfg", "prod-config", variant_name="Blue")
    deploy = EndpointDeployment(stack, "Deploy", endpoint_name="prod", config=blue, autoscaling=EndpointAutoscaling())
    sfn.StateMachine(stack, "SM", definition_body=sfn.DefinitionBody.from_chainable(deploy))
    (asl,) = state_machines(template_of(stack).to_json()).values()
    targets = [s for s in asl["States"].values() if s.get("Resource", "").endswith(":registerScalableTarget")]
    assert targets and all(t["Parameters"]["ResourceId"] == "endpoint/prod/variant/Blue" for t in targets)
    serverless = EndpointConfigDefinition.from_config_attributes(stack, "Sls", config_name="sls", serverless=True)
    with pytest.raises(ConstructValidationError, match=r"serverless endpoints scale by themselves"):
        EndpointDeployment(stack, "Sls", endpoint_name="sls", config=serverless, autoscaling=EndpointAutoscaling())

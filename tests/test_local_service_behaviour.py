"""The emulator's endpoint lifecycles, job quotas, job faults and error names against what SageMaker does.

Each test names the AWS behaviour it copies (the sources are in the emulator modules' docs). One
emulator for the module, at time scale 0.02: an endpoint takes 1.8 s to create or update, 0.6 s
to delete.
"""

import contextlib
import functools
import json
import time

import pytest
from botocore.exceptions import ClientError

from sm_constructs.local.cli.demo import ACCOUNT_ID, LocalSession, start_server, stop_server
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("emulator-behaviour")
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/jobs"
SCALE = 0.02


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sm-local-behaviour")
    # raw calls here, not a deployed app: no policies to check
    proc, url = start_server(_free_port(), workdir, time_scale=SCALE, enforce_iam=False)
    try:
        session = LocalSession(url)
        sm = session.client("sagemaker")
        sm.create_model(
            ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "i", "ModelDataUrl": "s3://b/m.tar.gz"}
        )
        for config in ("c1", "c2", "c3", "c4"):
            sm.create_endpoint_config(
                EndpointConfigName=config,
                ProductionVariants=[
                    {"VariantName": "v", "ModelName": "m", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
                ],
            )
        yield {"session": session, "sm": sm, "workdir": workdir}
    finally:
        stop_server(proc)


def _faults(emu, faults):
    (emu["workdir"] / "faults.json").write_text(json.dumps(faults))


def _status(sm, name):
    return sm.describe_endpoint(EndpointName=name)["EndpointStatus"]


def _wait_for(sm, name, status, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] == status:
            return described
        time.sleep(0.1)
    raise AssertionError(f"{name} not {status} after {timeout}s: {described['EndpointStatus']}")


def _wait_gone(sm, name, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sm.describe_endpoint(EndpointName=name)
        except ClientError as error:
            assert error.response["Error"]["Message"].startswith("Could not find endpoint")
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} still there after {timeout}s")


def _rejected(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def _arn(name):
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:endpoint/{name}"


def test_create_takes_time_and_busy_endpoints_refuse_updates_deletes_and_a_second_create(emu):
    # CreateEndpoint: "sets the endpoint status to Creating. After it creates the endpoint, it sets the status to InService"
    sm = emu["sm"]
    started = time.monotonic()
    sm.create_endpoint(EndpointName="e-busy", EndpointConfigName="c1")
    creating = sm.describe_endpoint(EndpointName="e-busy")
    assert creating["EndpointStatus"] == "Creating"
    assert creating["PendingDeploymentSummary"]["EndpointConfigName"] == "c1"
    in_progress = ("ValidationException", f'Cannot update in-progress endpoint "{_arn("e-busy")}".')
    assert _rejected(sm.update_endpoint, EndpointName="e-busy", EndpointConfigName="c2") == in_progress
    assert _rejected(sm.delete_endpoint, EndpointName="e-busy") == in_progress
    existing = ("ValidationException", f'Cannot create already existing endpoint "{_arn("e-busy")}".')
    assert _rejected(sm.create_endpoint, EndpointName="e-busy", EndpointConfigName="c2") == existing

    _wait_for(sm, "e-busy", "InService")
    assert time.monotonic() - started >= 90 * SCALE * 0.9
    assert _rejected(sm.create_endpoint, EndpointName="e-busy", EndpointConfigName="c2") == existing


def test_update_keeps_serving_the_old_config_until_the_new_one_is_in_service(emu):
    # UpdateEndpoint: Updating, then InService; DescribeEndpoint shows the pending config meanwhile
    sm = emu["sm"]
    sm.create_endpoint(EndpointName="e-update", EndpointConfigName="c1")
    _wait_for(sm, "e-update", "InService")
    sm.update_endpoint(EndpointName="e-update", EndpointConfigName="c2")
    updating = sm.describe_endpoint(EndpointName="e-update")
    assert (updating["EndpointStatus"], updating["EndpointConfigName"]) == ("Updating", "c1")
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "c2"
    assert _rejected(sm.update_endpoint, EndpointName="e-update", EndpointConfigName="c3")[1].startswith(
        "Cannot update in-progress endpoint"
    )
    done = _wait_for(sm, "e-update", "InService")
    assert done["EndpointConfigName"] == "c2" and "PendingDeploymentSummary" not in done
    assert _rejected(sm.update_endpoint, EndpointName="e-missing", EndpointConfigName="c2") == (
        "ValidationException",
        f'Could not find endpoint "{_arn("e-missing")}".',
    )


def test_a_failed_update_rolls_back_to_the_previous_config(emu):
    sm = emu["sm"]
    sm.create_endpoint(EndpointName="e-rollback", EndpointConfigName="c1")
    _wait_for(sm, "e-rollback", "InService")
    _faults(
        emu, {"EndpointFailure": {"error": "The primary container did not pass the ping health check.", "times": 1}}
    )
    sm.update_endpoint(EndpointName="e-rollback", EndpointConfigName="c2")
    back = _wait_for(sm, "e-rollback", "InService")
    assert back["EndpointConfigName"] == "c1"
    assert "ping health check" in back["FailureReason"]


def test_a_failed_endpoint_stays_failed_until_deleted(emu):
    # DescribeEndpoint: "DeleteEndpoint is the only operation that can be performed on a failed endpoint"
    sm = emu["sm"]
    _faults(emu, {"EndpointFailure": {"error": "Image i does not exist.", "times": 1}})
    sm.create_endpoint(EndpointName="e-failed", EndpointConfigName="c1")
    failed = _wait_for(sm, "e-failed", "Failed")
    assert failed["FailureReason"] == "Image i does not exist."
    time.sleep(90 * SCALE)
    assert _status(sm, "e-failed") == "Failed"
    code, message = _rejected(sm.update_endpoint, EndpointName="e-failed", EndpointConfigName="c2")
    assert code == "ValidationException" and "failed endpoint" in message

    sm.delete_endpoint(EndpointName="e-failed")
    assert _status(sm, "e-failed") == "Deleting"
    assert _rejected(sm.create_endpoint, EndpointName="e-failed", EndpointConfigName="c2")[1].startswith(
        "Cannot create already existing endpoint"
    )
    _wait_gone(sm, "e-failed")
    sm.create_endpoint(EndpointName="e-failed", EndpointConfigName="c2")
    assert _wait_for(sm, "e-failed", "InService")["EndpointConfigName"] == "c2"


def _processing_machine(emu, name, seconds, retry=None):
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "Parameters": {
            "ProcessingJobName.$": "$.job",
            "RoleArn": ROLE,
            "AppSpecification": {
                "ImageUri": "python",
                "ContainerEntrypoint": ["python3", "-c", f"import time; time.sleep({seconds})"],
            },
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
            },
        },
        "End": True,
    }
    if retry:
        task["Retry"] = retry
    sfn = emu["session"].client("stepfunctions")
    return sfn.create_state_machine(
        name=name, roleArn=ROLE, definition=json.dumps({"StartAt": "Job", "States": {"Job": task}})
    )["stateMachineArn"]


def _start(emu, machine, job):
    sfn = emu["session"].client("stepfunctions")
    return sfn.start_execution(stateMachineArn=machine, name=job, input=json.dumps({"job": job}))["executionArn"]


def _finish(emu, arn, timeout=30.0):
    sfn = emu["session"].client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
            return described, [e for page in pages for e in page["events"]]
        time.sleep(0.1)
    raise AssertionError(f"{arn} still running")


def test_a_job_over_its_instance_quota_is_refused_with_resource_limit_exceeded(emu):
    # "The account-level service limit 'ml.m5.large for processing job usage' is 1 Instances, ..."
    (emu["workdir"] / "quotas.json").write_text(json.dumps({"ml.m5.large for processing job usage": 1}))
    try:
        machine = _processing_machine(emu, "quota", seconds=3)
        first = _start(emu, machine, "quota-first")
        deadline = time.monotonic() + 30  # the first job holds the instance before the second asks for one
        while not emu["sm"].list_processing_jobs(NameContains="quota-first", StatusEquals="InProgress")[
            "ProcessingJobSummaries"
        ]:
            assert time.monotonic() < deadline, "the first job never started"
            time.sleep(0.1)
        described, _ = _finish(emu, _start(emu, machine, "quota-second"))
        assert described["status"] == "FAILED"
        # the optimized integration names the modeled error after its SDK exception
        assert described["error"] == "SageMaker.ResourceLimitExceededException"
        assert described["cause"].startswith(
            "The account-level service limit 'ml.m5.large for processing job usage' is 1 Instances, with current "
            "utilization of 1 Instances and a request delta of 1 Instances."
        )
        assert _finish(emu, first)[0]["status"] == "SUCCEEDED"
        # the first job's instance is free again
        assert _finish(emu, _start(emu, machine, "quota-third"))[0]["status"] == "SUCCEEDED"
    finally:
        (emu["workdir"] / "quotas.json").unlink()


def test_unmodeled_errors_are_amazon_sagemaker_exceptions_in_the_optimized_integration(emu):
    _faults(emu, {"CreateProcessingJob": {"error": "ThrottlingException", "times": 1}})
    machine = _processing_machine(emu, "throttled", seconds=0)
    described, _ = _finish(emu, _start(emu, machine, "throttled-1"))
    assert described["error"] == "SageMaker.AmazonSageMakerException"
    assert "Error Code: ThrottlingException" in described["cause"]


def test_job_faults_slow_a_job_down_or_fail_it_with_the_given_reason(emu):
    capacity = (
        "CapacityError: Unable to provision requested ML compute capacity. "
        "Please retry using a different ML instance type."
    )
    _faults(
        emu,
        {"SlowProcessingJob": {"seconds": 100, "times": 1}, "FailProcessingJob": {"error": capacity, "times": 1}},
    )
    machine = _processing_machine(emu, "faulty", seconds=0)
    started = time.monotonic()
    described, _ = _finish(emu, _start(emu, machine, "faulty-1"))
    assert time.monotonic() - started >= 100 * SCALE
    assert described["status"] == "FAILED" and described["error"] == "States.TaskFailed"
    assert json.loads(described["cause"])["FailureReason"] == capacity
    assert _finish(emu, _start(emu, machine, "faulty-2"))[0]["status"] == "SUCCEEDED"


# -- EndpointDeployment against these behaviours ---------------------------------------------------
def _deployment_definition(endpoint_name, *, replace_failed_endpoint=False, autoscaling=False):
    """The ASL of an EndpointDeployment state machine, as CloudFormation would pass it (us-east-1)."""
    from aws_cdk import App, Duration, Stack
    from aws_cdk import aws_stepfunctions as sfn

    from sm_constructs.jobs.autoscaling import EndpointAutoscaling
    from sm_constructs.jobs.hosting import EndpointConfigDefinition, EndpointDeployment

    stack = Stack(App(), "Releases")
    deploy = EndpointDeployment(
        stack,
        "Deploy",
        endpoint_name=endpoint_name,
        config=EndpointConfigDefinition.from_config_name(stack, "Config", sfn.JsonPath.string_at("$.config")),
        poll_interval=Duration.seconds(5),
        max_wait=Duration.minutes(30),
        replace_failed_endpoint=replace_failed_endpoint,
        autoscaling=EndpointAutoscaling(min_capacity=1, max_capacity=3) if autoscaling else None,
    )
    machine = sfn.StateMachine(stack, "M", definition_body=sfn.DefinitionBody.from_chainable(deploy))
    joined = stack.resolve(machine.node.default_child.definition_string)
    names = {
        "AWS::Partition": "aws",
        "AWS::Region": "us-east-1",
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::URLSuffix": "amazonaws.com",
    }
    if isinstance(joined, str):
        return joined
    sep, parts = joined["Fn::Join"]
    return sep.join(p if isinstance(p, str) else names[p["Ref"]] for p in parts)


def _release(emu, machine, name, config):
    sfn = emu["session"].client("stepfunctions")
    return sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps({"config": config}))["executionArn"]


@pytest.fixture(scope="session")
def release_machines(emu):
    sfn = emu["session"].client("stepfunctions")

    def create(name, endpoint, **kwargs):
        definition = _deployment_definition(endpoint, **kwargs)
        return sfn.create_state_machine(name=name, roleArn=ROLE, definition=definition)["stateMachineArn"]

    return {
        "shared": create("release-shared", "e-shared"),
        "keep-failed": create("release-keep-failed", "e-broken"),
        "replace-failed": create("release-replace-failed", "e-broken", replace_failed_endpoint=True),
        "scaled": create("release-scaled", "e-scaled", autoscaling=True),
    }


def test_concurrent_releases_take_turns_and_the_last_to_start_its_update_stays(emu, release_machines):
    sm = emu["sm"]
    arns = []
    # each release its own config, as ModelDeployment creates them: a config released again would make
    # the release it replaced look rolled back
    for i, config in enumerate(["c1", "c2", "c3", "c4"]):
        arns.append(_release(emu, release_machines["shared"], f"shared-{i}", config))
        time.sleep(0.3)
    results = [_finish(emu, arn, timeout=120) for arn in arns]
    assert [r[0]["status"] for r in results] == ["SUCCEEDED"] * 4, [r[0].get("cause") for r in results]
    started = sorted(
        (e["timestamp"], json.loads(e["taskScheduledEventDetails"]["parameters"])["EndpointConfigName"])
        for _, events in results
        for i, e in enumerate(events)
        if e["type"] == "TaskScheduled"
        and e["taskScheduledEventDetails"]["resource"] in ("createEndpoint", "updateEndpoint")
        and any(n["type"] == "TaskSucceeded" for n in events[i + 1 : i + 4])
    )
    assert len(started) == 4  # each release reached the endpoint once
    endpoint = sm.describe_endpoint(EndpointName="e-shared")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", started[-1][1])
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for _, events in results
        for e in events
        if "stateEnteredEventDetails" in e
    ]
    assert "DeployBusyWait" in entered  # someone found the endpoint busy and waited


def test_a_rolled_back_release_fails_and_a_failed_endpoint_is_kept_or_replaced(emu, release_machines):
    sm = emu["sm"]
    # rollback: the update fails, the endpoint is back on its previous config
    first = _finish(emu, _release(emu, release_machines["keep-failed"], "broken-0", "c1"), timeout=60)[0]
    assert first["status"] == "SUCCEEDED"
    _faults(emu, {"EndpointFailure": {"error": "ping health check failed", "times": 1}})
    rolled = _finish(emu, _release(emu, release_machines["keep-failed"], "broken-1", "c2"), timeout=60)[0]
    assert rolled["status"] == "FAILED" and rolled["error"] == "EndpointDeploymentRolledBack"
    assert sm.describe_endpoint(EndpointName="e-broken")["EndpointConfigName"] == "c1"

    # a Failed endpoint: left alone by default, with what to do in the cause
    sm.delete_endpoint(EndpointName="e-broken")
    _wait_gone(sm, "e-broken")
    _faults(emu, {"EndpointFailure": {"error": "image not found", "times": 1}})
    sm.create_endpoint(EndpointName="e-broken", EndpointConfigName="c1")
    _wait_for(sm, "e-broken", "Failed")
    kept = _finish(emu, _release(emu, release_machines["keep-failed"], "broken-2", "c3"), timeout=60)[0]
    assert kept["status"] == "FAILED" and kept["error"] == "EndpointFailed"
    assert "delete-endpoint --endpoint-name e-broken" in kept["cause"]
    assert _status(sm, "e-broken") == "Failed"

    # allowed to replace it: delete, wait until gone, create
    replaced, events = _finish(emu, _release(emu, release_machines["replace-failed"], "broken-3", "c3"), timeout=60)
    assert replaced["status"] == "SUCCEEDED", replaced.get("cause")
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered.index("DeployDelete") < entered.index("DeployCreate")
    endpoint = sm.describe_endpoint(EndpointName="e-broken")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", "c3")


# -- Application Auto Scaling: a missing scalable target, as the service answers -------------------
SCALING = {"ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"}


def _scaling_errors(operation):
    import botocore.session

    model = botocore.session.get_session().get_service_model("application-autoscaling")
    return {shape.name for shape in model.operation_model(operation).error_shapes}


def test_a_missing_scalable_target_is_object_not_found_and_deregistering_deletes_its_policies(emu):
    scaling = emu["session"].client("application-autoscaling")
    target = {**SCALING, "ResourceId": "endpoint/e-nothing/variant/AllTraffic"}
    policy = {
        **target,
        "PolicyName": "p",
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 10.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    }
    for operation, call, kwargs in (
        ("DeregisterScalableTarget", scaling.deregister_scalable_target, target),
        ("PutScalingPolicy", scaling.put_scaling_policy, policy),
        ("DeleteScalingPolicy", scaling.delete_scaling_policy, {**target, "PolicyName": "p"}),
    ):
        code, message = _rejected(call, **kwargs)
        assert code == "ObjectNotFoundException" and code in _scaling_errors(operation), (operation, message)

    scaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=2)
    scaling.put_scaling_policy(**policy)
    assert len(scaling.describe_scaling_policies(**SCALING, ResourceId=target["ResourceId"])["ScalingPolicies"]) == 1
    scaling.deregister_scalable_target(**target)
    assert scaling.describe_scaling_policies(**SCALING, ResourceId=target["ResourceId"])["ScalingPolicies"] == []


def test_concurrent_autoscaled_releases_end_scaled_on_the_last_config(emu, release_machines):
    """Releases that meet deregister and register the same variant; none fails for it."""
    sm = emu["sm"]
    configs = [f"s{i}" for i in range(6)]  # each release its own config, as ModelDeployment creates them
    for config in configs:
        sm.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    arns = []
    for i, config in enumerate(configs):
        arns.append(_release(emu, release_machines["scaled"], f"scaled-{i}", config))
        time.sleep(0.4)
    results = [_finish(emu, arn, timeout=180) for arn in arns]
    assert [r[0]["status"] for r in results] == ["SUCCEEDED"] * len(arns), [r[0].get("cause") for r in results]
    endpoint = _wait_for(sm, "e-scaled", "InService")
    resource = "endpoint/e-scaled/variant/AllTraffic"
    scaling = emu["session"].client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in targets["ScalableTargets"]] == [(1, 3)]
    policies = scaling.describe_scaling_policies(**SCALING, ResourceId=resource)["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["e-scaled-AllTraffic-target-tracking"]
    ended = [
        [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e][-1]
        for _, events in results
    ]
    # whoever ended scaled is on the config the endpoint serves; the rest stood down as superseded
    assert set(ended) <= {"DeployScalingPolicy", "DeploySuperseded"}, ended
    assert endpoint["EndpointConfigName"] in configs


def test_filter_log_events_reads_only_the_streams_with_the_prefix(emu):
    """botocore's logs model, FilterLogEvents logStreamNamePrefix: "Filters the results to include only
    events from log streams that have names starting with this prefix"; with logStreamNames too it is an
    InvalidParameterException."""
    logs = emu["session"].client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    now = int(time.time() * 1000)
    for stream in ("tr-1/algo-1-1", "tr-10/algo-1-1", "tr-2/algo-1-1"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": stream}])
    found = logs.filter_log_events(logGroupName=group, logStreamNamePrefix="tr-1/")["events"]
    assert [e["message"] for e in found] == ["tr-1/algo-1-1"]
    assert logs.filter_log_events(logGroupName=group, logStreamNamePrefix="none/")["events"] == []
    with pytest.raises(ClientError, match="InvalidParameterException"):
        logs.filter_log_events(logGroupName=group, logStreamNamePrefix="tr-1/", logStreamNames=["tr-2/algo-1-1"])


# ---- ML Lineage Tracking (sm_constructs/local/aws/sagemaker_lineage.py) -----------------------------


def _code(exc) -> str:
    return exc.value.response["Error"]["Code"]


def test_lineage_entities_have_documented_arns_and_a_second_create_already_exists(emu):
    sm = emu["sm"]
    context = sm.create_context(
        ContextName="run-1", ContextType="StepFunctionsExecution", Source={"SourceUri": "arn:aws:states:x"}
    )["ContextArn"]
    assert context == f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:context/run-1"
    assert sm.describe_context(ContextName=context)["Source"]["SourceUri"] == "arn:aws:states:x"
    with pytest.raises(ClientError) as exc:
        sm.create_context(ContextName="run-1", ContextType="t", Source={"SourceUri": "u"})
    assert _code(exc) == "ValidationException" and "already exists" in str(exc.value)
    action = sm.create_action(ActionName="run-1-train", ActionType="TrainingJob", Source={"SourceUri": "j"})[
        "ActionArn"
    ]
    # an artifact is named by a hash of its source: the same URI with other source types is another artifact
    data = sm.create_artifact(ArtifactType="DataSet", Source={"SourceUri": "s3://b/raw/"})["ArtifactArn"]
    other = sm.create_artifact(
        ArtifactType="DataSet",
        Source={"SourceUri": "s3://b/raw/", "SourceTypes": [{"SourceIdType": "Custom", "Value": "v2"}]},
    )["ArtifactArn"]
    assert data != other and data.split(":artifact/")[1].isalnum()
    with pytest.raises(ClientError) as exc:
        sm.create_artifact(ArtifactType="DataSet", Source={"SourceUri": "s3://b/raw/"})
    assert "already exists" in str(exc.value)
    (found,) = sm.list_artifacts(SourceUri="s3://b/raw/", ArtifactType="DataSet", MaxResults=1)["ArtifactSummaries"][:1]
    assert found["ArtifactArn"] in (data, other)

    # associations: both ends must exist, once each; the type of each end is listed
    with pytest.raises(ClientError) as exc:
        sm.add_association(SourceArn=data, DestinationArn=action.replace("run-1-train", "nope"))
    assert _code(exc) == "ResourceNotFound"
    sm.add_association(SourceArn=data, DestinationArn=action, AssociationType="ContributedTo")
    sm.add_association(SourceArn=action, DestinationArn=context, AssociationType="AssociatedWith")
    with pytest.raises(ClientError) as exc:
        sm.add_association(SourceArn=data, DestinationArn=action, AssociationType="ContributedTo")
    assert _code(exc) == "ValidationException" and "already exists" in str(exc.value)
    (into,) = sm.list_associations(DestinationArn=action)["AssociationSummaries"]
    assert (into["SourceArn"], into["SourceType"], into["AssociationType"]) == (data, "DataSet", "ContributedTo")
    assert (
        sm.list_associations(DestinationType="StepFunctionsExecution")["AssociationSummaries"][0]["SourceArn"] == action
    )
    assert sm.list_associations(AssociationType="Produced")["AssociationSummaries"] == []

    # an end may be a trial component (SageMaker creates one per job)
    component = sm.create_trial_component(TrialComponentName="train-job-aws-training-job")["TrialComponentArn"]
    sm.add_association(SourceArn=component, DestinationArn=context, AssociationType="AssociatedWith")
    (linked,) = sm.list_associations(SourceArn=component)["AssociationSummaries"]
    assert linked["DestinationArn"] == context and linked["AssociationType"] == "AssociatedWith"
    sm.delete_association(SourceArn=component, DestinationArn=context)

    # an entity with associations is not deleted; without them it is
    with pytest.raises(ClientError) as exc:
        sm.delete_action(ActionName="run-1-train")
    assert _code(exc) == "ValidationException"
    sm.delete_association(SourceArn=data, DestinationArn=action)
    sm.delete_association(SourceArn=action, DestinationArn=context)
    sm.delete_action(ActionName="run-1-train")
    sm.delete_artifact(Source={"SourceUri": "s3://b/raw/"})
    with pytest.raises(ClientError) as exc:
        sm.describe_artifact(ArtifactArn=data)
    assert _code(exc) == "ResourceNotFound"


def test_lineage_names_follow_botocores_patterns(emu):
    sm = emu["sm"]
    # botocore validates the pattern client-side; send the raw request as another SDK would
    from botocore.config import Config

    session = emu["session"]
    raw = session._session.client(
        "sagemaker", endpoint_url=session.endpoint_url, config=Config(parameter_validation=False)
    )
    with pytest.raises(ClientError) as exc:
        raw.create_action(ActionName="has_underscore", ActionType="t", Source={"SourceUri": "u"})
    assert _code(exc) == "ValidationException" and "must match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        raw.create_context(ContextName="x" * 121, ContextType="t", Source={"SourceUri": "u"})
    assert "is 121 characters; at most 120" in str(exc.value)
    assert sm.create_context(ContextName="a_b-c", ContextType="t", Source={"SourceUri": "u"})["ContextArn"]


def test_a_definite_path_below_an_index_is_its_value_as_on_aws(emu):
    """Jayway JsonPath (Step Functions): ``$.a[0].b`` is a definite path, its value; ``$.a[*].b`` a list."""
    sfn = emu["session"].client("stepfunctions")
    parameters = {
        "field.$": "$.a[0].b",
        "format.$": "States.Format('{}#{}', $.a[0].b, $.a[0].c)",
        "all.$": "$.a[*].b",
    }
    asl = {"StartAt": "Eval", "States": {"Eval": {"Type": "Pass", "Parameters": parameters, "End": True}}}
    arn = sfn.create_state_machine(name="paths", definition=json.dumps(asl), roleArn=ROLE)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"a": [{"b": "s3://x/", "c": "f"}]}))
    deadline = time.monotonic() + 15
    while (described := sfn.describe_execution(executionArn=run["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert json.loads(described["output"]) == {"field": "s3://x/", "format": "s3://x/#f", "all": ["s3://x/"]}


@functools.cache
def _lineage_definition() -> str:
    """The states of sm_constructs.lineage, failure path included, for a processing step, a step that
    never runs (a Condition branch not taken) and a training step, as deployed in us-east-1 (pseudo
    parameters filled in), from a stack of its own: synthesized once for the tests that run it."""

    from aws_cdk import aws_stepfunctions as sfn
    from support import new_stack

    from sm_constructs.lineage import LineageArtifact, LineageStep, RunLineage

    stack = new_stack()
    steps = [
        LineageStep(
            "Prepare",
            "ProcessingJob",
            "$.steps.Prepare.ProcessingJobArn",
            inputs=[LineageArtifact("DataSet", "$.input.data", versions="$.cache.Prepare.data[0]")],
            outputs=[LineageArtifact("DataSet", "$.steps.Prepare.Outputs[0]")],
            failed_arn="ProcessingJobArn",
        ),
        LineageStep("Other", "ProcessingJob", "$.steps.Other.ProcessingJobArn", failed_arn="ProcessingJobArn"),
        LineageStep(
            "Train",
            "TrainingJob",
            "$.steps.Train.TrainingJobArn",
            inputs=[LineageArtifact("DataSet", "$.input.data"), LineageArtifact("Image", "$.steps.Train.Image")],
            outputs=[LineageArtifact("Model", "$.steps.Train.ModelArtifacts")],
            failed_arn="TrainingJobArn",
        ),
    ]
    failed = sfn.Fail(stack, "Failed", error_path="$.error.Error", cause_path="$.error.Cause")
    lineage = RunLineage(stack, "Lineage", prefix="train-1234abcd", steps=steps, failure=failed, failed_runs=True)
    chain = sfn.Chain.start(lineage).next(sfn.Succeed(stack, "Done"))
    machine = sfn.StateMachine(stack, "M", definition_body=sfn.DefinitionBody.from_chainable(chain))
    rendered = stack.resolve(machine.node.default_child.definition_string)  # type: ignore[union-attr]
    pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT_ID, "AWS::URLSuffix": ""}
    if isinstance(rendered, str):
        return rendered
    return "".join(p if isinstance(p, str) else pseudo[p["Ref"]] for p in rendered["Fn::Join"][1])


def _run_lineage(emu, arn: str, name: str, payload: dict) -> tuple[dict, list[str]]:
    sfn = emu["session"].client("stepfunctions")
    execution = f"{arn.replace(':stateMachine:', ':execution:')}:{name}"
    sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    return described, [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_a_failed_run_records_the_steps_that_ran_and_the_failed_job_then_fails_with_its_own_error(emu):
    """The failure path enters the lineage states with the run's error (``$.error.Step`` the step,
    ``$.error.Cause`` the failed job's description, as a ``.sync`` task reports it): the step that
    ran is recorded Completed, the job the run failed at Failed with what it read, a step that did
    not run (a Condition branch not taken) not at all; the run then fails with its own error."""
    import hashlib as _hashlib

    sm = emu["sm"]
    sfn = emu["session"].client("stepfunctions")
    arn = sfn.create_state_machine(name="lineage-failed", definition=_lineage_definition(), roleArn=ROLE)[
        "stateMachineArn"
    ]
    training_job = "arn:aws:sagemaker:us-east-1:1:training-job/failed-t"
    cause = json.dumps({"TrainingJobName": "failed-t", "TrainingJobArn": training_job, "TrainingJobStatus": "Failed"})
    payload = {
        "input": {"data": "s3://lineage-failed/raw/"},
        "cache": {"Prepare": {"data": [{"uri": "s3://lineage-failed/raw/", "fingerprint": "5f0c"}]}},
        "steps": {
            "Prepare": {
                "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:1:processing-job/p",
                "Outputs": ["s3://lineage-failed/prepared/"],
            }
        },
        "error": {"Error": "States.TaskFailed", "Cause": cause, "Step": "Train"},
    }
    described, entered = _run_lineage(emu, arn, "failed", payload)
    assert described["status"] == "FAILED" and described["error"] == "States.TaskFailed", described
    assert described["cause"] == cause and entered[-2:] == ["LineageRecorded", "Failed"], entered

    execution = f"{arn.replace(':stateMachine:', ':execution:')}:failed"
    run = f"train-1234abcd-{_hashlib.md5(execution.encode()).hexdigest()}"
    # the run's context says how it ended (a property value is at most 2,500 characters: no cause)
    assert sm.describe_context(ContextName=run)["Properties"] == {
        "StateMachine": arn,
        "ExecutionName": "failed",
        "Outcome": "Failed",
        "Error": "States.TaskFailed",
        "Step": "Train",
    }
    prepare, train = (sm.describe_action(ActionName=f"{run}-{step}") for step in ("prepare", "train"))
    assert (prepare["Status"], train["Status"]) == ("Completed", "Failed")
    assert train["Source"]["SourceUri"] == training_job and train["ActionType"] == "TrainingJob"
    with pytest.raises(sm.exceptions.ClientError):
        sm.describe_action(ActionName=f"{run}-other")  # a step that did not run

    def reads(action):
        listed = sm.list_associations(DestinationArn=action["ActionArn"], AssociationType="ContributedTo")
        return {
            sm.describe_artifact(ArtifactArn=a["SourceArn"])["Source"]["SourceUri"]
            for a in listed["AssociationSummaries"]
        }

    # the data with the fingerprint its cache lookup listed; the failed job read its (uncached) data,
    # and its image is in its result, which a failed job has not: not recorded
    assert reads(prepare) == {"s3://lineage-failed/raw/#sha256=5f0c"}
    assert reads(train) == {"s3://lineage-failed/raw/"}
    wrote = sm.list_associations(SourceArn=train["ActionArn"], AssociationType="Produced")["AssociationSummaries"]
    assert wrote == []

    # a run its own rule ended before any step (an invalid input): its context only, no action
    refused = {
        "input": {"data": 5},
        "steps": {},
        "error": {"Error": "InvalidInput", "Cause": "data is 5", "Step": "ValidateInput", "Rejected": True},
    }
    described, entered = _run_lineage(emu, arn, "refused", refused)
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", "InvalidInput", "data is 5")
    execution = f"{arn.replace(':stateMachine:', ':execution:')}:refused"
    run = f"train-1234abcd-{_hashlib.md5(execution.encode()).hexdigest()}"
    assert sm.describe_context(ContextName=run)["Properties"]["Outcome"] == "Rejected"
    context = sm.describe_context(ContextName=run)["ContextArn"]
    assert sm.list_associations(DestinationArn=context)["AssociationSummaries"] == []


def test_lineage_states_record_a_run_and_a_redriven_run_meets_what_exists(emu):
    """The lineage states run in the emulator; a run whose context, action and association exist
    already (a redrive) updates its context to how it ended and reads the others instead of failing,
    and reuses the artifacts it finds by URI."""
    import hashlib as _hashlib

    sfn = emu["session"].client("stepfunctions")
    sm = emu["sm"]
    arn = sfn.create_state_machine(name="lineage", definition=_lineage_definition(), roleArn=ROLE)["stateMachineArn"]
    payload = {
        "input": {"data": "s3://lineage/raw/"},
        "steps": {
            "Train": {
                "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/t",
                "ModelArtifacts": "s3://lineage/m",
            }
        },
    }

    def run(name):
        execution = f"{arn.replace(':stateMachine:', ':execution:')}:{name}"
        # what the first attempt of a redriven run made: its context, its action, that action's association
        context_name = f"train-1234abcd-{_hashlib.md5(execution.encode()).hexdigest()}"
        if name == "redriven":  # its first attempt failed
            failed = {"ExecutionName": name, "Outcome": "Failed", "Error": "States.TaskFailed", "Step": "Train"}
            context = sm.create_context(
                ContextName=context_name, ContextType="t", Source={"SourceUri": execution}, Properties=failed
            )
            action = sm.create_action(ActionName=f"{context_name}-train", ActionType="t", Source={"SourceUri": "j"})
            sm.add_association(SourceArn=action["ActionArn"], DestinationArn=context["ContextArn"])
        described, entered = _run_lineage(emu, arn, name, payload)
        return described, entered, context_name

    described, entered, context_name = run("first")
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert "LineageRunExisting" not in entered and entered.count("LineageCreate") == 2
    action = sm.describe_action(ActionName=f"{context_name}-train")
    assert (action["ActionType"], action["Source"]["SourceUri"]) == (
        "TrainingJob",
        payload["steps"]["Train"]["TrainingJobArn"],
    )
    edges = {
        (a["SourceType"], a["AssociationType"], a["DestinationType"])
        for a in sm.list_associations(SourceArn=action["ActionArn"])["AssociationSummaries"]
    }
    edges |= {
        (a["SourceType"], a["AssociationType"], a["DestinationType"])
        for a in sm.list_associations(DestinationArn=action["ActionArn"])["AssociationSummaries"]
    }
    assert edges == {
        ("DataSet", "ContributedTo", "TrainingJob"),
        ("TrainingJob", "Produced", "Model"),
        ("TrainingJob", "AssociatedWith", "StepFunctionsExecution"),
    }

    described, entered, context_name = run("redriven")
    assert described["status"] == "SUCCEEDED", described.get("cause")
    # the context now says how the run ended last: the failed attempt's error and step are gone
    properties = sm.describe_context(ContextName=context_name)["Properties"]
    assert properties == {"StateMachine": arn, "ExecutionName": "redriven", "Outcome": "Succeeded"}
    assert {"LineageRunExisting", "LineageActionExisting", "LineageActionInRunExists"} <= set(entered)
    assert "LineageCreate" not in entered  # both artifacts found by URI: one artifact per source
    assert len(sm.list_artifacts(SourceUri="s3://lineage/raw/")["ArtifactSummaries"]) == 1

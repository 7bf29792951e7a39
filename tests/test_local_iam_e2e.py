"""IAM enforced end to end: the reference app deployed into the emulator, its policies edited in place.

One emulator and one deployment for the module (its own xdist group, so it runs beside
``test_local_e2e``). Each negative test removes one needed statement or narrows one resource in
the deployed policies (a new default policy version through the IAM API, restored afterwards) and
checks that the matching run fails with AccessDenied at the expected step, naming principal,
action and resource, as AWS would. The positive runs of the churn pipeline are in
``test_local_e2e`` (the emulator enforces IAM by default); the reference app has every definition
kind (processing, training, transform, tuning, model, endpoint config, endpoint, registration).
"""

import contextlib
import copy
import json
import subprocess
import sys
import time

import pytest

from sm_constructs._lineage_read import read_lineage, start_actions
from sm_constructs.local.cli.demo import (
    ACCOUNT_ID,
    REGION,
    STACK,
    LocalSession,
    deploy,
    emulator_env,
    stack_outputs,
    start_server,
    stop_server,
)
from sm_constructs.local.iam.calls import GLOBAL_CONTEXT, INTEGRATIONS, JOB_ACCESS, STATE_MACHINE_ACCESS
from sm_constructs.local.iam.enforcement import ADDED_CONTEXT_KEYS
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("emulator-iam")
PIPELINE = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:sm-constructs-churn"
TUNING = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:sm-constructs-churn-tuning"
# fragments of the roles' logical IDs (_role)
PIPELINE_ROLE = ("ChurnPipeline", "StateMachineRole")
TUNING_ROLE = ("ChurnTuning", "StateMachineRole")
EXECUTION_ROLE = ("ExecutionRole",)


@pytest.fixture(scope="session")
def local(tmp_path_factory, reference_assembly):
    workdir = tmp_path_factory.mktemp("sm-local-iam")
    proc, url = start_server(_free_port(), workdir, time_scale=0.05)
    try:
        deploy(emulator_env(url), workdir, assembly=reference_assembly)
        session = LocalSession(url)
        found = stack_outputs(session)
        session.client("s3").upload_file("reference/data/churn.csv", found["bucket"], "raw/churn.csv")
        _upload_tuning_data(session, found["bucket"], workdir / "prepared")
        template = json.loads((reference_assembly / f"{STACK}.template.json").read_text())
        yield {"session": session, "workdir": workdir, "template": template, **found}
    finally:
        stop_server(proc)


def _upload_tuning_data(session, bucket, prepared):
    """The tuning machine's channels (processed/latest/train/ and validation/): the reference data
    prepared by the pipeline's own preprocessing script, uploaded where a finished build leaves it."""
    script = "reference/scripts/preprocess.py"
    subprocess.run([sys.executable, script, "--input-dir", "reference/data", "--output-dir", str(prepared)], check=True)
    for split in ("train", "validation"):
        session.client("s3").upload_file(
            str(prepared / split / f"{split}.csv"), bucket, f"processed/latest/{split}/{split}.csv"
        )


def _role(local, *fragments):
    """The stack's role whose logical ID starts with the first fragment and holds the others (by logical ID:
    CloudFormation cuts a generated role name to IAM's 64 characters, as the emulator does)."""
    cfn = local["session"].client("cloudformation")
    (name,) = [
        r["PhysicalResourceId"]
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=STACK)
        for r in page["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::IAM::Role"
        and r["LogicalResourceId"].startswith(fragments[0])
        and all(f in r["LogicalResourceId"] for f in fragments[1:])
    ]
    return local["session"].client("iam").get_role(RoleName=name)["Role"]


@contextlib.contextmanager
def edited_policies(local, role_fragments, edit):
    """Each managed policy of the role replaced by ``edit(document)`` (a new default version), then restored."""
    iam = local["session"].client("iam")
    role = _role(local, *role_fragments)
    restore = []
    try:
        for attached in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]:
            arn = attached["PolicyArn"]
            current = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=current)["PolicyVersion"]["Document"]
            document = json.loads(document) if isinstance(document, str) else document
            changed = edit(copy.deepcopy(document))
            if changed != document:
                new = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(changed), SetAsDefault=True)
                restore.append((arn, current, new["PolicyVersion"]["VersionId"]))
        assert restore, f"the edit changed no policy of {role['RoleName']}"
        yield role["Arn"]
    finally:
        for arn, previous, new in restore:
            iam.set_default_policy_version(PolicyArn=arn, VersionId=previous)
            iam.delete_policy_version(PolicyArn=arn, VersionId=new)


def _actions(statement):
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def without_action(action):
    """Remove one action from every statement (and statements left with none)."""

    def edit(document):
        statements = []
        for statement in document["Statement"]:
            kept = [a for a in _actions(statement) if a.lower() != action.lower()]
            if kept:
                statements.append({**statement, "Action": kept})
        return {**document, "Statement": statements}

    return edit


def without_statement(action):
    """Remove every statement that grants ``action``."""

    def edit(document):
        kept = [s for s in document["Statement"] if action.lower() not in (a.lower() for a in _actions(s))]
        return {**document, "Statement": kept}

    return edit


def with_resource(action, resource):
    """Narrow the resources of the statements granting ``action`` to ``resource``."""

    def edit(document):
        for statement in document["Statement"]:
            if action.lower() in (a.lower() for a in _actions(statement)):
                statement["Resource"] = resource
        return document

    return edit


def without_resource(suffix):
    """Drop the resources ending in ``suffix`` from every statement."""

    def edit(document):
        for statement in document["Statement"]:
            resources = statement.get("Resource")
            if isinstance(resources, list):
                statement["Resource"] = [r for r in resources if not r.endswith(suffix)]
        return document

    return edit


def _run(local, machine, name, payload=None, timeout=180):
    sfn = local["session"].client("stepfunctions")
    if payload is None and machine == PIPELINE:
        payload = {"inputDataUri": f"s3://{local['bucket']}/raw/"}
    arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload or {}))["executionArn"]
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.3)
    return described, sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]


def first_failure(events):
    """(state, error, cause) of the run's first failed task; a job's FailureReason stands for its cause."""
    state = None
    for event in events:
        if event["type"].endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
        if event["type"] == "TaskFailed":
            details = event["taskFailedEventDetails"]
            cause = details.get("cause", "")
            with contextlib.suppress(ValueError, AttributeError):
                cause = json.loads(cause).get("FailureReason", cause)
            return state, details["error"], cause
    return None


def assert_denied(failure, *, state, error, principal, action, resource):
    assert failure is not None, "no task failed"
    got_state, got_error, cause = failure
    assert (got_state, got_error) == (state, error), failure
    # the optimized integration names the unmodeled AccessDeniedException AmazonSageMakerException; the code is in the cause
    assert "Error Code: AccessDeniedException" in cause or error != "SageMaker.AmazonSageMakerException", cause
    role_name = principal.rsplit("/", 1)[1]
    assert f":assumed-role/{role_name}/" in cause, cause
    assert f"is not authorized to perform: {action} on resource: {resource}" in cause, cause


def test_tuning_machine_runs_green(local):
    log = local["workdir"] / "iam.jsonl"
    seen = len(log.read_text().splitlines()) if log.exists() else 0
    # eight real training trials, two at a time (the reference app's tuning job), each a fresh
    # Python process importing xgboost: minutes on a two-core machine shared with test_local_e2e
    described, events = _run(local, TUNING, "tune-ok", timeout=600)
    assert described["status"] == "SUCCEEDED", first_failure(events)
    # the run was authorized call by call: the create, the role it passes, the .sync rule
    decisions = [json.loads(line) for line in log.read_text().splitlines()[seen:]]
    allowed = {d["action"] for d in decisions if d["decision"] == "allow"}
    assert {"sagemaker:CreateHyperParameterTuningJob", "iam:PassRole", "events:PutRule", "sts:AssumeRole"} <= allowed
    assert all(d["decision"] == "allow" for d in decisions)
    # the run's lineage: the tuning job, and its best training job, which made the model
    assert {"sagemaker:CreateAction", "sagemaker:AddAssociation"} <= allowed
    tuned = json.loads(described["output"])["steps"]["Tune"]
    sm = local["session"].client("sagemaker")
    lineage = read_lineage(sm, start_actions(sm, described["executionArn"]))
    assert sorted((a.type, a.source) for a in lineage.actions.values()) == [
        ("HyperParameterTuningJob", tuned["HyperParameterTuningJobArn"]),
        ("TrainingJob", tuned["BestTrainingJobArn"]),
    ]
    assert tuned["BestTrainingJobArn"].endswith(f":training-job/{tuned['BestTrainingJobName']}")
    (best,) = [a for a in lineage.actions.values() if a.type == "TrainingJob"]
    assert [(kind, uri) for _, kind, uri in best.writes] == [("Model", tuned["ModelArtifacts"])]


def test_tuning_without_its_events_rule_is_denied_at_tune(local):
    rule = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/StepFunctionsGetEventsForSageMakerTuningJobsRule"
    with edited_policies(local, TUNING_ROLE, without_statement("events:PutRule")) as role:
        described, events = _run(local, TUNING, "tune-no-rule")
    assert described["status"] == "FAILED"
    state, error, cause = first_failure(events)
    assert (state, error) == ("Tune", "SageMaker.AmazonSageMakerException"), cause
    assert f":assumed-role/{role.rsplit('/', 1)[1]}/" in cause and f"on resource: {rule} " in cause, cause


def test_without_list_tags_the_first_job_is_denied(local):
    with edited_policies(local, PIPELINE_ROLE, without_action("sagemaker:ListTags")) as role:
        described, events = _run(local, PIPELINE, "no-listtags")
    assert described["status"] == "FAILED"
    assert_denied(
        first_failure(events),
        state="Preprocess",
        error="SageMaker.AmazonSageMakerException",
        principal=role,
        action="sagemaker:ListTags",
        resource=f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:processing-job/churn-preprocess-",
    )


def test_pass_role_narrowed_to_another_role_is_denied(local):
    execution_role = _role(local, *EXECUTION_ROLE)["Arn"]
    other = f"arn:aws:iam::{ACCOUNT_ID}:role/SomeOtherRole"
    with edited_policies(local, PIPELINE_ROLE, with_resource("iam:PassRole", other)) as role:
        described, events = _run(local, PIPELINE, "passrole-other")
    assert described["status"] == "FAILED"
    assert_denied(
        first_failure(events),
        state="Preprocess",
        error="SageMaker.AmazonSageMakerException",
        principal=role,
        action="iam:PassRole",
        resource=execution_role,
    )


def test_an_output_prefix_not_granted_fails_the_job_that_writes_it(local):
    with edited_policies(local, EXECUTION_ROLE, without_resource("/processed/*")) as role:
        described, events = _run(local, PIPELINE, "no-processed")
    assert described["status"] == "FAILED"
    assert_denied(
        first_failure(events),
        state="Preprocess",
        error="States.TaskFailed",
        principal=role,
        action="s3:PutObject",
        resource=f"arn:aws:s3:::{local['bucket']}/processed/no-processed/",
    )


def test_without_the_key_grant_the_job_cannot_encrypt_its_volume(local):
    key = local["session"].client("s3").get_bucket_encryption(Bucket=local["bucket"])
    key_arn = key["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"][
        "KMSMasterKeyID"
    ]
    with edited_policies(local, EXECUTION_ROLE, without_statement("kms:CreateGrant")) as role:
        described, events = _run(local, PIPELINE, "no-grant")
    assert described["status"] == "FAILED"
    assert_denied(
        first_failure(events),
        state="Preprocess",
        error="States.TaskFailed",
        principal=role,
        action="kms:CreateGrant",
        resource=key_arn,
    )


# Condition keys used only by statements for calls the emulator does not make: CloudWatch Logs
# encrypting log groups (logs.<region> principal in key policies) and the delivery of the state
# machine's logs.
NOT_EXERCISED = {
    "kms:EncryptionContext:aws:logs:arn": "CloudWatch Logs encrypting log groups (logs.<region> principal)",
    "kms:EncryptionContext:SourceArn": "log delivery of the state machine's logs",
}


def test_every_condition_key_in_the_deployed_policies_is_evaluated(local):
    """Each condition key of the synthesized policies is one the emulator puts in the requests it checks."""
    supplied = set(GLOBAL_CONTEXT) | set(ADDED_CONTEXT_KEYS)
    for calls in [*INTEGRATIONS.values(), *JOB_ACCESS.values(), STATE_MACHINE_ACCESS]:
        for call in calls:
            supplied |= set(call.context)
    used = set()
    for resource in local["template"]["Resources"].values():
        properties = resource.get("Properties", {})
        documents = [
            properties.get(name)
            for name in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")
            if isinstance(properties.get(name), dict)
        ]
        for document in documents:
            for statement in document.get("Statement", []):
                for pairs in statement.get("Condition", {}).values():
                    used |= set(pairs)
    assert used - supplied - set(NOT_EXERCISED) == set()

"""End to end, offline: ``examples/multi-account`` released across three emulated accounts.

One emulator hosts the build, staging and production accounts (moto keeps each account's state
apart; ``emulator_env(url, account=...)`` acts in one). The example is synthesized once and each
stack is deployed into its own account with ``cdk deploy --app <assembly>``. Then, as on AWS:

approval in build → forwarded to staging's and production's buses → staging deploys the version,
smoke-tests its endpoint and records ``SmokeTest`` on the version in build → production's gate
refuses it until the promotion (``ProductionApproval`` = ``Approved`` in build) → the promotion starts
production's deployment (an explicit ``StartExecution``: SageMaker does not document an event for a
metadata change) → production deploys it. A version whose smoke test fails is never deployed to
production. Every cross-account call is decided by the emulator's IAM evaluator with both accounts'
policies. Waits run 20x faster (time scale 0.05).
"""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from support import env_client, tar_gz

from sm_constructs.local.cli.demo import REGION, cdk, emulator_env, start_server, stop_server
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("emulator-multi-account")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "multi-account"
BUILD, STAGING, PRODUCTION = "111111111111", "222222222222", "333333333333"  # the example's cdk.json
STACKS = {BUILD: "ChurnBuild", STAGING: "ChurnStaging", PRODUCTION: "ChurnProduction"}
GROUP = "churn-models"
BUCKET = f"churn-artifacts-{BUILD}-{REGION}"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
PAYLOAD = "0.5,1.5,2.5"  # the example's SmokeTest payload: three features


def _model(features):
    """A tiny XGBoost model.tar.gz (``xgboost-model``) taking ``features`` features."""
    import xgboost as xgb

    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, features))
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(x, label=x[:, 0] > 0), num_boost_round=2)
    return tar_gz({"xgboost-model": bytes(booster.save_raw("json"))})


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sm-multi-account")
    log = workdir / "cdk.log"
    started = time.monotonic()
    assembly = workdir / "cdk.out"
    proc, url = start_server(_free_port(), workdir, time_scale=0.05)
    with ThreadPoolExecutor(4) as pool:
        # the example synthesized once, while the accounts are bootstrapped
        synth = pool.submit(
            cdk, dict(os.environ), "synth", "--quiet", "--output", str(assembly), log=workdir / "synth.log", cwd=EXAMPLE
        )
        try:
            envs = {account: emulator_env(url, account) for account in STACKS}

            def bootstrap(account):
                cdk(
                    envs[account], "bootstrap", f"aws://{account}/{REGION}", log=workdir / f"{account}.log", cwd=workdir
                )

            list(pool.map(bootstrap, STACKS))
            synth.result()

            def deploy(account):
                cdk(
                    envs[account],
                    "deploy",
                    STACKS[account],
                    "--app",
                    str(assembly),
                    "--require-approval",
                    "never",
                    log=workdir / f"{account}.log",
                    cwd=workdir,
                )

            list(pool.map(deploy, STACKS))
            print(f"synth + 3 bootstraps + 3 deploys: {time.monotonic() - started:.0f}s")

            def client(account, service):
                return env_client(url, envs[account], service, REGION)

            yield {"client": client, "workdir": workdir, "log": log}
        finally:
            stop_server(proc)


def _machine(accounts, account):
    """The ARN of the deployment's state machine in the account's stack."""
    cloudformation = accounts["client"](account, "cloudformation")
    resources = cloudformation.list_stack_resources(StackName=STACKS[account])["StackResourceSummaries"]
    (arn,) = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::StepFunctions::StateMachine"]
    return arn


def _runs(accounts, account, count, timeout=90):
    """The deployment's executions in ``account`` once ``count`` have ended (EventBridge starts them)."""
    sfn = accounts["client"](account, "stepfunctions")
    machine = _machine(accounts, account)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = sfn.list_executions(stateMachineArn=machine)["executions"]
        if len(runs) >= count and all(r["status"] != "RUNNING" for r in runs):
            return sorted(runs, key=lambda r: r["startDate"])
        time.sleep(0.3)
    raise AssertionError(f"{account}: {count} executions of {machine} not ended after {timeout}s")


def _history(accounts, account, arn):
    return accounts["client"](account, "stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)[
        "events"
    ]


def _entered(accounts, account, arn):
    """The states the execution entered, in order."""
    return [
        e["stateEnteredEventDetails"]["name"] for e in _history(accounts, account, arn) if "StateEntered" in e["type"]
    ]


def _failures(accounts, account, arn):
    """Each failed task's error and cause (for assertion messages)."""
    return [e.get("taskFailedEventDetails") for e in _history(accounts, account, arn) if e["type"] == "TaskFailed"]


def _register(accounts, key, features):
    """A version of the build account's group, its artifact under the released prefix, then approved."""
    accounts["client"](BUILD, "s3").put_object(Bucket=BUCKET, Key=key, Body=_model(features))
    sm = accounts["client"](BUILD, "sagemaker")
    arn = sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{key}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return arn


def _metadata(accounts, arn):
    described = accounts["client"](BUILD, "sagemaker").describe_model_package(ModelPackageName=arn)
    return described.get("CustomerMetadataProperties", {})


def _promote(accounts, arn):
    """The promotion: the second approval recorded on the version in build, then production's
    deployment started with the version, as the registry's event would give it."""
    accounts["client"](BUILD, "sagemaker").update_model_package(
        ModelPackageArn=arn, CustomerMetadataProperties={"ProductionApproval": "Approved"}
    )
    group, version = arn.rsplit("/", 2)[-2:]
    detail = {"ModelPackageArn": arn, "ModelPackageGroupName": group, "ModelPackageVersion": int(version)}
    accounts["client"](PRODUCTION, "stepfunctions").start_execution(
        stateMachineArn=_machine(accounts, PRODUCTION), input=json.dumps({"detail": detail})
    )


def test_release_goes_from_approval_through_staging_and_promotion_to_production(accounts):
    started = time.monotonic()
    passing = _register(accounts, "models/v1/model.tar.gz", features=3)

    (staged,) = _runs(accounts, STAGING, 1)
    entered = _entered(accounts, STAGING, staged["executionArn"])
    assert staged["status"] == "SUCCEEDED", (entered, _failures(accounts, STAGING, staged["executionArn"]))
    assert entered[-4:] == ["SmokeTest", "SmokeTestPassed", "RecordSmokeTestPassed", "Deployed"]
    assert _metadata(accounts, passing) == {"SmokeTest": "Passed"}  # recorded in build, by staging's role
    assert (
        accounts["client"](STAGING, "sagemaker").describe_endpoint(EndpointName="churn-staging")["EndpointStatus"]
        == "InService"
    )

    # production heard the same approval; its gate refuses the version until the promotion
    (gated,) = _runs(accounts, PRODUCTION, 1)
    assert gated["status"] == "SUCCEEDED"
    assert _entered(accounts, PRODUCTION, gated["executionArn"])[-1] == "NotPromoted"
    production = accounts["client"](PRODUCTION, "sagemaker")
    assert production.list_endpoints()["Endpoints"] == []

    _promote(accounts, passing)
    released = _runs(accounts, PRODUCTION, 2)[-1]
    assert released["status"] == "SUCCEEDED", _failures(accounts, PRODUCTION, released["executionArn"])
    assert _entered(accounts, PRODUCTION, released["executionArn"])[-1] == "Deployed"
    assert _metadata(accounts, passing) == {"SmokeTest": "Passed", "ProductionApproval": "Approved"}
    endpoint = production.describe_endpoint(EndpointName="churn-production")
    assert endpoint["EndpointStatus"] == "InService"
    config = production.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = production.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["Containers"][0]["ModelPackageName"] == passing  # the build account's version
    runtime = accounts["client"](PRODUCTION, "sagemaker-runtime")
    answer = runtime.invoke_endpoint(EndpointName="churn-production", Body=PAYLOAD, ContentType="text/csv")
    assert 0.0 <= float(answer["Body"].read()) <= 1.0
    print(f"approval → staging → promotion → production: {time.monotonic() - started:.0f}s")


def test_production_refuses_a_version_that_failed_staging(accounts):
    # a model of five features: the smoke test's three-feature payload is refused by the endpoint
    failing = _register(accounts, "models/v2/model.tar.gz", features=5)
    staged = _runs(accounts, STAGING, 2)[-1]
    entered = _entered(accounts, STAGING, staged["executionArn"])
    assert staged["status"] == "FAILED"
    assert "RecordSmokeTestFailed" in entered and "Deployed" not in entered
    assert _metadata(accounts, failing) == {"SmokeTest": "Failed"}

    before = len(_runs(accounts, PRODUCTION, 3))  # production heard the approval too: NotPromoted
    _promote(accounts, failing)  # a person approves it for production regardless
    refused = _runs(accounts, PRODUCTION, before + 1)[-1]
    assert refused["status"] == "SUCCEEDED"
    assert _entered(accounts, PRODUCTION, refused["executionArn"])[-1] == "NotPromoted"
    production = accounts["client"](PRODUCTION, "sagemaker")
    endpoint = production.describe_endpoint(EndpointName="churn-production")
    config = production.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = production.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["Containers"][0]["ModelPackageName"] != failing  # production still serves the passing version


def test_staging_cannot_deploy_an_artifact_its_model_role_may_not_read(accounts):
    """The build bucket's policy admits only tagged release readers: untagged, staging's model role is
    denied the artifact by the bucket owner's policy, and the endpoint update fails with AWS's words."""
    iam = accounts["client"](STAGING, "iam")
    (role,) = [r for r in iam.list_roles()["Roles"] if "ModelRole" in r["RoleName"]]
    tags = iam.list_role_tags(RoleName=role["RoleName"])["Tags"]
    iam.untag_role(RoleName=role["RoleName"], TagKeys=[t["Key"] for t in tags])
    try:
        _register(accounts, "models/v3/model.tar.gz", features=3)
        staged = _runs(accounts, STAGING, 3)[-1]
    finally:
        iam.tag_role(RoleName=role["RoleName"], Tags=tags)
    assert staged["status"] == "FAILED"
    endpoint = accounts["client"](STAGING, "sagemaker").describe_endpoint(EndpointName="churn-staging")
    assert endpoint["FailureReason"] == (
        f"Could not access model data at s3://{BUCKET}/models/v3/model.tar.gz: User: "
        f"arn:aws:sts::{STAGING}:assumed-role/{role['RoleName']}/SageMaker is not authorized to perform: "
        f"s3:GetObject on resource: arn:aws:s3:::{BUCKET}/models/v3/model.tar.gz "
        "because no resource-based policy allows the s3:GetObject action"
    )

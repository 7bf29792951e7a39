"""The built wheel in a fresh virtual environment, used as a new project would: ``sm-local`` deploys a
small app of its own (outside this repository, with a bare ``cdk.json``) into the emulator, runs it,
deploys a change (a change set), runs the changed definition and destroys the stack
(``--method=direct`` updates: ``tests/test_local_stack_updates.py``).

The CDK CLI is the user's: the pinned one from this repository's ``node_modules`` on ``PATH`` (with
its Node 22), found by ``sm-local`` as it would find a global install.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from support import new_user_env

from sm_constructs.local.cli.demo import health

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.wheel, pytest.mark.xdist_group("wheel")]


def _sh(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args[:3]} exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_wheel_provides_the_local_extra_and_the_reference_app(venv):
    probe = "import jsonata, moto, numpy, pandas, sklearn, xgboost, sm_constructs.local.cli.demo as d;print(d.reference_app())"
    where = Path(_sh(venv / "bin" / "python", "-c", probe, cwd=venv).strip())
    assert where.is_relative_to(venv) and (where / "app.py").is_file()
    assert (where / "reference" / "data" / "churn.csv").is_file()


def test_sm_local_deploys_runs_changes_and_destroys_an_app_of_its_own(venv, tmp_path):
    app = Path(shutil.copytree(ROOT / "tests" / "apps" / "tiny", tmp_path / "app"))
    env = new_user_env(venv, tmp_path)
    # a fixture app (tests/apps): aws-cdk-lib's template validation would only warn, to no one (conftest.py)
    env["CDK_VALIDATION"] = "false"
    sm_local = str(venv / "bin" / "sm-local")

    def run(*args: str) -> str:
        return _sh(sm_local, *args, env=env, cwd=app)

    try:
        run("deploy")
        exports = dict(line.removeprefix("export ").split("=", 1) for line in run("env").splitlines())
        url = exports["AWS_ENDPOINT_URL"]
        session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
        s3, cfn = session.client("s3", endpoint_url=url), session.client("cloudformation", endpoint_url=url)
        resources = cfn.list_stack_resources(StackName="Tiny")["StackResourceSummaries"]
        (bucket,) = [
            r["PhysicalResourceId"]
            for r in resources
            if r["ResourceType"] == "AWS::S3::Bucket" and r["LogicalResourceId"].startswith("DataBucket")
        ]
        s3.put_object(Bucket=bucket, Key="raw/x.csv", Body=b"a,b\n1,2\n3,4\n")

        out = run("run", "tiny-count")  # the run's summary names each step's job
        assert re.search(r"tiny-count-\S+ \(Completed\)", out), out
        counts = s3.get_object(Bucket=bucket, Key="processed/counts/counts.json")["Body"].read()
        assert json.loads(counts) == {"x.csv": 3}

        # a change through a change set: new job name prefix and output, one more grant
        source = (app / "app.py").read_text()
        changed = source.replace('name_prefix="tiny-count"', 'name_prefix="tiny-recount"').replace(
            'f"{DataPrefix.PROCESSED}counts/"', 'f"{DataPrefix.PROCESSED}recounts/"'
        )
        changed = changed.replace(
            "data.grant_read(role, DataPrefix.RAW)",
            "data.grant_read(role, DataPrefix.RAW)\n        data.grant_read(role, DataPrefix.MODELS)",
        )
        assert changed.count("recount") == 2 and "MODELS" in changed
        (app / "app.py").write_text(changed)
        run("deploy")
        out = run("run", "tiny-count", "--json")  # the execution's raw output
        assert '"ProcessingJobName": "tiny-recount-' in out
        assert s3.get_object(Bucket=bucket, Key="processed/recounts/counts.json")["Body"].read() == counts
        iam = session.client("iam", endpoint_url=url)
        (policy,) = [p for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"].startswith("Tiny-Role")]
        document = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])
        assert f"arn:aws:s3:::{bucket}/models/*" in json.dumps(document["PolicyVersion"]["Document"])

        run("destroy")
        assert not [s for s in cfn.describe_stacks()["Stacks"] if s["StackName"] == "Tiny"]
        assert s3.head_bucket(Bucket=bucket)  # RETAINed, as on AWS
    finally:
        run("reset")
    assert not (app / ".sm-local").exists()
    assert health(url) is None

"""Shared test helpers: apps with the project's feature flags, independent validators.

Synth is the slow part of every CDK test, so modules build one app per module (fixtures with
``scope="module"``) and run every check against it.
"""

from __future__ import annotations

import functools
import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import boto3
import cfnlint.config
import cfnlint.decode
import cfnlint.runner
from aws_cdk import App, Stack, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks

ROOT = Path(__file__).resolve().parent.parent
CDK_CONTEXT: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
#: Regions every template is linted for (commercial, EU and an opt-in region).
LINT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-3"]


def new_app(outdir: str | None = None, **context: Any) -> App:
    """An App with cdk.json's feature flags, as `cdk synth` would build it."""
    return App(context={**CDK_CONTEXT, **context}, outdir=outdir)


def new_stack(app: App | None = None, id: str = "Test") -> Stack:
    """An env-agnostic stack (no account or region), like the reference app's."""
    return Stack(app or new_app(), id)


def template_of(stack: Stack) -> Template:
    return Template.from_stack(stack)


def add_nag_packs(app: App) -> None:
    """The four compliance packs the reference app must pass."""
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app),
        HIPAASecurityChecks(app),
        NIST80053R5Checks(app),
        PCIDSS321Checks(app),
    )


def cfn_lint(template: dict[str, Any], regions: list[str] | None = None) -> list[str]:
    """cfn-lint findings (errors, warnings and informational) as readable strings.

    What ``cfnlint.api.lint`` does, with one runner per set of regions for the process: ``lint`` makes a
    new runner for each template, which loads every rule again (about 0.3 s of CPU a template). cfn-lint's
    command line lints all the templates of a run with one runner in the same way."""
    decoded, errors = cfnlint.decode.decode_str(json.dumps(template))
    matches = errors or list(_cfn_lint_runner(tuple(regions or LINT_REGIONS)).validate_template(decoded))
    return [f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})" for m in matches]


@functools.cache
def _cfn_lint_runner(regions: tuple[str, ...]) -> cfnlint.runner.Runner:
    return cfnlint.runner.Runner(cfnlint.config.ConfigMixIn(regions=list(regions)))


def sagemaker_findings(app: App, **options: Any) -> dict[str, set[str]]:
    """Unacknowledged SageMakerChecks findings of an app: ``{finding id: {construct paths}}``."""
    from sm_constructs.nag import SageMakerChecks

    report = SageMakerChecks(app, **options).validate_scope(app)
    return {v.rule_name: {r.construct_path for r in v.violating_resources} for v in report.violations}


def tar_gz(files: dict[str, bytes]) -> bytes:
    """A gzipped tar of ``files`` (name: content), as model artifacts and source dirs are uploaded."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def env_client(url: str, env: dict[str, str], service: str, region: str) -> Any:
    """A ``service`` client for the emulator at ``url`` with the credentials in ``env`` (``emulator_env``'s)."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env.get("AWS_SESSION_TOKEN"),
    )


def new_user_env(venv: Path, home: Path) -> dict[str, str]:
    """The environment of a new user's shell: the wheel's venv and the pinned CDK CLI on ``PATH``, no AWS
    or CDK settings, and a ``HOME`` of its own (no ``~/.aws``).

    The machine's caches stay where they were: with the new ``HOME`` each app would otherwise unpack
    aws-cdk-lib's tarball into jsii's package cache again (about 5 s of CPU) and install the emulator's AWS
    SDK for JavaScript for Node.js Lambda functions again (``npm ci``, about 2.5 s), which a user does once
    per machine, not once per app. jsii's cache root is ``~/.cache/aws/jsii/package-cache`` on Linux
    (``defaultCacheRoot``, which reads ``HOME`` only), so it is named (``JSII_RUNTIME_PACKAGE_CACHE_ROOT``);
    the emulator's is ``$XDG_CACHE_HOME/sm-constructs`` (``sm_constructs._user_cache.cache_root``).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VIRTUAL_ENV", "CDK_", "PYTHONPATH"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env['PATH']}"
    env.setdefault("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    env.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(Path(Path.home(), ".cache", "aws", "jsii", "package-cache")))
    env["HOME"] = str(home)
    return env

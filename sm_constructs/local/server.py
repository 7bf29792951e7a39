"""A local AWS endpoint for sm_constructs stacks: moto's server plus what SageMaker workflows need.

:class:`Emulator` runs moto's server in this process on ``localhost`` with state machine execution
turned on, and installs, as plug-ins rather than changes to moto:

* :class:`~sm_constructs.local.aws.sagemaker_jobs.SageMakerIntegration` for the Step Functions
  SageMaker integration (validated requests, ``.sync``), with the
  :class:`~sm_constructs.local.jobs.runner.JobRunner` that runs jobs here;
* ``AWS::SageMaker::ModelPackageGroup`` and ``AWS::SageMaker::Domain`` for moto's CloudFormation (it
  skips types it does not know; the model registry step needs the group, Studio roles the domain ID), state machines created by CloudFormation placed where
  moto executes them, Fail states and Parallel branches that pass on ``States.*`` errors, S3 object
  bodies as strings and SDK error names, as on AWS;
* SageMaker ``Search`` over training jobs and ``ListProcessingJobs`` as AWS documents them
  (:mod:`~sm_constructs.local.aws.sagemaker_search`: every filter, sort order and limit), which step
  caching looks jobs up with, ``$$.Execution.StartTime`` as the ISO 8601 text AWS gives, and
  indefinite JSONPaths (wildcards, filters) that always give a list, as on AWS, JSONata states
  (:mod:`~sm_constructs.local.aws.stepfunctions_jsonata`), intrinsic functions' escaped characters
  (``\\{`` in a ``States.Format`` template: :mod:`~sm_constructs.local.aws.stepfunctions_intrinsics`),
  and ``GetExecutionHistory`` in pages,
  newest first when asked (:mod:`~sm_constructs.local.aws.stepfunctions_history`);
* SageMaker monitoring schedules, control plane only: created, updated and described with
  SageMaker's checks, never executed (:mod:`~sm_constructs.local.aws.sagemaker_monitoring`);
* IAM enforcement (on by default): every call of a run authorized against the deployed policies
  as AWS would (:mod:`~sm_constructs.local.iam.enforcement`);
* Lambda functions and Lambda-backed custom resources (aws-cdk-lib adds them for ``ec2.Vpc`` and
  auto-deleted buckets) run here without Docker, Python with this Python and Node.js with ``node``
  (:mod:`~sm_constructs.local.aws.awslambda`);
* an optional time scale for Wait states, Retry intervals, endpoint lifecycles and slow-job faults
  (``time_scale=0.05`` turns a 30-second endpoint poll into 1.5 seconds); 1.0 keeps AWS's timing.
  It is one :class:`TimeScale` read at every use, so it can be changed while the emulator runs;
* two routes of its own beside moto's: ``GET /sm-local/health`` answers ``{"service": "sm-local",
  "pid", "workdir", "url", "time_scale", "started"}`` without touching moto's state (``sm-local``
  finds its emulator by it), and ``POST /sm-local/time-scale`` with ``{"time_scale": F}`` changes the
  time scale (``sm-local scale F``);
* endpoint lifecycles that take (scaled) time and reject what SageMaker rejects
  (:mod:`~sm_constructs.local.aws.sagemaker_endpoints`), per-instance-type job quotas from ``quotas.json``
  (:mod:`~sm_constructs.local.aws.sagemaker_quotas`) and slow or failing jobs from ``faults.json``
  (:mod:`~sm_constructs.local.jobs.faults`).

The real CDK CLI deploys into it (``AWS_ENDPOINT_URL=http://localhost:<port>``; moto resolves
template URLs by that name). Resource types moto does not implement (CloudWatch alarms, bucket and
topic policies, EventBridge Scheduler) are skipped by moto with a warning; none of them takes part in
a pipeline run. Studio user profiles, spaces and lifecycle configurations are the emulator's own
(:mod:`~sm_constructs.local.aws.sagemaker_studio`), and ``AWS::S3::Bucket`` keeps its versioning
(:mod:`~sm_constructs.local.aws.s3`).
"""

from __future__ import annotations

import datetime
import functools
import inspect
import json
import math
import os
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from . import patches
from ._net import free_port as _free_port

__all__ = ["ACCOUNT_ID", "HEALTH_PATH", "SERVICE", "TIME_SCALE_PATH", "Emulator", "TimeScale", "declare_changes"]

ACCOUNT_ID = "123456789012"
#: The emulator's own routes (not AWS APIs): its identity, and its time scale changed at run time.
HEALTH_PATH = "/sm-local/health"
TIME_SCALE_PATH = "/sm-local/time-scale"
#: ``service`` in the health answer: what tells this emulator from any other server on the port.
SERVICE = "sm-local"
_installed = False


class TimeScale:
    """The factor the emulator applies to Wait states, Retry intervals, endpoint lifecycles and
    slow-job faults; one object read at every use, so a change applies to a running emulator.

    :param factor: Default: 1.0, AWS's timing.
    """

    def __init__(self, factor: float = 1.0) -> None:
        self.factor = 1.0
        self.set(factor)

    def set(self, factor: float) -> None:
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not math.isfinite(factor) or factor <= 0:
            raise ValueError(f"time scale {factor!r} must be a positive number (1.0 keeps AWS's timing)")
        self.factor = float(factor)

    def __call__(self, seconds: float) -> float:
        return seconds * self.factor


def _install_model_package_group() -> None:
    from moto.core.common_models import CloudFormationModel
    from moto.sagemaker.models import sagemaker_backends

    from .aws import cloudformation
    from .iam.enforcement import GROUP_POLICIES

    class ModelPackageGroupResource(cloudformation.ResourceModel, CloudFormationModel):
        TYPE = "AWS::SageMaker::ModelPackageGroup"
        NAME_PROPERTY = "ModelPackageGroupName"
        ATTRIBUTES = {"ModelPackageGroupArn": "arn", "ModelPackageGroupName": "name"}

        def __init__(self, name: str, arn: str) -> None:
            self.name = name
            self.arn = arn

        @property
        def physical_resource_id(self) -> str:
            return self.arn  # Ref returns the ARN

        @patches.creates
        def create_from_cloudformation_json(cls: Any, change: patches.Change) -> ModelPackageGroupResource:
            props = cls.named(change)
            name = props["ModelPackageGroupName"]
            backend = sagemaker_backends[change.account_id][change.region_name]
            arn = backend.create_model_package_group(
                model_package_group_name=name,
                model_package_group_description=props.get("ModelPackageGroupDescription", ""),
                tags=props.get("Tags"),
            )
            if props.get("ModelPackageGroupPolicy"):  # the group's resource policy, for the IAM evaluator
                policy = props["ModelPackageGroupPolicy"]
                GROUP_POLICIES[arn] = json.loads(policy) if isinstance(policy, str) else dict(policy)
            return cls(name, arn)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            group = sagemaker_backends[account_id][region_name].model_package_groups.pop(resource_name, None)
            if group is not None:
                GROUP_POLICIES.pop(group.arn, None)

    why = "AWS::SageMaker::ModelPackageGroup (moto skips it): the model registry step needs the group"
    cloudformation.resource_type(ModelPackageGroupResource, why=why)


def _install_studio_domain() -> None:
    """``AWS::SageMaker::Domain`` for moto's CloudFormation, backed by moto's SageMaker ``CreateDomain``.

    Execution roles are scoped to their domain through its ``DomainId`` attribute, so a skipped
    domain would fail the whole stack; user profiles, spaces and Studio lifecycle configurations are
    :mod:`~sm_constructs.local.aws.sagemaker_studio`'s.
    """
    from moto.core.common_models import CloudFormationModel
    from moto.sagemaker.models import sagemaker_backends

    from .aws import cloudformation

    class DomainResource(cloudformation.ResourceModel, CloudFormationModel):
        TYPE = "AWS::SageMaker::Domain"
        NAME_PROPERTY = "DomainName"
        ATTRIBUTES = {
            "DomainId": "domain.id",
            "DomainArn": "domain.arn",
            "Url": "domain.url",
            "HomeEfsFileSystemId": "domain.home_efs_file_system_id",
        }

        def __init__(self, domain: Any) -> None:
            self.domain = domain

        @property
        def physical_resource_id(self) -> str:
            return str(self.domain.id)  # Ref returns the domain ID (the schema's primary identifier)

        @patches.creates
        def create_from_cloudformation_json(cls: Any, change: patches.Change) -> DomainResource:
            props = cls.named(change)
            backend = sagemaker_backends[change.account_id][change.region_name]
            backend.create_domain(
                domain_name=props["DomainName"],
                auth_mode=props["AuthMode"],
                default_user_settings=props["DefaultUserSettings"],
                subnet_ids=props.get("SubnetIds", []),
                vpc_id=props.get("VpcId", ""),
                domain_settings=props.get("DomainSettings"),
                tags=props.get("Tags"),
                app_network_access_type=props.get("AppNetworkAccessType"),
                home_efs_file_system_kms_key_id=None,
                kms_key_id=props.get("KmsKeyId"),
                app_security_group_management=props.get("AppSecurityGroupManagement"),
                default_space_settings=props.get("DefaultSpaceSettings"),
            )
            return cls(next(d for d in backend.domains.values() if d.domain_name == props["DomainName"]))

        @patches.updates
        def update_from_cloudformation_json(cls: Any, change: patches.Change) -> DomainResource:
            props = change.properties
            domain = change.previous.domain
            # DomainName, AuthMode and KmsKeyId are create-only in CloudFormation's schema: a change replaces.
            if (props.get("DomainName"), props["AuthMode"], props.get("KmsKeyId")) != (
                domain.domain_name,
                domain.auth_mode,
                domain.kms_key_id,
            ):
                sagemaker_backends[change.account_id][change.region_name].delete_domain(
                    domain.id, retention_policy=None
                )
                return cls.create_from_cloudformation_json(
                    change.name, change.template, change.account_id, change.region_name
                )
            domain.default_user_settings = props["DefaultUserSettings"]
            domain.default_space_settings = props.get("DefaultSpaceSettings")
            domain.domain_settings = props.get("DomainSettings")
            domain.app_network_access_type = props.get("AppNetworkAccessType", domain.app_network_access_type)
            domain.app_security_group_management = props.get("AppSecurityGroupManagement")
            return change.previous

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            backend = sagemaker_backends[account_id][region_name]
            for domain_id in [i for i, d in backend.domains.items() if i == resource_name or d.arn == resource_name]:
                backend.delete_domain(domain_id, retention_policy=None)

    why = "AWS::SageMaker::Domain (moto skips it): execution roles are scoped to its DomainId"
    cloudformation.resource_type(DomainResource, why=why)


def _install_executable_state_machines() -> None:
    """State machines from CloudFormation go to the backend that executes them (moto keeps two)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    why = "state machines created by CloudFormation go to the backend that executes them"
    patches.replace("moto.stepfunctions.models", "stepfunctions_backends", stepfunctions_parser_backends, why=why)


def _install_execution_names() -> None:
    """StartExecution without a name gets a UUID (botocore's Step Functions model, StartExecution
    ``name``: "If you don't provide a name for the execution, Step Functions automatically generates a
    universally unique identifier (UUID) as the execution name"); moto names it ``None``, so a second
    unnamed start fails with ExecutionAlreadyExists."""
    import uuid

    @patches.wrap(
        "moto.stepfunctions.parser.models:StepFunctionsParserBackend",
        "start_execution",
        why="an unnamed execution is named with a UUID, as on AWS",
    )
    def start_execution(
        original: Any,
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)


def _install_rethrown_state_errors() -> None:
    """A Fail state (``ErrorPath`` to a caught error) or a failed Parallel branch passes on any error
    name, ``States.TaskFailed`` included; moto's interpreter refuses ``States.*`` names there."""
    patches.replace(
        "moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name",
        "ILLEGAL_CUSTOM_ERROR_PREFIX",
        "\x00",
        why="Fail states and Parallel branches pass on States.* error names, as on AWS",
    )


def _install_sdk_results() -> None:
    """``aws-sdk:s3:getObject`` returns the body as a string on AWS and timestamps as text (moto's
    interpreter leaves botocore's body and datetime objects in the task result), and SDK errors are named after the
    service as AWS names them (moto: ``sagemaker.sagemakerException``)."""
    sdk = "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk"
    for service, name in {"sagemaker": "SageMaker", "s3": "S3"}.items():
        why = "SDK integration errors are named as on AWS: SageMaker.SageMakerException, S3.NoSuchKeyException"
        patches.entry(sdk, "_SERVICE_ERROR_NAMES", (service,), name, why=why)

    def read_bodies(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: read_bodies(v) for k, v in value.items()}
        if isinstance(value, list):
            return [read_bodies(v) for v in value]
        if hasattr(value, "read") and callable(value.read):
            return value.read().decode("utf-8")
        if isinstance(value, datetime.datetime):
            return value.isoformat()
        return value

    @patches.wrap(f"{sdk}:StateTaskServiceAwsSdk", "_eval_service_task", why="S3 bodies and timestamps as text")
    def eval_service_task(original: Any, self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original(self, env, *args, **kwargs)
        env.stack.append(read_bodies(env.stack.pop()))


def _install_context_start_time() -> None:
    """``$$.Execution.StartTime`` is an ISO 8601 string on AWS (Step Functions Developer Guide,
    "Accessing execution data from the Context object": ``"2019-03-26T20:14:13.192Z"``); moto's
    interpreter puts a datetime object there, which no intrinsic function can read."""

    @patches.wrap(
        "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker",
        "_get_evaluation_environment",
        why="$$.Execution.StartTime is ISO 8601 text, as on AWS",
    )
    def evaluation_environment(original: Any, self: Any) -> Any:
        env = original(self)
        execution = env.states.context_object.context_object_data["Execution"]
        start = execution.get("StartTime")
        if isinstance(start, datetime.datetime):
            utc = start.astimezone(datetime.UTC) if start.tzinfo else start
            execution["StartTime"] = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
        return env


def _install_indefinite_paths() -> None:
    """A JSONPath with a wildcard, filter, slice or deep scan gives a list on AWS, of any length
    (Step Functions evaluates paths with Jayway JsonPath: "indefinite paths always return a list").
    moto's interpreter unwraps a single match and fails on no match for filters. A definite path
    gives its one value, also below an index (``$.data[0].uri``), where moto gives a list."""
    import sys

    from moto.stepfunctions.parser.asl.parse import asl_parser  # noqa: F401  (imports the states)
    from moto.stepfunctions.parser.asl.utils import json_path

    from .aws.stepfunctions_reuse import jsonpath as parse  # parsed once per path text

    original = json_path.extract_json

    def extract_json(path: str, data: Any) -> Any:
        if _INDEFINITE.search(path):
            return [match.value for match in parse(path).find(data)]
        matches = parse(path).find(data)
        if len(matches) == 1:
            return matches[0].value
        return original(path, data)

    why = "indefinite JSONPaths give a list and definite ones their value, as Jayway JsonPath does on AWS"
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "extract_json", None) is original:
            patches.replace(name, "extract_json", extract_json, why=why)


_INDEFINITE = re.compile(r"\[\*\]|\[\?|\.\.|\[-?\d*:-?\d*\]|\[[^\]]*,")


def _install_time_scale(scale: TimeScale) -> None:
    @patches.wrap(
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function:WaitFunction",
        "_wait_interval",
        why="Wait states take the emulator's time scale",
    )
    def scaled_wait(original: Any, self: Any, env: Any, wait_seconds: int) -> None:
        original(self, env, scale(wait_seconds))

    patches.replace(
        "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl",
        "time",
        SimpleNamespace(sleep=lambda seconds: time.sleep(scale(seconds))),
        why="Retry intervals take the emulator's time scale",
    )


def _install_sagemaker(runner: Any, faults: Any) -> None:
    from .aws.sagemaker_jobs import SageMakerIntegration

    SageMakerIntegration.runner = runner
    SageMakerIntegration.faults = faults
    patches.subclass(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback:"
        "StateTaskServiceCallback",
        SageMakerIntegration,
        why="the optimized SageMaker integration is a Task state service of moto's interpreter",
    )

    @patches.wrap(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_factory",
        "state_task_service_for",
        why="arn:aws:states:::sagemaker:* tasks run through the emulator's SageMaker integration",
    )
    def state_task_service_for(delegate: Any, service_name: str) -> Any:
        return SageMakerIntegration() if service_name == "sagemaker" else delegate(service_name)


def _install_service_behaviour(runner: Any, faults: Any, workdir: Path, scale: TimeScale, enforcer: Any = None) -> None:
    """Endpoint lifecycles (with IAM enforced, a model role that may not read its model data fails
    the endpoint), job quotas (``quotas.json``) and job faults, each in its own module."""
    from .aws import sagemaker_endpoints, sagemaker_quotas
    from .jobs import faults as job_faults

    model_access = None
    if enforcer is not None:
        from .iam.enforcement import model_data_access

        model_access = functools.partial(model_data_access, enforcer)
    sagemaker_endpoints.install(sagemaker_endpoints.EndpointTiming(scale=scale), faults, model_access)
    sagemaker_quotas.install(sagemaker_quotas.JobQuotas(workdir / "quotas.json", ACCOUNT_ID))
    job_faults.install(runner, faults, scale)


def _install_shared_botocore_data() -> None:
    """One botocore data loader per data path for the process: every new botocore session made its
    own and read the JSON of each service model it needed again (moto's EC2 module makes three
    sessions at import, each reading EC2's model to list its Regions; moto's backends list Regions
    through one session, and the clients of jobs and Step Functions tasks read models through
    another). botocore's files do not change while the emulator runs, and a loader already hands the
    same data to every client of its session. The loaders live as long as the process: a test process
    that gives moto back after each module (``patches.restore``) and declares this again keeps the models
    its earlier modules read."""
    why = "botocore sessions share one loader (and the models it read) instead of reading them again"
    patches.replace("botocore.session", "create_loader", _shared_loader, why=why)


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> Any:
    """botocore's ``create_loader``, once per data path for the process."""
    import botocore.loaders

    return botocore.loaders.create_loader(search_path_string)


def _install_module_list() -> None:
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    patches.replace(
        "moto.backends",
        "list_of_moto_modules",
        list_of_moto_modules,
        why="moto's server lists its package directory (a listdir and an isdir per entry) for every request, "
        "under the lock that routes requests; the list is read once",
    )


_METHOD_NAMES: dict[tuple[type, tuple[int, ...]], list[str]] = {}


def method_names_from_class(clazz: Any) -> list[str]:
    """moto's ``method_names_from_class`` (the names of a class's functions, its bases' included), kept per class:
    the key holds the size of each namespace in its MRO, so a method added or taken away (the registry's own
    ``add`` and ``restore``) makes a new key."""
    key = (clazz, tuple(len(vars(c)) for c in clazz.__mro__))
    names = _METHOD_NAMES.get(key)
    if names is None:
        names = _METHOD_NAMES[key] = [name for name, _ in inspect.getmembers(clazz, predicate=inspect.isfunction)]
    return names


def _install_method_names() -> None:
    patches.replace(
        "moto.core.responses",
        "method_names_from_class",
        method_names_from_class,
        why="moto lists a response class's methods (inspect.getmembers over its whole MRO) for every request "
        "to find the action's handler; the list is kept per class while its methods stay the same",
    )


def declare_changes(workdir: Path) -> None:
    """Declare every change :meth:`Emulator.start` makes to moto (IAM enforced, a job runner that runs
    nothing), held and never applied, then check them as ``start`` does: every module they change is
    imported, nothing is served. For the registry's own tests and the test run's bytecode warm-up."""
    from .aws.sagemaker_jobs import Faults
    from .iam.enforcement import Enforcer, PolicyStore

    enforcer = Enforcer(PolicyStore(ACCOUNT_ID), ACCOUNT_ID, log=workdir / "iam.jsonl")
    runner = SimpleNamespace(submit=lambda *args: None)
    with patches.held():
        _install(runner, Faults(workdir / "faults.json"), enforcer, workdir, TimeScale(1.0), "http://localhost:1")
    patches.check()


def _install(runner: Any, faults: Any, enforcer: Any, workdir: Path, scale: TimeScale, endpoint_url: str) -> None:
    """Declare every change to moto, in the order the wrapping ones stack (see :mod:`.patches`)."""
    from . import serialization
    from .aws import (
        awslambda,
        cloudformation,
        ec2,
        events,
        kms,
        logs,
        request_constraints,
        s3,
        sagemaker_billing,
        sagemaker_lineage,
        sagemaker_monitoring,
        sagemaker_registry,
        sagemaker_runtime,
        sagemaker_search,
        sagemaker_studio,
        stepfunctions_accounts,
        stepfunctions_history,
        stepfunctions_intrinsics,
        stepfunctions_jsonata,
        stepfunctions_reuse,
    )
    from .jobs import tuning

    patches.entry(
        "moto.core.config",
        "default_user_config",
        ("stepfunctions", "execute_state_machine"),
        True,
        why="moto runs state machine executions instead of only recording them",
    )
    _install_module_list()
    _install_method_names()
    request_constraints.install()  # first: a request AWS refuses reaches no other plug-in
    stepfunctions_reuse.install()
    stepfunctions_history.install()
    serialization.install()
    _install_sagemaker(runner.submit, faults)
    if enforcer is not None:
        from .iam.enforcement import install

        install(enforcer)
    _install_model_package_group()
    _install_studio_domain()
    sagemaker_studio.install()  # user profiles and spaces, in the domains above
    _install_executable_state_machines()
    _install_execution_names()
    _install_rethrown_state_errors()
    _install_sdk_results()
    sagemaker_search.install()
    sagemaker_lineage.install()
    sagemaker_billing.install()
    sagemaker_monitoring.install()
    _install_context_start_time()
    _install_indefinite_paths()
    stepfunctions_jsonata.install()
    stepfunctions_intrinsics.install()
    cloudformation.install()
    awslambda.install(endpoint_url, workdir)
    ec2.install()
    kms.install()
    logs.install()
    s3.install()
    tuning.install()
    sagemaker_runtime.install(workdir)
    # after sagemaker_runtime.install: the lifecycle wraps its UpdateEndpoint and InvokeEndpoint
    _install_service_behaviour(runner, faults, workdir, scale, enforcer)
    sagemaker_registry.install(enforcer)  # registry approval events → state machine targets
    stepfunctions_accounts.install()  # a state machine's calls act in its role's account
    events.install(enforcer)  # event bus policies; delivery to another account's bus authorized
    _install_time_scale(scale)  # also at 1.0: the scale can change while the emulator runs


class _OwnRoutes:
    """WSGI app: the emulator's own routes (:data:`HEALTH_PATH`, :data:`TIME_SCALE_PATH`), else moto's."""

    def __init__(self, moto_app: Any, emulator: Emulator) -> None:
        self.moto_app = moto_app
        self.emulator = emulator

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method == "GET":
            return self._answer(start_response, "200 OK", self.emulator.health())
        if path == TIME_SCALE_PATH and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                self.emulator.time_scale.set(json.loads(environ["wsgi.input"].read(length))["time_scale"])
            except (ValueError, KeyError, TypeError) as error:
                return self._answer(start_response, "400 Bad Request", {"message": str(error)})
            return self._answer(start_response, "200 OK", self.emulator.health())
        return self.moto_app(environ, start_response)

    @staticmethod
    def _answer(start_response: Any, status: str, body: dict[str, Any]) -> list[bytes]:
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def _threaded_server(emulator: Emulator) -> Any:
    """moto's threaded server serving :class:`_OwnRoutes` in front of moto's app."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class EmulatorServer(ThreadedMotoServer):
        def _server_entry(self) -> None:  # ThreadedMotoServer's, with the routes in front
            app = _OwnRoutes(DomainDispatcherApplication(create_backend_app), emulator)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    patches.subclass(
        "moto.moto_server.threaded_moto_server:ThreadedMotoServer",
        EmulatorServer,
        why="the emulator's own health and time-scale routes answer in front of moto's app",
    )

    return EmulatorServer(ip_address="127.0.0.1", port=emulator.port, verbose=False)


class Emulator:
    """moto's server with the sm_constructs plug-ins, in this process (one per process).

    :param port: Default: - a free port.
    :param workdir: job directories, logs and ``faults.json``. Default: ``.sm-local`` here.
    :param time_scale: factor for Wait states, Retry intervals, endpoint lifecycles and slow-job
        faults; ``emulator.time_scale.set(F)`` (or ``POST /sm-local/time-scale``) changes it while it
        runs. Default: 1.0.
    :param enforce_iam: authorize every call of a run as AWS would
        (:mod:`~sm_constructs.local.iam.enforcement`). Default: on, unless ``SM_LOCAL_IAM=off``.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        workdir: Path | None = None,
        time_scale: float = 1.0,
        enforce_iam: bool | None = None,
    ) -> None:
        self.enforce_iam = os.environ.get("SM_LOCAL_IAM", "on") != "off" if enforce_iam is None else enforce_iam
        self.port = port or _free_port()
        self.workdir = (workdir or Path(".sm-local")).resolve()
        self.time_scale = TimeScale(time_scale)
        self.endpoint_url = f"http://localhost:{self.port}"
        self.started: str | None = None
        self._server: Any = None

    def health(self) -> dict[str, Any]:
        """What ``GET /sm-local/health`` answers: who serves this port, read without moto's state."""
        return {
            "service": SERVICE,
            "pid": os.getpid(),
            "workdir": str(self.workdir),
            "url": self.endpoint_url,
            "time_scale": self.time_scale.factor,
            "started": self.started,
        }

    def start(self) -> str:
        global _installed
        self.workdir.mkdir(parents=True, exist_ok=True)
        _install_shared_botocore_data()  # before moto's modules make their botocore sessions
        patches.apply()
        os.environ["MOTO_PORT"] = str(self.port)  # moto's interpreter calls services on this port
        from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

        from .aws.sagemaker_jobs import Faults
        from .jobs.runner import JobRunner

        if _installed:
            raise RuntimeError("one Emulator per process")
        _installed = True
        s3 = lambda region: boto_client_for(region=region, service="s3")  # noqa: E731
        options: dict[str, Any] = {
            "logs": lambda region: boto_client_for(region=region, service="logs"),
            "sagemaker": lambda region: boto_client_for(region=region, service="sagemaker"),
        }
        enforcer = None
        if self.enforce_iam:
            from .iam.enforcement import Enforcer, PolicyStore
            from .iam.jobs import EnforcedJobRunner

            enforcer = Enforcer(PolicyStore(ACCOUNT_ID), ACCOUNT_ID, log=self.workdir / "iam.jsonl")
            runner: JobRunner = EnforcedJobRunner(s3, self.workdir, ACCOUNT_ID, enforcer=enforcer, **options)
        else:
            runner = JobRunner(s3, self.workdir, ACCOUNT_ID, **options)
        faults = Faults(self.workdir / "faults.json")
        with patches.held():  # every change is checked before any is made: an unsupported moto stops here
            _install(runner, faults, enforcer, self.workdir, self.time_scale, self.endpoint_url)
            self._server = _threaded_server(self)
        patches.apply()
        self._server.start()
        self.started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        return self.endpoint_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

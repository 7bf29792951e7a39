"""Lambda functions run on this machine without Docker (a plug-in for moto's Lambda and CloudFormation).

moto runs a function in a Lambda container image through Docker; without Docker every ``Invoke``
fails, and so does every Lambda-backed custom resource aws-cdk-lib adds on its own (``ec2.Vpc``'s
``Custom::VpcRestrictDefaultSG``, ``s3.Bucket(auto_delete_objects=True)``, ``AwsCustomResource``,
``Provider``). Here an invocation is a subprocess in the function's environment:

* ``python3.*`` runtimes run with this Python, ``nodejs*`` runtimes with the ``node`` on ``PATH``,
  through the bootstraps in ``lambda_runtime/`` (handler resolution and error shapes as Lambda's
  runtime interface clients give them), on the code moto stores (the zip of ``ZipFile``, of the
  ``S3Bucket``/``S3Key`` asset, or the inline CloudFormation code), with the function's ``Timeout``
  and environment plus Lambda's defined variables, the AWS SDKs pointed at the emulator
  (``AWS_ENDPOINT_URL``);
* Node.js handlers get the AWS SDK for JavaScript v3 that Lambda's Node.js runtimes provide (aws-cdk-lib's
  handlers ``require("@aws-sdk/client-ec2")`` without bundling it): the clients pinned in
  ``lambda_runtime/package.json`` are installed with npm on first use, into
  ``~/.cache/sm-constructs/lambda-nodejs-sdk/<lock digest>``, and resolved through ``NODE_PATH``;
* a custom resource is sent its Create, Update and Delete requests while moto's CloudFormation
  creates, updates and deletes it, and the stack waits for the handler's response (moto instead
  invokes in a thread and marks the stack complete whatever the handler answers). A FAILED response,
  a handler that ends without responding or times out, and a function that cannot run here (a
  container image, a runtime other than Python and Node.js, layers, a missing npm) fail the
  resource, so the stack fails as on AWS (:class:`~sm_constructs.local.aws.cloudformation.ResourceFailed`).

What is not reproduced fails loudly rather than succeeding: functions with layers, container image
functions, asynchronous custom resource providers that answer after their handler returns
(``Provider(is_complete_handler=...)``), and SNS-backed custom resources.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._user_cache import cache_root
from .. import patches

__all__ = ["FunctionUnavailable", "Invocation", "LambdaRuntime", "install"]

RUNTIME_DIR = Path(__file__).resolve().parent / "lambda_runtime"

#: Lambda's defined runtime environment variables that the emulator sets (AWS Lambda Developer
#: Guide, "Defined runtime environment variables"); the function cannot override reserved ones.
_RESERVED = (
    "_HANDLER",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
)


#: The Init phase (loading the handler's module) has its own limit, outside the function's timeout
#: (AWS Lambda Developer Guide, "Understanding the Lambda execution environment lifecycle": "The Init
#: phase is limited to 10 seconds").
INIT_TIMEOUT = 10.0


class FunctionUnavailable(RuntimeError):
    """A function the emulator cannot run on this machine; the message says which and why."""


@dataclass(frozen=True)
class Invocation:
    """What ``Invoke`` answers: the payload, ``FunctionError`` (None on success) and the function's log."""

    payload: bytes
    function_error: str | None
    log: str


def _runtime_family(runtime: str | None) -> str | None:
    if runtime and re.fullmatch(r"python3\.\d+", runtime):
        return "python"
    if runtime and re.fullmatch(r"nodejs\d+\.x", runtime):
        return "nodejs"
    return None


def _inline_zip(code: str, runtime: str | None) -> str:
    """CloudFormation's ``Code.ZipFile`` as a base64 zip: the text in a file named ``index`` with the
    runtime's extension (``AWS::Lambda::Function`` ``Code`` reference), Python's with moto's ``cfnresponse``.
    """
    if _runtime_family(runtime) == "python":
        from moto.awslambda.models import LambdaFunction

        data = LambdaFunction._create_zipfile_from_plaintext_code(code)
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("index.js", code)
        data = buffer.getvalue()
    return base64.b64encode(data).decode()


class NodeSdk:
    """The AWS SDK for JavaScript v3 clients that Lambda's Node.js runtimes provide, installed once with npm."""

    _lock = threading.Lock()

    def __init__(self, say: Any = None) -> None:
        lock_text = (RUNTIME_DIR / "package-lock.json").read_bytes()
        self.home = cache_root() / "lambda-nodejs-sdk" / hashlib.sha256(lock_text).hexdigest()[:16]
        self._say = say or (lambda message: print(message, file=sys.stderr, flush=True))

    @property
    def node_path(self) -> Path:
        return self.home / "node_modules"

    def ensure(self, function_name: str) -> Path:
        """``node_modules`` with the pinned clients; npm installs them on first use.

        Emulators on one machine share the install: the first to need it installs under a lock file, the
        others wait and use it (two ``npm ci`` in one directory would break each other)."""
        with self._lock:
            if (self.home / ".installed").is_file():
                return self.node_path
            npm = shutil.which("npm")
            if npm is None:
                raise FunctionUnavailable(
                    f"Lambda function {function_name} needs the AWS SDK for JavaScript v3 that Lambda's Node.js "
                    f"runtime provides; the emulator installs the clients pinned in {RUNTIME_DIR / 'package.json'} "
                    f"with npm, which is not on PATH: install Node.js with npm, or run `npm ci` in a copy of "
                    f"{RUNTIME_DIR} at {self.home}"
                )
            self.home.mkdir(parents=True, exist_ok=True)
            with (self.home.parent / f"{self.home.name}.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if (self.home / ".installed").is_file():  # another emulator installed it while this one waited
                    return self.node_path
                for name in ("package.json", "package-lock.json"):
                    shutil.copyfile(RUNTIME_DIR / name, self.home / name)
                self._say(f"sm-local: installing the AWS SDK for JavaScript v3 for Node.js functions into {self.home}")
                done = subprocess.run(
                    [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                    cwd=self.home,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise FunctionUnavailable(
                        f"Lambda function {function_name} needs the AWS SDK for JavaScript v3; `npm ci` in "
                        f"{self.home} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}"
                    )
                (self.home / ".installed").write_text("")
            return self.node_path


class LambdaRuntime:
    """Runs functions of moto's Lambda backend as subprocesses of this machine.

    :param endpoint_url: the emulator's URL, given to the function as ``AWS_ENDPOINT_URL``.
    :param workdir: where function code is unpacked (``<workdir>/lambda/<code digest>``).
    """

    def __init__(self, endpoint_url: str, workdir: Path, node_sdk: NodeSdk | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.workdir = workdir
        self.node_sdk = node_sdk or NodeSdk()

    def unavailable(self, fn: Any) -> str | None:
        """Why ``fn`` cannot run here, or None."""
        if fn.package_type == "Image":
            return f"it is a container image function ({fn.code.get('ImageUri')}); the emulator runs no images"
        family = _runtime_family(fn.run_time)
        if family is None:
            return (
                f"runtime {fn.run_time} is not available (the emulator runs python3.* with this Python "
                f"and nodejs*.x with node)"
            )
        if fn.layers:
            return "it uses Lambda layers, which the emulator does not provide"
        if family == "nodejs" and shutil.which("node") is None:
            return f"runtime {fn.run_time} needs `node` on PATH, and there is none"
        if not fn.code_bytes:
            return "moto holds no code for it"
        return None

    def _task_root(self, fn: Any) -> Path:
        digest = hashlib.sha256(fn.code_bytes).hexdigest()
        root = self.workdir / "lambda" / digest
        if not root.is_dir():
            staging = Path(
                tempfile.mkdtemp(dir=self.workdir / "lambda" if (self.workdir / "lambda").is_dir() else None)
            )
            with zipfile.ZipFile(io.BytesIO(fn.code_bytes)) as archive:
                archive.extractall(staging)
            root.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):  # another invocation unpacked the same code first
                staging.rename(root)
            shutil.rmtree(staging, ignore_errors=True)
        return root

    def environment(self, fn: Any, request_id: str) -> dict[str, str]:
        """The process environment: the function's variables, then Lambda's defined ones."""
        log_stream = f"{time.strftime('%Y/%m/%d')}/[{fn.version}]{request_id.replace('-', '')}"
        env = {k: str(v) for k, v in fn.environment_vars.items() if k not in _RESERVED}
        env.update(
            {
                "PATH": os.environ.get("PATH", os.defpath),
                "LANG": "en_US.UTF-8",
                "TZ": ":UTC",
                "_HANDLER": str(fn.handler),
                "AWS_REGION": fn.region,
                "AWS_DEFAULT_REGION": fn.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
                "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST" if str(fn.version) in ("1", "$LATEST") else str(fn.version),
                "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
                "AWS_ACCESS_KEY_ID": "lambda-execution-role",
                "AWS_SECRET_ACCESS_KEY": "lambda-execution-role",
                "AWS_SESSION_TOKEN": "lambda-execution-role",
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
            }
        )
        return env

    def invoke(self, fn: Any, event: Any, *, response_url: str | None = None) -> Invocation:
        """Run ``fn`` with ``event`` and wait for its answer (``Timeout`` seconds at most).

        :raises FunctionUnavailable: the function cannot run on this machine.
        """
        reason = self.unavailable(fn)
        if reason:
            raise FunctionUnavailable(f"Lambda function {fn.function_name} cannot run in the emulator: {reason}")
        request_id = str(uuid.uuid4())
        task_root = self._task_root(fn)
        env = self.environment(fn, request_id)
        env["LAMBDA_TASK_ROOT"] = str(task_root)
        if _runtime_family(fn.run_time) == "nodejs":
            env["NODE_PATH"] = str(self.node_sdk.ensure(fn.function_name))
            command = ["node", str(RUNTIME_DIR / "bootstrap.js")]
        else:
            env["PYTHONPATH"] = str(task_root)
            command = [sys.executable, str(RUNTIME_DIR / "bootstrap.py")]
        timeout = float(fn.timeout)
        with tempfile.TemporaryDirectory(prefix="invoke-", dir=self.workdir) as scratch:
            spec, result, log, ready = (
                Path(scratch) / n for n in ("invocation.json", "result.json", "log.txt", "ready")
            )
            spec.write_text(
                json.dumps(
                    {
                        "event": event,
                        "handler": fn.handler,
                        "taskRoot": str(task_root),
                        "requestId": request_id,
                        "functionArn": fn.function_arn,
                        "timeoutMs": int(timeout * 1000),
                        "readyPath": str(ready),
                        "responseUrl": response_url,
                    }
                )
            )
            with log.open("w") as out:
                process = subprocess.Popen(
                    [*command, str(spec), str(result)], env=env, cwd=task_root, stdout=out, stderr=subprocess.STDOUT
                )
                phase, code = _wait(process, ready, timeout)
            output = log.read_text(errors="replace")
            answer = json.loads(result.read_text()) if result.is_file() else None
        _save_logs(fn, output)
        if phase == "Init":
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: the Init phase did not end within "
                f"{INIT_TIMEOUT:.0f} seconds",
            }
            return Invocation(json.dumps(error).encode(), "Unhandled", output)
        if code is None:
            # Lambda ends a function at its timeout (AWS Lambda Developer Guide, "Configure Lambda function timeout")
            error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
            }
            return Invocation(json.dumps(error).encode(), "Unhandled", output)
        if answer is None:
            error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}",
            }
            return Invocation(json.dumps(error).encode(), "Unhandled", output)
        if "error" in answer:
            return Invocation(json.dumps(self._explained(fn, answer["error"])).encode(), "Unhandled", output)
        return Invocation(json.dumps(answer["result"]).encode(), None, output)

    def _explained(self, fn: Any, error: dict[str, Any]) -> dict[str, Any]:
        """An import error for an SDK client the emulator does not provide says how to add it."""
        note = self.missing_sdk_note(fn, str(error.get("errorMessage", "")))
        if error.get("errorType") != "Runtime.ImportModuleError" or note is None:
            return error
        return {**error, "errorMessage": f"{error['errorMessage']} {note}"}

    def missing_sdk_note(self, fn: Any, text: str) -> str | None:
        """For a "Cannot find module '@aws-sdk/...'" in ``text``: which function needs it and how to install it."""
        missing = re.search(r"Cannot find module '(@aws-sdk/[^'/]+)'", text)
        if missing is None or _runtime_family(fn.run_time) != "nodejs":
            return None
        module = missing.group(1)
        return (
            f"(emulator: Lambda's {fn.run_time} runtime provides {module}; the emulator provides only the clients "
            f"pinned in {RUNTIME_DIR / 'package.json'}. Lambda function {fn.function_name} needs it: install it with "
            f"`npm install --prefix {self.node_sdk.home} {module}`)"
        )


def _wait(process: subprocess.Popen[bytes], ready: Path, timeout: float) -> tuple[str | None, int | None]:
    """Wait for the Init phase (``INIT_TIMEOUT``), then for the handler (the function's timeout).

    Returns the phase that timed out (the process is then killed) and the exit code.
    """
    deadline = time.monotonic() + INIT_TIMEOUT
    while process.poll() is None and not ready.exists():
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            return "Init", None
        time.sleep(0.02)
    try:
        return None, process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return "Invoke", None


class _Responses(http.server.ThreadingHTTPServer):
    """A one-request endpoint on localhost for a custom resource's response (CloudFormation's ResponseURL)."""

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.received = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                outer.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.received.set()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/cloudformation-response/{uuid.uuid4()}"


def _custom_resource_response(runtime: LambdaRuntime, fn: Any, event: dict[str, Any]) -> dict[str, Any]:
    """Send a custom resource request to ``fn`` and return the response it PUT to the ResponseURL.

    The request and response objects are those of the AWS CloudFormation User Guide, "Custom resource
    request objects" (crpg-ref-requests) and "Custom resource response objects" (crpg-ref-responses).

    :raises FunctionUnavailable: the function cannot run here.
    :raises ValueError: no valid response; the message is the resource's failure reason.
    """
    responses = _Responses()
    listener = threading.Thread(target=responses.serve_forever, daemon=True)
    listener.start()
    try:
        event = {**event, "ResponseURL": responses.url}
        invocation = runtime.invoke(fn, event, response_url=event["ResponseURL"])
        responses.received.wait(timeout=1.0 if responses.body is None else 0)
    finally:
        responses.shutdown()
        responses.server_close()
    if responses.body is None:
        detail = f": {invocation.payload.decode()}" if invocation.function_error else ""
        raise ValueError(
            f"Lambda function {fn.function_name} ended without sending a response to the ResponseURL{detail}"
            " (asynchronous providers that respond after their handler returns are not supported by the emulator)"
        )
    try:
        response = json.loads(responses.body)
    except ValueError:
        raise ValueError(f"Lambda function {fn.function_name} sent a response that is not JSON") from None
    missing = [
        k for k in ("Status", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId") if not response.get(k)
    ]
    if missing:
        raise ValueError(f"Invalid response object: {', '.join(missing)} missing")
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        if response[key] != event[key]:
            raise ValueError(f"Invalid response object: {key} {response[key]!r} is not the request's {event[key]!r}")
    if response["Status"] == "FAILED":
        reason = response.get("Reason") or "FAILED"
        note = runtime.missing_sdk_note(fn, reason)
        reason = f"{reason} {note}" if note else reason
        raise ValueError(
            f"Received response status [FAILED] from custom resource. Message returned: {reason} "
            f"(RequestId: {event['RequestId']})"
        )
    if response["Status"] != "SUCCESS":
        raise ValueError(f"Invalid response object: Status {response['Status']!r} is neither SUCCESS nor FAILED")
    return dict(response)


def _install_custom_resources(runtime: LambdaRuntime) -> None:
    from moto.awslambda.utils import get_backend
    from moto.cloudformation.custom_model import CustomModel

    from .cloudformation import ResourceFailed

    def request(
        resource: Any, request_type: str, account_id: str, region_name: str, properties: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        token = properties.get("ServiceToken", "")
        event = {
            "RequestType": request_type,
            "ServiceToken": token,
            "StackId": resource.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": resource.logical_id,
            "ResourceType": resource.resource_type,
            "ResourceProperties": properties,
            **extra,
        }

        def failed(why: str) -> ResourceFailed:
            return ResourceFailed(resource.logical_id, resource.resource_type, why, resource.resource_name)

        if ":lambda:" not in token:
            raise failed(f"ServiceToken {token!r} is not a Lambda function; the emulator runs Lambda-backed resources")
        fn: Any
        try:
            fn = get_backend(account_id, region_name).get_function(token)
        except Exception as error:
            # CloudFormation deletes a custom resource before the function its ServiceToken names (it
            # depends on it); moto deletes a stack's resources in no order, so the function may be gone
            fn = getattr(resource, "function", None)
            if request_type != "Delete" or fn is None:
                raise failed(f"ServiceToken {token}: {error}") from None
        resource.function = fn
        try:
            return _custom_resource_response(runtime, fn, event)
        except FunctionUnavailable as error:
            raise failed(f"{request_type} of {resource.resource_type} {resource.logical_id}: {error}") from None
        except ValueError as error:
            raise failed(str(error)) from None

    def new_resource(region_name: str, logical_id: str, physical_id: str, stack_id: str, resource_type: str) -> Any:
        model: Any = CustomModel  # moto's class, made concrete by the methods declared below
        resource = model(region_name, "", logical_id, physical_id)
        resource.stack_id, resource.resource_type = stack_id, resource_type
        return resource

    def finish(resource: Any, response: dict[str, Any], properties: dict[str, Any]) -> Any:
        resource.resource_name = response["PhysicalResourceId"]
        resource.properties = properties
        resource.set_data(response.get("Data") or {})
        return resource

    def create(cls: Any, change: patches.Change) -> Any:
        from moto.cloudformation import cloudformation_backends

        stack_id, resource_type = change.extra["StackId"], change.extra["ResourceType"]
        resource = new_resource(change.region_name, change.logical_id, change.name, stack_id, resource_type)
        properties = change.properties
        response = request(resource, "Create", change.account_id, change.region_name, properties)
        cloudformation_backends[change.account_id][change.region_name].get_stack(stack_id).add_custom_resource(resource)
        return finish(resource, response, properties)

    def update(cls: Any, change: patches.Change) -> Any:
        original_resource, properties = change.previous, change.properties
        account_id, region_name = change.account_id, change.region_name
        previous = original_resource.properties
        if properties == previous:
            return original_resource
        # moto retries a failed update a few times; CloudFormation sends the request once
        if getattr(original_resource, "failed_update", (None,))[0] == properties:
            raise original_resource.failed_update[1]
        old_id = original_resource.resource_name
        try:
            response = request(
                original_resource,
                "Update",
                account_id,
                region_name,
                properties,
                PhysicalResourceId=old_id,
                OldResourceProperties=previous,
            )
        except ResourceFailed as error:
            original_resource.failed_update = (properties, error)
            raise
        finish(original_resource, response, properties)
        if response["PhysicalResourceId"] != old_id:
            # a new physical ID is a replacement: CloudFormation deletes the old resource in clean-up
            replaced = new_resource(
                region_name,
                original_resource.logical_id,
                old_id,
                original_resource.stack_id,
                original_resource.resource_type,
            )
            request(replaced, "Delete", account_id, region_name, previous, PhysicalResourceId=old_id)
        return original_resource

    def delete(self: Any, account_id: str, region_name: str) -> None:
        request(self, "Delete", account_id, region_name, self.properties, PhysicalResourceId=self.resource_name)

    from moto.cloudformation import parsing

    original_class_from_type = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type == "AWS::CloudFormation::CustomResource":
            return CustomModel
        return original_class_from_type(resource_type)

    patches.replace(
        "moto.cloudformation.parsing",
        "resource_class_from_type",
        resource_class_from_type,
        why="AWS::CloudFormation::CustomResource (aws-cdk-lib's CustomResource default) is a custom resource "
        "as Custom::<name> is (AWS::CloudFormation::CustomResource reference); moto skips it",
    )
    patches.replace(
        "moto.cloudformation.custom_model:CustomModel",
        "create_from_cloudformation_json",
        patches.creates(create),
        why="send the Create request and wait for the handler's response; moto invokes through Docker in a "
        "thread and completes the stack whatever the handler answers",
    )
    patches.replace(
        "moto.cloudformation.custom_model:CustomModel",
        "update_from_cloudformation_json",
        patches.updates(update),
        why="a changed custom resource is sent an Update request (and a Delete for a replaced physical ID)",
    )
    patches.add(
        "moto.cloudformation.custom_model:CustomModel",
        "delete",
        delete,
        why="a deleted custom resource is sent a Delete request; moto drops it silently",
    )


def _install_functions(runtime: LambdaRuntime) -> None:
    service_exception = _service_exception_class()

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        event = json.loads(body) if body else {}
        invocation_type = request_headers.get("x-amz-invocation-type") or request_headers.get(
            "X-Amz-Invocation-Type", "RequestResponse"
        )
        if invocation_type == "DryRun":
            runtime.unavailable(self)
            return b""
        if invocation_type == "Event":
            threading.Thread(target=_run_logged, args=(runtime, self, event), daemon=True).start()
            return b""
        try:
            invocation = runtime.invoke(self, event)
        except FunctionUnavailable as error:
            raise service_exception(str(error)) from None
        if invocation.function_error:
            response_headers["x-amz-function-error"] = invocation.function_error
        response_headers["x-amz-log-result"] = base64.b64encode(invocation.log[-4096:].encode()).decode()
        return invocation.payload

    def create(cls: Any, change: patches.Change) -> Any:
        inline = change.properties.get("Code", {}).get("ZipFile")  # read first: moto replaces it with its zip
        fn = change.original(cls, change.template)
        if isinstance(inline, str) and _runtime_family(fn.run_time) != "python":
            # moto names inline code index.py whatever the runtime
            fn.update_function_code({"ZipFile": _inline_zip(inline, fn.run_time)})
        return fn

    def zipped_inline(properties: dict[str, Any], account_id: str, region_name: str, logical_id: str) -> dict[str, Any]:
        inline = properties.get("Code", {}).get("ZipFile")
        if isinstance(inline, str):  # moto would read the inline text as a base64 zip
            properties["Code"] = {"ZipFile": _inline_zip(inline, properties.get("Runtime"))}
        return properties

    def no_docker_client(self: Any) -> Any:
        raise AttributeError("the emulator runs Lambda functions without Docker")

    patches.replace(
        "moto.awslambda.models:LambdaFunction",
        "docker_client",
        property(no_docker_client),
        why="functions run without Docker; moto's client would connect to Docker on first read, and moto's "
        "/moto-api/data.json (which reads every attribute) fails where no Docker engine answers",
    )
    patches.replace(
        "moto.awslambda.models:LambdaFunction",
        "invoke",
        invoke,
        why="run the function in a subprocess of this machine; moto needs Docker",
    )
    patches.wrap(
        "moto.awslambda.models:LambdaFunction",
        "create_from_cloudformation_json",
        why="inline Node.js code is index.js, as CloudFormation names it; moto writes index.py for every runtime",
    )(patches.creates(create, wrapping=True))
    patches.wrap_cloudformation(
        "moto.awslambda.models:LambdaFunction",
        why="changed inline code is zipped as on create; moto decodes the text as a base64 zip",
        properties=zipped_inline,
        create=False,
    )


def _service_exception_class() -> type[Exception]:
    from moto.awslambda.exceptions import LambdaClientError

    class ServiceException(LambdaClientError):
        """botocore's Lambda model: ``ServiceException``, HTTP 500, "The Lambda service encountered an
        internal error" — here, a function the emulator cannot run."""

        code = 500

        def __init__(self, message: str) -> None:
            super().__init__("ServiceException", message)

    return ServiceException


def _run_logged(runtime: LambdaRuntime, fn: Any, event: Any) -> None:
    try:
        runtime.invoke(fn, event)
    except FunctionUnavailable as error:
        _save_logs(fn, str(error))


def _save_logs(fn: Any, log: str) -> None:
    """The function's output in its log group ``/aws/lambda/<name>``, as Lambda writes it."""
    fn.logs_backend.ensure_log_group(fn.logs_group_name)
    if log:
        fn.save_logs(log)


def install(endpoint_url: str, workdir: Path, node_sdk: NodeSdk | None = None) -> LambdaRuntime:
    """Run Lambda functions and Lambda-backed custom resources here; returns the runtime used."""
    workdir.mkdir(parents=True, exist_ok=True)
    runtime = LambdaRuntime(endpoint_url, workdir, node_sdk)
    _install_functions(runtime)
    _install_custom_resources(runtime)
    patches.apply()
    return runtime

"""A real Docker engine for the emulator, used only when one answers.

Without an engine the emulator runs jobs itself (:mod:`sm_constructs.local.jobs.runner`,
:mod:`sm_constructs.local.jobs.images`). When ``docker info`` succeeds (and ``SM_LOCAL_DOCKER`` is not
``off``):

* publishing: the ``docker`` stand-in the CDK CLI calls (``CDK_DOCKER``) hands ``build``, ``tag``,
  ``inspect`` and ``images`` to the real engine, so image assets are really built (``RUN`` steps
  included) and tagged with their ECR URI in the local engine. ``login`` and ``push`` stay the
  stand-in's: the emulator's ECR is moto's API, not a registry that stores layers, so ``push``
  records the image in the emulator's ECR (``PutImage``) and the image itself stays in the local
  engine, where jobs run it;
* running: a processing job, or a training job that is not script mode or the XGBoost substitute,
  whose image the local engine holds (an image asset, or an image you pulled) runs in a container,
  as SageMaker runs it: ``docker run [--entrypoint <ContainerEntrypoint[0]>] <image>
  [<rest of ContainerEntrypoint>] [ContainerArguments]`` for processing ("How Amazon SageMaker
  Processing Runs Your Processing Container Image", SageMaker developer guide), ``docker run
  <image> train`` for training ("How Amazon SageMaker Runs Your Training Image"), with the
  instance's ``/opt/ml`` directory mounted at ``/opt/ml``, the request's ``Environment`` (and for
  training the runner's ``SM_*`` variables with container paths), the host name ``algo-<n>``,
  and ``--network none`` when ``EnableNetworkIsolation`` is set. A job past its
  ``MaxRuntimeInSeconds`` has its container killed.

* serving: an endpoint whose image the local engine holds (other than the XGBoost and scikit-learn
  images the emulator serves itself) runs ``docker run --detach <image> serve`` with the model under
  ``/opt/ml/model`` and port 8080 published on a local port (:mod:`sm_constructs.local.aws.sagemaker_runtime`).

Not done with an engine: transform jobs on your own serving image, images the local engine does not
hold (nothing is pulled from AWS), a network between the containers of a multi-instance job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ContainerRun", "docker_executable", "has_image"]

_answers: dict[str, bool] = {}


def docker_executable() -> str | None:
    """The ``docker`` client when its engine answers ``docker info`` (cached), else None.

    ``SM_LOCAL_DOCKER=off`` turns the engine off for the emulator even when one is present.
    """
    if os.environ.get("SM_LOCAL_DOCKER", "").lower() == "off":
        return None
    docker = shutil.which("docker")
    if docker is None:
        return None
    if docker not in _answers:
        try:
            done = subprocess.run([docker, "info"], capture_output=True, timeout=30)
            _answers[docker] = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _answers[docker] = False
    return docker if _answers[docker] else None


def has_image(docker: str, uri: str) -> bool:
    """Whether the local engine holds ``uri`` (``docker image inspect``)."""
    if not uri:
        return False
    try:
        return subprocess.run([docker, "image", "inspect", uri], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class ContainerRun:
    """One container of a job, as SageMaker starts it on an instance."""

    image: str
    opt_ml: Path
    name: str
    #: the container's host name (jobs: ``algo-<n>``); None leaves Docker's
    host: str | None = "algo-1"
    entrypoint: list[str] | None = None
    arguments: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    network_isolation: bool = False
    #: local port → container port, on 127.0.0.1 only (an endpoint's 8080)
    publish: dict[int, int] = field(default_factory=dict)
    #: start in the background (``--detach``): an endpoint's container
    detach: bool = False

    def command(self, docker: str) -> list[str]:
        argv = [docker, "run", "--rm", "--name", self.name]
        if self.host:
            argv += ["--hostname", self.host]
        if self.detach:
            argv.append("--detach")
        for local, inside in sorted(self.publish.items()):
            argv += ["--publish", f"127.0.0.1:{local}:{inside}"]
        argv += ["--volume", f"{self.opt_ml}:/opt/ml"]
        if self.network_isolation:
            argv += ["--network", "none"]
        for key, value in sorted(self.env.items()):
            argv += ["--env", f"{key}={value}"]
        arguments = list(self.arguments or [])
        if self.entrypoint:
            argv += ["--entrypoint", self.entrypoint[0]]
            arguments = [*self.entrypoint[1:], *arguments]
        return [*argv, self.image, *arguments]

    def kill_command(self, docker: str) -> list[str]:
        return [docker, "kill", self.name]

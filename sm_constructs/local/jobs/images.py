"""Docker image assets in the emulator, without a Docker engine.

**Publishing.** ``sm-local`` runs the CDK CLI with ``CDK_DOCKER`` naming this module (the CLI's
documented switch for another container client). The CLI's asset publishing then calls it as it
would call ``docker``: ``login`` succeeds, ``build`` records the build context (a copy of the asset
directory and its Dockerfile) under ``<work dir>/images/``, ``tag`` adds a name, ``push`` puts an
image manifest into the emulator's ECR repository (``PutImage``), so ``DescribeImages`` and the
stack see the image as on AWS. Nothing is built. When a Docker engine answers, ``build``, ``tag``,
``inspect`` and ``images`` also go to it, so the image is really built and jobs run it in a
container (:mod:`sm_constructs.local.jobs.docker_engine`).

**Running.** A job whose image is such an asset runs here when its Dockerfile builds ``FROM`` a
Python base image (``python:<tag>``) and its entry point is a Python script: the ``COPY``/``ADD``
files are laid out under ``<job dir>/image/`` as in the image and seen by the job at their paths in
the image (:mod:`.namespace`), ``ENV`` is applied, and the entry point (or the request's
``ContainerEntrypoint``) runs with this Python from the image's ``WORKDIR``, with the container path
contract of the job (``/opt/ml/...``). ``RUN`` steps are not
executed (their packages must be installed here); the job log says so. Any other image fails the
job with a ``ClientError`` that says what cannot run locally and why.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LocalImage", "docker_shim", "local_image", "shim_command"]

_INDEX = "index.json"
_PYTHON_BASE = re.compile(r"^(?:[\w.:-]+/)*(?:library/)?python(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$")


def _index(images: Path) -> dict[str, Any]:
    path = images / _INDEX
    return dict(json.loads(path.read_text())) if path.is_file() else {"tags": {}}


def _save(images: Path, index: dict[str, Any]) -> None:
    images.mkdir(parents=True, exist_ok=True)
    (images / _INDEX).write_text(json.dumps(index, indent=1))


def docker_shim(argv: list[str], images: Path, engine: str | None = None) -> int:
    """The subset of the ``docker`` command line the CDK CLI uses to publish image assets.

    :param engine: a ``docker`` client whose engine answers: ``build``, ``tag``, ``inspect`` and
        ``images`` run there too (``login`` and ``push`` stay here: the emulator's ECR stores no layers).
    """
    while argv and argv[0] == "--config":  # the CLI's credential-helper config directory
        argv = argv[2:]
    if not argv:
        return 1
    command, args = argv[0], argv[1:]
    if engine is not None and command in ("build", "tag", "inspect", "images"):
        import subprocess

        code = subprocess.run([engine, *argv]).returncode
        if code != 0 or command in ("inspect", "images"):
            return code
    index = _index(images)
    if command == "login":
        sys.stdin.read()
        print("Login Succeeded (sm_constructs local emulator)")
        return 0
    if command == "inspect":
        return 0 if args and args[-1] in index["tags"] else 1
    if command == "images":
        return 0
    if command == "build":
        tag, dockerfile, i = None, "Dockerfile", 0
        while i < len(args):
            if args[i] in ("--tag", "-t"):
                tag = args[i + 1]
            elif args[i] in ("--file", "-f"):
                dockerfile = args[i + 1]
            if args[i].startswith("-") and "=" not in args[i] and i + 1 < len(args) and args[i] != "--no-cache":
                i += 2
            else:
                i += 1
        context = Path.cwd()
        if tag is None or not (context / dockerfile).is_file():
            print(f"sm_constructs local emulator: no --tag or no {dockerfile} in {context}", file=sys.stderr)
            return 1
        key = hashlib.sha256(f"{tag}\n{context}".encode()).hexdigest()[:16]
        target = images / key
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(context, target / "context", ignore=shutil.ignore_patterns(".git", "cdk.out"))
        index["tags"][tag] = {"key": key, "dockerfile": dockerfile}
        _save(images, index)
        if engine is not None:
            print(f"{tag}: built by the local Docker engine")
        else:
            print(f"recorded the build context of {tag} (not built: the local emulator runs Python images itself)")
        return 0
    if command == "tag" and len(args) == 2 and args[0] in index["tags"]:
        index["tags"][args[1]] = index["tags"][args[0]]
        _save(images, index)
        return 0
    if command == "push" and args and args[-1] in index["tags"]:
        return _push(args[-1], index["tags"][args[-1]])
    print(f"sm_constructs local emulator: docker {command} is not available here", file=sys.stderr)
    return 1


def _push(tag: str, record: dict[str, Any]) -> int:
    import boto3

    repository_uri, _, image_tag = tag.rpartition(":")
    repository = repository_uri.split("/", 1)[1]
    config = hashlib.sha256(record["key"].encode()).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 0,
            "digest": f"sha256:{config}",
        },
        "layers": [],
    }
    ecr = boto3.client("ecr")
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
        ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=image_tag)
    print(f"{image_tag}: pushed to the local emulator's ECR repository {repository}")
    return 0


@dataclass
class LocalImage:
    """A Dockerfile recorded by :func:`docker_shim`, read for a local run."""

    uri: str
    context: Path
    base: str = ""
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    copies: list[tuple[list[str], str, str]] = field(default_factory=list)  # (sources, destination, workdir)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def runnable(self) -> str | None:
        """Why this image cannot run here, or None."""
        if not _PYTHON_BASE.match(self.base):
            return (
                f"ClientError: image {self.uri} cannot run on this machine: its Dockerfile builds FROM {self.base!r}, "
                "and without a Docker engine only images FROM a Python base image (python:<tag>) whose entry point "
                "is a Python script run locally"
            )
        program = (self.entrypoint or self.cmd or [""])[0]
        if not Path(program).name.startswith("python"):
            return (
                f"ClientError: image {self.uri} cannot run on this machine: its entry point {program!r} is not a "
                "Python script, and without a Docker engine only Python entry points run locally"
            )
        return None

    def layout(self, root: Path) -> Path:
        """The image's files under ``root`` (as ``/`` in the container); returns the host WORKDIR."""
        for sources, destination, workdir in self.copies:
            target = destination if destination.startswith("/") else f"{workdir.rstrip('/')}/{destination}"
            host = root / target.lstrip("/")
            for source in sources:
                found = sorted(self.context.glob(source)) or [self.context / source]
                for path in found:
                    into_dir = target.endswith("/") or len(sources) > 1 or len(found) > 1 or path.is_dir()
                    if path.is_dir():
                        shutil.copytree(path, host, dirs_exist_ok=True)
                    else:
                        dest = host / path.name if into_dir else host
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, dest)
        work = root / self.workdir.lstrip("/")
        work.mkdir(parents=True, exist_ok=True)
        return work

    def command(self, root: Path | None, entrypoint: list[str] | None, arguments: list[str] | None) -> list[str]:
        """argv as ``docker run`` would start it; with ``root``, image paths mapped under it."""
        argv = [*(entrypoint or self.entrypoint), *(arguments if arguments is not None else self.cmd)]
        if root is None:  # the job sees the image's files at their paths (:mod:`.namespace`)
            return argv
        return [str(root) + a if a.startswith("/") and (root / a.lstrip("/")).exists() else a for a in argv]


def _words(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        return [str(w) for w in json.loads(text)]
    return shlex.split(text)


def _parse(uri: str, context: Path, dockerfile: str) -> LocalImage:
    image = LocalImage(uri=uri, context=context)
    logical: list[str] = []
    pending = ""
    for raw in (context / dockerfile).read_text().splitlines():
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    for line in logical:
        instruction, _, rest = line.strip().partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "FROM":
            image.base = rest.split()[0]
        elif instruction == "WORKDIR":
            image.workdir = rest if rest.startswith("/") else f"{image.workdir.rstrip('/')}/{rest}"
        elif instruction == "ENV":
            if "=" in rest.split()[0]:
                image.env.update(dict(w.split("=", 1) for w in shlex.split(rest)))
            else:
                name, _, value = rest.partition(" ")
                image.env[name] = value.strip()
        elif instruction in ("COPY", "ADD"):
            words = [w for w in _words(rest) if not w.startswith("--")]
            image.copies.append((words[:-1], words[-1], image.workdir))
        elif instruction == "ENTRYPOINT":
            image.entrypoint, image.cmd = _words(rest), []
        elif instruction == "CMD":
            image.cmd = _words(rest)
        elif instruction == "RUN":
            image.skipped.append(line.strip())
    return image


def local_image(workdir: Path, uri: str) -> LocalImage | None:
    """The recorded image asset behind ``uri``, or None when it is not one."""
    images = workdir / "images"
    record = _index(images)["tags"].get(uri)
    if record is None:
        return None
    return _parse(uri, images / record["key"] / "context", record["dockerfile"])


def shim_command(workdir: Path) -> Path:
    """An executable that runs :func:`docker_shim` for the CDK CLI (``CDK_DOCKER``), with the engine if one answers."""
    from .docker_engine import docker_executable

    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "docker"
    package_parent = Path(__file__).resolve().parents[3]
    engine = docker_executable()
    script.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH={shlex.quote(str(package_parent))}${{PYTHONPATH:+:$PYTHONPATH}} "
        f"SM_LOCAL_IMAGES={shlex.quote(str(workdir / 'images'))} "
        + (f"SM_LOCAL_DOCKER_ENGINE={shlex.quote(engine)} " if engine else "")
        + f'exec {shlex.quote(sys.executable)} -m sm_constructs.local.jobs.images "$@"\n'
    )
    script.chmod(0o755)
    return script


if __name__ == "__main__":
    raise SystemExit(
        docker_shim(sys.argv[1:], Path(os.environ["SM_LOCAL_IMAGES"]), os.environ.get("SM_LOCAL_DOCKER_ENGINE"))
    )

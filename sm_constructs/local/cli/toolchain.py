"""The CDK CLI and the Node.js it runs on, as ``sm-local`` and the demo find them.

``$SM_LOCAL_CDK``, else the app's ``./node_modules/.bin/cdk``, else ``cdk`` on ``PATH``, else the
version sm_constructs is tested with through ``npx``; Node.js as :func:`find_node` finds it.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from ..._user_cache import cache_root

__all__ = ["NODE_MAJOR", "ROOT", "cdk_cli_version", "cdk_path", "compile_cache", "find_cdk", "find_node"]

#: The source tree (app.py, package.json) when sm_constructs runs from it.
ROOT = Path(__file__).resolve().parents[3]
#: Node.js major version the CDK CLI and the jsii kernel are tested with (package.json pins it).
NODE_MAJOR = 22


def _tooling() -> dict[str, Any]:
    """The pinned CDK CLI and Node versions: package.json of the source tree, or its copy in the wheel."""
    source = ROOT / "package.json"
    if source.is_file():
        return dict(json.loads(source.read_text())["devDependencies"])
    packaged = resources.files("sm_constructs.local") / "_reference" / "package.json"
    return dict(json.loads(packaged.read_text())["devDependencies"])


def cdk_cli_version() -> str:
    """The CDK CLI version sm_constructs is tested with."""
    return str(_tooling()["aws-cdk"])


def _node_major(node: str) -> int | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def find_node(app_dir: Path) -> tuple[str, int | None] | None:
    """The Node.js that runs the CDK CLI and jsii, and its major version: the first of the app's
    ``node_modules/.bin/node`` (``npm install node@22``, as sm_constructs' package.json pins it) and
    each ``node`` on ``PATH`` that is Node.js :data:`NODE_MAJOR` or newer, else the first one found;
    None when there is none."""
    return _find_node(app_dir.resolve(), os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=16)
def _find_node(app_dir: Path, path: str) -> tuple[str, int | None] | None:
    candidates = [app_dir / "node_modules" / ".bin" / "node"]
    candidates += [Path(d) / "node" for d in path.split(os.pathsep) if d]
    found: list[tuple[str, int | None]] = []
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK) and str(candidate) not in (n for n, _ in found):
            major = _node_major(str(candidate))
            if major is not None and major >= NODE_MAJOR:
                return str(candidate), major
            found.append((str(candidate), major))
    return found[0] if found else None


def cdk_path(app_dir: Path, *, say: Any = None) -> str:
    """``PATH`` for the CDK CLI: the directory of :func:`find_node`'s Node first (the CLI's
    ``#!/usr/bin/env node`` and the app's jsii kernel both take ``node`` from ``PATH``), then this
    interpreter's (the app's ``python`` is the one sm_constructs is installed in)."""
    say = say or (lambda message: print(f"sm-local: {message}", file=sys.stderr))
    node = find_node(app_dir)
    if node is None:
        raise RuntimeError(
            f"the CDK CLI needs Node.js {NODE_MAJOR} and no `node` is on PATH: install Node.js {NODE_MAJOR} "
            f"(https://nodejs.org) or `npm install node@{NODE_MAJOR}` in {app_dir}"
        )
    path, major = node
    if major is None or major < NODE_MAJOR:
        say(f"{path} is Node.js {major}; the CDK CLI and jsii are tested with Node.js {NODE_MAJOR}")
    else:
        say(f"Node.js {major}: {path}")
    return os.pathsep.join([str(Path(path).parent), str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def compile_cache() -> dict[str, str]:
    """``NODE_COMPILE_CACHE`` for the CDK CLI, unless the environment sets it: a directory under
    :func:`~sm_constructs._user_cache.cache_root` where Node.js (22.1 or later; earlier versions ignore it)
    keeps the V8 code it compiles for each module and reuses it while the file is unchanged (Node.js
    docs, "Module compile cache"). Each ``cdk`` command otherwise compiles the CLI's 16 MB bundle again:
    ``cdk --version`` takes 1.35 s of CPU without the cache and 1.1 s with it on this project's machines,
    and ``sm-local`` runs the CLI for every bootstrap, deploy and destroy."""
    if os.environ.get("NODE_COMPILE_CACHE"):
        return {}
    return {"NODE_COMPILE_CACHE": str(cache_root() / "node-compile-cache")}


def find_cdk(app_dir: Path, *, say: Any = None) -> list[str]:
    """The CDK CLI command for ``app_dir`` (see the module docs for the search order)."""
    say = say or (lambda message: print(f"sm-local: {message}", file=sys.stderr))
    override = os.environ.get("SM_LOCAL_CDK")
    if override:
        return shlex.split(override)
    if find_node(app_dir) is None:
        raise RuntimeError(
            f"the CDK CLI needs Node.js {NODE_MAJOR} and no `node` is on PATH: install Node.js {NODE_MAJOR} "
            f"(https://nodejs.org) or `npm install node@{NODE_MAJOR}` in {app_dir}"
        )
    local = app_dir / "node_modules" / ".bin" / "cdk"
    found = str(local) if local.is_file() else shutil.which("cdk")
    if found:
        return [found]
    npx = shutil.which("npx")
    if npx is None:
        raise RuntimeError(
            f"no CDK CLI in {local} or on PATH and no npx to fetch one: "
            f"run `npm install aws-cdk@{cdk_cli_version()}` in {app_dir}"
        )
    say(f"no CDK CLI in {local} or on PATH: using npx aws-cdk@{cdk_cli_version()} (npm downloads it once)")
    return [npx, "--yes", f"aws-cdk@{cdk_cli_version()}"]

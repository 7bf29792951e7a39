"""The container's ``/opt/ml`` for a job script run by the local runner.

Loaded by Python at start-up (the runner puts this directory on ``PYTHONPATH``) when
``SM_LOCAL_OPT_ML`` names the job's directory: paths under ``/opt/ml`` given to ``open``, ``os``,
``os.path``, ``pathlib``, ``glob`` and ``shutil`` are read and written under that directory, so a
script with hard-coded container paths runs unchanged. Native code that opens files itself (a C
library given a path string) does not see the mapping: pass such paths from ``SM_*`` variables or
arguments, which the runner maps.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
from typing import Any

_CONTAINER = "/opt/ml"
_HOST = os.environ.get("SM_LOCAL_OPT_ML", "")


def _map(path: Any) -> Any:
    if isinstance(path, int | bytes) or path is None:
        return path
    try:
        text = os.fspath(path)
    except TypeError:
        return path
    if isinstance(text, str) and (text == _CONTAINER or text.startswith(_CONTAINER + "/")):
        return _HOST + text[len(_CONTAINER) :]
    return path


def _first(function: Any) -> Any:
    @functools.wraps(function)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        return function(*(_map(args[0]), *args[1:]) if args else (), **kwargs)

    return mapped


def _two(function: Any) -> Any:
    @functools.wraps(function)
    def mapped(source: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        return function(_map(source), _map(target), *args, **kwargs)

    return mapped


if _HOST:
    builtins.open = io.open = _first(io.open)
    for _name in (
        "open", "stat", "lstat", "listdir", "scandir", "mkdir", "makedirs", "remove", "unlink", "rmdir",
        "chdir", "access", "chmod", "utime", "readlink", "truncate",
    ):  # fmt: skip
        if hasattr(os, _name):
            setattr(os, _name, _first(getattr(os, _name)))
    for _name in ("rename", "replace", "link", "symlink"):
        setattr(os, _name, _two(getattr(os, _name)))

"""The Python-only mapping of ``/opt/ml``, chosen with ``SM_LOCAL_OPT_ML_MAPPING=python-only``.

By default a job has its own ``/opt/ml`` for every process (:mod:`sm_constructs.local.jobs.namespace`).
Where that is not possible and this mapping was chosen, Python loads this at start-up (the runner
puts this directory on ``PYTHONPATH``) and ``SM_LOCAL_PYTHON_OPT_ML`` names the job's directory:
paths under ``/opt/ml`` given to ``open``, ``os``, ``os.path``, ``pathlib``, ``glob`` and ``shutil``
are read and written under that directory. Anything that opens files by other means does not see
it: modules that took their own reference to ``open`` before (``tarfile`` imported by the warm
interpreter), native code given a path string, Spark's JVM, programs the job starts. With
``SM_LOCAL_PYTHON_IMAGE`` (a job on an image asset), an absolute path that exists in the image's
layout is read there likewise.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
from typing import Any

_CONTAINER = "/opt/ml"
_HOST = os.environ.get("SM_LOCAL_PYTHON_OPT_ML", "")
#: the job's image layout: an absolute path that exists in it is the image's file
_IMAGE = os.environ.get("SM_LOCAL_PYTHON_IMAGE", "")
_lstat = os.lstat  # before it is mapped below


def _lexists(path: str) -> bool:
    try:
        _lstat(path)
    except OSError:
        return False
    return True


def _map(path: Any) -> Any:
    if isinstance(path, int | bytes) or path is None:
        return path
    try:
        text = os.fspath(path)
    except TypeError:
        return path
    if isinstance(text, str) and (text == _CONTAINER or text.startswith(_CONTAINER + "/")):
        return _HOST + text[len(_CONTAINER) :]
    if _IMAGE and isinstance(text, str) and text.startswith("/") and _lexists(_IMAGE + text):
        return _IMAGE + text
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
